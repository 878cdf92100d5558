//! Child processes (the `shell` tool and checks): a scrubbed environment,
//! their own process group, a timeout that kills the whole group, and
//! output capped in memory.
//!
//! # The environment children get
//!
//! Only these variables of wf's own environment are passed on, so API keys
//! and tokens never reach a command the model asked for or a check:
//! `PATH`, `HOME`, `USER`, `LOGNAME`, `LANG`, `LANGUAGE`, `LC_*`, `TERM`,
//! `TZ`, `TMPDIR`, `CARGO_HOME`, `RUSTUP_HOME`, `RUSTUP_TOOLCHAIN`,
//! `GOPATH`, `GOCACHE`, `GOMODCACHE`, `JAVA_HOME`, `VIRTUAL_ENV`.
//! A variable whose name contains `KEY`, `TOKEN`, `SECRET`, `PASSWORD` or
//! `CREDENTIAL` is dropped even if it is on that list. The workspace adds
//! its own (see `wf::workspace`), such as a shared `CARGO_TARGET_DIR`.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Variables passed from wf's environment to children.
pub const PASSED_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "TERM",
    "TZ",
    "TMPDIR",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "GOPATH",
    "GOCACHE",
    "GOMODCACHE",
    "JAVA_HOME",
    "VIRTUAL_ENV",
];

const SECRET_MARKERS: &[&str] = &["KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL"];

/// The scrubbed environment, sorted by name.
pub fn scrubbed_env() -> Vec<(String, String)> {
    scrubbed_from(std::env::vars())
}

/// The variables of `vars` that children may see, sorted by name.
pub fn scrubbed_from(vars: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(k, _)| PASSED_ENV.contains(&k.as_str()) || k.starts_with("LC_"))
        .filter(|(k, _)| {
            let upper = k.to_ascii_uppercase();
            !SECRET_MARKERS.iter().any(|m| upper.contains(m))
        })
        .collect();
    out.sort();
    out
}

/// How to run a child.
#[derive(Debug, Clone)]
pub struct Spawn<'a> {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: &'a Path,
    /// Extra variables on top of the scrubbed environment.
    pub env: Vec<(String, String)>,
    /// Kill the process group after this long.
    pub timeout: Duration,
    /// Bytes of output kept from the start.
    pub head: usize,
    /// Bytes of output kept from the end.
    pub tail: usize,
    /// Run the child confined (see [`crate::sandbox`]).
    pub sandbox: Option<&'a crate::sandbox::Sandboxed>,
}

/// What a child did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Exit code, when it exited normally.
    pub exit_code: Option<i32>,
    /// The signal that ended it, if any.
    pub signal: Option<i32>,
    /// It was killed at the timeout.
    pub timed_out: bool,
    /// Combined stdout and stderr, head and tail when it was too long.
    pub output: String,
    /// Whether the middle of the output was left out.
    pub truncated: bool,
    /// Total output size in bytes.
    pub total_bytes: u64,
    /// Wall time.
    pub elapsed: Duration,
}

impl Outcome {
    /// Exited with code 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }
}

/// Variables a confined command without the network gets (on top of the
/// scrubbed environment, under the task's `env`, which can override them):
/// the offline switches of the common toolchains, so that a command
/// reaching for a registry fails at once with the toolchain's own "offline"
/// message instead of waiting for DNS and connection timeouts (cargo
/// retries for about 11 s, npm for minutes).
///
/// | variable | honoured by |
/// |---|---|
/// | `CARGO_NET_OFFLINE=true` | cargo (as `--offline`: the local registry cache only) |
/// | `npm_config_offline=true` | npm (as `--offline`: the npm cache only) |
/// | `YARN_ENABLE_OFFLINE_MODE=1` | yarn 2+ (the offline mirror only) |
/// | `PIP_NO_INDEX=1` | pip (as `--no-index`: local `--find-links` only) |
/// | `UV_OFFLINE=1` | uv (as `--offline`) |
/// | `GOPROXY=off` | go (the module cache only) |
///
/// `GOFLAGS` is left alone: `-mod=mod` would change how a module is built,
/// not only where it is fetched from.
pub const OFFLINE_ENV: &[(&str, &str)] = &[
    ("CARGO_NET_OFFLINE", "true"),
    ("GOPROXY", "off"),
    ("PIP_NO_INDEX", "1"),
    ("UV_OFFLINE", "1"),
    ("YARN_ENABLE_OFFLINE_MODE", "1"),
    ("npm_config_offline", "true"),
];

