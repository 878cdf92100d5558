//! Route: what a run exports to the team's tracing (issue 25, item 5).
//!
//! The attack: a repository plants a file of credentials, and its task's
//! model (scripted) reads it, runs a command that prints it, writes a copy
//! of it, and a check prints it and fails; the person running wf has an
//! API key and the receiver's own key in the environment. A tracing
//! backend is read by far more people than the repository: none of the
//! file's text, the printed output, the model's words, the keys or the
//! receiver's header value may reach the spans — only names, counts and
//! codes.

use crate::cli::Repo;
use crate::providers::server::{Reply, TestServer};

/// A secret shaped like none of the known key formats: only keeping
/// contents out can keep it out of the spans.
const PLANTED: &str = "db_password=correct-horse-battery-staple-42";

#[test]
fn no_planted_secret_file_output_or_key_reaches_the_exported_spans() {
    let repo = Repo::new();
    repo.file("config/prod.ini", &format!("[db]\n{PLANTED}\n"))
        .file(
            "task.yaml",
            "wf: 1
name: leaky
model: { provider: script, script: turns.yaml }
tools: [read_file, write_file, shell]
permissions:
  read: [\"config/**\"]
  write: [\"copy.ini\"]
  shell: { allow: [\"cat *\"] }
prompt: Summarise config/prod.ini.
checks:
  - { name: leak, run: \"cat config/prod.ini && exit 1\" }
limits: { max_repairs: 0 }
",
        )
        .file(
            "turns.yaml",
            &format!(
                "turns:
  - tool_calls:
      - {{ name: read_file, input: {{ path: config/prod.ini }} }}
      - {{ name: shell, input: {{ command: cat config/prod.ini }} }}
      - {{ name: write_file, input: {{ path: copy.ini, content: \"{PLANTED}\" }} }}
      - {{ name: read_file, input: {{ path: ../outside/{PLANTED} }} }}
      - {{ name: shell, input: {{ command: cat /x/{PLANTED} }} }}
  - text: \"The file says {PLANTED}\"
"
            ),
        )
        .commit();
    let receiver = TestServer::start(vec![Reply::json(200, "{}")]);
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "x-honeycomb-team=hc-team-key-98765",
            ),
            (
                "ANTHROPIC_API_KEY",
                "sk-ant-api03-abcdefghijklmnop1234567890",
            ),
        ],
    );
    // The check failed (it prints the file and exits 1): the run says so.
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("wf: exported "), "{}", r.stderr);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let body = String::from_utf8(requests[0].body.clone()).unwrap();
    // The spans are there: the reads, the command, the check; the denials
    // with their reasons, without what the model asked for.
    assert!(body.contains("is an absolute path"), "{body}");
    for name in [
        "execute_tool read_file",
        "execute_tool shell",
        "wf check leak",
    ] {
        assert!(body.contains(name), "{name} missing: {body}");
    }
    for leak in [
        "correct-horse-battery-staple",
        "hc-team-key-98765",
        "sk-ant-api03-abcdefghijklmnop",
        "The file says",
        "Summarise config",
    ] {
        assert!(!body.contains(leak), "{leak} reached the spans: {body}");
    }
    // The receiver's key was sent as its header, and only there.
    assert_eq!(
        requests[0].header("x-honeycomb-team"),
        Some("hc-team-key-98765")
    );
    assert!(!r.stderr.contains("hc-team-key-98765"));
}
