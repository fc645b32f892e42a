//! Turning a file's YAML tree into [`ServiceSpec`]s: every field checked,
//! every threshold converted into its indicator's unit. Documents in the
//! OpenSLO and Sloth formats are handed to `interop`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use saphyr::{LoadableYamlNode, MarkedYaml};
use saphyr_parser::Span;

use super::diagnostic::{SourceFile, SpecDiagnostic};
use super::fields::{
    decode_by, decode_labels, decode_min_events, decode_no_data, decode_per_series,
    decode_sustained, duration_field, identifier,
};
use super::indicator::decode_indicator;
use super::interop::{self, Format};
use super::quantity::{Comparator, Threshold, Unit};
use super::yaml::{Context, Fields};
use super::{Indicator, LatencyTarget, Objective, Precondition, RatioKind, ServiceSpec, Slo};

const FILE_FIELDS: &[&str] = &["service", "labels", "slos"];
const SLO_FIELDS: &[&str] = &[
    "name",
    "description",
    "labels",
    "indicator",
    "objective",
    "warning",
    "requires",
    "by",
    "sustained",
    "min_events",
    "no_data",
    "per_series",
    "budget_period",
];
const PRECONDITION_FIELDS: &[&str] = &["indicator", "objective"];
const OBJECTIVE_HELP: &str = "write a comparator and a quantity, such as '< 200ms', '>= 99.9%', \
                              '>= 1000/s' or '== 0'";

/// What the files hold so far: native and Sloth services, and OpenSLO
/// documents waiting for the references between them to be resolved.
#[derive(Default)]
pub(super) struct Decoded {
    services: Vec<ServiceSpec>,
    openslo: interop::openslo::Collected,
}

impl Decoded {
    /// Every service: native and Sloth ones in file order, then the OpenSLO
    /// ones once their indicator references are resolved.
    pub(super) fn resolve(self, diagnostics: &mut Vec<SpecDiagnostic>) -> Vec<ServiceSpec> {
        let mut services = self.services;
        services.extend(self.openslo.resolve(diagnostics));
        services
    }
}

/// Decodes every YAML document in a file: a native document is one service,
/// and the format is told per document.
pub(super) fn decode_file(
    source: &SourceFile,
    decoded: &mut Decoded,
    diagnostics: &mut Vec<SpecDiagnostic>,
) {
    let mut context = Context {
        source,
        diagnostics,
    };
    let documents = match MarkedYaml::load_from_str(&source.text) {
        Ok(documents) => documents,
        Err(error) => {
            let marker = *error.marker();
            let span = saphyr_parser::Span::new(marker, marker);
            context.report(
                span,
                "spec::yaml",
                format!("{} is not valid YAML: {}", source.name, error.info()),
                "here",
                None,
            );
            return;
        }
    };
    // A stray `---` (at the end of a file, say) makes an empty document;
    // it holds no SLOs and is not an error.
    let documents: Vec<_> = documents
        .into_iter()
        .filter(|document| !matches!(document.data, saphyr::YamlData::Value(saphyr::Scalar::Null)))
        .collect();
    if documents.is_empty() {
        context.diagnostics.push(
            SpecDiagnostic::general("spec::empty-file", format!("{} is empty", source.name))
                .with_help("an SLO file has 'service' and a list of 'slos'"),
        );
        return;
    }
    for document in &documents {
        match interop::detect(&mut context, document) {
            Some(Format::Native) => decoded
                .services
                .extend(decode_service(&mut context, document)),
            Some(Format::Sloth) => decoded
                .services
                .extend(interop::sloth::decode(&mut context, document)),
            Some(Format::OpenSlo) => decoded.openslo.collect(&mut context, document),
            None => {}
        }
    }
}

fn decode_service(context: &mut Context<'_>, node: &MarkedYaml<'_>) -> Option<ServiceSpec> {
    decode_service_document(context, node, "the SLO file", FILE_FIELDS, decode_slo)
}

/// Reads one SLO from its node, given the service and the file's labels.
pub(super) type SloDecoder =
    fn(&mut Context<'_>, &MarkedYaml<'_>, &str, &BTreeMap<String, String>) -> Option<Slo>;

