//! `summit-slo run -- COMMAND`: run the load test, and judge the SLOs over
//! exactly the time it ran.
//!
//! In order: the SLOs are loaded and compiled first, so a broken spec never
//! costs a ten-minute load test; the command starts in its own process
//! group with its output passed through, in the terminal's foreground when
//! there is one, and SIGINT and SIGTERM sent to summit-slo are forwarded
//! to it; with `--scrape` the targets are scraped while it runs;
//! when it ends, the window is [start, end], the last scrapes are given
//! time to land, and the window is judged. The command's own exit status
//! is reported beside the verdicts.

use std::io::IsTerminal;
use std::os::fd::AsFd;
use std::time::Duration;

use jiff::Timestamp;
use tokio::process::Command;

use super::args::RunArgs;
use super::deliver::judge_and_deliver;
use super::job;
use super::source::{
    check_compiles, check_writable, client_config, discover_scrape_intervals, optional_duration,
    positive_duration, wait_for_settle,
};
use super::verify::{
    ASSUMED_SCRAPE_INTERVAL, DEFAULT_SCRAPE_INTERVAL, check_scrape_interval, judge_scraped,
    options, runtime, targets,
};
use super::{Stop, load_selected};
use crate::engine::Engine;
use crate::engine::scrape::{ScrapeReport, Until, probe, scrape};
use crate::eval::{self, CommandRun, ScrapeIntervals, Verification};
use crate::prometheus::Client;
use crate::report::Format;
use crate::time::{format_duration, parse_duration};
use crate::window::Window;

/// How often the progress line is printed on a terminal.
const PROGRESS_EVERY: Duration = Duration::from_secs(30);

/// Runs `run` and returns the exit code.
pub fn run(args: RunArgs) -> u8 {
    judge_and_deliver(&args.output, (&args.grafana, &args.annotation), |trend| {
        run_and_verify(&args, trend)
    })
}

