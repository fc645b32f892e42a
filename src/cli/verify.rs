//! `summit-slo verify`: load, select, resolve the window, wait for the last
//! scrapes, query, judge, report, and exit with the verdict.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::args::{PrometheusArgs, VerifyArgs};
use super::{Stop, fail, load_selected, write_stdout};
use crate::engine::Engine;
use crate::engine::record;
use crate::engine::scrape::{Target, scrape};
use crate::eval::{self, ScrapeIntervals, Verification, VerifyOptions};
use crate::prometheus::{Client, ClientConfig};
use crate::report::{self, Format};
use crate::time::{format_duration, format_instant, parse_duration};
use crate::window::{Window, WindowRequest};

/// The scrape interval assumed for the settle time when the server does not
/// say.
const ASSUMED_SCRAPE_INTERVAL: Duration = Duration::from_secs(15);

/// Runs `verify` and returns the exit code.
pub fn run(args: VerifyArgs) -> u8 {
    match verify(&args) {
        Ok(verification) => deliver(&args, &verification),
        Err(stop) => {
            stop.print();
            deliver_stop(&args, &stop);
            stop.code
        }
    }
}

fn verify(args: &VerifyArgs) -> Result<Verification, Stop> {
    let (_, slos) = load_selected(&args.input.slos, &args.input.select)?;
    if !args.embedded.scrape.is_empty() {
        return verify_scraping(args, &slos);
    }
    if args.embedded.record.is_some() {
        return Err(Stop::new(
            "--record saves what --scrape collects; add --scrape",
        ));
    }
    let recording = args
        .embedded
        .replay
        .as_deref()
        .map(Engine::load)
        .transpose()
        .map_err(Stop::new)?;

    let mut request = WindowRequest {
        start: args.window.start.clone(),
        end: args.window.end.clone(),
        window: args.window.window.clone(),
    };
    // A recording's natural window ends at its last sample, not at "now".
    if let Some(engine) = &recording
        && request.start.is_none()
        && request.end.is_none()
        && let Some((_, last)) = engine.span()
    {
        request.end = Some((last as f64 / 1000.0).to_string());
    }
    let window = Window::resolve(&request, crate::time::now()).map_err(Stop::new)?;
    let scrape_interval = positive_duration(&args.window.scrape_interval, "--scrape-interval")?;
    let settle = optional_duration(&args.window.settle, "--settle")?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| Stop::new(format!("cannot start the async runtime: {error}")))?;
    let options = |scrape_intervals| VerifyOptions {
        window,
        allow_partial: args.gate.allow_partial,
        strict: args.gate.strict,
        scrape_intervals,
    };

    if let Some(engine) = recording {
        let intervals = match scrape_interval.or_else(|| engine.typical_interval()) {
            Some(interval) => ScrapeIntervals::Fixed(interval),
            None => ScrapeIntervals::Unknown,
        };
        check_compiles(&slos, &window, &intervals, true).map_err(Stop::new)?;
        warn_outside(&engine, &window, args.embedded.replay.as_deref());
        let source = eval::Source::Embedded(Arc::new(engine));
        return runtime.block_on(async {
            eval::verify(&slos, &source, &options(intervals))
                .await
                .map_err(Stop::new)
        });
    }

    let config = client_config(&args.prometheus).map_err(Stop::new)?;
    runtime.block_on(async {
        let client = Client::new(config).map_err(Stop::new)?;
        let intervals = match scrape_interval {
            Some(interval) => ScrapeIntervals::Fixed(interval),
            None => discover_scrape_intervals(&client).await,
        };
        check_compiles(&slos, &window, &intervals, false).map_err(Stop::new)?;
        let settle = settle.unwrap_or(intervals.longest().unwrap_or(ASSUMED_SCRAPE_INTERVAL) * 2);
        wait_for_settle(window, settle).await;
        eval::verify(
            &slos,
            &eval::Source::Prometheus(client),
            &options(intervals),
        )
        .await
        .map_err(Stop::new)
    })
}

/// The default scrape interval, as in Prometheus' own configuration.
const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(15);

