//! From query answers to one SLO's verdict. Pure: no I/O, no clock, so every
//! rule here is tested with hand-made answers.
//!
//! The order of checks decides which reason a user sees, most fundamental
//! first: a failed query, partial data, a result of the wrong shape, no
//! series, NaN, ±Inf, too few events, data that cannot be true, and only
//! then the objective. Preconditions and sustained mode come after the
//! whole-window judgement.

use super::conditions::{apply_preconditions, judge_preconditions, judge_sustained};
use super::outcome::{Budget, GroupOutcome, Reason, SloOutcome, Verdict};
use super::series::{buckets_by_group, by_labels, format_labels, lookup, samples_of};
use crate::compile::CompiledSlo;
use crate::prometheus::{QueryError, QueryResult, ResultData, Sample, shorten};
use crate::spec::quantity::significant;
use crate::spec::{Indicator, LatencyTarget, NoData, RatioKind, Slo};
use crate::window::Window;

/// The answers to one SLO's queries, in the order the plan lists them.
#[derive(Debug, Clone)]
pub struct Answers {
    /// The whole-window value.
    pub value: Result<QueryResult, QueryError>,
    /// Events per group, when the plan counts them.
    pub events: Option<Result<QueryResult, QueryError>>,
    /// A ratio's numerator per group.
    pub numerator: Option<Result<QueryResult, QueryError>>,
    /// A quantile's bucket increases.
    pub buckets: Option<Result<QueryResult, QueryError>>,
    /// The sustained range query.
    pub sustained: Option<Result<QueryResult, QueryError>>,
    /// The sustained indicator at the window's end, when the steps stop
    /// short of it.
    pub sustained_tail: Option<Result<QueryResult, QueryError>>,
    /// Each precondition's value.
    pub preconditions: Vec<Result<QueryResult, QueryError>>,
    /// For a ratio whose numerator matched nothing: what exists of it.
    pub numerator_presence: Option<Presence>,
}

/// What exists of a ratio's numerator when it matched no series in the
/// window.
#[derive(Debug, Clone, PartialEq)]
pub struct Presence {
    /// The numerator's metric name.
    pub metric: String,
    /// True when the numerator's metric differs from the total's.
    pub separate_metric: bool,
    /// True when any series of that metric has samples in the window.
    pub metric_exists: bool,
    /// Each matcher of the numerator not shared with the total, with the
    /// values its label took in the window.
    pub labels: Vec<(crate::spec::selector::Matcher, Vec<String>)>,
}

/// What judgement needs besides the answers.
#[derive(Debug, Clone, Copy)]
pub struct JudgeOptions {
    /// The window judged, for messages and budgets.
    pub window: Window,
    /// Use values that the server built from partial data.
    pub allow_partial: bool,
    /// Whether the scrape interval is known (else short windows with no
    /// data get a hint).
    pub scrape_interval_known: bool,
}

/// Judges one SLO from its answers.
pub fn judge(compiled: &CompiledSlo, answers: Answers, options: &JudgeOptions) -> SloOutcome {
    let slo = &compiled.slo;
    let mut outcome = SloOutcome::new(slo.clone(), compiled.window.value.text.clone());

    judge_window(compiled, &answers, options, &mut outcome);
    outcome.preconditions = judge_preconditions(
        compiled,
        &answers.preconditions,
        options.window.end,
        options.allow_partial,
    );
    apply_preconditions(&mut outcome);
    if matches!(outcome.verdict, Verdict::Pass | Verdict::Warn)
        && let (Some(plan), Some(answer)) = (&compiled.sustained, &answers.sustained)
    {
        judge_sustained(
            slo,
            plan,
            answer,
            answers.sustained_tail.as_ref(),
            &mut outcome,
        );
    }
    if matches!(
        outcome.verdict,
        Verdict::Pass | Verdict::Warn | Verdict::Fail
    ) {
        outcome.budget = budget(slo, outcome.value, options.window);
    }
    outcome
}

