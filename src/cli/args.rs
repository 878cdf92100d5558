//! What the command line accepts: the clap types, and nothing that acts on
//! them.

use clap::{Parser, Subcommand};
use std::num::NonZeroU32;
use std::path::PathBuf;

/// What `wf --version` prints after `wf `: the version and the commit it
/// was built from (`unknown` when built without git, see `build.rs`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("WF_GIT_COMMIT"),
    ")"
);

/// Run coding-agent workflows from versioned YAML task files.
#[derive(Debug, Parser)]
#[command(name = "wf", version = VERSION, about, propagate_version = true)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check task files; a directory means every *.yaml / *.yml under it. Nothing runs.
    Validate {
        /// Files, directories or task names (default: the current directory).
        paths: Vec<PathBuf>,
    },
    /// List the repository's task files: name, description, inputs (* required),
    /// and whether each validates.
    ///
    /// The task folders are `workflows/` at the repository root, or those a
    /// `wf.tasks` file there lists (one a line). `wf run NAME`, `wf plan NAME`
    /// and the others take a listed name from anywhere in the repository.
    List {
        /// Print the listing as one JSON object.
        #[arg(long, conflicts_with = "names")]
        json: bool,
        /// Print only the names, one a line (for scripts and shell completion).
        #[arg(long)]
        names: bool,
    },
    /// Show what a run would send and enforce, without calling any model.
    Plan {
        /// The task file: a path, or a name from `wf list`.
        spec: PathBuf,
        /// An input value, KEY=VALUE (repeatable).
        #[arg(short = 'i', long = "input", value_name = "KEY=VALUE")]
        inputs: Vec<String>,
        /// Print the plan as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Run a workflow; the user's tree changes only after the apply checkpoint passes.
    Run {
        /// The task file: a path, or a name from `wf list`.
        spec: PathBuf,
        /// An input value, KEY=VALUE (repeatable).
        #[arg(short = 'i', long = "input", value_name = "KEY=VALUE")]
        inputs: Vec<String>,
        /// Run everything and show the diff, but never apply it.
        #[arg(long)]
        dry_run: bool,
        /// Approve every checkpoint (recorded as approved by you via --yes).
        #[arg(long)]
        yes: bool,
        /// Print one JSON object per event on stdout, then a summary object.
        #[arg(long)]
        json: bool,
        /// Use this provider instead of the task file's (anthropic, openai, script).
        #[arg(long)]
        provider: Option<String>,
        /// Use this model instead of the task file's.
        #[arg(long)]
        model: Option<String>,
        /// Play the model's turns from this file (the script provider's
        /// format) instead of the task file's model; no copy of the task
        /// needed. Recorded in the trace.
        #[arg(long, value_name = "FILE")]
        script: Option<PathBuf>,
        /// Serve model requests already answered from the local response cache.
        #[arg(long)]
        cache: bool,
        /// Commit the applied change, with trailers naming the run, task and approver.
        #[arg(long)]
        commit: bool,
        /// `off` runs the commands of this run unconfined (recorded in the
        /// trace); `auto` confines them, or refuses where this machine cannot.
        #[arg(long, value_name = "auto|off", value_parser = parse_sandbox_mode)]
        sandbox: Option<crate::spec::SandboxMode>,
        /// Approve this task file's sandbox widening (`sandbox: off`, network,
        /// extra read/write roots) without being asked, for CI; remembered for this
        /// task file in this repository until the file changes.
        #[arg(long)]
        trust_sandbox: bool,
        /// Fewer lines: no line per tool call, no final answer of the model.
        #[arg(short, long)]
        quiet: bool,
        /// Cap what this run spends (US dollars), below the task's own
        /// `limits.max_cost_usd`; recorded, so replay and resume keep it.
        #[arg(long, value_name = "USD", value_parser = parse_dollars)]
        max_cost_usd: Option<f64>,
        /// Where the run works: `copy` (the default), a copy of the tree,
        /// applied after approval; `checkout`, this clean checkout itself,
        /// for a disposable CI checkout (only where `CI` is set): the
        /// approved change stays in place, any other end puts the start back.
        #[arg(long, value_name = "copy|checkout", value_parser = ["copy", "checkout"])]
        workspace: Option<String>,
    },
    /// Run a task in many repositories: an ordinary `wf run` in each, recorded
    /// in a batch folder; the same command again resumes the batch.
    ///
    /// Exit code 0 when every run succeeded, 1 when any did not (failed,
    /// rejected, paused, skipped for the budget, or the repository was
    /// unusable), 2 for a usage error (nothing ran), 130 when interrupted.
    Batch {
        /// The task file: a path, or a name from `wf list`.
        task: PathBuf,
        /// The repositories: one path or git URL a line, optionally followed
        /// by KEY=VALUE inputs; `#` comments.
        #[arg(long, value_name = "FILE")]
        repos: PathBuf,
        /// Runs at once.
        #[arg(short = 'j', long, default_value = "1", value_name = "N", value_parser = parse_at_least_one)]
        jobs: std::num::NonZeroUsize,
        /// An input value for every run, KEY=VALUE (repeatable).
        #[arg(short = 'i', long = "input", value_name = "KEY=VALUE")]
        inputs: Vec<String>,
        /// Once the batch's runs spent this much (US dollars), start no new
        /// run and stop running ones at their next model request.
        #[arg(long, value_name = "USD", value_parser = parse_dollars)]
        max_cost_usd: Option<f64>,
        /// Model requests in flight at once across all runs (default: --jobs).
        #[arg(long, value_name = "N", value_parser = parse_at_least_one)]
        max_requests: Option<std::num::NonZeroUsize>,
        /// Approve every run's checkpoints.
        #[arg(long, conflicts_with = "dry_run")]
        yes: bool,
        /// Run everything and record each diff, but never apply one.
        #[arg(long)]
        dry_run: bool,
        /// Approve the task's sandbox widening for every run (`wf run
        /// --trust-sandbox` in each repository); a batch refuses a task that
        /// widens the sandbox without it.
        #[arg(long)]
        trust_sandbox: bool,
        /// Print one JSON object per change of a repository's state on
        /// stdout, then a final object with every repository.
        #[arg(long)]
        json: bool,
        /// The batch folder (default: .wf/batches/NAME-FINGERPRINT at the
        /// repository root).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// What this machine supports for confining commands, and what wf will do.
    Doctor,
    /// Remove workspace slots and build caches no run has used for a while
    /// (never one a running wf holds), printing the space reclaimed.
    Gc {
        /// Remove what was not used for this many days.
        #[arg(long, value_name = "N", default_value_t = 14, conflicts_with = "all")]
        days: u64,
        /// Remove every slot and cache not in use now, however recent.
        #[arg(long)]
        all: bool,
    },
    /// List recorded runs, newest first.
    Runs {
        /// Only runs whose applied change touched this file (or a file under this directory).
        #[arg(long, value_name = "PATH")]
        touching: Option<String>,
    },
    /// Show a run's timeline: files read, tool calls, denials, checks, repairs, approvals, cost.
    Show {
        /// A run id, an unambiguous prefix of one, or `last`.
        run: String,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Check the trace's hash chain: report any edited, dropped or reordered event.
        #[arg(long)]
        verify: bool,
        /// Print all the output of this check, round by round.
        #[arg(long, value_name = "NAME", conflicts_with_all = ["json", "verify"])]
        check: Option<String>,
    },
    /// Write a run's report: one self-contained HTML page, or Markdown (at most 1 MiB) for
    /// a CI job summary; a folder of runs gets an index page linking each run's report.
    Report {
        /// A run id, an unambiguous prefix of one, `last`, a run folder, or a folder of
        /// run folders (`.wf/runs`).
        run: String,
        /// HTML (the default).
        #[arg(long, conflicts_with = "md")]
        html: bool,
        /// Markdown, at most 1 MiB.
        #[arg(long)]
        md: bool,
        /// Where to write it; `-` for stdout (default: report.html or report.md in the run
        /// folder; index.html or index.md in a folder of runs).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Re-execute a recorded run with its recorded model answers and report the first divergence.
    Replay {
        /// A run id, an unambiguous prefix of one, or `last`.
        run: String,
        /// Replay against the repository as it is now, not the run's starting state.
        #[arg(long, conflicts_with = "against")]
        current: bool,
        /// Compare with another recorded run instead of re-executing.
        #[arg(long, value_name = "RUN2")]
        against: Option<String>,
        /// Approve this task file's sandbox widening (`sandbox: off`, network,
        /// extra read/write roots) without being asked (the task file as it is now), for CI; remembered for this
        /// task file in this repository until the file changes.
        #[arg(long)]
        trust_sandbox: bool,
        /// Act on a run your wf did not create in this repository (no valid mark: it came with a clone or from elsewhere); shows its diff first.
        #[arg(long)]
        foreign: bool,
    },
    /// Approve the checkpoint a paused run waits at (then `wf resume` continues it).
    Approve {
        /// A run id, an unambiguous prefix of one, or `last`.
        run: String,
        /// Why, recorded with the decision.
        #[arg(long)]
        comment: Option<String>,
        /// Who approves (default: git user.email, else $USER).
        #[arg(long = "as", value_name = "NAME")]
        who: Option<String>,
        /// Commit the change once `wf resume` applies it.
        #[arg(long)]
        commit: bool,
        /// Act on a run your wf did not create in this repository (no valid mark: it came with a clone or from elsewhere); shows its diff first.
        #[arg(long)]
        foreign: bool,
    },
    /// Reject the checkpoint a paused run waits at; the run ends as rejected.
    Reject {
        /// A run id, an unambiguous prefix of one, or `last`.
        run: String,
        /// Why, recorded with the decision.
        #[arg(long)]
        comment: Option<String>,
        /// Who rejects (default: git user.email, else $USER).
        #[arg(long = "as", value_name = "NAME")]
        who: Option<String>,
        /// Act on a run your wf did not create in this repository (no valid mark: it came with a clone or from elsewhere); shows its diff first.
        #[arg(long)]
        foreign: bool,
    },
    /// Continue a paused or interrupted run from its trace, without repeating answered model requests.
    Resume {
        /// A run id, an unambiguous prefix of one, or `last`.
        run: String,
        /// Approve the checkpoints still ahead.
        #[arg(long)]
        yes: bool,
        /// Approve this task file's sandbox widening (`sandbox: off`, network,
        /// extra read/write roots) without being asked, for CI; remembered for this
        /// task file in this repository until the file changes.
        #[arg(long)]
        trust_sandbox: bool,
        /// Fewer lines: no line per tool call, no final answer of the model.
        #[arg(short, long)]
        quiet: bool,
        /// Act on a run your wf did not create in this repository (no valid mark: it came with a clone or from elsewhere); shows its diff first.
        #[arg(long)]
        foreign: bool,
    },
    /// Run recipe tests offline (`*.test.yaml`; a directory means every test file under it).
    Test {
        /// Test files or directories, or task names (their recipe tests)
        /// (default: the current directory).
        paths: Vec<PathBuf>,
    },
    /// Pin every `uses:` recipe to an exact commit and content hash, and every
    /// MCP server to its tool definitions, in `wf.lock` next to the task files.
    Lock {
        /// Task files, directories or task names (default: the current directory).
        paths: Vec<PathBuf>,
        /// Move pins on purpose: the one whose reference, recipe name, MCP
        /// server name or package is NAME, or every pin when NAME is left out.
        #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
        update: Option<String>,
    },
    /// Print the task-file JSON Schema.
    Schema,
    /// Print a shell completion script (`wf completions bash > /etc/bash_completion.d/wf`).
    Completions {
        /// The shell: bash, zsh or fish.
        #[arg(value_name = "SHELL", value_parser = parse_shell)]
        shell: clap_complete::Shell,
    },
    /// Print wf's manual page, or a subcommand's (roff; `wf man | man -l -`).
    Man {
        /// A subcommand (`wf man run` is the page wf-run(1)).
        subcommand: Option<String>,
    },
    /// Write a GitHub Actions workflow or a Kubernetes Job that runs a task over many
    /// repositories (a repos file); printed on stdout unless -o is given.
    Emit {
        /// What to write.
        #[command(subcommand)]
        target: EmitTarget,
    },
    /// Send a recorded run to your tracing: `wf export otel RUN` (OTLP/HTTP to
    /// OTEL_EXPORTER_OTLP_ENDPOINT, the same spans `wf run` sends when it is set).
    Export {
        /// What to export to.
        #[command(subcommand)]
        target: ExportTarget,
    },
    /// Write a new task file from a commented skeleton (never overwrites).
    Init {
        /// The workflow's name: lowercase letters, digits and single dashes.
        #[arg(default_value = crate::app::init::DEFAULT_NAME)]
        name: String,
        /// Where to write it (default: NAME.yaml in the first task folder, `workflows/`
        /// at the repository root unless `wf.tasks` lists others).
        #[arg(long, value_name = "FILE")]
        path: Option<PathBuf>,
    },
}

/// Where `wf export` sends a run.
#[derive(Debug, Subcommand)]
pub enum ExportTarget {
    /// An OpenTelemetry trace over OTLP/HTTP (OTEL_EXPORTER_OTLP_ENDPOINT, _HEADERS,
    /// _PROTOCOL http/protobuf or http/json, and their _TRACES_ forms): a span per run,
    /// step, model request, tool call, check and checkpoint, with the recorded times.
    Otel {
        /// A run id, an unambiguous prefix of one, or `last`.
        run: String,
        /// Write the OTLP request to FILE (`-` for stdout) instead of sending it.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// The encoding written with -o: http/json (the default) or http/protobuf.
        #[arg(long, value_name = "PROTOCOL", requires = "output", value_parser = ["http/json", "http/protobuf"])]
        protocol: Option<String>,
    },
}

/// What `wf emit` writes.
#[derive(Debug, Subcommand)]
pub enum EmitTarget {
    /// A GitHub Actions workflow: a matrix job a repository, a summary job, approval jobs.
    Github {
        #[command(flatten)]
        common: EmitCommon,
        /// The environment whose required reviewers approve paused runs (needed when
        /// the task has checkpoints).
        #[arg(long, value_name = "NAME", value_parser = parse_not_blank)]
        approval_environment: Option<String>,
        /// Jobs of a matrix running at once.
        #[arg(long, value_name = "N", default_value_t = crate::app::emit::github::DEFAULT_MAX_PARALLEL)]
        max_parallel: NonZeroU32,
        /// The bash command that installs wf on a runner (its binary in ~/.cargo/bin is
        /// cached), e.g. 'cargo install --locked --git URL --rev SHA wf'.
        #[arg(long, value_name = "COMMAND")]
        wf_install: Option<String>,
        /// After an approved run is applied and pushed as a branch, open a pull request (`gh`).
        #[arg(long)]
        pull_request: bool,
        /// The runner label of every job.
        #[arg(long, value_name = "LABEL", default_value = "ubuntu-latest")]
        runs_on: String,
    },
    /// A Kubernetes ConfigMap and Indexed Job: a completion a repository.
    K8s {
        #[command(flatten)]
        common: EmitCommon,
        /// The container image (wf, git and bash on its PATH).
        #[arg(long, value_name = "IMAGE", value_parser = parse_image)]
        image: String,
        /// Pods running at once.
        #[arg(long, value_name = "N", default_value_t = crate::app::emit::k8s::DEFAULT_PARALLELISM)]
        parallelism: NonZeroU32,
        /// The Secret holding the provider's API key, under the variable's name.
        #[arg(long, value_name = "NAME", default_value = "wf-provider", value_parser = parse_k8s_name)]
        secret: String,
        /// The PersistentVolumeClaim the run folders are copied to.
        #[arg(long, value_name = "NAME", default_value = "wf-runs", value_parser = parse_k8s_name)]
        runs_claim: String,
        /// The namespace of the objects.
        #[arg(long, value_name = "NAME", value_parser = parse_k8s_name)]
        namespace: Option<String>,
    },
}

/// What every `wf emit` target takes.
#[derive(Debug, clap::Args)]
pub struct EmitCommon {
    /// The task file, in this repository: a path, or a name from `wf list`.
    pub task: PathBuf,
    /// The repositories: one a line, a git URL or a path, then optional KEY=VALUE inputs.
    #[arg(long, value_name = "FILE")]
    pub repos: PathBuf,
    /// `--sandbox` for each run (`off` where runners cannot confine commands).
    #[arg(long, value_name = "auto|off", value_parser = parse_sandbox_mode)]
    pub sandbox: Option<crate::spec::SandboxMode>,
    /// Pass `--trust-sandbox` to each run: approve the task's sandbox widening
    /// (`sandbox: off`, network, extra roots) in the jobs, which cannot ask anyone.
    #[arg(long)]
    pub trust_sandbox: bool,
    /// Write to this file instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// What all the runs may spend together (US dollars): split evenly,
    /// each run gets `wf run --max-cost-usd X/N`, since the jobs share
    /// nothing while they run.
    #[arg(long, value_name = "USD", value_parser = parse_positive_dollars)]
    pub max_cost_usd: Option<f64>,
}

// The checks of a flag's value alone live here, in the parsers clap calls:
// a bad value is a usage error naming the flag (clap adds `for '--flag'`)
// before any work starts, and `app` takes values that are already valid
// (or types that cannot hold an invalid one: `NonZeroU32`). What depends
// on more than the flag (a cap split over the repositories, an environment
// a task with checkpoints needs) stays with the operation.

/// An amount of US dollars, 0 or more (`--max-cost-usd` of `wf run` and
/// `wf batch`: 0 spends nothing).
pub fn parse_dollars(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(format!("`{text}` is not a number of dollars, 0 or more")),
    }
}

/// An amount of US dollars above 0 (`wf emit --max-cost-usd`, split over
/// the runs).
pub fn parse_positive_dollars(text: &str) -> Result<f64, String> {
    match parse_dollars(text) {
        Ok(x) if x > 0.0 => Ok(x),
        _ => Err(format!("`{text}` is not a positive number of dollars")),
    }
}

/// A count of 1 or more.
pub fn parse_at_least_one(text: &str) -> Result<std::num::NonZeroUsize, String> {
    text.trim()
        .parse::<std::num::NonZeroUsize>()
        .map_err(|_| format!("`{text}` is not a whole number of at least 1"))
}

/// A value that is not empty or blank.
pub fn parse_not_blank(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("it is empty".to_string())
    } else {
        Ok(text.to_string())
    }
}