/// `verify --scrape`: the window starts now; the targets are scraped until
/// its end, then judged from memory.
fn verify_scraping(args: &VerifyArgs, slos: &[crate::spec::Slo]) -> Result<Verification, Stop> {
    let embedded = &args.embedded;
    if embedded.replay.is_some() {
        return Err(Stop::new("give --replay or --scrape, not both"));
    }
    if args.window.start.is_some() || args.window.end.is_some() {
        return Err(Stop::new(
            "--scrape judges the window it scrapes, from now for --window; drop --start and --end",
        ));
    }
    let targets = embedded
        .scrape
        .iter()
        .map(|text| Target::parse(text))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Stop::new)?;
    let length = match &args.window.window {
        Some(text) => {
            parse_duration(text).map_err(|error| Stop::new(format!("--window: {error}")))?
        }
        None => crate::window::DEFAULT_WINDOW,
    };
    let interval = positive_duration(&args.window.scrape_interval, "--scrape-interval")?
        .unwrap_or(DEFAULT_SCRAPE_INTERVAL);
    let start = crate::time::now();
    let end = start
        .checked_add(jiff::SignedDuration::try_from(length).map_err(Stop::new)?)
        .map_err(Stop::new)?;
    let window = Window { start, end };
    if length.is_zero() {
        return Err(Stop::new("--window must be longer than 0s"));
    }
    check_compiles(slos, &window, &ScrapeIntervals::Fixed(interval), true).map_err(Stop::new)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| Stop::new(format!("cannot start the async runtime: {error}")))?;
    eprintln!(
        "scraping {} target(s) every {} for {}, until {}",
        targets.len(),
        format_duration(interval),
        format_duration(length),
        format_instant(end)
    );
    let mut engine = Engine::default();
    let report = runtime.block_on(scrape(
        &mut engine,
        &targets,
        interval,
        start.as_millisecond(),
        end.as_millisecond(),
        embedded.max_samples,
        || crate::time::now().as_millisecond(),
    ));
    for (target, stats) in &report.targets {
        let failures = stats.attempted - stats.succeeded;
        let cause = stats
            .last_error
            .as_deref()
            .map(|error| format!(" (last error: {error})"))
            .unwrap_or_default();
        eprintln!(
            "scraped {}: {} of {} scrapes answered{}",
            target.url,
            stats.succeeded,
            stats.attempted,
            if failures > 0 { cause } else { String::new() }
        );
    }
    if report.full {
        eprintln!(
            "warning: --max-samples {} reached; later samples were dropped",
            embedded.max_samples
        );
    }
    if let Some(path) = &embedded.record {
        let written = record::write(&engine, path).map_err(|error| {
            Stop::new(format!(
                "cannot write the recording {}: {error}",
                path.display()
            ))
        })?;
        eprintln!("recorded {written} samples to {}", path.display());
    }

    let engine = Arc::new(engine);
    let options = VerifyOptions {
        window,
        allow_partial: args.gate.allow_partial,
        strict: args.gate.strict,
        scrape_intervals: ScrapeIntervals::Fixed(interval),
    };
    let verification = runtime
        .block_on(eval::verify(
            slos,
            &eval::Source::Embedded(engine.clone()),
            &options,
        ))
        .map_err(Stop::new)?;
    Ok(eval::mark_unreliable_scrapes(
        verification,
        &engine,
        &report,
        args.gate.strict,
    ))
}

/// Says so when the window misses the recording: every SLO would be
/// "no data", which is right but puzzling without this line.
fn warn_outside(engine: &Engine, window: &Window, path: Option<&Path>) {
    let Some((first, last)) = engine.span() else {
        return;
    };
    let (start, end) = (window.start.as_millisecond(), window.end.as_millisecond());
    if end < first || start > last {
        let instant = |millis: i64| {
            jiff::Timestamp::from_millisecond(millis)
                .map(format_instant)
                .unwrap_or_default()
        };
        eprintln!(
            "warning: the window {} lies outside {} (samples from {} to {}); pass --start/--end \
             inside it",
            window.describe(),
            path.map(|path| path.display().to_string())
                .unwrap_or_default(),
            instant(first),
            instant(last)
        );
    }
}

