//! Can this machine confine commands? [`check`] and [`doctor_report`].

/// What this machine supports (all of it is required).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Support {
    /// The Landlock ABI version of the running kernel (1 or more).
    pub landlock_abi: i32,
    /// Whether a seccomp filter can be installed (required).
    pub seccomp: bool,
    /// The strongest confinement this machine gives.
    pub level: super::Level,
    /// What keeps it from the full level (empty at the full level).
    pub below_full: Vec<Missing>,
}

/// One missing feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// What is missing, e.g. "user namespaces".
    pub what: String,
    /// The errno of the failed probe, if a system call failed.
    pub errno: Option<i32>,
    /// Why, in words.
    pub why: String,
}

/// Why commands cannot be confined here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    /// Everything missing.
    pub missing: Vec<Missing>,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "the sandbox is unavailable on this machine:")?;
        for m in &self.missing {
            write!(f, "  - {}: {}", m.what, m.why)?;
            if let Some(errno) = m.errno {
                write!(f, " ({})", std::io::Error::from_raw_os_error(errno))?;
            }
            writeln!(f)?;
        }
        writeln!(f, "ways out:")?;
        writeln!(
            f,
            "  - Landlock needs Linux 5.13 or later with landlock in the lsm= boot parameter, and seccomp filters (CONFIG_SECCOMP_FILTER); with both, wf confines without namespaces"
        )?;
        write!(
            f,
            "  - or run unconfined, knowingly: `--sandbox off` for one run, or `sandbox: off` in the task file"
        )
    }
}

impl std::error::Error for Unavailable {}

/// Setting this to `1` makes [`check`] report the sandbox unavailable
/// (tests use it; it can only make wf refuse, never loosen anything).
pub const FORCE_UNAVAILABLE_ENV: &str = "WF_TEST_SANDBOX_UNAVAILABLE";

/// Probes whether this machine can confine files (Landlock), processes
/// (user, mount and pid namespaces and a fresh `/proc`) and the network
/// (network namespace). Takes a few milliseconds: one forked probe.
pub fn check() -> Result<Support, Unavailable> {
    check_in(&super::HostEnv::current())
}

/// [`check`], reading [`FORCE_UNAVAILABLE_ENV`] from `env` instead of
/// wf's environment.
pub fn check_in(env: &super::HostEnv) -> Result<Support, Unavailable> {
    if env.get(FORCE_UNAVAILABLE_ENV) == Some("1") {
        return Err(Unavailable {
            missing: vec![Missing {
                what: "everything".into(),
                errno: None,
                why: format!("{FORCE_UNAVAILABLE_ENV}=1 is set"),
            }],
        });
    }
    let probe = Probe::run();
    let mut missing = Vec::new();
    if probe.landlock_abi < 1 {
        missing.push(Missing {
            what: "Landlock (file confinement)".into(),
            errno: Some(-probe.landlock_abi),
            why: "the kernel has no Landlock, or it is not enabled".into(),
        });
    }
    if !probe.seccomp {
        missing.push(Missing {
            what: "seccomp filters".into(),
            errno: None,
            why: "the kernel cannot install a seccomp filter".into(),
        });
    }
    let mut below_full = Vec::new();
    for stage in &probe.stages {
        match stage.result {
            Ok(()) => {}
            // Not reached: an earlier step failed and is reported.
            Err(0) => {}
            Err(errno) => below_full.push(Missing {
                what: stage.what.to_string(),
                errno: Some(errno),
                why: stage.why.to_string(),
            }),
        }
    }
    if !missing.is_empty() {
        missing.extend(below_full);
        return Err(Unavailable { missing });
    }
    Ok(Support {
        landlock_abi: probe.landlock_abi,
        seccomp: probe.seccomp,
        level: if below_full.is_empty() {
            super::Level::Full
        } else {
            super::Level::Landlock
        },
        below_full,
    })
}

/// What this machine supports, probed once per process (see [`check`]).
pub fn support() -> Result<Support, Unavailable> {
    static SUPPORT: std::sync::OnceLock<Result<Support, Unavailable>> = std::sync::OnceLock::new();
    SUPPORT.get_or_init(check).clone()
}

/// The level commands are confined at on this machine ([`support`]).
pub fn level() -> Result<super::Level, Unavailable> {
    support().map(|s| s.level)
}

