//! Confining the children wf starts (shell tool, checks, command steps).
//!
//! # Design
//!
//! wf itself is never confined. To run a command confined, wf re-executes
//! itself as `wf __sandbox <fd> -- <argv...>` (see [`Launcher`]), with the
//! policy in a close-on-exec memory file at `<fd>` (not on the command
//! line: the sandbox's init is PID 1, and a command could read
//! `/proc/1/cmdline`); `main` hands that mode to [`helper_main`] before any
//! argument parsing. The helper is a fresh single-threaded process, so the
//! namespace and mount set-up happens in ordinary Rust code, not between
//! `fork` and `exec` of a multi-threaded program. It first marks every
//! descriptor above stderr close-on-exec: a command inherits nothing wf's
//! own parent left open.
//!
//! Two [`Level`]s, the strongest the machine allows ([`level`] probes once):
//!
//! **`full`** (user namespaces available):
//!
//! 1. The helper `unshare`s a user, mount, pid and ipc namespace, and a
//!    network namespace unless [`Grants::network`] is set, denies
//!    `setgroups` and maps its own uid and gid to the same ids inside.
//! 2. It forks. The child is PID 1 of the new pid namespace, a tiny init:
//!    it asks for `SIGKILL` when the helper dies (`PR_SET_PDEATHSIG`),
//!    builds the minimal root view of the policy and enters it (see
//!    `view`: `pivot_root` into a tmpfs holding only the granted roots,
//!    private `/tmp`, `/run`, `/dev/shm`, a `/dev` without `tty`, a fresh
//!    `/proc` with sensitive files masked, credential files of the
//!    toolchain homes masked), brings the loopback interface up in the new
//!    network namespace, drops every capability, sets `no_new_privs`,
//!    applies Landlock (with abstract-socket and signal scoping) and the
//!    seccomp filter (see `seccomp`).
//! 3. The init forks and execs the command in a session of its own (no
//!    controlling terminal), reaps every process that ends up as its
//!    child, and exits with the command's status (its exit code, or 128 +
//!    the signal) as soon as the command exits. The kernel then kills
//!    whatever is left in the pid namespace, daemons that `setsid` out of
//!    the process group included. The helper mirrors the init's status.
//!
//! **`landlock`** (no user namespaces: GitHub's `ubuntu-latest`, Docker and
//! Kubernetes under their default seccomp profile): Landlock and the
//! seccomp filter (narrower sockets) in the command's process, and a
//! keeper process for what the pid namespace did; see `keeper`.
//!
//! wf kills the helper's process group on timeout; the init dies with the
//! helper (parent-death signal), which tears down the namespace; at the
//! `landlock` level the keeper gets `SIGTERM` and kills every descendant.
//!
//! Whether the command could be started is reported to wf over a dedicated
//! close-on-exec pipe (see [`Started`]): `exec` failures come back as the
//! same [`std::io::Error`] a direct spawn gives, and set-up failures as an
//! error naming the step that failed. A command is never run unconfined,
//! and never at a weaker level than the one recorded. A command killed by
//! a signal shows as exit code 128 + signal, not as a signal. Unlike
//! `execvp`, a script without a `#!` line is not retried with `/bin/sh`
//! (it fails with `ENOEXEC`).
//!
//! # Threat model
//!
//! Confined (the table in `docs/security.md` says what each level gives):
//! - **Files**: the command reads and executes only the system and
//!   toolchain roots of [`default_read_roots`] and the run's extra read
//!   roots, writes only the workspace and the run's temp dir (and extra
//!   write roots), and cannot write the workspace's `.git` (full: a
//!   read-only bind mount it cannot unmount; landlock: checked after the
//!   command, which fails on a change). Nothing else of `$HOME`, of the
//!   user's repository or of `/tmp` exists (full) or can be opened
//!   (landlock). Credential files inside toolchain homes
//!   ([`CREDENTIAL_FILES`]) are masked. The user's repository is never a
//!   read root: its ignored toolchain directories (`.venv`,
//!   `node_modules`: [`Grants::tools`]) are readable, read-only, and at
//!   the full level the repository's own path shows the workspace
//!   ([`Grants::repository`]; see `workspace::tools`, "The project where
//!   it expects itself").
//! - **Processes**: full: a fresh `/proc` shows only the sandbox's
//!   processes; landlock: other processes are listed but their
//!   environments and memory are out of reach (Landlock's ptrace rules).
//!   Signals cannot reach processes outside; nothing survives the command.
//! - **Network**: full: no interface but a private loopback unless the
//!   policy allows the network; landlock: no socket at all unless allowed.
//!   The host's Unix sockets are unreachable at both levels.
//! - **Terminal**: a session of its own, no `/dev/tty`, `TIOCSTI` refused.
//! - **Kernel**: the seccomp filter (`seccomp`); no capabilities (bounding
//!   set emptied, securebits `NOROOT` locked, ambient set cleared),
//!   `no_new_privs`.
//!
//! Not confined: CPU, memory and disk use (wf's timeout bounds time only);
//! and, when wf runs as root, the command runs as uid 0 without
//! capabilities, so files owned by root with owner permissions are
//! readable *within the read roots* (e.g. `/etc/shadow` if it is `0640`).
//! Run wf as an ordinary user for the ordinary Unix permissions on top.
//!
//! What the task file adds (`sandbox: off`, `network`, extra roots) is
//! the repository's to ask for and the user's to grant: a run starts
//! nothing under a wider sandbox than the default before the user
//! approved that exact widening, and roots covering `/` or the home
//! directory are refused (`wf::plan::widening`, `wf::app::trust`).
//!
//! # Decisions
//!
//! - **Capabilities** are dropped with the bounding set (irreversible, and an
//!   `execve` by uid 0 grants at most the bounding set), `SECBIT_NOROOT`
//!   plus its lock (uid 0 gets no capabilities from `execve` at all), the
//!   ambient set cleared and locked against raising, and finally `capset`
//!   to empty sets for the init itself. Any one of the first two would be
//!   enough for the exec'd command; both together make the result not
//!   depend on uid 0 semantics. `no_new_privs` stops set-uid and file
//!   capabilities, and is what Landlock requires without `CAP_SYS_ADMIN`.
//! - **PID-1 init** rather than exec'ing the command as PID 1: a command as
//!   PID 1 would not get default signal handling (`kill` of itself from
//!   inside is ignored), would have to reap orphans it knows nothing about,
//!   and the end of the command would not be a clean point to tear down the
//!   namespace.
//! - **Of `/sys`, the CPU topology and the cgroup tree** (full level):
//!   compilers and runtimes read CPU counts and cache sizes there
//!   (`std::thread::available_parallelism` with cgroups, Python's
//!   `os.cpu_count`, `nproc`); the rest (network interfaces, devices) is
//!   left out of the view.
//! - **`/dev`**: only the harmless character devices (`null`, `zero`,
//!   `full`, `random`, `urandom`) can be opened; not `tty`. Granting read on all of `/dev` would let a command running as
//!   root read raw block devices (`/dev/vda`, `/dev/loop*`), i.e. every file.
//! - **Crates**: `landlock` (maintained by the Landlock authors) for the
//!   ruleset, best effort for access rights newer than the running kernel
//!   but a hard failure when Landlock does not enforce anything; `libc` for
//!   namespaces, mounts, capabilities and the process plumbing.