/// Writes the report where it belongs and returns the verdict's exit code.
fn deliver(args: &VerifyArgs, verification: &Verification) -> u8 {
    let text = report::render(verification, args.output.format, table_width());
    let written = match &args.output.output {
        Some(path) => write_report(path, &text).map(|()| {
            eprintln!("{}", report::table::summary(verification));
            eprintln!("report written to {}", path.display());
        }),
        None => write_stdout(&text).map(|()| {
            if args.output.format != Format::Table {
                eprintln!("{}", report::table::summary(verification));
            }
        }),
    };
    match written {
        Ok(()) => verification.exit_code,
        Err(message) => fail(message),
    }
}

/// A run that stopped early still leaves a report saying so: JSON
/// consumers get a document with the error, and an --output file never
/// keeps an earlier run's verdict.
fn deliver_stop(args: &VerifyArgs, stop: &Stop) {
    let text = match args.output.format {
        Format::Json => report::json::render_error(&stop.message, stop.code),
        Format::Table => format!("error: {}\n", stop.message),
    };
    let written = match (&args.output.output, args.output.format) {
        (Some(path), _) => write_report(path, &text),
        (None, Format::Json) => write_stdout(&text),
        (None, Format::Table) => Ok(()),
    };
    if let Err(message) = written {
        eprintln!("error: {message}");
    }
}

fn optional_duration(text: &Option<String>, flag: &str) -> Result<Option<Duration>, Stop> {
    text.as_deref()
        .map(|text| parse_duration(text).map_err(|error| Stop::new(format!("{flag}: {error}"))))
        .transpose()
}

fn positive_duration(text: &Option<String>, flag: &str) -> Result<Option<Duration>, Stop> {
    let duration = optional_duration(text, flag)?;
    if duration.is_some_and(|duration| duration.is_zero()) {
        return Err(Stop::new(format!("{flag} must be longer than 0s")));
    }
    Ok(duration)
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
    let positive = |text: &str, flag: &str| match parse_duration(text) {
        Ok(duration) if duration.is_zero() => Err(format!("{flag} must be longer than 0s")),
        Ok(duration) => Ok(duration),
        Err(error) => Err(format!("{flag}: {error}")),
    };
    config.query_timeout = positive(&args.query_timeout, "--query-timeout")?;
    config.deadline = Some(positive(&args.deadline, "--deadline")?);
    config.retries = args.retries;
    config.concurrency = usize::from(args.concurrency);
    let environment = std::env::var("SUMMIT_SLO_PROMETHEUS_TOKEN")
        .ok()
        .filter(|token| !token.is_empty());
    config.bearer_token = match (&args.prometheus_token_file, environment) {
        (Some(_), Some(_)) => {
            return Err(
                "both SUMMIT_SLO_PROMETHEUS_TOKEN and a token file are set; give one".to_string(),
            );
        }
        (Some(path), None) => Some(read_token(path)?),
        (None, token) => token,
    };
    if let Some(token) = &config.bearer_token {
        if !config.url.username().is_empty() {
            return Err(
                "the URL has user:password and a bearer token is set; give one".to_string(),
            );
        }
        if token.chars().any(char::is_control) || !token.is_ascii() {
            return Err(
                "the bearer token has characters an HTTP header cannot carry (a line break, \
                 or non-ASCII text)"
                    .to_string(),
            );
        }
    }
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
/// limit is reported at once. For the embedded engine, every query must
/// also be within the subset it evaluates.
fn check_compiles(
    slos: &[crate::spec::Slo],
    window: &Window,
    intervals: &ScrapeIntervals,
    embedded: bool,
) -> Result<(), String> {
    let mut errors = Vec::new();
    for slo in slos {
        let options = crate::compile::CompileOptions {
            scrape_interval: intervals.for_slo(slo),
            le_spellings: None,
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

async fn discover_scrape_intervals(client: &Client) -> ScrapeIntervals {
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
