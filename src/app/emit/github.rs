//! `wf emit github`: a GitHub Actions workflow that runs one task over the
//! repositories of a repos file.
//!
//! Jobs, in order:
//!
//! - `run-K` (one per chunk of at most [`CHUNK`] repositories, GitHub's
//!   matrix limit): a matrix job per repository, `fail-fast: false`. It
//!   checks out this repository (for the task file), installs wf (cached),
//!   clones the target repository, runs the task, writes the run's report to
//!   the job summary and uploads `.wf/runs/<id>` as artifact `wf-run-N`.
//!   A run that succeeds or pauses at a checkpoint (exit 0 or 3) passes.
//! - `summary`: downloads every run folder and writes `wf report DIR --md`
//!   (at most 1 MiB, GitHub's limit) to the job summary; says whether any
//!   run paused.
//! - `approve-K` (only with checkpoints): the same matrix, gated by a
//!   GitHub environment whose required reviewers are the approval. For a
//!   paused run it runs `wf approve` and `wf resume` (which applies the
//!   change), then pushes a branch and, if asked, opens a pull request
//!   with `gh`. Entries whose run did not pause end at once.
//!
//! Tokens: the run jobs, which talk to the model and run its commands,
//! hold no token that can write to a repository — `permissions: contents:
//! read` for the workflow's own token, and the clone takes
//! `WF_GIT_READ_TOKEN` (a read-only token for private repositories), never
//! `WF_GIT_TOKEN`. The approval jobs, which can push, hold no model key and
//! run no model: they receive the run folder as an artifact and `wf
//! resume` applies its `diff.patch` only when its SHA-256 is the hash the
//! run recorded and the reviewer approved (a run that would need the model
//! again, paused at another checkpoint, fails there and is continued by
//! hand).
//!
//! Script injection: values from the repos file reach the steps only
//! through `env:` (`WF_REPO: ${{ matrix.repo }}`), and scripts quote them
//! (`"$WF_REPO"`); no `run:` text ever contains an expression built from
//! them. A value holding `${{` is refused: GitHub would evaluate it.

use super::yaml::{Y, map, render, s};
use super::{Emitted, Prepared};
use crate::error::Error;
use std::num::NonZeroU32;

/// Most jobs in one matrix (GitHub's limit).
pub const CHUNK: usize = 256;

/// What `wf emit github` takes beyond the common request.
#[derive(Debug, Clone)]
pub struct Options {
    /// The environment whose required reviewers approve paused runs.
    pub approval_environment: Option<String>,
    /// `max-parallel` of each matrix.
    pub max_parallel: NonZeroU32,
    /// The command that installs wf on a runner (a bash line).
    pub wf_install: Option<String>,
    /// Open a pull request with `gh` after pushing the branch.
    pub pull_request: bool,
    /// `runs-on` of every job.
    pub runs_on: String,
}

/// The default `--max-parallel`.
pub const DEFAULT_MAX_PARALLEL: NonZeroU32 = NonZeroU32::new(20).unwrap();

/// The install command when none is given: wf from its own repository at
/// this version's tag, when this wf was built knowing its repository.
pub fn default_install() -> Option<String> {
    let repo = env!("CARGO_PKG_REPOSITORY");
    (!repo.is_empty()).then(|| {
        format!(
            "cargo install --locked --git {repo} --tag v{} wf",
            env!("CARGO_PKG_VERSION")
        )
    })
}

