//! The run's change: staging the copy, its diff and the sizes of what it
//! changed, snapshots, and applying and committing it in the user's tree.
//!
//! # Large changes
//!
//! A command of a run can write a file of any size. wf's memory does not
//! follow it: staging the workspace hands files over 1 MiB to git as a
//! stream (`core.bigFileThreshold`, so git never holds one whole either;
//! what that writes to the slot's own object store goes at the next run),
//! and before a patch is made, the sizes of the changed files' old and new
//! content are read from git's object headers ([`Workspace::change_sizes`]).
//! A change over the run's `limits.max_diff_bytes` is refused right there,
//! naming its largest files, and no patch is made; a patch that still
//! comes out larger (binary encoding, many headers) is cut off as git
//! writes it ([`Workspace::staged_diff_within`]).
//!
//! # Applying
//!
//! Applying is all or nothing (`git apply` checks every hunk before writing
//! any) and is refused when the user changed, since the run started, a file
//! the run also changed; the patch then stays in the run folder.

use super::{Workspace, WorkspaceError, git};
use crate::hash::sha256_hex;
use crate::sys::git::Git;
use std::path::{Path, PathBuf};

/// Checks that every path a patch names (`diff --git`, `---`/`+++`,
/// `rename`/`copy from`/`to` header lines) stays inside the repository:
/// relative, without `..`, and not in `.git/`. The error names the first
/// bad path.
pub fn check_patch_paths(patch: &str) -> Result<(), String> {
    let bad = |path: &str| -> Option<String> {
        let path = path.trim_end_matches(['\r', '\n']);
        let path = unquote(path);
        let why = if path.starts_with('/') {
            "an absolute path"
        } else if path.split(['/', '\\']).any(|c| c == "..") {
            "a path that leaves the repository"
        } else if path.split('/').next() == Some(".git") {
            "a path inside .git/"
        } else {
            return None;
        };
        Some(format!("the patch names {why}: {path}"))
    };
    let strip = |p: &str| -> String {
        let p = unquote(p);
        p.strip_prefix("a/")
            .or_else(|| p.strip_prefix("b/"))
            .unwrap_or(&p)
            .to_string()
    };
    let mut header = false;
    for line in patch.lines() {
        if let Some(rest) = line.strip_prefix("diff --git ") {
            header = true;
            // Paths may hold spaces; every word is checked (`..` or a
            // leading `/` in any of them is refused).
            for word in rest.split(' ').filter(|w| !w.is_empty()) {
                if let Some(why) = bad(&strip(word)) {
                    return Err(why);
                }
                if let Some(why) = bad(word.trim_matches('"')) {
                    return Err(why);
                }
            }
            continue;
        }
        if !header {
            continue;
        }
        if line.starts_with("@@") || line.starts_with("GIT binary patch") {
            header = false;
            continue;
        }
        let path = if let Some(rest) = line
            .strip_prefix("--- ")
            .or_else(|| line.strip_prefix("+++ "))
        {
            let rest = rest.split('\t').next().unwrap_or(rest);
            if rest == "/dev/null" {
                continue;
            }
            strip(rest)
        } else if let Some(rest) = ["rename from ", "rename to ", "copy from ", "copy to "]
            .iter()
            .find_map(|p| line.strip_prefix(p))
        {
            unquote(rest)
        } else {
            continue;
        };
        if let Some(why) = bad(&path) {
            return Err(why);
        }
    }
    Ok(())
}

/// A path as git writes it in a patch header: C-quoted when it holds
/// special characters (the escapes are kept; only `..` and `/` matter).
fn unquote(path: &str) -> String {
    path.strip_prefix('"')
        .and_then(|p| p.strip_suffix('"'))
        .unwrap_or(path)
        .to_string()
}

impl Workspace {
    /// The change so far, as a `git apply`-compatible patch (empty when none).
    pub fn diff(&self) -> Result<String, WorkspaceError> {
        self.stage()?;
        self.staged_diff()
    }

