//! A client for the Prometheus HTTP API (and engines that speak it).
//!
//! Queries are form-encoded POSTs, so long PromQL never meets a URL length
//! limit. Concurrency is bounded by a semaphore; each attempt has its own
//! timeout and the whole verification has a deadline. Connection errors,
//! timeouts, 429 and 5xx answers are retried a bounded number of times with
//! exponential backoff; 4xx answers (`bad_data`, `execution`) are final
//! because repeating them cannot help.

mod response;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;
use url::Url;

pub use response::{
    Answer, Labels, QueryResult, ResultData, Sample, Series, decode_query, parse_bucket_bound,
};

use crate::time::{api_time, promql_duration};

/// How the client talks to the server.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The server's base URL (a path prefix such as `/prometheus` is kept).
    pub url: Url,
    /// A bearer token, sent as `Authorization: Bearer …`.
    pub bearer_token: Option<String>,
    /// Per-attempt timeout, also sent as the query's `timeout` parameter.
    pub query_timeout: Duration,
    /// Retries after the first attempt, for retryable failures only.
    pub retries: u32,
    /// The first backoff; doubled after every retry.
    pub backoff: Duration,
    /// Queries in flight at once.
    pub concurrency: usize,
    /// Time allowed for everything, from the client's creation.
    pub deadline: Option<Duration>,
    /// The largest response body accepted.
    pub max_body_bytes: usize,
    /// Basic auth (user, password), besides credentials in the URL.
    pub basic_auth: Option<(String, String)>,
    /// Headers sent with every request (`X-Scope-OrgID` for Mimir and
    /// Cortex tenants); their values are never shown.
    pub headers: Vec<(String, String)>,
    /// TLS trust and the client certificate.
    pub tls: crate::http::TlsSettings,
    /// Thanos' `dedup` parameter, sent with every query when set.
    pub dedup: Option<bool>,
    /// How the server's PromQL counts, where engines differ.
    pub dialect: crate::compile::Dialect,
}

impl ClientConfig {
    /// Defaults for a URL: 30 s per query, 3 retries from 250 ms, 8 at once,
    /// a 5 minute deadline, 64 MiB bodies.
    pub fn new(url: Url) -> Self {
        Self {
            url,
            bearer_token: None,
            query_timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(250),
            concurrency: 8,
            deadline: Some(Duration::from_secs(300)),
            max_body_bytes: 64 << 20,
            basic_auth: None,
            headers: Vec::new(),
            tls: crate::http::TlsSettings::default(),
            dedup: None,
            dialect: crate::compile::Dialect::Prometheus,
        }
    }
}

/// Why a query has no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The server answered with `status: error`.
    #[error("{error_type}: {message} (HTTP {status})")]
    Api {
        /// The HTTP status.
        status: u16,
        /// `errorType`.
        error_type: String,
        /// `error`.
        message: String,
    },
    /// The server (or a proxy) answered with something that is not the
    /// API's JSON.
    #[error("HTTP {status}: {detail}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// What was wrong with the body.
        detail: String,
    },
    /// The connection failed or broke.
    #[error("cannot reach {url}: {detail}")]
    Transport {
        /// The server (without credentials).
        url: String,
        /// The cause.
        detail: String,
    },
    /// The server's TLS certificate did not verify.
    #[error(
        "cannot trust {url}: {detail}; give its certificate authority with --ca-file \
         (or, for a test server only, --insecure-skip-verify)"
    )]
    Certificate {
        /// The server (without credentials).
        url: String,
        /// The cause.
        detail: String,
    },
    /// The connection broke while the answer was being read.
    #[error("the answer from {url} was cut off: {detail}")]
    Interrupted {
        /// The server (without credentials).
        url: String,
        /// The cause.
        detail: String,
    },
    /// One attempt took longer than the per-query timeout.
    #[error("no answer within {0}")]
    Timeout(String),
    /// The verification's overall deadline passed.
    #[error("the overall deadline of {0} passed")]
    Deadline(String),
    /// The embedded engine cannot evaluate the query.
    #[error("the embedded engine cannot run this query: {0}; verify this SLO against Prometheus")]
    Unsupported(String),
    /// The body was larger than allowed.
    #[error("the response is larger than {0} bytes")]
    TooLarge(usize),
}

