//! `summit-slo verify`: load, select, resolve the window, wait for the last
//! scrapes, query, judge, report, and exit with the verdict.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use url::Url;

use super::args::{PrometheusArgs, VerifyArgs};
use super::{fail, load_selected};
use crate::eval::{self, VerifyOptions};
use crate::prometheus::{Client, ClientConfig};
use crate::report::{self, Format};
use crate::time::{format_duration, format_instant, parse_duration};
use crate::window::{Window, WindowRequest};

/// The scrape interval assumed for the settle time when the server does not
/// say.
const ASSUMED_SCRAPE_INTERVAL: Duration = Duration::from_secs(15);

/// Runs `verify` and returns the exit code.
pub fn run(args: VerifyArgs) -> u8 {
    let (_, slos) = match load_selected(&args.input.slos, &args.input.select) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };

    let window = match Window::resolve(
        &WindowRequest {
            start: args.window.start.clone(),
            end: args.window.end.clone(),
            window: args.window.window.clone(),
        },
        crate::time::now(),
    ) {
        Ok(window) => window,
        Err(error) => return fail(error),
    };
    let scrape_interval = match optional_duration(&args.window.scrape_interval, "--scrape-interval")
    {
        Ok(interval) => interval,
        Err(code) => return code,
    };
    let settle = match optional_duration(&args.window.settle, "--settle") {
        Ok(settle) => settle,
        Err(code) => return code,
    };
    let config = match client_config(&args.prometheus) {
        Ok(config) => config,
        Err(message) => return fail(message),
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(format!("cannot start the async runtime: {error}")),
    };
    let result = runtime.block_on(async {
        let client = Client::new(config)?;
        let scrape_interval = match scrape_interval {
            Some(interval) => Some(interval),
            None => discover_scrape_interval(&client).await,
        };
        check_compiles(&slos, &window, scrape_interval)?;
        let settle = settle.unwrap_or(scrape_interval.unwrap_or(ASSUMED_SCRAPE_INTERVAL) * 2);
        wait_for_settle(window, settle).await;
        let options = VerifyOptions {
            window,
            allow_partial: args.gate.allow_partial,
            strict: args.gate.strict,
            scrape_interval,
        };
        eval::verify(&slos, &client, &options)
            .await
            .map_err(|error| error.to_string())
    });
    let verification = match result {
        Ok(verification) => verification,
        Err(message) => return fail(message),
    };

    let width = table_width();
    let text = report::render(&verification, args.output.format, width);
    if let Some(path) = &args.output.output {
        if let Err(error) = write_report(path, &text) {
            return fail(error);
        }
        eprintln!("{}", report::table::summary(&verification));
        eprintln!("report written to {}", path.display());
    } else {
        print!("{text}");
        if args.output.format != Format::Table {
            eprintln!("{}", report::table::summary(&verification));
        }
    }
    verification.exit_code
}

fn optional_duration(text: &Option<String>, flag: &str) -> Result<Option<Duration>, u8> {
    text.as_deref()
        .map(|text| parse_duration(text).map_err(|error| fail(format!("{flag}: {error}"))))
        .transpose()
}

/// The client settings from flags and environment. The token comes only
/// from the environment or a file.
fn client_config(args: &PrometheusArgs) -> Result<ClientConfig, String> {
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
    config.query_timeout =
        parse_duration(&args.query_timeout).map_err(|error| format!("--query-timeout: {error}"))?;
    config.deadline =
        Some(parse_duration(&args.deadline).map_err(|error| format!("--deadline: {error}"))?);
    config.retries = args.retries;
    config.concurrency = usize::from(args.concurrency);
    config.bearer_token = match &args.prometheus_token_file {
        Some(path) => Some(read_token(path)?),
        None => std::env::var("SUMMIT_SLO_PROMETHEUS_TOKEN")
            .ok()
            .filter(|token| !token.is_empty()),
    };
    Ok(config)
}

fn read_token(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read token file {}: {error}", path.display()))?;
    let token = text.trim().to_string();
    if token.is_empty() {
        return Err(format!("token file {} is empty", path.display()));
    }
    Ok(token)
}

/// A URL with any password replaced, for messages.
fn redact_url(text: &str) -> String {
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
/// limit is reported at once.
fn check_compiles(
    slos: &[crate::spec::Slo],
    window: &Window,
    scrape_interval: Option<Duration>,
) -> Result<(), String> {
    let options = crate::compile::CompileOptions {
        scrape_interval,
        le_spellings: None,
    };
    let errors: Vec<String> = slos
        .iter()
        .filter_map(|slo| crate::compile::compile(slo, window, &options).err())
        .map(|error| error.to_string())
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\nerror: "))
    }
}

async fn discover_scrape_interval(client: &Client) -> Option<Duration> {
    match client.scrape_interval().await {
        Ok(interval) => interval,
        Err(error) => {
            tracing::info!(%error, "scrape interval unknown: the server did not list targets");
            None
        }
    }
}

/// Waits until `settle` after the window's end, so the scrapes of the
/// window's last moments are stored before they are queried.
async fn wait_for_settle(window: Window, settle: Duration) {
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

fn write_report(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text)
        .map_err(|error| format!("cannot write the report to {}: {error}", path.display()))
}

/// The table's width: COLUMNS when set, 120 on a terminal, else unwrapped.
fn table_width() -> Option<u16> {
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|columns| columns.parse().ok())
    {
        return Some(columns);
    }
    std::io::stdout().is_terminal().then_some(120)
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
