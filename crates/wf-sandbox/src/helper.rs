//! The `wf __sandbox` process: namespaces, the PID-1 init, and the exec of
//! the command. Runs in a fresh single-threaded process, so everything up
//! to the last fork is ordinary Rust; only the command's child does
//! async-signal-safe work between its fork and exec.

use super::{Grants, HELPER_ARG, Launch, fs_rules, msg, seccomp, view};
use crate::SetupError;
use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;

/// Exit code when the sandbox could not be set up.
pub(super) const EXIT_SETUP: i32 = 125;
/// The error record of a command whose confinement failed before `exec`
/// (no errno is negative).
const SETUP_ERRNO: i32 = -1;
/// Exit code when the program exists but could not be executed.
const EXIT_NOT_EXECUTABLE: i32 = 126;
/// Exit code when the program was not found.
const EXIT_NOT_FOUND: i32 = 127;

/// Entry point of `wf __sandbox <launch> -- <argv...>`; never returns.
pub fn helper_main() -> ! {
    let args: Vec<OsString> = std::env::args_os().collect();
    let parsed = parse(&args);
    let (launch, argv) = match parsed {
        Ok(p) => p,
        Err(e) => {
            eprintln!("wf sandbox: {e}");
            exit(EXIT_SETUP)
        }
    };
    // Nothing wf's own parent left open reaches the command: every
    // descriptor above stderr closes at exec (the report pipe is used
    // before, by this process and the init).
    // SAFETY: close_range with constant arguments; it only sets flags.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    let report = Report::new(Some(launch.report_fd));
    let result = match launch.level {
        super::Level::Full => outer(&launch.policy, &argv, &report),
        super::Level::Landlock => super::keeper::run(&launch.policy, &argv, &report),
    };
    match result {
        Ok(never) => match never {},
        Err(e) => {
            report.setup_failed(&e.to_string());
            exit(EXIT_SETUP)
        }
    }
}

