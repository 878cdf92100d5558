//! The record's own types for what a run records of its plan and of its
//! model's answers: the approval of a wider sandbox, a `--script`
//! replacement, an MCP tool's listed definition, a recipe's pin; and the
//! content blocks, stop reason and token usage of a `model_response`.
//! They are part of the trace's format (`run_started`, `model_response`,
//! `summary.json`), so they live here, with the events. The layers that
//! compute the plan's (`plan`, `recipes`) use these types; the provider's
//! conversation types are its own, and the engine, which connects the two,
//! converts between them (`wf_engine::recorded`). So a change to a
//! provider cannot change what is recorded: a change to one of these is a
//! change to the recorded format, made on purpose
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

/// A piece of a model's answer, as a `model_response` records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// A tool call made by the model.
    ToolUse {
        /// The call's id, unique within the run.
        id: String,
        /// The tool's name, as the model sent it (it may name no real tool).
        name: String,
        /// The input as the model sent it (long strings elided, see
        /// [`crate::inputs`]); a JSON string when the model sent text that
        /// was not valid JSON.
        input: serde_json::Value,
    },
    /// The result of a tool call, sent back to the model.
    ToolResult {
        /// The id of the call this answers.
        tool_use_id: String,
        /// The result text (or the error message).
        content: String,
        /// True when the call was denied or failed.
        is_error: bool,
    },
}

/// Why the model stopped, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// It finished its turn.
    EndTurn,
    /// It wants tool results.
    ToolUse,
    /// It hit `max_tokens`; the last block may be cut off.
    MaxTokens,
    /// It produced a stop sequence.
    StopSequence,
    /// It declined to go on.
    Refusal,
    /// The server paused a long turn.
    PauseTurn,
    /// A reason this version of wf did not know, kept verbatim.
    Other(String),
}

/// Token usage of one model response, as recorded. Unknown counts are
/// `None`, never zero.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Uncached prompt tokens.
    pub input_tokens: Option<u64>,
    /// Generated tokens.
    pub output_tokens: Option<u64>,
    /// Prompt tokens written to the vendor's prompt cache.
    pub cache_creation_input_tokens: u64,
    /// Prompt tokens read from the vendor's prompt cache.
    pub cache_read_input_tokens: u64,
    /// True when the server sent no input or no output count and wf put in
    /// an upper-bound estimate.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub estimated: bool,
}
