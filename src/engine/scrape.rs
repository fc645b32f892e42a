//! Scraping targets during the window, as Prometheus would: every interval
//! each target's `/metrics` is fetched, its samples get `job` and
//! `instance` labels and the scrape's time, and series that disappear (or
//! a target that fails) get staleness markers.
//!
//! A failed scrape is retried at the next tick and counted; a target that
//! answered too few scrapes makes the SLOs reading its series inconclusive
//! (decided in `eval` from [`ScrapeReport`]).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use url::Url;

use super::Engine;
use super::store::{STALE_NAN_BITS, series_key};
use super::text::{self, Format};
use crate::http::build_client;
use crate::prometheus::Labels;

/// One target: where to scrape and the labels its series get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The `job` label, when given as `JOB=URL`.
    pub job: Option<String>,
    /// The URL scraped.
    pub url: Url,
    /// The `instance` label: host and port.
    pub instance: String,
}

impl Target {
    /// Reads `[JOB=]URL`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (job, address) = match text.split_once('=') {
            Some((job, address)) if !job.contains("://") && !job.contains('/') => {
                if job.is_empty() {
                    return Err(format!(
                        "--scrape '{text}': the job name before '=' is empty; give JOB=URL or URL"
                    ));
                }
                (Some(job.to_string()), address)
            }
            _ => (None, text),
        };
        let url = Url::parse(address)
            .map_err(|error| format!("--scrape '{text}': not a URL ({error})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "--scrape '{text}': only http and https targets can be scraped"
            ));
        }
        let host = url.host_str().unwrap_or_default();
        let instance = match url.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        Ok(Self { job, url, instance })
    }
}

/// How one target's scrapes went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetReport {
    /// Scrapes attempted.
    pub attempted: usize,
    /// Scrapes that returned parseable metrics.
    pub succeeded: usize,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

impl TargetReport {
    /// Too few answers to trust the window: fewer than two, or under 90%
    /// of the attempts (a target down for a tenth of a load test has hidden
    /// what happened then).
    pub fn is_deficient(&self) -> bool {
        self.succeeded < 2 || self.succeeded * 10 < self.attempted * 9
    }
}

/// How every target's scrapes went, keyed by `instance`.
#[derive(Debug, Clone, Default)]
pub struct ScrapeReport {
    /// Per target, by instance.
    pub targets: Vec<(Target, TargetReport)>,
    /// When the sample bound was reached (Unix milliseconds of the first
    /// scrape whose samples were dropped), if it was.
    pub full_at: Option<i64>,
}

/// When scraping stops.
#[derive(Debug)]
pub enum Until {
    /// After the tick at this instant (Unix milliseconds).
    At(i64),
    /// When the flag turns true; one last scrape then marks the end.
    Signal(tokio::sync::watch::Receiver<bool>),
}

