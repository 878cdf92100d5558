//! `wf run --workspace checkout`: the run works in the repository's own
//! checkout instead of a copy — for a disposable checkout (a CI runner's
//! fresh clone), where every run is a first run and copying the tree
//! would cost what the tree weighs, not what changes.
//!
//! # When wf takes it
//!
//! Only when asked on the command line (`--workspace checkout`), never by
//! a task file or a default, and only where `CI` is set in wf's
//! environment (to anything but empty, `0` or `false`, as every common CI
//! service sets it): on a developer's machine the checkout is their tree,
//! and a run in it would have the model and commands working among their
//! own files. Who really means it on their machine sets `CI=1` for that
//! command. It is refused with `sandbox: off` (the sandbox is what keeps
//! `.git` and `.wf` out of the commands' reach) and for replays and
//! resumes (those rebuild a recorded start in a copy, as always).
//!
//! It needs the sandbox's `full` level (refused, exit 2, at `landlock`):
//! only a mount namespace can keep a path inside the write root read-only.
//! At `landlock` a command's write to `.git` is seen only after the
//! command (the keeper fails it), and what it wrote stays: a hook or a
//! `core.fsmonitor` in `.git/config` would run in the next git command of
//! the CI job, outside any sandbox. wf's own git never runs them, but the
//! job's steps after wf do. (The test `hostile::checkout` found exactly
//! that.) Where namespaces are refused (a Kubernetes pod under
//! `RuntimeDefault`), runs work in a copy.
//!
//! # The start
//!
//! The checkout must be clean as git sees it: no staged or unstaged change
//! to a tracked file and no untracked file that is not ignored (`git
//! status`, with the user's ignore rules; `.wf/` aside). Else the run is
//! refused, naming the first paths: a checkout with changes is not the
//! disposable one this mode is for, and a start that is exactly `HEAD`
//! makes "put the start back" a question git answers exactly. So the
//! start is `HEAD`, the run's `start.patch` is empty (a replay or resume
//! rebuilds it in a copy), and the diff is taken against `HEAD`'s tree.
//! Ignored files present at the start (dependencies an earlier CI step
//! installed, build output) are the runner's: they stay, commands may use
//! them, and they are never part of the change.
//!
//! # What the sandbox keeps
//!
//! The checkout is the workspace, so it is the commands' write root, with
//! its `.git` and `.wf` bound read-only, and everything outside the write roots
//! read-only or out of reach, as for a copy. wf's own bookkeeping lives
//! outside the checkout, in its private directory: its index of the
//! checkout (the user's `.git/index` is never written), the run's temp
//! directory, the lock that keeps a second run out of the same checkout.
//!
//! # The end
//!
//! After checks, what they left is removed as in a copy — untracked files,
//! ignored ones too, except the ignored paths present at the start and
//! `.wf/`. The change stays in the checkout only when the run succeeded
//! and the change was approved (the apply checkpoint, `--yes`, or a task
//! without it): "applying" is then leaving it in place, after wf has
//! checked that the checkout still holds exactly the approved diff (wf's
//! index holds the approved change, and no file it lists changed since it
//! was staged; a file added beside it later is not looked for).
//! `--commit` commits it as usual. Any other end — rejected, paused, a dry
//! run, failed checks, an error, an interruption — puts the checkout back
//! at the start (every tracked file as in `HEAD`, every file the run
//! created gone); a paused run's `wf approve` then applies the recorded
//! diff to that start as for any run.

use super::{Git, Workspace, WorkspaceError, force_remove, io, private_dir};
use crate::hash::sha256_hex;
use std::path::{Path, PathBuf};

/// The checkout-specific state of a [`Workspace`].
#[derive(Debug)]
pub(super) struct Checkout {
    /// wf's own index of the checkout, outside every write root.
    pub(super) index: PathBuf,
    /// Ignored paths present at the start (directories collapsed), as
    /// root-anchored exclude patterns for `git clean`.
    keep: Vec<String>,
    /// The run's change was approved: it stays in the checkout.
    kept: std::cell::Cell<bool>,
    /// The end was dealt with (kept or put back).
    settled: std::cell::Cell<bool>,
    /// The run's own folder in `.wf/runs`, which wf writes as the run goes.
    run_dir: PathBuf,
    /// `.wf/.gitignore` is wf's own `*`: staging never takes `.wf/` in.
    pub(super) wf_ignored: bool,
    /// [`guarded`] at the start.
    guard: Vec<u8>,
    /// The toolchain directories that are links, with where they lead:
    /// put back as they were when the start is (a command could have put a
    /// directory of its own in a link's place, which `git clean` keeps).
    links: Vec<(PathBuf, PathBuf)>,
}

