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
//! with a note, and so is anything that is not a regular file (a FIFO).
//!
//! # What stays out unless the task file names it
//!
//! Context goes to the model provider, so two kinds of file enter it only
//! when an include *names them literally* (a path without wildcards, such
//! as `include: [".env.example"]`), never through a wildcard:
//!
//! - **Files git ignores** (`.gitignore` at any depth, `.git/info/exclude`,
//!   the user's `core.excludesFile`), as `git check-ignore` decides; tracked
//!   files are never ignored. An `.ignore` file can only keep more out: its
//!   `!` negations do not let a file git ignores in (a cloned repository
//!   could commit `.ignore` with `!.env` next to a task that includes
//!   `**/*`).
//! - **Files shaped like secrets**, whether git ignores them or not, matched
//!   on the file name (case-insensitive): `.env` and `.env.*`/`.envrc`
//!   (`.env*`), `*.pem`, `*.key`, `*.p12`, `*.pfx`, `*.jks`, `*.keystore`,
//!   `*.kdbx`, SSH keys (`id_*` with no extension or `.pub`), `.netrc`,
//!   `.pgpass`, `.npmrc`, `.pypirc`, `.htpasswd`, `.git-credentials`,
//!   `credentials` and `credentials.json` (see [`secret_shape`]).
//!
//! What a wildcard matched and was held back is listed in
//! [`Context::skipped`] with the reason, and one note in [`Context::notes`]
//! says how many and how to send one on purpose; `wf plan` shows both. An
//! include that matched only ignored files gets a note instead of silently
//! selecting nothing, when it has a literal base (`target/**`); one that
//! starts with a wildcard is not looked into (see `matches_ignored`).
//!
//! # An include that selects nothing
//!
//! One rule, for `wf plan` and `wf run` alike: an include without
//! wildcards that names nothing in the repository (`config/ap.ini`) is an
//! error before anything runs, located in the task file, with the closest
//! path of the tree as "did you mean" ([`MissingPath`]): a typo would
//! otherwise send the model off without the file it was meant to read. A
//! glob that matches nothing (`migrations/**` before the first migration)
//! is a note: a pattern may rightly match nothing in some repositories.
//!
//! The walk starts at the repository root, so the ignore rules of every
//! directory on the way apply, and enters only the directories on the way
//! to or under the literal bases of the include globs (`src/config/**/*.rs`
//! walks only `src/config`) and not excluded as a whole (an exclude
//! `src/gen/**` prunes `src/gen`). A literal base reached through a
//! symlinked directory is walked too, its files decided on their real
//! paths. Matching, reading and hashing happen in the walker's threads (one
//! per core, at most 8), and the result is sorted by path, so the order
//! never depends on thread timing. Each file gets a SHA-256 content hash
//! and a token estimate of `ceil(bytes / 4)`, the usual rule of thumb for
//! English and code.

use crate::hash::sha256_hex;
use globset::{Candidate, GlobSet};
use serde::Serialize;
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;

/// An include without wildcards (`config/app.ini`) that names no file or
/// directory of the repository: a typo, refused before anything runs
/// (a glob that matches nothing is only a note).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("context.include `{path}` names no file in the repository{}", did_you_mean(.near))]
pub struct MissingPath {
    /// Its place in `context.include`.
    pub index: usize,
    /// The path.
    pub path: String,
    /// The repository's path closest to it, when one is close.
    pub near: Option<String>,
}

/// `; did you mean `near`?`, or nothing.
pub fn did_you_mean(near: &Option<String>) -> String {
    near.as_deref()
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default()
}

