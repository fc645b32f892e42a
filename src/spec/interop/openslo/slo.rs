//! OpenSLO `kind: SLO` documents: read when their file is, joined to their
//! indicator once every file is read.
//!
//! Objectives map onto the native ones exactly: a ratio's `target: 0.999`
//! is `>= 99.9%` of good events, or `<= 0.1%` of bad ones; a threshold
//! metric's `op: lt` and `value: 1000` is `< 1000` on the gauge's peak over
//! the window (`min` for `gt`/`gte`).

use std::collections::BTreeMap;
use std::time::Duration;

use saphyr::MarkedYaml;
use saphyr_parser::Span;

use super::indicator::Sli;
use super::{Metadata, NamedSli, decode_inline_sli, find_sli};
use crate::spec::diagnostic::{Location, SourceFile, SpecDiagnostic};
use crate::spec::fields::identifier;
use crate::spec::interop::decimal::Decimal;
use crate::spec::interop::{DEFAULT_BUDGET_PERIOD, translated_objective, translated_slo};
use crate::spec::yaml::{Context, Fields};
use crate::spec::{Comparator, Gauge, GaugeAggregate, Indicator, RatioKind, Slo, Unit};
use crate::time::{format_duration, parse_duration};

const SPEC_FIELDS: &[&str] = &[
    "description",
    "service",
    "indicator",
    "indicatorRef",
    "timeWindow",
    "budgetingMethod",
    "objectives",
    "alertPolicies",
];
const OBJECTIVE_FIELDS: &[&str] = &[
    "displayName",
    "op",
    "value",
    "target",
    "targetPercent",
    "timeSliceTarget",
    "timeSliceWindow",
];
const WINDOW_FIELDS: &[&str] = &["duration", "isRolling", "calendar"];

/// An SLO document read, waiting for its indicator.
pub(super) struct PendingSlo {
    source: SourceFile,
    location: Location,
    name: String,
    service: String,
    description: Option<String>,
    display_name: Option<String>,
    labels: BTreeMap<String, String>,
    budget_period: Duration,
    indicator: IndicatorSource,
    objective: TargetObjective,
}

enum IndicatorSource {
    /// `spec.indicator`, already read (`None`: its problems are reported).
    Inline(Option<(Sli, Option<String>)>),
    /// `spec.indicatorRef`: an SLI's name.
    Reference { name: String, span: Span },
}

/// One objective as written: the target as a percent, and a threshold
/// metric's comparison.
struct TargetObjective {
    span: Span,
    percent: Decimal,
    target_span: Span,
    op: Option<(Comparator, Span)>,
    value: Option<(String, Span)>,
}

/// Reads an SLO document's spec.
pub(super) fn collect(
    context: &mut Context<'_>,
    metadata: &Metadata,
    spec: &MarkedYaml<'_>,
) -> Option<PendingSlo> {
    let what = format!("OpenSLO SLO '{}'", metadata.name);
    let fields = context.fields(spec, &format!("the spec of {what}"), SPEC_FIELDS)?;
    let service = context
        .required(&fields, "service", &what, "service: summit-api")
        .and_then(|node| identifier(context, node, "the service name"));
    let description = fields
        .get("description")
        .and_then(|node| context.text(node, "description"))
        .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "));
    let indicator = decode_indicator_source(context, &fields, &what);
    let budgeting = decode_budgeting(context, &fields, &what);
    let budget_period = fields
        .get("timeWindow")
        .map_or(DEFAULT_BUDGET_PERIOD, |node| {
            decode_time_window(context, node, &what)
        });
    let objective = decode_objectives(context, &fields, &what);
    if let Some(span) = fields.key_span("alertPolicies") {
        context.warn(
            span,
            "spec::openslo::alert-policies",
            format!(
                "{what}: alertPolicies are not translated: `summit-slo rules` writes its own \
                 burn-rate alerts"
            ),
            "not translated",
        );
    }
    budgeting?;
    Some(PendingSlo {
        source: context.source.clone(),
        location: context.location(metadata.span),
        name: metadata.name.clone(),
        service: service?,
        description,
        display_name: metadata.display_name.clone(),
        labels: metadata.labels.clone(),
        budget_period,
        indicator: indicator?,
        objective: objective?,
    })
}

