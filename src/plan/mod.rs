//! Spec + inputs + repository → [`Plan`]: everything a run would send and
//! enforce, computed without calling any model.
//!
//! A plan is the run-wide settings (name, version, spec path and hash,
//! inputs, model, checkpoints, limits, recipe pins, notes, fingerprint,
//! root) and its [`PlanStep`]s:
//!
//! ```text
//! Plan { name, version, spec_path, spec_hash, inputs, model,
//!        defaults?, steps: [PlanStep], checkpoints, limits, recipes, notes, fingerprint, root }
//! PlanStep { id: Option<String>, condition, kind: Agent(AgentStep) | Command { .. } | Uses(UsedRecipe) }
//! ```
//!
//! A single-prompt task file is one agent step with no id (the implicit
//! step: its events carry no step id, and its prompt is rendered here). A
//! `steps:` file lists its steps, each agent step with what it inherits
//! filled in; the top-level settings they inherit are kept as
//! [`Plan::defaults`] for `wf plan` and the fingerprint. A `uses:` file is
//! one recipe step, `recipe`; a recipe's steps are planned recursively (a
//! single-prompt recipe is one agent step, `main`) and bounded by their
//! caller (see `bound`).
//!
//! The plan's fingerprint is one hash over the canonical spec, the inputs and
//! the context files' content hashes: the same repository state and inputs
//! give the same fingerprint on any machine.
//!
//! Every way planning fails is a [`PlanError`] variant (the user's input:
//! exit 2); no function of this layer returns a bare string, and no string
//! turns into a `PlanError` by itself: what the recipes layer reports in
//! words becomes [`PlanError::Recipe`] where the step that uses the recipe
//! is named.
//!
//! A run whose task file is outside its repository keeps what is needed to
//! make its plan again in its run folder ([`task_copy`]): resume, approve,
//! replay and report then work in the repository where it ran.

mod bound;
mod fingerprint;
pub mod task_copy;
pub mod widening;

use bound::bound;
pub use fingerprint::fingerprint;

use crate::context::{self, Context, ContextError};
use crate::recipes::{Base, Pin, Resolver};
use crate::spec::inputs::{self, InputError};
use crate::spec::template;
use crate::spec::{
    Check, Checkpoints, Limits, LoadedSpec, McpServer, ModelSpec, Permissions, StepLimits,
    ToolName, ToolRef,
};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a run of a task file would do: the run-wide settings, then its
/// steps. A single-prompt task file is one agent step without an id (see
/// [`PlanStep::id`]); `steps:` and `uses:` files list their steps.
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
    /// The run's model (each agent step has its own, usually the same).
    pub model: ModelSpec,
    /// For a file with `steps:` or `uses:`: its top-level agent settings
    /// (constraints, context, tools, permissions, checks), which its agent
    /// steps inherit unless they set their own. Shown by `wf plan` and part
    /// of the fingerprint; never run. `None` for a single-prompt file, whose
    /// one step holds them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Box<AgentStep>>,
    /// The steps: agent, command and recipe steps in order; for a
    /// single-prompt file, its one implicit agent step.
    pub steps: Vec<PlanStep>,
    /// The checkpoints.
    pub checkpoints: Checkpoints,
    /// The limits.
    pub limits: Limits,
    /// A cap on the run's spending from the command line (`wf run
    /// --max-cost-usd`), in force besides `limits.max_cost_usd` (the lower
    /// one wins). Recorded in `run_started`, so replay and resume apply it
    /// again; not part of the fingerprint (the task is the same task).
    pub cost_cap: Option<f64>,
    /// How the commands the run starts are confined: the task file's
    /// `sandbox:` (a recipe's own is not applied: its caller's sandbox
    /// decides), with `--sandbox` applied.
    pub sandbox: crate::spec::Sandbox,
    /// How the user approved the plan's [`widening::Widening`], once they
    /// did (set by `wf run` before anything starts, see
    /// [`crate::app::trust`]); recorded in `run_started`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox_approval: Option<widening::Approval>,
    /// `wf run --script FILE`: the script that replaced the task file's
    /// model (set by [`crate::app::run`], recorded in `run_started`); not
    /// part of the fingerprint (the task is the same task).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<ScriptOverride>,
    /// The confinement level this machine gives (`full` or `landlock`),
    /// for `wf plan` to show; set by `wf plan`, never recorded (the run's
    /// own level is in its `sandbox_ready` event).
    #[serde(skip)]
    pub machine_level: Option<String>,
    /// Every recipe `uses:` resolved to, sorted by reference.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recipes: Vec<Pin>,
    /// What the user should know before running: a recipe that asks for
    /// more than its caller allows, a reference that is not pinned.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What each MCP server the plan uses offers of its allowlist, by
    /// server name: filled by listing the servers (`wf plan`, `wf run`) or
    /// from a recorded run (replay, resume); part of the fingerprint.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub mcp: BTreeMap<String, McpListing>,
    /// Hash over spec, inputs, context, recipe pins and MCP tool definitions.
    pub fingerprint: String,
    /// The repository root the plan was made against.
    #[serde(skip)]
    pub root: PathBuf,
    /// What the run folder keeps of a task file outside the repository
    /// (see [`crate::plan::task_copy`]); set by `wf run`.
    #[serde(skip)]
    pub task_copy: Option<crate::plan::task_copy::TaskCopy>,
}

