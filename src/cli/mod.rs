//! The command line: clap types, dispatch, printing and exit codes —
//! nothing else. Each command calls one function of [`crate::app`] and
//! prints what it returns. Errors are printed here, in one place, and
//! mapped to exit codes by [`crate::error::Error::exit`] and
//! `Exit::from(RunStatus)`.
//!
//! Laid out: this module parses and dispatches (and holds `wf gc` and
//! `wf man`); `tasks` holds the commands about task files, `runs` the
//! commands about runs, `batch` `wf batch`, `completions` the shell
//! completions; `args` the clap types, `output` the printing macros.

pub mod args;
#[macro_use]
pub mod output;
mod batch;
mod completions;
mod runs;
mod tasks;

use args::{Cli, Command};
use runs::{RunFlags, decide, replay, report, resume, run_workflow, runs, show, trust};
use tasks::{emit, init, list, lock, plan, recipe_tests, validate};

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
