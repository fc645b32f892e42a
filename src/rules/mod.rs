//! Prometheus rules from SLOs, so the objectives a release was judged
//! against also alert in production, and feed `serve`'s gate.
//!
//! SLOs with an error budget (ratio SLOs, latency SLOs read as "the share
//! of requests slower than the bound") get recording rules for their error
//! ratio over the SRE workbook's windows and two multi-window, multi-burn-
//! rate alerts: a fast burn pages, a slow one opens a ticket. Every other
//! SLO (gauges, counters, means, hand-written queries) gets a recording of
//! its value over a short window and an alert while the objective is missed.
//! Every alert carries `slo`, `service` and `severity` labels.
//!
//! This module builds the rules as data; [`render`] writes them as the YAML
//! Prometheus and `promtool check rules` read. It leaves loading and
//! selecting SLOs to the caller and never talks to a server.

mod render;
mod threshold;

use std::collections::BTreeMap;
use std::time::Duration;

pub use render::render;

use crate::compile::expr::{AggregateOperator, BinaryOperator, Expr, RangeFunction};
use crate::compile::le_matcher;
use crate::spec::{Indicator, LatencyTarget, RatioKind, Selector, Slo, Unit, fill_template};
use crate::time::promql_duration;

/// The windows error ratios are recorded over: the short and long windows
/// of the burn-rate alerts below.
const RATIO_WINDOWS: [Duration; 7] = [
    minutes(5),
    minutes(30),
    minutes(60),
    minutes(120),
    minutes(360),
    minutes(1440),
    minutes(4320),
];

/// The SRE workbook's burn-rate alerts for a 30-day budget: page when 2% of
/// the budget goes in an hour or 5% in six hours; open a ticket when 10%
/// goes in a day or in three days. Each pairs a long window with a short one
/// (a twelfth of it), so the alert ends soon after the burning stops.
const BURNS: [Burn; 4] = [
    Burn::new(Severity::Page, 0.02, minutes(60), minutes(5)),
    Burn::new(Severity::Page, 0.05, minutes(360), minutes(30)),
    Burn::new(Severity::Ticket, 0.10, minutes(1440), minutes(120)),
    Burn::new(Severity::Ticket, 0.10, minutes(4320), minutes(360)),
];

const fn minutes(count: u64) -> Duration {
    Duration::from_secs(count * 60)
}

/// How urgent an alert is; its `severity` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Someone must act now; `serve`'s default gate matcher closes on it.
    Page,
    /// To be looked at in working hours; the gate stays open.
    Ticket,
}

impl Severity {
    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::Ticket => "ticket",
        }
    }
}

/// One burn-rate condition: a share of the budget spent within a window.
#[derive(Debug, Clone, Copy)]
struct Burn {
    severity: Severity,
    /// The share of the budget (0..1) spent in `long`.
    spent: f64,
    long: Duration,
    short: Duration,
}

impl Burn {
    const fn new(severity: Severity, spent: f64, long: Duration, short: Duration) -> Self {
        Self {
            severity,
            spent,
            long,
            short,
        }
    }

    /// How many times faster than the budget allows errors must come for
    /// `spent` of a budget counted over `period` to go within `long`; never
    /// below 1, which would alert on a service that is within its budget.
    fn factor(self, period: Duration) -> f64 {
        (self.spent * period.as_secs_f64() / self.long.as_secs_f64()).max(1.0)
    }
}

/// Options that shape the rules.
#[derive(Debug, Clone)]
pub struct RuleOptions {
    /// The window a threshold SLO's value is recorded over.
    pub threshold_window: Duration,
    /// How long a threshold must be missed before its alert fires.
    pub threshold_for: Duration,
}

impl Default for RuleOptions {
    fn default() -> Self {
        Self {
            threshold_window: minutes(5),
            threshold_for: minutes(5),
        }
    }
}

/// One Prometheus rule group.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleGroup {
    /// The group's name, unique in the file.
    pub name: String,
    /// Its rules, in evaluation order.
    pub rules: Vec<Rule>,
}

