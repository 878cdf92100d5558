//! Route: the user's repository selects programs for git through
//! `.git/info/attributes` (`diff=pwn filter=pwn`) and its config
//! (`diff.pwn.textconv`, `diff.pwn.command`, `filter.pwn.clean`/`smudge`).
//! wf's own git — the start patch of uncommitted changes, the run's diff,
//! staging, applying and committing — must never run them.

use crate::cli::{Repo, git};
use std::os::unix::fs::PermissionsExt;

#[test]
fn attributes_in_info_never_run_a_program_from_wfs_git() {
    let repo = Repo::new();
    repo.file("src/a.txt", "one\n").commit();
    // Uncommitted changes: the run records a start patch of them.
    repo.file("src/a.txt", "one\ntwo\n")
        .file("src/new.txt", "untracked\n");
    let outside = tempfile::tempdir().unwrap();
    let sentinel = outside.path().join("pwned");
    let script = outside.path().join("pwn.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$0 $*\" >> {}\ncat \"$@\" 2>/dev/null\nexit 0\n",
            sentinel.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = script.display().to_string();
    std::fs::write(
        repo.join(".git/info/attributes"),
        "[attr]evil diff=pwn filter=pwn\n* diff=pwn filter=pwn\n*.txt evil\n",
    )
    .unwrap();
    for (key, value) in [
        ("diff.pwn.textconv", s.as_str()),
        ("diff.pwn.command", s.as_str()),
        ("diff.external", s.as_str()),
        ("filter.pwn.clean", s.as_str()),
        ("filter.pwn.smudge", s.as_str()),
        ("filter.pwn.required", "true"),
    ] {
        git(repo.path(), &["config", key, value]);
    }
    repo.file(
        "task.yaml",
        "wf: 1
name: textconv
model: { provider: script, script: turns.yaml }
tools: [write_file]
permissions: { write: [\"src/**\"] }
prompt: Work.
",
    )
    .file(
        "turns.yaml",
        "turns:
  - tool_calls:
      - { name: write_file, input: { path: src/b.txt, content: \"written\\n\" } }
  - text: Done.
",
    );
    // The planted driver works for git as the user runs it.
    git(repo.path(), &["diff", "HEAD", "--", "src/a.txt"]);
    assert!(sentinel.exists(), "the planted textconv is not effective");
    std::fs::remove_file(&sentinel).unwrap();

    let ran = repo.wf(&["run", "task.yaml", "--yes", "--commit"]);
    ran.code(0);
    assert_eq!(repo.read("src/b.txt"), "written\n");
    let run = repo.runs().pop().unwrap();
    let start = std::fs::read_to_string(run.join("start.patch")).unwrap();
    assert!(start.contains("+two"), "{start}");
    let diff = std::fs::read_to_string(run.join("diff.patch")).unwrap();
    assert!(diff.contains("+written"), "{diff}");
    assert!(
        !sentinel.exists(),
        "a program the repository selected ran: {}",
        std::fs::read_to_string(&sentinel).unwrap_or_default()
    );
}
