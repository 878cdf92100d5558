//! MCP servers as tools: the servers a task file declares under `mcp:`,
//! listed before the run ([`list`]) and called during it ([`Session`]).
//!
//! Only declared servers are started — nothing of the user's own MCP
//! configuration is read. A server runs confined like every command of a
//! run (see [`crate::sandbox`]), in the workspace, with the scrubbed
//! environment plus the variables it declares by name. Its tools reach the
//! model as `mcp__<server>__<tool>` (see [`crate::spec::MCP_TOOL_PATTERN`])
//! only when they are in the server's allowlist and in the step's `tools`.
//!
//! A server declared with `url:` is remote: wf speaks streamable HTTP to it
//! from its own process ([`http`]), with headers whose values come from
//! wf's environment; nothing is started, so the sandbox does not apply, and
//! `wf plan` says so.
//!
//! The client ([`client`]) is a small synchronous JSON-RPC client over
//! stdio rather than the `rmcp` SDK: wf is synchronous, and `initialize`,
//! `tools/list` and `tools/call` are all it needs; a reader thread and a
//! channel give every request a deadline without an async runtime.
//!
//! A replay answers MCP calls from the recorded `tool_result` events and
//! never starts a server; a resume does the same for the part it catches
//! up with, then starts the servers it needs.

pub mod client;
pub mod http;

use crate::plan::{McpListing, McpTool, Plan, PlanStep, StepKind};
use crate::recipes::lock::McpPin;
use crate::record::event::{Event, Record};
use crate::spec::{McpServer, Spec, mcp_tool_name};
use crate::tools::ToolOutcome;
use client::{Client, ClientError, Launch, Rpc};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default `startup_timeout`.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `call_timeout`.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes of a tool result given to the model; the rest is cut and marked.
pub const MAX_OUTPUT: usize = 64 * 1024;

/// Why the MCP servers of a plan cannot be used. All of these stop the run
/// before its first model request (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// Two steps declare different servers under one name.
    #[error("MCP server `{0}` is declared twice with different settings")]
    Conflict(String),
    /// A server's command does not pin its package.
    #[error("MCP server `{server}`: {message}")]
    Unpinned {
        /// The server.
        server: String,
        /// What is wrong.
        message: String,
    },
    /// A declared environment variable is not set.
    #[error("MCP server `{server}` needs `{var}`, which is not set in wf's environment")]
    MissingEnv {
        /// The server.
        server: String,
        /// The variable.
        var: String,
    },
    /// The server did not start or list its tools.
    #[error("MCP server `{server}`: {error}")]
    Server {
        /// The server.
        server: String,
        /// What went wrong.
        error: ClientError,
    },
    /// An allowlisted tool is not offered by the server.
    #[error(
        "MCP server `{server}` has no tool `{tool}` (it offers: {offered}); remove it from `mcp.{server}.tools`"
    )]
    MissingTool {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
        /// What the server offers.
        offered: String,
    },
    /// A tool's name cannot be given to the model.
    #[error("MCP server `{server}`: tool `{tool}` cannot be exposed: {why}")]
    BadName {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
        /// Why.
        why: String,
    },
    /// The server's tools differ from those pinned in `wf.lock`.
    #[error(
        "MCP server `{server}` (`{package}`): its tool definitions changed under the same pin in {lock}: {what}.\nReview the server's change, then accept it with `wf lock --update {server}` (`wf plan` then shows the new definitions)"
    )]
    Changed {
        /// The server.
        server: String,
        /// Its package (or local command).
        package: String,
        /// The lock file.
        lock: String,
        /// What changed: tools changed, removed, added.
        what: String,
    },
    /// A server a recipe uses is not pinned, in a run.
    #[error(
        "MCP server `{server}` (`{package}`), used by a recipe, is not pinned in {lock}: a recipe's server runs only as `wf lock` pinned it. Review it, then run `wf lock`"
    )]
    NotPinned {
        /// The server.
        server: String,
        /// Its package (or local command).
        package: String,
        /// The lock file.
        lock: String,
    },
    /// Setting up the listing failed.
    #[error("cannot list MCP servers: {0}")]
    Io(String),
}

