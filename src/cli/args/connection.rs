//! Flags for reaching the servers summit-slo talks to: Prometheus (and
//! engines that speak its API) and Grafana.

use std::path::PathBuf;

use clap::Args;

/// How to reach the server.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Prometheus")]
pub struct PrometheusArgs {
    /// Base URL of Prometheus (or any engine that speaks its HTTP API).
    ///
    /// A path prefix is kept (http://host/prometheus). Credentials in the
    /// URL are sent as basic auth and never printed.
    #[arg(
        long,
        value_name = "URL",
        env = "SUMMIT_SLO_PROMETHEUS_URL",
        hide_env_values = true,
        default_value = "http://localhost:9090"
    )]
    pub prometheus: String,

    /// A file holding a bearer token for the server.
    ///
    /// Or set SUMMIT_SLO_PROMETHEUS_TOKEN. Tokens are never read from the
    /// command line, where other users could see them.
    #[arg(
        long,
        value_name = "FILE",
        env = "SUMMIT_SLO_PROMETHEUS_TOKEN_FILE",
        hide_env_values = true
    )]
    pub prometheus_token_file: Option<PathBuf>,

    /// A user name for basic auth; the password comes from
    /// SUMMIT_SLO_PROMETHEUS_PASSWORD or --prometheus-password-file.
    #[arg(
        long,
        value_name = "NAME",
        env = "SUMMIT_SLO_PROMETHEUS_USER",
        hide_env_values = true
    )]
    pub prometheus_user: Option<String>,

    /// A file holding the basic-auth password for --prometheus-user.
    ///
    /// Or set SUMMIT_SLO_PROMETHEUS_PASSWORD. Passwords are never read from
    /// the command line.
    #[arg(
        long,
        value_name = "FILE",
        env = "SUMMIT_SLO_PROMETHEUS_PASSWORD_FILE",
        hide_env_values = true
    )]
    pub prometheus_password_file: Option<PathBuf>,

    /// A header sent with every request, as NAME=VALUE (repeatable), e.g.
    /// X-Scope-OrgID=team-a for a Mimir or Cortex tenant.
    ///
    /// In SUMMIT_SLO_PROMETHEUS_HEADERS, one per line. Values are never
    /// printed. Credentials belong in the token or basic-auth settings, so
    /// Authorization is refused here.
    #[arg(
        long = "header",
        value_name = "NAME=VALUE",
        env = "SUMMIT_SLO_PROMETHEUS_HEADERS",
        hide_env_values = true,
        value_delimiter = '\n'
    )]
    pub headers: Vec<String>,

    /// A PEM file of certificate authorities to trust besides the system's.
    #[arg(
        long,
        value_name = "FILE",
        env = "SUMMIT_SLO_PROMETHEUS_CA_FILE",
        hide_env_values = true
    )]
    pub ca_file: Option<PathBuf>,

    /// A PEM client certificate, for servers that require one (with
    /// --client-key).
    #[arg(
        long,
        value_name = "FILE",
        env = "SUMMIT_SLO_PROMETHEUS_CLIENT_CERT",
        hide_env_values = true,
        requires = "client_key"
    )]
    pub client_cert: Option<PathBuf>,

    /// The PEM private key of --client-cert.
    #[arg(
        long,
        value_name = "FILE",
        env = "SUMMIT_SLO_PROMETHEUS_CLIENT_KEY",
        hide_env_values = true,
        requires = "client_cert"
    )]
    pub client_key: Option<PathBuf>,

    /// Accept any server certificate: only for a test server, as it gives
    /// up knowing who answers.
    #[arg(
        long,
        env = "SUMMIT_SLO_PROMETHEUS_INSECURE_SKIP_VERIFY",
        hide_env_values = true
    )]
    pub insecure_skip_verify: bool,

    /// The engine behind the URL, where engines count differently.
    ///
    /// victoria-metrics: MetricsQL counts counters born in the window itself
    /// and does not extrapolate; with the default, such counters would be
    /// counted twice. Thanos, Mimir and Cortex speak Prometheus' PromQL.
    #[arg(
        long,
        value_name = "ENGINE",
        default_value = "prometheus",
        env = "SUMMIT_SLO_ENGINE",
        hide_env_values = true
    )]
    pub engine: crate::compile::Dialect,

    /// Thanos' deduplication of replicas: send dedup=true or dedup=false with
    /// every query [default: not sent, the querier's own default].
    #[arg(
        long,
        value_name = "BOOL",
        env = "SUMMIT_SLO_DEDUP",
        hide_env_values = true
    )]
    pub dedup: Option<bool>,

    /// Time allowed for one query attempt; also sent as the query's timeout.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "30s",
        env = "SUMMIT_SLO_QUERY_TIMEOUT",
        hide_env_values = true
    )]
    pub query_timeout: String,

    /// Time allowed for all queries together; what is unanswered by then is
    /// inconclusive.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "5m",
        env = "SUMMIT_SLO_DEADLINE",
        hide_env_values = true
    )]
    pub deadline: String,

    /// Retries after a connection error, timeout, 429 or 5xx (never after a
    /// 4xx such as bad_data).
    #[arg(
        long,
        value_name = "COUNT",
        default_value_t = 3,
        env = "SUMMIT_SLO_RETRIES",
        hide_env_values = true
    )]
    pub retries: u32,

    /// Queries in flight at once.
    #[arg(long, value_name = "COUNT", default_value_t = 8, env = "SUMMIT_SLO_CONCURRENCY",
        hide_env_values = true,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
}

