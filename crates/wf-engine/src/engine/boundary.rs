//! The boundary of a run's change: before a checkpoint shows or approves
//! changes, and before they are applied, every path they touch (added,
//! modified, deleted, mode-changed) is checked against the run's rules
//! with the one permission decision, [`crate::policy::Policy::check`]:
//!
//! - `.git/` and `.wf/` are never part of a change, and whatever any step
//!   of the run protects (its own `protect`, and its callers' when it is
//!   inside a recipe) stays protected, whoever changed it;
//! - a path an agent step changed (through its tools, or through a `shell`
//!   command, which may write anywhere in the workspace) must be writable
//!   under that step's permissions and bounds;
//! - a path a recipe's command step changed, under its callers' bounds;
//! - a path the task file's own command steps changed (the user's own
//!   commands) needs no `write` rule, only to be unprotected.
//!
//! What each step changed is the difference between workspace snapshots
//! taken around it. A refused path ends the run (`error`) with a
//! `change_refused` event; nothing is applied and `diff.patch` stays in the
//! run folder. The message says what probably wrote each path: the last
//! tool call, command step or check of the step that changed it which names
//! the path, else its last `shell` call — a best-effort attribution, not a
//! proof.

use super::*;
use crate::plan::{PlanStep, StepKind};
use crate::policy::{Access, Denial, Policy};
use crate::record::event::RefusedPath;
use crate::spec::Permissions;

/// What one step changed, and the rule its changes are held to.
pub(super) struct Writer {
    /// The step, for people: `step `x``, or `the agent`.
    pub label: String,
    /// The paths it changed.
    pub changed: Vec<String>,
    /// The rule for what it changed; `None` for a command step of the task
    /// file itself (only the run-wide protection applies).
    pub policy: Option<Policy>,
    /// What ran during the step (see [`action`]).
    pub actions: Vec<String>,
}

/// The start of a step that may write: the workspace's tree and how many
/// actions had run.
pub(super) struct Mark {
    tree: String,
    actions: usize,
}

/// An event that may have written to the workspace, described for people.
pub(super) fn action(event: &Event) -> Option<String> {
    match event {
        Event::ToolCall { tool, input, .. } => Some(match tool.as_str() {
            "shell" => format!(
                "shell call `{}`",
                input.get("command").and_then(|c| c.as_str()).unwrap_or("?")
            ),
            _ => match input.get("path").and_then(|p| p.as_str()) {
                Some(path) => format!("{tool} call on {path}"),
                None => format!("{tool} call"),
            },
        }),
        Event::StepStarted { id, step_kind, .. } if step_kind == "command" => {
            Some(format!("command step `{id}`"))
        }
        Event::CheckResult { name, .. } => Some(format!("check `{name}`")),
        _ => None,
    }
}

/// Whether `event` is a call of a tool that only reads (it changes
/// nothing in the workspace).
pub(super) fn reads_only(event: &Event) -> bool {
    matches!(event, Event::ToolCall { tool, .. } if matches!(tool.as_str(), "read_file" | "list_files" | "search"))
}

