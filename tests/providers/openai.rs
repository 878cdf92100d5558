//! `provider: openai` against the scripted server: recorded streams, a
//! multi-turn tool conversation, usage known and unknown, faults, secrets
//! and request determinism.

use super::server::{Framing, Recorded, Reply, TestServer};
use super::*;
use serde_json::{Value, json};
use std::time::Duration;
use wf::provider::cost;
use wf::provider::openai::{self, OpenAiProvider};
use wf::provider::{
    Block, ModelRequest, ModelResponse, Provider, ProviderError, StopReason, ToolDef, Usage,
};

const KEY: &str = "sk-proj-test-KEY-fedcba9876543210";

fn provider(url: &str, key: Option<&str>) -> OpenAiProvider {
    OpenAiProvider::new(fast_config(url, key)).unwrap()
}

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
    let result = provider(&server.url, Some(KEY)).complete(request, &mut observer);
    (result, observer, server.requests())
}

fn request() -> ModelRequest {
    simple_request("gpt-4o-2024-08-06", "What's the weather like in Edinburgh?")
}

/// A chunk with `delta` and `finish_reason`.
fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

/// An event stream of `chunks`, optionally with a usage chunk, ending in [DONE].
fn stream_of(chunks: &[Value], usage: Option<Value>) -> String {
    let mut out: String = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
    if let Some(usage) = usage {
        out.push_str(&format!(
            "data: {}\n\n",
            json!({"choices": [], "usage": usage})
        ));
    }
    out.push_str("data: [DONE]\n\n");
    out
}

fn hello_stream(usage: Option<Value>) -> String {
    stream_of(
        &[
            chunk(json!({"role": "assistant", "content": ""}), None),
            chunk(json!({"content": "Hello"}), None),
            chunk(json!({"content": " there!"}), None),
            chunk(json!({}), Some("stop")),
        ],
        usage,
    )
}

fn ok_stream() -> Reply {
    Reply::sse(hello_stream(Some(
        json!({"prompt_tokens": 9, "completion_tokens": 3}),
    )))
}

fn assert_hello(result: Result<ModelResponse, ProviderError>) {
    let response = result.expect("success");
    assert_eq!(response.content, vec![text("Hello there!")]);
    assert_eq!(response.stop_reason, StopReason::EndTurn);
}

// ---------------------------------------------------------------- fixtures --

#[test]
fn fixture_parallel_tool_calls_stream() {
    let (result, observer, _) = run(
        vec![Reply::sse(fixture("openai_stream_tool_calls.sse"))],
        &request(),
    );
    let response = result.unwrap();
    assert_eq!(
        response.content,
        vec![
            Block::ToolUse {
                id: "call_JMW1whyEaYG438VE1OIflxA2".into(),
                name: "GetWeatherArgs".into(),
                input: json!({"city": "Edinburgh", "country": "GB", "units": "c"}),
            },
            Block::ToolUse {
                id: "call_DNYTawLBoN8fj3KN6qU9N1Ou".into(),
                name: "get_stock_price".into(),
                input: json!({"ticker": "AAPL", "exchange": "NASDAQ"}),
            },
        ]
    );
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: Some(149),
            output_tokens: Some(60),
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            estimated: false,
        }
    );
    assert_eq!(observer.text, "");
}

#[test]
fn fixture_single_call_with_role_in_first_chunk() {
    let (result, _, _) = run(
        vec![Reply::sse(fixture("openai_stream_tool_call_single.sse"))],
        &request(),
    );
    let response = result.unwrap();
    assert_eq!(response.content.len(), 1);
    let Block::ToolUse { id, name, input } = &response.content[0] else {
        panic!("{response:?}")
    };
    assert_eq!(id, "call_c91SqDXlYFuETYv8mUHzz6pp");
    assert_eq!(name, "GetWeatherArgs");
    assert_eq!(input["city"], json!("Edinburgh"));
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert!(response.usage.input_tokens.is_some());
}

