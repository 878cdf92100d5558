//! The MCP client over streamable HTTP: every JSON-RPC message is a POST
//! to the server's URL with `Accept: application/json, text/event-stream`;
//! the answer is a JSON body or an event stream (SSE) whose `data:` events
//! carry messages, among which the one whose id matches. The session id the
//! server gives with the `initialize` answer (`Mcp-Session-Id`) and the
//! negotiated protocol version (`MCP-Protocol-Version`) go with every later
//! request; dropping the client ends the session (`DELETE`).
//!
//! Through reqwest's blocking client, as the providers use it: no async
//! runtime of wf's own. Every request has a deadline covering the body,
//! streamed or not. A transport failure (no connection, an HTTP error
//! status, an expired session, a stream that ends without the answer)
//! closes the client: the session starts again at the next call.

use super::client::{ClientError, PROTOCOL_VERSION, Rpc, answer_server_request, result_of};
use reqwest::blocking::{Client, Response};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::time::{Duration, Instant};

/// The longest answer wf reads: 16 MiB.
const MAX_BODY: u64 = 16 * 1024 * 1024;

/// The session header.
const SESSION: &str = "Mcp-Session-Id";

/// A session with a remote server.
pub struct HttpClient {
    client: Client,
    url: String,
    headers: Vec<(String, String)>,
    session: Option<String>,
    protocol: Option<String>,
    next_id: u64,
    closed: Option<ClientError>,
}

impl HttpClient {
    /// Opens a session with the server at `url`, sending `headers` with
    /// every request: the `initialize` handshake within `timeout`.
    pub fn connect(
        url: &str,
        headers: Vec<(String, String)>,
        timeout: Duration,
    ) -> Result<HttpClient, ClientError> {
        // No redirects: a redirect to another host would take the
        // declared headers (keys) with it.
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .user_agent(concat!("wf/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Start(e.to_string()))?;
        let mut http = HttpClient {
            client,
            url: url.to_string(),
            headers,
            session: None,
            protocol: None,
            next_id: 0,
            closed: None,
        };
        http.initialize(timeout)?;
        Ok(http)
    }

    /// POSTs `message`; the response if its status is a success.
    fn post(&mut self, message: &Value, timeout: Duration) -> Result<Response, ClientError> {
        let mut request = self
            .client
            .post(&self.url)
            .timeout(timeout)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream");
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some(session) = &self.session {
            request = request.header(SESSION, session);
        }
        if let Some(version) = &self.protocol {
            request = request.header("MCP-Protocol-Version", version);
        }
        let body = serde_json::to_vec(message).expect("a message serializes");
        let response = request.body(body).send().map_err(|e| {
            if e.is_timeout() {
                ClientError::Timeout(timeout)
            } else {
                ClientError::Closed(format!(": {}", chain(&e)))
            }
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status == reqwest::StatusCode::NOT_FOUND && self.session.is_some() {
            return Err(ClientError::Closed(
                " (the server ended the session: HTTP 404)".into(),
            ));
        }
        let mut text = String::new();
        let _ = response.take(2048).read_to_string(&mut text);
        // A JSON-RPC error in the body says more than the status.
        if let Ok(answer) = serde_json::from_str::<Value>(&text)
            && let Err(e @ ClientError::Rpc { .. }) = result_of(&answer)
        {
            return Err(ClientError::Protocol(format!("HTTP {status}, {e}")));
        }
        Err(ClientError::Protocol(format!(
            "HTTP {status}{}",
            if text.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", text.trim().chars().take(300).collect::<String>())
            }
        )))
    }

    /// The answer with `id` in `response`: its JSON body, or the first
    /// matching message of its event stream (requests from the server in
    /// the stream are answered on the way).
    fn answer(
        &mut self,
        response: Response,
        id: u64,
        timeout: Duration,
        deadline: Instant,
    ) -> Result<Value, ClientError> {
        let sse = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let read_err = |e: std::io::Error| {
            if Instant::now() >= deadline {
                ClientError::Timeout(timeout)
            } else {
                ClientError::Closed(format!(": {e}"))
            }
        };
        let mut reader = BufReader::new(response.take(MAX_BODY));
        if !sse {
            let mut body = Vec::new();
            reader.read_to_end(&mut body).map_err(read_err)?;
            let message: Value = serde_json::from_slice(&body).map_err(|e| {
                ClientError::Protocol(format!(
                    "not JSON ({e}): {}",
                    String::from_utf8_lossy(&body)
                        .chars()
                        .take(200)
                        .collect::<String>()
                ))
            })?;
            // A batch: the answer is one of its messages.
            let messages = match message {
                Value::Array(all) => all,
                one => vec![one],
            };
            return match messages
                .iter()
                .find(|m| m.get("id").and_then(Value::as_u64) == Some(id))
            {
                Some(m) => result_of(m),
                None => Err(ClientError::Protocol(format!(
                    "the answer has no message with id {id}"
                ))),
            };
        }
        let mut data = String::new();
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).map_err(read_err)? == 0 {
                return Err(ClientError::Protocol(format!(
                    "the event stream ended without the answer to request {id}"
                )));
            }
            let text = line.trim_end_matches(['\r', '\n']);
            if let Some(value) = text.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value.strip_prefix(' ').unwrap_or(value));
                continue;
            }
            if !text.is_empty() || data.is_empty() {
                continue; // `event:`, `id:`, comments; or an empty event
            }
            let event = std::mem::take(&mut data);
            let Ok(message) = serde_json::from_str::<Value>(&event) else {
                return Err(ClientError::Protocol(format!(
                    "an event that is not JSON: {}",
                    event.chars().take(200).collect::<String>()
                )));
            };
            if let Some(method) = message.get("method").and_then(Value::as_str) {
                if let Some(req_id) = message.get("id") {
                    let reply = answer_server_request(method, req_id);
                    let left = deadline.saturating_duration_since(Instant::now());
                    self.post(&reply, left)?;
                }
                continue;
            }
            if message.get("id").and_then(Value::as_u64) == Some(id) {
                return result_of(&message);
            }
        }
    }

    fn close(&mut self, error: ClientError) -> ClientError {
        self.closed = Some(error.clone());
        error
    }
}

