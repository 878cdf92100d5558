//! `wf list`: the task files of the repository (its task folders, see
//! [`crate::app::find`]), each with the name to type, its `name:` and
//! `description:`, its inputs (required ones marked) and whether it
//! validates. Like `just --list`: what a team has, from anywhere in the
//! repository.
//!
//! The listing is sorted by name, then path, and names files by their path
//! from the repository root, so it reads the same from every folder. A
//! file that does not validate is listed with its first problem (`wf
//! validate` shows them all) and counts as a listing, not a failure: `wf
//! list` exits 0 whenever it could look.

use crate::app::find::{TaskDirs, TaskFile};
use crate::error::Error;
use crate::spec::SpecError;
use serde::Serialize;
use std::path::Path;

/// What `wf list` found.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    /// The task folders looked in, relative to the repository root.
    pub folders: Vec<String>,
    /// Whether the folders come from `wf.tasks` (else the default).
    pub configured: bool,
    /// The task files, sorted by name then path.
    pub tasks: Vec<Listed>,
}

/// One task file.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    /// The name `wf run` takes.
    pub name: String,
    /// The file, relative to the repository root.
    pub path: String,
    /// Its `name:`, when it can be read.
    pub task: Option<String>,
    /// Its `description:`, when it can be read.
    pub description: Option<String>,
    /// Its inputs, by name (only of a file that validates).
    pub inputs: Vec<Input>,
    /// Whether it validates.
    pub valid: bool,
    /// Its first problem, when it does not.
    pub error: Option<String>,
}

/// A declared input.
#[derive(Debug, Clone, Serialize)]
pub struct Input {
    /// Its name (`-i NAME=VALUE`).
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether a run needs it (it has no default).
    pub required: bool,
    /// Its default.
    pub default: Option<serde_json::Value>,
    /// What it is for.
    pub description: Option<String>,
}

/// The task files of the repository holding `cwd`.
pub fn list(cwd: &Path) -> Result<Listing, Error> {
    let dirs = TaskDirs::of(&crate::sys::git::repo_root(cwd))?;
    let tasks = dirs.files().iter().map(listed).collect();
    Ok(Listing {
        folders: dirs.dirs.clone(),
        configured: dirs.configured,
        tasks,
    })
}

fn listed(file: &TaskFile) -> Listed {
    match crate::spec::load(&file.path) {
        Ok(loaded) => Listed {
            name: file.name.clone(),
            path: file.rel.clone(),
            task: Some(loaded.spec.name.clone()),
            description: loaded.spec.description.clone(),
            inputs: loaded
                .spec
                .inputs
                .iter()
                .map(|(name, decl)| Input {
                    name: name.clone(),
                    kind: decl.kind.as_str().to_string(),
                    required: decl.default.is_none(),
                    default: decl.default.clone(),
                    description: decl.description.clone(),
                })
                .collect(),
            valid: true,
            error: None,
        },
        Err(e) => {
            // What can still be read of a file that does not validate.
            let node = std::fs::read_to_string(&file.path)
                .ok()
                .and_then(|text| crate::spec::yaml::parse(&text).ok());
            let text_of = |key: &str| {
                node.as_ref()
                    .and_then(|n| n.get(key))
                    .and_then(|(_, v)| v.to_json().as_str().map(str::to_string))
            };
            Listed {
                name: file.name.clone(),
                path: file.rel.clone(),
                task: text_of("name"),
                description: text_of("description"),
                inputs: Vec::new(),
                valid: false,
                error: Some(first_problem(&file.rel, &e)),
            }
        }
    }
}

/// One line for the first problem of a file: `path:line:col: message`.
fn first_problem(rel: &str, e: &SpecError) -> String {
    match e {
        SpecError::Invalid(d) => match d.diagnostics.first() {
            Some(first) => {
                let more = d.diagnostics.len() - 1;
                let more = if more == 0 {
                    String::new()
                } else {
                    format!(" (and {more} more)")
                };
                format!(
                    "{rel}:{}:{}: {}{more}",
                    first.span.start.line.max(1),
                    first.span.start.col.max(1),
                    first.message
                )
            }
            None => format!("{rel}: invalid"),
        },
        other => format!("{rel}: {}", other.to_string().lines().next().unwrap_or("")),
    }
}

/// The human listing: a header naming the folders, then a line a task
/// (name, description) and a line of its inputs, `*` marking required ones.
pub fn render(listing: &Listing) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let folders: Vec<String> = listing.folders.iter().map(|f| format!("{f}/")).collect();
    let n = listing.tasks.len();
    let _ = writeln!(
        o,
        "{n} task file{} in {}{}",
        if n == 1 { "" } else { "s" },
        folders.join(", "),
        if listing.configured {
            " (from wf.tasks)"
        } else {
            ""
        }
    );
    let width = listing
        .tasks
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(0);
    for t in &listing.tasks {
        let what = if let Some(e) = &t.error {
            format!("INVALID: {e}")
        } else {
            t.description.clone().unwrap_or_default()
        };
        let _ = writeln!(o, "  {:width$}  {}", t.name, what.trim_end());
        if !t.inputs.is_empty() {
            let inputs: Vec<String> = t
                .inputs
                .iter()
                .map(|i| {
                    let mark = if i.required { "*" } else { "" };
                    match &i.default {
                        Some(d) => {
                            let d = d
                                .as_str()
                                .filter(|s| !s.is_empty())
                                .map_or_else(|| d.to_string(), str::to_string);
                            format!("{}{mark} ({}, default {d})", i.name, i.kind)
                        }
                        None => format!("{}{mark} ({})", i.name, i.kind),
                    }
                })
                .collect();
            let _ = writeln!(o, "  {:width$}  inputs: {}", "", inputs.join(", "));
        }
    }
    if listing
        .tasks
        .iter()
        .any(|t| t.inputs.iter().any(|i| i.required))
    {
        let _ = writeln!(o, "* required: give it with -i NAME=VALUE");
    }
    o
}
