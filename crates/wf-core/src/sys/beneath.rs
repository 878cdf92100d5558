//! Opening files beneath a directory, atomically: the one way wf's own file
//! tools touch the workspace.
//!
//! A path checked by name and then opened by name can change in between:
//! a process running beside the model (an MCP server, a command) that swaps
//! a workspace directory for a symlink to `/home/you` at the right moment
//! gets wf itself to read or write there (issue 21, item 2). So nothing here
//! takes a path to resolve twice. A [`Root`] holds an `O_PATH` descriptor
//! of the workspace opened once; every open goes through `openat2(2)`
//! relative to it (or to a directory descriptor opened that way) with
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS`: the
//! kernel resolves the whole path in one step, refuses any symlink on the
//! way (the last component included), any `..` that would climb out, any
//! absolute path. What was checked is what is opened: the permission
//! decision (`wf::policy`) resolves symlinks *inside* the workspace to
//! a real path and decides on it; the tools then open that real path here,
//! and if a link appeared on it since, the open fails (`ELOOP`) instead of
//! following it.
//!
//! - Missing parent directories are made one component at a time with
//!   `mkdirat` relative to a descriptor of the directory above, itself
//!   opened beneath ([`Root::create_file`]).
//! - Directories are read through a descriptor opened beneath
//!   (`fdopendir`, `readdir`), never through a path ([`Root::read_dir`]).
//! - Without `openat2` (Linux before 5.6, or a seccomp filter that refuses
//!   it with `ENOSYS`) every open fails with an error saying so: there is
//!   no fallback to opening by path.
//!
//! Files are opened with `O_NONBLOCK` so that a FIFO planted where a file
//! was expected cannot hang wf; callers check the file type on the
//! descriptor. What this does not cover: a directory already opened that is
//! then *moved* out of the workspace keeps its descriptor; moving it needs
//! write access to where it lands, so it gains the mover nothing.

use std::ffi::{CStr, CString, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

/// How every path is resolved: beneath the directory, no symlink anywhere
/// on the way, no `/proc` magic links.
const RESOLVE: u64 =
    libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;

/// The error when the kernel has no `openat2`.
pub const NO_OPENAT2: &str = "openat2(2) is not available (Linux 5.6 or later is needed, or a seccomp filter refuses it): wf's file tools do not open workspace paths without it, since a path checked and then opened by name can be swapped for a symlink in between";

/// What a directory entry is, not following links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// A FIFO, socket or device.
    Other,
}

/// A directory every open is made beneath.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
}

impl Root {
    /// Opens the directory at `path` (once, by path: it is wf's own).
    pub fn open(path: &Path) -> io::Result<Root> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in the path"))?;
        // SAFETY: a valid NUL-terminated path; the result is checked.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and is owned by nobody else.
        Ok(Root {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Opens `rel` for reading. A directory opens too: check the type on
    /// the file.
    pub fn open_read(&self, rel: &str) -> io::Result<File> {
        openat2(
            self.fd.as_fd(),
            &c_rel(rel)?,
            libc::O_RDONLY | libc::O_NONBLOCK,
            0,
        )
        .map(File::from)
    }

    /// Opens the existing `rel` for reading and writing.
    pub fn open_read_write(&self, rel: &str) -> io::Result<File> {
        openat2(
            self.fd.as_fd(),
            &c_rel(rel)?,
            libc::O_RDWR | libc::O_NONBLOCK,
            0,
        )
        .map(File::from)
    }

    /// Opens `rel` for writing, creating it (mode `0666` less the umask)
    /// and its missing parent directories; nothing is truncated. Also
    /// whether it existed.
    pub fn create_file(&self, rel: &str) -> io::Result<(File, bool)> {
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let dir = self.create_dirs(parent)?;
        let name = c_rel(name)?;
        // An existing file, else a new one; a file made in between by
        // someone else is opened on the next round.
        for _ in 0..8 {
            match openat2(dir.as_fd(), &name, libc::O_WRONLY | libc::O_NONBLOCK, 0) {
                Ok(fd) => return Ok((File::from(fd), true)),
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                Err(e) => return Err(e),
            }
            let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL;
            match openat2(dir.as_fd(), &name, flags, 0o666) {
                Ok(fd) => return Ok((File::from(fd), false)),
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("the file kept appearing and disappearing"))
    }

    /// A descriptor of the directory `rel` (`""`: the root), made with its
    /// missing parents, one component at a time beneath the one above.
    fn create_dirs(&self, rel: &str) -> io::Result<OwnedFd> {
        let flags = libc::O_PATH | libc::O_DIRECTORY;
        if rel.is_empty() {
            return self.fd.try_clone();
        }
        match openat2(self.fd.as_fd(), &c_rel(rel)?, flags, 0) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            done => return done,
        }
        let mut dir = self.fd.try_clone()?;
        for part in rel.split('/').filter(|p| !p.is_empty()) {
            let name = c_rel(part)?;
            let next = match openat2(dir.as_fd(), &name, flags, 0) {
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    // SAFETY: a directory descriptor and a NUL-terminated
                    // single name; the result is checked.
                    let made = unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), 0o777) };
                    if made != 0 {
                        let e = io::Error::last_os_error();
                        if e.raw_os_error() != Some(libc::EEXIST) {
                            return Err(e);
                        }
                    }
                    openat2(dir.as_fd(), &name, flags, 0)?
                }
                other => other?,
            };
            dir = next;
        }
        Ok(dir)
    }

    /// The entries of the directory `rel` (`""`: the root), without `.` and
    /// `..`, in the order the file system gives.
    pub fn read_dir(&self, rel: &str) -> io::Result<Vec<(OsString, Kind)>> {
        let fd = openat2(
            self.fd.as_fd(),
            &c_rel(rel)?,
            libc::O_RDONLY | libc::O_DIRECTORY,
            0,
        )?;
        let raw = fd.into_raw_fd();
        // SAFETY: `raw` is an open directory descriptor; on success the
        // stream owns it (closed by `closedir`), on failure we close it.
        let stream = unsafe { libc::fdopendir(raw) };
        if stream.is_null() {
            let e = io::Error::last_os_error();
            // SAFETY: still ours after a failed fdopendir.
            drop(unsafe { OwnedFd::from_raw_fd(raw) });
            return Err(e);
        }
        let stream = Stream(stream);
        let mut out = Vec::new();
        loop {
            // SAFETY: errno is thread-local; readdir reports errors only
            // through it.
            unsafe { *libc::__errno_location() = 0 };
            // SAFETY: a live stream; the entry is read before the next call.
            let ent = unsafe { libc::readdir(stream.0) };
            if ent.is_null() {
                let e = io::Error::last_os_error();
                if e.raw_os_error().is_some_and(|n| n != 0) {
                    return Err(e);
                }
                break;
            }
            // SAFETY: `ent` points to a valid entry until the next readdir.
            let (name, d_type) = unsafe { (CStr::from_ptr((*ent).d_name.as_ptr()), (*ent).d_type) };
            let bytes = name.to_bytes();
            if bytes == b"." || bytes == b".." {
                continue;
            }
            let kind = match d_type {
                libc::DT_REG => Kind::File,
                libc::DT_DIR => Kind::Dir,
                libc::DT_LNK => Kind::Symlink,
                libc::DT_UNKNOWN => stat_kind(stream.fd(), name)?,
                _ => Kind::Other,
            };
            out.push((OsString::from_vec(bytes.to_vec()), kind));
        }
        Ok(out)
    }
}

/// A `DIR*` closed on drop.
struct Stream(*mut libc::DIR);

impl Stream {
    fn fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the descriptor lives as long as the stream.
        unsafe { BorrowedFd::borrow_raw(libc::dirfd(self.0)) }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        // SAFETY: opened by fdopendir, closed once.
        unsafe { libc::closedir(self.0) };
    }
}

/// The type of `name` in `dir`, not following a link (for file systems
/// whose directory entries carry none).
fn stat_kind(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Kind> {
    // SAFETY: zeroed is a valid `stat`; fstatat fills it, result checked.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let r = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => Kind::File,
        libc::S_IFDIR => Kind::Dir,
        libc::S_IFLNK => Kind::Symlink,
        _ => Kind::Other,
    })
}

/// `rel` as a C string; `""` is the directory itself.
fn c_rel(rel: &str) -> io::Result<CString> {
    CString::new(if rel.is_empty() { "." } else { rel })
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in the path"))
}

/// `openat2(dir, path, flags | O_CLOEXEC | O_NOCTTY, mode)` (no `O_NOCTTY`
/// with `O_PATH`) resolved
/// beneath `dir` with no symlink followed.
fn openat2(dir: BorrowedFd<'_>, path: &CStr, flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
    // SAFETY: `open_how` is plain data; zero is valid for every field.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    // openat2 refuses flags that mean nothing with O_PATH.
    let tty = if flags & libc::O_PATH == 0 {
        libc::O_NOCTTY
    } else {
        0
    };
    how.flags = (flags | libc::O_CLOEXEC | tty) as u64;
    how.mode = if flags & libc::O_CREAT != 0 {
        u64::from(mode)
    } else {
        0
    };
    how.resolve = RESOLVE;
    // A rename anywhere on the system during a `..` lookup makes the kernel
    // answer EAGAIN: retry a few times.
    for _ in 0..16 {
        // SAFETY: a valid descriptor, NUL-terminated path, `how` of the
        // size passed; the result is checked.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if fd >= 0 {
            // SAFETY: the kernel just gave us this descriptor.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) });
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EAGAIN | libc::EINTR) => continue,
            Some(libc::ENOSYS) => {
                return Err(io::Error::new(io::ErrorKind::Unsupported, NO_OPENAT2));
            }
            _ => return Err(e),
        }
    }
    Err(io::Error::from_raw_os_error(libc::EAGAIN))
}

/// A message for an open that failed: what the model (and the trace) is
/// told. `ELOOP` and `EXDEV` mean a link or an escape met on the way.
pub fn describe(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ELOOP) => "a symlink is on its path (it was not there when the path was checked; wf's file tools never follow a link they did not check)".to_string(),
        Some(libc::EXDEV) => "it leads outside the workspace".to_string(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::fs::symlink;

    fn setup() -> (tempfile::TempDir, tempfile::TempDir, Root) {
        let ws = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(ws.path().join("src")).unwrap();
        std::fs::write(ws.path().join("src/a.txt"), "inside\n").unwrap();
        std::fs::write(outside.path().join("a.txt"), "outside\n").unwrap();
        let root = Root::open(ws.path()).unwrap();
        (ws, outside, root)
    }

    fn errno(r: io::Result<impl std::fmt::Debug>) -> i32 {
        r.unwrap_err().raw_os_error().unwrap()
    }

    #[test]
    fn a_plain_path_opens_and_reads() {
        let (_ws, _out, root) = setup();
        let mut text = String::new();
        root.open_read("src/a.txt")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "inside\n");
        assert!(root.open_read("").unwrap().metadata().unwrap().is_dir());
        assert_eq!(errno(root.open_read("src/none")), libc::ENOENT);
    }

    #[test]
    fn a_symlink_component_is_refused_even_inside() {
        let (ws, out, root) = setup();
        symlink(out.path(), ws.path().join("out")).unwrap();
        symlink("src", ws.path().join("alias")).unwrap();
        symlink("a.txt", ws.path().join("src/b.txt")).unwrap();
        assert_eq!(errno(root.open_read("out/a.txt")), libc::ELOOP);
        assert_eq!(errno(root.open_read("alias/a.txt")), libc::ELOOP);
        // The last component too.
        assert_eq!(errno(root.open_read("src/b.txt")), libc::ELOOP);
        assert_eq!(errno(root.read_dir("out")), libc::ELOOP);
    }

    #[test]
    fn dot_dot_out_and_absolute_paths_are_refused() {
        let (_ws, out, root) = setup();
        assert_eq!(errno(root.open_read("../x")), libc::EXDEV);
        assert_eq!(errno(root.open_read("src/../../x")), libc::EXDEV);
        let abs = out.path().join("a.txt");
        assert_eq!(errno(root.open_read(abs.to_str().unwrap())), libc::EXDEV);
        assert_eq!(
            errno(root.open_read("/proc/self/root/etc/passwd")),
            libc::EXDEV
        );
        assert!(root.open_read("a\0b").is_err());
    }

    #[test]
    fn nothing_is_created_under_a_symlinked_directory() {
        let (ws, out, root) = setup();
        symlink(out.path(), ws.path().join("src/link")).unwrap();
        assert_eq!(errno(root.create_file("src/link/new.txt")), libc::ELOOP);
        assert_eq!(
            errno(root.create_file("src/link/deep/new.txt")),
            libc::ELOOP
        );
        assert_eq!(errno(root.open_read_write("src/link/a.txt")), libc::ELOOP);
        // A symlinked file is not written through.
        symlink(out.path().join("a.txt"), ws.path().join("src/f.txt")).unwrap();
        assert_eq!(errno(root.create_file("src/f.txt")), libc::ELOOP);
        let mut names: Vec<_> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["a.txt"]);
        assert_eq!(
            std::fs::read_to_string(out.path().join("a.txt")).unwrap(),
            "outside\n"
        );
    }

    #[test]
    fn files_and_missing_parents_are_created_beneath() {
        let (ws, _out, root) = setup();
        let (mut f, existed) = root.create_file("src/x/y/z.txt").unwrap();
        assert!(!existed);
        f.write_all(b"new\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(ws.path().join("src/x/y/z.txt")).unwrap(),
            "new\n"
        );
        let (_, existed) = root.create_file("src/x/y/z.txt").unwrap();
        assert!(existed);
        let (_, existed) = root.create_file("top.txt").unwrap();
        assert!(!existed);
        // A file where a directory is needed.
        assert_eq!(errno(root.create_file("src/a.txt/b")), libc::ENOTDIR);
    }

    #[test]
    fn a_directory_lists_with_kinds_through_its_descriptor() {
        let (ws, out, root) = setup();
        std::fs::create_dir(ws.path().join("src/d")).unwrap();
        symlink(out.path(), ws.path().join("src/l")).unwrap();
        let mut got = root.read_dir("src").unwrap();
        got.sort();
        assert_eq!(
            got,
            [
                ("a.txt".into(), Kind::File),
                ("d".into(), Kind::Dir),
                ("l".into(), Kind::Symlink),
            ]
        );
        assert_eq!(errno(root.read_dir("src/a.txt")), libc::ENOTDIR);
        assert_eq!(errno(root.read_dir("src/l")), libc::ELOOP);
    }

    #[test]
    fn a_fifo_does_not_block_the_open() {
        let (ws, _out, root) = setup();
        let p = CString::new(ws.path().join("src/fifo").as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc::mkfifo(p.as_ptr(), 0o600) }, 0);
        let f = root.open_read("src/fifo").unwrap();
        assert!(!f.metadata().unwrap().is_file());
        drop(f);
        // No reader: a write open fails at once instead of waiting.
        assert_eq!(errno(root.create_file("src/fifo")), libc::ENXIO);
    }
}
