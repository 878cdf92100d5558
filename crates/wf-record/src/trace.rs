//! The trace: `trace.jsonl`, one [`Record`] per line, appended and flushed
//! event by event, so a run killed at any moment leaves a valid prefix
//! (at worst a last line cut short, which [`read`] reports and skips).
//!
//! Lines are written with one `write` call each and flushed to the kernel
//! at once; checkpoints and the final event are also synced to disk.
//!
//! The trace is tamper-evident: each record's `hash` is the SHA-256 of the
//! previous record's hash, a newline, and the exact bytes of the record's
//! own line without its hash. Editing, dropping or reordering a line breaks
//! the chain at that line, which [`verify_trace`] reports.
//!
//! **Format versions** (the header's `trace_version`):
//!
//! - **2** (written now): a line is one JSON object whose last member is
//!   `"hash":"<64 hex>"`, written as the exact suffix `,"hash":"<hex>"}`.
//!   The hash covers the line's bytes with that suffix replaced by `}`:
//!   the bytes as written, never a re-serialization of the parsed record.
//!   So a record with a field this wf does not know (written by a newer
//!   one), or any value whose text serde would print differently, still
//!   verifies.
//! - **1** (wf before this change): the hash covered the re-serialization of
//!   the parsed record. For every line wf wrote, that is the same bytes, so
//!   a version 1 line verifies by the version 2 rule; a version 1 line that
//!   does not is also checked by the old rule (compatibility path).
//!
//! Readers keep each line's bytes and end offset; reopening a trace to
//! append cuts it at the end of its last complete line, by byte offset.

use crate::event::{Event, Record, TRACE_VERSION};
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
    version: u32,
}

/// The format version of a trace whose first record is `first`: the
/// header's, else (no header) the current one.
pub fn version_of(first: Option<&Record>) -> u32 {
    match first.map(|r| &r.event) {
        Some(Event::RunStarted { trace_version, .. }) => *trace_version,
        _ => TRACE_VERSION,
    }
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
            version: TRACE_VERSION,
        })
    }

    /// Opens an existing trace to append to it (a resumed run). `records` are
    /// its complete records, as read; a torn last line is cut off first, at
    /// the byte offset where the last complete line ends.
    pub fn reopen(path: &Path, records: &[Record]) -> std::io::Result<TraceWriter> {
        let bytes = std::fs::read(path)?;
        let complete = bytes.iter().filter(|b| **b == b'\n').count();
        if complete != records.len() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{} has {complete} complete lines, {} records were read: it changed meanwhile",
                    path.display(),
                    records.len()
                ),
            ));
        }
        let valid_len = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1) as u64;
        let file = std::fs::OpenOptions::new().append(true).open(path)?;
        file.set_len(valid_len)?;
        let last = records.last();
        Ok(TraceWriter {
            file,
            seq: last.map_or(0, |r| r.seq + 1),
            start: Instant::now() - std::time::Duration::from_millis(last.map_or(0, |r| r.t_ms)),
            last_hash: last.map_or(String::new(), |r| r.hash.clone()),
            version: version_of(records.first()),
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
        if let (0, Event::RunStarted { trace_version, .. }) = (self.seq, &record.event) {
            self.version = *trace_version;
        }
        // The line without its hash, hashed as these bytes, then the hash
        // appended as its last member (the same bytes in versions 1 and 2).
        let unhashed = serde_json::to_vec(&record).expect("events serialize");
        record.hash = line_hash(&self.last_hash, &unhashed);
        let mut line = unhashed;
        line.pop();
        line.extend_from_slice(format!(",\"hash\":\"{}\"}}\n", record.hash).as_bytes());
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
    /// The exact bytes of each complete line (without its newline), as
    /// hashed.
    pub lines: Vec<Vec<u8>>,
    /// The byte offset where each complete line ends (after its newline).
    pub ends: Vec<u64>,
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
    let (mut lines, mut ends, mut offset) = (Vec::new(), Vec::new(), 0u64);
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
        offset += n as u64;
        match serde_json::from_slice::<Record>(&buf) {
            Ok(r) => {
                records.push(r);
                lines.push(buf[..buf.len() - 1].to_vec());
                ends.push(offset);
            }
            Err(e) => {
                return Err(TraceError::Invalid {
                    path: display,
                    line: line_no,
                    message: e.to_string(),
                });
            }
        }
    }
    Ok(Trace {
        records,
        torn_tail,
        lines,
        ends,
    })
}

/// The chain hash of a line whose bytes without the hash are `unhashed`,
/// after a record whose hash is `prev`.
fn line_hash(prev: &str, unhashed: &[u8]) -> String {
    let mut bytes = prev.as_bytes().to_vec();
    bytes.push(b'\n');
    bytes.extend_from_slice(unhashed);
    crate::hash::sha256_hex(&bytes)
}

/// A line's bytes with its `,"hash":"<hex>"}` suffix replaced by `}`, and
/// the hash; `None` when the line does not end so.
fn split_hash(line: &[u8]) -> Option<(Vec<u8>, &str)> {
    const HEX: usize = 64;
    let suffix_len = ",\"hash\":\"".len() + HEX + "\"}".len();
    let at = line.len().checked_sub(suffix_len)?;
    let (body, suffix) = line.split_at(at);
    let hash = suffix.strip_prefix(b",\"hash\":\"")?.strip_suffix(b"\"}")?;
    let hash = std::str::from_utf8(hash).ok()?;
    let mut unhashed = body.to_vec();
    unhashed.push(b'}');
    Some((unhashed, hash))
}