/// `wf run --script FILE`: the model of the task file was replaced by the
/// script provider playing this file's turns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ScriptOverride {
    /// The turns file, as an absolute path.
    pub path: String,
    /// SHA-256 of its content when the run started (a resume plays it only
    /// while it is unchanged).
    pub sha256: String,
    /// The task file's model it replaced, `provider` or `provider/model`.
    pub replaced: String,
}

/// The allowlisted tools of one MCP server as it listed them.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct McpListing {
    /// The pinned package (`@scope/name@1.2.3`) or the local command.
    pub package: String,
    /// The allowlisted tools the server offers, sorted by name.
    pub tools: Vec<McpTool>,
    /// SHA-256 of `tools` as canonical JSON.
    pub sha256: String,
}

/// One MCP tool's definition, as the server listed it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct McpTool {
    /// Its name on the server.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its input schema (JSON Schema).
    pub input_schema: Value,
}

impl Plan {
    /// Caps the run's spending at `usd` (see [`Plan::cost_cap`]).
    pub fn cap_cost(&mut self, usd: f64) {
        self.cost_cap = Some(self.cost_cap.map_or(usd, |c| c.min(usd)));
    }

    /// The run-wide cap in force: the lower of `limits.max_cost_usd` and
    /// [`Plan::cost_cap`].
    pub fn run_cost_cap(&self) -> Option<f64> {
        match (self.limits.max_cost_usd, self.cost_cap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Sets the MCP listings and updates the fingerprint with them.
    pub fn set_mcp(&mut self, listings: BTreeMap<String, McpListing>) {
        self.mcp = listings;
        self.fingerprint = self.compute_fingerprint();
    }

    fn compute_fingerprint(&self) -> String {
        // References, not clones: a context can hold 100,000 files.
        let mut all_files: Vec<&crate::context::ContextFile> =
            self.task_settings().context.files.iter().collect();
        all_step_files(&self.steps, &mut all_files);
        // Each context is sorted already: a stable sort merges the runs.
        all_files.sort_by(|a, b| a.path.cmp(&b.path));
        all_files.dedup_by(|a, b| a.path == b.path);
        let mcp: Vec<[&str; 2]> = self
            .mcp
            .iter()
            .map(|(name, l)| [name.as_str(), l.sha256.as_str()])
            .collect();
        fingerprint(
            &self.spec_hash,
            &self.inputs,
            &all_files,
            &self.recipes,
            &self.sandbox,
            &mcp,
            &self.instruction_files(),
        )
    }

    /// What the plan's commands get beyond the default sandbox.
    pub fn widening(&self) -> widening::Widening {
        widening::Widening::of(self)
    }

    /// Every `constraints_from` file of the plan (recipes' included), each
    /// once as `[path, sha256]`, sorted.
    pub fn instruction_files(&self) -> Vec<[&str; 2]> {
        fn walk<'a>(steps: &'a [PlanStep], out: &mut Vec<[&'a str; 2]>) {
            for step in steps {
                match &step.kind {
                    StepKind::Agent(a) => out.extend(
                        a.instructions
                            .iter()
                            .map(|f| [f.path.as_str(), f.sha256.as_str()]),
                    ),
                    StepKind::Uses(u) => walk(&u.steps, out),
                    StepKind::Command { .. } => {}
                }
            }
        }
        let mut out: Vec<[&str; 2]> = self
            .task_settings()
            .instructions
            .iter()
            .map(|f| [f.path.as_str(), f.sha256.as_str()])
            .collect();
        walk(&self.steps, &mut out);
        out.sort();
        out.dedup();
        out
    }

    /// The one agent step of a single-prompt task file.
    pub fn implicit_step(&self) -> Option<&AgentStep> {
        match self.steps.as_slice() {
            [
                PlanStep {
                    id: None,
                    kind: StepKind::Agent(agent),
                    ..
                },
            ] => Some(agent),
            _ => None,
        }
    }

    /// The task file's own top-level agent settings: its implicit step, or
    /// the [`Plan::defaults`] its steps inherit.
    pub fn task_settings(&self) -> &AgentStep {
        match (self.implicit_step(), &self.defaults) {
            (Some(step), _) => step,
            (None, Some(defaults)) => defaults,
            (None, None) => unreachable!("a plan has an implicit step or defaults"),
        }
    }
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
    /// not load: the [`crate::recipes::RecipeError`], with the step that
    /// uses it.
    #[error("{0}")]
    Recipe(String),
    /// The recipes of the task file cannot be resolved at all (its
    /// `wf.lock` cannot be read).
    #[error(transparent)]
    Recipes(#[from] crate::recipes::RecipeError),
    /// A sandbox root no approval makes acceptable (see
    /// [`widening::check_grants`]).
    #[error("{0}")]
    Sandbox(String),
    /// A sandbox wider than the default, where nobody can approve it (`wf
    /// batch`, `wf emit`) and `--trust-sandbox` was not given (see
    /// [`widening::Widening::require_flag`]).
    #[error("{0}")]
    Untrusted(String),
    /// Paths named literally (a `context.include` without wildcards, a
    /// `type: path` input) that name nothing in the repository.
    #[error("{}", .0.iter().map(|m| m.message.clone()).collect::<Vec<_>>().join("\n"))]
    Missing(Vec<Missing>),
    /// Errors located in a task file.
    #[error(transparent)]
    Located(#[from] crate::spec::diagnostic::FileDiagnostics),
}

/// A path named literally that names nothing (see [`PlanError::Missing`]).
#[derive(Debug, Clone)]
pub struct Missing {
    /// Where the task file says it (`context.include[0]`,
    /// `steps[1].context.include[2]`, `inputs.module.default`), when it does;
    /// `None` for a value given on the command line.
    pub field: Option<String>,
    /// What is wrong, with the "did you mean".
    pub message: String,
}

impl PlanError {
    /// Missing paths of `loaded` pointed at in its text (file, line,
    /// column); other errors as they are.
    fn located(self, loaded: &LoadedSpec) -> PlanError {
        let PlanError::Missing(list) = self else {
            return self;
        };
        let Ok(root) = crate::spec::yaml::parse(&loaded.source) else {
            return PlanError::Missing(list);
        };
        if list.iter().any(|m| m.field.is_none()) {
            return PlanError::Missing(list);
        }
        let diagnostics = list
            .iter()
            .map(|m| {
                let pointer = pointer_of(m.field.as_deref().unwrap_or_default());
                crate::spec::diagnostic::Diagnostic::new(
                    root.at_pointer(&pointer).1.span,
                    m.message.clone(),
                )
            })
            .collect();
        PlanError::Located(crate::spec::diagnostic::FileDiagnostics {
            file: loaded.path.display().to_string(),
            text: loaded.source.clone(),
            diagnostics,
        })
    }
}

/// Why a recipe cannot be used where a step uses it (an input it does
/// not have, a server its caller declares otherwise), in words: the
/// planner makes it a [`PlanError::Recipe`] naming the step.
#[derive(Debug)]
struct Refusal(String);

/// `steps[1].context.include[2]` → `/steps/1/context/include/2`.
fn pointer_of(field: &str) -> String {
    let mut pointer = String::new();
    for part in field.split('.') {
        for piece in part.split('[') {
            pointer.push('/');
            pointer.push_str(piece.trim_end_matches(']'));
        }
    }
    pointer
}

/// The repository root for `dir`: the top of the git work tree holding it
/// (the nearest ancestor with a `.git` entry), else `dir` itself.
pub fn repo_root(dir: &Path) -> PathBuf {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map_or_else(|| dir.clone(), Path::to_path_buf)
}

/// One step of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanStep {
    /// The step's id; `None` for the implicit agent step of a single-prompt
    /// task file, which runs without step events (its events carry no step
    /// id). A single-prompt recipe's step is `main`.
    pub id: Option<String>,
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
        /// The step's own `sandbox.network` (`None`: the run's).
        #[serde(skip_serializing_if = "Option::is_none")]
        network: Option<crate::spec::Network>,
        /// Its variables: the task's `env` with the step's over it.
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        env: Env,
    },
}

/// The variables a step's commands get on top of the scrubbed environment
/// (see [`crate::spec::Spec::env`]): text rendered with the inputs, or a
/// variable of wf's environment named, read when a command starts.
pub type Env = BTreeMap<String, crate::spec::EnvValue>;
/// A file of the repository named by `constraints_from`, read when the
/// plan is made (from the run's starting state, like the context).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instructions {
    /// Relative to the repository root, as written.
    pub path: String,
    /// Hex SHA-256 of its bytes (in the fingerprint).
    pub sha256: String,
    /// Its text.
    #[serde(skip)]
    pub text: String,
}

/// Largest `constraints_from` file: standing rules are short; a bigger file
/// is a mistake, and would crowd out the task in every request.
pub const MAX_INSTRUCTIONS_BYTES: usize = 64 * 1024;

/// An agent step with everything it inherits filled in.
#[derive(Debug, Clone, Serialize)]
pub struct AgentStep {
    /// The prompt. For a step with an id, the template, rendered when the
    /// step runs with `inputs` and the earlier `steps`; for the implicit
    /// step of a single-prompt file, already rendered.
    pub prompt: String,
    /// Rendered constraints.
    pub constraints: Vec<String>,
    /// The files of `constraints_from`, read: standing rules of the
    /// repository, given after `constraints`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instructions: Vec<Instructions>,
    /// Resolved context.
    pub context: Context,
    /// The rendered include globs the context came from.
    pub context_include: Vec<String>,
    /// Tools: built-in ones and `mcp__<server>__<tool>`.
    pub tools: Vec<ToolRef>,
    /// The MCP servers the step may use (its own `mcp`, or the task's).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub mcp: BTreeMap<String, McpServer>,
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
    /// Its own `sandbox.network` (`None`: the run's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<crate::spec::Network>,
    /// The variables its checks and `shell` calls get: the task's `env`
    /// with the step's over it.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: Env,
}

impl AgentStep {
    /// Whether the step has the built-in tool `tool`.
    pub fn has(&self, tool: ToolName) -> bool {
        self.tools.contains(&ToolRef::Builtin(tool))
    }

