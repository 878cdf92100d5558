//! The committed schema matches the types, and every shipped task file
//! passes both the parser and the schema.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_schema_is_generated_from_the_types() {
    let committed = std::fs::read_to_string(root().join("schemas/workflow.schema.json")).unwrap();
    let generated = wf::spec::schema::schema_text();
    assert!(
        committed == generated,
        "schemas/workflow.schema.json is stale: run `cargo run -- schema > schemas/workflow.schema.json`"
    );
    let out = std::process::Command::new(super::wf_bin())
        .arg("schema")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), generated);
}

#[test]
fn every_shipped_task_file_validates_with_parser_and_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/workflow.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut files = Vec::new();
    for dir in ["workflows", "examples"] {
        files.extend(wf::app::validate::task_files_under(&root().join(dir)));
    }
    assert!(
        files.len() >= 2,
        "expected task files in workflows/ and examples/: {files:?}"
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema="),
            "{} lacks the schema modeline",
            file.display()
        );
        if let Err(e) = wf::spec::load(&file) {
            panic!("{} does not load:\n{e}", file.display());
        }
        let value = wf::spec::yaml::parse(&text).unwrap().to_json();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", file.display());
    }
}
