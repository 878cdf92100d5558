//! The executor: the one loop that interprets a plan and drives the model.
//!
//! ```text
//! create run → workspace → context → ┌ model request ─▶ tool calls ─▶ results ┐
//!                                     └──────────── until a turn without calls ┘
//!                                   → checks → (repair rounds) → diff → apply checkpoint → apply
//! ```
//!
//! Every step is appended to the trace as an [`Event`] before anything else
//! sees it; the reporter (progress line, plain lines, `--json`) and the
//! summary read those events. Nothing here reads the clock for a decision
//! other than the run's timeout, and everything the model is sent is built
//! from sorted, stably serialized data: the same plan, repository state and
//! model answers give the same requests, events and diff.
//!
//! The user's tree is touched only by [`crate::workspace::apply`], after the
//! apply checkpoint passed.
//!
//! How it is laid out:
//!
//! - this module: the run (`run`, `run_with`), the executor's run-wide
//!   state (trace, totals, deadlines, limits in force, replay/resume mode),
//!   its first events and workspace, checkpoints, and the conclusion (diff,
//!   apply checkpoint, apply, commit);
//! - `steps`: the plan's steps in order. The implicit agent step of a
//!   single-prompt file (no id) runs without step events, its prompt
//!   already rendered; every other step is bracketed by `step_started` /
//!   `step_finished` with its id (`recipe.main` inside a recipe step);
//! - `agent`: one agent step, run from the [`crate::plan::AgentStep`]
//!   itself (its tools, permissions, bounds, model, context, checks) with
//!   its rendered prompt and its scope's inputs: the model ↔ tools loop,
//!   the plan checkpoint, the output schema and the checks with repair
//!   rounds. No step runs from a copy of the plan;
//! - `prompt`: the instructions and first message of an agent step and the
//!   conversation; `limits`: the run's and the running steps' limits;
//!   `checks`: running a check; `checkpoint`: a checkpoint as data and
//!   the [`Approver`] that decides it.
//!
//! # No terminal
//!
//! The engine renders nothing and reads nothing from a person: events go
//! to the [`Reporter`], checkpoints to the [`Approver`] (both passed in),
//! each checkpoint as data (the model's plan, or a change: patch, per-file
//! stat, paths, call-outs). Showing a diff, its call-outs and colors, and reading an
//! answer are the front end's ([`crate::app::approver`]); a test drives the
//! engine in-process with a recording reporter and approver
//! (`tests/engine/`).
//!
//! # Interruptions
//!
//! A signal (Ctrl-C, `SIGTERM`, `SIGHUP`; see [`crate::sys::signals`])
//! kills every command the run started and sets a flag. The executor looks
//! at the flag each time it is about to record an event (`emit`): set, the
//! event is not recorded and the run unwinds with
//! [`EngineError::Interrupted`], so nothing a killed command did (a failed
//! check, a tool's output) is taken as its outcome. The run
//! then records `run_interrupted` and `run_finished` with status
//! `interrupted`, and its workspace is dropped (removed) on the way out.
//! Only records of what already happened for good pass after the flag:
//! `applied`, `committed`, `apply_failed` and a checkpoint's decision. A
//! model request in flight is not cut short (the HTTP client blocks): the
//! flag is seen when it returns, its answer is not recorded (a resume asks
//! again), and a failed request is not retried. Interrupted at a
//! checkpoint prompt, the run ends paused at that checkpoint (status
//! `paused`, exit 3), as with nobody to ask, so `wf approve` and `wf
//! reject` decide it; what follows the pause (the diff) is recorded as
//! usual. A resume leaves the interruption's two events out of
//! the course it catches up with
//! ([`crate::record::event::without_interruptions`]) and goes on from the
//! last event recorded before it. A resume interrupted while it is still
//! catching up has written nothing: the run stays as it was.

mod agent;
mod boundary;
pub mod checkpoint;
pub mod checks;
mod error;
mod limits;
mod prompt;
mod steps;

pub use crate::provider::cost::usd;
use limits::ActiveLimits;
pub use prompt::{first_message, fixed_request_bytes, instructions};

use crate::plan::Plan;
use crate::provider::{
    Block, Message, ModelRequest, ModelResponse, Provider, ProviderObserver, Role, Usage,
};
use crate::record::event::{
    CheckpointName, CheckpointState, ConversationPolicy, Event, FileRef, Record, RunStatus, Totals,
};
use crate::record::recorder::Recorder;
use crate::record::store::{RunDir, Store};
use crate::workspace::{self, Workspace};
pub use checkpoint::Approver;
use checkpoint::{Change, Checkpoint, Decision, Subject};
pub use error::EngineError;
use std::time::{Duration, Instant};

/// Default `limits.timeout`.
pub const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(30 * 60);

pub use crate::record::recorder::Reporter;

/// How a run is driven. Who approves its checkpoints, and how a change
/// is shown, is the [`Approver`]'s.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Run everything, show the diff, never apply (`--dry-run`).
    pub dry_run: bool,
    /// Commit the applied change, with trailers naming the run (`--commit`).
    pub commit: bool,
    /// The `wf` binary that confines each command the run starts (`wf
    /// __sandbox`); `None`: this process's own executable, which is `wf`.
    /// A program that runs the engine in-process (a test) names one.
    pub sandbox_helper: Option<std::path::PathBuf>,
    /// Work in the repository's own checkout instead of a copy
    /// (`--workspace checkout`; see [`crate::workspace::checkout`]). Live
    /// runs only.
    pub checkout: bool,
}

/// Whether the run is live or re-executes a recorded one.
#[derive(Debug)]
pub enum Mode {
    /// A new run: recorded in `.wf/runs`, applied to the user's tree.
    Live,
    /// A replay: recorded in a scratch folder, never applied.
    Replay(Box<ReplaySetup>),
    /// A paused or interrupted run continued in its own run folder.
    Resume(RunDir, Box<ResumeSetup>),
}

/// How a replay is set up.
#[derive(Debug)]
pub struct ReplaySetup {
    /// The workspace, already holding the run's starting state.
    pub workspace: Option<Workspace>,
    /// The recorded run's id (kept so the events compare).
    pub run_id: String,
    /// A scratch folder for the replay's own trace and diff.
    pub dir: std::path::PathBuf,
    /// The recorded checkpoint decisions, in order.
    pub decisions: Vec<Decision>,
    /// How the recorded run kept its conversation short.
    pub conversation: ConversationPolicy,
    /// The recorded run's events: its MCP calls are answered from them.
    pub records: Vec<Record>,
}

