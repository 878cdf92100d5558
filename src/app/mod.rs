//! One file per user-facing operation. Each takes what the command line
//! gave (already parsed) and returns data — an outcome, rows, a report —
//! for [`crate::cli`] to print; none prints what it returns.
//!
//! Notes meant for the person running wf (a price that is not known, a
//! recipe that asks for more than it gets) are returned too, as text, so
//! the command line decides where they go.

pub mod approver;
pub mod batch;
pub mod emit;
pub mod export;
pub mod find;
pub mod init;
pub mod list;
pub mod lock;
pub mod provider;
pub mod replay;
pub mod report;
pub mod repos;
pub mod resume;
pub mod run;
pub mod runs;
pub mod test;
pub mod trust;
pub mod validate;

use crate::error::Error;
use std::path::PathBuf;

/// The current directory.
pub fn current_dir() -> Result<PathBuf, Error> {
    std::env::current_dir().map_err(|e| Error::io("cannot read the current directory", e))
}

/// The repository root of the current directory (the current directory
/// itself outside git).
pub fn repo_root() -> Result<PathBuf, Error> {
    Ok(crate::sys::git::repo_root(&current_dir()?))
}

/// The git repository a run or a plan works on: the top of the work tree
/// holding the current directory. Outside one, a usage error: wf records a
/// run's starting state as a commit plus a patch, makes its diff and applies
/// it with git, so that the run can be reviewed, replayed and resumed; a
/// plain folder offers none of that (and its build by-products would pass
/// for the change).
pub fn git_root() -> Result<PathBuf, Error> {
    let cwd = current_dir()?;
    crate::sys::git::find_root(&cwd).ok_or_else(|| {
        Error::Usage(format!(
            "{} is not in a git repository; wf needs one to record each run's starting \
             state, show its diff and apply it. Run `git init && git add -A && git commit -m start` \
             there first, or run wf inside your repository",
            cwd.display()
        ))
    })
}
