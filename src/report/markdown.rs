//! The Markdown report: a verdict line, a table of every SLO, and a chart
//! per SLO of its value across the window against the objective. It is also
//! the GitHub Actions step summary, so it stays under the 1 MiB GitHub
//! accepts: charts are dropped first, then rows, each with a note.

use std::fmt::Write as _;

use super::chart;
use crate::eval::{SloOutcome, Verdict, Verification, format_labels};
use crate::time::format_duration;

/// GitHub's limit for one step summary.
pub const SUMMARY_LIMIT: usize = 1 << 20;

/// Renders the verification as Markdown of at most `limit` bytes.
pub fn render(verification: &Verification, limit: usize) -> String {
    let charts = render_with(verification, true, usize::MAX);
    if charts.len() <= limit {
        return charts;
    }
    let rows = render_with(verification, false, usize::MAX);
    if rows.len() <= limit {
        return rows;
    }
    // Keep the failures and unknowns first; drop passing rows past the
    // limit.
    let mut keep = verification.outcomes.len();
    loop {
        let text = render_with(verification, false, keep);
        if text.len() <= limit || keep == 0 {
            return text;
        }
        keep = keep * 3 / 4;
    }
}

/// The Markdown of a run that stopped before any verdict: a heading that
/// says so and the message, verbatim.
pub fn render_error(message: &str) -> String {
    format!(
        "## summit-slo: COULD NOT RUN\n\n<pre>{}</pre>\n",
        chart::escape(message)
    )
}

fn mark(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "✅ pass",
        Verdict::Warn => "⚠️ warn",
        Verdict::Fail => "❌ fail",
        Verdict::Inconclusive => "❔ inconclusive",
    }
}

/// Text for a table cell, shown as written: Markdown and HTML in it (a
/// label value from the data may hold anything) are escaped, and a line
/// break or `|` cannot end the row or the cell.
fn cell(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '`' => escaped.push_str("&#96;"),
            '|' => escaped.push_str("\\|"),
            '\\' | '*' | '_' | '[' | ']' | '~' | '#' | '!' => {
                escaped.push('\\');
                escaped.push(character);
            }
            '\n' | '\r' => escaped.push(' '),
            _ => escaped.push(character),
        }
    }
    escaped
}

/// Text for a table cell in a code font, shown as written. GitHub parses
/// Markdown between HTML tags, so the text is escaped as in [`cell`].
fn code_cell(text: &str) -> String {
    format!("<code>{}</code>", cell(text))
}

/// Groups listed per SLO; the rest are counted in one row.
const GROUP_ROWS: usize = 20;

fn render_with(verification: &Verification, charts: bool, rows: usize) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "## summit-slo: {}\n",
        mark(verification.verdict).to_uppercase()
    );
    let _ = writeln!(
        text,
        "{} over `{}` ({}); exit code {}\n",
        super::verdict_counts(verification),
        verification.window.describe(),
        format_duration(verification.window.duration()),
        verification.exit_code
    );
    if let Some(command) = &verification.command {
        let _ = writeln!(
            text,
            "Load test `{}` {}.\n",
            cell(&command.command_line()),
            command.describe()
        );
    }

    let _ = writeln!(text, "| Verdict | SLO | Value | Objective | Detail |");
    let _ = writeln!(text, "|---|---|---|---|---|");
    let mut ordered: Vec<&SloOutcome> = verification.outcomes.iter().collect();
    ordered.sort_by_key(|outcome| std::cmp::Reverse(outcome.verdict));
    for outcome in ordered.iter().take(rows) {
        let unit = outcome.slo.indicator.unit();
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} | {} |",
            mark(outcome.verdict),
            code_cell(&outcome.slo.id()),
            outcome
                .value
                .map(|value| unit.format(value))
                .unwrap_or_else(|| "—".into()),
            code_cell(&outcome.slo.objective.text),
            cell(&outcome.detail)
        );
        let mut groups: Vec<_> = outcome.groups.iter().collect();
        groups.sort_by_key(|group| std::cmp::Reverse(group.verdict));
        for group in groups.iter().take(GROUP_ROWS) {
            let _ = writeln!(
                text,
                "| {} | ↳ {} | {} | | {} |",
                mark(group.verdict),
                code_cell(&format_labels(&group.labels)),
                group
                    .value
                    .map(|value| unit.format(value))
                    .unwrap_or_else(|| "—".into()),
                cell(&group.detail)
            );
        }
        if groups.len() > GROUP_ROWS {
            let _ = writeln!(
                text,
                "| | ↳ {} more groups, the worst listed above; the JSON report has them all | | | |",
                groups.len() - GROUP_ROWS
            );
        }
    }
    if ordered.len() > rows {
        let _ = writeln!(
            text,
            "\n{} more SLOs are left out to stay under GitHub's 1 MiB summary limit; the JSON \
             report has them all.",
            ordered.len() - rows
        );
    }

    let span = (
        verification.window.start.as_millisecond() as f64 / 1000.0,
        verification.window.end.as_millisecond() as f64 / 1000.0,
    );
    if charts {
        for outcome in &ordered {
            let Some(data) = chart::data(outcome, span) else {
                continue;
            };
            let title = if data.unit.is_empty() {
                outcome.slo.name.clone()
            } else {
                format!("{} ({})", outcome.slo.name, data.unit)
            };
            let Some(mermaid) = chart::mermaid(&data, &title) else {
                continue;
            };
            let _ = writeln!(
                text,
                "\n<details><summary>{} — {} against {}</summary>\n\n{mermaid}\nBlue: the value over a sliding fifth of the window; red: the objective.\n</details>",
                cell(&outcome.slo.id()),
                outcome.verdict.name(),
                cell(&outcome.slo.objective.text)
            );
        }
    } else if verification
        .outcomes
        .iter()
        .any(|outcome| outcome.trend.is_some())
    {
        let _ = writeln!(
            text,
            "\nCharts are left out to stay under GitHub's 1 MiB summary limit."
        );
    }
    text
}
