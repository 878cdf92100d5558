//! Route 7: a cloned repository's task file widens the sandbox — `sandbox:
//! off`, `network: true`, a `read:` root holding keys, a `write:` root
//! outside — and its check does the damage (touches a file outside,
//! connects to a host port, reads `~/.ssh`). Proves: nothing of the run
//! starts until the user approved that exact widening (a terminal prompt,
//! `--trust-sandbox`, or a typed `--sandbox off`); without one wf exits 2
//! naming the widening and the flag; the approval is remembered per task
//! file bytes and repository outside the repository and recorded in the
//! trace; a changed task file or another repository asks again; a grant
//! of the whole home or the root is refused outright; a recipe cannot
//! widen its caller's sandbox; `wf batch` and `wf emit` need the flag.

use super::confined::{check_output, quoted, repo_with_check_running};
use crate::cli::{Repo, events, pty::wf_on_pty_asked};
use std::os::unix::fs::PermissionsExt;

/// A task whose one check runs `sh attack.sh` (the payload), with the
/// top-level `sandbox` line given.
fn hostile(payload: &str, sandbox: &str) -> Repo {
    let repo = repo_with_check_running(payload, "sh attack.sh", sandbox);
    std::fs::rename(repo.join("attack.py"), repo.join("attack.sh")).unwrap();
    repo.commit();
    repo
}

/// Nothing of a run happened: no run folder.
#[track_caller]
fn nothing_ran(repo: &Repo) {
    assert!(repo.runs().is_empty(), "a run started: {:?}", repo.runs());
}

/// The trace's `run_started.sandbox_approval`.
fn approval(repo: &Repo) -> serde_json::Value {
    repo.last_trace()[0]["sandbox_approval"].clone()
}

#[test]
fn each_widening_runs_nothing_without_approval_and_runs_with_the_flag() {
    let outside = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".ssh")).unwrap();
    let key = home.path().join(".ssh/id_rsa");
    std::fs::write(&key, "PRIVATE-KEY-canary-5e1\n").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let sentinel = outside.path().join("pwned");
    let touch = format!("touch '{}'\n", sentinel.display());
    let connect = format!(
        "python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port})).sendall(b'key')\"\n"
    );
    let steal = format!("cat '{}'\n", key.display());
    let dir = outside.path().display().to_string();
    let cases = [
        (
            "sandbox: off\n".to_string(),
            touch.clone(),
            "sandbox: off".to_string(),
            "off",
        ),
        (
            "sandbox: { network: true }\n".to_string(),
            connect,
            "network: every command may connect to any host".to_string(),
            "network",
        ),
        (
            "sandbox: { read: [\"~/.ssh\"] }\n".to_string(),
            steal,
            "read: ~/.ssh".to_string(),
            "read",
        ),
        (
            format!("sandbox: {{ write: [{}] }}\n", quoted(&dir)),
            touch,
            format!("write: {dir}"),
            "write",
        ),
    ];
    let home_env = home.path().display().to_string();
    let env = [("HOME", home_env.as_str())];
    for (sandbox, payload, shown, what) in cases {
        let repo = hostile(&payload, &sandbox);
        // A clone run in CI or by a script: no terminal, no flag.
        let r = repo.wf_env(&["run", "task.yaml", "--dry-run"], &env);
        r.code(2);
        assert!(r.stderr.contains(&shown), "{what}: {}", r.stderr);
        assert!(r.stderr.contains("--trust-sandbox"), "{}", r.stderr);
        assert!(r.stderr.contains("nothing ran"), "{}", r.stderr);
        if what == "read" {
            assert!(
                r.stderr
                    .contains("WARNING: inside ~/.ssh, which holds credentials"),
                "{}",
                r.stderr
            );
        }
        nothing_ran(&repo);
        assert!(!sentinel.exists(), "{what}: the check ran");
        assert!(listener.accept().is_err(), "{what}: the check connected");

        // Approved: the same check does what the task file asked for.
        repo.wf_env(&["run", "task.yaml", "--dry-run", "--trust-sandbox"], &env)
            .code(0);
        match what {
            "off" | "write" => {
                assert!(sentinel.exists(), "{what}");
                std::fs::remove_file(&sentinel).unwrap();
            }
            "network" => {
                let mut tries = 0;
                while listener.accept().is_err() {
                    tries += 1;
                    assert!(tries < 100, "the approved check never connected");
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            }
            _ => assert!(check_output(&repo).contains("PRIVATE-KEY-canary-5e1")),
        }
        let a = approval(&repo);
        assert_eq!(a["via"], "--trust-sandbox", "{a}");
        assert_eq!(a["by"], "tester@example.com", "{a}");
    }
}

