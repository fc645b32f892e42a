//! The receiver's own metrics, in Prometheus' text format under the
//! `summit_slo_` prefix: webhooks by outcome, duplicates, firing alerts,
//! the gate, annotation errors and request durations.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How a webhook delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted and stored.
    Accepted,
    /// Accepted; it changed nothing (a retry, an HA peer's copy).
    Duplicate,
    /// No or a wrong bearer token.
    Unauthorized,
    /// Not Alertmanager's payload.
    Malformed,
    /// Over the size limit.
    TooLarge,
    /// Could not be stored; Alertmanager retries.
    Failed,
}

impl Outcome {
    const ALL: [Self; 6] = [
        Self::Accepted,
        Self::Duplicate,
        Self::Unauthorized,
        Self::Malformed,
        Self::TooLarge,
        Self::Failed,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Duplicate => "duplicate",
            Self::Unauthorized => "unauthorized",
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::Failed => "failed",
        }
    }
}

/// Request duration buckets, in seconds.
const BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

/// A histogram of request durations for one route.
#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Every counter of the receiver.
#[derive(Debug, Default)]
pub struct Metrics {
    webhooks: [AtomicU64; 6],
    truncated_alerts: AtomicU64,
    annotations: AtomicU64,
    annotation_errors: AtomicU64,
    verifications: AtomicU64,
    durations: Mutex<std::collections::BTreeMap<&'static str, Histogram>>,
}

impl Metrics {
    /// Counts a webhook delivery.
    pub fn webhook(&self, outcome: Outcome) {
        let index = Outcome::ALL
            .iter()
            .position(|candidate| *candidate == outcome)
            .expect("every outcome is listed");
        self.webhooks[index].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts alerts a notification left out.
    pub fn truncated(&self, alerts: u64) {
        self.truncated_alerts.fetch_add(alerts, Ordering::Relaxed);
    }

    /// Counts a Grafana annotation written, or one that failed.
    pub fn annotation(&self, written: bool) {
        if written {
            self.annotations.fetch_add(1, Ordering::Relaxed);
        } else {
            self.annotation_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a verification started by an alert.
    pub fn verification(&self) {
        self.verifications.fetch_add(1, Ordering::Relaxed);
    }

    /// Records how long a request on `route` took.
    pub fn observe(&self, route: &'static str, took: Duration) {
        let seconds = took.as_secs_f64();
        let mut durations = self.durations.lock().expect("not poisoned");
        let histogram = durations.entry(route).or_default();
        for (bucket, bound) in histogram.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    /// The exposition, with the gauges read from the state now.
    pub fn render(&self, firing: usize, gate_open: bool, unknown_groups: usize) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "# HELP summit_slo_webhooks_total Alertmanager webhook deliveries by outcome.\n# TYPE summit_slo_webhooks_total counter"
        );
        for (outcome, count) in Outcome::ALL.iter().zip(&self.webhooks) {
            let _ = writeln!(
                text,
                "summit_slo_webhooks_total{{outcome=\"{}\"}} {}",
                outcome.name(),
                count.load(Ordering::Relaxed)
            );
        }
        let counter = |text: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                text,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            &mut text,
            "summit_slo_webhook_duplicates_total",
            "Deliveries that changed nothing (retries, HA peers' copies).",
            self.webhooks[1].load(Ordering::Relaxed),
        );
        counter(
            &mut text,
            "summit_slo_truncated_alerts_total",
            "Alerts left out of notifications (truncatedAlerts).",
            self.truncated_alerts.load(Ordering::Relaxed),
        );
        counter(
            &mut text,
            "summit_slo_annotations_total",
            "Grafana annotations written.",
            self.annotations.load(Ordering::Relaxed),
        );
        counter(
            &mut text,
            "summit_slo_annotation_errors_total",
            "Grafana annotations that could not be written.",
            self.annotation_errors.load(Ordering::Relaxed),
        );
        counter(
            &mut text,
            "summit_slo_alert_verifications_total",
            "SLO verifications started by alerts.",
            self.verifications.load(Ordering::Relaxed),
        );
        let gauge = |text: &mut String, name: &str, help: &str, value: usize| {
            let _ = writeln!(
                text,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        };
        gauge(
            &mut text,
            "summit_slo_firing_alerts",
            "Alerts firing now.",
            firing,
        );
        gauge(
            &mut text,
            "summit_slo_gate_open",
            "1 when the release gate is open.",
            usize::from(gate_open),
        );
        gauge(
            &mut text,
            "summit_slo_unknown_groups",
            "Alert groups whose last notification left alerts out.",
            unknown_groups,
        );
        let _ = writeln!(
            text,
            "# HELP summit_slo_request_duration_seconds Time to answer a request, by route.\n# TYPE summit_slo_request_duration_seconds histogram"
        );
        let durations = self.durations.lock().expect("not poisoned");
        for (route, histogram) in durations.iter() {
            for (bucket, bound) in histogram.buckets.iter().zip(BUCKETS) {
                let _ = writeln!(
                    text,
                    "summit_slo_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {bucket}"
                );
            }
            let _ = writeln!(
                text,
                "summit_slo_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\nsummit_slo_request_duration_seconds_count{{route=\"{route}\"}} {}\nsummit_slo_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                histogram.count, histogram.count, histogram.sum
            );
        }
        text
    }
}
