//! `summit-slo validate --preflight`: before a load test, ask Prometheus
//! whether every selector the selected SLOs read matches a series now. A
//! misspelt metric or label would otherwise cost a whole load test and end
//! as `no_data`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::compile::expr;
use crate::prometheus::{Client, QueryError, ResultData};
use crate::spec::diagnostic::did_you_mean;
use crate::spec::selector::{MatchKind, Matcher};
use crate::spec::{Indicator, SeriesRead, Slo, fill_template};

/// How far back metric names are listed for "did you mean".
const NAMES_SINCE: Duration = Duration::from_secs(3_600);

/// One selector to check, and the SLOs that read it.
struct Check {
    read: SeriesRead,
    slos: Vec<String>,
}

/// What the preflight found.
#[derive(Debug, Default)]
pub struct Preflight {
    /// Selectors checked.
    pub checked: usize,
    /// Selectors that matched at least one series.
    pub matched: usize,
    /// Counters of one outcome that have not counted yet.
    pub unborn: usize,
    /// One line per selector that matched nothing and must.
    pub missing: Vec<String>,
    /// Lines that do not fail the check: counters not yet counted, queries
    /// that could not be taken apart.
    pub notes: Vec<String>,
}

/// Checks every selector of `slos` against the server. An error means the
/// server could not be asked at all.
pub async fn preflight(client: &Client, slos: &[Slo]) -> Result<Preflight, QueryError> {
    let mut report = Preflight::default();
    let checks = collect(slos, &mut report.notes);
    let (since, now) = names_span();
    let mut names: Option<Vec<String>> = None;
    report.checked = checks.len();

    for check in checks {
        let text = render(&check.read);
        if matches(client, &text, now).await? {
            report.matched += 1;
            continue;
        }
        let metric = check.read.selector.metric.clone().unwrap_or_default();
        let by = check.slos.join(", ");
        if check.read.may_be_unborn && matches(client, &metric, now).await? {
            // The metric exists: the selector is a counter that has not
            // counted yet, unless a label or value looks misspelt.
            let problems = misspellings(client, &check.read, since, now).await?;
            if problems.is_empty() {
                report.notes.push(format!(
                    "{text} matches no series yet ({by}); {metric} exists, so this is a \
                     counter that has not counted yet"
                ));
                report.unborn += 1;
            } else {
                report.missing.push(format!(
                    "{text} matches no series ({by}): {}",
                    problems.join("; ")
                ));
            }
            continue;
        }
        if names.is_none() {
            names = Some(
                client
                    .label_values("__name__", "{__name__=~\".+\"}", since, now)
                    .await?,
            );
        }
        let known: Vec<&str> = names.iter().flatten().map(String::as_str).collect();
        let hint = if known.contains(&metric.as_str()) {
            format!("{metric} exists, but not with these labels")
        } else if let Some(close) = did_you_mean(&metric, &known) {
            format!("no metric {metric}; did you mean {close}?")
        } else if check.read.may_be_unborn {
            format!(
                "no metric {metric}; a counter that only appears with its first event cannot \
                 be checked before it counts"
            )
        } else {
            format!("no metric {metric}")
        };
        report
            .missing
            .push(format!("{text} matches no series ({by}): {hint}"));
    }
    Ok(report)
}

/// Likely typos in a selector whose metric exists but which matches
/// nothing: a label no series of the metric carries, or a value close to one
/// that exists — the same reading `verify` gives a ratio's errors side.
async fn misspellings(
    client: &Client,
    read: &SeriesRead,
    since: jiff::Timestamp,
    now: jiff::Timestamp,
) -> Result<Vec<String>, QueryError> {
    let metric = read.selector.metric.clone().unwrap_or_default();
    let mut labels = Vec::new();
    for matcher in &read.selector.matchers {
        let seen = client
            .label_values(&matcher.name, &metric, since, now)
            .await?;
        labels.push((matcher.clone(), seen));
    }
    let presence = crate::eval::Presence {
        metric,
        separate_metric: true,
        metric_exists: true,
        labels,
    };
    Ok(crate::eval::presence_problems(&presence).0)
}

