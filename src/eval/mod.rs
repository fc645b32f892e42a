//! Verdicts: runs every selected SLO's queries against the server and
//! judges the answers.
//!
//! All queries of all SLOs are started at once and bounded by the client's
//! concurrency limit, so one slow query does not hold up the others and one
//! failing query does not hide the others' verdicts. Judgement itself is
//! pure and lives in `judge` and `conditions`.

mod conditions;
mod intervals;
mod judge;
mod outcome;
mod scrapes;
mod series;
mod source;
mod targets;

use tokio::task::JoinHandle;
use tracing::Instrument;

pub use intervals::ScrapeIntervals;
pub use judge::{Answers, JudgeOptions, Presence, judge, presence_problems};
pub use outcome::{
    AnnotationRecord, Budget, CommandRun, GroupOutcome, PreconditionOutcome, Reason, SloOutcome,
    SustainedOutcome, Trend, Verdict, Verification,
};
pub use scrapes::mark_unreliable_scrapes;
pub use series::format_labels;
pub use source::Source;

use crate::compile::Query;
use crate::compile::{self, CompileError, CompileOptions, CompiledSlo};
use crate::prometheus::{QueryError, QueryResult, parse_bucket_bound};
use crate::spec::{Indicator, LatencyTarget, Slo};
use crate::window::Window;

/// How a verification runs.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The window to judge.
    pub window: Window,
    /// Use values the server built from partial data (labelled as such).
    pub allow_partial: bool,
    /// Count a warn as a failure in the exit code.
    pub strict: bool,
    /// What is known of the scrape intervals.
    pub scrape_intervals: ScrapeIntervals,
    /// Also fetch each indicator across the window, for charts.
    pub trend: bool,
}

/// Why a verification could not start.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct VerifyError {
    /// Every SLO that cannot be compiled for this window.
    pub errors: Vec<CompileError>,
}

/// Verifies `slos` over the window.
pub async fn verify(
    slos: &[Slo],
    source: &Source,
    options: &VerifyOptions,
) -> Result<Verification, VerifyError> {
    let mut plans = Vec::with_capacity(slos.len());
    let mut errors = Vec::new();
    for slo in slos {
        match plan(slo, source, options).await {
            Ok(plan) => plans.push(plan),
            Err(error) => errors.push(error),
        }
    }
    if !errors.is_empty() {
        return Err(VerifyError { errors });
    }

    let started: Vec<_> = plans
        .into_iter()
        .map(|plan| match plan {
            Plan::Compiled(compiled) => {
                let mut pending = start_queries(&compiled, source, options.window);
                if options.trend {
                    let interval = options.scrape_intervals.for_slo(&compiled.slo);
                    pending.trend =
                        compile::trend(&compiled.slo, &options.window, interval, source.dialect())
                            .map(|plan| {
                                let source = source.clone();
                                let query = plan.clone();
                                let handle = tokio::spawn(async move {
                                    source
                                        .range(&query.query, query.start, query.end, query.step)
                                        .await
                                });
                                (plan, handle)
                            });
                }
                Started::Pending(compiled, Box::new(pending))
            }
            Plan::Decided(outcome) => Started::Decided(outcome),
        })
        .collect();

    let judge_options = JudgeOptions {
        window: options.window,
        allow_partial: options.allow_partial,
        scrape_interval_known: false,
    };
    let mut outcomes = Vec::with_capacity(started.len());
    for started in started {
        let outcome = match started {
            Started::Pending(compiled, mut pending) => {
                let trend = pending.trend.take();
                let mut answers = pending.collect().await;
                answers.numerator_presence =
                    numerator_presence(&compiled, &answers, source, options.window).await;
                let judge_options = JudgeOptions {
                    scrape_interval_known: options
                        .scrape_intervals
                        .for_slo(&compiled.slo)
                        .is_some(),
                    ..judge_options
                };
                let mut outcome = judge(&compiled, answers, &judge_options);
                if let Some((plan, handle)) = trend {
                    outcome.trend = trend_of(&plan, finish(handle).await);
                }
                outcome
            }
            Started::Decided(outcome) => *outcome,
        };
        tracing::debug!(slo = %outcome.slo.id(), verdict = outcome.verdict.name(), "judged");
        outcomes.push(outcome);
    }

    targets::mark_down_targets(&mut outcomes, source, &options.window).await;
    let verification = Verification::new(options.window, outcomes, options.strict);
    tracing::info!(
        window = %options.window.describe(),
        slos = verification.outcomes.len(),
        verdict = verification.verdict.name(),
        pass = verification.count(Verdict::Pass),
        warn = verification.count(Verdict::Warn),
        fail = verification.count(Verdict::Fail),
        inconclusive = verification.count(Verdict::Inconclusive),
        "verification finished"
    );
    Ok(verification)
}

