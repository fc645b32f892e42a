//! The command line: parses arguments, runs a command, and turns every
//! outcome into text on stdout or stderr and an exit code.
//!
//! This is the only module that knows about exit codes and terminals; the
//! stages it calls return values and errors.

mod annotate;
mod args;
mod compile;
mod deliver;
mod job;
mod preflight;
mod rules;
mod run;
mod select;
mod serve;
mod source;
mod verify;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use miette::{GraphicalReportHandler, GraphicalTheme};

pub use args::{Cli, Command};
pub use select::{glob, select};

use crate::report::Format;
use crate::spec::{ServiceSpec, SpecDiagnostic, SpecErrors};

/// Exit code when the tool could not run: bad arguments, an invalid spec,
/// nothing selected.
pub const EXIT_CANNOT_RUN: u8 = 3;

/// Parses the process's arguments and runs the command.
pub fn main() -> ExitCode {
    forget_empty_settings();
    let cli = match <Cli as clap::Parser>::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap exits 2 on bad arguments, which here means
            // "inconclusive"; bad arguments mean the tool could not run.
            let code = if error.use_stderr() {
                EXIT_CANNOT_RUN
            } else {
                0
            };
            let _ = error.print();
            if code == EXIT_CANNOT_RUN {
                replace_stale_output(&error);
            }
            return ExitCode::from(code);
        }
    };
    setup_logging(cli.verbose);
    ExitCode::from(run(cli))
}

/// An empty SUMMIT_SLO_* variable means "not set": CI systems export
/// unset secrets and inputs as empty strings, which would otherwise
/// replace a default with nothing (`--prometheus ''`).
fn forget_empty_settings() {
    let empty: Vec<std::ffi::OsString> = std::env::vars_os()
        .filter(|(name, value)| {
            name.to_str()
                .is_some_and(|name| name.starts_with("SUMMIT_SLO_"))
                && value.is_empty()
        })
        .map(|(name, _)| name)
        .collect();
    for name in empty {
        // SAFETY: called first thing in main, before any other thread
        // exists that could read the environment.
        unsafe { std::env::remove_var(name) };
    }
}

/// Arguments that did not parse still name an `--output` file; it is
/// overwritten with an error report so no earlier run's verdict survives in
/// it. Inside GitHub Actions the step also gets its error annotation and
/// outputs.
fn replace_stale_output(error: &clap::Error) {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let mut output = None;
    let mut format = Format::Table;
    let parse = |text: &str| <Format as clap::ValueEnum>::from_str(text, false).ok();
    for (index, argument) in arguments.iter().enumerate() {
        let next = || arguments.get(index + 1).cloned();
        match argument.as_str() {
            "--output" | "-o" => output = next(),
            "--format" => format = next().as_deref().and_then(parse).unwrap_or(format),
            _ => {
                if let Some(path) = argument.strip_prefix("--output=") {
                    output = Some(path.to_string());
                }
                if let Some(text) = argument.strip_prefix("--format=") {
                    format = parse(text).unwrap_or(format);
                }
            }
        }
    }
    let json = format == Format::Json;
    // The error's first line names the argument; the rest is advice.
    let rendered = error.to_string();
    let first_line = rendered.lines().next().unwrap_or_default();
    let message = format!(
        "bad arguments: {}",
        first_line.strip_prefix("error: ").unwrap_or(first_line)
    );
    if let Some(path) = &output {
        let text =
            crate::report::render_stop(&message, EXIT_CANNOT_RUN, format, crate::time::now());
        let _ = std::fs::write(path, text);
    }
    // A workflow that gates on the step's outputs gets them here too.
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|value| value == "true") {
        use crate::report::github;
        let _ = write_stdout(&github::stop_annotation(&message));
        if let Some(outputs) = std::env::var_os("GITHUB_OUTPUT").filter(|path| !path.is_empty()) {
            let report = output.as_deref().filter(|_| json).map(std::path::Path::new);
            let _ = deliver::append(
                std::path::Path::new(&outputs),
                &github::stop_outputs(EXIT_CANNOT_RUN, report),
            );
        }
    }
}

/// Runs a parsed command and returns its exit code.
pub fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Verify(args) => verify::run(*args),
        Command::Run(args) => run::run(*args),
        Command::Compile(args) => compile::run_compile(args),
        Command::Validate(args) => compile::run_validate(*args),
        Command::Rules(args) => rules::run_rules(args),
        Command::Annotate(args) => annotate::run_annotate(*args),
        Command::Serve(args) => serve::run_serve(*args),
        Command::Gate(args) => serve::run_gate(args),
    }
}

