//! Every test either runs or says it did not. A test that needs a real
//! dependency (a linter, the npm MCP servers, PyPI) is `#[ignore]`d, so a
//! plain `cargo test` reports it as ignored, never as passed, and is named
//! with its group's prefix; `.ci/run` runs each group through
//! `.ci/ran-all.sh`, which fails unless every test of the group ran and
//! passed. These checks read the test sources and `.ci/run`.

use std::path::{Path, PathBuf};

/// The groups: a test's name prefix, and what marks a test as needing the
/// group's dependency.
const GROUPS: &[(&str, &[&str])] = &[
    ("real_linter_", &["tool(\"WF_TEST_", "actionlint("]),
    ("real_mcp_", &["= node_modules()"]),
    ("real_npm_", &["has(\"npm\")"]),
    ("real_package", &["WF_TEST_REAL_REGISTRY"]),
    // tests/cli/real_projects.rs: the module's name is the group's prefix.
    ("real_projects", &["Project::get("]),
    ("real_receiver", &["WF_TEST_OTLP_RECEIVER"]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Each `#[test]` of `source`: its attributes, name and body.
fn tests_of(source: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for chunk in source.split("#[test]").skip(1) {
        let Some(at) = chunk.find("fn ") else {
            continue;
        };
        let attrs = chunk[..at].to_string();
        let rest = &chunk[at + 3..];
        let name = rest[..rest.find('(').unwrap_or(0)].trim().to_string();
        let end = rest.find("\n}\n").map_or(rest.len(), |e| e + 3);
        out.push((attrs, name, rest[..end].to_string()));
    }
    out
}

#[test]
fn a_test_needing_a_real_dependency_is_ignored_named_and_run_by_ci() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("tests"), &mut files);
    files.sort();
    let mut found = vec![0; GROUPS.len()];
    let mut wrong = Vec::new();
    for file in &files {
        if file.ends_with("honest_skips.rs") {
            continue;
        }
        let source = std::fs::read_to_string(file).unwrap();
        let shown = file.strip_prefix(root).unwrap().display().to_string();
        // No test says "skipped" and passes.
        if source.contains("eprintln!(\"skipped") {
            wrong.push(format!(
                "{shown}: prints `skipped` (a pass that did not run)"
            ));
        }
        for (attrs, name, body) in tests_of(&source) {
            for (g, (prefix, marks)) in GROUPS.iter().enumerate() {
                if !marks.iter().any(|m| body.contains(m)) {
                    continue;
                }
                found[g] += 1;
                if !attrs.contains("#[ignore") {
                    wrong.push(format!(
                        "{shown}: {name} needs {prefix}'s dependency and is not #[ignore]d"
                    ));
                }
                if !name.contains(prefix) && !shown.contains(prefix) {
                    wrong.push(format!(
                        "{shown}: {name} is not named {prefix}… (.ci/run would not run it)"
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    for ((prefix, _), n) in GROUPS.iter().zip(found) {
        assert!(n > 0, "no test of the group {prefix}: the marks are stale");
        assert!(
            ci.contains(&format!("ran-all.sh {prefix}")),
            ".ci/run does not run the group {prefix} through .ci/ran-all.sh"
        );
    }
}
