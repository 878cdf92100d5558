//! `wf replay`: recorded runs re-executed and compared event by event.

use super::Repo;

fn repo(check: &str) -> Repo {
    let repo = Repo::new();
    repo.file("config/app.ini", "port = 8080\n")
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: replayed
inputs:
  port: {{ type: integer, default: 8080 }}
model: {{ provider: script, script: turns.yaml }}
context: {{ include: [config/app.ini] }}
tools: [read_file, write_file]
permissions: {{ write: [\"config/**\"] }}
prompt: Move port {{{{ inputs.port }}}} to TOML.
checks:
  - {{ name: ready, run: \"{check}\" }}
"
            ),
        )
        .file(
            "turns.yaml",
            "turns:
  - tool_calls:
      - { name: read_file, input: { path: config/app.ini } }
      - { name: write_file, input: { path: config/app.toml, content: \"port = 8080\\n\" } }
  - text: Done.
",
        )
        .commit();
    repo
}

#[test]
fn a_replay_reproduces_the_run_even_after_the_tree_changed() {
    let repo = repo("test -f config/app.toml");
    // Uncommitted state at run time is part of the recorded start.
    repo.file("config/app.ini", "port = 8080\n# local note\n");
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    // Since then: the change was applied, the note removed, a file edited.
    repo.file("config/app.ini", "port = 9999\n");
    let r = repo.wf(&["replay", "last"]);
    r.code(0);
    assert!(
        r.stdout.contains("reproduced") && r.stdout.contains("events"),
        "{}",
        r.stdout
    );
    assert_eq!(
        repo.read("config/app.ini"),
        "port = 9999\n",
        "replay touched the tree"
    );
}

#[test]
fn replay_current_fails_at_the_changed_context_file() {
    let repo = repo("test -f config/app.toml");
    repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
    repo.file("config/app.ini", "port = 9999\n");
    let r = repo.wf(&["replay", "last", "--current"]);
    r.code(1);
    assert!(
        r.stdout.contains("diverged at event 3 (context_resolved): context file config/app.ini changed since the run"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_changed_task_file_and_a_now_failing_check_are_named() {
    // The marker lives in a directory on wf's PATH: a read root of the
    // sandbox (a file elsewhere outside the repository is not in its view).
    let bin = tempfile::tempdir().unwrap();
    let dir = bin.path().canonicalize().unwrap();
    let path = dir.join("marker");
    std::fs::write(&path, "").unwrap();
    let search = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap());
    let env = [("PATH", search.as_str())];
    let repo = repo(&format!("test -f {}", path.display()));
    repo.wf_env(&["run", "task.yaml", "--dry-run"], &env)
        .code(0);

    // The check's world changed: it now fails.
    std::fs::remove_file(&path).unwrap();
    let r = repo.wf_env(&["replay", "last"], &env);
    r.code(1);
    assert!(
        r.stdout.contains("(check_result): check `ready` now fails"),
        "{}",
        r.stdout
    );
    std::fs::write(&path, "").unwrap();

    // The task file changed.
    let task = repo
        .read("task.yaml")
        .replace("Move port", "Please move port");
    repo.file("task.yaml", &task);
    let r = repo.wf_env(&["replay", "last"], &env);
    r.code(1);
    assert!(
        r.stdout.contains(
            "diverged at event 0 (run_started): the task file changed: spec hash differs"
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn against_finds_where_two_runs_went_different_ways() {
    let repo = repo("true");
    repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
    repo.file("config/app.ini", "port = 7070\n");
    repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
    let runs = repo.runs();
    let id = |p: &std::path::Path| p.file_name().unwrap().to_string_lossy().into_owned();
    let (first, second) = (id(&runs[0]), id(&runs[1]));
    let r = repo.wf(&["replay", &first, "--against", &second]);
    r.code(1);
    assert!(
        r.stdout.contains(
            "diverged at event 3 (context_resolved): context file config/app.ini changed"
        ),
        "{}",
        r.stdout
    );
    let same = repo.wf(&["replay", &first, "--against", &first]);
    same.code(0);
    assert!(same.stdout.contains("went the same way"), "{}", same.stdout);
}

#[test]
fn a_unittest_check_whose_output_differs_reproduces_with_a_note_and_a_changed_verdict_diverges() {
    let flip = tempfile::tempdir().unwrap();
    let flag = flip.path().join("fail");
    let repo = Repo::new();
    repo.file(
        "test_calc.py",
        "import sys\nimport time\nimport unittest\n\nimport calc\n\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        print('now', time.time_ns(), file=sys.stderr)\n        self.assertEqual(calc.add(1, 2), 3)\n",
    )
    .file(
        "task.yaml",
        &format!(
            "wf: 1
name: timed
model: {{ provider: script, script: turns.yaml }}
prompt: Add calc.
limits: {{ max_repairs: 0 }}
tools: [write_file]
permissions: {{ write: [\"*.py\"] }}
sandbox: {{ write: [\"{dir}\"] }}
checks:
  - {{ name: unittest, run: \"python3 -m unittest && test ! -e {flag}\" }}
",
            dir = flip.path().display(),
            flag = flag.display()
        ),
    )
    .file(
        "turns.yaml",
        "turns:
  - tool_calls:
      - { name: write_file, input: { path: calc.py, content: \"def add(a, b):\\n    return a + b\\n\" } }
  - text: Done.
",
    )
    .commit();
    // The approval is remembered: the replay runs the check again without it.
    repo.wf(&["run", "task.yaml", "--yes", "--trust-sandbox"])
        .code(0);
    let r = repo.wf(&["replay", "last"]);
    r.code(0);
    assert!(r.stdout.contains("reproduced"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("note: check `unittest` printed different output: \"now "),
        "{}",
        r.stdout
    );
    // The verdict changes: a divergence, whatever the output.
    std::fs::write(&flag, "").unwrap();
    let r = repo.wf(&["replay", "last"]);
    r.code(1);
    assert!(
        r.stdout.contains("check `unittest` now fails"),
        "{}",
        r.stdout
    );
}
