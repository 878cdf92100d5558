//! The task file a run folder keeps, for a task file outside the
//! repository the run worked in.
//!
//! `wf batch` runs one task file, kept in its own place, in many
//! repositories (and a job `wf emit` writes checks the task out beside the
//! repository it works in). Resume, approve, reject, replay and report then
//! run in each of those repositories, where the task file is not — and wf
//! never reads a file outside the repository for a trace, which is
//! untrusted input. So a run whose task file is outside its repository
//! keeps, in its run folder, what it needs to be planned again:
//!
//! ```text
//! .wf/runs/<run-id>/task.json           # {"task": "<path in task/>", "files": {"<path>": "<sha256>"}}
//! .wf/runs/<run-id>/task/<path>         # the task file's bytes
//! .wf/runs/<run-id>/task/<dir>/wf.lock  # its lock file (when it uses recipes)
//! .wf/runs/<run-id>/task/<path>         # each local recipe it uses (`./…`, `../…`), and
//!                                       # its `model.script`
//! ```
//!
//! The files keep their places relative to each other (under their
//! deepest common directory), so `uses: ../shared/fix.yaml` and
//! `model.script` resolve in the copy as they did beside the original.
//! Recipes fetched from git are not copied: the lock pins their commits and
//! they come from the user's recipe cache as for any run.
//!
//! **Trust.** The copy is used only where the repository has no task file
//! at the recorded path, and only when it still loads to the recorded spec
//! hash (the canonical task, `run_started.spec_hash`), when its lock pins
//! every recipe as the trace recorded it (`recipe_used`), and each kept
//! local recipe still has the recorded SHA-256.
//! A copy edited after the run is refused, naming both hashes. Each file
//! is also held to the SHA-256 of `task.json`, and a path in `task.json`
//! that is absolute, climbs out with `..`, or names a link is refused.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// The folder of the copy, in the run folder.
pub const DIR: &str = "task";
/// The index of the copy, in the run folder.
pub const INDEX: &str = "task.json";

/// The files kept, by `/`-separated path under [`DIR`], and which one is
/// the task file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskCopy {
    /// The task file's path under [`DIR`].
    pub task: String,
    /// Every file's bytes, by path under [`DIR`] (the task file's included).
    pub files: BTreeMap<String, Vec<u8>>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Index {
    task: String,
    files: BTreeMap<String, String>,
}

impl TaskCopy {
    /// The copy of the files at `paths` (absolute; the task file first),
    /// each kept at its path under their deepest common directory.
    pub fn of(paths: &[PathBuf]) -> std::io::Result<TaskCopy> {
        let Some(first) = paths.first() else {
            return Ok(TaskCopy::default());
        };
        let mut base = first.parent().unwrap_or(Path::new("/")).to_path_buf();
        for p in paths {
            while !p.starts_with(&base) {
                if !base.pop() {
                    break;
                }
            }
        }
        let rel = |p: &Path| {
            p.strip_prefix(&base)
                .unwrap_or(p)
                .components()
                .filter_map(|c| match c {
                    Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("/")
        };
        let mut files = BTreeMap::new();
        for p in paths {
            files.insert(rel(p), std::fs::read(p)?);
        }
        Ok(TaskCopy {
            task: rel(first),
            files,
        })
    }

    /// Writes the copy into the run folder `run`.
    pub fn write(&self, run: &Path) -> std::io::Result<()> {
        let dir = run.join(DIR);
        let mut index = Index {
            task: self.task.clone(),
            files: BTreeMap::new(),
        };
        for (rel, bytes) in &self.files {
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, bytes)?;
            index
                .files
                .insert(rel.clone(), crate::hash::sha256_hex(bytes));
        }
        let text = serde_json::to_string_pretty(&index).expect("the index serializes");
        std::fs::write(run.join(INDEX), text + "\n")
    }
}

/// The task file kept in the run folder `run`: `Ok(None)` when the run
/// kept none (its task file was in the repository, or it ran before wf
/// kept copies); an error when the copy is not what its index says.
pub fn read(run: &Path) -> Result<Option<PathBuf>, String> {
    let index_path = run.join(INDEX);
    let text = match std::fs::read_to_string(&index_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", index_path.display())),
    };
    let index: Index = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a task copy's index: {e}", index_path.display()))?;
    if !index.files.contains_key(&index.task) {
        return Err(format!(
            "{} names the task file {:?} but does not list it",
            index_path.display(),
            index.task
        ));
    }
    let dir = run.join(DIR);
    for (rel, sha) in &index.files {
        let path = inside(&dir, rel).ok_or_else(|| {
            format!(
                "{} names the path {rel:?}, which is not plainly inside {}",
                index_path.display(),
                dir.display()
            )
        })?;
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|e| format!("the kept file {} is missing: {e}", path.display()))?;
        if !meta.is_file() {
            return Err(format!(
                "the kept file {} is not a plain file",
                path.display()
            ));
        }
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if crate::hash::sha256_hex(&bytes) != *sha {
            return Err(format!(
                "the kept file {} was changed after the run (its SHA-256 is not the one in {})",
                path.display(),
                INDEX
            ));
        }
    }
    Ok(Some(inside(&dir, &index.task).expect("checked above")))
}

