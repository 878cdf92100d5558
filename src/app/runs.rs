//! `wf runs` and `wf show`: what was recorded, read from the run folders.
//!
//! Every run folder is listed. A run whose trace cannot be read or fails
//! verification is listed too, with the reason, never left out: an auditor
//! must see that something is wrong, not an empty list. A run whose trace
//! has no end is `running` while a wf process holds its lock, and
//! `interrupted` once none does (`wf resume` continues it).

use crate::error::Error;
use crate::record::event::Record;
use crate::record::store::{RunDir, Store};
use crate::record::summary::Summary;
use std::path::Path;

/// One run of `wf runs`.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The run id.
    pub id: String,
    /// Its summary, read from the trace (as far as it could be read).
    pub summary: Summary,
    /// Why the trace is not to be trusted, when it is not.
    pub problem: Option<String>,
}

/// Every recorded run, newest first; with `touching`, only the runs whose
/// applied change touched that path (relative to the current directory), or
/// whose trace is invalid (they might have).
pub fn list(touching: Option<&str>) -> Result<Vec<Listed>, Error> {
    let cwd = crate::app::current_dir()?;
    // Runs are recorded in the repository they ran in, and a run needs git:
    // outside one there is nothing to list, which is not "no runs yet".
    if crate::sys::git::find_root(&cwd).is_none() && !cwd.join(".wf/runs").is_dir() {
        return Err(Error::Usage(format!(
            "{} is not in a git repository; each run is recorded in the `.wf/runs` of the \
             repository it ran in: run `wf runs` there",
            cwd.display()
        )));
    }
    let root = crate::sys::git::repo_root(&cwd);
    let store = Store::open(&root)?;
    // PATH is relative to the current directory; applied files are relative
    // to the root.
    let target = touching.map(|p| {
        let canonical_cwd = cwd.canonicalize().unwrap_or(cwd.clone());
        let rel_cwd = canonical_cwd
            .strip_prefix(&root)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        crate::policy::normalize(&rel_cwd.join(p).to_string_lossy())
    });
    let mut out = Vec::new();
    for id in store.list() {
        let Ok(dir) = store.resolve(&id) else {
            continue;
        };
        let listed = read(&dir);
        if let Some(target) = &target {
            let touched = listed.summary.applied
                && listed
                    .summary
                    .files_changed
                    .iter()
                    .any(|f| f == target || f.starts_with(&format!("{target}/")));
            if !touched && listed.problem.is_none() {
                continue;
            }
        }
        out.push(listed);
    }
    Ok(out)
}

fn read(dir: &RunDir) -> Listed {
    match crate::record::trace::read(&dir.trace()) {
        Ok(trace) => {
            let problem = crate::record::trace::verify_trace(&trace)
                .err()
                .map(|(line, why)| format!("fails verification at line {line}: {why}"));
            let mut summary = crate::record::summary::from_records(&trace.records);
            // No end recorded and no live wf holding the run: it was
            // interrupted (killed, the machine went down).
            if summary.status == "running" && !crate::record::store::RunLock::is_held(dir) {
                summary.status = "interrupted".into();
            }
            Listed {
                id: dir.id.clone(),
                summary,
                problem,
            }
        }
        Err(e) => Listed {
            id: dir.id.clone(),
            summary: Summary {
                run_id: dir.id.clone(),
                status: "unknown".into(),
                ..Summary::default()
            },
            problem: Some(e.to_string()),
        },
    }
}

/// A recorded run, read back.
#[derive(Debug)]
pub struct Shown {
    /// The run folder.
    pub dir: RunDir,
    /// Its records.
    pub records: Vec<Record>,
    /// Its summary.
    pub summary: Summary,
    /// The last line of the trace was cut short (the run was killed while
    /// writing it).
    pub torn_tail: bool,
}

/// The run `run` names, read.
pub fn show(run: &str) -> Result<Shown, Error> {
    let root = crate::app::repo_root()?;
    let dir = Store::open(&root).and_then(|s| s.resolve(run))?;
    let trace = crate::record::trace::read(&dir.trace())?;
    let mut summary = crate::record::summary::from_records(&trace.records);
    if summary.status == "running" && !crate::record::store::RunLock::is_held(&dir) {
        summary.status = "interrupted".into();
    }
    Ok(Shown {
        summary,
        torn_tail: trace.torn_tail.is_some(),
        records: trace.records,
        dir,
    })
}

/// Checks the hash chain of `shown`'s trace.
pub fn verify(shown: &Shown) -> Result<(), Error> {
    // The chain covers the lines' exact bytes: read them again.
    let trace = crate::record::trace::read(&shown.dir.trace())?;
    crate::record::trace::verify_trace(&trace).map_err(|(line, why)| {
        Error::Failed(format!(
            "trace of run {} fails verification at {}:{line}: {why}",
            shown.dir.id,
            shown.dir.trace().display()
        ))
    })
}

/// One round of a check, for `wf show RUN --check NAME`.
#[derive(Debug, Clone)]
pub struct CheckRound {
    /// 0 for the first round, then 1 per repair.
    pub round: u32,
    /// Whether it passed.
    pub passed: bool,
    /// Its exit code.
    pub exit_code: Option<i32>,
    /// Killed at its timeout.
    pub timed_out: bool,
    /// All it printed (`checks/NAME.ROUND.log`), or the end the trace
    /// keeps when the run folder has no log (a run of an older wf).
    pub output: String,
    /// Whether `output` is only the end the trace keeps.
    pub tail_only: bool,
}

/// Every round of check `name` in `shown`, in order; an error naming the
/// checks that did run when none is called `name`.
pub fn check_rounds(shown: &Shown, name: &str) -> Result<Vec<CheckRound>, Error> {
    let mut rounds = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for r in &shown.records {
        let crate::record::event::Event::CheckResult {
            round,
            name: checked,
            passed,
            exit_code,
            timed_out,
            output_tail,
            ..
        } = &r.event
        else {
            continue;
        };
        names.insert(checked.as_str());
        if checked != name {
            continue;
        }
        let log = std::fs::read(shown.dir.check_log(name, *round)).ok();
        rounds.push(CheckRound {
            round: *round,
            passed: *passed,
            exit_code: *exit_code,
            timed_out: *timed_out,
            tail_only: log.is_none(),
            output: log.map_or_else(
                || output_tail.clone(),
                |bytes| String::from_utf8_lossy(&bytes).into_owned(),
            ),
        });
    }
    if rounds.is_empty() {
        let ran = if names.is_empty() {
            "no check ran in it".to_string()
        } else {
            format!(
                "the checks that ran: {}",
                names.into_iter().collect::<Vec<_>>().join(", ")
            )
        };
        return Err(Error::Usage(format!(
            "run {} has no check `{name}`; {ran}",
            shown.dir.id
        )));
    }
    Ok(rounds)
}
