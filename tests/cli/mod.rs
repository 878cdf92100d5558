//! CLI-level tests: the real `wf` binary in temporary git repositories with
//! real files and real subprocesses.

mod batch;
mod boundary;
mod checkout;
mod completions;
mod docs;
mod emit;
mod figures;
mod flags;
mod honest_skips;
mod init;
mod lifecycle;
mod live;
mod mcp;
mod names;
mod otel;
mod plan;
pub mod project_toolchains;
pub mod pty;
mod real_projects;
mod recipes;
mod replay;
mod report;
mod reread;
mod resume;
mod run;
mod sandbox;
mod sandbox_network;
mod schema;
mod script;
mod signals;
mod step_settings;
mod story;
mod structure;
mod toolchain;
mod trust;
mod uses;
mod validate;
mod workspace;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary git repository to run wf in.
pub struct Repo {
    dir: tempfile::TempDir,
    /// `TMPDIR` of wf in this repository: its workspace slots, which
    /// outlive a run, go with the test.
    tmp: tempfile::TempDir,
}

/// What a wf process did.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    fn from(out: Output) -> Ran {
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Panics with the whole output unless the exit code is `code`.
    #[track_caller]
    pub fn code(&self, code: i32) -> &Ran {
        assert_eq!(
            self.code, code,
            "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn wf_bin() -> &'static str {
    env!("CARGO_BIN_EXE_wf")
}

impl Repo {
    /// An empty git repository with a committer identity.
    pub fn new() -> Repo {
        Repo::new_in(&std::env::temp_dir())
    }

    /// An empty git repository in `parent` (another filesystem than the
    /// one of wf's workspaces, say), with a committer identity.
    pub fn new_in(parent: &Path) -> Repo {
        let dir = tempfile::tempdir_in(parent).unwrap();
        git(dir.path(), &["init", "-q", "-b", "main"]);
        git(dir.path(), &["config", "user.email", "tester@example.com"]);
        git(dir.path(), &["config", "user.name", "Tester"]);
        Repo {
            dir,
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    /// wf's cache and state directories for this repository's tests
    /// (`XDG_CACHE_HOME`, `XDG_STATE_HOME` under its `TMPDIR`): the
    /// recipe cache, run-folder marks and sandbox approvals go with the
    /// test. Every wf process of one test must share them.
    pub fn xdg(&self) -> [(&'static str, PathBuf); 2] {
        [
            ("XDG_CACHE_HOME", self.tmp.path().join("xdg-cache")),
            ("XDG_STATE_HOME", self.tmp.path().join("xdg-state")),
        ]
    }

    /// wf's `TMPDIR` in this repository (where its workspace slots live).
    pub fn tmp(&self) -> &Path {
        self.tmp.path()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file (creating directories).
    pub fn file(&self, rel: &str, content: &str) -> &Repo {
        let p = self.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
        self
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.join(rel).exists()
    }

    /// Commits everything.
    pub fn commit(&self) -> &Repo {
        git(self.path(), &["add", "-A"]);
        git(self.path(), &["commit", "-qm", "state"]);
        self
    }

    /// `git status --porcelain` without `.wf/` (which ignores itself).
    pub fn status(&self) -> String {
        git(self.path(), &["status", "--porcelain"])
    }

    /// Runs wf with `args` in the repository, stdin closed, no terminal.
    pub fn wf(&self, args: &[&str]) -> Ran {
        self.wf_env(args, &[])
    }

    pub fn wf_env(&self, args: &[&str], env: &[(&str, &str)]) -> Ran {
        let out = Command::new(wf_bin())
            .args(args)
            .current_dir(self.path())
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("OPENAI_API_KEY")
            // A developer's own tracing is not the tests' receiver.
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .env("NO_COLOR", "1")
            .env("TMPDIR", self.tmp.path())
            .envs(self.xdg())
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        Ran::from(out)
    }

    /// The run folders, oldest first.
    pub fn runs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.join(".wf/runs"))
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// The trace of the newest run as JSON values.
    pub fn last_trace(&self) -> Vec<serde_json::Value> {
        let run = self.runs().pop().expect("a run");
        std::fs::read_to_string(run.join("trace.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn last_summary(&self) -> serde_json::Value {
        let run = self.runs().pop().expect("a run");
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap()
    }
}

/// The events of `kind` in a trace.
pub fn events<'a>(trace: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    trace.iter().filter(|e| e["kind"] == kind).collect()
}
