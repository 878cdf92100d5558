//! The system layer: what wf needs from the operating system, each in one
//! place. Nothing here knows about task files, runs or models.
//!
//! - [`process`]: starting a child (scrubbed environment, its own process
//!   group, timeout, capped output).
//! - [`lock`]: advisory file locks (`flock`) for runs and workspace slots.
//! - [`git`]: the one git command builder (environment, config overrides,
//!   repository root, HEAD, the current user).
//! - [`clock`]: wall-clock time for the fields that carry it.
//! - [`paths`]: relative-path checks and the one relative-path helper.
//! - [`beneath`]: opening files beneath the workspace with no path
//!   re-resolved (`openat2`), the only way the file tools open a path.
//! - [`signals`]: Ctrl-C, `SIGTERM` and `SIGHUP` during a run: the
//!   interrupted flag and stopping every child.
//! - [`user_dirs`]: wf's cache and state directories outside any
//!   repository (`~/.cache/wf`, `~/.local/state/wf`).

pub mod beneath;
pub mod clock;
pub mod git;
pub mod lock;
pub mod paths;
pub mod process;
pub mod signals;
pub mod user_dirs;
