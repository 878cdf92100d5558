//! `provider: anthropic`: the Anthropic Messages API.
//!
//! This module turns a [`ModelRequest`] into a `POST {base}/v1/messages`
//! body, places the prompt-cache breakpoints, and turns the streamed (or,
//! when a server answers with plain JSON, the whole) response back into a
//! [`ModelResponse`]. Sending, retrying and error bodies are handled by
//! [`super::http`].
//!
//! # Prompt caching
//!
//! Anthropic caches a request's prefix (tools, then system, then messages)
//! up to each block carrying `cache_control`; a later request reads the
//! cache when its own prefix up to one of its breakpoints, or up to a block
//! boundary at most 20 blocks before one, equals a prefix written earlier.
//! The markers themselves are not part of the cached prefix. wf places at
//! most four breakpoints ([`cache_breakpoints`]):
//!
//! 1. the end of the system prompt, covering tools and system (on the last
//!    tool when there is no system prompt);
//! 2. the end of the first block of the first user message (the task's
//!    context), so runs that share it share the cache;
//! 3. the last block of the previous request's last user message: the
//!    previous request wrote its whole prompt there (its breakpoint 4), so
//!    this one reads it even when the turn in between added more than 20
//!    blocks;
//! 4. the last block of the last message, writing the whole prompt for the
//!    next turn.
//!
//! In a tool-using run every turn therefore reads all of the previous
//! turn's prompt from the cache and writes only what the turn added.

use super::client::{self, HttpProvider, KeyNeed, StreamEnd, VendorApi};
use super::http::{
    self, ConfigError, Failure, HttpConfig, ResponseInfo, Secret, Vendor, str_field,
};
use super::{
    Block, ModelRequest, ModelResponse, ProviderError, ProviderObserver, Role, StopReason, Usage,
    tool_input,
};
use reqwest::header::{HeaderMap, HeaderName};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;

/// The API root used when `ANTHROPIC_BASE_URL` is unset.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The variable holding the API key.
pub const API_KEY_ENV: &str = "ANTHROPIC_API_KEY";
/// The variable that overrides the API root (without `/v1`).
pub const BASE_URL_ENV: &str = "ANTHROPIC_BASE_URL";
/// The `anthropic-version` header sent with every request.
pub const API_VERSION: &str = "2023-06-01";
/// Anthropic accepts at most this many `cache_control` breakpoints.
pub const MAX_CACHE_BREAKPOINTS: usize = 4;

/// The configuration from the environment, read through `lookup` (pass
/// `|name| std::env::var(name).ok()` for the real one): the key from
/// `ANTHROPIC_API_KEY` (required), the root from `ANTHROPIC_BASE_URL`
/// (default [`DEFAULT_BASE_URL`]). Empty values count as unset.
pub fn config_from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Result<HttpConfig, ConfigError> {
    client::config_from_env::<Anthropic>(lookup)
}

/// The Anthropic Messages API, as [`HttpProvider`] speaks it.
#[derive(Debug)]
pub struct Anthropic;

/// The Anthropic Messages API backend. Its configuration must carry an API
/// key.
pub type AnthropicProvider = HttpProvider<Anthropic>;

impl VendorApi for Anthropic {
    const VENDOR: Vendor = Vendor {
        name: "anthropic",
        request_id_header: "request-id",
        parse_error: http::parse_error_body,
        base_url_rule: "ANTHROPIC_BASE_URL must be the API root without /v1 (wf appends /v1/messages), e.g. https://api.anthropic.com",
    };
    const PATH: &'static str = "/v1/messages";
    const DEFAULT_BASE_URL: &'static str = DEFAULT_BASE_URL;
    const API_KEY_ENV: &'static str = API_KEY_ENV;
    const BASE_URL_ENV: &'static str = BASE_URL_ENV;
    const KEY_NAME: &'static str = "anthropic api key";
    const KEY_NEED: KeyNeed = KeyNeed::Always;

    fn headers(config: &HttpConfig) -> Result<HeaderMap, ProviderError> {
        let mut headers = HeaderMap::new();
        let key = config.api_key.as_ref().map(Secret::expose).unwrap_or("");
        headers.insert(
            HeaderName::from_static("x-api-key"),
            http::secret_header(key)?,
        );
        http::put(&mut headers, "anthropic-version", API_VERSION);
        http::put(&mut headers, "content-type", "application/json");
        Ok(headers)
    }

