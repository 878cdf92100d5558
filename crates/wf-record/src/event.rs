//! The event vocabulary shared by the trace, `--json`, the progress line,
//! `wf show`, the summary and replay.
//!
//! Each trace line is a [`Record`]: a sequence number, the event (tagged by
//! `kind`), and `t_ms`, the milliseconds since the run started. Fields that
//! depend on the clock, the machine or the person are volatile, per event
//! kind ([`Event::volatile`], plus [`RECORD_VOLATILE`] on every record): a
//! replay compares everything else.

use crate::wire::{Block, StopReason, Usage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the trace format; the header event carries it.
/// Version 2: the hash chain covers each line's exact bytes (see
/// [`crate::trace`]); version 1 traces still verify.
pub const TRACE_VERSION: u32 = 2;

/// Fields of every [`Record`] that differ between two faithful runs: the
/// time since the start and the hash chaining it to a trace whose header
/// differs.
pub const RECORD_VOLATILE: &[&str] = &["t_ms", "hash"];

/// How an agent's conversation is kept short on long runs, recorded in
/// `run_started` so that replay and resume shape the requests as the run
/// did, whatever today's wf does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationPolicy {
    /// A re-read of an unchanged file gets the "unchanged since turn N"
    /// note (see `engine::agent::reread`).
    pub reread_notes: bool,
    /// Results of read tools older than this many turns are cleared (see
    /// `engine::agent::clear`); 0: never.
    pub clear_after_turns: u32,
    /// ... only once they add up to this many bytes.
    pub clear_at_least_bytes: u64,
}

impl ConversationPolicy {
    /// What this wf does in a new run.
    pub const CURRENT: ConversationPolicy = ConversationPolicy {
        reread_notes: true,
        clear_after_turns: 8,
        clear_at_least_bytes: 48 * 1024,
    };
    /// What wf did before the policy was recorded: every result whole.
    pub const NONE: ConversationPolicy = ConversationPolicy {
        reread_notes: false,
        clear_after_turns: 0,
        clear_at_least_bytes: 0,
    };
}

/// The sandbox a run was started with, as the task file (or `--sandbox`)
/// set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxSetting {
    /// `auto` or `off`.
    pub mode: String,
    /// Whether commands may use the network.
    pub network: bool,
    /// The hosts commands may reach through wf's proxy, when
    /// `sandbox.network` is a list (`network` is then `false`; absent
    /// otherwise, and in traces older than the lists).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Extra read roots, as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<String>,
    /// Extra write roots, as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub write: Vec<String>,
}

/// A path of a run's change that its permissions do not allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedPath {
    /// The path, relative to the repository.
    pub path: String,
    /// The rule that refuses it (`protect`, `write`, `internal`, `escape`).
    pub rule: String,
    /// Why, and (best effort) what wrote it.
    pub message: String,
}

/// One line of the trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// 0 for the header, then 1, 2, …
    pub seq: u64,
    /// Milliseconds since the run started.
    pub t_ms: u64,
    /// The event.
    #[serde(flatten)]
    pub event: Event,
    /// SHA-256 chaining this record to the previous one (see
    /// [`crate::trace::verify`]); empty while the record is being hashed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hash: String,
}

/// A context file as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// Relative path.
    pub path: String,
    /// Bytes.
    pub bytes: u64,
    /// Token estimate.
    pub tokens: u64,
    /// Content hash.
    pub hash: String,
}

/// Which checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointName {
    /// Approval of the model's plan before any edit.
    Plan,
    /// Approval of the final diff before it touches the user's tree.
    Apply,
    /// Approval of the changes so far, after a step that asks for it
    /// (`checkpoints.apply` on a step), before the next step runs.
    Step,
}

impl CheckpointName {
    /// The name as written in task files.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckpointName::Plan => "plan",
            CheckpointName::Apply => "apply",
            CheckpointName::Step => "step",
        }
    }
}

