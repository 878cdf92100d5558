//! Why the engine could not go on.
//!
//! Most ways a run ends are not errors: a failed check, a limit, a
//! rejection, a model that gave up each end it with a status and a reason
//! (see [`super::RunOutcome`]). An [`EngineError`] is what stops the
//! executor itself: a signal, a trace it cannot write (or a resume that
//! goes differently from its record), the workspace or a file it cannot
//! handle, a change it refuses to show or apply, a step whose settings
//! cannot be met. The run then ends `error` with the error's message as its
//! reason (or, interrupted, `interrupted`; or, while a resume still catches
//! up, with nothing written).

use crate::record::recorder::RecordError;
use crate::workspace::WorkspaceError;

/// What stopped the executor.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A signal arrived (see the module docs of [`super`],
    /// "Interruptions"): the event about to be recorded was not, and the
    /// run unwinds to record its interruption.
    #[error("interrupted")]
    Interrupted,
    /// The trace could not be written, or a resume's re-execution went
    /// differently from the recorded run.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The workspace (or the user's tree, compared with it) could not be
    /// prepared, read or changed.
    #[error("{what}: {source}")]
    Workspace {
        /// What wf was doing (`cannot snapshot the workspace`).
        what: String,
        /// Why it failed.
        source: WorkspaceError,
    },
    /// A file of the run folder could not be written or read, or a helper
    /// wf starts (the sandbox launcher, a network proxy) could not be.
    #[error("{what}: {source}")]
    Io {
        /// What wf was doing (`cannot write diff.patch`).
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The change is refused before it is shown or applied: over
    /// `limits.max_diff_bytes`, a patch that disagrees with the workspace,
    /// a recorded approval of another diff. Nothing was applied.
    #[error("{0}")]
    Refused(String),
    /// The plan's MCP servers cannot be set up (declared twice, unpinned,
    /// a variable they need is not set).
    #[error(transparent)]
    Mcp(#[from] crate::mcp::McpError),
    /// A step's permissions do not compile (its own, or its callers'
    /// bounds).
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
    /// An agent step's tools cannot be set up: its permissions do not
    /// compile.
    #[error("cannot set up the tools: {0}")]
    Tools(crate::policy::PolicyError),
    /// A step's settings cannot be met: an `env` value taken from wf's
    /// environment, which lacks it; `--workspace checkout` below the
    /// full level; the package caches or the batch's shared state cannot be
    /// prepared.
    #[error("{0}")]
    Setup(String),
}

impl EngineError {
    /// A workspace failure while doing `what`.
    pub fn workspace(what: impl Into<String>) -> impl FnOnce(WorkspaceError) -> EngineError {
        let what = what.into();
        move |source| EngineError::Workspace { what, source }
    }

    /// A file or helper failure while doing `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> EngineError {
        let what = what.into();
        move |source| EngineError::Io { what, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_the_strings_they_replace() {
        let ws = EngineError::workspace("cannot snapshot the workspace")(WorkspaceError::Unsafe(
            "a/../x".into(),
        ));
        assert_eq!(
            ws.to_string(),
            "cannot snapshot the workspace: refused: a/../x"
        );
        let io = EngineError::io("cannot write diff.patch")(std::io::Error::from(
            std::io::ErrorKind::PermissionDenied,
        ));
        assert_eq!(io.to_string(), "cannot write diff.patch: permission denied");
        assert_eq!(EngineError::Interrupted.to_string(), "interrupted");
        let diverged = EngineError::from(RecordError::Diverged {
            seq: 7,
            kind: "tool_call",
            hint: "a file changed".into(),
        });
        assert_eq!(
            diverged.to_string(),
            "cannot resume: the run goes differently now, at event 7 (tool_call): a file changed"
        );
    }
}
