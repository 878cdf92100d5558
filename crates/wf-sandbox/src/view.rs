//! The filesystem a confined command sees at the full level: a new root
//! that holds only what the policy grants, instead of the host's root with
//! rules on top.
//!
//! Built by the sandbox init (inside its user and mount namespaces, before
//! it drops its capabilities), the way bubblewrap builds one:
//!
//! 1. a tmpfs becomes the root for a moment, with the host's root kept at
//!    `/oldroot` as the source of every bind;
//! 2. a second tmpfs at `/newroot` gets, in path order: private, empty,
//!    writable `/tmp`, `/var/tmp`, `/run` and `/dev/shm`; a `/dev` of its own
//!    with only `null`, `zero`, `full`, `random` and `urandom` (no `tty`, no
//!    `pts`, no block devices); each read root bound read-only, each write
//!    root bound writable, each read-only path inside a write root bound
//!    read-only over it; wf's proxy socket at `/run/wf-proxy.sock` when
//!    the network is a list of hosts; the workspace once more at the
//!    user's repository path ([`Grants::repository`], writable, its `.git`
//!    read-only: the user's own tree there is hidden), and each toolchain
//!    directory of the user's tree ([`Grants::tools`]) bound read-only
//!    where the workspace's link to it leads; each masked file (credentials inside a toolchain
//!    home) replaced by its masked content; the symbolic links the host's
//!    system roots are (`/bin -> usr/bin`); a fresh `/proc` with the kernel
//!    command line, the keyring listings and the kernel symbol tables
//!    masked; and of `/sys`, only the CPU topology and the cgroup tree
//!    (what runtimes read to size thread pools);
//! 3. the host's root is detached and `/newroot` becomes `/`, read-only;
//!    a command started in the workspace starts at the same place under
//!    the repository's path (and `PWD` says so).
//!
//! What is not in the view does not exist for the command: the host's
//! sockets (`ssh-agent`, the Docker and D-Bus sockets, whatever listens in
//! `/tmp` or `/run`), the rest of `$HOME`, the user's repository, other
//! users' files, `/sys/class/net`, `/proc/cmdline`.

use super::Grants;
use crate::SetupError;
use std::ffi::CString;
use std::path::{Path, PathBuf};

/// `/proc` files replaced by an empty file.
const PROC_MASKS: &[&str] = &[
    "/proc/cmdline",
    "/proc/keys",
    "/proc/key-users",
    "/proc/kallsyms",
    "/proc/timer_list",
    "/proc/sched_debug",
    "/proc/sysrq-trigger",
    "/proc/kcore",
    "/proc/config.gz",
];

/// Parts of `/sys` bound read-only.
const SYS_PARTS: &[&str] = &["/sys/devices/system/cpu", "/sys/fs/cgroup"];

/// Devices bound into the private `/dev`.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];

/// Private, empty, writable directories (mode 1777 except `/run`).
pub(super) const PRIVATE_DIRS: &[(&str, u32)] = &[
    ("/tmp", 0o1777),
    ("/var/tmp", 0o1777),
    ("/run", 0o755),
    ("/dev/shm", 0o1777),
];

fn c(path: &Path) -> Result<CString, SetupError> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes()).map_err(|_| SetupError::NulInPath(path.to_path_buf()))
}

fn check(ret: libc::c_int, step: &str) -> Result<(), SetupError> {
    if ret < 0 {
        Err(SetupError::last_os(step))
    } else {
        Ok(())
    }
}

fn mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
    step: &str,
) -> Result<(), SetupError> {
    let source = source.map(c).transpose()?;
    let target = c(target)?;
    let fstype = fstype.map(|s| CString::new(s).expect("no NUL"));
    let data = data.map(|s| CString::new(s).expect("no NUL"));
    let ptr = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: every pointer is null or a NUL-terminated string alive for
    // the call.
    let r = unsafe {
        libc::mount(
            ptr(&source),
            target.as_ptr(),
            ptr(&fstype),
            flags,
            ptr(&data).cast(),
        )
    };
    check(r, step)
}

