//! The one way wf runs git.
//!
//! Every git process wf starts itself (workspace set-up, staging, diffs,
//! applying, commits, the recipe cache, recipe-test fixtures) is built here,
//! so the rules below hold everywhere:
//!
//! - **A scrubbed environment.** git gets the same environment as the
//!   commands a run starts ([`crate::sys::process::scrubbed_env`]): never an
//!   API key. `GIT_DIR`, `GIT_WORK_TREE` and `GIT_INDEX_FILE` of wf's own
//!   environment never leak in.
//! - **No repository-controlled programs.** Hooks, `core.fsmonitor`, and
//!   attributes (which select filters, textconv and external diff drivers,
//!   and can hide a diff behind `-diff`) are switched off on the command line,
//!   which wins over any config file, including a `.git/config` a command of
//!   the run planted in the workspace. Attributes are read from the empty
//!   tree (`GIT_ATTR_SOURCE`), so a `.gitattributes` in the tree has no say;
//!   the system's and the user's attribute files are not read
//!   (`GIT_ATTR_NOSYSTEM`, `core.attributesFile=/dev/null`). One attribute
//!   file git always reads, whatever the environment: the repository's own
//!   `info/attributes`. What it can select is closed off as well:
//!   - every diff-producing command (`diff`, `log`, `show`, `format-patch`)
//!     gets `--no-textconv --no-ext-diff` after its subcommand, so neither
//!     `diff.<driver>.textconv`, `diff.<driver>.command` nor `diff.external`
//!     ever runs (`blame` gets `--no-textconv`);
//!   - every filter driver named by a `filter=` in `info/attributes` (macros
//!     included) has its `clean`, `smudge` and `process` programs set to
//!     nothing (`GIT_CONFIG_KEY_<n>`, exact names, no `=` parsing), so `add`,
//!     `commit`, `checkout-index` and `status` store and write the bytes as
//!     they are;
//!   - `apply` is the one command that reads the tree's `.gitattributes`
//!     (git 2.47 crashes with an attribute source set there), so before it
//!     runs, every filter driver configured in the scope it runs with is
//!     listed (one `git config` call) and set to nothing the same way.
//! - **Two scopes of configuration.** [`Git::private`] shuts out the user's
//!   global and system config as well, so settings such as `diff.noprefix`
//!   cannot change a patch wf writes. [`Git::user`] keeps them, for the few
//!   calls that must see the user's repository as the user does (ignore rules,
//!   identity, what HEAD is).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Git's empty tree.
pub const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/// A git command that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("git {args} failed: {stderr}")]
pub struct GitError {
    /// The arguments, as typed.
    pub args: String,
    /// What git said (or why it could not start).
    pub stderr: String,
}

/// A git command under construction.
#[derive(Debug)]
pub struct Git {
    cmd: Command,
    /// The arguments after wf's own `-c` settings, as given.
    args: Vec<std::ffi::OsString>,
    /// Where it runs: the repository whose `info/attributes` counts.
    dir: PathBuf,
    /// Whether the user's global and system config are shut out.
    private: bool,
    /// The git directory named with `GIT_DIR`, if any: the one whose
    /// `info/attributes` counts (else it is found from `dir`).
    git_dir: Option<PathBuf>,
    /// What the command reads on its standard input (none: `/dev/null`).
    input: Option<Vec<u8>>,
}

/// Subcommands that produce diffs: `--no-textconv --no-ext-diff` follow them.
const DIFF_COMMANDS: &[&str] = &["diff", "log", "show", "format-patch"];

/// Settings given on every command line: they win over every config file.
const HARDENED: &[&str] = &[
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.attributesFile=/dev/null",
    "core.autocrlf=false",
    "core.safecrlf=false",
    "core.quotepath=false",
    "core.pager=cat",
    "protocol.ext.allow=never",
];

impl Git {
    /// git in `dir` with the user's global and system config shut out.
    pub fn private(dir: &Path) -> Git {
        let mut git = Git::user(dir);
        git.cmd
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1");
        git.private = true;
        git
    }

