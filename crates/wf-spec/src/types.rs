//! The task file, format version 1, as typed Rust structures.
//!
//! These types are the single source of the format: the JSON Schema in
//! `schemas/workflow.schema.json` is generated from them (see
//! [`crate::schema`]), and the loader validates a file against that
//! schema before deserializing it. Doc comments here become the schema's
//! descriptions, which editors show on hover.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The task-file format version this build of wf reads.
pub const FORMAT_VERSION: u64 = 1;

/// A wf task file: what the agent is asked to do, what it may see and do,
/// how success is proven, and where a human must say yes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "wf task file")]
pub struct Spec {
    /// Task-file format version. This wf reads version 1.
    #[schemars(range(min = 1, max = 1))]
    pub wf: u64,
    /// The workflow's name: lowercase letters, digits and dashes.
    #[schemars(regex(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$"), length(max = 64))]
    pub name: String,
    /// This recipe's own version (semver, e.g. 1.2.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"
    ))]
    pub version: Option<String>,
    /// One line on what the workflow does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Inputs given with `-i KEY=VALUE`, usable in templates as `{{ inputs.KEY }}`.
    #[serde(default)]
    pub inputs: BTreeMap<String, InputDecl>,
    /// Which model runs the task.
    pub model: ModelSpec,
    /// Files put in front of the model before its first turn.
    #[serde(default)]
    pub context: ContextSpec,
    /// Rules given to the model verbatim in its instructions. Templated.
    #[serde(default)]
    pub constraints: Vec<String>,
    /// Files of the repository whose text is given to every agent step of
    /// the task as standing rules (a team's `AGENTS.md`), after
    /// `constraints`. Paths relative to the repository root; each must exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub constraints_from: Vec<String>,
    /// The tools the model may call. Default: the read-only tools
    /// `read_file`, `list_files` and `search`.
    /// MCP tools are named `mcp__<server>__<tool>` (see `mcp`).
    #[serde(default = "default_tools")]
    pub tools: Vec<ToolRef>,
    /// What the tools may touch, enforced by the tool layer.
    #[serde(default)]
    pub permissions: Permissions,
    /// The task. Templated. Give one of `prompt`, `steps` or `uses`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub prompt: Option<String>,
    /// Run another task file (a shared recipe) as this whole workflow:
    /// `./path.yaml` (relative to this file, inside the repository) or
    /// `git+URL//PATH@REF` (a file in a git repository at a tag, branch or
    /// commit). Pinned by `wf lock` in `wf.lock`. The recipe gets at most
    /// this file's `tools` and `permissions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub uses: Option<String>,
    /// With `uses`: the recipe's inputs. String values are templates over
    /// this file's `inputs`.
    #[serde(default, rename = "with", skip_serializing_if = "BTreeMap::is_empty")]
    pub with_inputs: BTreeMap<String, serde_json::Value>,
    /// A multi-step workflow: agent steps (`prompt`), command steps (`run`)
    /// and recipe steps (`uses`), in order, in one workspace and one trace.
    /// Give one of `prompt`, `steps` or `uses`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// Commands that must pass once the model says it is done.
    #[serde(default)]
    pub checks: Vec<Check>,
    /// Variables set for every command the run starts (checks, command
    /// steps, `shell` calls) on top of the scrubbed environment: a value
    /// is text (templated with `inputs`) or `{ from_env: NAME }`, taken
    /// from wf's own environment when the command starts. A step's `env`
    /// is laid over this one; a recipe step's over the recipe's. Names
    /// starting with `WF_` are wf's own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, EnvValue>,
    /// Where a human approves.
    #[serde(default)]
    pub checkpoints: Checkpoints,
    /// Bounds on the run.
    #[serde(default)]
    pub limits: Limits,
    /// How the commands a run starts (checks, command steps, `shell`) are
    /// confined: `auto` (the default), `off`, or a mapping with extra
    /// `read`/`write` roots and `network`.
    #[serde(default, skip_serializing_if = "Sandbox::is_default")]
    #[schemars(with = "SandboxInput")]
    pub sandbox: Sandbox,
    /// MCP servers whose tools the model may call, by name (lowercase
    /// letters, digits and dashes). Only what is declared here is started:
    /// no MCP configuration of the user's machine is ever read. A tool is
    /// given to the model as `mcp__<server>__<tool>` when it is in the
    /// server's `tools` and in the task's `tools`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mcp: BTreeMap<String, McpServer>,
}

impl Spec {
    /// The `uses:` references of the file: the whole file's, then its steps'.
    pub fn recipe_references(&self) -> impl Iterator<Item = &String> {
        self.uses
            .iter()
            .chain(self.steps.iter().filter_map(|s| s.uses.as_ref()))
    }

    /// Whether the file uses recipes.
    pub fn uses_recipes(&self) -> bool {
        self.recipe_references().next().is_some()
    }
}

fn default_tools() -> Vec<ToolRef> {
    [ToolName::ReadFile, ToolName::ListFiles, ToolName::Search]
        .into_iter()
        .map(ToolRef::Builtin)
        .collect()
}