/// How a paused or interrupted run is continued.
///
/// The executor re-executes the run from its recorded starting state: model
/// requests already answered are served from the trace (never sent again),
/// tools and checks run again to rebuild the workspace, and every event is
/// compared with the recorded one (a difference stops the resume: the
/// repository no longer supports the run). Past the recorded prefix the run
/// goes on live and its events are appended to the same trace.
#[derive(Debug)]
pub struct ResumeSetup {
    /// The workspace, already holding the run's recorded starting state.
    pub workspace: Option<Workspace>,
    /// The recorded events to catch up with (up to the pause or the crash).
    pub prefix: Vec<Record>,
    /// Every complete record of the trace (to reopen it).
    pub records: Vec<Record>,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The run id.
    pub run_id: String,
    /// The run folder.
    pub dir: RunDir,
    /// The status.
    pub status: RunStatus,
    /// Why, when not succeeded.
    pub reason: Option<String>,
}

/// Prices a response's usage by the model that answered, in USD; `None`
/// when unknown.
pub type Pricing = Box<dyn Fn(&crate::spec::ModelSpec, &Usage) -> Option<f64>>;

/// Runs `plan` with `provider`: every event goes to `reporter` as it is
/// recorded, every checkpoint to `approver`.
pub fn run(
    plan: &Plan,
    provider: &mut dyn Provider,
    pricing: Pricing,
    options: RunOptions,
    reporter: &mut dyn Reporter,
    approver: &mut dyn Approver,
) -> Result<RunOutcome, crate::error::Error> {
    run_with(
        plan,
        provider,
        pricing,
        options,
        reporter,
        approver,
        Mode::Live,
    )
}

/// Runs `plan` live or as a replay.
pub fn run_with(
    plan: &Plan,
    provider: &mut dyn Provider,
    pricing: Pricing,
    options: RunOptions,
    reporter: &mut dyn Reporter,
    approver: &mut dyn Approver,
    mode: Mode,
) -> Result<RunOutcome, crate::error::Error> {
    let dir = match &mode {
        Mode::Live => Store::open(&plan.root)
            .map_err(crate::error::Error::Usage)?
            .create_run()
            .map_err(|e| crate::error::Error::io("cannot create the run folder in .wf/runs", e))?,
        Mode::Replay(setup) => {
            std::fs::create_dir_all(&setup.dir)
                .map_err(|e| crate::error::Error::io("cannot create the replay folder", e))?;
            RunDir {
                id: setup.run_id.clone(),
                path: setup.dir.clone(),
            }
        }
        Mode::Resume(dir, _) => dir.clone(),
    };
    // A live run holds its run's lock until it ends, however it ends: a
    // run whose trace has no end and whose lock is free was interrupted.
    // (A resume holds it already, taken by `wf resume`.)
    let _held = match &mode {
        Mode::Live => Some(
            crate::record::store::RunLock::acquire(&dir).map_err(crate::error::Error::Failed)?,
        ),
        _ => None,
    };
    // A task file outside the repository is kept in the run folder, so the
    // run resumes and replays where it ran (see `plan::task_copy`).
    if let (Mode::Live, Some(copy)) = (&mode, &plan.task_copy) {
        copy.write(&dir.path).map_err(|e| {
            crate::error::Error::io("cannot keep the task file in the run folder", e)
        })?;
    }
    let recorder = match &mode {
        Mode::Resume(_, setup) => {
            // An earlier interruption is not part of the run's course.
            let prefix = crate::record::event::without_interruptions(&setup.prefix);
            Recorder::reopen(&dir, &setup.records, prefix, reporter)
                .map_err(|e| crate::error::Error::io("cannot reopen the trace", e))?
        }
        _ => Recorder::create(&dir, reporter)
            .map_err(|e| crate::error::Error::io("cannot create the trace", e))?,
    };
    // A new run keeps its conversation short as this wf does; a replay or
    // resume as the recorded run did.
    let recorded_policy = |records: &[Record]| match records.first().map(|r| &r.event) {
        Some(Event::RunStarted { conversation, .. }) => {
            conversation.unwrap_or(ConversationPolicy::NONE)
        }
        _ => ConversationPolicy::NONE,
    };
    let conversation = match &mode {
        Mode::Live => ConversationPolicy::CURRENT,
        Mode::Replay(setup) => setup.conversation,
        Mode::Resume(_, setup) => recorded_policy(&setup.records),
    };
    let mut exec = Executor {
        plan,
        conversation,
        dir: dir.clone(),
        recorder,
        approver,
        sandbox: None,
        mcp: None,
        step_network: None,
        proxies: std::collections::BTreeMap::new(),
        secrets: crate::secrets::Secrets::from_env(),
        pricing,
        options,
        totals: Totals {
            input_tokens: Some(0),
            output_tokens: Some(0),
            ..Totals::default()
        },
        cost_known: true,
        deadline: Instant::now() + plan.limits.timeout.map_or(DEFAULT_RUN_TIMEOUT, |t| t.0),
        run_deadline: Instant::now() + plan.limits.timeout.map_or(DEFAULT_RUN_TIMEOUT, |t| t.0),
        step_limits: Vec::new(),
        diff_hash: None,
        approved_diff: None,
        files_changed: Vec::new(),
        writers: Vec::new(),
        actions: Vec::new(),
        touched: false,
        known: None,
        mode,
        written_bytes: 0,
        settled: false,
    };
    let driven = exec.drive(provider);
    // Interrupted: a signal stopped an event from being recorded, or an
    // operation failed because the signal killed what it ran.
    let interrupted = matches!(driven, Err(EngineError::Interrupted))
        || (driven.is_err() && crate::sys::signals::interrupted() && !exec.settled);
    let (status, reason) = match driven {
        // A resume interrupted while catching up has written nothing.
        _ if interrupted && exec.recorder.catching_up() => {
            return Err(crate::error::Error::Interrupted(format!(
                "interrupted before the resume caught up; run {} is as it was, `wf resume {}` continues it",
                dir.id, dir.id
            )));
        }
        _ if interrupted => {
            let signal = crate::sys::signals::signal().unwrap_or("a signal");
            exec.recorder
                .record(Event::RunInterrupted {
                    signal: signal.to_string(),
                    at: crate::sys::clock::now_rfc3339(),
                })
                .map_err(|e| crate::error::Error::Failed(e.to_string()))?;
            (
                RunStatus::Interrupted,
                Some(format!(
                    "interrupted by {signal}; every command it started was stopped"
                )),
            )
        }
        Ok(end) => end,
        // A resume that could not catch up has written nothing: the run
        // stays as it was, resumable once the cause is fixed.
        Err(e) if exec.recorder.catching_up() => {
            return Err(crate::error::Error::Failed(e.to_string()));
        }
        Err(e) => (RunStatus::Error, Some(e.to_string())),
    };
    exec.finish(status, reason.clone())?;
    Ok(RunOutcome {
        run_id: dir.id.clone(),
        dir,
        status,
        reason,
    })
}

