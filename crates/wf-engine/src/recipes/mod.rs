//! Shared recipes: what `uses:` points at, how it is pinned in `wf.lock`,
//! and how a pinned recipe is found again.
//!
//! A reference is one of
//!
//! - `./path.yaml` or `../path.yaml`: a file relative to the task file that
//!   names it, inside the same repository;
//! - `git+URL//PATH@REF`: the file PATH of the git repository at URL (any URL
//!   git accepts: `https://…`, `ssh://…`, `git@host:org/repo.git`, `file://…`
//!   or a local path, relative ones taken from the task file's directory), at
//!   REF, a tag, a branch or a full commit id.
//!
//! `wf lock` resolves every reference, recursively, to a content hash
//! (SHA-256 of the file) and, for git, a commit, and writes them to
//! `wf.lock` next to the task file. `wf run` then requires every reference
//! to be pinned and refuses one that moved: a local file whose content
//! changed, a tag or branch that now points at another commit. When the
//! remote cannot be reached, a pinned commit already in the cache is used
//! and a note says the tag was not checked.

pub mod git;
pub mod lock;

/// Why a `uses:` recipe cannot be found, fetched, pinned or loaded, by
/// kind; each message names the reference as the task file gives it, and
/// the planner adds the step that uses it ([`crate::plan::PlanError::Recipe`]).
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    /// The `uses:` value is not a reference.
    #[error("{0}")]
    Reference(String),
    /// What it names is not there, or not where a recipe may be: no such
    /// file, tag, branch or commit; outside the repository or its git
    /// repository; a symbolic link out of it.
    #[error("{0}")]
    NotFound(String),
    /// It uses itself, nests deeper than [`MAX_DEPTH`], or recipes expand
    /// more than [`MAX_EXPANSIONS`] times.
    #[error("{0}")]
    Nesting(String),
    /// The recipe is not a valid task file.
    #[error("{0}")]
    Load(String),
    /// `wf.lock` cannot be read, or is not a lock file this wf reads.
    #[error("{0}")]
    Lock(String),
    /// Not pinned in `wf.lock` (where a run needs it), or not what its pin
    /// says: the file's content or the tag's commit changed.
    #[error("{0}")]
    Pin(String),
    /// git or the recipe cache failed: no cache directory, a remote that
    /// cannot be reached, a fetch or a checkout.
    #[error("{0}")]
    Fetch(String),
}

use git::GitCache;
pub use lock::{Lock, Pin};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

pub use crate::spec::reference::Reference;

/// Where a reference is read from: the repository of the task file, or a
/// recipe fetched from git (whose relative references stay in that commit).
#[derive(Debug, Clone)]
pub enum Base {
    /// A task file on disk, in the user's repository.
    Local {
        /// Its directory.
        dir: PathBuf,
    },
    /// A recipe from a git repository.
    Git {
        /// The repository URL to fetch.
        url: String,
        /// The repository URL as the lock names it (relative local paths
        /// relative to the lock file's directory).
        key_url: String,
        /// The reference as written.
        reference: String,
        /// The pinned commit.
        commit: String,
        /// The checkout of that commit in the cache.
        tree: PathBuf,
        /// The referring file's directory inside the repository (`` for the top).
        dir: String,
    },
}

impl Base {
    /// The base of a task file on disk: its directory.
    pub fn of_task(loaded: &crate::spec::LoadedSpec) -> Base {
        let dir = loaded.dir();
        Base::Local {
            dir: dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()),
        }
    }
}

/// A reference found and checked: the file to load and where its own
/// references are read from.
#[derive(Debug, Clone)]
pub struct Found {
    /// The lock key: the reference in a form that is the same from any task
    /// file of the lock's directory.
    pub key: String,
    /// The file to load.
    pub file: PathBuf,
    /// How the file is shown in messages.
    pub display: String,
    /// Base for the recipe's own `uses:`.
    pub base: Base,
    /// The pin.
    pub pin: Pin,
}

