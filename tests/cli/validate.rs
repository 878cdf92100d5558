//! `wf validate`: errors that point into the file, all of them at once.

use super::Repo;

const GOOD: &str = "wf: 1
name: fix-lint
model: { provider: openai, name: gpt-4o }
tools: [read_file, edit_file]
permissions: { write: [\"src/**\"] }
prompt: Fix the lint warnings.
";

#[test]
fn a_valid_file_passes() {
    let repo = Repo::new();
    repo.file("t.yaml", GOOD);
    let r = repo.wf(&["validate", "t.yaml"]);
    r.code(0);
    assert!(r.stdout.contains("ok    t.yaml"), "{}", r.stdout);
}

#[test]
fn every_schema_error_is_reported_with_line_column_and_a_suggestion() {
    let repo = Repo::new();
    repo.file(
        "bad.yaml",
        "wf: 1
name: fix-lint
modle: x
model: { provider: openai, name: gpt-4o }
tools: [read_file, shel]
prompt: Fix it.
limits:
  max_turns: 0
  max_repairs: lots
",
    );
    let r = repo.wf(&["validate", "bad.yaml"]);
    r.code(2);
    let e = &r.stderr;
    assert!(
        e.contains("error: unknown key `modle`\n --> bad.yaml:3:1"),
        "{e}"
    );
    assert!(e.contains("help: did you mean `model`?"), "{e}");
    assert!(
        e.contains("error: unknown tool `shel`\n --> bad.yaml:5:20"),
        "{e}"
    );
    assert!(e.contains("help: did you mean `shell`?"), "{e}");
    assert!(
        e.contains("`max_turns` must be at least 1, found 0\n --> bad.yaml:8:14"),
        "{e}"
    );
    assert!(
        e.contains("`max_repairs` must be an integer, found the string `lots`"),
        "{e}"
    );
    // The caret sits under the offending value.
    assert!(
        e.contains("5 | tools: [read_file, shel]\n  |                    ^^^^"),
        "{e}"
    );
}

#[test]
fn semantic_errors_are_located() {
    let repo = Repo::new();
    repo.file(
        "sem.yaml",
        "wf: 1
name: sem
inputs:
  source: { type: path, default: ../outside.ini }
  level: { type: enum, values: [low, high], default: medium }
  count: { type: integer, default: many }
model: { provider: openai, name: gpt-4o }
tools: [read_file]
permissions:
  read: [\"src/[\"]
  shell: { allow: [\"cargo test\"] }
context:
  include: [\"/etc/**\"]
prompt: |
  Migrate {{ inputs.sorce }}.
checks:
  - { name: test, run: cargo test }
  - { name: test, run: cargo test --all }
",
    );
    let r = repo.wf(&["validate", "sem.yaml"]);
    r.code(2);
    let e = &r.stderr;
    for (msg, at) in [
        (
            "default of input `source` `../outside.ini` leaves the repository through `..`",
            "sem.yaml:4:34",
        ),
        (
            "default of input `level` `medium` is not one of: low, high",
            "sem.yaml:5:54",
        ),
        (
            "default of input `count` must be an integer",
            "sem.yaml:6:36",
        ),
        ("invalid glob `src/[`", "sem.yaml:10:10"),
        (
            "`permissions.shell` is given but `shell` is not in `tools`",
            "sem.yaml:11:3",
        ),
        ("glob `/etc/**` is an absolute path", "sem.yaml:13:13"),
        (
            "undeclared template variable `inputs.sorce`",
            "sem.yaml:15:14",
        ),
        ("duplicate check name `test`", "sem.yaml:18:13"),
    ] {
        assert!(
            e.contains(&format!("error: {msg}")),
            "missing `{msg}` in\n{e}"
        );
        assert!(
            e.contains(&format!("--> {at}")),
            "missing location {at} for `{msg}` in\n{e}"
        );
    }
    assert!(e.contains("did you mean `source`?"), "{e}");
}

#[test]
fn the_version_is_read_first() {
    let repo = Repo::new();
    repo.file("v2.yaml", "wf: 2\nname: x\nsteps: []\nwhatever: 1\n");
    let r = repo.wf(&["validate", "v2.yaml"]);
    r.code(2);
    assert!(
        r.stderr
            .contains("this task file needs format version 2; wf"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("whatever"),
        "field errors of a newer format are noise: {}",
        r.stderr
    );

    repo.file("none.yaml", "name: x\nprompt: y\n");
    let r = repo.wf(&["validate", "none.yaml"]);
    r.code(2);
    assert!(
        r.stderr
            .contains("missing `wf:`, the task-file format version\n --> none.yaml:1:1"),
        "{}",
        r.stderr
    );
}

#[test]
fn hostile_files_get_clear_errors_not_panics_or_hangs() {
    let repo = Repo::new();
    std::fs::write(repo.join("utf8.yaml"), b"wf: 1\nname: \xff\xfe\n").unwrap();
    let mut bomb = String::from("wf: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    repo.file("bomb.yaml", &bomb);
    repo.file(
        "deep.yaml",
        &format!("wf: 1\nx: {}{}\n", "[".repeat(5000), "]".repeat(5000)),
    );
    repo.file(
        "huge.yaml",
        &format!("wf: 1\nprompt: \"{}\"\n", "a".repeat(2 * 1024 * 1024)),
    );
    repo.file("broken.yaml", "wf: 1\nname: [unclosed\n");
    repo.file("dup.yaml", "wf: 1\nname: a\nname: b\n");
    for (file, expect) in [
        (
            "utf8.yaml",
            "task file is not valid UTF-8\n --> utf8.yaml:2:7",
        ),
        ("bomb.yaml", "expands to more than"),
        ("deep.yaml", "deep.yaml:2:"),
        ("huge.yaml", "the limit is"),
        ("broken.yaml", "invalid YAML"),
        (
            "dup.yaml",
            "duplicate key `name` (first given on line 2)\n --> dup.yaml:3:1",
        ),
    ] {
        let r = repo.wf(&["validate", file]);
        r.code(2);
        assert!(
            r.stderr.contains(expect),
            "{file}: expected `{expect}` in\n{}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
}

#[test]
fn a_directory_means_every_task_file_under_it() {
    let repo = Repo::new();
    repo.file("flows/a.yaml", GOOD);
    repo.file(
        "flows/nested/b.yml",
        &GOOD.replace("fix-lint", "fix-lint-b"),
    );
    repo.file("flows/turns.yaml", "turns:\n  - text: done\n");
    repo.file("flows/c.yaml", "wf: 1\nname: C\n");
    let r = repo.wf(&["validate", "flows"]);
    r.code(2);
    assert!(r.stdout.contains("ok    flows/a.yaml"), "{}", r.stdout);
    assert!(
        r.stdout.contains("ok    flows/nested/b.yml"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("error flows/c.yaml"), "{}", r.stdout);
    assert!(
        !r.stdout.contains("turns.yaml"),
        "script files are not task files: {}",
        r.stdout
    );
    assert!(r.stdout.contains("2 valid, 1 with errors"), "{}", r.stdout);
}

#[test]
fn schema_and_semantic_errors_are_reported_in_one_pass() {
    let repo = Repo::new();
    repo.file(
        "bad.yaml",
        "wf: 1
name: fix-lint
modle: x
model: { provider: script, script: missing.turns.yaml }
inputs:
  module: { type: string }
limits: { max_turns: 0 }
prompt: Fix {{ inputs.modul }}.
",
    );
    let r = repo.wf(&["validate", "bad.yaml"]);
    r.code(2);
    let e = &r.stderr;
    // The schema's errors…
    assert!(
        e.contains("error: unknown key `modle`\n --> bad.yaml:3:1"),
        "{e}"
    );
    assert!(e.contains("`max_turns` must be at least 1, found 0"), "{e}");
    // …and, in the same pass, the semantic ones.
    assert!(e.contains("inputs.modul"), "{e}");
    assert!(
        e.contains("script file `missing.turns.yaml` not found next to the task file"),
        "{e}"
    );
    // In file order.
    let at = |s: &str| e.find(s).unwrap_or_else(|| panic!("{s}: {e}"));
    assert!(at("`modle`") < at("missing.turns.yaml") && at("max_turns") < at("inputs.modul"));
}
