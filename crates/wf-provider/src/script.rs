//! `provider: script`: a file of model turns, replayed in order. For trying
//! and testing workflows offline, and for wf's own tests.
//!
//! ```yaml
//! turns:
//!   - text: Reading the config.
//!     tool_calls:
//!       - { name: read_file, input: { path: config/app.ini } }
//!   - text: Done.
//! ```
//!
//! Each model request takes the next turn. A turn with tool calls answers
//! with `stop_reason: tool_use`, one without with `end_turn`. Tool-call ids
//! are `call_<request>_<index>`, so they are the same in every run. Running
//! out of turns is an error. Usage is unknown (a script has no tokens).

use super::{
    Block, ModelRequest, ModelResponse, Provider, ProviderError, ProviderObserver, StopReason,
    Usage,
};
use serde::Deserialize;
use std::path::Path;

/// A script of turns.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// The turns, in order.
    pub turns: Vec<Turn>,
}

/// One scripted model answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// Text the model says.
    #[serde(default)]
    pub text: Option<String>,
    /// Tool calls it makes.
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
}

/// A scripted tool call.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCall {
    /// Tool name.
    pub name: String,
    /// Input (any JSON value: scripts can test what wf does with bad input).
    #[serde(default)]
    pub input: serde_json::Value,
}

/// Plays a [`Script`].
#[derive(Debug, Clone)]
pub struct ScriptProvider {
    script: Script,
    next: usize,
}

impl ScriptProvider {
    /// Loads a script file.
    pub fn load(path: &Path) -> Result<ScriptProvider, String> {
        Ok(ScriptProvider::new(crate::spec::yaml::load_yaml(path)?))
    }

    /// Plays `script` from its first turn.
    pub fn new(script: Script) -> ScriptProvider {
        ScriptProvider { script, next: 0 }
    }

    /// Skips the first `n` turns (used when a run resumes).
    pub fn skip(&mut self, n: usize) {
        self.next = n;
    }
}

impl Provider for ScriptProvider {
    fn complete(
        &mut self,
        _request: &ModelRequest,
        _observer: &mut dyn ProviderObserver,
    ) -> Result<ModelResponse, ProviderError> {
        let Some(turn) = self.script.turns.get(self.next) else {
            return Err(ProviderError::new(format!(
                "the script has no turn {} (it has {})",
                self.next + 1,
                self.script.turns.len()
            )));
        };
        self.next += 1;
        let mut content = Vec::new();
        if let Some(text) = &turn.text {
            content.push(Block::Text { text: text.clone() });
        }
        for (i, call) in turn.tool_calls.iter().enumerate() {
            content.push(Block::ToolUse {
                id: format!("call_{}_{}", self.next, i + 1),
                name: call.name.clone(),
                input: call.input.clone(),
            });
        }
        let stop_reason = if turn.tool_calls.is_empty() {
            StopReason::EndTurn
        } else {
            StopReason::ToolUse
        };
        Ok(ModelResponse {
            content,
            stop_reason,
            usage: Usage::default(),
        })
    }
}
