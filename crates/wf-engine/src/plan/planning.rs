//! Planning a task file: its run-wide settings and instruction files, its
//! steps in order (each agent step with what it inherits, command steps,
//! recipe steps planned recursively and bounded by their caller).

use super::render::Render;
use super::*;

/// Where a task file's steps are planned: its rendering, its top-level
/// settings, and the recipe resolution state.
struct Planning<'a, 'r> {
    render: &'a Render<'a>,
    spec: &'a crate::spec::Spec,
    task: &'a AgentStep,
    resolver: &'r mut Resolver,
    base: &'a Base,
    stack: &'r mut Vec<String>,
    id_prefix: &'a str,
    notes: Vec<String>,
}

/// The plan of one task file; recipes it uses are built recursively, with
/// `stack` holding the references being expanded (to refuse cycles).
pub(super) fn build(
    loaded: &LoadedSpec,
    given: &BTreeMap<String, String>,
    root: &Path,
    resolver: &mut Resolver,
    base: &Base,
    stack: &mut Vec<String>,
    id_prefix: &str,
) -> Result<Plan, PlanError> {
    build_here(loaded, given, root, resolver, base, stack, id_prefix).map_err(|e| e.located(loaded))
}

/// [`build`], its missing paths not yet located in `loaded`.
fn build_here(
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
    let mut input_notes = Vec::new();
    missing_path_inputs(
        spec,
        given,
        &inputs,
        root,
        !id_prefix.is_empty(),
        &mut input_notes,
    )?;
    let render = Render {
        inputs: &inputs,
        root,
    };
    let task = task_settings(spec, &render)?;
    let (defaults, steps, notes) = if spec.prompt.is_some() {
        let step = PlanStep {
            id: None,
            condition: None,
            kind: StepKind::Agent(Box::new(task)),
        };
        (None, vec![step], Vec::new())
    } else {
        let mut planning = Planning {
            render: &render,
            spec,
            task: &task,
            resolver,
            base,
            stack,
            id_prefix,
            notes: Vec::new(),
        };
        let steps = planning.steps()?;
        let notes = planning.notes;
        (Some(Box::new(task)), steps, notes)
    };
    input_notes.extend(notes);
    let notes = input_notes;
    Ok(Plan {
        name: spec.name.clone(),
        version: spec.version.clone(),
        spec_path: loaded.path.display().to_string(),
        spec_hash: loaded.hash.clone(),
        inputs,
        model: spec.model.clone(),
        defaults,
        steps,
        checkpoints: spec.checkpoints,
        limits: spec.limits.clone(),
        cost_cap: None,
        sandbox: spec.sandbox.clone(),
        sandbox_approval: None,
        script: None,
        machine_level: None,
        recipes: Vec::new(),
        notes,
        mcp: BTreeMap::new(),
        fingerprint: String::new(),
        root: root.to_path_buf(),
        task_copy: None,
    })
}

