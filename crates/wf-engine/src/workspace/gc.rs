//! `wf gc`: removing workspace slots and build caches no run has used for
//! a while, never one a running wf holds.
//!
//! What is looked at: wf's private directory in the temp dir
//! ([`super::private_root`]): each slot (`wf-ws-<key>-<n>` with its
//! `.tmp`, `.origin-index`, `.origin-head`, `.unconfined` and `.links`
//! files next to it) and each repository's build caches (`wf-cache-<key>`).
//!
//! - **Last used**: a slot's lock file is rewritten (the holder's pid) each
//!   time a run claims the slot, so its modification time is the slot's
//!   last run; a cache was last used when any slot of its repository was
//!   (or, with no slot left, when it was made).
//! - **Never in use**: a slot is removed only while gc holds its lock, the
//!   same lock a run holds for as long as it uses the slot; a held one is
//!   skipped and reported. A cache is removed only while gc holds the locks
//!   of every slot of its repository.
//! - **Lock files stay** (a few bytes each): removing a lock file another
//!   process has just opened would let two processes hold "the same" lock
//!   (see [`crate::sys::lock`]).
//!
//! Package caches (`~/.cache/wf/packages/<repository>/<task>-<n>`, what a
//! task's commands downloaded when they could reach a registry, see
//! "Package caches" in [`super`]) are looked at the same way: last used
//! when a run last claimed one (its `.lock` file is rewritten then),
//! removed (with its `.kept` mark) only while gc holds that lock.
//!
//! Recipe repositories and the response cache in the user's cache
//! directory are left alone: they are not per run, and a `wf.lock` pin may
//! need a fetched recipe when the network is off.

use super::{WorkspaceError, force_remove, lock_path, private_root};
use crate::sys::lock::{FileLock, Taken};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What a slot's files are called next to it (besides `.lock`).
const SLOT_COMPANIONS: &[&str] = &[
    "tmp",
    "origin-index",
    "origin-head",
    "unconfined",
    "tampered",
    "links",
    "git",
];

/// One thing gc looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The slot or cache directory.
    pub path: PathBuf,
    /// `slot` or `cache`.
    pub kind: &'static str,
    /// Time since it was last used.
    pub unused: Duration,
    /// Bytes on disk (blocks allocated) of it and its companion files.
    pub bytes: u64,
}

/// What gc did.
#[derive(Debug, Default)]
pub struct Report {
    /// Removed, sorted by path.
    pub removed: Vec<Entry>,
    /// Old enough but held by a running wf, with the holder's pid.
    pub in_use: Vec<(Entry, String)>,
    /// Used more recently than the limit.
    pub kept: Vec<Entry>,
}

impl Report {
    /// Bytes reclaimed.
    pub fn reclaimed(&self) -> u64 {
        self.removed.iter().map(|e| e.bytes).sum()
    }
}

