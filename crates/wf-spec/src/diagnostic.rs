//! Errors that point into a task file, rendered like a compiler's:
//!
//! ```text
//! error: unknown tool `shel`
//!   --> workflows/fix.yaml:12:20
//!    |
//! 12 | tools: [read_file, shel]
//!    |                    ^^^^
//!    = help: did you mean `shell`?
//! ```

use crate::yaml::Span;
use std::fmt;

/// One problem at one place in a task file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// What is wrong, as a lowercase fragment.
    pub message: String,
    /// Where.
    pub span: Span,
    /// What to do about it, if wf can tell.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic without help.
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            span,
            help: None,
        }
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Every problem found in one task file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct FileDiagnostics {
    /// The file as the user named it.
    pub file: String,
    /// Its text (for the snippets).
    pub text: String,
    /// The problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for FileDiagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            render(f, &self.file, &self.text, d)?;
        }
        Ok(())
    }
}

/// `did you mean` for a near miss among `candidates`.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    nearest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// The candidate closest to `word`, if one is close enough to be a typo
/// of it (what [`suggest`] names).
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    if word.chars().count() < 3 {
        return None;
    }
    for c in candidates {
        let score = strsim::jaro_winkler(word, c);
        let close = strsim::damerau_levenshtein(word, c) <= (word.len().max(c.len()) / 3).max(1);
        if (score >= 0.85 || close) && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

fn render(f: &mut fmt::Formatter<'_>, file: &str, source: &str, d: &Diagnostic) -> fmt::Result {
    let line_no = d.span.start.line.max(1);
    let col = d.span.start.col.max(1);
    writeln!(f, "error: {}", d.message)?;
    let gutter = line_no.to_string().len();
    let pad = " ".repeat(gutter);
    writeln!(f, "{pad}--> {file}:{line_no}:{col}")?;
    if let Some(full) = source.lines().nth(line_no - 1) {
        let full = full.trim_end_matches('\r');
        // Very long lines are shown as a window around the column.
        let (text, col) = if full.chars().count() > 160 {
            let skip = col.saturating_sub(60);
            let window: String = full.chars().skip(skip).take(120).collect();
            (window, col - skip)
        } else {
            (full.to_string(), col)
        };
        let text = text.as_str();
        let width = if d.span.end.line == d.span.start.line && d.span.end.index > d.span.start.index
        {
            d.span.end.index - d.span.start.index
        } else {
            text.chars().count().saturating_sub(col - 1).max(1)
        };
        let width = width.clamp(1, text.chars().count().saturating_sub(col - 1).max(1));
        writeln!(f, "{pad} |")?;
        writeln!(f, "{line_no} | {text}")?;
        let lead: String = text
            .chars()
            .take(col - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        writeln!(f, "{pad} | {lead}{}", "^".repeat(width))?;
    }
    if let Some(help) = &d.help {
        writeln!(f, "{pad} = help: {help}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Pos;

    #[test]
    fn renders_a_caret_under_the_span() {
        let span = Span {
            start: Pos {
                line: 2,
                col: 8,
                index: 13,
            },
            end: Pos {
                line: 2,
                col: 12,
                index: 17,
            },
        };
        let out = FileDiagnostics {
            file: "t.yaml".into(),
            text: "wf: 1\ntools: [shel]\n".into(),
            diagnostics: vec![
                Diagnostic::new(span, "unknown tool `shel`").with_help("did you mean `shell`?"),
            ],
        }
        .to_string();
        assert_eq!(
            out,
            "error: unknown tool `shel`\n --> t.yaml:2:8\n  |\n2 | tools: [shel]\n  |        ^^^^\n  = help: did you mean `shell`?\n"
        );
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        let keys = ["constraints", "context", "checks"];
        assert_eq!(
            suggest("constraint", keys).as_deref(),
            Some("did you mean `constraints`?")
        );
        assert_eq!(suggest("banana", keys), None);
    }
}
