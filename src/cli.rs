//! Command-line arguments and dispatch: the only module that knows clap.
//! Errors are printed here, in one place, and mapped to exit codes by
//! [`crate::error::Error::exit`].

use crate::error::{Error, Exit};
use crate::spec::{self, SpecError};
use clap::{Parser, Subcommand};
use std::collections::BTreeMap;
use std::io::Write;
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
    },
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
        #[arg(default_value = crate::init::DEFAULT_NAME)]
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
        // Located diagnostics already start with `error:`.
        Error::Spec(SpecError::Invalid(d)) => d.to_string().trim_end().to_string(),
        other => format!("error: {other}"),
    }
}

fn run(cli: Cli) -> Result<Exit, Error> {
    match cli.command {
        Command::Validate { paths } => validate(&paths),
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
        } => run_workflow(
            &spec,
            &inputs,
            RunFlags {
                dry_run,
                yes,
                json,
                provider,
                model,
                cache,
                commit,
            },
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
        } => decide(&run, true, comment, who, commit),
        Command::Reject { run, comment, who } => decide(&run, false, comment, who, false),
        Command::Resume { run, yes } => resume(&run, yes),
        Command::Test { paths } => recipe_tests(&paths),
        Command::Lock { paths, update } => lock(&paths, update),
        Command::Schema => {
            out!("{}", spec::schema::schema_text());
            Ok(Exit::Success)
        }
        Command::Init { name, path } => init(&name, path.as_deref()),
    }
}

fn init(name: &str, path: Option<&Path>) -> Result<Exit, Error> {
    let written = crate::init::init(Some(name), path, &current_dir()?)?;
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

fn current_dir() -> Result<PathBuf, Error> {
    std::env::current_dir().map_err(|e| Error::io("cannot read the current directory", e))
}

/// The paths given, or `.` when none are.
fn or_current(paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    }
}

/// The task files named by `paths` (a directory means every task file
/// under it), each with whether it was found by walking a directory.
fn task_files(paths: &[PathBuf]) -> Vec<(PathBuf, bool)> {
    let mut files = Vec::new();
    for p in or_current(paths) {
        if p.is_dir() {
            files.extend(task_files_under(&p).into_iter().map(|f| (f, true)));
        } else {
            files.push((p, false));
        }
    }
    files
}

fn validate(paths: &[PathBuf]) -> Result<Exit, Error> {
    let files: Vec<PathBuf> = task_files(paths).into_iter().map(|(f, _)| f).collect();
    let mut ok = 0usize;
    let mut bad = 0usize;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for file in &files {
        match spec::load(file) {
            Ok(_) => {
                ok += 1;
                let _ = writeln!(out, "ok    {}", file.display());
            }
            Err(e) => {
                bad += 1;
                let _ = writeln!(out, "error {}", file.display());
                errln!("{}\n", render_error(&Error::Spec(e)).trim_end());
            }
        }
    }
    let noun = |n: usize| if n == 1 { "file" } else { "files" };
    if bad == 0 {
        let _ = writeln!(out, "{ok} task {} valid", noun(ok));
        Ok(Exit::Success)
    } else {
        let _ = writeln!(out, "{ok} valid, {bad} with errors");
        Ok(Exit::Usage)
    }
}

