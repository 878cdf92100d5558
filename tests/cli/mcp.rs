//! MCP servers as tools: a tiny deterministic server
//! (`tests/fixtures/mcp/server.py`) for crashes, hangs and the sandbox, and
//! the real npm servers (`@modelcontextprotocol/server-everything`,
//! `server-filesystem`) installed by `.ci/run` under `$WF_MCP_NODE_MODULES`.

use super::{Repo, events};
use std::path::PathBuf;

const FIXTURE: &str = include_str!("../fixtures/mcp/server.py");

/// A repository with the fixture server and a task whose script turns are
/// `turns` (YAML list items), allowlisting `allow` and exposing `tools`.
fn fixture_repo(allow: &str, tools: &str, turns: &str) -> Repo {
    fixture_repo_with(allow, tools, turns, "")
}

/// [`fixture_repo`] with `extra` (YAML lines, indented for the server's
/// mapping, or top-level keys after a blank server line) in the task file.
fn fixture_repo_with(allow: &str, tools: &str, turns: &str, extra: &str) -> Repo {
    let repo = Repo::new();
    repo.file("mcp/server.py", FIXTURE)
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: mcp-fixture
model: {{ provider: script, script: turns.yaml }}
tools: [{tools}]
mcp:
  test:
    command: [python3, mcp/server.py]
    tools: [{allow}]
    call_timeout: 2s
{extra}prompt: Use the server.
checkpoints: {{ apply: false }}
"
            ),
        )
        .file("turns.yaml", &format!("turns:\n{turns}  - text: Done.\n"))
        .commit();
    repo
}

fn results(repo: &Repo) -> Vec<serde_json::Value> {
    events(&repo.last_trace(), "tool_result")
        .into_iter()
        .cloned()
        .collect()
}

#[test]
fn an_allowlisted_call_reaches_the_model_and_others_are_refused() {
    let repo = fixture_repo(
        "echo",
        "mcp__test__echo",
        "  - tool_calls:
      - { name: mcp__test__echo, input: { message: hi } }
      - { name: mcp__test__crash, input: {} }
",
    );
    repo.wf(&["run", "task.yaml"]).code(0);
    let trace = repo.last_trace();
    let server = &events(&trace, "mcp_server")[0];
    assert_eq!(server["server"], "test");
    assert_eq!(server["tools"][0]["name"], "echo");
    let r = results(&repo);
    assert_eq!(r[0]["output"], "echo: hi");
    assert_eq!(r[0]["ok"], true);
    assert_eq!(r[1]["ok"], false);
    assert!(
        r[1]["output"]
            .as_str()
            .unwrap()
            .contains("unknown tool `mcp__test__crash`"),
        "{}",
        r[1]
    );
    // The result is in the next request the model got.
    let requests = events(&trace, "model_request");
    assert_eq!(requests.len(), 2);
}

#[test]
fn a_declared_tool_the_server_lacks_stops_the_run_before_any_request() {
    let repo = fixture_repo("echo, nosuch", "mcp__test__nosuch", "");
    let ran = repo.wf(&["run", "task.yaml"]);
    ran.code(2);
    assert!(
        ran.stderr.contains(
            "MCP server `test` has no tool `nosuch` (it offers: crash, echo, hang, read)"
        ),
        "{}",
        ran.stderr
    );
    assert!(repo.runs().is_empty(), "no run was recorded");
}