/// The path of the repository (a file or directory the walk sees: ignore
/// rules on, `.git/` and `.wf/` left out) closest to `rel`, a path that
/// does not exist, when it is close enough to be what was meant: at most a
/// third of the file name's length in edits (at least 2), the closest first,
/// ties by path. Walks the whole tree, so only asked on the way to an error.
pub fn nearest_path(root: &Path, rel: &str) -> Option<String> {
    let name_len = rel.rsplit('/').next().unwrap_or(rel).chars().count();
    let allowed = (name_len / 3).max(2);
    let mut best: Option<(usize, String)> = None;
    for entry in walk_builder(root, root)
        .threads(1)
        .build()
        .flatten()
        .take(200_000)
    {
        let Some(candidate) = relative_str(root, entry.path()) else {
            continue;
        };
        if candidate.is_empty() {
            continue;
        }
        let d = strsim::damerau_levenshtein(rel, candidate);
        if d <= allowed
            && best
                .as_ref()
                .is_none_or(|(b, p)| (d, candidate) < (*b, p.as_str()))
        {
            best = Some((d, candidate.to_string()));
        }
    }
    best.map(|(_, p)| p)
}

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
    /// What a reader of the plan should know about the selection, such as
    /// an include glob that matched only ignored files; in include order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
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
    /// Includes without wildcards that name nothing in the repository.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Missing(Vec<MissingPath>),
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
        notes: Vec::new(),
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
    let selection = Selection::new(include, exclude)?;
    let read_set = compile(read)?;
    let canonical_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let reader = Reader {
        root,
        canonical_root: &canonical_root,
        read: &read_set,
    };

    let mut found = walk(root, &selection, &reader);
    // Each walker thread sorted its own part: a stable sort finds those
    // runs and merges them.
    found.entries.sort_by(|a, b| path_of(a).cmp(path_of(b)));
    found.entries.dedup_by(|a, b| path_of(a) == path_of(b));
    for entry in found.entries {
        match entry? {
            Entry::File(f) => context.files.push(f),
            Entry::Skip(s) => context.skipped.push(s),
        }
    }
    // A file named literally enters even when ignored (the walk skipped
    // it): the task file asked for it by name.
    let literal: std::collections::BTreeSet<&str> =
        include.iter().filter_map(|g| named_literally(g)).collect();
    let mut missing = Vec::new();
    for (index, (glob, _)) in include
        .iter()
        .zip(&found.hit)
        .enumerate()
        .filter(|(_, (_, hit))| !**hit)
    {
        let named = glob.trim_end_matches('/');
        if literal.contains(named) && named_file(root, named, &selection) {
            // Decided on its real path, as a symlink is (a directory on its
            // way may be a link).
            match reader.resolved(named, true)? {
                Entry::File(f) => context.files.push(f),
                Entry::Skip(s) => context.skipped.push(s),
            }
        } else if matches_ignored(root, glob, &selection) {
            context.notes.push(format!(
                "context.include `{glob}` matches only files ignored by git (.gitignore, .git/info/exclude or .ignore); they are left out (name a file literally in context.include to send it)"
            ));
        } else if literal.contains(named) && root.join(named).symlink_metadata().is_err() {
            missing.push(MissingPath {
                index,
                path: named.to_string(),
                near: nearest_path(root, named),
            });
        } else if literal.contains(named) && selection.exclude.is_match(named) {
            context.notes.push(format!(
                "context.include `{glob}` is left out by context.exclude"
            ));
        } else {
            context.notes.push(format!(
                "context.include `{glob}` matches no file; nothing of it enters the context"
            ));
        }
    }
    if !missing.is_empty() {
        return Err(ContextError::Missing(missing));
    }
    context.files.sort_by(|a, b| a.path.cmp(&b.path));
    context.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    hold_back(root, &literal, &mut context)?;
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

/// Moves out of `context.files` what a wildcard matched but must be named
/// literally to be sent: files git ignores and files shaped like secrets
/// (see the module documentation), each into `skipped` with its reason,
/// and adds one note when any was held back.
fn hold_back(
    root: &Path,
    literal: &std::collections::BTreeSet<&str>,
    context: &mut Context,
) -> Result<(), ContextError> {
    let by_wildcard: Vec<&str> = context
        .files
        .iter()
        .map(|f| f.path.as_str())
        .filter(|p| !literal.contains(p))
        .collect();
    if by_wildcard.is_empty() {
        return Ok(());
    }
    let ignored = git_ignored(root, &by_wildcard)?;
    let mut held: std::collections::BTreeMap<String, String> = Default::default();
    for path in by_wildcard {
        if let Some(shape) = secret_shape(path) {
            held.insert(
                path.to_string(),
                format!("held back: shaped like a secret ({shape}); name it in context.include to send it"),
            );
        } else if ignored.contains(path) {
            held.insert(
                path.to_string(),
                "held back: ignored by git; name it in context.include to send it".to_string(),
            );
        }
    }
    if held.is_empty() {
        return Ok(());
    }
    context.files.retain(|f| !held.contains_key(&f.path));
    let count = held.len();
    context.skipped.extend(
        held.into_iter()
            .map(|(path, reason)| Skipped { path, reason }),
    );
    context.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    context.notes.push(format!(
        "{count} file{} held back from the context: ignored by git or shaped like a secret, and matched only by a wildcard (a literal path in context.include sends one)",
        if count == 1 { "" } else { "s" }
    ));
    Ok(())
}

/// Which of `paths` git ignores in the repository at `root` (its ignore
/// files and the user's `core.excludesFile`, as `git status` shows them;
/// tracked files never are), in one `git check-ignore`. Outside git,
/// none.
fn git_ignored(
    root: &Path,
    paths: &[&str],
) -> Result<std::collections::BTreeSet<String>, ContextError> {
    if !crate::sys::git::is_git(root) {
        return Ok(Default::default());
    }
    let mut input = Vec::new();
    for p in paths {
        input.extend_from_slice(p.as_bytes());
        input.push(0);
    }
    let (code, out) = crate::sys::git::Git::user(root)
        .args(["check-ignore", "--stdin", "-z"])
        .output_with_input(input)
        .map_err(|e| ContextError::Read {
            path: ".gitignore".to_string(),
            source: std::io::Error::other(format!("cannot ask git which files it ignores: {e}")),
        })?;
    // 0: some are ignored; 1: none is; anything else failed (fail closed).
    if code != Some(0) && code != Some(1) {
        return Err(ContextError::Read {
            path: ".gitignore".to_string(),
            source: std::io::Error::other(format!(
                "cannot ask git which files it ignores: git check-ignore exited with {code:?}"
            )),
        });
    }
    Ok(out
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect())
}

