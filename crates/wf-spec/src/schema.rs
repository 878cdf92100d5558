//! The task-file JSON Schema, generated from the Rust types in
//! [`crate::types`], and validation of a parsed file against it with
//! every error located in the file.
//!
//! The committed `schemas/workflow.schema.json` is this generator's output; a
//! test fails when they differ, so the schema editors use and the format wf
//! reads cannot drift apart.

use crate::diagnostic::{Diagnostic, suggest};
use crate::types::{DURATION_PATTERN, Spec};
use crate::yaml::Node;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;
use std::sync::OnceLock;

/// The schema as a JSON value.
pub fn schema_value() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut v = schemars::schema_for!(Spec).to_value();
        if let Value::Object(map) = &mut v {
            map.insert(
                "$id".into(),
                Value::String("https://wf.invalid/schemas/workflow.schema.json".into()),
            );
        }
        v
    })
}

/// The schema as committed: pretty JSON with sorted keys and a final newline.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(schema_value()).expect("schema serializes");
    text.push('\n');
    text
}

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| jsonschema::validator_for(schema_value()).expect("generated schema is valid"))
}

/// Validates a task file's tree; each schema violation becomes a located
/// diagnostic. Empty when the file matches the schema.
pub fn validate(root: &Node) -> Vec<Diagnostic> {
    let instance = root.to_json();
    let mut out = Vec::new();
    for error in validator().iter_errors(&instance) {
        let pointer = error.instance_path().as_str().to_string();
        let (key, node) = root.at_pointer(&pointer);
        let field = pointer.rsplit('/').next().unwrap_or("").to_string();
        let what = if field.is_empty() || field.parse::<usize>().is_ok() {
            "value".to_string()
        } else {
            format!("`{field}`")
        };
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let known = known_properties(error.schema_path().as_str());
                for name in unexpected {
                    let span = match node.get(name) {
                        Some((k, _)) => k.span,
                        None => node.span,
                    };
                    let mut d = Diagnostic::new(span, format!("unknown key `{name}`"));
                    match suggest(name, known.iter().map(String::as_str)) {
                        Some(help) => d = d.with_help(help),
                        None if !known.is_empty() => {
                            d = d.with_help(format!("expected one of: {}", known.join(", ")));
                        }
                        None => {}
                    }
                    out.push(d);
                }
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                let span = key.map_or(node.span, |k| k.span);
                let place = if pointer.is_empty() {
                    String::new()
                } else {
                    format!(" in {what}")
                };
                out.push(Diagnostic::new(
                    span,
                    format!("missing required key `{name}`{place}"),
                ));
            }
            ValidationErrorKind::Type { kind } => {
                let expected = match kind {
                    TypeKind::Single(t) => article(&t.to_string()),
                    TypeKind::Multiple(set) => {
                        // `Option<T>` fields allow null too; name the real types.
                        let names: Vec<String> = set
                            .iter()
                            .filter(|t| *t != jsonschema::JsonType::Null)
                            .map(|t| article(&t.to_string()))
                            .collect();
                        if names.is_empty() {
                            "empty".to_string()
                        } else {
                            names.join(" or ")
                        }
                    }
                };
                out.push(Diagnostic::new(
                    node.span,
                    format!(
                        "{what} must be {expected}, found {}",
                        describe(&node.to_json())
                    ),
                ));
            }
            ValidationErrorKind::OneOfNotValid { .. }
                if !one_of_consts(error.schema_path().as_str()).is_empty() =>
            {
                let options = one_of_consts(error.schema_path().as_str());
                out.push(enum_error(&pointer, &what, node, &options));
            }
            ValidationErrorKind::Enum { options } => {
                let options: Vec<String> = options
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(enum_error(&pointer, &what, node, &options));
            }
            ValidationErrorKind::Pattern { pattern } => {
                let found = node.to_json();
                let text = found.as_str().unwrap_or_default();
                let d = if pattern == DURATION_PATTERN {
                    Diagnostic::new(node.span, format!("{what}: `{text}` is not a duration"))
                        .with_help("write a number and a unit: 500ms, 30s, 2m, 1h")
                } else if pointer == "/name" {
                    Diagnostic::new(node.span, format!("invalid name `{text}`")).with_help(
                        "use lowercase letters, digits and single dashes, e.g. `migrate-config`",
                    )
                } else if pointer == "/version" {
                    Diagnostic::new(node.span, format!("`{text}` is not a semantic version"))
                        .with_help("write MAJOR.MINOR.PATCH, e.g. `1.2.0`")
                } else {
                    Diagnostic::new(
                        node.span,
                        format!("{what} `{text}` does not match `{pattern}`"),
                    )
                };
                out.push(d);
            }
            ValidationErrorKind::Minimum { limit }
            | ValidationErrorKind::ExclusiveMinimum { limit } => {
                out.push(Diagnostic::new(
                    node.span,
                    format!("{what} must be at least {limit}, found {}", node.to_json()),
                ));
            }
            ValidationErrorKind::Maximum { limit }
            | ValidationErrorKind::ExclusiveMaximum { limit } => {
                let d = Diagnostic::new(
                    node.span,
                    format!("{what} must be at most {limit}, found {}", node.to_json()),
                );
                let d = if pointer == "/wf" {
                    d.with_help("this wf reads task-file format 1")
                } else {
                    d
                };
                out.push(d);
            }
            ValidationErrorKind::MinLength { .. } => {
                out.push(Diagnostic::new(
                    node.span,
                    format!("{what} must not be empty"),
                ));
            }
            ValidationErrorKind::MaxLength { limit } => {
                out.push(Diagnostic::new(
                    node.span,
                    format!("{what} is longer than {limit} characters"),
                ));
            }
            _ => out.push(Diagnostic::new(node.span, format!("{what}: {error}"))),
        }
    }
    out
}

