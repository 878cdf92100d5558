//! The seccomp filter every confined command runs under: the system calls
//! that Landlock and the namespaces do not cover.
//!
//! Built with `seccompiler` (rust-vmm's, the filter compiler of Firecracker:
//! pure Rust, no libseccomp to link). The filter is a deny list: the calls
//! below fail with `EPERM` (or `ENOSYS` for `clone3`, so that libc falls
//! back to `clone`, whose flags a filter can inspect); everything else is
//! allowed. An allow list would be tighter, but toolchains (compilers, test
//! runners, package managers, language runtimes) use a long and changing set
//! of calls, and a command refused a harmless call fails in ways nobody can
//! diagnose; the calls denied here are the ones that reach outside a
//! sandbox or into the kernel's attack surface.
//!
//! | denied | why |
//! |---|---|
//! | `ioctl` `TIOCSTI`, `TIOCLINUX` | push keystrokes into a terminal (wf's, or the user's shell after wf exits) |
//! | `keyctl`, `add_key`, `request_key` | the kernel keyring holds other processes' secrets |
//! | `ptrace`, `process_vm_readv`, `process_vm_writev` | reading or steering another process |
//! | `bpf`, `perf_event_open`, `userfaultfd`, `io_uring_*` | kernel attack surface with a history of escapes |
//! | `unshare`, `setns`, `clone` with a namespace flag, `clone3` | new namespaces: a nested user namespace regains capabilities over its own mounts |
//! | `mount`, `umount2`, `pivot_root`, `move_mount`, `open_tree`, `fsopen`, `fsmount`, `fsconfig`, `fspick`, `mount_setattr` | changing the filesystem view |
//! | `kexec_*`, `init_module`, `finit_module`, `delete_module`, `reboot`, `swapon`, `swapoff`, `acct`, `quotactl`, `syslog` | host administration |
//! | `socket` of a family other than Unix, IPv4, IPv6, netlink | raw and packet sockets, and the long tail of rarely used protocol families |
//! | without namespaces: `socket` but IPv4 and IPv6, and those too with the network off | no private loopback or view hides the host's sockets there |
//! | without namespaces, the network a list of hosts: `socket` but TCP streams of IPv4 and IPv6; `sendto`, `sendmsg`, `sendmmsg` with `MSG_FASTOPEN` | Landlock's TCP rules (connect to wf's proxy only) cover TCP `connect` alone: no UDP (no DNS of the command's own), no other protocol |

use crate::SetupError;
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule,
};
use std::collections::BTreeMap;

/// Namespace flags of `clone(2)`.
const NAMESPACE_FLAGS: &[u64] = &[
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWCGROUP as u64,
    0x80, // CLONE_NEWTIME
];

/// Socket families a command may open.
const SOCKET_FAMILIES: &[u64] = &[
    libc::AF_UNIX as u64,
    libc::AF_INET as u64,
    libc::AF_INET6 as u64,
    libc::AF_NETLINK as u64,
];

/// Terminal ioctls that inject input. (The constants' type differs across
/// architectures, hence the casts.)
#[allow(clippy::unnecessary_cast)]
const TERMINAL_IOCTLS: &[u64] = &[libc::TIOCSTI as u64, libc::TIOCLINUX as u64];

/// System calls denied whatever their arguments.
const DENIED: &[i64] = &[
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_fsopen,
    libc::SYS_fsmount,
    libc::SYS_fsconfig,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_acct,
    libc::SYS_quotactl,
    libc::SYS_syslog,
];

/// A seccompiler failure at `step`.
fn seccomp(step: &str, e: impl std::fmt::Display) -> SetupError {
    SetupError::Seccomp {
        step: step.to_string(),
        reason: e.to_string(),
    }
}

fn cond(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, SetupError> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value)
        .map_err(|e| seccomp("condition", e))
}

fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, SetupError> {
    SeccompRule::new(conditions).map_err(|e| seccomp("rule", e))
}

fn arch() -> Result<seccompiler::TargetArch, SetupError> {
    std::env::consts::ARCH
        .try_into()
        .map_err(|e| seccomp("", format!("unsupported architecture: {e:?}")))
}

fn compile(rules: BTreeMap<i64, Vec<SeccompRule>>, errno: i32) -> Result<BpfProgram, SetupError> {
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(errno as u32),
        arch()?,
    )
    .map_err(|e| seccomp("filter", e))?;
    filter.try_into().map_err(|e| seccomp("compile", e))
}

