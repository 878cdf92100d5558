//! Caller bounds: what a recipe's steps get when another task file uses
//! them. Tools are intersected, the caller's permissions become a bound on
//! every path and command (checked again by the tool layer on each call),
//! and whatever a recipe asks for and does not surely get becomes a note.

use super::{Caller, PlanStep, Refusal, StepKind};
use crate::spec::{StepLimits, ToolName};

/// A recipe's command gets the network its caller grants, never more: what
/// it asks for within the caller's, or the caller's when it asks nothing.
fn bound_network(
    network: &mut Option<crate::spec::Network>,
    caller: &Caller,
    label: &str,
    notes: &mut Vec<String>,
) {
    let granted = match network.take() {
        None => caller.network.clone(),
        Some(asked) => {
            let beyond = asked.beyond(&caller.network);
            if !beyond.is_empty() {
                let text = format!(
                    "{label}: asks for {} (sandbox.network), which the caller does not grant; its commands run without {}",
                    if asked.is_all() {
                        "the network".to_string()
                    } else {
                        beyond.join(", ")
                    },
                    if asked.is_all() || beyond.len() == 1 {
                        "it"
                    } else {
                        "them"
                    }
                );
                if !notes.contains(&text) {
                    notes.push(text);
                }
            }
            asked.narrowed_by(&caller.network)
        }
    };
    *network = Some(granted);
}

/// A recipe's command environment: its own values, without any taken
/// from wf's environment (a recipe gets none of wf's variables unless its
/// caller names them), with the caller's `env` laid over them (the caller
/// adapts a recipe to its project).
fn bound_env(env: &mut super::Env, caller: &Caller, label: &str, notes: &mut Vec<String>) {
    let asked: Vec<String> = env
        .iter()
        .filter_map(|(name, value)| match value {
            crate::spec::EnvValue::FromEnv { from_env } => {
                Some(format!("`{name}` from `{from_env}`"))
            }
            crate::spec::EnvValue::Text(_) => None,
        })
        .collect();
    if !asked.is_empty() {
        let text = format!(
            "{label}: env asks for {} of wf's environment; a recipe gets no variable of wf's \
             environment unless its caller sets it in its own `env`, so its commands run without them",
            asked.join(", ")
        );
        if !notes.contains(&text) {
            notes.push(text);
        }
    }
    env.retain(|_, v| matches!(v, crate::spec::EnvValue::Text(_)));
    env.extend(caller.env.iter().map(|(k, v)| (k.clone(), v.clone())));
}

