//! `summit-slo serve`: an Alertmanager webhook receiver that keeps the set
//! of firing alerts, durably, and answers pipelines asking whether a
//! release may start.
//!
//! A notification is acknowledged (2xx) only once it is in the journal on
//! disk, so a crash never loses one Alertmanager believes delivered; a
//! notification that cannot be stored gets a 503 and Alertmanager retries
//! it. Grafana annotations and verifications started by alerts run in the
//! background and never delay the acknowledgement.

pub mod gate;
pub mod journal;
pub mod metrics;
pub mod payload;
pub mod state;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State as Extract;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use serde_json::json;
use tokio::sync::mpsc;

use self::gate::{GateMatcher, GateView};
use self::journal::Journal;
use self::metrics::{Metrics, Outcome};
use self::payload::{Alert, Status};
use self::state::{State, Transition};
use crate::grafana::{Annotation, Grafana};
use crate::spec::Slo;

/// The journal is folded into a snapshot after this many notifications.
const COMPACT_EVERY: usize = 1_000;

/// How the receiver runs.
pub struct ServeConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Where the journal and snapshot live.
    pub state_dir: PathBuf,
    /// The bearer token webhooks must carry, when set.
    pub token: Option<String>,
    /// The largest webhook body accepted.
    pub max_body: usize,
    /// What closes the gate.
    pub matchers: Vec<GateMatcher>,
    /// Where to annotate firing and resolved alerts.
    pub grafana: Option<Grafana>,
    /// How long resolved alerts are kept for the record.
    pub retention: Duration,
    /// Verifies SLOs named by alerts' `slo` label.
    pub verifier: Option<AlertVerifier>,
}

/// Verification of the SLO an alert names.
pub struct AlertVerifier {
    /// The SLOs that can be named.
    pub slos: Vec<Slo>,
    /// Where to query; a client (and its deadline) is made per
    /// verification, as the receiver runs far longer than any deadline.
    pub client: crate::prometheus::ClientConfig,
    /// The window ending at the alert's arrival.
    pub window: Duration,
    /// What is known of scrape intervals.
    pub scrape_intervals: crate::eval::ScrapeIntervals,
}

/// What happened to the SLO an alert named.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AlertVerification {
    /// `service/name`.
    pub slo: String,
    /// The verdict, or `error`.
    pub verdict: String,
    /// One sentence.
    pub message: String,
    /// The window judged.
    pub window: String,
}

struct Core {
    state: State,
    journal: Journal,
}

struct Shared {
    core: Mutex<Core>,
    metrics: Arc<Metrics>,
    token: Option<String>,
    max_body: usize,
    matchers: Vec<GateMatcher>,
    retention: Duration,
    events: Option<mpsc::UnboundedSender<Event>>,
    verifications: Arc<Mutex<BTreeMap<String, AlertVerification>>>,
}

/// Work for the background: an annotation, or a verification.
enum Event {
    Transition(Transition, Alert),
}

/// Opens the state and serves until `shutdown` resolves; returns what it
/// recovered at start, for the log.
pub async fn serve(
    config: ServeConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let (journal, state, recovered) = Journal::open(&config.state_dir)?;
    tracing::info!(
        state_dir = %config.state_dir.display(),
        replayed = recovered.replayed,
        torn_tail_cut = recovered.torn,
        firing = state.firing().count(),
        "state recovered"
    );
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", config.listen))?;
    let (events, worker) = if config.grafana.is_some() || config.verifier.is_some() {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Some(sender), Some(receiver))
    } else {
        (None, None)
    };
    let metrics = Arc::new(Metrics::default());
    let verifications = Arc::new(Mutex::new(BTreeMap::new()));
    let shared = Arc::new(Shared {
        core: Mutex::new(Core { state, journal }),
        metrics: metrics.clone(),
        token: config.token,
        max_body: config.max_body,
        matchers: config.matchers,
        retention: config.retention,
        events,
        verifications: verifications.clone(),
    });
    // The background holds no handle on the shared state, so once the
    // server (and with it the queue's sender) is gone, it drains the queue
    // and ends.
    let background = worker.map(|receiver| {
        tokio::spawn(background(
            receiver,
            metrics,
            verifications,
            config.grafana,
            config.verifier,
        ))
    });
    let app = Router::new()
        .route("/webhook/alertmanager", post(webhook))
        .route("/api/v1/gate", get(gate))
        .route("/metrics", get(metrics_endpoint))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .with_state(shared.clone());
    let address = listener
        .local_addr()
        .map_err(|error| format!("cannot read the listening address: {error}"))?;
    tracing::info!(%address, "listening");
    eprintln!("summit-slo serve: listening on http://{address}");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|error| format!("the server failed: {error}"))?;
    // Annotations already queued get a moment to finish.
    drop(shared);
    if let Some(background) = background {
        let _ = tokio::time::timeout(Duration::from_secs(10), background).await;
    }
    tracing::info!("stopped");
    Ok(())
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

