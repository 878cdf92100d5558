//! `wf run`: a task file, planned and run.
//!
//! In two phases, so the command line can show the notes of the plan and
//! the provider (and pick a display that fits the plan) before anything
//! runs: [`prepare`] validates, plans and builds the provider, failing with
//! a usage error (exit 2) before a run folder exists; [`Prepared::run`] runs
//! it.

use crate::engine::{Reporter, RunOptions, RunOutcome};
use crate::error::Error;
use crate::plan::{Plan, PlanError};
use crate::spec::ProviderName;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the command line asked for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The task file.
    pub spec: PathBuf,
    /// `-i KEY=VALUE` assignments, as typed.
    pub inputs: Vec<String>,
    /// `--provider`.
    pub provider: Option<String>,
    /// `--model`.
    pub model: Option<String>,
    /// `--cache`: answer repeated requests from the response cache.
    pub cache: bool,
    /// `--sandbox`: instead of the task file's `sandbox.mode`.
    pub sandbox: Option<crate::spec::SandboxMode>,
    /// `--max-cost-usd`: a cap on the run's spending below the task's own.
    pub max_cost_usd: Option<f64>,
    /// `--trust-sandbox`, and whether the user can be asked: how a sandbox
    /// wider than the default is approved (see [`crate::app::trust`]).
    pub trust: crate::app::trust::Asked,
    /// `--script FILE`: the task file's model replaced by the script
    /// provider playing this file's turns (see `with_script`).
    pub script: Option<PathBuf>,
}

/// A run ready to start.
pub struct Prepared {
    /// The plan.
    pub plan: Plan,
    /// What the person running wf should know first.
    pub notes: Vec<String>,
    provider: crate::app::provider::Ready,
    cache: bool,
}

/// Parses `-i KEY=VALUE` assignments.
pub fn parse_inputs(inputs: &[String]) -> Result<BTreeMap<String, String>, Error> {
    crate::spec::inputs::parse_assignments(inputs).map_err(|e| Error::Plan(PlanError::Inputs(e)))
}

/// Loads, plans and builds the provider; nothing runs yet.
pub fn prepare(request: &Request) -> Result<Prepared, Error> {
    let mut loaded = crate::spec::load(&request.spec)?;
    if let Some(p) = &request.provider {
        loaded.spec.model.provider = ProviderName::from_name(p).ok_or_else(|| {
            Error::Usage(format!(
                "unknown provider `{p}`; expected anthropic, openai or script"
            ))
        })?;
    }
    if let Some(m) = &request.model {
        loaded.spec.model.name = Some(m.clone());
    }
    if let Some(mode) = request.sandbox {
        loaded.spec.sandbox.mode = mode;
    }
    let script = match &request.script {
        Some(file) => Some(with_script(&mut loaded, file, request)?),
        None => None,
    };
    require_sandbox(&loaded.spec.sandbox)?;
    let given = parse_inputs(&request.inputs)?;
    let root = crate::app::git_root()?;
    let mut resolver = crate::recipes::Resolver::for_task(&loaded, crate::recipes::Mode::Locked)
        .map_err(PlanError::from)?;
    let mut plan = crate::plan::make(&loaded, &given, &root, &mut resolver)?;
    if let Some(script) = script {
        if crate::plan::models(&plan).is_empty() {
            return Err(Error::Usage(format!(
                "--script {}: {} asks no model (it has only command steps), so there are no turns to play",
                request.script.as_deref().unwrap_or(Path::new("")).display(),
                request.spec.display()
            )));
        }
        plan.script = Some(script);
    }
    if let Some(cap) = request.max_cost_usd {
        plan.cap_cost(cap);
    }
    // A sandbox wider than the default runs nothing, MCP servers included,
    // before the user approved it.
    let trust = crate::app::trust::Asked {
        typed_off: request.sandbox == Some(crate::spec::SandboxMode::Off),
        ..request.trust
    };
    crate::app::trust::approve(
        &mut plan,
        &root,
        &request.spec.display().to_string(),
        &loaded.source,
        &trust,
    )?;
    // Each MCP server is started and its tools listed before anything
    // else: an allowlisted tool it lacks, or tool definitions that changed
    // under the server's pin, stop the run here (exit 2).
    list_mcp(&loaded, &mut plan, true)?;
    // A check or command step whose program is not on PATH would end the
    // run when it runs (exit 127), after the model's turns were paid for:
    // refused here instead, unless a command step before it may install it.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut refused = Vec::new();
    for missing in missing_programs(&plan.steps, &path) {
        if missing.after_command {
            plan.notes.push(missing.note());
        } else {
            refused.push(missing.refusal());
        }
    }
    if !refused.is_empty() {
        return Err(Error::Usage(format!(
            "{}; no model request was made. Install the program or fix the `run:` line",
            refused.join("; ")
        )));
    }
    plan.task_copy = task_copy(&loaded, &plan, &root)?;
    let provider = crate::app::provider::for_plan(&loaded, &plan, 0)?;
    let mut notes = plan.notes.clone();
    notes.extend(provider.notes.iter().cloned());
    Ok(Prepared {
        plan,
        notes,
        provider,
        cache: request.cache,
    })
}

