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
//!   its first events and workspace;
//! - `confine`: the confinement of the run's commands (sandbox roots and
//!   level, the proxy for host lists), the MCP servers it may call, the
//!   commands' environment;
//! - `conclude`: the run's change, checkpoints, and the conclusion (diff,
//!   apply checkpoint, apply, commit, the last event);
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
//! answer are the front end's (`wf::app::approver`); a test drives the
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
mod conclude;
mod confine;
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
pub use conclude::commit_message;
use confine::check_env;
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
        Mode::Live => Store::open(&plan.root)?
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
        Mode::Live => Some(crate::record::store::RunLock::acquire(&dir)?),
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
        secrets: crate::secrets::Secrets::from_env(),
        pricing,
        confined: Confined {
            sandbox: None,
            mcp: None,
            step_network: None,
            proxies: std::collections::BTreeMap::new(),
        },
        spent: Spent {
            totals: Totals {
                input_tokens: Some(0),
                output_tokens: Some(0),
                ..Totals::default()
            },
            cost_known: true,
            written_bytes: 0,
        },
        change: Changed::default(),
        options,
        deadline: Instant::now() + plan.limits.timeout.map_or(DEFAULT_RUN_TIMEOUT, |t| t.0),
        run_deadline: Instant::now() + plan.limits.timeout.map_or(DEFAULT_RUN_TIMEOUT, |t| t.0),
        step_limits: Vec::new(),
        mode,
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
            exec.recorder.record(Event::RunInterrupted {
                signal: signal.to_string(),
                at: crate::sys::clock::now_rfc3339(),
            })?;
            (
                RunStatus::Interrupted,
                Some(format!(
                    "interrupted by {signal}; every command it started was stopped"
                )),
            )
        }
        Ok(end) => end,
        // A resume that could not catch up has written nothing: the run
        // stays as it was, resumable once the cause is fixed. A re-execution
        // that went otherwise (or a trace it cannot write) keeps its type;
        // the top-level error cannot name the engine's (it sits below it).
        Err(EngineError::Record(e)) if exec.recorder.catching_up() => {
            return Err(crate::error::Error::Record(e));
        }
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
    /// What is taken out of commands' output before the model or the
    /// trace sees it (see [`crate::secrets`]).
    secrets: crate::secrets::Secrets,
    pricing: Pricing,
    /// How the run's commands are confined, and its MCP servers.
    confined: Confined,
    /// What the run has spent against its limits.
    spent: Spent,
    /// What the run has changed so far: the material of its conclusion.
    change: Changed,
    options: RunOptions,
    deadline: Instant,
    /// The run's own deadline (`deadline` is narrower while a step with a
    /// timeout runs).
    run_deadline: Instant,
    /// The step limits in force: the running agent step's, and those of the
    /// recipe steps it is inside.
    step_limits: Vec<ActiveLimits>,
    /// How agent conversations are kept short (see
    /// [`ConversationPolicy`]).
    conversation: ConversationPolicy,
    mode: Mode,
    /// The run paused at a checkpoint when a signal came at its prompt:
    /// the rest (the diff) is recorded as for any pause.
    settled: bool,
}

/// How the commands of a run are confined, and its MCP servers: set up
/// once the workspace is ready (`confine`).
struct Confined {
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
}

/// What a run has spent: tokens, cost, bytes written (`limits`).
struct Spent {
    totals: Totals,
    cost_known: bool,
    /// Bytes written by `write_file` and `edit_file` so far in the run
    /// (`limits.max_write_bytes`).
    written_bytes: u64,
}

/// What a run has changed so far, and who changed it: what its
/// conclusion shows, checks and applies (`conclude`, `boundary`).
#[derive(Default)]
struct Changed {
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
    /// The tree the workspace is known to hold, with the number of
    /// [`Changed::actions`] at that moment: while nothing more ran, the
    /// workspace cannot have changed, and a snapshot costs nothing. Cleared
    /// before every command that runs in the workspace.
    known: Option<(usize, String)>,
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
            self.change.touched |= !boundary::reads_only(&event);
            self.change.actions.push(action);
        }
        Ok(self.recorder.record(event)?)
    }

    /// The connections wf's proxies finished since the last event, as
    /// events, in the order they were accepted.
    fn connections(&mut self) -> Result<(), EngineError> {
        let mut done: Vec<crate::sandbox::proxy::Connection> = self
            .confined
            .proxies
            .values()
            .flat_map(|p| p.take_log())
            .collect();
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
        if let Some((count, tree)) = &self.change.known
            && *count == self.change.actions.len()
        {
            return Ok(tree.clone());
        }
        let tree = ws
            .snapshot()
            .map_err(EngineError::workspace("cannot snapshot the workspace"))?;
        self.change.known = Some((self.change.actions.len(), tree.clone()));
        Ok(tree)
    }

    /// Puts the workspace back to `tree`, which it then holds.
    fn restore(
        &mut self,
        ws: &Workspace,
        tree: &str,
    ) -> Result<(), crate::workspace::WorkspaceError> {
        ws.restore(tree)?;
        self.change.known = Some((self.change.actions.len(), tree.to_string()));
        Ok(())
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
        self.change.known = Some((self.change.actions.len(), ws.base_tree.clone()));
        self.emit(Event::WorkspaceReady {
            files: ws.files,
            base_tree: ws.base_tree.clone(),
            reused: Some(ws.reused),
            mode: ws.is_checkout().then(|| "checkout".to_string()),
            submodules: ws.submodules.clone(),
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
        let untouched = !self.change.touched && self.confined.mcp.is_none();
        // Else, where the workspace is known to hold its start (nothing ran
        // since its last snapshot or restore), only leftovers git ignores
        // need removing.
        let at_start = self
            .change
            .known
            .as_ref()
            .is_some_and(|(n, tree)| *n == self.change.actions.len() && *tree == ws.base_tree);
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

/// The files the agent steps' contexts name literally (an include without
/// wildcards that resolved to a file), nested recipes' included.
fn named_in_context(steps: &[crate::plan::PlanStep], out: &mut Vec<String>) {
    for step in steps {
        match &step.kind {
            crate::plan::StepKind::Agent(agent) => out.extend(
                agent
                    .context_include
                    .iter()
                    .filter_map(|g| crate::context::named_literally(g))
                    .filter(|g| agent.context.files.iter().any(|f| f.path == *g))
                    .map(str::to_string),
            ),
            crate::plan::StepKind::Uses(used) => named_in_context(&used.steps, out),
            crate::plan::StepKind::Command { .. } => {}
        }
    }
}
