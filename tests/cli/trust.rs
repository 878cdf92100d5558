//! The boundary holds end to end: a malicious model cannot get a change
//! past the permissions by way of a command, and a tampered run folder
//! cannot make replay or resume write outside the repository, load a task
//! file from elsewhere, or apply a change nobody approved.

use super::{Repo, events};
use std::path::Path;
use wf::record::event::{Event, Record};

/// A repository with a config and a protected migration, committed.
fn repo() -> Repo {
    let repo = Repo::new();
    repo.file("config/app.ini", "[server]\nport = 8080\n")
        .file("migrations/001.sql", "CREATE TABLE t (x INT);\n")
        .commit();
    repo
}

/// Writes `task.yaml` (write `config/**`, protect `migrations/**`, shell
/// `git diff *`) and `turns.yaml`.
fn task(repo: &Repo, turns: &str) {
    repo.file(
        "task.yaml",
        "wf: 1
name: migrate
model: { provider: script, script: turns.yaml }
tools: [read_file, write_file, shell]
permissions:
  write: [\"config/**\"]
  protect: [\"migrations/**\"]
  shell: { allow: [\"git diff *\"] }
prompt: Migrate config/app.ini to TOML.
",
    );
    repo.file("turns.yaml", turns);
}

fn write_toml(content: &str) -> String {
    format!(
        "turns:
  - tool_calls:
      - {{ name: write_file, input: {{ path: config/app.toml, content: \"{content}\" }} }}
  - text: Done.
"
    )
}

fn records(run: &Path) -> Vec<Record> {
    std::fs::read_to_string(run.join("trace.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Writes `records` as the run's trace with the sequence numbers and the
/// hash chain recomputed, as an attacker with write access to `.wf/` can.
fn rechain(run: &Path, mut records: Vec<Record>) {
    let mut prev = String::new();
    let mut text = String::new();
    for (i, r) in records.iter_mut().enumerate() {
        r.seq = i as u64;
        r.hash.clear();
        r.hash = wf::record::trace::chain_hash(&prev, r);
        prev = r.hash.clone();
        text.push_str(&serde_json::to_string(r).unwrap());
        text.push('\n');
    }
    std::fs::write(run.join("trace.jsonl"), text).unwrap();
}

#[test]
fn a_command_writing_a_protected_file_is_refused_at_the_end_even_with_yes() {
    let repo = repo();
    task(
        &repo,
        "turns:
  - tool_calls:
      - { name: shell, input: { command: \"git diff --output=migrations/001.sql\" } }
  - text: Done.
",
    );
    let r = repo.wf(&["run", "task.yaml", "--yes"]);
    r.code(1);
    assert_eq!(
        repo.read("migrations/001.sql"),
        "CREATE TABLE t (x INT);\n",
        "the protected file was changed in the user's tree"
    );
    let summary = repo.last_summary();
    assert_eq!(summary["status"], "error", "{summary}");
    let trace = repo.last_trace();
    assert!(events(&trace, "applied").is_empty());
    let refused = events(&trace, "change_refused");
    assert_eq!(refused.len(), 1, "{trace:?}");
    let path = &refused[0]["paths"][0];
    assert_eq!(path["path"], "migrations/001.sql");
    assert_eq!(path["rule"], "protect");
    let message = path["message"].as_str().unwrap();
    assert!(
        message.contains("git diff --output=migrations/001.sql"),
        "the writer is named: {message}"
    );
    let reason = summary["reason"].as_str().unwrap();
    assert!(reason.contains("migrations/001.sql"), "{reason}");
    let run = repo.runs().pop().unwrap();
    let patch = std::fs::read_to_string(run.join("diff.patch")).unwrap();
    assert!(patch.contains("migrations/001.sql"), "kept: {patch}");
}

#[test]
fn a_start_patch_leaving_the_repository_is_refused_by_replay() {
    let repo = repo();
    task(&repo, &write_toml("port = 8080"));
    repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
    let run = repo.runs().pop().unwrap();
    std::fs::write(
        run.join("start.patch"),
        "diff --git a/../../outside/pwned b/../../outside/pwned
new file mode 100644
index 0000000..e69de29
--- /dev/null
+++ b/../../outside/pwned
@@ -0,0 +1 @@
+pwned
",
    )
    .unwrap();
    let r = repo.wf(&["replay", "last"]);
    assert_ne!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let out = format!("{}{}", r.stdout, r.stderr);
    assert!(out.contains("outside/pwned"), "{out}");
    let tmp = std::env::temp_dir();
    for base in [tmp.parent().unwrap_or(&tmp), &tmp, repo.path()] {
        assert!(
            !base.join("outside/pwned").exists(),
            "written under {base:?}"
        );
    }
}

#[test]
fn a_recorded_task_file_outside_the_repository_is_refused() {
    let repo = repo();
    task(&repo, &write_toml("port = 8080"));
    repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
    // A task file elsewhere, which the tampered trace points at.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(
        elsewhere.path().join("outside.yaml"),
        repo.read("task.yaml"),
    )
    .unwrap();
    let name = elsewhere.path().file_name().unwrap().to_string_lossy();
    let outside = format!("../{name}/outside.yaml");
    assert!(repo.path().join(&outside).is_file());
    let run = repo.runs().pop().unwrap();
    let mut trace = records(&run);
    if let Event::RunStarted { spec_path, .. } = &mut trace[0].event {
        *spec_path = outside.clone();
    }
    rechain(&run, trace);
    repo.wf(&["show", "last", "--verify"]).code(0);
    let r = repo.wf(&["replay", "last"]);
    assert_ne!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let out = format!("{}{}", r.stdout, r.stderr);
    assert!(out.contains("outside the repository"), "{out}");
}

#[test]
fn an_approval_is_bound_to_the_diff_it_approved() {
    let repo = repo();
    task(&repo, &write_toml("port = 1"));
    repo.wf(&["run", "task.yaml"]).code(3);
    let run_a = repo.runs().pop().unwrap();
    repo.file("turns.yaml", &write_toml("port = 2"));
    repo.wf(&["run", "task.yaml"]).code(3);
    let run_b = repo.runs().pop().unwrap();
    assert_ne!(run_a, run_b);
    let id_a = run_a.file_name().unwrap().to_string_lossy().into_owned();
    repo.wf(&["approve", &id_a]).code(0);

    let a = records(&run_a);
    let approval = a.last().unwrap().clone();
    let Event::Checkpoint {
        diff_sha256: Some(hash_a),
        ..
    } = &approval.event
    else {
        panic!("the approval records the diff: {approval:?}");
    };
    let patch_a = std::fs::read_to_string(run_a.join("diff.patch")).unwrap();
    assert_eq!(*hash_a, wf::workspace::diff_hash(&patch_a));
    let patch_b = std::fs::read_to_string(run_b.join("diff.patch")).unwrap();
    let hash_b = wf::workspace::diff_hash(&patch_b);
    assert_ne!(*hash_a, hash_b);

    // B's trace and diff with A's approval appended, re-chained.
    let mut b = records(&run_b);
    b.push(approval.clone());
    rechain(&run_b, b);
    repo.wf(&["show", "last", "--verify"]).code(0);
    let r = repo.wf(&["resume", "last", "--yes"]);
    assert_ne!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let out = format!("{}{}", r.stdout, r.stderr);
    assert!(
        out.contains(&format!("approved diff {hash_a}, about to apply {hash_b}")),
        "{out}"
    );
    assert!(!repo.exists("config/app.toml"), "a change was applied");

    // A's own approval resumes and applies A's change.
    let r = repo.wf(&["resume", &id_a]);
    r.code(0);
    assert_eq!(repo.read("config/app.toml"), "port = 1");
}
