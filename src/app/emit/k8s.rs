//! `wf emit k8s`: a ConfigMap and an Indexed Job that run one task over the
//! repositories of a repos file on a self-hosted cluster.
//!
//! The ConfigMap holds the repos file in its normal form (line i is the
//! repository of completion index i, comments and blank lines gone), the
//! task file, its `model.script` and its `wf.lock` when there is one. The
//! Job has one completion a repository and `parallelism` pods at a time;
//! each pod reads its line (`JOB_COMPLETION_INDEX`), clones the
//! repository, runs the task and copies the run folder to the `runs`
//! volume (a PersistentVolumeClaim), where `wf report /wf-runs` indexes
//! them. The API key comes from a Secret. A run that pauses at a checkpoint
//! ends its pod successfully; its folder on the volume is what `wf approve`
//! and `wf resume` act on later.

use super::yaml::{Y, map, render, s};
use super::{Emitted, Prepared};
use crate::error::Error;
use crate::spec::reference::Reference;
use std::num::NonZeroU32;

/// What `wf emit k8s` takes beyond the common request.
#[derive(Debug, Clone)]
pub struct Options {
    /// The container image: wf, git and bash on its PATH.
    pub image: String,
    /// Pods at a time.
    pub parallelism: NonZeroU32,
    /// The Secret holding the provider's API key (under the variable's name).
    pub secret: String,
    /// The PersistentVolumeClaim the run folders are copied to.
    pub runs_claim: String,
    /// The namespace, when given.
    pub namespace: Option<String>,
}

/// The default `--parallelism`.
pub const DEFAULT_PARALLELISM: NonZeroU32 = NonZeroU32::new(10).unwrap();

/// Where the ConfigMap is mounted in each pod.
const CONFIG: &str = "/etc/wf";
/// Where the run folders go.
const RUNS: &str = "/wf-runs";

