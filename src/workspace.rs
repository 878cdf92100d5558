//! The isolated workspace a run works in, the diff it produces, and
//! applying that diff to the user's tree.
//!
//! # The copy
//!
//! A workspace is a fresh directory under the system temp dir holding the
//! repository as the user has it now: in a git repository, every tracked
//! file and every untracked file that is not ignored (`git ls-files
//! --cached --others --exclude-standard`), uncommitted changes included;
//! outside git, every file the gitignore-aware walk finds. `.git/` and `.wf/`
//! are never copied. Ignored files (build output, `.env` files, secrets)
//! are not copied either: the model cannot read what the user's ignore
//! rules keep out.
//!
//! The workspace gets its own private git index: the baseline is recorded
//! with `git add -A && git write-tree`, and the run's change is `git diff
//! --binary` against that tree, which `git apply` takes back in the user's
//! tree. wf's git calls ignore the user's and the system's git config so
//! that settings such as `diff.noprefix` cannot change the patch.
//!
//! # Build caches
//!
//! Checks in a fresh copy must not rebuild the world, and no command of a
//! run may change the user's tree — not even its build output, which the
//! user runs later. So wf shares caches, never the user's own directories
//! for writing: for a Cargo project (a `Cargo.toml` at the root), checks
//! and `shell` commands get `CARGO_TARGET_DIR` pointing at a target
//! directory of wf's own for this repository
//! (`$TMPDIR/wf-cache-<hash of the repository path>/cargo-target`, 0700),
//! kept from run to run, so dependencies are compiled once and only the
//! workspace's own crates after that. The first run of a repository
//! compiles its dependencies there. An ignored `node_modules/` at the root
//! is symlinked into the workspace read-only: sandboxed commands may read
//! it ([`Workspace::sandbox_read`]) but not write it. The model's file
//! tools cannot follow these links (they lead outside the workspace).
//!
//! # Privacy
//!
//! The workspace and the run's temp directory ([`Workspace::tmp`], the
//! `TMPDIR` of every command the run starts) are created `0700`: other
//! users of a shared `/tmp` cannot read the copy of the repository.
//!
//! # Applying
//!
//! Applying is all or nothing (`git apply` checks every hunk before writing
//! any) and is refused when the user changed, since the run started, a file
//! the run also changed; the patch then stays in the run folder.

use crate::hash::sha256_hex;
use crate::sys::git::{EMPTY_TREE, Git, GitError};
use crate::sys::lock::FileLock;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a workspace operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// A filesystem operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What wf was doing.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// git failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The user changed files the run also changed.
    #[error(
        "not applied: {} changed in your tree since the run started: {}",
        if .0.len() == 1 { "this file was" } else { "these files were" },
        .0.join(", ")
    )]
    Conflict(Vec<String>),
    /// A recorded patch names a path outside the repository.
    #[error("refused: {0}")]
    Unsafe(String),
}

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

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> WorkspaceError {
    let context = context.into();
    move |source| WorkspaceError::Io { context, source }
}

/// An isolated copy of the repository.
#[derive(Debug)]
pub struct Workspace {
    /// The copy's root.
    pub dir: PathBuf,
    /// The user's repository root.
    pub origin: PathBuf,
    /// The git tree id of the baseline.
    pub base_tree: String,
    /// Files copied.
    pub files: usize,
    /// Extra environment for checks and `shell` (build-cache sharing, and
    /// `TMPDIR` set to [`Workspace::tmp`]).
    pub env: Vec<(String, String)>,
    /// The run's private temp directory, next to the workspace (removed
    /// with it).
    pub tmp: PathBuf,
    /// Directories outside the workspace that commands may read (the
    /// user's git objects, which the workspace's git borrows; a shared
    /// `node_modules`).
    pub sandbox_read: Vec<PathBuf>,
    /// Directories outside the workspace that commands may write (wf's own
    /// build caches).
    pub sandbox_write: Vec<PathBuf>,
    keep: bool,
    /// Held while the workspace lives: its slot is ours.
    _slot: FileLock,
}