/// A recording or an alerting rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// `record:`.
    Record {
        /// The recorded metric's name.
        name: String,
        /// The expression.
        expr: String,
        /// Labels added to every recorded series.
        labels: BTreeMap<String, String>,
    },
    /// `alert:`.
    Alert {
        /// The alert's name.
        name: String,
        /// The expression; the alert fires for every series it returns.
        expr: String,
        /// How long it must hold before the alert fires.
        for_duration: Option<Duration>,
        /// Labels, `slo`, `service` and `severity` among them.
        labels: BTreeMap<String, String>,
        /// `summary` and `description`.
        annotations: BTreeMap<String, String>,
    },
}

/// What an SLO does not get, and why (an alert that could never fire, a
/// label the rules set themselves); written as a comment in the rules file
/// and on stderr, so nothing is left out silently.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// `service/name`.
    pub slo: String,
    /// What is left out and why, following the SLO's name.
    pub text: String,
}

/// The rules for a set of SLOs: per service, a group of recordings and a
/// group of alerts.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// The groups, recordings before alerts for each service.
    pub groups: Vec<RuleGroup>,
    /// What SLOs do not get, and why.
    pub notes: Vec<Note>,
}

/// Builds the rules for `slos`, grouped by service in the order given.
pub fn build(slos: &[Slo], options: &RuleOptions) -> RuleSet {
    let mut services: Vec<(&str, Vec<&Slo>)> = Vec::new();
    for slo in slos {
        match services
            .iter_mut()
            .find(|(service, _)| *service == slo.service)
        {
            Some((_, members)) => members.push(slo),
            None => services.push((&slo.service, vec![slo])),
        }
    }

    let mut set = RuleSet {
        groups: Vec::new(),
        notes: Vec::new(),
    };
    for (service, members) in services {
        let mut recordings = Vec::new();
        let mut alerts = Vec::new();
        for slo in members {
            if let Some(label) = slo
                .by
                .iter()
                .find(|label| RESERVED.contains(&label.as_str()))
            {
                set.notes.push(Note {
                    slo: slo.id(),
                    text: format!(
                        "gets no rules: it groups by '{label}', a label every rule sets itself"
                    ),
                });
                continue;
            }
            for label in slo.labels.keys().filter(|label| !writable(slo, label)) {
                set.notes.push(Note {
                    slo: slo.id(),
                    text: format!(
                        "does not pass on its label '{label}': the rules set it, group by it, or \
                         Prometheus reserves it"
                    ),
                });
            }
            match budget_of(slo) {
                Some(budget) => {
                    burn_rules(slo, &budget, &mut recordings, &mut alerts, &mut set.notes)
                }
                None => {
                    threshold::threshold_rules(slo, options, &mut recordings, &mut alerts, &mut set)
                }
            }
        }
        set.groups.push(RuleGroup {
            name: format!("summit-slo:{service}:recordings"),
            rules: recordings,
        });
        if !alerts.is_empty() {
            set.groups.push(RuleGroup {
                name: format!("summit-slo:{service}:alerts"),
                rules: alerts,
            });
        }
    }
    set
}

/// An SLO read as an error budget: how to compute its error ratio over a
/// window, and the ratio (0..1) of events allowed to be errors.
struct Budget {
    /// The error ratio over a window, as PromQL.
    error_ratio: Box<dyn Fn(Duration) -> String>,
    /// The allowed error ratio.
    allowed: f64,
    /// What an error is, for the alert's description.
    meaning: String,
}

