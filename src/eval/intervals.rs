//! Which scrape interval applies to an SLO: the one given on the command
//! line, the one a recording's spacing shows, or the longest among the
//! server's targets whose labels the SLO's selectors could match.

use std::time::Duration;

use crate::prometheus::Labels;
use crate::spec::Slo;

/// What is known about scrape intervals.
#[derive(Debug, Clone, Default)]
pub enum ScrapeIntervals {
    /// Nothing: windows are not checked against an interval.
    #[default]
    Unknown,
    /// One interval for every SLO.
    Fixed(Duration),
    /// The server's active targets: their labels and intervals.
    PerTarget(Vec<(Labels, Duration)>),
}

impl ScrapeIntervals {
    /// The interval for one SLO: for targets, the longest among those whose
    /// labels do not contradict any of the SLO's matchers (a matcher on a
    /// label the target does not carry, such as `code`, cannot rule it out).
    pub fn for_slo(&self, slo: &Slo) -> Option<Duration> {
        match self {
            Self::Unknown => None,
            Self::Fixed(interval) => Some(*interval),
            Self::PerTarget(targets) => targets
                .iter()
                .filter(|(labels, _)| could_read(slo, |name| labels.get(name).map(String::as_str)))
                .map(|(_, interval)| *interval)
                .max(),
        }
    }

    /// The longest interval known, for waiting on the last scrapes.
    pub fn longest(&self) -> Option<Duration> {
        match self {
            Self::Unknown => None,
            Self::Fixed(interval) => Some(*interval),
            Self::PerTarget(targets) => targets.iter().map(|(_, interval)| *interval).max(),
        }
    }
}

/// True when some selector of the SLO could match series of a target with
/// these labels: every matcher on a label the target carries accepts its
/// value (`label` answers `None` for labels the target does not set, which
/// its series may still carry, such as `code`).
pub fn could_read<'a>(slo: &Slo, label: impl Fn(&str) -> Option<&'a str>) -> bool {
    slo.selectors().iter().any(|selector| {
        selector
            .matchers
            .iter()
            .all(|matcher| label(&matcher.name).is_none_or(|value| matcher.matches(value)))
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn an_slo_takes_the_interval_of_the_targets_it_can_read() {
        let text = "service: w\nslos:\n  - name: x\n    indicator: {rate: {counter: x_total, selector: '{job=\"w\", code=\"500\"}'}}\n    objective: \">= 1/s\"\n";
        let services = crate::spec::load_text(Path::new("slo.yaml"), text)
            .expect("valid")
            .services;
        let slo = &services[0].slos[0];
        let targets = ScrapeIntervals::PerTarget(vec![
            (
                labels(&[("job", "w"), ("instance", "a:1")]),
                Duration::from_secs(15),
            ),
            (
                labels(&[("job", "batch"), ("instance", "b:1")]),
                Duration::from_secs(600),
            ),
        ]);
        assert_eq!(
            targets.for_slo(slo),
            Some(Duration::from_secs(15)),
            "the batch job's 10m interval is not this SLO's; code is not a target label"
        );
        assert_eq!(targets.longest(), Some(Duration::from_secs(600)));
        assert_eq!(ScrapeIntervals::Unknown.for_slo(slo), None);
    }
}
