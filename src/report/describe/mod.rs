//! Events in words: one match over the event kinds, each arm describing its
//! kind for both views that show events, the progress lines of `wf run`
//! ([`View::Line`], via [`super::progress`]) and the timeline of `wf show`
//! ([`View::Timeline`], via [`super::show`]).
//!
//! The reports (`wf report --html` and `--md`) show the timeline's words
//! too, as [`Entry`]s: [`entry()`] splits an event's timeline text into its
//! kind label and its text, adds a [`Tone`], and [`call_entry`] folds a
//! tool call with its denial or result into one entry. Both reports render
//! those entries from [`super::model`] and never word an event themselves,
//! so a new event kind is described here once, for every view.

mod entry;

pub use entry::{Entry, Tone, call_entry, entry, label, tone};

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
        Event::WorkspaceReady {
            files,
            reused,
            mode,
            submodules,
            ..
        } => labeled(
            "workspace",
            ": ",
            format!(
                "{}{}",
                if mode.as_deref() == Some("checkout") {
                    format!("the checkout itself ({files} files), --workspace checkout")
                } else if *reused == Some(true) {
                    format!(
                        "{files} files, reused (only what changed since the last run rewritten)"
                    )
                } else {
                    format!("{files} files copied")
                },
                if submodules.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; submodules left out (empty directories): {}",
                        submodules
                            .iter()
                            .map(|p| crate::text::escape_line(p).into_owned())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
            ),
        ),
        Event::SandboxReady {
            mode,
            network,
            hosts,
            level,
            ..
        } if line => labeled(
            "sandbox",
            ": ",
            if mode == "off" {
                "OFF: commands run unconfined, as you".to_string()
            } else {
                format!(
                    "confined{}, network {}",
                    level
                        .as_deref()
                        .map_or(String::new(), |l| format!(" ({l} level)")),
                    network_words(*network, hosts)
                )
            },
        ),
        Event::SandboxReady {
            mode,
            network,
            hosts,
            read,
            write,
            read_only,
            level,
            ..
        } => sandbox_entry(
            mode,
            level.as_deref(),
            &network_words(*network, hosts),
            read,
            write,
            read_only,
        ),
        Event::NetworkConnection {
            host,
            port,
            allowed,
            reason,
            bytes_up,
            bytes_down,
        } => {
            let host = if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            };
            let what = match (allowed, reason) {
                (false, reason) => format!(
                    "REFUSED {host}: {}",
                    reason.as_deref().unwrap_or("not in sandbox.network")
                ),
                (true, Some(reason)) => format!("FAILED {host}: {reason}"),
                (true, None) => format!(
                    "{host} ({} up, {} down)",
                    super::text::bytes(*bytes_up),
                    super::text::bytes(*bytes_down)
                ),
            };
            labeled("network", " ", what)
        }
        Event::McpServer {
            server,
            package,
            tools,
            ..
        } => {
            let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
            labeled(
                "mcp",
                ": ",
                format!("{server} ({package}): {}", names.join(", ")),
            )
        }
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
                "model: attempt {attempt} failed ({}); retrying in {}",
                first_line(reason, usize::MAX),
                seconds(*wait_ms)
            ),
            View::Timeline => labeled(
                "model",
                " ",
                format!(
                    "attempt {attempt} failed: {}; retried",
                    first_line(reason, usize::MAX)
                ),
            ),
        },
        Event::ModelFallback {
            from, to, reason, ..
        } => labeled(
            "model",
            if line { ": " } else { " " },
            format!(
                "{from} is overloaded ({}); falling back to {to}",
                first_line(reason, 120)
            ),
        ),
        // An answer cut off at `max_tokens` explains most failed runs of
        // small models: the progress says so (the timeline does below).
        Event::ModelResponse {
            stop_reason: crate::record::wire::StopReason::MaxTokens,
            usage,
            content,
            ..
        } if line => {
            let out = usage.output_tokens.map_or(String::new(), |n| {
                format!(" after {}", plural(n as usize, "token"))
            });
            let calls = content
                .iter()
                .any(|b| matches!(b, crate::record::wire::Block::ToolUse { .. }));
            let then = if calls {
                "its tool calls may be incomplete"
            } else {
                "asked to continue"
            };
            format!(
                "model: answer cut off at max_tokens{out}; {then} (raise `model.max_tokens` if this repeats)"
            )
        }
        Event::ModelResponse { .. } if line => return None,
        Event::ModelResponse {
            usage,
            stop_reason,
            cost_usd,
            content,
            cache_hit,
            ..
        } => {
            let tokens = match (usage.input_tokens, usage.output_tokens) {
                (Some(i), Some(out)) => format!(
                    "{i} in + {} cached + {out} out",
                    usage.cache_read_input_tokens
                ),
                _ => "usage unknown".to_string(),
            };
            let cost = cost_usd.map_or(String::new(), |c| format!(", {}", usd(c)));
            let cached = if *cache_hit {
                ", from the local cache"
            } else {
                ""
            };
            let calls = content
                .iter()
                .any(|b| matches!(b, crate::record::wire::Block::ToolUse { .. }));
            let text: String = content
                .iter()
                .filter_map(|b| match b {
                    crate::record::wire::Block::Text { text } => Some(text.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n");
            // An answer that calls tools is shown by its calls; one that does
            // not (a plan, a final answer) is shown whole.
            let said = if text.trim().is_empty() {
                String::new()
            } else if calls {
                format!(": \"{}\"", first_line(&text, 80))
            } else {
                format!(":{}", indented(text.trim_end(), TIMELINE_INDENT))
            };
            labeled(
                "model",
                " ",
                format!(
                    "answered ({}; {tokens}{cost}{cached}){said}",
                    stop_words(stop_reason)
                ),
            )
        }
        Event::ModelError { message, .. } => match view {
            View::Line => format!("model error: {}", contained(message, LINE_INDENT)),
            View::Timeline => labeled(
                "model",
                " ",
                format!("ERROR {}", contained(message, TIMELINE_INDENT)),
            ),
        },
        Event::StepStarted {
            id,
            step_kind,
            network,
            hosts,
        } => {
            let network = match network {
                Some(_) if !hosts.is_empty() => {
                    format!(", network {}", network_words(false, hosts))
                }
                Some(true) => ", network allowed".to_string(),
                Some(false) => ", no network".to_string(),
                None => String::new(),
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
        // A progress view shows a call once its result is known: see
        // [`tool_line`].
        Event::ToolCall { .. } if line => return None,
        Event::ToolCall { tool, input, .. } => {
            labeled("tool", " ", format!("{tool} {}", compact(input)))
        }
        Event::PermissionDenied { rule, message, .. } => match view {
            // The message says what was denied and why.
            View::Line => message.clone(),
            View::Timeline => labeled("DENIED", " ", format!("[{rule}] {message}")),
        },
        Event::ToolResult { .. } if line => return None,
        Event::ToolResult {
            ok,
            exit_code,
            truncated,
            output,
            tool,
            ..
        } => {
            let status = if *ok { "ok" } else { "error" };
            let code = exit_code.map(|c| format!(", exit {c}")).unwrap_or_default();
            let cut = if *truncated { ", truncated" } else { "" };
            let what = if *ok && (tool == "write_file" || tool == "edit_file") {
                // Their reply says what was done: `created a.toml (88 bytes)`.
                format!("{status}{code}{cut}: {}", first_line(output, 200))
            } else if *ok {
                format!("{status}{code}{cut} ({})", size(output.len()))
            } else {
                format!(
                    "{status}{code}{cut}: {}{}",
                    first_line(output, usize::MAX),
                    indented(&failure_tail(output), TIMELINE_INDENT)
                )
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
            output_tail,
            ..
        } => {
            let exit = exit_code.map_or("-".into(), |c| c.to_string());
            let output = if *passed {
                String::new()
            } else {
                check_output(
                    output_tail,
                    if line { LINE_INDENT } else { TIMELINE_INDENT },
                )
            };
            match view {
                View::Line => {
                    let verdict = if *passed {
                        "passed".to_string()
                    } else if *timed_out {
                        "TIMED OUT".to_string()
                    } else {
                        format!("FAILED (exit {exit})")
                    };
                    format!(
                        "check {name}: {verdict} in {}{output}",
                        seconds(*duration_ms)
                    )
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
                            "{name} {verdict} (round {round}, {}){output}",
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
            View::Line if message.starts_with("not applied") => message.clone(),
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
            let cost = totals.cost_usd.map_or("cost unknown".to_string(), usd);
            let words = status.as_str().replace('_', " ");
            // The reason once: an apply failure was just shown by its own
            // event, and a reason that starts with the status says it.
            let head = match reason.as_deref() {
                _ if *status == crate::record::event::RunStatus::ApplyFailed => words,
                Some(r) if r.starts_with(&words) => r.to_string(),
                Some(r) => format!("{words}: {r}"),
                None => words,
            };
            // A reason of several lines (a gateway's error page) keeps
            // the figures on the first line and the rest indented.
            let (first, rest) = head.split_once('\n').unwrap_or((&head, ""));
            format!(
                "{first} ({}, {}, {cost}){}",
                plural(totals.turns as usize, "turn"),
                plural(totals.repairs as usize, "repair"),
                indented(rest, LINE_INDENT)
            )
        }
        Event::RunFinished { .. } => return None,
    })
}

/// Lines of a failed check's output shown by the progress lines and the
/// timeline (the trace keeps more: `wf show RUN --check NAME`).
pub const CHECK_LINES: usize = 20;
/// Lines of a failed tool call's output shown (a shell call's stderr).
pub const TOOL_LINES: usize = 8;
/// Where continuation lines of a progress line start.
const LINE_INDENT: usize = 4;
/// Where continuation lines of a timeline entry start (under the text).
const TIMELINE_INDENT: usize = 22;

/// The last [`CHECK_LINES`] lines of a failed check's output, each on its
/// own line indented by `indent`; or that it printed nothing.
fn check_output(tail: &str, indent: usize) -> String {
    let lines: Vec<&str> = tail.lines().collect();
    if lines.iter().all(|l| l.trim().is_empty()) {
        return format!("\n{:indent$}(it printed nothing)", "");
    }
    let from = lines.len().saturating_sub(CHECK_LINES);
    let mut out = String::new();
    if from > 0 {
        out.push_str(&format!("\n{:indent$}… {from} lines above", ""));
    }
    out.push_str(&indented(&lines[from..].join("\n"), indent));
    out
}

/// Where to read all of a failed check's output.
pub fn check_pointer(run_id: &str, name: &str) -> String {
    format!("`wf show {run_id} --check {name}` shows all of its output")
}

/// What a failed tool call printed after its first line (a shell call:
/// the status line, then its output), its last [`TOOL_LINES`] lines.
fn failure_tail(output: &str) -> String {
    let rest: Vec<&str> = output
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .collect();
    rest[rest.len().saturating_sub(TOOL_LINES)..].join("\n")
}

/// `text` on one line when it has one; otherwise its first line, then each
/// further line indented by `indent` (a gateway's error of several lines
/// stays inside its entry instead of spilling to the margin).
fn contained(text: &str, indent: usize) -> String {
    let text = text.trim_end();
    match text.split_once('\n') {
        None => text.to_string(),
        Some((first, rest)) => format!("{}{}", first.trim_end(), indented(rest, indent)),
    }
}

/// `text`, each line on a new line indented by `indent` (nothing for no text).
fn indented(text: &str, indent: usize) -> String {
    text.lines()
        .map(|l| format!("\n{:indent$}{l}", ""))
        .collect()
}

/// A tool call and its result as one progress line: the tool, its main
/// argument, then the result's size, or the error with the end of what it
/// printed. `None` for a denied call (its denial has its own line).
pub fn tool_line(tool: &str, input: Option<&Value>, result: &Event) -> Option<String> {
    let Event::ToolResult {
        ok,
        output,
        exit_code,
        ..
    } = result
    else {
        return None;
    };
    if !*ok && output.contains(" denied: ") {
        return None;
    }
    let arg = input.map(brief_input).unwrap_or_default();
    let call = if arg.is_empty() {
        tool.to_string()
    } else {
        format!("{tool} {arg}")
    };
    let text = if *ok {
        format!("{call} → {}", result_figure(tool, input, output))
    } else {
        let status = match exit_code {
            Some(_) => first_line(output, 200),
            None => format!("failed: {}", first_line(output, 200)),
        };
        format!(
            "{call} → {status}{}",
            indented(&failure_tail(output), LINE_INDENT)
        )
    };
    Some(match escape_controls(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(escaped) => escaped,
    })
}

/// What a successful call's line ends with: what it did for a tool that
/// changes a file (`write_file`: the bytes written; `edit_file`: the
/// replacements), the size of what the model got back for the others.
fn result_figure(tool: &str, input: Option<&Value>, output: &str) -> String {
    match tool {
        "write_file" => {
            let written = input
                .and_then(|i| i.get("content"))
                .and_then(Value::as_str)
                .map(str::len)
                .or_else(|| bytes_in_reply(output));
            match written {
                Some(n) => format!("{} written", size(n)),
                None => first_line(output, 200),
            }
        }
        // `edited PATH: N replacements`: the path is on the line already.
        "edit_file" => output
            .rsplit_once(": ")
            .map_or_else(|| first_line(output, 200), |(_, n)| first_line(n, 200)),
        _ => size(output.len()),
    }
}

/// The size a `write_file` reply states: `created PATH (N bytes)`.
fn bytes_in_reply(reply: &str) -> Option<usize> {
    let inner = reply.strip_suffix(" bytes)")?;
    inner[inner.rfind('(')? + 1..].parse().ok()
}

/// Why the model stopped, in words.
fn stop_words(reason: &crate::record::wire::StopReason) -> String {
    use crate::record::wire::StopReason;
    match reason {
        StopReason::EndTurn => "done".into(),
        StopReason::ToolUse => "calls tools".into(),
        StopReason::MaxTokens => "cut off at max_tokens".into(),
        StopReason::StopSequence => "stop sequence".into(),
        StopReason::Refusal => "refused".into(),
        StopReason::PauseTurn => "paused its turn".into(),
        StopReason::Other(other) => format!("stopped: {other}"),
    }
}

/// A size in bytes, in words: `512 bytes`, `3.4 KB`, `1.2 MB`.
fn size(bytes: usize) -> String {
    match bytes {
        0..1000 => plural(bytes, "byte"),
        1000..1_000_000 => format!("{:.1} KB", bytes as f64 / 1000.0),
        _ => format!("{:.1} MB", bytes as f64 / 1_000_000.0),
    }
}

/// An amount in USD for the timeline and the status line: four decimals
/// (`$0.0123`), more for a tiny amount (`$0.00004`: see
/// [`crate::provider::cost::usd_with`]).
pub fn usd(amount: f64) -> String {
    crate::provider::cost::usd_with(amount, 4)
}

/// `n word` or `n words`.
pub fn plural(n: usize, word: &str) -> String {
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

/// A run's or step's network in words: `allowed`, `off`, or `only a, b
/// (through wf's proxy)` (the one wording of every view).
pub fn network_words(network: bool, hosts: &[String]) -> String {
    if !hosts.is_empty() {
        format!("only {} (through wf's proxy)", hosts.join(", "))
    } else if network {
        "allowed".to_string()
    } else {
        "off".to_string()
    }
}

/// The sandbox of a run, for the timeline.
fn sandbox_entry(
    mode: &str,
    level: Option<&str>,
    network: &str,
    read: &[String],
    write: &[String],
    read_only: &[String],
) -> String {
    if mode == "off" {
        return "sandbox    OFF: commands ran unconfined, as the user (--sandbox off or sandbox: off)"
            .to_string();
    }
    let mut s = format!(
        "sandbox    confined{}; network {}",
        level.map_or(String::new(), |l| format!(" ({l} level)")),
        network
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
mod tests;
