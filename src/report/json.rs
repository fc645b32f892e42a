//! The JSON report: strict JSON for CI and dashboards.
//!
//! Non-finite numbers are never written as numbers (JSON has no NaN): the
//! number is `null` and `value_text` says `NaN`, `+Inf` or `-Inf`, so a
//! consumer can tell "no value" from "the value was NaN". The layout is
//! versioned by `schema_version`; fields are only ever added.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::eval::{
    AnnotationRecord, GroupOutcome, PreconditionOutcome, SloOutcome, Verdict, Verification,
};
use crate::prometheus::Labels;
use crate::spec::Unit;
use crate::time::{format_duration, format_instant};

/// Bumped when a field changes meaning or disappears (never within 1.x).
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    tool: Tool,
    verdict: Verdict,
    passed: bool,
    exit_code: u8,
    window: WindowJson,
    command: Option<CommandJson<'a>>,
    annotation: Option<&'a AnnotationRecord>,
    summary: Summary,
    slos: Vec<SloJson<'a>>,
}

#[derive(Serialize)]
struct CommandJson<'a> {
    argv: &'a [String],
    exit_code: Option<i32>,
    signal: Option<i32>,
    succeeded: bool,
    failure_allowed: bool,
    interrupted_by: Option<i32>,
    expected_seconds: Option<f64>,
    doubt: Option<String>,
    started: String,
    ended: String,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct WindowJson {
    start: String,
    end: String,
    duration: String,
    seconds: f64,
}

#[derive(Serialize)]
struct Summary {
    total: usize,
    pass: usize,
    warn: usize,
    fail: usize,
    inconclusive: usize,
}

#[derive(Serialize)]
struct SloJson<'a> {
    service: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    labels: &'a BTreeMap<String, String>,
    indicator: &'static str,
    verdict: Verdict,
    passed: bool,
    partial: bool,
    value: Option<f64>,
    value_text: Option<String>,
    unit: &'static str,
    objective: &'a str,
    objective_value: f64,
    warning: Option<&'a str>,
    reason: Option<&'static str>,
    message: String,
    query: &'a str,
    events: Option<f64>,
    min_events: Option<f64>,
    preconditions: Vec<PreconditionJson<'a>>,
    groups: Vec<GroupJson<'a>>,
    sustained: Option<SustainedJson<'a>>,
    error_budget: Option<BudgetJson>,
    warnings: &'a [String],
    notices: &'a [String],
}

#[derive(Serialize)]
struct PreconditionJson<'a> {
    indicator: &'a str,
    query: &'a str,
    value: Option<f64>,
    value_text: Option<String>,
    unit: &'static str,
    objective: &'a str,
    met: Option<bool>,
    problem: Option<&'a str>,
}

#[derive(Serialize)]
struct GroupJson<'a> {
    labels: &'a Labels,
    verdict: Verdict,
    value: Option<f64>,
    value_text: Option<String>,
    reason: Option<&'static str>,
    message: &'a str,
    events: Option<f64>,
}

#[derive(Serialize)]
struct SustainedJson<'a> {
    query: &'a str,
    step: String,
    range: String,
    points: usize,
    empty_points: usize,
    missing_points: usize,
    breaches: usize,
    warnings: usize,
    worst: Option<WorstJson>,
}

#[derive(Serialize)]
struct WorstJson {
    time: String,
    value: Option<f64>,
    value_text: String,
}

#[derive(Serialize)]
struct BudgetJson {
    burn_rate: Option<f64>,
    consumed: Option<f64>,
    period: String,
}

/// Renders the verification as pretty-printed JSON with a final newline.
pub fn render(verification: &Verification) -> String {
    let report = Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        verdict: verification.verdict,
        passed: verification.exit_code == 0,
        exit_code: verification.exit_code,
        window: WindowJson {
            start: format_instant(verification.window.start),
            end: format_instant(verification.window.end),
            duration: format_duration(verification.window.duration()),
            seconds: verification.window.duration().as_secs_f64(),
        },
        command: verification.command.as_ref().map(|command| CommandJson {
            argv: &command.argv,
            exit_code: command.exit_code,
            signal: command.signal,
            succeeded: command.succeeded(),
            failure_allowed: command.failure_allowed,
            interrupted_by: command.interrupted_by,
            expected_seconds: command.expected.map(|expected| expected.as_secs_f64()),
            doubt: command.doubt(),
            started: format_instant(command.started),
            ended: format_instant(command.ended),
        }),
        annotation: verification.annotation.as_ref(),
        summary: Summary {
            total: verification.outcomes.len(),
            pass: verification.count(Verdict::Pass),
            warn: verification.count(Verdict::Warn),
            fail: verification.count(Verdict::Fail),
            inconclusive: verification.count(Verdict::Inconclusive),
        },
        slos: verification.outcomes.iter().map(slo_json).collect(),
    };
    let mut text = serde_json::to_string_pretty(&report).expect("reports serialise");
    text.push('\n');
    text
}

