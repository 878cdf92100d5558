//! Real projects' toolchains in a run (issue 22): the command environment
//! (`env:` and the offline switches), environment failures reported as
//! "cannot run" without a repair round, path inputs normalized, and `wf gc`.

use super::{Repo, events};

/// The output a command step left in the trace.
fn step_output(trace: &[serde_json::Value], id: &str) -> String {
    events(trace, "step_finished")
        .into_iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("no step_finished for {id}: {trace:?}"))["output"]
        .as_str()
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn env_reaches_command_steps_and_checks_templated_and_named_only() {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        "wf: 1
name: envs
inputs: { who: { type: string } }
model: { provider: script, script: turns.yaml }
env:
  GREETING: \"hi {{ inputs.who }}\"
  PASSED: { from_env: WF_TEST_PASSED }
  RUST_BACKTRACE: 1
  LEVEL: task
steps:
  - id: show
    run: echo \"$GREETING|$RUST_BACKTRACE|${WF_TEST_UNNAMED:-unset}|$LEVEL\"
    env: { LEVEL: step }
  - id: secret
    run: test \"$PASSED\" = sekrit-value
  - id: task_level
    run: echo \"$LEVEL\"
",
    )
    .file("turns.yaml", "turns: []\n")
    .commit();
    let r = repo.wf_env(
        &["run", "task.yaml", "--yes", "-i", "who=ann"],
        &[
            ("WF_TEST_PASSED", "sekrit-value"),
            ("WF_TEST_UNNAMED", "leaked"),
        ],
    );
    r.code(0);
    let trace = repo.last_trace();
    assert_eq!(step_output(&trace, "show"), "hi ann|1|unset|step");
    let secret = events(&trace, "step_finished")
        .into_iter()
        .find(|e| e["id"] == "secret")
        .unwrap()
        .clone();
    assert_eq!(secret["exit_code"], 0, "{secret}");
    assert_eq!(step_output(&trace, "task_level"), "task");
    // Recorded by name, never the value taken from wf's environment.
    let ready = events(&trace, "sandbox_ready")[0].clone();
    let names: Vec<&str> = ready["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for name in ["GREETING", "LEVEL", "PASSED", "RUST_BACKTRACE"] {
        assert!(names.contains(&name), "{names:?}");
    }
    let run = repo.runs().pop().unwrap();
    let recorded = std::fs::read_to_string(run.join("trace.jsonl")).unwrap()
        + &std::fs::read_to_string(run.join("summary.json")).unwrap();
    assert!(!recorded.contains("sekrit-value"), "{recorded}");
}

#[test]
fn a_from_env_variable_wf_lacks_stops_the_run_naming_it() {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        "wf: 1
name: envs
model: { provider: script, script: turns.yaml }
steps:
  - id: publish
    run: echo \"$TOKEN\"
    env: { TOKEN: { from_env: WF_TEST_NOT_SET_ANYWHERE } }
",
    )
    .file("turns.yaml", "turns: []\n")
    .commit();
    let r = repo.wf(&["run", "task.yaml", "--yes"]);
    r.code(1);
    let reason = repo.last_summary()["reason"].as_str().unwrap().to_string();
    assert!(
        reason.contains("env `TOKEN` takes `WF_TEST_NOT_SET_ANYWHERE` from wf's environment"),
        "{reason}"
    );
    assert!(events(&repo.last_trace(), "step_finished").is_empty());
}

#[test]
fn without_the_network_toolchains_are_switched_offline_and_env_overrides_them() {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        "wf: 1
name: offline
model: { provider: script, script: turns.yaml }
steps:
  - id: off
    run: echo \"$CARGO_NET_OFFLINE $npm_config_offline $PIP_NO_INDEX $GOPROXY $YARN_ENABLE_OFFLINE_MODE $UV_OFFLINE\"
  - id: overridden
    run: echo \"$CARGO_NET_OFFLINE\"
    env: { CARGO_NET_OFFLINE: \"false\" }
  - id: online
    run: echo \"${CARGO_NET_OFFLINE:-unset}\"
    sandbox: { network: true }
",
    )
    .file("turns.yaml", "turns: []\n")
    .commit();
    repo.wf(&["run", "task.yaml", "--yes", "--trust-sandbox"])
        .code(0);
    let trace = repo.last_trace();
    assert_eq!(step_output(&trace, "off"), "true true 1 off 1 1");
    assert_eq!(step_output(&trace, "overridden"), "false");
    assert_eq!(step_output(&trace, "online"), "unset");
    // Unconfined commands have the network: nothing is switched off.
    repo.wf(&["run", "task.yaml", "--yes", "--sandbox", "off"])
        .code(0);
    assert_eq!(step_output(&repo.last_trace(), "off"), "");
}

