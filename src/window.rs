//! The evaluation window: which span of time a verification judges.
//!
//! A window is built from `--start`, `--end` and `--window` and checked
//! against the clock before anything is queried: a window that ends in the
//! future would judge a part of the load test as if it were all of it, so
//! it is refused, as is one whose start is not before its end.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::time::{format_duration, format_instant, parse_duration, parse_instant};

/// A closed span of time, `start` before `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first instant judged.
    pub start: Timestamp,
    /// The last instant judged; every query is evaluated at this time.
    pub end: Timestamp,
}

/// Why the requested window cannot be judged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// A flag could not be read.
    #[error("{0}")]
    Invalid(String),
    /// The window ends after now.
    #[error(
        "window end {end} is {ahead} in the future; a verification judges only data that exists"
    )]
    Future {
        /// The requested end.
        end: String,
        /// How far ahead of now.
        ahead: String,
    },
    /// `--start` is not before `--end`.
    #[error("window start {start} is not before its end {end}")]
    Inverted {
        /// The requested start.
        start: String,
        /// The requested end.
        end: String,
    },
    /// `--start`, `--end` and `--window` disagree.
    #[error(
        "--start {start} and --end {end} span {span}, but --window says {window}; give two of the three"
    )]
    Conflict {
        /// The requested start.
        start: String,
        /// The requested end.
        end: String,
        /// The span they make.
        span: String,
        /// The --window given.
        window: String,
    },
}

/// The window flags as the user gave them.
#[derive(Debug, Clone, Default)]
pub struct WindowRequest {
    /// `--start`, if given.
    pub start: Option<String>,
    /// `--end`, if given (default `now`).
    pub end: Option<String>,
    /// `--window`, if given explicitly (default 10m).
    pub window: Option<String>,
}

/// The default window length: the ten minutes of a release load test.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(600);

impl Window {
    /// Builds the window from the flags, refusing one that ends in the
    /// future or does not move forward.
    pub fn resolve(request: &WindowRequest, now: Timestamp) -> Result<Self, WindowError> {
        let invalid = |error: String| WindowError::Invalid(error);
        let start = request
            .start
            .as_deref()
            .map(|text| parse_instant(text, now).map_err(|error| invalid(error.to_string())))
            .transpose()?;
        let end = request
            .end
            .as_deref()
            .map(|text| parse_instant(text, now).map_err(|error| invalid(error.to_string())))
            .transpose()?;
        let length = request
            .window
            .as_deref()
            .map(|text| parse_duration(text).map_err(|error| invalid(format!("--window: {error}"))))
            .transpose()?;

        let window = match (start, end, length) {
            (Some(start), Some(end), Some(length)) => {
                let window = Self { start, end };
                check_order(window)?;
                if window.duration() != length {
                    return Err(WindowError::Conflict {
                        start: format_instant(start),
                        end: format_instant(end),
                        span: format_duration(window.duration()),
                        window: format_duration(length),
                    });
                }
                window
            }
            (Some(start), Some(end), None) => Self { start, end },
            // A start alone means "since then": right after a load test,
            // --start is when it began and the window runs until now.
            (Some(start), None, None) => Self { start, end: now },
            (Some(start), None, Some(length)) => Self {
                start,
                end: shift(start, length, 1)?,
            },
            (None, end, length) => {
                let end = end.unwrap_or(now);
                let length = length.unwrap_or(DEFAULT_WINDOW);
                Self {
                    start: shift(end, length, -1)?,
                    end,
                }
            }
        };

        check_order(window)?;
        if window.start < Timestamp::UNIX_EPOCH {
            return Err(WindowError::Invalid(format!(
                "the window would start at {}, before 1970; shorten --window",
                format_instant(window.start)
            )));
        }
        if window.end > now {
            let ahead = window.end.duration_since(now).unsigned_abs();
            return Err(WindowError::Future {
                end: format_instant(window.end),
                ahead: format_duration(round_to_seconds(ahead)),
            });
        }
        Ok(window)
    }

    /// The window's length.
    pub fn duration(&self) -> Duration {
        self.end.duration_since(self.start).unsigned_abs()
    }

