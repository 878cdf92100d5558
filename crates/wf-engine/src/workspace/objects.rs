//! The slot's own object store: only what the start reaches.
//!
//! # The slot's objects
//!
//! Commands of a run read the slot's `.git` (read-only), so what its git
//! can reach is what a check can read. The slot therefore has an object
//! store of its own holding only what the start reaches — the start
//! commit, its tree, and the starting tree's uncommitted files — and
//! nothing of the user's other branches, tags, stash or unreachable
//! objects; the user's `.git` is not among the sandbox's read roots. The
//! start commit is the slot's `HEAD`, as a shallow root: `git log -1`,
//! `git show HEAD:path`, `git diff` and `git status` work in a check; the
//! history before it is not there (as in a CI checkout of depth 1), which
//! keeps the cost to the size of the tree, not of the history, and keeps
//! content the history dropped out of reach too. wf copies the objects
//! from the user's repository with `git pack-objects` (compressed data and
//! deltas reused, no delta search), once per slot, then only what a new
//! start adds: while `HEAD` moves forward, a pack per move of the objects
//! the old tree lacked; to a commit that does not descend from the last
//! one (another branch, a rewritten history), the store is made again
//! ([`sync_objects`]). The uncommitted objects of a start are dropped at
//! the next start that differs; the objects wf wrote in the slot during a
//! run (its change, staged) at the next start. wf's own git calls in the
//! slot use the same store. The run's

use super::{WorkspaceError, io};
use crate::sys::git::Git;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The most packs a slot's store collects, one per move of `HEAD`, before
/// it is made again in one pack.
const MAX_PACKS: usize = 16;

/// What a slot's own object store holds, kept in its `.git` (which
/// commands see read-only): the start commit whose objects it has, the
/// packs holding them, and the pack of the starting tree's uncommitted
/// objects.
#[derive(Debug, Default, PartialEq, Eq)]
struct HeldObjects {
    commit: Option<String>,
    base: Vec<String>,
    /// The starting tree whose uncommitted objects `uncommitted` holds.
    tree: Option<String>,
    uncommitted: Vec<String>,
}

impl HeldObjects {
    fn path(dir: &Path) -> PathBuf {
        super::git_dir(dir).join("wf-objects")
    }

    fn read(dir: &Path) -> HeldObjects {
        let mut held = HeldObjects::default();
        let text = std::fs::read_to_string(HeldObjects::path(dir)).unwrap_or_default();
        for line in text.lines() {
            match line.split_once(' ') {
                Some(("commit", id)) if is_object_id(id) => held.commit = Some(id.to_string()),
                Some(("base", name)) if is_object_id(name) => held.base.push(name.to_string()),
                Some(("tree", id)) if is_object_id(id) => held.tree = Some(id.to_string()),
                Some(("uncommitted", name)) if is_object_id(name) => {
                    held.uncommitted.push(name.to_string())
                }
                _ => return HeldObjects::default(),
            }
        }
        held
    }

    fn write(&self, dir: &Path) -> Result<(), WorkspaceError> {
        let mut text = String::new();
        if let Some(commit) = &self.commit {
            text.push_str(&format!("commit {commit}\n"));
        }
        for name in &self.base {
            text.push_str(&format!("base {name}\n"));
        }
        if let Some(tree) = &self.tree {
            text.push_str(&format!("tree {tree}\n"));
        }
        for name in &self.uncommitted {
            text.push_str(&format!("uncommitted {name}\n"));
        }
        std::fs::write(HeldObjects::path(dir), text)
            .map_err(io("cannot record the workspace's objects"))
    }
}