/// How pins are treated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `wf run`, `replay`, `resume`: every reference must be pinned and match.
    Locked,
    /// `wf plan`: pins are checked where present; an unpinned reference is
    /// resolved as it is now, with a note.
    Preview,
    /// `wf lock`: existing pins are checked and kept; new references are
    /// pinned; `update` re-pins the ones it selects (`Some(None)`: all).
    Lock {
        /// `--update [NAME]`.
        update: Option<Option<String>>,
    },
}

/// Resolves references against a lock file, collecting the pins it used.
#[derive(Debug)]
pub struct Resolver {
    repo_root: PathBuf,
    lock_dir: PathBuf,
    lock: Lock,
    mode: Mode,
    cache: GitCache,
    /// Pins actually used, by key.
    pub used: BTreeMap<String, Pin>,
    /// Notes for the user (an unpinned reference, an unreachable remote).
    pub notes: Vec<String>,
    /// `--update NAME` matched something.
    pub update_matched: bool,
    /// While above zero, references are resolved afresh (`wf lock --update`
    /// of a recipe re-pins everything beneath it too).
    fresh_depth: usize,
    /// Recipes expanded so far: a bound on fan-out.
    expansions: usize,
}

/// How deep `uses:` may nest (a recipe using a recipe using …).
pub const MAX_DEPTH: usize = 8;

/// How many recipe expansions one task file may need (recipes using
/// recipes, each counted every time it is used).
pub const MAX_EXPANSIONS: usize = 200;

impl Resolver {
    /// A resolver for the task files in `lock_dir` (whose `wf.lock` is read
    /// if it exists), caching fetched recipes in the user's cache
    /// ([`GitCache::user`]). Local references must stay inside the
    /// repository holding `lock_dir`.
    pub fn new(lock_dir: &Path, mode: Mode) -> Result<Resolver, RecipeError> {
        Resolver::reading(lock_dir, mode, true)
    }

    fn reading(lock_dir: &Path, mode: Mode, read_lock: bool) -> Result<Resolver, RecipeError> {
        let lock_dir = lock_dir
            .canonicalize()
            .unwrap_or_else(|_| lock_dir.to_path_buf());
        let lock = if read_lock {
            Lock::read(&lock_dir.join(lock::FILE_NAME))?.unwrap_or_default()
        } else {
            Lock::default()
        };
        Ok(Resolver {
            repo_root: crate::sys::git::repo_root(&lock_dir),
            cache: GitCache::user(),
            lock_dir,
            lock,
            mode,
            used: BTreeMap::new(),
            notes: Vec::new(),
            update_matched: false,
            fresh_depth: 0,
            expansions: 0,
        })
    }

    /// A resolver for the task file `loaded` (its `wf.lock` is next to it,
    /// read only when the file uses recipes: a task without `uses:` never
    /// depends on a lock file).
    pub fn for_task(loaded: &crate::spec::LoadedSpec, mode: Mode) -> Result<Resolver, RecipeError> {
        Resolver::reading(loaded.dir(), mode, loaded.spec.uses_recipes())
    }

    /// The lock file this resolver reads.
    pub fn lock_path(&self) -> PathBuf {
        self.lock_dir.join(lock::FILE_NAME)
    }

    /// The lock as read.
    pub fn lock(&self) -> &Lock {
        &self.lock
    }

    /// Whether `wf lock --update` selects `key` (then everything beneath it
    /// is re-pinned too: see [`Resolver::enter`]).
    pub fn selected(&self, key: &str) -> bool {
        match &self.mode {
            Mode::Lock { update: Some(None) } => true,
            Mode::Lock {
                update: Some(Some(name)),
            } => self
                .lock
                .get(key)
                .is_some_and(|p| p.uses == *name || p.name == *name),
            _ => false,
        }
    }

