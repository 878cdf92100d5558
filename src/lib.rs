//! wf: run coding-agent workflows from versioned YAML task files.
//!
//! The crate is the whole tool; the `wf` binary only calls [`cli::main`].
//! See `DESIGN` in the README for how the modules fit together.

#[macro_use]
pub mod output;
pub mod checkpoint;
pub mod checks;
pub mod cli;
pub mod clock;
pub mod context;
pub mod error;
pub mod event;
pub mod executor;
pub mod glob;
pub mod hash;
pub mod init;
pub mod inputs;
pub mod lockfile;
pub mod paths;
pub mod plan;
pub mod process;
pub mod provider;
pub mod recipe_test;
pub mod recipes;
pub mod replay;
pub mod report;
pub mod sandbox;
pub mod spec;
pub mod store;
pub mod summary;
pub mod tools;
pub mod trace;
pub mod workspace;
