//! Views: everything wf shows a person or a script. Views read plans and
//! events; they never reach into the executor. Outside text (file content,
//! the model's words, tool output) is escaped by [`text::escape_controls`]
//! before a view adds colour of its own.
//!
//! Events are worded once, in [`describe`]: the progress lines, the
//! timeline of `wf show`, and the reports' timelines ([`describe::Entry`]).
//! The reports (`wf report --html`, [`html`]; `--md`, [`markdown`]) render
//! the run's summary and one [`model`] built from its records, and never
//! match on an event themselves (a unit test keeps it so); a new event kind
//! gets its words in `describe` and, when a report section lists it, its
//! facts in `model`.

pub mod describe;
pub mod diff;
pub mod divergence;
pub mod html;
pub mod markdown;
pub mod model;
pub mod otel;
pub mod plan;
pub mod progress;
pub mod review;
pub mod run;
pub mod show;
/// Escaping and sizes, shared with the engine's messages (in `wf-core`).
pub use wf_core::text;

/// A size in bytes as people read it (`3.4 MiB`, `512 KiB`, `12 bytes`).
pub fn size(bytes: u64) -> String {
    plan::bytes(bytes)
}