/// What a workspace starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The user's tree as it is now.
    Current,
    /// A recorded start: the commit (if any) and the patch of uncommitted
    /// changes at that moment (if any).
    Snapshot {
        /// The base commit.
        revision: Option<String>,
        /// `start.patch` of the run.
        patch: Option<PathBuf>,
    },
}

fn copy_tree(origin: &Path, dir: &Path) -> Result<usize, WorkspaceError> {
    let mut copied = 0;
    for rel in &tracked_files(origin)? {
        let src = origin.join(rel);
        let Ok(meta) = src.symlink_metadata() else {
            continue; // deleted in the working tree but still in the index
        };
        let dst = dir.join(rel);
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent)
                .map_err(io(format!("cannot create {}", parent.display())))?;
        }
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&src).map_err(io(format!("cannot read link {rel}")))?;
            std::os::unix::fs::symlink(&target, &dst)
                .map_err(io(format!("cannot copy link {rel}")))?;
        } else if meta.is_file() {
            std::fs::copy(&src, &dst).map_err(io(format!("cannot copy {rel}")))?;
        } else {
            continue; // a submodule or other special entry
        }
        copied += 1;
    }
    Ok(copied)
}

/// The uncommitted state of the user's tree as a patch against `revision`
/// (or against nothing when the repository has no commit yet): tracked
/// changes and untracked, non-ignored files. Written with a private index,
/// so the user's staging area is untouched. `None` outside git.
pub fn start_patch(
    origin: &Path,
    revision: Option<&str>,
) -> Result<Option<String>, WorkspaceError> {
    if !is_git(origin) {
        return Ok(None);
    }
    let tmp = tempfile_path("wf-start-index");
    let real_index = String::from_utf8_lossy(&git(origin, &["rev-parse", "--git-path", "index"])?)
        .trim()
        .to_string();
    let real_index = origin.join(real_index);
    if real_index.exists() {
        std::fs::copy(&real_index, &tmp).map_err(io("cannot copy the git index"))?;
    }
    let env = [("GIT_INDEX_FILE", tmp.as_path())];
    let result = (|| {
        // The user's own git config decides what is ignored, as for the copy.
        // `.wf/` is then taken out of this private index: never part of the
        // starting state (an exclude pathspec instead would make `git add`
        // fail when the user's .gitignore lists `.wf/`).
        Git::user(origin).args(["add", "-A"]).index(&tmp).output()?;
        Git::user(origin)
            .args([
                "rm",
                "-r",
                "-q",
                "--cached",
                "--ignore-unmatch",
                "--",
                ".wf",
            ])
            .index(&tmp)
            .output()?;
        let base = revision.unwrap_or(EMPTY_TREE);
        git_with_env(
            origin,
            &[
                "diff",
                "--cached",
                "--binary",
                "--no-renames",
                "--no-color",
                "--no-ext-diff",
                base,
            ],
            &env,
        )
    })();
    let _ = std::fs::remove_file(&tmp);
    Ok(Some(String::from_utf8_lossy(&result?).into_owned()))
}

fn tempfile_path(prefix: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()))
}

/// git in the user's repository, with the user's own configuration
/// (ignore rules, identity).
fn user_git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, WorkspaceError> {
    Ok(Git::user(dir).args(args).output()?)
}

/// git with the user's configuration shut out.
pub fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, WorkspaceError> {
    Ok(Git::private(dir).args(args).output()?)
}

fn git_with_env(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &Path)],
) -> Result<Vec<u8>, WorkspaceError> {
    let mut git = Git::private(dir);
    git.args(args);
    for (k, v) in env {
        git.env(k, v);
    }
    Ok(git.output()?)
}

pub use crate::sys::git::{head_revision, is_git};

