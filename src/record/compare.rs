//! The comparison of two courses of events: a replay against its recorded
//! run, a resume's catch-up against the trace, two recorded runs.
//!
//! Fields that legitimately differ (times, ids, who approved; see
//! [`crate::record::event::VOLATILE_FIELDS`]) and provider retries, which
//! depend on the network, not on the run, are left out.

use crate::record::event::{Event, Record, comparable};
use serde_json::Value;

/// The first difference between two event sequences.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// Sequence number (in the recorded run) where they part.
    pub seq: u64,
    /// The recorded event (None: the recorded run had ended).
    pub expected: Option<Value>,
    /// The new event (None: the replay ended earlier).
    pub actual: Option<Value>,
    /// What probably caused it.
    pub hint: String,
}

/// The records without pauses: from a paused checkpoint up to the
/// `run_finished` it led to (the diff kept at the pause included). A pause
/// and the process that ended there are not part of the run's course; the
/// decision taken later (`wf approve`) is. Resume compares a run's course
/// with this, and replay compares both sides through it.
pub fn without_pauses(records: &[Record]) -> Vec<Record> {
    let mut pausing = false;
    records
        .iter()
        .filter(|r| match r.event {
            Event::Checkpoint {
                state: crate::record::event::CheckpointState::Paused,
                ..
            } => {
                pausing = true;
                false
            }
            Event::RunFinished {
                status: crate::record::event::RunStatus::Paused,
                ..
            } => {
                pausing = false;
                false
            }
            _ => !pausing,
        })
        .cloned()
        .collect()
}

/// Leaves out what does not belong to the run itself: provider retries, the
/// commit (its id depends on the clock; a replay never commits), and the
/// kinds in `ignore`.
fn relevant<'a>(records: &'a [Record], ignore: &[&str]) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| {
            !matches!(r.event, Event::ModelRetry { .. } | Event::Committed { .. })
                && !ignore.contains(&r.event.kind())
        })
        .collect()
}

/// Cost differs between a live run and a replay (the replay prices nothing).
fn normalized(record: &Record) -> Value {
    let mut v = comparable(record);
    if let Some(map) = v.as_object_mut() {
        map.remove("seq");
        map.remove("cost_usd");
        // Derived from spec, inputs and context, which are compared where
        // they are recorded (run_started, context_resolved): a change is
        // reported there, with its cause.
        map.remove("fingerprint");
        if let Some(Value::Object(totals)) = map.get_mut("totals") {
            totals.remove("cost_usd");
        }
    }
    v
}

/// The first difference between two runs' events, if any.
pub fn compare(expected: &[Record], actual: &[Record]) -> Option<Divergence> {
    compare_ignoring(expected, actual, &[])
}

/// [`compare`], leaving out events of the kinds in `ignore`.
pub fn compare_ignoring(
    expected: &[Record],
    actual: &[Record],
    ignore: &[&str],
) -> Option<Divergence> {
    let (e, a) = (relevant(expected, ignore), relevant(actual, ignore));
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i), a.get(i));
        let (xv, yv) = (x.map(|r| normalized(r)), y.map(|r| normalized(r)));
        if xv != yv {
            let seq = x.or(y).map_or(i as u64, |r| r.seq);
            let hint = hint(expected, x.copied(), y.copied());
            return Some(Divergence {
                seq,
                expected: x.map(|r| comparable(r)),
                actual: y.map(|r| comparable(r)),
                hint,
            });
        }
    }
    None
}

fn call_of<'a>(records: &'a [Record], call_id: &str) -> Option<(&'a str, &'a Value)> {
    records.iter().find_map(|r| match &r.event {
        Event::ToolCall {
            call_id: id,
            tool,
            input,
        } if id == call_id => Some((tool.as_str(), input)),
        _ => None,
    })
}

fn hint(recorded: &[Record], x: Option<&Record>, y: Option<&Record>) -> String {
    let (Some(x), Some(y)) = (x, y) else {
        return match (x, y) {
            (Some(x), None) => format!(
                "the replay ended before the recorded {} event",
                x.event.kind()
            ),
            (None, Some(y)) => format!(
                "the replay went on with a {} event after the recorded run ended",
                y.event.kind()
            ),
            _ => String::new(),
        };
    };
    match (&x.event, &y.event) {
        (Event::RunStarted { spec_hash: a, .. }, Event::RunStarted { spec_hash: b, .. })
            if a != b =>
        {
            "the task file changed: spec hash differs".into()
        }
        (Event::RunStarted { fingerprint: a, .. }, Event::RunStarted { fingerprint: b, .. })
            if a != b =>
        {
            "the plan's fingerprint differs: the inputs or the context files changed".into()
        }
        (Event::WorkspaceReady { .. }, Event::WorkspaceReady { .. }) => {
            "the starting files differ from the run's".into()
        }
        (Event::ContextResolved { files: a, .. }, Event::ContextResolved { files: b, .. }) => {
            let changed: Vec<&str> = a
                .iter()
                .filter(|f| !b.iter().any(|g| g.path == f.path && g.hash == f.hash))
                .map(|f| f.path.as_str())
                .chain(
                    b.iter()
                        .filter(|g| !a.iter().any(|f| f.path == g.path))
                        .map(|g| g.path.as_str()),
                )
                .collect();
            format!("context file {} changed since the run", changed.join(", "))
        }
        (
            Event::ToolResult {
                call_id, ok: oa, ..
            },
            Event::ToolResult { ok: ob, .. },
        ) => {
            let (tool, input) = call_of(recorded, call_id).unwrap_or(("tool", &Value::Null));
            let target = ["path", "command", "pattern"]
                .iter()
                .find_map(|k| input.get(*k).and_then(Value::as_str))
                .unwrap_or("");
            if oa != ob {
                format!(
                    "{tool} {target} now {}",
                    if *ob { "succeeds" } else { "fails" }
                )
            } else if tool == "read_file" {
                format!(
                    "read_file {target} returned different content: the file changed since the run"
                )
            } else {
                format!("{tool} {target} returned a different result")
            }
        }
        (
            Event::CheckResult {
                name, passed: a, ..
            },
            Event::CheckResult { passed: b, .. },
        ) if a != b => {
            format!("check `{name}` now {}", if *b { "passes" } else { "fails" })
        }
        (Event::CheckResult { name, .. }, Event::CheckResult { .. }) => {
            format!("check `{name}` printed different output")
        }
        (Event::ModelRequest { .. }, Event::ModelRequest { .. }) => {
            "the request to the model differs: its instructions, tools or earlier results changed"
                .into()
        }
        (a, b) if a.kind() != b.kind() => format!(
            "the run took another path: {} where {} was recorded",
            b.kind(),
            a.kind()
        ),
        (a, _) => format!("the {} event differs", a.kind()),
    }
}
