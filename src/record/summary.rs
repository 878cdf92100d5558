//! `summary.json`: the outcome of a run, computed from its trace (the trace
//! is the source of truth; the summary is a view of it).

use crate::record::event::{CheckpointState, Event, Record, RunStatus, Totals};
use serde::Serialize;
use std::collections::BTreeMap;

/// A run's outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// The run id.
    pub run_id: String,
    /// How it ended (`running` when the trace has no final event).
    pub status: String,
    /// Why, when it did not succeed.
    pub reason: Option<String>,
    /// The task: name, version, hash, path.
    pub spec: SpecRef,
    /// Inputs.
    pub inputs: BTreeMap<String, serde_json::Value>,
    /// Plan fingerprint.
    pub fingerprint: String,
    /// The base commit.
    pub base_revision: Option<String>,
    /// The recipes `uses:` ran, as pinned.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recipes: Vec<crate::recipes::Pin>,
    /// `provider/model`.
    pub model: String,
    /// Totals (turns, repairs, tokens, cost).
    pub totals: Totals,
    /// Each check's last result.
    pub checks: Vec<CheckSummary>,
    /// Decisions at checkpoints.
    pub approvals: Vec<Approval>,
    /// Files the change touches.
    pub files_changed: Vec<String>,
    /// Whether the change was applied to the user's tree.
    pub applied: bool,
    /// The commit holding the change, with `--commit`.
    pub commit: Option<String>,
    /// Hash of diff.patch.
    pub diff_hash: Option<String>,
    /// Tool calls made.
    pub tool_calls: u64,
    /// Calls refused by permissions.
    pub denials: u64,
    /// Start time.
    pub started_at: String,
}

/// The task a run ran.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SpecRef {
    /// Name.
    pub name: String,
    /// Version.
    pub version: Option<String>,
    /// Canonical hash.
    pub hash: String,
    /// Path as given.
    pub path: String,
}

/// A check's last result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckSummary {
    /// Name.
    pub name: String,
    /// Passed.
    pub passed: bool,
    /// Exit code.
    pub exit_code: Option<i32>,
    /// Round of the result.
    pub round: u32,
}

/// A decision at a checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    /// Which checkpoint.
    pub checkpoint: String,
    /// approved, rejected or paused.
    pub decision: String,
    /// Who.
    pub by: Option<String>,
    /// How.
    pub via: Option<String>,
    /// When.
    pub at: Option<String>,
    /// Comment.
    pub comment: Option<String>,
    /// For a step checkpoint: the step it follows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

/// Builds a summary record by record, as a trace is written or read.
#[derive(Debug, Clone)]
pub struct Builder {
    s: Summary,
    checks: BTreeMap<String, CheckSummary>,
    order: Vec<String>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            s: Summary {
                status: "running".into(),
                ..Summary::default()
            },
            checks: BTreeMap::new(),
            order: Vec::new(),
        }
    }
}

impl Builder {
    /// Takes one more record into account.
    pub fn add(&mut self, r: &Record) {
        let s = &mut self.s;
        match &r.event {
            Event::RunStarted {
                run_id,
                spec_name,
                spec_version,
                spec_path,
                spec_hash,
                inputs,
                fingerprint,
                base_revision,
                model,
                at,
                ..
            } => {
                s.run_id = run_id.clone();
                s.spec = SpecRef {
                    name: spec_name.clone(),
                    version: spec_version.clone(),
                    hash: spec_hash.clone(),
                    path: spec_path.clone(),
                };
                s.inputs = inputs.clone();
                s.fingerprint = fingerprint.clone();
                s.base_revision = base_revision.clone();
                s.model = model.clone();
                s.started_at = at.clone();
            }
            Event::ToolCall { .. } => s.tool_calls += 1,
            Event::PermissionDenied { .. } => s.denials += 1,
            Event::RecipeUsed {
                uses,
                name,
                commit,
                sha256,
            } => s.recipes.push(crate::recipes::Pin {
                uses: uses.clone(),
                name: name.clone(),
                commit: commit.clone(),
                sha256: sha256.clone(),
            }),
            Event::CheckResult {
                round,
                name,
                passed,
                exit_code,
                ..
            } => {
                if !self.checks.contains_key(name) {
                    self.order.push(name.clone());
                }
                self.checks.insert(
                    name.clone(),
                    CheckSummary {
                        name: name.clone(),
                        passed: *passed,
                        exit_code: *exit_code,
                        round: *round,
                    },
                );
            }
            Event::Checkpoint {
                name,
                state,
                by,
                via,
                at,
                comment,
                step,
                ..
            } if *state != CheckpointState::Reached => {
                let decision = match state {
                    CheckpointState::Approved => "approved",
                    CheckpointState::Rejected => "rejected",
                    _ => "paused",
                };
                s.approvals.push(Approval {
                    checkpoint: name.as_str().into(),
                    decision: decision.into(),
                    by: by.clone(),
                    via: via.clone(),
                    at: at.clone(),
                    comment: comment.clone(),
                    step: step.clone(),
                });
            }
            Event::Applied { .. } => s.applied = true,
            Event::Committed { revision, .. } => s.commit = Some(revision.clone()),
            Event::RunFinished {
                status,
                reason,
                diff_hash,
                files_changed,
                totals,
            } => {
                s.status = status.as_str().into();
                s.reason = reason.clone();
                s.diff_hash = diff_hash.clone();
                s.files_changed = files_changed.clone();
                s.totals = totals.clone();
            }
            _ => {}
        }
    }

    /// The summary so far.
    pub fn summary(&self) -> Summary {
        let mut s = self.s.clone();
        s.checks = self
            .order
            .iter()
            .filter_map(|n| self.checks.get(n).cloned())
            .collect();
        s
    }
}

/// Folds a trace into its summary.
pub fn from_records(records: &[Record]) -> Summary {
    let mut builder = Builder::default();
    for r in records {
        builder.add(r);
    }
    builder.summary()
}

/// The final status of a trace, if it finished.
pub fn final_status(records: &[Record]) -> Option<RunStatus> {
    records.iter().rev().find_map(|r| match &r.event {
        Event::RunFinished { status, .. } => Some(*status),
        _ => None,
    })
}
