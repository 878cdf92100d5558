//! The tool layer: the tools the model may call, their definitions as sent
//! to the model, and their execution behind the permission checks.
//!
//! Every call goes through [`ToolLayer::call`]: the input is checked (it
//! must be a JSON object with the right fields), the path or command is
//! checked against the [`Policy`] (the one permission decision, in
//! [`crate::policy`]), and only then does anything
//! run. A denied or failed call is an ordinary result with `is_error` set:
//! the model is told why, the executor records it, and the run goes on.

pub mod edit_file;
pub mod list_files;
pub mod read_file;
pub mod search;
pub mod shell;
pub mod walk;
pub mod write_file;

use crate::policy::{Access, Denial, Policy};
use crate::spec::{Permissions, ToolName};
use serde_json::{Map, Value};
use std::path::Path;
use std::time::Duration;

pub use crate::policy::DEFAULT_SHELL_TIMEOUT;

/// The result of one tool call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutcome {
    /// Text returned to the model.
    pub content: String,
    /// True when the call was denied or failed.
    pub is_error: bool,
    /// Set when a permission rule refused the call.
    pub denial: Option<Denial>,
    /// Whether the output was cut to fit.
    pub truncated: bool,
    /// The exit code of a `shell` command.
    pub exit_code: Option<i32>,
}

impl ToolOutcome {
    pub(crate) fn ok(content: String, truncated: bool) -> Self {
        ToolOutcome {
            content,
            is_error: false,
            denial: None,
            truncated,
            exit_code: None,
        }
    }

    /// A failed call.
    pub fn error(message: impl Into<String>) -> Self {
        ToolOutcome {
            content: message.into(),
            is_error: true,
            denial: None,
            truncated: false,
            exit_code: None,
        }
    }

    pub(crate) fn denied(d: Denial) -> Self {
        ToolOutcome {
            content: d.message.clone(),
            is_error: true,
            denial: Some(d),
            truncated: false,
            exit_code: None,
        }
    }
}

/// Why a call did not succeed.
#[derive(Debug)]
pub enum CallError {
    /// A permission rule refused it.
    Denied(Denial),
    /// It failed (bad input, missing file, no match, I/O).
    Failed(String),
}

pub(crate) type Result<T> = std::result::Result<T, CallError>;

pub(crate) fn fail<T>(msg: impl Into<String>) -> Result<T> {
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

pub(crate) fn opt_string<'a>(args: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => fail(format!("`{name}` must be a string")),
    }
}

pub(crate) fn opt_usize(args: &Map<String, Value>, name: &str) -> Result<Option<usize>> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) => Ok(Some(n as usize)),
            None => fail(format!("`{name}` must be a non-negative integer")),
        },
    }
}

/// The optional `glob` field, compiled.
pub(crate) fn opt_glob(args: &Map<String, Value>) -> Result<Option<globset::GlobMatcher>> {
    match opt_string(args, "glob")? {
        Some(g) => Ok(Some(
            crate::glob::compile(g)
                .map_err(|e| CallError::Failed(format!("invalid glob `{g}`: {e}")))?
                .compile_matcher(),
        )),
        None => Ok(None),
    }
}

/// Whether file contents look binary (a NUL byte in the first 8 KiB).
pub(crate) fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(8192)].contains(&0)
}

/// At most `max` characters of `line`, followed by `…` when cut.
pub(crate) fn cap_chars(line: &str, max: usize) -> String {
    let shown: String = line.chars().take(max).collect();
    let cut = if shown.len() < line.len() { "…" } else { "" };
    format!("{shown}{cut}")
}

/// Appends a bracketed note on a line of its own: `[note]`.
pub(crate) fn push_note(out: &mut String, note: &str) {
    if !out.ends_with('\n') && !out.is_empty() {
        out.push('\n');
    }
    out.push('[');
    out.push_str(note);
    out.push(']');
}

/// The outcome of a listing tool (`list_files`, `search`): `out`, then the
/// note `[{capped}; narrow with path or glob]` when the listing was capped,
/// or `[no {what}]` when it is empty.
pub(crate) fn listing(mut out: String, capped: Option<String>, what: &str) -> ToolOutcome {
    let truncated = capped.is_some();
    match capped {
        Some(capped) => push_note(&mut out, &format!("{capped}; narrow with path or glob")),
        None if out.is_empty() => push_note(&mut out, &format!("no {what}")),
        None => {}
    }
    ToolOutcome::ok(out, truncated)
}