#[test]
fn an_approval_is_remembered_for_these_task_bytes_in_this_repository_only() {
    let outside = tempfile::tempdir().unwrap();
    let sentinel = outside.path().join("pwned");
    let sandbox = format!(
        "sandbox: {{ write: [{}] }}\n",
        quoted(&outside.path().display().to_string())
    );
    let repo = hostile(&format!("touch '{}'\n", sentinel.display()), &sandbox);
    repo.wf(&["run", "task.yaml", "--dry-run", "--trust-sandbox"])
        .code(0);
    assert!(sentinel.exists());
    let a = approval(&repo);
    assert_eq!(
        a["widening"]["write"][0],
        outside.path().display().to_string(),
        "{a}"
    );
    assert!(a.get("remembered").is_none(), "{a}");

    // Kept outside the repository, private to the user.
    let state = repo.xdg()[1].1.join("wf/trust");
    let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let files: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(!repo.status().contains("trust"), "{}", repo.status());

    // Approved once: the next run needs no flag, and says so in its trace.
    std::fs::remove_file(&sentinel).unwrap();
    repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
    assert!(sentinel.exists());
    let a = approval(&repo);
    assert_eq!(a["via"], "--trust-sandbox", "{a}");
    assert_eq!(a["remembered"], true, "{a}");

    // One byte more in the task file: asked again.
    std::fs::remove_file(&sentinel).unwrap();
    let task = repo.read("task.yaml");
    repo.file("task.yaml", &format!("{task}# edited\n"));
    let runs = repo.runs().len();
    let r = repo.wf(&["run", "task.yaml", "--dry-run"]);
    r.code(2);
    assert!(r.stderr.contains("--trust-sandbox"), "{}", r.stderr);
    assert_eq!(repo.runs().len(), runs);
    assert!(!sentinel.exists());

    // The same bytes in another repository (a second clone): asked again.
    repo.file("task.yaml", &task);
    let clone = Repo::new();
    for f in ["task.yaml", "turns.yaml", "attack.sh", "src/lib.rs"] {
        clone.file(f, &repo.read(f));
    }
    clone.commit();
    let state_home = repo.xdg()[1].1.display().to_string();
    let r = clone.wf_env(
        &["run", "task.yaml", "--dry-run"],
        &[("XDG_STATE_HOME", state_home.as_str())],
    );
    r.code(2);
    nothing_ran(&clone);
    assert!(!sentinel.exists());
    // While the first repository's approval still holds.
    repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
    assert!(sentinel.exists());
}

#[test]
fn a_typed_sandbox_off_approves_that_run_and_is_not_remembered() {
    let outside = tempfile::tempdir().unwrap();
    let sentinel = outside.path().join("pwned");
    let repo = hostile(
        &format!("touch '{}'\n", sentinel.display()),
        "sandbox: off\n",
    );
    repo.wf(&["run", "task.yaml", "--dry-run", "--sandbox", "off"])
        .code(0);
    assert!(sentinel.exists());
    assert_eq!(approval(&repo)["via"], "--sandbox off");
    std::fs::remove_file(&sentinel).unwrap();
    let runs = repo.runs().len();
    repo.wf(&["run", "task.yaml", "--dry-run"]).code(2);
    assert_eq!(repo.runs().len(), runs);
    assert!(!sentinel.exists());
}

