//! The release gate over the receiver's state: closed while any firing
//! alert matches a gate matcher, and while any alert group's state is
//! unknown because its last notification left alerts out.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use super::state::State;
use crate::spec::selector::{MatchKind, Matcher};
use crate::time::format_instant;

/// The default: alerts that page someone block releases.
pub const DEFAULT_MATCHER: &str = r#"severity=~"critical|page""#;

/// One `--gate-matcher`: Alertmanager matchers that must all hold.
#[derive(Debug, Clone)]
pub struct GateMatcher {
    text: String,
    matchers: Vec<Matcher>,
}

impl GateMatcher {
    /// Reads Alertmanager's matcher syntax: `severity=~"critical|page"`,
    /// `{team="checkout", severity!="info"}`, values quoted or bare.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        let inner = trimmed
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
            .unwrap_or(trimmed);
        let mut matchers = Vec::new();
        let mut rest = inner.trim();
        while !rest.is_empty() {
            let (matcher, after) = one_matcher(rest).map_err(|problem| {
                format!(
                    "--gate-matcher '{text}': {problem}; expected e.g. severity=~\"critical|page\""
                )
            })?;
            matchers.push(matcher);
            rest = after.trim_start();
            if let Some(after_comma) = rest.strip_prefix(',') {
                rest = after_comma.trim_start();
            } else if !rest.is_empty() {
                return Err(format!(
                    "--gate-matcher '{text}': expected ',' before '{rest}'"
                ));
            }
        }
        if matchers.is_empty() {
            return Err(format!(
                "--gate-matcher '{text}' has no matchers; it would block on every alert"
            ));
        }
        for matcher in &matchers {
            if matches!(matcher.kind, MatchKind::Regex | MatchKind::NotRegex)
                && regex::Regex::new(&matcher.value).is_err()
            {
                return Err(format!(
                    "--gate-matcher '{text}': {:?} is not a valid regular expression",
                    matcher.value
                ));
            }
        }
        Ok(Self {
            text: trimmed.to_string(),
            matchers,
        })
    }

    /// True when every matcher holds for the labels (a missing label is
    /// the empty string, as in Alertmanager).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matchers
            .iter()
            .all(|matcher| matcher.matches(labels.get(&matcher.name).map_or("", String::as_str)))
    }

    /// As written.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Reads `name op value` from the start of `text`; returns the rest.
fn one_matcher(text: &str) -> Result<(Matcher, &str), String> {
    let name_end = text
        .find(|character: char| !(character.is_ascii_alphanumeric() || character == '_'))
        .unwrap_or(text.len());
    let name = &text[..name_end];
    if name.is_empty() {
        return Err(format!("expected a label name at '{text}'"));
    }
    let rest = text[name_end..].trim_start();
    let (kind, rest) = [
        ("=~", MatchKind::Regex),
        ("!~", MatchKind::NotRegex),
        ("!=", MatchKind::NotEqual),
        ("=", MatchKind::Equal),
    ]
    .into_iter()
    .find_map(|(operator, kind)| rest.strip_prefix(operator).map(|rest| (kind, rest)))
    .ok_or_else(|| format!("expected =, !=, =~ or !~ after '{name}'"))?;
    let rest = rest.trim_start();
    let (value, rest) = if let Some(quoted) = rest.strip_prefix('"') {
        let mut value = String::new();
        let mut characters = quoted.char_indices();
        loop {
            match characters.next() {
                Some((_, '\\')) => match characters.next() {
                    Some((_, escaped)) => value.push(escaped),
                    None => return Err("unterminated escape".into()),
                },
                Some((index, '"')) => break (value, &quoted[index + 1..]),
                Some((_, character)) => value.push(character),
                None => return Err(format!("unterminated quote in '{text}'")),
            }
        }
    } else {
        let end = rest.find(',').unwrap_or(rest.len());
        (rest[..end].trim().to_string(), &rest[end..])
    };
    Ok((Matcher::new(name, kind, &value), rest))
}

