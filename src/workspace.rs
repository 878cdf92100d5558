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
//! whose last run let commands run unconfined (`sandbox: off`), or that
//! cannot be brought up to date, is made anew: confined commands see the
//! slot's `.git` read-only, unconfined ones could have changed it. What is
//! kept besides file contents: modification times of unchanged files (build
//! tools rely on them) and directory permissions. Slots stay in the temp dir
//! after the run; `wf gc` ([`gc`]) removes those no run used for a while.
//!
//! # The slot's objects
//!
//! Commands of a run read the slot's `.git` (read-only), so what its git
//! can reach is what a check can read. The slot therefore has an object
//! store of its own holding only what the start reaches — the start
//! commit, its tree, and the starting tree's uncommitted files — and
//! nothing of the user's other branches, tags, stash or unreachable
//! objects; the user's `.git` is not among the sandbox's read roots. The
//! start commit is the slot's `HEAD`, as a shallow root: `git log -1`,
//! `git show HEAD:path`, `git diff` and `git status` work in a check; the
//! history before it is not there (as in a CI checkout of depth 1), which
//! keeps the cost to the size of the tree, not of the history, and keeps
//! content the history dropped out of reach too. wf copies the objects
//! from the user's repository with `git pack-objects` (compressed data and
//! deltas reused, no delta search), once per slot, then only what a new
//! start adds: while `HEAD` moves forward, a pack per move of the objects
//! the old tree lacked; to a commit that does not descend from the last
//! one (another branch, a rewritten history), the store is made again
//! ([`sync_objects`]). The uncommitted objects of a start are dropped at
//! the next start that differs; the objects wf wrote in the slot during a
//! run (its change, staged) at the next start. wf's own git calls in the
//! slot use the same store. The run's
//! change is `git diff --binary` against the start's tree, which `git
//! apply` takes back in the user's tree. wf's git calls ignore the user's
//! and the system's git config so that settings such as `diff.noprefix`
//! cannot change the patch, and no attributes apply: wf works on the bytes
//! in the tree (clean/smudge filters such as Git LFS are not run: in a
//! repository with LFS files, the start patch holds their contents).
//!
//! # Build caches
//!
//! Checks in a fresh copy must not rebuild the world, and no command of a
//! run may change the user's tree — not even its build output, which the
//! user runs later. So wf keeps caches of its own, never the user's own
//! directories for writing. A cache that commands write and a later run
//! executes from is also a way for one run to change what another runs:
//! a test binary replaced and dated in the future passes `cargo test` on
//! failing code, since Cargo trusts its fingerprints and mtimes. The rule
//! is: **no run's commands change what a later run executes, unless that
//! run's change was applied.**
//!
//! For a Cargo project (a `Cargo.toml` at the root), a live run's checks
//! and `shell` commands get `CARGO_TARGET_DIR` pointing at a target
//! directory of the *task*: keyed by the repository and the hash of the
//! task file (`$TMPDIR/wf-<uid>/wf-cache-<repository>/cargo-<task>-<n>`),
//! so one task's runs never execute what another task's commands built.
//! A run holds it by a lock (a concurrent run of the same task takes the
//! next `n`), and it is kept for the task's next run only when the run's
//! change was applied (approved at the apply checkpoint, `--yes`, or a
//! task that turns the checkpoint off): the record of that
//! (`cargo-<task>-<n>.kept`, outside any write root) is removed when a run
//! starts using the directory and written back only after the apply.
//! Any other end — a dry run, a rejection, failed checks, an error, a
//! crash — leaves it unkept, and the next run empties it first. So what
//! dependencies cost is paid once per task while its runs are applied, and
//! again after a run that was not. Replays, resumed runs and the listing
//! of MCP servers get a scratch target directory in the run's temp
//! directory, gone with the run.
//!
//! Weighed and not chosen: one cache per repository (any run's commands
//! reach every later run, which is the attack); mtimes in the future
//! refused (a replaced file with a plausible mtime, or a replaced
//! dependency `.rlib`, which Cargo never re-checks, still gets through); a
//! copy of the cache per run promoted after an approved run (the copy
//! costs what the target directory weighs, gigabytes, on every run, where
//! reflinks are not available); an overlay mount per run over a trusted
//! cache (no copy, but the sandbox would mount it — overlayfs in a user
//! namespace, Linux 5.11 — and promoting its upper layer asks the same
//! question of trust; a later option). What an applied run's commands left
//! in its task's cache, the next run of that task trusts: approving a
//! run's change trusts what its commands did (the trace lists every
//! command and `shell` call). Commands of a run with `sandbox: off` can
//! write anything the user can, caches included.
//!
//! # Package caches
//!
//! The user's package caches (`~/.cargo/registry`, `~/.npm`, pip's) are
//! read-only for commands (`~/.cargo` is a read root; the others are not
//! roots at all), so a command that fetches a dependency would fail on
//! them (npm: `EACCES`, cargo: "failed to open …crate"). Where a run's
//! commands may reach a registry (the task's `sandbox.network` or a
//! step's, `true` or a list of hosts) they get package caches of wf's own
//! instead, one directory per repository and task
//! (`<wf cache dir>/packages/<repository key>/<task>-<n>`, by default
//! under `~/.cache/wf`), each toolchain pointed at its part by a variable
//! ([`PACKAGE_CACHES`]: `CARGO_HOME`, `npm_config_cache`,
//! `PIP_CACHE_DIR`, `UV_CACHE_DIR`, `YARN_CACHE_FOLDER`, `GOMODCACHE`),
//! for every command of the run, so a check without the network finds
//! what a step with it fetched. Never the user's own, which no command of
//! a run writes. They follow the rule of the build caches: kept for the
//! task's next run only when the run's change was applied, else emptied
//! first (an extracted crate source or a built wheel there is what a
//! later `cargo test` or `pip install` trusts); held by one run at a
//! time; a replay or resumed run gets a scratch one in its temp directory.
//! The cost: a task's first run with the network downloads what the
//! user's caches already hold. `CARGO_HOME` moving means the user's
//! `~/.cargo/config.toml` is not read in such a run (a project's own
//! `.cargo/config.toml` is). Runs without any network keep the user's
//! caches, read-only, with the toolchains' offline switches. Unconfined
//! runs (`sandbox: off`) use the user's own.
//!
//! # The project where it expects itself
//!
//! Developers keep toolchain state ignored: a virtual environment whose
//! scripts, `pyvenv.cfg` and editable installs hold absolute paths of the
//! repository (`pip install -e .` of a src layout puts `$REPO/src` on
//! Python's path), `node_modules`, a lockfile a library does not commit.
//! A check must run the project's own tests with them, against the
//! workspace's code, never the user's tree, and without copying the
//! world. What wf does (decided, for every run, with no setting):
//!
//! - **Toolchain directories** ([`TOOL_DIRS`]: `.venv`, `venv`,
//!   `node_modules` at the root, when the user's tree has one the copy
//!   lacks, i.e. ignored) are linked, not copied:
//!   `<workspace>/<name>` → `<slot>.links/<name>` → the user's directory
//!   ([`link_tools`]). Commands may read them and never write them: at the
//!   full sandbox level the user's directory is bound read-only at
//!   `<slot>.links/<name>` in the command's view; without namespaces the
//!   link leads to the user's directory, which Landlock grants read-only.
//!   The links are out of the diff and survive `git clean` between
//!   rounds. A command may replace one (`npm ci` with the network): the
//!   directory it makes serves the rest of the run and is never part of
//!   the change; a link a command only took away (`npm install` removes it
//!   first, then fails without the network) is put back before the next
//!   command step and check round ([`Workspace::relink_tools`]). The next
//!   run starts with the link again. Installing into the user's `.venv`
//!   from a run is refused (read-only): a run changes the project, not
//!   the user's environment.
//! - **The repository's own path** (full level): the command's view shows
//!   the workspace at the user's repository path too (its `.git`
//!   read-only there as well), and a command starts there. Absolute
//!   paths baked into the venv, editable installs, caches and build
//!   scripts resolve to the workspace's copy; the user's own tree at that
//!   path is hidden. (Not when a root of the sandbox lies inside the
//!   repository or a write root holds it: then commands see the workspace
//!   at its own path; the user's tree is never a read root — an activated
//!   venv on `PATH` comes as a toolchain directory.)
//! - **Without namespaces** (the `landlock` level, and `sandbox: off`) no
//!   path can be remapped, so the one thing that needs it is fixed in the
//!   environment: the directories of the user's tree that the linked
//!   venv's editable installs put on Python's path (`.pth` lines,
//!   setuptools' finder mappings: [`editable_paths`]) are put first on
//!   `PYTHONPATH` as the workspace's own ([`Workspace::python_paths`]), so
//!   `import pkg` finds the workspace's code; the user's `src/` stays
//!   unreadable (Python skips a path entry it cannot list). Other absolute
//!   paths into the repository (a cache made there) are not remapped at
//!   this level: a command reading them is denied, and says so.
//! - **Ignored lockfiles** ([`LOCKFILES`] at the root) are part of the
//!   start as if they were not ignored: in the workspace, in
//!   `start.patch`, readable by the model, and a change to one (`cargo
//!   update`, `npm install`) is in the run's diff like any file, subject
//!   to `permissions.write`; applied, it changes the user's (still
//!   ignored) file. A build then resolves as the user's does, offline,
//!   instead of reaching for the registry.
//!
//! - **Ignored files the task names** (a path written without wildcards in
//!   a step's `context.include`, which the context sends even when git
//!   ignores it) are part of the start the same way: what the model was
//!   shown, its `read_file` finds and a check can read (a `.ignore`
//!   negation cannot bring a file git ignores into either; naming it
//!   does, in both). Regular files only, never under `.git/` or `.wf/`.
//!
//! The model's file tools cannot follow the toolchain links (they lead
//! outside the workspace).
//!
//! # Privacy
//!
//! The workspace and the run's temp directory ([`Workspace::tmp`], the
//! `TMPDIR` of every command the run starts) are created `0700`: other
//! users of a shared `/tmp` cannot read the copy of the repository.
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
//! # The checkout itself
//!
//! In a disposable CI checkout, `wf run --workspace checkout` makes the
//! checkout the workspace: no copy, a start that is `HEAD`, the approved
//! change left in place, any other end putting the start back — see
//! [`checkout`] for when wf takes it and what it keeps.
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
    /// Files in the workspace.
    pub files: usize,
    /// The slot was kept from an earlier run and brought to this start by
    /// rewriting only what differs; `false`: every file was copied.
    pub reused: bool,
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

