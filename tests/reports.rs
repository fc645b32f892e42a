//! Report formats as CI systems and people receive them: JUnit that
//! validates against the JUnit schema, GitHub Actions annotations, step
//! summary and outputs, and an HTML report whose charts render in a real
//! (headless) Chromium.

mod support;

use std::path::Path;
use std::process::Command;

use support::{binary, fixture, run_command};

fn replay(name: &str) -> Vec<String> {
    [
        "verify",
        "--replay",
        fixture(name).to_str().expect("UTF-8"),
        "--end",
        support::WINDOW_END,
    ]
    .map(String::from)
    .to_vec()
}

fn require(program: &str, install: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|output| output.status.success());
    assert!(
        found,
        "{program} is not installed; this test needs it: {install}"
    );
}

#[test]
fn junit_validates_against_the_junit_schema() {
    require("xmllint", "apt-get install -y libxml2-utils");
    let directory = tempfile::tempdir().expect("temp dir");
    for (name, failures, errors) in [
        ("release-pass", 0, 0),
        ("release-fail", 4, 0),
        ("no-traffic", 0, 9),
    ] {
        let path = directory.path().join(format!("{name}.xml"));
        let mut args = replay(name);
        args.extend(
            [
                "--format",
                "junit",
                "--output",
                path.to_str().expect("UTF-8"),
            ]
            .map(String::from),
        );
        let result = run_command(binary().args(&args));
        assert!(matches!(result.code, 0..=2), "{}", result.stderr);
        let xml = std::fs::read_to_string(&path).expect("written");
        assert!(
            xml.contains(&format!("failures=\"{failures}\" errors=\"{errors}\"")),
            "{name}: {}",
            xml.lines().nth(1).unwrap_or_default()
        );
        support::assert_valid_junit(&path);
    }
    let grouped =
        std::fs::read_to_string(directory.path().join("release-fail.xml")).expect("written");
    assert!(
        grouped.contains(r#"name="queue-depth-peak {queue=&quot;ingest&quot;}""#),
        "one case per group"
    );
    assert!(grouped.contains(r#"<property name="objective" value="&lt; 200ms"/>"#));
    assert!(grouped.contains(
        r#"<failure message="graphql-latency-p95: 320.7ms misses &lt; 200ms" type="fail">"#
    ));
    let unknown =
        std::fs::read_to_string(directory.path().join("no-traffic.xml")).expect("written");
    assert!(
        unknown.contains(r#"<error message="graphql-latency-p95: precondition not met"#),
        "{unknown}"
    );
    assert!(unknown.contains(r#"type="precondition_not_met""#));
}

struct Actions {
    directory: tempfile::TempDir,
}

impl Actions {
    fn new() -> Self {
        Self {
            directory: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn file(&self, name: &str) -> std::path::PathBuf {
        self.directory.path().join(name)
    }

    fn run(&self, fixture_name: &str) -> support::Run {
        run_command(
            binary()
                .args(replay(fixture_name))
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_STEP_SUMMARY", self.file("summary.md"))
                .env("GITHUB_OUTPUT", self.file("output.txt"))
                .env("RUNNER_TEMP", self.directory.path()),
        )
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.file(name)).unwrap_or_default()
    }
}

fn outputs(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

#[test]
fn github_actions_gets_annotations_summary_and_outputs() {
    let failing = Actions::new();
    let run = failing.run("release-fail");
    assert_eq!(run.code, 1);
    let annotations: Vec<&str> = run
        .stdout
        .lines()
        .filter(|line| line.starts_with("::"))
        .collect();
    assert_eq!(annotations.len(), 4, "one per failing SLO: {annotations:?}");
    assert!(
        annotations[0].starts_with("::error file=slos/summit-api.yaml,line=10,col=5,title=SLO failed%3A summit-api/graphql-latency-p95::graphql-latency-p95: 320.7ms misses < 200ms"),
        "{}",
        annotations[0]
    );
    let values = outputs(&failing.read("output.txt"));
    assert_eq!(values["verdict"], "fail");
    assert_eq!(values["failed"], "4");
    assert_eq!(values["inconclusive"], "0");
    assert_eq!(values["exit_code"], "1");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&values["report"]).expect("the report output names a file"),
    )
    .expect("JSON");
    assert_eq!(report["verdict"], "fail");
    let summary = failing.read("summary.md");
    assert!(summary.starts_with("## summit-slo: ❌ FAIL"), "{summary}");
    assert!(
        summary.contains("| ❌ fail | `summit-api/graphql-latency-p95` | 320.7ms | `< 200ms` |")
    );
    assert_eq!(summary.matches("```mermaid").count(), 6, "a chart per SLO");
    assert!(summary.len() < 1 << 20);

    let passing = Actions::new();
    let run = passing.run("release-pass");
    assert_eq!(run.code, 0);
    assert!(
        !run.stdout.lines().any(|line| line.starts_with("::")),
        "a pass annotates nothing"
    );
    assert_eq!(outputs(&passing.read("output.txt"))["verdict"], "pass");
    assert!(
        passing
            .read("summary.md")
            .starts_with("## summit-slo: ✅ PASS")
    );

    let unknown = Actions::new();
    let run = unknown.run("no-traffic");
    assert_eq!(run.code, 2);
    let warnings = run
        .stdout
        .lines()
        .filter(|line| line.starts_with("::warning "))
        .count();
    assert_eq!(warnings, 6, "{}", run.stdout);
    let values = outputs(&unknown.read("output.txt"));
    assert_eq!(
        (values["verdict"].as_str(), values["inconclusive"].as_str()),
        ("inconclusive", "6")
    );
}

#[test]
fn github_annotations_are_capped_at_ten() {
    let slos = support::SloFiles::new(&{
        let mut text = String::from("service: many\nslos:\n");
        for index in 0..14 {
            text.push_str(&format!(
                "  - name: slo-{index}\n    indicator: {{gauge: {{metric: summit_worker_queue_depth}}}}\n    objective: \"< 1\"\n"
            ));
        }
        text
    });
    let actions = Actions::new();
    let result = run_command(
        binary()
            .args(replay("release-fail"))
            .args(["--slos", slos.path().to_str().expect("UTF-8")])
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", actions.file("output.txt")),
    );
    assert_eq!(result.code, 1);
    let annotations: Vec<&str> = result
        .stdout
        .lines()
        .filter(|line| line.starts_with("::"))
        .collect();
    assert_eq!(annotations.len(), 11, "{annotations:?}");
    assert!(
        annotations[10].contains("4 more SLOs are not passing (4 failed)"),
        "{}",
        annotations[10]
    );
}

/// Counts the pixels within a small distance of an RGB colour.
fn pixels_like(path: &Path, colour: (u8, u8, u8)) -> usize {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).expect("a screenshot"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buffer = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut buffer).expect("a frame");
    let channels = info.color_type.samples();
    buffer[..info.buffer_size()]
        .chunks(channels)
        .filter(|pixel| {
            let distance = |a: u8, b: u8| a.abs_diff(b) as u32;
            distance(pixel[0], colour.0)
                + distance(pixel[1], colour.1)
                + distance(pixel[2], colour.2)
                < 40
        })
        .count()
}

#[test]
fn html_report_charts_render_in_a_browser() {
    require("chromium", "apt-get install -y chromium");
    let directory = tempfile::tempdir().expect("temp dir");
    let html = directory.path().join("report.html");
    let mut args = replay("release-fail");
    args.extend(
        [
            "--format",
            "html",
            "--output",
            html.to_str().expect("UTF-8"),
        ]
        .map(String::from),
    );
    let result = run_command(binary().args(&args));
    assert_eq!(result.code, 1, "{}", result.stderr);
    let text = std::fs::read_to_string(&html).expect("written");
    assert_eq!(text.matches("<svg").count(), 6, "a chart per SLO");
    assert!(!text.contains("<script"), "self-contained, no scripts");

    let screenshot = directory.path().join("report.png");
    let profile = directory.path().join("profile");
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1200,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium runs");
    assert!(
        screenshot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The series lines (blue) and the objective lines (red) are drawn.
    let series = pixels_like(&screenshot, (0x25, 0x63, 0xeb));
    let objective = pixels_like(&screenshot, (0xdc, 0x26, 0x26));
    assert!(series > 400, "too few series pixels: {series}");
    assert!(objective > 150, "too few objective pixels: {objective}");
}

/// The step summary stays under GitHub's 1 MiB: charts go first, then
/// passing rows, each with a note.
#[test]
fn markdown_summary_stays_under_its_limit() {
    use summit_slo::eval::{SloOutcome, Trend, Verdict, Verification};
    let mut text = String::from("service: many\nslos:\n");
    for index in 0..40 {
        text.push_str(&format!(
            "  - name: slo-{index}\n    indicator: {{gauge: {{metric: depth}}}}\n    objective: \"< 100\"\n"
        ));
    }
    let services = summit_slo::spec::load_text(Path::new("slo.yaml"), &text).expect("valid");
    let end: jiff::Timestamp = support::WINDOW_END.parse().expect("valid");
    let window = summit_slo::window::Window {
        start: end - jiff::SignedDuration::from_secs(600),
        end,
    };
    let outcomes = services[0]
        .slos
        .iter()
        .enumerate()
        .map(|(index, slo)| {
            let mut outcome =
                SloOutcome::new(slo.clone(), "max(max_over_time(depth[600s]))".into());
            outcome.verdict = if index % 2 == 0 {
                Verdict::Pass
            } else {
                Verdict::Fail
            };
            outcome.value = Some(index as f64);
            outcome.detail = "x".repeat(200);
            outcome.trend = Some(Trend {
                step: std::time::Duration::from_secs(10),
                range: std::time::Duration::from_secs(120),
                series: vec![(
                    "{}".into(),
                    (0..60)
                        .map(|step| (1_796_378_520.0 + 10.0 * f64::from(step), f64::from(step)))
                        .collect(),
                )],
            });
            outcome
        })
        .collect();
    let verification = Verification::new(window, outcomes, false);
    let full = summit_slo::report::markdown::render(&verification, usize::MAX);
    assert_eq!(full.matches("```mermaid").count(), 40);
    let without_charts = summit_slo::report::markdown::render(&verification, full.len() - 1);
    assert!(without_charts.len() < full.len());
    assert!(!without_charts.contains("```mermaid"));
    assert!(without_charts.contains("Charts are left out"));
    let fewer_rows = summit_slo::report::markdown::render(&verification, 4000);
    assert!(fewer_rows.len() <= 4000, "{}", fewer_rows.len());
    assert!(fewer_rows.contains("more SLOs are left out"));
    assert!(fewer_rows.contains("❌ fail"), "failures are kept first");
}
