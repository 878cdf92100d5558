//! The task-file format: loading a file into a checked [`Spec`].
//!
//! Loading goes in stages, each reporting every problem it can find with
//! file, line and column:
//!
//! 1. bytes: size cap, UTF-8;
//! 2. YAML: a tree of spanned nodes ([`yaml`]), duplicate keys refused,
//!    depth and alias expansion bounded;
//! 3. version first: `wf:` is read before anything else, so a file written
//!    for a newer format gets "needs format N" rather than field errors;
//! 4. schema: the generated JSON Schema ([`schema`]), which reports unknown
//!    keys (with "did you mean"), wrong types and bad values all at once;
//! 5. types: deserialization into [`Spec`];
//! 6. semantics ([`semantic`]): templates, globs, defaults, cross-field rules.
//!
//! Schema errors stop the typed stages, except that the semantic checks
//! still run on the rest of the file when what the schema refused can be
//! taken out without making them wrong ([`schema::without_errors`]): one
//! `wf validate` shows a typo'd key and an undeclared template variable
//! together.

// The layers below, under the names the code has always used.
pub(crate) use wf_core::{glob, hash, sys};
pub(crate) use wf_sandbox as sandbox;

pub mod diagnostic;
pub mod inputs;
pub mod pattern;
pub mod reference;
pub mod risky;
pub mod schema;
pub mod semantic;
pub mod template;
pub mod types;
pub mod yaml;

pub use types::*;

use diagnostic::{Diagnostic, FileDiagnostics};
use std::path::{Path, PathBuf};
use yaml::{Node, Pos, Span, Value};

/// Largest task file wf reads. Task files are small; a bigger one is a mistake
/// or an attack.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// A task file that loaded and passed every check.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    /// The typed task file, defaults filled in.
    pub spec: Spec,
    /// The path as given.
    pub path: PathBuf,
    /// The file's text.
    pub source: String,
    /// Hex SHA-256 of the canonical spec (its JSON with defaults filled in):
    /// comments and formatting do not change it.
    pub hash: String,
}

impl LoadedSpec {
    /// The directory holding the task file (where `model.script` is looked
    /// up, and `uses:` paths and `wf.lock` are relative to); `.` for a bare
    /// file name.
    pub fn dir(&self) -> &Path {
        dir_of(&self.path)
    }
}

/// The directory holding the file `path`; `.` for a bare file name.
pub fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Why a task file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path as given.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is problematic in one or more places.
    #[error(transparent)]
    Invalid(#[from] FileDiagnostics),
}

/// Loads and checks one task file.
pub fn load(path: &Path) -> Result<LoadedSpec, SpecError> {
    let display = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| SpecError::Read {
        path: display.clone(),
        source,
    })?;
    load_bytes(path, &bytes)
}

/// Loads and checks a task file from its bytes (`path` names it in errors
/// and locates `model.script`).
pub fn load_bytes(path: &Path, bytes: &[u8]) -> Result<LoadedSpec, SpecError> {
    let display = path.display().to_string();
    let fail = |source: String, diagnostics: Vec<Diagnostic>| {
        SpecError::Invalid(FileDiagnostics {
            file: display.clone(),
            text: source,
            diagnostics,
        })
    };
    if bytes.len() > MAX_FILE_BYTES {
        return Err(fail(
            String::new(),
            vec![Diagnostic::new(
                Span::default(),
                format!(
                    "task file is {} bytes; the limit is {MAX_FILE_BYTES}",
                    bytes.len()
                ),
            )],
        ));
    }
    let source = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let text = String::from_utf8_lossy(bytes).into_owned();
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            let col = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
            let pos = Pos {
                line,
                col,
                index: 0,
            };
            return Err(fail(
                text,
                vec![Diagnostic::new(
                    Span {
                        start: pos,
                        end: pos,
                    },
                    "task file is not valid UTF-8",
                )],
            ));
        }
    };
    let root = match yaml::parse(&source) {
        Ok(root) => root,
        Err(e) => return Err(fail(source, vec![Diagnostic::new(e.span, e.message)])),
    };
    if let Err(d) = check_version(&root) {
        return Err(fail(source, vec![d]));
    }
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut diagnostics = schema::validate(&root);
    if !diagnostics.is_empty() {
        // One pass where it can be: the semantic checks of what the schema
        // accepts (an undeclared template variable, a missing script file)
        // are reported with the schema's errors, not after they are fixed.
        let rest = schema::without_errors(&root)
            .and_then(|json| serde_json::from_value::<Spec>(json).ok());
        if let Some(spec) = rest {
            for d in semantic::check(&spec, &root, &source, dir) {
                if !diagnostics.iter().any(|s| s.span == d.span) {
                    diagnostics.push(d);
                }
            }
        }
        diagnostics.sort_by_key(|d| d.span.start);
        return Err(fail(source, diagnostics));
    }
    let json = root.to_json();
    let spec: Spec = match serde_path_to_error::deserialize(&json) {
        Ok(spec) => spec,
        Err(e) => {
            let pointer = yaml::pointer_of(e.path());
            let span = root.at_pointer(&pointer).1.span;
            return Err(fail(
                source,
                vec![Diagnostic::new(span, e.into_inner().to_string())],
            ));
        }
    };
    let diagnostics = semantic::check(&spec, &root, &source, dir);
    if !diagnostics.is_empty() {
        return Err(fail(source, diagnostics));
    }
    let hash = crate::hash::sha256_hex(&serde_json::to_vec(&spec).expect("spec serializes"));
    Ok(LoadedSpec {
        spec,
        path: path.to_path_buf(),
        source,
        hash,
    })
}

