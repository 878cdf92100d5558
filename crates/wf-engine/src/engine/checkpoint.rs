//! Checkpoints as data, and the [`Approver`] that decides them.
//!
//! The engine has no terminal in it: at a checkpoint it records that the
//! checkpoint was reached, hands what waits for a decision to the
//! [`Approver`] it was given (as it hands events to the reporter) as a
//! [`Checkpoint`] — the model's plan, or a change: its patch, its per-file
//! stat, the paths it touches, its call-outs — and records the [`Decision`] it gets back.
//! How that is shown (the stat table, the call-outs' sentences, the
//! colored preview, `d` for the whole diff) and how a person
//! answers (stdin, `--yes`) is the front end's: `wf`'s own approver is
//! `wf::app::approver::Terminal`.
//!
//! An approver may also pause: nobody can be asked (no terminal and no
//! `--yes`), or the person was interrupted at the prompt (see
//! [`crate::sys::signals`]); the run then ends paused at the checkpoint and
//! `wf approve` / `wf reject` decide it. A replay is never asked (it takes
//! the recorded decisions), nor is a resume for a checkpoint it catches up
//! with.
//!
//! A dry run is asked nothing: where the apply checkpoint would ask, the
//! change is handed to [`Approver::dry_run`] to show, and nothing is
//! applied.

use crate::record::event::CheckpointName;
use std::path::Path;

/// A decision at a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Yes.
    Approved {
        /// Who.
        by: String,
        /// How: `terminal` or `--yes`.
        via: String,
    },
    /// No.
    Rejected {
        /// Who.
        by: String,
        /// How.
        via: String,
    },
    /// Nobody to ask.
    Paused,
}

impl Decision {
    /// The decision a recorded checkpoint event states, if it states one.
    pub fn of(event: &crate::record::event::Event) -> Option<Decision> {
        use crate::record::event::{CheckpointState, Event};
        let Event::Checkpoint { state, by, via, .. } = event else {
            return None;
        };
        let (by, via) = (
            by.clone().unwrap_or_default(),
            via.clone().unwrap_or_default(),
        );
        match state {
            CheckpointState::Approved => Some(Decision::Approved { by, via }),
            CheckpointState::Rejected => Some(Decision::Rejected { by, via }),
            CheckpointState::Paused => Some(Decision::Paused),
            CheckpointState::Reached => None,
        }
    }
}

/// What waits for a decision at a checkpoint.
#[derive(Debug, Clone, Copy)]
pub struct Checkpoint<'a> {
    /// Which checkpoint.
    pub name: CheckpointName,
    /// The step it follows (a step checkpoint).
    pub step: Option<&'a str>,
    /// The repository the run changes (whose user approves).
    pub root: &'a Path,
    /// What is approved.
    pub subject: Subject<'a>,
}

/// What a checkpoint approves.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// The model's plan, before it may write (`checkpoints.plan`): its
    /// text as the model wrote it (control characters not yet escaped).
    Plan(&'a str),
    /// The changes so far, after a step that asks for approval.
    Step(&'a Change),
    /// The run's change, before it is applied (`checkpoints.apply`).
    Apply {
        /// The change.
        change: &'a Change,
        /// The sandbox was off: checks, command steps and `shell` calls
        /// ran unconfined.
        unconfined: bool,
    },
}

/// A change, as a checkpoint or a dry run shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// The unified `git diff --binary` patch against the run's start
    /// (empty: no change yet). An approval is for this exact patch (its
    /// SHA-256 is recorded with the decision).
    pub patch: String,
    /// Per file, in the patch's order: path, lines added, lines deleted.
    pub stat: Vec<(String, usize, usize)>,
    /// The paths the change touches, sorted.
    pub files: Vec<String>,
    /// What a reviewer must not miss in it (attributes, ignore rules,
    /// submodules, CI, executable bits, links), in the patch's order.
    pub callouts: Vec<crate::patch::Callout>,
}

impl Change {
    /// The change `patch` makes to `files`.
    pub fn new(patch: String, files: Vec<String>) -> Change {
        let stat = crate::workspace::diffstat(&patch);
        let callouts = crate::patch::callouts(&patch);
        Change {
            patch,
            stat,
            files,
            callouts,
        }
    }
}

/// Whoever decides a run's checkpoints: passed to the engine as the
/// reporter is.
pub trait Approver {
    /// The decision at `checkpoint`: approved or rejected (by whom, how),
    /// or paused when nobody can be asked.
    fn decide(&mut self, checkpoint: &Checkpoint<'_>) -> Decision;
    /// A dry run reached its end with `change` (never empty): shown
    /// instead of asked; `kept` is where the whole patch was written.
    fn dry_run(&mut self, change: &Change, kept: &Path);
}

/// An approver that asks nobody: every checkpoint pauses, and a dry run's
/// change is not shown (a replay, which takes the recorded decisions).
#[derive(Debug, Default, Clone, Copy)]
pub struct Nobody;

impl Approver for Nobody {
    fn decide(&mut self, _checkpoint: &Checkpoint<'_>) -> Decision {
        Decision::Paused
    }
    fn dry_run(&mut self, _change: &Change, _kept: &Path) {}
}
