//! `provider: anthropic` against the scripted server: recorded streams,
//! a replayed recorded conversation, every injected fault, secrets and
//! request determinism.

use super::server::{Framing, Recorded, Reply, TestServer, dead_url};
use super::*;
use serde_json::{Value, json};
use std::time::Duration;
use wf::provider::anthropic::{self, AnthropicProvider};
use wf::provider::{
    Block, ModelRequest, ModelResponse, Provider, ProviderError, StopReason, Usage,
};

const KEY: &str = "sk-ant-test-KEY-0123456789abcdef";

fn provider(url: &str) -> AnthropicProvider {
    AnthropicProvider::new(fast_config(url, Some(KEY))).unwrap()
}

/// Runs one request against `script`.
fn run(
    script: Vec<Reply>,
    request: &ModelRequest,
) -> (
    Result<ModelResponse, ProviderError>,
    Recorder,
    Vec<Recorded>,
) {
    let server = TestServer::start(script);
    let mut observer = Recorder::default();
    let result = provider(&server.url).complete(request, &mut observer);
    (result, observer, server.requests())
}

fn request() -> ModelRequest {
    simple_request("claude-haiku-4-5", "What is the weather in SF?")
}

/// An event stream of `events`, each named after its `type`.
fn sse_of(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| format!("event: {}\ndata: {}\n\n", e["type"].as_str().unwrap(), e))
        .collect()
}

/// A complete stream with one tool_use block whose input arrives as `chunks`.
fn tool_stream(chunks: &[&str]) -> String {
    let mut events = vec![
        json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
            "content": [], "model": "claude-haiku-4-5", "stop_reason": null,
            "usage": {"input_tokens": 20, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "tool_use", "id": "toolu_X", "name": "read_file", "input": {}}}),
    ];
    for c in chunks {
        events.push(json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": c}}));
    }
    events.extend([
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
            "usage": {"output_tokens": 9}}),
        json!({"type": "message_stop"}),
    ]);
    sse_of(&events)
}

fn ok_stream() -> Reply {
    Reply::sse(fixture("anthropic_stream_text_only.sse"))
}

fn assert_hello(result: Result<ModelResponse, ProviderError>) {
    let response = result.expect("success");
    assert_eq!(response.content, vec![text("Hello there!")]);
    assert_eq!(response.stop_reason, StopReason::EndTurn);
}

// ---------------------------------------------------------------- fixtures --

#[test]
fn fixture_tool_use_stream_without_final_blank_line() {
    let body = fixture("anthropic_stream_tool_use.sse");
    assert!(
        !body.ends_with(b"\n\n"),
        "the fixture ends without a blank line"
    );
    // Close-delimited, so the decoder really sees EOF right after message_stop.
    let (result, observer, requests) =
        run(vec![Reply::sse(body).framing(Framing::Close)], &request());
    let response = result.unwrap();
    assert_eq!(
        response.content,
        vec![
            text("I'll check the current weather in Paris for you."),
            Block::ToolUse {
                id: "toolu_01NRLabsLyVHZPKxbKvkfSMn".into(),
                name: "get_weather".into(),
                input: json!({"location": "Paris"}),
            },
        ]
    );
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: Some(377),
            output_tokens: Some(65),
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            estimated: false,
        }
    );
    assert_eq!(
        observer.text,
        "I'll check the current weather in Paris for you."
    );
    assert!(observer.retries.is_empty());
    assert_eq!(requests.len(), 1);
}

#[test]
fn fixture_live_padded_tool_use_stream() {
    let body = fixture("anthropic_stream_tool_use_live_padded.sse");
    assert!(String::from_utf8_lossy(&body).contains("\"index\":0             }"));
    let (result, _, _) = run(vec![Reply::sse(body)], &request());
    let response = result.unwrap();
    assert_eq!(
        response.content,
        vec![Block::ToolUse {
            id: "toolu_018acGYLtfR52q9yDbWaEdQZ".into(),
            name: "get_weather".into(),
            input: json!({"location": "San Francisco, CA", "units": "f"}),
        }]
    );
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(response.usage.input_tokens, Some(656));
    assert_eq!(response.usage.output_tokens, Some(74));
}

