//! Route 12: a poisoned build cache. Checks of a Cargo project get a
//! Cargo target directory of wf's that outlives the run. Task A's model
//! writes a script that its check runs: it builds the tests, replaces the
//! test binary with one that always reports success, and dates everything
//! in the target directory in 2030 so that Cargo's fingerprints take it
//! as fresh. Later, task B (another task file) runs `cargo test` on code
//! whose test fails. Proves: B's check fails (the planted binary never
//! runs), and a task's own cache does not survive a run whose change was
//! not applied.

use super::confined::quoted;
use crate::cli::{Repo, events, git};

/// The model-written script of task A: build, replace every test binary
/// of the crate, date the target directory in the future.
const PLANT: &str = r#"set -e
cargo test --no-run -q 2>/dev/null
for bin in "$CARGO_TARGET_DIR"/debug/deps/victim-*; do
  case "$bin" in *.d) continue ;; esac
  [ -x "$bin" ] || continue
  printf '#!/bin/sh\necho "running 1 test"\necho "test result: ok. 1 passed; 0 failed"\nexit 0\n' > "$bin"
  echo "planted $(basename "$bin")"
done
find "$CARGO_TARGET_DIR" -exec touch -d '2030-01-01 00:00:00' {} +
"#;

fn crate_repo() -> Repo {
    let repo = Repo::new();
    repo.file(
        "Cargo.toml",
        "[package]\nname = \"victim\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
    )
    .file(".gitignore", "/target\n")
    .file(
        "src/lib.rs",
        "pub fn add(a: u32, b: u32) -> u32 { a + b }\n\n#[test]\nfn adds() { assert_eq!(add(2, 2), 4); }\n",
    );
    repo
}

/// A task whose scripted model writes `script` to `file` and whose one
/// check is `run`.
fn task(repo: &Repo, name: &str, writes: Option<(&str, &str)>, run: &str) {
    let turns = match writes {
        Some((file, script)) => format!(
            "turns:\n  - tool_calls:\n      - {{ name: write_file, input: {{ path: {file}, content: {} }} }}\n  - text: Done.\n",
            quoted(script)
        ),
        None => "turns:\n  - text: Done.\n".to_string(),
    };
    repo.file(&format!("{name}.turns.yaml"), &turns).file(
        &format!("{name}.yaml"),
        &format!(
            "wf: 1
name: {name}
model: {{ provider: script, script: {name}.turns.yaml }}
prompt: Work on the crate.
tools: [read_file, write_file]
permissions: {{ write: [\"**\"] }}
limits: {{ max_repairs: 0 }}
checks:
  - {{ name: check, run: {}, timeout: 300s }}
",
            quoted(run)
        ),
    );
}

/// The output of the last run's one check and whether it passed.
fn last_check(repo: &Repo) -> (bool, String) {
    let trace = repo.last_trace();
    let checks = events(&trace, "check_result");
    assert_eq!(checks.len(), 1, "{checks:?}");
    (
        checks[0]["passed"] == true,
        checks[0]["output_tail"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn a_binary_planted_by_one_task_never_runs_in_another() {
    let repo = crate_repo();
    task(&repo, "task-a", Some(("plant.sh", PLANT)), "sh plant.sh");
    task(&repo, "task-b", None, "cargo test");
    repo.commit();

    // Task A plants; its change (the script) is approved and applied.
    repo.wf(&["run", "task-a.yaml", "--yes"]).code(0);
    let (passed, output) = last_check(&repo);
    assert!(passed, "{output}");
    assert!(output.contains("planted victim-"), "{output}");

    // The code now fails its test; task B's `cargo test` must say so.
    repo.file(
        "src/lib.rs",
        "pub fn add(a: u32, b: u32) -> u32 { a * b }\n\n#[test]\nfn adds() { assert_eq!(add(2, 3), 5); }\n",
    );
    git(repo.path(), &["commit", "-qam", "a bug"]);
    let ran = repo.wf(&["run", "task-b.yaml", "--dry-run"]);
    let (passed, output) = last_check(&repo);
    assert!(!passed, "the planted binary ran: {output}");
    assert!(output.contains("test result: FAILED"), "{output}");
    assert_ne!(ran.code, 0, "{}", ran.stderr);
}

#[test]
fn a_tasks_cache_is_kept_only_after_its_change_was_applied() {
    let repo = crate_repo();
    // What a command left in the cache, seen by the next run's command.
    let probe = r#"if [ -e "$CARGO_TARGET_DIR/left-behind" ]; then echo "found"; else echo "fresh"; fi
touch "$CARGO_TARGET_DIR/left-behind""#;
    repo.file("probe.sh", probe);
    task(&repo, "task", Some(("note.txt", "a note\n")), "sh probe.sh");
    repo.commit();

    // A dry run: its change is not applied, so its cache is discarded.
    repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
    assert_eq!(last_check(&repo), (true, "fresh".to_string()));
    repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
    assert_eq!(last_check(&repo), (true, "fresh".to_string()));
    // An applied run keeps it for the next run of the same task file.
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    assert_eq!(last_check(&repo), (true, "fresh".to_string()));
    std::fs::remove_file(repo.join("note.txt")).unwrap();
    repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
    assert_eq!(last_check(&repo), (true, "found".to_string()));
}
