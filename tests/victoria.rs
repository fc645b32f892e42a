//! VictoriaMetrics (Debian's `victoria-metrics`) as the engine: the release
//! fixtures and the field cases are judged by it and by Prometheus on the
//! same data, and must reach the same verdicts. Where MetricsQL answers
//! differently (its `increase` and `rate` do not extrapolate to the
//! window's edges, and it drops a 0/0 instead of answering NaN), the
//! difference is asserted here and explained in the README.

mod support;

use serde_json::Value;
use support::{Prometheus, Run, SloFiles, VictoriaMetrics, root, verify_json};

/// MetricsQL counts what the samples in the window show; Prometheus
/// extrapolates to the edges, by up to a scrape interval in each direction.
/// On these ten-minute windows of 15 s scrapes the two stay within 3%.
const VALUE_TOLERANCE: f64 = 0.03;

fn slos_by_name(run: &Run) -> Vec<(String, Value)> {
    run.json()["slos"]
        .as_array()
        .expect("a list of SLOs")
        .iter()
        .map(|slo| {
            (
                slo["name"].as_str().expect("a name").to_string(),
                slo.clone(),
            )
        })
        .collect()
}

const ENGINE: [&str; 2] = ["--engine", "victoria-metrics"];

/// Asserts that both engines reached the same exit code and verdicts, and
/// (with `values`) values within the tolerance; returns VictoriaMetrics'
/// run.
fn assert_agree(fixtures: &[&str], slos: &std::path::Path, what: &str, values: bool) -> Run {
    let prometheus = Prometheus::start(fixtures);
    let victoria = VictoriaMetrics::start(fixtures);
    let expected = verify_json(&prometheus.url, slos, &[]);
    let actual = verify_json(&victoria.url, slos, &ENGINE);
    assert_eq!(
        actual.code, expected.code,
        "{what}: exit codes differ: {}\n{}",
        actual.stdout, expected.stdout
    );
    for ((name, theirs), (_, ours)) in slos_by_name(&actual).iter().zip(slos_by_name(&expected)) {
        assert_eq!(
            theirs["verdict"], ours["verdict"],
            "{what}/{name}: {theirs}\n{ours}"
        );
        if !values {
            continue;
        }
        match (theirs["value"].as_f64(), ours["value"].as_f64()) {
            (Some(theirs), Some(ours)) => {
                let scale = ours.abs().max(1e-12);
                assert!(
                    (theirs - ours).abs() <= VALUE_TOLERANCE * scale,
                    "{what}/{name}: VictoriaMetrics {theirs}, Prometheus {ours}"
                );
            }
            (None, None) => {}
            (theirs, ours) => panic!("{what}/{name}: values {theirs:?} and {ours:?}"),
        }
    }
    actual
}

#[test]
fn release_fixtures_reach_the_same_verdicts() {
    let slos = root().join("slos");
    for fixture in [
        "release-pass",
        "release-fail",
        "release-warn",
        "counter-reset",
        "low-load",
    ] {
        assert_agree(&[fixture], &slos, fixture, true);
    }
}