fn parse(args: &[OsString]) -> Result<(Launch, Vec<CString>), SetupError> {
    if args.len() < 5 || args[1] != HELPER_ARG || args[3] != "--" {
        return Err(SetupError::Launch(format!(
            "usage: wf {HELPER_ARG} <launch> -- <program> [args...] (internal)"
        )));
    }
    let fd: i32 = args[2]
        .to_str()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| {
            SetupError::Launch("the launch argument is not a descriptor number".into())
        })?;
    // SAFETY: the fd was passed by wf for this process to own; the File
    // closes it when dropped.
    let file = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    // wf wrote the file through a shared offset: read it from the start.
    let mut text = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = std::os::unix::fs::FileExt::read_at(&file, &mut buf, text.len() as u64)
            .map_err(|e| SetupError::Launch(format!("cannot read the launch: {e}")))?;
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
    }
    let launch: Launch = serde_json::from_slice(&text)
        .map_err(|e| SetupError::Launch(format!("bad launch: {e}")))?;
    let argv = args[4..]
        .iter()
        .map(|a| {
            CString::new(a.as_bytes())
                .map_err(|_| SetupError::Launch("an argument holds a NUL byte".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((launch, argv))
}

pub(super) fn exit(code: i32) -> ! {
    // SAFETY: _exit ends the process at once; nothing is left to flush (the
    // helper writes to stderr unbuffered), and it is safe after fork.
    unsafe { libc::_exit(code) }
}

pub(super) fn check(ret: libc::c_int, step: &str) -> Result<(), SetupError> {
    if ret < 0 {
        Err(SetupError::last_os(step))
    } else {
        Ok(())
    }
}

/// The channel to wf (or stderr when there is none).
pub(super) struct Report {
    fd: Option<i32>,
}

impl Report {
    fn new(fd: Option<i32>) -> Report {
        if let Some(fd) = fd {
            // SAFETY: fcntl on an inherited fd number; if the fd is not open
            // it fails harmlessly. Close-on-exec keeps it from the command.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        Report { fd }
    }

    fn send(&self, bytes: &[u8]) {
        if let Some(fd) = self.fd {
            // SAFETY: writes from a valid buffer; one write below PIPE_BUF
            // is atomic, so the reader sees the whole message or nothing.
            unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len().min(4096)) };
        }
    }

    pub(super) fn close(&self) {
        if let Some(fd) = self.fd {
            // SAFETY: closes this process's copy of the report fd.
            unsafe { libc::close(fd) };
        }
    }

    pub(super) fn setup_failed(&self, e: &str) {
        if self.fd.is_some() {
            let mut m = vec![msg::SETUP_FAILED];
            m.extend_from_slice(e.as_bytes());
            self.send(&m);
        } else {
            eprintln!("wf sandbox: cannot confine the command: {e}");
        }
    }

    fn started(&self) {
        self.send(&[msg::STARTED]);
        self.close();
    }

    fn exec_failed(&self, errno: i32, path: &[u8]) {
        if self.fd.is_some() {
            let mut m = vec![msg::EXEC_FAILED];
            m.extend_from_slice(&errno.to_le_bytes());
            m.extend_from_slice(&path[..path.len().min(3000)]);
            self.send(&m);
        } else {
            eprintln!(
                "wf sandbox: {}: {}",
                String::from_utf8_lossy(path),
                std::io::Error::from_raw_os_error(errno)
            );
        }
    }
}

/// The outer helper: namespaces, then the init, then waiting for it.
fn outer(
    policy: &Grants,
    argv: &[CString],
    report: &Report,
) -> Result<std::convert::Infallible, SetupError> {
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let mut flags =
        libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWIPC;
    if !policy.network {
        flags |= libc::CLONE_NEWNET;
    }
    // SAFETY: unshare takes flags only; the helper is single-threaded, as
    // CLONE_NEWUSER requires.
    check(
        unsafe { libc::unshare(flags) },
        "unshare(user, mount, pid, ipc, net namespaces)",
    )?;
    write_proc("/proc/self/setgroups", "deny")?;
    write_proc("/proc/self/uid_map", &format!("{uid} {uid} 1\n"))?;
    write_proc("/proc/self/gid_map", &format!("{gid} {gid} 1\n"))?;

    // Tells the init whether the helper is still alive after it asked for
    // the parent-death signal (the helper holds the write end until exit).
    let (alive_r, alive_w) = std::io::pipe().map_err(SetupError::os("pipe"))?;
    // SAFETY: the helper is single-threaded, so the child may run any code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(SetupError::last_os("fork the sandbox init"));
    }
    if pid == 0 {
        drop(alive_w);
        let code = match init(policy, argv, report, alive_r) {
            Ok(code) => code,
            Err(e) => {
                report.setup_failed(&e.to_string());
                EXIT_SETUP
            }
        };
        exit(code)
    }
    drop(alive_r);
    report.close();
    let status = wait_for(pid)?;
    drop(alive_w);
    exit(status)
}

fn write_proc(path: &str, text: &str) -> Result<(), SetupError> {
    std::fs::write(path, text).map_err(SetupError::os(format!("write {path}")))
}

/// Waits for `pid`; its exit code, or 128 + the signal that ended it.
pub(super) fn wait_for(pid: libc::pid_t) -> Result<i32, SetupError> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status into a valid i32.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Ok(exit_code(status));
        }
        if r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return Err(SetupError::last_os("waitpid"));
        }
    }
}

pub(super) fn exit_code(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        EXIT_SETUP
    }
}

/// PID 1 of the new pid namespace. Returns the exit code.
fn init(
    policy: &Grants,
    argv: &[CString],
    report: &Report,
    alive: std::io::PipeReader,
) -> Result<i32, SetupError> {
    // SAFETY: prctl with integer arguments only.
    check(
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) },
        "prctl(PR_SET_PDEATHSIG)",
    )?;
    if helper_gone(&alive) {
        return Ok(EXIT_SETUP);
    }
    drop(alive);

    view::enter(policy)?;
    if !policy.network {
        loopback_up()?;
    }
    // The forwarder's port in this namespace, bound before confinement.
    let forwarder = match &policy.proxy {
        Some(access) => Some(
            std::net::TcpListener::bind(("127.0.0.1", access.port)).map_err(SetupError::os(
                format!("listen on 127.0.0.1:{} for wf's proxy", access.port),
            ))?,
        ),
        None => None,
    };
    let ruleset = fs_rules::ruleset(policy, super::Level::Full)?;
    let filters = seccomp::programs(super::Level::Full, policy.network, None)?;
    drop_capabilities()?;
    // SAFETY: prctl with integer arguments only.
    check(
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) },
        "prctl(PR_SET_NO_NEW_PRIVS)",
    )?;
    fs_rules::restrict(ruleset)?;
    seccomp::install(&filters)?;
    if let Some(listener) = forwarder {
        start_forwarder(listener, report)?;
    }

    let command = spawn_command(argv, report, &|| Ok(()))?;
    reap_until(command)
}

