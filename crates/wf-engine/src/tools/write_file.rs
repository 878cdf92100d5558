//! `write_file`: create or replace a whole file.

use super::{CallError, Result, ToolOutcome, WriteBudget, check, fail, string_arg};
use crate::policy::{Access, Policy};
use serde_json::{Map, Value, json};

/// Largest file `write_file` or `edit_file` produces.
pub const WRITE_MAX_BYTES: usize = 4 * 1024 * 1024;

/// `write_file {path, content}`, within what `budget` allows (and counted
/// in it).
pub fn call(
    policy: &Policy,
    args: &Map<String, Value>,
    budget: &mut WriteBudget,
) -> Result<ToolOutcome> {
    let path = string_arg(args, "path")?;
    let content = string_arg(args, "content")?;
    if content.len() > WRITE_MAX_BYTES {
        return fail(format!("content is over {WRITE_MAX_BYTES} bytes"));
    }
    let (_, real) = check(policy, path, Access::Write)?;
    budget.check(path, content.len())?;
    let existed = write(policy, &real, path, content.as_bytes())?;
    budget.spend(content.len());
    let verb = if existed { "replaced" } else { "created" };
    Ok(ToolOutcome::ok(
        format!("{verb} {path} ({} bytes)", content.len()),
        false,
    ))
}

/// Makes `bytes` the whole content of the file at `real`, the real path the
/// policy decided on for `path` (a symlink the model named is replaced
/// through to its checked target, never followed at the open), creating it
/// and its folders beneath the workspace. Whether it existed.
pub(super) fn write(policy: &Policy, real: &str, path: &str, bytes: &[u8]) -> Result<bool> {
    let (file, existed) = policy.dir().create_file(real).map_err(|e| {
        CallError::Failed(match e.raw_os_error() {
            Some(libc::EISDIR) => format!("{path} is a directory"),
            _ => format!("cannot write {path}: {}", crate::sys::beneath::describe(&e)),
        })
    })?;
    replace_contents(&file, path, bytes)?;
    Ok(existed)
}

/// Replaces the contents of the open regular `file` with `bytes`, in place
/// (the file keeps its mode and identity, as a truncating write would).
pub(super) fn replace_contents(file: &std::fs::File, path: &str, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let failed = |e: std::io::Error| CallError::Failed(format!("cannot write {path}: {e}"));
    let meta = file.metadata().map_err(failed)?;
    if meta.is_dir() {
        return fail(format!("{path} is a directory"));
    }
    if !meta.is_file() {
        return fail(format!("{path} is not a regular file"));
    }
    file.write_all_at(bytes, 0).map_err(failed)?;
    file.set_len(bytes.len() as u64).map_err(failed)
}

/// What the model is told about the tool, and its input schema.
pub fn definition() -> (&'static str, Value) {
    (
        "Create or overwrite a whole file.",
        json!({"type":"object","properties":{"path":{"type":"string"},"content":{"type":"string"}},"required":["path","content"]}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::test_support;
    use std::path::Path;

    fn policy(dir: &Path) -> Policy {
        test_support::write_policy(dir, "src/**", "src/locked/**")
    }

    fn write_file(dir: &Path, input: Value) -> Result<ToolOutcome> {
        call(
            &policy(dir),
            input.as_object().unwrap(),
            &mut WriteBudget::unlimited(),
        )
    }

    #[test]
    fn writes_past_the_run_budget_are_refused_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let p = policy(dir.path());
        let mut budget = WriteBudget { max: 10, used: 0 };
        let mut w = |path: &str, content: &str| {
            call(
                &p,
                json!({"path": path, "content": content})
                    .as_object()
                    .unwrap(),
                &mut budget,
            )
        };
        w("src/a.txt", "123456").unwrap();
        match w("src/b.txt", "12345") {
            Err(CallError::Failed(m)) => {
                assert!(m.contains("limits.max_write_bytes"), "{m}");
                assert!(m.contains("4 left"), "{m}");
            }
            other => panic!("expected a failure, got {other:?}"),
        }
        assert!(!dir.path().join("src/b.txt").exists());
        w("src/b.txt", "1234").unwrap();
        assert_eq!(budget.used, 10);
    }

    #[test]
    fn created_then_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let first = write_file(
            dir.path(),
            json!({"path": "src/new/a.txt", "content": "hello"}),
        )
        .unwrap();
        assert_eq!(first.content, "created src/new/a.txt (5 bytes)");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("src/new/a.txt")).unwrap(),
            "hello"
        );
        let second = write_file(
            dir.path(),
            json!({"path": "src/new/a.txt", "content": "bye"}),
        )
        .unwrap();
        assert_eq!(second.content, "replaced src/new/a.txt (3 bytes)");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("src/new/a.txt")).unwrap(),
            "bye"
        );
    }

    #[test]
    fn denied_writes_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        for (path, rule) in [("README.md", "write"), ("src/locked/a.txt", "protect")] {
            match write_file(dir.path(), json!({"path": path, "content": "x"})) {
                Err(CallError::Denied(d)) => assert_eq!(d.rule, rule, "{path}"),
                other => panic!("expected a denial for {path}, got {other:?}"),
            }
            assert!(!dir.path().join(path).exists(), "{path} was written");
        }
    }

    #[test]
    fn content_over_the_cap_is_refused_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let big = "x".repeat(WRITE_MAX_BYTES + 1);
        match write_file(dir.path(), json!({"path": "src/a.txt", "content": big})) {
            Err(CallError::Failed(m)) => assert!(m.contains("over"), "{m}"),
            other => panic!("expected a failure, got {other:?}"),
        }
        assert!(!dir.path().join("src/a.txt").exists());
        let fits = "x".repeat(WRITE_MAX_BYTES);
        write_file(dir.path(), json!({"path": "src/a.txt", "content": fits})).unwrap();
        assert!(dir.path().join("src/a.txt").exists());
    }

    #[test]
    fn a_directory_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src/d")).unwrap();
        match write_file(dir.path(), json!({"path": "src/d", "content": "x"})) {
            Err(CallError::Failed(m)) => assert!(m.contains("is a directory"), "{m}"),
            other => panic!("expected a failure, got {other:?}"),
        }
        assert!(dir.path().join("src/d").is_dir());
    }
}
