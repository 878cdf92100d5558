//! wf's network proxy: how confined commands reach the hosts a list in
//! `sandbox.network` names, and nothing else.
//!
//! # Design
//!
//! The proxy runs in wf's own process, outside every sandbox, as plain
//! threads (std only: one thread accepting, two per connection copying,
//! with `splice(2)` so the bytes stay in the kernel).
//! It speaks the two forms of HTTP proxying that toolchains use:
//!
//! - `CONNECT host:port` (HTTPS, and anything else in a tunnel): wf
//!   decides, connects, answers `200`, then copies bytes both ways; TLS
//!   stays end to end between the command and the host.
//! - A plain-HTTP request with an absolute URI (`GET http://host/path`):
//!   wf decides, connects, sends the request in origin form with
//!   `Connection: close` (so a kept-alive proxy connection can never carry
//!   a second request to another host), then copies.
//!
//! The decision, per connection ([`Proxy::decide`]):
//!
//! 1. An IP address literal is allowed only when that literal is listed.
//! 2. A name must match an entry ([`super::hosts`]), else `403`.
//! 3. wf resolves the name itself (the command has no DNS: no UDP at the
//!    `landlock` level, no route out of its network namespace at the
//!    `full` level), and drops every loopback, private, link-local and
//!    otherwise special address ([`super::hosts::special`]) that is not
//!    listed itself: a listed name that resolves into the user's LAN or a
//!    cloud metadata endpoint (DNS rebinding) is refused.
//!
//! A refusal is an HTTP error whose status line and body both read
//! `wf: host X is not in sandbox.network` (Python and pip print the status
//! line of a failed tunnel; curl prints the body of a plain-HTTP answer),
//! so the model sees why. Every request — allowed, refused or failed — is
//! a [`Connection`] in the log the engine turns into trace events.
//!
//! How a command reaches the proxy depends on the level (see
//! [`ProxyAccess`]): at `full`, the command has a network namespace of its
//! own; the proxy listens on a Unix socket in a private directory, bound
//! into the view, and a forwarder inside the sandbox listens on
//! `127.0.0.1:`[`INSIDE_PORT`] of that namespace and hands each
//! connection over that socket as a descriptor ([`forward`]): the proxy
//! then reads and writes the command's connection itself, so a byte
//! crosses two socket pairs (command ↔ proxy ↔ host) at both levels, as
//! through any proxy, not four. What arrives there is checked: one
//! descriptor, a connected TCP stream socket, else it is closed (a
//! command can connect to the socket and send anything). At `landlock`, the proxy listens on the
//! host's loopback, on a port chosen by the kernel, and Landlock lets the
//! command connect to that TCP port only (and bind none); seccomp allows
//! stream sockets of IPv4 and IPv6 only.
//!
//! Decisions: entries name hosts on every port (a registry's host is
//! trusted whole; the port adds little and would break mirrors on other
//! ports). A client that half-closes its side ends the connection's
//! upload only; the download goes on until the host closes (HTTP/1.1 and
//! TLS clients close whole). At the `landlock` level the proxy's port on
//! the host's loopback can be reached by other local processes too; they
//! get no more than the list allows, and their connections show in the
//! run's trace.

