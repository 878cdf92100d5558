//! Templates (`{{ inputs.source }}`) in prompts, constraints and context globs.
//!
//! Rendering uses minijinja in strict mode: an undefined variable is an error,
//! never an empty string. The only variables a task file can use are its
//! declared inputs, as `inputs.NAME`; [`undeclared`] finds the others before
//! anything runs.

use minijinja::{Environment, UndefinedBehavior};
use std::collections::BTreeMap;

/// Variables minijinja itself provides; using them is not an undeclared input.
const BUILTINS: &[&str] = &["range", "dict", "namespace", "debug", "cycler", "joiner"];

/// A template problem, with the byte range in the template text when known.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    /// Lowercase message.
    pub message: String,
    /// Byte range within the template text.
    pub range: Option<std::ops::Range<usize>>,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Booleans print as the task file writes them (`true`), not Python's `True`.
    env.set_formatter(|out, state, value| {
        if value.kind() == minijinja::value::ValueKind::Bool {
            let text = if value.is_true() { "true" } else { "false" };
            return out.write_str(text).map_err(minijinja::Error::from);
        }
        minijinja::escape_formatter(out, state, value)
    });
    env
}

fn convert(e: &minijinja::Error) -> TemplateError {
    let message = match e.detail() {
        Some(detail) => format!("template error: {detail}"),
        None => format!("template error: {}", e.kind()),
    };
    TemplateError {
        message,
        range: e.range(),
    }
}

/// Variables the template uses that are not `inputs.<one of declared>`, with
/// the byte offset of their first use. A syntax error is returned as `Err`.
pub fn undeclared(
    text: &str,
    declared: &BTreeMap<String, impl Sized>,
) -> Result<Vec<(String, Option<usize>)>, TemplateError> {
    undeclared_with_steps(text, declared, &[])
}

/// [`undeclared`], also allowing `steps.<id>` for the given step ids.
pub fn undeclared_with_steps(
    text: &str,
    declared: &BTreeMap<String, impl Sized>,
    steps: &[&str],
) -> Result<Vec<(String, Option<usize>)>, TemplateError> {
    if !text.contains("{{") && !text.contains("{%") && !text.contains("{#") {
        return Ok(Vec::new());
    }
    let env = environment();
    let template = env.template_from_str(text).map_err(|e| convert(&e))?;
    let mut bad: Vec<String> = template
        .undeclared_variables(true)
        .into_iter()
        .filter(|var| {
            let mut parts = var.splitn(3, '.');
            let head = parts.next().unwrap_or_default();
            match head {
                "inputs" => match parts.next() {
                    None => false,
                    Some(name) => !declared.contains_key(name),
                },
                "steps" => match parts.next() {
                    None => steps.is_empty(),
                    Some(id) => !steps.contains(&id),
                },
                other => !BUILTINS.contains(&other),
            }
        })
        .collect();
    bad.sort();
    Ok(bad
        .into_iter()
        .map(|var| {
            let tail = var.rsplit('.').next().unwrap_or(&var).to_string();
            let offset = text.find(&var).or_else(|| text.find(&tail));
            (var, offset)
        })
        .collect())
}

/// Renders `text` with the given inputs.
pub fn render(
    text: &str,
    inputs: &BTreeMap<String, serde_json::Value>,
) -> Result<String, TemplateError> {
    render_with_steps(text, inputs, &BTreeMap::new())
}

