//! The file tools: `read_file`, `list_files`, `search`, `edit_file`,
//! `write_file`. Each checks its path with the [`Policy`] before touching
//! anything, and caps what it returns (saying so when it does).

use super::ToolOutcome;
use super::permissions::{Access, Denial, Policy};
use serde_json::{Map, Value};

/// Most lines `read_file` returns at once.
pub const READ_MAX_LINES: usize = 2_000;
/// Most bytes `read_file` returns at once.
pub const READ_MAX_BYTES: usize = 100 * 1024;
/// Most paths `list_files` returns.
pub const LIST_MAX: usize = 1_000;
/// Most matches `search` returns.
pub const SEARCH_MAX: usize = 200;
/// Longest matched line `search` shows, in characters.
pub const SEARCH_LINE_MAX: usize = 300;
/// Largest file `write_file` or `edit_file` produces.
pub const WRITE_MAX_BYTES: usize = 4 * 1024 * 1024;

/// Why a call did not succeed.
#[derive(Debug)]
pub enum CallError {
    /// A permission rule refused it.
    Denied(Denial),
    /// It failed (bad input, missing file, no match, I/O).
    Failed(String),
}

type Result<T> = std::result::Result<T, CallError>;

fn fail<T>(msg: impl Into<String>) -> Result<T> {
    Err(CallError::Failed(msg.into()))
}

/// A required string field.
pub fn string_arg<'a>(args: &'a Map<String, Value>, name: &str) -> Result<&'a str> {
    match args.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => fail(format!("`{name}` must be a string")),
        None => fail(format!("missing `{name}`")),
    }
}

fn opt_string<'a>(args: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => fail(format!("`{name}` must be a string")),
    }
}

fn opt_usize(args: &Map<String, Value>, name: &str) -> Result<Option<usize>> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) => Ok(Some(n as usize)),
            None => fail(format!("`{name}` must be a non-negative integer")),
        },
    }
}

fn check(policy: &Policy, path: &str, access: Access) -> Result<(std::path::PathBuf, String)> {
    policy.check(path, access).map_err(CallError::Denied)
}

/// `read_file {path, offset?, limit?}`.
pub fn read_file(policy: &Policy, args: &Map<String, Value>) -> Result<ToolOutcome> {
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

/// `list_files {path?, glob?}`.
pub fn list_files(policy: &Policy, args: &Map<String, Value>) -> Result<ToolOutcome> {
    let path = opt_string(args, "path")?.unwrap_or(".");
    let glob = match opt_string(args, "glob")? {
        Some(g) => Some(
            crate::glob::compile(g)
                .map_err(|e| CallError::Failed(format!("invalid glob `{g}`: {e}")))?
                .compile_matcher(),
        ),
        None => None,
    };
    let (abs, rel) = check(policy, path, Access::List)?;
    if !abs.is_dir() {
        return fail(format!("{path} is not a directory"));
    }
    let root = policy.root().to_path_buf();
    let mut found: Vec<String> = crate::context::walk_builder(&root, &abs)
        .build()
        .filter_map(std::result::Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| !t.is_dir()))
        .filter_map(|e| crate::sys::paths::relative(&root, e.path()))
        .filter(|p| policy.readable(p))
        .filter(|p| {
            glob.as_ref().is_none_or(|g| {
                let under = p.strip_prefix(&format!("{rel}/")).unwrap_or(p);
                g.is_match(p) || g.is_match(under)
            })
        })
        .collect();
    found.sort();
    let total = found.len();
    let truncated = total > LIST_MAX;
    found.truncate(LIST_MAX);
    let mut out = found.join("\n");
    if truncated {
        out.push_str(&format!(
            "\n[{LIST_MAX} of {total} files shown; narrow with path or glob]"
        ));
    } else if total == 0 {
        out.push_str("[no files]");
    }
    Ok(ToolOutcome::ok(out, truncated))
}

/// `search {pattern, path?, glob?}`.
pub fn search(policy: &Policy, args: &Map<String, Value>) -> Result<ToolOutcome> {
    let pattern = string_arg(args, "pattern")?;
    let re = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| CallError::Failed(format!("invalid regex: {e}")))?;
    let path = opt_string(args, "path")?.unwrap_or(".");
    let glob = match opt_string(args, "glob")? {
        Some(g) => Some(
            crate::glob::compile(g)
                .map_err(|e| CallError::Failed(format!("invalid glob `{g}`: {e}")))?
                .compile_matcher(),
        ),
        None => None,
    };
    let (abs, _) = check(policy, path, Access::List)?;
    if abs.is_file() {
        check(policy, path, Access::Read)?;
    }
    let root = policy.root().to_path_buf();
    let mut files: Vec<(String, std::path::PathBuf)> = crate::context::walk_builder(&root, &abs)
        .build()
        .filter_map(std::result::Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter_map(|e| crate::sys::paths::relative(&root, e.path()).map(|r| (r, e.into_path())))
        .filter(|(p, _)| policy.readable(p))
        .filter(|(p, _)| {
            glob.as_ref()
                .is_none_or(|g| g.is_match(p) || g.is_match(p.rsplit('/').next().unwrap_or(p)))
        })
        .collect();
    files.sort();
    let mut out = String::new();
    let mut count = 0usize;
    let mut capped = false;
    'files: for (rel, abs) in files {
        let Ok(bytes) = std::fs::read(&abs) else {
            continue;
        };
        if bytes[..bytes.len().min(8192)].contains(&0) {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        for (i, line) in text.lines().enumerate() {
            if re.is_match(line) {
                if count == SEARCH_MAX {
                    capped = true;
                    break 'files;
                }
                count += 1;
                let shown: String = line.chars().take(SEARCH_LINE_MAX).collect();
                let cut = if shown.len() < line.len() { "…" } else { "" };
                out.push_str(&format!("{rel}:{}:{shown}{cut}\n", i + 1));
            }
        }
    }
    if capped {
        out.push_str(&format!(
            "[capped at {SEARCH_MAX} matches; narrow with path or glob]"
        ));
    } else if count == 0 {
        out.push_str("[no matches]");
    }
    Ok(ToolOutcome::ok(out, capped))
}

/// `edit_file {path, old, new, replace_all?}`.
pub fn edit_file(policy: &Policy, args: &Map<String, Value>) -> Result<ToolOutcome> {
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

/// `write_file {path, content}`.
pub fn write_file(policy: &Policy, args: &Map<String, Value>) -> Result<ToolOutcome> {
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

fn write(abs: &std::path::Path, path: &str, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = abs.parent() {
        std::fs::create_dir_all(parent).map_err(|e| {
            CallError::Failed(format!("cannot create the directory of {path}: {e}"))
        })?;
    }
    // Replace, never write through: if the final component is a symlink the
    // policy has already resolved it to a file inside the workspace.
    std::fs::write(abs, bytes).map_err(|e| CallError::Failed(format!("cannot write {path}: {e}")))
}