impl Executor<'_> {
    /// Marks the start of a step that may write.
    pub(super) fn mark(&mut self, ws: &Workspace) -> Result<Mark, EngineError> {
        Ok(Mark {
            tree: self.snapshot(ws)?,
            actions: self.change.actions.len(),
        })
    }

    /// Records what the step since `mark` changed, held to `policy` (see
    /// [`Writer::policy`]).
    pub(super) fn wrote(
        &mut self,
        ws: &Workspace,
        mark: Mark,
        label: String,
        policy: Option<Policy>,
    ) -> Result<(), EngineError> {
        let after = self.snapshot(ws)?;
        let changed = if after == mark.tree {
            Vec::new()
        } else {
            ws.changed_between(&mark.tree, &after)
                .map_err(EngineError::workspace("cannot compare the workspace"))?
        };
        if !changed.is_empty() {
            let actions =
                self.change.actions[mark.actions.min(self.change.actions.len())..].to_vec();
            self.change.writers.push(Writer {
                label,
                changed,
                policy,
                actions,
            });
        }
        Ok(())
    }

    /// The rule of an agent step: its permissions within its bounds.
    pub(super) fn agent_policy(
        ws: &Workspace,
        agent: &crate::plan::AgentStep,
    ) -> Result<Policy, EngineError> {
        Ok(Policy::new(&ws.dir, &agent.permissions, &agent.bounds)?)
    }

    /// The rule of a command step: its callers' bounds in a recipe, none
    /// (only the run-wide protection) in the task file itself.
    pub(super) fn command_policy(
        ws: &Workspace,
        bounds: &[Permissions],
    ) -> Result<Option<Policy>, EngineError> {
        match bounds.split_first() {
            Some((first, rest)) => Ok(Some(Policy::new(&ws.dir, first, rest)?)),
            None => Ok(None),
        }
    }

    /// Checks `files`, the paths of the change so far, against the run's
    /// rules. A refusal is recorded and ends the run.
    pub(super) fn refuse_outside(
        &mut self,
        ws: &Workspace,
        files: &[String],
    ) -> Result<Option<End>, EngineError> {
        let refused = self.outside(ws, files)?;
        if refused.is_empty() {
            return Ok(None);
        }
        let listed = refused
            .iter()
            .map(|r| format!("{} ({})", r.path, r.message))
            .collect::<Vec<_>>()
            .join("; ");
        let message = format!(
            "refused: the change writes {} the run's permissions do not allow: {listed}; nothing was applied, the patch is kept in {}",
            if refused.len() == 1 {
                "a path"
            } else {
                "paths"
            },
            self.dir.diff().display()
        );
        self.emit(Event::ChangeRefused { paths: refused })?;
        Ok(Some((RunStatus::Error, Some(message))))
    }

    fn outside(&self, ws: &Workspace, files: &[String]) -> Result<Vec<RefusedPath>, EngineError> {
        let mut protect = Vec::new();
        if let Some(defaults) = &self.plan.defaults {
            protect.extend(defaults.permissions.protect.iter().cloned());
        }
        collect_protect(&self.plan.steps, &mut protect);
        protect.sort();
        protect.dedup();
        let everywhere = Permissions {
            read: vec!["**".into()],
            write: vec!["**".into()],
            protect,
            shell: None,
        };
        let run_wide = Policy::new(&ws.dir, &everywhere, &[])?;
        let mut agents = Vec::new();
        collect_agents(ws, &self.plan.steps, &mut agents)?;
        let mut refused = Vec::new();
        for path in files {
            let writers: Vec<&Writer> = self
                .change
                .writers
                .iter()
                .filter(|w| w.changed.contains(path))
                .collect();
            let denial: Option<(Denial, Option<&Writer>)> =
                if let Err(d) = run_wide.check(path, Access::Write) {
                    Some((d, writers.last().copied()))
                } else if writers.is_empty() {
                    // Not seen change in any step: held to what any agent
                    // step of the run may write.
                    match agents
                        .iter()
                        .map(|p| p.check(path, Access::Write))
                        .find(Result::is_ok)
                    {
                        Some(_) => None,
                        None => Some((
                            agents
                                .first()
                                .and_then(|p| p.check(path, Access::Write).err())
                                .unwrap_or(Denial {
                                    rule: "write",
                                    message: format!(
                                        "write to {path} denied: no step of the run may write it"
                                    ),
                                }),
                            None,
                        )),
                    }
                } else {
                    writers.iter().find_map(|w| {
                        w.policy
                            .as_ref()
                            .and_then(|p| p.check(path, Access::Write).err())
                            .map(|d| (d, Some(*w)))
                    })
                };
            if let Some((denial, writer)) = denial {
                let by = match writer {
                    Some(w) => format!("; probably written by {}", attribution(w, path)),
                    None => String::new(),
                };
                refused.push(RefusedPath {
                    path: path.clone(),
                    rule: denial.rule.to_string(),
                    message: format!("{}{by}", denial.message),
                });
            }
        }
        Ok(refused)
    }
}

/// What in `writer` probably wrote `path`: the last action naming it, else
/// the last `shell` call or command step, else the last action, else the
/// step itself.
fn attribution(writer: &Writer, path: &str) -> String {
    let found = writer
        .actions
        .iter()
        .rev()
        .find(|a| a.contains(path))
        .or_else(|| {
            writer
                .actions
                .iter()
                .rev()
                .find(|a| a.starts_with("shell call") || a.starts_with("command step"))
        })
        .or_else(|| writer.actions.last());
    match found {
        Some(action) => format!("the {action} in {}", writer.label),
        None => writer.label.clone(),
    }
}

fn collect_protect(steps: &[PlanStep], out: &mut Vec<String>) {
    for step in steps {
        match &step.kind {
            StepKind::Agent(agent) => {
                for p in std::iter::once(&agent.permissions).chain(&agent.bounds) {
                    out.extend(p.protect.iter().cloned());
                }
            }
            StepKind::Command { bounds, .. } => {
                for p in bounds {
                    out.extend(p.protect.iter().cloned());
                }
            }
            StepKind::Uses(used) => collect_protect(&used.steps, out),
        }
    }
}

fn collect_agents(
    ws: &Workspace,
    steps: &[PlanStep],
    out: &mut Vec<Policy>,
) -> Result<(), EngineError> {
    for step in steps {
        match &step.kind {
            StepKind::Agent(agent) => out.push(Executor::agent_policy(ws, agent)?),
            StepKind::Command { .. } => {}
            StepKind::Uses(used) => collect_agents(ws, &used.steps, out)?,
        }
    }
    Ok(())
}
