//! `wf batch`: one task run in many repositories on this machine, within a
//! budget, with a record of what happened.
//!
//! # What a batch is
//!
//! - **The repositories** come from a repos file ([`crate::app::repos`],
//!   the format `wf emit` reads too): local paths, or git
//!   URLs cloned (with the user's git credentials, [`crate::sys::git::Git::remote`])
//!   into `repos/` of the batch folder, each with its own inputs.
//! - **Each repository gets an ordinary `wf run`** in it: a child process
//!   of this binary ([`child`]), with its own workspace, trace, checkpoints
//!   and run folder in that repository's `.wf/runs/`. The batch only starts
//!   runs and reads their events.
//! - **The batch folder** (`--dir`, by default
//!   `.wf/batches/<task name>-<fingerprint prefix>` at the current
//!   repository's root) holds `batch.json` ([`manifest`]), `shared.json`
//!   and `slots/` ([`crate::batch_share`]), `logs/` (each repository's
//!   `wf run` stderr) and `repos/` (clones). `batch.lock` keeps a second
//!   `wf batch` off the same folder.
//! - **It resumes**: the fingerprint is a hash of the task's canonical
//!   hash, the batch's inputs and `--dry-run`, so the same command finds
//!   the same folder. A repository whose run finished (any final status:
//!   succeeded, checks failed, rejected, a limit…) is not started again; a
//!   paused run is not either (it waits for `wf approve`/`wf resume` in its
//!   repository; the batch reads its status again each time). An
//!   interrupted run, a repository error, a repository skipped for the
//!   budget, or one never reached is started (a new run) the next time.
//!   Statuses are read again from each run's own trace before anything
//!   starts, so a batch killed before it could write a run's end still
//!   counts it right.
//! - **The budget** (`--max-cost-usd`): once the batch's runs have spent
//!   that much (their costs are summed across processes in `shared.json`),
//!   no new run starts (those repositories are `skipped`), and running ones
//!   stop at their next model request with status `cost_limit` (limit
//!   `batch_max_cost_usd`). `--max-requests N` (default: `--jobs`) limits
//!   the model requests in flight across all runs, and a provider's
//!   back-off (after a 429 or an overloaded server) holds back every run.
//! - **Signals**: the first Ctrl-C or `SIGTERM` is passed on to every run
//!   (each ends `interrupted`, as `wf run` does), no new run starts, and
//!   the batch ends with exit code 130; a second one is passed on too, and
//!   everything exits at once. A batch killed outright leaves its runs a
//!   `SIGHUP` from the kernel, and they end `interrupted` ([`child`]).

use crate::plan::widening::WideningExt;
pub mod child;
pub mod manifest;

use crate::app::repos::{self, RepoEntry as Entry, Source};
use crate::batch_share::Shared;
use crate::error::Error;
use child::{Children, Seen};
use manifest::Manifest;
use std::collections::{BTreeMap, VecDeque};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// What the command line asked for. Each value was checked alone where
/// it was parsed (`cli::args`: counts of at least one, dollars of 0 or
/// more); the types keep the counts so.
#[derive(Debug, Clone)]
pub struct Request {
    /// The task file.
    pub task: PathBuf,
    /// The repositories file.
    pub repos: PathBuf,
    /// Runs at once.
    pub jobs: NonZeroUsize,
    /// The batch's `-i KEY=VALUE`, as typed.
    pub inputs: Vec<String>,
    /// The batch's cap on spending.
    pub max_cost_usd: Option<f64>,
    /// Model requests in flight at once across runs (default: `jobs`).
    pub max_requests: Option<NonZeroUsize>,
    /// Approve every run's checkpoints (`wf run --yes`).
    pub yes: bool,
    /// Never apply (`wf run --dry-run`).
    pub dry_run: bool,
    /// Approve the task's sandbox widening in every run (`wf run
    /// --trust-sandbox`); without it, a task that widens the sandbox is
    /// refused before any run starts.
    pub trust_sandbox: bool,
    /// The batch folder, instead of the default.
    pub dir: Option<PathBuf>,
}

/// One repository's state, as the batch reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The repository's key (absolute path or URL).
    pub key: String,
    /// Its record.
    pub repo: manifest::Repo,
}

/// A batch ready to run: its folder taken, its record read.
pub struct Batch {
    /// The batch folder.
    pub dir: PathBuf,
    /// Repositories in the file, in its order.
    entries: Vec<Entry>,
    manifest: Manifest,
    task: PathBuf,
    request: Request,
    shared: Shared,
    _lock: crate::sys::lock::FileLock,
}