    /// Stages every file of the copy into its index. Files over 1 MiB are
    /// streamed into git's store, never read whole into git's memory.
    fn stage(&self) -> Result<(), WorkspaceError> {
        if self.checkout.is_none() {
            self.git_cmd()?
                .args(["-c", "core.bigFileThreshold=1m", "add", "-A"])
                .output()?;
            return Ok(());
        }
        // A checkout holds what the user's ignore rules keep out of a copy
        // (their global excludes too): staged with those rules, `.wf/`
        // never.
        self.user_git_cmd()?
            .args(["-c", "core.bigFileThreshold=1m", "add", "-A"])
            .output()?;
        if self.checkout.as_ref().is_some_and(|c| c.wf_ignored) {
            return Ok(());
        }
        self.run_git(&[
            "rm",
            "-r",
            "-q",
            "--cached",
            "--ignore-unmatch",
            "--",
            ".wf",
        ])?;
        Ok(())
    }

    /// Each path the staged change touches with the bytes of its content
    /// before and after (the sum of both blobs' sizes, which bounds what a
    /// patch of it holds but for headers and binary encoding), largest
    /// first. Read from git's object headers: no file content is loaded.
    pub fn change_sizes(&self) -> Result<Vec<(String, u64)>, WorkspaceError> {
        let raw = self.run_git(&[
            "diff",
            "--cached",
            "--raw",
            "-z",
            "--no-renames",
            "--abbrev=40",
            &self.base_tree,
        ])?;
        // `:<old mode> <new mode> <old id> <new id> <status>` NUL `<path>` NUL
        let mut fields = raw.split(|b| *b == 0).filter(|f| !f.is_empty());
        let mut changes: Vec<(String, Vec<String>)> = Vec::new();
        while let (Some(meta), Some(path)) = (fields.next(), fields.next()) {
            let meta = String::from_utf8_lossy(meta);
            let ids: Vec<String> = meta
                .split(' ')
                .skip(2)
                .take(2)
                .filter(|id| !id.bytes().all(|b| b == b'0'))
                .map(str::to_string)
                .collect();
            changes.push((String::from_utf8_lossy(path).into_owned(), ids));
        }
        let mut input = Vec::new();
        for (_, ids) in &changes {
            for id in ids {
                input.extend_from_slice(id.as_bytes());
                input.push(b'\n');
            }
        }
        let mut sizes: std::collections::HashMap<String, u64> = Default::default();
        if !input.is_empty() {
            let (_, out) = self
                .git_cmd()?
                .args(["cat-file", "--batch-check=%(objectname) %(objectsize)"])
                .output_with_input(input)?;
            for line in String::from_utf8_lossy(&out).lines() {
                // A submodule's commit is not in this store: "<id> missing".
                if let Some((id, size)) = line.split_once(' ')
                    && let Ok(size) = size.parse::<u64>()
                {
                    sizes.insert(id.to_string(), size);
                }
            }
        }
        let mut out: Vec<(String, u64)> = changes
            .into_iter()
            .map(|(path, ids)| {
                let bytes = ids
                    .iter()
                    .map(|id| sizes.get(id).copied().unwrap_or(0))
                    .sum();
                (path, bytes)
            })
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(out)
    }

