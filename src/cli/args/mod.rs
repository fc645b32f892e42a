//! The command line: subcommands, flags, their help, defaults and
//! environment variables. Parsing only; the commands live beside this file.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::report::Format;

mod connection;
mod service;

pub use connection::{AnnotationArgs, GrafanaArgs, PrometheusArgs};
pub use service::{AnnotateArgs, GateCommandArgs, ServeArgs};

const ABOUT: &str = "Release gate: SLO files compiled to PromQL and verified against Prometheus \
                     over the window of a load test";

const LONG_ABOUT: &str = "\
Release gate: SLO files compiled to PromQL and verified against Prometheus over the window of \
a load test.

Exit codes, for every command that gives a verdict:
  0  every selected SLO passed (warn counts as pass unless --strict)
  1  at least one SLO failed
  2  no failure, but at least one SLO is inconclusive (no data, NaN, too few events,
     precondition not met, partial data, query error)
  3  the tool could not run: invalid spec, bad arguments, nothing selected, a window in
     the future; or an SLO's spec proved wrong against the data";

const RUN_EXAMPLES: &str = "\
Examples:
  # Summit's release load test, gated on the SLOs in slos/:
  summit-slo run --expect 10m -- locust -f tests/perf/locustfile.py --headless \\
      -u 400 -r 40 -t 10m --host https://staging.summit.example

  # No Prometheus in the test environment: scrape the service directly:
  summit-slo run --scrape summit-api=http://127.0.0.1:8080/metrics -- ./load-test.sh";

const MAIN_EXAMPLES: &str = "\
Examples:
  summit-slo verify --window 10m
  summit-slo verify --slos slos/summit-api.yaml --end 2026-12-04T10:10:00Z --format json
  summit-slo compile --select 'summit-api/*'
  summit-slo validate";

const VERIFY_EXAMPLES: &str = "\
Examples:
  # Right after a 10-minute load test, against the Prometheus in SUMMIT_SLO_PROMETHEUS_URL:
  summit-slo verify --window 10m

  # On a recording, without any server:
  summit-slo verify --replay fixtures/release-pass.om --end 2026-12-04T10:10:00Z

  # Scrape the service itself for 10 minutes, judge, and keep the samples:
  summit-slo verify --scrape summit-api=http://127.0.0.1:8080/metrics --window 10m \\
      --record load-test.om

  # A past load test, one service, JSON for CI:
  summit-slo verify --start 2026-12-04T10:00:00Z --end 2026-12-04T10:10:00Z \\
      --select 'summit-api/*' --format json --output verdicts.json

  # Everything that is not a clean pass blocks the release:
  summit-slo verify --strict --prometheus http://prometheus.monitoring:9090";

/// summit-slo's command line.
#[derive(Debug, Parser)]
#[command(
    name = "summit-slo",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = MAIN_EXAMPLES,
    propagate_version = true
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Log more on stderr: -v for info, -vv for one line per query.
    ///
    /// SUMMIT_SLO_LOG (tracing's filter syntax, e.g. `summit_slo=debug`)
    /// overrides this. Reports always go to stdout, logs to stderr.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Judge the SLOs over a window against Prometheus; the exit code is
    /// the verdict.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(Box<VerifyArgs>),
    /// Run a load test and judge the SLOs over exactly the time it ran.
    #[command(after_help = RUN_EXAMPLES)]
    Run(Box<RunArgs>),
    /// Print the PromQL each SLO compiles to (or write it to queries/).
    #[command(
        after_help = "Examples:\n  summit-slo compile\n  summit-slo compile --write\n  summit-slo compile --check"
    )]
    Compile(CompileArgs),
    /// Check SLO files (with --preflight, also that their selectors match
    /// series in Prometheus now); exit 0 when valid, 3 when not.
    #[command(
        after_help = "Examples:\n  summit-slo validate\n  summit-slo validate --slos slos/summit-api.yaml\n  summit-slo validate --preflight --prometheus http://prometheus:9090"
    )]
    Validate(Box<ValidateArgs>),
    /// Print Prometheus recording and alerting rules for the SLOs:
    /// burn-rate alerts for error budgets, threshold alerts for the rest.
    #[command(after_help = RULES_EXAMPLES)]
    Rules(RulesArgs),
    /// Post a Grafana annotation: a deploy marker at a moment, or a region.
    #[command(after_help = ANNOTATE_EXAMPLES)]
    Annotate(Box<AnnotateArgs>),
    /// Receive Alertmanager's webhooks and keep the release gate: closed
    /// while a matching alert fires.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(Box<ServeArgs>),
    /// Ask a `serve` receiver whether the release gate is open: exit 0
    /// open, 1 closed, 2 when the receiver cannot say.
    #[command(after_help = GATE_EXAMPLES)]
    Gate(GateCommandArgs),
}

