//! Objectives as users write them (`< 200ms`, `>= 99.9%`, `>= 1000/s`,
//! `== 0`) and the units an indicator's value comes in.
//!
//! A quantity keeps its dimension (time, rate, percent or plain number) until
//! it meets an indicator; only then is it converted into that indicator's
//! unit, so `200ms` becomes `0.2` against a histogram in seconds and `200`
//! against one in milliseconds. A dimension that does not fit the indicator
//! (a rate against a latency) is a spec error, never a silent reinterpretation.

use std::fmt;

use crate::time::trim_float;

/// How a measured value is compared with an objective's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    /// `<`: the value must stay below the limit.
    Less,
    /// `<=`: the value may reach the limit.
    LessOrEqual,
    /// `>`: the value must exceed the limit.
    Greater,
    /// `>=`: the value must reach the limit.
    GreaterOrEqual,
    /// `==`: the value must equal the limit (dead letters `== 0`).
    Equal,
}

impl Comparator {
    /// True when the comparator bounds the value from above (`<`, `<=`, `==`),
    /// so the worst of several series is the largest.
    pub fn is_upper_bound(self) -> bool {
        matches!(self, Self::Less | Self::LessOrEqual | Self::Equal)
    }

    /// Compares; `None` when the value is NaN, which has no order and must
    /// never decide a verdict either way.
    pub fn holds(self, value: f64, limit: f64) -> Option<bool> {
        if value.is_nan() || limit.is_nan() {
            return None;
        }
        Some(match self {
            Self::Less => value < limit,
            Self::LessOrEqual => value <= limit,
            Self::Greater => value > limit,
            Self::GreaterOrEqual => value >= limit,
            Self::Equal => value == limit,
        })
    }

    /// The PromQL spelling.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Less => "<",
            Self::LessOrEqual => "<=",
            Self::Greater => ">",
            Self::GreaterOrEqual => ">=",
            Self::Equal => "==",
        }
    }
}

/// What kind of amount a quantity is, before it meets an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// A duration such as `200ms`; stored in seconds.
    Time,
    /// Events per unit of time such as `1000/s`; stored per second.
    Rate,
    /// A percentage such as `99.9%`; stored as a ratio (0.999).
    Percent,
    /// A plain number such as `0`, `0.25` or `1000`.
    Number,
}

/// A parsed amount: `value` is in the dimension's base unit (seconds, per
/// second, ratio, or as written).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantity {
    /// The amount in the dimension's base unit.
    pub value: f64,
    /// What kind of amount it is.
    pub dimension: Dimension,
}

/// A comparator and a quantity, as in `< 200ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// How the value is compared.
    pub comparator: Comparator,
    /// The limit, not yet in the indicator's unit.
    pub quantity: Quantity,
    /// The text as the user wrote it, for reports.
    pub text: String,
}

/// Why an objective could not be read; `help` says what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantityError {
    /// What is wrong, in a few words.
    pub problem: String,
    /// What to write instead.
    pub help: String,
}

impl QuantityError {
    fn new(problem: impl Into<String>, help: impl Into<String>) -> Self {
        Self {
            problem: problem.into(),
            help: help.into(),
        }
    }
}

const SYNTAX_HELP: &str = "write a comparator and a quantity, such as '< 200ms', '>= 99.9%', \
                           '>= 1000/s', '== 0' or '< 0.25'";

impl Threshold {
    /// Parses `< 200ms`, `>= 99.9%`, `>= 1000/s`, `== 0`, `<= 0.25`.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let trimmed = text.trim();
        let (comparator, rest) = split_comparator(trimmed)?;
        let quantity = parse_quantity(rest.trim())?;
        Ok(Self {
            comparator,
            quantity,
            text: normalise_spacing(comparator, rest.trim()),
        })
    }
}

fn normalise_spacing(comparator: Comparator, quantity: &str) -> String {
    format!("{} {}", comparator.symbol(), quantity)
}

fn split_comparator(text: &str) -> Result<(Comparator, &str), QuantityError> {
    // Two-character comparators first, so `<=` is not read as `<` and `=5`.
    let table = [
        ("<=", Comparator::LessOrEqual),
        (">=", Comparator::GreaterOrEqual),
        ("==", Comparator::Equal),
        ("<", Comparator::Less),
        (">", Comparator::Greater),
    ];
    for (symbol, comparator) in table {
        if let Some(rest) = text.strip_prefix(symbol) {
            return Ok((comparator, rest));
        }
    }
    if text.starts_with('=') {
        return Err(QuantityError::new(
            "'=' is not a comparator",
            "use '==' for equality",
        ));
    }
    if text.starts_with("!=") {
        return Err(QuantityError::new(
            "'!=' cannot express an objective",
            "use '<' or '>' to bound the value",
        ));
    }
    Err(QuantityError::new(
        format!("'{text}' has no comparator"),
        SYNTAX_HELP,
    ))
}

