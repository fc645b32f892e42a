//! Building the source verdicts come from: the Prometheus client (URL,
//! credentials, timeouts), what is known of scrape intervals, the settle
//! wait, and the check that every SLO compiles for the window before
//! anything slow happens.

use std::path::Path;
use std::time::Duration;

use url::Url;

use super::Stop;
use super::args::PrometheusArgs;
use crate::eval::ScrapeIntervals;
use crate::prometheus::{Client, ClientConfig};
use crate::time::{format_duration, format_instant, parse_duration};
use crate::window::Window;

pub fn optional_duration(text: &Option<String>, flag: &str) -> Result<Option<Duration>, Stop> {
    text.as_deref()
        .map(|text| parse_duration(text).map_err(|error| Stop::new(format!("{flag}: {error}"))))
        .transpose()
}

pub fn positive_duration(text: &Option<String>, flag: &str) -> Result<Option<Duration>, Stop> {
    let duration = optional_duration(text, flag)?;
    if duration.is_some_and(|duration| duration.is_zero()) {
        return Err(Stop::new(format!("{flag} must be longer than 0s")));
    }
    Ok(duration)
}

/// The client settings from flags and environment. The token comes only
/// from the environment or a file.
pub fn client_config(args: &PrometheusArgs) -> Result<ClientConfig, String> {
    let url = Url::parse(&args.prometheus).map_err(|error| {
        format!(
            "--prometheus '{}' is not a URL ({error}); expected e.g. http://localhost:9090",
            redact_url(&args.prometheus)
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "--prometheus must be an http or https URL, got scheme '{}'",
            url.scheme()
        ));
    }
    let mut config = ClientConfig::new(url);
    let positive = |text: &str, flag: &str| match parse_duration(text) {
        Ok(duration) if duration.is_zero() => Err(format!("{flag} must be longer than 0s")),
        Ok(duration) => Ok(duration),
        Err(error) => Err(format!("{flag}: {error}")),
    };
    config.query_timeout = positive(&args.query_timeout, "--query-timeout")?;
    config.deadline = Some(positive(&args.deadline, "--deadline")?);
    config.retries = args.retries;
    config.concurrency = usize::from(args.concurrency);
    config.bearer_token = secret(
        "SUMMIT_SLO_PROMETHEUS_TOKEN",
        args.prometheus_token_file.as_deref(),
        "bearer token",
    )?;
    if let Some(user) = &args.prometheus_user {
        let password = secret(
            "SUMMIT_SLO_PROMETHEUS_PASSWORD",
            args.prometheus_password_file.as_deref(),
            "password",
        )?
        .ok_or(
            "--prometheus-user needs SUMMIT_SLO_PROMETHEUS_PASSWORD or --prometheus-password-file",
        )?;
        config.basic_auth = Some((user.clone(), password));
    } else if args.prometheus_password_file.is_some()
        || std::env::var_os("SUMMIT_SLO_PROMETHEUS_PASSWORD").is_some()
    {
        return Err("a Prometheus password is set without --prometheus-user".to_string());
    }
    let basic = config.basic_auth.is_some() || !config.url.username().is_empty();
    if config.bearer_token.is_some() && basic {
        return Err("basic auth and a bearer token are both set for Prometheus; give one".into());
    }
    if config.basic_auth.is_some() && !config.url.username().is_empty() {
        return Err("the URL has user:password and --prometheus-user is set; give one".into());
    }
    config.headers = headers(&args.headers)?;
    config.tls = tls_settings(args)?;
    config.dedup = args.dedup;
    config.dialect = args.engine;
    Ok(config)
}

/// `NAME=VALUE` pairs, checked to be valid HTTP headers that do not carry
/// credentials. Values never appear in messages.
fn headers(texts: &[String]) -> Result<Vec<(String, String)>, String> {
    texts
        .iter()
        .filter(|text| !text.trim().is_empty())
        .map(|text| {
            // The text is not echoed: a value may be a secret.
            let (name, value) = text.split_once('=').ok_or_else(|| {
                "a --header is not NAME=VALUE; write e.g. X-Scope-OrgID=team-a".to_string()
            })?;
            let name = name.trim();
            reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("--header name '{name}' is not a valid HTTP header name"))?;
            // Headers that frame the request are summit-slo's to set: a
            // wrong Content-Length or Host would corrupt or misroute it.
            const FRAMING: [&str; 5] = [
                "host",
                "content-length",
                "content-type",
                "transfer-encoding",
                "connection",
            ];
            if FRAMING
                .iter()
                .any(|framing| name.eq_ignore_ascii_case(framing))
            {
                return Err(format!(
                    "--header {name} is refused: it frames the request, which summit-slo sets"
                ));
            }
            if name.eq_ignore_ascii_case("authorization") {
                return Err(
                    "--header Authorization is refused: set SUMMIT_SLO_PROMETHEUS_TOKEN, \
                     --prometheus-token-file or --prometheus-user instead, which keep the \
                     secret out of the command line"
                        .to_string(),
                );
            }
            reqwest::header::HeaderValue::from_str(value.trim()).map_err(|_| {
                format!("--header {name}: the value holds characters a header cannot carry")
            })?;
            Ok((name.to_string(), value.trim().to_string()))
        })
        .collect()
}