fn setup_logging(verbose: u8) {
    let default = match verbose {
        0 => "summit_slo=warn",
        1 => "summit_slo=info",
        _ => "summit_slo=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SUMMIT_SLO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour_on_stderr())
        .with_target(false)
        .compact()
        .init();
}

/// True when stderr is a terminal and NO_COLOR is unset or empty.
fn colour_on_stderr() -> bool {
    std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

/// Why a command stopped before it could give a verdict.
#[derive(Debug)]
pub struct Stop {
    /// The exit code (3: the tool could not run).
    pub code: u8,
    /// One line for logs and JSON.
    pub message: String,
    /// A full rendering for the terminal, when there is more than the line
    /// (spec diagnostics).
    pub rendered: Option<String>,
}

impl Stop {
    /// A stop with exit code 3 and a one-line message.
    pub fn new(message: impl std::fmt::Display) -> Self {
        Self {
            code: EXIT_CANNOT_RUN,
            message: message.to_string(),
            rendered: None,
        }
    }

    /// Prints the stop on stderr.
    pub fn print(&self) {
        match &self.rendered {
            Some(rendered) => eprint!("{rendered}"),
            None => eprintln!("error: {}", self.message),
        }
    }
}

/// Loads the SLO files and applies `--select`. Warnings about what
/// translated OpenSLO and Sloth files left out go to stderr here, so every
/// command that reads SLO files shows them.
fn load_selected(
    paths: &[PathBuf],
    patterns: &[String],
) -> Result<(Vec<ServiceSpec>, Vec<crate::spec::Slo>), Stop> {
    let loaded = crate::spec::load(paths).map_err(|errors| {
        let lines: Vec<String> = errors.diagnostics.iter().map(|d| d.one_line()).collect();
        Stop {
            code: EXIT_CANNOT_RUN,
            message: format!("invalid SLO files: {}", lines.join("; ")),
            rendered: Some(render_spec_errors(&errors, colour_on_stderr())),
        }
    })?;
    if !loaded.warnings.is_empty() {
        eprint!(
            "{}",
            render_spec_warnings(&loaded.warnings, colour_on_stderr())
        );
    }
    let selected = select(&loaded.services, patterns).map_err(Stop::new)?;
    Ok((loaded.services, selected))
}

/// Writes to stdout, reporting a closed or full stdout instead of
/// panicking.
pub fn write_stdout(text: &str) -> Result<(), String> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|error| format!("cannot write to stdout: {error}"))
}

/// Renders every spec problem as a miette report (warnings first, as they
/// would have been printed on a run that went on), then a count.
pub fn render_spec_errors(errors: &SpecErrors, colour: bool) -> String {
    let mut text = render_diagnostics(&errors.warnings, colour);
    text.push_str(&render_diagnostics(&errors.diagnostics, colour));
    let count = errors.diagnostics.len();
    let plural = if count == 1 { "problem" } else { "problems" };
    text.push_str(&format!(
        "error: {count} {plural} in the SLO files; nothing was verified\n"
    ));
    text
}

/// Renders the warnings of a load that went on, then a count.
pub fn render_spec_warnings(warnings: &[SpecDiagnostic], colour: bool) -> String {
    let mut text = render_diagnostics(warnings, colour);
    let count = warnings.len();
    let plural = if count == 1 { "warning" } else { "warnings" };
    text.push_str(&format!(
        "warning: {count} {plural} about the SLO files (above); the run goes on\n"
    ));
    text
}

fn render_diagnostics(diagnostics: &[SpecDiagnostic], colour: bool) -> String {
    let theme = if colour {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler =
        GraphicalReportHandler::new_themed(theme).with_width(terminal_width().unwrap_or(100));
    let mut text = String::new();
    for diagnostic in diagnostics {
        let _ = handler.render_report(&mut text, diagnostic);
        text.push('\n');
    }
    text
}

/// The terminal's width from COLUMNS, when set.
fn terminal_width() -> Option<usize> {
    std::env::var("COLUMNS").ok()?.parse().ok()
}

/// Prints an error that stops the command and returns the exit code.
fn fail(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {message}");
    EXIT_CANNOT_RUN
}