/// The files of the user's tree that a workspace holds, sorted.
pub fn tracked_files(root: &Path) -> Result<Vec<String>, WorkspaceError> {
    let mut files: Vec<String> = if is_git(root) {
        let out = user_git(
            root,
            &[
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
        )?;
        out.split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect()
    } else {
        crate::context::walk_builder(root, root)
            .build()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_some_and(|t| !t.is_dir()))
            .filter_map(|e| crate::sys::paths::relative(root, e.path()))
            .collect()
    };
    files.retain(|f| {
        !(f.starts_with(".wf/") || f.starts_with(".git/") || f == ".wf" || f == ".git")
    });
    files.sort();
    files.dedup();
    Ok(files)
}

impl Workspace {
    /// Copies the user's tree at `origin` into a fresh workspace.
    ///
    /// The workspace lives at a stable path per repository and slot
    /// (`$TMPDIR/wf-ws-<hash of the repository path>-<slot>`), the first slot
    /// not held by a live wf process. A stable path lets build tools reuse
    /// their incremental caches from one run to the next (Cargo keys a
    /// crate's artifacts by its path); concurrent runs get different slots.
    pub fn create(origin: &Path, _run_id: &str) -> Result<Workspace, WorkspaceError> {
        Workspace::create_from(origin, &Source::Current)
    }

