//! Reading the Prometheus text exposition format and OpenMetrics: samples
//! with their labels and timestamps, and each family's declared type.
//!
//! OpenMetrics (a file ending in `# EOF`) writes timestamps in seconds; the
//! Prometheus text format in milliseconds. Series names and label sets are
//! parsed once per series: later samples of the same series are found by
//! their text.

use std::collections::HashMap;

use super::store::Store;
use crate::prometheus::Labels;

/// The two exposition formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics: timestamps in seconds, ends with `# EOF`.
    OpenMetrics,
    /// Prometheus text format 0.0.4: timestamps in milliseconds.
    Prometheus,
}

impl Format {
    /// OpenMetrics when a line reads `# EOF`, else the Prometheus format.
    pub fn detect(text: &str) -> Self {
        if text
            .lines()
            .rev()
            .take(4)
            .any(|line| line.trim() == "# EOF")
        {
            Self::OpenMetrics
        } else {
            Self::Prometheus
        }
    }
}

/// A line that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

/// What a parse added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Samples read.
    pub samples: usize,
}

/// Reads every sample of `text` into the store. Samples without a
/// timestamp get `default_time` (the scrape's time), or are an error when
/// there is none (a recording must carry its times).
pub fn parse(
    text: &str,
    format: Format,
    default_time: Option<i64>,
    store: &mut Store,
    types: &mut HashMap<String, String>,
) -> Result<Parsed, ParseError> {
    let mut parsed = Parsed::default();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let fail = |problem: String| ParseError {
            line: number,
            problem,
        };
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.split_whitespace();
            if words.next() == Some("TYPE")
                && let (Some(family), Some(kind)) = (words.next(), words.next())
            {
                types.insert(family.to_string(), kind.to_string());
            }
            continue;
        }

        let (series_text, rest) = split_series(line).map_err(fail)?;
        let mut fields = rest.split_whitespace();
        let value_text = fields
            .next()
            .ok_or_else(|| fail("a sample needs a value".into()))?;
        let value = parse_value(value_text)
            .ok_or_else(|| fail(format!("'{value_text}' is not a sample value")))?;
        let time = match fields.next() {
            None | Some("#") => default_time
                .ok_or_else(|| fail("a recording needs a timestamp on every sample".to_string()))?,
            Some(stamp) => parse_timestamp(stamp, format)
                .ok_or_else(|| fail(format!("'{stamp}' is not a timestamp")))?,
        };
        if let Some(extra) = fields.next()
            && extra != "#"
        {
            return Err(fail(format!("unexpected '{extra}' after the timestamp")));
        }

        let mut labels_error = None;
        store.insert(
            series_text,
            || match parse_series(series_text) {
                Ok(labels) => labels,
                Err(problem) => {
                    labels_error = Some(problem);
                    Labels::new()
                }
            },
            time,
            value,
        );
        if let Some(problem) = labels_error {
            return Err(fail(problem));
        }
        parsed.samples += 1;
    }
    Ok(parsed)
}

/// Splits `name{labels} rest` at the end of the series part, respecting
/// quotes inside the braces.
fn split_series(line: &str) -> Result<(&str, &str), String> {
    let bytes = line.as_bytes();
    let name_end = bytes
        .iter()
        .position(|&byte| byte == b'{' || byte == b' ' || byte == b'\t')
        .ok_or_else(|| "a sample needs a value".to_string())?;
    if bytes[name_end] != b'{' {
        return Ok((&line[..name_end], &line[name_end..]));
    }
    let mut quoted = false;
    let mut escaped = false;
    for (offset, &byte) in bytes[name_end..].iter().enumerate() {
        match byte {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b'}' if !quoted => {
                let end = name_end + offset + 1;
                return Ok((&line[..end], &line[end..]));
            }
            _ => {}
        }
    }
    Err("the label set is not closed with '}'".to_string())
}

