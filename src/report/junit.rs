//! The JUnit XML report, for CI systems that show test results: one test
//! suite per SLO holding its value, objective and query as properties, and
//! one test case per SLO (per group where `by` is used). A fail is a
//! `<failure>`, an inconclusive verdict an `<error>` whose type is the
//! reason; warn passes with a note.

use std::fmt::Write as _;

use jiff::Timestamp;

use super::chart::escape;
use crate::eval::{CommandRun, GroupOutcome, SloOutcome, Verdict, Verification, format_labels};
use crate::time::format_instant;

/// Renders the verification as JUnit XML.
pub fn render(verification: &Verification) -> String {
    let cases: Vec<(usize, usize)> = verification.outcomes.iter().map(counts).collect();
    let failures: usize = cases.iter().map(|(failures, _)| failures).sum();
    let command_errors = usize::from(
        verification
            .command
            .as_ref()
            .is_some_and(CommandRun::doubts_the_gate),
    );
    let errors: usize = cases.iter().map(|(_, errors)| errors).sum::<usize>() + command_errors;
    let tests: usize = verification
        .outcomes
        .iter()
        .map(|outcome| outcome.groups.len().max(1))
        .sum::<usize>()
        + usize::from(verification.command.is_some());
    // When the suites' "test" began: the window's start, in UTC (JUnit's
    // timestamp has no zone).
    let timestamp = format_instant(verification.window.start)
        .trim_end_matches('Z')
        .to_string();

    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"summit-slo\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"0\">"
    );
    if let Some(command) = &verification.command {
        command_suite(&mut xml, command, &timestamp);
    }
    let first = usize::from(verification.command.is_some());
    for (index, outcome) in verification.outcomes.iter().enumerate() {
        suite(&mut xml, first + index, outcome, &timestamp, cases[index]);
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// The JUnit document of a run that stopped at `at` before any verdict: one
/// test case, `summit-slo`, in error with the message, so a CI system shows
/// the stop instead of an empty or missing result.
pub fn render_error(message: &str, exit_code: u8, at: Timestamp) -> String {
    let timestamp = format_instant(at).trim_end_matches('Z').to_string();
    let message = escape(message);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<testsuites name=\"summit-slo\" tests=\"1\" failures=\"0\" errors=\"1\" time=\"0\">
  <testsuite name=\"summit-slo\" package=\"summit-slo\" id=\"0\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0\" timestamp=\"{timestamp}\" hostname=\"summit-slo\">
    <properties>
      <property name=\"exit_code\" value=\"{exit_code}\"/>
    </properties>
    <testcase name=\"could not run\" classname=\"summit-slo\" time=\"0\">
      <error message=\"{message}\" type=\"could_not_run\">{message}</error>
    </testcase>
    <system-out></system-out>
    <system-err></system-err>
  </testsuite>
</testsuites>
"
    )
}

/// A group's verdict in the report: its own, unless the SLO as a whole was
/// judged worse after its groups (an unmet precondition, partial data, a
/// step that broke the objective), which then holds for the group too.
fn group_verdict(outcome: &SloOutcome, group: &GroupOutcome) -> Verdict {
    let worst_group = outcome.groups.iter().map(|group| group.verdict).max();
    if worst_group.is_some_and(|worst| outcome.verdict > worst) {
        group.verdict.max(outcome.verdict)
    } else {
        group.verdict
    }
}

fn counts(outcome: &SloOutcome) -> (usize, usize) {
    let verdicts: Vec<Verdict> = if outcome.groups.is_empty() {
        vec![outcome.verdict]
    } else {
        outcome
            .groups
            .iter()
            .map(|group| group_verdict(outcome, group))
            .collect()
    };
    let failures = verdicts
        .iter()
        .filter(|verdict| **verdict == Verdict::Fail)
        .count();
    let errors = verdicts
        .iter()
        .filter(|verdict| **verdict == Verdict::Inconclusive)
        .count();
    (failures, errors)
}

