//! A divergence (replay, resume, two runs compared) shown to a person:
//! where the courses part, why (the hint), and each field that differs.

use crate::record::compare::Divergence;
use serde_json::Value;

/// Renders a divergence for a person.
pub fn render(d: &Divergence, what: &str) -> String {
    let kind = d
        .expected
        .as_ref()
        .or(d.actual.as_ref())
        .and_then(|v| v["kind"].as_str())
        .unwrap_or("event")
        .to_string();
    let mut out = format!("{what} diverged at event {} ({kind}): {}\n", d.seq, d.hint);
    match (&d.expected, &d.actual) {
        (Some(Value::Object(e)), Some(Value::Object(a))) => {
            let keys: std::collections::BTreeSet<&String> = e.keys().chain(a.keys()).collect();
            for k in keys {
                let (x, y) = (e.get(k), a.get(k));
                if x != y {
                    out.push_str(&format!(
                        "  {k}:\n    expected {}\n    actual   {}\n",
                        short(x),
                        short(y)
                    ));
                }
            }
        }
        (e, a) => {
            out.push_str(&format!(
                "  expected {}\n  actual   {}\n",
                short(e.as_ref()),
                short(a.as_ref())
            ));
        }
    }
    out
}

fn short(v: Option<&Value>) -> String {
    match v {
        None => "(nothing)".into(),
        Some(v) => {
            let text = v.to_string();
            if text.chars().count() > 200 {
                format!("{}…", text.chars().take(200).collect::<String>())
            } else {
                text
            }
        }
    }
}
