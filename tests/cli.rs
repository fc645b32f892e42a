//! The command line as users meet it: help, bad flags, environment
//! variables, output files, and engines that misbehave.

mod support;

use std::time::{Duration, Instant};

use support::proxy::{Fault, Proxy, Rule};
use support::{Prometheus, SloFiles, binary, root, run, run_command, verify_json};

#[test]
fn verify_help_explains_every_flag_with_examples() {
    let help = run(&["verify", "--help"]);
    assert_eq!(help.code, 0);
    for flag in [
        "--slos",
        "--select",
        "--window",
        "--end",
        "--start",
        "--settle",
        "--scrape-interval",
        "--prometheus",
        "--prometheus-token-file",
        "--query-timeout",
        "--deadline",
        "--retries",
        "--concurrency",
        "--format",
        "--output",
        "--strict",
        "--allow-partial",
    ] {
        assert!(
            help.stdout.contains(flag),
            "{flag} missing from verify --help"
        );
    }
    for heading in [
        "Input:",
        "Window:",
        "Prometheus:",
        "Output:",
        "Gate:",
        "Examples:",
    ] {
        assert!(
            help.stdout.contains(heading),
            "{heading} missing from verify --help"
        );
    }
    assert!(help.stdout.contains("SUMMIT_SLO_PROMETHEUS_URL"));
    assert!(
        help.stdout.contains("<DURATION>"),
        "value names show their format"
    );

    let top = run(&["--help"]);
    assert!(top.stdout.contains("Exit codes"), "{}", top.stdout);
}

#[test]
fn bad_arguments_exit_3_not_2() {
    let unknown = run(&["verify", "--windw", "10m"]);
    assert_eq!(
        unknown.code, 3,
        "exit 2 means inconclusive; bad flags mean the tool could not run"
    );
    assert!(unknown.stderr.contains("--windw"), "{}", unknown.stderr);

    let format = run(&["verify", "--format", "yaml"]);
    assert_eq!(format.code, 3);

    let duration = run(&["verify", "--window", "600", "--end", "now-1h"]);
    assert_eq!(duration.code, 3);
    assert!(
        duration.stderr.contains("a number needs a unit"),
        "{}",
        duration.stderr
    );

    let url = run(&["verify", "--prometheus", "not a url", "--end", "now-1h"]);
    assert_eq!(url.code, 3);
    assert!(url.stderr.contains("--prometheus"), "{}", url.stderr);

    let no_command = run(&[]);
    assert_eq!(no_command.code, 3);
}