/// Checks the hash chain and the sequence numbers of a trace as read, by
/// the rule of its format version (see the module doc). The error names the
/// first bad line (1-based) and what is wrong with it.
pub fn verify_trace(trace: &Trace) -> Result<(), (usize, String)> {
    let version = version_of(trace.records.first());
    let mut prev = String::new();
    for (i, (r, line)) in trace.records.iter().zip(&trace.lines).enumerate() {
        let n = i + 1;
        if r.seq != i as u64 {
            return Err((
                n,
                format!(
                    "sequence number {} where {i} was expected: an event was dropped or moved",
                    r.seq
                ),
            ));
        }
        let by_bytes = split_hash(line).is_some_and(|(unhashed, hash)| {
            hash == r.hash && line_hash(&prev, &unhashed) == r.hash
        });
        let by_old_rule = version < 2 && chain_hash(&prev, r) == r.hash;
        if !by_bytes && !by_old_rule {
            return Err((
                n,
                "hash mismatch: the event was edited, or one before it was".to_string(),
            ));
        }
        prev = r.hash.clone();
    }
    Ok(())
}

/// The chain hash of `record` after a record whose hash is `prev`, over its
/// serialization: the line wf writes for it (both versions), and the
/// version 1 rule for a line read back.
pub fn chain_hash(prev: &str, record: &Record) -> String {
    let mut unhashed = record.clone();
    unhashed.hash.clear();
    let mut bytes = prev.as_bytes().to_vec();
    bytes.push(b'\n');
    bytes.extend(serde_json::to_vec(&unhashed).expect("records serialize"));
    crate::hash::sha256_hex(&bytes)
}

/// Checks the hash chain and the sequence numbers of parsed records by
/// their re-serialization (the version 1 rule), for records without their
/// lines. A trace read from a file is checked with [`verify_trace`]. The
/// error names the first bad line (1-based) and what is wrong with it.
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
    use crate::event::Event;

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

    #[test]
    fn a_record_with_an_unknown_field_verifies_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path());
        let trace = read(&path).unwrap();
        // A newer wf's record: a field this one does not know, the hash
        // over the line's bytes as written.
        let prev = &trace.records.last().unwrap().hash;
        let unhashed = br#"{"seq":4,"t_ms":9,"kind":"repair_requested","round":4,"failed":[],"from_the_future":{"x":1.50}}"#;
        let hash = line_hash(prev, unhashed);
        let mut text = std::fs::read(&path).unwrap();
        text.extend_from_slice(&unhashed[..unhashed.len() - 1]);
        text.extend_from_slice(format!(",\"hash\":\"{hash}\"}}\n").as_bytes());
        std::fs::write(&path, &text).unwrap();
        let trace = read(&path).unwrap();
        assert_eq!(trace.records.len(), 5);
        assert_eq!(trace.ends.last().copied(), Some(text.len() as u64));
        assert_eq!(verify_trace(&trace), Ok(()));
        // Re-serializing would drop the field (and print 1.5): the old rule
        // cannot check it, the bytes can.
        assert!(verify(&trace.records).is_err());
        // Reopened to append: the line is kept whole.
        let mut w = TraceWriter::reopen(&path, &trace.records).unwrap();
        w.append(Event::RepairRequested {
            round: 5,
            failed: vec![],
        })
        .unwrap();
        let again = read(&path).unwrap();
        assert_eq!(again.records.len(), 6);
        assert!(std::fs::read(&path).unwrap().starts_with(&text));
        assert_eq!(verify_trace(&again), Ok(()));
        // Edited bytes are still found.
        let edited = String::from_utf8(std::fs::read(&path).unwrap())
            .unwrap()
            .replace("1.50", "2.50");
        std::fs::write(&path, edited).unwrap();
        assert_eq!(verify_trace(&read(&path).unwrap()).unwrap_err().0, 5);
    }

    #[test]
    fn a_version_1_trace_still_reads_and_verifies() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/traces/v1-sample.jsonl");
        let trace = read(&path).unwrap();
        assert!(trace.torn_tail.is_none());
        assert_eq!(version_of(trace.records.first()), 1);
        assert_eq!(verify_trace(&trace), Ok(()));
        assert_eq!(
            crate::summary::from_records(&trace.records).status,
            "succeeded"
        );
        // Tampering is found by either rule.
        let mut edited = trace.clone();
        let line = String::from_utf8(edited.lines[3].clone()).unwrap();
        edited.lines[3] = line.replacen("\"t_ms\":", "\"t_ms\":1", 1).into_bytes();
        edited.records[3] = serde_json::from_slice(&edited.lines[3]).unwrap();
        assert_eq!(verify_trace(&edited).unwrap_err().0, 4);
    }

    #[test]
    fn new_traces_are_version_2_and_their_lines_hash_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let trace = read(&write(dir.path())).unwrap();
        for (r, line) in trace.records.iter().zip(&trace.lines) {
            assert_eq!(serde_json::to_vec(r).unwrap(), *line);
        }
        assert_eq!(version_of(trace.records.first()), TRACE_VERSION);
        assert_eq!(TRACE_VERSION, 2);
    }
}
