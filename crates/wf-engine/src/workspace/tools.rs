//! The project where it expects itself: toolchain directories linked into
//! the workspace, ignored lockfiles, editable installs.
//!
//! # The project where it expects itself
//!
//! Developers keep toolchain state ignored: a virtual environment whose
//! scripts, `pyvenv.cfg` and editable installs hold absolute paths of the
//! repository (`pip install -e .` of a src layout puts `$REPO/src` on
//! Python's path), `node_modules`, a lockfile a library does not commit.
//! A check must run the project's own tests with them, against the
//! workspace's code, never the user's tree, and without copying the
//! world. What wf does (decided, for every run, with no setting):
//!
//! - **Toolchain directories** ([`TOOL_DIRS`]: `.venv`, `venv`,
//!   `node_modules` at the root, when the user's tree has one the copy
//!   lacks, i.e. ignored) are linked, not copied:
//!   `<workspace>/<name>` → `<slot>.links/<name>` → the user's directory
//!   ([`link_tools`]). Commands may read them and never write them: at the
//!   full sandbox level the user's directory is bound read-only at
//!   `<slot>.links/<name>` in the command's view; without namespaces the
//!   link leads to the user's directory, which Landlock grants read-only.
//!   The links are out of the diff and survive `git clean` between
//!   rounds. A command may replace one (`npm ci` with the network): the
//!   directory it makes serves the rest of the run and is never part of
//!   the change; a link a command only took away (`npm install` removes it
//!   first, then fails without the network) is put back before the next
//!   command step and check round ([`Workspace::relink_tools`]). The next
//!   run starts with the link again. Installing into the user's `.venv`
//!   from a run is refused (read-only): a run changes the project, not
//!   the user's environment.
//! - **The repository's own path** (full level): the command's view shows
//!   the workspace at the user's repository path too (its `.git`
//!   read-only there as well), and a command starts there. Absolute
//!   paths baked into the venv, editable installs, caches and build
//!   scripts resolve to the workspace's copy; the user's own tree at that
//!   path is hidden. (Not when a root of the sandbox lies inside the
//!   repository or a write root holds it: then commands see the workspace
//!   at its own path; the user's tree is never a read root — an activated
//!   venv on `PATH` comes as a toolchain directory.)
//! - **Without namespaces** (the `landlock` level, and `sandbox: off`) no
//!   path can be remapped, so the one thing that needs it is fixed in the
//!   environment: the directories of the user's tree that the linked
//!   venv's editable installs put on Python's path (`.pth` lines,
//!   setuptools' finder mappings: [`editable_paths`]) are put first on
//!   `PYTHONPATH` as the workspace's own ([`Workspace::python_paths`]), so
//!   `import pkg` finds the workspace's code; the user's `src/` stays
//!   unreadable (Python skips a path entry it cannot list). Other absolute
//!   paths into the repository (a cache made there) are not remapped at
//!   this level: a command reading them is denied, and says so.
//! - **Ignored lockfiles** ([`LOCKFILES`] at the root) are part of the
//!   start as if they were not ignored: in the workspace, in
//!   `start.patch`, readable by the model, and a change to one (`cargo
//!   update`, `npm install`) is in the run's diff like any file, subject
//!   to `permissions.write`; applied, it changes the user's (still
//!   ignored) file. A build then resolves as the user's does, offline,
//!   instead of reaching for the registry.
//!
//! - **Ignored files the task names** (a path written without wildcards in
//!   a step's `context.include`, which the context sends even when git
//!   ignores it) are part of the start the same way: what the model was
//!   shown, its `read_file` finds and a check can read (a `.ignore`
//!   negation cannot bring a file git ignores into either; naming it
//!   does, in both). Regular files only, never under `.git/` or `.wf/`.
//!
//! The model's file tools cannot follow the toolchain links (they lead
//! outside the workspace).

use super::{Slot, Workspace, WorkspaceError, force_remove, io, private_dir};
use std::path::{Path, PathBuf};

