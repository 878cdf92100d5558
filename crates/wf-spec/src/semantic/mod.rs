//! Checks beyond types: rules the schema cannot express, each reported at
//! the key or value it is about.

use crate::diagnostic::{Diagnostic, suggest};
use crate::template;
use crate::types::{InputDecl, InputType, ProviderName, Spec, ToolName, ToolRef};
use crate::yaml::{Node, Pos, Span};
use saphyr_parser::ScalarStyle;
use std::collections::BTreeMap;
use std::path::Path;

mod mcp;
mod steps;

use mcp::mcp_checks;
use steps::{env_names, steps, uses_checks};

/// Every semantic problem in `spec`. `root` is the file's tree (for spans),
/// `source` its text, `spec_dir` the task file's directory.
pub fn check(spec: &Spec, root: &Node, source: &str, spec_dir: &Path) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let at = |pointer: &str| root.at_pointer(pointer).1.span;
    let key_at = |pointer: &str| {
        let (k, n) = root.at_pointer(pointer);
        k.map_or(n.span, |k| k.span)
    };

    // Inputs.
    for (name, decl) in &spec.inputs {
        let ptr = format!("/inputs/{name}");
        if !is_identifier(name) {
            out.push(
                Diagnostic::new(
                    key_at(&ptr),
                    format!("input name `{name}` cannot be used in templates"),
                )
                .with_help("use letters, digits and underscores, starting with a letter"),
            );
        }
        input_decl(decl, name, &ptr, root, &mut out);
    }

    // Sandbox roots: absolute or `~/…`, never relative (a relative root
    // would depend on where wf runs).
    for (key, list) in [("read", &spec.sandbox.read), ("write", &spec.sandbox.write)] {
        for (i, path) in list.iter().enumerate() {
            let ok = (path.starts_with('/') || path.starts_with("~/"))
                && !path.split('/').any(|c| c == "..");
            if !ok {
                out.push(
                    Diagnostic::new(
                        at(&format!("/sandbox/{key}/{i}")),
                        format!("sandbox.{key} `{path}` must be an absolute path or start with `~/`"),
                    )
                    .with_help("sandbox roots name places outside the repository, such as `~/.m2` or `/opt/sdk`"),
                );
                continue;
            }
            // `/`, `~/`, `~/.`: everything (see `plan::widening`, which
            // also refuses parents of the home directory and links to it).
            let rest = path.strip_prefix('~').unwrap_or(path);
            if rest.split('/').all(|c| c.is_empty() || c == ".") {
                let whole = if path.starts_with('~') {
                    "your whole home directory"
                } else {
                    "the whole filesystem"
                };
                out.push(
                    Diagnostic::new(
                        at(&format!("/sandbox/{key}/{i}")),
                        format!("sandbox.{key} `{path}` grants {whole} to every command; wf refuses it"),
                    )
                    .with_help("name the directories the commands need (such as `~/.m2`), or say `sandbox: off`, which wf asks you about"),
                );
            }
        }
    }

    // Hosts of `sandbox.network` lists: names, `*.` wildcards, addresses.
    let mut networks: Vec<(String, &crate::Network)> =
        vec![("/sandbox/network".to_string(), &spec.sandbox.network)];
    for (i, step) in spec.steps.iter().enumerate() {
        if let Some(network) = step.sandbox.as_ref().and_then(|s| s.network.as_ref()) {
            networks.push((format!("/steps/{i}/sandbox/network"), network));
        }
    }
    for (ptr, network) in networks {
        for (i, entry) in network.hosts().iter().enumerate() {
            if let Err(why) = crate::sandbox::hosts::normalize(entry) {
                out.push(
                    Diagnostic::new(at(&format!("{ptr}/{i}")), format!("sandbox.network: {why}"))
                        .with_help("list hosts as `pypi.org`, `*.npmjs.org` (its subdomains) or an IP address; every port of a listed host is reachable"),
                );
            }
        }
    }

    // Exactly one of prompt, steps, uses.
    let given: Vec<&str> = [
        ("prompt", spec.prompt.is_some()),
        ("steps", !spec.steps.is_empty()),
        ("uses", spec.uses.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    match given.as_slice() {
        [] => out.push(
            Diagnostic::new(
                root.span,
                "missing `prompt` (or `steps`, or `uses`): the task the model is given",
            )
            .with_help("add `prompt: |` with the task"),
        ),
        [_] => {}
        [first, rest @ ..] => {
            for key in rest {
                out.push(
                    Diagnostic::new(
                        key_at(&format!("/{key}")),
                        format!("give one of `prompt`, `steps` or `uses`; `{first}` is given too"),
                    )
                    .with_help("a multi-step workflow puts each prompt or recipe in its step"),
                );
            }
        }
    }
    if spec.uses.is_some() {
        for (key, set) in [
            ("context", spec.context != crate::ContextSpec::default()),
            ("checks", !spec.checks.is_empty()),
        ] {
            if set && root.get(key).is_some() {
                out.push(
                    Diagnostic::new(
                        key_at(&format!("/{key}")),
                        format!(
                            "`{key}` comes from the used recipe; a file with `uses` cannot set it"
                        ),
                    )
                    .with_help("to add to a recipe, use it as a step of `steps:`"),
                );
            }
        }
        uses_checks(
            spec.uses.as_deref().unwrap_or(""),
            &spec.with_inputs,
            "",
            spec,
            root,
            source,
            &mut out,
        );
    } else if !spec.with_inputs.is_empty() {
        out.push(Diagnostic::new(
            key_at("/with"),
            "`with` gives the inputs of a `uses` recipe; this file has no `uses`",
        ));
    }
    steps(spec, root, source, &mut out);

    // Templates.
    let mut templated: Vec<(String, &str)> = Vec::new();
    if let Some(prompt) = &spec.prompt {
        templated.push(("/prompt".into(), prompt.as_str()));
    }
    for (i, c) in spec.constraints.iter().enumerate() {
        templated.push((format!("/constraints/{i}"), c));
    }
    for (i, g) in spec.context.include.iter().enumerate() {
        templated.push((format!("/context/include/{i}"), g));
    }
    for (i, g) in spec.context.exclude.iter().enumerate() {
        templated.push((format!("/context/exclude/{i}"), g));
    }
    if let crate::TokenBudget::Template(t) = &spec.context.max_tokens {
        templated.push(("/context/max_tokens".into(), t));
    }
    for (name, list) in [
        ("read", &spec.permissions.read),
        ("write", &spec.permissions.write),
        ("protect", &spec.permissions.protect),
    ] {
        for (i, g) in list.iter().enumerate() {
            templated.push((format!("/permissions/{name}/{i}"), g));
        }
    }
    for (name, value) in &spec.env {
        if let crate::EnvValue::Text(text) = value {
            templated.push((format!("/env/{name}"), text));
        }
    }
    env_names(&spec.env, "", root, &mut out);
    for (pointer, text) in &templated {
        let node = root.at_pointer(pointer).1;
        match template::undeclared(text, &spec.inputs) {
            Ok(vars) => {
                for (var, offset) in vars {
                    let span = offset.map_or(node.span, |o| {
                        span_in_scalar(node, source, text, o, var.len())
                    });
                    let mut d =
                        Diagnostic::new(span, format!("undeclared template variable `{var}`"));
                    if let Some(name) = var.strip_prefix("inputs.") {
                        let name = name.split('.').next().unwrap_or(name);
                        d = match suggest(name, spec.inputs.keys().map(String::as_str)) {
                            Some(help) => d.with_help(help),
                            None => d.with_help(format!(
                                "declare it under `inputs:` (e.g. `{name}: {{ type: string }}`)"
                            )),
                        };
                    } else {
                        d = d.with_help("templates can use declared inputs as `{{ inputs.NAME }}`");
                    }
                    out.push(d);
                }
            }
            Err(e) => {
                let span = e.range.map_or(node.span, |r| {
                    span_in_scalar(node, source, text, r.start, r.len())
                });
                out.push(Diagnostic::new(span, e.message));
            }
        }
    }

    // Globs: compile, and stay inside the repository.
    let glob_lists: [(&str, &Vec<String>); 5] = [
        ("/context/include", &spec.context.include),
        ("/context/exclude", &spec.context.exclude),
        ("/permissions/read", &spec.permissions.read),
        ("/permissions/write", &spec.permissions.write),
        ("/permissions/protect", &spec.permissions.protect),
    ];
    for (base, list) in glob_lists {
        for (i, g) in list.iter().enumerate() {
            let span = at(&format!("{base}/{i}"));
            if let Err(why) = crate::sys::paths::check_relative(g) {
                out.push(
                    Diagnostic::new(span, format!("glob `{g}` {why}"))
                        .with_help("globs are relative to the repository root and stay inside it"),
                );
                continue;
            }
            if g.contains("{{") || g.contains("{%") {
                continue; // compiled after rendering
            }
            if let Err(e) = crate::glob::compile(g) {
                out.push(Diagnostic::new(span, format!("invalid glob `{g}`: {e}")));
            }
        }
    }

    // Tools.
    let mut seen: BTreeMap<&ToolRef, usize> = BTreeMap::new();
    for (i, t) in spec.tools.iter().enumerate() {
        if let Some(first) = seen.insert(t, i) {
            out.push(
                Diagnostic::new(
                    at(&format!("/tools/{i}")),
                    format!("tool `{}` is listed twice", t.name()),
                )
                .with_help(format!("first listed at position {}", first + 1)),
            );
        }
    }
    let shell = ToolRef::Builtin(ToolName::Shell);
    let has_shell = spec.tools.contains(&shell);
    match &spec.permissions.shell {
        Some(_) if !has_shell => out.push(
            Diagnostic::new(
                key_at("/permissions/shell"),
                "`permissions.shell` is given but `shell` is not in `tools`",
            )
            .with_help("add `shell` to `tools`, or remove `permissions.shell`"),
        ),
        Some(shell) if shell.allow.is_empty() => out.push(
            Diagnostic::new(
                key_at("/permissions/shell"),
                "`permissions.shell.allow` is empty: every command would be denied",
            )
            .with_help("list the command lines the model may run, e.g. `cargo test *`"),
        ),
        None if has_shell => {
            let i = spec.tools.iter().position(|t| *t == shell).unwrap_or(0);
            out.push(
                Diagnostic::new(
                    at(&format!("/tools/{i}")),
                    "`shell` is in `tools` but no command is allowed",
                )
                .with_help(
                    "add `permissions.shell.allow` with the command lines the model may run",
                ),
            );
        }
        _ => {}
    }
    if let Some(shell) = &spec.permissions.shell {
        for (i, line) in shell.allow.iter().enumerate() {
            if let Err(e) = crate::pattern::parse_pattern(line) {
                out.push(Diagnostic::new(
                    at(&format!("/permissions/shell/allow/{i}")),
                    format!("invalid allow pattern `{line}`: {e}"),
                ));
            }
        }
    }

    // MCP servers and the MCP tools named in `tools`.
    mcp_checks(&spec.tools, &spec.mcp, "", "", root, &mut out);

    // Checks.
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, c) in spec.checks.iter().enumerate() {
        if let Some(first) = names.insert(c.name.as_str(), i) {
            let first_line = at(&format!("/checks/{first}/name")).start.line;
            out.push(
                Diagnostic::new(
                    at(&format!("/checks/{i}/name")),
                    format!("duplicate check name `{}`", c.name),
                )
                .with_help(format!(
                    "first used on line {first_line}; check names must be unique"
                )),
            );
        }
        if c.timeout.is_some_and(|t| t.0.is_zero()) {
            out.push(Diagnostic::new(
                at(&format!("/checks/{i}/timeout")),
                "a check timeout of zero lets nothing run",
            ));
        }
    }

    // Limits and timeouts.
    if spec.limits.timeout.is_some_and(|t| t.0.is_zero()) {
        out.push(Diagnostic::new(
            at("/limits/timeout"),
            "`limits.timeout` of zero ends every run before it starts",
        ));
    }
    if spec.limits.max_cost_usd == Some(0.0) {
        out.push(
            Diagnostic::new(
                at("/limits/max_cost_usd"),
                "`limits.max_cost_usd` of zero forbids every model request",
            )
            .with_help("remove it for no cap, or give a positive amount"),
        );
    }
    if let Some(shell) = &spec.permissions.shell
        && shell.timeout.is_some_and(|t| t.0.is_zero())
    {
        out.push(Diagnostic::new(
            at("/permissions/shell/timeout"),
            "a shell timeout of zero lets nothing run",
        ));
    }

    // Model.
    if spec.model.provider == ProviderName::Script && !spec.model.fallback.is_empty() {
        out.push(Diagnostic::new(
            key_at("/model/fallback"),
            "`model.fallback` is for the HTTP providers (`anthropic`, `openai`): a script is never overloaded",
        ));
    }
    for (i, name) in spec.model.fallback.iter().enumerate() {
        if Some(name) == spec.model.name.as_ref() || spec.model.fallback[..i].contains(name) {
            out.push(Diagnostic::new(
                at(&format!("/model/fallback/{i}")),
                format!("`{name}` is already the model or an earlier fallback"),
            ));
        }
    }
    match spec.model.provider {
        ProviderName::Script => match &spec.model.script {
            None => out.push(
                Diagnostic::new(
                    key_at("/model"),
                    "`provider: script` needs `model.script`, the file of turns",
                )
                .with_help("e.g. `script: turns.yaml`, relative to this task file"),
            ),
            Some(script) => {
                if let Err(why) = check_script_path(script) {
                    out.push(Diagnostic::new(
                        at("/model/script"),
                        format!("script path `{script}` {why}"),
                    ));
                } else if !spec_dir.join(script).is_file() {
                    out.push(Diagnostic::new(
                        at("/model/script"),
                        format!("script file `{script}` not found next to the task file"),
                    ));
                }
            }
        },
        other => {
            if spec.model.script.is_some() {
                out.push(Diagnostic::new(
                    key_at("/model/script"),
                    "`model.script` is only used with `provider: script`",
                ));
            }
            if spec.model.name.is_none() {
                let provider = if other == ProviderName::Anthropic {
                    "anthropic"
                } else {
                    "openai"
                };
                out.push(
                    Diagnostic::new(
                        key_at("/model"),
                        format!("`provider: {provider}` needs `model.name`"),
                    )
                    .with_help("e.g. `name: claude-sonnet-4-5`"),
                );
            }
        }
    }

    out.sort_by_key(|d| (d.span.start, d.message.clone()));
    out
}

