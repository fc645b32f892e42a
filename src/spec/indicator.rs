//! Decoding the `indicator:` mapping: exactly one kind, each kind's fields,
//! units inferred from metric names, and hand-written query templates
//! checked by a real PromQL parser.

use std::path::{Path, PathBuf};

use saphyr::MarkedYaml;

use super::quantity::{Dimension, Unit, parse_quantity};
use super::selector::{Selector, is_metric_name};
use super::template::check_template;
use super::yaml::{Context, Fields};
use super::{
    Counter, Gauge, GaugeAggregate, Indicator, Latency, LatencyTarget, Mean, Promql, Ratio,
    RatioKind,
};

const KINDS: &[&str] = &[
    "latency", "rate", "increase", "gauge", "ratio", "mean", "promql",
];
const LATENCY_FIELDS: &[&str] = &["histogram", "selector", "quantile", "threshold", "unit"];
const COUNTER_FIELDS: &[&str] = &["counter", "selector"];
const GAUGE_FIELDS: &[&str] = &["metric", "selector", "aggregate", "unit"];
const RATIO_FIELDS: &[&str] = &["errors", "good", "total", "selector"];
const MEAN_FIELDS: &[&str] = &["sum", "count", "selector", "unit"];
const PROMQL_FIELDS: &[&str] = &["query", "file", "selector", "unit", "events"];

/// Decodes an `indicator:` mapping holding exactly one kind.
pub(super) fn decode_indicator(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    what: &str,
    service: &str,
) -> Option<Indicator> {
    let kinds = kind_fields(context, node, what)?;
    let mut present = kinds.keys().collect::<Vec<_>>();
    if present.is_empty() {
        context.report(
            node.span,
            "spec::no-indicator",
            format!("{what}: the indicator names no kind"),
            "empty indicator",
            Some(format!("use one of: {}", KINDS.join(", "))),
        );
        return None;
    }
    if present.len() > 1 {
        let (second, span) = present.remove(1);
        let first = present[0].0;
        context.report(
            span,
            "spec::two-indicators",
            format!("{what} has two indicators ('{first}' and '{second}')"),
            "second indicator",
            Some("an SLO measures exactly one indicator; split it into two SLOs".into()),
        );
        return None;
    }

    let (kind, _) = present[0];
    let body = kinds.get(kind).expect("the kind was listed");
    let what = format!("the {kind} indicator of {what}");
    match kind {
        "latency" => decode_latency(context, body, &what).map(Indicator::Latency),
        "rate" => decode_counter(context, body, &what).map(Indicator::Rate),
        "increase" => decode_counter(context, body, &what).map(Indicator::Increase),
        "gauge" => decode_gauge(context, body, &what).map(Indicator::Gauge),
        "ratio" => decode_ratio(context, body, &what).map(Indicator::Ratio),
        "mean" => decode_mean(context, body, &what).map(Indicator::Mean),
        "promql" => decode_promql(context, body, &what, service).map(Indicator::Promql),
        _ => unreachable!("fields() only admits known kinds"),
    }
}

fn kind_fields<'n, 'i>(
    context: &mut Context<'_>,
    node: &'n MarkedYaml<'i>,
    what: &str,
) -> Option<Fields<'n, 'i>> {
    let before = context.diagnostics.len();
    let fields = context.fields(node, &format!("the indicator of {what}"), KINDS)?;
    // An unknown kind is reported as such ("unknown indicator kind"), which
    // says more than "unknown field".
    for diagnostic in &mut context.diagnostics[before..] {
        if diagnostic.code == "spec::unknown-field" {
            diagnostic.code = "spec::unknown-indicator";
            diagnostic.message = diagnostic
                .message
                .replace("unknown field", "unknown indicator kind")
                .replace(&format!(" in the indicator of {what}"), "");
            diagnostic.message = format!("{what}: {}", diagnostic.message);
            diagnostic.label = "not an indicator kind".to_string();
        }
    }
    if context.diagnostics.len() > before && fields.keys().next().is_none() {
        return None;
    }
    Some(fields)
}

