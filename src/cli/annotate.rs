//! Grafana annotations from the command line: a region over each verified
//! window, and `summit-slo annotate` for deploy markers.
//!
//! Settings are checked before anything runs, so a wrong URL or an
//! unreadable token never costs a load test. Writing the annotation comes
//! after the verdict and never changes it: a failure is a warning, or exit
//! 3 with `--require-annotation`.

use url::Url;

use super::args::{AnnotateArgs, AnnotationArgs, GrafanaArgs};
use super::source::secret;
use super::{EXIT_CANNOT_RUN, Stop};
use crate::eval::{AnnotationRecord, Verification};
use crate::grafana::{Annotation, Grafana, GrafanaConfig};
use crate::time::{parse_duration, parse_instant};

/// Writes annotations to one Grafana.
pub struct Annotator {
    grafana: Grafana,
    run_id: Option<String>,
    release: Option<String>,
    required: bool,
}

/// A Grafana client from the connection flags; none without `--grafana-url`.
pub fn grafana_client(args: &GrafanaArgs) -> Result<Option<Grafana>, Stop> {
    let Some(url) = args.grafana_url.as_deref().filter(|url| !url.is_empty()) else {
        return Ok(None);
    };
    let url = Url::parse(url)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
        .ok_or_else(|| {
            Stop::new(
                "--grafana-url is not an http or https URL; expected e.g. https://grafana.example.com",
            )
        })?;
    let mut config = GrafanaConfig::new(url);
    config.token = secret(
        "SUMMIT_SLO_GRAFANA_TOKEN",
        args.grafana_token_file.as_deref(),
        "Grafana token",
    )
    .map_err(Stop::new)?;
    if config.token.is_some() && !config.url.username().is_empty() {
        return Err(Stop::new(
            "--grafana-url has user:password and a Grafana token is set; give one",
        ));
    }
    config.org = args.grafana_org;
    config.dashboard_uid = args.grafana_dashboard.clone().filter(|uid| !uid.is_empty());
    config.panel_id = args.grafana_panel;
    config.timeout = positive(&args.grafana_timeout, "--grafana-timeout")?;
    config.deadline = positive(&args.grafana_deadline, "--grafana-deadline")?;
    Grafana::new(config).map(Some).map_err(Stop::new)
}

impl Annotator {
    /// From the flags: none without `--grafana-url`.
    pub fn from_args(
        connection: &GrafanaArgs,
        tagging: &AnnotationArgs,
    ) -> Result<Option<Self>, Stop> {
        let Some(grafana) = grafana_client(connection)? else {
            if tagging.require_annotation {
                return Err(Stop::new(
                    "--require-annotation needs --grafana-url (or SUMMIT_SLO_GRAFANA_URL)",
                ));
            }
            return Ok(None);
        };
        for (flag, value) in [
            ("--run-id", &tagging.run_id),
            ("--release", &tagging.release),
        ] {
            if value
                .as_deref()
                .is_some_and(|value| value.trim().is_empty() || value.chars().any(char::is_control))
            {
                return Err(Stop::new(format!(
                    "{flag} must be a non-empty line of text"
                )));
            }
        }
        Ok(Some(Self {
            grafana,
            run_id: tagging.run_id.clone(),
            release: tagging.release.clone(),
            required: tagging.require_annotation,
        }))
    }

    /// Annotates the verification's window and records the outcome on it;
    /// a failure is a warning unless the annotation is required, which
    /// makes the exit code 3.
    pub fn annotate(&self, verification: &mut Verification) {
        let mut slo_ids: Vec<String> = verification
            .outcomes
            .iter()
            .map(|outcome| outcome.slo.id())
            .collect();
        slo_ids.sort();
        let run_id = self.run_id(&slo_ids.join("\n"));
        let annotation =
            crate::grafana::verification_annotation(verification, self.release.as_deref(), &run_id);
        let record = self.write(&annotation, &run_id);
        if record.error.is_some() && self.required {
            verification.exit_code = EXIT_CANNOT_RUN;
        }
        verification.annotation = Some(record);
    }

