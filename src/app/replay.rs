//! Replay: re-execute a recorded run with its recorded model responses and
//! report the first event that comes out different; and the comparison of
//! two recorded runs.
//!
//! A replay rebuilds the run's starting state from what the run recorded
//! (its base commit and `start.patch`, the uncommitted changes of that
//! moment) — or, with `--current`, takes the repository as it is now — then
//! runs the same plan with a provider that answers from the trace. Tools and
//! checks really run again. Every event is compared with the recorded one,
//! leaving out the fields that legitimately differ (times, ids, who
//! approved; see [`crate::record::event::Event::volatile`]) and provider retries,
//! which depend on the network, not on the run.

use crate::engine::checkpoint::Decision;
use crate::engine::{self, Mode, ReplaySetup, RunOptions};
use crate::record::compare::{
    Comparison, Divergence, compare_ignoring, comparison, without_pauses,
};
use crate::record::event::Event;
use crate::record::store::RunDir;
use crate::recorded::RecordedProvider;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

use crate::record::recorder::Silent;

/// Why a replay could not be made at all.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The run cannot be replayed (no header, no starting state, …).
    #[error("{0}")]
    Unusable(String),
    /// Loading the task file or planning failed.
    #[error(transparent)]
    Wf(#[from] crate::error::Error),
}

/// The task file of a recorded run (found from the current directory or the
/// repository root, and named as the run named it), with the model the run
/// used (`provider/name`, as recorded: `--provider` and `--model` given to
/// the run included), its inputs as given, and a resolver for its `uses:`
/// (pins from the `wf.lock` next to it, recipes cached under `root`).
/// The sandbox mode is the run's (`--sandbox off` given to the run
/// included), and a machine that cannot confine is refused as for a run.
///
/// A task file outside the repository is never read for a trace: the copy
/// the run folder `run` kept is used instead ([`kept_task`]), where the
/// repository has no task file at the recorded path. The returned spec's
/// `path` is where it was read (the copy's, for `model.script` and
/// `uses:`); the caller names the plan's `spec_path` as recorded.
#[allow(clippy::too_many_arguments)]
pub fn recorded_task(
    spec_path: &str,
    inputs: &BTreeMap<String, Value>,
    model: &str,
    sandbox: Option<&crate::record::event::SandboxSetting>,
    root: &Path,
    cwd: &Path,
    run: &RunDir,
    records: &[crate::record::event::Record],
) -> Result<
    (
        crate::spec::LoadedSpec,
        BTreeMap<String, String>,
        crate::recipes::Resolver,
    ),
    String,
> {
    let found = [cwd.join(spec_path), root.join(spec_path)]
        .into_iter()
        .find(|p| p.is_file());
    // The trace is untrusted input: its task file must be one of the
    // repository's, wherever the recorded path points.
    let real_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let inside = found.as_ref().filter(|f| {
        f.canonicalize()
            .is_ok_and(|real| real.starts_with(&real_root))
    });
    let (mut loaded, resolver) = match inside {
        Some(spec_file) => {
            let mut loaded = crate::spec::load(spec_file).map_err(|e| e.to_string())?;
            let resolver =
                crate::recipes::Resolver::for_task(&loaded, crate::recipes::Mode::Locked)
                    .map_err(|e| e.to_string())?;
            loaded.path = std::path::PathBuf::from(spec_path);
            (loaded, resolver)
        }
        None => match kept_task(spec_path, run, records)? {
            Some(kept) => kept,
            None if found.is_some() => {
                return Err(format!(
                    "refused: the recorded task file {spec_path} is outside the repository {} \
                     and the run folder kept no copy of it (the run is older \
                     than wf's copies); run the task again from this repository",
                    root.display()
                ));
            }
            None => {
                return Err(format!(
                    "the task file {spec_path} no longer exists and the run folder kept no \
                     copy of it; restore it (`git checkout`) to resume or replay this run"
                ));
            }
        },
    };
    let (provider, name) = match model.split_once('/') {
        Some((p, n)) => (p, Some(n)),
        None => (model, None),
    };
    if let Some(p) = crate::spec::ProviderName::from_name(provider) {
        loaded.spec.model.provider = p;
    }
    if let Some(name) = name {
        loaded.spec.model.name = Some(name.to_string());
    }
    if let Some(setting) = sandbox {
        loaded.spec.sandbox.mode = if setting.mode == "off" {
            crate::spec::SandboxMode::Off
        } else {
            crate::spec::SandboxMode::Auto
        };
    }
    crate::app::run::require_sandbox(&loaded.spec.sandbox).map_err(|e| e.to_string())?;
    let given = inputs
        .iter()
        .map(|(k, v)| (k.clone(), crate::spec::inputs::as_text(v)))
        .collect();
    Ok((loaded, given, resolver))
}

