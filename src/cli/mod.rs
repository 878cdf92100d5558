//! The command line: clap types, dispatch, printing and exit codes —
//! nothing else. Each command calls one function of [`crate::app`] and
//! prints what it returns. Errors are printed here, in one place, and
//! mapped to exit codes by [`crate::error::Error::exit`] and
//! `Exit::from(RunStatus)`.

#[macro_use]
pub mod output;

use crate::app;
use crate::engine::{Reporter, RunOptions};
use crate::error::{Error, Exit};
use crate::spec::SpecError;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

/// Run coding-agent workflows from versioned YAML task files.
#[derive(Debug, Parser)]
#[command(name = "wf", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check task files; a directory means every *.yaml / *.yml under it. Nothing runs.
    Validate {
        /// Files or directories (default: the current directory).
        paths: Vec<PathBuf>,
    },
    /// Show what a run would send and enforce, without calling any model.
    Plan {
        /// The task file.
        spec: PathBuf,
        /// An input value, KEY=VALUE (repeatable).
        #[arg(short = 'i', long = "input", value_name = "KEY=VALUE")]
        inputs: Vec<String>,
        /// Print the plan as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Run a workflow; the user's tree changes only after the apply checkpoint passes.
    Run {
        /// The task file.
        spec: PathBuf,
        /// An input value, KEY=VALUE (repeatable).
        #[arg(short = 'i', long = "input", value_name = "KEY=VALUE")]
        inputs: Vec<String>,
        /// Run everything and show the diff, but never apply it.
        #[arg(long)]
        dry_run: bool,
        /// Approve every checkpoint (recorded as approved by you via --yes).
        #[arg(long)]
        yes: bool,
        /// Print one JSON object per event on stdout, then a summary object.
        #[arg(long)]
        json: bool,
        /// Use this provider instead of the task file's (anthropic, openai, script).
        #[arg(long)]
        provider: Option<String>,
        /// Use this model instead of the task file's.
        #[arg(long)]
        model: Option<String>,
        /// Serve model requests already answered from the local response cache.
        #[arg(long)]
        cache: bool,
        /// Commit the applied change, with trailers naming the run, task and approver.
        #[arg(long)]
        commit: bool,
        /// `off` runs the commands of this run unconfined (recorded in the
        /// trace); `auto` confines them, or refuses where this machine cannot.
        #[arg(long, value_name = "auto|off", value_parser = parse_sandbox_mode)]
        sandbox: Option<crate::spec::SandboxMode>,
    },
    /// What this machine supports for confining commands, and what wf will do.
    Doctor,
    /// List recorded runs, newest first.
    Runs {
        /// Only runs whose applied change touched this file (or a file under this directory).
        #[arg(long, value_name = "PATH")]
        touching: Option<String>,
    },
    /// Show a run's timeline: files read, tool calls, denials, checks, repairs, approvals, cost.
    Show {
        /// A run id, an unambiguous prefix of one, or `last`.
        run: String,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Check the trace's hash chain: report any edited, dropped or reordered event.
        #[arg(long)]
        verify: bool,
    },
    /// Re-execute a recorded run with its recorded model answers and report the first divergence.
    Replay {
        /// A run id, an unambiguous prefix of one, or `last`.
        run: String,
        /// Replay against the repository as it is now, not the run's starting state.
        #[arg(long, conflicts_with = "against")]
        current: bool,
        /// Compare with another recorded run instead of re-executing.
        #[arg(long, value_name = "RUN2")]
        against: Option<String>,
    },
    /// Approve the checkpoint a paused run waits at (then `wf resume` continues it).
    Approve {
        /// A run id, an unambiguous prefix of one, or `last`.
        run: String,
        /// Why, recorded with the decision.
        #[arg(long)]
        comment: Option<String>,
        /// Who approves (default: git user.email, else $USER).
        #[arg(long = "as", value_name = "NAME")]
        who: Option<String>,
        /// Commit the change once `wf resume` applies it.
        #[arg(long)]
        commit: bool,
    },
    /// Reject the checkpoint a paused run waits at; the run ends as rejected.
    Reject {
        /// A run id, an unambiguous prefix of one, or `last`.
        run: String,
        /// Why, recorded with the decision.
        #[arg(long)]
        comment: Option<String>,
        /// Who rejects (default: git user.email, else $USER).
        #[arg(long = "as", value_name = "NAME")]
        who: Option<String>,
    },
    /// Continue a paused or interrupted run from its trace, without repeating answered model requests.
    Resume {
        /// A run id, an unambiguous prefix of one, or `last`.
        run: String,
        /// Approve the checkpoints still ahead.
        #[arg(long)]
        yes: bool,
    },
    /// Run recipe tests offline (`*.test.yaml`; a directory means every test file under it).
    Test {
        /// Test files or directories (default: the current directory).
        paths: Vec<PathBuf>,
    },
    /// Pin every `uses:` recipe to an exact commit and content hash in `wf.lock`
    /// next to the task files.
    Lock {
        /// Task files or directories (default: the current directory).
        paths: Vec<PathBuf>,
        /// Move pins on purpose: the one whose reference or recipe name is
        /// NAME, or every pin when NAME is left out.
        #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
        update: Option<String>,
    },
    /// Print the task-file JSON Schema.
    Schema,
    /// Write a new task file from a commented skeleton (never overwrites).
    Init {
        /// The workflow's name: lowercase letters, digits and single dashes.
        #[arg(default_value = crate::app::init::DEFAULT_NAME)]
        name: String,
        /// Where to write it (default: workflows/NAME.yaml at the repository root).
        #[arg(long, value_name = "FILE")]
        path: Option<PathBuf>,
    },
}