const RULES_EXAMPLES: &str = "Examples:
  # Rules for every SLO, for Prometheus' rule_files:
  summit-slo rules --output /etc/prometheus/rules/summit-slo.rules.yml

  # In CI: fail when the checked-in rules no longer match the SLO files:
  summit-slo rules --check prometheus/summit-slo.rules.yml";

const SERVE_EXAMPLES: &str = "Examples:
  # Keep the gate on this machine; Alertmanager posts to http://127.0.0.1:9465/webhook/alertmanager:
  summit-slo serve --state-dir /var/lib/summit-slo

  # In a cluster: listening beyond loopback needs SUMMIT_SLO_WEBHOOK_TOKEN.
  SUMMIT_SLO_WEBHOOK_TOKEN=$(cat /run/secrets/webhook-token) \\
    summit-slo serve --listen 0.0.0.0:9465 --state-dir /data \\
      --gate-matcher 'severity=~\"critical|page\"' --gate-matcher '{team=\"checkout\"}' \\
      --grafana-url http://grafana:3000 --verify-on-alert";

const GATE_EXAMPLES: &str = "Examples:
  # In a pipeline, before a release starts:
  summit-slo gate --receiver http://summit-slo.monitoring:9465 || exit 1";

const ANNOTATE_EXAMPLES: &str = "Examples:
  # A deploy marker now, on the organisation's annotations:
  summit-slo annotate --grafana-url https://grafana.example --text 'deploy v1.4.2' \\
      --tags deploy,summit-api --release v1.4.2

  # A region on one dashboard:
  summit-slo annotate --text 'load test' --start now-10m --end now --grafana-dashboard abc123";

/// Which SLOs to load and select.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Input")]
pub struct InputArgs {
    /// An SLO file, or a directory searched for *.yaml and *.yml
    /// (repeatable).
    #[arg(
        short = 'f',
        long = "slos",
        value_name = "PATH",
        default_value = "slos/",
        env = "SUMMIT_SLO_SLOS",
        hide_env_values = true
    )]
    pub slos: Vec<PathBuf>,

    /// Only the SLOs matching SERVICE/NAME, where * and ? are wildcards
    /// (repeatable).
    ///
    /// A pattern without '/' matches an SLO name in any service, or a
    /// whole service. Selecting nothing is an error (exit 3): an empty gate
    /// would pass everything.
    #[arg(long, value_name = "SERVICE/NAME")]
    pub select: Vec<String>,
}

/// The evaluation window.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Window")]
pub struct WindowArgs {
    /// Length of the window [default: 10m, or --end minus --start].
    ///
    /// Prometheus duration syntax: 90s, 10m, 1h30m.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub window: Option<String>,

    /// End of the window: RFC 3339, Unix seconds, `now` or `now-15m`
    /// [default: now].
    ///
    /// Every query is evaluated at this instant. An end in the future is
    /// refused (exit 3).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub end: Option<String>,