/// Removes every slot and cache not used for `older_than` (`None`: all of
/// them), except what a running wf holds.
pub fn collect(older_than: Option<Duration>) -> Result<Report, WorkspaceError> {
    let now = SystemTime::now();
    let mut report = collect_in(&private_root()?, older_than, now)?;
    // Without a cache directory (no HOME) there are no package caches.
    if let Ok(cache) = crate::sys::user_dirs::cache_dir() {
        collect_packages(&cache.join("packages"), older_than, now, &mut report)?;
    }
    report.removed.sort_by(|a, b| a.path.cmp(&b.path));
    report.in_use.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    report.kept.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

/// The package caches under `root` (`<repository>/<task>-<n>`) not used
/// for `older_than`, removed unless a run holds them, into `report`.
fn collect_packages(
    root: &Path,
    older_than: Option<Duration>,
    now: SystemTime,
    report: &mut Report,
) -> Result<(), WorkspaceError> {
    let Ok(repos) = std::fs::read_dir(root) else {
        return Ok(());
    };
    let mut dirs: Vec<PathBuf> = Vec::new();
    for repo in repos.filter_map(Result::ok) {
        if !repo.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(tasks) = std::fs::read_dir(repo.path()) else {
            continue;
        };
        dirs.extend(
            tasks
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .filter(|p| p.extension().is_none()),
        );
    }
    dirs.sort();
    for dir in dirs {
        let lock = dir.with_extension("lock");
        let unused = age(&lock, now)
            .or_else(|| age(&dir, now))
            .unwrap_or(Duration::ZERO);
        let entry = Entry {
            bytes: disk_bytes(&dir),
            path: dir.clone(),
            kind: "package cache",
            unused,
        };
        if older_than.is_some_and(|limit| unused < limit) {
            report.kept.push(entry);
            continue;
        }
        match crate::sys::lock::take(&lock).map_err(super::io("cannot lock a package cache"))? {
            Taken::HeldBy(pid) => report.in_use.push((entry, pid)),
            Taken::Yes(_held) => {
                force_remove(&dir)?;
                let _ = std::fs::remove_file(dir.with_extension("kept"));
                report.removed.push(entry);
            }
        }
    }
    Ok(())
}

/// [`collect`] in wf's private directory `root`, at time `now`.
fn collect_in(
    root: &Path,
    older_than: Option<Duration>,
    now: SystemTime,
) -> Result<Report, WorkspaceError> {
    let mut slots: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new(); // key -> slot dirs
    let mut caches: Vec<(String, PathBuf)> = Vec::new();
    let read =
        std::fs::read_dir(root).map_err(super::io(format!("cannot read {}", root.display())))?;
    for entry in read.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(rest) = name.strip_prefix("wf-ws-") {
            // The slot itself, or a companion whose slot dir is gone.
            let base = match rest.split_once('.') {
                Some((base, ext)) if SLOT_COMPANIONS.contains(&ext) || ext == "lock" => base,
                Some(_) => continue,
                None => rest,
            };
            let Some((key, _)) = base.rsplit_once('-') else {
                continue;
            };
            let dir = root.join(format!("wf-ws-{base}"));
            let list = slots.entry(key.to_string()).or_default();
            if !list.contains(&dir) {
                list.push(dir);
            }
        } else if let Some(key) = name.strip_prefix("wf-cache-") {
            caches.push((key.to_string(), entry.path()));
        }
    }
    // Ages first: taking a lock rewrites its file.
    let age = |path: &Path| age(path, now);
    let slot_age = |dir: &Path| {
        age(&lock_path(dir))
            .or_else(|| age(dir))
            .unwrap_or(Duration::ZERO)
    };
    let old = |unused: Duration| older_than.is_none_or(|limit| unused >= limit);
    let mut report = Report::default();
    let mut cache_entries = Vec::new();
    for (key, path) in &caches {
        let unused = slots
            .get(key)
            .and_then(|dirs| {
                dirs.iter()
                    .filter(|d| d.exists())
                    .map(|d| slot_age(d))
                    .min()
            })
            .or_else(|| age(path))
            .unwrap_or(Duration::ZERO);
        cache_entries.push((key.clone(), path.clone(), unused));
    }
    // Only slots with something left: a lock file stays after its slot
    // is removed (and gc's own taking of it rewrote it).
    let exists = |dir: &Path| {
        std::iter::once(dir.to_path_buf())
            .chain(SLOT_COMPANIONS.iter().map(|ext| dir.with_extension(ext)))
            .any(|f| f.symlink_metadata().is_ok())
    };
    let mut slot_entries = Vec::new();
    for dirs in slots.values() {
        for dir in dirs.iter().filter(|d| exists(d)) {
            slot_entries.push((dir.clone(), slot_age(dir)));
        }
    }
    for (key, path, unused) in cache_entries {
        let entry = Entry {
            bytes: disk_bytes(&path),
            path,
            kind: "cache",
            unused,
        };
        if !old(unused) {
            report.kept.push(entry);
            continue;
        }
        // Every slot of the repository held by gc: no run can use the cache.
        let mut held: Vec<FileLock> = Vec::new();
        let mut holder = None;
        for dir in slots.get(&key).into_iter().flatten() {
            match take(dir)? {
                Taken::Yes(lock) => held.push(lock),
                Taken::HeldBy(pid) => {
                    holder = Some(pid);
                    break;
                }
            }
        }
        match holder {
            Some(pid) => report.in_use.push((entry, pid)),
            None => {
                force_remove(&entry.path)?;
                report.removed.push(entry);
            }
        }
    }
    for (dir, unused) in slot_entries {
        let files: Vec<PathBuf> = std::iter::once(dir.clone())
            .chain(SLOT_COMPANIONS.iter().map(|ext| dir.with_extension(ext)))
            .collect();
        let entry = Entry {
            bytes: files.iter().map(|f| disk_bytes(f)).sum(),
            path: dir.clone(),
            kind: "slot",
            unused,
        };
        if !old(unused) {
            report.kept.push(entry);
            continue;
        }
        match take(&dir)? {
            Taken::HeldBy(pid) => report.in_use.push((entry, pid)),
            Taken::Yes(_lock) => {
                for f in &files {
                    match f.symlink_metadata() {
                        Ok(m) if m.is_dir() => force_remove(f)?,
                        Ok(_) => std::fs::remove_file(f)
                            .map_err(super::io(format!("cannot remove {}", f.display())))?,
                        Err(_) => {}
                    }
                }
                report.removed.push(entry);
            }
        }
    }
    report.removed.sort_by(|a, b| a.path.cmp(&b.path));
    report.in_use.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    report.kept.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

/// Time since `path` was last modified (its own, links not followed), at
/// time `now`; `None` when it is gone.
fn age(path: &Path, now: SystemTime) -> Option<Duration> {
    path.symlink_metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| now.duration_since(t).ok())
}

fn take(slot: &Path) -> Result<Taken, WorkspaceError> {
    crate::sys::lock::take(&lock_path(slot)).map_err(super::io("cannot lock a workspace slot"))
}

/// Bytes allocated on disk to `path` and, for a directory, all under it
/// (symlinks not followed).
fn disk_bytes(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = path.symlink_metadata() else {
        return 0;
    };
    let own = meta.blocks() * 512;
    if !meta.is_dir() {
        return own;
    }
    own + std::fs::read_dir(path)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| disk_bytes(&e.path()))
                .sum::<u64>()
        })
        .unwrap_or(0)
}
