//! `summit-slo serve` and `summit-slo gate`: the receiver end to end with a
//! real Prometheus firing a rule and a real Alertmanager delivering it, and
//! the receiver's own contract: auth, malformed and oversized bodies,
//! repeated deliveries, truncated groups, open alerts, and a crash.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use support::grafana::Grafana;
use support::{Alertmanager, Prometheus, binary, free_port, http_get, http_post, run_command};

const TOKEN: &str = "webhook-token-0123456789";

/// A running receiver; stopped with SIGTERM on drop.
struct Receiver {
    child: Option<Child>,
    port: u16,
    url: String,
}

impl Receiver {
    fn start(state_dir: &Path, extra: &[&str], token: Option<&str>) -> Self {
        let mut args = vec!["--state-dir", state_dir.to_str().expect("UTF-8")];
        args.extend_from_slice(extra);
        let env: Vec<(&str, &str)> = token
            .map(|token| ("SUMMIT_SLO_WEBHOOK_TOKEN", token))
            .into_iter()
            .collect();
        let (child, port) = start_serve(&args, &env);
        Self::from(child, port)
    }

    fn from(child: Child, port: u16) -> Self {
        Self {
            child: Some(child),
            port,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// SIGTERM, then its exit status.
    fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        // SAFETY: kill(2) on the child this test started.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn post(&self, body: &str, token: Option<&str>) -> (u16, serde_json::Value) {
        let authorization = token.map(|token| format!("Bearer {token}"));
        let headers: Vec<(&str, &str)> = authorization
            .iter()
            .map(|value| ("Authorization", value.as_str()))
            .collect();
        let (status, body) = http_post(
            self.port,
            "/webhook/alertmanager",
            &headers,
            body.as_bytes(),
        )
        .expect("the receiver answers");
        (
            status,
            serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
        )
    }

    fn gate(&self) -> serde_json::Value {
        let (status, body) = http_get(self.port, "/api/v1/gate").expect("answers");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("JSON")
    }

    fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts `serve` with `args` (and `--listen` on a free port) and waits
/// until it answers; returns it and its port.
fn start_serve(args: &[&str], env: &[(&str, &str)]) -> (Child, u16) {
    let port = free_port();
    let mut child = binary()
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(args)
        .env_remove("SUMMIT_SLO_WEBHOOK_TOKEN")
        .env_remove("SUMMIT_SLO_GRAFANA_URL")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !matches!(http_get(port, "/healthz"), Ok((200, _))) {
        if let Ok(Some(status)) = child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            panic!("serve exited with {status}: {stderr}");
        }
        assert!(Instant::now() < deadline, "serve did not answer /healthz");
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, port)
}

/// A notification of one alert, as Alertmanager 0.25 sends it.
fn notification(status: &str, alertname: &str, severity: &str, truncated: u64) -> String {
    let ends = if status == "resolved" {
        "2026-12-04T10:20:00Z"
    } else {
        "0001-01-01T00:00:00Z"
    };
    format!(
        r#"{{"receiver":"summit-slo","status":"{status}","version":"4","groupKey":"{{}}:{{alertname=\"{alertname}\"}}","truncatedAlerts":{truncated},"externalURL":"http://alertmanager:9093","groupLabels":{{"alertname":"{alertname}"}},"commonLabels":{{}},"commonAnnotations":{{}},"alerts":[{{"status":"{status}","labels":{{"alertname":"{alertname}","severity":"{severity}"}},"annotations":{{"summary":"{alertname} is {status}"}},"startsAt":"2026-12-04T10:03:00Z","endsAt":"{ends}","generatorURL":"http://prometheus:9090/graph","fingerprint":"fp-{alertname}"}}]}}"#
    )
}

#[test]
fn the_receivers_contract_holds_across_a_crash() {
    let directory = tempfile::tempdir().expect("temp dir");
    let state = directory.path().join("state");
    let mut receiver = Receiver::start(&state, &["--max-body", "4KiB"], Some(TOKEN));

    // Auth.
    let firing = notification("firing", "HighErrorRate", "critical", 0);
    assert_eq!(receiver.post(&firing, None).0, 401);
    assert_eq!(receiver.post(&firing, Some("wrong")).0, 401);
    assert_eq!(receiver.gate()["open"], true, "nothing accepted yet");

    // A firing alert with the zero endsAt is open, and closes the gate.
    let (status, answer) = receiver.post(&firing, Some(TOKEN));
    assert_eq!((status, answer["duplicate"].clone()), (200, false.into()));
    let gate = receiver.gate();
    assert_eq!(gate["open"], false, "{gate}");
    assert_eq!(gate["blocking"][0]["alertname"], "HighErrorRate");
    assert_eq!(gate["blocking"][0]["summary"], "HighErrorRate is firing");

    // A retry or an HA peer's copy changes nothing.
    let (status, answer) = receiver.post(&firing, Some(TOKEN));
    assert_eq!((status, answer["duplicate"].clone()), (200, true.into()));

    // A warning does not block; malformed and oversized bodies are refused
    // and lose nothing already accepted.
    let warning = notification("firing", "SlowQueries", "warning", 0);
    assert_eq!(receiver.post(&warning, Some(TOKEN)).0, 200);
    let (status, answer) = receiver.post(
        &firing.replace("2026-12-04T10:03:00Z", "not a time"),
        Some(TOKEN),
    );
    assert_eq!(status, 400);
    assert_eq!(answer["field"], "alerts[0].startsAt", "{answer}");
    assert_eq!(receiver.post("{\"alerts\": [", Some(TOKEN)).0, 400);
    let huge = firing.replace("HighErrorRate is firing", &"x".repeat(8 << 10));
    let (status, answer) = receiver.post(&huge, Some(TOKEN));
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or_default()
            .contains("--max-body")
    );