/// The task file the run folder `run` kept (see
/// [`crate::plan::task_copy`]), loaded, with a resolver reading the kept
/// `wf.lock`: `None` when it kept none. Trusted only when it loads to the
/// trace's spec hash and its lock pins every recipe the trace recorded as
/// the trace recorded it; refused otherwise, naming what differs.
pub fn kept_task(
    spec_path: &str,
    run: &RunDir,
    records: &[crate::record::event::Record],
) -> Result<Option<(crate::spec::LoadedSpec, crate::recipes::Resolver)>, String> {
    let refused = |why: String| {
        format!(
            "refused: the copy of the task file {spec_path} kept in the run folder {} {why}; \
             nothing from the copy was used. Run the task again",
            run.path.display()
        )
    };
    let Some(file) = crate::plan::task_copy::read(&run.path).map_err(refused)? else {
        return Ok(None);
    };
    let recorded_hash = records.iter().find_map(|r| match &r.event {
        Event::RunStarted { spec_hash, .. } => Some(spec_hash.as_str()),
        _ => None,
    });
    let loaded = crate::spec::load(&file).map_err(|e| refused(format!("does not load: {e}")))?;
    if Some(loaded.hash.as_str()) != recorded_hash {
        return Err(refused(format!(
            "does not match the trace: its spec hash is {}, the trace's {}",
            loaded.hash,
            recorded_hash.unwrap_or("missing")
        )));
    }
    let resolver = crate::recipes::Resolver::for_task(&loaded, crate::recipes::Mode::Locked)
        .map_err(|e| refused(format!("has a lock file that does not read: {e}")))?;
    for r in records {
        if let Event::RecipeUsed {
            uses,
            commit,
            sha256,
            ..
        } = &r.event
        {
            let pinned = resolver.lock().get(uses);
            if pinned.is_none_or(|p| p.sha256 != *sha256 || p.commit != *commit) {
                return Err(refused(format!(
                    "pins the recipe {uses} otherwise than the trace recorded it"
                )));
            }
            // A local recipe is kept beside the task: its bytes too.
            if commit.is_none() {
                let kept = std::fs::read(loaded.dir().join(uses)).unwrap_or_default();
                if crate::hash::sha256_hex(&kept) != *sha256 {
                    return Err(refused(format!(
                        "keeps the recipe {uses} otherwise than the trace recorded it"
                    )));
                }
            }
        }
    }
    Ok(Some((loaded, resolver)))
}

/// The starting state a run recorded: its base commit and `start.patch`.
/// `None` when it recorded neither (it ran outside git).
pub fn recorded_start(
    dir: &RunDir,
    base_revision: &Option<String>,
) -> Option<crate::workspace::Source> {
    let patch = dir.path.join("start.patch");
    let patch = patch.exists().then_some(patch);
    if base_revision.is_none() && patch.is_none() {
        return None;
    }
    Some(crate::workspace::Source::Snapshot {
        revision: base_revision.clone(),
        patch,
    })
}