/// Script paths may go up from the task file's directory (recipes and their
/// scripts can be organised in folders), but never be absolute.
pub(super) fn check_script_path(path: &str) -> Result<(), String> {
    if path.starts_with('/') || path.starts_with('~') {
        return Err("must be relative to the task file".into());
    }
    Ok(())
}

pub(super) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(super) fn input_decl(
    decl: &InputDecl,
    name: &str,
    ptr: &str,
    root: &Node,
    out: &mut Vec<Diagnostic>,
) {
    let at = |p: &str| {
        let (k, n) = root.at_pointer(p);
        (k.map_or(n.span, |k| k.span), n.span)
    };
    match (decl.kind, &decl.values) {
        (InputType::Enum, None) => out.push(
            Diagnostic::new(at(ptr).0, format!("enum input `{name}` needs `values`"))
                .with_help("list the allowed values, e.g. `values: [fast, thorough]`"),
        ),
        (InputType::Enum, Some(values)) => {
            if values.is_empty() {
                out.push(Diagnostic::new(
                    at(&format!("{ptr}/values")).1,
                    format!("enum input `{name}` has no values"),
                ));
            }
            let mut seen = std::collections::BTreeSet::new();
            for (i, v) in values.iter().enumerate() {
                if !seen.insert(v) {
                    out.push(Diagnostic::new(
                        at(&format!("{ptr}/values/{i}")).1,
                        format!("value `{v}` is listed twice"),
                    ));
                }
            }
        }
        (kind, Some(_)) => out.push(Diagnostic::new(
            at(&format!("{ptr}/values")).0,
            format!(
                "`values` only applies to enum inputs; `{name}` is a {}",
                kind.as_str()
            ),
        )),
        (_, None) => {}
    }
    if let Some(default) = &decl.default {
        let span = at(&format!("{ptr}/default")).1;
        if let Err(why) = crate::inputs::check_value(decl, default) {
            out.push(Diagnostic::new(
                span,
                format!("default of input `{name}` {why}"),
            ));
        }
    }
}

