//! `wf plan`'s human output: short sections that fit a terminal.
//!
//! Much of a plan comes from outside wf: the task file and its recipes
//! (possibly from a cloned repository), file names, and what MCP servers
//! say of their tools. Such text is shown with its control characters
//! escaped like in every other view ([`super::text`]): one-line values
//! (an MCP tool's name and description) with [`super::text::escape_line`],
//! and the whole rendering through [`super::text::escape_controls`], so an
//! OSC sequence, `ESC[2J` or a bidi override in a tool's description or
//! input schema is printed visibly instead of acting on the terminal.

use super::text::{escape_controls, escape_line};
use crate::plan::Plan;
use crate::plan::widening::WideningExt;
use std::fmt::Write;

/// Renders a plan for a person, control characters escaped.
pub fn render(plan: &Plan, fixed_request_bytes: u64) -> String {
    let text = render_raw(plan, fixed_request_bytes);
    match escape_controls(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(escaped) => escaped,
    }
}

fn render_raw(plan: &Plan, fixed_request_bytes: u64) -> String {
    let mut o = String::new();
    let version = plan
        .version
        .as_deref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    let _ = writeln!(o, "plan: {}{version}  ({})", plan.name, plan.spec_path);
    let _ = writeln!(o, "fingerprint: {}", plan.fingerprint);
    let model = plan.model.name.as_deref().unwrap_or("-");
    let mut model_line = format!(
        "{} {model}, max_tokens {}",
        plan.model.provider.as_str(),
        plan.model.max_tokens
    );
    if let Some(t) = plan.model.temperature {
        let _ = write!(model_line, ", temperature {t}");
    }
    if let Some(script) = &plan.model.script {
        let _ = write!(model_line, ", script {script}");
    }
    let _ = writeln!(o, "model: {model_line}");

    if !plan.inputs.is_empty() {
        let _ = writeln!(o, "\ninputs");
        for (k, v) in &plan.inputs {
            let _ = writeln!(o, "  {k} = {v}");
        }
    }

    // A single-prompt file shows its prompt; a multi-step file its steps,
    // then the top-level settings they inherit.
    let task = plan.task_settings();
    if let Some(step) = plan.implicit_step() {
        let _ = writeln!(o, "\nprompt");
        for line in step.prompt.trim_end().lines() {
            let _ = writeln!(o, "  {line}");
        }
    } else {
        let _ = writeln!(o, "\nsteps");
        steps(&mut o, &plan.steps, "  ", &plan.model, &plan.inputs);
    }
    if !task.constraints.is_empty() || !task.instructions.is_empty() {
        let _ = writeln!(o, "\nconstraints");
        for c in &task.constraints {
            let _ = writeln!(o, "  - {c}");
        }
        // A file's text goes to the model whole; its name, size and hash
        // say which version (in the fingerprint).
        for f in &task.instructions {
            let _ = writeln!(
                o,
                "  - from {}: {} lines, {} bytes, sha256 {}",
                f.path,
                f.text.lines().count(),
                f.text.len(),
                &f.sha256[..12]
            );
        }
    }

    let ctx = &task.context;
    let pct = (ctx.total_tokens * 100)
        .checked_div(ctx.max_tokens)
        .unwrap_or(0);
    let _ = writeln!(
        o,
        "\ncontext: {} files, {} tokens of {} ({pct}%)",
        ctx.files.len(),
        ctx.total_tokens,
        ctx.max_tokens
    );
    let width = ctx
        .files
        .iter()
        .map(|f| f.path.len())
        .max()
        .unwrap_or(0)
        .min(60);
    for f in &ctx.files {
        let _ = writeln!(
            o,
            "  {:<width$}  {:>8} B  {:>7} tok  {}",
            f.path,
            f.bytes,
            f.tokens,
            &f.hash[..12]
        );
    }
    for s in &ctx.skipped {
        let _ = writeln!(o, "  {:<width$}  skipped: {}", s.path, s.reason);
    }
    for note in &ctx.notes {
        let _ = writeln!(o, "  ! {note}");
    }
    if ctx.files.is_empty() && ctx.notes.is_empty() && !task.context_include.is_empty() {
        let _ = writeln!(o, "  (no file matches {})", task.context_include.join(", "));
    }

    let _ = writeln!(
        o,
        "\nfixed per request: {} bytes of instructions and tool definitions (~{} tokens)",
        fixed_request_bytes,
        crate::context::estimate_tokens(fixed_request_bytes)
    );
    let tools: Vec<String> = task.tools.iter().map(|t| t.name()).collect();
    let _ = writeln!(
        o,
        "\ntools: {}",
        if tools.is_empty() {
            "none".to_string()
        } else {
            tools.join(", ")
        }
    );
    // The MCP servers' allowlisted tools, as listed by starting each server
    // (`wf plan` starts them; no model is called).
    for (server, listing) in &plan.mcp {
        let remote = ["http://", "https://"]
            .iter()
            .any(|p| listing.package.starts_with(p));
        let _ = writeln!(
            o,
            "mcp server {server}: {} (tools sha256 {}){}",
            listing.package,
            &listing.sha256[..12.min(listing.sha256.len())],
            if remote {
                "\n  remote, streamable HTTP: network from wf itself, not sandboxed"
            } else {
                ""
            }
        );
        for tool in &listing.tools {
            let schema = serde_json::to_string(&tool.input_schema).unwrap_or_default();
            let _ = writeln!(
                o,
                "  {}: {}\n    input {}",
                escape_line(&crate::spec::mcp_tool_name(server, &tool.name)),
                escape_line(tool.description.lines().next().unwrap_or("")),
                escape_line(&schema)
            );
        }
    }
    let p = &task.permissions;
    let list = |v: &[String]| {
        if v.is_empty() {
            "nothing".to_string()
        } else {
            v.join(", ")
        }
    };
    let _ = writeln!(o, "permissions");
    let _ = writeln!(o, "  read     {}", list(&p.read));
    let _ = writeln!(o, "  write    {}", list(&p.write));
    let mut protect = p.protect.clone();
    protect.extend([".git/**".to_string(), ".wf/**".to_string()]);
    let _ = writeln!(o, "  protect  {}", protect.join(", "));
    if let Some(shell) = &p.shell {
        let timeout = shell.timeout.map_or("2m".to_string(), |t| t.to_text());
        let _ = writeln!(
            o,
            "  shell    {} (timeout {timeout})",
            shell.allow.join(" | ")
        );
    }

    if task.checks.is_empty() {
        let _ = writeln!(o, "\nchecks: none");
    } else {
        let _ = writeln!(o, "\nchecks");
        for c in &task.checks {
            let timeout = c.timeout.map_or("10m".to_string(), |t| t.to_text());
            let mut lines = c.run.trim_end().lines();
            let first = lines.next().unwrap_or("");
            let _ = writeln!(o, "  {}  (timeout {timeout})", c.name);
            let _ = writeln!(o, "    $ {first}");
            for line in lines {
                let _ = writeln!(o, "      {line}");
            }
        }
    }
    let cp = &plan.checkpoints;
    let _ = writeln!(
        o,
        "checkpoints: plan {}, apply {}",
        if cp.plan { "on" } else { "off" },
        if cp.apply { "on" } else { "off" }
    );
    if !plan.recipes.is_empty() {
        let _ = writeln!(o, "\nrecipes");
        for pin in &plan.recipes {
            let commit = pin
                .commit
                .as_deref()
                .map(|c| format!("commit {}, ", crate::recipes::lock::short(c)))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "  {}  {}  ({commit}sha256 {})",
                pin.name,
                pin.uses,
                crate::recipes::lock::short(&pin.sha256)
            );
        }
    }
    let l = &plan.limits;
    // Caps fail closed: say how an answer without usage counts against one.
    let cost = l.max_cost_usd.map_or("none".to_string(), |c| {
        let how = if plan.model.provider == crate::spec::ProviderName::Script {
            "not enforced: the script provider reports no usage"
        } else {
            "answers without usage count as request bytes/4 in, max_tokens out"
        };
        format!("{} ({how})", crate::provider::cost::usd(c))
    });
    let timeout = l.timeout.map_or("30m".to_string(), |t| t.to_text());
    let _ = writeln!(
        o,
        "limits: {} turns, {} repairs, cost {cost}, timeout {timeout}, {} tool calls a turn, {} written",
        l.max_turns,
        l.max_repairs,
        l.max_tool_calls_per_turn,
        bytes(l.max_write_bytes)
    );
    sandbox(&mut o, &plan.sandbox, plan.machine_level.as_deref());
    widening(&mut o, plan);
    if !task.env.is_empty() {
        let _ = writeln!(o, "env: {}", env_text(&task.env));
    }
    if !plan.notes.is_empty() {
        let _ = writeln!(o, "\nnotes");
        for note in &plan.notes {
            let _ = writeln!(o, "  ! {note}");
        }
    }
    o
}

