//! The model interface: the provider-neutral request and response, and the
//! [`Provider`] trait every backend implements.
//!
//! The executor builds a [`ModelRequest`] from its state and hands it to a
//! provider; the provider turns it into its vendor's wire format, sends it,
//! and turns the answer back into a [`ModelResponse`]. Providers never see
//! tools, the workspace or the trace: the executor connects them.
//!
//! Everything here serializes with a stable field order, so the hash of a
//! request ([`ModelRequest::hash`]) is the same for the same executor state on
//! every machine.

// The layers below, under the names the code has always used.
pub(crate) use wf_core::{hash, secrets};
pub(crate) use wf_spec as spec;

pub mod script;

use serde::{Deserialize, Serialize};
use std::time::Duration;

pub mod anthropic;
pub mod cache;
pub mod client;
pub mod cost;
pub mod factory;
pub mod http;
pub mod openai;
pub mod sse;
pub mod tool_input;

/// One request to a model: everything that decides its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRequest {
    /// The model name as the vendor knows it.
    pub model: String,
    /// Cap on the answer's output tokens.
    pub max_tokens: u32,
    /// Sampling temperature; `None` leaves the vendor's default.
    pub temperature: Option<f64>,
    /// The fixed instructions (task rules, constraints). Stable across turns.
    pub system: String,
    /// The tools the model may call. Stable across turns.
    pub tools: Vec<ToolDef>,
    /// The conversation so far, oldest first.
    pub messages: Vec<Message>,
}

impl ModelRequest {
    /// Hex SHA-256 of the request's canonical JSON. Two equal requests have
    /// the same hash on any machine.
    pub fn hash(&self) -> String {
        crate::hash::sha256_hex(&serde_json::to_vec(self).expect("request serializes"))
    }
}

/// A tool as described to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDef {
    /// The name the model calls it by.
    pub name: String,
    /// What it does, in as few tokens as possible.
    pub description: String,
    /// JSON Schema of its input object.
    pub input_schema: serde_json::Value,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// wf, speaking for the user: the task, context, tool results, repair requests.
    User,
    /// The model.
    Assistant,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its content, in order.
    pub content: Vec<Block>,
}

/// A piece of message content.
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
        /// The call's id, unique within the run; tool results refer to it.
        id: String,
        /// The tool's name, as the model sent it (it may name no real tool).
        name: String,
        /// The input as the model sent it. Normally a JSON object; when the
        /// model sent text that is not valid JSON the provider puts that raw
        /// text here as a JSON string, and the executor answers with a tool
        /// error instead of running anything.
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

/// Why the model stopped.
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
    /// The server paused a long turn; sending the conversation back continues it.
    PauseTurn,
    /// A reason this version of wf does not know, kept verbatim.
    Other(String),
}

/// Token usage of one model response. Unknown counts are `None` (some
/// OpenAI-compatible servers send no usage); they are never guessed as zero.
///
/// Under a cost cap the HTTP providers fill in missing counts with an
/// upper-bound estimate ([`Usage::fill_estimate`]) and set
/// [`Usage::estimated`], so the cap is enforced, and the trace says so,
/// instead of the cost becoming unknown.
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
    /// an estimate ([`Usage::fill_estimate`]); the counts and the cost
    /// priced from them are then upper bounds, not the vendor's figures.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub estimated: bool,
}

impl Usage {
    /// Fills the counts the server did not send with an upper-bound
    /// estimate, marking the usage [`Usage::estimated`]: the input as the
    /// request body's bytes / 4 (the estimate wf uses for context budgets,
    /// taken over the whole JSON body, framing and tool schemas included),
    /// the output as the request's `max_tokens` (a model cannot write more).
    /// Counts the server did send are kept.
    pub fn fill_estimate(&mut self, request_bytes: usize, max_tokens: u32) {
        if self.input_tokens.is_none() {
            self.input_tokens = Some((request_bytes as u64).div_ceil(4));
            self.estimated = true;
        }
        if self.output_tokens.is_none() {
            self.output_tokens = Some(u64::from(max_tokens));
            self.estimated = true;
        }
    }
}

/// A model's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelResponse {
    /// Text and tool-use blocks, in order.
    pub content: Vec<Block>,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// What it cost in tokens.
    pub usage: Usage,
}

/// A provider failure that ends the run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// Lowercase, human message; already includes the vendor's own message
    /// and request id where there was one. Never contains an API key.
    pub message: String,
    /// HTTP status, when the failure was an HTTP answer.
    pub status: Option<u16>,
    /// The vendor's request id, when it sent one.
    pub request_id: Option<String>,
}

impl ProviderError {
    /// An error with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        ProviderError {
            message: message.into(),
            status: None,
            request_id: None,
        }
    }
}

/// What a provider reports while it works, so the executor can record and
/// show it. Providers call these; they never write the trace themselves.
pub trait ProviderObserver {
    /// An attempt failed and will be retried after `wait`.
    fn retry(&mut self, attempt: u32, reason: &str, wait: Duration);
    /// A piece of streamed answer text arrived (for live display only).
    fn text_delta(&mut self, _text: &str) {}
    /// The answer came from the local response cache, not the provider.
    fn cache_hit(&mut self) {}
    /// How long the caller can still wait for the answer (the run's or the
    /// step's time limit); `None`: no limit beyond the provider's own.
    fn time_left(&self) -> Option<Duration> {
        None
    }
}

/// An observer that ignores everything.
pub struct NoObserver;

impl ProviderObserver for NoObserver {
    fn retry(&mut self, _attempt: u32, _reason: &str, _wait: Duration) {}
}

/// A model backend.
pub trait Provider {
    /// Sends one request and returns the model's answer.
    fn complete(
        &mut self,
        request: &ModelRequest,
        observer: &mut dyn ProviderObserver,
    ) -> Result<ModelResponse, ProviderError>;
}
