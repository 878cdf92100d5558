//! `wf show RUN` (a run's timeline) and `wf runs` (the list of runs). Both
//! read traces only.

use crate::record::event::{CheckpointState, Event, Record};
use crate::record::summary::Summary;
use std::fmt::Write;

/// The timeline of a run: what was read, what ran, what was denied, checks,
/// repairs, approvals, tokens and cost.
pub fn timeline(records: &[Record], summary: &Summary) -> String {
    let mut o = String::new();
    let version = summary
        .spec
        .version
        .as_deref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "run {}  {}{version}  ({})",
        summary.run_id, summary.spec.name, summary.spec.path
    );
    let _ = writeln!(
        o,
        "status: {}{}",
        summary.status,
        summary
            .reason
            .as_deref()
            .map(|r| format!(" — {r}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        o,
        "started: {}  model: {}  base: {}",
        summary.started_at,
        summary.model,
        summary
            .base_revision
            .as_deref()
            .map_or_else(|| "-".to_string(), crate::recipes::lock::short)
    );
    if !summary.inputs.is_empty() {
        let inputs: Vec<String> = summary
            .inputs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(o, "inputs: {}", inputs.join(" "));
    }
    let _ = writeln!(o);
    for r in records {
        let t = format!("{:>7.1}s", r.t_ms as f64 / 1000.0);
        let text = match &r.event {
            Event::RunStarted { .. } | Event::RunFinished { .. } => continue,
            Event::WorkspaceReady { files, .. } => format!("workspace  {files} files copied"),
            Event::SandboxReady {
                mode,
                network,
                read,
                write,
                read_only,
            } => sandbox_line(mode, *network, read, write, read_only),
            Event::ContextResolved {
                files,
                total_tokens,
            } => {
                let mut s = format!("context    {} files, {total_tokens} tokens", files.len());
                for f in files {
                    let _ = write!(
                        s,
                        "\n{:>9}             read {} ({} tokens)",
                        "", f.path, f.tokens
                    );
                }
                s
            }
            Event::ModelRequest {
                turn,
                tokens_estimate,
                ..
            } => format!("model      request {turn} (~{tokens_estimate} tokens)"),
            Event::ModelRetry {
                attempt, reason, ..
            } => format!("model      attempt {attempt} failed: {reason}; retried"),
            Event::ModelResponse {
                usage,
                stop_reason,
                cost_usd,
                content,
                ..
            } => {
                let tokens = match (usage.input_tokens, usage.output_tokens) {
                    (Some(i), Some(out)) => format!(
                        "{i} in + {} cached + {out} out",
                        usage.cache_read_input_tokens
                    ),
                    _ => "usage unknown".to_string(),
                };
                let cost = cost_usd.map_or(String::new(), |c| format!(", ${c:.4}"));
                let said = content.iter().find_map(|b| match b {
                    crate::provider::Block::Text { text } => Some(
                        text.lines()
                            .next()
                            .unwrap_or("")
                            .chars()
                            .take(80)
                            .collect::<String>(),
                    ),
                    _ => None,
                });
                let said = said.map(|s| format!(": \"{s}\"")).unwrap_or_default();
                format!("model      answered ({stop_reason:?}; {tokens}{cost}){said}")
            }
            Event::ModelError { message, .. } => format!("model      ERROR {message}"),
            Event::StepStarted { id, step_kind } => format!("step       {id} ({step_kind})"),
            Event::StepSkipped { id } => format!("step       {id} skipped (if: false)"),
            Event::RecipeUsed {
                uses,
                name,
                commit,
                sha256,
            } => format!(
                "recipe     {name} {uses} ({}sha256 {})",
                commit
                    .as_deref()
                    .map(|c| format!("commit {}, ", crate::recipes::lock::short(c)))
                    .unwrap_or_default(),
                crate::recipes::lock::short(sha256)
            ),
            Event::StepFinished {
                id,
                exit_code,
                output,
            } => {
                let code = exit_code.map(|c| format!("exit {c}, ")).unwrap_or_default();
                let text = output.as_str().map_or_else(
                    || output.to_string(),
                    |s| s.lines().next().unwrap_or("").to_string(),
                );
                format!(
                    "step       {id} done ({code}{})",
                    text.chars().take(80).collect::<String>()
                )
            }
            Event::ToolCall { tool, input, .. } => format!("tool       {tool} {}", compact(input)),
            Event::PermissionDenied { rule, message, .. } => {
                format!("DENIED     [{rule}] {message}")
            }
            Event::ToolResult {
                ok,
                exit_code,
                truncated,
                output,
                ..
            } => {
                let status = if *ok { "ok" } else { "error" };
                let code = exit_code.map(|c| format!(", exit {c}")).unwrap_or_default();
                let cut = if *truncated { ", truncated" } else { "" };
                if *ok {
                    format!("  result   {status}{code}{cut} ({} bytes)", output.len())
                } else {
                    format!(
                        "  result   {status}{code}{cut}: {}",
                        output.lines().next().unwrap_or("")
                    )
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
                let verdict = if *passed {
                    "passed".to_string()
                } else if *timed_out {
                    "TIMED OUT".to_string()
                } else {
                    format!(
                        "FAILED, exit {}",
                        exit_code.map_or("-".into(), |c| c.to_string())
                    )
                };
                format!(
                    "check      {name} {verdict} (round {round}, {:.1}s)",
                    *duration_ms as f64 / 1000.0
                )
            }
            Event::RepairRequested { round, failed } => {
                format!("repair     round {round}: {}", failed.join(", "))
            }
            Event::Checkpoint {
                name,
                state,
                by,
                via,
                comment,
                ..
            } => match state {
                CheckpointState::Reached => format!("checkpoint {} reached", name.as_str()),
                CheckpointState::Paused => {
                    format!("checkpoint {} PAUSED, waiting for approval", name.as_str())
                }
                s => format!(
                    "checkpoint {} {} by {} via {}{}",
                    name.as_str(),
                    if *s == CheckpointState::Approved {
                        "APPROVED"
                    } else {
                        "REJECTED"
                    },
                    by.as_deref().unwrap_or("?"),
                    via.as_deref().unwrap_or("?"),
                    comment
                        .as_deref()
                        .map(|c| format!(": {c}"))
                        .unwrap_or_default()
                ),
            },
            Event::DiffReady { files, .. } => format!(
                "diff       {} file{} changed",
                files.len(),
                if files.len() == 1 { "" } else { "s" }
            ),
            Event::Applied { files } => format!("applied    {}", files.join(", ")),
            Event::Committed { revision, .. } => format!("committed  {revision}"),
            Event::ApplyFailed { message } => format!("NOT APPLIED {message}"),
            Event::LimitReached { limit, message } => format!("limit      {limit}: {message}"),
        };
        let _ = writeln!(o, "{t}  {text}");
    }
    let t = &summary.totals;
    let _ = writeln!(o);
    let tokens = match (t.input_tokens, t.output_tokens) {
        (Some(i), Some(out)) => format!(
            "{i} input, {out} output, {} cache writes, {} cache reads",
            t.cache_creation_input_tokens, t.cache_read_input_tokens
        ),
        _ => "usage unknown".to_string(),
    };
    let cost = t
        .cost_usd
        .map_or("unknown".to_string(), |c| format!("${c:.4}"));
    let _ = writeln!(
        o,
        "turns {} · repairs {} · tool calls {} · denied {} · tokens: {tokens} · cost {cost}",
        t.turns, t.repairs, summary.tool_calls, summary.denials
    );
    if !summary.files_changed.is_empty() {
        let _ = writeln!(
            o,
            "changed: {}{}",
            summary.files_changed.join(", "),
            if summary.applied {
                " (applied)"
            } else {
                " (not applied)"
            }
        );
    }
    o
}

fn compact(v: &serde_json::Value) -> String {
    let text = match v {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) if s.len() > 60 || s.contains('\n') => {
                    format!("{k}=<{} bytes>", s.len())
                }
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    };
    text.chars().take(160).collect()
}

/// One line per run for `wf runs`.
pub fn run_line(summary: &Summary) -> String {
    let files = summary.files_changed.len();
    format!(
        "{:<28} {:<14} {:<28} {:>2} file{} {}",
        summary.run_id,
        summary.status,
        format!(
            "{}{}",
            summary.spec.name,
            summary
                .spec
                .version
                .as_deref()
                .map(|v| format!("@{v}"))
                .unwrap_or_default()
        ),
        files,
        if files == 1 { " " } else { "s" },
        summary.started_at
    )
}

/// The sandbox of a run, for the timeline.
fn sandbox_line(
    mode: &str,
    network: bool,
    read: &[String],
    write: &[String],
    read_only: &[String],
) -> String {
    if mode == "off" {
        return "sandbox    OFF: commands ran unconfined, as the user (--sandbox off or sandbox: off)"
            .to_string();
    }
    let mut s = format!(
        "sandbox    confined; network {}",
        if network { "allowed" } else { "off" }
    );
    let _ = write!(s, "\n{:>9}             write {}", "", write.join(", "));
    if !read_only.is_empty() {
        let _ = write!(s, " (read-only: {})", read_only.join(", "));
    }
    let _ = write!(s, "\n{:>9}             read  {}", "", read.join(", "));
    s
}
