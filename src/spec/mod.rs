//! SLO files: loading, validation and the types every later stage reads.
//!
//! A file names a service and lists its SLOs. Loading reads every file,
//! checks every field (unknown fields, units, duplicate names, exactly one
//! indicator per SLO) and reports every problem in every file at once, each
//! pointing at its file, line and column. What leaves this module is fully
//! resolved: thresholds are already in the indicator's unit, selectors are
//! parsed, and query templates are checked, so later stages never meet a
//! spec error.
//!
//! OpenSLO v1 and Sloth `prometheus/v1` documents are read beside native
//! files and translated into the same types (`interop`); what cannot be
//! translated is an error, and what is left out a warning.

mod decode;
pub mod diagnostic;
mod fields;
mod indicator;
mod interop;
pub mod quantity;
pub mod selector;
mod template;
mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use diagnostic::{Location, SourceFile, SpecDiagnostic, SpecErrors};
pub use quantity::{Comparator, Unit};
pub use selector::Selector;
pub use template::fill_template;

/// A parsed SLO file: one service and its SLOs.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    /// The service every SLO in the file belongs to.
    pub service: String,
    /// Labels copied into reports and annotations.
    pub labels: BTreeMap<String, String>,
    /// The SLOs, in file order.
    pub slos: Vec<Slo>,
}

/// One service-level objective, fully resolved.
#[derive(Debug, Clone)]
pub struct Slo {
    /// The service the SLO belongs to.
    pub service: String,
    /// Unique within the service.
    pub name: String,
    /// One line for reports.
    pub description: Option<String>,
    /// The file's labels (and the SLO's own, which win).
    pub labels: BTreeMap<String, String>,
    /// What is measured.
    pub indicator: Indicator,
    /// What the measurement must satisfy; a miss is `fail`.
    pub objective: Objective,
    /// A stricter bound; a miss (with the objective met) is `warn`.
    pub warning: Option<Objective>,
    /// Conditions on the load the verdict assumes; one not met makes the
    /// verdict `inconclusive`.
    pub requires: Vec<Precondition>,
    /// Labels to group by; every group is judged on its own.
    pub by: Vec<String>,
    /// Also judge the indicator over every step of the window.
    pub sustained: Option<Sustained>,
    /// Fewer events than this in the window (in any group) is
    /// `inconclusive`.
    pub min_events: Option<f64>,
    /// What an empty result or a NaN from zero events means.
    pub no_data: NoData,
    /// For `promql` indicators: judge every series the query returns instead
    /// of requiring exactly one.
    pub per_series: bool,
    /// The period the error budget is counted over (ratio SLOs), default 30
    /// days.
    pub budget_period: Duration,
    /// Where the SLO is defined, for messages.
    pub location: Location,
}

impl Slo {
    /// `service/name`, as `--select` matches it.
    pub fn id(&self) -> String {
        format!("{}/{}", self.service, self.name)
    }

    /// Every selector the SLO's indicator and preconditions read.
    pub fn selectors(&self) -> Vec<&Selector> {
        std::iter::once(&self.indicator)
            .chain(
                self.requires
                    .iter()
                    .map(|precondition| &precondition.indicator),
            )
            .flat_map(Indicator::selectors)
            .collect()
    }
}

/// A bound on the indicator, already in the indicator's unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    /// How the value is compared.
    pub comparator: Comparator,
    /// The limit in the indicator's unit (`200ms` against seconds is 0.2).
    pub limit: f64,
    /// As the user wrote it, for reports.
    pub text: String,
}

impl Objective {
    /// True, false, or `None` when the value is NaN.
    pub fn holds(&self, value: f64) -> Option<bool> {
        self.comparator.holds(value, self.limit)
    }
}

/// A condition on the load: an indicator over the same window and the bound
/// it must meet.
#[derive(Debug, Clone)]
pub struct Precondition {
    /// What is measured.
    pub indicator: Indicator,
    /// What it must satisfy.
    pub objective: Objective,
}