impl Rpc for HttpClient {
    fn request(
        &mut self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, ClientError> {
        let (id, message) =
            super::client::next_request(&self.closed, &mut self.next_id, method, params)?;
        let deadline = Instant::now() + timeout;
        let response = match self.post(&message, timeout) {
            Ok(r) => r,
            Err(e) => return Err(self.close(e)),
        };
        if let Some(session) = response
            .headers()
            .get(SESSION)
            .and_then(|v| v.to_str().ok())
        {
            self.session = Some(session.to_string());
        }
        match self.answer(response, id, timeout, deadline) {
            Ok(result) => {
                if method == "initialize" {
                    self.protocol = Some(
                        result
                            .get("protocolVersion")
                            .and_then(Value::as_str)
                            .unwrap_or(PROTOCOL_VERSION)
                            .to_string(),
                    );
                }
                Ok(result)
            }
            Err(e @ ClientError::Rpc { .. }) => Err(e),
            Err(e) => Err(self.close(e)),
        }
    }

    fn notify(
        &mut self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let message = json!({ "jsonrpc": "2.0", "method": method, "params": params });
        match self.post(&message, timeout) {
            Ok(_) => Ok(()),
            Err(e) => Err(self.close(e)),
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.is_some()
    }
}

impl Drop for HttpClient {
    fn drop(&mut self) {
        // Ends the session on the server; a server that does not allow it
        // answers 405, which is fine.
        if let Some(session) = &self.session {
            let mut request = self
                .client
                .delete(&self.url)
                .timeout(Duration::from_secs(2))
                .header(SESSION, session);
            for (name, value) in &self.headers {
                request = request.header(name, value);
            }
            let _ = request.send();
        }
    }
}

/// An error with its causes ("error sending request: connection refused").
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}