fn judge_window(
    compiled: &CompiledSlo,
    answers: &Answers,
    options: &JudgeOptions,
    outcome: &mut SloOutcome,
) {
    let slo = &compiled.slo;
    let auxiliaries = [
        (
            "events",
            compiled
                .window
                .events
                .as_ref()
                .map(|query| query.text.as_str()),
            &answers.events,
        ),
        (
            "numerator",
            compiled
                .window
                .numerator
                .as_ref()
                .map(|query| query.text.as_str()),
            &answers.numerator,
        ),
        (
            "buckets",
            compiled
                .window
                .buckets
                .as_ref()
                .map(|query| query.text.as_str()),
            &answers.buckets,
        ),
    ];

    let value = match &answers.value {
        Ok(value) => value,
        Err(error) => return query_failed(outcome, "", &compiled.window.value.text, error),
    };
    for (name, query, answer) in &auxiliaries {
        if let Some(Err(error)) = answer {
            return query_failed(outcome, name, query.unwrap_or_default(), error);
        }
    }
    let answered: Vec<(&str, &QueryResult)> =
        std::iter::once((compiled.window.value.text.as_str(), value))
            .chain(
                auxiliaries
                    .iter()
                    .filter_map(|(_, query, answer)| match (query, answer) {
                        (Some(query), Some(Ok(result))) => Some((*query, result)),
                        _ => None,
                    }),
            )
            .collect();
    for (query, result) in &answered {
        if let Some(problem) = wrong_time(result, options.window.end) {
            let error = QueryError::Http {
                status: 200,
                detail: problem,
            };
            return query_failed(outcome, "", query, &error);
        }
    }
    let warnings: Vec<String> = answered
        .iter()
        .flat_map(|(_, result)| result.warnings.iter().cloned())
        .collect();
    outcome.notices = answered
        .iter()
        .flat_map(|(_, result)| result.infos.iter().cloned())
        .collect();
    outcome.warnings = warnings.clone();

    let Some(samples) = shaped_samples(slo, &value.data, outcome) else {
        return;
    };
    if samples.is_empty() {
        return no_data(slo, outcome, options);
    }
    if let Some(label) = missing_group_label(slo, &samples) {
        outcome.reason = Some(Reason::GroupLabelMissing);
        outcome.detail = format!(
            "label '{label}' in 'by' is on none of the series, so every series fell into one \
             group; check its spelling"
        );
        return;
    }

    let groups = judge_groups(slo, answers, &samples, options);
    summarise_groups(slo, groups, outcome);
    if let Some(presence) = &answers.numerator_presence {
        apply_presence(presence, outcome);
    }
    apply_warnings(slo, &warnings, options, outcome);
}

/// A ratio's numerator that matched nothing reads as zero, as a counter
/// that has not counted yet should. A likely typo is different: a metric
/// with no series at all, a label no series carries, or a value close to
/// one that exists. Those make the SLO inconclusive; a value that simply
/// never occurred is noted.
fn apply_presence(presence: &Presence, outcome: &mut SloOutcome) {
    let (problems, notices) = presence_problems(presence);
    outcome.notices.extend(notices);
    let already_unknown = outcome.verdict == Verdict::Inconclusive
        && outcome
            .reason
            .is_some_and(|reason| reason != Reason::NoData);
    if problems.is_empty() || already_unknown {
        return;
    }
    outcome.verdict = Verdict::Inconclusive;
    outcome.reason = Some(Reason::NoData);
    outcome.detail = format!(
        "the errors side of the ratio matched nothing and would read as 0: {}",
        problems.join("; ")
    );
}

/// What a selector that matched nothing says about itself: likely typos
/// (a metric with no series, a label no series carries, a value close to
/// one that exists), and notes for values that simply never occurred.
pub fn presence_problems(presence: &Presence) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut notices = Vec::new();
    if presence.separate_metric && !presence.metric_exists {
        problems.push(format!(
            "no series named {} in the window (a misspelt name, or a counter that does not \
             exist until its first event: initialise it at 0 in the service)",
            presence.metric
        ));
    }
    for (matcher, seen) in &presence.labels {
        if !presence.metric_exists {
            continue;
        }
        let label = &matcher.name;
        let shown = matcher.to_string();
        // A matcher that holds for a missing label (!=, !~, or a regex that
        // matches "") cannot point at a misspelt label name.
        if seen.is_empty() {
            if !matcher.matches("") {
                problems.push(format!(
                    "no series of {} has a '{label}' label ({shown})",
                    presence.metric
                ));
            }
            continue;
        }
        if seen.iter().any(|value| matcher.matches(value)) {
            continue;
        }
        let candidates: Vec<&str> = seen.iter().map(String::as_str).collect();
        let wanted = literal_alternatives(matcher);
        let close: Vec<(&str, &str)> = wanted
            .iter()
            .filter_map(|wanted| {
                likely_meant(wanted, &candidates).map(|close| (wanted.as_str(), close))
            })
            .collect();
        if let Some((typed, meant)) = close.first() {
            problems.push(format!(
                "no series has {shown}; \"{typed}\" looks like a misspelling of \"{meant}\""
            ));
        } else {
            notices.push(format!(
                "no series of {} had {shown} in the window, counted as 0 (values seen: {})",
                presence.metric,
                seen.join(", ")
            ));
        }
    }
    (problems, notices)
}