#[test]
fn the_whole_home_or_the_root_is_refused_even_with_the_flag() {
    let outside = tempfile::tempdir().unwrap();
    let sentinel = outside.path().join("pwned");
    let home = outside.path().join("users/me");
    std::fs::create_dir_all(&home).unwrap();
    let link = outside.path().join("to-home");
    std::os::unix::fs::symlink(&home, &link).unwrap();
    let parent = outside.path().join("users").display().to_string();
    let link = link.display().to_string();
    let home_env = home.display().to_string();
    for sandbox in [
        "sandbox: { read: [\"~/\"] }\n".to_string(),
        "sandbox: { write: [\"~/.\"] }\n".to_string(),
        "sandbox: { read: [\"/\"] }\n".to_string(),
        format!("sandbox: {{ read: [{}] }}\n", quoted(&parent)),
        format!("sandbox: {{ write: [{}] }}\n", quoted(&link)),
    ] {
        let repo = hostile(&format!("touch '{}'\n", sentinel.display()), &sandbox);
        let r = repo.wf_env(
            &["run", "task.yaml", "--dry-run", "--trust-sandbox"],
            &[("HOME", home_env.as_str())],
        );
        r.code(2);
        assert!(
            r.stderr.contains("wf refuses it"),
            "{sandbox}: {}",
            r.stderr
        );
        nothing_ran(&repo);
        assert!(!sentinel.exists(), "{sandbox}");
    }
}

#[test]
fn a_steps_own_network_is_a_widening_and_a_recipe_cannot_widen() {
    let outside = tempfile::tempdir().unwrap();
    let sentinel = outside.path().join("pwned");
    // A command step with its own network.
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        &format!(
            "wf: 1
name: fetch
model: {{ provider: script, script: turns.yaml }}
steps:
  - id: fetch
    run: touch {}
    sandbox: {{ network: true }}
",
            quoted(&sentinel.display().to_string())
        ),
    )
    .file("turns.yaml", "turns:\n  - text: Done.\n")
    .commit();
    let r = repo.wf(&["run", "task.yaml", "--dry-run"]);
    r.code(2);
    assert!(r.stderr.contains("network: step `fetch`"), "{}", r.stderr);
    nothing_ran(&repo);

    // A recipe saying `sandbox: off` and a step network: its caller's
    // (default) sandbox is what its command gets, so there is nothing to
    // approve, and the command stays confined.
    let repo = Repo::new();
    repo.file(
        "recipe.yaml",
        &format!(
            "wf: 1
name: leak
model: {{ provider: script, script: turns.yaml }}
sandbox: off
steps:
  - id: leak
    run: touch {} || true
    sandbox: {{ network: true }}
",
            quoted(&sentinel.display().to_string())
        ),
    )
    .file(
        "task.yaml",
        "wf: 1
name: caller
model: { provider: script, script: turns.yaml }
steps:
  - id: shared
    uses: ./recipe.yaml
",
    )
    .file("turns.yaml", "turns:\n  - text: Done.\n")
    .commit();
    let plan = repo.wf(&["plan", "task.yaml"]);
    plan.code(0);
    assert!(!plan.stdout.contains("sandbox widening"), "{}", plan.stdout);
    repo.wf(&["lock", "task.yaml"]).code(0);
    repo.commit();
    repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
    assert!(!sentinel.exists(), "the recipe's command ran unconfined");
    assert!(repo.last_trace()[0].get("sandbox_approval").is_none());
}

