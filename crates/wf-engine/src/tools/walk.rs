//! The walk of `list_files` and `search`: every entry under a directory of
//! the workspace, read through directory descriptors opened beneath the
//! workspace with no link followed ([`crate::sys::beneath`]), with the
//! ignore rules of [`crate::context::walk_builder`].
//!
//! The `ignore` crate's walker opens paths by name, so it could be led out
//! of the workspace by a directory swapped for a symlink mid-walk; only its
//! gitignore *matchers* are used here, on names, while the traversal opens
//! nothing by path. The rules, as that walker applies them with wf's
//! settings: hidden files are walked; in each directory `.ignore`, then
//! `.gitignore`, then `.git/info/exclude` (where `.git` is a directory)
//! decide, the deepest directory with a matching rule winning within each
//! kind and `.ignore` over `.gitignore` over the exclude file; an ignored
//! directory is not entered; directories named `.git` or `.wf` are never
//! entered; links are not followed. Two differences, both in the direction
//! of the boundary: ignore files above the workspace root are not read
//! (the workspace is the repository), and an ignore file that is itself a
//! symlink is not read. Ignore rules only hide files: what may be read is
//! decided by the policy.

use crate::sys::beneath::{Kind, Root};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::path::Path;

/// One entry a walk found: its path relative to the workspace root (a real
/// path: no link on it) and what it is. Directories are not listed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Found {
    pub rel: String,
    pub kind: Kind,
}

/// The ignore rules of one directory.
#[derive(Default)]
struct Level {
    ignore: Option<Gitignore>,
    git: Option<Gitignore>,
    exclude: Option<Gitignore>,
}

/// Every non-directory entry under `start` (a real directory path relative
/// to the workspace, `""` for the root), unsorted. `root` is the
/// workspace's absolute path, used only to name paths to the matchers.
/// An error opening `start` itself is returned; a subdirectory that cannot
/// be read (gone, or a link now) is left out.
pub fn walk(dir: &Root, root: &Path, start: &str) -> std::io::Result<Vec<Found>> {
    let entries = dir.read_dir(start)?;
    let mut levels = Vec::new();
    // The rules of the directories above `start`, from the root down.
    if !start.is_empty() {
        let mut above = String::new();
        levels.push(load(dir, root, &above, None));
        let parts: Vec<&str> = start.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            above = join(&above, part);
            levels.push(load(dir, root, &above, None));
        }
    }
    let mut out = Vec::new();
    visit(dir, root, start, entries, &mut levels, &mut out);
    Ok(out)
}

fn visit(
    dir: &Root,
    root: &Path,
    rel: &str,
    entries: Vec<(std::ffi::OsString, Kind)>,
    levels: &mut Vec<Level>,
    out: &mut Vec<Found>,
) {
    levels.push(load(dir, root, rel, Some(&entries)));
    for (name, kind) in entries {
        // A name that is not UTF-8 cannot be matched nor shown.
        let Some(name) = name.to_str() else {
            continue;
        };
        let is_dir = kind == Kind::Dir;
        if is_dir && (name == ".git" || name == ".wf") {
            continue;
        }
        let child = join(rel, name);
        if ignored(levels, &root.join(&child), is_dir) {
            continue;
        }
        if is_dir {
            if let Ok(inner) = dir.read_dir(&child) {
                visit(dir, root, &child, inner, levels, out);
            }
        } else {
            out.push(Found { rel: child, kind });
        }
    }
    levels.pop();
}

/// Whether the rules say `path` is ignored: per kind the deepest matching
/// rule, then `.ignore` before `.gitignore` before the exclude file.
fn ignored(levels: &[Level], path: &Path, is_dir: bool) -> bool {
    let pick = |get: fn(&Level) -> Option<&Gitignore>| {
        levels
            .iter()
            .rev()
            .filter_map(get)
            .map(|g| g.matched(path, is_dir))
            .find(|m| !m.is_none())
    };
    pick(|l| l.ignore.as_ref())
        .or_else(|| pick(|l| l.git.as_ref()))
        .or_else(|| pick(|l| l.exclude.as_ref()))
        .is_some_and(|m| m.is_ignore())
}

/// The rules of the directory `rel`. With its entries known, only the
/// ignore files it has are opened.
fn load(
    dir: &Root,
    root: &Path,
    rel: &str,
    entries: Option<&[(std::ffi::OsString, Kind)]>,
) -> Level {
    let has = |name: &str, kind: Kind| {
        entries.is_none_or(|e| e.iter().any(|(n, k)| n == name && *k == kind))
    };
    let base = root.join(rel);
    let read = |file: &str| matcher(dir, &base, &join(rel, file));
    Level {
        ignore: has(".ignore", Kind::File)
            .then(|| read(".ignore"))
            .flatten(),
        git: has(".gitignore", Kind::File)
            .then(|| read(".gitignore"))
            .flatten(),
        exclude: has(".git", Kind::Dir)
            .then(|| read(".git/info/exclude"))
            .flatten(),
    }
}

