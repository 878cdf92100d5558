//! The isolated workspace a run works in, the diff it produces, and
//! applying that diff to the user's tree.
//!
//! # The copy
//!
//! A workspace is a directory under the system temp dir holding the
//! repository as the user has it at the run's start: every tracked file and
//! every untracked file that is not ignored (what `git status` shows them),
//! uncommitted changes included. `.git/` and `.wf/` are never part of it.
//! Ignored files (build output, `.env` files, secrets) are not either: the
//! model cannot read what the user's ignore rules keep out. wf works in git
//! repositories only.
//!
//! # A slot kept from run to run
//!
//! Copying a large tree for every run would cost what the tree costs, not
//! what changed. So the workspace of a repository is a *slot*
//! (`$TMPDIR/wf-<uid>/wf-ws-<hash of the repository path>-<n>`, in wf's
//! private directory, see [`private_root`]) kept between runs, with its own git directory, and each run brings it to its own
//! starting state by touching only what differs, with git's stat cache
//! doing the comparing:
//!
//! 1. The user's tree is staged into a private index of wf's kept next to
//!    the slot (never the user's own index): `read-tree -m HEAD` keeps the
//!    stat data of unchanged entries, `add -A` re-reads only files whose
//!    stat data changed, `write-tree` names the starting state, and its
//!    diff against `HEAD` is the run's `start.patch`.
//! 2. In the slot, `git clean -ffdx` removes every file that is not in the
//!    slot's index (what the last run's commands left, ignored build output
//!    included, and a directory a command turned into a git repository of
//!    its own, which a single `-f` would keep), and `read-tree --reset -u <start>` rewrites every file whose
//!    content, mode or stat data differs from the start and deletes the
//!    ones the start lacks. A write to a file always changes its ctime,
//!    which no program can set back, so a file the model or a command of an
//!    earlier run changed is always rewritten.
//!
//! The first run of a slot checks out every file; later runs cost what
//! changed since. Concurrent runs of one repository take different slots
//! (each slot is held by an advisory lock while a run uses it). A slot
//! whose last run let commands run unconfined (`sandbox: off`), whose
//! `.git` file a confined command changed (at the level without
//! namespaces, found after the command: see [`Workspace::distrust_mark`]),
//! or that cannot be brought up to date, is made anew: confined commands
//! only read the slot's git directory, which lies beside the work tree
//! (`git_dir`), unconfined ones could have changed it. What is
//! kept besides file contents: modification times of unchanged files (build
//! tools rely on them) and directory permissions. Slots stay in the temp dir
//! after the run; `wf gc` ([`gc`]) removes those no run used for a while.
//! The slot has an object store of its own holding only what the start
//! reaches (`objects`). The run's change is `git diff --binary` against
//! the start's tree, which `git apply` takes back in the user's tree.
//! wf's git calls ignore the user's
//! and the system's git config so that settings such as `diff.noprefix`
//! cannot change the patch, and no attributes apply: wf works on the bytes
//! in the tree (clean/smudge filters such as Git LFS are not run: in a
//! repository with LFS files, the start patch holds their contents).
//!
//! # Privacy
//!
//! The workspace and the run's temp directory ([`Workspace::tmp`], the
//! `TMPDIR` of every command the run starts) are created `0700`: other
//! users of a shared `/tmp` cannot read the copy of the repository.
//!
//! # Where the rest is
//!
//! - `stage`: staging the user's tree into wf's private index, which
//!   names a run's start;
//! - `objects`: the slot's own object store, holding only what the
//!   start reaches;
//! - `change`: the run's change — staging the copy, its diff and sizes
//!   (large changes), snapshots, and applying and committing it in the
//!   user's tree;
//! - `caches`: the task's build and package caches and when they are
//!   kept;
//! - `tools`: the project where it expects itself — toolchain links,
//!   ignored lockfiles, editable installs;
//! - [`gc`]: removing slots and caches no run used for a while.
//!
//! # The checkout itself
//!
//! In a disposable CI checkout, `wf run --workspace checkout` makes the
//! checkout the workspace: no copy, a start that is `HEAD`, the approved
//! change left in place, any other end putting the start back — see
//! [`checkout`] for when wf takes it and what it keeps.
//!

use crate::hash::sha256_hex;
use crate::sys::git::{EMPTY_TREE, Git, GitError};
use crate::sys::lock::FileLock;
use std::path::{Path, PathBuf};

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
    /// A command of the run changed the copy's `.git` file, which it may
    /// only read. At the sandbox's level without namespaces that is found
    /// after the command (which is failed), and what it wrote stays. wf's
    /// own git never follows that file (it names the git directory, which
    /// no command can write), but a copy a command tampered with is not
    /// trusted further: wf runs no git in it again, the run ends, and the
    /// next run of the slot starts from a new copy (see
    /// [`Workspace::distrust_mark`]).
    #[error(
        "a command of the run changed the workspace's .git, which it may only read; wf runs no git in it again, so the run ends here with nothing applied (the next run starts from a new copy)"
    )]
    Tampered,
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> WorkspaceError {
    let context = context.into();
    move |source| WorkspaceError::Io { context, source }
}

