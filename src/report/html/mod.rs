//! `wf report --html`: one self-contained HTML file per run, and an index
//! page for a folder of runs.
//!
//! The page needs nothing but itself: inline CSS, inline SVG for the chart,
//! `<details>` for what folds, and no script at all; its Content Security
//! Policy (`default-src 'none'`) forbids scripts and every network load, so
//! even a mistake in escaping could neither run code nor call out.
//!
//! Everything from outside wf (the model's words, tool inputs and output,
//! check output, paths, the patch) is untrusted: it is redacted first
//! ([`RunReport::redacted`]), its control characters are shown escaped
//! ([`escape_controls`]), and it is HTML-escaped ([`esc`]) before it goes
//! into the page.

mod sections;
mod timeline;

use super::run::{IndexEntry, Redacted, RunReport};
use super::text::escape_controls;
use crate::record::summary::Summary;
use crate::secrets::Secrets;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Bytes of one tool output, check output or model answer shown before
/// the rest is left out (with a note saying how much).
pub const MAX_BLOCK_BYTES: usize = 64 * 1024;

/// Lines of the patch shown; the rest is in `diff.patch`.
pub const MAX_DIFF_LINES: usize = 20_000;

/// `text` made safe inside HTML text and attribute values: control
/// characters shown escaped, then `& < > " '` as entities.
pub fn esc(text: &str) -> String {
    let text = escape_controls(text);
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A path for an `href`: every byte but unreserved ones and `/` as `%XX`.
pub fn href(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

const STYLE: &str = r#"
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg2:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--info:#0969da}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);margin:0 auto;max-width:1100px;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:17px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}h3{font-size:14px;margin:16px 0 6px}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{background:var(--bg2);border:1px solid var(--line);border-radius:6px;padding:8px 10px;margin:4px 0;overflow-x:auto;white-space:pre-wrap;word-break:break-word}
table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}th{background:var(--bg2)}
td.num{text-align:right;font-variant-numeric:tabular-nums}
nav a{margin-right:12px}a{color:var(--info)}
.muted{color:var(--muted)}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px;color:#fff;background:var(--muted)}
.badge.ok{background:var(--ok)}.badge.bad{background:var(--bad)}.badge.warn{background:var(--warn)}.badge.info{background:var(--info)}
.verify{padding:8px 12px;border-radius:6px;margin:8px 0;border:1px solid}
.verify.ok{border-color:var(--ok);background:#dafbe1}.verify.bad{border-color:var(--bad);background:#ffebe9}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:10px 0}.card{border:1px solid var(--line);border-radius:6px;padding:6px 12px;min-width:110px}.card b{display:block;font-size:17px}
.ev{display:grid;grid-template-columns:64px 1fr;gap:8px;padding:2px 0;border-bottom:1px solid #eef1f4}
.ev>.t{color:var(--muted);text-align:right;font-variant-numeric:tabular-nums}
.ev details>summary{cursor:pointer}
.kind{display:inline-block;min-width:92px;margin-right:6px;font-weight:600;color:var(--muted)}
.denied{background:#ffebe9;border-left:4px solid var(--bad);padding-left:6px}
.denied .kind,.fail .kind{color:var(--bad)}
.error .kind{color:var(--warn)}
.pass .kind{color:var(--ok)}
.repair{background:#fff8c5;border-left:4px solid var(--warn);padding-left:6px}
.checkpoint{background:#ddf4ff;border-left:4px solid var(--info);padding-left:6px}
.label{font-size:11px;color:var(--muted);margin-top:6px;text-transform:uppercase;letter-spacing:.04em}
.diff{padding:0;white-space:pre;overflow-x:auto}.diff span{display:block;padding:0 10px}
.diff .add{background:#e6ffec}.diff .del{background:#ffebe9}.diff .hunk{background:#ddf4ff;color:#0550ae}.diff .meta{font-weight:600;color:var(--muted)}
.chart{border:1px solid var(--line);border-radius:6px;background:#fff;margin:4px 0}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;vertical-align:middle}
"#;

/// The page of one run.
pub fn run(report: &RunReport, secrets: &Secrets) -> String {
    let r = report.redacted(secrets);
    let m = super::model::build(&r.records);
    let s = &r.summary;
    let mut o = String::new();
    let title = format!("wf run {} — {}", r.id, s.spec.name);
    head(&mut o, &title);
    let _ = write!(
        o,
        "<header><h1>{} <span class=\"badge {}\" id=\"status\">{}</span></h1>",
        esc(&title),
        status_class(&s.status),
        esc(&s.status)
    );
    if let Some(reason) = &s.reason {
        let _ = write!(o, "<p id=\"reason\">{}</p>", esc(reason));
    }
    let _ = write!(
        o,
        "<p class=\"muted\">task <code>{}</code>{} from <code>{}</code> · model <code>{}</code> · started {} · base {}</p></header>",
        esc(&s.spec.name),
        s.spec
            .version
            .as_deref()
            .map(|v| format!(" {}", esc(v)))
            .unwrap_or_default(),
        esc(&s.spec.path),
        esc(&s.model),
        esc(&s.started_at),
        esc(&s
            .base_revision
            .as_deref()
            .map_or_else(|| "-".to_string(), crate::recipes::lock::short)),
    );
    o.push_str(
        "<nav><a href=\"#summary\">Summary</a><a href=\"#sandbox\">Sandbox and permissions</a>\
         <a href=\"#usage\">Tokens and cost</a><a href=\"#checks\">Checks</a>\
         <a href=\"#checkpoints\">Checkpoints</a><a href=\"#timeline\">Timeline</a>\
         <a href=\"#diff\">Diff</a></nav>",
    );
    verification(&mut o, &r);
    summary_section(&mut o, s);
    sections::sandbox_section(&mut o, &r, &m);
    sections::usage_section(&mut o, &m.turns);
    sections::checks_section(&mut o, &m.checks);
    sections::checkpoints_section(&mut o, &m.checkpoints);
    timeline::timeline_section(&mut o, &m.timeline);
    sections::diff_section(&mut o, &r);
    foot(&mut o, m.wf_version);
    o
}

/// The index page of a folder of runs: each run with its status, cost and
/// changed files, linking to its own report.
pub fn index(title: &str, entries: &[IndexEntry], secrets: &Secrets) -> String {
    let red = |t: &str| esc(&secrets.redact(t));
    let mut o = String::new();
    head(&mut o, title);
    let _ = write!(o, "<header><h1>{}</h1>", red(title));
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for e in entries {
        *by_status.entry(e.summary.status.as_str()).or_default() += 1;
    }
    let statuses: Vec<String> = by_status
        .iter()
        .map(|(status, n)| {
            format!(
                "<span class=\"badge {}\">{} {}</span>",
                status_class(status),
                n,
                red(status)
            )
        })
        .collect();
    let _ = write!(
        o,
        "<p id=\"totals\">{} · {} · total cost {}</p></header>",
        plural(entries.len(), "run"),
        statuses.join(" "),
        super::run::total_cost(entries)
    );
    o.push_str(
        "<table id=\"runs\"><thead><tr><th>run</th><th>task</th><th>status</th><th>started</th>\
         <th>turns</th><th>cost</th><th>changed files</th></tr></thead><tbody>",
    );
    for e in entries {
        let s = &e.summary;
        let files = &s.files_changed;
        let files_cell = if files.is_empty() {
            "0".to_string()
        } else {
            format!(
                "<details><summary>{}{}</summary>{}</details>",
                files.len(),
                if s.applied { " (applied)" } else { "" },
                files
                    .iter()
                    .map(|f| format!("<code>{}</code>", red(f)))
                    .collect::<Vec<_>>()
                    .join("<br>")
            )
        };
        let problem = e
            .problem
            .as_deref()
            .map(|p| {
                format!(
                    "<br><span class=\"badge bad\">trace invalid</span> {}",
                    red(p)
                )
            })
            .unwrap_or_default();
        let _ = write!(
            o,
            "<tr class=\"run\"><td class=\"mono\"><a href=\"{}\">{}</a></td><td>{}{}</td>\
             <td><span class=\"badge {}\">{}</span>{problem}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{files_cell}</td></tr>",
            esc(&e.link),
            red(&e.id),
            red(&s.spec.name),
            s.spec
                .version
                .as_deref()
                .map(|v| format!(" {}", red(v)))
                .unwrap_or_default(),
            status_class(&s.status),
            red(&s.status),
            red(&s.started_at),
            s.totals.turns,
            s.totals
                .cost_usd
                .map_or("unknown".to_string(), crate::report::describe::usd),
        );
    }
    o.push_str("</tbody></table>");
    if entries.is_empty() {
        o.push_str("<p>No runs in this folder.</p>");
    }
    let _ = writeln!(
        o,
        "<footer class=\"muted\"><p>written by wf {}</p></footer></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    o
}

fn head(o: &mut String, title: &str) {
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(title)
    );
}

fn foot(o: &mut String, version: Option<&str>) {
    let _ = writeln!(
        o,
        "<footer class=\"muted\"><p>run recorded by wf {} · report written by wf {} · \
         secrets in the environment and key-shaped strings are shown as [redacted]</p></footer></body></html>",
        esc(version.unwrap_or("?")),
        env!("CARGO_PKG_VERSION")
    );
}

/// The CSS class of a status badge.
fn status_class(status: &str) -> &'static str {
    match status {
        "succeeded" => "ok",
        "dry_run" | "running" => "info",
        "paused" | "interrupted" => "warn",
        _ => "bad",
    }
}

pub(super) fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// `text` cut to [`MAX_BLOCK_BYTES`] (at a character boundary), escaped,
/// with a note of what was left out.
pub(super) fn block(text: &str) -> String {
    if text.len() <= MAX_BLOCK_BYTES {
        return format!("<pre>{}</pre>", esc(text));
    }
    let mut cut = MAX_BLOCK_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "<pre>{}</pre><p class=\"muted\">[… {} more bytes not shown]</p>",
        esc(&text[..cut]),
        text.len() - cut
    )
}

pub(super) fn seconds(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

fn verification(o: &mut String, r: &Redacted) {
    let events = r.records.len();
    match &r.verified {
        Ok(()) => {
            let _ = write!(
                o,
                "<div class=\"verify ok\" id=\"verify\">✔ The trace verifies: {}, hash chain intact{}.</div>",
                plural(events, "event"),
                if r.torn_tail {
                    " (its last line was cut short by a crash)"
                } else {
                    ""
                }
            );
        }
        Err(why) => {
            let _ = write!(
                o,
                "<div class=\"verify bad\" id=\"verify\">✘ The trace FAILS verification: {}. \
                 What this report shows may have been edited.</div>",
                esc(why)
            );
        }
    }
    if r.dropped > 0 {
        let _ = write!(
            o,
            "<p class=\"muted\">{} left out: redacting secrets made them unreadable.</p>",
            plural(r.dropped, "event")
        );
    }
}

fn summary_section(o: &mut String, s: &Summary) {
    let t = &s.totals;
    let tokens = match (t.input_tokens, t.output_tokens) {
        (Some(i), Some(out)) => format!("{i} in / {out} out"),
        _ => "unknown".to_string(),
    };
    let cost = t.cost_usd.map_or("unknown".to_string(), |c| {
        format!(
            "{}{}",
            crate::report::describe::usd(c),
            if t.cost_estimated { " (estimate)" } else { "" }
        )
    });
    o.push_str("<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">");
    for (label, value) in [
        ("turns", t.turns.to_string()),
        ("repair rounds", t.repairs.to_string()),
        ("tool calls", s.tool_calls.to_string()),
        ("denied", s.denials.to_string()),
        ("tokens", tokens),
        ("cost", cost),
        (
            "files changed",
            format!(
                "{}{}",
                s.files_changed.len(),
                if s.applied { " (applied)" } else { "" }
            ),
        ),
    ] {
        let _ = write!(
            o,
            "<div class=\"card\"><span class=\"muted\">{label}</span><b>{}</b></div>",
            esc(&value)
        );
    }
    o.push_str("</div>");
    if !s.inputs.is_empty() {
        o.push_str("<table><tr><th>input</th><th>value</th></tr>");
        for (k, v) in &s.inputs {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            let _ = write!(
                o,
                "<tr><td><code>{}</code></td><td><code>{}</code></td></tr>",
                esc(k),
                esc(&v)
            );
        }
        o.push_str("</table>");
    }
    if !s.recipes.is_empty() {
        o.push_str("<h3>Recipes</h3><ul>");
        for p in &s.recipes {
            let _ = write!(
                o,
                "<li><code>{}</code> {} (sha256 {})</li>",
                esc(&p.uses),
                esc(&p.name),
                esc(crate::recipes::lock::short(&p.sha256).as_str())
            );
        }
        o.push_str("</ul>");
    }
    if let Some(commit) = &s.commit {
        let _ = write!(o, "<p>Committed as <code>{}</code>.</p>", esc(commit));
    }
    o.push_str("</section>");
}

#[cfg(test)]
mod tests;
