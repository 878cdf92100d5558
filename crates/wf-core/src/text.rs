//! Text from outside wf — file content, the model's words, tool output,
//! paths — made safe to print on a terminal.
//!
//! A terminal obeys control characters: an escape sequence can erase the
//! line before it (`ESC[2K`), a carriage return can overwrite it, and a
//! bidi override can show a line in another order than it is read. A model
//! that writes such characters into a file or its answer could show the
//! reviewer something other than what will be applied. Every view that
//! prints outside text passes it through [`escape_controls`] first, and adds
//! wf's own colour afterwards.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` is shown escaped: every C0 and C1 control character but
/// newline and tab, DEL, and the bidi embeddings, overrides and isolates
/// (U+202A–U+202E, U+2066–U+2069).
pub fn is_hidden_control(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

/// `text` with every control character [`is_hidden_control`] names shown
/// visibly: `\r`, `\x1b`, `\x7f`, `\u{202e}`…; newlines and tabs are kept.
/// Text without any is returned as it is (borrowed).
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// Like [`escape_controls`], with newlines and tabs escaped too: for a
/// value shown on one line (a path, a command, a status line), where a
/// newline could forge a line of wf's own output.
pub fn escape_line(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

/// Serialized JSON with every control character [`is_hidden_control`]
/// names written as a `\uXXXX` escape: the same JSON value, safe to print
/// on a terminal. (serde_json escapes C0 characters itself, but writes
/// DEL, C1 characters such as CSI U+009B and the bidi overrides as they
/// are; outside strings JSON has none of them.)
pub fn escape_json(json: &str) -> Cow<'_, str> {
    let Some(first) = json.find(is_hidden_control) else {
        return Cow::Borrowed(json);
    };
    let mut out = String::with_capacity(json.len() + 16);
    out.push_str(&json[..first]);
    for c in json[first..].chars() {
        if is_hidden_control(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A byte count for people: `64 MiB`, `1.5 KiB`, `10 bytes`.
pub fn bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    match n {
        n if n >= KIB * KIB && n % (KIB * KIB) == 0 => format!("{} MiB", n / (KIB * KIB)),
        n if n >= KIB * KIB => format!("{:.1} MiB", n as f64 / (KIB * KIB) as f64),
        n if n >= KIB && n % KIB == 0 => format!("{} KiB", n / KIB),
        n if n >= KIB => format!("{:.1} KiB", n as f64 / KIB as f64),
        n => format!("{n} bytes"),
    }
}

fn escape(text: &str, one_line: bool) -> Cow<'_, str> {
    let hidden = |c: char| is_hidden_control(c) || (one_line && matches!(c, '\n' | '\t'));
    let Some(first) = text.find(hidden) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        if !hidden(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_its_value_and_loses_its_raw_controls() {
        let value = serde_json::json!({"d": "a\x1b[2J\u{9b}31m\u{202e}b\u{7f}\n"});
        let text = serde_json::to_string(&value).unwrap();
        let escaped = escape_json(&text);
        assert!(!escaped.chars().any(is_hidden_control), "{escaped}");
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, value);
        assert!(matches!(escape_json("{\"a\":1}"), Cow::Borrowed(_)));
    }

    #[test]
    fn an_escape_sequence_that_would_erase_a_line_is_shown() {
        let shown = escape_controls("ok\x1b[2K\rrm -rf /");
        assert_eq!(shown, "ok\\x1b[2K\\rrm -rf /");
        assert!(!shown.contains('\x1b') && !shown.contains('\r'));
    }

    #[test]
    fn a_carriage_return_cannot_overwrite_a_line() {
        assert_eq!(escape_controls("+safe();\r+evil();"), "+safe();\\r+evil();");
    }

    #[test]
    fn bidi_overrides_and_isolates_are_shown() {
        let s = "if admin \u{202e} { } \u{2066}x\u{2069}";
        assert_eq!(
            escape_controls(s),
            "if admin \\u{202e} { } \\u{2066}x\\u{2069}"
        );
        for c in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{2067}', '\u{2068}',
        ] {
            assert!(escape_controls(&c.to_string()).starts_with("\\u{"), "{c:?}");
        }
    }

    #[test]
    fn every_other_control_is_shown() {
        assert_eq!(
            escape_controls("a\x08b\x07c\x7f\0"),
            "a\\x08b\\x07c\\x7f\\x00"
        );
        assert_eq!(escape_controls("\u{85}\u{9b}31m"), "\\x85\\x9b31m");
    }

    #[test]
    fn plain_text_is_unchanged_and_borrowed() {
        let text = "fn main() {\n\tprintln!(\"héllo → wörld\");\n}\n";
        assert!(matches!(escape_controls(text), Cow::Borrowed(t) if t == text));
        assert!(matches!(escape_line("src/a b.rs"), Cow::Borrowed(_)));
    }

    #[test]
    fn one_line_values_escape_newlines_and_tabs_too() {
        assert_eq!(
            escape_line("a.rs\nwf: applied\t\x1b"),
            "a.rs\\nwf: applied\\t\\x1b"
        );
        assert_eq!(escape_controls("a\n\tb"), "a\n\tb");
    }
}