impl Prepared {
    /// Runs the plan; every event goes to `reporter` as it is recorded,
    /// every checkpoint to `approver`.
    pub fn run(
        mut self,
        options: RunOptions,
        reporter: &mut dyn Reporter,
        approver: &mut dyn crate::engine::Approver,
    ) -> Result<RunOutcome, Error> {
        let pricing = self.provider.pricing;
        let live = self.provider.provider.as_mut();
        let mut cached;
        let provider: &mut dyn crate::provider::Provider = if self.cache || self.plan.model.cache {
            let dir = crate::sys::user_dirs::cache_dir()
                .and_then(|d| crate::sys::user_dirs::private(&d.join("responses")))
                .map_err(Error::Usage)?
                .join(crate::sys::user_dirs::repo_key(&self.plan.root));
            cached = crate::provider::cache::Cached::new(dir, live);
            &mut cached
        } else {
            live
        };
        crate::engine::run(&self.plan, provider, pricing, options, reporter, approver)
    }
}

/// `wf run --script FILE`: runs the task file as it is, shipped recipes
/// included, with its model replaced by the script provider playing the
/// turns of `file` (a path from the current directory, in the format of a
/// `model.script` file) — so a recipe can be tried offline, in CI or on a
/// real project without copying it to change its `model:`. Everything
/// else (context, tools, permissions, sandbox, checks, checkpoints) is the
/// task's own. The trace records it in `run_started.script` (the file's
/// absolute path, its SHA-256 and the model it replaced), the run's model
/// is `script`, and `wf resume` plays the same file on, refusing one that
/// changed since.
///
/// Refused (exit 2, nothing runs) where it makes no sense: with
/// `--provider`, `--model` or `--cache` (the turns are the model's
/// answers), for a file that cannot be read as turns, and for a task that
/// asks no model (only command steps).
fn with_script(
    loaded: &mut crate::spec::LoadedSpec,
    file: &Path,
    request: &Request,
) -> Result<crate::plan::ScriptOverride, Error> {
    for (given, flag) in [
        (request.provider.is_some(), "--provider"),
        (request.model.is_some(), "--model"),
        (request.cache, "--cache"),
    ] {
        if given {
            return Err(Error::Usage(format!(
                "--script gives the model's answers, so {flag} makes no sense with it; drop one of them"
            )));
        }
    }
    let shown = file.display();
    let path =
        std::path::absolute(file).map_err(|e| Error::Usage(format!("--script {shown}: {e}")))?;
    let bytes = std::fs::read(&path)
        .map_err(|e| Error::Usage(format!("--script {shown}: cannot read it: {e}")))?;
    // Read as turns now, so a bad file is a located error before anything runs.
    crate::provider::script::ScriptProvider::load(&path).map_err(Error::Usage)?;
    let model = &mut loaded.spec.model;
    let replaced = match &model.name {
        Some(name) => format!("{}/{name}", model.provider.as_str()),
        None => model.provider.as_str().to_string(),
    };
    script_model(model, &path.display().to_string());
    Ok(crate::plan::ScriptOverride {
        path: path.display().to_string(),
        sha256: crate::hash::sha256_hex(&bytes),
        replaced,
    })
}

