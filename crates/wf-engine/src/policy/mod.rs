//! The one permission decision: what the model may read, list, write and
//! run, checked before every tool call. The model is untrusted input: every
//! path and command it sends is checked here, every time. The same decision
//! serves the tools, the plan's display of caller bounds ([`shell`]'s
//! pattern grammar), and the check of what a recipe's command step changed.
//!
//! A path is first checked lexically (no absolute path, no `..`), then
//! resolved inside the workspace with symlinks followed: a path whose real
//! location is outside the workspace is denied. The resolved relative path
//! is then matched:
//!
//! - `.git/` and `.wf/` are never readable nor writable (checked on the
//!   path as sent and on its real path);
//! - reads must match `permissions.read` with the real path: a symlink
//!   is readable only when its target is (`list_files` and `search` show
//!   only files a read would allow, the same decision);
//! - writes must match `permissions.write` with the real path and not
//!   `permissions.protect` with either the path as sent or the real path
//!   (protect wins).
//!
//! The decision names a real path; the tools then open exactly that path
//! through [`Policy::dir`], a handle of the workspace that resolves every
//! path beneath it in one step with no symlink followed
//! ([`crate::sys::beneath`]). A link that appears on the path between the
//! check and the open makes the open fail; it is never followed. Listing
//! tools walk the tree through the same handle and decide each entry they
//! find with [`Policy::readable_real`]: a walk that never follows links
//! finds only real paths.
//!
//! A recipe run through `uses:` also has *bounds*: the permissions of each
//! caller up the chain. A path must then be allowed by the recipe's own
//! permissions and by every bound (reads and writes are intersected), and
//! is protected when any of them protects it (protect is a union).
//!
//! A `shell` command is split like a POSIX shell would (shell syntax is
//! refused, never interpreted), must match an allow pattern of every layer,
//! and may not name absolute or `..` paths in its arguments ([`shell`]).
//! That argument check is lexical: what a program does with an argument it
//! was allowed is for the sandbox to confine.

pub mod shell;

use crate::spec::Permissions;
use crate::sys::beneath::Root;
use globset::GlobSet;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Default timeout of one `shell` command.
pub const DEFAULT_SHELL_TIMEOUT: Duration = Duration::from_secs(120);

/// A refused call: the rule that refused it and a message for the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The rule: `escape`, `internal`, `read`, `write`, `protect`, `shell`, `phase`.
    pub rule: &'static str,
    /// Lowercase message naming what was refused and why.
    pub message: String,
}

/// The compiled permissions of a run.
#[derive(Debug, Clone)]
pub struct Policy {
    root: PathBuf,
    /// The workspace, opened once: every tool opens beneath it.
    dir: Arc<Root>,
    /// The permissions first, then each bound.
    layers: Vec<Layer>,
    /// The shell timeout: the tightest of the layers', a layer without one
    /// counting as the default.
    shell_timeout: Duration,
}

#[derive(Debug, Clone)]
struct Layer {
    read: GlobSet,
    write: GlobSet,
    /// `permissions.read` and `permissions.write` as written, for denials.
    read_patterns: Vec<String>,
    write_patterns: Vec<String>,
    protect: GlobSet,
    /// `permissions.shell.allow`, parsed.
    shell: Vec<Vec<shell::PatternWord>>,
}

/// Which kind of access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reading or listing.
    Read,
    /// Creating, changing or deleting.
    Write,
    /// Walking a directory: the directory itself needs no `read` match;
    /// each file listed is filtered with [`Policy::readable`].
    List,
}

/// Why permissions do not compile. The task file's validation refuses
/// both before a run; a plan made otherwise (a recipe's caller bounds, a
/// resumed run's recorded task) meets them here.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A glob of `permissions.read`, `.write` or `.protect`.
    #[error("permissions.{list} glob `{glob}`: {message}")]
    Glob {
        /// Which list (`read`, `write`, `protect`).
        list: &'static str,
        /// The glob as written.
        glob: String,
        /// Why it does not compile.
        message: String,
    },
    /// A pattern of `permissions.shell.allow`.
    #[error("{0}")]
    ShellPattern(String),
    /// The workspace the rules are for cannot be opened.
    #[error("workspace: {0}")]
    Workspace(std::io::Error),
}