/// The literal values a matcher asks for: its value for `=`, each
/// alternative of a regex made only of literals joined by `|`, nothing
/// for other regexes (`5..` cannot be misspelt in a way one can tell).
fn literal_alternatives(matcher: &crate::spec::selector::Matcher) -> Vec<String> {
    use crate::spec::selector::MatchKind;
    match matcher.kind {
        MatchKind::Equal => vec![matcher.value.clone()],
        MatchKind::Regex => {
            let literal = |text: &str| {
                !text.is_empty()
                    && text
                        .chars()
                        .all(|character| character.is_alphanumeric() || "_-:/ ".contains(character))
            };
            let alternatives: Vec<String> = matcher.value.split('|').map(str::to_string).collect();
            if alternatives.iter().all(|alternative| literal(alternative)) {
                alternatives
            } else {
                Vec::new()
            }
        }
        MatchKind::NotEqual | MatchKind::NotRegex => Vec::new(),
    }
}

/// An existing value `wanted` was probably meant to be: one edit away (or a
/// third of its length), or the same once letters that look like digits
/// are read as digits (`5OO`, `2l0`).
fn likely_meant<'a>(wanted: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let digits = |text: &str| -> String {
        text.chars()
            .map(|character| match character {
                'O' | 'o' => '0',
                'l' | 'I' | 'i' => '1',
                'S' | 's' => '5',
                other => other,
            })
            .collect()
    };
    let read_as_digits = candidates
        .iter()
        .find(|candidate| **candidate != wanted && digits(candidate) == digits(wanted))
        .copied();
    // Numbers a digit apart are different values, not typos: 500 is not a
    // misspelt 200, whatever their distance.
    if wanted.chars().all(|character| character.is_ascii_digit()) {
        return read_as_digits;
    }
    read_as_digits.or_else(|| {
        crate::spec::diagnostic::did_you_mean(wanted, candidates).filter(|close| *close != wanted)
    })
}

/// An instant answer is for the window's end; a server (or proxy) that
/// answers for another time (its own "now", say) would judge other data.
fn wrong_time(result: &QueryResult, end: jiff::Timestamp) -> Option<String> {
    let expected = end.as_millisecond() as f64 / 1000.0;
    let times: Vec<f64> = match &result.data {
        ResultData::Vector(samples) => samples.iter().map(|sample| sample.time).collect(),
        ResultData::Scalar(sample) => vec![sample.time],
        ResultData::Matrix(_) | ResultData::String(_) => Vec::new(),
    };
    let off = times
        .into_iter()
        .find(|time| (time - expected).abs() > 1.0)?;
    Some(format!(
        "the answer is for Unix time {off}, not for the window's end {expected}; the server \
         ignored the query's time"
    ))
}

/// The samples of the value answer, when its shape is one a judgement can
/// use. A hand-written query of the wrong shape is a spec error; a compiled
/// one answered in the wrong shape is the server's fault.
fn shaped_samples(slo: &Slo, data: &ResultData, outcome: &mut SloOutcome) -> Option<Vec<Sample>> {
    let hand_written = matches!(slo.indicator, Indicator::Promql(_));
    let compiled_shape_error = |outcome: &mut SloOutcome, what: String| {
        outcome.reason = Some(Reason::QueryError);
        outcome.detail = format!(
            "the server answered a compiled query with {what}, which that query cannot return; \
             query: {}",
            shorten(&outcome.query, 160)
        );
    };
    if !hand_written && matches!(data, ResultData::Scalar(_)) {
        compiled_shape_error(outcome, "a scalar".to_string());
        return None;
    }
    let samples = match samples_of(data) {
        Ok(samples) => samples,
        Err(kind) if hand_written => {
            outcome.reason = Some(Reason::UnsupportedResult);
            outcome.detail = format!(
                "the query returned a {kind}; it must return an instant vector or a scalar \
                 (wrap range vectors in a function such as rate())"
            );
            return None;
        }
        Err(kind) => {
            outcome.reason = Some(Reason::QueryError);
            outcome.detail = format!(
                "the server answered a compiled query with a {kind} where an instant vector \
                 belongs; query: {}",
                shorten(&outcome.query, 160)
            );
            return None;
        }
    };
    // A compiled query aggregates by the SLO's groups: its series carry
    // those labels and no others.
    if !hand_written
        && let Some(stray) = samples
            .iter()
            .find(|sample| sample.labels.keys().any(|name| !slo.by.contains(name)))
    {
        compiled_shape_error(
            outcome,
            format!("a series labelled {}", format_labels(&stray.labels)),
        );
        return None;
    }
    let grouped = !slo.by.is_empty() || slo.per_series;
    let mut seen = std::collections::BTreeSet::new();
    let duplicated = samples.iter().any(|sample| !seen.insert(&sample.labels));
    if (!grouped && samples.len() > 1) || duplicated {
        let listed: Vec<String> = samples
            .iter()
            .take(5)
            .map(|sample| format_labels(&sample.labels))
            .collect();
        let more = if samples.len() > 5 { ", …" } else { "" };
        let listed = format!("{}{more}", listed.join(", "));
        if hand_written && !duplicated {
            outcome.reason = Some(Reason::TooManySeries);
            outcome.detail = format!(
                "expected 1 series, got {} ({listed}); aggregate the query or set per_series: all",
                samples.len()
            );
        } else {
            outcome.reason = Some(Reason::QueryError);
            outcome.detail = format!(
                "the server answered with {} series ({listed}) where each group appears once; \
                 query: {}",
                samples.len(),
                shorten(&outcome.query, 160)
            );
        }
        return None;
    }
    Some(samples)
}

