//! The level without namespaces: where user namespaces are refused
//! (GitHub's `ubuntu-latest`, whose AppArmor restricts them; Docker and
//! Kubernetes under their default seccomp profile), the command is
//! confined by Landlock and the seccomp filter alone, and a keeper process
//! stands in for the pid namespace.
//!
//! ```text
//! wf ── helper (wf's process group; dies with wf or at wf's timeout)
//!         └─ keeper (a session of its own, child subreaper, unconfined)
//!               └─ command (a session of its own; no capabilities,
//!                  no_new_privs, Landlock, seccomp) ── its descendants
//! ```
//!
//! - **Processes.** The keeper is a child subreaper: whatever the command
//!   leaves behind (a `setsid` daemon, a double fork) is re-parented to it.
//!   When the command exits, the keeper kills every process below it
//!   (walking `/proc` until none is left) before it reports the exit code.
//!   When the helper dies — wf died, or wf's timeout killed the helper's
//!   group — the keeper gets `SIGTERM` (its parent-death signal) and does
//!   the same. The command cannot signal the keeper: Landlock's signal
//!   scope (ABI 6) ends its signals at its own domain, and the keeper is
//!   outside it.
//! - **Files.** The same Landlock rules as the full level, on the host's
//!   tree: the host's root is not replaced, so paths outside the grants
//!   exist but cannot be opened. Credential files inside a read root
//!   cannot be masked: the root is granted entry by entry, leaving those
//!   files out (a cargo `config.toml` with a token is then unreadable as a
//!   whole rather than shown without its token).
//! - **Network and sockets.** seccomp refuses `socket` for every family
//!   but IPv4 and IPv6, and for those too when the network is off: there
//!   is no private loopback at this level, and the host's Unix sockets
//!   (an `ssh-agent`, Docker's) cannot be hidden by a view, so no Unix
//!   socket can be created (`socketpair` still works). A test suite that
//!   serves on loopback needs the full level or `network: true`. With a
//!   list of hosts, wf's proxy listens on the host's loopback: Landlock
//!   (ABI 4, required then) lets the command connect to that TCP port
//!   only and bind none, and seccomp allows TCP stream sockets only (no
//!   UDP, so no DNS of its own) and no TCP Fast Open (`sendto` with
//!   `MSG_FASTOPEN` connects without `connect`). Landlock's rule is by
//!   port: the same port number on another address is reachable too.
//! - **Terminal, keyring, kernel.** As at the full level: a session of its
//!   own, no `/dev/tty`, and the seccomp filter.
//! - **What is weaker**, and `wf doctor` says so: the host's `/proc` lists
//!   every process and its command line (another process's environment
//!   and memory stay out of reach: Landlock denies ptrace-mode access
//!   across domains), `/sys` is the host's, `/tmp` is the host's (not
//!   granted: commands use `$TMPDIR`, the run's temp dir).

use super::helper::{
    EXIT_SETUP, Report, check, drop_capabilities, exit, exit_code, spawn_command, wait_for,
};
use super::{Grants, Level, fs_rules, seccomp};
use crate::SetupError;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the keeper's `SIGTERM` handler (its parent, the helper, died).
static ORPHANED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_term(_: libc::c_int) {
    ORPHANED.store(true, Ordering::SeqCst);
}

/// The helper's part: start the keeper and mirror its exit code.
pub fn run(
    policy: &Grants,
    argv: &[CString],
    report: &Report,
) -> Result<std::convert::Infallible, SetupError> {
    // SAFETY: getpid cannot fail.
    let helper = unsafe { libc::getpid() };
    // SAFETY: the helper is single-threaded, so the child may run any code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(SetupError::last_os("fork the keeper"));
    }
    if pid == 0 {
        let code = match keeper(policy, argv, report, helper) {
            Ok(code) => code,
            Err(e) => {
                report.setup_failed(&e.to_string());
                EXIT_SETUP
            }
        };
        exit(code)
    }
    report.close();
    let status = wait_for(pid)?;
    exit(status)
}

