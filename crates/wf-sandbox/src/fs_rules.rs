//! The Landlock ruleset of a policy.

use super::{Grants, Level};
use crate::SetupError;
use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath,
    PathFd, Ruleset, RulesetAttr, RulesetCreated, RulesetCreatedAttr, RulesetStatus, Scope,
};
use std::path::Path;
use std::path::PathBuf;

/// The newest ABI whose rights wf asks for; older kernels get the subset
/// they know (best effort), but some enforcement is required.
const ABI_WANTED: ABI = ABI::V10;

/// Character devices every command may open for reading and writing (not
/// `/dev/tty`: a confined command never reaches wf's terminal).
pub const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
];

fn err(step: &str, e: impl std::fmt::Display) -> SetupError {
    SetupError::Landlock {
        step: step.to_string(),
        reason: e.to_string(),
    }
}

/// Builds the ruleset (opening every path) without enforcing it. At the
/// full level the paths are those of the view (see `view`); without
/// namespaces they are the host's, and a read root holding a masked file
/// is granted entry by entry, without that file.
pub fn ruleset(policy: &Grants, level: Level) -> Result<RulesetCreated, SetupError> {
    let all = AccessFs::from_all(ABI_WANTED);
    let read = AccessFs::from_read(ABI_WANTED);
    let read_no_exec = AccessFs::ReadFile | AccessFs::ReadDir;
    let device = AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate | AccessFs::IoctlDev;

    let mut rules: Vec<(PathBuf, BitFlags<AccessFs>)> = Vec::new();
    let masked: Vec<&Path> = policy.masks.iter().map(|m| m.path.as_path()).collect();
    for root in &policy.read {
        if level == Level::Full || !masked.iter().any(|m| m.starts_with(root)) {
            rules.push((root.clone(), read));
        } else {
            for path in without(root, &masked) {
                rules.push((path, read));
            }
        }
    }
    // The toolchain directories of the user's tree: read-only. At the full
    // level they are bound at the workspace's link targets (read-only
    // mounts); without namespaces the links lead to the user's own.
    for tool in &policy.tools {
        match level {
            Level::Full => rules.push((tool.at.clone(), read)),
            Level::Landlock => {
                for path in without(&tool.source, &masked) {
                    rules.push((path, read));
                }
            }
        }
    }
    rules.extend(policy.write.iter().map(|p| (p.clone(), all)));
    rules.extend(DEVICES.iter().map(|d| (PathBuf::from(d), device)));
    rules.push((PathBuf::from("/dev"), AccessFs::ReadDir.into()));
    if level == Level::Full {
        // The view's private, empty temp dirs (see `view`): the command's
        // own. Without namespaces they are the host's: not granted.
        rules.extend(
            super::view::PRIVATE_DIRS
                .iter()
                .map(|(d, _)| (PathBuf::from(d), all)),
        );
    }
    rules.push((PathBuf::from("/proc"), read_no_exec));
    rules.push((PathBuf::from("/sys"), read_no_exec));

    // Scoping (ABI 6): abstract Unix sockets and signals end at the
    // sandbox's edge. Older kernels enforce the rest without it.
    // Without namespaces, a list of hosts in `sandbox.network` is TCP to
    // wf's proxy only: connecting elsewhere and binding are refused, and
    // this kernel must enforce it (Landlock ABI 4) or nothing runs.
    let proxy_port = match level {
        Level::Landlock => policy.proxy.as_ref().map(|p| p.port),
        Level::Full => None,
    };
    let mut ruleset = Ruleset::default();
    if proxy_port.is_some() {
        ruleset = ruleset
            .set_compatibility(CompatLevel::HardRequirement)
            .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)
            .map_err(|e| {
                err(
                    "TCP rules for wf's proxy (a list of hosts in sandbox.network needs Landlock ABI 4 without namespaces)",
                    e,
                )
            })?
            .set_compatibility(CompatLevel::BestEffort);
    }
    let mut created = ruleset
        .handle_access(all)
        .and_then(|r| r.scope(Scope::AbstractUnixSocket | Scope::Signal))
        .and_then(|r| r.create())
        .map_err(|e| err("create the ruleset", e))?;
    if let Some(port) = proxy_port {
        created = created
            .set_compatibility(CompatLevel::HardRequirement)
            .add_rule(NetPort::new(port, AccessNet::ConnectTcp))
            .map_err(|e| err("allow connecting to wf's proxy", e))?
            .set_compatibility(CompatLevel::BestEffort);
    }
    for (path, access) in rules {
        let path: &Path = &path;
        let Ok(meta) = std::fs::metadata(path) else {
            continue; // missing here: nothing to grant
        };
        let access = if meta.is_dir() {
            access
        } else {
            access & AccessFs::from_file(ABI_WANTED)
        };
        let fd = PathFd::new(path).map_err(|e| err(&format!("open {}", path.display()), e))?;
        created = created
            .add_rule(PathBeneath::new(fd, access))
            .map_err(|e| err(&format!("grant {}", path.display()), e))?;
    }
    Ok(created)
}

/// The entries of `root`, recursively where needed, that together grant
/// everything of it but the `masked` files.
fn without(root: &Path, masked: &[&Path]) -> Vec<PathBuf> {
    if masked.contains(&root) {
        return Vec::new();
    }
    if !masked.iter().any(|m| m.starts_with(root)) {
        return vec![root.to_path_buf()];
    }
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = Vec::new();
    for entry in entries.flatten() {
        out.extend(without(&entry.path(), masked));
    }
    out.sort();
    out
}

/// Enforces the ruleset on this process and its future children; an error
/// when the kernel enforces nothing.
pub fn restrict(ruleset: RulesetCreated) -> Result<(), SetupError> {
    let status = ruleset
        .restrict_self()
        .map_err(|e| err("restrict_self", e))?;
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err(err(
            "restrict_self",
            "not enforced by this kernel (not built in, or not enabled with lsm=...landlock)",
        ));
    }
    Ok(())
}
