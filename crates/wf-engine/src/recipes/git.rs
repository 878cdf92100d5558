//! Recipes from git repositories, fetched into a local cache.
//!
//! The cache is the user's, never the repository's: `git/` and `recipes/`
//! of wf's cache directory ([`crate::sys::user_dirs::cache_dir`],
//! `~/.cache/wf` by default, `0700`). A cache inside the repository would
//! come with a clone: a committed bare repository's `config` (an
//! `url.insteadOf` and a `core.sshCommand`) would run its author's program
//! unconfined, and a committed checkout would pass for a pinned commit.
//!
//! Each remote gets a bare repository under `git/<hash of the URL>.git`;
//! each commit a recipe is read at is checked out once under
//! `recipes/<commit>/`. Before a checkout is used it is verified by
//! content against the commit's tree in the bare repository of its URL
//! (every path, nothing more, nothing less, each blob id recomputed from
//! the file): a checkout that differs is removed and checked out again.
//! A pinned commit that is already fetched needs no network.
//!
//! Git runs with a fixed protocol allowlist (`https`, `http`, `ssh`, `git`,
//! `file`; never `ext::`, which runs commands), no terminal prompts, and the
//! URL always after `--`, so a URL in a task file can never become an
//! option or a command.

use super::RecipeError;
use crate::sys::git::Git;
use std::path::{Path, PathBuf};

/// The local cache of fetched recipe repositories.
#[derive(Debug, Clone)]
pub struct GitCache {
    /// The cache directory, or why there is none (no `HOME`): reported
    /// only when a git recipe needs it.
    dir: Result<PathBuf, String>,
    /// Commits whose checkout this process has verified.
    verified: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
}