/// The submodules of the start that the user has checked out (a `.git` in
/// their directory in the user's tree) and the workspace holds only as
/// empty directories: the gitlinks of the slot's index among the paths
/// the start's `.gitmodules` names. The workspace is the superproject's
/// files; a submodule's are another repository's, which the run's change
/// (a patch of the superproject) could not carry, so they are left out and
/// the run says so (`workspace_ready`, and its line in the progress), for
/// a check that needs them fails for that reason. Nothing is read when the
/// start has no `.gitmodules`.
fn submodules_left_out(origin: &Path, dir: &Path) -> Vec<String> {
    if !dir.join(".gitmodules").is_file() {
        return Vec::new();
    }
    let Ok(listed) = slot_git(dir)
        .args(["config", "--file", ".gitmodules", "-z", "--get-regexp"])
        .arg(r"^submodule\..*\.path$")
        .output()
    else {
        return Vec::new();
    };
    // `-z`: each entry is `key\nvalue\0`.
    let paths: Vec<String> = listed
        .split(|&b| b == 0)
        .filter_map(|entry| {
            let entry = String::from_utf8_lossy(entry);
            let (_, path) = entry.split_once('\n')?;
            Some(path.to_string())
        })
        // `.gitmodules` is the repository's text: a path that leaves the
        // tree (`../x`, `/etc`) would make `ls-files` refuse the whole
        // list, hiding the others; no gitlink has one.
        .filter(|p| {
            !p.is_empty()
                && !p.starts_with('/')
                && !p.split('/').any(|part| part == ".." || part == ".git")
        })
        .collect();
    if paths.is_empty() {
        return Vec::new();
    }
    // Only what the start really has as a gitlink, named as its index does.
    let Ok(staged) = slot_git(dir)
        .env("GIT_LITERAL_PATHSPECS", "1")
        .args(["ls-files", "--stage", "-z", "--"])
        .args(&paths)
        .output()
    else {
        return Vec::new();
    };
    let mut out: Vec<String> = staged
        .split(|&b| b == 0)
        .filter_map(|entry| {
            let entry = String::from_utf8_lossy(entry);
            let (meta, path) = entry.split_once('\t')?;
            meta.starts_with("160000 ").then(|| path.to_string())
        })
        .filter(|path| origin.join(path).join(".git").exists())
        .collect();
    out.sort();
    out.dedup();
    out
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
    /// Files in the workspace.
    pub files: usize,
    /// The slot was kept from an earlier run and brought to this start by
    /// rewriting only what differs; `false`: every file was copied.
    pub reused: bool,
    /// Submodules checked out in the user's tree whose files the workspace
    /// does not hold (`submodules_left_out`), sorted.
    pub submodules: Vec<String>,
    /// Extra environment for checks and `shell` (build-cache sharing, and
    /// `TMPDIR` set to [`Workspace::tmp`]).
    pub env: Vec<(String, String)>,
    /// The run's private temp directory, next to the workspace (removed
    /// with it).
    pub tmp: PathBuf,
    /// Directories outside the workspace that commands may read.
    pub sandbox_read: Vec<PathBuf>,
    /// The user's toolchain directories the workspace links to (see
    /// "The project where it expects itself"), read-only for commands.
    pub tools: Vec<ToolLink>,
    /// The workspace's directories that the editable installs of a
    /// linked virtual environment point at in the user's tree (`src/` of a
    /// src layout): where the workspace cannot be shown at the
    /// repository's path, commands get them first on `PYTHONPATH`.
    pub python_paths: Vec<PathBuf>,
    /// Directories outside the workspace that commands may write (wf's own
    /// build caches).
    pub sandbox_write: Vec<PathBuf>,
    /// Paths inside the workspace that commands may only read, besides its
    /// `.git` (a checkout's `.wf`).
    pub sandbox_read_only: Vec<PathBuf>,
    /// For a workspace of the current tree: its uncommitted state (tracked
    /// changes and untracked, non-ignored files) as a patch against the
    /// commit it is on, or against nothing before the first commit; what a
    /// run records as `start.patch` so that replay and resume can rebuild
    /// the start.
    pub start_patch: Option<String>,
    /// The task's Cargo target directory, when [`Workspace::use_task_cache`]
    /// gave the run one.
    build_cache: Option<BuildCache>,
    /// The task's package cache, when [`Workspace::use_package_caches`]
    /// gave the run one.
    package_cache: Option<BuildCache>,
    /// Checkout mode ([`checkout`]): the workspace is the repository's own
    /// checkout.
    checkout: Option<checkout::Checkout>,
    /// Held while the workspace lives: its slot (or checkout) is ours.
    _slot: FileLock,
}

/// The paths of a workspace slot: the copy itself and wf's files next to
/// it, outside the copy, where no command of a run can write.
#[derive(Debug, Clone)]
struct Slot {
    /// The copy: `$TMPDIR/wf-<uid>/wf-ws-<hash of the repository path>-<n>`.
    dir: PathBuf,
    /// The run's temp directory (`<dir>.tmp`), emptied for every run.
    tmp: PathBuf,
    /// The private index of the user's tree (`<dir>.origin-index`): its
    /// stat data makes the next run's staging re-read only changed files.
    origin_index: PathBuf,
    /// The commit that index was last read from (`<dir>.origin-head`).
    origin_head: PathBuf,
    /// Present when a run of this slot let commands run unconfined
    /// (`sandbox: off`): they could have changed the copy's own `.git`, so
    /// the next run starts from a new copy.
    unconfined: PathBuf,
    /// Present when a confined command changed the copy's `.git` (made by
    /// the sandbox's keeper, see [`Workspace::distrust_mark`]): the run
    /// that did stops using it, and the next one starts from a new copy.
    tampered: PathBuf,
    /// Where the workspace's links to the user's toolchain directories
    /// lead (`<dir>.links/<name>`, see [`link_tools`]).
    links: PathBuf,
}

