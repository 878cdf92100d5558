//! The boundary end to end: reads through symlinks (tools, context, a
//! recipe's context under its caller's bounds), the edit size checked
//! before the result is built, the per-turn tool-call cap and the run's
//! write cap, and a written file's content stored once in the trace.

use super::{Repo, events};
use serde_json::Value;

const SECRET: &str = "sk-live-123456";

/// A repository with `secrets/key.txt` and a committed symlink
/// `src/notes.txt` → `../secrets/key.txt`.
fn symlinked_repo() -> Repo {
    let repo = Repo::new();
    repo.file("secrets/key.txt", &format!("{SECRET}\n"))
        .file("src/lib.rs", "pub fn f() {}\n");
    std::os::unix::fs::symlink("../secrets/key.txt", repo.join("src/notes.txt")).unwrap();
    repo.commit();
    repo
}

/// Writes `task.yaml` (script provider, `extra` keys appended) and `turns.yaml`.
fn task(repo: &Repo, extra: &str, turns: &str) {
    repo.file(
        "task.yaml",
        &format!(
            "wf: 1
name: boundary
model: {{ provider: script, script: turns.yaml }}
tools: [read_file, list_files, search, edit_file, write_file]
prompt: Work.
{extra}"
        ),
    );
    repo.file("turns.yaml", turns);
}

fn trace_text(repo: &Repo) -> String {
    let run = repo.runs().pop().expect("a run");
    std::fs::read_to_string(run.join("trace.jsonl")).unwrap()
}

fn results(trace: &[Value]) -> Vec<&Value> {
    events(trace, "tool_result")
}