impl Policy {
    /// Compiles `permissions`, bounded by `bounds`, for the workspace at `root`.
    pub fn new(
        root: &Path,
        permissions: &Permissions,
        bounds: &[Permissions],
    ) -> Result<Policy, PolicyError> {
        let set = |list: &[String], what: &'static str| {
            crate::glob::compile_set(list).map_err(|(i, message)| PolicyError::Glob {
                list: what,
                glob: list[i].clone(),
                message,
            })
        };
        let layers = std::iter::once(permissions)
            .chain(bounds)
            .map(|p| {
                Ok(Layer {
                    read: set(&p.read, "read")?,
                    write: set(&p.write, "write")?,
                    read_patterns: p.read.clone(),
                    write_patterns: p.write.clone(),
                    protect: set(&p.protect, "protect")?,
                    shell: match &p.shell {
                        Some(s) => s
                            .allow
                            .iter()
                            .map(|p| shell::parse_pattern(p).map_err(PolicyError::ShellPattern))
                            .collect::<Result<Vec<_>, _>>()?,
                        None => Vec::new(),
                    },
                })
            })
            .collect::<Result<Vec<_>, PolicyError>>()?;
        let shell_timeout = std::iter::once(permissions)
            .chain(bounds)
            .map(|p| {
                p.shell
                    .as_ref()
                    .and_then(|s| s.timeout)
                    .map_or(DEFAULT_SHELL_TIMEOUT, |t| t.0)
            })
            .min()
            .unwrap_or(DEFAULT_SHELL_TIMEOUT);
        let root = root.canonicalize().map_err(PolicyError::Workspace)?;
        let dir = Root::open(&root).map_err(PolicyError::Workspace)?;
        Ok(Policy {
            root,
            dir: Arc::new(dir),
            layers,
            shell_timeout,
        })
    }

    /// Decides a `shell` command line: its argument vector when every layer
    /// allows it. Shell syntax, a command no allow pattern of some layer
    /// matches, and arguments that name places outside the workspace are
    /// refused.
    pub fn exec(&self, command: &str) -> Result<Vec<String>, Denial> {
        let deny = |why: String| Denial {
            rule: "shell",
            message: format!("shell `{command}` denied: {why}"),
        };
        let argv = shell::split_command(command).map_err(deny)?;
        if argv.is_empty() {
            return Ok(argv);
        }
        for (i, layer) in self.layers.iter().enumerate() {
            if !layer.shell.iter().any(|p| shell::matches(p, &argv)) {
                return Err(deny(why("not matched by permissions.shell.allow", i)));
            }
        }
        shell::check_arguments(&argv).map_err(deny)?;
        Ok(argv)
    }

    /// How long one `shell` command may run.
    pub fn shell_timeout(&self) -> Duration {
        self.shell_timeout
    }

    /// The workspace root (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The workspace as a handle that opens paths beneath it without
    /// following links: how a tool opens the real path [`Policy::check`]
    /// decided on.
    pub fn dir(&self) -> &Root {
        &self.dir
    }

    /// Resolves `path` as the model sent it and checks `access`. On success,
    /// the absolute path to use and the normalized relative path.
    pub fn check(&self, path: &str, access: Access) -> Result<(PathBuf, String), Denial> {
        let verb = match access {
            Access::Read | Access::List => "read of",
            Access::Write => "write to",
        };
        let deny = |rule, why: &str| Denial {
            rule,
            message: format!("{verb} {path} denied: {why}"),
        };
        crate::sys::paths::check_relative(path)
            .map_err(|why| deny("escape", &format!("the path {why}")))?;
        let rel = normalize(path);
        let resolved = self
            .resolve(&rel)
            .ok_or_else(|| deny("escape", "it leads outside the workspace through a symlink"))?;
        // A real path that is not UTF-8 cannot be matched (nor opened by
        // the tools): refused, never taken for the root.
        let real_rel = match crate::sys::paths::relative(&self.root, &resolved) {
            Some(real) => real,
            None if resolved == self.root => String::new(),
            None => return Err(deny("escape", "its real path is not UTF-8 text")),
        };
        for candidate in [&rel, &real_rel] {
            if is_internal(candidate) {
                return Err(deny(
                    "internal",
                    "`.git/` and `.wf/` are never accessible to tools",
                ));
            }
        }
        // Reads and writes are decided on the real path: a symlink whose
        // target may not be read is not readable, whatever its own name.
        let real_why = |what: &str, i: usize| {
            if real_rel == rel {
                why(what, i)
            } else {
                format!("it is a symlink to {real_rel}, {}", why(what, i))
            }
        };
        match access {
            Access::List => {}
            Access::Read => {
                for (i, layer) in self.layers.iter().enumerate() {
                    if !real_rel.is_empty() && !layer.read.is_match(&real_rel) {
                        return Err(deny(
                            "read",
                            &real_why(&unmatched("read", &layer.read_patterns, &real_rel), i),
                        ));
                    }
                }
            }
            Access::Write => {
                if rel.is_empty() || real_rel.is_empty() {
                    return Err(deny("write", "not a file path"));
                }
                for (i, layer) in self.layers.iter().enumerate() {
                    if layer.protect.is_match(&rel) || layer.protect.is_match(&real_rel) {
                        return Err(deny("protect", &why("protected by permissions.protect", i)));
                    }
                }
                for (i, layer) in self.layers.iter().enumerate() {
                    if !layer.write.is_match(&real_rel) {
                        return Err(deny(
                            "write",
                            &real_why(&unmatched("write", &layer.write_patterns, &real_rel), i),
                        ));
                    }
                }
            }
        }
        Ok((resolved, real_rel))
    }

    /// Whether a listed file (relative, already inside the workspace) may be
    /// shown to the model: the same decision as a read of it, so a symlink
    /// is shown only when its real target is readable.
    pub fn readable(&self, rel: &str) -> bool {
        !rel.is_empty() && self.check(rel, Access::Read).is_ok()
    }

    /// Whether `rel`, a path with no symlink on it (found by a walk that
    /// never follows links, and opened without following any), may be
    /// read: the decision of [`Policy::check`] on its real path, without
    /// resolving it again.
    pub fn readable_real(&self, rel: &str) -> bool {
        !rel.is_empty()
            && !is_internal(rel)
            && self.layers.iter().all(|layer| layer.read.is_match(rel))
    }

    /// The real absolute location of `rel` with every existing symlink
    /// followed, or `None` when it is outside the workspace. Components that
    /// do not exist yet (a file about to be created) are appended as they are.
    fn resolve(&self, rel: &str) -> Option<PathBuf> {
        let mut existing = self.root.clone();
        let mut rest: Vec<&str> = Vec::new();
        let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
        // Whether the path may differ from its real path: a symlink on the
        // way, or a `.`/`..` component. Without either, the root (already
        // canonical) joined with the parts *is* the real path, and no
        // `canonicalize` (a readlink per component of the whole absolute
        // path) is needed; listing tools ask this for every entry.
        let mut plain = true;
        for (i, part) in parts.iter().enumerate() {
            let next = existing.join(part);
            match next.symlink_metadata() {
                Ok(meta) => {
                    plain &= !meta.file_type().is_symlink() && *part != "." && *part != "..";
                    existing = next;
                }
                Err(_) => {
                    rest = parts[i..].to_vec();
                    break;
                }
            }
        }
        let real = if plain {
            existing
        } else {
            existing.canonicalize().ok()?
        };
        if !real.starts_with(&self.root) {
            return None;
        }
        let mut out = real;
        for part in rest {
            out.push(part);
        }
        Some(out)
    }
}

