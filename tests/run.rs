//! `summit-slo run` end to end on loopback: a small instrumented stand-in
//! for Summit's API, a real Prometheus scraping it, and Locust loading it
//! through the gate, whose window must be the load test's own.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use support::{Prometheus, SloFiles, run, run_command};

const BOUNDS: [f64; 6] = [0.01, 0.025, 0.05, 0.1, 0.25, f64::INFINITY];

/// One operation's request count, cumulative bucket counts and latency sum.
type Operation = (u64, [u64; 6], f64);

/// Counts GraphQL requests by operation with a latency histogram, and
/// events, and remembers when the first and last request arrived.
#[derive(Default)]
struct Counters {
    operations: Mutex<std::collections::BTreeMap<String, Operation>>,
    events: AtomicU64,
    first: AtomicU64,
    last: AtomicU64,
}

struct SummitApi {
    address: String,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
}

impl SummitApi {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("loopback binds");
        listener.set_nonblocking(true).expect("non-blocking");
        let address = listener.local_addr().expect("bound").to_string();
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, running) = (counters.clone(), stop.clone());
        std::thread::spawn(move || {
            while !running.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let counters = shared.clone();
                        std::thread::spawn(move || serve(stream, &counters));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Self {
            address,
            counters,
            stop,
        }
    }
}

impl Drop for SummitApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64
}

fn serve(stream: std::net::TcpStream, counters: &Counters) {
    let _ = stream.set_nonblocking(false);
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut stream = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
            if header == "\r\n" {
                break;
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body = String::from_utf8_lossy(&body);
        let answer = if request_line.starts_with("GET /metrics") {
            exposition(counters)
        } else {
            let now = now_millis();
            let _ = counters
                .first
                .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
            counters.last.store(now, Ordering::Relaxed);
            if request_line.starts_with("POST /graphql") {
                let operation = ["GetEntity", "SearchEntities", "CreateRelationship"]
                    .into_iter()
                    .find(|name| body.contains(name))
                    .unwrap_or("unknown");
                // A made-up latency per operation, spread over the buckets.
                let seconds = match operation {
                    "GetEntity" => 0.008 + (now % 7) as f64 * 0.002,
                    "SearchEntities" => 0.02 + (now % 11) as f64 * 0.003,
                    _ => 0.04 + (now % 5) as f64 * 0.01,
                };
                let mut operations = counters.operations.lock().expect("not poisoned");
                let entry = operations.entry(operation.to_string()).or_default();
                entry.0 += 1;
                for (index, bound) in BOUNDS.iter().enumerate() {
                    if seconds <= *bound {
                        entry.1[index] += 1;
                    }
                }
                entry.2 += seconds;
                r#"{"data":{"entity":{"id":"e-1"}}}"#.to_string()
            } else {
                counters.events.fetch_add(1, Ordering::Relaxed);
                "{}".to_string()
            }
        };
        let written = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if written.is_err() {
            return;
        }
    }
}

fn exposition(counters: &Counters) -> String {
    let operations = counters.operations.lock().expect("not poisoned");
    let mut text = String::from("# TYPE graphql_requests_total counter\n");
    for (operation, (count, _, _)) in operations.iter() {
        text.push_str(&format!(
            "graphql_requests_total{{operation=\"{operation}\",status=\"ok\"}} {count}\n"
        ));
    }
    text.push_str("# TYPE graphql_request_duration_seconds histogram\n");
    for (operation, (count, buckets, sum)) in operations.iter() {
        for (bound, bucket) in BOUNDS.iter().zip(buckets) {
            let le = if bound.is_infinite() {
                "+Inf".to_string()
            } else {
                bound.to_string()
            };
            text.push_str(&format!(
                "graphql_request_duration_seconds_bucket{{operation=\"{operation}\",le=\"{le}\"}} {bucket}\n"
            ));
        }
        text.push_str(&format!(
            "graphql_request_duration_seconds_count{{operation=\"{operation}\"}} {count}\n"
        ));
        text.push_str(&format!(
            "graphql_request_duration_seconds_sum{{operation=\"{operation}\"}} {sum}\n"
        ));
    }
    text.push_str(&format!(
        "# TYPE summit_events_received_total counter\nsummit_events_received_total {}\n",
        counters.events.load(Ordering::Relaxed)
    ));
    text
}

