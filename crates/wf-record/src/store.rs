//! `.wf/` on disk: the run folders and how a `RUN` argument names one.
//!
//! ```text
//! .wf/.gitignore                  # `*`: .wf keeps itself out of version control
//! .wf/runs/<run-id>/trace.jsonl   # every event, appended as it happens
//! .wf/runs/<run-id>/diff.patch    # the run's change (git apply compatible)
//! .wf/runs/<run-id>/summary.json  # the outcome
//! .wf/runs/<run-id>/origin        # the mark: this user's wf made it here
//! ```
//!
//! Run ids are `YYYYMMDD-HHMMSS-mmm-xxxx` (UTC, milliseconds, 4 hex digits
//! against collisions), so they sort by creation time.
//!
//! `.wf/` sits in the repository, so a clone can bring one. wf never uses
//! state shipped that way ([`Store::open`] fails closed, naming why):
//!
//! - a `.wf` (or `.wf/runs`, `.wf/batches`, `.wf/.gitignore`) that is a
//!   symlink or not what it should be is refused: records would be written
//!   wherever the link points;
//! - a `.wf/` with anything tracked by git in it is refused: nothing a
//!   commit put there is read, executed or written;
//! - a run folder that is a symlink or holds one is refused when named;
//! - a run folder without this user's mark ([`super::origin`]) is
//!   *foreign*: `last` skips it, and acting on it needs `--foreign`.
//!
//! wf's caches are not here at all: they live in the user's cache
//! directory ([`crate::sys::user_dirs`]).

use std::path::{Path, PathBuf};

/// Why `.wf/` or a run in it cannot be used. Each is said with what to do
/// about it; none of them has changed anything.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `.wf` or one of its folders is a symbolic link.
    #[error(
        "{} is a symbolic link; wf keeps its run records only in a real `.wf/` folder of the \
         repository, never where a link points. Remove the link",
        .0.display()
    )]
    Link(PathBuf),
    /// `.wf` or one of its parts is a file where a folder belongs, or the
    /// other way round.
    #[error("{} is not a {}; remove it and wf makes its own", .path.display(), if *.want_dir { "directory" } else { "file" })]
    NotKind {
        /// What is there.
        path: PathBuf,
        /// Whether a folder belongs there.
        want_dir: bool,
    },
    /// git could not say what it tracks in `.wf/`.
    #[error("cannot ask git what it tracks in .wf/: {0}")]
    Git(String),
    /// git tracks files in `.wf/`: state that came with the repository.
    #[error(
        "git tracks files in {}/.wf/ (such as {first:?}): wf never reads, runs or writes state \
         that came with a repository. Look at what they are, then remove them from git \
         (`git rm -r --cached .wf`) or delete them",
        .root.display()
    )]
    Tracked {
        /// The repository.
        root: PathBuf,
        /// One of the tracked files.
        first: String,
    },
    /// No run is recorded here.
    #[error("no runs recorded in {}", .0.display())]
    NoRuns(PathBuf),
    /// `last` found no run of this user's.
    #[error(
        "no run in {} was started by you here: `last` names the newest run of yours, and the {} \
         there came from elsewhere (`wf runs` lists them; name one by its id)",
        .runs.display(),
        if *.count == 1 { "one" } else { "ones" }
    )]
    NoOwnRun {
        /// The runs folder.
        runs: PathBuf,
        /// How many runs are there.
        count: usize,
    },
    /// No run id starts with the query.
    #[error("no run matches `{0}`; `wf runs` lists them")]
    NoMatch(String),
    /// Several run ids start with the query.
    #[error("`{query}` matches {count} runs ({}, …); give more of the id", .first.join(", "))]
    Ambiguous {
        /// What was asked for.
        query: String,
        /// How many runs it matches.
        count: usize,
        /// The first three of them.
        first: Vec<String>,
    },
    /// The run folder is or holds a symbolic link.
    #[error(
        "run {id} holds a symbolic link ({}); wf never reads or writes a run record through a link",
        .link.display()
    )]
    LinkInRun {
        /// The run.
        id: String,
        /// The link.
        link: PathBuf,
    },
    /// The run's lock file cannot be taken or made.
    #[error("cannot lock run {id}: {source}")]
    Lock {
        /// The run.
        id: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another wf process has the run.
    #[error("run {id} is in use by another wf process (pid {pid}); try again when it is done")]
    InUse {
        /// The run.
        id: String,
        /// The process that holds it, as the lock file says.
        pid: String,
    },
}