/// The expression of an `if:`. An `if:` is an expression already, but every
/// other field is a template, so `{{ inputs.strict }}` is the natural thing
/// to write: braces around the whole value are accepted and dropped (as
/// GitHub Actions accepts `${{ }}` around an `if:`). Braces anywhere else
/// (`{{ a }} and {{ b }}`) are an error that says to drop them, rather than
/// the expression parser's `unexpected }`.
pub fn condition_expression(expr: &str) -> Result<&str, TemplateError> {
    let trimmed = expr.trim();
    let inner = trimmed
        .strip_prefix("{{")
        .and_then(|rest| rest.strip_suffix("}}"))
        .map(str::trim);
    match inner {
        Some(inner) if !inner.contains("{{") && !inner.contains("}}") && !inner.is_empty() => {
            Ok(inner)
        }
        _ if expr.contains("{{") || expr.contains("}}") => {
            let start = expr.find("{{").or_else(|| expr.find("}}")).unwrap_or(0);
            Err(TemplateError {
                message: format!(
                    "is an expression, not a template: drop the `{{{{ }}}}` (write `if: {}`)",
                    expr.replace("{{", "")
                        .replace("}}", "")
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                range: Some(start..start + 2),
            })
        }
        _ => Ok(expr),
    }
}

/// Evaluates an `if:` expression with the inputs and the earlier steps.
pub fn condition(
    expr: &str,
    inputs: &BTreeMap<String, serde_json::Value>,
    steps: &BTreeMap<String, serde_json::Value>,
) -> Result<bool, TemplateError> {
    let expr = condition_expression(expr)?;
    let env = environment();
    let compiled = env.compile_expression(expr).map_err(|e| convert(&e))?;
    let value = compiled
        .eval(context(inputs, steps))
        .map_err(|e| convert(&e))?;
    Ok(value.is_true())
}

/// Whether an `if:` expression compiles.
pub fn check_condition(expr: &str) -> Result<(), TemplateError> {
    environment()
        .compile_expression(condition_expression(expr)?)
        .map(|_| ())
        .map_err(|e| convert(&e))
}

fn context(
    inputs: &BTreeMap<String, serde_json::Value>,
    steps: &BTreeMap<String, serde_json::Value>,
) -> minijinja::Value {
    let obj = |m: &BTreeMap<String, serde_json::Value>| {
        to_template_value(&serde_json::Value::Object(m.clone().into_iter().collect()))
    };
    minijinja::context! { inputs => obj(inputs), steps => obj(steps) }
}

/// Renders `text` with the inputs and the results of earlier steps.
pub fn render_with_steps(
    text: &str,
    inputs: &BTreeMap<String, serde_json::Value>,
    steps: &BTreeMap<String, serde_json::Value>,
) -> Result<String, TemplateError> {
    if !text.contains("{{") && !text.contains("{%") && !text.contains("{#") {
        return Ok(text.to_string());
    }
    let env = environment();
    let template = env.template_from_str(text).map_err(|e| convert(&e))?;
    let mut out = template
        .render(context(inputs, steps))
        .map_err(|e| convert(&e))?;
    // minijinja drops one trailing newline; prompts keep theirs.
    if text.ends_with('\n') && !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

fn to_template_value(v: &serde_json::Value) -> minijinja::Value {
    use minijinja::Value as M;
    use serde_json::Value as J;
    match v {
        J::Null => M::from(()),
        J::Bool(b) => M::from(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => M::from(i),
            None => M::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => M::from(s.as_str()),
        J::Array(items) => M::from(items.iter().map(to_template_value).collect::<Vec<_>>()),
        J::Object(map) => M::from(
            map.iter()
                .map(|(k, v)| (k.clone(), to_template_value(v)))
                .collect::<BTreeMap<String, M>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared() -> BTreeMap<String, ()> {
        BTreeMap::from([("source".to_string(), ())])
    }

    #[test]
    fn an_if_wrapped_in_braces_is_the_expression_inside() {
        let inputs = BTreeMap::from([("strict".to_string(), serde_json::json!(false))]);
        let none = BTreeMap::new();
        for expr in [
            "inputs.strict",
            "{{ inputs.strict }}",
            "  {{inputs.strict}} ",
        ] {
            assert!(!condition(expr, &inputs, &none).unwrap(), "{expr}");
            assert!(check_condition(expr).is_ok(), "{expr}");
        }
        assert!(condition("{{ not inputs.strict }}", &inputs, &none).unwrap());
        let e = check_condition("{{ inputs.strict }} and {{ inputs.x }}").unwrap_err();
        assert_eq!(
            e.message,
            "is an expression, not a template: drop the `{{ }}` (write `if: inputs.strict and inputs.x`)"
        );
        assert!(check_condition("{{ }}").is_err());
    }

    #[test]
    fn finds_undeclared_inputs_and_other_variables() {
        let found = undeclared(
            "{{ inputs.source }} {{ inputs.sorce }} {{ user }}",
            &declared(),
        )
        .unwrap();
        let names: Vec<&str> = found.iter().map(|(v, _)| v.as_str()).collect();
        assert_eq!(names, ["inputs.sorce", "user"]);
        assert_eq!(found[0].1, Some(23));
    }

    #[test]
    fn strict_rendering_fails_on_undefined() {
        let inputs = BTreeMap::from([("source".to_string(), serde_json::json!("a.ini"))]);
        assert_eq!(
            render("Migrate {{ inputs.source }}.\n", &inputs).unwrap(),
            "Migrate a.ini.\n"
        );
        assert!(render("{{ inputs.nope }}", &inputs).is_err());
    }

    #[test]
    fn syntax_errors_have_a_range() {
        let err = undeclared("ok {{ inputs.source ", &declared()).unwrap_err();
        assert!(err.message.starts_with("template error"), "{}", err.message);
    }
}