/// A Kubernetes object name (RFC 1123 subdomain).
pub fn parse_k8s_name(text: &str) -> Result<String, String> {
    if crate::app::emit::k8s::dns_name(text) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not a Kubernetes name (lowercase letters, digits, `-` and `.`)"
        ))
    }
}

/// A container image reference: not empty, no white space.
pub fn parse_image(text: &str) -> Result<String, String> {
    if text.trim().is_empty() || text.chars().any(char::is_whitespace) {
        Err(format!("`{text}` is not an image reference"))
    } else {
        Ok(text.to_string())
    }
}

pub fn parse_sandbox_mode(text: &str) -> Result<crate::spec::SandboxMode, String> {
    match text {
        "auto" => Ok(crate::spec::SandboxMode::Auto),
        "off" => Ok(crate::spec::SandboxMode::Off),
        _ => Err(format!("`{text}` is not a sandbox mode; use auto or off")),
    }
}

pub fn parse_shell(text: &str) -> Result<clap_complete::Shell, String> {
    match text {
        "bash" => Ok(clap_complete::Shell::Bash),
        "zsh" => Ok(clap_complete::Shell::Zsh),
        "fish" => Ok(clap_complete::Shell::Fish),
        _ => Err(format!(
            "`{text}` is not a supported shell; use bash, zsh or fish"
        )),
    }
}
