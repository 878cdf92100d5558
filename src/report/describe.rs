//! Events in words: one match over the event kinds, each arm describing its
//! kind for both views that show events, the progress lines of `wf run`
//! ([`View::Line`], via [`super::progress`]) and the timeline of `wf show`
//! ([`View::Timeline`], via [`super::show`]).

use super::text::{escape_controls, escape_line};
use crate::record::event::{CheckpointState, Event};
use serde_json::Value;

/// Which view an event is described for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// One progress line of `wf run` (`kind: what`); only notable events.
    Line,
    /// One timeline entry of `wf show` (the kind in a 10-wide column).
    Timeline,
}

/// `event` described for `view`, or `None` when the view does not show it.
/// What the model, a tool or a file put in it (text, output, paths) comes
/// out with its control characters escaped ([`escape_controls`]).
pub fn event(event: &Event, view: View) -> Option<String> {
    describe(event, view).map(|text| match escape_controls(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(escaped) => escaped,
    })
}

fn describe(event: &Event, view: View) -> Option<String> {
    let line = view == View::Line;
    // `kind{sep}what` as a progress line; `kind` in its column on the timeline.
    let labeled = |kind: &str, sep: &str, what: String| match view {
        View::Line => format!("{kind}{sep}{what}"),
        View::Timeline => format!("{kind:<10} {what}"),
    };
    Some(match event {
        Event::RunStarted {
            spec_name,
            run_id,
            model,
            ..
        } if line => format!("run {run_id}: {spec_name} with {model}"),
        Event::RunStarted { .. } => return None,
        Event::WorkspaceReady { files, .. } => {
            labeled("workspace", ": ", format!("{files} files copied"))
        }
        Event::SandboxReady { mode, network, .. } if line => labeled(
            "sandbox",
            ": ",
            if mode == "off" {
                "OFF: commands run unconfined, as you".to_string()
            } else {
                format!(
                    "confined, network {}",
                    if *network { "allowed" } else { "off" }
                )
            },
        ),
        Event::SandboxReady {
            mode,
            network,
            read,
            write,
            read_only,
        } => sandbox_entry(mode, *network, read, write, read_only),
        Event::ContextResolved {
            files,
            total_tokens,
        } => {
            let mut s = labeled(
                "context",
                ": ",
                format!("{} files, {total_tokens} tokens", files.len()),
            );
            if !line {
                for f in files {
                    s.push_str(&format!(
                        "\n{:>9}             read {} ({} tokens)",
                        "", f.path, f.tokens
                    ));
                }
            }
            s
        }
        Event::ModelRequest { .. } if line => return None,
        Event::ModelRequest {
            turn,
            tokens_estimate,
            ..
        } => labeled(
            "model",
            " ",
            format!("request {turn} (~{tokens_estimate} tokens)"),
        ),
        Event::ModelRetry {
            attempt,
            reason,
            wait_ms,
            ..
        } => match view {
            View::Line => format!(
                "model: attempt {attempt} failed ({reason}); retrying in {}",
                seconds(*wait_ms)
            ),
            View::Timeline => labeled(
                "model",
                " ",
                format!("attempt {attempt} failed: {reason}; retried"),
            ),
        },
        Event::ModelResponse { .. } if line => return None,
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
                crate::provider::Block::Text { text } => Some(first_line(text, 80)),
                _ => None,
            });
            let said = said.map(|s| format!(": \"{s}\"")).unwrap_or_default();
            labeled(
                "model",
                " ",
                format!("answered ({stop_reason:?}; {tokens}{cost}){said}"),
            )
        }
        Event::ModelError { message, .. } => match view {
            View::Line => format!("model error: {message}"),
            View::Timeline => labeled("model", " ", format!("ERROR {message}")),
        },
        Event::StepStarted {
            id,
            step_kind,
            network,
        } => {
            let network = match network {
                Some(true) => ", network allowed",
                Some(false) => ", no network",
                None => "",
            };
            labeled("step", " ", format!("{id} ({step_kind}{network})"))
        }
        Event::StepSkipped { id } => labeled("step", " ", format!("{id} skipped (if: false)")),
        Event::RecipeUsed { .. } if line => return None,
        Event::RecipeUsed {
            uses,
            name,
            commit,
            sha256,
        } => labeled(
            "recipe",
            " ",
            format!(
                "{name} {uses} ({}sha256 {})",
                commit
                    .as_deref()
                    .map(|c| format!("commit {}, ", crate::recipes::lock::short(c)))
                    .unwrap_or_default(),
                crate::recipes::lock::short(sha256)
            ),
        ),
        Event::StepFinished { .. } if line => return None,
        Event::StepFinished {
            id,
            exit_code,
            output,
        } => {
            let code = exit_code.map(|c| format!("exit {c}, ")).unwrap_or_default();
            let text = output
                .as_str()
                .map_or_else(|| output.to_string(), |s| first_line(s, usize::MAX));
            labeled(
                "step",
                " ",
                format!(
                    "{id} done ({code}{})",
                    text.chars().take(80).collect::<String>()
                ),
            )
        }
        Event::ToolCall { tool, input, .. } => match view {
            View::Line => format!("{tool} {}", brief_input(input)),
            View::Timeline => labeled("tool", " ", format!("{tool} {}", compact(input))),
        },
        Event::PermissionDenied { rule, message, .. } => match view {
            View::Line => format!("denied: {message}"),
            View::Timeline => labeled("DENIED", " ", format!("[{rule}] {message}")),
        },
        Event::ToolResult {
            ok, tool, output, ..
        } if line => {
            // Denials are already shown by their own event.
            if *ok || output.contains(" denied: ") {
                return None;
            }
            format!("{tool} failed: {}", first_line(output, usize::MAX))
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
            let what = if *ok {
                format!("{status}{code}{cut} ({} bytes)", output.len())
            } else {
                format!("{status}{code}{cut}: {}", first_line(output, usize::MAX))
            };
            labeled("  result", " ", what)
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
            let exit = exit_code.map_or("-".into(), |c| c.to_string());
            match view {
                View::Line => {
                    let verdict = if *passed {
                        "passed".to_string()
                    } else {
                        format!("FAILED (exit {exit})")
                    };
                    format!("check {name}: {verdict} in {}", seconds(*duration_ms))
                }
                View::Timeline => {
                    let verdict = if *passed {
                        "passed".to_string()
                    } else if *timed_out {
                        "TIMED OUT".to_string()
                    } else {
                        format!("FAILED, exit {exit}")
                    };
                    labeled(
                        "check",
                        " ",
                        format!(
                            "{name} {verdict} (round {round}, {})",
                            seconds(*duration_ms)
                        ),
                    )
                }
            }
        }
        Event::RepairRequested { round, failed } => match view {
            View::Line => format!(
                "repair round {round}: asking the model to fix {}",
                failed.join(", ")
            ),
            View::Timeline => labeled(
                "repair",
                " ",
                format!("round {round}: {}", failed.join(", ")),
            ),
        },
        Event::Checkpoint {
            name,
            state,
            by,
            via,
            comment,
            ..
        } => {
            let name = name.as_str();
            match (state, view) {
                (CheckpointState::Reached, View::Line) => {
                    format!("checkpoint {name}: waiting for approval")
                }
                (CheckpointState::Reached, View::Timeline) => format!("checkpoint {name} reached"),
                (CheckpointState::Paused, View::Line) => format!("checkpoint {name}: paused"),
                (CheckpointState::Paused, View::Timeline) => {
                    format!("checkpoint {name} PAUSED, waiting for approval")
                }
                (decided, _) => {
                    let verdict = if *decided == CheckpointState::Approved {
                        "approved"
                    } else {
                        "rejected"
                    };
                    let by = by.as_deref().unwrap_or("?");
                    let via = via.as_deref().unwrap_or("?");
                    match view {
                        View::Line => format!("checkpoint {name}: {verdict} by {by} via {via}"),
                        View::Timeline => format!(
                            "checkpoint {name} {} by {by} via {via}{}",
                            verdict.to_uppercase(),
                            comment
                                .as_deref()
                                .map(|c| format!(": {c}"))
                                .unwrap_or_default()
                        ),
                    }
                }
            }
        }
        Event::DiffReady { .. } if line => return None,
        Event::DiffReady { files, .. } => labeled(
            "diff",
            " ",
            format!("{} changed", plural(files.len(), "file")),
        ),
        Event::Applied { files } => match view {
            View::Line => format!(
                "applied: {} changed in your tree",
                plural(files.len(), "file")
            ),
            View::Timeline => labeled("applied", " ", files.join(", ")),
        },
        Event::ChangeRefused { paths } => {
            let list = paths
                .iter()
                .map(|p| format!("{} ({})", p.path, p.rule))
                .collect::<Vec<_>>()
                .join(", ");
            match view {
                View::Line => format!("change refused: {list}"),
                View::Timeline => labeled("REFUSED", " ", list),
            }
        }
        Event::ApplyFailed { message } => match view {
            View::Line => format!("not applied: {message}"),
            View::Timeline => labeled("NOT APPLIED", " ", message.clone()),
        },
        Event::Committed { revision, .. } => match view {
            View::Line => format!("committed as {revision}"),
            View::Timeline => labeled("committed", " ", revision.clone()),
        },
        Event::RunInterrupted { signal, .. } => match view {
            View::Line => format!("interrupted by {signal}: every command stopped"),
            View::Timeline => labeled("INTERRUPTED", " ", format!("by {signal}")),
        },
        Event::LimitReached { limit, message } => {
            labeled("limit", " ", format!("{limit}: {message}"))
        }
        Event::RunFinished {
            status,
            reason,
            totals,
            ..
        } if line => {
            let cost = totals
                .cost_usd
                .map_or("cost unknown".to_string(), |c| format!("${c:.4}"));
            let why = reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            format!(
                "{}{why} ({}, {}, {cost})",
                status.as_str(),
                plural(totals.turns as usize, "turn"),
                plural(totals.repairs as usize, "repair")
            )
        }
        Event::RunFinished { .. } => return None,
    })
}

