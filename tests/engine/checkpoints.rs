//! Checkpoints as the engine hands them to its approver: what waits (the
//! model's plan, the change as patch, stat and paths), and what each
//! decision does to the run. The terminal's rendering of the same data is
//! tested through the wf binary (`tests/cli/`, `tests/hostile/terminal.rs`).

use super::{Asked, WRITE_TOML, approved, rejected, repo, run, run_yes, task, two_steps};
use wf::engine::RunOptions;
use wf::engine::checkpoint::Change;
use wf::record::event::{CheckpointName, RunStatus};

/// (Moved from `tests/cli/run.rs`.)
#[test]
fn plan_checkpoint_blocks_edits_until_approved() {
    let repo = repo();
    task(
        &repo,
        "checkpoints: { plan: true }\n",
        "turns:
  - tool_calls:
      - { name: write_file, input: { path: config/early.toml, content: x } }
  - text: 'Plan: write config/app.toml.'
  - tool_calls:
      - { name: write_file, input: { path: config/app.toml, content: x } }
  - text: Done.
",
    );
    let ran = run_yes(&repo, "task.yaml");
    assert_eq!(
        ran.outcome.status,
        RunStatus::Succeeded,
        "{:?}",
        ran.outcome
    );
    assert_eq!(ran.events("permission_denied")[0]["rule"], "phase");
    assert_eq!(
        ran.checkpoints()[..2],
        [
            ("plan".into(), "reached".into()),
            ("plan".into(), "approved".into())
        ]
    );
    assert!(repo.exists("config/app.toml") && !repo.exists("config/early.toml"));
    // The plan is handed over as the model wrote it, before anything was
    // written; the change is asked about next.
    assert_eq!(ran.asked[0].name, CheckpointName::Plan);
    assert_eq!(
        ran.asked[0].plan.as_deref(),
        Some("Plan: write config/app.toml.")
    );
    assert_eq!(ran.asked[0].change, None);
    assert_eq!(ran.asked[1].name, CheckpointName::Apply);
}

#[test]
fn the_apply_checkpoint_gets_the_change_as_data_and_its_approval_names_that_diff() {
    let repo = repo();
    task(&repo, "", WRITE_TOML);
    let ran = run_yes(&repo, "task.yaml");
    assert_eq!(
        ran.outcome.status,
        RunStatus::Succeeded,
        "{:?}",
        ran.outcome
    );
    assert_eq!(ran.asked.len(), 1);
    let Asked {
        name,
        step,
        change,
        unconfined,
        ..
    } = &ran.asked[0];
    assert_eq!(
        (*name, step.as_deref(), *unconfined),
        (CheckpointName::Apply, None, false)
    );
    let change = change.as_ref().unwrap();
    assert_eq!(change.files, ["config/app.toml"]);
    assert_eq!(change.stat, [("config/app.toml".to_string(), 2, 0)]);
    assert_eq!(change.patch, ran.patch(), "what is approved is diff.patch");
    let approval = ran.events("checkpoint")[1].clone();
    assert_eq!(approval["state"], "approved");
    assert_eq!(approval["by"], "lead@example.com");
    assert_eq!(
        approval["diff_sha256"].as_str().unwrap(),
        wf::hash::sha256_hex(change.patch.as_bytes())
    );
    assert_eq!(repo.read("config/app.toml"), "[server]\nport = 8080\n");
    assert!(
        ran.said.is_empty(),
        "the engine renders nothing: {}",
        ran.said
    );
}

#[test]
fn a_rejected_apply_leaves_the_tree_untouched() {
    let repo = repo();
    task(&repo, "", WRITE_TOML);
    let before = repo.status();
    let ran = run(&repo, "task.yaml", RunOptions::default(), vec![rejected()]);
    assert_eq!(ran.outcome.status, RunStatus::Rejected);
    assert_eq!(
        ran.outcome.reason.as_deref(),
        Some("apply checkpoint rejected by lead@example.com")
    );
    assert_eq!(repo.status(), before);
    assert!(!repo.exists("config/app.toml"));
}

