//! Samples in memory: one sorted column of times and one of values per
//! series, indexed by metric name, and label matching as PromQL does it.

use std::collections::HashMap;

use regex::Regex;

use crate::prometheus::Labels;
use crate::spec::Selector;
use crate::spec::selector::MatchKind;

/// The value Prometheus writes to mark a series as gone (a staleness
/// marker); ranges and instant selectors skip it.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// True for a staleness marker.
pub fn is_stale(value: f64) -> bool {
    value.to_bits() == STALE_NAN_BITS
}

/// One series: its labels (with `__name__`) and samples in time order.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// All labels, including the metric name as `__name__`.
    pub labels: Labels,
    /// Sample times in Unix milliseconds, ascending, unique.
    pub times: Vec<i64>,
    /// Sample values, aligned with `times`.
    pub values: Vec<f64>,
}

impl Series {
    /// The samples with `start <= time <= end`, without staleness markers.
    pub fn between(&self, start: i64, end: i64) -> Vec<(i64, f64)> {
        let from = self.times.partition_point(|&time| time < start);
        let to = self.times.partition_point(|&time| time <= end);
        (from..to)
            .map(|index| (self.times[index], self.values[index]))
            .filter(|&(_, value)| !is_stale(value))
            .collect()
    }

    /// The latest sample at or before `time` and not older than
    /// `lookback`, unless it is a staleness marker.
    pub fn latest(&self, time: i64, lookback: i64) -> Option<(i64, f64)> {
        let index = self
            .times
            .partition_point(|&sample| sample <= time)
            .checked_sub(1)?;
        let (sample_time, value) = (self.times[index], self.values[index]);
        (sample_time >= time - lookback && !is_stale(value)).then_some((sample_time, value))
    }
}

/// Every series, with an index by metric name.
#[derive(Debug, Default)]
pub struct Store {
    series: Vec<Series>,
    by_key: HashMap<String, usize>,
    by_name: HashMap<String, Vec<usize>>,
    samples: usize,
    sorted: bool,
}

/// A label matcher compiled for repeated use.
enum CompiledMatcher<'a> {
    Equal(&'a str, &'a str),
    NotEqual(&'a str, &'a str),
    Regex(&'a str, Regex),
    NotRegex(&'a str, Regex),
}

impl CompiledMatcher<'_> {
    fn matches(&self, labels: &Labels) -> bool {
        let value = |name: &str| labels.get(name).map_or("", String::as_str);
        match self {
            Self::Equal(name, expected) => value(name) == *expected,
            Self::NotEqual(name, expected) => value(name) != *expected,
            Self::Regex(name, regex) => regex.is_match(value(name)),
            Self::NotRegex(name, regex) => !regex.is_match(value(name)),
        }
    }
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sample. Samples may arrive in any order; [`Store::seal`]
    /// sorts them before queries.
    pub fn insert(&mut self, key: &str, labels: impl FnOnce() -> Labels, time: i64, value: f64) {
        let index = match self.by_key.get(key) {
            Some(index) => *index,
            None => {
                // The same series may be written in another label order;
                // the canonical key finds it.
                let labels = labels();
                let canonical = series_key(&labels);
                let index = match self.by_key.get(&canonical) {
                    Some(index) => *index,
                    None => {
                        let index = self.series.len();
                        let name = labels.get("__name__").cloned().unwrap_or_default();
                        self.by_name.entry(name).or_default().push(index);
                        self.by_key.insert(canonical, index);
                        self.series.push(Series {
                            labels,
                            ..Series::default()
                        });
                        index
                    }
                };
                self.by_key.insert(key.to_string(), index);
                index
            }
        };
        let series = &mut self.series[index];
        if series.times.last().is_some_and(|&last| last >= time) {
            self.sorted = false;
        }
        series.times.push(time);
        series.values.push(value);
        self.samples += 1;
    }

    /// Sorts every series by time, keeping the last value written for a
    /// repeated timestamp.
    pub fn seal(&mut self) {
        if self.sorted {
            return;
        }
        let mut samples = 0;
        for series in &mut self.series {
            let mut pairs: Vec<(i64, f64)> = series
                .times
                .iter()
                .copied()
                .zip(series.values.iter().copied())
                .collect();
            pairs.sort_by_key(|&(time, _)| time);
            let mut deduplicated: Vec<(i64, f64)> = Vec::with_capacity(pairs.len());
            for pair in pairs {
                match deduplicated.last_mut() {
                    Some(last) if last.0 == pair.0 => *last = pair,
                    _ => deduplicated.push(pair),
                }
            }
            series.times = deduplicated.iter().map(|&(time, _)| time).collect();
            series.values = deduplicated.iter().map(|&(_, value)| value).collect();
            samples += series.times.len();
        }
        self.samples = samples;
        self.sorted = true;
    }

    /// Number of samples held.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Number of series held.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Every series, in insertion order.
    pub fn all(&self) -> &[Series] {
        &self.series
    }

    /// The series a selector matches. An invalid regular expression
    /// matches nothing (the spec loader has already refused it).
    pub fn select(&self, selector: &Selector) -> Vec<&Series> {
        let mut matchers = Vec::with_capacity(selector.matchers.len());
        for matcher in &selector.matchers {
            let name = matcher.name.as_str();
            let value = matcher.value.as_str();
            let anchored = || Regex::new(&format!("^(?:{value})$"));
            matchers.push(match matcher.kind {
                MatchKind::Equal => CompiledMatcher::Equal(name, value),
                MatchKind::NotEqual => CompiledMatcher::NotEqual(name, value),
                MatchKind::Regex => match anchored() {
                    Ok(regex) => CompiledMatcher::Regex(name, regex),
                    Err(_) => return Vec::new(),
                },
                MatchKind::NotRegex => match anchored() {
                    Ok(regex) => CompiledMatcher::NotRegex(name, regex),
                    Err(_) => return Vec::new(),
                },
            });
        }
        let candidates: Box<dyn Iterator<Item = &Series>> = match &selector.metric {
            Some(name) => Box::new(
                self.by_name
                    .get(name)
                    .into_iter()
                    .flatten()
                    .map(|&index| &self.series[index]),
            ),
            None => Box::new(self.series.iter()),
        };
        candidates
            .filter(|series| {
                matchers
                    .iter()
                    .all(|matcher| matcher.matches(&series.labels))
            })
            .collect()
    }
}

