//! `wf show RUN` (a run's timeline) and `wf runs` (the list of runs). Both
//! read traces only, and show what came from outside wf (paths, the model's
//! words, tool output, reasons) with control characters escaped.

use super::describe::{self, View};
use super::text::{escape_controls, escape_line};
use crate::record::event::Record;
use crate::record::summary::Summary;
use std::fmt::Write;

/// The timeline of a run: what was read, what ran, what was denied, checks,
/// repairs, approvals, tokens and cost.
pub fn timeline(records: &[Record], summary: &Summary) -> String {
    let mut o = String::new();
    let version = summary
        .spec
        .version
        .as_deref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "run {}  {}{version}  ({})",
        summary.run_id, summary.spec.name, summary.spec.path
    );
    let _ = writeln!(
        o,
        "status: {}{}",
        summary.status,
        summary
            .reason
            .as_deref()
            .map(|r| format!(" — {r}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        o,
        "started: {}  model: {}  base: {}",
        summary.started_at,
        summary.model,
        summary
            .base_revision
            .as_deref()
            .map_or_else(|| "-".to_string(), crate::recipes::lock::short)
    );
    if !summary.inputs.is_empty() {
        let inputs: Vec<String> = summary
            .inputs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(o, "inputs: {}", inputs.join(" "));
    }
    let _ = writeln!(o);
    for r in records {
        let t = format!("{:>7.1}s", r.t_ms as f64 / 1000.0);
        let Some(text) = describe::event(&r.event, View::Timeline) else {
            continue;
        };
        let _ = writeln!(o, "{t}  {text}");
        if let crate::record::event::Event::CheckResult {
            passed: false,
            name,
            output_tail,
            ..
        } = &r.event
            && !output_tail.trim().is_empty()
        {
            let _ = writeln!(
                o,
                "{:22}({})",
                "",
                describe::check_pointer(&summary.run_id, name)
            );
        }
    }
    let t = &summary.totals;
    let _ = writeln!(o);
    let tokens = match (t.input_tokens, t.output_tokens) {
        (Some(i), Some(out)) => format!(
            "{i} input, {out} output, {} cache writes, {} cache reads",
            t.cache_creation_input_tokens, t.cache_read_input_tokens
        ),
        _ => "usage unknown".to_string(),
    };
    let cost = t.cost_usd.map_or("unknown".to_string(), |c| {
        let estimated = if t.cost_estimated {
            " (an upper-bound estimate: some answers came without usage)"
        } else {
            ""
        };
        format!("{}{estimated}", super::describe::usd(c))
    });
    let _ = writeln!(
        o,
        "turns {} · repairs {} · tool calls {} · denied {} · tokens: {tokens} · cost {cost}",
        t.turns, t.repairs, summary.tool_calls, summary.denials
    );
    if !summary.files_changed.is_empty() {
        let _ = writeln!(
            o,
            "changed: {}{}",
            summary.files_changed.join(", "),
            if summary.applied {
                " (applied)"
            } else {
                " (not applied)"
            }
        );
    }
    escape_controls(&o).into_owned()
}

/// One line per run for `wf runs`.
/// The header row over [`run_line`]s, in the same columns.
pub fn runs_header() -> String {
    format!(
        "{:<28} {:<14} {:<28} {:<8} {}",
        "RUN", "STATUS", "TASK", "CHANGED", "STARTED"
    )
}

pub fn run_line(summary: &Summary) -> String {
    let files = summary.files_changed.len();
    let line = format!(
        "{:<28} {:<14} {:<28} {:>2} file{} {}",
        summary.run_id,
        summary.status,
        format!(
            "{}{}",
            summary.spec.name,
            summary
                .spec
                .version
                .as_deref()
                .map(|v| format!("@{v}"))
                .unwrap_or_default()
        ),
        files,
        if files == 1 { " " } else { "s" },
        summary.started_at
    );
    escape_line(&line).into_owned()
}