/// Parses a quantity without comparator: `200ms`, `1.5s`, `1000/s`, `30k/s`,
/// `99.9%`, `0`, `0.25`.
pub fn parse_quantity(text: &str) -> Result<Quantity, QuantityError> {
    if text.is_empty() {
        return Err(QuantityError::new("the quantity is missing", SYNTAX_HELP));
    }
    let sign = usize::from(text.starts_with(['-', '+']));
    let bytes = text.as_bytes();
    let mut end = sign;
    while end < bytes.len() {
        let byte = bytes[end];
        let exponent_sign =
            matches!(byte, b'-' | b'+') && end > sign && matches!(bytes[end - 1], b'e' | b'E');
        if !(byte.is_ascii_digit() || matches!(byte, b'.' | b'e' | b'E') || exponent_sign) {
            break;
        }
        end += 1;
    }
    // `e` may start a unit-less exponent (`1e3`) but never a unit here.
    let (number_text, unit_text) = text.split_at(end);
    let number: f64 = number_text.parse().map_err(|_| {
        QuantityError::new(
            format!("'{text}' does not start with a number"),
            SYNTAX_HELP,
        )
    })?;
    if !number.is_finite() {
        return Err(QuantityError::new(
            "the quantity is not finite",
            SYNTAX_HELP,
        ));
    }

    let unit = unit_text.trim();
    let (value, dimension) = match unit {
        "" => (number, Dimension::Number),
        "%" => (number / 100.0, Dimension::Percent),
        _ if unit.contains('/') => (number * rate_scale(unit, text)?, Dimension::Rate),
        _ => (number * time_scale(unit, text)?, Dimension::Time),
    };
    Ok(Quantity { value, dimension })
}

fn time_scale(unit: &str, text: &str) -> Result<f64, QuantityError> {
    match unit {
        "ns" => Ok(1e-9),
        "us" | "µs" => Ok(1e-6),
        "ms" => Ok(1e-3),
        "s" => Ok(1.0),
        "m" | "min" => Ok(60.0),
        "h" => Ok(3600.0),
        _ => Err(QuantityError::new(
            format!("unknown unit '{unit}' in '{text}'"),
            "durations take ns, us, ms, s, m or h; rates are written like 1000/s; percents like 99.9%",
        )),
    }
}

fn rate_scale(unit: &str, text: &str) -> Result<f64, QuantityError> {
    let (multiplier, per) = unit.split_once('/').unwrap_or(("", unit));
    let multiplier = match multiplier.trim() {
        "" => 1.0,
        "k" => 1e3,
        "M" => 1e6,
        other => {
            return Err(QuantityError::new(
                format!("unknown multiplier '{other}' in '{text}'"),
                "a rate is a number with an optional k or M, then /s, /m or /h, as in 30k/s",
            ));
        }
    };
    let per_second = match per.trim() {
        "s" | "sec" => 1.0,
        "m" | "min" => 1.0 / 60.0,
        "h" => 1.0 / 3600.0,
        other => {
            return Err(QuantityError::new(
                format!("unknown rate unit '/{other}' in '{text}'"),
                "a rate is per second (/s), per minute (/m) or per hour (/h)",
            ));
        }
    };
    Ok(multiplier * per_second)
}

/// The unit an indicator's value is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Durations in seconds (histograms and sums named `*_seconds`).
    Seconds,
    /// Durations in milliseconds (`*_milliseconds`, `*_ms`).
    Milliseconds,
    /// Events per second (rate indicators).
    PerSecond,
    /// A ratio between 0 and 1 (ratio indicators); `99.9%` means 0.999.
    Ratio,
    /// A count of events in the window (increase indicators).
    Count,
    /// A plain number with no unit (gauges, queries).
    Number,
}