    /// Enters the recipe `key` (found with [`Resolver::find`]): counts the
    /// expansion, and when `key` was re-pinned, re-pins what it uses too.
    /// Returns whether [`Resolver::leave`] must undo the latter.
    pub fn enter(&mut self, key: &str) -> Result<bool, RecipeError> {
        self.expansions += 1;
        if self.expansions > MAX_EXPANSIONS {
            return Err(RecipeError::Nesting(format!(
                "more than {MAX_EXPANSIONS} recipe expansions: recipes use each other too often"
            )));
        }
        let fresh = self.selected(key);
        if fresh {
            self.fresh_depth += 1;
        }
        Ok(fresh)
    }

    /// Leaves a recipe entered with [`Resolver::enter`].
    pub fn leave(&mut self, fresh: bool) {
        if fresh {
            self.fresh_depth -= 1;
        }
    }

    /// Finds `text` from `base` (see [`Resolver::find`]) and loads it as a
    /// task file, named in messages as the reference shows it. Refused when
    /// it uses itself (it is on `stack`, the recipes being expanded) or
    /// nests deeper than [`MAX_DEPTH`]. Its pin gets the recipe's name.
    pub fn open(
        &mut self,
        text: &str,
        base: &Base,
        stack: &[String],
    ) -> Result<(Found, crate::spec::LoadedSpec), RecipeError> {
        let found = self.find(text, base)?;
        if stack.contains(&found.key) {
            return Err(RecipeError::Nesting(format!(
                "`{text}` uses itself (through {})",
                stack.join(" → ")
            )));
        }
        if stack.len() >= MAX_DEPTH {
            return Err(RecipeError::Nesting(format!(
                "`uses:` nests deeper than {MAX_DEPTH} recipes"
            )));
        }
        let mut recipe = crate::spec::load(&found.file).map_err(|e| {
            RecipeError::Load(format!(
                "recipe `{text}` does not load:\n{}",
                e.to_string()
                    .replace(&found.file.display().to_string(), &found.display)
            ))
        })?;
        recipe.path = PathBuf::from(&found.display);
        if let Some(pin) = self.used.get_mut(&found.key) {
            pin.name = recipe.spec.name.clone();
        }
        Ok((found, recipe))
    }

    /// Finds `text`, referred to from `base`, and checks it against its pin.
    pub fn find(&mut self, text: &str, base: &Base) -> Result<Found, RecipeError> {
        let reference = Reference::parse(text).map_err(RecipeError::Reference)?;
        let found = match (&reference, base) {
            (Reference::Local(path), Base::Local { dir }) => self.local(text, path, dir)?,
            (
                Reference::Local(path),
                Base::Git {
                    url,
                    key_url,
                    reference,
                    commit,
                    tree,
                    dir,
                },
            ) => {
                let inner = join_inner(dir, path).ok_or_else(|| {
                    RecipeError::NotFound(format!("`{text}` leads outside its git repository"))
                })?;
                let key = format!("git+{key_url}//{inner}@{reference}");
                let file = inside_tree(tree, &inner).map_err(|why| {
                    RecipeError::NotFound(format!("`{key}`: {why} at commit {commit}"))
                })?;
                let pin = self.pin_file(&key, &file, Some(commit))?;
                Found {
                    display: key.clone(),
                    base: Base::Git {
                        url: url.clone(),
                        key_url: key_url.clone(),
                        reference: reference.clone(),
                        commit: commit.clone(),
                        tree: tree.clone(),
                        dir: parent_of(&inner),
                    },
                    key,
                    file,
                    pin,
                }
            }
            (
                Reference::Git {
                    url,
                    path,
                    reference,
                },
                base,
            ) => {
                let (fetch_url, key_url) = match base {
                    Base::Local { dir } if is_relative_url(url) => {
                        let absolute = lexical_join(dir, url);
                        let key_url = relative_key(&self.lock_dir, &absolute);
                        (absolute.display().to_string(), key_url)
                    }
                    Base::Local { .. } => (url.clone(), url.clone()),
                    Base::Git { .. } if is_relative_url(url) => {
                        return Err(RecipeError::Reference(format!(
                            "`{text}`: a recipe fetched from git cannot use a relative repository path"
                        )));
                    }
                    Base::Git { .. } => (url.clone(), url.clone()),
                };
                self.git(text, &fetch_url, &key_url, path, reference)?
            }
        };
        // `check_pin` has held it to any earlier use in this run.
        self.used
            .entry(found.key.clone())
            .or_insert_with(|| found.pin.clone());
        Ok(found)
    }

