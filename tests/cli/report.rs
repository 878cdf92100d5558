//! `wf report`: the HTML and Markdown reports of a scripted run with a
//! denied call and a failing-then-repaired check, and the index of a
//! folder of runs. (tests/browser/report.sh loads the same pages in
//! Chromium.)

use super::Repo;

const KEY: &str = "sk-test0123456789abcdefghijKLMN";

/// A repository where a scripted run reads markup and a key from a file,
/// is denied a protected write, fails a check and repairs it.
fn repo() -> Repo {
    let repo = Repo::new();
    repo.file("config/app.ini", "[server]\nport = 8080\n")
        .file("migrations/001.sql", "CREATE TABLE t (x INT);\n")
        .file(
            "notes.txt",
            &format!("release notes <script>alert(1)</script>\nkey: {KEY}\n"),
        )
        .file(
            "task.yaml",
            "wf: 1
name: migrate
model: { provider: script, script: turns.yaml }
tools: [read_file, write_file, edit_file]
permissions:
  write: [\"config/**\"]
  protect: [\"migrations/**\"]
prompt: Migrate config/app.ini to TOML.
checks:
  - { name: has-host, run: \"grep -q host config/app.toml || { echo 'no host key <here>'; exit 4; }\" }
",
        )
        .file(
            "turns.yaml",
            "turns:
  - tool_calls:
      - { name: read_file, input: { path: notes.txt } }
      - { name: write_file, input: { path: migrations/002.sql, content: \"DROP TABLE t;\\n\" } }
  - tool_calls:
      - { name: write_file, input: { path: config/app.toml, content: \"port = 8080\\n\" } }
  - text: Done.
  - tool_calls:
      - { name: edit_file, input: { path: config/app.toml, old: \"port\", new: \"host = \\\"a\\\"\\nport\" } }
  - text: Fixed.
",
        )
        .commit();
    repo.wf(&["run", "task.yaml", "--yes"]).code(0);
    repo
}

#[test]
fn the_html_report_shows_checks_denials_and_the_diff_escaped_and_redacted() {
    let repo = repo();
    let r = repo.wf(&["report", "last", "--html"]);
    r.code(0);
    let run = repo.runs().pop().unwrap();
    let path = run.join("report.html");
    assert_eq!(r.stdout.trim(), path.to_string_lossy(), "{}", r.stderr);
    let page = std::fs::read_to_string(&path).unwrap();
    // The failing check's output, the repair, the passing round.
    assert!(page.contains("no host key &lt;here&gt;"), "{page}");
    assert!(page.contains("id=\"check-0-has-host\" open"), "{page}");
    assert!(page.contains("Repair round 1"), "{page}");
    assert!(page.contains("id=\"check-1-has-host\""), "{page}");
    // The denial, highlighted.
    assert!(page.contains("class=\"call denied\""), "{page}");
    assert!(
        page.contains("write to migrations/002.sql denied: protected by permissions.protect"),
        "{page}"
    );
    // The diff, coloured by class.
    assert!(
        page.contains("<span class=\"add\">+host = &quot;a&quot;</span>"),
        "{page}"
    );
    // The tool result's markup is text; the key it held is redacted.
    assert!(page.contains("release notes &lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("<script"), "a script element");
    assert!(!page.contains(KEY) && page.contains("key: sk-[redacted]"));
    // Who approved, the trace verified, the permissions from the task file.
    assert!(page.contains("<td>tester@example.com</td><td>--yes</td>"));
    assert!(page.contains("class=\"verify ok\""));
    assert!(page.contains("<code>migrations/**</code>"), "{page}");
}

#[test]
fn a_secret_from_the_environment_is_redacted() {
    let repo = repo();
    let r = repo.wf_env(
        &["report", "last", "--html", "-o", "-"],
        &[("SOME_SERVICE_TOKEN", "release notes")],
    );
    r.code(0);
    assert!(!r.stdout.contains("release notes"), "not redacted");
    assert!(r.stdout.contains("[redacted] &lt;script&gt;"));
}

#[test]
fn the_markdown_report_goes_to_stdout_or_beside_the_run() {
    let repo = repo();
    let r = repo.wf(&["report", "last", "--md", "-o", "-"]);
    r.code(0);
    let md = &r.stdout;
    assert!(md.contains("**✅ succeeded**"), "{md}");
    assert!(md.contains("| 0 | has-host | ❌ failed | 4 |"), "{md}");
    assert!(md.contains("no host key <here>"), "{md}");
    assert!(md.contains("## Denied calls (1)"), "{md}");
    assert!(md.contains("+host = \"a\""), "{md}");
    let r = repo.wf(&["report", "last", "--md"]);
    r.code(0);
    assert!(repo.runs().pop().unwrap().join("report.md").is_file());
}

#[test]
fn a_folder_of_runs_gets_an_index_linking_each_report() {
    let repo = repo();
    repo.wf(&["run", "task.yaml", "--dry-run"]);
    let r = repo.wf(&["report", ".wf/runs"]);
    r.code(0);
    assert!(r.stderr.contains("2 run reports written"), "{}", r.stderr);
    let index = std::fs::read_to_string(repo.join(".wf/runs/index.html")).unwrap();
    for run in repo.runs().iter().filter(|p| p.is_dir()) {
        let id = run.file_name().unwrap().to_string_lossy();
        assert!(
            index.contains(&format!("<a href=\"{id}/report.html\">{id}</a>")),
            "{index}"
        );
        assert!(run.join("report.html").is_file());
    }
    assert!(index.contains("2 runs"), "{index}");
}

#[test]
fn an_edited_trace_is_reported_as_failing_verification() {
    let repo = repo();
    let run = repo.runs().pop().unwrap();
    let trace = std::fs::read_to_string(run.join("trace.jsonl")).unwrap();
    std::fs::write(
        run.join("trace.jsonl"),
        trace.replace("no host key <here>", "all good"),
    )
    .unwrap();
    let r = repo.wf(&["report", "last", "-o", "-"]);
    r.code(0);
    assert!(r.stdout.contains("class=\"verify bad\""), "{}", r.stdout);
    assert!(r.stdout.contains("FAILS verification"));
}

#[test]
fn an_unknown_run_is_a_usage_error() {
    let repo = repo();
    repo.wf(&["report", "nope"]).code(2);
    repo.wf(&["report", "last", "--html", "--md"]).code(2);
}