struct Executor<'a> {
    plan: &'a Plan,
    dir: RunDir,
    /// The one writer of the trace (and, through it, of what the reporter
    /// shows).
    recorder: Recorder<'a>,
    /// Decides the run's checkpoints (see [`checkpoint`]).
    approver: &'a mut dyn Approver,
    /// How every command of the run is confined (`None`: `sandbox: off`,
    /// or not set up yet).
    sandbox: Option<crate::sandbox::Sandboxed>,
    /// The run's MCP servers (`None`: it declares none).
    mcp: Option<crate::mcp::Session>,
    /// The running step's own `sandbox.network` (`None`: the run's).
    step_network: Option<crate::spec::Network>,
    /// wf's proxies, one per list of hosts the run's steps use (see
    /// [`crate::sandbox::proxy`]); their connections are written to the
    /// trace before each event.
    proxies: std::collections::BTreeMap<Vec<String>, std::sync::Arc<crate::sandbox::proxy::Proxy>>,
    /// What is taken out of commands' output before the model or the
    /// trace sees it (see [`crate::secrets`]).
    secrets: crate::secrets::Secrets,
    pricing: Pricing,
    options: RunOptions,
    totals: Totals,
    cost_known: bool,
    deadline: Instant,
    /// The run's own deadline (`deadline` is narrower while a step with a
    /// timeout runs).
    run_deadline: Instant,
    /// The step limits in force: the running agent step's, and those of the
    /// recipe steps it is inside.
    step_limits: Vec<ActiveLimits>,
    diff_hash: Option<String>,
    /// The hash of the last diff approved at an apply or step checkpoint.
    approved_diff: Option<String>,
    files_changed: Vec<String>,
    /// What each step that ran changed, and under which rule (see
    /// `boundary`).
    writers: Vec<boundary::Writer>,
    /// What ran so far that could write (tool calls, command steps), for
    /// attributing a refused path.
    actions: Vec<String>,
    /// Something ran that could change the workspace (anything in
    /// `actions` but a tool that only reads): a checkout must then be put
    /// back at the end unless its change is kept.
    touched: bool,
    /// How agent conversations are kept short (see
    /// [`ConversationPolicy`]).
    conversation: ConversationPolicy,
    /// The tree the workspace is known to hold, with the number of
    /// [`Executor::actions`] at that moment: while nothing more ran, the
    /// workspace cannot have changed, and a snapshot costs nothing. Cleared
    /// before every command that runs in the workspace.
    known: Option<(usize, String)>,
    mode: Mode,
    /// Bytes written by `write_file` and `edit_file` so far in the run
    /// (`limits.max_write_bytes`).
    written_bytes: u64,
    /// The run paused at a checkpoint when a signal came at its prompt:
    /// the rest (the diff) is recorded as for any pause.
    settled: bool,
}

type End = (RunStatus, Option<String>);

/// Records provider retries as they happen.
struct Observer<'x, 'r> {
    recorder: &'x mut Recorder<'r>,
    secrets: &'x crate::secrets::Secrets,
    turn: u32,
    cache_hit: bool,
    deadline: Instant,
}

impl ProviderObserver for Observer<'_, '_> {
    fn cache_hit(&mut self) {
        self.cache_hit = true;
    }

    fn time_left(&self) -> Option<Duration> {
        // Interrupted: no retry, no new attempt.
        if crate::sys::signals::interrupted() {
            return Some(Duration::ZERO);
        }
        Some(self.deadline.saturating_duration_since(Instant::now()))
    }

    fn retry(&mut self, attempt: u32, reason: &str, wait: Duration) {
        let event = Event::ModelRetry {
            turn: self.turn,
            attempt,
            reason: self.secrets.redact(reason).into_owned(),
            wait_ms: wait.as_millis() as u64,
        };
        self.recorder.retry(event);
    }
}

