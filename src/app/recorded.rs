//! The recorded provider: answers model requests from a trace instead of
//! a model (replay; the catch-up of a resume), optionally going on with a
//! live provider once the recorded answers run out.

use crate::provider::{ModelRequest, ModelResponse, Provider, ProviderError, ProviderObserver};
use crate::record::event::{Event, Record};

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
                } => Some(Ok(ModelResponse {
                    content: content.clone(),
                    stop_reason: stop_reason.clone(),
                    usage: usage.clone(),
                })),
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