/// One step of a multi-step workflow: an agent step (`prompt`), a command
/// step (`run`) or a recipe step (`uses`). Unset keys of an agent step
/// inherit from the top level.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The step's id, used in templates as `steps.<id>`: letters, digits and
    /// underscores, starting with a letter.
    #[schemars(regex(pattern = r"^[A-Za-z][A-Za-z0-9_]*$"))]
    pub id: String,
    /// Run the step only when this expression is true (minijinja syntax over
    /// `inputs` and earlier `steps`, e.g. `steps.lint.exit_code != 0`).
    #[serde(default, rename = "if", skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Agent step: the task. Templated, with `inputs` and earlier `steps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub prompt: Option<String>,
    /// Command step: a command line run with `sh -c` in the workspace; its
    /// exit code and output become `steps.<id>.exit_code` and
    /// `steps.<id>.output`. It does not fail the run by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub run: Option<String>,
    /// Recipe step: run another task file's prompt or steps here, in this
    /// workspace: `./path.yaml` or `git+URL//PATH@REF`, pinned in `wf.lock`.
    /// The recipe gets at most this step's `tools` and `permissions` (by
    /// default the top level's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub uses: Option<String>,
    /// Recipe step: the recipe's inputs. String values are templates over
    /// this file's `inputs`.
    #[serde(default, rename = "with", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub with_inputs: Option<BTreeMap<String, serde_json::Value>>,
    /// Command step: how long it may run. Default 10m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Duration")]
    pub timeout: Option<Duration>,
    /// Variables for this step's commands (its checks, its `shell` calls,
    /// its command; for a recipe step, every command of the recipe), laid
    /// over the task's `env`. Values as in the task's `env`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, EnvValue>,
    /// Agent step: a JSON Schema its final answer must satisfy (as JSON);
    /// the parsed answer becomes `steps.<id>.output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<serde_json::Value>,
    /// Agent step: files put in front of the model (default: the top level's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "ContextSpec")]
    pub context: Option<ContextSpec>,
    /// Agent step: rules for this step (default: the top level's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Vec<String>>,
    /// Agent step: tools (default: the top level's). Recipe step: the most
    /// the recipe may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ToolRef>>,
    /// Agent step: MCP servers (default: the top level's `mcp`); replaces
    /// the top level's servers as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "BTreeMap<String, McpServer>")]
    pub mcp: Option<BTreeMap<String, McpServer>>,
    /// Agent step: permissions (default: the top level's). Recipe step: the
    /// most the recipe may have; its own are intersected with these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Permissions")]
    pub permissions: Option<Permissions>,
    /// Agent step: checks run when it is done (default: the top level's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<Check>>,
    /// Agent or recipe step: its own checkpoints (a plan before it edits;
    /// approval of the changes so far once it is done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "StepCheckpoints")]
    pub checkpoints: Option<StepCheckpoints>,
    /// Agent or recipe step: bounds on this step, within the run's `limits`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "StepLimits")]
    pub limits: Option<StepLimits>,
    /// Agent or recipe step: another model of the run's provider for this
    /// step (unset keys: the top level's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "StepModel")]
    pub model: Option<StepModel>,
    /// This step's commands may use the network (`sandbox: { network: true
    /// }`), or may not, whatever the task's `sandbox.network` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "StepSandbox")]
    pub sandbox: Option<StepSandbox>,
}

/// A step's checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepCheckpoints {
    /// The model states a plan for this step, approved before it edits
    /// (default: the top level's `checkpoints.plan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<bool>,
    /// Once the step is done, a human approves the changes so far before the
    /// next step runs. Nothing is applied to the user's tree until the end.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub apply: bool,
}

/// Bounds on one step; the run's `limits` still apply.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepLimits {
    /// Model requests in this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_turns: Option<u32>,
    /// Rounds of "checks failed, fix it" in this step (default: the run's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_repairs: Option<u32>,
    /// Spending cap for this step in US dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub max_cost_usd: Option<f64>,
    /// Wall-clock cap on this step (e.g. `5m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Duration")]
    pub timeout: Option<Duration>,
}

/// A step's model: the run's provider, another model or other settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepModel {
    /// The model name as the run's provider knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Cap on each answer's output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 2.0))]
    pub temperature: Option<f64>,
    /// Prices in USD per million tokens for this model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "PriceInput")]
    pub price: Option<Price>,
}

impl StepModel {
    /// `base` with this step's settings over it. A new model name drops
    /// the base's price (it was the other model's).
    pub fn over(&self, base: &ModelSpec) -> ModelSpec {
        let mut m = base.clone();
        if let Some(name) = &self.name
            && Some(name) != base.name.as_ref()
        {
            m.name = Some(name.clone());
            m.price = None;
        }
        if let Some(t) = self.max_tokens {
            m.max_tokens = t;
        }
        if self.temperature.is_some() {
            m.temperature = self.temperature;
        }
        if self.price.is_some() {
            m.price = self.price;
        }
        m
    }
}

/// A declared input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputDecl {
    /// The input's type; values given on the command line are converted to it.
    #[serde(rename = "type")]
    pub kind: InputType,
    /// The value used when none is given. Without a default the input is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// The allowed values of an `enum` input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// What the input is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The type of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InputType {
    /// Any text.
    String,
    /// A whole number.
    Integer,
    /// A number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A path relative to the repository root that stays inside it.
    Path,
    /// One of the strings listed in `values`.
    Enum,
}

impl InputType {
    /// The name used in the task file.
    pub fn as_str(self) -> &'static str {
        match self {
            InputType::String => "string",
            InputType::Integer => "integer",
            InputType::Number => "number",
            InputType::Boolean => "boolean",
            InputType::Path => "path",
            InputType::Enum => "enum",
        }
    }
}

