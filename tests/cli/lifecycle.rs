//! Runs that end badly stay visible, and leave nothing behind: a killed run
//! is listed as interrupted, and what it started is gone; outside a git
//! repository wf refuses to run.

use super::{Ran, Repo, wf_bin};
use crate::processes_with;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_killed_run_is_listed_as_interrupted_and_leaves_no_process() {
    let marker = format!("wf-lifecycle-{}", std::process::id());
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        &format!(
            "wf: 1
name: killed
model: {{ provider: script, script: turns.yaml }}
prompt: Wait.
checks:
  - {{ name: slow, run: \"touch started; sh -c 'sleep 60' {marker}\" }}
"
        ),
    )
    .file("turns.yaml", "turns:\n  - text: Done.\n")
    .commit();
    let mut child = Command::new(wf_bin())
        .args(["run", "task.yaml", "--dry-run"])
        .current_dir(repo.path())
        .envs(repo.xdg())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The check is running (its process is there) and the run says so.
    wait_for("the check to start", || !processes_with(&marker).is_empty());
    let ran = repo.wf(&["runs"]);
    assert!(ran.stdout.contains("running"), "{}", ran.stdout);
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    // The sandbox dies with wf: nothing it started is left.
    wait_for("the check's processes to end", || {
        processes_with(&marker).is_empty()
    });
    let ran: Ran = repo.wf(&["runs"]);
    ran.code(0);
    assert!(
        ran.stdout.contains("interrupted") && !ran.stdout.contains("running"),
        "{}",
        ran.stdout
    );
    let show = repo.wf(&["show", "last", "--json"]);
    let summary: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(summary["status"], "interrupted");
}

#[test]
fn outside_a_git_repository_run_and_plan_refuse_and_validate_works() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("task.yaml"),
        "wf: 1\nname: t\nmodel: { provider: script, script: turns.yaml }\nprompt: x\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("turns.yaml"), "turns:\n  - text: Done.\n").unwrap();
    let wf = |args: &[&str]| {
        Ran::from(
            Command::new(wf_bin())
                .args(args)
                .current_dir(dir.path())
                .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
                .stdin(Stdio::null())
                .output()
                .unwrap(),
        )
    };
    for args in [&["run", "task.yaml", "--yes"][..], &["plan", "task.yaml"]] {
        let r = wf(args);
        r.code(2);
        assert!(
            r.stderr.contains("is not in a git repository") && r.stderr.contains("git init"),
            "{}",
            r.stderr
        );
    }
    assert!(
        !dir.path().join(".wf").exists(),
        "a refused run left a run folder"
    );
    wf(&["validate", "task.yaml"]).code(0);
    // Not "no runs recorded yet": where runs are.
    let r = wf(&["runs"]);
    r.code(2);
    assert!(
        r.stderr.contains("is not in a git repository")
            && r.stderr.contains("the repository it ran in"),
        "{}",
        r.stderr
    );
}

/// A Python repair that keeps the file's size, within the same second as
/// the failing round: with the first round's `__pycache__` left in place,
/// Python would run the stale bytecode (it checks size and mtime in whole
/// seconds) and the repair would fail most of the time.
#[test]
fn each_repair_round_starts_clean_so_stale_bytecode_never_runs() {
    let repo = Repo::new();
    repo.file("calc.py", "def add(a, b):\n    return a - b\n")
        .file(
            "test_calc.py",
            "import unittest\nimport calc\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(calc.add(2, 3), 5)\n",
        )
        .file(
            "task.yaml",
            "wf: 1
name: repair
model: { provider: script, script: turns.yaml }
tools: [edit_file]
permissions: { write: [calc.py] }
prompt: Fix add.
checks:
  - { name: unittest, run: python3 -m unittest -q }
limits: { max_repairs: 1 }
",
        )
        .file(
            "turns.yaml",
            "turns:
  - text: Looks fine.
  - tool_calls:
      - { name: edit_file, input: { path: calc.py, old: 'a - b', new: 'a + b' } }
  - text: Fixed.
",
        )
        .commit();
    for round in 0..10 {
        let r = repo.wf(&["run", "task.yaml", "--dry-run"]);
        assert_eq!(
            r.code, 0,
            "run {round} failed: the repair ran stale bytecode?\n{}",
            r.stderr
        );
        let summary = repo.last_summary();
        assert_eq!(summary["totals"]["repairs"], 1, "run {round}: {summary}");
    }
}

#[test]
fn a_trace_written_by_an_older_wf_still_verifies_and_shows() {
    // Written by wf before the trace's chain covered the lines' bytes
    // (trace_version 1), by a scripted run.
    let id = "20261201-061427-908-cdb9";
    let repo = Repo::new();
    repo.file("README", "x\n").commit();
    let run = repo.join(&format!(".wf/runs/{id}"));
    std::fs::create_dir_all(&run).unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/traces/v1-sample.jsonl");
    std::fs::copy(&fixture, run.join("trace.jsonl")).unwrap();
    let shown = repo.wf(&["show", id, "--verify"]);
    shown.code(0);
    assert!(
        shown.stdout.contains("18 events, hash chain intact"),
        "{}",
        shown.stdout
    );
    repo.wf(&["show", id]).code(0);
    // An edited line is still found.
    let text = std::fs::read_to_string(&fixture).unwrap();
    std::fs::write(
        run.join("trace.jsonl"),
        text.replace("\"port = 8080\\n\"", "\"port = 9090\\n\""),
    )
    .unwrap();
    let bad = repo.wf(&["show", id, "--verify"]);
    assert_ne!(bad.code, 0, "{}", bad.stdout);
}

/// An auditor must see a run whose record was tampered with, not miss it.
#[test]
fn a_run_whose_trace_fails_verification_is_listed_and_flagged() {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        "wf: 1\nname: t\nmodel: { provider: script, script: turns.yaml }\nprompt: x\n",
    )
    .file("turns.yaml", "turns:\n  - text: Done.\n")
    .commit();
    repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
    repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
    let runs = repo.runs();
    // Edit the first run's record by hand, without recomputing the chain.
    let trace = runs[0].join("trace.jsonl");
    let text = std::fs::read_to_string(&trace).unwrap();
    std::fs::write(
        &trace,
        text.replacen("\"dry_run\":true", "\"dry_run\":false", 1),
    )
    .unwrap();
    let tampered = runs[0].file_name().unwrap().to_string_lossy().into_owned();
    let intact = runs[1].file_name().unwrap().to_string_lossy().into_owned();
    let r = repo.wf(&["runs"]);
    r.code(0);
    let line = |id: &str| {
        r.stdout
            .lines()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("run {id} is not listed:\n{}", r.stdout))
            .to_string()
    };
    assert!(line(&tampered).contains("TRACE INVALID"), "{}", r.stdout);
    assert!(!line(&intact).contains("TRACE INVALID"), "{}", r.stdout);
    // Also when asking which runs touched a file: it might have.
    let touching = repo.wf(&["runs", "--touching", "x.txt"]);
    assert!(touching.stdout.contains(&tampered), "{}", touching.stdout);
    assert!(!touching.stdout.contains(&intact), "{}", touching.stdout);
}
