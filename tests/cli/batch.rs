//! `wf batch`: one task over several real git repositories, each run an
//! ordinary `wf run` child; the batch folder, resuming, bad repositories,
//! the batch's cost cap, and cloning a URL.

use super::{Repo, git, wf_bin};
use crate::providers::server::{Reply, TestServer};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A task in `hub` that writes out.txt; its check fails where the
/// repository has a `bad` file, and waits while it has a `slow` one.
fn hub() -> Repo {
    let hub = Repo::new();
    hub.file(
        "task.yaml",
        "wf: 1
name: stamp
model: { provider: script, script: turns.yaml }
tools: [write_file]
permissions: { write: [\"out.txt\"] }
prompt: Write out.txt.
checks:
  - { name: good, run: \"test ! -f bad && while [ -f slow ]; do sleep 0.1; done\" }
limits: { max_repairs: 0 }
",
    )
    .file(
        "turns.yaml",
        "turns:
  - tool_calls:
      - { name: write_file, input: { path: out.txt, content: \"stamped\\n\" } }
  - text: Done.
",
    )
    .commit();
    hub
}

/// A committed repository with `files`.
fn target(files: &[&str]) -> Repo {
    let repo = Repo::new();
    repo.file("README", "a repository\n");
    for f in files {
        repo.file(f, "x\n");
    }
    repo.commit();
    repo
}

fn repos_file(hub: &Repo, lines: &[String]) {
    hub.file("repos.txt", &(lines.join("\n") + "\n"));
}

/// The one batch folder's `batch.json` under `hub`.
fn manifest(hub: &Repo) -> Value {
    let dirs: Vec<_> = std::fs::read_dir(hub.join(".wf/batches"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    serde_json::from_str(&std::fs::read_to_string(dirs[0].join("batch.json")).unwrap()).unwrap()
}

fn entry<'a>(m: &'a Value, repo: &Repo) -> &'a Value {
    let key = repo.path().canonicalize().unwrap().display().to_string();
    &m["repos"][&key]
}

#[test]
fn three_repositories_a_failing_check_and_a_missing_path() {
    let hub = hub();
    let (a, b, bad) = (target(&[]), target(&[]), target(&["bad"]));
    let p = |r: &Repo| r.path().display().to_string();
    repos_file(
        &hub,
        &[
            "# the team's services".into(),
            p(&a),
            format!("{}   # with a comment", p(&b)),
            String::new(),
            p(&bad),
            "does/not/exist".into(),
        ],
    );
    let r = hub.wf(&[
        "batch",
        "task.yaml",
        "--repos",
        "repos.txt",
        "--jobs",
        "2",
        "--yes",
        "--json",
    ]);
    r.code(1);
    assert_eq!(a.read("out.txt"), "stamped\n");
    assert_eq!(b.read("out.txt"), "stamped\n");
    assert!(!bad.exists("out.txt"));
    let m = manifest(&hub);
    assert_eq!(entry(&m, &a)["status"], "succeeded");
    assert_eq!(entry(&m, &a)["files_changed"], 1);
    assert_eq!(entry(&m, &b)["line"], 3);
    assert_eq!(entry(&m, &bad)["status"], "checks_failed");
    let missing = hub.path().canonicalize().unwrap().join("does/not/exist");
    let missing = &m["repos"][missing.display().to_string()];
    assert_eq!(missing["status"], "repo_error");
    assert!(
        missing["reason"].as_str().unwrap().contains("not a folder"),
        "{missing}"
    );
    // Each run is an ordinary run of its repository.
    let run_id = entry(&m, &a)["run_id"].as_str().unwrap().to_string();
    assert_eq!(a.runs().len(), 1);
    assert!(a.runs()[0].ends_with(&run_id));
    assert_eq!(a.last_summary()["status"], "succeeded");
    // --json: one object per change, then the final one with every repository.
    let lines: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["kind"], "batch_started");
    assert!(lines.iter().any(|l| l["kind"] == "batch_repo"
        && l["status"] == "running"
        && l["run_id"] == run_id.as_str()));
    let last = lines.last().unwrap();
    assert_eq!(last["kind"], "batch_finished");
    assert_eq!(last["succeeded"], false);
    let statuses: Vec<&str> = last["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["succeeded", "succeeded", "checks_failed", "repo_error"]
    );

    // Again: the finished repositories are not run again; the missing one
    // is tried again (and still missing).
    let r = hub.wf(&["batch", "task.yaml", "--repos", "repos.txt", "--yes"]);
    r.code(1);
    assert!(r.stderr.contains("3 finished earlier"), "{}", r.stderr);
    for repo in [&a, &b, &bad] {
        assert_eq!(repo.runs().len(), 1);
    }
    assert!(r.stdout.starts_with("REPOSITORY"), "{}", r.stdout);
    assert!(r.stdout.contains(&run_id), "{}", r.stdout);
}

#[test]
fn a_repository_twice_is_refused_with_both_lines() {
    let hub = hub();
    let a = target(&[]);
    let p = a.path().display().to_string();
    repos_file(&hub, &[p.clone(), "# x".into(), format!("{p}/")]);
    let r = hub.wf(&["batch", "task.yaml", "--repos", "repos.txt", "--yes"]);
    r.code(2);
    assert!(r.stderr.contains("lines 1 and 3"), "{}", r.stderr);
    assert!(a.runs().is_empty());
    assert!(!hub.exists(".wf/batches"));
}

#[test]
fn a_repository_without_commits_is_an_error_of_its_own() {
    let hub = hub();
    let a = target(&[]);
    let empty = Repo::new();
    repos_file(
        &hub,
        &[
            empty.path().display().to_string(),
            a.path().display().to_string(),
        ],
    );
    let r = hub.wf(&["batch", "task.yaml", "--repos", "repos.txt", "--yes"]);
    r.code(1);
    let m = manifest(&hub);
    assert_eq!(entry(&m, &empty)["status"], "repo_error");
    assert!(
        entry(&m, &empty)["reason"]
            .as_str()
            .unwrap()
            .contains("no commit"),
        "{m}"
    );
    assert_eq!(entry(&m, &a)["status"], "succeeded");
}

#[test]
fn a_paused_run_is_reported_and_counted_once_approved_and_resumed() {
    let hub = hub();
    let a = target(&[]);
    repos_file(&hub, &[a.path().display().to_string()]);
    let r = hub.wf(&["batch", "task.yaml", "--repos", "repos.txt"]);
    r.code(1);
    let m = manifest(&hub);
    assert_eq!(entry(&m, &a)["status"], "paused");
    let id = entry(&m, &a)["run_id"].as_str().unwrap().to_string();
    assert!(
        r.stderr
            .contains(&format!("wf approve {id} && wf resume {id}")),
        "{}",
        r.stderr
    );
    // The same user (the batch's state directory): the run is theirs.
    let xdg = hub.xdg();
    let same_user: Vec<(&str, &str)> = xdg.iter().map(|(k, v)| (*k, v.to_str().unwrap())).collect();
    a.wf_env(&["approve", &id], &same_user).code(0);
    a.wf_env(&["resume", &id], &same_user).code(0);
    // The batch reads the run's status again: succeeded, nothing started.
    hub.wf(&["batch", "task.yaml", "--repos", "repos.txt"])
        .code(0);
    assert_eq!(a.runs().len(), 1);
    assert_eq!(entry(&manifest(&hub), &a)["status"], "succeeded");
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The records of `repo`'s only run so far (a line being written is left out).
fn trace_of(repo: &Repo) -> Vec<Value> {
    let runs = repo.runs();
    let Some(run) = runs.first() else {
        return Vec::new();
    };
    std::fs::read_to_string(run.join("trace.jsonl"))
        .unwrap_or_default()
        .lines()
        .map_while(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Issue 25: a Ctrl-C'd batch said its runs were "interrupted by SIGTERM"
/// (the signal the batch passed on). The batch passes on the signal it got.
#[test]
fn a_ctrl_c_to_a_batch_is_recorded_as_sigint_in_its_runs() {
    let hub = hub();
    let slow = target(&["slow"]);
    repos_file(&hub, &[slow.path().display().to_string()]);
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut batch = Command::new(wf_bin())
        .args(["batch", "task.yaml", "--repos", "repos.txt", "--yes"])
        .current_dir(hub.path())
        .envs(hub.xdg())
        .env("NO_COLOR", "1")
        .env("TMPDIR", hub.tmp())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    wait_for("the run to reach its slow check", || {
        trace_of(&slow)
            .iter()
            .any(|e| e["kind"] == "model_response" && e["turn"] == 2)
    });
    // SAFETY: a signal to the child this test started.
    unsafe {
        libc::kill(batch.id() as i32, libc::SIGINT);
    }
    let status = batch.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let trace = trace_of(&slow);
    let stop = trace
        .iter()
        .find(|e| e["kind"] == "run_interrupted")
        .expect("run_interrupted");
    assert_eq!(stop["signal"], "SIGINT", "{stop}");
    let stderr = std::fs::read_to_string(log.path()).unwrap();
    assert!(!stderr.contains("SIGTERM"), "{stderr}");
    assert!(stderr.contains("wf batch: 1 repository ("), "{stderr}");
}

#[test]
fn a_killed_batch_resumes_without_repeating_finished_repositories() {
    let hub = hub();
    // A marker on the check's command line, to find it among processes.
    let marker = format!("wf-batch-killed-{}", std::process::id());
    let task = std::fs::read_to_string(hub.join("task.yaml")).unwrap();
    hub.file(
        "task.yaml",
        &task.replace("run: \"test", &format!("run: \": {marker}; test")),
    );
    let (a, slow, c) = (target(&[]), target(&["slow"]), target(&[]));
    repos_file(
        &hub,
        &[&a, &slow, &c].map(|r| r.path().display().to_string()),
    );
    let mut batch = Command::new(wf_bin())
        .args(["batch", "task.yaml", "--repos", "repos.txt", "--yes"])
        .current_dir(hub.path())
        .envs(hub.xdg())
        .env("NO_COLOR", "1")
        .env("TMPDIR", hub.tmp())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // One job: `a` finished, `slow` waits in its check, `c` not reached.
    let slow_key = slow.path().canonicalize().unwrap().display().to_string();
    wait_for("the slow repository's run", || {
        let Ok(dirs) = std::fs::read_dir(hub.join(".wf/batches")) else {
            return false;
        };
        dirs.filter_map(Result::ok).any(|d| {
            std::fs::read_to_string(d.path().join("batch.json"))
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .is_some_and(|m| m["repos"][&slow_key]["run_id"].is_string())
        })
    });
    wait_for("the slow check to run", || {
        !crate::processes_with(&marker).is_empty()
    });
    // SIGKILL: the batch cannot pass anything on; its runs get SIGHUP from
    // the kernel when it dies (once per batch thread that dies holding
    // them), and stop as on one signal, however many come.
    batch.kill().unwrap();
    batch.wait().unwrap();
    wait_for("the slow run to record its end", || {
        trace_of(&slow)
            .last()
            .is_some_and(|e| e["kind"] == "run_finished")
    });
    let trace = trace_of(&slow);
    let end = trace.last().unwrap();
    assert_eq!(end["status"], "interrupted", "{end}");
    let stop = &trace[trace.len() - 2];
    assert_eq!(stop["kind"], "run_interrupted", "{stop}");
    assert_eq!(stop["signal"], "SIGHUP", "{stop}");
    wait_for("the slow check to be stopped", || {
        crate::processes_with(&marker).is_empty()
    });
    wait_for("wf runs to show the slow run interrupted", || {
        slow.wf(&["runs"]).stdout.contains("interrupted")
    });
    assert_eq!(slow.runs().len(), 1);
    assert_eq!(a.runs().len(), 1);
    assert!(c.runs().is_empty());

    git(slow.path(), &["rm", "-q", "slow"]);
    git(slow.path(), &["commit", "-qm", "fast now"]);
    let r = hub.wf(&["batch", "task.yaml", "--repos", "repos.txt", "--yes"]);
    r.code(0);
    assert!(r.stderr.contains("1 finished earlier"), "{}", r.stderr);
    assert_eq!(a.runs().len(), 1, "a finished repository ran again");
    assert_eq!(slow.runs().len(), 2);
    assert_eq!(c.runs().len(), 1);
    let m = manifest(&hub);
    assert_eq!(m["repos"][&slow_key]["status"], "succeeded");
    assert_eq!(
        m["repos"][&slow_key]["earlier_runs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_git_url_is_cloned_into_the_batch_folder() {
    let hub = hub();
    let origin = target(&[]);
    let bare = tempfile::tempdir().unwrap();
    let bare_path = bare.path().join("origin.git");
    git(
        origin.path(),
        &["clone", "-q", "--bare", ".", bare_path.to_str().unwrap()],
    );
    let url = format!("file://{}", bare_path.display());
    repos_file(
        &hub,
        &[url.clone(), "file:///no/such/repository.git".into()],
    );
    let r = hub.wf(&["batch", "task.yaml", "--repos", "repos.txt", "--yes"]);
    r.code(1);
    let m = manifest(&hub);
    let cloned = &m["repos"][url.trim_end_matches(".git")];
    assert_eq!(cloned["status"], "succeeded", "{m}");
    let path = Path::new(cloned["path"].as_str().unwrap());
    assert!(path.starts_with(hub.path().canonicalize().unwrap().join(".wf/batches")));
    assert_eq!(
        std::fs::read_to_string(path.join("out.txt")).unwrap(),
        "stamped\n"
    );
    assert_eq!(std::fs::read_dir(path.join(".wf/runs")).unwrap().count(), 1);
    let failed = &m["repos"]["file:///no/such/repository"];
    assert_eq!(failed["status"], "repo_error");
    assert!(
        failed["reason"].as_str().unwrap().contains("cannot clone"),
        "{failed}"
    );
}

fn sse(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
        .collect()
}

/// An Anthropic answer: `usage` input tokens, then a tool call or text.
fn turn(input_tokens: u64, tool: bool) -> Reply {
    let block = if tool {
        vec![
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "write_file", "input": {}}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"path\": \"out.txt\", \"content\": \"paid\\n\"}"}}),
        ]
    } else {
        vec![
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Done."}}),
        ]
    };
    let mut events = vec![
        json!({"type": "message_start", "message": {"id": "msg", "type": "message", "role": "assistant", "content": [],
        "model": "claude-sonnet-4-5", "stop_reason": null,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}),
    ];
    events.extend(block);
    events.extend([
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": if tool { "tool_use" } else { "end_turn" }, "stop_sequence": null}, "usage": {"output_tokens": 0}}),
        json!({"type": "message_stop"}),
    ]);
    Reply::sse(sse(&events))
}

#[test]
fn the_batch_cost_cap_stops_the_running_run_and_starts_no_more() {
    let hub = Repo::new();
    hub.file(
        "task.yaml",
        "wf: 1
name: paid
model: { provider: anthropic, name: claude-sonnet-4-5 }
tools: [write_file]
permissions: { write: [\"out.txt\"] }
prompt: Write out.txt.
",
    )
    .commit();
    let (a, b, c) = (target(&[]), target(&[]), target(&[]));
    repos_file(&hub, &[&a, &b, &c].map(|r| r.path().display().to_string()));
    // 1000 input tokens at $3 a million: $0.003 a turn. The first run
    // spends $0.006, under the $0.008 cap; the second's first turn takes
    // the batch to $0.009, so it stops before its second request, and the
    // third does not start.
    let server = TestServer::start(vec![turn(1000, true), turn(1000, false), turn(1000, true)]);
    let r = hub.wf_env(
        &[
            "batch",
            "task.yaml",
            "--repos",
            "repos.txt",
            "--yes",
            "--max-cost-usd",
            "0.008",
        ],
        &[
            ("ANTHROPIC_BASE_URL", &server.url),
            ("ANTHROPIC_API_KEY", "sk-test"),
        ],
    );
    r.code(1);
    assert_eq!(server.requests().len(), 3);
    let m = manifest(&hub);
    assert_eq!(entry(&m, &a)["status"], "succeeded", "{m}");
    assert_eq!(entry(&m, &b)["status"], "cost_limit");
    assert!(
        entry(&m, &b)["reason"]
            .as_str()
            .unwrap()
            .contains("batch_max_cost_usd"),
        "{m}"
    );
    assert_eq!(entry(&m, &c)["status"], "skipped");
    assert!(c.runs().is_empty());
    let total =
        entry(&m, &a)["cost_usd"].as_f64().unwrap() + entry(&m, &b)["cost_usd"].as_f64().unwrap();
    assert!((total - 0.009).abs() < 1e-6, "{total}");
    assert!(r.stdout.contains("spent $0.0090"), "{}", r.stdout);
}

/// A run stopped by its batch's cap replays as it ran: the replay shares no
/// batch, and stops where the recorded run was stopped.
#[test]
fn a_run_stopped_by_the_batch_cap_replays() {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        "wf: 1
name: paid
model: { provider: anthropic, name: claude-sonnet-4-5 }
tools: [write_file]
permissions: { write: [\"out.txt\"] }
prompt: Write out.txt.
",
    )
    .commit();
    // A batch folder of one's own: $0.003 a turn against a $0.004 cap lets
    // two requests out and stops the run before its third.
    let batch = tempfile::tempdir().unwrap();
    wf::batch_share::Shared::at(batch.path())
        .update(|s| {
            s.max_cost_usd = Some(0.004);
            s.max_requests = 1;
        })
        .unwrap();
    let server = TestServer::start(vec![turn(1000, true), turn(1000, true), turn(1000, false)]);
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes"],
        &[
            ("ANTHROPIC_BASE_URL", &server.url),
            ("ANTHROPIC_API_KEY", "sk-test"),
            ("WF_BATCH_DIR", batch.path().to_str().unwrap()),
        ],
    );
    r.code(1);
    assert_eq!(server.requests().len(), 2);
    assert_eq!(repo.last_summary()["status"], "cost_limit");
    let replay = repo.wf(&["replay", "last"]);
    assert_eq!(replay.code, 0, "{}\n{}", replay.stdout, replay.stderr);
    assert!(replay.stdout.contains("reproduced"), "{}", replay.stdout);
}

/// `wf run --max-cost-usd` caps a run below its task's own limits (what
/// `wf emit` gives each job), is recorded, and replays.
#[test]
fn a_command_line_cost_cap_stops_the_run_and_replays() {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        "wf: 1
name: paid
model: { provider: anthropic, name: claude-sonnet-4-5 }
tools: [write_file]
permissions: { write: [\"out.txt\"] }
prompt: Write out.txt.
limits: { max_cost_usd: 1 }
",
    )
    .commit();
    // $0.003 a turn: over $0.004 after the second.
    let server = TestServer::start(vec![turn(1000, true), turn(1000, true), turn(1000, false)]);
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes", "--max-cost-usd", "0.004"],
        &[
            ("ANTHROPIC_BASE_URL", &server.url),
            ("ANTHROPIC_API_KEY", "sk-test"),
        ],
    );
    r.code(1);
    assert_eq!(server.requests().len(), 2);
    let summary = repo.last_summary();
    assert_eq!(summary["status"], "cost_limit");
    assert!(
        summary["reason"]
            .as_str()
            .unwrap()
            .contains("(wf run --max-cost-usd)"),
        "{summary}"
    );
    let trace = repo.last_trace();
    assert_eq!(trace[0]["max_cost_usd"], 0.004);
    let replay = repo.wf(&["replay", "last"]);
    assert_eq!(replay.code, 0, "{}\n{}", replay.stdout, replay.stderr);
    assert!(replay.stdout.contains("reproduced"), "{}", replay.stdout);
    // Bad values are usage errors.
    let bad = repo.wf(&["run", "task.yaml", "--max-cost-usd", "-1"]);
    bad.code(2);
}

/// wf run in `repo` as the user of `hub` (its state and cache directories:
/// the runs a batch started in `hub` are that user's).
fn as_hub_user(hub: &Repo, repo: &Repo, args: &[&str]) -> super::Ran {
    let xdg = hub.xdg();
    let env: Vec<(&str, &str)> = xdg.iter().map(|(k, v)| (*k, v.to_str().unwrap())).collect();
    repo.wf_env(args, &env)
}

/// Issue 25: a batch's task file lives outside the repositories it runs
/// in. A batch stopped by SIGTERM mid-run leaves each run interrupted; each
/// is then resumed, replayed and reported in its own repository, from the
/// copy of the task file its run folder kept.
#[test]
fn a_terminated_batch_resumes_and_replays_in_each_repository() {
    let hub = hub();
    let marker = format!("wf-batch-term-{}", std::process::id());
    let task = std::fs::read_to_string(hub.join("task.yaml")).unwrap();
    // The check takes four seconds, during which the batch is stopped.
    hub.file(
        "task.yaml",
        &task.replace(
            "run: \"test ! -f bad && while [ -f slow ]; do sleep 0.1; done\"",
            &format!("run: \": {marker}; sleep 4\""),
        ),
    )
    .commit();
    let (a, b) = (target(&[]), target(&[]));
    repos_file(&hub, &[&a, &b].map(|r| r.path().display().to_string()));
    let mut batch = Command::new(wf_bin())
        .args([
            "batch",
            "task.yaml",
            "--repos",
            "repos.txt",
            "--yes",
            "--jobs",
            "2",
        ])
        .current_dir(hub.path())
        .envs(hub.xdg())
        .env("NO_COLOR", "1")
        .env("TMPDIR", hub.tmp())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("both checks to run", || {
        crate::processes_with(&marker).len() >= 2
    });
    // SAFETY: a signal to the child this test started.
    unsafe {
        libc::kill(batch.id() as i32, libc::SIGTERM);
    }
    assert_eq!(batch.wait().unwrap().code(), Some(130));
    for repo in [&a, &b] {
        let trace = trace_of(repo);
        assert_eq!(trace.last().unwrap()["status"], "interrupted", "{trace:?}");
        let run = &repo.runs()[0];
        // The run folder keeps the task file and its script, not the
        // repository: nothing of the hub's was written into the target.
        assert!(run.join("task/task.yaml").is_file());
        assert!(run.join("task/turns.yaml").is_file());
        assert_eq!(repo.status(), "", "the repository is untouched");
        let id = run.file_name().unwrap().to_str().unwrap().to_string();

        let r = as_hub_user(&hub, repo, &["resume", &id, "--yes"]);
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        assert_eq!(repo.read("out.txt"), "stamped\n");
        assert_eq!(repo.last_summary()["status"], "succeeded");

        let r = as_hub_user(&hub, repo, &["replay", &id]);
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("reproduced"), "{}", r.stdout);

        // The report shows the task's settings, read from the kept copy.
        let r = as_hub_user(&hub, repo, &["report", &id, "--html", "-o", "-"]);
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("From the task file"), "{}", r.stdout);
    }
}

/// Issue 25: runs a batch left paused at their apply checkpoint are
/// approved in one repository and rejected in another, their task file
/// outside both.
#[test]
fn batch_runs_paused_outside_their_task_are_approved_and_rejected() {
    let hub = hub();
    let (a, b) = (target(&[]), target(&[]));
    repos_file(&hub, &[&a, &b].map(|r| r.path().display().to_string()));
    hub.wf(&["batch", "task.yaml", "--repos", "repos.txt"])
        .code(1);
    let id = |repo: &Repo| {
        repo.runs()[0]
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string()
    };
    let (ia, ib) = (id(&a), id(&b));
    let r = as_hub_user(&hub, &a, &["approve", &ia, "--commit"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let r = as_hub_user(&hub, &a, &["resume", &ia]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(a.read("out.txt"), "stamped\n");
    let log = git(a.path(), &["log", "-1", "--format=%B"]);
    assert!(log.contains(&format!("Wf-Run: {ia}")), "{log}");
    // The message is planned from the kept task (its prompt's first line),
    // not only from what the trace recorded.
    assert!(log.contains("Write out.txt."), "{log}");

    let r = as_hub_user(&hub, &b, &["reject", &ib]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!b.exists("out.txt"));
    assert_eq!(b.last_summary()["status"], "rejected");
    let r = as_hub_user(&hub, &b, &["replay", &ib]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("reproduced"), "{}", r.stdout);
}