/// What happened at a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointState {
    /// The run arrived at it.
    Reached,
    /// A human said yes.
    Approved,
    /// A human said no.
    Rejected,
    /// Nobody could be asked; the run is saved and waits.
    Paused,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Checks pass; the change was applied, or there was none to apply.
    Succeeded,
    /// Checks pass; the change was shown and not applied (`--dry-run`, or no apply checkpoint... see docs).
    DryRun,
    /// Waiting at a checkpoint.
    Paused,
    /// A human rejected the plan or the change.
    Rejected,
    /// Checks still failing after the allowed repairs.
    ChecksFailed,
    /// `limits.max_turns` reached.
    TurnLimit,
    /// `limits.max_cost_usd` reached.
    CostLimit,
    /// `limits.timeout` reached.
    Timeout,
    /// The model failed (provider error, script exhausted, refusal).
    ModelError,
    /// The change could not be applied (the user changed the same files).
    ApplyFailed,
    /// wf itself failed (workspace, git, I/O).
    Error,
    /// `SIGINT` (Ctrl-C), `SIGTERM` or `SIGHUP` stopped the run; `wf resume`
    /// continues it.
    Interrupted,
}

impl RunStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::DryRun => "dry_run",
            RunStatus::Paused => "paused",
            RunStatus::Rejected => "rejected",
            RunStatus::ChecksFailed => "checks_failed",
            RunStatus::TurnLimit => "turn_limit",
            RunStatus::CostLimit => "cost_limit",
            RunStatus::Timeout => "timeout",
            RunStatus::ModelError => "model_error",
            RunStatus::ApplyFailed => "apply_failed",
            RunStatus::Error => "error",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// Token and cost totals of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Model requests sent.
    pub turns: u32,
    /// Repair rounds used.
    pub repairs: u32,
    /// Uncached input tokens (None when some response had no usage).
    pub input_tokens: Option<u64>,
    /// Output tokens.
    pub output_tokens: Option<u64>,
    /// Cache writes.
    pub cache_creation_input_tokens: u64,
    /// Cache reads.
    pub cache_read_input_tokens: u64,
    /// Cost in USD; None when usage or prices are unknown.
    pub cost_usd: Option<f64>,
    /// Whether the cost counts an upper-bound estimate for some response
    /// that came without usage (under a cost cap; see `docs/format.md`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cost_estimated: bool,
}