impl Unit {
    /// The name used in reports and in the spec's `unit` fields.
    pub fn name(self) -> &'static str {
        match self {
            Self::Seconds => "seconds",
            Self::Milliseconds => "milliseconds",
            Self::PerSecond => "per_second",
            Self::Ratio => "ratio",
            Self::Count => "count",
            Self::Number => "number",
        }
    }

    /// Reads a unit name as written in the spec.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "seconds" | "s" => Self::Seconds,
            "milliseconds" | "ms" => Self::Milliseconds,
            "per_second" => Self::PerSecond,
            "ratio" => Self::Ratio,
            "count" => Self::Count,
            "number" => Self::Number,
            _ => return None,
        })
    }

    /// Infers a time unit from a metric name's suffix, following Prometheus'
    /// naming conventions; counters' `_total` and histograms' parts are
    /// ignored.
    pub fn from_metric_name(name: &str) -> Option<Self> {
        let base = ["_total", "_sum"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        if base.ends_with("_seconds") {
            Some(Self::Seconds)
        } else if base.ends_with("_milliseconds") || base.ends_with("_ms") {
            Some(Self::Milliseconds)
        } else {
            None
        }
    }

    /// Converts a quantity into this unit, or says why it does not fit.
    pub fn convert(self, quantity: Quantity) -> Result<f64, QuantityError> {
        let mismatch = |what: &str, help: &str| {
            Err(QuantityError::new(
                format!("{what} cannot be compared with a value in {}", self.name()),
                help.to_string(),
            ))
        };
        match (quantity.dimension, self) {
            (Dimension::Time, Self::Seconds) => Ok(quantity.value),
            (Dimension::Time, Self::Milliseconds) => Ok(quantity.value * 1000.0),
            (Dimension::Rate, Self::PerSecond) => Ok(quantity.value),
            (Dimension::Percent, Self::Ratio) => Ok(quantity.value),
            (Dimension::Number, Self::Ratio) if !(0.0..=1.0).contains(&quantity.value) => {
                Err(QuantityError::new(
                    format!("{} is not a ratio between 0 and 1", quantity.value),
                    format!(
                        "write a percent such as '{}%'",
                        trim_float(quantity.value, 4)
                    ),
                ))
            }
            // A bare number against a duration is read as seconds by some
            // and milliseconds by others; the unit must be written.
            (Dimension::Number, Self::Seconds | Self::Milliseconds) if quantity.value != 0.0 => {
                Err(QuantityError::new(
                    format!(
                        "{} has no unit but the value is in {}",
                        quantity.value,
                        self.name()
                    ),
                    format!(
                        "write the duration with its unit, such as '{}ms' or '{}s'",
                        trim_float(quantity.value, 3),
                        trim_float(quantity.value, 3)
                    ),
                ))
            }
            (Dimension::Number, _) => Ok(quantity.value),
            (Dimension::Time, Self::Number) => mismatch(
                "a duration",
                "the value has no unit; if it measures time, add 'unit: seconds' (or \
                 milliseconds) to the indicator",
            ),
            (Dimension::Time, _) => mismatch(
                "a duration",
                "durations apply to latency indicators and to units seconds or milliseconds",
            ),
            (Dimension::Rate, _) => mismatch(
                "a rate",
                "rates such as 1000/s apply to rate indicators; use a plain number here",
            ),
            (Dimension::Percent, Self::Number) => mismatch(
                "a percent",
                "the value has no unit; if it is a share between 0 and 1, add 'unit: ratio' to \
                 the indicator",
            ),
            (Dimension::Percent, _) => mismatch(
                "a percent",
                "percents apply to ratio indicators (or a unit: ratio); use a plain number here",
            ),
        }
    }

    /// Writes a value in this unit for people: `183ms`, `1042/s`, `99.81%`.
    pub fn format(self, value: f64) -> String {
        if value.is_nan() {
            return "NaN".to_string();
        }
        if value.is_infinite() {
            return if value > 0.0 { "+Inf" } else { "-Inf" }.to_string();
        }
        match self {
            Self::Seconds => format_seconds(value),
            Self::Milliseconds => format_seconds(value / 1000.0),
            Self::PerSecond => format!("{}/s", significant(value)),
            Self::Ratio => format!("{}%", significant(value * 100.0)),
            Self::Count | Self::Number => significant(value),
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

fn format_seconds(seconds: f64) -> String {
    let magnitude = seconds.abs();
    if magnitude != 0.0 && magnitude < 1e-3 {
        format!("{}µs", significant(seconds * 1e6))
    } else if magnitude < 1.0 {
        format!("{}ms", significant(seconds * 1e3))
    } else {
        format!("{}s", significant(seconds))
    }
}

/// Four significant digits, without trailing zeros, and never in exponent
/// form for the magnitudes SLOs use.
pub fn significant(value: f64) -> String {
    if value == 0.0 {
        return "0".to_string();
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 9) as usize;
    trim_float(value, decimals)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn objectives_parse_with_their_dimension() {
        let cases = [
            (
                "milliseconds become seconds",
                "< 200ms",
                Comparator::Less,
                0.2,
                Dimension::Time,
            ),
            (
                "a decimal duration",
                "<= 1.5s",
                Comparator::LessOrEqual,
                1.5,
                Dimension::Time,
            ),
            (
                "a rate per second",
                ">= 1000/s",
                Comparator::GreaterOrEqual,
                1000.0,
                Dimension::Rate,
            ),
            (
                "a rate with k",
                ">= 30k/s",
                Comparator::GreaterOrEqual,
                30_000.0,
                Dimension::Rate,
            ),
            (
                "a rate per minute",
                "> 60/m",
                Comparator::Greater,
                1.0,
                Dimension::Rate,
            ),
            (
                "a percent is a ratio",
                ">= 99.9%",
                Comparator::GreaterOrEqual,
                0.999,
                Dimension::Percent,
            ),
            (
                "zero tolerance",
                "== 0",
                Comparator::Equal,
                0.0,
                Dimension::Number,
            ),
            (
                "no space needed",
                "<0.25",
                Comparator::Less,
                0.25,
                Dimension::Number,
            ),
        ];
        for (why, text, comparator, value, dimension) in cases {
            let threshold = Threshold::parse(text).unwrap_or_else(|e| panic!("{why}: {e:?}"));
            assert_eq!(threshold.comparator, comparator, "{why}");
            assert!((threshold.quantity.value - value).abs() < 1e-12, "{why}");
            assert_eq!(threshold.quantity.dimension, dimension, "{why}");
        }
    }

    #[test]
    fn malformed_objectives_say_what_is_wrong() {
        let cases = [
            ("no comparator", "200ms", "has no comparator"),
            ("single equals", "= 0", "'=' is not a comparator"),
            ("unknown unit", "< 200 parsecs", "unknown unit"),
            ("no number", "< fast", "does not start with a number"),
            ("empty quantity", "<", "the quantity is missing"),
            ("bad rate unit", ">= 10/fortnight", "unknown rate unit"),
        ];
        for (why, text, expected) in cases {
            let error = Threshold::parse(text).expect_err(why);
            assert!(
                error.problem.contains(expected),
                "{why}: got '{}'",
                error.problem
            );
        }
    }

    #[test]
    fn quantities_convert_into_the_indicator_unit() {
        let ms = parse_quantity("200ms").expect("valid");
        assert_eq!(Unit::Seconds.convert(ms), Ok(0.2));
        assert_eq!(Unit::Milliseconds.convert(ms), Ok(200.0));
        assert!(
            Unit::PerSecond.convert(ms).is_err(),
            "a duration is not a rate"
        );

        let percent = parse_quantity("99.5%").expect("valid");
        assert_eq!(Unit::Ratio.convert(percent), Ok(0.995));
        assert!(Unit::Seconds.convert(percent).is_err());

        let plain = parse_quantity("0.01").expect("valid");
        assert_eq!(Unit::Ratio.convert(plain), Ok(0.01));
        assert!(
            Unit::Seconds
                .convert(parse_quantity("200").expect("valid"))
                .is_err(),
            "200 what? a duration needs its unit"
        );
        assert_eq!(
            Unit::Seconds.convert(parse_quantity("0").expect("valid")),
            Ok(0.0)
        );
        assert_eq!(
            parse_quantity("1e-3s").map(|quantity| quantity.value),
            Ok(1e-3)
        );
        let hundred = parse_quantity("100").expect("valid");
        assert!(
            Unit::Ratio.convert(hundred).is_err(),
            "100 is not a ratio; 100% is"
        );
    }

    #[test]
    fn values_format_for_people() {
        let cases = [
            (Unit::Seconds, 0.1834, "183.4ms"),
            (Unit::Seconds, 1.42, "1.42s"),
            (Unit::Milliseconds, 150.0, "150ms"),
            (Unit::PerSecond, 1042.25, "1042/s"),
            (Unit::Ratio, 0.9981, "99.81%"),
            (Unit::Ratio, 0.000_2, "0.02%"),
            (Unit::Count, 4.0, "4"),
            (Unit::Number, f64::NAN, "NaN"),
            (Unit::Number, f64::INFINITY, "+Inf"),
        ];
        for (unit, value, text) in cases {
            assert_eq!(unit.format(value), text, "{unit} {value}");
        }
    }

    #[test]
    fn units_are_inferred_from_metric_suffixes() {
        assert_eq!(
            Unit::from_metric_name("graphql_request_duration_seconds"),
            Some(Unit::Seconds)
        );
        assert_eq!(
            Unit::from_metric_name("redis_commands_duration_seconds_total"),
            Some(Unit::Seconds)
        );
        assert_eq!(
            Unit::from_metric_name("summit_neo4j_query_duration_milliseconds"),
            Some(Unit::Milliseconds)
        );
        assert_eq!(Unit::from_metric_name("queue_depth"), None);
        assert_eq!(
            Unit::from_metric_name("http_request_duration_seconds_sum"),
            Some(Unit::Seconds),
            "a histogram's _sum is in the histogram's unit"
        );
    }

    proptest! {
        /// NaN has no order: no comparator may turn it into a pass or a fail.
        #[test]
        fn nan_never_decides(limit in -1e9f64..1e9) {
            for comparator in [
                Comparator::Less,
                Comparator::LessOrEqual,
                Comparator::Greater,
                Comparator::GreaterOrEqual,
                Comparator::Equal,
            ] {
                prop_assert_eq!(comparator.holds(f64::NAN, limit), None);
            }
        }
    }
}
