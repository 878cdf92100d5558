//! Secrets kept out of what wf shows, sends and records.
//!
//! What wf prints, records and sends to the model came partly from
//! outside wf: a command's output may hold a token it read from a
//! credentials file, a gateway's error message may echo the API key.
//! [`Secrets::redact`] is the one function that takes secrets out of such
//! text. It is applied
//!
//! - by the run, to every command's output before the model or the trace
//!   sees it: the `shell` tool's results, checks (their tail, the repair
//!   message, `checks/NAME.ROUND.log`), command steps, MCP tools' results,
//!   and the model errors and retry reasons it records (see
//!   `crate::engine`). The workspace's own files (`read_file`, `search`, the
//!   context) reach the model as they are: they are the repository the user
//!   handed over, and a fixture holding a key-shaped string must survive an
//!   edit round trip;
//! - by the reports (`wf report`), to every string of the records before
//!   they render anything (see `wf::report::run`), so a view that cuts
//!   text short cannot leave half a key behind;
//! - by the HTTP providers, to their error messages, for the run's own API
//!   key ([`redact_key`]).
//!
//! Two kinds of secret are recognised:
//! - **known values**: the values of wf's own environment variables named
//!   like credentials (`*_API_KEY`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD`)
//!   and the provider's API key, at least [`MIN_SECRET_LEN`] bytes long.
//!   A value that looks like a key (it mixes letters and digits, or holds
//!   punctuation: `sk-…`, `hunter2hunter2`, `a1b2…`) is redacted wherever
//!   it appears. A value that is an ordinary word or number (only letters,
//!   or only digits: `exceeded`, `12345678`) is redacted only where a key
//!   can appear — after `Bearer `, as a header's value (`x-api-key:`,
//!   `Authorization:`), as the value of a `key`/`token`/`secret`/`password`
//!   setting (`api_key=…`, `"token": "…"`), in a URL's user info, or as the
//!   whole text: a gateway's "rate limit exceeded" stays readable when the
//!   key of a local server happens to be `exceeded`;
//! - **key shapes** wherever they appear, whoever issued them: `sk-…`
//!   (OpenAI, Anthropic), `sk_live_…`/`rk_live_…` (Stripe),
//!   `ghp_…`/`gho_…`/`ghu_…`/`ghs_…`/`ghr_…` and `github_pat_…` (GitHub),
//!   `glpat-…` (GitLab), `xox?-…` (Slack), `AKIA…`/`ASIA…` (AWS access key
//!   ids), `AIza…` (Google API keys), `hf_…` (Hugging Face), and the
//!   package registries' tokens: `cio…` (crates.io), `npm_…` (npm),
//!   `pypi-…` (PyPI), `rubygems_…` (RubyGems), `dckr_pat_…` (Docker Hub).
//!   A shape needs at least 16 characters after its prefix, a digit and a
//!   letter among them (`sk-learn-is-a-library` is not a key).

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
    /// Known values, longest first (so a value that contains another is
    /// replaced whole).
    values: Vec<Known>,
}

/// A known secret value and where it is redacted.
#[derive(Debug, Clone)]
struct Known {
    value: String,
    /// `Some` for an ordinary word or number: redacted only where a key
    /// can appear (the pattern of those places for this value).
    only_as_key: Option<Regex>,
}

impl Known {
    fn new(value: String) -> Known {
        let only_as_key = word_like(&value).then(|| key_places(&value));
        Known { value, only_as_key }
    }

    fn redact<'a>(&self, text: &'a str, with: &str) -> Cow<'a, str> {
        match &self.only_as_key {
            None if text.contains(self.value.as_str()) => {
                Cow::Owned(text.replace(self.value.as_str(), with))
            }
            None => Cow::Borrowed(text),
            Some(_) if text.trim() == self.value => {
                Cow::Owned(text.replacen(self.value.as_str(), with, 1))
            }
            Some(places) => replace_in_places(text, places, &self.value, with),
        }
    }
}

impl Secrets {
    /// No known values: only the key shapes are redacted.
    pub fn none() -> Secrets {
        Secrets::default()
    }

    /// The secrets among wf's own environment variables (see
    /// [`Secrets::from_vars`]).
    pub fn from_env() -> Secrets {
        Secrets::from_vars(std::env::vars())
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
        Secrets {
            values: values.into_iter().map(Known::new).collect(),
        }
    }

