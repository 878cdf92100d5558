//! Events as the reports show them: [`Entry`], a timeline entry split into
//! its kind label and text with a [`Tone`]; the words are the timeline's
//! ([`super::event`] with [`View::Timeline`]), so `wf show`, the HTML page
//! and the Markdown say the same.

use super::{View, event as describe_event};
use crate::record::event::Event;
use crate::report::text::escape_controls;

/// An event as the reports show it: the kind label, the text of the
/// timeline's first line, and its further lines without the terminal's
/// indent. Control characters are escaped, as in [`super::event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The kind label (`model`, `check`, `DENIED`, …): [`label`].
    pub kind: &'static str,
    /// The first line, after the label.
    pub text: String,
    /// The lines after the first (a check's output, an answer's text), with
    /// the indent they share taken off.
    pub more: Option<String>,
    /// How the entry is marked.
    pub tone: Tone,
}

/// How a report marks an entry (the HTML page's CSS class).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Nothing to mark.
    Plain,
    /// A passing check, a run that succeeded.
    Pass,
    /// A failing check, a run that failed.
    Fail,
    /// An error: the model's, an apply that failed, a limit, an interruption.
    Error,
    /// A denied call, a refused change or connection.
    Denied,
    /// A repair round.
    Repair,
    /// A checkpoint.
    Checkpoint,
}

impl Tone {
    /// The CSS class of the HTML page (empty for [`Tone::Plain`]).
    pub fn class(self) -> &'static str {
        match self {
            Tone::Plain => "",
            Tone::Pass => "pass",
            Tone::Fail => "fail",
            Tone::Error => "error",
            Tone::Denied => "denied",
            Tone::Repair => "repair",
            Tone::Checkpoint => "checkpoint",
        }
    }
}

/// The kind label of `event` as the timeline shows it in its column.
pub fn label(event: &Event) -> &'static str {
    match event {
        Event::RunStarted { .. } => "run",
        Event::SandboxReady { .. } => "sandbox",
        Event::McpServer { .. } => "mcp",
        Event::RecipeUsed { .. } => "recipe",
        Event::WorkspaceReady { .. } => "workspace",
        Event::ContextResolved { .. } => "context",
        Event::ModelRequest { .. }
        | Event::ModelRetry { .. }
        | Event::ModelFallback { .. }
        | Event::ModelResponse { .. }
        | Event::ModelError { .. } => "model",
        Event::StepStarted { .. } | Event::StepSkipped { .. } | Event::StepFinished { .. } => {
            "step"
        }
        Event::NetworkConnection { .. } => "network",
        Event::ToolCall { .. } => "tool",
        Event::PermissionDenied { .. } => "DENIED",
        Event::ToolResult { .. } => "result",
        Event::CheckResult { .. } => "check",
        Event::RepairRequested { .. } => "repair",
        Event::Checkpoint { .. } => "checkpoint",
        Event::DiffReady { .. } => "diff",
        Event::Applied { .. } => "applied",
        Event::Committed { .. } => "committed",
        Event::ChangeRefused { .. } => "REFUSED",
        Event::ApplyFailed { .. } => "NOT APPLIED",
        Event::LimitReached { .. } => "limit",
        Event::RunInterrupted { .. } => "INTERRUPTED",
        Event::RunFinished { .. } => "finished",
    }
}

/// How `event` is marked in a report.
pub fn tone(event: &Event) -> Tone {
    use crate::record::event::RunStatus;
    match event {
        Event::PermissionDenied { .. } | Event::ChangeRefused { .. } => Tone::Denied,
        Event::NetworkConnection { allowed: false, .. } => Tone::Denied,
        Event::NetworkConnection {
            reason: Some(_), ..
        } => Tone::Error,
        Event::CheckResult { passed: true, .. } => Tone::Pass,
        Event::CheckResult { .. } => Tone::Fail,
        Event::RepairRequested { .. } => Tone::Repair,
        Event::Checkpoint { .. } => Tone::Checkpoint,
        Event::ToolResult { ok: false, .. }
        | Event::ModelError { .. }
        | Event::ApplyFailed { .. }
        | Event::LimitReached { .. }
        | Event::RunInterrupted { .. } => Tone::Error,
        Event::RunFinished { status, .. } => match status {
            RunStatus::Succeeded => Tone::Pass,
            RunStatus::DryRun | RunStatus::Paused | RunStatus::Interrupted => Tone::Plain,
            _ => Tone::Fail,
        },
        _ => Tone::Plain,
    }
}

/// `event` as a report entry, or `None` when the timeline does not show
/// it. Its words are the timeline's ([`View::Timeline`]); the end of a run,
/// which `wf show` words in its own footer, is `finished STATUS: REASON`.
pub fn entry(event: &Event) -> Option<Entry> {
    let text = match event {
        Event::RunFinished { status, reason, .. } => {
            let text = match reason.as_deref() {
                Some(r) => format!("{}: {r}", status.as_str()),
                None => status.as_str().to_string(),
            };
            escape_controls(&text).into_owned()
        }
        other => describe_event(other, View::Timeline)?,
    };
    let kind = label(event);
    let (first, rest) = match text.split_once('\n') {
        Some((first, rest)) => (first, Some(dedent(rest))),
        None => (text.as_str(), None),
    };
    let first = first.trim_start();
    let first = first.strip_prefix(kind).unwrap_or(first).trim_start();
    Some(Entry {
        kind,
        text: first.to_string(),
        more: rest.filter(|r| !r.trim().is_empty()),
        tone: tone(event),
    })
}

/// A tool call as one entry with how it ended: ` → ` and its result's
/// words, or its denial (kind `DENIED`); the result's further lines (a
/// failed call's output) are the entry's. `None` when `call` is no call.
pub fn call_entry(call: &Event, denial: Option<&Event>, result: Option<&Event>) -> Option<Entry> {
    let mut e = entry(call)?;
    if !matches!(call, Event::ToolCall { .. }) {
        return None;
    }
    match (denial.and_then(entry), result.and_then(entry)) {
        (Some(denied), _) => {
            e.kind = denied.kind;
            e.tone = denied.tone;
            e.text = format!("{} → {}", e.text, denied.text);
        }
        (None, Some(result)) => {
            e.tone = result.tone;
            e.text = format!("{} → {}", e.text, result.text);
            e.more = result.more;
        }
        (None, None) => e.text.push_str(" (no result recorded)"),
    }
    Some(e)
}

/// `text` with the indent its lines share taken off, and trailing blanks.
fn dedent(text: &str) -> String {
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    text.lines()
        .map(|l| l.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}
