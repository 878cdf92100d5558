//! The tool layer: the tools the model may call, their definitions as sent
//! to the model, and their execution behind the permission checks.
//!
//! Every call goes through [`ToolLayer::call`]: the input is checked (it
//! must be a JSON object with the right fields), the path or command is
//! checked against the [`permissions::Policy`], and only then does anything
//! run. A denied or failed call is an ordinary result with `is_error` set:
//! the model is told why, the executor records it, and the run goes on.

pub mod files;
pub mod permissions;
pub mod shell;

use crate::provider::ToolDef;
use crate::spec::{Permissions, ToolName};
use permissions::{Denial, Policy};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// Default timeout of one `shell` command.
pub const DEFAULT_SHELL_TIMEOUT: Duration = Duration::from_secs(120);

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
    fn ok(content: String, truncated: bool) -> Self {
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

    fn denied(d: Denial) -> Self {
        ToolOutcome {
            content: d.message.clone(),
            is_error: true,
            denial: Some(d),
            truncated: false,
            exit_code: None,
        }
    }
}

/// The tools of one run, bound to its workspace and permissions.
pub struct ToolLayer {
    enabled: Vec<ToolName>,
    policy: Policy,
    /// Allow patterns per layer (own permissions, then each bound).
    shell_allow: Vec<Vec<Vec<shell::PatternWord>>>,
    shell_timeout: Duration,
    env: Vec<(String, String)>,
    writes_allowed: bool,
}

impl ToolLayer {
    /// Binds `tools` to the workspace at `root`. `env` is added to the
    /// scrubbed environment of `shell` commands.
    pub fn new(
        root: &Path,
        tools: &[ToolName],
        permissions: &Permissions,
        bounds: &[Permissions],
        env: Vec<(String, String)>,
    ) -> Result<ToolLayer, String> {
        let policy = Policy::new(root, permissions, bounds)?;
        // The shell allowlist of each layer: a command must match one
        // pattern of every layer. The tightest timeout wins, a layer without
        // one counting as the default.
        let mut shell_allow = Vec::new();
        let mut shell_timeout: Option<Duration> = None;
        for layer in std::iter::once(permissions).chain(bounds) {
            let own = layer
                .shell
                .as_ref()
                .and_then(|s| s.timeout)
                .map_or(DEFAULT_SHELL_TIMEOUT, |t| t.0);
            shell_timeout = Some(shell_timeout.map_or(own, |t| t.min(own)));
            let patterns = match &layer.shell {
                Some(s) => s
                    .allow
                    .iter()
                    .map(|p| shell::parse_pattern(p))
                    .collect::<Result<Vec<_>, _>>()?,
                None => Vec::new(),
            };
            shell_allow.push(patterns);
        }
        Ok(ToolLayer {
            enabled: tools.to_vec(),
            policy,
            shell_allow,
            shell_timeout: shell_timeout.unwrap_or(DEFAULT_SHELL_TIMEOUT),
            env,
            writes_allowed: true,
        })
    }

    /// While false (before a plan is approved), `edit_file`, `write_file`
    /// and `shell` are refused.
    pub fn set_writes_allowed(&mut self, allowed: bool) {
        self.writes_allowed = allowed;
    }

    /// Definitions of the enabled tools, in the order of [`ToolName::ALL`].
    pub fn definitions(&self) -> Vec<ToolDef> {
        ToolName::ALL
            .into_iter()
            .filter(|t| self.enabled.contains(t))
            .map(definition)
            .collect()
    }