impl Executor<'_> {
    fn emit(&mut self, event: Event) -> Result<(), EngineError> {
        if crate::sys::signals::interrupted() && !self.settled && !done_for_good(&event) {
            return Err(EngineError::Interrupted);
        }
        self.connections()?;
        if let Some(action) = boundary::action(&event) {
            self.touched |= !boundary::reads_only(&event);
            self.actions.push(action);
        }
        Ok(self.recorder.record(event)?)
    }

    /// The connections wf's proxies finished since the last event, as
    /// events, in the order they were accepted.
    fn connections(&mut self) -> Result<(), EngineError> {
        let mut done: Vec<crate::sandbox::proxy::Connection> =
            self.proxies.values().flat_map(|p| p.take_log()).collect();
        done.sort_by_key(|c| c.id);
        for c in done {
            self.recorder.record(Event::NetworkConnection {
                host: c.host,
                port: c.port,
                allowed: c.allowed,
                reason: c.reason,
                bytes_up: c.bytes_up,
                bytes_down: c.bytes_down,
            })?;
        }
        Ok(())
    }

    /// The workspace's state as a tree (see [`Executor::known`]): staged
    /// and written only when something ran since the last one.
    fn snapshot(&mut self, ws: &Workspace) -> Result<String, EngineError> {
        if let Some((count, tree)) = &self.known
            && *count == self.actions.len()
        {
            return Ok(tree.clone());
        }
        let tree = ws
            .snapshot()
            .map_err(EngineError::workspace("cannot snapshot the workspace"))?;
        self.known = Some((self.actions.len(), tree.clone()));
        Ok(tree)
    }

    /// Puts the workspace back to `tree`, which it then holds.
    fn restore(
        &mut self,
        ws: &Workspace,
        tree: &str,
    ) -> Result<(), crate::workspace::WorkspaceError> {
        ws.restore(tree)?;
        self.known = Some((self.actions.len(), tree.to_string()));
        Ok(())
    }

    /// The change so far (against the start) and the paths it touches; no
    /// git process at all when the workspace is known to be at its start.
    fn change(&mut self, ws: &Workspace) -> Result<(String, Vec<String>), EngineError> {
        let tree = self.snapshot(ws)?;
        if tree == ws.base_tree {
            return Ok((String::new(), Vec::new()));
        }
        // Bounded before the patch is made: the changed files' sizes come
        // from git's object headers, so a command that wrote 500 MB costs
        // wf no memory for it.
        let limit = self.plan.limits.max_diff_bytes;
        let sizes = ws
            .change_sizes()
            .map_err(EngineError::workspace("cannot measure the diff"))?;
        let total: u64 = sizes.iter().map(|(_, bytes)| bytes).sum();
        if total > limit {
            return Err(EngineError::Refused(too_big(Some(total), limit, &sizes)));
        }
        let patch = ws
            .staged_diff_within(limit)
            .map_err(EngineError::workspace("cannot compute the diff"))?
            .ok_or_else(|| EngineError::Refused(too_big(None, limit, &sizes)))?;
        let files = ws
            .changed_files()
            .map_err(EngineError::workspace("cannot list changed files"))?;
        // What the review lists and counts is read from the patch; it must
        // be every file git says changed, or nothing is shown or applied.
        let mut listed: Vec<String> = crate::patch::files(&patch)
            .into_iter()
            .map(|f| f.path)
            .collect();
        listed.sort();
        if listed != files {
            let missing: Vec<String> = files
                .iter()
                .filter(|f| !listed.contains(f))
                .chain(listed.iter().filter(|f| !files.contains(f)))
                .map(|f| crate::report::text::escape_line(f).into_owned())
                .collect();
            return Err(EngineError::Refused(format!(
                "refused: the patch and the workspace disagree on the changed files ({}); nothing was applied",
                missing.join(", ")
            )));
        }
        Ok((patch, files))
    }

    fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The whole run up to (not including) the final event. `Err` is a
    /// failure of wf itself (trace, workspace, git).
    fn drive(&mut self, provider: &mut dyn Provider) -> Result<End, EngineError> {
        let head = crate::sys::git::head(&self.plan.root);
        let revision = head.as_ref().map(|(commit, _)| commit.as_str());
        self.started(revision)?;
        let ws = self.workspace(head.as_ref())?;
        // A new workspace holds exactly its start.
        self.known = Some((self.actions.len(), ws.base_tree.clone()));
        self.emit(Event::WorkspaceReady {
            files: ws.files,
            base_tree: ws.base_tree.clone(),
            reused: Some(ws.reused),
            mode: ws.is_checkout().then(|| "checkout".to_string()),
        })?;
        let concluded = self
            .confine(&ws)
            .and_then(|()| self.mcp_servers(&ws))
            .and_then(|()| self.steps(provider, &ws))
            .and_then(|end| self.conclude(end, &ws));
        // A checkout keeps an approved change, else gets its start back,
        // before the run's end is recorded.
        // Nothing that could write ran (a run of questions and reads):
        // the checkout is its start, and no walk of it is needed.
        let untouched = !self.touched && self.mcp.is_none();
        // Else, where the workspace is known to hold its start (nothing ran
        // since its last snapshot or restore), only leftovers git ignores
        // need removing.
        let at_start = self
            .known
            .as_ref()
            .is_some_and(|(n, tree)| *n == self.actions.len() && *tree == ws.base_tree);
        match (concluded, ws.settle(untouched, at_start)) {
            (concluded, Ok(())) => concluded,
            (Ok(_), Err(e)) => Err(EngineError::workspace(
                "cannot put the checkout back at the run's start",
            )(e)),
            // An interruption stays one (the run unwinds to record it).
            (Err(EngineError::Interrupted), Err(_)) => Err(EngineError::Interrupted),
            (Err(first), Err(e)) => Err(EngineError::workspace(format!(
                "{first}; and cannot put the checkout back at the run's start"
            ))(e)),
        }
    }

    /// The run's first events: what runs, and the recipes it uses.
    fn started(&mut self, revision: Option<&str>) -> Result<(), EngineError> {
        let plan = self.plan;
        let model = match &plan.model.name {
            Some(name) => format!("{}/{name}", plan.model.provider.as_str()),
            None => plan.model.provider.as_str().to_string(),
        };
        self.emit(Event::RunStarted {
            trace_version: crate::record::event::TRACE_VERSION,
            wf_version: env!("CARGO_PKG_VERSION").to_string(),
            run_id: self.dir.id.clone(),
            spec_name: plan.name.clone(),
            spec_version: plan.version.clone(),
            spec_path: plan.spec_path.clone(),
            spec_hash: plan.spec_hash.clone(),
            inputs: plan.inputs.clone(),
            fingerprint: plan.fingerprint.clone(),
            base_revision: revision.map(str::to_string),
            model,
            dry_run: self.options.dry_run,
            sandbox: Some(Box::new(crate::record::event::SandboxSetting {
                mode: plan.sandbox.mode.as_str().to_string(),
                network: plan.sandbox.network.is_all(),
                hosts: plan.sandbox.network.hosts().to_vec(),
                read: plan.sandbox.read.clone(),
                write: plan.sandbox.write.clone(),
            })),
            // Old traces have none, and replay as NONE: written the same.
            conversation: (self.conversation != ConversationPolicy::NONE)
                .then_some(self.conversation),
            max_cost_usd: plan.cost_cap,
            sandbox_approval: plan.sandbox_approval.clone().map(Box::new),
            script: plan.script.clone().map(Box::new),
            at: crate::sys::clock::now_rfc3339(),
        })?;
        for pin in &plan.recipes {
            self.emit(Event::RecipeUsed {
                uses: pin.uses.clone(),
                name: pin.name.clone(),
                commit: pin.commit.clone(),
                sha256: pin.sha256.clone(),
            })?;
        }
        Ok(())
    }

    /// The workspace the run works in: the replay's or resume's, else a
    /// new one from the user's tree, its starting state recorded.
    fn workspace(&mut self, head: Option<&(String, String)>) -> Result<Workspace, EngineError> {
        let prebuilt = match &mut self.mode {
            Mode::Live => None,
            Mode::Replay(setup) => setup.workspace.take(),
            Mode::Resume(_, setup) => setup.workspace.take(),
        };
        if let Some(mut ws) = prebuilt {
            // A replay or resumed run: scratch package caches.
            if self.reaches_network() {
                ws.use_package_caches(None)
                    .map_err(EngineError::workspace("cannot prepare the package caches"))?;
            }
            return Ok(ws);
        }
        // The starting state (base commit + uncommitted changes) is
        // recorded so the run can be replayed and resumed later.
        // The files the context names literally join the start even when
        // git ignores them (see `workspace`, "Ignored files the task names").
        let mut named = Vec::new();
        named_in_context(&self.plan.steps, &mut named);
        named.sort();
        named.dedup();
        let mut ws = if self.options.checkout {
            Workspace::checkout(&self.plan.root, head, &self.dir.path)
        } else {
            Workspace::create_current(&self.plan.root, head, &named)
        }
        .map_err(EngineError::workspace("cannot prepare the workspace"))?;
        // The task's own build cache, kept only if this run's change is
        // applied (see `workspace`, "Build caches").
        ws.use_task_cache(&self.plan.spec_hash)
            .map_err(EngineError::workspace("cannot prepare the build cache"))?;
        // Package caches of the task's own where its commands may fetch
        // dependencies (see `workspace`, "Package caches").
        if self.reaches_network() {
            let root = crate::sys::user_dirs::cache_dir()
                .and_then(|dir| crate::sys::user_dirs::private(&dir))
                .map_err(|e| {
                    EngineError::Setup(format!("cannot prepare the package caches: {e}"))
                })?;
            ws.use_package_caches(Some((&self.plan.spec_hash, &root)))
                .map_err(EngineError::workspace("cannot prepare the package caches"))?;
        }
        if let Some(patch) = &ws.start_patch {
            std::fs::write(self.dir.path.join("start.patch"), patch)
                .map_err(EngineError::io("cannot write start.patch"))?;
        }
        Ok(ws)
    }

    /// Whether a confined command of the run may reach the network (the
    /// task's `sandbox.network` or a step's): then it gets package caches
    /// of wf's own. Unconfined commands use the user's own.
    fn reaches_network(&self) -> bool {
        fn steps_reach(steps: &[crate::plan::PlanStep]) -> bool {
            steps.iter().any(|step| match &step.kind {
                crate::plan::StepKind::Command { network, .. } => network
                    .as_ref()
                    .is_some_and(|n| *n != crate::spec::Network::Off),
                crate::plan::StepKind::Agent(agent) => agent
                    .network
                    .as_ref()
                    .is_some_and(|n| *n != crate::spec::Network::Off),
                crate::plan::StepKind::Uses(used) => steps_reach(&used.steps),
            })
        }
        self.plan.sandbox.mode != crate::spec::SandboxMode::Off
            && (self.plan.sandbox.network != crate::spec::Network::Off
                || steps_reach(&self.plan.steps))
    }

    /// Sets up the confinement of every command the run starts, in `ws`,
    /// and records it. With `sandbox: off` there is none, and the record
    /// says so.
    fn confine(&mut self, ws: &Workspace) -> Result<(), EngineError> {
        let setting = &self.plan.sandbox;
        let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
        if setting.mode == crate::spec::SandboxMode::Off {
            self.sandbox = None;
            ws.mark_unconfined()
                .map_err(EngineError::workspace("cannot prepare the workspace"))?;
            return self.emit(Event::SandboxReady {
                mode: "off".into(),
                network: true,
                hosts: Vec::new(),
                read: vec!["/".into()],
                write: vec!["/".into()],
                read_only: Vec::new(),
                level: None,
                env: env_names(self.plan, false),
            });
        }
        let sandboxed = crate::sandbox::confinement(
            &setting.read,
            &setting.write,
            setting.network.is_all(),
            &ws.dir,
            &ws.tmp,
            &ws.sandbox_read,
            &ws.sandbox_write,
        )
        .map_err(EngineError::io(
            "cannot find wf's own executable for the sandbox",
        ))?;
        let sandboxed = match &self.options.sandbox_helper {
            Some(helper) => crate::sandbox::Sandboxed {
                launcher: crate::sandbox::Launcher::with_exe(helper),
                ..sandboxed
            },
            None => sandboxed,
        };
        // The project where it expects itself: the workspace at the
        // repository's path (full level), the toolchain directories it
        // links to read-only (see `workspace`).
        let tools: Vec<crate::sandbox::Tool> = ws
            .tools
            .iter()
            .map(|t| crate::sandbox::Tool {
                at: t.at.clone(),
                source: t.source.clone(),
            })
            .collect();
        let mut sandboxed = sandboxed;
        // A checkout is at the repository's path already.
        if !ws.is_checkout() {
            sandboxed.policy = sandboxed.policy.placed(Some(&ws.origin), &tools);
        }
        // A checkout's `.wf` (the run's own records among them): read-only
        // like its `.git` (bound read-only: checkout mode runs at the full
        // level only, see `workspace::checkout`).
        if !ws.sandbox_read_only.is_empty() {
            if sandboxed.level != crate::sandbox::Level::Full {
                return Err(EngineError::Setup(
                    "refused: --workspace checkout needs the sandbox's full level".to_string(),
                ));
            }
            let mut policy = sandboxed.policy.clone();
            policy
                .read_only
                .extend(ws.sandbox_read_only.iter().cloned());
            sandboxed.policy = policy.normalized();
        }
        // A proxy for each list of hosts the task or a step has.
        let mut lists: Vec<Vec<String>> = Vec::new();
        network_lists(&self.plan.steps, &mut lists);
        lists.push(setting.network.hosts().to_vec());
        for list in lists {
            if list.is_empty() || self.proxies.contains_key(&list) {
                continue;
            }
            let proxy = crate::sandbox::proxy::Proxy::start(list.clone(), sandboxed.level)
                .map_err(EngineError::io("cannot start wf's network proxy"))?;
            self.proxies.insert(list, std::sync::Arc::new(proxy));
        }
        let sandboxed = self.with_network(sandboxed, &setting.network);
        let policy = &sandboxed.policy;
        let shown = |paths: &[std::path::PathBuf]| -> Vec<String> {
            paths
                .iter()
                .map(|p| shown_root(p, ws, home.as_deref()))
                .collect()
        };
        self.emit(Event::SandboxReady {
            mode: "auto".into(),
            network: policy.network,
            hosts: setting.network.hosts().to_vec(),
            read: shown(
                &policy
                    .read
                    .iter()
                    .chain(policy.tools.iter().map(|t| &t.source))
                    .cloned()
                    .collect::<Vec<_>>(),
            ),
            write: shown(&policy.write),
            read_only: shown(&policy.read_only),
            level: Some(sandboxed.level.name().to_string()),
            env: env_names(self.plan, !policy.network && policy.proxy.is_none()),
        })?;
        self.sandbox = Some(sandboxed);
        Ok(())
    }

    /// Records the MCP servers the run may call, with their tools as
    /// listed before the run, and sets up their session: a live run starts
    /// each server at its first call, in the workspace, confined like any
    /// command; a replay answers from the recorded run and starts none.
    fn mcp_servers(&mut self, ws: &Workspace) -> Result<(), EngineError> {
        if self.plan.mcp.is_empty() {
            return Ok(());
        }
        for (server, listing) in &self.plan.mcp {
            self.emit(Event::McpServer {
                server: server.clone(),
                package: listing.package.clone(),
                tools: listing.tools.clone(),
                sha256: listing.sha256.clone(),
            })?;
        }
        let (records, live) = match &self.mode {
            Mode::Live => (&[][..], true),
            Mode::Replay(setup) => (&setup.records[..], false),
            Mode::Resume(_, setup) => (&setup.prefix[..], true),
        };
        let session =
            crate::mcp::Session::new(self.plan, &ws.dir, self.sandbox.clone(), records, live)
                .map_err(EngineError::Setup)?;
        self.mcp = Some(session);
        Ok(())
    }

    /// The confinement of the running step's commands: the run's, with the
    /// step's own network setting.
    fn confinement(&self) -> Option<crate::sandbox::Sandboxed> {
        let network = self
            .step_network
            .as_ref()
            .unwrap_or(&self.plan.sandbox.network);
        Some(self.with_network(self.sandbox.clone()?, network))
    }

    /// `sandboxed` with `network`: a list of hosts through its proxy
    /// (started in [`Executor::confine`]; without one, no network).
    fn with_network(
        &self,
        sandboxed: crate::sandbox::Sandboxed,
        network: &crate::spec::Network,
    ) -> crate::sandbox::Sandboxed {
        match network {
            crate::spec::Network::Hosts(list) => {
                sandboxed.with_network(false, self.proxies.get(list).cloned())
            }
            other => sandboxed.with_network(other.is_all(), None),
        }
    }

    /// The variables the running step's commands (checks, its command,
    /// `shell` calls) get on top of the scrubbed environment, later ones
    /// winning: the workspace's (`TMPDIR`, shared build caches); without
    /// the network, confined, the toolchains' offline switches
    /// ([`crate::sys::process::OFFLINE_ENV`]); then the step's `env`, a
    /// `from_env` value read from wf's environment now. A `from_env`
    /// variable wf's environment lacks is an error naming it: the command
    /// would otherwise run without what its task file said it needs.
    fn command_env(
        &self,
        ws: &Workspace,
        env: &crate::plan::Env,
    ) -> Result<Vec<(String, String)>, EngineError> {
        let mut out = ws.env.clone();
        // Where the workspace is not shown at the repository's path (no
        // namespaces, or `sandbox: off`), the editable installs of a
        // linked virtual environment point at the user's tree: the
        // workspace's own directories go first on Python's path.
        let placed = self.confinement().is_some_and(|s| {
            s.level == crate::sandbox::Level::Full && s.policy.repository.is_some()
        });
        if !placed && !ws.python_paths.is_empty() {
            let paths: Vec<String> = ws
                .python_paths
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            out.push(("PYTHONPATH".to_string(), paths.join(":")));
        }
        // Offline only without any network: a host list reaches its
        // registries through the proxy.
        if self
            .confinement()
            .is_some_and(|s| !s.policy.network && s.policy.proxy.is_none())
        {
            out.extend(
                crate::sys::process::OFFLINE_ENV
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string())),
            );
        }
        for (name, value) in env {
            let value = match value {
                crate::spec::EnvValue::Text(text) => text.clone(),
                crate::spec::EnvValue::FromEnv { from_env } => std::env::var(from_env)
                    .map_err(|_| {
                        EngineError::Setup(format!(
                            "env `{name}` takes `{from_env}` from wf's environment, which does not set it; set it, or remove it from `env`"
                        ))
                    })?,
            };
            out.push((name.clone(), value));
        }
        Ok(out)
    }

    /// Asks the approver at a checkpoint. A checkpoint that approves a
    /// change records, with an approval, the SHA-256 of that exact diff,
    /// and a recorded approval (a resumed run, `wf approve`) must be for
    /// that diff, else the resume stops. `None` means approved: go on.
    fn checkpoint(
        &mut self,
        name: CheckpointName,
        step: Option<&str>,
        subject: Subject<'_>,
    ) -> Result<Option<End>, EngineError> {
        let patch = match subject {
            Subject::Plan(_) => None,
            Subject::Step(change) | Subject::Apply { change, .. } => Some(change.patch.as_str()),
        };
        let shown = patch.map(workspace::diff_hash);
        self.emit(Event::Checkpoint {
            name,
            state: CheckpointState::Reached,
            by: None,
            via: None,
            comment: None,
            at: Some(crate::sys::clock::now_rfc3339()),
            commit: false,
            step: step.map(str::to_string),
            diff_sha256: None,
        })?;
        self.recorder.pause_display();
        let catching_up = self.recorder.catching_up();
        let decision = match &mut self.mode {
            Mode::Replay(setup) if !setup.decisions.is_empty() => setup.decisions.remove(0),
            Mode::Replay(_) => Decision::Paused,
            // A checkpoint a resumed run has passed, or paused at and that
            // `wf approve` / `wf reject` decided since: the recorded decision.
            Mode::Resume(..) if catching_up => {
                let rest = self.recorder.still_recorded();
                let decision = recorded_decision(rest);
                if let (Decision::Approved { .. }, Some(shown), Some(approved)) =
                    (&decision, &shown, recorded_diff_hash(rest))
                    && approved != *shown
                {
                    return Err(EngineError::Refused(format!(
                        "refused: the recorded approval of the {} is not for this change: approved diff {approved}, about to apply {shown}; nothing was applied",
                        match step {
                            Some(step) =>
                                format!("{} checkpoint (after step `{step}`)", name.as_str()),
                            None => format!("{} checkpoint", name.as_str()),
                        }
                    )));
                }
                decision
            }
            Mode::Live | Mode::Resume(..) => self.approver.decide(&Checkpoint {
                name,
                step,
                root: &self.plan.root,
                subject,
            }),
        };
        let (state, by, via) = match &decision {
            Decision::Approved { by, via } => (
                CheckpointState::Approved,
                Some(by.clone()),
                Some(via.clone()),
            ),
            Decision::Rejected { by, via } => (
                CheckpointState::Rejected,
                Some(by.clone()),
                Some(via.clone()),
            ),
            Decision::Paused => (CheckpointState::Paused, None, None),
        };
        // Paused by a signal at the prompt: the run ends as any pause does.
        if decision == Decision::Paused && crate::sys::signals::interrupted() {
            self.settled = true;
        }
        let approved = matches!(decision, Decision::Approved { .. });
        self.emit(Event::Checkpoint {
            name,
            state,
            by,
            via,
            comment: None,
            at: Some(crate::sys::clock::now_rfc3339()),
            commit: false,
            step: step.map(str::to_string),
            diff_sha256: if approved { shown.clone() } else { None },
        })?;
        if approved && let Some(shown) = shown {
            self.approved_diff = Some(shown);
        }
        Ok(match decision {
            Decision::Approved { .. } => None,
            Decision::Rejected { by, .. } => Some((
                RunStatus::Rejected,
                Some(match step {
                    Some(step) => format!(
                        "{} checkpoint (after step `{step}`) rejected by {by}",
                        name.as_str()
                    ),
                    None => format!("{} checkpoint rejected by {by}", name.as_str()),
                }),
            )),
            Decision::Paused => Some((
                RunStatus::Paused,
                Some(format!(
                    "paused at the {} checkpoint: {}; the run is saved in {}",
                    name.as_str(),
                    if self.settled {
                        "interrupted at the prompt"
                    } else {
                        "no terminal to ask and no --yes"
                    },
                    self.dir.path.display()
                )),
            )),
        })
    }

    /// After the agent loop: keep the diff, then show, approve and apply it
    /// when the checks passed.
    fn conclude(&mut self, end: End, ws: &Workspace) -> Result<End, EngineError> {
        let (patch, files) = self.change(ws)?;
        std::fs::write(self.dir.diff(), &patch)
            .map_err(EngineError::io("cannot write diff.patch"))?;
        let hash = workspace::diff_hash(&patch);
        self.emit(Event::DiffReady {
            diff_hash: hash.clone(),
            files: files.clone(),
        })?;
        self.diff_hash = Some(hash);
        self.files_changed = files.clone();
        if end.0 != RunStatus::Succeeded {
            return Ok(end);
        }
        if files.is_empty() {
            self.recorder.say("No changes to apply.\n");
            return Ok(end);
        }
        // The change must obey the run's permissions, however it was made
        // (a command can write anywhere in the workspace).
        if let Some(end) = self.refuse_outside(ws, &files)? {
            return Ok(end);
        }
        let change = Change::new(patch, files.clone());
        if self.options.dry_run {
            self.recorder.pause_display();
            self.approver.dry_run(&change, &self.dir.diff());
            return Ok((RunStatus::DryRun, None));
        }
        if self.plan.checkpoints.apply {
            let subject = Subject::Apply {
                change: &change,
                unconfined: self.plan.sandbox.mode == crate::spec::SandboxMode::Off,
            };
            if let Some(end) = self.checkpoint(CheckpointName::Apply, None, subject)? {
                return Ok(end);
            }
        }
        // What is applied is the diff approved, byte for byte.
        let on_disk = std::fs::read_to_string(self.dir.diff())
            .map_err(EngineError::io("cannot read diff.patch"))?;
        let about_to_apply = workspace::diff_hash(&on_disk);
        let approved = if self.plan.checkpoints.apply {
            self.approved_diff.clone()
        } else {
            self.diff_hash.clone()
        };
        if let Some(approved) = approved
            && approved != about_to_apply
        {
            let message = format!(
                "refused: approved diff {approved}, about to apply {about_to_apply}; nothing was applied"
            );
            return Ok((RunStatus::Error, Some(message)));
        }
        if let Mode::Replay(_) = self.mode {
            // A replay never touches the user's tree; it records what the
            // run did at this point.
            self.emit(Event::Applied { files })?;
            return Ok((RunStatus::Succeeded, None));
        }
        if ws.is_checkout() {
            // The change is in place already: it stays, if the checkout
            // still holds exactly the approved diff; nothing is applied.
            if let Err(e) = ws.keep_change(&about_to_apply) {
                return Ok((RunStatus::Error, Some(format!("refused: {e}"))));
            }
            return self.applied(ws, files);
        }
        match ws.changed_in_origin(&files) {
            Ok(conflicts) if !conflicts.is_empty() => {
                let message = workspace::WorkspaceError::Conflict(conflicts).to_string()
                    + &format!("; the patch is kept in {}", self.dir.diff().display());
                self.emit(Event::ApplyFailed {
                    message: message.clone(),
                })?;
                return Ok((RunStatus::ApplyFailed, Some(message)));
            }
            Ok(_) => {}
            Err(e) => return Err(EngineError::workspace("cannot compare with your tree")(e)),
        }
        match workspace::apply(&self.plan.root, &self.dir.diff()) {
            Ok(()) => self.applied(ws, files),
            Err(e) => {
                let message = format!("{e}; the patch is kept in {}", self.dir.diff().display());
                self.emit(Event::ApplyFailed {
                    message: message.clone(),
                })?;
                Ok((RunStatus::ApplyFailed, Some(message)))
            }
        }
    }

    /// The change is in the user's tree (applied, or left in place in
    /// checkout mode): recorded, its build cache kept, committed if asked.
    fn applied(&mut self, ws: &Workspace, files: Vec<String>) -> Result<End, EngineError> {
        self.emit(Event::Applied {
            files: files.clone(),
        })?;
        // What this run's commands left in the task's build cache
        // is trusted with the change (see `workspace`). Unkept (a
        // failed write), the next run starts it empty: the safe side.
        let _ = ws.keep_build_cache();
        if self.options.commit {
            let message = commit_message(self.plan, &self.dir.id, &self.approvers());
            match workspace::commit(&self.plan.root, &files, &message) {
                Ok(revision) => self.emit(Event::Committed { revision, files })?,
                Err(e) => {
                    return Ok((
                        RunStatus::Error,
                        Some(format!("the change was applied, but not committed: {e}")),
                    ));
                }
            }
        }
        Ok((RunStatus::Succeeded, None))
    }

    /// Who approved the apply checkpoint, from the events so far.
    fn approvers(&self) -> Vec<String> {
        self.recorder
            .summary()
            .approvals
            .into_iter()
            .filter(|a| a.checkpoint == "apply" && a.decision == "approved")
            .filter_map(|a| a.by)
            .collect()
    }

    fn finish(
        &mut self,
        status: RunStatus,
        reason: Option<String>,
    ) -> Result<(), crate::error::Error> {
        let event = Event::RunFinished {
            status,
            reason,
            diff_hash: self.diff_hash.clone(),
            files_changed: self.files_changed.clone(),
            totals: self.totals.clone(),
        };
        self.recorder
            .record(event)
            .map_err(|e| crate::error::Error::Failed(e.to_string()))?;
        self.recorder.pause_display();
        self.recorder
            .write_summary()
            .map_err(|e| crate::error::Error::io("cannot write summary.json", e))?;
        Ok(())
    }
}

