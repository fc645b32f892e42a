//! Grafana annotations: one region per verification (or a marker), keyed by
//! a run id so that a retried pipeline updates its annotation instead of
//! adding another.
//!
//! Speaks Grafana's annotations HTTP API: `GET /api/annotations` filtered
//! by tags to find an earlier annotation of the same run, then
//! `PUT /api/annotations/:id` to update it or `POST /api/annotations` to
//! create one. Connection errors, timeouts, 429 and 5xx are retried with
//! backoff within a deadline; 4xx answers are final, and 401 and 403 say
//! which credential or permission is missing.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use url::Url;

/// Epoch milliseconds below this are taken for seconds (2001-09-09 in ms),
/// and refused.
pub const MIN_MILLISECONDS: i64 = 1_000_000_000_000;
/// Epoch milliseconds above this are taken for microseconds (year 5138),
/// and refused.
pub const MAX_MILLISECONDS: i64 = 100_000_000_000_000;

/// How to reach Grafana and where annotations go.
#[derive(Debug, Clone)]
pub struct GrafanaConfig {
    /// Grafana's base URL (a path prefix such as `/grafana` is kept).
    pub url: Url,
    /// A service account token, sent as `Authorization: Bearer …`.
    pub token: Option<String>,
    /// The organisation, sent as `X-Grafana-Org-Id`.
    pub org: Option<u64>,
    /// The dashboard the annotation belongs to; none for an organisation
    /// annotation, shown wherever its tags are queried.
    pub dashboard_uid: Option<String>,
    /// The panel on that dashboard.
    pub panel_id: Option<u64>,
    /// Time allowed for one request.
    pub timeout: Duration,
    /// Retries after a retryable failure.
    pub retries: u32,
    /// The first backoff; doubled after every retry.
    pub backoff: Duration,
    /// Time allowed for the whole annotation, from the first request.
    pub deadline: Duration,
}

impl GrafanaConfig {
    /// Defaults for a URL: 10 s per request, 3 retries from 500 ms, a 60 s
    /// deadline.
    pub fn new(url: Url) -> Self {
        Self {
            url,
            token: None,
            org: None,
            dashboard_uid: None,
            panel_id: None,
            timeout: Duration::from_secs(10),
            retries: 3,
            backoff: Duration::from_millis(500),
            deadline: Duration::from_secs(60),
        }
    }
}

/// An annotation to write: a point (`time_end` none) or a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// Start, in epoch milliseconds.
    pub time: i64,
    /// End, in epoch milliseconds, for a region.
    pub time_end: Option<i64>,
    /// Tags; `key:value` tags are filterable by key in Grafana.
    pub tags: Vec<String>,
    /// The text shown on hover.
    pub text: String,
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    /// A new annotation with this id.
    Created(u64),
    /// The run's earlier annotation, with this id, was updated.
    Updated(u64),
}

impl Posted {
    /// The annotation's id.
    pub fn id(self) -> u64 {
        match self {
            Self::Created(id) | Self::Updated(id) => id,
        }
    }

    /// `created` or `updated`.
    pub fn action(self) -> &'static str {
        match self {
            Self::Created(_) => "created",
            Self::Updated(_) => "updated",
        }
    }
}

