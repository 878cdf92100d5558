//! Finding a task file by name: `wf run migrate-config` from anywhere in the
//! repository.
//!
//! Every command that takes a task file (`run`, `plan`, `validate`, `batch`,
//! `emit`, `lock`, and `test`, which runs the recipe tests of the named
//! task) resolves its argument here, once, before anything else:
//!
//! 1. **A path that exists is used as it is**, exactly as before names
//!    existed. An absolute path, or one climbing with `..`, is never looked
//!    up either (it names a place, not a task).
//! 2. **Otherwise it is a name**, looked up in the repository's *task
//!    folders*: `workflows/` at the repository root by default. A name
//!    matches a task file whose path inside its folder, without the
//!    `.yaml`/`.yml` extension, is the name (`team/bump` for
//!    `workflows/team/bump.yaml`), whose path from the repository root is
//!    (`workflows/team/bump`, typed in a subfolder), or, for a name without
//!    `/`, whose file name is (`bump`). A name typed with an extension matches only that
//!    extension. Recipe tests and script files are not task files (see
//!    [`crate::app::validate::task_files_under`]).
//! 3. **One match** is the task file, named by its path relative to the
//!    current directory: the path a person would have typed there, so the
//!    trace records what it always recorded and replay and resume are
//!    unchanged. **Several** are an error listing every candidate; **none**
//!    is an error saying where wf looked, suggesting the nearest name and
//!    pointing at `wf list`.
//!
//! # Where the task folders are set: `wf.tasks`
//!
//! One place: a file named [`CONFIG_FILE`] (`wf.tasks`) at the repository
//! root, committed, one folder a line relative to the root, `#` starting a
//! comment (at the start of a line or after whitespace, as in the repos
//! file). When it exists it replaces the default `workflows/`.
//! Decided so because a team's folder layout is a property of the
//! repository, not of a machine: an environment variable would make the
//! same command find different files on a laptop and in CI, and a key
//! under `.wf/` would sit among the run records wf writes and treats as
//! untrusted. The name sits next to `wf.lock`, wf's other committed file.
//!
//! The file is read from a repository that may not be the reader's own, so
//! it is checked and fails closed, naming the line: a folder must be
//! relative, stay inside the repository (no `..`, no symlink out of it),
//! exist, and not be `.git` or `.wf`. Looking up a name only reads file
//! names; nothing runs.

use crate::error::Error;
use std::path::{Path, PathBuf};

/// The file at the repository root that lists the task folders.
pub const CONFIG_FILE: &str = "wf.tasks";

/// The task folder when [`CONFIG_FILE`] does not exist.
pub const DEFAULT_DIR: &str = "workflows";

/// The task folders of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDirs {
    /// The repository root (canonical).
    pub root: PathBuf,
    /// The folders, relative to the root, `/`-separated, in the order
    /// listed, without repeats.
    pub dirs: Vec<String>,
    /// Whether they come from [`CONFIG_FILE`] (else the default).
    pub configured: bool,
}

/// A task file found in a task folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFile {
    /// The file, absolute.
    pub path: PathBuf,
    /// The file relative to the repository root, `/`-separated.
    pub rel: String,
    /// The name to type: its path inside its folder without the extension.
    pub name: String,
}

/// `path` without a `.yaml`/`.yml` extension.
fn without_extension(path: &str) -> &str {
    path.strip_suffix(".yaml")
        .or_else(|| path.strip_suffix(".yml"))
        .unwrap_or(path)
}

impl TaskFile {
    /// The file name without its extension (`bump` of `team/bump`).
    fn stem(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }

    fn extension(&self) -> &str {
        self.path.extension().and_then(|e| e.to_str()).unwrap_or("")
    }

    /// Whether `name` (extension already split off into `ext`) names it:
    /// its name, its file name, or its path from the repository root.
    fn matches(&self, name: &str, ext: Option<&str>) -> bool {
        let named = self.name == name
            || without_extension(&self.rel) == name
            || (!name.contains('/') && self.stem() == name);
        named && ext.is_none_or(|e| e == self.extension())
    }
}

