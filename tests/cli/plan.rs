//! `wf plan`: inputs, templates, context resolution, the fingerprint.

use super::Repo;

fn task(include: &str, extra: &str) -> String {
    format!(
        "wf: 1
name: migrate
inputs:
  source: {{ type: path, default: config/app.ini }}
  strict: {{ type: boolean, default: true }}
  level: {{ type: enum, values: [low, high], default: low }}
  retries: {{ type: integer }}
model: {{ provider: openai, name: gpt-4o }}
context:
  include: [{include}]
  exclude: [\"**/*_generated.rs\"]
{extra}
constraints:
  - Keep {{{{ inputs.source }}}} readable.
prompt: |
  Migrate {{{{ inputs.source }}}} (strict={{{{ inputs.strict }}}}, retries={{{{ inputs.retries }}}}).
"
    )
}

fn repo() -> Repo {
    let repo = Repo::new();
    repo.file("config/app.ini", "[server]\nport = 8080\n")
        .file("src/config/mod.rs", "pub mod load;\n")
        .file("src/config/load.rs", "pub fn load() {}\n")
        .file("src/config/schema_generated.rs", "// generated\n")
        .file("src/config/ignored/x.rs", "// ignored by git\n")
        .file(".gitignore", "src/config/ignored/\n");
    std::fs::write(repo.join("src/config/blob.rs"), b"\x00\x01binary").unwrap();
    repo
}

#[test]
fn shows_rendered_prompt_context_and_fingerprint() {
    let repo = repo();
    repo.file(
        "t.yaml",
        &task("\"src/config/**/*.rs\", \"{{ inputs.source }}\"", ""),
    );
    let r = repo.wf(&["plan", "t.yaml", "-i", "retries=3"]);
    r.code(0);
    let o = &r.stdout;
    assert!(
        o.contains("Migrate config/app.ini (strict=true, retries=3)."),
        "{o}"
    );
    assert!(o.contains("- Keep config/app.ini readable."), "{o}");
    assert!(o.contains("context: 3 files"), "{o}");
    // Sorted by path, generated and gitignored files left out, binary noted.
    let a = o.find("config/app.ini ").unwrap();
    let b = o.find("src/config/load.rs").unwrap();
    let c = o.find("src/config/mod.rs").unwrap();
    assert!(a < b && b < c, "{o}");
    assert!(!o.contains("schema_generated"), "{o}");
    assert!(!o.contains("ignored/x.rs"), "{o}");
    assert!(
        o.contains("src/config/blob.rs") && o.contains("skipped: binary file"),
        "{o}"
    );
    assert!(o.contains("fingerprint: "), "{o}");
}

#[test]
fn json_plan_and_a_fingerprint_that_depends_on_content_only() {
    let a = repo();
    let b = repo();
    for r in [&a, &b] {
        r.file("t.yaml", &task("\"src/config/**/*.rs\"", ""));
    }
    let plan = |r: &Repo, retries: &str| -> serde_json::Value {
        let out = r.wf(&[
            "plan",
            "t.yaml",
            "--json",
            "-i",
            &format!("retries={retries}"),
        ]);
        out.code(0);
        serde_json::from_str(&out.stdout).unwrap()
    };
    let pa = plan(&a, "3");
    let pb = plan(&b, "3");
    assert_eq!(
        pa["fingerprint"], pb["fingerprint"],
        "same content in two places"
    );
    // A single-prompt file is one agent step, without an id.
    assert_eq!(pa["steps"][0]["id"], serde_json::Value::Null);
    assert_eq!(pa["steps"][0]["kind"], "agent");
    assert_eq!(
        pa["steps"][0]["context"]["files"].as_array().unwrap().len(),
        2
    );
    assert_ne!(
        pa["fingerprint"],
        plan(&a, "4")["fingerprint"],
        "inputs are part of it"
    );
    b.file("src/config/load.rs", "pub fn load() { todo() }\n");
    assert_ne!(
        pa["fingerprint"],
        plan(&b, "3")["fingerprint"],
        "file content is part of it"
    );
}

#[test]
fn bad_inputs_exit_2_with_a_clear_message() {
    let repo = repo();
    repo.file("t.yaml", &task("\"src/config/*.rs\"", ""));
    for (args, expect) in [
        (
            vec![],
            "missing required input `retries` (integer); give it with `-i retries=VALUE`",
        ),
        (
            vec!["-i", "retries=3", "-i", "retires=4"],
            "unknown input `retires`; did you mean `retries`?",
        ),
        (
            vec!["-i", "retries=three"],
            "input `retries`: `three` is not an integer",
        ),
        (
            vec!["-i", "retries=1", "-i", "level=medium"],
            "input `level`: `medium` is not one of: low, high",
        ),
        (
            vec!["-i", "retries=1", "-i", "strict=maybe"],
            "input `strict`: `maybe` is not a boolean",
        ),
        (
            vec!["-i", "retries=1", "-i", "source=/etc/passwd"],
            "input `source`: `/etc/passwd` is an absolute path",
        ),
        (vec!["-i", "noequals"], "input `noequals` is not KEY=VALUE"),
    ] {
        let mut full = vec!["plan", "t.yaml"];
        full.extend(args.iter().copied());
        let r = repo.wf(&full);
        r.code(2);
        assert!(
            r.stderr.contains(expect),
            "{args:?}: expected `{expect}` in\n{}",
            r.stderr
        );
    }
}

#[test]
fn over_budget_names_the_largest_files() {
    let repo = repo();
    repo.file("src/config/big.rs", &"x".repeat(4000));
    repo.file(
        "t.yaml",
        &task("\"src/config/**/*.rs\"", "  max_tokens: 500"),
    );
    let r = repo.wf(&["plan", "t.yaml", "-i", "retries=1"]);
    r.code(2);
    assert!(
        r.stderr
            .contains("context is 1009 tokens, over its budget of 500"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("1000 tokens  src/config/big.rs"),
        "{}",
        r.stderr
    );
}

#[test]
fn context_never_includes_git_internals_or_symlinks_out() {
    let repo = repo();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("secret.rs"),
        "const KEY: &str = \"s\";\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.rs"),
        repo.join("src/config/leak.rs"),
    )
    .unwrap();
    std::os::unix::fs::symlink("load.rs", repo.join("src/config/alias.rs")).unwrap();
    repo.file("t.yaml", &task("\"**\"", "  max_tokens: 100000"));
    let r = repo.wf(&["plan", "t.yaml", "-i", "retries=1", "--json"]);
    r.code(0);
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let files: Vec<&str> = plan["steps"][0]["context"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(files.iter().all(|f| !f.starts_with(".git/")), "{files:?}");
    assert!(
        files.contains(&"src/config/alias.rs"),
        "a link inside the repository is fine: {files:?}"
    );
    assert!(!files.contains(&"src/config/leak.rs"), "{files:?}");
    let skipped = plan["steps"][0]["context"]["skipped"].to_string();
    assert!(
        skipped.contains("leak.rs") && skipped.contains("outside the repository"),
        "{skipped}"
    );
}

#[test]
fn leaving_context_out_means_the_default_budget_and_exclude_is_templated() {
    let repo = Repo::new();
    repo.file("src/a.txt", "a\n").file("src/b.txt", "b\n");
    repo.file(
        "bare.yaml",
        "wf: 1\nname: bare\nmodel: { provider: openai, name: gpt-4o }\nprompt: x\n",
    );
    repo.file(
        "empty.yaml",
        "wf: 1\nname: bare\nmodel: { provider: openai, name: gpt-4o }\ncontext: {}\nprompt: x\n",
    );
    let plan = |file: &str| -> serde_json::Value {
        let r = repo.wf(&["plan", file, "--json"]);
        r.code(0);
        serde_json::from_str(&r.stdout).unwrap()
    };
    let (bare, empty) = (plan("bare.yaml"), plan("empty.yaml"));
    assert_eq!(bare["steps"][0]["context"]["max_tokens"], 60000);
    assert_eq!(
        bare["spec_hash"], empty["spec_hash"],
        "`context:` left out and `context: {{}}` mean the same"
    );

    repo.file(
        "ex.yaml",
        "wf: 1\nname: ex\ninputs: { skip: { type: string, default: b } }\nmodel: { provider: openai, name: gpt-4o }\ncontext: { include: [\"src/*.txt\"], exclude: [\"src/{{ inputs.skip }}.txt\"] }\nprompt: x\n",
    );
    let files: Vec<String> = plan("ex.yaml")["steps"][0]["context"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(files, ["src/a.txt"]);
}

#[test]
fn permissive_shell_patterns_are_noted_by_plan_and_validate() {
    let repo = Repo::new();
    repo.file(
        "t.yaml",
        "wf: 1
name: fix
model: { provider: openai, name: gpt-4o }
tools: [read_file, edit_file, shell]
permissions:
  write: [\"src/**\"]
  shell: { allow: [\"cargo check\", \"cargo test *\"] }
prompt: Fix it.
",
    );
    let note = "`cargo test *` (permissions.shell.allow): `cargo test` with a wildcard argument lets the model run any program";
    let plan = repo.wf(&["plan", "t.yaml"]);
    plan.code(0);
    assert!(plan.stdout.contains(note), "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains("the sandbox confines it, the allowlist does not"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("`cargo check`"), "{}", plan.stdout);
    let validate = repo.wf(&["validate", "t.yaml"]);
    validate.code(0);
    let o = &validate.stdout;
    let ok = o.find("ok    t.yaml").expect(o);
    let noted = o.find(&format!("  note: {note}")).expect(o);
    assert!(ok < noted, "{o}");
    assert!(!o.contains("`cargo check`"), "{o}");
    assert_eq!(o.matches("note:").count(), 1, "{o}");

    // All literal: nothing to note.
    repo.file(
        "t.yaml",
        "wf: 1
name: fix
model: { provider: openai, name: gpt-4o }
tools: [read_file, shell]
permissions:
  shell: { allow: [\"cargo check\", \"cargo test --quiet\"] }
prompt: Fix it.
",
    );
    let plan = repo.wf(&["plan", "t.yaml"]);
    plan.code(0);
    assert!(
        !plan.stdout.contains("allowlist does not"),
        "{}",
        plan.stdout
    );
    let validate = repo.wf(&["validate", "t.yaml"]);
    validate.code(0);
    assert!(!validate.stdout.contains("note:"), "{}", validate.stdout);
}

#[test]
fn a_check_whose_program_is_not_on_path_is_noted() {
    let repo = repo();
    repo.file(
        "task.yaml",
        &task(
            "\"config/app.ini\"",
            "checks:
  - { name: tests, run: wf-no-such-pytest -q }
  - { name: build, run: \"cargo build && wf-not-reached\" }
  - { name: env, run: \"RUST_LOG=1 true\" }
  - { name: local, run: ./scripts/check.sh }",
        ),
    );
    let r = repo.wf(&["plan", "task.yaml", "-i", "retries=1"]);
    r.code(0);
    assert!(
        r.stdout.contains(
            "check `tests`: `wf-no-such-pytest` is not found on PATH here; `wf run` refuses to start (it would end with exit 127 when it runs)"
        ),
        "{}",
        r.stdout
    );
    // Only the first program is looked up; builtins and relative paths
    // are left alone.
    assert_eq!(
        r.stdout.matches("is not found on PATH").count(),
        1,
        "{}",
        r.stdout
    );
}

/// Issue #14: an include whose literal base is a gitignored directory, or
/// that names an ignored file, selects nothing, and the plan says why.
#[test]
fn a_wildcard_never_pulls_in_gitignored_files_and_the_plan_says_so() {
    let repo = Repo::new();
    repo.file(".gitignore", "target/\n.env\n")
        .file("target/debug/build.rs", "fn main() {}\n")
        .file("target/doc/index.md", "# docs\n")
        .file(".env", "API_KEY=secret\n")
        .file("src/lib.rs", "pub fn f() {}\n")
        .file(
            "t.yaml",
            "wf: 1\nname: ignored\nmodel: { provider: openai, name: gpt-4o }\ncontext:\n  include: [\"target/**\", \".env\", \"src/*.rs\"]\nprompt: x\n",
        )
        .file(
            "only.yaml",
            "wf: 1\nname: only\nmodel: { provider: openai, name: gpt-4o }\ncontext:\n  include: [\"target/**\"]\nprompt: x\n",
        );
    let r = repo.wf(&["plan", "t.yaml", "--json"]);
    r.code(0);
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let context = &plan["steps"][0]["context"];
    let files: Vec<&str> = context["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    // `.env` is named literally: the task asked for it by name.
    assert_eq!(files, [".env", "src/lib.rs"], "{context}");
    let notes = context["notes"].to_string();
    assert!(
        notes.contains("`target/**` matches only files ignored by git")
            && !notes.contains("`.env`"),
        "{notes}"
    );

    // The human plan: the note instead of a bare "no file matches".
    let r = repo.wf(&["plan", "only.yaml"]);
    r.code(0);
    assert!(r.stdout.contains("context: 0 files"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("! context.include `target/**` matches only files ignored by git"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("no file matches"), "{}", r.stdout);

    // An .ignore negation does not let a directory git ignores in: its
    // files are held back, and the plan says so.
    repo.file(".ignore", "!/target/\n");
    let r = repo.wf(&["plan", "only.yaml", "--json"]);
    r.code(0);
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let files: Vec<&str> = plan["steps"][0]["context"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(files.is_empty(), "{files:?}");
    let context = &plan["steps"][0]["context"];
    let skipped: Vec<&str> = context["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["target/debug/build.rs", "target/doc/index.md"]);
    assert!(
        context["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("2 files held back from the context"),
        "{context}"
    );
}

/// Issue 25: a typo in a path named literally was dropped silently (a
/// prompt about `config/ap.ini`, "context: 1 files"). Now it is an error
/// before any model request, pointed at in the task file, with the path
/// meant; a glob that matches nothing is a note.
#[test]
fn a_literal_path_that_names_nothing_is_a_located_error_with_did_you_mean() {
    let repo = repo();
    repo.file(
        "t.yaml",
        &task(
            "\"src/config/**/*.rs\", \"config/ap.ini\", \"migrations/**\"",
            "",
        ),
    );
    for command in ["plan", "run"] {
        let r = repo.wf(&[command, "t.yaml", "-i", "retries=1"]);
        r.code(2);
        assert!(
            r.stderr.contains(
                "error: context.include `config/ap.ini` names no file in the repository; did you mean `config/app.ini`?\n  --> t.yaml:10:35"
            ),
            "{command}: {}",
            r.stderr
        );
    }
    assert!(repo.runs().is_empty(), "a run folder was made");

    // A `type: path` input, given or by default.
    repo.file("t.yaml", &task("\"migrations/**\"", ""));
    let r = repo.wf(&[
        "run",
        "t.yaml",
        "-i",
        "retries=1",
        "-i",
        "source=config/ap.ini",
    ]);
    r.code(2);
    assert!(
        r.stderr.contains(
            "input `source` is a path, and `config/ap.ini` (-i source=config/ap.ini) names no file in the repository; did you mean `config/app.ini`?"
        ),
        "{}",
        r.stderr
    );
    // Nothing close: a path the task may create, noted.
    let r = repo.wf(&[
        "plan",
        "t.yaml",
        "-i",
        "retries=1",
        "-i",
        "source=config/new.toml",
    ]);
    r.code(0);
    assert!(
        r.stdout.contains(
            "input `source`: `config/new.toml` (-i source=config/new.toml) names nothing in the repository yet"
        ),
        "{}",
        r.stdout
    );
    repo.file(
        "t.yaml",
        &task("\"migrations/**\"", "").replace("default: config/app.ini", "default: config/app.in"),
    );
    let r = repo.wf(&["plan", "t.yaml", "-i", "retries=1"]);
    r.code(2);
    assert!(
        r.stderr
            .contains("did you mean `config/app.ini`?\n --> t.yaml:4:34"),
        "{}",
        r.stderr
    );

    // The glob that matches nothing: a note, and the plan goes on.
    repo.file("t.yaml", &task("\"migrations/**\"", ""));
    let r = repo.wf(&["plan", "t.yaml", "-i", "retries=1"]);
    r.code(0);
    assert!(
        r.stdout.contains(
            "context.include `migrations/**` matches no file; nothing of it enters the context"
        ),
        "{}",
        r.stdout
    );
}

/// Issue 25: a repository's `AGENTS.md` as the task's standing rules.
#[test]
fn constraints_from_reads_the_repositorys_rules_into_the_plan_and_fingerprint() {
    let repo = repo();
    repo.file(
        "AGENTS.md",
        "# House rules\n- Never touch vendor/.\n- Tabs, not spaces.\n",
    );
    let with = |from: &str| {
        task("\"config/app.ini\"", "").replace(
            "constraints:\n",
            &format!("constraints_from: [{from}]\nconstraints:\n"),
        )
    };
    repo.file("t.yaml", &with("AGENTS.md"));
    repo.wf(&["validate", "t.yaml"]).code(0);
    let plan = |repo: &Repo| {
        let r = repo.wf(&["plan", "t.yaml", "-i", "retries=1"]);
        r.code(0);
        r.stdout
    };
    let first = plan(&repo);
    assert!(
        first.contains(
            "  - Keep config/app.ini readable.\n  - from AGENTS.md: 3 lines, 57 bytes, sha256 "
        ),
        "{first}"
    );
    let fingerprint = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("fingerprint"))
            .unwrap_or_else(|| panic!("{out}"))
            .to_string()
    };
    // Another version of the rules is another plan.
    repo.file("AGENTS.md", "# House rules\n- Never touch vendor/.\n");
    let second = plan(&repo);
    assert_ne!(fingerprint(&first), fingerprint(&second));

    // A missing file is an error, pointed at, with the file meant.
    repo.file("t.yaml", &with("AGENT.md"));
    let r = repo.wf(&["plan", "t.yaml", "-i", "retries=1"]);
    r.code(2);
    assert!(
        r.stderr.contains(
            "error: constraints_from `AGENT.md` names no file in the repository; did you mean `AGENTS.md`?\n  --> t.yaml:13:20"
        ),
        "{}",
        r.stderr
    );
    // Outside the repository, through a link: refused.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("rules.md"), "secret rules\n").unwrap();
    std::os::unix::fs::symlink(outside.path().join("rules.md"), repo.join("RULES.md")).unwrap();
    repo.file("t.yaml", &with("RULES.md"));
    let r = repo.wf(&["plan", "t.yaml", "-i", "retries=1"]);
    r.code(2);
    assert!(
        r.stderr
            .contains("constraints_from `RULES.md` leads outside the repository"),
        "{}",
        r.stderr
    );
}

/// `context.max_tokens` as a template of the inputs: a recipe's budget is
/// an input; what it renders to must be a budget.
#[test]
fn the_context_budget_can_be_an_input() {
    let repo = Repo::new();
    repo.file("src/big.py", &"x = 1\n".repeat(400)).file(
        "t.yaml",
        "wf: 1
name: budgeted
inputs:
  budget: { type: integer, default: 100 }
model: { provider: openai, name: gpt-4o }
context:
  include: [\"src/**/*.py\"]
  max_tokens: \"{{ inputs.budget }}\"
prompt: Read it.
",
    );
    let r = repo.wf(&["plan", "t.yaml"]);
    r.code(2);
    assert!(
        r.stderr
            .contains("over its budget of 100 (context.max_tokens)"),
        "{}",
        r.stderr
    );
    let r = repo.wf(&["plan", "t.yaml", "-i", "budget=5000"]);
    r.code(0);
    assert!(r.stdout.contains("tokens of 5000"), "{}", r.stdout);
    let r = repo.wf(&["plan", "t.yaml", "-i", "budget=0"]);
    r.code(2);
    assert!(
        r.stderr.contains("context.max_tokens")
            && r.stderr.contains("gives `0`, not a token budget"),
        "{}",
        r.stderr
    );

    // An undeclared input in it is located like any template's.
    repo.file(
        "u.yaml",
        &repo
            .read("t.yaml")
            .replace("inputs.budget }}\"", "inputs.bugdet }}\""),
    );
    let r = repo.wf(&["validate", "u.yaml"]);
    r.code(2);
    assert!(
        r.stderr.contains("u.yaml:8:") && r.stderr.contains("inputs.bugdet"),
        "{}",
        r.stderr
    );
    // A string that is no template is refused by the schema.
    repo.file(
        "s.yaml",
        &repo
            .read("t.yaml")
            .replace("\"{{ inputs.budget }}\"", "lots"),
    );
    repo.wf(&["validate", "s.yaml"]).code(2);
}