    fn request_body(request: &ModelRequest, stream: bool) -> Vec<u8> {
        request_body(request, stream)
    }

    fn read_response(
        body: &mut dyn Read,
        info: &ResponseInfo,
        observer: &mut dyn ProviderObserver,
    ) -> Result<ModelResponse, Failure> {
        read_response(body, info, observer)
    }
}

/// The JSON body for `request`: the same request always gives the same bytes.
pub fn request_body(request: &ModelRequest, stream: bool) -> Vec<u8> {
    let marks = cache_breakpoints(request);
    let empty = Value::Object(Default::default());
    let ephemeral = |on: bool| on.then_some(Ephemeral { kind: "ephemeral" });

    let system = if request.system.is_empty() {
        Vec::new()
    } else {
        vec![SystemBlock {
            kind: "text",
            text: &request.system,
            cache_control: ephemeral(marks.system),
        }]
    };
    let last_tool = request.tools.len().wrapping_sub(1);
    let tools = request
        .tools
        .iter()
        .enumerate()
        .map(|(i, t)| Tool {
            name: &t.name,
            description: &t.description,
            input_schema: &t.input_schema,
            cache_control: ephemeral(marks.last_tool && i == last_tool),
        })
        .collect();
    let messages = request
        .messages
        .iter()
        .enumerate()
        .map(|(m, message)| WireMessage {
            role: match message.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            },
            content: message
                .content
                .iter()
                .enumerate()
                .map(|(b, block)| {
                    let cache_control = ephemeral(marks.blocks.contains(&(m, b)));
                    match block {
                        Block::Text { text } => WireBlock::Text {
                            text,
                            cache_control,
                        },
                        Block::ToolUse { id, name, input } => WireBlock::ToolUse {
                            id,
                            name,
                            input: if tool_input::is_sendable(input) {
                                input
                            } else {
                                &empty
                            },
                            cache_control,
                        },
                        Block::ToolResult {
                            tool_use_id,
                            content,
                            is_error,
                        } => WireBlock::ToolResult {
                            tool_use_id,
                            content,
                            is_error: *is_error,
                            cache_control,
                        },
                    }
                })
                .collect(),
        })
        .collect();
    let body = WireRequest {
        model: &request.model,
        max_tokens: request.max_tokens,
        temperature: request.temperature,
        system,
        tools,
        messages,
        stream,
    };
    serde_json::to_vec(&body).expect("request body serializes")
}

/// Where a request's `cache_control` markers go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CacheBreakpoints {
    /// On the system prompt (covering tools and system).
    pub system: bool,
    /// On the last tool definition (only when there is no system prompt).
    pub last_tool: bool,
    /// On these message blocks, as `(message index, block index)`, in order.
    pub blocks: Vec<(usize, usize)>,
}

impl CacheBreakpoints {
    /// How many markers there are (never more than [`MAX_CACHE_BREAKPOINTS`]).
    pub fn count(&self) -> usize {
        usize::from(self.system) + usize::from(self.last_tool) + self.blocks.len()
    }
}

/// The cache breakpoints for `request`, placed as the module documentation
/// describes. Positions that coincide are marked once.
pub fn cache_breakpoints(request: &ModelRequest) -> CacheBreakpoints {
    let mut marks = CacheBreakpoints {
        system: !request.system.is_empty(),
        last_tool: request.system.is_empty() && !request.tools.is_empty(),
        blocks: Vec::new(),
    };
    let messages = &request.messages;
    let last_block = |m: usize| -> Option<(usize, usize)> {
        messages[m].content.len().checked_sub(1).map(|b| (m, b))
    };
    let mut wanted = Vec::new();
    // The context: the first user message's first block.
    if let Some(m) = messages.iter().position(|msg| msg.role == Role::User)
        && !messages[m].content.is_empty()
    {
        wanted.push((m, 0));
    }
    // The previous request's end: the message before the last assistant
    // message that precedes the final message.
    if let Some(last) = messages.len().checked_sub(1)
        && let Some(a) = messages[..last]
            .iter()
            .rposition(|msg| msg.role == Role::Assistant)
        && a > 0
    {
        wanted.extend(last_block(a - 1));
    }
    // The whole prompt.
    if let Some(last) = messages.len().checked_sub(1) {
        wanted.extend(last_block(last));
    }
    for position in wanted {
        if !marks.blocks.contains(&position) && marks.count() < MAX_CACHE_BREAKPOINTS {
            marks.blocks.push(position);
        }
    }
    marks
}

