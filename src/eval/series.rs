//! Reading query answers as series keyed by their labels, so answers to a
//! SLO's several queries can be matched group by group.

use std::collections::BTreeMap;

use crate::prometheus::{Labels, QueryResult, ResultData, Sample, parse_bucket_bound};

/// The samples of an instant answer; a scalar is one unlabelled sample.
/// Range vectors and strings are refused with their kind.
pub fn samples_of(data: &ResultData) -> Result<Vec<Sample>, &'static str> {
    match data {
        ResultData::Vector(samples) => Ok(samples.clone()),
        ResultData::Scalar(sample) => Ok(vec![sample.clone()]),
        ResultData::Matrix(_) => Err("range vector (matrix)"),
        ResultData::String(_) => Err("string"),
    }
}

pub fn by_labels(result: &QueryResult) -> BTreeMap<Labels, f64> {
    samples_of(&result.data)
        .unwrap_or_default()
        .into_iter()
        .map(|sample| (sample.labels, sample.value))
        .collect()
}

/// A group's value in an auxiliary answer; a single unlabelled series
/// applies to every group (a hand-written events query).
pub fn lookup(map: &BTreeMap<Labels, f64>, labels: &Labels) -> Option<f64> {
    map.get(labels).copied().or_else(|| {
        (map.len() == 1)
            .then(|| map.iter().next())
            .flatten()
            .filter(|(key, _)| key.is_empty())
            .map(|(_, value)| *value)
    })
}

/// Bucket increases grouped by every label but `le`, sorted by `le`.
pub fn buckets_by_group(result: &QueryResult) -> BTreeMap<Labels, Vec<(f64, f64)>> {
    let mut groups: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
    for sample in samples_of(&result.data).unwrap_or_default() {
        let mut labels = sample.labels;
        let Some(le) = labels.remove("le") else {
            continue;
        };
        let Ok(le) = parse_bucket_bound(&le) else {
            continue;
        };
        groups.entry(labels).or_default().push((le, sample.value));
    }
    for buckets in groups.values_mut() {
        buckets.sort_by(|left, right| left.0.total_cmp(&right.0));
    }
    groups
}

/// `{queue="ingest"}`, or `{}` for no labels.
pub fn format_labels(labels: &Labels) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .map(|(name, value)| {
            format!(
                "{name}=\"{}\"",
                crate::spec::selector::escape_label_value(value)
            )
        })
        .collect();
    format!("{{{}}}", pairs.join(", "))
}
