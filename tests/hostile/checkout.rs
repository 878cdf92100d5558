//! `wf run --workspace checkout` (issue 23, item 4): the run works in the
//! checkout itself, so its commands write where the repository's `.git`
//! and wf's `.wf` live. A scripted model writes a script that plants a
//! `core.fsmonitor` program in `.git/config`, a hook, a file in `.wf/`
//! and one outside the checkout, and runs it (as a check, then as a
//! `shell` call): none of it may stay unnoticed, and the checkout ends as
//! it started unless an approved change is all that is in it.
//!
//! Checkout mode runs at the full level only: at `landlock` the same
//! attack got `core.fsmonitor` into `.git/config`, which the next git
//! command of the job (this test's own `git status`) ran. There the run
//! is refused before anything runs.

use crate::cli::{Ran, Repo, events};

/// The attack: every write is tried; each that gets through says so, and
/// the script fails if any was refused.
const EVIL: &str = "#!/bin/sh
failed=0
try() { if sh -c \"$1\" 2>/dev/null; then echo \"WROTE $2\"; else failed=1; fi; }
try \"printf '[core]\\n\\tfsmonitor = touch PWNED-FSMONITOR\\n' >> .git/config\" git-config
try \"printf '#!/bin/sh\\ntouch PWNED-HOOK\\n' > .git/hooks/post-checkout && chmod +x .git/hooks/post-checkout\" hook
try \"echo planted > .wf/planted\" wf
try \"echo planted > ../outside-the-checkout\" outside
try \"echo planted > .venv/bin/python3 && echo planted > node_modules/.bin/jest\" toolchain
exit $failed
";

fn setup(repo: &Repo, turns: &str, check: &str) {
    // Ignored toolchain directories the job installed before wf ran.
    repo.file(".venv/bin/python3", "real\n")
        .file("node_modules/.bin/jest", "real\n");
    repo.file(".gitignore", ".wf/\n.venv/\nnode_modules/\n")
        .file("a.txt", "start\n")
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: co
model: {{ provider: script, script: turns.yaml }}
tools: [write_file, shell]
permissions:
  write: [\"**\"]
  shell: {{ allow: [\"sh evil.sh\"] }}
prompt: Change things.
checks:
  - {{ name: check, run: {check:?} }}
"
            ),
        )
        .file("turns.yaml", turns)
        .commit();
}

/// What must never change: `.git/config`, the hooks, `.wf` but for runs,
/// the ignored toolchain directories.
fn guarded(repo: &Repo) -> (String, String, bool, bool, bool) {
    (
        repo.read(".git/config"),
        repo.read(".venv/bin/python3") + &repo.read("node_modules/.bin/jest"),
        repo.exists(".git/hooks/post-checkout"),
        repo.exists(".wf/planted"),
        repo.path()
            .parent()
            .unwrap()
            .join("outside-the-checkout")
            .exists(),
    )
}

const WRITE_EVIL: &str =
    "      - { name: write_file, input: { path: evil.sh, content: %EVIL% } }\n";

fn turns(extra: &str) -> String {
    format!(
        "turns:\n  - tool_calls:\n{}      - {{ name: write_file, input: {{ path: a.txt, content: \"changed\\n\" }} }}\n{extra}  - text: Done.\n  - text: I give up.\n  - text: Still no.\n",
        WRITE_EVIL.replace("%EVIL%", &serde_json::to_string(EVIL).unwrap())
    )
}

/// Runs the task in checkout mode; at the `landlock` level, asserts the
/// refusal and that nothing ran, and gives `None`.
fn run(repo: &Repo) -> Option<Ran> {
    let ran = repo.wf_env(
        &["run", "task.yaml", "--yes", "--workspace", "checkout"],
        &[("CI", "true")],
    );
    if crate::full_level() {
        return Some(ran);
    }
    ran.code(2);
    assert!(
        ran.stderr.contains("needs the sandbox's full level"),
        "{}",
        ran.stderr
    );
    assert!(repo.runs().is_empty());
    assert_eq!(repo.status(), "");
    None
}

#[test]
fn a_check_writing_git_wf_or_outside_fails_and_the_checkout_goes_back_to_its_start() {
    let repo = Repo::new();
    // The check runs the model's script, which fails if any write was
    // refused.
    setup(&repo, &turns(""), "sh evil.sh");
    let before = guarded(&repo);
    let Some(ran) = run(&repo) else { return };
    assert_ne!(ran.code, 0, "{}", ran.stderr);
    let trace = repo.last_trace();
    let check = events(&trace, "check_result")[0];
    assert_eq!(check["passed"], false, "{check}");
    // Bound read-only: no write reached .git or .wf. (`../` is the view's
    // own, private directory: a write there is never seen outside.)
    let tail = check["output_tail"].as_str().unwrap();
    for target in ["git-config", "hook", "wf", "toolchain"] {
        assert!(!tail.contains(&format!("WROTE {target}\n")), "{tail}");
    }
    assert_eq!(guarded(&repo), before, "{}", ran.stderr);
    // Nothing was applied and the checkout is its start again.
    assert!(events(&trace, "applied").is_empty());
    assert_eq!(repo.read("a.txt"), "start\n");
    assert!(!repo.exists("evil.sh"));
    assert_eq!(repo.status(), "");
    assert!(!repo.exists("PWNED-FSMONITOR") && !repo.exists("PWNED-HOOK"));
}

#[test]
fn a_shell_call_writing_git_gets_nothing_and_only_the_approved_change_stays() {
    let repo = Repo::new();
    setup(
        &repo,
        &turns("      - { name: shell, input: { command: sh evil.sh } }\n"),
        "cat a.txt",
    );
    let before = guarded(&repo);
    let Some(ran) = run(&repo) else { return };
    ran.code(0);
    let trace = repo.last_trace();
    let call = events(&trace, "tool_result")
        .into_iter()
        .find(|e| e["tool"] == "shell")
        .expect("the shell call ran")
        .clone();
    // Refused (the script says so by failing), nothing written.
    assert_eq!(call["exit_code"], 1, "{call}");
    assert!(
        !call["output"]
            .as_str()
            .unwrap()
            .contains("WROTE git-config"),
        "{call}"
    );
    assert_eq!(guarded(&repo), before);
    // The approved change (the script the model wrote is part of it).
    assert_eq!(repo.read("a.txt"), "changed\n");
    assert_eq!(repo.status(), " M a.txt\n?? evil.sh\n");
    assert!(!repo.exists("PWNED-FSMONITOR") && !repo.exists("PWNED-HOOK"));
}

#[test]
fn a_toolchain_link_a_check_replaced_is_put_back() {
    // The job links a shared virtualenv into the checkout; a check swaps
    // the link for a directory of its own holding a planted interpreter,
    // which `git clean` (keeping the start's ignored paths) would keep
    // for the job's next step.
    let shared = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(shared.path().join("bin")).unwrap();
    std::fs::write(shared.path().join("bin/python3"), "real\n").unwrap();
    let repo = Repo::new();
    std::os::unix::fs::symlink(shared.path(), repo.path().join(".venv")).unwrap();
    repo.file(".gitignore", ".wf/\n.venv\n")
        .file("a.txt", "start\n")
        .file(
            "task.yaml",
            "wf: 1
name: co-link
model: { provider: script, script: turns.yaml }
tools: [write_file]
permissions: { write: [\"**\"] }
prompt: Change things.
limits: { max_repairs: 0 }
checks:
  - name: swap
    run: \"rm .venv && mkdir -p .venv/bin && echo planted > .venv/bin/python3 && echo SWAPPED\"
",
        )
        .file(
            "turns.yaml",
            "turns:\n  - tool_calls:\n      - { name: write_file, input: { path: a.txt, content: \"changed\\n\" } }\n  - text: Done.\n",
        )
        .commit();
    let Some(ran) = run(&repo) else { return };
    assert_ne!(ran.code, 0, "{}", ran.stderr);
    let trace = repo.last_trace();
    let check = events(&trace, "check_result")[0];
    assert!(
        check["output_tail"].as_str().unwrap().contains("SWAPPED"),
        "the swap is possible in a writable checkout: {check}"
    );
    assert!(events(&trace, "applied").is_empty());
    assert_eq!(
        std::fs::read_link(repo.path().join(".venv")).unwrap(),
        shared.path(),
        "the link was not put back"
    );
    assert_eq!(
        std::fs::read_to_string(shared.path().join("bin/python3")).unwrap(),
        "real\n"
    );
    assert_eq!(repo.read("a.txt"), "start\n");
    assert_eq!(repo.status(), "");
}
