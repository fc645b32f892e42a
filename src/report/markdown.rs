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

fn mark(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "✅ pass",
        Verdict::Warn => "⚠️ warn",
        Verdict::Fail => "❌ fail",
        Verdict::Inconclusive => "❔ inconclusive",
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

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
            cell(&command.argv.join(" ")),
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
            "| {} | `{}` | {} | `{}` | {} |",
            mark(outcome.verdict),
            outcome.slo.id(),
            outcome
                .value
                .map(|value| unit.format(value))
                .unwrap_or_else(|| "—".into()),
            cell(&outcome.slo.objective.text),
            cell(&outcome.detail)
        );
        for group in &outcome.groups {
            let _ = writeln!(
                text,
                "| {} | ↳ `{}` | {} | | {} |",
                mark(group.verdict),
                cell(&format_labels(&group.labels)),
                group
                    .value
                    .map(|value| unit.format(value))
                    .unwrap_or_else(|| "—".into()),
                cell(&group.detail)
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
            let title = format!("{} ({})", outcome.slo.name, data.unit);
            let Some(mermaid) = chart::mermaid(&data, &title) else {
                continue;
            };
            let _ = writeln!(
                text,
                "\n<details><summary>{} — {} against {}</summary>\n\n{mermaid}\nThe second line is the objective.\n</details>",
                outcome.slo.id(),
                outcome.verdict.name(),
                outcome.slo.objective.text
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
