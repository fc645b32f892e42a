//! PromQL for each indicator kind over a range, grouped by the SLO's `by`
//! labels. Every query aggregates to one series per group, so a query can
//! never hand back an unexpected extra series.
//!
//! The same builders serve the whole window (`[600s]` at the window's end)
//! and sustained mode (`[60s]` at every step), so the two cannot disagree on
//! what the indicator means.

use crate::spec::selector::{MatchKind, Matcher, escape_regex};
use crate::spec::{Comparator, Indicator, LatencyTarget, Selector, fill_template};

/// The queries that measure one indicator over one range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorQueries {
    /// The indicator's value, one series per group.
    pub value: String,
    /// Events per group (observations, requests, samples), for
    /// `min_events` and for telling "no traffic" from other NaNs.
    pub events: Option<String>,
    /// A ratio's numerator per group, to catch `good > total`.
    pub numerator: Option<String>,
    /// A histogram's bucket increases per `le` (and group), to catch
    /// buckets that decrease with `le`.
    pub buckets: Option<String>,
}

/// What the builders need besides the indicator.
#[derive(Debug, Clone, Copy)]
pub struct QueryContext<'a> {
    /// The range selector's length, as PromQL spells it (`600s`).
    pub range: &'a str,
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
}

/// Builds the queries for an indicator.
pub fn indicator_queries(indicator: &Indicator, context: &QueryContext<'_>) -> IndicatorQueries {
    let range = context.range;
    let sum = |inner: String| aggregate("sum", context.by, &[], &inner);
    match indicator {
        Indicator::Latency(latency) => {
            let bucket = format!("{}_bucket", latency.histogram);
            let count = format!("{}_count", latency.histogram);
            let events = sum(increase(&latency.selector, &count, &[], range));
            let buckets = aggregate(
                "sum",
                context.by,
                &["le"],
                &increase(&latency.selector, &bucket, &[], range),
            );
            match &latency.target {
                LatencyTarget::Quantile(quantile) => IndicatorQueries {
                    value: format!("histogram_quantile({quantile}, {buckets})"),
                    events: Some(events),
                    numerator: None,
                    buckets: Some(buckets),
                },
                LatencyTarget::Under { bound, .. } => {
                    let le = le_matcher(*bound, context.le_spellings);
                    let under = sum(increase(&latency.selector, &bucket, &[le], range));
                    IndicatorQueries {
                        value: format!("{under} / {events}"),
                        events: Some(events),
                        numerator: Some(under),
                        buckets: Some(buckets),
                    }
                }
            }
        }
        Indicator::Rate(counter) => IndicatorQueries {
            value: sum(function("rate", &counter.selector, &counter.counter, range)),
            events: None,
            numerator: None,
            buckets: None,
        },
        Indicator::Increase(counter) => IndicatorQueries {
            value: sum(increase(&counter.selector, &counter.counter, &[], range)),
            events: None,
            numerator: None,
            buckets: None,
        },
        Indicator::Gauge(gauge) => {
            let across = if context.comparator.is_upper_bound() {
                "max"
            } else {
                "min"
            };
            let over_time = function(
                gauge.aggregate.function(),
                &gauge.selector,
                &gauge.metric,
                range,
            );
            IndicatorQueries {
                value: aggregate(across, context.by, &[], &over_time),
                events: Some(sum(function(
                    "count_over_time",
                    &gauge.selector,
                    &gauge.metric,
                    range,
                ))),
                numerator: None,
                buckets: None,
            }
        }
        Indicator::Ratio(ratio) => {
            let numerator = sum(series_increase(&ratio.numerator, range));
            let total = sum(series_increase(&ratio.total, range));
            // A counter for one outcome does not exist until it first
            // counts: with no errors yet the numerator is absent and must
            // read as 0. The total never gets a default, so absent traffic
            // stays absent (no data) instead of becoming "0% errors".
            let zero = if context.by.is_empty() {
                "vector(0)".to_string()
            } else {
                format!("0 * {total}")
            };
            IndicatorQueries {
                value: format!("({numerator} or {zero}) / {total}"),
                events: Some(total),
                numerator: Some(numerator),
                buckets: None,
            }
        }
        Indicator::Mean(mean) => {
            let count = sum(increase(&mean.selector, &mean.count, &[], range));
            IndicatorQueries {
                value: format!(
                    "{} / {count}",
                    sum(increase(&mean.selector, &mean.sum, &[], range))
                ),
                events: Some(count),
                numerator: None,
                buckets: None,
            }
        }
        Indicator::Promql(promql) => {
            let fill = |template: &str| {
                fill_template(template, range, &promql.selector, context.service)
                    .expect("templates are checked when the spec is loaded")
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

fn increase(selector: &Selector, metric: &str, extra: &[Matcher], range: &str) -> String {
    format!("increase({}[{range}])", selector.render(metric, extra))
}

fn function(name: &str, selector: &Selector, metric: &str, range: &str) -> String {
    format!("{name}({}[{range}])", selector.render(metric, &[]))
}

fn series_increase(series: &Selector, range: &str) -> String {
    let metric = series
        .metric
        .as_deref()
        .expect("ratio counters name a metric");
    let matchers = Selector {
        metric: None,
        matchers: series.matchers.clone(),
    };
    increase(&matchers, metric, &[], range)
}

fn aggregate(operator: &str, by: &[String], extra: &[&str], inner: &str) -> String {
    let labels: Vec<&str> = by
        .iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
        .collect();
    if labels.is_empty() {
        format!("{operator}({inner})")
    } else {
        format!("{operator} by ({}) ({inner})", labels.join(", "))
    }
}

/// Matches a bucket edge by number: the server's own spellings when known,
/// else the spellings Prometheus 2 (`1`) and 3 (`1.0`) and Go's exponent
/// form (`1e+00`) give the same edge.
fn le_matcher(bound: f64, spellings: Option<&[String]>) -> Matcher {
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