/// `model` replaced by the script provider playing `path` (absolute), as
/// `--script` does; replay and resume of such a run do it again from
/// `run_started.script`.
pub fn script_model(model: &mut crate::spec::ModelSpec, path: &str) {
    model.provider = ProviderName::Script;
    model.name = None;
    model.script = Some(path.to_string());
    model.cache = false;
    model.fallback.clear();
}

/// What the run folder keeps of a task file outside the repository `root`
/// (`None` for one inside it): the file, its `wf.lock` and the local
/// recipes it uses when it uses any, and its `model.script` (see
/// [`crate::plan::task_copy`]), so the run can be resumed, approved,
/// replayed and reported in the repository where it ran.
fn task_copy(
    loaded: &crate::spec::LoadedSpec,
    plan: &Plan,
    root: &Path,
) -> Result<Option<crate::plan::task_copy::TaskCopy>, Error> {
    let real = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let task = real(&loaded.path);
    if task.starts_with(real(root)) {
        return Ok(None);
    }
    let dir = real(loaded.dir());
    let mut files = vec![task];
    if loaded.spec.uses_recipes() {
        let lock = dir.join(crate::recipes::lock::FILE_NAME);
        if lock.is_file() {
            files.push(lock);
        }
        for pin in plan.recipes.iter().filter(|p| p.commit.is_none()) {
            files.push(real(&dir.join(&pin.uses)));
        }
    }
    if let Some(script) = &loaded.spec.model.script {
        let script = real(&dir.join(script));
        if script.is_file() {
            files.push(script);
        }
    }
    files[1..].sort();
    files.dedup();
    crate::plan::task_copy::TaskCopy::of(&files)
        .map(Some)
        .map_err(|e| Error::io("cannot read the task file's files to keep them", e))
}

/// Fails closed: with `sandbox: auto`, a machine that cannot confine
/// commands (files, processes and network) is a usage error before anything
/// runs, naming what is missing and the ways out.
///
/// A task that requires the full level (`sandbox: { require: full }`) is
/// refused the same way on a machine that gives only the level without
/// namespaces, naming what is missing.
pub fn require_sandbox(setting: &crate::spec::Sandbox) -> Result<(), Error> {
    if setting.mode == crate::spec::SandboxMode::Off {
        return Ok(());
    }
    let support = crate::sandbox::support()
        .map_err(|why| Error::Usage(format!("cannot confine the commands of this run: {why}")))?;
    if setting.require == Some(crate::spec::SandboxLevel::Full)
        && support.level != crate::sandbox::Level::Full
    {
        let missing: Vec<String> = support
            .below_full
            .iter()
            .map(|m| format!("{}: {}", m.what, m.why))
            .collect();
        return Err(Error::Usage(format!(
            "this task requires the full sandbox level (sandbox.require: full), and this machine gives only `{}` ({}); `wf doctor` says how to raise it",
            support.level,
            missing.join("; ")
        )));
    }
    Ok(())
}

