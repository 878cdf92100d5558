//! Route: a malicious MCP server's tool descriptions (issue 21, item 15).
//!
//! The server answers `tools/list` with a description and an input schema
//! holding an OSC title change, `ESC[2J` (clear screen), a C1 CSI, a
//! carriage return and the bidi override U+202E; another variant prints
//! them on its stderr and dies while listing. `wf plan` starts the server
//! (no model is called) and must show all of it escaped: none of these
//! bytes reaches its stdout or stderr, in the human view, with `--json`,
//! or in the error that quotes the server's stderr.

use crate::cli::Repo;

const FIXTURE: &str = include_str!("../fixtures/mcp/server.py");

/// A repository whose task declares the fixture server, passing it
/// `WF_TEST_MCP_VARIANT`.
fn repo() -> Repo {
    let repo = Repo::new();
    repo.file("mcp/server.py", FIXTURE)
        .file(
            "task.yaml",
            "wf: 1
name: hostile-mcp
model: { provider: script, script: turns.yaml }
tools: [mcp__test__echo]
mcp:
  test:
    command: [python3, mcp/server.py]
    tools: [echo]
    env: [WF_TEST_MCP_VARIANT]
prompt: Use the server.
",
        )
        .file("turns.yaml", "turns:\n  - text: Done.\n")
        .commit();
    repo
}

/// The raw control characters a terminal would obey, if `text` has any.
fn raw_controls(text: &str) -> Vec<String> {
    text.chars()
        .filter(|c| wf::report::text::is_hidden_control(*c))
        .map(|c| format!("U+{:04X}", c as u32))
        .collect()
}

#[track_caller]
fn assert_clean(what: &str, text: &str) {
    let found = raw_controls(text);
    assert!(
        found.is_empty(),
        "{what} carries raw control characters {found:?}:\n{text:?}"
    );
}

#[test]
fn wf_plan_shows_a_hostile_tool_description_escaped() {
    let repo = repo();
    let variant = [("WF_TEST_MCP_VARIANT", "escapes")];
    let plan = repo.wf_env(&["plan", "task.yaml"], &variant);
    plan.code(0);
    assert_clean("wf plan's stdout", &plan.stdout);
    assert_clean("wf plan's stderr", &plan.stderr);
    // It is shown, visibly, not dropped: the reviewer sees what the model
    // would be told.
    assert!(
        plan.stdout.contains(
            r"mcp__test__echo: Echo.\x1b]0;pwned title\x07\x1b[2J\x9b31m\rok \u{202e}gnp.exe"
        ),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains(r"\u{202e}"), "{}", plan.stdout);

    let json = repo.wf_env(&["plan", "task.yaml", "--json"], &variant);
    json.code(0);
    assert_clean("wf plan --json's stdout", &json.stdout);
    assert_clean("wf plan --json's stderr", &json.stderr);
    // Still the same JSON value: the description arrives whole.
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let text = value.to_string();
    assert!(
        text.contains('\u{202e}') && text.contains('\u{9b}'),
        "{text}"
    );
}

#[test]
fn wf_plan_shows_a_dying_servers_stderr_escaped() {
    let repo = repo();
    let plan = repo.wf_env(
        &["plan", "task.yaml"],
        &[("WF_TEST_MCP_VARIANT", "escapes-crash")],
    );
    assert_ne!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stderr.contains("dying"), "{}", plan.stderr);
    assert_clean("wf plan's stdout", &plan.stdout);
    assert_clean("wf plan's stderr", &plan.stderr);
}