#[test]
fn with_nobody_to_ask_the_run_pauses_and_keeps_its_diff() {
    let repo = repo();
    task(&repo, "", WRITE_TOML);
    let ran = run(&repo, "task.yaml", RunOptions::default(), Vec::new());
    assert_eq!(ran.outcome.status, RunStatus::Paused);
    let reason = ran.outcome.reason.as_deref().unwrap();
    assert!(
        reason.starts_with("paused at the apply checkpoint: no terminal to ask and no --yes"),
        "{reason}"
    );
    assert_eq!(ran.checkpoints().last().unwrap().1, "paused");
    assert!(ran.patch().contains("+port = 8080"));
    assert!(!repo.exists("config/app.toml"));
}

#[test]
fn a_step_checkpoint_gets_the_changes_so_far_and_a_rejection_stops_the_next_step() {
    let repo = two_steps("    checkpoints: { apply: true }");
    let ran = run(&repo, "task.yaml", RunOptions::default(), vec![rejected()]);
    assert_eq!(ran.outcome.status, RunStatus::Rejected);
    assert_eq!(
        ran.outcome.reason.as_deref(),
        Some("step checkpoint (after step `first`) rejected by lead@example.com")
    );
    let started: Vec<&str> = ran
        .events("step_started")
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(started, ["first"]);
    assert_eq!(ran.asked.len(), 1);
    assert_eq!(ran.asked[0].name, CheckpointName::Step);
    assert_eq!(ran.asked[0].step.as_deref(), Some("first"));
    let change = ran.asked[0].change.as_ref().unwrap();
    assert_eq!(change.files, ["a.txt"]);
    assert_eq!(change.stat, [("a.txt".to_string(), 1, 0)]);
    assert!(change.patch.contains("+a\n"), "{}", change.patch);
    assert!(!repo.exists("a.txt"));
}

#[test]
fn approved_step_and_apply_checkpoints_run_every_step_and_apply() {
    let repo = two_steps("    checkpoints: { apply: true }");
    let ran = run(
        &repo,
        "task.yaml",
        RunOptions::default(),
        vec![approved(), approved()],
    );
    assert_eq!(
        ran.outcome.status,
        RunStatus::Succeeded,
        "{:?}",
        ran.outcome
    );
    let names: Vec<CheckpointName> = ran.asked.iter().map(|a| a.name).collect();
    assert_eq!(names, [CheckpointName::Step, CheckpointName::Apply]);
    let last = ran.asked[1].change.as_ref().unwrap();
    assert_eq!(last.files, ["a.txt", "b.txt"]);
    assert_eq!(
        (repo.read("a.txt"), repo.read("b.txt")),
        ("a\n".into(), "b\n".into())
    );
}

#[test]
fn a_dry_run_hands_its_change_over_asks_nothing_and_never_applies() {
    let repo = repo();
    task(&repo, "", WRITE_TOML);
    let options = RunOptions {
        dry_run: true,
        ..RunOptions::default()
    };
    let ran = run(&repo, "task.yaml", options, vec![approved()]);
    assert_eq!(ran.outcome.status, RunStatus::DryRun);
    assert!(ran.asked.is_empty(), "{:?}", ran.asked);
    assert_eq!(
        ran.dry_runs,
        [Change::new(ran.patch(), vec!["config/app.toml".into()])]
    );
    assert!(!repo.exists("config/app.toml"));
}

#[test]
fn the_call_outs_come_as_data_with_the_change() {
    let repo = crate::cli::Repo::new();
    repo.file(".gitignore", "build/\n")
        .file("tool.sh", "echo hi\n")
        .file(
            "task.yaml",
            "wf: 1
name: modes
model: { provider: script, script: turns.yaml }
steps:
  - id: edit
    run: \"chmod +x tool.sh && printf 'dist/\\\\n' >> .gitignore\"
",
        )
        .file("turns.yaml", "turns: []\n")
        .commit();
    let ran = run_yes(&repo, "task.yaml");
    assert_eq!(
        ran.outcome.status,
        RunStatus::Succeeded,
        "{:?}",
        ran.outcome
    );
    let change = ran.asked[0].change.as_ref().unwrap();
    use wf::patch::{Callout, Happened, Why};
    assert_eq!(
        change.callouts,
        [
            Callout {
                path: ".gitignore".into(),
                happened: Happened::Edited,
                why: Why::GitIgnore,
            },
            Callout {
                path: "tool.sh".into(),
                happened: Happened::Edited,
                why: Why::Executable,
            },
        ]
    );
    // The terminal's sentences are read from the same data.
    assert_eq!(
        wf::report::review::lines(&change.callouts),
        wf::report::review::callouts(&change.patch)
    );
}
