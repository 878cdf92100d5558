//! The commands about task files: `wf init`, `validate`, `list`, `lock`,
//! `plan`, `emit`, `test` (recipe tests), each calling [`crate::app`] and
//! printing what it returns.

use super::*;
use crate::plan::widening::WideningExt;

pub(super) fn emit(target: args::EmitTarget) -> Result<Exit, Error> {
    use app::emit::{self, github, k8s};
    let (common, made) = match target {
        args::EmitTarget::Github {
            common,
            approval_environment,
            max_parallel,
            wf_install,
            pull_request,
            runs_on,
        } => {
            let p = emit::prepare(&emit_request(&common))?;
            let made = github::emit(
                &p,
                &github::Options {
                    approval_environment,
                    max_parallel,
                    wf_install,
                    pull_request,
                    runs_on,
                },
            )?;
            (common, made)
        }
        args::EmitTarget::K8s {
            common,
            image,
            parallelism,
            secret,
            runs_claim,
            namespace,
        } => {
            let p = emit::prepare(&emit_request(&common))?;
            let made = k8s::emit(
                &p,
                &k8s::Options {
                    image,
                    parallelism,
                    secret,
                    runs_claim,
                    namespace,
                },
            )?;
            (common, made)
        }
    };
    match &common.output {
        None => out!("{}", made.text),
        Some(file) => {
            std::fs::write(file, &made.text)
                .map_err(|e| Error::io(format!("cannot write {}", file.display()), e))?;
            errln!("wf: wrote {}", file.display());
        }
    }
    for note in &made.notes {
        errln!("wf: {note}");
    }
    Ok(Exit::Success)
}

fn emit_request(common: &args::EmitCommon) -> app::emit::Request {
    app::emit::Request {
        task: common.task.clone(),
        repos: common.repos.clone(),
        sandbox: common.sandbox,
        trust_sandbox: common.trust_sandbox,
        max_cost_usd: common.max_cost_usd,
    }
}

pub(super) fn init(name: &str, path: Option<&Path>) -> Result<Exit, Error> {
    let written = app::init::init(Some(name), path, &app::current_dir()?)?;
    if let Some(schema) = &written.schema_written {
        outln!(
            "wrote {} (for editor completion; `wf schema` prints it again after an upgrade)",
            schema.display()
        );
    }
    let p = written.path.display();
    outln!("wrote {p}");
    outln!("next: edit the prompt and permissions, then");
    outln!("  wf validate {p}");
    outln!("  wf plan {p}");
    Ok(Exit::Success)
}

pub(super) fn validate(paths: &[PathBuf]) -> Exit {
    let checked = app::validate::validate(paths);
    let bad = checked.iter().filter(|c| c.result.is_err()).count();
    let ok = checked.len() - bad;
    for c in checked {
        match c.result {
            Ok(()) => {
                outln!("ok    {}", c.path.display());
                // Allow patterns that let the model run any program: a
                // note, not an error (the sandbox is what confines them).
                if let Ok(loaded) = crate::spec::load(&c.path) {
                    for note in crate::spec::risky::risky_patterns(&loaded.spec) {
                        outln!("  note: {note}");
                    }
                }
            }
            Err(e) => {
                outln!("error {}", c.path.display());
                errln!("{}\n", render_error(&Error::Spec(e)).trim_end());
            }
        }
    }
    let noun = |n: usize| if n == 1 { "file" } else { "files" };
    if bad == 0 {
        outln!("{ok} task {} valid", noun(ok));
        Exit::Success
    } else {
        outln!("{ok} valid, {bad} with errors");
        Exit::Usage
    }
}

/// `wf list`: the repository's task files.
pub(super) fn list(json: bool, names: bool) -> Result<Exit, Error> {
    let listing = app::list::list(&app::current_dir()?)?;
    if names {
        for t in &listing.tasks {
            outln!("{}", t.name);
        }
    } else if json {
        let text = serde_json::to_string_pretty(&listing).expect("listings serialize");
        outln!("{text}");
    } else {
        out!("{}", app::list::render(&listing));
    }
    Ok(Exit::Success)
}

