//! Grafana annotations against a stand-in that follows Grafana's
//! annotations API: a region over the window, one annotation per run id
//! however often a pipeline retries, and faults that never change the
//! verdict.

mod support;

use std::str::FromStr;
use std::time::{Duration, Instant};

use support::grafana::{Fault, Grafana};
use support::{Prometheus, Run, binary, fixture, run_command};

const TOKEN: &str = "glsa_summitTestToken_0123456789abcdef";
/// The fixtures' window in epoch milliseconds.
const START_MS: i64 = 1_796_378_400_000;
const END_MS: i64 = 1_796_379_000_000;

/// `verify --replay` of a fixture with the Grafana flags and `extra`, the
/// token in the environment, outside any CI.
fn verify(grafana: &Grafana, fixture_name: &str, extra: &[&str]) -> Run {
    let recording = fixture(fixture_name);
    let mut command = binary();
    command
        .args([
            "verify",
            "--replay",
            recording.to_str().expect("UTF-8"),
            "--end",
            support::WINDOW_END,
            "--format",
            "json",
            "--grafana-url",
            &grafana.url,
        ])
        .args(extra)
        .env("SUMMIT_SLO_GRAFANA_TOKEN", grafana.token());
    without_ci(&mut command);
    run_command(&mut command)
}

fn without_ci(command: &mut std::process::Command) {
    for variable in [
        "GITHUB_ACTIONS",
        "GITHUB_RUN_ID",
        "GITHUB_RUN_ATTEMPT",
        "CI_JOB_ID",
        "BUILD_TAG",
        "CIRCLE_WORKFLOW_JOB_ID",
        "SUMMIT_SLO_RUN_ID",
        "SUMMIT_SLO_RELEASE",
    ] {
        command.env_remove(variable);
    }
}

fn has_tag(tags: &[String], tag: &str) -> bool {
    tags.iter().any(|have| have == tag)
}

#[test]
fn a_verification_is_a_region_over_its_window_against_prometheus() {
    let prometheus = Prometheus::start(&["release-fail"]);
    let grafana = Grafana::start(TOKEN);
    let mut command = binary();
    command
        .args([
            "verify",
            "--prometheus",
            &prometheus.url,
            "--start",
            support::WINDOW_START,
            "--end",
            support::WINDOW_END,
            "--settle",
            "0s",
            "--format",
            "json",
            "--grafana-url",
            &grafana.url,
            "--release",
            "v1.4.2",
            "--run-id",
            "pipeline-77",
        ])
        .env("SUMMIT_SLO_GRAFANA_TOKEN", TOKEN);
    without_ci(&mut command);
    let result = run_command(&mut command);
    assert_eq!(result.code, 1, "the verdict decides: {}", result.stderr);

    let annotations = grafana.annotations();
    assert_eq!(annotations.len(), 1, "{annotations:?}");
    let annotation = &annotations[0];
    assert_eq!(annotation.time, START_MS, "starts at the window's start");
    assert_eq!(annotation.time_end, END_MS, "ends at the window's end");
    for tag in [
        "summit-slo",
        "service:summit-api",
        "service:summit-neo4j",
        "service:summit-redis",
        "service:summit-workers",
        "verdict:fail",
        "release:v1.4.2",
        "run:pipeline-77",
    ] {
        assert!(
            has_tag(&annotation.tags, tag),
            "{tag} in {:?}",
            annotation.tags
        );
    }
    assert_eq!(annotation.tags.len(), 8, "{:?}", annotation.tags);
    assert_eq!(annotation.dashboard_uid, None, "an organisation annotation");
    let first_line = annotation.text.lines().next().unwrap_or_default();
    assert_eq!(
        first_line, "summit-slo: FAIL (4 fail, 2 pass), exit 1, release v1.4.2",
        "{}",
        annotation.text
    );
    assert!(
        annotation
            .text
            .contains("fail summit-api/graphql-latency-p95: "),
        "{}",
        annotation.text
    );
    assert_eq!(annotation.text.lines().count(), 7, "{}", annotation.text);

    let requests = grafana.requests();
    assert_eq!(requests.len(), 2, "a search, then a create: {requests:?}");
    assert_eq!(requests[0].method, "GET");
    assert!(
        requests[0]
            .query
            .contains(&("tags".to_string(), "run:pipeline-77".to_string()))
    );
    assert_eq!(requests[1].method, "POST");
    assert_eq!(requests[1].path, "/api/annotations");
    for request in &requests {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(request.header("x-grafana-org-id"), None);
    }

    let json = result.json();
    assert_eq!(
        json["annotation"]["action"], "created",
        "{}",
        json["annotation"]
    );
    assert_eq!(json["annotation"]["id"], annotation.id);
    assert_eq!(json["annotation"]["run_id"], "pipeline-77");
    assert!(json["annotation"]["error"].is_null());
}

