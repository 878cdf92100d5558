//! The one model of a recorded run that both reports render
//! ([`super::html`] and [`super::markdown`]): built once from the redacted
//! records, next to their [`crate::record::summary::Summary`].
//!
//! This is the only place in the reports that reads events. What a section
//! shows as a table (the sandbox, the checks, the checkpoints, the usage per
//! turn, the denials) is collected here as plain facts; what the timeline
//! shows is [`super::describe`]'s [`Entry`] for each event, a tool call
//! folded with its denial or result ([`describe::call_entry`]). A new event
//! kind is worded once, in `describe.rs`, and both reports show it with the
//! same words as `wf show`; the views never match on [`Event`].

use super::describe::{self, Entry, View};
use crate::record::event::{CheckpointState, Event, Record, SandboxSetting};
use crate::record::wire::Block;
use std::collections::{BTreeMap, BTreeSet};

/// What both reports show of a run, besides its summary.
#[derive(Debug)]
pub struct Model<'a> {
    /// The sandbox the run asked for, and whether it was a dry run.
    pub asked: Option<(&'a SandboxSetting, bool)>,
    /// The sandbox in effect.
    pub sandbox: Option<Sandbox<'a>>,
    /// Connections through wf's proxy, as the progress lines word them,
    /// and whether each was refused or failed.
    pub connections: Vec<(String, bool)>,
    /// Steps, checks and repair rounds, in trace order.
    pub checks: Vec<CheckItem<'a>>,
    /// Every checkpoint event.
    pub checkpoints: Vec<Checkpoint<'a>>,
    /// Each model answer's usage.
    pub turns: Vec<Turn>,
    /// Denied calls: rule and message.
    pub denials: Vec<(&'a str, &'a str)>,
    /// The timeline.
    pub timeline: Vec<Item<'a>>,
    /// The wf version that recorded the run.
    pub wf_version: Option<&'a str>,
}

/// The sandbox a run's commands ran in.
#[derive(Debug)]
pub struct Sandbox<'a> {
    /// `off`, or the mode asked for.
    pub off: bool,
    /// The confinement level (`full`, `landlock`).
    pub level: Option<&'a str>,
    /// The network in words ([`describe::network_words`]).
    pub network: String,
    /// Roots that may be read and executed.
    pub read: &'a [String],
    /// Roots that may be written.
    pub write: &'a [String],
    /// Read-only paths inside those.
    pub read_only: &'a [String],
}

/// A line of the checks section.
#[derive(Debug)]
pub enum CheckItem<'a> {
    /// A step started: its id.
    Step(&'a str),
    /// The model was asked to repair these checks.
    Repair(u32, &'a [String]),
    /// A check's result.
    Check(Check<'a>),
}

/// One check result.
#[derive(Debug)]
pub struct Check<'a> {
    /// 0 for the first round, then the repair round.
    pub round: u32,
    /// The check's name.
    pub name: &'a str,
    /// Whether it passed.
    pub passed: bool,
    /// Its exit code, when it exited.
    pub exit_code: Option<i32>,
    /// Whether it ran out of time.
    pub timed_out: bool,
    /// How long it ran.
    pub duration_ms: u64,
    /// The end of its output.
    pub tail: &'a str,
    /// Whether the start of its output was cut.
    pub truncated: bool,
}

/// One checkpoint event.
#[derive(Debug)]
pub struct Checkpoint<'a> {
    /// `plan`, `apply`, `step`.
    pub name: &'a str,
    /// `reached`, `approved`, `rejected`, `paused`.
    pub state: &'static str,
    /// The step it follows.
    pub step: Option<&'a str>,
    /// Whether a commit was asked.
    pub commit: bool,
    /// Who decided.
    pub by: Option<&'a str>,
    /// How.
    pub via: Option<&'a str>,
    /// When.
    pub at: Option<&'a str>,
    /// What they said.
    pub comment: Option<&'a str>,
    /// The hash of the diff approved.
    pub diff_sha256: Option<&'a str>,
}

/// One model answer's usage.
#[derive(Debug)]
pub struct Turn {
    /// The turn.
    pub turn: u32,
    /// Input tokens, cached ones included.
    pub input: Option<u64>,
    /// Output tokens.
    pub output: Option<u64>,
    /// Its cost.
    pub cost: Option<f64>,
}

