//! A small YAML writer for the files `wf emit` makes: block style, keys in
//! the order they were built (so output is stable and reads like a
//! hand-written workflow), and every string quoted unless it is plainly
//! safe. Strings from a repos file are untrusted: they are written as
//! double-quoted scalars with JSON escapes (JSON strings are YAML), so no
//! value can end its scalar, start a key, or smuggle in a line break.

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Y {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// `true` or `false`.
    Bool(bool),
    /// A sequence.
    Seq(Vec<Y>),
    /// A mapping, in this order.
    Map(Vec<(String, Y)>),
}

/// A string value.
pub fn s(text: impl Into<String>) -> Y {
    Y::Str(text.into())
}

/// A mapping from `(key, value)` pairs.
pub fn map<const N: usize>(pairs: [(&str, Y); N]) -> Y {
    Y::Map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// Renders one document (ending with a newline).
pub fn render(doc: &Y) -> String {
    let mut out = String::new();
    match doc {
        Y::Map(pairs) if !pairs.is_empty() => write_map(pairs, 0, &mut out),
        Y::Seq(items) if !items.is_empty() => write_seq(items, 0, &mut out),
        other => {
            out.push_str(&inline(other, 0));
            out.push('\n');
        }
    }
    out
}

fn write_map(pairs: &[(String, Y)], indent: usize, out: &mut String) {
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(&" ".repeat(indent));
        }
        write_pair(k, v, indent, out);
    }
}

/// `key: value`, the key already indented.
fn write_pair(key: &str, value: &Y, indent: usize, out: &mut String) {
    out.push_str(&key_text(key));
    out.push(':');
    match value {
        Y::Map(pairs) if !pairs.is_empty() => {
            out.push('\n');
            out.push_str(&" ".repeat(indent + 2));
            write_map(pairs, indent + 2, out);
        }
        Y::Seq(items) if !items.is_empty() => {
            out.push('\n');
            out.push_str(&" ".repeat(indent + 2));
            write_seq(items, indent + 2, out);
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other, indent + 2));
            out.push('\n');
        }
    }
}

fn write_seq(items: &[Y], indent: usize, out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("- ");
        match item {
            Y::Map(pairs) if !pairs.is_empty() => write_map(pairs, indent + 2, out),
            Y::Seq(inner) if !inner.is_empty() => write_seq(inner, indent + 2, out),
            other => {
                out.push_str(&inline(other, indent + 2));
                out.push('\n');
            }
        }
    }
}

/// A scalar, an empty collection, or a block literal indented by `indent`.
fn inline(value: &Y, indent: usize) -> String {
    match value {
        Y::Str(text) => string(text, indent),
        Y::Int(n) => n.to_string(),
        Y::Bool(b) => b.to_string(),
        Y::Seq(_) => "[]".into(),
        Y::Map(_) => "{}".into(),
    }
}

fn key_text(key: &str) -> String {
    if plain_safe(key) {
        key.to_string()
    } else {
        quoted(key)
    }
}

fn string(text: &str, indent: usize) -> String {
    if block_safe(text) {
        let pad = " ".repeat(indent);
        let mut out = String::from("|");
        for line in text.lines() {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&pad);
                out.push_str(line);
            }
        }
        return out;
    }
    if plain_safe(text) && !reserved(text) {
        return text.to_string();
    }
    quoted(text)
}

/// Text that reads the same as a plain scalar in YAML 1.1 and 1.2.
fn plain_safe(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '/')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
}

/// Plain words some YAML reader takes for something else than a string.
fn reserved(text: &str) -> bool {
    matches!(
        text.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "nan" | "inf"
    )
}

/// Multi-line text that a `|` block keeps byte for byte: one final line
/// break, no carriage returns or other control characters, no line
/// starting with a space where indentation would be guessed from it, no
/// trailing spaces.
fn block_safe(text: &str) -> bool {
    let Some(body) = text.strip_suffix('\n') else {
        return false;
    };
    body.contains('\n')
        && !body.ends_with('\n')
        && !body.starts_with([' ', '\n'])
        && !text.chars().any(|c| c.is_control() && c != '\n')
        && !text.chars().any(unusual_break)
        && body.lines().all(|l| !l.ends_with(' '))
}

/// Characters some YAML readers take for line breaks or a byte-order mark.
fn unusual_break(c: char) -> bool {
    matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// A double-quoted scalar with JSON escapes, plus the characters YAML 1.1
/// readers would fold.
fn quoted(text: &str) -> String {
    let json = serde_json::to_string(text).expect("strings serialize");
    json.chars()
        .map(|c| {
            if unusual_break(c) {
                format!("\\u{:04x}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_nested_blocks_and_quotes_what_needs_it() {
        let doc = map([
            ("on", map([("workflow_dispatch", Y::Map(vec![]))])),
            (
                "steps",
                Y::Seq(vec![
                    map([("name", s("a b")), ("run", s("echo 1\necho 2\n"))]),
                    map([("env", map([("X", s("\"; rm -rf / #\n"))]))]),
                ]),
            ),
            ("n", Y::Int(3)),
            ("t", s("true")),
            ("e", Y::Seq(vec![])),
        ]);
        assert_eq!(
            render(&doc),
            "on:\n  workflow_dispatch: {}\nsteps:\n  - name: \"a b\"\n    run: |\n      echo 1\n      echo 2\n  - env:\n      X: \"\\\"; rm -rf / #\\n\"\nn: 3\nt: \"true\"\ne: []\n"
        );
    }

    #[test]
    fn hostile_strings_round_trip_through_wfs_loader() {
        for text in [
            "a\u{2028}b",
            "x: y\n- z",
            "|\n  a",
            "'\"\\",
            " lead\n",
            "tab\tend \n",
            "${{ github.token }}",
            "\u{0}\u{1b}[31m",
        ] {
            let doc = map([("k", s(text))]);
            let node = crate::spec::yaml::parse(&render(&doc)).unwrap();
            assert_eq!(node.to_json()["k"], text, "{:?}", render(&doc));
        }
    }
}