fn decode_latency(context: &mut Context<'_>, node: &MarkedYaml<'_>, what: &str) -> Option<Latency> {
    let fields = context.fields(node, what, LATENCY_FIELDS)?;
    let histogram = metric_field(context, &fields, "histogram", what)?;
    if let Some(suffix) = ["_bucket", "_count", "_sum"]
        .into_iter()
        .find(|suffix| histogram.ends_with(suffix))
    {
        let node = fields.get("histogram").expect("read above");
        context.report(
            node.span,
            "spec::histogram-suffix",
            format!("{what}: name the histogram without '{suffix}'"),
            "a series of the histogram, not its name",
            Some(format!(
                "write '{}'; the compiler adds _bucket and _count",
                histogram.trim_end_matches(suffix)
            )),
        );
        return None;
    }
    let selector = selector_field(context, &fields, what)?;
    if let Some(node) = fields.get("selector")
        && selector.matchers.iter().any(|matcher| matcher.name == "le")
    {
        context.report(
            node.span,
            "spec::le-in-selector",
            format!("{what}: the selector must not match 'le'"),
            "selects buckets",
            Some(
                "the compiler chooses buckets; use 'threshold' for the share under a bound".into(),
            ),
        );
        return None;
    }
    let unit = unit_field(context, &fields, &histogram, what, true);
    // Read the target even when the unit is unknown, so its own mistakes are
    // reported in the same run.
    let target = latency_target(context, &fields, unit.unwrap_or(Unit::Seconds), what);
    Some(Latency {
        histogram,
        selector,
        target: target?,
        unit: unit?,
    })
}

fn latency_target(
    context: &mut Context<'_>,
    fields: &Fields<'_, '_>,
    unit: Unit,
    what: &str,
) -> Option<LatencyTarget> {
    match (fields.get("quantile"), fields.get("threshold")) {
        (Some(node), None) => {
            let quantile = context.number(node, "quantile")?;
            if quantile <= 0.0 || quantile >= 1.0 {
                let help = if quantile > 1.0 && quantile < 100.0 {
                    format!(
                        "quantiles are between 0 and 1: p{quantile} is {}",
                        quantile / 100.0
                    )
                } else {
                    "quantiles are between 0 and 1 (exclusive), such as 0.95 for p95".to_string()
                };
                context.report(
                    node.span,
                    "spec::invalid-quantile",
                    format!("{what}: quantile {quantile} is not between 0 and 1"),
                    "out of range",
                    Some(help),
                );
                return None;
            }
            Some(LatencyTarget::Quantile(quantile))
        }
        (None, Some(node)) => {
            let text = context.text(node, "threshold")?;
            let bound = parse_quantity(&text)
                .ok()
                .filter(|quantity| quantity.dimension == Dimension::Time)
                .and_then(|quantity| unit.convert(quantity).ok());
            match bound {
                Some(bound) if bound > 0.0 => Some(LatencyTarget::Under { bound, text }),
                _ => {
                    context.report(
                        node.span,
                        "spec::invalid-threshold",
                        format!("{what}: threshold '{text}' is not a positive duration"),
                        "expected a duration above zero",
                        Some("the share of observations at or under a bound: threshold: 1s".into()),
                    );
                    None
                }
            }
        }
        (Some(_), Some(node)) => {
            context.report(
                node.span,
                "spec::quantile-and-threshold",
                format!("{what}: give either 'quantile' or 'threshold', not both"),
                "second target",
                Some("quantile: 0.95 reads p95; threshold: 1s reads the share under 1s".into()),
            );
            None
        }
        (None, None) => {
            context.report(
                fields.node.span,
                "spec::missing-field",
                format!("{what} needs 'quantile' or 'threshold'"),
                "nothing to read from the histogram",
                Some("quantile: 0.95 reads p95; threshold: 1s reads the share under 1s".into()),
            );
            None
        }
    }
}

fn decode_counter(context: &mut Context<'_>, node: &MarkedYaml<'_>, what: &str) -> Option<Counter> {
    let fields = context.fields(node, what, COUNTER_FIELDS)?;
    let counter = metric_field(context, &fields, "counter", what);
    let selector = selector_field(context, &fields, what);
    Some(Counter {
        counter: counter?,
        selector: selector?,
    })
}

fn decode_gauge(context: &mut Context<'_>, node: &MarkedYaml<'_>, what: &str) -> Option<Gauge> {
    let fields = context.fields(node, what, GAUGE_FIELDS)?;
    let metric = metric_field(context, &fields, "metric", what)?;
    let selector = selector_field(context, &fields, what);
    let aggregate = match fields.get("aggregate") {
        None => Some(GaugeAggregate::Max),
        Some(node) => match context.text(node, "aggregate")?.as_str() {
            "max" => Some(GaugeAggregate::Max),
            "min" => Some(GaugeAggregate::Min),
            "avg" => Some(GaugeAggregate::Avg),
            "last" => Some(GaugeAggregate::Last),
            other => {
                context.report(
                    node.span,
                    "spec::invalid-aggregate",
                    format!("{what}: unknown aggregate '{other}'"),
                    "not an aggregate",
                    Some("use max, min, avg or last".into()),
                );
                None
            }
        },
    };
    let unit = unit_field(context, &fields, &metric, what, false);
    Some(Gauge {
        metric,
        selector: selector?,
        aggregate: aggregate?,
        unit: unit?,
    })
}

