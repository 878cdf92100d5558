//! What a plan's commands get beyond the default sandbox: its
//! [`Widening`], which a run needs the user's approval for
//! (`wf::app::trust`), and the grants no approval makes acceptable
//! ([`check_grants`]).
//!
//! The default sandbox (no `sandbox:` in the task file) confines every
//! command to the workspace, the system and toolchain directories and no
//! network. A task file widens it with `sandbox: off`, `network: true`
//! (the task's, or one step's `sandbox: { network: true }`) or extra
//! `read:` / `write:` roots. The widening is that of the whole plan: the
//! task file's `sandbox:` and every step's own network, recipes' steps
//! included (a recipe's command gets its caller's network and no more, see
//! `bound`; its own `sandbox:` is never applied), so what is shown and
//! approved is what the commands get.
//!
//! Decision: a `read:` or `write:` root that is `/`, the home directory
//! (`~/`, `~/.`) or a parent of it is refused outright, not asked about. It
//! hands every command the user's keys, tokens and other projects, which
//! no prompt line conveys better than `sandbox: off` does, and a task
//! that needs that much says `sandbox: off` and is asked about as such.
//! A root inside a directory that holds credentials (`~/.ssh`, `~/.aws`,
//! …, [`crate::sandbox::SENSITIVE_HOME_DIRS`]) is allowed but flagged in
//! the approval prompt and in `wf plan`.

use super::{Plan, PlanError, PlanStep, StepKind};
use crate::spec::{Sandbox, SandboxMode};
use std::path::{Component, Path, PathBuf};

pub use crate::record::wire::{Approval, Widening};

/// What the plan layer computes of a [`Widening`] (the type is the
/// record's: `run_started` carries the approval of one).
pub trait WideningExt: Sized {
    /// The widening of `plan`, with its `sandbox:` as planned.
    fn of(plan: &Plan) -> Self;
    /// The widening of a task file as written, before it is planned.
    fn of_spec(spec: &crate::spec::Spec) -> Self;
    /// The widening of a `sandbox:` whose steps with their own network are
    /// `network_steps`.
    fn new(sandbox: &Sandbox, network_steps: Vec<String>) -> Self;
    /// For `wf batch` and `wf emit`: an error unless `flag` or nothing to
    /// approve.
    fn require_flag(&self, task: &Path, flag: bool, command: &str) -> Result<(), PlanError>;
    /// Nothing beyond the default.
    fn is_empty(&self) -> bool;
    /// One line per grant, for the approval prompt and `wf plan`.
    fn lines(&self, home: Option<&Path>) -> Vec<String>;
}

impl WideningExt for Widening {
    /// The widening of `plan`, with its `sandbox:` as planned (the
    /// command line's `--sandbox` applied).
    fn of(plan: &Plan) -> Widening {
        let mut network = Vec::new();
        if plan.sandbox.network == crate::spec::Network::Off {
            step_networks(&plan.steps, "", &mut network);
        }
        Widening::new(&plan.sandbox, network)
    }

    /// The widening of a task file as written, before it is planned (`wf
    /// batch`, `wf emit`): its `sandbox:` and its steps' own network. The
    /// same as its plan's, as a recipe never widens its caller's.
    fn of_spec(spec: &crate::spec::Spec) -> Widening {
        let network = spec
            .steps
            .iter()
            .filter_map(|s| {
                let network = s.sandbox.as_ref().and_then(|s| s.network.as_ref())?;
                (*network != crate::spec::Network::Off)
                    .then(|| format!("step `{}`{}", s.id, hosts_suffix(network)))
            })
            .collect();
        Widening::new(&spec.sandbox, network)
    }

    /// The widening of a task file's `sandbox:` whose steps with their own
    /// network are `network_steps` (labels as in [`Widening::network`]).
    fn new(sandbox: &Sandbox, network_steps: Vec<String>) -> Widening {
        if sandbox.mode == SandboxMode::Off {
            return Widening {
                off: true,
                ..Widening::default()
            };
        }
        let sorted = |list: &[String]| {
            let mut list = list.to_vec();
            list.sort();
            list.dedup();
            list
        };
        Widening {
            off: false,
            network: match &sandbox.network {
                crate::spec::Network::Off => network_steps,
                all => vec![format!("every command{}", hosts_suffix(all))],
            },
            read: sorted(&sandbox.read),
            write: sorted(&sandbox.write),
        }
    }

