//! The confinement of the run's commands: the sandbox (roots, level,
//! network) and the proxy for `sandbox.network` host lists, the MCP
//! servers the run may call, and the commands' environment.

use super::*;

impl Executor<'_> {
    /// Whether a confined command of the run may reach the network (the
    /// task's `sandbox.network` or a step's): then it gets package caches
    /// of wf's own. Unconfined commands use the user's own.
    pub(super) fn reaches_network(&self) -> bool {
        fn steps_reach(steps: &[crate::plan::PlanStep]) -> bool {
            steps.iter().any(|step| match &step.kind {
                crate::plan::StepKind::Command { network, .. } => network
                    .as_ref()
                    .is_some_and(|n| *n != crate::spec::Network::Off),
                crate::plan::StepKind::Agent(agent) => agent
                    .network
                    .as_ref()
                    .is_some_and(|n| *n != crate::spec::Network::Off),
                crate::plan::StepKind::Uses(used) => steps_reach(&used.steps),
            })
        }
        self.plan.sandbox.mode != crate::spec::SandboxMode::Off
            && (self.plan.sandbox.network != crate::spec::Network::Off
                || steps_reach(&self.plan.steps))
    }

    /// Sets up the confinement of every command the run starts, in `ws`,
    /// and records it. With `sandbox: off` there is none, and the record
    /// says so.
    pub(super) fn confine(&mut self, ws: &Workspace) -> Result<(), EngineError> {
        let setting = &self.plan.sandbox;
        let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
        if setting.mode == crate::spec::SandboxMode::Off {
            self.confined.sandbox = None;
            ws.mark_unconfined()
                .map_err(EngineError::workspace("cannot prepare the workspace"))?;
            return self.emit(Event::SandboxReady {
                mode: "off".into(),
                network: true,
                hosts: Vec::new(),
                read: vec!["/".into()],
                write: vec!["/".into()],
                read_only: Vec::new(),
                level: None,
                env: env_names(self.plan, false),
            });
        }
        let sandboxed = crate::sandbox::confinement(
            &setting.read,
            &setting.write,
            setting.network.is_all(),
            &ws.dir,
            &ws.tmp,
            &ws.sandbox_read,
            &ws.sandbox_write,
        )
        .map_err(EngineError::io(
            "cannot find wf's own executable for the sandbox",
        ))?;
        let sandboxed = match &self.options.sandbox_helper {
            Some(helper) => crate::sandbox::Sandboxed {
                launcher: crate::sandbox::Launcher::with_exe(helper),
                ..sandboxed
            },
            None => sandboxed,
        };
        // The project where it expects itself: the workspace at the
        // repository's path (full level), the toolchain directories it
        // links to read-only (see `workspace`).
        let tools: Vec<crate::sandbox::Tool> = ws
            .tools
            .iter()
            .map(|t| crate::sandbox::Tool {
                at: t.at.clone(),
                source: t.source.clone(),
            })
            .collect();
        let mut sandboxed = sandboxed;
        // The slot's git directory is a read root, beside the workspace;
        // a task's own write root can hold it (`sandbox.write: [/tmp]`
        // with wf's workspaces in /tmp), and grants add up. Then it is
        // also a read-only path: bound read-only at the full level,
        // compared after each command at the level without namespaces (a
        // change fails the command and ends the run, see
        // `WorkspaceError::Tampered`).
        let git_dir = ws.git_dir();
        let git_dir = git_dir.canonicalize().unwrap_or(git_dir);
        if !ws.is_checkout()
            && sandboxed
                .policy
                .write
                .iter()
                .any(|w| git_dir.starts_with(w))
        {
            let mut policy = sandboxed.policy.clone();
            policy.read_only.push(git_dir);
            sandboxed.policy = policy.normalized();
        }
        // A checkout is at the repository's path already (and has a guard
        // of its own for its `.git`, see `workspace::checkout`).
        if !ws.is_checkout() {
            sandboxed.policy = sandboxed.policy.placed(Some(&ws.origin), &tools);
            sandboxed.policy.changed_mark = Some(ws.distrust_mark());
        }
        // A checkout's `.wf` (the run's own records among them): read-only
        // like its `.git` (bound read-only: checkout mode runs at the full
        // level only, see `workspace::checkout`).
        if !ws.sandbox_read_only.is_empty() {
            if sandboxed.level != crate::sandbox::Level::Full {
                return Err(EngineError::Setup(
                    "refused: --workspace checkout needs the sandbox's full level".to_string(),
                ));
            }
            let mut policy = sandboxed.policy.clone();
            policy
                .read_only
                .extend(ws.sandbox_read_only.iter().cloned());
            sandboxed.policy = policy.normalized();
        }
        // A proxy for each list of hosts the task or a step has.
        let mut lists: Vec<Vec<String>> = Vec::new();
        network_lists(&self.plan.steps, &mut lists);
        lists.push(setting.network.hosts().to_vec());
        for list in lists {
            if list.is_empty() || self.confined.proxies.contains_key(&list) {
                continue;
            }
            let proxy = crate::sandbox::proxy::Proxy::start(list.clone(), sandboxed.level)
                .map_err(EngineError::io("cannot start wf's network proxy"))?;
            self.confined
                .proxies
                .insert(list, std::sync::Arc::new(proxy));
        }
        let sandboxed = self.with_network(sandboxed, &setting.network);
        let policy = &sandboxed.policy;
        let shown = |paths: &[std::path::PathBuf]| -> Vec<String> {
            paths
                .iter()
                .map(|p| shown_root(p, ws, home.as_deref()))
                .collect()
        };
        self.emit(Event::SandboxReady {
            mode: "auto".into(),
            network: policy.network,
            hosts: setting.network.hosts().to_vec(),
            read: shown(
                &policy
                    .read
                    .iter()
                    .chain(policy.tools.iter().map(|t| &t.source))
                    .cloned()
                    .collect::<Vec<_>>(),
            ),
            write: shown(&policy.write),
            read_only: shown(&policy.read_only),
            level: Some(sandboxed.level.name().to_string()),
            env: env_names(self.plan, !policy.network && policy.proxy.is_none()),
        })?;
        self.confined.sandbox = Some(sandboxed);
        Ok(())
    }

    /// Records the MCP servers the run may call, with their tools as
    /// listed before the run, and sets up their session: a live run starts
    /// each server at its first call, in the workspace, confined like any
    /// command; a replay answers from the recorded run and starts none.
    pub(super) fn mcp_servers(&mut self, ws: &Workspace) -> Result<(), EngineError> {
        if self.plan.mcp.is_empty() {
            return Ok(());
        }
        for (server, listing) in &self.plan.mcp {
            self.emit(Event::McpServer {
                server: server.clone(),
                package: listing.package.clone(),
                tools: listing.tools.clone(),
                sha256: listing.sha256.clone(),
            })?;
        }
        let (records, live) = match &self.mode {
            Mode::Live => (&[][..], true),
            Mode::Replay(setup) => (&setup.records[..], false),
            Mode::Resume(_, setup) => (&setup.prefix[..], true),
        };
        let session = crate::mcp::Session::new(
            self.plan,
            &ws.dir,
            self.confined.sandbox.clone(),
            records,
            live,
        )?;
        self.confined.mcp = Some(session);
        Ok(())
    }

    /// The confinement of the running step's commands: the run's, with the
    /// step's own network setting.
    pub(super) fn confinement(&self) -> Option<crate::sandbox::Sandboxed> {
        let network = self
            .confined
            .step_network
            .as_ref()
            .unwrap_or(&self.plan.sandbox.network);
        Some(self.with_network(self.confined.sandbox.clone()?, network))
    }

    /// `sandboxed` with `network`: a list of hosts through its proxy
    /// (started in [`Executor::confine`]; without one, no network).
    fn with_network(
        &self,
        sandboxed: crate::sandbox::Sandboxed,
        network: &crate::spec::Network,
    ) -> crate::sandbox::Sandboxed {
        match network {
            crate::spec::Network::Hosts(list) => {
                sandboxed.with_network(false, self.confined.proxies.get(list).cloned())
            }
            other => sandboxed.with_network(other.is_all(), None),
        }
    }

    /// The variables the running step's commands (checks, its command,
    /// `shell` calls) get on top of the scrubbed environment, later ones
    /// winning: the workspace's (`TMPDIR`, shared build caches); without
    /// the network, confined, the toolchains' offline switches
    /// ([`crate::sys::process::OFFLINE_ENV`]); then the step's `env`, a
    /// `from_env` value read from wf's environment now. A `from_env`
    /// variable wf's environment lacks is an error naming it: the command
    /// would otherwise run without what its task file said it needs.
    pub(super) fn command_env(
        &self,
        ws: &Workspace,
        env: &crate::plan::Env,
    ) -> Result<Vec<(String, String)>, EngineError> {
        let mut out = ws.env.clone();
        // Where the workspace is not shown at the repository's path (no
        // namespaces, or `sandbox: off`), the editable installs of a
        // linked virtual environment point at the user's tree: the
        // workspace's own directories go first on Python's path.
        let placed = self.confinement().is_some_and(|s| {
            s.level == crate::sandbox::Level::Full && s.policy.repository.is_some()
        });
        if !placed && !ws.python_paths.is_empty() {
            let paths: Vec<String> = ws
                .python_paths
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            out.push(("PYTHONPATH".to_string(), paths.join(":")));
        }
        // Offline only without any network: a host list reaches its
        // registries through the proxy.
        if self
            .confinement()
            .is_some_and(|s| !s.policy.network && s.policy.proxy.is_none())
        {
            out.extend(
                crate::sys::process::OFFLINE_ENV
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string())),
            );
        }
        for (name, value) in env {
            let value = match value {
                crate::spec::EnvValue::Text(text) => text.clone(),
                crate::spec::EnvValue::FromEnv { from_env } => std::env::var(from_env)
                    .map_err(|_| {
                        EngineError::Setup(format!(
                            "env `{name}` takes `{from_env}` from wf's environment, which does not set it; set it, or remove it from `env`"
                        ))
                    })?,
            };
            out.push((name.clone(), value));
        }
        Ok(out)
    }
}