/// The file's tree as JSON with what the schema refuses taken out (unknown
/// keys, values of the wrong type or out of range), so the checks after
/// the schema can still look at the rest in the same pass (`wf validate`
/// reports both kinds of error at once).
///
/// `None` when taking things out would make the later checks wrong rather
/// than quiet: a missing required key, a bad array element (removing it
/// would shift the places of the ones after it), or a bad declaration
/// others refer to (an input, the prompt, a step, `uses:`), whose removal
/// would make its every use look undeclared.
pub fn without_errors(root: &Node) -> Option<Value> {
    let mut instance = root.to_json();
    let mut cuts: Vec<String> = Vec::new();
    for error in validator().iter_errors(&root.to_json()) {
        let pointer = error.instance_path().as_str().to_string();
        match error.kind() {
            ValidationErrorKind::Required { .. } => return None,
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for name in unexpected {
                    cuts.push(format!("{pointer}/{}", escape_pointer(name)));
                }
            }
            _ => cuts.push(pointer),
        }
    }
    for cut in &cuts {
        let (parent, last) = cut.rsplit_once('/')?;
        let referred = ["", "/inputs"].contains(&parent)
            && (parent == "/inputs" || ["inputs", "prompt", "steps", "uses"].contains(&last));
        if referred || cut.is_empty() {
            return None;
        }
        match instance.pointer_mut(parent) {
            Some(Value::Object(map)) => {
                map.remove(&last.replace("~1", "/").replace("~0", "~"));
            }
            Some(Value::Array(_)) => return None,
            // Inside something already taken out.
            _ => {}
        }
    }
    Some(instance)
}

/// A key as one JSON-pointer segment.
fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn enum_error(pointer: &str, what: &str, node: &Node, options: &[String]) -> Diagnostic {
    let found = node.to_json();
    let found_text = found
        .as_str()
        .map_or_else(|| describe(&found), |s| format!("`{s}`"));
    let subject = if pointer.starts_with("/tools/") {
        "unknown tool".to_string()
    } else {
        format!("unknown value for {what}:")
    };
    let d = Diagnostic::new(node.span, format!("{subject} {found_text}"));
    match found
        .as_str()
        .and_then(|s| suggest(s, options.iter().map(String::as_str)))
    {
        Some(help) => d.with_help(help),
        None => d.with_help(format!("expected one of: {}", options.join(", "))),
    }
}

/// The schema node at a keyword location.
fn schema_at(schema_path: &str) -> Option<&'static Value> {
    let mut node = schema_value();
    for part in schema_path.trim_start_matches('/').split('/') {
        if part.is_empty() {
            continue;
        }
        let part = part.replace("~1", "/").replace("~0", "~");
        node = match node {
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            other => other.get(&part)?,
        };
    }
    Some(node)
}

/// The `const` strings of a `oneOf` of constants (how enums with documented
/// variants are generated); empty when it is another kind of `oneOf`.
fn one_of_consts(schema_path: &str) -> Vec<String> {
    let Some(Value::Array(alternatives)) = schema_at(schema_path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for alt in alternatives {
        // A pattern alternative (`mcp__<server>__<tool>`) is not a constant
        // to suggest, and does not make the rest another kind of `oneOf`.
        if alt.get("pattern").is_some() {
            continue;
        }
        match alt.get("const").and_then(Value::as_str) {
            Some(c) => out.push(c.to_string()),
            None => match alt.get("enum").and_then(Value::as_array) {
                Some(values) => {
                    out.extend(values.iter().filter_map(Value::as_str).map(String::from))
                }
                None => return Vec::new(),
            },
        }
    }
    out
}

/// The property names of the object schema that owns the
/// `additionalProperties` keyword at `schema_path`.
fn known_properties(schema_path: &str) -> Vec<String> {
    let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
    let Some(node) = schema_at(parent) else {
        return Vec::new();
    };
    node.get("properties")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn article(t: &str) -> String {
    match t {
        "object" => "a mapping".to_string(),
        "array" => "a list".to_string(),
        "integer" => "an integer".to_string(),
        "null" => "empty".to_string(),
        other => format!("a {other}"),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".to_string(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("`{n}`"),
        Value::String(s) => format!("the string `{}`", truncate(s, 40)),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a mapping".to_string(),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}
