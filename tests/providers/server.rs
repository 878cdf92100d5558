//! A scripted HTTP/1.1 server on 127.0.0.1 for the provider tests.
//!
//! Each accepted connection gets the next [`Reply`] of the script, in order,
//! and is handled on its own thread (so a slow reply does not hold up the
//! next connection). Every request is recorded (method, path, headers,
//! body). Replies can inject faults: any status and headers, a delay before
//! answering, or a connection closed part-way through the body. Every wait
//! is bounded: the server stops accepting after its script or after
//! [`ACCEPT_DEADLINE`] without a connection.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long the server waits for each next connection before giving up.
pub const ACCEPT_DEADLINE: Duration = Duration::from_secs(20);

/// How long a stalled reply holds its connection at most.
pub const STALL_DEADLINE: Duration = Duration::from_secs(120);

/// How a reply's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `content-length`.
    Length,
    /// `transfer-encoding: chunked` (one chunk per SSE event).
    Chunked,
    /// Neither: the body ends when the connection closes.
    Close,
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub framing: Framing,
    /// Close the connection after this many body bytes.
    pub cut_after: Option<usize>,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Never answer: hold the connection until the client hangs up.
    pub stall: bool,
}

impl Reply {
    /// A 200 event stream, sent chunked like real servers do.
    pub fn sse(body: impl AsRef<[u8]>) -> Reply {
        Reply {
            status: 200,
            headers: vec![(
                "content-type".into(),
                "text/event-stream; charset=utf-8".into(),
            )],
            body: body.as_ref().to_vec(),
            framing: Framing::Chunked,
            cut_after: None,
            delay: Duration::ZERO,
            stall: false,
        }
    }

    /// A JSON answer with `status`.
    pub fn json(status: u16, body: impl AsRef<[u8]>) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_ref().to_vec(),
            framing: Framing::Length,
            cut_after: None,
            delay: Duration::ZERO,
            stall: false,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Closes the connection after `bytes` of the body.
    pub fn cut_after(mut self, bytes: usize) -> Reply {
        self.cut_after = Some(bytes);
        self
    }

    /// Waits before answering.
    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// Never answers: the connection is held until the client gives up
    /// (bounded by [`STALL_DEADLINE`]). For client timeouts without a race
    /// between the client's timer and a delayed answer.
    pub fn stalled(mut self) -> Reply {
        self.stall = true;
        self
    }

    /// Uses another body framing.
    pub fn framing(mut self, framing: Framing) -> Reply {
        self.framing = framing;
        self
    }
}

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Header names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// A running scripted server.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl TestServer {
    /// Starts serving `script`, one reply per connection.
    pub fn start(script: Vec<Reply>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        thread::spawn(move || {
            for reply in script {
                let Some(stream) = accept(&listener) else {
                    return;
                };
                let log = log.clone();
                thread::spawn(move || serve(stream, reply, &log));
            }
        });
        TestServer { url, requests }
    }

    /// The requests received so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

/// A URL nothing listens on (connections are refused).
pub fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

fn accept(listener: &TcpListener) -> Option<TcpStream> {
    let deadline = Instant::now() + ACCEPT_DEADLINE;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).ok()?;
                return Some(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(2));
            }
            Err(_) => return None,
        }
    }
    None
}

fn serve(stream: TcpStream, reply: Reply, log: &Mutex<Vec<Recorded>>) {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let Some(request) = read_request(BufReader::new(read_half)) else {
        return;
    };
    log.lock().unwrap().push(request);
    if reply.stall {
        // Wait for the client to close its end (EOF or a reset).
        stream.set_read_timeout(Some(STALL_DEADLINE)).ok();
        let mut buf = [0u8; 1024];
        while matches!((&stream).read(&mut buf), Ok(n) if n > 0) {}
        return;
    }
    thread::sleep(reply.delay);
    let _ = write_reply(&stream, &reply);
    let _ = stream.shutdown(Shutdown::Both);
}

fn read_request(mut reader: BufReader<TcpStream>) -> Option<Recorded> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    // Bounded: at most 200 header lines.
    for _ in 0..200 {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        529 => "Overloaded",
        _ => "Status",
    }
}

fn write_reply(mut stream: &TcpStream, reply: &Reply) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nconnection: close\r\n",
        reply.status,
        reason(reply.status)
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match reply.framing {
        Framing::Length => head.push_str(&format!("content-length: {}\r\n", reply.body.len())),
        Framing::Chunked => head.push_str("transfer-encoding: chunked\r\n"),
        Framing::Close => {}
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    let limit = reply.cut_after.unwrap_or(usize::MAX).min(reply.body.len());
    let body = &reply.body[..limit];
    match reply.framing {
        Framing::Length | Framing::Close => stream.write_all(body)?,
        Framing::Chunked => {
            // One chunk per event (split after each blank line), like a
            // server flushing events as they are produced.
            let mut start = 0;
            let pieces = body
                .windows(2)
                .enumerate()
                .filter(|(_, w)| *w == b"\n\n")
                .map(|(i, _)| i + 2)
                .chain([body.len()]);
            for end in pieces {
                if end > start {
                    write!(stream, "{:x}\r\n", end - start)?;
                    stream.write_all(&body[start..end])?;
                    stream.write_all(b"\r\n")?;
                    stream.flush()?;
                    start = end;
                }
            }
            if reply.cut_after.is_none() {
                stream.write_all(b"0\r\n\r\n")?;
            }
        }
    }
    stream.flush()
}