    /// [`Workspace::staged_diff`], read from git as it writes it and cut off
    /// past `limit` bytes: `None` then (git is stopped; wf never holds more
    /// than `limit` bytes of it).
    pub fn staged_diff_within(&self, limit: u64) -> Result<Option<String>, WorkspaceError> {
        let out = self
            .git_cmd()?
            .args([
                "diff",
                "--cached",
                "--binary",
                "--no-renames",
                "--no-color",
                "--no-ext-diff",
                &self.base_tree,
            ])
            .output_within(limit)?;
        Ok(out.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// The change as staged by the last [`Workspace::snapshot`] (or
    /// [`Workspace::diff`]): the caller knows nothing wrote since.
    pub fn staged_diff(&self) -> Result<String, WorkspaceError> {
        let out = self.run_git(&[
            "diff",
            "--cached",
            "--binary",
            "--no-renames",
            "--no-color",
            "--no-ext-diff",
            &self.base_tree,
        ])?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Records the workspace's current state as a git tree (the model's
    /// change so far), to restore after checks.
    pub fn snapshot(&self) -> Result<String, WorkspaceError> {
        self.stage()?;
        Ok(String::from_utf8_lossy(&self.run_git(&["write-tree"])?)
            .trim()
            .to_string())
    }

    /// Puts the workspace back to `tree`: files checks changed are restored,
    /// files they created are removed — ignored ones too (`__pycache__/`,
    /// a `target/` inside the workspace), so the next round starts from
    /// exactly the model's change on top of the starting state and never
    /// runs what an earlier round built. Build caches that live outside the
    /// workspace (wf's Cargo target directory) are kept, and so is the
    /// shared `node_modules` link. Checks prove the change; they never
    /// become part of it.
    pub fn restore(&self, tree: &str) -> Result<(), WorkspaceError> {
        self.reset_to(tree)
    }

    /// Paths that differ between two snapshots, sorted.
    pub fn changed_between(&self, a: &str, b: &str) -> Result<Vec<String>, WorkspaceError> {
        let out = self.run_git(&["diff", "--name-only", "-z", "--no-renames", a, b])?;
        Ok(name_list(&out))
    }

    /// Paths the change touches, sorted.
    /// Call after [`Workspace::diff`], which stages the workspace.
    pub fn changed_files(&self) -> Result<Vec<String>, WorkspaceError> {
        let out = self.run_git(&[
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--no-renames",
            &self.base_tree,
        ])?;
        Ok(name_list(&out))
    }

    /// The files of the user's tree that differ from the baseline among
    /// `paths`: what the user changed during the run.
    pub fn changed_in_origin(&self, paths: &[String]) -> Result<Vec<String>, WorkspaceError> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        // Blob ids at the start, in one call.
        let mut args = vec!["ls-tree", "-r", "-z", &self.base_tree, "--"];
        args.extend(paths.iter().map(String::as_str));
        let listing = self.run_git(&args)?;
        let mut base: std::collections::BTreeMap<String, String> =
            std::collections::BTreeMap::new();
        for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
            let entry = String::from_utf8_lossy(entry);
            if let Some((meta, path)) = entry.split_once('\t') {
                let id = meta.split_whitespace().nth(2).unwrap_or("").to_string();
                base.insert(path.to_string(), id);
            }
        }
        // Blob ids of the user's files now, in one call.
        let present: Vec<&String> = paths
            .iter()
            .filter(|p| self.origin.join(p).symlink_metadata().is_ok())
            .collect();
        let mut current: std::collections::BTreeMap<String, String> =
            std::collections::BTreeMap::new();
        let files: Vec<PathBuf> = present.iter().map(|p| self.origin.join(p)).collect();
        for (p, id) in present.iter().zip(blob_ids(self.git_cmd()?, &files)?) {
            current.insert((*p).clone(), id);
        }
        Ok(paths
            .iter()
            .filter(|p| base.get(*p) != current.get(*p))
            .cloned()
            .collect())
    }
}

/// Applies a patch to the user's tree at `origin`, all or nothing: `git
/// apply` checks every hunk before it writes any. The caller refuses first
/// when the user changed one of the files ([`Workspace::changed_in_origin`]).
pub fn apply(origin: &Path, patch_file: &Path) -> Result<(), WorkspaceError> {
    let patch = patch_file.to_string_lossy();
    for args in [
        &["apply", "--check", "--whitespace=nowarn", &patch][..],
        &["apply", "--whitespace=nowarn", &patch],
    ] {
        git(origin, args)?;
    }
    Ok(())
}

/// The files of `patch` (a `git diff --binary` against the run's start)
/// that the user changed in `origin` since then: a file whose blob no longer
/// starts with the patch's own base id (`index <base>..<new>`), a file the
/// patch creates that exists now, or one it changes that is gone. The
/// patch carries its base, so no starting state has to be rebuilt. Mode-only
/// changes carry no id and count as unchanged while the file exists.
pub fn changed_since(origin: &Path, patch: &str) -> Result<Vec<String>, WorkspaceError> {
    let files: Vec<(String, Option<String>)> = crate::patch::files(patch)
        .into_iter()
        .map(|f| (f.path, f.base))
        .collect();
    let mut present = Vec::new();
    let mut changed = Vec::new();
    for (path, base) in &files {
        let abs = origin.join(path);
        let exists = abs.symlink_metadata().is_ok();
        let created = base
            .as_deref()
            .is_some_and(|b| b.bytes().all(|c| c == b'0'));
        match (created, exists) {
            (true, true) => changed.push(path.clone()),
            (true, false) => {}
            (false, false) => changed.push(path.clone()),
            (false, true) => {
                if let Some(b) = base {
                    present.push((path.clone(), b.clone(), abs));
                }
            }
        }
    }
    let files: Vec<PathBuf> = present.iter().map(|(_, _, abs)| abs.clone()).collect();
    for ((path, base, _), id) in present.iter().zip(blob_ids(Git::private(origin), &files)?) {
        if !id.starts_with(base.as_str()) {
            changed.push(path.clone());
        }
    }
    changed.sort();
    Ok(changed)
}

/// The git blob ids of `files` as they are now (content as is, no
/// filters), in one `git hash-object` run of `git` (in the workspace or
/// the user's tree).
fn blob_ids(mut git: Git, files: &[PathBuf]) -> Result<Vec<String>, WorkspaceError> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let out = git
        .args(["hash-object", "--no-filters", "--"])
        .args(files)
        .output()?;
    Ok(String::from_utf8_lossy(&out)
        .lines()
        .map(|id| id.trim().to_string())
        .collect())
}

