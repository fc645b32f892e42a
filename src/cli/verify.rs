//! `summit-slo verify`: load, select, resolve the window, and judge it from
//! one of three sources: a Prometheus (after waiting for the last scrapes),
//! a recording (`--replay`), or the targets themselves (`--scrape`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::args::VerifyArgs;
use super::deliver::judge_and_deliver;
use super::source::{
    check_compiles, check_writable, client_config, discover_scrape_intervals, optional_duration,
    positive_duration, wait_for_settle,
};
use super::{Stop, load_selected};
use crate::engine::scrape::{ScrapeReport, Target, Until, scrape};
use crate::engine::{Engine, record};
use crate::eval::{self, ScrapeIntervals, Verification, VerifyOptions};
use crate::prometheus::Client;
use crate::spec::Slo;
use crate::time::{format_duration, format_instant, parse_duration};
use crate::window::{Window, WindowRequest};

/// The scrape interval assumed for the settle time when the server does not
/// say.
pub const ASSUMED_SCRAPE_INTERVAL: Duration = Duration::from_secs(15);

/// The default scrape interval of `--scrape`, as in Prometheus' own
/// configuration.
pub const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(15);

/// Runs `verify` and returns the exit code.
pub fn run(args: VerifyArgs) -> u8 {
    judge_and_deliver(&args.output, (&args.grafana, &args.annotation), |trend| {
        verify(&args, trend)
    })
}

fn verify(args: &VerifyArgs, trend: bool) -> Result<Verification, Stop> {
    let (_, slos) = load_selected(&args.input.slos, &args.input.select)?;
    let scraping = !args.embedded.scrape.targets.is_empty();
    if args.embedded.scrape.record.is_some() && !scraping {
        return Err(Stop::new(
            "--record saves what --scrape collects; add --scrape",
        ));
    }
    check_writable(args.output.output.as_deref(), "--output")?;
    check_writable(args.embedded.scrape.record.as_deref(), "--record")?;
    if scraping {
        return verify_scraping(args, &slos, trend);
    }
    match &args.embedded.replay {
        Some(path) => verify_replay(args, &slos, path, trend),
        None => verify_prometheus(args, &slos, trend),
    }
}

/// The async runtime every source runs on.
pub fn runtime() -> Result<tokio::runtime::Runtime, Stop> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| Stop::new(format!("cannot start the async runtime: {error}")))
}

/// The verification options shared by every source.
pub fn options(
    args: &super::args::GateArgs,
    window: Window,
    intervals: ScrapeIntervals,
    trend: bool,
) -> VerifyOptions {
    VerifyOptions {
        window,
        allow_partial: args.allow_partial,
        strict: args.strict,
        scrape_intervals: intervals,
        trend,
    }
}

fn window_request(args: &VerifyArgs) -> WindowRequest {
    WindowRequest {
        start: args.window.start.clone(),
        end: args.window.end.clone(),
        window: args.window.window.clone(),
    }
}

fn verify_prometheus(args: &VerifyArgs, slos: &[Slo], trend: bool) -> Result<Verification, Stop> {
    let window = Window::resolve(&window_request(args), crate::time::now()).map_err(Stop::new)?;
    let scrape_interval = positive_duration(&args.window.scrape_interval, "--scrape-interval")?;
    let settle = optional_duration(&args.window.settle, "--settle")?;
    let config = client_config(&args.prometheus).map_err(Stop::new)?;
    runtime()?.block_on(async {
        let client = Client::new(config).map_err(Stop::new)?;
        let intervals = match scrape_interval {
            Some(interval) => ScrapeIntervals::Fixed(interval),
            None => discover_scrape_intervals(&client).await,
        };
        check_compiles(slos, &window, &intervals, false).map_err(Stop::new)?;
        let settle = settle.unwrap_or(intervals.longest().unwrap_or(ASSUMED_SCRAPE_INTERVAL) * 2);
        wait_for_settle(window, settle).await;
        let options = options(&args.gate, window, intervals, trend);
        eval::verify(slos, &eval::Source::Prometheus(client), &options)
            .await
            .map_err(Stop::new)
    })
}

fn verify_replay(
    args: &VerifyArgs,
    slos: &[Slo],
    path: &Path,
    trend: bool,
) -> Result<Verification, Stop> {
    let engine = Engine::load(path).map_err(Stop::new)?;
    let mut request = window_request(args);
    // A recording's natural window ends at its last sample, not at "now".
    if request.start.is_none()
        && request.end.is_none()
        && let Some((_, last)) = engine.span()
    {
        request.end = Some((last as f64 / 1000.0).to_string());
    }
    let window = Window::resolve(&request, crate::time::now()).map_err(Stop::new)?;
    let scrape_interval = positive_duration(&args.window.scrape_interval, "--scrape-interval")?;
    let intervals = match scrape_interval.or_else(|| engine.typical_interval()) {
        Some(interval) => ScrapeIntervals::Fixed(interval),
        None => ScrapeIntervals::Unknown,
    };
    check_compiles(slos, &window, &intervals, true).map_err(Stop::new)?;
    check_covered(&engine, &window, path, intervals.longest())?;
    let source = eval::Source::Embedded(Arc::new(engine));
    let options = options(&args.gate, window, intervals, trend);
    runtime()?.block_on(async {
        eval::verify(slos, &source, &options)
            .await
            .map_err(Stop::new)
    })
}

/// The shortest interval `--scrape` polls at: the targets are the
/// services under test, and a tighter loop would load them itself.
pub const MIN_SCRAPE_INTERVAL: Duration = Duration::from_secs(1);

