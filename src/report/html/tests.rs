//! The HTML report's unit tests.

use super::*;
use crate::record::event::{CheckpointName, CheckpointState, Event, Record, RunStatus, Totals};
use crate::record::wire::{Block, StopReason, Usage};

fn rec(seq: u64, event: Event) -> Record {
    Record {
        seq,
        t_ms: seq * 100,
        event,
        hash: String::new(),
    }
}

fn started() -> Event {
    Event::RunStarted {
        trace_version: 2,
        wf_version: "0.0.0".into(),
        run_id: "20240101-000000-000-abcd".into(),
        spec_name: "migrate".into(),
        spec_version: None,
        spec_path: "task.yaml".into(),
        spec_hash: "h".into(),
        inputs: BTreeMap::new(),
        fingerprint: "f".into(),
        base_revision: None,
        model: "script".into(),
        dry_run: false,
        sandbox: None,
        conversation: None,
        max_cost_usd: None,
        script: None,
        sandbox_approval: None,
        at: "2024-01-01T00:00:00Z".into(),
    }
}

fn sample(output: &str) -> RunReport {
    let records = vec![
        rec(0, started()),
        rec(
            1,
            Event::ModelResponse {
                turn: 1,
                content: vec![Block::Text {
                    text: "I will <b>edit</b>".into(),
                }],
                stop_reason: StopReason::ToolUse,
                usage: Usage {
                    input_tokens: Some(100),
                    output_tokens: Some(20),
                    cache_creation_input_tokens: 0,
                    cache_read_input_tokens: 0,
                    estimated: false,
                },
                cost_usd: Some(0.0012),
                cache_hit: false,
            },
        ),
        rec(
            2,
            Event::ToolCall {
                call_id: "c1".into(),
                tool: "shell".into(),
                input: serde_json::json!({"command": "cat notes.txt"}),
            },
        ),
        rec(
            3,
            Event::ToolResult {
                call_id: "c1".into(),
                tool: "shell".into(),
                ok: true,
                exit_code: Some(0),
                output_hash: String::new(),
                output: output.into(),
                truncated: false,
                duration_ms: 5,
            },
        ),
        rec(
            4,
            Event::ToolCall {
                call_id: "c2".into(),
                tool: "write_file".into(),
                input: serde_json::json!({"path": "migrations/002.sql", "content": "x"}),
            },
        ),
        rec(
            5,
            Event::PermissionDenied {
                call_id: "c2".into(),
                tool: "write_file".into(),
                rule: "protect".into(),
                message: "write to migrations/002.sql denied: protected by permissions.protect"
                    .into(),
            },
        ),
        rec(
            6,
            Event::CheckResult {
                round: 0,
                name: "tests".into(),
                passed: false,
                exit_code: Some(4),
                timed_out: false,
                output_hash: String::new(),
                output_tail: "assertion failed: <x> & y".into(),
                truncated: false,
                duration_ms: 10,
            },
        ),
        rec(
            7,
            Event::RepairRequested {
                round: 1,
                failed: vec!["tests".into()],
            },
        ),
        rec(
            8,
            Event::Checkpoint {
                name: CheckpointName::Apply,
                state: CheckpointState::Approved,
                by: Some("ann@example.com".into()),
                via: Some("--yes".into()),
                comment: None,
                commit: false,
                at: Some("2024-01-01T00:01:00Z".into()),
                step: None,
                diff_sha256: None,
            },
        ),
        rec(
            9,
            Event::RunFinished {
                status: RunStatus::Succeeded,
                reason: None,
                diff_hash: None,
                files_changed: vec!["a<b>.rs".into()],
                totals: Totals::default(),
            },
        ),
    ];
    RunReport {
        id: "20240101-000000-000-abcd".into(),
        records,
        live: false,
        patch: Some(
            "diff --git a/a<b>.rs b/a<b>.rs\n--- a/a<b>.rs\n+++ b/a<b>.rs\n@@ -1 +1 @@\n-old\n+new <script>\n"
                .into(),
        ),
        verified: Ok(()),
        torn_tail: false,
        task: Err("the task file changed since the run".into()),
        patch_path: ".wf/runs/x/diff.patch".into(),
    }
}

