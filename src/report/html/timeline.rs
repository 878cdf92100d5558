//! The timeline of a run's page: each entry of [`super::super::model`] in
//! the words of [`crate::report::describe`] (the same as `wf show` and the
//! Markdown report), its kind in a column; a tool call folds its input,
//! denial and output, a model answer its text, and a check result links to
//! its entry in the checks section.

use super::sections::check_anchor;
use super::{block, esc, seconds};
use crate::report::describe::Entry;
use crate::report::model::{Detail, Item};
use std::fmt::Write;

pub(super) fn timeline_section(o: &mut String, items: &[Item]) {
    o.push_str("<section id=\"timeline\"><h2>Timeline</h2>");
    for item in items {
        let _ = write!(
            o,
            "<div class=\"ev\"><span class=\"t mono\">{}</span>{}</div>",
            seconds(item.t_ms),
            body(item)
        );
    }
    o.push_str("</section>");
}

/// The first line of an entry: its kind in a column, then its text.
fn headline(e: &Entry) -> String {
    format!(
        "<span class=\"kind\">{}</span><span class=\"mono\">{}</span>",
        esc(e.kind),
        esc(&e.text)
    )
}

/// ` class="…"` for a class, nothing for none.
fn class_attr(classes: &str) -> String {
    let classes = classes.trim();
    if classes.is_empty() {
        String::new()
    } else {
        format!(" class=\"{classes}\"")
    }
}

fn body(item: &Item) -> String {
    let e = &item.entry;
    // The lines after the first (a check's output, an error of several
    // lines) as a block after the headline, never inside a link.
    let more = || e.more.as_deref().map(block).unwrap_or_default();
    match &item.detail {
        Detail::Call {
            input,
            output,
            denial,
        } => {
            let mut inner = String::from("<div class=\"label\">input</div>");
            match input {
                serde_json::Value::Object(map) => {
                    for (k, v) in map.iter() {
                        let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                        let _ = write!(
                            inner,
                            "<div class=\"mono muted\">{}:</div>{}",
                            esc(k),
                            block(&v)
                        );
                    }
                }
                other => inner.push_str(&block(&other.to_string())),
            }
            if let Some((rule, message)) = denial {
                let _ = write!(
                    inner,
                    "<p><b>Denied</b> by rule <code>{}</code>: {}</p>",
                    esc(rule),
                    esc(message)
                );
            }
            if let Some(output) = output {
                inner.push_str("<div class=\"label\">result</div>");
                inner.push_str(&block(output));
            }
            format!(
                "<details{}><summary>{}</summary>{inner}</details>",
                class_attr(&format!("call {}", e.tone.class())),
                headline(e)
            )
        }
        Detail::Answer { text, calls } => {
            let mut inner = String::new();
            if !text.trim().is_empty() {
                inner.push_str(&block(text));
            }
            if !calls.is_empty() {
                let _ = write!(
                    inner,
                    "<p class=\"muted\">calls: {}</p>",
                    calls
                        .iter()
                        .map(|c| format!("<code>{}</code>", esc(c)))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
            // The headline is the summary; the answer's text is in the block.
            format!(
                "<details class=\"model\"><summary>{}</summary>{inner}</details>",
                headline(e)
            )
        }
        Detail::None => match item.check {
            Some((round, name)) => format!(
                "<div{}><a href=\"#{}\">{}</a>{}</div>",
                class_attr(e.tone.class()),
                check_anchor(round, name),
                headline(e),
                more()
            ),
            None => format!(
                "<div{}>{}{}</div>",
                class_attr(e.tone.class()),
                headline(e),
                more()
            ),
        },
    }
}
