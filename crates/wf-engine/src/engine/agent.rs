//! One agent step: the model ↔ tools loop, then the output schema (if any)
//! and the checks, with repair rounds.
//!
//! An agent step runs from the [`AgentStep`] itself: its tools,
//! permissions, bounds, model, context and checks, the prompt rendered for
//! it, and the inputs of its scope (for the checks' environment). The
//! run-wide state (trace, totals, limits, deadline) is the executor's.

mod batch;
mod clear;
mod reread;

use super::prompt::{Conversation, response_text, tool_def, user_text};
use super::*;
use crate::plan::AgentStep;
use crate::provider::StopReason;
use crate::spec::ToolName;
use crate::tools::ToolLayer;
use serde_json::Value;
use std::collections::BTreeMap;

/// An agent step being run.
struct Agent<'s> {
    step: &'s AgentStep,
    /// The inputs of the step's scope (the run's, or its recipe's).
    inputs: &'s BTreeMap<String, Value>,
    tools: ToolLayer,
    conversation: Conversation,
    /// What `read_file` already gave the model in this conversation.
    reads: reread::Reads,
    /// The read results that old age may clear.
    clearable: clear::Clearable,
    /// The model is stating its plan; writes are not allowed yet.
    plan_phase: bool,
    repairs: u32,
    max_repairs: u32,
    /// The model asked now: the step's, or the one of `model.fallback` it
    /// fell back to (kept for the rest of the step).
    model: crate::spec::ModelSpec,
    /// How many of `model.fallback` were taken.
    fallbacks: usize,
}

impl Agent<'_> {
    /// After an overload: the next model of `model.fallback` (the step's
    /// model and the ones tried are skipped), the conversation pointed at
    /// it. `None` when none is left.
    fn fall_back(&mut self) -> Option<String> {
        let from = self.model.name.clone();
        while let Some(next) = self.step.model.fallback.get(self.fallbacks) {
            self.fallbacks += 1;
            if Some(next) == from.as_ref() || Some(next) == self.step.model.name.as_ref() {
                continue;
            }
            self.model.name = Some(next.clone());
            // The price set in the task file was the other model's.
            self.model.price = None;
            let mut messages = std::mem::take(&mut self.conversation.request.messages);
            let mut request = self.conversation.request.clone();
            request.model = next.clone();
            self.conversation = Conversation::new(request);
            for m in messages.drain(..) {
                self.conversation.push(m);
            }
            return Some(next.clone());
        }
        None
    }
}

/// Whether a provider's failure says the model is overloaded (after its
/// attempts): what `model.fallback` is for. HTTP 529 (Anthropic's
/// "overloaded") and 503, or an error that says so.
fn overloaded(e: &crate::provider::ProviderError) -> bool {
    matches!(e.status, Some(529 | 503)) || e.message.to_ascii_lowercase().contains("overloaded")
}

/// What a model turn leads to.
enum Next {
    /// Another turn.
    Turn,
    /// The step (and the run) ends.
    Stop(End),
    /// The step is done: its final answer.
    Done(String),
}