fn run_and_verify(args: &RunArgs, trend: bool) -> Result<Verification, Stop> {
    let (_, slos) = load_selected(&args.input.slos, &args.input.select)?;
    let expected = args
        .window
        .expect
        .as_deref()
        .map(|text| parse_duration(text).map_err(|error| Stop::new(format!("--expect: {error}"))))
        .transpose()?;
    let settle = optional_duration(&args.window.settle, "--settle")?;
    let scrape_interval = positive_duration(&args.window.scrape_interval, "--scrape-interval")?;
    let scraping = !args.scrape.targets.is_empty();
    if args.scrape.record.is_some() && !scraping {
        return Err(Stop::new(
            "--record saves what --scrape collects; add --scrape",
        ));
    }
    let targets = targets(&args.scrape.targets)?;
    let runtime = runtime()?;

    // Everything that can be checked before the load test is checked
    // before it: the spec against a window of the expected length.
    let client = if scraping {
        None
    } else {
        Some(Client::new(client_config(&args.prometheus).map_err(Stop::new)?).map_err(Stop::new)?)
    };
    if scraping {
        check_scrape_interval(scrape_interval.unwrap_or(DEFAULT_SCRAPE_INTERVAL))?;
    }
    let intervals = match (scrape_interval, &client) {
        (Some(interval), _) => ScrapeIntervals::Fixed(interval),
        (None, None) => ScrapeIntervals::Fixed(DEFAULT_SCRAPE_INTERVAL),
        (None, Some(client)) => runtime.block_on(discover_scrape_intervals(client)),
    };
    let now = crate::time::now();
    let provisional = Window {
        start: now,
        end: now
            + jiff::SignedDuration::try_from(expected.unwrap_or(crate::window::DEFAULT_WINDOW))
                .map_err(Stop::new)?,
    };
    check_compiles(&slos, &provisional, &intervals, scraping).map_err(Stop::new)?;
    // And that what the window will be judged from answers, and that the
    // report and the recording can be written.
    match &client {
        Some(client) => runtime
            .block_on(client.query("vector(1)", now))
            .map(drop)
            .map_err(|error| {
                Stop::new(format!(
                    "Prometheus at {} does not answer: {error}; the load test was not started",
                    client.url()
                ))
            })?,
        None => runtime.block_on(probe(&targets)).map_err(|error| {
            Stop::new(format!(
                "--scrape target {error}; start the service before the load test (it was not started)"
            ))
        })?,
    }
    check_writable(args.output.output.as_deref(), "--output")?;
    check_writable(args.scrape.record.as_deref(), "--record")?;

    let interval = intervals.longest().unwrap_or(ASSUMED_SCRAPE_INTERVAL);
    let load_test = LoadTest {
        argv: &args.command,
        expected,
        stdout_to_stderr: args.output.output.is_none()
            && !matches!(args.output.format, Format::Table | Format::Github),
    };
    let (command, engine, report) = runtime.block_on(run_command(
        &load_test,
        scraping.then_some((targets.as_slice(), interval, args.scrape.max_samples)),
    ))?;
    // Prometheus stores what happened in the load test's last moments with
    // the first scrape after it ended; the window reaches that scrape, or
    // the last interval of every load test would go unjudged. Scraping
    // itself takes a last scrape when the command ends.
    let tail = if scraping {
        Duration::ZERO
    } else {
        slos.iter()
            .filter_map(|slo| intervals.for_slo(slo))
            .max()
            .unwrap_or(interval)
    };
    let window = Window {
        start: command.started,
        end: command.ended + jiff::SignedDuration::try_from(tail).map_err(Stop::new)?,
    };
    let through = if tail.is_zero() {
        String::new()
    } else {
        format!(
            " (its run and the {} scrape interval after it)",
            format_duration(tail)
        )
    };
    eprintln!(
        "summit-slo: the load test {}; judging {}{through}",
        command.describe(),
        window.describe()
    );
    check_compiles(&slos, &window, &intervals, scraping)
        .map_err(|error| Stop::new(format!("the load test {}; {error}", command.describe())))?;

    let verification = match (engine, report) {
        (Some(engine), Some(report)) => judge_scraped(
            args.scrape.record.as_deref(),
            &args.gate,
            engine,
            &report,
            window,
            intervals,
            &slos,
            &runtime,
            trend,
        )?,
        _ => {
            let client = client.expect("a client exists unless scraping");
            runtime.block_on(unless_interrupted(async {
                wait_for_settle(window, settle.unwrap_or(interval)).await;
                let options = options(&args.gate, window, intervals, trend);
                eval::verify(&slos, &eval::Source::Prometheus(client), &options)
                    .await
                    .map_err(Stop::new)
            }))?
        }
    };
    Ok(verification.with_command(command, args.window.allow_command_failure))
}

type Scraping<'a> = (&'a [crate::engine::scrape::Target], Duration, usize);

/// The load test to run.
struct LoadTest<'a> {
    /// The command and its arguments.
    argv: &'a [String],
    /// How long it should take (`--expect`).
    expected: Option<Duration>,
    /// Send its stdout to stderr, where it cannot corrupt a report.
    stdout_to_stderr: bool,
}

/// Runs the command to its end, scraping meanwhile when asked; returns how
/// it ran and what was scraped.
async fn run_command(
    load_test: &LoadTest<'_>,
    scraping: Option<Scraping<'_>>,
) -> Result<(CommandRun, Option<Engine>, Option<ScrapeReport>), Stop> {
    let (argv, expected) = (load_test.argv, load_test.expected);
    let (program, arguments) = argv
        .split_first()
        .ok_or_else(|| Stop::new("no command after --"))?;
    let mut command = Command::new(program);
    command.args(arguments).kill_on_drop(true);
    // summit-slo's settings, its secrets among them, are not the load test's
    // business; dropping the whole prefix keeps secrets added later out too.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SUMMIT_SLO_") {
            command.env_remove(name);
        }
    }
    if load_test.stdout_to_stderr {
        // The report is written to stdout; the load test's own output must
        // not end up inside it.
        let stderr = std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|error| Stop::new(format!("cannot pass stderr to the load test: {error}")))?;
        command.stdout(std::process::Stdio::from(stderr));
    }
    let job = job::prepare(&mut command);

    let started = now_millis();
    let mut child = command
        .spawn()
        .map_err(|error| Stop::new(format!("cannot start '{program}': {error}")))?;
    let pid = child.id().map(|pid| pid as i32);

    let (stop_scraping, scraping_stopped) = tokio::sync::watch::channel(false);
    let scraper = scraping.map(|(targets, interval, max_samples)| {
        let targets = targets.to_vec();
        tokio::spawn(async move {
            let mut engine = Engine::default();
            let report = scrape(
                &mut engine,
                &targets,
                interval,
                started.as_millisecond(),
                Until::Signal(scraping_stopped),
                max_samples,
                || crate::time::now().as_millisecond(),
            )
            .await;
            (engine, report)
        })
    });

    let waited = wait_forwarding_signals(&mut child, (&job, pid), started, expected).await;
    let ended = now_millis();
    drop(job);
    let (status, interrupted_by) = waited?;
    let _ = stop_scraping.send(true);
    let scraped = match scraper {
        Some(handle) => Some(
            handle
                .await
                .map_err(|error| Stop::new(format!("scraping failed: {error}")))?,
        ),
        None => None,
    };

    use std::os::unix::process::ExitStatusExt;
    let run = CommandRun {
        argv: argv.to_vec(),
        exit_code: status.code(),
        signal: status.signal(),
        started,
        ended,
        failure_allowed: false,
        interrupted_by,
        expected,
    };
    let (engine, report) = match scraped {
        Some((engine, report)) => (Some(engine), Some(report)),
        None => (None, None),
    };
    Ok((run, engine, report))
}

