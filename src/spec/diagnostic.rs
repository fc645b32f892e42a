//! Spec errors as miette diagnostics: each one points at a file, line and
//! column with a label, carries a help line and a stable code, and all of
//! them from all files are reported together.
//!
//! Warnings use the same type with a warning severity: they say what a
//! translated OpenSLO or Sloth file held that summit-slo leaves out, and never
//! stop a run.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, Severity, SourceCode, SourceSpan};

/// One loaded file's text, shared by every diagnostic that points into it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user gave it, for messages.
    pub name: String,
    /// The file's text.
    pub text: Arc<String>,
    /// Byte offset of every character, so the YAML parser's character
    /// positions can become miette's byte spans.
    char_offsets: Arc<Vec<usize>>,
}

impl SourceFile {
    /// Wraps a file's text.
    pub fn new(path: &Path, text: String) -> Self {
        let mut char_offsets: Vec<usize> = text.char_indices().map(|(offset, _)| offset).collect();
        char_offsets.push(text.len());
        Self {
            name: path.display().to_string(),
            text: Arc::new(text),
            char_offsets: Arc::new(char_offsets),
        }
    }

    /// The byte offset of a character index (clamped to the end of the file).
    pub fn byte_offset(&self, char_index: usize) -> usize {
        let last = self.char_offsets.len() - 1;
        self.char_offsets[char_index.min(last)]
    }

    /// 1-based line and column of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .map_or(0, |tail| tail.chars().count())
            + 1;
        (line, column)
    }
}

/// Where in a file a diagnostic points.
#[derive(Debug, Clone)]
pub struct Location {
    /// The file.
    pub file: SourceFile,
    /// Byte span inside the file.
    pub span: SourceSpan,
}

impl Location {
    /// `path:line:column`, as editors and CI logs link it.
    pub fn position(&self) -> String {
        let (line, column) = self.file.line_column(self.span.offset());
        format!("{}:{line}:{column}", self.file.name)
    }
}

/// A problem in an SLO file (or with the set of files).
#[derive(Debug, Clone)]
pub struct SpecDiagnostic {
    /// A stable code such as `spec::unknown-field`.
    pub code: &'static str,
    /// One sentence: what is wrong.
    pub message: String,
    /// Where, when the problem has a position.
    pub location: Option<Location>,
    /// The text under the pointer.
    pub label: String,
    /// What to do about it.
    pub help: Option<String>,
    /// `Error` stops the run; `Warning` is printed and the run goes on.
    pub severity: Severity,
}

impl SpecDiagnostic {
    /// A problem at a position in a file.
    pub fn at(
        location: Location,
        code: &'static str,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Self {
            code,
            message: message.into(),
            location: Some(location),
            label: label.into(),
            help: None,
            severity: Severity::Error,
        }
    }

    /// A problem that belongs to no position, such as a missing directory.
    pub fn general(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            location: None,
            label: String::new(),
            help: None,
            severity: Severity::Error,
        }
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The same problem as a warning: printed, never stopping the run.
    pub fn as_warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// True for an error, which stops the run.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `path:line:column: message`, for logs and tests.
    pub fn one_line(&self) -> String {
        match &self.location {
            Some(location) => format!("{}: {}", location.position(), self.message),
            None => self.message.clone(),
        }
    }
}

impl fmt::Display for SpecDiagnostic {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for SpecDiagnostic {}

impl Diagnostic for SpecDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display + 'a>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.location
            .as_ref()
            .map(|location| &location.file as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let location = self.location.as_ref()?;
        let label = LabeledSpan::new_with_span(Some(self.label.clone()), location.span);
        Some(Box::new(std::iter::once(label)))
    }
}

impl SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let contents =
            self.text
                .as_str()
                .read_span(span, context_lines_before, context_lines_after)?;
        // Rebuild the contents with the file name so the report header shows
        // `path:line:column`.
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            contents.data(),
            *contents.span(),
            contents.line(),
            contents.column(),
            contents.line_count(),
        )))
    }
}

/// Every problem found while loading, in file order.
#[derive(Debug, Clone, Default, thiserror::Error)]
#[error("{} problem(s) in the SLO files", diagnostics.len())]
pub struct SpecErrors {
    /// The problems, each complete on its own.
    pub diagnostics: Vec<SpecDiagnostic>,
    /// Warnings found in the same run, so they are shown with the errors.
    pub warnings: Vec<SpecDiagnostic>,
}

impl Diagnostic for SpecErrors {
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(
            self.diagnostics
                .iter()
                .map(|diagnostic| diagnostic as &dyn Diagnostic),
        ))
    }
}

/// The closest of `candidates` to `word`, when it is close enough to be a
/// likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|candidate| (edit_distance(word, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Edits (insert, delete, substitute, swap two neighbours) from one word
/// to the other; a swap is the most common typo (`gague`).
fn edit_distance(left: &str, right: &str) -> usize {
    let left: Vec<char> = left.chars().collect();
    let right: Vec<char> = right.chars().collect();
    let mut table = vec![vec![0usize; right.len() + 1]; left.len() + 1];
    for (i, row) in table.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in table[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=left.len() {
        for j in 1..=right.len() {
            let cost = usize::from(left[i - 1] != right[j - 1]);
            let mut best = (table[i - 1][j] + 1)
                .min(table[i][j - 1] + 1)
                .min(table[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && left[i - 1] == right[j - 2] && left[i - 2] == right[j - 1] {
                best = best.min(table[i - 2][j - 2] + 1);
            }
            table[i][j] = best;
        }
    }
    table[left.len()][right.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_word() {
        let kinds = [
            "latency", "rate", "increase", "gauge", "ratio", "mean", "promql",
        ];
        assert_eq!(did_you_mean("latancy", &kinds), Some("latency"));
        assert_eq!(did_you_mean("gague", &kinds), Some("gauge"));
        assert_eq!(
            did_you_mean("histogram", &kinds),
            None,
            "too far from every kind"
        );
    }

    #[test]
    fn positions_are_one_based_lines_and_columns() {
        let file = SourceFile::new(Path::new("a.yaml"), "ab\ncdé\nf".to_string());
        assert_eq!(file.line_column(0), (1, 1));
        assert_eq!(file.line_column(4), (2, 2));
        assert_eq!(file.byte_offset(6), 7, "é takes two bytes");
        assert_eq!(file.line_column(8), (3, 1));
    }
}