#[test]
fn fixture_whole_json_completion_when_server_does_not_stream() {
    let server = TestServer::start(vec![Reply::json(
        200,
        fixture("openai_response_tool_calls.json"),
    )]);
    let mut p = provider(&server.url, Some(KEY));
    p.set_streaming(false);
    let response = p.complete(&request(), &mut Recorder::default()).unwrap();
    assert_eq!(response.content.len(), 2);
    assert!(
        matches!(&response.content[1], Block::ToolUse { name, input, .. }
        if name == "get_stock_price" && input["ticker"] == json!("AAPL"))
    );
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    let body = server.requests()[0].json();
    assert_eq!(body.get("stream"), None);
    assert_eq!(body.get("stream_options"), None);
}

// ------------------------------------------------------------ the request --

#[test]
fn request_line_headers_and_streaming_options() {
    let (result, _, requests) = run(vec![ok_stream()], &request());
    assert_hello(result);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/chat/completions");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    assert_eq!(body["stream"], json!(true));
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(body["max_tokens"], json!(1024));
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "You are a coding agent."})
    );
    assert_eq!(body["tools"][0]["type"], json!("function"));
    assert_eq!(body["tools"][0]["function"]["name"], json!("get_weather"));
    assert!(body["tools"][0]["function"]["parameters"].is_object());
}

#[test]
fn no_key_means_no_authorization_header() {
    let server = TestServer::start(vec![ok_stream()]);
    let mut p = wf::provider::factory::from_env("openai", &|v: &str| {
        (v == "OPENAI_BASE_URL").then(|| server.url.clone())
    })
    .unwrap();
    assert_hello(p.complete(&request(), &mut Recorder::default()));
    assert_eq!(server.requests()[0].header("authorization"), None);
}

#[test]
fn reasoning_models_get_max_completion_tokens() {
    let mut r = request();
    r.model = "o4-mini".into();
    let body: Value = serde_json::from_slice(&openai::request_body(&r, true)).unwrap();
    assert_eq!(body["max_completion_tokens"], json!(1024));
    assert_eq!(body.get("max_tokens"), None);
}

#[test]
fn follow_up_request_matches_recorded_shape() {
    // The conversation of openai_request_tools_followup.json, in wf's terms.
    let tool = |name: &str, description: &str, parameters: Value| ToolDef {
        name: name.into(),
        description: description.into(),
        input_schema: parameters,
    };
    let recorded = fixture_json("openai_request_tools_followup.json");
    let r = ModelRequest {
        model: "gpt-4o-2024-08-06".into(),
        max_tokens: 1024,
        temperature: None,
        system: String::new(),
        tools: recorded["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let f = &t["function"];
                tool(
                    f["name"].as_str().unwrap(),
                    f["description"].as_str().unwrap(),
                    f["parameters"].clone(),
                )
            })
            .collect(),
        messages: vec![
            user(vec![text("What's the weather like in Edinburgh?")]),
            user(vec![text("What's the price of AAPL?")]),
            assistant(vec![
                Block::ToolUse {
                    id: "call_fdNz3vOBKYgOIpMdWotB9MjY".into(),
                    name: "get_weather".into(),
                    input: json!({"city": "Edinburgh", "country": "GB", "units": "c"}),
                },
                Block::ToolUse {
                    id: "call_h1DWI1POMJLb0KwIyQHWXD4p".into(),
                    name: "get_stock_price".into(),
                    input: json!({"ticker": "AAPL", "exchange": "NASDAQ"}),
                },
            ]),
            user(vec![
                Block::ToolResult {
                    tool_use_id: "call_fdNz3vOBKYgOIpMdWotB9MjY".into(),
                    content: "{\"temperature_c\": 11, \"condition\": \"overcast\"}".into(),
                    is_error: false,
                },
                Block::ToolResult {
                    tool_use_id: "call_h1DWI1POMJLb0KwIyQHWXD4p".into(),
                    content: "upstream quote service unavailable".into(),
                    is_error: true,
                },
            ]),
        ],
    };
    let ours: Value = serde_json::from_slice(&openai::request_body(&r, true)).unwrap();
    // Tool arguments are JSON text: compare them parsed.
    let parse_args = |mut messages: Value| {
        for m in messages.as_array_mut().unwrap() {
            if m.get("content") == Some(&Value::Null) {
                m.as_object_mut().unwrap().remove("content");
            }
            for call in m
                .get_mut("tool_calls")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                let args = call["function"]["arguments"].as_str().unwrap();
                call["function"]["arguments"] = serde_json::from_str(args).unwrap();
            }
        }
        messages
    };
    let mut expected = parse_args(recorded["messages"].clone());
    // Chat Completions has no error flag: wf marks failed results in the text.
    expected[4]["content"] = json!("error: upstream quote service unavailable");
    assert_eq!(parse_args(ours["messages"].clone()), expected);
    for (ours, theirs) in ours["tools"]
        .as_array()
        .unwrap()
        .iter()
        .zip(recorded["tools"].as_array().unwrap())
    {
        let mut theirs = theirs.clone();
        theirs["function"].as_object_mut().unwrap().remove("strict");
        assert_eq!(*ours, theirs);
    }
    assert_eq!(ours["stream_options"], recorded["stream_options"]);
}