/// A sandbox root as recorded: the workspace as `$WORKSPACE`, the run's
/// temp dir as `$RUN_TMP`, the user's repository as `$REPO`, the home
/// directory as `~`, so that the record
/// does not depend on where the run happened to be.
fn shown_root(path: &std::path::Path, ws: &Workspace, home: Option<&std::path::Path>) -> String {
    let canonical = |p: &std::path::Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let replacements = [
        (canonical(&ws.dir), "$WORKSPACE"),
        (canonical(&ws.tmp), "$RUN_TMP"),
        (canonical(&ws.origin), "$REPO"),
    ];
    for (root, name) in &replacements {
        if let Ok(rest) = path.strip_prefix(root) {
            return if rest.as_os_str().is_empty() {
                name.to_string()
            } else {
                format!("{name}/{}", rest.display())
            };
        }
    }
    if let Some(home) = home.map(canonical)
        && let Ok(rest) = path.strip_prefix(&home)
    {
        return format!("~/{}", rest.display());
    }
    path.display().to_string()
}

/// The commit message of an applied run: a subject, then trailers naming the
/// run, the task and its version, and the approver(s).
pub fn commit_message(plan: &Plan, run_id: &str, approvers: &[String]) -> String {
    let version = plan
        .version
        .as_deref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    let first_line = plan
        .implicit_step()
        .map_or("", |step| step.prompt.as_str())
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut msg = format!(
        "wf: {}{version}\n\n{first_line}\n\nWf-Run: {run_id}\nWf-Task: {}\n",
        plan.name, plan.name
    );
    if let Some(v) = &plan.version {
        msg.push_str(&format!("Wf-Task-Version: {v}\n"));
    }
    msg.push_str(&format!("Wf-Spec-Hash: {}\n", plan.spec_hash));
    for a in approvers {
        msg.push_str(&format!("Approved-By: {a}\n"));
    }
    msg
}

