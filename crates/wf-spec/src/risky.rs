//! Allow patterns that give away more than they seem to.
//!
//! `permissions.shell.allow` is matched lexically, word by word, on the
//! argument vector ([`super::pattern`]). That is exact about *which words*
//! may be passed and says nothing about *what the program does with them*:
//! `find *` allows `find . -exec sh -c …`, `git *` allows `git -c
//! alias.x=!cmd x`, `cargo test *` allows `--config
//! target.<triple>.runner=…`. For such programs a wildcard argument means
//! "any program, any file"; only the sandbox confines them.
//!
//! [`risky_patterns`] names every such pattern of a task file, from a
//! curated table of programs; `wf validate` and `wf plan` show the notes.
//! A pattern whose words after the program are all literal (`cargo test
//! --quiet`) is not named.

use super::pattern::{PatternWord, parse_pattern};
use super::{Permissions, Spec};

/// A program (or a program and its subcommand) whose arguments can run
/// code or write anywhere.
#[derive(Debug)]
pub struct RiskyProgram {
    /// Program names (the last path component of the pattern's first word).
    pub names: &'static [&'static str],
    /// Literal words that must follow it (a subcommand), none for any.
    pub then: &'static [&'static str],
    /// What a wildcard argument lets the model do.
    pub lets: &'static str,
}

const ANY_CODE: &str = "run any code (`-c`/`-e` on the command line, or a script it writes)";
const ANY_PROGRAM: &str = "run any program with any arguments, which the allowlist then never sees";
const NPM: &str = "run any `package.json` script, which the model can write, and install packages whose install scripts run (`npm exec`, `npm install`)";

/// The curated table. A pattern is matched against the entry with the
/// longest matching `then`.
pub const RISKY_PROGRAMS: &[RiskyProgram] = &[
    RiskyProgram {
        names: &["find"],
        then: &[],
        lets: "run any program (`-exec`, `-execdir`, `-ok`) or delete and write files (`-delete`, `-fprint`)",
    },
    RiskyProgram {
        names: &["git"],
        then: &[],
        lets: "run any program through configuration (`-c alias.x=!cmd`, `-c core.pager=…`) and write files anywhere (`--output=`)",
    },
    RiskyProgram {
        names: &["sed", "gsed"],
        then: &[],
        lets: "write files (`w /path`) and run commands (`e`) from its script",
    },
    RiskyProgram {
        names: &["sort"],
        then: &[],
        lets: "write any file (`-o FILE`) and run a program (`--compress-program=`)",
    },
    RiskyProgram {
        names: &["awk", "gawk", "mawk", "nawk"],
        then: &[],
        lets: "run any command (`system()`, `| \"cmd\"`) and write files from its program",
    },
    RiskyProgram {
        names: &[
            "xargs", "env", "timeout", "nice", "nohup", "stdbuf", "sudo", "doas", "watch",
        ],
        then: &[],
        lets: ANY_PROGRAM,
    },
    RiskyProgram {
        names: &["cargo"],
        then: &[],
        lets: "run any program (`--config target.<triple>.runner=…`, `--config` aliases) and build scripts and proc macros the model can write",
    },
    RiskyProgram {
        names: &["cargo"],
        then: &["test"],
        lets: "run any program (`--config target.<triple>.runner=…`) besides the tests and build scripts the model can write",
    },
    RiskyProgram {
        names: &["cargo"],
        then: &["run"],
        lets: "run any program (`--config target.<triple>.runner=…`, `--bin`, `--example`) with any arguments",
    },
    RiskyProgram {
        names: &["npm", "yarn", "pnpm"],
        then: &[],
        lets: NPM,
    },
    RiskyProgram {
        names: &["npm", "yarn", "pnpm"],
        then: &["run"],
        lets: "run any `package.json` script, which the model can write, with any arguments",
    },
    RiskyProgram {
        names: &["npx", "bunx", "pnpx"],
        then: &[],
        lets: "download and run any package",
    },
    RiskyProgram {
        names: &["make", "gmake"],
        then: &[],
        lets: "run any command (`--eval=`, `-f FILE`, `SHELL=…`, any target of a Makefile the model can write)",
    },
    RiskyProgram {
        names: &[
            "python", "python2", "python3", "node", "deno", "bun", "ruby", "perl", "php", "lua",
        ],
        then: &[],
        lets: ANY_CODE,
    },
    RiskyProgram {
        names: &["sh", "bash", "zsh", "dash", "ksh", "fish"],
        then: &[],
        lets: "run any command line (`-c`), with the shell syntax wf otherwise refuses",
    },
    RiskyProgram {
        names: &["go"],
        then: &[],
        lets: "run any code (`go run`, `go generate`, `-toolexec=`, `-exec`)",
    },
    RiskyProgram {
        names: &["pip", "pip3"],
        then: &[],
        lets: "install any package, running its build code",
    },
    RiskyProgram {
        names: &["tar", "gtar", "bsdtar"],
        then: &[],
        lets: "run any program (`--to-command=`, `--use-compress-program=`, `--checkpoint-action=exec=`) and write files anywhere",
    },
    RiskyProgram {
        names: &["rsync"],
        then: &[],
        lets: "run any program (`-e`, `--rsh=`, `--rsync-path=`) and copy files anywhere",
    },
    RiskyProgram {
        names: &["docker", "podman"],
        then: &[],
        lets: "start containers with any image, mount and privilege (`-v /:/host`, `--privileged`)",
    },
    RiskyProgram {
        names: &["ssh", "scp"],
        then: &[],
        lets: "run commands on other machines, and locally (`-o ProxyCommand=…`, `-o LocalCommand=…`)",
    },
    RiskyProgram {
        names: &["curl", "wget"],
        then: &[],
        lets: "write any file (`-o`, `-O`), send files anywhere (`-T`, `-d @FILE`, `--post-file=`) and reach any host",
    },
];