/// Waits for the child, passing on SIGINT, SIGTERM, SIGHUP and SIGQUIT as
/// `job` decides, and printing progress on a terminal. Returns its status
/// and the first of those signals received, if any.
async fn wait_forwarding_signals(
    child: &mut tokio::process::Child,
    (job, pid): (&job::Job, Option<i32>),
    started: Timestamp,
    expected: Option<Duration>,
) -> Result<(std::process::ExitStatus, Option<i32>), Stop> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).map_err(Stop::new)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(Stop::new)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(Stop::new)?;
    let mut quit = signal(SignalKind::quit()).map_err(Stop::new)?;
    let mut interrupted_by = None;
    let mut forward = |number: i32, name: &str| {
        eprintln!("summit-slo: the load test got {name}; its run will not count as complete");
        interrupted_by.get_or_insert(number);
        if let Some(pid) = pid {
            job.forward(pid, number);
        }
    };
    let show_progress = std::io::stderr().is_terminal();
    let mut progress = tokio::time::interval(PROGRESS_EVERY);
    progress.tick().await;
    loop {
        tokio::select! {
            status = child.wait() => {
                let status = status.map_err(|error| Stop::new(format!("waiting for the load test failed: {error}")))?;
                return Ok((status, interrupted_by));
            }
            _ = interrupt.recv() => forward(libc::SIGINT, "SIGINT"),
            _ = terminate.recv() => forward(libc::SIGTERM, "SIGTERM"),
            _ = hangup.recv() => forward(libc::SIGHUP, "SIGHUP"),
            _ = quit.recv() => forward(libc::SIGQUIT, "SIGQUIT"),
            _ = progress.tick(), if show_progress => {
                let elapsed = Duration::from_secs(
                    ((now_millis().as_millisecond() - started.as_millisecond()) / 1000).max(0) as u64,
                );
                let remaining = expected
                    .and_then(|expected| expected.checked_sub(elapsed))
                    .map(|left| format!(", about {} left", format_duration(left)))
                    .unwrap_or_default();
                eprintln!("summit-slo: load test running for {}{remaining}", format_duration(elapsed));
            }
        }
    }
}

/// Runs `work` unless SIGINT or SIGTERM comes first. The handlers that
/// forwarded them to the load test stay installed, so without this a
/// Ctrl-C while the window is judged would do nothing.
async fn unless_interrupted<T>(
    work: impl std::future::Future<Output = Result<T, Stop>>,
) -> Result<T, Stop> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).map_err(Stop::new)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(Stop::new)?;
    tokio::select! {
        result = work => result,
        _ = interrupt.recv() => Err(Stop::new("interrupted (SIGINT) while judging the window; no verdict")),
        _ = terminate.recv() => Err(Stop::new("terminated (SIGTERM) while judging the window; no verdict")),
    }
}

/// The clock, to the millisecond, as the API works.
fn now_millis() -> Timestamp {
    let now = crate::time::now();
    Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now)
}
