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
    /// The steps of a multi-step workflow (empty for a single prompt).
    pub steps: Vec<PlanStep>,
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

/// One step of a multi-step plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanStep {
    /// The step's id.
    pub id: String,
    /// Its `if:` expression, if any.
    pub condition: Option<String>,
    /// What it does.
    #[serde(flatten)]
    pub kind: StepKind,
}

/// An agent step or a command step.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepKind {
    /// The model works on a prompt.
    Agent(Box<AgentStep>),
    /// A command runs in the workspace.
    Command {
        /// The command line (`sh -c`).
        run: String,
        /// Its timeout.
        timeout: Option<crate::spec::Duration>,
    },
}

/// An agent step with everything it inherits filled in.
#[derive(Debug, Clone, Serialize)]
pub struct AgentStep {
    /// The prompt template: rendered when the step runs, with `inputs` and
    /// the earlier `steps`.
    pub prompt: String,
    /// Rendered constraints.
    pub constraints: Vec<String>,
    /// Resolved context.
    pub context: Context,
    /// Tools.
    pub tools: Vec<ToolName>,
    /// Permissions (globs rendered).
    pub permissions: Permissions,
    /// Checks run when the step is done.
    pub checks: Vec<Check>,
    /// Schema of the final answer.
    pub output_schema: Option<Value>,
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
    let render_list = |field: &str, list: &[String]| {
        list.iter()
            .enumerate()
            .map(|(i, c)| render(format!("{field}[{i}]"), c))
            .collect::<Result<Vec<_>, _>>()
    };
    let render_permissions =
        |prefix: &str, perms: &Permissions| -> Result<Permissions, PlanError> {
            let mut permissions = perms.clone();
            for (name, list) in [
                ("read", &mut permissions.read),
                ("write", &mut permissions.write),
                ("protect", &mut permissions.protect),
            ] {
                for (i, glob) in list.iter_mut().enumerate() {
                    let field = format!("{prefix}permissions.{name}[{i}]");
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
            Ok(permissions)
        };
    let resolve_context = |prefix: &str,
                           ctx: &crate::spec::ContextSpec|
     -> Result<(Context, Vec<String>), PlanError> {
        let include = render_list(&format!("{prefix}context.include"), &ctx.include)?;
        let exclude = render_list(&format!("{prefix}context.exclude"), &ctx.exclude)?;
        Ok((
            context::resolve(root, &include, &exclude, ctx.max_tokens)?,
            include,
        ))
    };
    let prompt = match &spec.prompt {
        Some(p) => render("prompt".into(), p)?,
        None => String::new(),
    };
    let constraints = render_list("constraints", &spec.constraints)?;
    let permissions = render_permissions("", &spec.permissions)?;
    let (context, include) = resolve_context("", &spec.context)?;
    let mut steps = Vec::new();
    for (i, step) in spec.steps.iter().enumerate() {
        let prefix = format!("steps[{i}].");
        let kind = match (&step.prompt, &step.run) {
            (_, Some(run)) => StepKind::Command {
                run: run.clone(),
                timeout: step.timeout,
            },
            (Some(prompt), None) => {
                let context = match &step.context {
                    Some(c) => resolve_context(&prefix, c)?.0,
                    None => context.clone(),
                };
                StepKind::Agent(Box::new(AgentStep {
                    prompt: prompt.clone(),
                    constraints: match &step.constraints {
                        Some(c) => render_list(&format!("{prefix}constraints"), c)?,
                        None => constraints.clone(),
                    },
                    context,
                    tools: step.tools.clone().unwrap_or_else(|| spec.tools.clone()),
                    permissions: match &step.permissions {
                        Some(p) => render_permissions(&prefix, p)?,
                        None => permissions.clone(),
                    },
                    checks: step.checks.clone().unwrap_or_else(|| spec.checks.clone()),
                    output_schema: step.output_schema.clone(),
                }))
            }
            (None, None) => unreachable!("checked when the task file was loaded"),
        };
        steps.push(PlanStep {
            id: step.id.clone(),
            condition: step.condition.clone(),
            kind,
        });
    }
    let mut all_files = context.clone();
    for step in &steps {
        if let StepKind::Agent(a) = &step.kind {
            all_files.files.extend(a.context.files.iter().cloned());
        }
    }
    all_files.files.sort_by(|a, b| a.path.cmp(&b.path));
    all_files.files.dedup_by(|a, b| a.path == b.path);
    let fingerprint = fingerprint(&loaded.hash, &inputs, &all_files);
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
        steps,
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