/// Why an annotation was not written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnotateError {
    /// A timestamp is not in epoch milliseconds.
    #[error(
        "{field} {value} is not epoch milliseconds (expected between {MIN_MILLISECONDS} and {MAX_MILLISECONDS}); nothing was sent"
    )]
    BadTime {
        /// `time` or `timeEnd`.
        field: &'static str,
        /// The value.
        value: i64,
    },
    /// The region ends before it starts.
    #[error("the region ends ({end}) before it starts ({start}); nothing was sent")]
    Reversed {
        /// Start, ms.
        start: i64,
        /// End, ms.
        end: i64,
    },
    /// 401: no credentials, or ones Grafana does not accept.
    #[error(
        "Grafana refused the credentials (HTTP 401: {message}); set SUMMIT_SLO_GRAFANA_TOKEN or --grafana-token-file to a service account token"
    )]
    Unauthorized {
        /// Grafana's message.
        message: String,
    },
    /// 403: the credentials lack a permission.
    #[error(
        "Grafana denied {action} (HTTP 403: {message}); the token needs the `{permission}` permission{scope} (the Editor role has it)"
    )]
    Forbidden {
        /// What was being done.
        action: &'static str,
        /// The RBAC action needed.
        permission: &'static str,
        /// Where it is needed.
        scope: String,
        /// Grafana's message.
        message: String,
    },
    /// Any other error status.
    #[error("Grafana answered HTTP {status} to {action}: {message}")]
    Status {
        /// The status.
        status: u16,
        /// What was being done.
        action: &'static str,
        /// Grafana's message, or the body's start.
        message: String,
    },
    /// A success status with a body that is not what the API sends.
    #[error("Grafana's answer to {action} is not the annotations API's JSON: {detail}")]
    Malformed {
        /// What was being done.
        action: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The connection failed or broke.
    #[error("cannot reach Grafana at {url}: {detail}")]
    Transport {
        /// Grafana's URL, without credentials.
        url: String,
        /// The cause.
        detail: String,
    },
    /// One request took longer than the timeout.
    #[error("Grafana did not answer {action} within {timeout}")]
    Timeout {
        /// What was being done.
        action: &'static str,
        /// The timeout.
        timeout: String,
    },
    /// The deadline passed.
    #[error("gave up on Grafana after the deadline of {0}")]
    Deadline(String),
}

impl AnnotateError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            Self::Transport { .. } | Self::Timeout { .. } => true,
            _ => false,
        }
    }
}

/// How a round of writing failed: a create, whose retry must search first,
/// or a search or update, which were already retried on their own.
enum Failed {
    Create(AnnotateError),
    Other(AnnotateError),
}

/// One annotation as Grafana lists it (the fields used here).
#[derive(Debug, Clone, Deserialize)]
struct Found {
    id: u64,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody<'a> {
    #[serde(rename = "dashboardUID", skip_serializing_if = "Option::is_none")]
    dashboard_uid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    panel_id: Option<u64>,
    time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_end: Option<i64>,
    tags: &'a [String],
    text: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UpdateBody<'a> {
    time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_end: Option<i64>,
    tags: &'a [String],
    text: &'a str,
}

#[derive(Debug, Deserialize)]
struct Created {
    id: u64,
}

/// The requests the API is asked, for messages and permissions.
#[derive(Debug, Clone, Copy)]
enum Request {
    Find,
    Create,
    Update,
}

impl Request {
    fn action(self) -> &'static str {
        match self {
            Self::Find => "finding the run's annotation",
            Self::Create => "creating the annotation",
            Self::Update => "updating the annotation",
        }
    }

    fn permission(self) -> &'static str {
        match self {
            Self::Find => "annotations:read",
            Self::Create => "annotations:create",
            Self::Update => "annotations:write",
        }
    }
}

/// A Grafana client for annotations.
#[derive(Debug, Clone)]
pub struct Grafana {
    http: reqwest::Client,
    config: GrafanaConfig,
    basic_auth: Option<(String, String)>,
    /// Grafana's (or a proxy's) answer may echo the request's credentials.
    redactor: crate::http::Redactor,
}

impl Grafana {
    /// A client for the configured Grafana.
    pub fn new(config: GrafanaConfig) -> Result<Self, String> {
        let mut config = config;
        // Credentials move into headers so the URL can be shown anywhere.
        let basic_auth = crate::http::take_credentials(&mut config.url);
        let secrets: Vec<String> = config.token.iter().cloned().collect();
        let redactor = crate::http::Redactor::new(&secrets, basic_auth.as_ref());
        Ok(Self {
            http: crate::http::build_client()?,
            config,
            basic_auth,
            redactor,
        })
    }

    /// Grafana's URL without credentials.
    pub fn url(&self) -> &Url {
        &self.config.url
    }