/// The path an include names literally (no wildcard; a trailing `/`
/// dropped), or `None` for a glob. Such a file enters the context even when
/// git ignores it, and so the workspace too (see `workspace`, "Ignored
/// files the task names").
pub fn named_literally(include: &str) -> Option<&str> {
    (!include.contains(['*', '?', '[', '{', '\\'])).then(|| include.trim_end_matches('/'))
}

/// The shape of secret `path`'s file name has, if any (the list in the
/// module documentation), as the pattern it matched.
pub fn secret_shape(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    const NAMES: &[&str] = &[
        ".netrc",
        ".pgpass",
        ".npmrc",
        ".pypirc",
        ".htpasswd",
        ".git-credentials",
        "credentials",
        "credentials.json",
    ];
    const EXTENSIONS: &[&str] = &["pem", "key", "p12", "pfx", "jks", "keystore", "kdbx"];
    if name.starts_with(".env") {
        return Some(".env*");
    }
    if let Some(known) = NAMES.iter().find(|n| **n == name) {
        return Some(known);
    }
    if let Some((_, ext)) = name.rsplit_once('.')
        && let Some(known) = EXTENSIONS.iter().find(|e| **e == ext)
    {
        return Some(match *known {
            "pem" => "*.pem",
            "key" => "*.key",
            "p12" => "*.p12",
            "pfx" => "*.pfx",
            "jks" => "*.jks",
            "keystore" => "*.keystore",
            _ => "*.kdbx",
        });
    }
    if let Some(rest) = name.strip_prefix("id_") {
        let rest = rest.strip_suffix(".pub").unwrap_or(rest);
        if !rest.is_empty() && !rest.contains('.') {
            return Some("id_* (an SSH key)");
        }
    }
    None
}

/// Whether the literal include `rel` names an entry wf may put in the
/// context: not excluded, not inside `.git/` or `.wf/`, and a regular file
/// (after links).
fn named_file(root: &Path, rel: &str, selection: &Selection) -> bool {
    !selection.exclude.is_match(rel)
        && !rel
            .split('/')
            .any(|c| c == ".git" || c == ".wf" || c == "..")
        && root.join(rel).is_file()
}

/// Compiles context or permission globs, naming the bad one.
fn compile(list: &[String]) -> Result<GlobSet, ContextError> {
    crate::glob::compile_set(list).map_err(|(i, reason)| ContextError::Glob {
        glob: list[i].clone(),
        reason,
    })
}

/// The include and exclude globs compiled once, and the directories the
/// walk enters.
struct Selection {
    include: GlobSet,
    exclude: GlobSet,
    dirs: Dirs,
}

impl Selection {
    fn new(include: &[String], exclude: &[String]) -> Result<Selection, ContextError> {
        let excluded: Vec<String> = exclude
            .iter()
            .filter_map(|g| g.strip_suffix("/**"))
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        Ok(Selection {
            include: compile(include)?,
            exclude: compile(exclude)?,
            dirs: Dirs {
                bases: literal_bases(include),
                // Every `P` compiles when `P/**` did; an empty set would
                // only walk more.
                excluded: crate::glob::compile_set(&excluded).unwrap_or_else(|_| GlobSet::empty()),
            },
        })
    }
}

/// Which directories can hold a selected file (owned and cloneable: the
/// walker's directory filter is `'static`).
#[derive(Clone)]
struct Dirs {
    /// The literal bases of the include globs, nested ones dropped; none
    /// when a glob starts with a wildcard (then the whole tree is walked).
    bases: Vec<String>,
    /// `P` of every exclude `P/**`: a directory matching it holds only
    /// excluded files.
    excluded: GlobSet,
}

impl Dirs {
    /// Whether the walk should enter the directory `rel`: it is on the way
    /// to, or under, a literal base, and not excluded as a whole.
    fn enters(&self, rel: &str) -> bool {
        (self.bases.is_empty() || self.bases.iter().any(|b| within(rel, b) || within(b, rel)))
            && !self.excluded.is_match(rel)
    }

    /// The bases at or under `rel` (a symlinked directory on their way).
    fn through<'a>(&'a self, rel: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        self.bases.iter().filter(move |b| within(b, rel))
    }
}