/// The plan of a task file, for `wf plan`: no model call, nothing runs.
pub fn plan(spec: &Path, inputs: &[String]) -> Result<(Plan, u64), Error> {
    let loaded = crate::spec::load(spec)?;
    let given = parse_inputs(inputs)?;
    let root = crate::app::git_root()?;
    let mut resolver = crate::recipes::Resolver::for_task(&loaded, crate::recipes::Mode::Preview)
        .map_err(PlanError::from)?;
    let mut plan = crate::plan::make(&loaded, &given, &root, &mut resolver)?;
    plan.machine_level = crate::sandbox::level().ok().map(|l| l.name().to_string());
    // Listing MCP tools starts each declared server (confined, in a
    // scratch directory); no model is called. A wider sandbox the user has
    // not approved is not given to them: they list in the default one.
    if crate::app::trust::status(&mut plan, &loaded.source) {
        list_mcp(&loaded, &mut plan, false)?;
    } else {
        let wide = std::mem::take(&mut plan.sandbox);
        let listed = list_mcp(&loaded, &mut plan, false);
        plan.sandbox = wide;
        let listings = std::mem::take(&mut plan.mcp);
        plan.set_mcp(listings);
        listed?;
        if !plan.mcp.is_empty() {
            plan.notes.push(
                "the MCP servers were listed in the default sandbox: the task's wider one is not approved yet"
                    .into(),
            );
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for missing in missing_programs(&plan.steps, &path) {
        plan.notes.push(missing.note());
    }
    let fixed = crate::engine::fixed_request_bytes(plan.task_settings());
    Ok((plan, fixed))
}

/// Lists the MCP servers of `plan` (see [`crate::mcp::list`]), holding
/// each to its pin in the `wf.lock` next to the task file; the listings go
/// into the plan and its fingerprint, unpinned servers into its notes —
/// but in a run (`run`), a server a recipe uses must be pinned.
fn list_mcp(loaded: &crate::spec::LoadedSpec, plan: &mut Plan, run: bool) -> Result<(), Error> {
    let usage = |e: crate::mcp::McpError| Error::Usage(e.to_string());
    if crate::mcp::servers_of(plan).map_err(usage)?.is_empty() {
        return Ok(());
    }
    let path = loaded.dir().join(crate::recipes::lock::FILE_NAME);
    let lock = crate::recipes::Lock::read(&path)
        .map_err(|e| Error::Usage(e.to_string()))?
        .unwrap_or_default();
    let pins = crate::mcp::Pins {
        path: &path,
        pins: lock.mcp_pins(),
        required: if run {
            crate::mcp::recipe_servers(plan)
        } else {
            Default::default()
        },
    };
    let listed = crate::mcp::list(plan, &pins).map_err(usage)?;
    plan.notes.extend(listed.notes);
    plan.set_mcp(listed.listings);
    Ok(())
}

/// Shell builtins and keywords: never looked up on `PATH`.
const SHELL_BUILTINS: &[&str] = &[
    "!", ".", ":", "[", "[[", "alias", "break", "case", "cd", "command", "continue", "echo",
    "eval", "exec", "exit", "export", "false", "for", "if", "printf", "pwd", "read", "return",
    "set", "shift", "source", "test", "time", "trap", "true", "type", "ulimit", "umask", "unset",
    "until", "wait", "while", "{",
];

/// A check or command step whose program is not found on `PATH`.
#[derive(Debug)]
struct MissingProgram {
    /// "check `NAME`" or "command step `ID`".
    what: String,
    /// The program as written.
    program: String,
    /// A program of that kind found on `PATH` with a close name.
    near: Option<String>,
    /// A command step runs before it (and may install the program).
    after_command: bool,
}

impl MissingProgram {
    fn near(&self) -> String {
        self.near
            .as_deref()
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default()
    }

    /// For `wf plan`, and for `wf run` when a command step runs first.
    fn note(&self) -> String {
        let then = if self.after_command {
            "unless a command step before it installs it, the run would end when it runs (exit 127)"
        } else {
            "`wf run` refuses to start (it would end with exit 127 when it runs)"
        };
        format!(
            "{}: `{}` is not found on PATH here{}; {then}",
            self.what,
            self.program,
            self.near()
        )
    }

    /// Why `wf run` refuses to start.
    fn refusal(&self) -> String {
        format!(
            "{} runs `{}`, which is not found on PATH here{}",
            self.what,
            self.program,
            self.near()
        )
    }
}

/// The checks and command steps of `steps` (recipes' included) whose
/// program is not found on `path`: they would end the run with exit 127
/// (see [`crate::engine::checks::cannot_run`]), so `wf plan` notes them and
/// `wf run` refuses to start before any model request. Only the first word
/// of the first simple command is looked at, and a relative path is left
/// alone (a step may create it); a program after a command step is only
/// noted by `wf run` too (that step may install it).
fn missing_programs(
    steps: &[crate::plan::PlanStep],
    path: &std::ffi::OsStr,
) -> Vec<MissingProgram> {
    let mut out = Vec::new();
    let mut after_command = false;
    walk_programs(steps, "", path, &mut after_command, &mut out);
    if !out.is_empty() {
        let names = programs_on(path);
        for m in &mut out {
            m.near = crate::spec::diagnostic::nearest(&m.program, names.iter().map(String::as_str))
                .map(str::to_string);
        }
    }
    out
}

fn walk_programs(
    steps: &[crate::plan::PlanStep],
    prefix: &str,
    path: &std::ffi::OsStr,
    after_command: &mut bool,
    out: &mut Vec<MissingProgram>,
) {
    use crate::plan::StepKind;
    let note = |what: String, run: &str, after_command: bool, out: &mut Vec<MissingProgram>| {
        let Some(program) = crate::spec::pattern::first_program(run) else {
            return;
        };
        if SHELL_BUILTINS.contains(&program.as_str()) || found(&program, path) {
            return;
        }
        out.push(MissingProgram {
            what,
            program,
            near: None,
            after_command,
        });
    };
    for step in steps {
        let id = step
            .id
            .as_deref()
            .map(|id| format!("{prefix}{id}"))
            .unwrap_or_default();
        match &step.kind {
            StepKind::Command { run, .. } => {
                note(format!("command step `{id}`"), run, *after_command, out);
                *after_command = true;
            }
            StepKind::Agent(agent) => {
                for check in &agent.checks {
                    note(
                        format!("check `{}`", check.name),
                        &check.run,
                        *after_command,
                        out,
                    );
                }
            }
            StepKind::Uses(used) => {
                walk_programs(&used.steps, &format!("{id}."), path, after_command, out);
            }
        }
    }
}

/// The names of the executable files in the directories of `path`, for a
/// "did you mean" (sorted, each once).
fn programs_on(path: &std::ffi::OsStr) -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    for dir in std::env::split_paths(path) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if let Some(name) = entry.file_name().to_str() {
                names.insert(name.to_string());
            }
        }
    }
    names.into_iter().collect()
}