/// The model and how it is called.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Which backend: `anthropic`, `openai` (any OpenAI-compatible server) or
    /// `script` (recorded turns, offline).
    pub provider: ProviderName,
    /// The model name as the provider knows it. Optional for `script`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Cap on each answer's output tokens.
    #[serde(default = "default_max_tokens")]
    #[schemars(range(min = 1))]
    pub max_tokens: u32,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 2.0))]
    pub temperature: Option<f64>,
    /// `provider: script` only: the file of model turns, relative to this task file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// Prices in USD per million tokens, overriding wf's table (needed for
    /// cost tracking of models the table does not know).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "PriceInput")]
    pub price: Option<Price>,
    /// Serve requests already answered from the local response cache
    /// (in the user's cache directory), as `wf run --cache` does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cache: bool,
    /// HTTP providers: attempts per request, retries included. Default 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 20))]
    pub max_attempts: Option<u32>,
    /// HTTP providers: other models of the same provider, tried in order
    /// when this one is still overloaded (HTTP 529 or 503, an `overloaded`
    /// error) after its attempts; the agent step keeps the model it fell
    /// back to. Each is priced as itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8), inner(length(min = 1)))]
    pub fallback: Vec<String>,
}

fn default_max_tokens() -> u32 {
    8192
}

/// A model backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderName {
    /// The Anthropic Messages API.
    Anthropic,
    /// Any server speaking OpenAI Chat Completions.
    Openai,
    /// A file of scripted turns (offline; for trying and testing workflows).
    Script,
}

impl ProviderName {
    /// Every provider, in a fixed order.
    pub const ALL: [ProviderName; 3] = [
        ProviderName::Anthropic,
        ProviderName::Openai,
        ProviderName::Script,
    ];

    /// The name the task file and `--provider` use.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderName::Anthropic => "anthropic",
            ProviderName::Openai => "openai",
            ProviderName::Script => "script",
        }
    }

    /// The provider with this name.
    pub fn from_name(name: &str) -> Option<ProviderName> {
        ProviderName::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// Files put in front of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextSpec {
    /// Globs of files to include, relative to the repository root. Templated.
    #[serde(default)]
    pub include: Vec<String>,
    /// Globs of files to leave out. Templated.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Token budget for the context files (estimated as bytes / 4): a
    /// number, or a template of the inputs that renders to one.
    #[serde(default = "default_context_tokens")]
    pub max_tokens: TokenBudget,
}

fn default_context_tokens() -> TokenBudget {
    TokenBudget::Tokens(60_000)
}

/// A token budget as a task file writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TokenBudget {
    /// A number of tokens, 1 or more.
    Tokens(#[schemars(range(min = 1))] u64),
    /// A template of the inputs (`"{{ inputs.budget }}"`), rendered when
    /// the run is planned; it must give a whole number, 1 or more — so a
    /// recipe can take its budget as an input.
    Template(#[schemars(regex(pattern = r"\{\{|\{%"))] String),
}

// Written out so that leaving `context:` out means the same as `context: {}`.
impl Default for ContextSpec {
    fn default() -> Self {
        ContextSpec {
            include: Vec::new(),
            exclude: Vec::new(),
            max_tokens: default_context_tokens(),
        }
    }
}

/// A tool the model may call.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ToolName {
    /// Read a file, optionally a range of lines.
    ReadFile,
    /// List files under a directory (gitignore respected).
    ListFiles,
    /// Search file contents with a regex.
    Search,
    /// Replace one exact occurrence of a string in a file.
    EditFile,
    /// Create or replace a whole file.
    WriteFile,
    /// Run an allowed command line, without a shell interpreter.
    Shell,
}

impl ToolName {
    /// Every tool, in a fixed order.
    pub const ALL: [ToolName; 6] = [
        ToolName::ReadFile,
        ToolName::ListFiles,
        ToolName::Search,
        ToolName::EditFile,
        ToolName::WriteFile,
        ToolName::Shell,
    ];

    /// The name the model and the task file use.
    pub fn as_str(self) -> &'static str {
        match self {
            ToolName::ReadFile => "read_file",
            ToolName::ListFiles => "list_files",
            ToolName::Search => "search",
            ToolName::EditFile => "edit_file",
            ToolName::WriteFile => "write_file",
            ToolName::Shell => "shell",
        }
    }

    /// The tool with this name.
    pub fn from_name(name: &str) -> Option<ToolName> {
        ToolName::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether the tool changes files.
    pub fn writes(self) -> bool {
        matches!(self, ToolName::EditFile | ToolName::WriteFile)
    }
}

/// The prefix of the names MCP tools are given to the model under.
pub const MCP_TOOL_PREFIX: &str = "mcp__";

/// The pattern of an MCP tool's name in `tools:`: `mcp__<server>__<tool>`.
/// Server names have no underscores, so the first `__` after the prefix
/// splits the two; the whole name fits both providers' tool-name rule
/// (`^[a-zA-Z0-9_-]{1,64}$`).
pub const MCP_TOOL_PATTERN: &str = r"^mcp__[a-z0-9]+(-[a-z0-9]+)*__[A-Za-z0-9_-]+$";

/// The pattern of an MCP server's name.
pub const MCP_SERVER_PATTERN: &str = r"^[a-z0-9]+(-[a-z0-9]+)*$";

/// The longest tool name both providers accept.
pub const MAX_TOOL_NAME: usize = 64;

/// A tool named in `tools:`: built in, or a tool of a declared MCP server.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ToolRef {
    /// One of wf's own tools.
    Builtin(ToolName),
    /// `mcp__<server>__<tool>`: the tool `tool` of the server `server`.
    Mcp {
        /// The server's name under `mcp:`.
        server: String,
        /// The tool's name as the server lists it.
        tool: String,
    },
}

