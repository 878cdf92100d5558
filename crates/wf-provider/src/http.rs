//! Shared HTTP plumbing of the vendor providers: configuration, the API key
//! wrapper, the blocking client, and the retry loop.
//!
//! The vendor modules ([`super::anthropic`], [`super::openai`]) only build
//! request bodies and parse answers; everything about *sending* lives here:
//!
//! * timeouts: a short connect timeout and a long read timeout (it bounds
//!   the wait for the response headers and for each later piece of a
//!   streamed body, so long streamed answers are fine);
//! * retries: connection errors, timeouts, truncated or malformed streams,
//!   HTTP 408, 409, 429 and 5xx (529 included) are retried with exponential
//!   backoff; the server's `x-should-retry` header overrides the status
//!   (`true` forces a retry, `false` forbids one), and its `retry-after-ms` or
//!   `retry-after` (seconds) header sets the wait, capped at
//!   [`HttpConfig::max_retry_wait`];
//! * errors: a failure that ends the run becomes a [`ProviderError`] with
//!   the vendor's own message, the HTTP status and the vendor's request id.
//!   Error bodies are read in every shape the common servers and gateways
//!   send ([`parse_error_value`]); a 404 or 405 also names the URL tried and
//!   the vendor's base-URL rule, the usual cause being a base URL with or
//!   without `/v1` where the vendor wants the opposite.
//!
//! The API key is kept in a [`Secret`], whose `Debug` prints no key, and is
//! scrubbed from every error message this module returns by
//! [`crate::secrets::redact_key`]: everywhere when it looks like a key;
//! only where a key can appear (`Bearer …`, a header, `api_key=…`, a URL)
//! when it is an ordinary word such as `exceeded`, so a gateway's "rate
//! limit exceeded" stays readable; never when it is shorter than
//! [`MIN_REDACTED_KEY_LEN`] characters (the dummy keys of local servers,
//! `x`, `none`: replacing them would garble the message and hide nothing
//! secret).
//!
//! Backoff jitter comes from a hash of the request body and the attempt
//! number, not from a clock or a random source: a retried run waits the same
//! times on every machine, while different requests still spread out.

use super::{ProviderError, ProviderObserver};
use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::Read;
use std::time::Duration;

/// An API key. Its `Debug` and `Display` never show the key; only
/// [`Secret::expose`] does, for the one place that puts it in a header.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Secret(key.into())
    }

    /// The key itself. Only for building the request header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How a provider talks to its server. Build one with a vendor's
/// `config_from_env` (e.g. [`super::anthropic::config_from_env`]) or
/// [`HttpConfig::new`], then adjust the public fields.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// The API root, without a trailing slash. Anthropic: without `/v1`
    /// (`https://api.anthropic.com`); OpenAI: with it
    /// (`https://api.openai.com/v1`).
    pub base_url: String,
    /// The API key, if any (local OpenAI-compatible servers need none).
    pub api_key: Option<Secret>,
    /// How long to wait for the response headers, and then for each piece
    /// of the body. Default 10 minutes, enough for long streamed answers.
    pub timeout: Duration,
    /// How long to wait for the TCP/TLS connection. Default 10 seconds.
    pub connect_timeout: Duration,
    /// Attempts per request, the first one included. Default 4; 1 disables
    /// retries.
    pub max_attempts: u32,
    /// The backoff wait after the first failed attempt; it doubles with each
    /// further attempt. Default 500 ms (tests set it near zero).
    pub base_delay: Duration,
    /// The backoff wait never exceeds this. Default 8 seconds.
    pub max_delay: Duration,
    /// A server-requested wait (`retry-after`, `retry-after-ms`) is capped at
    /// this. Default 60 seconds.
    pub max_retry_wait: Duration,
    /// Fill in the usage of an answer that came without it from an
    /// upper-bound estimate ([`super::Usage::fill_estimate`]). Set when a
    /// cost cap is in force, so that the cap stays enforced; default off
    /// (unknown usage stays unknown).
    pub estimate_missing_usage: bool,
}

impl HttpConfig {
    /// A configuration with the default timeouts and retry policy.
    pub fn new(base_url: impl Into<String>, api_key: Option<Secret>) -> Self {
        HttpConfig {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            api_key,
            timeout: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(10),
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_wait: Duration::from_secs(60),
            estimate_missing_usage: false,
        }
    }
}

