//! What a verification concludes: verdicts, reasons, and the numbers behind
//! them, per SLO and per group, rolled up into one verdict and exit code.

use std::time::Duration;

use serde::Serialize;

use crate::prometheus::Labels;
use crate::spec::{Slo, Unit};
use crate::window::Window;

/// The verdict of one SLO, one group, or the whole verification.
///
/// The order is severity: a roll-up takes the most severe, so a definite
/// failure outranks an unknown, and an unknown outranks a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The objective (and the warning, if any) held.
    Pass,
    /// The objective held but the warning bound did not.
    Warn,
    /// The data cannot say: missing, NaN, too few events, an unmet
    /// precondition, a failed query, partial data.
    Inconclusive,
    /// The objective did not hold.
    Fail,
}

impl Verdict {
    /// The lowercase word used in every report.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Inconclusive => "inconclusive",
            Self::Fail => "fail",
        }
    }
}

/// Why a verdict is not a plain pass or fail. Each is a stable snake_case
/// word in JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The query returned no series.
    NoData,
    /// The value is NaN (0/0: no events in the window).
    Nan,
    /// The value is ±Inf (a non-zero numerator over a zero denominator).
    DivisionByZero,
    /// Fewer events than `min_events` (or none at all).
    TooFewEvents,
    /// A precondition on the load was not met, or could not be measured.
    PreconditionNotMet,
    /// The server warned that the answer is built from part of the data.
    PartialResponse,
    /// A query failed (HTTP error, timeout, malformed answer).
    QueryError,
    /// The data cannot be true (good events exceed total, buckets shrink as
    /// `le` grows).
    InvalidData,
    /// The objective held over the window but not at every step.
    NotSustained,
    /// A hand-written query returned several series where one was expected.
    TooManySeries,
    /// A hand-written query returned a range vector or a string.
    UnsupportedResult,
    /// No bucket edge of the histogram equals the latency threshold.
    BucketNotFound,
    /// A `by` label is on none of the series (a typo).
    GroupLabelMissing,
    /// A scraped target the SLO reads answered too few scrapes.
    TooFewScrapes,
}

impl Reason {
    /// The snake_case word.
    pub fn name(self) -> &'static str {
        match self {
            Self::NoData => "no_data",
            Self::Nan => "nan",
            Self::DivisionByZero => "division_by_zero",
            Self::TooFewEvents => "too_few_events",
            Self::PreconditionNotMet => "precondition_not_met",
            Self::PartialResponse => "partial_response",
            Self::QueryError => "query_error",
            Self::InvalidData => "invalid_data",
            Self::NotSustained => "not_sustained",
            Self::TooManySeries => "too_many_series",
            Self::UnsupportedResult => "unsupported_result",
            Self::BucketNotFound => "bucket_not_found",
            Self::GroupLabelMissing => "group_label_missing",
            Self::TooFewScrapes => "too_few_scrapes",
        }
    }

    /// True when the cause is the spec rather than the data: the run exits
    /// 3 so the gate is fixed instead of retried.
    pub fn is_spec_error(self) -> bool {
        matches!(
            self,
            Self::TooManySeries
                | Self::UnsupportedResult
                | Self::BucketNotFound
                | Self::GroupLabelMissing
        )
    }
}

/// One group's (or the only series') judgement.
#[derive(Debug, Clone)]
pub struct GroupOutcome {
    /// The group's labels (empty for an ungrouped SLO).
    pub labels: Labels,
    /// The verdict.
    pub verdict: Verdict,
    /// The measured value; NaN and ±Inf are kept as they came.
    pub value: Option<f64>,
    /// Why, when not a plain pass or fail.
    pub reason: Option<Reason>,
    /// One sentence for people, without the SLO's name.
    pub detail: String,
    /// Events in the window, when counted.
    pub events: Option<f64>,
}

/// A precondition's measurement.
#[derive(Debug, Clone)]
pub struct PreconditionOutcome {
    /// `rate(graphql_requests_total)`.
    pub summary: String,
    /// The query.
    pub query: String,
    /// The measured value, if any.
    pub value: Option<f64>,
    /// The value's unit.
    pub unit: Unit,
    /// The bound as written.
    pub objective: String,
    /// True met, false not met, `None` could not be measured.
    pub met: Option<bool>,
    /// Why it could not be measured.
    pub problem: Option<String>,
}

/// How sustained mode went.
#[derive(Debug, Clone)]
pub struct SustainedOutcome {
    /// The range query.
    pub query: String,
    /// Distance between evaluations.
    pub step: Duration,
    /// Data covered by each evaluation.
    pub range: Duration,
    /// Evaluations with a value, over all groups.
    pub points: usize,
    /// Evaluations without traffic (NaN), which count for nothing.
    pub empty_points: usize,
    /// Steps at which a series was absent from the answer.
    pub missing_points: usize,
    /// Evaluations that missed the objective.
    pub breaches: usize,
    /// Evaluations that met the objective but missed the warning.
    pub warnings: usize,
    /// The worst evaluation: Unix seconds and value.
    pub worst: Option<(f64, f64)>,
}

