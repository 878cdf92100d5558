//! Route 4: the kernel keyring. wf starts with a session keyring holding
//! a key (as a login session's does); a check searches it and reads the
//! key with `keyctl`. Proves: the keyring system calls are refused to a
//! confined command (seccomp), whatever keyring wf was started with.

use super::confined::{check_output, repo_with_check};
use crate::cli::wf_bin;
use std::os::unix::process::CommandExt;

const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;
const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;

const PAYLOAD: &str = r#"import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS_keyctl = 250
found = libc.syscall(SYS_keyctl, 10, -3, b"user", b"wf-hostile-key", 0)
if found < 0:
    print("BLOCKED search", ctypes.get_errno())
else:
    buf = ctypes.create_string_buffer(256)
    n = libc.syscall(SYS_keyctl, 11, found, buf, 256)
    print("READ", buf.raw[:max(n, 0)].decode(errors="replace"))
"#;

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "the payload names x86_64's system call number"
)]
fn a_check_cannot_read_the_session_keyring() {
    let repo = repo_with_check(PAYLOAD, "");
    let mut cmd = std::process::Command::new(wf_bin());
    cmd.args(["run", "task.yaml", "--dry-run"])
        .current_dir(repo.path())
        .stdin(std::process::Stdio::null());
    // SAFETY: two system calls between fork and exec, on static strings.
    unsafe {
        cmd.pre_exec(|| {
            let joined = libc::syscall(
                libc::SYS_keyctl,
                KEYCTL_JOIN_SESSION_KEYRING,
                std::ptr::null::<libc::c_char>(),
            );
            let secret = b"KEYRING-CANARY";
            let added = libc::syscall(
                libc::SYS_add_key,
                c"user".as_ptr(),
                c"wf-hostile-key".as_ptr(),
                secret.as_ptr(),
                secret.len(),
                KEY_SPEC_SESSION_KEYRING,
            );
            if joined < 0 || added < 0 {
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
    assert!(output.contains("BLOCKED search 1"), "{output}"); // EPERM
    assert!(!output.contains("KEYRING-CANARY"), "{output}");
}
