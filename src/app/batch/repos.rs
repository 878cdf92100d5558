//! The repositories file of `wf batch --repos FILE`: one repository a line,
//! `#` starts a comment, blank lines are skipped.
//!
//! ```text
//! # path-or-url [key=value ...]
//! ../services/billing
//! /srv/src/payments        source=config/payments.ini
//! https://git.example.com/team/search.git   strict=false
//! ```
//!
//! A local path is relative to the file's folder. A git URL (`https://`,
//! `http://`, `ssh://`, `git://`, `file://`, or scp-like `user@host:path`)
//! is cloned into the batch folder. `key=value` words after it are that
//! repository's inputs, on top of (and winning over) the batch's `-i`;
//! values are single words (no quoting). The same repository twice (the
//! same path once resolved, or the same URL without a trailing `/` or
//! `.git`) is refused with both line numbers.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Where a repository comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local folder (absolute).
    Local(PathBuf),
    /// A git URL, cloned into the batch folder.
    Url(String),
}

/// One repository of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its line (1-based).
    pub line: usize,
    /// The path or URL as written.
    pub written: String,
    /// Where it comes from.
    pub source: Source,
    /// Its own inputs.
    pub inputs: BTreeMap<String, String>,
    /// What identifies it in the batch: the absolute path, or the URL
    /// without a trailing `/` or `.git`.
    pub key: String,
}

/// Whether `text` is a git URL rather than a local path.
pub fn is_url(text: &str) -> bool {
    const SCHEMES: &[&str] = &["https://", "http://", "ssh://", "git://", "file://"];
    if SCHEMES.iter().any(|s| text.starts_with(s)) {
        return true;
    }
    // scp-like `git@host:team/repo.git`: a user, a host, a colon, before any slash.
    match (text.find('@'), text.find(':'), text.find('/')) {
        (Some(at), Some(colon), slash) => at < colon && slash.is_none_or(|s| colon < s),
        _ => false,
    }
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

/// Parses the file's `text`; local paths are relative to `base`. Errors
/// name their lines.
pub fn parse(text: &str, base: &Path) -> Result<Vec<Entry>, String> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.split_once('#').map_or(raw, |(before, _)| before);
        let mut words = content.split_whitespace();
        let Some(first) = words.next() else {
            continue;
        };
        let mut inputs = BTreeMap::new();
        for word in words {
            match word.split_once('=') {
                Some((k, v)) if !k.is_empty() => {
                    if inputs.insert(k.to_string(), v.to_string()).is_some() {
                        problems.push(format!("line {line}: input `{k}` given twice"));
                    }
                }
                _ => problems.push(format!(
                    "line {line}: `{word}` is not an input (KEY=VALUE after the repository)"
                )),
            }
        }
        let (source, key) = if is_url(first) {
            let key = first.trim_end_matches('/').trim_end_matches(".git");
            (Source::Url(first.to_string()), key.to_string())
        } else {
            let path = absolute(base, Path::new(first));
            let key = path.display().to_string();
            (Source::Local(path), key)
        };
        if let Some(earlier) = seen.get(&key) {
            problems.push(format!(
                "lines {earlier} and {line} name the same repository ({key})"
            ));
            continue;
        }
        seen.insert(key.clone(), line);
        entries.push(Entry {
            line,
            written: first.to_string(),
            source,
            inputs,
            key,
        });
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    Ok(entries)
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

    #[test]
    fn paths_urls_inputs_and_comments() {
        let text = "# repos\n\n./a\nb  source=x.ini strict=false # the second\n\
                    https://git.example.com/t/c.git\ngit@host:t/d.git\nfile:///srv/e\n";
        let got = parse(text, Path::new("/base")).unwrap();
        let keys: Vec<&str> = got.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "/base/a",
                "/base/b",
                "https://git.example.com/t/c",
                "git@host:t/d",
                "file:///srv/e"
            ]
        );
        assert_eq!(got[1].line, 4);
        assert_eq!(got[1].inputs["source"], "x.ini");
        assert_eq!(got[1].inputs["strict"], "false");
        assert!(matches!(got[2].source, Source::Url(_)));
        assert!(matches!(got[0].source, Source::Local(_)));
    }

    #[test]
    fn duplicates_are_refused_with_both_lines() {
        let text = "a\nb\n./a/\nhttps://h/x.git\nhttps://h/x/\n";
        let err = parse(text, Path::new("/base")).unwrap_err();
        assert!(err.contains("lines 1 and 3"), "{err}");
        assert!(err.contains("lines 4 and 5"), "{err}");
    }

    #[test]
    fn a_word_that_is_not_an_input_is_an_error() {
        let err = parse("a oops\n", Path::new("/b")).unwrap_err();
        assert_eq!(
            err,
            "line 1: `oops` is not an input (KEY=VALUE after the repository)"
        );
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
