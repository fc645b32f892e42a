//! Job control for the load test, and who a signal came from.
//!
//! On a terminal whose foreground summit-slo holds, the command stays in
//! summit-slo's process group, so both are in the foreground: the command
//! can read the terminal and set its modes (Locust does both), and a Ctrl-C
//! or Ctrl-\ reaches both from the terminal at once. summit-slo then knows
//! the run was interrupted, even when the command exits 0 as Locust does,
//! and does not send the signal a second time. A signal another process
//! sends to summit-slo alone is passed on to the command.
//!
//! Elsewhere (CI, a background job) the command gets a process group of its
//! own, and every signal summit-slo receives is passed on to that group, so
//! a shell script's children stop with it.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use tokio::process::Command;

/// The signals passed on to the load test.
pub const FORWARDED: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Where the latest delivery of each forwarded signal came from, as
/// `ORIGIN_*` bits, set by a signal action and taken by [`Job::forward`].
static ORIGINS: [AtomicU8; FORWARDED.len()] = [const { AtomicU8::new(0) }; FORWARDED.len()];

/// Sent by the kernel: a terminal's Ctrl-C, Ctrl-\ or hangup, which reach
/// the whole foreground process group.
const ORIGIN_KERNEL: u8 = 1;
/// Sent by a process with kill(2), sigqueue(3) or tgkill(2): to summit-slo
/// alone.
const ORIGIN_PROCESS: u8 = 2;

/// The load test's place among the processes, for as long as it runs.
pub struct Job {
    /// Set when the command shares summit-slo's group on a terminal.
    terminal: Option<Terminal>,
}

/// What is changed while the command shares the terminal's foreground
/// group, and restored when it ends.
struct Terminal {
    /// SIGTSTP's disposition before summit-slo ignored it.
    previous_tstp: libc::sighandler_t,
    /// The terminal's modes before the command ran: a load test that turns
    /// echo off and dies leaves the terminal usable.
    modes: Option<libc::termios>,
}

/// Places the command (see the module's text) and starts telling apart
/// where signals come from. Call before spawning it.
pub fn prepare(command: &mut Command) -> Job {
    watch_origins();
    // SAFETY: isatty, tcgetpgrp and getpgrp only read process state.
    let in_foreground = unsafe { libc::isatty(0) == 1 && libc::tcgetpgrp(0) == libc::getpgrp() };
    // Ctrl-Z would stop the load test while its window runs on; it is
    // ignored by the command, and, sharing its group, by summit-slo.
    // SAFETY: the closure runs in the forked child before exec and only
    // calls signal, which is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGTSTP, libc::SIG_IGN);
            Ok(())
        });
    }
    if !in_foreground {
        command.process_group(0);
        return Job { terminal: None };
    }
    // SAFETY: setting a disposition to SIG_IGN has no memory effects;
    // tcgetattr writes a termios for stdin into storage of its size.
    let terminal = unsafe {
        let previous_tstp = libc::signal(libc::SIGTSTP, libc::SIG_IGN);
        let mut modes = std::mem::zeroed::<libc::termios>();
        let modes = (libc::tcgetattr(0, &mut modes) == 0).then_some(modes);
        Terminal {
            previous_tstp,
            modes,
        }
    };
    Job {
        terminal: Some(terminal),
    }
}

impl Job {
    /// Passes `signal`, just received, on to the command `pid` unless the
    /// command received it too, from the terminal.
    pub fn forward(&self, pid: i32, signal: i32) {
        let origin = FORWARDED
            .iter()
            .position(|forwarded| *forwarded == signal)
            .map_or(0, |index| ORIGINS[index].swap(0, Ordering::SeqCst));
        // SAFETY: kill(2) on a child this process started (or its group),
        // with a valid signal number, has no memory effects.
        unsafe {
            match &self.terminal {
                None => {
                    libc::kill(-pid, signal);
                }
                Some(_) if origin == ORIGIN_KERNEL => {}
                // From another process, or both a terminal's signal and
                // another process's (the command has only the first), or
                // of unknown origin: better twice than never.
                Some(_) => {
                    libc::kill(pid, signal);
                }
            }
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        let Some(terminal) = &self.terminal else {
            return;
        };
        // SAFETY: tcsetattr with modes read from the same terminal, and
        // restoring a disposition read earlier, have no memory effects.
        unsafe {
            if let Some(modes) = &terminal.modes {
                libc::tcsetattr(0, libc::TCSADRAIN, modes);
            }
            libc::signal(libc::SIGTSTP, terminal.previous_tstp);
        }
    }
}

/// Registers, once per process, an action that records where each
/// forwarded signal came from. It runs beside tokio's own handler, which
/// only wakes the task that calls [`Job::forward`], so the origin is
/// recorded before it is read.
fn watch_origins() {
    static REGISTERED: OnceLock<()> = OnceLock::new();
    REGISTERED.get_or_init(|| {
        for (index, signal) in FORWARDED.into_iter().enumerate() {
            let action = move |info: &libc::siginfo_t| {
                let origin = if info.si_code == libc::SI_KERNEL {
                    ORIGIN_KERNEL
                } else {
                    ORIGIN_PROCESS
                };
                ORIGINS[index].fetch_or(origin, Ordering::SeqCst);
            };
            // SAFETY: the action is async-signal-safe: it reads the siginfo
            // and updates an atomic, nothing else.
            let registered = unsafe { signal_hook_registry::register_sigaction(signal, action) };
            if let Err(error) = registered {
                tracing::warn!(signal, %error, "cannot tell where signals come from");
            }
        }
    });
}
