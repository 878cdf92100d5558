//! Replay: re-execute a recorded run with its recorded model responses and
//! report the first event that comes out different; and the comparison of
//! two recorded runs.
//!
//! A replay rebuilds the run's starting state from what the run recorded
//! (its base commit and `start.patch`, the uncommitted changes of that
//! moment) — or, with `--current`, takes the repository as it is now — then
//! runs the same plan with a provider that answers from the trace. Tools and
//! checks really run again. Every event is compared with the recorded one,
//! leaving out the fields that legitimately differ (times, ids, who
//! approved; see [`crate::event::VOLATILE_FIELDS`]) and provider retries,
//! which depend on the network, not on the run.

use crate::checkpoint::Decision;
use crate::event::{Event, Record, comparable};
use crate::executor::{self, Mode, ReplaySetup, Reporter, RunOptions};
use crate::provider::{ModelRequest, ModelResponse, Provider, ProviderError, ProviderObserver};
use crate::store::RunDir;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The first difference between two event sequences.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// Sequence number (in the recorded run) where they part.
    pub seq: u64,
    /// The recorded event (None: the recorded run had ended).
    pub expected: Option<Value>,
    /// The new event (None: the replay ended earlier).
    pub actual: Option<Value>,
    /// What probably caused it.
    pub hint: String,
}

/// Serves the recorded answers of a run, in order.
pub struct RecordedProvider {
    answers: Vec<Result<ModelResponse, ProviderError>>,
    next: usize,
}

impl RecordedProvider {
    /// The answers recorded in `records`.
    pub fn from_records(records: &[Record]) -> RecordedProvider {
        let answers = records
            .iter()
            .filter_map(|r| match &r.event {
                Event::ModelResponse {
                    content,
                    stop_reason,
                    usage,
                    ..
                } => Some(Ok(ModelResponse {
                    content: content.clone(),
                    stop_reason: stop_reason.clone(),
                    usage: usage.clone(),
                })),
                Event::ModelError {
                    message,
                    status,
                    request_id,
                    ..
                } => Some(Err(ProviderError {
                    message: message.clone(),
                    status: *status,
                    request_id: request_id.clone(),
                })),
                _ => None,
            })
            .collect();
        RecordedProvider { answers, next: 0 }
    }
}

impl Provider for RecordedProvider {
    fn complete(
        &mut self,
        _request: &ModelRequest,
        _observer: &mut dyn ProviderObserver,
    ) -> Result<ModelResponse, ProviderError> {
        let answer = self.answers.get(self.next).cloned().unwrap_or_else(|| {
            Err(ProviderError::new(format!(
                "the recorded run has no answer for model request {}",
                self.next + 1
            )))
        });
        self.next += 1;
        answer
    }
}

/// Serves a run's recorded answers first, then asks `live`: a resumed run
/// never sends a request that was already answered.
pub struct ThenLive<'a> {
    recorded: RecordedProvider,
    live: &'a mut dyn Provider,
}

impl<'a> ThenLive<'a> {
    /// Recorded answers of `records`, then `live`.
    pub fn new(records: &[Record], live: &'a mut dyn Provider) -> ThenLive<'a> {
        ThenLive {
            recorded: RecordedProvider::from_records(records),
            live,
        }
    }

    /// How many answers are recorded.
    pub fn recorded(&self) -> usize {
        self.recorded.answers.len()
    }
}

impl Provider for ThenLive<'_> {
    fn complete(
        &mut self,
        request: &ModelRequest,
        observer: &mut dyn ProviderObserver,
    ) -> Result<ModelResponse, ProviderError> {
        if self.recorded.next < self.recorded.answers.len() {
            self.recorded.complete(request, observer)
        } else {
            self.live.complete(request, observer)
        }
    }
}

struct Silent;

impl Reporter for Silent {
    fn record(&mut self, _record: &Record) {}
    fn say(&mut self, _text: &str) {}
}

/// Why a replay could not be made at all.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The run cannot be replayed (no header, no starting state, …).
    #[error("{0}")]
    Unusable(String),
    /// Loading the task file or planning failed.
    #[error(transparent)]
    Wf(#[from] crate::error::Error),
}