/// The indicator at steps across the window, each over a sliding range.
#[derive(Debug, Clone)]
pub struct Trend {
    /// Distance between points.
    pub step: Duration,
    /// Data covered by each point.
    pub range: Duration,
    /// Each series (by its labels, `{}` for an ungrouped SLO) and its
    /// `(Unix seconds, value)` points.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

/// How much error budget the window used (ratio SLOs).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Budget {
    /// Error ratio over the budget (1 − objective): 1 burns the budget
    /// exactly over its period.
    pub burn_rate: f64,
    /// The share (0..1) of the period's budget this window used.
    pub consumed: f64,
    /// The budget period.
    #[serde(skip)]
    pub period: Duration,
}

/// One SLO's judgement.
#[derive(Debug, Clone)]
pub struct SloOutcome {
    /// The SLO.
    pub slo: Slo,
    /// The verdict (the worst group's, then preconditions and sustained).
    pub verdict: Verdict,
    /// The deciding value: the worst group's.
    pub value: Option<f64>,
    /// Why, when not a plain pass or fail.
    pub reason: Option<Reason>,
    /// One sentence for people, without the SLO's name (see
    /// [`SloOutcome::message`]).
    pub detail: String,
    /// The whole-window value query as sent.
    pub query: String,
    /// Events in the window (all groups).
    pub events: Option<f64>,
    /// Each group, when the SLO has `by` or `per_series: all`.
    pub groups: Vec<GroupOutcome>,
    /// Each precondition, in spec order.
    pub preconditions: Vec<PreconditionOutcome>,
    /// Sustained mode, when asked for and reached.
    pub sustained: Option<SustainedOutcome>,
    /// Error budget use, for ratio SLOs with a value.
    pub budget: Option<Budget>,
    /// True when the value was computed from partial data (`--allow-partial`).
    pub partial: bool,
    /// The indicator across the window, for charts (when asked for).
    pub trend: Option<Trend>,
    /// Warnings from the server: the answer may be incomplete.
    pub warnings: Vec<String>,
    /// Informational notes from the server (Prometheus 3 `infos`).
    pub notices: Vec<String>,
}

impl SloOutcome {
    /// An inconclusive outcome with nothing judged yet.
    pub fn new(slo: Slo, query: String) -> Self {
        Self {
            slo,
            verdict: Verdict::Inconclusive,
            value: None,
            reason: None,
            detail: String::new(),
            query,
            events: None,
            groups: Vec::new(),
            preconditions: Vec::new(),
            sustained: None,
            budget: None,
            partial: false,
            trend: None,
            warnings: Vec::new(),
            notices: Vec::new(),
        }
    }

    /// The detail prefixed with the SLO's name, as messages are shown.
    pub fn message(&self) -> String {
        format!("{}: {}", self.slo.name, self.detail)
    }

    /// `pass`, or `pass (partial data)` when the value came from partial
    /// data.
    pub fn verdict_label(&self) -> String {
        if self.partial {
            format!("{} (partial data)", self.verdict.name())
        } else {
            self.verdict.name().to_string()
        }
    }
}

/// A whole verification: the window, every SLO, and the roll-up.
#[derive(Debug, Clone)]
pub struct Verification {
    /// The window judged.
    pub window: Window,
    /// Each selected SLO, in spec order.
    pub outcomes: Vec<SloOutcome>,
    /// The most severe verdict.
    pub verdict: Verdict,
    /// The process exit code: 0 pass, 1 fail, 2 inconclusive, 3 spec error.
    pub exit_code: u8,
    /// True when a warn blocks like a failure (`--strict`).
    pub strict: bool,
    /// The load test `run` wrapped, if any.
    pub command: Option<CommandRun>,
    /// The Grafana annotation of this verification, when one was asked for.
    pub annotation: Option<AnnotationRecord>,
}

/// What became of the Grafana annotation of a verification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AnnotationRecord {
    /// Grafana's URL, without credentials.
    pub url: String,
    /// The run id the annotation is tagged with.
    pub run_id: String,
    /// The annotation's id, when it was written.
    pub id: Option<u64>,
    /// `created` or `updated`, when it was written.
    pub action: Option<&'static str>,
    /// Why it was not written.
    pub error: Option<String>,
}

/// The load test a `run` started: what it was, when, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRun {
    /// The command and its arguments.
    pub argv: Vec<String>,
    /// Its exit code, when it exited.
    pub exit_code: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
    /// When it was started.
    pub started: jiff::Timestamp,
    /// When it ended.
    pub ended: jiff::Timestamp,
    /// True when `--allow-command-failure` let a non-zero exit be judged
    /// as if it had succeeded.
    pub failure_allowed: bool,
    /// The signal that interrupted the command while it ran: received by
    /// summit-slo and passed on, or sent to both by the terminal (Ctrl-C).
    pub interrupted_by: Option<i32>,
    /// How long the command was expected to run (`--expect`).
    pub expected: Option<Duration>,
}