/// Variables a confined child gets on top:
///
/// - `GIT_CONFIG_GLOBAL=/dev/null`: the user's global git config
///   (`~/.gitconfig`, `~/.config/git`) lies outside the sandbox's read
///   set, and git treats an unreadable one as fatal, so git in a check
///   reads the repository's and the system's config only.
/// - `GIT_OPTIONAL_LOCKS=0`, and `diff.autoRefreshIndex=false` (see
///   [`sandbox_env`]): the workspace's `.git` is read-only for commands
///   (mounted so at the full level; at the landlock level a command that
///   changed it is failed). `git status` and `git diff` refresh the index
///   as a side effect when a file's stat data changed but not its bytes (a
///   formatter that rewrote a file as it was), a write that would fail the
///   check at the landlock level. The first switch stops `git status`'s
///   write, the second `git diff`'s (which does not heed optional locks);
///   both answer the same without it. What must write `.git` (`git add`,
///   `git commit`) is still refused.
const SANDBOX_ENV: &[(&str, &str)] = &[
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
    ("GIT_OPTIONAL_LOCKS", "0"),
];

/// What a confined child gets on top of `env` (the task's variables, or
/// the scrubbed environment's): `SANDBOX_ENV`, and
/// `diff.autoRefreshIndex=false` as one more command-line-style git config
/// entry (`GIT_CONFIG_COUNT`, `GIT_CONFIG_KEY_<n>`, `GIT_CONFIG_VALUE_<n>`),
/// after the entries `env` already declares so that a task's own git
/// settings keep working. A `GIT_CONFIG_COUNT` that is not a number is
/// left for git to refuse, with its own message.
pub fn sandbox_env<'a>(
    env: impl IntoIterator<Item = &'a (String, String)>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = SANDBOX_ENV
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let declared = env
        .into_iter()
        .filter(|(k, _)| k == "GIT_CONFIG_COUNT")
        .last()
        .map(|(_, v)| v.trim().parse::<u32>());
    if let Some(Err(_)) = declared {
        return out;
    }
    let n = declared.and_then(Result::ok).unwrap_or(0);
    out.extend([
        ("GIT_CONFIG_COUNT".to_string(), (n + 1).to_string()),
        (
            format!("GIT_CONFIG_KEY_{n}"),
            "diff.autoRefreshIndex".to_string(),
        ),
        (format!("GIT_CONFIG_VALUE_{n}"), "false".to_string()),
    ]);
    out
}

/// Starts a child the one way wf starts every child of a run (checks,
/// command steps, `shell` calls, MCP servers): confined by `sandbox` when
/// one is given (through [`crate::sandbox::Launcher::prepare`]), in `cwd`,
/// with the scrubbed environment plus `env` (plus what a confined child
/// needs, see [`sandbox_env`], and the proxy variables when it reaches
/// the network through wf's proxy, see
/// [`crate::sandbox::proxy::ProxyAccess::env`]), leading its own process group, registered
/// as live (so a signal stops it, and one that arrived before it was
/// registered kills it at once). `stdio` sets its standard streams. An
/// error means it did not start; nothing of it is left running then.
pub fn spawn_child(
    argv: &[String],
    cwd: &Path,
    env: &[(String, String)],
    sandbox: Option<&crate::sandbox::Sandboxed>,
    stdio: impl FnOnce(&mut Command),
) -> std::io::Result<(std::process::Child, LiveGroup)> {
    let (mut cmd, started) = match sandbox {
        Some(s) => {
            let prepared = s.launcher.prepare(&s.policy, s.level, argv)?;
            (prepared.command, Some(prepared.started))
        }
        None => {
            let mut cmd = Command::new(&argv[0]);
            cmd.args(&argv[1..]);
            (cmd, None)
        }
    };
    let scrubbed = scrubbed_env();
    let confined = match sandbox {
        Some(_) => sandbox_env(scrubbed.iter().chain(env)),
        None => Vec::new(),
    };
    cmd.current_dir(cwd)
        .env_clear()
        .envs(scrubbed)
        .envs(env.iter().cloned())
        .envs(confined)
        .envs(
            sandbox
                .and_then(|s| s.policy.proxy.as_ref())
                .map(|p| p.env())
                .unwrap_or_default(),
        )
        .process_group(0);
    stdio(&mut cmd);
    let mut child = cmd.spawn()?;
    // Drop our copies of any pipe ends `cmd` holds, so EOF arrives when
    // the children are gone.
    drop(cmd);
    let pid = child.id() as i32;
    let live = register_group(pid);
    if let Some(started) = started
        && let Err(e) = started.wait()
    {
        // The command did not start; the helper is ending, make sure.
        kill_group(pid);
        let _ = child.wait();
        return Err(e);
    }
    Ok((child, live))
}

