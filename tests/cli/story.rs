//! What a run tells the person who started it (issue #15): why a check
//! failed, what the model did and answered, how to go on after a pause, and
//! no money spent on a check that cannot run.

use super::{Repo, events};

/// A repository with a config to migrate and a task whose check wants a
/// `pool_size` key; `extra` is appended to the task file.
fn repo(extra: &str, turns: &str) -> Repo {
    let repo = Repo::new();
    repo.file("config/app.ini", "[server]\nport = 8080\n")
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: migrate
model: {{ provider: script, script: turns.yaml }}
tools: [read_file, write_file, shell]
permissions:
  write: [\"config/**\"]
  shell: {{ allow: [\"cat *\"] }}
prompt: Migrate config/app.ini to TOML.
{extra}"
            ),
        )
        .file("turns.yaml", turns)
        .commit();
    repo
}

const KEEPS_EVERY_KEY: &str = "checks:
  - name: keeps-every-key
    run: \"grep -q pool_size config/app.toml || { echo 'missing key: pool_size'; exit 1; }\"
";

const WRITE: &str = "turns:
  - tool_calls:
      - { name: read_file, input: { path: config/app.ini } }
      - { name: shell, input: { command: cat nope.txt } }
      - { name: write_file, input: { path: config/app.toml, content: \"port = 8080\\n\" } }
  - text: \"Wrote config/app.toml.\\nEvery key is kept.\"
";

#[test]
fn why_a_check_failed_is_shown_and_all_of_it_by_wf_show_check() {
    let repo = repo(
        &format!("{KEEPS_EVERY_KEY}limits: {{ max_repairs: 0 }}\n"),
        WRITE,
    );
    let r = repo.wf(&["run", "task.yaml", "--yes"]);
    r.code(1);
    // The time it took is whatever the machine took; the rest is exact.
    let shown = regex::Regex::new(r"in \d+\.\ds\n")
        .unwrap()
        .replace_all(&r.stderr, "in N.Ns\n")
        .into_owned();
    assert!(
        shown
            .contains("check keeps-every-key: FAILED (exit 1) in N.Ns\n    missing key: pool_size"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("--check keeps-every-key` shows all of its output")
    );
    // Each tool call on one line; a failed shell call with what it printed.
    assert!(
        r.stderr.contains("wf: read_file config/app.ini → 21 bytes"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("wf: shell cat nope.txt → exit code 1\n    cat: nope.txt: No such file"),
        "{}",
        r.stderr
    );
    let show = repo.wf(&["show", "last"]);
    assert!(
        show.stdout.contains("missing key: pool_size"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout.contains("--check keeps-every-key"),
        "{}",
        show.stdout
    );
    let all = repo.wf(&["show", "last", "--check", "keeps-every-key"]);
    all.code(0);
    assert_eq!(
        all.stdout,
        "── check keeps-every-key, round 0: FAILED (exit 1)\nmissing key: pool_size\n"
    );
    let none = repo.wf(&["show", "last", "--check", "tests"]);
    none.code(2);
    assert!(
        none.stderr.contains("the checks that ran: keeps-every-key"),
        "{}",
        none.stderr
    );
}

#[test]
fn the_final_answer_is_printed_unless_quiet() {
    let repo = repo("", WRITE);
    let r = repo.wf(&["run", "task.yaml", "--dry-run"]);
    r.code(0);
    assert!(
        r.stderr
            .contains("the model's answer:\n  Wrote config/app.toml.\n  Every key is kept.\n"),
        "{}",
        r.stderr
    );
    let q = repo.wf(&["run", "task.yaml", "--dry-run", "--quiet"]);
    q.code(0);
    assert!(!q.stderr.contains("the model's answer"), "{}", q.stderr);
    assert!(!q.stderr.contains("Every key is kept."), "{}", q.stderr);
    assert!(
        !q.stderr.contains("read_file config/app.ini"),
        "{}",
        q.stderr
    );
    // `wf show` has the whole answer too.
    let show = repo.wf(&["show", "last"]);
    assert!(
        show.stdout.contains("Every key is kept."),
        "{}",
        show.stdout
    );
}

#[test]
fn a_pause_prints_the_commands_that_go_on_and_the_plan_to_approve() {
    let repo = repo(
        "checkpoints: { plan: true }\n",
        "turns:
  - text: 'Plan: write config/app.toml with every key.'
  - tool_calls:
      - { name: write_file, input: { path: config/app.toml, content: \"port = 8080\\n\" } }
  - text: Done.
",
    );
    let r = repo.wf(&["run", "task.yaml"]);
    r.code(3);
    let id = repo.last_summary()["run_id"].as_str().unwrap().to_string();
    for command in [
        format!("wf approve {id}"),
        format!("wf reject {id}"),
        format!("wf resume {id}"),
    ] {
        assert!(
            r.stderr.contains(&command),
            "`{command}` missing:\n{}",
            r.stderr
        );
    }
    assert!(
        r.stderr
            .contains("Plan: write config/app.toml with every key."),
        "the plan is shown: {}",
        r.stderr
    );
    assert!(!r.stderr.contains("paused: paused"), "{}", r.stderr);
    repo.wf(&["approve", "last"]).code(0);
    // The apply checkpoint ahead pauses again, and says so the same way.
    let again = repo.wf(&["resume", "last"]);
    again.code(3);
    assert!(
        again.stderr.contains(&format!("wf approve {id}")),
        "{}",
        again.stderr
    );
    assert!(
        again.stderr.contains("+port = 8080"),
        "the change to approve: {}",
        again.stderr
    );
}

/// A program named by a relative path is looked for only when it runs (a
/// step may create it); when missing, the run ends there.
#[test]
fn a_check_whose_program_is_missing_ends_the_run_without_a_repair() {
    let repo = repo(
        "checks:\n  - { name: tests, run: ./bin/wf-no-such-program -q }\nlimits: { max_repairs: 3 }\n",
        WRITE,
    );
    let r = repo.wf(&["run", "task.yaml", "--yes"]);
    r.code(1);
    let trace = repo.last_trace();
    // The two turns of the script, and no third to repair.
    assert_eq!(events(&trace, "model_request").len(), 2);
    assert!(events(&trace, "repair_requested").is_empty());
    let s = repo.last_summary();
    assert_eq!(s["status"], "checks_failed");
    let reason = s["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(
            "check `tests` cannot run: `./bin/wf-no-such-program` was not found (exit 127)"
        ),
        "{reason}"
    );
    assert!(reason.contains("no repair round was spent"), "{reason}");
    assert!(r.stderr.contains("cannot run"), "{}", r.stderr);
}

#[test]
fn a_command_step_whose_program_is_missing_ends_the_run() {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        "wf: 1
name: steps
model: { provider: script, script: turns.yaml }
steps:
  - id: lint
    run: ./bin/wf-no-such-linter --all
  - id: after
    run: touch after.txt
",
    )
    .file("turns.yaml", "turns: []\n")
    .commit();
    let r = repo.wf(&["run", "task.yaml", "--yes"]);
    r.code(1);
    let s = repo.last_summary();
    assert_eq!(s["status"], "error");
    assert!(
        s["reason"]
            .as_str()
            .unwrap()
            .starts_with("command step `lint` cannot run: `./bin/wf-no-such-linter` was not found"),
        "{s}"
    );
    assert!(
        !events(&repo.last_trace(), "step_started")
            .iter()
            .any(|e| e["id"] == "after")
    );
}

/// Issue 25: `wf plan` noted the missing program, but `wf run` spent the
/// model's turns before the check ended it with exit 127. Now it refuses
/// before any request, names each such program, and suggests the one
/// meant; a program after a command step (which may install it) is noted.
#[test]
fn a_check_whose_program_is_not_on_path_is_refused_before_any_model_turn() {
    let repo = repo(
        "checks:\n  - { name: tests, run: wf-fake-tol -q }\n  - { name: lint, run: wf-no-such-linter }\n",
        WRITE,
    );
    let bin = tempfile::tempdir().unwrap();
    let tool = bin.path().join("wf-fake-tool");
    std::fs::write(&tool, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    let r = repo.wf_env(&["run", "task.yaml", "--yes"], &[("PATH", &path)]);
    r.code(2);
    assert!(
        r.stderr.contains(
            "check `tests` runs `wf-fake-tol`, which is not found on PATH here (did you mean `wf-fake-tool`?)"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("check `lint` runs `wf-no-such-linter`, which is not found on PATH here;"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("no model request was made"),
        "{}",
        r.stderr
    );
    assert!(repo.runs().is_empty(), "a run folder was made");

    // After a command step that may install it: a note, and the run goes on.
    repo.file(
        "task.yaml",
        "wf: 1
name: steps
model: { provider: script, script: turns.yaml }
steps:
  - id: install
    run: \"true\"
  - id: use
    run: wf-installed-by-the-step-before
",
    )
    .file("turns.yaml", "turns: []\n");
    let r = repo.wf(&["run", "task.yaml", "--yes"]);
    assert!(
        r.stderr.contains(
            "note: command step `use`: `wf-installed-by-the-step-before` is not found on PATH here; unless a command step before it installs it"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(repo.runs().len(), 1);
}

#[test]
fn wf_show_speaks_words_not_rust_enum_names() {
    let repo = repo(KEEPS_EVERY_KEY, WRITE);
    repo.wf(&["run", "task.yaml", "--dry-run"]);
    let show = repo.wf(&["show", "last"]);
    show.code(0);
    for rust in ["EndTurn", "ToolUse", "MaxTokens", "Some(", "None"] {
        assert!(!show.stdout.contains(rust), "`{rust}` in:\n{}", show.stdout);
    }
    assert!(
        show.stdout.contains("answered (calls tools;"),
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains("answered (done;"), "{}", show.stdout);
}

/// A steps file whose second step has `if: IF`.
fn conditional(repo: &Repo, condition: &str) {
    repo.file(
        "task.yaml",
        &format!(
            "wf: 1
name: cond
model: {{ provider: script, script: turns.yaml }}
inputs:
  strict: {{ type: boolean, default: false }}
steps:
  - id: first
    run: \"true\"
  - id: strict_only
    if: \"{condition}\"
    run: touch strict.txt
"
        ),
    )
    .file("turns.yaml", "turns: []\n");
}

#[test]
fn an_if_in_braces_is_accepted_and_braces_elsewhere_say_to_drop_them() {
    let repo = Repo::new();
    conditional(&repo, "{{ inputs.strict }}");
    repo.commit();
    repo.wf(&["validate", "task.yaml"]).code(0);
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    let skipped = events(&repo.last_trace(), "step_skipped")
        .iter()
        .map(|e| e["id"].clone())
        .collect::<Vec<_>>();
    assert_eq!(skipped, ["strict_only"]);
    repo.wf(&["run", "task.yaml", "--yes", "-i", "strict=true"])
        .code(0);
    assert!(events(&repo.last_trace(), "step_skipped").is_empty());

    conditional(&repo, "{{ inputs.strict }} and {{ inputs.strict }}");
    let r = repo.wf(&["validate", "task.yaml"]);
    r.code(2);
    assert!(
        r.stderr.contains("task.yaml:10:9"),
        "file, line and column: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains(
            "`if:` is an expression, not a template: drop the `{{ }}` (write `if: inputs.strict and inputs.strict`)"
        ),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("unexpected }"), "{}", r.stderr);
}