/// The workflow for `p`.
pub fn emit(p: &Prepared, o: &Options) -> Result<Emitted, Error> {
    // Every flag this task needs and lacks, in one error.
    let mut missing = Vec::new();
    if !p.checkpoints.is_empty() && o.approval_environment.is_none() {
        missing.push(format!(
            "{} pauses for a human at {}; in GitHub Actions a paused run is approved through \
             an environment with required reviewers: pass --approval-environment NAME \
             (create it under Settings → Environments), or turn the checkpoints off in the task",
            p.task,
            p.checkpoints.join(", ")
        ));
    }
    let install = o.wf_install.clone().or_else(default_install);
    if install.is_none() {
        missing.push(
            "this wf was built without a repository URL to install itself from in CI: pass \
             --wf-install 'COMMAND', e.g. --wf-install 'cargo install --locked --git URL --rev SHA wf'"
                .to_string(),
        );
    }
    let (Some(install), []) = (install, missing.as_slice()) else {
        return Err(Error::Usage(missing.join("\n")));
    };
    no_expression("the task file's path", &p.task)?;
    if let Some(env) = &o.approval_environment {
        no_expression("--approval-environment", env)?;
    }
    no_expression("--runs-on", &o.runs_on)?;
    for e in &p.entries {
        no_expression(
            &format!("line {} of the repos file", e.line),
            &e.normal_line(),
        )?;
    }

    let w = Workflow { p, o, install };
    let chunks: Vec<&[crate::app::repos::RepoEntry]> = p.entries.chunks(CHUNK).collect();
    let mut jobs: Vec<(String, Y)> = Vec::new();
    let mut first = 1;
    let mut matrices = Vec::new();
    for chunk in &chunks {
        let m = matrix(chunk, first);
        first += chunk.len();
        matrices.push(m);
    }
    for (k, m) in matrices.iter().enumerate() {
        jobs.push((format!("run-{}", k + 1), w.run_job(m.clone())));
    }
    let run_jobs: Vec<String> = (1..=chunks.len()).map(|k| format!("run-{k}")).collect();
    jobs.push(("summary".into(), w.summary_job(&run_jobs)));
    if let Some(env) = &o.approval_environment
        && !p.checkpoints.is_empty()
    {
        for (k, m) in matrices.iter().enumerate() {
            jobs.push((
                format!("approve-{}", k + 1),
                w.approve_job(m.clone(), &format!("run-{}", k + 1), env),
            ));
        }
    }

    let doc = map([
        ("name", s(format!("wf {}", p.spec.name))),
        ("on", map([("workflow_dispatch", Y::Map(vec![]))])),
        ("permissions", map([("contents", s("read"))])),
        ("defaults", map([("run", map([("shell", s("bash"))]))])),
        ("jobs", Y::Map(jobs)),
    ]);
    let header = format!(
        "# Generated by `wf emit github {} --repos …` (wf {}); emit it again after changing\n\
         # the task or the repos file rather than editing it.\n",
        p.task,
        env!("CARGO_PKG_VERSION")
    );
    let mut notes = Vec::new();
    if let Some(var) = p.key_var {
        notes.push(format!(
            "set the repository secret {var}: each run reads it from the environment"
        ));
    }
    notes.push(
        "for private or remote repositories, set the secret WF_GIT_READ_TOKEN (a read-only \
         token the run jobs clone with: the jobs that talk to the model hold nothing that \
         can write) and WF_GIT_TOKEN (a token that can push branches and open pull requests, \
         for the approval jobs only); without them the workflow's own GITHUB_TOKEN is used"
            .into(),
    );
    if let Some(env) = &o.approval_environment
        && !p.checkpoints.is_empty()
    {
        notes.push(format!(
            "create the environment `{env}` with required reviewers: its approval is the \
             checkpoint decision (the reviewers read each run's report in the run jobs' summaries)"
        ));
        if p.checkpoints.len() > 1 {
            notes.push(format!(
                "the task can pause {} times ({}); an approval job approves one pause, and a \
                 run that pauses again fails there with its run folder in the job's log — \
                 approve it with `wf approve` / `wf resume` from the artifact",
                p.checkpoints.len(),
                p.checkpoints.join(", ")
            ));
        }
    }
    Ok(Emitted {
        text: format!("{header}{}", render(&doc)),
        notes,
    })
}

/// Refuses text GitHub would evaluate as an expression.
fn no_expression(what: &str, text: &str) -> Result<(), Error> {
    if text.contains("${{") {
        return Err(Error::Usage(format!(
            "{what} holds `${{{{`, which GitHub Actions would evaluate as an expression; \
             remove it"
        )));
    }
    Ok(())
}

/// `strategy.matrix` of a chunk: one `include` entry a repository, numbered
/// from `first` across the chunks (the artifact is `wf-run-<index>`).
fn matrix(chunk: &[crate::app::repos::RepoEntry], first: usize) -> Y {
    let include = chunk
        .iter()
        .enumerate()
        .map(|(i, e)| {
            map([
                ("index", Y::Int((first + i) as i64)),
                ("repo", s(e.repo.clone())),
                ("inputs", s(super::inputs_text(e))),
            ])
        })
        .collect();
    map([("include", Y::Seq(include))])
}

struct Workflow<'a> {
    p: &'a Prepared,
    o: &'a Options,
    install: String,
}