#[test]
fn multi_turn_tool_conversation() {
    let server = TestServer::start(vec![
        Reply::sse(fixture("openai_stream_tool_calls.sse")),
        ok_stream(),
    ]);
    let mut p = provider(&server.url, Some(KEY));
    let mut r = request();
    let first = p.complete(&r, &mut Recorder::default()).unwrap();
    assert_eq!(first.stop_reason, StopReason::ToolUse);
    let results = first
        .content
        .iter()
        .map(|b| match b {
            Block::ToolUse { id, .. } => Block::ToolResult {
                tool_use_id: id.clone(),
                content: format!("result for {id}"),
                is_error: false,
            },
            _ => unreachable!(),
        })
        .collect();
    r.messages.push(assistant(first.content));
    r.messages.push(user(results));
    r.messages.push(user(vec![text("Summarize.")]));
    let mut observer = Recorder::default();
    assert_hello(p.complete(&r, &mut observer));
    assert_eq!(observer.text, "Hello there!");

    let messages = server.requests()[1].json()["messages"].clone();
    assert_eq!(messages.as_array().unwrap().len(), 6);
    assert_eq!(messages[2]["role"], json!("assistant"));
    assert_eq!(messages[2].get("content"), None);
    let calls = messages[2]["tool_calls"].as_array().unwrap();
    assert_eq!(calls[0]["id"], json!("call_JMW1whyEaYG438VE1OIflxA2"));
    assert_eq!(calls[0]["type"], json!("function"));
    let args: Value =
        serde_json::from_str(calls[1]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"ticker": "AAPL", "exchange": "NASDAQ"}));
    assert_eq!(
        messages[3],
        json!({"role": "tool", "content": "result for call_JMW1whyEaYG438VE1OIflxA2",
               "tool_call_id": "call_JMW1whyEaYG438VE1OIflxA2"})
    );
    assert_eq!(
        messages[4]["tool_call_id"],
        json!("call_DNYTawLBoN8fj3KN6qU9N1Ou")
    );
    assert_eq!(
        messages[5],
        json!({"role": "user", "content": "Summarize."})
    );
}

