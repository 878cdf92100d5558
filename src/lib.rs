//! wf: run coding-agent workflows from versioned YAML task files.

pub mod hash;
pub mod provider;
