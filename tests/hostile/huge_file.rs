//! Route: a huge file. An allowed command writes a file far over
//! `limits.max_diff_bytes`: the run ends with an error naming the file,
//! nothing is applied, no huge `diff.patch` is written, the run's record
//! stays, and the terminal output stays small.

use crate::cli::{Repo, events};

/// 64 MiB written by the model's program, run through an allowed `shell`.
const BIG: u64 = 64 * 1024 * 1024;

#[test]
fn a_change_over_max_diff_bytes_ends_the_run_naming_its_largest_file() {
    let repo = Repo::new();
    repo.file("src/lib.rs", "pub fn f() {}\n")
        .file(
            "task.yaml",
            "wf: 1
name: huge
model: { provider: script, script: turns.yaml }
tools: [write_file, shell]
permissions:
  write: [\"gen/**\", \"data/**\", \"src/**\"]
  shell: { allow: [\"sh gen/*\"] }
limits: { max_diff_bytes: 1048576 }
prompt: Work.
",
        )
        .file(
            "turns.yaml",
            &format!(
                "turns:
  - tool_calls:
      - {{ name: write_file, input: {{ path: gen/big.sh, content: \"mkdir -p data && head -c {BIG} /dev/zero > data/big.bin && echo small > data/small.txt\\n\" }} }}
      - {{ name: write_file, input: {{ path: src/lib.rs, content: \"pub fn g() {{}}\\n\" }} }}
  - tool_calls:
      - {{ name: shell, input: {{ command: \"sh gen/big.sh\" }} }}
  - text: Done.
"
            ),
        )
        .commit();
    let ran = repo.wf(&["run", "task.yaml", "--yes"]);
    assert_ne!(ran.code, 0, "{}", ran.stderr);
    let out = format!("{}{}", ran.stdout, ran.stderr);
    assert!(
        out.contains("over limits.max_diff_bytes (64.0 MiB of changed content > 1 MiB)"),
        "{out}"
    );
    assert!(
        out.contains("the largest: data/big.bin (64 MiB), "),
        "{out}"
    );
    assert!(out.len() < 16 * 1024, "{} bytes on the terminal", out.len());
    // Nothing applied.
    assert!(!repo.exists("data"));
    assert_eq!(repo.read("src/lib.rs"), "pub fn f() {}\n");
    // The record stays; no patch was written.
    let run = repo.runs().pop().expect("the run folder");
    assert!(!run.join("diff.patch").exists());
    let trace = repo.last_trace();
    let finished = events(&trace, "run_finished");
    assert_eq!(finished[0]["status"], "error", "{finished:?}");
    assert!(
        finished[0]["reason"]
            .as_str()
            .unwrap()
            .contains("data/big.bin"),
        "{finished:?}"
    );
    assert_eq!(events(&trace, "applied").len(), 0);
}
