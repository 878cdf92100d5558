//! `wf run --workspace checkout`: the run works in the checkout itself (a
//! disposable CI checkout). Refused outside CI, in a checkout with
//! changes and with the sandbox off; an approved change stays in place
//! and nothing else does; any other end puts the start back.

use super::{Repo, events, git};

/// A task whose scripted model edits `a.txt` and creates `new.txt`, with
/// `check` as its one check.
fn task(repo: &Repo, check: &str) {
    repo.file(".gitignore", ".wf/\nnode_modules/\n")
        .file("a.txt", "start\n")
        .file(
            "task.yaml",
            &format!(
                "wf: 1
name: co
model: {{ provider: script, script: turns.yaml }}
tools: [write_file]
permissions: {{ write: [\"**\"] }}
prompt: Change things.
checks:
  - {{ name: check, run: {check:?} }}
"
            ),
        )
        .file(
            "turns.yaml",
            "turns:
  - tool_calls:
      - { name: write_file, input: { path: new.txt, content: \"new\\n\" } }
      - { name: write_file, input: { path: a.txt, content: \"changed\\n\" } }
  - text: Done.
",
        )
        .commit();
    // Ignored and present at the start: the runner's, never touched.
    repo.file("node_modules/dep.js", "dep\n");
}

const CI: &[(&str, &str)] = &[("CI", "true")];

/// At the `landlock` level checkout mode is refused before anything runs
/// (see `hostile::checkout` for why): asserts that, and says so.
fn refused_below_full(repo: &Repo) -> bool {
    if crate::full_level() {
        return false;
    }
    let ran = repo.wf_env(
        &["run", "task.yaml", "--yes", "--workspace", "checkout"],
        CI,
    );
    ran.code(2);
    assert!(
        ran.stderr.contains("needs the sandbox's full level"),
        "{}",
        ran.stderr
    );
    assert!(repo.runs().is_empty());
    true
}

/// Every file of the checkout but `.git` and `.wf`, with its content.
fn files(repo: &Repo) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![repo.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(repo.path())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel == ".git" || rel == ".wf" {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((rel, std::fs::read_to_string(&path).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn checkout_mode_is_refused_outside_ci_with_changes_or_without_the_sandbox() {
    let repo = Repo::new();
    task(&repo, "true");
    let start = files(&repo);

    let ran = repo.wf_env(
        &["run", "task.yaml", "--yes", "--workspace", "checkout"],
        &[("CI", "")],
    );
    ran.code(2);
    assert!(
        ran.stderr.contains("`CI` is not set here"),
        "{}",
        ran.stderr
    );
    assert!(repo.runs().is_empty(), "refused before any run starts");

    let ran = repo.wf_env(
        &[
            "run",
            "task.yaml",
            "--yes",
            "--workspace",
            "checkout",
            "--sandbox",
            "off",
        ],
        CI,
    );
    ran.code(2);
    assert!(ran.stderr.contains("needs the sandbox"), "{}", ran.stderr);
    if refused_below_full(&repo) {
        return;
    }

    // An uncommitted edit and an untracked file: refused, naming them.
    repo.file("a.txt", "mine\n").file("notes.md", "mine too\n");
    let ran = repo.wf_env(
        &["run", "task.yaml", "--yes", "--workspace", "checkout"],
        CI,
    );
    ran.code(1);
    assert!(
        ran.stderr
            .contains("the checkout has changes git sees (a.txt, notes.md)"),
        "{}",
        ran.stderr
    );
    assert_eq!(repo.read("a.txt"), "mine\n");
    assert_eq!(repo.read("notes.md"), "mine too\n");
    assert!(!repo.exists("new.txt"));
    std::fs::remove_file(repo.join("notes.md")).unwrap();
    git(repo.path(), &["checkout", "-q", "a.txt"]);
    assert_eq!(files(&repo), start);
}

#[test]
fn an_approved_run_leaves_its_change_in_the_checkout_and_nothing_else() {
    let repo = Repo::new();
    // The check sees the change in place, and litters the checkout.
    task(
        &repo,
        "cat new.txt a.txt && echo stray > stray.txt && mkdir -p build && echo o > build/x.o",
    );
    if refused_below_full(&repo) {
        return;
    }
    let index = std::fs::read(repo.join(".git/index")).unwrap();
    let ran = repo.wf_env(
        &["run", "task.yaml", "--yes", "--workspace", "checkout"],
        CI,
    );
    ran.code(0);
    let trace = repo.last_trace();
    let ready = events(&trace, "workspace_ready")[0];
    assert_eq!(ready["mode"], "checkout", "recorded in the trace");
    let check = events(&trace, "check_result")[0];
    assert_eq!(check["passed"], true, "{check}");
    assert!(
        check["output_tail"]
            .as_str()
            .unwrap()
            .contains("new\nchanged"),
        "{check}"
    );
    assert_eq!(
        events(&trace, "applied")[0]["files"],
        serde_json::json!(["a.txt", "new.txt"])
    );
    // The change is there, what the check left is not, the ignored
    // dependency is untouched, and the user's index was never written.
    assert_eq!(
        files(&repo),
        [
            (".gitignore", ".wf/\nnode_modules/\n"),
            ("a.txt", "changed\n"),
            ("new.txt", "new\n"),
            ("node_modules/dep.js", "dep\n"),
            ("task.yaml", &repo.read("task.yaml")),
            ("turns.yaml", &repo.read("turns.yaml")),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .to_vec()
    );
    assert_eq!(std::fs::read(repo.join(".git/index")).unwrap(), index);
    assert_eq!(repo.status(), " M a.txt\n?? new.txt\n");
    // The recorded diff is the change against HEAD, and `wf show` says
    // where the run worked.
    let diff = std::fs::read_to_string(repo.runs().pop().unwrap().join("diff.patch")).unwrap();
    assert!(diff.contains("+changed") && diff.contains("+new"), "{diff}");
    let show = repo.wf(&["show", "last"]);
    assert!(
        show.stdout.contains("the checkout itself"),
        "{}",
        show.stdout
    );
}

#[test]
fn a_failed_rejected_or_paused_run_puts_the_checkout_back_at_its_start() {
    let repo = Repo::new();
    task(&repo, "echo stray > stray.txt; exit 1");
    if refused_below_full(&repo) {
        return;
    }
    let start = files(&repo);
    // Failed checks (no repair turn in the script: a model error).
    let ran = repo.wf_env(
        &["run", "task.yaml", "--yes", "--workspace", "checkout"],
        CI,
    );
    assert_ne!(ran.code, 0);
    assert_eq!(files(&repo), start, "{}", ran.stderr);
    assert_eq!(repo.status(), "");

    // A dry run.
    repo.file(
        "task.yaml",
        &repo.read("task.yaml").replace("exit 1", "true"),
    )
    .commit();
    let start = files(&repo);
    repo.wf_env(
        &["run", "task.yaml", "--dry-run", "--workspace", "checkout"],
        CI,
    )
    .code(0);
    assert_eq!(repo.last_summary()["status"], "dry_run");
    assert_eq!(files(&repo), start);

    // Paused (nobody to ask): the start is back; `wf approve` and `wf
    // resume` then apply the recorded diff to it as for any run.
    let ran = repo.wf_env(&["run", "task.yaml", "--workspace", "checkout"], CI);
    ran.code(3);
    assert_eq!(files(&repo), start);
    repo.wf(&["approve", "last"]).code(0);
    repo.wf(&["resume", "last"]).code(0);
    assert_eq!(repo.read("a.txt"), "changed\n");
    assert_eq!(repo.read("new.txt"), "new\n");
    assert!(!repo.exists("stray.txt"));

    // Rejected at the terminal: the start is back.
    git(repo.path(), &["checkout", "-q", "a.txt"]);
    std::fs::remove_file(repo.join("new.txt")).unwrap();
    assert_eq!(files(&repo), start);
    let (code, shown) = super::pty::wf_on_pty_with(
        &repo,
        &["run", "task.yaml", "--workspace", "checkout"],
        CI,
        "Apply this change to your tree?",
        &["n\n"],
    );
    assert_eq!(repo.last_summary()["status"], "rejected", "{shown}");
    assert_ne!(code, 0);
    assert_eq!(files(&repo), start);
}
