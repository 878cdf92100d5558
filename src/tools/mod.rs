//! The tool layer: what the model may call, and the permission checks that
//! run before every call.

pub mod shell;