    /// git talking to remotes (the recipe cache) with the user's
    /// configuration and credentials (`SSH_AUTH_SOCK`, `GIT_SSH_COMMAND`),
    /// only over the transports wf allows (never `ext::`), never prompting.
    pub fn remote(dir: &Path) -> Git {
        let mut git = Git::user(dir);
        for key in ["SSH_AUTH_SOCK", "GIT_SSH", "GIT_SSH_COMMAND"] {
            if let Some(value) = std::env::var_os(key) {
                git.cmd.env(key, value);
            }
        }
        git.cmd.env("GIT_ASKPASS", "true");
        for setting in [
            "protocol.allow=never",
            "protocol.https.allow=always",
            "protocol.http.allow=always",
            "protocol.ssh.allow=always",
            "protocol.git.allow=always",
            "protocol.file.allow=always",
        ] {
            git.cmd.args(["-c", setting]);
        }
        git
    }

    /// Sets the working directory.
    pub fn current_dir(&mut self, dir: &Path) -> &mut Git {
        self.cmd.current_dir(dir);
        self.dir = dir.to_path_buf();
        self
    }

    /// git in `dir` with the user's own configuration (ignore rules,
    /// identity), still without repository-controlled programs.
    pub fn user(dir: &Path) -> Git {
        let mut cmd = Command::new("git");
        cmd.current_dir(dir)
            .env_clear()
            .envs(crate::sys::process::scrubbed_env())
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_OPTIONAL_LOCKS", "0")
            .env("GIT_ATTR_NOSYSTEM", "1")
            .stdin(Stdio::null());
        for setting in HARDENED {
            cmd.args(["-c", setting]);
        }
        Git {
            cmd,
            args: Vec::new(),
            dir: dir.to_path_buf(),
            private: false,
            git_dir: None,
            input: None,
        }
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Git
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Adds one argument.
    pub fn arg(&mut self, arg: impl AsRef<std::ffi::OsStr>) -> &mut Git {
        self.args([arg])
    }

    /// Sets a variable for this command (`GIT_INDEX_FILE`, an identity).
    pub fn env(&mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> &mut Git {
        if key == "GIT_DIR" {
            self.git_dir = Some(PathBuf::from(value.as_ref()));
        }
        self.cmd.env(key, value);
        self
    }

    /// Gives the command `input` on its standard input.
    pub fn input(&mut self, input: impl Into<Vec<u8>>) -> &mut Git {
        self.input = Some(input.into());
        self
    }

    /// Uses `index` instead of the repository's own index.
    pub fn index(&mut self, index: &Path) -> &mut Git {
        self.env("GIT_INDEX_FILE", index)
    }

    /// The arguments as one line, for messages.
    pub fn describe(&self) -> String {
        self.args
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The subcommand: the first argument that is not an option (nor the
    /// value of a `-c`).
    fn subcommand(&self) -> Option<(usize, String)> {
        let mut i = 0;
        while i < self.args.len() {
            let arg = self.args[i].to_string_lossy();
            if arg == "-c" || arg == "-C" {
                i += 2;
            } else if arg.starts_with('-') {
                i += 1;
            } else {
                return Some((i, arg.into_owned()));
            }
        }
        None
    }

    /// Puts the arguments, the hardening that depends on the subcommand
    /// and the disarmed filter drivers on the command (see the module
    /// documentation). Called once, just before it runs.
    fn finish(&mut self) {
        let sub = self.subcommand();
        let name = sub.as_ref().map(|(_, s)| s.as_str());
        let mut drivers = info_attribute_filters(&self.dir, self.git_dir.as_deref());
        if name == Some("apply") {
            // git 2.47 `apply` crashes (SIGSEGV) with an attribute source
            // set, so it reads the tree's `.gitattributes`: every filter
            // driver its configuration knows is disarmed instead.
            drivers.extend(configured_filters(
                &self.dir,
                self.private,
                self.git_dir.as_deref(),
            ));
        } else {
            self.cmd.env("GIT_ATTR_SOURCE", EMPTY_TREE);
        }
        // Names as bytes: a driver's name need not be UTF-8, and a key
        // made from a lossy copy of it would name another driver.
        let config_key = |driver: &[u8], key: &str| -> std::ffi::OsString {
            use std::os::unix::ffi::OsStringExt;
            let mut bytes = b"filter.".to_vec();
            bytes.extend_from_slice(driver);
            bytes.push(b'.');
            bytes.extend_from_slice(key.as_bytes());
            std::ffi::OsString::from_vec(bytes)
        };
        let mut n = 0;
        for driver in &drivers {
            for key in ["clean", "smudge", "process"] {
                self.cmd
                    .env(format!("GIT_CONFIG_KEY_{n}"), config_key(driver, key))
                    .env(format!("GIT_CONFIG_VALUE_{n}"), "");
                n += 1;
            }
            self.cmd
                .env(
                    format!("GIT_CONFIG_KEY_{n}"),
                    config_key(driver, "required"),
                )
                .env(format!("GIT_CONFIG_VALUE_{n}"), "false");
            n += 1;
        }
        if n > 0 {
            self.cmd.env("GIT_CONFIG_COUNT", n.to_string());
        }
        let extra: &[&str] = match name {
            Some(s) if DIFF_COMMANDS.contains(&s) => &["--no-textconv", "--no-ext-diff"],
            Some("blame") => &["--no-textconv"],
            _ => &[],
        };
        for (i, arg) in self.args.iter().enumerate() {
            self.cmd.arg(arg);
            if sub.as_ref().is_some_and(|(at, _)| *at == i) {
                self.cmd.args(extra);
            }
        }
    }

    /// Runs it; its stdout, or its stderr as the error.
    pub fn output(&mut self) -> Result<Vec<u8>, GitError> {
        let (args, out) = self.run()?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
            Err(GitError {
                args,
                stderr: if stderr.is_empty() {
                    format!("exit status {}", out.status)
                } else {
                    stderr
                },
            })
        }
    }

    /// Runs it with `input` on its stdin (see [`Git::input`]); its exit
    /// code and stdout, whatever the code (`check-ignore` says "none"
    /// with 1).
    pub fn output_with_input(
        &mut self,
        input: Vec<u8>,
    ) -> Result<(Option<i32>, Vec<u8>), GitError> {
        self.input = Some(input);
        let (_, out) = self.run()?;
        Ok((out.status.code(), out.stdout))
    }

    /// Runs it to the end: its arguments as typed, and what it did. Its
    /// [`Git::input`], if any, is written by a thread of its own while
    /// this one reads the output, so neither pipe can fill up and stall
    /// git.
    fn run(&mut self) -> Result<(String, std::process::Output), GitError> {
        let args = self.describe();
        self.finish();
        let cannot = |e: std::io::Error| GitError {
            args: args.clone(),
            stderr: format!("cannot run git: {e}"),
        };
        let out = match self.input.take() {
            None => self.cmd.output().map_err(cannot)?,
            Some(input) => {
                let mut child = self
                    .cmd
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(cannot)?;
                let stdin = child.stdin.take();
                let writer = std::thread::spawn(move || {
                    use std::io::Write;
                    // git may stop reading early; its exit status says why.
                    let _ = stdin.map(|mut pipe| pipe.write_all(&input));
                });
                let out = child.wait_with_output().map_err(cannot)?;
                let _ = writer.join();
                out
            }
        };
        Ok((args, out))
    }

    /// Runs it, reading its stdout as it comes: at most `limit` bytes, else
    /// `None` (git is killed as soon as it writes more). wf's memory for the
    /// answer stays under `limit`, whatever git would write.
    pub fn output_within(&mut self, limit: u64) -> Result<Option<Vec<u8>>, GitError> {
        use std::io::Read;
        let args = self.describe();
        self.finish();
        let failed = |e: std::io::Error| GitError {
            args: args.clone(),
            stderr: format!("cannot run git: {e}"),
        };
        let mut child = self
            .cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(failed)?;
        let mut stderr = child.stderr.take().expect("piped stderr");
        let errors = std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = (&mut stderr).take(64 * 1024).read_to_end(&mut text);
            text
        });
        let mut out = Vec::new();
        let read = child
            .stdout
            .take()
            .expect("piped stdout")
            .take(limit.saturating_add(1))
            .read_to_end(&mut out);
        if read.is_err() || out.len() as u64 > limit {
            let _ = child.kill();
            let _ = child.wait();
            let _ = errors.join();
            read.map_err(failed)?;
            return Ok(None);
        }
        let status = child.wait().map_err(failed)?;
        let stderr = errors.join().unwrap_or_default();
        if status.success() {
            return Ok(Some(out));
        }
        let stderr = String::from_utf8_lossy(&stderr).trim().to_string();
        Err(GitError {
            args,
            stderr: if stderr.is_empty() {
                format!("exit status {status}")
            } else {
                stderr
            },
        })
    }

    /// Runs it; its stdout as text, trimmed.
    pub fn text(&mut self) -> Result<String, GitError> {
        Ok(String::from_utf8_lossy(&self.output()?).trim().to_string())
    }

    /// Runs it; whether it succeeded (for questions such as "is this a
    /// commit?").
    pub fn succeeds(&mut self) -> bool {
        self.output().is_ok()
    }
}

/// The git directory whose `info/` holds the attributes of the repository
/// at or above `dir` (or of `explicit`, the `GIT_DIR` a command runs
/// with): `.git` itself, or for a linked worktree (a `.git` file,
/// `gitdir: …`) the common directory it names; a `commondir` file in the
/// git directory is followed as git follows it.
fn common_git_dir(dir: &Path, explicit: Option<&Path>) -> Option<PathBuf> {
    let git_dir = match explicit {
        Some(git_dir) => dir.join(git_dir),
        None => {
            let root = dir.ancestors().find(|d| d.join(".git").exists())?;
            let dot_git = root.join(".git");
            if dot_git.is_dir() {
                dot_git
            } else {
                let text = std::fs::read_to_string(&dot_git).ok()?;
                root.join(text.strip_prefix("gitdir:")?.trim())
            }
        }
    };
    match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(common) => Some(git_dir.join(common.trim())),
        Err(_) => Some(git_dir),
    }
}

