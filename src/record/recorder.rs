//! The recorder: the one writer of a run's trace.
//!
//! Everything that appends to a trace goes through here. Views (the
//! progress line, `--json`) receive each record through a [`Reporter`] as it
//! is written.

use crate::record::event::{Event, Record};
use crate::record::store::RunDir;
use crate::record::summary::{self, Summary};
use crate::record::trace::TraceWriter;

/// Receives every event as it is recorded, and human messages.
pub trait Reporter {
    /// An event was recorded.
    fn record(&mut self, record: &Record);
    /// Something to show a person (a diff, a plan to approve).
    fn say(&mut self, text: &str);
    /// Stop any live display (before a prompt or at the end).
    fn pause_display(&mut self) {}
}
/// The one writer of a run's trace: appends events, keeps the summary as
/// it goes, and writes `summary.json`.
pub struct Recorder {
    writer: TraceWriter,
    dir: RunDir,
    summary: summary::Builder,
}

impl Recorder {
    /// Starts the trace of a new run in `dir`.
    pub fn create(dir: &RunDir) -> std::io::Result<Recorder> {
        Ok(Recorder {
            writer: TraceWriter::create(&dir.trace())?,
            dir: dir.clone(),
            summary: summary::Builder::default(),
        })
    }

    /// Reopens the trace of `dir` to go on with it; `records` are its
    /// complete records, as read.
    pub fn reopen(dir: &RunDir, records: &[Record]) -> std::io::Result<Recorder> {
        let mut summary = summary::Builder::default();
        for r in records {
            summary.add(r);
        }
        Ok(Recorder {
            writer: TraceWriter::reopen(&dir.trace(), records)?,
            dir: dir.clone(),
            summary,
        })
    }

    /// Appends one event; its record.
    pub fn append(&mut self, event: Event) -> std::io::Result<Record> {
        let record = self.writer.append(event)?;
        self.summary.add(&record);
        Ok(record)
    }

    /// The summary of everything recorded so far.
    pub fn summary(&self) -> Summary {
        self.summary.summary()
    }

    /// Writes `summary.json` whole (a temporary file renamed over it).
    pub fn write_summary(&self) -> std::io::Result<()> {
        let text =
            serde_json::to_string_pretty(&self.summary()).expect("summaries serialize") + "\n";
        let path = self.dir.summary();
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &path)
    }

    /// The run folder.
    pub fn dir(&self) -> &RunDir {
        &self.dir
    }
}
