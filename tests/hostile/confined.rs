//! Shared set-up of the attacks whose payload is a program a check runs:
//! a committed repository, a scripted model that ends at once, and the
//! attack as the task's one check (so it runs in the sandbox exactly as a
//! model-written test would).

use crate::cli::{Repo, events};

/// Quotes `s` as a YAML double-quoted string.
pub fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A committed repository with `attack.py` (the payload) and a task whose
/// one check runs `python3 attack.py`; `extra` adds top-level keys.
pub fn repo_with_check(payload: &str, extra: &str) -> Repo {
    repo_with_check_running(payload, "python3 attack.py", extra)
}

/// [`repo_with_check`] with the check's command `run`.
pub fn repo_with_check_running(payload: &str, run: &str, extra: &str) -> Repo {
    let repo = Repo::new();
    repo.file("src/lib.rs", "pub fn f() {}\n")
        .file("attack.py", payload)
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: hostile-check
model: {{ provider: script, script: turns.yaml }}
prompt: Nothing to do.
tools: [read_file]
limits: {{ max_repairs: 0 }}
checks:
  - {{ name: attack, run: {} }}
{extra}",
                quoted(run)
            ),
        )
        .file("turns.yaml", "turns:\n  - text: Done.\n")
        .commit();
    repo
}

/// The recorded output of the run's one check, which must have passed (the
/// payloads exit 0 and print what they managed).
pub fn check_output(repo: &Repo) -> String {
    let trace = repo.last_trace();
    let checks = events(&trace, "check_result");
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0]["passed"], true, "{}", checks[0]);
    checks[0]["output_tail"].as_str().unwrap().to_string()
}