/// What the checkout's `.git` and `.wf` are, but for what wf itself writes
/// during the run (new objects under `.git/objects`, outside
/// `objects/info`; the run's own folder): every entry's path, type, mode,
/// size, inode, change and modification time. The sandbox binds them
/// read-only; this comparison at the end is the second line: a run in
/// whose course they changed anyway keeps no change.
/// `links`: the toolchain directories that are links at the start (see
/// [`Checkout::links`]): a link cannot be bound read-only as a link (a
/// command could put a directory of its own in its place, which `git
/// clean` then keeps), so the link itself is compared.
fn guarded(origin: &Path, run_dir: &Path, links: &[(PathBuf, PathBuf)]) -> Vec<u8> {
    let objects = origin.join(".git/objects");
    let objects_info = objects.join("info");
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = links.iter().map(|(path, _)| path.clone()).collect();
    stack.extend([origin.join(".wf"), origin.join(".git")]);
    while let Some(path) = stack.pop() {
        if path == run_dir || (path.starts_with(&objects) && !path.starts_with(&objects_info)) {
            if path == objects {
                stack.push(objects_info.clone());
            }
            continue;
        }
        out.extend_from_slice(path.as_os_str().as_encoded_bytes());
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            out.extend_from_slice(b"\0gone\0");
            continue;
        };
        crate::sandbox::stat_record(&mut out, &meta);
        if meta.is_dir() {
            let mut children: Vec<PathBuf> = std::fs::read_dir(&path)
                .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            children.sort();
            stack.extend(children.into_iter().rev());
        }
    }
    out
}

/// Whether `CI` is set as CI services set it.
pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| !matches!(v.trim().to_ascii_lowercase().as_str(), "" | "0" | "false"))
        .unwrap_or(false)
}

