//! OpenSLO v1 documents: `kind: SLO`, `SLI` and `Service` are read;
//! `DataSource` and the alerting kinds are left out with a warning.
//!
//! An SLO may name its indicator by reference (`indicatorRef`) to an SLI in
//! any of the files, so documents are collected first and resolved once every
//! file is read. Collection reports the problems of each document; resolution
//! only joins SLOs to their indicators and turns objectives into native
//! ones.

mod indicator;
mod slo;

use std::collections::BTreeMap;

use saphyr::{MarkedYaml, Scalar, YamlData};
use saphyr_parser::Span;

use self::indicator::{Sli, decode_sli_spec};
use self::slo::PendingSlo;
use crate::spec::ServiceSpec;
use crate::spec::diagnostic::{Location, SpecDiagnostic, did_you_mean};
use crate::spec::fields::{identifier, label_entries};
use crate::spec::selector::is_label_name;
use crate::spec::yaml::Context;

const DOCUMENT_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec"];
const METADATA_FIELDS: &[&str] = &["name", "displayName", "labels", "annotations"];
const SLI_FIELDS: &[&str] = &["metadata", "spec"];
const SERVICE_SPEC_FIELDS: &[&str] = &["description"];
const KINDS: &[&str] = &[
    "SLO",
    "SLI",
    "Service",
    "DataSource",
    "AlertPolicy",
    "AlertCondition",
    "AlertNotificationTarget",
];

/// OpenSLO documents from every file, waiting to be resolved.
#[derive(Default)]
pub(in crate::spec) struct Collected {
    slis: Vec<NamedSli>,
    slos: Vec<PendingSlo>,
    services: BTreeMap<String, BTreeMap<String, String>>,
}

/// A `kind: SLI` document; `sli` is `None` when it did not translate (its
/// problems are already reported, so SLOs that use it add none).
struct NamedSli {
    name: String,
    sli: Option<(Sli, Option<String>)>,
    location: Location,
}

/// `metadata` of any document.
struct Metadata {
    name: String,
    span: Span,
    display_name: Option<String>,
    labels: BTreeMap<String, String>,
}

impl Collected {
    /// Reads one OpenSLO document, reporting its problems.
    pub(in crate::spec) fn collect(&mut self, context: &mut Context<'_>, node: &MarkedYaml<'_>) {
        let Some(fields) = context.fields(node, "an OpenSLO document", DOCUMENT_FIELDS) else {
            return;
        };
        let Some(kind_node) = context.required(
            &fields,
            "kind",
            "an OpenSLO document",
            "kind: SLO, SLI or Service",
        ) else {
            return;
        };
        let Some(kind) = context.text(kind_node, "kind") else {
            return;
        };
        let left_out = match kind.as_str() {
            "SLO" | "SLI" | "Service" => None,
            "DataSource" => Some("summit-slo queries the server given by --prometheus"),
            "AlertPolicy" | "AlertCondition" | "AlertNotificationTarget" => {
                Some("`summit-slo rules` writes its own burn-rate alerts")
            }
            other => {
                let help = match did_you_mean(other, KINDS) {
                    Some(close) => format!("did you mean '{close}'? kinds: {}", KINDS.join(", ")),
                    None => format!("kinds: {}", KINDS.join(", ")),
                };
                context.report(
                    kind_node.span,
                    "spec::openslo::unknown-kind",
                    format!("unknown OpenSLO kind '{other}'"),
                    "not an OpenSLO v1 kind",
                    Some(help),
                );
                return;
            }
        };
        if let Some(reason) = left_out {
            context.warn(
                kind_node.span,
                "spec::openslo::kind-not-translated",
                format!("kind {kind} is not translated: {reason}"),
                "not translated",
            );
            return;
        }

        let metadata = context
            .required(
                &fields,
                "metadata",
                "an OpenSLO document",
                "metadata: {name: …}",
            )
            .and_then(|node| decode_metadata(context, node, &kind));
        let spec = context.required(&fields, "spec", "an OpenSLO document", "spec: {…}");
        let (Some(metadata), Some(spec)) = (metadata, spec) else {
            return;
        };
        match kind.as_str() {
            "SLO" => self.slos.extend(slo::collect(context, &metadata, spec)),
            "SLI" => {
                let what = format!("OpenSLO SLI '{}'", metadata.name);
                self.add_sli(context, metadata, spec, &what);
            }
            _ => {
                context.fields(spec, "the spec of an OpenSLO Service", SERVICE_SPEC_FIELDS);
                self.services.insert(metadata.name, metadata.labels);
            }
        }
    }

    fn add_sli(
        &mut self,
        context: &mut Context<'_>,
        metadata: Metadata,
        spec: &MarkedYaml<'_>,
        what: &str,
    ) {
        let location = context.location(metadata.span);
        if let Some(first) = self.slis.iter().find(|sli| sli.name == metadata.name) {
            context.report(
                metadata.span,
                "spec::openslo::duplicate-sli",
                format!("{what} is defined twice"),
                "again",
                Some(format!("first defined at {}", first.location.position())),
            );
            return;
        }
        let sli = decode_sli_spec(context, spec, what);
        self.slis.push(NamedSli {
            name: metadata.name,
            sli,
            location,
        });
    }

