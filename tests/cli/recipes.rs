//! `wf test`: recipe tests, and every shipped recipe passing its own.

use super::Repo;

#[test]
fn every_recipe_in_workflows_passes_its_own_tests() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new(super::wf_bin())
        .args(["test", "workflows/tests"])
        .current_dir(root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    // Each recipe in workflows/ has a test file.
    for entry in std::fs::read_dir(format!("{root}/workflows")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".yaml") {
            assert!(
                stdout.contains(&format!("{stem}.test.yaml::")),
                "no recipe test for workflows/{name}:\n{stdout}"
            );
        }
    }
}

fn recipe_repo(expect: &str) -> Repo {
    let repo = Repo::new();
    repo.file("fixture/notes.txt", "hello\n").file(
        "recipe.yaml",
        "wf: 1
name: touch-notes
model: { provider: anthropic, name: claude-haiku-4-5 }
tools: [edit_file]
permissions: { write: [\"notes.txt\"] }
prompt: Say hello louder.
checks:
  - { name: loud, run: \"grep -q HELLO notes.txt\" }
limits: { max_repairs: 0 }
",
    );
    repo.file(
        "recipe.test.yaml",
        &format!(
            "recipe: recipe.yaml
tests:
  - name: shouts
    fixture: fixture
    turns:
      - tool_calls:
          - {{ name: edit_file, input: {{ path: notes.txt, old: hello, new: HELLO }} }}
      - text: Done.
    expect:
{expect}"
        ),
    );
    repo
}

#[test]
fn passing_and_failing_tests_are_reported_like_a_test_runner() {
    let repo = recipe_repo(
        "      checks: passed\n      files:\n        notes.txt: { equals: \"HELLO\\n\" }\n",
    );
    let r = repo.wf(&["test", "recipe.test.yaml"]);
    r.code(0);
    assert!(
        r.stdout.contains("ok    recipe.test.yaml::shouts"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with("1 passed, 0 failed\n"), "{}", r.stdout);

    let repo = recipe_repo(
        "      status: checks_failed\n      files:\n        notes.txt: { contains: whisper }\n        other.txt: { absent: true }\n",
    );
    let r = repo.wf(&["test", "."]);
    r.code(1);
    assert!(
        r.stdout.contains("FAIL  ./recipe.test.yaml::shouts"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("status is succeeded, expected checks_failed"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("notes.txt does not contain \"whisper\""),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with("0 passed, 1 failed\n"), "{}", r.stdout);
}

#[test]
fn a_malformed_test_file_is_a_usage_error_with_its_location() {
    let repo = recipe_repo("      status: succeeded\n");
    let text = repo.read("recipe.test.yaml").replace(
        "    fixture: fixture\n",
        "    fixture: fixture\n    fixtur: typo\n",
    );
    repo.file("recipe.test.yaml", &text);
    let r = repo.wf(&["test", "recipe.test.yaml"]);
    r.code(2);
    assert!(
        r.stderr
            .contains("recipe.test.yaml:5:5: unknown field `fixtur`"),
        "{}",
        r.stderr
    );
}

/// Copies a directory tree.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn every_example_runs_offline_with_its_pins() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = Repo::new();
    copy_tree(&root.join("examples"), &repo.join("examples"));
    copy_tree(&root.join("schemas"), &repo.join("schemas"));
    repo.commit();
    let examples = wf::app::validate::task_files_under(&repo.join("examples"));
    let mut ran = 0;
    for file in examples {
        let rel = file
            .strip_prefix(repo.path())
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        if rel.starts_with("examples/recipes/") {
            continue; // used by the examples, not run alone
        }
        let r = repo.wf(&["run", &rel, "--dry-run"]);
        assert_eq!(
            r.code, 0,
            "{rel} does not run (a stale examples/wf.lock? run `wf lock examples`)\n{}\n{}",
            r.stdout, r.stderr
        );
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(
            all.contains("Dry run: the change was not applied."),
            "{rel}: {all}"
        );
        ran += 1;
    }
    assert!(ran >= 3, "expected demo, steps and uses; ran {ran}");
    assert_eq!(repo.status(), "", "a dry run changed the tree");
}

/// Issue 22: `security-review` on a JavaScript repository got no code in
/// its context, and one Python package exceeded its fixed budget.
#[test]
fn security_review_reads_the_languages_asked_for_within_the_budget_asked_for() {
    let recipe = format!(
        "{}/workflows/security-review.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let repo = Repo::new();
    repo.file("index.js", "module.exports = require('./lib/read')\n")
        .file("lib/read.js", "exports.read = (s) => eval(s)\n")
        .file(
            "types/index.d.ts",
            "export declare function read(s: string): unknown\n",
        )
        .file("tools/gen.py", "import os\nos.system(input())\n")
        .file("test/read.test.js", "it('reads', () => {})\n")
        .file("dist/read.min.js", "exports.read=s=>eval(s)\n")
        .file(".gitignore", "node_modules/\n")
        .file("node_modules/dep/index.js", "module.exports = 1\n")
        .commit();
    let r = repo.wf(&["plan", &recipe]);
    r.code(0);
    let context: Vec<&str> = r
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("context:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        context,
        [
            "index.js",
            "lib/read.js",
            "tools/gen.py",
            "types/index.d.ts"
        ],
        "{}",
        r.stdout
    );

    let r = repo.wf(&["plan", &recipe, "-i", "languages=js, py", "-i", "path=lib"]);
    r.code(0);
    assert!(r.stdout.contains("context: 1 files"), "{}", r.stdout);
    assert!(r.stdout.contains("lib/read.js"), "{}", r.stdout);

    let r = repo.wf(&["plan", &recipe, "-i", "budget=10"]);
    r.code(2);
    assert!(
        r.stderr
            .contains("over its budget of 10 (context.max_tokens)"),
        "{}",
        r.stderr
    );
}