    /// The step's built-in tools, in the order listed.
    pub fn builtin_tools(&self) -> Vec<ToolName> {
        self.tools.iter().filter_map(ToolRef::builtin).collect()
    }

    /// The step's MCP tools as (server, tool), in the order listed.
    pub fn mcp_tools(&self) -> Vec<(&str, &str)> {
        self.tools
            .iter()
            .filter_map(|t| match t {
                ToolRef::Mcp { server, tool } => Some((server.as_str(), tool.as_str())),
                ToolRef::Builtin(_) => None,
            })
            .collect()
    }
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
    tools: Vec<ToolRef>,
    permissions: Permissions,
    constraints: Vec<String>,
    instructions: Vec<Instructions>,
    plan_checkpoint: bool,
    model: ModelSpec,
    limits: StepLimits,
    /// The network at the recipe step (its own `sandbox.network`, else
    /// the task's): the most any command of the recipe gets; a recipe
    /// asking for less gets less.
    network: crate::spec::Network,
    /// The caller's `env` (the task's with the recipe step's over it),
    /// laid over the recipe's own.
    env: Env,
    /// The caller's MCP servers (the step's own, else the top level's):
    /// a recipe's server of the same name must be the same server, and
    /// runs as the caller declares it (see [`bound`]).
    mcp: BTreeMap<String, crate::spec::McpServer>,
}

/// Makes the plan for `loaded` with the given `-i` values, against `root`;
/// `uses:` references are found through `resolver`.
pub fn make(
    loaded: &LoadedSpec,
    given: &BTreeMap<String, String>,
    root: &Path,
    resolver: &mut Resolver,
) -> Result<Plan, PlanError> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    widening::check_grants(&loaded.spec.sandbox, home.as_deref())?;
    let base = Base::of_task(loaded);
    let mut plan = build(loaded, given, root, resolver, &base, &mut Vec::new(), "")?;
    let mut pins = Vec::new();
    collect_pins(&plan.steps, &mut pins);
    pins.sort_by(|a, b| a.uses.cmp(&b.uses));
    pins.dedup_by(|a, b| a.uses == b.uses);
    plan.recipes = pins;
    plan.notes.append(&mut resolver.notes);
    plan.notes
        .extend(crate::spec::risky::risky_patterns(&loaded.spec));
    plan.notes.extend(unmatched_permission_globs(&plan));
    plan.notes.dedup();
    plan.fingerprint = plan.compute_fingerprint();
    Ok(plan)
}