use super::hosts;
use std::io::{Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The port the forwarder listens on inside a `full`-level sandbox (its
/// own network namespace: nothing else is there).
pub const INSIDE_PORT: u16 = 3128;

/// Where the proxy's Unix socket is inside the `full` level's view.
pub const INSIDE_SOCKET: &str = "/run/wf-proxy.sock";

/// Longest request head (request line and headers) read.
const MAX_HEAD: usize = 64 * 1024;
/// Time to send a request head, and the longest a connection may sit idle.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Time to connect to a host.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Copy buffer per direction.
const BUFFER: usize = 64 * 1024;

/// How a confined command reaches the proxy: part of the sandbox policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProxyAccess {
    /// The TCP port on `127.0.0.1` the command connects to: the
    /// forwarder's inside the namespace at `full`, the proxy's on the
    /// host at `landlock`.
    pub port: u16,
    /// `full`: the proxy's Unix socket on the host, bound into the view
    /// at [`INSIDE_SOCKET`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<PathBuf>,
}

impl ProxyAccess {
    /// The variables the common toolchains read for a proxy (curl and git
    /// read the lower-case ones; cargo, npm and pip their own too), and
    /// `NO_PROXY` empty: every host goes through wf.
    pub fn env(&self) -> Vec<(String, String)> {
        let url = format!("http://127.0.0.1:{}", self.port);
        let mut vars: Vec<(String, String)> = [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "http_proxy",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
            "npm_config_proxy",
            "npm_config_https_proxy",
            "CARGO_HTTP_PROXY",
            "PIP_PROXY",
        ]
        .iter()
        .map(|k| (k.to_string(), url.clone()))
        .collect();
        vars.push(("NO_PROXY".into(), String::new()));
        vars.push(("no_proxy".into(), String::new()));
        vars
    }
}

/// One request through the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Order of acceptance across every proxy of the process.
    pub id: u64,
    /// The host asked for, normalized (a name or an address literal).
    pub host: String,
    /// The port asked for.
    pub port: u16,
    /// Whether the list allows it.
    pub allowed: bool,
    /// Why it was refused, or why an allowed one failed.
    pub reason: Option<String>,
    /// Bytes from the command to the host.
    pub bytes_up: u64,
    /// Bytes from the host to the command.
    pub bytes_down: u64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

struct Shared {
    hosts: Vec<String>,
    test_names: Vec<(String, IpAddr)>,
    log: Mutex<Vec<Connection>>,
    active: Mutex<usize>,
    idle: Condvar,
    stop: AtomicBool,
}

/// A running proxy for one list of hosts. Stops (and removes its socket)
/// when dropped.
pub struct Proxy {
    shared: Arc<Shared>,
    access: ProxyAccess,
    /// The private directory of the Unix socket.
    dir: Option<PathBuf>,
    /// The host's loopback address the TCP listener has (to wake it).
    tcp: Option<SocketAddr>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("hosts", &self.shared.hosts)
            .field("access", &self.access)
            .finish()
    }
}

/// A refusal or failure: the status and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// `wf: …`, one line.
    pub message: String,
    /// Whether the list allowed the host (a failure to resolve or
    /// connect) or not (a refusal).
    pub allowed: bool,
}

