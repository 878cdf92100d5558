//! `read_file`: a text file, or a window of its lines, capped.

use super::{
    Result, ToolOutcome, check, fail, is_binary, opt_usize, push_note, read_real, string_arg,
};
use crate::policy::{Access, Policy};
use serde_json::{Map, Value, json};

/// Most lines `read_file` returns at once.
pub const READ_MAX_LINES: usize = 2_000;
/// Most bytes `read_file` returns at once.
pub const READ_MAX_BYTES: usize = 100 * 1024;

/// `read_file {path, offset?, limit?}`.
pub fn call(policy: &Policy, args: &Map<String, Value>) -> Result<ToolOutcome> {
    let path = string_arg(args, "path")?;
    let offset = opt_usize(args, "offset")?.unwrap_or(1).max(1);
    let limit = opt_usize(args, "limit")?
        .unwrap_or(READ_MAX_LINES)
        .clamp(1, READ_MAX_LINES);
    let (_, real) = check(policy, path, Access::Read)?;
    let bytes = read_real(policy, &real, path)?;
    if is_binary(&bytes) {
        return fail(format!("{path} is a binary file ({} bytes)", bytes.len()));
    }
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let total = lines.len();
    if offset > total.max(1) {
        return fail(format!(
            "offset {offset} is past the end of {path} ({total} lines)"
        ));
    }
    let mut out = String::new();
    let mut shown = 0;
    let mut truncated = false;
    for line in lines.iter().skip(offset - 1).take(limit) {
        if out.len() + line.len() > READ_MAX_BYTES {
            truncated = true;
            break;
        }
        out.push_str(line);
        shown += 1;
    }
    let end = offset - 1 + shown;
    if end < total && (truncated || shown == READ_MAX_LINES || args.get("limit").is_none()) {
        truncated = true;
    }
    if truncated || offset > 1 || end < total {
        let more = if end < total {
            "; use offset to read on"
        } else {
            ""
        };
        push_note(&mut out, &format!("lines {offset}-{end} of {total}{more}"));
    }
    Ok(ToolOutcome::ok(out, truncated))
}