/// A note for each `permissions.read` or `permissions.write` glob of the
/// plan's agent steps that matches no file of the repository (as wf lists
/// it: ignored files left out): usually a path input spelled differently
/// than the glob expects, or a directory that moved. A write glob may
/// rightly name files still to be created, so this is a note, not an
/// error.
fn unmatched_permission_globs(plan: &Plan) -> Vec<String> {
    fn collect<'a>(steps: &'a [PlanStep], out: &mut Vec<(&'static str, &'a String)>) {
        for step in steps {
            match &step.kind {
                StepKind::Agent(a) => {
                    out.extend(a.permissions.read.iter().map(|g| ("read", g)));
                    out.extend(a.permissions.write.iter().map(|g| ("write", g)));
                }
                StepKind::Uses(u) => collect(&u.steps, out),
                StepKind::Command { .. } => {}
            }
        }
    }
    let mut globs = Vec::new();
    collect(&plan.steps, &mut globs);
    globs.sort();
    globs.dedup();
    globs
        .into_iter()
        .filter(|(_, glob)| !matches_a_file(&plan.root, glob))
        .map(|(what, glob)| {
            let consequence = match what {
                "read" => "the read tools can read nothing through it",
                _ => "the model can only create new files through it",
            };
            format!(
                "permissions.{what} `{glob}` matches no file in the repository; {consequence} (a path input spelled differently?)"
            )
        })
        .collect()
}