/// Compares two tokens in time that does not depend on where they differ.
fn same_token(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

async fn webhook(
    Extract(shared): Extract<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let (outcome, response) = receive(&shared, &headers, body).await;
    shared.metrics.webhook(outcome);
    shared.metrics.observe("webhook", started.elapsed());
    response
}

async fn receive(shared: &Arc<Shared>, headers: &HeaderMap, body: Body) -> (Outcome, Response) {
    if let Some(token) = &shared.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        if !given.is_some_and(|given| same_token(given, token)) {
            tracing::warn!(
                event = "webhook",
                outcome = "unauthorized",
                "webhook without the right bearer token"
            );
            return (
                Outcome::Unauthorized,
                error(
                    StatusCode::UNAUTHORIZED,
                    "a bearer token is required (Authorization: Bearer …, http_config.authorization in Alertmanager)",
                ),
            );
        }
    }
    let limited = http_body_util::Limited::new(body, shared.max_body);
    let bytes = match limited.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(problem) if problem.is::<http_body_util::LengthLimitError>() => {
            tracing::warn!(
                event = "webhook",
                outcome = "too_large",
                limit = shared.max_body,
                "webhook body over the limit"
            );
            return (
                Outcome::TooLarge,
                error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the body is over {} bytes (--max-body); lower max_alerts in Alertmanager or raise the limit",
                        shared.max_body
                    ),
                ),
            );
        }
        Err(problem) => {
            return (
                Outcome::Malformed,
                error(
                    StatusCode::BAD_REQUEST,
                    format!("the body could not be read: {problem}"),
                ),
            );
        }
    };
    let notification = match payload::parse(&bytes) {
        Ok(notification) => notification,
        Err(problem) => {
            tracing::warn!(event = "webhook", outcome = "malformed", field = %problem.field, problem = %problem.problem, "malformed webhook");
            return (
                Outcome::Malformed,
                (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({
                        "error": problem.to_string(),
                        "field": problem.field,
                    })),
                )
                    .into_response(),
            );
        }
    };
    let received_at = crate::time::now();
    let stored = {
        let shared = shared.clone();
        let notification = notification.clone();
        tokio::task::spawn_blocking(move || {
            let mut core = shared.core.lock().expect("not poisoned");
            core.journal.record(&notification, received_at)?;
            let applied = core.state.apply(&notification, received_at);
            if core.journal.records >= COMPACT_EVERY {
                let retention = jiff::SignedDuration::try_from(shared.retention)
                    .ok()
                    .and_then(|retention| received_at.checked_sub(retention).ok());
                if let Some(before) = retention {
                    core.state.prune(before);
                }
                let Core { state, journal } = &mut *core;
                if let Err(problem) = journal.compact(state) {
                    tracing::warn!(%problem, "cannot compact the journal; it keeps growing until a compaction succeeds");
                }
            }
            Ok::<_, std::io::Error>((applied, core.state.firing().count()))
        })
        .await
    };
    let (applied, firing) = match stored {
        Ok(Ok(done)) => done,
        Ok(Err(problem)) => {
            tracing::error!(%problem, "cannot store a notification; answering 503 so Alertmanager retries");
            return (
                Outcome::Failed,
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("the notification could not be stored ({problem}); retry"),
                ),
            );
        }
        Err(problem) => {
            return (
                Outcome::Failed,
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("the notification could not be stored ({problem}); retry"),
                ),
            );
        }
    };
    if notification.truncated_alerts > 0 {
        shared.metrics.truncated(notification.truncated_alerts);
        tracing::warn!(
            group_key = %notification.group_key,
            truncated_alerts = notification.truncated_alerts,
            "a notification left alerts out; their state is unknown and the gate stays closed until a complete one"
        );
    }
    if let Some(events) = &shared.events {
        for (transition, alert) in &applied.transitions {
            let _ = events.send(Event::Transition(*transition, alert.clone()));
        }
    }
    let outcome = if applied.duplicate {
        Outcome::Duplicate
    } else {
        Outcome::Accepted
    };
    tracing::info!(
        event = "webhook",
        outcome = if applied.duplicate { "duplicate" } else { "accepted" },
        group_key = %notification.group_key,
        alerts = notification.alerts.len(),
        transitions = applied.transitions.len(),
        firing,
        "webhook"
    );
    (
        outcome,
        (
            StatusCode::OK,
            axum::Json(json!({
                "status": "accepted",
                "duplicate": applied.duplicate,
                "firing": firing,
            })),
        )
            .into_response(),
    )
}

