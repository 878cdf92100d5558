//! The executor of wf: everything between a task file and a recorded run,
//! with no terminal in it.
//!
//! - [`plan`]: spec + inputs + repository → [`plan::Plan`]; caller bounds
//!   of recipes; the fingerprint; the task copy kept in a run folder.
//! - [`context`]: glob resolution, hashing, token estimates.
//! - [`policy`]: the one permission decision (read, write, list, exec,
//!   caller bounds).
//! - [`tools`]: one file per tool, each with its definition and its call.
//! - [`mcp`]: MCP servers as tools (stdio and streamable HTTP, pins, the
//!   run's session, recorded answers in a replay).
//! - [`workspace`]: the isolated workspace, staging, the slot's object
//!   store, the diff and applying it, caches, toolchain links, `wf gc`.
//! - [`recipes`]: resolving `uses:`, the lock-file format, the git cache.
//! - [`engine`]: the one loop (steps, agent steps, limits, the prompt and
//!   conversation, checks, checkpoints as data for an
//!   [`engine::Approver`]).
//! - [`recorded`]: a model's answers between the provider's types and the
//!   record's (both ways), and the provider that serves recorded answers.
//! - [`batch_share`]: what the runs of one `wf batch` share across
//!   processes (spending, request slots, a back-off).
//! - [`error`]: the error a command ends with and the exit codes.
//!
//! Below it stand `wf-spec`, `wf-provider`, `wf-record`, `wf-core` and
//! `wf-sandbox`; above it only the `wf` crate (the command line, the
//! operations, the views). Inside, the engine connects tools and providers,
//! which never know each other; the plan knows nothing of the engine (held
//! by `tests/cli/structure.rs`).

pub mod batch_share;
pub mod context;
pub mod engine;
pub mod error;
pub mod mcp;
pub mod plan;
pub mod policy;
pub mod recipes;
pub mod recorded;
pub mod tools;
pub mod workspace;

// The layers below, under the names the code has always used.
pub(crate) use wf_core::{glob, hash, patch, secrets, sys, text};
pub(crate) use wf_provider as provider;
pub(crate) use wf_record as record;
pub(crate) use wf_sandbox as sandbox;
pub(crate) use wf_spec as spec;