/// Forks the forwarder to wf's proxy (see [`super::proxy::forward`]), as
/// confined as the command; the init keeps no copy of its listener.
fn start_forwarder(listener: std::net::TcpListener, report: &Report) -> Result<(), SetupError> {
    // SAFETY: the init is single-threaded, so the child may run any code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(SetupError::last_os("fork the proxy forwarder"));
    }
    if pid == 0 {
        // Nothing of wf's pipes: the report channel closes, and its
        // standard streams are /dev/null (wf's reading of the command's
        // output must end with the command).
        report.close();
        // SAFETY: open and dup2 on a constant path and the standard fds.
        unsafe {
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            if null >= 0 {
                for fd in 0..3 {
                    libc::dup2(null, fd);
                }
            }
        }
        super::proxy::forward(listener)
    }
    drop(listener);
    Ok(())
}

/// Whether the helper died before the init asked for the death signal.
fn helper_gone(alive: &std::io::PipeReader) -> bool {
    use std::os::fd::AsRawFd;
    let mut pfd = libc::pollfd {
        fd: alive.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll on one valid pollfd, zero timeout.
    let r = unsafe { libc::poll(&mut pfd, 1, 0) };
    r != 0 && pfd.revents & (libc::POLLHUP | libc::POLLIN) != 0
}

/// Brings `lo` up in the new network namespace.
fn loopback_up() -> Result<(), SetupError> {
    let step = "bring the loopback interface up";
    // SAFETY: socket with constant arguments.
    let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    check(sock, step)?;
    // SAFETY: ifreq is plain data; zeroed is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: the ioctls read and write the ifreq, which outlives them; the
    // flags field is the union member SIOC[GS]IFFLAGS use.
    let result = unsafe {
        if libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req) < 0 {
            Err(SetupError::last_os(step))
        } else {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            if libc::ioctl(sock, libc::SIOCSIFFLAGS, &req) < 0 {
                Err(SetupError::last_os(step))
            } else {
                Ok(())
            }
        }
    };
    // SAFETY: closes the socket opened above.
    unsafe { libc::close(sock) };
    result
}

// Securebits (linux/securebits.h).
const SECBIT_NOROOT: libc::c_ulong = 1 << 0;
const SECBIT_NOROOT_LOCKED: libc::c_ulong = 1 << 1;
const SECBIT_NO_SETUID_FIXUP_LOCKED: libc::c_ulong = 1 << 3;
const SECBIT_KEEP_CAPS_LOCKED: libc::c_ulong = 1 << 5;
const SECBIT_NO_CAP_AMBIENT_RAISE: libc::c_ulong = 1 << 6;
const SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED: libc::c_ulong = 1 << 7;
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Drops every capability for good (see the module docs for why this way).
pub(super) fn drop_capabilities() -> Result<(), SetupError> {
    let bits = SECBIT_NOROOT
        | SECBIT_NOROOT_LOCKED
        | SECBIT_NO_SETUID_FIXUP_LOCKED
        | SECBIT_KEEP_CAPS_LOCKED
        | SECBIT_NO_CAP_AMBIENT_RAISE
        | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    // SAFETY: prctl with integer arguments only.
    check(
        unsafe { libc::prctl(libc::PR_SET_SECUREBITS, bits, 0, 0, 0) },
        "prctl(PR_SET_SECUREBITS)",
    )?;
    for cap in 0..64 {
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) } < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
                break; // past the last capability this kernel knows
            }
            return Err(SetupError::last_os("prctl(PR_CAPBSET_DROP)"));
        }
    }
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
    let header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [CapData {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capset reads a v3 header and two data structs, laid out as
    // the kernel's __user_cap_header_struct / __user_cap_data_struct.
    check(
        unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) as libc::c_int },
        "capset",
    )
}

