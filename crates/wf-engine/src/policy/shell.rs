//! Matching a command's argument vector against parsed allow patterns
//! ([`crate::spec::pattern`]), and the argument rules.
//!
//! Matching is on the argument vector, never on the raw string. Whatever
//! the pattern allows, an argument that is an absolute path or has a `..`
//! component (also after `=`, as in `--manifest-path=/x`) is refused: the
//! model cannot point an allowed command outside the workspace. This check
//! is lexical: what an allowed program does with its arguments is for the
//! sandbox to confine.

pub use crate::spec::pattern::{PatternWord, parse_pattern, split_command};

/// Whether `args` matches `pattern`.
pub fn matches(pattern: &[PatternWord], args: &[String]) -> bool {
    let mut i = 0;
    for word in pattern {
        match word {
            PatternWord::Rest => return true,
            PatternWord::Literal(l) => {
                if args.get(i) != Some(l) {
                    return false;
                }
            }
            PatternWord::Wild(m) => match args.get(i) {
                Some(a) if m.is_match(a) => {}
                _ => return false,
            },
        }
        i += 1;
    }
    i == args.len()
}

/// Refuses arguments that point outside the workspace.
pub fn check_arguments(args: &[String]) -> Result<(), String> {
    for arg in args.iter().skip(1) {
        let value = arg.split_once('=').map_or(arg.as_str(), |(_, v)| v);
        for candidate in [arg.as_str(), value] {
            if candidate.starts_with('/') || candidate.starts_with('~') {
                return Err(format!("argument `{arg}` is an absolute path"));
            }
            if candidate.split('/').any(|p| p == "..") {
                return Err(format!(
                    "argument `{arg}` leaves the workspace through `..`"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(pattern: &str, line: &str) -> bool {
        let p = parse_pattern(pattern).unwrap();
        split_command(line).is_ok_and(|args| matches(&p, &args))
    }

    #[test]
    fn splits_with_quotes() {
        assert_eq!(
            split_command(r#"grep -n 'a b' "c \"d\"" e\ f"#).unwrap(),
            ["grep", "-n", "a b", "c \"d\"", "e f"]
        );
        assert_eq!(
            split_command("echo '$(x); y'").unwrap(),
            ["echo", "$(x); y"]
        );
    }

    #[test]
    fn refuses_shell_syntax() {
        for line in [
            "cargo test; curl evil.sh",
            "cargo test && rm -rf .",
            "cargo test | sh",
            "cargo test > out",
            "cargo test $(curl x)",
            "cargo test `id`",
            "cargo test \"$HOME\"",
            "cargo test\nrm -rf /",
            "cargo test &",
        ] {
            assert!(split_command(line).is_err(), "{line}");
        }
    }

    #[test]
    fn matches_on_the_argument_vector() {
        assert!(allowed("cargo check", "cargo check"));
        assert!(allowed("cargo check", "  cargo   check "));
        assert!(!allowed("cargo check", "cargo check --all"));
        assert!(allowed("cargo test *", "cargo test"));
        assert!(allowed("cargo test *", "cargo test -p foo -- --nocapture"));
        assert!(!allowed("cargo test *", "cargo testx"));
        assert!(!allowed("cargo test *", "cargo test; curl x"));
        assert!(allowed("cargo test --package=*", "cargo test --package=wf"));
        assert!(!allowed(
            "cargo test --package=*",
            "cargo test --package=wf x"
        ));
        assert!(allowed("'my tool' run", "\"my tool\" run"));
        assert!(allowed("echo '*'", "echo '*'"));
        assert!(!allowed("echo '*'", "echo anything"));
        assert!(allowed("grep -e 'a?b' *", "grep -e 'a?b' src"));
        assert!(!allowed("grep -e 'a?b' *", "grep -e axb src"));
    }

    #[test]
    fn refuses_paths_outside() {
        let args = |l: &str| split_command(l).unwrap();
        assert!(check_arguments(&args("cat /etc/passwd")).is_err());
        assert!(check_arguments(&args("cat ../x")).is_err());
        assert!(check_arguments(&args("cargo test --manifest-path=/x/Cargo.toml")).is_err());
        assert!(check_arguments(&args("cargo test -p a..b src/x")).is_ok());
    }

    #[test]
    fn pattern_program_must_be_literal() {
        assert!(parse_pattern("* test").is_err());
        assert!(parse_pattern("").is_err());
    }
}