/// One timeline entry and what a report may unfold under it.
#[derive(Debug)]
pub struct Item<'a> {
    /// When, from the run's start.
    pub t_ms: u64,
    /// Its words ([`describe::entry`]).
    pub entry: Entry,
    /// A check result's round and name (the HTML page links it to the
    /// checks section).
    pub check: Option<(u32, &'a str)>,
    /// What the entry holds beyond its words.
    pub detail: Detail<'a>,
}

/// What a timeline entry holds beyond its words.
#[derive(Debug)]
pub enum Detail<'a> {
    /// Nothing.
    None,
    /// A tool call: its input, its output and its denial.
    Call {
        /// The input the model gave.
        input: &'a serde_json::Value,
        /// What the tool returned.
        output: Option<&'a str>,
        /// The denial: rule and message.
        denial: Option<(&'a str, &'a str)>,
    },
    /// A model answer: its text and the tools it calls.
    Answer {
        /// Its text blocks, joined.
        text: String,
        /// The tools it calls.
        calls: Vec<&'a str>,
    },
}

/// The denial and the result of each tool call, by call id.
type CallEnds<'a> = BTreeMap<&'a str, (Option<&'a Event>, Option<&'a Event>)>;

/// The model of `records` (already redacted).
pub fn build(records: &[Record]) -> Model<'_> {
    let mut m = Model {
        asked: None,
        sandbox: None,
        connections: Vec::new(),
        checks: Vec::new(),
        checkpoints: Vec::new(),
        turns: Vec::new(),
        denials: Vec::new(),
        timeline: Vec::new(),
        wf_version: None,
    };
    let mut ends: CallEnds = BTreeMap::new();
    let mut called: BTreeSet<&str> = BTreeSet::new();
    for r in records {
        match &r.event {
            Event::PermissionDenied { call_id, .. } => {
                ends.entry(call_id.as_str()).or_default().0 = Some(&r.event);
            }
            Event::ToolResult { call_id, .. } => {
                ends.entry(call_id.as_str()).or_default().1 = Some(&r.event);
            }
            Event::ToolCall { call_id, .. } => {
                called.insert(call_id.as_str());
            }
            _ => {}
        }
    }
    for r in records {
        facts(&mut m, &r.event);
        if let Some(item) = item(r, &ends, &called) {
            m.timeline.push(item);
        }
    }
    m
}

/// What the sections show of one event.
fn facts<'a>(m: &mut Model<'a>, event: &'a Event) {
    match event {
        Event::RunStarted {
            sandbox,
            dry_run,
            wf_version,
            ..
        } => {
            m.wf_version = Some(wf_version);
            m.asked = sandbox.as_deref().map(|s| (s, *dry_run));
        }
        Event::SandboxReady {
            mode,
            network,
            hosts,
            read,
            write,
            read_only,
            level,
            ..
        } => {
            m.sandbox = Some(Sandbox {
                off: mode == "off",
                level: level.as_deref(),
                network: describe::network_words(*network, hosts),
                read,
                write,
                read_only,
            });
        }
        Event::NetworkConnection { .. } => {
            if let Some(line) = describe::event(event, View::Line) {
                let bad = describe::tone(event) != describe::Tone::Plain;
                m.connections.push((line, bad));
            }
        }
        Event::StepStarted { id, .. } => m.checks.push(CheckItem::Step(id)),
        Event::RepairRequested { round, failed } => {
            m.checks.push(CheckItem::Repair(*round, failed));
        }
        Event::CheckResult {
            round,
            name,
            passed,
            exit_code,
            timed_out,
            output_tail,
            truncated,
            duration_ms,
            ..
        } => m.checks.push(CheckItem::Check(Check {
            round: *round,
            name,
            passed: *passed,
            exit_code: *exit_code,
            timed_out: *timed_out,
            duration_ms: *duration_ms,
            tail: output_tail,
            truncated: *truncated,
        })),
        Event::Checkpoint {
            name,
            state,
            by,
            via,
            comment,
            commit,
            at,
            step,
            diff_sha256,
        } => m.checkpoints.push(Checkpoint {
            name: name.as_str(),
            state: match state {
                CheckpointState::Reached => "reached",
                CheckpointState::Approved => "approved",
                CheckpointState::Rejected => "rejected",
                CheckpointState::Paused => "paused",
            },
            step: step.as_deref(),
            commit: *commit,
            by: by.as_deref(),
            via: via.as_deref(),
            at: at.as_deref(),
            comment: comment.as_deref(),
            diff_sha256: diff_sha256.as_deref(),
        }),
        Event::ModelResponse {
            turn,
            usage,
            cost_usd,
            ..
        } => m.turns.push(Turn {
            turn: *turn,
            input: usage
                .input_tokens
                .map(|i| i + usage.cache_read_input_tokens + usage.cache_creation_input_tokens),
            output: usage.output_tokens,
            cost: *cost_usd,
        }),
        Event::PermissionDenied { rule, message, .. } => m.denials.push((rule, message)),
        _ => {}
    }
}