    /// `2026-12-04T10:00:00Z..10:10:00Z`, shortening the end when the day
    /// is the same.
    pub fn describe(&self) -> String {
        let start = format_instant(self.start);
        let end = format_instant(self.end);
        match (start.split_once('T'), end.split_once('T')) {
            (Some((start_day, _)), Some((end_day, end_time))) if start_day == end_day => {
                format!("{start}..{end_time}")
            }
            _ => format!("{start}..{end}"),
        }
    }
}

fn shift(instant: Timestamp, length: Duration, sign: i32) -> Result<Timestamp, WindowError> {
    let signed = SignedDuration::try_from(length)
        .map_err(|_| WindowError::Invalid("--window is too long".into()))?;
    let shifted = if sign < 0 {
        instant.checked_sub(signed)
    } else {
        instant.checked_add(signed)
    };
    shifted.map_err(|_| WindowError::Invalid("--window reaches outside the calendar".into()))
}

fn check_order(window: Window) -> Result<(), WindowError> {
    if window.start >= window.end {
        return Err(WindowError::Inverted {
            start: format_instant(window.start),
            end: format_instant(window.end),
        });
    }
    Ok(())
}

fn round_to_seconds(duration: Duration) -> Duration {
    Duration::from_secs(duration.as_secs_f64().round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("test instants are valid")
    }

    fn request(start: Option<&str>, end: Option<&str>, window: Option<&str>) -> WindowRequest {
        WindowRequest {
            start: start.map(String::from),
            end: end.map(String::from),
            window: window.map(String::from),
        }
    }

    #[test]
    fn windows_resolve_from_any_two_flags() {
        let now = at("2026-12-04T10:16:00Z");
        let cases = [
            (
                "defaults: ten minutes ending now",
                request(None, None, None),
                "2026-12-04T10:06:00Z..10:16:00Z",
            ),
            (
                "end and length",
                request(None, Some("2026-12-04T10:10:00Z"), Some("10m")),
                "2026-12-04T10:00:00Z..10:10:00Z",
            ),
            (
                "start and length",
                request(Some("2026-12-04T10:00:00Z"), None, Some("5m")),
                "2026-12-04T10:00:00Z..10:05:00Z",
            ),
            (
                "a start alone runs until now",
                request(Some("now-25m"), None, None),
                "2026-12-04T09:51:00Z..10:16:00Z",
            ),
            (
                "start and end",
                request(Some("1796378400"), Some("1796379000"), None),
                "2026-12-04T10:00:00Z..10:10:00Z",
            ),
            (
                "all three agreeing",
                request(
                    Some("2026-12-04T10:00:00Z"),
                    Some("2026-12-04T10:10:00Z"),
                    Some("10m"),
                ),
                "2026-12-04T10:00:00Z..10:10:00Z",
            ),
        ];
        for (why, request, expected) in cases {
            let window = Window::resolve(&request, now).unwrap_or_else(|e| panic!("{why}: {e}"));
            assert_eq!(window.describe(), expected, "{why}");
        }
    }

    /// C25: a window ending in the future is refused with how far ahead.
    #[test]
    fn window_ending_in_the_future_is_refused() {
        let now = at("2026-12-04T10:02:00Z");
        let error = Window::resolve(
            &request(
                Some("2026-12-04T10:00:00Z"),
                Some("2026-12-04T11:00:00Z"),
                None,
            ),
            now,
        )
        .expect_err("the end is after now");
        assert_eq!(
            error.to_string(),
            "window end 2026-12-04T11:00:00Z is 58m in the future; a verification judges only data that exists"
        );
    }

    #[test]
    fn inverted_and_conflicting_windows_are_refused() {
        let now = at("2026-12-04T12:00:00Z");
        let inverted = Window::resolve(
            &request(
                Some("2026-12-04T10:10:00Z"),
                Some("2026-12-04T10:00:00Z"),
                None,
            ),
            now,
        );
        assert!(matches!(inverted, Err(WindowError::Inverted { .. })));
        let conflict = Window::resolve(
            &request(
                Some("2026-12-04T10:00:00Z"),
                Some("2026-12-04T10:10:00Z"),
                Some("5m"),
            ),
            now,
        );
        assert!(matches!(conflict, Err(WindowError::Conflict { .. })));
        let bad = Window::resolve(&request(None, Some("soon"), None), now);
        assert!(matches!(bad, Err(WindowError::Invalid(_))));
    }
}