/// Reads a document naming a service, its labels and its SLOs (a native
/// file, or a Sloth spec, which has the same outline); `decode_slo` reads
/// each SLO.
pub(super) fn decode_service_document(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    what: &str,
    allowed: &[&str],
    decode_slo: SloDecoder,
) -> Option<ServiceSpec> {
    let fields = context.fields(node, what, allowed)?;
    let service = context
        .required(
            &fields,
            "service",
            "an SLO file",
            "name the service: 'service: summit-api'",
        )
        .and_then(|node| identifier(context, node, "the service name"));
    let labels = fields
        .get("labels")
        .map(|node| decode_labels(context, node))
        .unwrap_or_default();
    let slo_nodes = context
        .required(
            &fields,
            "slos",
            "an SLO file",
            "list the SLOs under 'slos:'",
        )
        .and_then(|node| context.sequence(node, "'slos'"));

    let slo_nodes = slo_nodes?;
    if slo_nodes.is_empty() {
        let node = fields.get("slos").expect("slos was read above");
        context.report(
            node.span,
            "spec::no-slos",
            format!(
                "service '{}' lists no SLOs",
                service.as_deref().unwrap_or("?")
            ),
            "empty list",
            Some("refusing an empty gate: an SLO file must define at least one SLO".into()),
        );
        return None;
    }

    // The SLOs are read even when the service name is wrong, so their own
    // problems are reported in the same run.
    let name = service.clone().unwrap_or_default();
    let slos = slo_nodes
        .iter()
        .filter_map(|node| decode_slo(context, node, &name, &labels))
        .collect();
    Some(ServiceSpec {
        service: service?,
        labels,
        slos,
    })
}

fn decode_slo(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    service: &str,
    file_labels: &BTreeMap<String, String>,
) -> Option<Slo> {
    let fields = context.fields(node, "an SLO", SLO_FIELDS)?;
    let name = context
        .required(
            &fields,
            "name",
            "an SLO",
            "give it a name unique within the service",
        )
        .and_then(|node| identifier(context, node, "an SLO name"));
    let what = match &name {
        Some(name) => format!("SLO '{name}'"),
        None => "an SLO".to_string(),
    };

    let indicator = context
        .required(
            &fields,
            "indicator",
            &what,
            "add an indicator such as 'latency:' or 'ratio:'",
        )
        .and_then(|node| decode_indicator(context, node, &what, service));
    let objective = indicator.as_ref().and_then(|indicator| {
        let node = context.required(&fields, "objective", &what, OBJECTIVE_HELP)?;
        decode_objective(context, node, indicator, &what)
    });
    let warning = match (fields.get("warning"), &indicator, &objective) {
        (Some(node), Some(indicator), Some(objective)) => {
            decode_warning(context, node, indicator, objective, &what)
        }
        _ => None,
    };

    let requires = decode_requires(context, &fields, &what, service);
    let by = decode_by(context, &fields, indicator.as_ref(), &what);
    let sustained = fields
        .get("sustained")
        .and_then(|node| decode_sustained(context, node, &what));
    let min_events = decode_min_events(context, &fields, &what);
    let no_data = decode_no_data(context, &fields, &what);
    let per_series = decode_per_series(context, &fields, indicator.as_ref(), &what);
    let budget_period = match fields.get("budget_period") {
        Some(node) => duration_field(context, node, "budget_period").and_then(|period| {
            if period >= Duration::from_secs(3600) {
                return Some(period);
            }
            context.report(
                node.span,
                "spec::invalid-budget-period",
                format!("{what}: budget_period must be at least 1h"),
                "too short",
                Some("error budgets are counted over days or weeks: 30d, 28d, 7d".into()),
            );
            None
        }),
        None => Some(Duration::from_secs(30 * 86_400)),
    };
    let description = fields
        .get("description")
        .and_then(|node| context.text(node, "description"))
        .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "));
    let mut labels = file_labels.clone();
    if let Some(node) = fields.get("labels") {
        labels.extend(decode_labels(context, node));
    }

    if let (Some(indicator), Some(objective)) = (&indicator, &objective) {
        let node = fields.get("objective").expect("objective was read above");
        check_error_budget(context, node.span, indicator, objective, &what);
        if matches!(indicator, Indicator::Gauge(_)) && objective.comparator == Comparator::Equal {
            context.report(
                node.span,
                "spec::gauge-equality",
                format!("{what}: '==' cannot judge a gauge's many samples"),
                "checks one side only",
                Some(
                    "bound it from one side: '<= 0' for never above zero, '>= N' for never below"
                        .into(),
                ),
            );
        }
    }
    if let (Some(Indicator::Promql(promql)), Some(Some(_))) = (&indicator, &min_events)
        && promql.events.is_none()
    {
        let node = fields.get("min_events").expect("min_events was read above");
        context.report(
            node.span,
            "spec::min-events-uncounted",
            format!("{what}: min_events needs an 'events' query on a promql indicator"),
            "nothing counts the events",
            Some(
                "add events: 'sum(increase(requests_total[${window}]))' to the promql indicator"
                    .into(),
            ),
        );
    }

    Some(Slo {
        service: service.to_string(),
        name: name?,
        description,
        labels,
        indicator: indicator?,
        objective: objective?,
        warning,
        requires: requires?,
        by: by?,
        sustained,
        min_events: min_events?,
        no_data: no_data?,
        per_series: per_series?,
        budget_period: budget_period?,
        location: context.location(node.span),
    })
}