    /// Joins every SLO to its indicator and groups them by service.
    pub(in crate::spec) fn resolve(
        self,
        diagnostics: &mut Vec<SpecDiagnostic>,
    ) -> Vec<ServiceSpec> {
        let mut by_service: Vec<ServiceSpec> = Vec::new();
        for pending in self.slos {
            let Some(slo) = pending.resolve(&self.slis, diagnostics) else {
                continue;
            };
            match by_service
                .iter_mut()
                .find(|service| service.service == slo.service)
            {
                Some(service) => service.slos.push(slo),
                None => by_service.push(ServiceSpec {
                    service: slo.service.clone(),
                    labels: self.services.get(&slo.service).cloned().unwrap_or_default(),
                    slos: vec![slo],
                }),
            }
        }
        // A Service's labels reach its SLOs as a native file's labels do,
        // with the SLO's own winning.
        for service in &mut by_service {
            for slo in &mut service.slos {
                let mut labels = service.labels.clone();
                labels.append(&mut slo.labels);
                slo.labels = labels;
            }
        }
        by_service
    }
}

/// Finds the SLI an `indicatorRef` names, reporting a name that is not
/// there with the closest one.
fn find_sli<'a>(
    slis: &'a [NamedSli],
    name: &str,
    what: &str,
    location: Location,
    diagnostics: &mut Vec<SpecDiagnostic>,
) -> Option<&'a NamedSli> {
    if let Some(sli) = slis.iter().find(|sli| sli.name == name) {
        return Some(sli);
    }
    let names: Vec<&str> = slis.iter().map(|sli| sli.name.as_str()).collect();
    let help = match (did_you_mean(name, &names), names.is_empty()) {
        (Some(close), _) => format!("did you mean '{close}'? SLIs loaded: {}", names.join(", ")),
        (None, true) => "no kind: SLI document is in the files given to --slos".to_string(),
        (None, false) => format!("SLIs loaded: {}", names.join(", ")),
    };
    diagnostics.push(
        SpecDiagnostic::at(
            location,
            "spec::openslo::unknown-indicator-ref",
            format!("{what}: indicatorRef '{name}' names no SLI"),
            "unknown SLI",
        )
        .with_help(help),
    );
    None
}

fn decode_metadata(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    kind: &str,
) -> Option<Metadata> {
    let what = format!("the metadata of an OpenSLO {kind}");
    let fields = context.fields(node, &what, METADATA_FIELDS)?;
    let name_node = context.required(&fields, "name", &what, "name: graphql-availability")?;
    let name = identifier(context, name_node, &format!("the {kind} name"))?;
    let display_name = fields
        .get("displayName")
        .and_then(|node| context.text(node, "displayName"));
    let labels = fields
        .get("labels")
        .map(|node| decode_labels(context, node))
        .unwrap_or_default();
    warn_annotations(context, fields.key_span("annotations"), &what);
    Some(Metadata {
        name,
        span: name_node.span,
        display_name,
        labels,
    })
}

/// Inline SLIs carry metadata too; only its annotations need a word.
fn decode_inline_metadata(context: &mut Context<'_>, node: &MarkedYaml<'_>) {
    let what = "the metadata of an inline indicator";
    if let Some(fields) = context.fields(node, what, METADATA_FIELDS) {
        warn_annotations(context, fields.key_span("annotations"), what);
    }
}

fn warn_annotations(context: &mut Context<'_>, span: Option<Span>, what: &str) {
    if let Some(span) = span {
        context.warn(
            span,
            "spec::openslo::annotations",
            format!("{what}: annotations are not translated: they configure other tools"),
            "not translated",
        );
    }
}

/// OpenSLO labels: text values become labels in reports; a list value or a
/// key Prometheus would not accept is left out with a warning.
fn decode_labels(context: &mut Context<'_>, node: &MarkedYaml<'_>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    for (key, value) in label_entries(context, node) {
        let Some(name) = context.text(key, "a label name") else {
            continue;
        };
        let text = match &value.data {
            YamlData::Value(Scalar::String(_) | Scalar::Integer(_) | Scalar::FloatingPoint(_)) => {
                context.text(value, "a label value")
            }
            _ => None,
        };
        match text {
            Some(text) if is_label_name(&name) => {
                labels.insert(name, text);
            }
            Some(_) => context.warn(
                key.span,
                "spec::openslo::label-not-translated",
                format!("label '{name}' is not translated: it is not a Prometheus label name"),
                "not translated",
            ),
            None => context.warn(
                value.span,
                "spec::openslo::label-not-translated",
                format!("label '{name}' is not translated: only text values are"),
                "not translated",
            ),
        }
    }
    labels
}

/// Reads an inline `indicator: {metadata, spec}`.
fn decode_inline_sli(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    what: &str,
) -> Option<(Sli, Option<String>)> {
    let what = format!("the indicator of {what}");
    let fields = context.fields(node, &what, SLI_FIELDS)?;
    if let Some(metadata) = fields.get("metadata") {
        decode_inline_metadata(context, metadata);
    }
    let spec = context.required(&fields, "spec", &what, "spec: {ratioMetric: …}")?;
    decode_sli_spec(context, spec, &what)
}
