//! Re-reads: a `read_file` of a file unchanged since the model last got it
//! in full is answered with the "unchanged since turn N" note; a changed
//! file is sent in full. Replay reproduces the notes.

use super::{Repo, events};
use crate::providers::server::{Reply, TestServer};
use serde_json::{Value, json};

const NOTES: &str = "# Notes\n\nThe first version of a file long enough to be worth a note.\n";
const OTHER: &str = "fn other() -> u32 {\n    // a second file, read once\n    7\n}\n";

fn repo(model: &str, turns: &str) -> Repo {
    let repo = Repo::new();
    repo.file("docs/notes.md", NOTES)
        .file("src/other.rs", OTHER)
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: rereads
model: {model}
tools: [read_file, edit_file]
permissions: {{ write: [\"docs/**\"] }}
prompt: Edit the notes.
"
            ),
        )
        .file("turns.yaml", turns)
        .commit();
    repo
}

const TURNS: &str = "turns:
  - tool_calls: [{ name: read_file, input: { path: docs/notes.md } }]
  - tool_calls:
      - { name: read_file, input: { path: docs/notes.md } }
      - { name: read_file, input: { path: src/other.rs } }
  - tool_calls: [{ name: edit_file, input: { path: docs/notes.md, old: first, new: second } }]
  - tool_calls: [{ name: read_file, input: { path: ./docs/notes.md } }]
  - tool_calls:
      - { name: read_file, input: { path: docs/notes.md } }
      - { name: read_file, input: { path: docs/notes.md, offset: 3 } }
  - text: Done.
";

fn read_results(trace: &[Value]) -> Vec<String> {
    events(trace, "tool_result")
        .into_iter()
        .filter(|e| e["tool"] == "read_file")
        .map(|e| {
            assert_eq!(e["ok"], true, "{e}");
            e["output"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn an_unchanged_re_read_gets_the_note_and_a_changed_file_its_content() {
    let repo = repo("{ provider: script, script: turns.yaml }", TURNS);
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    let edited = NOTES.replace("first", "second");
    let trace = repo.last_trace();
    assert_eq!(
        read_results(&trace),
        [
            // Turn 1: the first read is full.
            NOTES.to_string(),
            // Turn 2: unchanged since turn 1; another file is its own read.
            "[unchanged since turn 1: the same as that read returned]".into(),
            OTHER.into(),
            // Turn 4, after the edit of turn 3: the new content, in full.
            edited.clone(),
            // Turn 5: unchanged since turn 4; another window is its own read.
            "[unchanged since turn 4: the same as that read returned]".into(),
            "The second version of a file long enough to be worth a note.\n[lines 3-3 of 3]".into(),
        ]
    );
    assert_eq!(repo.read("docs/notes.md"), edited);

    // Replay re-runs the calls and rebuilds the same memory: the same notes.
    let r = repo.wf(&["replay", "last"]);
    r.code(0);
    assert!(r.stdout.contains("reproduced"), "{}", r.stdout);
}

fn sse(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
        .collect()
}

/// An Anthropic stream: one `read_file` of `path`, or, without a path, the
/// final answer.
fn turn(n: usize, path: Option<&str>) -> Reply {
    let start = json!({"type": "message_start", "message": {"id": format!("msg_{n}"), "type": "message",
        "role": "assistant", "content": [], "model": "claude-sonnet-4-5", "stop_reason": null,
        "usage": {"input_tokens": 100, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}});
    let (block, delta, stop) = match path {
        Some(path) => (
            json!({"type": "tool_use", "id": format!("toolu_{n}"), "name": "read_file", "input": {}}),
            json!({"type": "input_json_delta", "partial_json": json!({"path": path}).to_string()}),
            "tool_use",
        ),
        None => (
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": "Done."}),
            "end_turn",
        ),
    };
    Reply::sse(sse(&[
        start,
        json!({"type": "content_block_start", "index": 0, "content_block": block}),
        json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 9}}),
        json!({"type": "message_stop"}),
    ]))
}

/// The content of the last tool result of a request body.
fn last_tool_result(body: &Value) -> String {
    let messages = body["messages"].as_array().unwrap();
    let last = messages.last().unwrap();
    assert_eq!(last["role"], "user");
    let block = last["content"].as_array().unwrap().last().unwrap();
    assert_eq!(block["type"], "tool_result", "{block}");
    block["content"].as_str().unwrap().to_string()
}

#[test]
fn the_next_request_carries_the_note_as_the_trace_records_it() {
    let server = TestServer::start(vec![
        turn(1, Some("docs/notes.md")),
        turn(2, Some("docs/notes.md")),
        turn(3, None),
    ]);
    let repo = repo("{ provider: anthropic, name: claude-sonnet-4-5 }", "");
    repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[
            ("ANTHROPIC_API_KEY", "sk-test"),
            ("ANTHROPIC_BASE_URL", &server.url),
        ],
    )
    .code(0);
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let note = "[unchanged since turn 1: the same as that read returned]";
    assert_eq!(last_tool_result(&requests[1].json()), NOTES);
    assert_eq!(last_tool_result(&requests[2].json()), note);
    // The full text stays where it was first sent: the prompt only grows.
    let third = requests[2].json().to_string();
    assert_eq!(third.matches("worth a note").count(), 1);
    assert_eq!(read_results(&repo.last_trace()), [NOTES, note]);
}

#[test]
fn a_resumed_run_rebuilds_the_memory_from_the_calls_it_catches_up_with() {
    // Paused at the plan checkpoint after a read; the read after the
    // approval is a re-read of an unchanged file, by the same conversation.
    let repo = repo(
        "{ provider: script, script: turns.yaml }\ncheckpoints: { plan: true }",
        "turns:
  - tool_calls: [{ name: read_file, input: { path: docs/notes.md } }]
  - text: Plan - edit the notes.
  - tool_calls: [{ name: read_file, input: { path: docs/notes.md } }]
  - text: Done.
",
    );
    repo.wf(&["run", "task.yaml"]).code(3);
    repo.wf(&["approve", "last"]).code(0);
    repo.wf(&["resume", "last"]).code(0);
    let note = "[unchanged since turn 1: the same as that read returned]";
    assert_eq!(read_results(&repo.last_trace()), [NOTES, note]);
    let r = repo.wf(&["replay", "last"]);
    r.code(0);
    assert!(r.stdout.contains("reproduced"), "{}", r.stdout);
}

#[test]
fn a_re_read_after_old_results_were_cleared_is_full_and_replay_reproduces_the_clearing() {
    // Three 26 KB files read on turns 1-3 are over the 48 KB a batch needs;
    // eight turns later they are cleared from the conversation, and a
    // re-read of the first one is sent in full again.
    let big = |name: &str| format!("// {name}\n{}", "let value = 1; // padding\n".repeat(1_000));
    let mut turns = String::from("turns:\n");
    for name in ["a", "b", "c"] {
        turns.push_str(&format!(
            "  - tool_calls: [{{ name: read_file, input: {{ path: src/{name}.rs }} }}]\n"
        ));
    }
    for _ in 0..8 {
        turns.push_str("  - tool_calls: [{ name: list_files, input: { path: docs } }]\n");
    }
    turns.push_str("  - tool_calls: [{ name: read_file, input: { path: src/b.rs } }]\n");
    turns.push_str("  - tool_calls: [{ name: read_file, input: { path: src/b.rs } }]\n");
    turns.push_str("  - text: Done.\n");
    let repo = repo("{ provider: script, script: turns.yaml }", &turns);
    for name in ["a", "b", "c"] {
        repo.file(&format!("src/{name}.rs"), &big(name));
    }
    repo.commit();
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    let reads = read_results(&repo.last_trace());
    assert_eq!(reads.len(), 5);
    // The trace keeps every result as the model first got it.
    assert!(reads[1] == big("b"), "{:.80}", reads[1]);
    // Turn 12: b's turn-2 result was cleared, so it is sent in full; turn
    // 13: unchanged since turn 12.
    assert!(reads[3] == big("b"), "{:.80}", reads[3]);
    assert_eq!(
        reads[4],
        "[unchanged since turn 12: the same as that read returned]"
    );
    let r = repo.wf(&["replay", "last"]);
    r.code(0);
    assert!(r.stdout.contains("reproduced"), "{}", r.stdout);
}
