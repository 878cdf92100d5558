//! wf's own directories outside any repository: the user's cache and
//! state directories.
//!
//! A repository is data from whoever wrote it; what wf keeps between runs
//! must not come with a clone. So nothing wf reuses lives in the
//! repository:
//!
//! | directory | what | default |
//! |---|---|---|
//! | [`cache_dir`] | fetched recipe repositories (`git/`), their checkouts (`recipes/`), the response cache (`responses/<repository key>/`), the package caches of tasks whose commands may reach a registry (`packages/<repository key>/<task>-<n>/`, see `wf::workspace`) | `$XDG_CACHE_HOME/wf`, else `~/.cache/wf` |
//! | [`state_dir`] | the per-user key that marks run folders wf created (`wf::record::origin`), sandbox widenings the user approved (`trust/`) | `$XDG_STATE_HOME/wf`, else `~/.local/state/wf` |
//!
//! Both are created `0700`; an existing one that is a symlink, is not a
//! directory or belongs to another user is refused (fail closed), and one
//! readable by others is narrowed to `0700`. A relative `XDG_*` value is
//! ignored, as the XDG base directory specification says.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `$XDG_CACHE_HOME/wf`, else `$HOME/.cache/wf` (not created).
pub fn cache_dir() -> Result<PathBuf, String> {
    base("XDG_CACHE_HOME", ".cache").map(|d| d.join("wf"))
}

/// `$XDG_STATE_HOME/wf`, else `$HOME/.local/state/wf` (not created).
pub fn state_dir() -> Result<PathBuf, String> {
    base("XDG_STATE_HOME", ".local/state").map(|d| d.join("wf"))
}

fn base(var: &str, under_home: &str) -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os(var).map(PathBuf::from)
        && dir.is_absolute()
    {
        return Ok(dir);
    }
    match std::env::var_os("HOME").map(PathBuf::from) {
        Some(home) if home.is_absolute() => Ok(home.join(under_home)),
        _ => Err(format!(
            "cannot find the user's directory for wf's {}: neither {var} nor HOME is an absolute path",
            if var == "XDG_CACHE_HOME" {
                "cache"
            } else {
                "state"
            }
        )),
    }
}

/// Creates `dir` (and missing parents) `0700` and checks it is this user's
/// own directory: not a symlink, owned by this user, `0700` (narrowed when
/// wider). Returns `dir`.
pub fn private(dir: &Path) -> Result<PathBuf, String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    if meta.file_type().is_symlink() || !meta.is_dir() {
        return Err(format!(
            "{} is a symlink or not a directory; wf keeps its own state only in a real directory",
            dir.display()
        ));
    }
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    if meta.uid() != uid {
        return Err(format!(
            "{} belongs to another user (uid {}); wf keeps its own state only in a directory of yours",
            dir.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot make {} private: {e}", dir.display()))?;
    }
    Ok(dir.to_path_buf())
}

/// A short stable key for the repository at `root` (its canonical path),
/// for per-repository folders in the user's directories.
pub fn repo_key(root: &Path) -> String {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    use std::os::unix::ffi::OsStrExt;
    crate::hash::sha256_hex(root.as_os_str().as_bytes())[..24].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_creates_0700_and_narrows() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/wf");
        private(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        private(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    }

    #[test]
    fn private_refuses_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("elsewhere"), tmp.path().join("wf")).unwrap();
        let err = private(&tmp.path().join("wf")).unwrap_err();
        assert!(err.contains("symlink"), "{err}");
    }

    #[test]
    fn repo_keys_differ_by_path() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        assert_ne!(repo_key(a.path()), repo_key(b.path()));
        assert_eq!(repo_key(a.path()), repo_key(a.path()));
        assert_eq!(repo_key(a.path()).len(), 24);
    }
}
