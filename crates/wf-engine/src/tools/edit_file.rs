//! `edit_file`: replace exact text, once (or everywhere with `replace_all`).

use super::write_file::{WRITE_MAX_BYTES, replace_contents};
use super::{CallError, Result, ToolOutcome, WriteBudget, check, fail, io_fail, string_arg};
use crate::policy::{Access, Policy};
use serde_json::{Map, Value, json};
use std::io::Read;

/// `edit_file {path, old, new, replace_all?}`, within what `budget` allows
/// (and counted in it).
pub fn call(
    policy: &Policy,
    args: &Map<String, Value>,
    budget: &mut WriteBudget,
) -> Result<ToolOutcome> {
    let path = string_arg(args, "path")?;
    let old = string_arg(args, "old")?;
    let new = string_arg(args, "new")?;
    let replace_all = match args.get("replace_all") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return fail("`replace_all` must be a boolean"),
    };
    if old.is_empty() {
        return fail("`old` is empty; use write_file to create a file");
    }
    let (_, real) = check(policy, path, Access::Write)?;
    // One descriptor for the read and the write: the file edited is the
    // file read.
    let file = policy
        .dir()
        .open_read_write(&real)
        .or_else(|e| match e.raw_os_error() {
            Some(libc::EISDIR) => fail(format!("{path} is a directory")),
            _ => io_fail(path, &e),
        })?;
    let meta = file
        .metadata()
        .map_err(|e| CallError::Failed(format!("cannot read {path}: {e}")))?;
    if !meta.is_file() {
        return fail(format!("{path} is not a regular file"));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    (&file)
        .read_to_end(&mut bytes)
        .map_err(|e| CallError::Failed(format!("cannot read {path}: {e}")))?;
    let Ok(text) = String::from_utf8(bytes) else {
        return fail(format!("{path} is not UTF-8 text"));
    };
    let n = text.matches(old).count();
    if n == 0 {
        return fail(format!(
            "`old` not found in {path}; it must match exactly, whitespace included"
        ));
    }
    if n > 1 && !replace_all {
        return fail(format!(
            "`old` occurs {n} times in {path}; add context to make it unique, or set replace_all"
        ));
    }
    // The result's size, computed before building it: a small file with
    // many matches and a long `new` must not allocate its result first.
    let replaced = if replace_all { n } else { 1 };
    let size = match result_len(text.len(), replaced, old.len(), new.len()) {
        Some(size) if size <= WRITE_MAX_BYTES => size,
        _ => return fail(format!("the result would be over {WRITE_MAX_BYTES} bytes")),
    };
    budget.check(path, size)?;
    let updated = if replace_all {
        text.replace(old, new)
    } else {
        text.replacen(old, new, 1)
    };
    replace_contents(&file, path, updated.as_bytes())?;
    budget.spend(updated.len());
    Ok(ToolOutcome::ok(
        format!(
            "edited {path}: {n} replacement{}",
            if n == 1 { "" } else { "s" }
        ),
        false,
    ))
}

/// The length of `text_len` bytes with `count` occurrences of `old_len`
/// bytes replaced by `new_len` bytes; `None` when it does not fit a `usize`.
fn result_len(text_len: usize, count: usize, old_len: usize, new_len: usize) -> Option<usize> {
    let removed = count.checked_mul(old_len)?;
    let added = count.checked_mul(new_len)?;
    text_len.checked_sub(removed)?.checked_add(added)
}