const SLOS: &str = r#"
service: summit-api
slos:
  - name: graphql-latency-p95
    indicator:
      latency: {histogram: graphql_request_duration_seconds, selector: '{job="summit-api"}', quantile: 0.95}
    objective: "< 200ms"
    requires:
      - indicator: {rate: {counter: graphql_requests_total, selector: '{job="summit-api"}'}}
        objective: ">= 5/s"
  - name: graphql-errors
    indicator:
      ratio: {errors: 'graphql_requests_total{status="error"}', total: graphql_requests_total, selector: '{job="summit-api"}'}
    objective: "< 1%"
  - name: events-ingested
    indicator: {increase: {counter: summit_events_received_total, selector: '{job="summit-api"}'}}
    objective: "> 10"
"#;

fn locust_installed() -> bool {
    std::process::Command::new("locust")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

#[test]
fn locust_load_test_is_gated_over_exactly_its_run() {
    assert!(
        locust_installed(),
        "locust is not installed; the end-to-end test needs it: pip install locust (.ci/run does)"
    );
    let api = SummitApi::start();
    let prometheus = Prometheus::start_scraping(&[("summit-api", api.address.clone())], "1s");
    let slos = SloFiles::new(SLOS);
    let locustfile = support::root().join("tests/perf/locustfile.py");
    let host = format!("http://{}", api.address);

    let result = run(&[
        "run",
        "--slos",
        slos.path().to_str().expect("UTF-8"),
        "--prometheus",
        &prometheus.url,
        "--scrape-interval",
        "1s",
        "--settle",
        "3s",
        "--expect",
        "30s",
        "--format",
        "json",
        "--",
        "locust",
        "-f",
        locustfile.to_str().expect("UTF-8"),
        "--headless",
        "-u",
        "10",
        "-r",
        "10",
        "-t",
        "30s",
        "--host",
        &host,
        "--only-summary",
    ]);
    assert_eq!(
        result.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        result.stdout, result.stderr
    );
    let json = result.json();
    for slo in json["slos"].as_array().expect("slos") {
        assert_eq!(slo["verdict"], "pass", "{slo}");
    }
    let p95 = result.slo("graphql-latency-p95")["value"]
        .as_f64()
        .expect("a value");
    assert!(
        (0.01..0.1).contains(&p95),
        "the stand-in's latencies are 8–80ms: {p95}"
    );
    let rate = result.slo("graphql-latency-p95")["preconditions"][0]["value"]
        .as_f64()
        .expect("a rate");
    assert!(
        rate > 5.0,
        "ten Locust users make well over 5 requests/s: {rate}"
    );

    // The window is the load test's own run, and the scrape interval after
    // it, when Prometheus stores the run's last moments.
    let command = &json["command"];
    assert_eq!(command["exit_code"], 0, "{command}");
    assert_eq!(json["window"]["start"], command["started"]);
    let millis = |text: &serde_json::Value| {
        text.as_str()
            .expect("a time")
            .parse::<jiff::Timestamp>()
            .expect("RFC 3339")
            .as_millisecond()
    };
    assert_eq!(
        millis(&json["window"]["end"]) - millis(&command["ended"]),
        1_000,
        "one scrape interval past the end"
    );
    let seconds = json["window"]["seconds"].as_f64().expect("a length");
    assert!(
        (30.0..40.0).contains(&seconds),
        "locust -t 30s ran {seconds}s"
    );
    let at = |text: &serde_json::Value| {
        text.as_str()
            .expect("a time")
            .parse::<jiff::Timestamp>()
            .expect("RFC 3339")
            .as_millisecond() as u64
    };
    let (first, last) = (
        api.counters.first.load(Ordering::Relaxed),
        api.counters.last.load(Ordering::Relaxed),
    );
    assert!(
        at(&command["started"]) <= first,
        "the window starts before the first request"
    );
    assert!(last <= at(&command["ended"]), "and ends after the last");
    assert!(
        result.stderr.contains("the load test exited with 0"),
        "{}",
        result.stderr
    );
}

/// SLOs that hold for an idle stand-in API scraped by summit-slo itself.
const IDLE_SLOS: &str = r#"
service: summit-api
slos:
  - name: events-backlog
    indicator: {gauge: {metric: summit_events_received_total, selector: '{job="summit-api"}'}}
    objective: "< 100"
"#;

/// An idle stand-in API that `summit-slo run` scrapes itself, and SLOs
/// that hold for it.
struct IdleGate {
    _api: SummitApi,
    slos: SloFiles,
    target: String,
}

impl IdleGate {
    fn new() -> Self {
        let api = SummitApi::start();
        let target = format!("summit-api=http://{}/metrics", api.address);
        Self {
            _api: api,
            slos: SloFiles::new(IDLE_SLOS),
            target,
        }
    }

    /// `run` with the gate's flags, then `extra`, then `-- sh -c script`.
    fn args<'a>(&'a self, extra: &[&'a str], script: &'a str) -> Vec<&'a str> {
        let mut args = vec![
            "run",
            "--slos",
            self.slos.path().to_str().expect("UTF-8"),
            "--scrape",
            &self.target,
            "--scrape-interval",
            "1s",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "sh", "-c", script]);
        args
    }
}