impl TaskDirs {
    /// The task folders of the repository at `root`: those [`CONFIG_FILE`]
    /// lists, or the default.
    pub fn of(root: &Path) -> Result<TaskDirs, Error> {
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let file = root.join(CONFIG_FILE);
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(TaskDirs {
                    root,
                    dirs: vec![DEFAULT_DIR.to_string()],
                    configured: false,
                });
            }
            Err(e) => return Err(Error::io(format!("cannot read {CONFIG_FILE}"), e)),
        };
        let dirs = parse_config(&root, &text)?;
        Ok(TaskDirs {
            root,
            dirs,
            configured: true,
        })
    }

    /// Every task file in the folders, sorted by name then path, each once.
    pub fn files(&self) -> Vec<TaskFile> {
        let mut files: Vec<TaskFile> = Vec::new();
        for dir in &self.dirs {
            let full = self.root.join(dir);
            if !full.is_dir() {
                continue;
            }
            for path in crate::app::validate::task_files_under(&full) {
                let (Some(rel), Some(inside)) = (
                    crate::sys::paths::relative(&self.root, &path),
                    crate::sys::paths::relative(&full, &path),
                ) else {
                    continue;
                };
                if files.iter().any(|f| f.rel == rel) {
                    continue;
                }
                let name = without_extension(&inside).to_string();
                files.push(TaskFile { path, rel, name });
            }
        }
        files.sort_by(|a, b| (&a.name, &a.rel).cmp(&(&b.name, &b.rel)));
        files
    }

    /// Where wf looked, for messages: `workflows/ (the default)` or the
    /// folders of `wf.tasks`, each marked when it does not exist.
    pub fn describe(&self) -> String {
        let dirs: Vec<String> = self
            .dirs
            .iter()
            .map(|d| {
                if self.root.join(d).is_dir() {
                    format!("{d}/")
                } else {
                    format!("{d}/ (absent)")
                }
            })
            .collect();
        let from = if self.configured {
            format!("as {CONFIG_FILE} lists")
        } else {
            format!("the default; {CONFIG_FILE} at the repository root sets others")
        };
        format!("{} ({from})", dirs.join(", "))
    }
}

/// The folders a [`CONFIG_FILE`] lists, each checked.
fn parse_config(root: &Path, text: &str) -> Result<Vec<String>, Error> {
    let mut dirs: Vec<String> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        // `#` starts a comment at the start of a line or after whitespace,
        // as in the repos file.
        let cut = line
            .char_indices()
            .find(|&(at, c)| {
                c == '#'
                    && line[..at]
                        .chars()
                        .next_back()
                        .is_none_or(char::is_whitespace)
            })
            .map_or(line.len(), |(at, _)| at);
        let line = line[..cut].trim();
        if line.is_empty() {
            continue;
        }
        let bad = |why: String| {
            Error::Usage(format!(
                "{CONFIG_FILE}:{}: `{line}` {why}; list task folders relative to the repository root, one a line",
                i + 1
            ))
        };
        crate::sys::paths::check_relative(line).map_err(bad)?;
        let dir = line
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect::<Vec<_>>()
            .join("/");
        if dir.is_empty() {
            return Err(bad("is the repository root itself".into()));
        }
        if matches!(dir.split('/').next(), Some(".git" | ".wf")) {
            return Err(bad(
                "is wf's or git's own folder, never a task folder".into()
            ));
        }
        let full = root.join(&dir);
        match full.canonicalize() {
            Ok(real) if real.starts_with(root) && real.is_dir() => {}
            Ok(real) if real.starts_with(root) => return Err(bad("is not a folder".into())),
            Ok(_) => return Err(bad("leads outside the repository through a symlink".into())),
            Err(_) => return Err(bad("does not exist".into())),
        }
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    if dirs.is_empty() {
        return Err(Error::Usage(format!(
            "{CONFIG_FILE} lists no task folder; list at least one (e.g. `{DEFAULT_DIR}`), or remove the file for the default"
        )));
    }
    Ok(dirs)
}

