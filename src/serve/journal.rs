//! Durability for the receiver's state: an append-only journal of accepted
//! notifications, one JSON line each, written and fsynced before the
//! webhook is acknowledged, plus a snapshot the journal is folded into
//! from time to time.
//!
//! Why a journal rather than a database: the state is small (the alerts
//! open now), the write is one append and one fsync, and recovery is
//! "load the snapshot, apply the journal", which the state's idempotent
//! `apply` makes safe even when a crash repeats part of it. A crash in the
//! middle of an append leaves a torn last line; it was never acknowledged
//! (the fsync had not returned), so it is cut off. A damaged line anywhere
//! else is refused: it held an acknowledged notification.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::payload::Notification;
use super::state::State;

const JOURNAL: &str = "journal.jsonl";
const SNAPSHOT: &str = "state.json";
const LOCK: &str = "lock";

/// One accepted notification.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    received_at: Timestamp,
    notification: Notification,
}

/// The journal of one state directory, locked for this process.
#[derive(Debug)]
pub struct Journal {
    directory: PathBuf,
    file: File,
    /// Records since the last snapshot.
    pub records: usize,
    _lock: File,
}

/// What opening found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Records replayed on top of the snapshot.
    pub replayed: usize,
    /// True when a torn last line (an unacknowledged write) was cut off.
    pub torn: bool,
}

impl Journal {
    /// Opens (creating) the state directory, takes its lock, and recovers
    /// the state: the snapshot, then every journal record.
    pub fn open(directory: &Path) -> Result<(Self, State, Recovered), String> {
        std::fs::create_dir_all(directory)
            .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
        let lock = lock(directory)?;
        let mut state = match std::fs::read(directory.join(SNAPSHOT)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| {
                format!(
                    "{} is damaged ({error}); restore it from a backup or move it away to start empty",
                    directory.join(SNAPSHOT).display()
                )
            })?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(error) => {
                return Err(format!(
                    "cannot read {}: {error}",
                    directory.join(SNAPSHOT).display()
                ));
            }
        };
        let path = directory.join(JOURNAL);
        let recovered = replay(&path, &mut state)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
        Ok((
            Self {
                directory: directory.to_path_buf(),
                file,
                records: recovered.replayed,
                _lock: lock,
            },
            state,
            recovered,
        ))
    }

    /// Appends a notification and waits until it is on disk.
    pub fn record(
        &mut self,
        notification: &Notification,
        received_at: Timestamp,
    ) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(&Record {
            received_at,
            notification: notification.clone(),
        })
        .map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()?;
        self.records += 1;
        Ok(())
    }

    /// Folds the journal into a new snapshot of `state` and empties it.
    pub fn compact(&mut self, state: &State) -> std::io::Result<()> {
        let snapshot = self.directory.join(SNAPSHOT);
        write_durably(
            &snapshot,
            &serde_json::to_vec(state).map_err(std::io::Error::other)?,
        )?;
        let journal = self.directory.join(JOURNAL);
        write_durably(&journal, b"")?;
        self.file = OpenOptions::new().append(true).open(&journal)?;
        self.records = 0;
        Ok(())
    }
}

/// Applies every complete journal line to `state`; cuts off a torn tail.
fn replay(path: &Path, state: &mut State) -> Result<Recovered, String> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Recovered::default());
        }
        Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
    };
    let mut reader = BufReader::new(file);
    let mut recovered = Recovered::default();
    let mut complete = 0u64;
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        if read == 0 {
            break;
        }
        number += 1;
        if line.last() != Some(&b'\n') {
            recovered.torn = true;
            break;
        }
        let record: Record = serde_json::from_slice(&line).map_err(|error| {
            format!(
                "{} line {number} is damaged ({error}); it held an acknowledged notification, so the \
                 receiver will not start without it",
                path.display()
            )
        })?;
        state.apply(&record.notification, record.received_at);
        complete += read as u64;
        recovered.replayed += 1;
    }
    if recovered.torn {
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|error| format!("cannot repair {}: {error}", path.display()))?;
        file.set_len(complete)
            .and_then(|()| file.sync_all())
            .map_err(|error| format!("cannot repair {}: {error}", path.display()))?;
    }
    Ok(recovered)
}

/// Replaces `path` with `bytes` so that a crash leaves the old or the new
/// file, never a mix: write a temporary file, fsync it, rename it over,
/// fsync the directory.
fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    let mut file = File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    if let Some(parent) = path.parent() {
        File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// Takes the directory's lock: two receivers on one state would each
/// overwrite what the other acknowledged.
fn lock(directory: &Path) -> Result<File, String> {
    let path = directory.join(LOCK);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
    // SAFETY: flock on a descriptor this function owns.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if locked != 0 {
        return Err(format!(
            "another summit-slo serve is using {}; give each receiver its own --state-dir",
            directory.display()
        ));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::payload::{Alert, Status};

    fn notification(status: Status) -> Notification {
        Notification {
            receiver: "r".into(),
            group_key: "g".into(),
            status,
            alerts: vec![Alert {
                fingerprint: "f".into(),
                status,
                labels: [("alertname".to_string(), "Down".to_string())].into(),
                annotations: Default::default(),
                starts_at: Timestamp::from_second(1_000).expect("valid"),
                ends_at: (status == Status::Resolved)
                    .then(|| Timestamp::from_second(2_000).expect("valid")),
            }],
            truncated_alerts: 0,
            external_url: String::new(),
        }
    }

    #[test]
    fn the_state_survives_a_restart_a_torn_tail_and_a_compaction() {
        let directory = tempfile::tempdir().expect("temp dir");
        let now = Timestamp::from_second(3_000).expect("valid");
        {
            let (mut journal, mut state, recovered) =
                Journal::open(directory.path()).expect("opens");
            assert_eq!(recovered, Recovered::default());
            journal
                .record(&notification(Status::Firing), now)
                .expect("written");
            state.apply(&notification(Status::Firing), now);
        }
        // A crash in the middle of the next append.
        let path = directory.path().join(JOURNAL);
        let mut file = OpenOptions::new().append(true).open(&path).expect("opens");
        file.write_all(b"{\"received_at\":\"2026").expect("written");
        drop(file);

        let (mut journal, state, recovered) = Journal::open(directory.path()).expect("reopens");
        assert_eq!(
            recovered,
            Recovered {
                replayed: 1,
                torn: true
            }
        );
        assert_eq!(state.firing().count(), 1);
        assert!(
            Journal::open(directory.path()).is_err(),
            "the directory is locked while a receiver holds it"
        );
        journal.compact(&state).expect("compacts");
        journal
            .record(&notification(Status::Resolved), now)
            .expect("written");
        drop(journal);

        let (_, state, recovered) = Journal::open(directory.path()).expect("reopens");
        assert_eq!(
            recovered,
            Recovered {
                replayed: 1,
                torn: false
            }
        );
        assert_eq!(state.firing().count(), 0);
        assert_eq!(state.alerts.len(), 1);
    }

    #[test]
    fn a_damaged_acknowledged_line_is_refused() {
        let directory = tempfile::tempdir().expect("temp dir");
        std::fs::write(directory.path().join(JOURNAL), "not json\n").expect("written");
        let error = Journal::open(directory.path()).expect_err("refused");
        assert!(error.contains("line 1 is damaged"), "{error}");
    }
}