/// `wf lock`: one `wf.lock` per directory of task files that use recipes.
fn lock(paths: &[PathBuf], update: Option<String>) -> Result<Exit, Error> {
    use crate::recipes::{Lock, Mode, Resolver};
    let files = task_files(paths);
    let dir_of = |file: &Path| {
        let dir = spec::dir_of(file);
        dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
    };
    let mut by_dir: BTreeMap<PathBuf, Vec<crate::spec::LoadedSpec>> = BTreeMap::new();
    // A directory's unused pins are dropped only when every task file in it
    // was walked and loaded; otherwise they are kept.
    let mut walked = std::collections::BTreeSet::new();
    let mut partial = std::collections::BTreeSet::new();
    let mut bad = 0usize;
    for (file, from_walk) in &files {
        let dir = dir_of(file);
        if *from_walk {
            walked.insert(dir.clone());
        } else {
            partial.insert(dir.clone());
        }
        match spec::load(file) {
            Ok(loaded) => {
                let entry = by_dir.entry(dir).or_default();
                if loaded.spec.uses_recipes() {
                    entry.push(loaded);
                }
            }
            Err(e) => {
                bad += 1;
                partial.insert(dir);
                errln!("{}\n", render_error(&Error::Spec(e)).trim_end());
            }
        }
    }
    let cwd = current_dir()?;
    let root = crate::sys::git::repo_root(&cwd);
    let update = update.map(|name| (!name.is_empty()).then_some(name));
    let version = |p: &crate::recipes::Pin| match &p.commit {
        Some(c) => format!("commit {}", crate::recipes::lock::short(c)),
        None => format!("sha256 {}", crate::recipes::lock::short(&p.sha256)),
    };
    let mut matched = false;
    for (dir, tasks) in &by_dir {
        let lock_path = dir.join(crate::recipes::lock::FILE_NAME);
        if tasks.is_empty() && !lock_path.exists() {
            continue;
        }
        let mut resolver = Resolver::new(
            &root,
            dir,
            Mode::Lock {
                update: update.clone(),
            },
        )
        .map_err(Error::Failed)?;
        for task in tasks {
            crate::recipes::find_all(task, &mut resolver).map_err(|e| {
                Error::Plan(crate::plan::PlanError::Recipe(format!(
                    "{}: {e}",
                    task.path.display()
                )))
            })?;
        }
        matched |= resolver.update_matched;
        let old = resolver.lock().clone();
        let complete = walked.contains(dir) && !partial.contains(dir);
        let kept = old
            .pins()
            .filter(|p| !complete && !resolver.used.contains_key(&p.uses))
            .cloned()
            .collect::<Vec<_>>();
        let new = Lock::from_pins(kept.into_iter().chain(resolver.used.values().cloned()));
        let shown = lock_path
            .strip_prefix(&cwd)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| lock_path.clone());
        for pin in new.pins() {
            match old.get(&pin.uses) {
                None => outln!("pinned  {} ({}) at {}", pin.uses, pin.name, version(pin)),
                Some(was) if was != pin => outln!(
                    "moved   {} ({}) from {} to {}",
                    pin.uses,
                    pin.name,
                    version(was),
                    version(pin)
                ),
                Some(_) => {}
            }
        }
        for pin in old.pins() {
            if new.get(&pin.uses).is_none() {
                outln!("dropped {} (no longer used)", pin.uses);
            }
        }
        if new != old || !lock_path.exists() {
            write_atomic(&lock_path, new.render().as_bytes())
                .map_err(|e| Error::io(format!("cannot write {}", lock_path.display()), e))?;
            outln!("wrote {}", shown.display());
        } else {
            outln!("{} is up to date", shown.display());
        }
    }
    if let Some(Some(name)) = &update
        && !matched
    {
        return Err(Error::Usage(format!(
            "--update {name}: no pin has that reference or recipe name"
        )));
    }
    if by_dir.values().all(Vec::is_empty) && bad == 0 {
        outln!("no task file uses a recipe; nothing to lock");
    }
    Ok(if bad == 0 { Exit::Success } else { Exit::Usage })
}

/// Writes `path` whole or not at all (a temporary file renamed over it).
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    // A committed file, readable like any other (not the temp file's 0600).
    tmp.as_file()
        .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Task files under a directory, sorted. Script files of the `script`
/// provider (a mapping with `turns:` and no `wf:`) sit next to task files
/// and are not task files: they are left out.
pub fn task_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = crate::context::walk_builder(dir, dir)
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .map(|e| e.into_path())
        .filter(|p| {
            matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
                && !is_script_file(p)
        })
        .collect();
    files.sort();
    files
}

fn is_script_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.ends_with(".test.yaml") || name.ends_with(".test.yml") {
        return true; // recipe tests, not task files
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let has_top = |key: &str| {
        text.lines().any(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.starts_with(':'))
        })
    };
    has_top("turns") && !has_top("wf")
}

fn parse_inputs(inputs: &[String]) -> Result<BTreeMap<String, String>, Error> {
    crate::inputs::parse_assignments(inputs)
        .map_err(|e| Error::Plan(crate::plan::PlanError::Inputs(e)))
}