/// The SLO's error budget, when it has one: a ratio or a latency SLO whose
/// objective leaves a share of events (strictly between 0 and 1) to fail.
fn budget_of(slo: &Slo) -> Option<Budget> {
    let by = slo.by.clone();
    let objective = &slo.objective;
    let (error_ratio, allowed, meaning): (Box<dyn Fn(Duration) -> String>, f64, String) = match &slo
        .indicator
    {
        Indicator::Ratio(ratio) => {
            let allowed = match ratio.kind {
                RatioKind::Errors if objective.comparator.is_upper_bound() => objective.limit,
                RatioKind::Good if !objective.comparator.is_upper_bound() => 1.0 - objective.limit,
                _ => return None,
            };
            let (numerator, total) = (ratio.numerator.clone(), ratio.total.clone());
            let kind = ratio.kind;
            let meaning = match kind {
                RatioKind::Errors => format!("events counted by {}", render_series(&numerator)),
                RatioKind::Good => {
                    format!("events not counted by {}", render_series(&numerator))
                }
            };
            let error_ratio = move |window: Duration| {
                let share = share(&numerator, &total, &by, window, true);
                match kind {
                    RatioKind::Errors => share,
                    RatioKind::Good => complement(share),
                }
                .to_string()
            };
            (Box::new(error_ratio), allowed, meaning)
        }
        Indicator::Latency(latency) => {
            let (bound, allowed) = match &latency.target {
                LatencyTarget::Quantile(quantile) if objective.comparator.is_upper_bound() => {
                    (objective.limit, 1.0 - quantile)
                }
                LatencyTarget::Under { bound, .. } if !objective.comparator.is_upper_bound() => {
                    (*bound, 1.0 - objective.limit)
                }
                _ => return None,
            };
            let (under, total) = under_and_total(latency, bound);
            let meaning = format!("requests slower than {}", latency.unit.format(bound));
            // Buckets are exported together, so a missing edge at the bound
            // is absent, never zero requests under it: it must not read as
            // every request being slow.
            let error_ratio = move |window: Duration| {
                complement(share(&under, &total, &by, window, false)).to_string()
            };
            (Box::new(error_ratio), allowed, meaning)
        }
        // A hand-written error ratio (Sloth's raw SLIs): the query is the
        // error ratio over `${window}`.
        Indicator::Promql(promql)
            if slo.indicator.unit() == Unit::Ratio && objective.comparator.is_upper_bound() =>
        {
            let (query, selector, service) = (
                promql.query.clone(),
                promql.selector.clone(),
                slo.service.clone(),
            );
            fill_template(&query, "5m", &selector, &service).ok()?;
            let error_ratio = move |window: Duration| {
                let text = fill_template(&query, &promql_duration(window), &selector, &service)
                    .expect("the template filled in for another window");
                format!("({})", text.trim())
            };
            (
                Box::new(error_ratio),
                objective.limit,
                "the query's error ratio".to_string(),
            )
        }
        _ => return None,
    };
    (allowed > 0.0 && allowed < 1.0).then_some(Budget {
        error_ratio,
        allowed,
        meaning,
    })
}

/// A histogram's observations at or under `bound` (its bucket at that
/// edge) and all its observations (its count).
fn under_and_total(latency: &crate::spec::Latency, bound: f64) -> (Selector, Selector) {
    let series = |suffix: &str| Selector {
        metric: Some(format!("{}_{suffix}", latency.histogram)),
        matchers: latency.selector.matchers.clone(),
    };
    let mut under = series("bucket");
    under.matchers.push(le_matcher(bound, None));
    (under, series("count"))
}

/// `numerator / total` of per-second rates over `window`, per group. With
/// `may_be_absent`, an absent numerator (a counter not yet incremented)
/// reads as 0; an absent total stays absent.
fn share(
    numerator: &Selector,
    total: &Selector,
    by: &[String],
    window: Duration,
    may_be_absent: bool,
) -> Expr {
    let rate = |series: &Selector| {
        Expr::aggregate(
            AggregateOperator::Sum,
            by,
            Expr::range(
                RangeFunction::Rate,
                series.metric.as_deref().unwrap_or_default(),
                &Selector {
                    metric: None,
                    matchers: series.matchers.clone(),
                },
                &[],
                window,
            ),
        )
    };
    let numerator = if may_be_absent {
        let zero = Expr::binary(BinaryOperator::Multiply, Expr::Number(0.0), rate(total));
        Expr::binary(BinaryOperator::Or, rate(numerator), zero).paren()
    } else {
        rate(numerator)
    };
    Expr::binary(BinaryOperator::Divide, numerator, rate(total))
}

/// `1 - (share)`.
fn complement(share: Expr) -> Expr {
    Expr::binary(BinaryOperator::Subtract, Expr::Number(1.0), share.paren())
}

/// The recording rules' metric name for the error ratio over `window`.
fn error_ratio_name(window: Duration) -> String {
    format!("slo:sli_error:ratio_rate{}", short_duration(window))
}

/// The labels the rules set themselves.
const RESERVED: [&str; 3] = ["service", "slo", "severity"];

