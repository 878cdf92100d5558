//! The agent's memory of what `read_file` already gave the model, behind
//! the "unchanged since turn N" note.
//!
//! A long run re-reads the files it works on; resending an unchanged file
//! in full makes every later request carry it twice. So, per conversation
//! (one agent step), wf remembers for each read — its path and window
//! (`offset`, `limit`) — the SHA-256 of the text the model was last sent in
//! full and the turn that asked for it. A read whose text comes out the
//! same again is answered with a one-line note instead:
//! `[unchanged since turn N: the same as that read returned]`.
//!
//! - The first read of a path and window is always sent in full, and so is
//!   a read whose text differs from the last one sent in full: whatever
//!   changed the file (the model's `edit_file` or `write_file`, a `shell`
//!   command), the new text is sent. The comparison is on the text the
//!   model would get, so a file changed and changed back before the model
//!   read it again counts as unchanged: what it was sent then is what it
//!   would be sent now.
//! - A different window is a read of its own; two spellings of a window
//!   that read the same lines (no `offset` and `offset: 1`) are one.
//! - Failed reads are never remembered, and a text no longer than the note
//!   is sent as it is.
//! - The memory lives in the engine, not in the tool: `read_file` stays a
//!   pure function of the workspace. It lasts as long as the conversation
//!   it describes: a new agent step starts empty; the plan checkpoint and
//!   repair rounds continue the conversation and keep it.
//! - Replay and resume re-execute the recorded tool calls in order against
//!   the same starting state, so they rebuild the same memory and send the
//!   same notes; the trace's `tool_result` carries the note, as the model
//!   got it.

use crate::tools::ToolOutcome;
use crate::tools::read_file::READ_MAX_LINES;
use serde_json::Value;
use std::collections::BTreeMap;

/// A read: the path, lexically normalized, and its window in lines.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Window {
    path: String,
    offset: u64,
    limit: u64,
}

impl Window {
    /// The window a `read_file` input asks for, with `read_file`'s own
    /// defaults; `None` when the input is not one `read_file` accepts.
    fn of(input: &Value) -> Option<Window> {
        let args = input.as_object()?;
        let number = |name: &str| match args.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(v) => v.as_u64().map(Some),
        };
        let path = args.get("path")?.as_str()?;
        let path: Vec<&str> = path
            .split('/')
            .filter(|part| !part.is_empty() && *part != ".")
            .collect();
        Some(Window {
            path: path.join("/"),
            offset: number("offset")?.unwrap_or(1).max(1),
            limit: number("limit")?
                .unwrap_or(READ_MAX_LINES as u64)
                .clamp(1, READ_MAX_LINES as u64),
        })
    }
}

/// What the model was last sent in full for a window.
#[derive(Debug, Clone)]
struct Sent {
    sha256: String,
    turn: u32,
}

/// The reads of one conversation.
#[derive(Debug, Default)]
pub(super) struct Reads {
    sent: BTreeMap<Window, Sent>,
}

impl Reads {
    /// The outcome of `read_file` with `input`, called on `turn`, as the
    /// model gets it: `outcome` itself, or the note when the model was
    /// already sent that same text for that window.
    pub(super) fn answer(&mut self, input: &Value, outcome: ToolOutcome, turn: u32) -> ToolOutcome {
        if outcome.is_error {
            return outcome;
        }
        let Some(window) = Window::of(input) else {
            return outcome;
        };
        let sha256 = crate::hash::sha256_hex(outcome.content.as_bytes());
        if let Some(sent) = self.sent.get(&window)
            && sent.sha256 == sha256
        {
            let note = note(sent.turn);
            if note.len() < outcome.content.len() {
                return ToolOutcome {
                    content: note,
                    truncated: false,
                    ..outcome
                };
            }
        }
        self.sent.insert(window, Sent { sha256, turn });
        outcome
    }
}

impl Reads {
    /// Forgets the reads sent in full on `turn` or before: their results
    /// were cleared from the conversation ([`super::clear`]).
    pub(super) fn forget_through(&mut self, turn: u32) {
        self.sent.retain(|_, sent| sent.turn > turn);
    }
}