/// The filter drivers a repository's `info/attributes` names (`filter=x`
/// on any line, macro definitions included), sorted, as bytes. No file
/// (the usual case) costs one failed open.
fn info_attribute_filters(
    dir: &Path,
    explicit: Option<&Path>,
) -> std::collections::BTreeSet<Vec<u8>> {
    let Some(text) = common_git_dir(dir, explicit)
        .and_then(|git_dir| std::fs::read(git_dir.join("info/attributes")).ok())
    else {
        return Default::default();
    };
    text.split(|b| b.is_ascii_whitespace())
        .filter_map(|word| word.strip_prefix(b"filter="))
        .filter(|name| !name.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// Every filter driver (`filter.<name>.*`) the configuration of `dir`
/// defines, in the scope wf's command runs with, sorted, as bytes.
fn configured_filters(
    dir: &Path,
    private: bool,
    explicit: Option<&Path>,
) -> std::collections::BTreeSet<Vec<u8>> {
    let mut git = if private {
        Git::private(dir)
    } else {
        Git::user(dir)
    };
    if let Some(git_dir) = explicit {
        git.env("GIT_DIR", git_dir);
    }
    let out = git
        .args(["config", "--name-only", "-z", "--get-regexp", r"^filter\."])
        .output()
        .unwrap_or_default();
    out.split(|b| *b == 0)
        .filter_map(|key| {
            let rest = key.strip_prefix(b"filter.")?;
            let dot = rest.iter().rposition(|&b| b == b'.')?;
            Some(rest[..dot].to_vec())
        })
        .collect()
}

/// The repository root for `dir`: the top of the git work tree holding it
/// (the nearest ancestor with a `.git` entry), else `None`.
pub fn find_root(dir: &Path) -> Option<PathBuf> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// The repository root for `dir`, or `dir` itself outside git.
pub fn repo_root(dir: &Path) -> PathBuf {
    find_root(dir).unwrap_or_else(|| dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()))
}

/// Whether `root` is the top of a git work tree.
pub fn is_git(root: &Path) -> bool {
    root.join(".git").exists()
}

/// The commit the user's tree is on, if any.
pub fn head_revision(root: &Path) -> Option<String> {
    head(root).map(|(commit, _)| commit)
}

/// The commit the user's tree is on and that commit's tree, in one git
/// call; `None` before the first commit (or outside git).
pub fn head(root: &Path) -> Option<(String, String)> {
    if !is_git(root) {
        return None;
    }
    // `--` ends the revisions (git echoes it last).
    let out = Git::user(root)
        .args(["rev-parse", "HEAD^{commit}", "HEAD^{tree}", "--"])
        .text()
        .ok()?;
    let mut lines = out.lines();
    match (lines.next(), lines.next()) {
        (Some(commit), Some(tree)) if !commit.is_empty() && !tree.is_empty() => {
            Some((commit.to_string(), tree.to_string()))
        }
        _ => None,
    }
}

/// The current user: git `user.email`, else `$USER`, else `unknown`.
pub fn current_user(root: &Path) -> String {
    Git::user(root)
        .args(["config", "user.email"])
        .text()
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init(dir: &Path) {
        Git::private(dir).args(["init", "-q"]).output().unwrap();
    }

    #[test]
    fn planted_fsmonitor_and_hooks_never_run() {
        let dir = tempfile::tempdir().unwrap();
        init(dir.path());
        let canary = dir.path().join("canary");
        let script = dir.path().join("monitor.sh");
        std::fs::write(
            &script,
            format!("#!/bin/sh\ntouch {}\necho 0\n", canary.display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let config = dir.path().join(".git/config");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&format!(
            "[core]\n\tfsmonitor = {0}\n\thooksPath = {1}\n",
            script.display(),
            dir.path().display()
        ));
        std::fs::write(&config, text).unwrap();
        std::fs::write(dir.path().join("pre-commit"), "#!/bin/sh\ntouch canary\n").unwrap();
        std::fs::write(dir.path().join("a.txt"), "a\n").unwrap();
        Git::user(dir.path()).args(["add", "-A"]).output().unwrap();
        Git::user(dir.path()).args(["status"]).output().unwrap();
        assert!(!canary.exists(), "a planted fsmonitor ran");
    }

    #[test]
    fn attributes_in_the_tree_cannot_hide_a_diff() {
        let dir = tempfile::tempdir().unwrap();
        init(dir.path());
        std::fs::write(dir.path().join(".gitattributes"), "* -diff\n").unwrap();
        std::fs::write(dir.path().join("a.txt"), "secret change\n").unwrap();
        Git::private(dir.path())
            .args(["add", "-A"])
            .output()
            .unwrap();
        let diff = Git::private(dir.path())
            .args([
                "diff",
                "--cached",
                "--no-ext-diff",
                "--no-textconv",
                EMPTY_TREE,
            ])
            .text()
            .unwrap();
        assert!(diff.contains("+secret change"), "{diff}");
    }

    /// A script that leaves `canary` behind when git runs it as a filter,
    /// textconv or external diff (and passes its input through).
    fn planted_driver(dir: &Path, canary: &Path) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let script = dir.join("driver.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\ntouch {}\ncat \"$@\" 2>/dev/null\nexit 0\n",
                canary.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }

    #[test]
    fn a_driver_named_in_bytes_that_are_not_utf8_under_an_explicit_git_dir_never_runs() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("w");
        let git_dir = dir.path().join("g");
        std::fs::create_dir(&work).unwrap();
        Git::private(&work)
            .args(["init", "-q", "--template=", "--separate-git-dir"])
            .arg(&git_dir)
            .arg(&work)
            .output()
            .unwrap();
        let canary = dir.path().join("canary");
        let script = planted_driver(dir.path(), &canary);
        // A name git reads as bytes; a lossy copy of it (U+FFFD) would
        // disarm another driver.
        std::fs::create_dir_all(git_dir.join("info")).unwrap();
        std::fs::write(git_dir.join("info/attributes"), b"* filter=\xff\n").unwrap();
        for key in [&b"filter.\xff.clean"[..], b"filter.\xff.smudge"] {
            Git::private(&work)
                .env("GIT_DIR", &git_dir)
                .arg("config")
                .arg(std::ffi::OsStr::from_bytes(key))
                .arg(&script)
                .output()
                .unwrap();
        }
        // The work tree's `.git` file names nowhere: the attributes that
        // count are those of the git directory the command runs with.
        std::fs::write(work.join(".git"), "gitdir: /nonexistent\n").unwrap();
        std::fs::write(work.join("a.txt"), "a\n").unwrap();
        Git::private(&work)
            .env("GIT_DIR", &git_dir)
            .env("GIT_WORK_TREE", &work)
            .args(["add", "-A"])
            .output()
            .unwrap();
        let tree = Git::private(&work)
            .env("GIT_DIR", &git_dir)
            .env("GIT_WORK_TREE", &work)
            .args(["write-tree"])
            .text()
            .unwrap();
        std::fs::remove_file(work.join("a.txt")).unwrap();
        Git::private(&work)
            .env("GIT_DIR", &git_dir)
            .env("GIT_WORK_TREE", &work)
            .args(["read-tree", "--reset", "-u", tree.trim()])
            .output()
            .unwrap();
        assert_eq!(std::fs::read_to_string(work.join("a.txt")).unwrap(), "a\n");
        assert!(!canary.exists(), "a planted filter ran");
    }

    #[test]
    fn drivers_named_in_info_attributes_never_run() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("r");
        std::fs::create_dir(&repo).unwrap();
        init(&repo);
        let canary = dir.path().join("canary");
        let script = planted_driver(dir.path(), &canary);
        std::fs::write(repo.join(".git/info/attributes"), "* diff=x filter=x\n").unwrap();
        for key in ["diff.x.textconv", "filter.x.clean", "filter.x.smudge"] {
            Git::private(&repo)
                .args(["config", key])
                .arg(&script)
                .output()
                .unwrap();
        }
        std::fs::write(repo.join("a.txt"), "a\n").unwrap();
        // No `--no-textconv` from the caller: the builder adds it.
        Git::private(&repo).args(["add", "-A"]).output().unwrap();
        let diff = Git::private(&repo)
            .args(["diff", "--cached", EMPTY_TREE])
            .text()
            .unwrap();
        assert!(diff.contains("+a"), "{diff}");
        Git::private(&repo)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-qm",
                "c",
            ])
            .output()
            .unwrap();
        Git::private(&repo)
            .args(["log", "-p", "-1"])
            .output()
            .unwrap();
        assert!(!canary.exists(), "a driver of info/attributes ran");
    }

    #[test]
    fn apply_runs_no_filter_of_the_trees_attributes() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("r");
        std::fs::create_dir(&repo).unwrap();
        init(&repo);
        let canary = dir.path().join("canary");
        let script = planted_driver(dir.path(), &canary);
        std::fs::write(repo.join(".gitattributes"), "*.txt filter=y\n").unwrap();
        std::fs::write(repo.join("a.txt"), "a\n").unwrap();
        for key in ["filter.y.clean", "filter.y.smudge"] {
            Git::private(&repo)
                .args(["config", key])
                .arg(&script)
                .output()
                .unwrap();
        }
        let patch = dir.path().join("p.patch");
        std::fs::write(
            &patch,
            "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1,2 @@\n a\n+b\n",
        )
        .unwrap();
        Git::private(&repo)
            .arg("apply")
            .arg(&patch)
            .output()
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(repo.join("a.txt")).unwrap(),
            "a\nb\n"
        );
        assert!(!canary.exists(), "a filter ran during apply");
    }

    #[test]
    fn errors_name_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let err = Git::private(dir.path())
            .args(["rev-parse", "--verify", "HEAD"])
            .output()
            .unwrap_err();
        assert_eq!(err.args, "rev-parse --verify HEAD");
        assert!(!err.stderr.is_empty());
    }

    #[test]
    fn roots() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(find_root(dir.path()), None);
        init(dir.path());
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        assert_eq!(find_root(&sub).unwrap(), dir.path().canonicalize().unwrap());
        assert!(is_git(dir.path()));
        assert_eq!(head_revision(dir.path()), None);
    }
}