/// The task file `arg` names, seen from `cwd`: `arg` itself when it exists
/// (or is not a name), else the one task file of the repository's task
/// folders it names, as a path relative to `cwd`.
pub fn task(arg: &Path, cwd: &Path) -> Result<PathBuf, Error> {
    let Some(name) = as_name(arg, cwd) else {
        return Ok(arg.to_path_buf());
    };
    let root = crate::sys::git::repo_root(cwd);
    let dirs = TaskDirs::of(&root)?;
    let files = dirs.files();
    let (stem, ext) = split_extension(name);
    let found: Vec<&TaskFile> = files.iter().filter(|f| f.matches(stem, ext)).collect();
    let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    let shown = |f: &TaskFile| {
        crate::sys::paths::between(&cwd, &f.path).map_or_else(|| f.path.clone(), PathBuf::from)
    };
    match found.as_slice() {
        [one] => Ok(shown(one)),
        [] => Err(Error::Usage(not_found(name, stem, &dirs, &files))),
        many => {
            let list: Vec<String> = many
                .iter()
                .map(|f| format!("  {}", shown(f).display()))
                .collect();
            Err(Error::Usage(format!(
                "`{name}` names {} task files in {}:\n{}\nname one by its path",
                many.len(),
                dirs.describe(),
                list.join("\n")
            )))
        }
    }
}

/// Each of `args` resolved by [`task`]; directories and existing paths as
/// they are.
pub fn tasks(args: &[PathBuf], cwd: &Path) -> Result<Vec<PathBuf>, Error> {
    args.iter().map(|a| task(a, cwd)).collect()
}

/// `arg` as a name to look up: `None` when it exists, or names a place
/// (absolute, `..`, not UTF-8, empty).
fn as_name<'a>(arg: &'a Path, cwd: &Path) -> Option<&'a str> {
    let full = cwd.join(arg);
    if full.exists() || full.is_symlink() {
        return None;
    }
    let text = arg.to_str()?;
    if text.is_empty() || crate::sys::paths::check_relative(text).is_err() {
        return None;
    }
    Some(text.strip_prefix("./").unwrap_or(text))
}

/// `name` without a `.yaml`/`.yml` extension, and that extension.
fn split_extension(name: &str) -> (&str, Option<&str>) {
    for ext in ["yaml", "yml"] {
        if let Some(stem) = name.strip_suffix(&format!(".{ext}"))
            && !stem.is_empty()
        {
            return (stem, Some(ext));
        }
    }
    (name, None)
}

