//! Alertmanager's webhook payload (version 4), read strictly: every field
//! the gate relies on is checked, and a problem is reported with the path
//! of the field (`alerts[2].startsAt`), so a broken sender is found at once
//! instead of leaving the gate in a state nobody can explain.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One notification: a group of alerts as Alertmanager sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// The receiver the route chose.
    pub receiver: String,
    /// The group's key; identifies the group across notifications.
    pub group_key: String,
    /// `firing` when any alert of the group fires.
    pub status: Status,
    /// The alerts sent.
    pub alerts: Vec<Alert>,
    /// How many alerts of the group were left out (`max_alerts`).
    pub truncated_alerts: u64,
    /// The sending Alertmanager.
    pub external_url: String,
}

/// An alert's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Still open.
    Firing,
    /// Over.
    Resolved,
}

impl Status {
    /// `firing` or `resolved`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Resolved => "resolved",
        }
    }
}

/// One alert of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Alertmanager's fingerprint of the label set (computed from the
    /// labels when the sender leaves it out).
    pub fingerprint: String,
    /// Firing or resolved.
    pub status: Status,
    /// The alert's labels.
    pub labels: BTreeMap<String, String>,
    /// The alert's annotations.
    pub annotations: BTreeMap<String, String>,
    /// When it started.
    pub starts_at: Timestamp,
    /// When it ended; none while open (Alertmanager sends the zero time).
    pub ends_at: Option<Timestamp>,
}

/// What is wrong with a payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct PayloadError {
    /// Where: `alerts[2].startsAt`, or `body` for the whole.
    pub field: String,
    /// What.
    pub problem: String,
}

fn problem(field: impl Into<String>, problem: impl Into<String>) -> PayloadError {
    PayloadError {
        field: field.into(),
        problem: problem.into(),
    }
}

/// Reads a webhook body.
pub fn parse(body: &[u8]) -> Result<Notification, PayloadError> {
    let value: Value = serde_json::from_slice(body).map_err(|error| {
        problem(
            "body",
            format!("not JSON ({error}); expected Alertmanager's webhook payload"),
        )
    })?;
    let object = value
        .as_object()
        .ok_or_else(|| problem("body", "not a JSON object"))?;
    let text = |name: &str| -> Result<String, PayloadError> {
        match object.get(name) {
            Some(Value::String(text)) => Ok(text.clone()),
            Some(_) => Err(problem(name, "must be a string")),
            None => Err(problem(name, "missing")),
        }
    };
    let version = text("version")?;
    if version != "4" {
        return Err(problem(
            "version",
            format!("version {version:?} is not supported; Alertmanager sends \"4\""),
        ));
    }
    let status = parse_status(&text("status")?, "status")?;
    let truncated_alerts = match object.get("truncatedAlerts") {
        None | Some(Value::Null) => 0,
        Some(value) => value
            .as_u64()
            .ok_or_else(|| problem("truncatedAlerts", "must be a non-negative integer"))?,
    };
    let alerts = match object.get("alerts") {
        Some(Value::Array(alerts)) => alerts
            .iter()
            .enumerate()
            .map(|(index, alert)| parse_alert(alert, &format!("alerts[{index}]")))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(problem("alerts", "must be a list")),
        None => return Err(problem("alerts", "missing")),
    };
    Ok(Notification {
        receiver: text("receiver")?,
        group_key: text("groupKey")?,
        status,
        alerts,
        truncated_alerts,
        external_url: object
            .get("externalURL")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    })
}

fn parse_status(text: &str, field: &str) -> Result<Status, PayloadError> {
    match text {
        "firing" => Ok(Status::Firing),
        "resolved" => Ok(Status::Resolved),
        other => Err(problem(
            field,
            format!("{other:?} is neither \"firing\" nor \"resolved\""),
        )),
    }
}

