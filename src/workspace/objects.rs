//! The slot's own object store: only what the start reaches.
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

use super::{WorkspaceError, io};
use crate::sys::git::Git;
use std::path::{Path, PathBuf};

/// The most packs a slot's store collects, one per move of `HEAD`, before
/// it is made again in one pack.
const MAX_PACKS: usize = 16;

/// What a slot's own object store holds, kept in its `.git` (which
/// commands see read-only): the start commit whose objects it has, the
/// packs holding them, and the pack of the starting tree's uncommitted
/// objects.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct HeldObjects {
    pub(super) commit: Option<String>,
    pub(super) base: Vec<String>,
    /// The starting tree whose uncommitted objects `uncommitted` holds.
    tree: Option<String>,
    uncommitted: Vec<String>,
}

impl HeldObjects {
    pub(super) fn path(dir: &Path) -> PathBuf {
        dir.join(".git/wf-objects")
    }

    pub(super) fn read(dir: &Path) -> HeldObjects {
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
pub(super) fn is_object_id(id: &str) -> bool {
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
pub(super) fn sync_objects(
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
pub(super) fn set_head(dir: &Path, commit: Option<&str>) -> Result<(), WorkspaceError> {
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
