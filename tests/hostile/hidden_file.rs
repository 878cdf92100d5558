//! Route: a file the review does not show. A model writes a second file
//! whose name git quotes in a patch (`tests/test_"ok".py`; a tab, a
//! newline, a space, non-ASCII): the checkpoint must list and count every
//! file the applied patch holds, names escaped.

use crate::cli::Repo;

/// The names written, and how the review shows each.
const NAMES: &[(&str, &str)] = &[
    ("src/lib.rs", "src/lib.rs"),
    ("tests/test_\"ok\".py", "tests/test_\"ok\".py"),
    ("tests/my test.py", "tests/my test.py"),
    ("tests/tab\there.py", "tests/tab\\there.py"),
    ("tests/new\nline.py", "tests/new\\nline.py"),
    ("tests/ünï.py", "tests/ünï.py"),
];

fn repo() -> Repo {
    let repo = Repo::new();
    repo.file("src/lib.rs", "pub fn f() {}\n").commit();
    let mut turns = String::from("turns:\n  - tool_calls:\n");
    for (i, (name, _)) in NAMES.iter().enumerate() {
        let name = serde_json::to_string(name).unwrap();
        turns.push_str(&format!(
            "      - {{ name: write_file, input: {{ path: {name}, content: \"line {i}\\n\" }} }}\n"
        ));
    }
    turns.push_str("  - text: Done.\n");
    repo.file(
        "task.yaml",
        "wf: 1
name: hidden
model: { provider: script, script: turns.yaml }
tools: [write_file]
permissions: { write: [\"src/**\", \"tests/**\"] }
prompt: Work.
",
    )
    .file("turns.yaml", &turns)
    .commit();
    repo
}

#[track_caller]
fn lists_every_file(out: &str) {
    for (_, shown) in NAMES {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!(" {shown} ")) && l.contains("| +1 -")),
            "{shown} is missing from the diffstat:\n{out}"
        );
    }
    assert!(
        out.contains(" 6 files changed, 6 insertions(+), 1 deletion(-)"),
        "{out}"
    );
}

#[test]
fn a_dry_run_lists_and_counts_every_file_of_the_patch() {
    let repo = repo();
    let ran = repo.wf(&["run", "task.yaml", "--dry-run"]);
    ran.code(0);
    lists_every_file(&format!("{}{}", ran.stdout, ran.stderr));
    let diff = std::fs::read_to_string(repo.runs().pop().unwrap().join("diff.patch")).unwrap();
    assert_eq!(
        diff.matches("\ndiff --git ").count() + 1,
        NAMES.len(),
        "{diff}"
    );
}

#[test]
fn the_paused_apply_review_lists_and_counts_every_file() {
    let repo = repo();
    // No terminal and no --yes: the run pauses at the apply checkpoint and
    // prints what waits for approval.
    let ran = repo.wf(&["run", "task.yaml"]);
    let out = format!("{}{}", ran.stdout, ran.stderr);
    lists_every_file(&out);
    assert!(out.contains("paused at the apply checkpoint"), "{out}");
    // The names never reach the terminal raw.
    assert!(
        !out.contains("tab\there") && !out.contains("new\nline"),
        "{out}"
    );
}
