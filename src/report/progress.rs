//! Live output of `wf run`: an indicatif status line on a terminal, plain
//! lines otherwise, JSON lines with `--json`. All three read events only.

use super::describe::{self, View, brief_input};
use crate::record::event::{Event, Record};
use crate::record::recorder::Reporter;
use std::io::Write;

/// One line describing a notable event, or `None` for events shown only in
/// the status line.
pub fn line(record: &Record) -> Option<String> {
    describe::event(&record.event, View::Line)
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
