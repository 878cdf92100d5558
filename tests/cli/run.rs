//! `wf run` end to end with scripted turns: the workspace, the tool layer's
//! permissions, checks and repairs, checkpoints, limits, the trace.

use super::{events, git};
use crate::engine::{WRITE_TOML, repo, task};
use serde_json::Value;

fn kinds(trace: &[Value]) -> Vec<String> {
    trace
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_successful_run_is_applied_with_yes() {
    let repo = repo();
    task(
        &repo,
        "checks:\n  - { name: toml, run: \"grep -q 'port = 8080' config/app.toml\" }\n",
        WRITE_TOML,
    );
    let r = repo.wf(&["run", "task.yaml", "--yes"]);
    r.code(0);
    assert_eq!(repo.read("config/app.toml"), "[server]\nport = 8080\n");
    let trace = repo.last_trace();
    let k = kinds(&trace);
    assert_eq!(k.first().map(String::as_str), Some("run_started"));
    assert_eq!(trace[0]["trace_version"], 2);
    assert_eq!(k.last().map(String::as_str), Some("run_finished"));
    for kind in [
        "workspace_ready",
        "context_resolved",
        "model_request",
        "model_response",
        "tool_call",
        "tool_result",
        "check_result",
        "checkpoint",
        "diff_ready",
        "applied",
    ] {
        assert!(k.contains(&kind.to_string()), "no {kind} in {k:?}");
    }
    for (i, e) in trace.iter().enumerate() {
        assert_eq!(e["seq"], i as u64, "sequence numbers");
    }
    assert_eq!(
        events(&trace, "model_request")[0]["request_hash"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    let ctx = events(&trace, "context_resolved")[0];
    assert_eq!(ctx["files"][0]["path"], "config/app.ini");
    let s = repo.last_summary();
    assert_eq!(s["status"], "succeeded");
    assert_eq!(s["applied"], true);
    assert_eq!(s["files_changed"], serde_json::json!(["config/app.toml"]));
    assert_eq!(s["checks"][0]["name"], "toml");
    assert_eq!(s["checks"][0]["passed"], true);
    assert_eq!(s["approvals"][0]["decision"], "approved");
    assert_eq!(s["approvals"][0]["by"], "tester@example.com");
    assert_eq!(s["approvals"][0]["via"], "--yes");
    let run = repo.runs().pop().unwrap();
    let patch = std::fs::read_to_string(run.join("diff.patch")).unwrap();
    assert!(patch.contains("+++ b/config/app.toml"), "{patch}");
    // .wf keeps itself out of version control.
    assert!(!repo.status().contains(".wf"), "{}", repo.status());
    // `wf runs` and `wf show` read the trace.
    let runs = repo.wf(&["runs"]);
    assert!(
        runs.stdout.contains("succeeded") && runs.stdout.contains("migrate"),
        "{}",
        runs.stdout
    );
    // A header row names the columns, lined up with the row under it.
    let mut rows = runs.stdout.lines();
    let (header, row) = (rows.next().unwrap(), rows.next().unwrap());
    assert!(header.starts_with("RUN "), "{}", runs.stdout);
    assert_eq!(
        header.find("STATUS"),
        row.find("succeeded"),
        "{}",
        runs.stdout
    );
    assert_eq!(header.find("TASK"), row.find("migrate"), "{}", runs.stdout);
    let show = repo.wf(&["show", "last"]);
    show.code(0);
    assert!(
        show.stdout.contains("read config/app.ini"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout.contains("tool       write_file"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout.contains("check      toml passed"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout
            .contains("checkpoint apply APPROVED by tester@example.com via --yes"),
        "{}",
        show.stdout
    );
}

#[test]
fn shell_runs_only_allowed_lines_without_a_shell() {
    let repo = repo();
    let marker = repo.join("pwned");
    task(
        &repo,
        "checks: []\n",
        &format!(
            "turns:
  - tool_calls:
      - {{ name: shell, input: {{ command: \"ls config\" }} }}
      - {{ name: shell, input: {{ command: \"rm -rf config\" }} }}
      - {{ name: shell, input: {{ command: \"ls config; touch {m}\" }} }}
      - {{ name: shell, input: {{ command: \"ls config && touch {m}\" }} }}
      - {{ name: shell, input: {{ command: \"ls $(touch {m})\" }} }}
      - {{ name: shell, input: {{ command: \"ls `touch {m}`\" }} }}
      - {{ name: shell, input: {{ command: \"ls config | sh\" }} }}
      - {{ name: shell, input: {{ command: \"ls config > {m}\" }} }}
      - {{ name: shell, input: {{ command: \"ls /etc\" }} }}
      - {{ name: shell, input: {{ command: \"env\" }} }}
  - text: Done.
",
            m = marker.display()
        ),
    );
    let yaml = repo.read("task.yaml").replace(
        "tools: [read_file, list_files, search, edit_file, write_file]",
        "tools: [read_file, shell]",
    ) + "";
    repo.file(
        "task.yaml",
        &yaml.replace(
            "  protect: [\"migrations/**\"]",
            "  protect: [\"migrations/**\"]\n  shell: { allow: [\"ls *\", \"env\"] }",
        ),
    );
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[
            ("ANTHROPIC_API_KEY", "sk-ant-secret-123"),
            ("GITHUB_TOKEN", "ghp_secret"),
        ],
    );
    r.code(0);
    assert!(!marker.exists(), "an injected command ran");
    assert!(
        repo.exists("config/app.ini"),
        "a command outside the allowlist ran"
    );
    let trace = repo.last_trace();
    let results = events(&trace, "tool_result");
    assert_eq!(results[0]["ok"], true);
    assert_eq!(results[0]["exit_code"], 0);
    assert!(results[0]["output"].as_str().unwrap().contains("app.ini"));
    let denied = events(&trace, "permission_denied");
    assert_eq!(denied.len(), 8, "{denied:?}");
    assert!(
        denied[0]["message"]
            .as_str()
            .unwrap()
            .contains("not matched by permissions.shell.allow")
    );
    assert!(
        denied[1]["message"]
            .as_str()
            .unwrap()
            .contains("shell syntax `;` is not supported")
    );
    assert!(
        denied[7]["message"]
            .as_str()
            .unwrap()
            .contains("absolute path")
    );
    let env_out = results[9]["output"].as_str().unwrap();
    assert!(env_out.contains("PATH="), "{env_out}");
    assert!(
        !env_out.contains("sk-ant-secret-123") && !env_out.contains("ghp_secret"),
        "secrets leaked: {env_out}"
    );
}

#[test]
fn without_a_terminal_or_yes_the_run_pauses_with_exit_3() {
    let repo = repo();
    task(&repo, "", WRITE_TOML);
    let before = repo.status();
    let r = repo.wf(&["run", "task.yaml"]);
    r.code(3);
    assert_eq!(repo.status(), before);
    let trace = repo.last_trace();
    let cps = events(&trace, "checkpoint");
    assert_eq!(cps.last().unwrap()["state"], "paused");
    assert_eq!(repo.last_summary()["status"], "paused");
    assert!(repo.runs().pop().unwrap().join("diff.patch").exists());
}

#[test]
fn dry_run_shows_the_diff_and_never_applies() {
    let repo = repo();
    task(&repo, "", WRITE_TOML);
    let r = repo.wf(&["run", "task.yaml", "--dry-run"]);
    r.code(0);
    assert!(r.stderr.contains("+++ b/config/app.toml"), "{}", r.stderr);
    assert!(r.stderr.contains("+port = 8080"), "{}", r.stderr);
    assert!(!repo.exists("config/app.toml"));
    assert_eq!(repo.last_summary()["status"], "dry_run");
}

#[test]
fn apply_is_refused_when_the_user_changed_the_same_file() {
    let repo = repo();
    // The check plays the user: it edits their tree while the run is going
    // on, which only an unconfined command can do.
    let user_file = repo.join("config/app.toml");
    task(
        &repo,
        &format!(
            "sandbox: off\nchecks:\n  - {{ name: user-edits, run: \"echo mine > {}\" }}\n",
            user_file.display()
        ),
        WRITE_TOML,
    );
    let r = repo.wf(&["run", "task.yaml", "--yes", "--trust-sandbox"]);
    r.code(1);
    assert_eq!(
        repo.read("config/app.toml"),
        "mine\n",
        "the user's edit was overwritten"
    );
    let s = repo.last_summary();
    assert_eq!(s["status"], "apply_failed");
    assert!(
        s["reason"].as_str().unwrap().contains("config/app.toml"),
        "{s}"
    );
    assert!(s["reason"].as_str().unwrap().contains("diff.patch"), "{s}");
    // What to do next, with the kept patch's path.
    let run = repo.runs().pop().unwrap();
    let id = run.file_name().unwrap().to_str().unwrap();
    assert!(
        r.stderr
            .contains(&format!("git apply --3way .wf/runs/{id}/diff.patch")),
        "{}",
        r.stderr
    );
}

#[test]
fn a_script_out_of_turns_is_a_model_error() {
    let repo = repo();
    task(
        &repo,
        "",
        "turns:\n  - tool_calls: [ { name: list_files, input: {} } ]\n",
    );
    let r = repo.wf(&["run", "task.yaml", "--yes"]);
    r.code(1);
    assert_eq!(repo.last_summary()["status"], "model_error");
    assert!(
        r.stderr.contains("the script has no turn 2"),
        "{}",
        r.stderr
    );
}

#[test]
fn json_mode_streams_events_then_a_summary() {
    let repo = repo();
    task(&repo, "", WRITE_TOML);
    let r = repo.wf(&["run", "task.yaml", "--yes", "--json"]);
    r.code(0);
    let lines: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines[0]["kind"], "run_started");
    let last = lines.last().unwrap();
    assert_eq!(last["kind"], "summary");
    assert_eq!(last["summary"]["status"], "succeeded");
    assert_eq!(
        lines.len() - 1,
        repo.last_trace().len(),
        "every trace event is streamed"
    );
}

#[test]
fn a_run_killed_midway_leaves_the_tree_untouched_and_a_valid_trace() {
    let repo = repo();
    task(
        &repo,
        "",
        "turns:
  - tool_calls:
      - { name: write_file, input: { path: config/app.toml, content: x } }
      - { name: shell, input: { command: \"sleep 30\" } }
  - text: Done.
",
    );
    let yaml = repo
        .read("task.yaml")
        .replace(
            "tools: [read_file, list_files, search, edit_file, write_file]",
            "tools: [write_file, shell]",
        )
        .replace(
            "  protect: [\"migrations/**\"]",
            "  protect: [\"migrations/**\"]\n  shell: { allow: [\"sleep *\"] }",
        );
    repo.file("task.yaml", &yaml);
    let before = repo.status();
    let mut child = std::process::Command::new(super::wf_bin())
        .args(["run", "task.yaml", "--yes"])
        .current_dir(repo.path())
        .envs(repo.xdg())
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let started = repo
            .runs()
            .pop()
            .and_then(|r| std::fs::read_to_string(r.join("trace.jsonl")).ok())
            .is_some_and(|t| t.contains("sleep 30"));
        if started {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run never reached the shell call"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(repo.status(), before, "the tree changed");
    assert!(!repo.exists("config/app.toml"));
    let trace = repo.last_trace(); // parses every line
    assert_eq!(trace.last().unwrap()["kind"], "tool_call");
    let show = repo.wf(&["show", "last"]);
    show.code(0);
    // No end recorded and no wf holding the run: it was interrupted.
    assert!(
        show.stdout.contains("status: interrupted"),
        "{}",
        show.stdout
    );
}

#[test]
fn the_run_timeout_kills_a_long_command_and_ends_the_run() {
    let repo = repo();
    task(
        &repo,
        "limits: { timeout: 1s }\n",
        "turns:
  - tool_calls:
      - { name: shell, input: { command: \"sleep 20\" } }
  - text: Done.
",
    );
    let yaml = repo
        .read("task.yaml")
        .replace(
            "tools: [read_file, list_files, search, edit_file, write_file]",
            "tools: [shell]",
        )
        .replace(
            "  protect: [\"migrations/**\"]",
            "  protect: [\"migrations/**\"]\n  shell: { allow: [\"sleep *\"] }",
        );
    repo.file("task.yaml", &yaml);
    let started = std::time::Instant::now();
    let r = repo.wf(&["run", "task.yaml", "--yes"]);
    r.code(1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the command was not killed"
    );
    let trace = repo.last_trace();
    assert!(
        events(&trace, "tool_result")[0]["output"]
            .as_str()
            .unwrap()
            .contains("killed: the run's time limit")
    );
    assert_eq!(repo.last_summary()["status"], "timeout");
}

#[test]
fn an_edited_trace_line_is_detected() {
    let repo = repo();
    task(&repo, "", WRITE_TOML);
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    let ok = repo.wf(&["show", "last", "--verify"]);
    ok.code(0);
    assert!(ok.stdout.contains("hash chain intact"), "{}", ok.stdout);
    let path = repo.runs().pop().unwrap().join("trace.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.contains("\"kind\":\"tool_call\""))
        .unwrap();
    let forged = text.replace(
        lines[i],
        &lines[i].replace("config/app.toml", "config/other.toml"),
    );
    std::fs::write(&path, forged).unwrap();
    let bad = repo.wf(&["show", "last", "--verify"]);
    bad.code(1);
    assert!(
        bad.stderr
            .contains(&format!("trace.jsonl:{}: hash mismatch", i + 1)),
        "{}",
        bad.stderr
    );
}

#[test]
fn a_closed_output_pipe_does_not_stop_the_run() {
    let repo = repo();
    task(&repo, "", WRITE_TOML);
    let mut child = std::process::Command::new(super::wf_bin())
        .args(["run", "task.yaml", "--yes", "--json"])
        .current_dir(repo.path())
        .envs(repo.xdg())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Nobody reads: both pipes are closed at once.
    drop(child.stdout.take());
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(repo.last_summary()["status"], "succeeded");
    assert_eq!(repo.read("config/app.toml"), "[server]\nport = 8080\n");
}

#[test]
fn run_commit_commits_only_the_runs_files_with_trailers() {
    let repo = repo();
    repo.file("unrelated.txt", "the user's own work in progress\n");
    task(&repo, "", WRITE_TOML);
    git(repo.path(), &["add", "task.yaml", "turns.yaml"]);
    git(repo.path(), &["commit", "-qm", "task"]);
    repo.wf(&["run", "task.yaml", "--yes", "--commit"]).code(0);
    let message = git(repo.path(), &["log", "-1", "--format=%B"]);
    assert!(
        message.contains("Wf-Task: migrate") && message.contains("Approved-By: tester@example.com"),
        "{message}"
    );
    let files = git(repo.path(), &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(files.trim(), "config/app.toml");
    assert!(
        repo.status().contains("?? unrelated.txt"),
        "{}",
        repo.status()
    );
}

#[test]
fn a_tracked_file_that_matches_gitignore_is_part_of_the_change() {
    let repo = repo();
    repo.file(".gitignore", "*.local\n")
        .file("config/dev.local", "debug = false\n");
    git(
        repo.path(),
        &["add", "-f", "config/dev.local", ".gitignore"],
    );
    git(repo.path(), &["commit", "-qm", "force-added"]);
    task(
        &repo,
        "",
        "turns:
  - tool_calls:
      - { name: edit_file, input: { path: config/dev.local, old: \"false\", new: \"true\" } }
  - text: Done.
",
    );
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    assert_eq!(repo.read("config/dev.local"), "debug = true\n");
}

#[test]
fn a_repository_that_ignores_dot_wf_itself_runs() {
    let repo = repo();
    repo.file(".gitignore", ".wf/\ntarget/\n").commit();
    task(&repo, "", WRITE_TOML);
    repo.file("notes.txt", "uncommitted\n");
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    assert_eq!(repo.read("config/app.toml"), "[server]\nport = 8080\n");
    let run = repo.runs().pop().unwrap();
    let patch = std::fs::read_to_string(run.join("start.patch")).unwrap();
    assert!(patch.contains("notes.txt"), "{patch}");
    assert!(!patch.contains(".wf/"), "{patch}");
    repo.wf(&["replay", "last"]).code(0);
}