/// Reads an objective and converts its limit into the indicator's unit.
pub(super) fn decode_objective(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    indicator: &Indicator,
    what: &str,
) -> Option<Objective> {
    let text = context.text(node, "an objective")?;
    objective_from_text(context, node.span, &text, indicator, what)
}

/// Reads objective text (written by the user, or by a translation from
/// another format) into the indicator's unit, refusing bounds that decide
/// nothing; problems point at `span`.
pub(super) fn objective_from_text(
    context: &mut Context<'_>,
    span: Span,
    text: &str,
    indicator: &Indicator,
    what: &str,
) -> Option<Objective> {
    let threshold = match Threshold::parse(text) {
        Ok(threshold) => threshold,
        Err(error) => {
            context.report(
                span,
                "spec::invalid-objective",
                format!("{what}: invalid objective: {}", error.problem),
                "cannot read this objective",
                Some(error.help),
            );
            return None;
        }
    };
    let unit = indicator.unit();
    match unit.convert(threshold.quantity) {
        Ok(limit) => {
            let objective = Objective {
                comparator: threshold.comparator,
                limit,
                text: threshold.text,
            };
            if let Some((problem, help)) = pointless(indicator, &objective) {
                context.report(
                    span,
                    "spec::pointless-objective",
                    format!("{what}: objective '{}' {problem}", objective.text),
                    "this bound decides nothing",
                    Some(help),
                );
                return None;
            }
            Some(objective)
        }
        Err(error) => {
            context.report(
                span,
                "spec::unit-mismatch",
                format!(
                    "{what}: objective '{text}' does not fit a {} indicator: {}",
                    indicator.kind(),
                    error.problem
                ),
                format!("the indicator's value is in {}", unit_phrase(unit)),
                Some(error.help),
            );
            None
        }
    }
}

/// An objective that no measurement could fail, or none could meet, is a
/// mistake: the gate would decide nothing. Counts, rates, durations and
/// ratios are never negative and ratios never exceed 100%; an error ratio
/// needs an upper bound and a success ratio a lower one.
fn pointless(indicator: &Indicator, objective: &Objective) -> Option<(String, String)> {
    let unit = indicator.unit();
    let non_negative = !matches!(unit, Unit::Number);
    let (comparator, limit) = (objective.comparator, objective.limit);
    let upper = comparator.is_upper_bound();
    let never = || "can never be met".to_string();
    let always = || "is always met".to_string();
    if non_negative {
        let help = format!("values in {} are never negative", unit_phrase(unit));
        if (comparator == Comparator::Less && limit <= 0.0) || (upper && limit < 0.0) {
            return Some((never(), help));
        }
        if !upper && (limit < 0.0 || (comparator == Comparator::GreaterOrEqual && limit == 0.0)) {
            return Some((always(), help));
        }
    }
    if unit == Unit::Ratio {
        let help = "a share lies between 0% and 100%".to_string();
        if limit > 1.0 || (comparator == Comparator::LessOrEqual && limit >= 1.0) {
            return Some((if upper { always() } else { never() }, help));
        }
        if comparator == Comparator::Greater && limit >= 1.0 {
            return Some((never(), help));
        }
    }
    let kind = match indicator {
        Indicator::Ratio(ratio) => Some(ratio.kind),
        Indicator::Latency(latency) if matches!(latency.target, LatencyTarget::Under { .. }) => {
            Some(RatioKind::Good)
        }
        _ => None,
    };
    match (kind, upper) {
        (Some(RatioKind::Errors), false) => Some((
            "bounds an error ratio from below".to_string(),
            "an error ratio needs an upper bound such as '< 0.1%'; for a success ratio use \
             'good:' with '>= 99.9%'"
                .to_string(),
        )),
        (Some(RatioKind::Good), true) if comparator != Comparator::Equal => Some((
            "bounds a success ratio from above".to_string(),
            "a success ratio needs a lower bound such as '>= 99.9%'; for an error ratio use \
             'errors:' with '< 0.1%'"
                .to_string(),
        )),
        _ => None,
    }
}

fn unit_phrase(unit: Unit) -> &'static str {
    match unit {
        Unit::Seconds => "seconds",
        Unit::Milliseconds => "milliseconds",
        Unit::PerSecond => "events per second",
        Unit::Ratio => "a ratio (write a percent)",
        Unit::Count => "a count of events",
        Unit::Number => "a plain number",
    }
}

