//! `wf.lock`: the pins of every recipe the task files of one directory use.
//!
//! The file is YAML (JSON-quoted strings, so any value round-trips), sorted
//! by reference, with no dates: the same pins always give the same bytes,
//! and a pin moving shows as a one-line diff in review.
//!
//! ```yaml
//! wf_lock: 1
//! recipes:
//!   - uses: "git+https://example.com/org/recipes.git//migrate-config.yaml@v1.2.0"
//!     name: "migrate-config"
//!     commit: "3c301d40915aab5a70eb16202c46bf38665e7533"
//!     sha256: "…"
//! mcp:
//!   - package: "@modelcontextprotocol/server-everything@2026.8.31"
//!     tools:
//!       "echo": "…"
//! ```
//!
//! The `mcp` section (written only when a task file declares MCP servers)
//! pins each server's package — or, for a local program, its command — to
//! the SHA-256 of each allowlisted tool definition it listed (see
//! [`McpPin`]).

use super::RecipeError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The lock file's name.
pub const FILE_NAME: &str = "wf.lock";

/// The lock format version this wf writes and reads.
pub const VERSION: u64 = 1;

pub use crate::record::wire::Pin;

/// One pinned MCP server: its package (or local command) and the SHA-256 of
/// each allowlisted tool definition it listed, by tool name. Keyed by
/// package, so task files of one directory that use the same server with
/// different allowlists share one pin (the union of their tools).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpPin {
    /// The pinned package (`@scope/name@1.2.3`, `name==1.2.3`) or the
    /// command of a local program, as [`crate::spec::McpServer::package`]
    /// gives it.
    pub package: String,
    /// SHA-256 of each tool's definition (name, description, input schema
    /// as canonical JSON), by tool name.
    pub tools: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    wf_lock: u64,
    #[serde(default)]
    recipes: Vec<Pin>,
    #[serde(default)]
    mcp: Vec<McpPin>,
}

/// The first 12 characters of an id or hash, for display.
pub fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

/// The pins of a lock file, by reference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lock {
    pins: BTreeMap<String, Pin>,
    mcp: BTreeMap<String, McpPin>,
}

impl Lock {
    /// A lock of these pins.
    pub fn from_pins(pins: impl IntoIterator<Item = Pin>) -> Lock {
        Lock {
            pins: pins.into_iter().map(|p| (p.uses.clone(), p)).collect(),
            mcp: BTreeMap::new(),
        }
    }

    /// This lock with these MCP pins (instead of its own).
    pub fn with_mcp(mut self, mcp: impl IntoIterator<Item = McpPin>) -> Lock {
        self.mcp = mcp.into_iter().map(|p| (p.package.clone(), p)).collect();
        self
    }

    /// The MCP pin of `package`.
    pub fn mcp(&self, package: &str) -> Option<&McpPin> {
        self.mcp.get(package)
    }

    /// Every MCP pin, by package.
    pub fn mcp_pins(&self) -> &BTreeMap<String, McpPin> {
        &self.mcp
    }

    /// The pin of `uses`.
    pub fn get(&self, uses: &str) -> Option<&Pin> {
        self.pins.get(uses)
    }

    /// Every pin, sorted by reference.
    pub fn pins(&self) -> impl Iterator<Item = &Pin> {
        self.pins.values()
    }

    /// Whether it pins nothing.
    pub fn is_empty(&self) -> bool {
        self.pins.is_empty() && self.mcp.is_empty()
    }

