//! Targets as exact decimals: OpenSLO's `target: 0.999` and Sloth's
//! `objective: 99.9` become the native objectives `>= 99.9%` and `<= 0.1%`
//! by shifting and subtracting digits, never through a binary float, so the
//! translated objective reads exactly as a person would write it.

/// A non-negative decimal number as written: `digits / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decimal {
    digits: u128,
    scale: u32,
}

/// More fraction digits than any target needs; it keeps the arithmetic
/// below u128's limit.
const MAX_SCALE: u32 = 20;

impl Decimal {
    /// Reads `99`, `99.9`, `0.999`, `.5` or `1e-3` (YAML writes numbers all
    /// these ways); signs and anything else are refused.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (mantissa, exponent) = match text.split_once(['e', 'E']) {
            Some((mantissa, exponent)) => (mantissa, exponent.parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |part: &str| part.chars().all(|c| c.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction)
        {
            return None;
        }
        if (whole.len() + fraction.len()) as u32 > MAX_SCALE + 6 || exponent.abs() > 30 {
            return None;
        }
        let mut digits: u128 = format!("{whole}{fraction}").parse().ok()?;
        let mut scale = fraction.len() as i32 - exponent;
        if scale < 0 {
            digits = digits.checked_mul(10u128.checked_pow(scale.unsigned_abs())?)?;
            scale = 0;
        }
        if scale as u32 > MAX_SCALE {
            return None;
        }
        Some(
            Self {
                digits,
                scale: scale as u32,
            }
            .trimmed(),
        )
    }

    /// The number times 100: a ratio as a percent.
    pub fn percent(self) -> Self {
        if self.scale >= 2 {
            Self {
                digits: self.digits,
                scale: self.scale - 2,
            }
        } else {
            Self {
                digits: self.digits * 10u128.pow(2 - self.scale),
                scale: 0,
            }
        }
    }

    /// `whole - self`, or `None` when the number exceeds `whole`.
    pub fn complement(self, whole: u128) -> Option<Self> {
        let whole = whole.checked_mul(10u128.pow(self.scale))?;
        let digits = whole.checked_sub(self.digits)?;
        Some(
            Self {
                digits,
                scale: self.scale,
            }
            .trimmed(),
        )
    }

    /// True when the number is below `bound` (a whole number).
    pub fn is_below(self, bound: u128) -> bool {
        self.complement(bound).is_some_and(|rest| rest.digits > 0)
    }

    /// True for zero.
    pub fn is_zero(self) -> bool {
        self.digits == 0
    }

    fn trimmed(mut self) -> Self {
        while self.scale > 0 && self.digits.is_multiple_of(10) {
            self.digits /= 10;
            self.scale -= 1;
        }
        self
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = format!("{:0>width$}", self.digits, width = self.scale as usize + 1);
        let (whole, fraction) = digits.split_at(digits.len() - self.scale as usize);
        if fraction.is_empty() {
            formatter.write_str(whole)
        } else {
            write!(formatter, "{whole}.{fraction}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decimal(text: &str) -> Decimal {
        Decimal::parse(text).unwrap_or_else(|| panic!("{text} is a decimal"))
    }

    #[test]
    fn numbers_read_in_every_way_yaml_writes_them() {
        assert_eq!(decimal(".5"), decimal("0.5"));
        assert_eq!(decimal("1e-3"), decimal("0.001"));
        assert_eq!(decimal("9.99E-1"), decimal("0.999"));
        assert_eq!(decimal("1e2"), decimal("100"));
        assert_eq!(Decimal::parse("-0.5"), None);
        assert_eq!(Decimal::parse("e3"), None);
        assert_eq!(Decimal::parse("."), None);
    }

    #[test]
    fn ratios_become_percents_digit_for_digit() {
        let cases = [
            ("a three-nines ratio is 99.9%", "0.999", "99.9"),
            ("four nines and a half", "0.99995", "99.995"),
            ("a whole ratio", "1", "100"),
            ("one decimal needs a zero appended", "0.5", "50"),
            ("trailing zeros are dropped", "0.9900", "99"),
        ];
        for (why, ratio, percent) in cases {
            assert_eq!(decimal(ratio).percent().to_string(), percent, "{why}");
        }
    }

    #[test]
    fn error_budgets_are_exact_complements() {
        let cases = [
            ("99.9% leaves 0.1%", "99.9", "0.1"),
            ("99.95% leaves 0.05%", "99.95", "0.05"),
            ("99% leaves 1%", "99", "1"),
            ("100% leaves nothing", "100", "0"),
        ];
        for (why, objective, budget) in cases {
            let complement = decimal(objective).complement(100).expect("at most 100");
            assert_eq!(complement.to_string(), budget, "{why}");
        }
        assert_eq!(decimal("100.5").complement(100), None, "above the whole");
        assert!(decimal("99.9").is_below(100));
        assert!(!decimal("100").is_below(100));
        assert!(decimal("0.0").is_zero());
    }

    #[test]
    fn signs_and_other_text_are_refused() {
        for text in ["-1", "", "99,9", "1.2.3", "abc", "1e", "0x10"] {
            assert_eq!(Decimal::parse(text), None, "{text:?} is refused");
        }
    }
}
