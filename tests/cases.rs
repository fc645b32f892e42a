//! Field cases (shared/CASES.md) as tests of their kind, run through the
//! built binary against a real Prometheus holding the checkout recordings.
//! A fake server appears only where the case is a fault (partial data, a
//! 503, a 400).

mod support;

use support::proxy::{Fault, Proxy, Rule};
use support::{Prometheus, SloFiles, assert_close, run, verify_json};

fn checkout_ratio(name: &str, errors: &str, total: &str, extra: &str) -> String {
    format!(
        "service: checkout\nslos:\n  - name: {name}\n    indicator:\n      ratio:\n        errors: '{errors}'\n        total: '{total}'\n    objective: \"< 1%\"\n{extra}"
    )
}

/// `verify --format json` of `slos` on `recording`, first served by a real
/// Prometheus, then replayed by the embedded engine: both must agree.
fn served_and_replayed(recording: &std::path::Path, slos: &std::path::Path) -> [support::Run; 2] {
    let prometheus = Prometheus::start_with_file(recording);
    [
        verify_json(&prometheus.url, slos, &[]),
        verify_json(
            "http://127.0.0.1:9",
            slos,
            &["--replay", recording.to_str().expect("UTF-8")],
        ),
    ]
}

fn message(slo: &serde_json::Value) -> String {
    slo["message"].as_str().unwrap_or_default().to_string()
}