/// True when the SLO's label `name` can be passed on to its rules: a valid
/// name, not reserved by Prometheus (`__…`) or by the rules, not one the
/// SLO groups by (the groups' own values would clash), and a value without
/// a NUL.
fn writable(slo: &Slo, name: &str) -> bool {
    crate::spec::selector::is_label_name(name)
        && !name.starts_with("__")
        && !RESERVED.contains(&name)
        && !slo.by.iter().any(|label| label == name)
        && slo
            .labels
            .get(name)
            .is_some_and(|value| !value.contains('\0'))
}

/// The labels every rule of an SLO carries: the SLO's own labels that can
/// be passed on, then `service` and `slo`.
fn slo_labels(slo: &Slo) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = slo
        .labels
        .iter()
        .filter(|(name, _)| writable(slo, name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    labels.insert("service".into(), slo.service.clone());
    labels.insert("slo".into(), slo.name.clone());
    labels
}

/// An alert's labels: the SLO's, as text Prometheus will not expand, and
/// `severity`.
fn alert_labels(labels: &BTreeMap<String, String>, severity: Severity) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = labels
        .iter()
        .map(|(name, value)| (name.clone(), literal(value)))
        .collect();
    labels.insert("severity".into(), severity.name().into());
    labels
}

/// The recorded series of one SLO: `name{service="…", slo="…"}`.
fn recorded(name: &str, slo: &Slo) -> Expr {
    Expr::Instant(Selector {
        metric: Some(name.to_string()),
        matchers: ["service", "slo"]
            .into_iter()
            .zip([&slo.service, &slo.name])
            .map(|(label, value)| {
                crate::spec::selector::Matcher::new(
                    label,
                    crate::spec::selector::MatchKind::Equal,
                    value,
                )
            })
            .collect(),
    })
}

fn burn_rules(
    slo: &Slo,
    budget: &Budget,
    recordings: &mut Vec<Rule>,
    alerts: &mut Vec<Rule>,
    notes: &mut Vec<Note>,
) {
    let labels = slo_labels(slo);
    for window in RATIO_WINDOWS {
        recordings.push(Rule::Record {
            name: error_ratio_name(window),
            expr: (budget.error_ratio)(window),
            labels: labels.clone(),
        });
    }

    for severity in [Severity::Page, Severity::Ticket] {
        // An error ratio never exceeds 1: a pair whose limit is 1 or more
        // (a p50 SLO's 50% budget burnt 14.4 times over) could never fire.
        let (burns, impossible): (Vec<Burn>, Vec<Burn>) = BURNS
            .into_iter()
            .filter(|burn| burn.severity == severity)
            .partition(|burn| burn.factor(slo.budget_period) * budget.allowed < 1.0);
        for burn in &impossible {
            notes.push(Note {
                slo: slo.id(),
                text: format!(
                    "gets no {} burn over {} and {}: {:.1} times a budget of {}% is more than every event failing",
                    severity.name(),
                    short_duration(burn.long),
                    short_duration(burn.short),
                    burn.factor(slo.budget_period),
                    crate::spec::quantity::significant(budget.allowed * 100.0)
                ),
            });
        }
        if burns.is_empty() {
            continue;
        }
        let conditions: Vec<Expr> = burns
            .iter()
            .map(|burn| {
                let limit = tidy(burn.factor(slo.budget_period) * budget.allowed);
                let over = |window| {
                    Expr::binary(
                        BinaryOperator::Greater,
                        recorded(&error_ratio_name(window), slo),
                        Expr::Number(limit),
                    )
                };
                Expr::binary(BinaryOperator::And, over(burn.long), over(burn.short)).paren()
            })
            .collect();
        let expr = conditions
            .into_iter()
            .reduce(|left, right| Expr::binary(BinaryOperator::Or, left, right))
            .expect("burns is not empty");
        let windows: Vec<String> = burns
            .iter()
            .map(|burn| {
                format!(
                    "{:.1}x over {} and {}",
                    burn.factor(slo.budget_period),
                    short_duration(burn.long),
                    short_duration(burn.short)
                )
            })
            .collect();
        alerts.push(Rule::Alert {
            name: match severity {
                Severity::Page => "SloErrorBudgetBurnFast",
                Severity::Ticket => "SloErrorBudgetBurnSlow",
            }
            .into(),
            expr: expr.to_string(),
            for_duration: None,
            labels: alert_labels(&labels, severity),
            annotations: BTreeMap::from([
                (
                    "summary".into(),
                    literal(&format!(
                        "{} is spending its error budget too fast",
                        slo.id()
                    )),
                ),
                (
                    "description".into(),
                    literal(&format!(
                        "{}: errors ({}) spend the {} budget of {} at {} (objective {}).",
                        slo.id(),
                        budget.meaning,
                        crate::spec::quantity::significant(budget.allowed * 100.0) + "%",
                        crate::time::format_duration(slo.budget_period),
                        windows.join(", or "),
                        slo.objective.text
                    )),
                ),
            ]),
        });
    }

    alerts.push(absent_alert(slo, &labels, &error_ratio_name(minutes(60))));
}