/// The JSON document for a run that stopped before any verdict: the same
/// envelope with `verdict: null`, the exit code and the error, so a consumer
/// never reads an earlier run's report or an empty file.
pub fn render_error(message: &str, exit_code: u8) -> String {
    let document = serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION")},
        "verdict": null,
        "passed": false,
        "exit_code": exit_code,
        "error": message,
        "window": null,
        "summary": null,
        "slos": [],
    });
    let mut text = serde_json::to_string_pretty(&document).expect("reports serialise");
    text.push('\n');
    text
}

fn slo_json(outcome: &SloOutcome) -> SloJson<'_> {
    let slo = &outcome.slo;
    let unit = slo.indicator.unit();
    SloJson {
        service: &slo.service,
        name: &slo.name,
        description: slo.description.as_deref(),
        labels: &slo.labels,
        indicator: slo.indicator.kind(),
        verdict: outcome.verdict,
        passed: passed(outcome.verdict),
        partial: outcome.partial,
        value: finite(outcome.value),
        value_text: outcome.value.map(|value| unit.format(value)),
        unit: unit.name(),
        objective: &slo.objective.text,
        objective_value: slo.objective.limit,
        warning: slo.warning.as_ref().map(|warning| warning.text.as_str()),
        reason: outcome.reason.map(|reason| reason.name()),
        message: outcome.message(),
        query: &outcome.query,
        events: finite(outcome.events),
        min_events: slo.min_events,
        preconditions: outcome
            .preconditions
            .iter()
            .map(precondition_json)
            .collect(),
        groups: outcome
            .groups
            .iter()
            .map(|group| group_json(group, unit))
            .collect(),
        sustained: outcome.sustained.as_ref().map(|sustained| SustainedJson {
            query: &sustained.query,
            step: format_duration(sustained.step),
            range: format_duration(sustained.range),
            points: sustained.points,
            empty_points: sustained.empty_points,
            missing_points: sustained.missing_points,
            breaches: sustained.breaches,
            warnings: sustained.warnings,
            worst: sustained.worst.map(|(time, value)| WorstJson {
                time: jiff::Timestamp::from_millisecond((time * 1000.0).round() as i64)
                    .map(format_instant)
                    .unwrap_or_default(),
                value: finite(Some(value)),
                value_text: unit.format(value),
            }),
        }),
        error_budget: outcome.budget.map(|budget| BudgetJson {
            burn_rate: finite(Some(budget.burn_rate)),
            consumed: finite(Some(budget.consumed)),
            period: format_duration(budget.period),
        }),
        warnings: &outcome.warnings,
        notices: &outcome.notices,
    }
}

fn precondition_json(precondition: &PreconditionOutcome) -> PreconditionJson<'_> {
    PreconditionJson {
        indicator: &precondition.summary,
        query: &precondition.query,
        value: finite(precondition.value),
        value_text: precondition
            .value
            .map(|value| precondition.unit.format(value)),
        unit: precondition.unit.name(),
        objective: &precondition.objective,
        met: precondition.met,
        problem: precondition.problem.as_deref(),
    }
}

fn group_json(group: &GroupOutcome, unit: Unit) -> GroupJson<'_> {
    GroupJson {
        labels: &group.labels,
        verdict: group.verdict,
        value: finite(group.value),
        value_text: group.value.map(|value| unit.format(value)),
        reason: group.reason.map(|reason| reason.name()),
        message: &group.detail,
        events: finite(group.events),
    }
}

/// True for the verdicts that let a release through (warn included).
fn passed(verdict: Verdict) -> bool {
    matches!(verdict, Verdict::Pass | Verdict::Warn)
}

fn finite(value: Option<f64>) -> Option<f64> {
    value.filter(|value| value.is_finite())
}
