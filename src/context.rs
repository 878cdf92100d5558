//! Context resolution: which files the model sees before its first turn.
//!
//! `context.include` and `context.exclude` globs are matched against paths
//! relative to the repository root. The walk respects `.gitignore` (and
//! `.git/info/exclude`, `.ignore`), never enters `.git/` or `.wf/`, and does
//! not follow symlinked directories; a symlinked file is included only when
//! it resolves to a file inside the repository whose real path the step may
//! read (`permissions.read`, the rule of [`crate::policy`]: a symlink is
//! readable only when its target is), else it is left out with a note.
//! Files that are not UTF-8 text (a NUL byte, or invalid UTF-8) are left out
//! with a note.
//!
//! The walk starts at the literal directories of the include globs
//! (`src/config/**/*.rs` walks only `src/config`), runs on all cores, and the
//! result is sorted by path, so the order never depends on thread timing.
//! Each file gets a SHA-256 content hash and a token estimate of
//! `ceil(bytes / 4)`, the usual rule of thumb for English and code.

use crate::hash::sha256_hex;
use globset::GlobSet;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A file put in front of the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContextFile {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Estimated tokens (`ceil(bytes / 4)`).
    pub tokens: u64,
    /// Hex SHA-256 of the content.
    pub hash: String,
    /// Its real path relative to the repository root (symlinks resolved):
    /// `path` unless it is reached through a symlink. Permission checks
    /// (caller bounds) use this one.
    #[serde(skip)]
    pub real_path: String,
    /// The content.
    #[serde(skip)]
    pub content: String,
}

/// A file that matched but was left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Path relative to the repository root.
    pub path: String,
    /// Why, as a lowercase fragment.
    pub reason: String,
}

/// The resolved context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Context {
    /// Included files, sorted by path.
    pub files: Vec<ContextFile>,
    /// Matched files left out, sorted by path.
    pub skipped: Vec<Skipped>,
    /// Sum of the files' token estimates.
    pub total_tokens: u64,
    /// The budget from `context.max_tokens`.
    pub max_tokens: u64,
}

/// Why context resolution failed.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// A glob (after templating) does not compile or escapes the repository.
    #[error("context glob `{glob}`: {reason}")]
    Glob {
        /// The glob.
        glob: String,
        /// Why.
        reason: String,
    },
    /// The files are over `context.max_tokens`.
    #[error(
        "context is {total} tokens, over its budget of {max} (context.max_tokens); the largest files:\n{largest}"
    )]
    OverBudget {
        /// Estimated total.
        total: u64,
        /// The budget.
        max: u64,
        /// The largest files, one per line.
        largest: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// Relative path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Token estimate for a byte count.
pub fn estimate_tokens(bytes: u64) -> u64 {
    bytes.div_ceil(4)
}

/// Resolves the context under `root` for a step that may read `read`
/// (its `permissions.read`): a symlink matched is left out unless its real
/// target is inside the repository and readable.
pub fn resolve(
    root: &Path,
    include: &[String],
    exclude: &[String],
    read: &[String],
    max_tokens: u64,
) -> Result<Context, ContextError> {
    let mut context = Context {
        files: Vec::new(),
        skipped: Vec::new(),
        total_tokens: 0,
        max_tokens,
    };
    if include.is_empty() {
        return Ok(context);
    }
    for g in include.iter().chain(exclude) {
        crate::sys::paths::check_relative(g).map_err(|reason| ContextError::Glob {
            glob: g.clone(),
            reason,
        })?;
    }
    let compile = |list: &[String]| {
        crate::glob::compile_set(list).map_err(|(i, reason)| ContextError::Glob {
            glob: list[i].clone(),
            reason,
        })
    };
    let include_set = compile(include)?;
    let exclude_set = compile(exclude)?;
    let read_set = compile(read)?;

    let matched = walk(root, include, &include_set, &exclude_set);
    let canonical_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());

    // Read and hash in parallel; the result is sorted afterwards.
    let results: Mutex<Vec<Result<Entry, ContextError>>> = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let chunk = matched.len().div_ceil(workers).max(1);
    std::thread::scope(|s| {
        for part in matched.chunks(chunk) {
            let results = &results;
            let canonical_root = &canonical_root;
            let read_set = &read_set;
            s.spawn(move || {
                let local: Vec<_> = part
                    .iter()
                    .map(|(rel, is_link)| read_one(root, canonical_root, read_set, rel, *is_link))
                    .collect();
                results.lock().expect("no poisoned lock").extend(local);
            });
        }
    });
    for entry in results.into_inner().expect("no poisoned lock") {
        match entry? {
            Entry::File(f) => context.files.push(f),
            Entry::Skip(s) => context.skipped.push(s),
        }
    }
    context.files.sort_by(|a, b| a.path.cmp(&b.path));
    context.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    context.total_tokens = context.files.iter().map(|f| f.tokens).sum();
    if context.total_tokens > max_tokens {
        let mut largest: Vec<&ContextFile> = context.files.iter().collect();
        largest.sort_by(|a, b| b.tokens.cmp(&a.tokens).then(a.path.cmp(&b.path)));
        let lines: Vec<String> = largest
            .iter()
            .take(5)
            .map(|f| format!("  {:>8} tokens  {}", f.tokens, f.path))
            .collect();
        return Err(ContextError::OverBudget {
            total: context.total_tokens,
            max: max_tokens,
            largest: lines.join("\n"),
        });
    }
    Ok(context)
}