/// A `by` label that no series carries is almost always a typo: the SLO
/// would silently be judged as one group.
fn missing_group_label<'a>(slo: &'a Slo, samples: &[Sample]) -> Option<&'a str> {
    slo.by
        .iter()
        .find(|label| {
            samples
                .iter()
                .all(|sample| !sample.labels.contains_key(*label))
        })
        .map(String::as_str)
}

fn judge_groups(
    slo: &Slo,
    answers: &Answers,
    samples: &[Sample],
    options: &JudgeOptions,
) -> Vec<GroupOutcome> {
    let successful = |answer: &Option<Result<QueryResult, QueryError>>| {
        answer
            .as_ref()
            .and_then(|answer| answer.as_ref().ok())
            .cloned()
    };
    let events = successful(&answers.events).map(|result| by_labels(&result));
    let numerators = successful(&answers.numerator).map(|result| by_labels(&result));
    let buckets = successful(&answers.buckets).map(|result| buckets_by_group(&result));
    // A histogram whose _count series is dropped (by relabelling) still
    // counts its observations in the +Inf bucket.
    let from_buckets = |labels: &crate::prometheus::Labels| {
        let group = buckets.as_ref()?.get(labels)?;
        group
            .last()
            .filter(|(bound, _)| bound.is_infinite())
            .map(|(_, count)| *count)
    };
    let window_seconds = options.window.duration().as_secs_f64();

    samples
        .iter()
        .map(|sample| {
            let events = match &slo.indicator {
                Indicator::Rate(_) => Some(sample.value * window_seconds),
                Indicator::Increase(_) => Some(sample.value),
                Indicator::Latency(_) => events
                    .as_ref()
                    .and_then(|events| lookup(events, &sample.labels))
                    .or_else(|| from_buckets(&sample.labels)),
                _ => events
                    .as_ref()
                    .and_then(|events| lookup(events, &sample.labels)),
            };
            let evidence = Evidence {
                events,
                numerator: numerators
                    .as_ref()
                    .and_then(|map| lookup(map, &sample.labels)),
                buckets: buckets.as_ref().and_then(|map| map.get(&sample.labels)),
            };
            judge_group(slo, sample, &evidence)
        })
        .collect()
}

/// The SLO takes its worst group's verdict, value and reason.
fn summarise_groups(slo: &Slo, groups: Vec<GroupOutcome>, outcome: &mut SloOutcome) {
    let grouped = !slo.by.is_empty() || slo.per_series;
    let worst = worst_group(slo, &groups);
    outcome.verdict = worst.verdict;
    outcome.value = worst.value;
    outcome.reason = worst.reason;
    outcome.detail = if grouped {
        let alike = groups
            .iter()
            .filter(|group| group.verdict == worst.verdict)
            .count();
        let of = if groups.len() > 1 && worst.verdict != Verdict::Pass {
            format!(" ({alike} of {} groups)", groups.len())
        } else {
            String::new()
        };
        format!("{} {}{of}", format_labels(&worst.labels), worst.detail)
    } else {
        worst.detail.clone()
    };
    outcome.events = groups.iter().map(|group| group.events).sum::<Option<f64>>();
    if grouped {
        outcome.groups = groups;
    }
}

/// Server warnings mean the answer may not cover all the data: the value
/// is not trusted unless `--allow-partial` says to use it.
fn apply_warnings(
    slo: &Slo,
    warnings: &[String],
    options: &JudgeOptions,
    outcome: &mut SloOutcome,
) {
    if warnings.is_empty() {
        return;
    }
    if options.allow_partial {
        outcome.partial = true;
        if outcome.reason.is_none() {
            outcome.reason = Some(Reason::PartialResponse);
        }
        return;
    }
    let value = outcome.value.map_or("the value".to_string(), |value| {
        slo.indicator.unit().format(value)
    });
    outcome.verdict = Verdict::Inconclusive;
    outcome.reason = Some(Reason::PartialResponse);
    outcome.detail = format!(
        "the server warned that its answer may be incomplete ({}); {value} is not trusted \
         (--allow-partial uses it)",
        warnings.join("; ")
    );
}

struct Evidence<'a> {
    events: Option<f64>,
    numerator: Option<f64>,
    buckets: Option<&'a Vec<(f64, f64)>>,
}

