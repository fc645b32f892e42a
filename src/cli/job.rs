//! Job control for the load test, as a shell does it: the command gets a
//! process group of its own, and when summit-slo runs in the foreground of
//! a terminal, that group is made the terminal's foreground while the
//! command runs. The command can then read the terminal and set its modes
//! (Locust does both on a terminal; a background group is stopped by
//! SIGTTIN or SIGTTOU instead), and a Ctrl-C reaches the command once,
//! from the terminal. Signals sent to summit-slo itself are passed on to
//! the whole group.

use tokio::process::Command;

/// The terminal lent to the load test; dropping it takes the terminal back.
pub struct Terminal {
    /// SIGTTOU's disposition before summit-slo ignored it.
    previous_ttou: libc::sighandler_t,
    /// The terminal's modes before the command ran, restored after it: a
    /// load test that turns echo off and dies leaves the terminal usable.
    modes: Option<libc::termios>,
}

/// Puts the command in its own process group and, when summit-slo owns
/// the foreground of the terminal on stdin, arranges for the command to
/// take it. Returns the lent terminal, to be given back when the command
/// has ended.
pub fn prepare(command: &mut Command) -> Option<Terminal> {
    command.process_group(0);
    // SAFETY: isatty, tcgetpgrp and getpgrp only read process state.
    let in_foreground = unsafe { libc::isatty(0) == 1 && libc::tcgetpgrp(0) == libc::getpgrp() };
    // Ignored while the terminal is lent: summit-slo, in the background,
    // may still print progress (with `stty tostop`) and must take the
    // terminal back, both of which would otherwise stop it.
    // SAFETY: setting a signal's disposition to SIG_IGN is async-signal-safe
    // and has no memory effects.
    let previous_ttou =
        in_foreground.then(|| unsafe { libc::signal(libc::SIGTTOU, libc::SIG_IGN) });
    // SAFETY: the closure runs in the forked child before exec and only
    // makes async-signal-safe calls: signal, tcsetpgrp, getpid.
    unsafe {
        command.pre_exec(move || {
            if let Some(previous) = previous_ttou {
                libc::tcsetpgrp(0, libc::getpid());
                libc::signal(libc::SIGTTOU, previous);
            }
            // Ctrl-Z would stop the load test while its window runs on,
            // and leave the terminal with a stopped group; it is ignored.
            libc::signal(libc::SIGTSTP, libc::SIG_IGN);
            Ok(())
        });
    }
    previous_ttou.map(|previous_ttou| {
        // SAFETY: tcgetattr writes a termios for the terminal on stdin into
        // storage of the right size.
        let modes = unsafe {
            let mut modes = std::mem::zeroed::<libc::termios>();
            (libc::tcgetattr(0, &mut modes) == 0).then_some(modes)
        };
        Terminal {
            previous_ttou,
            modes,
        }
    })
}

impl Terminal {
    /// Gives the terminal's foreground to the started command's group;
    /// the child does the same itself, and whichever runs first wins the
    /// race against the command's first read of the terminal.
    pub fn lend_to(&self, pid: i32) {
        // SAFETY: tcsetpgrp on stdin with the child's group has no memory
        // effects; SIGTTOU is ignored.
        unsafe {
            libc::tcsetpgrp(0, pid);
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // SAFETY: as above; SIGTTOU is still ignored while the foreground
        // is taken back, then restored.
        unsafe {
            libc::tcsetpgrp(0, libc::getpgrp());
            if let Some(modes) = &self.modes {
                libc::tcsetattr(0, libc::TCSADRAIN, modes);
            }
            libc::signal(libc::SIGTTOU, self.previous_ttou);
        }
    }
}

/// Sends `signal` to every process in the command's group, as a terminal
/// would.
pub fn signal_group(pid: i32, signal: i32) {
    // SAFETY: kill(2) on the group of a child this process started, with
    // a valid signal number, has no memory effects.
    unsafe {
        libc::kill(-pid, signal);
    }
}