pub(super) fn lock(paths: &[PathBuf], update: Option<String>) -> Result<Exit, Error> {
    use app::lock::Change;
    let update = update.map(|name| (!name.is_empty()).then_some(name));
    let report = app::lock::lock(paths, update)?;
    for note in &report.notes {
        errln!("wf: note: {note}");
    }
    for e in &report.errors {
        errln!("{}\n", render_error_spec(e).trim_end());
    }
    let cwd = app::current_dir()?;
    let version = |p: &crate::recipes::Pin| match &p.commit {
        Some(c) => format!("commit {}", crate::recipes::lock::short(c)),
        None => format!("sha256 {}", crate::recipes::lock::short(&p.sha256)),
    };
    for file in &report.files {
        for change in &file.changes {
            match change {
                Change::Pinned(pin) => {
                    outln!("pinned  {} ({}) at {}", pin.uses, pin.name, version(pin))
                }
                Change::Moved { was, now } => outln!(
                    "moved   {} ({}) from {} to {}",
                    now.uses,
                    now.name,
                    version(was),
                    version(now)
                ),
                Change::Dropped(pin) => outln!("dropped {} (no longer used)", pin.uses),
                Change::McpPinned(pin) => outln!(
                    "pinned  MCP {} ({})",
                    pin.package,
                    mcp_tools(pin.tools.keys())
                ),
                Change::McpMoved { was, now } => {
                    let changed: Vec<&String> = now
                        .tools
                        .iter()
                        .filter(|(t, sha)| was.tools.get(*t).is_some_and(|w| w != *sha))
                        .map(|(t, _)| t)
                        .collect();
                    let added: Vec<&String> = now
                        .tools
                        .keys()
                        .filter(|t| !was.tools.contains_key(*t))
                        .collect();
                    let removed: Vec<&String> = was
                        .tools
                        .keys()
                        .filter(|t| !now.tools.contains_key(*t))
                        .collect();
                    let mut what = Vec::new();
                    for (names, verb) in
                        [(changed, "changed"), (added, "added"), (removed, "removed")]
                    {
                        if !names.is_empty() {
                            what.push(format!("{verb} {}", mcp_tools(names.into_iter())));
                        }
                    }
                    outln!("moved   MCP {}: {}", now.package, what.join("; "))
                }
                Change::McpDropped(pin) => {
                    outln!("dropped MCP {} (no longer used)", pin.package)
                }
            }
        }
        let shown = file.path.strip_prefix(&cwd).unwrap_or(&file.path);
        if file.written {
            outln!("wrote {}", shown.display());
        } else {
            outln!("{} is up to date", shown.display());
        }
    }
    if report.nothing_to_lock {
        outln!("no task file uses a recipe or an MCP server; nothing to lock");
    }
    Ok(if report.errors.is_empty() {
        Exit::Success
    } else {
        Exit::Usage
    })
}

/// Tool names for `wf lock`'s report: "tools echo, read".
fn mcp_tools<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    let noun = if names.len() == 1 { "tool" } else { "tools" };
    format!("{noun} {}", names.join(", "))
}

pub(super) fn plan(spec_path: &Path, inputs: &[String], json: bool) -> Result<Exit, Error> {
    let (plan, fixed) = app::run::plan(spec_path, inputs)?;
    if json {
        let mut value = serde_json::to_value(&plan).expect("plan serializes");
        value["fixed_request_bytes"] = fixed.into();
        let widening = plan.widening();
        if !widening.is_empty() {
            value["sandbox_widening"] =
                serde_json::to_value(&widening).expect("a widening serializes");
        }
        let text = serde_json::to_string_pretty(&value).expect("plan serializes");
        // Tool descriptions come from MCP servers: no raw control codes.
        outln!("{}", crate::report::text::escape_json(&text));
    } else {
        out!("{}", crate::report::plan::render(&plan, fixed));
    }
    Ok(Exit::Success)
}

pub(super) fn recipe_tests(paths: &[PathBuf]) -> Result<Exit, Error> {
    let files = app::test::named(&app::validate::or_current(paths), &app::current_dir()?)?;
    if files.is_empty() {
        return Err(Error::Usage("no recipe tests (*.test.yaml) found".into()));
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in &files {
        let tests = app::test::load(file).map_err(Error::Usage)?;
        for outcome in app::test::run_file(file, &tests) {
            if outcome.failures.is_empty() {
                passed += 1;
                outln!("ok    {}", outcome.id);
            } else {
                failed += 1;
                outln!("FAIL  {}", outcome.id);
                for f in &outcome.failures {
                    outln!("      {f}");
                }
            }
        }
    }
    outln!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        Exit::Success
    } else {
        Exit::Failed
    })
}