/// Each guarantee, and whether it holds at `level`: (what, held, how or
/// why not).
pub fn guarantees(level: super::Level) -> Vec<(&'static str, bool, &'static str)> {
    let full = level == super::Level::Full;
    vec![
        (
            "files",
            true,
            if full {
                "a minimal root view (system and toolchain roots read-only, the workspace writable), Landlock on top"
            } else {
                "Landlock on the host's tree: only the granted roots can be opened"
            },
        ),
        (
            "network",
            true,
            if full {
                "a network namespace of its own (loopback only) unless the task allows the network; a host list through wf's proxy, bridged in"
            } else {
                "seccomp refuses every socket unless the task allows the network (then IPv4 and IPv6 only); no private loopback; a host list through wf's proxy needs Landlock ABI 4 (TCP rules)"
            },
        ),
        (
            "processes",
            true,
            if full {
                "a pid namespace: nothing survives the command"
            } else {
                "a keeper (child subreaper) kills every descendant when the command ends or wf dies"
            },
        ),
        (
            "terminal",
            true,
            "a session of its own, no /dev/tty, TIOCSTI and TIOCLINUX refused",
        ),
        ("keyring", true, "keyctl, add_key and request_key refused"),
        (
            "sockets",
            true,
            if full {
                "the host's Unix sockets are not in the view; abstract sockets end at the network namespace and Landlock's scope"
            } else {
                "no Unix socket can be created (socketpair still works); abstract sockets scoped by Landlock"
            },
        ),
        (
            "/proc",
            full,
            if full {
                "a fresh /proc of the sandbox's processes; kernel command line and key listings masked"
            } else {
                "the host's /proc: every process and its command line are listed (environments and memory stay out of reach)"
            },
        ),
    ]
}

/// A human report: the Landlock ABI, the namespaces, seccomp, what wf
/// will do, and why anything is missing.
pub fn doctor_report() -> String {
    let probe = Probe::run();
    let mut out = String::from("sandbox\n");
    if probe.landlock_abi >= 1 {
        out.push_str(&format!(
            "  Landlock: ABI {} (wf asks for the rights of ABI 10; older kernels enforce their subset)\n",
            probe.landlock_abi
        ));
    } else {
        out.push_str(&format!(
            "  Landlock: unavailable ({})\n",
            std::io::Error::from_raw_os_error(-probe.landlock_abi)
        ));
    }
    for stage in &probe.stages {
        match stage.result {
            Ok(()) => out.push_str(&format!("  {}: yes\n", stage.what)),
            Err(0) => out.push_str(&format!(
                "  {}: not probed (an earlier step failed)\n",
                stage.what
            )),
            Err(errno) => out.push_str(&format!(
                "  {}: no ({}; {})\n",
                stage.what,
                std::io::Error::from_raw_os_error(errno),
                stage.why
            )),
        }
    }
    out.push_str(&format!(
        "  seccomp: {}\n",
        if probe.seccomp {
            "available (wf installs a filter on every command)"
        } else {
            "unavailable"
        }
    ));
    match check() {
        Ok(support) => {
            out.push_str(&format!(
                "  level: {} — wf confines every command at this level\n",
                support.level
            ));
            for (what, held, how) in guarantees(support.level) {
                let mark = if held { "yes" } else { "weaker" };
                out.push_str(&format!("    {what}: {mark}: {how}\n"));
            }
            if support.level != super::Level::Full {
                out.push_str("  to reach the full level (namespaces):\n");
                for m in &support.below_full {
                    out.push_str(&format!("    - {}: {}", m.what, m.why));
                    if let Some(errno) = m.errno {
                        out.push_str(&format!(" ({})", std::io::Error::from_raw_os_error(errno)));
                    }
                    out.push('\n');
                }
                out.push_str("    - Ubuntu 23.10 and later (GitHub's ubuntu-latest): sysctl kernel.apparmor_restrict_unprivileged_userns=0\n");
                out.push_str("    - Docker/Kubernetes: a seccomp profile that allows unshare/clone with CLONE_NEWUSER, or run wf outside the container\n");
            }
        }
        Err(e) => {
            out.push_str(
                "  level: none — wf will refuse to run commands unless the sandbox is turned off\n",
            );
            for line in e.to_string().lines() {
                out.push_str("  ");
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

struct Stage {
    what: &'static str,
    why: &'static str,
    /// `Err(0)`: not reached.
    result: Result<(), i32>,
}

struct Probe {
    /// The ABI version, or minus the errno.
    landlock_abi: i32,
    seccomp: bool,
    stages: Vec<Stage>,
}

const STAGES: &[(&str, &str)] = &[
    (
        "user namespaces",
        "unprivileged user namespaces are disabled or restricted",
    ),
    (
        "uid/gid mapping",
        "the user namespace's id maps could not be written",
    ),
    ("mount namespaces", "a mount namespace could not be created"),
    (
        "network namespaces",
        "a network namespace could not be created",
    ),
    ("pid namespaces", "a pid namespace could not be created"),
    (
        "a fresh /proc",
        "proc could not be mounted in the new pid namespace (is /proc partly masked, as in some containers?)",
    ),
];

const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;

impl Probe {
    fn run() -> Probe {
        // SAFETY: with a null attr, size 0 and the VERSION flag the syscall
        // only returns the ABI version (or fails); nothing is created.
        let abi = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<u8>(),
                0usize,
                LANDLOCK_CREATE_RULESET_VERSION,
            )
        };
        let landlock_abi = if abi < 0 {
            -std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::ENOSYS)
        } else {
            abi as i32
        };
        let mut action: u32 = 0x8000_0000; // SECCOMP_RET_KILL_PROCESS
        // SAFETY: SECCOMP_GET_ACTION_AVAIL (2) only reads `action`.
        let seccomp = unsafe { libc::syscall(libc::SYS_seccomp, 2, 0, &mut action) } == 0;
        let results = namespaces();
        let stages = STAGES
            .iter()
            .zip(results)
            .map(|(&(what, why), result)| Stage { what, why, result })
            .collect();
        Probe {
            landlock_abi,
            seccomp,
            stages,
        }
    }
}

/// Runs the namespace steps in a forked child (only raw system calls there:
/// wf may be multi-threaded) and returns each step's result.
fn namespaces() -> Vec<Result<(), i32>> {
    let mut results = vec![Err(0); STAGES.len()];
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let uid_map = format!("{uid} {uid} 1\n");
    let gid_map = format!("{gid} {gid} 1\n");
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fds.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        results[0] = Err(errno);
        return results;
    }
    let (r, w) = (fds[0], fds[1]);
    // SAFETY: the child only makes async-signal-safe system calls on data
    // prepared before the fork, then _exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: see above.
        unsafe { probe_child(w, uid_map.as_bytes(), gid_map.as_bytes()) }
    }
    // SAFETY: closes the parent's copy of the write end.
    unsafe { libc::close(w) };
    if pid < 0 {
        // SAFETY: closes the read end.
        unsafe { libc::close(r) };
        results[0] = Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
        return results;
    }
    let mut record = [0u8; 8];
    loop {
        // SAFETY: reads one record into a stack buffer; records are written
        // whole (8 bytes, below PIPE_BUF).
        let n = unsafe { libc::read(r, record.as_mut_ptr().cast(), record.len()) };
        if n == record.len() as isize {
            let stage = u32::from_le_bytes([record[0], record[1], record[2], record[3]]) as usize;
            let errno = i32::from_le_bytes([record[4], record[5], record[6], record[7]]);
            if let Some(slot) = results.get_mut(stage) {
                *slot = if errno == 0 { Ok(()) } else { Err(errno) };
            }
        } else if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        } else {
            break;
        }
    }
    // SAFETY: closes the read end and reaps the probe child.
    unsafe {
        libc::close(r);
        let mut status = 0;
        while libc::waitpid(pid, &mut status, 0) < 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
        {}
    }
    results
}

