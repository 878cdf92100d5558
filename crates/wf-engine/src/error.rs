//! The top-level error and the one mapping from outcomes to exit codes.
//!
//! Exit codes (a contract users' scripts rely on):
//! `0` succeeded; `1` the workflow failed or was rejected; `2` usage or
//! task-file error, nothing ran; `3` paused at a checkpoint; `130` a
//! signal (Ctrl-C, `SIGTERM`, `SIGHUP`) interrupted the run, `wf resume`
//! continues it (128 + `SIGINT`, as shells report Ctrl-C, whichever of the
//! three it was; a second signal exits at once with 130 too, see
//! [`crate::sys::signals`]).

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for succeeded.
    Success,
    /// The workflow failed or was rejected.
    Failed,
    /// Bad usage or task file; nothing ran.
    Usage,
    /// Paused at a checkpoint, waiting for approval.
    Paused,
    /// A signal interrupted the run.
    Interrupted,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> i32 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Paused => 3,
            Exit::Interrupted => crate::sys::signals::EXIT_INTERRUPTED,
        }
    }
}

impl From<crate::record::event::RunStatus> for Exit {
    /// How a run's outcome ends the process.
    fn from(status: crate::record::event::RunStatus) -> Exit {
        use crate::record::event::RunStatus;
        match status {
            RunStatus::Succeeded | RunStatus::DryRun => Exit::Success,
            RunStatus::Paused => Exit::Paused,
            RunStatus::Interrupted => Exit::Interrupted,
            _ => Exit::Failed,
        }
    }
}

/// Anything that stops a command before it could report an outcome.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A task file is invalid.
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    /// A plan could not be made (inputs, templates, context).
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// `.wf/` or the run named cannot be used (a link, state committed to
    /// git, no such run, a run in use): nothing ran.
    #[error(transparent)]
    Store(#[from] crate::record::store::StoreError),
    /// A run's trace cannot be read.
    #[error(transparent)]
    Trace(#[from] crate::record::trace::TraceError),
    /// A run's record cannot be written.
    #[error(transparent)]
    Record(#[from] crate::record::recorder::RecordError),
    /// The recipes' cache or lock file cannot be used (`wf lock`).
    #[error(transparent)]
    Recipe(#[from] crate::recipes::RecipeError),
    /// The command line or environment is unusable.
    #[error("{0}")]
    Usage(String),
    /// A signal stopped wf before the run recorded anything (a resume
    /// still catching up): the run is as it was.
    #[error("{0}")]
    Interrupted(String),
    /// A run failed in a way that is wf's or the system's, not the workflow's.
    #[error("{0}")]
    Failed(String),
    /// I/O outside a task file.
    #[error("{context}: {source}")]
    Io {
        /// What wf was doing.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl Error {
    /// The exit code this error ends the process with.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Spec(_) | Error::Plan(_) | Error::Store(_) | Error::Usage(_) => Exit::Usage,
            Error::Trace(_)
            | Error::Record(_)
            | Error::Recipe(_)
            | Error::Failed(_)
            | Error::Io { .. } => Exit::Failed,
            Error::Interrupted(_) => Exit::Interrupted,
        }
    }

    /// An I/O error with what wf was doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::event::RunStatus;

    #[test]
    fn typed_errors_keep_their_words_and_exit_codes() {
        use crate::record::store::StoreError;
        let e = Error::from(StoreError::NoMatch("abc".into()));
        assert_eq!(e.to_string(), "no run matches `abc`; `wf runs` lists them");
        assert_eq!(
            e.exit(),
            Exit::Usage,
            "a run that cannot be named: nothing ran"
        );
        let e = Error::from(StoreError::InUse {
            id: "r1".into(),
            pid: "42".into(),
        });
        assert_eq!(
            e.to_string(),
            "run r1 is in use by another wf process (pid 42); try again when it is done"
        );
        let e = Error::from(crate::record::trace::TraceError::Invalid {
            path: "t.jsonl".into(),
            line: 3,
            message: "bad".into(),
        });
        assert_eq!(e.to_string(), "t.jsonl:3: not a valid trace record: bad");
        assert_eq!(e.exit(), Exit::Failed);
        // A resume that went differently from its record: exit 1, not 2
        // (it ran until it diverged).
        let e = Error::from(crate::record::recorder::RecordError::Diverged {
            seq: 4,
            kind: "step_finished",
            hint: "command step `a` now fails (exit 1)".into(),
        });
        assert_eq!(
            e.to_string(),
            "cannot resume: the run goes differently now, at event 4 (step_finished): command step `a` now fails (exit 1)"
        );
        assert_eq!(e.exit(), Exit::Failed);
    }

    #[test]
    fn an_interrupted_run_exits_130() {
        assert_eq!(Exit::from(RunStatus::Interrupted).code(), 130);
    }
}