/// Reads the files of `constraints_from` in the repository at `root`. Each
/// must be a UTF-8 text file of at most [`MAX_INSTRUCTIONS_BYTES`], inside
/// the repository (after links), outside `.git/` and `.wf/`; one that names
/// nothing is an error with the closest path of the tree (located in the
/// task file by [`build`]), as are the others.
fn instructions(root: &Path, paths: &[String]) -> Result<Vec<Instructions>, PlanError> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let canonical_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    for (i, path) in paths.iter().enumerate() {
        let mut problem = |message: String| {
            problems.push(Missing {
                field: Some(format!("constraints_from[{i}]")),
                message: format!("constraints_from `{path}` {message}"),
            });
        };
        if let Err(why) = crate::sys::paths::check_relative(path) {
            problem(why);
            continue;
        }
        let rel = crate::policy::normalize(path);
        if rel
            .split('/')
            .next()
            .is_some_and(|c| c == ".git" || c == ".wf")
        {
            problem("is inside `.git/` or `.wf/`, which wf never reads for a task".into());
            continue;
        }
        let full = root.join(&rel);
        if full.symlink_metadata().is_err() {
            problem(format!(
                "names no file in the repository{}",
                context::did_you_mean(&context::nearest_path(root, &rel))
            ));
            continue;
        }
        match full.canonicalize() {
            Ok(real) if real.starts_with(&canonical_root) && real.is_file() => {}
            Ok(real) if real.starts_with(&canonical_root) => {
                problem("is not a file".into());
                continue;
            }
            _ => {
                problem("leads outside the repository".into());
                continue;
            }
        }
        let bytes = match std::fs::read(&full) {
            Ok(b) => b,
            Err(e) => {
                problem(format!("cannot be read: {e}"));
                continue;
            }
        };
        if bytes.len() > MAX_INSTRUCTIONS_BYTES {
            problem(format!(
                "is {} bytes; standing rules may be at most {MAX_INSTRUCTIONS_BYTES}",
                bytes.len()
            ));
            continue;
        }
        let sha256 = crate::hash::sha256_hex(&bytes);
        let Ok(text) = String::from_utf8(bytes) else {
            problem("is not UTF-8 text".into());
            continue;
        };
        if out.iter().any(|f: &Instructions| f.path == rel) {
            continue;
        }
        out.push(Instructions {
            path: rel,
            sha256,
            text,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(PlanError::Missing(problems))
    }
}

/// `type: path` inputs whose value names nothing in the repository. A
/// value with a path of the tree close to it (`config/ap.ini` next to
/// `config/app.ini`) is a typo: refused, with "did you mean", before
/// anything runs (a value from the task file's `default:` is pointed at
/// there). A value with nothing close may be a path the task is to create
/// (`config/app.toml`, a directory of a fresh repository): a note in
/// `notes`.
fn missing_path_inputs(
    spec: &crate::spec::Spec,
    given: &BTreeMap<String, String>,
    inputs: &BTreeMap<String, Value>,
    root: &Path,
    recipe: bool,
    notes: &mut Vec<String>,
) -> Result<(), PlanError> {
    let mut missing = Vec::new();
    for (name, decl) in &spec.inputs {
        if decl.kind != crate::spec::InputType::Path {
            continue;
        }
        let Some(Value::String(path)) = inputs.get(name) else {
            continue;
        };
        let rel = path.trim_end_matches('/');
        if rel.is_empty() || root.join(rel).symlink_metadata().is_ok() {
            continue;
        }
        let from = if given.contains_key(name) && recipe {
            "given by the calling task's `with:`".to_string()
        } else if given.contains_key(name) {
            format!("-i {name}={path}")
        } else {
            "its default".to_string()
        };
        let near = context::nearest_path(root, rel);
        if near.is_none() {
            notes.push(format!(
                "input `{name}`: `{path}` ({from}) names nothing in the repository yet"
            ));
            continue;
        }
        missing.push(Missing {
            field: (!given.contains_key(name)).then(|| format!("inputs.{name}.default")),
            message: format!(
                "input `{name}` is a path, and `{path}` ({from}) names no file in the repository{}",
                context::did_you_mean(&near)
            ),
        });
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(PlanError::Missing(missing))
    }
}

/// The task file's top-level agent settings, with the prompt (if any)
/// rendered: a single-prompt file's one step, or what steps inherit.
fn task_settings(spec: &crate::spec::Spec, render: &Render) -> Result<AgentStep, PlanError> {
    let prompt = match &spec.prompt {
        Some(p) => render.text("prompt".into(), p)?,
        None => String::new(),
    };
    let constraints = render.list("constraints", &spec.constraints)?;
    let instructions = instructions(render.root, &spec.constraints_from)?;
    let permissions = render.permissions("", &spec.permissions)?;
    let (context, context_include) = render.context("", &spec.context, &permissions.read)?;
    Ok(AgentStep {
        prompt,
        constraints,
        instructions,
        context,
        context_include,
        tools: spec.tools.clone(),
        mcp: spec.mcp.clone(),
        permissions,
        checks: spec.checks.clone(),
        output_schema: None,
        bounds: Vec::new(),
        plan_checkpoint: spec.checkpoints.plan,
        approve_after: false,
        model: spec.model.clone(),
        limits: StepLimits::default(),
        network: None,
        env: render.env("", &spec.env)?,
    })
}

impl Planning<'_, '_> {
    /// The steps of a `steps:` file, or the one recipe step of a `uses:`
    /// file.
    fn steps(&mut self) -> Result<Vec<PlanStep>, PlanError> {
        let spec = self.spec;
        let top_level_uses = spec.uses.as_ref().map(|uses| crate::spec::Step {
            id: "recipe".into(),
            uses: Some(uses.clone()),
            with_inputs: Some(spec.with_inputs.clone()),
            ..Default::default()
        });
        let mut steps = Vec::new();
        for (i, step) in spec.steps.iter().chain(&top_level_uses).enumerate() {
            let prefix = if top_level_uses.is_some() {
                String::new()
            } else {
                format!("steps[{i}].")
            };
            let kind = match (&step.uses, &step.prompt, &step.run) {
                (Some(uses), _, _) => self.recipe_step(step, uses, &prefix)?,
                (None, _, Some(run)) => StepKind::Command {
                    run: run.clone(),
                    timeout: step.timeout,
                    bounds: Vec::new(),
                    network: self.step_network(step),
                    env: self.render.step_env(&self.task.env, &prefix, &step.env)?,
                },
                (None, Some(prompt), None) => self.agent_step(step, prompt, &prefix)?,
                (None, None, None) => unreachable!("checked when the task file was loaded"),
            };
            steps.push(PlanStep {
                id: Some(step.id.clone()),
                condition: step.condition.clone(),
                kind,
            });
        }
        Ok(steps)
    }

    /// A step's own network (`None`: the run's): a list narrows the
    /// task's list (see [`crate::spec::Network::for_step`]).
    fn step_network(&self, step: &crate::spec::Step) -> Option<crate::spec::Network> {
        crate::spec::Network::for_step(
            step.sandbox.as_ref().and_then(|s| s.network.as_ref()),
            &self.spec.sandbox.network,
        )
    }

    /// The model a step runs with.
    fn model(&self, step: &crate::spec::Step) -> ModelSpec {
        step.model
            .as_ref()
            .map_or_else(|| self.spec.model.clone(), |m| m.over(&self.spec.model))
    }

    /// Whether a step has a plan checkpoint.
    fn plan_checkpoint(&self, step: &crate::spec::Step) -> bool {
        step.checkpoints
            .and_then(|c| c.plan)
            .unwrap_or(self.spec.checkpoints.plan)
    }

    /// A step's permissions: its own (rendered), else the task's.
    fn permissions(
        &self,
        step: &crate::spec::Step,
        prefix: &str,
    ) -> Result<Permissions, PlanError> {
        match &step.permissions {
            Some(p) => self.render.permissions(prefix, p),
            None => Ok(self.task.permissions.clone()),
        }
    }

    /// An agent step with what it does not set inherited from the task.
    fn agent_step(
        &self,
        step: &crate::spec::Step,
        prompt: &str,
        prefix: &str,
    ) -> Result<StepKind, PlanError> {
        let task = self.task;
        let permissions = self.permissions(step, prefix)?;
        let (context, context_include) = match &step.context {
            Some(c) => match self.render.context(prefix, c, &permissions.read) {
                // A step its inputs turn off (`if: inputs.ecosystem ==
                // "cargo"`) never runs: its manifest may be missing here.
                Err(PlanError::Missing(_)) if self.skipped_by_inputs(step) => {
                    let none = crate::spec::ContextSpec {
                        include: Vec::new(),
                        ..c.clone()
                    };
                    self.render.context(prefix, &none, &permissions.read)?
                }
                other => other?,
            },
            // The task's context, resolved again when the step reads
            // differently (a symlink is in it only if its target is readable).
            None if permissions.read != task.permissions.read => {
                self.render
                    .context("", &self.spec.context, &permissions.read)?
            }
            None => (task.context.clone(), task.context_include.clone()),
        };
        Ok(StepKind::Agent(Box::new(AgentStep {
            prompt: prompt.to_string(),
            constraints: match &step.constraints {
                Some(c) => self.render.list(&format!("{prefix}constraints"), c)?,
                None => task.constraints.clone(),
            },
            // The repository's standing rules hold for every agent step,
            // whatever rules of its own it has.
            instructions: task.instructions.clone(),
            context,
            context_include,
            tools: step.tools.clone().unwrap_or_else(|| task.tools.clone()),
            mcp: step.mcp.clone().unwrap_or_else(|| task.mcp.clone()),
            permissions,
            checks: step.checks.clone().unwrap_or_else(|| task.checks.clone()),
            output_schema: step.output_schema.clone(),
            bounds: Vec::new(),
            plan_checkpoint: self.plan_checkpoint(step),
            approve_after: step.checkpoints.is_some_and(|c| c.apply),
            model: self.model(step),
            limits: step.limits.unwrap_or_default(),
            network: self.step_network(step),
            env: self.render.step_env(&task.env, prefix, &step.env)?,
        })))
    }

    /// Whether `step`'s `if:` reads the inputs only and is false with
    /// them: the step will not run (an expression that reads `steps` is
    /// known only when the run gets there).
    fn skipped_by_inputs(&self, step: &crate::spec::Step) -> bool {
        let Some(expr) = &step.condition else {
            return false;
        };
        !expr.contains("steps")
            && matches!(
                template::condition(expr, self.render.inputs, &BTreeMap::new()),
                Ok(false)
            )
    }

    /// A recipe step: the recipe planned with `with:`, bounded by what this
    /// step allows.
    fn recipe_step(
        &mut self,
        step: &crate::spec::Step,
        uses: &str,
        prefix: &str,
    ) -> Result<StepKind, PlanError> {
        let caller = Caller {
            tools: step
                .tools
                .clone()
                .unwrap_or_else(|| self.task.tools.clone()),
            permissions: self.permissions(step, prefix)?,
            constraints: self.task.constraints.clone(),
            instructions: self.task.instructions.clone(),
            plan_checkpoint: self.plan_checkpoint(step),
            model: self.model(step),
            limits: step.limits.unwrap_or_default(),
            network: self
                .step_network(step)
                .unwrap_or_else(|| self.spec.sandbox.network.clone()),
            env: self.render.step_env(&self.task.env, prefix, &step.env)?,
            mcp: step.mcp.clone().unwrap_or_else(|| self.task.mcp.clone()),
        };
        let mut with = BTreeMap::new();
        for (name, value) in step.with_inputs.iter().flatten() {
            let text = match value {
                Value::String(t) => self.render.text(format!("{prefix}with.{name}"), t)?,
                other => inputs::as_text(other),
            };
            with.insert(name.clone(), text);
        }
        let mut used = use_recipe(
            &format!("{}{}", self.id_prefix, step.id),
            uses,
            &with,
            &caller,
            self.render.root,
            self.resolver,
            self.base,
            self.stack,
            &mut self.notes,
        )?;
        used.approve_after = step.checkpoints.is_some_and(|c| c.apply);
        used.limits = step.limits.unwrap_or_default();
        Ok(StepKind::Uses(Box::new(used)))
    }
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
    let fail = |why: &dyn std::fmt::Display| PlanError::Recipe(format!("step `{id}`: {why}"));
    let (found, recipe) = resolver.open(uses, base, stack).map_err(|e| fail(&e))?;
    check_with(&recipe, with).map_err(|r| fail(&r.0))?;
    let fresh = resolver.enter(&found.key).map_err(|e| fail(&e))?;
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
    .map_err(|e| recipe_error(e, &recipe.spec.name, fail));
    stack.pop();
    resolver.leave(fresh);
    let inner = inner?;
    notes.extend(inner.notes.iter().cloned());
    let mut steps = inner.steps;
    // A single-prompt recipe is one agent step, `main`, whose prompt is
    // rendered when it runs, as any step's.
    if let [
        PlanStep {
            id: id @ None,
            kind: StepKind::Agent(agent),
            ..
        },
    ] = steps.as_mut_slice()
    {
        *id = Some("main".into());
        agent.prompt = recipe.spec.prompt.clone().unwrap_or_default();
    }
    let label = format!("step `{id}` (recipe {})", recipe.spec.name);
    bound(&mut steps, caller, &label, notes).map_err(|r| fail(&r.0))?;
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

/// Every name in `with` must be an input of the recipe.
fn check_with(recipe: &LoadedSpec, with: &BTreeMap<String, String>) -> Result<(), Refusal> {
    let declared = &recipe.spec.inputs;
    for name in with.keys() {
        if !declared.contains_key(name) {
            let known: Vec<&str> = declared.keys().map(String::as_str).collect();
            return Err(Refusal(format!(
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
    Ok(())
}

/// A recipe's planning error as the caller's: missing inputs are given in
/// `with:`, not with `-i`.
fn recipe_error(
    e: PlanError,
    name: &str,
    fail: impl Fn(&dyn std::fmt::Display) -> PlanError,
) -> PlanError {
    match e {
        PlanError::Recipe(message) => PlanError::Recipe(message),
        PlanError::Inputs(e) => fail(&format!(
            "recipe `{name}`: {}",
            e.problems
                .iter()
                .map(|p| match p.find("; give it with `-i ") {
                    Some(i) => format!("{}; give it in `with:`", &p[..i]),
                    None => p.clone(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        )),
        other => fail(&format!("recipe `{name}`: {other}")),
    }
}
