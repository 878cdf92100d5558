//! Tests of the HTTP providers against a scripted local server
//! ([`server`]), using recorded vendor payloads from `tests/fixtures/wire/`.

mod anthropic;
mod cache;
mod openai;
pub mod server;

use serde_json::{Value, json};
use std::time::Duration;
use wf::provider::http::{HttpConfig, Secret};
use wf::provider::{Block, Message, ModelRequest, ProviderObserver, Role, ToolDef};

/// A recorded payload's bytes.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/wire/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A recorded JSON payload.
pub fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

/// A configuration for `url` with fast retries and short timeouts.
pub fn fast_config(url: &str, key: Option<&str>) -> HttpConfig {
    let mut config = HttpConfig::new(url, key.map(Secret::new));
    config.timeout = Duration::from_secs(5);
    config.connect_timeout = Duration::from_secs(2);
    config.max_attempts = 3;
    config.base_delay = Duration::from_millis(1);
    config.max_delay = Duration::from_millis(4);
    config.max_retry_wait = Duration::from_millis(50);
    config
}

/// An observer that remembers everything.
#[derive(Default, Debug)]
pub struct Recorder {
    pub retries: Vec<(u32, String, Duration)>,
    pub text: String,
}

impl ProviderObserver for Recorder {
    fn retry(&mut self, attempt: u32, reason: &str, wait: Duration) {
        self.retries.push((attempt, reason.to_string(), wait));
    }

    fn text_delta(&mut self, text: &str) {
        self.text.push_str(text);
    }
}

pub fn text(t: &str) -> Block {
    Block::Text { text: t.into() }
}

pub fn user(content: Vec<Block>) -> Message {
    Message {
        role: Role::User,
        content,
    }
}

pub fn assistant(content: Vec<Block>) -> Message {
    Message {
        role: Role::Assistant,
        content,
    }
}

/// The weather tool of the recorded conversations.
pub fn weather_tool() -> ToolDef {
    ToolDef {
        name: "get_weather".into(),
        description: "Lookup the weather for a given city in either celsius or fahrenheit".into(),
        input_schema: json!({
            "additionalProperties": false,
            "properties": {
                "location": {"description": "The city and state, e.g. San Francisco, CA",
                             "title": "Location", "type": "string"},
                "units": {"description": "Unit for the output, either 'c' for celsius or 'f' for fahrenheit",
                          "enum": ["c", "f"], "title": "Units", "type": "string"}
            },
            "required": ["location", "units"],
            "type": "object"
        }),
    }
}

/// A one-message request for `model`.
pub fn simple_request(model: &str, prompt: &str) -> ModelRequest {
    ModelRequest {
        model: model.into(),
        max_tokens: 1024,
        temperature: None,
        system: "You are a coding agent.".into(),
        tools: vec![weather_tool()],
        messages: vec![user(vec![text(prompt)])],
    }
}