enum Plan {
    Compiled(Box<CompiledSlo>),
    Decided(Box<SloOutcome>),
}

enum Started {
    Pending(Box<CompiledSlo>, Box<PendingAnswers>),
    Decided(Box<SloOutcome>),
}

/// Compiles one SLO, first asking the server how a latency threshold's
/// bucket edge is spelled (`1` or `1.0`) when the SLO has one.
async fn plan(slo: &Slo, source: &Source, options: &VerifyOptions) -> Result<Plan, CompileError> {
    let mut compile_options = CompileOptions {
        scrape_interval: options.scrape_intervals.for_slo(slo),
        le_spellings: None,
        dialect: source.dialect(),
    };
    if let Indicator::Latency(latency) = &slo.indicator
        && let LatencyTarget::Under { bound, text } = &latency.target
    {
        let selector = crate::spec::Selector {
            metric: Some(format!("{}_bucket", latency.histogram)),
            matchers: latency.selector.matchers.clone(),
        };
        match source
            .label_values("le", &selector, options.window.start, options.window.end)
            .await
        {
            Ok(values) if !values.is_empty() => {
                let matching: Vec<String> = values
                    .iter()
                    .filter(|value| {
                        parse_bucket_bound(value)
                            .is_ok_and(|edge| (edge - bound).abs() <= bound.abs() * 1e-9)
                    })
                    .cloned()
                    .collect();
                if matching.is_empty() {
                    let compiled = compile::compile(slo, &options.window, &compile_options)?;
                    return Ok(Plan::Decided(Box::new(bucket_not_found(
                        &compiled, text, &values,
                    ))));
                }
                compile_options.le_spellings = Some(matching);
            }
            // No buckets at all: the query will find no data and say so.
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(slo = %slo.id(), %error, "cannot list bucket edges; matching common spellings")
            }
        }
    }
    compile::compile(slo, &options.window, &compile_options)
        .map(|compiled| Plan::Compiled(Box::new(compiled)))
}

fn bucket_not_found(compiled: &CompiledSlo, threshold: &str, values: &[String]) -> SloOutcome {
    let mut edges: Vec<(f64, &String)> = values
        .iter()
        .filter_map(|value| parse_bucket_bound(value).ok().map(|edge| (edge, value)))
        .collect();
    edges.sort_by(|left, right| left.0.total_cmp(&right.0));
    let listed: Vec<&str> = edges.iter().map(|(_, value)| value.as_str()).collect();
    let slo = &compiled.slo;
    let mut outcome = SloOutcome::new(slo.clone(), compiled.window.value.text.clone());
    outcome.reason = Some(Reason::BucketNotFound);
    outcome.detail = format!(
        "no bucket edge of {} equals the threshold {threshold}; available edges: {}",
        match &slo.indicator {
            Indicator::Latency(latency) => latency.histogram.as_str(),
            _ => "the histogram",
        },
        listed.join(", ")
    );
    outcome
}

/// When a ratio's numerator matched no series (and so reads as zero), asks
/// which of its metric and label values exist at all, so a misspelt errors
/// selector is not taken for a clean run.
async fn numerator_presence(
    compiled: &CompiledSlo,
    answers: &Answers,
    source: &Source,
    window: Window,
) -> Option<Presence> {
    let Indicator::Ratio(ratio) = &compiled.slo.indicator else {
        return None;
    };
    let empty = matches!(
        &answers.numerator,
        Some(Ok(QueryResult { data: crate::prometheus::ResultData::Vector(samples), .. })) if samples.is_empty()
    );
    if !empty {
        return None;
    }
    let metric = ratio.numerator.metric.clone()?;
    let bare = crate::spec::Selector {
        metric: Some(metric.clone()),
        matchers: Vec::new(),
    };
    let metric_exists = !source
        .label_values("__name__", &bare, window.start, window.end)
        .await
        .ok()?
        .is_empty();
    let mut labels = Vec::new();
    for matcher in &ratio.numerator.matchers {
        if ratio.total.matchers.contains(matcher) {
            continue;
        }
        let seen = source
            .label_values(&matcher.name, &bare, window.start, window.end)
            .await
            .ok()?;
        labels.push((matcher.clone(), seen));
    }
    Some(Presence {
        metric,
        separate_metric: ratio.total.metric != ratio.numerator.metric,
        metric_exists,
        labels,
    })
}