/// Whether `path` is `dir` or under it (`/`-separated, relative).
fn within(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The literal bases of the include globs, nested ones dropped; none (the
/// whole tree) when any glob starts with a wildcard. A glob without any
/// wildcard is its own base: `README.md` walks the top directory's entries
/// only, `docs/guide.md` the way to `docs/` (no directory is entered that
/// cannot hold it).
fn literal_bases(include: &[String]) -> Vec<String> {
    let mut bases: Vec<String> = include
        .iter()
        .map(|g| match named_literally(g) {
            Some(path) => path.to_string(),
            None => crate::glob::literal_base(g),
        })
        .collect();
    if bases.iter().any(String::is_empty) {
        return Vec::new();
    }
    bases.sort();
    bases.dedup();
    let mut kept: Vec<String> = Vec::new();
    for b in bases {
        if !kept.iter().any(|k| within(&b, k)) {
            kept.push(b);
        }
    }
    kept
}

/// What a walk found: every matched file, in runs sorted by path, and
/// which include globs matched at least one file.
struct Found {
    entries: Vec<Result<Entry, ContextError>>,
    hit: Vec<bool>,
}

impl Found {
    fn new(globs: usize) -> Found {
        Found {
            entries: Vec::new(),
            hit: vec![false; globs],
        }
    }

    fn merge(&mut self, other: Found) {
        self.entries.extend(other.entries);
        for (a, b) in self.hit.iter_mut().zip(other.hit) {
            *a |= b;
        }
    }
}

enum Entry {
    File(ContextFile),
    Skip(Skipped),
}

/// The path a walk's entry is about.
fn path_of(entry: &Result<Entry, ContextError>) -> &str {
    match entry {
        Ok(Entry::File(f)) => &f.path,
        Ok(Entry::Skip(s)) => &s.path,
        Err(ContextError::Read { path, .. }) => path,
        Err(_) => "",
    }
}

/// How a matched file is read: the repository, and what a symlink may
/// lead to.
struct Reader<'a> {
    root: &'a Path,
    canonical_root: &'a Path,
    read: &'a GlobSet,
}

impl Reader<'_> {
    /// A regular file reached without crossing a symlink: its real path is
    /// its path, so it is read straight away into `buf` (reused between
    /// files: no stat, no allocation but the content's own).
    fn plain(&self, full: &Path, rel: &str, buf: &mut Vec<u8>) -> Result<Entry, ContextError> {
        let n = read_into(full, buf).map_err(|source| ContextError::Read {
            path: rel.to_string(),
            source,
        })?;
        Ok(entry(rel, rel.to_string(), &buf[..n]))
    }

    /// A symlink, or a file under a symlinked directory: decided on its
    /// real path, as a read by the tools would be.
    fn resolved(&self, rel: &str, is_link: bool) -> Result<Entry, ContextError> {
        let full = self.root.join(rel);
        let skip = |reason: String| {
            Ok(Entry::Skip(Skipped {
                path: rel.to_string(),
                reason,
            }))
        };
        let real_path = match full.canonicalize() {
            Ok(target) if target.starts_with(self.canonical_root) && target.is_file() => {
                crate::sys::paths::relative(self.canonical_root, &target)
            }
            _ => None,
        };
        let real_path = match real_path {
            None if is_link => {
                return skip("symlink that leads outside the repository or to no file".into());
            }
            Some(real) if real != rel && !crate::policy::real_path_readable(self.read, &real) => {
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
        Ok(entry(rel, real_path, &bytes))
    }
}

/// Reads the file at `path` into `buf` (grown as needed, never shrunk) and
/// returns its length: open, read to the end, close; no stat.
fn read_into(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut file = std::fs::File::open(path)?;
    let mut n = 0;
    loop {
        if n == buf.len() {
            buf.resize((buf.len() * 2).max(64 * 1024), 0);
        }
        match file.read(&mut buf[n..]) {
            Ok(0) => return Ok(n),
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The context entry for a file's bytes: left out when they are not text.
fn entry(rel: &str, real_path: String, bytes: &[u8]) -> Entry {
    let skip = |reason: &str| {
        Entry::Skip(Skipped {
            path: rel.to_string(),
            reason: reason.into(),
        })
    };
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return skip("binary file");
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return skip("not UTF-8 text");
    };
    let size = bytes.len() as u64;
    Entry::File(ContextFile {
        path: rel.to_string(),
        bytes: size,
        tokens: estimate_tokens(size),
        hash: sha256_hex(bytes),
        real_path,
        content: text.to_string(),
    })
}

/// One walker thread's state; what it found joins the shared result when
/// the walker drops it, at the end of the walk.
struct Visitor<'a> {
    root: &'a Path,
    selection: &'a Selection,
    reader: &'a Reader<'a>,
    /// Files under a symlinked directory: decided on their real paths.
    linked: bool,
    found: Found,
    /// Include globs not yet seen to match; while any, each match is
    /// attributed to its globs.
    unseen: usize,
    buf: Vec<u8>,
    indices: Vec<usize>,
    shared: &'a Mutex<Found>,
    /// Literal bases met through a symlinked directory, walked afterwards.
    through_links: &'a Mutex<Vec<String>>,
}

impl Visitor<'_> {
    fn visit(&mut self, entry: &ignore::DirEntry) {
        let Some(ft) = entry.file_type() else {
            return;
        };
        if ft.is_dir() {
            return;
        }
        let Some(rel) = relative_str(self.root, entry.path()) else {
            return;
        };
        if ft.is_symlink() && !self.linked && self.selection.dirs.through(rel).next().is_some() {
            // A symlinked directory on the way to a literal base.
            let mut queue = self.through_links.lock().expect("no poisoned lock");
            queue.extend(self.selection.dirs.through(rel).cloned());
            return;
        }
        let candidate = Candidate::new(rel);
        if !self.selection.include.is_match_candidate(&candidate)
            || self.selection.exclude.is_match_candidate(&candidate)
        {
            return;
        }
        if self.unseen > 0 {
            self.selection
                .include
                .matches_candidate_into(&candidate, &mut self.indices);
            for &i in &self.indices {
                if !self.found.hit[i] {
                    self.found.hit[i] = true;
                    self.unseen -= 1;
                }
            }
        }
        let result = if ft.is_symlink() || self.linked {
            self.reader.resolved(rel, ft.is_symlink())
        } else if ft.is_file() {
            self.reader.plain(entry.path(), rel, &mut self.buf)
        } else {
            Ok(Entry::Skip(Skipped {
                path: rel.to_string(),
                reason: "not a regular file".into(),
            }))
        };
        self.found.entries.push(result);
    }
}

impl Drop for Visitor<'_> {
    fn drop(&mut self) {
        let mut found = std::mem::replace(&mut self.found, Found::new(0));
        found
            .entries
            .sort_unstable_by(|a, b| path_of(a).cmp(path_of(b)));
        if let Ok(mut shared) = self.shared.lock() {
            shared.merge(found);
        }
    }
}

/// `path` relative to `root`, borrowed: `None` for the root itself, a path
/// outside it, or one that is not UTF-8.
fn relative_str<'p>(root: &Path, path: &'p Path) -> Option<&'p str> {
    use std::os::unix::ffi::OsStrExt;
    let rest = path
        .as_os_str()
        .as_bytes()
        .strip_prefix(root.as_os_str().as_bytes())?;
    let rest = match rest.first() {
        Some(b'/') => &rest[1..],
        Some(_) if !root.as_os_str().as_bytes().ends_with(b"/") => return None,
        _ => rest,
    };
    let rest = rest.strip_prefix(b"./").unwrap_or(rest);
    if rest.is_empty() {
        return None;
    }
    std::str::from_utf8(rest).ok()
}

