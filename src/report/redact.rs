//! Secrets kept out of reports. A report is a file people pass around (a CI
//! artifact, a job summary, an attachment), and what it shows came from
//! outside wf: a tool's output may hold an API key the model printed, a
//! check's output a token from its environment. [`Secrets::redact`] is the
//! one function that takes them out; the reports apply it to every string
//! of the records before they render anything (see [`super::run`]), so a
//! view that cuts text short cannot leave half a key behind.
//!
//! Two kinds of secret are recognised:
//! - the values of wf's own environment variables named like credentials
//!   (`*_API_KEY`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD`), at least
//!   [`MIN_SECRET_LEN`] bytes long;
//! - the shapes of common keys wherever they appear: `sk-…` (OpenAI,
//!   Anthropic), `ghp_…`/`gho_…`/`ghu_…`/`ghs_…`/`ghr_…` and `github_pat_…`
//!   (GitHub), `xox?-…` (Slack), `AKIA…` (AWS access key ids).

use regex::Regex;
use std::borrow::Cow;
use std::sync::OnceLock;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Environment values shorter than this are not taken for secrets: a
/// `DEBUG_TOKEN=1` would otherwise blank out every `1` of the report.
pub const MIN_SECRET_LEN: usize = 8;

/// Name endings of environment variables whose values are secrets.
const SECRET_NAMES: &[&str] = &["_API_KEY", "_TOKEN", "_SECRET", "_PASSWORD"];

/// The secrets a report must not show.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// Literal values, longest first (so a value that contains another is
    /// replaced whole).
    values: Vec<String>,
}

impl Secrets {
    /// No literal values: only the key shapes are redacted.
    pub fn none() -> Secrets {
        Secrets::default()
    }

    /// The secrets among environment variables `vars` (name, value): the
    /// values of the names that end like a credential's.
    pub fn from_vars<I, K, V>(vars: I) -> Secrets
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut values: Vec<String> = vars
            .into_iter()
            .filter(|(name, _)| {
                let name = name.as_ref().to_ascii_uppercase();
                SECRET_NAMES.iter().any(|end| name.ends_with(end))
            })
            .map(|(_, value)| value.as_ref().trim().to_string())
            .filter(|v| v.len() >= MIN_SECRET_LEN)
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Secrets { values }
    }

    /// `text` with every secret replaced by [`REDACTED`] (a key shape keeps
    /// its prefix: `sk-[redacted]`, so a reader sees what kind of key it
    /// was). Text without any is returned as it is (borrowed).
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for value in &self.values {
            if out.contains(value.as_str()) {
                out = Cow::Owned(out.replace(value.as_str(), REDACTED));
            }
        }
        let shapes = shapes();
        if !shapes.is_match(&out) {
            return out;
        }
        let replaced = shapes.replace_all(&out, |caps: &regex::Captures| {
            let whole = &caps[0];
            let prefix = &caps["prefix"];
            if looks_random(&whole[prefix.len()..]) {
                format!("{prefix}{REDACTED}")
            } else {
                whole.to_string()
            }
        });
        match replaced {
            Cow::Borrowed(_) => out,
            Cow::Owned(s) => Cow::Owned(s),
        }
    }

    /// Every string of `value` (object keys included) redacted in place.
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(s) => {
                if let Cow::Owned(r) = self.redact(s) {
                    *s = r;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (k, mut v) in entries {
                    self.redact_json(&mut v);
                    map.insert(self.redact(&k).into_owned(), v);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// The key shapes, each with its prefix captured.
fn shapes() -> &'static Regex {
    static SHAPES: OnceLock<Regex> = OnceLock::new();
    SHAPES.get_or_init(|| {
        Regex::new(
            r"\b(?:(?P<prefix>sk-|gh[pousr]_|github_pat_|xox[abprs]-|AKIA)[A-Za-z0-9_\-]{16,})",
        )
        .expect("the key shapes compile")
    })
}

/// Whether the tail of a key-shaped word looks generated rather than like
/// words (`sk-learn-is-a-library-for-ml` is not a key): it holds a digit
/// and at least one letter.
fn looks_random(tail: &str) -> bool {
    tail.bytes().any(|b| b.is_ascii_digit()) && tail.bytes().any(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Secrets {
        Secrets::from_vars([
            ("OPENAI_API_KEY", "not-a-shape-but-secret-1"),
            ("GITHUB_TOKEN", "tok&<en>\"value"),
            ("DEBUG_TOKEN", "1"),
            ("PATH", "/usr/bin:/bin"),
            ("db_password", "hunter22hunter22"),
        ])
    }

    #[test]
    fn values_of_credential_variables_are_redacted() {
        let s = env();
        let text = "key not-a-shape-but-secret-1, token tok&<en>\"value; pw hunter22hunter22";
        assert_eq!(
            s.redact(text),
            "key [redacted], token [redacted]; pw [redacted]"
        );
    }

    #[test]
    fn short_values_and_other_variables_are_kept() {
        let s = env();
        assert_eq!(
            s.redact("exit 1 in /usr/bin:/bin"),
            "exit 1 in /usr/bin:/bin"
        );
        assert!(matches!(s.redact("plain text"), Cow::Borrowed(_)));
    }

    #[test]
    fn key_shapes_are_redacted_with_their_prefix() {
        let s = Secrets::none();
        let text = "OPENAI=sk-proj-Ab3dEf5gH7iJ9kLmN0pQ and sk-ant-api03-xY1zW2vU3tS4rQ5pO6nM-AAA \
                    gh: ghp_0123456789abcdefABCDEF0123 pat github_pat_11ABCDEFG0123456789_abcdefXYZ \
                    aws AKIAIOSFODNN7EXAMPLE slack xoxb-123456789012-abcdefghijkl";
        let r = s.redact(text);
        assert_eq!(
            r,
            "OPENAI=sk-[redacted] and sk-[redacted] \
             gh: ghp_[redacted] pat github_pat_[redacted] \
             aws AKIA[redacted] slack xoxb-[redacted]"
        );
    }

    #[test]
    fn words_that_only_look_like_a_prefix_are_kept() {
        let s = Secrets::none();
        for text in [
            "disk-0123456789abcdef0123",        // no boundary before sk-
            "sk-learn-is-a-library-for-ml-use", // no digit: words
            "sk-short1",                        // too short
            "task-ghp_ and risk-ABC",
        ] {
            assert_eq!(s.redact(text), text, "{text}");
        }
    }

    #[test]
    fn a_longer_value_containing_a_shorter_one_goes_whole() {
        let s = Secrets::from_vars([("A_TOKEN", "abcdefgh"), ("B_TOKEN", "abcdefgh-and-more")]);
        assert_eq!(s.redact("x abcdefgh-and-more y"), "x [redacted] y");
    }

    #[test]
    fn json_strings_and_keys_are_redacted() {
        let s = env();
        let mut v = serde_json::json!({
            "command": "echo sk-abcdefghij0123456789",
            "not-a-shape-but-secret-1": [1, "hunter22hunter22", true, null],
        });
        s.redact_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({
                "command": "echo sk-[redacted]",
                "[redacted]": [1, "[redacted]", true, null],
            })
        );
    }
}