/// A full commit id: 40 (SHA-1) or 64 (SHA-256) hex digits.
pub fn is_commit_id(text: &str) -> bool {
    (text.len() == 40 || text.len() == 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

impl GitCache {
    /// The cache under `cache_dir` (created on first use).
    pub fn new(cache_dir: &Path) -> GitCache {
        GitCache {
            dir: Ok(cache_dir.to_path_buf()),
            verified: Default::default(),
        }
    }

    /// The user's cache: wf's cache directory (created `0700` on first use).
    pub fn user() -> GitCache {
        GitCache {
            dir: crate::sys::user_dirs::cache_dir(),
            verified: Default::default(),
        }
    }

    /// The cache directory, created private.
    fn dir(&self) -> Result<PathBuf, RecipeError> {
        let dir = self
            .dir
            .as_ref()
            .map_err(|why| RecipeError::Fetch(why.clone()))?;
        crate::sys::user_dirs::private(dir).map_err(RecipeError::Fetch)
    }

    fn git() -> Git {
        Git::remote(Path::new("/"))
    }

    fn run(mut cmd: Git, what: &str) -> Result<String, RecipeError> {
        let out = cmd
            .output()
            .map_err(|e| RecipeError::Fetch(format!("{what}: {}", e.stderr)))?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// The bare repository caching `url`.
    fn bare(&self, url: &str) -> Result<PathBuf, RecipeError> {
        let name = &crate::hash::sha256_hex(url.as_bytes())[..24];
        let bare = self.dir()?.join("git").join(format!("{name}.git"));
        if !bare.join("HEAD").exists() {
            std::fs::create_dir_all(&bare).map_err(|e| {
                RecipeError::Fetch(format!("cannot create {}: {e}", bare.display()))
            })?;
            let mut cmd = Self::git();
            cmd.args(["init", "-q", "--bare"]).arg(&bare);
            Self::run(cmd, "cannot create the recipe cache")?;
        }
        Ok(bare)
    }

    /// Asks the remote which commit `reference` (a tag or a branch) points
    /// to now. A full commit id is returned as it is, without asking.
    pub fn resolve(&self, url: &str, reference: &str) -> Result<String, RecipeError> {
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
        Err(RecipeError::NotFound(format!(
            "{url} has no tag or branch `{reference}`"
        )))
    }

    /// Whether `commit` is already in the cache for `url` (its bare
    /// repository holds it: a checkout alone cannot be verified).
    pub fn has(&self, url: &str, commit: &str) -> bool {
        self.bare(url).is_ok_and(|bare| Self::holds(&bare, commit))
    }

    fn checkout_dir(&self, commit: &str) -> Result<PathBuf, RecipeError> {
        Ok(self.dir()?.join("recipes").join(commit))
    }

    /// The complete checkout of `commit`, if there is one (not verified).
    fn checked_out(&self, commit: &str) -> Option<PathBuf> {
        let dir = self.checkout_dir(commit).ok()?;
        dir.join(".wf-complete").exists().then_some(dir)
    }

    /// The checkout of `commit`, if there is one and its files are exactly
    /// the commit's tree in `bare`; a checkout that differs is removed.
    fn verified_checkout(&self, bare: &Path, commit: &str) -> Option<PathBuf> {
        let dir = self.checked_out(commit)?;
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified.contains(commit) {
            return Some(dir);
        }
        if Self::holds(bare, commit) && matches_tree(bare, commit, &dir) {
            verified.insert(commit.to_string());
            return Some(dir);
        }
        // Not what the commit holds (edited, or planted): start over.
        let _ = std::fs::remove_dir_all(&dir);
        None
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
    pub fn checkout(
        &self,
        url: &str,
        reference: &str,
        commit: &str,
    ) -> Result<PathBuf, RecipeError> {
        let bare = self.bare(url)?;
        if let Some(dir) = self.verified_checkout(&bare, commit) {
            return Ok(dir);
        }
        let dir = self.checkout_dir(commit)?;
        let present = |bare: &Path| Self::holds(bare, commit);
        if !present(&bare) {
            let mut attempts: Vec<String> = Vec::new();
            if !is_commit_id(reference) {
                attempts.push(format!("refs/tags/{reference}"));
                attempts.push(format!("refs/heads/{reference}"));
            }
            attempts.push(commit.to_string());
            let mut last = None;
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
                    Err(e) => last = Some(e),
                }
            }
            if !present(&bare) {
                return Err(last.unwrap_or_else(|| {
                    RecipeError::NotFound(format!("{url} has no commit {commit}"))
                }));
            }
        }
        // Check out into a fresh directory beside the final one, then rename:
        // a crash never leaves a half-written checkout that looks complete.
        let parent = self.dir()?.join("recipes");
        std::fs::create_dir_all(&parent)
            .map_err(|e| RecipeError::Fetch(format!("cannot create {}: {e}", parent.display())))?;
        let tmp = tempfile::Builder::new()
            .prefix(".checkout-")
            .tempdir_in(&parent)
            .map_err(|e| {
                RecipeError::Fetch(format!(
                    "cannot create a directory in {}: {e}",
                    parent.display()
                ))
            })?;
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
            .map_err(|e| RecipeError::Fetch(format!("cannot write the recipe cache: {e}")))?;
        let kept = tmp.keep();
        let mark = |dir: PathBuf| {
            self.verified
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(commit.to_string());
            dir
        };
        match std::fs::rename(&kept, &dir) {
            Ok(()) => Ok(mark(dir)),
            // Another wf checked the same commit out meanwhile: use theirs,
            // once verified.
            Err(e) => {
                std::fs::remove_dir_all(&kept).ok();
                self.verified_checkout(&bare, commit).ok_or_else(|| {
                    RecipeError::Fetch(format!("cannot write the recipe cache: {e}"))
                })
            }
        }
    }
}

/// Whether the files under `dir` (but its `.wf-complete`) are exactly the
/// tree of `commit` in `bare`: the same paths, each file's blob id (as git
/// computes it, no filters) the tree's, each symlink's target the blob's.
fn matches_tree(bare: &Path, commit: &str, dir: &Path) -> bool {
    let mut ls = GitCache::git();
    ls.arg("--git-dir")
        .arg(bare)
        .args(["ls-tree", "-r", "-z", "--full-tree", commit]);
    let Ok(listing) = ls.output() else {
        return false;
    };
    // path -> blob id, from `<mode> <type> <id>\t<path>` records.
    let mut expected = std::collections::BTreeMap::new();
    for record in listing.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let Some(tab) = record.iter().position(|&b| b == b'\t') else {
            return false;
        };
        let head = String::from_utf8_lossy(&record[..tab]);
        let mut fields = head.split(' ');
        let (Some(_mode), Some(kind), Some(id)) = (fields.next(), fields.next(), fields.next())
        else {
            return false;
        };
        if kind != "blob" {
            // Submodules are never checked out.
            continue;
        }
        let path = String::from_utf8_lossy(&record[tab + 1..]).into_owned();
        expected.insert(path, id.to_string());
    }
    let mut found = Vec::new();
    if !collect(dir, dir, &mut found) {
        return false;
    }
    found.retain(|(rel, _)| rel != ".wf-complete");
    if found.len() != expected.len() || found.iter().any(|(rel, _)| !expected.contains_key(rel)) {
        return false;
    }
    // Symlinks are hashed by their target, as git stores them: the target
    // goes to a file of its own, hashed with the rest.
    let Ok(links) = tempfile::tempdir() else {
        return false;
    };
    let mut paths = Vec::with_capacity(found.len());
    for (n, (_, path)) in found.iter().enumerate() {
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => {
                use std::os::unix::ffi::OsStrExt;
                let Ok(target) = std::fs::read_link(path) else {
                    return false;
                };
                let copy = links.path().join(n.to_string());
                if std::fs::write(&copy, target.as_os_str().as_bytes()).is_err() {
                    return false;
                }
                paths.push(copy);
            }
            Ok(m) if m.is_file() => paths.push(path.clone()),
            _ => return false,
        }
    }
    let mut ids = Vec::with_capacity(paths.len());
    for chunk in paths.chunks(500) {
        let mut hash = GitCache::git();
        hash.arg("--git-dir")
            .arg(bare)
            .args(["hash-object", "--no-filters", "--"])
            .args(chunk);
        let Ok(out) = hash.output() else {
            return false;
        };
        ids.extend(
            String::from_utf8_lossy(&out)
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>(),
        );
    }
    ids.len() == found.len()
        && found
            .iter()
            .zip(&ids)
            .all(|((rel, _), id)| expected.get(rel) == Some(id))
}