pub mod error;
mod fs_rules;
mod helper;
pub mod hosts;
pub use error::{HostError, SetupError};
mod keeper;
pub use keeper::stat_record;
mod probe;
pub mod proxy;
mod seccomp;
mod view;

pub use helper::helper_main;
pub use probe::{
    FORCE_UNAVAILABLE_ENV, Missing, Support, Unavailable, check, check_in, doctor_report, level,
    support,
};

/// How strongly this machine can confine a command, weakest first (see
/// the module docs and `keeper`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Without namespaces: Landlock, seccomp, a keeper process.
    Landlock,
    /// User, mount, pid, ipc and network namespaces, a minimal root view,
    /// Landlock and seccomp.
    Full,
}

impl Level {
    /// The name used in records and messages: `full` or `landlock`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Landlock => "landlock",
            Level::Full => "full",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The argument that selects the helper mode: `wf __sandbox ...`.
pub const HELPER_ARG: &str = "__sandbox";

/// What a confined command is granted: what it may read and write, and
/// how it reaches the network. (Named apart from `wf::policy::Policy`,
/// the permission decision of the model's tools.) Paths are canonical,
/// existing, sorted and deduplicated (see [`Grants::normalized`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    /// Read and execute.
    pub read: Vec<PathBuf>,
    /// Full access.
    pub write: Vec<PathBuf>,
    /// Inside write roots but read-only (e.g. the workspace's `.git`).
    pub read_only: Vec<PathBuf>,
    /// A file created when a command changed a `read_only` path, which
    /// only the level without namespaces can let happen (it cannot mount
    /// them read-only, so the keeper compares them after each command and
    /// fails the command: see `keeper`). The command's writes stay, so the
    /// owner of those paths reads the mark as "do not trust them again":
    /// wf makes such a workspace slot anew at its next run, as after
    /// unconfined commands. `None`: no mark.
    #[serde(default)]
    pub changed_mark: Option<PathBuf>,
    /// Keep the host's network (no network namespace).
    pub network: bool,
    /// Reach wf's proxy, and through it the hosts of a list (see
    /// [`proxy`]), and nothing else of the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<proxy::ProxyAccess>,
    /// Files inside the read roots shown with other content (credentials
    /// in a toolchain home: see [`CREDENTIAL_FILES`]).
    #[serde(default)]
    pub masks: Vec<Mask>,
    /// Symbolic links the view recreates: the host's system roots that
    /// are links (`/bin -> usr/bin` on merged-`/usr` systems), link path
    /// and target as read.
    #[serde(default)]
    pub links: Vec<(PathBuf, PathBuf)>,
    /// The user's repository (canonical): at the full level the workspace
    /// is shown at this path too, with its `.git` read-only, and a command
    /// started in the workspace starts at the same place under it (see
    /// `view` and "The project where it expects itself" in
    /// `crate::workspace::tools`). `None` at the level without namespaces, or
    /// where a root of the policy lies inside the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<PathBuf>,
    /// The toolchain directories of the user's tree the workspace links
    /// to (an ignored `.venv`, `venv`, `node_modules`): read-only at both
    /// levels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
}

