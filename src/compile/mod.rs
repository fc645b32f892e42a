//! SLOs to PromQL over a window: the query plan that evaluation runs and
//! that `summit-slo compile` prints.
//!
//! Whole-window values are instant queries at the window's end over
//! `[window]`, never a last-5-minutes rate. Sustained mode adds a range
//! query whose step keeps each series under Prometheus' 11,000-point limit.
//! Every query is parsed by a real PromQL parser before it leaves this
//! module. This stage never talks to a server; the one fact it may take from
//! one (how a bucket edge is spelled) comes in through [`CompileOptions`].

pub mod expr;
mod query;

use std::fmt::Write as _;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

pub use query::{
    IndicatorQueries, Query, QueryContext, common_spellings, indicator_queries, le_matcher,
};

use crate::spec::{Indicator, LatencyTarget, Objective, Slo, Unit};
use crate::time::format_duration;
use crate::window::Window;

/// Prometheus refuses range queries with more points per series than this.
pub const MAX_POINTS: u64 = 11_000;

/// Sustained mode's step when the SLO names none and the window is short.
const DEFAULT_SUSTAINED_STEP: Duration = Duration::from_secs(60);

/// How the engine's functions count, where engines differ.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Dialect {
    /// Prometheus and the engines built on its PromQL (Thanos, Mimir,
    /// Cortex): `increase` extrapolates to the window's edges and never
    /// counts a series' first value, so series born in the window are
    /// counted by added terms.
    #[default]
    Prometheus,
    /// VictoriaMetrics' MetricsQL: `increase` counts from the last sample
    /// before the window, without extrapolating, and counts a series born
    /// in the window from zero itself.
    #[value(name = "victoria-metrics")]
    VictoriaMetrics,
}

/// Facts from outside the spec that change the compiled queries.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// The scrape interval, when known: windows shorter than two intervals
    /// hold fewer than two samples per series and are refused.
    pub scrape_interval: Option<Duration>,
    /// For latency thresholds: the `le` spellings the server holds for the
    /// bound, found by asking for the bucket label's values.
    pub le_spellings: Option<Vec<String>>,
    /// The engine's dialect.
    pub dialect: Dialect,
}

/// An SLO's queries for one window.
#[derive(Debug, Clone)]
pub struct CompiledSlo {
    /// The SLO.
    pub slo: Slo,
    /// Whole-window queries, evaluated at the window's end.
    pub window: IndicatorQueries,
    /// The range query of sustained mode.
    pub sustained: Option<SustainedQuery>,
    /// Each precondition's whole-window query, in spec order.
    pub preconditions: Vec<CompiledPrecondition>,
}

/// A range query judging every step of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct SustainedQuery {
    /// The indicator over `[range]`.
    pub query: Query,
    /// The first evaluation: a full range after the window's start.
    pub start: Timestamp,
    /// The last evaluation: the window's end.
    pub end: Timestamp,
    /// Distance between evaluations.
    pub step: Duration,
    /// Data covered by each evaluation.
    pub range: Duration,
    /// True when the steps stop short of the window's end, which is then
    /// evaluated on its own.
    pub tail: bool,
}

/// A precondition's query and bound.
#[derive(Debug, Clone)]
pub struct CompiledPrecondition {
    /// The indicator's value over the window.
    pub query: Query,
    /// What it must satisfy.
    pub objective: Objective,
    /// The unit of the value.
    pub unit: Unit,
    /// `rate(graphql_requests_total)`, for messages.
    pub summary: String,
}

/// Why an SLO cannot be compiled for this window.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The window (or sustained range) holds fewer than two scrapes.
    #[error(
        "{slo}: {what} {} is shorter than 2 × scrape interval ({}); use ≥ {} ({} recommended)",
        format_duration(*length),
        format_duration(*interval),
        format_duration(*interval * 2),
        format_duration(*interval * 4)
    )]
    RangeTooShort {
        /// `service/name`.
        slo: String,
        /// "window" or "sustained range".
        what: &'static str,
        /// The range given.
        length: Duration,
        /// The scrape interval.
        interval: Duration,
    },
    /// An explicit step would exceed the server's point limit.
    #[error(
        "{slo}: range {} at step {} needs {points} points; the server limit is {MAX_POINTS}; use step ≥ {}",
        format_duration(*length),
        format_duration(*step),
        format_duration(minimum_step(*length))
    )]
    TooManyPoints {
        /// `service/name`.
        slo: String,
        /// The range of the query.
        length: Duration,
        /// The step given.
        step: Duration,
        /// Points it would need.
        points: u64,
    },
    /// Sustained mode's range is longer than the window itself.
    #[error(
        "{slo}: sustained range {} is longer than the window {}",
        format_duration(*range),
        format_duration(*window)
    )]
    RangeLongerThanWindow {
        /// `service/name`.
        slo: String,
        /// The sustained range.
        range: Duration,
        /// The window.
        window: Duration,
    },
    /// A generated query did not parse: a defect in summit-slo.
    #[error("{slo}: compiled an invalid query ({problem}): {query}")]
    Internal {
        /// `service/name`.
        slo: String,
        /// The parser's message.
        problem: String,
        /// The query.
        query: String,
    },
}