/// What a SLO measures; each kind compiles to PromQL over the window.
#[derive(Debug, Clone)]
pub enum Indicator {
    /// A quantile, or the share of observations under a bound, from a
    /// classic histogram's `_bucket` series.
    Latency(Latency),
    /// Per-second rate of a counter (throughput).
    Rate(Counter),
    /// Events counted in the window (dead letters must be 0).
    Increase(Counter),
    /// A gauge reduced over the window (queue depth).
    Gauge(Gauge),
    /// Errors (or good events) over all events.
    Ratio(Ratio),
    /// Average from a sum counter and a count counter.
    Mean(Mean),
    /// A query written by hand.
    Promql(Promql),
}

impl Indicator {
    /// The kind's name as written in the spec.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Latency(_) => "latency",
            Self::Rate(_) => "rate",
            Self::Increase(_) => "increase",
            Self::Gauge(_) => "gauge",
            Self::Ratio(_) => "ratio",
            Self::Mean(_) => "mean",
            Self::Promql(_) => "promql",
        }
    }

    /// The unit the indicator's value comes in.
    pub fn unit(&self) -> Unit {
        match self {
            Self::Latency(latency) => match latency.target {
                LatencyTarget::Quantile(_) => latency.unit,
                LatencyTarget::Under { .. } => Unit::Ratio,
            },
            Self::Rate(_) => Unit::PerSecond,
            Self::Increase(_) => Unit::Count,
            Self::Gauge(gauge) => gauge.unit,
            Self::Ratio(_) => Unit::Ratio,
            Self::Mean(mean) => mean.unit,
            Self::Promql(promql) => promql.unit,
        }
    }

    /// The selectors the indicator reads (a hand-written query's `selector`
    /// field only).
    pub fn selectors(&self) -> Vec<&Selector> {
        match self {
            Self::Latency(latency) => vec![&latency.selector],
            Self::Rate(counter) | Self::Increase(counter) => vec![&counter.selector],
            Self::Gauge(gauge) => vec![&gauge.selector],
            Self::Ratio(ratio) => vec![&ratio.numerator, &ratio.total],
            Self::Mean(mean) => vec![&mean.selector],
            Self::Promql(promql) => vec![&promql.selector],
        }
    }

    /// The series the indicator reads, each with its metric name, for
    /// checking that they exist before a load test. A hand-written query
    /// reads what its text names, which this does not list.
    pub fn series_reads(&self) -> Vec<SeriesRead> {
        let read = |metric: &str, selector: &Selector, may_be_unborn: bool| SeriesRead {
            selector: Selector {
                metric: Some(metric.to_string()),
                matchers: selector.matchers.clone(),
            },
            may_be_unborn,
        };
        let named = |series: &Selector, may_be_unborn: bool| SeriesRead {
            selector: series.clone(),
            may_be_unborn,
        };
        match self {
            Self::Latency(latency) => vec![
                read(
                    &format!("{}_bucket", latency.histogram),
                    &latency.selector,
                    false,
                ),
                read(
                    &format!("{}_count", latency.histogram),
                    &latency.selector,
                    false,
                ),
            ],
            Self::Rate(counter) => vec![read(&counter.counter, &counter.selector, false)],
            Self::Increase(counter) => vec![read(&counter.counter, &counter.selector, true)],
            Self::Gauge(gauge) => vec![read(&gauge.metric, &gauge.selector, false)],
            Self::Ratio(ratio) => vec![named(&ratio.numerator, true), named(&ratio.total, false)],
            Self::Mean(mean) => vec![
                read(&mean.sum, &mean.selector, false),
                read(&mean.count, &mean.selector, false),
            ],
            Self::Promql(_) => Vec::new(),
        }
    }

    /// What one event is called in messages ("observations", "requests").
    pub fn event_noun(&self) -> &'static str {
        match self {
            Self::Latency(_) => "observations",
            Self::Ratio(_) => "requests",
            Self::Mean(_) | Self::Rate(_) | Self::Increase(_) => "events",
            Self::Gauge(_) => "samples",
            Self::Promql(_) => "events",
        }
    }
}

/// One selection of series an indicator reads.
#[derive(Debug, Clone)]
pub struct SeriesRead {
    /// The series, with the metric name set.
    pub selector: Selector,
    /// True for a counter of one outcome (errors, dead letters), which does
    /// not exist until it first counts: no series is then the good case.
    pub may_be_unborn: bool,
}

