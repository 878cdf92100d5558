//! `list_files`: the files under a directory, gitignore respected, only
//! those the policy lets the model read, sorted and capped.

use super::{Result, ToolOutcome, check, fail, io_fail, listing, opt_glob, opt_string, walk};
use crate::policy::{Access, Policy};
use crate::sys::beneath::Kind;
use serde_json::{Map, Value, json};

/// Most paths `list_files` returns.
pub const LIST_MAX: usize = 1_000;

/// `list_files {path?, glob?}`.
pub fn call(policy: &Policy, args: &Map<String, Value>) -> Result<ToolOutcome> {
    let path = opt_string(args, "path")?.unwrap_or(".");
    let glob = opt_glob(args)?;
    let (_, rel) = check(policy, path, Access::List)?;
    let walked =
        walk::walk(policy.dir(), policy.root(), &rel).or_else(|e| match e.raw_os_error() {
            Some(libc::ENOTDIR) => fail(format!("{path} is not a directory")),
            _ => io_fail(path, &e),
        })?;
    let mut found: Vec<String> = walked
        .into_iter()
        // A file the walk found is at its real path; a symlink is shown
        // when a read of it would be allowed (its target decides).
        .filter(|f| match f.kind {
            Kind::Symlink => policy.readable(&f.rel),
            _ => policy.readable_real(&f.rel),
        })
        .map(|f| f.rel)
        .filter(|p| {
            glob.as_ref().is_none_or(|g| {
                let under = p.strip_prefix(&format!("{rel}/")).unwrap_or(p);
                g.is_match(p) || g.is_match(under)
            })
        })
        .collect();
    found.sort();
    let total = found.len();
    let capped = (total > LIST_MAX).then(|| format!("{LIST_MAX} of {total} files shown"));
    found.truncate(LIST_MAX);
    Ok(listing(found.join("\n"), capped, "files"))
}

/// What the model is told about the tool, and its input schema.
pub fn definition() -> (&'static str, Value) {
    (
        "List files under a directory (default: root), gitignore respected, sorted. Optional glob filter.",
        json!({"type":"object","properties":{"path":{"type":"string"},"glob":{"type":"string"}}}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::CallError;
    use crate::tools::test_support::{self, read_policy as policy};
    use std::path::Path;

    fn file(dir: &Path, rel: &str) {
        test_support::file(dir, rel, "x\n");
    }

    fn list(dir: &Path, read: &[&str], input: Value) -> Result<ToolOutcome> {
        call(&policy(dir, read), input.as_object().unwrap())
    }

    #[test]
    fn files_are_listed_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["b.txt", "a/z.txt", "c/d/e.txt", "a/b.txt", "A.txt"] {
            file(dir.path(), f);
        }
        let out = list(dir.path(), &["**"], json!({})).unwrap();
        assert_eq!(out.content, "A.txt\na/b.txt\na/z.txt\nb.txt\nc/d/e.txt");
        assert!(!out.truncated);
        let under = list(dir.path(), &["**"], json!({"path": "a"})).unwrap();
        assert_eq!(under.content, "a/b.txt\na/z.txt");
    }

    #[test]
    fn unreadable_ignored_and_internal_files_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "src/a.rs",
            "src/b.rs",
            "secret.env",
            ".git/config",
            ".wf/runs/x",
            "src/build.log",
        ] {
            file(dir.path(), f);
        }
        std::fs::write(dir.path().join("src/.gitignore"), "*.log\n").unwrap();
        let out = list(dir.path(), &["src/**"], json!({})).unwrap();
        assert_eq!(out.content, "src/.gitignore\nsrc/a.rs\nsrc/b.rs");
        let all = list(dir.path(), &["**"], json!({})).unwrap();
        assert_eq!(
            all.content,
            "secret.env\nsrc/.gitignore\nsrc/a.rs\nsrc/b.rs"
        );
    }

    #[test]
    fn nothing_to_list_and_not_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "secret.env");
        let out = list(dir.path(), &["src/**"], json!({})).unwrap();
        assert_eq!(out.content, "[no files]");
        match list(dir.path(), &["**"], json!({"path": "secret.env"})) {
            Err(CallError::Failed(m)) => assert!(m.contains("not a directory"), "{m}"),
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}