/// The canonical key of a label set (labels in order, with separators no
/// label can contain), used to find a series again.
pub fn series_key(labels: &Labels) -> String {
    let mut key = String::with_capacity(64);
    for (name, value) in labels {
        key.push_str(name);
        key.push('\u{1}');
        key.push_str(value);
        key.push('\u{2}');
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Selector;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn selection_matches_like_promql() {
        let mut store = Store::new();
        for (code, route) in [("200", "/a"), ("500", "/a"), ("503", "")] {
            let mut set = labels(&[("__name__", "http_requests_total"), ("code", code)]);
            if !route.is_empty() {
                set.insert("route".into(), route.into());
            }
            store.insert(&series_key(&set), || set.clone(), 1000, 1.0);
        }
        store.seal();
        let count = |text: &str| {
            let selector = Selector::parse_series(text).expect("valid selector");
            store.select(&selector).len()
        };
        assert_eq!(count(r#"http_requests_total{code=~"5.."}"#), 2);
        assert_eq!(
            count(r#"http_requests_total{code=~"5"}"#),
            0,
            "regexes are anchored"
        );
        assert_eq!(
            count(r#"http_requests_total{route=""}"#),
            1,
            "empty matches a missing label"
        );
        assert_eq!(count(r#"http_requests_total{route!="/a"}"#), 1);
        assert_eq!(count(r#"other_total"#), 0);
    }

    #[test]
    fn ranges_include_both_edges_and_skip_staleness_markers() {
        let mut store = Store::new();
        let set = labels(&[("__name__", "x")]);
        for (time, value) in [
            (0, 1.0),
            (15_000, 2.0),
            (30_000, f64::from_bits(STALE_NAN_BITS)),
            (45_000, 4.0),
        ] {
            store.insert("x", || set.clone(), time, value);
        }
        store.seal();
        let series = &store.all()[0];
        assert_eq!(
            series.between(0, 45_000),
            vec![(0, 1.0), (15_000, 2.0), (45_000, 4.0)]
        );
        assert_eq!(
            series.latest(40_000, 300_000),
            None,
            "the marker hides the series"
        );
        assert_eq!(series.latest(50_000, 300_000), Some((45_000, 4.0)));
        assert_eq!(
            series.latest(400_000, 300_000),
            None,
            "older than the lookback"
        );
    }
}
