//! `wf test`: recipe tests, run offline. A test names a fixture repository
//! (a folder), the inputs, the model's turns, and what must hold afterwards.
//!
//! ```yaml
//! # workflows/tests/migrate-config.test.yaml
//! recipe: ../migrate-config.yaml        # relative to this file
//! tests:
//!   - name: keeps-every-key
//!     fixture: fixtures/ini-service      # a folder, relative to this file
//!     inputs: { source: config/app.ini }
//!     turns:                             # the scripted model, as in a script file
//!       - tool_calls:
//!           - { name: write_file, input: { path: config/app.toml, content: "port = 8080\n" } }
//!       - text: Done.
//!     expect:
//!       status: succeeded                # the run's status (default succeeded)
//!       checks: passed                   # passed | failed | any (default any)
//!       files:                           # content after the run
//!         config/app.toml: { contains: "port = 8080" }
//!         config/app.ini: { absent: true }
//! ```
//!
//! Each test copies its fixture into a fresh git repository, runs the recipe
//! there with the scripted turns (whatever provider the recipe names: no
//! model, no key), approves its checkpoints, and checks the expectations.
//! File expectations: `equals` (exact content), `contains` (a substring),
//! `matches` (a regex), `absent: true`. Test files are `*.test.yaml` or
//! `*.test.yml`; a directory means every test file under it.

use crate::engine::{Reporter, RunOptions};
use crate::provider::script::{Script, ScriptProvider, Turn};
use crate::record::event::RunStatus;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A file of recipe tests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// The recipe under test, relative to the test file.
    pub recipe: String,
    /// The tests.
    pub tests: Vec<RecipeTest>,
}

/// One recipe test.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeTest {
    /// Its name, unique in the file.
    pub name: String,
    /// The fixture repository, a folder relative to the test file.
    pub fixture: String,
    /// Inputs, as `-i` would give them.
    #[serde(default)]
    pub inputs: BTreeMap<String, serde_json::Value>,
    /// The scripted model turns.
    pub turns: Vec<Turn>,
    /// What must hold afterwards.
    #[serde(default)]
    pub expect: Expect,
}

/// Expectations of a test.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The run's status (`succeeded`, `checks_failed`, …). Default `succeeded`.
    #[serde(default)]
    pub status: Option<String>,
    /// `passed`, `failed` or `any` (default).
    #[serde(default)]
    pub checks: Option<String>,
    /// Files after the run.
    #[serde(default)]
    pub files: BTreeMap<String, FileExpect>,
}

/// What a file must look like after the run.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FileExpect {
    /// Exactly this content.
    #[serde(default)]
    pub equals: Option<String>,
    /// Contains this text.
    #[serde(default)]
    pub contains: Option<String>,
    /// Matches this regex.
    #[serde(default)]
    pub matches: Option<String>,
    /// Does not exist.
    #[serde(default)]
    pub absent: bool,
}

/// A test's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `file::name`.
    pub id: String,
    /// Empty when it passed; otherwise what went wrong.
    pub failures: Vec<String>,
}

/// The test files `args` name, seen from `cwd`: a path that exists as it
/// is (a directory means every test file under it); otherwise a task name
/// (see [`crate::app::find`]), meaning the test files in the repository's
/// task folders whose `recipe:` is that task file. A task without tests is
/// an error naming where wf looked.
pub fn named(args: &[PathBuf], cwd: &Path) -> Result<Vec<PathBuf>, crate::error::Error> {
    let mut out = Vec::new();
    for arg in args {
        if cwd.join(arg).exists() {
            out.extend(discover(std::slice::from_ref(arg)));
            continue;
        }
        let task = crate::app::find::task(arg, cwd)?;
        if cwd.join(&task).exists() && task != *arg {
            let dirs = crate::app::find::TaskDirs::of(&crate::sys::git::repo_root(cwd))?;
            let found = tests_of(&cwd.join(&task), &dirs, cwd);
            if found.is_empty() {
                return Err(crate::error::Error::Usage(format!(
                    "no recipe tests for {}: no *.test.yaml in {} has it as its `recipe:`",
                    task.display(),
                    dirs.describe()
                )));
            }
            out.extend(found);
        } else {
            out.push(task);
        }
    }
    Ok(out)
}

