//! Pauses decided from another process, resumed runs, crash recovery: no
//! model request is ever sent twice.

use super::{Repo, events};
use crate::providers::server::{Reply, TestServer};
use serde_json::json;

const KEY: &str = "sk-test-resume";

fn sse(events: &[serde_json::Value]) -> String {
    events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
        .collect()
}

fn start(id: &str) -> serde_json::Value {
    json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant", "content": [],
        "model": "claude-haiku-4-5", "stop_reason": null, "usage": {"input_tokens": 50, "output_tokens": 1}}})
}

fn tool_turn() -> Reply {
    Reply::sse(sse(&[
        start("m1"),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "write_file", "input": {}}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"path\":\"config/app.toml\",\"content\":\"port = 8080\\n\"}"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 20}}),
        json!({"type": "message_stop"}),
    ]))
}

fn done_turn() -> Reply {
    Reply::sse(sse(&[
        start("m2"),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Done."}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}),
        json!({"type": "message_stop"}),
    ]))
}

fn repo(check: &str) -> Repo {
    let repo = Repo::new();
    repo.file("config/app.ini", "port = 8080\n")
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: resumable
model: {{ provider: anthropic, name: claude-haiku-4-5 }}
context: {{ include: [config/app.ini] }}
tools: [write_file]
permissions: {{ write: [\"config/**\"] }}
prompt: Write config/app.toml.
checks:
  - {{ name: slow, run: \"{check}\" }}
"
            ),
        )
        .commit();
    repo
}

#[test]
fn pause_then_approve_from_another_process_then_resume_applies_without_asking_twice() {
    let repo = repo("test -f config/app.toml");
    let server = TestServer::start(vec![tool_turn(), done_turn()]);
    let env = [
        ("ANTHROPIC_BASE_URL", server.url.as_str()),
        ("ANTHROPIC_API_KEY", KEY),
    ];
    repo.wf_env(&["run", "task.yaml"], &env).code(3);
    assert!(!repo.exists("config/app.toml"));
    // A run waiting for approval cannot be resumed into applying by itself.
    repo.wf_env(&["resume", "last"], &env).code(3);

    let approve = repo.wf(&[
        "approve",
        "last",
        "--comment",
        "ship it",
        "--as",
        "reviewer@example.com",
    ]);
    approve.code(0);
    repo.wf_env(&["resume", "last"], &env).code(0);
    assert_eq!(repo.read("config/app.toml"), "port = 8080\n");
    assert_eq!(server.requests().len(), 2, "a model request was sent again");
    let s = repo.last_summary();
    assert_eq!(s["status"], "succeeded");
    let approved: Vec<&serde_json::Value> = s["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["decision"] == "approved")
        .collect();
    assert_eq!(approved.len(), 1, "{s}");
    assert_eq!(approved[0]["by"], "reviewer@example.com");
    assert_eq!(approved[0]["via"], "wf approve");
    assert_eq!(approved[0]["comment"], "ship it");
    repo.wf(&["show", "last", "--verify"]).code(0);
    // A finished run cannot be resumed.
    let again = repo.wf_env(&["resume", "last"], &env);
    again.code(2);
    assert!(
        again.stderr.contains("already finished: succeeded"),
        "{}",
        again.stderr
    );
}

#[test]
fn reject_ends_the_run_and_keeps_the_tree() {
    let repo = repo("true");
    let server = TestServer::start(vec![tool_turn(), done_turn()]);
    let env = [
        ("ANTHROPIC_BASE_URL", server.url.as_str()),
        ("ANTHROPIC_API_KEY", KEY),
    ];
    repo.wf_env(&["run", "task.yaml"], &env).code(3);
    repo.wf(&["reject", "last", "--comment", "wrong approach"])
        .code(0);
    assert!(!repo.exists("config/app.toml"));
    let s = repo.last_summary();
    assert_eq!(s["status"], "rejected");
    assert!(
        repo.wf(&["approve", "last"])
            .stderr
            .contains("not waiting at a checkpoint")
    );
}

#[test]
fn a_run_killed_during_a_long_check_resumes_without_repeating_model_requests() {
    let marker = tempfile::tempdir().unwrap();
    let m = marker.path().join("started");
    // First time: mark and hang. When resumed: pass.
    let repo = repo(&format!(
        "test -f {0} && exit 0; touch {0}; sleep 60",
        m.display()
    ));
    // The marker lives outside the workspace: the sandbox must grant it.
    let task = repo.read("task.yaml");
    repo.file(
        "task.yaml",
        &format!(
            "{task}sandbox: {{ write: [\"{}\"] }}\n",
            marker.path().display()
        ),
    )
    .commit();
    let server = TestServer::start(vec![tool_turn(), done_turn()]);
    let mut child = std::process::Command::new(super::wf_bin())
        .args(["run", "task.yaml", "--yes", "--trust-sandbox"])
        .current_dir(repo.path())
        .envs(repo.xdg())
        .env("ANTHROPIC_BASE_URL", &server.url)
        .env("ANTHROPIC_API_KEY", KEY)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !m.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the check never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !repo.exists("config/app.toml"),
        "the tree changed before approval"
    );
    let env = [
        ("ANTHROPIC_BASE_URL", server.url.as_str()),
        ("ANTHROPIC_API_KEY", KEY),
    ];
    let r = repo.wf_env(&["resume", "last", "--yes"], &env);
    r.code(0);
    assert_eq!(server.requests().len(), 2, "a model request was sent again");
    assert_eq!(repo.read("config/app.toml"), "port = 8080\n");
    let trace = repo.last_trace();
    assert_eq!(events(&trace, "model_request").len(), 2);
    let checks = events(&trace, "check_result");
    assert_eq!(
        (checks.len(), checks[0]["passed"].clone()),
        (1, json!(true)),
        "the interrupted check ran again"
    );
    repo.wf(&["show", "last", "--verify"]).code(0);
}

#[test]
fn two_processes_cannot_decide_the_same_run_at_once() {
    let repo = repo("true");
    let server = TestServer::start(vec![tool_turn(), done_turn()]);
    let env = [
        ("ANTHROPIC_BASE_URL", server.url.as_str()),
        ("ANTHROPIC_API_KEY", KEY),
    ];
    repo.wf_env(&["run", "task.yaml"], &env).code(3);
    // Another live process holds the run's lock (flock(1) stands in for it).
    let run = repo.runs().pop().unwrap();
    let mut holder = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec 9>>'{}'; flock -x 9; echo locked; exec sleep 60",
            run.join("lock").display()
        ))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = [0u8; 7];
    std::io::Read::read_exact(holder.stdout.as_mut().unwrap(), &mut line).unwrap();
    let r = repo.wf(&["approve", "last"]);
    r.code(2);
    assert!(
        r.stderr.contains("is in use by another wf process"),
        "{}",
        r.stderr
    );
    // The holder dies without cleaning up: its lock goes with it.
    holder.kill().unwrap();
    holder.wait().unwrap();
    repo.wf(&["approve", "last"]).code(0);
}

#[test]
fn the_response_cache_makes_a_rerun_free_and_identical() {
    let repo = repo("true");
    let server = TestServer::start(vec![tool_turn(), done_turn()]);
    let env = [
        ("ANTHROPIC_BASE_URL", server.url.as_str()),
        ("ANTHROPIC_API_KEY", KEY),
    ];
    repo.wf_env(&["run", "task.yaml", "--dry-run", "--cache"], &env)
        .code(0);
    repo.wf_env(&["run", "task.yaml", "--dry-run", "--cache"], &env)
        .code(0);
    assert_eq!(server.requests().len(), 2, "the second run asked the model");
    let trace = repo.last_trace();
    let responses = events(&trace, "model_response");
    assert!(
        responses
            .iter()
            .all(|r| r["cache_hit"] == true && r["cost_usd"] == 0.0),
        "{responses:?}"
    );
    let runs = repo.runs();
    let id = |p: &std::path::Path| p.file_name().unwrap().to_string_lossy().into_owned();
    let same = repo.wf(&["replay", &id(&runs[0]), "--against", &id(&runs[1])]);
    same.code(0);
    assert_eq!(
        std::fs::read(runs[0].join("diff.patch")).unwrap(),
        std::fs::read(runs[1].join("diff.patch")).unwrap()
    );
}

#[test]
fn commits_carry_trailers_and_touching_finds_the_run() {
    let repo = repo("true");
    let server = TestServer::start(vec![tool_turn(), done_turn()]);
    let env = [
        ("ANTHROPIC_BASE_URL", server.url.as_str()),
        ("ANTHROPIC_API_KEY", KEY),
    ];
    repo.wf_env(&["run", "task.yaml"], &env).code(3);
    repo.wf(&["approve", "last", "--as", "lead@example.com", "--commit"])
        .code(0);
    repo.wf_env(&["resume", "last"], &env).code(0);
    let run_id = repo
        .runs()
        .pop()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let message = super::git(repo.path(), &["log", "-1", "--format=%B"]);
    assert!(message.starts_with("wf: resumable\n"), "{message}");
    for trailer in [
        format!("Wf-Run: {run_id}"),
        "Wf-Task: resumable".into(),
        "Approved-By: lead@example.com".into(),
    ] {
        assert!(
            message.contains(&trailer),
            "missing `{trailer}` in\n{message}"
        );
    }
    let files = super::git(repo.path(), &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(
        files.trim(),
        "config/app.toml",
        "only the run's files are committed"
    );
    assert_eq!(repo.last_summary()["commit"].as_str().unwrap().len(), 40);

    let found = repo.wf(&["runs", "--touching", "config/app.toml"]);
    found.code(0);
    assert!(found.stdout.contains(&run_id), "{}", found.stdout);
    assert!(
        found
            .stdout
            .contains("approved by lead@example.com via wf approve"),
        "{}",
        found.stdout
    );
    let in_dir = repo.wf(&["runs", "--touching", "config"]);
    assert!(in_dir.stdout.contains(&run_id), "{}", in_dir.stdout);
    let none = repo.wf(&["runs", "--touching", "config/app.ini"]);
    assert!(!none.stdout.contains(&run_id), "{}", none.stdout);
    // A committed run replays: the commit is not part of the run's course.
    repo.wf(&["replay", &run_id]).code(0);
}

#[test]
fn a_run_with_a_model_override_resumes_and_replays_with_it() {
    let repo = repo("test -f config/app.toml");
    let server = TestServer::start(vec![tool_turn(), done_turn()]);
    let env = [
        ("ANTHROPIC_BASE_URL", server.url.as_str()),
        ("ANTHROPIC_API_KEY", KEY),
    ];
    repo.wf_env(&["run", "task.yaml", "--model", "claude-sonnet-4-5"], &env)
        .code(3);
    assert_eq!(server.requests()[0].json()["model"], "claude-sonnet-4-5");
    repo.wf(&["approve", "last"]).code(0);
    repo.wf_env(&["resume", "last"], &env).code(0);
    assert_eq!(repo.read("config/app.toml"), "port = 8080\n");
    assert_eq!(server.requests().len(), 2);
    repo.wf(&["replay", "last"]).code(0);
}

/// A scripted task: the model writes `path` with `content`; `check` runs.
fn scripted(repo: &Repo, write: &str, path: &str, content: &str, check: &str) {
    repo.file(
        "task.yaml",
        &format!(
            "wf: 1
name: approved-later
model: {{ provider: script, script: turns.yaml }}
prompt: Add the helper.
limits: {{ max_repairs: 0 }}
tools: [read_file, write_file]
permissions: {{ write: [\"{write}\"] }}
checks:
  - {{ name: tests, run: {check} }}
"
        ),
    )
    .file(
        "turns.yaml",
        &format!(
            "turns:
  - text: Adding it.
    tool_calls:
      - {{ name: write_file, input: {{ path: {}, content: {} }} }}
  - text: Done.
",
            json!(path),
            json!(content)
        ),
    )
    .commit();
}

/// Paused at the apply checkpoint, approved from another process, resumed:
/// the approved diff is applied and nothing runs again.
fn approve_then_resume_continues(repo: &Repo, env: &[(&str, &str)], path: &str, content: &str) {
    repo.wf_env(&["run", "task.yaml"], env).code(3);
    assert!(!repo.exists(path) || repo.read(path) != content);
    let checks_before = events(&repo.last_trace(), "check_result").len();
    assert_eq!(checks_before, 1);
    repo.wf(&["approve", "last"]).code(0);
    let r = repo.wf_env(&["resume", "last"], env);
    r.code(0);
    assert_eq!(repo.read(path), content);
    let s = repo.last_summary();
    assert_eq!(s["status"], "succeeded", "{s}");
    assert_eq!(s["applied"], true, "{s}");
    let trace = repo.last_trace();
    assert_eq!(
        events(&trace, "check_result").len(),
        1,
        "the check ran again: {}",
        r.stderr
    );
    assert_eq!(events(&trace, "applied").len(), 1);
    assert_eq!(trace.last().unwrap()["kind"], "run_finished");
    repo.wf(&["show", "last", "--verify"]).code(0);
}

#[test]
fn an_approved_unittest_run_resumes_by_applying_without_running_the_check_again() {
    let repo = Repo::new();
    repo.file(
        "test_calc.py",
        "import sys\nimport time\nimport unittest\n\nimport calc\n\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        print(time.time_ns(), file=sys.stderr)\n        self.assertEqual(calc.add(1, 2), 3)\n",
    );
    let calc = "def add(a, b):\n    return a + b\n";
    scripted(&repo, "*.py", "calc.py", calc, "python3 -m unittest");
    approve_then_resume_continues(&repo, &[], "calc.py", calc);
}

#[test]
fn an_approved_cargo_test_run_resumes_by_applying_without_running_the_check_again() {
    let repo = Repo::new();
    repo.file(
        "Cargo.toml",
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .file(".gitignore", "/target\nCargo.lock\n")
    .file("src/lib.rs", "pub fn two() -> u32 {\n    2\n}\n");
    let lib = "pub fn two() -> u32 {\n    2\n}\n\n#[test]\nfn two_is_two() {\n    assert_eq!(two(), 2);\n}\n";
    scripted(
        &repo,
        "src/**",
        "src/lib.rs",
        lib,
        "cargo test --offline --quiet",
    );
    // wf's own build cache goes in its temp dir: keep it in the test's.
    let tmp = tempfile::tempdir().unwrap();
    let env = [("TMPDIR", tmp.path().to_str().unwrap())];
    approve_then_resume_continues(&repo, &env, "src/lib.rs", lib);
}

#[test]
fn an_approved_diff_changed_since_is_refused_and_a_conflict_fails_the_apply() {
    let repo = Repo::new();
    repo.file("calc.py", "def add(a, b):\n    pass\n");
    let calc = "def add(a, b):\n    return a + b\n";
    scripted(&repo, "*.py", "calc.py", calc, "\"true\"");
    repo.wf(&["run", "task.yaml"]).code(3);
    repo.wf(&["approve", "last"]).code(0);
    // The patch on disk is not the approved one.
    let run = repo.runs().pop().unwrap();
    let patch = std::fs::read_to_string(run.join("diff.patch")).unwrap();
    std::fs::write(run.join("diff.patch"), patch.replace("a + b", "a - b")).unwrap();
    let r = repo.wf(&["resume", "last"]);
    assert!(r.stderr.contains("refused: approved diff"), "{}", r.stderr);
    assert_eq!(repo.read("calc.py"), "def add(a, b):\n    pass\n");
    assert_eq!(events(&repo.last_trace(), "applied").len(), 0);
    // Restored, but the user changed the file since: apply_failed, patch kept.
    std::fs::write(run.join("diff.patch"), &patch).unwrap();
    repo.file("calc.py", "def add(a, b):\n    return b + a\n");
    let r = repo.wf(&["resume", "last"]);
    let s = repo.last_summary();
    assert_eq!(s["status"], "apply_failed", "{s} {}", r.stderr);
    assert_eq!(repo.read("calc.py"), "def add(a, b):\n    return b + a\n");
    assert!(run.join("diff.patch").exists());
    assert_eq!(events(&repo.last_trace(), "check_result").len(), 1);
}

/// A task file outside the repository (as in a batch or a CI job, where the
/// task comes from another checkout) cannot be planned again at resume; an
/// approval with `--commit` still commits, with the message made from the
/// trace, and never leaves the change applied but uncommitted.
#[test]
fn approve_commit_then_resume_commits_a_task_from_outside_the_repository() {
    let tasks = tempfile::tempdir().unwrap();
    std::fs::write(
        tasks.path().join("task.yaml"),
        "wf: 1
name: outside
version: \"3.0.0\"
model: { provider: script, script: turns.yaml }
tools: [write_file]
permissions: { write: [\"**\"] }
prompt: Write the file.
",
    )
    .unwrap();
    std::fs::write(
        tasks.path().join("turns.yaml"),
        "turns:
  - tool_calls:
      - { name: write_file, input: { path: out.txt, content: \"made\\n\" } }
  - text: Done.
",
    )
    .unwrap();
    let repo = Repo::new();
    repo.file("a.txt", "a\n").commit();
    let task = tasks.path().join("task.yaml");
    let r = repo.wf(&["run", task.to_str().unwrap()]);
    r.code(3);
    repo.wf(&["approve", "last", "--commit", "--as", "owner@example.com"])
        .code(0);
    let resumed = repo.wf(&["resume", "last"]);
    resumed.code(0);
    assert_eq!(repo.read("out.txt"), "made\n");
    let message = super::git(repo.path(), &["log", "-1", "--format=%B"]);
    assert!(message.starts_with("wf: outside 3.0.0\n"), "{message}");
    assert!(message.contains("Wf-Task-Version: 3.0.0"), "{message}");
    assert!(
        message.contains("Approved-By: owner@example.com"),
        "{message}"
    );
    assert_eq!(
        repo.status(),
        "",
        "applied and committed, nothing left over"
    );
    assert_eq!(repo.last_summary()["status"], "succeeded");
}

/// Issue 25: during `wf resume`, the pointer to a failed check's whole
/// output was printed without the run id (`wf show  --check tests`).
#[test]
fn a_check_failing_in_a_resumed_run_points_at_its_output_with_the_run_id() {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        "wf: 1
name: planned
model: { provider: script, script: turns.yaml }
checkpoints: { plan: true }
tools: [write_file]
permissions: { write: [\"out.txt\"] }
prompt: Write out.txt.
limits: { max_repairs: 0 }
checks:
  - { name: tests, run: \"echo boom; exit 1\" }
",
    )
    .file(
        "turns.yaml",
        "turns:
  - text: 'Plan: write out.txt.'
  - tool_calls: [{ name: write_file, input: { path: out.txt, content: x } }]
  - text: Done.
",
    )
    .commit();
    repo.wf(&["run", "task.yaml"]).code(3);
    repo.wf(&["approve", "last"]).code(0);
    let r = repo.wf(&["resume", "last"]);
    r.code(1);
    let run = repo.runs().pop().unwrap();
    let id = run.file_name().unwrap().to_str().unwrap();
    assert!(
        r.stderr.contains(&format!(
            "`wf show {id} --check tests` shows all of its output"
        )),
        "{}",
        r.stderr
    );
}

/// Issue 25: the rules of `constraints_from` reach the model, in every
/// request's fixed instructions.
#[test]
fn the_model_gets_the_repositorys_standing_rules() {
    let repo = repo("true");
    repo.file("AGENTS.md", "- Keep every port below 10000.\n");
    let task = repo.read("task.yaml");
    repo.file(
        "task.yaml",
        &task.replace("prompt:", "constraints_from: [AGENTS.md]\nprompt:"),
    )
    .commit();
    let server = TestServer::start(vec![tool_turn(), done_turn()]);
    let env = [
        ("ANTHROPIC_BASE_URL", server.url.as_str()),
        ("ANTHROPIC_API_KEY", KEY),
    ];
    repo.wf_env(&["run", "task.yaml", "--yes"], &env).code(0);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        let system = request.json()["system"].to_string();
        assert!(
            system.contains(
                "Rules of this repository, from AGENTS.md:\\n<rules path=\\\"AGENTS.md\\\">\\n- Keep every port below 10000.\\n</rules>"
            ),
            "{system}"
        );
    }
    repo.wf(&["replay", "last"]).code(0);
}

/// Issue 25: `model.fallback`. The first model answers 529 (overloaded)
/// until its attempts are spent; the request goes to the fallback, which
/// the step keeps, priced as itself, recorded and shown; a replay follows
/// the recorded model.
#[test]
fn an_overloaded_model_falls_back_to_the_next_and_replay_follows_it() {
    let repo = repo("true");
    let task = repo.read("task.yaml");
    repo.file(
        "task.yaml",
        &task.replace(
            "model: { provider: anthropic, name: claude-haiku-4-5 }",
            "model: { provider: anthropic, name: claude-sonnet-4-5, max_attempts: 2, fallback: [claude-haiku-4-5] }",
        ),
    )
    .commit();
    let overloaded = || {
        Reply::json(
            529,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        )
        .header("retry-after-ms", "10")
    };
    let server = TestServer::start(vec![overloaded(), overloaded(), tool_turn(), done_turn()]);
    let env = [
        ("ANTHROPIC_BASE_URL", server.url.as_str()),
        ("ANTHROPIC_API_KEY", KEY),
    ];
    let r = repo.wf_env(&["run", "task.yaml", "--yes"], &env);
    r.code(0);
    let models: Vec<String> = server
        .requests()
        .iter()
        .map(|q| q.json()["model"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        models,
        [
            "claude-sonnet-4-5",
            "claude-sonnet-4-5",
            "claude-haiku-4-5",
            "claude-haiku-4-5"
        ]
    );
    assert!(
        r.stderr
            .contains("model: claude-sonnet-4-5 is overloaded (anthropic http 529"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("falling back to claude-haiku-4-5"),
        "{}",
        r.stderr
    );
    let trace = repo.last_trace();
    let fallback = events(&trace, "model_fallback");
    assert_eq!(fallback.len(), 1);
    assert_eq!(
        (
            &fallback[0]["turn"],
            &fallback[0]["from"],
            &fallback[0]["to"],
            &fallback[0]["status"]
        ),
        (
            &json!(1),
            &json!("claude-sonnet-4-5"),
            &json!("claude-haiku-4-5"),
            &json!(529)
        )
    );
    // Priced as the model that answered.
    let haiku = wf::provider::cost::price_for("claude-haiku-4-5").unwrap();
    for response in events(&trace, "model_response") {
        let usage: wf::provider::Usage = serde_json::from_value(response["usage"].clone()).unwrap();
        let cost = response["cost_usd"].as_f64().unwrap();
        assert!(
            (cost - wf::provider::cost::cost(&usage, &haiku).unwrap()).abs() < 1e-12,
            "{response}"
        );
    }
    let s = repo.last_summary();
    assert_eq!(
        s["fallbacks"],
        json!([{ "turn": 1, "from": "claude-sonnet-4-5", "to": "claude-haiku-4-5" }])
    );
    // The replay asks no model and reproduces the fallback.
    let replay = repo.wf(&["replay", "last"]);
    replay.code(0);
    assert_eq!(server.requests().len(), 4);
}

/// A resume re-executes the run up to where it stopped and must reproduce
/// it. Here the first command step checks a file outside the repository (a
/// granted root) and the second is killed mid-way; then that file changes.
/// Re-executed, the first step now fails where it passed: the resume is
/// refused with the reason, exits 1 and writes nothing to the trace, and the
/// run stays resumable once the file is put back.
#[test]
fn a_resume_that_goes_differently_from_its_record_is_refused_and_stays_resumable() {
    let outside = tempfile::tempdir().unwrap();
    let source = outside.path().join("schema.txt");
    let marker = outside.path().join("started");
    std::fs::write(&source, "v1\n").unwrap();
    let repo = Repo::new();
    repo.file("README", "x\n")
        .file("turns.yaml", "turns: []\n")
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: vendor-schema
model: {{ provider: script, script: turns.yaml }}
sandbox: {{ write: [\"{dir}\"] }}
steps:
  - id: schema
    run: grep -q v1 {src}
  - id: slow
    run: test -f {m} && exit 0; touch {m}; sleep 60
",
                dir = outside.path().display(),
                src = source.display(),
                m = marker.display(),
            ),
        )
        .commit();
    let mut child = std::process::Command::new(super::wf_bin())
        .args(["run", "task.yaml", "--yes", "--trust-sandbox"])
        .current_dir(repo.path())
        .envs(repo.xdg())
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !marker.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the second step never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let recorded = std::fs::read(repo.runs().pop().unwrap().join("trace.jsonl")).unwrap();

    std::fs::write(&source, "v2\n").unwrap();
    let r = repo.wf(&["resume", "last", "--yes"]);
    r.code(1);
    assert!(
        r.stderr
            .contains("cannot resume: the run goes differently now")
            && r.stderr
                .contains("command step `schema` now fails (exit 1)"),
        "the refusal says why: {}",
        r.stderr
    );
    assert_eq!(
        std::fs::read(repo.runs().pop().unwrap().join("trace.jsonl")).unwrap(),
        recorded,
        "a refused resume wrote to the trace"
    );

    std::fs::write(&source, "v1\n").unwrap();
    repo.wf(&["resume", "last", "--yes"]).code(0);
    assert_eq!(repo.last_summary()["status"], "succeeded");
    repo.wf(&["show", "last", "--verify"]).code(0);
}
