//! Summit's release SLOs (`slos/`) verified on each recorded load test
//! against a real Prometheus: every value summit-slo reports equals what
//! Prometheus returns for a hand-written reference query, and every
//! verdict and exit code is the contract's.

mod support;

use serde_json::Value;
use support::{Prometheus, Run, assert_close, root, verify_json};

const P95: &str = r#"histogram_quantile(0.95, sum by (le) (increase(graphql_request_duration_seconds_bucket{job="summit-api",operation!="IntrospectionQuery"}[10m])))"#;
const ERROR_RATIO: &str = r#"sum(increase(graphql_requests_total{job="summit-api",status="error"}[10m])) / sum(increase(graphql_requests_total{job="summit-api"}[10m]))"#;
const REQUEST_RATE: &str = r#"sum(rate(graphql_requests_total{job="summit-api"}[10m]))"#;
const NEO4J_P95: &str = r#"histogram_quantile(0.95, sum by (le) (increase(summit_neo4j_query_duration_milliseconds_bucket{job="summit-api",query="path_3hop"}[10m])))"#;
const USERS_MIN: &str = r#"min_over_time(locust_users{job="locust"}[10m])"#;
const REDIS_MEAN: &str = r#"sum by (cmd) (increase(redis_commands_duration_seconds_total{job="redis",cmd=~"get|set"}[10m])) / sum by (cmd) (increase(redis_commands_total{job="redis",cmd=~"get|set"}[10m]))"#;
const REDIS_OPS: &str = r#"sum(rate(redis_commands_processed_total{job="redis"}[10m]))"#;
const QUEUE_PEAK: &str =
    r#"max by (queue) (max_over_time(summit_worker_queue_depth{job="summit-worker"}[10m]))"#;
const DEAD_LETTERS: &str =
    r#"sum(increase(summit_worker_dead_letter_messages_total{job="summit-worker"}[10m]))"#;

/// Verifies `slos/` on one fixture and checks every reported number
/// against Prometheus' own answer.
fn verify_fixture(name: &str, extra: &[&str]) -> (Prometheus, Run) {
    let prometheus = Prometheus::start(&[name]);
    let run = verify_json(&prometheus.url, &root().join("slos"), extra);
    check_values(&prometheus, &run);
    (prometheus, run)
}

fn number(value: &Value) -> Option<f64> {
    value.as_f64()
}

/// Compares a reported value with the reference: equal when finite, null
/// with `value_text` "NaN" when the reference is NaN.
fn assert_matches(reported: &Value, text: &Value, expected: f64, what: &str) {
    if expected.is_nan() {
        assert!(
            reported.is_null(),
            "{what}: NaN must be reported as null, got {reported}"
        );
        assert_eq!(text, "NaN", "{what}: value_text carries the NaN");
    } else {
        let reported = number(reported).unwrap_or_else(|| panic!("{what}: no value"));
        assert_close(reported, expected, 1e-12, what);
    }
}

