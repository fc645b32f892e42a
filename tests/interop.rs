//! OpenSLO and Sloth specs through the built binary: the examples judge
//! exactly as their native twins on a real Prometheus, what cannot be
//! translated stops the run at its file, line and column, and what is left
//! out is a warning that never changes the exit code.

mod support;

use std::path::Path;

use serde_json::Value;
use summit_slo::spec::SourceFile;
use support::{Prometheus, SloFiles, root, run, verify_json};

/// `line:column` (1-based) of the first occurrence of `needle` in `text`,
/// as miette prints it after the file name.
fn position(text: &str, needle: &str) -> String {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is in the file"));
    let file = SourceFile::new(Path::new("slo.yaml"), text.to_string());
    let (line, column) = file.line_column(offset);
    format!("{line}:{column}")
}

/// Asserts stderr holds a diagnostic with `code` at `file:line:column`
/// (`at`) saying `words`.
fn assert_reported(stderr: &str, code: &str, at: &str, words: &str) {
    assert!(stderr.contains(code), "{code}: {stderr}");
    assert!(
        stderr.contains(&format!("{at}]")),
        "{code} at {at}: {stderr}"
    );
    assert!(stderr.contains(words), "{code}: {words}: {stderr}");
}

/// The `slos[]` entries of a JSON report, keyed by `service/name`.
fn slos_by_id(report: &Value) -> Vec<(String, Value)> {
    report["slos"]
        .as_array()
        .expect("slos is a list")
        .iter()
        .map(|slo| {
            let id = format!(
                "{}/{}",
                slo["service"].as_str().expect("a service"),
                slo["name"].as_str().expect("a name")
            );
            (id, slo.clone())
        })
        .collect()
}

/// Every translated SLO has a native twin with the same query, objective,
/// verdict and value (within 1e-9).
fn assert_same_as_native(translated: &Value, native: &Value, what: &str) {
    let native = slos_by_id(native);
    let translated = slos_by_id(translated);
    assert!(!translated.is_empty(), "{what}: no SLOs judged");
    for (id, slo) in &translated {
        let (_, twin) = native
            .iter()
            .find(|(native_id, _)| native_id == id)
            .unwrap_or_else(|| panic!("{what}: no native twin for {id}"));
        for field in [
            "query",
            "objective",
            "objective_value",
            "unit",
            "verdict",
            "reason",
        ] {
            assert_eq!(slo[field], twin[field], "{what} {id}: {field}");
        }
        let value = slo["value"].as_f64().expect("a value");
        let twin_value = twin["value"].as_f64().expect("a value");
        assert!(
            (value - twin_value).abs() <= 1e-9,
            "{what} {id}: {value} against native {twin_value}"
        );
    }
}

#[test]
fn openslo_and_sloth_examples_judge_as_their_native_twins() {
    let openslo = root().join("examples/openslo");
    let sloth = root().join("examples/sloth");
    let native = root().join("tests/interop/native.yaml");
    // (fixture, exit code, verdicts of availability, error ratio, queue depth,
    // queue peak)
    let cases = [
        ("release-pass", 0, ["pass", "pass", "pass"], 407.0),
        ("release-fail", 1, ["fail", "fail", "fail"], 1505.0),
    ];
    for (fixture, code, verdicts, queue_peak) in cases {
        let prometheus = Prometheus::start(&[fixture]);
        let native_run = verify_json(&prometheus.url, &native, &[]);
        assert_eq!(
            native_run.code, code,
            "{fixture} native: {}",
            native_run.stderr
        );
        let native_report = native_run.json();

        let openslo_run = verify_json(&prometheus.url, &openslo, &[]);
        assert_eq!(openslo_run.code, code, "{fixture}: {}", openslo_run.stderr);
        let openslo_report = openslo_run.json();
        assert_same_as_native(&openslo_report, &native_report, fixture);
        assert_eq!(
            openslo_run.slo("graphql-availability")["verdict"],
            verdicts[0],
            "{fixture}"
        );
        let queue = openslo_run.slo("queue-depth-peak");
        assert_eq!(queue["verdict"], verdicts[2], "{fixture}");
        assert_eq!(queue["value"].as_f64(), Some(queue_peak), "{fixture}");

        let sloth_run = verify_json(&prometheus.url, &sloth, &[]);
        assert_eq!(sloth_run.code, code, "{fixture}: {}", sloth_run.stderr);
        assert_same_as_native(&sloth_run.json(), &native_report, fixture);
        assert_eq!(
            sloth_run.slo("graphql-error-ratio")["verdict"],
            verdicts[1],
            "{fixture}"
        );
        // The error share of fixtures/README.md: 0.02% and 0.5%.
        let share = sloth_run.slo("graphql-availability")["value"]
            .as_f64()
            .expect("a value");
        let expected = if fixture == "release-pass" {
            0.0002
        } else {
            0.005
        };
        support::assert_close(share, expected, 0.05, fixture);
    }
}

