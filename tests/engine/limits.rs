//! Checks, repair rounds and limits, the run's and a step's (moved here
//! from `tests/cli/run.rs` and `tests/cli/step_settings.rs`: none needs a
//! wf process).

use super::{repo, run_yes, task, two_steps};
use crate::cli::Repo;
use serde_json::{Value, json};
use wf::record::event::RunStatus;

#[test]
fn a_failing_check_is_repaired_in_the_next_round() {
    let repo = repo();
    task(
        &repo,
        "checks:\n  - { name: has-host, run: \"grep -q host config/app.toml || { echo 'no host key'; exit 4; }\" }\n",
        "turns:
  - tool_calls:
      - { name: write_file, input: { path: config/app.toml, content: \"port = 8080\\n\" } }
  - text: Done.
  - tool_calls:
      - { name: edit_file, input: { path: config/app.toml, old: \"port\", new: \"host = \\\"a\\\"\\nport\" } }
  - text: Fixed.
",
    );
    let ran = run_yes(&repo, "task.yaml");
    assert_eq!(
        ran.outcome.status,
        RunStatus::Succeeded,
        "{:?}",
        ran.outcome
    );
    assert_eq!(repo.read("config/app.toml"), "host = \"a\"\nport = 8080\n");
    let checks = ran.events("check_result");
    assert_eq!(checks.len(), 2);
    assert_eq!(
        (checks[0]["passed"].clone(), checks[0]["exit_code"].clone()),
        (Value::Bool(false), Value::from(4))
    );
    assert_eq!(checks[1]["passed"], true);
    assert_eq!(checks[1]["round"], 1);
    assert_eq!(
        ran.events("repair_requested")[0]["failed"],
        json!(["has-host"])
    );
    assert_eq!(repo.last_summary()["totals"]["repairs"], 1);
}

#[test]
fn exhausted_repairs_fail_and_keep_the_diff_with_the_tree_untouched() {
    let repo = repo();
    task(
        &repo,
        "checks:\n  - { name: never, run: \"echo nope; exit 1\" }\nlimits: { max_repairs: 1 }\n",
        "turns:
  - tool_calls:
      - { name: write_file, input: { path: config/app.toml, content: x } }
  - text: Done.
  - text: Still done.
",
    );
    let before = repo.status();
    let ran = run_yes(&repo, "task.yaml");
    assert_eq!(ran.outcome.status, RunStatus::ChecksFailed);
    assert_eq!(repo.status(), before, "the tree changed");
    assert!(!repo.exists("config/app.toml"));
    let reason = ran.outcome.reason.as_deref().unwrap();
    assert!(
        reason.contains("check `never` still fails after 1 repair round"),
        "{reason}"
    );
    assert!(ran.asked.is_empty(), "a failed run asks nobody");
    // The check ran (confined by the wf binary) and failed on its own.
    let check = ran.events("check_result")[0];
    assert_eq!(check["exit_code"], 1, "{check}");
    assert!(
        check["output_tail"].as_str().unwrap().contains("nope"),
        "{check}"
    );
    let patch = ran.patch();
    assert!(
        patch.contains("+++ b/config/app.toml"),
        "the diff is kept: {patch}"
    );
}

#[test]
fn limits_end_the_run_with_a_status_that_names_them() {
    let repo = repo();
    task(
        &repo,
        "limits: { max_turns: 2 }\n",
        "turns:
  - tool_calls: [ { name: list_files, input: {} } ]
  - tool_calls: [ { name: list_files, input: {} } ]
  - tool_calls: [ { name: list_files, input: {} } ]
",
    );
    let ran = run_yes(&repo, "task.yaml");
    assert_eq!(ran.outcome.status, RunStatus::TurnLimit);
    assert_eq!(repo.last_summary()["totals"]["turns"], 2);
    assert_eq!(ran.events("limit_reached")[0]["limit"], "max_turns");
}

#[test]
fn step_limits_bound_the_step_within_the_run() {
    let repo = two_steps("    limits: { max_turns: 1 }");
    let ran = run_yes(&repo, "task.yaml");
    assert_eq!(ran.outcome.status, RunStatus::TurnLimit);
    let limit = ran.events("limit_reached");
    assert!(
        limit[0]["message"]
            .as_str()
            .unwrap()
            .contains("in step `first`, its limit"),
        "{}",
        limit[0]
    );
    assert_eq!(ran.events("model_request").len(), 1);
    assert!(!repo.exists("a.txt"));
}

#[test]
fn a_step_repair_limit_overrides_the_runs() {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        "wf: 1
name: strict
model: { provider: script, script: task.turns.yaml }
limits: { max_repairs: 3 }
steps:
  - id: only
    prompt: Do it.
    limits: { max_repairs: 0 }
    checks: [{ name: never, run: \"false\" }]
",
    )
    .file(
        "task.turns.yaml",
        "turns:\n  - text: done\n  - text: done again\n",
    )
    .commit();
    let ran = run_yes(&repo, "task.yaml");
    assert_eq!(ran.outcome.status, RunStatus::ChecksFailed);
    assert!(ran.events("repair_requested").is_empty());
    assert_eq!(ran.events("model_request").len(), 1);
    assert_eq!(ran.events("check_result")[0]["exit_code"], 1);
}

#[test]
fn a_step_timeout_hit_during_checks_ends_on_the_time_limit() {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        "wf: 1
name: slow-check
model: { provider: script, script: turns.yaml }
steps:
  - id: only
    prompt: Do it.
    limits: { timeout: 1s }
    checks: [{ name: slow, run: \"sleep 3\" }]
",
    )
    .file("turns.yaml", "turns:\n  - text: done\n  - text: done\n")
    .commit();
    let ran = run_yes(&repo, "task.yaml");
    assert_eq!(ran.outcome.status, RunStatus::Timeout, "{:?}", ran.outcome);
    let reason = ran.outcome.reason.as_deref().unwrap();
    assert!(reason.contains("step `only` ran out of its 1s"), "{reason}");
    assert!(ran.events("repair_requested").is_empty());
}
