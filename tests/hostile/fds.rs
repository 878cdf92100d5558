//! Route 10: inherited file descriptors. wf's parent left a secret open
//! without close-on-exec (`exec 7<secret; wf run …`); a check reads it.
//! Proves: confined commands start with stdin, stdout and stderr only.

use super::confined::{check_output, repo_with_check};
use crate::cli::wf_bin;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;

const PAYLOAD: &str = r#"import os
for fd in range(3, 64):
    try:
        os.fstat(fd)
    except OSError:
        continue
    try:
        print("OPEN", fd, os.readlink(f"/proc/self/fd/{fd}"), os.pread(fd, 100, 0))
    except OSError as e:
        print("OPEN", fd, "unreadable", e.errno)
print("scanned")
"#;

#[test]
fn a_check_sees_no_descriptor_wf_inherited() {
    let repo = repo_with_check(PAYLOAD, "");
    let secret = repo.tmp().join("secret.txt");
    std::fs::write(&secret, "INHERITED-FD-CANARY\n").unwrap();
    let file = std::fs::File::open(&secret).unwrap();
    let raw = file.as_raw_fd();
    let mut cmd = std::process::Command::new(wf_bin());
    cmd.args(["run", "task.yaml", "--dry-run"])
        .current_dir(repo.path())
        .stdin(std::process::Stdio::null());
    // SAFETY: dup2 is async-signal-safe; the new fd 7 has no close-on-exec,
    // as after a shell's `exec 7<file`.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(raw, 7) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let output = check_output(&repo);
    assert!(output.contains("scanned"), "{output}");
    assert!(!output.contains("INHERITED-FD-CANARY"), "{output}");
    assert!(!output.contains("OPEN"), "{output}");
}