impl Slot {
    fn new(dir: PathBuf) -> Slot {
        Slot {
            tmp: dir.with_extension("tmp"),
            origin_index: dir.with_extension("origin-index"),
            origin_head: dir.with_extension("origin-head"),
            unconfined: dir.with_extension("unconfined"),
            tampered: dir.with_extension("tampered"),
            links: dir.with_extension("links"),
            dir,
        }
    }
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

/// git with the user's configuration shut out.
pub fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, WorkspaceError> {
    Ok(Git::private(dir).args(args).output()?)
}

/// Where the git directory of the slot whose work tree is `dir` lives:
/// beside it (`<dir>.git`), not in it. The work tree's `.git` is a git
/// file naming it, so git in a check finds it; commands may read it and
/// never write it, at both sandbox levels (it lies outside the write
/// roots: at the level without namespaces Landlock cannot make a path
/// inside a write root read-only). So nothing a command or an MCP server
/// writes can become configuration, attributes or objects that wf's own
/// git reads.
pub(super) fn git_dir(dir: &Path) -> PathBuf {
    dir.with_extension("git")
}

/// git in the slot whose work tree is `dir`: its git directory and work
/// tree named (never found through the work tree's `.git` file, which a
/// command at the level without namespaces could rewrite).
pub(super) fn slot_git(dir: &Path) -> Git {
    let mut git = Git::private(dir);
    pin_slot(&mut git, dir);
    git
}

/// Names the git directory and work tree of the slot `dir` on `git`.
pub(super) fn pin_slot(git: &mut Git, dir: &Path) {
    git.env("GIT_DIR", git_dir(dir)).env("GIT_WORK_TREE", dir);
}

use crate::sys::git::is_git;

/// Removes `dir` and everything in it, also where a command of a run took
/// away its own write or search permission on a directory.
fn force_remove(dir: &Path) -> Result<(), WorkspaceError> {
    if dir.symlink_metadata().is_err() || std::fs::remove_dir_all(dir).is_ok() {
        return Ok(());
    }
    fn open_up(dir: &Path) {
        // Never through a link: a process still running could have put
        // one where a directory was.
        let _ = chmod_nofollow(dir, 0o700);
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    open_up(&entry.path());
                }
            }
        }
    }
    open_up(dir);
    std::fs::remove_dir_all(dir).map_err(io(format!("cannot clear {}", dir.display())))
}

impl Workspace {
    /// A workspace holding the user's tree at `origin` as it is now.
    pub fn create(origin: &Path, _run_id: &str) -> Result<Workspace, WorkspaceError> {
        Workspace::create_from(origin, &Source::Current)
    }

    /// A workspace holding `source`: the user's tree as it is now, or a
    /// recorded starting state (a commit plus the uncommitted changes of
    /// that moment) for replay and resume. See the module documentation:
    /// the workspace is a slot kept from run to run and brought to the new
    /// starting state by changing only the files that differ.
    pub fn create_from(origin: &Path, source: &Source) -> Result<Workspace, WorkspaceError> {
        let head = match source {
            Source::Current => crate::sys::git::head(origin),
            Source::Snapshot { .. } => None,
        };
        Workspace::build(origin, source, head.as_ref(), &[])
    }

    /// A workspace of the user's tree as it is now, on top of `head` (the
    /// commit the tree is on and its tree, as [`crate::sys::git::head`]
    /// gives them, already known to the caller), with its
    /// [`Workspace::start_patch`].
    /// `named`: the files the task's context names literally, part of the
    /// start even when git ignores them.
    pub fn create_current(
        origin: &Path,
        head: Option<&(String, String)>,
        named: &[String],
    ) -> Result<Workspace, WorkspaceError> {
        Workspace::build(origin, &Source::Current, head, named)
    }

    fn build(
        origin: &Path,
        source: &Source,
        head: Option<&(String, String)>,
        named: &[String],
    ) -> Result<Workspace, WorkspaceError> {
        if !is_git(origin) {
            return Err(WorkspaceError::Io {
                context: format!("{} is not a git repository", origin.display()),
                source: std::io::Error::other("wf works in a git repository"),
            });
        }
        let (slot, lock) = claim_slot(origin)?;
        force_remove(&slot.tmp)?;
        private_dir(&slot.tmp)?;
        let mut ws = Workspace {
            dir: slot.dir.clone(),
            origin: origin.to_path_buf(),
            base_tree: String::new(),
            files: 0,
            reused: false,
            submodules: Vec::new(),
            start_patch: None,
            env: Vec::new(),
            tmp: slot.tmp.clone(),
            // The slot's git directory, beside its work tree (see
            // `git_dir`): readable, never writable. It has its own object
            // store (see `sync_objects`): nothing of the user's `.git` is
            // readable by a command.
            sandbox_read: vec![git_dir(&slot.dir)],
            sandbox_write: Vec::new(),
            tools: Vec::new(),
            python_paths: Vec::new(),
            build_cache: None,
            package_cache: None,
            sandbox_read_only: Vec::new(),
            checkout: None,
            _slot: lock,
        };
        let git_dir = git_dir(&slot.dir);
        // A slot of the layout before the git directory moved beside the
        // work tree (a `.git` directory) is made anew.
        let reusable = git_dir.join("HEAD").is_file()
            && slot.dir.join(".git").is_file()
            && !slot.unconfined.exists()
            && !slot.tampered.exists();
        // A git killed mid-write leaves its lock behind; the slot is ours.
        let _ = std::fs::remove_file(git_dir.join("index.lock"));
        // The state to reach: for the current tree, staged from the user's
        // tree (once, whatever happens to the slot below). Meanwhile, on the
        // other core, a kept slot drops what the last run left that is not
        // in its index (`git clean` reads only the slot).
        let (target, cleaned) = std::thread::scope(|scope| {
            let clean = reusable
                .then(|| scope.spawn(|| slot_git(&slot.dir).args(["clean", "-ffdxq"]).output()));
            let target = match source {
                Source::Current => stage_origin(origin, head, &slot, named).map(|(tree, patch)| {
                    ws.start_patch = Some(patch);
                    Some(tree)
                }),
                Source::Snapshot { patch, .. } => match patch {
                    Some(patch) => check_snapshot_patch(patch).map(|()| None),
                    None => Ok(None),
                },
            };
            let cleaned = clean.is_some_and(|c| c.join().is_ok_and(|r| r.is_ok()));
            (target, cleaned)
        });
        let target = target?;
        ws.reused = cleaned
            && ws
                .fill(&slot, head, source, target.as_deref(), false)
                .is_ok();
        if !ws.reused {
            // A new slot, one that unconfined commands may have touched, or
            // one that cannot be brought to the new state (a command took
            // away permissions, a crash left it half-written): a new copy.
            force_remove(&slot.dir)?;
            force_remove(&git_dir)?;
            let _ = std::fs::remove_file(&slot.unconfined);
            let _ = std::fs::remove_file(&slot.tampered);
            ws.fill(&slot, head, source, target.as_deref(), true)?;
        }
        ws.files = index_entries(&git_dir.join("index")).unwrap_or(0);
        ws.submodules = submodules_left_out(origin, &slot.dir);
        share_build_caches(origin, &mut ws)?;
        ws.env
            .push(("TMPDIR".to_string(), ws.tmp.to_string_lossy().into_owned()));
        Ok(ws)
    }