/// Whether `glob` matches a file (or directory) of the repository at
/// `root`, walking only below its literal base and stopping at the first.
fn matches_a_file(root: &Path, glob: &str) -> bool {
    let Ok(matcher) = crate::glob::compile(glob).map(|g| g.compile_matcher()) else {
        return true; // reported where it is compiled
    };
    let base = crate::glob::literal_base(glob);
    let start = root.join(&base);
    if start.symlink_metadata().is_err() {
        return false;
    }
    crate::context::walk_builder(root, &start)
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.depth() > 0 || !base.is_empty())
        .filter_map(|e| crate::sys::paths::relative(root, e.path()))
        .any(|rel| matcher.is_match(&rel))
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
    let mut out = Vec::new();
    walk(&plan.steps, plan.run_cost_cap().is_some(), &mut out);
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

fn all_step_files<'a>(steps: &'a [PlanStep], out: &mut Vec<&'a crate::context::ContextFile>) {
    for step in steps {
        match &step.kind {
            StepKind::Agent(a) => out.extend(a.context.files.iter()),
            StepKind::Uses(u) => all_step_files(&u.steps, out),
            StepKind::Command { .. } => {}
        }
    }
}

/// Renders a task file's templates with its inputs and resolves its
/// context globs against the repository.
struct Render<'a> {
    inputs: &'a BTreeMap<String, Value>,
    root: &'a Path,
}