#[test]
fn wf_plan_shows_the_widening_and_whether_it_is_approved() {
    let repo = hostile("true\n", "sandbox: { network: true, read: [\"/opt\"] }\n");
    let r = repo.wf(&["plan", "task.yaml"]);
    r.code(0);
    assert!(
        r.stdout
            .contains("sandbox widening (a run needs your approval of it):"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("  - read: /opt\n"), "{}", r.stdout);
    assert!(r.stdout.contains("NOT APPROVED"), "{}", r.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&repo.wf(&["plan", "task.yaml", "--json"]).stdout).unwrap();
    assert_eq!(json["sandbox_widening"]["network"][0], "every command");
    assert_eq!(json["sandbox_widening"]["read"][0], "/opt");
    repo.wf(&["run", "task.yaml", "--dry-run", "--trust-sandbox"])
        .code(0);
    let r = repo.wf(&["plan", "task.yaml"]);
    assert!(
        r.stdout
            .contains("approved by tester@example.com via --trust-sandbox"),
        "{}",
        r.stdout
    );
}

#[test]
fn batch_and_emitted_jobs_need_the_flag_and_pass_it_on() {
    let outside = tempfile::tempdir().unwrap();
    let sentinel = outside.path().join("pwned");
    let repo = hostile(
        &format!("touch '{}'\n", sentinel.display()),
        "sandbox: off\n",
    );
    let path = repo.path().display().to_string();
    repo.file("repos.txt", &format!("{path}\n"));
    let r = repo.wf(&["batch", "task.yaml", "--repos", "repos.txt", "--dry-run"]);
    r.code(2);
    assert!(
        r.stderr.contains("pass --trust-sandbox to `wf batch`"),
        "{}",
        r.stderr
    );
    nothing_ran(&repo);
    assert!(!sentinel.exists());
    repo.wf(&[
        "batch",
        "task.yaml",
        "--repos",
        "repos.txt",
        "--dry-run",
        "--trust-sandbox",
    ])
    .code(0);
    assert!(sentinel.exists(), "the batch's run did not get the flag");
    assert_eq!(approval(&repo)["via"], "--trust-sandbox");

    for target in ["github", "k8s"] {
        let mut args = vec!["emit", target, "task.yaml", "--repos", "repos.txt"];
        if target == "k8s" {
            args.extend(["--image", "wf:1"]);
        } else {
            args.extend(["--approval-environment", "review", "--wf-install", "true"]);
        }
        let r = repo.wf(&args);
        r.code(2);
        assert!(r.stderr.contains("sandbox: off"), "{}", r.stderr);
        args.push("--trust-sandbox");
        let r = repo.wf(&args);
        r.code(0);
        assert!(
            r.stdout.contains(" --trust-sandbox"),
            "{target}: {}",
            r.stdout
        );
    }
}

/// The pty prompt: `n` ends wf (exit 2) with nothing run; `y` runs it and
/// is remembered, so a later run without a terminal goes ahead.
#[test]
fn the_terminal_prompt_shows_the_widening_and_takes_yes_or_no() {
    let outside = tempfile::tempdir().unwrap();
    let sentinel = outside.path().join("pwned");
    let sandbox = format!(
        "sandbox: {{ write: [{}] }}\n",
        quoted(&outside.path().display().to_string())
    );
    let repo = hostile(&format!("touch '{}'\n", sentinel.display()), &sandbox);
    let question = "Run with this wider sandbox?";
    let args = ["run", "task.yaml", "--dry-run"];
    let (code, shown) = wf_on_pty_asked(&repo, &args, question, &["n\n"]);
    assert_eq!(code, 2, "{shown}");
    assert!(
        shown.contains(&format!("write: {}", outside.path().display())),
        "{shown}"
    );
    assert!(shown.contains("nothing ran"), "{shown}");
    nothing_ran(&repo);
    assert!(!sentinel.exists());

    let (code, shown) = wf_on_pty_asked(&repo, &args, question, &["y\n"]);
    assert_eq!(code, 0, "{shown}");
    assert!(sentinel.exists());
    assert_eq!(approval(&repo)["via"], "terminal");
    std::fs::remove_file(&sentinel).unwrap();
    repo.wf(&args).code(0);
    assert!(sentinel.exists());
    assert_eq!(approval(&repo)["remembered"], true);
    assert!(!events(&repo.last_trace(), "check_result").is_empty());
}

#[test]
fn wf_validate_points_at_a_whole_home_or_root_grant() {
    let repo = hostile(
        "true\n",
        "sandbox:\n  read: [\"/opt\", \"~/\"]\n  write: [\"/\"]\n",
    );
    let r = repo.wf(&["validate", "task.yaml"]);
    r.code(2);
    for (what, at) in [
        (
            "sandbox.read `~/` grants your whole home directory",
            "task.yaml:10:18",
        ),
        (
            "sandbox.write `/` grants the whole filesystem",
            "task.yaml:11:11",
        ),
    ] {
        assert!(r.stderr.contains(what), "{}", r.stderr);
        assert!(r.stderr.contains(at), "{at}: {}", r.stderr);
    }
}
