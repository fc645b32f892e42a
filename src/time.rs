//! Durations and instants as users write them, and the one place that reads
//! the clock.
//!
//! Durations follow Prometheus' own syntax (`90s`, `10m`, `1h30m`, `500ms`)
//! plus a decimal form for a single unit (`1.5s`), so a window written for
//! summit-slo can be pasted into PromQL and back. Instants are RFC 3339,
//! Unix seconds, `now`, or `now-15m`. Everything here is pure except
//! [`now`].

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;

/// Reads the wall clock. Every other module takes "now" as an argument so
/// tests can pin it.
pub fn now() -> Timestamp {
    Timestamp::now()
}

/// A duration could not be read; the message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration '{text}': {problem}")]
pub struct DurationError {
    text: String,
    problem: &'static str,
}

/// An instant could not be read; the message says which forms are accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid time '{0}': use RFC 3339 (2026-12-04T10:10:00Z), Unix seconds, 'now' or 'now-15m'"
)]
pub struct InstantError(String);

const UNITS: [(&str, f64); 9] = [
    ("ns", 1e-9),
    ("us", 1e-6),
    ("µs", 1e-6),
    ("ms", 1e-3),
    ("s", 1.0),
    ("m", 60.0),
    ("h", 3600.0),
    ("d", 86_400.0),
    ("w", 604_800.0),
];

/// Parses a duration such as `10m`, `1h30m`, `500ms` or `1.5s`.
///
/// A bare number is refused: a window of `600` could mean seconds or
/// milliseconds, and guessing wrong silently changes the verdict.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let error = |problem| DurationError {
        text: text.to_string(),
        problem,
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(error("it is empty"));
    }

    let mut rest = trimmed;
    let mut total = 0.0_f64;
    let mut parts = 0;
    let mut previous_scale = f64::INFINITY;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| error("a number needs a unit: ms, s, m, h, d or w"))?;
        if digits == 0 {
            return Err(error("expected a number such as 10m or 1h30m"));
        }
        let number: f64 = rest[..digits]
            .parse()
            .map_err(|_| error("expected a number such as 10m or 1h30m"))?;
        rest = &rest[digits..];

        // Longest unit first so that `ms` is not read as `m` followed by `s`.
        let (unit, scale) = UNITS
            .iter()
            .filter(|(unit, _)| rest.starts_with(unit))
            .max_by_key(|(unit, _)| unit.len())
            .ok_or_else(|| error("unknown unit; use ms, s, m, h, d or w"))?;
        rest = &rest[unit.len()..];
        // As in Prometheus: each unit once, largest first (1h30m, not 30m1h
        // or 10m10m).
        if *scale >= previous_scale {
            return Err(error(
                "units must go from largest to smallest, each once, as in 1h30m",
            ));
        }
        previous_scale = *scale;
        total += number * scale;
        parts += 1;
        if parts > 1 && trimmed.contains('.') {
            return Err(error(
                "a decimal is only allowed with a single unit, as in 1.5s",
            ));
        }
    }

    if !total.is_finite() || total > 1e12 {
        return Err(error("it is too long"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// Writes a duration the way a person would type it: `10m`, `1h30m`,
/// `1.5s`, `250ms`.
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis == 0 {
        return "0s".to_string();
    }
    if millis < 1000 {
        return format!("{millis}ms");
    }
    if !millis.is_multiple_of(1000) {
        let seconds = duration.as_secs_f64();
        return format!("{}s", trim_float(seconds, 3));
    }

    let mut seconds = duration.as_secs();
    let mut text = String::new();
    // Days, not weeks: "7d" reads at a glance, "1w" makes people count.
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if seconds >= size {
            text.push_str(&format!("{}{unit}", seconds / size));
            seconds %= size;
        }
    }
    text
}

/// A duration as PromQL's range selector wants it: whole seconds or
/// milliseconds, never a decimal.
pub fn promql_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else {
        format!("{millis}ms")
    }
}

/// Parses an instant: RFC 3339, Unix seconds (with an optional fraction),
/// `now`, or `now-DURATION`, to the millisecond (the precision Prometheus'
/// API works in).
pub fn parse_instant(text: &str, now: Timestamp) -> Result<Timestamp, InstantError> {
    let instant = parse_precise(text, now)?;
    Timestamp::from_millisecond(instant.as_millisecond())
        .map_err(|_| InstantError(text.to_string()))
}