/// Parses the process arguments, runs the command, prints any error, and
/// returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => Exit::Usage.code(),
            };
        }
    };
    match run(cli) {
        Ok(exit) => exit.code(),
        Err(e) => {
            errln!("{}", render_error(&e));
            e.exit().code()
        }
    }
}

fn render_error(e: &Error) -> String {
    match e {
        Error::Spec(spec) => render_error_spec(spec),
        other => format!("error: {other}"),
    }
}

fn render_error_spec(e: &SpecError) -> String {
    match e {
        // Located diagnostics already start with `error:`.
        SpecError::Invalid(d) => d.to_string().trim_end().to_string(),
        other => format!("error: {other}"),
    }
}

fn run(cli: Cli) -> Result<Exit, Error> {
    match cli.command {
        Command::Validate { paths } => Ok(validate(&paths)),
        Command::Plan { spec, inputs, json } => plan(&spec, &inputs, json),
        Command::Run {
            spec,
            inputs,
            dry_run,
            yes,
            json,
            provider,
            model,
            cache,
            commit,
            sandbox,
        } => run_workflow(
            app::run::Request {
                spec,
                inputs,
                provider,
                model,
                cache,
                sandbox,
            },
            dry_run,
            yes,
            json,
            commit,
        ),
        Command::Runs { touching } => runs(touching.as_deref()),
        Command::Show { run, json, verify } => show(&run, json, verify),
        Command::Replay {
            run,
            current,
            against,
        } => replay(&run, current, against.as_deref()),
        Command::Approve {
            run,
            comment,
            who,
            commit,
        } => decide(
            &run,
            app::resume::Decision {
                approve: true,
                comment,
                who,
                commit,
            },
        ),
        Command::Reject { run, comment, who } => decide(
            &run,
            app::resume::Decision {
                approve: false,
                comment,
                who,
                commit: false,
            },
        ),
        Command::Resume { run, yes } => resume(&run, yes),
        Command::Test { paths } => recipe_tests(&paths),
        Command::Lock { paths, update } => lock(&paths, update),
        Command::Schema => {
            out!("{}", crate::spec::schema::schema_text());
            Ok(Exit::Success)
        }
        Command::Init { name, path } => init(&name, path.as_deref()),
        Command::Doctor => {
            out!("{}", crate::sandbox::doctor_report());
            Ok(Exit::Success)
        }
    }
}

fn parse_sandbox_mode(text: &str) -> Result<crate::spec::SandboxMode, String> {
    match text {
        "auto" => Ok(crate::spec::SandboxMode::Auto),
        "off" => Ok(crate::spec::SandboxMode::Off),
        _ => Err(format!("`{text}` is not a sandbox mode; use auto or off")),
    }
}

fn init(name: &str, path: Option<&Path>) -> Result<Exit, Error> {
    let written = app::init::init(Some(name), path, &app::current_dir()?)?;
    if let Some(schema) = &written.schema_written {
        outln!(
            "wrote {} (for editor completion; `wf schema` prints it again after an upgrade)",
            schema.display()
        );
    }
    let p = written.path.display();
    outln!("wrote {p}");
    outln!("next: edit the prompt and permissions, then");
    outln!("  wf validate {p}");
    outln!("  wf plan {p}");
    Ok(Exit::Success)
}

fn validate(paths: &[PathBuf]) -> Exit {
    let checked = app::validate::validate(paths);
    let bad = checked.iter().filter(|c| c.result.is_err()).count();
    let ok = checked.len() - bad;
    for c in checked {
        match c.result {
            Ok(()) => {
                outln!("ok    {}", c.path.display());
                // Allow patterns that let the model run any program: a
                // note, not an error (the sandbox is what confines them).
                if let Ok(loaded) = crate::spec::load(&c.path) {
                    for note in crate::spec::risky::risky_patterns(&loaded.spec) {
                        outln!("  note: {note}");
                    }
                }
            }
            Err(e) => {
                outln!("error {}", c.path.display());
                errln!("{}\n", render_error(&Error::Spec(e)).trim_end());
            }
        }
    }
    let noun = |n: usize| if n == 1 { "file" } else { "files" };
    if bad == 0 {
        outln!("{ok} task {} valid", noun(ok));
        Exit::Success
    } else {
        outln!("{ok} valid, {bad} with errors");
        Exit::Usage
    }
}

