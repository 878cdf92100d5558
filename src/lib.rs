//! wf: run coding-agent workflows from versioned YAML task files.
//!
//! The crate is the whole tool; the `wf` binary only calls [`cli::main`].
//! See `DESIGN` in the README for how the modules fit together.

pub mod cli;
pub mod context;
pub mod error;
pub mod glob;
pub mod hash;
pub mod inputs;
pub mod paths;
pub mod plan;
pub mod provider;
pub mod report;
pub mod spec;
pub mod tools;