/// Walks the repository from its root for the selection, reading and
/// hashing every matched file in the walker's threads; then the literal
/// bases reached through symlinked directories, if any.
fn walk(root: &Path, selection: &Selection, reader: &Reader) -> Found {
    let shared = Mutex::new(Found::new(selection.include.len()));
    let through_links = Mutex::new(Vec::new());
    let run = |start: &Path, linked: bool| {
        let mut builder = builder(start);
        if !linked {
            let root = root.to_path_buf();
            let dirs = selection.dirs.clone();
            builder.filter_entry(move |e| {
                if e.depth() == 0 || !e.file_type().is_some_and(|t| t.is_dir()) {
                    return true;
                }
                let name = e.file_name();
                if name == ".git" || name == ".wf" {
                    return false;
                }
                relative_str(&root, e.path()).is_none_or(|rel| dirs.enters(rel))
            });
        } else {
            builder.filter_entry(not_internal(root));
        }
        builder.build_parallel().run(|| {
            let mut visitor = Visitor {
                root,
                selection,
                reader,
                linked,
                found: Found::new(selection.include.len()),
                unseen: selection.include.len(),
                buf: Vec::new(),
                indices: Vec::new(),
                shared: &shared,
                through_links: &through_links,
            };
            Box::new(move |entry| {
                if let Ok(entry) = entry {
                    visitor.visit(&entry);
                }
                ignore::WalkState::Continue
            })
        });
    };
    run(root, false);
    let mut linked = std::mem::take(&mut *through_links.lock().expect("no poisoned lock"));
    linked.sort();
    linked.dedup();
    let mut walked: Vec<&String> = Vec::new();
    for base in &linked {
        if walked.iter().any(|w| within(base, w)) {
            continue;
        }
        walked.push(base);
        let start = root.join(base);
        if start.is_dir() {
            run(&start, true);
        }
    }
    shared.into_inner().expect("no poisoned lock")
}

