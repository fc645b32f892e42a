//! A broken spec stops the run with exit 3 and a diagnostic per problem,
//! each naming the file, line and column, all of them from all files in one
//! run. Snapshots keep the wording and layout reviewed.

mod support;

use support::{SloFiles, run};

fn validate(files: &SloFiles) -> support::Run {
    run(&["validate", "--slos", files.path().to_str().expect("UTF-8")])
}

fn snapshot_stderr(name: &str, files: &SloFiles, stderr: &str) {
    let directory = files.path().display().to_string();
    let stable = stderr.replace(&directory, "[DIR]");
    insta::assert_snapshot!(name, stable);
}

const VALID_SLO: &str = "  - name: checkout-latency
    indicator:
      latency: {histogram: http_request_duration_seconds, quantile: 0.95}
    objective: \"< 300ms\"
";

#[test]
fn bad_quantity_points_at_the_objective() {
    let files = SloFiles::new(
        "service: checkout
slos:
  - name: checkout-latency
    indicator:
      latency: {histogram: http_request_duration_seconds, quantile: 0.95}
    objective: \"< 200 parsecs\"
",
    );
    let result = validate(&files);
    assert_eq!(result.code, 3);
    assert!(
        result.stderr.contains("slo.yaml:6:16]"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("unknown unit 'parsecs'"),
        "{}",
        result.stderr
    );
    snapshot_stderr("bad_quantity", &files, &result.stderr);
}

#[test]
fn quantity_of_the_wrong_dimension_is_refused() {
    let files = SloFiles::new(
        "service: checkout
slos:
  - name: checkout-latency
    indicator:
      latency: {histogram: http_request_duration_seconds, quantile: 0.95}
    objective: \">= 1000/s\"
",
    );
    let result = validate(&files);
    assert_eq!(result.code, 3);
    assert!(
        result
            .stderr
            .contains("a rate cannot be compared with a value in seconds"),
        "{}",
        result.stderr
    );
}

#[test]
fn unknown_field_suggests_the_closest() {
    let files = SloFiles::new(&format!(
        "service: checkout
slos:
{VALID_SLO}    min_event: 200
"
    ));
    let result = validate(&files);
    assert_eq!(result.code, 3);
    assert!(result.stderr.contains("slo.yaml:7:5]"), "{}", result.stderr);
    assert!(
        result.stderr.contains("did you mean 'min_events'?"),
        "{}",
        result.stderr
    );
    snapshot_stderr("unknown_field", &files, &result.stderr);
}

#[test]
fn duplicate_name_points_at_both_definitions() {
    let files = SloFiles::new(&format!("service: checkout\nslos:\n{VALID_SLO}{VALID_SLO}"));
    let result = validate(&files);
    assert_eq!(result.code, 3);
    assert!(
        result
            .stderr
            .contains("service 'checkout' defines SLO 'checkout-latency' twice"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("slo.yaml:7:5]"),
        "the second: {}",
        result.stderr
    );
    assert!(
        result.stderr.contains("slo.yaml:3:5"),
        "the first: {}",
        result.stderr
    );
    snapshot_stderr("duplicate_name", &files, &result.stderr);
}

#[test]
fn duplicate_name_across_files_of_one_service() {
    let files = SloFiles::new(&format!("service: checkout\nslos:\n{VALID_SLO}"));
    files.add(
        "more.yaml",
        &format!("service: checkout\nslos:\n{VALID_SLO}"),
    );
    let result = validate(&files);
    assert_eq!(result.code, 3);
    assert!(
        result
            .stderr
            .contains("defines SLO 'checkout-latency' twice"),
        "{}",
        result.stderr
    );
}

#[test]
fn two_indicators_in_one_slo_are_refused() {
    let files = SloFiles::new(
        "service: checkout
slos:
  - name: checkout-latency
    indicator:
      latency: {histogram: http_request_duration_seconds, quantile: 0.95}
      rate: {counter: http_requests_total}
    objective: \"< 300ms\"
",
    );
    let result = validate(&files);
    assert_eq!(result.code, 3);
    assert!(result.stderr.contains("slo.yaml:6:7]"), "{}", result.stderr);
    snapshot_stderr("two_indicators", &files, &result.stderr);
}

/// C06: a misspelt reference is an error before any query, with the
/// likely intended word; an SLO without an objective is never an implicit
/// pass.
#[test]
fn c06_unknown_indicator_kind_and_missing_objective() {
    let files = SloFiles::new(
        "service: checkout
slos:
  - name: checkout-latency
    indicator:
      latancy: {histogram: http_request_duration_seconds, quantile: 0.99}
    objective: \"< 500ms\"
  - name: checkout-throughput
    indicator:
      rate: {counter: http_requests_total}
",
    );
    let result = validate(&files);
    assert_eq!(result.code, 3);
    assert!(
        result
            .stderr
            .contains("SLO 'checkout-latency': unknown indicator kind 'latancy'"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("did you mean 'latency'?"),
        "{}",
        result.stderr
    );
    assert!(
        result
            .stderr
            .contains("SLO 'checkout-throughput' needs 'objective'"),
        "{}",
        result.stderr
    );
    snapshot_stderr("unknown_kind_and_missing_objective", &files, &result.stderr);
}

#[test]
fn every_problem_in_every_file_is_reported_in_one_run() {
    let files = SloFiles::new(&format!(
        "service: checkout
slos:
{VALID_SLO}    no_data: maybe
  - name: checkout-errors
    indicator:
      ratio: {{errors: 'http_requests_total{{code=~\"5..\"}}', total: http_requests_total}}
    objective: \"< 1 %%\"
"
    ));
    files.add(
        "payments.yaml",
        "service: payments
slos:
  - name: payments-latency
    indicator:
      latency: {histogram: payments_duration, quantile: 95}
    objective: \"< 1s\"
",
    );
    let result = validate(&files);
    assert_eq!(result.code, 3);
    assert!(
        result
            .stderr
            .contains("no_data must be inconclusive, fail or pass"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("invalid objective"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("quantile 95 is not between 0 and 1"),
        "{}",
        result.stderr
    );
    assert!(
        result
            .stderr
            .contains("cannot tell the unit of 'payments_duration'"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("payments.yaml:5:"),
        "{}",
        result.stderr
    );
    assert!(
        result
            .stderr
            .contains("error: 4 problems in the SLO files; nothing was verified"),
        "{}",
        result.stderr
    );
}

#[test]
fn broken_yaml_and_missing_paths_are_errors() {
    let files = SloFiles::new("service: checkout\nslos:\n  - name: [unclosed\n");
    let result = validate(&files);
    assert_eq!(result.code, 3);
    assert!(
        result.stderr.contains("is not valid YAML"),
        "{}",
        result.stderr
    );

    let missing = run(&["validate", "--slos", "/nonexistent/slos"]);
    assert_eq!(missing.code, 3);
    assert!(
        missing.stderr.contains("/nonexistent/slos does not exist"),
        "{}",
        missing.stderr
    );

    let empty = tempfile::tempdir().expect("temp dir");
    let none = run(&["validate", "--slos", empty.path().to_str().expect("UTF-8")]);
    assert_eq!(none.code, 3);
    assert!(none.stderr.contains("no SLO files"), "{}", none.stderr);
}

#[test]
fn promql_placeholders_and_syntax_are_checked() {
    let files = SloFiles::new(
        "service: checkout
slos:
  - name: by-hand
    indicator:
      promql: {query: 'sum(rate(x[${windw}]))'}
    objective: \"< 1\"
  - name: broken
    indicator:
      promql: {query: 'sum(rate(x[${window}])'}
    objective: \"< 1\"
",
    );
    let result = validate(&files);
    assert_eq!(result.code, 3);
    assert!(
        result.stderr.contains("unknown placeholder '${windw}'"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("the query is not valid PromQL"),
        "{}",
        result.stderr
    );
}

#[test]
fn shipped_slos_are_valid() {
    let result = run(&["validate"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(result.stdout, "ok: 6 SLOs in 4 services valid\n");
}

/// An objective no measurement could fail, or none could meet, decides
/// nothing and is refused.
#[test]
fn objectives_that_decide_nothing_are_refused() {
    let cases = [
        (
            "ratio: {errors: 'x_total{code=\"500\"}', total: x_total}",
            "< 150%",
            "is always met",
        ),
        (
            "ratio: {errors: 'x_total{code=\"500\"}', total: x_total}",
            ">= 99.9%",
            "bounds an error ratio from below",
        ),
        (
            "ratio: {good: 'x_total{code=\"200\"}', total: x_total}",
            "< 1%",
            "bounds a success ratio from above",
        ),
        (
            "ratio: {errors: 'x_total{code=\"500\"}', total: x_total}",
            "< -1%",
            "can never be met",
        ),
        (
            "increase: {counter: dead_letters_total}",
            "== -1",
            "can never be met",
        ),
        ("rate: {counter: requests_total}", ">= 0/s", "is always met"),
        (
            "latency: {histogram: h_seconds, quantile: 0.5}",
            "< 0ms",
            "can never be met",
        ),
    ];
    for (indicator, objective, expected) in cases {
        let files = SloFiles::new(&format!(
            "service: checkout\nslos:\n  - name: x\n    indicator: {{{indicator}}}\n    objective: \"{objective}\"\n"
        ));
        let result = validate(&files);
        assert_eq!(result.code, 3, "{indicator} {objective}");
        assert!(
            result.stderr.contains(expected),
            "{indicator} {objective}: {}",
            result.stderr
        );
    }
    let period = SloFiles::new(
        "service: checkout\nslos:\n  - name: x\n    indicator: {ratio: {errors: 'x_total{code=\"500\"}', total: x_total}}\n    objective: \"< 1%\"\n    budget_period: 1ms\n",
    );
    assert!(
        validate(&period)
            .stderr
            .contains("budget_period must be at least 1h")
    );
    let threshold = SloFiles::new(
        "service: checkout\nslos:\n  - name: x\n    indicator: {latency: {histogram: h_seconds, threshold: -1s}}\n    objective: \">= 99%\"\n",
    );
    assert!(
        validate(&threshold)
            .stderr
            .contains("is not a positive duration")
    );
}

#[test]
fn units_come_from_sum_names_and_missing_units_say_how_to_add_one() {
    let files = SloFiles::new(
        "service: checkout\nslos:\n  - name: mean-latency\n    indicator: {mean: {sum: http_request_duration_seconds_sum, count: http_request_duration_seconds_count}}\n    objective: \"< 500ms\"\n",
    );
    assert_eq!(validate(&files).code, 0, "a histogram's _sum is in seconds");
    let gauge = SloFiles::new(
        "service: checkout\nslos:\n  - name: lag\n    indicator: {gauge: {metric: consumer_lag}}\n    objective: \"< 5s\"\n",
    );
    let result = validate(&gauge);
    assert_eq!(result.code, 3);
    assert!(
        result.stderr.contains("add 'unit: seconds'"),
        "{}",
        result.stderr
    );
}

#[test]
fn stray_document_markers_and_odd_paths() {
    let files = SloFiles::new(&format!("---\nservice: checkout\nslos:\n{VALID_SLO}---\n"));
    assert_eq!(
        validate(&files).code,
        0,
        "a trailing --- is an empty document, not an error"
    );

    let not_a_file = run(&["validate", "--slos", "/dev/null"]);
    assert_eq!(not_a_file.code, 3);
    assert!(
        not_a_file
            .stderr
            .contains("/dev/null is not a file or a directory"),
        "{}",
        not_a_file.stderr
    );
}

#[test]
fn promql_selector_without_placeholder_is_refused() {
    let files = SloFiles::new(
        "service: checkout\nslos:\n  - name: by-hand\n    indicator:\n      promql: {query: 'sum(rate(x[${window}]))', selector: '{job=\"checkout\"}'}\n    objective: \"< 1\"\n",
    );
    let result = validate(&files);
    assert_eq!(result.code, 3);
    assert!(
        result
            .stderr
            .contains("'selector' is set but the query has no ${selector}"),
        "{}",
        result.stderr
    );
}

/// Specs that would quietly judge something other than what was meant:
/// durations without units, units that contradict the metric name, '=='
/// on a gauge, queries that ignore the window, uncountable min_events, and
/// sustained ranges with gaps.
#[test]
fn specs_that_would_judge_the_wrong_thing_are_refused() {
    let cases = [
        (
            "latency: {histogram: h_seconds, quantile: 0.95}",
            "< 200",
            "",
            "has no unit but the value is in seconds",
        ),
        (
            "mean: {sum: d_seconds_total, count: c_total}",
            "< 5",
            "",
            "has no unit",
        ),
        (
            "latency: {histogram: h_seconds, quantile: 0.95, unit: milliseconds}",
            "< 200ms",
            "",
            "unit says milliseconds",
        ),
        (
            "gauge: {metric: in_flight}",
            "== 0",
            "",
            "'==' cannot judge a gauge",
        ),
        (
            "promql: {query: 'sum(rate(x_total[1m]))'}",
            "< 1",
            "",
            "does not use ${window}",
        ),
        (
            "promql: {query: 'sum(rate(x_total[${window}] offset 1h))'}",
            "< 1",
            "",
            "uses 'offset' or '@'",
        ),
        (
            "promql: {query: 'sum(rate(x_total[${window}]))'}",
            "< 1",
            "    min_events: 100\n",
            "min_events needs an 'events' query",
        ),
        (
            "rate: {counter: x_total}",
            ">= 1/s",
            "    sustained: {step: 5m, range: 30s}\n",
            "is shorter than its step",
        ),
    ];
    for (indicator, objective, extra, expected) in cases {
        let files = SloFiles::new(&format!(
            "service: checkout\nslos:\n  - name: x\n    indicator: {{{indicator}}}\n    objective: \"{objective}\"\n{extra}"
        ));
        let result = validate(&files);
        assert_eq!(result.code, 3, "{indicator} {objective}");
        assert!(
            result.stderr.contains(expected),
            "{indicator} {objective}: {}",
            result.stderr
        );
    }
}

#[test]
fn a_bad_service_name_does_not_hide_the_slos_problems() {
    let files = SloFiles::new(
        "service: bad one\nslos:\n  - name: x\n    indicator: {rate: {counter: x_total}}\n    objective: \"fast\"\n",
    );
    let result = validate(&files);
    assert_eq!(result.code, 3);
    assert!(
        result.stderr.contains("the service name 'bad one'"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("invalid objective"),
        "{}",
        result.stderr
    );
}
