//! `search`: regex matches as `file:line:text`, over the files the policy
//! lets the model read, capped and marked when capped.

use super::{
    CallError, Result, ToolOutcome, cap_chars, check, fail, io_fail, is_binary, listing, opt_glob,
    opt_string, read_real, string_arg, walk,
};
use crate::policy::{Access, Policy};
use crate::sys::beneath::Kind;
use serde_json::{Map, Value, json};
use std::io::Read;

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
    let glob = opt_glob(args)?;
    let (_, real) = check(policy, path, Access::List)?;
    let start = policy
        .dir()
        .open_read(&real)
        .or_else(|e| io_fail(path, &e))?;
    let is_dir = start
        .metadata()
        .map_err(|e| CallError::Failed(format!("cannot read {path}: {e}")))?
        .is_dir();
    let globbed = |p: &str| {
        glob.as_ref()
            .is_none_or(|g| g.is_match(p) || g.is_match(p.rsplit('/').next().unwrap_or(p)))
    };
    let mut hits = Hits::default();
    if is_dir {
        drop(start);
        let walked =
            walk::walk(policy.dir(), policy.root(), &real).or_else(|e| io_fail(path, &e))?;
        // Regular files only (links are not followed), each at its real
        // path, opened beneath the workspace by that path.
        let mut files: Vec<String> = walked
            .into_iter()
            .filter(|f| f.kind == Kind::File && policy.readable_real(&f.rel) && globbed(&f.rel))
            .map(|f| f.rel)
            .collect();
        files.sort();
        for rel in files {
            let Ok(bytes) = read_real(policy, &rel, &rel) else {
                continue;
            };
            if !hits.scan(&re, &rel, &bytes) {
                break;
            }
        }
    } else {
        // One file: a read of it must be allowed, and it is the file
        // already open.
        let (_, again) = check(policy, path, Access::Read)?;
        if again != real {
            return fail(format!("{path} changed while it was being searched"));
        }
        if start.metadata().is_ok_and(|m| m.is_file()) && globbed(&real) {
            let mut bytes = Vec::new();
            (&start)
                .read_to_end(&mut bytes)
                .map_err(|e| CallError::Failed(format!("cannot read {path}: {e}")))?;
            hits.scan(&re, &real, &bytes);
        }
    }
    let Hits { out, capped, .. } = hits;
    let capped = capped.then(|| format!("capped at {SEARCH_MAX} matches"));
    Ok(listing(out, capped, "matches"))
}

/// The matches so far.
#[derive(Default)]
struct Hits {
    out: String,
    count: usize,
    capped: bool,
}

impl Hits {
    /// Adds the matching lines of the file `rel`; false once capped.
    fn scan(&mut self, re: &regex::Regex, rel: &str, bytes: &[u8]) -> bool {
        if is_binary(bytes) {
            return true;
        }
        let text = String::from_utf8_lossy(bytes);
        for (i, line) in text.lines().enumerate() {
            if re.is_match(line) {
                if self.count == SEARCH_MAX {
                    self.capped = true;
                    return false;
                }
                self.count += 1;
                let shown = cap_chars(line, SEARCH_LINE_MAX);
                self.out.push_str(&format!("{rel}:{}:{shown}\n", i + 1));
            }
        }
        true
    }
}

