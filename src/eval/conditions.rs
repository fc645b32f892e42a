//! The two judgements that qualify a whole-window verdict: preconditions
//! (was the load the one the objective assumes?) and sustained mode (did the
//! objective hold at every step, not only on average?).

use super::outcome::{PreconditionOutcome, Reason, SloOutcome, SustainedOutcome, Verdict};
use super::series::format_labels;
use crate::compile::{CompiledSlo, SustainedQuery};
use crate::prometheus::{QueryError, QueryResult, ResultData, shorten};
use crate::spec::Slo;
use crate::time::{format_duration, format_instant};

/// Measures each precondition. A precondition that cannot be measured (no
/// data, NaN, a failed query, partial data) is not met.
pub fn judge_preconditions(
    compiled: &CompiledSlo,
    answers: &[Result<QueryResult, QueryError>],
) -> Vec<PreconditionOutcome> {
    compiled
        .preconditions
        .iter()
        .zip(answers)
        .map(|(plan, answer)| {
            let (value, problem) = match single_value(answer) {
                Ok(value) if value.is_nan() => (Some(value), Some("value is NaN".to_string())),
                Ok(value) => (Some(value), None),
                Err(problem) => (None, Some(problem)),
            };
            let met = match (&problem, value) {
                (None, Some(value)) => plan.objective.holds(value),
                _ => None,
            };
            PreconditionOutcome {
                summary: plan.summary.clone(),
                query: plan.query.text.clone(),
                value,
                unit: plan.unit,
                objective: plan.objective.text.clone(),
                met,
                problem,
            }
        })
        .collect()
}

fn single_value(answer: &Result<QueryResult, QueryError>) -> Result<f64, String> {
    let result = answer
        .as_ref()
        .map_err(|error| format!("query failed: {error}"))?;
    if !result.warnings.is_empty() {
        return Err(format!("partial data: {}", result.warnings.join("; ")));
    }
    match &result.data {
        ResultData::Scalar(sample) => Ok(sample.value),
        ResultData::Vector(samples) => match samples.as_slice() {
            [] => Err("no data".to_string()),
            [sample] => Ok(sample.value),
            _ => Err(format!("{} series where one was expected", samples.len())),
        },
        other => Err(format!("a {} result", other.kind())),
    }
}

