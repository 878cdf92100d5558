//! The repos file: the repositories one task runs over (`wf emit`, and the
//! format `wf batch` reads).
//!
//! One repository a line: a git URL (`https://…`, `ssh://…`, `file://…`,
//! `git@host:path`) or a local path, then optional `KEY=VALUE` inputs for
//! that repository, separated by whitespace. `#` starts a comment at the
//! start of a line or after whitespace (so a URL fragment is not one);
//! blank lines are skipped. A repository listed twice is an error naming
//! both lines: it would run twice and race on one pull request.

use std::collections::BTreeMap;
use std::path::Path;

/// Largest repos file read: far more lines than any CI matrix or cluster
/// job takes, and a bound on untrusted input.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// One line of a repos file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoEntry {
    /// 1-based line number in the file.
    pub line: usize,
    /// The repository as written: a git URL or a local path.
    pub repo: String,
    /// The inputs for this repository, `KEY=VALUE` in file order.
    pub inputs: Vec<(String, String)>,
}

impl RepoEntry {
    /// Whether the repository is a git URL (else a local path).
    pub fn is_url(&self) -> bool {
        is_url(&self.repo)
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

    /// What identifies the repository when looking for duplicates: the
    /// text without a trailing `/` or `.git`, and a local path without
    /// `./` segments.
    pub fn identity(&self) -> String {
        let mut r = self.repo.trim_end_matches('/').to_string();
        if self.is_url() {
            if let Some(s) = r.strip_suffix(".git") {
                r = s.trim_end_matches('/').to_string();
            }
            return r.to_ascii_lowercase();
        }
        let parts: Vec<&str> = r.split('/').filter(|p| *p != ".").collect();
        let joined = parts.join("/");
        let joined = joined.replace("//", "/");
        if joined.is_empty() {
            ".".into()
        } else {
            joined
        }
    }
}

/// Whether `text` is a git URL rather than a local path.
pub fn is_url(text: &str) -> bool {
    text.contains("://")
        || (text.contains('@')
            && text.contains(':')
            && !text.starts_with('/')
            && !text.starts_with('.'))
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

/// Reads and parses a repos file.
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
    parse(&text, &display)
}

/// Parses the text of a repos file; `path` names it in errors.
pub fn parse(text: &str, path: &str) -> Result<Vec<RepoEntry>, ReposError> {
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
        let entry = RepoEntry {
            line,
            repo: repo.to_string(),
            inputs,
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn duplicates_name_both_lines() {
        let text = "https://example.com/a.git\n\nhttps://example.com/a/\n";
        let e = parse(text, "r").unwrap_err().to_string();
        assert!(e.contains("lines 1 and 3"), "{e}");
        let e = parse("./x\nx/\n", "r").unwrap_err().to_string();
        assert!(e.contains("lines 1 and 2"), "{e}");
    }

    #[test]
    fn bad_lines_are_located() {
        for (text, want) in [
            ("a\nb c\n", "r:2: `c` is not KEY=VALUE"),
            ("a 1x=2\n", "not an input name"),
            ("a k=1 k=2\n", "given twice"),
            ("-rf\n", "starts with `-`"),
            ("k=v\n", "an input; the repository comes first"),
            ("# only\n", "lists no repository"),
        ] {
            let e = parse(text, "r").unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
