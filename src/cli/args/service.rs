//! Flags of the commands that are not verifications: `annotate`, `serve`
//! and `gate`.

use std::path::PathBuf;

use clap::Args;

use super::{AnnotationArgs, GrafanaArgs, InputArgs, PrometheusArgs};

/// `summit-slo annotate`.
#[derive(Debug, Clone, Args)]
pub struct AnnotateArgs {
    /// The annotation's text.
    #[arg(long, value_name = "TEXT")]
    pub text: String,

    /// Tags, comma-separated or repeated; `summit-slo` is always added.
    #[arg(long, value_name = "TAG", value_delimiter = ',')]
    pub tags: Vec<String>,

    /// Where the annotation starts: RFC 3339, Unix seconds, `now` or
    /// `now-15m` [default: now]. With --end, a region.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub start: Option<String>,

    /// Where a region ends (same forms as --start).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub end: Option<String>,

    #[command(flatten)]
    pub grafana: GrafanaArgs,
    #[command(flatten)]
    pub annotation: AnnotationArgs,
}

/// `summit-slo serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Where to listen. Beyond loopback, SUMMIT_SLO_WEBHOOK_TOKEN (or
    /// --webhook-token-file) must be set.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:9465",
        env = "SUMMIT_SLO_LISTEN",
        hide_env_values = true
    )]
    pub listen: String,

    /// Where the journal and snapshot of received alerts live; survives
    /// restarts and crashes. One receiver per directory.
    #[arg(
        long,
        value_name = "DIR",
        env = "SUMMIT_SLO_STATE_DIR",
        hide_env_values = true
    )]
    pub state_dir: PathBuf,

    /// Close the gate while a firing alert matches these Alertmanager
    /// matchers (repeatable: any one closes it).
    #[arg(
        long,
        value_name = "MATCHERS",
        default_value = r#"severity=~"critical|page""#
    )]
    pub gate_matcher: Vec<String>,

    /// A file holding the bearer token webhooks must carry.
    ///
    /// Or set SUMMIT_SLO_WEBHOOK_TOKEN. Without one the receiver accepts
    /// any webhook, so it refuses to listen beyond loopback.
    #[arg(
        long,
        value_name = "FILE",
        env = "SUMMIT_SLO_WEBHOOK_TOKEN_FILE",
        hide_env_values = true
    )]
    pub webhook_token_file: Option<PathBuf>,

    /// The largest webhook body accepted (bytes, or with KiB/MiB); larger
    /// ones get 413.
    #[arg(long, value_name = "SIZE", default_value = "1MiB")]
    pub max_body: String,

    /// How long resolved alerts are kept in the state for the record.
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    pub retention: String,

    /// When a firing alert has an `slo` label naming a loaded SLO
    /// (service/name), verify that SLO over --window ending now and
    /// annotate the result.
    #[arg(long)]
    pub verify_on_alert: bool,

    /// The window --verify-on-alert judges.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub window: String,

    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub prometheus: PrometheusArgs,
    #[command(flatten)]
    pub grafana: GrafanaArgs,
}

/// `summit-slo gate`.
#[derive(Debug, Clone, Args)]
pub struct GateCommandArgs {
    /// The receiver's base URL.
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://127.0.0.1:9465",
        env = "SUMMIT_SLO_RECEIVER_URL",
        hide_env_values = true
    )]
    pub receiver: String,

    /// Time allowed for the answer.
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub timeout: String,

    /// `table` for people, `json` for the receiver's whole answer.
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
}
