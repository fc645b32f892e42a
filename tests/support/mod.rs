//! Shared test harness: a real Prometheus holding fixture recordings, the
//! built binary, SLO files in temp dirs, a fault-injecting proxy, and a
//! stand-in for Grafana's annotations API.
//!
//! Every server is started on 127.0.0.1 on a free port with its own temp
//! directory, and stopped when its guard is dropped (also when a test
//! panics).

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

pub mod grafana;
pub mod proxy;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// 2026-12-04T10:00:00Z, the start of every fixture's load test.
pub const WINDOW_START: &str = "2026-12-04T10:00:00Z";
/// 2026-12-04T10:10:00Z, the end of every fixture's load test.
pub const WINDOW_END: &str = "2026-12-04T10:10:00Z";
/// The window's end in Unix seconds.
pub const WINDOW_END_UNIX: u64 = 1_796_379_000;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture recording's path.
pub fn fixture(name: &str) -> PathBuf {
    root().join("fixtures").join(format!("{name}.om"))
}

/// Fails the test, saying how to install it, when `binary` is not on PATH.
pub fn require(binary: &str) {
    require_with(binary, "apt-get install -y prometheus");
}

/// Fails the test when `binary` is not on PATH, naming `install`.
pub fn require_with(binary: &str, install: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(binary).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{binary} is not installed; the integration tests need it: run `{install}` \
         (scripts/test does this for you)"
    );
}

/// Serves one fixed exposition on loopback until the test ends; returns
/// its URL, `http://127.0.0.1:PORT/metrics`.
pub fn static_metrics(text: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").expect("loopback binds");
    let address = listener.local_addr().expect("bound");
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    format!("http://{address}/metrics")
}

/// How to reach a Prometheus behind TLS and basic auth.
pub struct Secured {
    /// The CA and the client's certificate and key.
    pub tls: summit_slo::http::TlsSettings,
    /// The basic-auth user.
    pub user: String,
    /// Its password.
    pub password: String,
}

/// A throwaway certificate authority, a server certificate for 127.0.0.1
/// and a client certificate, made with openssl in a temp dir: `ca.crt`,
/// `server.crt`/`server.key`, `client.crt`/`client.key`.
pub struct Certificates {
    directory: tempfile::TempDir,
}

impl Certificates {
    /// Makes them (openssl must be installed).
    pub fn make() -> Self {
        require("openssl");
        let directory = tempfile::tempdir().expect("temp dir");
        let dir = directory.path();
        std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1\n").expect("written");
        std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").expect("written");
        let openssl = |args: &[&str]| {
            let output = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("openssl runs");
            assert!(
                output.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        let key = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        openssl(
            &[
                &["req", "-x509"][..],
                &key,
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.crt",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=summit-slo test CA",
                ],
            ]
            .concat(),
        );
        for (name, subject) in [("server", "/CN=127.0.0.1"), ("client", "/CN=summit-slo")] {
            let (key_file, request, certificate, extensions) = (
                format!("{name}.key"),
                format!("{name}.csr"),
                format!("{name}.crt"),
                format!("{name}.ext"),
            );
            openssl(
                &[
                    &["req"][..],
                    &key,
                    &["-keyout", &key_file, "-out", &request, "-subj", subject],
                ]
                .concat(),
            );
            openssl(&[
                "x509",
                "-req",
                "-in",
                &request,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &certificate,
                "-days",
                "2",
                "-extfile",
                &extensions,
            ]);
        }
        Self { directory }
    }

    /// A file's path.
    pub fn path(&self, name: &str) -> PathBuf {
        self.directory.path().join(name)
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("the loopback interface has free ports")
}

/// One series of an answer: sorted labels and `(time, value)` points.
pub type SeriesPoints = (Vec<(String, String)>, Vec<(f64, f64)>);

/// A running Prometheus holding fixture recordings; stopped on drop.
pub struct Prometheus {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    port: u16,
    _directory: tempfile::TempDir,
}

impl Prometheus {
    /// Backfills the named fixtures into a fresh TSDB and starts Prometheus
    /// on it.
    pub fn start(fixtures: &[&str]) -> Self {
        let paths: Vec<PathBuf> = fixtures.iter().map(|name| fixture(name)).collect();
        Self::start_with(&paths)
    }

    /// Backfills one recording file and starts Prometheus on it.
    pub fn start_with_file(path: &Path) -> Self {
        Self::start_with(&[path.to_path_buf()])
    }

    /// Starts an empty Prometheus that scrapes `targets` (job, address)
    /// every `interval`.
    pub fn start_scraping(targets: &[(&str, String)], interval: &str) -> Self {
        let mut config = format!("global:\n  scrape_interval: {interval}\nscrape_configs:\n");
        for (job, address) in targets {
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: ['{address}']\n"
            ));
        }
        Self::start_configured(&[], &config, &[], None)
    }