impl PendingSlo {
    /// The native SLO, once its indicator is known.
    pub(super) fn resolve(
        &self,
        slis: &[NamedSli],
        diagnostics: &mut Vec<SpecDiagnostic>,
    ) -> Option<Slo> {
        let what = format!("OpenSLO SLO '{}'", self.name);
        let (sli, sli_description) = match &self.indicator {
            IndicatorSource::Inline(sli) => sli.clone()?,
            IndicatorSource::Reference { name, span } => {
                let location = Context {
                    source: &self.source,
                    diagnostics,
                }
                .location(*span);
                find_sli(slis, name, &what, location, diagnostics)?
                    .sli
                    .clone()?
            }
        };
        let mut context = Context {
            source: &self.source,
            diagnostics,
        };
        let (indicator, by, objective) = self.objective(&mut context, sli, &what)?;
        let description = self
            .description
            .clone()
            .or(sli_description)
            .or_else(|| self.display_name.clone());
        Some(Slo {
            description,
            labels: self.labels.clone(),
            by,
            budget_period: self.budget_period,
            ..translated_slo(
                self.service.clone(),
                self.name.clone(),
                indicator,
                objective,
                self.location.clone(),
            )
        })
    }

    fn objective(
        &self,
        context: &mut Context<'_>,
        sli: Sli,
        what: &str,
    ) -> Option<(Indicator, Vec<String>, crate::spec::Objective)> {
        let target = &self.objective;
        match sli {
            Sli::Ratio { ratio, by } => {
                if let Some(span) = target
                    .op
                    .map(|(_, span)| span)
                    .or(target.value.as_ref().map(|(_, span)| *span))
                {
                    context.report(
                        span,
                        "spec::openslo::threshold-on-ratio",
                        format!("{what}: 'op' and 'value' apply to threshold metrics only"),
                        "not for a ratio",
                        Some("a ratio's objective is its target: target: 0.999".into()),
                    );
                    return None;
                }
                let text = match ratio.kind {
                    RatioKind::Good => format!(">= {}%", target.percent),
                    RatioKind::Errors => format!(
                        "<= {}%",
                        target
                            .percent
                            .complement(100)
                            .expect("targets are at most 100%")
                    ),
                };
                let indicator = Indicator::Ratio(ratio);
                let objective =
                    translated_objective(context, target.target_span, &text, &indicator, what)?;
                Some((indicator, by, objective))
            }
            Sli::Threshold {
                metric,
                selector,
                unit,
            } => {
                let (Some((comparator, _)), Some((value, value_span))) = (target.op, &target.value)
                else {
                    context.report(
                        target.span,
                        "spec::openslo::threshold-needs-op",
                        format!("{what}: a threshold metric's objective needs 'op' and 'value'"),
                        "no comparison",
                        Some("op: lt, value: 1000 reads 'below 1000'".into()),
                    );
                    return None;
                };
                // The worst sample decides: the peak against an upper bound,
                // the lowest value against a lower one.
                let (aggregate, extreme) = if comparator.is_upper_bound() {
                    (GaugeAggregate::Max, "peak")
                } else {
                    (GaugeAggregate::Min, "lowest value")
                };
                let suffix = match unit {
                    Unit::Seconds => "s",
                    Unit::Milliseconds => "ms",
                    _ => "",
                };
                let text = format!("{} {value}{suffix}", comparator.symbol());
                let indicator = Indicator::Gauge(Gauge {
                    metric,
                    selector,
                    aggregate,
                    unit,
                });
                let objective =
                    translated_objective(context, *value_span, &text, &indicator, what)?;
                if target.percent.is_below(100) {
                    context.warn(
                        target.target_span,
                        "spec::openslo::threshold-target",
                        format!(
                            "{what}: target {}% is judged as 100%: the gauge's {extreme} over the \
                             window must meet '{text}', so every sample counts",
                            target.percent
                        ),
                        "judged as 100%",
                    );
                }
                Some((indicator, Vec::new(), objective))
            }
        }
    }
}

