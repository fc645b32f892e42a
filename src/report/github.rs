//! GitHub Actions: workflow-command annotations that point at each failing
//! or inconclusive SLO's definition, and the step outputs a workflow gates
//! on. The step summary is the Markdown report.

use std::fmt::Write as _;
use std::path::Path;

use crate::eval::{SloOutcome, Verdict, Verification};

/// At most this many SLO annotations, the line summarising the rest
/// included: GitHub shows at most ten of each kind per step.
pub const MAX_ANNOTATIONS: usize = 10;

/// `::error` lines for failing SLOs (and warnings under `--strict`),
/// `::warning` for inconclusive ones, `::notice` for warnings, most severe
/// first, each pointing at the SLO's file and line.
pub fn annotations(verification: &Verification) -> String {
    let mut flagged: Vec<&SloOutcome> = verification
        .outcomes
        .iter()
        .filter(|outcome| outcome.verdict != Verdict::Pass)
        .collect();
    flagged.sort_by_key(|outcome| std::cmp::Reverse(outcome.verdict));

    let mut text = String::new();
    if let Some(command) = &verification.command {
        let argv = command.command_line();
        let line = match command.doubt() {
            Some(doubt) => Some((
                "error",
                format!("`{argv}`: {doubt}; passing SLOs count as inconclusive"),
            )),
            None if !command.succeeded() => Some((
                "warning",
                format!(
                    "`{argv}` {}; judged anyway (--allow-command-failure)",
                    command.describe()
                ),
            )),
            None => None,
        };
        if let Some((level, message)) = line {
            let _ = writeln!(
                text,
                "::{level} title={}::{}",
                property("load test did not run as planned"),
                data(&message)
            );
        }
    }
    let shown = if flagged.len() > MAX_ANNOTATIONS {
        MAX_ANNOTATIONS - 1
    } else {
        flagged.len()
    };
    for outcome in flagged.iter().take(shown) {
        let (command, what) = match outcome.verdict {
            Verdict::Fail => ("error", "SLO failed"),
            Verdict::Inconclusive => ("warning", "SLO inconclusive"),
            _ if verification.strict => ("error", "SLO missed its warning bound (--strict)"),
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
    if flagged.len() > shown {
        let rest = &flagged[shown..];
        let count = |verdict| {
            rest.iter()
                .filter(|outcome| outcome.verdict == verdict)
                .count()
        };
        let (failed, inconclusive, warned) = (
            count(Verdict::Fail),
            count(Verdict::Inconclusive),
            count(Verdict::Warn),
        );
        let command = if failed > 0 { "error" } else { "warning" };
        let _ = writeln!(
            text,
            "::{command} title={}::{}",
            property("summit-slo"),
            data(&format!(
                "{} more SLOs need attention ({failed} failed, {inconclusive} inconclusive, \
                 {warned} warned); the step summary lists them all",
                rest.len()
            ))
        );
    }
    text
}

/// The step outputs: `verdict`, `passed`, `exit_code`, `failed` and
/// `inconclusive` (what blocks: failed SLOs, warns too under `--strict`;
/// inconclusive SLOs, plus one for a load test that did not run as
/// planned), and `report` (the JSON report's path).
pub fn outputs(verification: &Verification, report: &Path) -> String {
    let (failed, inconclusive) = verification.blocking();
    format!(
        "verdict={}\npassed={}\nexit_code={}\nfailed={failed}\ninconclusive={inconclusive}\n{}",
        verification.verdict.name(),
        verification.exit_code == 0,
        verification.exit_code,
        output("report", &report.display().to_string())
    )
}

/// The outputs and the annotation of a run that stopped before a verdict.
pub fn stop_outputs(code: u8, report: Option<&Path>) -> String {
    let report = report
        .map(|path| path.display().to_string())
        .unwrap_or_default();
    format!(
        "verdict=error\npassed=false\nexit_code={code}\nfailed=0\ninconclusive=0\n{}",
        output("report", &report)
    )
}

/// One output whose value may hold anything a path can (a newline, `=`):
/// written between delimiters the value does not contain, so no value can
/// add outputs of its own.
fn output(name: &str, value: &str) -> String {
    let mut delimiter = String::from("SUMMIT_SLO_END");
    while value.contains(&delimiter) {
        delimiter.push('_');
    }
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// The annotation of a run that stopped before a verdict.
pub fn stop_annotation(message: &str) -> String {
    format!(
        "::error title={}::{}\n",
        property("summit-slo could not run"),
        data(message)
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