/// The environment of a check or command step: the step's command
/// environment (see [`Executor::command_env`]), the starting tree as
/// `WF_BASE_TREE` (so a check can compare with it: `git diff
/// $WF_BASE_TREE`), and every input as `WF_INPUT_<NAME>` (upper case). Inputs
/// reach checks as variables, never spliced into the command line.
fn check_env(
    mut env: Vec<(String, String)>,
    ws: &Workspace,
    inputs: &std::collections::BTreeMap<String, serde_json::Value>,
) -> Vec<(String, String)> {
    env.push(("WF_BASE_TREE".into(), ws.base_tree.clone()));
    for (name, value) in inputs {
        let text = crate::spec::inputs::as_text(value);
        env.push((format!("WF_INPUT_{}", name.to_ascii_uppercase()), text));
    }
    env
}

/// The names of the variables the plan's commands get beyond the scrubbed
/// environment (see [`Event::SandboxReady`]): every step's `env`, and the
/// offline switches when `offline`; sorted, each once.
fn env_names(plan: &Plan, offline: bool) -> Vec<String> {
    fn walk(steps: &[crate::plan::PlanStep], out: &mut std::collections::BTreeSet<String>) {
        for step in steps {
            match &step.kind {
                crate::plan::StepKind::Agent(a) => out.extend(a.env.keys().cloned()),
                crate::plan::StepKind::Command { env, .. } => out.extend(env.keys().cloned()),
                crate::plan::StepKind::Uses(u) => walk(&u.steps, out),
            }
        }
    }
    let mut names = std::collections::BTreeSet::new();
    walk(&plan.steps, &mut names);
    if offline {
        names.extend(
            crate::sys::process::OFFLINE_ENV
                .iter()
                .map(|(k, _)| k.to_string()),
        );
    }
    names.into_iter().collect()
}