impl Workspace {
    /// Puts back each link to a toolchain directory a command took away
    /// (`npm install` removes a link it finds in `node_modules`' place,
    /// also when it then fails for want of the network): the next command
    /// and the checks find the user's directory again. A directory a
    /// command made in its place (`npm ci` with the network) stays for the
    /// rest of the run; the next run starts with the link.
    pub fn relink_tools(&self) -> Result<(), WorkspaceError> {
        for tool in &self.tools {
            let link = self.dir.join(&tool.name);
            if link.symlink_metadata().is_err() {
                std::os::unix::fs::symlink(&tool.at, &link)
                    .map_err(io(format!("cannot link {} again", tool.name)))?;
            }
        }
        Ok(())
    }
}

/// Toolchain directories developers keep, ignored, at the root of a
/// project: linked into the workspace read-only (see "The project where it
/// expects itself").
pub const TOOL_DIRS: &[&str] = &[".venv", "node_modules", "venv"];

/// Lockfiles at the root of a project: one the user's ignore rules keep
/// out is part of the start all the same (see "The project where it
/// expects itself").
pub const LOCKFILES: &[&str] = &[
    "Cargo.lock",
    "Gemfile.lock",
    "Pipfile.lock",
    "composer.lock",
    "go.sum",
    "npm-shrinkwrap.json",
    "package-lock.json",
    "pdm.lock",
    "pnpm-lock.yaml",
    "poetry.lock",
    "uv.lock",
    "yarn.lock",
];

/// A toolchain directory of the user's tree the workspace links to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolLink {
    /// Its name at the root (`.venv`, `venv`, `node_modules`).
    pub name: String,
    /// Where the workspace's link leads: `<slot>.links/<name>`, itself a
    /// link to `source` on the host (the full sandbox level binds `source`
    /// there instead).
    pub at: PathBuf,
    /// The user's directory, canonical.
    pub source: PathBuf,
}

/// Links each toolchain directory of [`TOOL_DIRS`] the user's tree has and
/// the workspace lacks (it is ignored) into the workspace:
/// `<workspace>/<name>` → `<slot>.links/<name>` → the user's directory.
/// The links are kept out of the run's diff (the slot's `info/exclude`)
/// and out of `git clean` between rounds. A virtual environment's
/// editable installs that point into the user's tree give
/// [`Workspace::python_paths`].
pub(super) fn link_tools(origin: &Path, ws: &mut Workspace) -> Result<(), WorkspaceError> {
    let links = Slot::new(ws.dir.clone()).links;
    force_remove(&links)?;
    private_dir(&links)?;
    let mut excluded = String::new();
    for name in TOOL_DIRS {
        let Ok(source) = std::fs::canonicalize(origin.join(name)) else {
            continue;
        };
        let in_slot = ws.dir.join(name);
        // In the copy already: tracked, or not ignored.
        if !source.is_dir() || in_slot.symlink_metadata().is_ok() {
            continue;
        }
        let at = links.join(name);
        std::os::unix::fs::symlink(&source, &at)
            .and_then(|()| std::os::unix::fs::symlink(&at, &in_slot))
            .map_err(io(format!("cannot link {name} into the workspace")))?;
        excluded.push_str(&format!("/{name}\n"));
        ws.tools.push(ToolLink {
            name: name.to_string(),
            at,
            source,
        });
    }
    let info = super::git_dir(&ws.dir).join("info");
    std::fs::create_dir_all(&info).map_err(io("cannot write the workspace's excludes"))?;
    std::fs::write(info.join("exclude"), excluded)
        .map_err(io("cannot write the workspace's excludes"))?;
    let origin = std::fs::canonicalize(origin).unwrap_or_else(|_| origin.to_path_buf());
    for tool in &ws.tools {
        for path in editable_paths(&tool.source, &origin) {
            let mapped = ws.dir.join(path);
            if !ws.python_paths.contains(&mapped) {
                ws.python_paths.push(mapped);
            }
        }
    }
    Ok(())
}