/// A sandbox root as recorded: the workspace as `$WORKSPACE`, the run's
/// temp dir as `$RUN_TMP`, the user's repository as `$REPO`, the home
/// directory as `~`, so that the record
/// does not depend on where the run happened to be.
fn shown_root(path: &std::path::Path, ws: &Workspace, home: Option<&std::path::Path>) -> String {
    let canonical = |p: &std::path::Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let replacements = [
        (canonical(&ws.dir), "$WORKSPACE"),
        (canonical(&ws.git_dir()), "$WORKSPACE_GIT"),
        (canonical(&ws.tmp), "$RUN_TMP"),
        (canonical(&ws.origin), "$REPO"),
    ];
    for (root, name) in &replacements {
        if let Ok(rest) = path.strip_prefix(root) {
            return if rest.as_os_str().is_empty() {
                name.to_string()
            } else {
                format!("{name}/{}", rest.display())
            };
        }
    }
    if let Some(home) = home.map(canonical)
        && let Ok(rest) = path.strip_prefix(&home)
    {
        return format!("~/{}", rest.display());
    }
    path.display().to_string()
}

/// The environment of a check or command step: the step's command
/// environment (see [`Executor::command_env`]), the starting tree as
/// `WF_BASE_TREE` (so a check can compare with it: `git diff
/// $WF_BASE_TREE`), and every input as `WF_INPUT_<NAME>` (upper case). Inputs
/// reach checks as variables, never spliced into the command line.
pub(super) fn check_env(
    mut env: Vec<(String, String)>,
    ws: &Workspace,
    inputs: &std::collections::BTreeMap<String, serde_json::Value>,
) -> Vec<(String, String)> {
    env.push(("WF_BASE_TREE".into(), ws.base_tree.clone()));
    for (name, value) in inputs {
        let text = crate::spec::inputs::as_text(value);
        env.push((format!("WF_INPUT_{}", name.to_ascii_uppercase()), text));
    }
    env
}

