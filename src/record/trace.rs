//! The trace: `trace.jsonl`, one [`Record`] per line, appended and flushed
//! event by event, so a run killed at any moment leaves a valid prefix
//! (at worst a last line cut short, which [`read`] reports and skips).
//!
//! Lines are written with one `write` call each and flushed to the kernel
//! at once; checkpoints and the final event are also synced to disk.
//!
//! The trace is tamper-evident: each record's `hash` is the SHA-256 of the
//! previous record's hash, a newline, and the record's own JSON without its
//! hash. Editing, dropping or reordering a line breaks the chain at that
//! line, which [`verify`] reports.

use crate::record::event::{Event, Record};
use std::fs::File;
use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Instant;

/// Appends events to a trace file.
pub struct TraceWriter {
    file: File,
    seq: u64,
    start: Instant,
    last_hash: String,
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
            last_hash: String::new(),
        })
    }

    /// Opens an existing trace to append to it (a resumed run). `records` are
    /// its complete records; a torn last line is cut off first.
    pub fn reopen(path: &Path, records: &[Record]) -> std::io::Result<TraceWriter> {
        let mut valid_len = 0u64;
        for r in records {
            valid_len += serde_json::to_vec(r).expect("records serialize").len() as u64 + 1;
        }
        let file = std::fs::OpenOptions::new().append(true).open(path)?;
        file.set_len(valid_len)?;
        let last = records.last();
        Ok(TraceWriter {
            file,
            seq: last.map_or(0, |r| r.seq + 1),
            start: Instant::now() - std::time::Duration::from_millis(last.map_or(0, |r| r.t_ms)),
            last_hash: last.map_or(String::new(), |r| r.hash.clone()),
        })
    }

    /// Appends one event and returns its record.
    pub fn append(&mut self, event: Event) -> std::io::Result<Record> {
        let durable = matches!(
            event,
            Event::Checkpoint { .. } | Event::RunFinished { .. } | Event::Applied { .. }
        );
        let mut record = Record {
            seq: self.seq,
            t_ms: self.start.elapsed().as_millis() as u64,
            event,
            hash: String::new(),
        };
        record.hash = chain_hash(&self.last_hash, &record);
        let mut line = serde_json::to_vec(&record).expect("events serialize");
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.flush()?;
        if durable {
            self.file.sync_data()?;
        }
        self.seq += 1;
        self.last_hash = record.hash.clone();
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

/// The chain hash of `record` after a record whose hash is `prev`.
pub fn chain_hash(prev: &str, record: &Record) -> String {
    let mut unhashed = record.clone();
    unhashed.hash.clear();
    let mut bytes = prev.as_bytes().to_vec();
    bytes.push(b'\n');
    bytes.extend(serde_json::to_vec(&unhashed).expect("records serialize"));
    crate::hash::sha256_hex(&bytes)
}

/// Checks the hash chain and the sequence numbers. The error names the
/// first bad line (1-based) and what is wrong with it.
pub fn verify(records: &[Record]) -> Result<(), (usize, String)> {
    let mut prev = String::new();
    for (i, r) in records.iter().enumerate() {
        let line = i + 1;
        if r.seq != i as u64 {
            return Err((
                line,
                format!(
                    "sequence number {} where {i} was expected: an event was dropped or moved",
                    r.seq
                ),
            ));
        }
        let expected = chain_hash(&prev, r);
        if r.hash != expected {
            return Err((
                line,
                "hash mismatch: the event was edited, or one before it was".to_string(),
            ));
        }
        prev = r.hash.clone();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::event::Event;

    fn write(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("trace.jsonl");
        let mut w = TraceWriter::create(&path).unwrap();
        for i in 0..4 {
            w.append(Event::RepairRequested {
                round: i,
                failed: vec![format!("c{i}")],
            })
            .unwrap();
        }
        path
    }

    #[test]
    fn a_written_trace_verifies_and_tampering_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path());
        let records = read(&path).unwrap().records;
        assert_eq!(verify(&records), Ok(()));

        let mut edited = records.clone();
        edited[2].event = Event::RepairRequested {
            round: 9,
            failed: vec![],
        };
        assert_eq!(verify(&edited).unwrap_err().0, 3);

        let mut dropped = records.clone();
        dropped.remove(1);
        assert_eq!(verify(&dropped).unwrap_err().0, 2);

        let mut swapped = records.clone();
        swapped.swap(1, 2);
        assert_eq!(verify(&swapped).unwrap_err().0, 2);
    }

    #[test]
    fn a_torn_last_line_is_reported_and_cut_on_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path());
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"seq\":4,\"t_ms\"");
        std::fs::write(&path, &text).unwrap();
        let trace = read(&path).unwrap();
        assert!(trace.torn_tail.is_some());
        let mut w = TraceWriter::reopen(&path, &trace.records).unwrap();
        w.append(Event::RepairRequested {
            round: 4,
            failed: vec![],
        })
        .unwrap();
        let again = read(&path).unwrap();
        assert!(again.torn_tail.is_none());
        assert_eq!(again.records.len(), 5);
        assert_eq!(verify(&again.records), Ok(()));
    }
}