/// The task file of a recorded run (found from the current directory or the
/// repository root, and named as the run named it), with the model the run
/// used (`provider/name`, as recorded: `--provider` and `--model` given to
/// the run included), its inputs as given, and a resolver for its `uses:`
/// (pins from the `wf.lock` next to it, recipes cached under `root`).
pub fn recorded_task(
    spec_path: &str,
    inputs: &BTreeMap<String, Value>,
    model: &str,
    root: &Path,
    cwd: &Path,
) -> Result<
    (
        crate::spec::LoadedSpec,
        BTreeMap<String, String>,
        crate::recipes::Resolver,
    ),
    String,
> {
    let spec_file = [cwd.join(spec_path), root.join(spec_path)]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| format!("the task file {spec_path} no longer exists"))?;
    let mut loaded = crate::spec::load(&spec_file).map_err(|e| e.to_string())?;
    let resolver = crate::recipes::Resolver::for_task(&loaded, root, crate::recipes::Mode::Locked)
        .map_err(|e| e.to_string())?;
    loaded.path = std::path::PathBuf::from(spec_path);
    let (provider, name) = match model.split_once('/') {
        Some((p, n)) => (p, Some(n)),
        None => (model, None),
    };
    if let Some(p) = crate::spec::ProviderName::from_name(provider) {
        loaded.spec.model.provider = p;
    }
    if let Some(name) = name {
        loaded.spec.model.name = Some(name.to_string());
    }
    let given = inputs
        .iter()
        .map(|(k, v)| (k.clone(), crate::inputs::as_text(v)))
        .collect();
    Ok((loaded, given, resolver))
}

/// The starting state a run recorded: its base commit and `start.patch`.
/// `None` when it recorded neither (it ran outside git).
pub fn recorded_start(
    dir: &RunDir,
    base_revision: &Option<String>,
) -> Option<crate::workspace::Source> {
    let patch = dir.path.join("start.patch");
    let patch = patch.exists().then_some(patch);
    if base_revision.is_none() && patch.is_none() {
        return None;
    }
    Some(crate::workspace::Source::Snapshot {
        revision: base_revision.clone(),
        patch,
    })
}

/// The outcome of a replay.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every event reproduced.
    Reproduced(usize),
    /// The first difference.
    Diverged(Divergence),
}

/// Replays the run in `dir` under the repository `root`. `current` replays
/// against the repository as it is now instead of the run's starting state.
pub fn replay(
    root: &Path,
    cwd: &Path,
    dir: &RunDir,
    current: bool,
) -> Result<Outcome, ReplayError> {
    let trace =
        crate::trace::read(&dir.trace()).map_err(|e| ReplayError::Unusable(e.to_string()))?;
    let records = trace.records;
    if let Err((line, why)) = crate::trace::verify(&records) {
        return Ok(Outcome::Diverged(Divergence {
            seq: line as u64 - 1,
            expected: None,
            actual: None,
            hint: format!("the trace fails verification at line {line}: {why}"),
        }));
    }
    let Some(Event::RunStarted {
        spec_path,
        inputs,
        dry_run,
        base_revision,
        model,
        ..
    }) = records.first().map(|r| &r.event)
    else {
        return Err(ReplayError::Unusable(
            "the trace has no run_started header".into(),
        ));
    };
    let (loaded, given, mut resolver) =
        recorded_task(spec_path, inputs, model, root, cwd).map_err(ReplayError::Unusable)?;

    // The starting state is materialized in its own directory, and the plan
    // (context included) is made against it, as the run's was.
    let source = if current {
        crate::workspace::Source::Current
    } else {
        recorded_start(dir, base_revision).ok_or_else(|| {
            ReplayError::Unusable(
                "the run recorded no starting state (it ran outside git); replay it against today's files with --current".into(),
            )
        })?
    };
    let start = crate::workspace::Workspace::create_from(root, &source).map_err(|e| {
        ReplayError::Unusable(format!("cannot rebuild the run's starting state: {e}"))
    })?;
    // The plan (context included) is made against the starting state, as
    // the run's was; the replay then works in that same directory.
    let plan = crate::plan::make(&loaded, &given, &start.dir, &mut resolver)
        .map_err(crate::error::Error::from)?;
    let decisions: Vec<Decision> = records
        .iter()
        .filter_map(|r| Decision::of(&r.event))
        .filter(|d| *d != Decision::Paused)
        .collect();
    let scratch = std::env::temp_dir().join(format!("wf-replay-{}-{}", dir.id, std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let mut provider = RecordedProvider::from_records(&records);
    let options = RunOptions {
        yes: false,
        dry_run: *dry_run,
        interactive: false,
        color: false,
        commit: false,
    };
    let setup = ReplaySetup {
        workspace: Some(start),
        run_id: dir.id.clone(),
        dir: scratch.clone(),
        decisions,
    };
    // Each answer costs what it cost in the run, so spending limits end a
    // replay where they ended the run.
    let costs: Vec<Option<f64>> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::ModelResponse { cost_usd, .. } => Some(*cost_usd),
            _ => None,
        })
        .collect();
    let next = std::cell::Cell::new(0usize);
    let result = executor::run_with(
        &plan,
        &mut provider,
        Box::new(move |_, _| {
            let i = next.get();
            next.set(i + 1);
            costs.get(i).copied().flatten()
        }),
        options,
        &mut Silent,
        Mode::Replay(setup),
    );
    let replayed = crate::trace::read(&scratch.join("trace.jsonl"));
    let _ = std::fs::remove_dir_all(&scratch);
    result.map_err(ReplayError::Wf)?;
    let replayed = replayed
        .map_err(|e| ReplayError::Unusable(e.to_string()))?
        .records;
    // Against today's files the starting tree differs by design; what
    // matters is where the run then goes differently.
    let ignore: &[&str] = if current { &["workspace_ready"] } else { &[] };
    Ok(
        match compare_ignoring(
            &without_pauses(&records),
            &without_pauses(&replayed),
            ignore,
        ) {
            None => Outcome::Reproduced(records.len()),
            Some(d) => Outcome::Diverged(d),
        },
    )
}