fn parse_precise(text: &str, now: Timestamp) -> Result<Timestamp, InstantError> {
    let error = || InstantError(text.to_string());
    let trimmed = text.trim();
    if trimmed == "now" {
        return Ok(now);
    }
    if let Some(ago) = trimmed.strip_prefix("now-") {
        let ago = parse_duration(ago).map_err(|_| error())?;
        let ago = jiff::SignedDuration::try_from(ago).map_err(|_| error())?;
        return now.checked_sub(ago).map_err(|_| error());
    }
    if !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit() || c == '.') {
        let seconds: f64 = trimmed.parse().map_err(|_| error())?;
        let nanos = (seconds * 1e9).round() as i128;
        return Timestamp::from_nanosecond(nanos).map_err(|_| error());
    }
    trimmed.parse::<Timestamp>().map_err(|_| error())
}

/// Writes an instant as RFC 3339 in UTC, to the second unless it has a
/// fraction.
pub fn format_instant(instant: Timestamp) -> String {
    if instant.subsec_nanosecond() == 0 {
        instant.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        instant.to_string()
    }
}

/// Seconds since the epoch with millisecond precision, as Prometheus' HTTP
/// API takes them.
pub fn api_time(instant: Timestamp) -> String {
    let millis = instant.as_millisecond();
    if millis.rem_euclid(1000) == 0 {
        format!("{}", millis / 1000)
    } else {
        format!("{}.{:03}", millis.div_euclid(1000), millis.rem_euclid(1000))
    }
}

/// Formats a float with at most `decimals` decimals and no trailing zeros.
pub fn trim_float(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A span between two instants, shown as `10m` in messages.
#[derive(Debug, Clone, Copy)]
pub struct Elapsed(pub Duration);

impl fmt::Display for Elapsed {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&format_duration(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("test instants are valid RFC 3339")
    }

    #[test]
    fn durations_parse_in_prometheus_syntax() {
        let cases = [
            ("a plain window", "10m", 600.0),
            ("hours and minutes combine", "1h30m", 5400.0),
            ("milliseconds are not minutes", "500ms", 0.5),
            ("a decimal with one unit", "1.5s", 1.5),
            ("days", "7d", 604_800.0),
            ("spaces around are ignored", " 30s ", 30.0),
        ];
        for (why, text, seconds) in cases {
            let parsed = parse_duration(text).unwrap_or_else(|e| panic!("{why}: {e}"));
            assert_eq!(parsed.as_secs_f64(), seconds, "{why}");
        }
    }

    #[test]
    fn durations_without_units_or_with_junk_are_refused() {
        let cases = [
            ("a bare number is ambiguous", "600"),
            ("empty", ""),
            ("unknown unit", "10x"),
            ("no number", "m"),
            ("a decimal in a compound", "1.5h30m"),
            ("negative", "-5m"),
            ("a repeated unit", "10m10m"),
            ("units out of order", "30m1h"),
        ];
        for (why, text) in cases {
            assert!(
                parse_duration(text).is_err(),
                "{why}: '{text}' was accepted"
            );
        }
    }

    #[test]
    fn durations_format_as_typed() {
        let cases = [
            (600.0, "10m"),
            (5400.0, "1h30m"),
            (0.25, "250ms"),
            (1.5, "1.5s"),
            (604_800.0, "7d"),
            (55.0, "55s"),
        ];
        for (seconds, text) in cases {
            assert_eq!(format_duration(Duration::from_secs_f64(seconds)), text);
        }
        assert_eq!(promql_duration(Duration::from_secs(600)), "600s");
        assert_eq!(promql_duration(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn instants_accept_rfc3339_unix_and_now() {
        let now = at("2026-12-04T10:16:00Z");
        let cases = [
            ("RFC 3339", "2026-12-04T10:10:00Z", "2026-12-04T10:10:00Z"),
            (
                "with an offset",
                "2026-12-04T11:10:00+01:00",
                "2026-12-04T10:10:00Z",
            ),
            ("Unix seconds", "1796379000", "2026-12-04T10:10:00Z"),
            ("now", "now", "2026-12-04T10:16:00Z"),
            ("relative to now", "now-6m", "2026-12-04T10:10:00Z"),
        ];
        for (why, text, expected) in cases {
            let parsed = parse_instant(text, now).unwrap_or_else(|e| panic!("{why}: {e}"));
            assert_eq!(format_instant(parsed), expected, "{why}");
        }
        assert!(parse_instant("yesterday", now).is_err());
        let precise = parse_instant("1796379000.0000025", now).expect("valid");
        assert_eq!(
            format_instant(precise),
            "2026-12-04T10:10:00Z",
            "kept to the millisecond"
        );
    }

    #[test]
    fn api_time_is_seconds_with_milliseconds() {
        assert_eq!(api_time(at("2026-12-04T10:10:00Z")), "1796379000");
        assert_eq!(api_time(at("2026-12-04T10:10:00.250Z")), "1796379000.250");
    }
}
