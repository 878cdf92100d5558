//! `wf run` with the HTTP providers, end to end: the real binary talks to a
//! local server that speaks each vendor's streaming wire format.

use super::{Repo, events};
use crate::providers::server::{Reply, TestServer};
use serde_json::{Value, json};

const KEY: &str = "sk-test-0123456789-SECRET";

fn repo(provider: &str, model: &str) -> Repo {
    let repo = Repo::new();
    repo.file("config/app.ini", "port = 8080\n")
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: live
model: {{ provider: {provider}, name: {model} }}
context: {{ include: [config/app.ini] }}
tools: [read_file, write_file]
permissions: {{ write: [\"config/**\"] }}
prompt: Write config/app.toml.
checks:
  - {{ name: toml, run: \"test -f config/app.toml\" }}
"
            ),
        )
        .commit();
    repo
}

fn anthropic_sse(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
        .collect()
}

fn anthropic_tool_turn() -> String {
    anthropic_sse(&[
        json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "content": [],
            "model": "claude-sonnet-4-5", "stop_reason": null,
            "usage": {"input_tokens": 900, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "write_file", "input": {}}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"path\": \"config/app.toml\", "}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "\"content\": \"port = 8080\\n\"}"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 40}}),
        json!({"type": "message_stop"}),
    ])
}

fn anthropic_done_turn() -> String {
    anthropic_sse(&[
        json!({"type": "message_start", "message": {"id": "msg_2", "type": "message", "role": "assistant", "content": [],
            "model": "claude-sonnet-4-5", "stop_reason": null,
            "usage": {"input_tokens": 10, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 950}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "ping"}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Done."}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 3}}),
        json!({"type": "message_stop"}),
    ])
}

fn assert_no_secret(repo: &Repo, outputs: &[&str]) {
    for out in outputs {
        assert!(!out.contains(KEY), "the key was printed");
    }
    for run in repo.runs() {
        for file in ["trace.jsonl", "summary.json", "diff.patch"] {
            let text = std::fs::read_to_string(run.join(file)).unwrap_or_default();
            assert!(!text.contains(KEY), "the key is in {file}");
        }
    }
}

#[test]
fn anthropic_multi_turn_run_applies_with_usage_cost_and_no_secret_written() {
    let repo = repo("anthropic", "claude-sonnet-4-5");
    let server = TestServer::start(vec![
        Reply::json(
            429,
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#,
        )
        .header("retry-after-ms", "10"),
        Reply::sse(anthropic_tool_turn()),
        Reply::sse(anthropic_done_turn()),
    ]);
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes", "--json"],
        &[
            ("ANTHROPIC_BASE_URL", &server.url),
            ("ANTHROPIC_API_KEY", KEY),
        ],
    );
    r.code(0);
    assert_eq!(repo.read("config/app.toml"), "port = 8080\n");
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].header("x-api-key"), Some(KEY));
    assert_eq!(requests[1].header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        requests[0].body, requests[1].body,
        "the retried request is the same bytes"
    );
    let second = requests[2].json();
    let last = second["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["content"][0]["type"], "tool_result");
    assert_eq!(last["content"][0]["tool_use_id"], "toolu_1");
    let trace = repo.last_trace();
    assert_eq!(events(&trace, "model_retry").len(), 1);
    let responses = events(&trace, "model_response");
    assert_eq!(responses[0]["usage"]["input_tokens"], 900);
    assert_eq!(responses[1]["usage"]["cache_read_input_tokens"], 950);
    let s = repo.last_summary();
    assert_eq!(s["totals"]["output_tokens"], 43);
    // claude-sonnet-4-5: $3/M input, $15/M output, $0.30/M cache reads.
    let expected = (910.0 * 3.0 + 43.0 * 15.0 + 950.0 * 0.30) / 1e6;
    let cost = s["totals"]["cost_usd"].as_f64().unwrap();
    assert!((cost - expected).abs() < 1e-9, "{cost} vs {expected}");
    assert_no_secret(&repo, &[&r.stdout, &r.stderr]);
}

