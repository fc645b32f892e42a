//! Reading a YAML node tree that keeps positions, collecting every problem
//! instead of stopping at the first.
//!
//! The decoder in `decode` asks for fields, text and numbers; this module
//! answers with `Option`s and records a diagnostic for each `None`, so one
//! pass over a file reports all of its mistakes.

use saphyr::{MarkedYaml, Scalar, YamlData};
use saphyr_parser::Span;

use super::diagnostic::{Location, SourceFile, SpecDiagnostic, did_you_mean};

/// The file being decoded and the problems found so far.
pub(super) struct Context<'a> {
    pub source: &'a SourceFile,
    pub diagnostics: &'a mut Vec<SpecDiagnostic>,
}

/// A mapping's entries, in file order.
pub(super) struct Fields<'n, 'i> {
    /// The mapping node.
    pub node: &'n MarkedYaml<'i>,
    entries: Vec<(String, Span, &'n MarkedYaml<'i>)>,
}

impl<'n, 'i> Fields<'n, 'i> {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&'n MarkedYaml<'i>> {
        self.entries
            .iter()
            .find(|(name, _, _)| name == key)
            .map(|(_, _, value)| *value)
    }

    /// The span of `key` itself (not its value), if present: where a
    /// warning about a whole section points.
    pub fn key_span(&self, key: &str) -> Option<Span> {
        self.entries
            .iter()
            .find(|(name, _, _)| name == key)
            .map(|(_, span, _)| *span)
    }

    /// The keys present, in file order, with their spans.
    pub fn keys(&self) -> impl Iterator<Item = (&str, Span)> {
        self.entries
            .iter()
            .map(|(name, span, _)| (name.as_str(), *span))
    }
}

