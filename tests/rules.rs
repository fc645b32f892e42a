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
        ("examples/sloth", 13, "SloErrorBudgetBurnFast"),
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
        yaml.contains("# checkout/throughput has recordings but no alert"),
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
