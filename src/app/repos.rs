//! The repos file: the repositories one task runs over, read by `wf batch`
//! (runs on this machine) and `wf emit` (CI jobs, a Kubernetes Job).
//!
//! ```text
//! # path-or-url [KEY=VALUE ...]
//! ../services/billing
//! /srv/src/payments        source=config/payments.ini
//! https://git.example.com/team/search.git   strict=false
//! git@git.example.com:team/ledger.git
//! ```
//!
//! One repository a line: a git URL (a scheme such as `https://`,
//! `ssh://`, `git://` or `file://`, or scp-like `user@host:path`) or a
//! local path, relative to the file's folder; then optional `KEY=VALUE`
//! inputs for that repository (single words, no quoting), separated by
//! whitespace. `#` starts a comment at the start of a line or after
//! whitespace (so a URL fragment is not one); blank lines are skipped. A
//! repository listed twice — the same path once made absolute (`a`,
//! `./a/`, a symbolic link to it), or the same URL up to a trailing `/` or
//! `.git` and letter case — is an error naming both lines: it would run
//! twice and race on one pull request.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Largest repos file read: far more lines than any CI matrix or cluster
/// job takes, and a bound on untrusted input.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// Where a repository comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local folder: the path made absolute against the file's folder.
    Local(PathBuf),
    /// A git URL, as written.
    Url(String),
}

/// One line of a repos file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoEntry {
    /// 1-based line number in the file.
    pub line: usize,
    /// The repository as written: a git URL or a local path.
    pub repo: String,
    /// The inputs for this repository, `KEY=VALUE` in file order.
    pub inputs: Vec<(String, String)>,
    /// Where it comes from.
    pub source: Source,
    /// What names it (a batch's record is keyed by it): the absolute path,
    /// or the URL without a trailing `/` or `.git`.
    pub key: String,
}

impl RepoEntry {
    /// Whether the repository is a git URL (else a local path).
    pub fn is_url(&self) -> bool {
        matches!(self.source, Source::Url(_))
    }

    /// The line in its normal form: the repository and its inputs
    /// separated by single spaces, no comment.
    pub fn normal_line(&self) -> String {
        let mut line = self.repo.clone();
        for (k, v) in &self.inputs {
            line.push(' ');
            line.push_str(k);
            line.push('=');
            line.push_str(v);
        }
        line
    }

    /// What identifies the repository when looking for duplicates: its
    /// [`key`](Self::key), a URL's in lower case.
    pub fn identity(&self) -> String {
        if self.is_url() {
            self.key.to_ascii_lowercase()
        } else {
            self.key.clone()
        }
    }
}

/// Whether `text` is a git URL rather than a local path: `scheme://…`
/// (a letter, then letters, digits, `+`, `-` or `.`), or scp-like
/// `user@host:path` (an `@`, then a `:`, before any `/`).
pub fn is_url(text: &str) -> bool {
    if let Some((scheme, _)) = text.split_once("://") {
        let mut chars = scheme.chars();
        if chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            return true;
        }
    }
    match (text.find('@'), text.find(':'), text.find('/')) {
        (Some(at), Some(colon), slash) => at < colon && slash.is_none_or(|s| colon < s),
        _ => false,
    }
}

/// A URL without a trailing `/` or `.git`.
fn url_key(url: &str) -> String {
    let url = url.trim_end_matches('/');
    url.strip_suffix(".git")
        .unwrap_or(url)
        .trim_end_matches('/')
        .to_string()
}

/// `path` made absolute against `base`, with `.` and `..` resolved in the
/// text (the folder may not exist); then through symbolic links when it does.
fn absolute(base: &Path, path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in base.join(path).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.canonicalize().unwrap_or(out)
}

/// A repos file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReposError {
    /// The file could not be read.
    #[error("cannot read the repos file {path}: {source}")]
    Read {
        /// The path as given.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line is wrong.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The path as given.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The same repository twice.
    #[error(
        "{path}:{second}: {repo} is listed twice (lines {first} and {second}); list each repository once"
    )]
    Duplicate {
        /// The path as given.
        path: String,
        /// The repository as written on the second line.
        repo: String,
        /// The line that lists it first.
        first: usize,
        /// The line that lists it again.
        second: usize,
    },
    /// No repository at all.
    #[error(
        "{path} lists no repository (one a line: a git URL or a path, then optional KEY=VALUE inputs)"
    )]
    Empty {
        /// The path as given.
        path: String,
    },
}

