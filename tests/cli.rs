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
    let slo = result.slo("checkout-throughput");
    assert_eq!(slo["reason"], "query_error");
    assert!(
        slo["message"]
            .as_str()
            .unwrap_or_default()
            .contains("was cut off"),
        "{slo}"
    );

    let (_prometheus, proxy) = fault(Fault::Status(502, "<html>502 Bad Gateway</html>".into()));
    let result = verify_json(&proxy.url, slos.path(), &["--retries", "1"]);
    assert_eq!(result.code, 2, "{}", result.stderr);
    let slo = result.slo("checkout-throughput");
    assert!(
        slo["message"]
            .as_str()
            .unwrap_or_default()
            .contains("HTTP 502: not the API's JSON")
            && slo["message"]
                .as_str()
                .unwrap_or_default()
                .contains("'<html>502 Bad Gateway</html>'"),
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
    let lines: Vec<&str> = printed.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "# summit-workers/dead-letters — messages moved to the dead-letter queue during the load test"
    );
    assert_eq!(lines[1], "# objective == 0 (count)");
    assert!(
        lines[2].starts_with(
            "sum((increase(summit_worker_dead_letter_messages_total{job=\"summit-worker\"}[600s]) + ((min_over_time("
        ),
        "{}",
        lines[2]
    );
    assert_eq!(
        lines[3],
        "# requires rate(graphql_requests_total) >= 1000/s"
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

/// Every --select pattern must select something: a typo next to a valid
/// pattern would otherwise leave the SLO the user meant unjudged.
#[test]
fn select_pattern_matching_nothing_is_refused_even_beside_others() {
    let result = run(&[
        "validate",
        "--select",
        "summit-api/graphql-latancy-p95",
        "--select",
        "summit-neo4j/*",
    ]);
    assert_eq!(result.code, 3);
    assert!(
        result
            .stderr
            .contains("--select 'summit-api/graphql-latancy-p95' matched none of the 6 SLOs"),
        "{}",
        result.stderr
    );
    let one = run(&["validate", "--select", "dead-letters"]);
    assert_eq!(one.stdout, "ok: 1 SLO in 1 service valid\n");
}

/// A run that stops early leaves a report that says so: JSON consumers get
/// an error document, and an --output file never keeps an earlier verdict.
#[test]
fn early_stop_replaces_the_output_file_and_writes_json() {
    let directory = tempfile::tempdir().expect("temp dir");
    let output = directory.path().join("verdicts.json");
    std::fs::write(&output, r#"{"verdict":"pass"}"#).expect("written");
    let future = run(&[
        "verify",
        "--end",
        "2999-01-01T00:00:00Z",
        "--format",
        "json",
        "--output",
        output.to_str().expect("UTF-8"),
    ]);
    assert_eq!(future.code, 3);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&output).expect("report")).expect("JSON");
    assert!(report["verdict"].is_null(), "{report}");
    assert_eq!(report["exit_code"], 3);
    assert!(
        report["error"]
            .as_str()
            .unwrap_or_default()
            .contains("in the future"),
        "{report}"
    );

    let on_stdout = run(&["verify", "--select", "nothing-*", "--format", "json"]);
    assert_eq!(on_stdout.code, 3);
    assert_eq!(on_stdout.json()["passed"], false);
    assert!(
        on_stdout.json()["error"]
            .as_str()
            .unwrap_or_default()
            .contains("no SLOs selected")
    );
}

/// A full or closed stdout is an error with a message, not a panic.
#[test]
fn unwritable_stdout_exits_3_without_panicking() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists");
    let result = run_command(binary().args(["compile"]).stdout(full));
    assert_eq!(result.code, 3, "{}", result.stderr);
    assert!(
        result.stderr.contains("cannot write to stdout"),
        "{}",
        result.stderr
    );
    assert!(!result.stderr.contains("panicked"), "{}", result.stderr);
}

#[test]
fn credentials_are_decoded_and_conflicts_refused() {
    let proxy = Proxy::start(None, Vec::new());
    let url = proxy.url.replace("http://", "http://alice:s3cr%40t@");
    let _ = verify_json(
        &url,
        &root().join("slos"),
        &["--select", "dead-letters", "--retries", "0"],
    );
    let heads = proxy.heads();
    let authorization = heads
        .iter()
        .flat_map(|head| head.lines())
        .find(|line| line.to_ascii_lowercase().starts_with("authorization:"))
        .expect("basic auth is sent");
    assert!(
        authorization.ends_with("Basic YWxpY2U6czNjckB0"),
        "alice:s3cr@t, decoded: {authorization}"
    );

    let directory = tempfile::tempdir().expect("temp dir");
    let token = directory.path().join("token");
    std::fs::write(&token, "abc\ndef\n").expect("written");
    let two_lines = run(&[
        "verify",
        "--prometheus-token-file",
        token.to_str().expect("UTF-8"),
        "--end",
        "now-1h",
    ]);
    assert_eq!(two_lines.code, 3);
    assert!(
        two_lines
            .stderr
            .contains("characters an HTTP header cannot carry"),
        "{}",
        two_lines.stderr
    );

    let both = run_command(binary().env("SUMMIT_SLO_PROMETHEUS_TOKEN", "abc").args([
        "verify",
        "--prometheus",
        "http://u:p@127.0.0.1:9",
        "--end",
        "now-1h",
    ]));
    assert_eq!(both.code, 3);
    assert!(both.stderr.contains("give one"), "{}", both.stderr);
}