/// `dir/rel` when `rel` is a plain relative path (no root, no `..`, no
/// `.`), with no link on the way.
fn inside(dir: &Path, rel: &str) -> Option<PathBuf> {
    let path = Path::new(rel);
    if rel.is_empty() || !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let mut at = dir.to_path_buf();
    for c in path.components() {
        at.push(c);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return None;
        }
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_keep_their_places_under_their_common_directory() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::create_dir_all(root.join("flows/sub")).unwrap();
        std::fs::create_dir_all(root.join("shared")).unwrap();
        std::fs::write(root.join("flows/sub/task.yaml"), "wf: 1\n").unwrap();
        std::fs::write(root.join("shared/fix.yaml"), "recipe\n").unwrap();
        let copy = TaskCopy::of(&[
            root.join("flows/sub/task.yaml"),
            root.join("shared/fix.yaml"),
        ])
        .unwrap();
        assert_eq!(copy.task, "flows/sub/task.yaml");
        assert_eq!(
            copy.files.keys().collect::<Vec<_>>(),
            ["flows/sub/task.yaml", "shared/fix.yaml"]
        );
        let run = root.join("run");
        copy.write(&run).unwrap();
        assert_eq!(
            read(&run).unwrap(),
            Some(run.join("task/flows/sub/task.yaml"))
        );
    }

    #[test]
    fn a_run_without_a_copy_reads_none() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(read(t.path()).unwrap(), None);
    }

    #[test]
    fn an_edited_file_and_a_climbing_path_are_refused() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("task.yaml"), "wf: 1\n").unwrap();
        let copy = TaskCopy::of(&[t.path().join("task.yaml")]).unwrap();
        let run = t.path().join("run");
        copy.write(&run).unwrap();
        std::fs::write(run.join("task/task.yaml"), "wf: 1\nname: x\n").unwrap();
        let err = read(&run).unwrap_err();
        assert!(err.contains("was changed after the run"), "{err}");
        std::fs::write(
            run.join(INDEX),
            r#"{"task": "../../etc/passwd", "files": {"../../etc/passwd": "00"}}"#,
        )
        .unwrap();
        let err = read(&run).unwrap_err();
        assert!(err.contains("not plainly inside"), "{err}");
    }

    #[test]
    fn a_link_in_the_copy_is_refused() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("task.yaml"), "wf: 1\n").unwrap();
        let run = t.path().join("run");
        TaskCopy::of(&[t.path().join("task.yaml")])
            .unwrap()
            .write(&run)
            .unwrap();
        std::fs::remove_file(run.join("task/task.yaml")).unwrap();
        std::os::unix::fs::symlink(t.path().join("task.yaml"), run.join("task/task.yaml")).unwrap();
        let err = read(&run).unwrap_err();
        assert!(err.contains("not plainly inside"), "{err}");
    }
}
