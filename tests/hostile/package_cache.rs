//! Route: a poisoned package cache (issue 22). A task whose commands may
//! reach a registry gets package caches of wf's own (`CARGO_HOME`,
//! `npm_config_cache`, `PIP_CACHE_DIR`, …) instead of the user's
//! read-only ones. A model-written check plants a file in them (as it
//! would plant an extracted crate source that a later `cargo test`
//! compiles). Proves: the caches are in wf's cache directory, never the
//! user's `~/.cargo` or `~/.npm`; what a run whose change was not applied
//! planted is gone at the task's next run; another task never sees what
//! this one's applied runs left.

use crate::cli::{Repo, events};

const PLANT: &str = "for d in \"$CARGO_HOME\" \"$npm_config_cache\" \"$PIP_CACHE_DIR\"; do
  case \"$d\" in \"$XDG_CACHE_HOME\"/wf/packages/*) ;; *) echo \"NOT-WFS $d\"; exit 1 ;; esac
  test -f \"$d/planted\" && echo \"FOUND $d\"
  echo evil > \"$d/planted\" || exit 1
done
echo planted";

fn task(repo: &Repo, name: &str) {
    repo.file(
        &format!("{name}.yaml"),
        &format!(
            "wf: 1
name: {name}
model: {{ provider: script, script: turns.yaml }}
prompt: Upgrade.
tools: [write_file]
permissions: {{ write: [\"notes.txt\"] }}
sandbox: {{ network: [registry.npmjs.org] }}
env: {{ XDG_CACHE_HOME: {{ from_env: XDG_CACHE_HOME }} }}
checks:
  - {{ name: plant, run: sh plant.sh }}
"
        ),
    );
}

fn found(repo: &Repo) -> usize {
    let trace = repo.last_trace();
    let out = events(&trace, "check_result")[0]["output_tail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(out.contains("planted"), "{out}");
    assert!(!out.contains("NOT-WFS"), "{out}");
    out.lines().filter(|l| l.starts_with("FOUND ")).count()
}

#[test]
fn a_package_cache_planted_by_a_run_reaches_only_its_tasks_runs_after_an_apply() {
    let repo = Repo::new();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".npm")).unwrap();
    std::fs::create_dir_all(home.path().join(".cargo")).unwrap();
    repo.file("plant.sh", PLANT)
        .file(
            "turns.yaml",
            "turns:\n  - tool_calls:\n      - { name: write_file, input: { path: notes.txt, content: \"x\\n\" } }\n  - text: Done.\n",
        );
    task(&repo, "a");
    task(&repo, "b");
    repo.commit();
    let xdg = repo.xdg()[0].1.display().to_string();
    let env = [
        ("HOME", home.path().to_str().unwrap()),
        ("XDG_CACHE_HOME", xdg.as_str()),
    ];
    let run = |task: &str, flag: &str| {
        repo.wf_env(&["run", task, flag, "--trust-sandbox"], &env)
            .code(0);
        found(&repo)
    };
    // Not applied: what it planted goes.
    assert_eq!(run("a.yaml", "--dry-run"), 0);
    assert_eq!(run("a.yaml", "--yes"), 0, "a dry run's plant survived");
    std::fs::write(repo.join("notes.txt"), "").unwrap();
    std::fs::remove_file(repo.join("notes.txt")).unwrap();
    // Applied: the task's next run has it; another task never does.
    assert_eq!(
        run("b.yaml", "--dry-run"),
        0,
        "another task's cache was shared"
    );
    assert_eq!(run("a.yaml", "--dry-run"), 3);
    // The user's own caches were never written.
    for dir in [".npm", ".cargo"] {
        assert_eq!(
            std::fs::read_dir(home.path().join(dir)).unwrap().count(),
            0,
            "{dir}"
        );
    }
}