/// The table entry for `pattern` and the program words it names (`cargo
/// test`), when a word after them is a wildcard; `None` when the pattern
/// does not parse, names a program not in the table, or is all literal
/// after the program.
pub fn risky_pattern(pattern: &str) -> Option<(&'static RiskyProgram, String)> {
    let words = parse_pattern(pattern).ok()?;
    let PatternWord::Literal(first) = words.first()? else {
        return None;
    };
    let program = first.rsplit('/').next().unwrap_or(first);
    let literal_at =
        |i: usize, want: &str| matches!(words.get(i), Some(PatternWord::Literal(w)) if w == want);
    let entry = RISKY_PROGRAMS
        .iter()
        .filter(|e| e.names.contains(&program))
        .filter(|e| e.then.iter().enumerate().all(|(i, w)| literal_at(i + 1, w)))
        .max_by_key(|e| e.then.len())?;
    let open = words[1 + entry.then.len()..]
        .iter()
        .any(|w| !matches!(w, PatternWord::Literal(_)));
    if !open {
        return None;
    }
    let named = std::iter::once(program)
        .chain(entry.then.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    Some((entry, named))
}

/// One note per allow pattern of `spec` (top level and steps) that lets
/// the model run any program or write anywhere through a wildcard: the
/// pattern, where it is, the program and why. Shown by `wf validate` and
/// appended to the plan's notes.
pub fn risky_patterns(spec: &Spec) -> Vec<String> {
    let mut notes = Vec::new();
    let mut add = |permissions: &Permissions, at: String| {
        let Some(shell) = &permissions.shell else {
            return;
        };
        for pattern in &shell.allow {
            if let Some((entry, program)) = risky_pattern(pattern) {
                let note = format!(
                    "`{pattern}` ({at}): `{program}` with a wildcard argument lets the model {}; the sandbox confines it, the allowlist does not",
                    entry.lets
                );
                if !notes.contains(&note) {
                    notes.push(note);
                }
            }
        }
    };
    add(&spec.permissions, "permissions.shell.allow".to_string());
    for step in &spec.steps {
        if let Some(permissions) = &step.permissions {
            add(
                permissions,
                format!("steps.{}.permissions.shell.allow", step.id),
            );
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(pattern: &str) -> Option<String> {
        risky_pattern(pattern).map(|(_, n)| n)
    }

    #[test]
    fn wildcards_on_programs_that_run_code_are_named() {
        for (pattern, program) in [
            ("find *", "find"),
            ("find src -name *", "find"),
            ("git *", "git"),
            ("git log *", "git"),
            ("sed *", "sed"),
            ("sort *", "sort"),
            ("awk *", "awk"),
            ("gawk *", "gawk"),
            ("xargs *", "xargs"),
            ("env *", "env"),
            ("cargo *", "cargo"),
            ("cargo check *", "cargo"),
            ("cargo test *", "cargo test"),
            ("cargo run *", "cargo run"),
            ("npm *", "npm"),
            ("npm run *", "npm run"),
            ("npx *", "npx"),
            ("make *", "make"),
            ("python *", "python"),
            ("python3 *", "python3"),
            ("node *", "node"),
            ("ruby *", "ruby"),
            ("perl *", "perl"),
            ("sh *", "sh"),
            ("bash *", "bash"),
            ("tar *", "tar"),
            ("rsync *", "rsync"),
            ("docker *", "docker"),
            ("ssh *", "ssh"),
            ("curl *", "curl"),
            ("wget *", "wget"),
            ("/usr/bin/find *", "find"),
            ("sed -n *", "sed"),
            ("git diff --output=*", "git"),
            ("npm * test", "npm"),
        ] {
            assert_eq!(named(pattern).as_deref(), Some(program), "{pattern}");
        }
    }

    #[test]
    fn all_literal_patterns_and_other_programs_are_not() {
        for pattern in [
            "cargo test --quiet",
            "cargo check",
            "cargo test",
            "npm run test",
            "git status",
            "find",
            "ls *",
            "cat *",
            "grep -rn *",
            "rustfmt *",
            "'find' '*'",
            "bad 'quote",
        ] {
            assert_eq!(named(pattern), None, "{pattern}");
        }
    }

    #[test]
    fn the_most_specific_entry_gives_the_reason() {
        let (entry, _) = risky_pattern("cargo test *").unwrap();
        assert_eq!(entry.then, ["test"]);
        let (entry, _) = risky_pattern("cargo build *").unwrap();
        assert!(entry.then.is_empty());
        let (entry, _) = risky_pattern("find *").unwrap();
        assert!(entry.lets.contains("-exec") && entry.lets.contains("-delete"));
    }

    #[test]
    fn every_entry_names_programs_and_a_reason() {
        for entry in RISKY_PROGRAMS {
            assert!(!entry.names.is_empty() && !entry.lets.is_empty());
            for name in entry.names {
                let pattern = format!("{name} {} *", entry.then.join(" "));
                assert!(risky_pattern(&pattern).is_some(), "{pattern}");
            }
        }
    }

    #[test]
    fn notes_name_the_pattern_where_it_is_the_program_and_why() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "wf": 1,
            "name": "t",
            "model": {"provider": "openai", "name": "gpt-4o"},
            "tools": ["shell"],
            "permissions": {"shell": {"allow": ["cargo check", "cargo test *", "find *"]}},
            "steps": [
                {"id": "fix", "prompt": "x",
                 "permissions": {"shell": {"allow": ["git *", "cargo test --quiet"]}}}
            ]
        }))
        .unwrap();
        let notes = risky_patterns(&spec);
        assert_eq!(notes.len(), 3, "{notes:#?}");
        assert!(
            notes[0].starts_with(
                "`cargo test *` (permissions.shell.allow): `cargo test` with a wildcard argument lets the model run any program (`--config target."
            ),
            "{}",
            notes[0]
        );
        assert!(
            notes[1].contains("`find *` (permissions.shell.allow): `find` with a wildcard argument lets the model run any program (`-exec`"),
            "{}",
            notes[1]
        );
        assert!(notes[1].ends_with("; the sandbox confines it, the allowlist does not"));
        assert!(notes[2].starts_with("`git *` (steps.fix.permissions.shell.allow): `git`"));
    }
}
