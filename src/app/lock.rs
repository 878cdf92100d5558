//! `wf lock`: one `wf.lock` per directory of task files that use recipes.
//!
//! The algorithm, in [`merge`], is a pure function from the old lock and
//! the pins the directory's task files use now to the new lock and its
//! changes: a pin in use replaces the old one of the same reference; an old
//! pin no task file uses any more is dropped only when every task file of
//! the directory was walked and loaded (`wf lock dir/`), and kept when only
//! some were named (`wf lock dir/a.yaml`) or one failed to load — so locking
//! one file never loses the pins of the others.
//!
//! MCP servers are pinned the same way, by package (or, for a local
//! program, command): `wf lock` starts each server the task files declare
//! (confined, as `wf plan` does), lists its tools and pins the SHA-256 of
//! each allowlisted definition. A server whose pinned definitions changed
//! is refused, as by `wf run`, unless `--update` selects it (by server name
//! or package). Tools are merged like pins: a partial lock keeps the pinned
//! tools of task files it did not look at.

use crate::error::Error;
use crate::recipes::lock::McpPin;
use crate::recipes::{Lock, Mode, Pin, Resolver};
use crate::spec::{LoadedSpec, SpecError};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One change to a lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A reference pinned for the first time.
    Pinned(Pin),
    /// A reference whose pin moved (`--update`).
    Moved {
        /// The old pin.
        was: Pin,
        /// The new pin.
        now: Pin,
    },
    /// A reference no task file uses any more.
    Dropped(Pin),
    /// An MCP server's package pinned for the first time.
    McpPinned(McpPin),
    /// An MCP server's pinned tools changed (`--update`, or the allowlist
    /// changed).
    McpMoved {
        /// The old pin.
        was: McpPin,
        /// The new pin.
        now: McpPin,
    },
    /// An MCP package no task file uses any more.
    McpDropped(McpPin),
}

/// The new lock and what changed, from the `old` lock, the pins `used`
/// now (by reference) and the MCP pins `mcp` used now (by package).
/// `complete`: every task file of the directory was walked and loaded, so
/// pins nobody uses can go. An MCP pin in use replaces the old tools of
/// the same name; the old pin's other tools stay unless `complete`.
pub fn merge(
    old: &Lock,
    used: &BTreeMap<String, Pin>,
    mcp: &BTreeMap<String, McpPin>,
    complete: bool,
) -> (Lock, Vec<Change>) {
    let kept = old
        .pins()
        .filter(|p| !complete && !used.contains_key(&p.uses))
        .cloned()
        .collect::<Vec<_>>();
    let new = Lock::from_pins(kept.into_iter().chain(used.values().cloned()));
    let mut changes = Vec::new();
    for pin in new.pins() {
        match old.get(&pin.uses) {
            None => changes.push(Change::Pinned(pin.clone())),
            Some(was) if was != pin => changes.push(Change::Moved {
                was: was.clone(),
                now: pin.clone(),
            }),
            Some(_) => {}
        }
    }
    for pin in old.pins() {
        if new.get(&pin.uses).is_none() {
            changes.push(Change::Dropped(pin.clone()));
        }
    }
    let mut pins: BTreeMap<String, McpPin> = if complete {
        BTreeMap::new()
    } else {
        old.mcp_pins().clone()
    };
    for (package, pin) in mcp {
        let entry = pins.entry(package.clone()).or_insert_with(|| McpPin {
            package: package.clone(),
            tools: BTreeMap::new(),
        });
        entry.tools.extend(pin.tools.clone());
    }
    for pin in pins.values() {
        match old.mcp(&pin.package) {
            None => changes.push(Change::McpPinned(pin.clone())),
            Some(was) if was != pin => changes.push(Change::McpMoved {
                was: was.clone(),
                now: pin.clone(),
            }),
            Some(_) => {}
        }
    }
    for pin in old.mcp_pins().values() {
        if !pins.contains_key(&pin.package) {
            changes.push(Change::McpDropped(pin.clone()));
        }
    }
    (new.with_mcp(pins.into_values()), changes)
}

/// What happened to one lock file.
#[derive(Debug, Clone)]
pub struct LockFile {
    /// Its path.
    pub path: PathBuf,
    /// What changed.
    pub changes: Vec<Change>,
    /// Whether it was written (else it was up to date).
    pub written: bool,
}

/// What `wf lock` did.
#[derive(Debug)]
pub struct Report {
    /// Each lock file considered, in directory order.
    pub files: Vec<LockFile>,
    /// Task files that do not load (nothing of their directory is dropped).
    pub errors: Vec<SpecError>,
    /// No task file uses a recipe.
    pub nothing_to_lock: bool,
    /// How what was typed was read (`--update PATH`).
    pub notes: Vec<String>,
}

