//! The trace: `trace.jsonl`, one [`Record`] per line, appended and flushed
//! event by event, so a run killed at any moment leaves a valid prefix
//! (at worst a last line cut short, which [`read`] reports and skips).
//!
//! Lines are written with one `write` call each and flushed to the kernel
//! at once; checkpoints and the final event are also synced to disk.

use crate::event::{Event, Record};
use std::fs::File;
use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Instant;

/// Appends events to a trace file.
pub struct TraceWriter {
    file: File,
    seq: u64,
    start: Instant,
}

impl TraceWriter {
    /// Creates the trace file (it must not exist).
    pub fn create(path: &Path) -> std::io::Result<TraceWriter> {
        let file = std::fs::OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(path)?;
        Ok(TraceWriter {
            file,
            seq: 0,
            start: Instant::now(),
        })
    }

    /// Appends one event and returns its record.
    pub fn append(&mut self, event: Event) -> std::io::Result<Record> {
        let durable = matches!(
            event,
            Event::Checkpoint { .. } | Event::RunFinished { .. } | Event::Applied { .. }
        );
        let record = Record {
            seq: self.seq,
            t_ms: self.start.elapsed().as_millis() as u64,
            event,
        };
        let mut line = serde_json::to_vec(&record).expect("events serialize");
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.flush()?;
        if durable {
            self.file.sync_data()?;
        }
        self.seq += 1;
        Ok(record)
    }
}

/// A trace as read back.
#[derive(Debug, Clone)]
pub struct Trace {
    /// The complete records, in order.
    pub records: Vec<Record>,
    /// A last line that was cut short (a run killed mid-write), if any.
    pub torn_tail: Option<String>,
}

/// Why a trace could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// I/O.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A complete line that is not a valid record.
    #[error("{path}:{line}: not a valid trace record: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// Why.
        message: String,
    },
}

/// Reads a trace file.
pub fn read(path: &Path) -> Result<Trace, TraceError> {
    let display = path.display().to_string();
    let file = File::open(path).map_err(|source| TraceError::Io {
        path: display.clone(),
        source,
    })?;
    let mut reader = std::io::BufReader::new(file);
    let mut records = Vec::new();
    let mut torn_tail = None;
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| TraceError::Io {
                path: display.clone(),
                source,
            })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if buf.last() != Some(&b'\n') {
            torn_tail = Some(String::from_utf8_lossy(&buf).into_owned());
            break;
        }
        match serde_json::from_slice::<Record>(&buf) {
            Ok(r) => records.push(r),
            Err(e) => {
                return Err(TraceError::Invalid {
                    path: display,
                    line: line_no,
                    message: e.to_string(),
                });
            }
        }
    }
    Ok(Trace { records, torn_tail })
}
