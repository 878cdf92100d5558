//! The run fingerprint: one hash over the canonical spec, the inputs, the
//! context files' content hashes, the recipe pins, the sandbox, the MCP
//! tool listings and the `constraints_from` files' content hashes.

use crate::context::ContextFile;
use crate::recipes::Pin;
use serde_json::Value;
use std::collections::BTreeMap;

/// The run fingerprint.
pub fn fingerprint(
    spec_hash: &str,
    inputs: &BTreeMap<String, Value>,
    context: &[&ContextFile],
    recipes: &[Pin],
    sandbox: &crate::spec::Sandbox,
    mcp: &[[&str; 2]],
    instructions: &[[&str; 2]],
) -> String {
    // The JSON of an object with sorted keys, written from borrowed parts:
    // a context can hold 100,000 files, too many for a `Value` each.
    #[derive(serde::Serialize)]
    struct Canonical<'a> {
        context: Vec<[&'a str; 2]>,
        inputs: &'a BTreeMap<String, Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        instructions: Option<&'a [[&'a str; 2]]>,
        #[serde(skip_serializing_if = "Option::is_none")]
        mcp: Option<&'a [[&'a str; 2]]>,
        #[serde(skip_serializing_if = "Option::is_none")]
        recipes: Option<Vec<[&'a str; 3]>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        sandbox: Option<Value>,
        spec: &'a str,
    }
    let canonical = Canonical {
        context: context
            .iter()
            .map(|f| [f.path.as_str(), f.hash.as_str()])
            .collect(),
        inputs,
        // Each `constraints_from` file and the hash of its bytes; only when
        // there are some, so other plans keep their fingerprints.
        instructions: (!instructions.is_empty()).then_some(instructions),
        // Each MCP server's name and the hash of its allowlisted tools'
        // definitions; only when there are servers, as for recipes.
        mcp: (!mcp.is_empty()).then_some(mcp),
        // Added only when there are recipes, so plans without `uses:` keep
        // the fingerprint they always had.
        recipes: (!recipes.is_empty()).then(|| {
            recipes
                .iter()
                .map(|p| {
                    [
                        p.uses.as_str(),
                        p.commit.as_deref().unwrap_or(""),
                        p.sha256.as_str(),
                    ]
                })
                .collect()
        }),
        // Likewise only when not the default (`auto`, nothing extra): a plan
        // run unconfined, or with more granted, is another plan.
        sandbox: (!sandbox.is_default())
            .then(|| serde_json::to_value(sandbox).expect("sandbox serializes")),
        spec: spec_hash,
    };
    crate::hash::sha256_hex(&serde_json::to_vec(&canonical).expect("fingerprint serializes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprint as it was first written, through a `Value`: the
    /// borrowed form must give the same bytes, or every recorded plan's
    /// fingerprint would change.
    fn through_value(
        spec: &str,
        inputs: &BTreeMap<String, Value>,
        files: &[&ContextFile],
        recipes: &[Pin],
        sandbox: &crate::spec::Sandbox,
    ) -> String {
        let files: Vec<[&str; 2]> = files
            .iter()
            .map(|f| [f.path.as_str(), f.hash.as_str()])
            .collect();
        let mut canonical = serde_json::json!({ "spec": spec, "inputs": inputs, "context": files });
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
        if !sandbox.is_default() {
            canonical["sandbox"] = serde_json::to_value(sandbox).unwrap();
        }
        crate::hash::sha256_hex(&serde_json::to_vec(&canonical).unwrap())
    }

    #[test]
    fn same_bytes_as_through_a_value() {
        let file = |path: &str| ContextFile {
            path: path.into(),
            bytes: 3,
            tokens: 1,
            hash: crate::hash::sha256_hex(path.as_bytes()),
            real_path: path.into(),
            content: "abc".into(),
        };
        let (a, b) = (file("src/a.rs"), file("src/\"b\".rs"));
        let inputs: BTreeMap<String, Value> = [
            ("z".to_string(), serde_json::json!(1.5)),
            ("a".to_string(), serde_json::json!("x\ny")),
        ]
        .into();
        let pin = Pin {
            uses: "./r.yaml".into(),
            name: "r".into(),
            commit: Some("abc".into()),
            sha256: "00".into(),
        };
        let sandbox = crate::spec::Sandbox {
            network: crate::spec::Network::All,
            read: vec!["/opt".into()],
            ..Default::default()
        };
        for (recipes, sandbox) in [
            (vec![], crate::spec::Sandbox::default()),
            (vec![pin], sandbox),
        ] {
            let files = [&a, &b];
            assert_eq!(
                fingerprint("h", &inputs, &files, &recipes, &sandbox, &[], &[]),
                through_value("h", &inputs, &files, &recipes, &sandbox)
            );
        }
    }

    #[test]
    fn instruction_files_change_the_fingerprint_by_content() {
        let inputs = BTreeMap::new();
        let sandbox = crate::spec::Sandbox::default();
        let none = fingerprint("h", &inputs, &[], &[], &sandbox, &[], &[]);
        let one = fingerprint(
            "h",
            &inputs,
            &[],
            &[],
            &sandbox,
            &[],
            &[["AGENTS.md", "aa"]],
        );
        let edited = fingerprint(
            "h",
            &inputs,
            &[],
            &[],
            &sandbox,
            &[],
            &[["AGENTS.md", "bb"]],
        );
        assert_ne!(none, one);
        assert_ne!(one, edited);
        assert_eq!(none, through_value("h", &inputs, &[], &[], &sandbox));
    }
}
