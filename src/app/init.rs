//! `wf init`: a new task file from a commented skeleton that shows every
//! section, passes `wf validate` as written, and carries the
//! yaml-language-server modeline pointing at the schema.

use crate::error::Error;
use std::path::{Path, PathBuf};

/// The name `wf init` uses when none is given.
pub const DEFAULT_NAME: &str = "my-workflow";

/// Where the schema sits in a repository, relative to its root.
pub const SCHEMA_PATH: &str = "schemas/workflow.schema.json";

/// What `wf init` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The task file written, as the user named it (or the default path).
    pub path: PathBuf,
    /// The modeline's schema reference: a relative path to the schema.
    pub schema: String,
    /// The schema file, when the repository had none and init wrote it.
    pub schema_written: Option<PathBuf>,
}

/// Whether `name` is a valid task name (`^[a-z0-9]+(-[a-z0-9]+)*$`, at most
/// 64 characters), as the schema requires of `name:`.
pub fn valid_name(name: &str) -> bool {
    name.len() <= 64
        && !name.is_empty()
        && name.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Writes a new task file named `name` at `path` (default `NAME.yaml` in
/// the first task folder of the repository of `cwd`, `workflows/` unless
/// `wf.tasks` says otherwise; see [`crate::app::find`]). Refuses a bad
/// name or an existing file (usage errors, exit 2).
pub fn init(name: Option<&str>, path: Option<&Path>, cwd: &Path) -> Result<Written, Error> {
    let name = name.unwrap_or(DEFAULT_NAME);
    if !valid_name(name) {
        return Err(Error::Usage(format!(
            "invalid workflow name `{name}`: use lowercase letters, digits and single dashes (at most 64 characters), e.g. `migrate-config`"
        )));
    }
    let (shown, full) = match path {
        Some(p) => (p.to_path_buf(), cwd.join(p)),
        None => {
            // The first task folder, so that `wf run NAME` finds it.
            let root = crate::sys::git::repo_root(cwd);
            let folders = crate::app::find::TaskDirs::of(&root)?;
            let rel = Path::new(&folders.dirs[0]).join(format!("{name}.yaml"));
            let full = root.join(&rel);
            // Show the path as the user can type it from here.
            let shown = full
                .strip_prefix(cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf()))
                .map_or_else(|_| full.clone(), Path::to_path_buf);
            (shown, full)
        }
    };
    if full.exists() || full.is_symlink() {
        return Err(Error::Usage(format!(
            "{} already exists; wf init never overwrites a file (choose another NAME or --path)",
            shown.display()
        )));
    }
    let Some(file_name) = full.file_name() else {
        return Err(Error::Usage(format!(
            "{} is not a file path",
            shown.display()
        )));
    };
    let dir = full.parent().unwrap_or(Path::new("/")).to_path_buf();
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    let dir = dir.canonicalize().unwrap_or(dir);
    // Editors need the schema on disk for completion: a repository without
    // one gets it at its root (never overwritten; `wf schema` refreshes it).
    let root = crate::sys::git::repo_root(&dir);
    let schema_file = root.join(SCHEMA_PATH);
    let schema_written = if schema_file.exists() {
        None
    } else {
        if let Some(parent) = schema_file.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("cannot create {}", parent.display()), e))?;
        }
        std::fs::write(&schema_file, crate::spec::schema::schema_text())
            .map_err(|e| Error::io(format!("cannot write {}", schema_file.display()), e))?;
        Some(
            schema_file
                .strip_prefix(cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf()))
                .map_or_else(|_| schema_file.clone(), Path::to_path_buf),
        )
    };
    let schema = schema_reference(&dir);
    let text = skeleton(name, &schema);
    let target = dir.join(file_name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Usage(format!(
                    "{} already exists; wf init never overwrites a file",
                    shown.display()
                ))
            } else {
                Error::io(format!("cannot write {}", shown.display()), e)
            }
        })?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .map_err(|e| Error::io(format!("cannot write {}", shown.display()), e))?;
    Ok(Written {
        path: shown,
        schema,
        schema_written,
    })
}

