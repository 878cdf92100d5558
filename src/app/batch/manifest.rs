//! `batch.json`: the record of a batch — the task, the batch's inputs, and
//! each repository's latest run with its status, files changed and cost.
//!
//! Written whole after every change (to a temporary file, then renamed, so
//! a killed batch leaves the last complete version), with sorted keys: the
//! same batch gives the same bytes.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The version of this file's format.
pub const VERSION: u32 = 1;

/// The batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`VERSION`].
    pub batch_version: u32,
    /// What identifies the batch: a hash of the task's canonical hash, the
    /// batch's inputs and `--dry-run`.
    pub fingerprint: String,
    /// The task every repository runs.
    pub task: Task,
    /// The batch's `-i` inputs (each repository's own come on top).
    pub inputs: BTreeMap<String, String>,
    /// Whether the runs are dry runs.
    pub dry_run: bool,
    /// The repositories, by key (absolute path, or URL).
    pub repos: BTreeMap<String, Repo>,
}

/// The task of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// The task's name.
    pub name: String,
    /// The task file, absolute.
    pub path: String,
    /// The task's canonical hash (as runs record it).
    pub hash: String,
}

/// One repository of the batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Repo {
    /// The path or URL as the repositories file wrote it.
    pub written: String,
    /// Its line in the repositories file.
    pub line: usize,
    /// The folder its run runs in (the clone, for a URL), once known.
    pub path: Option<String>,
    /// Its own inputs.
    pub inputs: BTreeMap<String, String>,
    /// A run's status (`succeeded`, `checks_failed`, `paused`, …), or one
    /// of the batch's own: `pending` (not started), `cloning`, `running`,
    /// `repo_error` (no usable repository, or the run could not start),
    /// `skipped` (the batch's cap was reached before it started).
    pub status: String,
    /// Why, when it did not succeed.
    pub reason: Option<String>,
    /// Its latest run.
    pub run_id: Option<String>,
    /// Runs of this repository an earlier batch started and did not
    /// finish (interrupted), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier_runs: Vec<String>,
    /// Files its change touches.
    pub files_changed: Option<usize>,
    /// What its run cost, when the prices are known.
    pub cost_usd: Option<f64>,
}

/// Run statuses that end a repository's part of the batch: a batch run
/// again does not start it again.
const FINISHED: &[&str] = &[
    "succeeded",
    "dry_run",
    "rejected",
    "checks_failed",
    "turn_limit",
    "cost_limit",
    "timeout",
    "model_error",
    "apply_failed",
    "error",
];

impl Repo {
    /// Its run finished (whatever the outcome): not started again.
    pub fn finished(&self) -> bool {
        FINISHED.contains(&self.status.as_str())
    }

    /// Its run succeeded (or, under `--dry-run`, passed its checks).
    pub fn succeeded(&self) -> bool {
        matches!(self.status.as_str(), "succeeded" | "dry_run")
    }

    /// Paused at a checkpoint: waits for a person, not started again.
    pub fn paused(&self) -> bool {
        self.status == "paused"
    }
}

impl Manifest {
    /// Reads `path`; `None` when there is no such file.
    pub fn load(path: &Path) -> Result<Option<Manifest>, String> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{} is not a batch record: {e}", path.display()))
    }

    /// Writes the manifest to `path`, atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        text.push(b'\n');
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_sorted_repositories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("batch.json");
        assert_eq!(Manifest::load(&path).unwrap(), None);
        let mut m = Manifest {
            batch_version: VERSION,
            fingerprint: "f".into(),
            task: Task {
                name: "t".into(),
                path: "/t.yaml".into(),
                hash: "h".into(),
            },
            inputs: BTreeMap::new(),
            dry_run: false,
            repos: BTreeMap::new(),
        };
        for key in ["/b", "/a"] {
            m.repos.insert(
                key.into(),
                Repo {
                    written: key.into(),
                    status: "pending".into(),
                    ..Repo::default()
                },
            );
        }
        m.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.find("\"/a\"").unwrap() < text.find("\"/b\"").unwrap());
        assert_eq!(Manifest::load(&path).unwrap(), Some(m));
    }
}
