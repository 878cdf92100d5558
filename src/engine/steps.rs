//! Multi-step workflows: agent, command and recipe steps in order, each
//! recipe step with its own inputs and `steps.` names; what a recipe's
//! command step may change; the checkpoint after a step.

use super::*;

impl Executor<'_> {
    /// The steps of a multi-step workflow, in order, in one workspace.
    pub(super) fn steps(
        &mut self,
        provider: &mut dyn Provider,
        ws: &Workspace,
    ) -> Result<End, String> {
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
        steps: &[crate::plan::PlanStep],
        inputs: &std::collections::BTreeMap<String, serde_json::Value>,
        prefix: &str,
    ) -> Result<(End, Option<serde_json::Value>), String> {
        let mut results: std::collections::BTreeMap<String, serde_json::Value> =
            std::collections::BTreeMap::new();
        let mut last = None;
        for step in steps {
            let id = format!("{prefix}{}", step.id);
            if let Some(cond) = &step.condition {
                match crate::spec::template::condition(cond, inputs, &results) {
                    Ok(true) => {}
                    Ok(false) => {
                        self.emit(Event::StepSkipped { id })?;
                        continue;
                    }
                    Err(e) => {
                        return Ok((
                            (
                                RunStatus::Error,
                                Some(format!("step `{id}`: `if:` {}", e.message)),
                            ),
                            None,
                        ));
                    }
                }
            }
            let result = match &step.kind {
                crate::plan::StepKind::Command {
                    run,
                    timeout,
                    bounds,
                } => {
                    self.emit(Event::StepStarted {
                        id: id.clone(),
                        step_kind: "command".into(),
                    })?;
                    let check = crate::spec::Check {
                        name: id.clone(),
                        run: run.clone(),
                        timeout: *timeout,
                    };
                    let before = if bounds.is_empty() {
                        None
                    } else {
                        Some(
                            ws.snapshot()
                                .map_err(|e| format!("cannot snapshot the workspace: {e}"))?,
                        )
                    };
                    let done =
                        checks::run_check(&check, &ws.dir, &check_env(ws, inputs), self.left());
                    if let Some(before) = before
                        && let Some(end) = self.bounded_command(ws, &id, &before, bounds)?
                    {
                        return Ok((end, None));
                    }
                    self.emit(Event::StepFinished {
                        id: id.clone(),
                        exit_code: done.exit_code,
                        output: serde_json::Value::String(done.tail.clone()),
                    })?;
                    // Killed by the run's or a step's time limit: the run ends.
                    if let Some(end) = self.time_limit()? {
                        return Ok((end, None));
                    }
                    serde_json::json!({ "exit_code": done.exit_code, "output": done.tail })
                }
                crate::plan::StepKind::Uses(used) => {
                    self.emit(Event::StepStarted {
                        id: id.clone(),
                        step_kind: "uses".into(),
                    })?;
                    let outer = self.enter_limits(&id, &used.limits);
                    let done =
                        self.run_steps(provider, ws, &used.steps, &used.inputs, &format!("{id}."));
                    self.leave_limits(outer);
                    let (end, inner) = done?;
                    if end.0 != RunStatus::Succeeded {
                        return Ok((end, None));
                    }
                    let inner = inner.unwrap_or_else(|| serde_json::json!({ "output": null }));
                    self.emit(Event::StepFinished {
                        id: id.clone(),
                        exit_code: inner
                            .get("exit_code")
                            .and_then(|c| c.as_i64())
                            .map(|c| c as i32),
                        output: inner
                            .get("output")
                            .cloned()
                            .unwrap_or(serde_json::Value::Null),
                    })?;
                    if used.approve_after
                        && let Some(end) = self.step_checkpoint(ws, &id)?
                    {
                        return Ok((end, None));
                    }
                    inner
                }
                crate::plan::StepKind::Agent(agent) => {
                    self.emit(Event::StepStarted {
                        id: id.clone(),
                        step_kind: "agent".into(),
                    })?;
                    let prompt = match crate::spec::template::render_with_steps(
                        &agent.prompt,
                        inputs,
                        &results,
                    ) {
                        Ok(p) => p,
                        Err(e) => {
                            return Ok((
                                (
                                    RunStatus::Error,
                                    Some(format!("step `{id}`: {}", e.message)),
                                ),
                                None,
                            ));
                        }
                    };
                    let mut view = self.plan.clone();
                    view.steps = Vec::new();
                    view.inputs = inputs.clone();
                    view.prompt = prompt;
                    view.constraints = agent.constraints.clone();
                    view.context = agent.context.clone();
                    view.tools = agent.tools.clone();
                    view.permissions = agent.permissions.clone();
                    view.bounds = agent.bounds.clone();
                    view.checks = agent.checks.clone();
                    view.checkpoints.plan = agent.plan_checkpoint;
                    view.model = agent.model.clone();
                    self.emit(context_event(&view.context))?;
                    let (end, answer) = self.agent(
                        provider,
                        ws,
                        &view,
                        agent.output_schema.as_ref(),
                        &id,
                        &agent.limits,
                    )?;
                    if end.0 != RunStatus::Succeeded {
                        return Ok((end, None));
                    }
                    let output = match &agent.output_schema {
                        Some(_) => extract_json(&answer).unwrap_or(serde_json::Value::Null),
                        None => serde_json::Value::String(answer),
                    };
                    self.emit(Event::StepFinished {
                        id: id.clone(),
                        exit_code: None,
                        output: output.clone(),
                    })?;
                    if agent.approve_after
                        && let Some(end) = self.step_checkpoint(ws, &id)?
                    {
                        return Ok((end, None));
                    }
                    serde_json::json!({ "output": output })
                }
            };
            results.insert(step.id.clone(), result.clone());
            last = Some(result);
        }
        Ok(((RunStatus::Succeeded, None), last))
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
    ) -> Result<Option<End>, String> {
        let after = ws
            .snapshot()
            .map_err(|e| format!("cannot snapshot the workspace: {e}"))?;
        let changed = ws
            .changed_between(before, &after)
            .map_err(|e| format!("cannot compare the workspace: {e}"))?;
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
        ws.restore(before)
            .map_err(|e| format!("cannot undo step `{id}`: {e}"))?;
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
    ) -> Result<Option<End>, String> {
        let patch = ws
            .diff()
            .map_err(|e| format!("cannot compute the diff: {e}"))?;
        let color = self.options.color;
        let changes = if patch.is_empty() {
            "  (no changes yet)\n".to_string()
        } else {
            format!(
                "{}\n{}",
                crate::report::diff::stat(&patch),
                crate::report::diff::patch(&patch, Some(crate::report::diff::PREVIEW_LINES), color)
            )
        };
        let summary = format!("\nThe changes so far, after step `{id}`:\n{changes}\n");
        let full = crate::report::diff::patch(&patch, None, color);
        self.checkpoint(
            CheckpointName::Step,
            Some(id),
            &format!("Approve the changes of step `{id}` and go on?"),
            &summary,
            Some(&full),
        )
    }
}