/// Reads and parses a repos file; its local paths are relative to its
/// folder.
pub fn load(path: &Path) -> Result<Vec<RepoEntry>, ReposError> {
    let display = path.display().to_string();
    let read = |source| ReposError::Read {
        path: display.clone(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    if meta.len() > MAX_FILE_BYTES as u64 {
        return Err(ReposError::Line {
            path: display,
            line: 1,
            message: format!("the file is larger than {MAX_FILE_BYTES} bytes"),
        });
    }
    let bytes = std::fs::read(path).map_err(read)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        ReposError::Line {
            path: display.clone(),
            line,
            message: "not UTF-8 text".into(),
        }
    })?;
    let file = path
        .canonicalize()
        .or_else(|_| std::env::current_dir().map(|cwd| cwd.join(path)))
        .unwrap_or_else(|_| path.to_path_buf());
    let base = file.parent().unwrap_or(Path::new("/"));
    parse(&text, &display, base)
}

/// Parses the text of a repos file; `path` names it in errors, and local
/// paths are relative to `base` (the file's folder).
pub fn parse(text: &str, path: &str, base: &Path) -> Result<Vec<RepoEntry>, ReposError> {
    let mut entries = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |message: String| ReposError::Line {
            path: path.to_string(),
            line,
            message,
        };
        let content = strip_comment(raw);
        if let Some(c) = content.chars().find(|c| c.is_control() && *c != '\t') {
            return Err(err(format!("control character U+{:04X}", c as u32)));
        }
        let mut words = content.split_whitespace();
        let Some(repo) = words.next() else {
            continue;
        };
        if repo.starts_with('-') {
            return Err(err(format!(
                "`{repo}` starts with `-`; a repository is a git URL or a path (write ./{repo} for a path)"
            )));
        }
        if repo.contains('=') && !is_url(repo) {
            return Err(err(format!(
                "the line starts with `{repo}`, an input; the repository comes first"
            )));
        }
        let mut inputs: Vec<(String, String)> = Vec::new();
        for word in words {
            let Some((key, value)) = word.split_once('=') else {
                return Err(err(format!(
                    "`{word}` is not KEY=VALUE; one repository a line, then its inputs"
                )));
            };
            if !valid_key(key) {
                return Err(err(format!(
                    "`{key}` is not an input name (letters, digits, `_` and `-`, starting with a letter or `_`)"
                )));
            }
            if inputs.iter().any(|(k, _)| k == key) {
                return Err(err(format!("input `{key}` is given twice")));
            }
            inputs.push((key.to_string(), value.to_string()));
        }
        let (source, key) = if is_url(repo) {
            (Source::Url(repo.to_string()), url_key(repo))
        } else {
            let path = absolute(base, Path::new(repo));
            let key = path.display().to_string();
            (Source::Local(path), key)
        };
        let entry = RepoEntry {
            line,
            repo: repo.to_string(),
            inputs,
            source,
            key,
        };
        if let Some(first) = seen.insert(entry.identity(), line) {
            return Err(ReposError::Duplicate {
                path: path.to_string(),
                repo: entry.repo,
                first,
                second: line,
            });
        }
        entries.push(entry);
    }
    if entries.is_empty() {
        return Err(ReposError::Empty {
            path: path.to_string(),
        });
    }
    Ok(entries)
}

