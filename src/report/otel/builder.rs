//! Building the spans from a run's records: one pass over the trace, a
//! span opened and closed per run, step, model request, tool call, check
//! and checkpoint, with their attributes and events.

use super::*;
use crate::record::event::{CheckpointState, Event, Record, RunStatus};
use crate::secrets::Secrets;

struct Builder<'a> {
    run_id: String,
    base_ns: u64,
    secrets: &'a Secrets,
    spans: Vec<Span>,
    /// Where spans open now: the step's span, else the run's (index 0).
    step: Option<usize>,
    request: Option<usize>,
    tools: BTreeMap<String, usize>,
    /// Each open tool call's input as words: kept out of denial reasons.
    inputs: BTreeMap<String, Vec<String>>,
    checkpoints: BTreeMap<String, usize>,
    provider: String,
    model: String,
}

impl Builder<'_> {
    fn at(&self, r: &Record) -> u64 {
        self.base_ns + r.t_ms * 1_000_000
    }

    fn text(&self, s: &str) -> Value {
        let redacted = self.secrets.redact(s);
        Value::Str(redacted.chars().take(MAX_TEXT).collect())
    }

    fn parent(&self) -> usize {
        self.step.unwrap_or(0)
    }

    fn open(&mut self, r: &Record, name: String, kind: Kind, attributes: Attributes) -> usize {
        let parent = self.spans[self.parent()].span_id;
        let t = self.at(r);
        self.spans.push(Span {
            span_id: span_id(&self.run_id, &r.seq.to_string()),
            parent: Some(parent),
            name,
            kind,
            start_ns: t,
            end_ns: t,
            attributes,
            events: Vec::new(),
            error: None,
        });
        self.spans.len() - 1
    }

    fn event(&mut self, span: usize, r: &Record, name: &str, attributes: Attributes) {
        let time_ns = self.at(r);
        self.spans[span].events.push(SpanEvent {
            time_ns,
            name: name.to_string(),
            attributes,
        });
    }

    fn record(&mut self, r: &Record) {
        let t = self.at(r);
        match &r.event {
            Event::RunStarted { .. } | Event::RecipeUsed { .. } | Event::McpServer { .. } => {}
            Event::SandboxReady {
                mode,
                network,
                level,
                ..
            } => {
                let mut a = vec![
                    ("wf.sandbox.mode".into(), Value::Str(mode.clone())),
                    ("wf.sandbox.network".into(), Value::Bool(*network)),
                ];
                if let Some(level) = level {
                    a.push(("wf.sandbox.level".into(), Value::Str(level.clone())));
                }
                self.event(0, r, "wf.sandbox_ready", a);
            }
            Event::WorkspaceReady { files, .. } => {
                let a = vec![("wf.workspace.files".into(), Value::Int(*files as i64))];
                self.event(0, r, "wf.workspace_ready", a);
            }
            Event::ContextResolved {
                files,
                total_tokens,
            } => {
                let a = vec![
                    ("wf.context.files".into(), Value::Int(files.len() as i64)),
                    ("wf.context.tokens".into(), Value::Int(*total_tokens as i64)),
                ];
                let span = self.parent();
                self.event(span, r, "wf.context_resolved", a);
            }
            Event::ModelRequest {
                turn,
                tokens_estimate,
                ..
            } => {
                let a = vec![
                    ("gen_ai.operation.name".into(), Value::Str("chat".into())),
                    (
                        "gen_ai.provider.name".into(),
                        Value::Str(self.provider.clone()),
                    ),
                    ("gen_ai.system".into(), Value::Str(self.provider.clone())),
                    (
                        "gen_ai.request.model".into(),
                        Value::Str(self.model.clone()),
                    ),
                    ("wf.turn".into(), Value::Int(i64::from(*turn))),
                    (
                        "wf.request.tokens_estimate".into(),
                        Value::Int(*tokens_estimate as i64),
                    ),
                ];
                let name = format!("chat {}", self.model);
                self.request = Some(self.open(r, name, Kind::Client, a));
            }
            Event::ModelRetry {
                attempt,
                reason,
                wait_ms,
                ..
            } => {
                if let Some(i) = self.request {
                    let a = vec![
                        ("wf.retry.attempt".into(), Value::Int(i64::from(*attempt))),
                        ("wf.retry.wait_ms".into(), Value::Int(*wait_ms as i64)),
                        ("wf.retry.reason".into(), self.text(reason)),
                    ];
                    self.event(i, r, "wf.model_retry", a);
                }
            }
            Event::ModelFallback {
                from,
                to,
                reason,
                status,
                ..
            } => {
                if let Some(i) = self.request {
                    let mut a = vec![
                        ("wf.fallback.from".into(), Value::Str(from.clone())),
                        ("wf.fallback.to".into(), Value::Str(to.clone())),
                        ("wf.fallback.reason".into(), self.text(reason)),
                    ];
                    if let Some(s) = status {
                        a.push((
                            "http.response.status_code".into(),
                            Value::Int(i64::from(*s)),
                        ));
                    }
                    self.event(i, r, "wf.model_fallback", a);
                    // The request is now the fallback model's, as the step's
                    // later ones are.
                    let span = &mut self.spans[i];
                    span.name = format!("chat {to}");
                    set(
                        &mut span.attributes,
                        "gen_ai.request.model",
                        Value::Str(to.clone()),
                    );
                }
                self.model = to.clone();
            }
            Event::ModelResponse {
                stop_reason,
                usage,
                cost_usd,
                cache_hit,
                ..
            } => {
                if let Some(i) = self.request.take() {
                    let span = &mut self.spans[i];
                    span.end_ns = t;
                    let reason = serde_json::to_value(stop_reason)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    let a = &mut span.attributes;
                    a.push((
                        "gen_ai.response.model".into(),
                        Value::Str(self.model.clone()),
                    ));
                    a.push((
                        "gen_ai.response.finish_reasons".into(),
                        Value::Strs(vec![reason]),
                    ));
                    if let Some(n) = usage.input_tokens {
                        a.push(("gen_ai.usage.input_tokens".into(), Value::Int(n as i64)));
                    }
                    if let Some(n) = usage.output_tokens {
                        a.push(("gen_ai.usage.output_tokens".into(), Value::Int(n as i64)));
                    }
                    a.push((
                        "gen_ai.usage.cache_read.input_tokens".into(),
                        Value::Int(usage.cache_read_input_tokens as i64),
                    ));
                    a.push((
                        "gen_ai.usage.cache_creation.input_tokens".into(),
                        Value::Int(usage.cache_creation_input_tokens as i64),
                    ));
                    if usage.estimated {
                        a.push(("wf.usage.estimated".into(), Value::Bool(true)));
                    }
                    if let Some(c) = cost_usd {
                        a.push(("wf.cost_usd".into(), Value::Float(*c)));
                    }
                    if *cache_hit {
                        a.push(("wf.cache_hit".into(), Value::Bool(true)));
                    }
                }
            }
            Event::ModelError {
                message, status, ..
            } => {
                if let Some(i) = self.request.take() {
                    let message = self.text(message);
                    let span = &mut self.spans[i];
                    span.end_ns = t;
                    let kind = status.map_or("model_error".to_string(), |s| s.to_string());
                    span.attributes
                        .push(("error.type".into(), Value::Str(kind)));
                    if let Some(s) = status {
                        span.attributes.push((
                            "http.response.status_code".into(),
                            Value::Int(i64::from(*s)),
                        ));
                    }
                    if let Value::Str(m) = message {
                        span.error = Some(m);
                    }
                }
            }
            Event::StepStarted { id, step_kind, .. } => {
                self.close_step(t);
                let a = vec![
                    ("wf.step.id".into(), Value::Str(id.clone())),
                    ("wf.step.kind".into(), Value::Str(step_kind.clone())),
                ];
                self.step = None;
                self.step = Some(self.open(r, format!("wf step {id}"), Kind::Internal, a));
            }
            Event::StepSkipped { id } => {
                self.close_step(t);
                let a = vec![
                    ("wf.step.id".into(), Value::Str(id.clone())),
                    ("wf.step.skipped".into(), Value::Bool(true)),
                ];
                self.open(r, format!("wf step {id}"), Kind::Internal, a);
            }
            Event::StepFinished { exit_code, .. } => {
                if let Some(i) = self.step.take() {
                    let span = &mut self.spans[i];
                    span.end_ns = t;
                    if let Some(code) = exit_code {
                        span.attributes
                            .push(("wf.step.exit_code".into(), Value::Int(i64::from(*code))));
                        if *code != 0 {
                            span.error = Some(format!("exit code {code}"));
                        }
                    }
                }
            }
            Event::NetworkConnection {
                host,
                port,
                allowed,
                reason,
                ..
            } => {
                let mut a = vec![
                    ("server.address".into(), Value::Str(host.clone())),
                    ("server.port".into(), Value::Int(i64::from(*port))),
                    ("wf.network.allowed".into(), Value::Bool(*allowed)),
                ];
                if let Some(why) = reason {
                    a.push(("wf.network.reason".into(), self.text(why)));
                }
                let span = self.parent();
                self.event(span, r, "wf.network_connection", a);
            }
            Event::ToolCall {
                call_id,
                tool,
                input,
            } => {
                self.inputs.insert(call_id.clone(), words(input));
                let a = vec![
                    (
                        "gen_ai.operation.name".into(),
                        Value::Str("execute_tool".into()),
                    ),
                    ("gen_ai.tool.name".into(), Value::Str(tool.clone())),
                    ("gen_ai.tool.call.id".into(), Value::Str(call_id.clone())),
                ];
                let i = self.open(r, format!("execute_tool {tool}"), Kind::Internal, a);
                self.tools.insert(call_id.clone(), i);
            }
            Event::PermissionDenied {
                call_id,
                rule,
                message,
                ..
            } => {
                // The reason, without the path or command the model sent
                // (its words could be anything it read).
                let mut reason = message
                    .split_once(" denied: ")
                    .map_or(message.as_str(), |(_, why)| why)
                    .to_string();
                for word in self.inputs.get(call_id).into_iter().flatten() {
                    reason = reason.replace(word.as_str(), "…");
                }
                let a = vec![
                    ("wf.denied.rule".into(), Value::Str(rule.clone())),
                    ("wf.denied.reason".into(), self.text(&reason)),
                ];
                let span = self.tools.get(call_id).copied().unwrap_or(self.parent());
                self.event(span, r, "wf.permission_denied", a);
            }
            Event::ToolResult {
                call_id,
                ok,
                exit_code,
                truncated,
                duration_ms,
                ..
            } => {
                self.inputs.remove(call_id);
                if let Some(i) = self.tools.remove(call_id) {
                    let span = &mut self.spans[i];
                    span.end_ns = t.max(span.start_ns + duration_ms * 1_000_000);
                    let a = &mut span.attributes;
                    a.push(("wf.tool.ok".into(), Value::Bool(*ok)));
                    if let Some(code) = exit_code {
                        a.push(("wf.tool.exit_code".into(), Value::Int(i64::from(*code))));
                    }
                    if *truncated {
                        a.push(("wf.tool.truncated".into(), Value::Bool(true)));
                    }
                    if !ok {
                        span.error = Some("the tool call failed or was denied".into());
                    }
                }
            }
            Event::CheckResult {
                round,
                name,
                passed,
                exit_code,
                timed_out,
                duration_ms,
                ..
            } => {
                let mut a = vec![
                    ("wf.check.name".into(), Value::Str(name.clone())),
                    ("wf.check.round".into(), Value::Int(i64::from(*round))),
                    ("wf.check.passed".into(), Value::Bool(*passed)),
                    ("wf.check.timed_out".into(), Value::Bool(*timed_out)),
                ];
                if let Some(code) = exit_code {
                    a.push(("wf.check.exit_code".into(), Value::Int(i64::from(*code))));
                }
                let i = self.open(r, format!("wf check {name}"), Kind::Internal, a);
                let span = &mut self.spans[i];
                span.start_ns = t.saturating_sub(duration_ms * 1_000_000).max(self.base_ns);
                if !passed {
                    span.error = Some(if *timed_out {
                        "timed out".into()
                    } else {
                        "failed".into()
                    });
                }
            }
            Event::RepairRequested { round, failed } => {
                let a = vec![
                    ("wf.repair.round".into(), Value::Int(i64::from(*round))),
                    ("wf.repair.failed".into(), Value::Strs(failed.clone())),
                ];
                let span = self.parent();
                self.event(span, r, "wf.repair_requested", a);
            }
            Event::Checkpoint {
                name,
                state,
                via,
                step,
                ..
            } => {
                let name = serde_json::to_value(name)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let key = format!("{name}/{}", step.as_deref().unwrap_or(""));
                let state_text = serde_json::to_value(state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                if *state == CheckpointState::Reached {
                    let mut a = vec![("wf.checkpoint.name".into(), Value::Str(name.clone()))];
                    if let Some(s) = step {
                        a.push(("wf.step.id".into(), Value::Str(s.clone())));
                    }
                    let i = self.open(r, format!("wf checkpoint {name}"), Kind::Internal, a);
                    self.checkpoints.insert(key, i);
                    return;
                }
                let i = match self.checkpoints.remove(&key) {
                    Some(i) => i,
                    None => {
                        let a = vec![("wf.checkpoint.name".into(), Value::Str(name.clone()))];
                        self.open(r, format!("wf checkpoint {name}"), Kind::Internal, a)
                    }
                };
                let span = &mut self.spans[i];
                span.end_ns = t;
                set(
                    &mut span.attributes,
                    "wf.checkpoint.state",
                    Value::Str(state_text),
                );
                if let Some(via) = via {
                    set(
                        &mut span.attributes,
                        "wf.checkpoint.via",
                        Value::Str(via.clone()),
                    );
                }
            }
            Event::DiffReady { files, .. } => {
                let a = vec![("wf.diff.files".into(), Value::Int(files.len() as i64))];
                self.event(0, r, "wf.diff_ready", a);
            }
            Event::Applied { files } => {
                let a = vec![("wf.applied.files".into(), Value::Int(files.len() as i64))];
                self.event(0, r, "wf.applied", a);
            }
            Event::Committed { revision, .. } => {
                let a = vec![("wf.commit".into(), Value::Str(revision.clone()))];
                self.event(0, r, "wf.committed", a);
            }
            Event::ChangeRefused { paths } => {
                let a = vec![("wf.refused.paths".into(), Value::Int(paths.len() as i64))];
                self.event(0, r, "wf.change_refused", a);
            }
            Event::ApplyFailed { message } => {
                let a = vec![("wf.reason".into(), self.text(message))];
                self.event(0, r, "wf.apply_failed", a);
            }
            Event::LimitReached { limit, message } => {
                let a = vec![
                    ("wf.limit".into(), Value::Str(limit.clone())),
                    ("wf.reason".into(), self.text(message)),
                ];
                self.event(0, r, "wf.limit_reached", a);
            }
            Event::RunInterrupted { signal, .. } => {
                let a = vec![("wf.signal".into(), Value::Str(signal.clone()))];
                self.event(0, r, "wf.run_interrupted", a);
            }
            Event::RunFinished {
                status,
                reason,
                files_changed,
                totals,
                ..
            } => {
                let reason = reason.as_deref().map(|why| self.text(why));
                let run = &mut self.spans[0];
                run.end_ns = t;
                set(
                    &mut run.attributes,
                    "wf.status",
                    Value::Str(status.as_str().into()),
                );
                set(
                    &mut run.attributes,
                    "wf.files_changed",
                    Value::Int(files_changed.len() as i64),
                );
                set(
                    &mut run.attributes,
                    "wf.turns",
                    Value::Int(i64::from(totals.turns)),
                );
                set(
                    &mut run.attributes,
                    "wf.repairs",
                    Value::Int(i64::from(totals.repairs)),
                );
                if let Some(n) = totals.input_tokens {
                    set(
                        &mut run.attributes,
                        "gen_ai.usage.input_tokens",
                        Value::Int(n as i64),
                    );
                }
                if let Some(n) = totals.output_tokens {
                    set(
                        &mut run.attributes,
                        "gen_ai.usage.output_tokens",
                        Value::Int(n as i64),
                    );
                }
                if let Some(c) = totals.cost_usd {
                    set(&mut run.attributes, "wf.cost_usd", Value::Float(c));
                }
                match reason {
                    Some(Value::Str(why)) if failed(status) => run.error = Some(why),
                    Some(why) => set(&mut run.attributes, "wf.reason", why),
                    None if failed(status) => run.error = Some(status.as_str().to_string()),
                    None => run.error = None,
                }
            }
        }
    }

    fn close_step(&mut self, t: u64) {
        if let Some(i) = self.step.take() {
            self.spans[i].end_ns = t;
        }
    }
}