/// Sends one stage result; returns whether it succeeded.
///
/// # Safety
///
/// Async-signal-safe: only `write` and a read of errno.
unsafe fn send(w: libc::c_int, stage: u32, ret: libc::c_long) -> bool {
    let errno = if ret < 0 {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL)
    } else {
        0
    };
    let mut record = [0u8; 8];
    record[..4].copy_from_slice(&stage.to_le_bytes());
    record[4..].copy_from_slice(&errno.to_le_bytes());
    // SAFETY: write from a stack buffer.
    unsafe { libc::write(w, record.as_ptr().cast(), record.len()) };
    errno == 0
}

/// # Safety
///
/// Called in a freshly forked child of a possibly multi-threaded process:
/// only async-signal-safe system calls on memory prepared before the fork.
unsafe fn probe_child(w: libc::c_int, uid_map: &[u8], gid_map: &[u8]) -> ! {
    // SAFETY: raw system calls on constant strings and on buffers that were
    // allocated before the fork; _exit ends the child.
    unsafe {
        let write_file = |path: &std::ffi::CStr, data: &[u8]| -> libc::c_long {
            let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return -1;
            }
            let n = libc::write(fd, data.as_ptr().cast(), data.len());
            libc::close(fd);
            if n < 0 { -1 } else { 0 }
        };
        let ok = send(w, 0, libc::unshare(libc::CLONE_NEWUSER).into())
            && send(w, 1, {
                let r = write_file(c"/proc/self/setgroups", b"deny");
                if r < 0 {
                    r
                } else if write_file(c"/proc/self/uid_map", uid_map) < 0 {
                    -1
                } else {
                    write_file(c"/proc/self/gid_map", gid_map)
                }
            })
            && send(w, 2, {
                let r: libc::c_long = libc::unshare(libc::CLONE_NEWNS).into();
                if r < 0 {
                    r
                } else {
                    libc::mount(
                        std::ptr::null(),
                        c"/".as_ptr(),
                        std::ptr::null(),
                        libc::MS_REC | libc::MS_PRIVATE,
                        std::ptr::null(),
                    )
                    .into()
                }
            })
            && send(w, 3, libc::unshare(libc::CLONE_NEWNET).into())
            && send(w, 4, libc::unshare(libc::CLONE_NEWPID).into());
        if ok {
            let pid = libc::fork();
            if pid == 0 {
                send(
                    w,
                    5,
                    libc::mount(
                        c"proc".as_ptr(),
                        c"/proc".as_ptr(),
                        c"proc".as_ptr(),
                        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                        std::ptr::null(),
                    )
                    .into(),
                );
                libc::_exit(0);
            }
            if pid < 0 {
                send(w, 5, -1);
            } else {
                let mut status = 0;
                libc::waitpid(pid, &mut status, 0);
            }
        }
        libc::_exit(0)
    }
}