/// Handles of the queries one SLO started.
struct PendingAnswers {
    value: JoinHandle<Result<QueryResult, QueryError>>,
    events: Option<JoinHandle<Result<QueryResult, QueryError>>>,
    numerator: Option<JoinHandle<Result<QueryResult, QueryError>>>,
    buckets: Option<JoinHandle<Result<QueryResult, QueryError>>>,
    sustained: Option<JoinHandle<Result<QueryResult, QueryError>>>,
    sustained_tail: Option<JoinHandle<Result<QueryResult, QueryError>>>,
    preconditions: Vec<JoinHandle<Result<QueryResult, QueryError>>>,
    trend: Option<(
        compile::SustainedQuery,
        JoinHandle<Result<QueryResult, QueryError>>,
    )>,
}

impl PendingAnswers {
    async fn collect(self) -> Answers {
        Answers {
            value: finish(self.value).await,
            events: finish_optional(self.events).await,
            numerator: finish_optional(self.numerator).await,
            buckets: finish_optional(self.buckets).await,
            sustained: finish_optional(self.sustained).await,
            sustained_tail: finish_optional(self.sustained_tail).await,
            numerator_presence: None,
            preconditions: {
                let mut answers = Vec::with_capacity(self.preconditions.len());
                for handle in self.preconditions {
                    answers.push(finish(handle).await);
                }
                answers
            },
        }
    }
}

async fn finish(
    handle: JoinHandle<Result<QueryResult, QueryError>>,
) -> Result<QueryResult, QueryError> {
    handle.await.expect("query tasks never panic")
}

async fn finish_optional(
    handle: Option<JoinHandle<Result<QueryResult, QueryError>>>,
) -> Option<Result<QueryResult, QueryError>> {
    match handle {
        Some(handle) => Some(finish(handle).await),
        None => None,
    }
}

fn start_queries(compiled: &CompiledSlo, source: &Source, window: Window) -> PendingAnswers {
    let id = compiled.slo.id();
    let instant = |query: &Query| {
        let (source, query) = (source.clone(), query.clone());
        let span = tracing::debug_span!("slo", slo = %id);
        tokio::spawn(async move { source.instant(&query, window.end).await }.instrument(span))
    };
    let queries = &compiled.window;
    PendingAnswers {
        value: instant(&queries.value),
        events: queries.events.as_ref().map(instant),
        numerator: queries.numerator.as_ref().map(instant),
        buckets: queries.buckets.as_ref().map(instant),
        sustained: compiled.sustained.as_ref().map(|sustained| {
            let (source, sustained) = (source.clone(), sustained.clone());
            let span = tracing::debug_span!("slo", slo = %id);
            tokio::spawn(
                async move {
                    source
                        .range(
                            &sustained.query,
                            sustained.start,
                            sustained.end,
                            sustained.step,
                        )
                        .await
                }
                .instrument(span),
            )
        }),
        sustained_tail: compiled
            .sustained
            .as_ref()
            .filter(|sustained| sustained.tail)
            .map(|sustained| instant(&sustained.query)),
        preconditions: compiled
            .preconditions
            .iter()
            .map(|precondition| instant(&precondition.query))
            .collect(),
        trend: None,
    }
}

/// The chart data from a trend query; a failed trend only loses the chart.
fn trend_of(
    plan: &compile::SustainedQuery,
    answer: Result<QueryResult, QueryError>,
) -> Option<Trend> {
    let result = match answer {
        Ok(result) => result,
        Err(error) => {
            tracing::warn!(%error, "no chart: the trend query failed");
            return None;
        }
    };
    let crate::prometheus::ResultData::Matrix(matrix) = result.data else {
        return None;
    };
    Some(Trend {
        step: plan.step,
        range: plan.range,
        series: matrix
            .into_iter()
            .map(|series| (format_labels(&series.labels), series.points))
            .collect(),
    })
}