/// Clones `$WF_REPO` to `$RUNNER_TEMP/wf-repo`: a URL as is, an absolute
/// path as is, a relative path inside this repository's checkout. The
/// token goes to this one git command, never to the repository's config.
const CLONE: &str = r#"dest="$RUNNER_TEMP/wf-repo"
rm -rf "$dest"
case "$WF_REPO" in
  *://* | *@*:* | /*) src="$WF_REPO" ;;
  *) src="$GITHUB_WORKSPACE/$WF_REPO" ;;
esac
auth=()
if [ -n "${WF_GIT_TOKEN:-}" ]; then
  basic=$(printf 'x-access-token:%s' "$WF_GIT_TOKEN" | base64 | tr -d '\n')
  auth=(-c "http.https://github.com/.extraheader=AUTHORIZATION: basic $basic")
fi
git "${auth[@]}" clone --quiet -- "$src" "$dest"
git -C "$dest" log -1 --format='cloned at %H'
"#;

/// The hash of the change about to be approved, in the log: the one the
/// run job's summary showed the reviewer (`wf resume` applies nothing
/// else).
const SHOW_HASH: &str = r#"echo "Approving run $id: diff.patch $(sha256sum ".wf/runs/$id/diff.patch" | cut -d' ' -f1)"
"#;

/// Finds the run folder, checks it paused, approves and resumes it.
const APPROVE: &str = r#"cd "$RUNNER_TEMP/wf-repo"
id=""
for d in .wf/runs/*/; do
  if [ -f "$d/summary.json" ]; then id=$(basename "$d"); fi
done
if [ -z "$id" ] || ! grep -qE '"status": *"paused"' ".wf/runs/$id/summary.json"; then
  echo "This repository's run did not pause: nothing to approve."
  exit 0
fi
base=$(sed -nE 's/^ *"base_revision": *"([0-9a-f]+)".*/\1/p' ".wf/runs/$id/summary.json")
if [ -n "$base" ]; then git checkout --quiet "$base"; fi
%SHOW_HASH%# The run folder is this workflow's own artifact, made on another runner:
# it carries no mark of this runner's wf, so it is named by id and taken
# with --foreign (which prints its diff to the log first).
wf approve "$id" --foreign --as "$GITHUB_ACTOR (environment $WF_ENVIRONMENT)" \
  --comment "$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID"
status=0
wf resume "$id" --foreign || status=$?
wf report "$id" --md -o - >> "$GITHUB_STEP_SUMMARY" || true
if [ "$status" = 3 ]; then
  echo "Run $id paused at another checkpoint; approve it with wf approve and wf resume from the artifact." >&2
  exit 1
fi
if [ "$status" != 0 ]; then exit "$status"; fi
echo "run_id=$id" >> "$GITHUB_OUTPUT"
"#;

/// Commits what the resume applied to a branch, pushes it, and opens a
/// pull request when asked. A local path has no remote to push to.
const PUSH: &str = r#"cd "$RUNNER_TEMP/wf-repo"
if [ -z "$(git status --porcelain -- . ':!.wf')" ]; then
  echo "The run changed nothing."
  exit 0
fi
case "$WF_REPO" in
  *://* | *@*:*) ;;
  *) echo "The repository is a path, not a remote: the change is not pushed."; exit 0 ;;
esac
branch="wf/$WF_TASK_NAME/$WF_RUN_ID"
git switch --quiet -c "$branch"
git add -A -- . ':!.wf'
git -c user.name=wf -c user.email=wf@users.noreply.github.com commit --quiet \
  -m "$WF_TASK_NAME: run $WF_RUN_ID" \
  -m "Approved by $GITHUB_ACTOR in $GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID"
auth=()
if [ -n "${WF_GIT_TOKEN:-}" ]; then
  basic=$(printf 'x-access-token:%s' "$WF_GIT_TOKEN" | base64 | tr -d '\n')
  auth=(-c "http.https://github.com/.extraheader=AUTHORIZATION: basic $basic")
fi
git "${auth[@]}" push --quiet origin "$branch"
echo "pushed $branch"
if [ "$WF_PULL_REQUEST" = true ]; then
  gh pr create --head "$branch" --title "$WF_TASK_NAME: run $WF_RUN_ID" \
    --body "wf run $WF_RUN_ID of $WF_TASK_NAME, approved by $GITHUB_ACTOR: $GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID"
fi
"#;

/// The token for cloning and pushing: a configured secret, else the
/// workflow's own token (which reaches this repository only).
const TOKEN: &str = "${{ secrets.WF_GIT_TOKEN || github.token }}";