/// The MCP servers of a recipe's agent step, bounded by the caller's
/// (see [`bound`]).
fn bound_mcp(
    servers: &mut std::collections::BTreeMap<String, crate::spec::McpServer>,
    caller: &Caller,
    label: &str,
    notes: &mut Vec<String>,
) -> Result<(), Refusal> {
    for (name, server) in servers.iter_mut() {
        if let Some(theirs) = caller.mcp.get(name) {
            if !server.same_server(theirs) {
                return Err(Refusal(format!(
                    "declares MCP server `{name}`, which its caller declares as another server; \
                     a recipe never replaces its caller's server: rename the recipe's, or have \
                     it use the caller's as declared"
                )));
            }
            *server = theirs.clone();
            continue;
        }
        let mut asked: Vec<&String> = server.env.iter().chain(server.headers.values()).collect();
        asked.sort();
        asked.dedup();
        if !asked.is_empty() {
            let text = format!(
                "{label}: MCP server `{name}` asks for {}; a recipe's server gets no variable of \
                 wf's environment unless its caller declares the server itself (`mcp.{name}.env`), \
                 so it runs without them",
                asked
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if !notes.contains(&text) {
                notes.push(text);
            }
        }
        server.env.clear();
        server.headers.clear();
    }
    Ok(())
}

/// Bounds every agent step (recursively) by what the caller allows: tools
/// intersected, the caller's permissions added as a bound, context files
/// the caller may not read left out, the caller's constraints added, a
/// plan checkpoint when either asks for one, and the caller's model and
/// step limits. What a step asked for and does not get becomes a note.
///
/// MCP servers: a recipe never replaces its caller's server. A recipe's
/// server under a name the caller also declares must be the same server
/// (command or URL, tools, timeouts; `env` and `headers` aside), else the
/// plan is refused; it then runs as the caller declares it, with the
/// variables the caller gives it. Any other server of a recipe gets no
/// variable of wf's environment (no `env`, no `headers`): the caller grants
/// one by declaring the server itself, naming the variables.
pub(super) fn bound(
    steps: &mut [PlanStep],
    caller: &Caller,
    label: &str,
    notes: &mut Vec<String>,
) -> Result<(), Refusal> {
    let allowed = &caller.permissions;
    let readable = crate::glob::compile_set(&allowed.read).ok();
    for step in steps {
        match &mut step.kind {
            StepKind::Command {
                bounds,
                network,
                env,
                ..
            } => {
                bounds.push(allowed.clone());
                bound_network(network, caller, label, notes);
                bound_env(env, caller, label, notes);
            }
            StepKind::Uses(used) => {
                // A recipe's own limits are not its to set: the caller's are.
                used.limits = StepLimits::default();
                bound(&mut used.steps, caller, label, notes)?;
            }
            StepKind::Agent(agent) => {
                bound_network(&mut agent.network, caller, label, notes);
                bound_env(&mut agent.env, caller, label, notes);
                bound_mcp(&mut agent.mcp, caller, label, notes)?;
                let mut note = |what: String| {
                    let text = format!("{label}: {what}");
                    if !notes.contains(&text) {
                        notes.push(text);
                    }
                };
                for tool in &agent.tools {
                    if !caller.tools.contains(tool) {
                        note(format!(
                            "asks for tool `{}`, which the caller does not allow; it is left out",
                            tool.name()
                        ));
                    }
                }
                agent.tools.retain(|t| caller.tools.contains(t));
                let own = &agent.permissions;
                let uses_tool = |names: &[ToolName]| names.iter().any(|t| agent.has(*t));
                for (what, asked, granted, tools) in [
                    (
                        "read",
                        &own.read,
                        &allowed.read,
                        &[ToolName::ReadFile, ToolName::ListFiles, ToolName::Search][..],
                    ),
                    (
                        "write",
                        &own.write,
                        &allowed.write,
                        &[ToolName::EditFile, ToolName::WriteFile][..],
                    ),
                ] {
                    if !uses_tool(tools) {
                        continue;
                    }
                    for glob in asked {
                        if !glob_covered(glob, granted) {
                            note(format!(
                                "asks to {what} `{glob}` but the caller allows {}; it gets only the overlap",
                                list_or_nothing(granted)
                            ));
                        }
                    }
                }
                if agent.has(ToolName::Shell)
                    && let Some(shell) = &own.shell
                {
                    let granted: Vec<String> =
                        allowed.shell.iter().flat_map(|s| s.allow.clone()).collect();
                    for pattern in &shell.allow {
                        if !pattern_covered(pattern, &granted) {
                            note(format!(
                                "asks to run `{pattern}` but the caller allows {}; only commands both allow run",
                                list_or_nothing(&granted)
                            ));
                        }
                    }
                }
                if let Some(readable) = &readable {
                    let (kept, dropped): (Vec<_>, Vec<_>) =
                        std::mem::take(&mut agent.context.files)
                            .into_iter()
                            .partition(|f| {
                                // The real path decides, as for the tools: a
                                // symlink is readable only if its target is.
                                crate::policy::real_path_readable(readable, &f.real_path)
                            });
                    for f in &dropped {
                        note(format!(
                            "context file {} is not readable under the caller's permissions; it is left out",
                            f.path
                        ));
                        agent.context.skipped.push(crate::context::Skipped {
                            path: f.path.clone(),
                            reason: "not readable under the caller's permissions".into(),
                        });
                        agent.context.total_tokens -= f.tokens;
                    }
                    agent.context.skipped.sort_by(|a, b| a.path.cmp(&b.path));
                    agent.context.files = kept;
                }
                agent.bounds.push(allowed.clone());
                for c in &caller.constraints {
                    if !agent.constraints.contains(c) {
                        agent.constraints.push(c.clone());
                    }
                }
                for f in &caller.instructions {
                    if !agent.instructions.iter().any(|g| g.path == f.path) {
                        agent.instructions.push(f.clone());
                    }
                }
                agent.plan_checkpoint |= caller.plan_checkpoint;
                agent.model = caller.model.clone();
                // The recipe step's turns, spending and time bound the whole
                // recipe (see `UsedRecipe::limits`); its repair rounds apply
                // to each agent step in it.
                agent.limits = StepLimits {
                    max_repairs: caller.limits.max_repairs,
                    ..StepLimits::default()
                };
            }
        }
    }
    Ok(())
}

/// Whether every path `glob` matches is surely matched by one of
/// `granted`: the same glob; `**`; `DIR/**` over a glob inside DIR; or a
/// granted glob matching a literal path. Anything else counts as narrowed
/// (a note may then be cautious, never silent).
fn glob_covered(glob: &str, granted: &[String]) -> bool {
    let literal = |g: &str| !g.contains(['*', '?', '[', '{']);
    granted.iter().any(|g| {
        g == glob
            || g == "**"
            || g.strip_suffix("/**")
                .is_some_and(|dir| literal(dir) && glob.starts_with(&format!("{dir}/")))
            || (literal(glob)
                && crate::glob::compile(g).is_ok_and(|m| m.compile_matcher().is_match(glob)))
    })
}

/// Whether every command a shell allow pattern admits is surely admitted
/// by one of `granted`: the same pattern; a granted pattern of literal
/// words and a final `*` that the asked pattern starts with (`cargo *`
/// covers `cargo test *`); or a granted pattern matching a literal command.
fn pattern_covered(pattern: &str, granted: &[String]) -> bool {
    use crate::policy::shell::{PatternWord, matches, parse_pattern, split_command};
    let asked = split_command(pattern).ok();
    let asked_literal = asked.is_some() && !pattern.contains(['*', '?', '[']);
    granted.iter().any(|g| {
        if g == pattern {
            return true;
        }
        let (Ok(words), Some(asked)) = (parse_pattern(g), asked.as_ref()) else {
            return false;
        };
        if asked_literal && matches(&words, asked) {
            return true;
        }
        match words.split_last() {
            Some((PatternWord::Rest, prefix)) => {
                prefix.len() <= asked.len()
                    && prefix.iter().zip(asked).all(|(w, a)| match w {
                        PatternWord::Literal(l) => l == a && !a.contains(['*', '?', '[']),
                        _ => false,
                    })
            }
            _ => false,
        }
    })
}

fn list_or_nothing(list: &[String]) -> String {
    if list.is_empty() {
        "nothing".into()
    } else {
        list.iter()
            .map(|g| format!("`{g}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn coverage_is_claimed_only_when_sure() {
        assert!(glob_covered("src/**/*.rs", &v(&["src/**"])));
        assert!(glob_covered("src/a.rs", &v(&["src/*.rs"])));
        assert!(glob_covered("anything/**", &v(&["**"])));
        assert!(!glob_covered("src/**", &v(&["src/*"])));
        assert!(!glob_covered("**", &v(&["src/**"])));
        assert!(!glob_covered("srcx/**", &v(&["src/**"])));
        assert!(pattern_covered("cargo test *", &v(&["cargo *"])));
        assert!(pattern_covered("cat a.txt", &v(&["cat *.txt"])));
        assert!(!pattern_covered("rm *", &v(&["rm ?"])));
        assert!(!pattern_covered("rm *", &v(&["cat *"])));
        assert!(!pattern_covered("cargo *", &v(&["cargo test *"])));
    }
}
