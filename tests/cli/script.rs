//! `wf run --script FILE`: a task file (a shipped recipe included) run with
//! the script provider playing a turns file, without copying the task.

use super::{Repo, events};

/// A shipped recipe, by its path in this repository.
fn shipped(name: &str) -> String {
    format!("{}/workflows/{name}.yaml", env!("CARGO_MANIFEST_DIR"))
}

/// A repository with the security-review fixture's code and a turns file.
fn reviewed() -> Repo {
    let repo = Repo::new();
    repo.file(
        "app/handler.py",
        &std::fs::read_to_string(format!(
            "{}/workflows/tests/fixtures/py-service/app/handler.py",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .file(
        "review-turns.yaml",
        "turns:
  - tool_calls:
      - { name: search, input: { pattern: \"execute\\\\(\", path: app } }
  - text: \"High: SQL injection in app/handler.py:6; use a parameterized query.\"
",
    )
    .commit();
    repo
}

#[test]
fn a_shipped_recipe_runs_with_a_script_and_the_trace_says_so() {
    let repo = reviewed();
    let recipe = shipped("security-review");
    // Without --script the recipe's own model needs a key: nothing runs.
    let r = repo.wf(&["run", &recipe, "-i", "path=app"]);
    r.code(2);
    assert!(r.stderr.contains("ANTHROPIC_API_KEY"), "{}", r.stderr);

    let r = repo.wf(&[
        "run",
        &recipe,
        "-i",
        "path=app",
        "--script",
        "review-turns.yaml",
        "--yes",
    ]);
    r.code(0);
    assert!(
        r.stdout.contains("SQL injection") || r.stderr.contains("SQL injection"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    let trace = repo.last_trace();
    let started = &trace[0];
    assert_eq!(started["model"], "script", "{started}");
    let script = &started["script"];
    let path = repo.join("review-turns.yaml");
    assert_eq!(script["path"], path.display().to_string(), "{started}");
    assert_eq!(
        script["sha256"],
        wf::hash::sha256_hex(&std::fs::read(&path).unwrap())
    );
    assert_eq!(script["replaced"], "anthropic/claude-sonnet-4-5");
    assert_eq!(events(&trace, "tool_call").len(), 1);
}

#[test]
fn a_task_file_without_script_has_no_script_in_its_trace() {
    let repo = reviewed();
    repo.file(
        "task.yaml",
        "wf: 1
name: own-script
model: { provider: script, script: review-turns.yaml }
tools: [search]
prompt: Review app.
",
    )
    .commit();
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    assert!(repo.last_trace()[0].get("script").is_none());
}

#[test]
fn script_is_refused_where_it_makes_no_sense_before_anything_runs() {
    let repo = reviewed();
    let recipe = shipped("security-review");
    let refused = |args: &[&str], why: &str| {
        let mut all = vec!["run", recipe.as_str(), "-i", "path=app"];
        all.extend_from_slice(args);
        let r = repo.wf(&all);
        r.code(2);
        assert!(r.stderr.contains(why), "{args:?}: {}", r.stderr);
        assert!(repo.runs().is_empty(), "{args:?} started a run");
    };
    for flag in [
        &["--provider", "openai"][..],
        &["--model", "claude-haiku-4-5"],
        &["--cache"],
    ] {
        let mut args = vec!["--script", "review-turns.yaml"];
        args.extend_from_slice(flag);
        refused(
            &args,
            &format!(
                "--script gives the model's answers, so {} makes no sense with it",
                flag[0]
            ),
        );
    }
    refused(
        &["--script", "missing.yaml"],
        "--script missing.yaml: cannot read it",
    );
    repo.file("bad-turns.yaml", "turns:\n  - txt: hello\n");
    refused(&["--script", "bad-turns.yaml"], "bad-turns.yaml:2:");

    // A task of command steps only asks no model: nothing to play.
    repo.file(
        "commands.yaml",
        "wf: 1
name: only-commands
model: { provider: anthropic, name: claude-haiku-4-5 }
steps:
  - { id: hello, run: \"echo hello\" }
",
    );
    let r = repo.wf(&["run", "commands.yaml", "--script", "review-turns.yaml"]);
    r.code(2);
    assert!(
        r.stderr
            .contains("commands.yaml asks no model (it has only command steps)"),
        "{}",
        r.stderr
    );
    assert!(repo.runs().is_empty());
}

/// A task whose model states a plan first: paused at the plan checkpoint.
fn planned(repo: &Repo) {
    repo.file(
        "task.yaml",
        "wf: 1
name: planned
model: { provider: anthropic, name: claude-haiku-4-5 }
checkpoints: { plan: true }
tools: [write_file]
permissions: { write: [\"out.txt\"] }
prompt: Write out.txt.
limits: { max_repairs: 0 }
checks:
  - { name: written, run: \"grep -qx hello out.txt\" }
",
    )
    .file(
        "turns.yaml",
        "turns:
  - text: 'Plan: write out.txt.'
  - tool_calls: [{ name: write_file, input: { path: out.txt, content: \"hello\\n\" } }]
  - text: Done.
",
    )
    .commit();
}

#[test]
fn a_scripted_run_resumes_with_the_same_script_and_refuses_a_changed_one() {
    let repo = Repo::new();
    planned(&repo);
    repo.wf(&["run", "task.yaml", "--script", "turns.yaml"])
        .code(3);
    repo.wf(&["approve", "last"]).code(0);
    // Resumed from elsewhere in the repository: the recorded path is absolute.
    std::fs::create_dir_all(repo.join("sub")).unwrap();
    let out = std::process::Command::new(super::wf_bin())
        .args(["resume", "last", "--yes"])
        .current_dir(repo.join("sub"))
        .env_remove("ANTHROPIC_API_KEY")
        .env("TMPDIR", repo.tmp())
        .envs(repo.xdg())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(repo.read("out.txt"), "hello\n");
    assert_eq!(repo.last_summary()["status"], "succeeded");
    // The recorded answers replay without the turns file.
    std::fs::rename(repo.join("turns.yaml"), repo.join("turns.kept")).unwrap();
    repo.wf(&["replay", "last"]).code(0);
    std::fs::rename(repo.join("turns.kept"), repo.join("turns.yaml")).unwrap();

    // A second run; the turns file changes while it is paused.
    std::fs::remove_file(repo.join("out.txt")).unwrap();
    repo.wf(&["run", "task.yaml", "--script", "turns.yaml"])
        .code(3);
    repo.wf(&["approve", "last"]).code(0);
    repo.file(
        "turns.yaml",
        &repo.read("turns.yaml").replace("hello", "changed"),
    );
    let r = repo.wf(&["resume", "last"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("turns.yaml, which changed since"),
        "{}",
        r.stderr
    );
    assert!(!repo.exists("out.txt"));
}