/// Scrapes every target at `start`, `start + interval`, … until `until`,
/// keeping at most `max_samples`. `clock` reads the wall clock in
/// milliseconds.
pub async fn scrape(
    engine: &mut Engine,
    targets: &[Target],
    interval: Duration,
    start: i64,
    mut until: Until,
    max_samples: usize,
    clock: impl Fn() -> i64,
) -> ScrapeReport {
    let client = match build_client() {
        Ok(client) => client,
        Err(error) => {
            return ScrapeReport {
                targets: targets
                    .iter()
                    .map(|target| {
                        (
                            target.clone(),
                            TargetReport {
                                last_error: Some(error.clone()),
                                ..TargetReport::default()
                            },
                        )
                    })
                    .collect(),
                full_at: None,
            };
        }
    };
    let mut report = ScrapeReport {
        targets: targets
            .iter()
            .map(|target| (target.clone(), TargetReport::default()))
            .collect(),
        full_at: None,
    };
    let mut previous: Vec<HashSet<String>> = vec![HashSet::new(); targets.len()];
    // Every series each target ever sent, and when it last answered.
    let mut known: Vec<HashSet<String>> = vec![HashSet::new(); targets.len()];
    let mut answered: Vec<Option<i64>> = vec![None; targets.len()];
    let timeout = interval.min(Duration::from_secs(10));
    let step = interval.as_millis() as i64;

    let mut tick = start;
    let mut last = false;
    loop {
        match &mut until {
            Until::At(end) if tick > *end => break,
            Until::At(_) => {
                let wait = tick - clock();
                if wait > 0 {
                    tokio::time::sleep(Duration::from_millis(wait as u64)).await;
                }
            }
            Until::Signal(stopped) => {
                let wait = (tick - clock()).max(0) as u64;
                if !*stopped.borrow() {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
                        _ = stopped.changed() => {}
                    }
                }
                last = *stopped.borrow();
            }
        }
        let time = clock();
        let fetches = targets.iter().map(|target| {
            let client = client.clone();
            let url = target.url.clone();
            tokio::spawn(async move { fetch(&client, url, timeout).await })
        });
        let handles: Vec<_> = fetches.collect();
        for (index, handle) in handles.into_iter().enumerate() {
            let answer = handle.await.unwrap_or_else(|error| Err(error.to_string()));
            let (target, stats) = &mut report.targets[index];
            stats.attempted += 1;
            let scrape = Scrape {
                time,
                born_after: answered[index],
                known: &known[index],
                max_samples,
            };
            let seen = match answer.and_then(|(body, format)| {
                ingest(engine, target, &body, format, &scrape, &mut report.full_at)
            }) {
                Ok(seen) => {
                    stats.succeeded += 1;
                    answered[index] = Some(time);
                    known[index].extend(seen.iter().cloned());
                    seen
                }
                Err(error) => {
                    tracing::warn!(target = %target.url, %error, "scrape failed; retrying at the next tick");
                    stats.last_error = Some(error);
                    HashSet::new()
                }
            };
            // As Prometheus does: `up` says whether each scrape answered,
            // so a recording keeps the failures for a replay to see.
            let up = up_labels(target);
            engine.store.insert(
                &series_key(&up),
                || up.clone(),
                time,
                if answered[index] == Some(time) {
                    1.0
                } else {
                    0.0
                },
            );
            // Series that were there and are gone get a staleness marker,
            // as Prometheus writes one.
            for key in previous[index].difference(&seen) {
                engine
                    .store
                    .insert(key, Labels::new, time, f64::from_bits(STALE_NAN_BITS));
            }
            previous[index] = seen;
        }
        if last {
            break;
        }
        tick += step;
    }
    engine.store.seal();
    report
}

/// Fetches every target once, to find one that does not answer before a
/// load test is started against it.
pub async fn probe(targets: &[Target]) -> Result<(), String> {
    let client = build_client()?;
    for target in targets {
        fetch(&client, target.url.clone(), Duration::from_secs(10))
            .await
            .map_err(|error| format!("{} does not answer: {error}", target.url))?;
    }
    Ok(())
}

async fn fetch(
    client: &reqwest::Client,
    url: Url,
    timeout: Duration,
) -> Result<(String, Format), String> {
    let request = client
        .get(url)
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .timeout(timeout)
        .send();
    let response = request
        .await
        .map_err(|error| error.without_url().to_string())?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let openmetrics = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/openmetrics-text"));
    let body = response
        .text()
        .await
        .map_err(|error| error.without_url().to_string())?;
    let format = if openmetrics {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    };
    Ok((body, format))
}

/// One scrape of one target, as `ingest` needs it.
struct Scrape<'a> {
    /// When it was taken (Unix milliseconds).
    time: i64,
    /// The target's previous successful scrape, if any.
    born_after: Option<i64>,
    /// Every series the target sent before.
    known: &'a HashSet<String>,
    /// The sample bound.
    max_samples: usize,
}

/// The labels of a target's `up` series.
fn up_labels(target: &Target) -> Labels {
    let mut labels = target_labels(&Labels::new(), target);
    labels.insert("__name__".to_string(), "up".to_string());
    labels
}

/// True for series of counters, histograms and summaries (buckets, counts
/// and sums only grow), which start from zero when they first appear.
fn counts_up(name: &str, types: &HashMap<String, String>) -> bool {
    let family = ["_total", "_bucket", "_count", "_sum", "_created"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name);
    match types
        .get(family)
        .or_else(|| types.get(name))
        .map(String::as_str)
    {
        Some("counter" | "histogram" | "summary") => !name.ends_with("_created"),
        Some(_) => false,
        None => name.ends_with("_total"),
    }
}