/// The gate's answer now.
fn view(shared: &Shared) -> GateView {
    let core = shared.core.lock().expect("not poisoned");
    gate::evaluate(&core.state, &shared.matchers, crate::time::now())
}

async fn gate(Extract(shared): Extract<Arc<Shared>>) -> Response {
    let started = Instant::now();
    let view = view(&shared);
    let verifications: Vec<AlertVerification> = shared
        .verifications
        .lock()
        .expect("not poisoned")
        .values()
        .cloned()
        .collect();
    let mut body = serde_json::to_value(&view).expect("serialisable");
    body["verifications"] = serde_json::to_value(verifications).expect("serialisable");
    shared.metrics.observe("gate", started.elapsed());
    (StatusCode::OK, axum::Json(body)).into_response()
}

async fn metrics_endpoint(Extract(shared): Extract<Arc<Shared>>) -> Response {
    let view = view(&shared);
    let text = shared
        .metrics
        .render(view.firing, view.open, view.unknown.len());
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        text,
    )
        .into_response()
}

async fn healthz() -> Response {
    (StatusCode::OK, "ok\n").into_response()
}

/// Ready when the state is loaded (it is, once the server listens) and
/// its lock is held.
async fn readyz(Extract(shared): Extract<Arc<Shared>>) -> Response {
    match shared.core.try_lock() {
        Ok(_) | Err(std::sync::TryLockError::WouldBlock) => {
            (StatusCode::OK, "ready\n").into_response()
        }
        Err(std::sync::TryLockError::Poisoned(_)) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the state is unusable after a crash in a handler",
        ),
    }
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such endpoint: POST /webhook/alertmanager, GET /api/v1/gate, /metrics, /healthz, /readyz",
    )
}

/// Annotations and verifications, one at a time, off the request path.
async fn background(
    mut events: mpsc::UnboundedReceiver<Event>,
    metrics: Arc<Metrics>,
    verifications: Arc<Mutex<BTreeMap<String, AlertVerification>>>,
    grafana: Option<Grafana>,
    verifier: Option<AlertVerifier>,
) {
    let mut written: HashSet<(String, Status)> = HashSet::new();
    while let Some(event) = events.recv().await {
        let Event::Transition(transition, alert) = event;
        if let Some(grafana) = &grafana {
            let run_id = format!(
                "alert-{}-{}",
                alert.fingerprint,
                alert.starts_at.as_millisecond()
            );
            if written.insert((run_id.clone(), alert.status)) {
                let annotation = alert_annotation(&alert, &run_id);
                let run_tag = format!("run:{run_id}");
                match grafana.upsert(&annotation, &["summit-slo", &run_tag]).await {
                    Ok(posted) => {
                        metrics.annotation(true);
                        tracing::info!(id = posted.id(), action = posted.action(), %run_tag, "annotated an alert");
                    }
                    Err(problem) => {
                        metrics.annotation(false);
                        written.remove(&(run_id, alert.status));
                        tracing::warn!(%problem, "cannot annotate an alert in Grafana");
                    }
                }
            }
        }
        if let (Some(verifier), Transition::Fired) = (&verifier, transition)
            && let Some(named) = alert.labels.get("slo")
        {
            let result = verify_named(verifier, named).await;
            metrics.verification();
            if let (Some(grafana), Some(verification)) = (&grafana, &result.1) {
                let run_id = format!(
                    "alert-verify-{}-{}",
                    alert.fingerprint,
                    alert.starts_at.as_millisecond()
                );
                let annotation =
                    crate::grafana::verification_annotation(verification, None, &run_id);
                let run_tag = format!("run:{run_id}");
                let written = grafana.upsert(&annotation, &["summit-slo", &run_tag]).await;
                metrics.annotation(written.is_ok());
                if let Err(problem) = written {
                    tracing::warn!(%problem, "cannot annotate a verification in Grafana");
                }
            }
            verifications
                .lock()
                .expect("not poisoned")
                .insert(result.0.slo.clone(), result.0);
        }
    }
}

