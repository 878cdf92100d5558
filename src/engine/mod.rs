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

pub mod checkpoint;
pub mod checks;
mod limits;
mod prompt;
mod steps;

pub use crate::provider::cost::usd;
use limits::ActiveLimits;
use prompt::{Conversation, indent, response_text, user_text};
pub use prompt::{first_message, fixed_request_bytes, instructions};

use crate::plan::Plan;
use crate::provider::{
    Block, Message, ModelRequest, ModelResponse, Provider, ProviderObserver, Role, StopReason,
    Usage,
};
use crate::record::event::{
    CheckpointName, CheckpointState, Event, FileRef, Record, RunStatus, Totals,
};
use crate::record::store::{RunDir, Store};
use crate::record::trace::TraceWriter;
use crate::spec::StepLimits;
use crate::tools::ToolLayer;
use crate::workspace::{self, Workspace};
use checkpoint::{Approver, Decision};
use std::time::{Duration, Instant};

/// Default `limits.timeout`.
pub const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(30 * 60);

pub use crate::record::recorder::Reporter;

/// How a run is driven.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Approve checkpoints (`--yes`).
    pub yes: bool,
    /// Run everything, show the diff, never apply (`--dry-run`).
    pub dry_run: bool,
    /// A person can be asked (stdin and stderr are terminals).
    pub interactive: bool,
    /// Color the diff.
    pub color: bool,
    /// Commit the applied change, with trailers naming the run (`--commit`).
    pub commit: bool,
}

