//! Route 3: Unix sockets at known paths. A check connects to a socket
//! listening on the host: a real `ssh-agent` (which would list the user's
//! keys and sign with them), a server in `/tmp`, an abstract socket.
//! Proves: the host's sockets are not in the confined command's view (a
//! minimal root: its `/tmp` and `/run` are its own, empty), abstract
//! sockets end at the sandbox (a network namespace of its own, and
//! Landlock's scoping where the kernel has it), and `SSH_AUTH_SOCK` is
//! never passed.

use super::confined::{check_output, repo_with_check};
use std::os::unix::net::UnixListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A real `ssh-agent` listening at `path` (when the machine has one).
struct Agent(Child);

impl Agent {
    fn start(path: &std::path::Path) -> Option<Agent> {
        let child = Command::new("ssh-agent")
            .args(["-D", "-a"])
            .arg(path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !path.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Agent(child))
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_check_cannot_reach_the_hosts_unix_sockets() {
    let tag = format!("wf-hostile-{}", std::process::id());
    let listener_path = std::env::temp_dir().join(format!("{tag}.sock"));
    let _ = std::fs::remove_file(&listener_path);
    let listener = UnixListener::bind(&listener_path).unwrap();
    listener.set_nonblocking(true).unwrap();
    let abstract_name = format!("{tag}-abstract");
    let abstract_listener = {
        use std::os::linux::net::SocketAddrExt;
        let addr =
            std::os::unix::net::SocketAddr::from_abstract_name(abstract_name.as_bytes()).unwrap();
        UnixListener::bind_addr(&addr).unwrap()
    };
    abstract_listener.set_nonblocking(true).unwrap();
    let agent_path = std::env::temp_dir().join(format!("{tag}-agent.sock"));
    let agent = Agent::start(&agent_path);

    let payload = format!(
        r#"import os, socket
print("SSH_AUTH_SOCK", os.environ.get("SSH_AUTH_SOCK"))
for label, addr in [("listener", {listener:?}), ("agent", {agent:?}), ("abstract", "\0" + {abstract_name:?})]:
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(addr)
        print("CONNECTED", label)
    except OSError as e:
        print("BLOCKED", label, e.errno)
"#,
        listener = listener_path.display().to_string(),
        agent = agent_path.display().to_string(),
    );
    let repo = repo_with_check(&payload, "");
    let ssh_auth_sock = agent_path.display().to_string();
    repo.wf_env(
        &["run", "task.yaml", "--dry-run"],
        &[("SSH_AUTH_SOCK", ssh_auth_sock.as_str())],
    )
    .code(0);
    let output = check_output(&repo);
    assert!(!output.contains("CONNECTED"), "{output}");
    for label in ["listener", "abstract"] {
        assert!(output.contains(&format!("BLOCKED {label}")), "{output}");
    }
    if agent.is_some() {
        assert!(output.contains("BLOCKED agent"), "{output}");
    }
    assert!(output.contains("SSH_AUTH_SOCK None"), "{output}");
    // Nobody knocked.
    assert!(listener.accept().is_err());
    assert!(abstract_listener.accept().is_err());
    let _ = std::fs::remove_file(&listener_path);
}