/// Whether `glob`, which selected nothing, matches a file (not excluded)
/// that the ignore rules keep out; only ever asked for an include that
/// matched nothing. A literal path is looked up; a glob with a literal base
/// walks that base with the rules off, up to the first such file. A glob
/// that starts with a wildcard is not looked into: that would mean walking
/// everything git ignores (a `node_modules/` of a million files) to explain
/// an empty match.
fn matches_ignored(root: &Path, glob: &str, selection: &Selection) -> bool {
    if !glob.contains(['*', '?', '[', '{', '\\']) {
        // The walk never enters `.git/` or `.wf/`: not an ignore rule.
        return !selection.exclude.is_match(glob)
            && !glob.split('/').any(|c| c == ".git" || c == ".wf")
            && root.join(glob).is_file();
    }
    let base = crate::glob::literal_base(glob);
    let start = root.join(&base);
    if base.is_empty() || !start.is_dir() {
        return false;
    }
    let Ok(one) = crate::glob::compile(glob).map(|g| g.compile_matcher()) else {
        return false;
    };
    let mut builder = builder(&start);
    builder
        .git_ignore(false)
        .git_exclude(false)
        .ignore(false)
        .parents(false)
        .threads(1)
        .filter_entry(not_internal(root));
    builder.build().flatten().any(|e| {
        e.file_type().is_some_and(|t| !t.is_dir())
            && relative_str(root, e.path()).is_some_and(|rel| {
                let c = Candidate::new(rel);
                one.is_match_candidate(&c) && !selection.exclude.is_match_candidate(&c)
            })
    })
}

/// The walker wf uses for every listing of the repository: gitignore rules
/// on, hidden files included, `.git` and `.wf` never entered, symlinked
/// directories not followed.
pub fn walker(root: &Path, start: &Path) -> ignore::WalkParallel {
    walk_builder(root, start).build_parallel()
}

/// The builder behind [`walker`], for callers that want a sequential walk.
pub fn walk_builder(root: &Path, start: &Path) -> ignore::WalkBuilder {
    let mut builder = builder(start);
    builder.filter_entry(not_internal(root));
    builder
}

/// [`walk_builder`] without its entry filter (a builder holds one).
fn builder(start: &Path) -> ignore::WalkBuilder {
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
    builder
}

