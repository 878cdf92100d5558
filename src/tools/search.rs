//! `search`: regex matches as `file:line:text`, over the files the policy
//! lets the model read, capped and marked when capped.

use super::{CallError, Result, ToolOutcome, check, opt_string, string_arg};
use crate::policy::{Access, Policy};
use serde_json::{Map, Value, json};

/// Most matches `search` returns.
pub const SEARCH_MAX: usize = 200;
/// Longest matched line `search` shows, in characters.
pub const SEARCH_LINE_MAX: usize = 300;

/// `search {pattern, path?, glob?}`.
pub fn call(policy: &Policy, args: &Map<String, Value>) -> Result<ToolOutcome> {
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

/// What the model is told about the tool, and its input schema.
pub fn definition() -> (&'static str, Value) {
    (
        "Search file contents with a regex. Returns file:line:text, capped.",
        json!({"type":"object","properties":{"pattern":{"type":"string"},"path":{"type":"string"},"glob":{"type":"string"}},"required":["pattern"]}),
    )
}