    /// Writes `annotation` for the run tagged `run_tag`: the run's earlier
    /// annotation (the newest carrying `run_tag` and every tag in
    /// `key_tags`) is updated in place; without one, it is created.
    pub async fn upsert(
        &self,
        annotation: &Annotation,
        key_tags: &[&str],
    ) -> Result<Posted, AnnotateError> {
        check_time("time", annotation.time)?;
        if let Some(end) = annotation.time_end {
            check_time("timeEnd", end)?;
            if end < annotation.time {
                return Err(AnnotateError::Reversed {
                    start: annotation.time,
                    end,
                });
            }
        }
        let deadline = Instant::now() + self.config.deadline;
        // A create is sent once per round: a POST whose answer was lost may
        // have been stored, so before creating again, the next round searches
        // and updates what the lost one made instead of adding a duplicate.
        let mut backoff = self.config.backoff;
        let mut round = 0;
        loop {
            match self.write(annotation, key_tags, deadline).await {
                Err(Failed::Create(error))
                    if error.is_retryable() && round < self.config.retries =>
                {
                    round += 1;
                    pause_before_retry(round, &error, &mut backoff, deadline).await;
                }
                Ok(posted) => return Ok(posted),
                Err(Failed::Create(error) | Failed::Other(error)) => return Err(error),
            }
        }
    }

    /// One round of [`Self::upsert`]: search (retried), then update
    /// (retried: a PUT repeated is the same PUT) or create (sent once).
    async fn write(
        &self,
        annotation: &Annotation,
        key_tags: &[&str],
        deadline: Instant,
    ) -> Result<Posted, Failed> {
        let found = self.find(key_tags, deadline).await.map_err(Failed::Other)?;
        if let Some(id) = found {
            let body = UpdateBody {
                time: annotation.time,
                time_end: annotation.time_end,
                tags: &annotation.tags,
                text: &annotation.text,
            };
            match self
                .send(
                    Request::Update,
                    reqwest::Method::PUT,
                    &format!("annotations/{id}"),
                    Some(serde_json::to_vec(&body).expect("serialisable")),
                    deadline,
                )
                .await
            {
                Ok(_) => return Ok(Posted::Updated(id)),
                // Deleted since it was found: write it anew.
                Err(AnnotateError::Status { status: 404, .. }) => {}
                Err(error) => return Err(Failed::Other(error)),
            }
        }
        let body = CreateBody {
            dashboard_uid: self.config.dashboard_uid.as_deref(),
            panel_id: self.config.panel_id,
            time: annotation.time,
            time_end: annotation.time_end,
            tags: &annotation.tags,
            text: &annotation.text,
        };
        let answer = self
            .exchange_once(
                Request::Create,
                reqwest::Method::POST,
                self.endpoint("annotations"),
                Some(serde_json::to_vec(&body).expect("serialisable")),
                deadline,
            )
            .await
            .map_err(Failed::Create)?;
        let created: Created = serde_json::from_slice(&answer).map_err(|error| {
            Failed::Other(AnnotateError::Malformed {
                action: Request::Create.action(),
                detail: format!("{error}; expected {{\"id\": …, \"message\": …}}"),
            })
        })?;
        Ok(Posted::Created(created.id))
    }

    /// The newest annotation carrying every one of `tags`, if any.
    async fn find(&self, tags: &[&str], deadline: Instant) -> Result<Option<u64>, AnnotateError> {
        let mut parameters: Vec<(&str, String)> =
            tags.iter().map(|tag| ("tags", tag.to_string())).collect();
        parameters.push(("type", "annotation".to_string()));
        parameters.push(("limit", "100".to_string()));
        if let Some(uid) = &self.config.dashboard_uid {
            parameters.push(("dashboardUID", uid.clone()));
        }
        let mut endpoint = self.endpoint("annotations");
        endpoint
            .query_pairs_mut()
            .extend_pairs(parameters.iter().map(|(key, value)| (*key, value.as_str())));
        let body = self
            .exchange(
                Request::Find,
                reqwest::Method::GET,
                endpoint,
                None,
                deadline,
            )
            .await?;
        let found: Vec<Found> =
            serde_json::from_slice(&body).map_err(|error| AnnotateError::Malformed {
                action: Request::Find.action(),
                detail: format!("{error}; expected a list of annotations"),
            })?;
        // The filter is Grafana's; it is checked here as well, so that a
        // server ignoring it can never make another run's annotation ours.
        Ok(found
            .into_iter()
            .filter(|annotation| {
                tags.iter()
                    .all(|tag| annotation.tags.iter().any(|have| have == tag))
            })
            .map(|annotation| annotation.id)
            .max())
    }