    // A group whose notification left alerts out keeps the gate closed
    // even when the alerts it did send are resolved.
    let truncated = notification("resolved", "DiskFull", "info", 3);
    assert_eq!(receiver.post(&truncated, Some(TOKEN)).0, 200);
    let gate = receiver.gate();
    assert_eq!(gate["unknown"][0]["truncated_alerts"], 3, "{gate}");
    assert_eq!(gate["firing"], 2);

    let (_, metrics) = http_get(receiver.port, "/metrics").expect("answers");
    for line in [
        "summit_slo_webhooks_total{outcome=\"accepted\"} 3",
        "summit_slo_webhooks_total{outcome=\"unauthorized\"} 2",
        "summit_slo_webhooks_total{outcome=\"malformed\"} 2",
        "summit_slo_webhooks_total{outcome=\"too_large\"} 1",
        "summit_slo_webhooks_total{outcome=\"duplicate\"} 1",
        "summit_slo_truncated_alerts_total 3",
        "summit_slo_gate_open 0",
        "summit_slo_unknown_groups 1",
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }

    // kill -9, restart: everything acknowledged is still known.
    receiver.kill_hard();
    let receiver = Receiver::start(&state, &["--max-body", "4KiB"], Some(TOKEN));
    let gate = receiver.gate();
    assert_eq!(gate["open"], false, "{gate}");
    assert_eq!(gate["blocking"].as_array().map(Vec::len), Some(1), "{gate}");
    assert_eq!(gate["unknown"].as_array().map(Vec::len), Some(1), "{gate}");
    assert_eq!(gate["firing"], 2);

    // A complete notification settles the group; resolving the critical
    // alert opens the gate; a late firing copy does not reopen it.
    let complete = notification("resolved", "DiskFull", "info", 0);
    assert_eq!(receiver.post(&complete, Some(TOKEN)).0, 200);
    let resolved = notification("resolved", "HighErrorRate", "critical", 0);
    assert_eq!(receiver.post(&resolved, Some(TOKEN)).0, 200);
    assert_eq!(receiver.gate()["open"], true, "{}", receiver.gate());
    let (_, answer) = receiver.post(&firing, Some(TOKEN));
    assert_eq!(answer["duplicate"], true, "a late delivery");
    assert_eq!(receiver.gate()["open"], true);

