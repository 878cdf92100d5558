//! A run started by `wf batch` shares the batch's budget, its request
//! slots and its back-off with the batch's other runs (the mechanism:
//! [`crate::batch_share`]). Three touch points in a model turn:
//!
//! - before the request ([`Executor::batch_gate`]): a batch whose spending
//!   reached its cap ends the run with status `cost_limit` (limit
//!   `batch_max_cost_usd`), as a run's own `limits.max_cost_usd` would;
//!   otherwise the run waits out the shared back-off and for a free slot,
//!   held until the answer is in;
//! - while the provider retries ([`Watch`]): its wait becomes every run's;
//! - once the answer is accounted for ([`Executor::batch_spent`]): its cost
//!   is added to the batch's spending. Each run's trace keeps its own
//!   costs, as always; the batch's total is their sum.
//!
//! Outside a batch (no `WF_BATCH_DIR`) each of these does nothing.

use super::*;
use crate::batch_share::{Shared, Slot};
use crate::provider::ProviderObserver;

impl Executor<'_> {
    /// Before a model request: `Err(end)` when the batch's cap is reached;
    /// otherwise the request slot to hold until the answer is in (`None`
    /// outside a batch, or when interrupted while waiting).
    pub(super) fn batch_gate(&mut self) -> Result<Result<Option<Slot>, End>, EngineError> {
        // A replay shares nothing with a batch: it stops where the recorded
        // run was stopped by its batch's cap (after as many requests, with
        // the recorded message), so the replay reproduces it.
        if let Mode::Replay(setup) = &self.mode {
            let stop = recorded_batch_stop(&setup.records);
            if let Some((requests, message)) = stop
                && u64::from(self.spent.totals.turns) == requests
            {
                return self
                    .limit(BATCH_LIMIT, RunStatus::CostLimit, &message)
                    .map(Err);
            }
            return Ok(Ok(None));
        }
        let Some(shared) = Shared::from_env() else {
            return Ok(Ok(None));
        };
        let state = shared.read().map_err(shared_error)?;
        if let Some((spent, cap)) = state.over_cap() {
            return self
                .limit(
                    BATCH_LIMIT,
                    RunStatus::CostLimit,
                    &format!(
                        "the batch's runs spent {}, its cap (wf batch --max-cost-usd) is {}",
                        usd(spent),
                        usd(cap)
                    ),
                )
                .map(Err);
        }
        let slot = shared
            .slot(&crate::sys::signals::interrupted)
            .map_err(shared_error)?;
        Ok(Ok(slot))
    }

    /// After a model answer was accounted for: what it cost (the run's
    /// total now, less `before`) counts against the batch's cap.
    pub(super) fn batch_spent(&mut self, before: Option<f64>) -> Result<(), EngineError> {
        let Some(shared) = Shared::from_env() else {
            return Ok(());
        };
        let cost = self.spent.totals.cost_usd.unwrap_or(0.0) - before.unwrap_or(0.0);
        if cost > 0.0 {
            shared.spend(cost).map_err(shared_error)?;
        }
        Ok(())
    }
}

/// The limit a batch's cap reaches, as recorded.
const BATCH_LIMIT: &str = "batch_max_cost_usd";

/// Where a recorded run was stopped by its batch's cap: the model requests
/// it had sent, and the recorded message.
fn recorded_batch_stop(records: &[Record]) -> Option<(u64, String)> {
    let mut requests = 0;
    for record in records {
        match &record.event {
            Event::ModelRequest { .. } => requests += 1,
            Event::LimitReached { limit, message } if limit == BATCH_LIMIT => {
                return Some((requests, message.clone()));
            }
            _ => {}
        }
    }
    None
}

fn shared_error(e: std::io::Error) -> EngineError {
    EngineError::io(format!(
        "the batch's shared state ({})",
        crate::batch_share::ENV
    ))(e)
}

/// The provider observer of a run in a batch: a retry's wait (a 429, an
/// overloaded or failing server) is shared with every run of the batch.
pub(super) struct Watch<'o> {
    inner: &'o mut dyn ProviderObserver,
    shared: Option<Shared>,
}

impl<'o> Watch<'o> {
    pub(super) fn new(inner: &'o mut dyn ProviderObserver) -> Watch<'o> {
        Watch {
            inner,
            shared: Shared::from_env(),
        }
    }
}

impl ProviderObserver for Watch<'_> {
    fn retry(&mut self, attempt: u32, reason: &str, wait: Duration) {
        if let Some(shared) = &self.shared {
            // A failure to share the wait only makes the others ask sooner.
            let _ = shared.back_off(wait);
        }
        self.inner.retry(attempt, reason, wait);
    }
    fn text_delta(&mut self, text: &str) {
        self.inner.text_delta(text);
    }
    fn cache_hit(&mut self) {
        self.inner.cache_hit();
    }
    fn time_left(&self) -> Option<Duration> {
        self.inner.time_left()
    }
}