impl QueryError {
    /// The error with `redactor`'s secrets removed from its text.
    pub fn redacted(self, redactor: &crate::http::Redactor) -> Self {
        let clean = |text: String| redactor.redact(&text);
        match self {
            Self::Api {
                status,
                error_type,
                message,
            } => Self::Api {
                status,
                error_type: clean(error_type),
                message: clean(message),
            },
            Self::Http { status, detail } => Self::Http {
                status,
                detail: clean(detail),
            },
            Self::Transport { url, detail } => Self::Transport {
                url,
                detail: clean(detail),
            },
            Self::Interrupted { url, detail } => Self::Interrupted {
                url,
                detail: clean(detail),
            },
            Self::Certificate { url, detail } => Self::Certificate {
                url,
                detail: clean(detail),
            },
            other => other,
        }
    }

    /// True when repeating the request may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api { status, .. } | Self::Http { status, .. } => {
                *status == 429 || *status >= 500
            }
            Self::Transport { .. } | Self::Interrupted { .. } | Self::Timeout(_) => true,
            Self::Deadline(_)
            | Self::TooLarge(_)
            | Self::Unsupported(_)
            | Self::Certificate { .. } => false,
        }
    }
}

/// The client. Cheap to clone; clones share the concurrency limit and the
/// deadline.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    config: Arc<ClientConfig>,
    permits: Arc<Semaphore>,
    deadline: Option<Instant>,
    basic_auth: Option<(String, String)>,
    redactor: Arc<crate::http::Redactor>,
}

impl Client {
    /// A client for the configured server; the deadline starts now.
    pub fn new(config: ClientConfig) -> Result<Self, String> {
        let mut config = config;
        // Credentials move into headers so the URL can be shown anywhere.
        let in_url = crate::http::take_credentials(&mut config.url);
        if in_url.is_some() && config.basic_auth.is_some() {
            return Err("the URL has user:password and basic auth is set as well; give one".into());
        }
        let basic_auth = in_url.or_else(|| config.basic_auth.clone());
        let secrets: Vec<String> = config
            .bearer_token
            .iter()
            .cloned()
            .chain(config.headers.iter().map(|(_, value)| value.clone()))
            .collect();
        let redactor = crate::http::Redactor::new(&secrets, basic_auth.as_ref());
        Ok(Self {
            http: crate::http::build_client_with(&config.tls)?,
            redactor: Arc::new(redactor),
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            deadline: config.deadline.map(|deadline| Instant::now() + deadline),
            config: Arc::new(config),
            basic_auth,
        })
    }

    /// How the server's PromQL counts.
    pub fn dialect(&self) -> crate::compile::Dialect {
        self.config.dialect
    }

    /// The server's URL without credentials.
    pub fn url(&self) -> &Url {
        &self.config.url
    }

    /// Evaluates `query` at `time`.
    pub async fn query(
        &self,
        query: &str,
        time: jiff::Timestamp,
    ) -> Result<QueryResult, QueryError> {
        let mut form = vec![
            ("query", query.to_string()),
            ("time", api_time(time)),
            ("timeout", promql_duration(self.config.query_timeout)),
            // Thanos and compatible queriers fail instead of answering from
            // part of the data; Prometheus ignores the parameter.
            ("partial_response", "false".to_string()),
        ];
        self.add_dedup(&mut form);
        self.run_query("query", query, &form).await
    }

    fn add_dedup(&self, form: &mut Vec<(&str, String)>) {
        if let Some(dedup) = self.config.dedup {
            form.push(("dedup", dedup.to_string()));
        }
    }

    /// Evaluates `query` at every `step` from `start` to `end`.
    pub async fn query_range(
        &self,
        query: &str,
        start: jiff::Timestamp,
        end: jiff::Timestamp,
        step: Duration,
    ) -> Result<QueryResult, QueryError> {
        let mut form = vec![
            ("query", query.to_string()),
            ("start", api_time(start)),
            ("end", api_time(end)),
            ("step", promql_duration(step)),
            ("timeout", promql_duration(self.config.query_timeout)),
            ("partial_response", "false".to_string()),
        ];
        self.add_dedup(&mut form);
        self.run_query("query_range", query, &form).await
    }