#[test]
fn fixture_live_padded_text_stream() {
    let body = fixture("anthropic_stream_text_after_tool_result_live_padded.sse");
    let (result, observer, _) = run(vec![Reply::sse(body)], &request());
    let response = result.unwrap();
    let expected = "The weather in San Francisco, CA is currently:\n- **Temperature:** 68°F\n- **Condition:** Sunny\n\nIt's a nice sunny day!";
    assert_eq!(response.content, vec![text(expected)]);
    assert_eq!(observer.text, expected);
    assert_eq!(response.stop_reason, StopReason::EndTurn);
    assert_eq!(response.usage.input_tokens, Some(770));
    assert_eq!(response.usage.output_tokens, Some(38));
}

#[test]
fn fixture_text_only_stream() {
    let (result, observer, _) = run(vec![ok_stream()], &request());
    let response = result.unwrap();
    assert_eq!(response.content, vec![text("Hello there!")]);
    assert_eq!(observer.text, "Hello there!");
    assert_eq!(response.usage.input_tokens, Some(11));
    assert_eq!(response.usage.output_tokens, Some(6));
}

#[test]
fn fixture_whole_json_message_when_server_does_not_stream() {
    let headers = fixture_json("anthropic_response_tool_use.headers.json");
    let request_id = headers["rawHeaders"]["request-id"].as_str().unwrap();
    let reply = Reply::json(200, fixture("anthropic_response_tool_use.json"))
        .header("request-id", request_id);
    let server = TestServer::start(vec![reply]);
    let mut p = provider(&server.url);
    p.set_streaming(false);
    let response = p.complete(&request(), &mut Recorder::default()).unwrap();
    assert_eq!(
        response.content,
        vec![
            text(
                "I'll use the test_tool with the value \"test\" as requested, then provide a final response."
            ),
            Block::ToolUse {
                id: "toolu_01Ff6oGJapCYgEPy4WkqkoMJ".into(),
                name: "test_tool".into(),
                input: json!({"value": "test"}),
            },
        ]
    );
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(response.usage.input_tokens, Some(415));
    assert_eq!(response.usage.output_tokens, Some(76));
    assert_eq!(server.requests()[0].json().get("stream"), None);
}

// ------------------------------------------------------------ the request --

#[test]
fn request_line_and_headers() {
    let (result, _, requests) = run(vec![ok_stream()], &request());
    result.unwrap();
    let r = &requests[0];
    let recorded = fixture_json("anthropic_request_headers_recorded.json");
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v1/messages");
    assert_eq!(r.header("x-api-key"), Some(KEY));
    assert_eq!(
        r.header("anthropic-version"),
        recorded["anthropic-version"].as_str()
    );
    assert_eq!(r.header("anthropic-version"), Some(anthropic::API_VERSION));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.header("authorization"),
        None,
        "x-api-key only, never both"
    );
    assert_eq!(r.json()["stream"], json!(true));
}

#[test]
fn same_request_gives_byte_identical_bodies() {
    let server = TestServer::start(vec![ok_stream(), ok_stream()]);
    let mut p = provider(&server.url);
    let mut r = request();
    r.temperature = Some(0.2);
    r.messages.push(assistant(vec![Block::ToolUse {
        id: "t1".into(),
        name: "get_weather".into(),
        input: json!({"units": "f", "location": "SF", "nested": {"z": 1, "a": [1, 2]}}),
    }]));
    r.messages.push(user(vec![Block::ToolResult {
        tool_use_id: "t1".into(),
        content: "sunny".into(),
        is_error: false,
    }]));
    p.complete(&r, &mut Recorder::default()).unwrap();
    p.complete(&r.clone(), &mut Recorder::default()).unwrap();
    let requests = server.requests();
    assert_eq!(requests[0].body, requests[1].body);
    assert_eq!(anthropic::request_body(&r, true), requests[0].body);
    assert_eq!(
        anthropic::request_body(&r, true),
        anthropic::request_body(&r.clone(), true)
    );
}