/// The note sent instead of a text the model already has from `turn`.
pub(super) fn note(turn: u32) -> String {
    format!("[unchanged since turn {turn}: the same as that read returned]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(text: &str) -> ToolOutcome {
        ToolOutcome::ok(text.to_string(), false)
    }

    const LONG: &str = "fn main() {\n    println!(\"a file longer than the note\");\n}\n";
    const EDITED: &str = "fn main() {\n    println!(\"the same file after an edit\");\n}\n";

    #[test]
    fn the_first_read_is_full_and_an_unchanged_re_read_is_the_note() {
        let mut reads = Reads::default();
        let input = json!({"path": "src/main.rs"});
        assert_eq!(reads.answer(&input, ok(LONG), 3).content, LONG);
        let again = reads.answer(&input, ok(LONG), 7);
        assert_eq!(
            again.content,
            "[unchanged since turn 3: the same as that read returned]"
        );
        assert!(!again.is_error);
        // The note names the turn of the read sent in full, not the last one.
        assert_eq!(reads.answer(&input, ok(LONG), 9).content, note(3));
    }

    #[test]
    fn a_changed_file_is_sent_in_full_and_becomes_the_reference() {
        let mut reads = Reads::default();
        let input = json!({"path": "src/main.rs"});
        reads.answer(&input, ok(LONG), 1);
        assert_eq!(reads.answer(&input, ok(EDITED), 4).content, EDITED);
        assert_eq!(reads.answer(&input, ok(EDITED), 6).content, note(4));
        // Changed back: the text differs from the last one sent in full.
        assert_eq!(reads.answer(&input, ok(LONG), 8).content, LONG);
    }

    #[test]
    fn each_window_is_a_read_of_its_own() {
        let mut reads = Reads::default();
        reads.answer(&json!({"path": "a.rs"}), ok(LONG), 1);
        let window = json!({"path": "a.rs", "offset": 2, "limit": 1});
        assert_eq!(reads.answer(&window, ok(LONG), 2).content, LONG);
        assert_eq!(reads.answer(&window, ok(LONG), 3).content, note(2));
        // Another path with the same text is another file.
        assert_eq!(
            reads.answer(&json!({"path": "b.rs"}), ok(LONG), 4).content,
            LONG
        );
    }

    #[test]
    fn spellings_of_the_same_read_are_one() {
        let mut reads = Reads::default();
        reads.answer(&json!({"path": "./src//a.rs"}), ok(LONG), 1);
        for same in [
            json!({"path": "src/a.rs", "offset": 1}),
            json!({"path": "src/a.rs", "offset": 0, "limit": null}),
            json!({"path": "src/a.rs", "limit": READ_MAX_LINES + 10}),
        ] {
            assert_eq!(reads.answer(&same, ok(LONG), 2).content, note(1), "{same}");
        }
    }

    #[test]
    fn a_read_whose_result_was_cleared_is_sent_in_full_again() {
        let mut reads = Reads::default();
        let (a, b) = (json!({"path": "a.rs"}), json!({"path": "b.rs"}));
        reads.answer(&a, ok(LONG), 2);
        reads.answer(&b, ok(LONG), 5);
        reads.forget_through(4);
        assert_eq!(reads.answer(&a, ok(LONG), 9).content, LONG);
        assert_eq!(reads.answer(&b, ok(LONG), 9).content, note(5));
    }

    #[test]
    fn errors_short_texts_and_odd_inputs_are_sent_as_they_are() {
        let mut reads = Reads::default();
        let input = json!({"path": "a.rs"});
        let failed = ToolOutcome::error("read_file: a.rs does not exist");
        reads.answer(&input, failed.clone(), 1);
        assert_eq!(reads.answer(&input, failed.clone(), 2), failed);
        // Shorter than the note: resending costs less than the note.
        reads.answer(&input, ok("x\n"), 3);
        assert_eq!(reads.answer(&input, ok("x\n"), 4).content, "x\n");
        let odd = json!({"path": "a.rs", "offset": "two"});
        reads.answer(&odd, ok(LONG), 5);
        assert_eq!(reads.answer(&odd, ok(LONG), 6).content, LONG);
    }
}
