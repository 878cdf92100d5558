//! The record of a run: what happened, written once, read by everything.
//!
//! - [`event`]: the event kinds and their fields (the trace's vocabulary).
//! - [`trace`]: `trace.jsonl`, hash-chained, one record a line.
//! - [`recorder`]: the only code that appends to a trace — live events,
//!   provider retries, the catch-up of a resume, decisions taken by
//!   `wf approve`/`wf reject`, and the run's end — keeping the summary as it
//!   goes.
//! - [`store`]: `.wf/runs`, run folders, run locks, what `RUN` names.
//! - [`origin`]: the mark that says a run folder is this user's own.
//! - [`summary`]: `summary.json`, computed from records.
//! - [`compare`]: the comparison of two courses of events (replay, resume).
//! - [`wire`]: the types of what a run records of its plan (a sandbox
//!   approval, a `--script` replacement, MCP tool definitions, recipe pins).
//! - [`inputs`]: tool inputs recorded once (in `tool_call`, not again in
//!   `model_response`), and put back for replay.

pub mod compare;
pub mod event;
pub mod inputs;
pub mod origin;
pub mod recorder;
pub mod store;
pub mod summary;
pub mod trace;
pub mod wire;

// The layers below, under the names the code has always used.
pub(crate) use wf_core::{hash, sys};
