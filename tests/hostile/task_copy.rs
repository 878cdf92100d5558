//! The task file a run folder keeps (issue 25): a run whose task file is
//! outside its repository (a `wf batch`, an emitted CI job) keeps a copy in
//! its run folder, so it resumes and replays where it ran. Whoever edits
//! that copy afterwards — a check step that adds a command, an index that
//! points outside the run folder — gets nothing of it run.

use crate::cli::{Repo, git};

/// A task kept in `hub`, outside the repository it runs in; its check
/// passes, so the run pauses at its apply checkpoint.
fn hub() -> Repo {
    let hub = Repo::new();
    hub.file(
        "task.yaml",
        "wf: 1
name: stamp
model: { provider: script, script: turns.yaml }
tools: [write_file]
permissions: { write: [\"out.txt\"] }
prompt: Write out.txt.
checks:
  - { name: good, run: \"true\" }
",
    )
    .file(
        "turns.yaml",
        "turns:
  - tool_calls:
      - { name: write_file, input: { path: out.txt, content: \"stamped\\n\" } }
  - text: Done.
",
    )
    .commit();
    hub
}

/// A repository that ran `hub`'s task and is paused at the apply
/// checkpoint; its run folder.
fn paused_run(hub: &Repo) -> (Repo, std::path::PathBuf) {
    let repo = Repo::new();
    repo.file("README", "a repository\n").commit();
    let task = hub.join("task.yaml").display().to_string();
    repo.wf(&["run", &task]).code(3);
    assert_eq!(repo.last_summary()["status"], "paused");
    let run = repo.runs().pop().unwrap();
    assert!(run.join("task/task.yaml").is_file());
    (repo, run)
}

/// The check an attacker adds: it leaves a file in the workspace, which
/// an approved apply would bring into the repository.
const PLANTED: &str = "  - { name: planted, run: \"echo pwned > pwned.txt\" }\n";

#[test]
fn an_edited_copy_with_a_matching_index_is_refused_and_runs_nothing() {
    let hub = hub();
    let (repo, run) = paused_run(&hub);
    // The attacker edits the kept task file and rewrites the index's hash
    // so the copy is consistent with itself.
    let kept = run.join("task/task.yaml");
    let edited = std::fs::read_to_string(&kept).unwrap() + PLANTED;
    std::fs::write(&kept, &edited).unwrap();
    let index = std::fs::read_to_string(run.join("task.json")).unwrap();
    let old = wf::hash::sha256_hex(&std::fs::read(hub.join("task.yaml")).unwrap());
    let new = wf::hash::sha256_hex(edited.as_bytes());
    std::fs::write(run.join("task.json"), index.replace(&old, &new)).unwrap();

    let replay = repo.wf(&["replay", "last"]);
    assert_eq!(replay.code, 1, "{}\n{}", replay.stdout, replay.stderr);
    assert!(
        replay
            .stderr
            .contains("does not match the trace: its spec hash is"),
        "{}",
        replay.stderr
    );
    // Resumed with `--yes`, the run would plan the task again and run its
    // checks (the planted one too) before applying.
    let resume = repo.wf(&["resume", "last", "--yes"]);
    assert_ne!(resume.code, 0, "{}\n{}", resume.stdout, resume.stderr);
    assert!(
        resume.stderr.contains("kept in the run folder") && resume.stderr.contains("refused"),
        "{}",
        resume.stderr
    );
    assert!(!repo.exists("pwned.txt"));
    assert!(!repo.exists("out.txt"), "nothing was applied");
    assert_eq!(
        git(repo.path(), &["rev-list", "--count", "HEAD"]).trim(),
        "1"
    );
}

#[test]
fn an_edited_copy_alone_and_an_index_pointing_outside_are_refused() {
    let hub = hub();
    let (repo, run) = paused_run(&hub);
    let kept = run.join("task/task.yaml");
    let original = std::fs::read_to_string(&kept).unwrap();
    std::fs::write(&kept, original.clone() + PLANTED).unwrap();
    let replay = repo.wf(&["replay", "last"]);
    assert_eq!(replay.code, 1, "{}", replay.stderr);
    assert!(
        replay.stderr.contains("was changed after the run"),
        "{}",
        replay.stderr
    );

    // The index names the hub's own task file (whose bytes do match the
    // trace), climbing out of the run folder: still refused, as no file
    // outside the repository is read for a trace.
    std::fs::write(&kept, &original).unwrap();
    let outside = hub.join("task.yaml");
    let climb = format!(
        "{}/task.yaml",
        std::iter::repeat_n("..", run.join("task").components().count())
            .collect::<Vec<_>>()
            .join("/")
            + outside.parent().unwrap().to_str().unwrap()
    );
    let sha = wf::hash::sha256_hex(original.as_bytes());
    std::fs::write(
        run.join("task.json"),
        format!("{{\"task\": {climb:?}, \"files\": {{{climb:?}: {sha:?}}}}}"),
    )
    .unwrap();
    let replay = repo.wf(&["replay", "last"]);
    assert_eq!(replay.code, 1, "{}", replay.stderr);
    assert!(
        replay.stderr.contains("not plainly inside"),
        "{}",
        replay.stderr
    );
}

/// A task outside the repository that uses a local recipe one directory
/// up (`../shared/edit.yaml`), pinned in its `wf.lock`: the run folder
/// keeps the three files in their places, and a replay in the repository
/// reads them. An edited recipe is refused by its pin; an edited recipe
/// with its pin rewritten to match is refused by the trace's record of
/// the recipe.
#[test]
fn a_kept_recipe_and_lock_replay_and_an_edited_pair_is_refused() {
    let hub = Repo::new();
    hub.file(
        "shared/edit.yaml",
        "wf: 1
name: edit
version: 1.0.0
model: { provider: anthropic, name: claude-haiku-4-5 }
tools: [write_file]
permissions: { write: [\"out.txt\"] }
prompt: Write out.txt.
",
    )
    .file(
        "flows/caller.yaml",
        "wf: 1
name: caller
model: { provider: script, script: caller.turns.yaml }
tools: [write_file]
permissions: { write: [\"out.txt\"] }
steps:
  - id: edit
    uses: ../shared/edit.yaml
",
    )
    .file(
        "flows/caller.turns.yaml",
        "turns:
  - tool_calls:
      - { name: write_file, input: { path: out.txt, content: \"stamped\\n\" } }
  - text: done
",
    )
    .commit();
    hub.wf(&["lock", "flows/caller.yaml"]).code(0);
    let repo = Repo::new();
    repo.file("README", "a repository\n").commit();
    let task = hub.join("flows/caller.yaml").display().to_string();
    let r = repo.wf(&["run", &task, "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let run = repo.runs().pop().unwrap();
    for kept in [
        "task/flows/caller.yaml",
        "task/flows/wf.lock",
        "task/flows/caller.turns.yaml",
        "task/shared/edit.yaml",
    ] {
        assert!(run.join(kept).is_file(), "{kept} not kept");
    }
    let replay = repo.wf(&["replay", "last"]);
    assert_eq!(replay.code, 0, "{}\n{}", replay.stdout, replay.stderr);
    assert!(replay.stdout.contains("reproduced"), "{}", replay.stdout);

    // The recipe edited (and the index made to match): refused.
    let recipe = run.join("task/shared/edit.yaml");
    let original = std::fs::read_to_string(&recipe).unwrap();
    let edited = original.replace("Write out.txt.", "Write out.txt and more.");
    std::fs::write(&recipe, &edited).unwrap();
    let index = std::fs::read_to_string(run.join("task.json")).unwrap();
    let sha = |t: &str| wf::hash::sha256_hex(t.as_bytes());
    let index = index.replace(&sha(&original), &sha(&edited));
    std::fs::write(run.join("task.json"), &index).unwrap();
    let replay = repo.wf(&["replay", "last"]);
    assert_eq!(replay.code, 1, "{}\n{}", replay.stdout, replay.stderr);
    assert!(
        replay
            .stderr
            .contains("keeps the recipe ../shared/edit.yaml otherwise than the trace recorded it"),
        "{}",
        replay.stderr
    );

    // Its pin rewritten too: the trace recorded another recipe.
    let lock_path = run.join("task/flows/wf.lock");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    assert!(lock.contains(&sha(&original)), "{lock}");
    let new_lock = lock.replace(&sha(&original), &sha(&edited));
    std::fs::write(&lock_path, &new_lock).unwrap();
    std::fs::write(
        run.join("task.json"),
        index.replace(&sha(&lock), &sha(&new_lock)),
    )
    .unwrap();
    let replay = repo.wf(&["replay", "last"]);
    assert_eq!(replay.code, 1, "{}\n{}", replay.stdout, replay.stderr);
    assert!(
        replay
            .stderr
            .contains("pins the recipe ../shared/edit.yaml otherwise than the trace recorded it"),
        "{}",
        replay.stderr
    );
}