/// Something that happened in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// The header: first line of every trace.
    RunStarted {
        /// Trace format version.
        trace_version: u32,
        /// wf's version.
        wf_version: String,
        /// The run id.
        run_id: String,
        /// The workflow's name.
        spec_name: String,
        /// Its version.
        spec_version: Option<String>,
        /// The task file as given.
        spec_path: String,
        /// Canonical spec hash.
        spec_hash: String,
        /// Inputs.
        inputs: BTreeMap<String, serde_json::Value>,
        /// Plan fingerprint.
        fingerprint: String,
        /// The commit the user's tree was on (None outside git or before the first commit).
        base_revision: Option<String>,
        /// `provider` or `provider/model`.
        model: String,
        /// Whether `--dry-run` was given.
        dry_run: bool,
        /// How commands are confined (absent in traces of wf before the
        /// sandbox).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sandbox: Option<Box<SandboxSetting>>,
        /// How the agent's conversation is kept short (absent in traces of
        /// wf before it was: replay and resume of such a run keep every
        /// result whole, as that wf did).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversation: Option<ConversationPolicy>,
        /// A cap on the run's spending given on the command line (`wf run
        /// --max-cost-usd`), besides the task's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_cost_usd: Option<f64>,
        /// How the user approved the run's sandbox widening (`sandbox:
        /// off`, network, extra roots; see [`crate::wire`]).
        /// Absent when the run's sandbox is the default, and in traces of
        /// wf before approvals were asked for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sandbox_approval: Option<Box<crate::wire::Approval>>,
        /// `wf run --script FILE`: the turns file that replaced the task
        /// file's model (absent otherwise, and in traces of wf before it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        script: Option<Box<crate::wire::ScriptOverride>>,
        /// Wall-clock start (RFC 3339).
        at: String,
    },
    /// The confinement every command of the run gets: the effective roots,
    /// with the workspace as `$WORKSPACE`, the run's temp dir as `$RUN_TMP`,
    /// the user's repository as `$REPO` and the home directory as `~`. Setup of this machine, not the run's
    /// course: replay compares the setting in `run_started`, not this.
    SandboxReady {
        /// `auto` (confined) or `off`.
        mode: String,
        /// Whether commands may use the network.
        network: bool,
        /// The hosts commands reach through wf's proxy (see
        /// `SandboxSetting::hosts`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hosts: Vec<String>,
        /// Roots commands may read and execute.
        read: Vec<String>,
        /// Roots commands may write.
        write: Vec<String>,
        /// Paths inside write roots that stay read-only.
        read_only: Vec<String>,
        /// How commands are confined: `full` (namespaces and a minimal
        /// view) or `landlock` (no namespaces); absent with `mode: off`
        /// and in traces older than the levels.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        level: Option<String>,
        /// Names of the variables the run's commands get beyond the
        /// scrubbed environment, sorted: the task's `env` (a value taken
        /// from wf's environment is recorded by its name only, never its
        /// value) and, without the network, the toolchains' offline
        /// switches. Empty in traces from before `env`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        env: Vec<String>,
    },
    /// An MCP server the run may call, with the definitions of its
    /// allowlisted tools as listed before the run (one event per server,
    /// sorted by name, after `sandbox_ready`). A replay exposes these
    /// definitions without starting the server. Its environment values are
    /// never recorded.
    McpServer {
        /// The server's name under `mcp:`.
        server: String,
        /// Its pinned package or local command.
        package: String,
        /// The allowlisted tools it offers, sorted by name.
        tools: Vec<crate::wire::McpTool>,
        /// SHA-256 of `tools` as canonical JSON.
        sha256: String,
    },
    /// A recipe `uses:` resolved to, as pinned in `wf.lock` (one event per
    /// recipe, sorted by reference, right after `run_started`).
    RecipeUsed {
        /// The reference (`./path.yaml` or `git+URL//PATH@REF`).
        uses: String,
        /// The recipe's name.
        name: String,
        /// For git references, the commit.
        commit: Option<String>,
        /// SHA-256 of the recipe file.
        sha256: String,
    },
    /// The workspace is ready.
    WorkspaceReady {
        /// Files in the workspace.
        files: usize,
        /// Git tree id of the baseline.
        base_tree: String,
        /// Whether the workspace slot was kept from an earlier run (only
        /// what differs rewritten) rather than copied whole. Not part of
        /// the run's course; absent in traces from before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reused: Option<bool>,
        /// `checkout` when the run worked in the repository's own checkout
        /// (`wf run --workspace checkout`); absent for a copy. Not part of
        /// the run's course (a replay works in a copy).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
        /// Submodules checked out in the user's tree whose files the
        /// workspace does not hold (it holds the superproject's files; a
        /// submodule is an empty directory there), sorted. Not part of the
        /// run's course (another clone may not have them checked out).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        submodules: Vec<String>,
    },
    /// The context files put in front of the model.
    ContextResolved {
        /// Each file.
        files: Vec<FileRef>,
        /// Total token estimate.
        total_tokens: u64,
    },
    /// A request to the model.
    ModelRequest {
        /// 1-based request number.
        turn: u32,
        /// SHA-256 of the exact request.
        request_hash: String,
        /// Token estimate of the whole request (bytes / 4).
        tokens_estimate: u64,
    },
    /// A failed attempt that will be retried.
    ModelRetry {
        /// The request number.
        turn: u32,
        /// Attempt that failed (1-based).
        attempt: u32,
        /// Why.
        reason: String,
        /// Wait before the next attempt.
        wait_ms: u64,
    },
    /// The model was still overloaded after its attempts: the request is
    /// sent again to the next model of `model.fallback`, which the agent
    /// step keeps. A replay reproduces it from the record: the recorded
    /// answer to the request is this overload.
    ModelFallback {
        /// The request number.
        turn: u32,
        /// The overloaded model.
        from: String,
        /// The model asked instead.
        to: String,
        /// The overload, as the provider said it.
        reason: String,
        /// Its HTTP status.
        status: Option<u16>,
    },
    /// The model's answer.
    ModelResponse {
        /// The request number.
        turn: u32,
        /// Text and tool calls.
        content: Vec<Block>,
        /// Why it stopped.
        stop_reason: StopReason,
        /// Token usage.
        usage: Usage,
        /// Cost of this response, when known (zero when served from the cache).
        cost_usd: Option<f64>,
        /// Served from the local response cache instead of the provider.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        cache_hit: bool,
    },
    /// The model failed.
    ModelError {
        /// The request number.
        turn: u32,
        /// What went wrong (never a secret).
        message: String,
        /// HTTP status.
        status: Option<u16>,
        /// Vendor request id.
        request_id: Option<String>,
    },
    /// A step of a multi-step workflow starts.
    StepStarted {
        /// The step's id.
        id: String,
        /// `agent` or `command`.
        step_kind: String,
        /// The step's own `sandbox.network`, when it sets one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        network: Option<bool>,
        /// The hosts of the step's own list (`network` is then `false`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hosts: Vec<String>,
    },
    /// A connection a command asked wf's proxy for (`sandbox.network` a
    /// list of hosts), once it is over: allowed or refused, and the bytes
    /// each way. Written before the next event of the run, in the order
    /// the proxy accepted them.
    NetworkConnection {
        /// The host asked for (a name, or an address literal).
        host: String,
        /// The port asked for.
        port: u16,
        /// Whether the list allows the host.
        allowed: bool,
        /// Why it was refused, or why an allowed one failed (the message
        /// the command got).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// Bytes from the command to the host.
        bytes_up: u64,
        /// Bytes from the host to the command.
        bytes_down: u64,
    },
    /// A step was skipped: its `if:` was false.
    StepSkipped {
        /// The step's id.
        id: String,
    },
    /// A step finished.
    StepFinished {
        /// The step's id.
        id: String,
        /// A command step's exit code.
        exit_code: Option<i32>,
        /// Its output: a command's output tail, an agent's answer (parsed
        /// JSON when it has an output schema).
        output: serde_json::Value,
    },
    /// A tool call, before it runs.
    ToolCall {
        /// The call id.
        call_id: String,
        /// Tool name as sent.
        tool: String,
        /// Input as sent.
        input: serde_json::Value,
    },
    /// A permission rule refused a call.
    PermissionDenied {
        /// The call id.
        call_id: String,
        /// Tool name.
        tool: String,
        /// The rule (`read`, `write`, `protect`, `escape`, `internal`, `shell`, `phase`).
        rule: String,
        /// The message the model got.
        message: String,
    },
    /// A tool call's result.
    ToolResult {
        /// The call id.
        call_id: String,
        /// Tool name.
        tool: String,
        /// False when denied or failed.
        ok: bool,
        /// `shell` exit code.
        exit_code: Option<i32>,
        /// SHA-256 of the content returned to the model.
        output_hash: String,
        /// The content returned to the model.
        output: String,
        /// Whether it was cut to fit.
        truncated: bool,
        /// Wall time.
        duration_ms: u64,
    },
    /// One check's result.
    CheckResult {
        /// 0 for the first round, then 1 per repair.
        round: u32,
        /// The check's name.
        name: String,
        /// Whether it passed.
        passed: bool,
        /// Exit code.
        exit_code: Option<i32>,
        /// Killed at its timeout.
        timed_out: bool,
        /// SHA-256 of the whole captured output.
        output_hash: String,
        /// The tail of the output.
        output_tail: String,
        /// Whether the captured output was cut.
        truncated: bool,
        /// Wall time.
        duration_ms: u64,
    },
    /// Checks failed and the model is asked to fix them.
    RepairRequested {
        /// The repair round (1-based).
        round: u32,
        /// Failed checks.
        failed: Vec<String>,
    },
    /// A checkpoint.
    Checkpoint {
        /// Which.
        name: CheckpointName,
        /// What happened.
        state: CheckpointState,
        /// Who decided.
        by: Option<String>,
        /// How (`terminal`, `--yes`, …).
        via: Option<String>,
        /// Comment given with the decision.
        comment: Option<String>,
        /// The approver asked for the applied change to be committed.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        commit: bool,
        /// When (RFC 3339).
        at: Option<String>,
        /// For a step checkpoint: the step it follows.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        /// For an approval of the apply or a step checkpoint: the SHA-256 of
        /// the exact diff approved (the one shown, or the one recorded at
        /// the pause for `wf approve`). A resume refuses to apply any other.
        /// Absent in traces of older wf.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        diff_sha256: Option<String>,
    },
    /// The run's change.
    DiffReady {
        /// SHA-256 of the patch.
        diff_hash: String,
        /// Files changed.
        files: Vec<String>,
    },
    /// The change was applied to the user's tree.
    Applied {
        /// Files changed.
        files: Vec<String>,
    },
    /// The applied change was committed (`--commit`).
    Committed {
        /// The new commit.
        revision: String,
        /// Files in it.
        files: Vec<String>,
    },
    /// The change writes paths the run's permissions do not allow: the run
    /// ends with `error`, nothing applied, `diff.patch` kept.
    ChangeRefused {
        /// Each refused path, with the rule and why.
        paths: Vec<RefusedPath>,
    },
    /// The change could not be applied.
    ApplyFailed {
        /// Why.
        message: String,
    },
    /// A limit ended the run.
    LimitReached {
        /// `max_turns`, `max_repairs`, `max_cost_usd` or `timeout`.
        limit: String,
        /// Details.
        message: String,
    },
    /// A signal (Ctrl-C, `SIGTERM`, `SIGHUP`) stopped the run: every
    /// command it started was killed, and what they did is not recorded.
    /// `run_finished` with status `interrupted` follows; a resume leaves
    /// both out (see [`without_interruptions`]).
    RunInterrupted {
        /// `SIGINT`, `SIGTERM` or `SIGHUP`.
        signal: String,
        /// When (RFC 3339).
        at: String,
    },
    /// The last event of a finished run.
    RunFinished {
        /// How it ended.
        status: RunStatus,
        /// Why, when it did not succeed.
        reason: Option<String>,
        /// Hash of the final patch.
        diff_hash: Option<String>,
        /// Files changed.
        files_changed: Vec<String>,
        /// Totals.
        totals: Totals,
    },
}

