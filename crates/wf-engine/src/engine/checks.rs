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
/// or the end of its output says so. A repair round cannot fix that (the
/// model can neither install a program nor grant the network), so the run
/// ends instead of spending one:
///
/// - exit 127, its program was not found; 126, it is not executable.
///   Inside the sandbox a program outside its read roots is not found
///   either.
/// - confined without the network, the end of its output is a toolchain
///   failing to reach a registry (see [`NETWORK_SIGNS`]).
/// - confined, the end of its output is "Permission denied" on a path
///   that the sandbox keeps from it and that the user can reach (see
///   [`sandbox_denial`]).
///
/// Detection is deliberately narrow: fixed phrases the toolchains print
/// (never "connection refused", which a test of a local server may print
/// for its own reasons), looked for in the last lines only, and a denied
/// path counts only when it lies outside what the sandbox grants. Anything
/// else goes to the model as an ordinary failure.
///
/// `command`: the check's `run:`, `what`: "check `NAME`" or "command step
/// `ID`", `tail`: the end of its output, `sandbox`: the confinement it ran
/// under (`None`: unconfined).
pub fn cannot_run(
    what: &str,
    command: &str,
    exit_code: Option<i32>,
    tail: &str,
    sandbox: Option<&crate::sandbox::Grants>,
) -> Option<String> {
    let program = crate::spec::pattern::first_program(command)
        .map_or_else(|| "its program".to_string(), |p| format!("`{p}`"));
    let problem = match exit_code {
        Some(127) => format!("{program} was not found (exit 127)"),
        Some(126) => format!("{program} is not executable (exit 126)"),
        Some(0) | None => return None,
        Some(_) => return environment_problem(what, tail, sandbox?),
    };
    let said = tail
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!(": {}", l.trim()))
        .unwrap_or_default();
    let sandbox = if sandbox.is_some() {
        "; inside the sandbox a program outside its read roots is not found either: add its directory to `sandbox.read`"
    } else {
        ""
    };
    Some(format!(
        "{what} cannot run: {problem}{said}; no repair round was spent on it. Install the program or fix the `run:` line{sandbox}"
    ))
}

/// What toolchains print when they cannot reach the network, each with the
/// fix for that toolchain: (phrase, fix). The offline switches wf sets
/// ([`crate::sys::process::OFFLINE_ENV`]) make them print the first kind
/// at once; without them, the resolver's failure ends the output.
pub const NETWORK_SIGNS: &[(&str, &str)] = &[
    // cargo with CARGO_NET_OFFLINE, then without it.
    ("you're using offline mode (--offline)", CARGO_FIX),
    ("but --offline was specified", CARGO_FIX),
    ("Could not resolve host", CARGO_FIX),
    // npm with npm_config_offline, then without it.
    ("code ENOTCACHED", NPM_FIX),
    ("getaddrinfo ENOTFOUND", NPM_FIX),
    ("getaddrinfo EAI_AGAIN", NPM_FIX),
    // pip with PIP_NO_INDEX, then without it.
    ("No matching distribution found for", PIP_FIX),
    ("Failed to establish a new connection", PIP_FIX),
    // go with GOPROXY=off.
    ("module lookup disabled by GOPROXY=off", GO_FIX),
    // Any resolver or socket.
    ("Temporary failure in name resolution", GENERIC_FIX),
    ("Name or service not known", GENERIC_FIX),
    ("Network is unreachable", GENERIC_FIX),
];

const CARGO_FIX: &str = "fetch the crates once outside wf (`cargo fetch`, with `Cargo.lock` committed), or give the step the network (`sandbox: { network: true }`)";
const NPM_FIX: &str = "install the packages once outside wf (`npm ci`: the run shares `node_modules`), or give the step the network (`sandbox: { network: true }`)";
const PIP_FIX: &str = "install the packages once outside wf (into the project's virtualenv), or give the step the network (`sandbox: { network: true }`)";
const GO_FIX: &str = "download the modules once outside wf (`go mod download`), or give the step the network (`sandbox: { network: true }`)";
const GENERIC_FIX: &str = "give the step the network (`sandbox: { network: true }`), or make what it fetches available offline";

