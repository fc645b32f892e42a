//! `summit-slo rules`: Prometheus rules for the selected SLOs, printed,
//! written, or checked against a file kept in the repository.

use super::args::RulesArgs;
use super::{Stop, fail, load_selected, write_stdout};
use crate::rules::{RuleOptions, build, render};
use crate::time::parse_duration;

/// Runs `rules` and returns the exit code: 0 written (or up to date), 1 a
/// checked file is stale, 3 the rules could not be made.
pub fn run_rules(args: RulesArgs) -> u8 {
    let rendered = options(&args).and_then(|options| {
        let (_, slos) = load_selected(&args.input.slos, &args.input.select)?;
        let set = build(&slos, &options);
        for note in &set.notes {
            eprintln!("note: {} {}", note.slo, note.text);
        }
        Ok(render(&set))
    });
    let text = match rendered {
        Ok(text) => text,
        Err(stop) => {
            stop.print();
            return stop.code;
        }
    };

    if let Some(path) = &args.check {
        return match std::fs::read_to_string(path) {
            Ok(existing) if existing == text => 0,
            Ok(_) => {
                eprintln!(
                    "{} no longer matches the SLO files; rewrite it with `summit-slo rules \
                     --output {}` and the same --slos, --select and threshold flags",
                    path.display(),
                    path.display()
                );
                1
            }
            Err(error) => fail(format!("cannot read {}: {error}", path.display())),
        };
    }
    let written = match &args.output {
        Some(path) => std::fs::write(path, &text)
            .map_err(|error| format!("cannot write {}: {error}", path.display())),
        None => write_stdout(&text),
    };
    match written {
        Ok(()) => 0,
        Err(message) => fail(message),
    }
}

fn options(args: &RulesArgs) -> Result<RuleOptions, Stop> {
    let duration = |flag: &str, text: &str| {
        parse_duration(text)
            .ok()
            .filter(|duration| duration.as_secs() >= 60 && duration.as_secs().is_multiple_of(60))
            .ok_or_else(|| {
                Stop::new(format!(
                    "{flag} {text} is not a whole number of minutes (at least 1m)"
                ))
            })
    };
    Ok(RuleOptions {
        threshold_window: duration("--threshold-window", &args.threshold_window)?,
        threshold_for: duration("--threshold-for", &args.threshold_for)?,
    })
}
