//! Creating an HTTP provider from the `provider:` name of a task file and
//! the environment.
//!
//! The executor calls [`config_from_env`] with the provider name, adjusts
//! the returned [`HttpConfig`] (timeouts, attempts) if the task file says
//! so, and passes it to [`create`]. The model name is not needed here: it
//! travels in every [`ModelRequest`](super::ModelRequest).

use super::Provider;
use super::anthropic::{self, AnthropicProvider};
use super::http::{ConfigError, HttpConfig};
use super::openai::{self, OpenAiProvider};

/// The provider names this module knows.
pub const NAMES: &[&str] = &["anthropic", "openai"];

fn unknown(name: &str) -> ConfigError {
    ConfigError::UnknownProvider {
        name: name.to_string(),
        known: NAMES.join(", "),
    }
}

/// The configuration of provider `name` from the environment, read through
/// `lookup` (pass `&|v| std::env::var(v).ok()` for the real environment).
/// Fails when a required variable is unset, naming it.
pub fn config_from_env(
    name: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<HttpConfig, ConfigError> {
    match name {
        "anthropic" => anthropic::config_from_env(lookup),
        "openai" => openai::config_from_env(lookup),
        _ => Err(unknown(name)),
    }
}

/// Provider `name` with `config`.
pub fn create(name: &str, config: HttpConfig) -> Result<Box<dyn Provider + Send>, ConfigError> {
    match name {
        "anthropic" => Ok(Box::new(AnthropicProvider::new(config)?)),
        "openai" => Ok(Box::new(OpenAiProvider::new(config)?)),
        _ => Err(unknown(name)),
    }
}

/// Provider `name` configured from the environment read through `lookup`,
/// with the default timeouts and retry policy.
pub fn from_env(
    name: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Provider + Send>, ConfigError> {
    create(name, config_from_env(name, lookup)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_anthropic_key_names_the_variable() {
        let e = from_env("anthropic", &|_| None).err().unwrap();
        assert!(e.to_string().contains("ANTHROPIC_API_KEY"), "{e}");
    }

    #[test]
    fn openai_needs_a_key_only_at_its_own_api() {
        let e = config_from_env("openai", &|_| None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "openai api key is not set and https://api.openai.com/v1 needs one: set the OPENAI_API_KEY environment variable, or OPENAI_BASE_URL to a server that needs no key"
        );
        let explicit =
            |v: &str| (v == "OPENAI_BASE_URL").then(|| "https://API.openai.com/v1/".into());
        assert!(config_from_env("openai", &explicit).is_err());
        let local = |v: &str| (v == "OPENAI_BASE_URL").then(|| "http://127.0.0.1:8080/v1".into());
        let c = config_from_env("openai", &local).unwrap();
        assert!(c.api_key.is_none());
        assert!(create("openai", c).is_ok());
        let default = HttpConfig::new(crate::openai::DEFAULT_BASE_URL, None);
        assert!(
            create("openai", default).is_err(),
            "checked at creation too"
        );
    }

    #[test]
    fn base_urls_from_env() {
        let env = |v: &str| match v {
            "ANTHROPIC_API_KEY" => Some("k".to_string()),
            "ANTHROPIC_BASE_URL" => Some("http://127.0.0.1:9/".to_string()),
            "OPENAI_BASE_URL" => Some("http://localhost:8080/v1".to_string()),
            _ => None,
        };
        assert_eq!(
            config_from_env("anthropic", &env).unwrap().base_url,
            "http://127.0.0.1:9"
        );
        assert_eq!(
            config_from_env("openai", &env).unwrap().base_url,
            "http://localhost:8080/v1"
        );
        let default = config_from_env("anthropic", &|v| {
            (v == "ANTHROPIC_API_KEY").then(|| "k".into())
        });
        assert_eq!(default.unwrap().base_url, "https://api.anthropic.com");
    }

    #[test]
    fn unknown_provider_lists_known_ones() {
        let e = config_from_env("gemini", &|_| None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown provider \"gemini\": known providers are anthropic, openai"
        );
    }
}