#[test]
fn same_request_gives_byte_identical_bodies() {
    let server = TestServer::start(vec![ok_stream(), ok_stream()]);
    let mut p = provider(&server.url, Some(KEY));
    let mut r = request();
    r.temperature = Some(0.7);
    r.messages.push(assistant(vec![
        text("Checking."),
        Block::ToolUse {
            id: "c1".into(),
            name: "get_weather".into(),
            input: json!({"units": "c", "city": "Edinburgh", "deep": {"b": 2, "a": 1}}),
        },
    ]));
    r.messages.push(user(vec![Block::ToolResult {
        tool_use_id: "c1".into(),
        content: "11C".into(),
        is_error: false,
    }]));
    p.complete(&r, &mut Recorder::default()).unwrap();
    p.complete(&r.clone(), &mut Recorder::default()).unwrap();
    let requests = server.requests();
    assert_eq!(requests[0].body, requests[1].body);
    assert_eq!(openai::request_body(&r, true), requests[0].body);
}

// ------------------------------------------------------------------- usage --

#[test]
fn usage_known_with_cached_tokens() {
    let usage = json!({"prompt_tokens": 2000, "completion_tokens": 50, "total_tokens": 2050,
                       "prompt_tokens_details": {"cached_tokens": 1536}});
    let (result, _, _) = run(vec![Reply::sse(hello_stream(Some(usage)))], &request());
    let response = result.unwrap();
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: Some(464),
            output_tokens: Some(50),
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 1536,
            estimated: false,
        }
    );
    let price = cost::price_for("gpt-4o-2024-08-06").unwrap();
    let usd = cost::cost(&response.usage, &price).unwrap();
    assert!((usd - (464.0 * 2.5 + 50.0 * 10.0 + 1536.0 * 1.25) / 1e6).abs() < 1e-12);
}

#[test]
fn usage_unknown_when_server_sends_none() {
    let (result, _, _) = run(vec![Reply::sse(hello_stream(None))], &request());
    let response = result.unwrap();
    assert_eq!(response.usage.input_tokens, None);
    assert_eq!(response.usage.output_tokens, None);
    // Some servers send "usage": null on every chunk.
    let null_usage = stream_of(
        &[json!({"choices": [{"index": 0, "delta": {"content": "x"},
        "finish_reason": "stop"}], "usage": null})],
        None,
    );
    let (result, _, _) = run(vec![Reply::sse(null_usage)], &request());
    let response = result.unwrap();
    assert_eq!(response.usage, Usage::default());
    let price = cost::price_for("gpt-4o").unwrap();
    assert_eq!(
        cost::cost(&response.usage, &price),
        None,
        "unknown usage has no cost"
    );
}

#[test]
fn finish_reasons_mapped() {
    let cases = [
        ("stop", StopReason::EndTurn),
        ("tool_calls", StopReason::ToolUse),
        ("length", StopReason::MaxTokens),
        ("content_filter", StopReason::Refusal),
        ("function_call", StopReason::Other("function_call".into())),
    ];
    let script = cases
        .iter()
        .map(|(reason, _)| {
            Reply::sse(stream_of(
                &[chunk(json!({"content": "x"}), Some(reason))],
                None,
            ))
        })
        .collect();
    let server = TestServer::start(script);
    let mut p = provider(&server.url, None);
    for (_, expected) in cases {
        let response = p.complete(&request(), &mut Recorder::default()).unwrap();
        assert_eq!(response.stop_reason, expected);
    }
}

#[test]
fn refusal_delta_is_text_with_refusal_stop() {
    let stream = stream_of(
        &[chunk(
            json!({"refusal": "I can't help with that."}),
            Some("stop"),
        )],
        None,
    );
    let (result, _, _) = run(vec![Reply::sse(stream)], &request());
    let response = result.unwrap();
    assert_eq!(response.content, vec![text("I can't help with that.")]);
    assert_eq!(response.stop_reason, StopReason::Refusal);
}

// -------------------------------------------------------------- tool input --