/// What the model is told about the tool, and its input schema.
pub fn definition() -> (&'static str, Value) {
    (
        "Replace exact text in a file. `old` must occur exactly once unless replace_all.",
        json!({"type":"object","properties":{"path":{"type":"string"},"old":{"type":"string"},"new":{"type":"string"},"replace_all":{"type":"boolean"}},"required":["path","old","new"]}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::CallError;
    use crate::tools::test_support::{self, file};
    use std::path::Path;

    fn policy(dir: &Path) -> Policy {
        test_support::write_policy(dir, "**", "locked/**")
    }

    fn edit(dir: &Path, input: Value) -> Result<ToolOutcome> {
        call(
            &policy(dir),
            input.as_object().unwrap(),
            &mut WriteBudget::unlimited(),
        )
    }

    #[test]
    fn an_edit_past_the_run_budget_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "a.txt", "x-x");
        let mut budget = WriteBudget { max: 8, used: 3 };
        let input = json!({"path": "a.txt", "old": "x", "new": "yyy", "replace_all": true});
        let msg = failure(call(
            &policy(dir.path()),
            input.as_object().unwrap(),
            &mut budget,
        ));
        assert!(msg.contains("limits.max_write_bytes"), "{msg}");
        assert_eq!(read(dir.path(), "a.txt"), "x-x");
        let input = json!({"path": "a.txt", "old": "-", "new": "+"});
        call(&policy(dir.path()), input.as_object().unwrap(), &mut budget).unwrap();
        assert_eq!(budget.used, 6);
    }

    fn failure(r: Result<ToolOutcome>) -> String {
        match r {
            Err(CallError::Failed(m)) => m,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    fn read(dir: &Path, rel: &str) -> String {
        std::fs::read_to_string(dir.join(rel)).unwrap()
    }

    #[test]
    fn one_match_is_replaced_once() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "a.txt", "one two three\n");
        let out = edit(
            dir.path(),
            json!({"path": "a.txt", "old": "two", "new": "2"}),
        )
        .unwrap();
        assert_eq!(read(dir.path(), "a.txt"), "one 2 three\n");
        assert_eq!(out.content, "edited a.txt: 1 replacement");
        assert!(!out.is_error);
    }

    #[test]
    fn no_match_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "src/a.txt", "hello\n");
        let msg = failure(edit(
            dir.path(),
            json!({"path": "src/a.txt", "old": "bye", "new": "x"}),
        ));
        assert!(msg.contains("src/a.txt"), "{msg}");
        assert!(msg.contains("not found"), "{msg}");
        assert_eq!(read(dir.path(), "src/a.txt"), "hello\n");
    }

    #[test]
    fn two_matches_are_refused_unless_replace_all() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "a.txt", "x-x\n");
        let msg = failure(edit(
            dir.path(),
            json!({"path": "a.txt", "old": "x", "new": "y"}),
        ));
        assert!(msg.contains("replace_all"), "{msg}");
        assert!(msg.contains("2 times"), "{msg}");
        assert_eq!(read(dir.path(), "a.txt"), "x-x\n", "nothing written");

        let explicit_false = failure(edit(
            dir.path(),
            json!({"path": "a.txt", "old": "x", "new": "y", "replace_all": false}),
        ));
        assert!(explicit_false.contains("replace_all"), "{explicit_false}");
    }

    #[test]
    fn replace_all_replaces_every_occurrence_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "a.txt", "x-x-x\nx\n");
        let out = edit(
            dir.path(),
            json!({"path": "a.txt", "old": "x", "new": "yy", "replace_all": true}),
        )
        .unwrap();
        assert_eq!(read(dir.path(), "a.txt"), "yy-yy-yy\nyy\n");
        assert_eq!(out.content, "edited a.txt: 4 replacements");
    }

    #[test]
    fn replace_all_must_be_a_boolean() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "a.txt", "x\n");
        let msg = failure(edit(
            dir.path(),
            json!({"path": "a.txt", "old": "x", "new": "y", "replace_all": "yes"}),
        ));
        assert!(msg.contains("boolean"), "{msg}");
        assert_eq!(read(dir.path(), "a.txt"), "x\n");
    }

    #[test]
    fn an_empty_old_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "a.txt", "abc\n");
        let msg = failure(edit(
            dir.path(),
            json!({"path": "a.txt", "old": "", "new": "x", "replace_all": true}),
        ));
        assert!(msg.contains("`old` is empty"), "{msg}");
        assert_eq!(read(dir.path(), "a.txt"), "abc\n");
    }

    #[test]
    fn a_protected_path_is_denied_and_not_written() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "locked/a.txt", "keep\n");
        match edit(
            dir.path(),
            json!({"path": "locked/a.txt", "old": "keep", "new": "lose"}),
        ) {
            Err(CallError::Denied(d)) => assert_eq!(d.rule, "protect"),
            other => panic!("expected a denial, got {other:?}"),
        }
        assert_eq!(read(dir.path(), "locked/a.txt"), "keep\n");
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let msg = failure(edit(
            dir.path(),
            json!({"path": "nope.txt", "old": "a", "new": "b"}),
        ));
        assert!(msg.contains("nope.txt does not exist"), "{msg}");
        assert!(!dir.path().join("nope.txt").exists());
    }

    #[test]
    fn a_result_over_the_size_cap_is_refused_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "a.txt", "ab");
        // "b" stays: the result is one byte over the cap.
        let big = "x".repeat(WRITE_MAX_BYTES);
        let msg = failure(edit(
            dir.path(),
            json!({"path": "a.txt", "old": "a", "new": big}),
        ));
        assert!(msg.contains(&WRITE_MAX_BYTES.to_string()), "{msg}");
        assert_eq!(read(dir.path(), "a.txt"), "ab");
        // Exactly at the cap is fine.
        let fits = "x".repeat(WRITE_MAX_BYTES - 1);
        edit(
            dir.path(),
            json!({"path": "a.txt", "old": "a", "new": fits}),
        )
        .unwrap();
        assert_eq!(
            std::fs::metadata(dir.path().join("a.txt")).unwrap().len(),
            WRITE_MAX_BYTES as u64
        );
    }

    #[test]
    fn an_oversized_replace_all_is_refused_before_it_is_built() {
        let dir = tempfile::tempdir().unwrap();
        let text = "a".repeat(1024 * 1024);
        file(dir.path(), "a.txt", &text);
        let started = std::time::Instant::now();
        let msg = failure(edit(
            dir.path(),
            json!({"path": "a.txt", "old": "a", "new": "b".repeat(1500), "replace_all": true}),
        ));
        assert!(msg.contains("would be over"), "{msg}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(read(dir.path(), "a.txt"), text);
        assert_eq!(result_len(10, 2, 1, 3), Some(14));
        assert_eq!(result_len(10, 2, 3, 1), Some(6));
        assert_eq!(result_len(1, usize::MAX, 1, 2), None);
    }
}