/// The ConfigMap and the Job for `p`.
pub fn emit(p: &Prepared, o: &Options) -> Result<Emitted, Error> {
    for e in &p.entries {
        if !e.is_url() && !e.repo.starts_with('/') {
            return Err(Error::Usage(format!(
                "line {}: {} is a relative path; a pod has no checkout to find it in: use a \
                 git URL, or an absolute path on the image or a mounted volume",
                e.line, e.repo
            )));
        }
    }
    for r in p.spec.recipe_references() {
        if let Ok(Reference::Local(path)) = Reference::parse(r) {
            return Err(Error::Usage(format!(
                "{} uses the local recipe {path}, which the pods cannot see; use a \
                 `git+URL//PATH@REF` recipe pinned in wf.lock",
                p.task
            )));
        }
    }

    let name = job_name(&p.spec.name);
    let task_file = p.task.rsplit('/').next().unwrap_or(&p.task).to_string();
    let mut data = vec![
        (
            "repos".to_string(),
            s(p.entries
                .iter()
                .map(|e| format!("{}\n", e.normal_line()))
                .collect::<String>()),
        ),
        ("task".to_string(), s(p.source.clone())),
    ];
    let mut items = vec![
        map([("key", s("repos")), ("path", s("repos"))]),
        map([("key", s("task")), ("path", s(format!("task/{task_file}")))]),
    ];
    if let Some(script) = &p.spec.model.script {
        if script.split('/').any(|c| c == "..") || script.starts_with('/') {
            return Err(Error::Usage(format!(
                "model.script {script} is outside the task file's folder; the pods get that folder only"
            )));
        }
        let text = std::fs::read_to_string(p.task_dir.join(script))
            .map_err(|e| Error::io(format!("cannot read {script}"), e))?;
        data.push(("script".into(), s(text)));
        items.push(map([
            ("key", s("script")),
            ("path", s(format!("task/{script}"))),
        ]));
    }
    let lock = p.task_dir.join("wf.lock");
    if lock.is_file() {
        let text =
            std::fs::read_to_string(&lock).map_err(|e| Error::io("cannot read wf.lock", e))?;
        data.push(("lock".into(), s(text)));
        items.push(map([("key", s("lock")), ("path", s("task/wf.lock"))]));
    }

    let metadata = |n: String| {
        let mut m = vec![("name".to_string(), s(n))];
        if let Some(ns) = &o.namespace {
            m.push(("namespace".into(), s(ns.clone())));
        }
        m.push((
            "labels".into(),
            map([
                ("app.kubernetes.io/name", s("wf")),
                ("wf/task", s(p.spec.name.clone())),
            ]),
        ));
        Y::Map(m)
    };
    let config_name = format!("{name}-config");
    let config = map([
        ("apiVersion", s("v1")),
        ("kind", s("ConfigMap")),
        ("metadata", metadata(config_name.clone())),
        ("data", Y::Map(data)),
    ]);

    let mut env = vec![map([
        ("name", s("WF_TASK")),
        ("value", s(format!("{CONFIG}/task/{task_file}"))),
    ])];
    if let Some(var) = p.key_var {
        env.push(map([
            ("name", s(var)),
            (
                "valueFrom",
                map([(
                    "secretKeyRef",
                    map([("name", s(o.secret.clone())), ("key", s(var))]),
                )]),
            ),
        ]));
    }
    let script = format!(
        "set -euo pipefail\n\
         line=$(sed -n \"$((JOB_COMPLETION_INDEX + 1))p\" {CONFIG}/repos)\n\
         read -r -a words <<< \"$line\"\n\
         args=()\n\
         for kv in \"${{words[@]:1}}\"; do args+=(-i \"$kv\"); done\n\
         echo \"index $JOB_COMPLETION_INDEX: ${{words[0]}}\"\n\
         git clone --quiet -- \"${{words[0]}}\" /work/repo\n\
         cd /work/repo\n\
         status=0\n\
         wf run \"$WF_TASK\" \"${{args[@]}}\"{} || status=$?\n\
         if [ -d .wf/runs ]; then cp -r .wf/runs/. {RUNS}/; fi\n\
         # 0: succeeded; 3: paused at a checkpoint (its folder waits on the volume).\n\
         if [ \"$status\" != 0 ] && [ \"$status\" != 3 ]; then exit \"$status\"; fi\n",
        super::run_flags(p)
    );
    // The pod needs no privilege: under the RuntimeDefault seccomp
    // profile user namespaces are refused and wf confines each command at
    // its level without namespaces (Landlock and seccomp, which an
    // unprivileged process may install). Non-root, no capabilities, no
    // privilege escalation.
    let security = map([
        ("runAsNonRoot", Y::Bool(true)),
        ("runAsUser", Y::Int(65532)),
        ("runAsGroup", Y::Int(65532)),
        ("allowPrivilegeEscalation", Y::Bool(false)),
        ("capabilities", map([("drop", Y::Seq(vec![s("ALL")]))])),
        ("seccompProfile", map([("type", s("RuntimeDefault"))])),
    ]);
    let container = map([
        ("name", s("wf")),
        ("image", s(o.image.clone())),
        ("command", Y::Seq(vec![s("bash"), s("-c"), s(script)])),
        ("securityContext", security),
        ("env", Y::Seq(env)),
        (
            "volumeMounts",
            Y::Seq(vec![
                map([
                    ("name", s("config")),
                    ("mountPath", s(CONFIG)),
                    ("readOnly", Y::Bool(true)),
                ]),
                map([("name", s("runs")), ("mountPath", s(RUNS))]),
                map([("name", s("work")), ("mountPath", s("/work"))]),
            ]),
        ),
    ]);
    let job = map([
        ("apiVersion", s("batch/v1")),
        ("kind", s("Job")),
        ("metadata", metadata(name)),
        (
            "spec",
            map([
                ("completionMode", s("Indexed")),
                ("completions", Y::Int(p.entries.len() as i64)),
                ("parallelism", Y::Int(i64::from(o.parallelism.get()))),
                // One repository failing does not stop the others.
                ("backoffLimitPerIndex", Y::Int(0)),
                (
                    "template",
                    map([(
                        "spec",
                        map([
                            ("restartPolicy", s("Never")),
                            // Volumes writable by the container's user.
                            ("securityContext", map([("fsGroup", Y::Int(65532))])),
                            // The agent has no business with the cluster's API.
                            ("automountServiceAccountToken", Y::Bool(false)),
                            ("containers", Y::Seq(vec![container])),
                            (
                                "volumes",
                                Y::Seq(vec![
                                    map([
                                        ("name", s("config")),
                                        (
                                            "configMap",
                                            map([
                                                ("name", s(config_name)),
                                                ("items", Y::Seq(items)),
                                            ]),
                                        ),
                                    ]),
                                    map([
                                        ("name", s("runs")),
                                        (
                                            "persistentVolumeClaim",
                                            map([("claimName", s(o.runs_claim.clone()))]),
                                        ),
                                    ]),
                                    map([("name", s("work")), ("emptyDir", Y::Map(vec![]))]),
                                ]),
                            ),
                        ]),
                    )]),
                ),
            ]),
        ),
    ]);
    let header = format!(
        "# Generated by `wf emit k8s {} --repos …` (wf {}); emit it again after changing\n\
         # the task or the repos file rather than editing it.\n",
        p.task,
        env!("CARGO_PKG_VERSION")
    );
    let mut notes = vec![format!(
        "create the PersistentVolumeClaim `{}` (ReadWriteMany when pods share nodes) for the run folders",
        o.runs_claim
    )];
    if let Some(var) = p.key_var {
        notes.push(format!(
            "create the Secret `{}` with the key {var}: kubectl create secret generic {} --from-literal={var}=…",
            o.secret, o.secret
        ));
    }
    if !p.checkpoints.is_empty() {
        notes.push(format!(
            "the task pauses at {}: a paused run ends its pod successfully and waits in the \
             volume; approve it with `wf approve` and `wf resume` from a clone holding its folder",
            p.checkpoints.join(", ")
        ));
    }
    Ok(Emitted {
        text: format!("{header}{}---\n{}", render(&config), render(&job)),
        notes,
    })
}

/// `wf-<task>`, cut to leave room for the pod-name suffixes Kubernetes adds.
fn job_name(task: &str) -> String {
    let mut name = format!("wf-{task}");
    name.truncate(52);
    name.trim_end_matches('-').to_string()
}

/// A DNS subdomain name, as Kubernetes wants for most object names.
pub fn dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}
