//! `shell`: an allowed command line, run without a shell interpreter.
//!
//! The decision (split, allowlist of every layer, arguments) is the
//! policy's ([`Policy::exec`]); this runs the command it allows, in the
//! workspace, with the scrubbed environment and the tighter of the shell
//! timeout and the time the run has left, and reports its exit status.

use super::{CallError, Result, ToolOutcome, string_arg};
use crate::policy::Policy;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// `shell {command}`.
pub fn call(
    policy: &Policy,
    args: &Map<String, Value>,
    env: &[(String, String)],
    sandbox: Option<&crate::sandbox::Sandboxed>,
    deadline_left: Duration,
) -> Result<ToolOutcome> {
    let command = string_arg(args, "command")?;
    let argv = policy.exec(command).map_err(CallError::Denied)?;
    if argv.is_empty() {
        return Err(CallError::Failed("the command is empty".into()));
    }
    let shell_timeout = policy.shell_timeout();
    let outcome = crate::sys::process::run(&crate::sys::process::Spawn {
        argv,
        cwd: policy.root(),
        env: env.to_vec(),
        timeout: shell_timeout.min(deadline_left),
        head: 8 * 1024,
        tail: 24 * 1024,
        sandbox,
    })
    .map_err(|e| CallError::Failed(format!("cannot start `{command}`: {e}")))?;
    let run_limit = deadline_left < shell_timeout;
    let status = match (outcome.exit_code, outcome.timed_out) {
        (_, true) if run_limit => {
            "killed: the run's time limit (limits.timeout) was reached".to_string()
        }
        (_, true) => format!(
            "killed after the {} timeout (permissions.shell.timeout)",
            crate::spec::Duration(shell_timeout).to_text()
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

/// What the model is told about the tool, and its input schema.
pub fn definition() -> (&'static str, Value) {
    (
        "Run an allowed command line (no shell: no pipes, redirection or variables). Returns exit code and output.",
        json!({"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}),
    )
}