/// C01: an empty result is no data (inconclusive, exit 2) with a message
/// naming the SLO and the window, never a crash, a zero or a pass.
#[test]
fn c01_empty_result_is_no_data() {
    let prometheus = Prometheus::start(&["checkout-no-errors"]);
    let slos = SloFiles::new(&checkout_ratio(
        "checkout-availability",
        r#"http_requests_total{job="payments", code=~"5.."}"#,
        r#"http_requests_total{job="payments"}"#,
        "",
    ));
    let run = verify_json(&prometheus.url, slos.path(), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let slo = run.slo("checkout-availability");
    assert_eq!(slo["verdict"], "inconclusive");
    assert_eq!(slo["reason"], "no_data");
    assert!(slo["value"].is_null());
    assert_eq!(
        message(&slo),
        "checkout-availability: no series returned for 2026-12-04T10:00:00Z..10:10:00Z (no data)"
    );
    assert!(
        slo["query"]
            .as_str()
            .unwrap_or_default()
            .contains(r#"job="payments""#)
    );
}

/// C02: NaN (0/0) never passes or fails; ±Inf is a division by zero.
#[test]
fn c02_nan_and_infinities_are_inconclusive() {
    let prometheus = Prometheus::start(&["checkout-few-events"]);
    let slos = SloFiles::new(&format!(
        "{}\n  - name: inf-ratio\n    indicator:\n      promql:\n        query: 'sum(increase(http_requests_total{{job=\"checkout\", code=\"200\"}}[${{window}}])) / sum(increase(http_requests_total{{job=\"checkout\", code=\"500\"}}[${{window}}]))'\n    objective: \"< 0.01\"\n  - name: negative-inf-ratio\n    indicator:\n      promql:\n        query: '-1 * sum(increase(http_requests_total{{job=\"checkout\", code=\"200\"}}[${{window}}])) / sum(increase(http_requests_total{{job=\"checkout\", code=\"500\"}}[${{window}}]))'\n    objective: \"> -1\"\n",
        checkout_ratio(
            "nan-ratio",
            r#"http_requests_total{job="checkout", code="500"}"#,
            r#"http_requests_total{job="checkout", code="500"}"#,
            ""
        )
    ));
    let run = verify_json(&prometheus.url, slos.path(), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);

    let nan = run.slo("nan-ratio");
    assert_eq!(
        (nan["verdict"].as_str(), nan["reason"].as_str()),
        (Some("inconclusive"), Some("nan"))
    );
    assert!(
        message(&nan).contains("no traffic: 0 requests in window"),
        "{nan}"
    );

    for (name, text) in [("inf-ratio", "+Inf"), ("negative-inf-ratio", "-Inf")] {
        let slo = run.slo(name);
        assert_eq!(slo["verdict"], "inconclusive", "{name}");
        assert_eq!(slo["reason"], "division_by_zero", "{name}");
        assert_eq!(slo["value_text"], text, "{name}");
        assert!(slo["value"].is_null(), "{name}: non-finite values are null");
    }
}

/// C03: NaN never reaches JSON as a literal: the value is null and
/// value_text says why, and strict parsers accept the report.
#[test]
fn c03_json_report_is_strict_with_nan() {
    let prometheus = Prometheus::start(&["checkout-idle-histogram"]);
    let slos = SloFiles::new(
        "service: checkout\nslos:\n  - name: checkout-latency\n    indicator:\n      latency: {histogram: http_request_duration_seconds, selector: '{job=\"checkout\"}', quantile: 0.95}\n    objective: \"< 300ms\"\n",
    );
    let output = slos.file("out.json");
    let run = verify_json(
        &prometheus.url,
        slos.path(),
        &["--output", output.to_str().expect("UTF-8 path")],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stdout.is_empty(),
        "with --output the report goes to the file"
    );
    assert!(
        run.stderr.contains("verdict: INCONCLUSIVE"),
        "{}",
        run.stderr
    );
    let text = std::fs::read_to_string(&output).expect("report written");
    assert!(!text.contains(": NaN"), "no NaN literal in:\n{text}");
    let json: serde_json::Value = serde_json::from_str(&text).expect("strict JSON");
    let slo = &json["slos"][0];
    assert!(slo["value"].is_null());
    assert_eq!(slo["value_text"], "NaN");
    assert_eq!(slo["verdict"], "inconclusive");
}

/// C04: a hand-written query returning several series is a spec error
/// naming them (exit 3); `per_series: all` judges each; a scalar is accepted.
#[test]
fn c04_several_series_need_aggregation_or_per_series() {
    let prometheus = Prometheus::start(&["checkout-slices"]);
    let query = "increase(http_requests_total{job=\"checkout\"}[${window}])";
    let unaggregated = SloFiles::new(&format!(
        "service: checkout\nslos:\n  - name: checkout-availability\n    indicator:\n      promql: {{query: '{query}'}}\n    objective: \"< 100\"\n"
    ));
    let run = verify_json(&prometheus.url, unaggregated.path(), &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let slo = run.slo("checkout-availability");
    assert_eq!(slo["reason"], "too_many_series");
    assert_eq!(
        message(&slo),
        r#"checkout-availability: expected 1 series, got 2 ({code="200", job="checkout"}, {code="500", job="checkout"}); aggregate the query or set per_series: all"#
    );

    let per_series = SloFiles::new(&format!(
        "service: checkout\nslos:\n  - name: checkout-availability\n    indicator:\n      promql: {{query: '{query}'}}\n    objective: \"< 100\"\n    per_series: all\n"
    ));
    let run = verify_json(&prometheus.url, per_series.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let slo = run.slo("checkout-availability");
    assert_eq!(slo["verdict"], "fail");
    assert!(
        message(&slo).contains(r#"code="200""#),
        "names the failing series: {slo}"
    );
    let groups = slo["groups"].as_array().expect("one group per series");
    assert_eq!(groups.len(), 2);
    let errors = groups
        .iter()
        .find(|group| group["labels"]["code"] == "500")
        .expect("500s");
    assert_eq!(errors["verdict"], "pass");

    let scalar = SloFiles::new(
        "service: checkout\nslos:\n  - name: checkout-error-ratio\n    indicator:\n      promql: {query: 'scalar(sum(increase(http_requests_total{job=\"checkout\", code=\"500\"}[${window}])) / sum(increase(http_requests_total{job=\"checkout\"}[${window}])))'}\n    objective: \"< 0.01\"\n",
    );
    let run = verify_json(&prometheus.url, scalar.path(), &[]);
    assert_eq!(run.code, 0, "a scalar is one value: {}", run.stderr);
    let value = run.slo("checkout-error-ratio")["value"]
        .as_f64()
        .expect("a value");
    assert_close(value, 52.0 / 10_020.0, 2e-2, "scalar error ratio");
}

/// C05: an error counter that does not exist yet means 0 errors, but an
/// absent total stays no data.
#[test]
fn c05_absent_error_counter_is_zero_but_absent_total_is_no_data() {
    let prometheus = Prometheus::start(&["checkout-no-errors"]);
    let slos = SloFiles::new(&format!(
        "{}\n{}",
        checkout_ratio(
            "checkout-availability",
            r#"http_requests_total{job="checkout", code=~"5.."}"#,
            r#"http_requests_total{job="checkout"}"#,
            ""
        ),
        checkout_ratio(
            "checkout-availability-typo",
            r#"http_requests_total{job="checkout", code=~"5.."}"#,
            r#"http_requests_total{job="chekout"}"#,
            ""
        )
        .replace("service: checkout\nslos:\n", "")
    ));
    let run = verify_json(
        &prometheus.url,
        slos.path(),
        &["--select", "checkout/checkout-availability"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let slo = run.slo("checkout-availability");
    assert_eq!(slo["verdict"], "pass");
    assert_eq!(slo["value"], 0.0);
    assert!(
        slo["query"]
            .as_str()
            .unwrap_or_default()
            .contains(r#"or vector(0)) / sum((increase(http_requests_total{job="checkout"}"#),
        "the numerator defaults to zero, the total does not: {slo}"
    );

    let run = verify_json(&prometheus.url, slos.path(), &["--select", "*-typo"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.slo("checkout-availability-typo")["reason"], "no_data");
}

/// C05, exact status: no 500s while 200s are counted is 0% errors, not a
/// misspelt "200".
#[test]
fn c05_an_exact_error_code_not_yet_counted_is_zero() {
    let prometheus = Prometheus::start(&["checkout-no-errors"]);
    let slos = SloFiles::new(&checkout_ratio(
        "checkout-availability",
        r#"http_requests_total{job="checkout", code="500"}"#,
        r#"http_requests_total{job="checkout"}"#,
        "",
    ));
    let run = verify_json(&prometheus.url, slos.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let slo = run.slo("checkout-availability");
    assert_eq!(slo["verdict"], "pass", "{slo}");
    assert_eq!(slo["value"], 0.0);
}

/// C07: a histogram with no observations in the window is inconclusive and
/// says so, instead of comparing NaN with the limit.
#[test]
fn c07_histogram_without_observations_is_inconclusive() {
    let prometheus = Prometheus::start(&["checkout-idle-histogram"]);
    let slos = SloFiles::new(
        "service: checkout\nslos:\n  - name: checkout-latency\n    indicator:\n      latency: {histogram: http_request_duration_seconds, selector: '{job=\"checkout\"}', quantile: 0.95}\n    objective: \"< 300ms\"\n",
    );
    let run = verify_json(&prometheus.url, slos.path(), &[]);
    assert_eq!(run.code, 2);
    let slo = run.slo("checkout-latency");
    assert_eq!(slo["verdict"], "inconclusive");
    assert_eq!(slo["reason"], "nan");
    assert_eq!(slo["events"], 0.0);
    assert!(message(&slo).contains("0 observations in window"), "{slo}");
}

/// C10: a latency threshold matches its bucket edge by number, whatever the
/// server's spelling of `le`; no matching edge is a spec error listing them.
#[test]
fn c10_bucket_edges_match_by_number() {
    let prometheus = Prometheus::start(&["checkout-le-normalised"]);
    let spec = |threshold: &str| {
        format!(
            "service: checkout\nslos:\n  - name: checkout-fast-requests\n    indicator:\n      latency: {{histogram: http_request_duration_seconds, selector: '{{job=\"checkout\"}}', threshold: {threshold}}}\n    objective: \">= 95%\"\n"
        )
    };
    let slos = SloFiles::new(&spec("1s"));
    let run = verify_json(&prometheus.url, slos.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let slo = run.slo("checkout-fast-requests");
    let reference = prometheus.value(
        r#"sum(increase(http_request_duration_seconds_bucket{job="checkout",le="1.0"}[10m])) / sum(increase(http_request_duration_seconds_count{job="checkout"}[10m]))"#,
    );
    assert_close(
        slo["value"].as_f64().expect("a value"),
        reference,
        1e-12,
        "share under 1s",
    );
    assert_close(reference, 0.97, 1e-9, "970 of 1000 requests");
    assert_eq!(slo["unit"], "ratio");
    assert!(
        slo["query"]
            .as_str()
            .unwrap_or_default()
            .contains(r#"le=~"1\\.0""#),
        "{slo}"
    );

    let missing = SloFiles::new(&spec("750ms"));
    let run = verify_json(&prometheus.url, missing.path(), &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let slo = run.slo("checkout-fast-requests");
    assert_eq!(slo["reason"], "bucket_not_found");
    assert!(
        message(&slo).ends_with("available edges: 0.1, 0.25, 0.5, 1.0, 2.5, +Inf"),
        "{slo}"
    );
}

/// C11: a window shorter than two scrape intervals is refused when the
/// interval is known, and gets a hint when it is not.
#[test]
fn c11_window_shorter_than_two_scrapes() {
    let prometheus = Prometheus::start(&["checkout-60s-scrape"]);
    let slos = SloFiles::new(&checkout_ratio(
        "checkout-availability",
        r#"http_requests_total{job="checkout", code=~"5.."}"#,
        r#"http_requests_total{job="checkout"}"#,
        "",
    ));
    let path = slos.path().to_str().expect("UTF-8");
    let known = run(&[
        "verify",
        "--slos",
        path,
        "--prometheus",
        &prometheus.url,
        "--window",
        "1m",
        "--end",
        "2026-12-04T10:05:00Z",
        "--scrape-interval",
        "60s",
        "--settle",
        "0s",
    ]);
    assert_eq!(known.code, 3, "{}", known.stderr);
    assert!(
        known.stderr.contains(
            "checkout/checkout-availability: window 1m is shorter than 2 × scrape interval (1m); use ≥ 2m (4m recommended)"
        ),
        "{}",
        known.stderr
    );
    let validate = run(&[
        "validate",
        "--slos",
        path,
        "--window",
        "1m",
        "--scrape-interval",
        "60s",
    ]);
    assert_eq!(
        validate.code, 3,
        "validate applies the same rule: {}",
        validate.stderr
    );

    let unknown = run(&[
        "verify",
        "--slos",
        path,
        "--prometheus",
        &prometheus.url,
        "--window",
        "1m",
        "--end",
        "2026-12-04T10:05:30Z",
        "--settle",
        "0s",
        "--format",
        "json",
    ]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    let slo = unknown.slo("checkout-availability");
    assert_eq!(slo["reason"], "no_data");
    assert!(
        message(&slo).contains("pass --scrape-interval to check"),
        "{slo}"
    );
}

/// C13: a window ratio is a ratio of sums, not a mean of slice ratios; in
/// sustained mode a slice without traffic counts for nothing, while a bad
/// slice fails the SLO.
#[test]
fn c13_ratio_of_sums_and_empty_slices() {
    let sustained = "    sustained: {step: 5m}\n";
    let spec = |extra: &str| {
        checkout_ratio(
            "checkout-availability",
            r#"http_requests_total{job="checkout", code="500"}"#,
            r#"http_requests_total{job="checkout"}"#,
            extra,
        )
    };
    let prometheus = Prometheus::start(&["checkout-slices"]);
    let slos = SloFiles::new(&spec(""));
    let run = verify_json(&prometheus.url, slos.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let value = run.slo("checkout-availability")["value"]
        .as_f64()
        .expect("a value");
    let reference = prometheus.value(
        r#"sum(increase(http_requests_total{job="checkout",code="500"}[10m])) / sum(increase(http_requests_total{job="checkout"}[10m]))"#,
    );
    assert_close(value, reference, 1e-12, "window error ratio");
    assert_close(value, 52.0 / 10_020.0, 2e-2, "52 errors in 10,020 requests");

    let slos = SloFiles::new(&spec(sustained));
    let run = verify_json(&prometheus.url, slos.path(), &[]);
    assert_eq!(
        run.code, 1,
        "the 10% slice is not sustained: {}",
        run.stderr
    );
    let slo = run.slo("checkout-availability");
    assert_eq!(slo["reason"], "not_sustained");
    assert_eq!(slo["sustained"]["breaches"], 1);
    assert_eq!(slo["sustained"]["points"], 2);

    let empty = Prometheus::start(&["checkout-slices-empty"]);
    let run = verify_json(&empty.url, slos.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let slo = run.slo("checkout-availability");
    assert_eq!(slo["verdict"], "pass");
    assert_eq!(
        slo["sustained"]["empty_points"], 1,
        "the idle slice counts for nothing"
    );
    assert_eq!(slo["sustained"]["breaches"], 0);
}

/// C14: an objective of 100% leaves no error budget and is refused.
#[test]
fn c14_zero_error_budget_is_refused() {
    let slos = SloFiles::new(
        "service: payments\nslos:\n  - name: payments-availability\n    indicator:\n      ratio: {good: 'payments_requests_total{code!~\"5..\"}', total: payments_requests_total}\n    objective: \">= 100%\"\n",
    );
    let run = run(&["validate", "--slos", slos.path().to_str().expect("UTF-8")]);
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.contains(
            "SLO 'payments-availability': objective must be below 100% (zero error budget makes burn rate undefined)"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("'== 0'"),
        "the help names the alternative: {}",
        run.stderr
    );
}

/// C17: an explicit sustained step over the 11,000-point limit is refused
/// with the smallest step that fits.
#[test]
fn c17_step_over_the_point_limit_is_refused() {
    let slos = SloFiles::new(&checkout_ratio(
        "checkout-availability",
        r#"http_requests_total{job="checkout", code="500"}"#,
        r#"http_requests_total{job="checkout"}"#,
        "    sustained: {step: 15s}\n",
    ));
    let run = run(&[
        "verify",
        "--slos",
        slos.path().to_str().expect("UTF-8"),
        "--prometheus",
        "http://127.0.0.1:9",
        "--start",
        "2026-11-27T10:00:00Z",
        "--end",
        "2026-12-04T10:00:00Z",
        "--scrape-interval",
        "15s",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "range 7d at step 15s needs 40320 points; the server limit is 11000; use step ≥ 55s"
        ),
        "{}",
        run.stderr
    );
}

/// C18: a series that stopped being written before the gate runs is still
/// judged, because evaluation is pinned to the window's end and gauges read
/// the last sample in the window; nothing in the window is no data.
#[test]
fn c18_stopped_series_is_read_at_the_window_end() {
    let prometheus = Prometheus::start(&["k6-stopped"]);
    let slos = SloFiles::new(
        "service: checkout\nslos:\n  - name: k6-failed-requests\n    indicator:\n      gauge: {metric: k6_http_req_failed_rate, selector: '{testid=\"rel-42\"}', aggregate: last}\n    objective: \"< 0.01\"\n",
    );
    let run = verify_json(&prometheus.url, slos.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let slo = run.slo("k6-failed-requests");
    assert_eq!(slo["value"], 0.002);
    assert!(
        slo["query"]
            .as_str()
            .unwrap_or_default()
            .starts_with("max(last_over_time(")
    );

    let later = support::run(&[
        "verify",
        "--slos",
        slos.path().to_str().expect("UTF-8"),
        "--prometheus",
        &prometheus.url,
        "--start",
        "2026-12-04T10:11:00Z",
        "--end",
        "2026-12-04T10:16:00Z",
        "--settle",
        "0s",
        "--format",
        "json",
    ]);
    assert_eq!(
        later.code, 2,
        "nothing in the window is not a pass: {}",
        later.stderr
    );
    assert_eq!(later.slo("k6-failed-requests")["reason"], "no_data");
}

const PARTIAL: &str = r#"{"status":"success","warnings":["partial response: store 10.0.3.7:10901 unavailable"],"data":{"resultType":"vector","result":[{"metric":{},"value":[1796379000,"0.002"]}]}}"#;

/// C21: a success with a partial-data warning is inconclusive unless
/// --allow-partial, which uses the value and labels the verdict.
#[test]
fn c21_partial_response_is_inconclusive_by_default() {
    // The SLO's query gets the canned answer; the rest (the targets' `up`)
    // goes to a real Prometheus.
    let prometheus = Prometheus::start(&["release-pass"]);
    let server = Proxy::start(
        Some(prometheus.port()),
        vec![Rule {
            marker: "errors".to_string(),
            fault: Fault::Status(200, PARTIAL.to_string()),
            times: None,
        }],
    );
    let slos = SloFiles::new(
        "service: checkout\nslos:\n  - name: checkout-error-ratio\n    indicator:\n      promql: {query: 'sum(rate(errors_total[${window}])) / sum(rate(requests_total[${window}]))'}\n    objective: \"< 0.01\"\n",
    );
    let run = verify_json(&server.url, slos.path(), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let slo = run.slo("checkout-error-ratio");
    assert_eq!(slo["reason"], "partial_response");
    assert!(
        message(&slo).contains("store 10.0.3.7:10901 unavailable"),
        "{slo}"
    );
    assert_eq!(slo["value"], 0.002, "the value is shown, not trusted");

    let allowed = verify_json(&server.url, slos.path(), &["--allow-partial"]);
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    let slo = allowed.slo("checkout-error-ratio");
    assert_eq!(slo["verdict"], "pass");
    assert_eq!(slo["partial"], true);
    let table = support::run(&[
        "verify",
        "--slos",
        slos.path().to_str().expect("UTF-8"),
        "--prometheus",
        &server.url,
        "--end",
        support::WINDOW_END,
        "--settle",
        "0s",
        "--allow-partial",
    ]);
    assert!(
        table.stdout.contains("pass (partial data)"),
        "{}",
        table.stdout
    );
}

/// C22: one failing query does not hide the others; 5xx is retried a
/// bounded number of times, 400 never; fail outranks inconclusive.
#[test]
fn c22_one_failing_query_leaves_the_others_judged() {
    let prometheus = Prometheus::start(&["checkout-slices"]);
    let spec = |third_objective: &str| {
        format!(
            "service: checkout\nslos:\n  - name: first\n    indicator: {{rate: {{counter: http_requests_total, selector: '{{job=\"checkout\"}}'}}}}\n    objective: \">= 1/s\"\n  - name: second\n    indicator: {{rate: {{counter: http_requests_total, selector: '{{job=\"checkout\", marker!=\"second\"}}'}}}}\n    objective: \">= 1/s\"\n  - name: third\n    indicator: {{increase: {{counter: http_requests_total, selector: '{{job=\"checkout\", code=\"500\"}}'}}}}\n    objective: \"{third_objective}\"\n"
        )
    };
    let unavailable = r#"{"status":"error","errorType":"unavailable","error":"query queue full"}"#;
    let proxy = Proxy::start(
        Some(prometheus.port()),
        vec![Rule {
            marker: r#"marker!="second""#.into(),
            fault: Fault::Status(503, unavailable.into()),
            times: None,
        }],
    );
    let slos = SloFiles::new(&spec("< 100"));
    let run = verify_json(&proxy.url, slos.path(), &["--retries", "2"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.slo("first")["verdict"], "pass");
    assert_eq!(run.slo("third")["verdict"], "pass");
    let second = run.slo("second");
    assert_eq!(second["verdict"], "inconclusive");
    assert_eq!(second["reason"], "query_error");
    assert!(
        message(&second).contains("unavailable: query queue full (HTTP 503)"),
        "{second}"
    );
    assert_eq!(
        proxy.hits(r#"marker!="second""#),
        3,
        "one attempt and two retries"
    );

    let slos = SloFiles::new(&spec("< 10"));
    let run = verify_json(&proxy.url, slos.path(), &["--retries", "2"]);
    assert_eq!(
        run.code, 1,
        "a definite failure outranks the unknown: {}",
        run.stderr
    );
    assert_eq!(run.json()["verdict"], "fail");

    let bad_data = Proxy::start(
        Some(prometheus.port()),
        vec![Rule {
            marker: r#"marker!="second""#.into(),
            fault: Fault::Status(
                400,
                r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#.into(),
            ),
            times: None,
        }],
    );
    let run = verify_json(&bad_data.url, slos.path(), &["--retries", "2"]);
    assert_eq!(run.slo("second")["reason"], "query_error");
    assert_eq!(
        bad_data.hits(r#"marker!="second""#),
        1,
        "400 bad_data is never retried"
    );

    let flaky = Proxy::start(
        Some(prometheus.port()),
        vec![Rule {
            marker: r#"marker!="second""#.into(),
            fault: Fault::Status(503, unavailable.into()),
            times: Some(1),
        }],
    );
    let slos = SloFiles::new(&spec("< 100"));
    let run = verify_json(&flaky.url, slos.path(), &["--retries", "2"]);
    assert_eq!(run.code, 0, "503 then success passes: {}", run.stderr);
}

/// C23: too few events is inconclusive, with the count and the minimum.
#[test]
fn c23_too_few_events_is_inconclusive() {
    let prometheus = Prometheus::start(&["checkout-few-events"]);
    let slos = SloFiles::new(&checkout_ratio(
        "checkout-availability",
        r#"http_requests_total{job="checkout", code="500"}"#,
        r#"http_requests_total{job="checkout"}"#,
        "    min_events: 500\n",
    ));
    let run = verify_json(&prometheus.url, slos.path(), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let slo = run.slo("checkout-availability");
    assert_eq!(slo["reason"], "too_few_events");
    assert_eq!(
        message(&slo),
        "checkout-availability: only 3 requests in window (min_events 500)"
    );
}

/// C24: a selection that matches nothing, or a file without SLOs, refuses
/// to pass an empty gate.
#[test]
fn c24_empty_gate_is_refused() {
    let slos = SloFiles::new(&format!(
        "{}\n{}",
        checkout_ratio(
            "checkout-availability",
            "a_total{code=\"500\"}",
            "a_total",
            ""
        ),
        checkout_ratio("checkout-latency", "a_total{code=\"500\"}", "a_total", "")
            .replace("service: checkout\nslos:\n", "")
    ));
    let path = slos.path().to_str().expect("UTF-8");
    let run = run(&[
        "verify",
        "--slos",
        path,
        "--select",
        "payments-*",
        "--end",
        "now-1h",
    ]);
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.contains(
            "no SLOs selected (filter 'payments-*' matched 0 of 2); refusing to pass an empty gate"
        ),
        "{}",
        run.stderr
    );

    let empty = SloFiles::new("service: checkout\nslos: []\n");
    let run = support::run(&["validate", "--slos", empty.path().to_str().expect("UTF-8")]);
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.contains("service 'checkout' lists no SLOs"),
        "{}",
        run.stderr
    );
}

/// C25: a window ending in the future, or ending before it starts, is
/// refused before anything is queried.
#[test]
fn c25_future_or_inverted_window_is_refused() {
    let slos = SloFiles::new(&checkout_ratio(
        "checkout-availability",
        "a_total{code=\"500\"}",
        "a_total",
        "",
    ));
    let path = slos.path().to_str().expect("UTF-8");
    let in_an_hour = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(3600))
        .expect("valid time")
        .to_string();
    let future = run(&[
        "verify",
        "--slos",
        path,
        "--end",
        &in_an_hour,
        "--prometheus",
        "http://127.0.0.1:9",
    ]);
    assert_eq!(future.code, 3);
    assert!(future.stderr.contains("in the future"), "{}", future.stderr);
    assert!(future.stderr.contains("window end"), "{}", future.stderr);

    let inverted = run(&[
        "verify",
        "--slos",
        path,
        "--start",
        "2026-12-04T10:10:00Z",
        "--end",
        "2026-12-04T10:00:00Z",
        "--prometheus",
        "http://127.0.0.1:9",
    ]);
    assert_eq!(inverted.code, 3);
    assert!(
        inverted.stderr.contains(
            "window start 2026-12-04T10:10:00Z is not before its end 2026-12-04T10:00:00Z"
        ),
        "{}",
        inverted.stderr
    );
}

/// Data that cannot be true is reported, not averaged away: more good
/// events than total, and buckets that shrink as `le` grows.
#[test]
fn impossible_data_is_reported_not_averaged() {
    let prometheus = Prometheus::start(&[
        "checkout-good-exceeds-total",
        "checkout-nonmonotonic-buckets",
    ]);
    let slos = SloFiles::new(
        "service: checkout\nslos:\n  - name: checkout-success\n    indicator:\n      ratio: {good: 'checkout_requests_good_total{job=\"checkout\"}', total: 'checkout_requests_total{job=\"checkout\"}'}\n    objective: \">= 99%\"\n  - name: checkout-latency\n    indicator:\n      latency: {histogram: http_request_duration_seconds, selector: '{job=\"checkout\"}', quantile: 0.95}\n    objective: \"< 2s\"\n  - name: checkout-fast-share\n    indicator:\n      latency: {histogram: http_request_duration_seconds, selector: '{job=\"checkout\"}', threshold: 1s}\n    objective: \">= 90%\"\n",
    );
    let run = verify_json(&prometheus.url, slos.path(), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);

    let success = run.slo("checkout-success");
    assert_eq!(
        success["verdict"], "inconclusive",
        "a ratio of 120% must not pass"
    );
    assert_eq!(success["reason"], "invalid_data");
    assert!(message(&success).contains("exceed total"), "{success}");

    let latency = run.slo("checkout-latency");
    assert_eq!(
        latency["verdict"], "inconclusive",
        "Prometheus would quietly repair the buckets"
    );
    assert_eq!(latency["reason"], "invalid_data");
    assert!(message(&latency).contains("bucket le=0.25"), "{latency}");

    let share = run.slo("checkout-fast-share");
    assert_eq!(
        share["reason"], "invalid_data",
        "a threshold reads the same broken buckets"
    );
}

const WITH_INFO: &str = r#"{"status":"success","infos":["PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"errors\""],"data":{"resultType":"vector","result":[{"metric":{},"value":[1796379000,"0.002"]}]}}"#;

/// C21: informational notes (Prometheus 3 `infos`) are shown, never fatal.
#[test]
fn c21_informational_notes_are_shown_not_fatal() {
    // The SLO's query gets the canned answer; the rest (the targets' `up`)
    // goes to a real Prometheus.
    let prometheus = Prometheus::start(&["release-pass"]);
    let server = Proxy::start(
        Some(prometheus.port()),
        vec![Rule {
            marker: "errors".to_string(),
            fault: Fault::Status(200, WITH_INFO.to_string()),
            times: None,
        }],
    );
    let slos = SloFiles::new(
        "service: checkout\nslos:\n  - name: checkout-error-ratio\n    indicator:\n      promql: {query: 'sum(rate(errors[${window}])) / sum(rate(requests_total[${window}]))'}\n    objective: \"< 0.01\"\n",
    );
    let run = verify_json(&server.url, slos.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let slo = run.slo("checkout-error-ratio");
    assert_eq!(slo["verdict"], "pass");
    assert!(
        slo["notices"][0]
            .as_str()
            .unwrap_or_default()
            .starts_with("PromQL info"),
        "{slo}"
    );

    let table = support::run(&[
        "verify",
        "--slos",
        slos.path().to_str().expect("UTF-8"),
        "--prometheus",
        &server.url,
        "--end",
        support::WINDOW_END,
        "--settle",
        "0s",
    ]);
    assert!(
        table
            .stdout
            .contains("note: checkout/checkout-error-ratio: PromQL info"),
        "{}",
        table.stdout
    );
}

/// `no_data: pass` excuses missing data, never an explicit `min_events`:
/// zero events are too few, as three are.
#[test]
fn no_data_pass_never_overrides_min_events() {
    let prometheus = Prometheus::start(&["checkout-slices-empty"]);
    let slos = SloFiles::new(&checkout_ratio(
        "checkout-availability",
        r#"http_requests_total{job="checkout", code="500"}"#,
        r#"http_requests_total{job="checkout"}"#,
        "    min_events: 100\n    no_data: pass\n",
    ));
    let run = support::run(&[
        "verify",
        "--slos",
        slos.path().to_str().expect("UTF-8"),
        "--prometheus",
        &prometheus.url,
        "--end",
        support::WINDOW_END,
        "--window",
        "4m",
        "--settle",
        "0s",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let slo = run.slo("checkout-availability");
    assert_eq!(slo["verdict"], "inconclusive");
    assert_eq!(slo["reason"], "too_few_events");
    assert!(
        message(&slo).contains("only 0 requests in window (min_events 100)"),
        "{slo}"
    );
}

/// A `by` label that no series carries is a typo, not one big group.
#[test]
fn group_label_on_no_series_is_a_spec_error() {
    let prometheus = Prometheus::start(&["checkout-slices"]);
    let slos = SloFiles::new(&checkout_ratio(
        "checkout-availability",
        r#"http_requests_total{job="checkout", code="500"}"#,
        r#"http_requests_total{job="checkout"}"#,
        "    by: [opration]\n",
    ));
    let run = verify_json(&prometheus.url, slos.path(), &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let slo = run.slo("checkout-availability");
    assert_eq!(slo["reason"], "group_label_missing");
    assert!(
        message(&slo).contains("label 'opration' in 'by' is on none of the series"),
        "{slo}"
    );
}

/// A counter that first appears inside the window (the first dead letter
/// of a new queue) counts from zero, so its first value is not lost; one
/// already there when the window (and perhaps scraping) began is not
/// counted twice.
#[test]
fn counter_born_in_window_counts_from_zero() {
    let text = support::born_counters_recording();
    let directory = tempfile::tempdir().expect("temp dir");
    let recording = directory.path().join("born.om");
    std::fs::write(&recording, text).expect("written");

    let slos = SloFiles::new(
        "service: workers\nslos:\n  - name: dead-letters\n    indicator: {increase: {counter: dead_letters_total}}\n    objective: \"== 0\"\n  - name: early\n    indicator: {increase: {counter: early_total}}\n    objective: \"== 0\"\n",
    );
    for run in &served_and_replayed(&recording, slos.path()) {
        assert_eq!(run.code, 1, "{}", run.stderr);
        let dead = run.slo("dead-letters");
        assert_eq!(dead["verdict"], "fail", "five new dead letters: {dead}");
        assert_eq!(dead["value"], 5.0, "3 in exports, 2 in startup: {dead}");
        assert_eq!(
            run.slo("early")["verdict"],
            "pass",
            "present from the window's start"
        );
    }
}

/// Every indicator built on counters counts a series born in the window
/// from zero: the first errors of a new status code, a new operation's
/// first slow requests. Client libraries create a labelled series on its
/// first event, so this is how errors usually arrive; missing them would
/// pass a release at 0% errors.
#[test]
fn every_counter_indicator_counts_series_born_in_the_window() {
    let mut text = String::new();
    for step in 0..80 {
        let time = 1_796_377_805 + 15 * step;
        let ok = 100 * step;
        text.push_str(&format!("req_total{{code=\"200\"}} {ok} {time}\n"));
        if time >= 1_796_378_705 {
            text.push_str(&format!("req_total{{code=\"500\"}} 300 {time}\n"));
        }
        for (le, fast, slow) in [("0.1", ok, 0), ("1", ok, 0), ("+Inf", ok, 500)] {
            text.push_str(&format!(
                "lat_seconds_bucket{{op=\"old\",le=\"{le}\"}} {fast} {time}\n"
            ));
            if time >= 1_796_378_705 {
                text.push_str(&format!(
                    "lat_seconds_bucket{{op=\"new\",le=\"{le}\"}} {slow} {time}\n"
                ));
            }
        }
        text.push_str(&format!("lat_seconds_count{{op=\"old\"}} {ok} {time}\n"));
        if time >= 1_796_378_705 {
            text.push_str(&format!("lat_seconds_count{{op=\"new\"}} 500 {time}\n"));
        }
    }
    text.push_str("# EOF\n");
    let directory = tempfile::tempdir().expect("temp dir");
    let recording = directory.path().join("born.om");
    std::fs::write(&recording, text).expect("written");

    let slos = SloFiles::new(
        "service: api\nslos:\n  - name: errors\n    indicator: {ratio: {errors: 'req_total{code=\"500\"}', total: req_total}}\n    objective: \"< 1%\"\n  - name: error-rate\n    indicator: {rate: {counter: req_total, selector: '{code=\"500\"}'}}\n    objective: \"< 0.1/s\"\n  - name: latency\n    indicator: {latency: {histogram: lat_seconds, quantile: 0.95}}\n    objective: \"< 300ms\"\n",
    );
    for run in &served_and_replayed(&recording, slos.path()) {
        assert_eq!(run.code, 1, "{}", run.stderr);
        let errors = run.slo("errors");
        assert_eq!(errors["verdict"], "fail", "{errors}");
        // 300 errors against 4,000 successes and the 300 themselves.
        assert_close(
            errors["value"].as_f64().expect("a value"),
            300.0 / 4_300.0,
            2e-2,
            "error ratio with the new series",
        );
        let rate = run.slo("error-rate");
        assert_eq!(rate["verdict"], "fail", "{rate}");
        assert_close(
            rate["value"].as_f64().expect("a value"),
            0.5,
            1e-9,
            "300 in 600s",
        );
        let latency = run.slo("latency");
        assert_eq!(latency["verdict"], "fail", "500 slow of 4,500: {latency}");
        assert_eq!(latency["events"], 4_500.0, "{latency}");
    }
}

/// A service that stops answering mid-test also stops reporting its
/// errors: the data that remains looks clean. An SLO that could read a
/// target that was up for under 90% of the window does not pass; SLOs of
/// other jobs are not affected.
#[test]
fn a_target_down_for_part_of_the_window_leaves_its_slos_inconclusive() {
    let mut text = String::new();
    for step in 0..80 {
        let time = 1_796_377_805 + 15 * step;
        // Replica b stops answering 55% into the window (10:05:30).
        let b_up = time < 1_796_378_730;
        text.push_str(&format!("up{{job=\"api\",instance=\"a:80\"}} 1 {time}\n"));
        text.push_str(&format!(
            "up{{job=\"api\",instance=\"b:80\"}} {} {time}\n",
            u8::from(b_up)
        ));
        text.push_str(&format!("up{{job=\"other\",instance=\"c:80\"}} 1 {time}\n"));
        for (job, instance) in [("api", "a:80"), ("other", "c:80")] {
            text.push_str(&format!(
                "req_total{{job=\"{job}\",instance=\"{instance}\",code=\"200\"}} {} {time}\n",
                100 * step
            ));
        }
        if b_up {
            text.push_str(&format!(
                "req_total{{job=\"api\",instance=\"b:80\",code=\"200\"}} {} {time}\n",
                100 * step
            ));
        }
    }
    text.push_str("# EOF\n");
    let directory = tempfile::tempdir().expect("temp dir");
    let recording = directory.path().join("down.om");
    std::fs::write(&recording, text).expect("written");
    let slos = SloFiles::new(
        "service: api\nslos:\n  - name: api-errors\n    indicator: {ratio: {errors: 'req_total{code=~\"5..\"}', total: req_total, selector: '{job=\"api\"}'}}\n    objective: \"< 1%\"\n  - name: other-errors\n    indicator: {ratio: {errors: 'req_total{code=~\"5..\"}', total: req_total, selector: '{job=\"other\"}'}}\n    objective: \"< 1%\"\n",
    );
    for run in &served_and_replayed(&recording, slos.path()) {
        assert_eq!(run.code, 2, "{}", run.stderr);
        let api = run.slo("api-errors");
        assert_eq!(api["verdict"], "inconclusive", "{api}");
        assert_eq!(api["reason"], "too_few_scrapes");
        assert!(
            message(&api).contains("target b:80 (job api) was up for 55% of the window"),
            "{api}"
        );
        assert_eq!(run.slo("other-errors")["verdict"], "pass");
    }
}

/// When `up` cannot be read, nothing says the targets were up: a failed
/// (or garbled) answer to that query leaves passing SLOs inconclusive.
#[test]
fn a_failed_up_query_is_not_a_pass() {
    let prometheus = Prometheus::start(&["release-pass"]);
    let slos = SloFiles::new(&checkout_ratio(
        "checkout-availability",
        r#"graphql_requests_total{job="summit-api", status="error"}"#,
        r#"graphql_requests_total{job="summit-api"}"#,
        "",
    ));
    let direct = verify_json(&prometheus.url, slos.path(), &[]);
    assert_eq!(direct.code, 0, "{}", direct.stderr);
    for fault in [
        Fault::Status(
            503,
            r#"{"status":"error","errorType":"unavailable","error":"overloaded"}"#.to_string(),
        ),
        Fault::Status(200, "<html>proxy login</html>".to_string()),
    ] {
        let proxy = Proxy::start(
            Some(prometheus.port()),
            vec![Rule {
                marker: "avg_over_time(up[".to_string(),
                fault,
                times: None,
            }],
        );
        let run = verify_json(&proxy.url, slos.path(), &["--retries", "0"]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        let slo = run.slo("checkout-availability");
        assert_eq!(slo["reason"], "query_error", "{slo}");
        assert!(
            message(&slo).contains("cannot tell whether its targets were up"),
            "{slo}"
        );
    }
}

/// A gauge's infinite sample is a reading, not a division by zero: +Inf
/// against an upper bound fails; -Inf, which would meet it, is not
/// believed.
#[test]
fn an_infinite_gauge_reading_fails_or_is_not_believed() {
    let mut text = String::new();
    for step in 0..41 {
        let time = 1_796_378_400 + 15 * step;
        text.push_str(&format!("backlog{{queue=\"up\"}} +Inf {time}\n"));
        text.push_str(&format!("backlog{{queue=\"down\"}} -Inf {time}\n"));
    }
    text.push_str("# EOF\n");
    let directory = tempfile::tempdir().expect("temp dir");
    let recording = directory.path().join("infinite.om");
    std::fs::write(&recording, text).expect("written");
    let slos = SloFiles::new(
        "service: q\nslos:\n  - name: up\n    indicator: {gauge: {metric: backlog, selector: '{queue=\"up\"}'}}\n    objective: \"< 1000\"\n  - name: down\n    indicator: {gauge: {metric: backlog, selector: '{queue=\"down\"}'}}\n    objective: \"< 1000\"\n",
    );
    for run in &served_and_replayed(&recording, slos.path()) {
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert_eq!(run.slo("up")["verdict"], "fail", "{}", run.slo("up"));
        assert_eq!(run.slo("up")["value_text"], "+Inf");
        let down = run.slo("down");
        assert_eq!(down["verdict"], "inconclusive", "{down}");
        assert_eq!(down["reason"], "invalid_data");
    }
}

/// min_events cannot be waived by an uncountable event count: a histogram
/// whose _count series is dropped is counted from its +Inf bucket.
#[test]
fn events_are_counted_even_without_a_count_series() {
    let mut text = String::new();
    for (le, per_step) in [("0.1", 0.0), ("0.25", 1.0), ("+Inf", 1.0)] {
        for step in 0..41 {
            let time = 1_796_378_405 + 15 * step;
            let value = if step < 38 {
                0.0
            } else {
                per_step * f64::from(step - 37)
            };
            text.push_str(&format!(
                "lat_seconds_bucket{{le=\"{le}\"}} {value} {time}\n"
            ));
        }
    }
    text.push_str("# EOF\n");
    let directory = tempfile::tempdir().expect("temp dir");
    let recording = directory.path().join("no-count.om");
    std::fs::write(&recording, text).expect("written");
    let slos = SloFiles::new(
        "service: checkout\nslos:\n  - name: latency\n    indicator: {latency: {histogram: lat_seconds, quantile: 0.95}}\n    objective: \"< 300ms\"\n    min_events: 1000\n",
    );
    for run in served_and_replayed(&recording, slos.path()) {
        assert_eq!(run.code, 2, "{}", run.stderr);
        let slo = run.slo("latency");
        assert_eq!(slo["reason"], "too_few_events", "{slo}");
        assert!(message(&slo).contains("only 2 observations"), "{slo}");
    }
}

/// A misspelt errors selector is not a clean run: the numerator's absence
/// is checked against what exists.
#[test]
fn misspelt_error_selectors_are_not_zero_errors() {
    let prometheus = Prometheus::start(&["release-fail"]);
    let spec = |name: &str, errors: &str| {
        format!(
            "  - name: {name}\n    indicator:\n      ratio:\n        errors: '{errors}'\n        total: 'graphql_requests_total{{job=\"summit-api\"}}'\n    objective: \"< 0.1%\"\n"
        )
    };
    let slos = SloFiles::new(&format!(
        "service: summit-api\nslos:\n{}{}{}{}{}{}{}",
        spec(
            "value",
            r#"graphql_requests_total{job="summit-api", status="eror"}"#
        ),
        spec(
            "regex-label",
            r#"graphql_requests_total{job="summit-api", stauts=~"err.*"}"#
        ),
        spec(
            "regex-value",
            r#"graphql_requests_total{job="summit-api", status=~"timeout|eror"}"#
        ),
        spec(
            "regex-pattern",
            r#"graphql_requests_total{job="summit-api", status=~"fail.*"}"#
        ),
        spec("metric", r#"graphql_request_total{job="summit-api"}"#),
        spec(
            "label",
            r#"graphql_requests_total{job="summit-api", stauts="error"}"#
        ),
        spec(
            "never",
            r#"graphql_requests_total{job="summit-api", status="timeout"}"#
        ),
    ));
    let recording = support::fixture("release-fail");
    for run in [
        verify_json(&prometheus.url, slos.path(), &[]),
        verify_json(
            "http://127.0.0.1:9",
            slos.path(),
            &["--replay", recording.to_str().expect("UTF-8")],
        ),
    ] {
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            message(&run.slo("value")).contains(r#""eror" looks like a misspelling of "error""#),
            "{}",
            run.slo("value")
        );
        assert!(
            message(&run.slo("regex-label")).contains("has a 'stauts' label"),
            "{}",
            run.slo("regex-label")
        );
        assert!(
            message(&run.slo("regex-value"))
                .contains(r#""eror" looks like a misspelling of "error""#),
            "{}",
            run.slo("regex-value")
        );
        // A pattern cannot be told from a value that never occurred.
        assert_eq!(run.slo("regex-pattern")["verdict"], "pass");
        assert!(message(&run.slo("metric")).contains("no series named graphql_request_total"));
        assert!(message(&run.slo("label")).contains("has a 'stauts' label"));
        let never = run.slo("never");
        assert_eq!(
            never["verdict"], "pass",
            "a value that never occurred is zero errors"
        );
        assert!(
            never["notices"][0]
                .as_str()
                .unwrap_or_default()
                .contains("values seen: error, ok")
        );
    }
}

/// Sustained steps reach the window's end: when they stop short, the end
/// is judged too, and the second half's 10% errors fail the SLO.
#[test]
fn sustained_mode_judges_the_tail_of_the_window() {
    let prometheus = Prometheus::start(&["checkout-slices"]);
    let slos = SloFiles::new(&checkout_ratio(
        "checkout-availability",
        r#"http_requests_total{job="checkout", code="500"}"#,
        r#"http_requests_total{job="checkout"}"#,
        "    sustained: {step: 4m}\n",
    ));
    let run = verify_json(&prometheus.url, slos.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let slo = run.slo("checkout-availability");
    assert_eq!(slo["reason"], "not_sustained");
    assert_eq!(slo["sustained"]["points"], 3, "10:04, 10:08 and the end");
    assert_eq!(slo["sustained"]["worst"]["time"], "2026-12-04T10:10:00Z");
}
