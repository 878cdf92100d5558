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
                    let (sx, sy) = around(x, y);
                    out.push_str(&format!("  {k}:\n    expected {sx}\n    actual   {sy}\n"));
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

/// Longest value shown whole.
const SHOWN: usize = 200;
/// Characters shown before the first difference of a long value.
const BEFORE: usize = 60;

/// Both values for people; long ones are shown around their first
/// difference (not cut before it), the same window on both sides.
fn around(x: Option<&Value>, y: Option<&Value>) -> (String, String) {
    let (Some(a), Some(b)) = (x, y) else {
        return (short(x), short(y));
    };
    let (a, b): (Vec<char>, Vec<char>) = (
        a.to_string().chars().collect(),
        b.to_string().chars().collect(),
    );
    if a.len() <= SHOWN && b.len() <= SHOWN {
        return (a.iter().collect(), b.iter().collect());
    }
    let first = a.iter().zip(&b).take_while(|(p, q)| p == q).count();
    let start = first.saturating_sub(BEFORE);
    let window = |s: &[char]| {
        let start = start.min(s.len());
        let end = (start + SHOWN).min(s.len());
        format!(
            "{}{}{}",
            if start > 0 { "…" } else { "" },
            s[start..end].iter().collect::<String>(),
            if end < s.len() { "…" } else { "" }
        )
    };
    (window(&a), window(&b))
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_long_value_is_shown_around_its_first_difference() {
        let long = "x".repeat(500);
        let d = Divergence {
            seq: 3,
            expected: Some(json!({"kind": "tool_result", "output": format!("{long}OLD tail")})),
            actual: Some(json!({"kind": "tool_result", "output": format!("{long}NEW tail")})),
            hint: "h".into(),
        };
        let text = render(&d, "replay");
        assert!(text.contains("OLD tail"), "{text}");
        assert!(text.contains("NEW tail"), "{text}");
        assert!(text.contains("…xxx"), "{text}");
    }
}