fn decode_warning(
    context: &mut Context<'_>,
    node: &MarkedYaml<'_>,
    indicator: &Indicator,
    objective: &Objective,
    what: &str,
) -> Option<Objective> {
    let warning = decode_objective(context, node, indicator, what)?;
    let same_direction = objective.comparator.is_upper_bound()
        == warning.comparator.is_upper_bound()
        && objective.comparator != Comparator::Equal
        && warning.comparator != Comparator::Equal;
    let stricter = if warning.comparator.is_upper_bound() {
        warning.limit <= objective.limit
    } else {
        warning.limit >= objective.limit
    };
    if !same_direction || !stricter {
        context.report(
            node.span,
            "spec::warning-not-stricter",
            format!(
                "{what}: warning '{}' must be a stricter bound than objective '{}'",
                warning.text, objective.text
            ),
            "a value can miss the objective but meet this",
            Some(format!(
                "the warning flags values that meet the objective but come close, e.g. objective \
                 '< 200ms' with warning '< 180ms'; this objective is '{}'",
                objective.text
            )),
        );
        return None;
    }
    Some(warning)
}

/// A zero error budget makes burn rates infinite and can never be met by a
/// ratio measured with extrapolation, so it is refused with the alternative.
pub(super) fn check_error_budget(
    context: &mut Context<'_>,
    span: Span,
    indicator: &Indicator,
    objective: &Objective,
    what: &str,
) {
    let ratio_kind = match indicator {
        Indicator::Ratio(ratio) => Some(ratio.kind),
        Indicator::Latency(latency) if matches!(latency.target, LatencyTarget::Under { .. }) => {
            Some(RatioKind::Good)
        }
        _ => None,
    };
    let Some(kind) = ratio_kind else { return };
    let zero_budget = match (kind, objective.comparator) {
        (RatioKind::Good, Comparator::GreaterOrEqual | Comparator::Equal) => objective.limit >= 1.0,
        (RatioKind::Good, Comparator::Greater) => objective.limit >= 1.0,
        (RatioKind::Errors, Comparator::Less) => objective.limit <= 0.0,
        (RatioKind::Errors, Comparator::LessOrEqual | Comparator::Equal) => objective.limit <= 0.0,
        _ => false,
    };
    if zero_budget {
        context.report(
            span,
            "spec::zero-error-budget",
            format!(
                "{what}: objective must be below 100% (zero error budget makes burn rate undefined)"
            ),
            "this leaves no error budget",
            Some(
                "use an 'increase' indicator on the error counter with objective '== 0' for a \
                 zero-tolerance gate"
                    .into(),
            ),
        );
    }
}

fn decode_requires(
    context: &mut Context<'_>,
    fields: &Fields<'_, '_>,
    what: &str,
    service: &str,
) -> Option<Vec<Precondition>> {
    let Some(node) = fields.get("requires") else {
        return Some(Vec::new());
    };
    let items = context.sequence(node, "'requires'")?;
    let mut preconditions = Vec::new();
    let mut complete = true;
    for item in items {
        let precondition_what = format!("a precondition of {what}");
        let decoded = context
            .fields(item, &precondition_what, PRECONDITION_FIELDS)
            .and_then(|fields| {
                let indicator = context
                    .required(
                        &fields,
                        "indicator",
                        &precondition_what,
                        "say what load is required",
                    )
                    .and_then(|node| {
                        decode_indicator(context, node, &precondition_what, service)
                    })?;
                let objective = context
                    .required(&fields, "objective", &precondition_what, OBJECTIVE_HELP)
                    .and_then(|node| {
                        decode_objective(context, node, &indicator, &precondition_what)
                    })?;
                Some(Precondition {
                    indicator,
                    objective,
                })
            });
        match decoded {
            Some(precondition) => preconditions.push(precondition),
            None => complete = false,
        }
    }
    complete.then_some(preconditions)
}

/// Names are unique within a service, across all files.
pub(super) fn check_unique_names(services: &[ServiceSpec], diagnostics: &mut Vec<SpecDiagnostic>) {
    let mut seen: HashMap<(String, String), String> = HashMap::new();
    for slo in services.iter().flat_map(|service| &service.slos) {
        let key = (slo.service.clone(), slo.name.clone());
        let here = slo.location.position();
        if let Some(first) = seen.get(&key) {
            diagnostics.push(
                SpecDiagnostic::at(
                    slo.location.clone(),
                    "spec::duplicate-name",
                    format!("service '{}' defines SLO '{}' twice", slo.service, slo.name),
                    format!("'{}' again", slo.name),
                )
                .with_help(format!(
                    "first defined at {first}; names must be unique within a service"
                )),
            );
        } else {
            seen.insert(key, here);
        }
    }
}
