//! The comparison of two courses of events: a replay against its recorded
//! run, a resume's catch-up against the trace, two recorded runs.
//!
//! Fields that legitimately differ (times, ids, who approved; see
//! [`Event::volatile`]) and provider retries, which
//! depend on the network, not on the run, are left out.
//!
//! **Output is not the course.** What a command prints (timings, temporary
//! paths, process ids) changes from one run to the next while the run does
//! the same thing. So a difference in output text alone is an
//! [`OutputNote`], never a [`Divergence`]:
//!
//! - a `check_result` whose `output_tail`/`output_hash` (and `truncated`)
//!   differ while its name, round, verdict (`passed`), exit status and
//!   time-out are the same;
//! - a `tool_result` of a command (the `shell` tool, or any result with an
//!   exit status) whose `output`/`output_hash` differ while `ok` and
//!   `exit_code` are the same. What a file tool returns (`read_file`,
//!   `search`, …) is the state of the files, and still diverges;
//! - once output differed, a later `model_request` whose request hash and
//!   size estimate alone differ: the request carries that output. The
//!   recorded answer is used, as for any recorded request.
//!
//! Exit statuses, verdicts, tool calls and their arguments, denials, the
//! files changed and the diff still diverge.
//!
//! Decision: a check cannot opt into strict output comparison for now (no
//! task-file key). A check whose output matters should turn it into its
//! verdict (exit status); the notes still show every output difference, so
//! nothing is hidden. A key can be added later without changing traces.

use crate::event::{Event, Record, comparable};
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

/// A difference in output text alone: shown, not a divergence.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputNote {
    /// Sequence number (in the recorded run) of the event.
    pub seq: u64,
    /// What differs, for people: ``check `unittest` printed different output``.
    pub what: String,
    /// The first differing span in context, both sides:
    /// `…"in 0.0[03]s"… vs …"in 0.0[08]s"…`.
    pub span: String,
}

impl std::fmt::Display for OutputNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.span.is_empty() {
            write!(f, "{}", self.what)
        } else {
            write!(f, "{}: {}", self.what, self.span)
        }
    }
}

/// The result of comparing two courses: the first divergence, if any, and
/// the output differences met before it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Comparison {
    /// Where the courses part.
    pub divergence: Option<Divergence>,
    /// Output-only differences (see the module doc).
    pub notes: Vec<OutputNote>,
}

/// Characters of context shown on each side of a differing span.
const CONTEXT: usize = 16;
/// Longest differing middle shown.
const MIDDLE: usize = 40;

