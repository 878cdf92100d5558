//! Live output of `wf run`: an indicatif status line on a terminal, plain
//! lines otherwise, JSON lines with `--json`. All three read events only.

use crate::record::event::{CheckpointState, Event, Record};
use crate::record::recorder::Reporter;
use std::io::Write;

/// One line describing a notable event, or `None` for events shown only in
/// the status line.
pub fn line(record: &Record) -> Option<String> {
    Some(match &record.event {
        Event::RunStarted {
            spec_name,
            run_id,
            model,
            ..
        } => format!("run {run_id}: {spec_name} with {model}"),
        Event::WorkspaceReady { files, .. } => format!("workspace: {files} files copied"),
        Event::ContextResolved {
            files,
            total_tokens,
        } => format!("context: {} files, {total_tokens} tokens", files.len()),
        Event::ModelRetry {
            attempt,
            reason,
            wait_ms,
            ..
        } => format!(
            "model: attempt {attempt} failed ({reason}); retrying in {:.1}s",
            *wait_ms as f64 / 1000.0
        ),
        Event::ModelError { message, .. } => format!("model error: {message}"),
        Event::StepStarted { id, step_kind } => format!("step {id} ({step_kind})"),
        Event::StepSkipped { id } => format!("step {id} skipped (if: false)"),
        Event::ToolCall { tool, input, .. } => format!("{tool} {}", brief_input(input)),
        Event::PermissionDenied { message, .. } => format!("denied: {message}"),
        Event::ToolResult {
            ok: false,
            tool,
            output,
            ..
        } if !output.contains(" denied: ") => {
            format!(
                "{tool} failed: {}",
                output.lines().next().unwrap_or_default()
            )
        }
        Event::CheckResult {
            name,
            passed,
            exit_code,
            duration_ms,
            ..
        } => {
            let verdict = if *passed {
                "passed".to_string()
            } else {
                format!(
                    "FAILED (exit {})",
                    exit_code.map_or("-".into(), |c| c.to_string())
                )
            };
            format!(
                "check {name}: {verdict} in {:.1}s",
                *duration_ms as f64 / 1000.0
            )
        }
        Event::RepairRequested { round, failed } => format!(
            "repair round {round}: asking the model to fix {}",
            failed.join(", ")
        ),
        Event::Checkpoint {
            name,
            state,
            by,
            via,
            ..
        } => match state {
            CheckpointState::Reached => {
                format!("checkpoint {}: waiting for approval", name.as_str())
            }
            CheckpointState::Paused => format!("checkpoint {}: paused", name.as_str()),
            other => format!(
                "checkpoint {}: {} by {} via {}",
                name.as_str(),
                if *other == CheckpointState::Approved {
                    "approved"
                } else {
                    "rejected"
                },
                by.as_deref().unwrap_or("?"),
                via.as_deref().unwrap_or("?")
            ),
        },
        Event::Applied { files } => format!(
            "applied: {} file{} changed in your tree",
            files.len(),
            if files.len() == 1 { "" } else { "s" }
        ),
        Event::ApplyFailed { message } => format!("not applied: {message}"),
        Event::Committed { revision, .. } => format!("committed as {revision}"),
        Event::LimitReached { limit, message } => format!("limit {limit}: {message}"),
        Event::RunFinished {
            status,
            reason,
            totals,
            ..
        } => {
            let cost = totals
                .cost_usd
                .map_or("cost unknown".to_string(), |c| format!("${c:.4}"));
            let why = reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            let plural = |n: u32, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
            format!(
                "{}{why} ({}, {}, {cost})",
                status.as_str(),
                plural(totals.turns, "turn"),
                plural(totals.repairs, "repair")
            )
        }
        _ => return None,
    })
}

fn brief_input(input: &serde_json::Value) -> String {
    let text = match input {
        serde_json::Value::Object(map) => {
            let mut parts = Vec::new();
            for key in ["path", "command", "pattern", "glob"] {
                if let Some(serde_json::Value::String(v)) = map.get(key) {
                    parts.push(v.clone());
                }
            }
            parts.join(" ")
        }
        other => other.to_string(),
    };
    text.chars().take(100).collect()
}

/// Plain lines on stderr (not a terminal).
pub struct Plain;

impl Reporter for Plain {
    fn record(&mut self, record: &Record) {
        if let Some(l) = line(record) {
            errln!("wf: {l}");
        }
    }
    fn say(&mut self, text: &str) {
        err!("{text}");
    }
}

/// JSON lines on stdout, human text on stderr.
pub struct Json;

impl Reporter for Json {
    fn record(&mut self, record: &Record) {
        let mut out = std::io::stdout().lock();
        let _ = serde_json::to_writer(&mut out, record);
        let _ = writeln!(out);
        let _ = out.flush();
    }
    fn say(&mut self, text: &str) {
        err!("{text}");
    }
}

/// A status line on a terminal: step, turn n of max, current tool, tokens, cost.
pub struct Live {
    bar: indicatif::ProgressBar,
    max_turns: u32,
    turn: u32,
    tokens: u64,
    cost: Option<f64>,
    stopped: bool,
}

impl Live {
    /// A status line for a run of at most `max_turns` model requests.
    pub fn new(max_turns: u32) -> Live {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg}").expect("valid template"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Live {
            bar,
            max_turns,
            turn: 0,
            tokens: 0,
            cost: Some(0.0),
            stopped: false,
        }
    }

    fn status(&self, step: &str) {
        let cost = self
            .cost
            .map_or("cost ?".to_string(), |c| format!("${c:.4}"));
        self.bar.set_message(format!(
            "turn {}/{} · {step} · {} tokens · {cost}",
            self.turn, self.max_turns, self.tokens
        ));
    }
}

impl Reporter for Live {
    fn record(&mut self, record: &Record) {
        if let Some(l) = line(record)
            && !matches!(record.event, Event::ToolCall { .. })
        {
            if self.stopped {
                errln!("  {l}");
            } else {
                self.bar.println(format!("  {l}"));
            }
        }
        match &record.event {
            Event::ModelRequest { turn, .. } => {
                self.turn = *turn;
                self.status("waiting for the model");
            }
            Event::ModelResponse {
                usage, cost_usd, ..
            } => {
                self.tokens += usage.input_tokens.unwrap_or(0)
                    + usage.output_tokens.unwrap_or(0)
                    + usage.cache_creation_input_tokens
                    + usage.cache_read_input_tokens;
                self.cost = match (self.cost, cost_usd) {
                    (Some(a), Some(b)) => Some(a + b),
                    _ => None,
                };
                self.status("model answered");
            }
            Event::ToolCall { tool, input, .. } => {
                self.status(&format!("{tool} {}", brief_input(input)))
            }
            Event::CheckResult { .. } => self.status("checks"),
            _ => {}
        }
    }
    fn say(&mut self, text: &str) {
        self.bar.suspend(|| err!("{text}"));
    }
    fn pause_display(&mut self) {
        self.bar.finish_and_clear();
        self.stopped = true;
    }
}
