//! Spec + inputs + repository → [`Plan`]: everything a run would send and
//! enforce, computed without calling any model.
//!
//! The plan's fingerprint is one hash over the canonical spec, the inputs and
//! the context files' content hashes: the same repository state and inputs
//! give the same fingerprint on any machine.

mod bound;
mod fingerprint;

use bound::bound;
pub use fingerprint::fingerprint;

use crate::context::{self, Context, ContextError};
use crate::recipes::{Base, Pin, Resolver};
use crate::spec::inputs::{self, InputError};
use crate::spec::template;
use crate::spec::{
    Check, Checkpoints, Limits, LoadedSpec, ModelSpec, Permissions, StepLimits, ToolName,
};
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
    /// Permissions that bound `permissions` (those of the tasks that use
    /// this one as a recipe, innermost first); empty at the top level.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bounds: Vec<Permissions>,
    /// The checks.
    pub checks: Vec<Check>,
    /// The steps of a multi-step workflow (empty for a single prompt).
    pub steps: Vec<PlanStep>,
    /// The checkpoints.
    pub checkpoints: Checkpoints,
    /// The limits.
    pub limits: Limits,
    /// Every recipe `uses:` resolved to, sorted by reference.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recipes: Vec<Pin>,
    /// What the user should know before running: a recipe that asks for
    /// more than its caller allows, a reference that is not pinned.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Hash over spec, inputs, context and recipe pins.
    pub fingerprint: String,
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
    /// A `uses:` recipe could not be found, is not pinned, moved, or does
    /// not load.
    #[error("{0}")]
    Recipe(String),
}