/// Runs `script` under `summit-slo run`, scraping an idle stand-in API.
fn run_scraped(extra: &[&str], script: &str) -> support::Run {
    let gate = IdleGate::new();
    run(&gate.args(extra, script))
}

#[test]
fn a_failing_load_test_is_not_a_passing_gate() {
    let result = run_scraped(&["--format", "json"], "sleep 3; exit 7");
    assert_eq!(result.code, 2, "{}", result.stderr);
    let json = result.json();
    assert_eq!(json["slos"][0]["verdict"], "pass", "the SLO itself held");
    assert_eq!(json["verdict"], "inconclusive");
    assert_eq!(json["command"]["exit_code"], 7);
    assert_eq!(json["command"]["succeeded"], false);
    assert_eq!(json["command"]["failure_allowed"], false);
    assert!(
        result
            .stderr
            .contains("; the load test exited with 7 after 3"),
        "the verdict line says why: {}",
        result.stderr
    );

    let allowed = run_scraped(
        &["--format", "json", "--allow-command-failure"],
        "sleep 3; exit 7",
    );
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    assert_eq!(allowed.json()["command"]["failure_allowed"], true);

    let succeeded = run_scraped(&["--format", "json"], "sleep 3");
    assert_eq!(succeeded.code, 0, "{}", succeeded.stderr);
    assert_eq!(succeeded.json()["command"]["succeeded"], true);
}

