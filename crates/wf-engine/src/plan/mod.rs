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
//! Laid out: this module holds the plan's types and [`make`]; `planning`
//! plans a task file and its steps (recipes recursively), `render` renders
//! its templated fields with the inputs, `bound` applies a caller's bounds
//! to a recipe's steps, `fingerprint` hashes the plan.
//!
//! A run whose task file is outside its repository keeps what is needed to
//! make its plan again in its run folder ([`task_copy`]): resume, approve,
//! replay and report then work in the repository where it ran.

use crate::plan::widening::WideningExt;
mod bound;
mod fingerprint;
mod planning;
mod render;
pub mod task_copy;
pub mod widening;

use bound::bound;
pub use fingerprint::fingerprint;
use planning::build;

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
    /// `wf::app::trust`); recorded in `run_started`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox_approval: Option<widening::Approval>,
    /// `wf run --script FILE`: the script that replaced the task file's
    /// model (set by `wf::app::run`, recorded in `run_started`); not
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

pub use crate::record::wire::{McpTool, ScriptOverride};

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
    /// runs as the caller declares it (see [`bound()`]).
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