/// The environment problem at the end of a failed confined command's
/// output, as the run's end reason (see [`cannot_run`]).
fn environment_problem(what: &str, tail: &str, policy: &crate::sandbox::Grants) -> Option<String> {
    let lines: Vec<&str> = tail.lines().map(str::trim).collect();
    if !policy.network {
        for (sign, fix) in NETWORK_SIGNS {
            if let Some(line) = lines.iter().rev().find(|l| l.contains(sign)) {
                return Some(format!(
                    "{what} cannot run: it needs the network, and its commands have none (sandbox network off): {line}; no repair round was spent on it. Fix: {fix}"
                ));
            }
        }
    }
    for line in lines.iter().rev() {
        if let Some((path, grant)) = sandbox_denial(line, policy) {
            return Some(format!(
                "{what} cannot run: the sandbox denied it `{}`: {line}; no repair round was spent on it. Fix: add `{}` to `sandbox.{grant}` (or leave the path alone in the command)",
                path.display(),
                path.parent().unwrap_or(&path).display()
            ));
        }
    }
    None
}

/// A path in a "Permission denied" line that the sandbox keeps from the
/// command, with the grant it lacks (`read` or `write`): a path outside
/// every root the sandbox grants that the user can read, or one in the
/// user's home it may only read that the user can write (a toolchain's
/// cache). A denial inside the workspace or the
/// run's temp directory, or on a path the user cannot reach either, is the
/// command's own business.
pub fn sandbox_denial(
    line: &str,
    policy: &crate::sandbox::Grants,
) -> Option<(std::path::PathBuf, &'static str)> {
    let lower = line.to_ascii_lowercase();
    if !lower.contains("permission denied") && !line.contains("EACCES") {
        return None;
    }
    let under =
        |path: &Path, roots: &[std::path::PathBuf]| roots.iter().any(|r| path.starts_with(r));
    for word in line.split(|c: char| c.is_whitespace() || "'\"`,;()[]<>".contains(c)) {
        let word = word.trim_end_matches([':', '.']);
        if !word.starts_with('/') || word.len() < 2 {
            continue;
        }
        let path = Path::new(word);
        if under(path, &policy.write) && !under(path, &policy.read_only) {
            continue;
        }
        // The nearest part of it that exists, which the user could reach.
        let Some(existing) = path.ancestors().find(|p| p.symlink_metadata().is_ok()) else {
            continue;
        };
        let readable = under(path, &policy.read) || under(path, &policy.write);
        if !readable && access(existing, libc::R_OK) {
            return Some((path.to_path_buf(), "read"));
        }
        // Write denials count only in the user's home (toolchain caches
        // such as `~/.cargo/registry`, `~/.npm`): elsewhere, a system
        // directory, a command writing there is at fault, not the sandbox.
        let in_home = std::env::var_os("HOME").is_some_and(|h| h.len() > 1 && path.starts_with(h));
        if readable && in_home && access(existing, libc::W_OK) {
            return Some((path.to_path_buf(), "write"));
        }
    }
    None
}

