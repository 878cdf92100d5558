//! Tool-call input between the wire and [`Block::ToolUse`](super::Block):
//! vendors stream a call's input as JSON text in fragments; this module turns
//! the assembled text into the block's `input`, and a block's `input` back
//! into what may be sent to a vendor.
//!
//! The rules, shared by every provider:
//! * empty (or all-whitespace) text means no arguments: `{}`;
//! * text that is a JSON object becomes that object;
//! * anything else (invalid JSON, or JSON that is not an object) is kept
//!   verbatim as a JSON string, so the executor can answer with a tool error
//!   quoting what the model sent;
//! * when such a non-object input is sent back in a later request, `{}` is
//!   sent instead, because vendors reject tool calls whose input is not an
//!   object.

use serde_json::{Map, Value};

/// The `input` value for a tool call whose streamed JSON text was `raw`.
pub fn from_text(raw: &str) -> Value {
    if raw.trim().is_empty() {
        return Value::Object(Map::new());
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(value @ Value::Object(_)) => value,
        _ => Value::String(raw.to_string()),
    }
}

/// Whether `input` may be sent to a vendor as is (only objects may).
pub fn is_sendable(input: &Value) -> bool {
    input.is_object()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_means_no_arguments() {
        assert_eq!(from_text(""), json!({}));
        assert_eq!(from_text("  \n"), json!({}));
    }

    #[test]
    fn object_parsed() {
        assert_eq!(from_text("{\"a\": [1, 2]}"), json!({"a": [1, 2]}));
    }

    #[test]
    fn invalid_or_non_object_kept_as_string() {
        assert_eq!(from_text("{\"a\": "), json!("{\"a\": "));
        assert_eq!(from_text("[1]"), json!("[1]"));
        assert_eq!(from_text("42"), json!("42"));
        assert!(!is_sendable(&from_text("42")));
        assert!(is_sendable(&from_text("{}")));
    }
}