/// The annotation of an alert: a point while it fires, a region from its
/// start to its end once resolved (the same annotation, updated).
fn alert_annotation(alert: &Alert, run_id: &str) -> Annotation {
    let name = alert
        .labels
        .get("alertname")
        .map_or("alert", String::as_str);
    let mut tags = vec![
        "summit-slo".to_string(),
        "alert".to_string(),
        format!("alertname:{name}"),
        format!("status:{}", alert.status.name()),
    ];
    if let Some(severity) = alert.labels.get("severity") {
        tags.push(format!("severity:{severity}"));
    }
    tags.push(format!("run:{run_id}"));
    let summary = alert
        .annotations
        .get("summary")
        .or_else(|| alert.annotations.get("description"))
        .map(|summary| format!(": {summary}"))
        .unwrap_or_default();
    let labels: Vec<String> = alert
        .labels
        .iter()
        .map(|(label, value)| format!("{label}={value:?}"))
        .collect();
    Annotation {
        time: alert.starts_at.as_millisecond(),
        time_end: alert.ends_at.map(|ends| ends.as_millisecond()),
        tags,
        text: format!(
            "{name} {}{summary}\n{{{}}}",
            alert.status.name(),
            labels.join(", ")
        ),
    }
}

/// Verifies the SLO an alert's `slo` label names (`service/name`, or a
/// name unique among the SLOs) over the window ending now.
async fn verify_named(
    verifier: &AlertVerifier,
    named: &str,
) -> (AlertVerification, Option<crate::eval::Verification>) {
    let matching: Vec<&Slo> = verifier
        .slos
        .iter()
        .filter(|slo| slo.id() == named || slo.name == named)
        .collect();
    let now = crate::time::now();
    let start = jiff::SignedDuration::try_from(verifier.window)
        .ok()
        .and_then(|window| now.checked_sub(window).ok())
        .unwrap_or(now);
    let window = crate::window::Window { start, end: now };
    let summary = |verdict: &str, message: String| AlertVerification {
        slo: named.to_string(),
        verdict: verdict.to_string(),
        message,
        window: window.describe(),
    };
    let slo = match matching.as_slice() {
        [slo] => (*slo).clone(),
        [] => {
            tracing::warn!(slo = named, "an alert names an SLO that is not loaded");
            return (
                summary("error", format!("no loaded SLO is named {named:?}")),
                None,
            );
        }
        _ => {
            return (
                summary(
                    "error",
                    format!("{named:?} names several SLOs; use service/name"),
                ),
                None,
            );
        }
    };
    let options = crate::eval::VerifyOptions {
        window,
        allow_partial: false,
        strict: false,
        scrape_intervals: verifier.scrape_intervals.clone(),
        trend: false,
    };
    let client = match crate::prometheus::Client::new(verifier.client.clone()) {
        Ok(client) => client,
        Err(problem) => return (summary("error", problem), None),
    };
    let source = crate::eval::Source::Prometheus(client);
    match crate::eval::verify(std::slice::from_ref(&slo), &source, &options).await {
        Ok(verification) => {
            let outcome = &verification.outcomes[0];
            tracing::info!(slo = %slo.id(), verdict = verification.verdict.name(), "verified an SLO named by an alert");
            (
                summary(verification.verdict.name(), outcome.message()),
                Some(verification),
            )
        }
        Err(problem) => (summary("error", problem.to_string()), None),
    }
}
