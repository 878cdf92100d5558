//! `.wf/` on disk: the run folders and how a `RUN` argument names one.
//!
//! ```text
//! .wf/.gitignore                  # `*`: .wf keeps itself out of version control
//! .wf/runs/<run-id>/trace.jsonl   # every event, appended as it happens
//! .wf/runs/<run-id>/diff.patch    # the run's change (git apply compatible)
//! .wf/runs/<run-id>/summary.json  # the outcome
//! ```
//!
//! Run ids are `YYYYMMDD-HHMMSS-mmm-xxxx` (UTC, milliseconds, 4 hex digits
//! against collisions), so they sort by creation time.

use std::path::{Path, PathBuf};

/// The `.wf` folder of one repository.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// One run's folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// The run id.
    pub id: String,
    /// The folder.
    pub path: PathBuf,
}

impl RunDir {
    /// `trace.jsonl`.
    pub fn trace(&self) -> PathBuf {
        self.path.join("trace.jsonl")
    }
    /// `diff.patch`.
    pub fn diff(&self) -> PathBuf {
        self.path.join("diff.patch")
    }
    /// `summary.json`.
    pub fn summary(&self) -> PathBuf {
        self.path.join("summary.json")
    }
    /// `checks/NAME.ROUND.log`: all a check printed in a round, as
    /// captured (the trace keeps the end of it).
    pub fn check_log(&self, name: &str, round: u32) -> PathBuf {
        self.path.join("checks").join(format!("{name}.{round}.log"))
    }
}

impl Store {
    /// The store of the repository at `root` (nothing is created yet).
    pub fn new(root: &Path) -> Store {
        Store {
            dir: root.join(".wf"),
        }
    }

    fn runs(&self) -> PathBuf {
        self.dir.join("runs")
    }

    /// Creates `.wf/runs` and `.wf/.gitignore` when missing.
    pub fn ensure(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(self.runs())?;
        let ignore = self.dir.join(".gitignore");
        if !ignore.exists() {
            std::fs::write(
                ignore,
                "# Written by wf: run records stay out of version control.\n*\n",
            )?;
        }
        Ok(())
    }

    /// Creates a new run folder with a fresh id.
    pub fn create_run(&self) -> std::io::Result<RunDir> {
        self.ensure()?;
        let stamp = crate::sys::clock::id_stamp();
        let mut seed = std::process::id() as u64
            ^ (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos() as u64));
        for _ in 0..64 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let id = format!("{stamp}-{:04x}", (seed >> 48) & 0xffff);
            let path = self.runs().join(&id);
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(RunDir { id, path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("could not find a free run id"))
    }

    /// Every run id, newest first.
    pub fn list(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.runs()) else {
            return Vec::new();
        };
        let mut ids: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().join("trace.jsonl").exists())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        ids.reverse();
        ids
    }

    /// The run a `RUN` argument names: an id, an unambiguous prefix, or `last`.
    pub fn resolve(&self, query: &str) -> Result<RunDir, String> {
        let ids = self.list();
        if ids.is_empty() {
            return Err(format!("no runs recorded in {}", self.runs().display()));
        }
        let id = if query == "last" {
            ids[0].clone()
        } else {
            let matches: Vec<&String> = ids.iter().filter(|id| id.starts_with(query)).collect();
            match matches.as_slice() {
                [one] => (*one).clone(),
                [] => return Err(format!("no run matches `{query}`; `wf runs` lists them")),
                many => {
                    return Err(format!(
                        "`{query}` matches {} runs ({}, …); give more of the id",
                        many.len(),
                        many.iter()
                            .take(3)
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        };
        Ok(RunDir {
            path: self.runs().join(&id),
            id,
        })
    }
}

/// Exclusive use of a run by one process (a live run, approve, reject,
/// resume). Held while the value lives; the kernel releases it when its
/// process ends, however it ends.
#[derive(Debug)]
pub struct RunLock {
    _lock: crate::sys::lock::FileLock,
}

impl RunLock {
    /// Locks `run`, or says which process holds it.
    pub fn acquire(run: &RunDir) -> Result<RunLock, String> {
        match crate::sys::lock::take(&run.path.join("lock"))
            .map_err(|e| format!("cannot lock run {}: {e}", run.id))?
        {
            crate::sys::lock::Taken::Yes(lock) => Ok(RunLock { _lock: lock }),
            crate::sys::lock::Taken::HeldBy(pid) => Err(format!(
                "run {} is in use by another wf process (pid {pid}); try again when it is done",
                run.id
            )),
        }
    }

    /// Whether a live wf process holds `run` now.
    pub fn is_held(run: &RunDir) -> bool {
        crate::sys::lock::is_held(&run.path.join("lock"))
    }
}