/// The token the run jobs clone with: read-only (a configured secret, else
/// the workflow's own token under `contents: read`).
const READ_TOKEN: &str = "${{ secrets.WF_GIT_READ_TOKEN || github.token }}";

impl Workflow<'_> {
    fn strategy(&self, matrix: Y) -> Y {
        map([
            ("fail-fast", Y::Bool(false)),
            ("max-parallel", Y::Int(i64::from(self.o.max_parallel.get()))),
            ("matrix", matrix),
        ])
    }

    /// Checkout of this repository, the wf cache, and the install.
    fn setup_steps(&self) -> Vec<Y> {
        let digest = crate::hash::sha256_hex(self.install.as_bytes());
        vec![
            map([
                ("name", s("Check out the task")),
                ("uses", s("actions/checkout@v4")),
                ("with", map([("persist-credentials", Y::Bool(false))])),
            ]),
            map([
                ("name", s("Cache wf")),
                ("uses", s("actions/cache@v4")),
                (
                    "with",
                    map([
                        ("path", s("~/.cargo/bin/wf")),
                        (
                            "key",
                            s(format!("wf-${{{{ runner.os }}}}-{}", &digest[..16])),
                        ),
                    ]),
                ),
            ]),
            map([
                ("name", s("Install wf")),
                (
                    "run",
                    s(format!(
                        "if ! command -v wf >/dev/null 2>&1; then\n  {}\nfi\nwf --version\n",
                        self.install
                    )),
                ),
            ]),
        ]
    }

    /// Clones the matrix entry's repository with `token`.
    fn clone_step(&self, token: &str) -> Y {
        map([
            ("name", s("Clone the repository")),
            (
                "env",
                map([
                    ("WF_REPO", s("${{ matrix.repo }}")),
                    ("WF_GIT_TOKEN", s(token)),
                ]),
            ),
            ("run", s(CLONE)),
        ])
    }

    fn key_env(&self, env: &mut Vec<(String, Y)>) {
        if let Some(var) = self.p.key_var {
            env.push((var.to_string(), s(format!("${{{{ secrets.{var} }}}}"))));
        }
    }

    fn run_job(&self, matrix: Y) -> Y {
        let mut steps = self.setup_steps();
        steps.push(self.clone_step(READ_TOKEN));
        // ubuntu-latest's AppArmor refuses unprivileged user namespaces;
        // the runner is a disposable VM where the job may lift that for
        // itself, which gives wf its full sandbox level. Where it cannot
        // (a self-hosted runner without sudo), wf confines without
        // namespaces (the `landlock` level) and says so.
        steps.push(map([
            ("name", s("Allow the full sandbox level")),
            (
                "run",
                s(
                    "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 || true
wf doctor
",
                ),
            ),
        ]));
        let mut env = vec![
            ("WF_TASK".to_string(), s(self.p.task.clone())),
            ("WF_INPUTS".to_string(), s("${{ matrix.inputs }}")),
        ];
        self.key_env(&mut env);
        // The fresh clone is a disposable checkout: at the full level the
        // run works in it (`--workspace checkout`: no copy of the tree, a
        // first run that costs what changes); below it, in a copy.
        let workspace = if self.p.sandbox == Some(crate::spec::SandboxMode::Off) {
            ""
        } else {
            "if wf doctor 2>/dev/null | grep -q '^  level: full'; then args+=(--workspace checkout); fi\n"
        };
        let script = format!(
            "cd \"$RUNNER_TEMP/wf-repo\"\n{}{workspace}status=0\nwf run \"$GITHUB_WORKSPACE/$WF_TASK\" \"${{args[@]}}\"{} || status=$?\n\
             if [ -d .wf/runs ]; then wf report last --md -o - >> \"$GITHUB_STEP_SUMMARY\" || true; fi\n\
             # 0: succeeded; 3: paused at a checkpoint (the approval job continues it).\n\
             if [ \"$status\" != 0 ] && [ \"$status\" != 3 ]; then exit \"$status\"; fi\n",
            super::inputs_to_args("WF_INPUTS"),
            super::run_flags(self.p),
        );
        steps.push(map([
            ("name", s("Run the task")),
            ("env", Y::Map(env)),
            ("run", s(script)),
        ]));
        steps.push(map([
            ("name", s("Upload the run folder")),
            ("if", s("always()")),
            ("uses", s("actions/upload-artifact@v4")),
            (
                "with",
                map([
                    ("name", s("wf-run-${{ matrix.index }}")),
                    ("path", s("${{ runner.temp }}/wf-repo/.wf/runs/")),
                    ("include-hidden-files", Y::Bool(true)),
                    ("if-no-files-found", s("ignore")),
                ]),
            ),
        ]));
        map([
            ("name", s("run ${{ matrix.repo }}")),
            ("runs-on", s(self.o.runs_on.clone())),
            // The job that talks to the model can write nowhere.
            ("permissions", map([("contents", s("read"))])),
            ("strategy", self.strategy(matrix)),
            ("steps", Y::Seq(steps)),
        ])
    }

    fn summary_job(&self, needs: &[String]) -> Y {
        let mut steps = self.setup_steps();
        steps.push(map([
            ("name", s("Download the run folders")),
            ("uses", s("actions/download-artifact@v4")),
            ("continue-on-error", Y::Bool(true)),
            (
                "with",
                map([
                    ("pattern", s("wf-run-*")),
                    ("path", s("${{ runner.temp }}/wf-runs")),
                    ("merge-multiple", Y::Bool(true)),
                ]),
            ),
        ]));
        steps.push(map([
            ("name", s("Write the summary")),
            ("id", s("summary")),
            (
                "run",
                s(r#"dir="$RUNNER_TEMP/wf-runs"
mkdir -p "$dir"
if ls "$dir"/*/trace.jsonl >/dev/null 2>&1; then
  # wf report keeps Markdown within 1 MiB, GitHub's limit for a job summary.
  wf report "$dir" --md -o - >> "$GITHUB_STEP_SUMMARY"
else
  echo "No run folder was uploaded: every job failed before wf ran." >> "$GITHUB_STEP_SUMMARY"
fi
paused=false
if grep -qE '"status": *"paused"' "$dir"/*/summary.json 2>/dev/null; then paused=true; fi
echo "paused=$paused" >> "$GITHUB_OUTPUT"
"#),
            ),
        ]));
        map([
            ("name", s("summary")),
            (
                "needs",
                Y::Seq(needs.iter().map(|n| s(n.clone())).collect()),
            ),
            ("if", s("${{ always() }}")),
            ("runs-on", s(self.o.runs_on.clone())),
            (
                "outputs",
                map([("paused", s("${{ steps.summary.outputs.paused }}"))]),
            ),
            ("steps", Y::Seq(steps)),
        ])
    }

    fn approve_job(&self, matrix: Y, run_job: &str, environment: &str) -> Y {
        let mut steps = self.setup_steps();
        steps.push(self.clone_step(TOKEN));
        steps.push(map([
            ("name", s("Download the run folder")),
            ("uses", s("actions/download-artifact@v4")),
            ("continue-on-error", Y::Bool(true)),
            (
                "with",
                map([
                    ("name", s("wf-run-${{ matrix.index }}")),
                    ("path", s("${{ runner.temp }}/wf-repo/.wf/runs")),
                ]),
            ),
        ]));
        // No model key: this job can push, so it never talks to the model.
        let env = vec![("WF_ENVIRONMENT".to_string(), s(environment))];
        steps.push(map([
            ("name", s("Approve and resume")),
            ("id", s("resume")),
            ("env", Y::Map(env)),
            ("run", s(APPROVE.replace("%SHOW_HASH%", SHOW_HASH))),
        ]));
        steps.push(map([
            ("name", s("Push a branch")),
            ("if", s("${{ steps.resume.outputs.run_id != '' }}")),
            (
                "env",
                map([
                    ("WF_REPO", s("${{ matrix.repo }}")),
                    ("WF_RUN_ID", s("${{ steps.resume.outputs.run_id }}")),
                    ("WF_TASK_NAME", s(self.p.spec.name.clone())),
                    ("WF_PULL_REQUEST", s(self.o.pull_request.to_string())),
                    ("WF_GIT_TOKEN", s(TOKEN)),
                    ("GH_TOKEN", s(TOKEN)),
                ]),
            ),
            ("run", s(PUSH)),
        ]));
        map([
            ("name", s("approve ${{ matrix.repo }}")),
            ("needs", Y::Seq(vec![s(run_job.to_string()), s("summary")])),
            (
                "if",
                s("${{ always() && needs.summary.outputs.paused == 'true' }}"),
            ),
            ("runs-on", s(self.o.runs_on.clone())),
            ("environment", s(environment)),
            (
                "permissions",
                map([("contents", s("write")), ("pull-requests", s("write"))]),
            ),
            ("strategy", self.strategy(matrix)),
            ("steps", Y::Seq(steps)),
        ])
    }
}