#[test]
fn env_reaches_shell_calls_and_checks_of_an_agent_step() {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        "wf: 1
name: agent-env
model: { provider: script, script: turns.yaml }
tools: [shell]
permissions: { shell: { allow: [\"printenv *\"] } }
env: { FLAVOUR: plain }
checks:
  - { name: flavour, run: test \"$FLAVOUR\" = plain && test \"$CARGO_NET_OFFLINE\" = true }
prompt: Show the flavour.
",
    )
    .file(
        "turns.yaml",
        "turns:
  - tool_calls:
      - { name: shell, input: { command: \"printenv FLAVOUR CARGO_NET_OFFLINE\" } }
  - text: Done.
",
    )
    .commit();
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    let trace = repo.last_trace();
    let result = events(&trace, "tool_result")[0].clone();
    let output = result["output"].as_str().unwrap();
    assert!(output.contains("plain\ntrue"), "{result}");
    assert_eq!(events(&trace, "check_result")[0]["passed"], true);
}

#[test]
fn a_recipe_gets_no_variable_of_wfs_environment_but_its_callers_env() {
    let repo = Repo::new();
    repo.file(
        "recipes/show.yaml",
        "wf: 1
name: show
model: { provider: script, script: turns.yaml }
env:
  STOLEN: { from_env: WF_TEST_SECRET }
  OWN: recipe
  SHARED: recipe
steps:
  - id: show
    run: echo \"${STOLEN:-none}|$OWN|$SHARED|$CALLER\"
",
    )
    .file(
        "task.yaml",
        "wf: 1
name: caller
model: { provider: script, script: turns.yaml }
env: { SHARED: caller }
steps:
  - id: r
    uses: ./recipes/show.yaml
    env: { CALLER: { from_env: WF_TEST_CALLER } }
",
    )
    .file("turns.yaml", "turns: []\n")
    .file("recipes/turns.yaml", "turns: []\n")
    .commit();
    repo.wf(&["lock", "task.yaml"]).code(0);
    repo.commit();
    let env = [("WF_TEST_SECRET", "sekrit"), ("WF_TEST_CALLER", "given")];
    let plan = repo.wf_env(&["plan", "task.yaml"], &env);
    plan.code(0);
    assert!(
        plan.stdout
            .contains("env asks for `STOLEN` from `WF_TEST_SECRET` of wf's environment"),
        "{}",
        plan.stdout
    );
    repo.wf_env(&["run", "task.yaml", "--yes"], &env).code(0);
    assert_eq!(
        step_output(&repo.last_trace(), "r.show"),
        "none|recipe|caller|given"
    );
}

#[test]
fn env_names_and_templates_are_checked_where_they_are_written() {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        "wf: 1
name: bad-env
model: { provider: script, script: turns.yaml }
env:
  WF_INPUT_X: one
  1BAD: two
  GOOD: \"{{ inputs.nope }}\"
prompt: hi
",
    )
    .commit();
    let r = repo.wf(&["validate", "task.yaml"]);
    r.code(2);
    let err = &r.stderr;
    assert!(
        err.contains("`WF_INPUT_X` is one of wf's own variables"),
        "{err}"
    );
    assert!(err.contains("`1BAD` is not a variable name"), "{err}");
    assert!(
        err.contains("undeclared template variable `inputs.nope`"),
        "{err}"
    );
    assert!(err.contains("task.yaml:5:"), "{err}");
}

/// A crate whose one dependency is in no local registry cache, without
/// `Cargo.lock`: cargo must reach crates.io to resolve it.
fn crate_needing_the_registry(repo: &Repo, extra: &str) {
    repo.file(
        "Cargo.toml",
        "[package]
name = \"probe\"
version = \"0.1.0\"
edition = \"2021\"

[dependencies]
leftpad = \"0.2\"
",
    )
    .file("src/lib.rs", "pub fn f() {}\n")
    .file(".gitignore", "/target\nCargo.lock\n")
    .file(
        "task.yaml",
        &format!(
            "wf: 1
name: offline-cargo
model: {{ provider: script, script: turns.yaml }}
checks:
  - {{ name: build, run: cargo check --quiet }}
prompt: Build it.
{extra}"
        ),
    )
    .file("turns.yaml", "turns:\n  - text: Done.\n")
    .commit();
}

#[test]
fn a_cargo_check_that_needs_the_registry_cannot_run_in_under_two_seconds() {
    let repo = Repo::new();
    crate_needing_the_registry(&repo, "");
    let started = std::time::Instant::now();
    let r = repo.wf(&["run", "task.yaml", "--yes"]);
    let wall = started.elapsed();
    r.code(1);
    let s = repo.last_summary();
    assert_eq!(s["status"], "checks_failed", "{s}");
    let reason = s["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(
            "check `build` cannot run: it needs the network, and its commands have none"
        ),
        "{reason}"
    );
    assert!(reason.contains("offline mode"), "{reason}");
    assert!(reason.contains("no repair round was spent"), "{reason}");
    assert!(reason.contains("sandbox: { network: true }"), "{reason}");
    let trace = repo.last_trace();
    assert!(events(&trace, "repair_requested").is_empty());
    let check = events(&trace, "check_result")[0].clone();
    let ms = check["duration_ms"].as_u64().unwrap();
    eprintln!(
        "figure: cargo check to \"cannot run\": check {ms} ms, whole run {} ms",
        wall.as_millis()
    );
    assert!(ms < 2000, "the check took {ms} ms");
}

/// Runs wf in `repo` at the sandbox level without namespaces (Landlock
/// only), the way a container's default seccomp profile makes it run:
/// through `tests/support/no_userns.py`.
fn wf_without_namespaces(repo: &Repo, args: &[&str]) -> super::Ran {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/no_userns.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(super::wf_bin())
        .args(args)
        .current_dir(repo.path())
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .env("NO_COLOR", "1")
        .env("TMPDIR", repo.tmp())
        .envs(repo.xdg())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    super::Ran::from(out)
}

#[test]
fn a_sandbox_read_denial_outside_the_grants_cannot_run() {
    // A file of the user's outside every root the sandbox grants (not in
    // the workspace, not a toolchain, not a system directory). At the full
    // level such a path is absent from the command's view; at the level
    // without namespaces it exists and Landlock denies the read.
    let outside = tempfile::tempdir().unwrap();
    let notes = outside.path().join("notes.txt");
    std::fs::write(&notes, "mine\n").unwrap();
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        &format!(
            "wf: 1
name: denied
model: {{ provider: script, script: turns.yaml }}
checks:
  - {{ name: notes, run: cat {} }}
prompt: Read the notes.
",
            notes.display()
        ),
    )
    .file("turns.yaml", "turns:\n  - text: Done.\n")
    .commit();
    wf_without_namespaces(&repo, &["run", "task.yaml", "--yes"]).code(1);
    let s = repo.last_summary();
    let reason = s["reason"].as_str().unwrap();
    let trace = repo.last_trace();
    assert_eq!(events(&trace, "sandbox_ready")[0]["mode"], "auto");
    assert!(
        reason.starts_with(&format!(
            "check `notes` cannot run: the sandbox denied it `{}`",
            notes.display()
        )),
        "{reason}"
    );
    assert!(reason.contains("Permission denied"), "{reason}");
    assert!(reason.contains("to `sandbox.read`"), "{reason}");
    assert!(events(&trace, "repair_requested").is_empty());
}

/// A task whose write permission and context come from a path input.
fn path_task(repo: &Repo) {
    repo.file("src/lib.rs", "pub fn f() {}\n")
        .file("src/util/mod.rs", "pub fn g() {}\n")
        .file(
            "task.yaml",
            "wf: 1
name: paths
inputs: { path: { type: path } }
model: { provider: script, script: turns.yaml }
context: { include: [\"{{ inputs.path }}/**/*.rs\"] }
tools: [read_file, write_file]
permissions: { write: [\"{{ inputs.path }}/**/*.rs\"] }
prompt: Tidy {{ inputs.path }}.
",
        )
        .file("turns.yaml", "turns: []\n")
        .commit();
}

#[test]
fn path_inputs_are_normalized_before_templating() {
    let repo = Repo::new();
    path_task(&repo);
    let mut fingerprints = Vec::new();
    for (given, glob, files) in [
        (".", "**/*.rs", 2),
        ("./", "**/*.rs", 2),
        ("./src", "src/**/*.rs", 2),
        ("src/", "src/**/*.rs", 2),
        ("src//util/.", "src/util/**/*.rs", 1),
    ] {
        let r = repo.wf(&[
            "plan",
            "task.yaml",
            "--json",
            "-i",
            &format!("path={given}"),
        ]);
        r.code(0);
        let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let step = &plan["steps"][0];
        assert_eq!(step["permissions"]["write"][0], glob, "{given}");
        assert_eq!(step["context_include"][0], glob, "{given}");
        assert_eq!(
            step["context"]["files"].as_array().unwrap().len(),
            files,
            "{given}: {step}"
        );
        assert!(
            plan["notes"].as_array().is_none_or(|n| n.is_empty()),
            "{given}: {plan}"
        );
        if given.contains("src") && !given.contains("util") {
            fingerprints.push(plan["fingerprint"].clone());
        }
    }
    // `./src` and `src/` are one input.
    assert_eq!(fingerprints[0], fingerprints[1]);
}

#[test]
fn a_permission_glob_that_matches_nothing_is_a_note_in_plan() {
    let repo = Repo::new();
    path_task(&repo);
    let r = repo.wf(&["plan", "task.yaml", "-i", "path=lib"]);
    r.code(0);
    assert!(
        r.stdout.contains(
            "permissions.write `lib/**/*.rs` matches no file in the repository; the model can only create new files through it"
        ),
        "{}",
        r.stdout
    );
    // A read glob too, once.
    repo.file(
        "task.yaml",
        &repo
            .read("task.yaml")
            .replace("permissions: {", "permissions: { read: [\"docs/**\"],"),
    );
    let r = repo.wf(&["plan", "task.yaml", "-i", "path=src"]);
    r.code(0);
    assert_eq!(
        r.stdout
            .matches("permissions.read `docs/**` matches no file")
            .count(),
        1,
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("permissions.write"), "{}", r.stdout);
}

/// wf's private directory in `repo`'s temp dir and its entries, sorted.
fn private_entries(repo: &Repo) -> (std::path::PathBuf, Vec<String>) {
    let uid = String::from_utf8(
        std::process::Command::new("id")
            .arg("-u")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let root = repo.tmp().join(format!("wf-{}", uid.trim()));
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    (root, names)
}

/// Sets the modification time of `path` `days` days back.
fn age(path: &std::path::Path, days: u32) {
    let status = std::process::Command::new("touch")
        .args(["-h", "-d", &format!("{days} days ago")])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

fn a_cargo_repo_with_one_run() -> Repo {
    let repo = Repo::new();
    repo.file(
        "Cargo.toml",
        "[package]\nname = \"p\"\nversion = \"0.1.0\"\n",
    )
    .file("src/lib.rs", "pub fn f() {}\n")
    .file(
        "task.yaml",
        "wf: 1
name: noop
model: { provider: script, script: turns.yaml }
prompt: Nothing.
",
    )
    .file("turns.yaml", "turns:\n  - text: Done.\n")
    .commit();
    repo
}

#[test]
fn the_workspace_line_says_copied_then_reused() {
    let repo = a_cargo_repo_with_one_run();
    let first = repo.wf(&["run", "task.yaml", "--yes"]);
    first.code(0);
    assert_eq!(
        events(&repo.last_trace(), "workspace_ready")[0]["reused"],
        false
    );
    assert!(first.stderr.contains("files copied"), "{}", first.stderr);
    let second = repo.wf(&["run", "task.yaml", "--yes"]);
    second.code(0);
    assert_eq!(
        events(&repo.last_trace(), "workspace_ready")[0]["reused"],
        true
    );
    assert!(second.stderr.contains("reused"), "{}", second.stderr);
    assert!(!second.stderr.contains("files copied"), "{}", second.stderr);
}

#[test]
fn gc_removes_old_slots_and_caches_and_keeps_recent_and_held_ones() {
    let repo = a_cargo_repo_with_one_run();
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    let (root, names) = private_entries(&repo);
    let slot = names
        .iter()
        .find(|n| n.starts_with("wf-ws-") && !n.contains('.'))
        .unwrap()
        .clone();
    let cache = names
        .iter()
        .find(|n| n.starts_with("wf-cache-"))
        .unwrap()
        .clone();
    std::fs::write(root.join(&cache).join("blob"), vec![7u8; 256 * 1024]).unwrap();

    // Used just now: kept.
    let r = repo.wf(&["gc"]);
    r.code(0);
    assert!(
        r.stdout
            .contains("reclaimed 0 bytes from 0 slots and caches; 2 used within 14 days kept"),
        "{}",
        r.stdout
    );
    assert!(root.join(&slot).is_dir());

    // Twenty days unused, but a running wf holds the slot: kept.
    age(&root.join(format!("{slot}.lock")), 20);
    // `--no-fork`: the process holding the lock is the one killed below.
    let holder = std::process::Command::new("flock")
        .args(["-n", "--no-fork"])
        .arg(root.join(format!("{slot}.lock")))
        .args(["sleep", "30"])
        .spawn()
        .unwrap();
    let mut holder = holder;
    std::thread::sleep(std::time::Duration::from_millis(300));
    age(&root.join(format!("{slot}.lock")), 20);
    let r = repo.wf(&["gc", "--days", "14"]);
    r.code(0);
    assert!(
        r.stdout.contains(&format!(
            "kept slot {}: in use by a running wf",
            root.join(&slot).display()
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!(
            "kept cache {}: in use",
            root.join(&cache).display()
        )),
        "{}",
        r.stdout
    );
    assert!(root.join(&slot).is_dir() && root.join(&cache).is_dir());
    holder.kill().unwrap();
    holder.wait().unwrap();

    // Released: both go, with the space they took.
    age(&root.join(format!("{slot}.lock")), 20);
    let r = repo.wf(&["gc", "--days", "14"]);
    r.code(0);
    assert!(
        r.stdout.contains(&format!(
            "removed slot {} (unused for 20 days)",
            root.join(&slot).display()
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!(
            "removed cache {} (unused for 20 days)",
            root.join(&cache).display()
        )),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("from 2 slots and caches"), "{}", r.stdout);
    assert!(!r.stdout.contains("reclaimed 0 bytes"), "{}", r.stdout);
    let (_, left) = private_entries(&repo);
    assert_eq!(
        left,
        vec![format!("{slot}.lock")],
        "only the lock file stays"
    );

    // The next run makes a new copy; `--all` removes it however recent.
    let again = repo.wf(&["run", "task.yaml", "--yes"]);
    again.code(0);
    assert!(again.stderr.contains("files copied"), "{}", again.stderr);
    let r = repo.wf(&["gc", "--all"]);
    r.code(0);
    assert!(r.stdout.contains("from 2 slots and caches"), "{}", r.stdout);
}

/// `wf gc` also removes the package caches of wf's own (issue 22, items 3
/// and 7): kept while recent, removed with the space they took once
/// unused for the given days, the user's own caches never looked at.
#[test]
fn gc_removes_package_caches_no_run_used_for_days() {
    let repo = Repo::new();
    repo.file(
        "task.yaml",
        "wf: 1
name: fetches
model: { provider: script, script: turns.yaml }
prompt: Upgrade.
tools: []
sandbox: { network: [registry.npmjs.org] }
checks:
  - { name: fill, run: \"head -c 300000 /dev/zero > \\\"$npm_config_cache/blob\\\"\" }
",
    )
    .file("turns.yaml", "turns:\n  - text: Nothing to change.\n")
    .commit();
    repo.wf(&["run", "task.yaml", "--yes", "--trust-sandbox"])
        .code(0);
    let packages = repo.xdg()[0].1.join("wf/packages");
    let mut caches: Vec<std::path::PathBuf> = std::fs::read_dir(&packages)
        .unwrap()
        .flatten()
        .flat_map(|r| std::fs::read_dir(r.path()).unwrap().flatten())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(caches.len(), 1, "{caches:?}");
    let cache = caches.pop().unwrap();

    let r = repo.wf(&["gc"]);
    r.code(0);
    assert!(cache.is_dir(), "{}", r.stdout);
    assert!(!r.stdout.contains("removed package cache"), "{}", r.stdout);

    age(&cache.with_extension("lock"), 20);
    let r = repo.wf(&["gc", "--days", "14"]);
    r.code(0);
    assert!(
        r.stdout.contains(&format!(
            "removed package cache {} (unused for 20 days)",
            cache.display()
        )),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("reclaimed 0 bytes"), "{}", r.stdout);
    assert!(!cache.exists());
}