/// A classic histogram and what to read from it.
#[derive(Debug, Clone)]
pub struct Latency {
    /// The histogram's name, without `_bucket`.
    pub histogram: String,
    /// Label matchers for the histogram's series.
    pub selector: Selector,
    /// A quantile, or the share of observations at or under a bound.
    pub target: LatencyTarget,
    /// The unit the histogram observes in (from its name or `unit`).
    pub unit: Unit,
}

/// What a latency indicator reads from its histogram.
#[derive(Debug, Clone, PartialEq)]
pub enum LatencyTarget {
    /// `histogram_quantile(q, …)`, with 0 < q < 1.
    Quantile(f64),
    /// The share (0..1) of observations in buckets with `le` equal to the
    /// bound; the bucket edge is matched by number, so `1`, `1.0` and
    /// `1e+00` are the same edge.
    Under {
        /// The bound in the histogram's unit.
        bound: f64,
        /// As written, for reports.
        text: String,
    },
}

/// A counter and its label matchers.
#[derive(Debug, Clone)]
pub struct Counter {
    /// The counter's full name, usually ending in `_total`.
    pub counter: String,
    /// Label matchers for its series.
    pub selector: Selector,
}

/// A gauge and how it is reduced over the window.
#[derive(Debug, Clone)]
pub struct Gauge {
    /// The gauge's name.
    pub metric: String,
    /// Label matchers for its series.
    pub selector: Selector,
    /// How each series is reduced over time.
    pub aggregate: GaugeAggregate,
    /// The gauge's unit (inferred from `_seconds`/`_milliseconds`, else a
    /// plain number).
    pub unit: Unit,
}

/// How a gauge is reduced over the window, per series; across series the
/// worst series for the objective is taken (the largest for an upper bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaugeAggregate {
    /// `max_over_time`: the peak (queue depth at peak load).
    Max,
    /// `min_over_time`: the trough.
    Min,
    /// `avg_over_time`: the mean of the samples.
    Avg,
    /// `last_over_time`: the last sample in the window, however old.
    Last,
}

impl GaugeAggregate {
    /// The PromQL function.
    pub fn function(self) -> &'static str {
        match self {
            Self::Max => "max_over_time",
            Self::Min => "min_over_time",
            Self::Avg => "avg_over_time",
            Self::Last => "last_over_time",
        }
    }
}

/// Which side of a ratio the numerator counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatioKind {
    /// The value is errors / total (an error ratio).
    Errors,
    /// The value is good / total (a success ratio).
    Good,
}

/// Two counters: a numerator (errors or good events) over all events.
#[derive(Debug, Clone)]
pub struct Ratio {
    /// Whether the numerator counts errors or good events.
    pub kind: RatioKind,
    /// The numerator counter with its matchers.
    pub numerator: Selector,
    /// The denominator counter with its matchers.
    pub total: Selector,
}

/// An average from two counters, such as redis_exporter's
/// `redis_commands_duration_seconds_total / redis_commands_total`.
#[derive(Debug, Clone)]
pub struct Mean {
    /// The counter of summed values.
    pub sum: String,
    /// The counter of events.
    pub count: String,
    /// Label matchers for both.
    pub selector: Selector,
    /// The unit of the summed values.
    pub unit: Unit,
}

/// A query written by hand, with `${window}`, `${selector}` and `${service}`
/// placeholders.
#[derive(Debug, Clone)]
pub struct Promql {
    /// The query template.
    pub query: String,
    /// An optional query counting events, for `min_events`.
    pub events: Option<String>,
    /// Replaces `${selector}`.
    pub selector: Selector,
    /// The unit of the query's value.
    pub unit: Unit,
    /// Where the query came from (`file:` or inline), for messages.
    pub origin: PathBuf,
}

/// Judge the indicator over every step of the window, not only on average.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sustained {
    /// Distance between evaluations; `None` lets the range query choose
    /// one under the server's point limit.
    pub step: Option<Duration>,
    /// How much data each evaluation covers (default: the step).
    pub range: Option<Duration>,
}

/// What missing data means for one SLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoData {
    /// The default: nothing unknown is ever a pass.
    Inconclusive,
    /// Missing data fails the SLO.
    Fail,
    /// Missing data passes the SLO (the verdict still says why).
    Pass,
}