/// Runs a child to completion (or its timeout). An error means it could not
/// be started.
pub fn run(spec: &Spawn<'_>) -> std::io::Result<Outcome> {
    let start = Instant::now();
    let (reader, writer) = std::io::pipe()?;
    let writer2 = writer.try_clone()?;
    let (mut child, _live) = spawn_child(&spec.argv, spec.cwd, &spec.env, spec.sandbox, |cmd| {
        cmd.stdin(Stdio::null()).stdout(writer).stderr(writer2);
    })?;
    let pid = child.id() as i32;
    let (head_max, tail_max) = (spec.head, spec.tail);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(capture(reader, head_max, tail_max));
    });

    let mut timed_out = false;
    let mut sleep = Duration::from_millis(1);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() >= spec.timeout {
            timed_out = true;
            kill_group(pid);
            break child.wait()?;
        }
        std::thread::sleep(sleep.min(spec.timeout.saturating_sub(start.elapsed())));
        sleep = (sleep * 2).min(Duration::from_millis(20));
    };
    // Whatever the child left behind in its group goes too.
    kill_group(pid);
    // Its connections through wf's proxy are closed now: wait until the
    // proxy has logged them, so they come before what the run does next.
    if let Some(proxy) = spec.sandbox.and_then(|s| s.proxy.as_ref()) {
        proxy.settle(Duration::from_secs(2));
    }
    let captured = rx
        .recv_timeout(Duration::from_secs(2))
        .unwrap_or_else(|_| Captured {
            text: "[output unavailable: a process outside the group kept the pipe open]".into(),
            truncated: true,
            total: 0,
        });
    Ok(Outcome {
        exit_code: status.code(),
        signal: status.signal(),
        timed_out,
        output: captured.text,
        truncated: captured.truncated,
        total_bytes: captured.total,
        elapsed: start.elapsed(),
    })
}

/// Process groups of the children running now, so that a signal handler
/// (Ctrl-C) can stop every one of them: each child wf starts leads its own
/// group (and, confined, the group holds the sandbox helper, whose death
/// takes the whole sandbox with it).
static LIVE: std::sync::Mutex<std::collections::BTreeSet<i32>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// A child's place in [`LIVE`], given up when the child is done.
struct Live(i32);

impl Live {
    fn register(pid: i32) -> Live {
        LIVE.lock().unwrap_or_else(|e| e.into_inner()).insert(pid);
        Live(pid)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.0);
    }
}

/// The process groups of the children running now, sorted.
pub fn live_groups() -> Vec<i32> {
    LIVE.lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .copied()
        .collect()
}

/// Kills every child running now, whole groups. Only sends signals; the
/// threads waiting on those children see them end as at a timeout.
pub fn kill_all() {
    for pid in live_groups() {
        kill_group(pid);
    }
}

