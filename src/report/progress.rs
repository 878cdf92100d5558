//! Live output of `wf run`: an indicatif status line on a terminal, plain
//! lines otherwise, JSON lines with `--json`. All three read events only
//! (and, between events, what runs now and an agent step's final answer).
//!
//! Both human views tell the same story in the scrollback: one line per
//! notable event, one line per tool call (the tool, its main argument, the
//! result's size or the error with the end of what it printed), the end of
//! a failed check's output with where to read all of it, and the model's
//! final answer. `--quiet` leaves out the tool calls and the answer.

use super::describe::{self, View, brief_input};
use super::text::escape_controls;
use crate::record::event::{Event, Record};
use crate::record::recorder::Reporter;
use serde_json::Value;
use std::io::Write;

/// One line describing a notable event, or `None` for events shown only in
/// the status line. Tool calls are shown by `Lines`, once their result is
/// known.
pub fn line(record: &Record) -> Option<String> {
    describe::event(&record.event, View::Line)
}

/// The model's final answer as shown after its step: a heading, then the
/// text indented, control characters escaped.
pub fn answer_text(step: Option<&str>, text: &str) -> String {
    let head = match step {
        Some(step) => format!("the model's answer (step {step}):"),
        None => "the model's answer:".to_string(),
    };
    let body: String = escape_controls(text.trim_end())
        .lines()
        .map(|l| format!("  {l}\n"))
        .collect();
    format!("{head}\n{body}")
}

/// What the two human views keep between events: the run's id (for
/// pointers), the tool call waiting for its result, the last model error
/// shown (the final line does not repeat it), and `--quiet`.
#[derive(Debug, Default)]
struct Lines {
    run_id: String,
    pending: Option<(String, Value)>,
    model_error: Option<String>,
    quiet: bool,
}

impl Lines {
    fn new(quiet: bool) -> Lines {
        Lines {
            quiet,
            ..Lines::default()
        }
    }

    /// The lines `record` adds to the scrollback, if any.
    fn line(&mut self, record: &Record) -> Option<String> {
        match &record.event {
            Event::RunStarted { run_id, .. } => self.run_id = run_id.clone(),
            Event::ToolCall { call_id, input, .. } => {
                self.pending = Some((call_id.clone(), input.clone()));
                return None;
            }
            Event::ToolResult { call_id, tool, .. } => {
                let input = self
                    .pending
                    .take()
                    .filter(|(id, _)| id == call_id)
                    .map(|(_, input)| input);
                if self.quiet {
                    return None;
                }
                return describe::tool_line(tool, input.as_ref(), &record.event);
            }
            Event::CheckResult {
                passed: false,
                name,
                output_tail,
                ..
            } if !output_tail.trim().is_empty() => {
                let l = line(record)?;
                return Some(format!(
                    "{l}\n    ({})",
                    describe::check_pointer(&self.run_id, name)
                ));
            }
            Event::ModelError { message, .. } => self.model_error = Some(message.clone()),
            // The model error that ended the run was shown by its own line:
            // the final line gives the status and the figures only.
            Event::RunFinished {
                reason: Some(reason),
                ..
            } if self.model_error.as_ref() == Some(reason) => {
                let mut finished = record.event.clone();
                if let Event::RunFinished { reason, .. } = &mut finished {
                    *reason = None;
                }
                return describe::event(&finished, View::Line);
            }
            _ => {}
        }
        line(record)
    }
}

/// Plain lines on stderr (not a terminal).
#[derive(Debug, Default)]
pub struct Plain {
    lines: Lines,
}

impl Plain {
    /// Plain lines; `quiet`: without tool calls and the final answer.
    pub fn new(quiet: bool) -> Plain {
        Plain {
            lines: Lines::new(quiet),
        }
    }
}

impl Reporter for Plain {
    fn record(&mut self, record: &Record) {
        if let Some(l) = self.lines.line(record) {
            errln!("wf: {l}");
        }
    }
    fn say(&mut self, text: &str) {
        err!("{text}");
    }
    fn answer(&mut self, step: Option<&str>, text: &str) {
        if !self.lines.quiet {
            err!("wf: {}", answer_text(step, text));
        }
    }
    fn resumed(&mut self, run_id: &str) {
        self.lines.run_id = run_id.to_string();
    }
}

/// JSON lines on stdout, human text on stderr.
#[derive(Debug, Default)]
pub struct Json {
    /// Leave the final answer out of stderr (it is in the events).
    pub quiet: bool,
}

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
    fn answer(&mut self, step: Option<&str>, text: &str) {
        if !self.quiet {
            err!("{}", answer_text(step, text));
        }
    }
}