    /// Writes the annotation keyed by `run_id` and says what happened on
    /// stderr.
    fn write(&self, annotation: &Annotation, run_id: &str) -> AnnotationRecord {
        let run_tag = format!("run:{run_id}");
        let result = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| format!("cannot start the async runtime: {error}"))
            .and_then(|runtime| {
                runtime
                    .block_on(self.grafana.upsert(annotation, &["summit-slo", &run_tag]))
                    .map_err(|error| error.to_string())
            });
        let url = self.grafana.url().to_string();
        match result {
            Ok(posted) => {
                eprintln!(
                    "summit-slo: Grafana annotation {} {} ({run_tag})",
                    posted.id(),
                    posted.action()
                );
                AnnotationRecord {
                    url,
                    run_id: run_id.to_string(),
                    id: Some(posted.id()),
                    action: Some(posted.action()),
                    error: None,
                }
            }
            Err(error) => {
                let level = if self.required { "error" } else { "warning" };
                eprintln!("{level}: the Grafana annotation was not written: {error}");
                AnnotationRecord {
                    url,
                    run_id: run_id.to_string(),
                    id: None,
                    action: None,
                    error: Some(error),
                }
            }
        }
    }

    /// The run id: `--run-id`, else the CI run's with a hash of `what`, else
    /// a fresh one.
    fn run_id(&self, what: &str) -> String {
        if let Some(id) = &self.run_id {
            return id.clone();
        }
        match ci_run_id() {
            Some(ci) => format!("{ci}-{:08x}", fnv1a(what) as u32),
            None => format!(
                "local-{}-{}",
                crate::time::now().as_millisecond(),
                std::process::id()
            ),
        }
    }
}

/// Runs `summit-slo annotate` and returns the exit code.
pub fn run_annotate(args: AnnotateArgs) -> u8 {
    match annotate(&args) {
        // A failure was printed when it happened.
        Ok(record) if record.error.is_some() => EXIT_CANNOT_RUN,
        Ok(_) => 0,
        Err(stop) => {
            stop.print();
            stop.code
        }
    }
}

fn annotate(args: &AnnotateArgs) -> Result<AnnotationRecord, Stop> {
    if args.text.trim().is_empty() {
        return Err(Stop::new(
            "--text is empty; Grafana refuses annotations without text",
        ));
    }
    let annotator = Annotator::from_args(&args.grafana, &args.annotation)?
        .ok_or_else(|| Stop::new("annotate needs --grafana-url (or SUMMIT_SLO_GRAFANA_URL)"))?;
    let now = crate::time::now();
    let instant = |text: &Option<String>, flag: &str| {
        text.as_deref()
            .map(|text| {
                parse_instant(text, now).map_err(|error| Stop::new(format!("{flag}: {error}")))
            })
            .transpose()
    };
    let start = instant(&args.start, "--start")?.unwrap_or(now);
    let end = instant(&args.end, "--end")?;
    let mut tags = vec!["summit-slo".to_string()];
    for tag in &args.tags {
        let tag = tag.trim();
        if !tag.is_empty() && !tags.iter().any(|have| have == tag) {
            tags.push(tag.to_string());
        }
    }
    tags.extend(
        annotator
            .release
            .iter()
            .map(|release| format!("release:{release}")),
    );
    let run_id = annotator.run_id(&format!("annotate\n{}\n{}", args.text, tags.join("\n")));
    tags.push(format!("run:{run_id}"));
    let annotation = Annotation {
        time: start.as_millisecond(),
        time_end: end.map(|end| end.as_millisecond()),
        tags,
        text: args.text.clone(),
    };
    Ok(annotator.write(&annotation, &run_id))
}

fn positive(text: &str, flag: &str) -> Result<std::time::Duration, Stop> {
    match parse_duration(text) {
        Ok(duration) if duration.is_zero() => {
            Err(Stop::new(format!("{flag} must be longer than 0s")))
        }
        Ok(duration) => Ok(duration),
        Err(error) => Err(Stop::new(format!("{flag}: {error}"))),
    }
}

/// The CI system's id for this run, where there is one.
fn ci_run_id() -> Option<String> {
    let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    if let Some(id) = variable("GITHUB_RUN_ID") {
        let attempt = variable("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".to_string());
        return Some(format!("github-{id}-{attempt}"));
    }
    if let Some(id) = variable("CI_JOB_ID") {
        return Some(format!("gitlab-{id}"));
    }
    if let Some(tag) = variable("BUILD_TAG") {
        return Some(tag);
    }
    variable("CIRCLE_WORKFLOW_JOB_ID").map(|id| format!("circleci-{id}"))
}

/// FNV-1a, 64 bits: a stable hash that needs no dependency.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_stable_across_runs_and_builds() {
        // FNV-1a's published test vectors.
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