/// Whether the run is live or re-executes a recorded one.
#[derive(Debug)]
pub enum Mode {
    /// A new run: recorded in `.wf/runs`, applied to the user's tree.
    Live,
    /// A replay: recorded in a scratch folder, never applied.
    Replay(ReplaySetup),
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

/// Runs `plan` with `provider`.
pub fn run(
    plan: &Plan,
    provider: &mut dyn Provider,
    pricing: Pricing,
    options: RunOptions,
    reporter: &mut dyn Reporter,
) -> Result<RunOutcome, crate::error::Error> {
    run_with(plan, provider, pricing, options, reporter, Mode::Live)
}

/// Runs `plan` live or as a replay.
pub fn run_with(
    plan: &Plan,
    provider: &mut dyn Provider,
    pricing: Pricing,
    options: RunOptions,
    reporter: &mut dyn Reporter,
    mode: Mode,
) -> Result<RunOutcome, crate::error::Error> {
    let dir = match &mode {
        Mode::Live => Store::new(&plan.root)
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
    let trace = match &mode {
        Mode::Resume(_, setup) => TraceWriter::reopen(&dir.trace(), &setup.records)
            .map_err(|e| crate::error::Error::io("cannot reopen the trace", e))?,
        _ => TraceWriter::create(&dir.trace())
            .map_err(|e| crate::error::Error::io("cannot create the trace", e))?,
    };
    let catch_up = match &mode {
        Mode::Resume(_, setup) => setup
            .prefix
            .iter()
            .filter(|r| !matches!(r.event, Event::ModelRetry { .. }))
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    let mut exec = Executor {
        plan,
        dir: dir.clone(),
        trace,
        reporter,
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
        files_changed: Vec::new(),
        mode,
        catch_up,
        caught_up: 0,
    };
    let (status, reason) = match exec.drive(provider) {
        Ok(end) => end,
        // A resume that could not catch up has written nothing: the run
        // stays as it was, resumable once the cause is fixed.
        Err(e) if exec.caught_up < exec.catch_up.len() => {
            return Err(crate::error::Error::Failed(e));
        }
        Err(e) => (RunStatus::Error, Some(e)),
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
    trace: TraceWriter,
    reporter: &'a mut dyn Reporter,
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
    files_changed: Vec<String>,
    mode: Mode,
    /// Recorded events a resume must reproduce before it appends new ones.
    catch_up: Vec<Record>,
    caught_up: usize,
}

type End = (RunStatus, Option<String>);

/// Records provider retries as they happen.
struct Observer<'x> {
    trace: &'x mut TraceWriter,
    reporter: &'x mut dyn Reporter,
    turn: u32,
    cache_hit: bool,
    deadline: Instant,
}

impl ProviderObserver for Observer<'_> {
    fn cache_hit(&mut self) {
        self.cache_hit = true;
    }

    fn time_left(&self) -> Option<Duration> {
        Some(self.deadline.saturating_duration_since(Instant::now()))
    }

    fn retry(&mut self, attempt: u32, reason: &str, wait: Duration) {
        let event = Event::ModelRetry {
            turn: self.turn,
            attempt,
            reason: reason.to_string(),
            wait_ms: wait.as_millis() as u64,
        };
        if let Ok(record) = self.trace.append(event) {
            self.reporter.record(&record);
        }
    }
}

impl Executor<'_> {
    fn emit(&mut self, event: Event) -> Result<(), String> {
        if self.caught_up < self.catch_up.len() {
            let expected = self.catch_up[self.caught_up].clone();
            let actual = Record {
                seq: expected.seq,
                t_ms: expected.t_ms,
                event,
                hash: String::new(),
            };
            if let Some(d) = crate::record::compare::compare(
                std::slice::from_ref(&expected),
                std::slice::from_ref(&actual),
            ) {
                return Err(format!(
                    "cannot resume: the run goes differently now, at event {} ({}): {}",
                    expected.seq,
                    expected.event.kind(),
                    d.hint
                ));
            }
            self.caught_up += 1;
            return Ok(());
        }
        let record = self
            .trace
            .append(event)
            .map_err(|e| format!("cannot write the trace: {e}"))?;
        self.reporter.record(&record);
        Ok(())
    }

    fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The whole run up to (not including) the final event. `Err` is a
    /// failure of wf itself (trace, workspace, git).
    fn drive(&mut self, provider: &mut dyn Provider) -> Result<End, String> {
        let plan = self.plan;
        let model = match &plan.model.name {
            Some(name) => format!("{}/{name}", plan.model.provider.as_str()),
            None => plan.model.provider.as_str().to_string(),
        };
        let revision = workspace::head_revision(&plan.root);
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
            base_revision: revision.clone(),
            model,
            dry_run: self.options.dry_run,
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
        let prebuilt = match &mut self.mode {
            Mode::Live => None,
            Mode::Replay(setup) => setup.workspace.take(),
            Mode::Resume(_, setup) => setup.workspace.take(),
        };
        let ws = match prebuilt {
            Some(ws) => ws,
            None => {
                // Record the starting state (base commit + uncommitted
                // changes) so the run can be replayed and resumed later.
                if let Some(patch) = workspace::start_patch(&plan.root, revision.as_deref())
                    .map_err(|e| format!("cannot record the starting state: {e}"))?
                {
                    std::fs::write(self.dir.path.join("start.patch"), patch)
                        .map_err(|e| format!("cannot write start.patch: {e}"))?;
                }
                Workspace::create_from(&plan.root, &workspace::Source::Current)
                    .map_err(|e| format!("cannot prepare the workspace: {e}"))?
            }
        };
        self.emit(Event::WorkspaceReady {
            files: ws.files,
            base_tree: ws.base_tree.clone(),
        })?;
        if plan.steps.is_empty() {
            self.emit(context_event(&plan.context))?;
        }
        if plan.steps.is_empty() {
            let (end, _) = self.agent(provider, &ws, plan, None, "", &StepLimits::default())?;
            return self.conclude(end, &ws);
        }
        let end = self.steps(provider, &ws)?;
        self.conclude(end, &ws)
    }

    /// An agent with the tools, permissions and checks of `view`, within
    /// the step's `limits` (and the run's).
    fn agent(
        &mut self,
        provider: &mut dyn Provider,
        ws: &Workspace,
        view: &Plan,
        output_schema: Option<&serde_json::Value>,
        label: &str,
        limits: &StepLimits,
    ) -> Result<(End, String), String> {
        let mut tools = ToolLayer::new(
            &ws.dir,
            &view.tools,
            &view.permissions,
            &view.bounds,
            ws.env.clone(),
        )
        .map_err(|e| format!("cannot set up the tools: {e}"))?;
        let plan_phase = view.checkpoints.plan;
        tools.set_writes_allowed(!plan_phase);
        let outer = self.enter_limits(label, limits);
        let done = self.agent_loop(
            provider,
            &mut tools,
            ws,
            plan_phase,
            view,
            output_schema,
            limits.max_repairs,
        );
        self.leave_limits(outer);
        done
    }

    /// One agent's work: model turns and tool calls until it is done, then
    /// the output schema (if any) and the checks, with repair rounds. On
    /// success, the final answer's text.
    #[allow(clippy::too_many_arguments)]
    fn agent_loop(
        &mut self,
        provider: &mut dyn Provider,
        tools: &mut ToolLayer,
        ws: &Workspace,
        mut plan_phase: bool,
        plan: &Plan,
        output_schema: Option<&serde_json::Value>,
        max_repairs: Option<u32>,
    ) -> Result<(End, String), String> {
        let max_repairs = max_repairs.unwrap_or(plan.limits.max_repairs);
        let mut conversation = Conversation::new(ModelRequest {
            model: plan
                .model
                .name
                .clone()
                .unwrap_or_else(|| "script".to_string()),
            max_tokens: plan.model.max_tokens,
            temperature: plan.model.temperature,
            system: instructions(plan),
            tools: tools.definitions(),
            messages: Vec::new(),
        });
        conversation.push(first_message(plan));
        let mut repairs = 0u32;
        loop {
            if let Some(end) = self.time_limit()? {
                return Ok((end, String::new()));
            }
            if let Some(end) = self.step_turn_limit()? {
                return Ok((end, String::new()));
            }
            if self.totals.turns >= plan.limits.max_turns {
                return self
                    .limit(
                        "max_turns",
                        RunStatus::TurnLimit,
                        &format!("{} model requests made, the limit", plan.limits.max_turns),
                    )
                    .map(|end| (end, String::new()));
            }
            self.totals.turns += 1;
            let turn = self.totals.turns;
            self.emit(Event::ModelRequest {
                turn,
                request_hash: conversation.hash(),
                tokens_estimate: crate::context::estimate_tokens(conversation.bytes),
            })?;
            let request = &conversation.request;
            let (answer, cache_hit) = {
                let mut observer = Observer {
                    trace: &mut self.trace,
                    reporter: &mut *self.reporter,
                    turn,
                    cache_hit: false,
                    deadline: self.deadline,
                };
                let answer = provider.complete(request, &mut observer);
                (answer, observer.cache_hit)
            };
            let response = match answer {
                Ok(r) => r,
                Err(e) => {
                    self.emit(Event::ModelError {
                        turn,
                        message: e.message.clone(),
                        status: e.status,
                        request_id: e.request_id.clone(),
                    })?;
                    // Cut short by the run's or a step's time limit.
                    if let Some(end) = self.time_limit()? {
                        return Ok((end, String::new()));
                    }
                    return Ok(((RunStatus::ModelError, Some(e.message)), String::new()));
                }
            };
            self.account(&plan.model, turn, &response, cache_hit)?;
            if let Some(end) = self.step_cost_limit()? {
                return Ok((end, String::new()));
            }
            if let Some(max) = plan.limits.max_cost_usd
                && let Some(cost) = self.totals.cost_usd
                && cost > max
            {
                return self
                    .limit(
                        "max_cost_usd",
                        RunStatus::CostLimit,
                        &format!("spent {}, over the {} limit", usd(cost), usd(max)),
                    )
                    .map(|end| (end, String::new()));
            }
            // The answer came after the time ran out: it is not acted on.
            if let Some(end) = self.time_limit()? {
                return Ok((end, String::new()));
            }
            let calls: Vec<(String, String, serde_json::Value)> = response
                .content
                .iter()
                .filter_map(|b| match b {
                    Block::ToolUse { id, name, input } => {
                        Some((id.clone(), name.clone(), input.clone()))
                    }
                    _ => None,
                })
                .collect();
            if !response.content.is_empty() {
                conversation.push(Message {
                    role: Role::Assistant,
                    content: response.content.clone(),
                });
            }
            match &response.stop_reason {
                StopReason::Refusal => {
                    return Ok((
                        (
                            RunStatus::ModelError,
                            Some("the model refused to continue".into()),
                        ),
                        String::new(),
                    ));
                }
                StopReason::PauseTurn if calls.is_empty() => continue,
                StopReason::MaxTokens if calls.is_empty() => {
                    conversation.push(user_text("Your answer was cut off at the max_tokens limit. Continue where you stopped."));
                    continue;
                }
                _ => {}
            }
            if !calls.is_empty() {
                let mut results = Vec::new();
                for (id, name, input) in calls {
                    results.push(self.tool_call(tools, &id, &name, &input)?);
                }
                if response.stop_reason == StopReason::MaxTokens {
                    results.push(Block::Text {
                        text: "Your answer was cut off at the max_tokens limit; a tool call may be incomplete.".into(),
                    });
                }
                conversation.push(Message {
                    role: Role::User,
                    content: results,
                });
                continue;
            }

            // A turn without tool calls: the agent says it is done.
            if plan_phase {
                let text = response_text(&response);
                let summary = format!("\nThe model's plan:\n\n{}\n\n", indent(&text));
                match self.checkpoint(
                    CheckpointName::Plan,
                    None,
                    "Approve this plan?",
                    &summary,
                    None,
                )? {
                    Some(end) => return Ok((end, String::new())),
                    None => {
                        plan_phase = false;
                        tools.set_writes_allowed(true);
                        conversation.push(user_text("The plan is approved. Carry it out now."));
                        continue;
                    }
                }
            }
            let answer = response_text(&response);
            let failed = match output_schema.map(|schema| check_output(&answer, schema)) {
                Some(Err(why)) => Some(checks::CheckRun {
                    name: "output_schema".into(),
                    passed: false,
                    exit_code: None,
                    timed_out: false,
                    output_hash: crate::hash::sha256_hex(why.as_bytes()),
                    tail: why,
                    truncated: false,
                    elapsed: Duration::ZERO,
                }),
                _ => self.run_checks(ws, plan, repairs)?,
            };
            match failed {
                None => return Ok(((RunStatus::Succeeded, None), answer)),
                Some(failed) => {
                    // A check that failed because the time ran out ends the
                    // run on the time limit, not as a failed check.
                    if let Some(end) = self.time_limit()? {
                        return Ok((end, String::new()));
                    }
                    if repairs >= max_repairs {
                        let reason = format!(
                            "check `{}` still fails after {} repair round{}",
                            failed.name,
                            repairs,
                            if repairs == 1 { "" } else { "s" }
                        );
                        if max_repairs > 0 {
                            self.emit(Event::LimitReached {
                                limit: "max_repairs".into(),
                                message: reason.clone(),
                            })?;
                        }
                        return Ok(((RunStatus::ChecksFailed, Some(reason)), String::new()));
                    }
                    repairs += 1;
                    self.totals.repairs += 1;
                    self.emit(Event::RepairRequested {
                        round: repairs,
                        failed: vec![failed.name.clone()],
                    })?;
                    conversation.push(user_text(&checks::repair_message(
                        &failed,
                        repairs,
                        max_repairs,
                    )));
                }
            }
        }
    }

    fn account(
        &mut self,
        model: &crate::spec::ModelSpec,
        turn: u32,
        response: &ModelResponse,
        cache_hit: bool,
    ) -> Result<(), String> {
        let usage = &response.usage;
        let add = |total: &mut Option<u64>, v: Option<u64>| {
            *total = match (*total, v) {
                (Some(t), Some(v)) => Some(t + v),
                _ => None,
            }
        };
        add(&mut self.totals.input_tokens, usage.input_tokens);
        add(&mut self.totals.output_tokens, usage.output_tokens);
        self.totals.cache_creation_input_tokens += usage.cache_creation_input_tokens;
        self.totals.cache_read_input_tokens += usage.cache_read_input_tokens;
        // A cached answer cost nothing this time.
        let cost = if cache_hit {
            Some(0.0)
        } else {
            (self.pricing)(model, usage)
        };
        if cost.is_none() {
            self.cost_known = false;
        }
        self.totals.cost_usd = if self.cost_known {
            Some(self.totals.cost_usd.unwrap_or(0.0) + cost.unwrap_or(0.0))
        } else {
            None
        };
        self.emit(Event::ModelResponse {
            turn,
            content: response.content.clone(),
            stop_reason: response.stop_reason.clone(),
            usage: usage.clone(),
            cost_usd: cost,
            cache_hit,
        })
    }

    fn tool_call(
        &mut self,
        tools: &ToolLayer,
        id: &str,
        name: &str,
        input: &serde_json::Value,
    ) -> Result<Block, String> {
        self.emit(Event::ToolCall {
            call_id: id.to_string(),
            tool: name.to_string(),
            input: input.clone(),
        })?;
        let started = Instant::now();
        let outcome = match input {
            serde_json::Value::String(raw) => crate::tools::ToolOutcome::error(format!(
                "{name}: the input is not valid JSON: {}",
                raw.chars().take(200).collect::<String>()
            )),
            _ => tools.call(name, input, self.left()),
        };
        if let Some(d) = &outcome.denial {
            self.emit(Event::PermissionDenied {
                call_id: id.to_string(),
                tool: name.to_string(),
                rule: d.rule.to_string(),
                message: d.message.clone(),
            })?;
        }
        self.emit(Event::ToolResult {
            call_id: id.to_string(),
            tool: name.to_string(),
            ok: !outcome.is_error,
            exit_code: outcome.exit_code,
            output_hash: crate::hash::sha256_hex(outcome.content.as_bytes()),
            output: outcome.content.clone(),
            truncated: outcome.truncated,
            duration_ms: started.elapsed().as_millis() as u64,
        })?;
        Ok(Block::ToolResult {
            tool_use_id: id.to_string(),
            content: outcome.content,
            is_error: outcome.is_error,
        })
    }

    /// Runs the checks; the first failing one, if any. Whatever the checks
    /// write in the workspace is undone afterwards: checks prove the
    /// change, they never become part of it.
    fn run_checks(
        &mut self,
        ws: &Workspace,
        view: &Plan,
        round: u32,
    ) -> Result<Option<checks::CheckRun>, String> {
        if view.checks.is_empty() {
            return Ok(None);
        }
        let state = ws
            .snapshot()
            .map_err(|e| format!("cannot snapshot the workspace: {e}"))?;
        let failed = self.run_checks_on(ws, &view.checks, &view.inputs, round);
        ws.restore(&state)
            .map_err(|e| format!("cannot restore the workspace after the checks: {e}"))?;
        failed
    }

    fn run_checks_on(
        &mut self,
        ws: &Workspace,
        checks: &[crate::spec::Check],
        inputs: &std::collections::BTreeMap<String, serde_json::Value>,
        round: u32,
    ) -> Result<Option<checks::CheckRun>, String> {
        let env = check_env(ws, inputs);
        for check in checks {
            let result = checks::run_check(check, &ws.dir, &env, self.left());
            self.emit(Event::CheckResult {
                round,
                name: result.name.clone(),
                passed: result.passed,
                exit_code: result.exit_code,
                timed_out: result.timed_out,
                output_hash: result.output_hash.clone(),
                output_tail: result.tail.clone(),
                truncated: result.truncated,
                duration_ms: result.elapsed.as_millis() as u64,
            })?;
            if !result.passed {
                return Ok(Some(result));
            }
        }
        Ok(None)
    }

    /// Asks at a checkpoint. `None` means approved: go on.
    fn checkpoint(
        &mut self,
        name: CheckpointName,
        step: Option<&str>,
        question: &str,
        summary: &str,
        full: Option<&str>,
    ) -> Result<Option<End>, String> {
        self.emit(Event::Checkpoint {
            name,
            state: CheckpointState::Reached,
            by: None,
            via: None,
            comment: None,
            at: Some(crate::sys::clock::now_rfc3339()),
            commit: false,
            step: step.map(str::to_string),
        })?;
        self.reporter.pause_display();
        let approver = Approver {
            yes: self.options.yes,
            interactive: self.options.interactive,
        };
        let catching_up = self.caught_up < self.catch_up.len();
        let decision = match &mut self.mode {
            Mode::Replay(setup) if !setup.decisions.is_empty() => setup.decisions.remove(0),
            Mode::Replay(_) => Decision::Paused,
            // A checkpoint a resumed run has passed, or paused at and that
            // `wf approve` / `wf reject` decided since: the recorded decision.
            Mode::Resume(..) if catching_up => recorded_decision(&self.catch_up[self.caught_up..]),
            Mode::Live | Mode::Resume(..) => {
                approver.decide(&self.plan.root, question, summary, full)
            }
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
        self.emit(Event::Checkpoint {
            name,
            state,
            by,
            via,
            comment: None,
            at: Some(crate::sys::clock::now_rfc3339()),
            commit: false,
            step: step.map(str::to_string),
        })?;
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
                    "paused at the {} checkpoint: no terminal to ask and no --yes; the run is saved in {}",
                    name.as_str(),
                    self.dir.path.display()
                )),
            )),
        })
    }

    /// After the agent loop: keep the diff, then show, approve and apply it
    /// when the checks passed.
    fn conclude(&mut self, end: End, ws: &Workspace) -> Result<End, String> {
        let patch = ws
            .diff()
            .map_err(|e| format!("cannot compute the diff: {e}"))?;
        let files = ws
            .changed_files()
            .map_err(|e| format!("cannot list changed files: {e}"))?;
        std::fs::write(self.dir.diff(), &patch)
            .map_err(|e| format!("cannot write diff.patch: {e}"))?;
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
            self.reporter.say("No changes to apply.\n");
            return Ok(end);
        }
        let color = self.options.color;
        let stat = crate::report::diff::stat(&patch);
        if self.options.dry_run {
            self.reporter.pause_display();
            self.reporter.say(&format!(
                "\n{stat}\n{}",
                crate::report::diff::patch(&patch, None, color)
            ));
            self.reporter.say("Dry run: the change was not applied.\n");
            return Ok((RunStatus::DryRun, None));
        }
        if self.plan.checkpoints.apply {
            let summary = format!(
                "\nThe run's change:\n{stat}\n{}\n",
                crate::report::diff::patch(&patch, Some(crate::report::diff::PREVIEW_LINES), color)
            );
            let full = crate::report::diff::patch(&patch, None, color);
            if let Some(end) = self.checkpoint(
                CheckpointName::Apply,
                None,
                "Apply this change to your tree?",
                &summary,
                Some(&full),
            )? {
                return Ok(end);
            }
        }
        if let Mode::Replay(_) = self.mode {
            // A replay never touches the user's tree; it records what the
            // run did at this point.
            self.emit(Event::Applied { files })?;
            return Ok((RunStatus::Succeeded, None));
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
            Err(e) => return Err(format!("cannot compare with your tree: {e}")),
        }
        match workspace::apply(&self.plan.root, &self.dir.diff()) {
            Ok(()) => {
                self.emit(Event::Applied {
                    files: files.clone(),
                })?;
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
            Err(e) => {
                let message = format!("{e}; the patch is kept in {}", self.dir.diff().display());
                self.emit(Event::ApplyFailed {
                    message: message.clone(),
                })?;
                Ok((RunStatus::ApplyFailed, Some(message)))
            }
        }
    }

    /// Who approved the apply checkpoint, from the events so far.
    fn approvers(&self) -> Vec<String> {
        let trace = crate::record::trace::read(&self.dir.trace())
            .map(|t| t.records)
            .unwrap_or_default();
        crate::record::summary::from_records(&trace)
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
        let record = self
            .trace
            .append(event)
            .map_err(|e| crate::error::Error::io("cannot write the trace", e))?;
        self.reporter.record(&record);
        self.reporter.pause_display();
        let trace = crate::record::trace::read(&self.dir.trace())
            .map_err(|e| crate::error::Error::Failed(e.to_string()))?;
        let summary = crate::record::summary::from_records(&trace.records);
        let text = serde_json::to_string_pretty(&summary).expect("summaries serialize") + "\n";
        std::fs::write(self.dir.summary(), text)
            .map_err(|e| crate::error::Error::io("cannot write summary.json", e))?;
        Ok(())
    }
}

