//! `read_file`: a text file, or a window of its lines, capped.

use super::{Result, ToolOutcome, check, fail, opt_usize, string_arg};
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
    let (abs, _) = check(policy, path, Access::Read)?;
    if abs.is_dir() {
        return fail(format!("{path} is a directory; use list_files"));
    }
    let bytes = match std::fs::read(&abs) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return fail(format!("{path} does not exist"));
        }
        Err(e) => return fail(format!("cannot read {path}: {e}")),
    };
    if bytes[..bytes.len().min(8192)].contains(&0) {
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
        if !out.ends_with('\n') && !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!(
            "[lines {offset}-{end} of {total}{}]",
            if end < total {
                "; use offset to read on"
            } else {
                ""
            }
        ));
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