    /// `text` with every secret replaced by [`REDACTED`] (a key shape keeps
    /// its prefix: `sk-[redacted]`, so a reader sees what kind of key it
    /// was). Text without any is returned as it is (borrowed).
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for known in &self.values {
            if let Cow::Owned(r) = known.redact(&out, REDACTED) {
                out = Cow::Owned(r);
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

    /// `text` redacted, as an owned string.
    pub fn redact_owned(&self, text: String) -> String {
        match self.redact(&text) {
            Cow::Borrowed(_) => text,
            Cow::Owned(r) => r,
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

/// `text` with the known secret `key` replaced by `with`, by the rule of
/// the module documentation: everywhere when it looks like a key, only
/// where a key can appear when it is an ordinary word or number, never
/// when it is shorter than [`MIN_SECRET_LEN`] (the placeholder keys of
/// local servers: `x`, `none`).
pub fn redact_key<'a>(text: &'a str, key: &str, with: &str) -> Cow<'a, str> {
    if key.chars().count() < MIN_SECRET_LEN {
        return Cow::Borrowed(text);
    }
    Known::new(key.to_string()).redact(text, with)
}

/// Whether a secret is an ordinary word or number: only letters, or only
/// digits.
fn word_like(value: &str) -> bool {
    value.chars().all(char::is_alphabetic) || value.chars().all(|c| c.is_ascii_digit())
}

/// The places a key can appear, followed by `value` (case-sensitive) in
/// the group `key`: after `Bearer `, as a header's value, as the value of
/// a key, token, secret or password setting, in a URL's user info.
fn key_places(value: &str) -> Regex {
    let before = r#"(?i:bearer\s+|(?:x-api-key|api-key|authorization|x-auth-token)\s*:\s*|[a-z0-9_.-]*(?:key|token|secret|password|passwd)["']?\s*[:=]\s*["']?|://(?:[^\s/@:]*:)?)"#;
    Regex::new(&format!("{before}(?P<key>{})", regex::escape(value)))
        .expect("an escaped value compiles")
}

/// `text` with `value` replaced by `with` where `places` finds it, unless
/// a word character follows (`exceededly` is not the key `exceeded`).
fn replace_in_places<'a>(text: &'a str, places: &Regex, value: &str, with: &str) -> Cow<'a, str> {
    let mut out = String::new();
    let mut last = 0;
    for caps in places.captures_iter(text) {
        let key = caps.name("key").expect("the pattern has a key group");
        let next = text[key.end()..].chars().next();
        if next.is_some_and(|c| c.is_alphanumeric() || c == '_') || key.as_str() != value {
            continue;
        }
        out.push_str(&text[last..key.start()]);
        out.push_str(with);
        last = key.end();
    }
    if last == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// The key shapes, each with its prefix captured.
fn shapes() -> &'static Regex {
    static SHAPES: OnceLock<Regex> = OnceLock::new();
    SHAPES.get_or_init(|| {
        Regex::new(
            r"\b(?:(?P<prefix>sk-|[sr]k_live_|gh[pousr]_|github_pat_|glpat-|xox[abprs]-|AKIA|ASIA|AIza|hf_|cio|npm_|pypi-|rubygems_|dckr_pat_)[A-Za-z0-9_\-]{16,})",
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

    #[test]
    fn a_key_that_is_a_common_word_is_redacted_only_where_a_key_can_appear() {
        let s = Secrets::from_vars([("OPENAI_API_KEY", "exceeded")]);
        for kept in [
            "rate limit exceeded (gave up after 3 attempts)",
            "exceeded: quota exceeded, exceededly so",
            "Bearer exceededly",
        ] {
            assert_eq!(s.redact(kept), kept, "{kept}");
        }
        for (text, redacted) in [
            (
                "Authorization: Bearer exceeded",
                "Authorization: Bearer [redacted]",
            ),
            ("x-api-key: exceeded", "x-api-key: [redacted]"),
            (
                "GET /v1?api_key=exceeded&x=1",
                "GET /v1?api_key=[redacted]&x=1",
            ),
            (r#"{"token": "exceeded"}"#, r#"{"token": "[redacted]"}"#),
            (
                "https://user:exceeded@host/",
                "https://user:[redacted]@host/",
            ),
            ("  exceeded\n", "  [redacted]\n"),
        ] {
            assert_eq!(s.redact(text), redacted, "{text}");
        }
        // Numbers likewise; a value mixing letters and digits goes everywhere.
        let s = Secrets::from_vars([("A_TOKEN", "12345678"), ("B_TOKEN", "exceeded1")]);
        assert_eq!(s.redact("took 12345678 ms"), "took 12345678 ms");
        assert_eq!(s.redact("token=12345678"), "token=[redacted]");
        assert_eq!(s.redact("rate limit exceeded1x"), "rate limit [redacted]x");
    }

    #[test]
    fn redact_key_follows_the_same_rule_and_ignores_short_keys() {
        assert_eq!(
            redact_key("rate limit exceeded", "exceeded", "<r>"),
            "rate limit exceeded"
        );
        assert_eq!(redact_key("key: sk-12345!", "sk-12345", "<r>"), "key: <r>!");
        assert_eq!(
            redact_key("rate limit exceeded", "x", "<r>"),
            "rate limit exceeded"
        );
        assert_eq!(redact_key("bearer none", "none", "<r>"), "bearer none");
    }

    #[test]
    fn registry_tokens_are_redacted_with_their_prefix() {
        let s = Secrets::none();
        let cases = [
            (
                "token = \"cioAbCdEfGh0123456789AbCdEfGh0123\"",
                "token = \"cio[redacted]\"",
            ),
            (
                "//registry.npmjs.org/:_authToken=npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
                "//registry.npmjs.org/:_authToken=npm_[redacted]",
            ),
            (
                "password = pypi-AgEIcHlwaS5vcmcCJDAwMDAwMDAw",
                "password = pypi-[redacted]",
            ),
            ("glpat-a1B2c3D4e5F6g7H8i9J0", "glpat-[redacted]"),
            ("hf_a1B2c3D4e5F6g7H8i9J0k1L2", "hf_[redacted]"),
            ("AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "AIza[redacted]"),
            ("sk_live_a1B2c3D4e5F6g7H8i9J0", "sk_live_[redacted]"),
            ("dckr_pat_a1B2c3D4e5F6g7H8i9J0", "dckr_pat_[redacted]"),
            (
                "rubygems_0123456789abcdef0123456789abcdef",
                "rubygems_[redacted]",
            ),
            (
                "gho_0123456789abcdefABCDEF0123 ghs_0123456789abcdefABCDEF0123",
                "gho_[redacted] ghs_[redacted]",
            ),
        ];
        for (text, redacted) in cases {
            assert_eq!(s.redact(text), redacted, "{text}");
        }
        // Words that merely start like a prefix stay.
        for text in [
            "ciociaria-and-the-hills-around",
            "npm_install_everything_now",
            "associo0123456789abcdefgh",
        ] {
            assert_eq!(s.redact(text), text, "{text}");
        }
    }
}