    fn local(&mut self, text: &str, path: &str, dir: &Path) -> Result<Found, RecipeError> {
        let file = lexical_join(dir, path);
        let real = file.canonicalize().map_err(|e| {
            RecipeError::NotFound(format!("`{text}`: cannot read {}: {e}", file.display()))
        })?;
        if !real.starts_with(&self.repo_root) {
            return Err(RecipeError::NotFound(format!(
                "`{text}` is outside the repository ({}); share it through git instead",
                self.repo_root.display()
            )));
        }
        let key = relative_key(&self.lock_dir, &real);
        let pin = self.pin_file(&key, &real, None)?;
        // Shown as the user would open it: relative to the current directory.
        let display = std::env::current_dir()
            .ok()
            .and_then(|cwd| cwd.canonicalize().ok())
            .map_or_else(
                || real.display().to_string(),
                |cwd| {
                    relative_key(&cwd, &real)
                        .trim_start_matches("./")
                        .to_string()
                },
            );
        Ok(Found {
            display,
            base: Base::Local {
                dir: real.parent().unwrap_or(Path::new("")).to_path_buf(),
            },
            key,
            file: real,
            pin,
        })
    }

    fn git(
        &mut self,
        text: &str,
        url: &str,
        key_url: &str,
        path: &str,
        reference: &str,
    ) -> Result<Found, RecipeError> {
        let key = format!("git+{key_url}//{path}@{reference}");
        let commit = match self.used.get(&key).and_then(|p| p.commit.clone()) {
            // Already resolved in this run: the same commit again.
            Some(commit) => commit,
            None => self.git_commit(&key, url, path, reference)?,
        };
        let tree = self.cache.checkout(url, reference, &commit)?;
        let file = inside_tree(&tree, path)
            .map_err(|why| RecipeError::NotFound(format!("`{key}`: {why} at commit {commit}")))?;
        let pin = self.pin_file(&key, &file, Some(&commit))?;
        Ok(Found {
            display: text.to_string(),
            base: Base::Git {
                url: url.to_string(),
                key_url: key_url.to_string(),
                reference: reference.to_string(),
                commit,
                tree,
                dir: parent_of(path),
            },
            key,
            file,
            pin,
        })
    }