    let (_, metrics) = http_get(receiver.port, "/metrics").expect("answers");
    for line in [
        "summit_slo_webhooks_total{outcome=\"accepted\"} 2",
        "summit_slo_webhooks_total{outcome=\"duplicate\"} 1",
        "summit_slo_gate_open 1",
        "summit_slo_firing_alerts 1",
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
}

#[test]
fn the_gate_command_exits_by_the_gate() {
    let directory = tempfile::tempdir().expect("temp dir");
    let receiver = Receiver::start(&directory.path().join("state"), &[], None);
    let ask = || run_command(binary().args(["gate", "--receiver", &receiver.url]));
    let open = ask();
    assert_eq!(open.code, 0, "{}", open.stderr);
    assert!(open.stdout.starts_with("gate open"), "{}", open.stdout);

    receiver.post(&notification("firing", "Down", "page", 0), None);
    let closed = ask();
    assert_eq!(closed.code, 1, "{}", closed.stderr);
    assert!(
        closed.stdout.contains("Down since 2026-12-04T10:03:00Z"),
        "{}",
        closed.stdout
    );

    let unreachable = run_command(binary().args([
        "gate",
        "--receiver",
        &format!("http://127.0.0.1:{}", free_port()),
    ]));
    assert_eq!(unreachable.code, 2, "{}", unreachable.stderr);
    assert!(
        unreachable.stderr.contains("gate unknown"),
        "{}",
        unreachable.stderr
    );
}

#[test]
fn listening_beyond_loopback_needs_a_token() {
    let directory = tempfile::tempdir().expect("temp dir");
    let refused = run_command(
        binary()
            .args([
                "serve",
                "--listen",
                &format!("0.0.0.0:{}", free_port()),
                "--state-dir",
                directory.path().to_str().expect("UTF-8"),
            ])
            .env_remove("SUMMIT_SLO_WEBHOOK_TOKEN"),
    );
    assert_eq!(refused.code, 3);
    assert!(
        refused.stderr.contains("SUMMIT_SLO_WEBHOOK_TOKEN"),
        "{}",
        refused.stderr
    );

    let bad_matcher = run_command(binary().args([
        "serve",
        "--state-dir",
        directory.path().to_str().expect("UTF-8"),
        "--gate-matcher",
        "severity~critical",
    ]));
    assert_eq!(bad_matcher.code, 3);
    assert!(
        bad_matcher.stderr.contains("--gate-matcher"),
        "{}",
        bad_matcher.stderr
    );
}

#[test]
fn a_slow_grafana_never_delays_the_acknowledgement_and_regions_span_the_alert() {
    let grafana = Grafana::start("glsa_serve");
    grafana.fail_next(&[support::grafana::Fault::Hang(Duration::from_secs(3))]);
    let directory = tempfile::tempdir().expect("temp dir");
    let (child, port) = start_serve(
        &[
            "--state-dir",
            directory.path().to_str().expect("UTF-8"),
            "--grafana-url",
            &grafana.url,
            "--grafana-timeout",
            "1s",
        ],
        &[("SUMMIT_SLO_GRAFANA_TOKEN", "glsa_serve")],
    );
    let mut receiver = Receiver::from(child, port);
    let started = Instant::now();
    let (status, _) = http_post(
        port,
        "/webhook/alertmanager",
        &[],
        notification("firing", "Down", "critical", 0).as_bytes(),
    )
    .expect("answers");
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "acknowledged in {:?} while Grafana hangs",
        started.elapsed()
    );
    let (status, _) = http_post(
        port,
        "/webhook/alertmanager",
        &[],
        notification("resolved", "Down", "critical", 0).as_bytes(),
    )
    .expect("answers");
    assert_eq!(status, 200);