#[test]
fn a_failing_load_test_is_reported_to_junit_and_github() {
    let directory = tempfile::tempdir().expect("temp dir");
    let junit = directory.path().join("report.xml");
    let result = run_scraped(
        &[
            "--format",
            "junit",
            "--output",
            junit.to_str().expect("UTF-8"),
        ],
        "sleep 3; exit 7",
    );
    assert_eq!(result.code, 2, "{}", result.stderr);
    let xml = std::fs::read_to_string(&junit).expect("written");
    assert!(
        xml.contains(r#"<testsuites name="summit-slo" tests="2" failures="0" errors="1""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<property name="exit_code" value="7"/>"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<error message="the load test exited with 7 after 3"#),
        "{xml}"
    );
    support::assert_valid_junit(&junit);

    let github = run_scraped(&["--format", "github"], "sleep 3; exit 7");
    assert_eq!(github.code, 2, "{}", github.stderr);
    let annotation = github
        .stdout
        .lines()
        .find(|line| line.starts_with("::error title=load test did not run as planned::"))
        .unwrap_or_else(|| panic!("no annotation for the load test: {}", github.stdout));
    assert!(
        annotation.contains("`sh -c 'sleep 3; exit 7'`: the load test exited with 7"),
        "{annotation}"
    );
}

#[test]
fn sigterm_is_passed_to_the_load_test_whose_run_then_does_not_count() {
    let gate = IdleGate::new();
    let directory = tempfile::tempdir().expect("temp dir");
    let marker = directory.path().join("got-term");
    // Like Locust, the load test ends cleanly (exit 0) when told to stop.
    let script = format!(
        "trap 'touch {}; exit 0' TERM; for i in $(seq 1 100); do sleep 0.1; done",
        marker.display()
    );
    let child = support::binary()
        .args(gate.args(&["--format", "json"], &script))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    // Past two scrape intervals, so the window it leaves can be judged.
    std::thread::sleep(Duration::from_millis(3500));
    // SAFETY: kill(2) on the child we just spawned.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let output = child.wait_with_output().expect("finishes");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(marker.exists(), "the load test received SIGTERM: {stderr}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    assert_eq!(json["command"]["exit_code"], 0);
    assert_eq!(json["command"]["interrupted_by"], libc::SIGTERM);
    assert_eq!(json["slos"][0]["verdict"], "pass", "the SLO itself held");
    assert_eq!(
        output.status.code(),
        Some(2),
        "an interrupted load test proves nothing: {stderr}"
    );
    assert!(
        stderr.contains("the load test was interrupted by SIGTERM"),
        "{stderr}"
    );
}

#[test]
fn a_load_test_cut_short_or_killed_is_not_waived() {
    let short = run_scraped(&["--format", "json", "--expect", "20s"], "sleep 3");
    assert_eq!(short.code, 2, "{}", short.stderr);
    assert!(
        short.stderr.contains("of the 20s expected (--expect)"),
        "{}",
        short.stderr
    );
    assert_eq!(short.json()["command"]["expected_seconds"], 20.0);

    let killed = run_scraped(
        &["--format", "json", "--allow-command-failure"],
        "sleep 3; kill -9 $$",
    );
    assert_eq!(killed.code, 2, "a signal is not waived: {}", killed.stderr);
    assert!(
        killed.stderr.contains("the load test was ended by SIGKILL"),
        "{}",
        killed.stderr
    );

    let failed = run_scraped(
        &["--format", "json", "--allow-command-failure"],
        "sleep 3; exit 1",
    );
    assert_eq!(failed.code, 0, "an exit code is waived: {}", failed.stderr);
}

#[test]
fn the_load_tests_output_and_secrets_stay_out_of_the_report() {
    let gate = IdleGate::new();
    let result = run_command(
        support::binary()
            .args(gate.args(
                &["--format", "json"],
                "echo \"from-the-load-test token=[$SUMMIT_SLO_PROMETHEUS_TOKEN$SUMMIT_SLO_WEBHOOK_TOKEN]\"; sleep 3",
            ))
            .env("SUMMIT_SLO_PROMETHEUS_TOKEN", "s3cret-token")
            .env("SUMMIT_SLO_WEBHOOK_TOKEN", "webhook-s3cret"),
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    let json = result.json();
    assert_eq!(json["slos"][0]["verdict"], "pass");
    assert!(
        result.stderr.contains("from-the-load-test token=[]"),
        "the output goes to stderr, without the token: {}",
        result.stderr
    );
}

#[test]
fn what_the_window_is_judged_from_must_answer_before_the_load_test_starts() {
    let slos = SloFiles::new(IDLE_SLOS);
    let directory = tempfile::tempdir().expect("temp dir");
    let marker = directory.path().join("ran");
    let closed = support::free_port();
    let scrape_closed = format!("summit-api=http://127.0.0.1:{closed}/metrics");
    let unwritable = directory.path().join("missing/report.json");
    let prometheus_url = format!("http://127.0.0.1:{closed}");
    for (extra, expected) in [
        (
            vec!["--prometheus", prometheus_url.as_str(), "--retries", "0"],
            "does not answer",
        ),
        (vec!["--scrape", scrape_closed.as_str()], "does not answer"),
        (
            vec![
                "--prometheus",
                prometheus_url.as_str(),
                "--output",
                unwritable.to_str().expect("UTF-8"),
            ],
            "cannot write",
        ),
    ] {
        let mut args = vec!["run", "--slos", slos.path().to_str().expect("UTF-8")];
        args.extend(extra.iter().copied());
        args.extend(["--", "touch", marker.to_str().expect("UTF-8")]);
        let result = run(&args);
        assert_eq!(result.code, 3, "{extra:?}: {}", result.stderr);
        assert!(
            result.stderr.contains(expected),
            "{extra:?}: {}",
            result.stderr
        );
        assert!(!marker.exists(), "{extra:?}: the load test never started");
    }
}

#[test]
fn a_broken_spec_stops_before_the_load_test_starts() {
    let slos = SloFiles::new(
        "service: x\nslos:\n  - name: y\n    indicator: {rate: {counter: x_total}}\n    objective: \"fast\"\n",
    );
    let directory = tempfile::tempdir().expect("temp dir");
    let marker = directory.path().join("ran");
    let result = run(&[
        "run",
        "--slos",
        slos.path().to_str().expect("UTF-8"),
        "--",
        "touch",
        marker.to_str().expect("UTF-8"),
    ]);
    assert_eq!(result.code, 3);
    assert!(!marker.exists(), "the load test never started");
}

/// What a run on a terminal showed, and how it ended.
struct TerminalRun {
    code: Option<i32>,
    screen: String,
}

/// Runs summit-slo as an interactive shell would: on a new pseudo-terminal
/// whose foreground it holds. `keys` are typed after their delay. Gives up
/// (killing the run) after `limit`.
fn run_on_terminal(args: &[&str], keys: &[(Duration, &[u8])], limit: Duration) -> TerminalRun {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;

    let (mut primary, secondary) = {
        let (mut primary, mut secondary) = (0, 0);
        // SAFETY: openpty writes two descriptors into the given integers.
        let opened = unsafe {
            libc::openpty(
                &mut primary,
                &mut secondary,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors were just opened and are owned here.
        unsafe {
            (
                std::fs::File::from(OwnedFd::from_raw_fd(primary)),
                OwnedFd::from_raw_fd(secondary),
            )
        }
    };
    let mut command = support::binary();
    command
        .args(args)
        .stdin(Stdio::from(secondary.try_clone().expect("dup")))
        .stdout(Stdio::from(secondary.try_clone().expect("dup")))
        .stderr(Stdio::from(secondary));
    // SAFETY: setsid and ioctl are async-signal-safe; they make the child
    // a session leader whose controlling terminal is the new one.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().expect("the binary runs");
    drop(command);

    let screen = Arc::new(Mutex::new(Vec::new()));
    let mut reader = primary.try_clone().expect("dup");
    let shown = screen.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        // Reading ends with EIO once every holder of the terminal is gone.
        while let Ok(count @ 1..) = reader.read(&mut buffer) {
            shown
                .lock()
                .expect("not poisoned")
                .extend_from_slice(&buffer[..count]);
        }
    });

    let started = std::time::Instant::now();
    let mut keys = keys.iter().peekable();
    let code = loop {
        if let Some(status) = child.try_wait().expect("waitable") {
            break status.code();
        }
        if let Some((delay, bytes)) = keys.peek()
            && started.elapsed() >= *delay
        {
            primary.write_all(bytes).expect("typed");
            keys.next();
        }
        if started.elapsed() > limit {
            // SAFETY: kill(2) on the session this test started.
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(200));
    let screen = String::from_utf8_lossy(&screen.lock().expect("not poisoned")).into_owned();
    TerminalRun { code, screen }
}

#[test]
fn the_load_test_owns_the_terminal_while_it_runs() {
    let gate = IdleGate::new();
    // Setting the terminal's modes, as Locust does on a terminal, stops a
    // process that is not in the terminal's foreground.
    let result = run_on_terminal(
        &gate.args(&[], "sleep 2; stty -echo && stty echo && echo terminal-ok"),
        &[],
        Duration::from_secs(30),
    );
    assert_eq!(result.code, Some(0), "{}", result.screen);
    assert!(result.screen.contains("terminal-ok"), "{}", result.screen);
    assert!(
        result.screen.contains("verdict: PASS"),
        "summit-slo printed after taking the terminal back: {}",
        result.screen
    );
}

#[test]
fn ctrl_c_on_a_terminal_ends_the_load_test_once_and_the_window_is_judged() {
    let gate = IdleGate::new();
    let directory = tempfile::tempdir().expect("temp dir");
    let report = directory.path().join("report.json");
    let result = run_on_terminal(
        &gate.args(
            &[
                "--format",
                "json",
                "--output",
                report.to_str().expect("UTF-8"),
            ],
            // Like Locust, the load test stops cleanly (exit 0) on Ctrl-C.
            "trap 'echo got-int; exit 0' INT; for i in $(seq 1 300); do sleep 0.1; done",
        ),
        &[(Duration::from_secs(4), b"\x03")],
        Duration::from_secs(40),
    );
    assert_eq!(
        result.code,
        Some(2),
        "a run cut short by Ctrl-C proves nothing: {}",
        result.screen
    );
    assert_eq!(
        result.screen.matches("got-int").count(),
        1,
        "{}",
        result.screen
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("written")).expect("JSON");
    assert_eq!(json["command"]["exit_code"], 0, "{json}");
    assert_eq!(json["command"]["interrupted_by"], libc::SIGINT, "{json}");
    assert_eq!(json["slos"][0]["verdict"], "pass", "{json}");
    let seconds = json["window"]["seconds"].as_f64().expect("seconds");
    assert!((3.5..10.0).contains(&seconds), "window of {seconds}s");
}

#[test]
fn a_signal_from_another_process_reaches_a_load_test_on_a_terminal() {
    // On a terminal the load test shares summit-slo's process group; a
    // SIGTERM sent to summit-slo alone must still reach it, once.
    let gate = IdleGate::new();
    let result = run_on_terminal(
        &gate.args(
            &[],
            "trap 'echo got-term; exit 0' TERM; sleep 3; kill -TERM $PPID; for i in $(seq 1 300); do sleep 0.1; done",
        ),
        &[],
        Duration::from_secs(40),
    );
    assert_eq!(result.code, Some(2), "{}", result.screen);
    assert_eq!(
        result.screen.matches("got-term").count(),
        1,
        "{}",
        result.screen
    );
    assert!(
        result
            .screen
            .contains("the load test was interrupted by SIGTERM"),
        "{}",
        result.screen
    );
}

#[test]
fn ctrl_c_while_the_window_is_judged_stops_without_a_verdict() {
    let prometheus = Prometheus::start(&["release-pass"]);
    let slos = SloFiles::new(SLOS);
    let directory = tempfile::tempdir().expect("temp dir");
    let report = directory.path().join("report.json");
    let result = run_on_terminal(
        &[
            "run",
            "--slos",
            slos.path().to_str().expect("UTF-8"),
            "--prometheus",
            &prometheus.url,
            "--scrape-interval",
            "1s",
            "--settle",
            "60s",
            "--format",
            "json",
            "--output",
            report.to_str().expect("UTF-8"),
            "--",
            "sleep",
            "3",
        ],
        &[(Duration::from_secs(6), b"\x03")],
        Duration::from_secs(30),
    );
    assert_eq!(result.code, Some(3), "{}", result.screen);
    assert!(
        result
            .screen
            .contains("interrupted (SIGINT) while judging the window"),
        "{}",
        result.screen
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("written")).expect("JSON");
    assert_eq!(json["verdict"], serde_json::Value::Null, "{json}");
    assert_eq!(json["exit_code"], 3, "{json}");
}

#[test]
fn what_happens_after_the_last_scrape_of_the_run_is_judged() {
    // Events posted in the load test's last moment reach Prometheus only
    // with the first scrape after the command ended.
    let api = SummitApi::start();
    let prometheus = Prometheus::start_scraping(&[("summit-api", api.address.clone())], "5s");
    let slos = SloFiles::new(
        "service: summit-api\nslos:\n  - name: no-events\n    indicator: {increase: {counter: summit_events_received_total, selector: '{job=\"summit-api\"}'}}\n    objective: \"== 0\"\n",
    );
    // Prometheus picks up static targets within about five seconds.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while prometheus
        .series("/api/v1/query?query=summit_events_received_total")
        .is_empty()
    {
        assert!(std::time::Instant::now() < deadline, "never scraped");
        std::thread::sleep(Duration::from_millis(200));
    }
    let post = format!(
        "import urllib.request\nfor _ in range(5): urllib.request.urlopen(urllib.request.Request('http://{}/events', data=b'{{}}', method='POST')).read()",
        api.address
    );
    let script = format!("sleep 11; python3 -c \"{post}\"");
    let result = run(&[
        "run",
        "--slos",
        slos.path().to_str().expect("UTF-8"),
        "--prometheus",
        &prometheus.url,
        "--scrape-interval",
        "5s",
        "--format",
        "json",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    let slo = result.slo("no-events");
    assert_eq!(slo["verdict"], "fail", "{slo}");
    // Five events, extrapolated by increase() as Prometheus does.
    let value = slo["value"].as_f64().expect("a value");
    assert!((5.0..8.0).contains(&value), "{slo}");
}
