//! A model's answers between the provider and the record.
//!
//! The record has wire types of its own for what a `model_response`
//! holds ([`crate::record::wire`]: blocks, stop reason, usage), so that a
//! change to a provider's types cannot change the recorded format; the
//! engine, which connects providers and the record, converts with
//! [`to_record`] when it records an answer and [`from_record`] when a
//! recorded answer is served again.
//!
//! The recorded provider answers model requests from a trace instead of a
//! model (replay; the catch-up of a resume), optionally going on with a
//! live provider once the recorded answers run out.

use crate::provider::{
    self, ModelRequest, ModelResponse, Provider, ProviderError, ProviderObserver,
};
use crate::record::event::{Event, Record};
use crate::record::wire;

/// An answer's content, stop reason and usage as the record keeps them.
pub fn to_record(response: &ModelResponse) -> (Vec<wire::Block>, wire::StopReason, wire::Usage) {
    (
        response.content.iter().map(block_to_record).collect(),
        stop_to_record(&response.stop_reason),
        usage_to_record(&response.usage),
    )
}

/// A recorded answer as a provider's, to serve again.
pub fn from_record(
    content: &[wire::Block],
    stop_reason: &wire::StopReason,
    usage: &wire::Usage,
) -> ModelResponse {
    ModelResponse {
        content: content.iter().map(block_from_record).collect(),
        stop_reason: match stop_reason {
            wire::StopReason::EndTurn => provider::StopReason::EndTurn,
            wire::StopReason::ToolUse => provider::StopReason::ToolUse,
            wire::StopReason::MaxTokens => provider::StopReason::MaxTokens,
            wire::StopReason::StopSequence => provider::StopReason::StopSequence,
            wire::StopReason::Refusal => provider::StopReason::Refusal,
            wire::StopReason::PauseTurn => provider::StopReason::PauseTurn,
            wire::StopReason::Other(s) => provider::StopReason::Other(s.clone()),
        },
        usage: provider::Usage {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cache_creation_input_tokens: usage.cache_creation_input_tokens,
            cache_read_input_tokens: usage.cache_read_input_tokens,
            estimated: usage.estimated,
        },
    }
}

/// A provider's block as the record keeps it.
pub fn block_to_record(block: &provider::Block) -> wire::Block {
    match block {
        provider::Block::Text { text } => wire::Block::Text { text: text.clone() },
        provider::Block::ToolUse { id, name, input } => wire::Block::ToolUse {
            id: id.clone(),
            name: name.clone(),
            input: input.clone(),
        },
        provider::Block::ToolResult {
            tool_use_id,
            content,
            is_error,
        } => wire::Block::ToolResult {
            tool_use_id: tool_use_id.clone(),
            content: content.clone(),
            is_error: *is_error,
        },
    }
}

fn block_from_record(block: &wire::Block) -> provider::Block {
    match block {
        wire::Block::Text { text } => provider::Block::Text { text: text.clone() },
        wire::Block::ToolUse { id, name, input } => provider::Block::ToolUse {
            id: id.clone(),
            name: name.clone(),
            input: input.clone(),
        },
        wire::Block::ToolResult {
            tool_use_id,
            content,
            is_error,
        } => provider::Block::ToolResult {
            tool_use_id: tool_use_id.clone(),
            content: content.clone(),
            is_error: *is_error,
        },
    }
}

/// A provider's stop reason as the record keeps it.
pub fn stop_to_record(reason: &provider::StopReason) -> wire::StopReason {
    match reason {
        provider::StopReason::EndTurn => wire::StopReason::EndTurn,
        provider::StopReason::ToolUse => wire::StopReason::ToolUse,
        provider::StopReason::MaxTokens => wire::StopReason::MaxTokens,
        provider::StopReason::StopSequence => wire::StopReason::StopSequence,
        provider::StopReason::Refusal => wire::StopReason::Refusal,
        provider::StopReason::PauseTurn => wire::StopReason::PauseTurn,
        provider::StopReason::Other(s) => wire::StopReason::Other(s.clone()),
    }
}

/// A provider's usage as the record keeps it.
pub fn usage_to_record(usage: &provider::Usage) -> wire::Usage {
    wire::Usage {
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        cache_creation_input_tokens: usage.cache_creation_input_tokens,
        cache_read_input_tokens: usage.cache_read_input_tokens,
        estimated: usage.estimated,
    }
}

/// Serves the recorded answers of a run, in order.
pub struct RecordedProvider {
    answers: Vec<Result<ModelResponse, ProviderError>>,
    next: usize,
}