/// Where the Grafana annotation of a run goes.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Grafana")]
pub struct GrafanaArgs {
    /// The Grafana to write annotations to.
    ///
    /// verify and run write a region over the window, tagged with the
    /// verdict, services, release and run id; annotate writes its --text.
    ///
    /// A path prefix is kept (http://host/grafana). Credentials in the URL
    /// are sent as basic auth and never printed. A failed annotation is a
    /// warning and never changes the verdict (see --require-annotation).
    #[arg(
        long,
        value_name = "URL",
        env = "SUMMIT_SLO_GRAFANA_URL",
        hide_env_values = true
    )]
    pub grafana_url: Option<String>,

    /// A file holding a Grafana service account token.
    ///
    /// Or set SUMMIT_SLO_GRAFANA_TOKEN. Tokens are never read from the
    /// command line, and never printed.
    #[arg(
        long,
        value_name = "FILE",
        env = "SUMMIT_SLO_GRAFANA_TOKEN_FILE",
        hide_env_values = true
    )]
    pub grafana_token_file: Option<PathBuf>,

    /// Put the annotation on this dashboard (by UID) instead of the
    /// organisation's annotations, which any dashboard can show by tag.
    #[arg(
        long,
        value_name = "UID",
        env = "SUMMIT_SLO_GRAFANA_DASHBOARD",
        hide_env_values = true
    )]
    pub grafana_dashboard: Option<String>,

    /// Put the annotation on this panel of --grafana-dashboard.
    #[arg(
        long,
        value_name = "ID",
        env = "SUMMIT_SLO_GRAFANA_PANEL",
        hide_env_values = true,
        requires = "grafana_dashboard"
    )]
    pub grafana_panel: Option<u64>,

    /// The Grafana organisation (sent as X-Grafana-Org-Id) [default: the
    /// token's].
    #[arg(
        long,
        value_name = "ID",
        env = "SUMMIT_SLO_GRAFANA_ORG",
        hide_env_values = true
    )]
    pub grafana_org: Option<u64>,

    /// Time allowed for one request to Grafana; failures are retried until
    /// --grafana-deadline.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "10s",
        env = "SUMMIT_SLO_GRAFANA_TIMEOUT",
        hide_env_values = true
    )]
    pub grafana_timeout: String,

    /// Time allowed for the whole annotation, retries included.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "60s",
        env = "SUMMIT_SLO_GRAFANA_DEADLINE",
        hide_env_values = true
    )]
    pub grafana_deadline: String,
}

/// How a verification's annotation is tagged and whether it must be written.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Grafana")]
pub struct AnnotationArgs {
    /// The release being gated, tagged `release:VERSION` on the annotation.
    #[arg(
        long,
        value_name = "VERSION",
        env = "SUMMIT_SLO_RELEASE",
        hide_env_values = true
    )]
    pub release: Option<String>,

    /// The run's id, tagged `run:ID`: a run id that already has an
    /// annotation gets it updated instead of a second one.
    ///
    /// Default: from the CI system (GitHub Actions' run id and attempt,
    /// GitLab's job id, Jenkins' build tag, CircleCI's job id) plus a hash
    /// of what is annotated, so a retried step updates its annotation while
    /// two gates in one job keep theirs; outside CI, a fresh id.
    #[arg(
        long,
        value_name = "ID",
        env = "SUMMIT_SLO_RUN_ID",
        hide_env_values = true
    )]
    pub run_id: Option<String>,

    /// Exit 3 when the annotation cannot be written; by default that is a
    /// warning and the exit code is the verdict's.
    #[arg(long)]
    pub require_annotation: bool,
}
