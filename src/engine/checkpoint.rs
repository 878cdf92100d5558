//! Approval at checkpoints: on a terminal, by `--yes`, or by pausing.
//!
//! - On a terminal (stdin and stderr both terminals), wf shows what is being
//!   approved and asks.
//! - With `--yes`, the checkpoint is approved and recorded as approved by the
//!   current user via `--yes`.
//! - Otherwise nobody can be asked: the run pauses (exit code 3), its state
//!   saved in the run folder, the user's tree untouched.

use std::io::{BufRead, Write};

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
        let stdin = std::io::stdin();
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
            let mut line = String::new();
            let read = stdin.lock().read_line(&mut line);
            let answer = line.trim().to_ascii_lowercase();
            match (read, answer.as_str()) {
                (Ok(0), _) | (Err(_), _) => {
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