    /// Starts a Prometheus with `config` and `rules.yml` holding `rules`,
    /// sending alerts at once (a 1s resend delay).
    pub fn start_alerting(config: &str, rules: &str) -> Self {
        Self::start_configured(&[], config, &[("rules.yml", rules)], None)
    }

    fn start_with(recordings: &[PathBuf]) -> Self {
        Self::start_configured(recordings, "global:\n  scrape_interval: 15s\n", &[], None)
    }

    /// Starts Prometheus on the named fixtures behind `web_config` (its
    /// `--web.config.file`: TLS, client certificates, basic auth), which
    /// may name files in `certificates`. Readiness is awaited through the
    /// same TLS, as `ready` describes.
    pub fn start_secured(fixtures: &[&str], web_config: &str, ready: &Secured) -> Self {
        let paths: Vec<PathBuf> = fixtures.iter().map(|name| fixture(name)).collect();
        Self::start_configured(
            &paths,
            "global:\n  scrape_interval: 15s\n",
            &[("web.yml", web_config)],
            Some(ready),
        )
    }

    fn start_configured(
        recordings: &[PathBuf],
        config_text: &str,
        files: &[(&str, &str)],
        secured: Option<&Secured>,
    ) -> Self {
        require("prometheus");
        require("promtool");
        let directory = tempfile::tempdir().expect("temp dirs can be created");
        let data = directory.path().join("data");
        for recording in recordings {
            let output = Command::new("promtool")
                .args(["tsdb", "create-blocks-from", "openmetrics"])
                .arg(recording)
                .arg(&data)
                .output()
                .expect("promtool runs");
            assert!(
                output.status.success(),
                "backfilling {} failed: {}",
                recording.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let config = directory.path().join("prometheus.yml");
        std::fs::write(&config, config_text).expect("config is written");
        for (name, text) in files {
            std::fs::write(directory.path().join(name), text).expect("file is written");
        }

        let port = free_port();
        let log = std::fs::File::create(directory.path().join("prometheus.log"))
            .expect("log file is created");
        let mut command = Command::new("prometheus");
        if secured.is_some() {
            command.arg(format!(
                "--web.config.file={}",
                directory.path().join("web.yml").display()
            ));
        }
        let child = command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--rules.alert.resend-delay=1s")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus starts");
        let scheme = if secured.is_some() { "https" } else { "http" };
        let mut prometheus = Self {
            child,
            url: format!("{scheme}://127.0.0.1:{port}"),
            port,
            _directory: directory,
        };
        match secured {
            Some(secured) => prometheus.wait_ready_secured(secured),
            None => prometheus.wait_ready(),
        }
        prometheus
    }

    fn wait_ready_secured(&mut self, secured: &Secured) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let client = summit_slo::http::build_client_with(&secured.tls).expect("a client");
        let url = format!("{}/-/ready", self.url);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("prometheus exited early with {status}");
            }
            let request = client
                .get(&url)
                .basic_auth(&secured.user, Some(&secured.password));
            if runtime
                .block_on(request.send())
                .is_ok_and(|response| response.status() == 200)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("prometheus did not become ready behind TLS within 30s");
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("prometheus exited early with {status}");
            }
            if let Ok((200, _)) = http_get(self.port, "/-/ready") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("prometheus did not become ready within 30s");
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs an instant query directly (not through summit-slo) and returns
    /// the result as `(labels, value)` pairs.
    pub fn query(&self, query: &str, time: u64) -> Vec<(Value, f64)> {
        let path = format!(
            "/api/v1/query?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("query", query)
                .append_pair("time", &time.to_string())
                .finish()
        );
        let (status, body) = http_get(self.port, &path).expect("prometheus answers");
        assert_eq!(status, 200, "reference query failed: {body}");
        let json: Value = serde_json::from_str(&body).expect("prometheus answers JSON");
        json["data"]["result"]
            .as_array()
            .expect("a vector result")
            .iter()
            .map(|sample| {
                let text = sample["value"][1].as_str().expect("values are strings");
                let value = match text {
                    "NaN" => f64::NAN,
                    "+Inf" => f64::INFINITY,
                    "-Inf" => f64::NEG_INFINITY,
                    _ => text.parse().expect("values are numbers"),
                };
                (sample["metric"].clone(), value)
            })
            .collect()
    }

    /// Runs a query directly and returns every series as sorted labels
    /// (without the metric name unless the query keeps it) and its points:
    /// one point for an instant query, one per step for a range query.
    pub fn series(&self, path_and_query: &str) -> Vec<SeriesPoints> {
        let (status, body) = http_get(self.port, path_and_query).expect("prometheus answers");
        assert_eq!(status, 200, "query failed: {body}");
        let json: Value = serde_json::from_str(&body).expect("prometheus answers JSON");
        let data = &json["data"];
        let parse = |text: &Value| match text.as_str().expect("values are strings") {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other.parse().expect("values are numbers"),
        };
        let labels = |metric: &Value| {
            let mut pairs: Vec<(String, String)> = metric
                .as_object()
                .map(|object| {
                    object
                        .iter()
                        .map(|(name, value)| {
                            (name.clone(), value.as_str().unwrap_or_default().to_string())
                        })
                        .collect()
                })
                .unwrap_or_default();
            pairs.sort();
            pairs
        };
        match data["resultType"].as_str() {
            Some("vector") => data["result"]
                .as_array()
                .expect("a vector")
                .iter()
                .map(|sample| {
                    let point = (
                        sample["value"][0].as_f64().expect("time"),
                        parse(&sample["value"][1]),
                    );
                    (labels(&sample["metric"]), vec![point])
                })
                .collect(),
            Some("scalar") => vec![(
                Vec::new(),
                vec![(
                    data["result"][0].as_f64().expect("time"),
                    parse(&data["result"][1]),
                )],
            )],
            Some("matrix") => data["result"]
                .as_array()
                .expect("a matrix")
                .iter()
                .map(|series| {
                    let points = series["values"]
                        .as_array()
                        .expect("values")
                        .iter()
                        .map(|point| (point[0].as_f64().expect("time"), parse(&point[1])))
                        .collect();
                    (labels(&series["metric"]), points)
                })
                .collect(),
            other => panic!("unexpected result type {other:?}"),
        }
    }

    /// The single value of a reference query.
    pub fn value(&self, query: &str) -> f64 {
        let result = self.query(query, WINDOW_END_UNIX);
        assert_eq!(
            result.len(),
            1,
            "expected one series from {query}: {result:?}"
        );
        result[0].1
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running VictoriaMetrics (Debian's `victoria-metrics`) holding fixture
/// recordings, imported through `/api/v1/import/prometheus`; stopped on
/// drop.
pub struct VictoriaMetrics {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:41237`.
    pub url: String,
    _directory: tempfile::TempDir,
}

impl VictoriaMetrics {
    /// Starts it on a fresh data directory and imports the named fixtures.
    pub fn start(fixtures: &[&str]) -> Self {
        let texts: Vec<String> = fixtures
            .iter()
            .map(|name| std::fs::read_to_string(fixture(name)).expect("fixture is readable"))
            .collect();
        Self::start_with_texts(&texts)
    }

    /// Starts it holding one OpenMetrics recording given as text.
    pub fn start_with_text(text: &str) -> Self {
        Self::start_with_texts(&[text.to_string()])
    }

    fn start_with_texts(texts: &[String]) -> Self {
        require_with("victoria-metrics", "apt-get install -y victoria-metrics");
        let directory = tempfile::tempdir().expect("temp dirs can be created");
        let port = free_port();
        let log = std::fs::File::create(directory.path().join("victoria-metrics.log"))
            .expect("log file is created");
        let child = Command::new("victoria-metrics")
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg(format!(
                "-storageDataPath={}",
                directory.path().join("data").display()
            ))
            .arg("-retentionPeriod=100y")
            // Answer queries about the last moments without holding them
            // back (30s by default, for data still arriving).
            .arg("-search.latencyOffset=0s")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("victoria-metrics starts");
        let mut engine = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _directory: directory,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !matches!(http_get(port, "/health"), Ok((200, _))) {
            if let Ok(Some(status)) = engine.child.try_wait() {
                panic!("victoria-metrics exited early with {status}");
            }
            assert!(Instant::now() < deadline, "victoria-metrics did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        for text in texts {
            let (status, body) = http_post(
                port,
                "/api/v1/import/prometheus",
                &[],
                prometheus_text(text).as_bytes(),
            )
            .expect("victoria-metrics answers");
            assert_eq!(status, 204, "importing a recording: {body}");
        }
        let (status, _) = http_get(port, "/internal/force_flush").expect("flushes");
        assert_eq!(status, 200);
        engine
    }
}

impl Drop for VictoriaMetrics {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An OpenMetrics recording as Prometheus' text format with millisecond
/// timestamps, which VictoriaMetrics' import reads.
fn prometheus_text(openmetrics: &str) -> String {
    let mut text = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines().filter(|line| !line.starts_with('#')) {
        let (rest, seconds) = line.rsplit_once(' ').expect("a sample with a timestamp");
        let milliseconds = (seconds.parse::<f64>().expect("a timestamp") * 1000.0).round();
        text.push_str(&format!("{rest} {milliseconds}\n"));
    }
    text
}

/// A minimal HTTP/1.0 GET over loopback, independent of summit-slo's own
/// client.
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    Ok(split_response(&response))
}

/// The status and body of a whole HTTP/1.0 response.
fn split_response(response: &[u8]) -> (u16, String) {
    let response = String::from_utf8_lossy(response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

/// POSTs `body` to `path` on loopback with extra header lines (HTTP/1.0,
/// so the answer ends with the connection); returns status and body.
pub fn http_post(
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!(
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    // A server may answer (413) before reading a large body and close.
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    Ok(split_response(&response))
}

/// The built `summit-slo` binary.
pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_summit-slo"));
    command
        .env_remove("SUMMIT_SLO_PROMETHEUS_URL")
        .env_remove("SUMMIT_SLO_LOG")
        .env_remove("SUMMIT_SLO_SLOS")
        .env_remove("SUMMIT_SLO_SCRAPE_INTERVAL")
        .env_remove("SUMMIT_SLO_PROMETHEUS_TOKEN")
        .env("NO_COLOR", "1")
        .env("COLUMNS", "250")
        .current_dir(root());
    command
}

/// A finished run of the binary.
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Stdout parsed as JSON (strictly: NaN literals fail).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|error| {
            panic!(
                "stdout is not strict JSON ({error}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The `slos[]` entry with this name.
    pub fn slo(&self, name: &str) -> Value {
        let json = self.json();
        json["slos"]
            .as_array()
            .expect("slos is a list")
            .iter()
            .find(|slo| slo["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no SLO named {name} in {json:#}"))
    }
}

/// Runs the binary with arguments.
pub fn run(args: &[&str]) -> Run {
    run_command(binary().args(args))
}

/// Runs a prepared command.
pub fn run_command(command: &mut Command) -> Run {
    let output: Output = command.output().expect("the binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `verify --format json` over the fixtures' window against `url`.
pub fn verify_json(url: &str, slos: &Path, extra: &[&str]) -> Run {
    let slos = slos.to_str().expect("paths are UTF-8");
    let mut args = vec![
        "verify",
        "--slos",
        slos,
        "--prometheus",
        url,
        "--start",
        WINDOW_START,
        "--end",
        WINDOW_END,
        "--settle",
        "0s",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// SLO files written into a temp dir for one test.
pub struct SloFiles {
    directory: tempfile::TempDir,
}

impl SloFiles {
    /// A temp dir holding one file with this text.
    pub fn new(text: &str) -> Self {
        let files = Self {
            directory: tempfile::tempdir().expect("temp dirs can be created"),
        };
        files.add("slo.yaml", text);
        files
    }

    /// Adds another file.
    pub fn add(&self, name: &str, text: &str) -> PathBuf {
        let path = self.directory.path().join(name);
        std::fs::write(&path, text).expect("SLO files are written");
        path
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.directory.path()
    }

    /// A file in the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.directory.path().join(name)
    }
}

/// Asserts two floats are equal to a relative tolerance.
pub fn assert_close(actual: f64, expected: f64, relative: f64, what: &str) {
    let scale = expected.abs().max(f64::MIN_POSITIVE);
    assert!(
        (actual - expected).abs() <= relative * scale,
        "{what}: {actual} is not within {relative} of {expected}"
    );
}

/// Fails unless `path` validates against `tests/junit.xsd` (with xmllint).
pub fn assert_valid_junit(path: &Path) {
    let validation = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(root().join("tests/junit.xsd"))
        .arg(path)
        .output()
        .expect("xmllint runs (apt-get install -y libxml2-utils)");
    assert!(
        validation.status.success(),
        "{} is not valid JUnit: {}",
        path.display(),
        String::from_utf8_lossy(&validation.stderr)
    );
}

/// A running Alertmanager (Debian's `prometheus-alertmanager`) whose one
/// receiver posts every notification to `webhook`, with `token` as bearer;
/// stopped on drop.
pub struct Alertmanager {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:41236`.
    pub url: String,
    /// `host:port`, for Prometheus' `alerting` section.
    pub address: String,
    _directory: tempfile::TempDir,
}

impl Alertmanager {
    /// Starts it with one-second grouping, so notifications follow alerts
    /// within seconds, and clustering off.
    pub fn start(webhook: &str, token: &str) -> Self {
        require("prometheus-alertmanager");
        let directory = tempfile::tempdir().expect("temp dirs can be created");
        let config = directory.path().join("alertmanager.yml");
        std::fs::write(
            &config,
            format!(
                "route:\n  receiver: summit-slo\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: summit-slo\n    webhook_configs:\n      - url: {webhook}\n        send_resolved: true\n        http_config:\n          authorization:\n            credentials: {token}\n"
            ),
        )
        .expect("config is written");
        let port = free_port();
        let log = std::fs::File::create(directory.path().join("alertmanager.log"))
            .expect("log file is created");
        let child = Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.path={}",
                directory.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("alertmanager starts");
        let mut alertmanager = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            address: format!("127.0.0.1:{port}"),
            _directory: directory,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = alertmanager.child.try_wait() {
                panic!("alertmanager exited early with {status}");
            }
            if let Ok((200, _)) = http_get(port, "/-/ready") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "alertmanager did not become ready within 30s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        alertmanager
    }

    /// Its log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._directory.path().join("alertmanager.log")).unwrap_or_default()
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A recording of dead-letter counters, one there from the start (17 in
/// `ingest`) and two born in the window: `exports` with 3 at 10:05 and
/// `startup` with 2 at 10:00:20, while `early_total` appears at 10:00:20 at
/// 5000. Five dead letters came in the window.
pub fn born_counters_recording() -> String {
    let mut text = String::new();
    for step in 0..120 {
        let time = 1_796_377_805 + 15 * step;
        text.push_str(&format!(
            "dead_letters_total{{queue=\"ingest\"}} 17 {time}\n"
        ));
        if time >= 1_796_378_705 {
            text.push_str(&format!(
                "dead_letters_total{{queue=\"exports\"}} 3 {time}\n"
            ));
        }
        if time >= 1_796_378_420 {
            text.push_str(&format!("early_total{{pod=\"a\"}} 5000 {time}\n"));
            // Born 20s into the window, while its target already exported
            // dead letters of other queues: new, whatever the grace.
            text.push_str(&format!(
                "dead_letters_total{{queue=\"startup\"}} 2 {time}\n"
            ));
        }
    }
    text.push_str("# EOF\n");
    text
}
