//! Every figure `wf run` prints is the one it means (issue 27): the bytes a
//! write wrote, money with the digits a small cap needs, one line per fatal
//! model error, an answer cut off at `max_tokens`, a gateway's error of
//! several lines kept inside its entry, and an API key that is an ordinary
//! word left alone in unrelated text. The real binary against a local
//! server that speaks OpenAI's streaming format.

use super::{Repo, events};
use crate::providers::server::{Reply, TestServer};
use serde_json::{Value, json};

fn repo(model: &str, extra: &str) -> Repo {
    let repo = Repo::new();
    repo.file("config/app.ini", "port = 8080\n")
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: figures
model: {{ provider: openai, name: {model} }}
tools: [read_file, write_file]
permissions: {{ write: [\"config/**\"] }}
prompt: Write config/app.toml.
{extra}"
            ),
        )
        .commit();
    repo
}

fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "c1", "object": "chat.completion.chunk", "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

fn stream(chunks: &[Value]) -> String {
    chunks
        .iter()
        .map(|c| format!("data: {c}\n\n"))
        .collect::<String>()
        + "data: [DONE]\n\n"
}

fn write_turn(content: &str) -> Reply {
    let arguments = json!({"path": "config/app.toml", "content": content}).to_string();
    Reply::sse(stream(&[
        chunk(
            json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                "function": {"name": "write_file", "arguments": arguments}}]}),
            None,
        ),
        chunk(json!({}), Some("tool_calls")),
    ]))
}

fn text_turn(text: &str, finish: &str, usage: Option<Value>) -> Reply {
    let mut last = chunk(json!({}), Some(finish));
    if let Some(usage) = usage {
        last["usage"] = usage;
    }
    Reply::sse(stream(&[
        chunk(json!({"role": "assistant", "content": text}), None),
        last,
    ]))
}

#[test]
fn the_write_line_shows_the_bytes_written_and_a_cut_answer_is_mentioned() {
    let repo = repo("m", "");
    let content = format!("[server]\nport = 8080\n{}\n", "#".repeat(66));
    let server = TestServer::start(vec![
        write_turn(&content),
        text_turn(
            "I will now",
            "length",
            Some(json!({"prompt_tokens": 10, "completion_tokens": 50})),
        ),
        text_turn("Done.", "stop", None),
    ]);
    let r = repo.wf_env(
        &["run", "task.yaml", "--dry-run"],
        &[("OPENAI_BASE_URL", &format!("{}/v1", server.url))],
    );
    r.code(0);
    // The reply to the model ("created config/app.toml (88 bytes)") is 34
    // bytes; the file is 88.
    assert_eq!(content.len(), 88);
    let trace = repo.last_trace();
    let reply = &events(&trace, "tool_result")[0]["output"];
    assert_eq!(reply.as_str().unwrap().len(), 34, "{reply}");
    assert!(
        r.stderr
            .contains("wf: write_file config/app.toml → 88 bytes written\n"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("→ 34 bytes"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("wf: model: answer cut off at max_tokens after 50 tokens; asked to continue"),
        "{}",
        r.stderr
    );
    // The timeline shows the reply, which states the size.
    let show = repo.wf(&["show", "last"]);
    show.code(0);
    assert!(
        show.stdout
            .contains("result   ok: created config/app.toml (88 bytes)"),
        "{}",
        show.stdout
    );
}

#[test]
fn a_fatal_gateway_error_of_several_lines_is_printed_once_and_indented() {
    let repo = repo("m", "");
    let message = "upstream failed: 502 Bad Gateway\n<html>\n  <body>nginx</body>\n</html>";
    let server = TestServer::start(vec![Reply::json(
        400,
        json!({"error": {"message": message, "type": "server_error"}}).to_string(),
    )]);
    let r = repo.wf_env(
        &["run", "task.yaml", "--dry-run"],
        &[("OPENAI_BASE_URL", &format!("{}/v1", server.url))],
    );
    r.code(1);
    assert_eq!(
        r.stderr.matches("upstream failed").count(),
        1,
        "the error is printed once:\n{}",
        r.stderr
    );
    assert_eq!(r.stderr.matches("<body>nginx").count(), 1, "{}", r.stderr);
    // Every line is wf's own or indented under one: nothing raw at the margin.
    for line in r.stderr.lines() {
        assert!(
            line.starts_with("wf: ") || line.starts_with("    "),
            "a raw line `{line}` in:\n{}",
            r.stderr
        );
    }
    assert!(
        r.stderr
            .contains("wf: model error (1 turn, 0 repairs, cost unknown)\n"),
        "{}",
        r.stderr
    );
    // The timeline keeps it inside its entry too.
    let show = repo.wf(&["show", "last"]);
    let at = show
        .stdout
        .find("ERROR openai http 400")
        .expect(&show.stdout);
    let after: Vec<&str> = show.stdout[at..].lines().skip(1).take(3).collect();
    for line in after {
        assert!(
            line.starts_with("                      "),
            "{}",
            show.stdout
        );
    }
}

#[test]
fn a_tiny_cost_cap_is_printed_with_the_digits_it_needs() {
    let repo = repo("gpt-4o-mini", "limits: { max_cost_usd: 0.000001 }\n");
    let plan = repo.wf(&["plan", "task.yaml"]);
    plan.code(0);
    assert!(plan.stdout.contains("cost $0.000001 ("), "{}", plan.stdout);
    // 1000 input tokens at $0.15 a million: $0.00015, over the cap.
    let server = TestServer::start(vec![text_turn(
        "Done.",
        "stop",
        Some(json!({"prompt_tokens": 1000, "completion_tokens": 0})),
    )]);
    let r = repo.wf_env(
        &["run", "task.yaml", "--dry-run"],
        &[("OPENAI_BASE_URL", &format!("{}/v1", server.url))],
    );
    r.code(1);
    assert!(
        r.stderr
            .contains("spent $0.00015, over the $0.000001 limit"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("$0.0000 "), "{}", r.stderr);
}

#[test]
fn an_api_key_that_is_a_common_word_is_not_redacted_from_the_message() {
    let repo = repo("m", "");
    let task = repo
        .read("task.yaml")
        .replace("name: m }", "name: m, max_attempts: 2 }");
    repo.file("task.yaml", &task);
    let limited = || {
        Reply::json(
            429,
            json!({"error": {"message": "rate limit exceeded", "type": "requests"}}).to_string(),
        )
        .header("retry-after-ms", "1")
    };
    let server = TestServer::start(vec![limited(), limited()]);
    let r = repo.wf_env(
        &["run", "task.yaml", "--dry-run"],
        &[
            ("OPENAI_BASE_URL", &format!("{}/v1", server.url)),
            ("OPENAI_API_KEY", "exceeded"),
        ],
    );
    r.code(1);
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer exceeded")
    );
    assert!(r.stderr.contains("rate limit exceeded"), "{}", r.stderr);
    assert!(!r.stderr.contains("redacted"), "{}", r.stderr);
    let trace = repo.last_trace();
    let error = &events(&trace, "model_error")[0]["message"];
    assert!(
        error.as_str().unwrap().contains("rate limit exceeded"),
        "{error}"
    );
}
