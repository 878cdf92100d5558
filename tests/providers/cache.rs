//! Prompt caching with `provider: anthropic`: a model of Anthropic's
//! documented cache rules, run over the request bodies the provider really
//! sends to the scripted server during 20-turn tool-using conversations.
//!
//! The model of the rules (docs: "Prompt caching"):
//! * the prompt is the sequence of blocks tools → system → messages;
//! * a breakpoint (`cache_control`) on a block makes the prefix ending at
//!   that block cacheable: the request writes it;
//! * a request reads the longest prefix an earlier request wrote that ends
//!   at one of its breakpoints or at a block boundary at most 20 blocks
//!   before one;
//! * the key of a prefix is its content: `cache_control` markers are not
//!   part of it;
//! * billing: prefix tokens read are cache reads (0.1 × input price), tokens
//!   from there to the last breakpoint are cache writes (1.25 ×), tokens
//!   after the last breakpoint are plain input.
//!
//! Token counts are estimated as characters / 4 of each block's JSON; the
//! TTL (5 minutes, refreshed on every read) never expires in a run whose
//! turns follow each other, and every cached prefix here is far above the
//! minimum cacheable length.

use super::server::{Reply, TestServer};
use super::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use wf::provider::anthropic::{self, AnthropicProvider};
use wf::provider::{Block, ModelRequest, Provider, StopReason, ToolDef};

/// How far before a breakpoint the cache looks for an earlier write.
const LOOKBACK: usize = 20;

/// Tokens of one turn, as Anthropic would bill them.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Billing {
    read: u64,
    write: u64,
    input: u64,
}

impl Billing {
    fn prompt(&self) -> u64 {
        self.read + self.write + self.input
    }

    fn add(&mut self, other: Billing) {
        self.read += other.read;
        self.write += other.write;
        self.input += other.input;
    }

    /// Input billed in input-token equivalents.
    fn billed(&self) -> f64 {
        self.input as f64 + 1.25 * self.write as f64 + 0.1 * self.read as f64
    }
}

/// The cache of one organization: the keys of the prefixes written so far.
#[derive(Default)]
struct CacheModel {
    written: HashSet<[u8; 32]>,
}

/// A request body as blocks: (key material without markers, tokens, marked).
fn blocks(body: &Value) -> Vec<(Vec<u8>, u64, bool)> {
    let mut out = Vec::new();
    let mut push = |tag: Value, mut block: Value| {
        let marked = block
            .as_object_mut()
            .unwrap()
            .remove("cache_control")
            .is_some();
        let text = serde_json::to_vec(&json!([tag, block])).unwrap();
        let tokens = (serde_json::to_string(&block).unwrap().len() as u64).div_ceil(4);
        out.push((text, tokens, marked));
    };
    for tool in body["tools"].as_array().into_iter().flatten() {
        push(json!("tool"), tool.clone());
    }
    for block in body["system"].as_array().into_iter().flatten() {
        push(json!("system"), block.clone());
    }
    for message in body["messages"].as_array().unwrap() {
        for (i, block) in message["content"].as_array().unwrap().iter().enumerate() {
            // Role and message boundaries are part of the prefix.
            push(json!([message["role"], i == 0]), block.clone());
        }
    }
    out
}

impl CacheModel {
    /// Bills one request and records what it writes.
    fn request(&mut self, body: &Value) -> Billing {
        let blocks = blocks(body);
        let mut keys = Vec::with_capacity(blocks.len());
        let mut chain = [0u8; 32];
        for (text, _, _) in &blocks {
            let mut h = Sha256::new();
            h.update(chain);
            h.update(text);
            chain = h.finalize().into();
            keys.push(chain);
        }
        let marks: Vec<usize> = (0..blocks.len()).filter(|&i| blocks[i].2).collect();
        assert!(
            marks.len() <= anthropic::MAX_CACHE_BREAKPOINTS,
            "too many breakpoints"
        );
        let mut hit: Option<usize> = None;
        for &p in &marks {
            let found = (p.saturating_sub(LOOKBACK)..=p)
                .rev()
                .find(|&i| self.written.contains(&keys[i]));
            hit = hit.max(found);
        }
        let tokens = |range: std::ops::Range<usize>| blocks[range].iter().map(|b| b.1).sum::<u64>();
        let read_end = hit.map_or(0, |i| i + 1);
        let write_end = marks.last().map_or(0, |&p| p + 1).max(read_end);
        for &p in &marks {
            self.written.insert(keys[p]);
        }
        Billing {
            read: tokens(0..read_end),
            write: tokens(read_end..write_end),
            input: tokens(write_end..blocks.len()),
        }
    }
}