impl Executor<'_> {
    /// Runs `step` with its rendered `prompt` and its scope's `inputs`,
    /// within the step's limits (counted as `label`) and the run's. On
    /// success, the final answer's text.
    pub(super) fn agent(
        &mut self,
        provider: &mut dyn Provider,
        ws: &Workspace,
        step: &AgentStep,
        prompt: &str,
        inputs: &BTreeMap<String, Value>,
        label: &str,
    ) -> Result<(End, String), EngineError> {
        self.confined.step_network = step.network.clone();
        let mut tools = ToolLayer::new(
            &ws.dir,
            &step.builtin_tools(),
            &step.permissions,
            &step.bounds,
            self.command_env(ws, &step.env)?,
            self.confinement(),
        )
        .map_err(EngineError::Tools)?;
        tools.set_writes_allowed(!step.plan_checkpoint);
        tools.set_write_budget(crate::tools::WriteBudget {
            max: self.plan.limits.max_write_bytes,
            used: self.spent.written_bytes,
        });
        let outer = self.enter_limits(label, &step.limits);
        let mut conversation = Conversation::new(ModelRequest {
            model: step
                .model
                .name
                .clone()
                .unwrap_or_else(|| "script".to_string()),
            max_tokens: step.model.max_tokens,
            temperature: step.model.temperature,
            system: instructions(step),
            tools: tools
                .definitions()
                .into_iter()
                .chain(crate::mcp::definitions(self.plan, &step.mcp_tools()))
                .map(tool_def)
                .collect(),
            messages: Vec::new(),
        });
        conversation.push(first_message(step, prompt));
        let mut agent = Agent {
            step,
            inputs,
            tools,
            conversation,
            reads: reread::Reads::default(),
            clearable: clear::Clearable::default(),
            plan_phase: step.plan_checkpoint,
            repairs: 0,
            max_repairs: step
                .limits
                .max_repairs
                .unwrap_or(self.plan.limits.max_repairs),
            model: step.model.clone(),
            fallbacks: 0,
        };
        let done = self.agent_loop(provider, ws, &mut agent);
        self.leave_limits(outer);
        if let Ok(((RunStatus::Succeeded, _), answer)) = &done {
            self.recorder
                .answer((!label.is_empty()).then_some(label), answer);
        }
        done
    }

    /// Model turns and tool calls until the agent is done, then the output
    /// schema and the checks, with repair rounds.
    fn agent_loop(
        &mut self,
        provider: &mut dyn Provider,
        ws: &Workspace,
        agent: &mut Agent,
    ) -> Result<(End, String), EngineError> {
        loop {
            if let Some(end) = self.turn_limit()? {
                return Ok((end, String::new()));
            }
            let response = match self.model_turn(provider, agent)? {
                Ok(response) => response,
                Err(end) => return Ok((end, String::new())),
            };
            match self.after_turn(ws, agent, &response)? {
                Next::Turn => {}
                Next::Stop(end) => return Ok((end, String::new())),
                Next::Done(answer) => return Ok(((RunStatus::Succeeded, None), answer)),
            }
        }
    }

    /// The run's or a step's time or turns are used up.
    fn turn_limit(&mut self) -> Result<Option<End>, EngineError> {
        if let Some(end) = self.time_limit()? {
            return Ok(Some(end));
        }
        if let Some(end) = self.step_turn_limit()? {
            return Ok(Some(end));
        }
        let max_turns = self.plan.limits.max_turns;
        if self.spent.totals.turns >= max_turns {
            return self
                .limit(
                    "max_turns",
                    RunStatus::TurnLimit,
                    &format!("{max_turns} model requests made, the limit"),
                )
                .map(Some);
        }
        Ok(None)
    }

    /// One model request and its answer, accounted for; `Err(end)` when
    /// the model failed or a limit was reached.
    fn model_turn(
        &mut self,
        provider: &mut dyn Provider,
        agent: &mut Agent,
    ) -> Result<Result<ModelResponse, End>, EngineError> {
        // In a `wf batch`: its cap, request slots and back-off (batch.rs).
        let slot = match self.batch_gate()? {
            Ok(slot) => slot,
            Err(end) => return Ok(Err(end)),
        };
        self.spent.totals.turns += 1;
        let turn = self.spent.totals.turns;
        self.emit(Event::ModelRequest {
            turn,
            request_hash: agent.conversation.hash(),
            tokens_estimate: crate::context::estimate_tokens(agent.conversation.bytes),
        })?;
        let (answer, cache_hit) = loop {
            let (answer, cache_hit) = {
                let mut observer = Observer {
                    recorder: &mut self.recorder,
                    secrets: &self.secrets,
                    turn,
                    cache_hit: false,
                    deadline: self.deadline,
                };
                let answer = provider.complete(
                    &agent.conversation.request,
                    &mut batch::Watch::new(&mut observer),
                );
                (answer, observer.cache_hit)
            };
            // Still overloaded after its attempts: the same request to the
            // next model of `model.fallback`, unless the time is up.
            if let Err(e) = &answer
                && overloaded(e)
                && !self.left().is_zero()
            {
                let from = agent.conversation.request.model.clone();
                if let Some(to) = agent.fall_back() {
                    self.emit(Event::ModelFallback {
                        turn,
                        from,
                        to,
                        reason: self.secrets.redact_owned(e.message.clone()),
                        status: e.status,
                    })?;
                    continue;
                }
            }
            break (answer, cache_hit);
        };
        drop(slot);
        let response = match answer {
            Ok(r) => r,
            Err(e) => {
                let message = self.secrets.redact_owned(e.message.clone());
                self.emit(Event::ModelError {
                    turn,
                    message: message.clone(),
                    status: e.status,
                    request_id: e.request_id.clone(),
                })?;
                // Cut short by the run's or a step's time limit.
                if let Some(end) = self.time_limit()? {
                    return Ok(Err(end));
                }
                return Ok(Err((RunStatus::ModelError, Some(message))));
            }
        };
        let before = self.spent.totals.cost_usd;
        // Priced as the model that answered.
        self.account(&agent.model.clone(), turn, &response, cache_hit)?;
        self.batch_spent(before)?;
        if let Some(end) = self.step_cost_limit()? {
            return Ok(Err(end));
        }
        if let Some(max) = self.plan.run_cost_cap()
            && let Some(cost) = self.spent.totals.cost_usd
            && cost > max
        {
            let from_command_line = self.plan.limits.max_cost_usd.is_none_or(|task| task > max);
            let (spent, max) = limits::amounts(cost, max);
            let source = if from_command_line {
                " (wf run --max-cost-usd)"
            } else {
                ""
            };
            return self
                .limit(
                    "max_cost_usd",
                    RunStatus::CostLimit,
                    &format!("spent {spent}, over the {max} limit{source}"),
                )
                .map(Err);
        }
        // The answer came after the time ran out: it is not acted on.
        if let Some(end) = self.time_limit()? {
            return Ok(Err(end));
        }
        Ok(Ok(response))
    }

    /// Acts on an answer: continues a cut answer, runs its tool calls, or,
    /// on a turn without calls, asks for the plan's approval or verifies
    /// the work.
    fn after_turn(
        &mut self,
        ws: &Workspace,
        agent: &mut Agent,
        response: &ModelResponse,
    ) -> Result<Next, EngineError> {
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
            agent.conversation.push(Message {
                role: Role::Assistant,
                content: response.content.clone(),
            });
        }
        match &response.stop_reason {
            StopReason::Refusal => {
                return Ok(Next::Stop((
                    RunStatus::ModelError,
                    Some("the model refused to continue".into()),
                )));
            }
            StopReason::PauseTurn if calls.is_empty() => return Ok(Next::Turn),
            StopReason::MaxTokens if calls.is_empty() => {
                agent.conversation.push(user_text(
                    "Your answer was cut off at the max_tokens limit. Continue where you stopped.",
                ));
                return Ok(Next::Turn);
            }
            _ => {}
        }
        if !calls.is_empty() {
            let mut results = Vec::new();
            let tools: Vec<String> = calls.iter().map(|(_, name, _)| name.clone()).collect();
            // Calls past `limits.max_tool_calls_per_turn` are recorded and
            // answered with an error, never run.
            let cap = self.plan.limits.max_tool_calls_per_turn;
            for (i, (id, name, input)) in calls.into_iter().enumerate() {
                let refused = (i >= cap as usize).then(|| {
                    crate::tools::ToolOutcome::error(format!(
                        "tool call {} of this turn refused: limits.max_tool_calls_per_turn is {cap}",
                        i + 1
                    ))
                });
                results.push(self.tool_call(agent, &id, &name, &input, refused)?);
            }
            if response.stop_reason == StopReason::MaxTokens {
                results.push(Block::Text {
                    text: "Your answer was cut off at the max_tokens limit; a tool call may be incomplete.".into(),
                });
            }
            agent.conversation.push(Message {
                role: Role::User,
                content: results,
            });
            let turn = self.spent.totals.turns;
            let tools: Vec<&str> = tools.iter().map(String::as_str).collect();
            let policy = self.conversation;
            if policy.clear_after_turns > 0 {
                agent.clearable.add(&agent.conversation, &tools, turn);
                if let Some(last) = agent.clearable.clear(
                    &mut agent.conversation,
                    turn,
                    policy.clear_after_turns,
                    policy.clear_at_least_bytes,
                ) {
                    agent.reads.forget_through(last);
                }
            }
            return Ok(Next::Turn);
        }
        // A turn without tool calls: the agent says it is done.
        if agent.plan_phase {
            return self.approve_plan(agent, response);
        }
        self.verify(ws, agent, response_text(response))
    }

    /// The plan checkpoint: the model's plan approved, writes are allowed
    /// and the model is told to carry it out.
    fn approve_plan(
        &mut self,
        agent: &mut Agent,
        response: &ModelResponse,
    ) -> Result<Next, EngineError> {
        let text = response_text(response);
        if let Some(end) = self.checkpoint(
            CheckpointName::Plan,
            None,
            super::checkpoint::Subject::Plan(&text),
        )? {
            return Ok(Next::Stop(end));
        }
        agent.plan_phase = false;
        agent.tools.set_writes_allowed(true);
        agent
            .conversation
            .push(user_text("The plan is approved. Carry it out now."));
        Ok(Next::Turn)
    }

    /// The final answer against the output schema, then the checks; a
    /// failure asks for a repair round while there are rounds left.
    fn verify(
        &mut self,
        ws: &Workspace,
        agent: &mut Agent,
        answer: String,
    ) -> Result<Next, EngineError> {
        let schema = agent.step.output_schema.as_ref();
        let failed = match schema.and_then(|schema| output_mismatch(&answer, schema)) {
            Some(why) => Some(checks::CheckRun {
                name: "output_schema".into(),
                passed: false,
                exit_code: None,
                timed_out: false,
                output_hash: crate::hash::sha256_hex(why.as_bytes()),
                output: why.clone(),
                tail: why,
                truncated: false,
                elapsed: Duration::ZERO,
            }),
            _ => self.run_checks(ws, agent.step, agent.inputs, agent.repairs)?,
        };
        let Some(failed) = failed else {
            return Ok(Next::Done(answer));
        };
        // A check that failed because the time ran out ends the run on the
        // time limit, not as a failed check.
        if let Some(end) = self.time_limit()? {
            return Ok(Next::Stop(end));
        }
        // A check that cannot run (exit 126/127, or its environment: no
        // network, a path the sandbox keeps from it) is not the model's to fix.
        let command = agent.step.checks.iter().find(|c| c.name == failed.name);
        let confinement = self.confinement();
        if let Some(why) = command.and_then(|c| {
            let what = format!("check `{}`", c.name);
            checks::cannot_run(
                &what,
                &c.run,
                failed.exit_code,
                &failed.tail,
                confinement.as_ref().map(|s| &s.policy),
            )
        }) {
            return Ok(Next::Stop((RunStatus::ChecksFailed, Some(why))));
        }
        let (repairs, max_repairs) = (agent.repairs, agent.max_repairs);
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
            return Ok(Next::Stop((RunStatus::ChecksFailed, Some(reason))));
        }
        agent.repairs += 1;
        self.spent.totals.repairs += 1;
        self.emit(Event::RepairRequested {
            round: agent.repairs,
            failed: vec![failed.name.clone()],
        })?;
        agent.conversation.push(user_text(&checks::repair_message(
            &failed,
            agent.repairs,
            max_repairs,
        )));
        Ok(Next::Turn)
    }

    fn account(
        &mut self,
        model: &crate::spec::ModelSpec,
        turn: u32,
        response: &ModelResponse,
        cache_hit: bool,
    ) -> Result<(), EngineError> {
        let usage = &response.usage;
        let add = |total: &mut Option<u64>, v: Option<u64>| {
            *total = match (*total, v) {
                (Some(t), Some(v)) => Some(t + v),
                _ => None,
            }
        };
        add(&mut self.spent.totals.input_tokens, usage.input_tokens);
        add(&mut self.spent.totals.output_tokens, usage.output_tokens);
        self.spent.totals.cache_creation_input_tokens += usage.cache_creation_input_tokens;
        self.spent.totals.cache_read_input_tokens += usage.cache_read_input_tokens;
        // A cached answer cost nothing this time.
        let cost = if cache_hit {
            Some(0.0)
        } else {
            (self.pricing)(model, usage)
        };
        if cost.is_none() {
            self.spent.cost_known = false;
        }
        if usage.estimated && !cache_hit {
            self.spent.totals.cost_estimated = true;
        }
        self.spent.totals.cost_usd = if self.spent.cost_known {
            Some(self.spent.totals.cost_usd.unwrap_or(0.0) + cost.unwrap_or(0.0))
        } else {
            None
        };
        self.emit(Event::ModelResponse {
            turn,
            // Tool inputs are recorded whole once, by the tool_call events.
            content: crate::record::inputs::elide(
                &response
                    .content
                    .iter()
                    .map(crate::recorded::block_to_record)
                    .collect::<Vec<_>>(),
            ),
            stop_reason: crate::recorded::stop_to_record(&response.stop_reason),
            usage: crate::recorded::usage_to_record(usage),
            cost_usd: cost,
            cache_hit,
        })
    }

    /// Runs and records one tool call; `refused`: its outcome without
    /// running it (a call past a cap). A `read_file` whose text the model
    /// already has gets the note of [`reread`] instead, in the trace as in
    /// the conversation.
    fn tool_call(
        &mut self,
        agent: &mut Agent,
        id: &str,
        name: &str,
        input: &serde_json::Value,
        refused: Option<crate::tools::ToolOutcome>,
    ) -> Result<Block, EngineError> {
        self.emit(Event::ToolCall {
            call_id: id.to_string(),
            tool: name.to_string(),
            input: input.clone(),
        })?;
        let started = Instant::now();
        let outcome = match (refused, input) {
            (Some(outcome), _) => outcome,
            (None, serde_json::Value::String(raw)) => crate::tools::ToolOutcome::error(format!(
                "{name}: the input is not valid JSON: {}",
                raw.chars().take(200).collect::<String>()
            )),
            // An MCP tool can act outside the workspace (an issue tracker, a
            // database): before the plan is approved it waits, like edits
            // and commands.
            (None, _) if name.starts_with(crate::spec::MCP_TOOL_PREFIX) && agent.plan_phase => {
                crate::tools::ToolOutcome::denied(crate::policy::Denial {
                    rule: "phase",
                    message: format!(
                        "{name} denied: the plan has not been approved yet; MCP tools can act \
                         outside the workspace, so they wait for the plan like edits and commands"
                    ),
                })
            }
            (None, _) if name.starts_with(crate::spec::MCP_TOOL_PREFIX) => {
                let left = self.left();
                match self.confined.mcp.as_mut() {
                    Some(mcp) => mcp.call(id, name, input, &agent.step.mcp_tools(), left),
                    None => crate::tools::ToolOutcome::error(format!(
                        "unknown tool `{name}`: this run declares no MCP servers"
                    )),
                }
            }
            (None, _) => {
                let outcome = agent.tools.call(name, input, self.left());
                self.spent.written_bytes = agent.tools.write_budget().used;
                if name == ToolName::ReadFile.as_str() && self.conversation.reread_notes {
                    agent.reads.answer(input, outcome, self.spent.totals.turns)
                } else {
                    outcome
                }
            }
        };
        // What a command or an MCP server printed may hold a credential it
        // read (see `crate::secrets`); the workspace's files go as they are.
        let mut outcome = outcome;
        if name == ToolName::Shell.as_str() || name.starts_with(crate::spec::MCP_TOOL_PREFIX) {
            outcome.content = self.secrets.redact_owned(outcome.content);
        }
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
        step: &AgentStep,
        inputs: &BTreeMap<String, Value>,
        round: u32,
    ) -> Result<Option<checks::CheckRun>, EngineError> {
        if step.checks.is_empty() {
            return Ok(None);
        }
        let env = check_env(self.command_env(ws, &step.env)?, ws, inputs);
        ws.relink_tools()
            .map_err(EngineError::workspace("cannot prepare the workspace"))?;
        let state = self.snapshot(ws)?;
        let failed = self.run_checks_on(ws, &step.checks, &env, round);
        self.restore(ws, &state).map_err(EngineError::workspace(
            "cannot restore the workspace after the checks",
        ))?;
        failed
    }

    fn run_checks_on(
        &mut self,
        ws: &Workspace,
        checks: &[crate::spec::Check],
        env: &[(String, String)],
        round: u32,
    ) -> Result<Option<checks::CheckRun>, EngineError> {
        for check in checks {
            self.change.known = None;
            self.recorder
                .activity(&format!("check {}: {}", check.name, check.run));
            let result = checks::run_check(
                check,
                &ws.dir,
                env,
                self.confinement().as_ref(),
                self.left(),
                &self.secrets,
            );
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
            // All of its output, for `wf show RUN --check NAME`; the trace
            // keeps the end. Best effort: the record is the trace.
            let log = self.dir.check_log(&result.name, round);
            if let Some(dir) = log.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = std::fs::write(&log, &result.output);
            if !result.passed {
                return Ok(Some(result));
            }
        }
        Ok(None)
    }
}
/// The JSON in a final answer: the whole text, or the body of a fenced
/// code block.
pub(super) fn extract_json(answer: &str) -> Option<serde_json::Value> {
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

/// Why a final answer is not JSON valid against `schema`, saying what to
/// fix, for the repair message; `None` when it is.
fn output_mismatch(answer: &str, schema: &serde_json::Value) -> Option<String> {
    let Some(value) = extract_json(answer) else {
        return Some(format!(
            "your final answer must be JSON valid against this schema, and it is not JSON:\n{}",
            serde_json::to_string_pretty(schema).unwrap_or_default()
        ));
    };
    let validator = match jsonschema::validator_for(schema) {
        Ok(validator) => validator,
        Err(e) => return Some(format!("the output schema is invalid: {e}")),
    };
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("at `{}`: {e}", e.instance_path().as_str()))
        .collect();
    (!errors.is_empty()).then(|| {
        format!(
            "your final answer does not match the output schema:\n{}",
            errors.join("\n")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overload_is_529_503_or_says_overloaded() {
        let e = |status: Option<u16>, message: &str| crate::provider::ProviderError {
            message: message.into(),
            status,
            request_id: None,
        };
        assert!(overloaded(&e(Some(529), "http 529")));
        assert!(overloaded(&e(Some(503), "service unavailable")));
        assert!(overloaded(&e(None, "stream error: Overloaded")));
        assert!(!overloaded(&e(Some(429), "rate_limit_error")));
        assert!(!overloaded(&e(Some(401), "invalid x-api-key")));
    }
}