/// The first differing span of `a` and `b`, with `CONTEXT` characters
/// before and after, both sides: `…"Ran 3 tests in 0.0[03]s"… vs …"Ran 3
/// tests in 0.0[08]s"…`. Empty when they are equal.
pub fn differing_span(a: &str, b: &str) -> String {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a == b {
        return String::new();
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let max_suffix = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    // The first differing run: where both agree again, position for
    // position, for a few characters (a substitution, like a timing);
    // else everything between the common prefix and suffix (an insertion).
    const AGAIN: usize = 4;
    let same_length_end = (prefix..a.len().min(b.len()).saturating_sub(AGAIN - 1))
        .find(|&i| a[i..i + AGAIN] == b[i..i + AGAIN]);
    let (end_a, end_b) = match same_length_end {
        Some(i) => (i, i),
        None => (a.len() - suffix, b.len() - suffix),
    };
    let side = |s: &[char], end: usize| {
        let start = prefix.saturating_sub(CONTEXT);
        let middle = &s[prefix..end];
        let after_end = (end + CONTEXT).min(s.len());
        let mut text: String = s[start..prefix].iter().collect();
        text.push('[');
        if middle.len() > MIDDLE {
            text.extend(&middle[..MIDDLE]);
            text.push('…');
        } else {
            text.extend(middle);
        }
        text.push(']');
        text.extend(&s[end..after_end]);
        format!(
            "{}{:?}{}",
            if start > 0 { "…" } else { "" },
            text,
            if after_end < s.len() { "…" } else { "" }
        )
    };
    format!("{} vs {}", side(&a, end_a), side(&b, end_b))
}

/// When `x` and `y` differ only in output (see the module doc), the note.
fn output_only(seq: u64, x: &Value, y: &Value, output_differed: bool) -> Option<OutputNote> {
    let kind = x.get("kind").and_then(Value::as_str)?;
    if y.get("kind").and_then(Value::as_str) != Some(kind) {
        return None;
    }
    let (text_key, fields): (&str, &[&str]) = match kind {
        "check_result" => ("output_tail", &["output_tail", "output_hash", "truncated"]),
        "tool_result" => {
            let command = x.get("tool").and_then(Value::as_str) == Some("shell")
                || !x.get("exit_code").is_none_or(Value::is_null);
            if !command {
                return None;
            }
            ("output", &["output", "output_hash", "truncated"])
        }
        "model_request" if output_differed => ("", &["request_hash", "tokens_estimate"]),
        _ => return None,
    };
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(map) = v.as_object_mut() {
            for f in fields {
                map.remove(*f);
            }
        }
        v
    };
    if strip(x) != strip(y) {
        return None;
    }
    let text = |v: &Value| {
        v.get(text_key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let what = match kind {
        "check_result" => format!(
            "check `{}` printed different output",
            x.get("name").and_then(Value::as_str).unwrap_or("?")
        ),
        "tool_result" => format!(
            "{} printed different output",
            x.get("tool").and_then(Value::as_str).unwrap_or("tool")
        ),
        _ => format!(
            "request {} to the model differs: it carries the output above",
            x.get("turn").map(Value::to_string).unwrap_or_default()
        ),
    };
    let mut span = differing_span(&text(x), &text(y));
    if span.is_empty() && !text_key.is_empty() {
        span = "(the difference is before the recorded tail)".into();
    }
    Some(OutputNote { seq, what, span })
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
                state: crate::event::CheckpointState::Paused,
                ..
            } => {
                pausing = true;
                false
            }
            Event::RunFinished {
                status: crate::event::RunStatus::Paused,
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
/// commit (its id depends on the clock; a replay never commits), the
/// sandbox's roots on this machine (its setting is compared, in
/// `run_started`), and the kinds in `ignore`.
fn relevant<'a>(records: &'a [Record], ignore: &[&str]) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| {
            !matches!(
                r.event,
                Event::ModelRetry { .. } | Event::Committed { .. } | Event::SandboxReady { .. }
            ) && !ignore.contains(&r.event.kind())
        })
        .collect()
}

/// Sorts each run of consecutive `network_connection` events by host,
/// port and decision: connections a command opens at the same time
/// finish in any order, and what is compared is which hosts it asked for
/// and what it got, not which finished first.
fn connections_in_order(records: &mut [&Record]) {
    let key = |r: &Record| match &r.event {
        Event::NetworkConnection {
            host,
            port,
            allowed,
            reason,
            ..
        } => Some((host.clone(), *port, *allowed, reason.clone())),
        _ => None,
    };
    let mut i = 0;
    while i < records.len() {
        if key(records[i]).is_none() {
            i += 1;
            continue;
        }
        let start = i;
        while i < records.len() && key(records[i]).is_some() {
            i += 1;
        }
        records[start..i].sort_by_key(|r| key(r));
    }
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
    comparison(expected, actual, ignore, false).divergence
}

