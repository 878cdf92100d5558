//! `summary.json`: the outcome of a run, computed from its trace (the trace
//! is the source of truth; the summary is a view of it).

use crate::event::{CheckpointState, Event, Record, RunStatus, Totals};
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
    pub recipes: Vec<crate::wire::Pin>,
    /// `provider/model`.
    pub model: String,
    /// Models the run fell back to when its model was overloaded
    /// (`model.fallback`), each with the request it was first asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<FallbackSummary>,
    /// How commands were confined: `auto` or `off` (absent for runs of wf
    /// before the sandbox).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
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

/// A fall back to another model.
#[derive(Debug, Clone, Serialize)]
pub struct FallbackSummary {
    /// The request number.
    pub turn: u32,
    /// The overloaded model.
    pub from: String,
    /// The model asked instead.
    pub to: String,
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
                sandbox,
                ..
            } => {
                s.sandbox = sandbox.as_ref().map(|x| x.mode.clone());
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
            Event::ModelFallback { turn, from, to, .. } => s.fallbacks.push(FallbackSummary {
                turn: *turn,
                from: from.clone(),
                to: to.clone(),
            }),
            Event::PermissionDenied { .. } => s.denials += 1,
            Event::RecipeUsed {
                uses,
                name,
                commit,
                sha256,
            } => s.recipes.push(crate::wire::Pin {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::CheckpointName;
    use serde_json::json;

    fn records(events: Vec<Event>) -> Vec<Record> {
        events
            .into_iter()
            .enumerate()
            .map(|(i, event)| Record {
                seq: i as u64,
                t_ms: 10 * i as u64,
                event,
                hash: String::new(),
            })
            .collect()
    }

    fn started() -> Event {
        Event::RunStarted {
            trace_version: 1,
            wf_version: "0.1.0".into(),
            run_id: "run-1".into(),
            spec_name: "fix".into(),
            spec_version: Some("2".into()),
            spec_path: "tasks/fix.yaml".into(),
            spec_hash: "sh".into(),
            inputs: BTreeMap::from([("issue".to_string(), json!(42))]),
            fingerprint: "fp".into(),
            base_revision: Some("abc".into()),
            model: "anthropic/claude".into(),
            dry_run: false,
            sandbox: None,
            conversation: None,
            max_cost_usd: None,
            script: None,
            sandbox_approval: None,
            at: "2025-01-01T00:00:00Z".into(),
        }
    }

    fn check(round: u32, name: &str, passed: bool) -> Event {
        Event::CheckResult {
            round,
            name: name.into(),
            passed,
            exit_code: Some(if passed { 0 } else { 2 }),
            timed_out: false,
            output_hash: String::new(),
            output_tail: String::new(),
            truncated: false,
            duration_ms: 1,
        }
    }

    fn checkpoint(name: CheckpointName, state: CheckpointState, by: Option<&str>) -> Event {
        Event::Checkpoint {
            name,
            state,
            by: by.map(str::to_string),
            via: by.map(|_| "terminal".to_string()),
            comment: by.map(|_| "ok".to_string()),
            commit: false,
            at: by.map(|_| "2025-01-01T00:01:00Z".to_string()),
            step: None,
            diff_sha256: None,
        }
    }

    fn call(id: &str) -> Event {
        Event::ToolCall {
            call_id: id.into(),
            tool: "edit_file".into(),
            input: json!({"path": "src/a.rs"}),
        }
    }

    #[test]
    fn a_finished_run_is_folded_into_its_summary() {
        let totals = Totals {
            turns: 3,
            repairs: 1,
            input_tokens: Some(1000),
            output_tokens: Some(200),
            cache_creation_input_tokens: 5,
            cache_read_input_tokens: 7,
            cost_usd: Some(0.25),
            cost_estimated: false,
        };
        let trace = records(vec![
            started(),
            checkpoint(CheckpointName::Plan, CheckpointState::Reached, None),
            checkpoint(
                CheckpointName::Plan,
                CheckpointState::Approved,
                Some("alice"),
            ),
            call("c1"),
            Event::PermissionDenied {
                call_id: "c1".into(),
                tool: "edit_file".into(),
                rule: "protect".into(),
                message: "denied".into(),
            },
            call("c2"),
            check(0, "test", false),
            check(0, "lint", true),
            check(1, "test", true),
            checkpoint(
                CheckpointName::Apply,
                CheckpointState::Approved,
                Some("bob"),
            ),
            Event::Applied {
                files: vec!["src/a.rs".into()],
            },
            Event::Committed {
                revision: "def".into(),
                files: vec!["src/a.rs".into()],
            },
            Event::RunFinished {
                status: RunStatus::Succeeded,
                reason: None,
                diff_hash: Some("dh".into()),
                files_changed: vec!["src/a.rs".into(), "src/b.rs".into()],
                totals: totals.clone(),
            },
        ]);
        let s = from_records(&trace);
        assert_eq!(s.run_id, "run-1");
        assert_eq!(s.status, "succeeded");
        assert_eq!(s.reason, None);
        assert_eq!(
            (
                s.spec.name.as_str(),
                s.spec.version.as_deref(),
                s.spec.path.as_str()
            ),
            ("fix", Some("2"), "tasks/fix.yaml")
        );
        assert_eq!(s.inputs["issue"], json!(42));
        assert_eq!(s.model, "anthropic/claude");
        assert_eq!(s.base_revision.as_deref(), Some("abc"));
        assert_eq!(s.started_at, "2025-01-01T00:00:00Z");
        // Each check's last result, in the order checks first appeared.
        let checks: Vec<(&str, bool, u32, Option<i32>)> = s
            .checks
            .iter()
            .map(|c| (c.name.as_str(), c.passed, c.round, c.exit_code))
            .collect();
        assert_eq!(
            checks,
            [("test", true, 1, Some(0)), ("lint", true, 0, Some(0))]
        );
        // Decisions only; `reached` is not one.
        let approvals: Vec<(&str, &str, Option<&str>)> = s
            .approvals
            .iter()
            .map(|a| (a.checkpoint.as_str(), a.decision.as_str(), a.by.as_deref()))
            .collect();
        assert_eq!(
            approvals,
            [
                ("plan", "approved", Some("alice")),
                ("apply", "approved", Some("bob"))
            ]
        );
        assert_eq!(s.approvals[0].via.as_deref(), Some("terminal"));
        assert_eq!(s.totals, totals);
        assert_eq!(s.files_changed, ["src/a.rs", "src/b.rs"]);
        assert_eq!(s.diff_hash.as_deref(), Some("dh"));
        assert!(s.applied);
        assert_eq!(s.commit.as_deref(), Some("def"));
        assert_eq!((s.tool_calls, s.denials), (2, 1));
        assert_eq!(final_status(&trace), Some(RunStatus::Succeeded));
    }

    #[test]
    fn a_trace_without_its_end_is_running_and_a_pause_is_a_decision() {
        let trace = records(vec![
            started(),
            check(0, "test", false),
            checkpoint(CheckpointName::Apply, CheckpointState::Paused, None),
        ]);
        let s = from_records(&trace);
        assert_eq!(s.status, "running");
        assert!(!s.applied);
        assert_eq!(s.commit, None);
        assert_eq!(s.checks.len(), 1);
        assert!(!s.checks[0].passed);
        assert_eq!(s.checks[0].exit_code, Some(2));
        assert_eq!(s.approvals.len(), 1);
        assert_eq!(s.approvals[0].decision, "paused");
        assert_eq!(final_status(&trace), None);

        let mut failed = trace.clone();
        failed.extend(records(vec![Event::RunFinished {
            status: RunStatus::ChecksFailed,
            reason: Some("test still fails".into()),
            diff_hash: None,
            files_changed: vec![],
            totals: Totals::default(),
        }]));
        let s = from_records(&failed);
        assert_eq!(s.status, "checks_failed");
        assert_eq!(s.reason.as_deref(), Some("test still fails"));
    }
}
