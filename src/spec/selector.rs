//! Label selectors from SLO files, read by a real PromQL parser and written
//! back with their values escaped, so a quote or backslash in a label value
//! can never change the meaning of a compiled query.

use std::fmt;

use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr};

/// How a label matcher compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~` (fully anchored regular expression)
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchKind {
    /// The kind of a matcher the PromQL parser read.
    pub fn from_parsed(op: &MatchOp) -> Self {
        match op {
            MatchOp::Equal => Self::Equal,
            MatchOp::NotEqual => Self::NotEqual,
            MatchOp::Re(_) => Self::Regex,
            MatchOp::NotRe(_) => Self::NotRegex,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Self::Equal => "=",
            Self::NotEqual => "!=",
            Self::Regex => "=~",
            Self::NotRegex => "!~",
        }
    }
}

/// One label matcher, with its value unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    /// The label name.
    pub name: String,
    /// How the value is compared.
    pub kind: MatchKind,
    /// The value as the label holds it (not as PromQL spells it).
    pub value: String,
}

impl Matcher {
    /// A matcher built by the compiler.
    pub fn new(name: &str, kind: MatchKind, value: &str) -> Self {
        Self {
            name: name.to_string(),
            kind,
            value: value.to_string(),
        }
    }
}

impl Matcher {
    /// True when a label value (empty when the label is absent) satisfies
    /// the matcher; regular expressions are fully anchored, as in PromQL.
    pub fn matches(&self, value: &str) -> bool {
        let regex = || {
            regex::Regex::new(&format!("^(?:{})$", self.value))
                .is_ok_and(|regex| regex.is_match(value))
        };
        match self.kind {
            MatchKind::Equal => value == self.value,
            MatchKind::NotEqual => value != self.value,
            MatchKind::Regex => regex(),
            MatchKind::NotRegex => !regex(),
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}{}\"{}\"",
            self.name,
            self.kind.symbol(),
            escape_label_value(&self.value)
        )
    }
}

/// A metric name (optional) and label matchers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    /// The metric name, when the text named one.
    pub metric: Option<String>,
    /// The label matchers, in the order written.
    pub matchers: Vec<Matcher>,
}

impl Selector {
    /// Reads label matchers alone, as in `{job="summit-api", code=~"5.."}`.
    /// An empty text selects everything.
    pub fn parse_matchers(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(Self::default());
        }
        if !trimmed.starts_with('{') {
            return Err(format!(
                "a selector is label matchers in braces, such as {{job=\"summit-api\"}}; got '{trimmed}'"
            ));
        }
        // A metric name in front lets the parser accept selectors whose
        // matchers all match the empty string, which it refuses on their own.
        let selector = parse_vector_selector(&format!("summit_slo_probe{trimmed}"))?;
        Ok(Self {
            metric: None,
            matchers: selector.matchers,
        })
    }

    /// Reads a series selector with a metric name, as in
    /// `http_requests_total{job="checkout", code=~"5.."}`.
    pub fn parse_series(text: &str) -> Result<Self, String> {
        let selector = parse_vector_selector(text.trim())?;
        if selector.metric.is_none() {
            return Err(format!("'{}' names no metric", text.trim()));
        }
        Ok(selector)
    }

    /// Writes `metric{matchers…}` with `extra` matchers appended.
    pub fn render(&self, metric: &str, extra: &[Matcher]) -> String {
        let matchers: Vec<String> = self
            .matchers
            .iter()
            .chain(extra)
            .map(ToString::to_string)
            .collect();
        if matchers.is_empty() {
            metric.to_string()
        } else {
            format!("{metric}{{{}}}", matchers.join(", "))
        }
    }

    /// Writes the matchers alone in braces (empty when there are none), for
    /// `${selector}` in query templates.
    pub fn render_matchers(&self) -> String {
        if self.matchers.is_empty() {
            return String::new();
        }
        let matchers: Vec<String> = self.matchers.iter().map(ToString::to_string).collect();
        format!("{{{}}}", matchers.join(", "))
    }

    /// This selector with another's matchers added (a shared `selector`
    /// applied to a ratio's counters).
    pub fn merged(&self, other: &Selector) -> Self {
        let mut merged = self.clone();
        merged.matchers.extend(other.matchers.iter().cloned());
        merged
    }
}

