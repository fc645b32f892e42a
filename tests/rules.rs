//! `summit-slo rules`: the rules Prometheus loads are valid, match the SLO
//! files they were written from, and alert when (and only when) they should,
//! as promtool's own rule tests show.

mod support;

use std::path::Path;
use std::process::Command;

use support::{SloFiles, root, run};

const CHECKED_IN: &str = "examples/prometheus/summit-slo.rules.yml";

/// `promtool check rules FILE`: its exit code and output.
fn promtool_check(path: &Path) -> (bool, String) {
    support::require("promtool");
    let output = Command::new("promtool")
        .args(["check", "rules"])
        .arg(path)
        .output()
        .expect("promtool runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[test]
fn the_checked_in_rules_match_the_slo_files_and_promtool_accepts_them() {
    let current = run(&["rules", "--check", CHECKED_IN]);
    assert_eq!(
        current.code, 0,
        "regenerate with `summit-slo rules --output {CHECKED_IN}`: {}",
        current.stderr
    );
    let (valid, text) = promtool_check(&root().join(CHECKED_IN));
    assert!(valid, "{text}");
    assert!(text.contains("SUCCESS: 38 rules found"), "{text}");
}

#[test]
fn openslo_and_sloth_examples_get_rules_promtool_accepts() {
    // (directory, rules expected, an alert the translated SLOs must get)
    for (directory, rules, alert) in [
        ("examples/openslo", 13, "SloObjectiveMissed"),
        ("examples/sloth", 20, "SloErrorBudgetBurnFast"),
    ] {
        let output = tempfile::tempdir().expect("temp dir");
        let path = output.path().join("rules.yml");
        let written = run(&[
            "rules",
            "--slos",
            &root().join(directory).display().to_string(),
            "--output",
            path.to_str().expect("UTF-8"),
        ]);
        assert_eq!(written.code, 0, "{directory}: {}", written.stderr);
        let (valid, text) = promtool_check(&path);
        assert!(valid, "{directory}: {text}");
        assert!(
            text.contains(&format!("SUCCESS: {rules} rules found")),
            "{directory}: {text}"
        );
        let yaml = std::fs::read_to_string(&path).expect("written");
        assert!(yaml.contains(alert), "{directory}: {yaml}");
    }
}

#[test]
fn burn_rate_alerts_fire_on_burning_data_and_stay_quiet_otherwise() {
    // The scenarios and their expected alerts are in the promtool test file.
    support::require("promtool");
    let output = Command::new("promtool")
        .args(["test", "rules", "tests/rules/summit-slo.test.yml"])
        .current_dir(root())
        .output()
        .expect("promtool runs");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_kind_of_slo_gets_rules_promtool_accepts() {
    // A success ratio per group, a latency share, a mean, a hand-written
    // query and a throughput objective, with label values that need quoting.
    let slos = SloFiles::new(
        r#"service: checkout
labels: {team: "pay \"ments\""}
slos:
  - name: success
    indicator: {ratio: {good: 'http_requests_total{code!~"5.."}', total: http_requests_total}}
    objective: ">= 99.5%"
    by: [route]
  - name: fast-enough
    indicator: {latency: {histogram: http_request_duration_seconds, quantile: 0.99}}
    objective: "< 1s"
  - name: under-300ms
    indicator: {latency: {histogram: http_request_duration_seconds, threshold: 300ms}}
    objective: ">= 95%"
  - name: cache-latency
    indicator: {mean: {sum: cache_seconds_sum, count: cache_seconds_count}}
    objective: "< 5ms"
    warning: "< 3ms"
  - name: custom
    indicator: {promql: {query: 'max(max_over_time(open_connections${selector}[${window}]))'}}
    objective: "< 500"
  - name: throughput
    indicator: {rate: {counter: http_requests_total}}
    objective: ">= 100/s"
"#,
    );
    let directory = tempfile::tempdir().expect("temp dir");
    let rules = directory.path().join("rules.yml");
    let written = run(&[
        "rules",
        "--slos",
        slos.path().to_str().expect("UTF-8"),
        "--output",
        rules.to_str().expect("UTF-8"),
    ]);
    assert_eq!(written.code, 0, "{}", written.stderr);
    let (valid, text) = promtool_check(&rules);
    assert!(valid, "{text}");
    let yaml = std::fs::read_to_string(&rules).expect("written");
    assert!(
        yaml.contains("# checkout/throughput gets no alert"),
        "{yaml}"
    );
    // The success ratio allows 0.5% errors; the fast burn pages at 14.4x.
    assert!(yaml.contains("> 0.072"), "{yaml}");
    assert!(
        yaml.contains("sum by (route) (rate(http_requests_total"),
        "{yaml}"
    );
    assert!(yaml.contains("\"severity\": \"ticket\""), "{yaml}");
    assert!(yaml.contains("\"team\": \"pay \\\"ments\\\"\""), "{yaml}");
    assert!(yaml.contains("SloWarningMissed"), "{yaml}");
}

#[test]
fn a_stale_rules_file_fails_the_check_and_bad_options_stop() {
    let directory = tempfile::tempdir().expect("temp dir");
    let stale = directory.path().join("stale.yml");
    std::fs::write(&stale, "groups: []\n").expect("written");
    let checked = run(&["rules", "--check", stale.to_str().expect("UTF-8")]);
    assert_eq!(checked.code, 1, "{}", checked.stderr);
    assert!(
        checked.stderr.contains("no longer matches the SLO files"),
        "{}",
        checked.stderr
    );

    let refused = run(&["rules", "--threshold-window", "90s"]);
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("--threshold-window 90s is not a whole number of minutes"),
        "{}",
        refused.stderr
    );
}

/// Writes rules for `slos` and runs `tests` (promtool's `tests:` list) on
/// them; returns the rules and promtool's output.
fn promtool_test(slos: &str, tests: &str) -> (String, bool, String) {
    support::require("promtool");
    let files = SloFiles::new(slos);
    let directory = tempfile::tempdir().expect("temp dir");
    let rules = directory.path().join("rules.yml");
    let written = run(&[
        "rules",
        "--slos",
        files.path().to_str().expect("UTF-8"),
        "--output",
        rules.to_str().expect("UTF-8"),
    ]);
    assert_eq!(written.code, 0, "{}", written.stderr);
    let test = directory.path().join("test.yml");
    std::fs::write(
        &test,
        format!("rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n{tests}"),
    )
    .expect("written");
    let output = Command::new("promtool")
        .args(["test", "rules"])
        .arg(&test)
        .output()
        .expect("promtool runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let yaml = std::fs::read_to_string(&rules).expect("written") + &written.stderr;
    (yaml, output.status.success(), text)
}

#[test]
fn a_latency_bound_without_a_bucket_edge_is_absent_not_a_page() {
    // prom-client's default buckets have no 0.2 edge: every request is
    // fast, and the burn alerts must not read the missing edge as "all
    // slow"; the absent alert says why they cannot work.
    let slos = "service: api\nslos:\n  - name: p95\n    indicator: {latency: {histogram: h_seconds, quantile: 0.95}}\n    objective: \"< 200ms\"\n";
    let tests = r#"  - interval: 1m
    input_series:
      - {series: 'h_seconds_bucket{le="0.1"}', values: '0+100x60'}
      - {series: 'h_seconds_bucket{le="0.25"}', values: '0+100x60'}
      - {series: 'h_seconds_bucket{le="+Inf"}', values: '0+100x60'}
      - {series: 'h_seconds_count', values: '0+100x60'}
    alert_rule_test:
      - {eval_time: 30m, alertname: SloErrorBudgetBurnFast, exp_alerts: []}
      - {eval_time: 30m, alertname: SloErrorBudgetBurnSlow, exp_alerts: []}
      - eval_time: 30m
        alertname: SloIndicatorAbsent
        exp_alerts:
          - exp_labels: {service: api, slo: p95, severity: ticket}
            exp_annotations: {summary: 'api/p95 has no slo:sli_error:ratio_rate1h series, so its alerts cannot fire'}
"#;
    let (_, passed, text) = promtool_test(slos, tests);
    assert!(passed, "{text}");
}

#[test]
fn burns_that_could_never_fire_are_left_out_and_said() {
    // A p50 SLO allows 50% slow requests: burning it 14.4 or 6 times over
    // would take more than every request. A p90 keeps the 6h pair only.
    let slos = "service: api\nslos:\n  - name: p50\n    indicator: {latency: {histogram: h_seconds, quantile: 0.5}}\n    objective: \"< 250ms\"\n  - name: p90\n    indicator: {latency: {histogram: h_seconds, quantile: 0.9}}\n    objective: \"< 250ms\"\n";
    let (yaml, passed, text) = promtool_test(slos, "");
    assert!(passed, "{text}");
    for limit in ["> 7.2", "> 3", "> 1.44"] {
        assert!(!yaml.contains(limit), "{limit}: {yaml}");
    }
    assert!(yaml.contains("> 0.6"), "p90's 6h pair: {yaml}");
    assert!(
        yaml.contains(
            "# api/p50 gets no page burn over 1h and 5m: 14.4 times a budget of 50% is more than every event failing."
        ),
        "{yaml}"
    );
    assert!(
        yaml.contains("note: api/p90 gets no page burn over 1h and 5m"),
        "stderr says it too: {yaml}"
    );
}

#[test]
fn a_burst_of_dead_letters_pages_at_once() {
    let slos = "service: workers\nslos:\n  - name: dead-letters\n    indicator: {increase: {counter: dead_letters_total}}\n    objective: \"== 0\"\n";
    let tests = r#"  - interval: 1m
    input_series:
      - {series: 'dead_letters_total', values: '0x30 500x30'}
    alert_rule_test:
      - {eval_time: 29m, alertname: SloObjectiveMissed, exp_alerts: []}
      - eval_time: 32m
        alertname: SloObjectiveMissed
        exp_alerts:
          - exp_labels: {service: workers, slo: dead-letters, severity: page}
            exp_annotations: {summary: 'workers/dead-letters misses == 0 over 5m: 500'}
"#;
    let (_, passed, text) = promtool_test(slos, tests);
    assert!(passed, "{text}");
}

#[test]
fn labels_that_would_clash_or_expand_are_kept_apart() {
    // A group label the rules set, a file label that is also a group label,
    // and template braces in a label value and a selector.
    let slos = r#"service: api
labels: {team: platform, note: "50% {{", severity: low}
slos:
  - name: by-service
    indicator: {gauge: {metric: q, selector: '{route="/u/{{id}}"}'}}
    objective: "< 10"
    by: [service]
  - name: by-team
    indicator: {gauge: {metric: q, selector: '{route="/u/{{id}}"}'}}
    objective: "< 10"
    by: [team]
"#;
    let tests = r#"  - interval: 1m
    input_series:
      - {series: 'q{route="/u/{{id}}", team="checkout"}', values: '50x20'}
    alert_rule_test:
      - eval_time: 12m
        alertname: SloObjectiveMissed
        exp_alerts:
          - exp_labels: {service: api, slo: by-team, severity: page, team: checkout, note: '50% {{'}
            exp_annotations: {summary: 'api/by-team misses < 10 over 5m: 50'}
"#;
    let (yaml, passed, text) = promtool_test(slos, tests);
    assert!(passed, "{text}");
    assert!(
        yaml.contains("# api/by-service gets no rules: it groups by 'service'"),
        "{yaml}"
    );
    assert!(
        yaml.contains("# api/by-team does not pass on its label 'team'"),
        "{yaml}"
    );
    assert!(
        yaml.contains("does not pass on its label 'severity'"),
        "{yaml}"
    );
}

#[test]
fn a_hand_written_error_ratio_gets_burn_rate_alerts() {
    // Sloth's raw SLI: the query is the error ratio itself.
    let rules = run(&[
        "rules",
        "--slos",
        &root().join("examples/sloth").display().to_string(),
    ]);
    assert_eq!(rules.code, 0, "{}", rules.stderr);
    let alerts: Vec<&str> = rules
        .stdout
        .lines()
        .filter(|line| line.contains("- alert:"))
        .collect();
    assert!(
        !rules.stdout.contains("SloObjectiveMissed"),
        "{}",
        rules.stdout
    );
    assert_eq!(
        alerts
            .iter()
            .filter(|line| line.contains("SloErrorBudgetBurnFast"))
            .count(),
        2,
        "{alerts:?}"
    );
}
