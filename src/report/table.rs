//! The terminal report: one row per SLO (and per group), then a verdict
//! line. Words carry every meaning; nothing relies on colour.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use crate::eval::{SloOutcome, Verification, format_labels};

/// Renders the verification as a table followed by a summary line.
/// `width` wraps the table to a terminal's width; `None` never wraps.
pub fn render(verification: &Verification, width: Option<u16>) -> String {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    match width {
        Some(width) => {
            table.set_content_arrangement(ContentArrangement::Dynamic);
            table.set_width(width);
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    table.set_header(["SLO", "VERDICT", "VALUE", "OBJECTIVE", "DETAIL"]);

    for outcome in &verification.outcomes {
        table.add_row([
            outcome.slo.id(),
            outcome.verdict_label(),
            value_text(outcome),
            outcome.slo.objective.text.clone(),
            outcome.detail.clone(),
        ]);
        let unit = outcome.slo.indicator.unit();
        for group in &outcome.groups {
            table.add_row([
                format!("  {}", format_labels(&group.labels)),
                group.verdict.name().to_string(),
                group
                    .value
                    .map(|value| unit.format(value))
                    .unwrap_or_default(),
                String::new(),
                group.detail.clone(),
            ]);
        }
    }

    let mut text = format!("{table}\n");
    for outcome in &verification.outcomes {
        // Without --allow-partial the warnings are already in the detail.
        let warnings = if outcome.partial {
            outcome.warnings.as_slice()
        } else {
            &[]
        };
        for warning in warnings {
            text.push_str(&format!("warning: {}: {warning}\n", outcome.slo.id()));
        }
        for notice in &outcome.notices {
            text.push_str(&format!("note: {}: {notice}\n", outcome.slo.id()));
        }
    }
    text.push_str(&summary(verification));
    text.push('\n');
    text
}

fn value_text(outcome: &SloOutcome) -> String {
    let unit = outcome.slo.indicator.unit();
    outcome
        .value
        .map(|value| unit.format(value))
        .unwrap_or_else(|| "—".to_string())
}

/// `verdict: FAIL (1 fail, 5 pass) over 2026-12-04T10:00:00Z..10:10:00Z; exit 1`
pub fn summary(verification: &Verification) -> String {
    let command = match &verification.command {
        Some(command) => match command.doubt() {
            Some(doubt) => format!("; {doubt}"),
            None if !command.succeeded() => {
                format!("; the load test {} (allowed)", command.describe())
            }
            None => String::new(),
        },
        None => String::new(),
    };
    format!(
        "verdict: {} ({}) over {}{command}; exit {}",
        verification.verdict.name().to_uppercase(),
        super::verdict_counts(verification),
        verification.window.describe(),
        verification.exit_code
    )
}