/// A failed open or read of `path` (as the model sent it): missing, or why.
pub(crate) fn io_fail<T>(path: &str, e: &std::io::Error) -> Result<T> {
    if e.kind() == std::io::ErrorKind::NotFound {
        return fail(format!("{path} does not exist"));
    }
    fail(format!(
        "cannot open {path}: {}",
        crate::sys::beneath::describe(e)
    ))
}

/// The contents of the regular file at `real`, the real path the policy
/// decided on for `path`, opened beneath the workspace with no link
/// followed.
pub(crate) fn read_real(policy: &Policy, real: &str, path: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut file = policy
        .dir()
        .open_read(real)
        .or_else(|e| io_fail(path, &e))?;
    let meta = file
        .metadata()
        .map_err(|e| CallError::Failed(format!("cannot read {path}: {e}")))?;
    if meta.is_dir() {
        return fail(format!("{path} is a directory; use list_files"));
    }
    if !meta.is_file() {
        return fail(format!("{path} is not a regular file"));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut bytes)
        .map_err(|e| CallError::Failed(format!("cannot read {path}: {e}")))?;
    Ok(bytes)
}

pub(crate) fn check(
    policy: &Policy,
    path: &str,
    access: Access,
) -> Result<(std::path::PathBuf, String)> {
    policy.check(path, access).map_err(CallError::Denied)
}

/// What `write_file` and `edit_file` may still write in the run
/// (`limits.max_write_bytes`): each call counts the size of the file it
/// writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteBudget {
    /// `limits.max_write_bytes`.
    pub max: u64,
    /// Bytes written so far in the run.
    pub used: u64,
}

impl WriteBudget {
    /// No cap, nothing written yet.
    pub fn unlimited() -> WriteBudget {
        WriteBudget {
            max: u64::MAX,
            used: 0,
        }
    }

    /// Refuses a write of `bytes` bytes to `path` that would pass the cap.
    pub(crate) fn check(&self, path: &str, bytes: usize) -> Result<()> {
        let left = self.max.saturating_sub(self.used);
        if bytes as u64 > left {
            return fail(format!(
                "writing {bytes} bytes to {path} would pass limits.max_write_bytes ({} bytes per run, {left} left)",
                self.max
            ));
        }
        Ok(())
    }

    /// Counts a write of `bytes` bytes.
    pub(crate) fn spend(&mut self, bytes: usize) {
        self.used = self.used.saturating_add(bytes as u64);
    }
}

/// The tools of one run, bound to its workspace and permissions.
pub struct ToolLayer {
    enabled: Vec<ToolName>,
    policy: Policy,
    env: Vec<(String, String)>,
    sandbox: Option<crate::sandbox::Sandboxed>,
    writes_allowed: bool,
    write_budget: WriteBudget,
}

impl ToolLayer {
    /// Binds `tools` to the workspace at `root`. `env` is added to the
    /// scrubbed environment of `shell` commands, which run confined by
    /// `sandbox` (`None`: unconfined, `sandbox: off`).
    pub fn new(
        root: &Path,
        tools: &[ToolName],
        permissions: &Permissions,
        bounds: &[Permissions],
        env: Vec<(String, String)>,
        sandbox: Option<crate::sandbox::Sandboxed>,
    ) -> std::result::Result<ToolLayer, crate::policy::PolicyError> {
        Ok(ToolLayer {
            enabled: tools.to_vec(),
            policy: Policy::new(root, permissions, bounds)?,
            env,
            sandbox,
            writes_allowed: true,
            write_budget: WriteBudget::unlimited(),
        })
    }

    /// Sets what the write tools may still write in the run.
    pub fn set_write_budget(&mut self, budget: WriteBudget) {
        self.write_budget = budget;
    }

    /// What the write tools may still write, with what they wrote counted.
    pub fn write_budget(&self) -> WriteBudget {
        self.write_budget
    }

    /// While false (before a plan is approved), `edit_file`, `write_file`
    /// and `shell` are refused.
    pub fn set_writes_allowed(&mut self, allowed: bool) {
        self.writes_allowed = allowed;
    }

    /// Definitions of the enabled tools, in the order of [`ToolName::ALL`].
    pub fn definitions(&self) -> Vec<Definition> {
        ToolName::ALL
            .into_iter()
            .filter(|t| self.enabled.contains(t))
            .map(definition)
            .collect()
    }