fn decode_ratio(context: &mut Context<'_>, node: &MarkedYaml<'_>, what: &str) -> Option<Ratio> {
    let fields = context.fields(node, what, RATIO_FIELDS)?;
    let (kind, numerator_node) = match (fields.get("errors"), fields.get("good")) {
        (Some(node), None) => (RatioKind::Errors, node),
        (None, Some(node)) => (RatioKind::Good, node),
        (Some(_), Some(node)) => {
            context.report(
                node.span,
                "spec::errors-and-good",
                format!("{what}: give either 'errors' or 'good', not both"),
                "second numerator",
                Some("errors/total is an error ratio ('< 0.1%'); good/total a success ratio ('>= 99.9%')".into()),
            );
            return None;
        }
        (None, None) => {
            context.report(
                fields.node.span,
                "spec::missing-field",
                format!("{what} needs 'errors' or 'good'"),
                "no numerator",
                Some("errors: 'http_requests_total{code=~\"5..\"}' or good: '…'".into()),
            );
            return None;
        }
    };
    let shared = selector_field(context, &fields, what);
    let numerator = series_field(context, numerator_node, what);
    let total = context
        .required(
            &fields,
            "total",
            what,
            "total: 'http_requests_total{job=\"checkout\"}'",
        )
        .and_then(|node| series_field(context, node, what));
    let shared = shared?;
    Some(Ratio {
        kind,
        numerator: numerator?.merged(&shared),
        total: total?.merged(&shared),
    })
}

fn decode_mean(context: &mut Context<'_>, node: &MarkedYaml<'_>, what: &str) -> Option<Mean> {
    let fields = context.fields(node, what, MEAN_FIELDS)?;
    let sum = metric_field(context, &fields, "sum", what);
    let count = metric_field(context, &fields, "count", what);
    let selector = selector_field(context, &fields, what);
    let sum = sum?;
    let unit = unit_field(context, &fields, &sum, what, false)?;
    Some(Mean {
        sum,
        count: count?,
        selector: selector?,
        unit,
    })
}

fn decode_promql(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    what: &str,
    service: &str,
) -> Option<Promql> {
    let fields = context.fields(node, what, PROMQL_FIELDS)?;
    let selector = selector_field(context, &fields, what)?;
    let unit = match fields.get("unit") {
        Some(node) => unit_name(context, node, what)?,
        None => Unit::Number,
    };
    let (query, query_node, origin) = match (fields.get("query"), fields.get("file")) {
        (Some(node), None) => (
            context.text(node, "query")?,
            node,
            context.source.name.clone().into(),
        ),
        (None, Some(node)) => {
            let (text, path) = read_query_file(context, node, what)?;
            (text, node, path)
        }
        (Some(_), Some(node)) => {
            context.report(
                node.span,
                "spec::query-and-file",
                format!("{what}: give either 'query' or 'file', not both"),
                "second query",
                None,
            );
            return None;
        }
        (None, None) => {
            context.report(
                fields.node.span,
                "spec::missing-field",
                format!("{what} needs 'query' or 'file'"),
                "no query",
                Some(
                    "query: 'sum(rate(x${selector}[${window}]))' or file: queries/x.promql".into(),
                ),
            );
            return None;
        }
    };
    check_template(context, query_node, &query, &selector, service, what)?;
    let uses_selector = query.contains("${selector}")
        || fields
            .get("events")
            .and_then(|node| node.data.as_str())
            .is_some_and(|events| events.contains("${selector}"));
    if let Some(node) = fields.get("selector")
        && !uses_selector
    {
        context.report(
            node.span,
            "spec::unused-selector",
            format!("{what}: 'selector' is set but the query has no ${{selector}}"),
            "this selector would be ignored",
            Some(
                "write ${selector} where the matchers belong: 'sum(rate(x${selector}[${window}]))'"
                    .into(),
            ),
        );
        return None;
    }
    let events = match fields.get("events") {
        Some(node) => {
            let events = context.text(node, "events")?;
            check_template(context, node, &events, &selector, service, what)?;
            Some(events)
        }
        None => None,
    };
    Some(Promql {
        query: query.trim().to_string(),
        events: events.map(|events| events.trim().to_string()),
        selector,
        unit,
        origin,
    })
}

