//! Limits: the run's, and those of the steps running (an agent step's and
//! the recipe steps around it), each counted from its step's start.

use super::*;
use crate::spec::StepLimits;

/// A step's limits while it runs.
pub(super) struct ActiveLimits {
    /// The step's id (with its recipe steps' ids).
    label: String,
    limits: StepLimits,
    turns_at_start: u32,
    spent_at_start: f64,
}

impl Executor<'_> {
    /// Puts a step's limits in force (turns and spending counted from now,
    /// its timeout narrowing the deadline) until [`Executor::leave_limits`]
    /// with what this returns.
    pub(super) fn enter_limits(&mut self, label: &str, limits: &StepLimits) -> Instant {
        let outer = self.deadline;
        if let Some(t) = limits.timeout {
            self.deadline = outer.min(Instant::now() + t.0);
        }
        self.step_limits.push(ActiveLimits {
            label: label.to_string(),
            limits: *limits,
            turns_at_start: self.spent.totals.turns,
            spent_at_start: self.spent.totals.cost_usd.unwrap_or(0.0),
        });
        outer
    }

    pub(super) fn leave_limits(&mut self, outer: Instant) {
        self.step_limits.pop();
        self.deadline = outer;
    }

    /// The run's or a step's time is up.
    pub(super) fn time_limit(&mut self) -> Result<Option<End>, EngineError> {
        if !self.left().is_zero() {
            return Ok(None);
        }
        let whose = match self
            .step_limits
            .iter()
            .rev()
            .find(|l| l.limits.timeout.is_some())
        {
            Some(l) if self.deadline < self.run_deadline => format!(
                "step `{}` ran out of its {} time limit",
                l.label,
                l.limits.timeout.map(|t| t.to_text()).unwrap_or_default()
            ),
            _ => "the run's time limit passed".to_string(),
        };
        self.limit("timeout", RunStatus::Timeout, &whose).map(Some)
    }

    /// A step in force has made its `max_turns` requests.
    pub(super) fn step_turn_limit(&mut self) -> Result<Option<End>, EngineError> {
        let turns = self.spent.totals.turns;
        let hit = self.step_limits.iter().find_map(|l| {
            let max = l.limits.max_turns?;
            (turns - l.turns_at_start >= max)
                .then(|| format!("{max} model requests made in step `{}`, its limit", l.label))
        });
        match hit {
            Some(message) => self
                .limit("max_turns", RunStatus::TurnLimit, &message)
                .map(Some),
            None => Ok(None),
        }
    }

    /// A step in force has spent more than its `max_cost_usd`.
    pub(super) fn step_cost_limit(&mut self) -> Result<Option<End>, EngineError> {
        let Some(cost) = self.spent.totals.cost_usd else {
            return Ok(None);
        };
        let hit = self.step_limits.iter().find_map(|l| {
            let max = l.limits.max_cost_usd?;
            let spent = cost - l.spent_at_start;
            (spent > max).then(|| {
                let (spent, max) = amounts(spent, max);
                format!("step `{}` spent {spent}, over its {max} limit", l.label)
            })
        });
        match hit {
            Some(message) => self
                .limit("max_cost_usd", RunStatus::CostLimit, &message)
                .map(Some),
            None => Ok(None),
        }
    }

    pub(super) fn limit(
        &mut self,
        limit: &str,
        status: RunStatus,
        message: &str,
    ) -> Result<End, EngineError> {
        self.emit(Event::LimitReached {
            limit: limit.into(),
            message: message.into(),
        })?;
        Ok((status, Some(format!("limit {limit}: {message}"))))
    }
}

/// Two amounts in USD with as many decimals as it takes to tell them apart
/// (and to show a spent amount as more than nothing): a cap of $0.00002
/// exceeded by $0.00003 is not "$0.0000, over the $0.0000 limit".
pub(super) fn amounts(spent: f64, max: f64) -> (String, String) {
    let (a, b) = (usd(spent), usd(max));
    // Told apart by their values, not their text (`$1.0000` is `$1.00`).
    let value = |s: &str| s.trim_start_matches('$').parse::<f64>().ok();
    if value(&a) != value(&b) {
        return (a, b);
    }
    for decimals in 3..=10 {
        let (a, b) = (format!("${spent:.decimals$}"), format!("${max:.decimals$}"));
        if a != b {
            return (a, b);
        }
    }
    (format!("${spent}"), format!("${max}"))
}

#[cfg(test)]
mod tests {
    use super::amounts;

    #[test]
    fn amounts_over_a_tiny_cap_are_told_apart() {
        assert_eq!(
            amounts(0.00003, 0.00002),
            ("$0.00003".to_string(), "$0.00002".to_string())
        );
        assert_eq!(
            amounts(2.5, 2.0),
            ("$2.50".to_string(), "$2.00".to_string())
        );
        assert_eq!(
            amounts(0.0123, 0.01),
            ("$0.0123".to_string(), "$0.01".to_string())
        );
        assert_eq!(
            amounts(1.00001, 1.0),
            ("$1.00001".to_string(), "$1.00000".to_string())
        );
        assert_eq!(
            amounts(0.0000015, 0.000001),
            ("$0.0000015".to_string(), "$0.000001".to_string())
        );
    }
}
