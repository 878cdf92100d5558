//! The commands about runs: `wf run` (who decides its checkpoints, how it
//! is shown), `runs`, `show`, `report`, `replay`, `approve`/`reject`,
//! `resume`, and what to do next after a run stopped short.

use super::*;

/// Whether the person can be asked: stdin and stderr are terminals.
fn interactive() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// How a sandbox wider than the default is approved: `--trust-sandbox`,
/// else at the terminal when there is one (see [`app::trust`]).
pub(super) fn trust(flag: bool) -> app::trust::Asked {
    app::trust::Asked {
        flag,
        typed_off: false,
        interactive: interactive(),
    }
}

/// Who decides a run's checkpoints, and how its changes are shown: this
/// terminal (when stdin and stderr are both terminals), `--yes`, or
/// nobody (the run pauses); colored on a terminal without `NO_COLOR`.
pub(super) fn approver(yes: bool) -> app::approver::Terminal {
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    app::approver::Terminal {
        yes,
        interactive: interactive(),
        color: terminal && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// The flags of `wf run` that decide how it is driven.
pub(super) struct RunFlags {
    pub(super) dry_run: bool,
    pub(super) yes: bool,
    pub(super) json: bool,
    pub(super) commit: bool,
    pub(super) quiet: bool,
    /// `--workspace checkout`.
    pub(super) checkout: bool,
}

pub(super) fn run_workflow(request: app::run::Request, flags: RunFlags) -> Result<Exit, Error> {
    use std::io::IsTerminal;
    let RunFlags {
        dry_run,
        yes,
        json,
        commit,
        quiet,
        checkout,
    } = flags;
    if checkout && !crate::workspace::checkout::in_ci() {
        return Err(Error::Usage(
            "--workspace checkout works in this checkout itself and is for a disposable CI checkout; `CI` is not set here (set CI=1 if this checkout is disposable, or leave the flag out to work in a copy)".into(),
        ));
    }
    let prepared = app::run::prepare(&request)?;
    if checkout && prepared.plan.sandbox.mode == crate::spec::SandboxMode::Off {
        return Err(Error::Usage(
            "--workspace checkout needs the sandbox: it is what keeps the checkout's .git and .wf out of the commands' reach; the sandbox is off for this run".into(),
        ));
    }
    if checkout && crate::sandbox::level().ok() != Some(crate::sandbox::Level::Full) {
        return Err(Error::Usage(
            "--workspace checkout needs the sandbox's full level, which this machine does not give (`wf doctor` says why): only a mount namespace keeps the checkout's .git read-only, and a hook or core.fsmonitor a command planted there would run in the next git command of the job; leave the flag out to work in a copy".into(),
        ));
    }
    for note in &prepared.notes {
        errln!("wf: note: {note}");
    }
    let mut reporter: Box<dyn Reporter> = if json {
        Box::new(crate::report::progress::Json { quiet })
    } else if std::io::stderr().is_terminal() {
        Box::new(crate::report::progress::Live::new(
            prepared.plan.limits.max_turns,
            quiet,
        ))
    } else {
        Box::new(crate::report::progress::Plain::new(quiet))
    };
    let outcome = prepared.run(
        RunOptions {
            dry_run,
            commit,
            sandbox_helper: None,
            checkout,
        },
        reporter.as_mut(),
        &mut approver(yes),
    )?;
    if json {
        let summary = std::fs::read_to_string(outcome.dir.summary()).unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(&summary).unwrap_or_default();
        outln!(
            "{}",
            serde_json::json!({ "kind": "summary", "summary": value })
        );
    }
    errln!(
        "wf: run {} {}; `wf show {}` for the timeline",
        outcome.run_id,
        outcome.status.as_str(),
        &outcome.run_id
    );
    export(&outcome);
    next_steps(&outcome);
    Ok(Exit::from(outcome.status))
}

/// With `OTEL_EXPORTER_OTLP_ENDPOINT` set, the run goes to the team's
/// tracing, from its trace, each time `wf run` or `wf resume` stops with
/// it (a resumed run sends its whole trace again: the span ids come from
/// the run id, so the receiver gets the same spans plus what the resume
/// added); a failure is a warning and never the run's outcome.
fn export(outcome: &crate::engine::RunOutcome) {
    match app::export::after_run(&outcome.dir) {
        None => {}
        Some(Ok(line)) => errln!("wf: {line}"),
        Some(Err(why)) => errln!(
            "wf: warning: the run was not exported to OpenTelemetry: {why}; \
             `wf export otel {}` sends it again",
            outcome.run_id
        ),
    }
}

pub(super) fn runs(touching: Option<&str>) -> Result<Exit, Error> {
    let listed = app::runs::list(touching)?;
    if listed.is_empty() {
        errln!("no runs recorded yet");
        return Ok(Exit::Success);
    }
    outln!("{}", crate::report::show::runs_header());
    for run in listed {
        let line = crate::report::show::run_line(&run.summary);
        if let Some(problem) = &run.problem {
            outln!("{line}  TRACE INVALID: {problem}");
            continue;
        }
        if touching.is_none() {
            outln!("{line}");
            continue;
        }
        let summary = &run.summary;
        let approvals: Vec<String> = summary
            .approvals
            .iter()
            .filter(|a| a.checkpoint == "apply" && a.decision == "approved")
            .map(|a| {
                format!(
                    "approved by {} via {} at {}",
                    a.by.as_deref().unwrap_or("?"),
                    a.via.as_deref().unwrap_or("?"),
                    a.at.as_deref().unwrap_or("?")
                )
            })
            .collect();
        let approvals = if approvals.is_empty() {
            "applied without an apply checkpoint".to_string()
        } else {
            approvals.join("; ")
        };
        let commit = summary
            .commit
            .as_deref()
            .map(|c| format!(", commit {}", crate::recipes::lock::short(c)))
            .unwrap_or_default();
        outln!("{line}  {approvals}{commit}");
    }
    Ok(Exit::Success)
}

pub(super) fn show(
    run: &str,
    json: bool,
    verify: bool,
    check: Option<&str>,
) -> Result<Exit, Error> {
    let shown = app::runs::show(run)?;
    if let Some(name) = check {
        for r in app::runs::check_rounds(&shown, name)? {
            let verdict = if r.passed {
                "passed".to_string()
            } else if r.timed_out {
                "TIMED OUT".to_string()
            } else {
                format!(
                    "FAILED (exit {})",
                    r.exit_code.map_or("-".into(), |c| c.to_string())
                )
            };
            let whole = if r.tail_only {
                ", the end the trace keeps"
            } else {
                ""
            };
            outln!("── check {name}, round {}: {verdict}{whole}", r.round);
            let text = crate::report::text::escape_controls(&r.output);
            if text.trim().is_empty() {
                outln!("(it printed nothing)");
            } else {
                outln!("{}", text.trim_end_matches('\n'));
            }
        }
        return Ok(Exit::Success);
    }
    if verify {
        app::runs::verify(&shown)?;
        outln!(
            "trace of run {} verified: {} events, hash chain intact{}",
            shown.dir.id,
            shown.records.len(),
            if shown.torn_tail {
                " (the last line was cut short by a crash)"
            } else {
                ""
            }
        );
        return Ok(Exit::Success);
    }
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&shown.summary).expect("summaries serialize")
        );
    } else {
        out!(
            "{}",
            crate::report::show::timeline(&shown.records, &shown.summary)
        );
        if shown.torn_tail {
            outln!("(the trace ends with a line cut short: the run was killed while writing it)");
        }
    }
    Ok(Exit::Success)
}

