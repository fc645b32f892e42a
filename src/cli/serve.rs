//! `summit-slo serve` and `summit-slo gate`: the webhook receiver's
//! settings, checked before it listens, and the pipeline's question to it.

use std::net::SocketAddr;
use std::time::Duration;

use super::annotate::grafana_client;
use super::args::{GateCommandArgs, ServeArgs};
use super::source::{client_config, discover_scrape_intervals, secret};
use super::{EXIT_CANNOT_RUN, Stop, load_selected, write_stdout};
use crate::prometheus::Client;
use crate::serve::gate::GateMatcher;
use crate::serve::{AlertVerifier, ServeConfig};
use crate::time::parse_duration;

/// Runs `serve` until SIGTERM or SIGINT; returns the exit code.
pub fn run_serve(args: ServeArgs) -> u8 {
    let runtime = match super::verify::runtime() {
        Ok(runtime) => runtime,
        Err(stop) => {
            stop.print();
            return stop.code;
        }
    };
    let served = config(&args, &runtime).and_then(|config| {
        runtime
            .block_on(crate::serve::serve(config, shutdown()))
            .map_err(Stop::new)
    });
    match served {
        Ok(()) => 0,
        Err(stop) => {
            stop.print();
            stop.code
        }
    }
}

/// Resolves when SIGTERM or SIGINT arrives.
async fn shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut terminate), Ok(mut interrupt)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM: finishing requests in flight, then stopping"),
        _ = interrupt.recv() => tracing::info!("SIGINT: finishing requests in flight, then stopping"),
    }
}

fn config(args: &ServeArgs, runtime: &tokio::runtime::Runtime) -> Result<ServeConfig, Stop> {
    let listen: SocketAddr = args.listen.parse().map_err(|error| {
        Stop::new(format!(
            "--listen '{}' is not an address ({error}); expected e.g. 127.0.0.1:9465 or 0.0.0.0:9465",
            args.listen
        ))
    })?;
    let token = webhook_token(args)?;
    if token.is_none() && !listen.ip().is_loopback() {
        return Err(Stop::new(format!(
            "--listen {listen} is reachable beyond this machine, and without a token anyone who \
             can reach it could open the release gate; set SUMMIT_SLO_WEBHOOK_TOKEN (or \
             --webhook-token-file) and give Alertmanager the same bearer token"
        )));
    }
    let matchers = args
        .gate_matcher
        .iter()
        .map(|text| GateMatcher::parse(text))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Stop::new)?;
    let duration = |text: &str, flag: &str| {
        parse_duration(text)
            .map_err(|error| Stop::new(format!("{flag}: {error}")))
            .and_then(|duration| {
                if duration.is_zero() {
                    Err(Stop::new(format!("{flag} must be longer than 0s")))
                } else {
                    Ok(duration)
                }
            })
    };
    let retention = duration(&args.retention, "--retention")?;
    let verifier = if args.verify_on_alert {
        let window = duration(&args.window, "--window")?;
        let (_, slos) = load_selected(&args.input.slos, &args.input.select)?;
        let client_config = client_config(&args.prometheus).map_err(Stop::new)?;
        let client = Client::new(client_config.clone()).map_err(Stop::new)?;
        let scrape_intervals = runtime.block_on(discover_scrape_intervals(&client));
        Some(AlertVerifier {
            slos,
            client: client_config,
            window,
            scrape_intervals,
        })
    } else {
        None
    };
    Ok(ServeConfig {
        listen,
        state_dir: args.state_dir.clone(),
        token,
        max_body: parse_size(&args.max_body)?,
        matchers,
        grafana: grafana_client(&args.grafana)?,
        retention,
        verifier,
    })
}

fn webhook_token(args: &ServeArgs) -> Result<Option<String>, Stop> {
    secret(
        "SUMMIT_SLO_WEBHOOK_TOKEN",
        args.webhook_token_file.as_deref(),
        "webhook token",
    )
    .map_err(Stop::new)
}