/// The message for a name that matches nothing.
fn not_found(name: &str, stem: &str, dirs: &TaskDirs, files: &[TaskFile]) -> String {
    let mut text = format!(
        "no task file `{name}`: not a path from here, nor the name of a task file in {}",
        dirs.describe()
    );
    let mut candidates: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    candidates.extend(files.iter().map(TaskFile::stem));
    candidates.extend(files.iter().map(|f| without_extension(&f.rel)));
    candidates.sort_unstable();
    candidates.dedup();
    if let Some(hint) = crate::spec::diagnostic::suggest(stem, candidates) {
        text.push_str(&format!("\n  {hint}"));
    }
    if files.is_empty() {
        text.push_str("\n  the task folders hold no task file; `wf init NAME` writes one");
    } else {
        text.push_str(&format!(
            "\n  `wf list` lists the {} task file{} of this repository",
            files.len(),
            if files.len() == 1 { "" } else { "s" }
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        for f in files {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(
                p,
                "wf: 1\nname: t\nmodel: { provider: anthropic }\nprompt: x\n",
            )
            .unwrap();
        }
        dir
    }

    fn found(dir: &Path, cwd: &str, arg: &str) -> Result<String, String> {
        task(Path::new(arg), &dir.join(cwd))
            .map(|p| p.display().to_string())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn names_resolve_with_or_without_extension_from_any_folder() {
        let dir = repo(&["workflows/fix.yaml", "workflows/team/bump.yml", "src/a.rs"]);
        let d = dir.path();
        assert_eq!(found(d, "", "fix").unwrap(), "workflows/fix.yaml");
        assert_eq!(found(d, "", "fix.yaml").unwrap(), "workflows/fix.yaml");
        assert_eq!(found(d, "src", "fix").unwrap(), "../workflows/fix.yaml");
        assert_eq!(found(d, "", "bump").unwrap(), "workflows/team/bump.yml");
        assert_eq!(
            found(d, "", "team/bump.yml").unwrap(),
            "workflows/team/bump.yml"
        );
        // The extension typed is the extension matched.
        let wrong = found(d, "", "fix.yml").unwrap_err();
        assert!(wrong.contains("did you mean `fix`?"), "{wrong}");
        // An existing path, an absolute one and a climbing one are kept as typed.
        assert_eq!(found(d, "", "src/a.rs").unwrap(), "src/a.rs");
        assert_eq!(found(d, "src", "../nope").unwrap(), "../nope");
        assert_eq!(found(d, "", "/nope/x.yaml").unwrap(), "/nope/x.yaml");
    }

    #[test]
    fn ambiguity_lists_every_candidate() {
        let dir = repo(&[
            "workflows/a/fix.yaml",
            "workflows/b/fix.yaml",
            "workflows/x.yaml",
            "workflows/x.yml",
        ]);
        let e = found(dir.path(), "", "fix").unwrap_err();
        assert!(e.contains("`fix` names 2 task files"), "{e}");
        assert!(
            e.contains("workflows/a/fix.yaml") && e.contains("workflows/b/fix.yaml"),
            "{e}"
        );
        assert_eq!(
            found(dir.path(), "", "a/fix").unwrap(),
            "workflows/a/fix.yaml"
        );
        let e = found(dir.path(), "", "x").unwrap_err();
        assert!(
            e.contains("workflows/x.yaml") && e.contains("workflows/x.yml"),
            "{e}"
        );
        assert_eq!(found(dir.path(), "", "x.yml").unwrap(), "workflows/x.yml");
    }

    #[test]
    fn the_config_file_replaces_the_default_and_is_checked() {
        let dir = repo(&["workflows/fix.yaml", "tasks/bump.yaml", "ops/deploy.yaml"]);
        let d = dir.path();
        std::fs::write(
            d.join(CONFIG_FILE),
            "# our folders\ntasks/  # ours\n\n./ops\n",
        )
        .unwrap();
        assert_eq!(found(d, "", "bump").unwrap(), "tasks/bump.yaml");
        assert_eq!(found(d, "", "deploy").unwrap(), "ops/deploy.yaml");
        let e = found(d, "", "fix").unwrap_err();
        assert!(e.contains("tasks/, ops/ (as wf.tasks lists)"), "{e}");
        for (text, why) in [
            (
                "../elsewhere\n",
                "wf.tasks:1: `../elsewhere` leaves the repository",
            ),
            ("tasks\n/etc\n", "wf.tasks:2: `/etc` is an absolute path"),
            ("missing\n", "wf.tasks:1: `missing` does not exist"),
            (
                ".wf/tasks\n",
                "wf.tasks:1: `.wf/tasks` is wf's or git's own folder",
            ),
            ("# nothing\n", "wf.tasks lists no task folder"),
        ] {
            std::fs::write(d.join(CONFIG_FILE), text).unwrap();
            let e = found(d, "", "bump").unwrap_err();
            assert!(e.contains(why), "{text:?}: {e}");
        }
        // A symlinked folder that leaves the repository is refused.
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), d.join("linked")).unwrap();
        std::fs::write(d.join(CONFIG_FILE), "linked\n").unwrap();
        let e = found(d, "", "bump").unwrap_err();
        assert!(
            e.contains("outside the repository through a symlink"),
            "{e}"
        );
    }

    #[test]
    fn nothing_found_says_where_it_looked() {
        let dir = repo(&["workflows/migrate-config.yaml"]);
        let e = found(dir.path(), "", "migrate-confg").unwrap_err();
        assert!(e.contains("no task file `migrate-confg`"), "{e}");
        assert!(e.contains("workflows/ (the default;"), "{e}");
        assert!(e.contains("did you mean `migrate-config`?"), "{e}");
        assert!(e.contains("`wf list`"), "{e}");
        let empty = repo(&[]);
        let e = found(empty.path(), "", "x").unwrap_err();
        assert!(
            e.contains("workflows/ (absent)") && e.contains("wf init"),
            "{e}"
        );
    }
}
