//! The command line: clap types, dispatch, printing and exit codes —
//! nothing else. Each command calls one function of [`crate::app`] and
//! prints what it returns. Errors are printed here, in one place, and
//! mapped to exit codes by [`crate::error::Error::exit`] and
//! `Exit::from(RunStatus)`.

pub mod args;
#[macro_use]
pub mod output;
mod batch;
mod completions;

use args::{Cli, Command};

use crate::app;
use crate::engine::{Reporter, RunOptions};
use crate::error::{Error, Exit};
use crate::spec::SpecError;
use clap::{CommandFactory, Parser};
use std::path::{Path, PathBuf};

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
            // An error can quote outside text (an MCP server's stderr, a
            // file name): its control characters are shown, not obeyed.
            errln!(
                "{}",
                crate::report::text::escape_controls(&render_error(&e))
            );
            e.exit().code()
        }
    }
}

fn render_error(e: &Error) -> String {
    match e {
        Error::Spec(spec) => render_error_spec(spec),
        // Located diagnostics already start with `error:`.
        Error::Plan(crate::plan::PlanError::Located(d)) => d.to_string().trim_end().to_string(),
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
    // Ctrl-C during a run stops it cleanly (see `crate::sys::signals`);
    // still one thread here, as `install` needs.
    if matches!(
        cli.command,
        Command::Run { .. } | Command::Resume { .. } | Command::Batch { .. }
    ) {
        crate::sys::signals::install();
    }
    // A task file may be given by name (`wf run migrate-config`): it
    // becomes the path it names here, once, so everything after sees a
    // path as if it had been typed (see `app::find`).
    let found = |arg: &Path| app::current_dir().and_then(|cwd| app::find::task(arg, &cwd));
    let all_found =
        |args: &[PathBuf]| app::current_dir().and_then(|cwd| app::find::tasks(args, &cwd));
    match cli.command {
        Command::Validate { paths } => Ok(validate(&all_found(&paths)?)),
        Command::List { json, names } => list(json, names),
        Command::Plan { spec, inputs, json } => plan(&found(&spec)?, &inputs, json),
        Command::Run {
            spec,
            inputs,
            dry_run,
            yes,
            json,
            provider,
            model,
            script,
            cache,
            commit,
            sandbox,
            trust_sandbox,
            quiet,
            max_cost_usd,
            workspace,
        } => run_workflow(
            app::run::Request {
                spec: found(&spec)?,
                inputs,
                provider,
                model,
                cache,
                sandbox,
                max_cost_usd,
                trust: trust(trust_sandbox),
                script,
            },
            RunFlags {
                dry_run,
                yes,
                json,
                commit,
                quiet,
                checkout: workspace.as_deref() == Some("checkout"),
            },
        ),
        Command::Batch {
            task,
            repos,
            jobs,
            inputs,
            max_cost_usd,
            max_requests,
            yes,
            dry_run,
            trust_sandbox,
            json,
            dir,
        } => batch::batch(
            app::batch::Request {
                task: found(&task)?,
                repos,
                jobs,
                inputs,
                max_cost_usd,
                max_requests,
                yes,
                dry_run,
                trust_sandbox,
                dir,
            },
            json,
        ),
        Command::Runs { touching } => runs(touching.as_deref()),
        Command::Show {
            run,
            json,
            verify,
            check,
        } => show(&run, json, verify, check.as_deref()),
        Command::Report {
            run,
            html: _,
            md,
            output,
        } => report(&run, md, output),
        Command::Replay {
            run,
            current,
            against,
            foreign,
            trust_sandbox,
        } => replay(
            &run,
            current,
            against.as_deref(),
            foreign,
            &trust(trust_sandbox),
        ),
        Command::Approve {
            run,
            comment,
            who,
            commit,
            foreign,
        } => decide(
            &run,
            app::resume::Decision {
                approve: true,
                comment,
                who,
                commit,
                foreign,
            },
        ),
        Command::Reject {
            run,
            comment,
            who,
            foreign,
        } => decide(
            &run,
            app::resume::Decision {
                approve: false,
                comment,
                who,
                commit: false,
                foreign,
            },
        ),
        Command::Resume {
            run,
            yes,
            trust_sandbox,
            quiet,
            foreign,
        } => resume(&run, yes, quiet, foreign, &trust(trust_sandbox)),
        Command::Test { paths } => recipe_tests(&paths),
        Command::Lock { paths, update } => lock(&all_found(&paths)?, update),
        Command::Schema => {
            out!("{}", crate::spec::schema::schema_text());
            Ok(Exit::Success)
        }
        Command::Completions { shell } => {
            out!("{}", completions::script(shell, &mut Cli::command()));
            Ok(Exit::Success)
        }
        Command::Man { subcommand } => man(subcommand.as_deref()),
        Command::Init { name, path } => init(&name, path.as_deref()),
        Command::Emit { mut target } => {
            let common = match &mut target {
                args::EmitTarget::Github { common, .. } | args::EmitTarget::K8s { common, .. } => {
                    common
                }
            };
            common.task = found(&common.task)?;
            emit(target)
        }
        Command::Export {
            target:
                args::ExportTarget::Otel {
                    run,
                    output,
                    protocol,
                },
        } => match app::export::otel(
            &run,
            output.as_deref(),
            if protocol.as_deref() == Some("http/protobuf") {
                app::export::Protocol::Protobuf
            } else {
                app::export::Protocol::Json
            },
        )? {
            app::export::Done::Sent(line) => {
                errln!("wf: {line}");
                Ok(Exit::Success)
            }
            app::export::Done::Printed(bytes) => {
                use std::io::Write;
                std::io::stdout()
                    .write_all(&bytes)
                    .map_err(|e| Error::io("cannot write to stdout", e))?;
                Ok(Exit::Success)
            }
            app::export::Done::Written(file) => {
                errln!("wf: wrote {}", file.display());
                Ok(Exit::Success)
            }
        },
        Command::Doctor => {
            out!("{}", crate::sandbox::doctor_report());
            Ok(Exit::Success)
        }
        Command::Gc { days, all } => gc(days, all),
    }
}

/// `wf gc`: one line per slot or cache removed or kept because in use,
/// then the space reclaimed.
fn gc(days: u64, all: bool) -> Result<Exit, Error> {
    let limit = (!all).then(|| std::time::Duration::from_secs(days * 24 * 3600));
    let report =
        crate::workspace::gc::collect(limit).map_err(|e| Error::Failed(format!("wf gc: {e}")))?;
    let days_of = |d: std::time::Duration| d.as_secs() / (24 * 3600);
    for e in &report.removed {
        outln!(
            "removed {} {} (unused for {} days): {}",
            e.kind,
            e.path.display(),
            days_of(e.unused),
            crate::report::size(e.bytes)
        );
    }
    for (e, pid) in &report.in_use {
        outln!(
            "kept {} {}: in use by a running wf (pid {pid})",
            e.kind,
            e.path.display()
        );
    }
    let recent = if all || report.kept.is_empty() {
        String::new()
    } else {
        format!("; {} used within {days} days kept", report.kept.len())
    };
    outln!(
        "reclaimed {} from {} slots and caches{recent}",
        crate::report::size(report.reclaimed()),
        report.removed.len()
    );
    Ok(Exit::Success)
}

/// The manual page of wf, or of one subcommand (`wf-run(1)`), as roff.
fn man(subcommand: Option<&str>) -> Result<Exit, Error> {
    let wf = Cli::command();
    let (page, title) = match subcommand {
        None => (wf, "wf".to_string()),
        Some(name) => {
            let Some(sub) = wf.find_subcommand(name) else {
                let names: Vec<&str> = wf.get_subcommands().map(|c| c.get_name()).collect();
                return Err(Error::Usage(format!(
                    "no subcommand `{name}`; `wf man` takes one of: {}",
                    names.join(", ")
                )));
            };
            // The page of `wf run` is wf-run(1), as the main page lists it.
            let page = sub
                .clone()
                .name(format!("wf-{name}"))
                .bin_name(format!("wf {name}"))
                .version(env!("CARGO_PKG_VERSION"));
            (page, format!("wf-{name}"))
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .title(title)
        .render(&mut out)
        .map_err(|e| Error::io("cannot render the manual page", e))?;
    out!("{}", String::from_utf8_lossy(&out));
    Ok(Exit::Success)
}

fn emit(target: args::EmitTarget) -> Result<Exit, Error> {
    use app::emit::{self, github, k8s};
    let (common, made) = match target {
        args::EmitTarget::Github {
            common,
            approval_environment,
            max_parallel,
            wf_install,
            pull_request,
            runs_on,
        } => {
            let p = emit::prepare(&emit_request(&common))?;
            let made = github::emit(
                &p,
                &github::Options {
                    approval_environment,
                    max_parallel,
                    wf_install,
                    pull_request,
                    runs_on,
                },
            )?;
            (common, made)
        }
        args::EmitTarget::K8s {
            common,
            image,
            parallelism,
            secret,
            runs_claim,
            namespace,
        } => {
            let p = emit::prepare(&emit_request(&common))?;
            let made = k8s::emit(
                &p,
                &k8s::Options {
                    image,
                    parallelism,
                    secret,
                    runs_claim,
                    namespace,
                },
            )?;
            (common, made)
        }
    };
    match &common.output {
        None => out!("{}", made.text),
        Some(file) => {
            std::fs::write(file, &made.text)
                .map_err(|e| Error::io(format!("cannot write {}", file.display()), e))?;
            errln!("wf: wrote {}", file.display());
        }
    }
    for note in &made.notes {
        errln!("wf: {note}");
    }
    Ok(Exit::Success)
}

fn emit_request(common: &args::EmitCommon) -> app::emit::Request {
    app::emit::Request {
        task: common.task.clone(),
        repos: common.repos.clone(),
        sandbox: common.sandbox,
        trust_sandbox: common.trust_sandbox,
        max_cost_usd: common.max_cost_usd,
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

/// `wf list`: the repository's task files.
fn list(json: bool, names: bool) -> Result<Exit, Error> {
    let listing = app::list::list(&app::current_dir()?)?;
    if names {
        for t in &listing.tasks {
            outln!("{}", t.name);
        }
    } else if json {
        let text = serde_json::to_string_pretty(&listing).expect("listings serialize");
        outln!("{text}");
    } else {
        out!("{}", app::list::render(&listing));
    }
    Ok(Exit::Success)
}

fn lock(paths: &[PathBuf], update: Option<String>) -> Result<Exit, Error> {
    use app::lock::Change;
    let update = update.map(|name| (!name.is_empty()).then_some(name));
    let report = app::lock::lock(paths, update)?;
    for note in &report.notes {
        errln!("wf: note: {note}");
    }
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
                Change::McpPinned(pin) => outln!(
                    "pinned  MCP {} ({})",
                    pin.package,
                    mcp_tools(pin.tools.keys())
                ),
                Change::McpMoved { was, now } => {
                    let changed: Vec<&String> = now
                        .tools
                        .iter()
                        .filter(|(t, sha)| was.tools.get(*t).is_some_and(|w| w != *sha))
                        .map(|(t, _)| t)
                        .collect();
                    let added: Vec<&String> = now
                        .tools
                        .keys()
                        .filter(|t| !was.tools.contains_key(*t))
                        .collect();
                    let removed: Vec<&String> = was
                        .tools
                        .keys()
                        .filter(|t| !now.tools.contains_key(*t))
                        .collect();
                    let mut what = Vec::new();
                    for (names, verb) in
                        [(changed, "changed"), (added, "added"), (removed, "removed")]
                    {
                        if !names.is_empty() {
                            what.push(format!("{verb} {}", mcp_tools(names.into_iter())));
                        }
                    }
                    outln!("moved   MCP {}: {}", now.package, what.join("; "))
                }
                Change::McpDropped(pin) => {
                    outln!("dropped MCP {} (no longer used)", pin.package)
                }
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
        outln!("no task file uses a recipe or an MCP server; nothing to lock");
    }
    Ok(if report.errors.is_empty() {
        Exit::Success
    } else {
        Exit::Usage
    })
}

/// Tool names for `wf lock`'s report: "tools echo, read".
fn mcp_tools<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    let noun = if names.len() == 1 { "tool" } else { "tools" };
    format!("{noun} {}", names.join(", "))
}

fn plan(spec_path: &Path, inputs: &[String], json: bool) -> Result<Exit, Error> {
    let (plan, fixed) = app::run::plan(spec_path, inputs)?;
    if json {
        let mut value = serde_json::to_value(&plan).expect("plan serializes");
        value["fixed_request_bytes"] = fixed.into();
        let widening = plan.widening();
        if !widening.is_empty() {
            value["sandbox_widening"] =
                serde_json::to_value(&widening).expect("a widening serializes");
        }
        let text = serde_json::to_string_pretty(&value).expect("plan serializes");
        // Tool descriptions come from MCP servers: no raw control codes.
        outln!("{}", crate::report::text::escape_json(&text));
    } else {
        out!("{}", crate::report::plan::render(&plan, fixed));
    }
    Ok(Exit::Success)
}

/// Whether the person can be asked: stdin and stderr are terminals.
fn interactive() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// How a sandbox wider than the default is approved: `--trust-sandbox`,
/// else at the terminal when there is one (see [`app::trust`]).
fn trust(flag: bool) -> app::trust::Asked {
    app::trust::Asked {
        flag,
        typed_off: false,
        interactive: interactive(),
    }
}

/// Who decides a run's checkpoints, and how its changes are shown: this
/// terminal (when stdin and stderr are both terminals), `--yes`, or
/// nobody (the run pauses); colored on a terminal without `NO_COLOR`.
fn approver(yes: bool) -> app::approver::Terminal {
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    app::approver::Terminal {
        yes,
        interactive: interactive(),
        color: terminal && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// The flags of `wf run` that decide how it is driven.
struct RunFlags {
    dry_run: bool,
    yes: bool,
    json: bool,
    commit: bool,
    quiet: bool,
    /// `--workspace checkout`.
    checkout: bool,
}

fn run_workflow(request: app::run::Request, flags: RunFlags) -> Result<Exit, Error> {
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
    // With OTEL_EXPORTER_OTLP_ENDPOINT set, the run goes to the team's
    // tracing, from its trace, now that it has ended; a failure is a
    // warning and never the run's outcome.
    match app::export::after_run(&outcome.dir) {
        None => {}
        Some(Ok(line)) => errln!("wf: {line}"),
        Some(Err(why)) => errln!(
            "wf: warning: the run was not exported to OpenTelemetry: {why}; \
             `wf export otel {}` sends it again",
            outcome.run_id
        ),
    }
    next_steps(&outcome);
    Ok(Exit::from(outcome.status))
}

fn runs(touching: Option<&str>) -> Result<Exit, Error> {
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

fn show(run: &str, json: bool, verify: bool, check: Option<&str>) -> Result<Exit, Error> {
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

fn report(run: &str, md: bool, output: Option<PathBuf>) -> Result<Exit, Error> {
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

fn replay(
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

fn decide(run: &str, decision: app::resume::Decision) -> Result<Exit, Error> {
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

fn resume(
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

fn recipe_tests(paths: &[PathBuf]) -> Result<Exit, Error> {
    let files = app::test::named(&app::validate::or_current(paths), &app::current_dir()?)?;
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
