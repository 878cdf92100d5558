//! The recorder: the one writer of a run's trace.
//!
//! Everything that appends to a trace goes through here. Views (the
//! progress line, `--json`) receive each record through a [`Reporter`] as it
//! is written.

use crate::event::{Event, Record};
use crate::store::RunDir;
use crate::summary::{self, Summary};
use crate::trace::TraceWriter;

/// Receives every event as it is recorded, and human messages.
pub trait Reporter {
    /// An event was recorded.
    fn record(&mut self, record: &Record);
    /// Something to show a person (a diff, a plan to approve).
    fn say(&mut self, text: &str);
    /// Stop any live display (before a prompt or at the end).
    fn pause_display(&mut self) {}
    /// An agent step's final answer (`step`: its id, `None` for the one
    /// step of a single-prompt file). Shown whole; it is in the trace too.
    fn answer(&mut self, _step: Option<&str>, _text: &str) {}
    /// What runs now, between events (a check, a command step), for a live
    /// status line.
    fn activity(&mut self, _what: &str) {}
    /// A recorded run goes on (`wf resume`): its `run_started` header is not
    /// recorded again, so this gives the run's id to what points at it.
    fn resumed(&mut self, _run_id: &str) {}
}
/// The one writer of a run's trace.
///
/// It appends events (each also shown to the [`Reporter`]), keeps the
/// summary as it goes and writes `summary.json`. For a resume it first
/// *catches up*: the events the re-execution produces are compared with the
/// recorded ones instead of being appended, and the first difference stops
/// the resume with nothing written. Provider retries are recorded too, but
/// are not part of the run's course (they depend on the network): they are
/// never compared, and a failure to write one is reported by the next
/// [`Recorder::record`] rather than lost.
pub struct Recorder<'r> {
    writer: TraceWriter,
    dir: RunDir,
    summary: summary::Builder,
    reporter: &'r mut dyn Reporter,
    catch_up: Vec<Record>,
    caught_up: usize,
    failed: Option<std::io::Error>,
    notes: Vec<crate::compare::OutputNote>,
}

/// Why an event could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Writing the trace failed.
    #[error("cannot write the trace: {0}")]
    Io(#[from] std::io::Error),
    /// A resume's re-execution went differently from the recorded run.
    #[error("cannot resume: the run goes differently now, at event {seq} ({kind}): {hint}")]
    Diverged {
        /// The recorded event's sequence number.
        seq: u64,
        /// Its kind.
        kind: &'static str,
        /// What probably caused it.
        hint: String,
    },
}

impl<'r> Recorder<'r> {
    /// Starts the trace of a new run in `dir`.
    pub fn create(dir: &RunDir, reporter: &'r mut dyn Reporter) -> std::io::Result<Recorder<'r>> {
        Ok(Recorder {
            writer: TraceWriter::create(&dir.trace())?,
            dir: dir.clone(),
            summary: summary::Builder::default(),
            reporter,
            catch_up: Vec::new(),
            caught_up: 0,
            failed: None,
            notes: Vec::new(),
        })
    }

    /// Reopens the trace of `dir` to go on with it; `records` are its
    /// complete records, as read. `catch_up`: the recorded events a
    /// re-execution must reproduce before anything new is appended.
    pub fn reopen(
        dir: &RunDir,
        records: &[Record],
        catch_up: Vec<Record>,
        reporter: &'r mut dyn Reporter,
    ) -> std::io::Result<Recorder<'r>> {
        let mut summary = summary::Builder::default();
        for r in records {
            summary.add(r);
        }
        reporter.resumed(&dir.id);
        Ok(Recorder {
            writer: TraceWriter::reopen(&dir.trace(), records)?,
            dir: dir.clone(),
            summary,
            reporter,
            catch_up: catch_up
                .into_iter()
                .filter(|r| !matches!(r.event, Event::ModelRetry { .. }))
                .collect(),
            caught_up: 0,
            failed: None,
            notes: Vec::new(),
        })
    }

    /// Records one event of the run's course: compared with the recorded
    /// one while catching up, appended and reported after.
    pub fn record(&mut self, event: Event) -> Result<(), RecordError> {
        if let Some(e) = self.failed.take() {
            return Err(e.into());
        }
        if let Some(expected) = self.catch_up.get(self.caught_up) {
            let actual = Record {
                seq: expected.seq,
                t_ms: expected.t_ms,
                event,
                hash: String::new(),
            };
            // Output text alone may differ (timings): a note, not a
            // divergence; see [`crate::compare`].
            let c = crate::compare::comparison(
                std::slice::from_ref(expected),
                std::slice::from_ref(&actual),
                &[],
                !self.notes.is_empty(),
            );
            if let Some(d) = c.divergence {
                return Err(RecordError::Diverged {
                    seq: expected.seq,
                    kind: expected.event.kind(),
                    hint: d.hint,
                });
            }
            self.notes.extend(c.notes);
            self.caught_up += 1;
            return Ok(());
        }
        self.append(event)?;
        Ok(())
    }

    /// Records a provider retry: appended when live, never compared.
    pub fn retry(&mut self, event: Event) {
        if self.catching_up() || self.failed.is_some() {
            return;
        }
        if let Err(e) = self.append(event) {
            self.failed = Some(e);
        }
    }

    fn append(&mut self, event: Event) -> std::io::Result<Record> {
        let record = self.writer.append(event)?;
        self.summary.add(&record);
        self.reporter.record(&record);
        Ok(record)
    }

    /// Whether recorded events are still being reproduced.
    pub fn catching_up(&self) -> bool {
        self.caught_up < self.catch_up.len()
    }

    /// The recorded events not reproduced yet.
    pub fn still_recorded(&self) -> &[Record] {
        &self.catch_up[self.caught_up.min(self.catch_up.len())..]
    }

    /// Output differences met while catching up (not divergences).
    pub fn output_notes(&self) -> &[crate::compare::OutputNote] {
        &self.notes
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

    /// Shows `text` to the person (a diff, a plan to approve).
    pub fn say(&mut self, text: &str) {
        self.reporter.say(text);
    }

    /// Shows an agent step's final answer; not while a resume reproduces
    /// what was already shown.
    pub fn answer(&mut self, step: Option<&str>, text: &str) {
        if !self.catching_up() && !text.trim().is_empty() {
            self.reporter.answer(step, text);
        }
    }

    /// Tells a live display what runs now (a check, a command step).
    pub fn activity(&mut self, what: &str) {
        self.reporter.activity(what);
    }

    /// Stops any live display (before a prompt or at the end).
    pub fn pause_display(&mut self) {
        self.reporter.pause_display();
    }
}

/// A reporter that shows nothing (replays, decisions taken from the
/// command line).
pub struct Silent;

impl Reporter for Silent {
    fn record(&mut self, _record: &Record) {}
    fn say(&mut self, _text: &str) {}
}
