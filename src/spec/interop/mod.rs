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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::spec::diagnostic::SourceFile;
    use crate::spec::{GaugeAggregate, Indicator, RatioKind, Slo, load_text};

    const OPENSLO_HEAD: &str = "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: s\nspec:\n  service: checkout\n  budgetingMethod: Occurrences\n";

    fn openslo(indicator: &str, objective: &str) -> String {
        format!(
            "{OPENSLO_HEAD}  indicator:\n    spec:\n{indicator}  objectives:\n    - {objective}\n"
        )
    }

    fn source(query: &str) -> String {
        format!("metricSource: {{type: Prometheus, spec: {{query: '{query}'}}}}")
    }

    fn ratio(numerator: &str, query: &str, total: &str) -> String {
        format!(
            "      ratioMetric:\n        {numerator}: {{{}}}\n        total: {{{}}}\n",
            source(query),
            source(total)
        )
    }

    fn threshold(query: &str) -> String {
        format!("      thresholdMetric: {{{}}}\n", source(query))
    }

    fn sloth(sli: &str) -> String {
        format!(
            "version: \"prometheus/v1\"\nservice: checkout\nslos:\n  - name: s\n    objective: 99.9\n    sli:\n{sli}"
        )
    }

    fn only_slo(text: &str) -> Slo {
        let loaded = load_text(Path::new("slo.yaml"), text)
            .unwrap_or_else(|errors| panic!("{:?}\n{text}", errors.diagnostics));
        loaded.services[0].slos[0].clone()
    }

    #[test]
    fn accepted_specs_become_the_native_slo_they_mean() {
        let errors = "rate(http_requests_total{code=~\"5..\"}[5m])";
        let total = "sum(rate(http_requests_total[5m]))";
        let cases = [
            (
                "a good ratio's target is a lower bound on the success ratio",
                openslo(&ratio("good", total, total), "target: 0.999"),
                "ratio",
                ">= 99.9%",
            ),
            (
                "a bad ratio's target is an upper bound on the error ratio",
                openslo(&ratio("bad", errors, total), "targetPercent: 99.95"),
                "ratio",
                "<= 0.05%",
            ),
            (
                "a gauge below a bound is judged on its peak",
                openslo(
                    &threshold("queue_depth"),
                    "{op: lt, value: 1000, target: 0.99}",
                ),
                "gauge",
                "< 1000",
            ),
            (
                "a gauge in seconds keeps its unit",
                openslo(
                    &threshold("lag_seconds"),
                    "{op: lte, value: 0.3, target: 0.9}",
                ),
                "gauge",
                "<= 0.3s",
            ),
            (
                "a Sloth objective leaves its error budget",
                sloth(&format!(
                    "      events:\n        error_query: sum({})\n        total_query: {}\n",
                    errors.replace("5m", "{{.window}}"),
                    total.replace("5m", "{{.window}}")
                )),
                "ratio",
                "<= 0.1%",
            ),
            (
                "a Sloth raw ratio is a hand-written query over the window",
                sloth(
                    "      raw: {error_ratio_query: 'sum(rate(e_total[{{.window}}])) / sum(rate(t_total[{{.window}}]))'}\n",
                ),
                "promql",
                "<= 0.1%",
            ),
        ];
        for (why, text, kind, objective) in cases {
            let slo = only_slo(&text);
            assert_eq!(slo.indicator.kind(), kind, "{why}");
            assert_eq!(slo.objective.text, objective, "{why}");
        }
    }

    #[test]
    fn translations_keep_their_parts() {
        let slo = only_slo(&openslo(
            &ratio("bad", "x_total{code=\"500\"}", "x_total"),
            "target: 0.999",
        ));
        let Indicator::Ratio(read) = &slo.indicator else {
            panic!("a ratio: {:?}", slo.indicator)
        };
        assert_eq!(read.kind, RatioKind::Errors);
        assert_eq!(
            read.numerator.render("x_total", &[]),
            "x_total{code=\"500\"}"
        );
        assert!((slo.objective.limit - 0.001).abs() < 1e-15);

        let slo = only_slo(&openslo(
            &threshold("users{job=\"locust\"}"),
            "{op: gte, value: 50, target: 0.99}",
        ));
        let Indicator::Gauge(gauge) = &slo.indicator else {
            panic!("a gauge: {:?}", slo.indicator)
        };
        assert_eq!(
            gauge.aggregate,
            GaugeAggregate::Min,
            "the trough for a lower bound"
        );
        assert_eq!(gauge.selector.render_matchers(), "{job=\"locust\"}");

        let grouped = only_slo(&sloth(
            "      events:\n        error_query: sum by (op) (rate(e_total[{{.window}}]))\n        total_query: sum by (op) (rate(t_total[{{.window}}]))\n",
        ));
        assert_eq!(grouped.by, ["op"]);

        let windowed = only_slo(
            &openslo(&ratio("good", "g_total", "t_total"), "target: 0.99").replace(
                "  budgetingMethod",
                "  timeWindow: [{duration: 4w, isRolling: true}]\n  budgetingMethod",
            ),
        );
        assert_eq!(windowed.budget_period.as_secs(), 28 * 86_400);
    }

    #[test]
    fn refused_specs_name_their_code_and_position() {
        let total = "sum(rate(t_total[{{.window}}]))";
        let cases = [
            (
                "sum without is outside the subset",
                sloth(&format!(
                    "      events:\n        error_query: sum without (pod) (rate(e_total[{{{{.window}}}}]))\n        total_query: {total}\n"
                )),
                "spec::sloth::unsupported-query",
                "sum without",
            ),
            (
                "the two sides grouped differently",
                sloth(&format!(
                    "      events:\n        error_query: sum by (op) (rate(e_total[{{{{.window}}}}]))\n        total_query: {total}\n"
                )),
                "spec::sloth::grouping-mismatch",
                total,
            ),
            (
                "a plugin SLI",
                sloth("      plugin:\n        id: some/plugin\n"),
                "spec::sloth::plugin",
                "id: some/plugin",
            ),
            (
                "a Go template other than the window",
                sloth(&format!(
                    "      events:\n        error_query: sum(rate(e_total[{{{{.Window}}}}]))\n        total_query: {total}\n"
                )),
                "spec::sloth::template",
                "sum(rate(e_total[{{.Window",
            ),
            (
                "time slices",
                openslo(&ratio("good", "g_total", "t_total"), "target: 0.99")
                    .replace("Occurrences", "Timeslices"),
                "spec::openslo::timeslices",
                "Timeslices",
            ),
            (
                "a source other than Prometheus",
                openslo(&ratio("good", "g_total", "t_total"), "target: 0.99").replacen(
                    "Prometheus",
                    "Datadog",
                    1,
                ),
                "spec::openslo::not-prometheus",
                "Datadog",
            ),
            (
                "a query outside the subset",
                openslo(&ratio("good", "g_total / 2", "t_total"), "target: 0.99"),
                "spec::openslo::unsupported-query",
                "'g_total / 2'",
            ),
            (
                "a target of 1 is not a ratio below 1",
                openslo(&ratio("good", "g_total", "t_total"), "target: 1.0"),
                "spec::openslo::invalid-target",
                "1.0",
            ),
            (
                "another OpenSLO version",
                openslo(&ratio("good", "g_total", "t_total"), "target: 0.99")
                    .replace("openslo/v1", "openslo/v2alpha"),
                "spec::openslo::version",
                "openslo/v2alpha",
            ),
        ];
        for (why, text, code, needle) in cases {
            let errors = load_text(Path::new("slo.yaml"), &text).expect_err(why);
            let diagnostic = errors
                .diagnostics
                .iter()
                .find(|diagnostic| diagnostic.code == code)
                .unwrap_or_else(|| panic!("{why}: no {code} in {:?}", errors.diagnostics));
            let offset = text.find(needle).expect("the needle is in the text");
            let file = SourceFile::new(Path::new("slo.yaml"), text.clone());
            let (line, column) = file.line_column(offset);
            assert!(
                diagnostic
                    .one_line()
                    .starts_with(&format!("slo.yaml:{line}:{column}: ")),
                "{why}: {}",
                diagnostic.one_line()
            );
        }
    }
}