/// Whether `program` can be started: an absolute path that exists, a
/// relative path (left to the run), or a name found in a directory of `path`.
fn found(program: &str, path: &std::ffi::OsStr) -> bool {
    use std::os::unix::fs::PermissionsExt;
    if program.contains('/') {
        return !program.starts_with('/') || std::path::Path::new(program).exists();
    }
    std::env::split_paths(path).any(|dir| {
        std::fs::metadata(dir.join(program))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_replaces_the_whole_model_of_the_task() {
        let mut model: crate::spec::ModelSpec = serde_json::from_value(serde_json::json!({
            "provider": "anthropic",
            "name": "claude-sonnet-4-5",
            "cache": true,
            "fallback": ["claude-haiku-4-5"],
            "max_tokens": 100
        }))
        .unwrap();
        script_model(&mut model, "/tmp/turns.yaml");
        assert_eq!(model.provider, ProviderName::Script);
        assert_eq!(model.name, None);
        assert_eq!(model.script.as_deref(), Some("/tmp/turns.yaml"));
        // Nothing of the replaced provider stays in force.
        assert!(!model.cache && model.fallback.is_empty());
        assert_eq!(model.max_tokens, 100);
    }

    #[test]
    fn a_script_with_another_model_setting_is_refused_before_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let task = dir.path().join("t.yaml");
        std::fs::write(
            &task,
            "wf: 1\nname: t\nmodel: { provider: anthropic, name: m }\nprompt: hi\n",
        )
        .unwrap();
        let mut loaded = crate::spec::load(&task).unwrap();
        let request = Request {
            spec: task.clone(),
            cache: true,
            script: Some(dir.path().join("missing.yaml")),
            ..Request::default()
        };
        let err = with_script(&mut loaded, request.script.as_deref().unwrap(), &request)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--cache makes no sense"), "{err}");
        let request = Request {
            cache: false,
            ..request
        };
        let err = with_script(&mut loaded, request.script.as_deref().unwrap(), &request)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing.yaml: cannot read it"), "{err}");
        // The task's model is untouched by a refusal.
        assert_eq!(loaded.spec.model.provider, ProviderName::Anthropic);
    }
}
