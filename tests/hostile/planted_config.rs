//! What a command plants in the workspace's git. The copy's git directory
//! lies beside its work tree, outside every write root, and the work
//! tree's `.git` is a file naming it: commands (checks, `shell` calls, MCP
//! servers) read it and cannot write it at either level. The `.git` file
//! itself is read-only at the full level; at the level without namespaces
//! (the no-userns pass of `.ci/run` runs this group there) a change to it
//! is found after the command. Proves: a planted `core.worktree` pointing
//! outside (which, before the git directory moved out, made wf's own
//! unconfined git write the workspace's files there) never lands, whatever
//! the level; and a changed `.git` file ends the run and makes the next
//! run's workspace a new copy.

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
                "g=$(git rev-parse --absolute-git-dir)
printf '[core]\\n\\tworktree = {0}\\n' >> \"$g/config\" && echo PLANTED
printf '[core]\\n\\tworktree = {0}\\n' >> .git/config && echo PLANTED-FILE
exit 1
",
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
    repo.wf(&["run", "task.yaml", "--yes"]);
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
    let checks = events(&trace, "check_result");
    for check in &checks {
        let tail = check["output_tail"].as_str().unwrap();
        assert!(!tail.contains("PLANTED"), "{tail}");
    }
    // Nothing could be planted: the repair round ran, and its change is
    // the one kept.
    assert_eq!(repo.last_summary()["status"], "checks_failed");
    assert_eq!(checks.len(), 4);
    let run = repo.runs().pop().unwrap();
    let patch = std::fs::read_to_string(run.join("diff.patch")).unwrap();
    assert!(patch.contains("pub fn h()"), "{patch}");
}

#[test]
fn a_workspace_whose_git_file_a_command_changed_is_made_anew_for_the_next_run() {
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
    run: \"test -d .git && echo OLD-LAYOUT; grep -q planted .git && echo PLANTED-SEEN; printf 'gitdir: planted\\\\n' > .git; exit 0\"
",
        )
        .file("turns.yaml", "turns:\n  - text: Done.\n")
        .commit();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let r = repo.wf(&["run", "task.yaml", "--yes"]);
        let trace = repo.last_trace();
        let check = &events(&trace, "check_result")[0];
        let tail = check["output_tail"].as_str().unwrap();
        assert!(!tail.contains("PLANTED-SEEN"), "a later run saw it: {tail}");
        assert!(!tail.contains("OLD-LAYOUT"), "{tail}");
        let level = events(&trace, "sandbox_ready")[0]["level"]
            .as_str()
            .unwrap_or("full")
            .to_string();
        let reused = events(&trace, "workspace_ready")[0]["reused"] == true;
        seen.push((
            level,
            reused,
            repo.last_summary()["status"].clone(),
            r.stderr,
        ));
    }
    if seen[1].0 == "landlock" {
        // The keeper found the `.git` file changed and failed the check;
        // wf runs no git in that copy again (the run ends, nothing
        // applied) and the next run starts from a new copy.
        for (_, _, status, stderr) in &seen {
            assert_eq!(status, "error", "{stderr}");
            assert!(stderr.contains("changed the workspace's .git"), "{stderr}");
        }
        assert!(!seen[1].1, "the changed copy was reused");
    } else {
        // Read-only at the full level: nothing changed, the slot is reused.
        assert_eq!(seen[0].2, "succeeded", "{}", seen[0].3);
        assert!(seen[1].1, "{seen:?}");
    }
}

#[test]
fn a_task_write_root_holding_the_git_directory_does_not_make_it_writable() {
    let repo = Repo::new();
    // wf's workspaces live under the repository's TMPDIR; the task grants
    // writing all of it (an approved widening), and so, as grants add up,
    // the slot's git directory beside the workspace.
    let root = repo.tmp().canonicalize().unwrap();
    repo.file("src/lib.rs", "pub fn f() {}\n")
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: hostile-write-root
model: {{ provider: script, script: turns.yaml }}
prompt: Nothing to do.
tools: [read_file]
limits: {{ max_repairs: 0 }}
sandbox: {{ write: [\"{}\"] }}
checks:
  - name: plant
    run: \"g=$(git rev-parse --absolute-git-dir) && test -n \\\"$g\\\" && echo planted > \\\"$g/planted\\\" && echo PLANTED; exit 0\"
",
                root.display()
            ),
        )
        .file("turns.yaml", "turns:\n  - text: Done.\n")
        .commit();
    let r = repo.wf(&["run", "task.yaml", "--yes", "--trust-sandbox"]);
    let trace = repo.last_trace();
    let check = &events(&trace, "check_result")[0];
    let level = events(&trace, "sandbox_ready")[0]["level"].clone();
    if level == "landlock" {
        // Writable there (Landlock cannot take back a grant), so compared
        // after the command: failed, and the run ends with nothing applied.
        assert_eq!(check["passed"], false, "{check}");
        assert_eq!(repo.last_summary()["status"], "error", "{}", r.stderr);
        assert!(
            r.stderr.contains("changed the workspace's .git"),
            "{}",
            r.stderr
        );
    } else {
        let tail = check["output_tail"].as_str().unwrap();
        assert!(!tail.contains("PLANTED"), "{tail}");
        assert_eq!(repo.last_summary()["status"], "succeeded", "{}", r.stderr);
    }
}
