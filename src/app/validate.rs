//! `wf validate`, and finding the task files a path names.
//!
//! A directory means every `*.yaml`/`*.yml` under it (gitignore respected),
//! sorted, except files that are not task files: recipe tests
//! (`*.test.yaml`) and script files of the `script` provider (a mapping
//! with `turns:` and no `wf:`), which sit next to task files. The check reads
//! the YAML properly (its top-level keys), so a comment or a block scalar
//! that happens to start with `turns:` does not hide a task file.

use crate::spec::SpecError;
use std::path::{Path, PathBuf};

/// The paths given, or `.` when none are.
pub fn or_current(paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    }
}

/// The task files named by `paths` (a directory means every task file
/// under it), each with whether it was found by walking a directory.
pub fn task_files(paths: &[PathBuf]) -> Vec<(PathBuf, bool)> {
    let mut files = Vec::new();
    for p in or_current(paths) {
        if p.is_dir() {
            files.extend(task_files_under(&p).into_iter().map(|f| (f, true)));
        } else {
            files.push((p, false));
        }
    }
    files
}

/// Task files under a directory, sorted.
pub fn task_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = crate::context::walk_builder(dir, dir)
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .map(|e| e.into_path())
        .filter(|p| {
            matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
                && !is_companion_file(p)
        })
        .collect();
    files.sort();
    files
}

/// A recipe test or a script file: YAML next to task files, not a task file.
fn is_companion_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.ends_with(".test.yaml") || name.ends_with(".test.yml") {
        return true;
    }
    // Cheap first: a script names `turns:` at the start of a line; most
    // task files never do, and need no second parse here.
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    if !text.lines().any(|l| l.starts_with("turns:")) {
        return false;
    }
    // A file that does not parse is reported by validation, as a task file.
    let Ok(node) = crate::spec::yaml::parse(&text) else {
        return false;
    };
    node.get("turns").is_some() && node.get("wf").is_none()
}

/// What `wf validate` found in one file.
#[derive(Debug)]
pub struct Checked {
    /// The file.
    pub path: PathBuf,
    /// `Err` with every problem found.
    pub result: Result<(), SpecError>,
}

/// Checks the task files named by `paths`; nothing runs.
pub fn validate(paths: &[PathBuf]) -> Vec<Checked> {
    task_files(paths)
        .into_iter()
        .map(|(path, _)| Checked {
            result: crate::spec::load(&path).map(|_| ()),
            path,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_files_and_recipe_tests_are_not_task_files() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write(
            "task.yaml",
            "wf: 1\nname: t\nprompt: |\n  turns: not a key\n",
        );
        write("task.turns.yaml", "turns:\n  - text: done\n");
        write("both.yaml", "wf: 1\nturns: []\n");
        write("x.test.yaml", "recipe: task.yaml\n");
        write("notes.txt", "turns:\n");
        let names: Vec<String> = task_files_under(dir.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["both.yaml", "task.yaml"]);
    }
}
