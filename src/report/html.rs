//! The HTML report: one self-contained file (inline styles and SVG, no
//! scripts, nothing fetched) with the verdict, a table of every SLO, and a
//! chart per SLO of its value across the window against the objective.
//! Verdicts are written out in words; colour only repeats them.

use std::fmt::Write as _;

use super::chart::{self, escape};
use crate::eval::{SloOutcome, Verdict, Verification, format_labels};
use crate::time::{format_duration, format_instant};

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 2rem; color: #171717; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e5e5e5; vertical-align: top; }
.verdict { font-weight: 600; padding: .1rem .45rem; border-radius: .3rem; }
.pass { background: #dcfce7; } .warn { background: #fef3c7; }
.fail { background: #fee2e2; } .inconclusive { background: #e5e7eb; }
.detail { color: #404040; } code { font-size: .85em; }
section { margin-bottom: 1.5rem; } .meta { color: #525252; }
";

/// The page of a run that stopped before any verdict: the message and the
/// exit code, in the report's style.
pub fn render_error(message: &str, exit_code: u8) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>summit-slo: COULD NOT RUN</title><style>{STYLE}</style></head><body><h1>summit-slo: <span class=\"verdict fail\">COULD NOT RUN</span></h1><p class=\"meta\">Exit code {exit_code}; no SLO was judged.</p><pre>{}</pre></body></html>\n",
        escape(message)
    )
}

/// Renders the verification as a standalone HTML page.
pub fn render(verification: &Verification) -> String {
    let mut html = String::new();
    let title = format!("summit-slo: {}", verification.verdict.name().to_uppercase());
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape(&title)
    );
    let _ = write!(
        html,
        "<h1>summit-slo: <span class=\"verdict {}\">{}</span></h1>",
        verification.verdict.name(),
        verification.verdict.name().to_uppercase()
    );
    let _ = write!(
        html,
        "<p class=\"meta\">Window {} to {} ({}); exit code {}; {} pass, {} warn, {} fail, {} inconclusive.</p>",
        format_instant(verification.window.start),
        format_instant(verification.window.end),
        format_duration(verification.window.duration()),
        verification.exit_code,
        verification.count(Verdict::Pass),
        verification.count(Verdict::Warn),
        verification.count(Verdict::Fail),
        verification.count(Verdict::Inconclusive)
    );
    if let Some(command) = &verification.command {
        let _ = write!(
            html,
            "<p class=\"meta\">Load test <code>{}</code> {}.</p>",
            escape(&command.command_line()),
            escape(&command.describe())
        );
    }

    html.push_str("<table><thead><tr><th>SLO</th><th>Verdict</th><th>Value</th><th>Objective</th><th>Detail</th></tr></thead><tbody>");
    for outcome in &verification.outcomes {
        row(&mut html, outcome);
    }
    html.push_str("</tbody></table>");

    let span = (
        verification.window.start.as_millisecond() as f64 / 1000.0,
        verification.window.end.as_millisecond() as f64 / 1000.0,
    );
    for outcome in &verification.outcomes {
        section(&mut html, outcome, span);
    }
    html.push_str("</body></html>\n");
    html
}

fn row(html: &mut String, outcome: &SloOutcome) {
    let unit = outcome.slo.indicator.unit();
    let _ = write!(
        html,
        "<tr><td><a href=\"#{id}\"><code>{id}</code></a></td><td><span class=\"verdict {verdict}\">{label}</span></td><td>{value}</td><td><code>{objective}</code></td><td class=\"detail\">{detail}</td></tr>",
        id = escape(&outcome.slo.id()),
        verdict = outcome.verdict.name(),
        label = escape(&outcome.verdict_label()),
        value = escape(
            &outcome
                .value
                .map(|value| unit.format(value))
                .unwrap_or_else(|| "—".into())
        ),
        objective = escape(&outcome.slo.objective.text),
        detail = escape(&outcome.detail)
    );
}

fn section(html: &mut String, outcome: &SloOutcome, span: (f64, f64)) {
    let slo = &outcome.slo;
    let _ = write!(
        html,
        "<section id=\"{}\"><h2><code>{}</code> <span class=\"verdict {}\">{}</span></h2>",
        escape(&slo.id()),
        escape(&slo.id()),
        outcome.verdict.name(),
        escape(&outcome.verdict_label())
    );
    if let Some(description) = &slo.description {
        let _ = write!(html, "<p>{}</p>", escape(description));
    }
    let _ = write!(
        html,
        "<p class=\"detail\">{}</p>",
        escape(&outcome.message())
    );
    match chart::data(outcome, span) {
        Some(data) => {
            html.push_str(&chart::svg(&data));
            if let Some(trend) = &outcome.trend {
                let _ = write!(
                    html,
                    "<p class=\"meta\">Each point covers the {} before it, every {}.</p>",
                    format_duration(trend.range),
                    format_duration(trend.step)
                );
            }
        }
        None => html.push_str(
            "<p class=\"meta\">No chart: too few points with data across the window.</p>",
        ),
    }
    if !outcome.groups.is_empty() {
        html.push_str("<table><thead><tr><th>Group</th><th>Verdict</th><th>Value</th><th>Detail</th></tr></thead><tbody>");
        let unit = slo.indicator.unit();
        for group in &outcome.groups {
            let _ = write!(
                html,
                "<tr><td><code>{}</code></td><td><span class=\"verdict {}\">{}</span></td><td>{}</td><td class=\"detail\">{}</td></tr>",
                escape(&format_labels(&group.labels)),
                group.verdict.name(),
                group.verdict.name(),
                escape(
                    &group
                        .value
                        .map(|value| unit.format(value))
                        .unwrap_or_else(|| "—".into())
                ),
                escape(&group.detail)
            );
        }
        html.push_str("</tbody></table>");
    }
    for precondition in &outcome.preconditions {
        let state = match precondition.met {
            Some(true) => "met",
            Some(false) => "not met",
            None => "not measurable",
        };
        let _ = write!(
            html,
            "<p class=\"meta\">Requires <code>{} {}</code>: {} ({}).</p>",
            escape(&precondition.summary),
            escape(&precondition.objective),
            state,
            escape(
                &precondition
                    .value
                    .map(|value| precondition.unit.format(value))
                    .unwrap_or_else(|| "no value".into())
            )
        );
    }
    let _ = write!(
        html,
        "<p class=\"meta\">Query: <code>{}</code></p></section>",
        escape(&outcome.query)
    );
}
