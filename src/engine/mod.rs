//! The embedded engine: samples in memory and an evaluator for the query
//! plans the compiler emits, so a verification needs no Prometheus.
//!
//! Samples come from a recording (`--replay`: OpenMetrics or the
//! Prometheus text format with timestamps, gzip or not) or from scraping
//! targets during the window (`--scrape`). Evaluation follows Prometheus'
//! semantics closely enough that a differential test holds its values to
//! Prometheus' own within 1e-9.

mod evaluate;
pub mod functions;
pub mod record;
pub mod scrape;
pub mod store;
pub mod text;

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;

pub use evaluate::{Element, EvaluationError, LOOKBACK_MILLISECONDS, Value, evaluate};
pub use store::Store;

use crate::compile::Query;
use crate::prometheus::{Labels, QueryError, QueryResult, ResultData, Sample, Series};
use crate::spec::Selector;

/// Samples in memory and what is known about them.
#[derive(Debug, Default)]
pub struct Engine {
    /// The samples.
    pub store: Store,
    /// Declared family types (`# TYPE`), for writing recordings back.
    pub types: HashMap<String, String>,
}

/// Why a recording cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file cannot be read or decompressed.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A line is not valid exposition format.
    #[error("{path}:{0}", .source)]
    Parse {
        /// The file.
        path: String,
        /// The line and problem.
        source: text::ParseError,
    },
    /// The file holds no samples.
    #[error("{path} holds no samples")]
    Empty {
        /// The file.
        path: String,
    },
}

impl Engine {
    /// An engine over the samples of a recording file (gzip accepted).
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let shown = path.display().to_string();
        let read_error = |source| LoadError::Read {
            path: shown.clone(),
            source,
        };
        let bytes = std::fs::read(path).map_err(read_error)?;
        let text = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut text = String::new();
            flate2::read::MultiGzDecoder::new(bytes.as_slice())
                .read_to_string(&mut text)
                .map_err(read_error)?;
            text
        } else {
            String::from_utf8(bytes).map_err(|error| {
                read_error(std::io::Error::new(std::io::ErrorKind::InvalidData, error))
            })?
        };

        Self::from_text(&text, &shown)
    }

    /// An engine over a recording's text (OpenMetrics or Prometheus' text
    /// format); `shown` names it in errors.
    pub fn from_text(text: &str, shown: &str) -> Result<Self, LoadError> {
        let mut engine = Self::default();
        let format = text::Format::detect(text);
        text::parse(text, format, None, &mut engine.store, &mut engine.types).map_err(
            |source| LoadError::Parse {
                path: shown.to_string(),
                source,
            },
        )?;
        engine.store.seal();
        if engine.store.samples() == 0 {
            return Err(LoadError::Empty {
                path: shown.to_string(),
            });
        }
        Ok(engine)
    }

    /// The time span the samples cover, in Unix milliseconds.
    pub fn span(&self) -> Option<(i64, i64)> {
        let first = self
            .store
            .all()
            .iter()
            .filter_map(|series| series.times.first())
            .min()?;
        let last = self
            .store
            .all()
            .iter()
            .filter_map(|series| series.times.last())
            .max()?;
        Some((*first, *last))
    }

    /// The spacing of samples: the largest of the series' median gaps, as
    /// a stand-in for the scrape interval a recording was made with.
    pub fn typical_interval(&self) -> Option<Duration> {
        self.store
            .all()
            .iter()
            .filter(|series| series.times.len() >= 3)
            .take(2000)
            .filter_map(|series| {
                let mut gaps: Vec<i64> = series
                    .times
                    .windows(2)
                    .map(|pair| pair[1] - pair[0])
                    .collect();
                gaps.sort_unstable();
                gaps.get(gaps.len() / 2).copied()
            })
            .max()
            .filter(|&gap| gap > 0)
            .map(|gap| Duration::from_millis(gap as u64))
    }

    /// Evaluates a query at one instant, answering as Prometheus' query API
    /// would.
    pub fn instant(&self, query: &Query, time: Timestamp) -> Result<QueryResult, QueryError> {
        let plan = plan_of(query)?;
        let millis = time.as_millisecond();
        let value = evaluate(plan, &self.store, millis).map_err(unsupported)?;
        let seconds = millis as f64 / 1000.0;
        let data = match value {
            Value::Scalar(value) => ResultData::Scalar(Sample {
                labels: Labels::new(),
                time: seconds,
                value,
            }),
            Value::Vector(elements) => ResultData::Vector(
                elements
                    .into_iter()
                    .map(|element| Sample {
                        labels: element.labels,
                        time: seconds,
                        value: element.value,
                    })
                    .collect(),
            ),
        };
        Ok(QueryResult {
            data,
            warnings: Vec::new(),
            infos: Vec::new(),
        })
    }

    /// Evaluates a query at every step from `start` to `end`, as a matrix.
    pub fn range(
        &self,
        query: &Query,
        start: Timestamp,
        end: Timestamp,
        step: Duration,
    ) -> Result<QueryResult, QueryError> {
        let plan = plan_of(query)?;
        let step = (step.as_millis() as i64).max(1);
        let mut series: Vec<Series> = Vec::new();
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut time = start.as_millisecond();
        while time <= end.as_millisecond() {
            let elements = match evaluate(plan, &self.store, time).map_err(unsupported)? {
                Value::Scalar(value) => vec![Element {
                    labels: Labels::new(),
                    value,
                }],
                Value::Vector(elements) => elements,
            };
            for element in elements {
                let position = *index.entry(element.labels.clone()).or_insert_with(|| {
                    series.push(Series {
                        labels: element.labels.clone(),
                        points: Vec::new(),
                    });
                    series.len() - 1
                });
                series[position]
                    .points
                    .push((time as f64 / 1000.0, element.value));
            }
            time += step;
        }
        Ok(QueryResult {
            data: ResultData::Matrix(series),
            warnings: Vec::new(),
            infos: Vec::new(),
        })
    }

    /// The values a label takes on the series a selector matches with
    /// samples between two instants.
    pub fn label_values(
        &self,
        label: &str,
        selector: &Selector,
        start: Timestamp,
        end: Timestamp,
    ) -> Vec<String> {
        let (start, end) = (start.as_millisecond(), end.as_millisecond());
        let mut values: Vec<String> = self
            .store
            .select(selector)
            .into_iter()
            .filter(|series| !series.between(start, end).is_empty())
            .filter_map(|series| series.labels.get(label).cloned())
            .collect();
        values.sort();
        values.dedup();
        values
    }
}

fn plan_of(query: &Query) -> Result<&crate::compile::expr::Expr, QueryError> {
    query
        .plan
        .as_ref()
        .map_err(|unsupported| QueryError::Unsupported(unsupported.0.clone()))
}

fn unsupported(error: EvaluationError) -> QueryError {
    QueryError::Unsupported(error.0)
}