/// Parses `name{a="1",b="2"}` into labels with `__name__`.
pub fn parse_series(text: &str) -> Result<Labels, String> {
    let (name, rest) = match text.find('{') {
        Some(brace) => (&text[..brace], &text[brace + 1..text.len() - 1]),
        None => (text, ""),
    };
    if !crate::spec::selector::is_metric_name(name) {
        return Err(format!("'{name}' is not a metric name"));
    }
    let mut labels = Labels::new();
    labels.insert("__name__".to_string(), name.to_string());
    let mut rest = rest.trim_start();
    while !rest.is_empty() {
        let equals = rest
            .find('=')
            .ok_or_else(|| format!("label without '=' in '{text}'"))?;
        let label = rest[..equals].trim();
        if !crate::spec::selector::is_label_name(label) {
            return Err(format!("'{label}' is not a label name"));
        }
        let after = rest[equals + 1..].trim_start();
        let body = after
            .strip_prefix('"')
            .ok_or_else(|| format!("the value of '{label}' is not quoted"))?;
        let mut value = String::new();
        let mut characters = body.char_indices();
        let mut end = None;
        while let Some((offset, character)) = characters.next() {
            match character {
                '\\' => match characters.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, other)) => {
                        value.push('\\');
                        value.push(other);
                    }
                    None => return Err("a label value ends in '\\'".to_string()),
                },
                '"' => {
                    end = Some(offset);
                    break;
                }
                other => value.push(other),
            }
        }
        let end = end.ok_or_else(|| format!("the value of '{label}' is not closed"))?;
        labels.insert(label.to_string(), value);
        rest = body[end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(labels)
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok().filter(|value: &f64| value.is_finite()),
    }
}

fn parse_timestamp(text: &str, format: Format) -> Option<i64> {
    match format {
        Format::OpenMetrics => {
            let seconds: f64 = text.parse().ok()?;
            seconds
                .is_finite()
                .then(|| (seconds * 1000.0).round() as i64)
        }
        Format::Prometheus => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openmetrics_samples_with_labels_and_second_timestamps() {
        let text = "# TYPE http_requests counter\n\
                    http_requests_total{job=\"checkout\",code=\"200\"} 5000 1796378405\n\
                    http_requests_total{code=\"200\",job=\"checkout\"} 5030 1796378420.000\n\
                    weird{path=\"/a\\\"b\\\\c\",empty=\"\"} NaN 1796378420.5\n\
                    # EOF\n";
        assert_eq!(Format::detect(text), Format::OpenMetrics);
        let mut store = Store::new();
        let mut types = HashMap::new();
        let parsed = parse(text, Format::OpenMetrics, None, &mut store, &mut types).expect("valid");
        store.seal();
        assert_eq!(parsed.samples, 3);
        assert_eq!(
            store.series_count(),
            2,
            "label order does not make a new series"
        );
        assert_eq!(types["http_requests"], "counter");
        let requests = &store.all()[0];
        assert_eq!(requests.times, [1_796_378_405_000, 1_796_378_420_000]);
        let weird = &store.all()[1];
        assert_eq!(weird.labels["path"], "/a\"b\\c");
        assert_eq!(weird.times, [1_796_378_420_500]);
        assert!(weird.values[0].is_nan());
    }

    #[test]
    fn prometheus_text_uses_milliseconds_and_scrape_time() {
        let text = "up{job=\"a\"} 1 1796378405000\nup{job=\"b\"} 0\n";
        assert_eq!(Format::detect(text), Format::Prometheus);
        let mut store = Store::new();
        let mut types = HashMap::new();
        parse(text, Format::Prometheus, Some(42), &mut store, &mut types).expect("valid");
        assert_eq!(store.all()[0].times, [1_796_378_405_000]);
        assert_eq!(
            store.all()[1].times,
            [42],
            "no timestamp: the scrape's time"
        );
    }

    #[test]
    fn broken_lines_name_their_line() {
        let cases = [
            ("x{a=\"1\" 5 1", "not closed"),
            ("x{a=1} 5 1", "not quoted"),
            ("x 1.2.3 1", "not a sample value"),
            ("x 5", "needs a timestamp"),
            ("9x 5 1", "not a metric name"),
            ("x 5 1 extra", "unexpected 'extra'"),
        ];
        for (line, expected) in cases {
            let mut store = Store::new();
            let error = parse(
                &format!("ok 1 1\n{line}\n"),
                Format::OpenMetrics,
                None,
                &mut store,
                &mut HashMap::new(),
            )
            .expect_err(line);
            assert_eq!(error.line, 2, "{line}");
            assert!(
                error.problem.contains(expected),
                "{line}: {}",
                error.problem
            );
        }
    }
}