    /// The commit a git reference is to be read at: its pin, checked against
    /// what the tag or branch points to now; or, unpinned, what it points to.
    fn git_commit(
        &mut self,
        key: &str,
        url: &str,
        path: &str,
        reference: &str,
    ) -> Result<String, RecipeError> {
        let pinned = self.pin_for(key).cloned();
        let commit = match &pinned {
            Some(pin) => {
                let locked = pin.commit.clone().ok_or_else(|| {
                    RecipeError::Lock(format!(
                        "{}: the pin of `{key}` has no commit",
                        self.lock_path().display()
                    ))
                })?;
                match self.cache.resolve(url, reference) {
                    Ok(now) if now == locked => locked,
                    Ok(now) => {
                        // The recipe file itself may be the same at both
                        // commits (the branch moved for other files): say
                        // so, as the review is then of the rest only.
                        let same_file = self
                            .cache
                            .checkout(url, reference, &now)
                            .ok()
                            .and_then(|tree| inside_tree(&tree, path).ok())
                            .and_then(|file| std::fs::read(file).ok())
                            .is_some_and(|bytes| crate::hash::sha256_hex(&bytes) == pin.sha256);
                        let what = if same_file {
                            format!(
                                "the recipe file `{path}` is identical at both commits, but other files at that commit (what it runs or uses) may differ"
                            )
                        } else {
                            "the recipe changed under the same name".to_string()
                        };
                        return Err(RecipeError::Pin(format!(
                            "`{key}`: `{reference}` now points to commit {now}, but {} pins it at {locked}; {what}.\nReview the change, then move the pin on purpose with `wf lock --update {key}`",
                            self.lock_path().display()
                        )));
                    }
                    Err(e) if self.cache.has(url, &locked) => {
                        self.notes.push(format!(
                            "could not check `{reference}` of {url} ({e}); using the pinned commit {locked} from the cache"
                        ));
                        locked
                    }
                    Err(e) => return Err(e),
                }
            }
            None => self.cache.resolve(url, reference)?,
        };
        Ok(commit)
    }

    /// Reads `file`, pins its content under `key` (at `commit`, for git),
    /// and checks the pin.
    fn pin_file(
        &mut self,
        key: &str,
        file: &Path,
        commit: Option<&str>,
    ) -> Result<Pin, RecipeError> {
        let bytes = std::fs::read(file)
            .map_err(|e| RecipeError::NotFound(format!("`{key}`: cannot read it: {e}")))?;
        let pin = Pin {
            uses: key.to_string(),
            name: String::new(),
            commit: commit.map(str::to_string),
            sha256: crate::hash::sha256_hex(&bytes),
        };
        self.check_pin(key, &pin)?;
        Ok(pin)
    }

    /// The pin to hold `key` to, if any, under the mode.
    fn pin_for(&mut self, key: &str) -> Option<&Pin> {
        if self.fresh_depth > 0 {
            return None;
        }
        if let Mode::Lock {
            update: Some(which),
        } = &self.mode
        {
            let selected = match which {
                None => true,
                Some(name) => {
                    let hit = self
                        .lock
                        .get(key)
                        .is_some_and(|p| p.uses == *name || p.name == *name);
                    self.update_matched |= hit;
                    hit
                }
            };
            if selected {
                return None;
            }
        }
        self.lock.get(key)
    }

    /// Compares what was found with the pin, per the mode.
    fn check_pin(&mut self, key: &str, found: &Pin) -> Result<(), RecipeError> {
        if let Some(previous) = self.used.get(key) {
            // Resolved before in this run (a recipe used twice): held to that.
            return if previous.sha256 == found.sha256 && previous.commit == found.commit {
                Ok(())
            } else {
                Err(RecipeError::Pin(format!(
                    "`{key}` resolves to two different versions in one run"
                )))
            };
        }
        let lock_path = self.lock_path();
        match self.pin_for(key).cloned() {
            Some(pin) => {
                if pin.commit != found.commit {
                    return Err(RecipeError::Pin(format!(
                        "`{key}` is at commit {}, but {} pins commit {}.\nMove the pin on purpose with `wf lock --update {key}`",
                        found.commit.as_deref().unwrap_or("(none)"),
                        lock_path.display(),
                        pin.commit.as_deref().unwrap_or("(none)")
                    )));
                }
                if pin.sha256 != found.sha256 {
                    return Err(RecipeError::Pin(format!(
                        "`{key}` changed since it was pinned: its SHA-256 is {}, {} pins {}.\nReview the change, then move the pin on purpose with `wf lock --update {key}`",
                        found.sha256,
                        lock_path.display(),
                        pin.sha256
                    )));
                }
                Ok(())
            }
            None => match &self.mode {
                Mode::Locked => Err(RecipeError::Pin(if self.lock_path().exists() {
                    format!(
                        "`{key}` is not pinned in {}; run `wf lock` to pin it",
                        lock_path.display()
                    )
                } else {
                    format!(
                        "`{key}` is not pinned: there is no {}; run `wf lock` to pin what `uses:` refers to",
                        lock_path.display()
                    )
                })),
                Mode::Preview => {
                    self.notes.push(format!(
                        "`{key}` is not pinned in {}; `wf run` will refuse it until `wf lock` pins it",
                        lock_path.display()
                    ));
                    Ok(())
                }
                Mode::Lock { .. } => Ok(()),
            },
        }
    }
}