    /// A workspace holding `source`: the user's tree as it is now, or a
    /// recorded starting state (a commit plus the uncommitted changes of
    /// that moment) for replay and resume.
    pub fn create_from(origin: &Path, source: &Source) -> Result<Workspace, WorkspaceError> {
        let (dir, slot) = claim_slot(origin)?;
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io(format!("cannot clear {}", dir.display())))?;
        }
        private_dir(&dir)?;
        let tmp = dir.with_extension("tmp");
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io(format!("cannot clear {}", tmp.display())))?;
        }
        private_dir(&tmp)?;
        let mut ws = Workspace {
            dir: dir.clone(),
            origin: origin.to_path_buf(),
            base_tree: String::new(),
            files: 0,
            env: Vec::new(),
            tmp,
            sandbox_read: Vec::new(),
            sandbox_write: Vec::new(),
            keep: false,
            _slot: slot,
        };
        match source {
            Source::Current => {
                copy_tree(origin, &dir)?;
            }
            Source::Snapshot { revision, patch } => {
                if let Some(rev) = revision {
                    let index = dir.with_extension("index");
                    let index_env = [("GIT_INDEX_FILE", index.as_path())];
                    let prefix = format!("{}/", dir.display());
                    git_with_env(origin, &["read-tree", rev], &index_env)?;
                    git_with_env(
                        origin,
                        &["checkout-index", "-a", "-f", &format!("--prefix={prefix}")],
                        &index_env,
                    )?;
                    let _ = std::fs::remove_file(&index);
                }
                if let Some(patch) = patch
                    && std::fs::metadata(patch).is_ok_and(|m| m.len() > 0)
                {
                    // A run folder is untrusted input: every path of the
                    // patch must stay inside the repository (checked here,
                    // and git's own check is left on).
                    let text = std::fs::read(patch)
                        .map_err(io(format!("cannot read {}", patch.display())))?;
                    check_patch_paths(&String::from_utf8_lossy(&text)).map_err(|why| {
                        WorkspaceError::Unsafe(format!("{}: {why}", patch.display()))
                    })?;
                    let ceiling = dir.parent().unwrap_or(&dir);
                    let patch_arg = patch.to_string_lossy();
                    git_with_env(
                        &dir,
                        &["apply", "--whitespace=nowarn", &patch_arg],
                        &[("GIT_CEILING_DIRECTORIES", ceiling)],
                    )?;
                }
            }
        }
        // No template: nothing to copy (hooks samples), and no hooks run.
        git(&dir, &["init", "-q", "--template="])?;
        // Borrow the user's object store (read-only: git never writes to an
        // alternate), so `git add` writes no object for a file the
        // repository already holds.
        if let Ok(out) = user_git(
            origin,
            &[
                "rev-parse",
                "--path-format=absolute",
                "--git-path",
                "objects",
            ],
        ) {
            let objects = String::from_utf8_lossy(&out).trim().to_string();
            let info = dir.join(".git/objects/info");
            std::fs::create_dir_all(&info).map_err(io("cannot set up the workspace's git"))?;
            std::fs::write(info.join("alternates"), format!("{objects}\n"))
                .map_err(io("cannot set up the workspace's git"))?;
            // git in a confined command reads the borrowed objects too (it
            // can never write them: they are read-only to the sandbox).
            ws.sandbox_read.push(PathBuf::from(objects));
        }
        // Force: the workspace holds exactly the files that belong in the
        // baseline, including tracked files that match an ignore rule
        // (force-added by the user), which a plain `add -A` would leave out.
        git(&dir, &["add", "-A", "-f"])?;
        ws.base_tree = String::from_utf8_lossy(&git(&dir, &["write-tree"])?)
            .trim()
            .to_string();
        ws.files = git(&dir, &["ls-files", "-z"])?
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .count();
        share_build_caches(origin, &mut ws)?;
        ws.env
            .push(("TMPDIR".to_string(), ws.tmp.to_string_lossy().into_owned()));
        Ok(ws)
    }

    /// The change so far, as a `git apply`-compatible patch (empty when none).
    pub fn diff(&self) -> Result<String, WorkspaceError> {
        git(&self.dir, &["add", "-A"])?;
        let out = git(
            &self.dir,
            &[
                "diff",
                "--cached",
                "--binary",
                "--no-renames",
                "--no-color",
                "--no-ext-diff",
                &self.base_tree,
            ],
        )?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Records the workspace's current state as a git tree (the model's
    /// change so far), to restore after checks.
    pub fn snapshot(&self) -> Result<String, WorkspaceError> {
        git(&self.dir, &["add", "-A"])?;
        Ok(String::from_utf8_lossy(&git(&self.dir, &["write-tree"])?)
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
        git(&self.dir, &["read-tree", tree])?;
        git(&self.dir, &["checkout-index", "-a", "-f"])?;
        git(&self.dir, &["clean", "-fdxq", "-e", "/node_modules"])?;
        Ok(())
    }

    /// Paths that differ between two snapshots, sorted.
    pub fn changed_between(&self, a: &str, b: &str) -> Result<Vec<String>, WorkspaceError> {
        let out = git(
            &self.dir,
            &["diff", "--name-only", "-z", "--no-renames", a, b],
        )?;
        Ok(name_list(&out))
    }

    /// Paths the change touches, sorted.
    /// Call after [`Workspace::diff`], which stages the workspace.
    pub fn changed_files(&self) -> Result<Vec<String>, WorkspaceError> {
        let out = git(
            &self.dir,
            &[
                "diff",
                "--cached",
                "--name-only",
                "-z",
                "--no-renames",
                &self.base_tree,
            ],
        )?;
        Ok(name_list(&out))
    }

    /// Keeps the directory when the workspace is dropped (for debugging or a
    /// resume).
    pub fn keep(&mut self) {
        self.keep = true;
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
        let listing = git(&self.dir, &args)?;
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
        for (p, id) in present.iter().zip(blob_ids(&self.dir, &files)?) {
            current.insert((*p).clone(), id);
        }
        Ok(paths
            .iter()
            .filter(|p| base.get(*p) != current.get(*p))
            .cloned()
            .collect())
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if !self.keep {
            // Deleting thousands of files can take a second on a slow disk:
            // move the directory aside and delete it in the background.
            let trash = self
                .dir
                .with_extension(format!("trash-{}", std::process::id()));
            if std::fs::rename(&self.dir, &trash).is_ok() {
                let spawned = Command::new("rm")
                    .arg("-rf")
                    .arg(&trash)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn();
                if spawned.is_err() {
                    let _ = std::fs::remove_dir_all(&trash);
                }
            } else {
                let _ = std::fs::remove_dir_all(&self.dir);
            }
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

fn lock_path(dir: &Path) -> PathBuf {
    dir.with_extension("lock")
}

/// Finds and locks the first free workspace slot of `origin`. A slot is held
/// by an advisory lock on `<slot>.lock`, which the kernel releases when its
/// holder ends, however it ends.
fn claim_slot(origin: &Path) -> Result<(PathBuf, FileLock), WorkspaceError> {
    let key = sha256_hex(origin.to_string_lossy().as_bytes());
    for slot in 0..64 {
        let dir = std::env::temp_dir().join(format!("wf-ws-{}-{slot}", &key[..12]));
        match crate::sys::lock::take(&lock_path(&dir))
            .map_err(io("cannot lock a workspace slot"))?
        {
            crate::sys::lock::Taken::Yes(lock) => return Ok((dir, lock)),
            crate::sys::lock::Taken::HeldBy(_) => continue,
        }
    }
    Err(WorkspaceError::Io {
        context: "every workspace slot is in use".into(),
        source: std::io::Error::other("64 concurrent runs"),
    })
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
    let mut files: Vec<(String, Option<String>)> = Vec::new();
    for line in patch.lines() {
        if let Some(rest) = line.strip_prefix("diff --git a/") {
            let path = rest.split(" b/").next().unwrap_or(rest).to_string();
            files.push((path, None));
        } else if let Some(ids) = line.strip_prefix("index ")
            && let Some((_, base)) = files.last_mut()
            && base.is_none()
        {
            *base = Some(ids.split("..").next().unwrap_or("").to_string());
        }
    }
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
    for ((path, base, _), id) in present.iter().zip(blob_ids(origin, &files)?) {
        if !id.starts_with(base.as_str()) {
            changed.push(path.clone());
        }
    }
    changed.sort();
    Ok(changed)
}

/// The git blob ids of `files` as they are now (content as is, no
/// filters), in one `git hash-object` run in `dir`.
fn blob_ids(dir: &Path, files: &[PathBuf]) -> Result<Vec<String>, WorkspaceError> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let out = Git::private(dir)
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

/// A summary of a patch: (path, lines added, lines removed) per file.
pub fn diffstat(patch: &str) -> Vec<(String, usize, usize)> {
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    for line in patch.lines() {
        if let Some(rest) = line.strip_prefix("diff --git a/") {
            let path = rest.split(" b/").next().unwrap_or(rest).to_string();
            out.push((path, 0, 0));
        } else if let Some(last) = out.last_mut() {
            if line.starts_with('+') && !line.starts_with("+++") {
                last.1 += 1;
            } else if line.starts_with('-') && !line.starts_with("---") {
                last.2 += 1;
            }
        }
    }
    out
}

fn share_build_caches(origin: &Path, ws: &mut Workspace) -> Result<(), WorkspaceError> {
    if origin.join("Cargo.toml").is_file() {
        let key = sha256_hex(origin.to_string_lossy().as_bytes());
        let cache = std::env::temp_dir().join(format!("wf-cache-{}", &key[..12]));
        private_dir(&cache)?;
        let target = cache.join("cargo-target");
        std::fs::create_dir_all(&target)
            .map_err(io(format!("cannot create {}", target.display())))?;
        ws.env.push((
            "CARGO_TARGET_DIR".to_string(),
            target.to_string_lossy().into_owned(),
        ));
        ws.sandbox_write.push(target);
    }
    let modules = origin.join("node_modules");
    if modules.is_dir() && !ws.dir.join("node_modules").exists() {
        // Keep the link out of the run's diff.
        let exclude = ws.dir.join(".git/info/exclude");
        let _ = std::fs::create_dir_all(ws.dir.join(".git/info"));
        let mut text = std::fs::read_to_string(&exclude).unwrap_or_default();
        text.push_str("\n/node_modules\n");
        if std::fs::write(&exclude, text).is_ok() {
            let _ = std::os::unix::fs::symlink(&modules, ws.dir.join("node_modules"));
            ws.sandbox_read.push(modules);
        }
    }
    Ok(())
}

/// Creates `dir` (and its parents) with the new directory itself private
/// to this user (0700), whatever the umask.
fn private_dir(dir: &Path) -> Result<(), WorkspaceError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(format!("cannot create {}", dir.display())))?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(io(format!("cannot make {} private", dir.display())))
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
fn name_list(out: &[u8]) -> Vec<String> {
    let mut files: Vec<String> = out
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_git(dir: &Path, args: &[&str]) -> String {
        let out = Git::private(dir)
            .args([
                "-c",
                "user.name=wf test",
                "-c",
                "user.email=wf@example.invalid",
            ])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn read(dir: &Path, rel: &str) -> String {
        std::fs::read_to_string(dir.join(rel)).unwrap()
    }

    /// Every file under `dir`, relative and sorted, the workspace's own
    /// `.git/` left out.
    fn files_in(dir: &Path) -> Vec<String> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                if rel == ".git" {
                    continue;
                }
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    out.push(rel);
                }
            }
        }
        let mut out = Vec::new();
        walk(dir, dir, &mut out);
        out.sort();
        out
    }

    /// A repository with a commit, an uncommitted change, an untracked
    /// file, ignored files, a force-added ignored file and a `.wf/` folder.
    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        run_git(d, &["init", "-q"]);
        write(d, ".gitignore", "*.secret\nbuild/\n.wf/\n");
        write(d, "src/lib.rs", "fn a() {}\n");
        write(d, "README.md", "readme\n");
        write(d, "forced.secret", "tracked anyway\n");
        run_git(d, &["add", "-A"]);
        run_git(d, &["add", "-f", "forced.secret"]);
        run_git(d, &["commit", "-q", "-m", "init"]);
        write(d, "src/lib.rs", "fn a() {}\nfn uncommitted() {}\n");
        write(d, "notes.txt", "untracked\n");
        write(d, "api.secret", "sk-live\n");
        write(d, "build/out.bin", "built\n");
        write(d, ".wf/runs/r1/trace.jsonl", "{}\n");
        dir
    }

    #[test]
    fn the_copy_holds_tracked_and_untracked_files_but_not_ignored_or_internal_ones() {
        let origin = repo();
        let ws = Workspace::create(origin.path(), "r").unwrap();
        let expected = [
            ".gitignore",
            "README.md",
            "forced.secret",
            "notes.txt",
            "src/lib.rs",
        ];
        assert_eq!(files_in(&ws.dir), expected);
        assert_eq!(ws.files, expected.len());
        assert_eq!(
            read(&ws.dir, "src/lib.rs"),
            "fn a() {}\nfn uncommitted() {}\n",
            "uncommitted changes are part of the copy"
        );
        assert_ne!(ws.base_tree, EMPTY_TREE);
        assert_eq!(ws.diff().unwrap(), "", "the baseline is the copy");
        assert!(ws.changed_files().unwrap().is_empty());
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
        // The run's change: edit a, delete b, create c.
        std::fs::write(root.join("a.txt"), "a2\n").unwrap();
        std::fs::remove_file(root.join("b.txt")).unwrap();
        std::fs::write(root.join("c.txt"), "c\n").unwrap();
        g(&["add", "-A"]);
        let patch = String::from_utf8(g(&["diff", "--cached", "--binary", "HEAD"])).unwrap();
        g(&["reset", "-q", "--hard"]);
        std::fs::remove_file(root.join("c.txt")).ok();
        assert_eq!(changed_since(root, &patch).unwrap(), Vec::<String>::new());
        std::fs::write(root.join("a.txt"), "mine\n").unwrap();
        std::fs::write(root.join("c.txt"), "mine\n").unwrap();
        std::fs::remove_file(root.join("b.txt")).unwrap();
        assert_eq!(
            changed_since(root, &patch).unwrap(),
            ["a.txt", "b.txt", "c.txt"]
        );
    }
}