/// Refuses a `--scrape` interval under [`MIN_SCRAPE_INTERVAL`].
pub fn check_scrape_interval(interval: Duration) -> Result<(), Stop> {
    if interval < MIN_SCRAPE_INTERVAL {
        return Err(Stop::new(format!(
            "--scrape-interval {} is too short for --scrape, which polls the services under test; use at least 1s",
            format_duration(interval)
        )));
    }
    Ok(())
}

/// Reads `--scrape` targets, refusing a list that cannot work.
pub fn targets(texts: &[String]) -> Result<Vec<Target>, Stop> {
    texts
        .iter()
        .map(|text| Target::parse(text))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Stop::new)
}

/// `verify --scrape`: the window starts now; the targets are scraped until
/// its end, then judged from memory.
fn verify_scraping(args: &VerifyArgs, slos: &[Slo], trend: bool) -> Result<Verification, Stop> {
    let embedded = &args.embedded;
    if embedded.replay.is_some() {
        return Err(Stop::new("give --replay or --scrape, not both"));
    }
    if args.window.start.is_some() || args.window.end.is_some() {
        return Err(Stop::new(
            "--scrape judges the window it scrapes, from now for --window; drop --start and --end",
        ));
    }
    let targets = targets(&embedded.scrape.targets)?;
    let length = match &args.window.window {
        Some(text) => {
            parse_duration(text).map_err(|error| Stop::new(format!("--window: {error}")))?
        }
        None => crate::window::DEFAULT_WINDOW,
    };
    if length.is_zero() {
        return Err(Stop::new("--window must be longer than 0s"));
    }
    let interval = positive_duration(&args.window.scrape_interval, "--scrape-interval")?
        .unwrap_or(DEFAULT_SCRAPE_INTERVAL);
    check_scrape_interval(interval)?;
    let start = crate::time::now();
    let end = start
        .checked_add(jiff::SignedDuration::try_from(length).map_err(Stop::new)?)
        .map_err(Stop::new)?;
    let window = Window { start, end };
    let intervals = ScrapeIntervals::Fixed(interval);
    check_compiles(slos, &window, &intervals, true).map_err(Stop::new)?;

    let runtime = runtime()?;
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
        Until::At(end.as_millisecond()),
        embedded.scrape.max_samples,
        || crate::time::now().as_millisecond(),
    ));
    judge_scraped(
        args.embedded.scrape.record.as_deref(),
        &args.gate,
        engine,
        &report,
        window,
        intervals,
        slos,
        &runtime,
        trend,
    )
}

/// Reports how the scrapes went, writes the recording if asked, and judges
/// the samples, marking SLOs that read a target with too few answers.
#[expect(
    clippy::too_many_arguments,
    reason = "each is one fact of the scraped window"
)]
pub fn judge_scraped(
    record_to: Option<&Path>,
    gate: &super::args::GateArgs,
    engine: Engine,
    report: &ScrapeReport,
    window: Window,
    intervals: ScrapeIntervals,
    slos: &[Slo],
    runtime: &tokio::runtime::Runtime,
    trend: bool,
) -> Result<Verification, Stop> {
    for (target, stats) in &report.targets {
        let cause = stats
            .last_error
            .as_deref()
            .filter(|_| stats.succeeded < stats.attempted)
            .map(|error| format!(" (last error: {error})"))
            .unwrap_or_default();
        eprintln!(
            "scraped {}: {} of {} scrapes answered{cause}",
            target.url, stats.succeeded, stats.attempted
        );
    }
    if report.full_at.is_some() {
        eprintln!(
            "warning: the sample limit (--max-samples) was reached; later samples were dropped"
        );
    }
    // The recording is a by-product: failing to write it loses the file,
    // never the verdict.
    if let Some(path) = record_to {
        match record::write(&engine, path) {
            Ok(written) => eprintln!("recorded {written} samples to {}", path.display()),
            Err(error) => eprintln!(
                "error: cannot write the recording {}: {error}",
                path.display()
            ),
        }
    }
    let strict = gate.strict;
    let engine = Arc::new(engine);
    let options = options(gate, window, intervals, trend);
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
        report,
        strict,
        gate.allow_partial,
    ))
}

/// Says so when the window misses the recording: every SLO would be
/// "no data", which is right but puzzling without this line.
/// Refuses a window the recording does not cover: judging ten minutes on
/// a four-second recording would pass on data that was never recorded.
/// The edges may miss by one and a half scrape intervals (a minute when the
/// interval is unknown), as samples rarely fall on the window's edges.
fn check_covered(
    engine: &Engine,
    window: &Window,
    path: &Path,
    interval: Option<Duration>,
) -> Result<(), Stop> {
    let Some((first, last)) = engine.span() else {
        return Err(Stop::new(format!("{} holds no samples", path.display())));
    };
    let slack = interval.map_or(60_000, |interval| interval.as_millis() as i64 * 3 / 2);
    let (start, end) = (window.start.as_millisecond(), window.end.as_millisecond());
    if start >= first - slack && end <= last + slack {
        return Ok(());
    }
    let instant = |millis: i64| {
        jiff::Timestamp::from_millisecond(millis)
            .map(format_instant)
            .unwrap_or_default()
    };
    let span = Duration::from_millis((last - first).max(0) as u64);
    Err(Stop::new(format!(
        "the window {} is not covered by {}, which holds samples from {} to {} ({}); pass \
         --start/--end or a --window inside it",
        window.describe(),
        path.display(),
        instant(first),
        instant(last),
        format_duration(span)
    )))
}
