//! The workspace slot kept from run to run: a later run starts from the
//! user's tree as it is at its own start, and nothing any earlier run (its
//! model or its commands) did to the copy reaches it.

use super::{Repo, events};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A check that prints every file of the workspace (its `.git` aside)
/// with its content, sorted.
const SHOW: &str = "  - name: show
    run: |
      find . -path ./.git -prune -o \\( -type f -o -type l \\) -print | sort |
        while read -r f; do echo \"== $f\"; cat \"$f\"; done
";

fn task(repo: &Repo, turns: &str, checks: &str) {
    repo.file(
        "task.yaml",
        &format!(
            "wf: 1
name: reuse
model: {{ provider: script, script: turns.yaml }}
tools: [write_file, edit_file]
permissions: {{ write: [\"**\"] }}
prompt: Change things.
checks:
{checks}"
        ),
    )
    .file("turns.yaml", turns);
}

/// The output the `show` check printed in the newest run.
fn shown(repo: &Repo) -> String {
    let trace = repo.last_trace();
    let result = events(&trace, "check_result")
        .into_iter()
        .find(|e| e["name"] == "show")
        .expect("the show check ran")
        .clone();
    assert_eq!(result["truncated"], false);
    result["output_tail"].as_str().unwrap().to_string()
}

#[test]
fn a_later_run_sees_the_users_tree_of_its_start_and_nothing_of_an_earlier_run() {
    let repo = Repo::new();
    repo.file(".gitignore", ".wf/\nbuild/\n")
        .file("config/app.ini", "port = 8080\n")
        .file("src/lib.rs", "pub fn f() {}\n")
        .file("old.txt", "to be deleted\n");
    task(
        &repo,
        "turns:
  - tool_calls:
      - { name: write_file, input: { path: config/app.toml, content: \"port = 8080\\n\" } }
      - { name: edit_file, input: { path: src/lib.rs, old: \"pub fn f() {}\", new: \"pub fn by_the_model() {}\" } }
  - text: Done.
",
        // The first run's commands leave files of every kind behind.
        "  - { name: litter, run: \"mkdir -p build && echo junk > build/out.o && echo stray > stray.txt && echo x >> config/app.ini\" }\n",
    );
    repo.commit();
    // Not applied: the change stays in the workspace only.
    repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
    assert_eq!(repo.last_summary()["status"], "dry_run");
    assert!(!repo.exists("config/app.toml"));

    // The user edits, deletes and adds, without committing.
    repo.file("config/app.ini", "port = 9090\n")
        .file("notes.md", "untracked notes\n");
    std::fs::remove_file(repo.join("old.txt")).unwrap();
    task(&repo, "turns:\n  - text: Nothing to do.\n", SHOW);
    repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
    let out = shown(&repo);
    let listed: Vec<&str> = out.lines().filter(|l| l.starts_with("== ")).collect();
    assert_eq!(
        listed,
        [
            "== ./.gitignore",
            "== ./config/app.ini",
            "== ./notes.md",
            "== ./src/lib.rs",
            "== ./task.yaml",
            "== ./turns.yaml",
        ],
        "{out}"
    );
    assert!(out.contains("== ./config/app.ini\nport = 9090\n"), "{out}");
    assert!(out.contains("== ./src/lib.rs\npub fn f() {}\n"), "{out}");
    assert!(out.contains("== ./notes.md\nuntracked notes\n"), "{out}");
    // The second run's workspace was the first one's slot, brought up to
    // date: the same path in both runs' temp dirs.
    let private = std::fs::read_dir(repo.tmp())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("wf-"))
        .expect("wf's private directory in TMPDIR");
    let slots: Vec<_> = std::fs::read_dir(private)
        .unwrap()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            e.path().is_dir() && name.starts_with("wf-ws-") && !name.contains('.')
        })
        .collect();
    assert_eq!(slots.len(), 1, "one slot for two runs in a row");
    // The starting state recorded for replay is the second run's.
    let start = std::fs::read_to_string(repo.runs().pop().unwrap().join("start.patch")).unwrap();
    assert!(start.contains("+port = 9090"), "{start}");
    assert!(start.contains("deleted file mode"), "{start}");
    repo.wf(&["replay", "last"]).code(0);
}

#[test]
fn a_repository_on_another_filesystem_than_the_workspaces_runs_and_applies() {
    // /tmp on disk and the repository on tmpfs (or /tmp a tmpfs and the
    // home on disk, as many distributions have it): nothing wf moves from
    // one to the other may be a rename.
    use std::os::unix::fs::MetadataExt;
    let shm = Path::new("/dev/shm");
    let repo = Repo::new_in(shm);
    assert_ne!(
        std::fs::metadata(shm).unwrap().dev(),
        std::fs::metadata(repo.tmp()).unwrap().dev(),
        "this test needs /dev/shm and the temp dir on two filesystems"
    );
    repo.file(".gitignore", ".wf/\n")
        .file("src/lib.rs", "pub fn f() {}\n");
    repo.commit();
    // Uncommitted work too: the starting tree is not the commit's.
    repo.file("notes.md", "draft\n");
    task(
        &repo,
        "turns:
  - tool_calls:
      - { name: edit_file, input: { path: src/lib.rs, old: \"pub fn f() {}\", new: \"pub fn g() {}\" } }
  - text: Done.
",
        "  - { name: sees, run: \"grep -q 'pub fn g' src/lib.rs && git status --porcelain\" }\n",
    );
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    assert_eq!(repo.read("src/lib.rs"), "pub fn g() {}\n");
    assert_eq!(repo.last_summary()["status"], "succeeded");
    // A later run reuses the slot across the two filesystems as well.
    repo.file("notes.md", "draft 2\n");
    task(&repo, "turns:\n  - text: Nothing to do.\n", SHOW);
    repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
    assert!(shown(&repo).contains("== ./notes.md\ndraft 2\n"));
}

#[test]
fn a_checked_out_submodule_is_named_as_left_out_of_the_workspace() {
    // The workspace holds the superproject's files; a check that needs a
    // submodule's fails, and the run says why before it does.
    let lib = Repo::new();
    lib.file("lib.txt", "lib\n").commit();
    let repo = Repo::new();
    repo.file(".gitignore", ".wf/\n");
    super::git(
        repo.path(),
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            lib.path().to_str().unwrap(),
            "vendor/lib",
        ],
    );
    task(&repo, "turns:\n  - text: Nothing to do.\n", SHOW);
    repo.commit();
    let ran = repo.wf(&["run", "task.yaml", "--dry-run"]);
    ran.code(0);
    assert!(
        ran.stderr
            .contains("submodules left out (empty directories): vendor/lib"),
        "{}",
        ran.stderr
    );
    let trace = repo.last_trace();
    let ready = &events(&trace, "workspace_ready")[0];
    assert_eq!(ready["submodules"], serde_json::json!(["vendor/lib"]));
    assert!(!shown(&repo).contains("lib.txt"));
    // A replay in a clone without it checked out compares the same.
    repo.wf(&["replay", "last"]).code(0);
}

#[test]
fn concurrent_runs_of_one_repository_work_in_different_workspaces() {
    let repo = Repo::new();
    let outside = tempfile::tempdir().unwrap();
    let flag = outside.path().join("go");
    let first_pwd = outside.path().join("first");
    repo.file(".gitignore", ".wf/\n")
        .file("a.txt", "a\n")
        .file(
            "slow.yaml",
            &format!(
                "wf: 1
name: slow
model: {{ provider: script, script: turns.yaml }}
tools: [write_file]
permissions: {{ write: [\"**\"] }}
prompt: Write.
sandbox: {{ write: [\"{out}\"] }}
checks:
  - {{ name: wait, run: \"stat -c %i . > {first}; while [ ! -f {flag} ]; do sleep 0.05; done\" }}
",
                out = outside.path().display(),
                first = first_pwd.display(),
                flag = flag.display()
            ),
        )
        .file(
            "turns.yaml",
            "turns:
  - tool_calls:
      - { name: write_file, input: { path: a.txt, content: \"first run's\\n\" } }
  - text: Done.
",
        )
        .file(
            "quick.yaml",
            "wf: 1
name: quick
model: { provider: script, script: quick.turns.yaml }
prompt: Look.
checks:
  - { name: show, run: \"stat -c %i .; cat a.txt\" }
",
        )
        .file("quick.turns.yaml", "turns:\n  - text: Nothing to do.\n")
        .commit();
    let mut slow = Command::new(super::wf_bin())
        .args(["run", "slow.yaml", "--dry-run", "--trust-sandbox"])
        .current_dir(repo.path())
        .envs(repo.xdg())
        .env("TMPDIR", repo.tmp())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(60);
    while !first_pwd.exists() {
        assert!(Instant::now() < until, "the slow run's check never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The first run holds its workspace (with its model's change in it)
    // while the second one runs.
    repo.wf(&["run", "quick.yaml", "--dry-run"]).code(0);
    std::fs::write(&flag, "").unwrap();
    assert!(slow.wait().unwrap().success());
    let trace = repo.last_trace();
    let quick = events(&trace, "check_result")[0]["output_tail"]
        .as_str()
        .unwrap()
        .to_string();
    // The workspace by its directory's inode: at the full level both
    // runs see theirs at the repository's path.
    let quick_pwd = quick.lines().next().unwrap().to_string();
    let slow_pwd = std::fs::read_to_string(&first_pwd).unwrap();
    assert_ne!(quick_pwd, slow_pwd.trim(), "two runs, two workspaces");
    assert_eq!(
        quick.lines().nth(1),
        Some("a"),
        "the second run sees the user's file: {quick}"
    );
}

/// Slot paths are predictable: in a temp dir shared with other users, one
/// could plant wf's directory in advance to receive a copy of the
/// repository. wf refuses a directory that is not privately its user's.
#[test]
fn a_planted_private_directory_in_the_temp_dir_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let repo = Repo::new();
    repo.file("a.txt", "secret\n")
        .file(
            "task.yaml",
            "wf: 1\nname: t\nmodel: { provider: script, script: turns.yaml }\nprompt: x\n",
        )
        .file("turns.yaml", "turns:\n  - text: Done.\n")
        .commit();
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    let planted = repo.tmp().join(format!("wf-{uid}"));
    std::fs::create_dir(&planted).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o777)).unwrap();
    let r = repo.wf(&["run", "task.yaml", "--dry-run"]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("is not a private directory"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_dir(&planted).unwrap().count(),
        0,
        "nothing of the repository went into it"
    );
}

/// One rule for what is in the workspace (issue 22, item 5): a file git
/// ignores that the task names literally in `context.include` is sent to
/// the model, so it is in the workspace too (its `read_file` finds it, a
/// check reads it, an edit to it is in the diff), while an ignored file it
/// does not name stays out of both, whatever a committed `.ignore`
/// negation says.
#[test]
fn an_ignored_file_named_in_the_context_is_in_the_workspace_and_no_other_is() {
    let repo = Repo::new();
    repo.file(".gitignore", ".wf/\nlocal.cfg\nother.cfg\n")
        .file(".ignore", "!other.cfg\n")
        .file("local.cfg", "mode = dev\n")
        .file("other.cfg", "token = not-for-the-model\n")
        .file(
            "task.yaml",
            "wf: 1
name: named
model: { provider: script, script: turns.yaml }
context: { include: [local.cfg, \"*.md\"] }
tools: [read_file, edit_file]
permissions: { write: [local.cfg] }
prompt: Switch the mode.
limits: { max_repairs: 0 }
checks:
  - { name: named, run: \"grep -q 'mode = prod' local.cfg\" }
  - { name: unnamed, run: \"test ! -e other.cfg\" }
",
        )
        .file(
            "turns.yaml",
            "turns:
  - tool_calls:
      - { name: read_file, input: { path: local.cfg } }
      - { name: read_file, input: { path: other.cfg } }
      - { name: edit_file, input: { path: local.cfg, old: \"mode = dev\", new: \"mode = prod\" } }
  - text: Done.
",
        )
        .file("README.md", "readme\n")
        .commit();
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    let trace = repo.last_trace();
    let results = events(&trace, "tool_result");
    assert_eq!(results[0]["ok"], true, "{results:?}");
    assert_eq!(results[0]["output"], "mode = dev\n");
    assert_eq!(results[1]["ok"], false, "{results:?}");
    assert_eq!(results[2]["ok"], true, "{results:?}");
    // Applied to the user's (still ignored) file.
    assert_eq!(repo.read("local.cfg"), "mode = prod\n");
    assert_eq!(repo.read("other.cfg"), "token = not-for-the-model\n");
    let start = std::fs::read_to_string(repo.runs().pop().unwrap().join("start.patch")).unwrap();
    assert!(start.contains("+mode = dev"), "{start}");
    assert!(!start.contains("not-for-the-model"), "{start}");
    // The replay starts from the same state.
    repo.wf(&["replay", "last"]).code(0);
}
