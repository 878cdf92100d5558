//! Trust on first use for a task file that widens the sandbox.
//!
//! A task file comes with the repository, from whoever wrote it; `sandbox:
//! off`, `network: true` or an extra `read:`/`write:` root in it would let
//! its checks read the user's keys and send them out. So a run whose plan
//! widens the default sandbox ([`Widening`]) starts nothing — no check, no
//! command step, no MCP server — until the user approved that exact
//! widening, by one of:
//!
//! - **the terminal**: on a terminal (stdin and stderr), wf shows each
//!   grant and asks `[y]es / [n]o`; a no ends wf with exit 2, nothing ran;
//! - **`--trust-sandbox`**: for CI and other unattended runs (`wf batch
//!   --trust-sandbox` and `wf emit … --trust-sandbox` pass it to each run);
//! - **`--sandbox off` typed on the command line**: the user asked for it;
//!   it approves that one run (not remembered: the flag is typed again);
//! - **an earlier approval** of the same task-file content in the same
//!   repository, remembered (below).
//!
//! Otherwise wf exits with code 2 before anything runs, naming each grant
//! and the flag. The approval (who, how, when, what) is recorded in the
//! trace's `run_started` (`sandbox_approval`), and `wf plan` shows the
//! widening and whether it is approved.
//!
//! Approvals given at the terminal or with `--trust-sandbox` are
//! remembered outside the repository, in the user's state directory
//! ([`crate::sys::user_dirs::state_dir`], `0700`): one file
//! `trust/<key>`, the key a SHA-256 of the repository's canonical path
//! and the SHA-256 of the task file's bytes. A clone cannot ship one, an
//! edited task file (one byte) asks again, and so does another repository
//! with the same task file. The file also holds the widening approved; a
//! plan whose widening differs (another `$HOME`, say) asks again.
//!
//! Resume and replay pass through the same gate with the task file as it
//! is now: an approval remembered for it, `--trust-sandbox`, or the
//! terminal.

use crate::app::approver::Terminal;
use crate::engine::checkpoint::Decision;
use crate::error::Error;
use crate::plan::Plan;
use crate::plan::widening::WideningExt;
use crate::plan::widening::{Approval, Widening};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What the command line says about approving a widening.
#[derive(Debug, Clone, Copy, Default)]
pub struct Asked {
    /// `--trust-sandbox` was given.
    pub flag: bool,
    /// `--sandbox off` was typed (this run's approval of `off`).
    pub typed_off: bool,
    /// stdin and stderr are terminals: the user can be asked.
    pub interactive: bool,
}

/// The file a remembered approval is kept in.
#[derive(Debug, Serialize, Deserialize)]
struct Remembered {
    /// The repository's canonical path.
    repository: String,
    /// The task file, as given when approved (for people reading it).
    task: String,
    /// SHA-256 of the task file's bytes.
    task_sha256: String,
    /// The approval.
    approval: Approval,
}

/// The folder of remembered approvals, created `0700`.
fn folder() -> Result<PathBuf, Error> {
    let state = crate::sys::user_dirs::state_dir().map_err(Error::Usage)?;
    crate::sys::user_dirs::private(&state).map_err(Error::Usage)?;
    crate::sys::user_dirs::private(&state.join("trust")).map_err(Error::Usage)
}

fn canonical(root: &Path) -> PathBuf {
    root.canonicalize().unwrap_or_else(|_| root.to_path_buf())
}

/// The key of a task file's approvals in the repository at `root`.
fn key(root: &Path, task_sha256: &str) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut bytes = canonical(root).as_os_str().as_bytes().to_vec();
    bytes.push(0);
    bytes.extend_from_slice(task_sha256.as_bytes());
    crate::hash::sha256_hex(&bytes)
}

/// The approval remembered for the task file whose bytes are `source` in
/// the repository at `root`, when it approved exactly `widening`.
pub fn remembered(root: &Path, source: &str, widening: &Widening) -> Option<Approval> {
    let task_sha256 = crate::hash::sha256_hex(source.as_bytes());
    let path = folder().ok()?.join(key(root, &task_sha256));
    let text = std::fs::read_to_string(path).ok()?;
    let file: Remembered = serde_json::from_str(&text).ok()?;
    let same = file.task_sha256 == task_sha256
        && Path::new(&file.repository) == canonical(root)
        && file.approval.widening == *widening;
    same.then_some(Approval {
        remembered: true,
        ..file.approval
    })
}