/// A ticket while the SLO's recording has no series at all (a renamed
/// metric, a missing bucket edge), which would otherwise keep its other
/// alerts quiet for ever.
fn absent_alert(slo: &Slo, labels: &BTreeMap<String, String>, recording: &str) -> Rule {
    Rule::Alert {
        name: "SloIndicatorAbsent".into(),
        expr: format!("absent({})", recorded(recording, slo)),
        for_duration: Some(minutes(15)),
        labels: alert_labels(labels, Severity::Ticket),
        annotations: BTreeMap::from([(
            "summary".into(),
            literal(&format!(
                "{} has no {recording} series, so its alerts cannot fire",
                slo.id()
            )),
        )]),
    }
}

/// A limit without binary floating-point noise: 14.4 × 0.05 is written
/// 0.72, not 0.7200000000000006, and 1 - 0.9995 is 0.0005.
fn tidy(value: f64) -> f64 {
    format!("{value:.9e}").parse().unwrap_or(value)
}

/// Text for an alert's labels and annotations, which Prometheus expands as
/// templates: a `{{` from a label value or selector is written so that it
/// stays text.
fn literal(text: &str) -> String {
    text.replace("{{", "{{ \"{{\" }}")
}

/// A series selector as the user wrote it, for descriptions.
fn render_series(series: &Selector) -> String {
    series.render(series.metric.as_deref().unwrap_or_default(), &[])
}

/// `5m`, `6h`, `3d`: the largest whole unit, as rule names and PromQL
/// ranges spell windows.
fn short_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    for (unit, length) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if seconds >= length && seconds.is_multiple_of(length) {
            return format!("{}{unit}", seconds / length);
        }
    }
    format!("{seconds}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burn_factors_follow_the_workbook_for_thirty_days() {
        let month = Duration::from_secs(30 * 86_400);
        let factors: Vec<f64> = BURNS.iter().map(|burn| burn.factor(month)).collect();
        // 2% in 1h, 5% in 6h, 10% in 1d, 10% in 3d of a 720h budget.
        for (factor, expected) in factors.iter().zip([14.4, 6.0, 3.0, 1.0]) {
            assert!((factor - expected).abs() < 1e-9, "{factors:?}");
        }
    }

    #[test]
    fn a_short_budget_period_never_alerts_below_a_burn_rate_of_one() {
        // 10% of a 7-day budget in three days is a burn rate of 0.23: the
        // service would still end within its budget.
        let week = Duration::from_secs(7 * 86_400);
        assert_eq!(BURNS[3].factor(week), 1.0);
        assert!((BURNS[0].factor(week) - 3.36).abs() < 1e-9);
    }

    #[test]
    fn windows_are_spelt_in_their_largest_whole_unit() {
        for (seconds, text) in [
            (300, "5m"),
            (3_600, "1h"),
            (4_320 * 60, "3d"),
            (90, "90s"),
            (5_400, "90m"),
        ] {
            assert_eq!(short_duration(Duration::from_secs(seconds)), text);
        }
    }

    #[test]
    fn limits_are_written_without_floating_point_noise() {
        assert_eq!(tidy(14.4 * 0.05).to_string(), "0.72");
        assert_eq!(tidy(6.0 * 0.001).to_string(), "0.006");
        assert_eq!(tidy(1.0 - 0.9995), 0.0005);
        assert_eq!(tidy(1.0 / 3.0), 0.333_333_333_3, "10 significant digits");
    }
}