/// A status line on a terminal (step, turn n of max, what runs now and for
/// how long, tokens, cost) above the same lines [`Plain`] prints.
pub struct Live {
    bar: indicatif::ProgressBar,
    lines: Lines,
    max_turns: u32,
    turn: u32,
    /// `None` once a response came without usage.
    tokens: Option<u64>,
    cost: Option<f64>,
    stopped: bool,
}

impl Live {
    /// A status line for a run of at most `max_turns` model requests;
    /// `quiet`: without tool calls and the final answer.
    pub fn new(max_turns: u32, quiet: bool) -> Live {
        Live {
            bar: spinner(),
            lines: Lines::new(quiet),
            max_turns,
            turn: 0,
            tokens: Some(0),
            cost: Some(0.0),
            stopped: false,
        }
    }

    /// Shows `what` as running now; its elapsed time counts from here. A
    /// line stopped for a prompt comes back.
    fn status(&mut self, what: &str) {
        if self.stopped {
            self.bar = spinner();
            self.stopped = false;
        }
        self.bar.set_message(status_text(
            self.turn,
            self.max_turns,
            what,
            self.tokens,
            self.cost,
        ));
        self.bar.reset_elapsed();
    }

    fn show(&self, text: &str) {
        if self.stopped {
            err!("{text}");
        } else {
            self.bar.suspend(|| err!("{text}"));
        }
    }
}

/// A new status line.
fn spinner() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} · {elapsed}")
            .expect("valid template"),
    );
    bar.set_message("starting");
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// The status line's text.
fn status_text(
    turn: u32,
    max_turns: u32,
    what: &str,
    tokens: Option<u64>,
    cost: Option<f64>,
) -> String {
    let tokens = tokens.map_or("usage unknown".to_string(), |t| format!("{t} tokens"));
    let cost = cost.map_or("cost unknown".to_string(), describe::usd);
    format!("turn {turn}/{max_turns} · {what} · {tokens} · {cost}")
}

impl Reporter for Live {
    fn record(&mut self, record: &Record) {
        if let Some(l) = self.lines.line(record) {
            let text: String = l.lines().map(|l| format!("  {l}\n")).collect();
            self.show(&text);
        }
        match &record.event {
            Event::ModelRequest { turn, .. } => {
                self.turn = *turn;
                self.status("waiting for the model");
            }
            Event::ModelResponse {
                usage, cost_usd, ..
            } => {
                self.tokens = match (self.tokens, usage.input_tokens, usage.output_tokens) {
                    (Some(t), Some(i), Some(o)) => Some(
                        t + i
                            + o
                            + usage.cache_creation_input_tokens
                            + usage.cache_read_input_tokens,
                    ),
                    _ => None,
                };
                self.cost = match (self.cost, cost_usd) {
                    (Some(a), Some(b)) => Some(a + b),
                    _ => None,
                };
                self.status("model answered");
            }
            Event::ToolCall { tool, input, .. } => {
                self.status(&format!("{tool} {}", brief_input(input)))
            }
            _ => {}
        }
    }
    fn say(&mut self, text: &str) {
        self.show(text);
    }
    fn answer(&mut self, step: Option<&str>, text: &str) {
        if !self.lines.quiet {
            self.show(&answer_text(step, text));
        }
    }
    fn activity(&mut self, what: &str) {
        // One line: a long command is cut.
        let mut shown: String = what.chars().take(70).collect();
        if shown.len() < what.len() {
            shown.push('…');
        }
        self.status(&super::text::escape_line(&shown));
    }
    fn pause_display(&mut self) {
        self.bar.finish_and_clear();
        self.stopped = true;
    }
    fn resumed(&mut self, run_id: &str) {
        self.lines.run_id = run_id.to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_usage_reads_usage_unknown_not_zero_tokens() {
        let text = status_text(1, 40, "waiting for the model", None, None);
        assert_eq!(
            text,
            "turn 1/40 · waiting for the model · usage unknown · cost unknown"
        );
        let text = status_text(2, 40, "check tests", Some(1200), Some(0.0123));
        assert!(text.contains("1200 tokens · $0.0123"), "{text}");
    }

    #[test]
    fn the_answer_is_indented_and_escaped() {
        let shown = answer_text(Some("review"), "Found 2 issues.\n- a\x1b[2K\n");
        assert_eq!(
            shown,
            "the model's answer (step review):\n  Found 2 issues.\n  - a\\x1b[2K\n"
        );
    }
}
