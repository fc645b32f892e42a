//! OpenSLO v1 and Sloth `prometheus/v1` documents, translated into native
//! SLOs.
//!
//! The format is told per YAML document: `apiVersion: openslo/v1` is
//! OpenSLO, `version: prometheus/v1` is Sloth, anything else is a native SLO
//! file. Translation keeps to what the native kinds express exactly: query
//! shapes outside a small PromQL subset, budgeting methods and SLI kinds
//! without a native equivalent are errors with a position and a stable code
//! (`spec::openslo::…`, `spec::sloth::…`); fields that never change a verdict
//! but are not used (alerting, annotations) are warnings. Native validation
//! (objectives that decide nothing, zero error budgets, duplicate names) runs
//! on the translated SLOs as it does on native ones.

mod decimal;
pub(super) mod openslo;
mod query;
pub(super) mod sloth;

use std::collections::BTreeMap;
use std::time::Duration;

use saphyr::{MarkedYaml, YamlData};
use saphyr_parser::Span;

use super::decode::{check_error_budget, objective_from_text};
use super::diagnostic::Location;
use super::yaml::Context;
use super::{Indicator, NoData, Objective, Ratio, RatioKind, Slo};

/// The native budget period, kept when a source gives none that translates.
const DEFAULT_BUDGET_PERIOD: Duration = Duration::from_secs(30 * 86_400);

/// The format of one YAML document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// summit-slo's own SLO file.
    Native,
    /// An OpenSLO v1 document (`apiVersion: openslo/v1`).
    OpenSlo,
    /// A Sloth service spec (`version: prometheus/v1`).
    Sloth,
}

/// Tells a document's format by its version field; `None` when the version
/// is one summit-slo does not read (reported here).
pub(super) fn detect(context: &mut Context<'_>, node: &MarkedYaml<'_>) -> Option<Format> {
    // Native files have neither field, so their decoding is untouched.
    let YamlData::Mapping(mapping) = &node.data else {
        return Some(Format::Native);
    };
    let field = |name: &str| {
        mapping
            .iter()
            .find(|(key, _)| key.data.as_str() == Some(name))
            .map(|(_, value)| value)
    };
    if let Some(value) = field("apiVersion") {
        return match value.data.as_str() {
            Some("openslo/v1") => Some(Format::OpenSlo),
            Some(version) if version.starts_with("openslo/") => {
                context.report(
                    value.span,
                    "spec::openslo::version",
                    format!("OpenSLO {version} is not supported"),
                    "unsupported version",
                    Some("summit-slo reads apiVersion: openslo/v1".into()),
                );
                None
            }
            _ => {
                context.report(
                    value.span,
                    "spec::unknown-format",
                    format!(
                        "a document with apiVersion '{}' is not an SLO file summit-slo reads",
                        context.raw(value).trim()
                    ),
                    "unknown apiVersion",
                    Some(
                        "summit-slo reads its own SLO files, OpenSLO (apiVersion: openslo/v1) and \
                         Sloth service specs (version: \"prometheus/v1\")"
                            .into(),
                    ),
                );
                None
            }
        };
    }
    if let Some(value) = field("version") {
        if value.data.as_str() == Some("prometheus/v1") {
            return Some(Format::Sloth);
        }
        context.report(
            value.span,
            "spec::sloth::version",
            format!(
                "Sloth spec version {} is not supported",
                context.raw(value).trim()
            ),
            "unsupported version",
            Some("summit-slo reads Sloth's version: \"prometheus/v1\"".into()),
        );
        return None;
    }
    Some(Format::Native)
}

/// The source format a diagnostic's code names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    /// OpenSLO v1.
    OpenSlo,
    /// Sloth `prometheus/v1`.
    Sloth,
}