#[test]
fn zero_and_malformed_durations_are_refused() {
    for (flag, value, expected) in [
        (
            "--query-timeout",
            "0s",
            "--query-timeout must be longer than 0s",
        ),
        (
            "--scrape-interval",
            "0s",
            "--scrape-interval must be longer than 0s",
        ),
        ("--window", "10m10m", "largest to smallest"),
        ("--window", "-10m", "invalid duration '-10m'"),
    ] {
        let result = run(&["verify", flag, value, "--end", "now-1h"]);
        assert_eq!(result.code, 3, "{flag} {value}");
        assert!(
            result.stderr.contains(expected),
            "{flag} {value}: {}",
            result.stderr
        );
    }
}

/// A compiled query answered in a shape it cannot have is the server's
/// fault: inconclusive (exit 2), not a spec error.
#[test]
fn compiled_query_answered_with_a_matrix_is_a_query_error() {
    let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1796379000,"1"]]}]}}"#;
    let (_prometheus, proxy) = fault(Fault::Status(200, matrix.into()));
    let result = verify_json(&proxy.url, slo_with_marker().path(), &[]);
    assert_eq!(result.code, 2, "{}", result.stderr);
    let slo = result.slo("checkout-throughput");
    assert_eq!(slo["reason"], "query_error");
    assert!(
        slo["message"]
            .as_str()
            .unwrap_or_default()
            .contains("with a range vector (matrix)"),
        "{slo}"
    );
}

#[test]
fn compile_write_and_check_cover_whole_services() {
    let directory = tempfile::tempdir().expect("temp dir");
    let target = directory.path().to_str().expect("UTF-8");
    let selected = run(&["compile", "--write", target, "--select", "dead-letters"]);
    assert_eq!(
        selected.code, 3,
        "a selection would overwrite whole files with part of them"
    );

    assert_eq!(run(&["compile", "--write", target]).code, 0);
    let leftover = directory.path().join("retired-service.promql");
    let header =
        std::fs::read_to_string(directory.path().join("summit-api.promql")).expect("written");
    std::fs::write(&leftover, header).expect("written");
    let check = run(&["compile", "--check", target]);
    assert_eq!(check.code, 1, "a file for a removed service is stale");
    assert!(
        check.stderr.contains("retired-service.promql"),
        "{}",
        check.stderr
    );
    assert_eq!(run(&["compile", "--write", target]).code, 0);
    assert!(
        !leftover.exists(),
        "--write removes what it wrote for a removed service"
    );
}

#[test]
fn unparseable_arguments_still_replace_the_output_file() {
    let directory = tempfile::tempdir().expect("temp dir");
    let output = directory.path().join("o.json");
    std::fs::write(&output, r#"{"verdict":"pass","exit_code":0}"#).expect("written");
    let result = run(&[
        "verify",
        "--format",
        "json",
        "--output",
        output.to_str().expect("UTF-8"),
        "--retries",
        "abc",
    ]);
    assert_eq!(result.code, 3);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&output).expect("written")).expect("JSON");
    assert!(report["verdict"].is_null());
    assert_eq!(report["exit_code"], 3);
}

/// A compiled query answered with a scalar is the server's fault.
#[test]
fn compiled_query_answered_with_a_scalar_is_a_query_error() {
    let scalar =
        r#"{"status":"success","data":{"resultType":"scalar","result":[1796379000,"500"]}}"#;
    let (_prometheus, proxy) = fault(Fault::Status(200, scalar.into()));
    let result = verify_json(&proxy.url, slo_with_marker().path(), &[]);
    assert_eq!(result.code, 2, "{}", result.stderr);
    let slo = result.slo("checkout-throughput");
    assert_eq!(slo["reason"], "query_error");
    assert!(
        slo["message"]
            .as_str()
            .unwrap_or_default()
            .contains("with a scalar"),
        "{slo}"
    );
}

#[test]
fn a_replay_window_the_recording_does_not_cover_is_refused() {
    let directory = tempfile::tempdir().expect("temp dir");
    let recording = directory.path().join("short.om");
    let mut text = String::new();
    for second in 0..5 {
        text.push_str(&format!("demo_queue_depth 3 {}\n", 1_796_378_995 + second));
    }
    text.push_str("# EOF\n");
    std::fs::write(&recording, text).expect("written");
    let slos = support::SloFiles::new(
        "service: demo\nslos:\n  - name: depth\n    indicator: {gauge: {metric: demo_queue_depth}}\n    objective: \"< 10\"\n",
    );
    let path = recording.to_str().expect("UTF-8");
    let slos_path = slos.path().to_str().expect("UTF-8");
    // Ten minutes (the default window) on a four-second recording.
    let refused = run(&["verify", "--slos", slos_path, "--replay", path]);
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("is not covered by")
            && refused
                .stderr
                .contains("(4s); pass --start/--end or a --window inside it"),
        "{}",
        refused.stderr
    );
    let inside = run(&[
        "verify", "--slos", slos_path, "--replay", path, "--window", "4s",
    ]);
    assert_eq!(inside.code, 0, "{}", inside.stderr);
}