impl NoData {
    /// The spelling in the spec.
    pub fn name(self) -> &'static str {
        match self {
            Self::Inconclusive => "inconclusive",
            Self::Fail => "fail",
            Self::Pass => "pass",
        }
    }
}

/// What loading found: the services, and warnings about what translated
/// OpenSLO and Sloth files held that summit-slo leaves out.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Every service, native or translated, in file order.
    pub services: Vec<ServiceSpec>,
    /// Problems that do not stop the run; the caller prints them.
    pub warnings: Vec<SpecDiagnostic>,
}

/// Loads every SLO file under `paths` (files, or directories searched for
/// `*.yaml` and `*.yml`), reporting every problem found in any of them.
/// Each YAML document is a native SLO file, an OpenSLO v1 document or a
/// Sloth `prometheus/v1` spec; OpenSLO references are resolved across all
/// the files.
pub fn load(paths: &[PathBuf]) -> Result<Loaded, SpecErrors> {
    let mut diagnostics = Vec::new();
    let files = collect_files(paths, &mut diagnostics);

    let mut decoded = decode::Decoded::default();
    for path in files {
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let source = SourceFile::new(&path, text);
                decode::decode_file(&source, &mut decoded, &mut diagnostics);
            }
            Err(error) => diagnostics.push(SpecDiagnostic::general(
                "spec::unreadable",
                format!("cannot read {}: {error}", path.display()),
            )),
        }
    }

    finish(decoded, diagnostics)
}

/// Loads SLOs from text, as if read from `path` (for tests and stdin).
pub fn load_text(path: &Path, text: &str) -> Result<Loaded, SpecErrors> {
    let mut diagnostics = Vec::new();
    let source = SourceFile::new(path, text.to_string());
    let mut decoded = decode::Decoded::default();
    decode::decode_file(&source, &mut decoded, &mut diagnostics);
    finish(decoded, diagnostics)
}

/// Resolves OpenSLO references, checks names across all files and splits
/// the findings into errors and warnings.
fn finish(
    decoded: decode::Decoded,
    mut diagnostics: Vec<SpecDiagnostic>,
) -> Result<Loaded, SpecErrors> {
    let services = decoded.resolve(&mut diagnostics);

    decode::check_unique_names(&services, &mut diagnostics);
    let (errors, warnings): (Vec<_>, Vec<_>) =
        diagnostics.into_iter().partition(SpecDiagnostic::is_error);
    if errors.is_empty() {
        Ok(Loaded { services, warnings })
    } else {
        Err(SpecErrors {
            diagnostics: errors,
            warnings,
        })
    }
}

fn collect_files(paths: &[PathBuf], diagnostics: &mut Vec<SpecDiagnostic>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let before = files.len();
            collect_directory(path, &mut files, diagnostics);
            if files.len() == before {
                diagnostics.push(
                    SpecDiagnostic::general(
                        "spec::no-files",
                        format!("no SLO files (*.yaml, *.yml) in {}", path.display()),
                    )
                    .with_help(
                        "an empty gate would pass everything; point --slos at your SLO files",
                    ),
                );
            }
        } else if path.is_file() {
            files.push(path.clone());
        } else if path.exists() {
            diagnostics.push(
                SpecDiagnostic::general(
                    "spec::not-a-file",
                    format!("{} is not a file or a directory", path.display()),
                )
                .with_help("--slos takes SLO files or directories of them (default: slos/)"),
            );
        } else {
            diagnostics.push(
                SpecDiagnostic::general(
                    "spec::missing-path",
                    format!("{} does not exist", path.display()),
                )
                .with_help("--slos takes SLO files or directories of them (default: slos/)"),
            );
        }
    }
    files.sort();
    files.dedup();
    files
}

fn collect_directory(
    directory: &Path,
    files: &mut Vec<PathBuf>,
    diagnostics: &mut Vec<SpecDiagnostic>,
) {
    let entries = match std::fs::read_dir(directory) {
        Ok(entries) => entries,
        Err(error) => {
            diagnostics.push(SpecDiagnostic::general(
                "spec::unreadable",
                format!("cannot read directory {}: {error}", directory.display()),
            ));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_directory(&path, files, diagnostics);
        } else if matches!(
            path.extension().and_then(|extension| extension.to_str()),
            Some("yaml" | "yml")
        ) {
            files.push(path);
        }
    }
}