/// Remembers `approval` for the task file `task` (bytes `source`) in the
/// repository at `root`: written whole (a temporary file renamed), `0600`.
fn remember(root: &Path, task: &str, source: &str, approval: &Approval) -> Result<(), Error> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let task_sha256 = crate::hash::sha256_hex(source.as_bytes());
    let dir = folder()?;
    let path = dir.join(key(root, &task_sha256));
    let file = Remembered {
        repository: canonical(root).display().to_string(),
        task: task.to_string(),
        task_sha256,
        approval: approval.clone(),
    };
    let text = serde_json::to_string_pretty(&file).expect("approvals serialize");
    let tmp = dir.join(format!(".{}.{}", key(root, "tmp"), std::process::id()));
    let cannot = |e| {
        Error::io(
            format!("cannot remember the approval in {}", dir.display()),
            e,
        )
    };
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .map_err(cannot)?;
    out.write_all(text.as_bytes())
        .and_then(|()| out.sync_all())
        .map_err(cannot)?;
    std::fs::rename(&tmp, &path).map_err(cannot)
}

/// The widening's lines, escaped for the terminal, one `  - ` item each.
fn listed(widening: &Widening) -> String {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    widening
        .lines(home.as_deref())
        .iter()
        .map(|l| format!("  - {}\n", crate::report::text::escape_controls(l)))
        .collect()
}

/// Approves `plan`'s widening, if it has one, or fails (exit 2) before
/// anything runs: see the module docs. `task` is the task file as given,
/// `source` its bytes and `root` the user's repository. On success
/// `plan.sandbox_approval` says how.
pub fn approve(
    plan: &mut Plan,
    root: &Path,
    task: &str,
    source: &str,
    asked: &Asked,
) -> Result<(), Error> {
    let widening = plan.widening();
    if widening.is_empty() {
        plan.sandbox_approval = None;
        return Ok(());
    }
    let root = root.to_path_buf();
    let fresh = |via: &str| Approval {
        widening: widening.clone(),
        by: crate::sys::git::current_user(&root),
        via: via.to_string(),
        at: crate::sys::clock::now_rfc3339(),
        remembered: false,
    };
    if asked.typed_off && widening.off {
        plan.sandbox_approval = Some(fresh("--sandbox off"));
        return Ok(());
    }
    if asked.flag {
        let approval = fresh("--trust-sandbox");
        remember(&root, task, source, &approval)?;
        plan.sandbox_approval = Some(approval);
        return Ok(());
    }
    if let Some(approval) = remembered(&root, source, &widening) {
        plan.sandbox_approval = Some(approval);
        return Ok(());
    }
    let shown_task = crate::report::text::escape_controls(task);
    if asked.interactive {
        let summary = format!(
            "wf: {shown_task} widens the sandbox its commands run in, beyond the default:\n{}\
             wf: approve it for this task file in this repository (asked again when the file changes)\n",
            listed(&widening)
        );
        let approver = Terminal {
            yes: false,
            interactive: true,
            color: false,
        };
        return match approver.ask(&root, "Run with this wider sandbox?", &summary, None) {
            Decision::Approved { .. } => {
                let approval = fresh("terminal");
                remember(&root, task, source, &approval)?;
                plan.sandbox_approval = Some(approval);
                Ok(())
            }
            Decision::Rejected { .. } => Err(Error::Usage(format!(
                "you did not approve the wider sandbox of {shown_task}; nothing ran"
            ))),
            Decision::Paused => Err(Error::Usage(format!(
                "interrupted before the wider sandbox of {shown_task} was approved; nothing ran"
            ))),
        };
    }
    Err(Error::Usage(format!(
        "{shown_task} widens the sandbox its commands run in, and you have not approved that \
         for this task file in this repository:\n{}nothing ran. Run wf on a terminal to be asked, \
         or pass --trust-sandbox to approve it (for CI; remembered until the task file changes); \
         `wf plan` shows it",
        listed(&widening)
    )))
}

/// For `wf plan` and listing MCP tools: the approval remembered for
/// `plan`'s widening, if any (`plan.sandbox_approval` set to it). `false`
/// when the plan widens the sandbox and that is not approved yet.
pub fn status(plan: &mut Plan, source: &str) -> bool {
    let widening = plan.widening();
    if widening.is_empty() {
        return true;
    }
    plan.sandbox_approval = remembered(&plan.root, source, &widening);
    plan.sandbox_approval.is_some()
}

/// Whether an approval is remembered for the task file whose bytes are
/// `source` in the repository at `root`, whatever it widened (`wf lock`:
/// the same bytes plan the same sandbox).
pub fn any_remembered(root: &Path, source: &str) -> bool {
    let task_sha256 = crate::hash::sha256_hex(source.as_bytes());
    folder()
        .map(|d| d.join(key(root, &task_sha256)).is_file())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_repository_and_task_bytes() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let h = crate::hash::sha256_hex(b"task");
        assert_ne!(key(a.path(), &h), key(b.path(), &h));
        assert_ne!(
            key(a.path(), &h),
            key(a.path(), &crate::hash::sha256_hex(b"task "))
        );
        assert_eq!(key(a.path(), &h), key(a.path(), &h));
    }
}
