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

/// Reads a `$GITHUB_OUTPUT` file as the Actions runner does: `name=value`
/// lines, and `name<<DELIMITER` blocks that end at a line holding only the
/// delimiter. A name written twice keeps its last value.
fn outputs(text: &str) -> std::collections::BTreeMap<String, String> {
    let mut values = std::collections::BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let heredoc = line
            .find("<<")
            .filter(|at| line.find('=').is_none_or(|equals| *at < equals));
        if let Some(at) = heredoc {
            let delimiter = &line[at + 2..];
            let block: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            values.insert(line[..at].to_string(), block.join("\n"));
        } else if let Some((key, value)) = line.split_once('=') {
            values.insert(key.to_string(), value.to_string());
        }
    }
    values
}

#[test]
fn a_report_path_cannot_forge_step_outputs() {
    // A path may hold a newline; written as `report=<path>`, its second line
    // would become an output of its own and turn a failure into a pass.
    let actions = Actions::new();
    let forged = actions.file("report\nverdict=pass\npassed=true");
    let run = run_command(
        binary()
            .args(replay("release-fail"))
            .args([
                "--format",
                "json",
                "--output",
                forged.to_str().expect("UTF-8"),
            ])
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", actions.file("output.txt")),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let values = outputs(&actions.read("output.txt"));
    assert_eq!(values["verdict"], "fail");
    assert_eq!(values["passed"], "false");
    assert_eq!(values["report"], forged.to_str().expect("UTF-8"));
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
    assert_eq!(values["passed"], "false");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&values["report"]).expect("the report output names a file"),
    )
    .expect("JSON");
    assert_eq!(report["verdict"], "fail");
    let summary = failing.read("summary.md");
    assert!(summary.starts_with("## summit-slo: ❌ FAIL"), "{summary}");
    assert!(
        summary.contains(
            "| ❌ fail | <code>summit-api/graphql-latency-p95</code> | 320.7ms | <code>&lt; 200ms</code> |"
        ),
        "{summary}"
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
    let values = outputs(&passing.read("output.txt"));
    assert_eq!(values["verdict"], "pass");
    assert_eq!(values["passed"], "true");
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
    // GitHub shows ten error annotations per step: nine SLOs and a line
    // that counts the rest.
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
    assert_eq!(annotations.len(), 10, "{annotations:?}");
    assert!(
        annotations[9].contains("5 more SLOs need attention (5 failed, 0 inconclusive, 0 warned)"),
        "{}",
        annotations[9]
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
    let services = summit_slo::spec::load_text(Path::new("slo.yaml"), &text)
        .expect("valid")
        .services;
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

/// The script of the `action.yml` step named `name`, to be run as GitHub
/// runs it: `bash -e {0}` with the inputs in the environment.
fn action_script(name: &str) -> String {
    let action = std::fs::read_to_string(support::root().join("action.yml")).expect("action.yml");
    let step = action
        .split(&format!("- name: {name}\n"))
        .nth(1)
        .expect("the step");
    let script = step.split("      run: |\n").nth(1).expect("its script");
    script
        .lines()
        .take_while(|line| line.is_empty() || line.starts_with("        "))
        .map(|line| line.strip_prefix("        ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
}

fn run_action(args: &str, command: &str) -> (support::Run, String) {
    let directory = tempfile::tempdir().expect("temp dir");
    let outputs = directory.path().join("outputs");
    let binary_dir = Path::new(env!("CARGO_BIN_EXE_summit-slo"))
        .parent()
        .expect("a directory")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        binary_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let result = run_command(
        Command::new("bash")
            .args(["-e", "-c", &action_script("Gate the release")])
            .current_dir(support::root())
            .env("PATH", path)
            .env("HOME", directory.path())
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &outputs)
            .env("RUNNER_TEMP", directory.path())
            .env_remove("GITHUB_STEP_SUMMARY")
            .env("ARGS", args)
            .env("COMMAND", command)
            .env("SLOS", "slos/")
            .env("PROMETHEUS_URL", ""),
    );
    let written = std::fs::read_to_string(&outputs).unwrap_or_default();
    (result, written)
}

#[test]
fn the_action_passes_every_argument_through() {
    // Flags over several lines, as a YAML block gives them, and a quoted
    // pattern: every one must reach summit-slo, quotes removed.
    let args = format!(
        "--replay fixtures/release-warn.om\n--end {}\n--strict --select 'summit-api/*'",
        support::WINDOW_END
    );
    let (strict, outputs) = run_action(&args, "");
    assert_eq!(
        strict.code, 1,
        "--strict on the last line: {}",
        strict.stderr
    );
    assert!(outputs.contains("verdict=fail\n"), "{outputs}");
    assert!(outputs.contains("passed=false\n"), "{outputs}");
    assert!(outputs.contains("failed=1\n"), "the warn blocks: {outputs}");
    assert!(
        strict.stdout.contains("::error file="),
        "a blocking warn is an error annotation: {}",
        strict.stdout
    );
    assert!(
        !strict.stdout.contains("summit-redis"),
        "the quoted --select applied: {}",
        strict.stdout
    );

    let (unmatched, outputs) = run_action("--select 'summit-api/*", "");
    assert_eq!(unmatched.code, 3, "{}", unmatched.stderr);
    assert!(
        unmatched.stdout.contains("unmatched quote"),
        "{}",
        unmatched.stdout
    );
    assert!(outputs.contains("verdict=error\n"), "{outputs}");
}

#[test]
fn the_actions_cached_binary_is_keyed_by_the_code_it_was_built_from() {
    // A branch reference such as @main names new code every day; a cache
    // keyed by the reference would keep serving the first build.
    let copy = tempfile::tempdir().expect("temp dir");
    for file in ["Cargo.toml", "Cargo.lock"] {
        std::fs::copy(support::root().join(file), copy.path().join(file)).expect("copied");
    }
    std::fs::create_dir(copy.path().join("src")).expect("created");
    std::fs::copy(
        support::root().join("src/main.rs"),
        copy.path().join("src/main.rs"),
    )
    .expect("copied");
    let key = |version: &str| {
        let outputs = copy.path().join("outputs");
        let _ = std::fs::remove_file(&outputs);
        let result = run_command(
            Command::new("bash")
                .args(["-e", "-c", &action_script("Name the build")])
                .env("GITHUB_OUTPUT", &outputs)
                .env("VERSION", version)
                .env("ACTION_PATH", copy.path()),
        );
        assert_eq!(result.code, 0, "{}", result.stderr);
        std::fs::read_to_string(&outputs).expect("outputs")
    };
    let before = key("source");
    assert!(before.starts_with("key=source-"), "{before}");
    assert_eq!(
        before.trim_end().len(),
        "key=source-".len() + 16,
        "{before}"
    );
    assert_eq!(key("source"), before, "the same code, the same key");
    std::fs::write(copy.path().join("src/extra.rs"), "// changed\n").expect("written");
    assert_ne!(key("source"), before, "new code, a new build");
    assert_eq!(key("0.3.1"), "key=crate-0.3.1\n");
}

#[test]
fn the_step_summary_shows_label_values_as_written_and_caps_groups() {
    // A label value from the data may hold anything; it must not become
    // Markdown or HTML in the summary. 30 groups: the worst 20 are listed.
    let mut text = String::new();
    let hostile = "pipe|`code` <img src=x onerror=alert(1)> **bold** [link](x)";
    for step in 0..41 {
        let time = 1_796_378_400 + 15 * step;
        text.push_str(&format!(
            "queue_depth{{queue=\"{}\"}} 5000 {time}\n",
            hostile.replace('"', "\\\"")
        ));
        for index in 0..29 {
            text.push_str(&format!("queue_depth{{queue=\"q{index:02}\"}} 3 {time}\n"));
        }
    }
    text.push_str("# EOF\n");
    let directory = tempfile::tempdir().expect("temp dir");
    let recording = directory.path().join("queues.om");
    std::fs::write(&recording, text).expect("written");
    let slos = support::SloFiles::new(
        "service: workers\nslos:\n  - name: depth\n    indicator: {gauge: {metric: queue_depth}}\n    objective: \"< 100\"\n    by: [queue]\n",
    );
    let result = run_command(binary().args([
        "verify",
        "--slos",
        slos.path().to_str().expect("UTF-8"),
        "--replay",
        recording.to_str().expect("UTF-8"),
        "--end",
        support::WINDOW_END,
        "--format",
        "markdown",
    ]));
    assert_eq!(result.code, 1, "{}", result.stderr);
    let summary = result.stdout;
    assert!(!summary.contains("<img"), "{summary}");
    assert!(!summary.contains("`code`"), "{summary}");
    assert!(
        summary.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{summary}"
    );
    let group_rows = summary
        .lines()
        .filter(|line| line.contains("| ↳ <code>"))
        .count();
    assert_eq!(group_rows, 20, "{summary}");
    assert!(
        summary.contains("↳ 10 more groups, the worst listed above"),
        "{summary}"
    );
    // Every table row keeps its five cells: no `|` escaped the cell.
    for line in summary.lines().filter(|line| line.starts_with("| ")) {
        let cells = line.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 6, "{line}");
    }
}

#[test]
fn a_run_that_cannot_start_still_tells_github() {
    let directory = tempfile::tempdir().expect("temp dir");
    let outputs_file = directory.path().join("outputs");
    let result = run_command(
        binary()
            .args(["verify", "--no-such-flag"])
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &outputs_file),
    );
    assert_eq!(result.code, 3);
    assert!(
        result
            .stdout
            .starts_with("::error title=summit-slo could not run::bad arguments: unexpected argument '--no-such-flag'"),
        "{}",
        result.stdout
    );
    let values = outputs(&std::fs::read_to_string(&outputs_file).expect("outputs"));
    assert_eq!(values["verdict"], "error");
    assert_eq!(values["passed"], "false");

    // A message with a carriage return cannot start a workflow command.
    let prometheus = support::Prometheus::start(&["release-pass"]);
    let result = run_command(
        binary()
            .args([
                "run",
                "--prometheus",
                &prometheus.url,
                "--scrape-interval",
                "15s",
                "--",
                "no-such-program\r::warning title=X::injected",
            ])
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &outputs_file),
    );
    assert_eq!(result.code, 3, "{}", result.stderr);
    assert!(
        result
            .stdout
            .contains("cannot start 'no-such-program%0D::warning"),
        "{}",
        result.stdout
    );
    for line in result.stdout.split(['\n', '\r']) {
        assert!(
            !line.starts_with("::warning"),
            "a second command was injected: {:?}",
            result.stdout
        );
    }
}

