//! `wf emit`: the files that run one task over many repositories elsewhere —
//! a GitHub Actions workflow ([`github`]) or a Kubernetes Indexed Job
//! ([`k8s`]). Nothing runs here; the output is text for the caller to write.
//!
//! Both read the task file (it must load and validate) and a repos file
//! ([`crate::app::repos`]), and both produce deterministic output: the same
//! inputs give the same bytes (no timestamps, no map order). Values from
//! the repos file are untrusted and only ever reach a shell as environment
//! variables or file contents, quoted, never as script text.

use crate::plan::widening::WideningExt;
pub mod github;
pub mod k8s;
pub mod yaml;

use crate::app::repos::{self, RepoEntry};
use crate::error::Error;
use crate::spec::{ProviderName, Spec};
use std::path::{Component, Path, PathBuf};

/// What `wf emit` was given, common to every target.
#[derive(Debug, Clone)]
pub struct Request {
    /// The task file, inside the current repository.
    pub task: PathBuf,
    /// The repos file.
    pub repos: PathBuf,
    /// `--sandbox` for each `wf run`, when given.
    pub sandbox: Option<crate::spec::SandboxMode>,
    /// `--trust-sandbox` for each `wf run`.
    pub trust_sandbox: bool,
    /// A cap on what all the runs spend together (US dollars), split
    /// evenly: each run gets `wf run --max-cost-usd X/N` (see
    /// `run_flags`).
    pub max_cost_usd: Option<f64>,
}

/// A file made by `wf emit`.
#[derive(Debug, Clone)]
pub struct Emitted {
    /// The file's text.
    pub text: String,
    /// Notes for the person emitting (what to set up before it runs).
    pub notes: Vec<String>,
}

/// The task and the repositories, checked.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The typed task file.
    pub spec: Spec,
    /// The task file's path relative to the repository root, `/`-separated.
    pub task: String,
    /// The task file's text.
    pub source: String,
    /// The directory holding the task file (where `model.script` and
    /// `wf.lock` are).
    pub task_dir: PathBuf,
    /// The repositories; a relative local path is made relative to the
    /// repository root (where a CI checkout puts it).
    pub entries: Vec<RepoEntry>,
    /// The environment variable holding the provider's API key, if any.
    pub key_var: Option<&'static str>,
    /// The checkpoints a run of the task can pause at, as the task file
    /// names them (`checkpoints.apply`, `steps[2].checkpoints.plan`).
    pub checkpoints: Vec<String>,
    /// `--sandbox` for each `wf run`.
    pub sandbox: Option<crate::spec::SandboxMode>,
    /// `--trust-sandbox` for each `wf run`.
    pub trust_sandbox: bool,
    /// Each run's share of the cap, when one was given.
    pub run_cost_cap: Option<f64>,
}

