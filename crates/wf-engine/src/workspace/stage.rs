//! Staging the user's tree into wf's private index kept next to the slot,
//! whose tree names a run's start (which ignored files join it: see
//! [`super::tools`] and the module docs of [`super`]).

use super::{LOCKFILES, Slot, WorkspaceError, io};
use crate::sys::git::{EMPTY_TREE, Git};
use std::path::Path;

/// The private index of the user's tree brought up to date with the tree as
/// it is now (tracked changes, untracked files that are not ignored; `.wf/`
/// never), written as a tree object; with the patch of that state against
/// `revision` (or against nothing before the first commit).
///
/// `read-tree -m` takes the tracked set from the commit and keeps the stat
/// data of every entry whose content matches it, and `add -A` then re-reads
/// only files whose stat data changed, as `git status` does: the cost
/// follows what changed since the last run, not the size of the tree. The
/// user's own index is never read or written (their staging area is theirs;
/// its entries may also hold what their clean filters made of a file, where
/// wf works on the bytes in the tree). The objects of new and changed files
/// go to the repository's object store, as `git add` would put them there.
pub(super) fn stage_origin(
    origin: &Path,
    head: Option<&(String, String)>,
    slot: &Slot,
    named: &[String],
) -> Result<(String, String), WorkspaceError> {
    let index = slot.origin_index.as_path();
    let (base, base_tree) = match head {
        Some((commit, tree)) => (commit.as_str(), tree.as_str()),
        None => (EMPTY_TREE, EMPTY_TREE),
    };
    // The commit the index was last read from: while it is the same, the
    // tracked set is too, and the index (kept from the last run, `.wf/`
    // already out of it) only needs `add -A`.
    let read_from = std::fs::read_to_string(&slot.origin_head).unwrap_or_default();
    let same_commit = read_from.trim() == base && index.is_file();
    // `.wf/` ignores itself (`.wf/.gitignore`, written by wf, has the one
    // rule `*`): then `add -A` cannot bring it back in.
    let wf_ignored = std::fs::read_to_string(origin.join(".wf/.gitignore")).is_ok_and(|text| {
        let rules: Vec<&str> = text
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        rules == ["*"]
    });
    if !same_commit {
        let _ = std::fs::remove_file(&slot.origin_head);
        if !index.is_file() {
            seed_index(origin, index);
        }
        let read = || {
            Git::private(origin)
                .args(["read-tree", "-m", base])
                .index(index)
                .output()
        };
        if read().is_err() {
            // An index this wf cannot use (another git's format, a crash of
            // an older wf): start it again; the first staging reads every
            // file.
            let _ = std::fs::remove_file(index);
            read()?;
        }
    }
    // The user's own git config decides what is ignored, as `git status`
    // shows it to them (plus the untracked cache, for wf's own index: only
    // directories whose mtime changed are read again).
    Git::user(origin)
        .args(["-c", "core.untrackedCache=true", "add", "-A"])
        .index(index)
        .output()?;
    // Lockfiles at the root are part of the start even when ignored: the
    // build resolves from them, and a change to them is in the diff.
    // So are the files the task's context names literally (one rule for
    // what the model sees and what its tools and commands find, see
    // "Ignored files the task names" in the docs of `tools`): regular files
    // only, never under `.git/` or `.wf/`.
    let locks: Vec<&str> = LOCKFILES
        .iter()
        .copied()
        .chain(
            named
                .iter()
                .map(String::as_str)
                .filter(|p| named_in_start(p)),
        )
        .filter(|name| {
            std::fs::symlink_metadata(origin.join(name)).is_ok_and(|m| m.file_type().is_file())
        })
        .collect();
    if !locks.is_empty() {
        Git::user(origin)
            .args(["add", "-f", "--"])
            .args(locks)
            .index(index)
            .output()?;
    }
    if !(same_commit && wf_ignored) {
        // `.wf/` is never part of the starting state (an exclude pathspec
        // on `add` instead would make it fail when the user's .gitignore
        // lists `.wf/`).
        Git::private(origin)
            .args([
                "rm",
                "-r",
                "-q",
                "--cached",
                "--ignore-unmatch",
                "--",
                ".wf",
            ])
            .index(index)
            .output()?;
    }
    let tree = Git::private(origin)
        .args(["write-tree"])
        .index(index)
        .text()?;
    std::fs::write(&slot.origin_head, format!("{base}\n"))
        .map_err(io("cannot write the workspace's state"))?;
    if tree == base_tree {
        // A clean tree: nothing uncommitted to record.
        return Ok((tree, String::new()));
    }
    let patch = Git::private(origin)
        .args([
            "diff",
            "--cached",
            "--binary",
            "--no-renames",
            "--no-color",
            "--no-ext-diff",
            base,
        ])
        .index(index)
        .output()?;
    Ok((tree, String::from_utf8_lossy(&patch).into_owned()))
}

