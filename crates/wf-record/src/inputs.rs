//! Tool inputs are recorded once. A model's answer carries its tool calls
//! with their inputs, and each call is recorded again as a `tool_call`
//! event: a `write_file` content would be in the trace twice. So in a
//! `model_response` event, every string field longer than
//! [`ELIDE_OVER`] bytes of a tool call's input is replaced by a marker
//! (`{"in_tool_call": true, "bytes": N, "sha256": …}`); the `tool_call`
//! event keeps the input whole. Whoever serves recorded answers again
//! (replay, the catch-up of a resume) puts the inputs back with
//! [`restore`] first.
//!
//! Only a paused run is resumed, and a run pauses only after the calls of
//! its last answer were recorded, so an answer's inputs are always there
//! when they are needed. An answer whose calls never ran (the run ended on
//! a limit right after it) keeps its markers: a replay stops at the same
//! place without running them.

use crate::event::{Event, Record};
use crate::wire::Block;
use serde_json::{Value, json};

/// Longest string field of a tool input kept in a `model_response`.
pub const ELIDE_OVER: usize = 1024;

/// `content` as recorded in a `model_response`: long strings of tool inputs
/// replaced by markers.
pub fn elide(content: &[Block]) -> Vec<Block> {
    content
        .iter()
        .map(|b| match b {
            Block::ToolUse { id, name, input } => Block::ToolUse {
                id: id.clone(),
                name: name.clone(),
                input: elide_input(input),
            },
            other => other.clone(),
        })
        .collect()
}

fn elide_input(input: &Value) -> Value {
    let Value::Object(map) = input else {
        return input.clone();
    };
    Value::Object(
        map.iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) if s.len() > ELIDE_OVER => json!({
                        "in_tool_call": true,
                        "bytes": s.len(),
                        "sha256": crate::hash::sha256_hex(s.as_bytes()),
                    }),
                    other => other.clone(),
                };
                (k.clone(), v)
            })
            .collect(),
    )
}

/// `records` with the tool inputs of every `model_response` whole again,
/// taken from the `tool_call` events that follow it (before the next
/// answer), matched by call id and checked against the markers.
pub fn restore(records: &[Record]) -> Vec<Record> {
    let mut out: Vec<Record> = records.to_vec();
    let mut answer: Option<usize> = None;
    // Blocks of the current answer already restored.
    let mut done: Vec<usize> = Vec::new();
    for i in 0..out.len() {
        match &out[i].event {
            Event::ModelResponse { .. } => {
                answer = Some(i);
                done.clear();
            }
            Event::ToolCall { call_id, input, .. } => {
                let Some(a) = answer else { continue };
                let (call_id, input) = (call_id.clone(), input.clone());
                let Event::ModelResponse { content, .. } = &mut out[a].event else {
                    continue;
                };
                let elided = elide_input(&input);
                let found = content.iter().enumerate().position(|(j, b)| {
                    !done.contains(&j)
                        && matches!(b, Block::ToolUse { id, input: recorded, .. }
                            if *id == call_id && *recorded == elided)
                });
                if let Some(j) = found {
                    if let Block::ToolUse {
                        input: recorded, ..
                    } = &mut content[j]
                    {
                        *recorded = input;
                    }
                    done.push(j);
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{StopReason, Usage};

    fn rec(seq: u64, event: Event) -> Record {
        Record {
            seq,
            t_ms: 0,
            event,
            hash: String::new(),
        }
    }

    #[test]
    fn long_inputs_are_elided_once_and_restored() {
        let big = "x".repeat(ELIDE_OVER + 1);
        let input = json!({"path": "a.txt", "content": big});
        let content = vec![
            Block::Text { text: "hi".into() },
            Block::ToolUse {
                id: "c1".into(),
                name: "write_file".into(),
                input: input.clone(),
            },
        ];
        let elided = elide(&content);
        let Block::ToolUse { input: small, .. } = &elided[1] else {
            panic!()
        };
        assert_eq!(small["path"], "a.txt");
        assert_eq!(small["content"]["bytes"], ELIDE_OVER + 1);
        assert_eq!(elide(&elided), elided, "eliding twice changes nothing");
        let records = vec![
            rec(
                1,
                Event::ModelResponse {
                    turn: 1,
                    content: elided.clone(),
                    stop_reason: StopReason::ToolUse,
                    usage: Usage::default(),
                    cost_usd: None,
                    cache_hit: false,
                },
            ),
            rec(
                2,
                Event::ToolCall {
                    call_id: "c1".into(),
                    tool: "write_file".into(),
                    input: input.clone(),
                },
            ),
        ];
        let restored = restore(&records);
        let Event::ModelResponse { content: back, .. } = &restored[0].event else {
            panic!()
        };
        assert_eq!(*back, content);
        // Without its tool_call, an answer keeps its markers.
        let alone = restore(&records[..1]);
        assert_eq!(alone[0], records[0]);
    }
}
