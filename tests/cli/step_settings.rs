//! A step's own checkpoints, limits and model.

use super::{Repo, events};
use crate::providers::server::{Reply, TestServer};
use serde_json::json;

fn two_steps(first_extra: &str) -> Repo {
    let repo = Repo::new();
    repo.file("README.md", "readme\n")
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: two-steps
model: {{ provider: script, script: task.turns.yaml }}
tools: [write_file]
permissions: {{ write: [\"*.txt\"] }}
steps:
  - id: first
    prompt: Write a.txt.
{first_extra}
  - id: second
    prompt: Write b.txt.
"
            ),
        )
        .file(
            "task.turns.yaml",
            "turns:
  - tool_calls: [{ name: write_file, input: { path: a.txt, content: \"a\\n\" } }]
  - text: first done
  - tool_calls: [{ name: write_file, input: { path: b.txt, content: \"b\\n\" } }]
  - text: second done
",
        )
        .commit();
    repo
}

#[test]
fn a_step_checkpoint_pauses_before_the_next_step_and_resumes() {
    let repo = two_steps("    checkpoints: { apply: true }");
    let plan = repo.wf(&["plan", "task.yaml"]);
    plan.code(0);
    assert!(
        plan.stdout.contains("approve the changes after it"),
        "{}",
        plan.stdout
    );

    let run = repo.wf(&["run", "task.yaml"]);
    run.code(3);
    let trace = repo.last_trace();
    let started: Vec<&str> = events(&trace, "step_started")
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(started, ["first"], "the second step waits for the approval");
    let checkpoint = events(&trace, "checkpoint");
    assert_eq!(checkpoint.last().unwrap()["name"], "step");
    assert_eq!(checkpoint.last().unwrap()["state"], "paused");
    assert!(!repo.exists("a.txt"), "nothing reaches the tree mid-run");

    repo.wf(&["approve", "last", "--as", "lead@example.com"])
        .code(0);
    // On to the final apply checkpoint, which pauses again without --yes.
    repo.wf(&["resume", "last"]).code(3);
    assert!(!repo.exists("a.txt"));
    repo.wf(&["resume", "last", "--yes"]).code(0);
    assert_eq!(repo.read("a.txt"), "a\n");
    assert_eq!(repo.read("b.txt"), "b\n");
    let trace = repo.last_trace();
    let names: Vec<(String, String)> = events(&trace, "checkpoint")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["state"].as_str().unwrap().to_string(),
            )
        })
        .filter(|(_, state)| state != "reached")
        .collect();
    // The trace keeps the whole history: each pause, then its approval.
    let expected: Vec<(String, String)> = [
        ("step", "paused"),
        ("step", "approved"),
        ("apply", "paused"),
        ("apply", "approved"),
    ]
    .iter()
    .map(|(n, s)| (n.to_string(), s.to_string()))
    .collect();
    assert_eq!(names, expected);
    repo.wf(&["show", "last", "--verify"]).code(0);
    repo.wf(&["replay", "last"]).code(0);
}

#[test]
fn rejecting_a_step_checkpoint_ends_the_run_before_the_next_step() {
    let repo = two_steps("    checkpoints: { apply: true }");
    repo.wf(&["run", "task.yaml"]).code(3);
    repo.wf(&["reject", "last", "--comment", "no"]).code(0);
    let s = repo.last_summary();
    assert_eq!(s["status"], "rejected");
    let trace = repo.last_trace();
    assert!(
        events(&trace, "step_started")
            .iter()
            .all(|e| e["id"] != "second")
    );
    assert!(!repo.exists("a.txt"));
}

#[test]
fn step_limits_bound_the_step_within_the_run() {
    let repo = two_steps("    limits: { max_turns: 1 }");
    let run = repo.wf(&["run", "task.yaml", "--yes"]);
    run.code(1);
    let s = repo.last_summary();
    assert_eq!(s["status"], "turn_limit");
    let trace = repo.last_trace();
    let limit = events(&trace, "limit_reached");
    assert!(
        limit[0]["message"]
            .as_str()
            .unwrap()
            .contains("in this step"),
        "{}",
        limit[0]
    );
    assert_eq!(events(&trace, "model_request").len(), 1);
    assert!(!repo.exists("a.txt"));
}

#[test]
fn a_step_repair_limit_overrides_the_runs() {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        "wf: 1
name: strict
model: { provider: script, script: task.turns.yaml }
limits: { max_repairs: 3 }
steps:
  - id: only
    prompt: Do it.
    limits: { max_repairs: 0 }
    checks: [{ name: never, run: \"false\" }]
",
    )
    .file(
        "task.turns.yaml",
        "turns:\n  - text: done\n  - text: done again\n",
    )
    .commit();
    repo.wf(&["run", "task.yaml", "--yes"]).code(1);
    let s = repo.last_summary();
    assert_eq!(s["status"], "checks_failed");
    let trace = repo.last_trace();
    assert!(events(&trace, "repair_requested").is_empty());
    assert_eq!(events(&trace, "model_request").len(), 1);
}

fn sse(events: &[serde_json::Value]) -> String {
    events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
        .collect()
}

fn text_turn(model: &str, text: &str) -> Reply {
    Reply::sse(sse(&[
        json!({"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant", "content": [],
            "model": model, "stop_reason": null,
            "usage": {"input_tokens": 1000, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 100}}),
        json!({"type": "message_stop"}),
    ]))
}

#[test]
fn a_step_model_is_sent_and_priced_as_that_model() {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        "wf: 1
name: two-models
model: { provider: anthropic, name: claude-sonnet-4-5 }
steps:
  - id: survey
    prompt: List the files.
    model: { name: claude-haiku-4-5, max_tokens: 512 }
  - id: review
    prompt: Review them.
",
    )
    .commit();
    let server = TestServer::start(vec![
        text_turn("claude-haiku-4-5", "listed"),
        text_turn("claude-sonnet-4-5", "reviewed"),
    ]);
    let run = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[
            ("ANTHROPIC_BASE_URL", &server.url),
            ("ANTHROPIC_API_KEY", "sk-test"),
        ],
    );
    run.code(0);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].json()["model"], "claude-haiku-4-5");
    assert_eq!(requests[0].json()["max_tokens"], 512);
    assert_eq!(requests[1].json()["model"], "claude-sonnet-4-5");
    assert_eq!(requests[1].json()["max_tokens"], 8192);
    // Haiku: $1/M in, $5/M out; Sonnet: $3/M in, $15/M out.
    let expected = (1000.0 * 1.0 + 100.0 * 5.0 + 1000.0 * 3.0 + 100.0 * 15.0) / 1e6;
    let cost = repo.last_summary()["totals"]["cost_usd"].as_f64().unwrap();
    assert!((cost - expected).abs() < 1e-9, "{cost} vs {expected}");
}

#[test]
fn step_settings_are_refused_on_command_steps() {
    let repo = Repo::new();
    repo.file(
        "bad.yaml",
        "wf: 1
name: bad
model: { provider: openai, name: m }
steps:
  - id: lint
    run: \"true\"
    model: { name: other }
    limits: { timeout: 0s }
",
    );
    let r = repo.wf(&["validate", "bad.yaml"]);
    r.code(2);
    assert!(
        r.stderr
            .contains("`model` applies to agent steps; step `lint` is a command step"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--> bad.yaml:7:5"), "{}", r.stderr);
    assert!(
        r.stderr.contains("a step `limits.timeout` of zero"),
        "{}",
        r.stderr
    );
}