impl Dialect {
    /// The stable code of a query problem in this format.
    fn code(self, problem: query::Problem) -> &'static str {
        use query::Problem;
        match (self, problem) {
            (Self::OpenSlo, Problem::Invalid) => "spec::openslo::invalid-query",
            (Self::OpenSlo, Problem::Unsupported) => "spec::openslo::unsupported-query",
            (Self::OpenSlo, Problem::Grouping) => "spec::openslo::grouping-mismatch",
            (Self::Sloth, Problem::Invalid) => "spec::sloth::invalid-query",
            (Self::Sloth, Problem::Unsupported) => "spec::sloth::unsupported-query",
            (Self::Sloth, Problem::Grouping) => "spec::sloth::grouping-mismatch",
        }
    }

    /// The stable code of the `irate` warning in this format.
    fn irate_code(self) -> &'static str {
        match self {
            Self::OpenSlo => "spec::openslo::irate",
            Self::Sloth => "spec::sloth::irate",
        }
    }
}

/// Reads a translated objective's text as a native objective, with the
/// native checks; problems point at `span`, where the source format's
/// target stands.
fn translated_objective(
    context: &mut Context<'_>,
    span: Span,
    text: &str,
    indicator: &Indicator,
    what: &str,
) -> Option<Objective> {
    let objective = objective_from_text(context, span, text, indicator, what)?;
    check_error_budget(context, span, indicator, &objective, what);
    Some(objective)
}

/// Reads a counter query standing in `node`, reporting a refusal there and
/// warning about `irate`, whose instant rate becomes the window's count.
fn read_counter(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    text: &str,
    dialect: Dialect,
    what: &str,
) -> Option<query::CounterQuery> {
    match query::counter(text) {
        Ok(counter) => {
            if counter.instant {
                context.warn(
                    node.span,
                    dialect.irate_code(),
                    format!(
                        "{what}: irate is not translated as such: the counter is counted over \
                         the whole window"
                    ),
                    "counted over the window",
                );
            }
            Some(counter)
        }
        Err(refusal) => {
            report_refusal(context, node, &refusal, dialect, what);
            None
        }
    }
}

/// Reports a query outside the subset at the node it stands in.
fn report_refusal(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    refusal: &query::Refusal,
    dialect: Dialect,
    what: &str,
) {
    context.report(
        node.span,
        dialect.code(refusal.problem),
        format!("{what}: {}", refusal.message),
        "this query",
        Some(query::SUBSET_HELP.into()),
    );
}

/// A native ratio from two counter queries grouped alike; a difference is
/// reported at the total's node.
fn ratio(
    context: &mut Context<'_>,
    kind: RatioKind,
    numerator: query::CounterQuery,
    total: query::CounterQuery,
    total_node: &MarkedYaml<'_>,
    dialect: Dialect,
    what: &str,
) -> Option<(Ratio, Vec<String>)> {
    if let Err(refusal) = query::same_grouping(&numerator.by, &total.by) {
        context.report(
            total_node.span,
            dialect.code(refusal.problem),
            format!("{what}: {}", refusal.message),
            "grouped differently",
            Some("group both queries by the same labels, or by none".into()),
        );
        return None;
    }
    let ratio = Ratio {
        kind,
        numerator: numerator.selector,
        total: total.selector,
    };
    Some((ratio, numerator.by))
}

/// A translated SLO with the native defaults for what the other formats do
/// not say: no warning bound, preconditions, sustained mode or event
/// minimum, missing data inconclusive, and a 30-day budget period.
fn translated_slo(
    service: String,
    name: String,
    indicator: Indicator,
    objective: Objective,
    location: Location,
) -> Slo {
    Slo {
        service,
        name,
        description: None,
        labels: BTreeMap::new(),
        indicator,
        objective,
        warning: None,
        requires: Vec::new(),
        by: Vec::new(),
        sustained: None,
        min_events: None,
        no_data: NoData::Inconclusive,
        per_series: false,
        budget_period: DEFAULT_BUDGET_PERIOD,
        location,
    }
}
