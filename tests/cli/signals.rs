//! Ctrl-C (SIGINT to wf's process group, as a terminal sends it) during a
//! run: every child stopped, the run recorded as interrupted, its workspace
//! removed, and `wf resume` finishes it; a second Ctrl-C exits at once.

use super::{Repo, events};
use crate::processes_with as with_marker;
use crate::providers::server::{Reply, TestServer};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A number no other process has on its command line.
fn unique_marker() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("9{}{nanos:09}", std::process::id())
}

fn wait_for(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + deadline;
    while !done() {
        assert!(Instant::now() < until, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn interrupt(child: &Child) {
    // SAFETY: only sends a signal to the process group wf leads.
    unsafe {
        libc::killpg(child.id() as i32, libc::SIGINT);
    }
}

/// Waits for `child` to end, at most `deadline`; its exit code.
fn exit_within(child: &mut Child, deadline: Duration) -> i32 {
    let until = Instant::now() + deadline;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() >= until {
            let _ = child.kill();
            panic!("wf did not exit within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The runs' temp dirs in `tmp` (`wf-ws-….tmp`; the workspace slot itself
/// stays for the next run, and so does its lock file).
fn run_tmp_dirs(tmp: &Path) -> Vec<PathBuf> {
    // In wf's private directory of the temp dir, `wf-<uid>`.
    let private = std::fs::read_dir(tmp)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("wf-") && p.is_dir())
        })
        .ok()
        .flatten();
    let Some(tmp) = private else {
        return Vec::new();
    };
    std::fs::read_dir(tmp)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    name.starts_with("wf-ws-") && name.ends_with(".tmp") && p.is_dir()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn repo(check: &str, outside: &Path) -> Repo {
    let repo = Repo::new();
    repo.file("config/app.ini", "port = 8080\n")
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: signals
model: {{ provider: script, script: turns.yaml }}
tools: [write_file]
permissions: {{ write: [\"config/**\"] }}
prompt: Write the TOML file.
checks:
  - {{ name: slow, run: \"{check}\" }}
sandbox: {{ write: [\"{}\"] }}
",
                outside.display()
            ),
        )
        .file(
            "turns.yaml",
            "turns:
  - tool_calls:
      - { name: write_file, input: { path: config/app.toml, content: \"port = 8080\\n\" } }
  - text: Done.
",
        )
        .commit();
    repo
}

fn spawn_wf(repo: &Repo, args: &[&str], tmp: &Path, env: &[(&str, &str)]) -> Child {
    Command::new(super::wf_bin())
        .args(args)
        .current_dir(repo.path())
        .envs(repo.xdg())
        .env("TMPDIR", tmp)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap()
}

#[test]
fn ctrl_c_during_a_check_stops_everything_and_resume_finishes_the_run() {
    let outside = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let done = outside.path().join("ran-once");
    let marker = unique_marker();
    // First time: mark and hang (a grandchild too). When resumed: pass.
    let repo = repo(
        &format!(
            "test -f {0} && exit 0; touch {0}; sleep {marker} & sleep {marker}",
            done.display()
        ),
        outside.path(),
    );
    let mut child = spawn_wf(
        &repo,
        &["run", "task.yaml", "--yes", "--trust-sandbox"],
        tmp.path(),
        &[],
    );
    // The shell's command line carries the marker before it has run
    // anything: wait for its mark too.
    wait_for("the check to start", Duration::from_secs(60), || {
        done.exists() && with_marker(&marker).len() >= 2
    });
    assert!(
        !run_tmp_dirs(tmp.path()).is_empty(),
        "the run's temp dir while it runs"
    );
    interrupt(&child);
    let code = exit_within(&mut child, Duration::from_secs(20));
    assert_eq!(code, 130, "exit code of an interrupted run");
    // No process of the check survives (SIGKILL is sent before wf exits;
    // the kernel may take a moment to tear them down).
    wait_for(
        "the check's processes to end",
        Duration::from_secs(20),
        || with_marker(&marker).is_empty(),
    );
    wait_for("the run's temp dir to go", Duration::from_secs(20), || {
        run_tmp_dirs(tmp.path()).is_empty()
    });
    let summary = repo.last_summary();
    assert_eq!(summary["status"], "interrupted");
    let trace = repo.last_trace();
    assert_eq!(events(&trace, "run_interrupted").len(), 1);
    assert_eq!(events(&trace, "run_interrupted")[0]["signal"], "SIGINT");
    assert!(
        events(&trace, "check_result").is_empty(),
        "the killed check is not recorded as failed"
    );
    assert!(!repo.exists("config/app.toml"));
    repo.wf(&["show", "last", "--verify"]).code(0);
    // The listing says so too.
    let runs = repo.wf(&["runs"]);
    assert!(runs.stdout.contains("interrupted"), "{}", runs.stdout);

    let r = repo.wf_env(
        &["resume", "last", "--yes"],
        &[("TMPDIR", tmp.path().to_str().unwrap())],
    );
    r.code(0);
    assert_eq!(repo.read("config/app.toml"), "port = 8080\n");
    let trace = repo.last_trace();
    assert_eq!(repo.last_summary()["status"], "succeeded");
    let checks = events(&trace, "check_result");
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0]["passed"], true);
    repo.wf(&["show", "last", "--verify"]).code(0);
    // A finished run is not resumed again.
    repo.wf(&["resume", "last"]).code(2);
}

#[test]
fn sighup_again_and_again_stops_the_run_once() {
    // What a run of a killed `wf batch` gets: the kernel's parent-death
    // SIGHUP, once per batch thread that dies holding it.
    let outside = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let marker = unique_marker();
    let repo = repo(&format!("sleep {marker}"), outside.path());
    let mut child = spawn_wf(
        &repo,
        &["run", "task.yaml", "--yes", "--trust-sandbox"],
        tmp.path(),
        &[],
    );
    wait_for("the check to start", Duration::from_secs(60), || {
        !with_marker(&marker).is_empty()
    });
    for _ in 0..3 {
        // SAFETY: only sends a signal to the wf process the test started.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGHUP);
        }
        // Long enough for wf to take each one (not merged with the next).
        std::thread::sleep(Duration::from_millis(5));
    }
    let code = exit_within(&mut child, Duration::from_secs(20));
    assert_eq!(code, 130);
    wait_for(
        "the check's processes to end",
        Duration::from_secs(20),
        || with_marker(&marker).is_empty(),
    );
    let trace = repo.last_trace();
    assert_eq!(events(&trace, "run_interrupted").len(), 1);
    assert_eq!(events(&trace, "run_interrupted")[0]["signal"], "SIGHUP");
    let end = trace.last().unwrap();
    assert_eq!(end["kind"], "run_finished");
    assert_eq!(end["status"], "interrupted");
}

fn sse_done() -> Reply {
    let events = [
        serde_json::json!({"type": "message_start", "message": {"id": "m1", "type": "message", "role": "assistant", "content": [],
            "model": "claude-haiku-4-5", "stop_reason": null, "usage": {"input_tokens": 50, "output_tokens": 1}}}),
        serde_json::json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Done."}}),
        serde_json::json!({"type": "content_block_stop", "index": 0}),
        serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}),
        serde_json::json!({"type": "message_stop"}),
    ];
    Reply::sse(
        events
            .iter()
            .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
            .collect::<String>(),
    )
}

fn model_repo() -> Repo {
    let repo = Repo::new();
    repo.file("a.txt", "a\n")
        .file(
            "task.yaml",
            "wf: 1
name: in-flight
model: { provider: anthropic, name: claude-haiku-4-5 }
tools: [read_file]
prompt: Say done.
",
        )
        .commit();
    repo
}

#[test]
fn a_model_request_in_flight_ends_the_run_when_it_returns_and_a_second_ctrl_c_exits_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    // The first Ctrl-C is seen when the (slow) answer arrives; the answer
    // is not recorded.
    let server = TestServer::start(vec![sse_done().delayed(Duration::from_secs(2))]);
    let repo = model_repo();
    let env = [
        ("ANTHROPIC_BASE_URL", server.url.as_str()),
        ("ANTHROPIC_API_KEY", "sk-test-signals"),
    ];
    let mut child = spawn_wf(
        &repo,
        &["run", "task.yaml", "--yes", "--trust-sandbox"],
        tmp.path(),
        &env,
    );
    wait_for("the model request", Duration::from_secs(60), || {
        !server.requests().is_empty()
    });
    interrupt(&child);
    assert_eq!(exit_within(&mut child, Duration::from_secs(30)), 130);
    assert_eq!(repo.last_summary()["status"], "interrupted");
    let trace = repo.last_trace();
    assert!(events(&trace, "model_response").is_empty());
    assert_eq!(events(&trace, "run_interrupted").len(), 1);

    // A second Ctrl-C does not wait for the answer.
    let server = TestServer::start(vec![sse_done().delayed(Duration::from_secs(120))]);
    let env = [
        ("ANTHROPIC_BASE_URL", server.url.as_str()),
        ("ANTHROPIC_API_KEY", "sk-test-signals"),
    ];
    let mut child = spawn_wf(
        &repo,
        &["run", "task.yaml", "--yes", "--trust-sandbox"],
        tmp.path(),
        &env,
    );
    wait_for("the model request", Duration::from_secs(60), || {
        !server.requests().is_empty()
    });
    interrupt(&child);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first Ctrl-C waits for the request in flight"
    );
    interrupt(&child);
    assert_eq!(exit_within(&mut child, Duration::from_secs(10)), 130);
}
