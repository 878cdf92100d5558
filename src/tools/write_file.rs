//! `write_file`: create or replace a whole file.

use super::{CallError, Result, ToolOutcome, check, fail, string_arg};
use crate::policy::{Access, Policy};
use serde_json::{Map, Value, json};

/// Largest file `write_file` or `edit_file` produces.
pub const WRITE_MAX_BYTES: usize = 4 * 1024 * 1024;

/// `write_file {path, content}`.
pub fn call(policy: &Policy, args: &Map<String, Value>) -> Result<ToolOutcome> {
    let path = string_arg(args, "path")?;
    let content = string_arg(args, "content")?;
    if content.len() > WRITE_MAX_BYTES {
        return fail(format!("content is over {WRITE_MAX_BYTES} bytes"));
    }
    let (abs, _) = check(policy, path, Access::Write)?;
    if abs.is_dir() {
        return fail(format!("{path} is a directory"));
    }
    let existed = abs.exists();
    write(&abs, path, content.as_bytes())?;
    let verb = if existed { "replaced" } else { "created" };
    Ok(ToolOutcome::ok(
        format!("{verb} {path} ({} bytes)", content.len()),
        false,
    ))
}

pub(super) fn write(abs: &std::path::Path, path: &str, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = abs.parent() {
        std::fs::create_dir_all(parent).map_err(|e| {
            CallError::Failed(format!("cannot create the directory of {path}: {e}"))
        })?;
    }
    // Replace, never write through: if the final component is a symlink the
    // policy has already resolved it to a file inside the workspace.
    std::fs::write(abs, bytes).map_err(|e| CallError::Failed(format!("cannot write {path}: {e}")))
}

/// What the model is told about the tool, and its input schema.
pub fn definition() -> (&'static str, Value) {
    (
        "Create or overwrite a whole file.",
        json!({"type":"object","properties":{"path":{"type":"string"},"content":{"type":"string"}},"required":["path","content"]}),
    )
}
