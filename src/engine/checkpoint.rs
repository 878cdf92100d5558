//! Approval at checkpoints: on a terminal, by `--yes`, or by pausing.
//!
//! - On a terminal (stdin and stderr both terminals), wf shows what is being
//!   approved and asks.
//! - With `--yes`, the checkpoint is approved and recorded as approved by the
//!   current user via `--yes`.
//! - Otherwise nobody can be asked: the run pauses (exit code 3), its state
//!   saved in the run folder, the user's tree untouched.
//! - Interrupted at the prompt (Ctrl-C; see [`crate::sys::signals`]): the
//!   run pauses too, as if nobody could be asked. The answer is read by a
//!   helper thread (one for the whole process, so no line goes to a prompt
//!   that was given up); the prompt waits for its next line and looks at
//!   the interrupted flag every 50 ms.

use std::io::{BufRead, Write};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The next line on stdin: `Ok(None)` at its end; `Err(())` when a signal
/// interrupted the wait.
fn next_line() -> Result<Option<String>, ()> {
    static LINES: OnceLock<Mutex<Receiver<Option<String>>>> = OnceLock::new();
    let lines = LINES.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            loop {
                let mut line = String::new();
                let line = match stdin.lock().read_line(&mut line) {
                    Ok(0) | Err(_) => None,
                    Ok(_) => Some(line),
                };
                let end = line.is_none();
                if tx.send(line).is_err() || end {
                    return;
                }
            }
        });
        Mutex::new(rx)
    });
    let lines = lines.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if crate::sys::signals::interrupted() {
            return Err(());
        }
        match lines.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => return Ok(line),
            Err(RecvTimeoutError::Timeout) => {}
            // The reader is gone: stdin ended.
            Err(RecvTimeoutError::Disconnected) => return Ok(None),
        }
    }
}

/// A decision at a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Yes.
    Approved {
        /// Who.
        by: String,
        /// How: `terminal` or `--yes`.
        via: String,
    },
    /// No.
    Rejected {
        /// Who.
        by: String,
        /// How.
        via: String,
    },
    /// Nobody to ask.
    Paused,
}

impl Decision {
    /// The decision a recorded checkpoint event states, if it states one.
    pub fn of(event: &crate::record::event::Event) -> Option<Decision> {
        use crate::record::event::{CheckpointState, Event};
        let Event::Checkpoint { state, by, via, .. } = event else {
            return None;
        };
        let (by, via) = (
            by.clone().unwrap_or_default(),
            via.clone().unwrap_or_default(),
        );
        match state {
            CheckpointState::Approved => Some(Decision::Approved { by, via }),
            CheckpointState::Rejected => Some(Decision::Rejected { by, via }),
            CheckpointState::Paused => Some(Decision::Paused),
            CheckpointState::Reached => None,
        }
    }
}

/// How approvals are obtained in this process.
#[derive(Debug, Clone, Copy)]
pub struct Approver {
    /// `--yes` was given.
    pub yes: bool,
    /// stdin and stderr are terminals.
    pub interactive: bool,
}

pub use crate::sys::git::current_user;

impl Approver {
    /// Asks about `summary` (shown first). `full`, when given, is shown when
    /// the person answers `d`.
    pub fn decide(
        &self,
        root: &std::path::Path,
        question: &str,
        summary: &str,
        full: Option<&str>,
    ) -> Decision {
        if self.yes {
            return Decision::Approved {
                by: current_user(root),
                via: "--yes".into(),
            };
        }
        if !self.interactive {
            return Decision::Paused;
        }
        let stderr = std::io::stderr();
        let mut err = stderr.lock();
        let _ = write!(err, "{summary}");
        loop {
            let options = if full.is_some() {
                "[y]es / [n]o / [d]iff"
            } else {
                "[y]es / [n]o"
            };
            let _ = write!(err, "{question} {options}: ");
            let _ = err.flush();
            let Ok(read) = next_line() else {
                let _ = writeln!(err, "\nwf: interrupted at the prompt: the run pauses here");
                return Decision::Paused;
            };
            let answer = read
                .as_deref()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            match (read, answer.as_str()) {
                (None, _) => {
                    let _ = writeln!(err);
                    return Decision::Rejected {
                        by: current_user(root),
                        via: "terminal".into(),
                    };
                }
                (_, "y" | "yes") => {
                    return Decision::Approved {
                        by: current_user(root),
                        via: "terminal".into(),
                    };
                }
                (_, "n" | "no") => {
                    return Decision::Rejected {
                        by: current_user(root),
                        via: "terminal".into(),
                    };
                }
                (_, "d" | "diff") if full.is_some() => {
                    let _ = write!(err, "{}", full.unwrap_or_default());
                }
                _ => {}
            }
        }
    }
}