/// Adds one scrape's samples with the target's labels; returns the keys
/// of the series seen. A counter series the target had not sent before,
/// though it answered before, started from zero since that answer: a zero
/// sample is written there, so increase() counts its first value, as it
/// would have had the target exported it at zero.
fn ingest(
    engine: &mut Engine,
    target: &Target,
    body: &str,
    format: Format,
    scrape: &Scrape<'_>,
    full_at: &mut Option<i64>,
) -> Result<HashSet<String>, String> {
    let (time, max_samples) = (scrape.time, scrape.max_samples);
    let mut scraped = Engine::default();
    text::parse(
        body,
        format,
        Some(time),
        &mut scraped.store,
        &mut scraped.types,
    )
    .map_err(|error| format!("the answer is not valid exposition format: {error}"))?;
    let mut seen = HashSet::new();
    for series in scraped.store.all() {
        let labels = target_labels(&series.labels, target);
        let key = series_key(&labels);
        let name = labels.get("__name__").map_or("", String::as_str);
        if let Some(previous) = scrape.born_after
            && !scrape.known.contains(&key)
            && counts_up(name, &scraped.types)
            && engine.store.samples() < max_samples
        {
            engine.store.insert(&key, || labels.clone(), previous, 0.0);
        }
        for (&sample_time, &value) in series.times.iter().zip(&series.values) {
            if engine.store.samples() >= max_samples {
                full_at.get_or_insert(time);
                break;
            }
            engine
                .store
                .insert(&key, || labels.clone(), sample_time, value);
        }
        seen.insert(key);
    }
    engine.types.extend(scraped.types);
    Ok(seen)
}

/// The target's `job` and `instance` labels win; labels the target exposed
/// under those names are kept as `exported_job` and `exported_instance`.
fn target_labels(exposed: &Labels, target: &Target) -> Labels {
    let mut labels = exposed.clone();
    let mut attach = |name: &str, value: &str| {
        if let Some(previous) = labels.insert(name.to_string(), value.to_string()) {
            labels.insert(format!("exported_{name}"), previous);
        }
    };
    attach("instance", &target.instance);
    if let Some(job) = &target.job {
        attach("job", job);
    }
    labels
}

/// Which targets (by instance) each series came from, for telling which
/// SLOs a failing target affects.
pub fn instances(engine: &Engine) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for series in engine.store.all() {
        if let Some(instance) = series.labels.get("instance") {
            *counts.entry(instance.clone()).or_insert(0) += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_read_job_and_instance() {
        let target = Target::parse("summit-api=http://127.0.0.1:8080/metrics").expect("valid");
        assert_eq!(target.job.as_deref(), Some("summit-api"));
        assert_eq!(target.instance, "127.0.0.1:8080");
        let bare = Target::parse("http://localhost/metrics").expect("valid");
        assert_eq!((bare.job, bare.instance.as_str()), (None, "localhost:80"));
        assert!(Target::parse("ftp://x/metrics").is_err());
        assert!(Target::parse("job=not a url").is_err());
    }

    #[test]
    fn exposed_job_labels_are_kept_as_exported() {
        let target = Target::parse("api=http://127.0.0.1:1/metrics").expect("valid");
        let exposed: Labels = [("__name__", "x"), ("job", "inner")]
            .into_iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let labels = target_labels(&exposed, &target);
        assert_eq!(labels["job"], "api");
        assert_eq!(labels["exported_job"], "inner");
        assert_eq!(labels["instance"], "127.0.0.1:1");
    }

    #[test]
    fn too_few_answers_are_deficient() {
        let report = |attempted, succeeded| TargetReport {
            attempted,
            succeeded,
            last_error: None,
        };
        assert!(report(40, 1).is_deficient());
        assert!(
            report(40, 35).is_deficient(),
            "down for an eighth of the window"
        );
        assert!(!report(40, 36).is_deficient(), "90% answered");
        assert!(!report(2, 2).is_deficient());
        assert!(report(13, 7).is_deficient(), "down for the last 45%");
    }
}