fn check_values(prometheus: &Prometheus, run: &Run) {
    let latency = run.slo("graphql-latency-p95");
    assert_matches(
        &latency["value"],
        &latency["value_text"],
        prometheus.value(P95),
        "p95",
    );
    assert_matches(
        &latency["preconditions"][0]["value"],
        &latency["preconditions"][0]["value_text"],
        prometheus.value(REQUEST_RATE),
        "request rate",
    );

    let availability = run.slo("graphql-availability");
    assert_matches(
        &availability["value"],
        &availability["value_text"],
        prometheus.value(ERROR_RATIO),
        "error ratio",
    );

    let neo4j = run.slo("path-query-3hop-p95");
    assert_eq!(neo4j["unit"], "milliseconds");
    assert_matches(
        &neo4j["value"],
        &neo4j["value_text"],
        prometheus.value(NEO4J_P95),
        "neo4j p95",
    );
    assert_matches(
        &neo4j["preconditions"][0]["value"],
        &neo4j["preconditions"][0]["value_text"],
        prometheus.value(USERS_MIN),
        "users",
    );

    let redis = run.slo("get-set-mean-latency");
    let reference = prometheus.query(REDIS_MEAN, support::WINDOW_END_UNIX);
    assert_eq!(
        redis["groups"].as_array().map(Vec::len),
        Some(reference.len())
    );
    for (labels, expected) in &reference {
        let group = redis["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .find(|group| group["labels"]["cmd"] == labels["cmd"])
            .unwrap_or_else(|| panic!("no group for {labels}"));
        assert_matches(
            &group["value"],
            &group["value_text"],
            *expected,
            "redis mean",
        );
    }
    assert_matches(
        &redis["preconditions"][0]["value"],
        &redis["preconditions"][0]["value_text"],
        prometheus.value(REDIS_OPS),
        "redis ops",
    );

    let queues = run.slo("queue-depth-peak");
    let reference = prometheus.query(QUEUE_PEAK, support::WINDOW_END_UNIX);
    let peak = reference
        .iter()
        .map(|(_, value)| *value)
        .fold(f64::MIN, f64::max);
    assert_matches(&queues["value"], &queues["value_text"], peak, "queue peak");
    assert_eq!(
        queues["groups"].as_array().map(Vec::len),
        Some(3),
        "one group per queue"
    );

    let dead = run.slo("dead-letters");
    assert_matches(
        &dead["value"],
        &dead["value_text"],
        prometheus.value(DEAD_LETTERS),
        "dead letters",
    );
}

fn verdicts(run: &Run) -> Vec<(String, String, Value)> {
    run.json()["slos"]
        .as_array()
        .expect("slos")
        .iter()
        .map(|slo| {
            (
                slo["name"].as_str().unwrap_or_default().to_string(),
                slo["verdict"].as_str().unwrap_or_default().to_string(),
                slo["reason"].clone(),
            )
        })
        .collect()
}

fn verdict_of(run: &Run, name: &str) -> (String, Value) {
    let slo = run.slo(name);
    (
        slo["verdict"].as_str().unwrap_or_default().to_string(),
        slo["reason"].clone(),
    )
}

#[test]
fn passing_release_passes_every_slo() {
    let (_prometheus, run) = verify_fixture("release-pass", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for (name, verdict, reason) in verdicts(&run) {
        assert_eq!(verdict, "pass", "{name}");
        assert!(reason.is_null(), "{name}: {reason}");
    }
    let json = run.json();
    assert_eq!(json["verdict"], "pass");
    assert_eq!(json["passed"], true);
    assert_eq!(json["window"]["start"], support::WINDOW_START);
    assert_eq!(json["window"]["end"], support::WINDOW_END);
    assert_eq!(json["summary"]["total"], 6);
    let latency = run.slo("graphql-latency-p95");
    let p95 = latency["value"].as_f64().expect("a value");
    assert!(
        (0.10..0.14).contains(&p95),
        "p95 of the passing release is about 120ms: {p95}"
    );
    assert_eq!(latency["unit"], "seconds");
    assert_eq!(latency["objective_value"], 0.2);
    assert_eq!(latency["preconditions"][0]["met"], true);
}

#[test]
fn failing_release_fails_the_slos_it_breaks() {
    let (_prometheus, run) = verify_fixture("release-fail", &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.json()["verdict"], "fail");
    assert_eq!(run.json()["passed"], false);
    let expected = [
        ("graphql-latency-p95", "fail"),
        ("graphql-availability", "fail"),
        ("path-query-3hop-p95", "pass"),
        ("get-set-mean-latency", "pass"),
        ("queue-depth-peak", "fail"),
        ("dead-letters", "fail"),
    ];
    for (name, verdict) in expected {
        assert_eq!(verdict_of(&run, name).0, verdict, "{name}");
    }
    let queues = run.slo("queue-depth-peak");
    let ingest = queues["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|group| group["labels"]["queue"] == "ingest")
        .cloned()
        .expect("an ingest group");
    assert_eq!(ingest["verdict"], "fail");
    assert!(
        queues["message"]
            .as_str()
            .unwrap_or_default()
            .contains(r#"queue="ingest""#)
    );
    let budget = &run.slo("graphql-availability")["error_budget"];
    assert!(
        budget["burn_rate"].as_f64().unwrap_or_default() > 4.0,
        "0.5% errors burn a 0.1% budget about 5x: {budget}"
    );
}

#[test]
fn release_between_warning_and_objective_warns_and_strict_fails_it() {
    let (prometheus, run) = verify_fixture("release-warn", &[]);
    assert_eq!(run.code, 0, "warn counts as pass: {}", run.stderr);
    assert_eq!(verdict_of(&run, "graphql-latency-p95").0, "warn");
    assert_eq!(run.json()["verdict"], "warn");
    assert_eq!(run.json()["passed"], true);

    let strict = verify_json(&prometheus.url, &root().join("slos"), &["--strict"]);
    assert_eq!(strict.code, 1, "--strict turns warn into a failure");
    assert_eq!(strict.json()["passed"], false);
}

#[test]
fn release_without_traffic_is_inconclusive_never_green() {
    let (_prometheus, run) = verify_fixture("no-traffic", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.json()["verdict"], "inconclusive");
    let (verdict, reason) = verdict_of(&run, "graphql-latency-p95");
    assert_eq!(
        (verdict.as_str(), reason.as_str()),
        ("inconclusive", Some("precondition_not_met"))
    );
    let availability = run.slo("graphql-availability");
    assert_eq!(availability["verdict"], "inconclusive");
    assert_eq!(
        availability["reason"], "too_few_events",
        "min_events comes before the NaN"
    );
    assert_eq!(availability["value_text"], "NaN");
    assert!(
        availability["message"]
            .as_str()
            .unwrap_or_default()
            .contains("only 0 requests in window (min_events 1000)"),
        "{availability}"
    );
    for name in [
        "path-query-3hop-p95",
        "get-set-mean-latency",
        "queue-depth-peak",
        "dead-letters",
    ] {
        assert_eq!(verdict_of(&run, name).1, "precondition_not_met", "{name}");
    }
    assert_eq!(
        run.json()["summary"]["inconclusive"],
        6,
        "a quiet system proves nothing"
    );
}

#[test]
fn counter_reset_mid_window_gives_the_true_values() {
    let (_prometheus, run) = verify_fixture("counter-reset", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let latency = run.slo("graphql-latency-p95");
    let p95 = latency["value"].as_f64().expect("a value");
    assert!(
        (0.10..0.14).contains(&p95),
        "the restart does not move p95: {p95}"
    );
    let rate = latency["preconditions"][0]["value"]
        .as_f64()
        .expect("a rate");
    assert!(
        rate > 1000.0,
        "increase() spans the reset, the rate stays above 1000/s: {rate}"
    );
}

#[test]
fn low_load_makes_load_dependent_slos_inconclusive() {
    let (_prometheus, run) = verify_fixture("low-load", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    for name in [
        "graphql-latency-p95",
        "path-query-3hop-p95",
        "get-set-mean-latency",
        "queue-depth-peak",
        "dead-letters",
    ] {
        let slo = run.slo(name);
        assert_eq!(slo["verdict"], "inconclusive", "{name}");
        assert_eq!(slo["reason"], "precondition_not_met", "{name}");
        assert_eq!(slo["preconditions"][0]["met"], false, "{name}");
        assert!(
            slo["message"]
                .as_str()
                .unwrap_or_default()
                .contains("needs >="),
            "{slo}"
        );
    }
    let latency = run.slo("graphql-latency-p95");
    assert!(
        latency["message"]
            .as_str()
            .unwrap_or_default()
            .contains("measured"),
        "the measured value is still shown: {latency}"
    );
    assert_eq!(verdict_of(&run, "graphql-availability").0, "pass");
}

#[test]
fn table_report_shows_every_slo_and_the_verdict_line() {
    let prometheus = Prometheus::start(&["release-fail"]);
    let run = support::run(&[
        "verify",
        "--prometheus",
        &prometheus.url,
        "--end",
        support::WINDOW_END,
        "--settle",
        "0s",
    ]);
    assert_eq!(run.code, 1);
    for name in [
        "summit-api/graphql-latency-p95",
        "summit-workers/queue-depth-peak",
        r#"{queue="ingest"}"#,
        "320.7ms misses < 200ms",
    ] {
        assert!(
            run.stdout.contains(name),
            "{name} missing from:\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout.contains(
            "verdict: FAIL (4 fail, 2 pass) over 2026-12-04T10:00:00Z..10:10:00Z; exit 1"
        ),
        "{}",
        run.stdout
    );
}