#[test]
fn openai_compatible_multi_turn_run_with_unknown_usage() {
    let repo = repo("openai", "local-model");
    let chunk = |delta: Value, finish: Option<&str>| {
        json!({"id": "c1", "object": "chat.completion.chunk", "model": "local-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let stream = |chunks: Vec<Value>| -> String {
        chunks
            .iter()
            .map(|c| format!("data: {c}\n\n"))
            .collect::<String>()
            + "data: [DONE]\n\n"
    };
    let tool_turn = stream(vec![
        chunk(
            json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "write_file", "arguments": ""}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"path\":\"config/app.toml\","}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"content\":\"port = 8080\\n\"}"}}]}),
            None,
        ),
        chunk(json!({}), Some("tool_calls")),
    ]);
    let done_turn = stream(vec![
        chunk(json!({"role": "assistant", "content": "Done."}), None),
        chunk(json!({}), Some("stop")),
    ]);
    let server = TestServer::start(vec![Reply::sse(tool_turn), Reply::sse(done_turn)]);
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[("OPENAI_BASE_URL", &server.url)],
    );
    r.code(0);
    assert_eq!(repo.read("config/app.toml"), "port = 8080\n");
    let requests = server.requests();
    assert_eq!(
        requests[0].header("authorization"),
        None,
        "no key, no header"
    );
    let second = requests[1].json();
    let tool_msg = second["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .unwrap()
        .clone();
    assert_eq!(tool_msg["tool_call_id"], "call_1");
    let s = repo.last_summary();
    assert_eq!(
        s["totals"]["input_tokens"],
        Value::Null,
        "usage unknown is not zero"
    );
    assert_eq!(s["totals"]["cost_usd"], Value::Null);
    assert!(
        r.stderr.contains("price unknown for model `local-model`"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_client_error_ends_the_run_with_the_vendors_message_and_request_id() {
    let repo = repo("anthropic", "claude-sonnet-4-5");
    let body = r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too large"},"request_id":"req_abc123"}"#;
    let server = TestServer::start(vec![
        Reply::json(400, body).header("request-id", "req_abc123"),
    ]);
    let before = repo.status();
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[
            ("ANTHROPIC_BASE_URL", &server.url),
            ("ANTHROPIC_API_KEY", KEY),
        ],
    );
    r.code(1);
    assert_eq!(server.requests().len(), 1, "400 is not retried");
    assert_eq!(repo.status(), before);
    let trace = repo.last_trace();
    let err = events(&trace, "model_error")[0];
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("max_tokens: too large"),
        "{err}"
    );
    assert_eq!(err["request_id"], "req_abc123");
    assert_eq!(err["status"], 400);
    assert_eq!(trace.last().unwrap()["kind"], "run_finished");
    assert_eq!(repo.last_summary()["status"], "model_error");
    assert_no_secret(&repo, &[&r.stdout, &r.stderr]);
}

#[test]
fn a_missing_key_is_a_usage_error_and_flags_override_the_task_file() {
    let repo = repo("openai", "gpt-4o");
    // --provider switches to anthropic, whose key is missing: nothing runs.
    let r = repo.wf(&[
        "run",
        "task.yaml",
        "--yes",
        "--provider",
        "anthropic",
        "--model",
        "claude-haiku-4-5",
    ]);
    r.code(2);
    assert!(
        r.stderr
            .contains("set the ANTHROPIC_API_KEY environment variable"),
        "{}",
        r.stderr
    );
    assert!(repo.runs().is_empty(), "a run was created");
    // With the key, the request goes to the overriding provider and model.
    let server = TestServer::start(vec![Reply::sse(anthropic_done_turn())]);
    let r = repo.wf_env(
        &[
            "run",
            "task.yaml",
            "--dry-run",
            "--provider",
            "anthropic",
            "--model",
            "claude-haiku-4-5",
        ],
        &[
            ("ANTHROPIC_BASE_URL", &server.url),
            ("ANTHROPIC_API_KEY", KEY),
        ],
    );
    r.code(1); // the scripted model writes nothing, so the check fails
    let requests = server.requests();
    assert_eq!(requests[0].path, "/v1/messages");
    assert_eq!(requests[0].json()["model"], "claude-haiku-4-5");
}

fn message_start(id: &str) -> Value {
    json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant", "content": [],
        "model": "claude-sonnet-4-5", "stop_reason": null,
        "usage": {"input_tokens": 100, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}})
}

fn text_turn(id: &str, text: &str, stop: &str) -> String {
    anthropic_sse(&[
        message_start(id),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 5}}),
        json!({"type": "message_stop"}),
    ])
}