impl ToolRef {
    /// The name the model and the task file use.
    pub fn name(&self) -> String {
        match self {
            ToolRef::Builtin(t) => t.as_str().to_string(),
            ToolRef::Mcp { server, tool } => mcp_tool_name(server, tool),
        }
    }

    /// The tool named `name`: a built-in tool, or `mcp__<server>__<tool>`
    /// with a valid server name and a non-empty tool name.
    pub fn parse(name: &str) -> Option<ToolRef> {
        if let Some(t) = ToolName::from_name(name) {
            return Some(ToolRef::Builtin(t));
        }
        let rest = name.strip_prefix(MCP_TOOL_PREFIX)?;
        let (server, tool) = rest.split_once("__")?;
        let server_ok = !server.is_empty()
            && !server.starts_with('-')
            && !server.ends_with('-')
            && !server.contains("--")
            && server
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let tool_ok = !tool.is_empty()
            && tool
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        (server_ok && tool_ok).then(|| ToolRef::Mcp {
            server: server.to_string(),
            tool: tool.to_string(),
        })
    }

    /// The built-in tool, if it is one.
    pub fn builtin(&self) -> Option<ToolName> {
        match self {
            ToolRef::Builtin(t) => Some(*t),
            ToolRef::Mcp { .. } => None,
        }
    }
}

/// The name an MCP server's tool is given to the model under.
pub fn mcp_tool_name(server: &str, tool: &str) -> String {
    format!("{MCP_TOOL_PREFIX}{server}__{tool}")
}

impl From<ToolName> for ToolRef {
    fn from(t: ToolName) -> ToolRef {
        ToolRef::Builtin(t)
    }
}

impl Serialize for ToolRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for ToolRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ToolRef::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown tool `{text}`; expected a built-in tool or mcp__<server>__<tool>"
            ))
        })
    }
}

impl JsonSchema for ToolRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ToolRef".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // The built-in tools' documented constants, then the MCP pattern
        // (the loader's "did you mean" reads the constants).
        let builtin = ToolName::json_schema(generator);
        let mut alternatives = builtin
            .get("oneOf")
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default();
        alternatives.push(serde_json::json!({
            "type": "string",
            "pattern": MCP_TOOL_PATTERN,
            "maxLength": MAX_TOOL_NAME,
            "description": "A tool of a server declared under `mcp`: mcp__<server>__<tool>."
        }));
        schemars::json_schema!({
            "description": "A tool the model may call: a built-in tool or mcp__<server>__<tool>.",
            "oneOf": alternatives
        })
    }
}

/// An MCP server the run starts, and what of it the model may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McpServer {
    /// How it starts, over stdio: the program and its arguments (no shell),
    /// run confined in the workspace like any command of the run. A package
    /// runner must name an exact version (`[npx, -y,
    /// "@modelcontextprotocol/server-filesystem@2026.8.31", "."]`);
    /// otherwise a local program or script (`[node, tools/server.js]`).
    /// Exactly one of `command` and `url`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// A remote server over streamable HTTP (`https://…/mcp`): wf posts
    /// JSON-RPC to it from its own process; the sandbox does not apply.
    /// Exactly one of `command` and `url`. Recorded in the trace: keep
    /// secrets in `headers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// For a `url` server: HTTP headers sent with every request, each
    /// taken whole from a variable of wf's environment
    /// (`{ Authorization: ISSUES_AUTH }` sends `$ISSUES_AUTH`). Values are
    /// never written to the trace.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Names of variables of wf's environment the server receives (on top
    /// of the scrubbed environment every command gets). Their values are
    /// never written to the trace. Only with `command`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// The server's tools the model may call (its allowlist). Each must be
    /// offered by the server: one that is not is an error before the first
    /// model request. Tools not listed are never shown to the model.
    #[schemars(length(min = 1))]
    pub tools: Vec<String>,
    /// How long start-up (`initialize` and `tools/list`) may take. Default 30s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Duration")]
    pub startup_timeout: Option<Duration>,
    /// How long one tool call may take; past it the server is stopped and
    /// the model gets a tool error. Default 60s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Duration")]
    pub call_timeout: Option<Duration>,
}

/// Why `url` cannot be an MCP server's address: it must be an absolute
/// `http://` or `https://` URL with a host.
pub fn check_mcp_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("`{url}` is not an http:// or https:// URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(format!("`{url}` is not a URL with a host"));
    }
    // Headers may carry keys: plain HTTP only to this machine.
    let name = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let name = match name.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => name.split(':').next().unwrap_or(""),
    };
    let loopback = name == "localhost"
        || name == "::1"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if url.starts_with("http://") && !loopback {
        return Err(format!(
            "`{url}` is plain HTTP to another machine: the server's headers (keys) would cross the network unencrypted; use https://"
        ));
    }
    Ok(())
}

/// Programs that fetch and run a package: their package must name an
/// exact version.
const PACKAGE_RUNNERS: &[&str] = &["npx", "pnpx", "bunx", "uvx", "pipx"];

impl McpServer {
    /// Whether `other` is the same server but for the variables it gets
    /// (`env`, `headers`): what a recipe may declare under its caller's
    /// server's name.
    pub fn same_server(&self, other: &McpServer) -> bool {
        let strip = |s: &McpServer| McpServer {
            env: Vec::new(),
            headers: BTreeMap::new(),
            ..s.clone()
        };
        strip(self) == strip(other)
    }