fn keeper(
    policy: &Grants,
    argv: &[CString],
    report: &Report,
    helper: i32,
) -> Result<i32, SetupError> {
    // SAFETY: plain system calls with integer arguments, and a signal
    // handler that only stores to an atomic.
    unsafe {
        check(libc::setsid(), "setsid")?;
        check(
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0),
            "prctl(PR_SET_CHILD_SUBREAPER)",
        )?;
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_term as *const () as libc::sighandler_t;
        check(
            libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut()),
            "sigaction(SIGTERM)",
        )?;
        check(
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0),
            "prctl(PR_SET_PDEATHSIG)",
        )?;
        if libc::getppid() != helper {
            return Ok(EXIT_SETUP); // the helper is already gone
        }
    }
    let filters = seccomp::programs(
        Level::Landlock,
        policy.network,
        policy.proxy.as_ref().map(|p| p.port),
    )?;
    let confine = || -> Result<(), SetupError> {
        // The command starts with the default handling of SIGTERM (exec
        // resets handlers; the keeper's mask is not blocked yet here).
        let ruleset = fs_rules::ruleset(policy, Level::Landlock)?;
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            drop_capabilities()?;
        } else {
            // An ordinary user holds no capabilities to drop; ambient ones
            // (set by a launcher) go.
            // SAFETY: prctl with integer arguments only.
            check(
                unsafe {
                    libc::prctl(
                        libc::PR_CAP_AMBIENT,
                        libc::PR_CAP_AMBIENT_CLEAR_ALL,
                        0,
                        0,
                        0,
                    )
                },
                "prctl(PR_CAP_AMBIENT_CLEAR_ALL)",
            )?;
        }
        // SAFETY: prctl with integer arguments only.
        check(
            unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) },
            "prctl(PR_SET_NO_NEW_PRIVS)",
        )?;
        fs_rules::restrict(ruleset)?;
        seccomp::install(&filters)
    };
    let before = fingerprint(&policy.read_only)?;
    let command = spawn_command(argv, report, &confine)?;
    report.close();
    // Wait for the command, or for the helper's death: both signals are
    // blocked and taken with sigwaitinfo, so neither can slip in between
    // a check and the wait. (A SIGTERM that came before the block ran the
    // handler, which set the flag.)
    // SAFETY: sigset operations on a zeroed, then emptied, set.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::sigaddset(&mut set, libc::SIGTERM);
        check(
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()),
            "sigprocmask",
        )?;
        set
    };
    let code = 'wait: loop {
        if ORPHANED.load(Ordering::SeqCst) {
            break 128 + libc::SIGKILL;
        }
        loop {
            let mut status = 0;
            // SAFETY: waitpid writes the status into a valid i32.
            let r = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if r == command {
                break 'wait exit_code(status);
            }
            if r <= 0 {
                break;
            }
        }
        // SAFETY: waits for one of the blocked signals; no info wanted.
        let sig = unsafe { libc::sigwaitinfo(&set, std::ptr::null_mut()) };
        if sig == libc::SIGTERM {
            ORPHANED.store(true, Ordering::SeqCst);
        }
    };
    kill_descendants();
    // Without a mount namespace the read-only paths inside write roots
    // (the workspace's .git) cannot be mounted read-only; a change is
    // caught here, and the command fails with a message wf shows.
    if fingerprint(&policy.read_only)? != before {
        // Made before the message: a keeper that cannot make it still
        // fails the command, and says the mark is missing.
        if let Some(mark) = &policy.changed_mark
            && let Err(e) = std::fs::write(mark, b"")
        {
            eprintln!(
                "wf sandbox: cannot write {} ({e}): the next run may reuse what the command changed",
                mark.display()
            );
        }
        let changed: Vec<String> = policy
            .read_only
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        eprintln!(
            "wf sandbox: the command changed {}, which it may only read (without namespaces wf cannot mount it read-only, so it checks after each command); the command is failed",
            changed.join(", ")
        );
        return Ok(EXIT_SETUP);
    }
    Ok(code)
}

/// What every file under `roots` is: path, type, size, inode, mode and
/// change time (which no system call can set back, unlike the
/// modification time). A missing root is an error: it is what the policy
/// protects.
/// What a fingerprint of a tree records of one entry (after its path):
/// mode, size, inode, ctime and mtime — what any write changes, `ctime`
/// being one no command can set back. Shared with the checkout mode's
/// guard of `.git` and `.wf` (`wf::workspace::checkout`).
pub fn stat_record(out: &mut Vec<u8>, meta: &std::fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    for n in [
        meta.mode() as i64,
        meta.size() as i64,
        meta.ino() as i64,
        meta.ctime(),
        meta.ctime_nsec(),
        meta.mtime(),
        meta.mtime_nsec(),
    ] {
        out.extend_from_slice(&n.to_le_bytes());
    }
}

fn fingerprint(roots: &[std::path::PathBuf]) -> Result<Vec<u8>, SetupError> {
    let mut out = Vec::new();
    let mut stack: Vec<std::path::PathBuf> = roots.to_vec();
    for root in roots {
        std::fs::symlink_metadata(root)
            .map_err(SetupError::os(format!("read-only path {}", root.display())))?;
    }
    while let Some(path) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            out.extend_from_slice(path.as_os_str().as_encoded_bytes());
            out.extend_from_slice(b"\0gone\0");
            continue;
        };
        out.extend_from_slice(path.as_os_str().as_encoded_bytes());
        stat_record(&mut out, &meta);
        if meta.is_dir() {
            let mut children: Vec<std::path::PathBuf> = std::fs::read_dir(&path)
                .map_err(SetupError::os(format!("list {}", path.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            children.sort();
            stack.extend(children.into_iter().rev());
        }
    }
    Ok(out)
}

/// The pids of this process's descendants, from `/proc`.
fn descendants() -> Vec<i32> {
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    let mut parent_of: Vec<(i32, i32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid ...": comm may hold spaces and parens.
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                continue;
            };
            if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut found = vec![me];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(
            parent_of
                .iter()
                .filter(|(_, ppid)| *ppid == p)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// Kills every descendant until none is left (a process that forks while
/// the walk runs is found by the next one: its parent is killed, and its
/// orphans come to this subreaper).
fn kill_descendants() {
    // The common case: nothing left. Every descendant still alive is a
    // child of this subreaper (orphans come here) or a child of one, so
    // no child at all means no descendant, without walking /proc.
    let mut status = 0;
    // SAFETY: waitpid writes the status into a valid i32.
    if unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } < 0
        && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD)
    {
        return;
    }
    for _ in 0..1000 {
        let pids = descendants();
        for &pid in &pids {
            // SAFETY: kill only sends a signal.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        // Reap what died.
        loop {
            let mut status = 0;
            // SAFETY: waitpid writes the status into a valid i32.
            let r = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if r <= 0 {
                break;
            }
        }
        if pids.is_empty() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}
