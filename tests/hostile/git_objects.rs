//! Route 9: the user's other git objects. The user's repository holds a
//! secret on another branch and in the stash; a check (a model-written
//! script) asks git in the workspace for every object it can reach (`git
//! cat-file --batch-all-objects --batch`), every ref (`git log --all`) and
//! the stash (`git stash list`). Proves: the workspace's git holds only
//! what the start commit and the starting tree reach (its own object
//! store, the user's store not borrowed nor readable in the sandbox), and
//! git still works on the start in the check (`git log -1`, `git diff`).

use crate::cli::{Repo, events, git};

/// The secrets, as the check's script cannot spell them (the script is
/// committed, so a literal would be in the start commit's own objects).
const BRANCH_SECRET: &str = "branch-canary-5e1f";
const STASH_SECRET: &str = "stash-canary-a93c";

/// Looks for both secrets with patterns that do not hold them literally,
/// prints what git shows, then changes a file and asks git for the diff.
const CHECK: &str = r#"set -u
git log -1 --format='head: %s' || echo 'head: none'
git cat-file --batch-all-objects --batch > "$TMPDIR/all" 2>&1
echo "objects: $(git cat-file --batch-all-objects --batch-check | wc -l)"
git log --all --format='ref-log: %s' > "$TMPDIR/refs" 2>&1
git stash list > "$TMPDIR/stash" 2>&1
git for-each-ref --format='ref: %(refname)' >> "$TMPDIR/refs" 2>&1
cat "$TMPDIR/refs"
echo "stash entries: $(wc -l < "$TMPDIR/stash")"
for what in branch stash; do
  if grep -q "$what-[c]anary" "$TMPDIR/all" "$TMPDIR/refs" "$TMPDIR/stash"; then
    echo "LEAKED $what"
  else
    echo "hidden $what"
  fi
done
echo '// changed by the check' >> src/lib.rs
git diff --stat
git diff | grep -q '^+// changed by the check' && echo 'diff: works'
git diff HEAD --stat | grep -q 'src/lib.rs' && echo 'diff HEAD: works'
git show HEAD:src/lib.rs | grep -q 'pub fn f' && echo 'show: works'
exit 0
"#;

#[test]
fn a_check_reads_only_what_the_start_commit_reaches() {
    let repo = Repo::new();
    repo.file("src/lib.rs", "pub fn f() {}\n")
        .file("check.sh", CHECK)
        .file(
            "task.yaml",
            "wf: 1
name: hostile-objects
model: { provider: script, script: turns.yaml }
prompt: Nothing to do.
tools: [read_file]
limits: { max_repairs: 0 }
checks:
  - { name: attack, run: sh check.sh }
",
        )
        .file("turns.yaml", "turns:\n  - text: Done.\n")
        .commit();
    // A secret on another branch, never merged.
    git(repo.path(), &["checkout", "-q", "-b", "private"]);
    repo.file("notes.txt", &format!("token {BRANCH_SECRET}\n"));
    git(repo.path(), &["add", "notes.txt"]);
    git(repo.path(), &["commit", "-qm", "private notes"]);
    git(repo.path(), &["checkout", "-q", "main"]);
    // Another in the stash: a change to a tracked file, put aside.
    repo.file(
        "src/lib.rs",
        &format!("// {STASH_SECRET}\npub fn f() {{}}\n"),
    );
    git(repo.path(), &["stash", "-q"]);
    // The start also has an uncommitted change, which the check may see.
    repo.file("README.md", "work in progress\n");
    git(repo.path(), &["commit", "--allow-empty", "-qm", "second"]);

    for round in ["first run of the slot", "a later run"] {
        repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
        let trace = repo.last_trace();
        let checks = events(&trace, "check_result");
        assert_eq!(checks.len(), 1, "{round}: {checks:?}");
        let output = checks[0]["output_tail"].as_str().unwrap();
        assert!(output.contains("hidden branch"), "{round}: {output}");
        assert!(output.contains("hidden stash"), "{round}: {output}");
        assert!(!output.contains("LEAKED"), "{round}: {output}");
        assert!(output.contains("stash entries: 0"), "{round}: {output}");
        assert!(!output.contains("private"), "{round}: {output}");
        // git works on the start: HEAD is the user's commit, the starting
        // tree (with its uncommitted file) is in the index, diffs work.
        assert!(output.contains("head: second"), "{round}: {output}");
        assert!(output.contains("diff: works"), "{round}: {output}");
        assert!(output.contains("diff HEAD: works"), "{round}: {output}");
        assert!(output.contains("show: works"), "{round}: {output}");
        // Nothing of either secret anywhere in the run's records.
        let run = repo.runs().pop().unwrap();
        for entry in std::fs::read_dir(&run).unwrap() {
            let path = entry.unwrap().path();
            if let Ok(text) = std::fs::read(&path) {
                let text = String::from_utf8_lossy(&text);
                for secret in [BRANCH_SECRET, STASH_SECRET] {
                    assert!(!text.contains(secret), "{round}: {}", path.display());
                }
            }
        }
        // The user moves on: a new commit, so the later run's slot is
        // brought forward incrementally.
        repo.file("src/more.rs", &format!("// after the {round}\n"));
        git(repo.path(), &["add", "src/more.rs"]);
        git(repo.path(), &["commit", "-qm", "second"]);
    }
}