fn run_anthropic(repo: &Repo, replies: Vec<Reply>) -> (super::Ran, TestServer) {
    let server = TestServer::start(replies);
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[
            ("ANTHROPIC_BASE_URL", &server.url),
            ("ANTHROPIC_API_KEY", KEY),
        ],
    );
    (r, server)
}

#[test]
fn a_refusal_ends_the_run_as_a_model_error() {
    let repo = repo("anthropic", "claude-sonnet-4-5");
    let (r, _server) = run_anthropic(
        &repo,
        vec![Reply::sse(text_turn(
            "m1",
            "I can't help with that.",
            "refusal",
        ))],
    );
    r.code(1);
    let s = repo.last_summary();
    assert_eq!(s["status"], "model_error");
    assert_eq!(s["reason"], "the model refused to continue");
}

#[test]
fn pause_turn_continues_and_max_tokens_mid_tool_call_is_a_tool_error() {
    let repo = repo("anthropic", "claude-sonnet-4-5");
    let cut_tool = anthropic_sse(&[
        message_start("m2"),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_cut", "name": "write_file", "input": {}}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"path\": \"config/app.to"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "max_tokens", "stop_sequence": null}, "usage": {"output_tokens": 8192}}),
        json!({"type": "message_stop"}),
    ]);
    let (r, server) = run_anthropic(
        &repo,
        vec![
            Reply::sse(text_turn("m1", "Thinking about it…", "pause_turn")),
            Reply::sse(cut_tool),
            Reply::sse(anthropic_tool_turn()),
            Reply::sse(anthropic_done_turn()),
        ],
    );
    r.code(0);
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    // After pause_turn the conversation goes back as it is: the last message is the paused answer.
    let second = requests[1].json();
    assert_eq!(
        second["messages"].as_array().unwrap().last().unwrap()["role"],
        "assistant"
    );
    let trace = repo.last_trace();
    let first_result = events(&trace, "tool_result")[0];
    assert_eq!(first_result["ok"], false);
    assert!(
        first_result["output"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{first_result}"
    );
    let third = requests[2].json();
    let sent_back = third["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .to_string();
    assert!(sent_back.contains("max_tokens limit"), "{sent_back}");
    assert_eq!(repo.read("config/app.toml"), "port = 8080\n");
}

#[test]
fn the_cost_limit_is_enforced_from_real_usage() {
    let repo = repo("anthropic", "claude-sonnet-4-5");
    let task = repo.read("task.yaml") + "limits: { max_cost_usd: 0.001 }\n";
    repo.file("task.yaml", &task);
    // 900 input + 40 output tokens at $3/$15 per million = $0.0033 > $0.001.
    let (r, server) = run_anthropic(
        &repo,
        vec![
            Reply::sse(anthropic_tool_turn()),
            Reply::sse(anthropic_done_turn()),
        ],
    );
    r.code(1);
    assert_eq!(server.requests().len(), 1, "no request after the limit");
    let s = repo.last_summary();
    assert_eq!(s["status"], "cost_limit");
    assert!(!repo.exists("config/app.toml"));
}

#[test]
fn steps_pass_outputs_along_and_if_skips() {
    let repo = Repo::new();
    repo.file("config/app.ini", "port = 8080\n")
        .file(
            "task.yaml",
            "wf: 1
name: stepped
inputs: { strict: { type: boolean, default: false } }
model: { provider: anthropic, name: claude-sonnet-4-5 }
tools: [read_file, write_file]
permissions: { write: [\"config/**\"] }
steps:
  - id: survey
    prompt: List the keys of config/app.ini as JSON.
    output_schema:
      type: object
      properties: { keys: { type: array, items: { type: string } } }
      required: [keys]
  - id: count
    run: grep -c = config/app.ini
  - id: migrate
    prompt: \"Write config/app.toml with keys {{ steps.survey.output.keys | join(', ') }} ({{ steps.count.output | trim }} lines, exit {{ steps.count.exit_code }}).\"
    checks:
      - { name: toml, run: \"test -f config/app.toml\" }
  - id: strict_review
    if: inputs.strict
    prompt: Review it.
",
        )
        .commit();
    let server = TestServer::start(vec![
        Reply::sse(text_turn("m1", "The keys are: port", "end_turn")),
        Reply::sse(text_turn(
            "m2",
            "```json\n{\"keys\": [\"port\"]}\n```",
            "end_turn",
        )),
        Reply::sse(anthropic_tool_turn()),
        Reply::sse(anthropic_done_turn()),
    ]);
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[
            ("ANTHROPIC_BASE_URL", &server.url),
            ("ANTHROPIC_API_KEY", KEY),
        ],
    );
    r.code(0);
    assert_eq!(repo.read("config/app.toml"), "port = 8080\n");
    let requests = server.requests();
    assert_eq!(requests.len(), 4, "the skipped step asked the model");
    // The second request is the output-schema repair; the third starts the migrate step.
    let repair = requests[1].json()["messages"].to_string();
    assert!(repair.contains("it is not JSON"), "{repair}");
    let migrate = requests[2].json()["messages"][0].to_string();
    assert!(
        migrate.contains("Write config/app.toml with keys port (1 lines, exit 0)."),
        "{migrate}"
    );
    let trace = repo.last_trace();
    let finished = events(&trace, "step_finished");
    assert_eq!(finished[0]["output"], json!({"keys": ["port"]}));
    assert_eq!(finished[1]["exit_code"], 0);
    assert_eq!(events(&trace, "step_skipped")[0]["id"], "strict_review");
    assert_eq!(
        events(&trace, "repair_requested")[0]["failed"],
        json!(["output_schema"])
    );
    // A recorded multi-step run replays.
    repo.wf(&["replay", "last"]).code(0);
}

#[test]
fn step_rules_are_checked_with_locations() {
    let repo = Repo::new();
    repo.file(
        "bad.yaml",
        "wf: 1
name: bad
model: { provider: openai, name: gpt-4o }
prompt: both
steps:
  - id: a
    run: \"true\"
    tools: [read_file]
  - id: a
    prompt: \"{{ steps.later.output }}\"
  - id: later
    if: \"inputs.x ==\"
    prompt: x
    output_schema: { type: 12 }
",
    );
    let r = repo.wf(&["validate", "bad.yaml"]);
    r.code(2);
    for (msg, at) in [
        (
            "give one of `prompt`, `steps` or `uses`; `prompt` is given too",
            "bad.yaml:5:1",
        ),
        (
            "`tools` applies to agent steps; step `a` is a command step",
            "bad.yaml:8:5",
        ),
        ("duplicate step id `a`", "bad.yaml:9:9"),
        (
            "undeclared template variable `steps.later.output`",
            "bad.yaml:10:",
        ),
        ("`if:` template error", "bad.yaml:12:9"),
        (
            "`output_schema` is not a valid JSON Schema",
            "bad.yaml:14:20",
        ),
    ] {
        assert!(
            r.stderr.contains(&format!("error: {msg}")),
            "missing `{msg}`:\n{}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!("--> {at}")),
            "missing {at} for `{msg}`:\n{}",
            r.stderr
        );
    }
}

#[test]
fn a_denial_is_sent_back_to_the_model_in_the_next_request() {
    let repo = repo("anthropic", "claude-sonnet-4-5");
    let denied_write = anthropic_sse(&[
        message_start("m1"),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_9", "name": "write_file", "input": {}}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"path\": \"src/evil.rs\", \"content\": \"x\"}"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 9}}),
        json!({"type": "message_stop"}),
    ]);
    let (r, server) = run_anthropic(
        &repo,
        vec![
            Reply::sse(denied_write),
            Reply::sse(anthropic_tool_turn()),
            Reply::sse(anthropic_done_turn()),
        ],
    );
    r.code(0);
    assert!(!repo.exists("src/evil.rs"));
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let next = requests[1].json();
    let last = next["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["role"], "user");
    let result = &last["content"][0];
    assert_eq!(result["type"], "tool_result", "{last}");
    assert_eq!(result["tool_use_id"], "toolu_9");
    assert_eq!(result["is_error"], true, "{result}");
    let expected = "write to src/evil.rs denied: not matched by permissions.write (`config/**`)";
    let sent = match &result["content"] {
        Value::String(s) => s.clone(),
        other => other[0]["text"].as_str().unwrap_or_default().to_string(),
    };
    assert_eq!(sent, expected, "{result}");
    let trace = repo.last_trace();
    assert_eq!(events(&trace, "permission_denied")[0]["message"], expected);
}

/// An OpenAI chat completion chunk with `delta` and `finish`.
fn openai_chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

/// An OpenAI event stream of `chunks`, ended with `[DONE]`.
fn openai_stream(chunks: &[Value]) -> String {
    chunks
        .iter()
        .map(|c| format!("data: {c}\n\n"))
        .collect::<String>()
        + "data: [DONE]\n\n"
}

/// A streamed tool turn that writes config/app.toml, without usage.
fn openai_tool_turn() -> String {
    openai_stream(&[
        openai_chunk(
            json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                "function": {"name": "write_file", "arguments": "{\"path\":\"config/app.toml\",\"content\":\"port = 8080\\n\"}"}}]}),
            None,
        ),
        openai_chunk(json!({}), Some("tool_calls")),
    ])
}