#[test]
fn a_symlink_to_an_unreadable_file_is_denied_by_the_tools_and_the_context() {
    let repo = symlinked_repo();
    task(
        &repo,
        "context: { include: [\"src/**\"] }
permissions: { read: [\"src/**\"], write: [\"src/**\"] }
",
        "turns:
  - tool_calls:
      - { name: read_file, input: { path: src/notes.txt } }
      - { name: read_file, input: { path: secrets/key.txt } }
      - { name: list_files, input: { path: src } }
      - { name: search, input: { pattern: sk-live } }
      - { name: read_file, input: { path: src/lib.rs } }
  - text: Done.
",
    );
    // The plan leaves the symlink out of the context, with a note.
    let plan = repo.wf(&["plan", "task.yaml", "--json"]);
    plan.code(0);
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    let context = &plan["steps"][0]["context"];
    let files: Vec<&str> = context["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["src/lib.rs"], "{context}");
    let skipped = context["skipped"].to_string();
    assert!(
        skipped.contains("src/notes.txt") && skipped.contains("permissions.read"),
        "{skipped}"
    );

    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    let trace = repo.last_trace();
    let r = results(&trace);
    assert_eq!(r.len(), 5);
    for denied in &r[..2] {
        assert_eq!(denied["ok"], false, "{denied}");
        assert!(
            denied["output"]
                .as_str()
                .unwrap()
                .contains("not matched by permissions.read"),
            "{denied}"
        );
    }
    assert!(
        r[0]["output"]
            .as_str()
            .unwrap()
            .contains("symlink to secrets/key.txt"),
        "{}",
        r[0]
    );
    assert_eq!(r[2]["output"], "src/lib.rs", "{}", r[2]);
    assert_eq!(r[3]["output"], "[no matches]", "{}", r[3]);
    assert_eq!(r[4]["ok"], true);
    let denials = events(&trace, "permission_denied");
    assert_eq!(denials.len(), 2, "{denials:?}");
    let context = events(&trace, "context_resolved");
    assert!(!context[0].to_string().contains("notes.txt"), "{context:?}");
    assert!(
        !trace_text(&repo).contains(SECRET),
        "the secret reached the trace"
    );
}

#[test]
fn a_recipe_context_is_bounded_by_the_real_path_under_the_caller() {
    let repo = symlinked_repo();
    repo.file(
        "recipes/look.yaml",
        "wf: 1
name: look
model: { provider: anthropic, name: claude-haiku-4-5 }
context: { include: [\"src/**\"] }
tools: [read_file]
prompt: Look.
",
    )
    .file(
        "caller.yaml",
        "wf: 1
name: caller
model: { provider: script, script: turns.yaml }
tools: [read_file]
permissions: { read: [\"src/**\"] }
steps:
  - id: look
    uses: ./recipes/look.yaml
",
    )
    .file("turns.yaml", "turns:\n  - text: Done.\n")
    .commit();
    let plan = repo.wf(&["plan", "caller.yaml"]);
    plan.code(0);
    assert!(
        plan.stdout
            .contains("context file src/notes.txt is not readable under the caller's permissions"),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("context file src/lib.rs"),
        "{}",
        plan.stdout
    );
}

#[test]
fn a_huge_replace_all_is_refused_before_it_is_built() {
    let repo = Repo::new();
    repo.file("src/big.txt", &"a".repeat(1024 * 1024)).commit();
    let new = "b".repeat(1500);
    task(
        &repo,
        "permissions: { write: [\"src/**\"] }\n",
        &format!(
            "turns:
  - tool_calls:
      - {{ name: edit_file, input: {{ path: src/big.txt, old: a, new: {new}, replace_all: true }} }}
  - text: Done.
"
        ),
    );
    let child = std::process::Command::new(super::wf_bin())
        .args(["run", "task.yaml", "--yes"])
        .current_dir(repo.path())
        .envs(repo.xdg())
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage), 0);
        usage
    };
    assert_eq!(child.code(), Some(0));
    // KiB: the largest child this test process has waited for.
    let peak_kib = usage.ru_maxrss;
    assert!(
        peak_kib < 100 * 1024,
        "a child peaked at {} MiB",
        peak_kib / 1024
    );
    let trace = repo.last_trace();
    let r = results(&trace);
    assert_eq!(r[0]["ok"], false);
    assert!(
        r[0]["output"].as_str().unwrap().contains("would be over"),
        "{}",
        r[0]
    );
    assert_eq!(repo.read("src/big.txt").len(), 1024 * 1024);
}

#[test]
fn tool_calls_past_the_turn_cap_are_refused_and_recorded() {
    let repo = Repo::new();
    repo.file("src/a.txt", "a\n").commit();
    let calls: String = (0..40)
        .map(|_| "      - { name: read_file, input: { path: src/a.txt } }\n")
        .collect();
    task(
        &repo,
        "",
        &format!("turns:\n  - tool_calls:\n{calls}  - text: Done.\n"),
    );
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    let trace = repo.last_trace();
    assert_eq!(events(&trace, "tool_call").len(), 40);
    let r = results(&trace);
    assert_eq!(r.len(), 40);
    for (i, result) in r.iter().enumerate() {
        if i < 32 {
            assert_eq!(result["ok"], true, "call {}: {result}", i + 1);
        } else {
            assert_eq!(result["ok"], false, "call {}: {result}", i + 1);
            assert_eq!(
                result["output"],
                format!(
                    "tool call {} of this turn refused: limits.max_tool_calls_per_turn is 32",
                    i + 1
                )
            );
        }
    }
    // A smaller cap from the task file.
    task(
        &repo,
        "limits: { max_tool_calls_per_turn: 2 }\n",
        "turns:
  - tool_calls:
      - { name: read_file, input: { path: src/a.txt } }
      - { name: read_file, input: { path: src/a.txt } }
      - { name: read_file, input: { path: src/a.txt } }
  - text: Done.
",
    );
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    let trace = repo.last_trace();
    let oks: Vec<bool> = results(&trace)
        .iter()
        .map(|r| r["ok"].as_bool().unwrap())
        .collect();
    assert_eq!(oks, [true, true, false]);
}

#[test]
fn writes_past_the_run_write_cap_are_refused_and_the_run_goes_on() {
    let repo = Repo::new();
    repo.file("src/a.txt", "a\n").commit();
    task(
        &repo,
        "permissions: { write: [\"src/**\"] }
limits: { max_write_bytes: 10 }
",
        "turns:
  - tool_calls:
      - { name: write_file, input: { path: src/b.txt, content: \"123456\" } }
      - { name: write_file, input: { path: src/c.txt, content: \"123456\" } }
  - tool_calls:
      - { name: edit_file, input: { path: src/b.txt, old: \"1\", new: \"1234567\" } }
      - { name: write_file, input: { path: src/c.txt, content: \"1234\" } }
  - text: Done.
",
    );
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    let trace = repo.last_trace();
    let r = results(&trace);
    let oks: Vec<bool> = r.iter().map(|r| r["ok"].as_bool().unwrap()).collect();
    assert_eq!(oks, [true, false, false, true], "{r:?}");
    for refused in [r[1], r[2]] {
        assert!(
            refused["output"]
                .as_str()
                .unwrap()
                .contains("limits.max_write_bytes"),
            "{refused}"
        );
    }
    assert_eq!(repo.read("src/b.txt"), "123456");
    assert_eq!(repo.read("src/c.txt"), "1234");
}

#[test]
fn a_written_file_content_is_stored_once_and_replays() {
    let repo = Repo::new();
    repo.file("src/a.txt", "a\n").commit();
    let content: String = (0..100 * 1024 / 16)
        .map(|i| format!("line {i:>10}\n"))
        .collect();
    assert_eq!(content.len(), 100 * 1024);
    task(
        &repo,
        "permissions: { write: [\"src/**\"] }\n",
        &format!(
            "turns:
  - tool_calls:
      - {{ name: write_file, input: {{ path: src/big.txt, content: {} }} }}
  - text: Done.
",
            serde_json::to_string(&content).unwrap()
        ),
    );
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    assert_eq!(repo.read("src/big.txt"), content);
    let text = trace_text(&repo);
    let encoded = serde_json::to_string(&content).unwrap();
    assert_eq!(
        text.matches(encoded.trim_matches('"')).count(),
        1,
        "the content is not stored exactly once"
    );
    let trace = repo.last_trace();
    assert_eq!(events(&trace, "tool_call")[0]["input"]["content"], content);
    let replay = repo.wf(&["replay", "last"]);
    replay.code(0);
    assert!(replay.stdout.contains("reproduced"), "{}", replay.stdout);
}

/// A model with write access to `src/**` tries to hide its change from the
/// reviewer: `* -diff` attributes, and terminal escapes that overwrite a
/// line with a decoy.
#[test]
fn the_review_shows_the_text_escaped_and_calls_out_attributes() {
    let repo = Repo::new();
    repo.file("src/lib.rs", "pub fn f() {}\n")
        .file(
            "task.yaml",
            "wf: 1
name: spoof
model: { provider: script, script: turns.yaml }
tools: [write_file]
permissions: { write: [\"src/**\"] }
prompt: Tidy up.
",
        )
        .file(
            "turns.yaml",
            r#"turns:
  - tool_calls:
      - { name: write_file, input: { path: src/.gitattributes, content: "* -diff\n" } }
      - { name: write_file, input: { path: src/lib.rs, content: "pub fn f() {}\n// ok\u001b[2K\rstd::process::Command::new(\"curl\")\n" } }
  - text: Done.
"#,
        )
        .commit();
    let r = repo.wf(&["run", "task.yaml", "--dry-run"]);
    r.code(0);
    let shown = format!("{}{}", r.stdout, r.stderr);
    assert!(!shown.contains("Binary files"), "{shown}");
    assert!(
        !shown.contains('\u{1b}'),
        "a raw escape reached the terminal"
    );
    assert!(
        shown.contains(r#"// ok\x1b[2K\rstd::process::Command::new("curl")"#),
        "{shown}"
    );
    assert!(
        shown.contains("Look closely:") && shown.contains("src/.gitattributes (added)"),
        "{shown}"
    );
    // The timeline escapes too.
    let show = repo.wf(&["show", "last"]);
    assert!(!show.stdout.contains('\u{1b}'), "{}", show.stdout);
}

/// A command of the run plants `core.fsmonitor` in the workspace's git
/// config (possible only unconfined); wf's own git must never run it.
#[test]
fn a_planted_fsmonitor_is_never_run_by_wf() {
    let canary = tempfile::tempdir().unwrap();
    let hit = canary.path().join("ran");
    let repo = Repo::new();
    repo.file("src/lib.rs", "pub fn f() {}\n")
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: plant
model: {{ provider: script, script: turns.yaml }}
tools: [write_file]
permissions: {{ write: [\"src/**\"] }}
sandbox: off
steps:
  - id: plant
    run: git config core.fsmonitor 'touch {0}; echo' && git config core.hooksPath \"$PWD/hooks\" && mkdir -p hooks && printf '#!/bin/sh\\ntouch {0}\\n' > hooks/pre-commit && chmod +x hooks/pre-commit
  - id: edit
    prompt: Edit.
",
                hit.display()
            ),
        )
        .file(
            "turns.yaml",
            "turns:\n  - tool_calls:\n      - { name: write_file, input: { path: src/lib.rs, content: \"pub fn g() {}\\n\" } }\n  - text: Done.\n",
        )
        .commit();
    // The task's own command wrote `hooks/` (part of the change, shown by
    // the dry run); what matters is that the planted program never ran.
    repo.wf(&["run", "task.yaml", "--dry-run", "--trust-sandbox"])
        .code(0);
    let trace = repo.last_trace();
    assert!(
        !events(&trace, "step_finished").is_empty(),
        "the planting step did not run"
    );
    assert!(!hit.exists(), "wf's git ran a planted program");
}
