//! OpenSLO indicators (`kind: SLI`, or inline in an SLO): a ratio metric
//! (`good` or `bad`, with `total`) or a threshold metric, each read from a
//! Prometheus metric source whose query is in the translated subset.
//!
//! A ratio becomes the native `ratio` kind. A threshold metric's objective
//! (its `op`) picks how the gauge is reduced, so it stays a
//! [`Sli::Threshold`] until the SLO that uses it is resolved.

use saphyr::MarkedYaml;

use crate::spec::interop::query::{self, CounterQuery};
use crate::spec::interop::{Dialect, ratio, read_counter, report_refusal};
use crate::spec::yaml::Context;
use crate::spec::{Ratio, RatioKind, Selector, Unit};

const SPEC_FIELDS: &[&str] = &["description", "thresholdMetric", "ratioMetric"];
const RATIO_FIELDS: &[&str] = &["counter", "good", "bad", "total", "rawType", "raw"];
const METRIC_FIELDS: &[&str] = &["metricSource"];
const SOURCE_FIELDS: &[&str] = &["metricSourceRef", "type", "spec"];
const PROMETHEUS_FIELDS: &[&str] = &["query"];
const SOURCE_HELP: &str = "metricSource: {type: Prometheus, spec: {query: 'http_requests_total'}}";

/// An indicator read from OpenSLO, before an objective is applied.
#[derive(Debug, Clone)]
pub(super) enum Sli {
    /// Good or bad events over all events, per group of `by` labels.
    Ratio {
        /// The native ratio.
        ratio: Ratio,
        /// `sum by` labels of the queries; each group is judged.
        by: Vec<String>,
    },
    /// A gauge compared sample by sample with the objective's value.
    Threshold {
        /// The gauge's name.
        metric: String,
        /// Its matchers (without the name).
        selector: Selector,
        /// From the name's suffix, else a plain number.
        unit: Unit,
    },
}

/// Reads an SLI's `spec`: the indicator and its description.
pub(super) fn decode_sli_spec(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    what: &str,
) -> Option<(Sli, Option<String>)> {
    let fields = context.fields(node, &format!("the spec of {what}"), SPEC_FIELDS)?;
    let description = fields
        .get("description")
        .and_then(|node| context.text(node, "description"));
    let (which, node) = context.one_of(
        &fields,
        ["ratioMetric", "thresholdMetric"],
        what,
        "spec::openslo::two-metrics",
        "ratioMetric: {bad: …, total: …} or thresholdMetric: {metricSource: …}",
    )?;
    let sli = if which == 0 {
        decode_ratio(context, node, what)?
    } else {
        decode_threshold(context, node, what)?
    };
    Some((sli, description))
}

fn decode_ratio(context: &mut Context<'_>, node: &MarkedYaml<'_>, what: &str) -> Option<Sli> {
    let what = format!("the ratioMetric of {what}");
    let fields = context.fields(node, &what, RATIO_FIELDS)?;
    if let Some(node) = fields.get("raw").or_else(|| fields.get("rawType")) {
        context.report(
            node.span,
            "spec::openslo::raw-ratio",
            format!("{what}: a precomputed (raw) ratio is not translated"),
            "not translated",
            Some(
                "give 'good' or 'bad' with 'total': summit-slo counts both over the window".into(),
            ),
        );
        return None;
    }
    if let Some(node) = fields.get("counter")
        && node.data.as_bool() != Some(true)
    {
        context.report(
            node.span,
            "spec::openslo::not-a-counter",
            format!("{what}: only counters (counter: true) are translated"),
            "not a counter",
            Some("a ratio is counted from counters over the window; a gauge has no count".into()),
        );
        return None;
    }
    let (which, numerator_node) = context.one_of(
        &fields,
        ["good", "bad"],
        &what,
        "spec::openslo::good-and-bad",
        &format!("bad: {{{SOURCE_HELP}}}"),
    )?;
    let kind = if which == 0 {
        RatioKind::Good
    } else {
        RatioKind::Errors
    };
    let numerator = counter_source(context, numerator_node, &what);
    let total_node = context.required(&fields, "total", &what, SOURCE_HELP);
    let total = total_node.and_then(|node| counter_source(context, node, &what));
    let (numerator, total, total_node) = (numerator?, total?, total_node?);
    let (ratio, by) = ratio(
        context,
        kind,
        numerator,
        total,
        total_node,
        Dialect::OpenSlo,
        &what,
    )?;
    Some(Sli::Ratio { ratio, by })
}

fn decode_threshold(context: &mut Context<'_>, node: &MarkedYaml<'_>, what: &str) -> Option<Sli> {
    let what = format!("the thresholdMetric of {what}");
    let (query_node, text) = prometheus_query(context, node, &what)?;
    match query::gauge(&text) {
        Ok(selector) => {
            let metric = selector
                .metric
                .clone()
                .expect("gauge() keeps named selectors");
            let unit = Unit::from_metric_name(&metric).unwrap_or(Unit::Number);
            Some(Sli::Threshold {
                metric,
                selector: Selector {
                    metric: None,
                    matchers: selector.matchers,
                },
                unit,
            })
        }
        Err(refusal) => {
            report_refusal(context, query_node, &refusal, Dialect::OpenSlo, &what);
            None
        }
    }
}

/// A counter query from a `good`, `bad` or `total` metric source.
fn counter_source(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    what: &str,
) -> Option<CounterQuery> {
    let (query_node, text) = prometheus_query(context, node, what)?;
    read_counter(context, query_node, &text, Dialect::OpenSlo, what)
}

/// The query of a `{metricSource: {type: Prometheus, spec: {query}}}`
/// mapping, and the node it stands in.
fn prometheus_query<'n, 'i>(
    context: &mut Context<'_>,
    node: &'n MarkedYaml<'i>,
    what: &str,
) -> Option<(&'n MarkedYaml<'i>, String)> {
    let fields = context.fields(node, what, METRIC_FIELDS)?;
    let source = context.required(&fields, "metricSource", what, SOURCE_HELP)?;
    let source_what = format!("the metricSource of {what}");
    let source = context.fields(source, &source_what, SOURCE_FIELDS)?;
    let Some(kind) = source.get("type") else {
        context.report(
            source.node.span,
            "spec::openslo::metric-source-type",
            format!("{source_what} needs 'type: Prometheus'"),
            "no type",
            Some(
                "summit-slo does not follow metricSourceRef to a DataSource; name the type here"
                    .into(),
            ),
        );
        return None;
    };
    let kind_text = context.text(kind, "type")?;
    if !kind_text.eq_ignore_ascii_case("prometheus") {
        context.report(
            kind.span,
            "spec::openslo::not-prometheus",
            format!("{source_what}: type '{kind_text}' is not translated"),
            "not Prometheus",
            Some(
                "summit-slo queries Prometheus or a server that speaks its HTTP API (type: \
                 Prometheus)"
                    .into(),
            ),
        );
        return None;
    }
    if let Some(span) = source.key_span("metricSourceRef") {
        context.warn(
            span,
            "spec::openslo::metric-source-ref",
            format!(
                "{source_what}: metricSourceRef is not followed: summit-slo queries the server \
                 given by --prometheus"
            ),
            "not followed",
        );
    }
    let spec = context.required(&source, "spec", &source_what, "spec: {query: '…'}")?;
    let spec = context.fields(
        spec,
        &format!("the spec of {source_what}"),
        PROMETHEUS_FIELDS,
    )?;
    let query = context.required(&spec, "query", &source_what, "query: 'http_requests_total'")?;
    let text = context.text(query, "query")?;
    Some((query, text))
}