    /// Brings the slot to the starting state: `target` (a tree the user's
    /// repository holds) for the current tree on `head`, else the
    /// snapshot's commit plus its patch. `fresh`: the slot directory is
    /// new; else it was cleaned (`git clean -ffdx`) already. The slot's
    /// own object store gets what the start reaches first
    /// ([`sync_objects`]), and its `HEAD` is the start commit.
    fn fill(
        &mut self,
        slot: &Slot,
        head: Option<&(String, String)>,
        source: &Source,
        target: Option<&str>,
        fresh: bool,
    ) -> Result<(), WorkspaceError> {
        let dir = &slot.dir;
        if fresh {
            private_dir(dir)?;
            // No template: nothing to copy (hooks samples), and no hooks
            // run. The git directory beside the work tree, named by the
            // `.git` file git writes there (see `git_dir`).
            Git::private(dir)
                .args(["init", "-q", "--template=", "--separate-git-dir"])
                .arg(git_dir(dir))
                .arg(dir)
                .output()?;
        }
        let (commit, start) = match (source, target) {
            (Source::Current, Some(tree)) => (head.map(|(commit, _)| commit.as_str()), tree),
            (Source::Snapshot { revision, .. }, _) => {
                let revision = revision.as_deref();
                (revision, revision.unwrap_or(EMPTY_TREE))
            }
            (Source::Current, None) => unreachable!("the current tree is staged first"),
        };
        // The uncommitted part of the start, if any.
        let tree = match source {
            Source::Current => {
                Some(start).filter(|&t| head.map(|(_, tree)| tree.as_str()) != Some(t))
            }
            Source::Snapshot { .. } => None,
        };
        sync_objects(&self.origin, dir, commit, tree)?;
        set_head(dir, commit)?;
        slot_git(dir)
            .args(["read-tree", "--reset", "-u", start])
            .output()?;
        match source {
            Source::Current => self.base_tree = start.to_string(),
            Source::Snapshot { patch, .. } => {
                if let Some(patch) = patch
                    && std::fs::metadata(patch).is_ok_and(|m| m.len() > 0)
                {
                    // Checked by `check_snapshot_patch` before, and git's
                    // own check is left on.
                    let ceiling = dir.parent().unwrap_or(dir);
                    slot_git(dir)
                        .args(["apply", "--index", "--whitespace=nowarn"])
                        .arg(patch)
                        .env("GIT_CEILING_DIRECTORIES", ceiling)
                        .output()?;
                }
                // A tree id, as a live run records it (also for a commit).
                self.base_tree = slot_git(dir).args(["write-tree"]).text()?;
            }
        }
        Ok(())
    }

    /// Puts the copy at `tree`, changing only what differs: files left by
    /// commands that are not in the index go (ignored ones too, but the
    /// shared `node_modules` link; at the start of a run the link goes too
    /// and is made again, since a command of an earlier run could have put
    /// a directory of its own in its place), then `read-tree
    /// --reset -u` rewrites every file whose content, mode or stat data
    /// differs from `tree` and deletes the ones `tree` lacks. Any write to a
    /// file changes its ctime, which no command can set back, so a changed
    /// file is always seen.
    fn reset_to(&self, tree: &str) -> Result<(), WorkspaceError> {
        let mut args: Vec<String> = vec!["clean".into(), "-ffdxq".into()];
        for tool in &self.tools {
            args.push("-e".into());
            args.push(format!("/{}", tool.name));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.git_cmd()?
            .args(&args)
            .args(self.clean_excludes())
            .output()?;
        self.run_git(&["read-tree", "--reset", "-u", tree])?;
        self.relink_tools()
    }

    /// git in the workspace (see [`Workspace::git_cmd`]).
    fn run_git(&self, args: &[&str]) -> Result<Vec<u8>, WorkspaceError> {
        Ok(self.git_cmd()?.args(args).output()?)
    }
}

impl Drop for Workspace {
    /// The run's temp directory goes; the copy stays for the next run of
    /// this repository, which brings it to its own starting state.
    fn drop(&mut self) {
        self.drop_checkout();
        let _ = force_remove(&self.tmp);
    }
}

impl Workspace {
    /// Says that commands of this run will run unconfined (`sandbox: off`)
    /// in the copy: they could change its `.git`, which confined commands
    /// only see read-only, so the next run of this slot starts from a new
    /// copy instead of trusting it.
    pub fn mark_unconfined(&self) -> Result<(), WorkspaceError> {
        std::fs::write(Slot::new(self.dir.clone()).unconfined, b"")
            .map_err(io("cannot mark the workspace"))
    }

    /// The copy's git directory, beside its work tree (its `.git` is a
    /// file naming it): readable by commands, never writable.
    pub fn git_dir(&self) -> PathBuf {
        match &self.checkout {
            Some(_) => self.dir.join(".git"),
            None => git_dir(&self.dir),
        }
    }

