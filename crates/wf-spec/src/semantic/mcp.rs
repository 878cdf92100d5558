//! The rules of `mcp:` servers and the MCP tools a task names.

use super::*;

/// The `mcp:` servers (name, pinned package, allowlist) and the MCP tools
/// of `tools`: each must name a declared server and one of its allowlisted
/// tools. `tools_ptr` and `mcp_ptr` are where the lists are written (`""`:
/// the top level).
pub(super) fn mcp_checks(
    tools: &[ToolRef],
    mcp: &std::collections::BTreeMap<String, crate::McpServer>,
    tools_ptr: &str,
    mcp_ptr: &str,
    root: &Node,
    out: &mut Vec<Diagnostic>,
) {
    let at = |pointer: &str| root.at_pointer(pointer).1.span;
    let key_at = |pointer: &str| {
        let (k, n) = root.at_pointer(pointer);
        k.map_or(n.span, |k| k.span)
    };
    for (name, server) in mcp {
        let ptr = format!("{mcp_ptr}/mcp/{name}");
        if !regex_lite_server(name) {
            out.push(
                Diagnostic::new(key_at(&ptr), format!("invalid MCP server name `{name}`"))
                    .with_help("use lowercase letters, digits and single dashes, e.g. `issues`"),
            );
        }
        match (&server.url, server.command.is_empty()) {
            (Some(_), false) => out.push(
                Diagnostic::new(
                    key_at(&format!("{ptr}/url")),
                    format!("MCP server `{name}` has both `command` and `url`"),
                )
                .with_help("a server is a local command over stdio or a remote URL, not both"),
            ),
            (None, true) => out.push(
                Diagnostic::new(
                    key_at(&ptr),
                    format!("MCP server `{name}` has neither `command` nor `url`"),
                )
                .with_help(
                    "add `command: [program, args…]` (stdio) or `url: https://…` (streamable HTTP)",
                ),
            ),
            (Some(url), true) => {
                if let Err(why) = crate::check_mcp_url(url) {
                    out.push(Diagnostic::new(at(&format!("{ptr}/url")), why));
                }
                if !server.env.is_empty() {
                    out.push(
                        Diagnostic::new(
                            key_at(&format!("{ptr}/env")),
                            "`env` passes variables to a server wf starts; a `url` server is not started",
                        )
                        .with_help("send a variable's value as an HTTP header with `headers: { Name: VAR }`"),
                    );
                }
            }
            (None, false) => {
                if let Err(message) = server.package() {
                    out.push(Diagnostic::new(at(&format!("{ptr}/command")), message));
                }
                if !server.headers.is_empty() {
                    out.push(Diagnostic::new(
                        key_at(&format!("{ptr}/headers")),
                        "`headers` are for a `url` server; a `command` server gets variables with `env`",
                    ));
                }
            }
        }
        for (header, var) in &server.headers {
            let hptr = format!("{ptr}/headers/{header}");
            if header.is_empty()
                || !header
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
            {
                out.push(Diagnostic::new(
                    key_at(&hptr),
                    format!("`{header}` is not an HTTP header name"),
                ));
            } else if var.is_empty() || var.contains('=') {
                out.push(
                    Diagnostic::new(at(&hptr), format!("`{var}` is not a variable name"))
                        .with_help("the value is the name of a variable of wf's environment, never the secret itself"),
                );
            }
        }
        for (i, tool) in server.tools.iter().enumerate() {
            let exposed = crate::mcp_tool_name(name, tool);
            if ToolRef::parse(&exposed).is_none() || exposed.len() > crate::MAX_TOOL_NAME {
                out.push(Diagnostic::new(
                    at(&format!("{ptr}/tools/{i}")),
                    format!(
                        "`{exposed}` is not a valid tool name for the model (letters, digits, `_` and `-`, at most {})",
                        crate::MAX_TOOL_NAME
                    ),
                ));
            }
        }
        for (i, var) in server.env.iter().enumerate() {
            if var.is_empty() || var.contains('=') {
                out.push(Diagnostic::new(
                    at(&format!("{ptr}/env/{i}")),
                    format!("`{var}` is not a variable name"),
                ));
            }
        }
    }
    for (i, t) in tools.iter().enumerate() {
        let ToolRef::Mcp { server, tool } = t else {
            continue;
        };
        let span = at(&format!("{tools_ptr}/tools/{i}"));
        match mcp.get(server) {
            None => out.push(
                Diagnostic::new(
                    span,
                    format!("tool `{}`: no MCP server `{server}` is declared", t.name()),
                )
                .with_help(
                    match crate::diagnostic::suggest(server, mcp.keys().map(String::as_str)) {
                        Some(help) => help,
                        None => "declare it under `mcp:`".to_string(),
                    },
                ),
            ),
            Some(s) if !s.tools.contains(tool) => out.push(
                Diagnostic::new(
                    span,
                    format!(
                        "tool `{}`: `{tool}` is not in `mcp.{server}.tools`",
                        t.name()
                    ),
                )
                .with_help("add it to the server's allowlist, or remove it from `tools`"),
            ),
            Some(_) if t.name().len() > crate::MAX_TOOL_NAME => out.push(Diagnostic::new(
                span,
                format!(
                    "tool name `{}` is longer than {} characters",
                    t.name(),
                    crate::MAX_TOOL_NAME
                ),
            )),
            Some(_) => {}
        }
    }
}

/// Whether `name` is a valid MCP server name (lowercase letters, digits,
/// single dashes).
pub(super) fn regex_lite_server(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}
