//! A small synchronous MCP client: JSON-RPC 2.0, `initialize`,
//! `tools/list` and `tools/call` ([`Rpc`]), over stdio ([`Client`], one
//! JSON message a line) or streamable HTTP ([`super::http::HttpClient`]).
//!
//! The server is a child in its own process group, started confined
//! through the sandbox launcher like every command of a run. A reader
//! thread turns its stdout into messages on a channel, so every request
//! has a deadline (`recv_timeout`) without an async runtime. Server
//! notifications are ignored; requests from the server (`ping`, `roots/list`,
//! sampling) are answered (`ping` with an empty result, the rest with
//! "method not found"): wf offers the server no capabilities. Dropping the
//! client kills the server's whole group.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The MCP protocol version wf asks for.
pub const PROTOCOL_VERSION: &str = "2025-06-18";

/// The longest message line wf reads from a server: 16 MiB.
const MAX_LINE: u64 = 16 * 1024 * 1024;

/// Bytes of the server's stderr kept for error messages.
const STDERR_TAIL: usize = 2048;

/// Why a request got no result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// The server could not be started.
    #[error("cannot start the server: {0}")]
    Start(String),
    /// No answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The server closed its output or exited.
    #[error("the server exited{0}")]
    Closed(String),
    /// The server sent something that is not JSON-RPC.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The server answered with a JSON-RPC error.
    #[error("error {code}: {message}")]
    Rpc {
        /// The JSON-RPC error code.
        code: i64,
        /// Its message.
        message: String,
    },
}

/// A connection to a server, whatever carries it: requests with deadlines,
/// and the three methods wf uses on top.
/// The next request of a connection: `Err` when it is closed already
/// (`closed`), else its id (`next_id`, counted up) and its JSON-RPC message.
pub fn next_request(
    closed: &Option<ClientError>,
    next_id: &mut u64,
    method: &str,
    params: Value,
) -> Result<(u64, Value), ClientError> {
    if let Some(e) = closed {
        return Err(e.clone());
    }
    *next_id += 1;
    let id = *next_id;
    Ok((
        id,
        json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }),
    ))
}

pub trait Rpc {
    /// Sends a request and waits for its answer.
    fn request(
        &mut self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, ClientError>;

    /// Sends a notification.
    fn notify(&mut self, method: &str, params: Value, timeout: Duration)
    -> Result<(), ClientError>;

    /// Whether the connection is gone (the server exited, timed out,
    /// broke the protocol, ended the session): the next request fails at
    /// once.
    fn is_closed(&self) -> bool;

    /// The `initialize` handshake, within `timeout`.
    fn initialize(&mut self, timeout: Duration) -> Result<(), ClientError> {
        let deadline = Instant::now() + timeout;
        self.request(
            "initialize",
            json!({
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": { "name": "wf", "version": env!("CARGO_PKG_VERSION") }
            }),
            timeout,
        )?;
        let left = deadline.saturating_duration_since(Instant::now());
        self.notify("notifications/initialized", json!({}), left)
    }

    /// Every tool the server offers (`tools/list`, all pages).
    fn list_tools(&mut self, timeout: Duration) -> Result<Vec<Value>, ClientError> {
        let deadline = Instant::now() + timeout;
        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let params = match &cursor {
                Some(c) => json!({ "cursor": c }),
                None => json!({}),
            };
            let left = deadline.saturating_duration_since(Instant::now());
            let result = self.request("tools/list", params, left)?;
            match result.get("tools").and_then(Value::as_array) {
                Some(page) => tools.extend(page.iter().cloned()),
                None => return Err(ClientError::Protocol("tools/list without `tools`".into())),
            }
            match result.get("nextCursor").and_then(Value::as_str) {
                Some(next) if !next.is_empty() && tools.len() < 10_000 => {
                    cursor = Some(next.to_string())
                }
                _ => return Ok(tools),
            }
        }
    }

    /// Calls `tool` with `arguments`; the `tools/call` result.
    fn call_tool(
        &mut self,
        tool: &str,
        arguments: &Value,
        timeout: Duration,
    ) -> Result<Value, ClientError> {
        self.request(
            "tools/call",
            json!({ "name": tool, "arguments": arguments }),
            timeout,
        )
    }
}

/// The answer to a request the server sent the client: `ping` gets an
/// empty result, anything else "method not found" (wf offers the server no
/// capabilities).
pub fn answer_server_request(method: &str, id: &Value) -> Value {
    if method == "ping" {
        json!({ "jsonrpc": "2.0", "id": id, "result": {} })
    } else {
        json!({ "jsonrpc": "2.0", "id": id,
                "error": { "code": -32601, "message": "method not found" } })
    }
}

/// The result of the JSON-RPC answer `message`, or its error.
pub fn result_of(message: &Value) -> Result<Value, ClientError> {
    if let Some(error) = message.get("error") {
        return Err(ClientError::Rpc {
            code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        });
    }
    match message.get("result") {
        Some(result) => Ok(result.clone()),
        None => Err(ClientError::Protocol("an answer without a result".into())),
    }
}

/// How to start a server.
pub struct Launch<'a> {
    /// Program and arguments.
    pub argv: &'a [String],
    /// Working directory (the workspace).
    pub cwd: &'a Path,
    /// Variables on top of the scrubbed environment.
    pub env: Vec<(String, String)>,
    /// The confinement (`None`: `sandbox: off`).
    pub sandbox: Option<&'a crate::sandbox::Sandboxed>,
}

