//! wf: run coding-agent workflows from versioned YAML task files.
//!
//! The `wf` binary only calls [`cli::main`] (and, for a confined child,
//! [`sandbox::helper_main`]).
//!
//! # Crates
//!
//! wf is a Cargo workspace of crates, one per concern, so the direction
//! of their dependencies is the compiler's to enforce, not a test's
//! (`tests/cli/structure.rs`'s `crates_depend_downward_only` keeps each
//! manifest to the table):
//!
//! | crate | holds | depends on |
//! |---|---|---|
//! | `wf-sandbox` | [`sandbox`]: the confined launcher for every command a run starts, at the strongest level the machine gives (`full`: namespaces and a minimal root view; `landlock`: Landlock, seccomp and a keeper), the seccomp filter, the proxy for `sandbox.network` host lists | nothing of wf |
//! | `wf-core` | [`hash`], [`glob`], [`patch`] (a git patch read once), [`secrets`] (what wf takes out of what it prints, sends and records), [`text`] (outside text made safe to print, sizes), [`sys`] (the one spawn path, file locks, the one git command builder, `openat2` beneath the workspace, user dirs, clock, signals) | `wf-sandbox` |
//! | `wf-spec` | [`spec`]: the task-file format — types, version-first loading with located errors, semantics, templates, inputs, the shell-pattern and `uses:` grammars, the JSON Schema; usable by an editor integration | `wf-core`, `wf-sandbox` |
//! | `wf-provider` | [`provider`]: the model interface; anthropic, openai, script; SSE decoding; retries, the response cache, prices | `wf-core`, `wf-spec` |
//! | `wf-record` | [`record`]: the events and the wire types of what a run records of its plan and its model's answers ([`record::wire`]), the trace and its one writer ([`record::recorder`]), run folders, the summary, comparison — a versioned format (`tests/fixtures/traces/v1-sample.jsonl` must keep reading) | `wf-core` |
//! | `wf-engine` | the executor, with no terminal in it: [`plan`], [`context`], [`policy`], [`tools`], [`mcp`], [`workspace`], [`recipes`], [`engine`], [`recorded`], [`batch_share`], [`error`] (below) | all of the above |
//! | `wf` (this one) | the front end: [`cli`], [`app`], [`report`] | all of them |
//!
//! `wf` re-exports every crate under the module name the code has always
//! used, so `crate::spec::…` here is `wf_spec::…` and `crate::engine::…` is
//! `wf_engine::engine::…`. The record knows nothing of plans: what a run
//! records of one (a sandbox approval, a `--script` replacement, MCP tool
//! definitions, recipe pins) and of its model's answers (blocks, stop
//! reasons, usage) are the record's own types; `plan` and `recipes` use
//! them, and [`recorded`] converts a provider's answer to them and back, so
//! no provider change can change the recorded format. `wf-record` and
//! `wf-provider` know nothing of each other.
//!
//! # Modules
//!
//! Read top-down, the layers are:
//!
//! | where | what lives there |
//! |---|---|
//! | [`cli`] (wf) | clap types, dispatch, printing, exit codes — nothing else |
//! | [`app`] (wf) | one file per operation: [`app::run`], [`app::resume`] (with approve and reject), [`app::approver`] (checkpoints shown and asked on the terminal), [`app::lock`] (the `wf.lock` algorithm), [`app::runs`] (list, show, `--touching`), [`app::replay`], [`app::batch`] (one task over many repositories, each an ordinary run in a child process), [`app::provider`] (construction and pricing), [`app::validate`], [`app::find`] (a task file by name, the task folders, `wf.tasks`), [`app::list`], [`app::trust`] (approval of a wider sandbox), [`app::init`], [`app::test`], [`app::export`] (a run sent to OpenTelemetry, after `wf run` and by `wf export otel`), [`app::emit`] (GitHub Actions and Kubernetes files), both over a repos file read by [`app::repos`] |
//! | [`report`] (wf) | views that read records: progress, the timeline, the plan display, diffs; events worded once ([`report::describe`]), the reports rendered from one model ([`report::model`]), a run as OpenTelemetry spans ([`report::otel`]) |
//! | [`engine`] (wf-engine) | the one loop: steps, agent steps, limits, the prompt and conversation, checks, checkpoints (as data, for an [`engine::Approver`]); its errors, [`engine::EngineError`] |
//! | [`recorded`] (wf-engine) | a model's answers between the provider's types and the record's: the conversions both ways, and the provider that serves a run's recorded answers (replay, the catch-up of a resume) |
//! | [`batch_share`] (wf-engine) | what the runs of one `wf batch` share across processes: the spending against the batch's cap, request slots, a back-off (the engine's runs honor it, [`app::batch`] sets it up) |
//! | [`plan`] (wf-engine) | spec + inputs + repository → [`plan::Plan`]; caller bounds of recipes; the fingerprint; what a run folder keeps of a task file outside its repository ([`plan::task_copy`]) |
//! | [`context`] (wf-engine) | glob resolution, hashing, token estimates |
//! | [`policy`] (wf-engine) | the one permission decision: read, write, list, exec, caller bounds |
//! | [`tools`] (wf-engine) | one file per tool, each with its definition and its call |
//! | [`mcp`] (wf-engine) | MCP servers as tools: the stdio and streamable-HTTP clients, listing before a run (held to the `wf.lock` pins), the run's session (recorded answers in a replay) |
//! | [`workspace`] (wf-engine) | the isolated workspace (a slot kept from run to run, or with `--workspace checkout` a disposable CI checkout itself: [`workspace::checkout`]), staging the start, the slot's object store, the diff and applying it, the build and package caches, toolchain links, `wf gc` ([`workspace::gc`]) — a file per concern |
//! | [`recipes`] (wf-engine) | resolving `uses:`, the lock file format, the git cache |
//! | [`error`] (wf-engine) | the error a command ends with, and the one mapping to exit codes |
//!
//! Where to find: the permission rules in [`policy`]; each tool in
//! `crates/wf-engine/src/tools/<name>.rs`; each provider in
//! `crates/wf-provider/src/<name>.rs`; the trace writer in
//! [`record::recorder`]; resume in [`app::resume`]; the lock-file algorithm
//! in [`app::lock`]. Inside `wf` and `wf-engine`, dependencies point down
//! this table (`tests/cli/structure.rs` keeps it so): the plan knows
//! nothing of the engine, providers and tools never know each other (the
//! engine connects them), views read records and never reach into the
//! engine.

#[macro_use]
pub mod cli;

pub mod app;
pub mod report;

// The crates below wf (see the map above), under the module names the
// code has always used: `crate::spec::…` in wf is `wf_spec::…`.
pub use wf_core::{glob, hash, patch, secrets, sys, text};
pub use wf_engine::{
    batch_share, context, engine, error, mcp, plan, policy, recipes, recorded, tools, workspace,
};
pub use wf_provider as provider;
pub use wf_record as record;
pub use wf_sandbox as sandbox;
pub use wf_spec as spec;
