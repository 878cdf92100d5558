//! Route 1: terminal injection. A check opens `/dev/tty` (or uses any
//! descriptor that is a terminal) and pushes keystrokes with `TIOCSTI`;
//! pushed into wf's terminal they would answer the apply question, or run
//! in the user's shell after wf exits. Proves: a confined command has no
//! controlling terminal (its own session), no `/dev/tty`, and the terminal
//! ioctls are refused, so nothing reaches the terminal wf runs on.

use super::confined::{check_output, repo_with_check};
use crate::cli::wf_bin;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

const PAYLOAD: &str = r#"import fcntl, os, termios
MARK = b"echo wf-injected-keys\n"
fds = []
try:
    fds.append(os.open("/dev/tty", os.O_RDWR))
    print("OPENED /dev/tty")
except OSError as e:
    print("BLOCKED open /dev/tty", e.errno)
fds += [0, 1, 2]
for fd in fds:
    try:
        for ch in MARK:
            fcntl.ioctl(fd, termios.TIOCSTI, bytes([ch]))
        print("INJECTED", fd)
    except OSError as e:
        print("BLOCKED TIOCSTI", fd, e.errno)
"#;

/// Runs `wf args` in `dir` as the session leader of a new pseudo-terminal
/// (its controlling terminal, as in a user's shell); returns the exit code
/// and everything shown on the terminal.
fn wf_on_terminal(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let (master, slave) = crate::cli::pty::openpty();
    let mut cmd = std::process::Command::new(wf_bin());
    cmd.args(args)
        .current_dir(dir)
        .env("TERM", "dumb")
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave);
    // SAFETY: setsid and ioctl are async-signal-safe; stdin is the slave.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let (tx, rx) = std::sync::mpsc::channel();
    let mut reader = master;
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        let _ = tx.send(all);
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "wf did not finish");
        std::thread::sleep(Duration::from_millis(20));
    };
    let shown = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&shown).into_owned(),
    )
}

#[test]
fn a_check_cannot_push_keystrokes_into_wfs_terminal() {
    let repo = repo_with_check(PAYLOAD, "");
    let (code, shown) = wf_on_terminal(repo.path(), &["run", "task.yaml", "--dry-run"]);
    assert_eq!(code, 0, "{shown}");
    let output = check_output(&repo);
    assert!(output.contains("BLOCKED open /dev/tty"), "{output}");
    assert!(!output.contains("INJECTED"), "{output}");
    assert!(!output.contains("OPENED"), "{output}");
    // Pushed input would be echoed by the terminal.
    assert!(!shown.contains("wf-injected-keys"), "{shown}");
}
