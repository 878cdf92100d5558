//! `provider: openai`: the OpenAI Chat Completions API, and any server that
//! speaks it (vLLM, llama.cpp, Ollama, LiteLLM, …).
//!
//! This module turns a [`ModelRequest`] into a `POST {base}/chat/completions`
//! body and the streamed (or, when a server answers with plain JSON, the
//! whole) response back into a [`ModelResponse`]. Sending, retrying and
//! error bodies are handled by [`super::http`].
//!
//! Mapping of the neutral conversation onto chat messages:
//! * the system prompt is a leading `role: system` message (omitted when
//!   empty);
//! * a user message's tool results become `role: tool` messages (with
//!   `tool_call_id`), placed first so they directly follow the assistant
//!   message that called the tools; its text blocks follow as one `role:
//!   user` message, joined with blank lines. Chat Completions has no error
//!   flag for tool results, so an error result's content is prefixed with
//!   `error: `;
//! * an assistant message becomes one `role: assistant` message with its
//!   text joined and its tool calls in `tool_calls` (arguments as JSON text;
//!   `{}` for an input that is not an object).
//!
//! OpenAI's reasoning models (`o1`, `o3`, `o4-…`, `gpt-5…`) take the output
//! cap as `max_completion_tokens`; every other model gets `max_tokens`,
//! which compatible servers understand.

use super::client::{self, HttpProvider, KeyNeed, StreamEnd, VendorApi};
use super::http::{self, ConfigError, Failure, HttpConfig, ResponseInfo, Vendor, str_field};
use super::{
    Block, ModelRequest, ModelResponse, ProviderError, ProviderObserver, Role, StopReason, Usage,
    tool_input,
};
use reqwest::header::{HeaderMap, HeaderName};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;

/// The API root used when `OPENAI_BASE_URL` is unset.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// The variable holding the API key (required for OpenAI's own API only).
pub const API_KEY_ENV: &str = "OPENAI_API_KEY";
/// The variable that overrides the API root (with `/v1` where the server
/// has it).
pub const BASE_URL_ENV: &str = "OPENAI_BASE_URL";

/// The configuration from the environment, read through `lookup` (pass
/// `|name| std::env::var(name).ok()` for the real one): the key from
/// `OPENAI_API_KEY` (required at api.openai.com, an error naming the
/// variables when unset; optional elsewhere: local servers need none), the root from
/// `OPENAI_BASE_URL` (default [`DEFAULT_BASE_URL`]). Empty values count as
/// unset.
pub fn config_from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Result<HttpConfig, ConfigError> {
    client::config_from_env::<OpenAi>(lookup)
}

/// The Chat Completions API, as [`HttpProvider`] speaks it.
#[derive(Debug)]
pub struct OpenAi;

/// The Chat Completions backend; the key is optional except at OpenAI's
/// own API.
pub type OpenAiProvider = HttpProvider<OpenAi>;

impl VendorApi for OpenAi {
    const VENDOR: Vendor = Vendor {
        name: "openai",
        request_id_header: "x-request-id",
        parse_error: http::parse_error_body,
        base_url_rule: "OPENAI_BASE_URL must be the API root including /v1 (wf appends /chat/completions), e.g. http://localhost:8080/v1",
    };
    const PATH: &'static str = "/chat/completions";
    const DEFAULT_BASE_URL: &'static str = DEFAULT_BASE_URL;
    const API_KEY_ENV: &'static str = API_KEY_ENV;
    const BASE_URL_ENV: &'static str = BASE_URL_ENV;
    const KEY_NAME: &'static str = "openai api key";
    const KEY_NEED: KeyNeed = KeyNeed::AtDefaultHost;

