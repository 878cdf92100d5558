//! Provenance of run folders: which runs this user's wf created in this
//! repository.
//!
//! `.wf/runs/` is a folder like any other: a clone, an archive or another
//! user can put a paused run there, with a trace that verifies (its hash
//! chain needs no secret) and a diff the user never saw. Approving or
//! resuming such a run would apply that diff. So every run folder wf
//! creates gets a mark, `origin`, holding
//!
//! ```text
//! wf-origin-1 <HMAC-SHA256(key, "wf run origin 1\0" + run id + "\0" + canonical repository path)>
//! ```
//!
//! with a per-user secret key: 32 random bytes in `key` of the user's
//! state directory ([`crate::sys::user_dirs::state_dir`]), created `0600`
//! on first use and refused when it is readable by others or not the
//! user's. The mark binds the run to this user and this repository: a run
//! folder copied from another repository, made by another user, or shipped
//! in a clone has no valid mark.
//!
//! A run without a valid mark is *foreign*: `last` never names it, and
//! `wf approve`, `reject`, `resume` and `replay` refuse it unless given
//! `--foreign`, which shows its diff first. The mark is made by whichever
//! wf process creates the folder, so the runs of `wf batch` (child
//! processes of the same user) are the user's own; a run folder carried
//! from another machine (the approval job of an emitted GitHub workflow)
//! is foreign there and needs `--foreign`.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The mark's file name in a run folder.
pub const FILE: &str = "origin";

const VERSION: &str = "wf-origin-1";
const KEY_LEN: usize = 32;

/// The key file in the state directory.
fn key_path() -> Result<PathBuf, String> {
    Ok(crate::sys::user_dirs::state_dir()?.join("key"))
}

/// The key at `path`, created on first use.
fn key(path: &Path) -> Result<Vec<u8>, String> {
    if std::fs::symlink_metadata(path).is_err() {
        let dir = crate::sys::user_dirs::private(path.parent().expect("a parent"))?;
        let mut bytes = [0u8; KEY_LEN];
        random(&mut bytes)?;
        // Written whole to a 0600 temporary file, then linked into place
        // only if there is no key yet: two processes agree on one key.
        let mut tmp = tempfile::NamedTempFile::new_in(&dir)
            .map_err(|e| format!("cannot create a key in {}: {e}", dir.display()))?;
        tmp.write_all(&bytes)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        match tmp.persist_noclobber(path) {
            Ok(_) => {}
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot write {}: {}", path.display(), e.error)),
        }
    }
    read_key(path)
}

fn read_key(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    if !meta.is_file() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{} must be a file of yours readable by you alone (mode 0600); wf does not trust run marks made with another key",
            path.display()
        ));
    }
    let key = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if key.len() != KEY_LEN {
        return Err(format!(
            "{} holds {} bytes, not {KEY_LEN}: not a key wf wrote",
            path.display(),
            key.len()
        ));
    }
    Ok(key)
}

fn random(bytes: &mut [u8]) -> Result<(), String> {
    let mut filled = 0;
    while filled < bytes.len() {
        // SAFETY: the pointer and length describe the unfilled part of `bytes`.
        let n = unsafe {
            libc::getrandom(bytes[filled..].as_mut_ptr().cast(), bytes.len() - filled, 0)
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(format!("cannot get random bytes for wf's key: {e}"));
        }
        filled += n as usize;
    }
    Ok(())
}

fn mac(key: &[u8], run_id: &str, root: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut message = b"wf run origin 1\0".to_vec();
    message.extend_from_slice(run_id.as_bytes());
    message.push(0);
    message.extend_from_slice(root.as_os_str().as_bytes());
    crate::hash::hmac_sha256_hex(key, &message)
}

/// Writes the mark of run `run_id` (folder `dir`) of the repository at the
/// canonical path `root`.
pub fn mark(dir: &Path, run_id: &str, root: &Path) -> Result<(), String> {
    mark_with(&key_path()?, dir, run_id, root)
}

fn mark_with(key_path: &Path, dir: &Path, run_id: &str, root: &Path) -> Result<(), String> {
    let key = key(key_path)?;
    let text = format!("{VERSION} {}\n", mac(&key, run_id, root));
    let path = dir.join(FILE);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Whether run `run_id` (folder `dir`) of the repository at the canonical
/// path `root` carries this user's valid mark. No key yet means no run is
/// the user's.
pub fn is_own(dir: &Path, run_id: &str, root: &Path) -> bool {
    key_path().is_ok_and(|key| is_own_with(&key, dir, run_id, root))
}

fn is_own_with(key_path: &Path, dir: &Path, run_id: &str, root: &Path) -> bool {
    let Ok(key) = read_key(key_path) else {
        return false;
    };
    let file = dir.join(FILE);
    match std::fs::symlink_metadata(&file) {
        Ok(meta) if meta.is_file() && meta.len() < 256 => {}
        _ => return false,
    }
    let Ok(text) = std::fs::read_to_string(&file) else {
        return false;
    };
    let expected = format!("{VERSION} {}", mac(&key, run_id, root));
    // Compared in constant time: the mark is a secret's output.
    let got = text.trim_end().as_bytes();
    got.len() == expected.len()
        && got
            .iter()
            .zip(expected.as_bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_mark_binds_user_run_and_repository() {
        let state = tempfile::tempdir().unwrap();
        let key = state.path().join("wf/key");
        let run = tempfile::tempdir().unwrap();
        let root = Path::new("/repo");
        assert!(!is_own_with(&key, run.path(), "r1", root), "no key yet");
        mark_with(&key, run.path(), "r1", root).unwrap();
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(is_own_with(&key, run.path(), "r1", root));
        // Another run id, another repository, another user's key.
        assert!(!is_own_with(&key, run.path(), "r2", root));
        assert!(!is_own_with(&key, run.path(), "r1", Path::new("/other")));
        let other = tempfile::tempdir().unwrap();
        mark_with(&other.path().join("key"), other.path(), "x", root).unwrap();
        assert!(!is_own_with(
            &other.path().join("key"),
            run.path(),
            "r1",
            root
        ));
        // A key others can read is not trusted.
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(!is_own_with(&key, run.path(), "r1", root));
        assert!(mark_with(&key, tempfile::tempdir().unwrap().path(), "r3", root).is_err());
    }

    #[test]
    fn a_forged_mark_is_refused() {
        let state = tempfile::tempdir().unwrap();
        let key = state.path().join("key");
        let run = tempfile::tempdir().unwrap();
        mark_with(&key, run.path(), "r1", Path::new("/repo")).unwrap();
        let text = std::fs::read_to_string(run.path().join(FILE)).unwrap();
        let flipped = if text.as_bytes()[12] == b'0' {
            "1"
        } else {
            "0"
        };
        let forged = format!("{}{}{}", &text[..12], flipped, &text[13..]);
        std::fs::write(run.path().join(FILE), forged).unwrap();
        assert!(!is_own_with(&key, run.path(), "r1", Path::new("/repo")));
    }
}
