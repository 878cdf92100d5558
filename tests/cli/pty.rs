//! The apply checkpoint answered by a person at a real pseudo-terminal.

use super::Repo;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::os::unix::process::CommandExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An answer that is not typed: SIGINT sent to wf's process group, as a
/// terminal does on Ctrl-C.
const CTRL_C: &str = "\u{3}";

/// Runs `wf run task.yaml` on a pseudo-terminal, answers `answer` when the
/// apply question appears ([`CTRL_C`]: a SIGINT), and returns (exit code,
/// everything shown).
fn run_on_pty(repo: &Repo, answers: &[&str]) -> (i32, String) {
    wf_on_pty(repo, &["run", "task.yaml"], answers)
}

/// A new pseudo-terminal: (master, slave).
pub fn openpty() -> (std::fs::File, std::fs::File) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two fresh descriptors into the given integers.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty failed");
    // SAFETY: both descriptors were just opened and are owned here.
    unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::fs::File::from_raw_fd(slave),
        )
    }
}

/// Runs wf with `args` on a pseudo-terminal, as [`run_on_pty`] does.
fn wf_on_pty(repo: &Repo, args: &[&str], answers: &[&str]) -> (i32, String) {
    wf_on_pty_asked(repo, args, "Apply this change to your tree?", answers)
}

/// Runs wf with `args` on a pseudo-terminal, answering `answers` in turn
/// each time `question` appears; (exit code, everything shown).
pub fn wf_on_pty_asked(
    repo: &Repo,
    args: &[&str],
    question: &str,
    answers: &[&str],
) -> (i32, String) {
    wf_on_pty_with(repo, args, &[], question, answers)
}