const REFUSED_OPENSLO: &str = "apiVersion: openslo/v1
kind: SLI
metadata:
  name: checkout-errors
spec:
  ratioMetric:
    counter: true
    bad:
      metricSource:
        type: Prometheus
        spec:
          query: sum(rate(http_requests_total{job=\"checkout\", code=~\"5..\"}[5m]))
    total:
      metricSource:
        type: Prometheus
        spec:
          query: sum(rate(http_requests_total{job=\"checkout\"}[5m]))
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
spec:
  service: checkout
  indicatorRef: checkout-erors
  budgetingMethod: Occurrences
  objectives:
    - target: 0.999
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-sliced
spec:
  service: checkout
  indicatorRef: checkout-errors
  budgetingMethod: Timeslices
  objectives:
    - target: 0.999
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-datadog
spec:
  service: checkout
  indicator:
    spec:
      thresholdMetric:
        metricSource:
          type: Datadog
          spec:
            query: avg:checkout.queue{*}
  budgetingMethod: Occurrences
  objectives:
    - {op: lt, value: 100, target: 0.99}
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-latency
spec:
  service: checkout
  indicator:
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec:
            query: histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))
  budgetingMethod: Occurrences
  objectives:
    - {op: lt, value: 0.3, target: 0.99}
";

const REFUSED_SLOTH: &str = "version: \"prometheus/v1\"
service: checkout
slos:
  - name: checkout-plugin
    objective: 99.9
    sli:
      plugin:
        id: sloth-common/kubernetes/apiserver/availability
  - name: checkout-difference
    objective: 99
    sli:
      events:
        error_query: sum(rate(a_total[{{.window}}])) - sum(rate(b_total[{{.window}}]))
        total_query: sum(rate(a_total[{{.window}}]))
";

#[test]
fn untranslatable_specs_stop_the_run_at_their_positions_all_at_once() {
    let files = SloFiles::new(REFUSED_OPENSLO);
    files.add("sloth.yaml", REFUSED_SLOTH);
    let result = run(&["validate", "--slos", files.path().to_str().expect("UTF-8")]);
    assert_eq!(result.code, 3, "{}", result.stderr);
    assert_eq!(result.stdout, "");

    let expected = [
        (
            "spec::openslo::unknown-indicator-ref",
            "slo.yaml",
            position(REFUSED_OPENSLO, "checkout-erors"),
            "OpenSLO SLO 'checkout-availability': indicatorRef 'checkout-erors' names no SLI",
        ),
        (
            "spec::openslo::timeslices",
            "slo.yaml",
            position(REFUSED_OPENSLO, "Timeslices"),
            "budgetingMethod Timeslices is not translated",
        ),
        (
            "spec::openslo::not-prometheus",
            "slo.yaml",
            position(REFUSED_OPENSLO, "Datadog"),
            "type 'Datadog' is not translated",
        ),
        (
            "spec::openslo::unsupported-query",
            "slo.yaml",
            position(REFUSED_OPENSLO, "histogram_quantile"),
            "the function 'histogram_quantile' is outside the PromQL subset summit-slo \
             translates: a threshold metric is one gauge selector",
        ),
        (
            "spec::sloth::plugin",
            "sloth.yaml",
            position(REFUSED_SLOTH, "id: sloth-common"),
            "the SLI plugin 'sloth-common/kubernetes/apiserver/availability' is not translated",
        ),
        (
            "spec::sloth::unsupported-query",
            "sloth.yaml",
            position(REFUSED_SLOTH, "sum(rate(a_total[{{.window}}])) -"),
            "the operator '-' is outside the PromQL subset",
        ),
    ];
    for (code, file, at, words) in &expected {
        assert_reported(&result.stderr, code, &format!("{file}:{at}"), words);
    }
    assert!(
        result
            .stderr
            .contains("did you mean 'checkout-errors'? SLIs loaded: checkout-errors"),
        "{}",
        result.stderr
    );
    assert!(
        result
            .stderr
            .contains("error: 6 problems in the SLO files; nothing was verified"),
        "{}",
        result.stderr
    );
}

#[test]
fn fields_left_out_are_warnings_that_keep_the_exit_code() {
    let sloth = "version: \"prometheus/v1\"
service: summit-api
slos:
  - name: graphql-availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(graphql_requests_total{job=\"summit-api\", status=\"error\"}[{{.window}}]))
        total_query: sum(rate(graphql_requests_total{job=\"summit-api\"}[{{.window}}]))
    alerting:
      name: SummitGraphqlAvailability
";
    let openslo = "apiVersion: openslo/v1
kind: SLO
metadata:
  name: queue-depth-peak
  annotations:
    grafana.com/dashboard: workers
spec:
  service: summit-workers
  indicator:
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec:
            query: summit_worker_queue_depth{job=\"summit-worker\"}
  budgetingMethod: Occurrences
  objectives:
    - {op: lt, value: 1000, target: 0.99}
  alertPolicies:
    - alertPolicyRef: page-on-call
";
    let files = SloFiles::new(sloth);
    files.add("openslo.yaml", openslo);
    let slos = files.path().to_str().expect("UTF-8");

    let validate = run(&["validate", "--slos", slos]);
    assert_eq!(validate.code, 0, "{}", validate.stderr);
    assert_eq!(validate.stdout, "ok: 2 SLOs in 2 services valid\n");
    let warnings = [
        (
            "spec::sloth::alerting",
            format!("slo.yaml:{}", position(sloth, "alerting")),
            "alerting is not translated: `summit-slo rules` writes its own burn-rate alerts",
        ),
        (
            "spec::openslo::annotations",
            format!("openslo.yaml:{}", position(openslo, "annotations")),
            "annotations are not translated",
        ),
        (
            "spec::openslo::alert-policies",
            format!("openslo.yaml:{}", position(openslo, "alertPolicies")),
            "alertPolicies are not translated",
        ),
        (
            "spec::openslo::threshold-target",
            format!("openslo.yaml:{}", position(openslo, "0.99}")),
            "target 99% is judged as 100%",
        ),
    ];
    for (code, at, words) in &warnings {
        assert_reported(&validate.stderr, code, at, words);
    }
    assert!(
        validate
            .stderr
            .contains("warning: 4 warnings about the SLO files (above); the run goes on"),
        "{}",
        validate.stderr
    );

    // A passing gate stays exit 0 with the warnings on stderr, and stdout
    // stays a clean report.
    let prometheus = Prometheus::start(&["release-pass"]);
    let verify = verify_json(&prometheus.url, Path::new(slos), &[]);
    assert_eq!(verify.code, 0, "{}", verify.stderr);
    assert_eq!(verify.json()["verdict"], "pass");
    assert!(
        verify.stderr.contains("spec::sloth::alerting"),
        "{}",
        verify.stderr
    );
    assert!(!verify.stdout.contains("alerting"), "{}", verify.stdout);
}

#[test]
fn warnings_are_shown_beside_errors_when_the_run_stops() {
    let files = SloFiles::new(
        "version: \"prometheus/v1\"
service: checkout
slos:
  - name: checkout-availability
    objective: 100.5
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: CheckoutAvailability
",
    );
    let result = run(&["validate", "--slos", files.path().to_str().expect("UTF-8")]);
    assert_eq!(result.code, 3, "{}", result.stderr);
    assert!(
        result.stderr.contains("spec::sloth::invalid-objective"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("slo.yaml:5:16]"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("spec::sloth::alerting"),
        "{}",
        result.stderr
    );
}

#[test]
fn native_files_are_read_as_before_beside_translated_ones() {
    let result = run(&["compile", "--slos", "slos", "--slos", "examples/sloth"]);
    assert_eq!(
        result.code, 3,
        "one service, one SLO name, twice: {}",
        result.stderr
    );
    assert!(
        result
            .stderr
            .contains("service 'summit-api' defines SLO 'graphql-availability' twice"),
        "{}",
        result.stderr
    );

    let native = run(&["compile", "--slos", "slos"]);
    assert_eq!(native.code, 0, "{}", native.stderr);
    assert_eq!(native.stderr, "", "native files warn about nothing");
}
