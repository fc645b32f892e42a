//! GitHub Actions: workflow-command annotations that point at each failing
//! or inconclusive SLO's definition, and the step outputs a workflow gates
//! on. The step summary is the Markdown report.

use std::fmt::Write as _;
use std::path::Path;

use crate::eval::{SloOutcome, Verdict, Verification};

/// At most this many annotations; one more line summarises the rest.
pub const MAX_ANNOTATIONS: usize = 10;

/// `::error` lines for failing SLOs, `::warning` for inconclusive ones,
/// `::notice` for warnings, most severe first, each pointing at the SLO's
/// file and line.
pub fn annotations(verification: &Verification) -> String {
    let mut flagged: Vec<&SloOutcome> = verification
        .outcomes
        .iter()
        .filter(|outcome| outcome.verdict != Verdict::Pass)
        .collect();
    flagged.sort_by_key(|outcome| std::cmp::Reverse(outcome.verdict));

    let mut text = String::new();
    if let Some(command) = verification
        .command
        .as_ref()
        .filter(|command| !command.succeeded())
    {
        let (level, consequence) = if command.failure_allowed {
            ("warning", "judged anyway (--allow-command-failure)")
        } else {
            ("error", "passing SLOs count as inconclusive")
        };
        let _ = writeln!(
            text,
            "::{level} title={}::{}",
            property("load test failed"),
            data(&format!(
                "`{}` {}; {consequence}",
                command.argv.join(" "),
                command.describe()
            ))
        );
    }
    for outcome in flagged.iter().take(MAX_ANNOTATIONS) {
        let (command, what) = match outcome.verdict {
            Verdict::Fail => ("error", "SLO failed"),
            Verdict::Inconclusive => ("warning", "SLO inconclusive"),
            _ => ("notice", "SLO near its objective"),
        };
        let location = &outcome.slo.location;
        let (line, column) = location.file.line_column(location.span.offset());
        let _ = writeln!(
            text,
            "::{command} file={},line={line},col={column},title={}::{}",
            property(&location.file.name),
            property(&format!("{what}: {}", outcome.slo.id())),
            data(&outcome.message())
        );
    }
    if flagged.len() > MAX_ANNOTATIONS {
        let failed = flagged
            .iter()
            .skip(MAX_ANNOTATIONS)
            .filter(|outcome| outcome.verdict == Verdict::Fail)
            .count();
        let command = if failed > 0 { "error" } else { "warning" };
        let _ = writeln!(
            text,
            "::{command} title={}::{}",
            property("summit-slo"),
            data(&format!(
                "{} more SLOs are not passing ({failed} failed); the step summary lists them all",
                flagged.len() - MAX_ANNOTATIONS
            ))
        );
    }
    text
}

/// The step outputs: `verdict`, `exit_code`, `failed` and `inconclusive`
/// (counts), and `report` (the JSON report's path).
pub fn outputs(verification: &Verification, report: &Path) -> String {
    format!(
        "verdict={}\nexit_code={}\nfailed={}\ninconclusive={}\nreport={}\n",
        verification.verdict.name(),
        verification.exit_code,
        verification.count(Verdict::Fail),
        verification.count(Verdict::Inconclusive),
        report.display()
    )
}

/// Escapes an annotation's message.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes an annotation's property value.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}