/// Every MCP server the plan's agent steps may use, by name (recipes'
/// included). One name must mean one server.
pub fn servers_of(plan: &Plan) -> Result<BTreeMap<String, McpServer>, McpError> {
    fn walk(steps: &[PlanStep], out: &mut BTreeMap<String, McpServer>) -> Result<(), McpError> {
        for step in steps {
            match &step.kind {
                StepKind::Agent(a) => {
                    for (name, server) in &a.mcp {
                        // Only servers whose tools the step lists are started.
                        if !a.mcp_tools().iter().any(|(s, _)| s == name) {
                            continue;
                        }
                        match out.get(name) {
                            Some(other) if other != server => {
                                return Err(McpError::Conflict(name.clone()));
                            }
                            _ => {
                                out.insert(name.clone(), server.clone());
                            }
                        }
                    }
                }
                StepKind::Uses(u) => walk(&u.steps, out)?,
                StepKind::Command { .. } => {}
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(&plan.steps, &mut out)?;
    Ok(out)
}

/// The names of the MCP servers the recipe steps of `plan` use (at any
/// depth): in a run each must be pinned in `wf.lock`.
pub fn recipe_servers(plan: &Plan) -> std::collections::BTreeSet<String> {
    fn walk(steps: &[PlanStep], in_recipe: bool, out: &mut std::collections::BTreeSet<String>) {
        for step in steps {
            match &step.kind {
                StepKind::Agent(a) if in_recipe => {
                    out.extend(a.mcp_tools().iter().map(|(s, _)| s.to_string()));
                }
                StepKind::Uses(u) => walk(&u.steps, true, out),
                _ => {}
            }
        }
    }
    let mut out = std::collections::BTreeSet::new();
    walk(&plan.steps, false, &mut out);
    out
}

/// Every MCP server a task file declares (top level and its steps' own),
/// by name: what `wf lock` lists and pins. One name must mean one server.
pub fn declared(spec: &Spec) -> Result<BTreeMap<String, McpServer>, McpError> {
    let mut out: BTreeMap<String, McpServer> = BTreeMap::new();
    let all = std::iter::once(&spec.mcp).chain(spec.steps.iter().filter_map(|s| s.mcp.as_ref()));
    for servers in all {
        for (name, server) in servers {
            match out.get(name) {
                Some(other) if other != server => return Err(McpError::Conflict(name.clone())),
                _ => {
                    out.insert(name.clone(), server.clone());
                }
            }
        }
    }
    Ok(out)
}

/// The values of wf's environment `server` receives (`env`, `headers`),
/// with their names.
fn given_values(server: &McpServer) -> Vec<(String, String)> {
    server
        .env
        .iter()
        .chain(server.headers.values())
        .filter_map(|var| Some((var.clone(), std::env::var(var).ok()?)))
        .filter(|(_, value)| value.len() >= 4)
        .collect()
}

/// `offered` with every value of `given` replaced by `[$NAME]`.
fn hide_values(offered: Vec<Value>, given: &[(String, String)]) -> Vec<Value> {
    if given.is_empty() {
        return offered;
    }
    offered
        .into_iter()
        .map(|tool| {
            let mut text = tool.to_string();
            for (name, value) in given {
                let escaped = Value::String(value.clone()).to_string();
                let inner = &escaped[1..escaped.len() - 1];
                text = text.replace(inner, &format!("[${name}]"));
            }
            serde_json::from_str(&text).unwrap_or(tool)
        })
        .collect()
}

/// The variables a server receives: its declared names with wf's values.
fn server_env(name: &str, server: &McpServer) -> Result<Vec<(String, String)>, McpError> {
    server
        .env
        .iter()
        .map(|var| match std::env::var(var) {
            Ok(value) => Ok((var.clone(), value)),
            Err(_) => Err(McpError::MissingEnv {
                server: name.to_string(),
                var: var.clone(),
            }),
        })
        .collect()
}

/// One tool definition of a `tools/list` answer, as wf keeps it.
fn tool_of(name: &str, def: &Value) -> McpTool {
    McpTool {
        name: name.to_string(),
        description: def
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        input_schema: def
            .get("inputSchema")
            .cloned()
            .unwrap_or_else(|| serde_json::json!({ "type": "object" })),
    }
}

/// SHA-256 of one tool definition (name, description, input schema) as
/// canonical JSON (object keys sorted): what `wf.lock` pins per tool.
pub fn tool_sha256(tool: &McpTool) -> String {
    crate::hash::sha256_hex(&serde_json::to_vec(tool).expect("a tool serializes"))
}

/// The pin of a listing: its package and each tool's hash.
pub fn pin_of(listing: &McpListing) -> McpPin {
    McpPin {
        package: listing.package.clone(),
        tools: listing
            .tools
            .iter()
            .map(|t| (t.name.clone(), tool_sha256(t)))
            .collect(),
    }
}

/// How a server's allowlisted tools compare with its pin.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PinDiff {
    /// Allowlisted tools whose definition differs from the pinned one.
    pub changed: Vec<String>,
    /// Pinned, allowlisted tools the server no longer offers.
    pub removed: Vec<String>,
    /// Allowlisted tools the pin does not have (the allowlist grew since
    /// `wf lock`): not checked, a note.
    pub unpinned: Vec<String>,
}

impl PinDiff {
    /// Whether the server changed under its pin.
    pub fn is_change(&self) -> bool {
        !self.changed.is_empty() || !self.removed.is_empty()
    }

    /// The change in words: "changed `a`, `b`; removed `c`".
    pub fn describe(&self) -> String {
        let list = |names: &[String]| {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        if !self.changed.is_empty() {
            parts.push(format!(
                "{} changed (description or input schema)",
                list(&self.changed)
            ));
        }
        if !self.removed.is_empty() {
            parts.push(format!("{} no longer offered", list(&self.removed)));
        }
        if !self.unpinned.is_empty() {
            parts.push(format!("{} not pinned yet", list(&self.unpinned)));
        }
        parts.join("; ")
    }
}

/// Compares what a server offers now (`offered`, its `tools/list`) with
/// its pin, for the tools of its allowlist. Pinned tools outside the
/// allowlist (another task file's) are not looked at.
pub fn compare(server: &McpServer, offered: &[Value], pin: &McpPin) -> PinDiff {
    let mut diff = PinDiff::default();
    for wanted in &server.tools {
        let def = offered
            .iter()
            .find(|t| t.get("name").and_then(Value::as_str) == Some(wanted));
        match (pin.tools.get(wanted), def) {
            (Some(_), None) => diff.removed.push(wanted.clone()),
            (Some(sha), Some(def)) if *sha != tool_sha256(&tool_of(wanted, def)) => {
                diff.changed.push(wanted.clone())
            }
            (Some(_), Some(_)) => {}
            (None, _) => diff.unpinned.push(wanted.clone()),
        }
    }
    diff
}

/// The headers a `url` server gets: each declared header with the value of
/// its variable in wf's environment.
fn server_headers(name: &str, server: &McpServer) -> Result<Vec<(String, String)>, McpError> {
    server
        .headers
        .iter()
        .map(|(header, var)| match std::env::var(var) {
            Ok(value) => Ok((header.clone(), value)),
            Err(_) => Err(McpError::MissingEnv {
                server: name.to_string(),
                var: var.clone(),
            }),
        })
        .collect()
}

/// Opens a connection to `server` within `timeout`: over streamable HTTP
/// for a `url` (never confined: wf itself connects), or by starting its
/// command in `cwd` under `sandbox`.
fn connect(
    name: &str,
    server: &McpServer,
    cwd: &Path,
    sandbox: Option<&crate::sandbox::Sandboxed>,
    timeout: Duration,
) -> Result<Box<dyn Rpc>, McpError> {
    let server_err = |error| McpError::Server {
        server: name.to_string(),
        error,
    };
    if let Some(url) = &server.url {
        let headers = server_headers(name, server)?;
        let client = http::HttpClient::connect(url, headers, timeout).map_err(server_err)?;
        return Ok(Box::new(client));
    }
    let env = server_env(name, server)?;
    let client = Client::start(
        &Launch {
            argv: &server.command,
            cwd,
            env,
            sandbox,
        },
        timeout,
    )
    .map_err(server_err)?;
    Ok(Box::new(client))
}

/// The note `wf plan` and `wf run` give for a remote server.
pub fn remote_note(name: &str, url: &str) -> String {
    format!(
        "MCP server `{name}` is remote ({url}): wf connects to it over the network from its own process; the sandbox does not apply to it"
    )
}

/// The listing of a server's allowlisted tools from its `tools/list`
/// answer: each allowlisted tool must be offered, and its exposed name
/// must fit the providers' rules.
pub fn listing(name: &str, server: &McpServer, offered: &[Value]) -> Result<McpListing, McpError> {
    let package = server.package().map_err(|message| McpError::Unpinned {
        server: name.to_string(),
        message,
    })?;
    let mut tools = Vec::new();
    for wanted in &server.tools {
        let Some(def) = offered
            .iter()
            .find(|t| t.get("name").and_then(Value::as_str) == Some(wanted))
        else {
            let mut names: Vec<&str> = offered
                .iter()
                .filter_map(|t| t.get("name").and_then(Value::as_str))
                .collect();
            names.sort();
            return Err(McpError::MissingTool {
                server: name.to_string(),
                tool: wanted.clone(),
                offered: names.join(", "),
            });
        };
        let exposed = mcp_tool_name(name, wanted);
        if exposed.len() > crate::spec::MAX_TOOL_NAME
            || !wanted
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(McpError::BadName {
                server: name.to_string(),
                tool: wanted.clone(),
                why: format!(
                    "`{exposed}` must match ^[a-zA-Z0-9_-]{{1,{}}}$",
                    crate::spec::MAX_TOOL_NAME
                ),
            });
        }
        tools.push(tool_of(wanted, def));
    }
    tools.sort_by(|a, b| a.name.cmp(&b.name));
    tools.dedup_by(|a, b| a.name == b.name);
    let sha256 = crate::hash::sha256_hex(&serde_json::to_vec(&tools).expect("tools serialize"));
    Ok(McpListing {
        package,
        tools,
        sha256,
    })
}

/// The confinement of servers started for a listing: the run's sandbox
/// settings (`setting`), with the workspace copy of the repository (`root`)
/// readable (the server's command may name a script in it) and a scratch
/// directory as the only writable place.
fn listing_sandbox(
    setting: &crate::spec::Sandbox,
    root: &Path,
    scratch: &Path,
) -> Result<Option<crate::sandbox::Sandboxed>, McpError> {
    if setting.mode == crate::spec::SandboxMode::Off {
        return Ok(None);
    }
    // A list of hosts gets no network while listing: wf's proxy serves
    // runs (where its connections are recorded), not the listing.
    crate::sandbox::confinement(
        &setting.read,
        &setting.write,
        setting.network.is_all(),
        scratch,
        scratch,
        &[root.to_path_buf()],
        &[],
    )
    .map(Some)
    .map_err(|e| McpError::Io(e.to_string()))
}

/// The pins a listing is held to: a lock file's MCP pins, by package.
pub struct Pins<'a> {
    /// The lock file (for messages).
    pub path: &'a Path,
    /// Its MCP pins, by package; a server whose package is not here is
    /// not checked (a note says so) unless it is `required`.
    pub pins: &'a BTreeMap<String, McpPin>,
    /// Servers that must be pinned (a recipe's, in a run): one that is not
    /// is an error, not a note.
    pub required: std::collections::BTreeSet<String>,
}

/// What listing the servers gave.
#[derive(Debug, Default)]
pub struct Listed {
    /// The listings by server name.
    pub listings: BTreeMap<String, McpListing>,
    /// Servers and tools not pinned in the lock file.
    pub notes: Vec<String>,
}

/// Starts each MCP server of `plan` (confined, in the repository, which it
/// may only read), lists its tools, checks its allowlist and holds it to
/// its pin in `pins`; the listings by server name. No server declared:
/// nothing starts.
pub fn list(plan: &Plan, pins: &Pins<'_>) -> Result<Listed, McpError> {
    let servers = servers_of(plan)?;
    list_servers(&servers, &plan.sandbox, &plan.root, pins)
}

/// [`list`] for the `servers` of a task file whose sandbox settings are
/// `sandbox`, in the repository `root`.
pub fn list_servers(
    servers: &BTreeMap<String, McpServer>,
    sandbox: &crate::spec::Sandbox,
    root: &Path,
    pins: &Pins<'_>,
) -> Result<Listed, McpError> {
    let mut out = Listed::default();
    if servers.is_empty() {
        return Ok(out);
    }
    let scratch = tempfile::Builder::new()
        .prefix("wf-mcp-")
        .tempdir()
        .map_err(|e| McpError::Io(e.to_string()))?;
    // A server lists its tools in a workspace copy of the repository, never
    // in the repository itself: the copy holds what the model may see
    // (tracked files, untracked files that are not ignored), not the
    // user's ignored files (`.env`, keys) or `.git/`. Its script, if the
    // command names one in the repository, is in the copy too.
    let copy = crate::workspace::Workspace::create(root, "mcp-listing")
        .map_err(|e| McpError::Io(format!("cannot prepare a copy to list MCP tools in: {e}")))?;
    let root = copy.dir.as_path();
    let sandbox = listing_sandbox(sandbox, root, scratch.path())?;
    for (name, server) in servers {
        let package = server.package().map_err(|message| McpError::Unpinned {
            server: name.clone(),
            message,
        })?;
        let timeout = server
            .startup_timeout
            .map_or(DEFAULT_STARTUP_TIMEOUT, |t| t.0);
        let deadline = std::time::Instant::now() + timeout;
        let mut client = connect(name, server, root, sandbox.as_ref(), timeout)?;
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let offered = client.list_tools(left).map_err(|error| McpError::Server {
            server: name.clone(),
            error,
        })?;
        drop(client);
        // What a server was given is never shown or recorded: a value of a
        // variable it received, echoed in its tool definitions, becomes
        // the variable's name before `wf plan` prints them or a trace
        // records them.
        let offered = hide_values(offered, &given_values(server));
        if let Some(url) = &server.url {
            out.notes.push(remote_note(name, url));
        }
        let shown = pins.path.display();
        match pins.pins.get(&package) {
            Some(pin) => {
                let diff = compare(server, &offered, pin);
                if diff.is_change() {
                    return Err(McpError::Changed {
                        server: name.clone(),
                        package,
                        lock: shown.to_string(),
                        what: diff.describe(),
                    });
                }
                if !diff.unpinned.is_empty() {
                    out.notes.push(format!(
                        "MCP server `{name}`: {} in {shown}; `wf lock` pins it",
                        diff.describe()
                    ));
                }
            }
            None if pins.required.contains(name) => {
                return Err(McpError::NotPinned {
                    server: name.clone(),
                    package,
                    lock: shown.to_string(),
                });
            }
            None => out.notes.push(format!(
                "MCP server `{name}` (`{package}`) is not pinned in {shown}: its tool definitions are not held to a pin; `wf lock` pins them"
            )),
        }
        out.listings
            .insert(name.clone(), listing(name, server, &offered)?);
    }
    Ok(out)
}

/// The MCP listings a run recorded (its `mcp_server` events).
pub fn recorded_listings(records: &[Record]) -> BTreeMap<String, McpListing> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            Event::McpServer {
                server,
                package,
                tools,
                sha256,
            } => Some((
                server.clone(),
                McpListing {
                    package: package.clone(),
                    tools: tools.clone(),
                    sha256: sha256.clone(),
                },
            )),
            _ => None,
        })
        .collect()
}