    fn headers(config: &HttpConfig) -> Result<HeaderMap, ProviderError> {
        let mut headers = HeaderMap::new();
        if let Some(key) = &config.api_key {
            let value = http::secret_header(&format!("Bearer {}", key.expose()))?;
            headers.insert(HeaderName::from_static("authorization"), value);
        }
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

/// Whether `model` is one of OpenAI's reasoning models, which take
/// `max_completion_tokens` instead of `max_tokens`.
pub fn is_reasoning_model(model: &str) -> bool {
    let m = model.to_ascii_lowercase();
    let m = m.rsplit('/').next().unwrap_or(&m);
    let o_series = m.starts_with('o') && m[1..].starts_with(|c: char| c.is_ascii_digit());
    o_series || m.starts_with("gpt-5")
}

/// The JSON body for `request`: the same request always gives the same bytes.
pub fn request_body(request: &ModelRequest, stream: bool) -> Vec<u8> {
    let mut messages = Vec::new();
    if !request.system.is_empty() {
        messages.push(WireMessage {
            role: "system",
            content: Some(request.system.clone()),
            ..WireMessage::default()
        });
    }
    for message in &request.messages {
        let texts: Vec<&str> = message
            .content
            .iter()
            .filter_map(|b| match b {
                Block::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        let joined = (!texts.is_empty()).then(|| texts.join("\n\n"));
        match message.role {
            Role::User => {
                for block in &message.content {
                    if let Block::ToolResult {
                        tool_use_id,
                        content,
                        is_error,
                    } = block
                    {
                        messages.push(WireMessage {
                            role: "tool",
                            content: Some(if *is_error {
                                format!("error: {content}")
                            } else {
                                content.clone()
                            }),
                            tool_call_id: Some(tool_use_id.clone()),
                            ..WireMessage::default()
                        });
                    }
                }
                if let Some(text) = joined {
                    messages.push(WireMessage {
                        role: "user",
                        content: Some(text),
                        ..WireMessage::default()
                    });
                }
            }
            Role::Assistant => {
                let tool_calls = message
                    .content
                    .iter()
                    .filter_map(|b| match b {
                        Block::ToolUse { id, name, input } => Some(WireToolCall {
                            id: id.clone(),
                            kind: "function",
                            function: WireFunctionCall {
                                name: name.clone(),
                                arguments: if tool_input::is_sendable(input) {
                                    input.to_string()
                                } else {
                                    "{}".to_string()
                                },
                            },
                        }),
                        _ => None,
                    })
                    .collect();
                messages.push(WireMessage {
                    role: "assistant",
                    content: joined,
                    tool_calls,
                    ..WireMessage::default()
                });
            }
        }
    }
    let tools = request
        .tools
        .iter()
        .map(|t| WireTool {
            kind: "function",
            function: WireFunction {
                name: &t.name,
                description: &t.description,
                parameters: &t.input_schema,
            },
        })
        .collect();
    let reasoning = is_reasoning_model(&request.model);
    let body = WireRequest {
        model: &request.model,
        messages,
        tools,
        max_tokens: (!reasoning).then_some(request.max_tokens),
        max_completion_tokens: reasoning.then_some(request.max_tokens),
        temperature: request.temperature,
        stream,
        stream_options: stream.then_some(StreamOptions {
            include_usage: true,
        }),
    };
    serde_json::to_vec(&body).expect("request body serializes")
}

#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize, Default)]
struct WireMessage {
    role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<WireToolCall>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<String>,
}

#[derive(Serialize)]
struct WireToolCall {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunctionCall,
}

#[derive(Serialize)]
struct WireFunctionCall {
    name: String,
    arguments: String,
}

#[derive(Serialize)]
struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunction<'a>,
}

#[derive(Serialize)]
struct WireFunction<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
}

/// Maps a Chat Completions `finish_reason`.
pub fn map_finish_reason(reason: &str) -> StopReason {
    match reason {
        "stop" => StopReason::EndTurn,
        "tool_calls" => StopReason::ToolUse,
        "length" => StopReason::MaxTokens,
        "content_filter" => StopReason::Refusal,
        other => StopReason::Other(other.to_string()),
    }
}

/// Usage from a Chat Completions `usage` object; `None` when it has no
/// prompt or completion count.
fn parse_usage(v: &Value) -> Option<Usage> {
    if !v.is_object() {
        return None;
    }
    let prompt = v.get("prompt_tokens").and_then(Value::as_u64);
    let completion = v.get("completion_tokens").and_then(Value::as_u64);
    if prompt.is_none() && completion.is_none() {
        return None;
    }
    let cached = v
        .get("prompt_tokens_details")
        .and_then(|d| d.get("cached_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Some(Usage {
        input_tokens: prompt.map(|p| p.saturating_sub(cached)),
        output_tokens: completion,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: cached,
        estimated: false,
    })
}

/// Reads a 2xx body: an event stream, or one JSON completion when the
/// server answered with `application/json`.
fn read_response(
    body: &mut dyn Read,
    info: &ResponseInfo,
    observer: &mut dyn ProviderObserver,
) -> Result<ModelResponse, Failure> {
    if info.content_type.starts_with("application/json") {
        let mut raw = Vec::new();
        body.read_to_end(&mut raw)
            .map_err(|e| info.failure(format!("openai response interrupted: {e}"), true))?;
        return parse_completion(&raw, info);
    }
    let mut assembly = Assembly::default();
    let stream = StreamEnd {
        vendor: "openai",
        end: "[DONE]",
        unit: "chunk",
        done_data: Some("[DONE]"),
    };
    client::read_events(body, info, &stream, |chunk| {
        assembly.apply(chunk, info, observer).map(|()| false)
    })?;
    Ok(assembly.finish())
}

/// A tool call being streamed.
#[derive(Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

/// The answer as the stream has built it so far.
#[derive(Default)]
struct Assembly {
    text: String,
    refused: bool,
    calls: BTreeMap<u64, PartialCall>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

impl Assembly {
    fn apply(
        &mut self,
        chunk: &Value,
        info: &ResponseInfo,
        observer: &mut dyn ProviderObserver,
    ) -> Result<(), Failure> {
        // OpenAI, vLLM, LiteLLM and OpenRouter send `{"error": …}` as a
        // chunk; whether it is retried depends on its status or kind.
        if chunk.get("error").is_some_and(|e| !e.is_null()) {
            return Err(info.stream_error("openai", chunk));
        }
        if let Some(usage) = chunk.get("usage").and_then(parse_usage) {
            self.usage = Some(usage);
        }
        let Some(choice) = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| {
                c.iter()
                    .find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
            })
        else {
            return Ok(());
        };
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_string());
        }
        let Some(delta) = choice.get("delta") else {
            return Ok(());
        };
        if let Some(piece) = delta.get("content").and_then(Value::as_str) {
            self.text.push_str(piece);
            observer.text_delta(piece);
        }
        if let Some(piece) = delta.get("refusal").and_then(Value::as_str) {
            self.refused = true;
            self.text.push_str(piece);
            observer.text_delta(piece);
        }
        for call in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
            let partial = self.calls.entry(index).or_default();
            if let Some(id) = call.get("id").and_then(Value::as_str) {
                partial.id = id.to_string();
            }
            if let Some(function) = call.get("function") {
                if let Some(name) = function.get("name").and_then(Value::as_str) {
                    partial.name.push_str(name);
                }
                if let Some(args) = function.get("arguments").and_then(Value::as_str) {
                    partial.arguments.push_str(args);
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> ModelResponse {
        let mut content = Vec::new();
        if !self.text.is_empty() {
            content.push(Block::Text { text: self.text });
        }
        content.extend(self.calls.into_values().map(|call| Block::ToolUse {
            id: call.id,
            name: call.name,
            input: tool_input::from_text(&call.arguments),
        }));
        let stop_reason = match (self.refused, self.finish_reason) {
            (true, _) => StopReason::Refusal,
            (false, Some(reason)) => map_finish_reason(&reason),
            (false, None) => StopReason::Other("missing".to_string()),
        };
        ModelResponse {
            content,
            stop_reason,
            usage: self.usage.unwrap_or_default(),
        }
    }
}

/// Parses a whole (non-streamed) completion.
fn parse_completion(raw: &[u8], info: &ResponseInfo) -> Result<ModelResponse, Failure> {
    let v: Value = serde_json::from_slice(raw)
        .map_err(|e| info.failure(format!("openai sent a malformed response: {e}"), true))?;
    let mut assembly = Assembly::default();
    let mut sink = super::NoObserver;
    if v.get("error").is_some_and(|e| !e.is_null()) {
        assembly.apply(&v, info, &mut sink)?;
    }
    if let Some(usage) = v.get("usage").and_then(parse_usage) {
        assembly.usage = Some(usage);
    }
    let choice = v
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .cloned()
        .unwrap_or_default();
    assembly.finish_reason = str_field(&choice, "finish_reason");
    let message = choice.get("message").cloned().unwrap_or_default();
    if let Some(text) = message.get("content").and_then(Value::as_str) {
        assembly.text.push_str(text);
    }
    if let Some(refusal) = message.get("refusal").and_then(Value::as_str) {
        assembly.refused = true;
        assembly.text.push_str(refusal);
    }
    for (i, call) in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let function = call.get("function").cloned().unwrap_or_default();
        assembly.calls.insert(
            i as u64,
            PartialCall {
                id: str_field(call, "id").unwrap_or_default(),
                name: str_field(&function, "name").unwrap_or_default(),
                arguments: str_field(&function, "arguments").unwrap_or_default(),
            },
        );
    }
    Ok(assembly.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finish_reasons_map() {
        assert_eq!(map_finish_reason("stop"), StopReason::EndTurn);
        assert_eq!(map_finish_reason("tool_calls"), StopReason::ToolUse);
        assert_eq!(map_finish_reason("length"), StopReason::MaxTokens);
        assert_eq!(map_finish_reason("content_filter"), StopReason::Refusal);
        assert_eq!(
            map_finish_reason("function_call"),
            StopReason::Other("function_call".into())
        );
    }

    #[test]
    fn reasoning_models_detected() {
        for m in [
            "o1",
            "o3-mini",
            "o4-mini-2025-04-16",
            "gpt-5",
            "gpt-5-mini",
            "openai/o3",
        ] {
            assert!(is_reasoning_model(m), "{m}");
        }
        for m in [
            "gpt-4o",
            "gpt-4.1-mini",
            "llama3",
            "omni-model",
            "qwen2.5-coder",
        ] {
            assert!(!is_reasoning_model(m), "{m}");
        }
    }

    #[test]
    fn usage_with_and_without_cache() {
        let u = parse_usage(&json!({"prompt_tokens": 100, "completion_tokens": 7,
            "prompt_tokens_details": {"cached_tokens": 64}}))
        .unwrap();
        assert_eq!(u.input_tokens, Some(36));
        assert_eq!(u.cache_read_input_tokens, 64);
        assert_eq!(u.output_tokens, Some(7));
        assert_eq!(parse_usage(&Value::Null), None);
        assert_eq!(parse_usage(&json!({})), None);
    }
}
