//! One repository's run: an ordinary `wf run --json` of this same binary
//! (`std::env::current_exe`) in the repository, as a child process.
//!
//! - Its events come on its stdout, one JSON object a line (the trace's
//!   records); the batch reads `run_started` (the run id) and
//!   `run_finished` (status, reason, files, cost) and skips the rest
//!   unparsed. Its stderr goes to the repository's log in the batch folder.
//! - It gets the batch's environment plus [`crate::batch_share::ENV`], so
//!   its model requests share the batch's cap, slots and back-off.
//! - It leads its own process group (a Ctrl-C at the terminal reaches the
//!   batch only), and the batch passes a signal on to each child's group
//!   ([`Children::signal_all`]), so every run ends as a run does on a
//!   signal: recorded as interrupted, its commands stopped.
//! - Should the batch itself die (`kill -9`), the kernel sends each child
//!   `SIGHUP` (`PR_SET_PDEATHSIG`). It sends it when the thread that
//!   started the child dies, and again each time the child is handed on
//!   from a dying thread of the batch to another, so a child may get
//!   several. `wf run` counts a `SIGHUP` after the first signal as nothing
//!   ([`crate::sys::signals`]; a second `SIGTERM` would mean "exit at
//!   once"), so each run stops as on one Ctrl-C: every command it started
//!   killed, `run_interrupted` and `run_finished` (`interrupted`) in its
//!   trace, and the batch run again starts the repository afresh. No run
//!   outlives the batch.
//! - A second signal to the batch ends it at once, and passes `SIGTERM` on
//!   to every run again first, so they exit at once too
//!   ([`crate::sys::signals::on_exit_at_once`]).

use std::collections::BTreeSet;
use std::io::BufRead;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

/// The children running now (their pids, each its group's id); clones
/// share them.
#[derive(Debug, Default, Clone)]
pub struct Children {
    pids: Arc<Mutex<BTreeSet<i32>>>,
}

impl Children {
    /// Sends `signal` to every child's process group.
    pub fn signal_all(&self, signal: libc::c_int) {
        for pid in self.pids.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            // SAFETY: killpg only sends a signal; a stale group is ESRCH.
            unsafe {
                libc::killpg(*pid, signal);
            }
        }
    }
}

/// What a child reported.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// Its run started, with this id.
    Started(String),
    /// Its run finished.
    Finished {
        /// The run's status.
        status: String,
        /// Why, when it did not succeed.
        reason: Option<String>,
        /// Files its change touches.
        files_changed: usize,
        /// What it cost, when the prices are known.
        cost_usd: Option<f64>,
    },
}

/// How to start one child.
pub struct Spawn<'a> {
    /// `wf run` and its arguments, after the program.
    pub args: Vec<String>,
    /// The repository.
    pub cwd: &'a Path,
    /// The batch folder (for [`crate::batch_share::ENV`]).
    pub batch_dir: &'a Path,
    /// Where its stderr goes (appended).
    pub log: &'a Path,
}

/// Runs the child to its end, telling `seen` what it reports; its exit
/// code (`None` when a signal ended it).
pub fn run(
    spawn: &Spawn<'_>,
    children: &Children,
    seen: &mut dyn FnMut(Seen),
) -> std::io::Result<Option<i32>> {
    let exe = std::env::current_exe()?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(spawn.log)?;
    let parent = std::process::id() as libc::pid_t;
    let mut cmd = Command::new(exe);
    cmd.args(&spawn.args)
        .current_dir(spawn.cwd)
        .env(crate::batch_share::ENV, spawn.batch_dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .process_group(0);
    // SAFETY: between fork and exec only async-signal-safe calls (prctl,
    // getppid, _exit), touching no memory of the parent.
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGHUP);
            // The batch died before the line above: no signal would come.
            if libc::getppid() != parent {
                libc::_exit(130);
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let pid = child.id() as i32;
    children
        .pids
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(pid);
    // Interrupted while it started: the signal was passed on without it.
    if crate::sys::signals::interrupted() {
        // SAFETY: as in `signal_all`.
        unsafe {
            libc::killpg(pid, super::passed_on());
        }
    }
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in std::io::BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if let Some(s) = parse(&line) {
            seen(s);
        }
    }
    let status = child.wait();
    children
        .pids
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&pid);
    Ok(status?.code())
}

/// The event of one line of `wf run --json` that the batch keeps.
fn parse(line: &str) -> Option<Seen> {
    // Most lines are other events: not parsed at all.
    if !line.contains("\"kind\":\"run_started\"") && !line.contains("\"kind\":\"run_finished\"") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    match value["kind"].as_str()? {
        "run_started" => Some(Seen::Started(value["run_id"].as_str()?.to_string())),
        "run_finished" => Some(Seen::Finished {
            status: value["status"].as_str()?.to_string(),
            reason: value["reason"].as_str().map(str::to_string),
            files_changed: value["files_changed"].as_array().map_or(0, Vec::len),
            cost_usd: value["totals"]["cost_usd"].as_f64(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_start_and_the_end_of_a_run() {
        assert_eq!(
            parse(r#"{"seq":0,"kind":"run_started","run_id":"r1","inputs":{}}"#),
            Some(Seen::Started("r1".into()))
        );
        assert_eq!(
            parse(
                r#"{"seq":9,"kind":"run_finished","status":"checks_failed","reason":"x","files_changed":["a","b"],"totals":{"cost_usd":0.5}}"#
            ),
            Some(Seen::Finished {
                status: "checks_failed".into(),
                reason: Some("x".into()),
                files_changed: 2,
                cost_usd: Some(0.5)
            })
        );
        assert_eq!(
            parse(r#"{"seq":3,"kind":"tool_result","output":"run_finished"}"#),
            None
        );
    }
}
