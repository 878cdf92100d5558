//! Lock files that name their holder's pid. Used for run locks and
//! workspace slots. A lock whose holder no longer exists (a killed run) is
//! taken over; the takeover renames the stale file first, which only one
//! process can do, so two processes never both take the same lock.

use std::io::Write;
use std::path::Path;

/// Outcome of trying to take a lock.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    /// It is ours now.
    Yes,
    /// A live process holds it (its pid, when readable).
    HeldBy(String),
}

/// Tries to take the lock at `path` for this process.
pub fn take(path: &Path) -> std::io::Result<Taken> {
    let me = std::process::id().to_string();
    for _ in 0..3 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(mut f) => {
                f.write_all(me.as_bytes())?;
                return Ok(Taken::Yes);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = std::fs::read_to_string(path)
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                // An empty file is a lock being written right now: held.
                let dead = holder
                    .parse::<u32>()
                    .is_ok_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
                if !dead {
                    return Ok(Taken::HeldBy(holder));
                }
                let aside = path.with_extension(format!("stale-{me}"));
                if std::fs::rename(path, &aside).is_ok() {
                    let _ = std::fs::remove_file(&aside);
                }
                // Whoever renamed it, try to create it again.
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Taken::HeldBy(String::new()))
}

/// Releases a lock taken with [`take`].
pub fn release(path: &Path) {
    let _ = std::fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_locks_hold_and_stale_ones_are_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("x.lock");
        assert_eq!(take(&lock).unwrap(), Taken::Yes);
        assert_eq!(
            take(&lock).unwrap(),
            Taken::HeldBy(std::process::id().to_string())
        );
        // A pid that cannot exist (above the kernel's pid_max).
        std::fs::write(&lock, "99999999").unwrap();
        assert_eq!(take(&lock).unwrap(), Taken::Yes);
        std::fs::write(&lock, "").unwrap();
        assert!(matches!(take(&lock).unwrap(), Taken::HeldBy(_)));
        release(&lock);
        assert!(!lock.exists());
    }
}