fn suite(
    xml: &mut String,
    index: usize,
    outcome: &SloOutcome,
    timestamp: &str,
    (failures, errors): (usize, usize),
) {
    let slo = &outcome.slo;
    let unit = slo.indicator.unit();
    let tests = outcome.groups.len().max(1);
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{}\" package=\"{}\" id=\"{index}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"0\" timestamp=\"{timestamp}\" hostname=\"summit-slo\">",
        escape(&slo.id()),
        escape(&slo.service)
    );
    xml.push_str("    <properties>\n");
    let mut properties = vec![
        ("verdict", outcome.verdict_label()),
        ("objective", slo.objective.text.clone()),
        ("unit", unit.name().to_string()),
        ("query", outcome.query.clone()),
    ];
    if let Some(value) = outcome.value {
        properties.insert(1, ("value", value.to_string()));
        properties.insert(2, ("value_text", unit.format(value)));
    }
    if let Some(reason) = outcome.reason {
        properties.push(("reason", reason.name().to_string()));
    }
    for (name, value) in properties {
        let _ = writeln!(
            xml,
            "      <property name=\"{name}\" value=\"{}\"/>",
            escape(&value)
        );
    }
    xml.push_str("    </properties>\n");

    if outcome.groups.is_empty() {
        case(
            xml,
            (&slo.service, &slo.name, 0.0),
            outcome.verdict,
            outcome.reason.map(|reason| reason.name()),
            &outcome.message(),
        );
    } else {
        for group in &outcome.groups {
            group_case(xml, outcome, group);
        }
    }
    let _ = writeln!(
        xml,
        "    <system-out>{}</system-out>",
        escape(&outcome.message())
    );
    xml.push_str("    <system-err></system-err>\n");
    xml.push_str("  </testsuite>\n");
}

/// The load test `run` wrapped, as a suite of its own: a failed run that
/// leaves the gate in doubt is an error, as it makes the run exit 2.
fn command_suite(xml: &mut String, command: &CommandRun, timestamp: &str) {
    let errors = usize::from(command.doubts_the_gate());
    let seconds = command.took().as_secs_f64();
    let _ = writeln!(
        xml,
        "  <testsuite name=\"load test\" package=\"summit-slo\" id=\"0\" tests=\"1\" failures=\"0\" errors=\"{errors}\" skipped=\"0\" time=\"{}\" timestamp=\"{timestamp}\" hostname=\"summit-slo\">",
        crate::time::trim_float(seconds, 3)
    );
    xml.push_str("    <properties>\n");
    let code = command.exit_code.map(|code| code.to_string());
    let signal = command.signal.map(|signal| signal.to_string());
    for (name, value) in [
        ("command", Some(command.command_line())),
        ("exit_code", code),
        ("signal", signal),
        ("started", Some(format_instant(command.started))),
        ("ended", Some(format_instant(command.ended))),
        ("failure_allowed", Some(command.failure_allowed.to_string())),
    ] {
        if let Some(value) = value {
            let _ = writeln!(
                xml,
                "      <property name=\"{name}\" value=\"{}\"/>",
                escape(&value)
            );
        }
    }
    xml.push_str("    </properties>\n");
    let message = command
        .doubt()
        .unwrap_or_else(|| format!("the load test {}", command.describe()));
    let verdict = if command.doubts_the_gate() {
        Verdict::Inconclusive
    } else {
        Verdict::Pass
    };
    case(
        xml,
        ("summit-slo", "load test", seconds),
        verdict,
        Some("command_failed"),
        &message,
    );
    let _ = writeln!(xml, "    <system-out>{}</system-out>", escape(&message));
    xml.push_str("    <system-err></system-err>\n");
    xml.push_str("  </testsuite>\n");
}

fn group_case(xml: &mut String, outcome: &SloOutcome, group: &GroupOutcome) {
    let name = format!("{} {}", outcome.slo.name, format_labels(&group.labels));
    let verdict = group_verdict(outcome, group);
    let (reason, detail) = if verdict == group.verdict {
        (group.reason, group.detail.clone())
    } else {
        (
            outcome.reason,
            format!("{} (the SLO: {})", group.detail, outcome.detail),
        )
    };
    let message = format!("{name}: {detail}");
    case(
        xml,
        (&outcome.slo.service, &name, 0.0),
        verdict,
        reason.map(|reason| reason.name()),
        &message,
    );
}

/// One test case: `seconds` is its time (0 for an SLO, which takes no
/// time of its own).
fn case(
    xml: &mut String,
    (class, name, seconds): (&str, &str, f64),
    verdict: Verdict,
    reason: Option<&str>,
    message: &str,
) {
    let _ = write!(
        xml,
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
        escape(class),
        escape(name),
        crate::time::trim_float(seconds, 3)
    );
    match verdict {
        Verdict::Fail => {
            let _ = writeln!(
                xml,
                ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                escape(message),
                reason.unwrap_or("fail"),
                escape(message)
            );
        }
        Verdict::Inconclusive => {
            let _ = writeln!(
                xml,
                ">\n      <error message=\"{}\" type=\"{}\">{}</error>\n    </testcase>",
                escape(message),
                reason.unwrap_or("inconclusive"),
                escape(message)
            );
        }
        Verdict::Pass | Verdict::Warn => {
            let _ = writeln!(xml, "/>");
        }
    }
}
