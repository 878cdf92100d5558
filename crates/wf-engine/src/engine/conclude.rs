//! The conclusion of a run: its change (against the start), the
//! checkpoints put to the [`Approver`], the diff kept, the apply and the
//! commit, and the run's last event.

use super::*;

impl Executor<'_> {
    /// The change so far (against the start) and the paths it touches; no
    /// git process at all when the workspace is known to be at its start.
    pub(super) fn change(&mut self, ws: &Workspace) -> Result<(String, Vec<String>), EngineError> {
        let tree = self.snapshot(ws)?;
        if tree == ws.base_tree {
            return Ok((String::new(), Vec::new()));
        }
        // Bounded before the patch is made: the changed files' sizes come
        // from git's object headers, so a command that wrote 500 MB costs
        // wf no memory for it.
        let limit = self.plan.limits.max_diff_bytes;
        let sizes = ws
            .change_sizes()
            .map_err(EngineError::workspace("cannot measure the diff"))?;
        let total: u64 = sizes.iter().map(|(_, bytes)| bytes).sum();
        if total > limit {
            return Err(EngineError::Refused(too_big(Some(total), limit, &sizes)));
        }
        let patch = ws
            .staged_diff_within(limit)
            .map_err(EngineError::workspace("cannot compute the diff"))?
            .ok_or_else(|| EngineError::Refused(too_big(None, limit, &sizes)))?;
        let files = ws
            .changed_files()
            .map_err(EngineError::workspace("cannot list changed files"))?;
        // What the review lists and counts is read from the patch; it must
        // be every file git says changed, or nothing is shown or applied.
        let mut listed: Vec<String> = crate::patch::files(&patch)
            .into_iter()
            .map(|f| f.path)
            .collect();
        listed.sort();
        if listed != files {
            let missing: Vec<String> = files
                .iter()
                .filter(|f| !listed.contains(f))
                .chain(listed.iter().filter(|f| !files.contains(f)))
                .map(|f| crate::text::escape_line(f).into_owned())
                .collect();
            return Err(EngineError::Refused(format!(
                "refused: the patch and the workspace disagree on the changed files ({}); nothing was applied",
                missing.join(", ")
            )));
        }
        Ok((patch, files))
    }

    /// Asks the approver at a checkpoint. A checkpoint that approves a
    /// change records, with an approval, the SHA-256 of that exact diff,
    /// and a recorded approval (a resumed run, `wf approve`) must be for
    /// that diff, else the resume stops. `None` means approved: go on.
    pub(super) fn checkpoint(
        &mut self,
        name: CheckpointName,
        step: Option<&str>,
        subject: Subject<'_>,
    ) -> Result<Option<End>, EngineError> {
        let patch = match subject {
            Subject::Plan(_) => None,
            Subject::Step(change) | Subject::Apply { change, .. } => Some(change.patch.as_str()),
        };
        let shown = patch.map(workspace::diff_hash);
        self.emit(Event::Checkpoint {
            name,
            state: CheckpointState::Reached,
            by: None,
            via: None,
            comment: None,
            at: Some(crate::sys::clock::now_rfc3339()),
            commit: false,
            step: step.map(str::to_string),
            diff_sha256: None,
        })?;
        self.recorder.pause_display();
        let catching_up = self.recorder.catching_up();
        let decision = match &mut self.mode {
            Mode::Replay(setup) if !setup.decisions.is_empty() => setup.decisions.remove(0),
            Mode::Replay(_) => Decision::Paused,
            // A checkpoint a resumed run has passed, or paused at and that
            // `wf approve` / `wf reject` decided since: the recorded decision.
            Mode::Resume(..) if catching_up => {
                let rest = self.recorder.still_recorded();
                let decision = recorded_decision(rest);
                if let (Decision::Approved { .. }, Some(shown), Some(approved)) =
                    (&decision, &shown, recorded_diff_hash(rest))
                    && approved != *shown
                {
                    return Err(EngineError::Refused(format!(
                        "refused: the recorded approval of the {} is not for this change: approved diff {approved}, about to apply {shown}; nothing was applied",
                        match step {
                            Some(step) =>
                                format!("{} checkpoint (after step `{step}`)", name.as_str()),
                            None => format!("{} checkpoint", name.as_str()),
                        }
                    )));
                }
                decision
            }
            Mode::Live | Mode::Resume(..) => self.approver.decide(&Checkpoint {
                name,
                step,
                root: &self.plan.root,
                subject,
            }),
        };
        let (state, by, via) = match &decision {
            Decision::Approved { by, via } => (
                CheckpointState::Approved,
                Some(by.clone()),
                Some(via.clone()),
            ),
            Decision::Rejected { by, via } => (
                CheckpointState::Rejected,
                Some(by.clone()),
                Some(via.clone()),
            ),
            Decision::Paused => (CheckpointState::Paused, None, None),
        };
        // Paused by a signal at the prompt: the run ends as any pause does.
        if decision == Decision::Paused && crate::sys::signals::interrupted() {
            self.settled = true;
        }
        let approved = matches!(decision, Decision::Approved { .. });
        self.emit(Event::Checkpoint {
            name,
            state,
            by,
            via,
            comment: None,
            at: Some(crate::sys::clock::now_rfc3339()),
            commit: false,
            step: step.map(str::to_string),
            diff_sha256: if approved { shown.clone() } else { None },
        })?;
        if approved && let Some(shown) = shown {
            self.change.approved_diff = Some(shown);
        }
        Ok(match decision {
            Decision::Approved { .. } => None,
            Decision::Rejected { by, .. } => Some((
                RunStatus::Rejected,
                Some(match step {
                    Some(step) => format!(
                        "{} checkpoint (after step `{step}`) rejected by {by}",
                        name.as_str()
                    ),
                    None => format!("{} checkpoint rejected by {by}", name.as_str()),
                }),
            )),
            Decision::Paused => Some((
                RunStatus::Paused,
                Some(format!(
                    "paused at the {} checkpoint: {}; the run is saved in {}",
                    name.as_str(),
                    if self.settled {
                        "interrupted at the prompt"
                    } else {
                        "no terminal to ask and no --yes"
                    },
                    self.dir.path.display()
                )),
            )),
        })
    }

    /// After the agent loop: keep the diff, then show, approve and apply it
    /// when the checks passed.
    pub(super) fn conclude(&mut self, end: End, ws: &Workspace) -> Result<End, EngineError> {
        let (patch, files) = self.change(ws)?;
        std::fs::write(self.dir.diff(), &patch)
            .map_err(EngineError::io("cannot write diff.patch"))?;
        let hash = workspace::diff_hash(&patch);
        self.emit(Event::DiffReady {
            diff_hash: hash.clone(),
            files: files.clone(),
        })?;
        self.change.diff_hash = Some(hash);
        self.change.files_changed = files.clone();
        if end.0 != RunStatus::Succeeded {
            return Ok(end);
        }
        if files.is_empty() {
            self.recorder.say("No changes to apply.\n");
            return Ok(end);
        }
        // The change must obey the run's permissions, however it was made
        // (a command can write anywhere in the workspace).
        if let Some(end) = self.refuse_outside(ws, &files)? {
            return Ok(end);
        }
        let change = Change::new(patch, files.clone());
        if self.options.dry_run {
            self.recorder.pause_display();
            self.approver.dry_run(&change, &self.dir.diff());
            return Ok((RunStatus::DryRun, None));
        }
        if self.plan.checkpoints.apply {
            let subject = Subject::Apply {
                change: &change,
                unconfined: self.plan.sandbox.mode == crate::spec::SandboxMode::Off,
            };
            if let Some(end) = self.checkpoint(CheckpointName::Apply, None, subject)? {
                return Ok(end);
            }
        }
        // What is applied is the diff approved, byte for byte.
        let on_disk = std::fs::read_to_string(self.dir.diff())
            .map_err(EngineError::io("cannot read diff.patch"))?;
        let about_to_apply = workspace::diff_hash(&on_disk);
        let approved = if self.plan.checkpoints.apply {
            self.change.approved_diff.clone()
        } else {
            self.change.diff_hash.clone()
        };
        if let Some(approved) = approved
            && approved != about_to_apply
        {
            let message = format!(
                "refused: approved diff {approved}, about to apply {about_to_apply}; nothing was applied"
            );
            return Ok((RunStatus::Error, Some(message)));
        }
        if let Mode::Replay(_) = self.mode {
            // A replay never touches the user's tree; it records what the
            // run did at this point.
            self.emit(Event::Applied { files })?;
            return Ok((RunStatus::Succeeded, None));
        }
        if ws.is_checkout() {
            // The change is in place already: it stays, if the checkout
            // still holds exactly the approved diff; nothing is applied.
            if let Err(e) = ws.keep_change(&about_to_apply) {
                return Ok((RunStatus::Error, Some(format!("refused: {e}"))));
            }
            return self.applied(ws, files);
        }
        match ws.changed_in_origin(&files) {
            Ok(conflicts) if !conflicts.is_empty() => {
                let message = workspace::WorkspaceError::Conflict(conflicts).to_string()
                    + &format!("; the patch is kept in {}", self.dir.diff().display());
                self.emit(Event::ApplyFailed {
                    message: message.clone(),
                })?;
                return Ok((RunStatus::ApplyFailed, Some(message)));
            }
            Ok(_) => {}
            Err(e) => return Err(EngineError::workspace("cannot compare with your tree")(e)),
        }
        match workspace::apply(&self.plan.root, &self.dir.diff()) {
            Ok(()) => self.applied(ws, files),
            Err(e) => {
                let message = format!("{e}; the patch is kept in {}", self.dir.diff().display());
                self.emit(Event::ApplyFailed {
                    message: message.clone(),
                })?;
                Ok((RunStatus::ApplyFailed, Some(message)))
            }
        }
    }

    /// The change is in the user's tree (applied, or left in place in
    /// checkout mode): recorded, its build cache kept, committed if asked.
    fn applied(&mut self, ws: &Workspace, files: Vec<String>) -> Result<End, EngineError> {
        self.emit(Event::Applied {
            files: files.clone(),
        })?;
        // What this run's commands left in the task's build cache
        // is trusted with the change (see `workspace`). Unkept (a
        // failed write), the next run starts it empty: the safe side.
        let _ = ws.keep_build_cache();
        if self.options.commit {
            let message = commit_message(self.plan, &self.dir.id, &self.approvers());
            match workspace::commit(&self.plan.root, &files, &message) {
                Ok(revision) => self.emit(Event::Committed { revision, files })?,
                Err(e) => {
                    return Ok((
                        RunStatus::Error,
                        Some(format!("the change was applied, but not committed: {e}")),
                    ));
                }
            }
        }
        Ok((RunStatus::Succeeded, None))
    }

    /// Who approved the apply checkpoint, from the events so far.
    fn approvers(&self) -> Vec<String> {
        self.recorder
            .summary()
            .approvals
            .into_iter()
            .filter(|a| a.checkpoint == "apply" && a.decision == "approved")
            .filter_map(|a| a.by)
            .collect()
    }

    pub(super) fn finish(
        &mut self,
        status: RunStatus,
        reason: Option<String>,
    ) -> Result<(), crate::error::Error> {
        let event = Event::RunFinished {
            status,
            reason,
            diff_hash: self.change.diff_hash.clone(),
            files_changed: self.change.files_changed.clone(),
            totals: self.spent.totals.clone(),
        };
        self.recorder.record(event)?;
        self.recorder.pause_display();
        self.recorder
            .write_summary()
            .map_err(|e| crate::error::Error::io("cannot write summary.json", e))?;
        Ok(())
    }
}