/// Judges every step of the window; a step without traffic (NaN) counts for
/// nothing, a step that misses the objective fails the SLO.
pub fn judge_sustained(
    slo: &Slo,
    plan: &SustainedQuery,
    answer: &Result<QueryResult, QueryError>,
    outcome: &mut SloOutcome,
) {
    let mut sustained = SustainedOutcome {
        query: plan.query.text.clone(),
        step: plan.step,
        range: plan.range,
        points: 0,
        empty_points: 0,
        breaches: 0,
        warnings: 0,
        worst: None,
    };
    let result = match answer {
        Ok(result) => result,
        Err(error) => {
            outcome.verdict = Verdict::Inconclusive;
            outcome.reason = Some(Reason::QueryError);
            outcome.detail = format!(
                "sustained query failed: {error}; query: {}",
                shorten(&plan.query.text, 160)
            );
            outcome.sustained = Some(sustained);
            return;
        }
    };
    if !result.warnings.is_empty() && !outcome.partial {
        outcome.verdict = Verdict::Inconclusive;
        outcome.reason = Some(Reason::PartialResponse);
        outcome.detail = format!(
            "the server answered the sustained query from partial data ({})",
            result.warnings.join("; ")
        );
        outcome.sustained = Some(sustained);
        return;
    }
    let series = match &result.data {
        ResultData::Matrix(series) => series.as_slice(),
        _ => &[],
    };

    let upper = slo.objective.comparator.is_upper_bound();
    let mut worst: Option<(f64, f64, String)> = None;
    for item in series {
        for &(time, value) in &item.points {
            if value.is_nan() {
                sustained.empty_points += 1;
                continue;
            }
            sustained.points += 1;
            if slo.objective.holds(value) == Some(false) {
                sustained.breaches += 1;
            } else if slo
                .warning
                .as_ref()
                .and_then(|warning| warning.holds(value))
                == Some(false)
            {
                sustained.warnings += 1;
            }
            let worse = match &worst {
                None => true,
                Some((_, current, _)) => {
                    if upper {
                        value > *current
                    } else {
                        value < *current
                    }
                }
            };
            if worse {
                worst = Some((time, value, format_labels(&item.labels)));
            }
        }
    }
    sustained.worst = worst.as_ref().map(|(time, value, _)| (*time, *value));

    let unit = slo.indicator.unit();
    let every = format!(
        "every {} over [{}]",
        format_duration(plan.step),
        format_duration(plan.range)
    );
    if sustained.points == 0 {
        outcome.verdict = Verdict::Inconclusive;
        outcome.reason = Some(Reason::NoData);
        outcome.detail = format!("sustained: no step had data ({every})");
    } else if sustained.breaches > 0 {
        let (time, value, labels) = worst.expect("a breach is a point");
        let labels = if labels == "{}" {
            String::new()
        } else {
            format!(" {labels}")
        };
        outcome.verdict = Verdict::Fail;
        outcome.reason = Some(Reason::NotSustained);
        outcome.detail = format!(
            "{} over the window, but {} of {} steps ({every}) miss {}; worst {}{labels} at {}",
            outcome.detail,
            sustained.breaches,
            sustained.points,
            slo.objective.text,
            unit.format(value),
            format_unix(time)
        );
    } else if sustained.warnings > 0 && outcome.verdict == Verdict::Pass {
        let warning = slo
            .warning
            .as_ref()
            .map_or("", |warning| warning.text.as_str());
        outcome.verdict = Verdict::Warn;
        outcome.detail = format!(
            "{}, but {} of {} steps ({every}) miss warning {warning}",
            outcome.detail, sustained.warnings, sustained.points
        );
    }
    outcome.sustained = Some(sustained);
}

fn format_unix(seconds: f64) -> String {
    jiff::Timestamp::from_millisecond((seconds * 1000.0).round() as i64)
        .map(format_instant)
        .unwrap_or_else(|_| format!("{seconds}"))
}

/// Makes the SLO inconclusive when a precondition was not met or could not
/// be measured, keeping the measured value in the message.
pub fn apply_preconditions(outcome: &mut SloOutcome) {
    let unmet: Vec<String> = outcome
        .preconditions
        .iter()
        .filter(|precondition| precondition.met != Some(true))
        .map(
            |precondition| match (precondition.met, precondition.value) {
                (Some(false), Some(value)) => format!(
                    "{} = {}, needs {}",
                    precondition.summary,
                    precondition.unit.format(value),
                    precondition.objective
                ),
                _ => format!(
                    "{} could not be measured ({})",
                    precondition.summary,
                    precondition.problem.as_deref().unwrap_or("no value")
                ),
            },
        )
        .collect();
    if unmet.is_empty() {
        return;
    }
    // Errors about the query itself say more than the load does; anything
    // else (a pass, a fail, missing data) is moot when the load was not the
    // one the objective assumes.
    let keeps_own_reason = outcome.reason.is_some_and(|reason| {
        matches!(reason, Reason::QueryError | Reason::PartialResponse) || reason.is_spec_error()
    });
    if keeps_own_reason {
        return;
    }
    let measured = outcome
        .value
        .filter(|value| value.is_finite())
        .map(|value| {
            format!(
                "; measured {} against {}",
                outcome.slo.indicator.unit().format(value),
                outcome.slo.objective.text
            )
        })
        .unwrap_or_default();
    outcome.verdict = Verdict::Inconclusive;
    outcome.reason = Some(Reason::PreconditionNotMet);
    outcome.detail = format!("precondition not met: {}{measured}", unmet.join("; "));
}
