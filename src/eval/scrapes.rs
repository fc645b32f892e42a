//! Live scrapes that went wrong: an SLO that reads series from a target
//! which answered too few scrapes cannot be trusted, whatever its value
//! says, so it becomes inconclusive and names the target.

use std::collections::HashSet;

use super::outcome::{Reason, Verdict, Verification};
use crate::compile::{CompileOptions, compile};
use crate::engine::Engine;
use crate::engine::scrape::ScrapeReport;

/// Marks the SLOs that read a deficient target's series inconclusive
/// (reason `too_few_scrapes`) and rolls the verification up again.
pub fn mark_unreliable_scrapes(
    verification: Verification,
    engine: &Engine,
    report: &ScrapeReport,
    strict: bool,
) -> Verification {
    let deficient: Vec<_> = report
        .targets
        .iter()
        .filter(|(_, stats)| stats.is_deficient())
        .collect();
    if deficient.is_empty() {
        return verification;
    }
    let window = verification.window;
    let mut outcomes = verification.outcomes;
    for outcome in &mut outcomes {
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
                instances.contains(target.instance.as_str())
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
        if affected.is_empty() {
            continue;
        }
        outcome.verdict = Verdict::Inconclusive;
        outcome.reason = Some(Reason::TooFewScrapes);
        outcome.detail = format!("{}; {}", affected.join("; "), outcome.detail);
    }
    Verification::new(window, outcomes, strict)
}
