//! The rules of `steps:`, their `env:` names and `uses:` references.

use super::*;

/// The rules of `steps:`: unique ids, one kind per step, keys that fit the
/// kind, `if:` expressions that compile, output schemas that are schemas,
/// templates that only use inputs and earlier steps.
pub(super) fn steps(spec: &Spec, root: &Node, source: &str, out: &mut Vec<Diagnostic>) {
    let at = |pointer: &str| root.at_pointer(pointer).1.span;
    let key_at = |pointer: &str| {
        let (k, n) = root.at_pointer(pointer);
        k.map_or(n.span, |k| k.span)
    };
    let mut earlier: Vec<&str> = Vec::new();
    for (i, step) in spec.steps.iter().enumerate() {
        let ptr = format!("/steps/{i}");
        if earlier.contains(&step.id.as_str()) {
            out.push(Diagnostic::new(
                at(&format!("{ptr}/id")),
                format!("duplicate step id `{}`", step.id),
            ));
        }
        let agent_only = [
            ("output_schema", step.output_schema.is_some()),
            ("context", step.context.is_some()),
            ("constraints", step.constraints.is_some()),
            ("tools", step.tools.is_some()),
            ("permissions", step.permissions.is_some()),
            ("checks", step.checks.is_some()),
            ("checkpoints", step.checkpoints.is_some()),
            ("limits", step.limits.is_some()),
            ("model", step.model.is_some()),
        ];
        let kinds: Vec<&str> = [
            ("prompt", step.prompt.is_some()),
            ("run", step.run.is_some()),
            ("uses", step.uses.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect();
        if kinds.len() > 1 {
            out.push(Diagnostic::new(
                key_at(&format!("{ptr}/{}", kinds[1])),
                format!(
                    "a step has one of `prompt` (agent step), `run` (command step) or `uses` (recipe step); step `{}` has `{}` and `{}`",
                    step.id, kinds[0], kinds[1]
                ),
            ));
        }
        if step.with_inputs.is_some() && step.uses.is_none() {
            out.push(Diagnostic::new(
                key_at(&format!("{ptr}/with")),
                "`with` gives the inputs of a `uses` recipe; this step has no `uses`",
            ));
        }
        match (&step.prompt, &step.run) {
            _ if kinds.len() > 1 => {}
            (None, None) if step.uses.is_some() => {
                for (key, set) in [
                    ("output_schema", step.output_schema.is_some()),
                    ("context", step.context.is_some()),
                    ("constraints", step.constraints.is_some()),
                    ("checks", step.checks.is_some()),
                    ("timeout", step.timeout.is_some()),
                ] {
                    if set {
                        out.push(
                            Diagnostic::new(
                                key_at(&format!("{ptr}/{key}")),
                                format!(
                                    "`{key}` comes from the used recipe; step `{}` is a recipe step",
                                    step.id
                                ),
                            )
                            .with_help("a recipe step may set `if`, `with`, and `tools` and `permissions` to bound the recipe"),
                        );
                    }
                }
                let with = step.with_inputs.clone().unwrap_or_default();
                uses_checks(step.uses.as_deref().unwrap_or(""), &with, &ptr, spec, root, source, out);
            }
            (Some(_), Some(_)) => {}
            (None, None) => out.push(Diagnostic::new(
                at(&ptr),
                format!(
                    "step `{}` needs `prompt` (an agent step), `run` (a command step) or `uses` (a recipe step)",
                    step.id
                ),
            )),
            (None, Some(_)) => {
                for (key, set) in agent_only {
                    if set {
                        out.push(Diagnostic::new(
                            key_at(&format!("{ptr}/{key}")),
                            format!(
                                "`{key}` applies to agent steps; step `{}` is a command step",
                                step.id
                            ),
                        ));
                    }
                }
            }
            (Some(prompt), None) => {
                if step.timeout.is_some() {
                    out.push(Diagnostic::new(
                        key_at(&format!("{ptr}/timeout")),
                        "`timeout` applies to command steps; an agent step is bounded by `limits`",
                    ));
                }
                let node = root.at_pointer(&format!("{ptr}/prompt")).1;
                match template::undeclared_with_steps(prompt, &spec.inputs, &earlier) {
                    Ok(vars) => {
                        for (var, offset) in vars {
                            let span = offset.map_or(node.span, |o| {
                                span_in_scalar(node, source, prompt, o, var.len())
                            });
                            out.push(
                                Diagnostic::new(span, format!("undeclared template variable `{var}`"))
                                    .with_help("step prompts can use `inputs.NAME` and `steps.ID` of earlier steps"),
                            );
                        }
                    }
                    Err(e) => out.push(Diagnostic::new(node.span, e.message)),
                }
                if let Some(schema) = &step.output_schema
                    && let Err(e) = jsonschema::validator_for(schema)
                {
                    out.push(Diagnostic::new(
                        at(&format!("{ptr}/output_schema")),
                        format!("`output_schema` is not a valid JSON Schema: {e}"),
                    ));
                }
                let tools = step.tools.as_ref().unwrap_or(&spec.tools);
                let perms = step.permissions.as_ref().unwrap_or(&spec.permissions);
                if step.tools.is_some() || step.mcp.is_some() {
                    let tools_ptr = if step.tools.is_some() { ptr.as_str() } else { "" };
                    let mcp_ptr = if step.mcp.is_some() { ptr.as_str() } else { "" };
                    let mcp = step.mcp.as_ref().unwrap_or(&spec.mcp);
                    mcp_checks(tools, mcp, tools_ptr, mcp_ptr, root, out);
                }
                if tools.contains(&ToolRef::Builtin(ToolName::Shell))
                    && perms.shell.as_ref().is_none_or(|s| s.allow.is_empty())
                {
                    out.push(Diagnostic::new(
                        key_at(&format!("{ptr}/tools")),
                        format!("step `{}` has `shell` but no command is allowed", step.id),
                    ));
                }
            }
        }
        if let Some(limits) = &step.limits {
            if limits.timeout.is_some_and(|t| t.0.is_zero()) {
                out.push(Diagnostic::new(
                    at(&format!("{ptr}/limits/timeout")),
                    "a step `limits.timeout` of zero ends the step before it starts",
                ));
            }
            if limits.max_cost_usd == Some(0.0) {
                out.push(Diagnostic::new(
                    at(&format!("{ptr}/limits/max_cost_usd")),
                    "a step `limits.max_cost_usd` of zero forbids every model request",
                ));
            }
        }
        if let Some(cond) = &step.condition
            && let Err(e) = template::check_condition(cond)
        {
            out.push(Diagnostic::new(
                at(&format!("{ptr}/if")),
                format!("`if:` {}", e.message),
            ));
        }
        if let Some(ctx) = &step.context {
            for (list, name) in [(&ctx.include, "include"), (&ctx.exclude, "exclude")] {
                for (j, g) in list.iter().enumerate() {
                    if let Err(why) = crate::sys::paths::check_relative(g) {
                        out.push(Diagnostic::new(
                            at(&format!("{ptr}/context/{name}/{j}")),
                            format!("glob `{g}` {why}"),
                        ));
                    }
                }
            }
        }
        env_names(&step.env, &ptr, root, out);
        for (name, value) in &step.env {
            if let crate::EnvValue::Text(text) = value {
                let node = root.at_pointer(&format!("{ptr}/env/{name}")).1;
                match template::undeclared(text, &spec.inputs) {
                    Ok(vars) => {
                        for (var, offset) in vars {
                            let span = offset.map_or(node.span, |o| {
                                span_in_scalar(node, source, text, o, var.len())
                            });
                            out.push(
                                Diagnostic::new(
                                    span,
                                    format!("undeclared template variable `{var}`"),
                                )
                                .with_help("`env` values can use `inputs.NAME`"),
                            );
                        }
                    }
                    Err(e) => out.push(Diagnostic::new(node.span, e.message)),
                }
            }
        }
        earlier.push(&step.id);
    }
}

/// The names of an `env` mapping (at `ptr`): shell variable names, and
/// none of wf's own (`WF_…`, which wf sets for checks).
pub(super) fn env_names(
    env: &BTreeMap<String, crate::EnvValue>,
    ptr: &str,
    root: &Node,
    out: &mut Vec<Diagnostic>,
) {
    for name in env.keys() {
        let (key, node) = root.at_pointer(&format!("{ptr}/env/{name}"));
        let span = key.map_or(node.span, |k| k.span);
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            out.push(
                Diagnostic::new(span, format!("`{name}` is not a variable name"))
                    .with_help("use letters, digits and underscores, not starting with a digit"),
            );
        } else if name.to_ascii_uppercase().starts_with("WF_") {
            out.push(
                Diagnostic::new(span, format!("`{name}` is one of wf's own variables")).with_help(
                    "wf sets `WF_BASE_TREE` and `WF_INPUT_<NAME>` itself; choose another name",
                ),
            );
        }
    }
}

/// The rules of a `uses:` reference and its `with:` inputs: a form wf can
/// resolve, and `with` templates that only use declared inputs.
pub(super) fn uses_checks(
    uses: &str,
    with: &BTreeMap<String, serde_json::Value>,
    ptr: &str,
    spec: &Spec,
    root: &Node,
    source: &str,
    out: &mut Vec<Diagnostic>,
) {
    if let Err(why) = crate::reference::Reference::parse(uses) {
        out.push(
            Diagnostic::new(root.at_pointer(&format!("{ptr}/uses")).1.span, why)
                .with_help("write `./path/to/recipe.yaml` or `git+URL//PATH@REF`"),
        );
    }
    for (name, value) in with {
        let serde_json::Value::String(text) = value else {
            continue;
        };
        let node = root.at_pointer(&format!("{ptr}/with/{name}")).1;
        match template::undeclared(text, &spec.inputs) {
            Ok(vars) => {
                for (var, offset) in vars {
                    let span = offset.map_or(node.span, |o| {
                        span_in_scalar(node, source, text, o, var.len())
                    });
                    out.push(
                        Diagnostic::new(span, format!("undeclared template variable `{var}`"))
                            .with_help("`with` values can use this file's `inputs.NAME`"),
                    );
                }
            }
            Err(e) => out.push(Diagnostic::new(node.span, e.message)),
        }
    }
}