/// Reads `1048576`, `512KiB`, `1MiB`.
fn parse_size(text: &str) -> Result<usize, Stop> {
    let trimmed = text.trim();
    let (number, unit) = trimmed
        .find(|character: char| !character.is_ascii_digit())
        .map_or((trimmed, ""), |at| trimmed.split_at(at));
    let multiplier = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        _ => {
            return Err(Stop::new(format!(
                "--max-body '{text}': expected bytes, KiB or MiB (e.g. 1MiB)"
            )));
        }
    };
    number
        .parse::<usize>()
        .ok()
        .and_then(|number| number.checked_mul(multiplier))
        .filter(|size| *size > 0)
        .ok_or_else(|| Stop::new(format!("--max-body '{text}' is not a positive size")))
}

/// Runs `gate`: 0 open, 1 closed, 2 when the receiver cannot say, 3 for
/// bad arguments.
pub fn run_gate(args: GateCommandArgs) -> u8 {
    let timeout = match parse_duration(&args.timeout) {
        Ok(timeout) if !timeout.is_zero() => timeout,
        _ => {
            eprintln!(
                "error: --timeout '{}' is not a positive duration",
                args.timeout
            );
            return EXIT_CANNOT_RUN;
        }
    };
    let mut url = match url::Url::parse(&args.receiver) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url,
        _ => {
            eprintln!(
                "error: --receiver '{}' is not an http or https URL",
                args.receiver
            );
            return EXIT_CANNOT_RUN;
        }
    };
    let credentials = crate::http::take_credentials(&mut url);
    let endpoint = crate::http::endpoint(&url, "api/v1/gate");
    let answer = super::verify::runtime()
        .map_err(|stop| stop.message)
        .and_then(|runtime| runtime.block_on(ask(endpoint, credentials, timeout)));
    let body = match answer {
        Ok(body) => body,
        Err(problem) => {
            eprintln!("gate unknown: {problem}");
            return 2;
        }
    };
    let open = body["open"].as_bool();
    let Some(open) = open else {
        eprintln!(
            "gate unknown: {url} answered without an \"open\" field; is it a summit-slo receiver?"
        );
        return 2;
    };
    if args.format == "json" {
        let mut text = serde_json::to_string_pretty(&body).expect("serialisable");
        text.push('\n');
        if let Err(problem) = write_stdout(&text) {
            eprintln!("error: {problem}");
            return EXIT_CANNOT_RUN;
        }
    } else {
        let mut text = format!(
            "gate {}: {}\n",
            if open { "open" } else { "closed" },
            body["reason"].as_str().unwrap_or_default()
        );
        for alert in body["blocking"].as_array().into_iter().flatten() {
            text.push_str(&format!(
                "  {} since {}{}\n",
                alert["alertname"].as_str().unwrap_or("?"),
                alert["starts_at"].as_str().unwrap_or("?"),
                alert["summary"]
                    .as_str()
                    .map(|summary| format!(": {summary}"))
                    .unwrap_or_default()
            ));
        }
        for group in body["unknown"].as_array().into_iter().flatten() {
            text.push_str(&format!(
                "  {} alerts of unknown state in group {}\n",
                group["truncated_alerts"],
                group["group_key"].as_str().unwrap_or("?")
            ));
        }
        if let Err(problem) = write_stdout(&text) {
            eprintln!("error: {problem}");
            return EXIT_CANNOT_RUN;
        }
    }
    if open { 0 } else { 1 }
}

async fn ask(
    endpoint: url::Url,
    credentials: Option<(String, String)>,
    timeout: Duration,
) -> Result<serde_json::Value, String> {
    let client = crate::http::build_client()?;
    let mut request = client.get(endpoint.clone()).timeout(timeout);
    if let Some((user, password)) = credentials {
        request = request.basic_auth(user, Some(password));
    }
    let response = request.send().await.map_err(|error| {
        format!(
            "cannot reach {endpoint}: {}",
            crate::http::describe_error(error)
        )
    })?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|error| format!("{endpoint}: {}", crate::http::describe_error(error)))?;
    if !status.is_success() {
        return Err(format!(
            "{endpoint} answered HTTP {}: {}",
            status.as_u16(),
            String::from_utf8_lossy(&body)
                .chars()
                .take(200)
                .collect::<String>()
        ));
    }
    serde_json::from_slice(&body)
        .map_err(|error| format!("{endpoint} answered something that is not JSON ({error})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("1MiB").ok(), Some(1 << 20));
        assert_eq!(parse_size("512KiB").ok(), Some(512 << 10));
        assert_eq!(parse_size("2048").ok(), Some(2048));
        assert!(parse_size("1MB").is_err());
        assert!(parse_size("0").is_err());
    }
}