enum Entry {
    File(ContextFile),
    Skip(Skipped),
}

fn read_one(
    root: &Path,
    canonical_root: &Path,
    read: &GlobSet,
    rel: &str,
    is_link: bool,
) -> Result<Entry, ContextError> {
    let full = root.join(rel);
    let skip = |reason: String| {
        Ok(Entry::Skip(Skipped {
            path: rel.to_string(),
            reason,
        }))
    };
    let real_path = match full.canonicalize() {
        Ok(target) if target.starts_with(canonical_root) && target.is_file() => {
            crate::sys::paths::relative(canonical_root, &target)
        }
        _ => None,
    };
    let real_path = match real_path {
        None if is_link => {
            return skip("symlink that leads outside the repository or to no file".into());
        }
        // A symlink (or a file reached through a symlinked directory) is
        // decided on its real path, as a read by the tools would be.
        Some(real) if real != rel && !crate::policy::real_path_readable(read, &real) => {
            return skip(format!(
                "symlink to {real}, which permissions.read does not allow"
            ));
        }
        Some(real) => real,
        None => rel.to_string(),
    };
    let bytes = std::fs::read(&full).map_err(|source| ContextError::Read {
        path: rel.to_string(),
        source,
    })?;
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Ok(Entry::Skip(Skipped {
            path: rel.to_string(),
            reason: "binary file".into(),
        }));
    }
    let hash = sha256_hex(&bytes);
    let size = bytes.len() as u64;
    match String::from_utf8(bytes) {
        Ok(content) => Ok(Entry::File(ContextFile {
            path: rel.to_string(),
            bytes: size,
            tokens: estimate_tokens(size),
            hash,
            real_path,
            content,
        })),
        Err(_) => Ok(Entry::Skip(Skipped {
            path: rel.to_string(),
            reason: "not UTF-8 text".into(),
        })),
    }
}

/// Lists files under `root` matching `include` and not `exclude`, as
/// (relative path, is a symlink), sorted.
fn walk(
    root: &Path,
    include: &[String],
    include_set: &GlobSet,
    exclude_set: &GlobSet,
) -> Vec<(String, bool)> {
    let starts = start_dirs(root, include);
    let found: Mutex<Vec<(String, bool)>> = Mutex::new(Vec::new());
    for start in starts {
        if !start.exists() {
            continue;
        }
        walker(root, &start).run(|| {
            let found = &found;
            Box::new(move |entry| {
                use ignore::WalkState;
                let Ok(entry) = entry else {
                    return WalkState::Continue;
                };
                let Some(ft) = entry.file_type() else {
                    return WalkState::Continue;
                };
                if ft.is_dir() {
                    return WalkState::Continue;
                }
                if let Some(rel) = crate::sys::paths::relative(root, entry.path())
                    && include_set.is_match(&rel)
                    && !exclude_set.is_match(&rel)
                {
                    found
                        .lock()
                        .expect("no poisoned lock")
                        .push((rel, ft.is_symlink()));
                }
                WalkState::Continue
            })
        });
    }
    let mut out = found.into_inner().expect("no poisoned lock");
    out.sort();
    out.dedup();
    out
}

/// The directories to walk: the literal bases of the include globs, with
/// nested ones dropped; the root when any glob starts with a wildcard.
fn start_dirs(root: &Path, include: &[String]) -> Vec<PathBuf> {
    let mut bases: Vec<String> = include
        .iter()
        .map(|g| crate::glob::literal_base(g))
        .collect();
    if bases.iter().any(String::is_empty) {
        return vec![root.to_path_buf()];
    }
    bases.sort();
    bases.dedup();
    let mut kept: Vec<String> = Vec::new();
    for b in bases {
        if !kept.iter().any(|k| b.starts_with(&format!("{k}/"))) {
            kept.push(b);
        }
    }
    kept.into_iter().map(|b| root.join(b)).collect()
}

/// The walker wf uses for every listing of the repository: gitignore rules
/// on, hidden files included, `.git` and `.wf` never entered, symlinked
/// directories not followed.
pub fn walker(root: &Path, start: &Path) -> ignore::WalkParallel {
    walk_builder(root, start).build_parallel()
}

/// The builder behind [`walker`], for callers that want a sequential walk.
pub fn walk_builder(root: &Path, start: &Path) -> ignore::WalkBuilder {
    let mut builder = ignore::WalkBuilder::new(start);
    builder
        .hidden(false)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .ignore(true)
        .parents(true)
        .require_git(false)
        .follow_links(false)
        .threads(
            std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .min(8),
        );
    let root = root.to_path_buf();
    builder.filter_entry(move |e| {
        let name = e.file_name();
        !(e.depth() > 0
            && e.file_type().is_some_and(|t| t.is_dir())
            && (name == ".git" || name == ".wf")
            && e.path().parent().is_some_and(|p| p.starts_with(&root)))
    });
    builder
}
