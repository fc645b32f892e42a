//! Decoding the HTTP API's JSON: the envelope (`status`, `data`,
//! `errorType`, `error`, `warnings`, `infos`) and all four result types.
//!
//! Values travel as strings so that `NaN` and `±Inf` survive JSON; they are
//! read back into `f64` here and nowhere else.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// Label names to values.
pub type Labels = BTreeMap<String, String>;

/// A successful answer.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The result.
    pub data: ResultData,
    /// Warnings: the answer may be incomplete (a store was down, a limit
    /// was hit).
    pub warnings: Vec<String>,
    /// Informational notes (Prometheus 3); shown, never fatal.
    pub infos: Vec<String>,
}

/// The four result types of the query API.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultData {
    /// One sample per series.
    Vector(Vec<Sample>),
    /// A single number with no labels.
    Scalar(Sample),
    /// Many samples per series.
    Matrix(Vec<Series>),
    /// A string (a query that is just a string literal).
    String(String),
}

impl ResultData {
    /// The result type's name as the API spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Vector(_) => "vector",
            Self::Scalar(_) => "scalar",
            Self::Matrix(_) => "matrix",
            Self::String(_) => "string",
        }
    }
}

/// One series' value at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series' labels.
    pub labels: Labels,
    /// The instant, in Unix seconds, the value is for.
    pub time: f64,
    /// The value; may be NaN or infinite.
    pub value: f64,
}

/// One series' values over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series' labels.
    pub labels: Labels,
    /// `(Unix seconds, value)` pairs in time order.
    pub points: Vec<(f64, f64)>,
}

/// The server answered, but not with a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `status: error` with its type and message.
    Error {
        /// `errorType`, such as `bad_data`, `execution`, `timeout`.
        error_type: String,
        /// `error`, the server's message.
        message: String,
    },
    /// The body is not the API's JSON.
    Malformed(String),
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Value>,
    #[serde(rename = "errorType", default)]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    infos: Vec<String>,
}

#[derive(Deserialize)]
struct QueryData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Value,
}

#[derive(Deserialize)]
struct RawSample {
    #[serde(default)]
    metric: Labels,
    value: Option<(Value, String)>,
    #[serde(default)]
    histogram: Option<Value>,
}

#[derive(Deserialize)]
struct RawSeries {
    #[serde(default)]
    metric: Labels,
    #[serde(default)]
    values: Vec<(Value, String)>,
    #[serde(default)]
    histograms: Option<Value>,
}

/// Reads the envelope: the `data` member on success, or the error.
pub fn decode_envelope(body: &[u8]) -> Result<(Value, Vec<String>, Vec<String>), Answer> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|error| {
        Answer::Malformed(format!(
            "not the API's JSON ({error}); the body begins: {}",
            excerpt(body)
        ))
    })?;
    match envelope.status.as_str() {
        "success" => {
            let data = envelope
                .data
                .ok_or_else(|| Answer::Malformed("success without 'data'".into()))?;
            Ok((data, envelope.warnings, envelope.infos))
        }
        "error" => Err(Answer::Error {
            error_type: envelope.error_type.unwrap_or_else(|| "unknown".into()),
            message: envelope.error.unwrap_or_default(),
        }),
        other => Err(Answer::Malformed(format!("unknown status '{other}'"))),
    }
}

