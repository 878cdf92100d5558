//! A step's own checkpoints, limits and model.

use super::{Repo, events};
use crate::engine::two_steps;
use crate::providers::server::{Reply, TestServer};
use serde_json::json;

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

#[test]
fn a_recipe_steps_limits_bound_the_whole_recipe() {
    let repo = Repo::new();
    repo.file(
        "recipes/slow.yaml",
        "wf: 1
name: slow
model: { provider: openai, name: m }
steps:
  - id: a
    prompt: First.
  - id: wait
    run: sleep 3
  - id: b
    prompt: Second.
",
    )
    .file("turns.yaml", "turns:\n  - text: a done\n  - text: b done\n")
    .file(
        "timed.yaml",
        "wf: 1
name: timed
model: { provider: script, script: turns.yaml }
steps:
  - id: r
    uses: ./recipes/slow.yaml
    limits: { timeout: 1s }
",
    )
    .file(
        "counted.yaml",
        "wf: 1
name: counted
model: { provider: script, script: turns.yaml }
steps:
  - id: r
    uses: ./recipes/slow.yaml
    limits: { max_turns: 1 }
",
    )
    .commit();
    repo.wf(&["lock"]).code(0);
    let plan = repo.wf(&["plan", "counted.yaml"]);
    assert!(
        plan.stdout.contains("limits for the whole recipe: 1 turns"),
        "{}",
        plan.stdout
    );

    // One deadline for the recipe step: its command step is cut short, and
    // the run ends there (step `b` never starts).
    let started = std::time::Instant::now();
    repo.wf(&["run", "timed.yaml", "--yes"]).code(1);
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    let s = repo.last_summary();
    assert_eq!(s["status"], "timeout");
    assert!(
        s["reason"]
            .as_str()
            .unwrap()
            .contains("step `r` ran out of its 1s"),
        "{s}"
    );
    let trace = repo.last_trace();
    assert!(
        events(&trace, "step_started")
            .iter()
            .all(|e| e["id"] != "r.b")
    );

    // One turn budget for the whole recipe: the second agent step has none.
    repo.wf(&["run", "counted.yaml", "--yes"]).code(1);
    assert_eq!(repo.last_summary()["status"], "turn_limit");
    let trace = repo.last_trace();
    assert_eq!(events(&trace, "model_request").len(), 1);
    let limit = events(&trace, "limit_reached");
    assert!(
        limit[0]["message"]
            .as_str()
            .unwrap()
            .contains("in step `r`"),
        "{}",
        limit[0]
    );
}

#[test]
fn a_run_rejected_at_a_step_checkpoint_replays() {
    let repo = two_steps("    checkpoints: { apply: true }");
    repo.wf(&["run", "task.yaml"]).code(3);
    let reject = repo.wf(&["reject", "last", "--as", "lead@example.com"]);
    reject.code(0);
    assert!(
        reject
            .stderr
            .contains("step checkpoint (after step `first`) rejected"),
        "{}",
        reject.stderr
    );
    let s = repo.last_summary();
    let rejected = s["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["decision"] == "rejected")
        .unwrap()
        .clone();
    assert_eq!(rejected["step"], "first");
    repo.wf(&["replay", "last"]).code(0);
    repo.wf(&["show", "last", "--verify"]).code(0);
}

#[test]
fn a_step_cost_cap_needs_a_price_and_a_capped_run_replays() {
    let repo = Repo::new();
    repo.file(
        "unpriced.yaml",
        "wf: 1
name: unpriced
model: { provider: openai, name: my-local-model }
steps:
  - id: free
    prompt: Anything.
  - id: capped
    prompt: Carefully.
    limits: { max_cost_usd: 0.001 }
",
    )
    .file(
        "priced.yaml",
        "wf: 1
name: priced
model: { provider: anthropic, name: claude-sonnet-4-5 }
steps:
  - id: capped
    prompt: Carefully.
    limits: { max_cost_usd: 0.003 }
  - id: never
    prompt: Not reached.
",
    )
    .commit();
    let refused = repo.wf_env(
        &["run", "unpriced.yaml", "--yes"],
        &[
            (
                "OPENAI_BASE_URL",
                crate::providers::server::dead_url().as_str(),
            ),
            ("OPENAI_API_KEY", "sk-test"),
        ],
    );
    refused.code(2);
    assert!(
        refused
            .stderr
            .contains("max_cost_usd cannot be enforced: no price known for `my-local-model`"),
        "{}",
        refused.stderr
    );
    assert!(repo.runs().is_empty());

    let plan = repo.wf(&["plan", "priced.yaml"]);
    assert!(plan.stdout.contains("cost $0.0030"), "{}", plan.stdout);
    let server = TestServer::start(vec![text_turn("claude-sonnet-4-5", "done")]);
    let run = repo.wf_env(
        &["run", "priced.yaml", "--yes"],
        &[
            ("ANTHROPIC_BASE_URL", &server.url),
            ("ANTHROPIC_API_KEY", "sk-test"),
        ],
    );
    run.code(1);
    let s = repo.last_summary();
    assert_eq!(s["status"], "cost_limit");
    // 1,000 input tokens at $3/M and 100 output tokens at $15/M: $0.0045.
    assert!(
        s["reason"]
            .as_str()
            .unwrap()
            .contains("step `capped` spent $0.0045, over its $0.0030 limit"),
        "{s}"
    );
    repo.wf(&["replay", "last"]).code(0);
}

#[test]
fn a_step_timeout_cuts_a_slow_model_answer_short() {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        "wf: 1
name: slow-model
model: { provider: anthropic, name: claude-sonnet-4-5 }
steps:
  - id: quick
    prompt: Be quick.
    limits: { timeout: 1s }
",
    )
    .commit();
    let server = TestServer::start(vec![
        text_turn("claude-sonnet-4-5", "late").delayed(std::time::Duration::from_secs(5)),
    ]);
    let started = std::time::Instant::now();
    let run = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[
            ("ANTHROPIC_BASE_URL", &server.url),
            ("ANTHROPIC_API_KEY", "sk-test"),
        ],
    );
    run.code(1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "the request outlived the step's time limit"
    );
    let s = repo.last_summary();
    assert_eq!(s["status"], "timeout", "{s}");
    assert_eq!(server.requests().len(), 1, "no retry past the time limit");
}