/// The definitions of a step's MCP tools as sent to the model, in the
/// order the step lists them.
pub fn definitions(plan: &Plan, step_tools: &[(&str, &str)]) -> Vec<crate::tools::Definition> {
    step_tools
        .iter()
        .filter_map(|(server, tool)| {
            let def = plan
                .mcp
                .get(*server)?
                .tools
                .iter()
                .find(|t| t.name == *tool)?;
            Some(crate::tools::Definition {
                name: mcp_tool_name(server, tool),
                description: def.description.clone(),
                input_schema: def.input_schema.clone(),
            })
        })
        .collect()
}

/// One recorded MCP call and what the model got.
struct Recorded {
    call_id: String,
    tool: String,
    input: Value,
    outcome: ToolOutcome,
    used: bool,
}

/// The MCP servers of a run: started when first called, in the workspace,
/// confined; or, in a replay (and the caught-up part of a resume), the
/// recorded answers.
pub struct Session {
    servers: BTreeMap<String, McpServer>,
    listings: BTreeMap<String, McpListing>,
    cwd: PathBuf,
    sandbox: Option<crate::sandbox::Sandboxed>,
    clients: BTreeMap<String, Box<dyn Rpc>>,
    recorded: Vec<Recorded>,
    /// Whether servers may be started (false in a replay).
    live: bool,
}

