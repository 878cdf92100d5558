//! The recorder: the one writer of a run's trace.
//!
//! Everything that appends to a trace goes through here. Views (the
//! progress line, `--json`) receive each record through a [`Reporter`] as it
//! is written.

use crate::record::event::Record;

/// Receives every event as it is recorded, and human messages.
pub trait Reporter {
    /// An event was recorded.
    fn record(&mut self, record: &Record);
    /// Something to show a person (a diff, a plan to approve).
    fn say(&mut self, text: &str);
    /// Stop any live display (before a prompt or at the end).
    fn pause_display(&mut self) {}
}
