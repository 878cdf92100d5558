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
//!   tree (`GIT_ATTR_SOURCE`), so a `.gitattributes` in the tree has no say.
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
    what: Vec<String>,
    /// What the command reads on its standard input (none: `/dev/null`).
    input: Option<Vec<u8>>,
}

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
            .stdin(Stdio::null());
        for setting in HARDENED {
            cmd.args(["-c", setting]);
        }
        Git {
            cmd,
            what: Vec::new(),
            input: None,
        }
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Git
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        for arg in args {
            let arg = arg.as_ref();
            self.what.push(arg.to_string_lossy().into_owned());
            self.cmd.arg(arg);
        }
        self
    }

    /// Adds one argument.
    pub fn arg(&mut self, arg: impl AsRef<std::ffi::OsStr>) -> &mut Git {
        self.args([arg])
    }

    /// Sets a variable for this command (`GIT_INDEX_FILE`, an identity).
    pub fn env(&mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> &mut Git {
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
        self.what.join(" ")
    }

    /// Runs it; its stdout, or its stderr as the error.
    pub fn output(&mut self) -> Result<Vec<u8>, GitError> {
        let args = self.describe();
        // git 2.47 `apply` crashes (SIGSEGV) with an attribute source set;
        // it reads attributes only for whitespace and line-ending rules of
        // the patch it applies, never to run a program.
        if self.what.first().map(String::as_str) != Some("apply") {
            self.cmd.env("GIT_ATTR_SOURCE", EMPTY_TREE);
        }
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
                // Written from another thread while this one reads the
                // output: neither pipe can fill up and stall git.
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