/// What the model is told about the tool, and its input schema.
pub fn definition() -> (&'static str, Value) {
    (
        "Read a text file. Optional 1-based line offset and line limit.",
        json!({"type":"object","properties":{"path":{"type":"string"},"offset":{"type":"integer"},"limit":{"type":"integer"}},"required":["path"]}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::CallError;
    use crate::tools::test_support::read_policy as policy;
    use std::path::Path;

    fn read(dir: &Path, input: Value) -> Result<ToolOutcome> {
        call(&policy(dir, &["**"]), input.as_object().unwrap())
    }

    fn numbered(n: usize) -> String {
        (1..=n).map(|i| format!("l{i}\n")).collect()
    }

    #[test]
    fn a_whole_small_file_has_no_mark() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), numbered(5)).unwrap();
        let out = read(dir.path(), json!({"path": "a.txt"})).unwrap();
        assert_eq!(out.content, numbered(5));
        assert!(!out.truncated);
    }

    #[test]
    fn offset_and_limit_select_one_based_lines() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), numbered(5)).unwrap();
        let out = read(
            dir.path(),
            json!({"path": "a.txt", "offset": 2, "limit": 2}),
        )
        .unwrap();
        assert_eq!(
            out.content,
            "l2\nl3\n[lines 2-3 of 5; use offset to read on]"
        );
        let rest = read(dir.path(), json!({"path": "a.txt", "offset": 4})).unwrap();
        assert_eq!(rest.content, "l4\nl5\n[lines 4-5 of 5]");
        assert!(!rest.truncated);
        // offset 0 reads from the first line.
        let first = read(
            dir.path(),
            json!({"path": "a.txt", "offset": 0, "limit": 1}),
        )
        .unwrap();
        assert_eq!(first.content, "l1\n[lines 1-1 of 5; use offset to read on]");
    }

    #[test]
    fn a_last_line_without_newline_still_gets_its_own_mark_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "a\nb").unwrap();
        let out = read(dir.path(), json!({"path": "a.txt", "offset": 2})).unwrap();
        assert_eq!(out.content, "b\n[lines 2-2 of 2]");
    }

    #[test]
    fn an_offset_past_the_end_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), numbered(3)).unwrap();
        match read(dir.path(), json!({"path": "a.txt", "offset": 4})) {
            Err(CallError::Failed(m)) => {
                assert!(
                    m.contains("offset 4 is past the end of a.txt (3 lines)"),
                    "{m}"
                )
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn the_line_cap_truncates_and_marks() {
        let dir = tempfile::tempdir().unwrap();
        let total = READ_MAX_LINES + 5;
        std::fs::write(dir.path().join("a.txt"), numbered(total)).unwrap();
        let out = read(dir.path(), json!({"path": "a.txt"})).unwrap();
        assert!(out.truncated);
        let (body, mark) = out.content.rsplit_once('\n').unwrap();
        assert_eq!(body.lines().count(), READ_MAX_LINES);
        assert_eq!(body.lines().last().unwrap(), format!("l{READ_MAX_LINES}"));
        assert_eq!(
            mark,
            format!("[lines 1-{READ_MAX_LINES} of {total}; use offset to read on]")
        );
        // A larger limit is clamped to the cap.
        let clamped = read(dir.path(), json!({"path": "a.txt", "limit": total})).unwrap();
        assert!(clamped.truncated);
        assert_eq!(clamped.content, out.content);
    }

    #[test]
    fn the_byte_cap_truncates_at_a_line_boundary_and_marks() {
        let dir = tempfile::tempdir().unwrap();
        let line = format!("{}\n", "x".repeat(999));
        let total = 150; // 150 000 bytes, over the cap
        std::fs::write(dir.path().join("a.txt"), line.repeat(total)).unwrap();
        let out = read(dir.path(), json!({"path": "a.txt"})).unwrap();
        assert!(out.truncated);
        let fit = READ_MAX_BYTES / line.len();
        let (body, mark) = out.content.rsplit_once('\n').unwrap();
        assert_eq!(body.len() + 1, fit * line.len());
        assert!(body.lines().all(|l| l.len() == 999));
        assert_eq!(
            mark,
            format!("[lines 1-{fit} of {total}; use offset to read on]")
        );
        // Also with an explicit limit.
        let limited = read(dir.path(), json!({"path": "a.txt", "limit": 140})).unwrap();
        assert!(limited.truncated);
        assert!(limited.content.ends_with(&format!(
            "[lines 1-{fit} of {total}; use offset to read on]"
        )));
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        match read(dir.path(), json!({"path": "gone.txt"})) {
            Err(CallError::Failed(m)) => assert!(m.contains("gone.txt does not exist"), "{m}"),
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        match read(dir.path(), json!({"path": "pipe"})) {
            Err(CallError::Failed(m)) => assert!(m.contains("not a regular file"), "{m}"),
            other => panic!("expected a failure, got {other:?}"),
        }
        let p = crate::tools::test_support::write_policy(dir.path(), "**", "none");
        let input = json!({"path": "pipe", "content": "x"});
        // Nobody reads the FIFO: the open fails at once instead of waiting.
        match crate::tools::write_file::call(
            &p,
            input.as_object().unwrap(),
            &mut crate::tools::WriteBudget::unlimited(),
        ) {
            Err(CallError::Failed(m)) => assert!(m.contains("cannot write pipe"), "{m}"),
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn a_binary_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.bin"), b"ab\0cd").unwrap();
        match read(dir.path(), json!({"path": "a.bin"})) {
            Err(CallError::Failed(m)) => assert!(m.contains("binary"), "{m}"),
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn a_denied_path_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("secret.txt"), "sk-123\n").unwrap();
        std::fs::write(dir.path().join("src/a.rs"), "fn a() {}\n").unwrap();
        let p = policy(dir.path(), &["src/**"]);
        let ok = call(&p, json!({"path": "src/a.rs"}).as_object().unwrap()).unwrap();
        assert_eq!(ok.content, "fn a() {}\n");
        match call(&p, json!({"path": "secret.txt"}).as_object().unwrap()) {
            Err(CallError::Denied(d)) => {
                assert_eq!(d.rule, "read");
                assert!(!d.message.contains("sk-123"));
            }
            other => panic!("expected a denial, got {other:?}"),
        }
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join(".git/config"), "[core]\n").unwrap();
        match read(dir.path(), json!({"path": ".git/config"})) {
            Err(CallError::Denied(d)) => assert_eq!(d.rule, "internal"),
            other => panic!("expected a denial, got {other:?}"),
        }
    }

    #[test]
    fn a_symlink_to_an_unreadable_file_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join("secrets")).unwrap();
        std::fs::write(root.join("secrets/key.txt"), "sk-123\n").unwrap();
        std::fs::write(root.join("src/a.rs"), "fn a() {}\n").unwrap();
        std::os::unix::fs::symlink("../secrets/key.txt", root.join("src/notes.txt")).unwrap();
        std::os::unix::fs::symlink("a.rs", root.join("src/alias.rs")).unwrap();
        let p = policy(root, &["src/**"]);
        for path in ["src/notes.txt", "secrets/key.txt", "./src/notes.txt"] {
            match call(&p, json!({"path": path}).as_object().unwrap()) {
                Err(CallError::Denied(d)) => {
                    assert_eq!(d.rule, "read", "{path}");
                    assert!(!d.message.contains("sk-123"));
                }
                other => panic!("expected a denial for {path}, got {other:?}"),
            }
        }
        // A symlink to a readable file still reads.
        let ok = call(&p, json!({"path": "src/alias.rs"}).as_object().unwrap()).unwrap();
        assert_eq!(ok.content, "fn a() {}\n");
        // Neither listed nor searched.
        let listed = crate::tools::list_files::call(&p, json!({}).as_object().unwrap()).unwrap();
        assert!(!listed.content.contains("notes.txt"), "{}", listed.content);
        assert!(
            listed.content.contains("src/alias.rs"),
            "{}",
            listed.content
        );
        let found =
            crate::tools::search::call(&p, json!({"pattern": "sk-"}).as_object().unwrap()).unwrap();
        assert!(!found.content.contains("sk-123"), "{}", found.content);
    }
}