/// Deterministic filler text of about `chars` characters.
fn filler(label: &str, chars: usize) -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < chars {
        s.push_str(&format!(
            "{label} line {i}: fn item_{i}(x: u32) -> u32 {{ x * {i} + 7 }}\n"
        ));
        i += 1;
    }
    s
}

fn tools() -> Vec<ToolDef> {
    ["read_file", "write_file", "run_tests", "search"]
        .iter()
        .map(|name| ToolDef {
            name: name.to_string(),
            description: format!("{name}: {}", filler("doc", 300)),
            input_schema: json!({"type": "object",
                "properties": {"path": {"type": "string", "description": "Workspace-relative path"},
                               "text": {"type": "string"}},
                "required": ["path"]}),
        })
        .collect()
}

/// The model's answer for one turn: some text and `calls` tool calls
/// (none: the final answer).
fn turn_stream(turn: usize, calls: usize) -> String {
    let mut events = vec![
        json!({"type": "message_start", "message": {"usage": {"input_tokens": 1, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0,
               "delta": {"type": "text_delta", "text": format!("Turn {turn}: {}", filler("plan", 300))}}),
        json!({"type": "content_block_stop", "index": 0}),
    ];
    for c in 0..calls {
        let index = c + 1;
        let input = json!({"path": format!("src/module_{turn}_{c}.rs")}).to_string();
        let (a, b) = input.split_at(7);
        events.push(json!({"type": "content_block_start", "index": index,
            "content_block": {"type": "tool_use", "id": format!("toolu_{turn}_{c}"), "name": "read_file", "input": {}}}));
        for piece in ["", a, b] {
            events.push(json!({"type": "content_block_delta", "index": index,
                "delta": {"type": "input_json_delta", "partial_json": piece}}));
        }
        events.push(json!({"type": "content_block_stop", "index": index}));
    }
    let stop = if calls > 0 { "tool_use" } else { "end_turn" };
    events.push(json!({"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": 100}}));
    events.push(json!({"type": "message_stop"}));
    events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
        .collect()
}

/// Runs a tool-using conversation of `calls_per_turn.len()` turns through
/// the real provider and returns the request bodies it sent.
fn conversation(calls_per_turn: &[usize]) -> Vec<Value> {
    let script = calls_per_turn
        .iter()
        .enumerate()
        .map(|(t, &calls)| Reply::sse(turn_stream(t + 1, calls)))
        .collect();
    let server = TestServer::start(script);
    let mut provider =
        AnthropicProvider::new(fast_config(&server.url, Some("sk-ant-sim"))).unwrap();
    let mut request = ModelRequest {
        model: "claude-sonnet-4-5".into(),
        max_tokens: 8192,
        temperature: None,
        system: filler("rule", 6_000),
        tools: tools(),
        messages: vec![user(vec![
            text(&filler("context", 32_000)),
            text("Task: refactor the parser module and keep the tests green."),
        ])],
    };
    for (t, &calls) in calls_per_turn.iter().enumerate() {
        let response = provider
            .complete(&request, &mut Recorder::default())
            .unwrap();
        let results: Vec<Block> = response
            .content
            .iter()
            .filter_map(|b| match b {
                Block::ToolUse { id, input, .. } => Some(Block::ToolResult {
                    tool_use_id: id.clone(),
                    content: filler(input["path"].as_str().unwrap(), 4_000),
                    is_error: false,
                }),
                _ => None,
            })
            .collect();
        assert_eq!(results.len(), calls, "turn {}", t + 1);
        request.messages.push(assistant(response.content));
        if calls == 0 {
            assert_eq!(response.stop_reason, StopReason::EndTurn);
            break;
        }
        request.messages.push(user(results));
    }
    server.requests().iter().map(|r| r.json()).collect()
}

/// Bills every body in order; returns per-turn figures.
fn bill(bodies: &[Value]) -> Vec<Billing> {
    let mut cache = CacheModel::default();
    bodies.iter().map(|b| cache.request(b)).collect()
}

fn total(turns: &[Billing]) -> Billing {
    let mut t = Billing::default();
    turns.iter().for_each(|b| t.add(*b));
    t
}

fn read_share(b: &Billing) -> f64 {
    b.read as f64 / b.prompt() as f64
}

#[test]
fn cache_model_follows_the_documented_rules() {
    let body = |texts: &[&str], marks: &[usize]| {
        let content: Vec<Value> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut b = json!({"type": "text", "text": t.repeat(40)});
                if marks.contains(&i) {
                    b["cache_control"] = json!({"type": "ephemeral"});
                }
                b
            })
            .collect();
        json!({"messages": [{"role": "user", "content": content}]})
    };
    let mut cache = CacheModel::default();
    // No breakpoint: nothing written or read.
    let b = cache.request(&body(&["a", "b"], &[]));
    assert_eq!((b.read, b.write), (0, 0));
    // A breakpoint writes its prefix; the same prefix is then read, even
    // though the marker moved (markers are not part of the key).
    let first = cache.request(&body(&["a", "b", "c"], &[1]));
    assert_eq!((first.read, first.input > 0), (0, true));
    let second = cache.request(&body(&["a", "b", "c", "d"], &[3]));
    assert_eq!(second.read, first.write);
    // A hit further back than 20 blocks is not found.
    let long: Vec<String> = (0..30).map(|i| format!("x{i}")).collect();
    let long: Vec<&str> = long.iter().map(String::as_str).collect();
    let mut cache = CacheModel::default();
    cache.request(&body(&long[..5], &[4]));
    assert_eq!(cache.request(&body(&long, &[29])).read, 0);
    assert!(cache.request(&body(&long, &[24])).read > 0);
}