    /// What `wf lock` pins: the package a runner (`npx`, `uvx`, …) starts,
    /// with its exact version (`@scope/name@1.2.3`, `name==1.2.3`), the
    /// command itself for a local program, or the URL of a remote server. An error names a package
    /// without an exact version.
    pub fn package(&self) -> Result<String, String> {
        if let Some(url) = &self.url {
            return Ok(url.clone());
        }
        let program = self.command.first().map(String::as_str).unwrap_or("");
        let base = program.rsplit('/').next().unwrap_or(program);
        if !PACKAGE_RUNNERS.contains(&base) {
            return Ok(self.command.join(" "));
        }
        let Some(package) = self
            .command
            .iter()
            .skip(1)
            .find(|a| !a.starts_with('-') && *a != "run")
        else {
            return Err(format!("`{base}` is given no package to run"));
        };
        // The version separator: the last `@` after the first character
        // (npm scopes start with `@`), or `==` for Python packages.
        let version = match package.split_once("==") {
            Some((_, v)) => Some(v),
            None => package[1..].rfind('@').map(|i| &package[i + 2..]),
        };
        let exact = version.is_some_and(|v| {
            let core = v.split(['-', '+']).next().unwrap_or("");
            let parts: Vec<&str> = core.split('.').collect();
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        });
        if exact {
            Ok(package.clone())
        } else {
            Err(format!(
                "the package `{package}` is not pinned to an exact version (write e.g. `{}@1.2.3`)",
                package.trim_end_matches("@latest")
            ))
        }
    }
}

/// What the tools may touch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    /// Globs the read tools may read. Default: everything (`**`).
    /// Permission globs may use templates (`{{ inputs.path }}/**`).
    #[serde(default = "default_read")]
    pub read: Vec<String>,
    /// Globs the write tools may write. Default: nothing.
    #[serde(default)]
    pub write: Vec<String>,
    /// Globs never writable, whatever `write` says. `.git/` and `.wf/` always are.
    #[serde(default)]
    pub protect: Vec<String>,
    /// Command lines the `shell` tool may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "ShellPermissions")]
    pub shell: Option<ShellPermissions>,
}

impl Default for Permissions {
    fn default() -> Self {
        Permissions {
            read: default_read(),
            write: Vec::new(),
            protect: Vec::new(),
            shell: None,
        }
    }
}

fn default_read() -> Vec<String> {
    vec!["**".to_string()]
}

/// The `shell` tool's allowlist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShellPermissions {
    /// Allowed command lines, matched word by word against the parsed
    /// command: a word matches itself, `*` and `?` inside a word are
    /// wildcards for one argument, and a final lone `*` matches any number
    /// of further arguments.
    #[serde(default)]
    pub allow: Vec<String>,
    /// How long one command may run (e.g. `30s`, `2m`). Default 2m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Duration")]
    pub timeout: Option<Duration>,
}

/// A command that must pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// A short unique name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// The command line, run with `sh -c` in the run's workspace.
    #[schemars(length(min = 1))]
    pub run: String,
    /// How long it may run (e.g. `10m`). Default 10m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Duration")]
    pub timeout: Option<Duration>,
}

/// The value of a variable in `env`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "EnvValueInput", untagged)]
pub enum EnvValue {
    /// Text, templated with `inputs` (numbers and booleans as written).
    Text(String),
    /// The value of a variable of wf's own environment, read when the
    /// command starts; never written to the trace or shown by `wf plan`.
    FromEnv {
        /// The variable's name in wf's environment.
        from_env: String,
    },
}

/// An `env` value as written: text, a number, a boolean, or `{ from_env:
/// NAME }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvValueInput {
    /// Text, templated with `inputs`.
    Text(String),
    /// A number, as written.
    Number(serde_json::Number),
    /// `true` or `false`.
    Bool(bool),
    /// `{ from_env: NAME }`: the value of wf's own variable `NAME`.
    FromEnv(FromEnv),
}

/// `{ from_env: NAME }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FromEnv {
    /// A variable of wf's own environment: its value is passed as it is
    /// (never templated, never recorded).
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub from_env: String,
}

impl From<EnvValueInput> for EnvValue {
    fn from(input: EnvValueInput) -> EnvValue {
        match input {
            EnvValueInput::Text(t) => EnvValue::Text(t),
            EnvValueInput::Number(n) => EnvValue::Text(n.to_string()),
            EnvValueInput::Bool(b) => EnvValue::Text(b.to_string()),
            EnvValueInput::FromEnv(f) => EnvValue::FromEnv {
                from_env: f.from_env,
            },
        }
    }
}

impl JsonSchema for EnvValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EnvValue".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        EnvValueInput::json_schema(generator)
    }
}

/// Where a human approves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Checkpoints {
    /// The model first states a plan; a human approves it before any edit.
    #[serde(default)]
    pub plan: bool,
    /// The final diff is approved before it touches the user's tree.
    #[serde(default = "yes")]
    pub apply: bool,
}