/// The JSON in a final answer: the whole text, or the body of a fenced
/// code block.
fn extract_json(answer: &str) -> Option<serde_json::Value> {
    let text = answer.trim();
    if let Ok(v) = serde_json::from_str(text) {
        return Some(v);
    }
    let start = text.find("```")?;
    let after = &text[start + 3..];
    let body_start = after.find('\n')? + 1;
    let body = &after[body_start..];
    let end = body.find("```")?;
    serde_json::from_str(body[..end].trim()).ok()
}

/// Whether a final answer is JSON valid against `schema`; the error says
/// what to fix, for the repair message.
fn check_output(answer: &str, schema: &serde_json::Value) -> Result<(), String> {
    let Some(value) = extract_json(answer) else {
        return Err(format!(
            "your final answer must be JSON valid against this schema, and it is not JSON:\n{}",
            serde_json::to_string_pretty(schema).unwrap_or_default()
        ));
    };
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| format!("the output schema is invalid: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("at `{}`: {e}", e.instance_path().as_str()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "your final answer does not match the output schema:\n{}",
            errors.join("\n")
        ))
    }
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
        .prompt
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

/// The environment of a check: the workspace's (build-cache sharing), the
/// starting tree as `WF_BASE_TREE` (so a check can compare with it: `git diff
/// $WF_BASE_TREE`), and every input as `WF_INPUT_<NAME>` (upper case). Inputs
/// reach checks as variables, never spliced into the command line.
fn check_env(
    ws: &Workspace,
    inputs: &std::collections::BTreeMap<String, serde_json::Value>,
) -> Vec<(String, String)> {
    let mut env = ws.env.clone();
    env.push(("WF_BASE_TREE".into(), ws.base_tree.clone()));
    for (name, value) in inputs {
        let text = crate::spec::inputs::as_text(value);
        env.push((format!("WF_INPUT_{}", name.to_ascii_uppercase()), text));
    }
    env
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

/// The decision recorded right after a checkpoint was reached.
fn recorded_decision(rest: &[Record]) -> Decision {
    rest.iter()
        .find_map(|r| Decision::of(&r.event))
        .unwrap_or(Decision::Paused)
}