/// Why layer `layer` refused: its own rule (layer 0), or the bound of a
/// task that uses the recipe.
pub fn why(what: &str, layer: usize) -> String {
    if layer == 0 {
        what.to_string()
    } else {
        format!("{what} of the task that uses this recipe")
    }
}

/// Why `path` is not matched by `permissions.{key}`: the patterns it has
/// (so the model and the person know what is allowed), and, when a
/// pattern would match but for `*` stopping at `/`, the pattern that does.
fn unmatched(key: &str, patterns: &[String], path: &str) -> String {
    if patterns.is_empty() {
        return format!("permissions.{key} lists no pattern");
    }
    let listed: Vec<String> = patterns.iter().map(|p| format!("`{p}`")).collect();
    let mut why = format!("not matched by permissions.{key} ({})", listed.join(", "));
    let deeper = patterns
        .iter()
        .map(String::as_str)
        .filter_map(deeper)
        .find(|d| {
            crate::glob::compile_set(std::slice::from_ref(d)).is_ok_and(|set| set.is_match(path))
        });
    if let Some(deeper) = deeper {
        why.push_str(&format!(
            "; `*` does not cross `/`: `{deeper}` would match it"
        ));
    }
    why
}

/// `pattern` with each component that holds a lone `*` reaching into
/// subdirectories too (`src/*` → `src/**`, `src/*.rs` → `src/**/*.rs`);
/// `None` when it has none.
fn deeper(pattern: &str) -> Option<String> {
    let mut changed = false;
    let parts: Vec<String> = pattern
        .split('/')
        .map(|c| {
            if c == "*" {
                changed = true;
                "**".to_string()
            } else if c.contains('*') && !c.contains("**") {
                changed = true;
                format!("**/{c}")
            } else {
                c.to_string()
            }
        })
        .collect();
    changed.then(|| parts.join("/"))
}

