//! Advisory file locks (`flock`), for run locks and workspace slots.
//!
//! Taken through the standard library ([`File::try_lock`] and
//! [`File::try_lock_shared`], stable since Rust 1.89), which uses `flock`
//! on Linux: the same lock `flock(1)` and every earlier wf take, so a run
//! of an older wf and a shell script holding a lock are still seen.
//!
//! A lock is held as long as its [`FileLock`] lives, and the kernel drops it
//! when the holder's process ends however it ends (`kill -9`, a crash), so a
//! lock never outlives its holder and liveness needs no `/proc`. The lock
//! file holds the holder's pid, for messages only. Lock files are never
//! removed: removing one while another process waits on it would let two
//! processes hold "the same" lock on two different files.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
    path: PathBuf,
}

impl FileLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Outcome of trying to take a lock.
#[derive(Debug)]
pub enum Taken {
    /// It is ours now.
    Yes(FileLock),
    /// Another open file holds it (the pid written by its holder, when
    /// readable).
    HeldBy(String),
}

/// Whether a lock was taken (`false`: another open file holds it).
fn taken(attempt: Result<(), TryLockError>) -> std::io::Result<bool> {
    match attempt {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// Tries to take the lock at `path` (created when missing), without
/// waiting. Locks are per open file: the same process taking the same lock
/// twice gets [`Taken::HeldBy`] the second time.
pub fn take(path: &Path) -> std::io::Result<Taken> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    if !taken(file.try_lock())? {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        return Ok(Taken::HeldBy(holder.trim().to_string()));
    }
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(std::process::id().to_string().as_bytes())?;
    Ok(Taken::Yes(FileLock {
        _file: file,
        path: path.to_path_buf(),
    }))
}

/// Whether a live process holds the lock at `path` now. A missing lock file
/// is not held.
pub fn is_held(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    // A shared lock is refused only while someone holds the exclusive one.
    matches!(taken(file.try_lock_shared()), Ok(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits until `path` is free. Other tests of this binary fork children
    /// at any moment, and a child holds a copy of every descriptor (the
    /// lock's too) between its fork and its exec, so a release is seen
    /// soon, not always at once.
    fn released(path: &Path) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while is_held(path) {
            assert!(
                std::time::Instant::now() < deadline,
                "the lock was never released"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn held_until_dropped_then_free() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        assert!(!is_held(&path));
        let Taken::Yes(lock) = take(&path).unwrap() else {
            panic!("a fresh lock is free");
        };
        assert!(is_held(&path));
        match take(&path).unwrap() {
            Taken::HeldBy(pid) => assert_eq!(pid, std::process::id().to_string()),
            Taken::Yes(_) => panic!("a held lock was taken twice"),
        }
        drop(lock);
        released(&path);
        assert!(matches!(take(&path).unwrap(), Taken::Yes(_)));
    }

    #[test]
    fn a_lock_left_by_a_dead_process_is_free() {
        // A child takes the lock with flock(1) and is killed: the kernel
        // releases it, whatever pid the file still names.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        std::fs::write(&path, "1").unwrap();
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "exec 9>>'{}'; flock -x 9; echo locked; exec sleep 60",
                path.display()
            ))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = [0u8; 7];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut line)
            .unwrap();
        assert!(is_held(&path));
        child.kill().unwrap();
        child.wait().unwrap();
        released(&path);
        assert!(matches!(take(&path).unwrap(), Taken::Yes(_)));
    }
}
