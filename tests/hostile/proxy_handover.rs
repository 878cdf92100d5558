//! wf's proxy at the full level takes the command's TCP connections as
//! descriptors handed over a Unix socket bound into the sandbox
//! (`/run/wf-proxy.sock`, see `sandbox::proxy`). The command can connect to
//! that socket itself: a check sends it every wrong thing — a plain request
//! without a descriptor, a file, a pipe, a UDP socket, a listening socket,
//! two descriptors at once, and a TCP connection of its own to an unlisted
//! host — and the proxy must refuse each (close it, serve nothing) and
//! still serve the listed host afterwards. At the `landlock` level there is
//! no such socket (the proxy listens on a TCP port): nothing to attack.

use crate::cli::{Repo, events};
use std::io::{Read, Write};
use std::net::TcpListener;

const ATTACK: &str = r#"
import os, socket, sys, urllib.request
port = int(sys.argv[1])
SOCK = "/run/wf-proxy.sock"

def send(fds, data=b"C"):
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    u.connect(SOCK)
    if fds:
        socket.send_fds(u, [data], fds)
    else:
        u.sendall(data)
    u.settimeout(5)
    try:
        got = u.recv(100)
    except OSError as e:
        got = repr(e).encode()
    u.close()
    return got

def over(name, fds, data=b"C"):
    print(name, send(fds, data))

over("plain", [], b"GET http://refused.test:%d/ HTTP/1.1\r\nHost: x\r\n\r\n" % port)
f = open("/etc/hostname", "rb"); over("file", [f.fileno()])
r, w = os.pipe(); os.write(w, b"GET http://refused.test/ HTTP/1.1\r\n\r\n"); over("pipe", [r])
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); over("udp", [udp.fileno()])
lst = socket.socket(); lst.bind(("127.0.0.1", 0)); lst.listen(); over("listening", [lst.fileno()])
# A TCP connection of its own to the forwarder's port, then handed over
# twice at once.
a = socket.create_connection(("127.0.0.1", 3128)); b = socket.create_connection(("127.0.0.1", 3128))
over("two", [a.fileno(), b.fileno()])
# Its own connection, to an unlisted host: served like any, and refused.
c = socket.create_connection(("127.0.0.1", 3128))
c.sendall(b"GET http://refused.test:%d/ HTTP/1.1\r\nHost: refused.test\r\n\r\n" % port)
print("own", c.recv(200).split(b"\r\n")[0])
with urllib.request.urlopen("http://allowed.test:%d/ok" % port, timeout=10) as resp:
    print("STILL-SERVED", resp.read().decode())
"#;

#[test]
fn the_proxys_handover_socket_takes_only_a_connected_tcp_socket() {
    if !crate::full_level() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    let repo = Repo::new();
    repo.file("attack.py", ATTACK)
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: handover
model: {{ provider: script, script: turns.yaml }}
prompt: Fetch.
limits: {{ max_repairs: 0 }}
checks:
  - {{ name: attack, run: \"python3 attack.py {port}\" }}
sandbox: {{ network: [allowed.test, 127.0.0.1] }}
"
            ),
        )
        .file("turns.yaml", "turns:\n  - text: Done.\n")
        .commit();
    let ran = repo.wf_env(
        &["run", "task.yaml", "--dry-run", "--trust-sandbox"],
        &[(
            "WF_TEST_RESOLVE",
            "allowed.test=127.0.0.1,refused.test=127.0.0.1",
        )],
    );
    ran.code(0);
    let trace = repo.last_trace();
    let out = events(&trace, "check_result")[0]["output_tail"]
        .as_str()
        .unwrap()
        .to_string();
    // Every wrong handover is closed without an answer (empty, or reset
    // where unread data was left).
    for name in ["plain", "file", "pipe", "udp", "listening", "two"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name}: {out}"));
        assert!(
            line == format!("{name} b''") || line.contains("Connection reset"),
            "{line}\n{out}"
        );
    }
    assert!(
        out.contains("own b'HTTP/1.1 403 wf: host refused.test is not in sandbox.network"),
        "{out}"
    );
    assert!(out.contains("STILL-SERVED ok"), "{out}");
    // Only the two real requests reached the proxy's log.
    let hosts: Vec<String> = events(&trace, "network_connection")
        .iter()
        .map(|c| format!("{} {}", c["host"].as_str().unwrap(), c["allowed"]))
        .collect();
    assert_eq!(hosts, ["refused.test false", "allowed.test true"], "{out}");
}
