//! Why a command could not be confined: the set-up of its confinement (in
//! the helper process wf starts, before the command runs) failed at one
//! step. The helper reports it to wf as its message, and wf refuses to run
//! the command (fail closed); the kinds let a caller tell an OS refusal
//! from a launch wf itself got wrong.

use std::path::PathBuf;

/// What stopped the confinement of a command.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A system call of the set-up failed (`mount /proc: Operation not
    /// permitted`).
    #[error("{step}: {source}")]
    Os {
        /// What the helper was doing.
        step: String,
        /// The error the kernel gave.
        source: std::io::Error,
    },
    /// Landlock refused a rule or the ruleset.
    #[error("Landlock ({step}): {reason}")]
    Landlock {
        /// What the helper was doing.
        step: String,
        /// The landlock crate's error, in words.
        reason: String,
    },
    /// The seccomp filter could not be built or installed.
    #[error("seccomp{}: {reason}", if step.is_empty() { String::new() } else { format!(" {step}") })]
    Seccomp {
        /// What the helper was doing (`compile`, `filter`; empty: install).
        step: String,
        /// seccompiler's error, in words.
        reason: String,
    },
    /// A path of the policy cannot be given to the kernel (a NUL byte).
    #[error("{}: NUL in path", .0.display())]
    NulInPath(PathBuf),
    /// The helper was started wrongly: its arguments or the launch wf wrote
    /// for it (a bug of wf's, never the task's).
    #[error("{0}")]
    Launch(String),
}

impl SetupError {
    /// The OS error of the last failed call, at `step`.
    pub fn last_os(step: impl Into<String>) -> SetupError {
        SetupError::Os {
            step: step.into(),
            source: std::io::Error::last_os_error(),
        }
    }

    /// An I/O failure at `step`, for `map_err`.
    pub fn os(step: impl Into<String>) -> impl FnOnce(std::io::Error) -> SetupError {
        let step = step.into();
        move |source| SetupError::Os { step, source }
    }
}

/// A `sandbox.network` host entry wf refuses (an IP literal, a wildcard
/// in the wrong place, a name that is not a DNS name), with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HostError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_the_strings_they_replace() {
        let e = SetupError::Os {
            step: "mount /proc".into(),
            source: std::io::Error::from_raw_os_error(libc::EPERM),
        };
        assert_eq!(
            e.to_string(),
            "mount /proc: Operation not permitted (os error 1)"
        );
        let e = SetupError::Landlock {
            step: "restrict_self".into(),
            reason: "no".into(),
        };
        assert_eq!(e.to_string(), "Landlock (restrict_self): no");
        let e = SetupError::Seccomp {
            step: "compile".into(),
            reason: "bad".into(),
        };
        assert_eq!(e.to_string(), "seccomp compile: bad");
        let e = SetupError::Seccomp {
            step: String::new(),
            reason: "bad".into(),
        };
        assert_eq!(e.to_string(), "seccomp: bad");
        assert_eq!(
            SetupError::NulInPath("/a".into()).to_string(),
            "/a: NUL in path"
        );
    }
}