    /// The file the sandbox's keeper makes when a confined command changed
    /// a read-only path of the copy (its `.git` file) at the level without
    /// namespaces, where it cannot be mounted read-only and the command's
    /// writes stay. Once it exists, wf runs no git in the copy
    /// ([`WorkspaceError::Tampered`]), and the next run of the slot starts
    /// from a new copy.
    pub fn distrust_mark(&self) -> PathBuf {
        Slot::new(self.dir.clone()).tampered
    }
}

/// A recorded start patch is untrusted input (a run folder can be edited):
/// every path it names must stay inside the repository.
fn check_snapshot_patch(patch: &Path) -> Result<(), WorkspaceError> {
    if std::fs::metadata(patch).is_ok_and(|m| m.len() == 0) {
        return Ok(());
    }
    let text = std::fs::read(patch).map_err(io(format!("cannot read {}", patch.display())))?;
    check_patch_paths(&String::from_utf8_lossy(&text))
        .map_err(|why| WorkspaceError::Unsafe(format!("{}: {why}", patch.display())))
}

/// wf's own directory in the temp dir, `$TMPDIR/wf-<uid>`, which holds
/// every workspace slot, its lock and index files, and the build caches.
/// Slot paths are predictable (a hash of the repository's path), so in a
/// temp dir shared with other users each of them could be planted in
/// advance — a directory of theirs that wf would fill with a copy of the
/// repository. One private parent closes that: it is created `0700`, and
/// used only when it is a real directory (not a link), owned by this user
/// and closed to everyone else; anything else is refused, naming it.
pub fn private_root() -> Result<PathBuf, WorkspaceError> {
    private_root_in(&std::env::temp_dir())
}

/// [`private_root`] in the temp dir `tmp`.
fn private_root_in(tmp: &Path) -> Result<PathBuf, WorkspaceError> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    // SAFETY: getuid cannot fail and touches no memory.
    let uid = unsafe { libc::getuid() };
    let root = tmp.join(format!("wf-{uid}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&root) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io(format!("cannot create {}", root.display()))(e)),
    }
    let meta =
        std::fs::symlink_metadata(&root).map_err(io(format!("cannot read {}", root.display())))?;
    if !meta.file_type().is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(WorkspaceError::Unsafe(format!(
            "{} is not a private directory of this user (a directory owned by uid {uid}, mode 0700); \
             remove it, or set TMPDIR to a directory of your own",
            root.display()
        )));
    }
    Ok(root)
}

mod caches;
mod change;
pub mod checkout;
pub mod gc;
mod objects;
mod stage;
mod tools;

pub use caches::PACKAGE_CACHES;
pub use change::{apply, changed_since, check_patch_paths, commit, diff_hash, diffstat};
pub use tools::{LOCKFILES, TOOL_DIRS, ToolLink, editable_paths};

use caches::{BuildCache, share_build_caches};
use change::name_list;
use objects::{set_head, sync_objects};
use stage::{index_entries, stage_origin};
use tools::link_tools;

fn lock_path(dir: &Path) -> PathBuf {
    dir.with_extension("lock")
}

/// Finds and locks the first free workspace slot of `origin`. A slot is held
/// by an advisory lock on `<slot>.lock`, which the kernel releases when its
/// holder ends, however it ends.
fn claim_slot(origin: &Path) -> Result<(Slot, FileLock), WorkspaceError> {
    let key = sha256_hex(origin.to_string_lossy().as_bytes());
    for slot in 0..64 {
        let dir = private_root()?.join(format!("wf-ws-{}-{slot}", &key[..12]));
        match crate::sys::lock::take(&lock_path(&dir))
            .map_err(io("cannot lock a workspace slot"))?
        {
            crate::sys::lock::Taken::Yes(lock) => return Ok((Slot::new(dir), lock)),
            crate::sys::lock::Taken::HeldBy(_) => continue,
        }
    }
    Err(WorkspaceError::Io {
        context: "every workspace slot is in use".into(),
        source: std::io::Error::other("64 concurrent runs"),
    })
}

/// Creates `dir` (and its parents) with the new directory itself private
/// to this user (0700), whatever the umask.
fn private_dir(dir: &Path) -> Result<(), WorkspaceError> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(format!("cannot create {}", dir.display())))?;
    }
    chmod_nofollow(dir, 0o700).map_err(io(format!("cannot make {} private", dir.display())))
}

