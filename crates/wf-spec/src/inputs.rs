//! Input values: `-i KEY=VALUE` from the command line, converted to the
//! declared type, checked, and merged with defaults.

use crate::diagnostic::suggest;
use crate::types::{InputDecl, InputType, Spec};
use serde_json::Value;
use std::collections::BTreeMap;

/// Problems with the given inputs; each line is one problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct InputError {
    /// One lowercase message per problem.
    pub problems: Vec<String>,
}

/// Splits `KEY=VALUE` arguments. A later value for the same key wins.
pub fn parse_assignments(args: &[String]) -> Result<BTreeMap<String, String>, InputError> {
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    for arg in args {
        match arg.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                out.insert(k.trim().to_string(), v.to_string());
            }
            _ => problems.push(format!("input `{arg}` is not KEY=VALUE")),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(InputError { problems })
    }
}

/// The inputs of a run: every declared input with its value, given or default.
pub fn resolve(
    spec: &Spec,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Value>, InputError> {
    let mut problems = Vec::new();
    for key in given.keys() {
        if !spec.inputs.contains_key(key) {
            let mut msg = format!("unknown input `{key}`");
            match suggest(key, spec.inputs.keys().map(String::as_str)) {
                Some(help) => msg.push_str(&format!("; {help}")),
                None if spec.inputs.is_empty() => {
                    msg.push_str("; this task file declares no inputs")
                }
                None => msg.push_str(&format!(
                    "; declared inputs: {}",
                    spec.inputs.keys().cloned().collect::<Vec<_>>().join(", ")
                )),
            }
            problems.push(msg);
        }
    }
    let mut values = BTreeMap::new();
    for (name, decl) in &spec.inputs {
        match (given.get(name), &decl.default) {
            (Some(text), _) => match coerce(decl, text) {
                Ok(v) => {
                    values.insert(name.clone(), v);
                }
                Err(why) => problems.push(format!("input `{name}`: {why}")),
            },
            (None, Some(default)) => {
                let value = match (decl.kind, default) {
                    (InputType::Path, Value::String(text)) if !text.is_empty() => {
                        Value::String(normalize_path(text))
                    }
                    _ => default.clone(),
                };
                values.insert(name.clone(), value);
            }
            (None, None) => problems.push(format!(
                "missing required input `{name}` ({}); give it with `-i {name}=VALUE`",
                decl.kind.as_str()
            )),
        }
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(InputError { problems })
    }
}

/// An input value as command-line text (what `-i KEY=VALUE` would give):
/// strings as they are, other values as JSON.
pub fn as_text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), String::from)
}

/// A `path` input in its one spelling: no `.` components, no empty ones
/// (`./src/`, `src//lib`, `src/./lib` → `src`, `src/lib`, `src/lib`); the
/// repository root is `.`. Templates then build clean globs from it
/// (`{{ inputs.path }}/**/*.rs` is `src/**/*.rs`; for `.`, `./**/*.rs`,
/// which glob rendering reads as `**/*.rs`, see [`crate::glob::normalize`]).
/// An absolute path is left as written: it is refused, as written.
pub fn normalize_path(text: &str) -> String {
    if text.starts_with('/') {
        return text.to_string();
    }
    let parts: Vec<&str> = text
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// Converts command-line text to the declared type.
pub fn coerce(decl: &InputDecl, text: &str) -> Result<Value, String> {
    let value = match decl.kind {
        InputType::Path if !text.is_empty() => Value::String(normalize_path(text)),
        InputType::String | InputType::Path | InputType::Enum => Value::String(text.to_string()),
        InputType::Integer => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("`{text}` is not an integer"))?,
        InputType::Number => {
            let trimmed = text.trim();
            if let Ok(i) = trimmed.parse::<i64>() {
                Value::from(i)
            } else {
                trimmed
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| format!("`{text}` is not a number"))?
            }
        }
        InputType::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(format!("`{text}` is not a boolean; use true or false")),
        },
    };
    check_value(decl, &value)?;
    Ok(value)
}

/// Whether `value` is a valid value of the declared input (used for defaults
/// and after coercion). The error completes "input `x` …".
pub fn check_value(decl: &InputDecl, value: &Value) -> Result<(), String> {
    let kind = decl.kind.as_str();
    let ok = match decl.kind {
        InputType::String | InputType::Path | InputType::Enum => value.is_string(),
        InputType::Integer => value.is_i64() || value.is_u64(),
        InputType::Number => value.is_number(),
        InputType::Boolean => value.is_boolean(),
    };
    if !ok {
        let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        return Err(format!("must be {article} {kind}, found {value}"));
    }
    if decl.kind == InputType::Path {
        let text = value.as_str().unwrap_or_default();
        if text.is_empty() {
            return Err("is an empty path".into());
        }
        crate::sys::paths::check_relative(text).map_err(|why| format!("`{text}` {why}"))?;
    }
    if decl.kind == InputType::Enum
        && let Some(values) = &decl.values
    {
        let text = value.as_str().unwrap_or_default();
        if !values.iter().any(|v| v == text) {
            let mut msg = format!("`{text}` is not one of: {}", values.join(", "));
            if let Some(help) = suggest(text, values.iter().map(String::as_str)) {
                msg.push_str(&format!("; {help}"));
            }
            return Err(msg);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(kind: InputType, values: Option<Vec<&str>>) -> InputDecl {
        InputDecl {
            kind,
            default: None,
            values: values.map(|v| v.into_iter().map(String::from).collect()),
            description: None,
        }
    }

    #[test]
    fn path_inputs_have_one_spelling() {
        let path = decl(InputType::Path, None);
        for (given, clean) in [
            (".", "."),
            ("./", "."),
            ("./src", "src"),
            ("src/", "src"),
            ("./src//lib/./x/", "src/lib/x"),
            ("src", "src"),
        ] {
            assert_eq!(coerce(&path, given).unwrap(), Value::from(clean), "{given}");
        }
        assert!(coerce(&path, "./../etc").is_err());
        assert!(
            coerce(&path, "/etc/passwd")
                .unwrap_err()
                .contains("`/etc/passwd` is an absolute path")
        );
        // A string input is taken as written.
        assert_eq!(
            coerce(&decl(InputType::String, None), "./src/").unwrap(),
            Value::from("./src/")
        );
    }

    #[test]
    fn coerces_each_type() {
        assert_eq!(
            coerce(&decl(InputType::Integer, None), "42").unwrap(),
            Value::from(42)
        );
        assert_eq!(
            coerce(&decl(InputType::Number, None), "1.5").unwrap(),
            serde_json::json!(1.5)
        );
        assert_eq!(
            coerce(&decl(InputType::Boolean, None), "TRUE").unwrap(),
            Value::Bool(true)
        );
        assert!(coerce(&decl(InputType::Integer, None), "4.2").is_err());
        assert!(coerce(&decl(InputType::Boolean, None), "yes").is_err());
        assert!(coerce(&decl(InputType::Path, None), "../etc").is_err());
        let e = coerce(&decl(InputType::Enum, Some(vec!["fast", "slow"])), "fats").unwrap_err();
        assert!(e.contains("did you mean `fast`"), "{e}");
    }

    #[test]
    fn assignments_need_an_equals_sign() {
        assert!(parse_assignments(&["a=b=c".into()]).unwrap()["a"] == "b=c");
        assert!(parse_assignments(&["novalue".into()]).is_err());
    }
}