/// The records without pauses: from a paused checkpoint up to the
/// `run_finished` it led to (the diff kept at the pause included). A pause
/// and the process that ended there are not part of the run's course; the
/// decision taken later (`wf approve`) is. Resume compares a run's course
/// with this, and replay compares both sides through it.
pub fn without_pauses(records: &[Record]) -> Vec<Record> {
    let mut pausing = false;
    records
        .iter()
        .filter(|r| match r.event {
            Event::Checkpoint {
                state: crate::event::CheckpointState::Paused,
                ..
            } => {
                pausing = true;
                false
            }
            Event::RunFinished {
                status: crate::event::RunStatus::Paused,
                ..
            } => {
                pausing = false;
                false
            }
            _ => !pausing,
        })
        .cloned()
        .collect()
}

/// Leaves out what does not belong to the run itself: provider retries, the
/// commit (its id depends on the clock; a replay never commits), and the
/// kinds in `ignore`.
fn relevant<'a>(records: &'a [Record], ignore: &[&str]) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| {
            !matches!(r.event, Event::ModelRetry { .. } | Event::Committed { .. })
                && !ignore.contains(&r.event.kind())
        })
        .collect()
}

/// Cost differs between a live run and a replay (the replay prices nothing).
fn normalized(record: &Record) -> Value {
    let mut v = comparable(record);
    if let Some(map) = v.as_object_mut() {
        map.remove("seq");
        map.remove("cost_usd");
        // Derived from spec, inputs and context, which are compared where
        // they are recorded (run_started, context_resolved): a change is
        // reported there, with its cause.
        map.remove("fingerprint");
        if let Some(Value::Object(totals)) = map.get_mut("totals") {
            totals.remove("cost_usd");
        }
    }
    v
}

/// The first difference between two runs' events, if any.
pub fn compare(expected: &[Record], actual: &[Record]) -> Option<Divergence> {
    compare_ignoring(expected, actual, &[])
}

/// [`compare`], leaving out events of the kinds in `ignore`.
pub fn compare_ignoring(
    expected: &[Record],
    actual: &[Record],
    ignore: &[&str],
) -> Option<Divergence> {
    let (e, a) = (relevant(expected, ignore), relevant(actual, ignore));
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i), a.get(i));
        let (xv, yv) = (x.map(|r| normalized(r)), y.map(|r| normalized(r)));
        if xv != yv {
            let seq = x.or(y).map_or(i as u64, |r| r.seq);
            let hint = hint(expected, x.copied(), y.copied());
            return Some(Divergence {
                seq,
                expected: x.map(|r| comparable(r)),
                actual: y.map(|r| comparable(r)),
                hint,
            });
        }
    }
    None
}

fn call_of<'a>(records: &'a [Record], call_id: &str) -> Option<(&'a str, &'a Value)> {
    records.iter().find_map(|r| match &r.event {
        Event::ToolCall {
            call_id: id,
            tool,
            input,
        } if id == call_id => Some((tool.as_str(), input)),
        _ => None,
    })
}

