//! `docs/format.md` documents every key of the task-file format: each
//! property name in the committed JSON Schema must appear there as a code
//! span (`` `max_repairs` ``). Adding a key to the types without documenting
//! it fails here.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn repo_file(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Follows a local `$ref` (`#/$defs/Name`) to its schema.
fn resolve<'a>(root: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("only local $refs are expected, found `{reference}`"));
    root.pointer(pointer)
        .unwrap_or_else(|| panic!("$ref `{reference}` points nowhere"))
}

/// Every property name reachable from `node`, with the path it was found at.
fn collect(
    root: &Value,
    node: &Value,
    at: &str,
    seen_refs: &mut BTreeSet<String>,
    out: &mut Vec<(String, String)>,
) {
    let Value::Object(map) = node else {
        return;
    };
    if let Some(Value::String(reference)) = map.get("$ref")
        && seen_refs.insert(reference.clone())
    {
        collect(root, resolve(root, reference), at, seen_refs, out);
    }
    if let Some(Value::Object(props)) = map.get("properties") {
        for (name, schema) in props {
            let path = if at.is_empty() {
                name.clone()
            } else {
                format!("{at}.{name}")
            };
            out.push((name.clone(), path.clone()));
            collect(root, schema, &path, seen_refs, out);
        }
    }
    if let Some(items) = map.get("items") {
        collect(root, items, &format!("{at}[]"), seen_refs, out);
    }
    if let Some(extra) = map.get("additionalProperties") {
        collect(root, extra, &format!("{at}.*"), seen_refs, out);
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(alternatives)) = map.get(key) {
            for alt in alternatives {
                collect(root, alt, at, seen_refs, out);
            }
        }
    }
}

fn schema_keys() -> Vec<(String, String)> {
    let schema: Value =
        serde_json::from_str(&repo_file("schemas/workflow.schema.json")).expect("schema is JSON");
    let mut out = Vec::new();
    collect(&schema, &schema, "", &mut BTreeSet::new(), &mut out);
    out
}

#[test]
fn the_walk_reaches_nested_definitions() {
    let paths: Vec<String> = schema_keys().into_iter().map(|(_, p)| p).collect();
    for expected in [
        "wf",
        "inputs.*.type",
        "model.price.cache_read",
        "permissions.shell.allow",
        "checks[].timeout",
        "limits.max_repairs",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "the schema walk did not reach `{expected}`; found: {paths:?}"
        );
    }
}

#[test]
fn every_schema_key_is_documented_in_format_md() {
    let doc = repo_file("docs/format.md");
    let mut missing: Vec<String> = Vec::new();
    for (name, path) in schema_keys() {
        if !doc.contains(&format!("`{name}`")) {
            missing.push(format!("`{name}` (at {path})"));
        }
    }
    missing.dedup();
    assert!(
        missing.is_empty(),
        "docs/format.md does not mention these task-file keys as code spans:\n  {}",
        missing.join("\n  ")
    );
}
