//! `wf completions SHELL` and `wf man`: generated from the clap definitions,
//! so they name every subcommand.

use super::Repo;

const SUBCOMMANDS: &[&str] = &[
    "validate",
    "list",
    "plan",
    "run",
    "runs",
    "show",
    "replay",
    "approve",
    "reject",
    "resume",
    "lock",
    "schema",
    "init",
    "doctor",
    "test",
    "completions",
    "man",
];

#[test]
fn the_bash_completion_script_names_every_subcommand() {
    let repo = Repo::new();
    let ran = repo.wf(&["completions", "bash"]);
    ran.code(0);
    assert!(ran.stdout.contains("complete -F"), "{}", ran.stdout);
    for sub in SUBCOMMANDS {
        assert!(
            ran.stdout.contains(sub),
            "`{sub}` missing from:\n{}",
            ran.stdout
        );
    }
    // Options of a subcommand are completed too.
    assert!(ran.stdout.contains("--dry-run"));
}

#[test]
fn zsh_and_fish_scripts_are_generated_and_other_shells_refused() {
    let repo = Repo::new();
    let zsh = repo.wf(&["completions", "zsh"]);
    zsh.code(0);
    assert!(zsh.stdout.starts_with("#compdef wf"), "{}", zsh.stdout);
    let fish = repo.wf(&["completions", "fish"]);
    fish.code(0);
    assert!(fish.stdout.contains("complete -c wf"), "{}", fish.stdout);
    let other = repo.wf(&["completions", "tcsh"]);
    other.code(2);
    assert!(
        other.stderr.contains("use bash, zsh or fish"),
        "{}",
        other.stderr
    );
}

#[test]
fn the_man_page_is_roff_naming_the_subcommands() {
    let repo = Repo::new();
    let ran = repo.wf(&["man"]);
    ran.code(0);
    let page = &ran.stdout;
    assert!(page.contains(".TH wf 1"), "{page}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "{section} missing:\n{page}");
    }
    for sub in SUBCOMMANDS {
        assert!(
            page.contains(&format!("wf\\-{sub}(1)")),
            "`{sub}` missing:\n{page}"
        );
    }
    // Every line is text or a roff request; nothing else leaks in.
    assert!(page.lines().all(|l| !l.starts_with('{')));
}

#[test]
fn a_subcommand_has_its_own_page() {
    let repo = Repo::new();
    let ran = repo.wf(&["man", "run"]);
    ran.code(0);
    assert!(ran.stdout.contains(".TH wf-run 1"), "{}", ran.stdout);
    assert!(ran.stdout.contains("\\-\\-dry\\-run"), "{}", ran.stdout);
    let unknown = repo.wf(&["man", "fly"]);
    unknown.code(2);
    assert!(
        unknown.stderr.contains("no subcommand `fly`"),
        "{}",
        unknown.stderr
    );
}