/// How commands will be confined: one line, loud when they will not be.
fn sandbox(o: &mut String, s: &crate::spec::Sandbox, level: Option<&str>) {
    if s.mode == crate::spec::SandboxMode::Off {
        let _ = writeln!(
            o,
            "sandbox: OFF — checks, command steps and shell calls run unconfined, as you"
        );
        return;
    }
    let mut line = format!(
        "sandbox: confined (writes: workspace and run temp only; network {})",
        s.network.describe()
    );
    if !s.read.is_empty() {
        let _ = write!(line, "; also reads {}", s.read.join(", "));
    }
    if !s.write.is_empty() {
        let _ = write!(line, "; also writes {}", s.write.join(", "));
    }
    match level {
        Some("full") => line.push_str("; full level here"),
        Some(other) => {
            let _ = write!(
                line,
                "; {other} level here (no user namespaces: weaker, see `wf doctor`)"
            );
        }
        None => line.push_str("; this machine cannot confine: `wf run` will refuse"),
    }
    if let Some(required) = s.require {
        let _ = write!(line, "; requires {}", required.as_str());
    }
    let _ = writeln!(o, "{line}");
}

/// What the plan's commands get beyond the default sandbox, if anything,
/// and whether the user approved it (see [`crate::plan::widening`]).
fn widening(o: &mut String, plan: &Plan) {
    let widening = plan.widening();
    if widening.is_empty() {
        return;
    }
    let _ = writeln!(o, "sandbox widening (a run needs your approval of it):");
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    for line in widening.lines(home.as_deref()) {
        let _ = writeln!(o, "  - {line}");
    }
    match &plan.sandbox_approval {
        Some(a) => {
            let _ = writeln!(
                o,
                "  approved by {} via {} at {}, for this task file in this repository",
                a.by, a.via, a.at
            );
        }
        None => {
            let _ = writeln!(
                o,
                "  NOT APPROVED: `wf run` asks on a terminal; --trust-sandbox approves it (CI)"
            );
        }
    }
}

