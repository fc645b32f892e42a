//! Writing the samples in memory as an OpenMetrics recording, ready for
//! `--replay` and for `promtool tsdb create-blocks-from openmetrics`.
//!
//! Every metric name is its own family without a `# TYPE` line (OpenMetrics'
//! "unknown" type), so no family-naming rule can reject a series whatever
//! the target exposed. Staleness markers are left out: OpenMetrics has no
//! way to write them, and range functions skip them anyway.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use super::Engine;
use super::store::{Series, is_stale};
use crate::spec::selector::escape_label_value;

/// Writes the engine's samples to `path` as OpenMetrics.
pub fn write(engine: &Engine, path: &Path) -> std::io::Result<usize> {
    let mut families: BTreeMap<&str, Vec<&Series>> = BTreeMap::new();
    for series in engine.store.all() {
        let name = series.labels.get("__name__").map_or("", String::as_str);
        families.entry(name).or_default().push(series);
    }

    let file = std::fs::File::create(path)?;
    let mut out = std::io::BufWriter::new(file);
    let mut written = 0;
    let mut line = String::with_capacity(256);
    for (name, mut series) in families {
        series.sort_by(|left, right| left.labels.cmp(&right.labels));
        for series in series {
            let labels: Vec<String> = series
                .labels
                .iter()
                .filter(|(label, _)| label.as_str() != "__name__")
                .map(|(label, value)| format!("{label}=\"{}\"", escape_label_value(value)))
                .collect();
            let head = if labels.is_empty() {
                name.to_string()
            } else {
                format!("{name}{{{}}}", labels.join(","))
            };
            for (&time, &value) in series.times.iter().zip(&series.values) {
                if is_stale(value) {
                    continue;
                }
                line.clear();
                let _ = writeln!(
                    line,
                    "{head} {} {}",
                    format_value(value),
                    format_seconds(time)
                );
                out.write_all(line.as_bytes())?;
                written += 1;
            }
        }
    }
    out.write_all(b"# EOF\n")?;
    out.flush()?;
    Ok(written)
}

fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{value}")
    }
}

fn format_seconds(millis: i64) -> String {
    format!("{}.{:03}", millis.div_euclid(1000), millis.rem_euclid(1000))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::engine::text::{Format, parse};

    #[test]
    fn recordings_read_back_to_the_same_samples() {
        let text = "b_total{path=\"/x\\\"y\"} 1 1796378405.5\nb_total{path=\"/x\\\"y\"} 2.25 1796378420\na NaN 1796378405\n# EOF\n";
        let mut engine = Engine::default();
        parse(
            text,
            Format::OpenMetrics,
            None,
            &mut engine.store,
            &mut HashMap::new(),
        )
        .expect("valid");
        engine.store.seal();
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("out.om");
        assert_eq!(write(&engine, &path).expect("written"), 3);

        let written = std::fs::read_to_string(&path).expect("readable");
        assert_eq!(
            written,
            "a NaN 1796378405.000\nb_total{path=\"/x\\\"y\"} 1 1796378405.500\nb_total{path=\"/x\\\"y\"} 2.25 1796378420.000\n# EOF\n"
        );
        let again = Engine::load(&path).expect("a recording loads");
        assert_eq!(again.store.samples(), 3);
    }
}