#[test]
fn victoria_counts_exactly_what_prometheus_extrapolates() {
    // Four messages went to the dead-letter queue in the failing release:
    // MetricsQL's increase says 4, Prometheus' extrapolates to about 4.1.
    let slos = root().join("slos");
    let victoria = VictoriaMetrics::start(&["release-fail"]);
    let run = verify_json(
        &victoria.url,
        &slos,
        &[&ENGINE[..], &["--select", "*/dead-letters"]].concat(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.slo("dead-letters")["value"], 4.0);
    let prometheus = Prometheus::start(&["release-fail"]);
    let run = verify_json(&prometheus.url, &slos, &["--select", "*/dead-letters"]);
    let extrapolated = run.slo("dead-letters")["value"].as_f64().expect("a value");
    assert!((4.05..4.2).contains(&extrapolated), "{extrapolated}");
}

#[test]
fn no_traffic_is_inconclusive_on_both_for_different_reasons() {
    // Prometheus answers 0/0 as NaN with zero events (too_few_events);
    // MetricsQL drops the NaN and answers nothing (no_data). Neither passes.
    let slos = root().join("slos");
    let prometheus = Prometheus::start(&["no-traffic"]);
    let victoria = VictoriaMetrics::start(&["no-traffic"]);
    let select = ["--select", "*/graphql-availability"];
    let expected = verify_json(&prometheus.url, &slos, &select);
    let actual = verify_json(&victoria.url, &slos, &[&ENGINE[..], &select].concat());
    assert_eq!((expected.code, actual.code), (2, 2));
    assert_eq!(
        expected.slo("graphql-availability")["reason"],
        "too_few_events"
    );
    assert_eq!(actual.slo("graphql-availability")["reason"], "no_data");
}

#[test]
fn field_cases_reach_the_same_verdicts() {
    let ratio = |extra: &str| {
        format!(
            "service: checkout\nslos:\n  - name: availability\n    indicator:\n      ratio:\n        errors: 'http_requests_total{{job=\"checkout\", code=~\"5..\"}}'\n        total: 'http_requests_total{{job=\"checkout\"}}'\n    objective: \"< 1%\"\n{extra}"
        )
    };
    let latency = "service: checkout\nslos:\n  - name: latency\n    indicator:\n      latency: {histogram: http_request_duration_seconds, selector: '{job=\"checkout\"}', quantile: 0.95}\n    objective: \"< 300ms\"\n";
    let threshold = "service: checkout\nslos:\n  - name: fast\n    indicator:\n      latency: {histogram: http_request_duration_seconds, selector: '{job=\"checkout\"}', threshold: 1s}\n    objective: \">= 95%\"\n";
    let stopped = "service: checkout\nslos:\n  - name: k6\n    indicator:\n      gauge: {metric: k6_http_req_failed_rate, selector: '{testid=\"rel-42\"}', aggregate: last}\n    objective: \"< 0.01\"\n";
    // (case, fixture, SLOs, the verdict both engines must reach, whether
    // their values agree too)
    let cases = [
        (
            "C05 absent error counter",
            "checkout-no-errors",
            ratio(""),
            "pass",
            true,
        ),
        (
            "C07 idle histogram",
            "checkout-idle-histogram",
            latency.to_string(),
            "inconclusive",
            true,
        ),
        (
            "C10 bucket edge by number",
            "checkout-le-normalised",
            threshold.to_string(),
            "pass",
            true,
        ),
        (
            "C13 ratio of sums",
            "checkout-slices",
            ratio(""),
            "pass",
            true,
        ),
        (
            "C18 stopped series",
            "k6-stopped",
            stopped.to_string(),
            "pass",
            true,
        ),
        // The recording starts inside the window, with 4 errors already
        // counted: MetricsQL counts a series first seen in the window from
        // zero (4 errors); Prometheus' reading is that they came before.
        (
            "C23 too few events",
            "checkout-few-events",
            ratio("    min_events: 500\n"),
            "inconclusive",
            false,
        ),
    ];
    for (case, fixture, spec, verdict, values) in cases {
        let slos = SloFiles::new(&spec);
        let run = assert_agree(&[fixture], slos.path(), case, values);
        assert_eq!(run.json()["verdict"], verdict, "{case}: {}", run.stdout);
    }
}

#[test]
fn counters_born_in_the_window_are_counted_once() {
    // The exports queue gets its first 3 dead letters at 10:05, the startup
    // queue 2 at 10:00:20: five in all. MetricsQL counts new series itself,
    // so the Prometheus dialect's extra terms would count them twice.
    let text = support::born_counters_recording();
    let victoria = VictoriaMetrics::start_with_text(&text);
    let slos = SloFiles::new(
        "service: workers\nslos:\n  - name: dead-letters\n    indicator: {increase: {counter: dead_letters_total}}\n    objective: \"== 0\"\n",
    );
    let counted = verify_json(&victoria.url, slos.path(), &ENGINE);
    assert_eq!(counted.code, 1, "{}", counted.stderr);
    assert_eq!(counted.slo("dead-letters")["value"], 5.0);
    let twice = verify_json(&victoria.url, slos.path(), &[]);
    assert_eq!(
        twice.slo("dead-letters")["value"],
        10.0,
        "without --engine the new series are counted twice"
    );
}