/// Reads `wf:` before anything else.
fn check_version(root: &Node) -> Result<(), Diagnostic> {
    let start = Span {
        start: Pos {
            line: 1,
            col: 1,
            index: 0,
        },
        end: Pos {
            line: 1,
            col: 1,
            index: 0,
        },
    };
    let Value::Map(_) = root.value else {
        return Err(Diagnostic::new(
            if root.span == Span::default() {
                start
            } else {
                root.span
            },
            "a task file is a YAML mapping of keys (wf, name, model, prompt, …)",
        )
        .with_help("start with `wf: 1`; `wf init` writes a skeleton"));
    };
    let Some((_, version)) = root.get("wf") else {
        return Err(
            Diagnostic::new(start, "missing `wf:`, the task-file format version")
                .with_help(format!("add `wf: {FORMAT_VERSION}` as the first line")),
        );
    };
    match version.value {
        Value::Int(v) if v as u64 == FORMAT_VERSION && v > 0 => Ok(()),
        Value::Int(v) if v > FORMAT_VERSION as i64 => Err(Diagnostic::new(
            version.span,
            format!(
                "this task file needs format version {v}; wf {} reads format {FORMAT_VERSION}",
                env!("CARGO_PKG_VERSION")
            ),
        )
        .with_help("upgrade wf to run this task file")),
        _ => Err(Diagnostic::new(
            version.span,
            format!(
                "`wf:` must be the format version, {FORMAT_VERSION}; found {}",
                version.to_json()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(text: &str) -> Vec<String> {
        match load_bytes(Path::new("t.yaml"), text.as_bytes()) {
            Err(SpecError::Invalid(d)) => d.diagnostics.into_iter().map(|d| d.message).collect(),
            other => panic!("expected diagnostics, got {other:?}"),
        }
    }

    #[test]
    fn an_unknown_key_and_an_undeclared_variable_come_together() {
        let m = messages(
            "wf: 1\nname: t\nmodel: { provider: openai, name: gpt-4o }\ncontex: {}\ninputs: { module: { type: string } }\nprompt: Fix {{ inputs.modul }}.\n",
        );
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(m[0].contains("unknown key `contex`"), "{m:?}");
        assert!(m[1].contains("inputs.modul"), "{m:?}");
    }

    #[test]
    fn a_bad_declaration_others_use_does_not_make_its_uses_errors() {
        // The input's declaration is refused: its use is not reported as
        // undeclared on top.
        let m = messages(
            "wf: 1\nname: t\nmodel: { provider: openai, name: gpt-4o }\ninputs: { module: 3 }\nprompt: Fix {{ inputs.module }}.\n",
        );
        assert_eq!(m.len(), 1, "{m:?}");
        // A missing required key: the typed checks wait.
        let m = messages(
            "wf: 1\nmodel: { provider: openai, name: gpt-4o }\nprompt: Fix {{ inputs.x }}.\n",
        );
        assert!(m.iter().all(|m| !m.contains("inputs.x")), "{m:?}");
    }
}