    /// The values a label takes on the series matching `selector` within a
    /// time range (`/api/v1/label/NAME/values`).
    pub async fn label_values(
        &self,
        label: &str,
        selector: &str,
        start: jiff::Timestamp,
        end: jiff::Timestamp,
    ) -> Result<Vec<String>, QueryError> {
        let query = [
            ("match[]", selector.to_string()),
            ("start", api_time(start)),
            ("end", api_time(end)),
        ];
        let body = self
            .send(&format!("label/{label}/values"), &query, false)
            .await?;
        let (data, _, _) = response::decode_envelope(&body.1)
            .map_err(|answer| answer_error(body.0, answer).redacted(&self.redactor))?;
        serde_json::from_value(data).map_err(|error| QueryError::Http {
            status: body.0,
            detail: format!("label values are not a list of strings ({error})"),
        })
    }

    /// The active targets' labels and scrape intervals, as the server
    /// reports them (`/api/v1/targets`); empty when it has none.
    pub async fn scrape_targets(&self) -> Result<Vec<(Labels, Duration)>, QueryError> {
        let body = self
            .send("targets", &[("state", "active".to_string())], false)
            .await?;
        let (data, _, _) = response::decode_envelope(&body.1)
            .map_err(|answer| answer_error(body.0, answer).redacted(&self.redactor))?;
        let targets = data
            .get("activeTargets")
            .and_then(|targets| targets.as_array())
            .into_iter()
            .flatten()
            .filter_map(|target| {
                let interval = target.get("scrapeInterval")?.as_str()?;
                let interval = crate::time::parse_duration(interval).ok()?;
                let labels: Labels = serde_json::from_value(target.get("labels")?.clone()).ok()?;
                Some((labels, interval))
            })
            .collect();
        Ok(targets)
    }

    async fn run_query(
        &self,
        endpoint: &str,
        query: &str,
        form: &[(&str, String)],
    ) -> Result<QueryResult, QueryError> {
        let started = std::time::Instant::now();
        let (status, body) = self.send(endpoint, form, true).await?;
        let mut result = decode_query(&body)
            .map_err(|answer| answer_error(status, answer).redacted(&self.redactor))?;
        for note in result.warnings.iter_mut().chain(result.infos.iter_mut()) {
            *note = self.redactor.redact(note);
        }
        let series = match &result.data {
            ResultData::Vector(samples) => samples.len(),
            ResultData::Matrix(series) => series.len(),
            ResultData::Scalar(_) | ResultData::String(_) => 1,
        };
        tracing::debug!(
            query = %shorten(query, 200),
            elapsed_ms = started.elapsed().as_millis() as u64,
            series,
            "query"
        );
        Ok(result)
    }