/// The TLS files, read now so a missing one stops the run before anything
/// is judged.
fn tls_settings(args: &PrometheusArgs) -> Result<crate::http::TlsSettings, String> {
    let read = |path: &Path, flag: &str| {
        std::fs::read(path).map_err(|error| format!("{flag} {}: {error}", path.display()))
    };
    let ca_pem = args
        .ca_file
        .as_deref()
        .map(|path| read(path, "--ca-file"))
        .transpose()?;
    let identity_pem = match (&args.client_cert, &args.client_key) {
        (Some(cert), Some(key)) => {
            let mut pem = read(cert, "--client-cert")?;
            pem.push(b'\n');
            pem.extend(read(key, "--client-key")?);
            Some(pem)
        }
        _ => None,
    };
    if args.insecure_skip_verify {
        eprintln!(
            "warning: --insecure-skip-verify: Prometheus' certificate is not checked, so any \
             server can answer for it"
        );
    }
    Ok(crate::http::TlsSettings {
        ca_pem,
        identity_pem,
        insecure_skip_verify: args.insecure_skip_verify,
    })
}

/// A token from the environment variable `variable` or from `file`, never
/// both, checked to fit in an HTTP header; `what` names it in messages.
pub(super) fn secret(
    variable: &str,
    file: Option<&Path>,
    what: &str,
) -> Result<Option<String>, String> {
    let environment = std::env::var(variable)
        .ok()
        .filter(|token| !token.is_empty());
    let token = match (file, environment) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "both {variable} and a {what} file are set; give one"
            ));
        }
        (Some(path), None) => Some(read_token(path)?),
        (None, token) => token,
    };
    if token
        .as_deref()
        .is_some_and(|token| token.chars().any(char::is_control) || !token.is_ascii())
    {
        return Err(format!(
            "the {what} has characters an HTTP header cannot carry (a line break, or non-ASCII text)"
        ));
    }
    Ok(token)
}

pub(super) fn read_token(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read token file {}: {error}", path.display()))?;
    let token = text.trim().to_string();
    if token.is_empty() {
        return Err(format!("token file {} is empty", path.display()));
    }
    Ok(token)
}

/// A URL with any password replaced, for messages.
pub(super) fn redact_url(text: &str) -> String {
    match Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("redacted"));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => match text.rsplit_once('@') {
            Some((_, host)) => format!("…@{host}"),
            None => text.to_string(),
        },
    }
}

/// Compiles every SLO once before waiting for the settle time, so a window
/// too short for the scrape interval or a sustained step over the point
/// limit is reported at once. For the embedded engine, every query must
/// also be within the subset it evaluates.
pub fn check_compiles(
    slos: &[crate::spec::Slo],
    window: &Window,
    intervals: &ScrapeIntervals,
    embedded: bool,
) -> Result<(), String> {
    let mut errors = Vec::new();
    for slo in slos {
        let options = crate::compile::CompileOptions {
            scrape_interval: intervals.for_slo(slo),
            ..Default::default()
        };
        let at = slo.location.position();
        match crate::compile::compile(slo, window, &options) {
            Err(error) => errors.push(format!("{at}: {error}")),
            Ok(compiled) if embedded => {
                if let Some(Err(unsupported)) = compiled
                    .queries()
                    .into_iter()
                    .map(|query| &query.plan)
                    .find(|plan| plan.is_err())
                {
                    errors.push(format!(
                        "{at}: {}: the embedded engine cannot run its query ({unsupported}); \
                         verify this SLO against Prometheus, or leave it out with --select",
                        slo.id()
                    ));
                }
            }
            Ok(_) => {}
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\nerror: "))
    }
}

pub async fn discover_scrape_intervals(client: &Client) -> ScrapeIntervals {
    match client.scrape_targets().await {
        Ok(targets) if !targets.is_empty() => ScrapeIntervals::PerTarget(targets),
        Ok(_) => ScrapeIntervals::Unknown,
        Err(error) => {
            tracing::info!(%error, "scrape interval unknown: the server did not list targets");
            ScrapeIntervals::Unknown
        }
    }
}

/// Waits until `settle` after the window's end, so the scrapes of the
/// window's last moments are stored before they are queried.
pub async fn wait_for_settle(window: Window, settle: Duration) {
    let Ok(settle_signed) = jiff::SignedDuration::try_from(settle) else {
        return;
    };
    let Ok(ready) = window.end.checked_add(settle_signed) else {
        return;
    };
    let now = crate::time::now();
    if ready <= now {
        return;
    }
    let wait = ready.duration_since(now).unsigned_abs();
    eprintln!(
        "waiting {} until {} for the last scrapes to be stored (--settle {})",
        format_duration(Duration::from_secs(wait.as_secs_f64().ceil() as u64)),
        format_instant(ready),
        format_duration(settle)
    );
    tokio::time::sleep(wait).await;
}

/// Fails when `path` (given with `flag`) cannot be written, before any
/// work that would be lost with it. The file is created when missing and
/// left as it is otherwise.
pub fn check_writable(path: Option<&Path>, flag: &str) -> Result<(), Stop> {
    let Some(path) = path else { return Ok(()) };
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map(drop)
        .map_err(|error| Stop::new(format!("{flag} {}: cannot write: {error}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("http://admin:hunter2@prometheus:9090/"),
            "http://admin:redacted@prometheus:9090/"
        );
        assert!(!redact_url("ht tp://admin:hunter2@prometheus").contains("hunter2"));
    }
}
