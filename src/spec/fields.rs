//! Decoders for the SLO fields that stand on their own: grouping labels,
//! sustained mode, event minimums, the no-data policy, names, labels and
//! durations.

use std::collections::BTreeMap;
use std::time::Duration;

use saphyr::MarkedYaml;

use super::selector::is_label_name;
use super::yaml::{Context, Fields};
use super::{Indicator, NoData, Sustained};
use crate::time::{format_duration, parse_duration};

const SUSTAINED_FIELDS: &[&str] = &["step", "range"];

pub(super) fn decode_by(
    context: &mut Context<'_>,
    fields: &Fields<'_, '_>,
    indicator: Option<&Indicator>,
    what: &str,
) -> Option<Vec<String>> {
    let Some(node) = fields.get("by") else {
        return Some(Vec::new());
    };
    if let Some(Indicator::Promql(_)) = indicator {
        context.report(
            node.span,
            "spec::by-with-promql",
            format!("{what}: 'by' cannot regroup a hand-written query"),
            "not for promql indicators",
            Some("group inside the query (sum by (label) (…)) and set 'per_series: all'".into()),
        );
        return None;
    }
    let items = context.sequence(node, "'by'")?;
    let mut labels: Vec<String> = Vec::new();
    let mut complete = true;
    for item in items {
        let Some(label) = context.text(item, "a label name in 'by'") else {
            complete = false;
            continue;
        };
        let problem = if !is_label_name(&label) {
            Some("is not a valid label name")
        } else if label == "le" {
            Some("is the histogram bucket label and cannot be a group")
        } else if labels.contains(&label) {
            Some("is listed twice")
        } else {
            None
        };
        match problem {
            Some(problem) => {
                context.report(
                    item.span,
                    "spec::invalid-by",
                    format!("{what}: '{label}' {problem}"),
                    "this label",
                    None,
                );
                complete = false;
            }
            None => labels.push(label),
        }
    }
    complete.then_some(labels)
}

pub(super) fn decode_sustained(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    what: &str,
) -> Option<Sustained> {
    let fields = context.fields(node, &format!("'sustained' of {what}"), SUSTAINED_FIELDS)?;
    let step = fields
        .get("step")
        .map(|node| duration_field(context, node, "step").ok_or(()))
        .transpose()
        .ok()?;
    let range = fields
        .get("range")
        .map(|node| duration_field(context, node, "range").ok_or(()))
        .transpose()
        .ok()?;
    for (name, value) in [("step", step), ("range", range)] {
        if value.is_some_and(|value| value < Duration::from_secs(1)) {
            let node = fields.get(name).expect("present when it has a value");
            context.report(
                node.span,
                "spec::invalid-sustained",
                format!("{what}: sustained {name} must be at least 1s"),
                "too short",
                None,
            );
            return None;
        }
    }
    if let (Some(step), Some(range)) = (step, range)
        && range < step
    {
        let node = fields.get("range").expect("present when it has a value");
        context.report(
            node.span,
            "spec::sustained-gaps",
            format!(
                "{what}: sustained range {} is shorter than its step {}",
                format_duration(range),
                format_duration(step)
            ),
            "parts of the window would go unchecked",
            Some("each step judges [range] of data; a range at least as long as the step covers the whole window".into()),
        );
        return None;
    }
    Some(Sustained { step, range })
}

pub(super) fn decode_min_events(
    context: &mut Context<'_>,
    fields: &Fields<'_, '_>,
    what: &str,
) -> Option<Option<f64>> {
    let Some(node) = fields.get("min_events") else {
        return Some(None);
    };
    let value = context.number(node, "min_events")?;
    if value < 1.0 {
        context.report(
            node.span,
            "spec::invalid-min-events",
            format!("{what}: min_events must be at least 1"),
            "too small",
            Some("min_events counts whole events: use 1 or more, or leave it out".into()),
        );
        return None;
    }
    Some(Some(value))
}

pub(super) fn decode_no_data(
    context: &mut Context<'_>,
    fields: &Fields<'_, '_>,
    what: &str,
) -> Option<NoData> {
    let Some(node) = fields.get("no_data") else {
        return Some(NoData::Inconclusive);
    };
    let text = context.text(node, "no_data")?;
    match text.as_str() {
        "inconclusive" => Some(NoData::Inconclusive),
        "fail" => Some(NoData::Fail),
        "pass" => Some(NoData::Pass),
        _ => {
            context.report(
                node.span,
                "spec::invalid-no-data",
                format!("{what}: no_data must be inconclusive, fail or pass"),
                "unknown choice",
                None,
            );
            None
        }
    }
}

pub(super) fn decode_per_series(
    context: &mut Context<'_>,
    fields: &Fields<'_, '_>,
    indicator: Option<&Indicator>,
    what: &str,
) -> Option<bool> {
    let Some(node) = fields.get("per_series") else {
        return Some(false);
    };
    let text = context.text(node, "per_series")?;
    let all = match text.as_str() {
        "all" => true,
        "none" => false,
        _ => {
            context.report(
                node.span,
                "spec::invalid-per-series",
                format!("{what}: per_series must be 'all' or 'none'"),
                "unknown choice",
                Some("'all' judges every series the query returns; each must pass".into()),
            );
            return None;
        }
    };
    if all && !matches!(indicator, Some(Indicator::Promql(_)) | None) {
        context.report(
            node.span,
            "spec::per-series-compiled",
            format!("{what}: per_series applies to promql indicators only"),
            "compiled indicators always aggregate",
            Some("use 'by: [label]' to judge each group of a compiled indicator".into()),
        );
        return None;
    }
    Some(all)
}

/// Reads a duration field, reporting a malformed one.
pub(super) fn duration_field(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    name: &str,
) -> Option<Duration> {
    let text = context.text(node, name)?;
    match parse_duration(&text) {
        Ok(duration) => Some(duration),
        Err(error) => {
            context.report(
                node.span,
                "spec::invalid-duration",
                format!("{name}: {error}"),
                "not a duration",
                Some("write a duration such as 30s, 10m or 1h30m".into()),
            );
            None
        }
    }
}

pub(super) fn decode_labels(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    for (key, value) in label_entries(context, node) {
        let (Some(name), Some(value)) = (
            context.text(key, "a label name"),
            context.text(value, "a label value"),
        ) else {
            continue;
        };
        if is_label_name(&name) {
            labels.insert(name, value);
        } else {
            context.report(
                key.span,
                "spec::invalid-label",
                format!("'{name}' is not a valid label name"),
                "label names are letters, digits and _",
                None,
            );
        }
    }
    labels
}

/// The entries of a `labels:` mapping, in file order; anything else is
/// reported and holds none.
pub(super) fn label_entries<'n, 'i>(
    context: &mut Context<'_>,
    node: &'n MarkedYaml<'i>,
) -> Vec<(&'n MarkedYaml<'i>, &'n MarkedYaml<'i>)> {
    let saphyr::YamlData::Mapping(mapping) = &node.data else {
        context.report(
            node.span,
            "spec::expected-mapping",
            "labels must be a mapping of names to values",
            "not a mapping",
            Some("labels: {team: platform}".into()),
        );
        return Vec::new();
    };
    mapping.iter().collect()
}

pub(super) fn identifier(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    what: &str,
) -> Option<String> {
    let text = context.text(node, what)?;
    let valid = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if !valid {
        context.report(
            node.span,
            "spec::invalid-name",
            format!("{what} '{text}' must be letters, digits, '-', '_', '.' or ':'"),
            "invalid name",
            Some("names appear in --select SERVICE/NAME, file names and tags".into()),
        );
        return None;
    }
    Some(text)
}