fn plan(spec_path: &Path, inputs: &[String], json: bool) -> Result<Exit, Error> {
    let loaded = spec::load(spec_path)?;
    let given = parse_inputs(inputs)?;
    let root = crate::sys::git::repo_root(&current_dir()?);
    let mut resolver =
        crate::recipes::Resolver::for_task(&loaded, &root, crate::recipes::Mode::Preview)?;
    let plan = crate::plan::make(&loaded, &given, &root, &mut resolver)?;
    let fixed = crate::engine::fixed_request_bytes(plan.task_settings());
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

struct RunFlags {
    dry_run: bool,
    yes: bool,
    json: bool,
    provider: Option<String>,
    model: Option<String>,
    cache: bool,
    commit: bool,
}

/// The provider a run uses and how its usage is priced. Every problem here is
/// a usage error (exit 2): nothing has run yet.
fn make_provider(
    loaded: &spec::LoadedSpec,
    plan: &crate::plan::Plan,
    skip_turns: usize,
) -> Result<(Box<dyn crate::provider::Provider>, crate::engine::Pricing), Error> {
    use crate::provider::{cost, factory};
    if plan.model.provider == spec::ProviderName::Script {
        let Some(script) = plan.model.script.as_deref() else {
            return Err(Error::Usage(
                "`provider: script` needs `model.script` in the task file".into(),
            ));
        };
        let mut provider =
            crate::provider::script::ScriptProvider::load(&loaded.dir().join(script))
                .map_err(Error::Usage)?;
        if crate::plan::models(plan).iter().any(|(_, capped)| *capped) {
            errln!(
                "wf: note: the script provider reports no usage, so `max_cost_usd` is not enforced"
            );
        }
        provider.skip(skip_turns);
        return Ok((Box::new(provider), Box::new(|_, _| None)));
    }
    let name = plan.model.provider.as_str();
    let Some(model) = plan.model.name.clone() else {
        return Err(Error::Usage(format!(
            "`provider: {name}` needs a model: set `model.name` or pass --model"
        )));
    };
    let env = |v: &str| std::env::var(v).ok();
    let mut config =
        factory::config_from_env(name, &env).map_err(|e| Error::Usage(e.to_string()))?;
    if let Some(n) = plan.model.max_attempts {
        config.max_attempts = n;
    }
    let provider = factory::create(name, config).map_err(|e| Error::Usage(e.to_string()))?;
    // A cost cap needs a price for every model it covers; an unknown price
    // is otherwise only worth a warning, once per model.
    let models = crate::plan::models(plan);
    for (m, capped) in &models {
        let name = m.name.clone().unwrap_or_else(|| model.clone());
        if *capped && m.price.or_else(|| cost::price_for(&name)).is_none() {
            return Err(Error::Usage(format!(
                "limits.max_cost_usd cannot be enforced: no price known for `{name}`; set `model.price`"
            )));
        }
    }
    let mut warned = std::collections::BTreeSet::new();
    for (m, _) in &models {
        let name = m.name.clone().unwrap_or_else(|| model.clone());
        if m.price.or_else(|| cost::price_for(&name)).is_none() && warned.insert(name.clone()) {
            errln!(
                "wf: price unknown for model `{name}`: cost is not tracked; set `model.price` in the task file to track it"
            );
        }
    }
    let pricing: crate::engine::Pricing = Box::new(move |m, usage| {
        let name = m.name.as_deref().unwrap_or(&model);
        m.price
            .or_else(|| cost::price_for(name))
            .and_then(|p| cost::cost(usage, &p))
    });
    Ok((provider, pricing))
}

fn run_workflow(spec_path: &Path, inputs: &[String], flags: RunFlags) -> Result<Exit, Error> {
    use std::io::IsTerminal;
    let RunFlags {
        dry_run,
        yes,
        json,
        provider,
        model,
        cache,
        commit,
    } = flags;
    let mut loaded = spec::load(spec_path)?;
    if let Some(p) = provider {
        loaded.spec.model.provider = spec::ProviderName::from_name(&p).ok_or_else(|| {
            Error::Usage(format!(
                "unknown provider `{p}`; expected anthropic, openai or script"
            ))
        })?;
    }
    if let Some(m) = model {
        loaded.spec.model.name = Some(m);
    }
    let given = parse_inputs(inputs)?;
    let root = crate::sys::git::repo_root(&current_dir()?);
    let mut resolver =
        crate::recipes::Resolver::for_task(&loaded, &root, crate::recipes::Mode::Locked)?;
    let plan = crate::plan::make(&loaded, &given, &root, &mut resolver)?;
    for note in &plan.notes {
        errln!("note: {note}");
    }
    let (mut provider, pricing) = make_provider(&loaded, &plan, 0)?;
    let terminal = std::io::stderr().is_terminal();
    let options = crate::engine::RunOptions {
        yes,
        dry_run,
        interactive: std::io::stdin().is_terminal() && terminal,
        color: terminal && std::env::var_os("NO_COLOR").is_none(),
        commit,
    };
    let mut reporter: Box<dyn crate::engine::Reporter> = if json {
        Box::new(crate::report::progress::Json)
    } else if terminal {
        Box::new(crate::report::progress::Live::new(plan.limits.max_turns))
    } else {
        Box::new(crate::report::progress::Plain)
    };
    let mut cached;
    let provider: &mut dyn crate::provider::Provider = if cache || plan.model.cache {
        cached = crate::provider::cache::Cached::new(
            root.join(".wf/cache/responses"),
            provider.as_mut(),
        );
        &mut cached
    } else {
        provider.as_mut()
    };
    let outcome = crate::engine::run(&plan, provider, pricing, options, reporter.as_mut())?;
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
    Ok(outcome.status.exit())
}

fn runs(touching: Option<&str>) -> Result<Exit, Error> {
    let cwd = current_dir()?;
    let root = crate::sys::git::repo_root(&cwd);
    let store = crate::record::store::Store::new(&root);
    // PATH is relative to the current directory; applied files are relative to the root.
    let target = touching.map(|p| {
        let abs = cwd.join(p);
        let canonical_cwd = cwd.canonicalize().unwrap_or(cwd.clone());
        let rel_cwd = canonical_cwd
            .strip_prefix(&root)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let joined = rel_cwd.join(p);
        let _ = abs;
        crate::policy::normalize(&joined.to_string_lossy())
    });
    let ids = store.list();
    if ids.is_empty() {
        errln!("no runs recorded yet");
        return Ok(Exit::Success);
    }
    for id in ids {
        let Ok(dir) = store.resolve(&id) else {
            continue;
        };
        let summary = match crate::record::trace::read(&dir.trace()) {
            Ok(trace) => crate::record::summary::from_records(&trace.records),
            Err(_) => continue,
        };
        if let Some(target) = &target {
            let touched = summary.applied
                && summary
                    .files_changed
                    .iter()
                    .any(|f| f == target || f.starts_with(&format!("{target}/")));
            if !touched {
                continue;
            }
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
            outln!(
                "{}  {approvals}{commit}",
                crate::report::show::run_line(&summary)
            );
            continue;
        }
        outln!("{}", crate::report::show::run_line(&summary));
    }
    Ok(Exit::Success)
}

fn show(run: &str, json: bool, verify: bool) -> Result<Exit, Error> {
    let root = crate::sys::git::repo_root(&current_dir()?);
    let dir = crate::record::store::Store::new(&root)
        .resolve(run)
        .map_err(Error::Usage)?;
    let trace =
        crate::record::trace::read(&dir.trace()).map_err(|e| Error::Failed(e.to_string()))?;
    if verify {
        return match crate::record::trace::verify(&trace.records) {
            Ok(()) => {
                outln!(
                    "trace of run {} verified: {} events, hash chain intact{}",
                    dir.id,
                    trace.records.len(),
                    if trace.torn_tail.is_some() {
                        " (the last line was cut short by a crash)"
                    } else {
                        ""
                    }
                );
                Ok(Exit::Success)
            }
            Err((line, why)) => Err(Error::Failed(format!(
                "trace of run {} fails verification at {}:{line}: {why}",
                dir.id,
                dir.trace().display()
            ))),
        };
    }
    let summary = crate::record::summary::from_records(&trace.records);
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("summaries serialize")
        );
    } else {
        out!(
            "{}",
            crate::report::show::timeline(&trace.records, &summary)
        );
        if trace.torn_tail.is_some() {
            outln!("(the trace ends with a line cut short: the run was killed while writing it)");
        }
    }
    Ok(Exit::Success)
}