    /// Start of the window: RFC 3339, Unix seconds, or `now-25m`.
    ///
    /// Alone, the window runs from here until now; with --end, between the
    /// two; with --window, for that long from here.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub start: Option<String>,

    /// Wait until this long after the window's end before querying, so
    /// the last scrapes are stored [default: 2 × scrape interval].
    ///
    /// Only waits when the end is that recent; 0s never waits.
    #[arg(
        long,
        value_name = "DURATION",
        env = "SUMMIT_SLO_SETTLE",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub settle: Option<String>,

    /// The scrape interval of the SLOs' targets [default: asked from the
    /// server's /api/v1/targets].
    ///
    /// A window or sustained range shorter than two intervals holds fewer
    /// than two samples per series; such SLOs are refused (exit 3).
    #[arg(
        long,
        value_name = "DURATION",
        env = "SUMMIT_SLO_SCRAPE_INTERVAL",
        hide_env_values = true
    )]
    pub scrape_interval: Option<String>,
}

/// Where and how the report goes.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "table")]
    pub format: Format,

    /// Write the report to this file instead of stdout; the verdict line
    /// still goes to stderr.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// What counts as passing.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Gate")]
pub struct GateArgs {
    /// Treat warn as a failure (exit 1).
    #[arg(long)]
    pub strict: bool,

    /// Use values computed from partial data; the verdict is labelled
    /// "(partial data)".
    ///
    /// Partial data is a server's warning (e.g. a Thanos store down) or, with
    /// --scrape, samples dropped past --max-samples. By default it makes a
    /// passing SLO inconclusive.
    #[arg(long)]
    pub allow_partial: bool,
}

/// Verifying without a Prometheus.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Without Prometheus")]
pub struct EmbeddedArgs {
    /// Judge the SLOs on a recording instead of asking Prometheus.
    ///
    /// OpenMetrics (ending in `# EOF`, timestamps in seconds) or the
    /// Prometheus text format with millisecond timestamps; gzip is
    /// accepted. Without --start or --end, the window ends at the
    /// recording's last sample. The scrape interval is read from the
    /// samples' spacing. The Prometheus settings are not used.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,

    #[command(flatten)]
    pub scrape: ScrapeArgs,
}

/// `summit-slo verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub embedded: EmbeddedArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub prometheus: PrometheusArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub gate: GateArgs,
    #[command(flatten)]
    pub grafana: GrafanaArgs,
    #[command(flatten)]
    pub annotation: AnnotationArgs,
}

/// When the load test runs and how its window is judged.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Load test")]
pub struct RunWindowArgs {
    /// How long the load test is expected to take.
    ///
    /// The progress line on a terminal shows the time remaining; a command
    /// that ends before nine tenths of it was cut short, and passing SLOs
    /// become inconclusive. The window is always the time the command
    /// actually ran.
    #[arg(long, value_name = "DURATION")]
    pub expect: Option<String>,

    /// Wait this long after the command ends before querying Prometheus,
    /// so the last scrapes are stored [default: 2 × scrape interval].
    #[arg(
        long,
        value_name = "DURATION",
        env = "SUMMIT_SLO_SETTLE",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub settle: Option<String>,

    /// The scrape interval of the SLOs' targets [default: asked from the
    /// server's /api/v1/targets; 15s with --scrape].
    #[arg(
        long,
        value_name = "DURATION",
        env = "SUMMIT_SLO_SCRAPE_INTERVAL",
        hide_env_values = true
    )]
    pub scrape_interval: Option<String>,

    /// Judge the SLOs even when the load test exits with a failure; by
    /// default a failed load test leaves passing SLOs inconclusive (exit 2).
    #[arg(long)]
    pub allow_command_failure: bool,
}

/// `summit-slo run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub window: RunWindowArgs,
    #[command(flatten)]
    pub scrape: ScrapeArgs,
    #[command(flatten)]
    pub prometheus: PrometheusArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub gate: GateArgs,
    #[command(flatten)]
    pub grafana: GrafanaArgs,
    #[command(flatten)]
    pub annotation: AnnotationArgs,

    /// The load test to run, after `--`; its output passes through.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Scraping targets without a Prometheus, shared by `verify` and `run`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Without Prometheus")]