/// A streamed closing turn, without usage.
fn openai_done_turn() -> String {
    openai_stream(&[
        openai_chunk(json!({"role": "assistant", "content": "Done."}), None),
        openai_chunk(json!({}), Some("stop")),
    ])
}

#[test]
fn a_cost_cap_prices_answers_without_usage_from_an_upper_bound() {
    let repo = repo("openai", "gpt-4o-mini");
    let task = repo.read("task.yaml") + "limits: { max_cost_usd: 0.000001 }\n";
    repo.file("task.yaml", &task);
    let plan = repo.wf(&["plan", "task.yaml"]);
    assert!(
        plan.stdout.contains(
            "cost $0.000001 (answers without usage count as request bytes/4 in, max_tokens out)"
        ),
        "{}",
        plan.stdout
    );
    // The server sends no usage: the cap is enforced from the estimate,
    // not skipped.
    let server = TestServer::start(vec![
        Reply::sse(openai_tool_turn()),
        Reply::sse(openai_done_turn()),
    ]);
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[("OPENAI_BASE_URL", &server.url), ("OPENAI_API_KEY", KEY)],
    );
    r.code(1);
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "no request after the limit");
    let s = repo.last_summary();
    assert_eq!(s["status"], "cost_limit");
    let trace = repo.last_trace();
    let response = &events(&trace, "model_response")[0];
    let sent = &requests[0];
    assert_eq!(response["usage"]["estimated"], true);
    assert_eq!(
        response["usage"]["input_tokens"],
        sent.body.len().div_ceil(4) as u64
    );
    assert_eq!(
        response["usage"]["output_tokens"],
        sent.json()["max_tokens"]
    );
    assert!(response["cost_usd"].as_f64().unwrap() > 0.000001);
    assert!(!repo.exists("config/app.toml"));

    // Under a cap the run could afford, it goes on, and its cost is known.
    let task = task.replace("0.000001", "5");
    repo.file("task.yaml", &task);
    let server = TestServer::start(vec![
        Reply::sse(openai_tool_turn()),
        Reply::sse(openai_done_turn()),
    ]);
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[("OPENAI_BASE_URL", &server.url), ("OPENAI_API_KEY", KEY)],
    );
    r.code(0);
    let s = repo.last_summary();
    assert!(s["totals"]["cost_usd"].as_f64().unwrap() > 0.0, "{s}");
    assert_eq!(s["totals"]["cost_estimated"], true, "{s}");
    let shown = repo.wf(&["show", "last"]);
    assert!(
        shown.stdout.contains("(an upper-bound estimate"),
        "{}",
        shown.stdout
    );
    for response in events(&repo.last_trace(), "model_response") {
        assert_eq!(response["usage"]["estimated"], true);
    }
}