impl From<String> for PlanError {
    /// A recipe problem ([`crate::recipes`] says what went wrong in words).
    fn from(message: String) -> PlanError {
        PlanError::Recipe(message)
    }
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

/// An agent step, a command step or a recipe step.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepKind {
    /// Another task file's work, in this workspace.
    Uses(Box<UsedRecipe>),
    /// The model works on a prompt.
    Agent(Box<AgentStep>),
    /// A command runs in the workspace.
    Command {
        /// The command line (`sh -c`).
        run: String,
        /// Its timeout.
        timeout: Option<crate::spec::Duration>,
        /// In a recipe: the permissions of the tasks using it. What the
        /// command changes must be writable under all of them.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        bounds: Vec<Permissions>,
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
    /// Permissions bounding `permissions`: those of the tasks using this
    /// step's recipe, innermost first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bounds: Vec<Permissions>,
    /// Whether the model states a plan for approval before editing.
    pub plan_checkpoint: bool,
    /// Whether a human approves the changes so far once the step is done.
    pub approve_after: bool,
    /// The model it runs with (the run's provider).
    pub model: ModelSpec,
    /// Its own bounds, within the run's.
    pub limits: StepLimits,
}

/// A recipe step: the used task file and its steps, bounded by the caller.
#[derive(Debug, Clone, Serialize)]
pub struct UsedRecipe {
    /// The reference as written.
    pub uses: String,
    /// The recipe's name.
    pub name: String,
    /// The recipe's version, if it declares one.
    pub version: Option<String>,
    /// What it resolved to.
    pub pin: Pin,
    /// The recipe's inputs, from `with:` and its defaults.
    pub inputs: BTreeMap<String, Value>,
    /// Its steps (a single-prompt recipe is one agent step, `main`).
    pub steps: Vec<PlanStep>,
    /// Whether a human approves the changes so far once the recipe is done.
    pub approve_after: bool,
    /// Bounds on the whole recipe step: turns, spending and time counted
    /// from its start, its command steps included.
    pub limits: StepLimits,
}

/// What the caller of a recipe decides for it: the most it may use (tools
/// and permissions), rules added to its own, a plan checkpoint, and the
/// model and step limits its agent steps run with.
struct Caller {
    tools: Vec<ToolName>,
    permissions: Permissions,
    constraints: Vec<String>,
    plan_checkpoint: bool,
    model: ModelSpec,
    limits: StepLimits,
}

/// Makes the plan for `loaded` with the given `-i` values, against `root`;
/// `uses:` references are found through `resolver`.
pub fn make(
    loaded: &LoadedSpec,
    given: &BTreeMap<String, String>,
    root: &Path,
    resolver: &mut Resolver,
) -> Result<Plan, PlanError> {
    let base = Base::of_task(loaded);
    let mut plan = build(loaded, given, root, resolver, &base, &mut Vec::new(), "")?;
    let mut pins = Vec::new();
    collect_pins(&plan.steps, &mut pins);
    pins.sort_by(|a, b| a.uses.cmp(&b.uses));
    pins.dedup_by(|a, b| a.uses == b.uses);
    plan.recipes = pins;
    plan.notes.append(&mut resolver.notes);
    plan.notes.dedup();
    let mut all_files = plan.context.clone();
    all_step_files(&plan.steps, &mut all_files);
    all_files.files.sort_by(|a, b| a.path.cmp(&b.path));
    all_files.files.dedup_by(|a, b| a.path == b.path);
    plan.fingerprint = fingerprint(&loaded.hash, &plan.inputs, &all_files, &plan.recipes);
    Ok(plan)
}

/// Every model a run may call, each with whether a cost cap covers its
/// answers (the run's, its step's, or that of a recipe step around it).
pub fn models(plan: &Plan) -> Vec<(ModelSpec, bool)> {
    fn walk(steps: &[PlanStep], capped: bool, out: &mut Vec<(ModelSpec, bool)>) {
        for step in steps {
            match &step.kind {
                StepKind::Agent(a) => {
                    out.push((a.model.clone(), capped || a.limits.max_cost_usd.is_some()));
                }
                StepKind::Uses(u) => {
                    walk(&u.steps, capped || u.limits.max_cost_usd.is_some(), out);
                }
                StepKind::Command { .. } => {}
            }
        }
    }
    let capped = plan.limits.max_cost_usd.is_some();
    let mut out = Vec::new();
    if plan.steps.is_empty() {
        out.push((plan.model.clone(), capped));
    }
    walk(&plan.steps, capped, &mut out);
    out
}

fn collect_pins(steps: &[PlanStep], out: &mut Vec<Pin>) {
    for step in steps {
        if let StepKind::Uses(u) = &step.kind {
            out.push(u.pin.clone());
            collect_pins(&u.steps, out);
        }
    }
}

fn all_step_files(steps: &[PlanStep], out: &mut Context) {
    for step in steps {
        match &step.kind {
            StepKind::Agent(a) => out.files.extend(a.context.files.iter().cloned()),
            StepKind::Uses(u) => all_step_files(&u.steps, out),
            StepKind::Command { .. } => {}
        }
    }
}

/// The plan of one task file; recipes it uses are built recursively, with
/// `stack` holding the references being expanded (to refuse cycles).
fn build(
    loaded: &LoadedSpec,
    given: &BTreeMap<String, String>,
    root: &Path,
    resolver: &mut Resolver,
    base: &Base,
    stack: &mut Vec<String>,
    id_prefix: &str,
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
                    if let Err(message) = crate::sys::paths::check_relative(glob)
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
    let mut notes = Vec::new();
    let top_level_uses = spec.uses.as_ref().map(|uses| crate::spec::Step {
        id: "recipe".into(),
        uses: Some(uses.clone()),
        with_inputs: Some(spec.with_inputs.clone()),
        ..Default::default()
    });
    for (i, step) in spec.steps.iter().chain(&top_level_uses).enumerate() {
        let prefix = if top_level_uses.is_some() {
            String::new()
        } else {
            format!("steps[{i}].")
        };
        let step_model = step
            .model
            .as_ref()
            .map_or_else(|| spec.model.clone(), |m| m.over(&spec.model));
        let step_plan_checkpoint = step
            .checkpoints
            .and_then(|c| c.plan)
            .unwrap_or(spec.checkpoints.plan);
        let approve_after = step.checkpoints.is_some_and(|c| c.apply);
        if let Some(uses) = &step.uses {
            let caller = Caller {
                tools: step.tools.clone().unwrap_or_else(|| spec.tools.clone()),
                permissions: match &step.permissions {
                    Some(p) => render_permissions(&prefix, p)?,
                    None => permissions.clone(),
                },
                constraints: constraints.clone(),
                plan_checkpoint: step_plan_checkpoint,
                model: step_model,
                limits: step.limits.unwrap_or_default(),
            };
            let mut with = BTreeMap::new();
            for (name, value) in step.with_inputs.iter().flatten() {
                let text = match value {
                    Value::String(t) => render(format!("{prefix}with.{name}"), t)?,
                    other => inputs::as_text(other),
                };
                with.insert(name.clone(), text);
            }
            let mut used = use_recipe(
                &format!("{id_prefix}{}", step.id),
                uses,
                &with,
                &caller,
                root,
                resolver,
                base,
                stack,
                &mut notes,
            )?;
            used.approve_after = approve_after;
            used.limits = step.limits.unwrap_or_default();
            steps.push(PlanStep {
                id: step.id.clone(),
                condition: step.condition.clone(),
                kind: StepKind::Uses(Box::new(used)),
            });
            continue;
        }
        let kind = match (&step.prompt, &step.run) {
            (_, Some(run)) => StepKind::Command {
                run: run.clone(),
                timeout: step.timeout,
                bounds: Vec::new(),
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
                    bounds: Vec::new(),
                    plan_checkpoint: step_plan_checkpoint,
                    approve_after,
                    model: step_model,
                    limits: step.limits.unwrap_or_default(),
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
    let plan = Plan {
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
        bounds: Vec::new(),
        checks: spec.checks.clone(),
        steps,
        checkpoints: spec.checkpoints,
        limits: spec.limits.clone(),
        recipes: Vec::new(),
        notes,
        fingerprint: String::new(),
        root: root.to_path_buf(),
    };
    Ok(plan)
}

/// Expands a recipe step: finds the recipe, checks `with` against its
/// inputs, plans it, and bounds every agent step in it by `allowance`.
#[allow(clippy::too_many_arguments)]
fn use_recipe(
    id: &str,
    uses: &str,
    with: &BTreeMap<String, String>,
    caller: &Caller,
    root: &Path,
    resolver: &mut Resolver,
    base: &Base,
    stack: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Result<UsedRecipe, PlanError> {
    let fail = |why: String| PlanError::Recipe(format!("step `{id}`: {why}"));
    let (found, recipe) = resolver.open(uses, base, stack).map_err(fail)?;
    let declared = &recipe.spec.inputs;
    for name in with.keys() {
        if !declared.contains_key(name) {
            let known: Vec<&str> = declared.keys().map(String::as_str).collect();
            return Err(fail(format!(
                "recipe `{}` has no input `{name}`; its inputs: {}",
                recipe.spec.name,
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    let fresh = resolver.enter(&found.key).map_err(fail)?;
    stack.push(found.key.clone());
    let inner = build(
        &recipe,
        with,
        root,
        resolver,
        &found.base,
        stack,
        &format!("{id}."),
    )
    .map_err(|e| match e {
        PlanError::Recipe(message) => PlanError::Recipe(message),
        PlanError::Inputs(e) => fail(format!(
            "recipe `{}`: {}",
            recipe.spec.name,
            e.problems
                .iter()
                .map(|p| match p.find("; give it with `-i ") {
                    Some(i) => format!("{}; give it in `with:`", &p[..i]),
                    None => p.clone(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        )),
        other => fail(format!("recipe `{}`: {other}", recipe.spec.name)),
    });
    stack.pop();
    resolver.leave(fresh);
    let inner = inner?;
    notes.extend(inner.notes.iter().cloned());
    let mut steps = if inner.steps.is_empty() {
        vec![PlanStep {
            id: "main".into(),
            condition: None,
            kind: StepKind::Agent(Box::new(AgentStep {
                prompt: recipe.spec.prompt.clone().unwrap_or_default(),
                constraints: inner.constraints.clone(),
                context: inner.context.clone(),
                tools: inner.tools.clone(),
                permissions: inner.permissions.clone(),
                checks: inner.checks.clone(),
                output_schema: None,
                bounds: Vec::new(),
                plan_checkpoint: inner.checkpoints.plan,
                approve_after: false,
                model: inner.model.clone(),
                limits: StepLimits::default(),
            })),
        }]
    } else {
        inner.steps
    };
    let label = format!("step `{id}` (recipe {})", recipe.spec.name);
    bound(&mut steps, caller, &label, notes);
    Ok(UsedRecipe {
        uses: uses.to_string(),
        name: recipe.spec.name.clone(),
        version: recipe.spec.version.clone(),
        pin: Pin {
            name: recipe.spec.name.clone(),
            ..found.pin
        },
        inputs: inner.inputs,
        steps,
        approve_after: false,
        limits: StepLimits::default(),
    })
}