/// A toolchain directory of the user's tree, read-only for commands.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tool {
    /// Where the workspace's link to it leads (wf's `<slot>.links/<name>`):
    /// at the full level the directory is bound there read-only; without
    /// namespaces this is a link to `source` on the host.
    pub at: PathBuf,
    /// The user's directory, canonical: without namespaces, the read root.
    pub source: PathBuf,
}

/// A file of a read root shown with other content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mask {
    /// The file, canonical.
    pub path: PathBuf,
    /// What the command reads instead (empty for a credentials file, the
    /// file without its token lines for a configuration).
    pub content: String,
}

/// Files of the toolchain homes that hold registry credentials, by the
/// variable naming the home (or its default under `$HOME`), and whether
/// the file is a configuration whose other lines matter (shown without
/// its credential lines) or only credentials (shown empty).
pub const CREDENTIAL_FILES: &[(&str, &str, &str, bool)] = &[
    ("CARGO_HOME", ".cargo", "credentials", false),
    ("CARGO_HOME", ".cargo", "credentials.toml", false),
    ("CARGO_HOME", ".cargo", "config", true),
    ("CARGO_HOME", ".cargo", "config.toml", true),
    ("VIRTUAL_ENV", "", "pip.conf", true),
    ("PYENV_ROOT", ".pyenv", "pip.conf", true),
    ("", ".nvm", ".npmrc", true),
    ("GOPATH", "go", ".netrc", false),
];