impl Render<'_> {
    fn text(&self, field: String, text: &str) -> Result<String, PlanError> {
        template::render(text, self.inputs).map_err(|e| PlanError::Template {
            field,
            message: e.message,
        })
    }

    fn list(&self, field: &str, list: &[String]) -> Result<Vec<String>, PlanError> {
        list.iter()
            .enumerate()
            .map(|(i, c)| self.text(format!("{field}[{i}]"), c))
            .collect()
    }

    /// A list of globs rendered, each in its one spelling
    /// ([`crate::glob::normalize`]).
    fn globs(&self, field: &str, list: &[String]) -> Result<Vec<String>, PlanError> {
        Ok(self
            .list(field, list)?
            .iter()
            .map(|g| crate::glob::normalize(g))
            .collect())
    }

    /// Permissions with their globs rendered and checked.
    fn permissions(&self, prefix: &str, perms: &Permissions) -> Result<Permissions, PlanError> {
        let mut permissions = perms.clone();
        for (name, list) in [
            ("read", &mut permissions.read),
            ("write", &mut permissions.write),
            ("protect", &mut permissions.protect),
        ] {
            for (i, glob) in list.iter_mut().enumerate() {
                let field = format!("{prefix}permissions.{name}[{i}]");
                *glob = crate::glob::normalize(&self.text(field.clone(), glob)?);
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
    }

    /// A token budget: as written, or its template rendered, which must
    /// give a whole number, 1 or more.
    fn budget(&self, field: &str, budget: &crate::spec::TokenBudget) -> Result<u64, PlanError> {
        match budget {
            crate::spec::TokenBudget::Tokens(n) => Ok(*n),
            crate::spec::TokenBudget::Template(t) => {
                let text = self.text(field.to_string(), t)?;
                text.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| PlanError::Template {
                        field: field.to_string(),
                        message: format!(
                            "`{t}` gives `{text}`, not a token budget (a whole number, 1 or more)"
                        ),
                    })
            }
        }
    }

    /// `env` with its text values rendered.
    fn env(&self, prefix: &str, env: &Env) -> Result<Env, PlanError> {
        env.iter()
            .map(|(name, value)| {
                let value = match value {
                    crate::spec::EnvValue::Text(t) => {
                        crate::spec::EnvValue::Text(self.text(format!("{prefix}env.{name}"), t)?)
                    }
                    other => other.clone(),
                };
                Ok((name.clone(), value))
            })
            .collect()
    }

    /// `base` with the step's `env` (rendered) over it.
    fn step_env(&self, base: &Env, prefix: &str, own: &Env) -> Result<Env, PlanError> {
        let mut env = base.clone();
        env.extend(self.env(prefix, own)?);
        Ok(env)
    }

    /// The resolved context of a step that may read `read`, and the
    /// rendered include globs.
    fn context(
        &self,
        prefix: &str,
        ctx: &crate::spec::ContextSpec,
        read: &[String],
    ) -> Result<(Context, Vec<String>), PlanError> {
        let include = self.globs(&format!("{prefix}context.include"), &ctx.include)?;
        let exclude = self.globs(&format!("{prefix}context.exclude"), &ctx.exclude)?;
        let max_tokens = self.budget(&format!("{prefix}context.max_tokens"), &ctx.max_tokens)?;
        let context = context::resolve(self.root, &include, &exclude, read, max_tokens).map_err(
            |e| match e {
                ContextError::Missing(list) => PlanError::Missing(
                    list.into_iter()
                        .map(|m| Missing {
                            field: Some(format!("{prefix}context.include[{}]", m.index)),
                            message: m.to_string(),
                        })
                        .collect(),
                ),
                e => PlanError::Context(e),
            },
        )?;
        Ok((context, include))
    }
}

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
fn build(
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