/// The gate as a pipeline sees it.
#[derive(Debug, Clone, Serialize)]
pub struct GateView {
    /// True when a release may start.
    pub open: bool,
    /// One sentence: why.
    pub reason: String,
    /// Firing alerts that match a gate matcher.
    pub blocking: Vec<BlockingAlert>,
    /// Alert groups with alerts of unknown state.
    pub unknown: Vec<UnknownGroup>,
    /// The gate matchers.
    pub matchers: Vec<String>,
    /// Alerts firing now (blocking or not).
    pub firing: usize,
    /// Notifications accepted since the state began.
    pub notifications: u64,
    /// When this answer was computed.
    pub checked_at: String,
}

/// A firing alert that closes the gate.
#[derive(Debug, Clone, Serialize)]
pub struct BlockingAlert {
    /// `alertname`.
    pub alertname: String,
    /// Alertmanager's fingerprint.
    pub fingerprint: String,
    /// All labels.
    pub labels: BTreeMap<String, String>,
    /// `summary` or `description`, when given.
    pub summary: Option<String>,
    /// Since when.
    pub starts_at: String,
}

/// A group whose last notification left alerts out.
#[derive(Debug, Clone, Serialize)]
pub struct UnknownGroup {
    /// The group's key.
    pub group_key: String,
    /// How many alerts were left out.
    pub truncated_alerts: u64,
    /// When that notification came.
    pub received_at: String,
}

/// Evaluates the gate.
pub fn evaluate(state: &State, matchers: &[GateMatcher], now: Timestamp) -> GateView {
    let blocking: Vec<BlockingAlert> = state
        .firing()
        .filter(|known| {
            matchers
                .iter()
                .any(|matcher| matcher.matches(&known.alert.labels))
        })
        .map(|known| {
            let alert = &known.alert;
            BlockingAlert {
                alertname: alert.labels.get("alertname").cloned().unwrap_or_default(),
                fingerprint: alert.fingerprint.clone(),
                labels: alert.labels.clone(),
                summary: alert
                    .annotations
                    .get("summary")
                    .or_else(|| alert.annotations.get("description"))
                    .cloned(),
                starts_at: format_instant(alert.starts_at),
            }
        })
        .collect();
    let unknown: Vec<UnknownGroup> = state
        .truncated
        .iter()
        .map(|(group_key, truncation)| UnknownGroup {
            group_key: group_key.clone(),
            truncated_alerts: truncation.alerts,
            received_at: format_instant(truncation.received_at),
        })
        .collect();
    let firing = state.firing().count();
    let reason = match (blocking.len(), unknown.len()) {
        (0, 0) => format!("no firing alert matches the gate ({firing} firing)"),
        (0, groups) => format!(
            "{groups} alert group(s) left alerts out of their last notification; their state is unknown"
        ),
        (alerts, 0) => {
            let names: Vec<&str> = blocking
                .iter()
                .map(|alert| alert.alertname.as_str())
                .collect();
            format!("{alerts} blocking alert(s) firing: {}", names.join(", "))
        }
        (alerts, groups) => format!(
            "{alerts} blocking alert(s) firing, and {groups} alert group(s) of unknown state"
        ),
    };
    GateView {
        open: blocking.is_empty() && unknown.is_empty(),
        reason,
        blocking,
        unknown,
        matchers: matchers
            .iter()
            .map(|matcher| matcher.text().to_string())
            .collect(),
        firing,
        notifications: state.notifications,
        checked_at: format_instant(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn alertmanager_matchers_are_read_quoted_or_bare() {
        let default = GateMatcher::parse(DEFAULT_MATCHER).expect("valid");
        assert!(default.matches(&labels(&[("severity", "critical")])));
        assert!(default.matches(&labels(&[("severity", "page")])));
        assert!(
            !default.matches(&labels(&[("severity", "critical-ish")])),
            "anchored"
        );
        assert!(!default.matches(&labels(&[("alertname", "X")])));

        let both = GateMatcher::parse(r#"{team="checkout", severity!=info}"#).expect("valid");
        assert!(both.matches(&labels(&[("team", "checkout"), ("severity", "warning")])));
        assert!(!both.matches(&labels(&[("team", "checkout"), ("severity", "info")])));

        assert!(GateMatcher::parse("").is_err());
        assert!(GateMatcher::parse("severity~critical").is_err());
        assert!(GateMatcher::parse(r#"severity=~"(""#).is_err());
        assert!(GateMatcher::parse(r#"severity="critical"#).is_err());
    }
}