fn hint(recorded: &[Record], x: Option<&Record>, y: Option<&Record>) -> String {
    let (Some(x), Some(y)) = (x, y) else {
        return match (x, y) {
            (Some(x), None) => format!(
                "the replay ended before the recorded {} event",
                x.event.kind()
            ),
            (None, Some(y)) => format!(
                "the replay went on with a {} event after the recorded run ended",
                y.event.kind()
            ),
            _ => String::new(),
        };
    };
    match (&x.event, &y.event) {
        (Event::RunStarted { spec_hash: a, .. }, Event::RunStarted { spec_hash: b, .. })
            if a != b =>
        {
            "the task file changed: spec hash differs".into()
        }
        (Event::RunStarted { fingerprint: a, .. }, Event::RunStarted { fingerprint: b, .. })
            if a != b =>
        {
            "the plan's fingerprint differs: the inputs or the context files changed".into()
        }
        (Event::WorkspaceReady { .. }, Event::WorkspaceReady { .. }) => {
            "the starting files differ from the run's".into()
        }
        (Event::ContextResolved { files: a, .. }, Event::ContextResolved { files: b, .. }) => {
            let changed: Vec<&str> = a
                .iter()
                .filter(|f| !b.iter().any(|g| g.path == f.path && g.hash == f.hash))
                .map(|f| f.path.as_str())
                .chain(
                    b.iter()
                        .filter(|g| !a.iter().any(|f| f.path == g.path))
                        .map(|g| g.path.as_str()),
                )
                .collect();
            format!("context file {} changed since the run", changed.join(", "))
        }
        (
            Event::ToolResult {
                call_id, ok: oa, ..
            },
            Event::ToolResult { ok: ob, .. },
        ) => {
            let (tool, input) = call_of(recorded, call_id).unwrap_or(("tool", &Value::Null));
            let target = ["path", "command", "pattern"]
                .iter()
                .find_map(|k| input.get(*k).and_then(Value::as_str))
                .unwrap_or("");
            if oa != ob {
                format!(
                    "{tool} {target} now {}",
                    if *ob { "succeeds" } else { "fails" }
                )
            } else if tool == "read_file" {
                format!(
                    "read_file {target} returned different content: the file changed since the run"
                )
            } else {
                format!("{tool} {target} returned a different result")
            }
        }
        (
            Event::CheckResult {
                name, passed: a, ..
            },
            Event::CheckResult { passed: b, .. },
        ) if a != b => {
            format!("check `{name}` now {}", if *b { "passes" } else { "fails" })
        }
        (Event::CheckResult { name, .. }, Event::CheckResult { .. }) => {
            format!("check `{name}` printed different output")
        }
        (Event::ModelRequest { .. }, Event::ModelRequest { .. }) => {
            "the request to the model differs: its instructions, tools or earlier results changed"
                .into()
        }
        (a, b) if a.kind() != b.kind() => format!(
            "the run took another path: {} where {} was recorded",
            b.kind(),
            a.kind()
        ),
        (a, _) => format!("the {} event differs", a.kind()),
    }
}

/// Renders a divergence for a person.
pub fn render(d: &Divergence, what: &str) -> String {
    let kind = d
        .expected
        .as_ref()
        .or(d.actual.as_ref())
        .and_then(|v| v["kind"].as_str())
        .unwrap_or("event")
        .to_string();
    let mut out = format!("{what} diverged at event {} ({kind}): {}\n", d.seq, d.hint);
    match (&d.expected, &d.actual) {
        (Some(Value::Object(e)), Some(Value::Object(a))) => {
            let keys: std::collections::BTreeSet<&String> = e.keys().chain(a.keys()).collect();
            for k in keys {
                let (x, y) = (e.get(k), a.get(k));
                if x != y {
                    out.push_str(&format!(
                        "  {k}:\n    expected {}\n    actual   {}\n",
                        short(x),
                        short(y)
                    ));
                }
            }
        }
        (e, a) => {
            out.push_str(&format!(
                "  expected {}\n  actual   {}\n",
                short(e.as_ref()),
                short(a.as_ref())
            ));
        }
    }
    out
}

fn short(v: Option<&Value>) -> String {
    match v {
        None => "(nothing)".into(),
        Some(v) => {
            let text = v.to_string();
            if text.chars().count() > 200 {
                format!("{}…", text.chars().take(200).collect::<String>())
            } else {
                text
            }
        }
    }
}
