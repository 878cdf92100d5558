//! `wf init`: a new task file that validates as written, with a modeline
//! pointing at the schema by a correct relative path.

use super::Repo;

const MODELINE: &str = "# yaml-language-server: $schema=";

/// A repository holding the schema where wf's own repository keeps it.
fn repo_with_schema() -> Repo {
    let repo = Repo::new();
    let schema = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/workflow.schema.json"),
    )
    .unwrap();
    repo.file("schemas/workflow.schema.json", &schema);
    repo
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

#[test]
fn init_writes_a_task_file_that_validates_and_plans() {
    let repo = repo_with_schema();
    let ran = repo.wf(&["init"]);
    ran.code(0);
    assert!(
        ran.stdout.contains("workflows/my-workflow.yaml"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("wf validate") && ran.stdout.contains("wf plan"));
    let text = repo.read("workflows/my-workflow.yaml");
    assert_eq!(
        first_line(&text),
        format!("{MODELINE}../schemas/workflow.schema.json")
    );
    assert!(text.contains("name: my-workflow\n"));
    assert!(text.contains("provider: anthropic"));
    repo.wf(&["validate", "workflows/my-workflow.yaml"]).code(0);
    repo.wf(&["plan", "workflows/my-workflow.yaml"]).code(0);
}

#[test]
fn init_uses_the_given_name() {
    let repo = repo_with_schema();
    repo.wf(&["init", "migrate-config"]).code(0);
    let text = repo.read("workflows/migrate-config.yaml");
    assert!(text.contains("name: migrate-config\n"));
    repo.wf(&["validate", "workflows/migrate-config.yaml"])
        .code(0);
}

#[test]
fn without_a_schema_file_init_writes_it_and_points_at_it() {
    let repo = Repo::new();
    let ran = repo.wf(&["init"]);
    ran.code(0);
    assert!(
        ran.stdout.contains("wrote schemas/workflow.schema.json"),
        "{}",
        ran.stdout
    );
    let text = repo.read("workflows/my-workflow.yaml");
    assert_eq!(
        first_line(&text),
        format!("{MODELINE}../schemas/workflow.schema.json")
    );
    assert_eq!(
        repo.read("schemas/workflow.schema.json"),
        wf::spec::schema::schema_text()
    );
    repo.wf(&["validate", "workflows/my-workflow.yaml"]).code(0);
    // A second task file reuses it, and an edited schema is never overwritten.
    repo.file("schemas/workflow.schema.json", "{}\n");
    let again = repo.wf(&["init", "second"]);
    again.code(0);
    assert!(!again.stdout.contains("schemas/"), "{}", again.stdout);
    assert_eq!(repo.read("schemas/workflow.schema.json"), "{}\n");
}

#[test]
fn an_existing_file_is_refused() {
    let repo = repo_with_schema();
    repo.file("workflows/my-workflow.yaml", "mine\n");
    let ran = repo.wf(&["init"]);
    ran.code(2);
    assert!(ran.stderr.contains("already exists"), "{}", ran.stderr);
    assert_eq!(repo.read("workflows/my-workflow.yaml"), "mine\n");

    repo.file("custom.yaml", "mine too\n");
    repo.wf(&["init", "x", "--path", "custom.yaml"]).code(2);
    assert_eq!(repo.read("custom.yaml"), "mine too\n");
}

#[test]
fn a_bad_name_is_refused() {
    let repo = repo_with_schema();
    for bad in ["My-Workflow", "a--b", "x-", "under_score"] {
        let ran = repo.wf(&["init", bad]);
        ran.code(2);
        assert!(
            ran.stderr.contains("invalid workflow name"),
            "{bad}: {}",
            ran.stderr
        );
    }
    assert!(!repo.exists("workflows"));
}

#[test]
fn path_in_a_subdirectory_gets_a_relative_modeline() {
    let repo = repo_with_schema();
    let ran = repo.wf(&["init", "deep", "--path", "tools/ci/flows/deep.yaml"]);
    ran.code(0);
    assert!(
        ran.stdout.contains("tools/ci/flows/deep.yaml"),
        "{}",
        ran.stdout
    );
    let text = repo.read("tools/ci/flows/deep.yaml");
    assert_eq!(
        first_line(&text),
        format!("{MODELINE}../../../schemas/workflow.schema.json")
    );
    assert!(text.contains("name: deep\n"));
    repo.wf(&["validate", "tools/ci/flows/deep.yaml"]).code(0);

    // Run from a subdirectory: --path is relative to it, the modeline to
    // the file's own directory.
    std::fs::create_dir_all(repo.join("pkg")).unwrap();
    let out = std::process::Command::new(super::wf_bin())
        .args(["init", "inner", "--path", "flows/inner.yaml"])
        .current_dir(repo.join("pkg"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = repo.read("pkg/flows/inner.yaml");
    assert_eq!(
        first_line(&text),
        format!("{MODELINE}../../schemas/workflow.schema.json")
    );
    repo.wf(&["validate", "pkg/flows/inner.yaml"]).code(0);
}

/// The README's "A first task of your own", command by command, in a
/// repository of someone else's: init, plan by name, and a run that says
/// which key it needs before anything starts.
#[test]
fn the_readmes_first_task_path_works_as_written() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let section = &readme[readme.find("## A first task of your own").unwrap()..];
    let section = &section[..section.find("\n## ").unwrap()];
    let commands: Vec<Vec<&str>> = section
        .lines()
        .filter(|l| l.starts_with("wf "))
        .map(|l| {
            l.split('#')
                .next()
                .unwrap()
                .split_whitespace()
                .skip(1)
                .collect()
        })
        .collect();
    assert_eq!(
        commands,
        [
            vec!["init", "fix-lint"],
            vec!["plan", "fix-lint"],
            vec!["run", "fix-lint", "--dry-run"]
        ]
    );
    let repo = Repo::new();
    repo.file("lib/app.py", "print('hi')\n").commit();
    repo.wf(&commands[0]).code(0);
    assert!(repo.exists("workflows/fix-lint.yaml"));
    let plan = repo.wf(&commands[1]);
    plan.code(0);
    assert!(plan.stdout.contains("fingerprint"), "{}", plan.stdout);
    let run = repo.wf(&commands[2]);
    run.code(2);
    assert!(run.stderr.contains("ANTHROPIC_API_KEY"), "{}", run.stderr);
    assert!(repo.runs().is_empty());
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let r = Repo::new().wf(&["--version"]);
    r.code(0);
    let line = r.stdout.trim();
    let version = env!("CARGO_PKG_VERSION");
    let commit = line
        .strip_prefix(&format!("wf {version} (commit "))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{line}"));
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match head {
        // Built from this checkout: its commit (HEAD may have moved on
        // since the build only if the tests were not rebuilt).
        Some(head) => assert_eq!(commit, head),
        None => assert_eq!(commit, "unknown"),
    }
}