/// The line without its comment: `#` at the start or after whitespace.
fn strip_comment(line: &str) -> &str {
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        if c == '#' && prev_space {
            return &line[..i];
        }
        prev_space = c.is_whitespace();
    }
    line
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A folder name for `key` (a repository's URL or path): its last part,
/// made of safe characters, and a short hash of the whole key, so that two
/// repositories of the same name stay apart.
pub fn folder_name(key: &str) -> String {
    let last = key
        .trim_end_matches('/')
        .rsplit(['/', ':'])
        .next()
        .unwrap_or("repo");
    let mut name: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    name = name.trim_matches('.').to_string();
    if name.is_empty() {
        name = "repo".into();
    }
    let hash = crate::hash::sha256_hex(key.as_bytes());
    format!("{name}-{}", &hash[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, path: &str) -> Result<Vec<RepoEntry>, ReposError> {
        super::parse(text, path, Path::new("/base"))
    }

    #[test]
    fn lines_comments_and_inputs() {
        let text = "# fleet\n\nhttps://example.com/a.git#main source=x.ini  # the first\n./b strict=false a=b=c\ngit@host:org/c\n";
        let e = parse(text, "repos.txt").unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].line, 3);
        assert_eq!(e[0].repo, "https://example.com/a.git#main");
        assert_eq!(e[0].inputs, vec![("source".into(), "x.ini".into())]);
        assert!(e[0].is_url() && !e[1].is_url() && e[2].is_url());
        assert_eq!(e[1].normal_line(), "./b strict=false a=b=c");
    }

    #[test]
    fn paths_urls_and_their_keys() {
        let text = "./a\nb  source=x.ini strict=false # the second\n\
                    https://git.example.com/t/c.git\ngit@host:t/d.git\nfile:///srv/e/\n\
                    ../up/f\nhost/x@y:z\n";
        let got = parse(text, "r").unwrap();
        let keys: Vec<&str> = got.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "/base/a",
                "/base/b",
                "https://git.example.com/t/c",
                "git@host:t/d",
                "file:///srv/e",
                "/up/f",
                "/base/host/x@y:z",
            ]
        );
        assert_eq!(got[1].line, 2);
        assert_eq!(
            got[1].inputs,
            vec![
                ("source".into(), "x.ini".into()),
                ("strict".into(), "false".into())
            ]
        );
        assert_eq!(got[0].source, Source::Local("/base/a".into()));
        assert_eq!(
            got[2].source,
            Source::Url("https://git.example.com/t/c.git".into())
        );
    }

    #[test]
    fn what_is_a_url() {
        for url in [
            "https://h/x",
            "http://h/x",
            "ssh://git@h/x",
            "git://h/x",
            "file:///srv/x",
            "git+ssh://h/x",
            "git@host:team/x.git",
        ] {
            assert!(is_url(url), "{url}");
        }
        for path in [
            "x",
            "./x",
            "/srv/x",
            "dir/a@b:c",
            "a:b",
            "1x://y",
            "./a@b:c",
        ] {
            assert!(!is_url(path), "{path}");
        }
    }

    #[test]
    fn duplicates_name_both_lines() {
        let text = "https://example.com/a.git\n\nhttps://example.com/a/\n";
        let e = parse(text, "r").unwrap_err().to_string();
        assert!(e.contains("r:3:") && e.contains("lines 1 and 3"), "{e}");
        let e = parse("https://H/x.git\nhttps://h/x\n", "r").unwrap_err();
        assert!(e.to_string().contains("lines 1 and 2"), "{e}");
        for text in ["./x\nx/\n", "a\n./a/\n", "a\n../base/a\n", "/base/a\na\n"] {
            let e = parse(text, "r").unwrap_err().to_string();
            assert!(e.contains("lines 1 and 2"), "{text:?}: {e}");
        }
        // Paths are compared as they are: letter case matters.
        assert!(parse("a\nA\n", "r").is_ok());
    }

    #[test]
    fn bad_lines_are_located() {
        for (text, want) in [
            ("a\nb c\n", "r:2: `c` is not KEY=VALUE"),
            ("a oops\n", "r:1: `oops` is not KEY=VALUE"),
            ("a 1x=2\n", "not an input name"),
            ("a =2\n", "not an input name"),
            ("a k=1 k=2\n", "given twice"),
            ("-rf\n", "starts with `-`"),
            ("k=v\n", "an input; the repository comes first"),
            ("a\u{7}\n", "control character"),
            ("# only\n", "lists no repository"),
            ("", "lists no repository"),
        ] {
            let e = parse(text, "r").unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn load_reads_paths_relative_to_the_file() {
        let dir = std::env::temp_dir().join(format!("wf-repos-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let file = dir.join("sub/repos.txt");
        std::fs::write(&file, "../a\n").unwrap();
        let got = load(&file).unwrap();
        let dir = dir.canonicalize().unwrap();
        assert_eq!(got[0].source, Source::Local(dir.join("a")));
        std::fs::write(&file, b"a\n\xff\n").unwrap();
        let e = load(&file).unwrap_err().to_string();
        assert!(e.contains(":2: not UTF-8"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn folder_names_are_safe_and_distinct() {
        let a = folder_name("https://h/team/repo");
        let b = folder_name("https://other/team/repo");
        assert!(a.starts_with("repo-") && b.starts_with("repo-") && a != b);
        assert!(folder_name("git@host:t/x y").starts_with("x-y-"));
        assert!(folder_name("/").starts_with("repo-"));
    }
}