/// The smallest step that keeps a range under [`MAX_POINTS`].
fn minimum_step(length: Duration) -> Duration {
    Duration::from_secs(length.as_secs().div_ceil(MAX_POINTS).max(1))
}

/// The indicator over a sliding range at steps across the window, for the
/// charts in reports: about 60 points, each covering a fifth of the window
/// (at least two scrape intervals). `None` when the window is too short to
/// chart.
pub fn trend(
    slo: &Slo,
    window: &Window,
    scrape_interval: Option<Duration>,
    dialect: Dialect,
) -> Option<SustainedQuery> {
    let length = window.duration();
    let step = Duration::from_millis((length.as_millis() as u64 / 60).max(1000));
    let range = (length / 5)
        .max(step)
        .max(scrape_interval.map_or(Duration::ZERO, |interval| interval * 2));
    if range >= length {
        return None;
    }
    let context = QueryContext {
        range,
        by: &slo.by,
        comparator: slo.objective.comparator,
        service: &slo.service,
        le_spellings: None,
        dialect,
    };
    let start = window
        .start
        .checked_add(SignedDuration::try_from(range).ok()?)
        .ok()?;
    Some(SustainedQuery {
        query: indicator_queries(&slo.indicator, &context).value,
        start,
        end: window.end,
        step,
        range,
        tail: false,
    })
}

/// Compiles one SLO for a window.
pub fn compile(
    slo: &Slo,
    window: &Window,
    options: &CompileOptions,
) -> Result<CompiledSlo, CompileError> {
    let length = window.duration();
    check_range(slo, "window", length, options.scrape_interval)?;

    let context = QueryContext {
        range: length,
        by: &slo.by,
        comparator: slo.objective.comparator,
        service: &slo.service,
        le_spellings: options.le_spellings.as_deref(),
        dialect: options.dialect,
    };
    let queries = indicator_queries(&slo.indicator, &context);
    let sustained = slo
        .sustained
        .map(|sustained| compile_sustained(slo, window, sustained, options))
        .transpose()?;
    let preconditions = slo
        .requires
        .iter()
        .map(|precondition| {
            let context = QueryContext {
                by: &[],
                comparator: precondition.objective.comparator,
                ..context
            };
            CompiledPrecondition {
                query: indicator_queries(&precondition.indicator, &context).value,
                objective: precondition.objective.clone(),
                unit: precondition.indicator.unit(),
                summary: summarise(&precondition.indicator),
            }
        })
        .collect();

    let compiled = CompiledSlo {
        slo: slo.clone(),
        window: queries,
        sustained,
        preconditions,
    };
    for query in compiled.queries() {
        check_parses(slo, query)?;
    }
    Ok(compiled)
}

impl CompiledSlo {
    /// Every query this SLO runs, for checking and printing.
    pub fn queries(&self) -> Vec<&Query> {
        let window = &self.window;
        [
            Some(&window.value),
            window.events.as_ref(),
            window.numerator.as_ref(),
            window.buckets.as_ref(),
        ]
        .into_iter()
        .flatten()
        .chain(self.sustained.iter().map(|sustained| &sustained.query))
        .chain(
            self.preconditions
                .iter()
                .map(|precondition| &precondition.query),
        )
        .collect()
    }