pub(super) fn report(run: &str, md: bool, output: Option<PathBuf>) -> Result<Exit, Error> {
    use app::report::{Format, Output};
    let format = if md { Format::Markdown } else { Format::Html };
    let output = match output {
        None => Output::Default,
        Some(p) if p.as_os_str() == "-" => Output::Stdout,
        Some(p) => Output::File(p),
    };
    let made = app::report::report(run, format, &output)?;
    match (&made.written, made.indexed) {
        (None, _) => out!("{}", made.text),
        (Some(path), None) => outln!("{}", path.display()),
        (Some(path), Some(n)) => {
            errln!(
                "wf: {n} run report{} written beside {}",
                if n == 1 { "" } else { "s" },
                if n == 1 { "its trace" } else { "their traces" }
            );
            outln!("{}", path.display())
        }
    }
    Ok(Exit::Success)
}

/// With `--foreign`, a run this user's wf did not create here is shown
/// (its diff, escaped) before anything acts on it.
fn show_foreign(run: &str, foreign: bool) -> Result<(), Error> {
    if !foreign {
        return Ok(());
    }
    if let Some((id, patch)) = app::resume::foreign_diff(run)? {
        errln!("wf: run {id} was not started by you in this repository (--foreign); its diff:");
        if patch.is_empty() {
            errln!("wf: (it recorded no diff)");
        } else {
            out!("{}", crate::report::diff::stat(&patch));
            let color = std::io::IsTerminal::is_terminal(&std::io::stdout())
                && std::env::var_os("NO_COLOR").is_none();
            out!("{}", crate::report::diff::patch(&patch, None, color));
        }
    }
    Ok(())
}