impl Event {
    /// The fields of this kind of event that differ between two faithful
    /// runs (the clock, the machine, the person, the local cache), left out
    /// when runs are compared. Every other field is compared: a recipe's
    /// `commit` is, while an approval's `commit` (the approver's choice) is
    /// not.
    pub fn volatile(&self) -> &'static [&'static str] {
        match self {
            // The trace format is not the run's course: a run recorded in
            // an older format replays the same.
            // How the widening was approved differs between faithful runs
            // (who, how, when); what it widens is in `sandbox`.
            Event::RunStarted { .. } => &[
                "wf_version",
                "trace_version",
                "run_id",
                "base_revision",
                "sandbox_approval",
                "at",
            ],
            Event::ModelResponse { .. } => &["cache_hit"],
            Event::WorkspaceReady { .. } => &["reused", "mode", "submodules"],
            Event::ToolResult { .. } | Event::CheckResult { .. } => &["duration_ms"],
            // What crossed depends on the host's answer (dates, TLS).
            Event::NetworkConnection { .. } => &["bytes_up", "bytes_down"],
            Event::RunInterrupted { .. } => &["signal", "at"],
            // The approved diff's hash is checked where it matters (resume,
            // apply); traces of older wf have none.
            Event::Checkpoint { .. } => &["by", "via", "comment", "commit", "at", "diff_sha256"],
            Event::RecipeUsed { .. }
            | Event::SandboxReady { .. }
            | Event::McpServer { .. }
            | Event::ContextResolved { .. }
            | Event::ModelRequest { .. }
            | Event::ModelRetry { .. }
            | Event::ModelFallback { .. }
            | Event::ModelError { .. }
            | Event::StepStarted { .. }
            | Event::StepSkipped { .. }
            | Event::StepFinished { .. }
            | Event::ToolCall { .. }
            | Event::PermissionDenied { .. }
            | Event::RepairRequested { .. }
            | Event::DiffReady { .. }
            | Event::Applied { .. }
            | Event::Committed { .. }
            | Event::ApplyFailed { .. }
            | Event::ChangeRefused { .. }
            | Event::LimitReached { .. }
            | Event::RunFinished { .. } => &[],
        }
    }

    /// The `kind` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::RunStarted { .. } => "run_started",
            Event::RecipeUsed { .. } => "recipe_used",
            Event::SandboxReady { .. } => "sandbox_ready",
            Event::McpServer { .. } => "mcp_server",
            Event::WorkspaceReady { .. } => "workspace_ready",
            Event::ContextResolved { .. } => "context_resolved",
            Event::ModelRequest { .. } => "model_request",
            Event::ModelRetry { .. } => "model_retry",
            Event::ModelFallback { .. } => "model_fallback",
            Event::ModelResponse { .. } => "model_response",
            Event::ModelError { .. } => "model_error",
            Event::StepStarted { .. } => "step_started",
            Event::StepSkipped { .. } => "step_skipped",
            Event::StepFinished { .. } => "step_finished",
            Event::NetworkConnection { .. } => "network_connection",
            Event::ToolCall { .. } => "tool_call",
            Event::PermissionDenied { .. } => "permission_denied",
            Event::ToolResult { .. } => "tool_result",
            Event::CheckResult { .. } => "check_result",
            Event::RepairRequested { .. } => "repair_requested",
            Event::Checkpoint { .. } => "checkpoint",
            Event::DiffReady { .. } => "diff_ready",
            Event::Applied { .. } => "applied",
            Event::Committed { .. } => "committed",
            Event::ChangeRefused { .. } => "change_refused",
            Event::ApplyFailed { .. } => "apply_failed",
            Event::LimitReached { .. } => "limit_reached",
            Event::RunInterrupted { .. } => "run_interrupted",
            Event::RunFinished { .. } => "run_finished",
        }
    }
}