/// The outcome of a replay.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every event reproduced (events compared), with the differences in
    /// output text alone met on the way (not divergences).
    Reproduced(usize, Vec<crate::record::compare::OutputNote>),
    /// The first difference.
    Diverged(Divergence),
}

/// Replays the run in `dir` under the repository `root`. `current` replays
/// against the repository as it is now instead of the run's starting state.
pub fn replay(
    root: &Path,
    cwd: &Path,
    dir: &RunDir,
    current: bool,
    trust: &crate::app::trust::Asked,
) -> Result<Outcome, ReplayError> {
    let trace = crate::record::trace::read(&dir.trace())
        .map_err(|e| ReplayError::Unusable(e.to_string()))?;
    let verified = crate::record::trace::verify_trace(&trace);
    let records = trace.records;
    if let Err((line, why)) = verified {
        return Ok(Outcome::Diverged(Divergence {
            seq: line as u64 - 1,
            expected: None,
            actual: None,
            hint: format!("the trace fails verification at line {line}: {why}"),
        }));
    }
    let Some(Event::RunStarted {
        spec_path,
        inputs,
        dry_run,
        base_revision,
        model,
        sandbox,
        conversation,
        max_cost_usd: recorded_cap,
        script,
        ..
    }) = records.first().map(|r| &r.event)
    else {
        return Err(ReplayError::Unusable(
            "the trace has no run_started header".into(),
        ));
    };
    let (mut loaded, given, mut resolver) = recorded_task(
        spec_path,
        inputs,
        model,
        sandbox.as_deref(),
        root,
        cwd,
        dir,
        &records,
    )
    .map_err(ReplayError::Unusable)?;
    // A run of `wf run --script`: the same model replacement; the answers
    // are the recorded ones, so the turns file itself is not needed.
    if let Some(script) = script {
        crate::app::run::script_model(&mut loaded.spec.model, &script.path);
    }

    // The starting state is materialized in its own directory, and the plan
    // (context included) is made against it, as the run's was.
    let source = if current {
        crate::workspace::Source::Current
    } else {
        recorded_start(dir, base_revision).ok_or_else(|| {
            ReplayError::Unusable(
                "the run recorded no starting state (it ran outside git); replay it against today's files with --current".into(),
            )
        })?
    };
    let start = crate::workspace::Workspace::create_from(root, &source).map_err(|e| {
        ReplayError::Unusable(format!("cannot rebuild the run's starting state: {e}"))
    })?;
    // The plan (context included) is made against the starting state, as
    // the run's was; the replay then works in that same directory.
    let mut plan = crate::plan::make(&loaded, &given, &start.dir, &mut resolver)
        .map_err(crate::error::Error::from)?;
    plan.script = script.as_deref().cloned();
    plan.spec_path = spec_path.clone();
    // The task file as it is now passes the same gate as a run's: its
    // commands run again.
    crate::app::trust::approve(&mut plan, root, spec_path, &loaded.source, trust)?;
    // MCP tools as the run listed them: a replay starts no server.
    plan.set_mcp(crate::mcp::recorded_listings(&records));
    // The run's `--max-cost-usd`, if it had one.
    if let Some(cap) = recorded_cap {
        plan.cap_cost(*cap);
    }
    let decisions: Vec<Decision> = records
        .iter()
        .filter_map(|r| Decision::of(&r.event))
        .filter(|d| *d != Decision::Paused)
        .collect();
    let scratch = std::env::temp_dir().join(format!("wf-replay-{}-{}", dir.id, std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let mut provider = RecordedProvider::from_records(&records);
    let options = RunOptions {
        dry_run: *dry_run,
        commit: false,
        sandbox_helper: None,
        checkout: false,
    };
    let setup = ReplaySetup {
        workspace: Some(start),
        run_id: dir.id.clone(),
        dir: scratch.clone(),
        decisions,
        conversation: conversation.unwrap_or(crate::record::event::ConversationPolicy::NONE),
        records: records.clone(),
    };
    // Each answer costs what it cost in the run, so spending limits end a
    // replay where they ended the run.
    let costs: Vec<Option<f64>> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::ModelResponse { cost_usd, .. } => Some(*cost_usd),
            _ => None,
        })
        .collect();
    let next = std::cell::Cell::new(0usize);
    let result = engine::run_with(
        &plan,
        &mut provider,
        Box::new(move |_, _| {
            let i = next.get();
            next.set(i + 1);
            costs.get(i).copied().flatten()
        }),
        options,
        &mut Silent,
        &mut crate::engine::checkpoint::Nobody,
        Mode::Replay(Box::new(setup)),
    );
    let replayed = crate::record::trace::read(&scratch.join("trace.jsonl"));
    let _ = std::fs::remove_dir_all(&scratch);
    result.map_err(ReplayError::Wf)?;
    let replayed = replayed
        .map_err(|e| ReplayError::Unusable(e.to_string()))?
        .records;
    // Against today's files the starting tree differs by design; what
    // matters is where the run then goes differently.
    let ignore: &[&str] = if current { &["workspace_ready"] } else { &[] };
    // An interruption the run was resumed from is not part of its course
    // (as a pause is not): the replay goes straight on. A run that ended
    // interrupted keeps its end, where the replay then parts from it.
    let resumed = !matches!(
        records.last().map(|r| &r.event),
        Some(Event::RunFinished {
            status: crate::record::event::RunStatus::Interrupted,
            ..
        })
    );
    let course = if resumed {
        crate::record::event::without_interruptions(&records)
    } else {
        records.clone()
    };
    Ok(
        match comparison(
            &without_pauses(&course),
            &without_pauses(&replayed),
            ignore,
            false,
        ) {
            Comparison {
                divergence: None,
                notes,
            } => Outcome::Reproduced(records.len(), notes),
            Comparison {
                divergence: Some(d),
                ..
            } => Outcome::Diverged(d),
        },
    )
}