/// A running server.
pub struct Client {
    child: Child,
    pgid: i32,
    /// Lines for the server's stdin, written by a thread of their own: a
    /// server that stops reading must not block wf past the call's deadline
    /// (the wait for the answer has it; on expiry the server is killed,
    /// which ends the blocked write).
    writer: std::sync::mpsc::Sender<Vec<u8>>,
    messages: Receiver<Result<Value, ClientError>>,
    next_id: u64,
    stderr: Arc<Mutex<Vec<u8>>>,
    closed: Option<ClientError>,
    _live: crate::sys::process::LiveGroup,
}

impl Client {
    /// Starts the server (nothing is sent yet).
    pub fn spawn(launch: &Launch<'_>) -> Result<Client, ClientError> {
        let start_err = |e: std::io::Error| ClientError::Start(e.to_string());
        let (mut child, live) = crate::sys::process::spawn_child(
            launch.argv,
            launch.cwd,
            &launch.env,
            launch.sandbox,
            |cmd| {
                cmd.stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
            },
        )
        .map_err(start_err)?;
        let pgid = child.id() as i32;
        let mut stdin: ChildStdin = child.stdin.take().expect("stdin is piped");
        let (writer, lines) = std::sync::mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || {
            for line in lines {
                if stdin.write_all(&line).and_then(|()| stdin.flush()).is_err() {
                    break;
                }
            }
        });
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr_pipe = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = Vec::new();
                match (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(Err(ClientError::Closed(String::new())));
                        return;
                    }
                    Ok(_) if !line.ends_with(b"\n") && line.len() as u64 >= MAX_LINE => {
                        let _ = tx.send(Err(ClientError::Protocol(format!(
                            "a message longer than {MAX_LINE} bytes"
                        ))));
                        return;
                    }
                    Ok(_) => {}
                }
                let text = String::from_utf8_lossy(&line);
                let text = text.trim();
                if text.is_empty() {
                    continue;
                }
                let message = serde_json::from_str::<Value>(text).map_err(|e| {
                    ClientError::Protocol(format!(
                        "not JSON ({e}): {}",
                        text.chars().take(200).collect::<String>()
                    ))
                });
                if tx.send(message).is_err() {
                    return;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let tail = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut pipe = stderr_pipe;
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut kept = tail.lock().unwrap_or_else(|e| e.into_inner());
                kept.extend_from_slice(&buf[..n]);
                let excess = kept.len().saturating_sub(STDERR_TAIL);
                kept.drain(..excess);
            }
        });
        Ok(Client {
            child,
            pgid,
            writer,
            messages: rx,
            next_id: 0,
            stderr,
            closed: None,
            _live: live,
        })
    }

    /// Starts the server and runs the `initialize` handshake within `timeout`.
    pub fn start(launch: &Launch<'_>, timeout: Duration) -> Result<Client, ClientError> {
        let mut client = Client::spawn(launch)?;
        client.initialize(timeout)?;
        Ok(client)
    }

    fn send(&mut self, message: &Value) -> Result<(), ClientError> {
        let mut line = serde_json::to_vec(message).expect("a message serializes");
        line.push(b'\n');
        // Queued for the writer thread; it has gone only when a write failed
        // (the server closed its stdin or ended).
        if self.writer.send(line).is_err() {
            return Err(self.fail(ClientError::Closed(String::new())));
        }
        Ok(())
    }

    /// Ends the server after a failure that leaves it unusable, and the
    /// error with what it said on stderr.
    fn fail(&mut self, error: ClientError) -> ClientError {
        crate::sys::process::kill_group(self.pgid);
        let status = self.child.wait().ok();
        let error = match error {
            ClientError::Closed(_) => {
                let code = match status.and_then(|s| s.code()) {
                    Some(c) => format!(" with code {c}"),
                    None => String::new(),
                };
                ClientError::Closed(format!("{code}{}", self.stderr_note()))
            }
            other => other,
        };
        self.closed = Some(error.clone());
        error
    }

    fn stderr_note(&self) -> String {
        // Give the reader thread a moment to take the last words.
        std::thread::sleep(Duration::from_millis(20));
        let kept = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        let text = String::from_utf8_lossy(&kept);
        let text = text.trim();
        if text.is_empty() {
            String::new()
        } else {
            format!("; its stderr ends with: {text}")
        }
    }
}

impl Rpc for Client {
    fn request(
        &mut self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, ClientError> {
        let (id, message) = next_request(&self.closed, &mut self.next_id, method, params)?;
        self.send(&message)?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = match self.messages.recv_timeout(left) {
                Ok(Ok(m)) => m,
                Ok(Err(e)) => return Err(self.fail(e)),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(self.fail(ClientError::Timeout(timeout)));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(self.fail(ClientError::Closed(String::new())));
                }
            };
            if let Some(method) = message.get("method").and_then(Value::as_str) {
                // A request from the server: answered, never served.
                if let Some(req_id) = message.get("id") {
                    self.send(&answer_server_request(method, req_id))?;
                }
                continue;
            }
            if message.get("id").and_then(Value::as_u64) != Some(id) {
                continue; // an answer to an earlier, abandoned request
            }
            return result_of(&message);
        }
    }

    fn notify(&mut self, method: &str, params: Value, _: Duration) -> Result<(), ClientError> {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }))
    }

    fn is_closed(&self) -> bool {
        self.closed.is_some()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        crate::sys::process::kill_group(self.pgid);
        let _ = self.child.wait();
    }
}
