//! Clearing old results of the read tools, in batches, so that a long run
//! does not carry every file it ever read in every request.
//!
//! The results of `read_file`, `list_files` and `search` older than
//! `clear_after_turns` turns (8 in a new run: [`crate::record::event::ConversationPolicy`]) are replaced by a one-line note in the
//! conversation — all of them at once, and only once they add up to at
//! least `clear_at_least_bytes` (48 KiB in a new run). Read tools can be called again at no
//! cost but a turn, so nothing is lost that the model cannot get back;
//! `edit_file`, `write_file` and `shell` results are kept (short, or not
//! safe to repeat).
//!
//! Why in batches: the provider's prompt cache (Anthropic's, see
//! [`crate::provider::anthropic`]) is a cache of prefixes, so changing an
//! old message makes the next request write everything after the context
//! to the cache again (1.25 × its size) instead of reading it (0.1 ×).
//! Clearing a little on every turn would pay that on every turn; clearing
//! at least that many bytes at a time pays it once per batch, and
//! every later turn reads that much less. A run whose read results never
//! add up to that much (short runs) is never touched, and its prompt only
//! grows, as before.
//!
//! The trace records every result as the model first got it; the clearing
//! is in the later requests (and so in their `request_hash`). It depends
//! only on the conversation and the turn numbers, so replay and resume,
//! which re-execute the same calls, clear the same results on the same
//! turns. A cleared read is also forgotten by [`super::reread::Reads`]: a
//! re-read of it is sent in full, never as "unchanged since" a result the
//! model no longer has.

use super::super::prompt::Conversation;
use crate::provider::Block;
#[cfg(test)]
use crate::record::event::ConversationPolicy;

/// Results of the last this many turns are always kept whole, in a new run
/// (replay and resume use the recorded run's [`ConversationPolicy`]).
#[cfg(test)]
const KEEP_TURNS: u32 = ConversationPolicy::CURRENT.clear_after_turns;
/// Old results are cleared only once they add up to this many bytes, in a
/// new run.
#[cfg(test)]
const CLEAR_AT_LEAST: usize = ConversationPolicy::CURRENT.clear_at_least_bytes as usize;

/// Results shorter than this are kept: clearing them would save next to
/// nothing.
pub(super) const KEEP_SHORTER_THAN: usize = 256;

/// A read tool's result still whole in the conversation.
#[derive(Debug, Clone)]
struct Whole {
    message: usize,
    block: usize,
    turn: u32,
    bytes: usize,
}

/// The read results of one conversation that could still be cleared.
#[derive(Debug, Default)]
pub(super) struct Clearable {
    whole: Vec<Whole>,
}

impl Clearable {
    /// Notes the results of `tools` (the tool of each block of the last
    /// message of `conversation`, in order), answered on `turn`.
    pub(super) fn add(&mut self, conversation: &Conversation, tools: &[&str], turn: u32) {
        let messages = &conversation.request.messages;
        let message = messages.len() - 1;
        for (block, (content, tool)) in messages[message].content.iter().zip(tools).enumerate() {
            if let Block::ToolResult {
                content,
                is_error: false,
                ..
            } = content
                && matches!(*tool, "read_file" | "list_files" | "search")
                && content.len() >= KEEP_SHORTER_THAN
            {
                self.whole.push(Whole {
                    message,
                    block,
                    turn,
                    bytes: content.len(),
                });
            }
        }
    }

    /// On `turn`, clears the results older than `keep_turns` turns if they
    /// add up to `at_least` bytes; the last turn cleared.
    pub(super) fn clear(
        &mut self,
        conversation: &mut Conversation,
        turn: u32,
        keep_turns: u32,
        at_least: u64,
    ) -> Option<u32> {
        let old = self.whole.partition_point(|w| w.turn + keep_turns <= turn);
        let bytes: usize = self.whole[..old].iter().map(|w| w.bytes).sum();
        if (bytes as u64) < at_least {
            return None;
        }
        let mut messages = std::mem::take(&mut conversation.request.messages);
        let mut last = 0;
        for w in self.whole.drain(..old) {
            if let Block::ToolResult { content, .. } = &mut messages[w.message].content[w.block] {
                *content = NOTE.to_string();
            }
            last = w.turn;
        }
        // The hash is kept up to date message by message: start it again.
        *conversation = Conversation::new(conversation.request.clone());
        for message in messages {
            conversation.push(message);
        }
        Some(last)
    }
}

