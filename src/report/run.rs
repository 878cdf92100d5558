//! What `wf report` renders: a recorded run as read from its folder
//! ([`RunReport`]), and one line of an index of runs ([`IndexEntry`]).
//! Both views ([`super::html`], [`super::markdown`]) take these and first
//! call [`RunReport::redacted`], so every string they show has been through
//! [`Secrets::redact`].

use crate::record::event::Record;
use crate::record::summary::Summary;
use crate::secrets::Secrets;

/// A recorded run, as read from its folder.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The run id (the folder's name).
    pub id: String,
    /// Its records, in trace order.
    pub records: Vec<Record>,
    /// Whether a wf process holds the run now (a trace without an end is
    /// `running` then, `interrupted` otherwise).
    pub live: bool,
    /// `diff.patch`, when there is one.
    pub patch: Option<String>,
    /// Whether the trace's hash chain verifies; why not, when it does not.
    pub verified: Result<(), String>,
    /// The last line of the trace was cut short (the run was killed while
    /// writing it).
    pub torn_tail: bool,
    /// What the task file says about the tools, permissions, sandbox,
    /// checks, checkpoints and limits of the run, when the file is still the
    /// one the run ran (same spec hash); otherwise why it is not shown.
    pub task: Result<serde_json::Value, String>,
    /// Where the full patch lives (shown when a view cuts the diff short).
    pub patch_path: String,
}

/// A [`RunReport`] with its secrets taken out, and its summary.
#[derive(Debug, Clone)]
pub struct Redacted {
    /// The run id.
    pub id: String,
    /// The records, every string redacted.
    pub records: Vec<Record>,
    /// The summary of the redacted records.
    pub summary: Summary,
    /// The patch, redacted.
    pub patch: Option<String>,
    /// Trace verification, the reason redacted.
    pub verified: Result<(), String>,
    /// See [`RunReport::torn_tail`].
    pub torn_tail: bool,
    /// See [`RunReport::task`], redacted.
    pub task: Result<serde_json::Value, String>,
    /// See [`RunReport::patch_path`].
    pub patch_path: String,
    /// Records left out because they no longer read as events once
    /// redacted (a secret equal to an event's kind, say).
    pub dropped: usize,
}

impl RunReport {
    /// This run with `secrets` redacted from every string of its records,
    /// its patch and its task, and the summary of what is left.
    pub fn redacted(&self, secrets: &Secrets) -> Redacted {
        let mut dropped = 0;
        let records: Vec<Record> = self
            .records
            .iter()
            .filter_map(|r| {
                let mut value = serde_json::to_value(r).ok()?;
                secrets.redact_json(&mut value);
                let back = serde_json::from_value(value).ok();
                if back.is_none() {
                    dropped += 1;
                }
                back
            })
            .collect();
        let mut summary = crate::record::summary::from_records(&records);
        if summary.status == "running" && !self.live {
            summary.status = "interrupted".into();
        }
        if summary.run_id.is_empty() {
            summary.run_id = self.id.clone();
        }
        let task = match &self.task {
            Ok(v) => {
                let mut v = v.clone();
                secrets.redact_json(&mut v);
                Ok(v)
            }
            Err(why) => Err(secrets.redact(why).into_owned()),
        };
        Redacted {
            id: self.id.clone(),
            records,
            summary,
            patch: self
                .patch
                .as_deref()
                .map(|p| secrets.redact(p).into_owned()),
            verified: self
                .verified
                .clone()
                .map_err(|why| secrets.redact(&why).into_owned()),
            torn_tail: self.torn_tail,
            task,
            patch_path: self.patch_path.clone(),
            dropped,
        }
    }
}

/// One run of an index page.
#[derive(Debug, Clone)]
pub struct IndexEntry {
    /// The run id.
    pub id: String,
    /// Its summary (as far as the trace could be read).
    pub summary: Summary,
    /// Why the trace is not to be trusted, when it is not.
    pub problem: Option<String>,
    /// Where the run's own report is, relative to the index (or absolute).
    pub link: String,
}

/// The total cost of `entries` in words: `$0.1234`, with how many runs'
/// cost is unknown, or `unknown` when none is known.
pub fn total_cost(entries: &[IndexEntry]) -> String {
    let known: Vec<f64> = entries
        .iter()
        .filter_map(|e| e.summary.totals.cost_usd)
        .collect();
    let unknown = entries.len() - known.len();
    if known.is_empty() {
        return "unknown".to_string();
    }
    // A sum of no floats is -0.0; start from +0.0.
    let total = known.iter().fold(0.0, |a, b| a + b);
    if unknown == 0 {
        super::describe::usd(total)
    } else {
        format!("{} ({unknown} unknown)", super::describe::usd(total))
    }
}