/// A long-running child's process group, kept in the registry of live
/// children (so a signal stops it) until this is dropped.
pub struct LiveGroup(#[allow(dead_code)] Live);

/// Registers the process group `pid` (a child started with its own group)
/// as live until the returned guard is dropped.
pub fn register_group(pid: i32) -> LiveGroup {
    let live = Live::register(pid);
    if super::signals::interrupted() {
        kill_group(pid);
    }
    LiveGroup(live)
}

/// Kills the whole process group `pid`.
pub fn kill_group(pid: i32) {
    // SAFETY: killpg only sends a signal; a stale group id is harmless (ESRCH).
    unsafe {
        libc::killpg(pid, libc::SIGKILL);
    }
}

struct Captured {
    text: String,
    truncated: bool,
    total: u64,
}

fn capture(mut reader: impl Read, head_max: usize, tail_max: usize) -> Captured {
    let mut head = Vec::new();
    let mut tail = std::collections::VecDeque::new();
    let mut total: u64 = 0;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        total += n as u64;
        let mut chunk = &buf[..n];
        if head.len() < head_max {
            let take = (head_max - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
        }
        tail.extend(chunk.iter().copied());
        while tail.len() > tail_max {
            tail.pop_front();
        }
    }
    let kept = head.len() + tail.len();
    let truncated = (kept as u64) < total;
    let mut text = String::from_utf8_lossy(&head).into_owned();
    if truncated {
        let omitted = total - kept as u64;
        text.push_str(&format!("\n[… {omitted} bytes of output omitted …]\n"));
    }
    let tail: Vec<u8> = tail.into_iter().collect();
    text.push_str(&String::from_utf8_lossy(&tail));
    Captured {
        text,
        truncated,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_index_refresh_switch_goes_after_the_tasks_own_git_config() {
        let plain = sandbox_env(&pairs(&[("PATH", "/usr/bin")]));
        assert!(plain.contains(&("GIT_OPTIONAL_LOCKS".into(), "0".into())));
        let tail = &plain[plain.len() - 3..];
        assert_eq!(
            tail,
            pairs(&[
                ("GIT_CONFIG_COUNT", "1"),
                ("GIT_CONFIG_KEY_0", "diff.autoRefreshIndex"),
                ("GIT_CONFIG_VALUE_0", "false"),
            ])
        );
        // A task that sets two entries of its own keeps them; the last
        // GIT_CONFIG_COUNT given is the one that counts.
        let own = pairs(&[
            ("GIT_CONFIG_COUNT", "5"),
            ("GIT_CONFIG_COUNT", "2"),
            ("GIT_CONFIG_KEY_0", "core.autocrlf"),
            ("GIT_CONFIG_VALUE_0", "false"),
        ]);
        let after = sandbox_env(&own);
        assert_eq!(
            &after[after.len() - 3..],
            pairs(&[
                ("GIT_CONFIG_COUNT", "3"),
                ("GIT_CONFIG_KEY_2", "diff.autoRefreshIndex"),
                ("GIT_CONFIG_VALUE_2", "false"),
            ])
        );
        // Not a number: left for git to refuse, nothing of ours added.
        let bogus = sandbox_env(&pairs(&[("GIT_CONFIG_COUNT", "two")]));
        assert!(
            !bogus
                .iter()
                .any(|(k, _)| k.starts_with("GIT_CONFIG_") && k != "GIT_CONFIG_GLOBAL")
        );
    }

    fn sh(script: &str, timeout_ms: u64) -> Outcome {
        let dir = std::env::temp_dir();
        run(&Spawn {
            argv: vec!["sh".into(), "-c".into(), script.into()],
            cwd: &dir,
            env: vec![],
            timeout: Duration::from_millis(timeout_ms),
            head: 64,
            tail: 64,
            sandbox: None,
        })
        .unwrap()
    }

    #[test]
    fn captures_both_streams_and_exit_code() {
        let o = sh("echo out; echo err >&2; exit 3", 5_000);
        assert_eq!(o.exit_code, Some(3));
        assert_eq!(o.output, "out\nerr\n");
        assert!(!o.truncated);
    }

    #[test]
    fn caps_output_keeping_head_and_tail() {
        let o = sh(
            "i=0; while [ $i -lt 200 ]; do echo line$i; i=$((i+1)); done",
            5_000,
        );
        assert!(o.truncated);
        assert!(o.output.starts_with("line0\n"));
        assert!(o.output.ends_with("line199\n"));
        assert!(o.output.contains("bytes of output omitted"));
    }

    /// Whether process `pid` is still running (a zombie is not).
    fn running(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state follows the parenthesised command name.
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
            Err(_) => false,
        }
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        // The shell starts a grandchild in its group, writes its pid, and
        // waits far longer than the timeout. No margin: if the timeout came
        // before the pid was written, try again with a longer one.
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("grandchild.pid");
        let script = format!(
            "sleep 600 & echo $! > {0}.tmp && mv {0}.tmp {0}; sleep 600",
            pid_file.display()
        );
        let mut timeout = Duration::from_millis(200);
        let (outcome, pid) = loop {
            let o = sh(&script, timeout.as_millis() as u64);
            if let Ok(text) = std::fs::read_to_string(&pid_file) {
                break (o, text.trim().parse::<i32>().unwrap());
            }
            assert!(timeout < Duration::from_secs(60), "the shell never started");
            timeout *= 2;
        };
        assert!(outcome.timed_out);
        assert_eq!(outcome.exit_code, None);
        assert_eq!(outcome.signal, Some(libc::SIGKILL));
        assert!(!outcome.success());
        assert!(
            outcome.elapsed < Duration::from_secs(600),
            "waited for the command"
        );
        // SIGKILL is sent before `run` returns; give the kernel time to
        // tear the grandchild down, however loaded the machine is.
        let deadline = Instant::now() + Duration::from_secs(60);
        while running(pid) {
            assert!(
                Instant::now() < deadline,
                "the grandchild {pid} survived the timeout"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn only_listed_variables_without_secret_markers_are_passed() {
        let vars = [
            ("PATH", "/bin"),
            ("HOME", "/home/u"),
            ("LC_ALL", "C"),
            ("LC_API_KEY", "sk-1"),
            ("ANTHROPIC_API_KEY", "sk-2"),
            ("GITHUB_TOKEN", "ghp"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
            ("DB_PASSWORD", "x"),
            ("GIT_CREDENTIAL_HELPER", "x"),
            ("RANDOM_SETTING", "x"),
            ("path", "lowercase is another variable"),
            ("TERM", "xterm"),
            ("CARGO_HOME", "/c"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let kept = scrubbed_from(vars);
        let names: Vec<&str> = kept.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["CARGO_HOME", "HOME", "LC_ALL", "PATH", "TERM"]);
        assert_eq!(kept[3], ("PATH".to_string(), "/bin".to_string()));
        // Every passed name that looks like a secret is still dropped.
        let listed = PASSED_ENV
            .iter()
            .map(|k| (k.to_string(), "v".to_string()))
            .chain([("LC_TOKEN".to_string(), "v".to_string())]);
        assert_eq!(scrubbed_from(listed).len(), PASSED_ENV.len());
        let marked = SECRET_MARKERS
            .iter()
            .map(|m| (format!("LC_{}", m.to_ascii_lowercase()), "v".to_string()));
        assert!(scrubbed_from(marked).is_empty());
    }

    #[test]
    fn a_child_sees_only_the_scrubbed_environment() {
        // Whatever this process has that is not on the list (cargo sets
        // CARGO_MANIFEST_DIR, CARGO_PKG_NAME, … for tests) must not reach
        // a child.
        let passed: Vec<String> = scrubbed_env().into_iter().map(|(k, _)| k).collect();
        let withheld: Vec<String> = std::env::vars()
            .map(|(k, _)| k)
            .filter(|k| !passed.contains(k))
            .collect();
        assert!(
            withheld.iter().any(|k| k == "CARGO_MANIFEST_DIR"),
            "run under cargo test: {withheld:?}"
        );
        let dir = std::env::temp_dir();
        let o = run(&Spawn {
            argv: vec!["env".into()],
            cwd: &dir,
            env: vec![("WF_ADDED".into(), "1".into())],
            timeout: Duration::from_secs(60),
            head: 1 << 20,
            tail: 0,
            sandbox: None,
        })
        .unwrap();
        assert!(o.success(), "{}", o.output);
        let mut seen: Vec<&str> = o
            .output
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k))
            .collect();
        seen.sort();
        for k in &withheld {
            assert!(!seen.contains(&k.as_str()), "{k} reached the child");
        }
        let mut expected: Vec<&str> = passed.iter().map(String::as_str).collect();
        expected.push("WF_ADDED");
        expected.sort();
        assert_eq!(seen, expected);
    }

    #[test]
    fn running_children_are_registered_and_can_all_be_killed() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("pid");
        let script = format!("echo $$ > {}; exec sleep 60", marker.display());
        let cwd = dir.path().to_path_buf();
        let waiter = std::thread::spawn(move || {
            run(&Spawn {
                argv: vec!["sh".into(), "-c".into(), script],
                cwd: &cwd,
                env: vec![],
                timeout: Duration::from_secs(120),
                head: 64,
                tail: 64,
                sandbox: None,
            })
            .unwrap()
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let pid: i32 = loop {
            if let Some(pid) = std::fs::read_to_string(&marker)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                break pid;
            }
            assert!(Instant::now() < deadline, "the child never started");
            std::thread::sleep(Duration::from_millis(10));
        };
        // Registered right after the spawn returns (the child may have
        // written its pid a moment before that, on a loaded machine).
        while !live_groups().contains(&pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            live_groups().contains(&pid),
            "{pid} not in {:?}",
            live_groups()
        );
        // `kill_all` kills every registered group this way; other tests of
        // this binary have children running, so only this one is killed.
        kill_group(pid);
        let outcome = waiter.join().unwrap();
        assert_eq!(outcome.signal, Some(libc::SIGKILL));
        assert!(!outcome.timed_out);
        assert!(!live_groups().contains(&pid));
    }
}