/// The modeline's schema reference for a task file in `dir` (canonical): the
/// relative path to `schemas/workflow.schema.json` at the root of the
/// repository holding `dir` when that file exists, else the schema's `$id`.
pub fn schema_reference(dir: &Path) -> String {
    let root = crate::sys::git::repo_root(dir);
    if root.join(SCHEMA_PATH).is_file()
        && let Some(rel) = crate::sys::paths::between(dir, &root.join(SCHEMA_PATH))
    {
        return rel;
    }
    crate::spec::schema::schema_value()
        .get("$id")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The skeleton's text.
pub fn skeleton(name: &str, schema: &str) -> String {
    SKELETON.replace("@SCHEMA@", schema).replace("@NAME@", name)
}

const SKELETON: &str = r#"# yaml-language-server: $schema=@SCHEMA@
#
# A wf task file, format 1. Every key is described in docs/format.md (and in
# the schema: `wf schema`). Paths and globs are relative to the repository
# root; `*` matches within a directory, `**` across directories.
#
#   wf validate <this file>    check it
#   wf plan <this file>        what a run would send and enforce; no model call
#   wf run <this file>         run it (add --dry-run to never apply)

# Task-file format version. This wf reads version 1.
wf: 1
# The workflow's name: lowercase letters, digits and single dashes.
name: @NAME@
# This recipe's own version (semver), recorded with every run.
version: 0.1.0
# One line on what the workflow does.
description: Describe what this workflow does in one line.

# Values given with `wf run FILE -i KEY=VALUE`, used in templates as
# {{ inputs.KEY }}. Types: string, integer, number, boolean, path, enum
# (with `values: [...]`). An input without a default is required.
inputs:
  target:
    type: path
    default: src
    description: The directory the task works on.

# Which model runs the task.
#   anthropic: needs ANTHROPIC_API_KEY
#   openai:    OPENAI_API_KEY; any compatible server via OPENAI_BASE_URL
#   script:    recorded turns, offline (`script: turns.yaml`, next to this file)
model:
  provider: anthropic
  name: claude-sonnet-4-5
  max_tokens: 8192           # cap on each answer's output tokens
  # temperature: 0.2         # 0 to 2; default: the provider's
  # cache: true              # serve repeated requests from ~/.cache/wf
  # max_attempts: 4          # attempts per request, retries included
  # price: { input: 3, output: 15, cache_write: 3.75, cache_read: 0.3 }  # USD per million tokens

# Files put in front of the model before its first turn. `include` is
# templated; a directory that does not exist matches nothing.
context:
  include: ["{{ inputs.target }}/**"]
  exclude: []
  max_tokens: 60000          # budget, estimated as bytes / 4; over it is an error

# Rules given to the model verbatim in its instructions. Templated.
constraints:
  - Change only files under {{ inputs.target }}.

# The tools the model may call: read_file, list_files, search (read-only),
# edit_file, write_file, and shell (needs permissions.shell).
tools: [read_file, list_files, search, edit_file, write_file]

# What the tools may touch, enforced by wf on every call. Globs, templated.
permissions:
  read: ["**"]                         # default: everything
  write: ["{{ inputs.target }}/**"]    # default: nothing
  protect: []                          # never writable; .git/ and .wf/ always are
  # To let the model run commands, add `shell` to `tools` and list them here.
  # Commands run without a shell; a final `*` allows any further arguments.
  # shell:
  #   allow: ["cargo check", "cargo test *"]
  #   timeout: 2m                      # per command

# The task. Templated. Instead of `prompt`, a file can have `steps:` (agent,
# command and recipe steps) or run a shared recipe as a whole, pinned with
# `wf lock`:
#   uses: git+https://example.com/org/recipes.git//migrate-config.yaml@v1.2.0
#   with: { source: config/app.ini }
prompt: |
  Describe the task for the model here. It works on {{ inputs.target }}.

# Commands that must pass once the model says it is done (run with `sh -c`
# in the run's workspace, in order). Failures go back to the model.
checks: []
#  - name: tests
#    run: cargo test --quiet
#    timeout: 10m

# Where a human approves.
checkpoints:
  plan: false                # the model states a plan first, approved before any edit
  apply: true                # the final diff is approved before it touches your tree

# Bounds on the run; reaching one ends it.
limits:
  max_turns: 40              # model requests in the whole run
  max_repairs: 3             # rounds of "checks failed, fix it"
  timeout: 30m               # wall clock for the whole run
  # max_cost_usd: 2.00       # spending cap in US dollars
  # max_tool_calls_per_turn: 32   # tool calls run per model answer
  # max_write_bytes: 67108864     # bytes the file tools may write in the run

# Commands (checks, shell calls) run confined: only the workspace is
# writable, no network, no view of your home or other processes.
# sandbox: { network: true, read: ["~/.m2"] }   # grant more; `off` runs unconfined
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_task_name_rule() {
        for good in ["my-workflow", "a", "x1-2y", "migrate-config"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "-a", "a-", "a--b", "A", "a_b", "a b", &"a".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn relative_paths_climb_then_descend() {
        let rel =
            |a: &str, b: &str| crate::sys::paths::between(Path::new(a), Path::new(b)).unwrap();
        assert_eq!(
            rel("/r/workflows", "/r/schemas/workflow.schema.json"),
            "../schemas/workflow.schema.json"
        );
        assert_eq!(
            rel("/r/a/b/c", "/r/schemas/workflow.schema.json"),
            "../../../schemas/workflow.schema.json"
        );
        assert_eq!(
            rel("/r", "/r/schemas/workflow.schema.json"),
            "schemas/workflow.schema.json"
        );
    }

    #[test]
    fn the_skeleton_loads() {
        let text = skeleton("my-workflow", "../schemas/workflow.schema.json");
        let loaded = crate::spec::load_bytes(Path::new("x.yaml"), text.as_bytes());
        assert!(loaded.is_ok(), "{:?}", loaded.err());
    }
}