/// Where each toolchain keeps what it downloads, and the variable that
/// moves it: a part of wf's package cache each (see "Package caches").
pub const PACKAGE_CACHES: &[(&str, &str)] = &[
    ("CARGO_HOME", "cargo"),
    ("GOMODCACHE", "go"),
    ("PIP_CACHE_DIR", "pip"),
    ("UV_CACHE_DIR", "uv"),
    ("YARN_CACHE_FOLDER", "yarn"),
    ("npm_config_cache", "npm"),
];

/// Claims the first free `<root>/<stem>-<n>` for this run (its lock,
/// `<dir>.lock`, held until the run ends): emptied first unless
/// `<dir>.kept` says every run that used it before had its change
/// applied, and no longer kept from now on until
/// [`Workspace::keep_build_cache`].
fn claim_task_dir(root: &Path, stem: &str, what: &str) -> Result<BuildCache, WorkspaceError> {
    let mut claimed = None;
    for n in 0..64 {
        let dir = root.join(format!("{stem}-{n}"));
        if let crate::sys::lock::Taken::Yes(lock) =
            crate::sys::lock::take(&dir.with_extension("lock"))
                .map_err(io(format!("cannot lock a {what}")))?
        {
            claimed = Some((dir, lock));
            break;
        }
    }
    let Some((dir, lock)) = claimed else {
        return Err(WorkspaceError::Io {
            context: format!("every {what} of this task is in use"),
            source: std::io::Error::other("64 concurrent runs"),
        });
    };
    let kept = dir.with_extension("kept");
    if !kept.is_file() {
        // The last run that used it did not have its change applied
        // (or never ended): what its commands wrote goes.
        force_remove(&dir)?;
    }
    // In use from now on: kept again only if this run's change is
    // applied.
    let _ = std::fs::remove_file(&kept);
    if kept.exists() {
        return Err(WorkspaceError::Io {
            context: format!("cannot clear {}", kept.display()),
            source: std::io::Error::other("it is still there"),
        });
    }
    private_dir(&dir)?;
    Ok(BuildCache {
        dir,
        kept,
        _lock: lock,
    })
}