fn judge_group(slo: &Slo, sample: &Sample, evidence: &Evidence<'_>) -> GroupOutcome {
    let unit = slo.indicator.unit();
    let value = sample.value;
    let noun = slo.indicator.event_noun();
    let mut group = GroupOutcome {
        labels: sample.labels.clone(),
        verdict: Verdict::Inconclusive,
        value: Some(value),
        reason: None,
        detail: String::new(),
        events: evidence.events,
    };

    // An explicit minimum comes first: zero events are too few, and no_data
    // must not turn them into a pass. Events that cannot be counted are not
    // enough either.
    if let Some(minimum) = slo.min_events {
        let counted = evidence.events.filter(|events| events.is_finite());
        let detail = match counted {
            None => Some(format!(
                "the number of {noun} in the window is unknown (its query returned no value), \
                 so min_events {} cannot be checked",
                significant(minimum)
            )),
            Some(events) if (0.0..minimum).contains(&events) => Some(format!(
                "only {} {noun} in window (min_events {})",
                format_count(events),
                significant(minimum)
            )),
            Some(_) => None,
        };
        if let Some(detail) = detail {
            group.reason = Some(Reason::TooFewEvents);
            group.detail = detail;
            return group;
        }
    }
    if value.is_nan() {
        group.reason = Some(Reason::Nan);
        group.detail = match (evidence.events, &slo.indicator) {
            (Some(0.0), Indicator::Ratio(_)) => {
                format!("value is NaN: no traffic: 0 {noun} in window")
            }
            (Some(0.0), _) => format!("value is NaN: 0 {noun} in window"),
            _ => "value is NaN (0/0 or an empty histogram)".to_string(),
        };
        apply_no_data_policy(slo, &mut group.verdict, &mut group.detail);
        return group;
    }
    // A gauge's infinite sample is a measurement, not a division: one
    // that misses the objective fails like any other value; one that would
    // meet it cannot be believed.
    let gauge = matches!(slo.indicator, Indicator::Gauge(_));
    if value.is_infinite() && gauge && slo.objective.holds(value) != Some(false) {
        group.reason = Some(Reason::InvalidData);
        group.detail = format!(
            "value is {}, which no real gauge reading is",
            unit.format(value)
        );
        return group;
    }
    if value.is_infinite() && !gauge {
        group.reason = Some(Reason::DivisionByZero);
        group.detail = format!(
            "value is {}: division by zero (a non-zero numerator over a zero denominator; \
             check that both sides select the same series)",
            unit.format(value)
        );
        return group;
    }
    // Where events are the denominator, zero of them means the value
    // describes nothing. A rate or increase of zero is a real measurement
    // (no dead letters).
    let denominator = !matches!(slo.indicator, Indicator::Rate(_) | Indicator::Increase(_));
    if denominator && evidence.events == Some(0.0) {
        group.reason = Some(Reason::TooFewEvents);
        group.detail = format!("0 {noun} in window");
        return group;
    }
    if let Some(problem) = impossible(slo, value, evidence) {
        group.reason = Some(Reason::InvalidData);
        group.detail = problem;
        return group;
    }

    let shown = unit.format(value);
    let objective = &slo.objective;
    group.verdict = match objective.holds(value) {
        Some(true) => match &slo.warning {
            Some(warning) if warning.holds(value) == Some(false) => {
                group.detail = format!(
                    "{shown} meets {} but misses warning {}",
                    objective.text, warning.text
                );
                Verdict::Warn
            }
            _ => {
                group.detail = format!("{shown} meets {}", objective.text);
                Verdict::Pass
            }
        },
        Some(false) => {
            group.detail = format!("{shown} misses {}", objective.text);
            Verdict::Fail
        }
        None => unreachable!("NaN is handled above"),
    };
    group
}