#[test]
fn malformed_arguments_kept_raw_and_sent_back_as_empty_object() {
    let stream = stream_of(
        &[
            chunk(
                json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                "function": {"name": "read_file", "arguments": ""}}]}),
                None,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"path\": \"a.rs\", "}}]}),
                None,
            ),
            chunk(json!({}), Some("tool_calls")),
        ],
        None,
    );
    let server = TestServer::start(vec![Reply::sse(stream), ok_stream()]);
    let mut p = provider(&server.url, Some(KEY));
    let mut r = request();
    let response = p.complete(&r, &mut Recorder::default()).unwrap();
    assert_eq!(
        response.content,
        vec![Block::ToolUse {
            id: "call_1".into(),
            name: "read_file".into(),
            input: json!("{\"path\": \"a.rs\", "),
        }]
    );
    r.messages.push(assistant(response.content));
    r.messages.push(user(vec![Block::ToolResult {
        tool_use_id: "call_1".into(),
        content: "tool input is not valid JSON".into(),
        is_error: true,
    }]));
    p.complete(&r, &mut Recorder::default()).unwrap();
    let body = server.requests()[1].json();
    assert_eq!(
        body["messages"][2]["tool_calls"][0]["function"]["arguments"],
        json!("{}")
    );
    assert_eq!(
        body["messages"][3]["content"],
        json!("error: tool input is not valid JSON")
    );
}

// ------------------------------------------------------------------ faults --

#[test]
fn http_429_with_retry_after_is_retried() {
    let (result, observer, _) = run(
        vec![
            Reply::json(429, fixture("openai_error_429.json")).header("retry-after", "1"),
            ok_stream(),
        ],
        &request(),
    );
    assert_hello(result);
    assert_eq!(observer.retries.len(), 1);
    let (attempt, reason, wait) = &observer.retries[0];
    assert_eq!((*attempt, *wait), (1, Duration::from_millis(50)));
    assert!(
        reason.starts_with("openai http 429: rate_limit_exceeded: Rate limit reached"),
        "{reason}"
    );
}

#[test]
fn http_500_retried_and_400_not() {
    let (result, observer, _) = run(
        vec![
            Reply::json(
                500,
                r#"{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}"#,
            ),
            ok_stream(),
        ],
        &request(),
    );
    assert_hello(result);
    assert!(
        observer.retries[0]
            .1
            .contains("openai http 500: server_error: The server had an error")
    );

    let body = r#"{"error":{"message":"Invalid 'messages[1].tool_call_id'","type":"invalid_request_error","param":"messages","code":null}}"#;
    let (result, observer, requests) = run(
        vec![
            Reply::json(400, body).header("x-request-id", "req_oai_123"),
            ok_stream(),
        ],
        &request(),
    );
    let error = result.unwrap_err();
    assert_eq!(requests.len(), 1);
    assert!(observer.retries.is_empty());
    assert_eq!(error.status, Some(400));
    assert_eq!(error.request_id.as_deref(), Some("req_oai_123"));
    assert_eq!(
        error.message,
        "openai http 400: invalid_request_error: Invalid 'messages[1].tool_call_id' (request id req_oai_123)"
    );
}

#[test]
fn stream_cut_before_done_is_retried() {
    let body = fixture("openai_stream_tool_calls.sse");
    let (result, observer, requests) = run(
        vec![
            Reply::sse(&body)
                .framing(Framing::Close)
                .cut_after(body.len() / 2),
            Reply::sse(&body),
        ],
        &request(),
    );
    assert_eq!(result.unwrap().content.len(), 2);
    assert_eq!(requests.len(), 2);
    assert!(
        observer.retries[0]
            .1
            .contains("openai stream ended before [DONE]"),
        "{:?}",
        observer.retries
    );

    // A stream that stops right before [DONE] is also incomplete.
    let done_at = String::from_utf8_lossy(&body).find("data: [DONE]").unwrap();
    let (result, observer, _) = run(
        vec![
            Reply::sse(&body).framing(Framing::Close).cut_after(done_at),
            Reply::sse(&body),
        ],
        &request(),
    );
    result.unwrap();
    assert_eq!(observer.retries.len(), 1);
}