/// How a batch ended.
#[derive(Debug)]
pub struct Outcome {
    /// Every repository of the file, in its order.
    pub rows: Vec<Row>,
    /// A signal stopped the batch.
    pub interrupted: bool,
    /// What the batch's runs spent, over every invocation.
    pub spent_usd: f64,
    /// The batch folder.
    pub dir: PathBuf,
}

impl Outcome {
    /// Every repository's run succeeded.
    pub fn all_succeeded(&self) -> bool {
        !self.interrupted && self.rows.iter().all(|r| r.repo.succeeded())
    }
}

/// Loads the task and the repositories, finds (or makes) the batch folder
/// and takes it, and reads back what an earlier invocation did. Nothing
/// runs yet; every error here is a usage error.
pub fn prepare(request: &Request) -> Result<Batch, Error> {
    let loaded = crate::spec::load(&request.task)?;
    crate::plan::widening::Widening::of_spec(&loaded.spec).require_flag(
        &request.task,
        request.trust_sandbox,
        "wf batch",
    )?;
    let task = request
        .task
        .canonicalize()
        .map_err(|e| Error::io(format!("cannot read {}", request.task.display()), e))?;
    let inputs = crate::app::run::parse_inputs(&request.inputs)?;
    let entries = repos::load(&request.repos).map_err(|e| Error::Usage(e.to_string()))?;
    let fingerprint = crate::hash::sha256_hex(
        serde_json::json!({
            "task": loaded.hash,
            "inputs": inputs,
            "dry_run": request.dry_run,
        })
        .to_string()
        .as_bytes(),
    );
    let dir = match &request.dir {
        Some(dir) => dir.clone(),
        None => {
            let root = crate::app::repo_root()?;
            crate::record::store::Store::open(&root)?
                .ensure()
                .map_err(|e| Error::io("cannot create .wf", e))?;
            root.join(".wf/batches")
                .join(format!("{}-{}", loaded.spec.name, &fingerprint[..12]))
        }
    };
    for sub in ["logs", "repos"] {
        std::fs::create_dir_all(dir.join(sub))
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    let dir = dir.canonicalize().unwrap_or(dir);
    let lock = match crate::sys::lock::take(&dir.join("batch.lock"))
        .map_err(|e| Error::io("cannot lock the batch folder", e))?
    {
        crate::sys::lock::Taken::Yes(lock) => lock,
        crate::sys::lock::Taken::HeldBy(pid) => {
            return Err(Error::Usage(format!(
                "the batch in {} is running already (process {pid})",
                dir.display()
            )));
        }
    };
    let manifest_path = dir.join("batch.json");
    let mut manifest = match Manifest::load(&manifest_path).map_err(Error::Usage)? {
        Some(m) if m.fingerprint != fingerprint => {
            return Err(Error::Usage(format!(
                "{} records another batch (a different task, inputs or --dry-run); \
                 give another --dir",
                dir.display()
            )));
        }
        Some(m) => m,
        None => Manifest {
            batch_version: manifest::VERSION,
            fingerprint,
            task: manifest::Task {
                name: loaded.spec.name.clone(),
                path: task.display().to_string(),
                hash: loaded.hash.clone(),
            },
            inputs: inputs.clone(),
            dry_run: request.dry_run,
            repos: BTreeMap::new(),
        },
    };
    for e in &entries {
        let repo = manifest.repos.entry(e.key.clone()).or_default();
        repo.written = e.repo.clone();
        repo.line = e.line;
        repo.inputs = e.inputs.iter().cloned().collect();
        if repo.status.is_empty() {
            repo.status = "pending".into();
        }
        refresh(repo);
    }
    manifest
        .save(&manifest_path)
        .map_err(|e| Error::io("cannot write batch.json", e))?;
    let shared = Shared::at(&dir);
    let max_requests = request.max_requests.unwrap_or(request.jobs).get();
    shared
        .update(|s| {
            s.max_cost_usd = request.max_cost_usd;
            s.max_requests = max_requests;
        })
        .map_err(|e| Error::io("cannot write the batch's shared.json", e))?;
    Ok(Batch {
        dir,
        entries,
        manifest,
        task,
        request: request.clone(),
        shared,
        _lock: lock,
    })
}

/// A repository whose run an earlier invocation left unfinished: its
/// status read again from the run's own trace (the run may have been
/// approved and resumed since, or ended after the batch was killed).
fn refresh(repo: &mut manifest::Repo) {
    if repo.finished() {
        return;
    }
    let (Some(path), Some(run_id)) = (&repo.path, &repo.run_id) else {
        if repo.status != "pending" {
            // Cloning, or an error: start over.
            repo.status = "pending".into();
        }
        return;
    };
    let Ok(dir) =
        crate::record::store::Store::open(Path::new(path)).and_then(|s| s.resolve(run_id))
    else {
        repo.status = "pending".into();
        return;
    };
    let Ok(trace) = crate::record::trace::read(&dir.trace()) else {
        repo.status = "pending".into();
        return;
    };
    let summary = crate::record::summary::from_records(&trace.records);
    repo.status = if summary.status == "running" {
        if crate::record::store::RunLock::is_held(&dir) {
            "running".into()
        } else {
            "interrupted".into()
        }
    } else {
        summary.status.clone()
    };
    repo.reason = summary.reason.clone();
    repo.files_changed = Some(summary.files_changed.len());
    repo.cost_usd = summary.totals.cost_usd;
}

impl Batch {
    /// The repositories in the file's order, as recorded now.
    pub fn rows(&self) -> Vec<Row> {
        self.entries
            .iter()
            .map(|e| Row {
                key: e.key.clone(),
                repo: self.manifest.repos[&e.key].clone(),
            })
            .collect()
    }

    /// Runs every repository not finished yet, `jobs` at once; `update`
    /// hears of each change of a repository's state (in this thread).
    pub fn run(mut self, update: &mut dyn FnMut(&Row)) -> Result<Outcome, Error> {
        let todo: VecDeque<usize> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                let r = &self.manifest.repos[&e.key];
                !r.finished() && !r.paused() && r.status != "running"
            })
            .map(|(i, _)| i)
            .collect();
        let queue = Mutex::new(todo);
        let children = Children::default();
        // A second signal ends the batch at once: its runs, told to stop by
        // the first, are told again, so they exit at once too (the kernel's
        // SIGHUP when the batch is gone would not do that).
        let again = children.clone();
        crate::sys::signals::on_exit_at_once(move || again.signal_all(libc::SIGTERM));
        let (tx, rx) = std::sync::mpsc::channel::<Row>();
        let manifest_path = self.dir.join("batch.json");
        let mut save_error = None;
        // Workers start from the record as read; this copy takes every change.
        let mut manifest = self.manifest.clone();
        std::thread::scope(|scope| {
            for _ in 0..self.request.jobs.get() {
                let tx = tx.clone();
                let (queue, children, this) = (&queue, &children, &self);
                scope.spawn(move || this.worker(queue, children, &tx));
            }
            drop(tx);
            let mut forwarded = false;
            loop {
                match rx.recv_timeout(Duration::from_millis(100)) {
                    Ok(row) => {
                        manifest.repos.insert(row.key.clone(), row.repo.clone());
                        if let Err(e) = manifest.save(&manifest_path) {
                            save_error.get_or_insert(e);
                        }
                        update(&row);
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                }
                if !forwarded && crate::sys::signals::interrupted() {
                    forwarded = true;
                    children.signal_all(passed_on());
                }
            }
        });
        self.manifest = manifest;
        if let Some(e) = save_error {
            return Err(Error::io("cannot write batch.json", e));
        }
        let spent_usd = self.shared.read().map(|s| s.spent_usd).unwrap_or(0.0);
        Ok(Outcome {
            rows: self.rows(),
            interrupted: crate::sys::signals::interrupted(),
            spent_usd,
            dir: self.dir.clone(),
        })
    }

    /// Takes repositories off the queue and runs them, one at a time,
    /// until the queue is empty or a signal came.
    fn worker(
        &self,
        queue: &Mutex<VecDeque<usize>>,
        children: &Children,
        tx: &std::sync::mpsc::Sender<Row>,
    ) {
        loop {
            if crate::sys::signals::interrupted() {
                return;
            }
            let Some(i) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front() else {
                return;
            };
            let entry = &self.entries[i];
            let mut row = Row {
                key: entry.key.clone(),
                repo: self.manifest.repos[&entry.key].clone(),
            };
            let mut send = |row: &Row| {
                let _ = tx.send(row.clone());
            };
            self.one(entry, &mut row, children, &mut send);
        }
    }

    /// Runs one repository, telling `send` each state it goes through.
    fn one(&self, entry: &Entry, row: &mut Row, children: &Children, send: &mut dyn FnMut(&Row)) {
        row.repo.reason = None;
        if let Ok(state) = self.shared.read()
            && let Some((spent, cap)) = state.over_cap()
        {
            row.repo.status = "skipped".into();
            row.repo.reason = Some(format!(
                "not started: the batch's runs spent {}, its cap is {}",
                crate::engine::usd(spent),
                crate::engine::usd(cap)
            ));
            send(row);
            return;
        }
        if matches!(entry.source, Source::Url(_)) {
            row.repo.status = "cloning".into();
            send(row);
        }
        let path = match self.locate(entry) {
            Ok(path) => path,
            Err(why) => {
                row.repo.status = "repo_error".into();
                row.repo.reason = Some(why);
                send(row);
                return;
            }
        };
        row.repo.path = Some(path.display().to_string());
        row.repo.status = "running".into();
        row.repo.files_changed = None;
        row.repo.cost_usd = None;
        if let Some(old) = row.repo.run_id.take() {
            row.repo.earlier_runs.push(old);
        }
        send(row);
        let log = self
            .dir
            .join("logs")
            .join(format!("{}.log", repos::folder_name(&entry.key)));
        let spawn = child::Spawn {
            args: self.run_args(entry),
            cwd: &path,
            batch_dir: &self.dir,
            log: &log,
        };
        let mut finished = false;
        let ran = child::run(&spawn, children, &mut |seen| {
            match seen {
                Seen::Started(id) => row.repo.run_id = Some(id),
                Seen::Finished {
                    status,
                    reason,
                    files_changed,
                    cost_usd,
                } => {
                    finished = true;
                    row.repo.status = status;
                    row.repo.reason = reason;
                    row.repo.files_changed = Some(files_changed);
                    row.repo.cost_usd = cost_usd;
                }
            }
            send(row);
        });
        if finished {
            return;
        }
        // No end recorded: the run could not start (`wf run` refused), or
        // was killed before it could write it.
        row.repo.status = if row.repo.run_id.is_some() && crate::sys::signals::interrupted() {
            "interrupted".into()
        } else {
            "repo_error".into()
        };
        row.repo.reason = Some(match ran {
            Err(e) => format!("cannot start wf run: {e}"),
            Ok(code) => {
                let tail = log_tail(&log);
                let code = code.map_or("a signal".to_string(), |c| format!("exit code {c}"));
                format!("wf run ended with {code}: {tail}")
            }
        });
        send(row);
    }

    /// The folder `entry`'s run runs in: a local repository as it is, a
    /// URL's clone (made the first time). Errors are the repository's own.
    fn locate(&self, entry: &Entry) -> Result<PathBuf, String> {
        let path = match &entry.source {
            Source::Local(path) => {
                if !path.is_dir() {
                    return Err(format!("{} is not a folder", path.display()));
                }
                path.clone()
            }
            Source::Url(url) => {
                let dest = self.dir.join("repos").join(repos::folder_name(&entry.key));
                if !dest.join(".git").exists() {
                    let _ = std::fs::remove_dir_all(&dest);
                    let cloned = crate::sys::git::Git::remote(&self.dir)
                        .args(["clone", "--quiet", "--", url])
                        .arg(&dest)
                        .output();
                    if let Err(e) = cloned {
                        let _ = std::fs::remove_dir_all(&dest);
                        return Err(format!("cannot clone {url}: {e}"));
                    }
                }
                dest
            }
        };
        match crate::sys::git::find_root(&path) {
            None => Err(format!("{} is not in a git repository", path.display())),
            Some(root) if crate::sys::git::head_revision(&root).is_none() => Err(format!(
                "{} has no commit yet (wf runs start from one)",
                root.display()
            )),
            Some(_) => Ok(path),
        }
    }

    /// `wf run`'s arguments for `entry`.
    fn run_args(&self, entry: &Entry) -> Vec<String> {
        let mut args = vec![
            "run".to_string(),
            self.task.display().to_string(),
            "--json".to_string(),
        ];
        if self.request.yes {
            args.push("--yes".into());
        }
        if self.request.dry_run {
            args.push("--dry-run".into());
        }
        if self.request.trust_sandbox {
            args.push("--trust-sandbox".into());
        }
        let mut inputs = self.manifest.inputs.clone();
        inputs.extend(entry.inputs.clone());
        for (k, v) in inputs {
            args.push("-i".into());
            args.push(format!("{k}={v}"));
        }
        args
    }
}

/// The last non-empty line of a log, for a one-line reason.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(nothing on stderr)")
        .trim()
        .to_string()
}

/// The signal the batch passes on to its runs when interrupted: the one it
/// got (`SIGINT` for a Ctrl-C, so each run records that), `SIGTERM` for a
/// `SIGHUP` (a run takes `SIGHUP` to mean its batch is gone).
pub fn passed_on() -> libc::c_int {
    match crate::sys::signals::number() {
        Some(libc::SIGINT) => libc::SIGINT,
        _ => libc::SIGTERM,
    }
}