/// Whether wf itself (unconfined, as the user) may access `path` in `mode`.
fn access(path: &Path, mode: libc::c_int) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(c.as_ptr(), mode) == 0 }
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

    fn policy(network: bool) -> crate::sandbox::Grants {
        crate::sandbox::Grants {
            read: vec!["/usr".into()],
            write: vec!["/tmp/wf-ws".into()],
            read_only: vec!["/tmp/wf-ws/.git".into()],
            changed_mark: None,
            network,
            proxy: None,
            masks: Vec::new(),
            links: Vec::new(),
            repository: None,
            tools: Vec::new(),
        }
    }

    #[test]
    fn a_toolchain_without_the_network_cannot_run_only_confined_and_offline() {
        let cargo = "error: no matching package named `leftpad` found\nlocation searched: crates.io index\nAs a reminder, you're using offline mode (--offline) which can sometimes cause surprising resolution failures, if this error is too confusing you may wish to retry without `--offline`.\n";
        let why = cannot_run(
            "check `t`",
            "cargo test",
            Some(101),
            cargo,
            Some(&policy(false)),
        )
        .unwrap();
        assert!(
            why.starts_with("check `t` cannot run: it needs the network"),
            "{why}"
        );
        assert!(why.contains("cargo fetch"), "{why}");
        let npm = "npm error code ENOTCACHED\nnpm error request to https://registry.npmjs.org/left-pad failed: cache mode is 'only-if-cached' but no cached response is available.\n";
        let why = cannot_run("check `t`", "npm test", Some(1), npm, Some(&policy(false))).unwrap();
        assert!(why.contains("npm ci"), "{why}");
        let pip = "  [Errno -3] Temporary failure in name resolution')': /simple/leftpad/\nERROR: No matching distribution found for leftpad\n";
        let why = cannot_run(
            "check `t`",
            "pip install .",
            Some(1),
            pip,
            Some(&policy(false)),
        )
        .unwrap();
        assert!(
            why.contains("ERROR: No matching distribution found for leftpad"),
            "{why}"
        );
        // With the network, unconfined, or a test's own refused connection:
        // the model's to look at.
        assert_eq!(
            cannot_run(
                "check `t`",
                "cargo test",
                Some(101),
                cargo,
                Some(&policy(true))
            ),
            None
        );
        assert_eq!(
            cannot_run("check `t`", "cargo test", Some(101), cargo, None),
            None
        );
        let refused = "thread 'server' panicked: Connection refused (os error 111)\n";
        assert_eq!(
            cannot_run(
                "check `t`",
                "cargo test",
                Some(101),
                refused,
                Some(&policy(false))
            ),
            None
        );
    }

    #[test]
    fn a_path_the_sandbox_keeps_away_cannot_run_one_the_command_owns_can_be_repaired() {
        let home = tempfile::tempdir().unwrap();
        let secret = home.path().join("notes.txt");
        std::fs::write(&secret, "x").unwrap();
        let line = format!("cat: {}: Permission denied", secret.display());
        let why = cannot_run("check `t`", "sh t.sh", Some(1), &line, Some(&policy(false))).unwrap();
        assert!(
            why.contains(&format!("the sandbox denied it `{}`", secret.display())),
            "{why}"
        );
        assert!(why.contains("to `sandbox.read`"), "{why}");
        // npm's phrasing, a directory that does not exist yet.
        let line = format!(
            "npm error EACCES: permission denied, mkdir '{}/.npm/_cacache'",
            home.path().display()
        );
        let why = cannot_run("check `t`", "npm ci", Some(1), &line, Some(&policy(true))).unwrap();
        assert!(why.contains(".npm/_cacache`"), "{why}");
        // Inside the workspace: the command's own (a file it made 0400).
        let line = "sh: 1: cannot create /tmp/wf-ws/out.txt: Permission denied";
        assert_eq!(
            cannot_run("check `t`", "sh t.sh", Some(2), line, Some(&policy(false))),
            None
        );
        // Where the user cannot go either (a path that does not exist at
        // all has no readable ancestor but `/`, which is readable: use a
        // relative word, which is not a path wf judges).
        let line = "open config.toml: Permission denied";
        assert_eq!(
            cannot_run("check `t`", "sh t.sh", Some(1), line, Some(&policy(false))),
            None
        );
    }

    #[test]
    fn exit_127_and_126_cannot_run_other_codes_can_be_repaired() {
        let why = cannot_run(
            "check `tests`",
            "pytest -q",
            Some(127),
            "sh: 1: pytest: not found\n",
            None,
        )
        .unwrap();
        assert!(
            why.starts_with("check `tests` cannot run: `pytest` was not found (exit 127): sh: 1: pytest: not found;"),
            "{why}"
        );
        assert!(!why.contains("sandbox"));
        let why = cannot_run("check `t`", "./run.sh", Some(126), "", Some(&policy(false))).unwrap();
        assert!(
            why.contains("`./run.sh` is not executable (exit 126)"),
            "{why}"
        );
        assert!(why.contains("sandbox.read"), "{why}");
        assert_eq!(cannot_run("check `t`", "pytest", Some(1), "", None), None);
        assert_eq!(cannot_run("check `t`", "pytest", None, "", None), None);
    }
}