impl Context<'_> {
    /// The location of a span in this file. Empty spans (mapping starts)
    /// are widened to the rest of their line so the pointer is visible.
    pub fn location(&self, span: Span) -> Location {
        let start = self.source.byte_offset(span.start.index());
        let mut end = self.source.byte_offset(span.end.index());
        if end <= start || self.source.text[start..end].contains('\n') {
            end = self.source.text[start..]
                .find('\n')
                .map_or(self.source.text.len(), |length| start + length);
        }
        let end = end.max(start);
        Location {
            file: self.source.clone(),
            span: (start, end - start).into(),
        }
    }

    /// Records a problem at `span`.
    pub fn report(
        &mut self,
        span: Span,
        code: &'static str,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) {
        let mut diagnostic = SpecDiagnostic::at(self.location(span), code, message, label);
        diagnostic.help = help;
        self.diagnostics.push(diagnostic);
    }

    /// Records a warning at `span`: something the file holds that is left
    /// out or read differently, which never stops the run.
    pub fn warn(
        &mut self,
        span: Span,
        code: &'static str,
        message: impl Into<String>,
        label: &str,
    ) {
        let diagnostic = SpecDiagnostic::at(self.location(span), code, message, label);
        self.diagnostics.push(diagnostic.as_warning());
    }

    /// Reads a mapping whose keys must be among `allowed`; an unknown key is
    /// reported with the closest allowed key.
    pub fn fields<'n, 'i>(
        &mut self,
        node: &'n MarkedYaml<'i>,
        what: &str,
        allowed: &[&str],
    ) -> Option<Fields<'n, 'i>> {
        let YamlData::Mapping(mapping) = &node.data else {
            self.report(
                node.span,
                "spec::expected-mapping",
                format!("{what} must be a mapping of fields"),
                format!("this is {}", describe(node)),
                Some(format!("allowed fields: {}", allowed.join(", "))),
            );
            return None;
        };

        let mut entries = Vec::new();
        for (key, value) in mapping {
            let Some(name) = key.data.as_str() else {
                self.report(
                    key.span,
                    "spec::invalid-key",
                    format!("{what} has a key that is not text"),
                    "expected a field name",
                    None,
                );
                continue;
            };
            if !allowed.contains(&name) {
                let help = match did_you_mean(name, allowed) {
                    Some(close) => {
                        format!("did you mean '{close}'? allowed: {}", allowed.join(", "))
                    }
                    None => format!("allowed fields: {}", allowed.join(", ")),
                };
                self.report(
                    key.span,
                    "spec::unknown-field",
                    format!("unknown field '{name}' in {what}"),
                    "not a field of this mapping",
                    Some(help),
                );
                continue;
            }
            entries.push((name.to_string(), key.span, value));
        }
        Some(Fields { node, entries })
    }

    /// Reads a required field, reporting its absence at the mapping.
    pub fn required<'n, 'i>(
        &mut self,
        fields: &Fields<'n, 'i>,
        key: &str,
        what: &str,
        help: &str,
    ) -> Option<&'n MarkedYaml<'i>> {
        let value = fields.get(key);
        if value.is_none() {
            self.report(
                fields.node.span,
                "spec::missing-field",
                format!("{what} needs '{key}'"),
                format!("'{key}' is missing here"),
                Some(help.to_string()),
            );
        }
        value
    }

    /// Reads exactly one of two alternative fields and says which (0 or 1);
    /// both is reported with `both_code` at the second, neither at the
    /// mapping with `help`.
    pub fn one_of<'n, 'i>(
        &mut self,
        fields: &Fields<'n, 'i>,
        keys: [&str; 2],
        what: &str,
        both_code: &'static str,
        help: &str,
    ) -> Option<(usize, &'n MarkedYaml<'i>)> {
        let [first, second] = keys;
        match (fields.get(first), fields.get(second)) {
            (Some(node), None) => Some((0, node)),
            (None, Some(node)) => Some((1, node)),
            (Some(_), Some(node)) => {
                self.report(
                    node.span,
                    both_code,
                    format!("{what}: give either '{first}' or '{second}', not both"),
                    format!("'{first}' is given too"),
                    None,
                );
                None
            }
            (None, None) => {
                self.report(
                    fields.node.span,
                    "spec::missing-field",
                    format!("{what} needs '{first}' or '{second}'"),
                    "neither is here",
                    Some(help.to_string()),
                );
                None
            }
        }
    }

    /// Reads text; numbers are read as written (`0.25`, not `0.25000`).
    pub fn text(&mut self, node: &MarkedYaml<'_>, what: &str) -> Option<String> {
        match &node.data {
            YamlData::Value(Scalar::String(text)) => Some(text.to_string()),
            YamlData::Value(Scalar::Integer(_) | Scalar::FloatingPoint(_)) => {
                Some(self.raw(node).trim().to_string())
            }
            _ => {
                self.report(
                    node.span,
                    "spec::expected-text",
                    format!("{what} must be text"),
                    format!("this is {}", describe(node)),
                    None,
                );
                None
            }
        }
    }

    /// Reads a number.
    pub fn number(&mut self, node: &MarkedYaml<'_>, what: &str) -> Option<f64> {
        match &node.data {
            YamlData::Value(Scalar::Integer(value)) => Some(*value as f64),
            YamlData::Value(Scalar::FloatingPoint(value)) if value.is_finite() => Some(**value),
            _ => {
                self.report(
                    node.span,
                    "spec::expected-number",
                    format!("{what} must be a number"),
                    format!("this is {}", describe(node)),
                    None,
                );
                None
            }
        }
    }

    /// Reads a sequence.
    pub fn sequence<'n, 'i>(
        &mut self,
        node: &'n MarkedYaml<'i>,
        what: &str,
    ) -> Option<&'n [MarkedYaml<'i>]> {
        match &node.data {
            YamlData::Sequence(items) => Some(items),
            _ => {
                self.report(
                    node.span,
                    "spec::expected-list",
                    format!("{what} must be a list"),
                    format!("this is {}", describe(node)),
                    None,
                );
                None
            }
        }
    }

    /// The node's text exactly as it stands in the file.
    pub fn raw(&self, node: &MarkedYaml<'_>) -> String {
        let start = self.source.byte_offset(node.span.start.index());
        let end = self.source.byte_offset(node.span.end.index());
        self.source
            .text
            .get(start..end)
            .unwrap_or_default()
            .to_string()
    }
}

/// A few words on what a node is, for "expected X, this is Y" messages.
pub(super) fn describe(node: &MarkedYaml<'_>) -> &'static str {
    match &node.data {
        YamlData::Mapping(_) => "a mapping",
        YamlData::Sequence(_) => "a list",
        YamlData::Value(Scalar::String(_)) => "text",
        YamlData::Value(Scalar::Integer(_) | Scalar::FloatingPoint(_)) => "a number",
        YamlData::Value(Scalar::Boolean(_)) => "a boolean",
        YamlData::Value(Scalar::Null) => "empty",
        _ => "not a plain value",
    }
}