impl Proxy {
    /// Starts a proxy for `hosts` (normalized entries, see
    /// [`super::hosts`]) reachable the way `level` needs: a Unix socket in
    /// a new private directory (`full`) or a TCP port on the host's
    /// loopback (`landlock`).
    pub fn start(hosts: Vec<String>, level: super::Level) -> std::io::Result<Proxy> {
        let test_names = std::env::var(hosts::TEST_RESOLVE_ENV)
            .map(|v| hosts::test_mappings(&v))
            .unwrap_or_default();
        let shared = Arc::new(Shared {
            hosts,
            test_names,
            log: Mutex::new(Vec::new()),
            active: Mutex::new(0),
            idle: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        match level {
            super::Level::Full => {
                let dir = tempfile::Builder::new()
                    .prefix("wf-proxy-")
                    .tempdir()?
                    .keep();
                // tempfile makes the directory 0700: the socket is wf's.
                let path = dir.join("s");
                let listener = UnixListener::bind(&path)?;
                let s = shared.clone();
                std::thread::Builder::new()
                    .name("wf-proxy".into())
                    .spawn(move || {
                        for client in listener.incoming() {
                            if s.stop.load(Ordering::SeqCst) {
                                break;
                            }
                            // The forwarder hands over the command's own TCP
                            // connection: no copy through this socket.
                            if let Ok(c) = client
                                && let Some(tcp) = receive_client(&c)
                            {
                                serve(&s, tcp);
                            }
                        }
                    })?;
                Ok(Proxy {
                    shared,
                    access: ProxyAccess {
                        port: INSIDE_PORT,
                        socket: Some(path),
                    },
                    dir: Some(dir),
                    tcp: None,
                })
            }
            super::Level::Landlock => {
                let listener = TcpListener::bind(("127.0.0.1", 0))?;
                let addr = listener.local_addr()?;
                let s = shared.clone();
                std::thread::Builder::new()
                    .name("wf-proxy".into())
                    .spawn(move || {
                        for client in listener.incoming() {
                            if s.stop.load(Ordering::SeqCst) {
                                break;
                            }
                            if let Ok(c) = client {
                                let _ = c.set_nodelay(true);
                                serve(&s, c);
                            }
                        }
                    })?;
                Ok(Proxy {
                    shared,
                    access: ProxyAccess {
                        port: addr.port(),
                        socket: None,
                    },
                    dir: None,
                    tcp: Some(addr),
                })
            }
        }
    }

    /// How commands reach it.
    pub fn access(&self) -> &ProxyAccess {
        &self.access
    }

    /// The hosts it allows, normalized.
    pub fn hosts(&self) -> &[String] {
        &self.shared.hosts
    }

    /// Waits (at most `timeout`) until no connection is open: called when
    /// a command has ended (its sockets are closed), so that its
    /// connections are in the log before the next event.
    pub fn settle(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut active = self.shared.active.lock().unwrap_or_else(|e| e.into_inner());
        while *active > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            active = self
                .shared
                .idle
                .wait_timeout(active, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The connections finished since the last call, in the order they
    /// were accepted.
    pub fn take_log(&self) -> Vec<Connection> {
        let mut log =
            std::mem::take(&mut *self.shared.log.lock().unwrap_or_else(|e| e.into_inner()));
        log.sort_by_key(|c| c.id);
        log
    }

    /// The decision for `host:port` (see the module docs): the addresses
    /// to try, or the refusal.
    pub fn decide(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
        decide(&self.shared, host, port)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread so that it sees the flag.
        if let Some(dir) = &self.dir {
            let _ = UnixStream::connect(dir.join("s"));
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(addr) = self.tcp {
            let _ = TcpStream::connect_timeout(&addr, Duration::from_millis(200));
        }
    }
}

fn refuse(status: u16, allowed: bool, message: String) -> Refusal {
    Refusal {
        status,
        message,
        allowed,
    }
}

fn decide(shared: &Shared, host: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
    let list = &shared.hosts;
    let Some(key) = hosts::host_key(host) else {
        return Err(refuse(
            400,
            false,
            format!("wf: `{}` is not a host name", printable(host)),
        ));
    };
    if let Ok(ip) = key.parse::<IpAddr>() {
        if list.contains(&key) {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        return Err(refuse(
            403,
            false,
            format!(
                "wf: host {key} is not in sandbox.network (an address is reached only when listed itself)"
            ),
        ));
    }
    if !hosts::allows(list, &key) {
        return Err(refuse(
            403,
            false,
            format!(
                "wf: host {key} is not in sandbox.network (allowed: {})",
                list.join(", ")
            ),
        ));
    }
    let resolved: Vec<SocketAddr> = match shared.test_names.iter().find(|(n, _)| *n == key) {
        Some((_, ip)) => vec![SocketAddr::new(*ip, port)],
        None => match (key.as_str(), port).to_socket_addrs() {
            Ok(addrs) => addrs.collect(),
            Err(e) => {
                return Err(refuse(
                    502,
                    true,
                    format!("wf: cannot resolve host {key}: {e}"),
                ));
            }
        },
    };
    let mut kept = Vec::new();
    let mut dropped = None;
    for addr in resolved {
        match hosts::special(addr.ip()) {
            Some(kind) if !list.contains(&addr.ip().to_string()) => {
                dropped.get_or_insert((addr.ip(), kind));
            }
            _ => kept.push(addr),
        }
    }
    if kept.is_empty() {
        return Err(match dropped {
            Some((ip, kind)) => refuse(
                403,
                false,
                format!(
                    "wf: host {key} resolves to {ip}, a {kind} address, which sandbox.network does not list"
                ),
            ),
            None => refuse(502, true, format!("wf: host {key} has no address")),
        });
    }
    Ok(kept)
}

/// `text` without control characters, at most 200 characters.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Runs one client connection on a thread of its own.
fn serve(shared: &Arc<Shared>, client: TcpStream) {
    *shared.active.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    let s = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("wf-proxy-conn".into())
        .spawn(move || {
            let record = handle(&s, client, id);
            let mut active = s.active.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(record) = record {
                s.log.lock().unwrap_or_else(|e| e.into_inner()).push(record);
            }
            *active -= 1;
            s.idle.notify_all();
        });
    if spawned.is_err() {
        *shared.active.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
    }
}

/// A parsed request head.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    host: String,
    port: u16,
    /// `None` for `CONNECT`; else the head to send upstream.
    forward: Option<Vec<u8>>,
}

/// Splits `host:port` (`[v6]:port`).
fn host_port(authority: &str, default: Option<u16>) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        (host.to_string(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default?,
    };
    (!host.is_empty()).then_some((host, port))
}

/// Reads the request head; the head and what came after it.
fn read_head(client: &mut TcpStream) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            return Err("the request head is too long".into());
        }
        match client.read(&mut chunk) {
            Ok(0) => return Err("the client closed before a request".into()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("reading the request: {e}")),
        }
    }
}

/// The request of `head`: where to, and what to send there.
fn parse(head: &[u8]) -> Result<Request, (u16, String)> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or("");
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err((400, "wf: not an HTTP proxy request".into()));
    };
    if !version.starts_with("HTTP/1.") {
        return Err((400, "wf: not an HTTP/1 proxy request".into()));
    }
    if method.eq_ignore_ascii_case("CONNECT") {
        let (host, port) =
            host_port(target, None).ok_or((400, "wf: CONNECT needs host:port".to_string()))?;
        return Ok(Request {
            host,
            port,
            forward: None,
        });
    }
    let Some(rest) = target
        .get(..7)
        .filter(|s| s.eq_ignore_ascii_case("http://"))
        .map(|_| &target[7..])
    else {
        return Err((
            400,
            "wf: the proxy takes CONNECT, or a plain-HTTP request with an absolute http:// URI"
                .into(),
        ));
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.contains('@') {
        return Err((400, "wf: a URI with credentials is not proxied".into()));
    }
    let (host, port) =
        host_port(authority, Some(80)).ok_or((400, "wf: a bad host in the URI".to_string()))?;
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    let mut out = format!("{method} {path} {version}\r\n");
    for header in lines.filter(|l| !l.is_empty()) {
        let name = header.split(':').next().unwrap_or("").trim();
        if [
            "proxy-connection",
            "proxy-authorization",
            "connection",
            "keep-alive",
        ]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
        {
            continue;
        }
        out.push_str(header);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    Ok(Request {
        host,
        port,
        forward: Some(out.into_bytes()),
    })
}

fn respond(client: &mut TcpStream, status: u16, message: &str) {
    let body = format!("{message}\n");
    let reason = printable(message);
    let _ = client.write_all(
        format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nProxy-Agent: wf\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    let _ = client.shutdown(Shutdown::Write);
    // Let the client read the answer before the socket closes.
    let mut sink = [0u8; 1024];
    let _ = client.set_read_timeout(Some(Duration::from_secs(2)));
    while matches!(client.read(&mut sink), Ok(n) if n > 0) {}
}

fn handle(shared: &Shared, mut client: TcpStream, id: u64) -> Option<Connection> {
    let _ = client.set_read_timeout(Some(HEAD_TIMEOUT));
    let (head, rest) = read_head(&mut client).ok()?;
    let request = match parse(&head) {
        Ok(r) => r,
        Err((status, message)) => {
            respond(&mut client, status, &message);
            return None;
        }
    };
    let mut record = Connection {
        id,
        host: hosts::host_key(&request.host).unwrap_or_else(|| printable(&request.host)),
        port: request.port,
        allowed: false,
        reason: None,
        bytes_up: 0,
        bytes_down: 0,
    };
    let addrs = match decide(shared, &request.host, request.port) {
        Ok(addrs) => addrs,
        Err(refusal) => {
            record.allowed = refusal.allowed;
            record.reason = Some(refusal.message.clone());
            respond(&mut client, refusal.status, &refusal.message);
            return Some(record);
        }
    };
    record.allowed = true;
    let mut upstream = None;
    let mut last = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, CONNECT_TIMEOUT) {
            Ok(s) => {
                upstream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some(mut upstream) = upstream else {
        let message = format!(
            "wf: cannot connect to {}:{}: {}",
            record.host,
            record.port,
            last.map_or("no address".to_string(), |e| e.to_string())
        );
        record.reason = Some(message.clone());
        respond(&mut client, 502, &message);
        return Some(record);
    };
    let _ = upstream.set_nodelay(true);
    let first = match &request.forward {
        None => {
            if client
                .write_all(b"HTTP/1.1 200 Connection established\r\nProxy-Agent: wf\r\n\r\n")
                .is_err()
            {
                return Some(record);
            }
            rest
        }
        Some(forward) => {
            let mut first = forward.clone();
            first.extend_from_slice(&rest);
            first
        }
    };
    if upstream.write_all(&first).is_err() {
        record.reason = Some("wf: the host closed the connection".into());
        return Some(record);
    }
    record.bytes_up = first.len() as u64;
    let _ = client.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = upstream.set_read_timeout(Some(IDLE_TIMEOUT));
    let (up, down) = relay(client, upstream);
    record.bytes_up += up;
    record.bytes_down = down;
    Some(record)
}

/// Copies both ways until both are done; bytes (client → host, host →
/// client).
fn relay(client: TcpStream, upstream: TcpStream) -> (u64, u64) {
    let (Ok(client2), Ok(upstream2)) = (client.try_clone(), upstream.try_clone()) else {
        return (0, 0);
    };
    let up = std::thread::Builder::new()
        .name("wf-proxy-up".into())
        .spawn(move || {
            let mut from = client2;
            let mut to = upstream2;
            let (n, clean) = copy(&mut from, &mut to);
            if clean {
                let _ = to.shutdown(Shutdown::Write);
            } else {
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
            }
            n
        });
    let mut from = upstream;
    let mut to = client;
    let (down, clean) = copy(&mut from, &mut to);
    if clean {
        let _ = to.shutdown(Shutdown::Write);
    } else {
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    }
    let up = up.ok().and_then(|h| h.join().ok()).unwrap_or(0);
    (up, down)
}

/// Copies until end of file (`true`) or an error (`false`); bytes copied.
/// Through a pipe with `splice(2)` (the bytes stay in the kernel), or, where
/// a descriptor cannot splice, through a buffer.
fn copy<R, W>(from: &mut R, to: &mut W) -> (u64, bool)
where
    R: Read + AsRawFd,
    W: Write + AsRawFd,
{
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fds, owned below.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return copy_buffered(from, to, 0);
    }
    // SAFETY: both were just created and are owned by nothing else.
    let (pipe_r, pipe_w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // A larger pipe moves more per call; the default (64 KiB) when refused.
    // SAFETY: fcntl on a pipe this function owns.
    unsafe {
        libc::fcntl(
            pipe_w.as_raw_fd(),
            libc::F_SETPIPE_SZ,
            SPLICE_CHUNK as libc::c_int,
        )
    };
    let (src, dst) = (from.as_raw_fd(), to.as_raw_fd());
    let mut total = 0u64;
    loop {
        // SAFETY: splice between descriptors that are open for the call;
        // null offsets (sockets and pipes have none).
        let n = unsafe {
            libc::splice(
                src,
                std::ptr::null_mut(),
                pipe_w.as_raw_fd(),
                std::ptr::null_mut(),
                SPLICE_CHUNK,
                libc::SPLICE_F_MOVE,
            )
        };
        if n == 0 {
            return (total, true);
        }
        if n < 0 {
            match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EINVAL) if total == 0 => return copy_buffered(from, to, 0),
                _ => return (total, false),
            }
        }
        let mut left = n as usize;
        while left > 0 {
            // SAFETY: as above.
            let m = unsafe {
                libc::splice(
                    pipe_r.as_raw_fd(),
                    std::ptr::null_mut(),
                    dst,
                    std::ptr::null_mut(),
                    left,
                    libc::SPLICE_F_MOVE,
                )
            };
            if m <= 0 {
                if m < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return (total, false);
            }
            left -= m as usize;
            total += m as u64;
        }
    }
}

/// Bytes moved per `splice` call (and the pipe size asked for).
const SPLICE_CHUNK: usize = 1 << 20;

/// [`copy`] through a buffer in memory.
fn copy_buffered(from: &mut impl Read, to: &mut impl Write, start: u64) -> (u64, bool) {
    let mut buf = vec![0u8; BUFFER];
    let mut total = start;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return (total, true),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return (total, false),
        };
        if to.write_all(&buf[..n]).is_err() {
            return (total, false);
        }
        total += n as u64;
    }
}