/// Why a provider could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required environment variable is unset or empty.
    #[error("{what} is not set: set the {var} environment variable")]
    MissingEnv {
        /// What the variable holds, e.g. "anthropic api key".
        what: &'static str,
        /// The variable to set.
        var: &'static str,
    },
    /// No API key, and the base URL is the vendor's own API, which needs
    /// one (a local server may need none).
    #[error(
        "{what} is not set and {url} needs one: set the {var} environment variable, or {base_var} to a server that needs no key"
    )]
    MissingKeyForHost {
        /// What the key is, e.g. "openai api key".
        what: &'static str,
        /// The key's variable.
        var: &'static str,
        /// The base URL's variable.
        base_var: &'static str,
        /// The base URL in use.
        url: String,
    },
    /// The base URL is not an http(s) URL.
    #[error("invalid base url {url:?}: it must start with http:// or https://")]
    BadBaseUrl {
        /// The URL as configured.
        url: String,
    },
    /// The provider name is not one wf has an HTTP backend for.
    #[error("unknown provider {name:?}: known providers are {known}")]
    UnknownProvider {
        /// The name asked for.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// The HTTP client could not be built (e.g. no TLS backend).
    #[error("http client setup failed: {0}")]
    Client(String),
}

impl From<ConfigError> for ProviderError {
    /// A setup failure as a run-ending provider error (no status, no
    /// request id).
    fn from(error: ConfigError) -> Self {
        ProviderError::new(error.to_string())
    }
}

/// What a vendor module tells the retry loop about its API.
pub struct Vendor {
    /// Lowercase vendor name for messages, e.g. "anthropic".
    pub name: &'static str,
    /// The response header carrying the vendor's request id.
    pub request_id_header: &'static str,
    /// Extracts `(kind, message, request id)` from an error response body.
    pub parse_error: fn(&[u8]) -> Option<VendorError>,
    /// Where the base URL comes from and what it must look like, for the
    /// message of a 404 or 405 (e.g. "OPENAI_BASE_URL must be the API root
    /// including /v1").
    pub base_url_rule: &'static str,
}

/// A vendor error body, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorError {
    /// The error's type or code, e.g. "rate_limit_error".
    pub kind: Option<String>,
    /// The vendor's message.
    pub message: String,
    /// A request id found in the body, if any.
    pub request_id: Option<String>,
    /// An HTTP status carried in the body (`"code": 502` or `"code":
    /// "500"`), as gateways put it in errors sent inside a stream.
    pub status: Option<u16>,
}

impl VendorError {
    /// Whether another attempt may succeed, for an error that arrived
    /// inside a 200 answer (a stream's error event): a status in the body
    /// decides as `should_retry` does; otherwise the kind does (rate
    /// limits, overload, server and timeout errors are retried; request,
    /// authentication, permission and content errors are not).
    pub fn retryable(&self) -> bool {
        if let Some(status) = self.status {
            return should_retry(status, None);
        }
        let Some(kind) = self.kind.as_deref() else {
            return false;
        };
        let kind = kind.to_ascii_lowercase();
        [
            "rate_limit",
            "overloaded",
            "server_error",
            "api_error",
            "timeout",
            "unavailable",
        ]
        .iter()
        .any(|k| kind.contains(k))
            || matches!(
                kind.as_str(),
                "internal_error" | "upstream_error" | "bad_gateway"
            )
    }