/// How two recorded runs compare (`wf replay RUN --against RUN2`).
#[derive(Debug)]
pub struct Against {
    /// The expected run's id.
    pub expected: String,
    /// The other run's id.
    pub actual: String,
    /// Events compared.
    pub events: usize,
    /// Where they part, if they do.
    pub divergence: Option<Divergence>,
}

/// Compares two recorded runs. They usually start from different trees
/// (other commits); what matters is the first place where that made them
/// act differently, so the starting files are not compared.
pub fn against(run: &str, other: &str) -> Result<Against, crate::error::Error> {
    use crate::error::Error;
    let root = &crate::app::repo_root()?;
    let store = crate::record::store::Store::open(root)?;
    let dir = store.resolve(run)?;
    let other = store.resolve(other)?;
    let read = |d: &RunDir| {
        crate::record::trace::read(&d.trace())
            .map(|t| t.records)
            .map_err(|e| Error::Failed(e.to_string()))
    };
    let (a, b) = (read(&dir)?, read(&other)?);
    Ok(Against {
        divergence: compare_ignoring(&a, &b, &["workspace_ready"]),
        expected: dir.id,
        actual: other.id,
        events: a.len(),
    })
}

/// Replays the run `run` names (in the repository of the current
/// directory); its id and the outcome.
/// A foreign run (not marked as this user's) is refused unless `foreign`
/// (see [`crate::record::origin`]): its recorded commands would run again.
pub fn replay_named(
    run: &str,
    current: bool,
    foreign: bool,
    trust: &crate::app::trust::Asked,
) -> Result<(String, Outcome), ReplayError> {
    let cwd = crate::app::current_dir()?;
    let root = crate::sys::git::repo_root(&cwd);
    let store = crate::record::store::Store::open(&root).map_err(crate::error::Error::from)?;
    let dir = store.resolve(run).map_err(crate::error::Error::from)?;
    crate::app::resume::require_own(&store, &dir, foreign)?;
    let outcome = replay(&root, &cwd, &dir, current, trust)?;
    Ok((dir.id, outcome))
}
