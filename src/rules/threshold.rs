//! Rules for SLOs without an error budget: the value over a short window
//! is recorded, and an alert fires while the objective stays missed.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{
    Note, Rule, RuleOptions, RuleSet, Severity, absent_alert, alert_labels, literal, recorded,
    share, short_duration, slo_labels, under_and_total,
};
use crate::compile::expr::{AggregateOperator, BinaryOperator, Expr, Function, RangeFunction};
use crate::spec::{Comparator, Indicator, LatencyTarget, Selector, Slo, fill_template};
use crate::time::promql_duration;

/// The SLO's value over `window` as PromQL, for SLOs without an error
/// budget; `None` for a hand-written query that does not fill in.
fn value_over(slo: &Slo, window: Duration) -> Option<String> {
    let by = &slo.by;
    let sum = |inner: Expr| Expr::aggregate(AggregateOperator::Sum, by, inner);
    let counter_rate = |metric: &str, selector: &Selector| {
        sum(Expr::range(
            RangeFunction::Rate,
            metric,
            selector,
            &[],
            window,
        ))
    };
    let value = match &slo.indicator {
        Indicator::Latency(latency) => {
            let mut by_le = by.clone();
            by_le.push("le".into());
            let buckets = Expr::aggregate(
                AggregateOperator::Sum,
                &by_le,
                Expr::range(
                    RangeFunction::Rate,
                    &format!("{}_bucket", latency.histogram),
                    &latency.selector,
                    &[],
                    window,
                ),
            );
            match &latency.target {
                LatencyTarget::Quantile(quantile) => Expr::Call {
                    function: Function::HistogramQuantile,
                    arguments: vec![Expr::Number(*quantile), buckets],
                },
                LatencyTarget::Under { bound, .. } => {
                    let (under, total) = under_and_total(latency, *bound);
                    share(&under, &total, by, window, false)
                }
            }
        }
        Indicator::Rate(counter) => counter_rate(&counter.counter, &counter.selector),
        Indicator::Increase(counter) => sum(Expr::range(
            RangeFunction::Increase,
            &counter.counter,
            &counter.selector,
            &[],
            window,
        )),
        Indicator::Gauge(gauge) => {
            let across = if slo.objective.comparator.is_upper_bound() {
                AggregateOperator::Max
            } else {
                AggregateOperator::Min
            };
            let function = match gauge.aggregate {
                crate::spec::GaugeAggregate::Max => RangeFunction::MaxOverTime,
                crate::spec::GaugeAggregate::Min => RangeFunction::MinOverTime,
                crate::spec::GaugeAggregate::Avg => RangeFunction::AvgOverTime,
                crate::spec::GaugeAggregate::Last => RangeFunction::LastOverTime,
            };
            Expr::aggregate(
                across,
                by,
                Expr::range(function, &gauge.metric, &gauge.selector, &[], window),
            )
        }
        Indicator::Ratio(ratio) => share(&ratio.numerator, &ratio.total, by, window, true),
        Indicator::Mean(mean) => Expr::binary(
            BinaryOperator::Divide,
            counter_rate(&mean.sum, &mean.selector),
            counter_rate(&mean.count, &mean.selector),
        ),
        Indicator::Promql(promql) => {
            let text = fill_template(
                &promql.query,
                &promql_duration(window),
                &promql.selector,
                &slo.service,
            )
            .ok()?;
            return Some(text.trim().to_string());
        }
    };
    Some(value.to_string())
}

pub(super) fn threshold_rules(
    slo: &Slo,
    options: &RuleOptions,
    recordings: &mut Vec<Rule>,
    alerts: &mut Vec<Rule>,
    set: &mut RuleSet,
) {
    let window = options.threshold_window;
    let name = format!("slo:sli_value:{}", short_duration(window));
    let labels = slo_labels(slo);
    let Some(value) = value_over(slo, window) else {
        set.notes.push(Note {
            slo: slo.id(),
            text: "gets no rules: its query does not fill in for a rule window".into(),
        });
        return;
    };
    recordings.push(Rule::Record {
        name: name.clone(),
        expr: value,
        labels: labels.clone(),
    });
    if matches!(slo.indicator, Indicator::Rate(_)) {
        set.notes.push(Note {
            slo: slo.id(),
            text: "gets no alert: a rate objective is the load a test must reach, not a limit \
                   production traffic is held to"
                .into(),
        });
        return;
    }
    let objectives = std::iter::once((Severity::Page, &slo.objective)).chain(
        slo.warning
            .iter()
            .map(|warning| (Severity::Ticket, warning)),
    );
    // Any count at all breaks an increase objective such as `== 0`, and the
    // count stays in the window only as long as the window: waiting as well
    // would let a burst of dead letters pass unseen.
    let for_duration =
        (!matches!(slo.indicator, Indicator::Increase(_))).then_some(options.threshold_for);
    for (severity, objective) in objectives {
        alerts.push(Rule::Alert {
            name: match severity {
                Severity::Page => "SloObjectiveMissed",
                Severity::Ticket => "SloWarningMissed",
            }
            .into(),
            expr: Expr::binary(
                missed(objective.comparator),
                recorded(&name, slo),
                Expr::Number(objective.limit),
            )
            .to_string(),
            for_duration,
            labels: alert_labels(&labels, severity),
            annotations: BTreeMap::from([(
                "summary".into(),
                format!(
                    "{}: {{{{ $value }}}}",
                    literal(&format!(
                        "{} misses {} over {}",
                        slo.id(),
                        objective.text,
                        short_duration(window)
                    ))
                ),
            )]),
        });
    }
    // A counter that has not counted yet has no series; for an increase
    // (dead letters) that is the good case, not a missing indicator.
    if !matches!(slo.indicator, Indicator::Increase(_)) {
        alerts.push(absent_alert(slo, &labels, &name));
    }
}

/// The comparison that holds while `comparator`'s objective is missed.
fn missed(comparator: Comparator) -> BinaryOperator {
    match comparator {
        Comparator::Less => BinaryOperator::GreaterOrEqual,
        Comparator::LessOrEqual => BinaryOperator::Greater,
        Comparator::Greater => BinaryOperator::LessOrEqual,
        Comparator::GreaterOrEqual => BinaryOperator::Less,
        Comparator::Equal => BinaryOperator::NotEqual,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missed_objective_is_the_opposite_comparison() {
        assert_eq!(missed(Comparator::Less), BinaryOperator::GreaterOrEqual);
        assert_eq!(missed(Comparator::Equal), BinaryOperator::NotEqual);
        assert_eq!(missed(Comparator::GreaterOrEqual), BinaryOperator::Less);
    }
}