/// The directories of the user's tree at `origin` (relative to it) that
/// the editable installs of the virtual environment `venv` put on Python's
/// path, in the order Python reads them: the absolute lines of its
/// `site-packages/*.pth` files (setuptools' lenient mode, hatchling, flit,
/// pdm, `setup.py develop`) and the package directories in setuptools'
/// `__editable__*_finder.py` mappings (their parents). Nothing when `venv`
/// is not a virtual environment.
pub fn editable_paths(venv: &Path, origin: &Path) -> Vec<PathBuf> {
    if !venv.join("pyvenv.cfg").is_file() {
        return Vec::new();
    }
    let mut site_packages: Vec<PathBuf> = ["lib", "lib64"]
        .iter()
        .filter_map(|lib| std::fs::read_dir(venv.join(lib)).ok())
        .flat_map(|dir| dir.flatten())
        .filter(|e| e.file_name().to_string_lossy().starts_with("python"))
        .map(|e| e.path().join("site-packages"))
        .filter(|p| p.is_dir())
        .collect();
    site_packages.sort();
    site_packages
        .dedup_by(|a, b| std::fs::canonicalize(&*a).ok() == std::fs::canonicalize(&*b).ok());
    let inside = |text: &str| -> Option<PathBuf> {
        let path = Path::new(text.trim());
        let rest = path.strip_prefix(origin).ok()?;
        (!rest
            .components()
            .any(|c| c == std::path::Component::ParentDir))
        .then(|| rest.to_path_buf())
    };
    let mut out: Vec<PathBuf> = Vec::new();
    for dir in site_packages {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        // Python reads `.pth` files in name order.
        names.sort();
        for name in names {
            let Ok(text) = std::fs::read_to_string(dir.join(&name)) else {
                continue;
            };
            let found: Vec<PathBuf> = if name.ends_with(".pth") {
                text.lines()
                    .filter(|l| !l.starts_with("import ") && !l.starts_with('#'))
                    .filter_map(inside)
                    .collect()
            } else if name.starts_with("__editable__") && name.ends_with("_finder.py") {
                quoted_paths(&text)
                    .iter()
                    .filter_map(|p| inside(p))
                    .map(|rest| {
                        let full = origin.join(&rest);
                        let package = full.join("__init__.py").is_file()
                            || rest.extension().is_some_and(|e| e == "py");
                        match (package, rest.parent()) {
                            (true, Some(parent)) => parent.to_path_buf(),
                            _ => rest,
                        }
                    })
                    .collect()
            } else {
                continue;
            };
            for path in found {
                if !out.contains(&path) {
                    out.push(path);
                }
            }
        }
    }
    out
}

/// The absolute paths in quotes in Python source (`'/repo/src/pkg'`).
fn quoted_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for quote in ['\'', '"'] {
        let mut parts = text.split(quote);
        parts.next();
        // Every other piece is inside quotes.
        for (i, piece) in parts.enumerate() {
            if i % 2 == 0 && piece.starts_with('/') && !piece.contains('\n') {
                out.push(piece.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::tests::write;

    #[test]
    fn editable_installs_of_a_venv_name_the_directories_they_put_on_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let origin = dir.path().join("repo");
        let site = origin.join(".venv/lib/python3.12/site-packages");
        write(&origin, ".venv/pyvenv.cfg", "home = /usr/bin\n");
        write(&origin, "src/pkg/__init__.py", "");
        write(&origin, "flat/mod_a/__init__.py", "");
        write(&origin, "flat/single.py", "");
        // setuptools' lenient mode, hatchling: a path line; `import` lines
        // and paths outside the repository are not the project's.
        write(
            &site,
            "__editable__.pkg-1.0.pth",
            &format!(
                "{}\nimport os\n/usr/lib/elsewhere\n{}/../escape\n",
                origin.join("src").display(),
                origin.display()
            ),
        );
        // setuptools' finder: package directories and single modules.
        write(
            &site,
            "__editable___flat_1_0_finder.py",
            &format!(
                "MAPPING: dict[str, str] = {{'mod_a': '{}', 'single': \"{}\"}}\nNAMESPACES = {{}}\n",
                origin.join("flat/mod_a").display(),
                origin.join("flat/single.py").display()
            ),
        );
        write(&site, "__editable___flat_1_0_finder.pyc.txt", "ignored\n");
        let paths = editable_paths(&origin.join(".venv"), &origin);
        assert_eq!(paths, vec![PathBuf::from("src"), PathBuf::from("flat")]);
        // Not a virtual environment: nothing.
        std::fs::remove_file(origin.join(".venv/pyvenv.cfg")).unwrap();
        assert!(editable_paths(&origin.join(".venv"), &origin).is_empty());
    }
}