/// Sets the mode of the directory `path` without following a symbolic
/// link: a link (one a command left where wf expects a directory of its
/// own, such as a kept package cache's `npm/`) is refused, never the place
/// it leads changed. The directory is opened without following a link and
/// changed through its descriptor (`fchmodat` with `AT_SYMLINK_NOFOLLOW`
/// needs `/proc` in glibc); one wf may not open (a command took away its
/// permissions, see `force_remove`) is checked to be no link first.
fn chmod_nofollow(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(path);
    match opened {
        Ok(dir) => dir.set_permissions(std::fs::Permissions::from_mode(mode)),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            if !std::fs::symlink_metadata(path)?.is_dir() {
                return Err(std::io::Error::from(std::io::ErrorKind::InvalidInput));
            }
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    pub(super) fn run_git(dir: &Path, args: &[&str]) -> String {
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

    /// An empty slot at `dir` as wf makes one: the git directory beside
    /// the work tree (see [`git_dir`]).
    pub(super) fn init_slot(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        Git::private(dir)
            .args(["init", "-q", "--template=", "--separate-git-dir"])
            .arg(git_dir(dir))
            .arg(dir)
            .output()
            .unwrap();
    }

    pub(super) fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub(super) fn read(dir: &Path, rel: &str) -> String {
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
    pub(super) fn repo() -> tempfile::TempDir {
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
    fn checked_out_submodules_are_named_as_left_out_of_the_copy() {
        let parent = tempfile::tempdir().unwrap();
        let lib = parent.path().join("lib");
        std::fs::create_dir(&lib).unwrap();
        run_git(&lib, &["init", "-q"]);
        write(&lib, "lib.txt", "lib\n");
        run_git(&lib, &["add", "-A"]);
        run_git(&lib, &["commit", "-q", "-m", "lib"]);
        let app = parent.path().join("app");
        std::fs::create_dir(&app).unwrap();
        run_git(&app, &["init", "-q"]);
        write(&app, "a.txt", "a\n");
        for (path, checked_out) in [("vendor/lib", true), ("vendor/other", false)] {
            run_git(
                &app,
                &[
                    "-c",
                    "protocol.file.allow=always",
                    "submodule",
                    "add",
                    "-q",
                    "../lib",
                    path,
                ],
            );
            if !checked_out {
                run_git(&app, &["submodule", "deinit", "-q", "-f", path]);
            }
        }
        // Entries a cloned repository may carry that name no gitlink, one
        // leaving the tree: they must not hide the real one.
        let mut modules = read(&app, ".gitmodules");
        modules.push_str("[submodule \"evil\"]\n\tpath = ../outside\n");
        modules.push_str("[submodule \"abs\"]\n\tpath = /etc\n");
        write(&app, ".gitmodules", &modules);
        run_git(&app, &["add", ".gitmodules"]);
        run_git(&app, &["commit", "-q", "-m", "app"]);
        let ws = Workspace::create(&app, "r").unwrap();
        assert_eq!(
            ws.submodules,
            ["vendor/lib"],
            "a deinitialized one has nothing to miss"
        );
        assert!(!ws.dir.join("vendor/lib/lib.txt").exists());
        assert_eq!(read(&ws.dir, "a.txt"), "a\n");
        drop(ws);
        // Without submodules, nothing is named (and nothing is read).
        let plain = repo();
        assert!(
            Workspace::create(plain.path(), "r")
                .unwrap()
                .submodules
                .is_empty()
        );
    }

    /// Sets the modification time of `path` (as a program may, to hide a
    /// write from tools that look at size and mtime only).
    fn set_mtime(path: &Path, time: std::time::SystemTime) {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(time)
            .unwrap();
    }

    /// Removes the slots of `origin` (tests run in the system temp dir).
    pub(super) fn remove_slots(origin: &Path) {
        let key = sha256_hex(origin.to_string_lossy().as_bytes());
        let prefix = format!("wf-ws-{}-", &key[..12]);
        for entry in std::fs::read_dir(private_root().unwrap())
            .unwrap()
            .flatten()
        {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let path = entry.path();
                if path.is_dir() {
                    force_remove(&path).unwrap();
                } else {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
    }

    /// Waits until the lock at `path` is free. Other tests of this binary
    /// fork children at any moment, and a child holds a copy of every
    /// descriptor (a lock's too) between its fork and its exec, so a
    /// release is seen soon, not always at once (as in `sys::lock`'s
    /// tests).
    pub(super) fn released(path: &Path) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while crate::sys::lock::is_held(path) {
            assert!(
                std::time::Instant::now() < deadline,
                "the lock {} was never released",
                path.display()
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// A new workspace of `origin` in the slot at `dir`, the one an earlier
    /// workspace of this test used. Another test's thread forking a process
    /// at the moment the slot is claimed briefly shares its lock (until the
    /// child's exec closes it), so the claim is retried a few times.
    pub(super) fn reclaim(origin: &Path, dir: &Path) -> Workspace {
        reclaim_with(dir, || Workspace::create(origin, "again"))
    }

    /// [`reclaim`] through [`Workspace::create_current`].
    fn reclaim_current(origin: &Path, dir: &Path) -> Workspace {
        reclaim_with(dir, || {
            let head = crate::sys::git::head(origin);
            Workspace::create_current(origin, head.as_ref(), &[])
        })
    }

    fn reclaim_with(
        dir: &Path,
        create: impl Fn() -> Result<Workspace, WorkspaceError>,
    ) -> Workspace {
        for _ in 0..20 {
            let ws = create().unwrap();
            if ws.dir == dir {
                return ws;
            }
            drop(ws);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("the slot {} was not reused", dir.display());
    }

    /// Every file of the user's tree that a workspace should hold, with
    /// its content.
    fn contents(dir: &Path, files: &[String]) -> Vec<(String, String)> {
        files
            .iter()
            .map(|f| (f.clone(), std::fs::read_to_string(dir.join(f)).unwrap()))
            .collect()
    }

    #[test]
    fn a_later_run_reuses_the_slot_and_sees_exactly_the_tree_of_its_start() {
        let origin = repo();
        let o = origin.path();
        let first = Workspace::create(o, "r1").unwrap();
        let dir = first.dir.clone();
        // What the first run (its model and its commands) leaves behind:
        // an edited file, a deleted one, new files staged and not, an
        // ignored build output, a file whose mode changed, a directory
        // made read-only, a planted node_modules.
        write(&first.dir, "src/lib.rs", "fn model() {}\n");
        std::fs::remove_file(first.dir.join("README.md")).unwrap();
        write(&first.dir, "src/staged.rs", "staged by a snapshot\n");
        first.snapshot().unwrap();
        write(&first.dir, "src/unstaged.rs", "never staged\n");
        write(&first.dir, "build/out.bin", "built by a check\n");
        write(&first.dir, "deep/er/x.txt", "x\n");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            first.dir.join("notes.txt"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::fs::set_permissions(
            first.dir.join("deep/er"),
            std::fs::Permissions::from_mode(0o500),
        )
        .unwrap();
        write(&first.dir, "node_modules/evil/index.js", "planted\n");
        // A file rewritten with its old size and mtime (only its ctime
        // tells).
        let secret = first.dir.join("forced.secret");
        let mtime = std::fs::metadata(&secret).unwrap().modified().unwrap();
        std::fs::write(&secret, "TRACKED ANYWAY\n").unwrap();
        set_mtime(&secret, mtime);
        drop(first);
        // Meanwhile the user edits one file, deletes another and adds one.
        write(o, "src/lib.rs", "fn users_next_version() {}\n");
        std::fs::remove_file(o.join("notes.txt")).unwrap();
        std::fs::remove_file(o.join("README.md")).unwrap();
        write(o, "src/added.rs", "fn added() {}\n");

        let second = reclaim(o, &dir);
        let expected = [".gitignore", "forced.secret", "src/added.rs", "src/lib.rs"];
        assert_eq!(files_in(&second.dir), expected);
        assert_eq!(second.files, expected.len());
        let names: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(contents(&second.dir, &names), contents(o, &names));
        assert_eq!(read(&second.dir, "forced.secret"), "tracked anyway\n");
        assert_eq!(second.diff().unwrap(), "", "nothing of the first run leaks");
        assert!(second.changed_files().unwrap().is_empty());
        // The start patch is the user's uncommitted state, as git sees it.
        let start = second.start_patch.clone().unwrap();
        assert!(start.contains("+fn users_next_version() {}"), "{start}");
        assert!(start.contains("+fn added() {}"), "{start}");
        assert!(start.contains("deleted file mode"), "{start}");
        assert!(start.contains("-readme"), "{start}");
        assert!(
            !start.contains("sk-live"),
            "ignored files stay out: {start}"
        );
        drop(second);
        remove_slots(o);
    }

    #[test]
    fn a_new_file_with_the_size_and_time_of_the_old_one_is_still_seen() {
        let origin = repo();
        let o = origin.path();
        let first = Workspace::create(o, "r1").unwrap();
        drop(first);
        // Same length, same mtime: only the content (and the ctime) differ.
        let path = o.join("README.md");
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::fs::write(&path, "README\n").unwrap();
        set_mtime(&path, mtime);
        let second = Workspace::create(o, "r2").unwrap();
        assert_eq!(read(&second.dir, "README.md"), "README\n");
        drop(second);
        remove_slots(o);
    }

    #[test]
    fn concurrent_workspaces_of_one_repository_never_share_a_slot() {
        let origin = repo();
        let o = origin.path();
        let a = Workspace::create(o, "a").unwrap();
        write(&a.dir, "src/lib.rs", "a's change\n");
        let b = Workspace::create(o, "b").unwrap();
        assert_ne!(a.dir, b.dir);
        assert_ne!(a.tmp, b.tmp);
        assert_eq!(read(&b.dir, "src/lib.rs"), read(o, "src/lib.rs"));
        write(&b.dir, "src/lib.rs", "b's change\n");
        assert_eq!(read(&a.dir, "src/lib.rs"), "a's change\n");
        drop((a, b));
        remove_slots(o);
    }

    #[test]
    fn a_link_where_a_private_directory_goes_is_refused_not_followed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o755)).unwrap();
        let link = dir.path().join("cache");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        assert!(private_dir(&link).is_err());
        let mode = std::fs::metadata(&outside).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755, "the link's target was changed");
        // A directory of its own is made private.
        let own = dir.path().join("own");
        private_dir(&own).unwrap();
        let mode = std::fs::metadata(&own).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        // Removing a tree a command locked up opens its directories, never
        // a link's target.
        let tree = dir.path().join("tree");
        std::fs::create_dir_all(tree.join("locked")).unwrap();
        std::os::unix::fs::symlink(&outside, tree.join("locked/link")).unwrap();
        std::fs::set_permissions(tree.join("locked"), std::fs::Permissions::from_mode(0o000))
            .unwrap();
        force_remove(&tree).unwrap();
        assert!(!tree.exists());
        let mode = std::fs::metadata(&outside).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
    }

    #[test]
    fn a_slot_of_the_layout_with_git_inside_is_made_anew_in_the_new_one() {
        let origin = repo();
        let o = origin.path();
        let first = Workspace::create(o, "r1").unwrap();
        let dir = first.dir.clone();
        drop(first);
        // What an older wf left: the git directory inside the work tree
        // (writable by that wf's commands), none beside it.
        force_remove(&git_dir(&dir)).unwrap();
        std::fs::remove_file(dir.join(".git")).unwrap();
        run_git(&dir, &["init", "-q", "--template="]);
        write(&dir, ".git/planted", "x\n");
        let second = reclaim(o, &dir);
        assert!(!second.reused, "an old-layout slot was reused");
        assert!(second.dir.join(".git").is_file());
        assert!(git_dir(&second.dir).join("HEAD").is_file());
        assert!(!git_dir(&second.dir).join("planted").exists());
        assert_eq!(read(&second.dir, "src/lib.rs"), read(o, "src/lib.rs"));
        assert_eq!(second.diff().unwrap(), "");
        drop(second);
        // And the next run of it is reused, in the new layout.
        let third = reclaim(o, &dir);
        assert!(third.reused);
        drop(third);
        remove_slots(o);
    }

    #[test]
    fn after_unconfined_commands_the_slot_is_made_anew() {
        let origin = repo();
        let o = origin.path();
        let first = Workspace::create(o, "r1").unwrap();
        first.mark_unconfined().unwrap();
        // An unconfined command can write the copy's own git: a planted
        // config and an index that claims a changed file is unchanged.
        let git = git_dir(&first.dir);
        std::fs::write(git.join("config"), "[core]\n\tbare = true\n").unwrap();
        write(&git, "planted", "x\n");
        let dir = first.dir.clone();
        drop(first);
        let second = reclaim(o, &dir);
        assert!(!git_dir(&second.dir).join("planted").exists());
        assert_eq!(second.diff().unwrap(), "");
        drop(second);
        drop(reclaim(o, &dir));
        remove_slots(o);
    }

    #[test]
    fn a_snapshot_in_a_used_slot_is_the_recorded_start() {
        let origin = repo();
        let o = origin.path();
        let live = Workspace::create(o, "live").unwrap();
        let start = live.start_patch.clone().unwrap();
        let base = live.base_tree.clone();
        write(&live.dir, "src/lib.rs", "the model's\n");
        write(&live.dir, "junk.txt", "junk\n");
        drop(live);
        let revision = crate::sys::git::head_revision(o);
        let patch = o.join(".wf/start.patch");
        std::fs::write(&patch, &start).unwrap();
        // The user moves on; the replay is of the start, not of today.
        write(o, "src/lib.rs", "later\n");
        let replay = Workspace::create_from(
            o,
            &Source::Snapshot {
                revision,
                patch: Some(patch),
            },
        )
        .unwrap();
        assert_eq!(replay.base_tree, base, "the same tree id as the live run's");
        assert_eq!(
            read(&replay.dir, "src/lib.rs"),
            "fn a() {}\nfn uncommitted() {}\n"
        );
        assert!(!replay.dir.join("junk.txt").exists());
        assert_eq!(replay.diff().unwrap(), "");
        drop(replay);
        remove_slots(o);
    }

    #[test]
    fn what_the_user_commits_between_runs_decides_the_next_start() {
        let origin = repo();
        let o = origin.path();
        let head = |o: &Path| crate::sys::git::head(o);
        let first = Workspace::create_current(o, head(o).as_ref(), &[]).unwrap();
        let dir = first.dir.clone();
        drop(first);
        // A force-added ignored file, a committed `.wf/` file, and a file
        // in a new directory, committed; then a new untracked file in a new
        // directory.
        write(o, "later.secret", "force-added\n");
        run_git(o, &["add", "-f", "later.secret"]);
        run_git(o, &["add", "-f", ".wf/runs/r1/trace.jsonl"]);
        write(o, "new/dir/file.rs", "fn new() {}\n");
        run_git(o, &["add", "-A"]);
        run_git(o, &["commit", "-q", "-m", "more"]);
        write(o, "other/untracked.txt", "u\n");
        std::fs::create_dir_all(o.join(".wf")).unwrap();
        std::fs::write(o.join(".wf/.gitignore"), "*\n").unwrap();
        let second = reclaim_current(o, &dir);
        let files = files_in(&second.dir);
        for f in [
            "later.secret",
            "new/dir/file.rs",
            "other/untracked.txt",
            "src/lib.rs",
        ] {
            assert!(files.contains(&f.to_string()), "{f} in {files:?}");
        }
        assert!(!files.iter().any(|f| f.starts_with(".wf")), "{files:?}");
        assert!(!files.contains(&"api.secret".to_string()));
        let start = second.start_patch.clone().unwrap();
        assert!(start.contains("other/untracked.txt"), "{start}");
        assert!(!start.contains("later.secret"), "committed: {start}");
        assert!(
            start.contains("deleted file mode") && start.contains(".wf/runs/r1/trace.jsonl"),
            "`.wf/` is taken out of the start even when committed: {start}"
        );
        drop(second);
        // The untracked file goes; what is left is `.wf/` taken out of the
        // committed tree.
        std::fs::remove_file(o.join("other/untracked.txt")).unwrap();
        let third = reclaim_current(o, &dir);
        let start = third.start_patch.clone().unwrap();
        assert!(!start.contains("untracked.txt"), "{start}");
        assert!(!start.contains("src/lib.rs"), "committed: {start}");
        assert!(start.contains(".wf/runs/r1/trace.jsonl"), "{start}");
        assert!(
            files_in(&third.dir)
                .iter()
                .all(|f| !f.starts_with("other/"))
        );
        drop(third);
        remove_slots(o);
    }

    #[test]
    fn the_workspace_holds_the_bytes_of_the_tree_even_when_the_users_git_converts_them() {
        let dir = tempfile::tempdir().unwrap();
        let o = dir.path();
        // The user's own git, with their setting (wf's own calls force
        // `core.autocrlf=false`).
        let users_git = |args: &[&str]| {
            let out = Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@t"])
                .args(args)
                .current_dir(o)
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .output()
                .unwrap();
            assert!(out.status.success(), "{args:?}");
        };
        users_git(&["init", "-q"]);
        users_git(&["config", "core.autocrlf", "input"]);
        write(o, "crlf.txt", "one\r\ntwo\r\n");
        write(o, "plain.txt", "plain\n");
        // Written well before the index, so the entry is not racy: git
        // trusts its stat data.
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        for f in ["crlf.txt", "plain.txt"] {
            set_mtime(&o.join(f), past);
        }
        users_git(&["add", "-A"]);
        users_git(&["commit", "-q", "-m", "init"]);
        // The user's index says the file is the LF blob, and stat-clean.
        users_git(&["status", "--porcelain"]);
        let ws = Workspace::create(o, "r").unwrap();
        assert_eq!(
            std::fs::read(ws.dir.join("crlf.txt")).unwrap(),
            b"one\r\ntwo\r\n",
            "the bytes in the tree, not what the user's git stored"
        );
        let start = ws.start_patch.clone().unwrap();
        assert!(start.contains("crlf.txt"), "{start}");
        drop(ws);
        remove_slots(o);
    }

    #[test]
    fn a_planted_private_root_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        let root = tmp.path().join(format!("wf-{uid}"));
        // Made by wf: fine, and private.
        let made = private_root_in(tmp.path()).unwrap();
        assert_eq!(made, root);
        let mode = std::fs::metadata(&root).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        // Opened to others: refused.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = private_root_in(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("is not a private directory"), "{err}");
        std::fs::remove_dir(&root).unwrap();
        // A link to somewhere else: refused, not followed.
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &root).unwrap();
        assert!(private_root_in(tmp.path()).is_err());
        std::fs::remove_file(&root).unwrap();
        // Another user's directory (only root can make one here).
        if uid == 0 {
            std::fs::create_dir(&root).unwrap();
            std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).unwrap();
            std::os::unix::fs::chown(&root, Some(4242), Some(4242)).unwrap();
            assert!(private_root_in(tmp.path()).is_err());
        }
    }

    #[test]
    fn a_nested_repository_planted_by_a_command_does_not_survive() {
        let origin = repo();
        let o = origin.path();
        let first = Workspace::create(o, "r1").unwrap();
        let dir = first.dir.clone();
        // A command makes directories into git repositories of their own,
        // which `git clean` with a single -f keeps: a fake node_modules
        // (ignored by the slot's exclude file) and a directory of code.
        for planted in ["node_modules", "tests/evil"] {
            write(&first.dir, &format!("{planted}/pkg/index.js"), "EVIL\n");
            run_git(&first.dir.join(planted), &["init", "-q"]);
        }
        drop(first);
        let second = reclaim(o, &dir);
        assert!(!second.dir.join("node_modules").exists());
        assert!(!second.dir.join("tests").exists());
        assert_eq!(second.diff().unwrap(), "");
        drop(second);
        remove_slots(o);
    }
}
