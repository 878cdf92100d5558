//! The provider a run uses and how its answers are priced.
//!
//! Every problem here is a usage error (exit 2): nothing has run yet.
//!
//! Cost caps fail closed. A cost cap (`max_cost_usd`, of the run, a step or
//! a recipe step) needs a known price for every model the run uses (one
//! unpriced answer would make the run's spending unknown, and with it every
//! cap); otherwise wf refuses to start rather than run a cap it cannot
//! enforce. With a cap in force, an answer that comes without usage (as
//! some OpenAI-compatible servers send) is priced from an upper-bound
//! estimate ([`crate::provider::Usage::fill_estimate`]: request bytes / 4
//! in, `max_tokens` out), recorded as `estimated` in the trace. An unknown
//! price without a cap is only worth a note, once per model.

use crate::engine::Pricing;
use crate::error::Error;
use crate::plan::Plan;
use crate::provider::{
    ModelRequest, ModelResponse, Provider, ProviderError, ProviderObserver, cost, factory,
};
use crate::spec::{LoadedSpec, ProviderName};

/// A provider ready for a run.
pub struct Ready {
    /// The provider.
    pub provider: Box<dyn Provider>,
    /// How its answers are priced.
    pub pricing: Pricing,
    /// What the person running wf should know (unknown prices, unenforced
    /// caps).
    pub notes: Vec<String>,
}

/// The provider for `plan` (whose task file is `loaded`). `skip_turns`
/// scripted turns are skipped (a resume: those answers are in the trace).
pub fn for_plan(loaded: &LoadedSpec, plan: &Plan, skip_turns: usize) -> Result<Ready, Error> {
    let mut notes = Vec::new();
    if plan.model.provider == ProviderName::Script {
        let Some(script) = plan.model.script.as_deref() else {
            return Err(Error::Usage(
                "`provider: script` needs `model.script` in the task file".into(),
            ));
        };
        let mut provider =
            crate::provider::script::ScriptProvider::load(&loaded.dir().join(script))
                .map_err(Error::Usage)?;
        if crate::plan::models(plan).iter().any(|(_, capped)| *capped) {
            notes.push(
                "the script provider reports no usage, so `max_cost_usd` is not enforced".into(),
            );
        }
        provider.skip(skip_turns);
        return Ok(Ready {
            provider: Box::new(provider),
            pricing: Box::new(|_, _| None),
            notes,
        });
    }
    let models = crate::plan::models(plan);
    if models.is_empty() {
        // Only command steps: no model is asked, so no key or price is needed.
        return Ok(Ready {
            provider: Box::new(NoModel),
            pricing: Box::new(|_, _| None),
            notes,
        });
    }
    let name = plan.model.provider.as_str();
    let Some(model) = plan.model.name.clone() else {
        return Err(Error::Usage(format!(
            "`provider: {name}` needs a model: set `model.name` or pass --model"
        )));
    };
    let env = |v: &str| std::env::var(v).ok();
    let mut config =
        factory::config_from_env(name, &env).map_err(|e| Error::Usage(e.to_string()))?;
    if let Some(n) = plan.model.max_attempts {
        config.max_attempts = n;
    }
    let any_cap = models.iter().any(|(_, capped)| *capped);
    config.estimate_missing_usage = any_cap;
    let provider = factory::create(name, config).map_err(|e| Error::Usage(e.to_string()))?;
    let mut unknown = std::collections::BTreeSet::new();
    for (m, _) in &models {
        let name = m.name.clone().unwrap_or_else(|| model.clone());
        if m.price.or_else(|| cost::price_for(&name)).is_none() {
            if any_cap {
                return Err(Error::Usage(format!(
                    "limits.max_cost_usd cannot be enforced: no price known for `{name}`; set `model.price`"
                )));
            }
            unknown.insert(name);
        }
        // A fallback model is priced as itself, from wf's table (the
        // task's `model.price` is the first model's).
        for fallback in &m.fallback {
            if cost::price_for(fallback).is_none() {
                if any_cap {
                    return Err(Error::Usage(format!(
                        "limits.max_cost_usd cannot be enforced: no price known for the fallback model `{fallback}`; leave it out of `model.fallback`"
                    )));
                }
                unknown.insert(fallback.clone());
            }
        }
    }
    notes.extend(unknown.into_iter().map(|name| {
        format!(
            "price unknown for model `{name}`: cost is not tracked; set `model.price` in the task file to track it"
        )
    }));
    let pricing: Pricing = Box::new(move |m, usage| {
        let name = m.name.as_deref().unwrap_or(&model);
        m.price
            .or_else(|| cost::price_for(name))
            .and_then(|p| cost::cost(usage, &p))
    });
    Ok(Ready {
        provider,
        pricing,
        notes,
    })
}

/// The provider of a run with no agent step: it is never asked.
struct NoModel;

impl Provider for NoModel {
    fn complete(
        &mut self,
        _request: &ModelRequest,
        _observer: &mut dyn ProviderObserver,
    ) -> Result<ModelResponse, ProviderError> {
        Err(ProviderError::new(
            "this run has no agent step to ask a model for",
        ))
    }
}