/// The `.wf` folder of one repository.
#[derive(Debug, Clone)]
pub struct Store {
    /// The repository's canonical path (what run marks are bound to).
    root: PathBuf,
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
    /// The store of the repository at `root` (nothing is created yet),
    /// refused when `.wf` is a link or holds files git tracks (see the
    /// module documentation).
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let dir = root.join(".wf");
        for (path, want_dir) in [
            (dir.clone(), true),
            (dir.join("runs"), true),
            (dir.join("batches"), true),
            (dir.join(".gitignore"), false),
        ] {
            match std::fs::symlink_metadata(&path) {
                Err(_) => {}
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(StoreError::Link(path));
                }
                Ok(m) if m.is_dir() != want_dir => {
                    return Err(StoreError::NotKind { path, want_dir });
                }
                Ok(_) => {}
            }
        }
        if dir.exists() && crate::sys::git::is_git(&root) {
            let tracked = crate::sys::git::Git::private(&root)
                .args(["ls-files", "-z", "--", ".wf"])
                .output()
                .map_err(|e| StoreError::Git(e.stderr))?;
            if let Some(first) = tracked.split(|&b| b == 0).find(|p| !p.is_empty()) {
                return Err(StoreError::Tracked {
                    root,
                    first: String::from_utf8_lossy(first).into_owned(),
                });
            }
        }
        Ok(Store { root, dir })
    }

    /// The repository's canonical path.
    pub fn root(&self) -> &Path {
        &self.root
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

    /// Creates a new run folder with a fresh id, marked as this user's
    /// ([`super::origin::mark`]).
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
                Ok(()) => {
                    if let Err(e) = super::origin::mark(&path, &id, &self.root) {
                        let _ = std::fs::remove_dir_all(&path);
                        return Err(std::io::Error::other(format!(
                            "cannot mark the run folder as yours: {e}"
                        )));
                    }
                    return Ok(RunDir { id, path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("could not find a free run id"))
    }

    /// Every run id, newest first (run folders that are links left out).
    pub fn list(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.runs()) else {
            return Vec::new();
        };
        let mut ids: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter(|e| e.path().join("trace.jsonl").exists())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        ids.reverse();
        ids
    }

    /// Whether `run` carries this user's mark for this repository.
    pub fn is_own(&self, run: &RunDir) -> bool {
        super::origin::is_own(&run.path, &run.id, &self.root)
    }

    /// The run a `RUN` argument names: an id, an unambiguous prefix, or
    /// `last` (the newest run of this user's, [`Store::is_own`]). A run
    /// folder that holds a symbolic link is refused.
    pub fn resolve(&self, query: &str) -> Result<RunDir, StoreError> {
        let ids = self.list();
        if ids.is_empty() {
            return Err(StoreError::NoRuns(self.runs()));
        }
        let id = if query == "last" {
            let own = ids.iter().find(|id| {
                self.is_own(&RunDir {
                    id: id.to_string(),
                    path: self.runs().join(id),
                })
            });
            match own {
                Some(id) => id.clone(),
                None => {
                    return Err(StoreError::NoOwnRun {
                        runs: self.runs(),
                        count: ids.len(),
                    });
                }
            }
        } else {
            let matches: Vec<&String> = ids.iter().filter(|id| id.starts_with(query)).collect();
            match matches.as_slice() {
                [one] => (*one).clone(),
                [] => return Err(StoreError::NoMatch(query.to_string())),
                many => {
                    return Err(StoreError::Ambiguous {
                        query: query.to_string(),
                        count: many.len(),
                        first: many.iter().take(3).map(|s| s.to_string()).collect(),
                    });
                }
            }
        };
        let run = RunDir {
            path: self.runs().join(&id),
            id,
        };
        if let Some(link) = first_link(&run.path, 2) {
            return Err(StoreError::LinkInRun { id: run.id, link });
        }
        Ok(run)
    }
}

/// The first symbolic link at or under `path`, `depth` levels down.
fn first_link(path: &Path, depth: usize) -> Option<PathBuf> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if meta.file_type().is_symlink() {
        return Some(path.to_path_buf());
    }
    if !meta.is_dir() || depth == 0 {
        return None;
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    entries.iter().find_map(|p| first_link(p, depth - 1))
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
    pub fn acquire(run: &RunDir) -> Result<RunLock, StoreError> {
        match crate::sys::lock::take(&run.path.join("lock")).map_err(|source| StoreError::Lock {
            id: run.id.clone(),
            source,
        })? {
            crate::sys::lock::Taken::Yes(lock) => Ok(RunLock { _lock: lock }),
            crate::sys::lock::Taken::HeldBy(pid) => Err(StoreError::InUse {
                id: run.id.clone(),
                pid,
            }),
        }
    }

    /// Whether a live wf process holds `run` now.
    pub fn is_held(run: &RunDir) -> bool {
        crate::sys::lock::is_held(&run.path.join("lock"))
    }
}
