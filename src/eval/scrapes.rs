//! Live scrapes that went wrong. An SLO whose data may be missing cannot be
//! trusted to pass, whatever its value says: one that reads a target which
//! answered too few scrapes, or any SLO once the sample limit dropped data,
//! becomes inconclusive and says why. A failure found in the data that was
//! collected stays a failure.

use std::collections::HashSet;

use super::intervals::could_read;
use super::outcome::{Reason, Verdict, Verification};
use crate::compile::{CompileOptions, compile};
use crate::engine::Engine;
use crate::engine::scrape::ScrapeReport;
use crate::time::format_instant;

/// Marks the SLOs whose data a scrape problem may have hidden: those that
/// read a deficient target's series or could read its labels (reason
/// `too_few_scrapes`), and every SLO when the sample limit was reached
/// (reason `partial_response`, or labelled partial with `allow_partial`).
/// Rolls the verification up again.
pub fn mark_unreliable_scrapes(
    verification: Verification,
    engine: &Engine,
    report: &ScrapeReport,
    strict: bool,
    allow_partial: bool,
) -> Verification {
    let deficient: Vec<_> = report
        .targets
        .iter()
        .filter(|(_, stats)| stats.is_deficient())
        .collect();
    if deficient.is_empty() && report.full_at.is_none() {
        return verification;
    }
    let window = verification.window;
    let mut outcomes = verification.outcomes;
    for outcome in &mut outcomes {
        if outcome.verdict == Verdict::Fail {
            continue;
        }
        let Ok(compiled) = compile(&outcome.slo, &window, &CompileOptions::default()) else {
            continue;
        };
        let instances: HashSet<&str> = compiled
            .queries()
            .into_iter()
            .filter_map(|query| query.plan.as_ref().ok())
            .flat_map(|plan| plan.selectors())
            .flat_map(|selector| engine.store.select(selector))
            .filter_map(|series| series.labels.get("instance").map(String::as_str))
            .collect();
        let affected: Vec<String> = deficient
            .iter()
            .filter(|(target, _)| {
                // A target that never answered left no series to recognise
                // it by; its own labels say whether the SLO would read it.
                let label = |name: &str| match name {
                    "job" => Some(target.job.as_deref().unwrap_or_default()),
                    "instance" => Some(target.instance.as_str()),
                    _ => None,
                };
                instances.contains(target.instance.as_str())
                    || could_read(&outcome.slo, label)
                    || outcome.reason == Some(Reason::NoData)
            })
            .map(|(target, stats)| {
                let cause = stats
                    .last_error
                    .as_deref()
                    .map(|error| format!(" (last error: {error})"))
                    .unwrap_or_default();
                format!(
                    "{} answered {} of {} scrapes{cause}",
                    target.url, stats.succeeded, stats.attempted
                )
            })
            .collect();
        if !affected.is_empty() {
            outcome.verdict = Verdict::Inconclusive;
            outcome.reason = Some(Reason::TooFewScrapes);
            outcome.detail = format!("{}; {}", affected.join("; "), outcome.detail);
            continue;
        }
        if let Some(full_at) = report.full_at {
            let when = jiff::Timestamp::from_millisecond(full_at)
                .map(format_instant)
                .unwrap_or_default();
            let note = format!(
                "the sample limit (--max-samples) was reached at {when}; samples after it were dropped"
            );
            if allow_partial {
                outcome.partial = true;
            } else {
                outcome.verdict = Verdict::Inconclusive;
                outcome.reason = Some(Reason::PartialResponse);
            }
            outcome.detail = format!("{note}; {}", outcome.detail);
        }
    }
    Verification::new(window, outcomes, strict)
}