impl Default for Checkpoints {
    fn default() -> Self {
        Checkpoints {
            plan: false,
            apply: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// Bounds on the run; reaching one ends it with a status that names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Model requests in the whole run.
    #[serde(default = "default_max_turns")]
    #[schemars(range(min = 1))]
    pub max_turns: u32,
    /// Rounds of "checks failed, fix it".
    #[serde(default = "default_max_repairs")]
    pub max_repairs: u32,
    /// Spending cap in US dollars, from real usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub max_cost_usd: Option<f64>,
    /// Wall-clock cap on the whole run (e.g. `30m`). Default 30m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Duration")]
    pub timeout: Option<Duration>,
    /// Tool calls run from one model answer. Calls beyond it are not run:
    /// each gets a tool error naming this key, and the run goes on.
    #[serde(default = "default_max_tool_calls_per_turn")]
    #[schemars(range(min = 1))]
    pub max_tool_calls_per_turn: u32,
    /// Bytes `write_file` and `edit_file` may write over the whole run
    /// (each call counts the size of the file it writes). A call that
    /// would pass it is refused with a tool error naming this key.
    /// Default 64 MiB.
    #[serde(default = "default_max_write_bytes")]
    #[schemars(range(min = 1))]
    pub max_write_bytes: u64,
    /// Bytes of the run's change (its `diff.patch`), whatever wrote it: a
    /// change over it ends the run with an error naming the largest files,
    /// nothing applied. Measured on the changed files' sizes before the
    /// patch is made. Default 10 MiB.
    #[serde(default = "default_max_diff_bytes")]
    #[schemars(range(min = 1))]
    pub max_diff_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_turns: default_max_turns(),
            max_repairs: default_max_repairs(),
            max_cost_usd: None,
            timeout: None,
            max_tool_calls_per_turn: default_max_tool_calls_per_turn(),
            max_write_bytes: default_max_write_bytes(),
            max_diff_bytes: default_max_diff_bytes(),
        }
    }
}

/// The default of `limits.max_tool_calls_per_turn`.
pub const DEFAULT_MAX_TOOL_CALLS_PER_TURN: u32 = 32;
/// The default of `limits.max_write_bytes`: 64 MiB.
pub const DEFAULT_MAX_WRITE_BYTES: u64 = 64 * 1024 * 1024;

fn default_max_tool_calls_per_turn() -> u32 {
    DEFAULT_MAX_TOOL_CALLS_PER_TURN
}

fn default_max_write_bytes() -> u64 {
    DEFAULT_MAX_WRITE_BYTES
}

/// The default of `limits.max_diff_bytes`: 10 MiB.
pub const DEFAULT_MAX_DIFF_BYTES: u64 = 10 * 1024 * 1024;

fn default_max_diff_bytes() -> u64 {
    DEFAULT_MAX_DIFF_BYTES
}

fn default_max_turns() -> u32 {
    40
}

fn default_max_repairs() -> u32 {
    3
}

/// A duration written as a number and a unit: `500ms`, `30s`, `2m`, `1h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    /// Parses `500ms`, `30s`, `2m` or `1h`.
    pub fn parse(text: &str) -> Option<Duration> {
        let split = text.find(|c: char| !c.is_ascii_digit())?;
        let (num, unit) = text.split_at(split);
        let n: u64 = num.parse().ok()?;
        let millis = match unit {
            "ms" => Some(n),
            "s" => n.checked_mul(1_000),
            "m" => n.checked_mul(60_000),
            "h" => n.checked_mul(3_600_000),
            _ => None,
        }?;
        Some(Duration(std::time::Duration::from_millis(millis)))
    }

    /// The canonical text: the largest unit that divides it.
    pub fn to_text(self) -> String {
        let ms = self.0.as_millis();
        if ms.is_multiple_of(3_600_000) && ms > 0 {
            format!("{}h", ms / 3_600_000)
        } else if ms.is_multiple_of(60_000) && ms > 0 {
            format!("{}m", ms / 60_000)
        } else if ms.is_multiple_of(1_000) {
            format!("{}s", ms / 1_000)
        } else {
            format!("{ms}ms")
        }
    }
}

/// The pattern durations match in the schema.
pub const DURATION_PATTERN: &str = r"^[0-9]+(ms|s|m|h)$";

impl Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_text())
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Duration::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a duration; write a number and a unit: 500ms, 30s, 2m, 1h"
            ))
        })
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A number and a unit: 500ms, 30s, 2m, 1h."
        })
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn cache_prices_default_to_the_highest_any_vendor_charges() {
        let load = |price: &str| {
            let text = format!(
                "wf: 1\nname: p\nmodel: {{ provider: openai, name: m, price: {price} }}\nprompt: hi\n"
            );
            crate::load_bytes(std::path::Path::new("p.yaml"), text.as_bytes())
                .unwrap_or_else(|e| panic!("{price}: {e}"))
                .spec
                .model
                .price
                .unwrap()
        };
        let free = load("{ input: 0, output: 0 }");
        assert_eq!((free.cache_write, free.cache_read), (0.0, 0.0));
        let priced = load("{ input: 2, output: 8 }");
        assert_eq!((priced.cache_write, priced.cache_read), (2.5, 2.0));
        let set = load("{ input: 2, output: 8, cache_write: 2, cache_read: 0.5 }");
        assert_eq!((set.cache_write, set.cache_read), (2.0, 0.5));
        // A price written out (a plan, a trace) reads back the same.
        let back: Price = serde_json::from_value(serde_json::to_value(set).unwrap()).unwrap();
        assert_eq!(back, set);
    }

    #[test]
    fn plain_http_mcp_urls_are_for_this_machine_only() {
        for ok in [
            "https://mcp.example.com/mcp",
            "http://127.0.0.1:8080/mcp",
            "http://localhost/mcp",
            "http://[::1]:9/mcp",
            "http://127.1.2.3/x",
        ] {
            assert_eq!(check_mcp_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://mcp.example.com/mcp",
            "http://10.0.0.1:8080/mcp",
            "http://localhost.evil.example/mcp",
            "http://127.0.0.1.evil.example/mcp",
            "http://user@evil.example/mcp",
        ] {
            let err = check_mcp_url(bad).unwrap_err();
            assert!(err.contains("plain HTTP"), "{bad}: {err}");
        }
    }

    use super::*;

    #[test]
    fn a_context_budget_is_a_number_or_a_template() {
        let load = |budget: &str| {
            let text = format!(
                "wf: 1\nname: b\ninputs: {{ n: {{ type: integer, default: 9 }} }}\nmodel: {{ provider: openai, name: m }}\ncontext: {{ max_tokens: {budget} }}\nprompt: hi\n"
            );
            crate::load_bytes(std::path::Path::new("b.yaml"), text.as_bytes())
                .map(|l| l.spec.context.max_tokens)
                .map_err(|e| e.to_string())
        };
        assert_eq!(load("5000"), Ok(TokenBudget::Tokens(5000)));
        assert_eq!(
            load("\"{{ inputs.n }}\""),
            Ok(TokenBudget::Template("{{ inputs.n }}".into()))
        );
        // Zero, text that is no template, and an undeclared input are refused
        // when the file is loaded, each located.
        for bad in ["0", "lots", "\"{{ inputs.m }}\""] {
            let err = load(bad).unwrap_err();
            assert!(err.contains("b.yaml:5:"), "{bad}: {err}");
        }
        // Left out, it is the default.
        assert_eq!(
            ContextSpec::default().max_tokens,
            TokenBudget::Tokens(60_000)
        );
    }

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(Duration::parse("2m").unwrap().0.as_secs(), 120);
        assert_eq!(Duration::parse("500ms").unwrap().0.as_millis(), 500);
        assert_eq!(Duration::parse("90s").unwrap().to_text(), "90s");
        assert_eq!(Duration::parse("120s").unwrap().to_text(), "2m");
        assert!(Duration::parse("2 m").is_none());
        assert!(Duration::parse("m").is_none());
        assert!(Duration::parse("99999999999999999999h").is_none());
    }

    #[test]
    fn tool_names_round_trip() {
        for t in ToolName::ALL {
            assert_eq!(ToolName::from_name(t.as_str()), Some(t));
        }
    }
}