#[test]
fn twenty_turn_tool_run_reads_at_least_90_percent_from_cache() {
    let mut calls = vec![1; 19];
    calls.push(0);
    let bodies = conversation(&calls);
    assert_eq!(bodies.len(), 20);
    let turns = bill(&bodies);

    println!("\n20-turn tool run, claude-sonnet-4-5 (tokens estimated as chars/4)");
    println!("turn   prompt    read   write   input  read%");
    for (i, t) in turns.iter().enumerate() {
        println!(
            "{:>4} {:>8} {:>7} {:>7} {:>7} {:>5.1}",
            i + 1,
            t.prompt(),
            t.read,
            t.write,
            t.input,
            100.0 * read_share(t)
        );
    }
    let later = total(&turns[1..]);
    let all = total(&turns);
    println!(
        "turns 2-20: prompt {} tokens, cache reads {} ({:.1}%), writes {}, uncached {}",
        later.prompt(),
        later.read,
        100.0 * read_share(&later),
        later.write,
        later.input
    );
    println!(
        "billed input (input + 1.25 x writes + 0.1 x reads): turns 1-20 {:.0} of {} prompt tokens ({:.1}%), turns 2-20 {:.0} of {} ({:.1}%)",
        all.billed(),
        all.prompt(),
        100.0 * all.billed() / all.prompt() as f64,
        later.billed(),
        later.prompt(),
        100.0 * later.billed() / later.prompt() as f64
    );
    assert!(
        read_share(&later) >= 0.90,
        "read share {:.3}",
        read_share(&later)
    );
    // Every later turn reads everything the previous turn sent.
    for i in 1..turns.len() {
        assert_eq!(turns[i].read, turns[i - 1].prompt(), "turn {}", i + 1);
        assert!(read_share(&turns[i]) >= 0.75, "turn {}", i + 1);
    }
    // At most four markers, on the expected places.
    for body in &bodies {
        let n = body.to_string().matches("\"cache_control\"").count();
        assert!((2..=4).contains(&n), "{n} markers");
        assert_eq!(
            body["system"][0]["cache_control"],
            json!({"type": "ephemeral"})
        );
        assert_eq!(
            body["messages"][0]["content"][0]["cache_control"],
            json!({"type": "ephemeral"})
        );
        let last = body["messages"].as_array().unwrap().last().unwrap();
        assert_eq!(
            last["content"].as_array().unwrap().last().unwrap()["cache_control"],
            json!({"type": "ephemeral"})
        );
    }
}

#[test]
fn wide_turns_still_read_thanks_to_the_previous_end_breakpoint() {
    // Turn 3 makes 12 parallel calls: the next request adds 25 blocks, more
    // than the 20-block lookback from its last breakpoint reaches.
    let calls = [1, 1, 12, 1, 1, 0];
    let bodies = conversation(&calls);
    let turns = bill(&bodies);
    for i in 1..turns.len() {
        assert_eq!(turns[i].read, turns[i - 1].prompt(), "turn {}", i + 1);
    }

    // Without breakpoint 3 the turn after the wide one would only read the
    // system prompt and context.
    let strip_previous_end = |body: &Value| {
        let mut body = body.clone();
        let messages = body["messages"].as_array_mut().unwrap();
        let last = messages.len() - 1;
        for m in messages.iter_mut().take(last).skip(1) {
            for b in m["content"].as_array_mut().unwrap() {
                b.as_object_mut().unwrap().remove("cache_control");
            }
        }
        body
    };
    let stripped: Vec<Value> = bodies.iter().map(strip_previous_end).collect();
    let without = bill(&stripped);
    assert!(
        without[3].read < turns[3].read,
        "{:?} vs {:?}",
        without[3],
        turns[3]
    );
    assert!(without[3].write > turns[3].write);
    assert_eq!(
        without[2].read, turns[2].read,
        "narrow turns are covered by the lookback"
    );
}