#[test]
fn a_litellm_shaped_error_mid_stream_is_retried() {
    let repo = repo("openai", "gpt-4o-mini");
    // LiteLLM's proxy reports a failed upstream inside the stream, with the
    // status as a string code.
    let broken = format!(
        "data: {}\n\ndata: {}\n\n",
        openai_chunk(json!({"role": "assistant", "content": "Wri"}), None),
        json!({"error": {"message": "litellm.InternalServerError: upstream connection reset",
            "type": "internal_server_error", "param": null, "code": "500"}})
    );
    let server = TestServer::start(vec![
        Reply::sse(broken),
        Reply::sse(openai_tool_turn()),
        Reply::sse(openai_done_turn()),
    ]);
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[("OPENAI_BASE_URL", &server.url), ("OPENAI_API_KEY", KEY)],
    );
    r.code(0);
    assert_eq!(server.requests().len(), 3);
    let trace = repo.last_trace();
    let retries = events(&trace, "model_retry");
    assert_eq!(retries.len(), 1, "{retries:?}");
    let reason = retries[0].to_string();
    assert!(
        reason.contains(
            "internal_server_error: litellm.InternalServerError: upstream connection reset"
        ),
        "{reason}"
    );
}

#[test]
fn a_one_character_key_leaves_messages_intact() {
    let repo = repo("openai", "local-model");
    let server =
        TestServer::start(vec![Reply::json(
        429,
        r#"{"error":{"message":"rate limit exceeded","type":"rate_limit_error","code":429}}"#,
    )
    .header("x-should-retry", "false")]);
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[("OPENAI_BASE_URL", &server.url), ("OPENAI_API_KEY", "x")],
    );
    r.code(1);
    assert!(
        r.stderr
            .contains("openai http 429: rate_limit_error: rate limit exceeded"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("<redacted>"), "{}", r.stderr);
}

