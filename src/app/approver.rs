//! wf's own [`Approver`]: a checkpoint shown and asked on a terminal, by
//! `--yes`, or by pausing. The engine hands it a checkpoint as data (see
//! [`crate::engine::checkpoint`]); what a person sees of it is rendered
//! here, through [`crate::report::diff`] and [`crate::report::review`].
//!
//! - On a terminal (stdin and stderr both terminals), wf shows what is being
//!   approved and asks.
//! - With `--yes`, the checkpoint is approved and recorded as approved by the
//!   current user via `--yes`.
//! - Otherwise nobody can be asked: what waits is shown all the same (for
//!   whoever decides it later), and the run pauses (exit code 3), its state
//!   saved in the run folder, the user's tree untouched.
//! - Interrupted at the prompt (Ctrl-C; see [`crate::sys::signals`]): the
//!   run pauses too, as if nobody could be asked. The answer is read by a
//!   helper thread (one for the whole process, so no line goes to a prompt
//!   that was given up); the prompt waits for its next line and looks at
//!   the interrupted flag every 50 ms.

use crate::engine::checkpoint::{Approver, Change, Checkpoint, Decision, Subject};
use crate::report::diff::{self, PREVIEW_LINES};
use crate::report::review;
use crate::sys::git::current_user;
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Checkpoints decided on this process's terminal.
#[derive(Debug, Clone, Copy)]
pub struct Terminal {
    /// `--yes` was given.
    pub yes: bool,
    /// stdin and stderr are terminals.
    pub interactive: bool,
    /// Color the diff.
    pub color: bool,
}

impl Approver for Terminal {
    fn decide(&mut self, checkpoint: &Checkpoint<'_>) -> Decision {
        let (question, summary, full) = shown(checkpoint, self.color);
        if !self.yes && !self.interactive {
            // Nobody to ask: what waits is shown for whoever decides later.
            err!("{summary}");
        }
        self.ask(checkpoint.root, &question, &summary, full.as_deref())
    }

    fn dry_run(&mut self, change: &Change, kept: &Path) {
        err!(
            "{}\n{}\n{}",
            review::block(&change.callouts),
            diff::stat(&change.patch),
            diff::patch(&change.patch, Some(PREVIEW_LINES), self.color)
        );
        err!(
            "Dry run: the change was not applied. The whole patch is in {}\n",
            crate::report::text::escape_line(&kept.to_string_lossy())
        );
    }
}

impl Terminal {
    /// Asks about `summary` (shown first). `full`, when given, is shown when
    /// the person answers `d`.
    pub fn ask(&self, root: &Path, question: &str, summary: &str, full: Option<&str>) -> Decision {
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

/// What a person is asked at `checkpoint`: the question, the summary shown
/// first, and the whole diff (`d`) when it approves a change.
pub fn shown(checkpoint: &Checkpoint<'_>, color: bool) -> (String, String, Option<String>) {
    match checkpoint.subject {
        Subject::Plan(text) => (
            "Approve this plan?".to_string(),
            format!(
                "\nThe model's plan:\n\n{}\n\n",
                indent(&crate::report::text::escape_controls(text))
            ),
            None,
        ),
        Subject::Step(change) => {
            let id = checkpoint.step.unwrap_or_default();
            let changes = if change.patch.is_empty() {
                "  (no changes yet)\n".to_string()
            } else {
                format!(
                    "{}{}\n{}",
                    review::block(&change.callouts),
                    diff::stat(&change.patch),
                    diff::patch(&change.patch, Some(PREVIEW_LINES), color)
                )
            };
            (
                format!("Approve the changes of step `{id}` and go on?"),
                format!("\nThe changes so far, after step `{id}`:\n{changes}\n"),
                Some(diff::patch(&change.patch, None, color)),
            )
        }
        Subject::Apply { change, unconfined } => {
            let unconfined = if unconfined {
                "\nWARNING: the sandbox was OFF: this run's checks, command steps and shell \
                 calls ran unconfined, as you, and could have changed anything you can.\n"
            } else {
                ""
            };
            (
                "Apply this change to your tree?".to_string(),
                format!(
                    "{unconfined}{}\nThe run's change:\n{}\n{}\n",
                    review::block(&change.callouts),
                    diff::stat(&change.patch),
                    diff::patch(&change.patch, Some(PREVIEW_LINES), color)
                ),
                Some(diff::patch(&change.patch, None, color)),
            )
        }
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

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
