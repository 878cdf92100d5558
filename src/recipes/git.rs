//! Recipes from git repositories, fetched into a local cache.
//!
//! Each remote gets a bare repository under `.wf/cache/git/<hash of the
//! URL>.git`; each commit a recipe is read at is checked out once, read-only
//! in spirit, under `.wf/cache/recipes/<commit>/`. A pinned commit that is
//! already cached needs no network.
//!
//! Git runs with a fixed protocol allowlist (`https`, `http`, `ssh`, `git`,
//! `file`; never `ext::`, which runs commands), no terminal prompts, and the
//! URL always after `--`, so a URL in a task file can never become an
//! option or a command.

use crate::sys::git::Git;
use std::path::{Path, PathBuf};

/// The local cache of fetched recipe repositories.
#[derive(Debug, Clone)]
pub struct GitCache {
    /// `.wf/cache` of the repository running the recipes.
    dir: PathBuf,
}

/// A full commit id: 40 (SHA-1) or 64 (SHA-256) hex digits.
pub fn is_commit_id(text: &str) -> bool {
    (text.len() == 40 || text.len() == 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

impl GitCache {
    /// The cache under `cache_dir` (created on first use).
    pub fn new(cache_dir: &Path) -> GitCache {
        GitCache {
            dir: cache_dir.to_path_buf(),
        }
    }

    fn git() -> Git {
        Git::remote(Path::new("/"))
    }

    fn run(mut cmd: Git, what: &str) -> Result<String, String> {
        let out = cmd.output().map_err(|e| format!("{what}: {}", e.stderr))?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// The bare repository caching `url`.
    fn bare(&self, url: &str) -> Result<PathBuf, String> {
        let name = &crate::hash::sha256_hex(url.as_bytes())[..24];
        let bare = self.dir.join("git").join(format!("{name}.git"));
        if !bare.join("HEAD").exists() {
            std::fs::create_dir_all(&bare)
                .map_err(|e| format!("cannot create {}: {e}", bare.display()))?;
            let mut cmd = Self::git();
            cmd.args(["init", "-q", "--bare"]).arg(&bare);
            Self::run(cmd, "cannot create the recipe cache")?;
        }
        Ok(bare)
    }

    /// Asks the remote which commit `reference` (a tag or a branch) points
    /// to now. A full commit id is returned as it is, without asking.
    pub fn resolve(&self, url: &str, reference: &str) -> Result<String, String> {
        if is_commit_id(reference) {
            return Ok(reference.to_ascii_lowercase());
        }
        let mut cmd = Self::git();
        cmd.args(["ls-remote", "--", url]);
        for r in [
            format!("refs/tags/{reference}"),
            format!("refs/tags/{reference}^{{}}"),
            format!("refs/heads/{reference}"),
        ] {
            cmd.arg(r);
        }
        let out = Self::run(cmd, &format!("cannot reach {url}"))?;
        let mut refs = std::collections::BTreeMap::new();
        for line in out.lines() {
            if let Some((id, name)) = line.split_once('\t') {
                refs.insert(name.to_string(), id.to_string());
            }
        }
        // A tag wins over a branch of the same name; an annotated tag is
        // read through to its commit (`^{}`).
        for name in [
            format!("refs/tags/{reference}^{{}}"),
            format!("refs/tags/{reference}"),
            format!("refs/heads/{reference}"),
        ] {
            if let Some(id) = refs.get(&name) {
                return Ok(id.clone());
            }
        }
        Err(format!("{url} has no tag or branch `{reference}`"))
    }

    /// Whether `commit` is already in the cache for `url`.
    pub fn has(&self, url: &str, commit: &str) -> bool {
        self.checked_out(commit).is_some()
            || self.bare(url).is_ok_and(|bare| Self::holds(&bare, commit))
    }

    fn checkout_dir(&self, commit: &str) -> PathBuf {
        self.dir.join("recipes").join(commit)
    }

    /// The complete checkout of `commit`, if there is one.
    fn checked_out(&self, commit: &str) -> Option<PathBuf> {
        let dir = self.checkout_dir(commit);
        dir.join(".wf-complete").exists().then_some(dir)
    }

    /// Whether the bare repository holds `commit`.
    fn holds(bare: &Path, commit: &str) -> bool {
        let mut cmd = Self::git();
        cmd.arg("--git-dir")
            .arg(bare)
            .args(["cat-file", "-e", &format!("{commit}^{{commit}}")]);
        Self::run(cmd, "").is_ok()
    }

    /// The files of `url` at `commit`, fetched if needed (by `reference`,
    /// then by the commit id), checked out once under the cache.
    pub fn checkout(&self, url: &str, reference: &str, commit: &str) -> Result<PathBuf, String> {
        if let Some(dir) = self.checked_out(commit) {
            return Ok(dir);
        }
        let dir = self.checkout_dir(commit);
        let bare = self.bare(url)?;
        let present = |bare: &Path| Self::holds(bare, commit);
        if !present(&bare) {
            let mut attempts: Vec<String> = Vec::new();
            if !is_commit_id(reference) {
                attempts.push(format!("refs/tags/{reference}"));
                attempts.push(format!("refs/heads/{reference}"));
            }
            attempts.push(commit.to_string());
            let mut last = String::new();
            for what in attempts {
                let mut cmd = Self::git();
                cmd.arg("--git-dir").arg(&bare).args([
                    "fetch",
                    "-q",
                    "--no-tags",
                    "--",
                    url,
                    &what,
                ]);
                match Self::run(cmd, &format!("cannot fetch {url}")) {
                    Ok(_) if present(&bare) => break,
                    Ok(_) => {}
                    Err(e) => last = e,
                }
            }
            if !present(&bare) {
                return Err(if last.is_empty() {
                    format!("{url} has no commit {commit}")
                } else {
                    last
                });
            }
        }
        // Check out into a fresh directory beside the final one, then rename:
        // a crash never leaves a half-written checkout that looks complete.
        let parent = self.dir.join("recipes");
        std::fs::create_dir_all(&parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        let tmp = tempfile::Builder::new()
            .prefix(".checkout-")
            .tempdir_in(&parent)
            .map_err(|e| format!("cannot create a directory in {}: {e}", parent.display()))?;
        let index = tmp.path().join(".wf-index");
        let mut read = Self::git();
        read.env("GIT_INDEX_FILE", &index)
            .arg("--git-dir")
            .arg(&bare)
            .args(["read-tree", commit]);
        Self::run(read, "cannot read the recipe commit")?;
        let mut out = Self::git();
        out.env("GIT_INDEX_FILE", &index)
            .arg("--git-dir")
            .arg(&bare)
            .arg("--work-tree")
            .arg(tmp.path())
            .args(["checkout-index", "-a", "-f"]);
        Self::run(out, "cannot check out the recipe commit")?;
        std::fs::remove_file(&index).ok();
        std::fs::write(tmp.path().join(".wf-complete"), commit)
            .map_err(|e| format!("cannot write the recipe cache: {e}"))?;
        let kept = tmp.keep();
        match std::fs::rename(&kept, &dir) {
            Ok(()) => Ok(dir),
            // Another wf checked the same commit out meanwhile: use theirs.
            Err(_) if self.checked_out(commit).is_some() => {
                std::fs::remove_dir_all(&kept).ok();
                Ok(dir)
            }
            Err(e) => Err(format!("cannot write the recipe cache: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    #[test]
    fn resolves_tags_and_branches_and_checks_out_a_commit() {
        let remote = tempfile::tempdir().unwrap();
        let r = remote.path();
        git(r, &["init", "-q", "-b", "main"]);
        std::fs::write(r.join("a.yaml"), "one").unwrap();
        git(r, &["add", "."]);
        git(r, &["commit", "-qm", "one"]);
        git(r, &["tag", "-a", "v1", "-m", "annotated"]);
        let first = git(r, &["rev-parse", "HEAD"]);
        std::fs::write(r.join("a.yaml"), "two").unwrap();
        git(r, &["commit", "-qam", "two"]);
        let second = git(r, &["rev-parse", "HEAD"]);

        let cache_dir = tempfile::tempdir().unwrap();
        let cache = GitCache::new(cache_dir.path());
        let url = r.to_str().unwrap();
        assert_eq!(cache.resolve(url, "v1").unwrap(), first);
        assert_eq!(cache.resolve(url, "main").unwrap(), second);
        assert!(cache.resolve(url, "v9").unwrap_err().contains("no tag"));
        assert!(!cache.has(url, &first));
        let dir = cache.checkout(url, "v1", &first).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("a.yaml")).unwrap(), "one");
        assert!(cache.has(url, &first));
        // By commit id alone.
        let dir = cache.checkout(url, &second, &second).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("a.yaml")).unwrap(), "two");
    }

    #[test]
    fn the_ext_transport_is_refused() {
        let cache_dir = tempfile::tempdir().unwrap();
        let cache = GitCache::new(cache_dir.path());
        let marker = cache_dir.path().join("pwned");
        let url = format!("ext::sh -c touch% {}", marker.display());
        assert!(cache.resolve(&url, "v1").is_err());
        assert!(!marker.exists());
    }
}
