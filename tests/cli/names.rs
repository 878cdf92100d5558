//! Task files by name (`wf run migrate-config` from anywhere in the
//! repository), `wf list`, and the task names the shell completions offer.

use super::{Ran, Repo, events, wf_bin};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const TASK: &str = "wf: 1
name: migrate
description: Write the TOML config.
inputs:
  target: { type: path, default: config/app.toml, description: Where to write }
  owner: { type: string }
model: { provider: script, script: turns.yaml }
tools: [write_file]
permissions: { write: [\"config/**\"] }
prompt: Write {{ inputs.target }} for {{ inputs.owner }}.
";

const TURNS: &str = "turns:
  - tool_calls:
      - { name: write_file, input: { path: config/app.toml, content: \"port = 8080\\n\" } }
  - text: Done.
";

/// A repository with `workflows/migrate-config.yaml` (and its script) and
/// a subfolder `src/deep`.
fn repo() -> Repo {
    let repo = Repo::new();
    repo.file("workflows/migrate-config.yaml", TASK)
        .file("workflows/turns.yaml", TURNS)
        .file("src/deep/lib.rs", "pub fn f() {}\n")
        .commit();
    repo
}

/// wf in `sub` of the repository, stdin closed, no terminal.
fn wf_in(repo: &Repo, sub: &str, args: &[&str]) -> Ran {
    wf_at(&repo.join(sub), repo.tmp(), args)
}

fn wf_at(dir: &Path, tmp: &Path, args: &[&str]) -> Ran {
    let out = Command::new(wf_bin())
        .args(args)
        .current_dir(dir)
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .env("NO_COLOR", "1")
        .env("TMPDIR", tmp)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn spec_path(repo: &Repo) -> String {
    let trace = repo.last_trace();
    events(&trace, "run_started")[0]["spec_path"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_name_runs_from_the_root_and_from_a_subfolder_with_or_without_extension() {
    let repo = repo();
    for (dir, name, recorded) in [
        ("", "migrate-config.yaml", "workflows/migrate-config.yaml"),
        ("", "migrate-config", "workflows/migrate-config.yaml"),
        (
            "src/deep",
            "migrate-config.yaml",
            "../../workflows/migrate-config.yaml",
        ),
        (
            "src/deep",
            "migrate-config",
            "../../workflows/migrate-config.yaml",
        ),
    ] {
        let before = repo.runs().len();
        let ran = wf_in(&repo, dir, &["run", name, "--dry-run", "-i", "owner=ops"]);
        ran.code(0);
        assert_eq!(repo.runs().len(), before + 1, "{}", ran.stderr);
        assert_eq!(repo.last_summary()["status"], "dry_run");
        // The trace records the path as typed from there, so replay (and
        // resume) find the task file as they always did.
        assert_eq!(spec_path(&repo), recorded, "{dir}: {name}");
        let replay = wf_in(&repo, dir, &["replay", "last"]);
        replay.code(0);
        assert!(replay.stdout.contains("reproduced"), "{}", replay.stdout);
    }
    // The user's tree never changed (dry runs).
    assert!(!repo.exists("config/app.toml"));
}

#[test]
fn plan_validate_lock_test_and_emit_take_names_too() {
    let repo = repo();
    let plan = wf_in(&repo, "src", &["plan", "migrate-config", "-i", "owner=ops"]);
    plan.code(0);
    assert!(
        plan.stdout
            .contains("plan: migrate  (../workflows/migrate-config.yaml)"),
        "{}",
        plan.stdout
    );
    let validate = wf_in(&repo, "src/deep", &["validate", "migrate-config.yaml"]);
    validate.code(0);
    assert!(
        validate
            .stdout
            .contains("ok    ../../workflows/migrate-config.yaml"),
        "{}",
        validate.stdout
    );
    let lock = wf_in(&repo, "src", &["lock", "migrate-config"]);
    lock.code(0);
    assert!(lock.stdout.contains("nothing to lock"), "{}", lock.stdout);
    // `wf test NAME` runs the recipe tests whose recipe is that task file.
    repo.file("workflows/tests/fixture/README", "fixture\n")
        .file(
            "workflows/tests/migrate.test.yaml",
            "recipe: ../migrate-config.yaml
tests:
  - name: writes-the-toml
    fixture: fixture
    inputs: { owner: ops }
    turns:
      - tool_calls:
          - { name: write_file, input: { path: config/app.toml, content: \"port = 8080\\n\" } }
      - text: Done.
    expect:
      files:
        config/app.toml: { equals: \"port = 8080\\n\" }
",
        )
        .commit();
    let test = wf_in(&repo, "src", &["test", "migrate-config"]);
    test.code(0);
    assert!(
        test.stdout
            .contains("ok    ../workflows/tests/migrate.test.yaml::writes-the-toml"),
        "{}",
        test.stdout
    );
    // A task with no tests says so.
    repo.file(
        "workflows/other.yaml",
        &TASK.replace("name: migrate", "name: other"),
    );
    let none = wf_in(&repo, "src", &["test", "other"]);
    none.code(2);
    assert!(
        none.stderr
            .contains("no recipe tests for ../workflows/other.yaml"),
        "{}",
        none.stderr
    );
    // emit names the task by its path in the repository.
    repo.file("repos.txt", "https://example.invalid/a.git\n");
    let emit = wf_in(
        &repo,
        "src",
        &[
            "emit",
            "k8s",
            "migrate-config",
            "--repos",
            "../repos.txt",
            "--image",
            "wf:1",
        ],
    );
    emit.code(0);
    assert!(
        emit.stdout.contains("workflows/migrate-config.yaml"),
        "{}",
        emit.stdout
    );
}

#[test]
fn an_existing_path_wins_over_a_name() {
    let repo = repo();
    // A file named like the task, in the current folder, is what runs.
    repo.file(
        "src/migrate-config.yaml",
        &TASK
            .replace("name: migrate", "name: local")
            .replace("turns.yaml", "../workflows/turns.yaml"),
    );
    let plan = wf_in(
        &repo,
        "src",
        &["plan", "migrate-config.yaml", "-i", "owner=x"],
    );
    plan.code(0);
    assert!(
        plan.stdout.contains("plan: local  (migrate-config.yaml)"),
        "{}",
        plan.stdout
    );
}

#[test]
fn an_ambiguous_name_lists_the_candidates() {
    let repo = repo();
    repo.file(
        "workflows/team/migrate-config.yml",
        &TASK.replace("turns.yaml", "../turns.yaml"),
    )
    .commit();
    let ran = wf_in(&repo, "src", &["run", "migrate-config", "--dry-run"]);
    ran.code(2);
    assert!(
        ran.stderr.contains("`migrate-config` names 2 task files"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("  ../workflows/migrate-config.yaml\n")
            && ran
                .stderr
                .contains("  ../workflows/team/migrate-config.yml\n"),
        "{}",
        ran.stderr
    );
    assert!(repo.runs().is_empty());
    // The extension, or the path inside the folder, settles it.
    wf_in(
        &repo,
        "src",
        &["plan", "migrate-config.yml", "-i", "owner=x"],
    )
    .code(0);
    wf_in(
        &repo,
        "src",
        &["plan", "team/migrate-config", "-i", "owner=x"],
    )
    .code(0);
}

#[test]
fn a_typo_says_where_wf_looked_and_suggests_the_name() {
    let repo = repo();
    let ran = wf_in(
        &repo,
        "src/deep",
        &["run", "migrate-confg.yaml", "--dry-run"],
    );
    ran.code(2);
    let e = &ran.stderr;
    assert!(
        e.contains("error: no task file `migrate-confg.yaml`: not a path from here"),
        "{e}"
    );
    assert!(e.contains("workflows/ (the default;"), "{e}");
    assert!(e.contains("did you mean `migrate-config`?"), "{e}");
    assert!(e.contains("`wf list` lists the 1 task file"), "{e}");
    assert!(repo.runs().is_empty());
    // batch resolves the same way, before anything runs.
    repo.file("repos.txt", "../elsewhere\n");
    let batch = wf_in(
        &repo,
        "",
        &["batch", "migrate-confg", "--repos", "repos.txt"],
    );
    batch.code(2);
    assert!(
        batch.stderr.contains("did you mean `migrate-config`?"),
        "{}",
        batch.stderr
    );
}

#[test]
fn wf_tasks_at_the_root_sets_the_task_folders() {
    let repo = repo();
    repo.file(
        "ops/tasks/deploy.yaml",
        &TASK.replace("name: migrate", "name: deploy"),
    )
    .file("ops/tasks/turns.yaml", TURNS)
    .file("wf.tasks", "# where our task files live\nops/tasks\n")
    .commit();
    let plan = wf_in(&repo, "src", &["plan", "deploy", "-i", "owner=x"]);
    plan.code(0);
    // The default folder is no longer looked in.
    let ran = wf_in(&repo, "src", &["plan", "migrate-config"]);
    ran.code(2);
    assert!(
        ran.stderr.contains("in ops/tasks/ (as wf.tasks lists)"),
        "{}",
        ran.stderr
    );
    // `wf init` writes into the first task folder, where names are found.
    wf_in(&repo, "src", &["init", "rotate-keys"]).code(0);
    assert!(repo.exists("ops/tasks/rotate-keys.yaml"));
    wf_in(&repo, "src", &["validate", "rotate-keys"]).code(0);
    // A folder outside the repository is refused, naming the line.
    repo.file("wf.tasks", "ops/tasks\n../../etc\n");
    let bad = wf_in(&repo, "", &["list"]);
    bad.code(2);
    assert!(
        bad.stderr
            .contains("wf.tasks:2: `../../etc` leaves the repository through `..`"),
        "{}",
        bad.stderr
    );
}

#[test]
fn wf_list_shows_names_descriptions_inputs_and_validity() {
    let repo = repo();
    repo.file(
        "workflows/broken.yaml",
        "wf: 1\nname: broken\ndescription: Half done.\npromt: x\n",
    )
    .file(
        "workflows/tests/x.test.yaml",
        "recipe: ../migrate-config.yaml\ntests: []\n",
    )
    .commit();
    let human = wf_in(&repo, "src/deep", &["list"]);
    human.code(0);
    assert_eq!(
        human.stdout,
        "2 task files in workflows/
  broken          INVALID: workflows/broken.yaml:1:1: missing required key `model` (and 1 more)
  migrate-config  Write the TOML config.
                  inputs: owner* (string), target (path, default config/app.toml)
* required: give it with -i NAME=VALUE
"
    );
    let json = wf_in(&repo, "src/deep", &["list", "--json"]);
    json.code(0);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["folders"], serde_json::json!(["workflows"]));
    assert_eq!(v["configured"], false);
    let tasks = v["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0]["name"], "broken");
    assert_eq!(tasks[0]["valid"], false);
    assert_eq!(tasks[0]["description"], "Half done.");
    assert_eq!(tasks[1]["name"], "migrate-config");
    assert_eq!(tasks[1]["path"], "workflows/migrate-config.yaml");
    assert_eq!(tasks[1]["task"], "migrate");
    assert_eq!(tasks[1]["valid"], true);
    assert_eq!(tasks[1]["inputs"][0]["name"], "owner");
    assert_eq!(tasks[1]["inputs"][0]["required"], true);
    assert_eq!(tasks[1]["inputs"][1]["name"], "target");
    assert_eq!(tasks[1]["inputs"][1]["required"], false);
    assert_eq!(tasks[1]["inputs"][1]["default"], "config/app.toml");
    // The same from the root: the listing does not depend on where it runs.
    assert_eq!(wf_in(&repo, "", &["list", "--json"]).stdout, json.stdout);
    let names = wf_in(&repo, "src", &["list", "--names"]);
    assert_eq!(names.stdout, "broken\nmigrate-config\n");
}

/// This project's own `workflows/`: every shipped task file listed, valid.
#[test]
fn wf_list_lists_every_shipped_task_file_as_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let ran = wf_at(&root.join("src"), tmp.path(), &["list", "--json"]);
    ran.code(0);
    let v: Value = serde_json::from_str(&ran.stdout).unwrap();
    let listed: Vec<(&str, &str, bool)> = v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap(),
                t["path"].as_str().unwrap(),
                t["valid"].as_bool().unwrap(),
            )
        })
        .collect();
    let mut shipped: Vec<String> = std::fs::read_dir(root.join("workflows"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    shipped.sort();
    assert!(shipped.len() >= 6, "{shipped:?}");
    let expected: Vec<(String, String, bool)> = shipped
        .iter()
        .map(|f| {
            (
                f.trim_end_matches(".yaml").to_string(),
                format!("workflows/{f}"),
                true,
            )
        })
        .collect();
    let listed: Vec<(String, String, bool)> = listed
        .into_iter()
        .map(|(n, p, ok)| (n.to_string(), p.to_string(), ok))
        .collect();
    assert_eq!(listed, expected, "{}", ran.stdout);
    for t in v["tasks"].as_array().unwrap() {
        assert!(
            t["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{t}"
        );
    }
}

/// Runs bash's completion function of `wf completions bash` for `line`
/// (completing its last word) in `dir`, with wf on PATH.
fn complete_bash(dir: &Path, tmp: &Path, words: &[&str]) -> Vec<String> {
    let script = tmp.join("wf.bash");
    let generated = wf_at(dir, tmp, &["completions", "bash"]);
    generated.code(0);
    std::fs::write(&script, &generated.stdout).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'
COMP_WORDS=({})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE=\"${{COMP_WORDS[*]}}\"
COMP_POINT=${{#COMP_LINE}}
COMPREPLY=()
complete -p wf | grep -q _wf_with_task_names || exit 9
_wf_with_task_names wf \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"
printf '%s\\n' \"${{COMPREPLY[@]}}\"
",
        script.display(),
        quoted.join(" ")
    );
    let bin_dir = Path::new(wf_bin()).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .current_dir(dir)
        .env("PATH", path)
        .env("TMPDIR", tmp)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    got.sort();
    got
}

#[test]
fn bash_completion_offers_task_names_where_a_task_file_goes() {
    let repo = repo();
    repo.file(
        "workflows/fix-clippy.yaml",
        &TASK.replace("name: migrate", "name: fix-clippy"),
    )
    .commit();
    let dir = repo.join("src");
    let tmp = repo.tmp();
    let c = |words: &[&str]| complete_bash(&dir, tmp, words);
    // The task of run, from a subfolder: names, then files of the folder.
    assert_eq!(c(&["wf", "run", "mig"]), ["migrate-config"]);
    assert_eq!(
        c(&["wf", "run", ""]),
        ["deep", "fix-clippy", "migrate-config"]
    );
    assert_eq!(c(&["wf", "plan", "-i", "owner=x", "fi"]), ["fix-clippy"]);
    assert_eq!(c(&["wf", "emit", "github", "m"]), ["migrate-config"]);
    // validate, lock and test take many: every positional is one.
    assert_eq!(
        c(&["wf", "validate", "fix-clippy", "m"]),
        ["migrate-config"]
    );
    // Not after the task is given, not for an option's value, not for
    // other subcommands.
    assert!(!c(&["wf", "run", "fix-clippy", ""]).contains(&"migrate-config".to_string()));
    assert!(!c(&["wf", "run", "--model", "m"]).contains(&"migrate-config".to_string()));
    assert!(!c(&["wf", "show", "m"]).contains(&"migrate-config".to_string()));
    // Options still complete through clap's script.
    assert!(c(&["wf", "run", "--dry"]).contains(&"--dry-run".to_string()));
}

/// The README shows the short form; it runs as written, from a subfolder
/// of a repository holding this project's `workflows/` (the anthropic model
/// of the shipped task file answered by a local server).
#[test]
fn the_readme_short_form_runs_the_shipped_migrate_config() {
    use crate::providers::server::{Reply, TestServer};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.trim_start().starts_with("wf run migrate-config.yaml"))
        .expect("the README shows `wf run migrate-config.yaml`");
    let command: Vec<&str> = line
        .split('#')
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .collect();
    assert!(command.contains(&"--dry-run"), "{line}");
    // The recipe tests' fixture: a Rust crate reading config/app.ini.
    let repo = Repo::new();
    copy_dir(
        &root.join("workflows/tests/fixtures/ini-service"),
        repo.path(),
    );
    repo.file(
        "workflows/migrate-config.yaml",
        &std::fs::read_to_string(root.join("workflows/migrate-config.yaml")).unwrap(),
    )
    .commit();
    let sse = |events: &[Value]| -> String {
        events
            .iter()
            .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
            .collect()
    };
    let start = |id: &str| {
        serde_json::json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant", "content": [],
            "model": "claude-sonnet-4-5", "stop_reason": null,
            "usage": {"input_tokens": 10, "output_tokens": 1}}})
    };
    let write = sse(&[
        start("msg_1"),
        serde_json::json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "write_file", "input": {}}}),
        serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"path\": \"config/app.toml\", \"content\": \"port = 8080\\n\"}"}}),
        serde_json::json!({"type": "content_block_stop", "index": 0}),
        serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 20}}),
        serde_json::json!({"type": "message_stop"}),
    ]);
    let done = sse(&[
        start("msg_2"),
        serde_json::json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Done."}}),
        serde_json::json!({"type": "content_block_stop", "index": 0}),
        serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 3}}),
        serde_json::json!({"type": "message_stop"}),
    ]);
    let server = TestServer::start(vec![Reply::sse(write), Reply::sse(done)]);
    let out = Command::new(wf_bin())
        .args(&command)
        .current_dir(repo.join("src"))
        .env("ANTHROPIC_BASE_URL", &server.url)
        .env("ANTHROPIC_API_KEY", "sk-test")
        .env("NO_COLOR", "1")
        .env("TMPDIR", repo.tmp())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(server.requests().len(), 2);
    let summary = repo.last_summary();
    assert_eq!(summary["status"], "dry_run");
    // The shipped checks (cargo build, cargo test) ran on the change.
    let checks = summary["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2, "{summary}");
    assert!(checks.iter().all(|c| c["passed"] == true), "{summary}");
    assert_eq!(spec_path(&repo), "../workflows/migrate-config.yaml");
    assert!(!repo.exists("config/app.toml"), "a dry run applies nothing");
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
