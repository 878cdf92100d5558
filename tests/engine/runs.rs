//! The run itself: the tool layer's permissions, the workspace the run
//! works in, the same events and diff for the same state (moved here from
//! `tests/cli/run.rs`: none needs a wf process).

use super::{repo, run_yes, task};
use crate::cli::{Repo, events, git};
use serde_json::Value;
use wf::engine::RunOptions;
use wf::record::event::RunStatus;

#[test]
fn escapes_and_protected_writes_are_denied_and_the_run_goes_on() {
    let repo = repo();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.join("config/out")).unwrap();
    std::fs::write(outside.path().join("secret.txt"), "top secret\n").unwrap();
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-qm", "link"]);
    let abs = outside.path().join("x.txt");
    task(
        &repo,
        "",
        &format!(
            "turns:
  - tool_calls:
      - {{ name: write_file, input: {{ path: migrations/002.sql, content: x }} }}
      - {{ name: write_file, input: {{ path: config/../../escape.txt, content: x }} }}
      - {{ name: write_file, input: {{ path: {}, content: x }} }}
      - {{ name: write_file, input: {{ path: config/out/planted.txt, content: x }} }}
      - {{ name: read_file, input: {{ path: config/out/secret.txt }} }}
      - {{ name: read_file, input: {{ path: .git/config }} }}
      - {{ name: write_file, input: {{ path: src/lib.rs, content: x }} }}
      - {{ name: write_file, input: \"{{not json\" }}
      - {{ name: launch_missiles, input: {{}} }}
  - tool_calls:
      - {{ name: write_file, input: {{ path: config/app.toml, content: ok }} }}
  - text: Done.
",
            abs.display()
        ),
    );
    let ran = run_yes(&repo, "task.yaml");
    assert_eq!(
        ran.outcome.status,
        RunStatus::Succeeded,
        "{:?}",
        ran.outcome
    );
    let trace = repo.last_trace();
    let denied: Vec<(String, String)> = events(&trace, "permission_denied")
        .iter()
        .map(|e| {
            (
                e["rule"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let rules: Vec<&str> = denied.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        rules,
        [
            "protect", "escape", "escape", "escape", "escape", "internal", "write"
        ],
        "{denied:?}"
    );
    assert_eq!(
        denied[0].1,
        "write to migrations/002.sql denied: protected by permissions.protect"
    );
    assert!(denied[3].1.contains("symlink"), "{denied:?}");
    let results = events(&trace, "tool_result");
    assert!(
        results[7]["output"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{:?}",
        results[7]
    );
    assert!(
        results[8]["output"]
            .as_str()
            .unwrap()
            .contains("unknown tool `launch_missiles`"),
        "{:?}",
        results[8]
    );
    assert!(results[..9].iter().all(|r| r["ok"] == false));
    // Nothing escaped, nothing protected changed, the allowed write landed.
    assert!(!abs.exists() && !outside.path().join("planted.txt").exists());
    assert!(!repo.path().parent().unwrap().join("escape.txt").exists());
    assert_eq!(repo.read("migrations/001.sql"), "CREATE TABLE t (x INT);\n");
    assert_eq!(repo.read("config/app.toml"), "ok");
    // The model was told why: each denial is the content of its call's
    // tool result, recorded before the next request to the model (the
    // tool results of a turn are what that request carries back).
    let denials = events(&trace, "permission_denied");
    assert_eq!(denials.len(), 7);
    let second_request = trace
        .iter()
        .position(|e| e["kind"] == "model_request" && e["turn"] == 2)
        .expect("a second request");
    for denial in denials {
        let id = denial["call_id"].as_str().unwrap();
        let at = trace
            .iter()
            .position(|e| e["kind"] == "tool_result" && e["call_id"] == id)
            .unwrap_or_else(|| panic!("no tool_result for {id}"));
        let result = &trace[at];
        assert_eq!(result["ok"], false, "{result}");
        assert_eq!(result["output"], denial["message"], "{result}");
        assert!(at < second_request, "{id} answered after the next request");
    }
    assert_eq!(
        results[0]["output"],
        "write to migrations/002.sql denied: protected by permissions.protect"
    );
}

#[test]
fn uncommitted_changes_are_in_the_workspace_and_checks_never_touch_the_tree() {
    let repo = repo();
    repo.file("config/app.ini", "[server]\nport = 9090\n");
    repo.file("notes.txt", "untracked but not ignored\n");
    task(
        &repo,
        "checks:\n  - { name: sees-edit, run: \"grep -q 9090 config/app.ini && test -f notes.txt && touch check-was-here\" }\n",
        "turns:
  - tool_calls:
      - { name: read_file, input: { path: config/app.ini } }
  - text: Done.
",
    );
    let ran = run_yes(&repo, "task.yaml");
    assert_eq!(
        ran.outcome.status,
        RunStatus::Succeeded,
        "{:?}",
        ran.outcome
    );
    let trace = repo.last_trace();
    assert!(
        events(&trace, "tool_result")[0]["output"]
            .as_str()
            .unwrap()
            .contains("9090")
    );
    assert!(
        !repo.exists("check-was-here"),
        "a check ran in the user's tree"
    );
}

#[test]
fn two_runs_of_the_same_state_make_the_same_events_requests_and_diff() {
    let make = || {
        let repo = repo();
        task(
            &repo,
            "checks:\n  - { name: t, run: \"test -f config/app.toml\" }\n",
            "turns:
  - tool_calls:
      - { name: read_file, input: { path: config/app.ini } }
      - { name: search, input: { pattern: port } }
      - { name: write_file, input: { path: config/app.toml, content: \"port = 8080\\n\" } }
  - text: Done.
",
        );
        repo.commit();
        repo
    };
    let run = |repo: &Repo| -> (Vec<Value>, String) {
        let options = RunOptions {
            dry_run: true,
            ..RunOptions::default()
        };
        let ran = super::run(repo, "task.yaml", options, Vec::new());
        assert_eq!(ran.outcome.status, RunStatus::DryRun, "{:?}", ran.outcome);
        let trace = repo.last_trace();
        let patch = std::fs::read_to_string(repo.runs().pop().unwrap().join("diff.patch")).unwrap();
        let comparable = trace
            .into_iter()
            .map(|mut e| {
                for f in [
                    "t_ms",
                    "duration_ms",
                    "at",
                    "run_id",
                    "by",
                    "via",
                    "wf_version",
                    "base_revision",
                    "hash",
                ] {
                    e.as_object_mut().unwrap().remove(f);
                }
                e
            })
            .collect();
        (comparable, patch)
    };
    let (a, b) = (make(), make());
    let (ta, pa) = run(&a);
    let (tb, pb) = run(&b);
    assert_eq!(pa, pb, "diffs differ");
    assert_eq!(ta.len(), tb.len());
    for (x, y) in ta.iter().zip(&tb) {
        assert_eq!(x, y, "events differ");
    }
    // And the same repository twice.
    let (ta2, _) = run(&a);
    let hashes = |t: &[Value]| -> Vec<Value> {
        events(t, "model_request")
            .iter()
            .map(|e| e["request_hash"].clone())
            .collect()
    };
    assert_eq!(hashes(&ta), hashes(&ta2));
}
