//! wf: run coding-agent workflows from versioned YAML task files.
//!
//! The crate is the whole tool; the `wf` binary only calls [`cli::main`].
//! See `DESIGN` in the README for how the modules fit together.

#[macro_use]
pub mod output;

pub mod cli;

pub mod context;
pub mod error;

pub mod engine;
pub mod glob;
pub mod hash;
pub mod init;
pub mod inputs;

pub mod plan;
pub mod policy;
pub mod provider;
pub mod recipe_test;
pub mod recipes;
pub mod replay;
pub mod report;
pub mod sandbox;
pub mod spec;

pub mod record;
pub mod sys;
pub mod tools;

pub mod workspace;
