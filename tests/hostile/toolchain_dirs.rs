//! Route: the user's tree behind the workspace's toolchain links (issue
//! 22). A Python project has an ignored `.venv` with an editable install
//! pointing at the user's `src/`; the workspace links the `.venv` in, and
//! at the full level is shown at the repository's own path. A
//! model-written script, run by a check, reads a file of the user's tree
//! by its absolute path, writes into the user's `.venv` (by its real path,
//! through the workspace's link, and with the venv's own Python), removes
//! its `lib/`, and appends to the repository's `.git/config` by the user's
//! path and the workspace's. Proves: nothing of the user's tree but its
//! toolchain directories is readable (at the full level the path shows the
//! workspace's copy), those are read-only, and no `.git` is writable.

use crate::cli::project_toolchains::{check_results, python_project};

#[test]
fn a_check_cannot_read_the_users_tree_nor_write_its_venv_or_git() {
    let repo = python_project();
    let user_note = repo.join("notes/private.txt").canonicalize().unwrap();
    let user_venv = repo.join(".venv").canonicalize().unwrap();
    let user_git_config = repo.read(".git/config");
    // A model-written test (a planted file) attacks from inside a check.
    repo.file(
        "task.yaml",
        "wf: 1
name: attack
model: { provider: script, script: turns.yaml }
prompt: Do the task.
checks:
  - { name: attack, run: sh attack.sh }
",
    )
    .file(
        "attack.sh",
        &format!(
            "note='{note}'
venv='{venv}'
repo='{repo}'
# The user's own file, by its absolute path (the workspace's copy is
# shown there at the full level: change it there, then look again).
echo changed-in-workspace > notes/private.txt
cat \"$note\" 2>/dev/null | grep -q 'a note of the user' && echo READ-USERS-NOTE
# The user's .venv, by its real path and through the workspace's link.
echo planted > \"$venv/planted\" 2>/dev/null && echo WROTE-VENV
echo planted > .venv/planted-link 2>/dev/null && echo WROTE-VENV-LINK
.venv/bin/python -c \"open('$venv/lib/planted', 'w')\" 2>/dev/null && echo WROTE-VENV-PY
rm -rf .venv/lib 2>/dev/null
ls \"$venv/lib\" >/dev/null 2>&1 || ls .venv/lib >/dev/null 2>&1 || echo REMOVED-VENV
# The repository's git directory, by the user's path and the workspace's.
echo '[core] fsmonitor = evil' >> \"$repo/.git/config\" 2>/dev/null && echo WROTE-GIT
g=$(git rev-parse --absolute-git-dir) && test -n \"$g\" && echo FOUND-GIT-HERE
echo '[core] fsmonitor = evil' >> \"$g/config\" 2>/dev/null && echo WROTE-GIT-HERE
echo '[core] fsmonitor = evil' >> .git/config 2>/dev/null && echo WROTE-GIT-FILE
echo checked
",
            note = user_note.display(),
            venv = user_venv.display(),
            repo = repo.path().canonicalize().unwrap().display()
        ),
    )
    .file("turns.yaml", "turns:\n  - text: done\n")
    .commit();
    repo.wf(&["run", "task.yaml", "--yes"]);
    let trace = repo.last_trace();
    let (_, _, output) = check_results(&trace)
        .into_iter()
        .find(|(n, _, _)| n == "attack")
        .expect("the check ran");
    assert!(output.contains("checked"), "{output}");
    let lines: Vec<&str> = output.lines().collect();
    for leak in [
        "READ-USERS-NOTE",
        "WROTE-VENV",
        "WROTE-VENV-LINK",
        "WROTE-VENV-PY",
        "REMOVED-VENV",
        "WROTE-GIT",
    ] {
        assert!(!lines.contains(&leak), "{leak}: {output}");
    }
    // The workspace's own git directory, found as git finds it: beside
    // the workspace, outside every write root, read-only at both levels;
    // the `.git` file naming it is not even a directory to write into.
    assert!(lines.contains(&"FOUND-GIT-HERE"), "{output}");
    assert!(!lines.contains(&"WROTE-GIT-HERE"), "{output}");
    assert!(!lines.contains(&"WROTE-GIT-FILE"), "{output}");
    assert_eq!(repo.read("notes/private.txt"), "a note of the user's\n");
    assert!(!user_venv.join("planted").exists());
    assert!(!user_venv.join("planted-link").exists());
    assert!(!user_venv.join("lib/planted").exists());
    assert!(user_venv.join("lib").is_dir());
    assert_eq!(repo.read(".git/config"), user_git_config);
}
