//! `wf approve`, `wf reject` and `wf resume`: acting on a run paused at a
//! checkpoint, from any shell or a later CI job.
//!
//! Each takes the run's lock first (a second process acting on the same run
//! is refused) and reads the trace, which must verify. A decision is
//! appended to the trace by the [`Recorder`]; a rejection also ends the run.
//!
//! A resume takes one of two paths:
//!
//! - **Continue** (`continue_approved`): the run paused at the final apply
//!   checkpoint and `wf approve` approved it, recording the SHA-256 of the
//!   diff it approved (`diff_sha256`), and nothing happened since. Everything
//!   but applying is done, so nothing runs again: the recorded
//!   `diff.patch`, whose hash must be the approved one (else the resume is
//!   refused and nothing is written), is applied to the user's tree all or
//!   nothing, as a live run applies it (a file the user changed since the
//!   run started, or a patch that no longer applies, ends the run
//!   `apply_failed` with the patch kept), then committed when `wf approve
//!   --commit` asked for it; `applied` (or `apply_failed`), `committed` and
//!   `run_finished` are appended, which is exactly what a re-execution would
//!   have appended. No tool, check or model request runs again, so checks
//!   that print timings cannot make the resume diverge.
//! - **Re-execute** (everything else: a run interrupted mid-way, paused at a
//!   plan or step checkpoint, or approved by an older wf that recorded no
//!   `diff_sha256`): the run is re-executed from its recorded starting state
//!   with the recorded model answers (never asking the model again for them),
//!   its events compared with the recorded ones, and goes on from the pause.

use crate::engine::{Approver, Reporter, RunOptions, RunOutcome};
use crate::error::Error;
use crate::record::event::{CheckpointName, CheckpointState, Event, Record, RunStatus};
use crate::record::recorder::Recorder;
use crate::record::store::{RunDir, RunLock, Store};
use crate::record::trace::Trace;
use std::path::Path;

/// A checkpoint decision taken.
#[derive(Debug, Clone)]
pub struct Decided {
    /// The run.
    pub run_id: String,
    /// Which checkpoint, for people: `apply checkpoint (after step `x`)`.
    pub which: String,
    /// Who decided.
    pub by: String,
    /// Approved (else rejected).
    pub approved: bool,
}

/// How a checkpoint is decided.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    /// Approve (else reject).
    pub approve: bool,
    /// A comment, recorded with the decision.
    pub comment: Option<String>,
    /// Who decides (default: git `user.email`, else `$USER`).
    pub who: Option<String>,
    /// Commit the change once applied (approve only).
    pub commit: bool,
    /// Act on a run this user's wf did not create here (`--foreign`).
    pub foreign: bool,
}

/// Refuses a run this user's wf did not create in this repository (no
/// valid mark, [`crate::record::origin`]) unless `foreign` says to act on
/// it anyway.
pub fn require_own(store: &Store, dir: &RunDir, foreign: bool) -> Result<(), Error> {
    if foreign || store.is_own(dir) {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "run {id} was not started by you in this repository (it has no valid mark of yours: \
         it may have come with a clone, an archive or another user). Look at it first \
         (`wf show {id}`), then give --foreign to act on it anyway; --foreign shows its diff \
         before anything happens",
        id = dir.id
    )))
}

/// A foreign run's id and recorded diff (empty when it recorded none), or
/// `None` when the run is this user's own: what `--foreign` shows first.
pub fn foreign_diff(run: &str) -> Result<Option<(String, String)>, Error> {
    let root = crate::app::repo_root()?;
    let store = Store::open(&root)?;
    let dir = store.resolve(run)?;
    if store.is_own(&dir) {
        return Ok(None);
    }
    let patch = std::fs::read_to_string(dir.diff()).unwrap_or_default();
    Ok(Some((dir.id, patch)))
}

/// The run `run` names, locked for this process, with its verified trace;
/// a foreign run only when `foreign` ([`require_own`]).
pub fn locked_run(
    root: &Path,
    run: &str,
    foreign: bool,
) -> Result<(RunDir, RunLock, Trace), Error> {
    let store = Store::open(root)?;
    let dir = store.resolve(run)?;
    require_own(&store, &dir, foreign)?;
    let lock = RunLock::acquire(&dir)?;
    let trace = crate::record::trace::read(&dir.trace())?;
    crate::record::trace::verify_trace(&trace).map_err(|(line, why)| {
        Error::Failed(format!(
            "the trace fails verification at line {line}: {why}"
        ))
    })?;
    Ok((dir, lock, trace))
}