/// A model's prices in USD per million tokens.
///
/// In a task file only `input` and `output` are required
/// ([`PriceInput`]): an unset `cache_read` is the input price and an unset
/// `cache_write` 1.25 × the input price, the highest each is at any vendor
/// of wf's price table (no vendor charges more for a cache read than for
/// an uncached token; Anthropic's five-minute cache writes cost 1.25 ×
/// input, OpenAI's nothing extra). So a cost cap never counts low for a
/// model priced only by its input and output, and `price: { input: 0,
/// output: 0 }` prices a free local model.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(from = "PriceInput")]
pub struct Price {
    /// Uncached input tokens.
    pub input: f64,
    /// Output tokens.
    pub output: f64,
    /// Input tokens written to the prompt cache.
    pub cache_write: f64,
    /// Input tokens read from the prompt cache.
    pub cache_read: f64,
}

/// The cache-write price of a model priced only by its input (see
/// [`Price`]).
pub const CACHE_WRITE_FACTOR: f64 = 1.25;

/// `model.price` as written in a task file.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    /// Uncached input tokens.
    pub input: f64,
    /// Output tokens.
    pub output: f64,
    /// Input tokens written to the prompt cache (default: 1.25 × `input`).
    #[serde(default)]
    pub cache_write: Option<f64>,
    /// Input tokens read from the prompt cache (default: `input`).
    #[serde(default)]
    pub cache_read: Option<f64>,
}

impl From<PriceInput> for Price {
    fn from(p: PriceInput) -> Price {
        Price {
            input: p.input,
            output: p.output,
            cache_write: p.cache_write.unwrap_or(p.input * CACHE_WRITE_FACTOR),
            cache_read: p.cache_read.unwrap_or(p.input),
        }
    }
}

/// A step's own sandbox setting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepSandbox {
    /// The step's commands (its checks, its `shell` calls, its command) may
    /// open network connections (`true`), may not (`false`), or may reach
    /// the hosts of a list through wf's proxy; a list narrows the task's
    /// list. In a recipe, only what the step using the recipe allows too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<NetworkInput>")]
    pub network: Option<Network>,
}

/// `sandbox.network`: no network (`false`, the default), all of it
/// (`true`), or only the hosts of a list, through wf's proxy (see
/// [`crate::sandbox::proxy`] and [`crate::sandbox::hosts`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "NetworkInput", into = "NetworkInput")]
pub enum Network {
    /// Loopback only (at the `full` level, a loopback of its own).
    #[default]
    Off,
    /// The whole network.
    All,
    /// These hosts (normalized entries, sorted), through wf's proxy.
    Hosts(Vec<String>),
}

/// `sandbox.network` as written.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum NetworkInput {
    /// `true`: the whole network; `false`: none.
    Flag(bool),
    /// Host names (`pypi.org`), subdomain wildcards (`*.npmjs.org`) or IP
    /// addresses commands may reach, through wf's proxy, on any port.
    Hosts(Vec<String>),
}

impl From<NetworkInput> for Network {
    fn from(input: NetworkInput) -> Network {
        match input {
            NetworkInput::Flag(true) => Network::All,
            NetworkInput::Flag(false) => Network::Off,
            NetworkInput::Hosts(list) if list.is_empty() => Network::Off,
            // Entries that are not hosts are kept as written: loading
            // reports them with their place (`spec::semantic`).
            NetworkInput::Hosts(list) => {
                Network::Hosts(crate::sandbox::hosts::normalize_all(&list).unwrap_or(list))
            }
        }
    }
}

impl From<Network> for NetworkInput {
    fn from(network: Network) -> NetworkInput {
        match network {
            Network::Off => NetworkInput::Flag(false),
            Network::All => NetworkInput::Flag(true),
            Network::Hosts(list) => NetworkInput::Hosts(list),
        }
    }
}