fn replay(run: &str, current: bool, against: Option<&str>) -> Result<Exit, Error> {
    let cwd = current_dir()?;
    let root = crate::sys::git::repo_root(&cwd);
    let store = crate::record::store::Store::new(&root);
    let dir = store.resolve(run).map_err(Error::Usage)?;
    if let Some(other) = against {
        let other = store.resolve(other).map_err(Error::Usage)?;
        let read = |d: &crate::record::store::RunDir| {
            crate::record::trace::read(&d.trace())
                .map(|t| t.records)
                .map_err(|e| Error::Failed(e.to_string()))
        };
        let (a, b) = (read(&dir)?, read(&other)?);
        // Two runs usually start from different trees (other commits); what
        // matters is the first place where that made them act differently.
        return Ok(
            match crate::record::compare::compare_ignoring(&a, &b, &["workspace_ready"]) {
                None => {
                    outln!(
                        "runs {} and {} went the same way: {} events alike",
                        dir.id,
                        other.id,
                        a.len()
                    );
                    Exit::Success
                }
                Some(d) => {
                    let what = format!("runs {} (expected) and {} (actual)", dir.id, other.id);
                    out!("{}", crate::record::compare::render(&d, &what));
                    Exit::Failed
                }
            },
        );
    }
    match crate::replay::replay(&root, &cwd, &dir, current) {
        Ok(crate::replay::Outcome::Reproduced(n)) => {
            outln!("run {}: reproduced {n} events", dir.id);
            Ok(Exit::Success)
        }
        Ok(crate::replay::Outcome::Diverged(d)) => {
            out!(
                "{}",
                crate::record::compare::render(&d, &format!("replay of run {}", dir.id))
            );
            Ok(Exit::Failed)
        }
        Err(crate::replay::ReplayError::Wf(e)) => Err(e),
        Err(e) => Err(Error::Failed(e.to_string())),
    }
}

