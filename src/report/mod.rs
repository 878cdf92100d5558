//! Views: everything wf shows a person or a script. Views read plans and
//! events; they never reach into the executor.

pub mod describe;
pub mod diff;
pub mod divergence;
pub mod plan;
pub mod progress;
pub mod show;