/// `--update NAME` where NAME is a task file or directory, not a pin's
/// reference or a recipe name: `wf lock --update workflows/review.yaml`
/// means "move the pins of that file". A recipe name has no `/` and no
/// `.yaml`; a local reference starts with `./` or `../`, a git one with
/// `git+`: those stay names.
fn update_path(name: &str) -> Option<PathBuf> {
    let looks_like_path = name.contains('/') || name.ends_with(".yaml") || name.ends_with(".yml");
    let reference = ["./", "../", "git+"].iter().any(|p| name.starts_with(p));
    let path = PathBuf::from(name);
    (looks_like_path && !reference && path.exists()).then_some(path)
}

/// Locks the task files named by `paths` (a directory means every task file
/// under it). `update`: `None` keeps pins; `Some(None)` moves every pin;
/// `Some(Some(name))` moves the pins of that reference or recipe name.
pub fn lock(paths: &[PathBuf], update: Option<Option<String>>) -> Result<Report, Error> {
    let mut notes = Vec::new();
    let mut paths = paths.to_vec();
    let mut update = update;
    if let Some(Some(name)) = &update
        && let Some(path) = update_path(name)
    {
        notes.push(format!(
            "`{name}` is a path, not a pin's reference or recipe name: moving every pin it uses"
        ));
        paths.push(path);
        update = Some(None);
    }
    let files = crate::app::validate::task_files(&paths);
    let dir_of = |file: &Path| {
        let dir = crate::spec::dir_of(file);
        dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
    };
    let mut by_dir: BTreeMap<PathBuf, Vec<LoadedSpec>> = BTreeMap::new();
    let mut walked = BTreeSet::new();
    let mut partial = BTreeSet::new();
    let mut errors = Vec::new();
    for (file, from_walk) in &files {
        let dir = dir_of(file);
        if *from_walk {
            walked.insert(dir.clone());
        } else {
            partial.insert(dir.clone());
        }
        match crate::spec::load(file) {
            Ok(loaded) => {
                let entry = by_dir.entry(dir).or_default();
                if loaded.spec.uses_recipes() || declares_mcp(&loaded.spec) {
                    entry.push(loaded);
                }
            }
            Err(e) => {
                partial.insert(dir);
                errors.push(e);
            }
        }
    }
    let root = crate::app::repo_root()?;
    let mut matched = false;
    let mut report = Report {
        files: Vec::new(),
        nothing_to_lock: by_dir.values().all(Vec::is_empty) && errors.is_empty(),
        errors,
        notes,
    };
    for (dir, tasks) in &by_dir {
        let lock_path = dir.join(crate::recipes::lock::FILE_NAME);
        if tasks.is_empty() && !lock_path.exists() {
            continue;
        }
        let mut resolver = Resolver::new(
            dir,
            Mode::Lock {
                update: update.clone(),
            },
        )?;
        let mut recipes = Vec::new();
        for task in tasks {
            recipes.push(crate::recipes::find_all(task, &mut resolver).map_err(|e| {
                Error::Plan(crate::plan::PlanError::Recipe(format!(
                    "{}: {e}",
                    task.path.display()
                )))
            })?);
        }
        matched |= resolver.update_matched;
        let old = resolver.lock().clone();
        let lock_path = resolver.lock_path();
        let mut mcp = BTreeMap::new();
        for (task, recipes) in tasks.iter().zip(&recipes) {
            matched |= pin_servers(task, recipes, &root, &old, &lock_path, &update, &mut mcp)?;
        }
        let complete = walked.contains(dir) && !partial.contains(dir);
        let (new, changes) = merge(&old, &resolver.used, &mcp, complete);
        let written = new != old || !lock_path.exists();
        if written {
            write_atomic(&lock_path, new.render().as_bytes())
                .map_err(|e| Error::io(format!("cannot write {}", lock_path.display()), e))?;
        }
        report.files.push(LockFile {
            path: lock_path,
            changes,
            written,
        });
    }
    if let Some(Some(name)) = &update
        && !matched
    {
        let hint = if Path::new(name).exists() {
            format!("; to move every pin a task file uses: `wf lock {name} --update`")
        } else {
            "; the references are the `uses:` values, as in wf.lock".to_string()
        };
        return Err(Error::Usage(format!(
            "--update {name}: no pin has that reference or recipe name{hint}"
        )));
    }
    Ok(report)
}