/// Hash of a patch's text, as recorded in the trace.
pub fn diff_hash(patch: &str) -> String {
    sha256_hex(patch.as_bytes())
}

/// A summary of a patch: (path, lines added, lines removed) per file, from
/// the one reading of it ([`crate::patch::files`]): every file, quoted
/// names included.
pub fn diffstat(patch: &str) -> Vec<(String, usize, usize)> {
    crate::patch::files(patch)
        .into_iter()
        .map(|f| (f.path, f.additions, f.deletions))
        .collect()
}

/// Commits `files` of the user's tree with `message`, using the user's own
/// git identity and configuration; only those paths go into the commit.
pub fn commit(origin: &Path, files: &[String], message: &str) -> Result<String, WorkspaceError> {
    let mut add = vec!["add", "-A", "--"];
    add.extend(files.iter().map(String::as_str));
    user_git(origin, &add)?;
    let mut commit = vec!["commit", "-q", "-m", message, "--"];
    commit.extend(files.iter().map(String::as_str));
    user_git(origin, &commit)?;
    Ok(
        String::from_utf8_lossy(&user_git(origin, &["rev-parse", "HEAD"])?)
            .trim()
            .to_string(),
    )
}

/// `git … --name-only -z` output as sorted paths.
pub(super) fn name_list(out: &[u8]) -> Vec<String> {
    let mut files: Vec<String> = out
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    files.sort();
    files
}