fn decode_indicator_source(
    context: &mut Context<'_>,
    fields: &Fields<'_, '_>,
    what: &str,
) -> Option<IndicatorSource> {
    let (which, node) = context.one_of(
        fields,
        ["indicator", "indicatorRef"],
        what,
        "spec::openslo::indicator-and-ref",
        "indicatorRef: the name of a kind: SLI document",
    )?;
    if which == 0 {
        return Some(IndicatorSource::Inline(decode_inline_sli(
            context, node, what,
        )));
    }
    Some(IndicatorSource::Reference {
        name: context.text(node, "indicatorRef")?,
        span: node.span,
    })
}

fn decode_budgeting(context: &mut Context<'_>, fields: &Fields<'_, '_>, what: &str) -> Option<()> {
    let node = context.required(
        fields,
        "budgetingMethod",
        what,
        "budgetingMethod: Occurrences",
    )?;
    let method = context.text(node, "budgetingMethod")?;
    match method.as_str() {
        "Occurrences" => Some(()),
        "Timeslices" | "RatioTimeslices" => {
            context.report(
                node.span,
                "spec::openslo::timeslices",
                format!("{what}: budgetingMethod {method} is not translated"),
                "not translated",
                Some(
                    "summit-slo counts events over the window (Occurrences); time slices have \
                     no native equivalent"
                        .into(),
                ),
            );
            None
        }
        _ => {
            context.report(
                node.span,
                "spec::openslo::invalid-budgeting-method",
                format!("{what}: unknown budgetingMethod '{method}'"),
                "not a budgeting method",
                Some("use Occurrences".into()),
            );
            None
        }
    }
}

/// A rolling window's duration becomes the error budget period; anything
/// else keeps the native default with a warning, since the period only
/// scales the budget figures in reports.
fn decode_time_window(context: &mut Context<'_>, node: &MarkedYaml<'_>, what: &str) -> Duration {
    let Some(items) = context.sequence(node, "timeWindow") else {
        return DEFAULT_BUDGET_PERIOD;
    };
    let [item] = items else {
        context.report(
            node.span,
            "spec::openslo::time-window",
            format!("{what}: timeWindow must hold exactly one window"),
            "one window",
            Some("timeWindow: [{duration: 28d, isRolling: true}]".into()),
        );
        return DEFAULT_BUDGET_PERIOD;
    };
    let Some(fields) = context.fields(item, "a timeWindow", WINDOW_FIELDS) else {
        return DEFAULT_BUDGET_PERIOD;
    };
    let default = format_duration(DEFAULT_BUDGET_PERIOD);
    let rolling = fields.get("isRolling").map(|node| node.data.as_bool());
    if fields.get("calendar").is_some() || rolling == Some(Some(false)) {
        context.warn(
            item.span,
            "spec::openslo::calendar-window",
            format!(
                "{what}: a calendar-aligned timeWindow is not translated: the error budget is \
                 counted over a rolling {default}"
            ),
            "not translated",
        );
        return DEFAULT_BUDGET_PERIOD;
    }
    let Some(duration_node) =
        context.required(&fields, "duration", "a timeWindow", "duration: 28d")
    else {
        return DEFAULT_BUDGET_PERIOD;
    };
    let Some(text) = context.text(duration_node, "duration") else {
        return DEFAULT_BUDGET_PERIOD;
    };
    let period = shorthand_duration(&text);
    match period {
        Some(period) if period >= Duration::from_secs(3600) => period,
        _ => {
            context.warn(
                duration_node.span,
                "spec::openslo::time-window-not-translated",
                format!(
                    "{what}: timeWindow '{text}' is not translated (a whole number of minutes, \
                     hours, days, weeks or years, at least 1h): the error budget is counted over \
                     {default}"
                ),
                "not translated",
            );
            DEFAULT_BUDGET_PERIOD
        }
    }
}