impl RecordedProvider {
    /// The answers recorded in `records`.
    pub fn from_records(records: &[Record]) -> RecordedProvider {
        // Answers are recorded with long tool inputs left to the tool_call
        // events (`record::inputs`): they are served whole.
        let records = crate::record::inputs::restore(records);
        let answers = records
            .iter()
            .filter_map(|r| match &r.event {
                Event::ModelResponse {
                    content,
                    stop_reason,
                    usage,
                    ..
                } => Some(Ok(from_record(content, stop_reason, usage))),
                Event::ModelError {
                    message,
                    status,
                    request_id,
                    ..
                } => Some(Err(ProviderError {
                    message: message.clone(),
                    status: *status,
                    request_id: request_id.clone(),
                })),
                // The overload that made the run fall back: the engine sees
                // it again and falls back to the recorded model.
                Event::ModelFallback { reason, status, .. } => Some(Err(ProviderError {
                    message: reason.clone(),
                    status: *status,
                    request_id: None,
                })),
                _ => None,
            })
            .collect();
        RecordedProvider { answers, next: 0 }
    }
}

impl Provider for RecordedProvider {
    fn complete(
        &mut self,
        _request: &ModelRequest,
        _observer: &mut dyn ProviderObserver,
    ) -> Result<ModelResponse, ProviderError> {
        let answer = self.answers.get(self.next).cloned().unwrap_or_else(|| {
            Err(ProviderError::new(format!(
                "the recorded run has no answer for model request {}",
                self.next + 1
            )))
        });
        self.next += 1;
        answer
    }
}

/// Serves a run's recorded answers first, then asks `live`: a resumed run
/// never sends a request that was already answered.
pub struct ThenLive<'a> {
    recorded: RecordedProvider,
    live: &'a mut dyn Provider,
}

impl<'a> ThenLive<'a> {
    /// Recorded answers of `records`, then `live`.
    pub fn new(records: &[Record], live: &'a mut dyn Provider) -> ThenLive<'a> {
        ThenLive {
            recorded: RecordedProvider::from_records(records),
            live,
        }
    }

    /// How many answers are recorded.
    pub fn recorded(&self) -> usize {
        self.recorded.answers.len()
    }
}

impl Provider for ThenLive<'_> {
    fn complete(
        &mut self,
        request: &ModelRequest,
        observer: &mut dyn ProviderObserver,
    ) -> Result<ModelResponse, ProviderError> {
        if self.recorded.next < self.recorded.answers.len() {
            self.recorded.complete(request, observer)
        } else {
            self.live.complete(request, observer)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn every_kind() -> Vec<ModelResponse> {
        let stops = [
            provider::StopReason::EndTurn,
            provider::StopReason::ToolUse,
            provider::StopReason::MaxTokens,
            provider::StopReason::StopSequence,
            provider::StopReason::Refusal,
            provider::StopReason::PauseTurn,
            provider::StopReason::Other("model_context_window_exceeded".into()),
        ];
        stops
            .into_iter()
            .enumerate()
            .map(|(i, stop_reason)| ModelResponse {
                content: vec![
                    provider::Block::Text { text: "hi".into() },
                    provider::Block::ToolUse {
                        id: format!("t{i}"),
                        name: "read_file".into(),
                        input: json!({"path": "a.txt"}),
                    },
                    provider::Block::ToolResult {
                        tool_use_id: format!("t{i}"),
                        content: "no".into(),
                        is_error: true,
                    },
                ],
                stop_reason,
                usage: provider::Usage {
                    input_tokens: Some(10 + i as u64),
                    output_tokens: (i % 2 == 0).then_some(3),
                    cache_creation_input_tokens: 7,
                    cache_read_input_tokens: 5,
                    estimated: i % 2 == 1,
                },
            })
            .collect()
    }

    #[test]
    fn every_answer_comes_back_from_the_record_as_it_was() {
        for response in every_kind() {
            let (content, stop, usage) = to_record(&response);
            assert_eq!(from_record(&content, &stop, &usage), response);
        }
    }

    #[test]
    fn the_record_writes_answers_in_the_trace_format() {
        // The format of `model_response` (docs/runs.md), written out by
        // hand: it is the record's to keep, whatever the provider's types
        // become.
        let response = &every_kind()[6];
        let (content, stop, usage) = to_record(response);
        assert_eq!(
            serde_json::to_value(&content).unwrap(),
            json!([
                {"type": "text", "text": "hi"},
                {"type": "tool_use", "id": "t6", "name": "read_file", "input": {"path": "a.txt"}},
                {"type": "tool_result", "tool_use_id": "t6", "content": "no", "is_error": true},
            ])
        );
        assert_eq!(
            serde_json::to_value(&stop).unwrap(),
            json!({"other": "model_context_window_exceeded"})
        );
        assert_eq!(
            serde_json::to_value(&usage).unwrap(),
            json!({"input_tokens": 16, "output_tokens": 3,
                   "cache_creation_input_tokens": 7, "cache_read_input_tokens": 5})
        );
        let (_, stop, usage) = to_record(&every_kind()[1]);
        assert_eq!(serde_json::to_value(&stop).unwrap(), json!("tool_use"));
        assert_eq!(
            serde_json::to_value(&usage).unwrap()["estimated"],
            json!(true)
        );
        assert_eq!(
            serde_json::to_value(&usage).unwrap()["output_tokens"],
            json!(null)
        );
    }
}
