//! `wf report`: a run's report as one HTML file (or Markdown for a CI job
//! summary), or an index of a folder of runs.
//!
//! What a report shows is read from the run folder (the trace, verified;
//! `diff.patch`) and, for the permissions in effect, from the task file when
//! it is still the one the run ran (same spec hash). The views are
//! [`crate::report::html`] and [`crate::report::markdown`]; this file finds
//! the runs, reads them, and writes the files. Secrets are the values of
//! wf's environment variables named like credentials, plus key shapes
//! ([`crate::secrets`]).
//!
//! A folder of runs is any folder whose subfolders hold a `trace.jsonl`
//! (`.wf/runs`, or a CI artifact of several runs): each run's report is
//! written into its own folder and the index links them.

use crate::error::Error;
use crate::record::store::{RunDir, RunLock, Store};
use crate::report::run::{IndexEntry, RunReport};
use crate::secrets::Secrets;
use std::path::{Path, PathBuf};

/// Which kind of report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One self-contained HTML page.
    Html,
    /// Markdown of at most 1 MiB (a CI job summary).
    Markdown,
}

impl Format {
    /// The file a run's report is written to, in its folder.
    pub fn run_file(self) -> &'static str {
        match self {
            Format::Html => "report.html",
            Format::Markdown => "report.md",
        }
    }

    /// The file an index is written to, in the folder of runs.
    pub fn index_file(self) -> &'static str {
        match self {
            Format::Html => "index.html",
            Format::Markdown => "index.md",
        }
    }
}

/// Where the report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Beside the run (`report.html`), or in the folder of runs (`index.html`).
    Default,
    /// Nowhere: [`Made::text`] is for the caller to print.
    Stdout,
    /// This file.
    File(PathBuf),
}

/// A report made.
#[derive(Debug, Clone)]
pub struct Made {
    /// The report (the index, for a folder of runs).
    pub text: String,
    /// Where it was written; `None` for [`Output::Stdout`].
    pub written: Option<PathBuf>,
    /// For a folder of runs: how many runs it lists (each run's own report
    /// written beside its trace); `None` for one run.
    pub indexed: Option<usize>,
}

/// Makes the report of `target`: a run id, an unambiguous prefix of one,
/// `last`, a run folder, or a folder of run folders.
pub fn report(target: &str, format: Format, output: &Output) -> Result<Made, Error> {
    let cwd = crate::app::current_dir()?;
    let root = crate::sys::git::repo_root(&cwd);
    let secrets = Secrets::from_vars(
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
    );
    let path = cwd.join(target);
    if path.is_dir() && !path.join("trace.jsonl").is_file() {
        return index(&path, format, output, &secrets, &root, &cwd);
    }
    let dir = if path.is_dir() {
        let id = path
            .canonicalize()
            .unwrap_or(path.clone())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        RunDir { id, path }
    } else {
        Store::open(&root).and_then(|s| s.resolve(target))?
    };
    let run = read_run(&dir, &root, &cwd).map_err(Error::Failed)?;
    let text = render(&run, format, &secrets);
    let written = match output {
        Output::Stdout => None,
        Output::Default => Some(dir.path.join(format.run_file())),
        Output::File(file) => Some(cwd.join(file)),
    };
    if let Some(file) = &written {
        write(file, &text)?;
    }
    Ok(Made {
        text,
        written,
        indexed: None,
    })
}

fn render(run: &RunReport, format: Format, secrets: &Secrets) -> String {
    match format {
        Format::Html => crate::report::html::run(run, secrets),
        Format::Markdown => crate::report::markdown::run(run, secrets),
    }
}

fn write(file: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(file, text).map_err(|e| Error::io(format!("cannot write {}", file.display()), e))
}