#[derive(Serialize, Clone, Copy)]
struct Ephemeral {
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    system: Vec<SystemBlock<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool<'a>>,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
}

#[derive(Serialize)]
struct SystemBlock<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<Ephemeral>,
}

#[derive(Serialize)]
struct Tool<'a> {
    name: &'a str,
    description: &'a str,
    input_schema: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<Ephemeral>,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: Vec<WireBlock<'a>>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireBlock<'a> {
    Text {
        text: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<Ephemeral>,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: &'a Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<Ephemeral>,
    },
    ToolResult {
        tool_use_id: &'a str,
        content: &'a str,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<Ephemeral>,
    },
}

/// Maps an Anthropic `stop_reason`.
pub fn map_stop_reason(reason: &str) -> StopReason {
    match reason {
        "end_turn" => StopReason::EndTurn,
        "tool_use" => StopReason::ToolUse,
        "max_tokens" => StopReason::MaxTokens,
        "stop_sequence" => StopReason::StopSequence,
        "refusal" => StopReason::Refusal,
        "pause_turn" => StopReason::PauseTurn,
        other => StopReason::Other(other.to_string()),
    }
}

fn u64_field(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

/// Reads a 2xx body: an event stream, or one JSON message when the server
/// answered with `application/json`.
fn read_response(
    body: &mut dyn Read,
    info: &ResponseInfo,
    observer: &mut dyn ProviderObserver,
) -> Result<ModelResponse, Failure> {
    if info.content_type.starts_with("application/json") {
        let mut raw = Vec::new();
        body.read_to_end(&mut raw).map_err(|e| {
            Failure::retryable(ProviderError::new(format!(
                "anthropic response interrupted: {e}"
            )))
        })?;
        return parse_message(&raw, info);
    }
    let mut assembly = Assembly::default();
    let stream = StreamEnd {
        vendor: "anthropic",
        end: "message_stop",
        unit: "event",
        done_data: None,
    };
    client::read_events(body, info, &stream, |data| {
        assembly.apply(data, info, observer)
    })?;
    Ok(assembly.finish())
}

/// A block being streamed.
enum Partial {
    Text(String),
    Tool {
        id: String,
        name: String,
        json: String,
    },
    /// A block type wf does not use (e.g. thinking); dropped.
    Skip,
}

/// The answer as the stream has built it so far.
#[derive(Default)]
struct Assembly {
    blocks: BTreeMap<u64, Partial>,
    stop_reason: Option<String>,
    usage: Usage,
}

impl Assembly {
    /// Applies one event; true once `message_stop` arrived.
    fn apply(
        &mut self,
        data: &Value,
        info: &ResponseInfo,
        observer: &mut dyn ProviderObserver,
    ) -> Result<bool, Failure> {
        let kind = data.get("type").and_then(Value::as_str).unwrap_or("");
        let index = u64_field(data, "index").unwrap_or(0);
        match kind {
            "message_start" => {
                if let Some(usage) = data.get("message").and_then(|m| m.get("usage")) {
                    merge_usage(&mut self.usage, usage);
                }
            }
            "content_block_start" => {
                let block = data.get("content_block").cloned().unwrap_or_default();
                let partial = match block.get("type").and_then(Value::as_str) {
                    Some("text") => Partial::Text(str_field(&block, "text").unwrap_or_default()),
                    Some("tool_use") => Partial::Tool {
                        id: str_field(&block, "id").unwrap_or_default(),
                        name: str_field(&block, "name").unwrap_or_default(),
                        json: String::new(),
                    },
                    _ => Partial::Skip,
                };
                self.blocks.insert(index, partial);
            }
            "content_block_delta" => {
                let delta = data.get("delta").cloned().unwrap_or_default();
                match (
                    self.blocks.get_mut(&index),
                    delta.get("type").and_then(Value::as_str),
                ) {
                    (Some(Partial::Text(text)), Some("text_delta")) => {
                        if let Some(piece) = delta.get("text").and_then(Value::as_str) {
                            text.push_str(piece);
                            observer.text_delta(piece);
                        }
                    }
                    (Some(Partial::Tool { json, .. }), Some("input_json_delta")) => {
                        if let Some(piece) = delta.get("partial_json").and_then(Value::as_str) {
                            json.push_str(piece);
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(reason) = data
                    .get("delta")
                    .and_then(|d| d.get("stop_reason"))
                    .and_then(Value::as_str)
                {
                    self.stop_reason = Some(reason.to_string());
                }
                if let Some(usage) = data.get("usage") {
                    merge_usage(&mut self.usage, usage);
                }
            }
            "message_stop" => return Ok(true),
            "error" => return Err(stream_error(data, info)),
            // A gateway's error chunk without Anthropic's `type` field.
            _ if data.get("error").is_some_and(|e| !e.is_null()) => {
                return Err(stream_error(data, info));
            }
            // ping, content_block_stop, and event types added later.
            _ => {}
        }
        Ok(false)
    }

    fn finish(self) -> ModelResponse {
        let content = self
            .blocks
            .into_values()
            .filter_map(|partial| match partial {
                // The API rejects empty text blocks when they are sent back.
                Partial::Text(text) if text.is_empty() => None,
                Partial::Text(text) => Some(Block::Text { text }),
                Partial::Tool { id, name, json } => Some(Block::ToolUse {
                    id,
                    name,
                    input: tool_input::from_text(&json),
                }),
                Partial::Skip => None,
            })
            .collect();
        ModelResponse {
            content,
            stop_reason: match self.stop_reason {
                Some(reason) => map_stop_reason(&reason),
                None => StopReason::Other("missing".to_string()),
            },
            usage: self.usage,
        }
    }
}

/// Takes the counts present in an Anthropic `usage` object; later events
/// (message_delta) carry cumulative figures, so present counts replace.
fn merge_usage(usage: &mut Usage, v: &Value) {
    if let Some(n) = u64_field(v, "input_tokens") {
        usage.input_tokens = Some(n);
    }
    if let Some(n) = u64_field(v, "output_tokens") {
        usage.output_tokens = Some(n);
    }
    if let Some(n) = u64_field(v, "cache_creation_input_tokens") {
        usage.cache_creation_input_tokens = n;
    }
    if let Some(n) = u64_field(v, "cache_read_input_tokens") {
        usage.cache_read_input_tokens = n;
    }
}

/// An `error` event (or error body) after HTTP 200: overloaded, internal
/// and rate-limit errors, or a server status in the body, are worth another
/// attempt; anything else is not ([`http::VendorError::retryable`]).
fn stream_error(data: &Value, info: &ResponseInfo) -> Failure {
    info.stream_error("anthropic", data)
}

/// Parses a whole (non-streamed) message.
fn parse_message(raw: &[u8], info: &ResponseInfo) -> Result<ModelResponse, Failure> {
    let v: Value = serde_json::from_slice(raw).map_err(|e| {
        Failure::retryable(ProviderError::new(format!(
            "anthropic sent a malformed response: {e}"
        )))
    })?;
    if v.get("type").and_then(Value::as_str) == Some("error") {
        return Err(stream_error(&v, info));
    }
    let mut content = Vec::new();
    for block in v
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => {
                let text = str_field(block, "text").unwrap_or_default();
                if !text.is_empty() {
                    content.push(Block::Text { text });
                }
            }
            Some("tool_use") => content.push(Block::ToolUse {
                id: str_field(block, "id").unwrap_or_default(),
                name: str_field(block, "name").unwrap_or_default(),
                input: match block.get("input") {
                    Some(input @ Value::Object(_)) => input.clone(),
                    Some(Value::String(raw)) => tool_input::from_text(raw),
                    _ => Value::Object(Default::default()),
                },
            }),
            _ => {}
        }
    }
    let mut usage = Usage::default();
    if let Some(u) = v.get("usage") {
        merge_usage(&mut usage, u);
    }
    Ok(ModelResponse {
        content,
        stop_reason: match v.get("stop_reason").and_then(Value::as_str) {
            Some(reason) => map_stop_reason(reason),
            None => StopReason::Other("missing".to_string()),
        },
        usage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Message, ToolDef};
    use serde_json::json;

    fn text(t: &str) -> Block {
        Block::Text { text: t.into() }
    }

    fn request(messages: Vec<Message>) -> ModelRequest {
        ModelRequest {
            model: "claude-sonnet-4-5".into(),
            max_tokens: 100,
            temperature: None,
            system: "sys".into(),
            tools: vec![ToolDef {
                name: "t".into(),
                description: "d".into(),
                input_schema: json!({"type": "object"}),
            }],
            messages,
        }
    }

    fn user(blocks: Vec<Block>) -> Message {
        Message {
            role: Role::User,
            content: blocks,
        }
    }

    fn assistant(blocks: Vec<Block>) -> Message {
        Message {
            role: Role::Assistant,
            content: blocks,
        }
    }

    #[test]
    fn every_stop_reason_maps() {
        assert_eq!(map_stop_reason("end_turn"), StopReason::EndTurn);
        assert_eq!(map_stop_reason("tool_use"), StopReason::ToolUse);
        assert_eq!(map_stop_reason("max_tokens"), StopReason::MaxTokens);
        assert_eq!(map_stop_reason("stop_sequence"), StopReason::StopSequence);
        assert_eq!(map_stop_reason("refusal"), StopReason::Refusal);
        assert_eq!(map_stop_reason("pause_turn"), StopReason::PauseTurn);
        assert_eq!(
            map_stop_reason("model_context_window_exceeded"),
            StopReason::Other("model_context_window_exceeded".into())
        );
    }

    #[test]
    fn breakpoints_first_turn() {
        let r = request(vec![user(vec![text("context"), text("task")])]);
        let b = cache_breakpoints(&r);
        assert!(b.system && !b.last_tool);
        assert_eq!(b.blocks, vec![(0, 0), (0, 1)]);
    }

    #[test]
    fn breakpoints_single_block_first_turn_deduplicated() {
        let r = request(vec![user(vec![text("context")])]);
        assert_eq!(cache_breakpoints(&r).blocks, vec![(0, 0)]);
        assert_eq!(cache_breakpoints(&r).count(), 2);
    }

    #[test]
    fn breakpoints_later_turn() {
        let r = request(vec![
            user(vec![text("context"), text("task")]),
            assistant(vec![text("a")]),
            user(vec![text("r1"), text("r2")]),
            assistant(vec![text("b")]),
            user(vec![text("r3")]),
        ]);
        let b = cache_breakpoints(&r);
        assert_eq!(b.blocks, vec![(0, 0), (2, 1), (4, 0)]);
        assert_eq!(b.count(), 4);
    }

    #[test]
    fn breakpoints_without_system_go_on_last_tool() {
        let mut r = request(vec![user(vec![text("x")])]);
        r.system.clear();
        let b = cache_breakpoints(&r);
        assert!(!b.system && b.last_tool);
        r.tools.clear();
        assert_eq!(cache_breakpoints(&r).count(), 1);
    }

    #[test]
    fn body_shape() {
        let r = request(vec![
            user(vec![text("ctx")]),
            assistant(vec![Block::ToolUse {
                id: "1".into(),
                name: "t".into(),
                input: json!("{not json"),
            }]),
            user(vec![Block::ToolResult {
                tool_use_id: "1".into(),
                content: "bad input".into(),
                is_error: true,
            }]),
        ]);
        let v: Value = serde_json::from_slice(&request_body(&r, true)).unwrap();
        assert_eq!(
            v,
            json!({
                "model": "claude-sonnet-4-5",
                "max_tokens": 100,
                "system": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
                "tools": [{"name": "t", "description": "d", "input_schema": {"type": "object"}}],
                "messages": [
                    {"role": "user", "content": [
                        {"type": "text", "text": "ctx", "cache_control": {"type": "ephemeral"}}]},
                    {"role": "assistant", "content": [
                        {"type": "tool_use", "id": "1", "name": "t", "input": {}}]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "1", "content": "bad input",
                         "is_error": true, "cache_control": {"type": "ephemeral"}}]}
                ],
                "stream": true
            })
        );
    }
}