fn decide(
    run: &str,
    approve: bool,
    comment: Option<String>,
    who: Option<String>,
    commit: bool,
) -> Result<Exit, Error> {
    use crate::record::event::{CheckpointState, Event, RunStatus};
    let root = crate::sys::git::repo_root(&current_dir()?);
    let (dir, _lock, trace) = locked_run(&root, run)?;
    let waiting = trace.records.iter().rev().find_map(|r| match &r.event {
        Event::Checkpoint {
            name, state, step, ..
        } => Some((*name, *state, step.clone())),
        _ => None,
    });
    let Some((name, CheckpointState::Paused, step)) = waiting else {
        return Err(Error::Usage(format!(
            "run {} is not waiting at a checkpoint",
            dir.id
        )));
    };
    let by = who.unwrap_or_else(|| crate::engine::checkpoint::current_user(&root));
    let mut writer = crate::record::trace::TraceWriter::reopen(&dir.trace(), &trace.records)
        .map_err(|e| Error::io("cannot append to the trace", e))?;
    let state = if approve {
        CheckpointState::Approved
    } else {
        CheckpointState::Rejected
    };
    let via = if approve { "wf approve" } else { "wf reject" };
    writer
        .append(Event::Checkpoint {
            name,
            state,
            by: Some(by.clone()),
            via: Some(via.into()),
            comment,
            at: Some(crate::sys::clock::now_rfc3339()),
            commit,
            step: step.clone(),
        })
        .map_err(|e| Error::io("cannot append to the trace", e))?;
    let which = match &step {
        Some(step) => format!("{} checkpoint (after step `{step}`)", name.as_str()),
        None => format!("{} checkpoint", name.as_str()),
    };
    if approve {
        errln!(
            "wf: run {}: {which} approved by {by}; `wf resume {}` continues it",
            dir.id,
            dir.id
        );
        return Ok(Exit::Success);
    }
    // The diff kept when the run paused belongs to the pause (replay and
    // resume leave the pause out); a rejected run's course ends with it, as a
    // live rejection's does, so it is recorded again here.
    let paused_at = trace.records.iter().rposition(|r| {
        matches!(
            r.event,
            Event::Checkpoint {
                state: CheckpointState::Paused,
                ..
            }
        )
    });
    if let Some(diff) = paused_at.and_then(|at| {
        trace.records[at..]
            .iter()
            .find(|r| matches!(r.event, Event::DiffReady { .. }))
    }) {
        writer
            .append(diff.event.clone())
            .map_err(|e| Error::io("cannot append to the trace", e))?;
    }
    let last = crate::record::summary::from_records(&trace.records);
    writer
        .append(Event::RunFinished {
            status: RunStatus::Rejected,
            reason: Some(format!("{which} rejected by {by}")),
            diff_hash: last.diff_hash.clone(),
            files_changed: last.files_changed.clone(),
            totals: last.totals.clone(),
        })
        .map_err(|e| Error::io("cannot append to the trace", e))?;
    write_summary(&dir)?;
    errln!(
        "wf: run {}: {which} rejected by {by}; the run is over, its diff kept",
        dir.id
    );
    Ok(Exit::Success)
}

/// The run `run` names, locked for this process, with its verified trace.
fn locked_run(
    root: &Path,
    run: &str,
) -> Result<
    (
        crate::record::store::RunDir,
        crate::record::store::RunLock,
        crate::record::trace::Trace,
    ),
    Error,