/// The `context_resolved` event of a resolved context.
fn context_event(context: &crate::context::Context) -> Event {
    Event::ContextResolved {
        files: context
            .files
            .iter()
            .map(|f| FileRef {
                path: f.path.clone(),
                bytes: f.bytes,
                tokens: f.tokens,
                hash: f.hash.clone(),
            })
            .collect(),
        total_tokens: context.total_tokens,
    }
}

/// Whether `event` records something done for good, recorded even after a
/// signal (see the module docs): an application, a commit, a failed
/// application, a checkpoint's decision.
fn done_for_good(event: &Event) -> bool {
    match event {
        Event::Applied { .. } | Event::Committed { .. } | Event::ApplyFailed { .. } => true,
        Event::Checkpoint { state, .. } => *state != CheckpointState::Reached,
        _ => false,
    }
}

/// The error of a change over `limits.max_diff_bytes`: its size (the
/// changed files' bytes before and after; `None` when the files fit but
/// their patch did not), the limit and its largest files (names escaped),
/// nothing applied.
fn too_big(total: Option<u64>, limit: u64, sizes: &[(String, u64)]) -> String {
    let largest: Vec<String> = sizes
        .iter()
        .take(5)
        .map(|(path, bytes)| {
            format!(
                "{} ({})",
                crate::report::text::escape_line(path),
                crate::report::text::bytes(*bytes)
            )
        })
        .collect();
    let more = sizes.len().saturating_sub(largest.len());
    let size = match total {
        Some(total) => format!(
            "{} of changed content > {}",
            crate::report::text::bytes(total),
            crate::report::text::bytes(limit)
        ),
        None => format!("its patch passed {}", crate::report::text::bytes(limit)),
    };
    format!(
        "the run's change is over limits.max_diff_bytes ({size}): nothing was applied and no diff.patch was written; {} changed file{}, the largest: {}{}",
        sizes.len(),
        if sizes.len() == 1 { "" } else { "s" },
        largest.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

/// The diff hash of the decision recorded right after a checkpoint was
/// reached, if it records one (traces of older wf do not).
fn recorded_diff_hash(rest: &[Record]) -> Option<String> {
    rest.iter()
        .find(|r| Decision::of(&r.event).is_some())
        .and_then(|r| match &r.event {
            Event::Checkpoint { diff_sha256, .. } => diff_sha256.clone(),
            _ => None,
        })
}

/// The decision recorded right after a checkpoint was reached.
fn recorded_decision(rest: &[Record]) -> Decision {
    rest.iter()
        .find_map(|r| Decision::of(&r.event))
        .unwrap_or(Decision::Paused)
}

/// The lists of hosts the steps (recipe steps included) set for
/// themselves.
/// The files the agent steps' contexts name literally (an include without
/// wildcards that resolved to a file), nested recipes' included.
fn named_in_context(steps: &[crate::plan::PlanStep], out: &mut Vec<String>) {
    for step in steps {
        match &step.kind {
            crate::plan::StepKind::Agent(agent) => out.extend(
                agent
                    .context_include
                    .iter()
                    .filter(|g| !g.contains(['*', '?', '[', '{', '\\']))
                    .map(|g| g.trim_end_matches('/'))
                    .filter(|g| agent.context.files.iter().any(|f| f.path == *g))
                    .map(str::to_string),
            ),
            crate::plan::StepKind::Uses(used) => named_in_context(&used.steps, out),
            crate::plan::StepKind::Command { .. } => {}
        }
    }
}

fn network_lists(steps: &[crate::plan::PlanStep], out: &mut Vec<Vec<String>>) {
    for step in steps {
        let network = match &step.kind {
            crate::plan::StepKind::Command { network, .. } => network.as_ref(),
            crate::plan::StepKind::Agent(agent) => agent.network.as_ref(),
            crate::plan::StepKind::Uses(used) => {
                network_lists(&used.steps, out);
                None
            }
        };
        if let Some(crate::spec::Network::Hosts(list)) = network {
            out.push(list.clone());
        }
    }
}