#[test]
fn a_stop_writes_a_report_in_the_format_asked_for() {
    // A CI system that parses the --output file as JUnit must not find
    // plain text there, nor an earlier run's verdict.
    let directory = tempfile::tempdir().expect("temp dir");
    let missing = directory.path().join("no-such-slos");
    for (arguments, why) in [
        (vec!["--no-such-flag"], "a bad flag"),
        (
            vec!["--slos", missing.to_str().expect("UTF-8")],
            "missing SLO files",
        ),
    ] {
        let junit = directory.path().join("report.xml");
        std::fs::write(&junit, "<testsuites/> from an earlier run").expect("written");
        let result = run_command(binary().arg("verify").args(&arguments).args([
            "--format",
            "junit",
            "--output",
            junit.to_str().expect("UTF-8"),
        ]));
        assert_eq!(result.code, 3, "{why}: {}", result.stderr);
        support::assert_valid_junit(&junit);
        let xml = std::fs::read_to_string(&junit).expect("written");
        assert!(xml.contains("errors=\"1\""), "{why}: {xml}");
        assert!(xml.contains("type=\"could_not_run\""), "{why}: {xml}");

        let html = directory.path().join("report.html");
        let result = run_command(binary().arg("verify").args(&arguments).args([
            "--format",
            "html",
            "--output",
            html.to_str().expect("UTF-8"),
        ]));
        assert_eq!(result.code, 3, "{why}: {}", result.stderr);
        let page = std::fs::read_to_string(&html).expect("written");
        assert!(page.starts_with("<!doctype html>"), "{why}: {page}");
        assert!(page.contains("COULD NOT RUN"), "{why}: {page}");
    }
}