/// Data that cannot be true: a numerator larger than its total, or bucket
/// counts that shrink as `le` grows. The tolerance (0.1%, at least one
/// event) absorbs what is not an error: `increase()` extrapolates each series
/// on its own, and client libraries scrape a histogram's buckets one at a
/// time while observations land.
fn impossible(slo: &Slo, value: f64, evidence: &Evidence<'_>) -> Option<String> {
    let exceeds = |part: f64, whole: f64| part > whole + (whole.abs() * 1e-3).max(1.0);
    for (count, what) in [
        (evidence.events, slo.indicator.event_noun()),
        (evidence.numerator, "counted in the numerator"),
    ] {
        if let Some(count) = count
            && count < 0.0
        {
            return Some(format!(
                "{} {what} in window; counts cannot be negative",
                significant(count)
            ));
        }
    }
    let unit = slo.indicator.unit();
    if value < 0.0 && !matches!(unit, crate::spec::Unit::Number) {
        return Some(format!(
            "a value of {} cannot be; values in {} are never negative",
            unit.format(value),
            unit.name()
        ));
    }
    if let (Some(numerator), Some(total)) = (evidence.numerator, evidence.events) {
        let (part, whole) = match &slo.indicator {
            Indicator::Ratio(ratio) => match ratio.kind {
                RatioKind::Good => ("good events", "total"),
                RatioKind::Errors => ("errors", "total"),
            },
            Indicator::Latency(_) => ("observations under the bound", "all observations"),
            _ => ("numerator", "total"),
        };
        if exceeds(numerator, total) {
            return Some(format!(
                "{part} ({}) exceed {whole} ({}) in window; the counters cannot both be right",
                significant(numerator),
                significant(total)
            ));
        }
    }
    if slo.indicator.unit() == crate::spec::Unit::Ratio && !(-1e-9..=1.001).contains(&value) {
        return Some(format!(
            "a ratio of {} cannot be; shares lie between 0% and 100%",
            slo.indicator.unit().format(value)
        ));
    }
    let buckets = evidence.buckets?;
    for pair in buckets.windows(2) {
        let ((lower_le, lower), (upper_le, upper)) = (pair[0], pair[1]);
        if exceeds(lower, upper) {
            return Some(format!(
                "bucket le={} grew by {} but le={} by only {}; cumulative buckets cannot shrink \
                 as le grows (an exporter bug or mixed series)",
                format_le(lower_le),
                significant(lower),
                format_le(upper_le),
                significant(upper)
            ));
        }
    }
    None
}

/// Event counts from `increase()` are extrapolated and rarely whole; people
/// count events in whole numbers.
fn format_count(events: f64) -> String {
    if events >= 1.0 {
        format!("{events:.0}")
    } else {
        significant(events)
    }
}

fn format_le(le: f64) -> String {
    if le.is_infinite() {
        "+Inf".to_string()
    } else {
        format!("{le}")
    }
}

fn worst_group<'a>(slo: &Slo, groups: &'a [GroupOutcome]) -> &'a GroupOutcome {
    let upper = slo.objective.comparator.is_upper_bound();
    groups
        .iter()
        .max_by(|left, right| {
            left.verdict.cmp(&right.verdict).then_with(|| {
                let (left, right) = (
                    left.value.unwrap_or(f64::NAN),
                    right.value.unwrap_or(f64::NAN),
                );
                let order = left
                    .partial_cmp(&right)
                    .unwrap_or(std::cmp::Ordering::Equal);
                if upper { order } else { order.reverse() }
            })
        })
        .expect("judged only when there is at least one group")
}

fn no_data(slo: &Slo, outcome: &mut SloOutcome, options: &JudgeOptions) {
    outcome.reason = Some(Reason::NoData);
    let mut detail = format!(
        "no series returned for {} (no data)",
        options.window.describe()
    );
    let short = options.window.duration() <= std::time::Duration::from_secs(120);
    if short && !options.scrape_interval_known {
        detail.push_str(&format!(
            "; a window of {} may hold fewer than two samples per series: pass \
             --scrape-interval to check",
            crate::time::format_duration(options.window.duration())
        ));
    }
    outcome.verdict = Verdict::Inconclusive;
    apply_no_data_policy(slo, &mut outcome.verdict, &mut detail);
    outcome.detail = detail;
}

fn apply_no_data_policy(slo: &Slo, verdict: &mut Verdict, detail: &mut String) {
    *verdict = match slo.no_data {
        NoData::Inconclusive => Verdict::Inconclusive,
        NoData::Fail => Verdict::Fail,
        NoData::Pass => Verdict::Pass,
    };
    if slo.no_data != NoData::Inconclusive {
        detail.push_str(&format!(" (no_data: {})", slo.no_data.name()));
    }
}

fn query_failed(outcome: &mut SloOutcome, which: &str, query: &str, error: &QueryError) {
    outcome.verdict = Verdict::Inconclusive;
    outcome.reason = Some(Reason::QueryError);
    let which = if which.is_empty() {
        String::new()
    } else {
        format!("{which} ")
    };
    outcome.detail = format!(
        "{which}query failed: {error}; query: {}",
        shorten(query, 160)
    );
}