/// Approves or rejects the checkpoint run `run` is paused at.
pub fn decide(run: &str, decision: Decision) -> Result<Decided, Error> {
    let root = crate::app::repo_root()?;
    let (dir, _lock, trace) = locked_run(&root, run, decision.foreign)?;
    let waiting = trace.records.iter().rev().find_map(|r| match &r.event {
        Event::Checkpoint {
            name, state, step, ..
        } => Some((*name, *state, step.clone())),
        _ => None,
    });
    let Some((name, CheckpointState::Paused, step)) = waiting else {
        return Err(Error::Usage(format!(
            "run {} is not waiting at a checkpoint",
            dir.id
        )));
    };
    let by = decision
        .who
        .unwrap_or_else(|| crate::sys::git::current_user(&root));
    let cannot = |e| Error::io("cannot append to the trace", e);
    let mut silent = crate::record::recorder::Silent;
    let mut recorder =
        Recorder::reopen(&dir, &trace.records, Vec::new(), &mut silent).map_err(cannot)?;
    // An approval of a change is bound to the exact diff the run recorded
    // at the pause: a resume refuses to apply any other.
    let diff_sha256 = if decision.approve && name != CheckpointName::Plan {
        Some(paused_diff_hash(&dir, &trace.records)?)
    } else {
        None
    };
    let (state, via) = if decision.approve {
        (CheckpointState::Approved, "wf approve")
    } else {
        (CheckpointState::Rejected, "wf reject")
    };
    recorder.record(Event::Checkpoint {
        name,
        state,
        by: Some(by.clone()),
        via: Some(via.into()),
        comment: decision.comment,
        at: Some(crate::sys::clock::now_rfc3339()),
        commit: decision.commit && decision.approve,
        step: step.clone(),
        diff_sha256,
    })?;
    let which = match &step {
        Some(step) => format!("{} checkpoint (after step `{step}`)", name.as_str()),
        None => format!("{} checkpoint", name.as_str()),
    };
    let decided = Decided {
        run_id: dir.id.clone(),
        which: which.clone(),
        by: by.clone(),
        approved: decision.approve,
    };
    if decision.approve {
        return Ok(decided);
    }
    // The diff kept when the run paused belongs to the pause (replay and
    // resume leave the pause out); a rejected run's course ends with it, as a
    // live rejection's does, so it is recorded again here.
    let paused_at = trace.records.iter().rposition(|r| {
        matches!(
            r.event,
            Event::Checkpoint {
                state: CheckpointState::Paused,
                ..
            }
        )
    });
    if let Some(diff) = paused_at.and_then(|at| {
        trace.records[at..]
            .iter()
            .find(|r| matches!(r.event, Event::DiffReady { .. }))
    }) {
        recorder.record(diff.event.clone())?;
    }
    let last = crate::record::summary::from_records(&trace.records);
    recorder.record(Event::RunFinished {
        status: RunStatus::Rejected,
        reason: Some(format!("{which} rejected by {by}")),
        diff_hash: last.diff_hash.clone(),
        files_changed: last.files_changed.clone(),
        totals: last.totals.clone(),
    })?;
    recorder
        .write_summary()
        .map_err(|e| Error::io("cannot write summary.json", e))?;
    Ok(decided)
}

/// The SHA-256 of the diff a paused run recorded (its last `diff_ready`),
/// which must also be the hash of its `diff.patch`: what a person approving
/// it was shown. A run that recorded none is hashed from `diff.patch`.
fn paused_diff_hash(
    dir: &RunDir,
    records: &[crate::record::event::Record],
) -> Result<String, Error> {
    let recorded = records.iter().rev().find_map(|r| match &r.event {
        Event::DiffReady { diff_hash, .. } => Some(diff_hash.clone()),
        _ => None,
    });
    let on_disk = std::fs::read(dir.diff())
        .ok()
        .map(|bytes| crate::hash::sha256_hex(&bytes));
    match (recorded, on_disk) {
        (Some(recorded), Some(on_disk)) if recorded != on_disk => Err(Error::Failed(format!(
            "refused: {} is not the diff the run recorded at the pause (recorded {recorded}, found {on_disk})",
            dir.diff().display()
        ))),
        (Some(hash), _) | (None, Some(hash)) => Ok(hash),
        (None, None) => Err(Error::Failed(format!(
            "run {} recorded no diff to approve",
            dir.id
        ))),
    }
}

/// A resume about to start.
pub struct Resuming {
    /// The run.
    pub run_id: String,
    /// Model answers in the trace, served again without asking the model.
    pub recorded_answers: usize,
    /// What the person running wf should know (from the provider).
    pub notes: Vec<String>,
}