#[test]
fn outside_text_is_escaped_never_markup() {
    let page = run(
        &sample("<script>alert(1)</script>\x1b[2K"),
        &Secrets::none(),
    );
    assert!(!page.contains("<script"), "a script tag got through");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[2K"));
    assert!(page.contains("I will &lt;b&gt;edit&lt;/b&gt;"));
    assert!(page.contains("assertion failed: &lt;x&gt; &amp; y"));
    assert!(page.contains("<span class=\"add\">+new &lt;script&gt;</span>"));
    assert!(page.contains("<code>a&lt;b&gt;.rs</code>"));
    assert!(page.contains("default-src 'none'"));
}

#[test]
fn the_page_shows_denials_checks_checkpoints_and_the_chart() {
    let page = run(&sample("ok"), &Secrets::none());
    assert!(page.contains("class=\"call denied\""), "{page}");
    assert!(page.contains("protected by permissions.protect"));
    assert!(page.contains("<details class=\"check fail\" id=\"check-0-tests\" open>"));
    assert!(page.contains("Repair round 1: the model was asked to fix <code>tests</code>"));
    assert!(page.contains("<td>ann@example.com</td><td>--yes</td>"));
    assert!(page.contains("<svg class=\"chart\" id=\"tokens-chart\""));
    assert!(page.contains("<title>turn 1: 100 input tokens</title>"));
    assert!(page.contains("<title>turn 1: $0.0012 USD</title>"));
    assert!(page.contains("class=\"verify ok\""));
    assert!(page.contains("the task file changed since the run"));
    // The result is folded into its call, not shown again.
    assert_eq!(
        page.matches("cat notes.txt").count(),
        2,
        "summary and input"
    );
}

#[test]
fn a_failed_checks_output_and_a_long_answer_are_blocks_outside_the_link() {
    let mut report = sample("ok");
    if let Event::CheckResult { output_tail, .. } = &mut report.records[6].event {
        *output_tail = "line one\nline two\nassert failed".into();
    }
    report.records[1].event = Event::ModelResponse {
        turn: 1,
        content: vec![Block::Text {
            text: "Plan:\n1. read\n2. write".into(),
        }],
        stop_reason: StopReason::EndTurn,
        usage: Usage::default(),
        cost_usd: None,
        cache_hit: false,
    };
    let page = run(&report, &Secrets::none());
    let timeline = &page[page.find("<section id=\"timeline\">").unwrap()..];
    let link = timeline.find("<a href=\"#check-0-tests\">").unwrap();
    let closed = link + timeline[link..].find("</a>").unwrap();
    let anchor = &timeline[link..closed];
    assert!(anchor.contains("FAILED"), "{anchor}");
    assert!(
        !anchor.contains("line one"),
        "output inside the link: {anchor}"
    );
    assert!(
        timeline[closed..].starts_with("</a><pre>line one\nline two\nassert failed</pre>"),
        "{}",
        &timeline[closed..closed + 120]
    );
    // No terminal indent anywhere in the timeline, and the answer's
    // summary is its headline only (the text is in the block below it).
    assert!(!timeline.contains("          "), "{timeline}");
    let summary = &timeline[timeline.find("<summary>").unwrap()..];
    let summary = &summary[..summary.find("</summary>").unwrap()];
    assert!(!summary.contains("1. read"), "{summary}");
    assert!(
        timeline.contains("<pre>Plan:\n1. read\n2. write</pre>"),
        "{timeline}"
    );
}

#[test]
fn secrets_are_redacted_everywhere() {
    let secrets = Secrets::from_vars([("OPENAI_API_KEY", "super-secret-value-42")]);
    let mut report = sample("key=super-secret-value-42 and sk-abcdefghijklmnop0123456789");
    report.patch = Some(
        "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -0,0 +1 @@\n+super-secret-value-42\n".into(),
    );
    let page = run(&report, &secrets);
    assert!(!page.contains("super-secret-value-42"));
    assert!(!page.contains("sk-abcdefghijklmnop0123456789"));
    assert!(page.contains("key=[redacted] and sk-[redacted]"));
    assert!(page.contains("<span class=\"add\">+[redacted]</span>"));
}

#[test]
fn a_trace_that_fails_verification_says_so() {
    let mut report = sample("ok");
    report.verified = Err("line 3: hash mismatch".into());
    let page = run(&report, &Secrets::none());
    assert!(page.contains("class=\"verify bad\""));
    assert!(page.contains("FAILS verification: line 3: hash mismatch"));
}

#[test]
fn a_long_diff_is_cut_with_a_pointer_to_the_patch() {
    let mut report = sample("ok");
    let mut patch =
        String::from("diff --git a/big b/big\n--- a/big\n+++ b/big\n@@ -0,0 +1,30000 @@\n");
    for i in 0..30_000 {
        patch.push_str(&format!("+line {i}\n"));
    }
    report.patch = Some(patch);
    let page = run(&report, &Secrets::none());
    assert!(page.contains("+line 19995"));
    assert!(!page.contains("+line 19996"));
    assert!(page.contains(
        "[… 10004 more lines; the whole patch is in <code>.wf/runs/x/diff.patch</code>]"
    ));
}

#[test]
fn the_index_links_every_run_with_status_cost_and_files() {
    let mut ok = crate::record::summary::from_records(&sample("ok").records);
    ok.totals.cost_usd = Some(0.5);
    ok.files_changed = vec!["a.rs".into(), "b.rs".into()];
    let mut failed = ok.clone();
    failed.status = "checks_failed".into();
    failed.totals.cost_usd = None;
    failed.spec.name = "<evil>".into();
    let entries = vec![
        IndexEntry {
            id: "r2".into(),
            summary: failed,
            problem: Some("fails verification at line 2".into()),
            link: "r2/report.html".into(),
        },
        IndexEntry {
            id: "r1".into(),
            summary: ok,
            problem: None,
            link: "r1/report.html".into(),
        },
    ];
    let page = index("wf runs in .wf/runs", &entries, &Secrets::none());
    assert!(page.contains("<a href=\"r1/report.html\">r1</a>"));
    assert!(page.contains("<a href=\"r2/report.html\">r2</a>"));
    assert!(page.contains("2 runs"));
    assert!(page.contains("total cost $0.5000 (1 unknown)"));
    assert!(page.contains("<span class=\"badge bad\">checks_failed</span>"));
    assert!(page.contains("<summary>2</summary>"));
    assert!(page.contains("&lt;evil&gt;") && !page.contains("<evil>"));
    assert!(page.contains("trace invalid"));
}

#[test]
fn hrefs_are_percent_encoded() {
    assert_eq!(href("a b/#c?.html"), "a%20b/%23c%3F.html");
}