/// The matcher of the ignore file at `file`, rooted at `base`; `None` when
/// it cannot be opened beneath the workspace (missing, or a link).
fn matcher(dir: &Root, base: &Path, file: &str) -> Option<Gitignore> {
    use std::io::Read;
    let mut f = dir.open_read(file).ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).ok()?;
    let mut builder = GitignoreBuilder::new(base);
    // As `GitignoreBuilder::add` reads a file: line by line, a byte-order
    // mark dropped, stopping at the first line that is not UTF-8; a bad
    // line is skipped.
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Ok(line) = std::str::from_utf8(line) else {
            break;
        };
        let line = if i == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            line
        };
        let _ = builder.add_line(None, line);
    }
    builder.build().ok()
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::test_support::file;

    /// The files `walk` finds, sorted, next to what the `ignore` crate's
    /// walker with wf's settings finds.
    fn both(root: &Path, start: &str) -> (Vec<String>, Vec<String>) {
        let root = root.canonicalize().unwrap();
        let dir = Root::open(&root).unwrap();
        let mut ours: Vec<String> = walk(&dir, &root, start)
            .unwrap()
            .into_iter()
            .map(|f| f.rel)
            .collect();
        ours.sort();
        let mut theirs: Vec<String> = crate::context::walk_builder(&root, &root.join(start))
            .build()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_some_and(|t| !t.is_dir()))
            .filter_map(|e| crate::sys::paths::relative(&root, e.path()))
            .collect();
        theirs.sort();
        (ours, theirs)
    }

    #[test]
    fn the_rules_are_those_of_the_ignore_walker() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "a.txt",
            "b.log",
            "keep.log",
            "build/out.o",
            "src/a.rs",
            "src/gen/x.rs",
            "src/gen/keep.rs",
            "src/.hidden",
            "src/deep/note.tmp",
            "src/deep/c.rs",
            "docs/.ignore-me",
            "docs/d.md",
            "local/x.txt",
            ".git/config",
            ".git/info/exclude",
            "src/.wf/runs/r",
            "nested/.git/HEAD",
            "nested/n.txt",
        ] {
            file(root, f, "x\n");
        }
        file(root, ".gitignore", "*.log\n!keep.log\nbuild/\n");
        file(root, "src/.gitignore", "gen/*\n!gen/keep.rs\n*.tmp\n");
        file(root, "docs/.ignore", ".ignore-me\n");
        file(root, ".git/info/exclude", "local/\n");
        // `.ignore` wins over `.gitignore`: the `.gitignore` hides d.md,
        // `.ignore` shows it again.
        file(root, "docs/.gitignore", "d.md\n");
        file(root, ".ignore", "!docs/d.md\n");
        std::os::unix::fs::symlink("a.txt", root.join("link.txt")).unwrap();
        std::os::unix::fs::symlink("src", root.join("srclink")).unwrap();
        for start in ["", "src", "src/deep", "docs"] {
            let (ours, theirs) = both(root, start);
            assert_eq!(ours, theirs, "under `{start}`");
        }
        let (all, _) = both(root, "");
        assert!(all.contains(&"src/gen/keep.rs".to_string()), "{all:?}");
        assert!(!all.contains(&"src/gen/x.rs".to_string()), "{all:?}");
        assert!(!all.iter().any(|f| f.starts_with("local/")), "{all:?}");
        assert!(all.contains(&"srclink".to_string()), "{all:?}");
    }

    #[test]
    fn a_symlinked_directory_is_not_walked_nor_a_symlinked_start() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        file(outside.path(), "secret.txt", "x\n");
        file(dir.path(), "src/a.txt", "x\n");
        std::os::unix::fs::symlink(outside.path(), dir.path().join("src/out")).unwrap();
        let root = dir.path().canonicalize().unwrap();
        let d = Root::open(&root).unwrap();
        let mut found = walk(&d, &root, "src").unwrap();
        found.sort();
        assert_eq!(
            found,
            [
                Found {
                    rel: "src/a.txt".into(),
                    kind: Kind::File
                },
                Found {
                    rel: "src/out".into(),
                    kind: Kind::Symlink
                },
            ]
        );
        let e = walk(&d, &root, "src/out").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP));
    }
}