fn tmpfs(target: &Path, mode: u32, step: &str) -> Result<(), SetupError> {
    mount(
        Some(Path::new("tmpfs")),
        target,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        Some(&format!("mode={mode:o}")),
        step,
    )
}

/// `/newroot` + an absolute path.
fn under(root: &str, path: &Path) -> PathBuf {
    Path::new(root).join(path.strip_prefix("/").unwrap_or(path))
}

/// Makes `path` exist as a directory (or, with `file`, an empty file) for
/// a mount point.
fn mount_point(path: &Path, file: bool) -> Result<(), SetupError> {
    let step = |e: std::io::Error| SetupError::Os {
        step: format!("create mount point {}", path.display()),
        source: e,
    };
    if file {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(step)?;
        }
        if std::fs::symlink_metadata(path).is_err() {
            std::fs::File::create(path).map_err(step)?;
        }
        Ok(())
    } else {
        std::fs::create_dir_all(path).map_err(step)
    }
}

/// Binds `source` on `target` (creating the mount point), read-only unless
/// `writable`. A missing source is an error when `required` (a root of the
/// policy: failing closed), else skipped (optional parts of `/sys`).
fn bind(source: &Path, target: &Path, writable: bool, required: bool) -> Result<(), SetupError> {
    let meta = match std::fs::metadata(source) {
        Ok(meta) => meta,
        Err(_) if !required => return Ok(()),
        Err(e) => return Err(SetupError::os(format!("bind {}", target.display()))(e)),
    };
    mount_point(target, !meta.is_dir())?;
    let step = format!("bind {}", target.display());
    mount(
        Some(source),
        target,
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
        &step,
    )?;
    if writable {
        return Ok(());
    }
    // Keep the flags the kernel locks on mounts inherited into a user
    // namespace, or the remount is refused.
    let ctarget = c(target)?;
    // SAFETY: statvfs fills a zeroed struct from a valid path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    check(unsafe { libc::statvfs(ctarget.as_ptr(), &mut st) }, &step)?;
    let mut flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
    for (st_flag, ms_flag) in [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if st.f_flag & st_flag != 0 {
            flags |= ms_flag;
        }
    }
    mount(None, target, None, flags, None, &step)
}

fn pivot_root(new_root: &str, put_old: &str, step: &str) -> Result<(), SetupError> {
    let new_root = CString::new(new_root).expect("no NUL");
    let put_old = CString::new(put_old).expect("no NUL");
    // SAFETY: two NUL-terminated paths.
    check(
        unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) as i32 },
        step,
    )
}

fn chdir(path: &Path) -> Result<(), SetupError> {
    std::env::set_current_dir(path).map_err(SetupError::os(format!("chdir {}", path.display())))
}

/// One thing to put into the new root.
enum Entry<'a> {
    Private(u32),
    Bind {
        writable: bool,
    },
    Mask(&'a str),
    /// Another host path bound here: the workspace at the repository's
    /// path (writable), its `.git` there and the toolchain directories
    /// (read-only, remounted so).
    From {
        source: PathBuf,
        writable: bool,
    },
}

