//! Plans for each indicator kind over a range, grouped by the SLO's `by`
//! labels. Every compiled query aggregates to one series per group, so a
//! query can never hand back an unexpected extra series.
//!
//! The same builders serve the whole window (`[600s]` at the window's end)
//! and sustained mode (`[60s]` at every step), so the two cannot disagree on
//! what the indicator means.

use std::fmt;
use std::time::Duration;

use super::expr::{self, AggregateOperator, BinaryOperator, Expr, RangeFunction, Unsupported};
use crate::spec::selector::{MatchKind, Matcher, escape_regex};
use crate::spec::{Comparator, GaugeAggregate, Indicator, LatencyTarget, Selector, fill_template};
use crate::time::promql_duration;

/// One query as both back ends see it: the text Prometheus receives and the
/// plan the embedded engine evaluates.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The PromQL text.
    pub text: String,
    /// The plan, or why a hand-written query has none.
    pub plan: Result<Expr, Unsupported>,
}

impl Query {
    /// A compiled query: the text is rendered from the plan.
    pub fn compiled(plan: Expr) -> Self {
        Self {
            text: plan.to_string(),
            plan: Ok(plan),
        }
    }

    /// A hand-written query: the text is sent as written and parsed into a
    /// plan where the subset allows.
    pub fn written(text: String) -> Self {
        Self {
            plan: expr::parse(&text),
            text,
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

/// The queries that measure one indicator over one range.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorQueries {
    /// The indicator's value, one series per group.
    pub value: Query,
    /// Events per group (observations, requests, samples), for
    /// `min_events` and for telling "no traffic" from other NaNs.
    pub events: Option<Query>,
    /// A ratio's numerator per group, to catch `good > total`.
    pub numerator: Option<Query>,
    /// A histogram's bucket increases per `le` (and group), to catch
    /// buckets that decrease with `le`.
    pub buckets: Option<Query>,
}

impl IndicatorQueries {
    fn compiled(
        value: Expr,
        events: Option<Expr>,
        numerator: Option<Expr>,
        buckets: Option<Expr>,
    ) -> Self {
        Self {
            value: Query::compiled(value),
            events: events.map(Query::compiled),
            numerator: numerator.map(Query::compiled),
            buckets: buckets.map(Query::compiled),
        }
    }
}

/// What the builders need besides the indicator.
#[derive(Debug, Clone, Copy)]
pub struct QueryContext<'a> {
    /// The range selector's length.
    pub range: Duration,
    /// Labels to group by (empty: one series).
    pub by: &'a [String],
    /// The objective's comparator: across series, a gauge takes the worst
    /// series for it (largest for an upper bound).
    pub comparator: Comparator,
    /// The service, for `${service}`.
    pub service: &'a str,
    /// The `le` spellings to match for a latency threshold, when known from
    /// the server; otherwise the common spellings of the bound.
    pub le_spellings: Option<&'a [String]>,
    /// How the engine counts.
    pub dialect: super::Dialect,
}

/// Builds the queries for an indicator.
pub fn indicator_queries(indicator: &Indicator, context: &QueryContext<'_>) -> IndicatorQueries {
    let range = context.range;
    let dialect = context.dialect;
    let counted = |metric: &str, selector: &Selector, extra: &[Matcher], range: Duration| {
        counted(metric, selector, extra, range, dialect)
    };
    let series_counted =
        |series: &Selector, range: Duration| series_counted(series, range, dialect);
    let sum = |inner: Expr| Expr::aggregate(AggregateOperator::Sum, context.by, inner);
    match indicator {
        Indicator::Latency(latency) => {
            let bucket = format!("{}_bucket", latency.histogram);
            let count = format!("{}_count", latency.histogram);
            let increase_of =
                |metric: &str, extra: &[Matcher]| counted(metric, &latency.selector, extra, range);
            let events = sum(increase_of(&count, &[]));
            let by_le: Vec<String> = context
                .by
                .iter()
                .cloned()
                .chain(["le".to_string()])
                .collect();
            let buckets =
                Expr::aggregate(AggregateOperator::Sum, &by_le, increase_of(&bucket, &[]));
            match &latency.target {
                LatencyTarget::Quantile(quantile) => IndicatorQueries::compiled(
                    Expr::Call {
                        function: expr::Function::HistogramQuantile,
                        arguments: vec![Expr::Number(*quantile), buckets.clone()],
                    },
                    Some(events),
                    None,
                    Some(buckets),
                ),
                LatencyTarget::Under { bound, .. } => {
                    let le = le_matcher(*bound, context.le_spellings);
                    let under = sum(increase_of(&bucket, &[le]));
                    IndicatorQueries::compiled(
                        Expr::binary(BinaryOperator::Divide, under.clone(), events.clone()),
                        Some(events),
                        Some(under),
                        Some(buckets),
                    )
                }
            }
        }
        // rate() is increase() over the range's length, so the rate of
        // the counted events is too, including series born in the window.
        Indicator::Rate(counter) => IndicatorQueries::compiled(
            Expr::binary(
                BinaryOperator::Divide,
                sum(counted(&counter.counter, &counter.selector, &[], range)),
                Expr::Number(range.as_secs_f64()),
            ),
            None,
            None,
            None,
        ),
        Indicator::Increase(counter) => IndicatorQueries::compiled(
            sum(counted(&counter.counter, &counter.selector, &[], range)),
            None,
            None,
            None,
        ),
        Indicator::Gauge(gauge) => {
            let across = if context.comparator.is_upper_bound() {
                AggregateOperator::Max
            } else {
                AggregateOperator::Min
            };
            let function = match gauge.aggregate {
                GaugeAggregate::Max => RangeFunction::MaxOverTime,
                GaugeAggregate::Min => RangeFunction::MinOverTime,
                GaugeAggregate::Avg => RangeFunction::AvgOverTime,
                GaugeAggregate::Last => RangeFunction::LastOverTime,
            };
            let over_time = Expr::range(function, &gauge.metric, &gauge.selector, &[], range);
            let samples = Expr::range(
                RangeFunction::CountOverTime,
                &gauge.metric,
                &gauge.selector,
                &[],
                range,
            );
            IndicatorQueries::compiled(
                Expr::aggregate(across, context.by, over_time),
                Some(sum(samples)),
                None,
                None,
            )
        }
        Indicator::Ratio(ratio) => {
            let numerator = sum(series_counted(&ratio.numerator, range));
            let total = sum(series_counted(&ratio.total, range));
            // A counter for one outcome does not exist until it first
            // counts: with no errors yet the numerator is absent and must
            // read as 0. The total never gets a default, so absent traffic
            // stays absent (no data) instead of becoming "0% errors".
            let zero = if context.by.is_empty() {
                Expr::Vector(Box::new(Expr::Number(0.0)))
            } else {
                Expr::binary(BinaryOperator::Multiply, Expr::Number(0.0), total.clone())
            };
            let defaulted = Expr::binary(BinaryOperator::Or, numerator.clone(), zero).paren();
            IndicatorQueries::compiled(
                Expr::binary(BinaryOperator::Divide, defaulted, total.clone()),
                Some(total),
                Some(numerator),
                None,
            )
        }
        Indicator::Mean(mean) => {
            let increase_of = |metric: &str| sum(counted(metric, &mean.selector, &[], range));
            let count = increase_of(&mean.count);
            IndicatorQueries::compiled(
                Expr::binary(
                    BinaryOperator::Divide,
                    increase_of(&mean.sum),
                    count.clone(),
                ),
                Some(count),
                None,
                None,
            )
        }
        Indicator::Promql(promql) => {
            let range = promql_duration(range);
            let fill = |template: &str| {
                Query::written(
                    fill_template(template, &range, &promql.selector, context.service)
                        .expect("templates are checked when the spec is loaded"),
                )
            };
            IndicatorQueries {
                value: fill(&promql.query),
                events: promql.events.as_deref().map(fill),
                numerator: None,
                buckets: None,
            }
        }
    }
}

/// The events a counter counted over `range`, per series.
///
/// increase() cannot see a series' first value, so a series that appears
/// inside the range (the first error of a new status code, the first
/// request of a new operation) would lose everything it counted before
/// its first scrape: 300 errors at once would count as none. A series born
/// in the range started from zero, and its first value is added. Born
/// means one of:
///
/// * its target was already exporting the metric (any series of it, same
///   `job` and `instance`) in the range before, and the series had no
///   sample there;
/// * nothing says so, and the series has no sample from a range's length
///   before the start until `settled` into the range: series seen in the
///   first `settled` are taken to have existed before, since scraping may
///   have begun with the range.
///
/// ```promql
///   (increase(c[W]) + born) or increase(c[W]) or born
/// born = (min_over_time(c[W]) unless last_over_time(c[W+M] offset (W-M)))
///     or ((min_over_time(c[W]) unless last_over_time(c[W] offset W))
///          and on (job, instance) last_over_time(metric[W] offset W))
/// ```
///
/// The last `or` keeps a series born with a single sample, which has no
/// increase() at all.
fn counted(
    metric: &str,
    selector: &Selector,
    extra: &[Matcher],
    range: Duration,
    dialect: super::Dialect,
) -> Expr {
    let over = |function, range| Expr::range(function, metric, selector, extra, range);
    if dialect == super::Dialect::VictoriaMetrics {
        // MetricsQL counts a series born in the window from zero itself;
        // the terms below would count it twice.
        return over(RangeFunction::Increase, range);
    }
    let settled = (range / 10).min(Duration::from_secs(60));
    let unseen_since = |before: Duration, length: Duration| {
        Expr::binary(
            BinaryOperator::Unless,
            over(RangeFunction::MinOverTime, range),
            over(RangeFunction::LastOverTime, length).offset_by(before),
        )
        .paren()
    };
    // Only series of the same job and instance can join the candidates
    // below, so the selector's own job and instance matchers narrow what is
    // read without changing the answer: on a server holding many services,
    // reading the whole metric was most of the query's cost.
    let same_target = Selector {
        metric: None,
        matchers: selector
            .matchers
            .iter()
            .chain(extra)
            .filter(|matcher| matcher.name == "job" || matcher.name == "instance")
            .cloned()
            .collect(),
    };
    let family_before = Expr::range(
        RangeFunction::LastOverTime,
        metric,
        &same_target,
        &[],
        range,
    )
    .offset_by(range);
    let born = Expr::binary(
        BinaryOperator::Or,
        unseen_since(range - settled, range + settled),
        Expr::binary_on(
            BinaryOperator::And,
            unseen_since(range, range),
            family_before,
            &["job", "instance"],
        )
        .paren(),
    )
    .paren();
    let increase = over(RangeFunction::Increase, range);
    let grown = Expr::binary(BinaryOperator::Add, increase.clone(), born.clone()).paren();
    Expr::binary(
        BinaryOperator::Or,
        Expr::binary(BinaryOperator::Or, grown, increase),
        born,
    )
}

/// [`counted`] for a selector that names its metric (a ratio's side).
fn series_counted(series: &Selector, range: Duration, dialect: super::Dialect) -> Expr {
    let metric = series
        .metric
        .as_deref()
        .expect("ratio counters name a metric");
    let matchers = Selector {
        metric: None,
        matchers: series.matchers.clone(),
    };
    counted(metric, &matchers, &[], range, dialect)
}

/// Matches a bucket edge by number: the server's own spellings when known,
/// else the spellings Prometheus 2 (`1`) and 3 (`1.0`) and Go's exponent
/// form (`1e+00`) give the same edge.
pub fn le_matcher(bound: f64, spellings: Option<&[String]>) -> Matcher {
    let alternatives: Vec<String> = match spellings {
        Some(spellings) => spellings
            .iter()
            .map(|spelling| escape_regex(spelling))
            .collect(),
        None => common_spellings(bound)
            .iter()
            .map(|spelling| escape_regex(spelling))
            .collect(),
    };
    Matcher::new("le", MatchKind::Regex, &alternatives.join("|"))
}

/// The ways exporters and Prometheus versions write one bucket edge.
pub fn common_spellings(bound: f64) -> Vec<String> {
    let shortest = format!("{bound}");
    let mut spellings = vec![shortest.clone()];
    if !shortest.contains('.') && !shortest.contains('e') {
        spellings.push(format!("{shortest}.0"));
    }
    let exponent = format!("{bound:e}");
    let (mantissa, power) = exponent.split_once('e').unwrap_or((&exponent, "0"));
    let power: i32 = power.parse().unwrap_or(0);
    let sign = if power < 0 { '-' } else { '+' };
    spellings.push(format!("{mantissa}e{sign}{:02}", power.abs()));
    spellings.dedup();
    spellings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_edges_have_their_common_spellings() {
        assert_eq!(common_spellings(1.0), ["1", "1.0", "1e+00"]);
        assert_eq!(common_spellings(0.25), ["0.25", "2.5e-01"]);
        assert_eq!(common_spellings(250.0), ["250", "250.0", "2.5e+02"]);
    }
}
