//! The engine in-process: a task file in a temporary git repository,
//! planned as `wf run` plans it, run by [`wf::engine::run`] with its
//! scripted model (`model: { provider: script, … }`), a reporter that
//! records every event and an approver that records every checkpoint it is
//! asked about and answers from a list. No wf process is started, so these
//! scenarios cost what the run costs (its workspace, its git commands, its
//! sandboxed checks) and nothing more; what needs a process boundary (exit
//! codes, the terminal, signals, `wf resume`) stays in `tests/cli/`.

mod checkpoints;
mod limits;
mod runs;

use crate::cli::Repo;
use serde_json::Value;
use std::collections::VecDeque;
use std::path::Path;
use wf::engine::checkpoint::{Approver, Change, Checkpoint, Decision, Subject};
use wf::engine::{Reporter, RunOptions, RunOutcome};
use wf::record::event::{CheckpointName, Record};

/// The model's turns that write the migrated config.
pub const WRITE_TOML: &str = "turns:
  - text: Writing the TOML file.
    tool_calls:
      - { name: write_file, input: { path: config/app.toml, content: \"[server]\\nport = 8080\\n\" } }
  - text: Done.
";

/// A repository with a config to migrate, committed.
pub fn repo() -> Repo {
    let repo = Repo::new();
    repo.file("config/app.ini", "[server]\nport = 8080\n")
        .file("migrations/001.sql", "CREATE TABLE t (x INT);\n")
        .file("src/lib.rs", "pub fn f() {}\n")
        .commit();
    repo
}

/// Writes `task.yaml` (with `extra` keys appended) and `turns.yaml`.
pub fn task(repo: &Repo, extra: &str, turns: &str) {
    repo.file(
        "task.yaml",
        &format!(
            "wf: 1
name: migrate
model: {{ provider: script, script: turns.yaml }}
context:
  include: [config/app.ini]
tools: [read_file, list_files, search, edit_file, write_file]
permissions:
  write: [\"config/**\"]
  protect: [\"migrations/**\"]
prompt: Migrate config/app.ini to TOML.
{extra}"
        ),
    );
    repo.file("turns.yaml", turns);
}

/// Two agent steps, each writing a file; `first_extra` is added to the
/// first step.
pub fn two_steps(first_extra: &str) -> Repo {
    let repo = Repo::new();
    repo.file("README.md", "readme\n")
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: two-steps
model: {{ provider: script, script: task.turns.yaml }}
tools: [write_file]
permissions: {{ write: [\"*.txt\"] }}
steps:
  - id: first
    prompt: Write a.txt.
{first_extra}
  - id: second
    prompt: Write b.txt.
"
            ),
        )
        .file(
            "task.turns.yaml",
            "turns:
  - tool_calls: [{ name: write_file, input: { path: a.txt, content: \"a\\n\" } }]
  - text: first done
  - tool_calls: [{ name: write_file, input: { path: b.txt, content: \"b\\n\" } }]
  - text: second done
",
        )
        .commit();
    repo
}

/// What a run did, as its front end saw it.
pub struct Ran {
    /// How it ended.
    pub outcome: RunOutcome,
    /// Every event, as the reporter was told it (JSON, as in the trace).
    pub events: Vec<Value>,
    /// What the engine gave the reporter to show.
    pub said: String,
    /// Every checkpoint the approver was asked about, in order.
    pub asked: Vec<Asked>,
    /// The changes a dry run handed over to show.
    pub dry_runs: Vec<Change>,
}

impl Ran {
    /// The events of `kind`.
    pub fn events(&self, kind: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["kind"] == kind).collect()
    }

    /// `(name, state)` of every checkpoint event.
    pub fn checkpoints(&self) -> Vec<(String, String)> {
        self.events("checkpoint")
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_string(),
                    e["state"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// The run's `diff.patch`.
    pub fn patch(&self) -> String {
        std::fs::read_to_string(self.outcome.dir.diff()).unwrap()
    }
}

/// A checkpoint as the approver was given it.
#[derive(Debug, Clone, PartialEq)]
pub struct Asked {
    pub name: CheckpointName,
    pub step: Option<String>,
    /// The model's plan (a plan checkpoint).
    pub plan: Option<String>,
    /// The change (a step or apply checkpoint).
    pub change: Option<Change>,
    /// The sandbox was off (an apply checkpoint).
    pub unconfined: bool,
}

/// Records what it is asked and answers from a list; past its end, it
/// pauses, as nobody can be asked.
#[derive(Default)]
pub struct Approvals {
    answers: VecDeque<Decision>,
    asked: Vec<Asked>,
    dry_runs: Vec<Change>,
}

impl Approver for Approvals {
    fn decide(&mut self, checkpoint: &Checkpoint<'_>) -> Decision {
        let (plan, change, unconfined) = match checkpoint.subject {
            Subject::Plan(text) => (Some(text.to_string()), None, false),
            Subject::Step(change) => (None, Some(change.clone()), false),
            Subject::Apply { change, unconfined } => (None, Some(change.clone()), unconfined),
        };
        self.asked.push(Asked {
            name: checkpoint.name,
            step: checkpoint.step.map(str::to_string),
            plan,
            change,
            unconfined,
        });
        self.answers.pop_front().unwrap_or(Decision::Paused)
    }

    fn dry_run(&mut self, change: &Change, kept: &Path) {
        assert!(kept.is_file(), "the dry run's patch is kept");
        self.dry_runs.push(change.clone());
    }
}

/// Records every event and everything said.
#[derive(Default)]
pub struct Recording {
    events: Vec<Value>,
    said: String,
}

impl Reporter for Recording {
    fn record(&mut self, record: &Record) {
        self.events.push(serde_json::to_value(record).unwrap());
    }
    fn say(&mut self, text: &str) {
        self.said.push_str(text);
    }
}

/// An approval, as a person would give it.
pub fn approved() -> Decision {
    Decision::Approved {
        by: "lead@example.com".into(),
        via: "test".into(),
    }
}

/// A rejection, as a person would give it.
pub fn rejected() -> Decision {
    Decision::Rejected {
        by: "lead@example.com".into(),
        via: "test".into(),
    }
}

/// Plans `task` (a task file in `repo`, no inputs) as `wf run` does and
/// runs it in-process, `answers` deciding its checkpoints in order.
/// Its commands are confined by the wf binary (this test process is not
/// wf).
pub fn run(repo: &Repo, task: &str, options: RunOptions, answers: Vec<Decision>) -> Ran {
    let options = RunOptions {
        sandbox_helper: Some(env!("CARGO_BIN_EXE_wf").into()),
        ..options
    };
    let root = wf::sys::git::find_root(repo.path()).expect("a git repository");
    let _slots = Slots(root.clone());
    let loaded = wf::spec::load(&repo.join(task)).unwrap();
    let mut resolver = wf::recipes::Resolver::for_task(&loaded, wf::recipes::Mode::Locked).unwrap();
    let mut plan = wf::plan::make(&loaded, &Default::default(), &root, &mut resolver).unwrap();
    // As `wf run <task>` from the repository's top records it.
    plan.spec_path = task.into();
    let mut ready = wf::app::provider::for_plan(&loaded, &plan, 0).unwrap();
    let mut reporter = Recording::default();
    let mut approver = Approvals {
        answers: answers.into(),
        ..Approvals::default()
    };
    let outcome = wf::engine::run(
        &plan,
        ready.provider.as_mut(),
        ready.pricing,
        options,
        &mut reporter,
        &mut approver,
    )
    .unwrap();
    Ran {
        outcome,
        events: reporter.events,
        said: reporter.said,
        asked: approver.asked,
        dry_runs: approver.dry_runs,
    }
}

/// Runs `task`, approving every checkpoint (as `--yes` does).
pub fn run_yes(repo: &Repo, task: &str) -> Ran {
    run(
        repo,
        task,
        RunOptions::default(),
        std::iter::repeat_n(approved(), 8).collect(),
    )
}

/// The workspace slots of a repository, in the process's temp dir: these
/// runs share the test process's `TMPDIR`, so its slots are removed when
/// the run is done (a CLI test gives each wf its own `TMPDIR` instead).
struct Slots(std::path::PathBuf);

impl Drop for Slots {
    fn drop(&mut self) {
        let key = wf::hash::sha256_hex(self.0.to_string_lossy().as_bytes());
        let prefix = format!("wf-ws-{}-", &key[..12]);
        let Ok(root) = wf::workspace::private_root() else {
            return;
        };
        let Ok(entries) = std::fs::read_dir(&root) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let path = entry.path();
                if path.is_dir() {
                    let _ = std::process::Command::new("chmod")
                        .args(["-R", "u+rwx"])
                        .arg(&path)
                        .status();
                    let _ = std::fs::remove_dir_all(&path);
                } else {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
    }
}
