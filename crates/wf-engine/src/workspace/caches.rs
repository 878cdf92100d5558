//! The task's build and package caches, and when a later run may trust
//! them.
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

use super::{Workspace, WorkspaceError, force_remove, io, link_tools, private_dir, private_root};
use crate::hash::sha256_hex;
use crate::sys::lock::FileLock;
use std::path::{Path, PathBuf};

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
pub(super) struct BuildCache {
    /// `$TMPDIR/wf-<uid>/wf-cache-<repository>/cargo-<task>-<n>`.
    dir: PathBuf,
    /// `<dir>.kept`: present while the directory holds only what runs whose
    /// change was applied left in it.
    kept: PathBuf,
    /// Held while the run uses it: no other run writes it meanwhile.
    _lock: FileLock,
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
}

pub(super) fn share_build_caches(origin: &Path, ws: &mut Workspace) -> Result<(), WorkspaceError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::tests::{released, repo, write};

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
        released(&cache.with_extension("lock"));
        let mut next = Workspace::create(o, "r").unwrap();
        next.use_task_cache("task-a").unwrap();
        assert_eq!(cargo_target(&next), cache);
        assert!(!cache.join("left").exists());
        // Kept: the next run finds what this one left.
        std::fs::write(cache.join("left"), "by a command").unwrap();
        next.keep_build_cache().unwrap();
        drop(next);
        released(&cache.with_extension("lock"));
        let mut after = Workspace::create(o, "r").unwrap();
        after.use_task_cache("task-a").unwrap();
        assert!(cache.join("left").exists());
        // ... and only for that run: in use again, it is unkept until told.
        assert!(!cache.with_extension("kept").exists());
    }
}
