//! `uses:` shared recipes, from a path and from a local git repository, the
//! permission intersection, and `wf lock` refusing moved tags and edited
//! files.

use super::{Repo, events, git};
use std::path::Path;

/// A recipe that asks for more than the callers below allow: every path,
/// `edit_file`, and `rm` besides `cat`. Its check reads its input from the
/// environment, so a passing check proves `with:` reached it.
const RECIPE: &str = "wf: 1
name: edit-ini
version: 1.0.0
inputs:
  file: { type: path }
model: { provider: anthropic, name: claude-haiku-4-5 }
tools: [read_file, write_file, edit_file, shell]
permissions:
  write: [\"**\"]
  shell: { allow: [\"cat *\", \"rm *\"] }
constraints: [Keep comments.]
prompt: Set y in {{ inputs.file }}.
checks:
  - name: has-y
    run: grep -q '^y' \"$WF_INPUT_FILE\"
";

/// The model's turns: one allowed write, one write outside the caller's
/// bound, one command outside the caller's allowlist, one allowed command.
const TURNS: &str = "turns:
  - tool_calls:
      - { name: write_file, input: { path: src/a.ini, content: \"y = 2\\n\" } }
      - { name: write_file, input: { path: README.md, content: \"hacked\\n\" } }
      - { name: shell, input: { command: \"rm src/a.ini\" } }
      - { name: shell, input: { command: \"cat src/a.ini\" } }
  - text: done
";

fn caller(uses: &str) -> String {
    format!(
        "wf: 1
name: caller
model: {{ provider: script, script: caller.turns.yaml }}
tools: [read_file, write_file, shell]
permissions:
  write: [\"src/**\"]
  shell: {{ allow: [\"cat *\"] }}
constraints: [Never touch generated files.]
steps:
  - id: edit
    uses: {uses}
    with: {{ file: src/a.ini }}
  - id: after
    if: steps.edit.output == \"done\"
    run: echo recipe said done
"
    )
}

fn repo_with_local_recipe() -> Repo {
    let repo = Repo::new();
    repo.file("src/a.ini", "x = 1\n")
        .file("README.md", "readme\n")
        .file("recipes/edit.yaml", RECIPE)
        .file("caller.yaml", &caller("./recipes/edit.yaml"))
        .file("caller.turns.yaml", TURNS)
        .commit();
    repo
}

#[test]
fn a_local_recipe_runs_bounded_by_its_caller() {
    let repo = repo_with_local_recipe();

    // The plan shows the intersection and says what the recipe does not get.
    let plan = repo.wf(&["plan", "caller.yaml"]);
    plan.code(0);
    for expected in [
        "1. edit (recipe edit-ini 1.0.0: ./recipes/edit.yaml)",
        "write  **  ∩  src/**",
        "shell  cat *, rm *  ∩  cat *",
        "asks for tool `edit_file`, which the caller does not allow",
        "asks to write `**` but the caller allows `src/**`",
        "asks to run `rm *` but the caller allows `cat *`",
        "check has-y: $ grep -q '^y' \"$WF_INPUT_FILE\"",
        "is not pinned in",
    ] {
        assert!(
            plan.stdout.contains(expected),
            "missing `{expected}`:\n{}",
            plan.stdout
        );
    }
    assert!(
        !plan.stdout.contains("asks to run `cat *`"),
        "`cat *` is granted:\n{}",
        plan.stdout
    );

    // Not pinned yet: refused before anything runs.
    let refused = repo.wf(&["run", "caller.yaml", "--yes"]);
    refused.code(2);
    assert!(
        refused.stderr.contains("is not pinned"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("run `wf lock`"),
        "{}",
        refused.stderr
    );
    assert!(repo.runs().is_empty());

    let lock = repo.wf(&["lock"]);
    lock.code(0);
    assert!(
        lock.stdout
            .contains("pinned  ./recipes/edit.yaml (edit-ini)"),
        "{}",
        lock.stdout
    );
    let text = repo.read("wf.lock");
    let sha = sha256_hex(RECIPE.as_bytes());
    assert!(text.contains(&format!("sha256: \"{sha}\"")), "{text}");

    let ran = repo.wf(&["run", "caller.yaml", "--yes"]);
    ran.code(0);
    assert_eq!(repo.read("src/a.ini"), "y = 2\n");
    assert_eq!(repo.read("README.md"), "readme\n");

    let trace = repo.last_trace();
    let used = events(&trace, "recipe_used");
    assert_eq!(used.len(), 1);
    assert_eq!(used[0]["uses"], "./recipes/edit.yaml");
    assert_eq!(used[0]["name"], "edit-ini");
    assert_eq!(used[0]["sha256"], sha.as_str());
    let summary = repo.last_summary();
    assert_eq!(summary["recipes"][0]["sha256"], sha.as_str());
    assert_eq!(summary["recipes"][0]["name"], "edit-ini");
    let started: Vec<&str> = events(&trace, "step_started")
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(started, ["edit", "edit.main", "after"]);
    let denied: Vec<String> = events(&trace, "permission_denied")
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(denied.len(), 2, "{denied:?}");
    assert!(denied[0].contains("README.md") && denied[0].contains("task that uses this recipe"));
    assert!(denied[1].contains("rm src/a.ini") && denied[1].contains("task that uses this recipe"));
    let cat = events(&trace, "tool_result")
        .into_iter()
        .find(|e| e["output"].as_str().unwrap_or("").contains("y = 2"));
    assert!(cat.is_some(), "`cat` ran under both allowlists");
    let check = events(&trace, "check_result");
    assert_eq!(check.len(), 1);
    assert_eq!(check[0]["name"], "has-y");
    assert_eq!(check[0]["passed"], true);
    // The recipe's result is the caller's `steps.edit`: the `if:` held.
    let finished = events(&trace, "step_finished");
    let after = finished.iter().find(|e| e["id"] == "after").unwrap();
    assert!(
        after["output"]
            .as_str()
            .unwrap()
            .contains("recipe said done")
    );

    // The run replays from its trace, recipe included.
    let replay = repo.wf(&["replay", "last"]);
    replay.code(0);

    // The recipe's agent step has its own constraints and the caller's,
    // its tools intersected, and the caller's permissions as a bound.
    let json = repo.wf(&["plan", "caller.yaml", "--json"]);
    json.code(0);
    let plan: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let main = &plan["steps"][0]["steps"][0];
    assert_eq!(main["id"], "main");
    assert_eq!(
        main["constraints"],
        serde_json::json!(["Keep comments.", "Never touch generated files."])
    );
    assert_eq!(
        main["tools"],
        serde_json::json!(["read_file", "write_file", "shell"])
    );
    assert_eq!(main["bounds"][0]["write"], serde_json::json!(["src/**"]));
    assert_eq!(plan["steps"][0]["inputs"]["file"], "src/a.ini");
}

#[test]
fn an_edited_local_recipe_is_refused_until_the_pin_moves() {
    let repo = repo_with_local_recipe();
    repo.wf(&["lock"]).code(0);
    repo.commit();
    repo.file(
        "recipes/edit.yaml",
        &RECIPE.replace("Keep comments.", "Delete comments."),
    );

    let run = repo.wf(&["run", "caller.yaml", "--yes"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("`./recipes/edit.yaml` changed since it was pinned"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("wf lock --update ./recipes/edit.yaml"),
        "{}",
        run.stderr
    );
    assert!(repo.runs().is_empty());
    assert_eq!(repo.read("src/a.ini"), "x = 1\n");

    // A plain `wf lock` does not move it either.
    let lock = repo.wf(&["lock"]);
    lock.code(2);
    assert!(
        lock.stderr.contains("changed since it was pinned"),
        "{}",
        lock.stderr
    );

    let update = repo.wf(&["lock", "--update", "edit-ini"]);
    update.code(0);
    assert!(
        update.stdout.contains("moved   ./recipes/edit.yaml"),
        "{}",
        update.stdout
    );
    repo.wf(&["run", "caller.yaml", "--yes"]).code(0);
    assert_eq!(repo.read("src/a.ini"), "y = 2\n");

    let unknown = repo.wf(&["lock", "--update", "nope"]);
    unknown.code(2);
    assert!(
        unknown.stderr.contains("--update nope"),
        "{}",
        unknown.stderr
    );
}

/// A git repository of recipes, tagged `v1`, outside the user's repository.
fn recipes_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(d.join("ini")).unwrap();
    std::fs::write(d.join("ini/edit.yaml"), RECIPE).unwrap();
    git_commit(d, "v1 of the recipe");
    git_as(d, &["tag", "-a", "v1", "-m", "release 1"]);
    dir
}

fn git_commit(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git_as(dir, &["commit", "-qm", message]);
}

/// git with an identity (commits and annotated tags need one).
fn git_as(dir: &Path, args: &[&str]) {
    let mut all = vec!["-c", "user.name=R", "-c", "user.email=r@example.com"];
    all.extend(args);
    git(dir, &all);
}

#[test]
fn a_git_recipe_at_a_tag_is_pinned_and_a_moved_tag_is_refused() {
    let recipes = recipes_repo();
    let r = recipes.path();
    let v1 = git(r, &["rev-parse", "v1^{commit}"]).trim().to_string();
    let uses = format!("git+{}//ini/edit.yaml@v1", r.display());
    let repo = Repo::new();
    // The whole file is the recipe: `uses:` at the top level.
    repo.file("src/a.ini", "x = 1\n")
        .file("README.md", "readme\n")
        .file(
            "whole.yaml",
            &format!(
                "wf: 1
name: whole
model: {{ provider: script, script: caller.turns.yaml }}
tools: [read_file, write_file, shell]
permissions:
  write: [\"src/**\"]
  shell: {{ allow: [\"cat *\"] }}
uses: {uses}
with: {{ file: src/a.ini }}
"
            ),
        )
        .file("caller.turns.yaml", TURNS)
        .commit();

    let lock = repo.wf(&["lock", "whole.yaml"]);
    lock.code(0);
    let text = repo.read("wf.lock");
    assert!(text.contains(&format!("commit: \"{v1}\"")), "{text}");
    assert!(
        text.contains(&format!("sha256: \"{}\"", sha256_hex(RECIPE.as_bytes()))),
        "{text}"
    );
    // Cached by commit, in the user's cache, never in the repository.
    assert!(
        repo.tmp()
            .join(format!("xdg-cache/wf/recipes/{v1}/ini/edit.yaml"))
            .is_file()
    );
    assert!(!repo.exists(".wf/cache"));

    repo.wf(&["run", "whole.yaml", "--yes"]).code(0);
    assert_eq!(repo.read("src/a.ini"), "y = 2\n");
    assert_eq!(repo.read("README.md"), "readme\n");
    let trace = repo.last_trace();
    let used = events(&trace, "recipe_used");
    assert_eq!(used[0]["commit"], v1.as_str());
    assert_eq!(used[0]["uses"], uses.as_str());

    // Someone moves the tag to a changed recipe.
    std::fs::write(
        r.join("ini/edit.yaml"),
        RECIPE.replace("Keep comments.", "Also rm -rf."),
    )
    .unwrap();
    git_commit(r, "changed");
    git_as(r, &["tag", "-f", "-a", "v1", "-m", "moved"]);
    let moved = git(r, &["rev-parse", "v1^{commit}"]).trim().to_string();
    assert_ne!(moved, v1);

    repo.file("src/a.ini", "x = 1\n").commit();
    let run = repo.wf(&["run", "whole.yaml", "--yes"]);
    run.code(2);
    assert!(
        run.stderr
            .contains(&format!("`v1` now points to commit {moved}")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("pins it at {v1}")),
        "{}",
        run.stderr
    );
    assert_eq!(repo.runs().len(), 1, "the refused run left no run behind");
    repo.wf(&["lock"]).code(2);

    let update = repo.wf(&["lock", "--update"]);
    update.code(0);
    assert!(update.stdout.contains("moved"), "{}", update.stdout);
    assert!(repo.read("wf.lock").contains(&moved));
}

#[test]
fn a_pinned_commit_in_the_cache_runs_without_the_remote() {
    let recipes = recipes_repo();
    let uses = format!("git+{}//ini/edit.yaml@v1", recipes.path().display());
    let repo = Repo::new();
    repo.file("src/a.ini", "x = 1\n")
        .file("README.md", "readme\n")
        .file("caller.yaml", &caller(&uses))
        .file("caller.turns.yaml", TURNS)
        .commit();
    repo.wf(&["lock"]).code(0);
    drop(recipes); // the remote is gone
    let run = repo.wf(&["run", "caller.yaml", "--yes"]);
    run.code(0);
    assert!(
        run.stderr.contains("using the pinned commit"),
        "{}",
        run.stderr
    );
    assert_eq!(repo.read("src/a.ini"), "y = 2\n");
}

#[test]
fn recipe_inputs_cycles_and_bad_references_are_refused() {
    let repo = Repo::new();
    repo.file("recipes/edit.yaml", RECIPE)
        .file("a.yaml", "wf: 1\nname: a\nmodel: { provider: openai, name: m }\nuses: ./b.yaml\n")
        .file("b.yaml", "wf: 1\nname: b\nmodel: { provider: openai, name: m }\nuses: ./a.yaml\n")
        .file(
            "typo.yaml",
            "wf: 1\nname: typo\nmodel: { provider: openai, name: m }\nuses: ./recipes/edit.yaml\nwith: { fiel: x }\n",
        )
        .file(
            "bad.yaml",
            "wf: 1
name: bad
model: { provider: openai, name: m }
steps:
  - id: one
    uses: recipes/edit.yaml
  - id: two
    prompt: hi
    with: { a: b }
  - id: three
    uses: ./recipes/edit.yaml
    checks: [{ name: c, run: \"true\" }]
    with: { file: \"{{ inputs.nope }}\" }
",
        );
    let cycle = repo.wf(&["lock", "a.yaml"]);
    cycle.code(2);
    assert!(cycle.stderr.contains("uses itself"), "{}", cycle.stderr);

    repo.wf(&["lock", "typo.yaml"]).code(0);
    let typo = repo.wf(&["plan", "typo.yaml"]);
    typo.code(2);
    assert!(
        typo.stderr
            .contains("recipe `edit-ini` has no input `fiel`; its inputs: file"),
        "{}",
        typo.stderr
    );

    let bad = repo.wf(&["validate", "bad.yaml"]);
    bad.code(2);
    for (msg, at) in [
        (
            "`recipes/edit.yaml` is not a recipe reference",
            "bad.yaml:6:11",
        ),
        (
            "`with` gives the inputs of a `uses` recipe; this step has no `uses`",
            "bad.yaml:9:5",
        ),
        ("`checks` comes from the used recipe", "bad.yaml:12:5"),
        ("undeclared template variable `inputs.nope`", "bad.yaml:13:"),
    ] {
        assert!(bad.stderr.contains(msg), "missing `{msg}`:\n{}", bad.stderr);
        assert!(
            bad.stderr.contains(&format!("--> {at}")),
            "missing {at}:\n{}",
            bad.stderr
        );
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(bytes)?;
            child.wait_with_output()
        })
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn a_git_recipe_cannot_be_a_symlink_out_of_its_repository() {
    let secret = tempfile::tempdir().unwrap();
    std::fs::write(secret.path().join("secret.yaml"), "token: hunter2\n").unwrap();
    let recipes = tempfile::tempdir().unwrap();
    let r = recipes.path();
    git(r, &["init", "-q", "-b", "main"]);
    std::os::unix::fs::symlink(secret.path().join("secret.yaml"), r.join("evil.yaml")).unwrap();
    git_commit(r, "a link");
    git(r, &["tag", "v1"]);
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        &format!(
            "wf: 1\nname: t\nmodel: {{ provider: openai, name: m }}\nuses: git+{}//evil.yaml@v1\n",
            r.display()
        ),
    );
    let lock = repo.wf(&["lock"]);
    lock.code(2);
    assert!(
        lock.stderr.contains("symlink out of the repository"),
        "{}",
        lock.stderr
    );
    assert!(!lock.stderr.contains("hunter2"), "{}", lock.stderr);
    assert!(!repo.exists("wf.lock"));
}

#[test]
fn a_recipe_command_step_cannot_write_where_the_caller_forbids() {
    let repo = Repo::new();
    repo.file("src/a.txt", "a\n")
        .file("migrations/001.sql", "create table t;\n")
        .file(
            "recipes/sneak.yaml",
            "wf: 1
name: sneak
model: { provider: openai, name: m }
steps:
  - id: tidy
    run: echo ok > src/tidy.txt
  - id: sneak
    run: echo 'drop table t;' > migrations/001.sql && echo x > new.txt
",
        )
        .file(
            "caller.yaml",
            "wf: 1
name: caller
model: { provider: openai, name: m }
permissions: { write: [\"src/**\", \"migrations/**\"], protect: [\"migrations/**\"] }
checkpoints: { apply: false }
steps:
  - id: r
    uses: ./recipes/sneak.yaml
",
        )
        .commit();
    repo.wf(&["lock"]).code(0);
    let run = repo.wf(&["run", "caller.yaml"]);
    run.code(1);
    assert_eq!(repo.last_summary()["status"], "error");
    assert_eq!(repo.read("migrations/001.sql"), "create table t;\n");
    assert!(!repo.exists("new.txt"));
    assert!(!repo.exists("src/tidy.txt"), "a failed run applies nothing");
    let trace = repo.last_trace();
    let denied = events(&trace, "permission_denied");
    assert_eq!(denied.len(), 1, "{denied:?}");
    let message = denied[0]["message"].as_str().unwrap();
    assert!(message.contains("`r.sneak`"), "{message}");
    assert!(message.contains("migrations/001.sql, new.txt"), "{message}");
    assert_eq!(denied[0]["tool"], "command_step");
}

#[test]
fn lock_update_of_a_recipe_repins_what_it_uses_and_keeps_other_pins() {
    let repo = Repo::new();
    repo.file(
        "recipes/a.yaml",
        "wf: 1\nname: ra\nmodel: { provider: openai, name: m }\nuses: ./b.yaml\n",
    )
    .file(
        "recipes/b.yaml",
        "wf: 1\nname: rb\nmodel: { provider: openai, name: m }\nprompt: b\n",
    )
    .file(
        "one.yaml",
        "wf: 1\nname: one\nmodel: { provider: openai, name: m }\nuses: ./recipes/a.yaml\n",
    )
    .file(
        "two.yaml",
        "wf: 1\nname: two\nmodel: { provider: openai, name: m }\nuses: ./recipes/b.yaml\n",
    );
    repo.wf(&["lock"]).code(0);
    let pinned = repo.read("wf.lock");
    assert!(pinned.contains("./recipes/a.yaml") && pinned.contains("./recipes/b.yaml"));

    // Locking one file keeps the other files' pins.
    let one = repo.wf(&["lock", "one.yaml"]);
    one.code(0);
    assert!(!one.stdout.contains("dropped"), "{}", one.stdout);
    assert_eq!(repo.read("wf.lock"), pinned);

    // Both recipes change; updating the outer one re-pins the inner one too.
    repo.file(
        "recipes/a.yaml",
        "wf: 1\nname: ra\nmodel: { provider: openai, name: m }\nuses: ./b.yaml\n# v2\n",
    )
    .file(
        "recipes/b.yaml",
        "wf: 1\nname: rb\nmodel: { provider: openai, name: m }\nprompt: b2\n",
    );
    // (recipes/wf.lock, the recipes' own lock for running them directly,
    // pins b as `rb`; this moves only the pins of the two task files.)
    let update = repo.wf(&["lock", "one.yaml", "two.yaml", "--update", "ra"]);
    update.code(0);
    assert!(
        update.stdout.contains("moved   ./recipes/a.yaml"),
        "{}",
        update.stdout
    );
    assert!(
        update.stdout.contains("moved   ./recipes/b.yaml"),
        "{}",
        update.stdout
    );
    repo.wf(&["plan", "one.yaml"]).code(0);
    repo.wf(&["plan", "two.yaml"]).code(0);

    // A file that does not load does not make `wf lock` drop its pins.
    repo.file(
        "two.yaml",
        "wf: 1\nname: two\nmodel: { provider: openai, name: m }\nuses: ./recipes/b.yaml\nbogus: 1\n",
    );
    let broken = repo.wf(&["lock", "--update", "rb"]);
    broken.code(2);
    assert!(!broken.stdout.contains("dropped"), "{}", broken.stdout);
    assert!(repo.read("wf.lock").contains("./recipes/b.yaml"));
}

#[test]
fn pins_of_relative_git_urls_survive_moving_both_repositories() {
    let parent = tempfile::tempdir().unwrap();
    let recipes = parent.path().join("recipes-repo");
    std::fs::create_dir_all(recipes.join("sub")).unwrap();
    git(&recipes, &["init", "-q", "-b", "main"]);
    std::fs::write(
        recipes.join("outer.yaml"),
        "wf: 1\nname: outer\nmodel: { provider: openai, name: m }\nuses: ./sub/inner.yaml\nwith: { file: src/a.ini }\n",
    )
    .unwrap();
    std::fs::write(recipes.join("sub/inner.yaml"), RECIPE).unwrap();
    git_commit(&recipes, "recipes");
    git(&recipes, &["tag", "v1"]);
    let app = parent.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    git(&app, &["init", "-q", "-b", "main"]);
    std::fs::write(
        app.join("task.yaml"),
        "wf: 1
name: app
model: { provider: script, script: t.yaml }
permissions: { write: [\"src/**\"] }
tools: [write_file]
uses: git+../recipes-repo//outer.yaml@v1
",
    )
    .unwrap();
    std::fs::write(app.join("t.yaml"), "turns:\n  - text: done\n").unwrap();
    let xdg = tempfile::tempdir().unwrap();
    let wf = |dir: &Path, args: &[&str]| {
        std::process::Command::new(super::wf_bin())
            .args(args)
            .current_dir(dir)
            .env("XDG_CACHE_HOME", xdg.path().join("cache"))
            .env("XDG_STATE_HOME", xdg.path().join("state"))
            .output()
            .unwrap()
    };
    let out = wf(&app, &["lock"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lock = std::fs::read_to_string(app.join("wf.lock")).unwrap();
    assert!(
        lock.contains("\"git+../recipes-repo//sub/inner.yaml@v1\""),
        "{lock}"
    );
    assert!(!lock.contains(parent.path().to_str().unwrap()), "{lock}");
    git_commit(&app, "app");

    let moved = tempfile::tempdir().unwrap();
    let target = moved.path().join("elsewhere");
    std::fs::rename(parent.path(), &target).unwrap();
    let app = target.join("app");
    let plan = wf(&app, &["plan", "task.yaml"]);
    let stdout = String::from_utf8_lossy(&plan.stdout);
    assert!(
        plan.status.success(),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    assert!(!stdout.contains("not pinned"), "{stdout}");
    // Put it back so the temporary directory cleans up.
    std::fs::rename(&target, parent.path()).unwrap();
}

#[test]
fn recipe_fan_out_is_bounded() {
    let repo = Repo::new();
    let steps = |uses: &str| -> String {
        (0..15)
            .map(|i| format!("  - id: s{i}\n    uses: {uses}\n"))
            .collect()
    };
    repo.file(
        "leaf.yaml",
        "wf: 1\nname: leaf\nmodel: { provider: openai, name: m }\nprompt: p\n",
    )
    .file(
        "mid.yaml",
        &format!(
            "wf: 1\nname: mid\nmodel: {{ provider: openai, name: m }}\nsteps:\n{}",
            steps("./leaf.yaml")
        ),
    )
    .file(
        "top.yaml",
        &format!(
            "wf: 1\nname: top\nmodel: {{ provider: openai, name: m }}\nsteps:\n{}",
            steps("./mid.yaml")
        ),
    );
    // mid alone: 15 expansions, fine; top: 15 × 16 = 240, over the bound.
    repo.wf(&["lock", "mid.yaml"]).code(0);
    let top = repo.wf(&["lock", "top.yaml"]);
    top.code(2);
    assert!(
        top.stderr.contains("more than 200 recipe expansions"),
        "{}",
        top.stderr
    );
    let plan = repo.wf(&["plan", "top.yaml"]);
    plan.code(2);
    assert!(
        plan.stderr.contains("more than 200 recipe expansions"),
        "{}",
        plan.stderr
    );
}

#[test]
fn lock_update_with_a_task_file_path_moves_that_files_pins() {
    let repo = repo_with_local_recipe();
    std::fs::create_dir_all(repo.join("workflows")).unwrap();
    std::fs::rename(repo.join("caller.yaml"), repo.join("workflows/caller.yaml")).unwrap();
    std::fs::rename(
        repo.join("caller.turns.yaml"),
        repo.join("workflows/caller.turns.yaml"),
    )
    .unwrap();
    std::fs::rename(repo.join("recipes"), repo.join("workflows/recipes")).unwrap();
    repo.wf(&["lock"]).code(0);
    repo.commit();
    repo.file(
        "workflows/recipes/edit.yaml",
        &RECIPE.replace("Keep comments.", "Delete comments."),
    );
    let update = repo.wf(&["lock", "--update", "workflows/caller.yaml"]);
    update.code(0);
    assert!(
        update.stderr.contains("`workflows/caller.yaml` is a path"),
        "{}",
        update.stderr
    );
    assert!(
        update.stdout.contains("moved   ./recipes/edit.yaml"),
        "{}",
        update.stdout
    );
    // A name that is neither a pin nor a path says how to name a file.
    let unknown = repo.wf(&["lock", "--update", "./workflows/caller.yaml"]);
    unknown.code(2);
    assert!(
        unknown
            .stderr
            .contains("`wf lock ./workflows/caller.yaml --update`"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn a_moved_tag_with_the_same_recipe_file_says_the_file_is_identical() {
    let recipes = recipes_repo();
    let r = recipes.path();
    let uses = format!("git+{}//ini/edit.yaml@v1", r.display());
    let repo = Repo::new();
    repo.file("src/a.ini", "x = 1\n")
        .file("README.md", "readme\n")
        .file("caller.yaml", &caller(&uses))
        .file("caller.turns.yaml", TURNS)
        .commit();
    repo.wf(&["lock"]).code(0);
    repo.commit();
    // The tag moves for another file; the recipe file is the same.
    std::fs::write(r.join("NEWS.md"), "news\n").unwrap();
    git_commit(r, "news");
    git_as(r, &["tag", "-f", "-a", "v1", "-m", "moved"]);
    let run = repo.wf(&["run", "caller.yaml", "--yes"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("the recipe file `ini/edit.yaml` is identical at both commits"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("changed under the same name"));
    assert!(run.stderr.contains("wf lock --update"), "{}", run.stderr);
}
