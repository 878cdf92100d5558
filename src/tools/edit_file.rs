//! `edit_file`: replace exact text, once (or everywhere with `replace_all`).

use super::{Result, ToolOutcome, check, fail, string_arg};
use crate::policy::{Access, Policy};
use serde_json::{Map, Value, json};

use super::write_file::{WRITE_MAX_BYTES, write};

/// `edit_file {path, old, new, replace_all?}`.
pub fn call(policy: &Policy, args: &Map<String, Value>) -> Result<ToolOutcome> {
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
    let (abs, _) = check(policy, path, Access::Write)?;
    let text = match std::fs::read(&abs) {
        Ok(b) => match String::from_utf8(b) {
            Ok(t) => t,
            Err(_) => return fail(format!("{path} is not UTF-8 text")),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return fail(format!("{path} does not exist"));
        }
        Err(e) => return fail(format!("cannot read {path}: {e}")),
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
    let updated = if replace_all {
        text.replace(old, new)
    } else {
        text.replacen(old, new, 1)
    };
    if updated.len() > WRITE_MAX_BYTES {
        return fail(format!("the result would be over {WRITE_MAX_BYTES} bytes"));
    }
    write(&abs, path, updated.as_bytes())?;
    Ok(ToolOutcome::ok(
        format!(
            "edited {path}: {n} replacement{}",
            if n == 1 { "" } else { "s" }
        ),
        false,
    ))
}

/// What the model is told about the tool, and its input schema.
pub fn definition() -> (&'static str, Value) {
    (
        "Replace exact text in a file. `old` must occur exactly once unless replace_all.",
        json!({"type":"object","properties":{"path":{"type":"string"},"old":{"type":"string"},"new":{"type":"string"},"replace_all":{"type":"boolean"}},"required":["path","old","new"]}),
    )
}