/// A full hexadecimal object id (SHA-1 or SHA-256).
fn is_object_id(id: &str) -> bool {
    matches!(id.len(), 40 | 64) && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Gives the slot at `dir` an object store of its own holding what the
/// start reaches, and nothing of the user's other refs: the start
/// `commit` and its tree (the commit as a shallow root: no history), and
/// the starting `tree` when it is not the commit's (its uncommitted
/// files). Copied from the user's
/// repository at `origin` with `git pack-objects` (existing compressed
/// data and deltas reused, no delta search).
///
/// Paid once per slot, then by what changed: while the new start commit
/// descends from the one the store holds, only objects its tree has and
/// the old one lacks are added (a pack per move, at most [`MAX_PACKS`]);
/// what the old tree had stays, and is reachable from the start commit's
/// history. Otherwise (another branch, a rewritten history, no record of
/// the store) the store is made again from nothing. The uncommitted
/// objects of the last start go unless the start is the same again (then
/// they are kept, not copied twice); the loose objects wf wrote in the
/// slot, any pack the record does not name, and the alternates file of an
/// older wf go every time.
pub(super) fn sync_objects(
    origin: &Path,
    dir: &Path,
    commit: Option<&str>,
    tree: Option<&str>,
) -> Result<(), WorkspaceError> {
    if let Some(commit) = commit
        && !is_object_id(commit)
    {
        return Err(WorkspaceError::Unsafe(format!(
            "the start revision {commit:?} is not a commit id"
        )));
    }
    let objects = super::git_dir(dir).join("objects");
    let packs = objects.join("pack");
    std::fs::create_dir_all(&packs).map_err(io("cannot set up the workspace's git"))?;
    let _ = std::fs::remove_file(objects.join("info/alternates"));
    let mut held = HeldObjects::read(dir);
    // Until the new record is written, the store is in no known state.
    let _ = std::fs::remove_file(HeldObjects::path(dir));
    prune_loose_objects(&objects);
    let keep_base = match (commit, held.commit.as_deref()) {
        (Some(new), Some(old)) if new == old => true,
        (Some(new), Some(old)) => {
            held.base.len() < MAX_PACKS
                && Git::private(origin)
                    .args(["merge-base", "--is-ancestor", old, new])
                    .succeeds()
        }
        _ => false,
    };
    if !keep_base {
        held.base.clear();
    }
    // The same start as the last run's (same commit, same uncommitted
    // state): its uncommitted objects are there already.
    let same_start = held.commit.as_deref() == commit && held.tree.as_deref() == tree;
    if !same_start {
        held.uncommitted.clear();
        held.tree = None;
    }
    let kept: Vec<String> = held.base.iter().chain(&held.uncommitted).cloned().collect();
    remove_packs_but(&packs, &kept);
    if let Some(new) = commit
        && held.commit.as_deref() != Some(new)
    {
        let mut revs = format!("--shallow {new}\n{new}\n");
        if let Some(old) = held.commit.as_deref().filter(|_| keep_base) {
            revs.push_str(&format!("^{old}^{{tree}}\n"));
        }
        held.base.extend(pack_into(origin, &packs, &revs)?);
    }
    held.commit = commit.map(str::to_string);
    if let Some(tree) = tree.filter(|_| !same_start) {
        let revs = match commit {
            Some(commit) => format!("{tree}\n^{commit}^{{tree}}\n"),
            None => format!("{tree}\n"),
        };
        held.uncommitted = pack_into(origin, &packs, &revs)?;
        held.tree = Some(tree.to_string());
    }
    held.write(dir)
}

/// Packs the objects `revs` (`git rev-list` arguments, one a line) name
/// from the repository at `origin` into the store whose pack directory is
/// `packs`; the names of the packs written.
///
/// git writes a pack as a temporary file in the object directory of the
/// repository it runs for, then renames it to the name asked for: run for
/// the user's repository, the rename would cross filesystems whenever the
/// repository and wf's workspaces are on two (a repository on tmpfs, or
/// `/tmp` a tmpfs and the home on disk) and fail with `EXDEV`. So the
/// command runs with the slot's object directory as its own
/// (`GIT_OBJECT_DIRECTORY`) and reads the user's objects as alternates
/// (`GIT_ALTERNATE_OBJECT_DIRECTORIES`, for this command only: the slot
/// keeps no alternates file); the temporary file is then made next to
/// where it goes.
fn pack_into(origin: &Path, packs: &Path, revs: &str) -> Result<Vec<String>, WorkspaceError> {
    // Bytes, not text: a repository's path need not be UTF-8.
    let mut objects = Git::private(origin)
        .args([
            "rev-parse",
            "--path-format=absolute",
            "--git-path",
            "objects",
        ])
        .output()?;
    if objects.last() == Some(&b'\n') {
        objects.pop();
    }
    let own = packs
        .parent()
        .expect("the pack directory is in an object store");
    let out = Git::private(origin)
        .env("GIT_OBJECT_DIRECTORY", own)
        .env(
            "GIT_ALTERNATE_OBJECT_DIRECTORIES",
            std::ffi::OsStr::from_bytes(&alternate_entry(&objects)),
        )
        .args(["pack-objects", "--revs", "--window=0", "-q"])
        .arg(packs.join("pack"))
        .input(revs)
        .text()?;
    Ok(out
        .lines()
        .map(str::trim)
        .filter(|name| is_object_id(name))
        .map(str::to_string)
        .collect())
}

/// `path` as one entry of `GIT_ALTERNATE_OBJECT_DIRECTORIES`, a
/// colon-separated list: a path with a colon (or starting with a quote) is
/// written C-quoted, which git reads back as one path. In git's unquoting
/// only `\` and `"` need a backslash (and newline and tab have one); every
/// other byte, UTF-8 or not, stands for itself.
fn alternate_entry(path: &[u8]) -> Vec<u8> {
    if !path.contains(&b':') && !path.starts_with(b"\"") {
        return path.to_vec();
    }
    let mut out = vec![b'"'];
    for &b in path {
        match b {
            b'"' | b'\\' => out.extend([b'\\', b]),
            b'\n' => out.extend(b"\\n"),
            b'\t' => out.extend(b"\\t"),
            _ => out.push(b),
        }
    }
    out.push(b'"');
    out
}

/// Removes every pack in `packs` (and its index and other companions)
/// whose name is not in `keep`.
fn remove_packs_but(packs: &Path, keep: &[String]) {
    let Ok(entries) = std::fs::read_dir(packs) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let id = name
            .strip_prefix("pack-")
            .and_then(|rest| rest.split('.').next())
            .unwrap_or("");
        if !keep.iter().any(|k| k == id) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Points the slot's `HEAD` at `commit` (detached; the commit a shallow
/// root, its history not in the slot), or at an unborn branch before the
/// first commit.
pub(super) fn set_head(dir: &Path, commit: Option<&str>) -> Result<(), WorkspaceError> {
    let git_dir = super::git_dir(dir);
    let shallow = git_dir.join("shallow");
    let head = match commit {
        Some(commit) => {
            std::fs::write(&shallow, format!("{commit}\n"))
                .map_err(io("cannot set up the workspace's git"))?;
            format!("{commit}\n")
        }
        None => {
            let _ = std::fs::remove_file(&shallow);
            "ref: refs/heads/main\n".to_string()
        }
    };
    std::fs::write(git_dir.join("HEAD"), head).map_err(io("cannot set up the workspace's git"))
}

/// Removes the loose objects of the slot's own store (`objects/xx/`).
/// Best effort: a leftover only costs disk.
fn prune_loose_objects(objects: &Path) {
    let Ok(entries) = std::fs::read_dir(objects) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::tests::{init_slot, run_git, write};

    /// Whether the slot's git at `dir` holds the object `id`.
    fn holds(dir: &Path, id: &str) -> bool {
        Git::private(dir).args(["cat-file", "-e", id]).succeeds()
    }

    fn blob_of(dir: &Path, text: &str) -> String {
        Git::private(dir)
            .args(["hash-object", "--stdin"])
            .input(text)
            .text()
            .unwrap()
    }

    fn packs_in(dir: &Path) -> usize {
        std::fs::read_dir(crate::workspace::git_dir(dir).join("objects/pack"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".pack"))
            .count()
    }

    #[test]
    fn a_repository_whose_path_has_a_colon_or_a_quote_is_copied_from() {
        // The user's objects reach git as one entry of a colon-separated
        // list; the path must come through whole.
        let parent = tempfile::tempdir().unwrap();
        let names: [&[u8]; 4] = [
            b"a:b",
            b"\"quoted\" dir",
            b"both: \"q\" \\b\tt",
            // Latin-1, not UTF-8 (with a colon: the quoted form too).
            b"caf\xe9:x",
        ];
        for name in names {
            let o = parent.path().join(std::ffi::OsStr::from_bytes(name));
            let shown = String::from_utf8_lossy(name);
            std::fs::create_dir(&o).unwrap();
            run_git(&o, &["init", "-q", "-b", "main"]);
            write(&o, "a.txt", "first\n");
            run_git(&o, &["add", "-A"]);
            run_git(&o, &["commit", "-q", "-m", "one"]);
            let c = run_git(&o, &["rev-parse", "HEAD"]).trim().to_string();
            let slots = tempfile::tempdir().unwrap();
            let slot = slots.path().join("s");
            init_slot(&slot);
            sync_objects(&o, &slot, Some(&c), None).unwrap();
            assert!(holds(&slot, &c), "{shown}");
            assert!(holds(&slot, &blob_of(&o, "first\n")), "{shown}");
        }
        assert_eq!(
            alternate_entry(b"/r/a:b/.git/objects"),
            b"\"/r/a:b/.git/objects\""
        );
        assert_eq!(
            alternate_entry(b"/r/a:\"b\\c\t\xe9/o"),
            b"\"/r/a:\\\"b\\\\c\\t\xe9/o\""
        );
        assert_eq!(
            alternate_entry(b"/plain/.git/objects"),
            b"/plain/.git/objects"
        );
        assert_eq!(alternate_entry(b"/caf\xe9/o"), b"/caf\xe9/o");
    }

    #[test]
    fn the_slots_store_holds_what_the_start_reaches_and_follows_head_incrementally() {
        let origin = tempfile::tempdir().unwrap();
        let o = origin.path();
        run_git(o, &["init", "-q", "-b", "main"]);
        write(o, "a.txt", "first\n");
        run_git(o, &["add", "-A"]);
        run_git(o, &["commit", "-q", "-m", "one"]);
        run_git(o, &["checkout", "-q", "-b", "other"]);
        write(o, "other.txt", "other branch only\n");
        run_git(o, &["add", "-A"]);
        run_git(o, &["commit", "-q", "-m", "other"]);
        let other = run_git(o, &["rev-parse", "HEAD"]).trim().to_string();
        run_git(o, &["checkout", "-q", "main"]);
        let head = |o: &Path| {
            let c = run_git(o, &["rev-parse", "HEAD"]).trim().to_string();
            let t = run_git(o, &["rev-parse", "HEAD^{tree}"]).trim().to_string();
            (c, t)
        };
        let slots = tempfile::tempdir().unwrap();
        let slot = slots.path().join("s");
        let s = slot.as_path();
        init_slot(s);

        // The first start: its commit, tree and an uncommitted file.
        let (c1, t1) = head(o);
        write(o, "wip.txt", "uncommitted once\n");
        run_git(o, &["add", "wip.txt"]);
        let start = run_git(o, &["write-tree"]).trim().to_string();
        run_git(o, &["rm", "-q", "--cached", "wip.txt"]);
        std::fs::remove_file(o.join("wip.txt")).unwrap();
        sync_objects(o, s, Some(&c1), Some(&start)).unwrap();
        set_head(s, Some(&c1)).unwrap();
        for id in [&c1, &t1, &start, &blob_of(o, "first\n")] {
            assert!(holds(s, id), "{id}");
        }
        assert!(holds(s, &blob_of(o, "uncommitted once\n")));
        assert!(!holds(s, &other), "another branch's commit");
        assert!(!holds(s, &blob_of(o, "other branch only\n")));
        assert_eq!(
            run_git(s, &["log", "-1", "--format=%s"]).trim(),
            "one",
            "HEAD is the start commit"
        );
        assert_eq!(packs_in(s), 2, "the commit's pack and the uncommitted one");
        // The same start again: nothing copied, nothing dropped.
        let before = HeldObjects::read(s);
        sync_objects(o, s, Some(&c1), Some(&start)).unwrap();
        assert_eq!(HeldObjects::read(s), before);
        assert!(holds(s, &blob_of(o, "uncommitted once\n")));

        // HEAD moves forward: one pack more, with only what is new; the
        // last start's uncommitted objects are gone.
        write(o, "b.txt", "second\n");
        run_git(o, &["add", "-A"]);
        run_git(o, &["commit", "-q", "-m", "two"]);
        let (c2, t2) = head(o);
        sync_objects(o, s, Some(&c2), None).unwrap();
        assert!(holds(s, &t2));
        assert_eq!(packs_in(s), 2, "the first commit's pack and the new one");
        assert!(holds(s, &c2) && holds(s, &blob_of(o, "second\n")));
        assert!(holds(s, &blob_of(o, "first\n")));
        assert!(!holds(s, &blob_of(o, "uncommitted once\n")));
        let held = HeldObjects::read(s);
        assert_eq!(held.commit.as_deref(), Some(c2.as_str()));
        let newest = held.base.last().unwrap();
        let idx = crate::workspace::git_dir(s).join(format!("objects/pack/pack-{newest}.idx"));
        let listed = run_git(s, &["verify-pack", "-v", idx.to_str().unwrap()]);
        let objects = listed
            .lines()
            .filter(|l| l.len() > 40 && is_object_id(&l[..40]));
        assert_eq!(objects.count(), 3, "commit, tree, new blob: {listed}");

        // The same start again: nothing to copy.
        sync_objects(o, s, Some(&c2), None).unwrap();
        assert_eq!(HeldObjects::read(s).base, held.base);

        // Another branch: not a descendant, so the store is made again and
        // holds nothing of main's own commits.
        run_git(o, &["checkout", "-q", "other"]);
        sync_objects(o, s, Some(&other), None).unwrap();
        assert_eq!(packs_in(s), 1);
        assert!(holds(s, &other) && holds(s, &blob_of(o, "other branch only\n")));
        assert!(!holds(s, &c2) && !holds(s, &blob_of(o, "second\n")));

        // An older wf's slot borrowed the user's store: that goes too.
        let alternates = crate::workspace::git_dir(s).join("objects/info/alternates");
        std::fs::create_dir_all(alternates.parent().unwrap()).unwrap();
        std::fs::write(
            &alternates,
            format!("{}\n", o.join(".git/objects").display()),
        )
        .unwrap();
        std::fs::remove_file(HeldObjects::path(s)).unwrap();
        sync_objects(o, s, Some(&c1), None).unwrap();
        assert!(!alternates.exists());
        assert!(!holds(s, &other));

        // A revision that is not a commit id is refused.
        let err = sync_objects(o, s, Some("--all"), None).unwrap_err();
        assert!(err.to_string().contains("not a commit id"), "{err}");
    }
}