/// Whether a task file declares MCP servers (top level or in a step).
fn declares_mcp(spec: &crate::spec::Spec) -> bool {
    !spec.mcp.is_empty() || spec.steps.iter().any(|s| s.mcp.is_some())
}

/// Lists the MCP servers `task` and the `recipes` it uses declare
/// (starting them confined, as `wf plan` does) and adds their pins to
/// `mcp`, by package. A recipe's server under a name the task declares
/// must be the task's server (a recipe never replaces it); any other runs,
/// as in a run, without variables of wf's environment. A server is held
/// to its pin in `old` unless `update` selects it (all, or by server name
/// or package); returns whether `--update NAME` named one of them.
#[allow(clippy::too_many_arguments)]
fn pin_servers(
    task: &LoadedSpec,
    recipes: &[LoadedSpec],
    root: &Path,
    old: &Lock,
    lock_path: &Path,
    update: &Option<Option<String>>,
    mcp: &mut BTreeMap<String, McpPin>,
) -> Result<bool, Error> {
    let usage = |e: crate::mcp::McpError| Error::Usage(format!("{}: {e}", task.path.display()));
    let mut servers = crate::mcp::declared(&task.spec).map_err(usage)?;
    let mut from_recipes: BTreeMap<String, crate::spec::McpServer> = BTreeMap::new();
    for recipe in recipes {
        for (name, server) in crate::mcp::declared(&recipe.spec).map_err(usage)? {
            if let Some(theirs) = servers.get(&name) {
                if !server.same_server(theirs) {
                    return Err(Error::Usage(format!(
                        "{}: recipe `{}` declares MCP server `{name}`, which the task file declares \
                         as another server; a recipe never replaces its caller's server",
                        task.path.display(),
                        recipe.spec.name
                    )));
                }
                continue;
            }
            let server = crate::spec::McpServer {
                env: Vec::new(),
                headers: BTreeMap::new(),
                ..server
            };
            match from_recipes.get(&name) {
                Some(other) if *other != server => {
                    return Err(usage(crate::mcp::McpError::Conflict(name)));
                }
                _ => {
                    from_recipes.insert(name, server);
                }
            }
        }
    }
    servers.extend(from_recipes);
    if servers.is_empty() {
        return Ok(false);
    }
    // Local servers start confined, as in a run; remote ones are not
    // started. A sandbox wider than the default is theirs only once the
    // user approved it for this task file here (see `app::trust`): until
    // then they list in the default one.
    let sandbox = if crate::app::trust::any_remembered(root, &task.source) {
        task.spec.sandbox.clone()
    } else {
        crate::spec::Sandbox::default()
    };
    if servers.values().any(|s| s.url.is_none()) {
        crate::app::run::require_sandbox(&sandbox)?;
    }
    let mut matched = false;
    let mut held = old.mcp_pins().clone();
    for (name, server) in &servers {
        let Ok(package) = server.package() else {
            continue; // listing names the problem
        };
        let selected = match update {
            Some(None) => true,
            Some(Some(wanted)) => *wanted == *name || *wanted == package,
            None => false,
        };
        if selected {
            held.remove(&package);
            matched |= update.as_ref().is_some_and(Option::is_some);
        }
    }
    let pins = crate::mcp::Pins {
        path: lock_path,
        pins: &held,
        required: Default::default(),
    };
    let listed = crate::mcp::list_servers(&servers, &sandbox, root, &pins).map_err(usage)?;
    for listing in listed.listings.values() {
        let pin = crate::mcp::pin_of(listing);
        mcp.entry(pin.package.clone())
            .or_insert_with(|| McpPin {
                package: pin.package.clone(),
                tools: BTreeMap::new(),
            })
            .tools
            .extend(pin.tools);
    }
    Ok(matched)
}

