//! The project where it expects itself (issue 22, items 1 and 3): a Python
//! project with a virtual environment and an editable install of a src
//! layout, a crate with an ignored `Cargo.lock`, and a Node project with
//! `node_modules` run their own tests as checks, confined, with no
//! setting; an ignored lockfile is part of the start and its change is in
//! the diff; `npm install` replacing the shared `node_modules` link does
//! not break later checks. Each test runs at the machine's level; `.ci/run`
//! runs them again without user namespaces (`tests/support/no_userns.py`).

use super::{Repo, events, git};
use std::path::Path;
use std::process::Command;

/// A build backend of the standard library only (PEP 660), so that
/// `pip install -e .` works offline: the editable install is a `.pth`
/// file holding the absolute path of the user's `src/`, as setuptools'
/// and hatchling's are.
const BACKEND: &str = r#"import base64, hashlib, os, zipfile

NAME, VERSION = "tinypkg", "0.1"


def _line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def get_requires_for_build_editable(config_settings=None):
    return []


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    dist = f"{NAME}-{VERSION}.dist-info"
    files = {
        f"__editable__.{NAME}-{VERSION}.pth": (os.path.abspath("src") + "\n").encode(),
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: stdlib\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [_line(n, d) for n, d in files.items()] + [f"{dist}/RECORD,,"]
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w") as z:
        for n, d in files.items():
            z.writestr(n, d)
    return wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("editable installs only")
"#;

fn run(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn has(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A src-layout package `tinypkg` with a unittest suite, `.venv` ignored,
/// made with `python3 -m venv` and installed editable (`pip install -e .`,
/// offline), as its developer would.
pub(crate) fn python_project() -> Repo {
    let repo = Repo::new();
    repo.file(".gitignore", ".venv/\n__pycache__/\n")
        .file(
            "pyproject.toml",
            "[build-system]\nrequires = []\nbuild-backend = \"editable_backend\"\nbackend-path = [\"_backend\"]\n\n[project]\nname = \"tinypkg\"\nversion = \"0.1\"\n",
        )
        .file("_backend/editable_backend.py", BACKEND)
        .file("src/tinypkg/__init__.py", "def answer():\n    return 42\n")
        .file(
            "tests/test_answer.py",
            "import unittest\n\nimport tinypkg\n\n\nclass T(unittest.TestCase):\n    def test_answer(self):\n        self.assertEqual(tinypkg.answer(), 42)\n",
        )
        .file("notes/private.txt", "a note of the user's\n")
        .commit();
    // Without pip in the venv (ensurepip costs seconds); pip runs for it.
    run(
        repo.path(),
        "python3",
        &["-m", "venv", "--without-pip", ".venv"],
    );
    run(
        repo.path(),
        "python3",
        &[
            "-m",
            "pip",
            "--python",
            ".venv/bin/python",
            "install",
            "-q",
            "--no-build-isolation",
            "--no-index",
            "-e",
            ".",
        ],
    );
    repo
}

pub(crate) fn check_results(trace: &[serde_json::Value]) -> Vec<(String, bool, String)> {
    events(trace, "check_result")
        .into_iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or("").to_string(),
                e["passed"].as_bool().unwrap_or(false),
                e["output_tail"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn assert_checks_passed(repo: &Repo) {
    let trace = repo.last_trace();
    let results = check_results(&trace);
    assert!(!results.is_empty(), "{trace:?}");
    for (name, passed, output) in &results {
        assert!(passed, "check {name} failed:\n{output}");
    }
}

#[test]
fn a_venv_with_an_editable_src_layout_runs_its_tests_against_the_workspace() {
    let repo = python_project();
    // The model changes the package in the workspace: the checks must
    // import the workspace's copy, never the user's `src/` the editable
    // install points at.
    repo.file(
        "task.yaml",
        "wf: 1
name: py
model: { provider: script, script: turns.yaml }
prompt: Do the task.
tools: [edit_file]
permissions: { write: [\"src/**\", \"tests/**\"] }
checks:
  - name: import
    run: .venv/bin/python -c 'import tinypkg, sys; print(tinypkg.__file__); sys.exit(tinypkg.answer() != 43)'
  - name: unittest
    run: .venv/bin/python -m unittest discover -s tests -q
",
    )
    .file(
        "turns.yaml",
        "turns:
  - tool_calls:
      - { name: edit_file, input: { path: src/tinypkg/__init__.py, old: \"return 42\", new: \"return 43\" } }
      - { name: edit_file, input: { path: tests/test_answer.py, old: \"answer(), 42\", new: \"answer(), 43\" } }
  - text: done
",
    )
    .commit();
    // Unconfined, the venv's editable install points at the user's `src/`
    // (which still answers 42): the workspace's copy comes first on
    // PYTHONPATH.
    repo.wf(&["run", "task.yaml", "--dry-run", "--sandbox", "off"])
        .code(0);
    assert_checks_passed(&repo);
    assert!(check_results(&repo.last_trace())[0].2.contains("wf-ws-"));
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    assert_checks_passed(&repo);
    let trace = repo.last_trace();
    let import = &check_results(&trace)[0].2;
    // Where the module came from: the workspace, at the repository's own
    // path at the full level; the slot, through PYTHONPATH, without
    // namespaces.
    if crate::full_level() {
        let expected = repo
            .path()
            .canonicalize()
            .unwrap()
            .join("src/tinypkg/__init__.py");
        assert!(import.contains(&expected.display().to_string()), "{import}");
    } else {
        assert!(import.contains("wf-ws-"), "{import}");
    }
    assert_eq!(
        repo.read("src/tinypkg/__init__.py"),
        "def answer():\n    return 43\n"
    );
}

#[test]
fn a_crate_with_an_ignored_lockfile_tests_offline_and_a_lockfile_change_is_in_the_diff() {
    let repo = Repo::new();
    repo.file(".gitignore", "/target\nCargo.lock\n")
        .file(
            "Cargo.toml",
            "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
        )
        .file(
            "src/lib.rs",
            "pub fn answer() -> u32 { 42 }\n\n#[test]\nfn answers() { assert_eq!(answer(), 42); }\n",
        )
        .commit();
    run(repo.path(), "cargo", &["generate-lockfile", "--offline"]);
    let lock = repo.read("Cargo.lock");
    assert!(git(repo.path(), &["status", "--porcelain"]).is_empty());
    // The version bump and `cargo update` (offline) rewrite the lockfile:
    // that change is the run's to apply, with the manifest's.
    repo.file(
        "task.yaml",
        "wf: 1
name: crate
model: { provider: script, script: turns.yaml }
prompt: Do the task.
tools: [edit_file, shell]
permissions: { write: [\"Cargo.toml\", \"Cargo.lock\"], shell: { allow: [\"cargo *\"] } }
checks:
  - { name: lock-is-there, run: test -f Cargo.lock }
  - { name: tests, run: cargo test --offline -q }
",
    )
    .file(
        "turns.yaml",
        "turns:
  - tool_calls:
      - { name: edit_file, input: { path: Cargo.toml, old: \"version = \\\"0.1.0\\\"\", new: \"version = \\\"0.2.0\\\"\" } }
  - tool_calls:
      - { name: shell, input: { command: cargo update --offline --workspace } }
  - text: done
",
    )
    .commit();
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    assert_checks_passed(&repo);
    let run = repo.runs().pop().unwrap();
    let patch = std::fs::read_to_string(run.join("diff.patch")).unwrap();
    assert!(
        patch.contains("diff --git a/Cargo.lock b/Cargo.lock"),
        "{patch}"
    );
    assert!(!patch.contains("new file mode"), "{patch}");
    let now = repo.read("Cargo.lock");
    assert_ne!(now, lock);
    assert!(now.contains("version = \"0.2.0\""), "{now}");
    // Still ignored in the user's tree: nothing of it became tracked.
    assert!(git(repo.path(), &["ls-files", "Cargo.lock"]).is_empty());
}

#[test]
#[ignore = "needs npm and node: .ci/run installs them and runs the real_npm_ group at both levels"]
fn real_npm_a_node_project_runs_npm_test_and_npm_install_cannot_break_later_checks() {
    assert!(
        has("npm"),
        "this test needs npm and node on PATH (.ci/run installs them)"
    );
    let repo = Repo::new();
    repo.file(".gitignore", "node_modules/\n")
        .file(
            "package.json",
            "{\n  \"name\": \"tiny\",\n  \"version\": \"1.0.0\",\n  \"private\": true,\n  \"scripts\": { \"test\": \"node test.js\" }\n}\n",
        )
        .file(
            "test.js",
            "const helper = require('helper');\nif (helper.answer() !== 42) { console.error('wrong answer'); process.exit(1); }\nconsole.log('ok', require.resolve('helper'));\n",
        )
        .file(
            "node_modules/helper/package.json",
            "{ \"name\": \"helper\", \"version\": \"1.0.0\", \"main\": \"index.js\" }\n",
        )
        .file(
            "node_modules/helper/index.js",
            "exports.answer = () => 42;\n",
        )
        .commit();
    assert!(git(repo.path(), &["ls-files", "node_modules"]).is_empty());
    // A step takes the link away as `npm install` does ("Removing
    // non-directory") before it fails for want of the network; the check
    // after it still finds the modules.
    repo.file(
        "task.yaml",
        "wf: 1
name: node
model: { provider: script, script: turns.yaml }
steps:
  - id: before
    run: npm test
  - id: install
    run: rm node_modules
  - id: agent
    prompt: nothing to do
checks:
  - { name: npm-test, run: npm test }
",
    )
    .file("turns.yaml", "turns:\n  - text: done\n")
    .commit();
    let r = repo.wf(&["run", "task.yaml", "--yes"]);
    let trace = repo.last_trace();
    let before = events(&trace, "step_finished")
        .into_iter()
        .find(|e| e["id"] == "before")
        .cloned()
        .unwrap_or_else(|| panic!("{}\n{trace:?}", r.stderr));
    assert_eq!(before["exit_code"], 0, "{before}");
    assert_checks_passed(&repo);
    // The user's node_modules is untouched.
    assert_eq!(
        repo.read("node_modules/helper/index.js"),
        "exports.answer = () => 42;\n"
    );
}

/// Runs `wf test` on one recipe test of the shipped
/// `workflows/upgrade-dependency.yaml` (by its absolute path: the shipped
/// file itself, with a scripted model) against `fixture`; returns wf's
/// output, after asserting the test passed.
fn run_shipped_upgrade(fixture: &Path, test: &str) -> String {
    let recipe = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/upgrade-dependency.yaml");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("upgrade.test.yaml");
    std::fs::write(
        &file,
        format!("recipe: {}\ntests:\n{test}", recipe.display())
            .replace("FIXTURE", &fixture.display().to_string()),
    )
    .unwrap();
    let xdg = dir.path().join("xdg");
    let out = Command::new(super::wf_bin())
        .args(["test"])
        .arg(&file)
        .current_dir(dir.path())
        .env("XDG_CACHE_HOME", xdg.join("cache"))
        .env("XDG_STATE_HOME", xdg.join("state"))
        .env("TMPDIR", dir.path())
        .env("NO_COLOR", "1")
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1 passed, 0 failed"), "{text}");
    assert!(out.status.success(), "{text}");
    // The package cache was wf's own, in its cache directory.
    assert!(xdg.join("cache/wf/packages").is_dir(), "{text}");
    text
}

/// The hosts a step of the shipped recipe may reach.
fn recipe_hosts(step: &str) -> Vec<String> {
    let recipe = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/upgrade-dependency.yaml");
    let text = std::fs::read_to_string(recipe).unwrap();
    let at = text.find(&format!("- id: {step}\n")).unwrap();
    let line = text[at..]
        .lines()
        .find(|l| l.trim_start().starts_with("sandbox:"))
        .unwrap();
    let list = line.split('[').nth(1).unwrap().split(']').next().unwrap();
    list.split(',').map(|h| h.trim().to_string()).collect()
}

fn real_registry() {
    assert_eq!(
        std::env::var("WF_TEST_REAL_REGISTRY").as_deref(),
        Ok("1"),
        "this test reaches a package registry: set WF_TEST_REAL_REGISTRY=1 where it is reachable"
    );
}

/// The shipped `upgrade-dependency` on a crate whose ignored `Cargo.lock`
/// pins `itoa` 1.0.1: the model runs `cargo update` and requires 1.0.11;
/// the checks build and test it on 1.0.11, fetched from crates.io through
/// wf's proxy (index.crates.io and static.crates.io only) into wf's
/// package cache; the lockfile's change is applied to the user's ignored
/// file. (cargo verifies each download against the index's checksum.)
#[test]
#[ignore = "reaches crates.io: run with WF_TEST_REAL_REGISTRY=1 and --ignored (.ci/run does)"]
fn real_package_upgrade_of_a_crate_with_an_ignored_lockfile() {
    real_registry();
    assert_eq!(
        recipe_hosts("cargo"),
        ["index.crates.io", "static.crates.io"]
    );
    let fixture = tempfile::tempdir().unwrap();
    let root = fixture.path();
    std::fs::write(root.join(".gitignore"), "/target\nCargo.lock\n").unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"fmt-num\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nitoa = \"1.0.1\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("src/lib.rs"),
        "pub fn show(n: u64) -> String {\n    itoa::Buffer::new().format(n).to_string()\n}\n\n#[test]\nfn shows() {\n    assert_eq!(show(42), \"42\");\n}\n",
    )
    .unwrap();
    // The user's lockfile, made with a cargo home of the test's own.
    let home = fixture.path().join("cargo-home");
    for args in [
        &["generate-lockfile"][..],
        &["update", "-p", "itoa", "--precise", "1.0.1"],
    ] {
        let out = Command::new("cargo")
            .args(args)
            .current_dir(root)
            .env("CARGO_HOME", &home)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::remove_dir_all(&home).unwrap();
    let test = "  - name: cargo
    fixture: FIXTURE
    inputs: { ecosystem: cargo, package: itoa, from: 1.0.1, to: 1.0.11 }
    turns:
      - tool_calls:
          - { name: shell, input: { command: cargo update -p itoa --precise 1.0.11 } }
          - { name: edit_file, input: { path: Cargo.toml, old: 'itoa = \"1.0.1\"', new: 'itoa = \"1.0.11\"' } }
      - text: itoa is on 1.0.11.
    expect:
      status: succeeded
      checks: passed
      files:
        Cargo.toml: { contains: 'itoa = \"1.0.11\"' }
        Cargo.lock: { matches: 'name = \"itoa\"\\nversion = \"1.0.11\"' }
";
    run_shipped_upgrade(root, test);
}

/// The shipped `upgrade-dependency` on a Node package with `ms` 2.0.0
/// installed (`node_modules` ignored, shared read-only into the run): the
/// model runs `npm install ms@2.1.3 --save-exact` through wf's proxy
/// (registry.npmjs.org only, wf's npm cache), which replaces the
/// workspace's `node_modules` link by the new tree; the checks see 2.1.3
/// installed and `npm test` passes; package.json and package-lock.json
/// change in the user's tree, their `node_modules` does not. (npm verifies
/// each tarball against the lockfile's integrity hash.)
#[test]
#[ignore = "reaches registry.npmjs.org: run with WF_TEST_REAL_REGISTRY=1 and --ignored (.ci/run does)"]
fn real_package_upgrade_of_a_node_package() {
    real_registry();
    assert_eq!(recipe_hosts("npm"), ["registry.npmjs.org"]);
    let fixture = tempfile::tempdir().unwrap();
    let root = fixture.path().join("app");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join(".gitignore"), "node_modules/\n").unwrap();
    std::fs::write(
        root.join("package.json"),
        "{\n  \"name\": \"durations\",\n  \"version\": \"1.0.0\",\n  \"private\": true,\n  \"scripts\": { \"test\": \"node test.js\" },\n  \"dependencies\": { \"ms\": \"2.0.0\" }\n}\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("src/index.js"),
        "const ms = require('ms');\nexports.days = (n) => ms(`${n} days`);\n",
    )
    .unwrap();
    std::fs::write(
        root.join("test.js"),
        "const { days } = require('./src');\nif (days(2) !== 172800000) { console.error('wrong'); process.exit(1); }\nconsole.log('ok');\n",
    )
    .unwrap();
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund"])
        .current_dir(&root)
        .env("npm_config_cache", fixture.path().join("npm-cache"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let test = "  - name: npm
    fixture: FIXTURE
    inputs: { ecosystem: npm, package: ms, from: 2.0.0, to: 2.1.3 }
    turns:
      - tool_calls:
          - { name: shell, input: { command: npm install ms@2.1.3 --save-exact --no-audit --no-fund } }
      - text: ms is on 2.1.3.
    expect:
      status: succeeded
      checks: passed
      files:
        package.json: { contains: '\"ms\": \"2.1.3\"' }
        package-lock.json: { matches: '\"node_modules/ms\": \\{\\s*\"version\": \"2.1.3\"' }
        node_modules/ms/package.json: { contains: '\"version\": \"2.0.0\"' }
";
    run_shipped_upgrade(&root, test);
}

/// A recipe with a step per ecosystem names each one's manifest in its
/// context: a step its inputs turn off may name a file this repository
/// lacks; a step that runs may not (a typo still stops the run).
#[test]
fn a_step_its_inputs_turn_off_may_name_a_missing_manifest_in_its_context() {
    let repo = Repo::new();
    repo.file("requirements.txt", "six==1.16.0\n")
        .file(
            "task.yaml",
            "wf: 1
name: branches
inputs: { ecosystem: { type: enum, values: [python, cargo], default: python } }
model: { provider: script, script: turns.yaml }
steps:
  - id: python
    if: inputs.ecosystem == \"python\"
    context: { include: [requirements.txt] }
    prompt: Python.
  - id: cargo
    if: inputs.ecosystem == \"cargo\"
    context: { include: [Cargo.toml] }
    prompt: Cargo.
",
        )
        .file("turns.yaml", "turns:\n  - text: Done.\n")
        .commit();
    repo.wf(&["plan", "task.yaml"]).code(0);
    let r = repo.wf(&["plan", "task.yaml", "-i", "ecosystem=cargo"]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("context.include `Cargo.toml` names no file in the repository"),
        "{}",
        r.stderr
    );
}

/// Figures for `bench/README.md` ("Real projects' toolchains"): for each
/// project above, the wall time of a first run (a new slot: every file
/// copied, the toolchain links made, the check's first build) and of a
/// later run (the slot reused), and the check's own time in each, at the
/// machine's level. `cargo test --release --test lib toolchain_figures --
/// --ignored --nocapture`, and again under `tests/support/no_userns.py`.
#[test]
#[ignore = "figures: run by hand with --nocapture"]
fn toolchain_figures() {
    let level = crate::sandbox_level();
    let python = python_project();
    python
        .file(
            "task.yaml",
            "wf: 1\nname: py\nmodel: { provider: script, script: turns.yaml }\nprompt: Test.\nchecks:\n  - { name: tests, run: .venv/bin/python -m unittest discover -s tests -q }\n",
        )
        .file("turns.yaml", "turns:\n  - text: Done.\n")
        .commit();
    let cargo = Repo::new();
    cargo
        .file(".gitignore", "/target\nCargo.lock\n")
        .file(
            "Cargo.toml",
            "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
        )
        .file(
            "src/lib.rs",
            "pub fn answer() -> u32 { 42 }\n\n#[test]\nfn answers() { assert_eq!(answer(), 42); }\n",
        )
        .file(
            "task.yaml",
            "wf: 1\nname: crate\nmodel: { provider: script, script: turns.yaml }\nprompt: Test.\nchecks:\n  - { name: tests, run: cargo test --offline -q }\n",
        )
        .file("turns.yaml", "turns:\n  - text: Done.\n")
        .commit();
    run(cargo.path(), "cargo", &["generate-lockfile", "--offline"]);
    let node = Repo::new();
    node.file(".gitignore", "node_modules/\n")
        .file(
            "package.json",
            "{ \"name\": \"tiny\", \"version\": \"1.0.0\", \"private\": true, \"scripts\": { \"test\": \"node test.js\" } }\n",
        )
        .file("test.js", "if (require('helper').answer() !== 42) process.exit(1);\n")
        .file(
            "node_modules/helper/package.json",
            "{ \"name\": \"helper\", \"main\": \"index.js\" }\n",
        )
        .file("node_modules/helper/index.js", "exports.answer = () => 42;\n")
        .file(
            "task.yaml",
            "wf: 1\nname: node\nmodel: { provider: script, script: turns.yaml }\nprompt: Test.\nchecks:\n  - { name: tests, run: npm test }\n",
        )
        .file("turns.yaml", "turns:\n  - text: Done.\n")
        .commit();
    println!("level: {level}");
    println!("| project | first run | later run (median of 5) | check, first | check, later |");
    println!("|---|---|---|---|---|");
    for (name, repo) in [
        ("python venv, editable src layout", &python),
        ("crate, ignored Cargo.lock", &cargo),
        ("node, node_modules", &node),
    ] {
        let once = |repo: &Repo| {
            let start = std::time::Instant::now();
            repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
            let wall = start.elapsed().as_secs_f64() * 1000.0;
            let trace = repo.last_trace();
            let check = events(&trace, "check_result")[0].clone();
            assert_eq!(check["passed"], true, "{check}");
            (wall, check["duration_ms"].as_u64().unwrap())
        };
        let (first, first_check) = once(repo);
        let mut later: Vec<(f64, u64)> = (0..5).map(|_| once(repo)).collect();
        later.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (wall, check) = later[2];
        println!("| {name} | {first:.0} ms | {wall:.0} ms | {first_check} ms | {check} ms |");
    }
}