/// Whether a configuration line carries a credential: a key named like a
/// token, password or secret, or a URL with a password in it.
fn is_credential_line(line: &str) -> bool {
    let lower = line.trim_start().to_ascii_lowercase();
    let key = match lower.split_once('=') {
        Some((key, _)) => key,
        None => lower.split(':').next().unwrap_or(""),
    };
    let key_words = [
        "token",
        "password",
        "passwd",
        "secret",
        "_auth",
        "credential",
    ];
    static URL_WITH_PASSWORD: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    key_words.iter().any(|w| key.contains(w))
        || URL_WITH_PASSWORD
            .get_or_init(|| {
                regex::Regex::new(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")
                    .expect("a valid pattern")
            })
            .is_match(&lower)
}

/// The masks for the credential files present in `env`'s toolchain homes.
pub fn credential_masks(env: &HostEnv) -> Vec<Mask> {
    let home = env.get("HOME").map(PathBuf::from);
    let mut out = Vec::new();
    for (var, default, file, config) in CREDENTIAL_FILES {
        let dir = env
            .get(var)
            .map(PathBuf::from)
            .or_else(|| (!default.is_empty()).then(|| home.as_ref().map(|h| h.join(default)))?);
        let Some(dir) = dir else { continue };
        let path = dir.join(file);
        let Ok(path) = std::fs::canonicalize(&path) else {
            continue;
        };
        let content = if *config {
            match std::fs::read_to_string(&path) {
                Ok(text) => text
                    .lines()
                    .filter(|l| !is_credential_line(l))
                    .map(|l| format!("{l}\n"))
                    .collect(),
                Err(_) => String::new(),
            }
        } else {
            String::new()
        };
        out.push(Mask { path, content });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out.dedup_by(|a, b| a.path == b.path);
    out
}

/// The system roots that are symbolic links here.
fn system_links() -> Vec<(PathBuf, PathBuf)> {
    let mut links: Vec<(PathBuf, PathBuf)> = SYSTEM_READ_ROOTS
        .iter()
        .chain(["/var/run", "/etc/resolv.conf"].iter())
        .filter_map(|p| {
            let p = PathBuf::from(p);
            let meta = std::fs::symlink_metadata(&p).ok()?;
            meta.file_type()
                .is_symlink()
                .then(|| Some((p.clone(), std::fs::read_link(&p).ok()?)))?
        })
        .collect();
    links.sort();
    links
}

impl Grants {
    /// The policy for a run: the default read roots of wf's environment,
    /// the workspace and `tmp` writable, the workspace's `.git` read-only.
    pub fn for_run(
        workspace: &Path,
        tmp: &Path,
        extra_read: &[PathBuf],
        extra_write: &[PathBuf],
        network: bool,
    ) -> Grants {
        Grants::for_run_in(
            &HostEnv::current(),
            workspace,
            tmp,
            extra_read,
            extra_write,
            network,
        )
    }

    /// [`Grants::for_run`] with the default read roots of `env` instead of
    /// wf's own environment.
    pub fn for_run_in(
        env: &HostEnv,
        workspace: &Path,
        tmp: &Path,
        extra_read: &[PathBuf],
        extra_write: &[PathBuf],
        network: bool,
    ) -> Grants {
        let mut read = default_read_roots(env);
        read.extend(extra_read.iter().cloned());
        // A resolver configuration that is a link out of /etc (systemd's
        // stub in /run) is granted where it points.
        if let Ok(resolv) = std::fs::canonicalize("/etc/resolv.conf")
            && !resolv.starts_with("/etc")
        {
            read.push(resolv);
        }
        let mut write = vec![workspace.to_path_buf(), tmp.to_path_buf()];
        write.extend(extra_write.iter().cloned());
        Grants {
            read,
            write,
            read_only: vec![workspace.join(".git")],
            changed_mark: None,
            network,
            proxy: None,
            masks: credential_masks(env),
            links: system_links(),
            repository: None,
            tools: Vec::new(),
        }
        .normalized()
    }

    /// This policy with the workspace shown at `repository` (the user's
    /// repository path) at the full level, and the toolchain directories
    /// `tools` the workspace links to, read-only. The repository path is
    /// taken only when it is absolute, no root of the policy lies inside it
    /// (a bind there would land in the workspace) and it neither holds nor
    /// lies inside the workspace or a write root; else commands see the
    /// workspace at its own path only.
    pub fn placed(mut self, repository: Option<&Path>, tools: &[Tool]) -> Grants {
        // Never the home directory or a parent of it, nor a directory of
        // secrets in it (a toolchain directory that is a link there).
        let home = HostEnv::current()
            .get("HOME")
            .and_then(|h| std::fs::canonicalize(h).ok());
        let safe = |source: &Path| match &home {
            Some(home) => {
                !home.starts_with(source)
                    && !SENSITIVE_HOME_DIRS
                        .iter()
                        .any(|s| source.starts_with(home.join(s)))
            }
            None => source.parent().is_some(),
        };
        let mut kept: Vec<Tool> = tools
            .iter()
            .filter_map(|t| {
                Some(Tool {
                    at: t.at.clone(),
                    source: std::fs::canonicalize(&t.source).ok()?,
                })
            })
            .filter(|t| safe(&t.source))
            .collect();
        kept.sort();
        kept.dedup();
        self.tools = kept;
        let Some(repo) = repository.and_then(|r| std::fs::canonicalize(r).ok()) else {
            return self;
        };
        if repo.parent().is_none() || home.as_ref().is_some_and(|h| h.starts_with(&repo)) {
            return self;
        }
        // The user's tree is never a read root (an activated `.venv` on
        // `PATH`, `VIRTUAL_ENV`): its toolchain directories come as tools,
        // and at the full level the workspace is shown there instead.
        self.read.retain(|root| !root.starts_with(&repo));
        let tools = &self.tools;
        let in_tool = |path: &Path| tools.iter().any(|t| path.starts_with(&t.source));
        self.masks
            .retain(|m| !m.path.starts_with(&repo) || in_tool(&m.path));
        let clear = !self
            .read
            .iter()
            .chain(&self.read_only)
            .any(|root| root.starts_with(&repo))
            && !self
                .write
                .iter()
                .any(|w| w.starts_with(&repo) || repo.starts_with(w))
            && !self.tools.iter().any(|t| t.at.starts_with(&repo));
        self.repository = clear.then_some(repo);
        self
    }

    /// Where a command started in `cwd` runs: at the full level with the
    /// workspace shown at the repository's path, the same place under the
    /// repository; else `cwd`.
    pub fn placed_cwd(&self, level: Level, cwd: &Path) -> PathBuf {
        if let (Level::Full, Some(repo)) = (level, &self.repository)
            && let Some(workspace) = self.workspace()
            && let Ok(rest) = cwd.strip_prefix(workspace)
        {
            return repo.join(rest);
        }
        cwd.to_path_buf()
    }

    /// The workspace: the write root whose `.git` is read-only.
    pub fn workspace(&self) -> Option<&Path> {
        self.read_only
            .iter()
            .find(|p| p.ends_with(".git"))
            .and_then(|p| p.parent())
            .filter(|w| self.write.iter().any(|r| r == w))
    }

    /// Canonical, existing paths, sorted and deduplicated.
    pub fn normalized(self) -> Grants {
        Grants {
            read: canonical_set(&self.read),
            write: canonical_set(&self.write),
            read_only: canonical_set(&self.read_only),
            changed_mark: self.changed_mark,
            network: self.network,
            proxy: self.proxy,
            masks: self.masks,
            links: self.links,
            repository: self.repository,
            tools: self.tools,
        }
    }

    /// Whether `path` lies under a read or write root.
    pub fn grants(&self, path: &Path) -> bool {
        self.read
            .iter()
            .chain(&self.write)
            .chain(self.tools.iter().map(|t| &t.source))
            .any(|root| path.starts_with(root))
    }
}

fn canonical_set(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = paths
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The environment the default read roots are computed from: wf's own, or
/// any other (tests pass a fake `HOME`).
#[derive(Debug, Clone, Default)]
pub struct HostEnv {
    vars: BTreeMap<String, String>,
}

impl HostEnv {
    /// wf's environment (variables that are not UTF-8 are left out).
    pub fn current() -> HostEnv {
        HostEnv::from_vars(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// An environment made of these variables.
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> HostEnv {
        HostEnv {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// System directories every command may read and execute.
pub const SYSTEM_READ_ROOTS: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/opt",
    "/nix/store",
];

/// Directories of `$HOME` never granted by default, even when on `PATH`.
pub const SENSITIVE_HOME_DIRS: &[&str] = &[
    ".ssh",
    ".aws",
    ".config",
    ".netrc",
    ".git-credentials",
    ".docker",
    ".kube",
    ".gnupg",
];

/// The default read roots: the system directories, the toolchains of
/// `env` (`CARGO_HOME`, `RUSTUP_HOME`, `PYENV_ROOT`, `~/.nvm`,
/// `VIRTUAL_ENV`, `JAVA_HOME`, `GOPATH`, `GOROOT`) and the absolute `PATH`
/// directories, except `$HOME` itself (or a parent of it) and anything
/// under a [`SENSITIVE_HOME_DIRS`] entry. Only existing paths, canonical,
/// sorted.
pub fn default_read_roots(env: &HostEnv) -> Vec<PathBuf> {
    let home = env.get("HOME").map(PathBuf::from);
    let in_home = |rel: &str| home.as_ref().map(|h| h.join(rel));
    let var_or_home = |var: &str, rel: &str| env.get(var).map(PathBuf::from).or(in_home(rel));

    let mut candidates: Vec<PathBuf> = SYSTEM_READ_ROOTS.iter().map(PathBuf::from).collect();
    candidates.extend(
        [
            var_or_home("CARGO_HOME", ".cargo"),
            var_or_home("RUSTUP_HOME", ".rustup"),
            var_or_home("PYENV_ROOT", ".pyenv"),
            in_home(".nvm"),
            env.get("VIRTUAL_ENV").map(PathBuf::from),
            env.get("JAVA_HOME").map(PathBuf::from),
            env.get("GOPATH").map(PathBuf::from),
            env.get("GOROOT").map(PathBuf::from),
        ]
        .into_iter()
        .flatten(),
    );
    if let Some(path) = env.get("PATH") {
        candidates.extend(
            path.split(':')
                .map(PathBuf::from)
                .filter(|p| p.is_absolute()),
        );
    }

    let canonical_home = home.as_ref().and_then(|h| std::fs::canonicalize(h).ok());
    let homes: Vec<&PathBuf> = home.iter().chain(canonical_home.iter()).collect();
    let mut out: Vec<PathBuf> = candidates
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .filter(|p| {
            homes.iter().all(|h| {
                !h.starts_with(p) && !SENSITIVE_HOME_DIRS.iter().any(|s| p.starts_with(h.join(s)))
            })
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The task file's `sandbox.read` / `sandbox.write` entries as paths:
/// `~` is the home directory and `~/rest` a path in it (the only place
/// `~` is expanded; without a home, such entries are left out).
pub fn expand_home(list: &[String], home: Option<&Path>) -> Vec<PathBuf> {
    list.iter()
        .filter_map(|p| {
            if p == "~" {
                return home.map(Path::to_path_buf);
            }
            match p.strip_prefix("~/") {
                Some(rest) => home.map(|h| h.join(rest)),
                None => Some(PathBuf::from(p)),
            }
        })
        .collect()
}

/// The one place a task's sandbox settings become a confinement: the
/// run's policy ([`Grants::for_run`]: `workspace` and `tmp` writable, the
/// task's `read`/`write` entries expanded with [`expand_home`] plus
/// `extra_read`/`extra_write`) and the launcher (wf's own executable).
pub fn confinement(
    read: &[String],
    write: &[String],
    network: bool,
    workspace: &Path,
    tmp: &Path,
    extra_read: &[PathBuf],
    extra_write: &[PathBuf],
) -> std::io::Result<Sandboxed> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut read = expand_home(read, home.as_deref());
    read.extend(extra_read.iter().cloned());
    let mut write = expand_home(write, home.as_deref());
    write.extend(extra_write.iter().cloned());
    let policy = Grants::for_run(workspace, tmp, &read, &write, network);
    let level = level().map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(Sandboxed {
        launcher: Launcher::current()?,
        policy,
        level,
        proxy: None,
    })
}

/// Starts `wf __sandbox` for a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launcher {
    exe: PathBuf,
}

/// A policy and the launcher that enforces it: what `wf::sys::process::Spawn`
/// takes to run a command confined.
#[derive(Debug, Clone)]
pub struct Sandboxed {
    /// The `wf` executable to re-execute.
    pub launcher: Launcher,
    /// What the command may touch.
    pub policy: Grants,
    /// How it is confined.
    pub level: Level,
    /// The proxy the command reaches (when `policy.proxy` is set): its
    /// connections are logged there.
    pub proxy: Option<std::sync::Arc<proxy::Proxy>>,
}

impl Sandboxed {
    /// The same confinement with the network `network` gives: all of it,
    /// none, or the hosts of `proxy`'s list through it.
    pub fn with_network(
        mut self,
        network: bool,
        proxy: Option<std::sync::Arc<proxy::Proxy>>,
    ) -> Sandboxed {
        self.policy.network = network && proxy.is_none();
        self.policy.proxy = proxy.as_ref().map(|p| p.access().clone());
        self.proxy = proxy;
        self
    }
}

/// What the helper reads from its launch descriptor (a sealed memory file,
/// not an argument: the init is PID 1 of the sandbox, and the command
/// could read its `/proc/1/cmdline`).
#[derive(Debug, Serialize, Deserialize)]
struct Launch {
    policy: Grants,
    level: Level,
    /// Where to report whether the command started (see [`Started`]).
    report_fd: i32,
}

/// A wrapped command and the channel telling whether it started.
#[derive(Debug)]
pub struct Prepared {
    /// `wf __sandbox ... -- argv`: set cwd, environment, stdio and process
    /// group as for the bare command, then spawn it.
    pub command: Command,
    /// Call [`Started::wait`] right after spawning `command`.
    pub started: Started,
}

/// The read end of the helper's report pipe.
#[derive(Debug)]
pub struct Started {
    reader: std::io::PipeReader,
    writer: Option<OwnedFd>,
    launch: Option<OwnedFd>,
    policy: Grants,
}

impl Launcher {
    /// Re-executes the running executable (`wf`).
    pub fn current() -> std::io::Result<Launcher> {
        Ok(Launcher {
            exe: std::env::current_exe()?,
        })
    }

    /// Re-executes `exe`, which must be a `wf` binary (tests pass
    /// `env!("CARGO_BIN_EXE_wf")`).
    pub fn with_exe(exe: impl Into<PathBuf>) -> Launcher {
        Launcher { exe: exe.into() }
    }

    /// The executable re-executed.
    pub fn exe(&self) -> &Path {
        &self.exe
    }

    /// The wrapped command with a report channel (what
    /// `wf::sys::process::run` uses).
    pub fn prepare(
        &self,
        policy: &Grants,
        level: Level,
        argv: &[String],
    ) -> std::io::Result<Prepared> {
        let (reader, writer) = std::io::pipe()?;
        // The pipe is close-on-exec; keep the write end at 3 or above so the
        // child's stdio set-up cannot overwrite it.
        // SAFETY: F_DUPFD_CLOEXEC on a valid fd only creates a new fd, which
        // is owned by the OwnedFd below and nothing else.
        let fd = unsafe { libc::fcntl(writer.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        drop(writer);
        // SAFETY: `fd` was just returned by fcntl and is owned by no one else.
        let writer = unsafe { OwnedFd::from_raw_fd(fd) };
        let launch = serde_json::to_vec(&Launch {
            policy: policy.clone(),
            level,
            report_fd: fd,
        })
        .expect("a policy serializes");
        let launch_fd = launch_file(&launch)?;
        let lfd = launch_fd.as_raw_fd();
        let mut command = Command::new(&self.exe);
        command
            .arg(HELPER_ARG)
            .arg(lfd.to_string())
            .arg("--")
            .args(argv);
        // SAFETY: the closure only calls fcntl and prctl, which are
        // async-signal-safe, on fds that are open in the child (they were
        // inherited across fork).
        unsafe {
            command.pre_exec(move || {
                // Let this one child (only) inherit the report pipe and
                // the launch file.
                for fd in [fd, lfd] {
                    if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                // The helper dies with wf, however wf ends (`kill -9`
                // included), and the sandbox with it: its init dies with the
                // helper. (The signal is sent when the thread that started
                // the child ends; wf starts children from threads that wait
                // for them.)
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Ok(Prepared {
            command,
            started: Started {
                reader,
                writer: Some(writer),
                launch: Some(launch_fd),
                policy: policy.clone(),
            },
        })
    }
}

/// A close-on-exec memory file holding `bytes`, at fd 3 or above.
fn launch_file(bytes: &[u8]) -> std::io::Result<OwnedFd> {
    // SAFETY: memfd_create with a static name and flags.
    let fd = unsafe { libc::memfd_create(c"wf-sandbox-launch".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh fd owned by nothing else.
    let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    std::io::Write::write_all(&mut &file, bytes)?;
    // SAFETY: as in `prepare`: a new fd owned by the OwnedFd below.
    let high = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if high < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `high` was just returned by fcntl.
    Ok(unsafe { OwnedFd::from_raw_fd(high) })
}

/// Report messages, written by the helper in one `write` each.
mod msg {
    /// The command was exec'd.
    pub const STARTED: u8 = b'O';
    /// `exec` failed: errno (i32, little endian), then the path tried.
    pub const EXEC_FAILED: u8 = b'X';
    /// Setting up the sandbox failed: a UTF-8 message follows.
    pub const SETUP_FAILED: u8 = b'S';
}

impl Started {
    /// Waits until the helper has exec'd the command (`Ok`) or failed to.
    /// An `exec` failure gives the error a direct spawn would give (kind and
    /// message), except that a permission error on a program outside the
    /// policy's roots says so. Call right after spawning the command; on
    /// error, kill the helper's process group.
    pub fn wait(mut self) -> std::io::Result<()> {
        drop(self.writer.take());
        drop(self.launch.take());
        let mut buf = Vec::new();
        self.reader.read_to_end(&mut buf)?;
        match buf.split_first() {
            Some((&msg::STARTED, _)) => Ok(()),
            Some((&msg::EXEC_FAILED, rest)) if rest.len() >= 4 => {
                let errno = i32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
                let path = PathBuf::from(String::from_utf8_lossy(&rest[4..]).into_owned());
                Err(exec_error(errno, &path, &self.policy))
            }
            Some((&msg::SETUP_FAILED, rest)) => Err(std::io::Error::other(format!(
                "cannot confine the command (sandbox set-up failed: {}); it was not run",
                String::from_utf8_lossy(rest)
            ))),
            _ => Err(std::io::Error::other(
                "the sandbox helper ended before starting the command; it was not run",
            )),
        }
    }
}

fn exec_error(errno: i32, path: &Path, policy: &Grants) -> std::io::Error {
    let direct = std::io::Error::from_raw_os_error(errno);
    if !matches!(errno, libc::EACCES | libc::ENOENT) || !path.is_absolute() {
        return direct;
    }
    // Outside the view a program does not exist (ENOENT); Landlock refuses
    // one inside it that is not granted (EACCES). Either way, when the
    // program exists here but is not granted, say so and name the fix.
    let Ok(resolved) = std::fs::canonicalize(path) else {
        return direct;
    };
    if policy.grants(&resolved) {
        return direct;
    }
    std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        format!(
            "{}: {} lies outside the sandbox's read roots; grant it with `sandbox.read`",
            std::io::Error::from_raw_os_error(libc::EACCES),
            resolved.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_env(home: &Path, path: &str) -> HostEnv {
        HostEnv::from_vars([
            ("HOME", home.display().to_string()),
            ("PATH", path.to_string()),
        ])
    }

    #[test]
    fn default_roots_leave_out_home_and_its_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().canonicalize().unwrap();
        for d in [".ssh/bin", ".config/bin", ".cargo/bin", "tools/bin"] {
            std::fs::create_dir_all(home.join(d)).unwrap();
        }
        let path = format!(
            "{h}:{h}/.ssh/bin:{h}/.config/bin:{h}/tools/bin:relative/bin:/:/usr/bin:/no/such/dir",
            h = home.display()
        );
        let roots = default_read_roots(&fake_env(&home, &path));
        assert!(roots.contains(&home.join(".cargo")), "{roots:?}");
        assert!(roots.contains(&home.join("tools/bin")), "{roots:?}");
        assert!(!roots.contains(&home), "{roots:?}");
        assert!(!roots.contains(&PathBuf::from("/")), "{roots:?}");
        assert!(
            !roots
                .iter()
                .any(|r| r.starts_with(home.join(".ssh")) || r.starts_with(home.join(".config"))),
            "{roots:?}"
        );
        assert!(roots.iter().all(|r| r.is_absolute() && r.exists()));
        assert!(
            roots.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
    }

    #[test]
    fn the_run_policy_is_deterministic_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (ws, tmp) = (root.join("ws"), root.join("tmp"));
        std::fs::create_dir_all(ws.join(".git")).unwrap();
        std::fs::create_dir_all(&tmp).unwrap();
        let env = fake_env(&root.join("home"), "/usr/bin:/bin");
        let extra = [root.join("missing"), PathBuf::from("/usr")];
        let a = Grants::for_run_in(&env, &ws, &tmp, &extra, &[], false);
        let b = Grants::for_run_in(&env, &ws, &tmp, &extra, &[], false);
        assert_eq!(a, b);
        assert_eq!(a.write, vec![tmp.clone(), ws.clone()]);
        assert_eq!(a.read_only, vec![ws.join(".git")]);
        assert!(!a.read.contains(&root.join("missing")));
        assert!(a.read.windows(2).all(|w| w[0] < w[1]));
        let text = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Grants>(&text).unwrap(), a);
        assert!(a.grants(&ws.join("src/main.rs")));
        assert!(a.grants(Path::new("/usr/bin/env")));
        assert!(!a.grants(&root.join("home/.ssh/id")));
    }

    #[test]
    fn the_workspace_is_placed_at_the_repository_and_the_users_tree_is_no_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (ws, tmp, repo) = (root.join("ws"), root.join("tmp"), root.join("repo"));
        for d in [
            ws.join(".git"),
            tmp.clone(),
            repo.join(".venv/bin"),
            repo.join("bin"),
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(
            repo.join(".venv/pip.conf"),
            "index-url = https://u:pw@x/simple\n",
        )
        .unwrap();
        std::fs::write(repo.join("notes.txt"), "").unwrap();
        // An activated venv: on PATH and VIRTUAL_ENV; a tracked bin/ on PATH.
        let env = HostEnv::from_vars([
            ("HOME", root.join("home").display().to_string()),
            (
                "PATH",
                format!(
                    "/usr/bin:{}:{}",
                    repo.join(".venv/bin").display(),
                    repo.join("bin").display()
                ),
            ),
            ("VIRTUAL_ENV", repo.join(".venv").display().to_string()),
        ]);
        let policy = Grants::for_run_in(&env, &ws, &tmp, &[], &[], false);
        assert!(policy.read.contains(&repo.join(".venv")), "{policy:?}");
        let tool = Tool {
            at: root.join("ws.links/.venv"),
            source: repo.join(".venv"),
        };
        let placed = policy
            .clone()
            .placed(Some(&repo), std::slice::from_ref(&tool));
        assert_eq!(placed.repository.as_deref(), Some(repo.as_path()));
        assert_eq!(placed.tools, vec![tool.clone()]);
        assert!(
            placed.read.iter().all(|r| !r.starts_with(&repo)),
            "{:?}",
            placed.read
        );
        // The venv's pip.conf stays masked (where the venv is bound).
        assert!(
            placed
                .masks
                .iter()
                .any(|m| m.path == repo.join(".venv/pip.conf"))
        );
        assert!(placed.grants(&repo.join(".venv/bin")));
        assert!(!placed.grants(&repo.join("notes.txt")));
        assert_eq!(placed.workspace(), Some(ws.as_path()));
        assert_eq!(
            placed.placed_cwd(Level::Full, &ws.join("sub")),
            repo.join("sub")
        );
        assert_eq!(placed.placed_cwd(Level::Landlock, &ws), ws);
        // A write root inside the repository (or holding it): not placed.
        let mut inside = policy.clone();
        inside.write.push(repo.join("out"));
        assert_eq!(inside.placed(Some(&repo), &[]).repository, None);
        let holding = Grants::for_run_in(&env, &ws, &tmp, &[], std::slice::from_ref(&root), false);
        assert_eq!(holding.placed(Some(&repo), &[]).repository, None);
        // A toolchain directory that is the home directory or a secret
        // of it is never granted.
        let home = std::env::var("HOME").map(PathBuf::from).unwrap();
        let ssh = home.join(".ssh");
        if ssh.is_dir() {
            let bad = Tool {
                at: root.join("ws.links/node_modules"),
                source: ssh,
            };
            assert!(policy.clone().placed(Some(&repo), &[bad]).tools.is_empty());
        }
        let bad = Tool {
            at: root.join("ws.links/venv"),
            source: home,
        };
        assert!(policy.placed(Some(&repo), &[bad]).tools.is_empty());
    }

    #[test]
    fn the_wrapped_command_reexecutes_wf_with_the_launch_in_a_file() {
        let launcher = Launcher::with_exe("/opt/wf");
        let policy = Grants {
            read: vec![],
            write: vec![],
            read_only: vec![],
            changed_mark: None,
            network: true,
            proxy: None,
            masks: vec![],
            links: vec![],
            repository: None,
            tools: vec![],
        };
        let prepared = launcher
            .prepare(&policy, Level::Full, &["echo".into(), "hi".into()])
            .unwrap();
        let cmd = &prepared.command;
        assert_eq!(cmd.get_program(), "/opt/wf");
        let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy()).collect();
        assert_eq!(args[0], HELPER_ARG);
        assert_eq!(&args[2..], ["--", "echo", "hi"]);
        // The policy is not on the command line, but in the launch file.
        let fd: i32 = args[1].parse().unwrap();
        let text = std::fs::read(format!("/proc/self/fd/{fd}")).unwrap();
        let launch: Launch = serde_json::from_slice(&text).unwrap();
        assert_eq!(launch.policy, policy);
        assert_eq!(launch.level, Level::Full);
    }

    #[test]
    fn credential_lines_are_recognized() {
        for line in [
            "token = \"cio123\"",
            "//registry.npmjs.org/:_authToken=npm_x",
            "index-url = https://user:pw@example.com/simple",
            "password: x",
        ] {
            assert!(is_credential_line(line), "{line}");
        }
        for line in [
            "[build]",
            "jobs = 4",
            "index-url = https://example.com/simple",
        ] {
            assert!(!is_credential_line(line), "{line}");
        }
    }

    #[test]
    fn cargo_credentials_are_masked_and_config_tokens_removed() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(home.join(".cargo")).unwrap();
        std::fs::write(
            home.join(".cargo/credentials.toml"),
            "[registry]\ntoken = \"cioSECRET\"\n",
        )
        .unwrap();
        std::fs::write(
            home.join(".cargo/config.toml"),
            "[build]\njobs = 2\n[registries.x]\ntoken = \"cioSECRET\"\n",
        )
        .unwrap();
        let masks = credential_masks(&fake_env(&home, "/usr/bin"));
        assert_eq!(masks.len(), 2, "{masks:?}");
        assert_eq!(masks[0].path, home.join(".cargo/config.toml"));
        assert_eq!(masks[0].content, "[build]\njobs = 2\n[registries.x]\n");
        assert_eq!(masks[1].path, home.join(".cargo/credentials.toml"));
        assert_eq!(masks[1].content, "");
    }
}