/// The steps, recipe steps with their own steps indented below them.
fn steps(
    o: &mut String,
    steps: &[crate::plan::PlanStep],
    indent: &str,
    top: &crate::spec::ModelSpec,
    inputs: &std::collections::BTreeMap<String, serde_json::Value>,
) {
    let list = |v: &[String]| {
        if v.is_empty() {
            "nothing".to_string()
        } else {
            v.join(", ")
        }
    };
    for (i, step) in steps.iter().enumerate() {
        let cond = step
            .condition
            .as_deref()
            .map(|c| format!("  if: {c}"))
            .unwrap_or_default();
        let body = format!("{indent}   ");
        // Only the implicit step of a single-prompt file has no id, and it
        // is shown as the prompt.
        let id = step.id.as_deref().unwrap_or("-");
        match &step.kind {
            crate::plan::StepKind::Command {
                run, network, env, ..
            } => {
                let _ = writeln!(
                    o,
                    "{indent}{}. {} (command){cond}\n{body}$ {}",
                    i + 1,
                    id,
                    run.trim_end().replace('\n', &format!("\n{body}  "))
                );
                if let Some(n) = network_text(network.as_ref()) {
                    let _ = writeln!(o, "{body}{n}");
                }
                if !env.is_empty() {
                    let _ = writeln!(o, "{body}env: {}", env_text(env));
                }
            }
            crate::plan::StepKind::Uses(u) => {
                let version = u
                    .version
                    .as_deref()
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    o,
                    "{indent}{}. {} (recipe {}{version}: {}){cond}",
                    i + 1,
                    id,
                    u.name,
                    u.uses
                );
                if !u.inputs.is_empty() {
                    let with: Vec<String> =
                        u.inputs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    let _ = writeln!(o, "{body}with {}", with.join(", "));
                }
                if u.approve_after {
                    let _ = writeln!(o, "{body}checkpoint: approve the changes after it");
                }
                let limits = limits_text(&u.limits);
                if !limits.is_empty() {
                    let _ = writeln!(
                        o,
                        "{body}limits for the whole recipe: {}",
                        limits.join(", ")
                    );
                }
                self::steps(o, &u.steps, &body, top, &u.inputs);
            }
            crate::plan::StepKind::Agent(a) => {
                let schema = if a.output_schema.is_some() {
                    ", JSON output"
                } else {
                    ""
                };
                let tools: Vec<String> = a.tools.iter().map(|t| t.name()).collect();
                let _ = writeln!(
                    o,
                    "{indent}{}. {} (agent{schema}; tools {}; {} context files; {} checks){cond}",
                    i + 1,
                    id,
                    if tools.is_empty() {
                        "none".to_string()
                    } else {
                        tools.join(", ")
                    },
                    a.context.files.len(),
                    a.checks.len()
                );
                let mut extras = Vec::new();
                if a.model != *top {
                    let mut m = a.model.name.clone().unwrap_or_else(|| "-".into());
                    if a.model.max_tokens != top.max_tokens {
                        let _ = write!(m, ", max_tokens {}", a.model.max_tokens);
                    }
                    if let Some(t) = a.model.temperature {
                        let _ = write!(m, ", temperature {t}");
                    }
                    extras.push(format!("model {m}"));
                }
                extras.extend(limits_text(&a.limits));
                extras.extend(network_text(a.network.as_ref()));
                if !a.env.is_empty() {
                    extras.push(format!("env: {}", env_text(&a.env)));
                }
                if a.plan_checkpoint {
                    extras.push("plan checkpoint".into());
                }
                if a.approve_after {
                    extras.push("approve the changes after it".into());
                }
                if !extras.is_empty() {
                    let _ = writeln!(o, "{body}{}", extras.join("; "));
                }
                if !a.bounds.is_empty() {
                    // What the recipe gets: its own permissions and, on the
                    // same line, each caller's that bound them.
                    let chain = |f: &dyn Fn(&crate::spec::Permissions) -> String| {
                        std::iter::once(&a.permissions)
                            .chain(&a.bounds)
                            .map(f)
                            .collect::<Vec<_>>()
                            .join("  ∩  ")
                    };
                    let _ = writeln!(o, "{body}read   {}", chain(&|p| list(&p.read)));
                    let _ = writeln!(o, "{body}write  {}", chain(&|p| list(&p.write)));
                    let protect: Vec<String> = std::iter::once(&a.permissions)
                        .chain(&a.bounds)
                        .flat_map(|p| p.protect.clone())
                        .collect();
                    if !protect.is_empty() {
                        let _ = writeln!(o, "{body}protect {}", protect.join(", "));
                    }
                    if a.has(crate::spec::ToolName::Shell) {
                        let _ = writeln!(
                            o,
                            "{body}shell  {}",
                            chain(&|p| list(
                                &p.shell
                                    .as_ref()
                                    .map(|s| s.allow.clone())
                                    .unwrap_or_default()
                            ))
                        );
                    }
                }
                if !a.bounds.is_empty() {
                    // A recipe's checks are its author's commands: show them.
                    for c in &a.checks {
                        let _ = writeln!(
                            o,
                            "{body}check {}: $ {}",
                            c.name,
                            c.run.trim_end().replace('\n', &format!("\n{body}    "))
                        );
                    }
                }
                // Rendered with the step's inputs where it does not need an
                // earlier step's result (known only when the run gets there).
                let prompt = crate::spec::template::render_with_steps(
                    &a.prompt,
                    inputs,
                    &Default::default(),
                )
                .unwrap_or_else(|_| a.prompt.clone());
                for line in prompt.trim_end().lines() {
                    let _ = writeln!(o, "{body}{line}");
                }
            }
        }
    }
}

