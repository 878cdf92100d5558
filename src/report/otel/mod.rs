//! A run's trace as OpenTelemetry spans, encoded for OTLP/HTTP: binary
//! protobuf (`http/protobuf`) or JSON (`http/json`).
//!
//! The spans are built in `builder`, encoded in `encode` (which also
//! says why wf writes OTLP itself).
//!
//! # The spans
//!
//! One trace per run. Ids are derived from the run id (SHA-256), so
//! exporting a run again sends the same trace and span ids. Times are the
//! recorded ones: the run's `at` plus each record's `t_ms`.
//!
//! | span | name | parent | from the records |
//! |---|---|---|---|
//! | the run | `invoke_agent <task>` | — | `run_started` → `run_finished` |
//! | a step | `wf step <id>` | the run | `step_started` → `step_finished` (`step_skipped`: a span of no length) |
//! | a model request | `chat <model>` | the step, else the run | `model_request` → `model_response` or `model_error`; retries and fallbacks are span events |
//! | a tool call | `execute_tool <tool>` | the step, else the run | `tool_call` → `tool_result`; a denial is the span event `wf.permission_denied` with the rule and the reason |
//! | a check | `wf check <name>` | the step, else the run | `check_result` (its `duration_ms` back from its record) |
//! | a checkpoint | `wf checkpoint <name>` | the step, else the run | `reached` → `approved`, `rejected` or `paused` |
//!
//! Model requests follow the GenAI semantic conventions
//! (`gen_ai.operation.name`, `gen_ai.provider.name` and the older
//! `gen_ai.system`, `gen_ai.request.model`, `gen_ai.response.finish_reasons`,
//! `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`,
//! `gen_ai.usage.cache_read.input_tokens`,
//! `gen_ai.usage.cache_creation.input_tokens`); the cost is `wf.cost_usd`.
//!
//! **What never leaves:** no attribute carries a file's contents, a
//! prompt, a model's answer, a tool's input or output, a check's output
//! or a step's output — only names, counts, codes, hashes and timings.
//! The few free texts sent (a run's reason, a denial's reason, a model
//! error, a limit's message) are passed through [`crate::secrets`] and cut
//! to [`MAX_TEXT`] characters; a denial's reason is sent without the path
//! or command the model asked for (every word of the call's input is
//! taken out of it: the model can put anything it read into a path). The
//! approver's name is not sent.

mod builder;
mod encode;

pub use builder::spans;
pub use encode::{to_json, to_protobuf};
use std::collections::BTreeMap;

/// The longest free text sent in an attribute, in characters.
pub const MAX_TEXT: usize = 512;

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A list of strings.
    Strs(Vec<String>),
}

/// Attributes, in the order they are sent.
pub type Attributes = Vec<(String, Value)>;

/// A span event.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanEvent {
    /// Unix time, nanoseconds.
    pub time_ns: u64,
    /// The event's name.
    pub name: String,
    /// Its attributes.
    pub attributes: Attributes,
}

/// OTLP span kinds used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Work inside wf.
    Internal = 1,
    /// A request wf sends (to the model).
    Client = 3,
}

/// A span, complete.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// 8 bytes, from the run id and the span's first record.
    pub span_id: [u8; 8],
    /// The parent's id; `None` for the run.
    pub parent: Option<[u8; 8]>,
    /// The span's name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// Unix time, nanoseconds.
    pub start_ns: u64,
    /// Unix time, nanoseconds.
    pub end_ns: u64,
    /// Its attributes.
    pub attributes: Attributes,
    /// Its events.
    pub events: Vec<SpanEvent>,
    /// `Some(message)` when it ended in error (status ERROR).
    pub error: Option<String>,
}

/// A run's trace as spans.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// 16 bytes, from the run id.
    pub trace_id: [u8; 16],
    /// The resource's attributes (`service.name`, …).
    pub resource: Attributes,
    /// The spans, the run first, then in the order they started.
    pub spans: Vec<Span>,
}

/// The trace id of run `run_id`.
pub fn trace_id(run_id: &str) -> [u8; 16] {
    let h = crate::hash::sha256_hex(format!("wf otel trace {run_id}").as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&unhex(&h)[..16]);
    out
}

/// The id of the span whose first record is `key` in run `run_id`.
pub fn span_id(run_id: &str, key: &str) -> [u8; 8] {
    let h = crate::hash::sha256_hex(format!("wf otel span {run_id} {key}").as_bytes());
    let mut out = [0u8; 8];
    out.copy_from_slice(&unhex(&h)[..8]);
    out
}

fn unhex(h: &str) -> Vec<u8> {
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap_or(0))
        .collect()
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    crate::hash::hex(bytes)
}