#[test]
fn one_run_id_keeps_one_annotation_however_often_it_runs() {
    let grafana = Grafana::start(TOKEN);
    // Another tool's annotation and another run's stay untouched.
    let foreign = grafana.insert(&["deploy"], "deploy v1.4.1", START_MS - 60_000);
    let first = verify(&grafana, "release-pass", &["--run-id", "retry-me"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.json()["annotation"]["action"], "created");
    let other = verify(&grafana, "release-pass", &["--run-id", "another-run"]);
    assert_eq!(other.json()["annotation"]["action"], "created");

    let retried = verify(&grafana, "release-fail", &["--run-id", "retry-me"]);
    assert_eq!(retried.code, 1, "{}", retried.stderr);
    assert_eq!(retried.json()["annotation"]["action"], "updated");
    assert_eq!(
        retried.json()["annotation"]["id"],
        first.json()["annotation"]["id"],
        "the same annotation"
    );

    let annotations = grafana.annotations();
    assert_eq!(annotations.len(), 3, "{annotations:?}");
    let mine: Vec<_> = annotations
        .iter()
        .filter(|stored| has_tag(&stored.tags, "run:retry-me"))
        .collect();
    assert_eq!(mine.len(), 1);
    assert!(has_tag(&mine[0].tags, "verdict:fail"), "{:?}", mine[0].tags);
    assert!(
        !has_tag(&mine[0].tags, "verdict:pass"),
        "{:?}",
        mine[0].tags
    );
    assert!(
        mine[0].text.starts_with("summit-slo: FAIL"),
        "{}",
        mine[0].text
    );
    assert!(
        annotations
            .iter()
            .any(|stored| stored.id == foreign && stored.text == "deploy v1.4.1")
    );
}

#[test]
fn the_ci_run_id_is_the_default_and_separates_two_gates_in_one_job() {
    let grafana = Grafana::start(TOKEN);
    let gate = |select: &str| {
        let recording = fixture("release-pass");
        let mut command = binary();
        without_ci(&mut command);
        command
            .args([
                "verify",
                "--replay",
                recording.to_str().expect("UTF-8"),
                "--end",
                support::WINDOW_END,
                "--format",
                "json",
                "--select",
                select,
                "--grafana-url",
                &grafana.url,
            ])
            .env("SUMMIT_SLO_GRAFANA_TOKEN", TOKEN)
            .env("GITHUB_RUN_ID", "9876543210")
            .env("GITHUB_RUN_ATTEMPT", "2");
        run_command(&mut command)
    };
    let api = gate("summit-api");
    let api_again = gate("summit-api");
    let redis = gate("summit-redis");
    for result in [&api, &api_again, &redis] {
        assert_eq!(result.code, 0, "{}", result.stderr);
    }
    let api_id = api.json()["annotation"]["run_id"]
        .as_str()
        .expect("a run id")
        .to_string();
    assert!(api_id.starts_with("github-9876543210-2-"), "{api_id}");
    assert_eq!(api_again.json()["annotation"]["run_id"], api_id.as_str());
    assert_eq!(api_again.json()["annotation"]["action"], "updated");
    assert_ne!(redis.json()["annotation"]["run_id"], api_id.as_str());
    assert_eq!(grafana.annotations().len(), 2);
}

#[test]
fn a_token_without_credentials_or_permission_is_a_warning_that_says_what_is_missing() {
    let grafana = Grafana::start(TOKEN);
    let recording = fixture("release-fail");
    let mut command = binary();
    without_ci(&mut command);
    command
        .args([
            "verify",
            "--replay",
            recording.to_str().expect("UTF-8"),
            "--end",
            support::WINDOW_END,
            "--grafana-url",
            &grafana.url,
        ])
        .env("SUMMIT_SLO_GRAFANA_TOKEN", "glsa_wrong");
    let unauthorized = run_command(&mut command);
    assert_eq!(unauthorized.code, 1, "the verdict's exit code");
    assert!(
        unauthorized
            .stderr
            .contains("warning: the Grafana annotation was not written")
            && unauthorized.stderr.contains("HTTP 401: Invalid API key")
            && unauthorized.stderr.contains("SUMMIT_SLO_GRAFANA_TOKEN"),
        "{}",
        unauthorized.stderr
    );
    assert_eq!(grafana.requests().len(), 1, "a 401 is not retried");

    grafana.permit_only(&["annotations:read"]);
    let forbidden = verify(&grafana, "release-fail", &["--run-id", "r-403"]);
    assert_eq!(forbidden.code, 1, "{}", forbidden.stderr);
    assert!(
        forbidden.stderr.contains("HTTP 403")
            && forbidden.stderr.contains("`annotations:create` permission"),
        "{}",
        forbidden.stderr
    );
    assert_eq!(grafana.requests().len(), 3, "a search, one refused create");
    let annotation = &forbidden.json()["annotation"];
    assert!(annotation["id"].is_null());
    assert!(
        annotation["error"]
            .as_str()
            .is_some_and(|error| error.contains("403")),
        "{annotation}"
    );
    assert_eq!(forbidden.json()["verdict"], "fail");

    let required = verify(
        &grafana,
        "release-pass",
        &["--run-id", "r-403", "--require-annotation"],
    );
    assert_eq!(required.code, 3, "{}", required.stderr);
    assert_eq!(required.json()["exit_code"], 3);
    assert_eq!(required.json()["verdict"], "pass", "the verdict stays");
    assert!(required.stderr.contains("error: the Grafana annotation"));
    assert!(grafana.annotations().is_empty());
}

#[test]
fn server_errors_are_retried_and_a_hang_gives_up_by_the_deadline() {
    let grafana = Grafana::start(TOKEN);
    grafana.fail_next(&[
        Fault::Status(500, r#"{"message":"Failed to get annotations"}"#.into()),
        Fault::Status(503, "<html>upstream unavailable</html>".into()),
    ]);
    let recovered = verify(&grafana, "release-pass", &["--run-id", "flaky"]);
    assert_eq!(recovered.code, 0, "{}", recovered.stderr);
    assert_eq!(recovered.json()["annotation"]["action"], "created");
    assert_eq!(
        grafana.requests().len(),
        4,
        "two failures, a search, a create"
    );
    assert_eq!(grafana.annotations().len(), 1);

    grafana.fail_next(&[Fault::Hang(Duration::from_secs(20))]);
    let started = Instant::now();
    let hung = verify(
        &grafana,
        "release-fail",
        &[
            "--run-id",
            "hang",
            "--grafana-timeout",
            "1s",
            "--grafana-deadline",
            "4s",
        ],
    );
    let took = started.elapsed();
    assert_eq!(hung.code, 1, "the verdict's exit code: {}", hung.stderr);
    assert!(took < Duration::from_secs(15), "gave up in {took:?}");
    // The hang is one attempt; the retry finds Grafana answering again.
    assert_eq!(
        hung.json()["annotation"]["action"],
        "created",
        "{}",
        hung.stderr
    );

    grafana.fail_next(&[
        Fault::Hang(Duration::from_secs(20)),
        Fault::Hang(Duration::from_secs(20)),
        Fault::Hang(Duration::from_secs(20)),
        Fault::Hang(Duration::from_secs(20)),
    ]);
    let started = Instant::now();
    let gave_up = verify(
        &grafana,
        "release-pass",
        &[
            "--run-id",
            "hang-for-good",
            "--grafana-timeout",
            "1s",
            "--grafana-deadline",
            "3s",
        ],
    );
    let took = started.elapsed();
    assert_eq!(gave_up.code, 0, "{}", gave_up.stderr);
    assert!(took < Duration::from_secs(12), "gave up in {took:?}");
    assert!(
        gave_up.stderr.contains("did not answer") || gave_up.stderr.contains("deadline"),
        "{}",
        gave_up.stderr
    );
}

#[test]
fn a_create_whose_answer_was_lost_is_not_made_twice() {
    // Grafana stored the annotation but the answer never arrived; sending
    // the POST again would leave two regions for one run.
    let grafana = Grafana::start(TOKEN);
    grafana.fail_next(&[Fault::None, Fault::AnswerLost]);
    let result = verify(&grafana, "release-pass", &["--run-id", "lost-answer"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(
        result.json()["annotation"]["action"],
        "updated",
        "{}",
        result.stderr
    );
    let methods: Vec<String> = grafana
        .requests()
        .iter()
        .map(|request| request.method.clone())
        .collect();
    assert_eq!(methods, ["GET", "POST", "GET", "PUT"]);
    let ours: Vec<_> = grafana
        .annotations()
        .into_iter()
        .filter(|annotation| has_tag(&annotation.tags, "run:lost-answer"))
        .collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
}

#[test]
fn an_answer_that_is_not_the_api_is_an_error_not_a_success() {
    let grafana = Grafana::start(TOKEN);
    grafana.fail_next(&[Fault::Status(200, "<html>login page</html>".into())]);
    let result = verify(&grafana, "release-pass", &["--run-id", "garbage"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        result.stderr.contains("not the annotations API's JSON"),
        "{}",
        result.stderr
    );
    assert!(result.json()["annotation"]["error"].is_string());
    assert!(
        grafana.annotations().is_empty(),
        "nothing was written blind"
    );
}

#[test]
fn dashboards_panels_and_organisations_are_sent_and_a_wrong_dashboard_is_caught() {
    let grafana = Grafana::start(TOKEN);
    let result = verify(
        &grafana,
        "release-pass",
        &[
            "--run-id",
            "on-a-panel",
            "--grafana-dashboard",
            "summit-release",
            "--grafana-panel",
            "4",
            "--grafana-org",
            "1",
        ],
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    let annotations = grafana.annotations();
    assert_eq!(
        annotations[0].dashboard_uid.as_deref(),
        Some("summit-release")
    );
    assert_eq!(annotations[0].panel_id, 4);
    assert!(
        grafana
            .requests()
            .iter()
            .all(|request| request.header("x-grafana-org-id") == Some("1"))
    );

    // Grafana would file a create with an unknown dashboard as an
    // organisation annotation; the search before it refuses the UID.
    let wrong = verify(
        &grafana,
        "release-pass",
        &["--run-id", "typo", "--grafana-dashboard", "summit-relase"],
    );
    assert_eq!(wrong.code, 0, "{}", wrong.stderr);
    assert!(
        wrong
            .stderr
            .contains("HTTP 400 to finding the run's annotation: Invalid dashboard UID"),
        "{}",
        wrong.stderr
    );
    assert_eq!(grafana.annotations().len(), 1);
}

#[test]
fn the_token_appears_in_no_output() {
    let grafana = Grafana::start(TOKEN);
    let directory = tempfile::tempdir().expect("temp dir");
    let token_file = directory.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("written");
    grafana.fail_next(&[Fault::Status(500, r#"{"message":"boom"}"#.into())]);
    let recording = fixture("release-fail");
    let mut outputs = Vec::new();
    for format in ["json", "table", "junit", "markdown", "github"] {
        let mut command = binary();
        without_ci(&mut command);
        command
            .args([
                "verify",
                "-vv",
                "--replay",
                recording.to_str().expect("UTF-8"),
                "--end",
                support::WINDOW_END,
                "--format",
                format,
                "--run-id",
                "secret-check",
                "--grafana-url",
                &grafana.url,
                "--grafana-token-file",
                token_file.to_str().expect("UTF-8"),
            ])
            .env_remove("SUMMIT_SLO_GRAFANA_TOKEN");
        outputs.push(run_command(&mut command));
    }
    let help = run_command(
        binary()
            .args(["verify", "--help"])
            .env("SUMMIT_SLO_GRAFANA_TOKEN", TOKEN),
    );
    outputs.push(help);
    for output in &outputs {
        assert!(
            !output.stdout.contains("summitTestToken"),
            "{}",
            output.stdout
        );
        assert!(
            !output.stderr.contains("summitTestToken"),
            "{}",
            output.stderr
        );
    }
    assert!(
        grafana
            .requests()
            .iter()
            .all(|request| request.header("authorization") == Some(&format!("Bearer {TOKEN}")))
    );
    assert_eq!(
        grafana.annotations().len(),
        1,
        "updated by every format's run"
    );
}

#[test]
fn settings_are_checked_before_anything_is_judged() {
    let recording = fixture("release-pass");
    let directory = tempfile::tempdir().expect("temp dir");
    let empty = directory.path().join("empty-token");
    std::fs::write(&empty, "\n").expect("written");
    for (extra, expected) in [
        (
            vec!["--grafana-url", "grafana.example"],
            "--grafana-url is not an http or https URL",
        ),
        (
            vec![
                "--grafana-url",
                "http://127.0.0.1:9",
                "--grafana-token-file",
                empty.to_str().expect("UTF-8"),
            ],
            "is empty",
        ),
        (
            vec!["--require-annotation"],
            "--require-annotation needs --grafana-url",
        ),
        (
            vec![
                "--grafana-url",
                "http://127.0.0.1:9",
                "--grafana-panel",
                "3",
            ],
            "--grafana-dashboard",
        ),
        (
            vec![
                "--grafana-url",
                "http://127.0.0.1:9",
                "--grafana-timeout",
                "0s",
            ],
            "--grafana-timeout must be longer than 0s",
        ),
    ] {
        let mut command = binary();
        without_ci(&mut command);
        command.args([
            "verify",
            "--replay",
            recording.to_str().expect("UTF-8"),
            "--end",
            support::WINDOW_END,
        ]);
        command.args(&extra);
        let result = run_command(&mut command);
        assert_eq!(result.code, 3, "{extra:?}: {}", result.stderr);
        assert!(
            result.stderr.contains(expected),
            "{extra:?}: {}",
            result.stderr
        );
        assert!(
            !result.stdout.contains("verdict"),
            "nothing judged: {}",
            result.stdout
        );
    }
}

fn annotate(grafana: &Grafana, extra: &[&str]) -> Run {
    let mut command = binary();
    without_ci(&mut command);
    command
        .args(["annotate", "--grafana-url", &grafana.url])
        .args(extra)
        .env("SUMMIT_SLO_GRAFANA_TOKEN", grafana.token());
    run_command(&mut command)
}

#[test]
fn annotate_writes_markers_and_regions_once_and_refuses_seconds() {
    let grafana = Grafana::start(TOKEN);
    let before = jiff::Timestamp::now().as_millisecond();
    let marker = annotate(
        &grafana,
        &[
            "--text",
            "deploy v1.4.2",
            "--tags",
            "deploy,summit-api",
            "--release",
            "v1.4.2",
        ],
    );
    let after = jiff::Timestamp::now().as_millisecond();
    assert_eq!(marker.code, 0, "{}", marker.stderr);
    let stored = grafana.annotations();
    assert_eq!(stored.len(), 1);
    assert!((before..=after).contains(&stored[0].time), "a marker now");
    assert_eq!(stored[0].time_end, stored[0].time, "a point");
    for tag in ["summit-slo", "deploy", "summit-api", "release:v1.4.2"] {
        assert!(has_tag(&stored[0].tags, tag), "{tag}: {:?}", stored[0].tags);
    }
    let body: serde_json::Value =
        serde_json::from_str(&grafana.requests()[1].body).expect("JSON body");
    assert!(
        body.get("timeEnd").is_none(),
        "no timeEnd for a point: {body}"
    );

    let region = |text: &str| {
        annotate(
            &grafana,
            &[
                "--text",
                text,
                "--start",
                support::WINDOW_START,
                "--end",
                support::WINDOW_END,
                "--run-id",
                "load-test-window",
            ],
        )
    };
    assert_eq!(region("load test").code, 0);
    let again = region("load test, rerun");
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stderr.contains("updated"), "{}", again.stderr);
    let regions: Vec<_> = grafana
        .annotations()
        .into_iter()
        .filter(|stored| has_tag(&stored.tags, "run:load-test-window"))
        .collect();
    assert_eq!(regions.len(), 1);
    assert_eq!((regions[0].time, regions[0].time_end), (START_MS, END_MS));
    assert_eq!(regions[0].text, "load test, rerun");

    let requests_before = grafana.requests().len();
    let seconds = annotate(&grafana, &["--text", "too early", "--start", "1000000"]);
    assert_eq!(seconds.code, 3, "{}", seconds.stderr);
    assert!(
        seconds.stderr.contains("is not epoch milliseconds")
            && seconds.stderr.contains("nothing was sent"),
        "{}",
        seconds.stderr
    );
    assert_eq!(grafana.requests().len(), requests_before, "nothing sent");

    let reversed = annotate(
        &grafana,
        &[
            "--text",
            "backwards",
            "--start",
            support::WINDOW_END,
            "--end",
            support::WINDOW_START,
        ],
    );
    assert_eq!(reversed.code, 3, "{}", reversed.stderr);
    assert_eq!(grafana.requests().len(), requests_before, "nothing sent");

    let unreachable = run_command(
        binary()
            .args([
                "annotate",
                "--text",
                "x",
                "--grafana-url",
                "http://127.0.0.1:9",
                "--grafana-deadline",
                "2s",
            ])
            .env("SUMMIT_SLO_GRAFANA_TOKEN", TOKEN),
    );
    assert_eq!(unreachable.code, 3, "{}", unreachable.stderr);
    assert!(
        unreachable.stderr.contains("cannot reach Grafana"),
        "{}",
        unreachable.stderr
    );
}

#[test]
fn run_annotates_the_load_tests_own_window() {
    let grafana = Grafana::start(TOKEN);
    let slos = support::SloFiles::new(
        r#"
service: summit-api
slos:
  - name: queue-depth
    indicator: {gauge: {metric: summit_queue_depth, selector: '{job="summit-api"}'}}
    objective: "< 100"
"#,
    );
    let target = format!(
        "summit-api={}",
        support::static_metrics("# TYPE summit_queue_depth gauge\nsummit_queue_depth 3\n")
    );
    let mut command = binary();
    without_ci(&mut command);
    command
        .args([
            "run",
            "--slos",
            slos.path().to_str().expect("UTF-8"),
            "--scrape",
            &target,
            "--scrape-interval",
            "1s",
            "--format",
            "json",
            "--grafana-url",
            &grafana.url,
            "--run-id",
            "load-test-1",
            "--",
            "sleep",
            "3",
        ])
        .env("SUMMIT_SLO_GRAFANA_TOKEN", TOKEN);
    let result = run_command(&mut command);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let json = result.json();
    let millis = |field: &str| {
        jiff::Timestamp::from_str(json["command"][field].as_str().expect("a time"))
            .expect("RFC 3339")
            .as_millisecond()
    };
    let annotations = grafana.annotations();
    assert_eq!(annotations.len(), 1);
    assert_eq!(annotations[0].time, millis("started"));
    assert_eq!(annotations[0].time_end, millis("ended"));
    assert!(
        annotations[0]
            .text
            .contains("load test exited with 0 after 3"),
        "{}",
        annotations[0].text
    );
}