/// Continues run `run` (paused, or interrupted) from its trace. `started`
/// is told what is about to happen before the re-execution begins.
pub fn resume(
    run: &str,
    foreign: bool,
    trust: &crate::app::trust::Asked,
    reporter: &mut dyn Reporter,
    approver: &mut dyn Approver,
    started: &mut dyn FnMut(&Resuming),
) -> Result<RunOutcome, Error> {
    let cwd = crate::app::current_dir()?;
    let root = crate::sys::git::repo_root(&cwd);
    let (dir, _lock, trace) = locked_run(&root, run, foreign)?;
    let records = trace.records;
    if let Some(status) = crate::record::summary::final_status(&records)
        && !matches!(status, RunStatus::Paused | RunStatus::Interrupted)
    {
        return Err(Error::Usage(format!(
            "run {} already finished: {}",
            dir.id,
            status.as_str()
        )));
    }
    if let Some(approved) = approved_apply(&records) {
        started(&Resuming {
            run_id: dir.id.clone(),
            recorded_answers: records
                .iter()
                .filter(|r| matches!(r.event, Event::ModelResponse { .. }))
                .count(),
            notes: Vec::new(),
        });
        return continue_approved(&root, &cwd, &dir, &records, &approved, reporter);
    }
    let Some(Event::RunStarted {
        spec_path,
        inputs,
        dry_run,
        base_revision,
        model,
        sandbox,
        max_cost_usd: recorded_cap,
        script,
        ..
    }) = records.first().map(|r| &r.event)
    else {
        return Err(Error::Failed("the trace has no run_started header".into()));
    };
    let source = crate::app::replay::recorded_start(&dir, base_revision).ok_or_else(|| {
        Error::Failed(
            "the run recorded no starting state (it ran outside git), so it cannot be resumed"
                .into(),
        )
    })?;
    let (loaded, given, mut resolver) = crate::app::replay::recorded_task(
        spec_path,
        inputs,
        model,
        sandbox.as_deref(),
        &root,
        &cwd,
        &dir,
        &records,
    )
    .map_err(Error::Failed)?;
    let mut loaded = loaded;
    if let Some(script) = script {
        play_recorded_script(&mut loaded, script)?;
    }
    // The plan is made against the recorded starting state (its context is
    // what the run saw), then pointed back at the user's tree for applying.
    let start = crate::workspace::Workspace::create_from(&root, &source)
        .map_err(|e| Error::Failed(format!("cannot rebuild the run's starting state: {e}")))?;
    let mut plan = crate::plan::make(&loaded, &given, &start.dir, &mut resolver)?;
    plan.spec_path = spec_path.clone();
    plan.root = root.clone();
    plan.script = script.as_deref().cloned();
    // The task file as it is now passes the same gate as a run's: a wider
    // sandbox than the default needs the user's approval.
    crate::app::trust::approve(&mut plan, &root, spec_path, &loaded.source, trust)?;
    // MCP tools as the run listed them; a server starts only when the
    // resumed run calls it past what was recorded.
    plan.set_mcp(crate::mcp::recorded_listings(&records));
    // The run's `--max-cost-usd`, if it had one.
    if let Some(cap) = recorded_cap {
        plan.cap_cost(*cap);
    }
    // Pauses are not part of the run's course; a decision taken since
    // (`wf approve`) is, and the executor takes it when it reaches the checkpoint.
    let prefix = crate::record::compare::without_pauses(&records);
    let answered = records
        .iter()
        .filter(|r| matches!(r.event, Event::ModelResponse { .. }))
        .count();
    let mut ready = crate::app::provider::for_plan(&loaded, &plan, answered)?;
    let mut provider = crate::recorded::ThenLive::new(&records, ready.provider.as_mut());
    let options = RunOptions {
        dry_run: *dry_run,
        // `wf approve --commit` asked for a commit once applied.
        commit: records
            .iter()
            .any(|r| matches!(r.event, Event::Checkpoint { commit: true, .. })),
        sandbox_helper: None,
        // A resume rebuilds the recorded start in a copy.
        checkout: false,
    };
    started(&Resuming {
        run_id: dir.id.clone(),
        recorded_answers: provider.recorded(),
        notes: ready.notes.clone(),
    });
    let setup = crate::engine::ResumeSetup {
        workspace: Some(start),
        prefix,
        records: records.clone(),
    };
    crate::engine::run_with(
        &plan,
        &mut provider,
        ready.pricing,
        options,
        reporter,
        approver,
        crate::engine::Mode::Resume(dir.clone(), Box::new(setup)),
    )
}