/// The index of the runs in `folder`, each run's report written beside its
/// trace, newest (highest id) first.
fn index(
    folder: &Path,
    format: Format,
    output: &Output,
    secrets: &Secrets,
    root: &Path,
    cwd: &Path,
) -> Result<Made, Error> {
    let entries = std::fs::read_dir(folder)
        .map_err(|e| Error::io(format!("cannot read {}", folder.display()), e))?;
    let mut dirs: Vec<RunDir> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("trace.jsonl").is_file())
        .filter_map(|e| {
            Some(RunDir {
                id: e.file_name().into_string().ok()?,
                path: e.path(),
            })
        })
        .collect();
    if dirs.is_empty() {
        return Err(Error::Usage(format!(
            "{} holds no run folder (a folder with a trace.jsonl) and is not one",
            folder.display()
        )));
    }
    dirs.sort_by(|a, b| b.id.cmp(&a.id));
    let written = match output {
        Output::Stdout => None,
        Output::Default => Some(folder.join(format.index_file())),
        Output::File(file) => Some(cwd.join(file)),
    };
    // Links are relative when the index sits in the folder, else absolute.
    let folder_real = folder.canonicalize().unwrap_or(folder.to_path_buf());
    let relative = written.as_ref().is_some_and(|w| {
        w.parent()
            .and_then(|p| p.canonicalize().ok())
            .is_some_and(|p| p == folder_real)
    });
    let mut listed = Vec::new();
    for dir in &dirs {
        let report_file = dir.path.join(format.run_file());
        let link = if relative {
            format!("{}/{}", dir.id, format.run_file())
        } else {
            folder_real
                .join(&dir.id)
                .join(format.run_file())
                .to_string_lossy()
                .into_owned()
        };
        let link = crate::report::html::href(&link);
        match read_run(dir, root, cwd) {
            Ok(run) => {
                write(&report_file, &render(&run, format, secrets))?;
                let redacted = run.redacted(secrets);
                listed.push(IndexEntry {
                    id: dir.id.clone(),
                    summary: redacted.summary,
                    problem: redacted
                        .verified
                        .err()
                        .map(|why| format!("fails verification at {why}")),
                    link,
                });
            }
            Err(why) => listed.push(IndexEntry {
                id: dir.id.clone(),
                summary: crate::record::summary::Summary {
                    run_id: dir.id.clone(),
                    status: "unknown".into(),
                    ..Default::default()
                },
                problem: Some(why),
                link: crate::report::html::href(&dir.trace().to_string_lossy()),
            }),
        }
    }
    let shown = folder.strip_prefix(cwd).unwrap_or(folder);
    let title = format!("wf runs in {}", shown.display());
    let text = match format {
        Format::Html => crate::report::html::index(&title, &listed, secrets),
        Format::Markdown => crate::report::markdown::index(&title, &listed, secrets),
    };
    if let Some(file) = &written {
        write(file, &text)?;
    }
    Ok(Made {
        text,
        written,
        indexed: Some(listed.len()),
    })
}

/// A run folder, read: the trace (and whether it verifies), the patch, and
/// the task's settings when the task file is unchanged.
fn read_run(dir: &RunDir, root: &Path, cwd: &Path) -> Result<RunReport, String> {
    let trace = crate::record::trace::read(&dir.trace())
        .map_err(|e| format!("cannot read the trace of run {}: {e}", dir.id))?;
    let verified = crate::record::trace::verify_trace(&trace)
        .map_err(|(line, why)| format!("line {line}: {why}"));
    let patch = std::fs::read_to_string(dir.diff()).ok();
    let patch_path = dir.diff();
    let patch_path = patch_path.strip_prefix(cwd).unwrap_or(&patch_path);
    let task = task_settings(&trace.records, dir, root, cwd);
    Ok(RunReport {
        id: dir.id.clone(),
        live: RunLock::is_held(dir),
        patch,
        verified,
        torn_tail: trace.torn_tail.is_some(),
        task,
        patch_path: patch_path.display().to_string(),
        records: trace.records,
    })
}

/// Keys of the task file shown as the permissions in effect.
const TASK_KEYS: &[&str] = &[
    "tools",
    "permissions",
    "sandbox",
    "checks",
    "checkpoints",
    "limits",
    "steps",
];

/// The tools, permissions, sandbox, checks, checkpoints, limits and steps
/// of the task the run ran, read from its task file when that file still
/// hashes to the recorded spec hash.
fn task_settings(
    records: &[crate::record::event::Record],
    dir: &RunDir,
    root: &Path,
    cwd: &Path,
) -> Result<serde_json::Value, String> {
    use crate::record::event::Event;
    let Some((spec_path, spec_hash)) = records.iter().find_map(|r| match &r.event {
        Event::RunStarted {
            spec_path,
            spec_hash,
            ..
        } => Some((spec_path.as_str(), spec_hash.as_str())),
        _ => None,
    }) else {
        return Err("the trace has no header".into());
    };
    let found = [cwd.join(spec_path), root.join(spec_path)]
        .into_iter()
        .find(|p| p.is_file());
    // The trace is untrusted: read no file outside the repository for it;
    // a task file outside it is read from the copy the run folder kept,
    // trusted only when it matches the trace (see `plan::task_copy`).
    let real_root = root.canonicalize().unwrap_or(root.to_path_buf());
    let inside = found.as_ref().filter(|f| {
        f.canonicalize()
            .is_ok_and(|real| real.starts_with(&real_root))
    });
    let loaded = match inside {
        Some(file) => crate::spec::load(file)
            .map_err(|_| format!("the task file {spec_path} no longer loads"))?,
        None => match crate::app::replay::kept_task(spec_path, dir, records)? {
            Some((loaded, _)) => loaded,
            None if found.is_some() => {
                return Err(format!(
                    "the recorded task file {spec_path} is outside the repository and the run \
                     folder kept no copy of it"
                ));
            }
            None => return Err(format!("the task file {spec_path} no longer exists")),
        },
    };
    if loaded.hash != spec_hash {
        return Err(format!(
            "the task file {spec_path} changed since the run (its spec hash differs)"
        ));
    }
    let spec = serde_json::to_value(&loaded.spec).map_err(|e| e.to_string())?;
    let mut shown = serde_json::Map::new();
    for key in TASK_KEYS {
        if let Some(v) = spec.get(*key).filter(|v| !v.is_null()) {
            shown.insert((*key).to_string(), v.clone());
        }
    }
    Ok(serde_json::Value::Object(shown))
}