impl Network {
    /// The whole network.
    pub fn is_all(&self) -> bool {
        *self == Network::All
    }

    /// The hosts of a list (empty for `true` and `false`).
    pub fn hosts(&self) -> &[String] {
        match self {
            Network::Hosts(list) => list,
            _ => &[],
        }
    }

    /// What both allow: `self` within `bound`.
    pub fn narrowed_by(&self, bound: &Network) -> Network {
        match (self, bound) {
            (_, Network::Off) | (Network::Off, _) => Network::Off,
            (x, Network::All) => x.clone(),
            (Network::All, b) => b.clone(),
            (Network::Hosts(a), Network::Hosts(b)) => {
                let both = crate::sandbox::hosts::intersect(a, b);
                if both.is_empty() {
                    Network::Off
                } else {
                    Network::Hosts(both)
                }
            }
        }
    }

    /// What `self` asks for that `bound` does not give, for people: empty
    /// when it is within.
    pub fn beyond(&self, bound: &Network) -> Vec<String> {
        match (self, bound) {
            (Network::Off, _) | (_, Network::All) => Vec::new(),
            (Network::All, _) => vec!["the whole network".into()],
            (Network::Hosts(a), Network::Off) => a.clone(),
            (Network::Hosts(a), Network::Hosts(b)) => crate::sandbox::hosts::not_within(a, b),
        }
    }

    /// The network of a step whose own setting is `own`, in a task whose
    /// setting is `task`: a step's list narrows a task's list; `true` and
    /// `false` are the step's whatever the task says.
    pub fn for_step(own: Option<&Network>, task: &Network) -> Option<Network> {
        match (own, task) {
            (Some(list @ Network::Hosts(_)), Network::Hosts(_)) => Some(list.narrowed_by(task)),
            (own, _) => own.cloned(),
        }
    }

    /// How it is shown: `off`, `allowed`, or `only a, b (through wf's proxy)`.
    pub fn describe(&self) -> String {
        match self {
            Network::Off => "off".into(),
            Network::All => "allowed".into(),
            Network::Hosts(list) => format!("only {} (through wf's proxy)", list.join(", ")),
        }
    }
}

/// Whether commands are confined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SandboxMode {
    /// Confine every command; refuse to run where this machine cannot.
    #[default]
    Auto,
    /// Run commands unconfined, as the user (recorded and shown).
    Off,
}

impl SandboxMode {
    /// The name in task files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxMode::Auto => "auto",
            SandboxMode::Off => "off",
        }
    }
}

/// The confinement of the commands a run starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SandboxInput")]
pub struct Sandbox {
    /// `auto` or `off`.
    pub mode: SandboxMode,
    /// Extra directories commands may read (absolute or `~/…`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<String>,
    /// Extra directories commands may write (absolute or `~/…`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub write: Vec<String>,
    /// Commands may use the network: all of it, none, or a list of hosts.
    #[serde(default)]
    pub network: Network,
    /// The weakest confinement level the task accepts (`full`: refuse to
    /// run where namespaces are unavailable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require: Option<SandboxLevel>,
}

/// A confinement level a task can require (see `wf doctor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SandboxLevel {
    /// Landlock and seccomp, without namespaces (any machine wf confines on).
    Landlock,
    /// Namespaces and a minimal view on top.
    Full,
}

impl SandboxLevel {
    /// The name in task files: `full` or `landlock`.
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxLevel::Landlock => "landlock",
            SandboxLevel::Full => "full",
        }
    }
}

impl Sandbox {
    /// The default: `auto`, nothing extra, no network.
    pub fn is_default(&self) -> bool {
        *self == Sandbox::default()
    }
}

/// `sandbox:` as written: `auto`, `off`, or the mapping.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SandboxInput {
    /// `sandbox: auto` or `sandbox: off`.
    Mode(SandboxMode),
    /// `sandbox: { mode, read, write, network }`.
    Settings(SandboxSettings),
}

/// The mapping form of `sandbox:`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxSettings {
    /// `auto` (default): confine every command; `off`: run them unconfined.
    #[serde(default)]
    pub mode: SandboxMode,
    /// Extra directories commands may read and execute: absolute paths or
    /// `~/…` (for example a toolchain outside the default read set).
    #[serde(default)]
    pub read: Vec<String>,
    /// Extra directories commands may write: absolute paths or `~/…` (for
    /// example a shared build cache).
    #[serde(default)]
    pub write: Vec<String>,
    /// Commands may open network connections: `true` (all of it),
    /// `false` (the default: loopback only, inside their own network
    /// namespace), or a list of hosts (`[pypi.org, "*.npmjs.org"]`) they
    /// reach through wf's proxy, and nothing else.
    #[serde(default)]
    #[schemars(with = "NetworkInput")]
    pub network: Network,
    /// The weakest confinement level this task accepts: `full` refuses to
    /// run on a machine without user namespaces (wf then confines with
    /// Landlock and seccomp only; `wf doctor` lists what that level
    /// guarantees). Default: whatever the machine gives.
    #[serde(default)]
    pub require: Option<SandboxLevel>,
}

impl From<SandboxInput> for Sandbox {
    fn from(input: SandboxInput) -> Sandbox {
        match input {
            SandboxInput::Mode(mode) => Sandbox {
                mode,
                ..Sandbox::default()
            },
            SandboxInput::Settings(s) => Sandbox {
                mode: s.mode,
                read: s.read,
                write: s.write,
                network: s.network,
                require: s.require,
            },
        }
    }
}