/// Whether a path the context names may join the start by name: relative,
/// no `..`, `.` or empty component, not under `.git/` or `.wf/`.
fn named_in_start(path: &str) -> bool {
    let mut parts = path.split('/');
    let first = parts.clone().next().unwrap_or("");
    !path.is_empty()
        && first != ".git"
        && first != ".wf"
        && parts.all(|c| !c.is_empty() && c != "." && c != "..")
}

/// Starts wf's private index of the user's tree (a new slot) as a copy of
/// the user's own index, for its stat data: `read-tree -m` then keeps the
/// entries whose content matches the commit, and `add -A` re-reads only
/// files changed since the user's git last looked, instead of every file
/// (2.7 s → 0.3 s for 100,000 files here). Only when the user's git cannot
/// have stored anything but the bytes of the tree: no `.gitattributes` in
/// the index, no `info/attributes`, no `core.autocrlf`, `core.eol` or
/// `core.attributesFile` of the user's (filters such as Git LFS, and line
/// ending conversion, make an entry's blob differ from the file). The
/// copy keeps the index's mtime, so git's racy-entry rule works on it as
/// on the original. Best effort: without a seed, the first staging reads
/// every file.
fn seed_index(origin: &Path, index: &Path) {
    let user_index = origin.join(".git/index");
    if !origin.join(".git").is_dir() || !user_index.is_file() {
        return;
    }
    if std::fs::metadata(origin.join(".git/info/attributes")).is_ok_and(|m| m.len() > 0) {
        return;
    }
    let attributes = Git::user(origin)
        .args(["ls-files", "-z", "--", "*.gitattributes"])
        .output();
    if !attributes.is_ok_and(|out| out.is_empty()) {
        return;
    }
    // wf's own `-c` settings show as the "command" scope: only the user's
    // files count.
    let config = Git::user(origin)
        .args([
            "config",
            "--show-scope",
            "--get-regexp",
            r"^core\.(autocrlf|eol|attributesfile)$",
        ])
        .output()
        .unwrap_or_default();
    let configured = String::from_utf8_lossy(&config)
        .lines()
        .any(|line| !line.starts_with("command"));
    if configured {
        return;
    }
    let copied = std::fs::copy(&user_index, index).is_ok()
        && std::fs::metadata(&user_index)
            .and_then(|m| m.modified())
            .and_then(|t| {
                std::fs::File::options()
                    .write(true)
                    .open(index)?
                    .set_modified(t)
            })
            .is_ok();
    if !copied {
        let _ = std::fs::remove_file(index);
    }
}

/// The number of entries of a git index file (its header: `DIRC`, version,
/// entry count), without a git process.
pub(super) fn index_entries(index: &Path) -> Option<usize> {
    use std::io::Read;
    let mut header = [0u8; 12];
    std::fs::File::open(index)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    (&header[..4] == b"DIRC")
        .then(|| u32::from_be_bytes([header[8], header[9], header[10], header[11]]) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_entries_reads_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("index");
        let mut header = b"DIRC\0\0\0\x02".to_vec();
        header.extend(1234u32.to_be_bytes());
        std::fs::write(&f, &header).unwrap();
        assert_eq!(index_entries(&f), Some(1234));
        std::fs::write(&f, b"XXXX\0\0\0\x02\0\0\0\x01").unwrap();
        assert_eq!(index_entries(&f), None);
        std::fs::write(&f, b"DIRC").unwrap();
        assert_eq!(index_entries(&f), None);
    }
}