/// A task's Cargo target directory or package cache, held by this run.
#[derive(Debug)]
struct BuildCache {
    /// `$TMPDIR/wf-<uid>/wf-cache-<repository>/cargo-<task>-<n>`.
    dir: PathBuf,
    /// `<dir>.kept`: present while the directory holds only what runs whose
    /// change was applied left in it.
    kept: PathBuf,
    /// Held while the run uses it: no other run writes it meanwhile.
    _lock: FileLock,
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

/// The private index of the user's tree brought up to date with the tree as
/// it is now (tracked changes, untracked files that are not ignored; `.wf/`
/// never), written as a tree object; with the patch of that state against
/// `revision` (or against nothing before the first commit).
///
/// `read-tree -m` takes the tracked set from the commit and keeps the stat
/// data of every entry whose content matches it, and `add -A` then re-reads
/// only files whose stat data changed, as `git status` does: the cost
/// follows what changed since the last run, not the size of the tree. The
/// user's own index is never read or written (their staging area is theirs;
/// its entries may also hold what their clean filters made of a file, where
/// wf works on the bytes in the tree). The objects of new and changed files
/// go to the repository's object store, as `git add` would put them there.
fn stage_origin(
    origin: &Path,
    head: Option<&(String, String)>,
    slot: &Slot,
    named: &[String],
) -> Result<(String, String), WorkspaceError> {
    let index = slot.origin_index.as_path();
    let (base, base_tree) = match head {
        Some((commit, tree)) => (commit.as_str(), tree.as_str()),
        None => (EMPTY_TREE, EMPTY_TREE),
    };
    // The commit the index was last read from: while it is the same, the
    // tracked set is too, and the index (kept from the last run, `.wf/`
    // already out of it) only needs `add -A`.
    let read_from = std::fs::read_to_string(&slot.origin_head).unwrap_or_default();
    let same_commit = read_from.trim() == base && index.is_file();
    // `.wf/` ignores itself (`.wf/.gitignore`, written by wf, has the one
    // rule `*`): then `add -A` cannot bring it back in.
    let wf_ignored = std::fs::read_to_string(origin.join(".wf/.gitignore")).is_ok_and(|text| {
        let rules: Vec<&str> = text
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        rules == ["*"]
    });
    if !same_commit {
        let _ = std::fs::remove_file(&slot.origin_head);
        if !index.is_file() {
            seed_index(origin, index);
        }
        let read = || {
            Git::private(origin)
                .args(["read-tree", "-m", base])
                .index(index)
                .output()
        };
        if read().is_err() {
            // An index this wf cannot use (another git's format, a crash of
            // an older wf): start it again; the first staging reads every
            // file.
            let _ = std::fs::remove_file(index);
            read()?;
        }
    }
    // The user's own git config decides what is ignored, as `git status`
    // shows it to them (plus the untracked cache, for wf's own index: only
    // directories whose mtime changed are read again).
    Git::user(origin)
        .args(["-c", "core.untrackedCache=true", "add", "-A"])
        .index(index)
        .output()?;
    // Lockfiles at the root are part of the start even when ignored: the
    // build resolves from them, and a change to them is in the diff.
    // So are the files the task's context names literally (one rule for
    // what the model sees and what its tools and commands find, see
    // "Ignored files the task names" in the module docs): regular files
    // only, never under `.git/` or `.wf/`.
    let locks: Vec<&str> = LOCKFILES
        .iter()
        .copied()
        .chain(
            named
                .iter()
                .map(String::as_str)
                .filter(|p| named_in_start(p)),
        )
        .filter(|name| {
            std::fs::symlink_metadata(origin.join(name)).is_ok_and(|m| m.file_type().is_file())
        })
        .collect();
    if !locks.is_empty() {
        Git::user(origin)
            .args(["add", "-f", "--"])
            .args(locks)
            .index(index)
            .output()?;
    }
    if !(same_commit && wf_ignored) {
        // `.wf/` is never part of the starting state (an exclude pathspec
        // on `add` instead would make it fail when the user's .gitignore
        // lists `.wf/`).
        Git::private(origin)
            .args([
                "rm",
                "-r",
                "-q",
                "--cached",
                "--ignore-unmatch",
                "--",
                ".wf",
            ])
            .index(index)
            .output()?;
    }
    let tree = Git::private(origin)
        .args(["write-tree"])
        .index(index)
        .text()?;
    std::fs::write(&slot.origin_head, format!("{base}\n"))
        .map_err(io("cannot write the workspace's state"))?;
    if tree == base_tree {
        // A clean tree: nothing uncommitted to record.
        return Ok((tree, String::new()));
    }
    let patch = Git::private(origin)
        .args([
            "diff",
            "--cached",
            "--binary",
            "--no-renames",
            "--no-color",
            "--no-ext-diff",
            base,
        ])
        .index(index)
        .output()?;
    Ok((tree, String::from_utf8_lossy(&patch).into_owned()))
}

/// Whether a path the context names may join the start by name: relative,
/// no `..`, `.` or empty component, not under `.git/` or `.wf/`.
fn named_in_start(path: &str) -> bool {
    let mut parts = path.split('/');
    let first = parts.clone().next().unwrap_or("");
    !path.is_empty()
        && first != ".git"
        && first != ".wf"
        && parts.all(|c| !c.is_empty() && c != "." && c != "..")
}

/// Starts wf's private index of the user's tree (a new slot) as a copy of
/// the user's own index, for its stat data: `read-tree -m` then keeps the
/// entries whose content matches the commit, and `add -A` re-reads only
/// files changed since the user's git last looked, instead of every file
/// (2.7 s → 0.3 s for 100,000 files here). Only when the user's git cannot
/// have stored anything but the bytes of the tree: no `.gitattributes` in
/// the index, no `info/attributes`, no `core.autocrlf`, `core.eol` or
/// `core.attributesFile` of the user's (filters such as Git LFS, and line
/// ending conversion, make an entry's blob differ from the file). The
/// copy keeps the index's mtime, so git's racy-entry rule works on it as
/// on the original. Best effort: without a seed, the first staging reads
/// every file.
fn seed_index(origin: &Path, index: &Path) {
    let user_index = origin.join(".git/index");
    if !origin.join(".git").is_dir() || !user_index.is_file() {
        return;
    }
    if std::fs::metadata(origin.join(".git/info/attributes")).is_ok_and(|m| m.len() > 0) {
        return;
    }
    let attributes = Git::user(origin)
        .args(["ls-files", "-z", "--", "*.gitattributes"])
        .output();
    if !attributes.is_ok_and(|out| out.is_empty()) {
        return;
    }
    // wf's own `-c` settings show as the "command" scope: only the user's
    // files count.
    let config = Git::user(origin)
        .args([
            "config",
            "--show-scope",
            "--get-regexp",
            r"^core\.(autocrlf|eol|attributesfile)$",
        ])
        .output()
        .unwrap_or_default();
    let configured = String::from_utf8_lossy(&config)
        .lines()
        .any(|line| !line.starts_with("command"));
    if configured {
        return;
    }
    let copied = std::fs::copy(&user_index, index).is_ok()
        && std::fs::metadata(&user_index)
            .and_then(|m| m.modified())
            .and_then(|t| {
                std::fs::File::options()
                    .write(true)
                    .open(index)?
                    .set_modified(t)
            })
            .is_ok();
    if !copied {
        let _ = std::fs::remove_file(index);
    }
}

/// git with the user's configuration shut out.
pub fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, WorkspaceError> {
    Ok(Git::private(dir).args(args).output()?)
}

use crate::sys::git::is_git;

/// Removes `dir` and everything in it, also where a command of a run took
/// away its own write or search permission on a directory.
fn force_remove(dir: &Path) -> Result<(), WorkspaceError> {
    if dir.symlink_metadata().is_err() || std::fs::remove_dir_all(dir).is_ok() {
        return Ok(());
    }
    fn open_up(dir: &Path) {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
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

/// The number of entries of a git index file (its header: `DIRC`, version,
/// entry count), without a git process.
fn index_entries(index: &Path) -> Option<usize> {
    use std::io::Read;
    let mut header = [0u8; 12];
    std::fs::File::open(index)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    (&header[..4] == b"DIRC")
        .then(|| u32::from_be_bytes([header[8], header[9], header[10], header[11]]) as usize)
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
            start_patch: None,
            env: Vec::new(),
            tmp: slot.tmp.clone(),
            // The slot's git has its own object store (see `sync_objects`):
            // nothing of the user's `.git` is readable by a command.
            sandbox_read: Vec::new(),
            sandbox_write: Vec::new(),
            tools: Vec::new(),
            python_paths: Vec::new(),
            build_cache: None,
            package_cache: None,
            sandbox_read_only: Vec::new(),
            checkout: None,
            _slot: lock,
        };
        let reusable = slot.dir.join(".git/HEAD").is_file() && !slot.unconfined.exists();
        // A git killed mid-write leaves its lock behind; the slot is ours.
        let _ = std::fs::remove_file(slot.dir.join(".git/index.lock"));
        // The state to reach: for the current tree, staged from the user's
        // tree (once, whatever happens to the slot below). Meanwhile, on the
        // other core, a kept slot drops what the last run left that is not
        // in its index (`git clean` reads only the slot).
        let (target, cleaned) = std::thread::scope(|scope| {
            let clean = reusable.then(|| scope.spawn(|| git(&slot.dir, &["clean", "-ffdxq"])));
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
            let _ = std::fs::remove_file(&slot.unconfined);
            ws.fill(&slot, head, source, target.as_deref(), true)?;
        }
        ws.files = index_entries(&slot.dir.join(".git/index")).unwrap_or(0);
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
            // No template: nothing to copy (hooks samples), and no hooks run.
            git(dir, &["init", "-q", "--template="])?;
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
        git(dir, &["read-tree", "--reset", "-u", start])?;
        match source {
            Source::Current => self.base_tree = start.to_string(),
            Source::Snapshot { patch, .. } => {
                if let Some(patch) = patch
                    && std::fs::metadata(patch).is_ok_and(|m| m.len() > 0)
                {
                    // Checked by `check_snapshot_patch` before, and git's
                    // own check is left on.
                    let ceiling = dir.parent().unwrap_or(dir);
                    Git::private(dir)
                        .args(["apply", "--index", "--whitespace=nowarn"])
                        .arg(patch)
                        .env("GIT_CEILING_DIRECTORIES", ceiling)
                        .output()?;
                }
                // A tree id, as a live run records it (also for a commit).
                self.base_tree = Git::private(dir).args(["write-tree"]).text()?;
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
        self.git_cmd()
            .args(&args)
            .args(self.clean_excludes())
            .output()?;
        self.run_git(&["read-tree", "--reset", "-u", tree])?;
        self.relink_tools()
    }

    /// Puts back each link to a toolchain directory a command took away
    /// (`npm install` removes a link it finds in `node_modules`' place,
    /// also when it then fails for want of the network): the next command
    /// and the checks find the user's directory again. A directory a
    /// command made in its place (`npm ci` with the network) stays for the
    /// rest of the run; the next run starts with the link.
    pub fn relink_tools(&self) -> Result<(), WorkspaceError> {
        for tool in &self.tools {
            let link = self.dir.join(&tool.name);
            if link.symlink_metadata().is_err() {
                std::os::unix::fs::symlink(&tool.at, &link)
                    .map_err(io(format!("cannot link {} again", tool.name)))?;
            }
        }
        Ok(())
    }

    /// git in the workspace (see [`Workspace::git_cmd`]).
    fn run_git(&self, args: &[&str]) -> Result<Vec<u8>, WorkspaceError> {
        Ok(self.git_cmd().args(args).output()?)
    }

    /// The change so far, as a `git apply`-compatible patch (empty when none).
    pub fn diff(&self) -> Result<String, WorkspaceError> {
        self.stage()?;
        self.staged_diff()
    }

    /// Stages every file of the copy into its index. Files over 1 MiB are
    /// streamed into git's store, never read whole into git's memory.
    fn stage(&self) -> Result<(), WorkspaceError> {
        if self.checkout.is_none() {
            git(&self.dir, &["-c", "core.bigFileThreshold=1m", "add", "-A"])?;
            return Ok(());
        }
        // A checkout holds what the user's ignore rules keep out of a copy
        // (their global excludes too): staged with those rules, `.wf/`
        // never.
        self.user_git_cmd()
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
                .git_cmd()
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
            .git_cmd()
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
    /// The run's temp directory goes; the copy stays for the next run of
    /// this repository, which brings it to its own starting state.
    fn drop(&mut self) {
        self.drop_checkout();
        let _ = force_remove(&self.tmp);
    }
}

impl Workspace {
    /// Gives the run's commands the Cargo target directory of the task
    /// whose hash is `task` (in a Cargo project; else nothing), kept from
    /// run to run so dependencies compile once — on the terms of the
    /// module documentation ("Build caches"): the directory is the task's
    /// own, used by one run at a time, and started empty unless every run
    /// that used it before had its change applied
    /// ([`Workspace::keep_build_cache`]).
    pub fn use_task_cache(&mut self, task: &str) -> Result<(), WorkspaceError> {
        if !self.origin.join("Cargo.toml").is_file() {
            return Ok(());
        }
        let repo = sha256_hex(self.origin.to_string_lossy().as_bytes());
        let task = sha256_hex(task.as_bytes());
        let root = private_root()?.join(format!("wf-cache-{}", &repo[..12]));
        private_dir(&root)?;
        // The one target directory every run of the repository shared
        // before (wf 0.1): any run's commands could have written it.
        force_remove(&root.join("cargo-target"))?;
        let cache = claim_task_dir(&root, &format!("cargo-{}", &task[..12]), "build cache")?;
        let value = cache.dir.to_string_lossy().into_owned();
        self.env.retain(|(key, _)| key != "CARGO_TARGET_DIR");
        self.env.push(("CARGO_TARGET_DIR".to_string(), value));
        self.sandbox_write.push(cache.dir.clone());
        self.build_cache = Some(cache);
        Ok(())
    }

    /// Gives the run's commands package caches of wf's own (see "Package
    /// caches" in the module docs): for a live run, those of the task
    /// whose hash is `task` (`<cache>/packages/<repository>/<task>-<n>`,
    /// `<cache>` being wf's cache directory), kept for the task's next run
    /// on the same terms as its Cargo target directory; without a task (a
    /// replay, a resumed run) a scratch one in the run's temp directory.
    /// Each toolchain is pointed at its part by [`PACKAGE_CACHES`]; the
    /// directory is a write root of the sandbox.
    pub fn use_package_caches(
        &mut self,
        task: Option<(&str, &Path)>,
    ) -> Result<(), WorkspaceError> {
        let dir = match task {
            Some((task, cache_root)) => {
                let repo = crate::sys::user_dirs::repo_key(&self.origin);
                let task = sha256_hex(task.as_bytes());
                let root = cache_root.join("packages").join(repo);
                private_dir(&root)?;
                let cache = claim_task_dir(&root, &task[..12], "package cache")?;
                let dir = cache.dir.clone();
                self.package_cache = Some(cache);
                dir
            }
            None => self.tmp.join("packages"),
        };
        for (var, sub) in PACKAGE_CACHES {
            let path = dir.join(sub);
            private_dir(&path)?;
            self.env.retain(|(key, _)| key != var);
            self.env
                .push((var.to_string(), path.to_string_lossy().into_owned()));
        }
        self.sandbox_write.push(dir);
        Ok(())
    }

    /// Says that the run's change was applied: its task's Cargo target
    /// directory (if [`Workspace::use_task_cache`] gave it one) is kept for
    /// the task's next run. Without this call the next run starts it empty.
    pub fn keep_build_cache(&self) -> Result<(), WorkspaceError> {
        for cache in self.build_cache.iter().chain(&self.package_cache) {
            if cache.dir.is_dir() {
                std::fs::write(&cache.kept, b"").map_err(io("cannot keep the build cache"))?;
            }
        }
        Ok(())
    }

    /// Says that commands of this run will run unconfined (`sandbox: off`)
    /// in the copy: they could change its `.git`, which confined commands
    /// only see read-only, so the next run of this slot starts from a new
    /// copy instead of trusting it.
    pub fn mark_unconfined(&self) -> Result<(), WorkspaceError> {
        std::fs::write(Slot::new(self.dir.clone()).unconfined, b"")
            .map_err(io("cannot mark the workspace"))
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

/// The most packs a slot's store collects, one per move of `HEAD`, before
/// it is made again in one pack.
const MAX_PACKS: usize = 16;

/// What a slot's own object store holds, kept in its `.git` (which
/// commands see read-only): the start commit whose objects it has, the
/// packs holding them, and the pack of the starting tree's uncommitted
/// objects.
#[derive(Debug, Default, PartialEq, Eq)]
struct HeldObjects {
    commit: Option<String>,
    base: Vec<String>,
    /// The starting tree whose uncommitted objects `uncommitted` holds.
    tree: Option<String>,
    uncommitted: Vec<String>,
}

impl HeldObjects {
    fn path(dir: &Path) -> PathBuf {
        dir.join(".git/wf-objects")
    }

    fn read(dir: &Path) -> HeldObjects {
        let mut held = HeldObjects::default();
        let text = std::fs::read_to_string(HeldObjects::path(dir)).unwrap_or_default();
        for line in text.lines() {
            match line.split_once(' ') {
                Some(("commit", id)) if is_object_id(id) => held.commit = Some(id.to_string()),
                Some(("base", name)) if is_object_id(name) => held.base.push(name.to_string()),
                Some(("tree", id)) if is_object_id(id) => held.tree = Some(id.to_string()),
                Some(("uncommitted", name)) if is_object_id(name) => {
                    held.uncommitted.push(name.to_string())
                }
                _ => return HeldObjects::default(),
            }
        }
        held
    }

    fn write(&self, dir: &Path) -> Result<(), WorkspaceError> {
        let mut text = String::new();
        if let Some(commit) = &self.commit {
            text.push_str(&format!("commit {commit}\n"));
        }
        for name in &self.base {
            text.push_str(&format!("base {name}\n"));
        }
        if let Some(tree) = &self.tree {
            text.push_str(&format!("tree {tree}\n"));
        }
        for name in &self.uncommitted {
            text.push_str(&format!("uncommitted {name}\n"));
        }
        std::fs::write(HeldObjects::path(dir), text)
            .map_err(io("cannot record the workspace's objects"))
    }
}

/// A full hexadecimal object id (SHA-1 or SHA-256).
fn is_object_id(id: &str) -> bool {
    matches!(id.len(), 40 | 64) && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Gives the slot at `dir` an object store of its own holding what the
/// start reaches, and nothing of the user's other refs: the start
/// `commit` and its tree (the commit as a shallow root: no history), and
/// the starting `tree` when it is not the commit's (its uncommitted
/// files). Copied from the user's
/// repository at `origin` with `git pack-objects` (existing compressed
/// data and deltas reused, no delta search).
///
/// Paid once per slot, then by what changed: while the new start commit
/// descends from the one the store holds, only objects its tree has and
/// the old one lacks are added (a pack per move, at most [`MAX_PACKS`]);
/// what the old tree had stays, and is reachable from the start commit's
/// history. Otherwise (another branch, a rewritten history, no record of
/// the store) the store is made again from nothing. The uncommitted
/// objects of the last start go unless the start is the same again (then
/// they are kept, not copied twice); the loose objects wf wrote in the
/// slot, any pack the record does not name, and the alternates file of an
/// older wf go every time.
fn sync_objects(
    origin: &Path,
    dir: &Path,
    commit: Option<&str>,
    tree: Option<&str>,
) -> Result<(), WorkspaceError> {
    if let Some(commit) = commit
        && !is_object_id(commit)
    {
        return Err(WorkspaceError::Unsafe(format!(
            "the start revision {commit:?} is not a commit id"
        )));
    }
    let objects = dir.join(".git/objects");
    let packs = objects.join("pack");
    std::fs::create_dir_all(&packs).map_err(io("cannot set up the workspace's git"))?;
    let _ = std::fs::remove_file(objects.join("info/alternates"));
    let mut held = HeldObjects::read(dir);
    // Until the new record is written, the store is in no known state.
    let _ = std::fs::remove_file(HeldObjects::path(dir));
    prune_loose_objects(&objects);
    let keep_base = match (commit, held.commit.as_deref()) {
        (Some(new), Some(old)) if new == old => true,
        (Some(new), Some(old)) => {
            held.base.len() < MAX_PACKS
                && Git::private(origin)
                    .args(["merge-base", "--is-ancestor", old, new])
                    .succeeds()
        }
        _ => false,
    };
    if !keep_base {
        held.base.clear();
    }
    // The same start as the last run's (same commit, same uncommitted
    // state): its uncommitted objects are there already.
    let same_start = held.commit.as_deref() == commit && held.tree.as_deref() == tree;
    if !same_start {
        held.uncommitted.clear();
        held.tree = None;
    }
    let kept: Vec<String> = held.base.iter().chain(&held.uncommitted).cloned().collect();
    remove_packs_but(&packs, &kept);
    if let Some(new) = commit
        && held.commit.as_deref() != Some(new)
    {
        let mut revs = format!("--shallow {new}\n{new}\n");
        if let Some(old) = held.commit.as_deref().filter(|_| keep_base) {
            revs.push_str(&format!("^{old}^{{tree}}\n"));
        }
        held.base.extend(pack_into(origin, &packs, &revs)?);
    }
    held.commit = commit.map(str::to_string);
    if let Some(tree) = tree.filter(|_| !same_start) {
        let revs = match commit {
            Some(commit) => format!("{tree}\n^{commit}^{{tree}}\n"),
            None => format!("{tree}\n"),
        };
        held.uncommitted = pack_into(origin, &packs, &revs)?;
        held.tree = Some(tree.to_string());
    }
    held.write(dir)
}

/// Packs the objects `revs` (`git rev-list` arguments, one a line) name
/// from the repository at `origin` into the store whose pack directory is
/// `packs`; the names of the packs written.
fn pack_into(origin: &Path, packs: &Path, revs: &str) -> Result<Vec<String>, WorkspaceError> {
    let out = Git::private(origin)
        .args(["pack-objects", "--revs", "--window=0", "-q"])
        .arg(packs.join("pack"))
        .input(revs)
        .text()?;
    Ok(out
        .lines()
        .map(str::trim)
        .filter(|name| is_object_id(name))
        .map(str::to_string)
        .collect())
}

/// Removes every pack in `packs` (and its index and other companions)
/// whose name is not in `keep`.
fn remove_packs_but(packs: &Path, keep: &[String]) {
    let Ok(entries) = std::fs::read_dir(packs) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let id = name
            .strip_prefix("pack-")
            .and_then(|rest| rest.split('.').next())
            .unwrap_or("");
        if !keep.iter().any(|k| k == id) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Points the slot's `HEAD` at `commit` (detached; the commit a shallow
/// root, its history not in the slot), or at an unborn branch before the
/// first commit.
fn set_head(dir: &Path, commit: Option<&str>) -> Result<(), WorkspaceError> {
    let git_dir = dir.join(".git");
    let shallow = git_dir.join("shallow");
    let head = match commit {
        Some(commit) => {
            std::fs::write(&shallow, format!("{commit}\n"))
                .map_err(io("cannot set up the workspace's git"))?;
            format!("{commit}\n")
        }
        None => {
            let _ = std::fs::remove_file(&shallow);
            "ref: refs/heads/main\n".to_string()
        }
    };
    std::fs::write(git_dir.join("HEAD"), head).map_err(io("cannot set up the workspace's git"))
}

/// Removes the loose objects of the slot's own store (`objects/xx/`).
/// Best effort: a leftover only costs disk.
fn prune_loose_objects(objects: &Path) {
    let Ok(entries) = std::fs::read_dir(objects) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// git in the user's repository, with the user's own configuration
/// (ignore rules, identity).
fn user_git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, WorkspaceError> {
    Ok(Git::user(dir).args(args).output()?)
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

pub mod checkout;
pub mod gc;

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

/// A summary of a patch: (path, lines added, lines removed) per file, from
/// the one reading of it ([`crate::patch::files`]): every file, quoted
/// names included.
pub fn diffstat(patch: &str) -> Vec<(String, usize, usize)> {
    crate::patch::files(patch)
        .into_iter()
        .map(|f| (f.path, f.additions, f.deletions))
        .collect()
}

fn share_build_caches(origin: &Path, ws: &mut Workspace) -> Result<(), WorkspaceError> {
    if origin.join("Cargo.toml").is_file() {
        // A scratch target directory in the run's own temp dir, gone with
        // the run; a live run of a task swaps in that task's cache
        // ([`Workspace::use_task_cache`]).
        let target = ws.tmp.join("cargo-target");
        ws.env.push((
            "CARGO_TARGET_DIR".to_string(),
            target.to_string_lossy().into_owned(),
        ));
    }
    link_tools(origin, ws)
}

/// Toolchain directories developers keep, ignored, at the root of a
/// project: linked into the workspace read-only (see "The project where it
/// expects itself").
pub const TOOL_DIRS: &[&str] = &[".venv", "node_modules", "venv"];

/// Lockfiles at the root of a project: one the user's ignore rules keep
/// out is part of the start all the same (see "The project where it
/// expects itself").
pub const LOCKFILES: &[&str] = &[
    "Cargo.lock",
    "Gemfile.lock",
    "Pipfile.lock",
    "composer.lock",
    "go.sum",
    "npm-shrinkwrap.json",
    "package-lock.json",
    "pdm.lock",
    "pnpm-lock.yaml",
    "poetry.lock",
    "uv.lock",
    "yarn.lock",
];

/// A toolchain directory of the user's tree the workspace links to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolLink {
    /// Its name at the root (`.venv`, `venv`, `node_modules`).
    pub name: String,
    /// Where the workspace's link leads: `<slot>.links/<name>`, itself a
    /// link to `source` on the host (the full sandbox level binds `source`
    /// there instead).
    pub at: PathBuf,
    /// The user's directory, canonical.
    pub source: PathBuf,
}

/// Links each toolchain directory of [`TOOL_DIRS`] the user's tree has and
/// the workspace lacks (it is ignored) into the workspace:
/// `<workspace>/<name>` → `<slot>.links/<name>` → the user's directory.
/// The links are kept out of the run's diff (the slot's `info/exclude`)
/// and out of `git clean` between rounds. A virtual environment's
/// editable installs that point into the user's tree give
/// [`Workspace::python_paths`].
fn link_tools(origin: &Path, ws: &mut Workspace) -> Result<(), WorkspaceError> {
    let links = Slot::new(ws.dir.clone()).links;
    force_remove(&links)?;
    private_dir(&links)?;
    let mut excluded = String::new();
    for name in TOOL_DIRS {
        let Ok(source) = std::fs::canonicalize(origin.join(name)) else {
            continue;
        };
        let in_slot = ws.dir.join(name);
        // In the copy already: tracked, or not ignored.
        if !source.is_dir() || in_slot.symlink_metadata().is_ok() {
            continue;
        }
        let at = links.join(name);
        std::os::unix::fs::symlink(&source, &at)
            .and_then(|()| std::os::unix::fs::symlink(&at, &in_slot))
            .map_err(io(format!("cannot link {name} into the workspace")))?;
        excluded.push_str(&format!("/{name}\n"));
        ws.tools.push(ToolLink {
            name: name.to_string(),
            at,
            source,
        });
    }
    let info = ws.dir.join(".git/info");
    std::fs::create_dir_all(&info).map_err(io("cannot write the workspace's excludes"))?;
    std::fs::write(info.join("exclude"), excluded)
        .map_err(io("cannot write the workspace's excludes"))?;
    let origin = std::fs::canonicalize(origin).unwrap_or_else(|_| origin.to_path_buf());
    for tool in &ws.tools {
        for path in editable_paths(&tool.source, &origin) {
            let mapped = ws.dir.join(path);
            if !ws.python_paths.contains(&mapped) {
                ws.python_paths.push(mapped);
            }
        }
    }
    Ok(())
}

/// The directories of the user's tree at `origin` (relative to it) that
/// the editable installs of the virtual environment `venv` put on Python's
/// path, in the order Python reads them: the absolute lines of its
/// `site-packages/*.pth` files (setuptools' lenient mode, hatchling, flit,
/// pdm, `setup.py develop`) and the package directories in setuptools'
/// `__editable__*_finder.py` mappings (their parents). Nothing when `venv`
/// is not a virtual environment.
pub fn editable_paths(venv: &Path, origin: &Path) -> Vec<PathBuf> {
    if !venv.join("pyvenv.cfg").is_file() {
        return Vec::new();
    }
    let mut site_packages: Vec<PathBuf> = ["lib", "lib64"]
        .iter()
        .filter_map(|lib| std::fs::read_dir(venv.join(lib)).ok())
        .flat_map(|dir| dir.flatten())
        .filter(|e| e.file_name().to_string_lossy().starts_with("python"))
        .map(|e| e.path().join("site-packages"))
        .filter(|p| p.is_dir())
        .collect();
    site_packages.sort();
    site_packages
        .dedup_by(|a, b| std::fs::canonicalize(&*a).ok() == std::fs::canonicalize(&*b).ok());
    let inside = |text: &str| -> Option<PathBuf> {
        let path = Path::new(text.trim());
        let rest = path.strip_prefix(origin).ok()?;
        (!rest
            .components()
            .any(|c| c == std::path::Component::ParentDir))
        .then(|| rest.to_path_buf())
    };
    let mut out: Vec<PathBuf> = Vec::new();
    for dir in site_packages {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        // Python reads `.pth` files in name order.
        names.sort();
        for name in names {
            let Ok(text) = std::fs::read_to_string(dir.join(&name)) else {
                continue;
            };
            let found: Vec<PathBuf> = if name.ends_with(".pth") {
                text.lines()
                    .filter(|l| !l.starts_with("import ") && !l.starts_with('#'))
                    .filter_map(inside)
                    .collect()
            } else if name.starts_with("__editable__") && name.ends_with("_finder.py") {
                quoted_paths(&text)
                    .iter()
                    .filter_map(|p| inside(p))
                    .map(|rest| {
                        let full = origin.join(&rest);
                        let package = full.join("__init__.py").is_file()
                            || rest.extension().is_some_and(|e| e == "py");
                        match (package, rest.parent()) {
                            (true, Some(parent)) => parent.to_path_buf(),
                            _ => rest,
                        }
                    })
                    .collect()
            } else {
                continue;
            };
            for path in found {
                if !out.contains(&path) {
                    out.push(path);
                }
            }
        }
    }
    out
}

/// The absolute paths in quotes in Python source (`'/repo/src/pkg'`).
fn quoted_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for quote in ['\'', '"'] {
        let mut parts = text.split(quote);
        parts.next();
        // Every other piece is inside quotes.
        for (i, piece) in parts.enumerate() {
            if i % 2 == 0 && piece.starts_with('/') && !piece.contains('\n') {
                out.push(piece.to_string());
            }
        }
    }
    out
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
    use std::process::Command;

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
            std::fs::read_dir(dir.join(".git/objects/pack"))
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
        // The same slot again (another test's fork may hold its lock a
        // moment: `reclaim` waits for it, where a plain create would take
        // the next slot and leave this one's packs to look at).
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
    fn editable_installs_of_a_venv_name_the_directories_they_put_on_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let origin = dir.path().join("repo");
        let site = origin.join(".venv/lib/python3.12/site-packages");
        write(&origin, ".venv/pyvenv.cfg", "home = /usr/bin\n");
        write(&origin, "src/pkg/__init__.py", "");
        write(&origin, "flat/mod_a/__init__.py", "");
        write(&origin, "flat/single.py", "");
        // setuptools' lenient mode, hatchling: a path line; `import` lines
        // and paths outside the repository are not the project's.
        write(
            &site,
            "__editable__.pkg-1.0.pth",
            &format!(
                "{}\nimport os\n/usr/lib/elsewhere\n{}/../escape\n",
                origin.join("src").display(),
                origin.display()
            ),
        );
        // setuptools' finder: package directories and single modules.
        write(
            &site,
            "__editable___flat_1_0_finder.py",
            &format!(
                "MAPPING: dict[str, str] = {{'mod_a': '{}', 'single': \"{}\"}}\nNAMESPACES = {{}}\n",
                origin.join("flat/mod_a").display(),
                origin.join("flat/single.py").display()
            ),
        );
        write(&site, "__editable___flat_1_0_finder.pyc.txt", "ignored\n");
        let paths = editable_paths(&origin.join(".venv"), &origin);
        assert_eq!(paths, vec![PathBuf::from("src"), PathBuf::from("flat")]);
        // Not a virtual environment: nothing.
        std::fs::remove_file(origin.join(".venv/pyvenv.cfg")).unwrap();
        assert!(editable_paths(&origin.join(".venv"), &origin).is_empty());
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
    fn remove_slots(origin: &Path) {
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

    /// A new workspace of `origin` in the slot at `dir`, the one an earlier
    /// workspace of this test used. Another test's thread forking a process
    /// at the moment the slot is claimed briefly shares its lock (until the
    /// child's exec closes it), so the claim is retried a few times.
    fn reclaim(origin: &Path, dir: &Path) -> Workspace {
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

    /// Whether the slot's git at `dir` holds the object `id`.
    fn holds(dir: &Path, id: &str) -> bool {
        Git::private(dir).args(["cat-file", "-e", id]).succeeds()
    }

    fn blob_of(dir: &Path, text: &str) -> String {
        Git::private(dir)
            .args(["hash-object", "--stdin"])
            .input(text)
            .text()
            .unwrap()
    }

    fn packs_in(dir: &Path) -> usize {
        std::fs::read_dir(dir.join(".git/objects/pack"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".pack"))
            .count()
    }

    #[test]
    fn the_slots_store_holds_what_the_start_reaches_and_follows_head_incrementally() {
        let origin = tempfile::tempdir().unwrap();
        let o = origin.path();
        run_git(o, &["init", "-q", "-b", "main"]);
        write(o, "a.txt", "first\n");
        run_git(o, &["add", "-A"]);
        run_git(o, &["commit", "-q", "-m", "one"]);
        run_git(o, &["checkout", "-q", "-b", "other"]);
        write(o, "other.txt", "other branch only\n");
        run_git(o, &["add", "-A"]);
        run_git(o, &["commit", "-q", "-m", "other"]);
        let other = run_git(o, &["rev-parse", "HEAD"]).trim().to_string();
        run_git(o, &["checkout", "-q", "main"]);
        let head = |o: &Path| {
            let c = run_git(o, &["rev-parse", "HEAD"]).trim().to_string();
            let t = run_git(o, &["rev-parse", "HEAD^{tree}"]).trim().to_string();
            (c, t)
        };
        let slot = tempfile::tempdir().unwrap();
        let s = slot.path();
        run_git(s, &["init", "-q", "--template="]);

        // The first start: its commit, tree and an uncommitted file.
        let (c1, t1) = head(o);
        write(o, "wip.txt", "uncommitted once\n");
        run_git(o, &["add", "wip.txt"]);
        let start = run_git(o, &["write-tree"]).trim().to_string();
        run_git(o, &["rm", "-q", "--cached", "wip.txt"]);
        std::fs::remove_file(o.join("wip.txt")).unwrap();
        sync_objects(o, s, Some(&c1), Some(&start)).unwrap();
        set_head(s, Some(&c1)).unwrap();
        for id in [&c1, &t1, &start, &blob_of(o, "first\n")] {
            assert!(holds(s, id), "{id}");
        }
        assert!(holds(s, &blob_of(o, "uncommitted once\n")));
        assert!(!holds(s, &other), "another branch's commit");
        assert!(!holds(s, &blob_of(o, "other branch only\n")));
        assert_eq!(
            run_git(s, &["log", "-1", "--format=%s"]).trim(),
            "one",
            "HEAD is the start commit"
        );
        assert_eq!(packs_in(s), 2, "the commit's pack and the uncommitted one");
        // The same start again: nothing copied, nothing dropped.
        let before = HeldObjects::read(s);
        sync_objects(o, s, Some(&c1), Some(&start)).unwrap();
        assert_eq!(HeldObjects::read(s), before);
        assert!(holds(s, &blob_of(o, "uncommitted once\n")));

        // HEAD moves forward: one pack more, with only what is new; the
        // last start's uncommitted objects are gone.
        write(o, "b.txt", "second\n");
        run_git(o, &["add", "-A"]);
        run_git(o, &["commit", "-q", "-m", "two"]);
        let (c2, t2) = head(o);
        sync_objects(o, s, Some(&c2), None).unwrap();
        assert!(holds(s, &t2));
        assert_eq!(packs_in(s), 2, "the first commit's pack and the new one");
        assert!(holds(s, &c2) && holds(s, &blob_of(o, "second\n")));
        assert!(holds(s, &blob_of(o, "first\n")));
        assert!(!holds(s, &blob_of(o, "uncommitted once\n")));
        let held = HeldObjects::read(s);
        assert_eq!(held.commit.as_deref(), Some(c2.as_str()));
        let newest = held.base.last().unwrap();
        let listed = run_git(
            s,
            &[
                "verify-pack",
                "-v",
                &format!(".git/objects/pack/pack-{newest}.idx"),
            ],
        );
        let objects = listed
            .lines()
            .filter(|l| l.len() > 40 && is_object_id(&l[..40]));
        assert_eq!(objects.count(), 3, "commit, tree, new blob: {listed}");

        // The same start again: nothing to copy.
        sync_objects(o, s, Some(&c2), None).unwrap();
        assert_eq!(HeldObjects::read(s).base, held.base);

        // Another branch: not a descendant, so the store is made again and
        // holds nothing of main's own commits.
        run_git(o, &["checkout", "-q", "other"]);
        sync_objects(o, s, Some(&other), None).unwrap();
        assert_eq!(packs_in(s), 1);
        assert!(holds(s, &other) && holds(s, &blob_of(o, "other branch only\n")));
        assert!(!holds(s, &c2) && !holds(s, &blob_of(o, "second\n")));

        // An older wf's slot borrowed the user's store: that goes too.
        let alternates = s.join(".git/objects/info/alternates");
        std::fs::create_dir_all(alternates.parent().unwrap()).unwrap();
        std::fs::write(
            &alternates,
            format!("{}\n", o.join(".git/objects").display()),
        )
        .unwrap();
        std::fs::remove_file(HeldObjects::path(s)).unwrap();
        sync_objects(o, s, Some(&c1), None).unwrap();
        assert!(!alternates.exists());
        assert!(!holds(s, &other));

        // A revision that is not a commit id is refused.
        let err = sync_objects(o, s, Some("--all"), None).unwrap_err();
        assert!(err.to_string().contains("not a commit id"), "{err}");
    }

    fn cargo_target(ws: &Workspace) -> PathBuf {
        let (_, dir) = ws
            .env
            .iter()
            .find(|(k, _)| k == "CARGO_TARGET_DIR")
            .unwrap();
        PathBuf::from(dir)
    }

    #[test]
    fn a_tasks_build_cache_is_its_own_held_by_one_run_and_kept_only_when_told() {
        let origin = repo();
        let o = origin.path();
        write(o, "Cargo.toml", "[package]\nname = \"x\"\n");
        // Without a task: a scratch directory of the run.
        let mut first = Workspace::create(o, "r").unwrap();
        assert!(cargo_target(&first).starts_with(&first.tmp));
        first.use_task_cache("task-a").unwrap();
        let cache = cargo_target(&first);
        assert!(cache.is_dir() && first.sandbox_write.contains(&cache));
        // A concurrent run of the same task gets another directory; another
        // task, another one again.
        let mut second = Workspace::create(o, "r").unwrap();
        second.use_task_cache("task-a").unwrap();
        assert_ne!(cargo_target(&second), cache);
        drop(second);
        let mut other = Workspace::create(o, "r").unwrap();
        other.use_task_cache("task-b").unwrap();
        assert_ne!(cargo_target(&other), cache);
        drop(other);
        // Not kept: the next run of the task finds it empty.
        std::fs::write(cache.join("left"), "by a command").unwrap();
        drop(first);
        let mut next = Workspace::create(o, "r").unwrap();
        next.use_task_cache("task-a").unwrap();
        assert_eq!(cargo_target(&next), cache);
        assert!(!cache.join("left").exists());
        // Kept: the next run finds what this one left.
        std::fs::write(cache.join("left"), "by a command").unwrap();
        next.keep_build_cache().unwrap();
        drop(next);
        let mut after = Workspace::create(o, "r").unwrap();
        after.use_task_cache("task-a").unwrap();
        assert!(cache.join("left").exists());
        // ... and only for that run: in use again, it is unkept until told.
        assert!(!cache.with_extension("kept").exists());
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
    fn after_unconfined_commands_the_slot_is_made_anew() {
        let origin = repo();
        let o = origin.path();
        let first = Workspace::create(o, "r1").unwrap();
        first.mark_unconfined().unwrap();
        // An unconfined command can write the copy's own git: a planted
        // config and an index that claims a changed file is unchanged.
        std::fs::write(first.dir.join(".git/config"), "[core]\n\tbare = true\n").unwrap();
        write(&first.dir, ".git/planted", "x\n");
        let dir = first.dir.clone();
        drop(first);
        let second = reclaim(o, &dir);
        assert!(!second.dir.join(".git/planted").exists());
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

    #[test]
    fn index_entries_reads_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("index");
        let mut header = b"DIRC\0\0\0\x02".to_vec();
        header.extend(1234u32.to_be_bytes());
        std::fs::write(&f, &header).unwrap();
        assert_eq!(index_entries(&f), Some(1234));
        std::fs::write(&f, b"XXXX\0\0\0\x02\0\0\0\x01").unwrap();
        assert_eq!(index_entries(&f), None);
        std::fs::write(&f, b"DIRC").unwrap();
        assert_eq!(index_entries(&f), None);
    }
}