/// The timeline entry of one record: `None` for what the timeline does not
/// show, and for a denial or result folded into its call.
fn item<'a>(r: &'a Record, ends: &CallEnds<'a>, called: &BTreeSet<&str>) -> Option<Item<'a>> {
    let (entry, detail) = match &r.event {
        Event::ToolCall { call_id, input, .. } => {
            let (denied, result) = ends.get(call_id.as_str()).copied().unwrap_or_default();
            let output = match result {
                Some(Event::ToolResult { output, .. }) => Some(output.as_str()),
                _ => None,
            };
            let denial = match denied {
                Some(Event::PermissionDenied { rule, message, .. }) => {
                    Some((rule.as_str(), message.as_str()))
                }
                _ => None,
            };
            (
                describe::call_entry(&r.event, denied, result)?,
                Detail::Call {
                    input,
                    output,
                    denial,
                },
            )
        }
        Event::PermissionDenied { call_id, .. } | Event::ToolResult { call_id, .. }
            if called.contains(call_id.as_str()) =>
        {
            return None;
        }
        Event::ModelResponse { content, .. } => {
            let text: Vec<&str> = content
                .iter()
                .filter_map(|b| match b {
                    Block::Text { text } => Some(text.as_str()),
                    _ => None,
                })
                .collect();
            let calls = content
                .iter()
                .filter_map(|b| match b {
                    Block::ToolUse { name, .. } => Some(name.as_str()),
                    _ => None,
                })
                .collect();
            (
                describe::entry(&r.event)?,
                Detail::Answer {
                    text: text.join("\n\n"),
                    calls,
                },
            )
        }
        other => (describe::entry(other)?, Detail::None),
    };
    let check = match &r.event {
        Event::CheckResult { round, name, .. } => Some((*round, name.as_str())),
        _ => None,
    };
    Some(Item {
        t_ms: r.t_ms,
        entry,
        check,
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::describe::Tone;
    use crate::report::run::RunReport;
    use crate::secrets::Secrets;

    /// A trace with one event or more of every kind (written by hand: its
    /// hash chain is not checked here).
    const EVERY_KIND: &str = include_str!("../../tests/fixtures/traces/every-kind.jsonl");

    fn records() -> Vec<Record> {
        EVERY_KIND
            .lines()
            .enumerate()
            .map(|(i, line)| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("every-kind.jsonl line {}: {e}", i + 1))
            })
            .collect()
    }

    fn report(records: Vec<Record>) -> RunReport {
        RunReport {
            id: "20261207-000000-000-kind".into(),
            records,
            live: false,
            patch: None,
            verified: Ok(()),
            torn_tail: false,
            task: Err("not read here".into()),
            patch_path: "diff.patch".into(),
        }
    }

    #[test]
    fn the_fixture_has_every_event_kind() {
        let kinds: BTreeSet<&str> = records().iter().map(|r| r.event.kind()).collect();
        // One per variant of `Event` (see `Event::kind`): a new kind needs
        // a line in tests/fixtures/traces/every-kind.jsonl.
        let variants = include_str!("../../crates/wf-record/src/event.rs")
            .split("pub fn kind(&self)")
            .nth(1)
            .and_then(|rest| rest.split("\n    }\n").next())
            .map(|body| body.matches("Event::").count())
            .unwrap();
        assert_eq!(kinds.len(), variants, "{kinds:?}");
    }

    /// Every event of the fixture that the timeline shows appears with the
    /// same words in the HTML page and in the Markdown, and those words
    /// are `describe`'s: one description, two views.
    #[test]
    fn both_reports_show_every_event_in_the_one_description() {
        let records = records();
        let report = report(records.clone());
        let html = crate::report::html::run(&report, &Secrets::none());
        let md = crate::report::markdown::run(&report, &Secrets::none());
        let mut shown = BTreeSet::new();
        for r in &records {
            let Some(e) = describe::entry(&r.event) else {
                continue;
            };
            shown.insert(r.event.kind());
            let in_html = crate::report::html::esc(&e.text);
            assert!(
                html.contains(&in_html),
                "{}: the page lacks {in_html:?}",
                r.event.kind()
            );
            assert!(
                md.contains(&e.text),
                "{}: the Markdown lacks {:?}",
                r.event.kind(),
                e.text
            );
            for line in e.more.iter().flat_map(|m| m.lines()) {
                assert!(html.contains(&crate::report::html::esc(line)), "{line:?}");
                assert!(md.contains(line), "{line:?}");
            }
        }
        // All but the header, which both show as their title.
        assert_eq!(shown.len(), 28, "{shown:?}");
        // The same entries in the same order, each with its kind label.
        let m = build(&records);
        let mut html_at = 0;
        let mut md_at = 0;
        for item in &m.timeline {
            let e = &item.entry;
            let head = format!(
                "<span class=\"kind\">{}</span><span class=\"mono\">{}</span>",
                crate::report::html::esc(e.kind),
                crate::report::html::esc(&e.text)
            );
            html_at += html[html_at..]
                .find(&head)
                .unwrap_or_else(|| panic!("{head} (in order)"));
            let line = format!("{:<10} {}", e.kind, e.text);
            md_at += md[md_at..]
                .find(&line)
                .unwrap_or_else(|| panic!("{line} (in order)"));
        }
    }

    #[test]
    fn a_call_is_one_entry_with_its_denial_or_result() {
        let records = records();
        let m = build(&records);
        let calls: Vec<&Item> = m
            .timeline
            .iter()
            .filter(|i| matches!(i.detail, Detail::Call { .. }))
            .collect();
        let words: Vec<(&str, &str, Tone)> = calls
            .iter()
            .map(|i| (i.entry.kind, i.entry.text.as_str(), i.entry.tone))
            .collect();
        assert_eq!(
            words,
            [
                (
                    "tool",
                    "read_file path=\"src/app.ini\" → ok (30 bytes)",
                    Tone::Plain
                ),
                (
                    "DENIED",
                    "write_file content=<14 bytes> path=\"migrations/002.sql\" → \
                     [protect] write to migrations/002.sql denied: protected by permissions.protect",
                    Tone::Denied
                ),
                (
                    "tool",
                    "shell command=\"make test\" → error, exit 2: exit code 2",
                    Tone::Error
                ),
            ]
        );
        assert_eq!(
            calls[2].entry.more.as_deref(),
            Some("make: *** [test] Error 2\nFAILED tests/test_app.py")
        );
        // A denial without a call (c9) keeps its own entry.
        assert!(
            m.timeline
                .iter()
                .any(|i| i.entry.kind == "DENIED" && i.entry.text.contains(".env"))
        );
        assert_eq!(m.denials.len(), 2);
    }

    #[test]
    fn the_views_read_no_event() {
        for (file, source) in [
            ("html/mod.rs", include_str!("html/mod.rs")),
            ("html/sections.rs", include_str!("html/sections.rs")),
            ("html/timeline.rs", include_str!("html/timeline.rs")),
            ("markdown.rs", include_str!("markdown.rs")),
        ] {
            let code = source.split("#[cfg(test)]").next().unwrap();
            assert!(
                !code.contains("Event::") && !code.contains("record::event"),
                "{file} reads events: words belong in describe.rs, facts in model.rs"
            );
        }
    }
}
