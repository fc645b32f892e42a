//! `validate --preflight` against a real Prometheus scraping a target: every
//! selector must match a series now, a misspelt one is named with a
//! suggestion, and a counter that has not counted yet is not a failure.

mod support;

use std::time::Duration;

use support::{Prometheus, SloFiles, run};

const EXPOSITION: &str = "# TYPE http_requests_total counter
http_requests_total{code=\"200\"} 1500
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le=\"0.2\"} 1400
http_request_duration_seconds_bucket{le=\"+Inf\"} 1500
http_request_duration_seconds_sum 180
http_request_duration_seconds_count 1500
# TYPE queue_depth gauge
queue_depth{queue=\"email\"} 3
";

const GOOD: &str = r#"service: shop
slos:
  - name: errors
    indicator: {ratio: {errors: 'http_requests_total{job="shop", code="500"}', total: 'http_requests_total{job="shop"}'}}
    objective: "< 1%"
  - name: latency
    indicator: {latency: {histogram: http_request_duration_seconds, selector: '{job="shop"}', quantile: 0.95}}
    objective: "< 200ms"
  - name: queue
    indicator: {gauge: {metric: queue_depth, selector: '{job="shop"}'}}
    objective: "< 100"
"#;

/// A Prometheus scraping a target that serves `EXPOSITION` as job `shop`.
fn scraping_the_shop() -> Prometheus {
    let url = support::static_metrics(EXPOSITION);
    let address = url
        .trim_start_matches("http://")
        .trim_end_matches("/metrics")
        .to_string();
    Prometheus::start_scraping(&[("shop", address)], "1s")
}

/// `validate --preflight` of `slos` against `prometheus`.
fn preflight(prometheus: &Prometheus, slos: &SloFiles) -> support::Run {
    run(&[
        "validate",
        "--preflight",
        "--slos",
        slos.path().to_str().expect("UTF-8"),
        "--prometheus",
        &prometheus.url,
    ])
}

#[test]
fn preflight_names_each_selector_that_matches_nothing() {
    let prometheus = scraping_the_shop();
    let good = SloFiles::new(GOOD);
    let preflight = |slos: &SloFiles| preflight(&prometheus, slos);

    // Prometheus finds its target within a few seconds.
    let mut passed = preflight(&good);
    for _ in 0..30 {
        if passed.code == 0 {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
        passed = preflight(&good);
    }
    assert_eq!(passed.code, 0, "{}", passed.stderr);
    assert_eq!(
        passed.stdout,
        "ok: 4 of 5 selectors of 3 SLOs match series now; 1 is a counter that has not counted yet\n",
        "{}",
        passed.stderr
    );
    assert!(
        passed.stderr.contains(
            "note: http_requests_total{job=\"shop\", code=\"500\"} matches no series yet (shop/errors); \
             http_requests_total exists, so this is a counter that has not counted yet"
        ),
        "{}",
        passed.stderr
    );

    let broken = SloFiles::new(
        &GOOD
            .replace("metric: queue_depth", "metric: queue_dpeth")
            .replace(
                "total: 'http_requests_total{job=\"shop\"}'",
                "total: 'http_requests_total{job=\"shop-api\"}'",
            ),
    );
    let failed = preflight(&broken);
    assert_eq!(failed.code, 3, "{}", failed.stderr);
    assert_eq!(
        failed.stdout,
        "preflight failed: 2 problems in 5 selectors of 3 SLOs; 1 is a counter that has not counted yet\n"
    );
    assert!(
        failed.stderr.contains(
            "error: queue_dpeth{job=\"shop\"} matches no series (shop/queue): no metric \
             queue_dpeth; did you mean queue_depth?"
        ),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains(
            "error: http_requests_total{job=\"shop-api\"} matches no series (shop/errors): \
             http_requests_total exists, but not with these labels"
        ),
        "{}",
        failed.stderr
    );
}

#[test]
fn preflight_catches_what_verify_would_refuse_after_the_load_test() {
    // A misspelt label on the errors side, a misspelt group label and a
    // latency bound with no bucket edge: each matches or reads as zero
    // now, and would cost the load test later.
    let prometheus = scraping_the_shop();
    let slos = SloFiles::new(
        r#"service: shop
slos:
  - name: errors
    indicator: {ratio: {errors: 'http_requests_total{job="shop", cdoe="500"}', total: 'http_requests_total{job="shop"}'}}
    objective: "< 1%"
  - name: fast
    indicator: {latency: {histogram: http_request_duration_seconds, selector: '{job="shop"}', threshold: 300ms}}
    objective: ">= 95%"
  - name: queue
    indicator: {gauge: {metric: queue_depth, selector: '{job="shop"}'}}
    objective: "< 100"
    by: [queu]
"#,
    );
    let preflight = || preflight(&prometheus, &slos);
    let mut failed = preflight();
    for _ in 0..30 {
        if failed.stderr.contains("in 'by'") {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
        failed = preflight();
    }
    assert_eq!(failed.code, 3, "{}", failed.stderr);
    for expected in [
        "error: http_requests_total{job=\"shop\", cdoe=\"500\"} matches no series (shop/errors): \
         no series of http_requests_total has a 'cdoe' label (cdoe=\"500\")",
        "error: shop/queue: label 'queu' in 'by' is on none of the series of \
         queue_depth{job=\"shop\"}; check its spelling",
        "error: shop/fast: no bucket edge of http_request_duration_seconds at 300ms; \
         available edges: +Inf, 0.2",
    ] {
        assert!(
            failed.stderr.contains(expected),
            "{expected}\n{}",
            failed.stderr
        );
    }
    assert_eq!(
        failed.stdout,
        "preflight failed: 3 problems in 5 selectors of 3 SLOs\n"
    );
}

#[test]
fn preflight_without_a_server_cannot_run() {
    let good = SloFiles::new(GOOD);
    let port = support::free_port();
    let result = run(&[
        "validate",
        "--preflight",
        "--slos",
        good.path().to_str().expect("UTF-8"),
        "--prometheus",
        &format!("http://127.0.0.1:{port}"),
        "--retries",
        "0",
    ]);
    assert_eq!(result.code, 3, "{}", result.stderr);
    assert!(
        result
            .stderr
            .contains("preflight cannot ask http://127.0.0.1:"),
        "{}",
        result.stderr
    );
    assert!(result.stdout.is_empty(), "{}", result.stdout);
}