pub struct ScrapeArgs {
    /// Scrape this target instead of asking Prometheus (repeatable):
    /// `JOB=URL` or `URL`.
    ///
    /// Every --scrape-interval (default 15s) each target is fetched, and
    /// its series get the `job` and `instance` labels Prometheus would give
    /// them. `verify` scrapes from now for --window; `run` while the
    /// command runs. A failed scrape is retried at the next tick; an SLO
    /// that could read a target which answered fewer than 90% of its
    /// scrapes does not pass.
    #[arg(long = "scrape", value_name = "[JOB=]URL")]
    pub targets: Vec<String>,

    /// Save what --scrape collected as an OpenMetrics recording, ready for
    /// --replay or `promtool tsdb create-blocks-from openmetrics`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,

    /// The most samples --scrape keeps in memory; later samples are dropped
    /// and the run says so.
    #[arg(long, value_name = "COUNT", default_value_t = 10_000_000)]
    pub max_samples: usize,
}

/// `summit-slo compile`.
#[derive(Debug, Clone, Args)]
pub struct CompileArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Window length the queries cover.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "10m",
        help_heading = "Window"
    )]
    pub window: String,

    /// Refuse windows shorter than two scrape intervals of this length.
    #[arg(
        long,
        value_name = "DURATION",
        help_heading = "Window",
        env = "SUMMIT_SLO_SCRAPE_INTERVAL",
        hide_env_values = true
    )]
    pub scrape_interval: Option<String>,

    /// Write one <service>.promql file per service into DIR instead of
    /// printing.
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "queries",
          help_heading = "Output", conflicts_with = "check")]
    pub write: Option<PathBuf>,

    /// Compare with the files in DIR and exit 1 listing any that are stale.
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "queries",
          help_heading = "Output")]
    pub check: Option<PathBuf>,
}

/// `summit-slo rules`.
#[derive(Debug, Clone, Args)]
pub struct RulesArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// The window a threshold SLO's value is recorded over (gauges,
    /// counters, means, hand-written queries).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "5m",
        help_heading = "Rules"
    )]
    pub threshold_window: String,

    /// How long a threshold SLO's objective must be missed before its alert
    /// fires (an increase SLO, such as dead letters == 0, alerts at once).
    #[arg(
        long = "threshold-for",
        value_name = "DURATION",
        default_value = "5m",
        help_heading = "Rules"
    )]
    pub threshold_for: String,

    /// Write the rules to FILE instead of stdout.
    #[arg(
        short,
        long,
        value_name = "FILE",
        help_heading = "Output",
        conflicts_with = "check"
    )]
    pub output: Option<PathBuf>,

    /// Compare with FILE and exit 1 when it no longer matches the SLO files.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub check: Option<PathBuf>,
}

/// `summit-slo validate`.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Also check that the SLOs compile for a window of this length.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "10m",
        help_heading = "Window"
    )]
    pub window: String,

    /// Refuse windows shorter than two scrape intervals of this length.
    #[arg(
        long,
        value_name = "DURATION",
        help_heading = "Window",
        env = "SUMMIT_SLO_SCRAPE_INTERVAL",
        hide_env_values = true
    )]
    pub scrape_interval: Option<String>,

    /// Also ask Prometheus whether every selector the SLOs read matches a
    /// series now; exit 3 naming each that does not.
    ///
    /// Run it before a load test: a misspelt metric or label would end the
    /// test as no_data. A counter of one outcome (errors, dead letters) that
    /// has not counted yet passes when its metric exists.
    #[arg(long, help_heading = "Preflight")]
    pub preflight: bool,

    #[command(flatten)]
    pub prometheus: PrometheusArgs,
}