/// The forwarder of the `full` level, inside the sandbox: hands every
/// connection to `listener` (on `127.0.0.1:`[`INSIDE_PORT`] of the
/// command's network namespace) to the proxy over its socket at
/// [`INSIDE_SOCKET`], as a descriptor (`SCM_RIGHTS`): the proxy then reads
/// and writes the command's connection itself, and no byte passes through
/// the forwarder or the Unix socket (one hop fewer than relaying it,
/// 2 → 1 copy of every byte through a socket pair). Never returns.
pub fn forward(listener: TcpListener) -> ! {
    for client in listener.incoming() {
        let Ok(client) = client else { continue };
        let _ = client.set_nodelay(true);
        if let Ok(proxy) = UnixStream::connect(INSIDE_SOCKET) {
            let _ = send_fd(&proxy, client.as_raw_fd());
        }
        // Both are closed here: the proxy holds its own copy.
    }
    std::process::exit(0)
}

/// The marker byte sent with a handed-over descriptor.
const HANDOVER: u8 = b'C';

/// Sends `fd` over `unix` with one byte ([`HANDOVER`]).
fn send_fd(unix: &UnixStream, fd: RawFd) -> std::io::Result<()> {
    let byte = [HANDOVER];
    let mut iov = libc::iovec {
        iov_base: byte.as_ptr() as *mut libc::c_void,
        iov_len: 1,
    };
    // u64 words: the control buffer is aligned for cmsghdr.
    let mut control = [0u64; 4];
    // SAFETY: CMSG_* compute sizes and pointers within `control`, which is
    // large enough for one descriptor (checked by the assertion); sendmsg
    // reads `msg`, `iov` and `control`, all alive for the call.
    unsafe {
        let space = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as usize;
        assert!(space <= std::mem::size_of_val(&control));
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd);
        if libc::sendmsg(unix.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) != 1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The command's connection handed over on `unix` by the forwarder: one
/// descriptor that must be a connected TCP stream socket (anything else —
/// no descriptor, several, a file, a pipe, a listening or UDP socket: a
/// command can connect to this socket itself and send what it likes — is
/// closed and refused). The proxy only ever reads and writes it, which the
/// command that sent it could do itself.
fn receive_client(unix: &UnixStream) -> Option<TcpStream> {
    let _ = unix.set_read_timeout(Some(HEAD_TIMEOUT));
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut control = [0u64; 8];
    let mut fds: Vec<OwnedFd> = Vec::new();
    // SAFETY: recvmsg writes at most `msg_controllen` bytes into `control`
    // and one byte into `byte`; every descriptor received is taken into an
    // OwnedFd at once (closed on every path), read unaligned from the
    // control message the kernel wrote.
    let (n, truncated) = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        let n = libc::recvmsg(unix.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC);
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg);
                let len = (*cmsg).cmsg_len as usize - (data as usize - cmsg as usize);
                for i in 0..len / std::mem::size_of::<RawFd>() {
                    let fd = std::ptr::read_unaligned(data.cast::<RawFd>().add(i));
                    fds.push(OwnedFd::from_raw_fd(fd));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
        (n, msg.msg_flags & libc::MSG_CTRUNC != 0)
    };
    if n != 1 || byte[0] != HANDOVER || truncated || fds.len() != 1 {
        return None;
    }
    let fd = fds.pop()?;
    let int = |level, name| -> Option<libc::c_int> {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes one int into `value`.
        let r = unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                level,
                name,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        (r == 0).then_some(value)
    };
    let stream = int(libc::SOL_SOCKET, libc::SO_TYPE)? == libc::SOCK_STREAM;
    let inet = matches!(
        int(libc::SOL_SOCKET, libc::SO_DOMAIN)?,
        libc::AF_INET | libc::AF_INET6
    );
    let listening = int(libc::SOL_SOCKET, libc::SO_ACCEPTCONN)? != 0;
    if !stream || !inet || listening {
        return None;
    }
    let tcp = TcpStream::from(fd);
    tcp.peer_addr().ok()?;
    Some(tcp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(hosts: &[&str]) -> Shared {
        Shared {
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            test_names: vec![("local.test".into(), "127.0.0.1".parse().unwrap())],
            log: Mutex::new(Vec::new()),
            active: Mutex::new(0),
            idle: Condvar::new(),
            stop: AtomicBool::new(false),
        }
    }

    #[test]
    fn connect_and_absolute_requests_parse() {
        let r = parse(b"CONNECT pypi.org:443 HTTP/1.1\r\nHost: pypi.org:443\r\n\r\n").unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.forward),
            ("pypi.org", 443, None)
        );
        let r = parse(b"CONNECT [::1]:8443 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!((r.host.as_str(), r.port), ("::1", 8443));
        let r = parse(
            b"GET http://Example.org:8080/a?b HTTP/1.1\r\nHost: example.org\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n",
        )
        .unwrap();
        assert_eq!((r.host.as_str(), r.port), ("Example.org", 8080));
        assert_eq!(
            String::from_utf8(r.forward.unwrap()).unwrap(),
            "GET /a?b HTTP/1.1\r\nHost: example.org\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        let r = parse(b"GET http://example.org HTTP/1.0\r\n\r\n").unwrap();
        assert_eq!(r.port, 80);
        for bad in [
            &b"GET /local HTTP/1.1\r\n\r\n"[..],
            b"GET https://example.org/ HTTP/1.1\r\n\r\n",
            b"CONNECT example.org HTTP/1.1\r\n\r\n",
            b"GET http://u:p@example.org/ HTTP/1.1\r\n\r\n",
            b"SSH-2.0-OpenSSH\r\n\r\n",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn decisions_follow_the_list_and_refuse_special_addresses() {
        let s = shared(&["local.test", "pypi.org"]);
        let refused = decide(&s, "evil.com", 443).unwrap_err();
        assert_eq!(refused.status, 403);
        assert!(
            refused
                .message
                .starts_with("wf: host evil.com is not in sandbox.network"),
            "{}",
            refused.message
        );
        // Listed, but it resolves to loopback, which is not listed.
        let refused = decide(&s, "LOCAL.test", 80).unwrap_err();
        assert_eq!(
            refused.message,
            "wf: host local.test resolves to 127.0.0.1, a loopback address, which sandbox.network does not list"
        );
        // An address literal needs to be listed itself.
        assert_eq!(decide(&s, "151.101.0.223", 443).unwrap_err().status, 403);
        assert_eq!(decide(&s, "169.254.169.254", 80).unwrap_err().status, 403);
        let s = shared(&["local.test", "127.0.0.1"]);
        assert_eq!(
            decide(&s, "local.test", 80).unwrap(),
            ["127.0.0.1:80".parse().unwrap()]
        );
        assert_eq!(
            decide(&s, "127.0.0.1", 81).unwrap(),
            ["127.0.0.1:81".parse().unwrap()]
        );
    }
}
