//! Where a verification's report goes: stdout or `--output`, and inside
//! GitHub Actions also annotations, the step summary and the step outputs.
//! A run that stopped early still leaves a report saying so.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::annotate::Annotator;
use super::args::{AnnotationArgs, GrafanaArgs, OutputArgs};
use super::{Stop, fail, write_stdout};
use crate::eval::Verification;
use crate::report::{self, Format, github, markdown};

/// The end of every verifying command. The Grafana settings are checked
/// before `judge` runs, so a mistake there costs no load test; then the
/// verification is annotated and delivered. Returns the exit code.
pub fn judge_and_deliver(
    output: &OutputArgs,
    (grafana, annotation): (&GrafanaArgs, &AnnotationArgs),
    judge: impl FnOnce(bool) -> Result<Verification, Stop>,
) -> u8 {
    let delivery = Delivery::new(output);
    let judged = Annotator::from_args(grafana, annotation)
        .and_then(|annotator| Ok((annotator, judge(delivery.wants_charts())?)));
    match judged {
        Ok((annotator, mut verification)) => {
            if let Some(annotator) = annotator {
                annotator.annotate(&mut verification);
            }
            delivery.deliver(&verification)
        }
        Err(stop) => {
            stop.print();
            delivery.deliver_stop(&stop);
            stop.code
        }
    }
}

/// Where GitHub Actions wants its files.
#[derive(Debug, Clone)]
struct GithubFiles {
    summary: Option<PathBuf>,
    outputs: Option<PathBuf>,
    temp: PathBuf,
}

/// Where and how a report is delivered.
#[derive(Debug, Clone)]
pub struct Delivery {
    format: Format,
    output: Option<PathBuf>,
    github: Option<GithubFiles>,
}

impl Delivery {
    /// From the output flags and the environment: GitHub's integration is
    /// on with `--format github` or when `GITHUB_ACTIONS=true`.
    pub fn new(args: &OutputArgs) -> Self {
        let in_actions = std::env::var("GITHUB_ACTIONS").is_ok_and(|value| value == "true");
        let path = |name: &str| {
            std::env::var_os(name)
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
        };
        let github = (args.format == Format::Github || in_actions).then(|| GithubFiles {
            summary: path("GITHUB_STEP_SUMMARY"),
            outputs: path("GITHUB_OUTPUT"),
            temp: path("RUNNER_TEMP").unwrap_or_else(std::env::temp_dir),
        });
        Self {
            format: args.format,
            output: args.output.clone(),
            github,
        }
    }

    /// True when the report (or the step summary) draws each indicator
    /// across the window, which needs one more query per SLO.
    pub fn wants_charts(&self) -> bool {
        self.format.charts() || self.github.is_some()
    }

    /// Writes the report and, in GitHub Actions, the annotations, summary
    /// and outputs; returns the verdict's exit code.
    pub fn deliver(&self, verification: &Verification) -> u8 {
        let text = report::render(verification, self.format, table_width());
        let written = match &self.output {
            Some(path) => write_report(path, &text).map(|()| {
                eprintln!("{}", report::table::summary(verification));
                eprintln!("report written to {}", path.display());
            }),
            None => write_stdout(&text).map(|()| {
                if !matches!(self.format, Format::Table | Format::Github) {
                    eprintln!("{}", report::table::summary(verification));
                }
            }),
        };
        if let Err(message) = written {
            return fail(message);
        }
        if let Some(files) = &self.github
            && let Err(message) = self.deliver_to_github(files, verification)
        {
            return fail(message);
        }
        verification.exit_code
    }

    fn deliver_to_github(
        &self,
        files: &GithubFiles,
        verification: &Verification,
    ) -> Result<(), String> {
        self.announce(&github::annotations(verification))?;
        if let Some(summary) = &files.summary {
            append(
                summary,
                &markdown::render(verification, markdown::SUMMARY_LIMIT),
            )?;
        }
        if let Some(outputs) = &files.outputs {
            let report = match (&self.output, self.format) {
                (Some(path), Format::Json) => path.clone(),
                _ => {
                    let path = files
                        .temp
                        .join(format!("summit-slo-report-{}.json", std::process::id()));
                    write_report(&path, &report::json::render(verification))?;
                    path
                }
            };
            append(outputs, &github::outputs(verification, &report))?;
        }
        Ok(())
    }

    /// Workflow commands go to stdout, where GitHub reads them, unless
    /// stdout carries a machine-readable report they would corrupt.
    fn announce(&self, lines: &str) -> Result<(), String> {
        if lines.is_empty() {
            return Ok(());
        }
        let stdout_is_report =
            self.output.is_none() && !matches!(self.format, Format::Table | Format::Github);
        if stdout_is_report {
            eprint!("{lines}");
            Ok(())
        } else {
            write_stdout(lines)
        }
    }

    /// A stop before any verdict: JSON consumers get a document with the
    /// error, an --output file never keeps an earlier run's verdict, and
    /// GitHub gets an error annotation and outputs that say so.
    pub fn deliver_stop(&self, stop: &Stop) {
        let text = report::render_stop(&stop.message, stop.code, self.format, crate::time::now());
        let written = match (&self.output, self.format) {
            (Some(path), _) => write_report(path, &text),
            (None, Format::Json) => write_stdout(&text),
            (None, _) => Ok(()),
        };
        if let Err(message) = written {
            eprintln!("error: {message}");
        }
        let Some(files) = &self.github else { return };
        let _ = self.announce(&github::stop_annotation(&stop.message));
        if let Some(summary) = &files.summary {
            let _ = append(summary, &report::markdown::render_error(&stop.message));
        }
        if let Some(outputs) = &files.outputs {
            let report = match (&self.output, self.format) {
                (Some(path), Format::Json) => Some(path.as_path()),
                _ => None,
            };
            let _ = append(outputs, &github::stop_outputs(stop.code, report));
        }
    }
}

pub(super) fn append(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|error| format!("cannot write {}: {error}", path.display()))
}

fn write_report(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text)
        .map_err(|error| format!("cannot write the report to {}: {error}", path.display()))
}

/// The table's width: COLUMNS when set, 120 on a terminal, else unwrapped.
fn table_width() -> Option<u16> {
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|columns| columns.parse().ok())
    {
        return Some(columns);
    }
    std::io::stdout().is_terminal().then_some(120)
}