/// What a cleared result says instead.
pub(super) const NOTE: &str = "[old result cleared; call again to see it]";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Message, ModelRequest, Role};

    fn conversation() -> Conversation {
        let mut c = Conversation::new(ModelRequest {
            model: "m".into(),
            max_tokens: 10,
            temperature: None,
            system: "rules".into(),
            tools: Vec::new(),
            messages: Vec::new(),
        });
        c.push(Message {
            role: Role::User,
            content: vec![Block::Text {
                text: "the task".into(),
            }],
        });
        c
    }

    /// Turn `turn`: the model calls `tools`, each answered with `size`
    /// bytes.
    fn turn(
        c: &mut Conversation,
        clearable: &mut Clearable,
        turn: u32,
        tools: &[&str],
        size: usize,
    ) {
        let id = |i: usize| format!("call_{turn}_{i}");
        c.push(Message {
            role: Role::Assistant,
            content: (0..tools.len())
                .map(|i| Block::ToolUse {
                    id: id(i),
                    name: tools[i].into(),
                    input: serde_json::json!({}),
                })
                .collect(),
        });
        c.push(Message {
            role: Role::User,
            content: (0..tools.len())
                .map(|i| Block::ToolResult {
                    tool_use_id: id(i),
                    content: "x".repeat(size),
                    is_error: false,
                })
                .collect(),
        });
        clearable.add(c, tools, turn);
    }

    fn results(c: &Conversation) -> Vec<usize> {
        c.request
            .messages
            .iter()
            .flat_map(|m| &m.content)
            .filter_map(|b| match b {
                Block::ToolResult { content, .. } if content == NOTE => Some(0),
                Block::ToolResult { content, .. } => Some(content.len()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_run_whose_old_results_stay_small_is_never_touched() {
        let (mut c, mut clearable) = (conversation(), Clearable::default());
        let size = CLEAR_AT_LEAST / 40;
        for t in 1..=40 {
            turn(&mut c, &mut clearable, t, &["read_file"], size);
            assert_eq!(
                clearable.clear(&mut c, t, KEEP_TURNS, CLEAR_AT_LEAST as u64),
                None,
                "turn {t}"
            );
        }
        assert!(results(&c).iter().all(|&n| n == size));
    }

    #[test]
    fn old_read_results_are_cleared_at_once_and_recent_or_other_ones_kept() {
        let (mut c, mut clearable) = (conversation(), Clearable::default());
        let size = CLEAR_AT_LEAST / 3;
        turn(&mut c, &mut clearable, 1, &["read_file", "search"], size);
        turn(&mut c, &mut clearable, 2, &["edit_file", "shell"], size);
        turn(&mut c, &mut clearable, 3, &["list_files", "read_file"], 100);
        let mut cleared = None;
        for t in 4..=KEEP_TURNS + 5 {
            turn(&mut c, &mut clearable, t, &["read_file"], size);
            cleared = cleared.or(clearable.clear(&mut c, t, KEEP_TURNS, CLEAR_AT_LEAST as u64));
        }
        // Turn 1's results (two thirds of the threshold) were not enough;
        // with turn 4's they are, and both go in one batch.
        assert_eq!(cleared, Some(4));
        let r = results(&c);
        assert_eq!(r[..2], [0, 0], "turn 1 cleared");
        assert_eq!(r[2..4], [size, size], "edit_file and shell kept");
        assert_eq!(r[4..6], [100, 100], "short results kept");
        assert_eq!(r[6], 0, "turn 4 cleared");
        assert!(r[7..].iter().all(|&n| n == size), "recent turns kept");
        // The request's hash is the hash of what it now holds.
        assert_eq!(c.hash(), c.request.hash());
        assert_eq!(
            c.bytes,
            serde_json::to_vec(&c.request).unwrap().len() as u64
        );
    }
}
