//! Route: a credential a command reads reaches the model, the trace and the
//! report (issue 21, item 8, the redaction half).
//!
//! The attack as it was done: the model writes a program, and the task's
//! own check (and a `shell` call) runs it; the program prints a registry
//! token, as one reading `~/.cargo/credentials.toml` would. Here the token
//! is assembled at run time, so it is in no file and no tool input: what
//! keeps it out of the model's next requests, the trace, the check's log
//! and `wf report --md` can only be the redaction of what commands print.
//! The redaction must be visible (`cio[redacted]`), proving the program
//! did print the token.

use crate::cli::Repo;
use crate::providers::server::{Reply, TestServer};
use serde_json::{Value, json};

/// The token the program prints: crates.io's shape, `cio` and 32
/// alphanumerics.
const TOKEN: &str = "cioAbCd1234AbCd1234AbCd1234AbCd1234";

/// The program the model writes: it prints a `credentials.toml` whose
/// token it assembles, and fails.
const PROGRAM: &str = "part=AbCd1234\n\
    printf '[registry]\\ntoken = \"cio%s%s%s%s\"\\n' $part $part $part $part\n\
    exit 1\n";

fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "c1", "object": "chat.completion.chunk", "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

fn turn(delta: Value, finish: &str) -> Reply {
    let chunks = [chunk(delta, None), chunk(json!({}), Some(finish))];
    Reply::sse(
        chunks
            .iter()
            .map(|c| format!("data: {c}\n\n"))
            .collect::<String>()
            + "data: [DONE]\n\n",
    )
}

fn call(name: &str, input: Value) -> Reply {
    turn(
        json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function",
            "function": {"name": name, "arguments": input.to_string()}}]}),
        "tool_calls",
    )
}

fn done() -> Reply {
    turn(json!({"role": "assistant", "content": "Done."}), "stop")
}

#[test]
fn a_token_printed_by_a_check_reaches_neither_the_model_nor_the_records() {
    assert!(!PROGRAM.contains(TOKEN));
    let repo = Repo::new();
    repo.file("README.md", "a crate\n")
        .file(
            "task.yaml",
            "wf: 1
name: leak
model: { provider: openai, name: m }
tools: [write_file, shell]
permissions:
  write: [\"tests/**\"]
  shell: { allow: [\"sh tests/check.sh\"] }
prompt: Add the test.
checks:
  - { name: tests, run: sh tests/check.sh }
limits: { max_repairs: 1 }
",
        )
        .commit();
    let server = TestServer::start(vec![
        call(
            "write_file",
            json!({"path": "tests/check.sh", "content": PROGRAM}),
        ),
        call("shell", json!({"command": "sh tests/check.sh"})),
        done(),
        done(),
    ]);
    let r = repo.wf_env(
        &["run", "task.yaml", "--dry-run"],
        &[("OPENAI_BASE_URL", &format!("{}/v1", server.url))],
    );
    r.code(1);
    let requests = server.requests();
    assert_eq!(requests.len(), 4, "{}", r.stderr);
    // The request after the shell call and the one after the failed check.
    for (i, request) in requests.iter().enumerate() {
        let body = String::from_utf8_lossy(&request.body);
        assert!(!body.contains(TOKEN), "request {i} carries the token");
    }
    for i in [2, 3] {
        let body = String::from_utf8_lossy(&requests[i].body);
        assert!(
            body.contains("cio[redacted]"),
            "request {i} shows no redaction: {body}"
        );
    }
    assert!(!r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN));

    // Nothing of the run folder keeps it: the trace (tool results, check
    // results), the check's logs, the summary.
    let run = repo.runs().pop().unwrap();
    let mut files = vec![run.join("trace.jsonl"), run.join("summary.json")];
    for log in std::fs::read_dir(run.join("checks")).unwrap() {
        files.push(log.unwrap().path());
    }
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(!text.contains(TOKEN), "{} keeps the token", file.display());
    }
    let trace = std::fs::read_to_string(run.join("trace.jsonl")).unwrap();
    assert!(trace.contains("cio[redacted]"), "{trace}");
    let check_log = std::fs::read_to_string(run.join("checks/tests.0.log")).unwrap();
    assert!(
        check_log.contains("token = \"cio[redacted]\""),
        "{check_log}"
    );

    let report = repo.wf(&["report", "last", "--md", "-o", "-"]);
    report.code(0);
    assert!(!report.stdout.contains(TOKEN), "the report shows the token");
    assert!(report.stdout.contains("cio"), "{}", report.stdout);
    let show = repo.wf(&["show", "last", "--check", "tests"]);
    assert!(!show.stdout.contains(TOKEN) && !show.stderr.contains(TOKEN));
}