/// What the model is told about the tool, and its input schema.
pub fn definition() -> (&'static str, Value) {
    (
        "Search file contents with a regex. Returns file:line:text, capped.",
        json!({"type":"object","properties":{"pattern":{"type":"string"},"path":{"type":"string"},"glob":{"type":"string"}},"required":["pattern"]}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::test_support::{file, read_policy as policy};
    use std::path::Path;

    fn search(dir: &Path, read: &[&str], input: Value) -> Result<ToolOutcome> {
        call(&policy(dir, read), input.as_object().unwrap())
    }

    #[test]
    fn matches_are_file_line_text_in_file_order() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "src/b.rs", "let y = 2;\n");
        file(
            dir.path(),
            "src/a.rs",
            "fn main() {}\nlet x = 1;\n  let z = 3;\n",
        );
        let out = search(dir.path(), &["**"], json!({"pattern": r"let \w"})).unwrap();
        assert_eq!(
            out.content,
            "src/a.rs:2:let x = 1;\nsrc/a.rs:3:  let z = 3;\nsrc/b.rs:1:let y = 2;\n"
        );
        assert!(!out.truncated);
    }

    #[test]
    fn path_and_glob_narrow_the_search() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "src/a.rs", "hit\n");
        file(dir.path(), "src/a.md", "hit\n");
        file(dir.path(), "docs/b.rs", "hit\n");
        let under = search(
            dir.path(),
            &["**"],
            json!({"pattern": "hit", "path": "src"}),
        )
        .unwrap();
        assert_eq!(under.content, "src/a.md:1:hit\nsrc/a.rs:1:hit\n");
        let globbed = search(
            dir.path(),
            &["**"],
            json!({"pattern": "hit", "glob": "*.rs"}),
        )
        .unwrap();
        assert_eq!(globbed.content, "docs/b.rs:1:hit\nsrc/a.rs:1:hit\n");
    }

    #[test]
    fn no_match_says_so() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "a.txt", "hello\n");
        let out = search(dir.path(), &["**"], json!({"pattern": "zzz"})).unwrap();
        assert_eq!(out.content, "[no matches]");
        assert!(!out.truncated);
    }

    #[test]
    fn matches_are_capped_and_marked() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "a.txt", &"hit\n".repeat(SEARCH_MAX + 10));
        let out = search(dir.path(), &["**"], json!({"pattern": "hit"})).unwrap();
        assert!(out.truncated);
        let hits = out
            .content
            .lines()
            .filter(|l| l.starts_with("a.txt:"))
            .count();
        assert_eq!(hits, SEARCH_MAX);
        assert!(out.content.contains(&format!("a.txt:{SEARCH_MAX}:hit\n")));
        assert!(
            out.content.ends_with(&format!(
                "[capped at {SEARCH_MAX} matches; narrow with path or glob]"
            )),
            "{}",
            out.content
        );

        // Exactly the cap is not capped.
        file(dir.path(), "a.txt", &"hit\n".repeat(SEARCH_MAX));
        let exact = search(dir.path(), &["**"], json!({"pattern": "hit"})).unwrap();
        assert!(!exact.truncated);
        assert_eq!(exact.content.lines().count(), SEARCH_MAX);
        assert!(!exact.content.contains("[capped"));
    }

    #[test]
    fn long_lines_are_cut_in_characters() {
        let dir = tempfile::tempdir().unwrap();
        let long = format!("hit{}", "é".repeat(SEARCH_LINE_MAX));
        let exact = format!("hit{}", "é".repeat(SEARCH_LINE_MAX - 3));
        file(dir.path(), "a.txt", &format!("{long}\n{exact}\n"));
        let out = search(dir.path(), &["**"], json!({"pattern": "^hit"})).unwrap();
        let lines: Vec<&str> = out.content.lines().collect();
        assert_eq!(lines.len(), 2, "{}", out.content);
        let first = lines[0].strip_prefix("a.txt:1:").unwrap();
        let kept: String = long.chars().take(SEARCH_LINE_MAX).collect();
        assert_eq!(first, format!("{kept}…"));
        assert_eq!(
            lines[1],
            format!("a.txt:2:{exact}"),
            "a line at the cap is whole"
        );
    }

    #[test]
    fn files_the_policy_cannot_read_are_never_searched() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "src/a.rs", "needle\n");
        file(dir.path(), "secret.env", "needle = sk-live-123\n");
        file(dir.path(), "src/deep/.hidden", "needle\n");
        file(dir.path(), ".git/config", "needle\n");
        let out = search(dir.path(), &["src/**"], json!({"pattern": "needle"})).unwrap();
        assert_eq!(
            out.content,
            "src/a.rs:1:needle\nsrc/deep/.hidden:1:needle\n"
        );
        assert!(!out.content.contains("sk-live"));
        // Naming the unreadable file directly is denied.
        match search(
            dir.path(),
            &["src/**"],
            json!({"pattern": "needle", "path": "secret.env"}),
        ) {
            Err(CallError::Denied(d)) => assert_eq!(d.rule, "read"),
            other => panic!("expected a denial, got {other:?}"),
        }
    }

    #[test]
    fn an_invalid_regex_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        match search(dir.path(), &["**"], json!({"pattern": "("})) {
            Err(CallError::Failed(m)) => assert!(m.starts_with("invalid regex"), "{m}"),
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}