    /// `kind: message`, or the message alone.
    pub fn text(&self) -> String {
        match &self.kind {
            Some(kind) => format!("{kind}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// Decodes an error body in any of the shapes model servers and gateways
/// send:
///
/// * `{"error": {"message", "type", "code"}}`: OpenAI, vLLM, LiteLLM
///   (`"code": "500"`), llama.cpp (`"code": 500, "type": "server_error"`),
///   OpenRouter (`"code": 502` with `metadata.provider_name`), and
///   Anthropic's `{"type": "error", "error": {"type", "message"}}`;
/// * `{"error": "text"}`;
/// * `{"message": "text", "type", "code"}` (older vLLM, Ollama);
/// * `{"detail": "text"}` or FastAPI's `{"detail": [{"msg": …}, …]}`.
///
/// The kind is the `code` when it is a word (`rate_limit_exceeded`),
/// otherwise the `type`; a numeric `code` (a number or a string of digits)
/// is an HTTP status. `None` when the body is not JSON or has no message.
pub fn parse_error_value(v: &serde_json::Value) -> Option<VendorError> {
    use serde_json::Value;
    let request_id = str_field(v, "request_id");
    let from_object = |e: &Value, message: String| {
        let code = e.get("code");
        let status = code.and_then(|c| match c {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        let status = status
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..600).contains(s));
        let word_code = code
            .and_then(Value::as_str)
            .filter(|c| !c.trim().is_empty() && c.trim().parse::<u64>().is_err())
            .map(str::to_string);
        let mut message = message;
        if let Some(provider) = e
            .get("metadata")
            .and_then(|m| m.get("provider_name"))
            .and_then(Value::as_str)
        {
            message = format!("{message} (upstream provider {provider})");
        }
        VendorError {
            kind: word_code.or_else(|| str_field(e, "type")),
            message,
            request_id: request_id.clone(),
            status,
        }
    };
    match v.get("error") {
        Some(Value::String(message)) if !message.trim().is_empty() => {
            return Some(VendorError {
                kind: None,
                message: message.clone(),
                request_id,
                status: None,
            });
        }
        Some(error @ Value::Object(_)) => {
            if let Some(message) = detail_text(error.get("message")) {
                return Some(from_object(error, message));
            }
        }
        _ => {}
    }
    if let Some(message) = detail_text(v.get("message")) {
        return Some(from_object(v, message));
    }
    let message = detail_text(v.get("detail"))?;
    Some(VendorError {
        kind: None,
        message,
        request_id,
        status: None,
    })
}

/// The text of a `message` or `detail` field: a string, or a list of
/// FastAPI validation entries (`{"loc": […], "msg": …}`) joined with `; `,
/// or an object holding one of those.
fn detail_text(v: Option<&serde_json::Value>) -> Option<String> {
    use serde_json::Value;
    let text = match v? {
        Value::String(s) => s.trim().to_string(),
        Value::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Value::String(s) => Some(s.clone()),
                Value::Object(_) => {
                    let msg = str_field(item, "msg").or_else(|| str_field(item, "message"))?;
                    let loc = item
                        .get("loc")
                        .and_then(Value::as_array)
                        .map(|l| {
                            l.iter()
                                .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_string))
                                .collect::<Vec<_>>()
                                .join(".")
                        })
                        .filter(|l| !l.is_empty());
                    Some(match loc {
                        Some(loc) => format!("{loc}: {msg}"),
                        None => msg,
                    })
                }
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("; "),
        obj @ Value::Object(_) => return parse_error_value(obj).map(|e| e.text()),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// What the body reader learns about a successful response.
pub struct ResponseInfo {
    /// The vendor's request id header, if sent.
    pub request_id: Option<String>,
    /// The `content-type` header, lowercased.
    pub content_type: String,
}

impl ResponseInfo {
    /// A failure of this response: `message` with the request id.
    pub fn failure(&self, message: String, retry: bool) -> Failure {
        let error = ProviderError {
            message: with_request_id(message, &self.request_id),
            status: None,
            request_id: self.request_id.clone(),
        };
        Failure { error, retry }
    }

    /// The failure for an error sent inside this 200 answer (an error event
    /// of a stream, or an error body sent with status 200), decoded with
    /// [`parse_error_value`] and retried when [`VendorError::retryable`]
    /// says so.
    pub fn stream_error(&self, vendor: &str, v: &serde_json::Value) -> Failure {
        let parsed = parse_error_value(v).unwrap_or(VendorError {
            kind: None,
            message: "no error message".to_string(),
            request_id: None,
            status: None,
        });
        let request_id = self.request_id.clone().or(parsed.request_id.clone());
        let error = ProviderError {
            message: with_request_id(
                format!("{vendor} stream error {}", parsed.text()),
                &request_id,
            ),
            status: None,
            request_id,
        };
        Failure {
            error,
            retry: parsed.retryable(),
        }
    }
}

/// A failed attempt as the body reader reports it.
pub struct Failure {
    /// What went wrong.
    pub error: ProviderError,
    /// Whether another attempt may succeed.
    pub retry: bool,
}

impl Failure {
    /// A failure worth another attempt.
    pub fn retryable(error: ProviderError) -> Self {
        Failure { error, retry: true }
    }

    /// A failure another attempt would repeat.
    pub fn fatal(error: ProviderError) -> Self {
        Failure {
            error,
            retry: false,
        }
    }
}

/// Keys shorter than this are not scrubbed from messages: they are the
/// placeholder keys of local servers, not secrets, and replacing every
/// occurrence of a one- or two-character string garbles the text. Real
/// vendor keys are far longer (Anthropic's and OpenAI's exceed 40).
pub const MIN_REDACTED_KEY_LEN: usize = crate::secrets::MIN_SECRET_LEN;

/// The blocking client plus its configuration.
pub(crate) struct HttpClient {
    config: HttpConfig,
    client: Client,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Error bodies longer than this are cut before being read.
const MAX_ERROR_BODY: u64 = 64 * 1024;

impl HttpClient {
    /// Checks `config` and builds the client.
    pub fn new(config: HttpConfig) -> Result<Self, ConfigError> {
        if !(config.base_url.starts_with("http://") || config.base_url.starts_with("https://")) {
            return Err(ConfigError::BadBaseUrl {
                url: config.base_url,
            });
        }
        let client = Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("wf/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::Client(error_chain(&e)))?;
        Ok(HttpClient { config, client })
    }

    /// The configuration in use.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// POSTs `body` to `{base_url}{path}` until an attempt succeeds, a
    /// failure is not retryable, or the attempts run out. `read` turns a
    /// 2xx response body into the answer.
    pub fn post<T>(
        &self,
        vendor: &Vendor,
        path: &str,
        headers: HeaderMap,
        body: &[u8],
        observer: &mut dyn ProviderObserver,
        mut read: impl FnMut(
            &mut dyn Read,
            &ResponseInfo,
            &mut dyn ProviderObserver,
        ) -> Result<T, Failure>,
    ) -> Result<T, ProviderError> {
        let url = format!("{}{}", self.config.base_url, path);
        let max_attempts = self.config.max_attempts.max(1);
        let seed: [u8; 32] = Sha256::digest(body).into();
        let mut attempt = 1;
        loop {
            if observer.time_left().is_some_and(|left| left.is_zero()) {
                return Err(ProviderError::new(format!(
                    "{}: no time left to ask the model (the time limit passed)",
                    vendor.name
                )));
            }
            let (failure, server_wait) =
                match self.attempt(vendor, &url, &headers, body, observer, &mut read) {
                    Ok(answer) => return Ok(answer),
                    Err(pair) => pair,
                };
            let mut error = failure.error;
            error.message = self.scrub(&error.message);
            if !failure.retry {
                return Err(error);
            }
            if attempt >= max_attempts {
                if max_attempts > 1 {
                    error.message = format!("{} (gave up after {attempt} attempts)", error.message);
                }
                return Err(error);
            }
            let wait = match server_wait {
                Some(wait) => wait.min(self.config.max_retry_wait),
                None => backoff(
                    attempt,
                    self.config.base_delay,
                    self.config.max_delay,
                    jitter(&seed, attempt),
                ),
            };
            if observer.time_left().is_some_and(|left| left <= wait) {
                error.message = format!(
                    "{} (no retry: the time limit passes before the next attempt)",
                    error.message
                );
                return Err(error);
            }
            observer.retry(attempt, &error.message, wait);
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    /// One attempt. On failure, also returns the wait the server asked for.
    fn attempt<T>(
        &self,
        vendor: &Vendor,
        url: &str,
        headers: &HeaderMap,
        body: &[u8],
        observer: &mut dyn ProviderObserver,
        read: &mut impl FnMut(
            &mut dyn Read,
            &ResponseInfo,
            &mut dyn ProviderObserver,
        ) -> Result<T, Failure>,
    ) -> Result<T, (Failure, Option<Duration>)> {
        // An attempt never outlasts the caller's time limit.
        let timeout = observer
            .time_left()
            .map_or(self.config.timeout, |left| left.min(self.config.timeout));
        let sent = self
            .client
            .post(url)
            .timeout(timeout)
            .headers(headers.clone())
            .body(body.to_vec())
            .send();
        let mut response = match sent {
            Ok(response) => response,
            Err(e) => {
                let what = if e.is_timeout() {
                    "request timed out"
                } else if e.is_connect() {
                    "connection failed"
                } else {
                    "request failed"
                };
                let error =
                    ProviderError::new(format!("{} {what}: {}", vendor.name, error_chain(&e)));
                let failure = if e.is_builder() {
                    Failure::fatal(error)
                } else {
                    Failure::retryable(error)
                };
                return Err((failure, None));
            }
        };
        let status = response.status().as_u16();
        let request_id = header(response.headers(), vendor.request_id_header);
        if !(200..300).contains(&status) {
            let headers = response.headers().clone();
            let mut error = status_error(vendor, status, request_id, &mut response);
            if matches!(status, 404 | 405) {
                error.message = format!(
                    "{} (POST {url}: if that is not the API's address, {})",
                    error.message, vendor.base_url_rule
                );
            }
            let retry = should_retry(status, header(&headers, "x-should-retry").as_deref());
            let failure = Failure { error, retry };
            return Err((failure, server_wait(&headers)));
        }
        let info = ResponseInfo {
            request_id,
            content_type: header(response.headers(), "content-type")
                .unwrap_or_default()
                .to_ascii_lowercase(),
        };
        read(&mut response, &info, observer).map_err(|f| (f, None))
    }

    /// `message` with the API key, if it appears, replaced.
    fn scrub(&self, message: &str) -> String {
        scrub(message, self.config.api_key.as_ref())
    }
}

/// `message` with `key` replaced by `<redacted>` where
/// [`crate::secrets::redact_key`] finds it (see the module documentation).
pub fn scrub(message: &str, key: Option<&Secret>) -> String {
    match key.map(Secret::expose) {
        Some(key) => crate::secrets::redact_key(message, key, "<redacted>").into_owned(),
        None => message.to_string(),
    }
}

/// A header value marked sensitive (kept out of the HTTP library's logs).
pub(crate) fn secret_header(value: &str) -> Result<HeaderValue, ProviderError> {
    let mut value = HeaderValue::from_str(value)
        .map_err(|_| ProviderError::new("api key contains characters not allowed in a header"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Inserts a static header.
pub(crate) fn put(headers: &mut HeaderMap, name: &'static str, value: &'static str) {
    headers.insert(
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    );
}

/// The error for a non-2xx answer, with the vendor's message.
fn status_error(
    vendor: &Vendor,
    status: u16,
    header_request_id: Option<String>,
    response: &mut Response,
) -> ProviderError {
    let mut raw = Vec::new();
    let _ = response.take(MAX_ERROR_BODY).read_to_end(&mut raw);
    let parsed = (vendor.parse_error)(&raw);
    let request_id =
        header_request_id.or_else(|| parsed.as_ref().and_then(|p| p.request_id.clone()));
    let detail = match parsed {
        Some(error) => error.text(),
        None => {
            let text = String::from_utf8_lossy(&raw);
            let text = text.trim();
            if text.is_empty() {
                "no error message".to_string()
            } else {
                truncate(text, 500)
            }
        }
    };
    ProviderError {
        message: with_request_id(
            format!("{} http {status}: {detail}", vendor.name),
            &request_id,
        ),
        status: Some(status),
        request_id,
    }
}

/// `message` followed by `(request id …)` when there is one.
pub(crate) fn with_request_id(message: String, request_id: &Option<String>) -> String {
    match request_id {
        Some(id) => format!("{message} (request id {id})"),
        None => message,
    }
}

/// At most `max` characters of `text`, marked when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// Decodes an error body ([`parse_error_value`]); `None` when it is not
/// JSON or carries no message.
pub fn parse_error_body(body: &[u8]) -> Option<VendorError> {
    parse_error_value(&serde_json::from_slice(body).ok()?)
}

/// The string field `key` of a JSON object.
pub(crate) fn str_field(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// An error and its sources, joined with `: `.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

/// Whether an HTTP error status is worth another attempt. `x-should-retry`
/// (`"true"`/`"false"`) wins when present; otherwise 408, 409, 429 and every
/// 5xx (including Anthropic's 529) are retried.
pub(crate) fn should_retry(status: u16, x_should_retry: Option<&str>) -> bool {
    match x_should_retry.map(str::to_ascii_lowercase).as_deref() {
        Some("true") => true,
        Some("false") => false,
        _ => matches!(status, 408 | 409 | 429) || status >= 500,
    }
}

/// The wait a server asked for: `retry-after-ms` (milliseconds) first, then
/// `retry-after` in seconds (fractions allowed). HTTP-date values and
/// non-positive numbers are ignored (the caller falls back to backoff).
pub(crate) fn server_wait(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| {
        header(headers, name)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v > 0.0)
    };
    if let Some(ms) = number("retry-after-ms") {
        return Some(Duration::from_secs_f64((ms / 1000.0).min(86_400.0)));
    }
    number("retry-after").map(|s| Duration::from_secs_f64(s.min(86_400.0)))
}

/// Exponential backoff: `base × 2^(attempt-1)`, capped at `max`, then
/// shortened by up to a quarter according to `jitter` (in `0..1`).
pub(crate) fn backoff(attempt: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let factor = 2f64.powi(attempt.saturating_sub(1).min(30) as i32);
    let full = (base.as_secs_f64() * factor).min(max.as_secs_f64());
    Duration::from_secs_f64(full * (1.0 - 0.25 * jitter.clamp(0.0, 1.0)))
}

/// A number in `0..1` derived from the request and the attempt.
fn jitter(seed: &[u8; 32], attempt: u32) -> f64 {
    let mut h = Sha256::new();
    h.update(seed);
    h.update(attempt.to_le_bytes());
    let d = h.finalize();
    let n = u64::from_le_bytes(d[..8].try_into().expect("8 bytes"));
    (n >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_and_display_redact() {
        let s = Secret::new("sk-ant-very-secret");
        assert!(!format!("{s:?}").contains("very-secret"));
        assert!(!format!("{s}").contains("very-secret"));
        let c = HttpConfig::new("https://x.invalid/", Some(s));
        let debug = format!("{c:?}");
        assert!(!debug.contains("very-secret"), "{debug}");
        assert_eq!(c.base_url, "https://x.invalid");
    }

    #[test]
    fn retry_policy_by_status_and_header() {
        for s in [408, 409, 429, 500, 502, 503, 504, 529] {
            assert!(should_retry(s, None), "{s}");
        }
        for s in [400, 401, 403, 404, 413, 422] {
            assert!(!should_retry(s, None), "{s}");
        }
        assert!(!should_retry(429, Some("false")));
        assert!(should_retry(400, Some("true")));
        assert!(should_retry(529, Some("maybe")));
    }

    #[test]
    fn server_wait_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(server_wait(&h), None);
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(server_wait(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", HeaderValue::from_static("150"));
        assert_eq!(server_wait(&h), Some(Duration::from_millis(150)));
        h.insert("retry-after-ms", HeaderValue::from_static("nope"));
        assert_eq!(server_wait(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after", HeaderValue::from_static("0.5"));
        assert_eq!(server_wait(&h), Some(Duration::from_millis(500)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(server_wait(&h), None);
        h.insert("retry-after", HeaderValue::from_static("0"));
        assert_eq!(server_wait(&h), None);
    }

    #[test]
    fn backoff_doubles_caps_and_jitters_down() {
        let base = Duration::from_millis(500);
        let max = Duration::from_secs(8);
        assert_eq!(backoff(1, base, max, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(2, base, max, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(3, base, max, 0.0), Duration::from_secs(2));
        assert_eq!(backoff(10, base, max, 0.0), max);
        assert_eq!(backoff(1, base, max, 1.0), Duration::from_millis(375));
        assert_eq!(backoff(100, base, max, 0.5), Duration::from_secs(7));
    }

    #[test]
    fn jitter_is_deterministic_and_in_range() {
        let seed: [u8; 32] = Sha256::digest(b"body").into();
        for a in 1..50 {
            let j = jitter(&seed, a);
            assert!((0.0..1.0).contains(&j));
            assert_eq!(j, jitter(&seed, a));
        }
        assert_ne!(jitter(&seed, 1), jitter(&seed, 2));
    }

    #[test]
    fn bad_base_url_rejected() {
        let e = HttpClient::new(HttpConfig::new("api.example.com", None)).unwrap_err();
        assert!(e.to_string().starts_with("invalid base url"), "{e}");
    }

    #[test]
    fn missing_env_names_the_variable() {
        let e = ConfigError::MissingEnv {
            what: "anthropic api key",
            var: "ANTHROPIC_API_KEY",
        };
        assert_eq!(
            e.to_string(),
            "anthropic api key is not set: set the ANTHROPIC_API_KEY environment variable"
        );
    }

    #[test]
    fn config_error_converts_to_provider_error() {
        let e: ProviderError = ConfigError::MissingEnv {
            what: "anthropic api key",
            var: "ANTHROPIC_API_KEY",
        }
        .into();
        assert!(e.message.contains("ANTHROPIC_API_KEY") && e.status.is_none());
    }

    fn parsed(body: serde_json::Value) -> VendorError {
        parse_error_value(&body).unwrap()
    }

    #[test]
    fn error_shapes_of_common_servers() {
        use serde_json::json;
        let openai = parsed(json!({"error": {"message": "m", "type": "tokens",
            "param": null, "code": "rate_limit_exceeded"}}));
        assert_eq!(openai.kind.as_deref(), Some("rate_limit_exceeded"));
        assert_eq!((openai.message.as_str(), openai.status), ("m", None));
        let litellm = parsed(
            json!({"error": {"message": "m", "type": "internal_server_error",
            "param": null, "code": "500"}}),
        );
        assert_eq!(litellm.kind.as_deref(), Some("internal_server_error"));
        assert_eq!(litellm.status, Some(500));
        let llama = parsed(json!({"error": {"code": 503, "message": "Loading model",
            "type": "unavailable_error"}}));
        assert_eq!(llama.text(), "unavailable_error: Loading model");
        assert_eq!(llama.status, Some(503));
        let anthropic = parsed(json!({"type": "error", "error": {"type": "not_found_error",
            "message": "model: x"}, "request_id": "req_1"}));
        assert_eq!(anthropic.text(), "not_found_error: model: x");
        assert_eq!(anthropic.request_id.as_deref(), Some("req_1"));
        assert_eq!(parsed(json!({"error": "plain"})).text(), "plain");
        assert_eq!(parsed(json!({"message": "m"})).text(), "m");
        assert_eq!(parsed(json!({"detail": "x"})).text(), "x");
        assert_eq!(
            parsed(json!({"detail": [{"loc": ["body", 0], "msg": "bad"}, "worse"]})).text(),
            "body.0: bad; worse"
        );
        assert!(parse_error_body(b"<html>").is_none());
        assert!(parse_error_value(&json!({"error": {"code": 500}})).is_none());
        assert!(parse_error_value(&json!({"detail": ""})).is_none());
    }

    #[test]
    fn stream_errors_retried_by_status_then_kind() {
        let e = |kind: Option<&str>, status: Option<u16>| VendorError {
            kind: kind.map(str::to_string),
            message: String::new(),
            request_id: None,
            status,
        };
        for kind in [
            "server_error",
            "internal_server_error",
            "api_error",
            "overloaded_error",
            "rate_limit_exceeded",
            "timeout",
            "service_unavailable",
        ] {
            assert!(e(Some(kind), None).retryable(), "{kind}");
        }
        for kind in [
            "invalid_request_error",
            "authentication_error",
            "context_length_exceeded",
        ] {
            assert!(!e(Some(kind), None).retryable(), "{kind}");
        }
        assert!(e(Some("invalid_request_error"), Some(503)).retryable());
        assert!(!e(Some("server_error"), Some(400)).retryable());
        assert!(!e(None, None).retryable());
    }

    #[test]
    fn only_keys_of_eight_characters_or_more_are_scrubbed() {
        let short = Secret::new("x");
        assert_eq!(
            scrub("rate limit exceeded", Some(&short)),
            "rate limit exceeded"
        );
        let dummy = Secret::new("sk-1234");
        assert_eq!(scrub("key sk-1234", Some(&dummy)), "key sk-1234");
        let key = Secret::new("sk-12345");
        assert_eq!(scrub("key sk-12345!", Some(&key)), "key <redacted>!");
        assert_eq!(scrub("text", None), "text");
        // A key that is an ordinary word: only where a key can appear.
        let word = Secret::new("exceeded");
        assert_eq!(
            scrub(
                "rate limit exceeded (gave up after 3 attempts)",
                Some(&word)
            ),
            "rate limit exceeded (gave up after 3 attempts)"
        );
        assert_eq!(
            scrub("invalid header Authorization: Bearer exceeded", Some(&word)),
            "invalid header Authorization: Bearer <redacted>"
        );
    }

    #[test]
    fn truncate_marks_cut() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abcdef", 3), "abc…");
    }
}
