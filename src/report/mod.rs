//! Reports for people and machines, rendered from a [`Verification`].
//!
//! Each format is a pure function from the verification to text; where the
//! text goes (stdout, `--output`, GitHub's files) is the CLI's business.

pub mod chart;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod table;

use jiff::Timestamp;

use crate::eval::{Verdict, Verification};

/// The report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for terminals, then a verdict line.
    Table,
    /// Strict JSON (schema_version 1) for CI and dashboards.
    Json,
    /// JUnit XML, one test case per SLO (per group with `by`).
    Junit,
    /// Markdown with a table and a chart per SLO (GitHub renders it).
    Markdown,
    /// One self-contained HTML file with an SVG chart per SLO.
    Html,
    /// The table, plus GitHub Actions annotations, step summary and outputs
    /// (the default inside GitHub Actions).
    Github,
}

impl Format {
    /// True for the formats that draw each indicator across the window.
    pub fn charts(self) -> bool {
        matches!(self, Self::Markdown | Self::Html | Self::Github)
    }
}

/// Renders a verification. `width` applies to the table only.
pub fn render(verification: &Verification, format: Format, width: Option<u16>) -> String {
    match format {
        Format::Table | Format::Github => table::render(verification, width),
        Format::Json => json::render(verification),
        Format::Junit => junit::render(verification),
        Format::Markdown => markdown::render(verification, usize::MAX),
        Format::Html => html::render(verification),
    }
}

/// The report of a run that stopped at `at` before any verdict (exit code 3 or an
/// interrupted start), in the format asked for, so a file a CI system
/// parses as JUnit, HTML or JSON never holds plain text or a stale verdict.
pub fn render_stop(message: &str, exit_code: u8, format: Format, at: Timestamp) -> String {
    match format {
        Format::Table | Format::Github => format!("error: {message}\n"),
        Format::Json => json::render_error(message, exit_code),
        Format::Junit => junit::render_error(message, exit_code, at),
        Format::Markdown => markdown::render_error(message),
        Format::Html => html::render_error(message, exit_code),
    }
}

/// How many SLOs ended with each verdict, worst first: "4 fail, 2 pass".
pub(crate) fn verdict_counts(verification: &Verification) -> String {
    let counts: Vec<String> = [
        Verdict::Fail,
        Verdict::Inconclusive,
        Verdict::Warn,
        Verdict::Pass,
    ]
    .into_iter()
    .filter_map(|verdict| {
        let count = verification.count(verdict);
        (count > 0).then(|| format!("{count} {}", verdict.name()))
    })
    .collect();
    counts.join(", ")
}