/// Replaces this process's root with the view of `policy` (see the module
/// docs). The working directory is kept (by path: it must lie under a
/// granted root). Runs in the init, which holds every capability in its
/// user namespace and no other thread.
pub fn enter(policy: &Grants) -> Result<(), SetupError> {
    let cwd = std::env::current_dir().map_err(SetupError::os("getcwd"))?;
    mount(
        None,
        Path::new("/"),
        None,
        libc::MS_REC | libc::MS_PRIVATE,
        None,
        "make mounts private",
    )?;
    // Stage 1: a scratch root, with the host's root at /oldroot.
    tmpfs(Path::new("/tmp"), 0o755, "mount the scratch root")?;
    chdir(Path::new("/tmp"))?;
    for d in ["newroot", "oldroot"] {
        std::fs::create_dir(d).map_err(SetupError::os(format!("mkdir {d}")))?;
    }
    pivot_root(".", "oldroot", "pivot_root to the scratch root")?;
    chdir(Path::new("/"))?;
    tmpfs(Path::new("/newroot"), 0o755, "mount the new root")?;

    // Stage 2: the view, parents before children.
    let mut entries: Vec<(PathBuf, Entry)> = Vec::new();
    for (dir, mode) in PRIVATE_DIRS {
        entries.push((PathBuf::from(dir), Entry::Private(*mode)));
    }
    entries.extend(
        policy
            .read
            .iter()
            .map(|p| (p.clone(), Entry::Bind { writable: false })),
    );
    entries.extend(
        policy
            .write
            .iter()
            .map(|p| (p.clone(), Entry::Bind { writable: true })),
    );
    entries.extend(
        policy
            .read_only
            .iter()
            .map(|p| (p.clone(), Entry::Bind { writable: false })),
    );
    // A masked file inside a toolchain directory is masked where that
    // directory is bound.
    let masked_at = |path: &Path| -> PathBuf {
        policy
            .tools
            .iter()
            .find_map(|t| Some(t.at.join(path.strip_prefix(&t.source).ok()?)))
            .unwrap_or_else(|| path.to_path_buf())
    };
    entries.extend(
        policy
            .masks
            .iter()
            .map(|m| (masked_at(&m.path), Entry::Mask(&m.content))),
    );
    // The workspace at the repository's own path, its `.git` read-only
    // there too; the toolchain directories the workspace links to.
    let workspace = policy.workspace().map(Path::to_path_buf);
    if let (Some(repo), Some(ws)) = (&policy.repository, &workspace) {
        entries.push((
            repo.clone(),
            Entry::From {
                source: ws.clone(),
                writable: true,
            },
        ));
        entries.push((
            repo.join(".git"),
            Entry::From {
                source: ws.join(".git"),
                writable: false,
            },
        ));
    }
    entries.extend(policy.tools.iter().map(|t| {
        (
            t.at.clone(),
            Entry::From {
                source: t.source.clone(),
                writable: false,
            },
        )
    }));
    // Stable: a read-only path equal to a write root is bound after it.
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (i, (path, entry)) in entries.iter().enumerate() {
        let target = under("/newroot", path);
        match entry {
            Entry::Private(mode) => {
                mount_point(&target, false)?;
                tmpfs(
                    &target,
                    *mode,
                    &format!("mount a private {}", path.display()),
                )?;
            }
            Entry::Bind { writable } => {
                // A read root needs no read-only remount of its own:
                // Landlock grants it read access only. (Mounts cost about
                // a tenth of a millisecond each; the `.git` inside the
                // workspace, which Landlock grants write access with the
                // rest of the workspace, is remounted read-only.)
                // (Unless it lies in a private dir such as /tmp, which
                // Landlock grants in full.)
                let in_private = PRIVATE_DIRS.iter().any(|(d, _)| path.starts_with(d));
                let remount = !*writable && (!policy.read.contains(path) || in_private);
                bind(&under("/oldroot", path), &target, !remount, true)?
            }
            Entry::From { source, writable } => {
                bind(&under("/oldroot", source), &target, *writable, true)?
            }
            Entry::Mask(content) => {
                if std::fs::symlink_metadata(under("/oldroot", path)).is_err() {
                    continue;
                }
                let copy = PathBuf::from(format!("/mask-{i}"));
                std::fs::write(&copy, content).map_err(SetupError::os(format!(
                    "write the mask of {}",
                    path.display()
                )))?;
                // Inside a read root: Landlock keeps it read-only.
                bind(&copy, &target, true, true)?;
            }
        }
    }
    // wf's proxy (a list of hosts in `sandbox.network`): its socket, in
    // the private `/run`, where the forwarder connects (see `proxy`).
    if let Some(socket) = policy.proxy.as_ref().and_then(|p| p.socket.as_ref()) {
        bind(
            &under("/oldroot", socket),
            &under("/newroot", Path::new(super::proxy::INSIDE_SOCKET)),
            false,
            true,
        )?;
    }
    // The ways to roots inside a private dir (the workspace under /tmp)
    // are read-only: the private dir is the command's, the path to a
    // root is not (a file made there would look like the user's).
    for (dir, _) in PRIVATE_DIRS {
        let private = under("/newroot", Path::new(dir));
        let children = std::fs::read_dir(&private)
            .map_err(SetupError::os(format!("list {}", private.display())))?;
        for child in children {
            let child = child.map_err(SetupError::os(format!("list {}", private.display())))?;
            let is_root = entries
                .iter()
                .any(|(path, _)| path == &Path::new(dir).join(child.file_name()));
            if !is_root && child.file_type().is_ok_and(|t| t.is_dir()) {
                bind(&child.path(), &child.path(), false, true)?;
            }
        }
    }
    for (link, to) in &policy.links {
        let at = under("/newroot", link);
        if std::fs::symlink_metadata(&at).is_ok() {
            continue;
        }
        if let Some(parent) = at.parent() {
            std::fs::create_dir_all(parent)
                .map_err(SetupError::os(format!("create {}", parent.display())))?;
        }
        std::os::unix::fs::symlink(to, &at)
            .map_err(SetupError::os(format!("link {}", link.display())))?;
    }
    devices()?;
    let proc_dir = Path::new("/newroot/proc");
    mount_point(proc_dir, false)?;
    mount(
        Some(Path::new("proc")),
        proc_dir,
        Some("proc"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        None,
        "mount a fresh /proc",
    )?;
    std::fs::write("/empty", "").map_err(SetupError::os("write /empty"))?;
    for masked in PROC_MASKS {
        let target = under("/newroot", Path::new(masked));
        if std::fs::symlink_metadata(&target).is_ok() {
            // Landlock grants /proc read access only: no remount needed.
            bind(Path::new("/empty"), &target, true, true)?;
        }
    }
    for part in SYS_PARTS {
        bind(
            &under("/oldroot", Path::new(part)),
            &under("/newroot", Path::new(part)),
            // Landlock grants /sys read access only.
            true,
            false,
        )?;
    }

    // Stage 3: detach the host, enter the view, make its root read-only.
    // SAFETY: a NUL-terminated path and a flag.
    check(
        unsafe { libc::umount2(c"/oldroot".as_ptr(), libc::MNT_DETACH) },
        "detach the host's root",
    )?;
    chdir(Path::new("/newroot"))?;
    pivot_root(".", ".", "pivot_root to the view")?;
    // SAFETY: as above; "." is the scratch root stacked under the view.
    check(
        unsafe { libc::umount2(c".".as_ptr(), libc::MNT_DETACH) },
        "detach the scratch root",
    )?;
    chdir(Path::new("/"))?;
    mount(
        None,
        Path::new("/"),
        None,
        libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
        None,
        "make the view's root read-only",
    )?;
    let placed = policy.placed_cwd(super::Level::Full, &cwd);
    chdir(&placed)?;
    if placed != cwd {
        // SAFETY: the init is single-threaded; nothing reads the
        // environment concurrently. Shells keep a `PWD` that names the
        // working directory; this one does.
        unsafe { std::env::set_var("PWD", &placed) };
    }
    Ok(())
}

/// A private `/dev`: a few devices and the `fd` links (`/dev/shm` is
/// mounted with the private directories).
fn devices() -> Result<(), SetupError> {
    let dev = Path::new("/newroot/dev");
    mount_point(dev, false)?;
    for name in DEVICES {
        bind(
            &Path::new("/oldroot/dev").join(name),
            &dev.join(name),
            true,
            true,
        )?;
    }
    for (name, to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        std::os::unix::fs::symlink(to, dev.join(name))
            .map_err(SetupError::os(format!("link /dev/{name}")))?;
    }
    Ok(())
}
