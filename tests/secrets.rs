//! No secret reaches any output: not the password in a URL, a bearer
//! token, a basic-auth password, a header's value or a Grafana token; not
//! on stdout or stderr (with debug logs on), not in any report format, not
//! in GitHub's files, and not in the errors of a server that cannot be
//! reached.

mod support;

use std::path::Path;

use support::{Prometheus, WINDOW_END, binary, run_command};

const URL_PASSWORD: &str = "url-s3cret-pw";
const TOKEN: &str = "tok-s3cret-value";
const PASSWORD: &str = "basic-s3cret-pw";
const HEADER_VALUE: &str = "hdr-s3cret-key";
const GRAFANA_TOKEN: &str = "glsa_s3cret_token";
const SECRETS: [&str; 5] = [URL_PASSWORD, TOKEN, PASSWORD, HEADER_VALUE, GRAFANA_TOKEN];

/// Runs `verify` with `arguments` and `environment` in every report format
/// (each written to a file, GitHub's files set), with debug logs, and
/// fails if any secret appears anywhere.
fn assert_no_secret(what: &str, arguments: &[String], environment: &[(&str, &str)]) {
    let directory = tempfile::tempdir().expect("temp dir");
    for format in ["table", "json", "junit", "markdown", "html", "github"] {
        let report = directory.path().join(format!("report.{format}"));
        let mut command = binary();
        command
            .args(["verify", "--end", WINDOW_END, "-vv", "--format", format])
            .arg("--output")
            .arg(&report)
            .args(arguments)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", directory.path().join("outputs"))
            .env("GITHUB_STEP_SUMMARY", directory.path().join("summary"))
            .env("RUNNER_TEMP", directory.path());
        for (name, value) in environment {
            command.env(name, value);
        }
        let run = run_command(&mut command);
        assert!(
            run.code <= 3,
            "{what} ({format}): exit {}: {}",
            run.code,
            run.stderr
        );
        let mut shown = vec![run.stdout.clone(), run.stderr.clone()];
        for entry in std::fs::read_dir(directory.path()).expect("listable") {
            shown.push(read(&entry.expect("an entry").path()));
        }
        for text in &shown {
            for secret in SECRETS {
                assert!(
                    !text.contains(secret),
                    "{what} ({format}) shows a secret: {text}"
                );
            }
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

#[test]
fn no_secret_reaches_any_output() {
    let prometheus = Prometheus::start(&["release-pass"]);
    let with_password = prometheus
        .url
        .replace("http://", &format!("http://gate:{URL_PASSWORD}@"));
    let header = format!("X-Api-Key={HEADER_VALUE}");
    let closed = format!(
        "http://gate:{URL_PASSWORD}@127.0.0.1:{}",
        support::free_port()
    );
    let grafana = format!("http://127.0.0.1:{}", support::free_port());

    assert_no_secret(
        "a password in the URL and a secret header",
        &[
            "--prometheus".into(),
            with_password,
            "--header".into(),
            header.clone(),
        ],
        &[],
    );
    assert_no_secret(
        "a bearer token",
        &["--prometheus".into(), prometheus.url.clone()],
        &[("SUMMIT_SLO_PROMETHEUS_TOKEN", TOKEN)],
    );
    assert_no_secret(
        "basic auth, and a Grafana that cannot be reached",
        &[
            "--prometheus".into(),
            prometheus.url.clone(),
            "--prometheus-user".into(),
            "gate".into(),
            "--grafana-url".into(),
            grafana,
            "--grafana-deadline".into(),
            "2s".into(),
        ],
        &[
            ("SUMMIT_SLO_PROMETHEUS_PASSWORD", PASSWORD),
            ("SUMMIT_SLO_GRAFANA_TOKEN", GRAFANA_TOKEN),
        ],
    );
    assert_no_secret(
        "a server that cannot be reached",
        &[
            "--prometheus".into(),
            closed,
            "--retries".into(),
            "0".into(),
            "--header".into(),
            header,
        ],
        &[],
    );
    assert_no_secret(
        "settings that conflict",
        &[
            "--prometheus".into(),
            prometheus
                .url
                .replace("http://", &format!("http://gate:{URL_PASSWORD}@")),
        ],
        &[("SUMMIT_SLO_PROMETHEUS_TOKEN", TOKEN)],
    );
}

/// A server that answers every request with a 400 whose error message is
/// the request's own head (headers and all), as some proxies do.
fn echoing_server() -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("loopback binds");
    let address = listener.local_addr().expect("bound");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let body = serde_json::json!({
                "status": "error",
                "errorType": "bad_data",
                "error": format!("cannot parse request: {head}"),
            })
            .to_string();
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{address}")
}

#[test]
fn a_server_that_echoes_the_request_cannot_leak_its_secrets() {
    let url = echoing_server();
    let header = format!("X-Scope-OrgID={HEADER_VALUE}");
    assert_no_secret(
        "a password in the URL and a header, echoed",
        &[
            "--prometheus".into(),
            url.replace("http://", &format!("http://gate:{URL_PASSWORD}@")),
            "--header".into(),
            header.clone(),
        ],
        &[],
    );
    assert_no_secret(
        "a bearer token, echoed",
        &[
            "--prometheus".into(),
            url.clone(),
            "--header".into(),
            header,
        ],
        &[("SUMMIT_SLO_PROMETHEUS_TOKEN", TOKEN)],
    );
    // The encoded form of basic auth is a secret too.
    let encoded = "Z2F0ZTp1cmwtczNjcmV0LXB3"; // base64("gate:url-s3cret-pw")
    let run = run_command(binary().args([
        "verify",
        "--end",
        WINDOW_END,
        "--format",
        "json",
        "--prometheus",
        &url.replace("http://", &format!("http://gate:{URL_PASSWORD}@")),
    ]));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.contains("[redacted]"), "{}", run.stdout);
    assert!(!run.stdout.contains(encoded), "{}", run.stdout);
    assert!(!run.stderr.contains(encoded), "{}", run.stderr);
}