/// Compiles the filters: the deny list (`EPERM`), and `clone3` refused
/// with `ENOSYS` (its flags sit in a struct a filter cannot read; libc
/// then uses `clone`, whose flags the first filter checks). The kernel
/// runs every installed filter and the strictest answer wins.
///
/// Without namespaces (`Level::Landlock`) sockets are narrower: IPv4 and
/// IPv6 only, and only when the network is allowed (see `keeper`); with
/// wf's proxy on `proxy` (a port), TCP stream sockets only, and no TCP
/// Fast Open.
pub fn programs(
    level: super::Level,
    network: bool,
    proxy: Option<u16>,
) -> Result<[BpfProgram; 2], SetupError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for &nr in DENIED {
        rules.insert(nr, Vec::new()); // no condition: always matches
    }
    rules.insert(
        libc::SYS_ioctl,
        TERMINAL_IOCTLS
            .iter()
            .map(|&req| rule(vec![cond(1, SeccompCmpOp::Eq, req)?]))
            .collect::<Result<_, _>>()?,
    );
    rules.insert(
        libc::SYS_clone,
        NAMESPACE_FLAGS
            .iter()
            .map(|&flag| rule(vec![cond(0, SeccompCmpOp::MaskedEq(flag), flag)?]))
            .collect::<Result<_, _>>()?,
    );
    let inet = [libc::AF_INET as u64, libc::AF_INET6 as u64];
    let families: &[u64] = match (level, network, proxy) {
        (super::Level::Full, _, _) => SOCKET_FAMILIES,
        (super::Level::Landlock, true, _) | (super::Level::Landlock, false, Some(_)) => &inet,
        (super::Level::Landlock, false, None) => &[],
    };
    let mut socket_rules = if families.is_empty() {
        Vec::new() // every socket refused
    } else {
        vec![rule(
            families
                .iter()
                .map(|&family| cond(0, SeccompCmpOp::Ne, family))
                .collect::<Result<_, _>>()?,
        )?]
    };
    if level == super::Level::Landlock && !network && proxy.is_some() {
        // TCP only, the one protocol Landlock's rules cover: no datagram,
        // raw or other socket type (the type's low bits; flags such as
        // SOCK_CLOEXEC sit above them), and no protocol but TCP's.
        for kind in 0..16u64 {
            if kind != libc::SOCK_STREAM as u64 {
                socket_rules.push(rule(vec![cond(1, SeccompCmpOp::MaskedEq(0xf), kind)?])?);
            }
        }
        socket_rules.push(rule(vec![
            cond(2, SeccompCmpOp::Ne, 0)?,
            cond(2, SeccompCmpOp::Ne, libc::IPPROTO_TCP as u64)?,
        ])?);
        // TCP Fast Open connects from `sendto`/`sendmsg`, not `connect`.
        let fastopen = libc::MSG_FASTOPEN as u64;
        rules.insert(
            libc::SYS_sendto,
            vec![rule(vec![cond(
                3,
                SeccompCmpOp::MaskedEq(fastopen),
                fastopen,
            )?])?],
        );
        rules.insert(
            libc::SYS_sendmsg,
            vec![rule(vec![cond(
                2,
                SeccompCmpOp::MaskedEq(fastopen),
                fastopen,
            )?])?],
        );
        rules.insert(
            libc::SYS_sendmmsg,
            vec![rule(vec![cond(
                3,
                SeccompCmpOp::MaskedEq(fastopen),
                fastopen,
            )?])?],
        );
    }
    rules.insert(libc::SYS_socket, socket_rules);
    let deny = compile(rules, libc::EPERM)?;
    let clone3 = compile(
        [(libc::SYS_clone3, Vec::new())].into_iter().collect(),
        libc::ENOSYS,
    )?;
    Ok([deny, clone3])
}

/// Installs the filters on this thread (and so on every process it
/// starts from now on).
pub fn install(programs: &[BpfProgram; 2]) -> Result<(), SetupError> {
    for program in programs {
        seccompiler::apply_filter(program).map_err(|e| seccomp("", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_filters_compile_for_this_machine() {
        let [deny, clone3] = super::programs(super::super::Level::Full, false, None).unwrap();
        assert!(deny.len() > super::DENIED.len());
        assert!(!clone3.is_empty());
    }
}