/// The records of a trace without its interruptions: each
/// `run_interrupted` and the `run_finished` with status `interrupted` that
/// follows it. They are not part of the run's course, as pauses are not
/// (`crate::compare::without_pauses`): a resumed run catches up
/// with the rest and goes on from there.
pub fn without_interruptions(records: &[Record]) -> Vec<Record> {
    records
        .iter()
        .filter(|r| {
            !matches!(
                r.event,
                Event::RunInterrupted { .. }
                    | Event::RunFinished {
                        status: RunStatus::Interrupted,
                        ..
                    }
            )
        })
        .cloned()
        .collect()
}

/// A record as JSON with the volatile fields ([`RECORD_VOLATILE`] and its
/// kind's [`Event::volatile`]) removed: what replay and the determinism test
/// compare.
pub fn comparable(record: &Record) -> serde_json::Value {
    let mut v = serde_json::to_value(record).expect("records serialize");
    if let serde_json::Value::Object(map) = &mut v {
        // Top level only: a tool input may well have a key named `at`.
        for f in RECORD_VOLATILE.iter().chain(record.event.volatile()) {
            map.remove(*f);
        }
    }
    v
}

#[cfg(test)]
mod interruption_tests {
    use super::*;

    fn rec(seq: u64, event: Event) -> Record {
        Record {
            seq,
            t_ms: 0,
            event,
            hash: String::new(),
        }
    }