/// Where `program` may be, in `execvp` order.
fn candidates(program: &CString) -> Vec<CString> {
    if program.as_bytes().contains(&b'/') {
        return vec![program.clone()];
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/bin:/usr/bin".into());
    path.as_bytes()
        .split(|&b| b == b':')
        .filter_map(|dir| {
            let dir = if dir.is_empty() { b".".as_slice() } else { dir };
            let mut full = dir.to_vec();
            full.push(b'/');
            full.extend_from_slice(program.as_bytes());
            CString::new(full).ok()
        })
        .collect()
}

/// Forks and execs the command; reports to wf whether it started. Returns
/// its pid.
///
/// `confine` runs in the command's process before `exec` (the level
/// without namespaces confines there); its error is reported as a set-up
/// failure and nothing is exec'd. The forking process must be
/// single-threaded, so `confine` may run any code.
pub(super) fn spawn_command(
    argv: &[CString],
    report: &Report,
    confine: &dyn Fn() -> Result<(), SetupError>,
) -> Result<libc::pid_t, SetupError> {
    let candidates = candidates(&argv[0]);
    let env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut env_ptrs: Vec<*const libc::c_char> = env.iter().map(|a| a.as_ptr()).collect();
    env_ptrs.push(std::ptr::null());

    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fds.
    check(
        unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) },
        "pipe2",
    )?;
    let (err_r, err_w) = (fds[0], fds[1]);
    // SAFETY: fork of a single-threaded process.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(SetupError::last_os("fork the command"));
    }
    if pid == 0 {
        // Only async-signal-safe calls from here to exec: setsid, execve,
        // write, _exit, and reading errno.
        // A session of its own: no controlling terminal, so `/dev/tty`
        // cannot be opened and no terminal takes its input.
        // SAFETY: setsid is async-signal-safe; the child is not a group
        // leader (it was just forked), so it cannot fail.
        unsafe { libc::setsid() };
        if let Err(e) = confine() {
            let mut record = vec![0u8; 8];
            record[..4].copy_from_slice(&SETUP_ERRNO.to_le_bytes());
            // The helper is single-threaded: formatting here cannot
            // deadlock on a lock another thread held at the fork.
            let e = e.to_string();
            record.extend_from_slice(&e.as_bytes()[..e.len().min(3000)]);
            // SAFETY: write from a live buffer, then _exit.
            unsafe {
                libc::write(err_w, record.as_ptr().cast(), record.len());
                libc::_exit(EXIT_SETUP);
            }
        }
        let mut failed: (i32, usize) = (libc::ENOENT, 0);
        let mut eacces: Option<usize> = None;
        for (i, c) in candidates.iter().enumerate() {
            // SAFETY: NUL-terminated path and null-terminated pointer arrays
            // built before the fork and alive here.
            unsafe { libc::execve(c.as_ptr(), argv_ptrs.as_ptr(), env_ptrs.as_ptr()) };
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            failed = (errno, i);
            match errno {
                libc::EACCES => {
                    eacces.get_or_insert(i);
                }
                libc::ENOENT | libc::ENOTDIR => {}
                _ => break,
            }
        }
        if let Some(i) = eacces.filter(|_| matches!(failed.0, libc::ENOENT | libc::ENOTDIR)) {
            failed = (libc::EACCES, i);
        }
        let mut record = [0u8; 8];
        record[..4].copy_from_slice(&failed.0.to_le_bytes());
        record[4..].copy_from_slice(&(failed.1 as u32).to_le_bytes());
        // SAFETY: write from a stack buffer, then _exit; both
        // async-signal-safe.
        unsafe {
            libc::write(err_w, record.as_ptr().cast(), record.len());
            libc::_exit(if failed.0 == libc::ENOENT {
                EXIT_NOT_FOUND
            } else {
                EXIT_NOT_EXECUTABLE
            });
        }
    }
    // SAFETY: closes the init's copy of the write end.
    unsafe { libc::close(err_w) };
    let mut record = [0u8; 8 + 3000];
    let mut got = 0;
    while got < record.len() {
        // SAFETY: reads into the unfilled part of a stack buffer.
        let n = unsafe { libc::read(err_r, record[got..].as_mut_ptr().cast(), record.len() - got) };
        if n > 0 {
            got += n as usize;
        } else if n == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break;
        }
    }
    // SAFETY: closes the read end.
    unsafe { libc::close(err_r) };
    if got >= 8 && i32::from_le_bytes([record[0], record[1], record[2], record[3]]) == SETUP_ERRNO {
        report.setup_failed(&String::from_utf8_lossy(&record[8..got]));
        return Ok(pid);
    }
    if got >= 8 {
        let errno = i32::from_le_bytes([record[0], record[1], record[2], record[3]]);
        let index = u32::from_le_bytes([record[4], record[5], record[6], record[7]]) as usize;
        let path = candidates
            .get(index)
            .map_or(argv[0].as_bytes(), |c| c.as_bytes());
        let shown = if errno == libc::ENOENT && !argv[0].as_bytes().contains(&b'/') {
            argv[0].as_bytes()
        } else {
            path
        };
        report.exec_failed(errno, shown);
    } else {
        report.started();
    }
    Ok(pid)
}

/// Reaps children until `command` exits; its exit code (or 128 + signal).
fn reap_until(command: libc::pid_t) -> Result<i32, SetupError> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status into a valid i32.
        let r = unsafe { libc::waitpid(-1, &mut status, 0) };
        if r == command {
            return Ok(exit_code(status));
        }
        if r < 0 {
            match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => {}
                _ => return Err(SetupError::last_os("waitpid")),
            }
        }
    }
}