/// Recorded request bodies with what wf adds or the SDK added taken out:
/// cache markers, `stream`, the echoed `caller`, and string content written
/// as a text block.
fn normalize(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.remove("cache_control");
                map.remove("caller");
                if let Some(Value::String(s)) = map.get("content")
                    && map.get("role").is_some()
                {
                    let block = json!([{"type": "text", "text": s}]);
                    map.insert("content".into(), block);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    v.as_object_mut().unwrap().remove("stream");
    strip(&mut v);
    v
}

#[test]
fn replays_recorded_tool_conversation_non_streaming() {
    // The recorded cassette: the model calls get_weather, the tool fails
    // (is_error), the model answers. Serve its recorded answers and compare
    // what wf sends with what the official SDK sent.
    let cassette = fixture_json("anthropic_cassette_tool_result_is_error.json");
    let script = cassette
        .as_array()
        .unwrap()
        .iter()
        .map(|i| Reply::json(200, serde_json::to_vec(&i["response"]["body"]).unwrap()))
        .collect();
    let server = TestServer::start(script);
    let mut p = provider(&server.url);
    p.set_streaming(false);
    let mut r = request();
    r.system.clear();

    let first = p.complete(&r, &mut Recorder::default()).unwrap();
    assert_eq!(first.stop_reason, StopReason::ToolUse);
    assert_eq!(first.usage.input_tokens, Some(656));
    let Block::ToolUse { id, .. } = &first.content[0] else {
        panic!("tool use expected: {first:?}");
    };
    let id = id.clone();
    r.messages.push(assistant(first.content));
    r.messages.push(user(vec![Block::ToolResult {
        tool_use_id: id,
        content: "RuntimeError('Unexpected error, try again')".into(),
        is_error: true,
    }]));
    let second = p.complete(&r, &mut Recorder::default()).unwrap();
    assert_eq!(second.stop_reason, StopReason::EndTurn);
    assert!(
        matches!(&second.content[..], [Block::Text { text }] if text.starts_with("I apologize"))
    );
    assert_eq!(second.usage.output_tokens, Some(63));

    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    for (i, interaction) in cassette.as_array().unwrap().iter().enumerate() {
        assert_eq!(
            normalize(sent[i].json()),
            normalize(interaction["request"]["body"].clone()),
            "request {i}"
        );
    }
    assert_eq!(
        normalize(sent[1].json()),
        normalize(fixture_json("anthropic_request_tool_result_is_error.json"))
    );
}

#[test]
fn streamed_multi_turn_tool_conversation() {
    let server = TestServer::start(vec![
        Reply::sse(fixture("anthropic_stream_tool_use_live_padded.sse")),
        Reply::sse(fixture(
            "anthropic_stream_text_after_tool_result_live_padded.sse",
        )),
    ]);
    let mut p = provider(&server.url);
    let mut r = request();
    let mut observer = Recorder::default();
    let first = p.complete(&r, &mut observer).unwrap();
    r.messages.push(assistant(first.content.clone()));
    r.messages.push(user(vec![Block::ToolResult {
        tool_use_id: "toolu_018acGYLtfR52q9yDbWaEdQZ".into(),
        content: "68°F, sunny".into(),
        is_error: false,
    }]));
    let second = p.complete(&r, &mut observer).unwrap();
    assert_eq!(second.stop_reason, StopReason::EndTurn);
    assert!(observer.text.ends_with("It's a nice sunny day!"));

    let body = server.requests()[1].json();
    assert_eq!(
        body["messages"][1]["content"][0],
        json!({"type": "tool_use", "id": "toolu_018acGYLtfR52q9yDbWaEdQZ", "name": "get_weather",
               "input": {"location": "San Francisco, CA", "units": "f"}})
    );
    assert_eq!(
        body["messages"][2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "toolu_018acGYLtfR52q9yDbWaEdQZ",
               "content": "68°F, sunny", "cache_control": {"type": "ephemeral"}})
    );
    assert_eq!(
        body["system"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert_eq!(
        body["messages"][0]["content"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert_eq!(body.to_string().matches("cache_control").count(), 3);
}

#[test]
fn usage_with_cache_counts_and_cumulative_message_delta() {
    let stream = sse_of(&[
        json!({"type": "message_start", "message": {"usage": {"input_tokens": 10,
            "cache_creation_input_tokens": 2000, "cache_read_input_tokens": 30000, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ok"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 55}}),
        json!({"type": "message_stop"}),
    ]);
    let (result, _, _) = run(vec![Reply::sse(stream)], &request());
    assert_eq!(
        result.unwrap().usage,
        Usage {
            input_tokens: Some(10),
            output_tokens: Some(55),
            cache_creation_input_tokens: 2000,
            cache_read_input_tokens: 30000,
            estimated: false,
        }
    );
}

#[test]
fn unknown_events_blocks_and_stop_reasons_tolerated() {
    let stream = sse_of(&[
        json!({"type": "message_start", "message": {"usage": {"input_tokens": 5, "output_tokens": 1}}}),
        json!({"type": "future_event", "whatever": [1, 2, 3]}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hmm"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "ping"}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "cut"}}),
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "message_delta", "delta": {"stop_reason": "model_context_window_exceeded"},
               "usage": {"output_tokens": 3}}),
        json!({"type": "message_stop"}),
    ]);
    let stream = format!(": a comment line\n\n{stream}");
    let (result, observer, _) = run(vec![Reply::sse(stream)], &request());
    let response = result.unwrap();
    assert_eq!(response.content, vec![text("cut")]);
    assert_eq!(observer.text, "cut");
    assert_eq!(
        response.stop_reason,
        StopReason::Other("model_context_window_exceeded".into())
    );
}

#[test]
fn empty_text_block_dropped() {
    // Sending an empty text block back would be rejected by the API.
    let stream = sse_of(&[
        json!({"type": "message_start", "message": {"usage": {"input_tokens": 5, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1,
               "content_block": {"type": "tool_use", "id": "toolu_E", "name": "run_tests", "input": {}}}),
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 3}}),
        json!({"type": "message_stop"}),
    ]);
    let (result, _, _) = run(vec![Reply::sse(stream)], &request());
    assert_eq!(
        result.unwrap().content,
        vec![Block::ToolUse {
            id: "toolu_E".into(),
            name: "run_tests".into(),
            input: json!({}),
        }]
    );
}

#[test]
fn every_stop_reason_arrives_mapped() {
    let cases = [
        ("end_turn", StopReason::EndTurn),
        ("tool_use", StopReason::ToolUse),
        ("max_tokens", StopReason::MaxTokens),
        ("stop_sequence", StopReason::StopSequence),
        ("refusal", StopReason::Refusal),
        ("pause_turn", StopReason::PauseTurn),
        ("brand_new", StopReason::Other("brand_new".into())),
    ];
    let script = cases
        .iter()
        .map(|(reason, _)| {
            Reply::sse(sse_of(&[
                json!({"type": "message_start", "message": {"usage": {"input_tokens": 1}}}),
                json!({"type": "message_delta", "delta": {"stop_reason": reason}, "usage": {"output_tokens": 1}}),
                json!({"type": "message_stop"}),
            ]))
        })
        .collect();
    let server = TestServer::start(script);
    let mut p = provider(&server.url);
    for (_, expected) in cases {
        let response = p.complete(&request(), &mut Recorder::default()).unwrap();
        assert_eq!(response.stop_reason, expected);
    }
}

// -------------------------------------------------------------- tool input --

#[test]
fn malformed_tool_input_kept_raw_and_sent_back_as_empty_object() {
    let server = TestServer::start(vec![
        Reply::sse(tool_stream(&["", "{\"path\": ", "\"src/ma", "in.rs\""])),
        ok_stream(),
    ]);
    let mut p = provider(&server.url);
    let mut r = request();
    let response = p.complete(&r, &mut Recorder::default()).unwrap();
    assert_eq!(
        response.content,
        vec![Block::ToolUse {
            id: "toolu_X".into(),
            name: "read_file".into(),
            input: json!("{\"path\": \"src/main.rs\""),
        }]
    );
    r.messages.push(assistant(response.content));
    r.messages.push(user(vec![Block::ToolResult {
        tool_use_id: "toolu_X".into(),
        content: "tool input is not valid JSON".into(),
        is_error: true,
    }]));
    p.complete(&r, &mut Recorder::default()).unwrap();
    let body = server.requests()[1].json();
    assert_eq!(body["messages"][1]["content"][0]["input"], json!({}));
    assert_eq!(body["messages"][2]["content"][0]["is_error"], json!(true));
}

#[test]
fn empty_tool_input_means_empty_object() {
    let (result, _, _) = run(vec![Reply::sse(tool_stream(&[""]))], &request());
    let response = result.unwrap();
    assert!(matches!(&response.content[0], Block::ToolUse { input, .. } if *input == json!({})));
    let (result, _, _) = run(vec![Reply::sse(tool_stream(&[]))], &request());
    assert!(
        matches!(&result.unwrap().content[0], Block::ToolUse { input, .. } if *input == json!({}))
    );
}

#[test]
fn tool_input_split_at_every_position() {
    let full = r#"{"path": "a/b.rs", "lines": [1, 2], "note": "x\"y"}"#;
    let script = (0..=full.len())
        .filter(|i| full.is_char_boundary(*i))
        .map(|i| Reply::sse(tool_stream(&["", &full[..i], &full[i..]])))
        .collect::<Vec<_>>();
    let n = script.len();
    let server = TestServer::start(script);
    let mut p = provider(&server.url);
    for _ in 0..n {
        let response = p.complete(&request(), &mut Recorder::default()).unwrap();
        let Block::ToolUse { input, .. } = &response.content[0] else {
            panic!()
        };
        assert_eq!(*input, serde_json::from_str::<Value>(full).unwrap());
    }
}

// ------------------------------------------------------------------ faults --

#[test]
fn error_event_after_200_overloaded_is_retried() {
    let (result, observer, requests) = run(
        vec![
            Reply::sse(fixture("anthropic_stream_error_event.sse")),
            ok_stream(),
        ],
        &request(),
    );
    assert_hello(result);
    assert_eq!(requests.len(), 2);
    assert_eq!(observer.retries.len(), 1);
    assert_eq!(observer.retries[0].0, 1);
    assert!(
        observer.retries[0]
            .1
            .contains("overloaded_error: Overloaded"),
        "{:?}",
        observer.retries
    );
}

#[test]
fn error_event_after_200_api_error_retried_other_fatal() {
    let event = |kind: &str| {
        sse_of(&[
            json!({"type": "message_start", "message": {"usage": {"input_tokens": 1}}}),
            json!({"type": "error", "error": {"type": kind, "message": "boom"}}),
        ])
    };
    let (result, observer, _) = run(
        vec![Reply::sse(event("api_error")), ok_stream()],
        &request(),
    );
    assert_hello(result);
    assert_eq!(observer.retries.len(), 1);

    let (result, observer, requests) = run(
        vec![
            Reply::sse(event("invalid_request_error")).header("request-id", "req_stream"),
            ok_stream(),
        ],
        &request(),
    );
    let error = result.unwrap_err();
    assert_eq!(requests.len(), 1);
    assert!(observer.retries.is_empty());
    assert_eq!(
        error.message,
        "anthropic stream error invalid_request_error: boom (request id req_stream)"
    );
    assert_eq!(error.request_id.as_deref(), Some("req_stream"));
}

#[test]
fn http_429_retry_after_is_honoured_and_capped() {
    let recorded = fixture_json("anthropic_error_429.http.json");
    let body = serde_json::to_vec(&recorded["body"]).unwrap();
    let should_retry = recorded["headers"]["x-should-retry"].as_str().unwrap();
    // retry-after 1 s is above the test cap of 50 ms: the wait is capped.
    let (result, observer, _) = run(
        vec![
            Reply::json(429, &body)
                .header("x-should-retry", should_retry)
                .header("retry-after", "1"),
            ok_stream(),
        ],
        &request(),
    );
    assert_hello(result);
    assert_eq!(observer.retries.len(), 1);
    let (attempt, reason, wait) = &observer.retries[0];
    assert_eq!((*attempt, *wait), (1, Duration::from_millis(50)));
    assert!(
        reason.starts_with("anthropic http 429: rate_limit_error: This request would exceed"),
        "{reason}"
    );
    assert!(
        reason.ends_with("(request id req_011CYK5mje9HkutJtmfPzzNC)"),
        "{reason}"
    );

    // retry-after-ms wins over retry-after.
    let (result, observer, _) = run(
        vec![
            Reply::json(429, &body)
                .header("retry-after", "1")
                .header("retry-after-ms", "20"),
            ok_stream(),
        ],
        &request(),
    );
    assert_hello(result);
    assert_eq!(observer.retries[0].2, Duration::from_millis(20));
}

#[test]
fn http_529_overloaded_is_retried() {
    let (result, observer, requests) = run(
        vec![
            Reply::json(529, fixture("anthropic_error_529.json")),
            ok_stream(),
        ],
        &request(),
    );
    assert_hello(result);
    assert_eq!(requests.len(), 2);
    assert!(
        observer.retries[0]
            .1
            .contains("http 529: overloaded_error: Overloaded")
    );
}

#[test]
fn http_500_retried_until_attempts_run_out() {
    let body = r#"{"type":"error","error":{"type":"api_error","message":"Internal server error"}}"#;
    let (result, observer, requests) = run(
        vec![
            Reply::json(500, body),
            Reply::json(500, body),
            Reply::json(500, body),
            ok_stream(),
        ],
        &request(),
    );
    let error = result.unwrap_err();
    assert_eq!(requests.len(), 3);
    assert_eq!(error.status, Some(500));
    assert_eq!(
        error.message,
        "anthropic http 500: api_error: Internal server error (gave up after 3 attempts)"
    );
    let attempts: Vec<u32> = observer.retries.iter().map(|r| r.0).collect();
    assert_eq!(attempts, vec![1, 2]);
    // Exponential backoff within the configured bounds (1 ms base, 4 ms cap).
    assert!(
        observer
            .retries
            .iter()
            .all(|r| r.2 <= Duration::from_millis(4))
    );
    assert!(observer.retries[1].2 > observer.retries[0].2);
}

#[test]
fn other_retryable_statuses() {
    for status in [408, 409, 502, 503] {
        let (result, observer, _) = run(vec![Reply::json(status, ""), ok_stream()], &request());
        assert_hello(result);
        assert_eq!(observer.retries.len(), 1, "{status}");
        assert!(
            observer.retries[0]
                .1
                .contains(&format!("http {status}: no error message"))
        );
    }
}

#[test]
fn http_400_not_retried_with_vendor_message_and_request_id() {
    let recorded = fixture_json("anthropic_error_400.http.json");
    let body = serde_json::to_vec(&recorded["body"]).unwrap();
    let (result, observer, requests) = run(
        vec![
            Reply::json(400, &body)
                .header("x-should-retry", "false")
                .header("request-id", "req_from_header"),
            ok_stream(),
        ],
        &request(),
    );
    let error = result.unwrap_err();
    assert_eq!(requests.len(), 1);
    assert!(observer.retries.is_empty());
    assert_eq!(error.status, Some(400));
    assert_eq!(error.request_id.as_deref(), Some("req_from_header"));
    assert!(error.message.starts_with(
        "anthropic http 400: invalid_request_error: messages.0.content.1: unexpected `tool_use_id`"
    ));
    assert!(error.message.ends_with("(request id req_from_header)"));

    // Without the header, the body's request_id is used.
    let (result, _, _) = run(vec![Reply::json(400, &body)], &request());
    assert_eq!(
        result.unwrap_err().request_id.as_deref(),
        Some("req_011CYHyk9NPsBYeGbC9LuDNK")
    );
}

#[test]
fn client_errors_not_retried() {
    for status in [401, 403, 404] {
        let (result, observer, requests) = run(
            vec![
                Reply::json(status, fixture("anthropic_error_401.json")),
                ok_stream(),
            ],
            &request(),
        );
        let error = result.unwrap_err();
        assert_eq!(requests.len(), 1, "{status}");
        assert!(observer.retries.is_empty());
        assert_eq!(error.status, Some(status));
        assert!(
            error
                .message
                .contains("authentication_error: invalid x-api-key")
        );
    }
}

#[test]
fn x_should_retry_overrides_status() {
    let (result, _, requests) = run(
        vec![
            Reply::json(429, "{}").header("x-should-retry", "false"),
            ok_stream(),
        ],
        &request(),
    );
    assert_eq!(result.unwrap_err().status, Some(429));
    assert_eq!(requests.len(), 1);
    let (result, observer, _) = run(
        vec![
            Reply::json(400, "{}").header("x-should-retry", "true"),
            ok_stream(),
        ],
        &request(),
    );
    assert_hello(result);
    assert_eq!(observer.retries.len(), 1);
}

#[test]
fn stream_cut_half_way_is_retried() {
    let body = fixture("anthropic_stream_tool_use.sse");
    let half = body.len() / 2;
    // Close-delimited: a clean EOF before message_stop.
    let (result, observer, requests) = run(
        vec![
            Reply::sse(&body).framing(Framing::Close).cut_after(half),
            Reply::sse(&body),
        ],
        &request(),
    );
    assert_eq!(result.unwrap().stop_reason, StopReason::ToolUse);
    assert_eq!(requests.len(), 2);
    assert!(
        observer.retries[0]
            .1
            .contains("anthropic stream ended before message_stop")
    );
    // The text of the cut attempt reached the observer too (live display only).
    assert!(
        observer
            .text
            .ends_with("I'll check the current weather in Paris for you.")
    );

    // Chunked: the transfer encoding itself is incomplete.
    let (result, observer, _) = run(
        vec![Reply::sse(&body).cut_after(half), Reply::sse(&body)],
        &request(),
    );
    assert_eq!(result.unwrap().stop_reason, StopReason::ToolUse);
    assert_eq!(observer.retries.len(), 1);
    let reason = &observer.retries[0].1;
    assert!(
        reason.contains("stream interrupted") || reason.contains("ended before message_stop"),
        "{reason}"
    );
}

#[test]
fn stream_cut_every_time_gives_up() {
    let body = fixture("anthropic_stream_text_only.sse");
    let cut = || {
        Reply::sse(&body)
            .framing(Framing::Close)
            .cut_after(body.len() - 40)
    };
    let (result, observer, requests) = run(vec![cut(), cut(), cut()], &request());
    let error = result.unwrap_err();
    assert_eq!(requests.len(), 3);
    assert_eq!(observer.retries.len(), 2);
    assert_eq!(
        error.message,
        "anthropic stream ended before message_stop (gave up after 3 attempts)"
    );
    assert_eq!(error.status, None);
}

#[test]
fn slow_response_past_timeout_is_retried() {
    let server = TestServer::start(vec![ok_stream().stalled(), ok_stream()]);
    let config = fast_config(&server.url, Some(KEY));
    // The first attempt never gets an answer and times out; the retry has
    // the same timeout as every other test (no race with a delayed reply).
    let mut observer = Recorder::default();
    let result = AnthropicProvider::new(config)
        .unwrap()
        .complete(&request(), &mut observer);
    assert_hello(result);
    assert_eq!(observer.retries.len(), 1);
    assert!(
        observer.retries[0].1.contains("timed out"),
        "{:?}",
        observer.retries
    );
}

#[test]
fn slow_response_with_one_attempt_fails() {
    let server = TestServer::start(vec![ok_stream().delayed(Duration::from_millis(1500))]);
    let mut config = fast_config(&server.url, Some(KEY));
    config.timeout = Duration::from_millis(300);
    config.max_attempts = 1;
    let error = AnthropicProvider::new(config)
        .unwrap()
        .complete(&request(), &mut Recorder::default())
        .unwrap_err();
    assert!(
        error.message.starts_with("anthropic request timed out"),
        "{}",
        error.message
    );
    assert!(!error.message.contains("gave up"));
}

#[test]
fn connection_refused_is_retried_then_fails() {
    let mut observer = Recorder::default();
    let error = provider(&dead_url())
        .complete(&request(), &mut observer)
        .unwrap_err();
    assert!(
        error.message.starts_with("anthropic connection failed"),
        "{}",
        error.message
    );
    assert!(error.message.ends_with("(gave up after 3 attempts)"));
    assert_eq!(observer.retries.len(), 2);
    assert_eq!(error.status, None);
}

// ----------------------------------------------------------------- secrets --

#[test]
fn api_key_never_in_errors_or_debug() {
    let echo = format!(
        r#"{{"type":"error","error":{{"type":"authentication_error","message":"invalid x-api-key {KEY}"}}}}"#
    );
    let server = TestServer::start(vec![Reply::json(401, echo)]);
    let mut p = provider(&server.url);
    let mut observer = Recorder::default();
    let error = p.complete(&request(), &mut observer).unwrap_err();
    assert!(server.requests()[0].header("x-api-key") == Some(KEY));
    for shown in [
        error.message.clone(),
        error.to_string(),
        format!("{error:?}"),
        format!("{p:?}"),
        format!("{:?}", p.config()),
    ] {
        assert!(!shown.contains(KEY), "{shown}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
    }
    assert!(error.message.contains("invalid x-api-key <redacted>"));

    // Retry reasons are scrubbed as well.
    let server = TestServer::start(vec![Reply::json(500, format!("oops {KEY}")), ok_stream()]);
    let mut observer = Recorder::default();
    provider(&server.url)
        .complete(&request(), &mut observer)
        .unwrap();
    assert!(!observer.retries[0].1.contains(KEY));
}

#[test]
fn missing_key_names_the_variable() {
    let error = anthropic::config_from_env(&|_| None).unwrap_err();
    assert!(error.to_string().contains("ANTHROPIC_API_KEY"), "{error}");
    let error =
        anthropic::config_from_env(&|v| (v == "ANTHROPIC_API_KEY").then(String::new)).unwrap_err();
    assert!(error.to_string().contains("ANTHROPIC_API_KEY"));
    let config = wf::provider::http::HttpConfig::new("http://127.0.0.1:1", None);
    let error = AnthropicProvider::new(config).unwrap_err();
    assert!(error.to_string().contains("ANTHROPIC_API_KEY"));
}

#[test]
fn env_config_reaches_the_server() {
    let server = TestServer::start(vec![ok_stream()]);
    let url = format!("{}/", server.url);
    let env = move |v: &str| match v {
        "ANTHROPIC_API_KEY" => Some(KEY.to_string()),
        "ANTHROPIC_BASE_URL" => Some(url.clone()),
        _ => None,
    };
    let mut p = wf::provider::factory::from_env("anthropic", &env).unwrap();
    assert_hello(p.complete(&request(), &mut Recorder::default()));
    let r = &server.requests()[0];
    assert_eq!(r.path, "/v1/messages");
    assert_eq!(r.header("x-api-key"), Some(KEY));
}