impl Session {
    /// The servers of `plan`, run in `cwd` under `sandbox`; `records`: a
    /// recorded run whose MCP answers are served first; `live`: whether a
    /// call without a recorded answer may start its server.
    pub fn new(
        plan: &Plan,
        cwd: &Path,
        sandbox: Option<crate::sandbox::Sandboxed>,
        records: &[Record],
        live: bool,
    ) -> Result<Session, McpError> {
        let servers = servers_of(plan)?;
        let mut recorded = Vec::new();
        let mut calls: BTreeMap<&str, (&str, &Value)> = BTreeMap::new();
        for r in records {
            match &r.event {
                Event::ToolCall {
                    call_id,
                    tool,
                    input,
                } if tool.starts_with(crate::spec::MCP_TOOL_PREFIX) => {
                    calls.insert(call_id, (tool, input));
                }
                Event::ToolResult {
                    call_id,
                    tool,
                    ok,
                    output,
                    truncated,
                    ..
                } => {
                    if let Some((t, input)) = calls.remove(call_id.as_str())
                        && t == tool
                    {
                        recorded.push(Recorded {
                            call_id: call_id.clone(),
                            tool: tool.clone(),
                            input: input.clone(),
                            outcome: ToolOutcome {
                                content: output.clone(),
                                is_error: !ok,
                                denial: None,
                                truncated: *truncated,
                                exit_code: None,
                            },
                            used: false,
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(Session {
            servers,
            listings: plan.mcp.clone(),
            cwd: cwd.to_path_buf(),
            sandbox,
            clients: BTreeMap::new(),
            recorded,
            live,
        })
    }

    /// Runs one call of `name` (an `mcp__` name) with `input`, if `allowed`
    /// (the step's MCP tools) has it; `left`: the time the run has left.
    pub fn call(
        &mut self,
        call_id: &str,
        name: &str,
        input: &Value,
        allowed: &[(&str, &str)],
        left: Duration,
    ) -> ToolOutcome {
        let Some((server, tool)) = allowed
            .iter()
            .copied()
            .find(|(s, t)| mcp_tool_name(s, t) == name)
            .filter(|(s, t)| {
                self.listings
                    .get(*s)
                    .is_some_and(|l| l.tools.iter().any(|d| d.name == *t))
            })
        else {
            let names: Vec<String> = allowed.iter().map(|(s, t)| mcp_tool_name(s, t)).collect();
            return ToolOutcome::error(format!(
                "unknown tool `{name}`: it is not in this step's tools (MCP tools available: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ));
        };
        if let Some(r) = self
            .recorded
            .iter_mut()
            .find(|r| !r.used && r.call_id == call_id && r.tool == name && r.input == *input)
        {
            r.used = true;
            return r.outcome.clone();
        }
        if !self.live {
            return ToolOutcome::error(format!(
                "{name}: the recorded run has no answer for this call (a replay never starts MCP servers)"
            ));
        }
        let Some(arguments) = input.as_object() else {
            return ToolOutcome::error(format!("{name}: the input must be a JSON object"));
        };
        let arguments = Value::Object(arguments.clone());
        match self.live_call(server, tool, &arguments, left) {
            Ok(outcome) => outcome,
            Err(message) => ToolOutcome::error(format!("{name}: {message}")),
        }
    }

    fn live_call(
        &mut self,
        server: &str,
        tool: &str,
        arguments: &Value,
        left: Duration,
    ) -> Result<ToolOutcome, String> {
        let spec = self
            .servers
            .get(server)
            .ok_or_else(|| format!("MCP server `{server}` is not declared"))?
            .clone();
        if self.clients.get(server).is_some_and(|c| c.is_closed()) {
            self.clients.remove(server);
        }
        if !self.clients.contains_key(server) {
            let client = self.start(server, &spec, left)?;
            self.clients.insert(server.to_string(), client);
        }
        let client = self.clients.get_mut(server).expect("started above");
        let timeout = spec
            .call_timeout
            .map_or(DEFAULT_CALL_TIMEOUT, |t| t.0)
            .min(left);
        let result = match client.call_tool(tool, arguments, timeout) {
            Ok(result) => result,
            Err(ClientError::Rpc { code, message }) => {
                return Ok(ToolOutcome::error(format!("error {code}: {message}")));
            }
            Err(e @ ClientError::Timeout(_)) if spec.url.is_some() => {
                return Err(format!(
                    "{e}; the session was closed (a new one starts at the next call)"
                ));
            }
            Err(e @ ClientError::Timeout(_)) => {
                return Err(format!(
                    "{e}; the server was stopped (it restarts at the next call)"
                ));
            }
            Err(e) if spec.url.is_some() => {
                return Err(format!("{e} (a new session starts at the next call)"));
            }
            Err(e) => return Err(format!("{e} (it restarts at the next call)")),
        };
        Ok(outcome_of(&result))
    }

    /// Starts `server` in the workspace and checks that it still lists the
    /// tools the run was planned with.
    fn start(
        &self,
        name: &str,
        server: &McpServer,
        left: Duration,
    ) -> Result<Box<dyn Rpc>, String> {
        let timeout = server
            .startup_timeout
            .map_or(DEFAULT_STARTUP_TIMEOUT, |t| t.0)
            .min(left);
        let mut client = match connect(name, server, &self.cwd, self.sandbox.as_ref(), timeout) {
            Ok(c) => c,
            Err(McpError::Server { error, .. }) => {
                return Err(format!("MCP server `{name}` did not start: {error}"));
            }
            Err(e) => return Err(e.to_string()),
        };
        let offered = client
            .list_tools(timeout)
            .map_err(|e| format!("MCP server `{name}` did not list its tools: {e}"))?;
        let now = listing(name, server, &offered).map_err(|e| e.to_string())?;
        match self.listings.get(name) {
            Some(planned) if planned.sha256 != now.sha256 => Err(format!(
                "MCP server `{name}` now lists other tool definitions than when the run was planned"
            )),
            _ => Ok(client),
        }
    }
}

/// A `tools/call` result as the text the model gets: text blocks as they
/// are, other blocks named; cut at [`MAX_OUTPUT`] bytes.
pub fn outcome_of(result: &Value) -> ToolOutcome {
    let mut text = String::new();
    for block in result
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !text.is_empty() {
            text.push('\n');
        }
        let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
        let field = |k: &str| block.get(k).and_then(Value::as_str).unwrap_or("");
        match kind {
            "text" => text.push_str(field("text")),
            "resource" => {
                let resource = block.get("resource").cloned().unwrap_or_default();
                match resource.get("text").and_then(Value::as_str) {
                    Some(t) => text.push_str(t),
                    None => text.push_str(&format!(
                        "[resource {}]",
                        resource.get("uri").and_then(Value::as_str).unwrap_or("")
                    )),
                }
            }
            "resource_link" => text.push_str(&format!("[resource link {}]", field("uri"))),
            other => text.push_str(&format!(
                "[{other} content, {}; not shown]",
                block.get("mimeType").and_then(Value::as_str).unwrap_or("")
            )),
        }
    }
    if text.is_empty()
        && let Some(structured) = result.get("structuredContent")
    {
        text = structured.to_string();
    }
    let is_error = result
        .get("isError")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let truncated = text.len() > MAX_OUTPUT;
    if truncated {
        let mut cut = MAX_OUTPUT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let total = text.len();
        text.truncate(cut);
        text.push_str(&format!("\n[output cut at {MAX_OUTPUT} of {total} bytes]"));
    }
    ToolOutcome {
        content: text,
        is_error,
        denial: None,
        truncated,
        exit_code: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn server(tools: &[&str]) -> McpServer {
        McpServer {
            command: vec!["node".into(), "server.js".into()],
            url: None,
            headers: BTreeMap::new(),
            env: vec![],
            tools: tools.iter().map(|t| t.to_string()).collect(),
            startup_timeout: None,
            call_timeout: None,
        }
    }

    #[test]
    fn a_listing_keeps_only_the_allowlist_and_names_a_missing_tool() {
        let offered = vec![
            json!({"name": "echo", "description": "Echo", "inputSchema": {"type": "object"}}),
            json!({"name": "add", "inputSchema": {"type": "object"}}),
        ];
        let l = listing("everything", &server(&["echo"]), &offered).unwrap();
        assert_eq!(l.tools.len(), 1);
        assert_eq!(l.tools[0].name, "echo");
        assert_eq!(l.package, "node server.js");
        let e = listing("everything", &server(&["echo", "nope"]), &offered).unwrap_err();
        assert!(
            e.to_string()
                .contains("has no tool `nope` (it offers: add, echo)"),
            "{e}"
        );
        let e = listing("e", &server(&["a.b"]), &[json!({"name": "a.b"})]).unwrap_err();
        assert!(e.to_string().contains("cannot be exposed"), "{e}");
    }

    #[test]
    fn results_become_text_and_are_capped() {
        let r = json!({"content": [{"type": "text", "text": "hi"}, {"type": "image", "mimeType": "image/png", "data": "x"}], "isError": true});
        let o = outcome_of(&r);
        assert_eq!(o.content, "hi\n[image content, image/png; not shown]");
        assert!(o.is_error);
        let big = "x".repeat(MAX_OUTPUT + 10);
        let o = outcome_of(&json!({"content": [{"type": "text", "text": big}]}));
        assert!(o.truncated && o.content.ends_with("bytes]"));
    }
}