impl CommandRun {
    /// True when it exited with 0.
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// The command as a shell would take it back: arguments with spaces or
    /// quotes are single-quoted.
    pub fn command_line(&self) -> String {
        self.argv
            .iter()
            .map(|argument| {
                let plain = !argument.is_empty()
                    && argument.chars().all(|character| {
                        character.is_ascii_alphanumeric() || "-_./:=@%+,".contains(character)
                    });
                if plain {
                    argument.clone()
                } else {
                    format!("'{}'", argument.replace('\'', r"'\''"))
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// How long it ran.
    pub fn took(&self) -> Duration {
        Duration::from_millis(
            (self.ended.as_millisecond() - self.started.as_millisecond()).max(0) as u64,
        )
    }

    /// Why the run leaves a passing gate in doubt, if it does: it was
    /// interrupted, ended by a signal, ran under nine tenths of
    /// `--expect`, or exited non-zero (unless that was allowed). Only the
    /// last can be waived: a load test cut short measured less than it was
    /// meant to, whatever its exit code says.
    pub fn doubt(&self) -> Option<String> {
        let took = crate::time::format_duration(self.took());
        if let Some(signal) = self.interrupted_by {
            return Some(format!(
                "the load test was interrupted by {} after {took}",
                signal_name(signal)
            ));
        }
        if let (None, Some(signal)) = (self.exit_code, self.signal) {
            return Some(format!(
                "the load test was ended by {} after {took}",
                signal_name(signal)
            ));
        }
        if let Some(expected) = self.expected
            && self.took() * 10 < expected * 9
        {
            return Some(format!(
                "the load test ran {took} of the {} expected (--expect)",
                crate::time::format_duration(expected)
            ));
        }
        match self.exit_code {
            Some(0) => None,
            Some(code) if !self.failure_allowed => {
                Some(format!("the load test exited with {code} after {took}"))
            }
            _ => None,
        }
    }

    /// True when the run leaves a passing gate in doubt.
    pub fn doubts_the_gate(&self) -> bool {
        self.doubt().is_some()
    }

    /// "exited with 0 after 30s", "was ended by signal 15 after 2m".
    pub fn describe(&self) -> String {
        let took = crate::time::format_duration(self.took());
        match (self.exit_code, self.signal) {
            (Some(code), _) => format!("exited with {code} after {took}"),
            (None, Some(signal)) => format!("was ended by {} after {took}", signal_name(signal)),
            (None, None) => format!("ended after {took}"),
        }
    }
}

/// A signal's name, for messages.
fn signal_name(signal: i32) -> String {
    let name = match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        6 => "SIGABRT",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}

impl Verification {
    /// Rolls the outcomes up: fail outranks inconclusive, which outranks
    /// warn and pass. Exit codes: 1 on any failure, else 3 when an SLO's
    /// spec proved wrong at run time, else 2 when any SLO is inconclusive,
    /// else 0 (1 for a warn with `strict`).
    pub fn new(window: Window, outcomes: Vec<SloOutcome>, strict: bool) -> Self {
        let verdict = outcomes
            .iter()
            .map(|outcome| outcome.verdict)
            .max()
            .unwrap_or(Verdict::Inconclusive);
        let spec_error = outcomes
            .iter()
            .any(|outcome| outcome.reason.is_some_and(Reason::is_spec_error));
        // A definite failure is the most important fact a gate can report,
        // so it wins even over an SLO whose spec turned out to be wrong.
        let exit_code = match verdict {
            Verdict::Fail => 1,
            _ if spec_error => 3,
            Verdict::Inconclusive => 2,
            Verdict::Warn if strict => 1,
            Verdict::Warn | Verdict::Pass => 0,
        };
        // With --strict a warning blocks the release: the roll-up says so.
        let verdict = if strict && verdict == Verdict::Warn {
            Verdict::Fail
        } else {
            verdict
        };
        Self {
            window,
            outcomes,
            verdict,
            exit_code,
            strict,
            command: None,
            annotation: None,
        }
    }

    /// Records the load test behind the window. A load test that did not
    /// run as planned (see [`CommandRun::doubt`]) leaves a passing verdict
    /// in doubt: the run is at least inconclusive (exit 2), and a failure
    /// stays a failure. `allow_failure` waives a non-zero exit code only.
    pub fn with_command(mut self, mut command: CommandRun, allow_failure: bool) -> Self {
        command.failure_allowed = allow_failure && command.exit_code.is_some_and(|code| code != 0);
        if command.doubts_the_gate() && self.exit_code == 0 {
            self.verdict = Verdict::Inconclusive;
            self.exit_code = 2;
        }
        self.command = Some(command);
        self
    }

    /// How many SLOs block the release as failures (warns too with
    /// `--strict`) and how many are in doubt (plus one for a load test
    /// that did not run as planned), for gates that count.
    pub fn blocking(&self) -> (usize, usize) {
        let failed = self.count(Verdict::Fail)
            + if self.strict {
                self.count(Verdict::Warn)
            } else {
                0
            };
        let doubtful = self.count(Verdict::Inconclusive)
            + usize::from(
                self.command
                    .as_ref()
                    .is_some_and(CommandRun::doubts_the_gate),
            );
        (failed, doubtful)
    }

    /// How many SLOs ended with each verdict.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.outcomes
            .iter()
            .filter(|outcome| outcome.verdict == verdict)
            .count()
    }
}
