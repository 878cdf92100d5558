//! The describer's unit tests.

use super::*;
use crate::record::wire::{Block, StopReason, Usage};

fn result(output: &str) -> Event {
    Event::ToolResult {
        call_id: "c1".into(),
        tool: "shell".into(),
        ok: false,
        exit_code: Some(1),
        output_hash: String::new(),
        output: output.into(),
        truncated: false,
        duration_ms: 3,
    }
}

#[test]
fn tool_output_cannot_erase_or_overwrite_a_line() {
    let shown = event(&result("ok\x1b[2K\rrm -rf /"), View::Timeline).unwrap();
    assert!(shown.contains("ok\\x1b[2K\\rrm -rf /"), "{shown:?}");
    assert!(!shown.contains('\x1b') && !shown.contains('\r'));
    let line = tool_line("shell", None, &result("exit code 1\nok\x1b[2K\rrm -rf /")).unwrap();
    assert!(line.contains("ok\\x1b[2K\\rrm -rf /"), "{line:?}");
    assert!(!line.contains('\x1b') && !line.contains('\r'));
}

fn response(content: Vec<Block>, stop_reason: StopReason, cache_hit: bool) -> Event {
    Event::ModelResponse {
        turn: 1,
        content,
        stop_reason,
        usage: Usage {
            input_tokens: Some(1),
            output_tokens: Some(1),
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            estimated: false,
        },
        cost_usd: None,
        cache_hit,
    }
}

#[test]
fn the_models_text_and_tool_inputs_are_escaped() {
    let said = response(
        vec![Block::Text {
            text: "all tests pass \u{202e}txt.exe".into(),
        }],
        StopReason::EndTurn,
        false,
    );
    let shown = event(&said, View::Timeline).unwrap();
    assert!(shown.contains("all tests pass \\u{202e}txt.exe"), "{shown}");
    let input = serde_json::json!({"path": "a.rs\nwf: applied\u{1b}[2K"});
    let call = Event::ToolCall {
        call_id: "c1".into(),
        tool: "read_file".into(),
        input: input.clone(),
    };
    assert_eq!(event(&call, View::Line), None, "shown with its result");
    let mut done = result("fn main() {}");
    if let Event::ToolResult { ok, exit_code, .. } = &mut done {
        *ok = true;
        *exit_code = None;
    }
    let line = tool_line("read_file", Some(&input), &done).unwrap();
    assert_eq!(line, "read_file a.rs\\nwf: applied\\x1b[2K → 12 bytes");
    let timeline = event(&call, View::Timeline).unwrap();
    assert!(!timeline.contains('\x1b'), "{timeline:?}");
}

#[test]
fn a_failed_shell_call_shows_the_end_of_its_output() {
    let input = serde_json::json!({"command": "pytest -q"});
    let failed = result("exit code 127\nsh: pytest: not found\n");
    assert_eq!(
        tool_line("shell", Some(&input), &failed).unwrap(),
        "shell pytest -q → exit code 127\n    sh: pytest: not found"
    );
    let denied = result("read_file .env denied: protected");
    assert_eq!(tool_line("read_file", None, &denied), None);
}

#[test]
fn a_denial_line_says_denied_once() {
    let denial = Event::PermissionDenied {
        call_id: "c1".into(),
        tool: "write_file".into(),
        rule: "write".into(),
        message: "write to src/a/b.rs denied: not matched by permissions.write (`src/*`)".into(),
    };
    let line = event(&denial, View::Line).unwrap();
    assert_eq!(line.matches("denied").count(), 1, "{line}");
    assert!(line.starts_with("write to src/a/b.rs denied"), "{line}");
}

#[test]
fn a_failed_check_shows_its_last_lines_or_that_it_printed_nothing() {
    let check = |tail: &str| Event::CheckResult {
        round: 0,
        name: "keeps-every-key".into(),
        passed: false,
        exit_code: Some(1),
        timed_out: false,
        output_hash: String::new(),
        output_tail: tail.into(),
        truncated: false,
        duration_ms: 20,
    };
    let shown = event(&check("missing key: pool_size\n"), View::Line).unwrap();
    assert_eq!(
        shown,
        "check keeps-every-key: FAILED (exit 1) in 0.0s\n    missing key: pool_size"
    );
    let shown = event(&check(""), View::Timeline).unwrap();
    assert!(shown.ends_with("(it printed nothing)"), "{shown}");
    let many: String = (1..=30).map(|i| format!("line {i}\n")).collect();
    let shown = event(&check(&many), View::Line).unwrap();
    assert!(shown.contains("… 10 lines above\n    line 11\n"), "{shown}");
    assert!(shown.ends_with("line 30") && !shown.contains("line 10\n"));
}

#[test]
fn the_timeline_speaks_words_not_rust_names() {
    let calls = response(
        vec![Block::ToolUse {
            id: "c".into(),
            name: "read_file".into(),
            input: serde_json::json!({}),
        }],
        StopReason::ToolUse,
        true,
    );
    let shown = event(&calls, View::Timeline).unwrap();
    assert!(
        shown.contains("answered (calls tools; 1 in + 0 cached + 1 out, from the local cache)"),
        "{shown}"
    );
    for (reason, words) in [
        (StopReason::EndTurn, "done"),
        (StopReason::MaxTokens, "cut off at max_tokens"),
        (StopReason::PauseTurn, "paused its turn"),
    ] {
        let shown = event(&response(vec![], reason, false), View::Timeline).unwrap();
        assert!(shown.contains(&format!("answered ({words};")), "{shown}");
    }
}

#[test]
fn tiny_amounts_are_not_shown_as_zero() {
    assert_eq!(usd(0.0), "$0.0000");
    assert_eq!(usd(0.0123), "$0.0123");
    assert_eq!(usd(0.00003), "$0.00003");
    assert_eq!(usd(0.000001), "$0.000001");
    assert_eq!(usd(0.0000234), "$0.000023");
}

#[test]
fn an_apply_failure_says_not_applied_once() {
    let failed = Event::ApplyFailed {
        message: "not applied: a.rs changed in your tree since the run started: a.rs".into(),
    };
    let shown = event(&failed, View::Line).unwrap();
    assert_eq!(shown.matches("not applied").count(), 1, "{shown}");
}