    /// Sends a request with retries; returns the status and body of the
    /// first answer that is final (success or not retryable).
    async fn send(
        &self,
        endpoint: &str,
        parameters: &[(&str, String)],
        post: bool,
    ) -> Result<(u16, Vec<u8>), QueryError> {
        let mut backoff = self.config.backoff;
        let mut attempt = 0;
        loop {
            let mut server_pause = None;
            let error = match self.attempt(endpoint, parameters, post).await {
                // The API answers 200; anything else that claims success (a
                // proxy's 203, a partial 206) is not an answer to trust.
                Ok(answered) if answered.status == 200 => {
                    return Ok((answered.status, answered.body));
                }
                Ok(answered) if (300..400).contains(&answered.status) => QueryError::Http {
                    status: answered.status,
                    detail: "the server redirects elsewhere, which is not followed: give the \
                             final URL"
                        .into(),
                },
                Ok(answered) if answered.status < 400 => QueryError::Http {
                    status: answered.status,
                    detail: "the API answers 200; this status is not its answer".into(),
                },
                Ok(answered) => {
                    server_pause = answered.retry_after;
                    match response::decode_envelope(&answered.body) {
                        Err(answer) => answer_error(answered.status, answer),
                        Ok(_) => QueryError::Http {
                            status: answered.status,
                            detail: "error status with a success body".into(),
                        },
                    }
                }
                Err(error) => error,
            };
            // A server's error body may echo the request, credentials and all.
            let error = error.redacted(&self.redactor);
            if !error.is_retryable() || attempt >= self.config.retries {
                return Err(error);
            }
            // A server that says when to come back (Retry-After on a 429 or
            // 503) is believed, within a bound and the deadline.
            let wanted = server_pause.map_or(backoff, |pause| pause.min(MAX_RETRY_AFTER));
            let pause = wanted.min(self.remaining().unwrap_or(wanted));
            tracing::warn!(
                endpoint,
                attempt = attempt + 1,
                error = %error,
                "retrying after a failed request"
            );
            tokio::time::sleep(pause).await;
            backoff *= 2;
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        endpoint: &str,
        parameters: &[(&str, String)],
        post: bool,
    ) -> Result<Answered, QueryError> {
        let timeout = match self.remaining() {
            Some(remaining) if remaining.is_zero() => return Err(self.deadline_error()),
            Some(remaining) => self.config.query_timeout.min(remaining),
            None => self.config.query_timeout,
        };
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");

        let url = self.endpoint_url(endpoint);
        let request = if post {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(parameters.iter().map(|(key, value)| (*key, value.as_str())))
                .finish();
            self.http
                .post(url.clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
        } else {
            let mut url = url.clone();
            url.query_pairs_mut()
                .extend_pairs(parameters.iter().map(|(key, value)| (*key, value.as_str())));
            self.http.get(url)
        };
        let request = self.authorise(request);

        let exchange = async {
            let mut response = request
                .send()
                .await
                .map_err(|error| self.transport(error))?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|error| self.interrupted(error))?
            {
                if body.len() + chunk.len() > self.config.max_body_bytes {
                    return Err(QueryError::TooLarge(self.config.max_body_bytes));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Answered {
                status,
                body,
                retry_after,
            })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) if timeout < self.config.query_timeout => Err(self.deadline_error()),
            Err(_) => Err(QueryError::Timeout(crate::time::format_duration(timeout))),
        }
    }

    fn authorise(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let request = match &self.basic_auth {
            Some((user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        };
        let request = self
            .config
            .headers
            .iter()
            .fold(request, |request, (name, value)| {
                request.header(name.as_str(), value.as_str())
            });
        match &self.config.bearer_token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    fn endpoint_url(&self, endpoint: &str) -> Url {
        crate::http::endpoint(&self.config.url, &format!("api/v1/{endpoint}"))
    }

    fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|deadline| deadline.saturating_duration_since(Instant::now()))
    }

    fn deadline_error(&self) -> QueryError {
        QueryError::Deadline(
            self.config
                .deadline
                .map(crate::time::format_duration)
                .unwrap_or_default(),
        )
    }

    fn interrupted(&self, error: reqwest::Error) -> QueryError {
        match self.transport(error) {
            QueryError::Transport { url, detail } => QueryError::Interrupted { url, detail },
            other => other,
        }
    }

    fn transport(&self, error: reqwest::Error) -> QueryError {
        let url = self.config.url.to_string();
        let detail = crate::http::describe_error(error);
        // A certificate that does not verify will not verify on a retry.
        if detail.contains("invalid peer certificate") {
            return QueryError::Certificate { url, detail };
        }
        QueryError::Transport { url, detail }
    }
}

/// One HTTP exchange: the status, the body, and how long the server asked
/// to wait before a retry.
struct Answered {
    status: u16,
    body: Vec<u8>,
    retry_after: Option<Duration>,
}

/// The longest Retry-After honoured; a longer one is cut to this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

fn answer_error(status: u16, answer: Answer) -> QueryError {
    match answer {
        Answer::Error {
            error_type,
            message,
        } => QueryError::Api {
            status,
            error_type,
            message,
        },
        Answer::Malformed(detail) => QueryError::Http {
            status,
            detail: match status {
                401 => format!(
                    "{detail}; the server wants credentials: set SUMMIT_SLO_PROMETHEUS_TOKEN, \
                     --prometheus-user, or user:password in the URL"
                ),
                403 => format!("{detail}; the credentials given may not query this server"),
                _ => detail,
            },
        },
    }
}

/// Shortens a query for messages and logs, keeping both ends.
pub fn shorten(query: &str, limit: usize) -> String {
    let characters: Vec<char> = query.chars().collect();
    if characters.len() <= limit {
        return query.to_string();
    }
    let half = limit / 2;
    let head: String = characters[..half].iter().collect();
    let tail: String = characters[characters.len() - half..].iter().collect();
    format!("{head}…{tail}")
}
