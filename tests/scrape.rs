//! `verify --scrape` against a small instrumented target on loopback whose
//! metrics move while it is scraped, and the recording it leaves behind.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use support::{SloFiles, run};

/// Serves `/metrics` whose counters grow with time: 100 requests/s, 1% of
/// them errors, latencies spread over the histogram's buckets, and a queue
/// that grows by 5 per second.
struct Target {
    url: String,
    stop: Arc<AtomicBool>,
}

impl Target {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("loopback binds");
        listener.set_nonblocking(true).expect("non-blocking");
        let url = format!("http://{}/metrics", listener.local_addr().expect("bound"));
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let running = stop.clone();
        std::thread::spawn(move || {
            while !running.load(Ordering::Relaxed) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|read| read > 2) {
                    line.clear();
                }
                let seconds = started.elapsed().as_secs_f64();
                let body = exposition(seconds);
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { url, stop }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn exposition(seconds: f64) -> String {
    let requests = (100.0 * seconds).floor();
    let errors = (requests / 100.0).floor();
    let buckets = [
        ("0.05", 0.5),
        ("0.1", 0.8),
        ("0.25", 0.97),
        ("0.5", 0.99),
        ("+Inf", 1.0),
    ];
    let mut text = String::from("# TYPE demo_requests_total counter\n");
    text.push_str(&format!(
        "demo_requests_total{{code=\"200\"}} {}\n",
        requests - errors
    ));
    text.push_str(&format!("demo_requests_total{{code=\"500\"}} {errors}\n"));
    text.push_str("# TYPE demo_latency_seconds histogram\n");
    for (le, share) in buckets {
        text.push_str(&format!(
            "demo_latency_seconds_bucket{{le=\"{le}\"}} {}\n",
            (requests * share).floor()
        ));
    }
    text.push_str(&format!("demo_latency_seconds_count {requests}\n"));
    text.push_str(&format!("demo_latency_seconds_sum {}\n", requests * 0.06));
    text.push_str(&format!("demo_queue_depth {}\n", (5.0 * seconds).floor()));
    text
}

const SLOS: &str = r#"
service: demo
slos:
  - name: throughput
    indicator: {rate: {counter: demo_requests_total, selector: '{job="demo"}'}}
    objective: ">= 50/s"
  - name: availability
    indicator:
      ratio: {errors: 'demo_requests_total{code="500"}', total: demo_requests_total, selector: '{job="demo"}'}
    objective: "< 5%"
  - name: latency-p95
    indicator:
      latency: {histogram: demo_latency_seconds, selector: '{job="demo"}', quantile: 0.95}
    objective: "< 300ms"
  - name: latency-p95-strict
    indicator:
      latency: {histogram: demo_latency_seconds, selector: '{job="demo"}', quantile: 0.95}
    objective: "< 10ms"
  - name: queue-peak
    indicator: {gauge: {metric: demo_queue_depth, selector: '{job="demo"}'}}
    objective: "< 1000"
  - name: down-throughput
    indicator: {rate: {counter: demo_requests_total, selector: '{job="down"}'}}
    objective: ">= 1/s"
"#;

#[test]
fn scraping_a_live_target_judges_and_records_the_window() {
    let target = Target::start();
    let closed = support::free_port();
    let slos = SloFiles::new(SLOS);
    let directory = tempfile::tempdir().expect("temp dir");
    let recording = directory.path().join("scraped.om");
    let started = Instant::now();
    let result = run(&[
        "verify",
        "--slos",
        slos.path().to_str().expect("UTF-8"),
        "--scrape",
        &format!("demo={}", target.url),
        "--scrape",
        &format!("down=http://127.0.0.1:{closed}/metrics"),
        "--scrape-interval",
        "1s",
        "--window",
        "6s",
        "--record",
        recording.to_str().expect("UTF-8"),
        "--format",
        "json",
    ]);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(6),
        "the window is scraped in real time: {elapsed:?}"
    );
    assert_eq!(
        result.code, 1,
        "the strict latency SLO fails: {}",
        result.stderr
    );

    let throughput = result.slo("throughput");
    assert_eq!(throughput["verdict"], "pass");
    let rate = throughput["value"].as_f64().expect("a rate");
    assert!(
        (80.0..125.0).contains(&rate),
        "about 100 requests/s: {rate}"
    );
    let availability = result.slo("availability")["value"]
        .as_f64()
        .expect("a ratio");
    assert!(
        (0.005..0.015).contains(&availability),
        "about 1% errors: {availability}"
    );
    let p95 = result.slo("latency-p95")["value"]
        .as_f64()
        .expect("a quantile");
    assert!(
        (0.1..0.25).contains(&p95),
        "p95 falls in the (0.1, 0.25] bucket: {p95}"
    );
    assert_eq!(result.slo("latency-p95-strict")["verdict"], "fail");
    assert_eq!(result.slo("queue-peak")["verdict"], "pass");

    let down = result.slo("down-throughput");
    assert_eq!(down["verdict"], "inconclusive");
    assert_eq!(down["reason"], "too_few_scrapes");
    assert!(
        down["message"]
            .as_str()
            .unwrap_or_default()
            .contains("answered 0 of 7 scrapes"),
        "{down}"
    );
    assert!(
        result.stderr.contains("scraped http://127.0.0.1:"),
        "{}",
        result.stderr
    );

    let text = std::fs::read_to_string(&recording).expect("the recording is written");
    assert!(text.ends_with("# EOF\n"));
    let samples = text
        .lines()
        .filter(|line| line.starts_with("demo_requests_total{"))
        .count();
    assert_eq!(samples, 2 * 7, "two series, seven scrapes (at 0s..6s)");
    assert!(
        text.contains(r#"demo_requests_total{code="500",instance="127.0.0.1:"#),
        "{text}"
    );
    assert!(text.contains(r#"job="demo"}"#), "{text}");

    // The recording replays to the same verdicts over the same window.
    let window = result.json()["window"].clone();
    let replayed = run(&[
        "verify",
        "--slos",
        slos.path().to_str().expect("UTF-8"),
        "--replay",
        recording.to_str().expect("UTF-8"),
        "--start",
        window["start"].as_str().expect("start"),
        "--end",
        window["end"].as_str().expect("end"),
        "--select",
        "demo/throughput",
        "--select",
        "demo/availability",
        "--select",
        "demo/latency-p95*",
        "--select",
        "demo/queue-peak",
        "--format",
        "json",
    ]);
    assert_eq!(replayed.code, 1, "{}", replayed.stderr);
    for name in [
        "throughput",
        "availability",
        "latency-p95",
        "latency-p95-strict",
        "queue-peak",
    ] {
        let (live, again) = (result.slo(name), replayed.slo(name));
        assert_eq!(live["verdict"], again["verdict"], "{name}");
        assert_eq!(
            live["value"], again["value"],
            "{name}: the recording holds what was scraped"
        );
    }
}

#[test]
fn scrape_refuses_fixed_windows_and_replays() {
    let result = run(&[
        "verify",
        "--scrape",
        "http://127.0.0.1:9/metrics",
        "--end",
        "now-1h",
    ]);
    assert_eq!(result.code, 3);
    assert!(
        result.stderr.contains("drop --start and --end"),
        "{}",
        result.stderr
    );
    let both = run(&[
        "verify",
        "--scrape",
        "http://127.0.0.1:9/metrics",
        "--replay",
        "fixtures/release-pass.om",
    ]);
    assert_eq!(both.code, 3);
    let record_alone = run(&["verify", "--record", "/tmp/x.om", "--end", "now-1h"]);
    assert_eq!(record_alone.code, 3);
    assert!(
        record_alone.stderr.contains("add --scrape"),
        "{}",
        record_alone.stderr
    );
    for (target, interval, expected) in [
        (
            "http://127.0.0.1:9/metrics",
            "10ms",
            "too short for --scrape",
        ),
        (
            "=http://127.0.0.1:9/metrics",
            "1s",
            "the job name before '=' is empty",
        ),
    ] {
        let refused = run(&[
            "verify",
            "--scrape",
            target,
            "--scrape-interval",
            interval,
            "--window",
            "2s",
        ]);
        assert_eq!(refused.code, 3, "{}", refused.stderr);
        assert!(refused.stderr.contains(expected), "{}", refused.stderr);
    }
}

/// Scrapes `targets` for a few seconds and judges `SLOS` as JSON.
fn scrape_briefly(targets: &[String], extra: &[&str]) -> support::Run {
    let slos = SloFiles::new(SLOS);
    let mut args = vec![
        "verify",
        "--slos",
        slos.path().to_str().expect("UTF-8"),
        "--select",
        "demo/throughput",
        "--select",
        "demo/latency-p95-strict",
        "--scrape-interval",
        "1s",
        "--window",
        "4s",
        "--format",
        "json",
    ];
    for target in targets {
        args.extend(["--scrape", target.as_str()]);
    }
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn a_replica_that_never_answers_is_not_ignored() {
    let target = Target::start();
    let closed = support::free_port();
    // Two replicas of one job; one of them is down the whole window and
    // left no series to recognise it by.
    let result = scrape_briefly(
        &[
            format!("demo={}", target.url),
            format!("demo=http://127.0.0.1:{closed}/metrics"),
        ],
        &[],
    );
    assert_eq!(result.code, 1, "{}", result.stderr);
    let throughput = result.slo("throughput");
    assert_eq!(throughput["verdict"], "inconclusive", "{throughput}");
    assert_eq!(throughput["reason"], "too_few_scrapes");
    assert!(
        throughput["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!(
                "127.0.0.1:{closed}/metrics answered 0 of 5 scrapes"
            )),
        "{throughput}"
    );
    assert_eq!(
        result.slo("latency-p95-strict")["verdict"],
        "fail",
        "a failure in the data that was scraped stays a failure"
    );
}

#[test]
fn dropped_samples_make_passing_slos_inconclusive() {
    let target = Target::start();
    // Ten samples a scrape: the limit drops everything after the third.
    let limited = scrape_briefly(&[format!("demo={}", target.url)], &["--max-samples", "30"]);
    assert_eq!(limited.code, 1, "{}", limited.stderr);
    let throughput = limited.slo("throughput");
    assert_eq!(throughput["verdict"], "inconclusive", "{throughput}");
    assert_eq!(throughput["reason"], "partial_response");
    assert!(
        throughput["message"]
            .as_str()
            .unwrap_or_default()
            .contains("the sample limit (--max-samples) was reached at"),
        "{throughput}"
    );
    assert_eq!(limited.slo("latency-p95-strict")["verdict"], "fail");

    let allowed = scrape_briefly(
        &[format!("demo={}", target.url)],
        &["--max-samples", "30", "--allow-partial"],
    );
    let throughput = allowed.slo("throughput");
    assert_eq!(throughput["verdict"], "pass", "{throughput}");
    assert_eq!(throughput["partial"], true);
}

/// Serves `body(seconds since start)` as `/metrics`.
fn serve_changing(body: fn(f64) -> String) -> (String, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("loopback binds");
    listener.set_nonblocking(true).expect("non-blocking");
    let url = format!("http://{}/metrics", listener.local_addr().expect("bound"));
    let stop = Arc::new(AtomicBool::new(false));
    let running = stop.clone();
    let started = Instant::now();
    std::thread::spawn(move || {
        while !running.load(Ordering::Relaxed) {
            let Ok((stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            let _ = stream.set_nonblocking(false);
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|read| read > 2) {
                line.clear();
            }
            let text = body(started.elapsed().as_secs_f64());
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    (url, stop)
}

/// Scrapes `url` as job `demo` for `window` at one-second intervals while
/// recording, then replays the recording over the same window; returns both
/// runs and the recording's text.
fn scrape_then_replay(
    slos: &SloFiles,
    url: &str,
    window: &str,
) -> (support::Run, support::Run, String) {
    let directory = tempfile::tempdir().expect("temp dir");
    let recording = directory.path().join("recording.om");
    let slos = slos.path().to_str().expect("UTF-8");
    let recording_path = recording.to_str().expect("UTF-8");
    let scraped = run(&[
        "verify",
        "--slos",
        slos,
        "--scrape",
        &format!("demo={url}"),
        "--scrape-interval",
        "1s",
        "--window",
        window,
        "--record",
        recording_path,
        "--format",
        "json",
    ]);
    let judged = scraped.json()["window"].clone();
    let replayed = run(&[
        "verify",
        "--slos",
        slos,
        "--replay",
        recording_path,
        "--start",
        judged["start"].as_str().expect("start"),
        "--end",
        judged["end"].as_str().expect("end"),
        "--format",
        "json",
    ]);
    let text = std::fs::read_to_string(&recording).expect("written");
    (scraped, replayed, text)
}

#[test]
fn errors_that_first_appear_after_the_first_scrape_count() {
    // The error series is born half a second in, after the first scrape.
    let (url, stop) = serve_changing(|seconds| {
        let mut text = format!(
            "# TYPE req_total counter\nreq_total{{code=\"200\"}} {}\n",
            (100.0 * seconds).floor()
        );
        if seconds > 0.5 {
            text.push_str("req_total{code=\"500\"} 90\n");
        }
        text
    });
    let slos = SloFiles::new(
        "service: demo\nslos:\n  - name: errors\n    indicator: {ratio: {errors: 'req_total{code=\"500\"}', total: req_total}}\n    objective: \"< 1%\"\n",
    );
    let (scraped, replayed, _) = scrape_then_replay(&slos, &url, "4s");
    stop.store(true, Ordering::Relaxed);
    assert_eq!(scraped.code, 1, "{}", scraped.stderr);
    let errors = scraped.slo("errors")["value"].as_f64().expect("a ratio");
    assert!(
        (0.1..0.35).contains(&errors),
        "90 errors among about 400 requests: {errors}"
    );
    assert_eq!(replayed.code, 1, "{}", replayed.stderr);
    assert_eq!(
        replayed.slo("errors")["value"],
        scraped.slo("errors")["value"]
    );
}

#[test]
fn a_recording_keeps_the_scrapes_that_failed() {
    // The target answers its first two scrapes, then fails.
    let (url, stop) = serve_changing(|seconds| {
        if seconds < 1.5 {
            format!(
                "# TYPE demo_queue_depth gauge\ndemo_queue_depth {}\n",
                seconds.floor()
            )
        } else {
            "not: valid exposition{".to_string()
        }
    });
    let slos = SloFiles::new(
        "service: demo\nslos:\n  - name: queue\n    indicator: {gauge: {metric: demo_queue_depth, selector: '{job=\"demo\"}'}}\n    objective: \"< 100\"\n",
    );
    let (scraped, replayed, text) = scrape_then_replay(&slos, &url, "5s");
    stop.store(true, Ordering::Relaxed);
    assert_eq!(scraped.code, 2, "{}", scraped.stderr);
    assert!(text.contains("up{instance="), "{text}");
    assert!(text.contains("} 0 "), "failed scrapes are recorded: {text}");
    assert_eq!(
        replayed.code, 2,
        "a replay sees the failures: {}",
        replayed.stderr
    );
    assert_eq!(replayed.slo("queue")["reason"], "too_few_scrapes");
}