    /// For `wf batch` and `wf emit`, whose runs cannot ask anyone: an
    /// error naming each grant and `--trust-sandbox`, unless that was given
    /// or there is nothing to approve.
    fn require_flag(&self, task: &Path, flag: bool, command: &str) -> Result<(), PlanError> {
        if flag || self.is_empty() {
            return Ok(());
        }
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let lines: String = self
            .lines(home.as_deref())
            .iter()
            .map(|l| format!("  - {l}\n"))
            .collect();
        Err(PlanError::Untrusted(format!(
            "{} widens the sandbox its commands run in:\n{lines}nothing ran. Its runs cannot ask \
             anyone: pass --trust-sandbox to `{command}` to approve this widening for every run",
            task.display()
        )))
    }

    /// Nothing beyond the default.
    fn is_empty(&self) -> bool {
        *self == Widening::default()
    }

    /// One line per grant, for the approval prompt and `wf plan`: what it
    /// gives, each root with the path it names and a warning where it
    /// holds credentials. Task-file text: the caller escapes it.
    fn lines(&self, home: Option<&Path>) -> Vec<String> {
        if self.off {
            return vec![
                "sandbox: off — every command (checks, command steps, shell calls, MCP servers) \
                 runs unconfined, as you: all your files, keys and tokens, and the network"
                    .to_string(),
            ];
        }
        let mut out = Vec::new();
        for who in &self.network {
            if who.contains(" may connect to ") {
                // A host list: the label says which hosts.
                out.push(format!(
                    "network: {who} (by default commands have no network)"
                ));
            } else {
                out.push(format!(
                    "network: {who} may connect to any host (by default commands have none)"
                ));
            }
        }
        for (what, list) in [("read", &self.read), ("write", &self.write)] {
            for entry in list {
                let path = crate::sandbox::expand_home(std::slice::from_ref(entry), home);
                let mut line = format!("{what}: {entry}");
                if let Some(path) = path.first() {
                    if path.as_os_str() != entry.as_str() {
                        line.push_str(&format!(" ({})", path.display()));
                    }
                    if let Some(dir) = credentials_under(path, home) {
                        line.push_str(&format!(
                            " — WARNING: inside ~/{dir}, which holds credentials"
                        ));
                    }
                }
                out.push(line);
            }
        }
        out
    }
}

/// ` (only these hosts: …)` for a host list, nothing for the whole network.
fn hosts_suffix(network: &crate::spec::Network) -> String {
    match network {
        crate::spec::Network::Hosts(hosts) => format!(
            " may connect to {}, through wf's proxy, and no other host",
            hosts.join(", ")
        ),
        _ => String::new(),
    }
}

/// The steps (recursively) whose commands have their own network.
fn step_networks(steps: &[PlanStep], prefix: &str, out: &mut Vec<String>) {
    for step in steps {
        let id = step.id.as_deref().unwrap_or("main");
        match &step.kind {
            StepKind::Command {
                network: Some(network),
                ..
            } if *network != crate::spec::Network::Off => {
                out.push(format!("step `{prefix}{id}`{}", hosts_suffix(network)));
            }
            StepKind::Agent(agent)
                if agent
                    .network
                    .as_ref()
                    .is_some_and(|n| *n != crate::spec::Network::Off) =>
            {
                let network = agent.network.as_ref().expect("checked above");
                out.push(format!("step `{prefix}{id}`{}", hosts_suffix(network)));
            }
            StepKind::Uses(used) => step_networks(&used.steps, &format!("{prefix}{id}."), out),
            _ => {}
        }
    }
}

/// The [`crate::sandbox::SENSITIVE_HOME_DIRS`] entry `path` is in, if any.
fn credentials_under(path: &Path, home: Option<&Path>) -> Option<&'static str> {
    let home = home?;
    let path = resolved(path);
    let homes = [home.to_path_buf(), resolved(home)];
    crate::sandbox::SENSITIVE_HOME_DIRS
        .iter()
        .find(|dir| homes.iter().any(|h| path.starts_with(h.join(dir))))
        .copied()
}

