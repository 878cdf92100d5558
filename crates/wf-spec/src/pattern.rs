//! The grammar of command lines and of `permissions.shell.allow` patterns.
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
//! globs). Quoted wildcards are literal: `'*'` matches a lone star. A final
//! lone `*` matches any number of further arguments, including none.
//!
//! The grammar is part of the task-file format (validation reports a bad
//! pattern at its line and column); matching and the argument rules are the
//! policy's (`wf::policy::shell`).

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

/// The program a shell command line (a check's `run:`) starts first: the
/// first word of its first simple command, after any `NAME=value`
/// assignments. `None` when that command is not a plain list of words
/// (a substitution, a group, a redirection first). Shell words are not
/// parsed beyond what [`split_command`] accepts; the rest of the line
/// (after `&&`, `|`, `;` …) is ignored.
pub fn first_program(line: &str) -> Option<String> {
    let end = line
        .find([';', '|', '&', '<', '>', '(', ')', '\n', '#'])
        .unwrap_or(line.len());
    let words = split_command(&line[..end]).ok()?;
    words.into_iter().find(|w| {
        !w.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    })
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
    use super::first_program;

    #[test]
    fn the_first_program_of_a_command_line() {
        let first = |line: &str| first_program(line);
        assert_eq!(first("pytest -q").as_deref(), Some("pytest"));
        assert_eq!(first("cargo build && cargo test").as_deref(), Some("cargo"));
        assert_eq!(first("RUST_LOG=1 X= cargo test").as_deref(), Some("cargo"));
        assert_eq!(first("'my tool' --x | tee out").as_deref(), Some("my tool"));
        assert_eq!(first("./run.sh").as_deref(), Some("./run.sh"));
        assert_eq!(first("$(which pytest)"), None);
        assert_eq!(first("(cd x && make)"), None);
        assert_eq!(first("  "), None);
    }
}