/// git in the user's repository, with the user's own configuration
/// (ignore rules, identity).
fn user_git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, WorkspaceError> {
    Ok(Git::user(dir).args(args).output()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::Source;
    use crate::workspace::tests::{read, reclaim, remove_slots, repo, write};

    /// Bytes no compressor shrinks (xorshift), for binary patches.
    fn noise(n: usize) -> Vec<u8> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn large_changes_are_measured_without_a_patch_and_a_patch_is_cut_at_its_limit() {
        let origin = repo();
        let ws = Workspace::create(origin.path(), "r").unwrap();
        let packs = |dir: &Path| -> std::collections::BTreeSet<std::ffi::OsString> {
            std::fs::read_dir(crate::workspace::git_dir(dir).join("objects/pack"))
                .map(|d| d.flatten().map(|e| e.file_name()).collect())
                .unwrap_or_default()
        };
        // The slot's own store (the start commit's objects).
        let store = packs(&ws.dir);
        // 3 MiB: over the 1 MiB threshold, so staged as a stream into a pack.
        std::fs::write(ws.dir.join("big.bin"), vec![b'x'; 3 << 20]).unwrap();
        std::fs::write(ws.dir.join("noise.bin"), noise(850_000)).unwrap();
        std::fs::write(ws.dir.join("README.md"), "readme\nmore\n").unwrap();
        ws.snapshot().unwrap();
        let sizes = ws.change_sizes().unwrap();
        assert_eq!(
            sizes,
            [
                ("big.bin".to_string(), 3 << 20),
                ("noise.bin".to_string(), 850_000),
                ("README.md".to_string(), 7 + 12),
            ]
        );
        assert!(
            packs(&ws.dir).len() > store.len(),
            "the big file was not streamed into a pack"
        );
        std::fs::remove_file(ws.dir.join("big.bin")).unwrap();
        ws.snapshot().unwrap();
        // 850,000 bytes of noise take more than 1 MiB as a binary patch.
        assert_eq!(ws.staged_diff_within(1 << 20).unwrap(), None);
        let whole = ws.staged_diff_within(2 << 20).unwrap().unwrap();
        assert!(whole.len() > 1 << 20, "{}", whole.len());
        assert_eq!(whole, ws.staged_diff().unwrap());
        // The next run of the slot starts without what this one stored.
        let dir = ws.dir.clone();
        drop(ws);
        let _ws = reclaim(origin.path(), &dir);
        assert_eq!(packs(&dir), store);
        remove_slots(origin.path());
    }

    #[test]
    fn diff_shows_the_runs_change_and_apply_takes_it_to_the_origin() {
        let origin = repo();
        let ws = Workspace::create(origin.path(), "r").unwrap();
        write(
            &ws.dir,
            "src/lib.rs",
            "fn a() {}\nfn uncommitted() {}\nfn b() {}\n",
        );
        write(&ws.dir, "src/new.rs", "fn new() {}\n");
        std::fs::remove_file(ws.dir.join("README.md")).unwrap();
        let patch = ws.diff().unwrap();
        assert!(patch.contains("+fn b() {}"), "{patch}");
        assert!(patch.contains("+fn new() {}"), "{patch}");
        assert!(patch.contains("-readme"), "{patch}");
        assert!(
            !patch.contains("+fn uncommitted"),
            "the baseline is not the change: {patch}"
        );
        assert_eq!(
            ws.changed_files().unwrap(),
            ["README.md", "src/lib.rs", "src/new.rs"]
        );
        assert_eq!(
            diffstat(&patch),
            [
                ("README.md".to_string(), 0, 1),
                ("src/lib.rs".to_string(), 1, 0),
                ("src/new.rs".to_string(), 1, 0)
            ]
        );
        assert!(
            ws.changed_in_origin(&ws.changed_files().unwrap())
                .unwrap()
                .is_empty()
        );

        let patch_file = origin.path().join(".wf/diff.patch");
        std::fs::write(&patch_file, &patch).unwrap();
        apply(origin.path(), &patch_file).unwrap();
        assert_eq!(
            read(origin.path(), "src/lib.rs"),
            "fn a() {}\nfn uncommitted() {}\nfn b() {}\n"
        );
        assert_eq!(read(origin.path(), "src/new.rs"), "fn new() {}\n");
        assert!(!origin.path().join("README.md").exists());
        // Ignored files of the user are left alone.
        assert_eq!(read(origin.path(), "api.secret"), "sk-live\n");
    }

    #[test]
    fn a_file_the_user_changed_meanwhile_is_a_conflict() {
        let origin = repo();
        let ws = Workspace::create(origin.path(), "r").unwrap();
        write(&ws.dir, "src/lib.rs", "fn run_change() {}\n");
        write(&ws.dir, "notes.txt", "run's notes\n");
        write(&ws.dir, "src/created.rs", "by the run\n");
        let patch = ws.diff().unwrap();
        let files = ws.changed_files().unwrap();
        assert_eq!(files, ["notes.txt", "src/created.rs", "src/lib.rs"]);

        // The user edits one of them, creates another, and leaves the third.
        write(origin.path(), "src/lib.rs", "fn users_change() {}\n");
        write(origin.path(), "src/created.rs", "by the user\n");
        let conflicts = ws.changed_in_origin(&files).unwrap();
        assert_eq!(conflicts, ["src/created.rs", "src/lib.rs"]);
        let message = WorkspaceError::Conflict(conflicts).to_string();
        assert!(message.contains("these files were"), "{message}");
        assert!(message.contains("src/created.rs, src/lib.rs"), "{message}");

        // A deleted file is a change too.
        std::fs::remove_file(origin.path().join("notes.txt")).unwrap();
        assert_eq!(
            ws.changed_in_origin(&["notes.txt".to_string()]).unwrap(),
            ["notes.txt"]
        );

        // Applying anyway is all or nothing: git refuses every hunk.
        write(origin.path(), "notes.txt", "untracked\n");
        let patch_file = origin.path().join(".wf/diff.patch");
        std::fs::write(&patch_file, &patch).unwrap();
        assert!(apply(origin.path(), &patch_file).is_err());
        assert_eq!(read(origin.path(), "notes.txt"), "untracked\n");
        assert_eq!(read(origin.path(), "src/lib.rs"), "fn users_change() {}\n");
    }

    #[test]
    fn a_recorded_patch_may_not_leave_the_repository() {
        let good = "diff --git a/src/x.rs b/src/x.rs\n--- a/src/x.rs\n+++ b/src/x.rs\n@@ -1 +1 @@\n--- ../not/a/header\n+x\n";
        assert_eq!(check_patch_paths(good), Ok(()));
        for bad in [
            "diff --git a/../../outside/pwned b/../../outside/pwned\nnew file mode 100644\n--- /dev/null\n+++ b/../../outside/pwned\n",
            "diff --git a/x b/x\n--- a/x\n+++ /etc/passwd\n",
            "diff --git a/x b/y\nrename from x\nrename to ../y\n",
            "diff --git \"a/../q\" \"b/../q\"\n",
            "diff --git a/.git/hooks/pre-commit b/.git/hooks/pre-commit\n",
        ] {
            assert!(check_patch_paths(bad).is_err(), "{bad}");
        }
        let origin = repo();
        let patch = origin.path().join(".wf/start.patch");
        std::fs::write(
            &patch,
            "diff --git a/../../outside/pwned b/../../outside/pwned\nnew file mode 100644\nindex 0000000..e69de29\n--- /dev/null\n+++ b/../../outside/pwned\n@@ -0,0 +1 @@\n+pwned\n",
        )
        .unwrap();
        let source = Source::Snapshot {
            revision: None,
            patch: Some(patch),
        };
        let err = Workspace::create_from(origin.path(), &source).unwrap_err();
        assert!(err.to_string().contains("outside/pwned"), "{err}");
    }

    #[test]
    fn restore_undoes_what_checks_did() {
        let origin = repo();
        let ws = Workspace::create(origin.path(), "r").unwrap();
        write(&ws.dir, "src/lib.rs", "changed by the model\n");
        let tree = ws.snapshot().unwrap();
        write(&ws.dir, "src/lib.rs", "changed by a check\n");
        write(&ws.dir, "check-output.txt", "junk\n");
        assert_eq!(
            ws.changed_between(&tree, &ws.snapshot().unwrap()).unwrap(),
            ["check-output.txt", "src/lib.rs"]
        );
        ws.restore(&tree).unwrap();
        assert_eq!(read(&ws.dir, "src/lib.rs"), "changed by the model\n");
        assert!(!ws.dir.join("check-output.txt").exists());
    }

    #[test]
    fn changed_since_reads_the_base_from_the_patch() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let g = |args: &[&str]| Git::private(root).args(args).output().unwrap();
        g(&["init", "-q"]);
        std::fs::write(root.join("a.txt"), "a\n").unwrap();
        std::fs::write(root.join("b.txt"), "b\n").unwrap();
        g(&["add", "-A"]);
        g(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "start",
        ]);
        // The run's change: edit a, delete b, create c and a file whose
        // name git quotes.
        std::fs::write(root.join("a.txt"), "a2\n").unwrap();
        std::fs::remove_file(root.join("b.txt")).unwrap();
        std::fs::write(root.join("c.txt"), "c\n").unwrap();
        std::fs::write(root.join("q\"d\".txt"), "d\n").unwrap();
        g(&["add", "-A"]);
        let patch = String::from_utf8(g(&["diff", "--cached", "--binary", "HEAD"])).unwrap();
        g(&["reset", "-q", "--hard"]);
        std::fs::remove_file(root.join("c.txt")).ok();
        std::fs::remove_file(root.join("q\"d\".txt")).ok();
        assert_eq!(changed_since(root, &patch).unwrap(), Vec::<String>::new());
        std::fs::write(root.join("a.txt"), "mine\n").unwrap();
        std::fs::write(root.join("c.txt"), "mine\n").unwrap();
        std::fs::write(root.join("q\"d\".txt"), "mine\n").unwrap();
        std::fs::remove_file(root.join("b.txt")).unwrap();
        assert_eq!(
            changed_since(root, &patch).unwrap(),
            ["a.txt", "b.txt", "c.txt", "q\"d\".txt"]
        );
    }
}