/// `path` with symbolic links resolved where it exists, else with `.`
/// and `..` taken out lexically.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Refuses a `read:` or `write:` root of `sandbox` that is `/`, the home
/// directory or a parent of it (after `~` expansion and symbolic links,
/// with `home` as the home directory): see the module docs.
pub fn check_grants(sandbox: &Sandbox, home: Option<&Path>) -> Result<(), PlanError> {
    let homes: Vec<PathBuf> = home
        .iter()
        .flat_map(|h| [h.to_path_buf(), resolved(h)])
        .collect();
    for (what, list) in [("read", &sandbox.read), ("write", &sandbox.write)] {
        for entry in list {
            let Some(path) = crate::sandbox::expand_home(std::slice::from_ref(entry), home)
                .into_iter()
                .next()
            else {
                continue;
            };
            let path = resolved(&path);
            let whole = if path == Path::new("/") {
                Some("the whole filesystem")
            } else if homes.iter().any(|h| h == &path) {
                Some("your whole home directory")
            } else if homes.iter().any(|h| h.starts_with(&path)) {
                Some("a parent of your home directory")
            } else {
                None
            };
            if let Some(whole) = whole {
                return Err(PlanError::Sandbox(format!(
                    "sandbox.{what} `{entry}` grants {whole} ({}): every key, token and project \
                     of yours to every command; wf refuses it. Name the directories the commands \
                     need (such as `~/.m2`), or say `sandbox: off`, which wf asks you about",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox(read: &[&str], write: &[&str]) -> Sandbox {
        Sandbox {
            read: read.iter().map(|s| s.to_string()).collect(),
            write: write.iter().map(|s| s.to_string()).collect(),
            ..Sandbox::default()
        }
    }

    #[test]
    fn the_home_the_root_and_parents_of_home_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home/me");
        std::fs::create_dir_all(home.join(".m2")).unwrap();
        std::os::unix::fs::symlink(&home, tmp.path().join("link")).unwrap();
        let link = tmp.path().join("link").display().to_string();
        let parent = tmp.path().join("home").display().to_string();
        for (read, write) in [
            (vec!["~/"], vec![]),
            (vec!["~"], vec![]),
            (vec![], vec!["~/."]),
            (vec!["/"], vec![]),
            (vec![], vec![link.as_str()]),
            (vec![parent.as_str()], vec![]),
        ] {
            let err = check_grants(&sandbox(&read, &write), Some(&home)).unwrap_err();
            assert!(matches!(err, PlanError::Sandbox(_)), "{err:?}");
            let err = err.to_string();
            assert!(err.contains("wf refuses it"), "{read:?} {write:?}: {err}");
        }
        check_grants(&sandbox(&["~/.m2", "/opt/sdk"], &["~/.m2"]), Some(&home)).unwrap();
    }

    #[test]
    fn a_widening_nobody_can_approve_needs_the_flag() {
        let w = Widening::new(&sandbox(&["/opt/sdk"], &[]), Vec::new());
        let err = w
            .require_flag(Path::new("task.yaml"), false, "wf batch")
            .unwrap_err();
        assert!(matches!(err, PlanError::Untrusted(_)), "{err:?}");
        assert!(
            err.to_string().starts_with(
                "task.yaml widens the sandbox its commands run in:\n  - read: /opt/sdk\nnothing ran."
            ),
            "{err}"
        );
        w.require_flag(Path::new("task.yaml"), true, "wf batch")
            .unwrap();
        Widening::new(&Sandbox::default(), Vec::new())
            .require_flag(Path::new("task.yaml"), false, "wf batch")
            .unwrap();
    }

    #[test]
    fn lines_name_each_grant_and_flag_credentials() {
        let home = Path::new("/home/me");
        let w = Widening::new(
            &Sandbox {
                network: crate::spec::Network::All,
                ..sandbox(&["~/.ssh/keys", "/opt/sdk"], &["~/.m2"])
            },
            Vec::new(),
        );
        let lines = w.lines(Some(home));
        assert_eq!(
            lines[0],
            "network: every command may connect to any host (by default commands have none)"
        );
        assert_eq!(lines[1], "read: /opt/sdk");
        assert!(
            lines[2].starts_with("read: ~/.ssh/keys (/home/me/.ssh/keys) — WARNING: inside ~/.ssh"),
            "{}",
            lines[2]
        );
        assert_eq!(lines[3], "write: ~/.m2 (/home/me/.m2)");
        // `off` makes the rest moot.
        let off = Widening::new(
            &Sandbox {
                mode: SandboxMode::Off,
                network: crate::spec::Network::All,
                ..Sandbox::default()
            },
            Vec::new(),
        );
        assert!(off.off && off.network.is_empty());
        assert!(Widening::new(&Sandbox::default(), Vec::new()).is_empty());
    }
}