#[test]
fn error_chunk_in_stream() {
    let error = |kind: &str| {
        format!(
            "data: {}\n\ndata: {}\n\n",
            chunk(json!({"content": "par"}), None),
            json!({"error": {"message": "failed", "type": kind, "param": null, "code": null}})
        )
    };
    let (result, observer, _) = run(
        vec![Reply::sse(error("server_error")), ok_stream()],
        &request(),
    );
    assert_hello(result);
    assert!(
        observer.retries[0]
            .1
            .contains("openai stream error server_error: failed")
    );
    let (result, _, requests) = run(
        vec![Reply::sse(error("invalid_request_error")), ok_stream()],
        &request(),
    );
    assert_eq!(
        result.unwrap_err().message,
        "openai stream error invalid_request_error: failed"
    );
    assert_eq!(requests.len(), 1);
}

#[test]
fn gateway_error_shapes_in_streams_are_retried_by_status_or_kind() {
    let cut = |error_event: String| {
        format!(
            "data: {}\n\n{error_event}",
            chunk(json!({"content": "par"}), None)
        )
    };
    let retried = [
        // LiteLLM: the status as a string code.
        (
            cut(format!(
                "data: {}\n\n",
                json!({"error": {"message": "upstream reset", "type": "internal_server_error", "code": "500"}})
            )),
            "internal_server_error: upstream reset",
        ),
        // OpenRouter: a numeric code and the upstream provider's name.
        (
            cut(format!(
                "data: {}\n\n",
                json!({"id": "gen-1", "object": "chat.completion.chunk",
                    "error": {"code": 502, "message": "Provider returned error",
                              "metadata": {"provider_name": "Fireworks", "raw": "bad gateway"}},
                    "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]})
            )),
            "Provider returned error (upstream provider Fireworks)",
        ),
        // llama.cpp: an `error:` line holding the bare error object.
        (
            cut(format!(
                "error: {}\n\n",
                json!({"code": 500, "message": "context shift is disabled", "type": "server_error"})
            )),
            "server_error: context shift is disabled",
        ),
        // A plain string error.
        (
            cut(format!(
                "data: {}\n\n",
                json!({"error": "Rate limit reached; try again"})
            )),
            "openai stream error Rate limit reached; try again",
        ),
    ];
    for (broken, reason) in retried {
        let (result, observer, requests) = run(vec![Reply::sse(broken), ok_stream()], &request());
        let retried = observer.retries.len() == 1 && requests.len() == 2;
        if reason.starts_with("openai stream error Rate") {
            // No status and no kind: another attempt is not known to help.
            assert!(!retried && result.is_err(), "{reason}");
            assert!(result.unwrap_err().message.contains(reason));
            continue;
        }
        assert_hello(result);
        assert!(retried, "{reason}");
        assert!(
            observer.retries[0].1.contains(reason),
            "{:?}",
            observer.retries
        );
    }
    // A client error reported with a 4xx code inside the stream is final.
    let (result, observer, requests) = run(
        vec![
            Reply::sse(cut(format!(
                "data: {}\n\n",
                json!({"error": {"message": "context too long", "type": "invalid_request_error", "code": "400"}})
            ))),
            ok_stream(),
        ],
        &request(),
    );
    assert!(observer.retries.is_empty() && requests.len() == 1);
    assert_eq!(
        result.unwrap_err().message,
        "openai stream error invalid_request_error: context too long"
    );
}

#[test]
fn http_error_bodies_of_compatible_servers() {
    let cases = [
        (
            r#"{"error":{"code":500,"message":"failed to load model","type":"server_error"}}"#,
            "openai http 500: server_error: failed to load model",
        ),
        (
            r#"{"object":"error","message":"The model `x` does not exist.","type":"NotFoundError","param":null,"code":404}"#,
            "openai http 500: NotFoundError: The model `x` does not exist.",
        ),
        (
            r#"{"detail":{"error":"Authentication Error, Invalid proxy server token passed."}}"#,
            "openai http 500: Authentication Error, Invalid proxy server token passed.",
        ),
        ("upstream crashed", "openai http 500: upstream crashed"),
    ];
    for (body, expected) in cases {
        let server = TestServer::start(vec![Reply::json(500, body)]);
        let mut config = fast_config(&server.url, Some(KEY));
        config.max_attempts = 1;
        let err = OpenAiProvider::new(config)
            .unwrap()
            .complete(&request(), &mut Recorder::default())
            .unwrap_err();
        assert_eq!(err.message, expected);
        assert_eq!(err.status, Some(500));
    }
}

#[test]
fn short_keys_are_not_scrubbed_and_long_ones_are() {
    let body = r#"{"error":{"message":"rate limit exceeded for key x","type":"rate_limit_error"}}"#;
    let server = TestServer::start(vec![Reply::json(400, body)]);
    let err = provider(&server.url, Some("x"))
        .complete(&request(), &mut Recorder::default())
        .unwrap_err();
    assert_eq!(
        err.message,
        "openai http 400: rate_limit_error: rate limit exceeded for key x"
    );
    let echoed = format!(r#"{{"error":{{"message":"bad key {KEY}","type":"auth"}}}}"#);
    let server = TestServer::start(vec![Reply::json(400, echoed)]);
    let err = provider(&server.url, Some(KEY))
        .complete(&request(), &mut Recorder::default())
        .unwrap_err();
    assert_eq!(err.message, "openai http 400: auth: bad key <redacted>");
}

#[test]
fn missing_usage_is_estimated_only_when_asked() {
    let stream = hello_stream(None);
    let server = TestServer::start(vec![Reply::sse(&stream), Reply::sse(&stream)]);
    let mut config = fast_config(&server.url, None);
    let plain = OpenAiProvider::new(config.clone())
        .unwrap()
        .complete(&request(), &mut Recorder::default())
        .unwrap();
    assert_eq!(plain.usage, Usage::default());
    config.estimate_missing_usage = true;
    let estimated = OpenAiProvider::new(config)
        .unwrap()
        .complete(&request(), &mut Recorder::default())
        .unwrap();
    let sent = &server.requests()[1];
    assert_eq!(
        estimated.usage,
        Usage {
            input_tokens: Some(sent.body.len().div_ceil(4) as u64),
            output_tokens: Some(1024),
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            estimated: true,
        }
    );
}

#[test]
fn slow_response_past_timeout_is_retried() {
    let server = TestServer::start(vec![ok_stream().stalled(), ok_stream()]);
    let config = fast_config(&server.url, None);
    // The first attempt never gets an answer and times out; the retry has
    // the same timeout as every other test (no race with a delayed reply).
    let mut observer = Recorder::default();
    assert_hello(
        OpenAiProvider::new(config)
            .unwrap()
            .complete(&request(), &mut observer),
    );
    assert!(observer.retries[0].1.contains("timed out"));
}

// ----------------------------------------------------------------- secrets --

#[test]
fn api_key_never_in_errors_or_debug() {
    let body = format!(
        r#"{{"error":{{"message":"Incorrect API key provided: {KEY}.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}}}"#
    );
    let server = TestServer::start(vec![Reply::json(401, body)]);
    let mut p = provider(&server.url, Some(KEY));
    let error = p
        .complete(&request(), &mut Recorder::default())
        .unwrap_err();
    assert_eq!(error.status, Some(401));
    for shown in [
        error.message.clone(),
        format!("{error:?}"),
        format!("{p:?}"),
    ] {
        assert!(!shown.contains(KEY), "{shown}");
        assert!(!shown.contains("fedcba9876543210"), "{shown}");
    }
    assert!(
        error
            .message
            .contains("invalid_api_key: Incorrect API key provided: <redacted>.")
    );
}
