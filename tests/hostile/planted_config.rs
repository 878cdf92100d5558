//! What a command plants in the workspace's `.git`. At the full level the
//! `.git` is mounted read-only and nothing can be planted; at the level
//! without namespaces (the no-userns pass of `.ci/run` runs this group
//! there) it cannot be, so the keeper compares it after each command and
//! fails a command that changed it — but the command's writes stay.
//! Proves: what was planted steers neither wf's own git in that run (a
//! `core.worktree` pointing at a directory outside the workspace, which
//! git would otherwise stage from) nor the next run, whose workspace is
//! made anew instead of reused.

use crate::cli::{Repo, events};

/// A file outside the workspace the planted `core.worktree` points at.
const CANARY: &str = "outside-canary-77d1";

#[test]
fn a_planted_core_worktree_never_turns_wfs_git_outside_the_workspace() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), format!("{CANARY}\n")).unwrap();
    let repo = Repo::new();
    repo.file("src/lib.rs", "pub fn f() {}\n")
        .file(
            "plant.sh",
            &format!(
                "printf '[core]\\n\\tworktree = {}\\n' >> .git/config\nexit 1\n",
                outside.path().display()
            ),
        )
        .file(
            "task.yaml",
            "wf: 1
name: hostile-worktree
model: { provider: script, script: turns.yaml }
prompt: Nothing to do.
tools: [write_file]
permissions: { write: [\"src/**\"] }
limits: { max_repairs: 1 }
checks:
  - { name: look, run: \"git diff --cached --stat; git show :secret.txt; exit 0\" }
  - { name: plant, run: sh plant.sh }
",
        )
        .file(
            "turns.yaml",
            "turns:
  - text: Writing.
    tool_calls:
      - { name: write_file, input: { path: src/lib.rs, content: \"pub fn f() {}\\npub fn g() {}\\n\" } }
  - text: Done.
  - text: Again.
    tool_calls:
      - { name: write_file, input: { path: src/lib.rs, content: \"pub fn f() {}\\npub fn h() {}\\n\" } }
  - text: Done.
",
        )
        .commit();
    let r = repo.wf(&["run", "task.yaml", "--yes"]);
    let trace = repo.last_trace();
    let text = serde_json::to_string(&trace).unwrap();
    assert!(
        !text.contains(CANARY),
        "the outside file reached the record"
    );
    let written: Vec<_> = std::fs::read_dir(outside.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        written,
        ["secret.txt"],
        "wf's git wrote outside the workspace"
    );
    assert!(!repo.exists("secret.txt"));
    let level = events(&trace, "sandbox_ready")[0]["level"].clone();
    let summary = repo.last_summary();
    if level == "landlock" {
        // The plant happened (its check was failed for it): the run ends
        // before wf's git touches the copy again, with nothing applied.
        assert_eq!(summary["status"], "error", "{summary}");
        let reason = summary["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("changed the workspace's .git"), "{reason}");
        assert_eq!(events(&trace, "check_result").len(), 2);
        assert_eq!(repo.read("src/lib.rs"), "pub fn f() {}\n");
        assert!(
            r.stderr.contains("changed the workspace's .git"),
            "{}",
            r.stderr
        );
    } else {
        // Nothing could be planted: the repair round ran and its change
        // is the one kept.
        assert_eq!(summary["status"], "checks_failed", "{summary}");
        assert_eq!(events(&trace, "check_result").len(), 4);
        let run = repo.runs().pop().unwrap();
        let patch = std::fs::read_to_string(run.join("diff.patch")).unwrap();
        assert!(patch.contains("pub fn h()"), "{patch}");
    }
}

#[test]
fn a_workspace_whose_git_a_command_changed_is_made_anew_for_the_next_run() {
    let repo = Repo::new();
    repo.file("src/lib.rs", "pub fn f() {}\n")
        .file(
            "task.yaml",
            "wf: 1
name: hostile-plant
model: { provider: script, script: turns.yaml }
prompt: Nothing to do.
tools: [read_file]
limits: { max_repairs: 0 }
checks:
  - name: plant
    run: \"test -e .git/info/planted && echo PLANTED-SEEN; echo '*.rs' >> .git/info/exclude; touch .git/info/planted; exit 0\"
",
        )
        .file("turns.yaml", "turns:\n  - text: Done.\n")
        .commit();
    let mut levels = Vec::new();
    for _ in 0..2 {
        repo.wf(&["run", "task.yaml", "--yes"]);
        let trace = repo.last_trace();
        let check = &events(&trace, "check_result")[0];
        let tail = check["output_tail"].as_str().unwrap();
        assert!(!tail.contains("PLANTED-SEEN"), "a later run saw it: {tail}");
        let ready = &events(&trace, "sandbox_ready")[0];
        let level = ready["level"].as_str().unwrap_or("full").to_string();
        let reused = events(&trace, "workspace_ready")[0]["reused"] == true;
        levels.push((level, reused));
    }
    // At the level without namespaces the plant happened (the check was
    // failed for it), so the second run's workspace is a new copy; at the
    // full level nothing could be planted and the slot is reused.
    match levels[1].0.as_str() {
        "landlock" => assert!(!levels[1].1, "{levels:?}"),
        _ => assert!(levels[1].1, "{levels:?}"),
    }
}
