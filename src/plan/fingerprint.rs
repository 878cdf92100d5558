//! The run fingerprint: one hash over the canonical spec, the inputs, the
//! context files' content hashes, the recipe pins and the sandbox.

use crate::context::Context;
use crate::recipes::Pin;
use serde_json::Value;
use std::collections::BTreeMap;

/// The run fingerprint.
pub fn fingerprint(
    spec_hash: &str,
    inputs: &BTreeMap<String, Value>,
    context: &Context,
    recipes: &[Pin],
    sandbox: &crate::spec::Sandbox,
) -> String {
    let files: Vec<[&str; 2]> = context
        .files
        .iter()
        .map(|f| [f.path.as_str(), f.hash.as_str()])
        .collect();
    let mut canonical = serde_json::json!({
        "spec": spec_hash,
        "inputs": inputs,
        "context": files,
    });
    // Added only when there are recipes, so plans without `uses:` keep the
    // fingerprint they always had.
    if !recipes.is_empty() {
        let pins: Vec<[&str; 3]> = recipes
            .iter()
            .map(|p| {
                [
                    p.uses.as_str(),
                    p.commit.as_deref().unwrap_or(""),
                    p.sha256.as_str(),
                ]
            })
            .collect();
        canonical["recipes"] = serde_json::json!(pins);
    }
    // Likewise only when not the default (`auto`, nothing extra): a plan run
    // unconfined, or with more granted, is another plan.
    if !sandbox.is_default() {
        canonical["sandbox"] = serde_json::to_value(sandbox).expect("sandbox serializes");
    }
    crate::hash::sha256_hex(&serde_json::to_vec(&canonical).expect("fingerprint serializes"))
}
