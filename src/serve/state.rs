//! What the receiver knows: every alert by fingerprint, and the groups
//! whose last notification left alerts out. Applying a notification is
//! idempotent and order-tolerant, because Alertmanager retries deliveries
//! and HA peers send the same notification more than once, sometimes late:
//! an older state never overwrites a newer one, and a repeat changes
//! nothing.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::payload::{Alert, Notification, Status};

/// An alert as last known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    /// The alert as last sent.
    pub alert: Alert,
    /// The group it came in.
    pub group_key: String,
    /// When that notification was received.
    pub received_at: Timestamp,
}

/// A group whose last notification left alerts out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncation {
    /// How many were left out.
    pub alerts: u64,
    /// When that notification was received.
    pub received_at: Timestamp,
}

/// The receiver's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Every alert seen, by fingerprint (resolved ones until pruned).
    pub alerts: BTreeMap<String, Known>,
    /// Groups with alerts of unknown state, by group key.
    pub truncated: BTreeMap<String, Truncation>,
    /// Notifications accepted since the state began.
    pub notifications: u64,
}

/// How one alert of a notification changed the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// It started firing (first seen, or a new start after resolving).
    Fired,
    /// It resolved.
    Resolved,
}

/// What applying a notification did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Alerts that fired or resolved, with their new state.
    pub transitions: Vec<(Transition, Alert)>,
    /// True when nothing changed: a repeated or stale delivery.
    pub duplicate: bool,
}

impl State {
    /// Applies a notification received at `received_at`.
    pub fn apply(&mut self, notification: &Notification, received_at: Timestamp) -> Applied {
        self.notifications += 1;
        let mut applied = Applied::default();
        let mut changed = false;
        for alert in &notification.alerts {
            let known = self.alerts.get(&alert.fingerprint);
            if known.is_some_and(|known| !is_newer(alert, &known.alert)) {
                continue;
            }
            let transition = match (known.map(|known| known.alert.status), alert.status) {
                (Some(Status::Firing), Status::Firing)
                    if known.is_some_and(|known| known.alert.starts_at == alert.starts_at) =>
                {
                    None
                }
                (_, Status::Firing) => Some(Transition::Fired),
                (Some(Status::Resolved), Status::Resolved) => None,
                (_, Status::Resolved) => Some(Transition::Resolved),
            };
            if let Some(transition) = transition {
                applied.transitions.push((transition, alert.clone()));
            }
            self.alerts.insert(
                alert.fingerprint.clone(),
                Known {
                    alert: alert.clone(),
                    group_key: notification.group_key.clone(),
                    received_at,
                },
            );
            changed = true;
        }
        // Alerts left out of a notification are unknown, never resolved;
        // a later complete notification of the group settles them.
        if notification.truncated_alerts > 0 {
            let previous = self.truncated.insert(
                notification.group_key.clone(),
                Truncation {
                    alerts: notification.truncated_alerts,
                    received_at,
                },
            );
            changed |=
                previous.is_none_or(|previous| previous.alerts != notification.truncated_alerts);
        } else {
            changed |= self.truncated.remove(&notification.group_key).is_some();
        }
        applied.duplicate = !changed;
        applied
    }

    /// The alerts firing now.
    pub fn firing(&self) -> impl Iterator<Item = &Known> {
        self.alerts
            .values()
            .filter(|known| known.alert.status == Status::Firing)
    }

    /// Forgets alerts resolved before `before`; returns how many.
    pub fn prune(&mut self, before: Timestamp) -> usize {
        let count = self.alerts.len();
        self.alerts.retain(|_, known| {
            known.alert.status == Status::Firing
                || known.alert.ends_at.is_none_or(|ends| ends >= before)
        });
        count - self.alerts.len()
    }
}

/// True when `incoming` says something `stored` does not: a later start
/// (a new firing of the same label set), or at the same start a resolution
/// of a firing alert, a later end, or changed annotations. A firing alert
/// never reopens one resolved at the same start: that is a late delivery.
fn is_newer(incoming: &Alert, stored: &Alert) -> bool {
    use std::cmp::Ordering;
    match incoming.starts_at.cmp(&stored.starts_at) {
        Ordering::Greater => true,
        Ordering::Less => false,
        Ordering::Equal => match (stored.status, incoming.status) {
            (Status::Firing, Status::Resolved) => true,
            (Status::Resolved, Status::Firing) => false,
            (Status::Resolved, Status::Resolved) => incoming.ends_at > stored.ends_at,
            (Status::Firing, Status::Firing) => {
                incoming.annotations != stored.annotations || incoming.labels != stored.labels
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(status: Status, starts: i64, ends: Option<i64>) -> Alert {
        Alert {
            fingerprint: "f1".into(),
            status,
            labels: BTreeMap::from([("alertname".into(), "Down".into())]),
            annotations: BTreeMap::new(),
            starts_at: Timestamp::from_second(starts).expect("valid"),
            ends_at: ends.map(|ends| Timestamp::from_second(ends).expect("valid")),
        }
    }

    fn notification(alerts: Vec<Alert>, truncated: u64) -> Notification {
        Notification {
            receiver: "r".into(),
            group_key: "g".into(),
            status: Status::Firing,
            alerts,
            truncated_alerts: truncated,
            external_url: String::new(),
        }
    }

    #[test]
    fn repeats_and_late_deliveries_change_nothing() {
        let now = Timestamp::from_second(2_000_000_000).expect("valid");
        let mut state = State::default();
        let firing = notification(vec![alert(Status::Firing, 100, None)], 0);
        let resolved = notification(vec![alert(Status::Resolved, 100, Some(200))], 0);
        assert_eq!(state.apply(&firing, now).transitions.len(), 1);
        assert!(state.apply(&firing, now).duplicate, "a retry");
        assert_eq!(
            state.apply(&resolved, now).transitions[0].0,
            Transition::Resolved
        );
        assert!(
            state.apply(&firing, now).duplicate,
            "a late firing delivery"
        );
        assert_eq!(state.firing().count(), 0);
        let again = notification(vec![alert(Status::Firing, 300, None)], 0);
        assert_eq!(state.apply(&again, now).transitions[0].0, Transition::Fired);
        assert_eq!(state.firing().count(), 1);
    }

    #[test]
    fn truncated_groups_stay_unknown_until_a_complete_notification() {
        let now = Timestamp::from_second(2_000_000_000).expect("valid");
        let mut state = State::default();
        state.apply(
            &notification(vec![alert(Status::Firing, 100, None)], 3),
            now,
        );
        assert_eq!(state.truncated["g"].alerts, 3);
        assert!(
            state
                .apply(
                    &notification(vec![alert(Status::Firing, 100, None)], 3),
                    now
                )
                .duplicate
        );
        state.apply(
            &notification(vec![alert(Status::Firing, 100, None)], 0),
            now,
        );
        assert!(state.truncated.is_empty());
    }
}