#[test]
fn prometheus_url_comes_from_the_environment() {
    let prometheus = Prometheus::start(&["release-pass"]);
    let result = run_command(
        binary()
            .env("SUMMIT_SLO_PROMETHEUS_URL", &prometheus.url)
            .args([
                "verify",
                "--end",
                support::WINDOW_END,
                "--settle",
                "0s",
                "--select",
                "summit-workers/*",
                "--format",
                "json",
            ]),
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(
        result.json()["summary"]["total"],
        2,
        "--select picked the workers' SLOs"
    );
    assert!(
        result.stderr.contains("verdict: PASS"),
        "the verdict line goes to stderr: {}",
        result.stderr
    );
}

#[test]
fn unreachable_server_is_inconclusive_not_a_crash() {
    let port = support::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let result = verify_json(&url, &root().join("slos"), &["--retries", "1"]);
    assert_eq!(result.code, 2, "{}", result.stderr);
    for slo in result.json()["slos"].as_array().expect("slos") {
        assert_eq!(slo["verdict"], "inconclusive");
        assert_eq!(slo["reason"], "query_error");
        assert!(
            slo["message"]
                .as_str()
                .unwrap_or_default()
                .contains("cannot reach"),
            "{slo}"
        );
    }
}

#[test]
fn credentials_in_the_url_never_appear_in_output() {
    let prometheus = Prometheus::start(&["release-pass"]);
    let url = prometheus
        .url
        .replace("http://", "http://gate:s3cr3t-pa55@");
    let result = verify_json(&url, &root().join("slos"), &["-vv"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(!result.stdout.contains("s3cr3t-pa55"));
    assert!(!result.stderr.contains("s3cr3t-pa55"));
}

fn slo_with_marker() -> SloFiles {
    SloFiles::new(
        "service: checkout\nslos:\n  - name: checkout-throughput\n    indicator: {rate: {counter: http_requests_total, selector: '{job=\"checkout\", marker!=\"fault\"}'}}\n    objective: \">= 1/s\"\n",
    )
}

fn fault(fault: Fault) -> (Prometheus, Proxy) {
    let prometheus = Prometheus::start(&["checkout-slices"]);
    let proxy = Proxy::start(
        Some(prometheus.port()),
        vec![Rule {
            marker: r#"marker!="fault""#.into(),
            fault,
            times: None,
        }],
    );
    (prometheus, proxy)
}

#[test]
fn hanging_server_times_out_per_query_and_is_inconclusive() {
    let (_prometheus, proxy) = fault(Fault::Hang);
    let slos = slo_with_marker();
    let started = Instant::now();
    let result = verify_json(
        &proxy.url,
        slos.path(),
        &["--query-timeout", "1s", "--retries", "1"],
    );
    assert_eq!(result.code, 2, "{}", result.stderr);
    let slo = result.slo("checkout-throughput");
    assert_eq!(slo["reason"], "query_error");
    assert!(
        slo["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no answer within 1s"),
        "{slo}"
    );
    assert_eq!(proxy.hits(r#"marker!="fault""#), 2, "a timeout is retried");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn overall_deadline_stops_retries() {
    let (_prometheus, proxy) = fault(Fault::Hang);
    let slos = slo_with_marker();
    let started = Instant::now();
    let result = verify_json(
        &proxy.url,
        slos.path(),
        &[
            "--query-timeout",
            "10s",
            "--deadline",
            "2s",
            "--retries",
            "5",
        ],
    );
    assert_eq!(result.code, 2, "{}", result.stderr);
    let slo = result.slo("checkout-throughput");
    assert!(
        slo["message"]
            .as_str()
            .unwrap_or_default()
            .contains("overall deadline of 2s passed"),
        "{slo}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the deadline is honoured"
    );
}

#[test]
fn truncated_and_garbage_bodies_are_query_errors() {
    let body = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1796379000,"12.5"]}]}}"#;
    let (_prometheus, proxy) = fault(Fault::Truncate(body.into()));
    let slos = slo_with_marker();
    let result = verify_json(&proxy.url, slos.path(), &["--retries", "0"]);
    assert_eq!(result.code, 2, "{}", result.stderr);
    assert_eq!(result.slo("checkout-throughput")["reason"], "query_error");

    let (_prometheus, proxy) = fault(Fault::Status(502, "<html>502 Bad Gateway</html>".into()));
    let result = verify_json(&proxy.url, slos.path(), &["--retries", "1"]);
    assert_eq!(result.code, 2, "{}", result.stderr);
    let slo = result.slo("checkout-throughput");
    assert!(
        slo["message"]
            .as_str()
            .unwrap_or_default()
            .contains("HTTP 502: not the API's JSON"),
        "{slo}"
    );
    assert_eq!(proxy.hits(r#"marker!="fault""#), 2, "a 502 is retried");

    let (_prometheus, proxy) = fault(Fault::Status(
        422,
        r#"{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}"#.into(),
    ));
    let result = verify_json(&proxy.url, slos.path(), &["--retries", "3"]);
    let message = result.slo("checkout-throughput")["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("execution: query processing would load too many samples"),
        "{message}"
    );
    assert!(
        message.contains("marker!=\\\"fault\\\"") || message.contains(r#"marker!="fault""#),
        "the query is named: {message}"
    );
    assert_eq!(proxy.hits(r#"marker!="fault""#), 1, "a 422 is not retried");
}

#[test]
fn compile_prints_and_writes_queries() {
    let printed = run(&["compile", "--select", "summit-workers/dead-letters"]);
    assert_eq!(printed.code, 0);
    assert_eq!(
        printed.stdout,
        "# summit-workers/dead-letters — messages moved to the dead-letter queue during the load test\n\
         # objective == 0 (count)\n\
         sum(increase(summit_worker_dead_letter_messages_total{job=\"summit-worker\"}[600s]))\n"
    );

    let directory = tempfile::tempdir().expect("temp dir");
    let target = directory.path().to_str().expect("UTF-8");
    assert_eq!(run(&["compile", "--write", target]).code, 0);
    assert_eq!(run(&["compile", "--check", target]).code, 0);
    std::fs::write(directory.path().join("summit-api.promql"), "stale\n").expect("written");
    let stale = run(&["compile", "--check", target]);
    assert_eq!(stale.code, 1);
    assert!(stale.stderr.contains("stale:"), "{}", stale.stderr);
}

/// C25: a window that ended moments ago is queried only after the last
/// scrapes had time to be stored.
#[test]
fn recent_window_waits_for_the_last_scrapes() {
    let prometheus = Prometheus::start(&["checkout-slices"]);
    let slos = slo_with_marker();
    let started = Instant::now();
    let result = run(&[
        "verify",
        "--slos",
        slos.path().to_str().expect("UTF-8"),
        "--prometheus",
        &prometheus.url,
        "--end",
        "now",
        "--window",
        "1m",
        "--settle",
        "2s",
        "--format",
        "json",
    ]);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
    assert!(
        result
            .stderr
            .contains("for the last scrapes to be stored (--settle 2s)"),
        "{}",
        result.stderr
    );
    assert_eq!(
        result.code, 2,
        "the fixture holds no data for now: {}",
        result.stderr
    );
}