/// Every file and symlink under `dir`, as (path relative to `root`,
/// path); `false` on anything else or an unreadable directory.
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    for entry in entries {
        let Ok(entry) = entry else { return false };
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            return false;
        };
        if kind.is_dir() {
            if !collect(root, &path, out) {
                return false;
            }
        } else if kind.is_file() || kind.is_symlink() {
            let Some(rel) = crate::sys::paths::relative(root, &path) else {
                return false;
            };
            out.push((rel, path));
        } else {
            return false;
        }
    }
    true
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
        let missing = cache.resolve(url, "v9").unwrap_err();
        assert!(
            matches!(&missing, RecipeError::NotFound(m) if m.contains("no tag")),
            "{missing:?}"
        );
        assert!(!cache.has(url, &first));
        let dir = cache.checkout(url, "v1", &first).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("a.yaml")).unwrap(), "one");
        assert!(cache.has(url, &first));
        // By commit id alone.
        let dir = cache.checkout(url, &second, &second).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("a.yaml")).unwrap(), "two");
    }

    #[test]
    fn a_checkout_that_differs_from_its_commit_is_checked_out_again() {
        let remote = tempfile::tempdir().unwrap();
        let r = remote.path();
        git(r, &["init", "-q", "-b", "main"]);
        std::fs::create_dir(r.join("sub")).unwrap();
        std::fs::write(r.join("sub/a.yaml"), "one").unwrap();
        std::os::unix::fs::symlink("sub/a.yaml", r.join("link.yaml")).unwrap();
        git(r, &["add", "."]);
        git(r, &["commit", "-qm", "one"]);
        let commit = git(r, &["rev-parse", "HEAD"]);
        let url = r.to_str().unwrap();
        let cache_dir = tempfile::tempdir().unwrap();
        let dir = GitCache::new(cache_dir.path())
            .checkout(url, "main", &commit)
            .unwrap();
        assert!(matches_tree(
            &GitCache::new(cache_dir.path()).bare(url).unwrap(),
            &commit,
            &dir
        ));
        // Changed content, an extra file, a missing file: each is noticed
        // by a new process (a fresh cache value) and replaced.
        let tampers: [fn(&Path); 3] = [
            |d| std::fs::write(d.join("sub/a.yaml"), "evil").unwrap(),
            |d| std::fs::write(d.join("extra.yaml"), "evil").unwrap(),
            |d| std::fs::remove_file(d.join("link.yaml")).unwrap(),
        ];
        for tamper in tampers {
            tamper(&dir);
            let cache = GitCache::new(cache_dir.path());
            let again = cache.checkout(url, "main", &commit).unwrap();
            assert_eq!(again, dir);
            assert_eq!(
                std::fs::read_to_string(dir.join("sub/a.yaml")).unwrap(),
                "one"
            );
            assert!(!dir.join("extra.yaml").exists());
            assert_eq!(
                std::fs::read_link(dir.join("link.yaml")).unwrap(),
                Path::new("sub/a.yaml")
            );
        }
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