/// OpenSLO's duration shorthand; months and quarters have no fixed length.
fn shorthand_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let number = &text[..text.len() - unit.len_utf8()];
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match unit {
        'm' | 'h' | 'd' | 'w' => parse_duration(text).ok(),
        'Y' => parse_duration(&format!(
            "{}d",
            number.parse::<u64>().ok()?.checked_mul(365)?
        ))
        .ok(),
        _ => None,
    }
}

fn decode_objectives(
    context: &mut Context<'_>,
    fields: &Fields<'_, '_>,
    what: &str,
) -> Option<TargetObjective> {
    let node = context.required(fields, "objectives", what, "objectives: [{target: 0.999}]")?;
    let items = context.sequence(node, "objectives")?;
    let item = match items {
        [item] => item,
        [] => {
            context.report(
                node.span,
                "spec::openslo::objectives-count",
                format!("{what} lists no objectives"),
                "empty list",
                Some("objectives: [{target: 0.999}]".into()),
            );
            return None;
        }
        [_, second, ..] => {
            context.report(
                second.span,
                "spec::openslo::objectives-count",
                format!("{what} has several objectives; summit-slo judges one per SLO"),
                "second objective",
                Some("write one SLO per objective".into()),
            );
            return None;
        }
    };
    let fields = context.fields(item, &format!("the objective of {what}"), OBJECTIVE_FIELDS)?;
    for key in ["timeSliceTarget", "timeSliceWindow"] {
        if let Some(span) = fields.key_span(key) {
            context.warn(
                span,
                "spec::openslo::time-slice-field",
                format!("{what}: {key} is not used: it applies to Timeslices budgeting only"),
                "not used",
            );
        }
    }
    let op = fields
        .get("op")
        .and_then(|node| decode_op(context, node, what));
    let value = fields.get("value").and_then(|node| {
        context.number(node, "value")?;
        Some((context.raw(node).trim().to_string(), node.span))
    });
    let (percent, target_span) = decode_target(context, &fields, what)?;
    if fields.get("op").is_some() && op.is_none()
        || fields.get("value").is_some() && value.is_none()
    {
        return None;
    }
    Some(TargetObjective {
        span: item.span,
        percent,
        target_span,
        op,
        value,
    })
}

fn decode_op(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    what: &str,
) -> Option<(Comparator, Span)> {
    let comparator = match context.text(node, "op")?.as_str() {
        "lt" => Comparator::Less,
        "lte" => Comparator::LessOrEqual,
        "gt" => Comparator::Greater,
        "gte" => Comparator::GreaterOrEqual,
        other => {
            context.report(
                node.span,
                "spec::openslo::invalid-op",
                format!("{what}: unknown op '{other}'"),
                "not an op",
                Some("use lt, lte, gt or gte".into()),
            );
            return None;
        }
    };
    Some((comparator, node.span))
}

/// `target` (a ratio below 1) or `targetPercent` (below 100), as a percent.
fn decode_target(
    context: &mut Context<'_>,
    fields: &Fields<'_, '_>,
    what: &str,
) -> Option<(Decimal, Span)> {
    let (which, node) = context.one_of(
        fields,
        ["target", "targetPercent"],
        &format!("the objective of {what}"),
        "spec::openslo::target-and-percent",
        "target: 0.999 (or targetPercent: 99.9)",
    )?;
    let whole = if which == 0 { 1 } else { 100 };
    let text = context.text(node, "target")?;
    let decimal = Decimal::parse(&text).filter(|decimal| decimal.is_below(whole) || whole == 100);
    match decimal {
        Some(decimal) if whole == 1 => Some((decimal.percent(), node.span)),
        Some(decimal) if decimal.complement(100).is_some() => Some((decimal, node.span)),
        _ => {
            let (name, range) = if whole == 1 {
                (
                    "target",
                    "a ratio from 0 up to (not including) 1, such as 0.999",
                )
            } else {
                ("targetPercent", "a percent from 0 to 100, such as 99.9")
            };
            context.report(
                node.span,
                "spec::openslo::invalid-target",
                format!("{what}: {name} '{text}' is not {range}"),
                "out of range",
                None,
            );
            None
        }
    }
}