/// The span of `len` bytes at byte `offset` inside a scalar's text, as well
/// as wf can place it: exact for plain and quoted one-line scalars and for
/// literal blocks, the value's start otherwise.
pub(super) fn span_in_scalar(
    node: &Node,
    source: &str,
    text: &str,
    offset: usize,
    len: usize,
) -> Span {
    let before = &text[..offset.min(text.len())];
    let piece_chars = text[offset.min(text.len())..(offset + len).min(text.len())]
        .chars()
        .count();
    let start = match node.style {
        Some(ScalarStyle::Plain)
        | Some(ScalarStyle::SingleQuoted)
        | Some(ScalarStyle::DoubleQuoted)
            if !before.contains('\n') && node.span.start.line == node.span.end.line =>
        {
            let quote = usize::from(node.style != Some(ScalarStyle::Plain));
            let n = before.chars().count() + quote;
            Pos {
                line: node.span.start.line,
                col: node.span.start.col + n,
                index: node.span.start.index + n,
            }
        }
        Some(ScalarStyle::Literal) => {
            let line_in_block = before.matches('\n').count();
            // The span may start at the `|` indicator or at the content.
            let at_indicator = source
                .lines()
                .nth(node.span.start.line.saturating_sub(1))
                .and_then(|l| l.chars().nth(node.span.start.col.saturating_sub(1)))
                .is_some_and(|c| c == '|');
            let line = node.span.start.line + usize::from(at_indicator) + line_in_block;
            let col_in_line = before.rsplit('\n').next().unwrap_or("").chars().count();
            let indent = source
                .lines()
                .nth(line - 1)
                .map_or(0, |l| l.chars().take_while(|c| *c == ' ').count());
            let col = indent + col_in_line + 1;
            // The character index is only used for the caret width, which
            // needs start and end on one line: keep them consistent.
            Pos {
                line,
                col,
                index: 0,
            }
        }
        _ => return node.span,
    };
    let end = Pos {
        line: start.line,
        col: start.col + piece_chars,
        index: start.index + piece_chars,
    };
    Span { start, end }
}