/// The strings of a tool's input, whole and as words of 3 characters or
/// more, longest first.
fn words(input: &serde_json::Value) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => {
                out.push(s.clone());
                out.extend(s.split_whitespace().map(str::to_string));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            serde_json::Value::Object(map) => map.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(input, &mut out);
    out.retain(|w| w.chars().count() >= 3);
    out.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    out.dedup();
    out
}

/// Sets `key` (replacing an earlier value).
fn set(attributes: &mut Attributes, key: &str, value: Value) {
    match attributes.iter_mut().find(|(k, _)| k == key) {
        Some((_, v)) => *v = value,
        None => attributes.push((key.to_string(), value)),
    }
}

/// Statuses that are errors of the run (status ERROR); a rejection, a
/// pause, an interruption and a dry run are not.
fn failed(status: &RunStatus) -> bool {
    matches!(
        status,
        RunStatus::ChecksFailed
            | RunStatus::TurnLimit
            | RunStatus::CostLimit
            | RunStatus::Timeout
            | RunStatus::ModelError
            | RunStatus::ApplyFailed
            | RunStatus::Error
    )
}

/// The spans of a run's records (a trace's, as read), with `resource` as
/// the resource's attributes. Free texts are redacted with `secrets`.
pub fn spans(records: &[Record], resource: Attributes, secrets: &Secrets) -> Option<Trace> {
    let Some(Event::RunStarted {
        run_id,
        spec_name,
        spec_version,
        spec_hash,
        fingerprint,
        model,
        dry_run,
        at,
        ..
    }) = records.first().map(|r| &r.event)
    else {
        return None;
    };
    let base_ns =
        crate::sys::clock::unix_seconds(at).map_or(0, |s| s.max(0) as u64 * 1_000_000_000);
    let (provider, model_name) = match model.split_once('/') {
        Some((p, n)) => (p.to_string(), n.to_string()),
        None => (model.clone(), model.clone()),
    };
    let mut attributes = vec![
        (
            "gen_ai.operation.name".into(),
            Value::Str("invoke_agent".into()),
        ),
        ("gen_ai.agent.name".into(), Value::Str(spec_name.clone())),
        ("gen_ai.provider.name".into(), Value::Str(provider.clone())),
        ("gen_ai.system".into(), Value::Str(provider.clone())),
        (
            "gen_ai.request.model".into(),
            Value::Str(model_name.clone()),
        ),
        ("wf.run.id".into(), Value::Str(run_id.clone())),
        ("wf.task.name".into(), Value::Str(spec_name.clone())),
        ("wf.task.spec_hash".into(), Value::Str(spec_hash.clone())),
        ("wf.fingerprint".into(), Value::Str(fingerprint.clone())),
        ("wf.dry_run".into(), Value::Bool(*dry_run)),
    ];
    if let Some(v) = spec_version {
        attributes.push(("wf.task.version".into(), Value::Str(v.clone())));
    }
    let last_ns = base_ns + records.last().map_or(0, |r| r.t_ms) * 1_000_000;
    let run = Span {
        span_id: span_id(run_id, "run"),
        parent: None,
        name: format!("invoke_agent {spec_name}"),
        kind: Kind::Internal,
        start_ns: base_ns,
        end_ns: last_ns,
        attributes,
        events: Vec::new(),
        error: None,
    };
    let mut b = Builder {
        run_id: run_id.clone(),
        base_ns,
        secrets,
        spans: vec![run],
        step: None,
        request: None,
        tools: BTreeMap::new(),
        inputs: BTreeMap::new(),
        checkpoints: BTreeMap::new(),
        provider,
        model: model_name,
    };
    for r in records {
        b.record(r);
    }
    // Spans left open (an interrupted or paused run) end with the trace.
    if b.spans[0].end_ns < last_ns {
        b.spans[0].end_ns = last_ns;
    }
    let open: Vec<usize> = b
        .step
        .into_iter()
        .chain(b.request)
        .chain(b.tools.values().copied())
        .chain(b.checkpoints.values().copied())
        .collect();
    for i in open {
        b.spans[i].end_ns = b.spans[i].end_ns.max(last_ns);
    }
    Some(Trace {
        trace_id: trace_id(run_id),
        resource,
        spans: b.spans,
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;

    /// A run of two steps: the first's model asks for a denied read and a
    /// write of a file whose contents must never leave; a failed check, a
    /// repair, a model error, the apply checkpoint.
    fn records() -> Vec<Record> {
        let events = vec![
            json!({"kind": "run_started", "trace_version": 2, "wf_version": "0.1.0",
                "run_id": "R1", "spec_name": "fix", "spec_version": "1.2.0", "spec_path": "t.yaml",
                "spec_hash": "abc", "inputs": {}, "fingerprint": "fp", "base_revision": null,
                "model": "anthropic/claude-sonnet-4-5", "dry_run": false, "at": "2026-01-02T03:04:05Z"}),
            json!({"kind": "step_started", "id": "first", "step_kind": "agent"}),
            json!({"kind": "context_resolved", "files": [{"path": "a.rs", "bytes": 3, "tokens": 1, "hash": "h"}], "total_tokens": 1}),
            json!({"kind": "model_request", "turn": 1, "request_hash": "rh", "tokens_estimate": 10}),
            json!({"kind": "model_retry", "turn": 1, "attempt": 1, "reason": "overloaded", "wait_ms": 5}),
            json!({"kind": "model_response", "turn": 1, "content": [{"type": "text", "text": "MODEL-WORDS"}],
                "stop_reason": "tool_use", "usage": {"input_tokens": 1000, "output_tokens": 20,
                "cache_creation_input_tokens": 7, "cache_read_input_tokens": 300}, "cost_usd": 0.0042}),
            json!({"kind": "tool_call", "call_id": "c1", "tool": "read_file", "input": {"path": ".env"}}),
            json!({"kind": "permission_denied", "call_id": "c1", "tool": "read_file", "rule": "read",
                "message": "read of .env denied: not matched by permissions.read"}),
            json!({"kind": "tool_result", "call_id": "c1", "tool": "read_file", "ok": false, "exit_code": null,
                "output_hash": "oh", "output": "denied", "truncated": false, "duration_ms": 0}),
            json!({"kind": "tool_call", "call_id": "c2", "tool": "write_file",
                "input": {"path": "a.rs", "content": "FILE-CONTENTS"}}),
            json!({"kind": "tool_result", "call_id": "c2", "tool": "write_file", "ok": true, "exit_code": null,
                "output_hash": "oh", "output": "FILE-CONTENTS written", "truncated": false, "duration_ms": 3}),
            json!({"kind": "step_finished", "id": "first", "exit_code": null, "output": "STEP-OUTPUT"}),
            json!({"kind": "step_started", "id": "second", "step_kind": "agent"}),
            json!({"kind": "model_request", "turn": 2, "request_hash": "rh", "tokens_estimate": 10}),
            json!({"kind": "model_error", "turn": 2, "message": "bad key sk-ant-api03-SECRETSECRETSECRET", "status": 401, "request_id": null}),
            json!({"kind": "step_finished", "id": "second", "exit_code": null, "output": null}),
            json!({"kind": "check_result", "round": 0, "name": "unit", "passed": false, "exit_code": 1,
                "timed_out": false, "output_hash": "h", "output_tail": "CHECK-OUTPUT", "truncated": false, "duration_ms": 40}),
            json!({"kind": "checkpoint", "name": "apply", "state": "reached", "by": null, "via": null, "comment": null, "at": null}),
            json!({"kind": "checkpoint", "name": "apply", "state": "approved", "by": "someone@example.com", "via": "--yes", "comment": null, "at": null}),
            json!({"kind": "run_finished", "status": "checks_failed", "reason": "check unit failed",
                "diff_hash": null, "files_changed": ["a.rs"], "totals": {"turns": 2, "repairs": 0,
                "input_tokens": 1000, "output_tokens": 20, "cache_creation_input_tokens": 7,
                "cache_read_input_tokens": 300, "cost_usd": 0.0042}}),
        ];
        events
            .into_iter()
            .enumerate()
            .map(|(i, mut e)| {
                e["seq"] = json!(i);
                e["t_ms"] = json!(i * 100);
                serde_json::from_value(e).unwrap()
            })
            .collect()
    }

    pub(in crate::report::otel) fn trace() -> Trace {
        let secrets =
            Secrets::from_vars([("ANTHROPIC_API_KEY", "sk-ant-api03-SECRETSECRETSECRET")]);
        spans(
            &records(),
            vec![("service.name".into(), Value::Str("wf".into()))],
            &secrets,
        )
        .unwrap()
    }

    fn attr<'a>(s: &'a Span, key: &str) -> Option<&'a Value> {
        s.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn named<'a>(t: &'a Trace, name: &str) -> Vec<&'a Span> {
        t.spans.iter().filter(|s| s.name == name).collect()
    }

    #[test]
    fn spans_nest_run_steps_requests_tools_checks_and_checkpoints() {
        let t = trace();
        let names: Vec<&str> = t.spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "invoke_agent fix",
                "wf step first",
                "chat claude-sonnet-4-5",
                "execute_tool read_file",
                "execute_tool write_file",
                "wf step second",
                "chat claude-sonnet-4-5",
                "wf check unit",
                "wf checkpoint apply",
            ]
        );
        let run = &t.spans[0];
        assert_eq!(run.parent, None);
        let first = &t.spans[1];
        assert_eq!(first.parent, Some(run.span_id));
        for child in &t.spans[2..5] {
            assert_eq!(child.parent, Some(first.span_id), "{}", child.name);
        }
        assert_eq!(t.spans[6].parent, Some(t.spans[5].span_id));
        // After the steps, checks and checkpoints are the run's.
        assert_eq!(t.spans[7].parent, Some(run.span_id));
        assert_eq!(t.spans[8].parent, Some(run.span_id));
        // The recorded times: the run's `at` plus each record's `t_ms`.
        let base = 1_767_323_045u64 * 1_000_000_000;
        assert_eq!(run.start_ns, base);
        assert_eq!(run.end_ns, base + 1_900 * 1_000_000);
        assert_eq!(t.spans[2].start_ns, base + 300 * 1_000_000);
        assert_eq!(t.spans[2].end_ns, base + 500 * 1_000_000);
        // A check's span reaches back its duration from its record.
        assert_eq!(t.spans[7].start_ns, base + (1_600 - 40) * 1_000_000);
        assert_eq!(t.spans[8].end_ns - t.spans[8].start_ns, 100 * 1_000_000);
    }

    #[test]
    fn model_requests_carry_the_genai_attributes_and_the_cost() {
        let t = trace();
        let chat = named(&t, "chat claude-sonnet-4-5")[0];
        assert_eq!(chat.kind, Kind::Client);
        for (k, v) in [
            ("gen_ai.operation.name", Value::Str("chat".into())),
            ("gen_ai.provider.name", Value::Str("anthropic".into())),
            ("gen_ai.system", Value::Str("anthropic".into())),
            (
                "gen_ai.request.model",
                Value::Str("claude-sonnet-4-5".into()),
            ),
            ("gen_ai.usage.input_tokens", Value::Int(1000)),
            ("gen_ai.usage.output_tokens", Value::Int(20)),
            ("gen_ai.usage.cache_read.input_tokens", Value::Int(300)),
            ("gen_ai.usage.cache_creation.input_tokens", Value::Int(7)),
            (
                "gen_ai.response.finish_reasons",
                Value::Strs(vec!["tool_use".into()]),
            ),
            ("wf.cost_usd", Value::Float(0.0042)),
        ] {
            assert_eq!(attr(chat, k), Some(&v), "{k}");
        }
        assert_eq!(chat.events[0].name, "wf.model_retry");
        let failed = named(&t, "chat claude-sonnet-4-5")[1];
        assert_eq!(attr(failed, "error.type"), Some(&Value::Str("401".into())));
        let why = failed.error.as_deref().unwrap();
        assert!(!why.contains("SECRETSECRET"), "{why}");
        let run = &t.spans[0];
        assert_eq!(
            attr(run, "wf.status"),
            Some(&Value::Str("checks_failed".into()))
        );
        assert_eq!(run.error.as_deref(), Some("check unit failed"));
        assert_eq!(
            attr(run, "gen_ai.agent.name"),
            Some(&Value::Str("fix".into()))
        );
    }

    #[test]
    fn a_denial_is_an_event_of_its_tool_span_with_the_rule_and_reason() {
        let t = trace();
        let read = named(&t, "execute_tool read_file")[0];
        assert_eq!(read.events.len(), 1);
        let e = &read.events[0];
        assert_eq!(e.name, "wf.permission_denied");
        assert_eq!(
            e.attributes[0],
            ("wf.denied.rule".into(), Value::Str("read".into()))
        );
        assert_eq!(
            e.attributes[1].1,
            Value::Str("not matched by permissions.read".into())
        );
        assert!(read.error.is_some());
        let write = named(&t, "execute_tool write_file")[0];
        assert_eq!(
            attr(write, "gen_ai.tool.call.id"),
            Some(&Value::Str("c2".into()))
        );
        assert_eq!(attr(write, "wf.tool.ok"), Some(&Value::Bool(true)));
    }

    #[test]
    fn no_contents_output_answer_person_or_secret_leaves_in_either_encoding() {
        let t = trace();
        let json = serde_json::to_string(&to_json(&t)).unwrap();
        let pb = to_protobuf(&t);
        for leak in [
            "FILE-CONTENTS",
            "MODEL-WORDS",
            "STEP-OUTPUT",
            "CHECK-OUTPUT",
            "someone@example.com",
            "SECRETSECRET",
        ] {
            assert!(!json.contains(leak), "{leak} in {json}");
            assert!(
                !pb.windows(leak.len()).any(|w| w == leak.as_bytes()),
                "{leak} in the protobuf"
            );
        }
        // What is sent: names and counts.
        assert!(json.contains("\"wf.context.files\""), "{json}");
    }

    #[test]
    fn ids_come_from_the_run_id_so_a_second_export_is_the_same() {
        let (a, b) = (trace(), trace());
        assert_eq!(to_protobuf(&a), to_protobuf(&b));
        assert_eq!(a.trace_id, trace_id("R1"));
        assert_eq!(a.spans[0].span_id, span_id("R1", "run"));
        assert_ne!(trace_id("R1"), trace_id("R2"));
        let ids: std::collections::BTreeSet<_> = a.spans.iter().map(|s| s.span_id).collect();
        assert_eq!(ids.len(), a.spans.len(), "span ids are unique");
    }

    #[test]
    fn an_interrupted_run_closes_its_open_spans_at_its_last_record() {
        let mut rs = records();
        rs.truncate(4); // run, step, context, model request: then killed.
        let t = spans(&rs, Vec::new(), &Secrets::none()).unwrap();
        let last = t.spans[0].start_ns + 300 * 1_000_000;
        assert!(t.spans.iter().all(|s| s.end_ns == last), "{t:?}");
        assert!(spans(&[], Vec::new(), &Secrets::none()).is_none());
    }
}