/// The diff hash an approval of the final apply checkpoint recorded, when
/// that approval is the last thing the run recorded: the run can go on by
/// applying that diff. `None` (re-execute) for anything else, including an
/// approval by a wf that recorded no hash.
pub fn approved_apply(records: &[Record]) -> Option<String> {
    match &records.last()?.event {
        Event::Checkpoint {
            name: CheckpointName::Apply,
            state: CheckpointState::Approved,
            diff_sha256: Some(hash),
            ..
        } => Some(hash.clone()),
        _ => None,
    }
}

/// Finishes a run whose final diff was approved after the pause: applies
/// the recorded diff (it must be the approved one), commits it when asked,
/// and records the end. Runs nothing else.
fn continue_approved(
    root: &Path,
    cwd: &Path,
    dir: &RunDir,
    records: &[Record],
    approved: &str,
    reporter: &mut dyn Reporter,
) -> Result<RunOutcome, Error> {
    let patch = std::fs::read(dir.diff())
        .map_err(|e| Error::io(format!("cannot read {}", dir.diff().display()), e))?;
    let about_to_apply = crate::hash::sha256_hex(&patch);
    if about_to_apply != approved {
        return Err(Error::Failed(format!(
            "refused: approved diff {approved}, about to apply {about_to_apply}; nothing was applied"
        )));
    }
    // The run folder is untrusted input (docs/runs.md, trust model): the patch
    // must stay inside the repository, as `start.patch` must.
    crate::workspace::check_patch_paths(&String::from_utf8_lossy(&patch))
        .map_err(|e| Error::Failed(format!("refused: {}: {e}", dir.diff().display())))?;
    let last = crate::record::summary::from_records(records);
    let files = records
        .iter()
        .rev()
        .find_map(|r| match &r.event {
            Event::DiffReady { files, .. } => Some(files.clone()),
            _ => None,
        })
        .unwrap_or_else(|| last.files_changed.clone());
    let commit = records
        .iter()
        .any(|r| matches!(r.event, Event::Checkpoint { commit: true, .. }));
    let Some(Event::RunStarted {
        spec_path,
        inputs,
        base_revision,
        model,
        sandbox,
        ..
    }) = records.first().map(|r| &r.event)
    else {
        return Err(Error::Failed("the trace has no run_started header".into()));
    };
    // What the user changed since the run started, among the files the
    // change touches (the live run's rule), read from the patch's own base
    // ids: nothing of the starting state is rebuilt.
    let conflicts = crate::workspace::changed_since(root, &String::from_utf8_lossy(&patch))
        .map_err(|e| Error::Failed(format!("cannot compare with your tree: {e}")))?;
    // The commit message is planned against the recorded start; built only
    // when a commit was asked for.
    let start = if commit {
        crate::app::replay::recorded_start(dir, base_revision)
            .map(|source| crate::workspace::Workspace::create_from(root, &source))
            .transpose()
            .map_err(|e| Error::Failed(format!("cannot rebuild the run's starting state: {e}")))?
    } else {
        None
    };
    // The message is made before anything is applied: nothing can fail
    // between the apply and the commit but git itself. A task file outside
    // the repository (a batch's, a CI job's) is planned from the copy the
    // run folder kept. When the task file cannot be planned again (it
    // changed, or the run kept no copy), the message is made from what the
    // trace recorded instead: the task's name, version and hash, without
    // the prompt's first line.
    let message = if commit {
        Some(
            approved_commit_message(
                root, cwd, dir, records, spec_path, inputs, model, sandbox, &start,
            )
            .unwrap_or_else(|_| recorded_commit_message(records, &dir.id)),
        )
    } else {
        None
    };
    let mut recorder = Recorder::reopen(dir, records, Vec::new(), reporter)
        .map_err(|e| Error::io("cannot append to the trace", e))?;
    let kept = format!("; the patch is kept in {}", dir.diff().display());
    let (status, reason) = if !conflicts.is_empty() {
        let message = crate::workspace::WorkspaceError::Conflict(conflicts).to_string() + &kept;
        recorder.record(Event::ApplyFailed {
            message: message.clone(),
        })?;
        (RunStatus::ApplyFailed, Some(message))
    } else {
        match crate::workspace::apply(root, &dir.diff()) {
            Err(e) => {
                let message = format!("{e}{kept}");
                recorder.record(Event::ApplyFailed {
                    message: message.clone(),
                })?;
                (RunStatus::ApplyFailed, Some(message))
            }
            Ok(()) => {
                recorder.record(Event::Applied {
                    files: files.clone(),
                })?;
                if let Some(message) = &message {
                    match crate::workspace::commit(root, &files, message) {
                        Ok(revision) => recorder.record(Event::Committed { revision, files })?,
                        Err(e) => {
                            return finish(
                                recorder,
                                dir,
                                &last,
                                RunStatus::Error,
                                Some(format!("the change was applied, but not committed: {e}")),
                            );
                        }
                    }
                }
                (RunStatus::Succeeded, None)
            }
        }
    };
    finish(recorder, dir, &last, status, reason)
}