#[test]
fn a_tool_not_in_the_allowlist_is_a_task_file_error() {
    let repo = fixture_repo("echo", "mcp__test__hang, mcp__nope__x", "");
    let ran = repo.wf(&["validate", "task.yaml"]);
    ran.code(2);
    assert!(
        ran.stderr.contains("`hang` is not in `mcp.test.tools`"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("no MCP server `nope` is declared"),
        "{}",
        ran.stderr
    );
}

#[test]
fn an_unpinned_package_is_a_task_file_error() {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        "wf: 1
name: unpinned
model: { provider: script, script: turns.yaml }
tools: [mcp__fs__read_text_file]
mcp:
  fs:
    command: [npx, -y, \"@modelcontextprotocol/server-filesystem@latest\", .]
    tools: [read_text_file]
prompt: x
",
    );
    let ran = repo.wf(&["validate", "task.yaml"]);
    ran.code(2);
    assert!(
        ran.stderr.contains("is not pinned to an exact version"),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_crash_and_a_hang_are_tool_errors_and_the_run_goes_on() {
    let repo = fixture_repo(
        "echo, crash, hang",
        "mcp__test__echo, mcp__test__crash, mcp__test__hang",
        "  - tool_calls:
      - { name: mcp__test__crash, input: {} }
  - tool_calls:
      - { name: mcp__test__hang, input: {} }
  - tool_calls:
      - { name: mcp__test__echo, input: { message: again } }
",
    );
    let started = std::time::Instant::now();
    repo.wf(&["run", "task.yaml"]).code(0);
    assert!(started.elapsed().as_secs() < 20, "no hang");
    let r = results(&repo);
    assert_eq!(r[0]["ok"], false);
    let crash = r[0]["output"].as_str().unwrap();
    assert!(crash.contains("the server exited with code 3"), "{crash}");
    assert!(crash.contains("crashing on purpose"), "{crash}");
    assert_eq!(r[1]["ok"], false);
    assert!(
        r[1]["output"]
            .as_str()
            .unwrap()
            .contains("no answer within 2s"),
        "{}",
        r[1]
    );
    // The server starts again for the next call.
    assert_eq!(r[2]["output"], "echo: again");
    // Killed servers are gone (the kernel tears a sandbox down
    // asynchronously: allow it a moment).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !crate::processes_with("mcp/server.py").is_empty() && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(crate::processes_with("mcp/server.py").is_empty());
}

#[test]
fn a_replay_answers_from_the_recording_without_the_server() {
    let repo = fixture_repo(
        "echo",
        "mcp__test__echo",
        "  - tool_calls:
      - { name: mcp__test__echo, input: { message: once } }
",
    );
    repo.wf(&["run", "task.yaml"]).code(0);
    // No python3 on PATH: the server cannot start, and need not.
    let bin = tempfile::tempdir().unwrap();
    let git = which("git");
    std::os::unix::fs::symlink(git, bin.path().join("git")).unwrap();
    let path = bin.path().to_str().unwrap();
    let ran = repo.wf_env(&["replay", "last"], &[("PATH", path)]);
    ran.code(0);
    assert!(
        ran.stdout.contains("reproduced"),
        "{}{}",
        ran.stdout,
        ran.stderr
    );
}

#[test]
fn the_sandbox_confines_a_server() {
    let secret = tempfile::Builder::new()
        .prefix("wf-mcp-secret")
        .tempdir_in(std::env::var("HOME").unwrap())
        .unwrap();
    std::fs::write(secret.path().join("key"), "s3cret").unwrap();
    let path = secret.path().join("key");
    let repo = fixture_repo(
        "read",
        "mcp__test__read",
        &format!(
            "  - tool_calls:\n      - {{ name: mcp__test__read, input: {{ path: \"{}\" }} }}\n",
            path.display()
        ),
    );
    repo.wf(&["run", "task.yaml"]).code(0);
    let r = results(&repo);
    assert_eq!(r[0]["ok"], false, "{}", r[0]);
    assert!(!r[0]["output"].as_str().unwrap().contains("s3cret"));
}

fn which(program: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} not on PATH"))
}

/// The real servers' packages, installed by `.ci/run`. The tests that use
/// them are `#[ignore]`d (a plain `cargo test` reports them as ignored,
/// never as passed) and named `real_mcp_…`: `.ci/run` runs them with
/// `--ignored` and fails unless every one ran (`.ci/ran-all.sh`). Run so
/// without the servers, a test fails here, saying what to set.
fn node_modules() -> PathBuf {
    match std::env::var_os("WF_MCP_NODE_MODULES").map(PathBuf::from) {
        Some(dir) if dir.join("@modelcontextprotocol").is_dir() => dir,
        _ => panic!(
            "WF_MCP_NODE_MODULES does not point at the installed MCP servers: this test runs the \
             real npm servers; .ci/run installs them and sets it"
        ),
    }
}

fn real_repo(modules: &std::path::Path, mcp: &str, tools: &str, turns: &str) -> Repo {
    let repo = Repo::new();
    repo.file("notes/a.txt", "inside the workspace\n")
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: mcp-real
model: {{ provider: script, script: turns.yaml }}
tools: [{tools}]
mcp:
{mcp}
sandbox: {{ read: [\"{}\"] }}
prompt: Use the servers.
checkpoints: {{ apply: false }}
",
                modules.display()
            )
            .replace("$MODULES", modules.to_str().unwrap()),
        )
        .file("turns.yaml", &format!("turns:\n{turns}  - text: Done.\n"))
        .commit();
    repo
}

#[test]
#[ignore = "runs the real npm MCP servers: .ci/run sets WF_MCP_NODE_MODULES and runs real_mcp_ tests with --ignored"]
fn real_mcp_the_everything_server_echoes_and_adds() {
    let modules = node_modules();
    let repo = real_repo(
        &modules,
        "  everything:
    command: [node, $MODULES/@modelcontextprotocol/server-everything/dist/index.js, stdio]
    tools: [echo, get-sum]",
        "mcp__everything__echo, mcp__everything__get-sum",
        "  - tool_calls:
      - { name: mcp__everything__echo, input: { message: hello } }
      - { name: mcp__everything__get-sum, input: { a: 2, b: 3 } }
",
    );
    repo.wf(&["run", "task.yaml", "--trust-sandbox"]).code(0);
    let r = results(&repo);
    assert_eq!(r[0]["output"], "Echo: hello");
    assert!(r[1]["output"].as_str().unwrap().contains('5'), "{}", r[1]);
    let plan = repo.wf(&["plan", "task.yaml"]);
    plan.code(0);
    assert!(
        plan.stdout.contains("mcp__everything__get-sum"),
        "{}",
        plan.stdout
    );
}

#[test]
#[ignore = "runs the real npm MCP servers: .ci/run sets WF_MCP_NODE_MODULES and runs real_mcp_ tests with --ignored"]
fn real_mcp_the_filesystem_server_stays_in_the_workspace() {
    let modules = node_modules();
    let repo = real_repo(
        &modules,
        "  files:
    command: [node, $MODULES/@modelcontextprotocol/server-filesystem/dist/index.js, .]
    tools: [read_text_file]",
        "mcp__files__read_text_file",
        "  - tool_calls:
      - { name: mcp__files__read_text_file, input: { path: notes/a.txt } }
      - { name: mcp__files__read_text_file, input: { path: /etc/hostname } }
",
    );
    repo.wf(&["run", "task.yaml", "--trust-sandbox"]).code(0);
    let r = results(&repo);
    assert_eq!(r[0]["output"], "inside the workspace\n", "{}", r[0]);
    assert_eq!(r[1]["ok"], false, "{}", r[1]);
    assert!(
        r[1]["output"]
            .as_str()
            .unwrap()
            .contains("outside allowed directories"),
        "{}",
        r[1]
    );
}

/// Both outputs of a command, for messages that may go to either.
fn said(ran: &super::Ran) -> String {
    format!("{}{}", ran.stdout, ran.stderr)
}

#[test]
fn wf_lock_pins_a_server_and_a_changed_server_is_refused_until_updated() {
    // The task passes WF_TEST_MCP_VARIANT to the server: the same command
    // then lists other definitions, as an upgraded package would.
    let repo = fixture_repo_with(
        "echo, read",
        "mcp__test__echo",
        "  - tool_calls:\n      - { name: mcp__test__echo, input: { message: hi } }\n",
        "    env: [WF_TEST_MCP_VARIANT]\n",
    );
    let same = [("WF_TEST_MCP_VARIANT", "")];
    let changed = [("WF_TEST_MCP_VARIANT", "changed")];
    let no_read = [("WF_TEST_MCP_VARIANT", "no-read")];

    // Not pinned yet: a note, and the run goes ahead.
    let plan = repo.wf_env(&["plan", "task.yaml"], &same);
    plan.code(0);
    assert!(
        said(&plan).contains("MCP server `test` (`python3 mcp/server.py`) is not pinned in"),
        "{}",
        said(&plan)
    );

    let locked = repo.wf_env(&["lock", "task.yaml"], &same);
    locked.code(0);
    assert!(
        locked
            .stdout
            .contains("pinned  MCP python3 mcp/server.py (tools echo, read)"),
        "{}",
        said(&locked)
    );
    let lock = repo.read("wf.lock");
    assert!(
        lock.contains(
            "mcp:\n  - package: \"python3 mcp/server.py\"\n    tools:\n      \"echo\": \""
        ),
        "{lock}"
    );
    assert!(lock.contains("recipes: []"), "{lock}");
    // Locking again changes nothing.
    let again = repo.wf_env(&["lock", "task.yaml"], &same);
    again.code(0);
    assert!(
        again.stdout.contains("wf.lock is up to date"),
        "{}",
        said(&again)
    );

    let run = repo.wf_env(&["run", "task.yaml"], &same);
    run.code(0);
    assert!(!said(&run).contains("not pinned"), "{}", said(&run));
    assert_eq!(repo.runs().len(), 1);

    // Changed under the same pin: refused before any model request.
    for (env, what) in [
        (&changed, "`echo` changed (description or input schema)"),
        (&no_read, "`read` no longer offered"),
    ] {
        for command in ["run", "plan"] {
            let ran = repo.wf_env(&[command, "task.yaml"], env);
            ran.code(2);
            assert!(
                ran.stderr.contains(
                    "MCP server `test` (`python3 mcp/server.py`): its tool definitions changed under the same pin in ./wf.lock"
                ) && ran.stderr.contains(what)
                    && ran.stderr.contains("accept it with `wf lock --update test`"),
                "{command}: {}",
                ran.stderr
            );
        }
    }
    assert_eq!(repo.runs().len(), 1, "no run was recorded");
    // `wf lock` without --update refuses it too; with it, the pin moves.
    repo.wf_env(&["lock", "task.yaml"], &changed).code(2);
    let updated = repo.wf_env(&["lock", "task.yaml", "--update", "test"], &changed);
    updated.code(0);
    assert!(
        updated
            .stdout
            .contains("moved   MCP python3 mcp/server.py: changed tool echo"),
        "{}",
        said(&updated)
    );
    repo.wf_env(&["run", "task.yaml"], &changed).code(0);
    // And the old server is now the changed one.
    repo.wf_env(&["run", "task.yaml"], &same).code(2);
}

#[test]
fn a_resumed_run_answers_its_mcp_calls_from_the_recording_without_the_server() {
    // The server logs every start to a file outside the repository (a
    // directory the sandbox lets it write).
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("starts.log");
    let repo = Repo::new();
    repo.file("mcp/server.py", FIXTURE)
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: mcp-resume
model: {{ provider: script, script: turns.yaml }}
tools: [mcp__test__echo, write_file]
permissions: {{ write: [\"out/**\"] }}
mcp:
  test:
    command: [python3, mcp/server.py, --log, \"{log}\"]
    tools: [echo]
sandbox: {{ write: [\"{dir}\"] }}
prompt: Echo, then write the answer.
",
                log = log.display(),
                dir = logs.path().display()
            ),
        )
        .file(
            "turns.yaml",
            "turns:
  - tool_calls:
      - { name: mcp__test__echo, input: { message: hi } }
  - tool_calls:
      - { name: write_file, input: { path: out/answer.txt, content: \"echo: hi\\n\" } }
  - text: Done.
",
        )
        .commit();
    let starts = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .count()
    };
    // No terminal, no --yes: the run stops at the apply checkpoint.
    repo.wf(&["run", "task.yaml", "--trust-sandbox"]).code(3);
    assert!(!repo.exists("out/answer.txt"));
    // Once to list its tools, once in the workspace for the call.
    assert_eq!(starts(), 2, "{}", std::fs::read_to_string(&log).unwrap());
    repo.wf(&["approve", "last"]).code(0);
    let resumed = repo.wf(&["resume", "last"]);
    resumed.code(0);
    assert_eq!(repo.read("out/answer.txt"), "echo: hi\n");
    assert_eq!(
        starts(),
        2,
        "the resume started the server: {}",
        std::fs::read_to_string(&log).unwrap()
    );
    let r = results(&repo);
    assert_eq!(r[0]["output"], "echo: hi");
    assert_eq!(repo.last_summary()["status"], "succeeded");
}

/// A server process of a test, killed when dropped.
struct Served {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `ready` says so, for at most 20 s.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !ready() {
        assert!(start.elapsed().as_secs() < 20, "{what} did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The streamable-HTTP fixture (`tests/fixtures/mcp/http_server.py`) on a
/// free loopback port.
fn http_fixture() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("http_server.py");
    std::fs::write(&script, include_str!("../fixtures/mcp/http_server.py")).unwrap();
    let port_file = dir.path().join("port");
    let child = std::process::Command::new("python3")
        .arg(&script)
        .arg(&port_file)
        .spawn()
        .unwrap();
    wait_for("the HTTP fixture", || port_file.exists());
    let port = std::fs::read_to_string(&port_file).unwrap();
    Served {
        child,
        url: format!("http://127.0.0.1:{}/mcp", port.trim()),
        _dir: dir,
    }
}

fn remote_repo(server: &str, tools: &str, turns: &str) -> Repo {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        &format!(
            "wf: 1
name: mcp-remote
model: {{ provider: script, script: turns.yaml }}
tools: [{tools}]
mcp:
{server}
prompt: Use the server.
checkpoints: {{ apply: false }}
"
        ),
    )
    .file("turns.yaml", &format!("turns:\n{turns}  - text: Done.\n"))
    .commit();
    repo
}

#[test]
fn a_streamable_http_server_is_called_with_headers_from_the_environment_never_recorded() {
    let served = http_fixture();
    let repo = remote_repo(
        &format!(
            "  remote:
    url: {}
    headers: {{ Authorization: WF_TEST_MCP_AUTH }}
    tools: [echo, hang]
    call_timeout: 2s",
            served.url
        ),
        "mcp__remote__echo, mcp__remote__hang",
        "  - tool_calls:
      - { name: mcp__remote__echo, input: { message: hi } }
  - tool_calls:
      - { name: mcp__remote__hang, input: {} }
  - tool_calls:
      - { name: mcp__remote__echo, input: { message: again } }
",
    );
    let auth = [("WF_TEST_MCP_AUTH", "Bearer s3cret")];
    let plan = repo.wf_env(&["plan", "task.yaml"], &auth);
    plan.code(0);
    assert!(
        plan.stdout
            .contains("remote, streamable HTTP: network from wf itself, not sandboxed"),
        "{}",
        plan.stdout
    );
    assert!(
        said(&plan).contains(&format!(
            "MCP server `remote` is remote ({}): wf connects to it over the network",
            served.url
        )),
        "{}",
        said(&plan)
    );
    repo.wf_env(&["run", "task.yaml"], &auth).code(0);
    let r = results(&repo);
    // The answer came in an event stream, after a ping the client answered.
    assert_eq!(r[0]["output"], "echo: hi (pinged: True)", "{}", r[0]);
    assert_eq!(r[1]["ok"], false);
    let hang = r[1]["output"].as_str().unwrap();
    assert!(hang.contains("no answer within 2s"), "{hang}");
    assert!(hang.contains("a new one starts at the next call"), "{hang}");
    assert_eq!(r[2]["output"], "echo: again (pinged: True)", "{}", r[2]);
    let trace = std::fs::read_to_string(repo.runs().pop().unwrap().join("trace.jsonl")).unwrap();
    assert!(!trace.contains("s3cret"), "a header value was recorded");
    assert_eq!(
        events(&repo.last_trace(), "mcp_server")[0]["package"],
        served.url.as_str()
    );

    // A wrong token: refused at the listing, before any model request.
    let wrong = repo.wf_env(&["run", "task.yaml"], &[("WF_TEST_MCP_AUTH", "Bearer no")]);
    wrong.code(2);
    assert!(
        wrong.stderr.contains("MCP server `remote`") && wrong.stderr.contains("HTTP 401"),
        "{}",
        wrong.stderr
    );
    // No variable: named.
    let unset = repo.wf(&["run", "task.yaml"]);
    unset.code(2);
    assert!(
        unset.stderr.contains("needs `WF_TEST_MCP_AUTH`"),
        "{}",
        unset.stderr
    );
    assert_eq!(repo.runs().len(), 1);
}

#[test]
fn url_and_command_are_exclusive_and_a_url_is_checked() {
    let repo = remote_repo(
        "  both:
    command: [python3, s.py]
    url: http://127.0.0.1:1/mcp
    tools: [echo]
  neither:
    tools: [echo]
  bad:
    url: ftp://example.com/mcp
    env: [TOKEN]
    tools: [echo]",
        "mcp__both__echo",
        "",
    );
    let ran = repo.wf(&["validate", "task.yaml"]);
    ran.code(2);
    for expected in [
        "task.yaml:8:5",
        "MCP server `both` has both `command` and `url`",
        "MCP server `neither` has neither `command` nor `url`",
        "`ftp://example.com/mcp` is not an http:// or https:// URL",
        "a `url` server is not started",
    ] {
        assert!(ran.stderr.contains(expected), "{expected}: {}", ran.stderr);
    }
}

/// server-everything over streamable HTTP (`dist/index.js streamableHttp`,
/// port from `PORT`) on a free loopback port.
fn everything_over_http(modules: &std::path::Path) -> Served {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("node")
        .arg(modules.join("@modelcontextprotocol/server-everything/dist/index.js"))
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("server-everything", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    Served {
        child,
        url: format!("http://127.0.0.1:{port}/mcp"),
        _dir: tempfile::tempdir().unwrap(),
    }
}

#[test]
#[ignore = "runs the real npm MCP servers: .ci/run sets WF_MCP_NODE_MODULES and runs real_mcp_ tests with --ignored"]
fn real_mcp_the_everything_server_over_streamable_http_is_called_and_replayed_without_it() {
    let modules = node_modules();
    let served = everything_over_http(&modules);
    let repo = remote_repo(
        &format!(
            "  everything:\n    url: {}\n    tools: [echo, get-sum]",
            served.url
        ),
        "mcp__everything__echo, mcp__everything__get-sum",
        "  - tool_calls:
      - { name: mcp__everything__echo, input: { message: hello } }
      - { name: mcp__everything__get-sum, input: { a: 2, b: 3 } }
",
    );
    repo.wf(&["run", "task.yaml"]).code(0);
    let r = results(&repo);
    assert_eq!(r[0]["output"], "Echo: hello", "{}", r[0]);
    assert!(r[1]["output"].as_str().unwrap().contains('5'), "{}", r[1]);
    // The server is gone: a replay needs only the recording.
    drop(served);
    let replay = repo.wf(&["replay", "last"]);
    replay.code(0);
    assert!(replay.stdout.contains("reproduced"), "{}", said(&replay));
}

/// Before a plan is approved an MCP tool is refused like an edit or a
/// command (it can act outside the workspace); once approved, it runs.
#[test]
fn mcp_tools_wait_for_the_plan_to_be_approved() {
    let repo = Repo::new();
    repo.file("mcp/server.py", FIXTURE)
        .file(
            "task.yaml",
            "wf: 1
name: mcp-plan
model: { provider: script, script: turns.yaml }
tools: [mcp__test__echo]
mcp:
  test:
    command: [python3, mcp/server.py]
    tools: [echo]
prompt: Use the server.
checkpoints: { plan: true, apply: false }
",
        )
        .file(
            "turns.yaml",
            "turns:
  - tool_calls:
      - { name: mcp__test__echo, input: { message: early } }
  - text: \"Plan: echo once.\"
  - tool_calls:
      - { name: mcp__test__echo, input: { message: approved } }
  - text: Done.
",
        )
        .commit();
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    let r = results(&repo);
    assert_eq!(r[0]["ok"], false);
    assert!(
        r[0]["output"]
            .as_str()
            .unwrap()
            .contains("the plan has not been approved yet"),
        "{}",
        r[0]
    );
    let trace = repo.last_trace();
    let denied = events(&trace, "permission_denied");
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0]["rule"], "phase");
    assert_eq!(r[1]["ok"], true);
    assert_eq!(r[1]["output"], "echo: approved");
}

/// The server started to list tools runs in a workspace copy, not in the
/// repository: the user's ignored files (`.env`) are not there to read and
/// put in a tool description, which would reach the model and the trace.
#[test]
fn a_listing_server_cannot_read_the_users_ignored_files() {
    let repo = fixture_repo_with(
        "echo",
        "mcp__test__echo",
        "",
        "    env: [WF_TEST_MCP_VARIANT]\n",
    );
    repo.file(".gitignore", ".env\n")
        .file(".env", "API_KEY=sk-live-SECRET123\n")
        .commit();
    let env = [("WF_TEST_MCP_VARIANT", "peek")];
    let plan = repo.wf_env(&["plan", "task.yaml"], &env);
    plan.code(0);
    assert!(
        plan.stdout.contains(".env holds: nothing"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("SECRET123"), "{}", plan.stdout);
    repo.wf_env(&["run", "task.yaml"], &env).code(0);
    let trace = std::fs::read_to_string(repo.runs().pop().unwrap().join("trace.jsonl")).unwrap();
    assert!(!trace.contains("SECRET123"));
    assert!(trace.contains(".env holds: nothing"));
}

/// A server that stops reading cannot block wf: a request larger than the
/// pipe's buffer is written by a thread of its own, and the call ends at its
/// `call_timeout` like any hang. (The fixture is copied under another name,
/// so that other tests looking for left-over `mcp/server.py` processes do
/// not see this one while it sleeps.)
#[test]
fn a_server_that_stops_reading_cannot_block_the_run() {
    let big = "x".repeat(300_000);
    let repo = Repo::new();
    repo.file("mcp/deaf_server.py", FIXTURE)
        .file(
            "task.yaml",
            "wf: 1
name: mcp-deaf
model: { provider: script, script: turns.yaml }
tools: [mcp__test__echo]
mcp:
  test:
    command: [python3, mcp/deaf_server.py]
    tools: [echo]
    call_timeout: 2s
    env: [WF_TEST_MCP_VARIANT]
prompt: Use the server.
checkpoints: { apply: false }
",
        )
        .file(
            "turns.yaml",
            &format!(
                "turns:\n  - tool_calls:\n      - {{ name: mcp__test__echo, input: {{ message: \"{big}\" }} }}\n  - text: Done.\n"
            ),
        )
        .commit();
    let started = std::time::Instant::now();
    repo.wf_env(&["run", "task.yaml"], &[("WF_TEST_MCP_VARIANT", "deaf")])
        .code(0);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "the call ended at its timeout, not never"
    );
    let r = results(&repo);
    assert_eq!(r[0]["ok"], false);
    assert!(r[0]["output"].as_str().unwrap().contains("2s"), "{}", r[0]);
}