/// The test files in the task folders whose recipe is `task`, each named
/// relative to `cwd`, sorted.
fn tests_of(task: &Path, dirs: &crate::app::find::TaskDirs, cwd: &Path) -> Vec<PathBuf> {
    let Ok(task) = task.canonicalize() else {
        return Vec::new();
    };
    let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    let folders: Vec<PathBuf> = dirs
        .dirs
        .iter()
        .map(|d| dirs.root.join(d))
        .filter(|d| d.is_dir())
        .collect();
    let mut found: Vec<PathBuf> = discover(&folders)
        .into_iter()
        .filter(|file| {
            let Ok(tests) = load(file) else {
                return false;
            };
            let dir = file.parent().unwrap_or(Path::new("."));
            dir.join(&tests.recipe)
                .canonicalize()
                .is_ok_and(|recipe| recipe == task)
        })
        .map(|file| crate::sys::paths::between(&cwd, &file).map_or(file, PathBuf::from))
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Test files under `paths` (files are taken as given), sorted.
pub fn discover(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = crate::context::walk_builder(p, p)
                .build()
                .filter_map(Result::ok)
                .map(|e| e.into_path())
                .filter(|f| {
                    let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    name.ends_with(".test.yaml") || name.ends_with(".test.yml")
                })
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// Reads a test file.
pub fn load(path: &Path) -> Result<TestFile, String> {
    let file: TestFile = crate::spec::yaml::load_yaml(path)?;
    let mut names = std::collections::BTreeSet::new();
    for t in &file.tests {
        if !names.insert(t.name.clone()) {
            return Err(format!(
                "{}: two tests are named `{}`",
                path.display(),
                t.name
            ));
        }
    }
    Ok(file)
}

struct Quiet;

impl Reporter for Quiet {
    fn record(&mut self, _record: &crate::record::event::Record) {}
    fn say(&mut self, _text: &str) {}
}

/// Runs every test of `file` (found at `path`).
pub fn run_file(path: &Path, file: &TestFile) -> Vec<Outcome> {
    let dir = path.parent().unwrap_or(Path::new("."));
    file.tests
        .iter()
        .map(|t| Outcome {
            id: format!("{}::{}", path.display(), t.name),
            failures: match run_one(dir, &file.recipe, t) {
                Ok(failures) => failures,
                Err(e) => vec![e],
            },
        })
        .collect()
}

fn run_one(dir: &Path, recipe: &str, test: &RecipeTest) -> Result<Vec<String>, String> {
    let repo = tempfile::Builder::new()
        .prefix("wf-test-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary repository: {e}"))?;
    let root = repo.path().canonicalize().map_err(|e| e.to_string())?;
    let fixture = dir.join(&test.fixture);
    if !fixture.is_dir() {
        return Err(format!("fixture {} is not a folder", fixture.display()));
    }
    copy_dir(&fixture, &root).map_err(|e| format!("cannot copy the fixture: {e}"))?;
    for args in [
        &["init", "-q", "--template="][..],
        &["add", "-A"],
        &[
            "-c",
            "user.name=wf test",
            "-c",
            "user.email=test@wf.invalid",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "fixture",
        ],
    ] {
        crate::sys::git::Git::private(&root)
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
    }

    let mut loaded = crate::spec::load(&dir.join(recipe)).map_err(|e| e.to_string())?;
    loaded.spec.model.provider = crate::spec::ProviderName::Script;
    let given: BTreeMap<String, String> = test
        .inputs
        .iter()
        .map(|(k, v)| (k.clone(), crate::spec::inputs::as_text(v)))
        .collect();
    let mut resolver = crate::recipes::Resolver::for_task(&loaded, crate::recipes::Mode::Locked)
        .map_err(|e| e.to_string())?;
    let plan =
        crate::plan::make(&loaded, &given, &root, &mut resolver).map_err(|e| e.to_string())?;
    let mut provider = ScriptProvider::new(Script {
        turns: test.turns.clone(),
    });
    let options = RunOptions {
        dry_run: false,
        commit: false,
        sandbox_helper: None,
        checkout: false,
    };
    let mut approver = crate::app::approver::Terminal {
        yes: true,
        interactive: false,
        color: false,
    };
    let outcome = crate::engine::run(
        &plan,
        &mut provider,
        Box::new(|_, _| None),
        options,
        &mut Quiet,
        &mut approver,
    )
    .map_err(|e| e.to_string())?;

    let mut failures = Vec::new();
    let want = test.expect.status.as_deref().unwrap_or("succeeded");
    if outcome.status.as_str() != want {
        let why = outcome
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        failures.push(format!(
            "status is {}{why}, expected {want}",
            outcome.status.as_str()
        ));
    }
    let trace = crate::record::trace::read(&outcome.dir.trace()).map_err(|e| e.to_string())?;
    let summary = crate::record::summary::from_records(&trace.records);
    match test.expect.checks.as_deref().unwrap_or("any") {
        "any" => {}
        "passed" => {
            for c in summary.checks.iter().filter(|c| !c.passed) {
                failures.push(format!(
                    "check `{}` failed (exit {:?})",
                    c.name, c.exit_code
                ));
            }
            if summary.checks.is_empty() && !plan.task_settings().checks.is_empty() {
                failures.push("the checks never ran".into());
            }
        }
        "failed" => {
            if !summary.checks.iter().any(|c| !c.passed) {
                failures.push("expected a check to fail; all passed".into());
            }
        }
        other => failures.push(format!(
            "expect.checks is `{other}`; use passed, failed or any"
        )),
    }
    for (path, want) in &test.expect.files {
        let content = std::fs::read_to_string(root.join(path)).ok();
        match (&content, want.absent) {
            (Some(_), true) => failures.push(format!("{path} exists, expected absent")),
            (None, false) => failures.push(format!("{path} does not exist")),
            _ => {}
        }
        let Some(content) = content else { continue };
        if let Some(eq) = &want.equals
            && &content != eq
        {
            failures.push(format!(
                "{path} differs from the expected content; it is:\n{}",
                indent(&content)
            ));
        }
        if let Some(sub) = &want.contains
            && !content.contains(sub.as_str())
        {
            failures.push(format!("{path} does not contain {sub:?}"));
        }
        if let Some(pattern) = &want.matches {
            match regex::Regex::new(pattern) {
                Ok(re) if !re.is_match(&content) => {
                    failures.push(format!("{path} does not match /{pattern}/"))
                }
                Ok(_) => {}
                Err(e) => failures.push(format!("invalid regex for {path}: {e}")),
            }
        }
    }
    if outcome.status == RunStatus::Paused {
        failures.push("the run paused at a checkpoint".into());
    }
    Ok(failures)
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("      | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