fn parse_vector_selector(text: &str) -> Result<Selector, String> {
    let expression = parser::parse(text).map_err(|error| error.to_string())?;
    let Expr::VectorSelector(selector) = expression else {
        return Err(format!(
            "'{text}' is not a plain series selector; functions and operators belong in a promql indicator"
        ));
    };
    Selector::from_parsed(&selector)
}

impl Selector {
    /// Converts a selector the PromQL parser read inside a larger query,
    /// refusing what would move it in time or needs Prometheus 3.
    pub fn from_parsed(selector: &parser::VectorSelector) -> Result<Self, String> {
        if selector.offset.is_some() || selector.at.is_some() {
            return Err(
                "offset and @ modifiers are not allowed in a selector; the window decides time"
                    .into(),
            );
        }
        if !selector.matchers.or_matchers.is_empty() {
            return Err(
                "'or' inside a selector needs Prometheus 3; write two SLOs or a regex".into(),
            );
        }
        let mut matchers = Vec::new();
        for matcher in &selector.matchers.matchers {
            matchers.push(Matcher {
                name: matcher.name.clone(),
                kind: MatchKind::from_parsed(&matcher.op),
                value: matcher.value.clone(),
            });
        }
        Ok(Selector {
            metric: selector.name.clone(),
            matchers,
        })
    }
}

/// Escapes a label value for a double-quoted PromQL string.
pub fn escape_label_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for character in value.chars() {
        match character {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Escapes text so a regular expression matches it literally.
pub fn escape_regex(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if "\\.+*?()|[]{}^$".contains(character) {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

/// True for a valid Prometheus metric name.
pub fn is_metric_name(name: &str) -> bool {
    let mut characters = name.chars();
    matches!(characters.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && characters.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// True for a valid Prometheus label name.
pub fn is_label_name(name: &str) -> bool {
    let mut characters = name.chars();
    matches!(characters.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && characters.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_round_trip_with_escaping() {
        let selector = Selector::parse_matchers(
            r#"{job="summit-api", operation!="Introspection\"Query", le=~"1|1\\.0"}"#,
        )
        .expect("valid selector");
        assert_eq!(selector.matchers[1].value, "Introspection\"Query");
        assert_eq!(selector.matchers[2].value, r"1|1\.0");
        let rendered = selector.render("m", &[]);
        assert_eq!(
            rendered,
            r#"m{job="summit-api", operation!="Introspection\"Query", le=~"1|1\\.0"}"#
        );
        let reparsed = Selector::parse_series(&rendered).expect("rendering parses again");
        assert_eq!(reparsed.matchers, selector.matchers);
    }

    #[test]
    fn selectors_refuse_what_is_not_a_selector() {
        let cases = [
            ("no braces", r#"job="x""#),
            ("a function", "{job=\"x\"} + 1"),
            ("unclosed", "{job=\"x\""),
        ];
        for (why, text) in cases {
            assert!(Selector::parse_matchers(text).is_err(), "{why}");
        }
        assert!(Selector::parse_series("rate(x[5m])").is_err());
        assert!(Selector::parse_series("x offset 5m").is_err());
        assert_eq!(
            Selector::parse_matchers("").expect("empty is all"),
            Selector::default()
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(is_metric_name("graphql_requests_total"));
        assert!(is_metric_name("job:rate5m"));
        assert!(!is_metric_name("9lives"));
        assert!(is_label_name("operation"));
        assert!(!is_label_name("op-name"));
        assert_eq!(escape_regex("1.0"), r"1\.0");
    }
}