/// Decodes a `/api/v1/query` or `/api/v1/query_range` body.
pub fn decode_query(body: &[u8]) -> Result<QueryResult, Answer> {
    let (data, warnings, infos) = decode_envelope(body)?;
    let data: QueryData = serde_json::from_value(data)
        .map_err(|error| Answer::Malformed(format!("unexpected 'data' ({error})")))?;
    let malformed = |error: serde_json::Error| {
        Answer::Malformed(format!("unexpected {} result ({error})", data.result_type))
    };
    let decoded = match data.result_type.as_str() {
        "vector" => {
            let raw: Vec<RawSample> =
                serde_json::from_value(data.result.clone()).map_err(malformed)?;
            let mut samples = Vec::with_capacity(raw.len());
            for sample in raw {
                let Some((time, value)) = sample.value else {
                    return Err(native_histogram(sample.histogram.is_some()));
                };
                samples.push(Sample {
                    labels: sample.metric,
                    time: parse_time(&time)?,
                    value: parse_value(&value)?,
                });
            }
            ResultData::Vector(samples)
        }
        "matrix" => {
            let raw: Vec<RawSeries> =
                serde_json::from_value(data.result.clone()).map_err(malformed)?;
            let mut series = Vec::with_capacity(raw.len());
            for item in raw {
                if item.values.is_empty() && item.histograms.is_some() {
                    return Err(native_histogram(true));
                }
                let points = item
                    .values
                    .iter()
                    .map(|(time, value)| Ok((parse_time(time)?, parse_value(value)?)))
                    .collect::<Result<Vec<_>, Answer>>()?;
                series.push(Series {
                    labels: item.metric,
                    points,
                });
            }
            ResultData::Matrix(series)
        }
        "scalar" => {
            let (time, value): (Value, String) =
                serde_json::from_value(data.result.clone()).map_err(malformed)?;
            ResultData::Scalar(Sample {
                labels: Labels::new(),
                time: parse_time(&time)?,
                value: parse_value(&value)?,
            })
        }
        "string" => {
            let (_, value): (Value, String) =
                serde_json::from_value(data.result.clone()).map_err(malformed)?;
            ResultData::String(value)
        }
        other => return Err(Answer::Malformed(format!("unknown resultType '{other}'"))),
    };
    Ok(QueryResult {
        data: decoded,
        warnings,
        infos,
    })
}

fn native_histogram(present: bool) -> Answer {
    if present {
        Answer::Malformed(
            "the query returned native histograms; summit-slo reads classic histograms (_bucket series)"
                .into(),
        )
    } else {
        Answer::Malformed("a sample has no value".into())
    }
}

/// The start of a body for messages: one line, printable, at most 120
/// characters, or `(empty)`.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let flat: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|character| !character.is_control())
        .take(120)
        .collect();
    if flat.is_empty() {
        "(empty)".to_string()
    } else {
        format!("'{flat}'")
    }
}

/// Reads a sample value as the API writes it: a decimal, `NaN`, `+Inf`,
/// `-Inf`.
pub fn parse_value(text: &str) -> Result<f64, Answer> {
    match text {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => text
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .ok_or_else(|| Answer::Malformed(format!("'{text}' is not a sample value"))),
    }
}

/// Reads a bucket bound (`le`) in any spelling Prometheus versions and
/// exporters use: `0.25`, `1`, `1.0`, `1e+00`, `+Inf`.
pub fn parse_bucket_bound(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" | "Inf" | "inf" | "+inf" => Ok(f64::INFINITY),
        _ => text
            .parse::<f64>()
            .ok()
            .filter(|value| !value.is_nan())
            .ok_or_else(|| format!("'{text}' is not a bucket bound")),
    }
}

