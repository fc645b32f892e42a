//! The two judgements that qualify a whole-window verdict: preconditions
//! (was the load the one the objective assumes?) and sustained mode (did the
//! objective hold at every step, not only on average?).

use std::collections::BTreeMap;

use super::outcome::{PreconditionOutcome, Reason, SloOutcome, SustainedOutcome, Verdict};
use super::series::format_labels;
use crate::compile::{CompiledSlo, SustainedQuery};
use crate::prometheus::{QueryError, QueryResult, ResultData, shorten};
use crate::spec::Slo;
use crate::time::{format_duration, format_instant};

/// Measures each precondition. A precondition that cannot be measured (no
/// data, NaN, ±Inf, a failed query, an answer for another time, partial
/// data without `--allow-partial`) is not met.
pub fn judge_preconditions(
    compiled: &CompiledSlo,
    answers: &[Result<QueryResult, QueryError>],
    end: jiff::Timestamp,
    allow_partial: bool,
) -> Vec<PreconditionOutcome> {
    compiled
        .preconditions
        .iter()
        .zip(answers)
        .map(|(plan, answer)| {
            let (value, problem) = match single_value(answer, end, allow_partial) {
                Ok(value) if value.is_nan() => (Some(value), Some("value is NaN".to_string())),
                Ok(value) if value.is_infinite() => {
                    (Some(value), Some("value is infinite".to_string()))
                }
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

fn single_value(
    answer: &Result<QueryResult, QueryError>,
    end: jiff::Timestamp,
    allow_partial: bool,
) -> Result<f64, String> {
    let result = answer
        .as_ref()
        .map_err(|error| format!("query failed: {error}"))?;
    if !result.warnings.is_empty() && !allow_partial {
        return Err(format!("partial data: {}", result.warnings.join("; ")));
    }
    let sample = match &result.data {
        ResultData::Scalar(sample) => sample,
        ResultData::Vector(samples) => match samples.as_slice() {
            [] => return Err("no data".to_string()),
            [sample] => sample,
            _ => return Err(format!("{} series where one was expected", samples.len())),
        },
        other => return Err(format!("a {} result", other.kind())),
    };
    let expected = end.as_millisecond() as f64 / 1000.0;
    if (sample.time - expected).abs() > 1.0 {
        return Err(format!(
            "the answer is for Unix time {}, not for the window's end {expected}",
            sample.time
        ));
    }
    Ok(sample.value)
}

/// Judges every step of the window; a step without traffic (NaN) counts for
/// nothing, a step that misses the objective fails the SLO, and a series
/// absent from more than half of the steps leaves the SLO inconclusive.
pub fn judge_sustained(
    slo: &Slo,
    plan: &SustainedQuery,
    answer: &Result<QueryResult, QueryError>,
    tail: Option<&Result<QueryResult, QueryError>>,
    outcome: &mut SloOutcome,
) {
    let mut sustained = SustainedOutcome {
        query: plan.query.text.clone(),
        step: plan.step,
        range: plan.range,
        points: 0,
        empty_points: 0,
        missing_points: 0,
        breaches: 0,
        warnings: 0,
        worst: None,
    };
    let series = match collect_steps(plan, answer, tail, outcome.partial) {
        Ok(series) => series,
        Err((reason, problem)) => {
            outcome.verdict = Verdict::Inconclusive;
            outcome.reason = Some(reason);
            outcome.detail = format!(
                "sustained: {problem}; query: {}",
                shorten(&plan.query.text, 160)
            );
            outcome.sustained = Some(sustained);
            return;
        }
    };

    let span = plan.end.as_millisecond() - plan.start.as_millisecond();
    let expected =
        (span / (plan.step.as_millis() as i64).max(1)) as usize + 1 + usize::from(plan.tail);
    let upper = slo.objective.comparator.is_upper_bound();
    let mut worst: Option<(f64, f64, String)> = None;
    let mut sparse = Vec::new();
    for (labels, points) in &series {
        let missing = expected.saturating_sub(points.len());
        sustained.missing_points += missing;
        if missing * 2 > expected {
            sparse.push(format!("{labels} has {} of {expected} steps", points.len()));
        }
        for &(time, value) in points {
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
                worst = Some((time, value, labels.clone()));
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
    } else if !sparse.is_empty() {
        outcome.verdict = Verdict::Inconclusive;
        outcome.reason = Some(Reason::NoData);
        outcome.detail = format!(
            "sustained: too few steps had data ({}; {every})",
            sparse.join(", ")
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

type Steps = Vec<(String, Vec<(f64, f64)>)>;

/// The steps of the range answer and the tail evaluation, by series.
fn collect_steps(
    plan: &SustainedQuery,
    answer: &Result<QueryResult, QueryError>,
    tail: Option<&Result<QueryResult, QueryError>>,
    partial_allowed: bool,
) -> Result<Steps, (Reason, String)> {
    let result = answer.as_ref().map_err(|error| {
        (
            Reason::QueryError,
            format!("the range query failed: {error}"),
        )
    })?;
    if !result.warnings.is_empty() && !partial_allowed {
        return Err((
            Reason::PartialResponse,
            format!(
                "the server warned that its answer may be incomplete ({})",
                result.warnings.join("; ")
            ),
        ));
    }
    let ResultData::Matrix(matrix) = &result.data else {
        return Err((
            Reason::QueryError,
            format!(
                "the range query was answered with a {}, not a matrix",
                result.data.kind()
            ),
        ));
    };
    let mut series: BTreeMap<String, Vec<(f64, f64)>> = matrix
        .iter()
        .map(|item| (format_labels(&item.labels), item.points.clone()))
        .collect();
    if plan.tail
        && let Some(tail) = tail
    {
        let tail = tail.as_ref().map_err(|error| {
            (
                Reason::QueryError,
                format!("the evaluation at the window's end failed: {error}"),
            )
        })?;
        let end = plan.end.as_millisecond() as f64 / 1000.0;
        let samples = match &tail.data {
            ResultData::Vector(samples) => samples.clone(),
            ResultData::Scalar(sample) => vec![sample.clone()],
            other => {
                return Err((
                    Reason::QueryError,
                    format!(
                        "the evaluation at the window's end returned a {}",
                        other.kind()
                    ),
                ));
            }
        };
        for sample in samples {
            series
                .entry(format_labels(&sample.labels))
                .or_default()
                .push((end, sample.value));
        }
    }
    Ok(series.into_iter().collect())
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
