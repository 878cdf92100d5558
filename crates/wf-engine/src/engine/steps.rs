//! Step orchestration: a plan's steps in order (agent, command and recipe
//! steps, or the one implicit agent step of a single-prompt file), each
//! recipe step with its own inputs and `steps.` names; what a recipe's
//! command step may change; the checkpoint after a step. The agent step
//! itself runs in [`super::agent`].

use super::*;

use crate::plan::{AgentStep, PlanStep, StepKind, UsedRecipe};
use serde_json::Value;
use std::collections::BTreeMap;

/// What a step did: its result (for later steps' `steps.ID`), or how the
/// run ends.
type Ran = Result<Value, End>;

impl Executor<'_> {
    /// The plan's steps, in order, in one workspace.
    pub(super) fn steps(
        &mut self,
        provider: &mut dyn Provider,
        ws: &Workspace,
    ) -> Result<End, EngineError> {
        let plan = self.plan;
        let (end, _) = self.run_steps(provider, ws, &plan.steps, &plan.inputs, "")?;
        Ok(end)
    }

    /// Runs `steps` with their scope's `inputs`; a recipe step runs its
    /// recipe's steps with the recipe's inputs and its own `steps.` names.
    /// Event ids are `prefix` + id (`tests.main` for step `main` of the
    /// recipe step `tests`). Also returns the result of the last step that
    /// ran, which a recipe step exposes as its own.
    pub(super) fn run_steps(
        &mut self,
        provider: &mut dyn Provider,
        ws: &Workspace,
        steps: &[PlanStep],
        inputs: &BTreeMap<String, Value>,
        prefix: &str,
    ) -> Result<(End, Option<Value>), EngineError> {
        let mut results: BTreeMap<String, Value> = BTreeMap::new();
        let mut last = None;
        for step in steps {
            let Some(step_id) = &step.id else {
                let end = self.implicit_step(provider, ws, step, inputs)?;
                return Ok((end, None));
            };
            let id = format!("{prefix}{step_id}");
            match self.condition(step, &id, inputs, &results)? {
                Ok(true) => {}
                Ok(false) => continue,
                Err(end) => return Ok((end, None)),
            }
            let ran = match &step.kind {
                StepKind::Command {
                    run,
                    timeout,
                    bounds,
                    network,
                    env,
                } => self.command_step(
                    ws,
                    &id,
                    &Command {
                        run,
                        timeout: *timeout,
                        bounds,
                        network: network.clone(),
                        env,
                    },
                    inputs,
                )?,
                StepKind::Uses(used) => self.recipe_step(provider, ws, &id, used)?,
                StepKind::Agent(agent) => {
                    self.agent_step(provider, ws, &id, agent, inputs, &results)?
                }
            };
            let result = match ran {
                Ok(result) => result,
                Err(end) => return Ok((end, None)),
            };
            results.insert(step_id.clone(), result.clone());
            last = Some(result);
        }
        Ok(((RunStatus::Succeeded, None), last))
    }

    /// The one agent step of a single-prompt task file: its context, then
    /// the agent, without step events; its prompt is already rendered.
    fn implicit_step(
        &mut self,
        provider: &mut dyn Provider,
        ws: &Workspace,
        step: &PlanStep,
        inputs: &BTreeMap<String, Value>,
    ) -> Result<End, EngineError> {
        let StepKind::Agent(agent) = &step.kind else {
            unreachable!("only an agent step is implicit");
        };
        self.emit(context_event(&agent.context))?;
        let mark = self.mark(ws)?;
        let (end, _) = self.agent(provider, ws, agent, &agent.prompt, inputs, "")?;
        let policy = Self::agent_policy(ws, agent)?;
        self.wrote(ws, mark, "the agent".into(), Some(policy))?;
        Ok(end)
    }

    /// Whether a step runs: its `if:` holds (or it has none). A step that
    /// does not run is recorded as skipped; a condition that cannot be
    /// evaluated ends the run.
    fn condition(
        &mut self,
        step: &PlanStep,
        id: &str,
        inputs: &BTreeMap<String, Value>,
        results: &BTreeMap<String, Value>,
    ) -> Result<Result<bool, End>, EngineError> {
        let Some(cond) = &step.condition else {
            return Ok(Ok(true));
        };
        match crate::spec::template::condition(cond, inputs, results) {
            Ok(true) => Ok(Ok(true)),
            Ok(false) => {
                self.emit(Event::StepSkipped { id: id.to_string() })?;
                Ok(Ok(false))
            }
            Err(e) => Ok(Err((
                RunStatus::Error,
                Some(format!("step `{id}`: `if:` {}", e.message)),
            ))),
        }
    }

    /// A command step: `run` in the workspace; in a recipe, what it changed
    /// must be writable under its callers' permissions (`bounds`).
    fn command_step(
        &mut self,
        ws: &Workspace,
        id: &str,
        command: &Command<'_>,
        inputs: &BTreeMap<String, Value>,
    ) -> Result<Ran, EngineError> {
        let Command {
            run,
            timeout,
            bounds,
            network,
            env,
        } = command;
        let (run, timeout, bounds) = (*run, *timeout, *bounds);
        self.confined.step_network = network.clone();
        let (network, hosts) = step_network_fields(network.as_ref());
        self.emit(Event::StepStarted {
            id: id.to_string(),
            step_kind: "command".into(),
            network,
            hosts,
        })?;
        let check = crate::spec::Check {
            name: id.to_string(),
            run: run.to_string(),
            timeout,
        };
        let mark = self.mark(ws)?;
        let before = if bounds.is_empty() {
            None
        } else {
            Some(self.snapshot(ws)?)
        };
        self.change.known = None;
        self.recorder.activity(&format!("step {id}: {run}"));
        ws.relink_tools()
            .map_err(EngineError::workspace("cannot prepare the workspace"))?;
        let env = match self.command_env(ws, env) {
            Ok(env) => check_env(env, ws, inputs),
            Err(why) => return Ok(Err((RunStatus::Error, Some(why.to_string())))),
        };
        let done = checks::run_check(
            &check,
            &ws.dir,
            &env,
            self.confinement().as_ref(),
            self.left(),
            &self.secrets,
        );
        if let Some(before) = before
            && let Some(end) = self.bounded_command(ws, id, &before, bounds)?
        {
            return Ok(Err(end));
        }
        let policy = Self::command_policy(ws, bounds)?;
        self.wrote(ws, mark, format!("step `{id}`"), policy)?;
        self.emit(Event::StepFinished {
            id: id.to_string(),
            exit_code: done.exit_code,
            output: Value::String(done.tail.clone()),
        })?;
        // Killed by the run's or a step's time limit: the run ends.
        if let Some(end) = self.time_limit()? {
            return Ok(Err(end));
        }
        // A program not found or not executable, or an environment that
        // keeps the command from working: no later step can change that.
        let what = format!("command step `{id}`");
        let confinement = self.confinement();
        let policy = confinement.as_ref().map(|s| &s.policy);
        if let Some(why) = checks::cannot_run(&what, run, done.exit_code, &done.tail, policy) {
            return Ok(Err((RunStatus::Error, Some(why))));
        }
        Ok(Ok(
            serde_json::json!({ "exit_code": done.exit_code, "output": done.tail }),
        ))
    }

    /// A recipe step: the recipe's steps with its inputs, within the
    /// recipe step's limits; its result is its last step's.
    fn recipe_step(
        &mut self,
        provider: &mut dyn Provider,
        ws: &Workspace,
        id: &str,
        used: &UsedRecipe,
    ) -> Result<Ran, EngineError> {
        self.emit(Event::StepStarted {
            id: id.to_string(),
            step_kind: "uses".into(),
            network: None,
            hosts: Vec::new(),
        })?;
        let outer = self.enter_limits(id, &used.limits);
        let done = self.run_steps(provider, ws, &used.steps, &used.inputs, &format!("{id}."));
        self.leave_limits(outer);
        let (end, inner) = done?;
        if end.0 != RunStatus::Succeeded {
            return Ok(Err(end));
        }
        let inner = inner.unwrap_or_else(|| serde_json::json!({ "output": null }));
        self.emit(Event::StepFinished {
            id: id.to_string(),
            exit_code: inner
                .get("exit_code")
                .and_then(|c| c.as_i64())
                .map(|c| c as i32),
            output: inner.get("output").cloned().unwrap_or(Value::Null),
        })?;
        if used.approve_after
            && let Some(end) = self.step_checkpoint(ws, id)?
        {
            return Ok(Err(end));
        }
        Ok(Ok(inner))
    }

    /// An agent step: its prompt rendered with the scope's `inputs` and the
    /// earlier steps' `results`, its context, then the agent.
    fn agent_step(
        &mut self,
        provider: &mut dyn Provider,
        ws: &Workspace,
        id: &str,
        agent: &AgentStep,
        inputs: &BTreeMap<String, Value>,
        results: &BTreeMap<String, Value>,
    ) -> Result<Ran, EngineError> {
        self.emit(Event::StepStarted {
            id: id.to_string(),
            step_kind: "agent".into(),
            network: step_network_fields(agent.network.as_ref()).0,
            hosts: step_network_fields(agent.network.as_ref()).1,
        })?;
        let prompt = match crate::spec::template::render_with_steps(&agent.prompt, inputs, results)
        {
            Ok(p) => p,
            Err(e) => {
                return Ok(Err((
                    RunStatus::Error,
                    Some(format!("step `{id}`: {}", e.message)),
                )));
            }
        };
        self.emit(context_event(&agent.context))?;
        let mark = self.mark(ws)?;
        let (end, answer) = self.agent(provider, ws, agent, &prompt, inputs, id)?;
        let policy = Self::agent_policy(ws, agent)?;
        self.wrote(ws, mark, format!("step `{id}`"), Some(policy))?;
        if end.0 != RunStatus::Succeeded {
            return Ok(Err(end));
        }
        let output = match &agent.output_schema {
            Some(_) => agent::extract_json(&answer).unwrap_or(Value::Null),
            None => Value::String(answer),
        };
        self.emit(Event::StepFinished {
            id: id.to_string(),
            exit_code: None,
            output: output.clone(),
        })?;
        if agent.approve_after
            && let Some(end) = self.step_checkpoint(ws, id)?
        {
            return Ok(Err(end));
        }
        Ok(Ok(serde_json::json!({ "output": output })))
    }

    /// After a recipe's command step: everything it changed must be writable
    /// under the permissions of the tasks using the recipe. Otherwise the
    /// step is undone, the refusal recorded, and the run ends.
    pub(super) fn bounded_command(
        &mut self,
        ws: &Workspace,
        id: &str,
        before: &str,
        bounds: &[crate::spec::Permissions],
    ) -> Result<Option<End>, EngineError> {
        let after = self.snapshot(ws)?;
        let changed = ws
            .changed_between(before, &after)
            .map_err(EngineError::workspace("cannot compare the workspace"))?;
        // The tool layer's own rules, with the callers' permissions as the
        // layers: what a write tool could not do, a command step may not.
        let policy = crate::policy::Policy::new(&ws.dir, &bounds[0], &bounds[1..])?;
        let outside: Vec<String> = changed
            .into_iter()
            .filter(|p| policy.check(p, crate::policy::Access::Write).is_err())
            .collect();
        if outside.is_empty() {
            return Ok(None);
        }
        self.restore(ws, before)
            .map_err(EngineError::workspace(format!("cannot undo step `{id}`")))?;
        let message = format!(
            "recipe command step `{id}` changed {} outside what the task using the recipe allows to write; the step was undone",
            outside.join(", ")
        );
        self.emit(Event::PermissionDenied {
            call_id: id.to_string(),
            tool: "command_step".into(),
            rule: "write".into(),
            message: message.clone(),
        })?;
        Ok(Some((RunStatus::Error, Some(message))))
    }

    /// The checkpoint after a step that asks for one: the changes so far,
    /// approved before the next step runs. `None` means approved.
    pub(super) fn step_checkpoint(
        &mut self,
        ws: &Workspace,
        id: &str,
    ) -> Result<Option<End>, EngineError> {
        let (patch, files) = self.change(ws)?;
        // What a person approves here must obey the run's permissions too.
        if !files.is_empty() {
            std::fs::write(self.dir.diff(), &patch)
                .map_err(EngineError::io("cannot write diff.patch"))?;
            if let Some(end) = self.refuse_outside(ws, &files)? {
                return Ok(Some(end));
            }
        }
        let change = super::checkpoint::Change::new(patch, files);
        self.checkpoint(
            CheckpointName::Step,
            Some(id),
            super::checkpoint::Subject::Step(&change),
        )
    }
}

/// A command step, as planned.
struct Command<'a> {
    run: &'a str,
    timeout: Option<crate::spec::Duration>,
    bounds: &'a [crate::spec::Permissions],
    network: Option<crate::spec::Network>,
    env: &'a crate::plan::Env,
}

/// A step's own network as `step_started` records it: the flag, and the
/// hosts of a list (the flag is then `false`).
fn step_network_fields(network: Option<&crate::spec::Network>) -> (Option<bool>, Vec<String>) {
    (
        network.map(crate::spec::Network::is_all),
        network.map(|n| n.hosts().to_vec()).unwrap_or_default(),
    )
}
