//! The Landlock ruleset of a policy.

use super::Policy;
use landlock::{
    ABI, Access, AccessFs, BitFlags, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreated,
    RulesetCreatedAttr, RulesetStatus, Scope,
};
use std::path::Path;

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

fn err(step: &str, e: impl std::fmt::Display) -> String {
    format!("Landlock ({step}): {e}")
}

/// Builds the ruleset (opening every path) without enforcing it.
pub fn ruleset(policy: &Policy) -> Result<RulesetCreated, String> {
    let all = AccessFs::from_all(ABI_WANTED);
    let read = AccessFs::from_read(ABI_WANTED);
    let read_no_exec = AccessFs::ReadFile | AccessFs::ReadDir;
    let device = AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate | AccessFs::IoctlDev;

    let mut rules: Vec<(&Path, BitFlags<AccessFs>)> = Vec::new();
    rules.extend(policy.read.iter().map(|p| (p.as_path(), read)));
    rules.extend(policy.write.iter().map(|p| (p.as_path(), all)));
    rules.extend(DEVICES.iter().map(|d| (Path::new(d), device)));
    rules.push((Path::new("/dev"), AccessFs::ReadDir.into()));
    // The view's private, empty temp dirs (see `view`): the command's own.
    rules.extend(
        super::view::PRIVATE_DIRS
            .iter()
            .map(|(d, _)| (Path::new(*d), all)),
    );
    rules.push((Path::new("/proc"), read_no_exec));
    rules.push((Path::new("/sys"), read_no_exec));

    // Scoping (ABI 6): abstract Unix sockets and signals end at the
    // sandbox's edge. Older kernels enforce the rest without it.
    let mut created = Ruleset::default()
        .handle_access(all)
        .and_then(|r| r.scope(Scope::AbstractUnixSocket | Scope::Signal))
        .and_then(|r| r.create())
        .map_err(|e| err("create the ruleset", e))?;
    for (path, access) in rules {
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

/// Enforces the ruleset on this process and its future children; an error
/// when the kernel enforces nothing.
pub fn restrict(ruleset: RulesetCreated) -> Result<(), String> {
    let status = ruleset
        .restrict_self()
        .map_err(|e| err("restrict_self", e))?;
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err(
            "Landlock is not enforced by this kernel (not built in, or not enabled with lsm=...landlock)"
                .into(),
        );
    }
    Ok(())
}
