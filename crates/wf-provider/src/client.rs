//! The one HTTP provider both vendors use: construction, configuration from
//! the environment, streaming on or off, and the event-stream loop.
//!
//! A vendor module ([`super::anthropic`], [`super::openai`]) implements
//! [`VendorApi`] (its names, headers, request body and answer decoding) and
//! names its provider as [`HttpProvider`] of that implementation, e.g.
//! [`super::anthropic::AnthropicProvider`].

use super::http::{ConfigError, Failure, HttpClient, HttpConfig, ResponseInfo, Secret, Vendor};
use super::sse::SseReader;
use super::{ModelRequest, ModelResponse, Provider, ProviderError, ProviderObserver};
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::fmt;
use std::io::Read;
use std::marker::PhantomData;

/// What a vendor module tells [`HttpProvider`] about its API.
pub trait VendorApi {
    /// The vendor's name, request id header and error decoder.
    const VENDOR: Vendor;
    /// Where requests go, below the base URL (e.g. `/v1/messages`).
    const PATH: &'static str;
    /// The API root used when [`VendorApi::BASE_URL_ENV`] is unset.
    const DEFAULT_BASE_URL: &'static str;
    /// The variable holding the API key.
    const API_KEY_ENV: &'static str;
    /// The variable that overrides the API root.
    const BASE_URL_ENV: &'static str;
    /// What the key is called in errors, e.g. "anthropic api key".
    const KEY_NAME: &'static str;
    /// When a key is required.
    const KEY_NEED: KeyNeed;

    /// The headers of every request.
    fn headers(config: &HttpConfig) -> Result<HeaderMap, ProviderError>;
    /// The JSON body for `request`: the same request always gives the same
    /// bytes.
    fn request_body(request: &ModelRequest, stream: bool) -> Vec<u8>;
    /// Reads a 2xx body into the answer.
    fn read_response(
        body: &mut dyn Read,
        info: &ResponseInfo,
        observer: &mut dyn ProviderObserver,
    ) -> Result<ModelResponse, Failure>;
}

/// When a vendor needs an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyNeed {
    /// Always (Anthropic: also its compatible servers check the header).
    Always,
    /// Only at the host of [`VendorApi::DEFAULT_BASE_URL`] (OpenAI's own
    /// API); servers elsewhere (llama.cpp, vLLM, Ollama) often need none.
    AtDefaultHost,
}

/// The configuration of vendor `A` from the environment, read through
/// `lookup`: the key from [`VendorApi::API_KEY_ENV`] (an error when the
/// vendor requires one and it is unset), the root from
/// [`VendorApi::BASE_URL_ENV`] (default [`VendorApi::DEFAULT_BASE_URL`]).
/// Empty values count as unset.
pub fn config_from_env<A: VendorApi>(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<HttpConfig, ConfigError> {
    let get = |name| lookup(name).filter(|v: &String| !v.trim().is_empty());
    let key = get(A::API_KEY_ENV).map(|k| Secret::new(k.trim()));
    let base = get(A::BASE_URL_ENV).unwrap_or_else(|| A::DEFAULT_BASE_URL.to_string());
    let config = HttpConfig::new(base.trim(), key);
    if config.api_key.is_none() {
        missing_key::<A>(&config.base_url)?;
    }
    Ok(config)
}

/// The error for a missing key, when vendor `A` requires one at
/// `base_url`.
fn missing_key<A: VendorApi>(base_url: &str) -> Result<(), ConfigError> {
    match A::KEY_NEED {
        KeyNeed::Always => Err(ConfigError::MissingEnv {
            what: A::KEY_NAME,
            var: A::API_KEY_ENV,
        }),
        KeyNeed::AtDefaultHost if host(base_url) == host(A::DEFAULT_BASE_URL) => {
            Err(ConfigError::MissingKeyForHost {
                what: A::KEY_NAME,
                var: A::API_KEY_ENV,
                base_var: A::BASE_URL_ENV,
                url: base_url.to_string(),
            })
        }
        KeyNeed::AtDefaultHost => Ok(()),
    }
}

/// The lowercased host (with port) of an http(s) URL.
fn host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    authority.to_ascii_lowercase()
}

/// A vendor's HTTP backend: the client, and whether answers are streamed.
pub struct HttpProvider<A> {
    http: HttpClient,
    stream: bool,
    api: PhantomData<fn() -> A>,
}