    async fn send(
        &self,
        request: Request,
        method: reqwest::Method,
        path: &str,
        body: Option<Vec<u8>>,
        deadline: Instant,
    ) -> Result<Vec<u8>, AnnotateError> {
        self.exchange(request, method, self.endpoint(path), body, deadline)
            .await
    }

    /// One request with retries; the body of the first 2xx answer.
    async fn exchange(
        &self,
        request: Request,
        method: reqwest::Method,
        url: Url,
        body: Option<Vec<u8>>,
        deadline: Instant,
    ) -> Result<Vec<u8>, AnnotateError> {
        let mut backoff = self.config.backoff;
        let mut attempt = 0;
        loop {
            let error = match self
                .exchange_once(request, method.clone(), url.clone(), body.clone(), deadline)
                .await
            {
                Ok(body) => return Ok(body),
                Err(error) => error,
            };
            if !error.is_retryable() || attempt >= self.config.retries {
                return Err(error);
            }
            attempt += 1;
            pause_before_retry(attempt, &error, &mut backoff, deadline).await;
        }
    }

    /// One request, bounded by the per-request timeout and the deadline.
    async fn exchange_once(
        &self,
        request: Request,
        method: reqwest::Method,
        url: Url,
        body: Option<Vec<u8>>,
        deadline: Instant,
    ) -> Result<Vec<u8>, AnnotateError> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(self.deadline_error());
        }
        let timeout = self.config.timeout.min(remaining);
        match tokio::time::timeout(timeout, self.attempt(request, method, url, body)).await {
            Ok(answer) => answer,
            Err(_) if timeout < self.config.timeout => Err(self.deadline_error()),
            Err(_) => Err(AnnotateError::Timeout {
                action: request.action(),
                timeout: crate::time::format_duration(timeout),
            }),
        }
    }

    async fn attempt(
        &self,
        request: Request,
        method: reqwest::Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, AnnotateError> {
        let mut builder = self
            .http
            .request(method, url)
            .header("accept", "application/json");
        if let Some(body) = body {
            builder = builder
                .header("content-type", "application/json")
                .body(body);
        }
        if let Some(org) = self.config.org {
            builder = builder.header("x-grafana-org-id", org.to_string());
        }
        if let Some((user, password)) = &self.basic_auth {
            builder = builder.basic_auth(user, Some(password));
        }
        if let Some(token) = &self.config.token {
            builder = builder.bearer_auth(token);
        }
        let response = builder
            .send()
            .await
            .map_err(|error| self.transport(error))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|error| self.transport(error))?
            .to_vec();
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let message = self.redactor.redact(&error_message(&body));
        Err(match status {
            401 => AnnotateError::Unauthorized { message },
            403 => AnnotateError::Forbidden {
                action: request.action(),
                permission: request.permission(),
                scope: match &self.config.dashboard_uid {
                    Some(uid) => format!(" on dashboard {uid}"),
                    None => " on organisation annotations".to_string(),
                },
                message,
            },
            _ => AnnotateError::Status {
                status,
                action: request.action(),
                message,
            },
        })
    }

    fn endpoint(&self, path: &str) -> Url {
        crate::http::endpoint(&self.config.url, &format!("api/{path}"))
    }

    fn deadline_error(&self) -> AnnotateError {
        AnnotateError::Deadline(crate::time::format_duration(self.config.deadline))
    }

    fn transport(&self, error: reqwest::Error) -> AnnotateError {
        AnnotateError::Transport {
            url: self.config.url.to_string(),
            detail: crate::http::describe_error(error),
        }
    }
}

