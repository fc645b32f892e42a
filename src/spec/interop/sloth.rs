//! Sloth `prometheus/v1` service specs: one service and its SLOs, each with
//! an objective in percent and an events or raw SLI.
//!
//! `objective: 99.9` leaves an error budget of 0.1%, so the native objective
//! is `<= 0.1%` of errors. An events SLI (`error_query` over `total_query`)
//! becomes the native `ratio` kind when both queries are in the translated
//! subset; a raw SLI (`error_ratio_query`) becomes a `promql` indicator with
//! `{{.window}}` written as `${window}`. Plugin SLIs are refused: Sloth
//! builds their queries when it generates rules.

use std::collections::BTreeMap;

use saphyr::MarkedYaml;

use super::decimal::Decimal;
use super::query::fill_sloth_window;
use super::{Dialect, ratio, read_counter, translated_objective, translated_slo};
use crate::spec::decode::decode_service_document;
use crate::spec::fields::{decode_labels, identifier};
use crate::spec::template::check_template;
use crate::spec::yaml::Context;
use crate::spec::{Indicator, Promql, RatioKind, Selector, ServiceSpec, Slo, Unit};

const SPEC_FIELDS: &[&str] = &["version", "service", "labels", "slos"];
const SLO_FIELDS: &[&str] = &[
    "name",
    "objective",
    "description",
    "labels",
    "sli",
    "alerting",
];
const SLI_KINDS: &[&str] = &["events", "raw", "plugin"];
const EVENTS_FIELDS: &[&str] = &["error_query", "total_query"];
const RAW_FIELDS: &[&str] = &["error_ratio_query"];
/// Sloth's queries are parsed with a range in place of `{{.window}}`; the
/// native compiler replaces it with the window.
const PARSE_WINDOW: &str = "5m";

/// Decodes a Sloth spec into one service.
pub(in crate::spec) fn decode(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
) -> Option<ServiceSpec> {
    // The version was read to tell the format; the rest has the outline of
    // a native file.
    decode_service_document(context, node, "a Sloth spec", SPEC_FIELDS, decode_slo)
}

fn decode_slo(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    service: &str,
    service_labels: &BTreeMap<String, String>,
) -> Option<Slo> {
    let fields = context.fields(node, "a Sloth SLO", SLO_FIELDS)?;
    let name = context
        .required(
            &fields,
            "name",
            "a Sloth SLO",
            "name: requests-availability",
        )
        .and_then(|node| identifier(context, node, "an SLO name"));
    let what = match &name {
        Some(name) => format!("Sloth SLO '{name}'"),
        None => "a Sloth SLO".to_string(),
    };
    let objective_node = context.required(&fields, "objective", &what, "objective: 99.9");
    let budget = objective_node.and_then(|node| error_budget(context, node, &what));
    let indicator = context
        .required(
            &fields,
            "sli",
            &what,
            "sli: {events: {error_query: …, total_query: …}}",
        )
        .and_then(|node| decode_sli(context, node, service, &what));
    let description = fields
        .get("description")
        .and_then(|node| context.text(node, "description"))
        .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "));
    let mut labels = service_labels.clone();
    if let Some(node) = fields.get("labels") {
        labels.extend(decode_labels(context, node));
    }
    if let Some(span) = fields.key_span("alerting") {
        context.warn(
            span,
            "spec::sloth::alerting",
            format!(
                "{what}: alerting is not translated: `summit-slo rules` writes its own burn-rate \
                 alerts"
            ),
            "not translated",
        );
    }

    let (indicator, by) = indicator?;
    let objective_node = objective_node?;
    let text = format!("<= {}%", budget?);
    let objective = translated_objective(context, objective_node.span, &text, &indicator, &what)?;
    let location = context.location(node.span);
    Some(Slo {
        description,
        labels,
        by,
        ..translated_slo(service.to_string(), name?, indicator, objective, location)
    })
}