    /// Runs one call. `deadline_left` bounds a `shell` command's time.
    pub fn call(&self, name: &str, input: &Value, deadline_left: Duration) -> ToolOutcome {
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
            ToolName::ReadFile => files::read_file(&self.policy, args),
            ToolName::ListFiles => files::list_files(&self.policy, args),
            ToolName::Search => files::search(&self.policy, args),
            ToolName::EditFile => files::edit_file(&self.policy, args),
            ToolName::WriteFile => files::write_file(&self.policy, args),
            ToolName::Shell => self.shell(args, deadline_left),
        };
        match result {
            Ok(outcome) => outcome,
            Err(files::CallError::Denied(d)) => ToolOutcome::denied(d),
            Err(files::CallError::Failed(msg)) => ToolOutcome::error(format!("{name}: {msg}")),
        }
    }

    fn shell(
        &self,
        args: &serde_json::Map<String, Value>,
        deadline_left: Duration,
    ) -> Result<ToolOutcome, files::CallError> {
        let command = files::string_arg(args, "command")?;
        let deny = |why: String| {
            files::CallError::Denied(Denial {
                rule: "shell",
                message: format!("shell `{command}` denied: {why}"),
            })
        };
        let argv = shell::split_command(command).map_err(deny)?;
        if argv.is_empty() {
            return Err(files::CallError::Failed("the command is empty".into()));
        }
        for (i, layer) in self.shell_allow.iter().enumerate() {
            if !layer.iter().any(|p| shell::matches(p, &argv)) {
                return Err(deny(permissions::why(
                    "not matched by permissions.shell.allow",
                    i,
                )));
            }
        }
        shell::check_arguments(&argv).map_err(deny)?;
        let outcome = crate::process::run(&crate::process::Spawn {
            argv,
            cwd: self.policy.root(),
            env: self.env.clone(),
            timeout: self.shell_timeout.min(deadline_left),
            head: 8 * 1024,
            tail: 24 * 1024,
            sandbox: None,
        })
        .map_err(|e| files::CallError::Failed(format!("cannot start `{command}`: {e}")))?;
        let run_limit = deadline_left < self.shell_timeout;
        let status = match (outcome.exit_code, outcome.timed_out) {
            (_, true) if run_limit => {
                "killed: the run's time limit (limits.timeout) was reached".to_string()
            }
            (_, true) => format!(
                "killed after the {} timeout (permissions.shell.timeout)",
                crate::spec::Duration(self.shell_timeout).to_text()
            ),
            (Some(code), _) => format!("exit code {code}"),
            (None, _) => format!("killed by signal {}", outcome.signal.unwrap_or(0)),
        };
        let mut content = format!("{status}\n{}", outcome.output);
        if outcome.truncated {
            content.push_str(&format!(
                "\n[output truncated: {} bytes in all; the middle was left out]",
                outcome.total_bytes
            ));
        }
        Ok(ToolOutcome {
            content,
            is_error: !outcome.success(),
            denial: None,
            truncated: outcome.truncated,
            exit_code: outcome.exit_code,
        })
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

/// The definition of one tool as sent to the model. Short on purpose: every
/// token here is paid on every turn.
pub fn definition(tool: ToolName) -> ToolDef {
    let (description, schema) = match tool {
        ToolName::ReadFile => (
            "Read a text file. Optional 1-based line offset and line limit.",
            json!({"type":"object","properties":{"path":{"type":"string"},"offset":{"type":"integer"},"limit":{"type":"integer"}},"required":["path"]}),
        ),
        ToolName::ListFiles => (
            "List files under a directory (default: root), gitignore respected, sorted. Optional glob filter.",
            json!({"type":"object","properties":{"path":{"type":"string"},"glob":{"type":"string"}}}),
        ),
        ToolName::Search => (
            "Search file contents with a regex. Returns file:line:text, capped.",
            json!({"type":"object","properties":{"pattern":{"type":"string"},"path":{"type":"string"},"glob":{"type":"string"}},"required":["pattern"]}),
        ),
        ToolName::EditFile => (
            "Replace exact text in a file. `old` must occur exactly once unless replace_all.",
            json!({"type":"object","properties":{"path":{"type":"string"},"old":{"type":"string"},"new":{"type":"string"},"replace_all":{"type":"boolean"}},"required":["path","old","new"]}),
        ),
        ToolName::WriteFile => (
            "Create or overwrite a whole file.",
            json!({"type":"object","properties":{"path":{"type":"string"},"content":{"type":"string"}},"required":["path","content"]}),
        ),
        ToolName::Shell => (
            "Run an allowed command line (no shell: no pipes, redirection or variables). Returns exit code and output.",
            json!({"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}),
        ),
    };
    ToolDef {
        name: tool.as_str().to_string(),
        description: description.to_string(),
        input_schema: schema,
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
        )
        .unwrap();
        assert_eq!(alone.shell_timeout, Duration::from_secs(3600));
        let bounded = ToolLayer::new(
            dir.path(),
            &tools,
            &shell(&["sleep *"], Some("1h")),
            &[shell(&["sleep *"], None)],
            vec![],
        )
        .unwrap();
        assert_eq!(bounded.shell_timeout, DEFAULT_SHELL_TIMEOUT);
        let tighter = ToolLayer::new(
            dir.path(),
            &tools,
            &shell(&["sleep *"], None),
            &[shell(&["sleep *"], Some("5s"))],
            vec![],
        )
        .unwrap();
        assert_eq!(tighter.shell_timeout, Duration::from_secs(5));
    }
}