impl<A: VendorApi> fmt::Debug for HttpProvider<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpProvider")
            .field("vendor", &A::VENDOR.name)
            .field("http", &self.http)
            .field("stream", &self.stream)
            .finish()
    }
}

impl<A: VendorApi> HttpProvider<A> {
    /// A provider with `config`, which must carry an API key when the vendor
    /// requires one at its base URL. Streaming is on.
    pub fn new(config: HttpConfig) -> Result<Self, ConfigError> {
        if config.api_key.is_none() {
            missing_key::<A>(&config.base_url)?;
        }
        Ok(HttpProvider {
            http: HttpClient::new(config)?,
            stream: true,
            api: PhantomData,
        })
    }

    /// A provider configured from the process environment
    /// ([`config_from_env`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new(config_from_env::<A>(&|name| std::env::var(name).ok())?)
    }

    /// Turns streaming (the default) on or off. Without it the server sends
    /// the whole answer at once, and no text deltas reach the observer.
    pub fn set_streaming(&mut self, on: bool) {
        self.stream = on;
    }

    /// The configuration in use.
    pub fn config(&self) -> &HttpConfig {
        self.http.config()
    }
}

impl<A: VendorApi> Provider for HttpProvider<A> {
    fn complete(
        &mut self,
        request: &ModelRequest,
        observer: &mut dyn ProviderObserver,
    ) -> Result<ModelResponse, ProviderError> {
        let body = A::request_body(request, self.stream);
        let headers = A::headers(self.http.config())?;
        let mut response = self.http.post(
            &A::VENDOR,
            A::PATH,
            headers,
            &body,
            observer,
            A::read_response,
        )?;
        // Under a cost cap an answer without usage is priced from an upper
        // bound rather than left unknown (which would switch the cap off).
        if self.http.config().estimate_missing_usage {
            response.usage.fill_estimate(body.len(), request.max_tokens);
        }
        Ok(response)
    }
}

/// How a vendor's event stream ends, for [`read_events`].
pub(crate) struct StreamEnd {
    /// The vendor's name, for messages.
    pub vendor: &'static str,
    /// What ends a complete stream, for messages (e.g. `message_stop`).
    pub end: &'static str,
    /// What one event is called in messages (e.g. "event", "chunk").
    pub unit: &'static str,
    /// An event whose (trimmed) data is this text ends the stream without
    /// being decoded (e.g. `[DONE]`); the data of other events is then
    /// decoded trimmed.
    pub done_data: Option<&'static str>,
}

/// Reads an event stream whose events carry JSON, handing each decoded
/// event to `apply` until it returns true (or, with
/// [`StreamEnd::done_data`], until that event). An interrupted, truncated or
/// malformed stream is a retryable failure.
pub(crate) fn read_events(
    body: &mut dyn Read,
    info: &ResponseInfo,
    stream: &StreamEnd,
    mut apply: impl FnMut(&Value) -> Result<bool, Failure>,
) -> Result<(), Failure> {
    let name = stream.vendor;
    let mut events = SseReader::new(body);
    loop {
        let event = events
            .next_event()
            .map_err(|e| info.failure(format!("{name} stream interrupted: {e}"), true))?;
        let Some(event) = event else {
            return Err(info.failure(format!("{name} stream ended before {}", stream.end), true));
        };
        let mut data = event.data.as_str();
        if let Some(done) = stream.done_data {
            data = data.trim();
            if data == done {
                return Ok(());
            }
        }
        let value: Value = serde_json::from_str(data).map_err(|e| {
            // An unterminated last event that does not parse was cut short.
            let message = if events.at_end() {
                format!(
                    "{name} stream ended before {} (last event incomplete)",
                    stream.end
                )
            } else {
                format!("{name} stream sent a malformed {}: {e}", stream.unit)
            };
            info.failure(message, true)
        })?;
        // An `error` event whose data is the bare error object (llama.cpp's
        // `error: {"code": 500, "message": …}`) is handed on in the usual
        // `{"error": …}` shape.
        let value = match value {
            Value::Object(ref map)
                if event.event.as_deref() == Some("error") && !map.contains_key("error") =>
            {
                serde_json::json!({ "error": value })
            }
            other => other,
        };
        if apply(&value)? {
            return Ok(());
        }
    }
}
