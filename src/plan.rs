//! Spec + inputs + repository → [`Plan`]: everything a run would send and
//! enforce, computed without calling any model.
//!
//! The plan's fingerprint is one hash over the canonical spec, the inputs and
//! the context files' content hashes: the same repository state and inputs
//! give the same fingerprint on any machine.

use crate::context::{self, Context, ContextError};
use crate::inputs::{self, InputError};
use crate::spec::template;
use crate::spec::{Check, Checkpoints, Limits, LoadedSpec, ModelSpec, Permissions, ToolName};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a run of a task file would do.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The workflow's name.
    pub name: String,
    /// The recipe's version, if it declares one.
    pub version: Option<String>,
    /// The task file as given.
    pub spec_path: String,
    /// Hash of the canonical spec.
    pub spec_hash: String,
    /// Every input with its value.
    pub inputs: BTreeMap<String, Value>,
    /// The model.
    pub model: ModelSpec,
    /// The rendered prompt.
    pub prompt: String,
    /// The rendered constraints.
    pub constraints: Vec<String>,
    /// The resolved context.
    pub context: Context,
    /// The rendered include globs the context came from.
    pub context_include: Vec<String>,
    /// The tools in force.
    pub tools: Vec<ToolName>,
    /// The permissions in force.
    pub permissions: Permissions,
    /// The checks.
    pub checks: Vec<Check>,
    /// The checkpoints.
    pub checkpoints: Checkpoints,
    /// The limits.
    pub limits: Limits,
    /// Hash over spec, inputs and context.
    pub fingerprint: String,
    /// Bytes of the fixed instructions and tool definitions sent with every
    /// model request (their JSON as wf serializes them).
    pub fixed_request_bytes: u64,
    /// The repository root the plan was made against.
    #[serde(skip)]
    pub root: PathBuf,
}

/// Why a plan could not be made. All of these are the user's input errors
/// (exit code 2): nothing has run.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Bad `-i` inputs.
    #[error(transparent)]
    Inputs(#[from] InputError),
    /// A template failed to render.
    #[error("{field}: {message}")]
    Template {
        /// Which field (`prompt`, `constraints[2]`, …).
        field: String,
        /// Why.
        message: String,
    },
    /// Context resolution failed.
    #[error(transparent)]
    Context(#[from] ContextError),
}

/// The repository root for `dir`: the top of the git work tree holding it
/// (the nearest ancestor with a `.git` entry), else `dir` itself.
pub fn repo_root(dir: &Path) -> PathBuf {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map_or_else(|| dir.clone(), Path::to_path_buf)
}

/// Makes the plan for `loaded` with the given `-i` values, against `root`.
pub fn make(
    loaded: &LoadedSpec,
    given: &BTreeMap<String, String>,
    root: &Path,
) -> Result<Plan, PlanError> {
    let spec = &loaded.spec;
    let inputs = inputs::resolve(spec, given)?;
    let render = |field: String, text: &str| {
        template::render(text, &inputs).map_err(|e| PlanError::Template {
            field,
            message: e.message,
        })
    };
    let prompt = render("prompt".into(), &spec.prompt)?;
    let constraints = spec
        .constraints
        .iter()
        .enumerate()
        .map(|(i, c)| render(format!("constraints[{i}]"), c))
        .collect::<Result<Vec<_>, _>>()?;
    let include = spec
        .context
        .include
        .iter()
        .enumerate()
        .map(|(i, g)| render(format!("context.include[{i}]"), g))
        .collect::<Result<Vec<_>, _>>()?;
    let mut permissions = spec.permissions.clone();
    for (name, list) in [
        ("read", &mut permissions.read),
        ("write", &mut permissions.write),
        ("protect", &mut permissions.protect),
    ] {
        for (i, glob) in list.iter_mut().enumerate() {
            let field = format!("permissions.{name}[{i}]");
            *glob = render(field.clone(), glob)?;
            if let Err(message) = crate::paths::check_relative(glob)
                .and_then(|()| crate::glob::compile(glob).map(|_| ()))
            {
                return Err(PlanError::Template {
                    field,
                    message: format!("glob `{glob}`: {message}"),
                });
            }
        }
    }
    let exclude = spec
        .context
        .exclude
        .iter()
        .enumerate()
        .map(|(i, g)| render(format!("context.exclude[{i}]"), g))
        .collect::<Result<Vec<_>, _>>()?;
    let context = context::resolve(root, &include, &exclude, spec.context.max_tokens)?;
    let fingerprint = fingerprint(&loaded.hash, &inputs, &context);
    let mut plan = Plan {
        name: spec.name.clone(),
        version: spec.version.clone(),
        spec_path: loaded.path.display().to_string(),
        spec_hash: loaded.hash.clone(),
        inputs,
        model: spec.model.clone(),
        prompt,
        constraints,
        context,
        context_include: include,
        tools: spec.tools.clone(),
        permissions,
        checks: spec.checks.clone(),
        checkpoints: spec.checkpoints,
        limits: spec.limits.clone(),
        fingerprint,
        fixed_request_bytes: 0,
        root: root.to_path_buf(),
    };
    plan.fixed_request_bytes = fixed_request_bytes(&plan);
    Ok(plan)
}

/// Bytes of the instructions and tool definitions: the part of every request
/// that does not depend on the conversation.
pub fn fixed_request_bytes(plan: &Plan) -> u64 {
    let system = crate::executor::instructions(plan);
    let tools: Vec<crate::provider::ToolDef> = crate::spec::ToolName::ALL
        .into_iter()
        .filter(|t| plan.tools.contains(t))
        .map(crate::tools::definition)
        .collect();
    let tools_json = serde_json::to_vec(&tools).expect("tool definitions serialize");
    (system.len() + tools_json.len()) as u64
}

/// The run fingerprint.
pub fn fingerprint(spec_hash: &str, inputs: &BTreeMap<String, Value>, context: &Context) -> String {
    let files: Vec<[&str; 2]> = context
        .files
        .iter()
        .map(|f| [f.path.as_str(), f.hash.as_str()])
        .collect();
    let canonical = serde_json::json!({
        "spec": spec_hash,
        "inputs": inputs,
        "context": files,
    });
    crate::hash::sha256_hex(&serde_json::to_vec(&canonical).expect("fingerprint serializes"))
}