fn lock(paths: &[PathBuf], update: Option<String>) -> Result<Exit, Error> {
    use app::lock::Change;
    let update = update.map(|name| (!name.is_empty()).then_some(name));
    let report = app::lock::lock(paths, update)?;
    for e in &report.errors {
        errln!("{}\n", render_error_spec(e).trim_end());
    }
    let cwd = app::current_dir()?;
    let version = |p: &crate::recipes::Pin| match &p.commit {
        Some(c) => format!("commit {}", crate::recipes::lock::short(c)),
        None => format!("sha256 {}", crate::recipes::lock::short(&p.sha256)),
    };
    for file in &report.files {
        for change in &file.changes {
            match change {
                Change::Pinned(pin) => {
                    outln!("pinned  {} ({}) at {}", pin.uses, pin.name, version(pin))
                }
                Change::Moved { was, now } => outln!(
                    "moved   {} ({}) from {} to {}",
                    now.uses,
                    now.name,
                    version(was),
                    version(now)
                ),
                Change::Dropped(pin) => outln!("dropped {} (no longer used)", pin.uses),
            }
        }
        let shown = file.path.strip_prefix(&cwd).unwrap_or(&file.path);
        if file.written {
            outln!("wrote {}", shown.display());
        } else {
            outln!("{} is up to date", shown.display());
        }
    }
    if report.nothing_to_lock {
        outln!("no task file uses a recipe; nothing to lock");
    }
    Ok(if report.errors.is_empty() {
        Exit::Success
    } else {
        Exit::Usage
    })
}

fn plan(spec_path: &Path, inputs: &[String], json: bool) -> Result<Exit, Error> {
    let (plan, fixed) = app::run::plan(spec_path, inputs)?;
    if json {
        let mut value = serde_json::to_value(&plan).expect("plan serializes");
        value["fixed_request_bytes"] = fixed.into();
        let text = serde_json::to_string_pretty(&value).expect("plan serializes");
        outln!("{text}");
    } else {
        out!("{}", crate::report::plan::render(&plan, fixed));
    }
    Ok(Exit::Success)
}

/// How runs talk to the person: whether they can be asked, and colors.
fn options(yes: bool, dry_run: bool, commit: bool) -> RunOptions {
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    RunOptions {
        yes,
        dry_run,
        interactive: std::io::stdin().is_terminal() && terminal,
        color: terminal && std::env::var_os("NO_COLOR").is_none(),
        commit,
    }
}

fn run_workflow(
    request: app::run::Request,
    dry_run: bool,
    yes: bool,
    json: bool,
    commit: bool,
) -> Result<Exit, Error> {
    use std::io::IsTerminal;
    let prepared = app::run::prepare(&request)?;
    for note in &prepared.notes {
        errln!("wf: note: {note}");
    }
    let mut reporter: Box<dyn Reporter> = if json {
        Box::new(crate::report::progress::Json)
    } else if std::io::stderr().is_terminal() {
        Box::new(crate::report::progress::Live::new(
            prepared.plan.limits.max_turns,
        ))
    } else {
        Box::new(crate::report::progress::Plain)
    };
    let outcome = prepared.run(options(yes, dry_run, commit), reporter.as_mut())?;
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
    Ok(Exit::from(outcome.status))
}

fn runs(touching: Option<&str>) -> Result<Exit, Error> {
    let listed = app::runs::list(touching)?;
    if listed.is_empty() {
        errln!("no runs recorded yet");
        return Ok(Exit::Success);
    }
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

fn show(run: &str, json: bool, verify: bool) -> Result<Exit, Error> {
    let shown = app::runs::show(run)?;
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

fn replay(run: &str, current: bool, against: Option<&str>) -> Result<Exit, Error> {
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
    match app::replay::replay_named(run, current) {
        Ok((id, app::replay::Outcome::Reproduced(n))) => {
            outln!("run {id}: reproduced {n} events");
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

fn decide(run: &str, decision: app::resume::Decision) -> Result<Exit, Error> {
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

fn resume(run: &str, yes: bool) -> Result<Exit, Error> {
    let mut reporter = crate::report::progress::Plain;
    let outcome = app::resume::resume(
        run,
        options(yes, false, false),
        &mut reporter,
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
    Ok(Exit::from(outcome.status))
}

fn recipe_tests(paths: &[PathBuf]) -> Result<Exit, Error> {
    let files = app::test::discover(&app::validate::or_current(paths));
    if files.is_empty() {
        return Err(Error::Usage("no recipe tests (*.test.yaml) found".into()));
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in &files {
        let tests = app::test::load(file).map_err(Error::Usage)?;
        for outcome in app::test::run_file(file, &tests) {
            if outcome.failures.is_empty() {
                passed += 1;
                outln!("ok    {}", outcome.id);
            } else {
                failed += 1;
                outln!("FAIL  {}", outcome.id);
                for f in &outcome.failures {
                    outln!("      {f}");
                }
            }
        }
    }
    outln!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        Exit::Success
    } else {
        Exit::Failed
    })
}