/// The commit message the engine writes, from the run's plan (made again
/// from the recorded task, against the recorded start; nothing runs).
#[allow(clippy::too_many_arguments)]
fn approved_commit_message(
    root: &Path,
    cwd: &Path,
    dir: &RunDir,
    records: &[Record],
    spec_path: &str,
    inputs: &std::collections::BTreeMap<String, serde_json::Value>,
    model: &str,
    sandbox: &Option<Box<crate::record::event::SandboxSetting>>,
    start: &Option<crate::workspace::Workspace>,
) -> Result<String, Error> {
    let (loaded, given, mut resolver) = crate::app::replay::recorded_task(
        spec_path,
        inputs,
        model,
        sandbox.as_deref(),
        root,
        cwd,
        dir,
        records,
    )
    .map_err(Error::Failed)?;
    let base = start.as_ref().map_or(root, |s| s.dir.as_path());
    let mut plan = crate::plan::make(&loaded, &given, base, &mut resolver)?;
    plan.spec_path = spec_path.to_string();
    Ok(crate::engine::commit_message(
        &plan,
        &dir.id,
        &approvers(records),
    ))
}

/// The commit message from the trace alone (see [`continue_approved`]):
/// the form of [`crate::engine::commit_message`] without the prompt's
/// first line.
fn recorded_commit_message(records: &[Record], run_id: &str) -> String {
    let (name, version, hash) = match records.first().map(|r| &r.event) {
        Some(Event::RunStarted {
            spec_name,
            spec_version,
            spec_hash,
            ..
        }) => (spec_name.as_str(), spec_version.clone(), spec_hash.as_str()),
        _ => ("task", None, ""),
    };
    let shown = version
        .as_deref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    let mut msg = format!("wf: {name}{shown}\n\nWf-Run: {run_id}\nWf-Task: {name}\n");
    if let Some(v) = &version {
        msg.push_str(&format!("Wf-Task-Version: {v}\n"));
    }
    msg.push_str(&format!("Wf-Spec-Hash: {hash}\n"));
    for a in approvers(records) {
        msg.push_str(&format!("Approved-By: {a}\n"));
    }
    msg
}

/// Who approved the apply checkpoint, in order.
fn approvers(records: &[Record]) -> Vec<String> {
    crate::record::summary::from_records(records)
        .approvals
        .into_iter()
        .filter(|a| a.checkpoint == "apply" && a.decision == "approved")
        .filter_map(|a| a.by)
        .collect()
}

/// Records `run_finished` and writes summary.json.
fn finish(
    mut recorder: Recorder<'_>,
    dir: &RunDir,
    last: &crate::record::summary::Summary,
    status: RunStatus,
    reason: Option<String>,
) -> Result<RunOutcome, Error> {
    recorder.record(Event::RunFinished {
        status,
        reason: reason.clone(),
        diff_hash: last.diff_hash.clone(),
        files_changed: last.files_changed.clone(),
        totals: last.totals.clone(),
    })?;
    recorder.pause_display();
    recorder
        .write_summary()
        .map_err(|e| Error::io("cannot write summary.json", e))?;
    Ok(RunOutcome {
        run_id: dir.id.clone(),
        dir: dir.clone(),
        status,
        reason,
    })
}

/// A run started with `wf run --script FILE` goes on playing that file
/// (see [`crate::app::run`]): the task's model is replaced by it again, as
/// long as the file is the one the run started with; a changed or missing
/// file is refused (its turns would not follow the recorded ones).
fn play_recorded_script(
    loaded: &mut crate::spec::LoadedSpec,
    script: &crate::plan::ScriptOverride,
) -> Result<(), Error> {
    let bytes = std::fs::read(&script.path).map_err(|e| {
        Error::Failed(format!(
            "the run was started with --script {}, which cannot be read now: {e}",
            script.path
        ))
    })?;
    if crate::hash::sha256_hex(&bytes) != script.sha256 {
        return Err(Error::Failed(format!(
            "the run was started with --script {}, which changed since; its turns would not follow the recorded ones",
            script.path
        )));
    }
    crate::app::run::script_model(&mut loaded.spec.model, &script.path);
    Ok(())
}