#[test]
fn a_404_names_the_url_and_the_base_url_rule() {
    // A FastAPI server answers an unknown path with `{"detail": "Not Found"}`.
    let openai = repo("openai", "local-model");
    let server = TestServer::start(vec![Reply::json(404, r#"{"detail":"Not Found"}"#)]);
    let r = openai.wf_env(
        &["run", "task.yaml", "--yes"],
        &[("OPENAI_BASE_URL", &server.url)],
    );
    r.code(1);
    let url = format!("{}/chat/completions", server.url);
    assert!(
        r.stderr.contains(&format!(
            "openai http 404: Not Found (POST {url}: if that is not the API's address, OPENAI_BASE_URL must be the API root including /v1"
        )),
        "{}",
        r.stderr
    );
    // Anthropic's rule is the opposite: no /v1 in the base URL.
    let anthropic = repo("anthropic", "claude-sonnet-4-5");
    let (r, server) = run_anthropic(
        &anthropic,
        vec![Reply::json(405, "Method Not Allowed").header("content-type", "text/plain")],
    );
    r.code(1);
    assert!(
        r.stderr.contains(&format!(
            "anthropic http 405: Method Not Allowed (POST {}/v1/messages: if that is not the API's address, ANTHROPIC_BASE_URL must be the API root without /v1",
            server.url
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn detail_and_message_error_bodies_are_read_by_both_providers() {
    let cases: [(&str, &str, &str); 4] = [
        (
            "anthropic",
            r#"{"detail":[{"loc":["body","max_tokens"],"msg":"field required","type":"missing"}]}"#,
            "anthropic http 422: body.max_tokens: field required",
        ),
        (
            "anthropic",
            r#"{"message":"model not loaded"}"#,
            "anthropic http 422: model not loaded",
        ),
        (
            "openai",
            r#"{"object":"error","message":"max_tokens is too large","type":"BadRequestError","code":400}"#,
            "openai http 422: BadRequestError: max_tokens is too large",
        ),
        (
            "openai",
            r#"{"detail":"Invalid model name passed in model=nope"}"#,
            "openai http 422: Invalid model name passed in model=nope",
        ),
    ];
    for (provider, body, expected) in cases {
        let repo = repo(provider, "claude-sonnet-4-5");
        let server = TestServer::start(vec![Reply::json(422, body)]);
        let r = repo.wf_env(
            &["run", "task.yaml", "--yes"],
            &[
                ("ANTHROPIC_BASE_URL", &server.url),
                ("ANTHROPIC_API_KEY", KEY),
                ("OPENAI_BASE_URL", &server.url),
            ],
        );
        r.code(1);
        assert!(r.stderr.contains(expected), "{provider}: {}", r.stderr);
    }
}

#[test]
fn a_missing_openai_key_at_openais_own_api_is_caught_before_the_run() {
    let repo = repo("openai", "gpt-4o");
    for base in ["", "https://api.openai.com/v1"] {
        let r = repo.wf_env(&["run", "task.yaml", "--yes"], &[("OPENAI_BASE_URL", base)]);
        r.code(2);
        assert!(
            r.stderr.contains(
                "openai api key is not set and https://api.openai.com/v1 needs one: set the OPENAI_API_KEY environment variable, or OPENAI_BASE_URL to a server that needs no key"
            ),
            "{}",
            r.stderr
        );
        assert!(repo.runs().is_empty(), "a run was created");
    }
}