/// The entry filter that keeps a walk out of `.git` and `.wf` directories
/// under `root`.
fn not_internal(root: &Path) -> impl Fn(&ignore::DirEntry) -> bool + Send + Sync + 'static {
    let root = root.to_path_buf();
    move |e| {
        let name = e.file_name();
        !(e.depth() > 0
            && e.file_type().is_some_and(|t| t.is_dir())
            && (name == ".git" || name == ".wf")
            && e.path().parent().is_some_and(|p| p.starts_with(&root)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, content).unwrap();
        }
        dir
    }

    fn paths(ctx: &Context) -> Vec<&str> {
        ctx.files.iter().map(|f| f.path.as_str()).collect()
    }

    fn resolve_in(dir: &Path, include: &[&str], exclude: &[&str]) -> Context {
        resolve(
            dir,
            &strings(include),
            &strings(exclude),
            &strings(&["**"]),
            1 << 40,
        )
        .unwrap()
    }

    #[test]
    fn within_is_by_component() {
        assert!(within("src/a", "src") && within("src", "src"));
        assert!(!within("srcx/a", "src") && !within("src", "src/a"));
    }

    #[test]
    fn bases_drop_nested_and_vanish_for_a_leading_wildcard() {
        let b = literal_bases(&strings(&["src/a/**/*.rs", "src/**/*.toml", "docs/x.md"]));
        assert_eq!(b, ["docs/x.md", "src"]);
        assert!(literal_bases(&strings(&["src/**", "**/*.md"])).is_empty());
        assert_eq!(literal_bases(&strings(&["README.md"])), ["README.md"]);
        let top = Dirs {
            bases: literal_bases(&strings(&["README.md", "docs/guide/a.md"])),
            excluded: GlobSet::empty(),
        };
        assert!(!top.enters("src"), "a file at the top needs no directory");
        assert!(top.enters("docs") && top.enters("docs/guide"));
        assert!(!top.enters("docs/other"));
    }

    #[test]
    fn dirs_entered_are_on_the_way_to_a_base_and_not_excluded_whole() {
        let s = Selection::new(
            &strings(&["src/app/**/*.rs"]),
            &strings(&["src/app/m09*/**", "**/*_test.rs"]),
        )
        .unwrap();
        assert!(s.dirs.enters("src") && s.dirs.enters("src/app") && s.dirs.enters("src/app/m10"));
        assert!(!s.dirs.enters("docs") && !s.dirs.enters("src/other"));
        assert!(!s.dirs.enters("src/app/m090") && s.dirs.enters("src/app/m10/m090x"));
    }

    #[test]
    fn excluded_directory_prefixes_agree_with_the_exclude_globs() {
        // Pruning a directory matching `P` is right only when `P/**`
        // matches every path under it.
        for (glob, dir) in [
            ("src/m09*/**", "src/m090"),
            ("**/gen/**", "a/b/gen"),
            ("a/**/**", "a/x"),
        ] {
            let set = crate::glob::compile_set(&strings(&[glob])).unwrap();
            let p =
                crate::glob::compile_set(&strings(&[glob.strip_suffix("/**").unwrap()])).unwrap();
            assert!(p.is_match(dir), "{glob} {dir}");
            for under in ["f.rs", "x/y/f.rs"] {
                assert!(
                    set.is_match(format!("{dir}/{under}")),
                    "{glob} {dir}/{under}"
                );
            }
        }
    }

    #[test]
    fn reads_hashes_and_sorts() {
        let dir = tree(&[
            ("src/b.rs", "b\n"),
            ("src/a/c.rs", "fn c() {}\n"),
            ("src/m090/x.rs", "x\n"),
            ("src/bin.rs", "\0\x01"),
            ("docs/d.rs", "d\n"),
        ]);
        let ctx = resolve_in(dir.path(), &["src/**/*.rs"], &["src/m09*/**"]);
        assert_eq!(paths(&ctx), ["src/a/c.rs", "src/b.rs"]);
        assert_eq!(ctx.files[1].hash, sha256_hex(b"b\n"));
        assert_eq!((ctx.files[0].bytes, ctx.files[0].tokens), (10, 3));
        assert_eq!(ctx.files[0].real_path, "src/a/c.rs");
        assert_eq!(ctx.skipped.len(), 1);
        assert_eq!(ctx.skipped[0].reason, "binary file");
        assert_eq!(ctx.total_tokens, 4);
        assert!(ctx.notes.is_empty());
    }

    #[test]
    fn read_into_grows_its_buffer_and_reads_to_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.path().join("big"), &big).unwrap();
        std::fs::write(dir.path().join("small"), b"abc").unwrap();
        let mut buf = Vec::new();
        let n = read_into(&dir.path().join("big"), &mut buf).unwrap();
        assert_eq!(&buf[..n], &big[..]);
        let n = read_into(&dir.path().join("small"), &mut buf).unwrap();
        assert_eq!(&buf[..n], b"abc");
    }

    /// [`tree`] as a git repository (no commit: every file untracked).
    fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tree(files);
        crate::sys::git::Git::private(dir.path())
            .args(["init", "-q"])
            .output()
            .unwrap();
        dir
    }

    #[test]
    fn a_wildcard_never_pulls_in_ignored_files_and_says_so() {
        let dir = repo(&[
            (".gitignore", "target/\n.env\n"),
            ("target/debug/out.rs", "x\n"),
            (".env", "KEY=secret\n"),
            ("src/a.rs", "a\n"),
        ]);
        let ctx = resolve_in(dir.path(), &["target/**", "src/*.rs"], &[]);
        assert_eq!(paths(&ctx), ["src/a.rs"]);
        assert_eq!(ctx.notes.len(), 1, "{:?}", ctx.notes);
        assert!(ctx.notes[0].contains("`target/**` matches only files ignored"));
        // No note about ignored files for a glob that matches nothing at
        // all, for an ignored file that is excluded anyway, or for a glob
        // that starts with a wildcard (not looked into): each matches no
        // file, and says so.
        let ctx = resolve_in(
            dir.path(),
            &["nothing/**", "target/**", ".env", "**/out.rs"],
            &["target/**", ".env"],
        );
        assert_eq!(
            ctx.notes,
            [
                "context.include `nothing/**` matches no file; nothing of it enters the context",
                "context.include `target/**` matches no file; nothing of it enters the context",
                "context.include `.env` is left out by context.exclude",
                "context.include `**/out.rs` matches no file; nothing of it enters the context",
            ]
        );
        assert!(ctx.files.is_empty());
    }

    #[test]
    fn a_literal_include_that_names_nothing_is_an_error_with_the_nearest_path() {
        let dir = repo(&[
            ("config/app.ini", "x\n"),
            ("src/settings_svc/config.py", "x\n"),
        ]);
        let err = resolve(
            dir.path(),
            &strings(&[
                "config/ap.ini",
                "src/**",
                "src/settings_svc/confg.py",
                "zzz/qqq.txt",
            ]),
            &[],
            &strings(&["**"]),
            1 << 40,
        )
        .unwrap_err();
        let ContextError::Missing(missing) = err else {
            panic!("{err}");
        };
        let shown: Vec<(usize, &str, Option<&str>)> = missing
            .iter()
            .map(|m| (m.index, m.path.as_str(), m.near.as_deref()))
            .collect();
        assert_eq!(
            shown,
            [
                (0, "config/ap.ini", Some("config/app.ini")),
                (
                    2,
                    "src/settings_svc/confg.py",
                    Some("src/settings_svc/config.py")
                ),
                (3, "zzz/qqq.txt", None),
            ]
        );
        assert_eq!(
            missing[0].to_string(),
            "context.include `config/ap.ini` names no file in the repository; did you mean `config/app.ini`?"
        );
        // A literal directory is not missing.
        assert!(
            resolve(
                dir.path(),
                &strings(&["config"]),
                &[],
                &strings(&["**"]),
                1 << 40
            )
            .is_ok()
        );
    }

    #[test]
    fn a_file_named_literally_enters_even_when_ignored() {
        let dir = repo(&[
            (".gitignore", "target/\n.env\n"),
            ("target/doc/index.md", "# doc\n"),
            (".env", "KEY=secret\n"),
        ]);
        let ctx = resolve_in(dir.path(), &["target/doc/index.md", ".env"], &[]);
        assert_eq!(paths(&ctx), [".env", "target/doc/index.md"]);
        assert!(ctx.notes.is_empty(), "{:?}", ctx.notes);
        // Not through a directory link that leads outside.
        let outside = tree(&[("secret.txt", "s\n")]);
        std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();
        let ctx = resolve_in(dir.path(), &["out/secret.txt"], &[]);
        assert!(ctx.files.is_empty(), "{:?}", ctx.files);
    }

    #[test]
    fn a_negation_in_dot_ignore_does_not_let_an_ignored_file_in() {
        let dir = repo(&[
            (".gitignore", "target/\n.env\nlocal.txt\n"),
            (".ignore", "!/target/\n!.env\n!local.txt\n"),
            ("target/doc/index.md", "# doc\n"),
            (".env", "KEY=secret\n"),
            ("local.txt", "mine\n"),
            ("src/a.rs", "a\n"),
        ]);
        let ctx = resolve_in(dir.path(), &["**/*"], &[]);
        assert_eq!(paths(&ctx), [".gitignore", ".ignore", "src/a.rs"]);
        let held: Vec<(&str, &str)> = ctx
            .skipped
            .iter()
            .map(|s| (s.path.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(
            held,
            [
                (
                    ".env",
                    "held back: shaped like a secret (.env*); name it in context.include to send it"
                ),
                (
                    "local.txt",
                    "held back: ignored by git; name it in context.include to send it"
                ),
                (
                    "target/doc/index.md",
                    "held back: ignored by git; name it in context.include to send it"
                ),
            ]
        );
        assert_eq!(ctx.notes.len(), 1, "{:?}", ctx.notes);
        assert!(ctx.notes[0].starts_with("3 files held back from the context"));
    }

    #[test]
    fn secret_shaped_files_enter_only_by_name() {
        let dir = repo(&[
            ("config/server.pem", "-----BEGIN-----\n"),
            ("config/app.toml", "a = 1\n"),
            ("deploy/id_ed25519", "key\n"),
            (".env.example", "KEY=\n"),
        ]);
        let ctx = resolve_in(dir.path(), &["config/*", "deploy/**", ".env*"], &[]);
        assert_eq!(paths(&ctx), ["config/app.toml"]);
        assert_eq!(ctx.skipped.len(), 3, "{:?}", ctx.skipped);
        let ctx = resolve_in(dir.path(), &["config/server.pem", ".env.example"], &[]);
        assert_eq!(paths(&ctx), [".env.example", "config/server.pem"]);
        assert!(ctx.skipped.is_empty());
    }

    #[test]
    fn secret_shapes() {
        for path in [
            ".env",
            "app/.env.local",
            ".envrc",
            "a/b/server.PEM",
            "tls.key",
            "id_rsa",
            "home/id_ed25519.pub",
            "store.p12",
            ".netrc",
            ".npmrc",
            "aws/credentials",
            ".git-credentials",
        ] {
            assert!(secret_shape(path).is_some(), "{path}");
        }
        for path in [
            "src/env.rs",
            "environment.md",
            "src/id_map.rs",
            "keys.rs",
            "monkey.txt",
            "src/key.rs",
            "credentials.rs",
        ] {
            assert_eq!(secret_shape(path), None, "{path}");
        }
    }

    #[test]
    fn a_base_behind_a_symlinked_directory_is_walked_on_real_paths() {
        let dir = tree(&[("real/a.rs", "a\n")]);
        std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();
        let ctx = resolve_in(dir.path(), &["link/**/*.rs"], &[]);
        assert_eq!(paths(&ctx), ["link/a.rs"]);
        assert_eq!(ctx.files[0].real_path, "real/a.rs");
        // A whole-tree glob does not follow the link.
        let ctx = resolve_in(dir.path(), &["**/*.rs"], &[]);
        assert_eq!(paths(&ctx), ["real/a.rs"]);
    }

    #[test]
    fn a_fifo_is_left_out_not_read() {
        let dir = tree(&[("src/a.rs", "a\n")]);
        let made = std::process::Command::new("mkfifo")
            .arg(dir.path().join("src/pipe.rs"))
            .status()
            .unwrap();
        assert!(made.success());
        let ctx = resolve_in(dir.path(), &["src/*.rs"], &[]);
        assert_eq!(paths(&ctx), ["src/a.rs"]);
        assert_eq!(ctx.skipped[0].reason, "not a regular file");
    }
}
