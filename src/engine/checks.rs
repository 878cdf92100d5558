//! Running checks and composing the repair message.
//!
//! A check's `run` is the task-file author's command line, run with `sh -c`
//! in the workspace like a CI step: scrubbed environment (see
//! [`crate::sys::process`]), its own process group, a timeout (default 10m). The
//! model can neither change nor skip a check. Besides the scrubbed
//! environment a check gets `WF_BASE_TREE` (the git tree of the starting
//! state, for `git diff $WF_BASE_TREE`) and each input as `WF_INPUT_<NAME>`. Checks run in order and stop
//! at the first failure, as CI steps do: a failing build makes the tests'
//! output noise.

use crate::spec::Check;
use crate::sys::process::{Spawn, run};
use std::path::Path;
use std::time::Duration;

/// Default timeout of a check.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(600);
/// Lines of output tail sent to the model and kept in the trace.
pub const TAIL_LINES: usize = 60;
/// Bytes of output tail sent to the model and kept in the trace.
pub const TAIL_BYTES: usize = 4 * 1024;

/// What one check did.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRun {
    /// The check's name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Exit code.
    pub exit_code: Option<i32>,
    /// Killed at its timeout.
    pub timed_out: bool,
    /// Hash of the captured output.
    pub output_hash: String,
    /// The end of the output.
    pub tail: String,
    /// All of the output captured (its middle left out when it was long).
    pub output: String,
    /// Whether the captured output was cut.
    pub truncated: bool,
    /// Wall time.
    pub elapsed: Duration,
}

/// Runs one check in `dir`, within `deadline_left`. Its output is
/// redacted (`secrets`) before anything keeps it: the tail the model and
/// the trace get, the log, the hash.
pub fn run_check(
    check: &Check,
    dir: &Path,
    env: &[(String, String)],
    sandbox: Option<&crate::sandbox::Sandboxed>,
    deadline_left: Duration,
    secrets: &crate::secrets::Secrets,
) -> CheckRun {
    let timeout = check
        .timeout
        .map_or(DEFAULT_CHECK_TIMEOUT, |t| t.0)
        .min(deadline_left);
    let outcome = run(&Spawn {
        argv: vec!["sh".into(), "-c".into(), check.run.clone()],
        cwd: dir,
        env: env.to_vec(),
        timeout,
        head: 16 * 1024,
        tail: 64 * 1024,
        sandbox,
    });
    match outcome {
        Ok(o) => {
            let passed = o.success();
            let output = secrets.redact_owned(o.output);
            CheckRun {
                name: check.name.clone(),
                passed,
                exit_code: o.exit_code,
                timed_out: o.timed_out,
                output_hash: crate::hash::sha256_hex(output.as_bytes()),
                tail: tail(&output),
                output,
                truncated: o.truncated,
                elapsed: o.elapsed,
            }
        }
        Err(e) => CheckRun {
            name: check.name.clone(),
            passed: false,
            exit_code: None,
            timed_out: false,
            output_hash: String::new(),
            tail: format!("cannot start sh: {e}"),
            output: String::new(),
            truncated: false,
            elapsed: Duration::ZERO,
        },
    }
}

/// The last [`TAIL_LINES`] lines, at most [`TAIL_BYTES`] bytes.
pub fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let start = lines.len().saturating_sub(TAIL_LINES);
    let mut text = lines[start..].join("\n");
    if text.len() > TAIL_BYTES {
        let mut cut = text.len() - TAIL_BYTES;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        text = text[cut..].to_string();
    }
    text
}

/// Why a check (or a command step) cannot run at all, when its exit code
/// says so: 127, its program was not found; 126, it is not executable. A
/// repair round cannot fix that (the model cannot install a program), so
/// the run ends instead of spending one. Inside the sandbox a program
/// outside its read roots is not found either. `command`: the check's
/// `run:`, `what`: "check `NAME`" or "command step `ID`".
pub fn cannot_run(
    what: &str,
    command: &str,
    exit_code: Option<i32>,
    tail: &str,
    sandboxed: bool,
) -> Option<String> {
    let program = crate::spec::pattern::first_program(command)
        .map_or_else(|| "its program".to_string(), |p| format!("`{p}`"));
    let problem = match exit_code {
        Some(127) => format!("{program} was not found (exit 127)"),
        Some(126) => format!("{program} is not executable (exit 126)"),
        _ => return None,
    };
    let said = tail
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!(": {}", l.trim()))
        .unwrap_or_default();
    let sandbox = if sandboxed {
        "; inside the sandbox a program outside its read roots is not found either: add its directory to `sandbox.read`"
    } else {
        ""
    };
    Some(format!(
        "{what} cannot run: {problem}{said}; no repair round was spent on it. Install the program or fix the `run:` line{sandbox}"
    ))
}

/// The message that asks the model to fix failing checks.
pub fn repair_message(failed: &CheckRun, round: u32, max: u32) -> String {
    let status = if failed.timed_out {
        "was killed at its timeout".to_string()
    } else {
        match failed.exit_code {
            Some(code) => format!("failed with exit code {code}"),
            None => "was killed by a signal".to_string(),
        }
    };
    let output = if failed.tail.trim().is_empty() {
        "It printed nothing.".to_string()
    } else {
        format!("The end of its output:\n```\n{}\n```", failed.tail)
    };
    format!(
        "Check `{}` {status} (repair round {round} of {max}). {output}\nFix the cause; the checks run again when you finish.",
        failed.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(tail: &str) -> CheckRun {
        CheckRun {
            name: "tests".into(),
            passed: false,
            exit_code: Some(1),
            timed_out: false,
            output_hash: String::new(),
            tail: tail.into(),
            output: tail.into(),
            truncated: false,
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn a_check_that_printed_nothing_gets_no_empty_fence() {
        let message = repair_message(&failed(""), 1, 3);
        assert!(!message.contains("```"), "{message}");
        assert!(message.contains("It printed nothing."), "{message}");
        let message = repair_message(&failed("missing key: pool_size"), 1, 3);
        assert!(
            message.contains("```\nmissing key: pool_size\n```"),
            "{message}"
        );
    }

    #[test]
    fn exit_127_and_126_cannot_run_other_codes_can_be_repaired() {
        let why = cannot_run(
            "check `tests`",
            "pytest -q",
            Some(127),
            "sh: 1: pytest: not found\n",
            false,
        )
        .unwrap();
        assert!(
            why.starts_with("check `tests` cannot run: `pytest` was not found (exit 127): sh: 1: pytest: not found;"),
            "{why}"
        );
        assert!(!why.contains("sandbox"));
        let why = cannot_run("check `t`", "./run.sh", Some(126), "", true).unwrap();
        assert!(
            why.contains("`./run.sh` is not executable (exit 126)"),
            "{why}"
        );
        assert!(why.contains("sandbox.read"), "{why}");
        assert_eq!(cannot_run("check `t`", "pytest", Some(1), "", false), None);
        assert_eq!(cannot_run("check `t`", "pytest", None, "", false), None);
    }
}