pub(super) fn replay(
    run: &str,
    current: bool,
    against: Option<&str>,
    foreign: bool,
    trust: &app::trust::Asked,
) -> Result<Exit, Error> {
    if let Some(other) = against {
        let compared = app::replay::against(run, other)?;
        return Ok(match compared.divergence {
            None => {
                outln!(
                    "runs {} and {} went the same way: {} events alike",
                    compared.expected,
                    compared.actual,
                    compared.events
                );
                Exit::Success
            }
            Some(d) => {
                let what = format!(
                    "runs {} (expected) and {} (actual)",
                    compared.expected, compared.actual
                );
                out!("{}", crate::report::divergence::render(&d, &what));
                Exit::Failed
            }
        });
    }
    show_foreign(run, foreign)?;
    match app::replay::replay_named(run, current, foreign, trust) {
        Ok((id, app::replay::Outcome::Reproduced(n, notes))) => {
            outln!("run {id}: reproduced {n} events");
            for note in &notes {
                outln!("note: {note}");
            }
            Ok(Exit::Success)
        }
        Ok((id, app::replay::Outcome::Diverged(d))) => {
            out!(
                "{}",
                crate::report::divergence::render(&d, &format!("replay of run {id}"))
            );
            Ok(Exit::Failed)
        }
        Err(app::replay::ReplayError::Wf(e)) => Err(e),
        Err(e) => Err(Error::Failed(e.to_string())),
    }
}

pub(super) fn decide(run: &str, decision: app::resume::Decision) -> Result<Exit, Error> {
    show_foreign(run, decision.foreign)?;
    let d = app::resume::decide(run, decision)?;
    if d.approved {
        errln!(
            "wf: run {}: {} approved by {}; `wf resume {}` continues it",
            d.run_id,
            d.which,
            d.by,
            d.run_id
        );
    } else {
        errln!(
            "wf: run {}: {} rejected by {}; the run is over, its diff kept",
            d.run_id,
            d.which,
            d.by
        );
    }
    Ok(Exit::Success)
}

pub(super) fn resume(
    run: &str,
    yes: bool,
    quiet: bool,
    foreign: bool,
    trust: &app::trust::Asked,
) -> Result<Exit, Error> {
    show_foreign(run, foreign)?;
    let mut reporter = crate::report::progress::Plain::new(quiet);
    let outcome = app::resume::resume(
        run,
        foreign,
        trust,
        &mut reporter,
        &mut approver(yes),
        &mut |r: &app::resume::Resuming| {
            for note in &r.notes {
                errln!("wf: note: {note}");
            }
            errln!(
                "wf: resuming run {} ({} model answers recorded, not asked again)",
                r.run_id,
                r.recorded_answers
            );
        },
    )?;
    errln!("wf: run {} {}", outcome.run_id, outcome.status.as_str());
    export(&outcome);
    next_steps(&outcome);
    Ok(Exit::from(outcome.status))
}

/// How to go on after a run stopped short: paused at a checkpoint (the
/// three commands that decide and continue it) or stopped by a signal.
fn next_steps(outcome: &crate::engine::RunOutcome) {
    use crate::record::event::RunStatus;
    let id = &outcome.run_id;
    match outcome.status {
        RunStatus::Interrupted => errln!(
            "wf: every command it started was stopped, its workspace removed; `wf resume {id}` continues it"
        ),
        RunStatus::Paused => {
            errln!("wf: it waits for a decision; from this or any other shell:");
            errln!("  wf approve {id}    approve the checkpoint, then");
            errln!(
                "  wf resume {id}     continue the run (`wf resume {id} --yes` approves what is still ahead)"
            );
            errln!("  wf reject {id}     or reject it: the run ends, its diff kept");
        }
        RunStatus::ApplyFailed => {
            let patch = outcome.dir.diff();
            let patch = std::env::current_dir()
                .ok()
                .and_then(|cwd| patch.strip_prefix(cwd).ok().map(Path::to_path_buf))
                .unwrap_or(patch);
            let patch = patch.display();
            errln!("wf: your tree was left as it is; to go on, either:");
            errln!(
                "  git apply --3way {patch}    merge the run's change with yours (conflicts are marked in the files)"
            );
            errln!("  or run the task again, from your tree as it is now");
        }
        _ => {}
    }
}
