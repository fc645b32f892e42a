//! Reports for people and machines, rendered from a [`Verification`].
//!
//! Each format is a pure function from the verification to text; where the
//! text goes (stdout or `--output`) is the CLI's business.

pub mod json;
pub mod table;

use crate::eval::Verification;

/// The report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for terminals, then a verdict line.
    Table,
    /// Strict JSON (schema_version 1) for CI and dashboards.
    Json,
}

/// Renders a verification. `width` applies to the table only.
pub fn render(verification: &Verification, format: Format, width: Option<u16>) -> String {
    match format {
        Format::Table => table::render(verification, width),
        Format::Json => json::render(verification),
    }
}