/// The commit message of an applied run: a subject, then trailers naming the
/// run, the task and its version, and the approver(s).
pub fn commit_message(plan: &Plan, run_id: &str, approvers: &[String]) -> String {
    let version = plan
        .version
        .as_deref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    let first_line = plan
        .implicit_step()
        .map_or("", |step| step.prompt.as_str())
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut msg = format!(
        "wf: {}{version}\n\n{first_line}\n\nWf-Run: {run_id}\nWf-Task: {}\n",
        plan.name, plan.name
    );
    if let Some(v) = &plan.version {
        msg.push_str(&format!("Wf-Task-Version: {v}\n"));
    }
    msg.push_str(&format!("Wf-Spec-Hash: {}\n", plan.spec_hash));
    for a in approvers {
        msg.push_str(&format!("Approved-By: {a}\n"));
    }
    msg
}

/// The error of a change over `limits.max_diff_bytes`: its size (the
/// changed files' bytes before and after; `None` when the files fit but
/// their patch did not), the limit and its largest files (names escaped),
/// nothing applied.
fn too_big(total: Option<u64>, limit: u64, sizes: &[(String, u64)]) -> String {
    let largest: Vec<String> = sizes
        .iter()
        .take(5)
        .map(|(path, bytes)| {
            format!(
                "{} ({})",
                crate::text::escape_line(path),
                crate::text::bytes(*bytes)
            )
        })
        .collect();
    let more = sizes.len().saturating_sub(largest.len());
    let size = match total {
        Some(total) => format!(
            "{} of changed content > {}",
            crate::text::bytes(total),
            crate::text::bytes(limit)
        ),
        None => format!("its patch passed {}", crate::text::bytes(limit)),
    };
    format!(
        "the run's change is over limits.max_diff_bytes ({size}): nothing was applied and no diff.patch was written; {} changed file{}, the largest: {}{}",
        sizes.len(),
        if sizes.len() == 1 { "" } else { "s" },
        largest.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

/// The diff hash of the decision recorded right after a checkpoint was
/// reached, if it records one (traces of older wf do not).
fn recorded_diff_hash(rest: &[Record]) -> Option<String> {
    rest.iter()
        .find(|r| Decision::of(&r.event).is_some())
        .and_then(|r| match &r.event {
            Event::Checkpoint { diff_sha256, .. } => diff_sha256.clone(),
            _ => None,
        })
}

/// The decision recorded right after a checkpoint was reached.
fn recorded_decision(rest: &[Record]) -> Decision {
    rest.iter()
        .find_map(|r| Decision::of(&r.event))
        .unwrap_or(Decision::Paused)
}