    /// The queries as a commented PromQL listing, as `compile` prints them.
    pub fn render(&self) -> String {
        let slo = &self.slo;
        let mut text = String::new();
        let title = match &slo.description {
            Some(description) => format!("{} — {description}", slo.id()),
            None => slo.id(),
        };
        let _ = writeln!(text, "# {title}");
        let _ = writeln!(
            text,
            "# objective {} ({})",
            slo.objective.text,
            slo.indicator.unit()
        );
        if let Indicator::Latency(latency) = &slo.indicator
            && matches!(latency.target, LatencyTarget::Under { .. })
        {
            let _ = writeln!(
                text,
                "# the bucket edge is matched by number; verify uses the `le` spellings the \
                 server holds"
            );
        }
        let _ = writeln!(text, "{}", self.window.value);
        let extras = [
            ("events", &self.window.events),
            ("numerator", &self.window.numerator),
            ("buckets", &self.window.buckets),
        ];
        for (name, query) in extras {
            if let Some(query) = query {
                let _ = writeln!(text, "# {name}\n{query}");
            }
        }
        if let Some(sustained) = &self.sustained {
            let _ = writeln!(
                text,
                "# sustained: every {} over [{}]\n{}",
                format_duration(sustained.step),
                format_duration(sustained.range),
                sustained.query
            );
        }
        for precondition in &self.preconditions {
            let _ = writeln!(
                text,
                "# requires {} {}\n{}",
                precondition.summary, precondition.objective.text, precondition.query
            );
        }
        text
    }
}

fn compile_sustained(
    slo: &Slo,
    window: &Window,
    sustained: crate::spec::Sustained,
    options: &CompileOptions,
) -> Result<SustainedQuery, CompileError> {
    let length = window.duration();
    let minimum_step = minimum_step(length);
    let step = match sustained.step {
        Some(step) => {
            // Prometheus refuses a range when (end - start) / step exceeds
            // the limit.
            let points = (length.as_secs_f64() / step.as_secs_f64()).floor() as u64;
            if points > MAX_POINTS {
                return Err(CompileError::TooManyPoints {
                    slo: slo.id(),
                    length,
                    step,
                    points,
                });
            }
            step
        }
        None => sustained
            .range
            .unwrap_or(DEFAULT_SUSTAINED_STEP)
            .max(minimum_step),
    };
    // A range shorter than the step would leave data between steps
    // unjudged; when the step was raised to fit the point limit, the range
    // grows with it.
    let range = sustained.range.unwrap_or(step).max(step);
    if range > length {
        return Err(CompileError::RangeLongerThanWindow {
            slo: slo.id(),
            range,
            window: length,
        });
    }
    check_range(slo, "sustained range", range, options.scrape_interval)?;

    let context = QueryContext {
        range,
        by: &slo.by,
        comparator: slo.objective.comparator,
        service: &slo.service,
        le_spellings: options.le_spellings.as_deref(),
        dialect: options.dialect,
    };
    let offset = SignedDuration::try_from(range).expect("a range shorter than the window fits");
    let start = window
        .start
        .checked_add(offset)
        .expect("start plus a range inside the window is a valid time");
    // Steps run from the first full range; when they do not land on the
    // window's end, one more evaluation there covers the rest.
    let span = window.end.as_millisecond() - start.as_millisecond();
    let tail = span % (step.as_millis() as i64).max(1) != 0;
    Ok(SustainedQuery {
        query: indicator_queries(&slo.indicator, &context).value,
        start,
        end: window.end,
        step,
        range,
        tail,
    })
}

fn check_range(
    slo: &Slo,
    what: &'static str,
    length: Duration,
    scrape_interval: Option<Duration>,
) -> Result<(), CompileError> {
    let Some(interval) = scrape_interval else {
        return Ok(());
    };
    if length < interval * 2 {
        return Err(CompileError::RangeTooShort {
            slo: slo.id(),
            what,
            length,
            interval,
        });
    }
    Ok(())
}

fn check_parses(slo: &Slo, query: &Query) -> Result<(), CompileError> {
    promql_parser::parser::parse(&query.text)
        .map(|_| ())
        .map_err(|problem| CompileError::Internal {
            slo: slo.id(),
            problem: problem.to_string(),
            query: query.text.clone(),
        })
}

/// A short name for an indicator in messages: `rate(graphql_requests_total)`.
pub fn summarise(indicator: &Indicator) -> String {
    match indicator {
        Indicator::Latency(latency) => match &latency.target {
            LatencyTarget::Quantile(quantile) => {
                format!("p{}({})", quantile * 100.0, latency.histogram)
            }
            LatencyTarget::Under { text, .. } => {
                format!("share of {} under {text}", latency.histogram)
            }
        },
        Indicator::Rate(counter) => format!("rate({})", counter.counter),
        Indicator::Increase(counter) => format!("increase({})", counter.counter),
        Indicator::Gauge(gauge) => format!("{}({})", gauge.aggregate.function(), gauge.metric),
        Indicator::Ratio(ratio) => format!(
            "{}/{}",
            ratio.numerator.metric.as_deref().unwrap_or("?"),
            ratio.total.metric.as_deref().unwrap_or("?")
        ),
        Indicator::Mean(mean) => format!("{}/{}", mean.sum, mean.count),
        Indicator::Promql(_) => "query".to_string(),
    }
}