/// Error budget use for ratio SLOs: the error ratio over the allowed ratio,
/// and the share of the period's budget this window spent.
fn budget(slo: &Slo, value: Option<f64>, window: Window) -> Option<Budget> {
    let value = value.filter(|value| value.is_finite())?;
    let kind = match &slo.indicator {
        Indicator::Ratio(ratio) => ratio.kind,
        Indicator::Latency(latency) if matches!(latency.target, LatencyTarget::Under { .. }) => {
            RatioKind::Good
        }
        _ => return None,
    };
    let upper = slo.objective.comparator.is_upper_bound();
    let (error_ratio, allowed) = match (kind, upper) {
        (RatioKind::Errors, true) => (value, slo.objective.limit),
        (RatioKind::Good, false) => (1.0 - value, 1.0 - slo.objective.limit),
        _ => return None,
    };
    if allowed <= 0.0 {
        return None;
    }
    let burn_rate = error_ratio / allowed;
    Some(Budget {
        burn_rate,
        consumed: burn_rate * window.duration().as_secs_f64() / slo.budget_period.as_secs_f64(),
        period: slo.budget_period,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;

    use super::*;
    use crate::compile::{CompileOptions, compile};
    use crate::eval::Verification;
    use crate::prometheus::{Labels, ResultData};

    fn window() -> Window {
        let end: jiff::Timestamp = "2026-12-04T10:10:00Z".parse().expect("valid");
        Window {
            start: end - jiff::SignedDuration::from_secs(600),
            end,
        }
    }

    fn compiled(indicator: &str, objective: &str) -> CompiledSlo {
        let text = format!(
            "service: checkout\nslos:\n  - name: checkout\n    indicator: {indicator}\n    objective: \"{objective}\"\n"
        );
        let services = crate::spec::load_text(Path::new("slo.yaml"), &text)
            .unwrap_or_else(|errors| panic!("{:?}", errors.diagnostics))
            .services;
        compile(&services[0].slos[0], &window(), &CompileOptions::default()).expect("compiles")
    }

    fn vector(value: f64) -> Result<QueryResult, QueryError> {
        Ok(QueryResult {
            data: ResultData::Vector(vec![Sample {
                labels: Labels::new(),
                time: 1_796_379_000.0,
                value,
            }]),
            warnings: Vec::new(),
            infos: Vec::new(),
        })
    }

    fn answers(value: f64, events: Option<f64>, numerator: Option<f64>) -> Answers {
        Answers {
            value: vector(value),
            events: events.map(vector),
            numerator: numerator.map(vector),
            buckets: None,
            sustained: None,
            sustained_tail: None,
            preconditions: Vec::new(),
            numerator_presence: None,
        }
    }

    fn options() -> JudgeOptions {
        JudgeOptions {
            window: window(),
            allow_partial: false,
            scrape_interval_known: true,
        }
    }

    const GAUGE: &str = "{gauge: {metric: queue_depth}}";
    const QUERY: &str = "{promql: {query: 'sum(rate(x_total[${window}]))'}}";
    const RATIO: &str = "{ratio: {good: 'requests_total{code!~\"5..\"}', total: requests_total}}";

    proptest! {
        /// C02: a NaN value never yields pass or fail, whatever the
        /// comparator and limit.
        #[test]
        fn nan_is_never_pass_or_fail(limit in -1e6f64..1e6, comparator in 0usize..5) {
            let symbol = ["<", "<=", ">", ">=", "=="][comparator];
            let slo = compiled(QUERY, &format!("{symbol} {limit}"));
            let outcome = judge(&slo, answers(f64::NAN, None, None), &options());
            prop_assert_eq!(outcome.verdict, Verdict::Inconclusive);
            prop_assert_eq!(outcome.reason, Some(Reason::Nan));
        }
    }

    #[test]
    fn values_meet_or_miss_the_objective() {
        let cases = [
            (
                "below an upper bound passes",
                "< 1000",
                407.0,
                Verdict::Pass,
            ),
            (
                "at a strict upper bound fails",
                "< 1000",
                1000.0,
                Verdict::Fail,
            ),
            (
                "at an inclusive upper bound passes",
                "<= 1000",
                1000.0,
                Verdict::Pass,
            ),
            ("above a lower bound passes", ">= 2", 3.0, Verdict::Pass),
            ("equality holds only exactly", "== 0", 0.5, Verdict::Fail),
        ];
        for (why, objective, value, verdict) in cases {
            // A gauge refuses '=='; a hand-written query takes it.
            let indicator = if objective.starts_with("==") {
                QUERY
            } else {
                GAUGE
            };
            let outcome = judge(
                &compiled(indicator, objective),
                answers(value, Some(40.0), None),
                &options(),
            );
            assert_eq!(outcome.verdict, verdict, "{why}");
        }
    }

    /// C14: objective 99.9%, 0.5% errors in a 10-minute test: burn rate 5,
    /// and 5 × 10 min / 43,200 min = 0.116% of a 30-day budget.
    #[test]
    fn burn_rate_and_budget_use() {
        let slo = compiled(RATIO, ">= 99.9%");
        let outcome = judge(
            &slo,
            answers(0.995, Some(10_000.0), Some(9_950.0)),
            &options(),
        );
        assert_eq!(outcome.verdict, Verdict::Fail);
        let budget = outcome.budget.expect("ratio SLOs have a budget");
        assert!(
            (budget.burn_rate - 5.0).abs() < 1e-9,
            "{}",
            budget.burn_rate
        );
        assert!(
            (budget.consumed - 5.0 * 10.0 / 43_200.0).abs() < 1e-12,
            "{}",
            budget.consumed
        );
        assert_eq!(format!("{:.3}%", budget.consumed * 100.0), "0.116%");
    }

    #[test]
    fn good_events_above_total_are_invalid() {
        let slo = compiled(RATIO, ">= 99%");
        let outcome = judge(&slo, answers(1.2, Some(1000.0), Some(1200.0)), &options());
        assert_eq!(outcome.verdict, Verdict::Inconclusive);
        assert_eq!(outcome.reason, Some(Reason::InvalidData));
    }

    #[test]
    fn failed_query_is_inconclusive_with_the_servers_words() {
        let slo = compiled(GAUGE, "< 1000");
        let mut given = answers(0.0, Some(40.0), None);
        given.value = Err(QueryError::Api {
            status: 422,
            error_type: "execution".into(),
            message: "query processing would load too many samples into memory".into(),
        });
        let outcome = judge(&slo, given, &options());
        assert_eq!(outcome.reason, Some(Reason::QueryError));
        assert!(
            outcome
                .detail
                .contains("execution: query processing would load too many samples")
        );
        assert!(
            outcome
                .detail
                .contains("max(max_over_time(queue_depth[600s]))")
        );
    }

    /// C22: fail outranks inconclusive, which outranks pass; a spec error
    /// found at run time exits 3 unless something definitely failed.
    #[test]
    fn roll_up_takes_the_most_severe() {
        let slo = compiled(GAUGE, "< 1000");
        let pass = judge(&slo, answers(1.0, Some(40.0), None), &options());
        let fail = judge(&slo, answers(2000.0, Some(40.0), None), &options());
        let unknown = judge(&slo, answers(f64::NAN, Some(40.0), None), &options());

        let fail_again = fail.clone();
        let mixed = Verification::new(window(), vec![pass.clone(), unknown.clone(), fail], false);
        assert_eq!((mixed.verdict, mixed.exit_code), (Verdict::Fail, 1));
        let unsure = Verification::new(window(), vec![pass.clone(), unknown], false);
        assert_eq!(
            (unsure.verdict, unsure.exit_code),
            (Verdict::Inconclusive, 2)
        );

        let mut spec_error = pass.clone();
        spec_error.verdict = Verdict::Inconclusive;
        spec_error.reason = Some(Reason::TooManySeries);
        let with_failure = Verification::new(window(), vec![spec_error.clone(), fail_again], false);
        assert_eq!(
            with_failure.exit_code, 1,
            "a definite failure wins over a spec error"
        );
        assert_eq!(
            Verification::new(window(), vec![pass, spec_error], false).exit_code,
            3
        );
    }

    #[test]
    fn no_data_policy_decides_only_missing_data() {
        let text = "service: checkout\nslos:\n  - name: checkout\n    indicator: {gauge: {metric: queue_depth}}\n    objective: \"< 1000\"\n    no_data: pass\n";
        let services = crate::spec::load_text(Path::new("slo.yaml"), text)
            .expect("valid")
            .services;
        let slo =
            compile(&services[0].slos[0], &window(), &CompileOptions::default()).expect("compiles");

        let mut empty = answers(0.0, None, None);
        empty.value = Ok(QueryResult {
            data: ResultData::Vector(Vec::new()),
            warnings: Vec::new(),
            infos: Vec::new(),
        });
        let outcome = judge(&slo, empty, &options());
        assert_eq!(
            (outcome.verdict, outcome.reason),
            (Verdict::Pass, Some(Reason::NoData))
        );
        assert!(
            outcome.detail.ends_with("(no_data: pass)"),
            "{}",
            outcome.detail
        );

        let mut failed = answers(0.0, None, None);
        failed.value = Err(QueryError::Timeout("30s".into()));
        let outcome = judge(&slo, failed, &options());
        assert_eq!(
            outcome.verdict,
            Verdict::Inconclusive,
            "a timeout is never excused by no_data"
        );
    }

    #[test]
    fn letters_read_as_digits_are_misspellings() {
        assert_eq!(super::likely_meant("5OO", &["200", "500"]), Some("500"));
        assert_eq!(super::likely_meant("52O", &["520"]), Some("520"));
        assert_eq!(super::likely_meant("404", &["200", "500"]), None);
    }

    #[test]
    fn numbers_a_digit_apart_are_not_misspellings() {
        // No 500s yet while 200s are counted is the good case.
        assert_eq!(super::likely_meant("500", &["200"]), None);
        assert_eq!(super::likely_meant("503", &["502", "504"]), None);
        assert_eq!(super::likely_meant("eror", &["error", "ok"]), Some("error"));
    }
}