/// Finds every recipe `loaded` uses, recursively, through `resolver` (which
/// records the pins). Unlike planning, this needs no inputs and reads no
/// context: it is what `wf lock` does.
pub fn find_all(
    loaded: &crate::spec::LoadedSpec,
    resolver: &mut Resolver,
) -> Result<Vec<crate::spec::LoadedSpec>, RecipeError> {
    resolver.expansions = 0; // the bound is per task file
    let mut recipes = Vec::new();
    find_tree(
        loaded,
        resolver,
        &Base::of_task(loaded),
        &mut Vec::new(),
        &mut recipes,
    )?;
    Ok(recipes)
}

fn find_tree(
    loaded: &crate::spec::LoadedSpec,
    resolver: &mut Resolver,
    base: &Base,
    stack: &mut Vec<String>,
    recipes: &mut Vec<crate::spec::LoadedSpec>,
) -> Result<(), RecipeError> {
    let spec = &loaded.spec;
    for text in spec.recipe_references() {
        let (found, recipe) = resolver.open(text, base, stack)?;
        let fresh = resolver.enter(&found.key)?;
        stack.push(found.key.clone());
        let done = find_tree(&recipe, resolver, &found.base, stack, recipes);
        recipes.push(recipe);
        stack.pop();
        resolver.leave(fresh);
        done?;
    }
    Ok(())
}

/// `path` inside a checked-out recipe tree, refused when it is (or goes
/// through) a symlink that leads out of the tree: a recipe repository must
/// not make wf read the user's files.
fn inside_tree(tree: &Path, path: &str) -> Result<PathBuf, RecipeError> {
    let file = tree.join(path);
    let real = file
        .canonicalize()
        .map_err(|_| RecipeError::NotFound(format!("there is no file `{path}`")))?;
    let tree = tree.canonicalize().unwrap_or_else(|_| tree.to_path_buf());
    if !real.starts_with(&tree) {
        return Err(RecipeError::NotFound(format!(
            "`{path}` is a symlink out of the repository"
        )));
    }
    Ok(real)
}

/// Whether a git URL is a relative local path (`../recipes`).
fn is_relative_url(url: &str) -> bool {
    !url.contains("://") && !url.starts_with('/') && !is_scp_like(url)
}

/// `user@host:path` or `host:path` (git's scp-like syntax).
fn is_scp_like(url: &str) -> bool {
    match url.find(':') {
        Some(i) => !url[..i].contains('/'),
        None => false,
    }
}

/// `dir` joined with a relative `path`, `.` and `..` applied lexically.
fn lexical_join(dir: &Path, path: &str) -> PathBuf {
    let mut out = dir.to_path_buf();
    for c in Path::new(path).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(p) => out.push(p),
            _ => {}
        }
    }
    out
}