/// Loads the task file and the repos file, relative to the current
/// directory, and checks what every target needs.
pub fn prepare(req: &Request) -> Result<Prepared, Error> {
    let cwd = crate::app::current_dir()?;
    let root = crate::app::git_root()?;
    let mut loaded = crate::spec::load(&req.task)?;
    // `--sandbox off` typed here approves `off` for the jobs, as it does
    // for one run; anything else wider than the default needs the flag.
    if let Some(mode) = req.sandbox {
        loaded.spec.sandbox.mode = mode;
    }
    if req.sandbox != Some(crate::spec::SandboxMode::Off) {
        crate::plan::widening::Widening::of_spec(&loaded.spec).require_flag(
            &req.task,
            req.trust_sandbox,
            "wf emit",
        )?;
    }
    let task = relative_to(&root, &cwd.join(&req.task)).ok_or_else(|| {
        Error::Usage(format!(
            "{} is outside the repository {}; the emitted jobs check this repository out \
             to find the task file, so it must be committed here",
            req.task.display(),
            root.display()
        ))
    })?;
    let mut entries = repos::load(&req.repos).map_err(|e| Error::Usage(e.to_string()))?;
    for e in &mut entries {
        let repos::Source::Local(path) = &e.source else {
            continue;
        };
        if Path::new(&e.repo).is_absolute() {
            continue;
        }
        e.repo = relative_to(&root, path).ok_or_else(|| {
            Error::Usage(format!(
                "{}:{}: the path {} is outside the repository {}; a relative path names a \
                 repository inside the checkout (use a git URL or an absolute path otherwise)",
                req.repos.display(),
                e.line,
                e.repo,
                root.display()
            ))
        })?;
    }
    let task_dir = loaded.dir().to_path_buf();
    let source = loaded.source;
    let spec = loaded.spec;
    let key_var = match spec.model.provider {
        ProviderName::Anthropic => Some("ANTHROPIC_API_KEY"),
        ProviderName::Openai => Some("OPENAI_API_KEY"),
        ProviderName::Script => None,
    };
    let checkpoints = checkpoints(&spec);
    // Jobs of a matrix or an Indexed Job share nothing while they run, so
    // the cap is split evenly, each share rounded down to a millionth of a
    // dollar: the runs together never spend more than the cap.
    let run_cost_cap = req
        .max_cost_usd
        .map(|x| (x / entries.len().max(1) as f64 * 1e6).floor() / 1e6);
    if run_cost_cap == Some(0.0) {
        return Err(Error::Usage(format!(
            "--max-cost-usd {} split over {} repositories leaves each run less than $0.000001",
            req.max_cost_usd.unwrap_or(0.0),
            entries.len()
        )));
    }
    Ok(Prepared {
        spec,
        task,
        source,
        task_dir,
        entries,
        key_var,
        checkpoints,
        sandbox: req.sandbox,
        trust_sandbox: req.trust_sandbox,
        run_cost_cap,
    })
}

/// Where a run of `spec` can pause for a human.
pub fn checkpoints(spec: &Spec) -> Vec<String> {
    let mut found = Vec::new();
    if spec.checkpoints.plan {
        found.push("checkpoints.plan".to_string());
    }
    for (i, step) in spec.steps.iter().enumerate() {
        if let Some(c) = &step.checkpoints {
            if c.plan == Some(true) {
                found.push(format!("steps[{i}].checkpoints.plan"));
            }
            if c.apply {
                found.push(format!("steps[{i}].checkpoints.apply"));
            }
        }
    }
    if spec.checkpoints.apply {
        found.push("checkpoints.apply".to_string());
    }
    found
}

/// `path` relative to `root` (both made absolute and free of `.`/`..`
/// lexically, after resolving symbolic links in `root`), `/`-separated;
/// `None` outside it.
fn relative_to(root: &Path, path: &Path) -> Option<String> {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let path = path.canonicalize().unwrap_or_else(|_| normalize(path));
    let rel = path.strip_prefix(&root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    })
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The lines of a shell array of `-i` arguments read from `$var`, one
/// `KEY=VALUE` a line (values never hold a line break: they come from one
/// line of the repos file).
pub(crate) fn inputs_to_args(var: &str) -> String {
    format!(
        "args=()\nwhile IFS= read -r kv; do\n  if [ -n \"$kv\" ]; then args+=(-i \"$kv\"); fi\ndone <<< \"${var}\"\n"
    )
}

/// The inputs of an entry as one string, a `KEY=VALUE` a line.
pub(crate) fn inputs_text(entry: &RepoEntry) -> String {
    entry
        .inputs
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect()
}

/// The flags of the `wf run` line: `--sandbox MODE` and `--trust-sandbox`
/// when given, and the run's share of the cap (`--max-cost-usd`).
pub(crate) fn run_flags(p: &Prepared) -> String {
    let mut flags = p
        .sandbox
        .map(|m| format!(" --sandbox {}", m.as_str()))
        .unwrap_or_default();
    if p.trust_sandbox {
        flags.push_str(" --trust-sandbox");
    }
    if let Some(share) = p.run_cost_cap {
        flags.push_str(&format!(" --max-cost-usd {share}"));
    }
    flags
}