/// What `verify` would refuse after the load test although every selector
/// matches: a `by` label on none of the series, a latency threshold with
/// no bucket edge at its bound.
pub async fn check_shapes(client: &Client, slos: &[Slo]) -> Result<Vec<String>, QueryError> {
    let (since, now) = names_span();
    let mut problems = Vec::new();
    for slo in slos {
        let Some(read) = slo
            .indicator
            .series_reads()
            .into_iter()
            .find(|read| !read.may_be_unborn)
        else {
            continue;
        };
        let text = render(&read);
        // A label on none of the series only says something when the
        // selector matches some.
        let matched = !slo.by.is_empty() && matches(client, &text, now).await?;
        for label in slo.by.iter().filter(|_| matched) {
            let labelled = read.selector.render(
                read.selector.metric.as_deref().unwrap_or_default(),
                &[Matcher::new(label, MatchKind::NotEqual, "")],
            );
            if !matches(client, &labelled, now).await? {
                problems.push(format!(
                    "{}: label '{label}' in 'by' is on none of the series of {text}; check its \
                     spelling",
                    slo.id()
                ));
            }
        }
        if let Indicator::Latency(latency) = &slo.indicator
            && let crate::spec::LatencyTarget::Under {
                bound,
                text: written,
            } = &latency.target
        {
            let bucket = format!(
                "{}_bucket{}",
                latency.histogram,
                latency.selector.render_matchers()
            );
            let edges = client.label_values("le", &bucket, since, now).await?;
            let numbers: Vec<f64> = edges
                .iter()
                .filter_map(|edge| crate::prometheus::parse_bucket_bound(edge).ok())
                .collect();
            let same = |edge: &f64| (edge - bound).abs() <= 1e-9 * bound.abs().max(1.0);
            if !numbers.is_empty() && !numbers.iter().any(same) {
                problems.push(format!(
                    "{}: no bucket edge of {} at {written}; available edges: {}",
                    slo.id(),
                    latency.histogram,
                    edges.join(", ")
                ));
            }
        }
    }
    Ok(problems)
}

/// Now, and the start of the span whose metric names, labels and bucket
/// edges are read: the last `NAMES_SINCE`.
fn names_span() -> (jiff::Timestamp, jiff::Timestamp) {
    let now = crate::time::now();
    let since = now
        .checked_sub(jiff::SignedDuration::try_from(NAMES_SINCE).unwrap_or_default())
        .unwrap_or(now);
    (since, now)
}

/// The selectors to check, each once, in the order the SLOs read them.
fn collect(slos: &[Slo], notes: &mut Vec<String>) -> Vec<Check> {
    let mut checks: Vec<Check> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for slo in slos {
        let indicators = std::iter::once(&slo.indicator).chain(
            slo.requires
                .iter()
                .map(|precondition| &precondition.indicator),
        );
        for indicator in indicators {
            for read in reads(slo, indicator, notes) {
                let text = render(&read);
                match index.get(&text) {
                    Some(&at) => {
                        let check = &mut checks[at];
                        if !check.slos.contains(&slo.id()) {
                            check.slos.push(slo.id());
                        }
                        // Required by one SLO is required.
                        check.read.may_be_unborn &= read.may_be_unborn;
                    }
                    None => {
                        index.insert(text, checks.len());
                        checks.push(Check {
                            read,
                            slos: vec![slo.id()],
                        });
                    }
                }
            }
        }
    }
    checks
}

/// The series an indicator reads; for a hand-written query, the selectors
/// in its text, when it stays within the subset summit-slo can take apart.
fn reads(slo: &Slo, indicator: &Indicator, notes: &mut Vec<String>) -> Vec<SeriesRead> {
    let Indicator::Promql(promql) = indicator else {
        return indicator.series_reads();
    };
    let parsed = fill_template(&promql.query, "5m", &promql.selector, &slo.service)
        .ok()
        .and_then(|text| expr::parse(&text).ok());
    match parsed {
        Some(plan) => plan
            .selectors()
            .into_iter()
            .filter(|selector| selector.metric.is_some())
            // The query may default what is absent (`or vector(0)`), as
            // a ratio's errors side does: judged the same way.
            .map(|selector| SeriesRead {
                selector: selector.clone(),
                may_be_unborn: true,
            })
            .collect(),
        None => {
            notes.push(format!(
                "{}: its query is not checked (outside the PromQL subset summit-slo reads)",
                slo.id()
            ));
            Vec::new()
        }
    }
}

/// True when `selector` matches at least one series at `now`.
async fn matches(
    client: &Client,
    selector: &str,
    now: jiff::Timestamp,
) -> Result<bool, QueryError> {
    let answer = client.query(&format!("count({selector})"), now).await?;
    Ok(match answer.data {
        ResultData::Vector(samples) => !samples.is_empty(),
        ResultData::Scalar(_) | ResultData::String(_) | ResultData::Matrix(_) => true,
    })
}

fn render(read: &SeriesRead) -> String {
    let selector = &read.selector;
    selector.render(selector.metric.as_deref().unwrap_or_default(), &[])
}