/// A byte count for people: `64 MiB`, `1.5 KiB`, `10 bytes`.
pub(super) fn bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    match n {
        n if n >= KIB * KIB && n % (KIB * KIB) == 0 => format!("{} MiB", n / (KIB * KIB)),
        n if n >= KIB * KIB => format!("{:.1} MiB", n as f64 / (KIB * KIB) as f64),
        n if n >= KIB && n % KIB == 0 => format!("{} KiB", n / KIB),
        n if n >= KIB => format!("{:.1} KiB", n as f64 / KIB as f64),
        n => format!("{n} bytes"),
    }
}

/// An `env` mapping on one line: text values as they are, a value of
/// wf's environment by its name only.
fn env_text(env: &crate::plan::Env) -> String {
    env.iter()
        .map(|(name, value)| match value {
            crate::spec::EnvValue::Text(t) => format!("{name}={t}"),
            crate::spec::EnvValue::FromEnv { from_env } => format!("{name} from ${from_env}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A step's own network setting, when it has one.
fn network_text(network: Option<&crate::spec::Network>) -> Option<String> {
    network.map(|n| match n {
        crate::spec::Network::All => "network allowed".to_string(),
        crate::spec::Network::Off => "no network".to_string(),
        hosts => format!("network {}", hosts.describe()),
    })
}

/// A step's limits, as short phrases.
fn limits_text(l: &crate::spec::StepLimits) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(n) = l.max_turns {
        out.push(format!("{n} turns"));
    }
    if let Some(n) = l.max_repairs {
        out.push(format!("{n} repairs"));
    }
    if let Some(c) = l.max_cost_usd {
        out.push(format!("cost {}", crate::provider::cost::usd(c)));
    }
    if let Some(t) = l.timeout {
        out.push(format!("timeout {}", t.to_text()));
    }
    out
}
