//! The record's own types for what a run records of its plan: the
//! approval of a wider sandbox, a `--script` replacement, an MCP tool's
//! listed definition, a recipe's pin. They are part of the trace's format
//! (`run_started`, `summary.json`), so they live here, with the events,
//! and the layers that compute them (`plan`, `recipes`) use these types:
//! a change to one is a change to the recorded format, made on purpose
//! (`tests/fixtures/traces/v1-sample.jsonl` must keep reading).

use serde::{Deserialize, Serialize};

/// What a plan's commands get beyond the default sandbox. Empty: nothing
/// (no approval needed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Widening {
    /// `sandbox: off`: commands run unconfined (the rest is then moot and
    /// left out).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub off: bool,
    /// Who may use the network: `every command`, or `step `id``
    /// (`outer.inner` inside a recipe), in plan order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<String>,
    /// Extra read roots, as written, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<String>,
    /// Extra write roots, as written, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub write: Vec<String>,
}

/// How a widening was approved, as the trace records it (`run_started`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// What was approved.
    pub widening: Widening,
    /// Who approved (git `user.email`, else `$USER`).
    pub by: String,
    /// How: `terminal`, `--trust-sandbox` or `--sandbox off`.
    pub via: String,
    /// When (RFC 3339).
    pub at: String,
    /// The approval was given for an earlier run of the same task file in
    /// the same repository and remembered.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remembered: bool,
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

/// One MCP tool's definition, as the server listed it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct McpTool {
    /// Its name on the server.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its input schema (JSON Schema).
    pub input_schema: serde_json::Value,
}

/// One pinned reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// The reference: `./path.yaml` relative to the lock file, or the
    /// `git+…` text as written.
    pub uses: String,
    /// The recipe's `name:`.
    #[serde(default)]
    pub name: String,
    /// For git references, the commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
}