/// Logs retry number `attempt` after `error` and sleeps `backoff` (no later
/// than the deadline), doubling it for the next time.
async fn pause_before_retry(
    attempt: u32,
    error: &AnnotateError,
    backoff: &mut Duration,
    deadline: Instant,
) {
    tracing::warn!(attempt, error = %error, "retrying Grafana");
    let pause = (*backoff).min(deadline.saturating_duration_since(Instant::now()));
    tokio::time::sleep(pause).await;
    *backoff *= 2;
}

fn check_time(field: &'static str, value: i64) -> Result<(), AnnotateError> {
    if (MIN_MILLISECONDS..=MAX_MILLISECONDS).contains(&value) {
        Ok(())
    } else {
        Err(AnnotateError::BadTime { field, value })
    }
}

/// Grafana's `message` from an error body, or the body's start.
fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Message {
        message: String,
    }
    match serde_json::from_slice::<Message>(body) {
        Ok(parsed) => parsed.message,
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                "(empty body)".to_string()
            } else {
                crate::prometheus::shorten(text, 200)
            }
        }
    }
}

/// At most this many SLOs are listed in an annotation's text.
const MAX_LINES: usize = 30;

/// The region annotation of a verification: over its window, tagged
/// `summit-slo`, `service:` for every service judged, `verdict:`,
/// `release:` when given and `run:<run_id>`, with the roll-up and a line
/// per SLO (worst first) as its text.
pub fn verification_annotation(
    verification: &crate::eval::Verification,
    release: Option<&str>,
    run_id: &str,
) -> Annotation {
    use std::fmt::Write as _;
    let mut services: Vec<&str> = verification
        .outcomes
        .iter()
        .map(|outcome| outcome.slo.service.as_str())
        .collect();
    services.sort_unstable();
    services.dedup();
    let mut tags = vec!["summit-slo".to_string()];
    tags.extend(services.iter().map(|service| format!("service:{service}")));
    tags.push(format!("verdict:{}", verification.verdict.name()));
    tags.extend(release.iter().map(|release| format!("release:{release}")));
    tags.push(format!("run:{run_id}"));

    let mut text = format!(
        "summit-slo: {} ({}), exit {}",
        verification.verdict.name().to_uppercase(),
        crate::report::verdict_counts(verification),
        verification.exit_code
    );
    if let Some(release) = release {
        let _ = write!(text, ", release {release}");
    }
    let mut outcomes: Vec<_> = verification.outcomes.iter().collect();
    outcomes.sort_by_key(|outcome| std::cmp::Reverse(outcome.verdict));
    for outcome in outcomes.iter().take(MAX_LINES) {
        let unit = outcome.slo.indicator.unit();
        let value = match (outcome.value, outcome.reason) {
            (Some(value), _) => unit.format(value),
            (None, Some(reason)) => reason.name().to_string(),
            (None, None) => "no value".to_string(),
        };
        let _ = write!(
            text,
            "\n{} {}: {value} (objective {})",
            outcome.verdict.name(),
            outcome.slo.id(),
            outcome.slo.objective.text
        );
    }
    if outcomes.len() > MAX_LINES {
        let _ = write!(text, "\n… {} more", outcomes.len() - MAX_LINES);
    }
    if let Some(command) = &verification.command {
        let _ = write!(text, "\nload test {}", command.describe());
    }
    Annotation {
        time: verification.window.start.as_millisecond(),
        time_end: Some(verification.window.end.as_millisecond()),
        tags,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_microseconds_are_not_milliseconds() {
        assert!(check_time("time", 1_764_842_400).is_err(), "seconds");
        assert!(check_time("time", 1_764_842_400_000_000).is_err(), "µs");
        assert!(check_time("time", 1_764_842_400_000).is_ok());
    }

    #[test]
    fn error_messages_come_from_grafana_or_the_body() {
        assert_eq!(
            error_message(br#"{"message":"Failed to save annotation","traceID":""}"#),
            "Failed to save annotation"
        );
        assert_eq!(
            error_message(b"<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
        assert_eq!(error_message(b""), "(empty body)");
    }
}