/// The names of the variables the plan's commands get beyond the scrubbed
/// environment (see [`Event::SandboxReady`]): every step's `env`, and the
/// offline switches when `offline`; sorted, each once.
fn env_names(plan: &Plan, offline: bool) -> Vec<String> {
    fn walk(steps: &[crate::plan::PlanStep], out: &mut std::collections::BTreeSet<String>) {
        for step in steps {
            match &step.kind {
                crate::plan::StepKind::Agent(a) => out.extend(a.env.keys().cloned()),
                crate::plan::StepKind::Command { env, .. } => out.extend(env.keys().cloned()),
                crate::plan::StepKind::Uses(u) => walk(&u.steps, out),
            }
        }
    }
    let mut names = std::collections::BTreeSet::new();
    walk(&plan.steps, &mut names);
    if offline {
        names.extend(
            crate::sys::process::OFFLINE_ENV
                .iter()
                .map(|(k, _)| k.to_string()),
        );
    }
    names.into_iter().collect()
}

/// The lists of hosts the steps (recipe steps included) set for
/// themselves.
fn network_lists(steps: &[crate::plan::PlanStep], out: &mut Vec<Vec<String>>) {
    for step in steps {
        let network = match &step.kind {
            crate::plan::StepKind::Command { network, .. } => network.as_ref(),
            crate::plan::StepKind::Agent(agent) => agent.network.as_ref(),
            crate::plan::StepKind::Uses(used) => {
                network_lists(&used.steps, out);
                None
            }
        };
        if let Some(crate::spec::Network::Hosts(list)) = network {
            out.push(list.clone());
        }
    }
}