/// Writes `path` whole or not at all (a temporary file renamed over it).
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    // A committed file, readable like any other (not the temp file's 0600).
    tmp.as_file()
        .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(uses: &str, sha: &str) -> Pin {
        Pin {
            uses: uses.into(),
            name: format!("name-of-{uses}"),
            commit: None,
            sha256: sha.into(),
        }
    }

    fn used(pins: &[Pin]) -> BTreeMap<String, Pin> {
        pins.iter().map(|p| (p.uses.clone(), p.clone())).collect()
    }

    fn none() -> BTreeMap<String, McpPin> {
        BTreeMap::new()
    }

    fn mcp(package: &str, tools: &[(&str, &str)]) -> McpPin {
        McpPin {
            package: package.into(),
            tools: tools
                .iter()
                .map(|(t, s)| (t.to_string(), s.to_string()))
                .collect(),
        }
    }

    fn by_package(pins: &[McpPin]) -> BTreeMap<String, McpPin> {
        pins.iter()
            .map(|p| (p.package.clone(), p.clone()))
            .collect()
    }

    #[test]
    fn mcp_pins_are_added_moved_and_dropped_like_recipes() {
        let (new, changes) = merge(
            &Lock::default(),
            &BTreeMap::new(),
            &by_package(&[mcp("srv@1.0.0", &[("echo", "1")])]),
            true,
        );
        assert_eq!(
            new.mcp("srv@1.0.0"),
            Some(&mcp("srv@1.0.0", &[("echo", "1")]))
        );
        assert_eq!(
            changes,
            vec![Change::McpPinned(mcp("srv@1.0.0", &[("echo", "1")]))]
        );
        // The definition changed and was accepted (`--update`).
        let (moved, changes) = merge(
            &new,
            &BTreeMap::new(),
            &by_package(&[mcp("srv@1.0.0", &[("echo", "2")])]),
            true,
        );
        assert_eq!(moved.mcp("srv@1.0.0").unwrap().tools["echo"], "2");
        assert!(matches!(changes[..], [Change::McpMoved { .. }]));
        // Unchanged: nothing to report.
        let (same, changes) = merge(
            &moved,
            &BTreeMap::new(),
            &by_package(&[mcp("srv@1.0.0", &[("echo", "2")])]),
            true,
        );
        assert_eq!(same, moved);
        assert!(changes.is_empty());
        // No task file uses it any more.
        let (gone, changes) = merge(&moved, &BTreeMap::new(), &none(), true);
        assert!(gone.mcp("srv@1.0.0").is_none());
        assert!(matches!(changes[..], [Change::McpDropped(_)]));
    }

    #[test]
    fn a_partial_lock_keeps_the_tools_of_the_other_task_files() {
        let old = Lock::default().with_mcp([
            mcp("srv@1.0.0", &[("echo", "1"), ("read", "1")]),
            mcp("other@1.0.0", &[("x", "1")]),
        ]);
        let now = by_package(&[mcp("srv@1.0.0", &[("echo", "1")])]);
        let (partial, changes) = merge(&old, &BTreeMap::new(), &now, false);
        assert_eq!(partial, old, "a partial lock dropped something");
        assert!(changes.is_empty());
        let (complete, changes) = merge(&old, &BTreeMap::new(), &now, true);
        assert_eq!(
            complete.mcp("srv@1.0.0"),
            Some(&mcp("srv@1.0.0", &[("echo", "1")]))
        );
        assert!(complete.mcp("other@1.0.0").is_none());
        assert_eq!(changes.len(), 2);
    }

    #[test]
    fn new_pins_are_added_and_reported() {
        let (new, changes) = merge(
            &Lock::default(),
            &used(&[pin("./a.yaml", "1")]),
            &none(),
            true,
        );
        assert_eq!(new.get("./a.yaml"), Some(&pin("./a.yaml", "1")));
        assert_eq!(changes, vec![Change::Pinned(pin("./a.yaml", "1"))]);
    }

    #[test]
    fn a_moved_pin_names_both_versions() {
        let old = Lock::from_pins([pin("./a.yaml", "1")]);
        let (new, changes) = merge(&old, &used(&[pin("./a.yaml", "2")]), &none(), true);
        assert_eq!(new.get("./a.yaml").unwrap().sha256, "2");
        assert_eq!(
            changes,
            vec![Change::Moved {
                was: pin("./a.yaml", "1"),
                now: pin("./a.yaml", "2")
            }]
        );
    }

    #[test]
    fn unused_pins_go_only_when_the_directory_was_complete() {
        let old = Lock::from_pins([pin("./a.yaml", "1"), pin("./b.yaml", "1")]);
        let now = used(&[pin("./a.yaml", "1")]);
        let (partial, changes) = merge(&old, &now, &none(), false);
        assert!(
            partial.get("./b.yaml").is_some(),
            "a partial lock dropped a pin"
        );
        assert!(changes.is_empty());
        let (complete, changes) = merge(&old, &now, &none(), true);
        assert!(complete.get("./b.yaml").is_none());
        assert_eq!(changes, vec![Change::Dropped(pin("./b.yaml", "1"))]);
    }

    #[test]
    fn an_unchanged_lock_reports_nothing() {
        let old = Lock::from_pins([pin("./a.yaml", "1")]);
        let (new, changes) = merge(&old, &used(&[pin("./a.yaml", "1")]), &none(), true);
        assert_eq!(new, old);
        assert!(changes.is_empty());
    }
}
