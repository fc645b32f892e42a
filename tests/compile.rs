//! What each indicator kind compiles to, kept in reviewed snapshots, and the
//! rules that shape the queries: defaults only where absence means zero,
//! ratios of sums, steps under the point limit, escaped label values.

mod support;

use std::path::Path;
use std::time::Duration;

use summit_slo::compile::{CompileError, CompileOptions, compile};
use summit_slo::spec::{Slo, load_text};
use summit_slo::window::Window;

fn window(seconds: i64) -> Window {
    let end: jiff::Timestamp = "2026-12-04T10:10:00Z".parse().expect("valid");
    Window {
        start: end - jiff::SignedDuration::from_secs(seconds),
        end,
    }
}

fn slos(text: &str) -> Vec<Slo> {
    let services = load_text(Path::new("slo.yaml"), text)
        .unwrap_or_else(|errors| panic!("{:?}", errors.diagnostics))
        .services;
    services
        .into_iter()
        .flat_map(|service| service.slos)
        .collect()
}

fn listing(text: &str) -> String {
    slos(text)
        .iter()
        .map(|slo| {
            compile(slo, &window(600), &CompileOptions::default())
                .expect("compiles")
                .render()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_indicator_kind_compiles_to_reviewed_promql() {
    let text = r#"
service: checkout
slos:
  - name: latency-p99
    indicator:
      latency: {histogram: http_request_duration_seconds, selector: '{job="checkout"}', quantile: 0.99}
    objective: "< 500ms"
    by: [route]
  - name: fast-requests
    indicator:
      latency: {histogram: http_request_duration_seconds, selector: '{job="checkout"}', threshold: 1s}
    objective: ">= 95%"
  - name: throughput
    indicator:
      rate: {counter: http_requests_total, selector: '{job="checkout"}'}
    objective: ">= 100/s"
  - name: dead-letters
    indicator:
      increase: {counter: dead_letters_total}
    objective: "== 0"
  - name: queue-depth
    indicator:
      gauge: {metric: queue_depth, aggregate: avg}
    objective: "< 1000"
  - name: free-workers
    indicator:
      gauge: {metric: idle_workers, aggregate: min}
    objective: ">= 2"
  - name: availability
    indicator:
      ratio: {errors: 'http_requests_total{code=~"5.."}', total: http_requests_total, selector: '{job="checkout"}'}
    objective: "< 0.5%"
  - name: availability-by-route
    indicator:
      ratio: {good: 'http_requests_total{code!~"5.."}', total: http_requests_total}
    objective: ">= 99.5%"
    by: [route]
  - name: redis-get
    indicator:
      mean: {sum: redis_commands_duration_seconds_total, count: redis_commands_total, selector: '{cmd="get"}'}
    objective: "< 5ms"
    requires:
      - indicator: {rate: {counter: redis_commands_processed_total}}
        objective: ">= 30k/s"
  - name: by-hand
    indicator:
      promql: {query: 'max(rate(x${selector}[${window}]))', selector: '{job="checkout"}'}
    objective: "< 1"
    sustained: {step: 1m, range: 2m}
"#;
    insta::assert_snapshot!(listing(text));
}

/// A counter's events over a 10-minute window, including a series born in
/// it (see the compiler's `counted`).
/// The counting of `series` (whose only target label is `job="checkout"`):
/// the family it joins is read for the same job only.
fn counted(series: &str) -> String {
    let metric = series.split('{').next().unwrap_or(series);
    let family = format!("{metric}{{job=\"checkout\"}}");
    let born = format!(
        "((min_over_time({series}[600s]) unless last_over_time({series}[660s] offset 540s)) or \
         ((min_over_time({series}[600s]) unless last_over_time({series}[600s] offset 600s)) and on \
         (job, instance) last_over_time({family}[600s] offset 600s)))"
    );
    format!("(increase({series}[600s]) + {born}) or increase({series}[600s]) or {born}")
}

/// C05: the numerator of a ratio defaults to zero (a counter that has not
/// counted yet), the denominator never does.
#[test]
fn ratio_numerator_defaults_to_zero_and_total_never() {
    let text = listing(
        r#"
service: checkout
slos:
  - name: checkout-availability
    indicator:
      ratio: {errors: 'http_requests_total{job="checkout",code=~"5.."}', total: 'http_requests_total{job="checkout"}'}
    objective: "< 1%"
"#,
    );
    let errors = counted(r#"http_requests_total{job="checkout", code=~"5.."}"#);
    let total = counted(r#"http_requests_total{job="checkout"}"#);
    assert!(
        text.contains(&format!("(sum({errors}) or vector(0)) / sum({total})")),
        "{text}"
    );
}

/// C07: a quantile comes with the observation count, so "no traffic" is
/// told apart from other NaNs.
#[test]
fn quantile_is_compiled_with_its_observation_count() {
    let text = listing(
        r#"
service: checkout
slos:
  - name: checkout-latency
    indicator:
      latency: {histogram: http_request_duration_seconds, selector: '{job="checkout"}', quantile: 0.95}
    objective: "< 300ms"
"#,
    );
    let buckets = counted(r#"http_request_duration_seconds_bucket{job="checkout"}"#);
    let count = counted(r#"http_request_duration_seconds_count{job="checkout"}"#);
    assert!(
        text.contains(&format!(
            "histogram_quantile(0.95, sum by (le) ({buckets}))"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("sum({count})")), "{text}");
}

/// C17: without an explicit step, sustained mode picks one under the
/// 11,000-point limit: a week needs at least 55s.
#[test]
fn sustained_step_is_raised_under_the_point_limit() {
    let slo = &slos(
        r#"
service: checkout
slos:
  - name: checkout-availability
    indicator:
      ratio: {errors: 'x_total{code="500"}', total: x_total}
    objective: "< 1%"
    sustained: {}
"#,
    )[0];
    let week = compile(slo, &window(604_800), &CompileOptions::default()).expect("compiles");
    let sustained = week.sustained.expect("sustained mode");
    assert_eq!(sustained.step, Duration::from_secs(60));
    assert!((604_800 / sustained.step.as_secs()) <= 11_000);

    let month = compile(slo, &window(90 * 86_400), &CompileOptions::default()).expect("compiles");
    let step = month.sustained.expect("sustained mode").step;
    assert_eq!(step, Duration::from_secs(707), "ceil(7,776,000 / 11,000)");
}

#[test]
fn explicit_step_over_the_point_limit_names_the_smallest_that_fits() {
    let slo = &slos(
        r#"
service: checkout
slos:
  - name: checkout-availability
    indicator:
      ratio: {errors: 'x_total{code="500"}', total: x_total}
    objective: "< 1%"
    sustained: {step: 15s}
"#,
    )[0];
    let error =
        compile(slo, &window(604_800), &CompileOptions::default()).expect_err("too many points");
    assert!(
        matches!(error, CompileError::TooManyPoints { points: 40_320, .. }),
        "{error}"
    );
    assert!(error.to_string().ends_with("use step ≥ 55s"), "{error}");
}

/// C18: gauges read the last sample within the window, evaluated at its end.
#[test]
fn gauge_last_reads_the_window_not_the_lookback() {
    let text = listing(
        r#"
service: k6
slos:
  - name: failed-requests
    indicator:
      gauge: {metric: k6_http_req_failed_rate, selector: '{testid="rel-42"}', aggregate: last}
    objective: "< 0.01"
"#,
    );
    assert!(
        text.contains(r#"max(last_over_time(k6_http_req_failed_rate{testid="rel-42"}[600s]))"#),
        "{text}"
    );
}

/// Label values are escaped, so a quote or backslash cannot change a
/// query's meaning; every query still parses.
#[test]
fn label_values_are_escaped() {
    let text = listing(
        r#"
service: checkout
slos:
  - name: odd-labels
    indicator:
      rate: {counter: http_requests_total, selector: '{route="/a\"b\\c", job=~"x|y"}'}
    objective: ">= 1/s"
"#,
    );
    assert!(text.contains(r#"route="/a\"b\\c""#), "{text}");
}

/// C11: a window shorter than two scrapes is refused at compile time.
#[test]
fn window_shorter_than_two_scrapes_is_refused() {
    let slo = &slos(
        r#"
service: checkout
slos:
  - name: checkout-availability
    indicator:
      ratio: {errors: 'x_total{code="500"}', total: x_total}
    objective: "< 1%"
"#,
    )[0];
    let options = CompileOptions {
        scrape_interval: Some(Duration::from_secs(60)),
        ..Default::default()
    };
    let error = compile(slo, &window(60), &options).expect_err("one scrape per window");
    assert_eq!(
        error.to_string(),
        "checkout/checkout-availability: window 1m is shorter than 2 × scrape interval (1m); use ≥ 2m (4m recommended)"
    );
    assert!(compile(slo, &window(120), &options).is_ok());
}

#[test]
fn compiled_queries_in_the_repository_are_up_to_date() {
    let run = support::run(&["compile", "--check"]);
    assert_eq!(run.code, 0, "queries/ is stale:\n{}", run.stderr);
}

#[test]
fn fixtures_match_their_generator() {
    let directory = tempfile::tempdir().expect("temp dir");
    let output = std::process::Command::new("python3")
        .arg(support::root().join("fixtures/generate.py"))
        .arg(directory.path())
        .output()
        .expect("python3 runs the generator");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut compared = 0;
    for entry in std::fs::read_dir(directory.path()).expect("generated files") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("a name").to_owned();
        let committed = support::root().join("fixtures").join(&name);
        let same = std::fs::read(&path).ok() == std::fs::read(&committed).ok();
        assert!(
            same,
            "fixtures/{} differs from generate.py's output; run python3 fixtures/generate.py",
            name.to_string_lossy()
        );
        compared += 1;
    }
    assert_eq!(compared, 16, "every scenario is generated");
}