/// `path` as a `git clean -e` pattern matching exactly it, from the root.
fn anchored(path: &str) -> String {
    let mut out = String::from("/");
    for c in path.chars() {
        if matches!(c, '\\' | '*' | '?' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    if out.ends_with(' ') {
        out.insert(out.len() - 1, '\\');
    }
    out
}

impl Workspace {
    /// The checkout at `origin` as the run's workspace (see the module
    /// documentation); `head` is its commit and tree.
    pub fn checkout(
        origin: &Path,
        head: Option<&(String, String)>,
        run_dir: &Path,
    ) -> Result<Workspace, WorkspaceError> {
        let refuse = |why: String| WorkspaceError::Io {
            context: "--workspace checkout".into(),
            source: std::io::Error::other(why),
        };
        if !super::is_git(origin) || !origin.join(".git").is_dir() {
            return Err(refuse(format!(
                "{} is not the top of a git checkout with its own .git directory",
                origin.display()
            )));
        }
        let Some((_, tree)) = head else {
            return Err(refuse(
                "the checkout has no commit; the start of a run in a checkout is HEAD".into(),
            ));
        };
        let key = sha256_hex(origin.to_string_lossy().as_bytes());
        let base = super::private_root()?.join(format!("wf-co-{}", &key[..12]));
        let lock = match crate::sys::lock::take(&super::lock_path(&base))
            .map_err(io("cannot lock the checkout"))?
        {
            crate::sys::lock::Taken::Yes(lock) => lock,
            crate::sys::lock::Taken::HeldBy(pid) => {
                return Err(refuse(format!(
                    "another wf run (pid {pid}) works in this checkout; one run at a time"
                )));
            }
        };
        // One walk of the tree: what is not clean, and what is ignored.
        let status = Git::user(origin)
            .args([
                "status",
                "--porcelain=v1",
                "-z",
                "--no-renames",
                "--untracked-files=normal",
                "--ignored=traditional",
            ])
            .output()?;
        let mut dirty = Vec::new();
        let mut keep = vec!["/.wf/".to_string()];
        for entry in status.split(|b| *b == 0).filter(|e| e.len() > 3) {
            let path = String::from_utf8_lossy(&entry[3..]).into_owned();
            if path == ".wf/" || path.starts_with(".wf/") {
                continue;
            }
            if entry.starts_with(b"!! ") {
                keep.push(anchored(&path));
            } else {
                dirty.push(path);
            }
        }
        if !dirty.is_empty() {
            let shown: Vec<&str> = dirty.iter().take(5).map(String::as_str).collect();
            return Err(refuse(format!(
                "the checkout has changes git sees ({}{}); a run in the checkout starts from a clean HEAD — commit or remove them, or run without --workspace checkout",
                shown.join(", "),
                if dirty.len() > 5 {
                    format!(" and {} more", dirty.len() - 5)
                } else {
                    String::new()
                }
            )));
        }
        let tmp = base.with_extension("tmp");
        force_remove(&tmp)?;
        private_dir(&tmp)?;
        // wf's index starts as a copy of the checkout's own (its stat data
        // spares re-reading every file when the run's change is staged),
        // with its mtime, so git's racy-entry rule works on it as on the
        // original; without one, read from HEAD.
        let index = base.with_extension("index");
        let _ = std::fs::remove_file(&index);
        let user_index = origin.join(".git/index");
        let copied = std::fs::copy(&user_index, &index).is_ok()
            && std::fs::metadata(&user_index)
                .and_then(|m| m.modified())
                .and_then(|t| {
                    std::fs::File::options()
                        .write(true)
                        .open(&index)?
                        .set_modified(t)
                })
                .is_ok();
        if !copied {
            let _ = std::fs::remove_file(&index);
            Git::private(origin)
                .args(["read-tree", tree.as_str()])
                .index(&index)
                .output()?;
        }
        let files = super::index_entries(&index).unwrap_or(0);
        let tool_dirs = || super::TOOL_DIRS.iter().map(|name| origin.join(name));
        let links: Vec<(PathBuf, PathBuf)> = tool_dirs()
            .filter_map(|p| {
                let target = std::fs::read_link(&p).ok()?;
                Some((p, target))
            })
            .collect();
        let guard = guarded(origin, run_dir, &links);
        let ws = Workspace {
            dir: origin.to_path_buf(),
            origin: origin.to_path_buf(),
            base_tree: tree.clone(),
            files,
            reused: false,
            // The checkout holds its submodules as the user left them.
            submodules: Vec::new(),
            env: vec![
                ("TMPDIR".to_string(), tmp.to_string_lossy().into_owned()),
                // A `git status` in a check refreshes no index: the
                // checkout's `.git` is read-only.
                ("GIT_OPTIONAL_LOCKS".to_string(), "0".to_string()),
            ],
            tmp,
            sandbox_read: Vec::new(),
            sandbox_write: Vec::new(),
            // `.wf`, and the checkout's ignored toolchain directories,
            // read-only as they are in a copy: a command must not leave a
            // program there (`.venv/bin/python`, `node_modules/.bin/jest`)
            // that the job's next step would run after a failed or
            // rejected run, when `git clean`'s exclusions keep them.
            sandbox_read_only: std::iter::once(origin.join(".wf"))
                .chain(tool_dirs().filter(|p| p.symlink_metadata().is_ok_and(|m| m.is_dir())))
                .collect(),
            start_patch: Some(String::new()),
            // The checkout's own ignored toolchain directories are in
            // place: nothing to link, no path to remap.
            tools: Vec::new(),
            python_paths: Vec::new(),
            build_cache: None,
            package_cache: None,
            checkout: Some(Checkout {
                index,
                keep,
                kept: std::cell::Cell::new(false),
                settled: std::cell::Cell::new(false),
                run_dir: run_dir.to_path_buf(),
                wf_ignored: std::fs::read_to_string(origin.join(".wf/.gitignore")).is_ok_and(|t| {
                    t.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .eq(["*"])
                }),
                guard,
                links,
            }),
            _slot: lock,
        };
        Ok(ws)
    }

    /// Whether the workspace is the checkout itself.
    pub fn is_checkout(&self) -> bool {
        self.checkout.is_some()
    }

    /// git in the workspace, with wf's index of the checkout in checkout
    /// mode. In a copy, git's directory and work tree are given (which
    /// wins over a `core.worktree` in its config), and none is started once
    /// a command changed the copy's `.git` ([`WorkspaceError::Tampered`]).
    pub(super) fn git_cmd(&self) -> Result<Git, WorkspaceError> {
        self.pinned(Git::private(&self.dir))
    }

    /// git in the workspace with the user's configuration (their ignore
    /// rules), else as [`Workspace::git_cmd`].
    pub(super) fn user_git_cmd(&self) -> Result<Git, WorkspaceError> {
        self.pinned(Git::user(&self.dir))
    }

    fn pinned(&self, mut git: Git) -> Result<Git, WorkspaceError> {
        match &self.checkout {
            Some(c) => {
                git.index(&c.index);
            }
            None => {
                if self.distrust_mark().exists() {
                    return Err(WorkspaceError::Tampered);
                }
                super::pin_slot(&mut git, &self.dir);
            }
        }
        Ok(git)
    }

    /// The `git clean` exclusions of checkout mode: `.wf/` and the ignored
    /// paths of the start.
    pub(super) fn clean_excludes(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(c) = &self.checkout {
            for pattern in &c.keep {
                out.push("-e".to_string());
                out.push(pattern.clone());
            }
        }
        out
    }

    /// Checkout mode, at the end of an approved run: the change stays in
    /// the checkout, if the checkout holds exactly the approved diff
    /// (`approved`, its hash), which is checked here; else an error, and
    /// the start is put back when the workspace settles.
    pub fn keep_change(&self, approved: &str) -> Result<(), WorkspaceError> {
        let Some(c) = &self.checkout else {
            return Ok(());
        };
        if guarded(&self.origin, &c.run_dir, &c.links) != c.guard {
            return Err(WorkspaceError::Unsafe(
                "a command of the run changed the checkout's .git, .wf or a toolchain link, which it may only read; the change is not kept and the checkout's files are put back at the start (what the command wrote there stays: this checkout is not to be trusted further)".into(),
            ));
        }
        // The change as staged when it was shown (wf's index, which only
        // wf writes) must be the approved one, and no file of it may have
        // changed since it was staged: `diff-files` compares each entry's
        // stat data with the file (an `lstat` a file, no walk of what is
        // untracked, no content read).
        let staged = super::diff_hash(&self.staged_diff()?);
        let touched = self.run_git(&["diff-files", "--name-only", "-z"])?;
        if staged != approved || !touched.is_empty() {
            let touched = super::name_list(&touched);
            return Err(WorkspaceError::Unsafe(format!(
                "the checkout changed after the change was approved (approved diff {approved}{}); it is put back at the start",
                if touched.is_empty() {
                    format!(", staged {staged}")
                } else {
                    format!(", changed since: {}", touched.join(", "))
                }
            )));
        }
        c.kept.set(true);
        Ok(())
    }

    /// Checkout mode: ends the run's use of the checkout — the approved
    /// change stays ([`Workspace::keep_change`]), else the start is put
    /// back. `untouched`: nothing that could write ran (nothing to do);
    /// `at_start`: the index holds the start as the tree is now (only
    /// what git ignores may be left over). Once; also called, knowing
    /// nothing, when the workspace is dropped.
    pub fn settle(&self, untouched: bool, at_start: bool) -> Result<(), WorkspaceError> {
        let Some(c) = &self.checkout else {
            return Ok(());
        };
        if c.settled.replace(true) || c.kept.get() || untouched {
            return Ok(());
        }
        for (path, target) in &c.links {
            if std::fs::read_link(path).ok().as_ref() != Some(target) {
                match std::fs::symlink_metadata(path) {
                    Ok(m) if m.is_dir() => super::force_remove(path)?,
                    Ok(_) => std::fs::remove_file(path)
                        .map_err(super::io(format!("cannot remove {}", path.display())))?,
                    Err(_) => {}
                }
                std::os::unix::fs::symlink(target, path)
                    .map_err(super::io(format!("cannot put back {}", path.display())))?;
            }
        }
        if at_start {
            self.git_cmd()?
                .args(["clean", "-ffdxq", "-e", "/node_modules"])
                .args(self.clean_excludes())
                .output()?;
            return Ok(());
        }
        self.reset_to(&self.base_tree)
    }

    /// Removes wf's files of the checkout (after [`Workspace::settle`]).
    pub(super) fn drop_checkout(&mut self) {
        if let Some(c) = &self.checkout {
            if let Err(e) = self.settle(false, false) {
                eprintln!(
                    "wf: cannot put the checkout back at the run's start ({e}); `git checkout -f HEAD && git clean -fd` does"
                );
            }
            let _ = std::fs::remove_file(&c.index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits until the checkout lock of `origin` is free.
    fn released(origin: &Path) {
        let key = sha256_hex(origin.to_string_lossy().as_bytes());
        let base = super::super::private_root()
            .unwrap()
            .join(format!("wf-co-{}", &key[..12]));
        crate::workspace::tests::released(&super::super::lock_path(&base));
    }

    fn git(dir: &Path, args: &[&str]) {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn a_change_is_kept_only_while_the_checkout_holds_exactly_the_approved_diff() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git(d, &["init", "-q"]);
        std::fs::write(d.join(".gitignore"), ".wf/\nbuild/\n").unwrap();
        std::fs::write(d.join("a.txt"), "start\n").unwrap();
        git(d, &["add", "-A"]);
        git(
            d,
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@e",
                "commit",
                "-qm",
                "s",
            ],
        );
        std::fs::create_dir_all(d.join("build")).unwrap();
        std::fs::write(d.join("build/kept.o"), "runner's\n").unwrap();
        let run_dir = d.join(".wf/runs/r");
        std::fs::create_dir_all(&run_dir).unwrap();
        let head = crate::sys::git::head(d);
        let ws = Workspace::checkout(d, head.as_ref(), &run_dir).unwrap();
        assert_eq!(ws.dir, d);

        // The model's change, staged and hashed as the engine does.
        std::fs::write(d.join("a.txt"), "changed\n").unwrap();
        std::fs::write(d.join("new.txt"), "new\n").unwrap();
        let approved = super::super::diff_hash(&ws.diff().unwrap());
        // Changed after the approval: refused, and the start comes back.
        std::fs::write(d.join("new.txt"), "swapped after approval\n").unwrap();
        let refused = ws.keep_change(&approved).unwrap_err().to_string();
        assert!(refused.contains("changed since: new.txt"), "{refused}");
        // Another hash than the staged change's: refused too.
        std::fs::write(d.join("new.txt"), "new\n").unwrap();
        let _ = ws.diff().unwrap();
        assert!(ws.keep_change(&"0".repeat(64)).is_err());
        ws.settle(false, false).unwrap();
        assert_eq!(std::fs::read_to_string(d.join("a.txt")).unwrap(), "start\n");
        assert!(!d.join("new.txt").exists());
        assert_eq!(
            std::fs::read_to_string(d.join("build/kept.o")).unwrap(),
            "runner's\n",
            "an ignored file of the start stays"
        );
        drop(ws);
        released(d);

        // Unchanged since: kept, and it stays after the workspace is gone.
        let ws = Workspace::checkout(d, head.as_ref(), &run_dir).unwrap();
        std::fs::write(d.join("a.txt"), "changed\n").unwrap();
        let approved = super::super::diff_hash(&ws.diff().unwrap());
        ws.keep_change(&approved).unwrap();
        ws.settle(false, false).unwrap();
        drop(ws);
        assert_eq!(
            std::fs::read_to_string(d.join("a.txt")).unwrap(),
            "changed\n"
        );
    }

    #[test]
    fn anchored_patterns_match_only_the_path() {
        assert_eq!(anchored("node_modules/"), "/node_modules/");
        assert_eq!(anchored("a*b?[c].txt"), "/a\\*b\\?\\[c\\].txt");
        assert_eq!(anchored("trail "), "/trail\\ ");
    }
}
