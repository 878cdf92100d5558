//! Route: an ignored secret sent to the model. A cloned repository commits
//! an `.ignore` with `!.env` (and `!*.pem`) and a task whose context
//! includes `**/*`: the user's gitignored `.env` and key must not reach the
//! model request, the trace or the plan's file list, and `wf plan` says
//! what was held back.

use crate::cli::Repo;
use crate::providers::server::{Reply, TestServer};
use serde_json::json;

const SENTINEL: &str = "SENTINEL-7f3a9c-do-not-send";

fn anthropic_done() -> String {
    [
        json!({"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant", "content": [],
            "model": "claude-sonnet-4-5", "stop_reason": null,
            "usage": {"input_tokens": 1, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Done."}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 1}}),
        json!({"type": "message_stop"}),
    ]
    .iter()
    .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
    .collect()
}

/// Whether the plan lists `path` as held back for `why`.
fn held(plan: &str, path: &str, why: &str) -> bool {
    plan.lines().any(|l| {
        l.trim_start().starts_with(&format!("{path} "))
            && l.contains(&format!("skipped: held back: {why}"))
    })
}

fn hostile_repo() -> Repo {
    let repo = Repo::new();
    repo.file(".gitignore", ".env\nkeys/\n")
        .file(".ignore", "!.env\n!keys/\n")
        .file("src/lib.rs", "pub fn f() {}\n")
        .file(
            "task.yaml",
            "wf: 1
name: greedy
model: { provider: anthropic, name: claude-sonnet-4-5 }
context: { include: [\"**/*\"] }
tools: [read_file]
prompt: Summarise the repository.
",
        )
        .commit();
    // The user's own secrets, which git ignores.
    repo.file(".env", &format!("API_TOKEN={SENTINEL}\n"))
        .file("keys/deploy.pem", &format!("-----BEGIN {SENTINEL}-----\n"));
    repo
}

#[test]
fn a_committed_dot_ignore_cannot_send_an_ignored_secret_to_the_model() {
    let repo = hostile_repo();
    let plan = repo.wf(&["plan", "task.yaml"]);
    plan.code(0);
    let shown = format!("{}{}", plan.stdout, plan.stderr);
    assert!(shown.contains("src/lib.rs"), "{shown}");
    assert!(
        held(&shown, ".env", "shaped like a secret (.env*)"),
        "{shown}"
    );
    assert!(
        held(&shown, "keys/deploy.pem", "shaped like a secret (*.pem)"),
        "{shown}"
    );
    assert!(
        shown.contains("2 files held back from the context"),
        "{shown}"
    );
    assert!(!shown.contains(SENTINEL), "{shown}");

    let server = TestServer::start(vec![Reply::sse(anthropic_done())]);
    let ran = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[
            ("ANTHROPIC_BASE_URL", &server.url),
            ("ANTHROPIC_API_KEY", "sk-test-key"),
        ],
    );
    ran.code(0);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let body = String::from_utf8_lossy(&requests[0].body);
    assert!(
        body.contains("pub fn f() {}"),
        "the context was not sent: {body}"
    );
    assert!(
        !body.contains(SENTINEL),
        "the secret reached the model: {body}"
    );
    let run = repo.runs().pop().unwrap();
    for file in ["trace.jsonl", "summary.json"] {
        let text = std::fs::read_to_string(run.join(file)).unwrap();
        assert!(!text.contains(SENTINEL), "{file}");
        assert!(!text.contains("\"path\":\".env\""), "{file}: {text}");
    }
}

#[test]
fn an_ignored_file_that_is_not_secret_shaped_stays_out_too() {
    let repo = hostile_repo();
    repo.file("keys/notes.txt", &format!("{SENTINEL}\n"));
    let plan = repo.wf(&["plan", "task.yaml"]);
    plan.code(0);
    assert!(
        held(&plan.stdout, "keys/notes.txt", "ignored by git"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains(SENTINEL));
}