fn parse_alert(value: &Value, path: &str) -> Result<Alert, PayloadError> {
    let object = value
        .as_object()
        .ok_or_else(|| problem(path, "not a JSON object"))?;
    let field = |name: &str| format!("{path}.{name}");
    let strings = |name: &str, required: bool| -> Result<BTreeMap<String, String>, PayloadError> {
        match object.get(name) {
            Some(Value::Object(map)) => map
                .iter()
                .map(|(key, value)| match value {
                    Value::String(text) => Ok((key.clone(), text.clone())),
                    _ => Err(problem(format!("{path}.{name}.{key}"), "must be a string")),
                })
                .collect(),
            None | Some(Value::Null) if !required => Ok(BTreeMap::new()),
            None => Err(problem(field(name), "missing")),
            Some(_) => Err(problem(field(name), "must be an object of strings")),
        }
    };
    let labels = strings("labels", true)?;
    if labels.is_empty() {
        return Err(problem(
            field("labels"),
            "empty; an alert is identified by its labels",
        ));
    }
    let time = |name: &str| -> Result<Option<Timestamp>, PayloadError> {
        let text = object
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| problem(field(name), "missing or not a string"))?;
        let instant: Timestamp = text.parse().map_err(|error| {
            problem(
                field(name),
                format!("{text:?} is not an RFC 3339 time ({error})"),
            )
        })?;
        // Go's zero time, 0001-01-01T00:00:00Z: "not set".
        Ok((instant.as_second() > -62_135_596_800).then_some(instant))
    };
    let status_text = object
        .get("status")
        .and_then(Value::as_str)
        .ok_or_else(|| problem(field("status"), "missing or not a string"))?;
    let status = parse_status(status_text, &field("status"))?;
    let starts_at = time("startsAt")?
        .ok_or_else(|| problem(field("startsAt"), "the zero time; an alert has a start"))?;
    let ends_at = time("endsAt")?;
    if status == Status::Resolved && ends_at.is_none() {
        return Err(problem(
            field("endsAt"),
            "a resolved alert needs its end time",
        ));
    }
    let fingerprint = match object.get("fingerprint") {
        Some(Value::String(text)) if !text.is_empty() => text.clone(),
        None | Some(Value::Null) | Some(Value::String(_)) => fingerprint_of(&labels),
        Some(_) => return Err(problem(field("fingerprint"), "must be a string")),
    };
    Ok(Alert {
        fingerprint,
        status,
        labels,
        annotations: strings("annotations", false)?,
        starts_at,
        ends_at,
    })
}

/// A fingerprint from the sorted labels, for senders that send none.
fn fingerprint_of(labels: &BTreeMap<String, String>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, value) in labels {
        for byte in name
            .bytes()
            .chain([0xff])
            .chain(value.bytes())
            .chain([0xfe])
        {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRING: &str = r#"{
      "receiver": "summit-slo", "status": "firing", "version": "4",
      "groupKey": "{}:{alertname=\"HighErrorRate\"}", "truncatedAlerts": 0,
      "externalURL": "http://alertmanager:9093",
      "groupLabels": {"alertname": "HighErrorRate"}, "commonLabels": {}, "commonAnnotations": {},
      "alerts": [{
        "status": "firing",
        "labels": {"alertname": "HighErrorRate", "severity": "critical"},
        "annotations": {"summary": "5xx above 1%"},
        "startsAt": "2026-12-04T10:03:00.123+01:00",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": "1a30ba71cca2921f"
      }]
    }"#;

    #[test]
    fn a_firing_alert_with_the_zero_end_is_open() {
        let notification = parse(FIRING.as_bytes()).expect("valid");
        assert_eq!(notification.status, Status::Firing);
        let alert = &notification.alerts[0];
        assert_eq!(alert.ends_at, None);
        assert_eq!(alert.starts_at.to_string(), "2026-12-04T09:03:00.123Z");
        assert_eq!(alert.fingerprint, "1a30ba71cca2921f");
    }

    #[test]
    fn problems_name_the_field() {
        let broken = FIRING.replace("2026-12-04T10:03:00.123+01:00", "yesterday");
        let error = parse(broken.as_bytes()).expect_err("invalid");
        assert_eq!(error.field, "alerts[0].startsAt");
        let error = parse(FIRING.replace("\"4\"", "\"3\"").as_bytes()).expect_err("invalid");
        assert_eq!(error.field, "version");
        let error = parse(b"{\"version\": \"4\"").expect_err("truncated");
        assert_eq!(error.field, "body");
        let resolved_open = FIRING.replace(
            "\"status\": \"firing\",\n        \"labels\"",
            "\"status\": \"resolved\",\n        \"labels\"",
        );
        let error = parse(resolved_open.as_bytes()).expect_err("resolved without an end");
        assert_eq!(error.field, "alerts[0].endsAt");
    }

    #[test]
    fn a_missing_fingerprint_is_computed_from_the_labels() {
        let without = FIRING.replace(
            "\"fingerprint\": \"1a30ba71cca2921f\"",
            "\"fingerprint\": \"\"",
        );
        let first = parse(without.as_bytes()).expect("valid");
        let again = parse(without.as_bytes()).expect("valid");
        assert_eq!(first.alerts[0].fingerprint.len(), 16);
        assert_eq!(first.alerts[0].fingerprint, again.alerts[0].fingerprint);
    }
}