    fn finished(status: RunStatus) -> Event {
        Event::RunFinished {
            status,
            reason: None,
            diff_hash: None,
            files_changed: Vec::new(),
            totals: Totals::default(),
        }
    }

    #[test]
    fn a_run_started_of_an_older_wf_has_no_conversation_policy() {
        // The header of a trace written before the policy was recorded
        // (tests/fixtures/traces/v1-sample.jsonl): replay and resume of it
        // keep every result whole, as that wf did.
        let fixture = include_str!("../../../tests/fixtures/traces/v1-sample.jsonl");
        let first: Record = serde_json::from_str(fixture.lines().next().unwrap()).unwrap();
        let Event::RunStarted { conversation, .. } = &first.event else {
            panic!("not a run_started: {first:?}");
        };
        assert_eq!(*conversation, None);
        // A new run's policy is written, and read back the same.
        let mut event = first.event.clone();
        if let Event::RunStarted { conversation, .. } = &mut event {
            *conversation = Some(ConversationPolicy::CURRENT);
        }
        let text = serde_json::to_string(&event).unwrap();
        assert!(
            text.contains(r#""conversation":{"reread_notes":true,"clear_after_turns":8,"clear_at_least_bytes":49152}"#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), event);
    }

    #[test]
    fn without_interruptions_drops_the_interruption_tail_only() {
        let records = vec![
            rec(
                1,
                Event::RepairRequested {
                    round: 1,
                    failed: vec!["x".into()],
                },
            ),
            rec(
                2,
                Event::RunInterrupted {
                    signal: "SIGINT".into(),
                    at: "now".into(),
                },
            ),
            rec(3, finished(RunStatus::Interrupted)),
            rec(4, finished(RunStatus::Succeeded)),
        ];
        let kept: Vec<u64> = without_interruptions(&records)
            .iter()
            .map(|r| r.seq)
            .collect();
        assert_eq!(kept, [1, 4]);
        assert_eq!(RunStatus::Interrupted.as_str(), "interrupted");
    }
}