/// The full comparison: the first divergence and the output notes before
/// it, leaving out events of the kinds in `ignore`. `output_differed`: an
/// output difference was already met (a resume's catch-up compares one
/// event at a time).
pub fn comparison(
    expected: &[Record],
    actual: &[Record],
    ignore: &[&str],
    mut output_differed: bool,
) -> Comparison {
    let mut notes = Vec::new();
    let (mut e, mut a) = (relevant(expected, ignore), relevant(actual, ignore));
    connections_in_order(&mut e);
    connections_in_order(&mut a);
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i), a.get(i));
        let (xv, mut yv) = (x.map(|r| normalized(r)), y.map(|r| normalized(r)));
        // A trace written before wf recorded the sandbox has no setting to
        // compare with.
        if let (Some(Value::Object(xm)), Some(Value::Object(ym))) = (&xv, &mut yv)
            && xm.get("kind").and_then(Value::as_str) == Some("run_started")
            && !xm.contains_key("sandbox")
        {
            ym.remove("sandbox");
        }
        if xv != yv {
            let seq = x.or(y).map_or(i as u64, |r| r.seq);
            if let (Some(xv), Some(yv)) = (&xv, &yv)
                && let Some(note) = output_only(seq, xv, yv, output_differed)
            {
                output_differed = true;
                notes.push(note);
                continue;
            }
            let hint = hint(expected, x.copied(), y.copied());
            return Comparison {
                divergence: Some(Divergence {
                    seq,
                    expected: x.map(|r| comparable(r)),
                    actual: y.map(|r| comparable(r)),
                    hint,
                }),
                notes,
            };
        }
    }
    Comparison {
        divergence: None,
        notes,
    }
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
        (
            Event::RunStarted {
                sandbox: Some(a), ..
            },
            Event::RunStarted {
                sandbox: Some(b), ..
            },
        ) if a != b => {
            let describe = |s: &crate::event::SandboxSetting| {
                let network = if !s.hosts.is_empty() {
                    format!(" with network to {}", s.hosts.join(", "))
                } else if s.network {
                    " with network".to_string()
                } else {
                    String::new()
                };
                format!("{}{network}", s.mode)
            };
            format!(
                "the sandbox differs: the run had {}, this has {}",
                describe(a),
                describe(b)
            )
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
        (
            Event::StepFinished {
                id,
                exit_code: Some(a),
                ..
            },
            Event::StepFinished {
                exit_code: Some(b), ..
            },
        ) if a != b => match (a, b) {
            (0, _) => format!("command step `{id}` now fails (exit {b})"),
            (_, 0) => format!("command step `{id}` now passes (it exited {a})"),
            _ => format!("command step `{id}` now exits {b} (it exited {a})"),
        },
        (a @ Event::NetworkConnection { .. }, b @ Event::NetworkConnection { .. }) => {
            let words = |e: &Event| match e {
                Event::NetworkConnection {
                    host,
                    port,
                    allowed,
                    reason,
                    ..
                } => format!(
                    "{host}:{port} {}{}",
                    match (allowed, reason) {
                        (false, _) => "refused",
                        (true, Some(_)) => "failed",
                        (true, None) => "allowed",
                    },
                    reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ),
                _ => String::new(),
            };
            format!(
                "a command's connections through wf's proxy differ: {} was recorded, {} now",
                words(a),
                words(b)
            )
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
#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{CheckpointName, CheckpointState, RunStatus, Totals};
    use serde_json::json;

    fn rec(seq: u64, t_ms: u64, event: Event) -> Record {
        Record {
            seq,
            t_ms,
            event,
            hash: format!("hash-{seq}-{t_ms}"),
        }
    }

    fn call(id: &str, tool: &str, input: Value) -> Event {
        Event::ToolCall {
            call_id: id.into(),
            tool: tool.into(),
            input,
        }
    }

    fn result(id: &str, tool: &str, ok: bool, output: &str, duration_ms: u64) -> Event {
        Event::ToolResult {
            call_id: id.into(),
            tool: tool.into(),
            ok,
            exit_code: None,
            output_hash: crate::hash::sha256_hex(output.as_bytes()),
            output: output.into(),
            truncated: false,
            duration_ms,
        }
    }

    fn check(name: &str, passed: bool, duration_ms: u64) -> Event {
        Event::CheckResult {
            round: 0,
            name: name.into(),
            passed,
            exit_code: Some(if passed { 0 } else { 1 }),
            timed_out: false,
            output_hash: String::new(),
            output_tail: String::new(),
            truncated: false,
            duration_ms,
        }
    }

    fn checkpoint(state: CheckpointState, by: Option<&str>, at: Option<&str>) -> Event {
        Event::Checkpoint {
            name: CheckpointName::Plan,
            state,
            by: by.map(str::to_string),
            via: by.map(|_| "terminal".to_string()),
            comment: None,
            commit: false,
            at: at.map(str::to_string),
            step: None,
            diff_sha256: None,
        }
    }

    fn finished(status: RunStatus) -> Event {
        Event::RunFinished {
            status,
            reason: None,
            diff_hash: None,
            files_changed: vec![],
            totals: Totals::default(),
        }
    }

    /// A short run: read a file, run the shell, a check, done. `t` shifts
    /// every time.
    fn course(t: u64, read_output: &str, shell_ok: bool, check_passed: bool) -> Vec<Record> {
        [
            call("c1", "read_file", json!({"path": "src/a.rs"})),
            result("c1", "read_file", true, read_output, 3 + t),
            call("c2", "shell", json!({"command": "cargo test"})),
            result("c2", "shell", shell_ok, "output", 40 + t),
            checkpoint(
                CheckpointState::Approved,
                Some(if t == 0 { "alice" } else { "bob" }),
                Some(if t == 0 {
                    "2024-01-01T00:00:00Z"
                } else {
                    "2025-06-01T12:00:00Z"
                }),
            ),
            check("test", check_passed, 900 + t),
            finished(RunStatus::Succeeded),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, e)| rec(i as u64 + 1, 100 * i as u64 + t, e))
        .collect()
    }

    #[test]
    fn volatile_fields_and_retries_do_not_count() {
        let recorded = course(0, "fn a() {}", true, true);
        let mut replay = course(7, "fn a() {}", true, true);
        replay.insert(
            1,
            rec(
                99,
                5,
                Event::ModelRetry {
                    turn: 1,
                    attempt: 1,
                    reason: "503".into(),
                    wait_ms: 100,
                },
            ),
        );
        assert_eq!(compare(&recorded, &replay), None);
    }

    fn recipe(commit: &str) -> Event {
        Event::RecipeUsed {
            uses: "git+https://example.com/r.git//fix.yaml@v1".into(),
            name: "fix".into(),
            commit: Some(commit.into()),
            sha256: "ab".repeat(32),
        }
    }

    fn started(run_id: &str, at: &str, base: &str) -> Event {
        Event::RunStarted {
            trace_version: 1,
            wf_version: run_id.into(),
            run_id: run_id.into(),
            spec_name: "t".into(),
            spec_version: None,
            spec_path: "t.yaml".into(),
            spec_hash: "s".into(),
            inputs: Default::default(),
            fingerprint: "f".into(),
            base_revision: Some(base.into()),
            model: "script".into(),
            dry_run: false,
            sandbox: None,
            conversation: None,
            max_cost_usd: None,
            script: None,
            sandbox_approval: None,
            at: at.into(),
        }
    }

    #[test]
    fn volatility_is_per_event_kind() {
        let run = |id: &str, at: &str, recipe_commit: &str, by: &str, commit: bool| {
            let mut approved = checkpoint(CheckpointState::Approved, Some(by), Some(at));
            if let Event::Checkpoint {
                commit: c, comment, ..
            } = &mut approved
            {
                *c = commit;
                *comment = commit.then(|| "ship it".to_string());
            }
            vec![
                rec(0, 0, started(id, at, &id.repeat(2))),
                rec(1, 1, recipe(recipe_commit)),
                rec(2, 2, approved),
                rec(3, 3, finished(RunStatus::Succeeded)),
            ]
        };
        let a = "a".repeat(40);
        let recorded = run("run-1", "2024-01-01T00:00:00Z", &a, "alice", false);
        // Times, ids, the base revision, who approved, how, with what comment
        // and whether they asked for a commit: volatile.
        let other = run("run-2", "2025-06-01T12:00:00Z", &a, "bob", true);
        assert_eq!(compare(&recorded, &other), None);
        // The recipe's commit shares the name `commit` with the checkpoint's,
        // but is what the run used: a changed one is a divergence.
        let moved = run(
            "run-1",
            "2024-01-01T00:00:00Z",
            &"b".repeat(40),
            "alice",
            false,
        );
        let d = compare(&recorded, &moved).unwrap();
        assert_eq!(d.seq, 1);
        assert_eq!(d.expected.unwrap()["commit"], json!(a));
        assert_eq!(d.actual.unwrap()["commit"], json!("b".repeat(40)));
        // The record's own volatile fields, and the kind's, are gone; the
        // rest is kept.
        let v = comparable(&recorded[2]);
        for gone in ["t_ms", "hash", "by", "via", "comment", "commit", "at"] {
            assert!(v.get(gone).is_none(), "{gone}: {v}");
        }
        assert_eq!(v["state"], json!("approved"));
        assert!(comparable(&recorded[1]).get("commit").is_some());
    }

    fn sandboxed(mode: &str, network: bool) -> Event {
        let mut e = started("r", "2024-01-01T00:00:00Z", "abc");
        if let Event::RunStarted { sandbox, .. } = &mut e {
            *sandbox = Some(Box::new(crate::event::SandboxSetting {
                mode: mode.into(),
                network,
                hosts: vec![],
                read: vec![],
                write: vec![],
            }));
        }
        e
    }

    #[test]
    fn a_replay_in_another_sandbox_diverges_at_the_start() {
        let recorded = vec![rec(0, 0, sandboxed("auto", false))];
        let off = vec![rec(0, 0, sandboxed("off", false))];
        let d = compare(&recorded, &off).unwrap();
        assert_eq!(d.seq, 0);
        assert_eq!(
            d.hint,
            "the sandbox differs: the run had auto, this has off"
        );
        let networked = vec![rec(0, 0, sandboxed("auto", true))];
        assert_eq!(
            compare(&recorded, &networked).unwrap().hint,
            "the sandbox differs: the run had auto, this has auto with network"
        );
        assert_eq!(compare(&recorded, &recorded.clone()), None);
    }

    fn connection(host: &str, allowed: bool, bytes: u64) -> Event {
        Event::NetworkConnection {
            host: host.into(),
            port: 443,
            allowed,
            reason: (!allowed).then(|| format!("wf: host {host} is not in sandbox.network")),
            bytes_up: bytes,
            bytes_down: bytes * 10,
        }
    }

    #[test]
    fn connections_compare_by_host_and_decision_not_bytes_or_finishing_order() {
        let mut recorded = course(0, "fn a() {}", true, true);
        recorded.insert(3, rec(3, 0, connection("pypi.org", true, 100)));
        recorded.insert(4, rec(4, 0, connection("evil.com", false, 0)));
        let mut replay = course(0, "fn a() {}", true, true);
        // Finished the other way round, with other byte counts.
        replay.insert(3, rec(3, 0, connection("evil.com", false, 0)));
        replay.insert(4, rec(4, 0, connection("pypi.org", true, 7)));
        assert_eq!(compare(&recorded, &replay), None);
        // Refused now: a divergence, named.
        let mut refused = course(0, "fn a() {}", true, true);
        refused.insert(3, rec(3, 0, connection("pypi.org", false, 0)));
        refused.insert(4, rec(4, 0, connection("evil.com", false, 0)));
        let d = compare(&recorded, &refused).unwrap();
        assert!(
            d.hint.contains("connections through wf's proxy differ"),
            "{}",
            d.hint
        );
        // One connection fewer.
        let mut fewer = course(0, "fn a() {}", true, true);
        fewer.insert(3, rec(3, 0, connection("pypi.org", true, 100)));
        assert!(compare(&recorded, &fewer).is_some());
    }

    #[test]
    fn a_trace_from_before_the_sandbox_still_compares() {
        // Recorded by a wf that did not record the sandbox.
        let recorded = vec![rec(0, 0, started("r", "2024-01-01T00:00:00Z", "abc"))];
        let now = vec![rec(0, 0, sandboxed("auto", false))];
        assert_eq!(compare(&recorded, &now), None);
        // The machine's roots are setup, not the run's course.
        let ready = Event::SandboxReady {
            mode: "auto".into(),
            network: false,
            hosts: vec![],
            read: vec!["/usr".into()],
            write: vec!["$WORKSPACE".into()],
            read_only: vec![],
            level: None,
            env: vec![],
        };
        let mut with_roots = now.clone();
        with_roots.push(rec(1, 1, ready));
        assert_eq!(compare(&now, &with_roots), None);
    }

    #[test]
    fn a_changed_check_verdict_is_found_at_its_event() {
        let recorded = course(0, "fn a() {}", true, true);
        let replay = course(0, "fn a() {}", true, false);
        let d = compare(&recorded, &replay).unwrap();
        assert_eq!(d.seq, 6);
        assert_eq!(d.hint, "check `test` now fails");
        assert_eq!(d.expected.as_ref().unwrap()["passed"], json!(true));
        assert_eq!(d.actual.as_ref().unwrap()["passed"], json!(false));
        assert!(d.expected.as_ref().unwrap().get("t_ms").is_none());
        let back = compare(&replay, &recorded).unwrap();
        assert_eq!(back.hint, "check `test` now passes");
    }

    #[test]
    fn a_changed_command_step_exit_names_the_step() {
        let finished = |code: i32| Event::StepFinished {
            id: "schema".into(),
            exit_code: Some(code),
            output: json!(""),
        };
        let hint = |a: i32, b: i32| {
            compare(&[rec(0, 0, finished(a))], &[rec(0, 0, finished(b))])
                .unwrap()
                .hint
        };
        assert_eq!(hint(0, 1), "command step `schema` now fails (exit 1)");
        assert_eq!(hint(2, 0), "command step `schema` now passes (it exited 2)");
        assert_eq!(
            hint(1, 2),
            "command step `schema` now exits 2 (it exited 1)"
        );
    }

    #[test]
    fn a_changed_tool_result_names_the_call() {
        let recorded = course(0, "fn a() {}", true, true);
        // Also differs later (the check): the first difference is reported.
        let content = compare(&recorded, &course(0, "fn b() {}", true, false)).unwrap();
        assert_eq!(content.seq, 2);
        assert_eq!(
            content.hint,
            "read_file src/a.rs returned different content: the file changed since the run"
        );
        let verdict = compare(&recorded, &course(0, "fn a() {}", false, true)).unwrap();
        assert_eq!(verdict.seq, 4);
        assert_eq!(verdict.hint, "shell cargo test now fails");
    }

    #[test]
    fn a_shorter_or_longer_course_is_a_divergence() {
        let recorded = course(0, "x", true, true);
        let mut short = recorded.clone();
        short.pop();
        let d = compare(&recorded, &short).unwrap();
        assert_eq!(d.seq, 7);
        assert_eq!(d.actual, None);
        assert_eq!(
            d.hint,
            "the replay ended before the recorded run_finished event"
        );
        let d = compare(&short, &recorded).unwrap();
        assert_eq!(d.expected, None);
        assert!(
            d.hint.contains("went on with a run_finished event"),
            "{}",
            d.hint
        );
    }

    #[test]
    fn ignored_kinds_are_left_out() {
        let recorded = course(0, "x", true, true);
        let replay = course(0, "x", true, false);
        assert_eq!(
            compare_ignoring(&recorded, &replay, &["check_result"]),
            None
        );
    }

    #[test]
    fn without_pauses_drops_a_pause_up_to_its_run_finished() {
        let events = vec![
            call("c1", "read_file", json!({"path": "a"})),
            checkpoint(CheckpointState::Reached, None, None),
            checkpoint(CheckpointState::Paused, None, None),
            Event::DiffReady {
                diff_hash: "d".into(),
                files: vec!["a".into()],
            },
            finished(RunStatus::Paused),
            checkpoint(CheckpointState::Approved, Some("alice"), None),
            call("c2", "edit_file", json!({"path": "a"})),
            finished(RunStatus::Succeeded),
        ];
        let records: Vec<Record> = events
            .into_iter()
            .enumerate()
            .map(|(i, e)| rec(i as u64 + 1, 0, e))
            .collect();
        let kept: Vec<u64> = without_pauses(&records).iter().map(|r| r.seq).collect();
        assert_eq!(kept, [1, 2, 6, 7, 8]);
        // A run that never paused is left as it is.
        let plain = course(0, "x", true, true);
        assert_eq!(without_pauses(&plain), plain);
    }

    fn printed(name: &str, passed: bool, tail: &str) -> Event {
        Event::CheckResult {
            round: 0,
            name: name.into(),
            passed,
            exit_code: Some(if passed { 0 } else { 1 }),
            timed_out: false,
            output_hash: crate::hash::sha256_hex(tail.as_bytes()),
            output_tail: tail.into(),
            truncated: false,
            duration_ms: 3,
        }
    }

    fn numbered(events: Vec<Event>) -> Vec<Record> {
        events
            .into_iter()
            .enumerate()
            .map(|(i, e)| rec(i as u64 + 1, 0, e))
            .collect()
    }

    fn request(turn: u32, hash: &str) -> Event {
        Event::ModelRequest {
            turn,
            request_hash: hash.into(),
            tokens_estimate: 100 + hash.len() as u64,
        }
    }

    #[test]
    fn the_differing_span_is_shown_in_context_on_both_sides() {
        assert_eq!(
            differing_span("Ran 3 tests in 0.003s\n\nOK", "Ran 3 tests in 0.008s\n\nOK"),
            r#"…" 3 tests in 0.00[3]s\n\nOK" vs …" 3 tests in 0.00[8]s\n\nOK""#
        );
        assert_eq!(differing_span("same", "same"), "");
        // Only the first of several differences.
        assert_eq!(
            differing_span("now 123 then Ran in 0.003s", "now 456 then Ran in 0.008s"),
            r#""now [123] then Ran in 0.0"… vs "now [456] then Ran in 0.0"…"#
        );
        // Insertions and a difference at the very start.
        assert_eq!(differing_span("ab", "axb"), r#""a[]b" vs "a[x]b""#);
        assert_eq!(differing_span("1 ok", "2 ok"), r#""[1] ok" vs "[2] ok""#);
        // A long middle is cut, with the context after it.
        let long = differing_span(&format!("{}Z", "a".repeat(100)), "Z");
        assert!(long.starts_with(r#""[aaaa"#), "{long}");
        assert!(long.contains("…]Z\" vs \"[]Z\""), "{long}");
    }

    #[test]
    fn output_alone_is_a_note_not_a_divergence() {
        let recorded = numbered(vec![
            call("c1", "shell", json!({"command": "date"})),
            result("c1", "shell", true, "Mon 10:00:01", 3),
            request(2, "r2"),
            printed("unittest", true, "Ran 3 tests in 0.003s\n\nOK"),
            finished(RunStatus::Succeeded),
        ]);
        let replay = numbered(vec![
            call("c1", "shell", json!({"command": "date"})),
            result("c1", "shell", true, "Mon 10:00:07", 3),
            // Carries the shell output: differs as a consequence.
            request(2, "r2-other"),
            printed("unittest", true, "Ran 3 tests in 0.008s\n\nOK"),
            finished(RunStatus::Succeeded),
        ]);
        let c = comparison(&recorded, &replay, &[], false);
        assert_eq!(c.divergence, None);
        let shown: Vec<String> = c.notes.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                r#"shell printed different output: "Mon 10:00:0[1]" vs "Mon 10:00:0[7]""#,
                "request 2 to the model differs: it carries the output above",
                r#"check `unittest` printed different output: …" 3 tests in 0.00[3]s\n\nOK" vs …" 3 tests in 0.00[8]s\n\nOK""#,
            ]
        );
        assert_eq!(c.notes[2].seq, 4);
        assert_eq!(compare(&recorded, &replay), None);
    }

    #[test]
    fn verdicts_exit_statuses_requests_and_file_content_still_diverge() {
        let base = numbered(vec![
            printed("unittest", true, "Ran 3 tests in 0.003s\n\nOK"),
            finished(RunStatus::Succeeded),
        ]);
        // A changed verdict, with changed output too.
        let failing = numbered(vec![
            printed("unittest", false, "Ran 3 tests in 0.008s\n\nFAILED"),
            finished(RunStatus::Succeeded),
        ]);
        let d = compare(&base, &failing).unwrap();
        assert_eq!((d.seq, d.hint.as_str()), (1, "check `unittest` now fails"));
        // Same verdict, another exit status.
        let mut other_exit = base.clone();
        if let Event::CheckResult { exit_code, .. } = &mut other_exit[0].event {
            *exit_code = Some(2);
        }
        assert!(compare(&base, &other_exit).is_some());
        // A request that differs with no output difference before it.
        let a = numbered(vec![request(1, "r1")]);
        let b = numbered(vec![request(1, "r1-other")]);
        assert!(compare(&a, &b).is_some());
        // The same, one event at a time after an output note (a resume).
        let c = comparison(&a, &b, &[], true);
        assert_eq!((c.divergence, c.notes.len()), (None, 1));
        // A shell call that now fails, with the same output.
        let ok = numbered(vec![result("c1", "shell", true, "x", 1)]);
        let ko = numbered(vec![result("c1", "shell", false, "x", 1)]);
        assert!(compare(&ok, &ko).is_some());
        // What a file tool returned is the files' state.
        let read = numbered(vec![result("c1", "read_file", true, "fn a() {}", 1)]);
        let changed = numbered(vec![result("c1", "read_file", true, "fn b() {}", 1)]);
        assert!(compare(&read, &changed).is_some());
    }
}
