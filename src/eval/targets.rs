//! Targets that were down during the window. Prometheus records every
//! scrape's success in `up`; an SLO that could read a target which was up
//! for less than 90% of the window may be missing exactly the part of the
//! load test that went wrong (a service that crashed and stopped answering
//! also stopped reporting its errors), so it does not pass.

use std::time::Duration;

use super::intervals::could_read;
use super::outcome::{Reason, SloOutcome, Verdict};
use super::source::Source;
use crate::compile::Query;
use crate::compile::expr::{Expr, RangeFunction};
use crate::prometheus::ResultData;
use crate::spec::Selector;
use crate::window::Window;

/// The share of its scrapes a target must have answered.
const REQUIRED_UP: f64 = 0.9;

/// When `up` cannot be read, nothing says the targets were up: passing
/// SLOs become inconclusive (`query_error`), as for any failed query.
fn unknown(outcomes: &mut [SloOutcome], problem: &str) {
    for outcome in outcomes {
        if matches!(outcome.verdict, Verdict::Pass | Verdict::Warn) {
            outcome.verdict = Verdict::Inconclusive;
            outcome.reason = Some(Reason::QueryError);
            outcome.detail = format!(
                "cannot tell whether its targets were up during the window (avg_over_time(up[…]) failed: {problem}); {}",
                outcome.detail
            );
        }
    }
}

/// Makes every passing (or warning) SLO that could read a target that was
/// up for less than 90% of the window inconclusive, with reason
/// `too_few_scrapes`. Without `up` series (a recording or a remote-write
/// store may have none) nothing changes.
pub async fn mark_down_targets(outcomes: &mut [SloOutcome], source: &Source, window: &Window) {
    let range = window.duration().max(Duration::from_secs(1));
    let query = Query::compiled(Expr::range(
        RangeFunction::AvgOverTime,
        "up",
        &Selector::default(),
        &[],
        range,
    ));
    let samples = match source.instant(&query, window.end).await {
        Ok(result) => match result.data {
            ResultData::Vector(samples) => samples,
            other => {
                unknown(
                    outcomes,
                    &format!("its answer was a {}, not a vector", other.kind()),
                );
                return;
            }
        },
        Err(error) => {
            unknown(outcomes, &error.to_string());
            return;
        }
    };
    // NaN (no samples to average) is not "up".
    let down: Vec<_> = samples
        .iter()
        .filter(|sample| sample.value.is_nan() || sample.value < REQUIRED_UP)
        .collect();
    if down.is_empty() {
        return;
    }
    for outcome in outcomes {
        if !matches!(outcome.verdict, Verdict::Pass | Verdict::Warn) {
            continue;
        }
        let affected: Vec<String> = down
            .iter()
            .filter(|sample| {
                could_read(&outcome.slo, |name| {
                    sample.labels.get(name).map(String::as_str)
                })
            })
            .map(|sample| {
                let label = |name: &str| {
                    sample
                        .labels
                        .get(name)
                        .map(String::as_str)
                        .unwrap_or("?")
                        .to_string()
                };
                format!(
                    "target {} (job {}) was up for {:.0}% of the window",
                    label("instance"),
                    label("job"),
                    sample.value * 100.0
                )
            })
            .collect();
        if affected.is_empty() {
            continue;
        }
        outcome.verdict = Verdict::Inconclusive;
        outcome.reason = Some(Reason::TooFewScrapes);
        outcome.detail = format!("{}; {}", affected.join("; "), outcome.detail);
    }
}