fn parse_time(value: &Value) -> Result<f64, Answer> {
    value
        .as_f64()
        .ok_or_else(|| Answer::Malformed(format!("'{value}' is not a timestamp")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(body: &str) -> Vec<Sample> {
        match decode_query(body.as_bytes()).expect("decodes").data {
            ResultData::Vector(samples) => samples,
            other => panic!("expected a vector, got {other:?}"),
        }
    }

    /// C01: an empty vector is an empty list, not an error and not zero.
    #[test]
    fn empty_vector_decodes_to_no_samples() {
        let samples = vector(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#);
        assert!(samples.is_empty());
    }

    /// C02: NaN and infinities arrive as strings and keep their meaning.
    #[test]
    fn non_finite_values_survive() {
        for (text, check) in [
            ("NaN", f64::is_nan as fn(f64) -> bool),
            ("+Inf", |v: f64| v == f64::INFINITY),
            ("-Inf", |v: f64| v == f64::NEG_INFINITY),
        ] {
            let body = format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1796379000,"{text}"]}}]}}}}"#
            );
            assert!(check(vector(&body)[0].value), "{text}");
        }
    }

    /// C04: all four result types decode; a vector keeps every series.
    #[test]
    fn all_result_types_decode() {
        let two = vector(
            r#"{"status":"success","data":{"resultType":"vector","result":[
              {"metric":{"pod":"checkout-7d9f-abc"},"value":[1796379000,"0.004"]},
              {"metric":{"pod":"checkout-7d9f-def"},"value":[1796379000,"0.031"]}]}}"#,
        );
        assert_eq!(two.len(), 2);
        assert_eq!(two[1].labels["pod"], "checkout-7d9f-def");
        assert_eq!(two[1].value, 0.031);

        let scalar = decode_query(
            br#"{"status":"success","data":{"resultType":"scalar","result":[1796379000,"0.004"]}}"#,
        )
        .expect("decodes");
        let ResultData::Scalar(sample) = scalar.data else {
            panic!("expected a scalar")
        };
        assert_eq!((sample.time, sample.value), (1796379000.0, 0.004));

        let matrix = decode_query(
            br#"{"status":"success","data":{"resultType":"matrix","result":[
              {"metric":{},"values":[[1796378460,"0.005"],[1796378520,"NaN"]]}]}}"#,
        )
        .expect("decodes");
        let ResultData::Matrix(series) = matrix.data else {
            panic!("expected a matrix")
        };
        assert_eq!(series[0].points[0], (1796378460.0, 0.005));
        assert!(series[0].points[1].1.is_nan());

        let string = decode_query(
            br#"{"status":"success","data":{"resultType":"string","result":[1796379000,"x"]}}"#,
        )
        .expect("decodes");
        assert_eq!(string.data, ResultData::String("x".into()));
    }

    /// C21: warnings and infos are kept beside the data.
    #[test]
    fn warnings_and_infos_are_kept() {
        let result = decode_query(
            br#"{"status":"success","warnings":["partial response: store 10.0.3.7:10901 unavailable"],
                "infos":["PromQL info: metric might not be a counter"],
                "data":{"resultType":"vector","result":[{"metric":{},"value":[1796379000,"0.002"]}]}}"#,
        )
        .expect("decodes");
        assert_eq!(
            result.warnings,
            ["partial response: store 10.0.3.7:10901 unavailable"]
        );
        assert_eq!(result.infos.len(), 1);
    }

    #[test]
    fn bucket_bounds_read_in_every_spelling() {
        for (text, value) in [
            ("1", 1.0),
            ("1.0", 1.0),
            ("1e+00", 1.0),
            ("0.25", 0.25),
            ("2.5e-01", 0.25),
        ] {
            assert_eq!(parse_bucket_bound(text), Ok(value), "{text}");
        }
        assert_eq!(parse_bucket_bound("+Inf"), Ok(f64::INFINITY));
        assert!(parse_bucket_bound("fast").is_err());
    }

    #[test]
    fn errors_and_garbage_are_told_apart() {
        let error = decode_query(
            br#"{"status":"error","errorType":"unavailable","error":"query queue full"}"#,
        );
        assert_eq!(
            error,
            Err(Answer::Error {
                error_type: "unavailable".into(),
                message: "query queue full".into()
            })
        );
        for body in [
            &b"{\"status\":\"success\",\"data\":{\"resultType\":\"vec"[..],
            b"<html>502 Bad Gateway</html>",
            br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"fast"]}]}}"#,
            br#"{"status":"success","data":{"resultType":"tensor","result":[]}}"#,
        ] {
            assert!(
                matches!(decode_query(body), Err(Answer::Malformed(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