/// Whether a file whose real path (relative to the repository, symlinks
/// resolved) is `real_rel` may be read under the `read` globs `read`: the
/// rule of [`Policy::check`] for callers that resolve paths themselves
/// (context files, at plan time).
pub fn real_path_readable(read: &GlobSet, real_rel: &str) -> bool {
    !real_rel.is_empty() && !is_internal(real_rel) && read.is_match(real_rel)
}

fn is_internal(rel: &str) -> bool {
    let first = rel.split('/').next().unwrap_or("");
    first == ".git" || first == ".wf"
}

/// `a/./b//c/` → `a/b/c`; `.` → ``.
pub fn normalize(path: &str) -> String {
    let mut parts = Vec::new();
    for c in Path::new(path).components() {
        if let Component::Normal(p) = c {
            parts.push(p.to_string_lossy().into_owned());
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(dir: &Path) -> Policy {
        let perms = Permissions {
            read: vec!["**".into()],
            write: vec!["src/**".into()],
            protect: vec!["src/generated/**".into()],
            shell: None,
        };
        Policy::new(dir, &perms, &[]).unwrap()
    }

    #[test]
    fn a_write_denial_names_the_patterns_and_that_a_star_stops_at_a_slash() {
        let dir = tempfile::tempdir().unwrap();
        let perms = Permissions {
            read: vec!["**".into()],
            write: vec!["src/*".into(), "docs/*.md".into()],
            protect: vec![],
            shell: None,
        };
        let p = Policy::new(dir.path(), &perms, &[]).unwrap();
        assert!(p.check("src/a.rs", Access::Write).is_ok());
        let d = p.check("src/api/a.rs", Access::Write).unwrap_err();
        assert_eq!(
            d.message,
            "write to src/api/a.rs denied: not matched by permissions.write (`src/*`, `docs/*.md`); \
             `*` does not cross `/`: `src/**` would match it"
        );
        let d = p.check("docs/guide/a.md", Access::Write).unwrap_err();
        assert!(
            d.message.ends_with("`docs/**/*.md` would match it"),
            "{}",
            d.message
        );
        // No hint where a deeper pattern would not match either.
        let d = p.check("lib/a.rs", Access::Write).unwrap_err();
        assert_eq!(
            d.message,
            "write to lib/a.rs denied: not matched by permissions.write (`src/*`, `docs/*.md`)"
        );
        let none = Permissions {
            read: vec!["**".into()],
            write: vec![],
            protect: vec![],
            shell: None,
        };
        let p = Policy::new(dir.path(), &none, &[]).unwrap();
        let d = p.check("a.rs", Access::Write).unwrap_err();
        assert_eq!(
            d.message,
            "write to a.rs denied: permissions.write lists no pattern"
        );
    }

    #[test]
    fn bounds_intersect_reads_and_writes_and_unite_protects() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src/api")).unwrap();
        let own = Permissions {
            read: vec!["**".into()],
            write: vec!["src/**".into(), "docs/**".into()],
            protect: vec![],
            shell: None,
        };
        let caller = Permissions {
            read: vec!["src/**".into()],
            write: vec!["src/**".into()],
            protect: vec!["src/api/**".into()],
            shell: None,
        };
        let p = Policy::new(dir.path(), &own, &[caller]).unwrap();
        assert!(p.check("src/a.rs", Access::Write).is_ok());
        let d = p.check("docs/a.md", Access::Write).unwrap_err();
        assert_eq!(d.rule, "write");
        assert!(
            d.message.contains("task that uses this recipe"),
            "{}",
            d.message
        );
        assert_eq!(
            p.check("src/api/x.rs", Access::Write).unwrap_err().rule,
            "protect"
        );
        assert_eq!(p.check("README.md", Access::Read).unwrap_err().rule, "read");
        assert!(p.readable("src/a.rs"));
        assert!(!p.readable("README.md"));
    }

    #[test]
    fn protect_beats_write_and_escapes_are_denied() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src/generated")).unwrap();
        let p = policy(dir.path());
        assert!(p.check("src/a.rs", Access::Write).is_ok());
        assert_eq!(
            p.check("src/generated/x.rs", Access::Write)
                .unwrap_err()
                .rule,
            "protect"
        );
        assert_eq!(
            p.check("README.md", Access::Write).unwrap_err().rule,
            "write"
        );
        assert_eq!(p.check("../x", Access::Read).unwrap_err().rule, "escape");
        assert_eq!(
            p.check("/etc/passwd", Access::Read).unwrap_err().rule,
            "escape"
        );
        assert_eq!(
            p.check(".git/config", Access::Read).unwrap_err().rule,
            "internal"
        );
        assert_eq!(
            p.check("./src/../.git/x", Access::Write).unwrap_err().rule,
            "escape"
        );
    }

    #[test]
    fn reads_and_writes_are_decided_on_the_real_path() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["src/generated", "secrets"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("secrets/key.txt"), "sk-123\n").unwrap();
        std::fs::write(root.join("src/a.rs"), "fn a() {}\n").unwrap();
        std::fs::write(root.join("README.md"), "hi\n").unwrap();
        symlink("../secrets/key.txt", root.join("src/notes.txt")).unwrap();
        symlink("../secrets", root.join("src/keys")).unwrap();
        symlink("a.rs", root.join("src/alias.rs")).unwrap();
        symlink("../README.md", root.join("src/readme.md")).unwrap();
        symlink("../a.rs", root.join("src/generated/gen.rs")).unwrap();
        symlink("../.git", root.join("src/git")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join(".git/config"), "[core]\n").unwrap();
        let perms = Permissions {
            read: vec!["src/**".into()],
            write: vec!["src/**".into()],
            protect: vec!["src/generated/**".into()],
            shell: None,
        };
        let p = Policy::new(root, &perms, &[]).unwrap();
        // A symlink whose target is unreadable is unreadable.
        let d = p.check("src/notes.txt", Access::Read).unwrap_err();
        assert_eq!(d.rule, "read");
        assert!(
            d.message.contains("symlink to secrets/key.txt"),
            "{}",
            d.message
        );
        assert_eq!(
            p.check("secrets/key.txt", Access::Read).unwrap_err().rule,
            "read"
        );
        assert_eq!(
            p.check("src/keys/key.txt", Access::Read).unwrap_err().rule,
            "read"
        );
        assert!(!p.readable("src/notes.txt"));
        assert!(!p.readable("src/keys/key.txt"));
        // A symlink to a readable file is readable, and the real path is used.
        let (abs, real) = p.check("src/alias.rs", Access::Read).unwrap();
        assert_eq!(real, "src/a.rs");
        assert_eq!(abs, root.canonicalize().unwrap().join("src/a.rs"));
        assert!(p.readable("src/alias.rs"));
        assert!(p.readable("src/a.rs"));
        // Internal stays internal through a symlink.
        assert_eq!(
            p.check("src/git/config", Access::Read).unwrap_err().rule,
            "internal"
        );
        assert!(!p.readable("src/git/config"));
        // Writes: the real path must be writable ...
        let d = p.check("src/readme.md", Access::Write).unwrap_err();
        assert_eq!(d.rule, "write");
        assert!(d.message.contains("symlink to README.md"), "{}", d.message);
        // ... and a protected path as sent stays protected wherever it leads.
        assert_eq!(
            p.check("src/generated/gen.rs", Access::Write)
                .unwrap_err()
                .rule,
            "protect"
        );
        assert!(p.check("src/alias.rs", Access::Write).is_ok());
    }

    #[test]
    fn a_real_path_that_is_not_utf8_is_denied_not_taken_for_the_root() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src")).unwrap();
        let odd = root.join(std::ffi::OsStr::from_bytes(b"secret\xff"));
        std::fs::write(&odd, "sk-123\n").unwrap();
        std::os::unix::fs::symlink(&odd, root.join("src/n.txt")).unwrap();
        let perms = Permissions {
            read: vec!["src/**".into()],
            write: vec!["src/**".into()],
            protect: vec![],
            shell: None,
        };
        let p = Policy::new(root, &perms, &[]).unwrap();
        for access in [Access::Read, Access::Write] {
            let d = p.check("src/n.txt", access).unwrap_err();
            assert_eq!(d.rule, "escape", "{access:?}");
            assert!(d.message.contains("not UTF-8"), "{}", d.message);
        }
        assert!(!p.readable("src/n.txt"));
    }

    #[test]
    fn readable_real_is_the_read_decision_without_resolving() {
        let dir = tempfile::tempdir().unwrap();
        let p = policy(dir.path());
        assert!(p.readable_real("src/a.rs"));
        assert!(!p.readable_real(""));
        assert!(!p.readable_real(".git/config"));
        assert!(!p.readable_real(".wf/runs/x"));
        let perms = Permissions {
            read: vec!["src/**".into()],
            ..Permissions::default()
        };
        let bound = Permissions {
            read: vec!["src/api/**".into()],
            ..Permissions::default()
        };
        let p = Policy::new(dir.path(), &perms, &[bound]).unwrap();
        assert!(p.readable_real("src/api/x.rs"));
        assert!(!p.readable_real("src/x.rs"));
        assert!(!p.readable_real("docs/x.md"));
    }

    #[test]
    fn symlinks_out_of_the_workspace_are_denied() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("src/link")).unwrap();
        let p = policy(dir.path());
        let d = p.check("src/link/new.rs", Access::Write).unwrap_err();
        assert_eq!(d.rule, "escape");
        assert!(d.message.contains("symlink"), "{}", d.message);
    }
}