/// A path inside a repository joined with a relative one; `None` when it
/// leaves the repository.
fn join_inner(dir: &str, path: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

fn parent_of(path: &str) -> String {
    path.rsplit_once('/')
        .map_or(String::new(), |(d, _)| d.to_string())
}

/// `./a/b.yaml` or `../x/b.yaml`: `file` relative to `dir` (both absolute).
fn relative_key(dir: &Path, file: &Path) -> String {
    let rel = crate::sys::paths::between(dir, file).unwrap_or_else(|| file.display().to_string());
    if rel.starts_with("../") {
        rel
    } else {
        format!("./{rel}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_is_its_kind_of_error() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().canonicalize().unwrap();
        std::fs::create_dir(dir.join(".git")).unwrap();
        std::fs::write(dir.join("r.yaml"), "wf: 1\nname: r\nprompt: p\n").unwrap();
        let base = Base::Local { dir: dir.clone() };
        let mut locked = Resolver::new(&dir, Mode::Locked).unwrap();
        let unpinned = locked.find("./r.yaml", &base).unwrap_err();
        assert!(
            matches!(&unpinned, RecipeError::Pin(m) if m.contains("is not pinned: there is no")),
            "{unpinned:?}"
        );
        let missing = locked.find("./gone.yaml", &base).unwrap_err();
        assert!(matches!(missing, RecipeError::NotFound(_)), "{missing:?}");
        let bad = locked.find("https://x", &base).unwrap_err();
        assert!(matches!(bad, RecipeError::Reference(_)), "{bad:?}");
        let mut lock = Resolver::new(&dir, Mode::Lock { update: None }).unwrap();
        let found = lock.find("./r.yaml", &base).unwrap();
        let looped = lock
            .open("./r.yaml", &base, std::slice::from_ref(&found.key))
            .unwrap_err();
        assert!(
            matches!(&looped, RecipeError::Nesting(m) if m.contains("uses itself")),
            "{looped:?}"
        );
        std::fs::write(dir.join(lock::FILE_NAME), "wf_lock: 99\nrecipes: []\n").unwrap();
        let unreadable = Resolver::new(&dir, Mode::Locked).unwrap_err();
        assert!(matches!(unreadable, RecipeError::Lock(_)), "{unreadable:?}");
    }

    #[test]
    fn references_parse() {
        assert_eq!(
            Reference::parse("./recipes/a.yaml").unwrap(),
            Reference::Local("./recipes/a.yaml".into())
        );
        assert_eq!(
            Reference::parse("git+https://example.com/org/recipes.git//migrate-config.yaml@v1.2.0")
                .unwrap(),
            Reference::Git {
                url: "https://example.com/org/recipes.git".into(),
                path: "migrate-config.yaml".into(),
                reference: "v1.2.0".into()
            }
        );
        assert_eq!(
            Reference::parse("git+git@github.com:org/r.git//dir/x.yaml@main").unwrap(),
            Reference::Git {
                url: "git@github.com:org/r.git".into(),
                path: "dir/x.yaml".into(),
                reference: "main".into()
            }
        );
        assert_eq!(
            Reference::parse("git+../recipes//x.yaml@v1").unwrap(),
            Reference::Git {
                url: "../recipes".into(),
                path: "x.yaml".into(),
                reference: "v1".into()
            }
        );
        for bad in [
            "recipes/a.yaml",
            "./a.txt",
            "git+https://h/r.git//x.yaml",
            "git+https://h/r.git@v1",
            "git+https://h/r.git//../x.yaml@v1",
            "git+https://h/r.git///etc/x.yaml@v1",
            "git+-uhack//x.yaml@v1",
            "git+https://h/r.git//x.yaml@--upload-pack=x",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_and_inner_paths() {
        assert_eq!(
            relative_key(Path::new("/r/tasks"), Path::new("/r/tasks/recipes/a.yaml")),
            "./recipes/a.yaml"
        );
        assert_eq!(
            relative_key(Path::new("/r/tasks"), Path::new("/r/shared/a.yaml")),
            "../shared/a.yaml"
        );
        assert_eq!(join_inner("a/b", "../c.yaml").as_deref(), Some("a/c.yaml"));
        assert_eq!(join_inner("", "../c.yaml"), None);
        assert!(is_scp_like("git@github.com:org/r.git"));
        assert!(is_relative_url("../recipes"));
        assert!(!is_relative_url("/srv/recipes"));
        assert!(!is_relative_url("file:///srv/recipes"));
    }
}