/// [`wf_on_pty_asked`] with `env` added to wf's environment.
pub fn wf_on_pty_with(
    repo: &Repo,
    args: &[&str],
    env: &[(&str, &str)],
    question: &str,
    answers: &[&str],
) -> (i32, String) {
    let (master, slave) = openpty();
    let mut child = std::process::Command::new(super::wf_bin())
        .args(args)
        .current_dir(repo.path())
        .envs(repo.xdg())
        .envs(env.iter().copied())
        .env("TERM", "dumb")
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave)
        .process_group(0)
        .spawn()
        .unwrap();
    let shown = Arc::new(Mutex::new(String::new()));
    let mut reader = master.try_clone().unwrap();
    let sink = Arc::clone(&shown);
    let (drained, all_read) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        // Dropped at the end of the output (EOF or EIO once every copy of
        // the terminal's other end is closed).
        let _drained = drained;
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut writer = master;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut asked = 0;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            // Everything wf wrote is read once the reader reaches the end.
            let ended = all_read.recv_timeout(Duration::from_secs(30));
            assert!(
                matches!(ended, Err(std::sync::mpsc::RecvTimeoutError::Disconnected)),
                "the output never ended; shown:\n{}",
                shown.lock().unwrap()
            );
            return (status.code().unwrap_or(-1), shown.lock().unwrap().clone());
        }
        let questions = shown.lock().unwrap().matches(question).count();
        if questions > asked && asked < answers.len() {
            if answers[asked] == CTRL_C {
                // SAFETY: only sends a signal to the group wf leads.
                unsafe {
                    libc::killpg(child.id() as i32, libc::SIGINT);
                }
            } else {
                writer.write_all(answers[asked].as_bytes()).unwrap();
            }
            asked += 1;
        }
        assert!(
            Instant::now() < deadline,
            "wf did not finish; shown:\n{}",
            shown.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn repo() -> Repo {
    let repo = Repo::new();
    repo.file("config/app.ini", "port = 8080\n")
        .file(
            "task.yaml",
            "wf: 1
name: pty
model: { provider: script, script: turns.yaml }
tools: [write_file]
permissions: { write: [\"config/**\"] }
prompt: Write the TOML file.
",
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

#[test]
fn answering_yes_applies_the_change() {
    let repo = repo();
    let (code, shown) = run_on_pty(&repo, &["d\n", "y\n"]);
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains("config/app.toml | +1 -0"),
        "the stat is shown: {shown}"
    );
    assert!(
        shown.contains("+port = 8080"),
        "the patch is shown: {shown}"
    );
    assert_eq!(repo.read("config/app.toml"), "port = 8080\n");
    let s = repo.last_summary();
    assert_eq!(s["approvals"][0]["decision"], "approved");
    assert_eq!(s["approvals"][0]["via"], "terminal");
    assert_eq!(s["approvals"][0]["by"], "tester@example.com");
}

#[test]
fn answering_no_rejects_and_keeps_the_tree() {
    let repo = repo();
    let (code, shown) = run_on_pty(&repo, &["n\n"]);
    assert_eq!(code, 1, "{shown}");
    assert!(!repo.exists("config/app.toml"));
    let s = repo.last_summary();
    assert_eq!(s["status"], "rejected");
    assert_eq!(s["approvals"][0]["decision"], "rejected");
    assert!(repo.runs().pop().unwrap().join("diff.patch").exists());
}

#[test]
fn ctrl_c_at_the_apply_prompt_pauses_there_and_approve_works() {
    let repo = repo();
    let (code, shown) = run_on_pty(&repo, &[CTRL_C]);
    assert_eq!(code, 3, "paused: {shown}");
    assert!(
        shown.contains("wf approve"),
        "how to go on is shown: {shown}"
    );
    assert!(!repo.exists("config/app.toml"));
    let s = repo.last_summary();
    assert_eq!(s["status"], "paused");
    assert_eq!(s["approvals"][0]["checkpoint"], "apply");
    assert_eq!(s["approvals"][0]["decision"], "paused");
    let trace = repo.last_trace();
    assert!(super::events(&trace, "run_interrupted").is_empty());
    repo.wf(&["approve", "last"]).code(0);
    repo.wf(&["resume", "last"]).code(0);
    assert_eq!(repo.read("config/app.toml"), "port = 8080\n");
    assert_eq!(repo.last_summary()["status"], "succeeded");
}

/// On a terminal the scrollback tells what happened: each tool call, why a
/// check failed, and the model's final answer.
#[test]
fn the_terminal_shows_tool_calls_check_output_and_the_answer() {
    let repo = Repo::new();
    repo.file("config/app.ini", "port = 8080\n")
        .file(
            "task.yaml",
            "wf: 1
name: pty
model: { provider: script, script: turns.yaml }
tools: [read_file, write_file]
permissions: { write: [\"config/**\"] }
prompt: Write the TOML file.
checks:
  - { name: keeps-every-key, run: \"grep -q pool_size config/app.toml || { echo 'missing key: pool_size'; exit 1; }\" }
limits: { max_repairs: 1 }
",
        )
        .file(
            "turns.yaml",
            "turns:
  - tool_calls:
      - { name: read_file, input: { path: config/app.ini } }
      - { name: write_file, input: { path: config/app.toml, content: \"port = 8080\\n\" } }
  - text: Done.
  - tool_calls:
      - { name: write_file, input: { path: config/app.toml, content: \"port = 8080\\npool_size = 4\\n\" } }
  - text: \"Wrote config/app.toml with port and pool_size.\"
",
        )
        .commit();
    let (code, shown) = wf_on_pty(&repo, &["run", "task.yaml", "--yes"], &[]);
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains("read_file config/app.ini → 12 bytes"),
        "{shown}"
    );
    assert!(shown.contains("write_file config/app.toml →"), "{shown}");
    assert!(
        shown.contains("check keeps-every-key: FAILED (exit 1)"),
        "{shown}"
    );
    assert!(shown.contains("missing key: pool_size"), "{shown}");
    assert!(shown.contains("--check keeps-every-key"), "{shown}");
    assert!(shown.contains("the model's answer:"), "{shown}");
    assert!(
        shown.contains("Wrote config/app.toml with port and pool_size."),
        "{shown}"
    );
    let (code, quiet) = wf_on_pty(&repo, &["run", "task.yaml", "--yes", "-q"], &[]);
    assert_eq!(code, 0, "{quiet}");
    assert!(!quiet.contains("the model's answer:"), "{quiet}");
    assert!(!quiet.contains("read_file config/app.ini"), "{quiet}");
    assert!(quiet.contains("missing key: pool_size"), "{quiet}");
}