fn read_query_file(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    what: &str,
) -> Option<(String, PathBuf)> {
    let relative = context.text(node, "file")?;
    // Relative to the SLO file first (files that travel together), then to
    // the working directory (a repository's queries/ beside slos/).
    let spec_directory = Path::new(&context.source.name)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let candidates = [spec_directory.join(&relative), PathBuf::from(&relative)];
    for candidate in &candidates {
        if let Ok(text) = std::fs::read_to_string(candidate) {
            return Some((text, candidate.clone()));
        }
    }
    context.report(
        node.span,
        "spec::query-file",
        format!("{what}: cannot read query file '{relative}'"),
        "file not found",
        Some(format!(
            "looked for {} and {}",
            candidates[0].display(),
            candidates[1].display()
        )),
    );
    None
}

fn metric_field(
    context: &mut Context<'_>,
    fields: &Fields<'_, '_>,
    key: &str,
    what: &str,
) -> Option<String> {
    let node = context.required(fields, key, what, &format!("{key}: the metric's name"))?;
    let name = context.text(node, key)?;
    if !is_metric_name(&name) {
        let help = if name.contains('{') {
            "put label matchers in 'selector', not in the metric name".to_string()
        } else {
            "metric names are letters, digits, '_' and ':', not starting with a digit".to_string()
        };
        context.report(
            node.span,
            "spec::invalid-metric",
            format!("{what}: '{name}' is not a metric name"),
            "invalid metric name",
            Some(help),
        );
        return None;
    }
    Some(name)
}

fn selector_field(
    context: &mut Context<'_>,
    fields: &Fields<'_, '_>,
    what: &str,
) -> Option<Selector> {
    let Some(node) = fields.get("selector") else {
        return Some(Selector::default());
    };
    let text = context.text(node, "selector")?;
    match Selector::parse_matchers(&text) {
        Ok(selector) => Some(selector),
        Err(problem) => {
            context.report(
                node.span,
                "spec::invalid-selector",
                format!("{what}: invalid selector: {problem}"),
                "cannot parse this selector",
                Some(
                    "a selector is label matchers in braces: '{job=\"summit-api\", code=~\"5..\"}'"
                        .into(),
                ),
            );
            None
        }
    }
}

fn series_field(context: &mut Context<'_>, node: &MarkedYaml<'_>, what: &str) -> Option<Selector> {
    let text = context.text(node, "a counter")?;
    match Selector::parse_series(&text) {
        Ok(selector) => Some(selector),
        Err(problem) => {
            context.report(
                node.span,
                "spec::invalid-selector",
                format!("{what}: invalid counter selector: {problem}"),
                "cannot parse this counter",
                Some(
                    "write the counter with its matchers: 'http_requests_total{code=~\"5..\"}'"
                        .into(),
                ),
            );
            None
        }
    }
}

/// The unit from a `unit` field, else from the metric's name. Latency needs
/// a time unit and refuses to guess; other kinds default to a plain number.
fn unit_field(
    context: &mut Context<'_>,
    fields: &Fields<'_, '_>,
    metric: &str,
    what: &str,
    needs_time: bool,
) -> Option<Unit> {
    if let Some(node) = fields.get("unit") {
        let unit = unit_name(context, node, what)?;
        if needs_time && !matches!(unit, Unit::Seconds | Unit::Milliseconds) {
            context.report(
                node.span,
                "spec::invalid-unit",
                format!("{what}: a latency histogram observes seconds or milliseconds"),
                "not a time unit",
                None,
            );
            return None;
        }
        // A name that says one unit and a field that says another is a
        // thousandfold mistake waiting to happen.
        if let Some(named) = Unit::from_metric_name(metric)
            && named != unit
        {
            context.report(
                node.span,
                "spec::unit-conflict",
                format!("{what}: '{metric}' is in {named} by its name, but unit says {unit}"),
                "contradicts the metric's name",
                Some(format!(
                    "drop 'unit' (the name decides) or fix it to {named}"
                )),
            );
            return None;
        }
        return Some(unit);
    }
    match Unit::from_metric_name(metric) {
        Some(unit) => Some(unit),
        None if !needs_time => Some(Unit::Number),
        None => {
            let node = fields.get("histogram").unwrap_or(fields.node);
            context.report(
                node.span,
                "spec::unknown-unit",
                format!("{what}: cannot tell the unit of '{metric}' from its name"),
                "no _seconds or _milliseconds suffix",
                Some("add 'unit: seconds' or 'unit: milliseconds'".into()),
            );
            None
        }
    }
}

fn unit_name(context: &mut Context<'_>, node: &MarkedYaml<'_>, what: &str) -> Option<Unit> {
    let text = context.text(node, "unit")?;
    let unit = Unit::from_name(&text);
    if unit.is_none() {
        context.report(
            node.span,
            "spec::invalid-unit",
            format!("{what}: unknown unit '{text}'"),
            "not a unit",
            Some("use seconds, milliseconds, per_second, ratio, count or number".into()),
        );
    }
    unit
}