    /// Runs one call. `deadline_left` bounds a `shell` command's time.
    pub fn call(&mut self, name: &str, input: &Value, deadline_left: Duration) -> ToolOutcome {
        let Some(tool) = ToolName::from_name(name).filter(|t| self.enabled.contains(t)) else {
            let names: Vec<&str> = self.enabled.iter().map(|t| t.as_str()).collect();
            return ToolOutcome::error(format!(
                "unknown tool `{name}`; available: {}",
                names.join(", ")
            ));
        };
        let Some(args) = input.as_object() else {
            return ToolOutcome::error(format!(
                "{name}: the input must be a JSON object, got {}",
                describe(input)
            ));
        };
        if !self.writes_allowed && (tool.writes() || tool == ToolName::Shell) {
            return ToolOutcome::denied(Denial {
                rule: "phase",
                message: format!(
                    "{name} denied: the plan has not been approved yet; state the plan first"
                ),
            });
        }
        let result = match tool {
            ToolName::ReadFile => read_file::call(&self.policy, args),
            ToolName::ListFiles => list_files::call(&self.policy, args),
            ToolName::Search => search::call(&self.policy, args),
            ToolName::EditFile => edit_file::call(&self.policy, args, &mut self.write_budget),
            ToolName::WriteFile => write_file::call(&self.policy, args, &mut self.write_budget),
            ToolName::Shell => shell::call(
                &self.policy,
                args,
                &self.env,
                self.sandbox.as_ref(),
                deadline_left,
            ),
        };
        match result {
            Ok(outcome) => outcome,
            Err(CallError::Denied(d)) => ToolOutcome::denied(d),
            Err(CallError::Failed(msg)) => ToolOutcome::error(format!("{name}: {msg}")),
        }
    }
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text that is not a JSON object",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A tool as the model is told of it: the tools' own type (they know no
/// provider); the engine makes it a provider's tool definition when it
/// builds a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// The name the model calls it by.
    pub name: String,
    /// What it does, in as few tokens as possible.
    pub description: String,
    /// JSON Schema of its input object.
    pub input_schema: Value,
}

/// The definition of one tool as sent to the model. Short on purpose: every
/// token here is paid on every turn.
pub fn definition(tool: ToolName) -> Definition {
    let (description, input_schema) = match tool {
        ToolName::ReadFile => read_file::definition(),
        ToolName::ListFiles => list_files::definition(),
        ToolName::Search => search::definition(),
        ToolName::EditFile => edit_file::definition(),
        ToolName::WriteFile => write_file::definition(),
        ToolName::Shell => shell::definition(),
    };
    Definition {
        name: tool.as_str().to_string(),
        description: description.to_string(),
        input_schema,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Duration as Dur, ShellPermissions};

    fn shell(allow: &[&str], timeout: Option<&str>) -> Permissions {
        Permissions {
            shell: Some(ShellPermissions {
                allow: allow.iter().map(|s| s.to_string()).collect(),
                timeout: timeout.map(|t| Dur::parse(t).unwrap()),
            }),
            ..Permissions::default()
        }
    }

    #[test]
    fn a_bound_caps_the_shell_timeout_even_at_its_default() {
        let dir = tempfile::tempdir().unwrap();
        let tools = [ToolName::Shell];
        let alone = ToolLayer::new(
            dir.path(),
            &tools,
            &shell(&["sleep *"], Some("1h")),
            &[],
            vec![],
            None,
        )
        .unwrap();
        assert_eq!(alone.policy.shell_timeout(), Duration::from_secs(3600));
        let bounded = ToolLayer::new(
            dir.path(),
            &tools,
            &shell(&["sleep *"], Some("1h")),
            &[shell(&["sleep *"], None)],
            vec![],
            None,
        )
        .unwrap();
        assert_eq!(bounded.policy.shell_timeout(), DEFAULT_SHELL_TIMEOUT);
        let tighter = ToolLayer::new(
            dir.path(),
            &tools,
            &shell(&["sleep *"], None),
            &[shell(&["sleep *"], Some("5s"))],
            vec![],
            None,
        )
        .unwrap();
        assert_eq!(tighter.policy.shell_timeout(), Duration::from_secs(5));
    }
}

/// Helpers of the tools' unit tests.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::policy::Policy;
    use crate::spec::Permissions;
    use std::path::Path;

    /// A policy over `dir` that may read `read` and write nothing.
    pub fn read_policy(dir: &Path, read: &[&str]) -> Policy {
        let perms = Permissions {
            read: read.iter().map(|s| s.to_string()).collect(),
            ..Permissions::default()
        };
        Policy::new(dir, &perms, &[]).unwrap()
    }

    /// A policy over `dir` that may read everything, write `write` except
    /// `protect`.
    pub fn write_policy(dir: &Path, write: &str, protect: &str) -> Policy {
        let perms = Permissions {
            read: vec!["**".into()],
            write: vec![write.into()],
            protect: vec![protect.into()],
            shell: None,
        };
        Policy::new(dir, &perms, &[]).unwrap()
    }

    /// Writes `text` to `dir/rel`, creating its folders.
    pub fn file(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}