/// `n word` or `n words`.
fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Milliseconds as seconds with one decimal: `1.5s`.
fn seconds(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

/// The first line of `text`, at most `max` characters of it.
fn first_line(text: &str, max: usize) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(max)
        .collect()
}

/// A tool input in a few words: its path, command, pattern and glob, on
/// one line (control characters, newlines included, escaped).
pub fn brief_input(input: &Value) -> String {
    let text = match input {
        Value::Object(map) => {
            let mut parts = Vec::new();
            for key in ["path", "command", "pattern", "glob"] {
                if let Some(Value::String(v)) = map.get(key) {
                    parts.push(v.clone());
                }
            }
            parts.join(" ")
        }
        other => other.to_string(),
    };
    let text: String = text.chars().take(100).collect();
    escape_line(&text).into_owned()
}

/// A tool input as `key=value` pairs, long strings as their size.
fn compact(v: &Value) -> String {
    let text = match v {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) if s.len() > 60 || s.contains('\n') => {
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

/// The sandbox of a run, for the timeline.
fn sandbox_entry(
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
    s.push_str(&format!(
        "\n{:>9}             write {}",
        "",
        write.join(", ")
    ));
    if !read_only.is_empty() {
        s.push_str(&format!(" (read-only: {})", read_only.join(", ")));
    }
    s.push_str(&format!(
        "\n{:>9}             read  {}",
        "",
        read.join(", ")
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Block, StopReason, Usage};

    fn result(output: &str) -> Event {
        Event::ToolResult {
            call_id: "c1".into(),
            tool: "shell".into(),
            ok: false,
            exit_code: Some(1),
            output_hash: String::new(),
            output: output.into(),
            truncated: false,
            duration_ms: 3,
        }
    }

    #[test]
    fn tool_output_cannot_erase_or_overwrite_a_line() {
        for view in [View::Line, View::Timeline] {
            let shown = event(&result("ok\x1b[2K\rrm -rf /"), view).unwrap();
            assert!(shown.contains("ok\\x1b[2K\\rrm -rf /"), "{shown:?}");
            assert!(!shown.contains('\x1b') && !shown.contains('\r'));
        }
    }

    #[test]
    fn the_models_text_and_tool_inputs_are_escaped() {
        let said = Event::ModelResponse {
            turn: 1,
            content: vec![Block::Text {
                text: "all tests pass \u{202e}txt.exe".into(),
            }],
            stop_reason: StopReason::EndTurn,
            usage: Usage {
                input_tokens: Some(1),
                output_tokens: Some(1),
                cache_creation_input_tokens: 0,
                cache_read_input_tokens: 0,
                estimated: false,
            },
            cost_usd: None,
            cache_hit: false,
        };
        let shown = event(&said, View::Timeline).unwrap();
        assert!(shown.contains("all tests pass \\u{202e}txt.exe"), "{shown}");
        let call = Event::ToolCall {
            call_id: "c1".into(),
            tool: "read_file".into(),
            input: serde_json::json!({"path": "a.rs\nwf: applied\u{1b}[2K"}),
        };
        let line = event(&call, View::Line).unwrap();
        assert_eq!(line, "read_file a.rs\\nwf: applied\\x1b[2K");
        let timeline = event(&call, View::Timeline).unwrap();
        assert!(!timeline.contains('\x1b'), "{timeline:?}");
    }

    #[test]
    fn plain_descriptions_are_unchanged() {
        let shown = event(&result("no such file"), View::Line).unwrap();
        assert_eq!(shown, "shell failed: no such file");
    }
}