/// The error budget in percent: 100 minus the objective, digit for digit.
fn error_budget(context: &mut Context<'_>, node: &MarkedYaml<'_>, what: &str) -> Option<Decimal> {
    let text = context.text(node, "objective")?;
    let budget = Decimal::parse(&text)
        .filter(|objective| !objective.is_zero())
        .and_then(|objective| objective.complement(100));
    if budget.is_none() {
        context.report(
            node.span,
            "spec::sloth::invalid-objective",
            format!("{what}: objective '{text}' is not a percent above 0 and at most 100"),
            "not a percent",
            Some("Sloth objectives are percents: 99.9 leaves an error budget of 0.1%".into()),
        );
    }
    budget
}

fn decode_sli(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    service: &str,
    what: &str,
) -> Option<(Indicator, Vec<String>)> {
    let what = format!("the sli of {what}");
    let fields = context.fields(node, &what, SLI_KINDS)?;
    let mut present = fields.keys();
    let (Some((kind, _)), None) = (present.next(), present.next()) else {
        context.report(
            node.span,
            "spec::sloth::sli-kind",
            format!("{what} must hold exactly one of events, raw or plugin"),
            "one SLI kind",
            None,
        );
        return None;
    };
    let body = fields.get(kind).expect("the kind was listed");
    match kind {
        "events" => decode_events(context, body, &what),
        "raw" => decode_raw(context, body, service, &what).map(|promql| (promql, Vec::new())),
        _ => {
            let id = body
                .data
                .as_mapping_get("id")
                .and_then(|id| id.data.as_str())
                .unwrap_or("?")
                .to_string();
            context.report(
                body.span,
                "spec::sloth::plugin",
                format!("{what}: the SLI plugin '{id}' is not translated"),
                "not translated",
                Some(
                    "Sloth builds a plugin's queries when it generates rules; write the SLI as \
                     events (error_query, total_query) or raw (error_ratio_query)"
                        .into(),
                ),
            );
            None
        }
    }
}

fn decode_events(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    what: &str,
) -> Option<(Indicator, Vec<String>)> {
    let fields = context.fields(node, &format!("the events of {what}"), EVENTS_FIELDS)?;
    let mut read = |key: &str| {
        let node = context.required(
            &fields,
            key,
            what,
            &format!("{key}: sum(rate(…[{{{{.window}}}}]))"),
        )?;
        let text = sloth_query(context, node, PARSE_WINDOW, what)?;
        let counter = read_counter(context, node, &text, Dialect::Sloth, what)?;
        Some((counter, node))
    };
    let errors = read("error_query");
    let total = read("total_query");
    let ((errors, _), (total, total_node)) = (errors?, total?);
    let (ratio, by) = ratio(
        context,
        RatioKind::Errors,
        errors,
        total,
        total_node,
        Dialect::Sloth,
        what,
    )?;
    Some((Indicator::Ratio(ratio), by))
}

fn decode_raw(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    service: &str,
    what: &str,
) -> Option<Indicator> {
    let fields = context.fields(node, &format!("the raw SLI of {what}"), RAW_FIELDS)?;
    let node = context.required(
        &fields,
        "error_ratio_query",
        what,
        "error_ratio_query: 'sum(rate(errors[{{.window}}])) / sum(rate(total[{{.window}}]))'",
    )?;
    let original = context.text(node, "error_ratio_query")?;
    if !original.contains("{{") {
        context.report(
            node.span,
            "spec::sloth::window-unused",
            format!("{what}: the error ratio query does not use {{{{.window}}}}"),
            "judges some other span than the window",
            Some("write its ranges as [{{.window}}]".into()),
        );
        return None;
    }
    let query = sloth_query(context, node, "${window}", what)?;
    let selector = Selector::default();
    check_template(context, node, &query, &selector, service, what)?;
    Some(Indicator::Promql(Promql {
        query: query.trim().to_string(),
        events: None,
        selector,
        unit: Unit::Ratio,
        origin: context.source.name.clone().into(),
    }))
}

/// A query's text with `{{.window}}` filled in.
fn sloth_query(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    window: &str,
    what: &str,
) -> Option<String> {
    let text = context.text(node, "a query")?;
    match fill_sloth_window(&text, window) {
        Ok(filled) => Some(filled),
        Err(problem) => {
            context.report(
                node.span,
                "spec::sloth::template",
                format!("{what}: {problem}"),
                "in this query",
                None,
            );
            None
        }
    }
}