> {
    let dir = crate::record::store::Store::new(root)
        .resolve(run)
        .map_err(Error::Usage)?;
    let lock = crate::record::store::RunLock::acquire(&dir).map_err(Error::Usage)?;
    let trace =
        crate::record::trace::read(&dir.trace()).map_err(|e| Error::Failed(e.to_string()))?;
    crate::record::trace::verify(&trace.records).map_err(|(line, why)| {
        Error::Failed(format!(
            "the trace fails verification at line {line}: {why}"
        ))
    })?;
    Ok((dir, lock, trace))
}

fn write_summary(dir: &crate::record::store::RunDir) -> Result<(), Error> {
    let trace =
        crate::record::trace::read(&dir.trace()).map_err(|e| Error::Failed(e.to_string()))?;
    let summary = crate::record::summary::from_records(&trace.records);
    let text = serde_json::to_string_pretty(&summary).expect("summaries serialize") + "\n";
    std::fs::write(dir.summary(), text).map_err(|e| Error::io("cannot write summary.json", e))
}

fn resume(run: &str, yes: bool) -> Result<Exit, Error> {
    use crate::record::event::{Event, RunStatus};
    use std::io::IsTerminal;
    let cwd = current_dir()?;
    let root = crate::sys::git::repo_root(&cwd);
    let (dir, _lock, trace) = locked_run(&root, run)?;
    let records = trace.records;
    if let Some(status) = crate::record::summary::final_status(&records)
        && status != RunStatus::Paused
    {
        return Err(Error::Usage(format!(
            "run {} already finished: {}",
            dir.id,
            status.as_str()
        )));
    }
    let Some(Event::RunStarted {
        spec_path,
        inputs,
        dry_run,
        base_revision,
        model,
        ..
    }) = records.first().map(|r| &r.event)
    else {
        return Err(Error::Failed("the trace has no run_started header".into()));
    };
    let source = crate::replay::recorded_start(&dir, base_revision).ok_or_else(|| {
        Error::Failed(
            "the run recorded no starting state (it ran outside git), so it cannot be resumed"
                .into(),
        )
    })?;
    let (loaded, given, mut resolver) =
        crate::replay::recorded_task(spec_path, inputs, model, &root, &cwd)
            .map_err(Error::Failed)?;
    // The plan is made against the recorded starting state (its context is
    // what the run saw), then pointed back at the user's tree for applying.
    let start = crate::workspace::Workspace::create_from(&root, &source)
        .map_err(|e| Error::Failed(format!("cannot rebuild the run's starting state: {e}")))?;
    let mut plan = crate::plan::make(&loaded, &given, &start.dir, &mut resolver)?;
    plan.root = root.clone();
    // Pauses are not part of the run's course; a decision taken since
    // (`wf approve`) is, and the executor takes it when it reaches the checkpoint.
    let prefix = crate::record::compare::without_pauses(&records);
    let answered = records
        .iter()
        .filter(|r| matches!(r.event, Event::ModelResponse { .. }))
        .count();
    let (mut live, pricing) = make_provider(&loaded, &plan, answered)?;
    let mut provider = crate::provider::recorded::ThenLive::new(&records, live.as_mut());
    let terminal = std::io::stderr().is_terminal();
    let options = crate::engine::RunOptions {
        yes,
        dry_run: *dry_run,
        interactive: std::io::stdin().is_terminal() && terminal,
        color: terminal && std::env::var_os("NO_COLOR").is_none(),
        // `wf approve --commit` asked for a commit once applied.
        commit: records
            .iter()
            .any(|r| matches!(r.event, Event::Checkpoint { commit: true, .. })),
    };
    let mut reporter = crate::report::progress::Plain;
    let setup = crate::engine::ResumeSetup {
        workspace: Some(start),
        prefix,
        records: records.clone(),
    };
    errln!(
        "wf: resuming run {} ({} model answers recorded, not asked again)",
        dir.id,
        provider.recorded()
    );
    let outcome = crate::engine::run_with(
        &plan,
        &mut provider,
        pricing,
        options,
        &mut reporter,
        crate::engine::Mode::Resume(dir.clone(), Box::new(setup)),
    )?;
    errln!("wf: run {} {}", outcome.run_id, outcome.status.as_str());
    Ok(outcome.status.exit())
}

fn recipe_tests(paths: &[PathBuf]) -> Result<Exit, Error> {
    let files = crate::recipe_test::discover(&or_current(paths));
    if files.is_empty() {
        return Err(Error::Usage("no recipe tests (*.test.yaml) found".into()));
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in &files {
        let tests = crate::recipe_test::load(file).map_err(Error::Usage)?;
        for outcome in crate::recipe_test::run_file(file, &tests) {
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
