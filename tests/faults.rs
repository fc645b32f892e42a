//! An engine that misbehaves, between summit-slo and a real Prometheus:
//! each fault is retried or not as documented, leaves the SLO inconclusive
//! with a reason that says what happened, keeps to the overall deadline,
//! and is never a pass. (Hangs, deadlines, truncated and non-JSON error
//! bodies, 422 and 400 are covered in `cli.rs` and `cases.rs`.)

mod support;

use std::time::{Duration, Instant};

use support::proxy::{Fault, Proxy, Rule};
use support::{Prometheus, Run, SloFiles, verify_json};

const MARKER: &str = r#"marker!="fault""#;

fn slos() -> SloFiles {
    SloFiles::new(
        "service: checkout\nslos:\n  - name: throughput\n    indicator: {rate: {counter: http_requests_total, selector: '{job=\"checkout\", marker!=\"fault\"}'}}\n    objective: \">= 1/s\"\n",
    )
}

/// `verify` through a proxy that gives the throughput query `fault` (the
/// first `times` times, or always), with `extra` flags; the run and how
/// many requests met the fault.
fn through(fault: Fault, times: Option<usize>, extra: &[&str]) -> (Run, usize, Duration) {
    let prometheus = Prometheus::start(&["checkout-slices"]);
    let proxy = Proxy::start(
        Some(prometheus.port()),
        vec![Rule {
            marker: MARKER.into(),
            fault,
            times,
        }],
    );
    let slos = slos();
    let started = Instant::now();
    let run = verify_json(&proxy.url, slos.path(), extra);
    (run, proxy.hits(MARKER), started.elapsed())
}

fn message(run: &Run) -> String {
    run.slo("throughput")["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn added_latency_within_the_timeout_is_only_slower() {
    let (run, hits, took) = through(
        Fault::Delay(Duration::from_millis(800)),
        None,
        &["--query-timeout", "5s"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.slo("throughput")["verdict"], "pass");
    assert_eq!(hits, 1);
    assert!(took >= Duration::from_millis(800), "{took:?}");
}

#[test]
fn a_dropped_connection_is_retried() {
    let (run, hits, _) = through(Fault::Drop, Some(1), &["--retries", "2"]);
    assert_eq!(run.code, 0, "dropped once, then answered: {}", run.stderr);
    assert_eq!(hits, 2);

    let (run, hits, _) = through(Fault::Drop, None, &["--retries", "2"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.slo("throughput")["reason"], "query_error");
    assert_eq!(hits, 3, "one attempt and two retries");
    assert!(
        message(&run).contains("cannot reach") || message(&run).contains("cut off"),
        "{}",
        message(&run)
    );
}

#[test]
fn invalid_json_with_a_success_status_is_an_error_not_a_value() {
    for body in [
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1796379000,"#,
        "<html>maintenance</html>",
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1796379000,"twelve"]}]}}"#,
    ] {
        let (run, hits, _) = through(Fault::Status(200, body.into()), None, &["--retries", "2"]);
        assert_eq!(run.code, 2, "{body}: {}", run.stderr);
        assert_eq!(run.slo("throughput")["reason"], "query_error", "{body}");
        assert_eq!(run.slo("throughput")["value"], serde_json::Value::Null);
        assert_eq!(hits, 1, "{body}: the same answer would come again");
    }
}

#[test]
fn a_body_that_never_ends_is_cut_at_the_timeout_and_the_deadline() {
    let (run, hits, took) = through(
        Fault::Endless,
        None,
        &[
            "--query-timeout",
            "1s",
            "--retries",
            "5",
            "--deadline",
            "3s",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.slo("throughput")["reason"], "query_error");
    assert!(took < Duration::from_secs(8), "the deadline held: {took:?}");
    assert!(
        (2..=4).contains(&hits),
        "retried until the deadline: {hits}"
    );
    assert!(
        message(&run).contains("no answer within 1s") || message(&run).contains("deadline"),
        "{}",
        message(&run)
    );
}