    /// Reads `path`; `None` when there is no such file.
    pub fn read(path: &Path) -> Result<Option<Lock>, RecipeError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(RecipeError::Lock(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        let bad = |why: String| {
            RecipeError::Lock(format!(
                "{}: {why}; rewrite it with `wf lock`",
                path.display()
            ))
        };
        let file: File = crate::spec::yaml::load_yaml_text(path, &text).map_err(|located| {
            RecipeError::Lock(format!("{located}; rewrite it with `wf lock`"))
        })?;
        if file.wf_lock != VERSION {
            return Err(bad(format!(
                "lock format {} is not the format {VERSION} this wf reads",
                file.wf_lock
            )));
        }
        for pin in &file.recipes {
            if pin.sha256.len() != 64 || !pin.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(format!(
                    "the sha256 of `{}` is not 64 hex digits",
                    pin.uses
                )));
            }
            if let Some(commit) = &pin.commit
                && !super::git::is_commit_id(commit)
            {
                return Err(bad(format!(
                    "the commit of `{}` is not a full commit id",
                    pin.uses
                )));
            }
        }
        let hex = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        for pin in &file.mcp {
            if let Some((tool, _)) = pin.tools.iter().find(|(_, sha)| !hex(sha)) {
                return Err(bad(format!(
                    "the sha256 of MCP tool `{tool}` of `{}` is not 64 hex digits",
                    pin.package
                )));
            }
        }
        Ok(Some(Lock::from_pins(file.recipes).with_mcp(file.mcp)))
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let q = |s: &str| serde_json::to_string(s).expect("strings serialize");
        let mut out = String::from(
            "# wf.lock: the exact version of every recipe that `uses:` refers to in the\n\
             # task files of this directory. Written by `wf lock`; commit it. `wf run`\n\
             # refuses a recipe that no longer matches its pin; `wf lock --update NAME`\n\
             # moves a pin on purpose.\n",
        );
        if !self.mcp.is_empty() {
            out.push_str(
                "# `mcp`: each MCP server's package and the SHA-256 of each allowlisted tool\n\
                 # definition; `wf run` refuses a server whose definitions changed under\n\
                 # the same pin.\n",
            );
        }
        out.push_str(&format!("wf_lock: {VERSION}\nrecipes:"));
        if self.pins.is_empty() {
            out.push_str(" []\n");
        } else {
            out.push('\n');
        }
        for pin in self.pins.values() {
            out.push_str(&format!("  - uses: {}\n", q(&pin.uses)));
            out.push_str(&format!("    name: {}\n", q(&pin.name)));
            if let Some(commit) = &pin.commit {
                out.push_str(&format!("    commit: {}\n", q(commit)));
            }
            out.push_str(&format!("    sha256: {}\n", q(&pin.sha256)));
        }
        if !self.mcp.is_empty() {
            out.push_str("mcp:\n");
        }
        for pin in self.mcp.values() {
            out.push_str(&format!("  - package: {}\n", q(&pin.package)));
            out.push_str("    tools:");
            if pin.tools.is_empty() {
                out.push_str(" {}\n");
                continue;
            }
            out.push('\n');
            for (tool, sha) in &pin.tools {
                out.push_str(&format!("      {}: {}\n", q(tool), q(sha)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message of the lock-file error reading `path` gives.
    fn lock_error(path: &Path) -> String {
        match Lock::read(path).unwrap_err() {
            RecipeError::Lock(message) => message,
            other => panic!("not a lock-file error: {other:?}"),
        }
    }

    #[test]
    fn round_trips_and_is_sorted() {
        let lock = Lock::from_pins([
            Pin {
                uses: "git+https://h/r.git//x \"q\".yaml@v1".into(),
                name: "x".into(),
                commit: Some("a".repeat(40)),
                sha256: "b".repeat(64),
            },
            Pin {
                uses: "./a.yaml".into(),
                name: "a".into(),
                commit: None,
                sha256: "c".repeat(64),
            },
        ]);
        let lock = lock.with_mcp([McpPin {
            package: "@s/x@1.2.3".into(),
            tools: [("echo \"q\"".to_string(), "d".repeat(64))].into(),
        }]);
        let text = lock.render();
        assert!(text.find("./a.yaml").unwrap() < text.find("git+").unwrap());
        assert!(
            text.contains("mcp:\n  - package: \"@s/x@1.2.3\"\n"),
            "{text}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, &text).unwrap();
        assert_eq!(Lock::read(&path).unwrap(), Some(lock));
        assert_eq!(Lock::read(&dir.path().join("none")).unwrap(), None);
        std::fs::write(&path, "wf_lock: 2\n").unwrap();
        assert!(lock_error(&path).contains("format 2"));
        std::fs::write(&path, text.replace(&"a".repeat(40), "../../x")).unwrap();
        assert!(lock_error(&path).contains("not a full commit id"));
        std::fs::write(&path, text.replace(&"c".repeat(64), "cé")).unwrap();
        assert!(lock_error(&path).contains("not 64 hex digits"));
        std::fs::write(&path, text.replace(&"d".repeat(64), "d")).unwrap();
        assert!(lock_error(&path).contains("MCP tool `echo"));
        // A lock without MCP servers has no `mcp` section.
        let plain = Lock::from_pins([]).render();
        assert!(!plain.contains("mcp"), "{plain}");
    }
}