    // The hang costs one attempt; the retry and the resolution follow.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let annotations = grafana.annotations();
        if annotations
            .iter()
            .any(|stored| stored.tags.iter().any(|tag| tag == "status:resolved"))
        {
            assert_eq!(
                annotations.len(),
                1,
                "one region per alert: {annotations:?}"
            );
            let region = &annotations[0];
            assert_eq!(region.time, 1_796_378_580_000, "from the alert's start");
            assert_eq!(region.time_end, 1_796_379_600_000, "to its end");
            assert!(region.tags.iter().any(|tag| tag == "alertname:Down"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no resolved region: {annotations:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = receiver.stop().expect("stops within 20s of SIGTERM");
    assert!(status.success(), "a clean stop on SIGTERM: {status}");
}

/// Serves one gauge whose value the test sets.
struct Flag {
    address: String,
    value: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Flag {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        listener.set_nonblocking(true).expect("non-blocking");
        let address = listener.local_addr().expect("bound").to_string();
        let value = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stopping) = (value.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let mut buffer = [0u8; 2048];
                let _ = stream.read(&mut buffer);
                let body = format!(
                    "# TYPE summit_error_budget_burning gauge\nsummit_error_budget_burning {}\n",
                    shared.load(Ordering::Relaxed)
                );
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self {
            address,
            value,
            stop,
        }
    }
}

impl Drop for Flag {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[test]
fn a_real_alert_closes_the_gate_and_its_resolution_opens_it() {
    let flag = Flag::start();
    let directory = tempfile::tempdir().expect("temp dir");
    let receiver = Receiver::start(&directory.path().join("state"), &[], Some(TOKEN));
    let alertmanager =
        Alertmanager::start(&format!("{}/webhook/alertmanager", receiver.url), TOKEN);
    let _prometheus = Prometheus::start_alerting(
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [rules.yml]\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{}']\nscrape_configs:\n  - job_name: summit-api\n    static_configs:\n      - targets: ['{}']\n",
            alertmanager.address, flag.address
        ),
        "groups:\n  - name: summit\n    rules:\n      - alert: SummitErrorBudgetBurn\n        expr: summit_error_budget_burning > 0\n        labels: {severity: critical}\n        annotations: {summary: the error budget burns}\n",
    );
    let gate = || run_command(binary().args(["gate", "--receiver", &receiver.url]));
    let wait_for = |code: i32, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(45);
        loop {
            let result = gate();
            if result.code == code {
                return result;
            }
            assert!(
                Instant::now() < deadline,
                "the gate never {what}: {} {}\nalertmanager: {}",
                result.stdout,
                result.stderr,
                alertmanager.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    };
    assert_eq!(gate().code, 0, "open before anything fires");
    flag.value.store(1, Ordering::Relaxed);
    let closed = wait_for(1, "closed");
    assert!(
        closed.stdout.contains("SummitErrorBudgetBurn since"),
        "{}",
        closed.stdout
    );
    flag.value.store(0, Ordering::Relaxed);
    let opened = wait_for(0, "opened again");
    assert!(opened.stdout.starts_with("gate open"), "{}", opened.stdout);
}

#[test]
fn an_alert_naming_an_slo_gets_it_verified_and_annotated() {
    let flag = Flag::start();
    let prometheus = Prometheus::start_scraping(&[("summit-api", flag.address.clone())], "1s");
    let grafana = Grafana::start("glsa_verify");
    let slos = support::SloFiles::new(
        "service: summit-api\nslos:\n  - name: budget-not-burning\n    indicator: {gauge: {metric: summit_error_budget_burning, selector: '{job=\"summit-api\"}'}}\n    objective: \"< 1\"\n",
    );
    // Data for the window to judge: Prometheus picks up static targets
    // within about five seconds, then three scrapes fill the window.
    let deadline = Instant::now() + Duration::from_secs(30);
    while prometheus
        .series("/api/v1/query?query=summit_error_budget_burning")
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "Prometheus never scraped the flag"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(4));
    let directory = tempfile::tempdir().expect("temp dir");
    let (child, port) = start_serve(
        &[
            "--state-dir",
            directory.path().to_str().expect("UTF-8"),
            "--verify-on-alert",
            "--window",
            "3s",
            "--slos",
            slos.path().to_str().expect("UTF-8"),
            "--prometheus",
            &prometheus.url,
            "--grafana-url",
            &grafana.url,
        ],
        &[("SUMMIT_SLO_GRAFANA_TOKEN", "glsa_verify")],
    );
    let mut receiver = Receiver::from(child, port);
    let alert = notification("firing", "BudgetBurn", "critical", 0).replace(
        r#""severity":"critical"}"#,
        r#""severity":"critical","slo":"summit-api/budget-not-burning"}"#,
    );
    let (status, _) =
        http_post(port, "/webhook/alertmanager", &[], alert.as_bytes()).expect("answers");
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    let verification = loop {
        let (_, body) = http_get(port, "/api/v1/gate").expect("answers");
        let gate: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        if let Some(first) = gate["verifications"]
            .as_array()
            .and_then(|list| list.first())
        {
            break first.clone();
        }
        assert!(Instant::now() < deadline, "no verification: {gate}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(verification["slo"], "summit-api/budget-not-burning");
    assert_eq!(verification["verdict"], "pass", "{verification}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !grafana
        .annotations()
        .iter()
        .any(|stored| stored.tags.iter().any(|tag| tag == "verdict:pass"))
    {
        assert!(
            Instant::now() < deadline,
            "no verification annotation: {:?}",
            grafana.annotations()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = receiver.stop().expect("stops within 20s of SIGTERM");
    assert!(status.success(), "a clean stop on SIGTERM: {status}");
}

#[test]
fn the_example_alertmanager_receiver_is_valid_configuration() {
    let output = std::process::Command::new("amtool")
        .arg("check-config")
        .arg(support::root().join("examples/kubernetes/alertmanager-receiver.yaml"))
        .output()
        .expect("amtool runs (apt-get install -y prometheus-alertmanager)");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
