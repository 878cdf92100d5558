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

use super::describe::{self, View};
use super::run::{IndexEntry, Redacted, RunReport};
use super::text::escape_controls;
use crate::provider::Block;
use crate::record::event::{CheckpointState, Event, Record};
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
    sandbox_section(&mut o, &r);
    usage_section(&mut o, &r.records);
    checks_section(&mut o, &r.records);
    checkpoints_section(&mut o, &r.records);
    timeline_section(&mut o, &r.records);
    diff_section(&mut o, &r);
    foot(&mut o, &r.records);
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

fn foot(o: &mut String, records: &[Record]) {
    let version = records.iter().find_map(|r| match &r.event {
        Event::RunStarted { wf_version, .. } => Some(wf_version.as_str()),
        _ => None,
    });
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

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// `text` cut to [`MAX_BLOCK_BYTES`] (at a character boundary), escaped,
/// with a note of what was left out.
fn block(text: &str) -> String {
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

fn seconds(ms: u64) -> String {
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

fn sandbox_section(o: &mut String, r: &Redacted) {
    o.push_str("<section id=\"sandbox\"><h2>Sandbox and permissions</h2>");
    let mut seen = false;
    for rec in &r.records {
        match &rec.event {
            Event::RunStarted {
                sandbox: Some(setting),
                dry_run,
                ..
            } => {
                let _ = write!(
                    o,
                    "<p>Asked for: sandbox <b>{}</b>, network <b>{}</b>{}{}{}</p>",
                    esc(&setting.mode),
                    esc(&describe::network_words(setting.network, &setting.hosts)),
                    list_suffix("extra read roots", &setting.read),
                    list_suffix("extra write roots", &setting.write),
                    if *dry_run { "; <b>--dry-run</b>" } else { "" }
                );
            }
            Event::SandboxReady {
                mode,
                network,
                hosts,
                read,
                write,
                read_only,
                level,
                ..
            } => {
                seen = true;
                if mode == "off" {
                    o.push_str(
                        "<p class=\"denied\"><b>Sandbox OFF</b>: commands ran unconfined, as the user.</p>",
                    );
                    continue;
                }
                let _ = write!(
                    o,
                    "<p>In effect: commands <b>confined</b>{}, network <b>{}</b>.</p>\
                     <table><tr><th>may write</th><td>{}</td></tr>\
                     <tr><th>read-only inside those</th><td>{}</td></tr>\
                     <tr><th>may read and execute</th><td>{}</td></tr></table>",
                    level
                        .as_deref()
                        .map_or(String::new(), |l| format!(" ({} level)", esc(l))),
                    esc(&describe::network_words(*network, hosts)),
                    codes(write),
                    codes(read_only),
                    codes(read)
                );
            }
            _ => {}
        }
    }
    let connections: Vec<String> = r
        .records
        .iter()
        .filter(|rec| matches!(rec.event, Event::NetworkConnection { .. }))
        .filter_map(|rec| describe::event(&rec.event, View::Line))
        .collect();
    if !connections.is_empty() {
        o.push_str("<h3>Connections through wf's proxy</h3><ul>");
        for line in &connections {
            let class = if line.contains(" REFUSED ") || line.contains(" FAILED ") {
                " class=\"denied\""
            } else {
                ""
            };
            let _ = write!(o, "<li{class}>{}</li>", esc(line));
        }
        o.push_str("</ul>");
    }
    if !seen {
        o.push_str("<p class=\"muted\">The trace records no sandbox (a run of wf before the sandbox, or one that ended before it was set up).</p>");
    }
    match &r.task {
        Ok(task) => {
            o.push_str(
                "<h3>From the task file</h3><p class=\"muted\">The task file still has the spec hash \
                 the run recorded: these are the tools and permissions it ran with.</p>",
            );
            permissions_table(o, task);
            let _ = write!(
                o,
                "<details><summary>Tools, permissions, sandbox, checks, checkpoints and limits as JSON</summary>{}</details>",
                block(&serde_json::to_string_pretty(task).unwrap_or_default())
            );
        }
        Err(why) => {
            let _ = write!(
                o,
                "<p class=\"muted\">The task's permissions are not shown: {}.</p>",
                esc(why)
            );
        }
    }
    o.push_str("</section>");
}

/// The task's tools and permissions as a table: the top level's, then
/// each step's own.
fn permissions_table(o: &mut String, task: &serde_json::Value) {
    let strings = |v: Option<&serde_json::Value>| -> Vec<String> {
        v.and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut scopes = vec![("task".to_string(), task)];
    if let Some(steps) = task.get("steps").and_then(|s| s.as_array()) {
        for (i, step) in steps.iter().enumerate() {
            let id = step
                .get("id")
                .and_then(|v| v.as_str())
                .map_or_else(|| format!("step {}", i + 1), |id| format!("step {id}"));
            scopes.push((id, step));
        }
    }
    o.push_str(
        "<table id=\"permissions\"><tr><th></th><th>tools</th><th>read</th><th>write</th>\
         <th>protected</th><th>shell may run</th></tr>",
    );
    for (name, scope) in scopes {
        let perms = scope.get("permissions");
        if scope.get("tools").is_none() && perms.is_none() {
            continue;
        }
        let get = |k: &str| perms.and_then(|p| p.get(k));
        let _ = write!(
            o,
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&name),
            codes(&strings(scope.get("tools"))),
            codes(&strings(get("read"))),
            codes(&strings(get("write"))),
            codes(&strings(get("protect"))),
            codes(&strings(get("shell").and_then(|s| s.get("allow")))),
        );
    }
    o.push_str("</table>");
}

fn list_suffix(what: &str, items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!("; {what}: {}", codes(items))
    }
}

fn codes(items: &[String]) -> String {
    if items.is_empty() {
        return "<span class=\"muted\">none</span>".to_string();
    }
    items
        .iter()
        .map(|i| format!("<code>{}</code>", esc(i)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One model answer's usage, for the chart.
struct Turn {
    turn: u32,
    input: Option<u64>,
    output: Option<u64>,
    cost: Option<f64>,
}

fn turns(records: &[Record]) -> Vec<Turn> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            Event::ModelResponse {
                turn,
                usage,
                cost_usd,
                ..
            } => Some(Turn {
                turn: *turn,
                input: usage
                    .input_tokens
                    .map(|i| i + usage.cache_read_input_tokens + usage.cache_creation_input_tokens),
                output: usage.output_tokens,
                cost: *cost_usd,
            }),
            _ => None,
        })
        .collect()
}

fn usage_section(o: &mut String, records: &[Record]) {
    let turns = turns(records);
    o.push_str("<section id=\"usage\"><h2>Tokens and cost per turn</h2>");
    if turns.is_empty() {
        o.push_str("<p class=\"muted\">No model answers recorded.</p></section>");
        return;
    }
    if turns
        .iter()
        .all(|t| t.input.is_none() && t.output.is_none())
    {
        let _ = write!(
            o,
            "<p class=\"muted\" id=\"usage-unknown\">{} recorded, none with token usage \
             (the provider reported none; the script provider never does).</p></section>",
            plural(turns.len(), "model answer")
        );
        return;
    }
    let labels: Vec<String> = turns.iter().map(|t| t.turn.to_string()).collect();
    let input: Vec<Option<f64>> = turns.iter().map(|t| t.input.map(|v| v as f64)).collect();
    let output: Vec<Option<f64>> = turns.iter().map(|t| t.output.map(|v| v as f64)).collect();
    let cost: Vec<Option<f64>> = turns.iter().map(|t| t.cost).collect();
    o.push_str(
        "<div class=\"legend muted\">tokens:<span style=\"background:#0969da\"></span>input (cached included)\
         <span style=\"background:#bf8700\"></span>output</div>",
    );
    o.push_str(&chart(
        "tokens-chart",
        &labels,
        &[
            ("input tokens", "#0969da", &input),
            ("output tokens", "#bf8700", &output),
        ],
        |v| format!("{v:.0}"),
    ));
    o.push_str(
        "<div class=\"legend muted\">cost:<span style=\"background:#1a7f37\"></span>USD per answer</div>",
    );
    o.push_str(&chart(
        "cost-chart",
        &labels,
        &[("USD", "#1a7f37", &cost)],
        crate::report::describe::usd,
    ));
    o.push_str(
        "<details><summary>The numbers</summary><table><tr><th>turn</th><th>input tokens</th>\
         <th>output tokens</th><th>cost</th></tr>",
    );
    let unknown = || "unknown".to_string();
    for t in &turns {
        let _ = write!(
            o,
            "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            t.turn,
            t.input.map_or_else(unknown, |v| v.to_string()),
            t.output.map_or_else(unknown, |v| v.to_string()),
            t.cost.map_or_else(unknown, crate::report::describe::usd),
        );
    }
    o.push_str("</table></details></section>");
}

/// A bar chart in inline SVG: one group of bars per label, one bar per
/// series, each with a `<title>` (shown on hover).
fn chart(
    id: &str,
    labels: &[String],
    series: &[(&str, &str, &Vec<Option<f64>>)],
    fmt: fn(f64) -> String,
) -> String {
    const H: f64 = 110.0;
    const TOP: f64 = 18.0;
    const LEFT: f64 = 8.0;
    let bar = if labels.len() > 60 { 4.0 } else { 12.0 };
    let gap = if labels.len() > 60 { 2.0 } else { 8.0 };
    let group = bar * series.len() as f64 + gap;
    let width = (LEFT * 2.0 + group * labels.len() as f64).max(320.0);
    let height = TOP + H + 18.0;
    let max = series
        .iter()
        .flat_map(|(_, _, v)| v.iter().flatten())
        .fold(0.0_f64, |a, &b| a.max(b));
    let mut s = format!(
        "<svg class=\"chart\" id=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\">"
    );
    let _ = write!(
        s,
        "<text x=\"{LEFT}\" y=\"12\" font-size=\"11\" fill=\"#59636e\">max {}</text>\
         <line x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#d1d9e0\"/>",
        esc(&fmt(max)),
        TOP + H,
        width - LEFT,
        TOP + H
    );
    let every = labels.len().div_ceil(30).max(1);
    for (i, label) in labels.iter().enumerate() {
        let x0 = LEFT + group * i as f64;
        for (k, (name, color, values)) in series.iter().enumerate() {
            let x = x0 + bar * k as f64;
            let (h, title) = match values.get(i).copied().flatten() {
                Some(v) => (
                    if max > 0.0 { v / max * H } else { 0.0 },
                    format!("turn {label}: {} {name}", fmt(v)),
                ),
                None => (0.0, format!("turn {label}: {name} unknown")),
            };
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{color}\"><title>{}</title></rect>",
                TOP + H - h,
                bar - 1.0,
                esc(&title)
            );
        }
        if i % every == 0 {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#59636e\">{}</text>",
                x0,
                TOP + H + 13.0,
                esc(label)
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn checks_section(o: &mut String, records: &[Record]) {
    o.push_str("<section id=\"checks\"><h2>Checks and repairs</h2>");
    let mut any = false;
    let mut round: Option<u32> = None;
    for r in records {
        match &r.event {
            Event::StepStarted { id, .. } => {
                round = None;
                let _ = write!(o, "<h3>Step <code>{}</code></h3>", esc(id));
            }
            Event::RepairRequested { round: n, failed } => {
                let _ = write!(
                    o,
                    "<p class=\"repair\">Repair round {n}: the model was asked to fix {}.</p>",
                    codes(failed)
                );
            }
            Event::CheckResult {
                round: n,
                name,
                passed,
                exit_code,
                timed_out,
                output_tail,
                truncated,
                duration_ms,
                ..
            } => {
                any = true;
                if round != Some(*n) {
                    round = Some(*n);
                    let _ = write!(
                        o,
                        "<h3>{}</h3>",
                        if *n == 0 {
                            "First round".to_string()
                        } else {
                            format!("After repair round {n}")
                        }
                    );
                }
                let verdict = if *passed {
                    "passed".to_string()
                } else if *timed_out {
                    "TIMED OUT".to_string()
                } else {
                    format!(
                        "FAILED, exit {}",
                        exit_code.map_or("-".to_string(), |c| c.to_string())
                    )
                };
                let _ = write!(
                    o,
                    "<details class=\"check {}\" id=\"check-{n}-{}\"{}><summary><span class=\"kind\">check</span>\
                     <code>{}</code> {verdict} ({})</summary>{}{}</details>",
                    if *passed { "pass" } else { "fail" },
                    esc(&href(name)),
                    if *passed { "" } else { " open" },
                    esc(name),
                    seconds(*duration_ms),
                    if output_tail.is_empty() {
                        "<p class=\"muted\">no output</p>".to_string()
                    } else {
                        block(output_tail)
                    },
                    if *truncated {
                        "<p class=\"muted\">(the output's tail; the start was cut)</p>"
                    } else {
                        ""
                    }
                );
            }
            _ => {}
        }
    }
    if !any {
        o.push_str("<p class=\"muted\">No check ran.</p>");
    }
    o.push_str("</section>");
}

fn checkpoints_section(o: &mut String, records: &[Record]) {
    o.push_str("<section id=\"checkpoints\"><h2>Checkpoints</h2>");
    let rows: Vec<String> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::Checkpoint {
                name,
                state,
                by,
                via,
                comment,
                at,
                step,
                diff_sha256,
                commit,
            } => {
                let state = match state {
                    CheckpointState::Reached => "reached",
                    CheckpointState::Approved => "approved",
                    CheckpointState::Rejected => "rejected",
                    CheckpointState::Paused => "paused",
                };
                let cell = |v: &Option<String>| esc(v.as_deref().unwrap_or(""));
                Some(format!(
                    "<tr class=\"{state}\"><td>{}{}</td><td><b>{state}</b>{}</td><td>{}</td><td>{}</td>\
                     <td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
                    name.as_str(),
                    step.as_deref()
                        .map(|s| format!(" after <code>{}</code>", esc(s)))
                        .unwrap_or_default(),
                    if *commit { ", commit asked" } else { "" },
                    cell(by),
                    cell(via),
                    cell(at),
                    cell(comment),
                    esc(&diff_sha256
                        .as_deref()
                        .map(crate::recipes::lock::short)
                        .unwrap_or_default()),
                ))
            }
            _ => None,
        })
        .collect();
    if rows.is_empty() {
        o.push_str("<p class=\"muted\">No checkpoint was reached.</p>");
    } else {
        o.push_str(
            "<table><tr><th>checkpoint</th><th>state</th><th>by</th><th>via</th><th>when</th>\
             <th>comment</th><th>diff approved</th></tr>",
        );
        for row in rows {
            o.push_str(&row);
        }
        o.push_str("</table>");
    }
    o.push_str("</section>");
}

/// The denial and the result of each tool call, by call id.
type CallEnds<'a> = BTreeMap<&'a str, (Option<&'a Event>, Option<&'a Event>)>;

fn call_ends(records: &[Record]) -> CallEnds<'_> {
    let mut ends: CallEnds = BTreeMap::new();
    for r in records {
        match &r.event {
            Event::PermissionDenied { call_id, .. } => {
                ends.entry(call_id.as_str()).or_default().0 = Some(&r.event);
            }
            Event::ToolResult { call_id, .. } => {
                ends.entry(call_id.as_str()).or_default().1 = Some(&r.event);
            }
            _ => {}
        }
    }
    ends
}

fn timeline_section(o: &mut String, records: &[Record]) {
    o.push_str("<section id=\"timeline\"><h2>Timeline</h2>");
    let ends = call_ends(records);
    let called: std::collections::BTreeSet<&str> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::ToolCall { call_id, .. } => Some(call_id.as_str()),
            _ => None,
        })
        .collect();
    for r in records {
        let body = match &r.event {
            Event::ToolCall {
                call_id,
                tool,
                input,
            } => tool_call(tool, input, ends.get(call_id.as_str())),
            Event::PermissionDenied { call_id, .. } | Event::ToolResult { call_id, .. }
                if called.contains(call_id.as_str()) =>
            {
                continue;
            }
            Event::PermissionDenied { rule, message, .. } => format!(
                "<div class=\"denied\"><span class=\"kind\">DENIED</span>[{}] {}</div>",
                esc(rule),
                esc(message)
            ),
            Event::ModelResponse {
                content,
                stop_reason,
                ..
            } => model_answer(&r.event, content, stop_reason),
            Event::CheckResult {
                round,
                name,
                passed,
                ..
            } => {
                // The link is the headline; the output's end follows as a
                // block (not inside the link, not at the terminal's indent).
                let (head, rest) = plain_parts(&r.event);
                format!(
                    "<div class=\"{}\"><a href=\"#check-{round}-{}\">{head}</a>{}</div>",
                    if *passed { "pass" } else { "fail" },
                    esc(&href(name)),
                    rest.map(|t| block(&t)).unwrap_or_default()
                )
            }
            Event::RepairRequested { .. } => {
                format!("<div class=\"repair\">{}</div>", plain(&r.event))
            }
            Event::Checkpoint { .. } => {
                format!("<div class=\"checkpoint\">{}</div>", plain(&r.event))
            }
            Event::RunFinished { status, reason, .. } => format!(
                "<div><span class=\"kind\">finished</span><span class=\"badge {}\">{}</span> {}</div>",
                status_class(status.as_str()),
                status.as_str(),
                esc(reason.as_deref().unwrap_or(""))
            ),
            Event::ModelError { .. }
            | Event::ApplyFailed { .. }
            | Event::ChangeRefused { .. }
            | Event::LimitReached { .. }
            | Event::RunInterrupted { .. } => {
                format!("<div class=\"error\">{}</div>", plain(&r.event))
            }
            other => {
                let text = describe::event(other, View::Timeline);
                match text {
                    Some(_) => format!("<div>{}</div>", plain(other)),
                    None => continue,
                }
            }
        };
        let _ = write!(
            o,
            "<div class=\"ev\"><span class=\"t mono\">{}</span>{body}</div>",
            seconds(r.t_ms)
        );
    }
    o.push_str("</section>");
}

/// An event as `wf show` words it, its kind in a column; the lines after
/// the first (a check's output, an error of several lines) as a block.
fn plain(event: &Event) -> String {
    let (head, rest) = plain_parts(event);
    match rest {
        Some(rest) => format!("{head}{}", block(&rest)),
        None => head,
    }
}

/// [`plain`] in two parts: the first line as HTML (kind, then text), and
/// the further lines as text, without the terminal's indent (the timeline
/// of `wf show` lines them up under its text column; a page does not).
fn plain_parts(event: &Event) -> (String, Option<String>) {
    let text = describe::event(event, View::Timeline).unwrap_or_default();
    let (first, rest) = match text.split_once('\n') {
        Some((first, rest)) => (first.to_string(), Some(dedent(rest))),
        None => (text, None),
    };
    (plain_line(event, &first), rest)
}

/// `text` with the indent its lines share taken off.
fn dedent(text: &str) -> String {
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    text.lines()
        .map(|l| l.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

/// One line of [`plain`]: its kind in a column.
fn plain_line(event: &Event, text: &str) -> String {
    let text = text.trim_start();
    let (kind, rest) = match (event, text.split_once(' ')) {
        (Event::Checkpoint { .. }, _) => (
            "checkpoint",
            text.strip_prefix("checkpoint ").unwrap_or(text),
        ),
        (_, Some((kind, rest))) => (kind, rest.trim_start()),
        (_, None) => (event.kind(), text),
    };
    format!(
        "<span class=\"kind\">{}</span><span class=\"mono\">{}</span>",
        esc(kind),
        esc(rest)
    )
}

fn model_answer(event: &Event, content: &[Block], stop: &crate::provider::StopReason) -> String {
    let text: Vec<&str> = content
        .iter()
        .filter_map(|b| match b {
            Block::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let calls: Vec<&str> = content
        .iter()
        .filter_map(|b| match b {
            Block::ToolUse { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let mut inner = String::new();
    if !text.is_empty() {
        inner.push_str(&block(&text.join("\n\n")));
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
    let _ = write!(
        inner,
        "<p class=\"muted\">stop reason: {}</p>",
        esc(&format!("{stop:?}"))
    );
    // The summary is the headline; the answer's text is in the block.
    format!(
        "<details class=\"model\"><summary>{}</summary>{inner}</details>",
        plain_parts(event).0
    )
}

fn tool_call(
    tool: &str,
    input: &serde_json::Value,
    ends: Option<&(Option<&Event>, Option<&Event>)>,
) -> String {
    let (denial, result) = ends.copied().unwrap_or((None, None));
    let mut class = "call";
    let mut outcome = String::from(" <span class=\"muted\">(no result recorded)</span>");
    if let Some(Event::ToolResult {
        ok,
        exit_code,
        truncated,
        output,
        duration_ms,
        ..
    }) = result
    {
        if !ok {
            class = "call error";
        }
        outcome = format!(
            " → {}{}{} ({} bytes, {})",
            if *ok { "ok" } else { "error" },
            exit_code.map(|c| format!(", exit {c}")).unwrap_or_default(),
            if *truncated { ", truncated" } else { "" },
            output.len(),
            seconds(*duration_ms)
        );
    }
    let mut denied = String::new();
    if let Some(Event::PermissionDenied { rule, message, .. }) = denial {
        class = "call denied";
        outcome = format!(" → <b>DENIED</b> [{}] {}", esc(rule), esc(message));
        denied = format!(
            "<p><b>Denied</b> by rule <code>{}</code>: {}</p>",
            esc(rule),
            esc(message)
        );
    }
    let kind = if denial.is_some() { "DENIED" } else { "tool" };
    let mut inner = String::from("<div class=\"label\">input</div>");
    match input {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match v {
                    serde_json::Value::String(s) => {
                        let _ = write!(
                            inner,
                            "<div class=\"mono muted\">{}:</div>{}",
                            esc(k),
                            block(s)
                        );
                    }
                    other => {
                        let _ = write!(
                            inner,
                            "<div class=\"mono muted\">{}:</div>{}",
                            esc(k),
                            block(&other.to_string())
                        );
                    }
                }
            }
        }
        other => inner.push_str(&block(&other.to_string())),
    }
    inner.push_str(&denied);
    if let Some(Event::ToolResult { output, .. }) = result {
        inner.push_str("<div class=\"label\">result</div>");
        inner.push_str(&block(output));
    }
    format!(
        "<details class=\"{class}\"><summary><span class=\"kind\">{kind}</span><code>{}</code> \
         <span class=\"mono\">{}</span>{outcome}</summary>{inner}</details>",
        esc(tool),
        esc(&describe::brief_input(input)),
    )
}

fn diff_section(o: &mut String, r: &Redacted) {
    o.push_str("<section id=\"diff\"><h2>Diff</h2>");
    let patch = match r.patch.as_deref() {
        Some(p) if !p.trim().is_empty() => p,
        _ => {
            o.push_str("<p class=\"muted\">No change.</p></section>");
            return;
        }
    };
    o.push_str("<table id=\"diffstat\"><tr><th>file</th><th>+</th><th>−</th></tr>");
    for (path, add, del) in crate::workspace::diffstat(patch) {
        let _ = write!(
            o,
            "<tr><td><code>{}</code></td><td class=\"num\">+{add}</td><td class=\"num\">−{del}</td></tr>",
            esc(&path)
        );
    }
    o.push_str("</table>");
    let lines: Vec<&str> = patch
        .split_inclusive('\n')
        .map(|l| l.strip_suffix('\n').unwrap_or(l))
        .collect();
    let mut open = false;
    for line in lines.iter().take(MAX_DIFF_LINES) {
        if let Some(rest) = line.strip_prefix("diff --git ") {
            if open {
                o.push_str("</pre></details>");
            }
            let path = crate::patch::header_path(rest);
            let _ = write!(
                o,
                "<details class=\"file\" open><summary><code>{}</code></summary><pre class=\"diff\">",
                esc(&path)
            );
            open = true;
        } else if !open {
            o.push_str("<pre class=\"diff\">");
            open = true;
        }
        let class = if line.starts_with("+++")
            || line.starts_with("---")
            || line.starts_with("diff --git")
            || line.starts_with("index ")
            || line.starts_with("new file")
            || line.starts_with("deleted file")
        {
            "meta"
        } else if line.starts_with('+') {
            "add"
        } else if line.starts_with('-') {
            "del"
        } else if line.starts_with("@@") {
            "hunk"
        } else {
            "ctx"
        };
        let _ = write!(o, "<span class=\"{class}\">{}</span>", esc(line));
    }
    if open {
        o.push_str("</pre>");
        if lines.first().is_some_and(|l| l.starts_with("diff --git")) {
            o.push_str("</details>");
        }
    }
    if lines.len() > MAX_DIFF_LINES {
        let _ = write!(
            o,
            "<p class=\"muted\">[… {} more lines; the whole patch is in <code>{}</code>]</p>",
            lines.len() - MAX_DIFF_LINES,
            esc(&r.patch_path)
        );
    }
    o.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{StopReason, Usage};
    use crate::record::event::{CheckpointName, RunStatus, Totals};

    fn rec(seq: u64, event: Event) -> Record {
        Record {
            seq,
            t_ms: seq * 100,
            event,
            hash: String::new(),
        }
    }

    fn started() -> Event {
        Event::RunStarted {
            trace_version: 2,
            wf_version: "0.0.0".into(),
            run_id: "20240101-000000-000-abcd".into(),
            spec_name: "migrate".into(),
            spec_version: None,
            spec_path: "task.yaml".into(),
            spec_hash: "h".into(),
            inputs: BTreeMap::new(),
            fingerprint: "f".into(),
            base_revision: None,
            model: "script".into(),
            dry_run: false,
            sandbox: None,
            conversation: None,
            max_cost_usd: None,
            script: None,
            sandbox_approval: None,
            at: "2024-01-01T00:00:00Z".into(),
        }
    }

    fn sample(output: &str) -> RunReport {
        let records = vec![
            rec(0, started()),
            rec(
                1,
                Event::ModelResponse {
                    turn: 1,
                    content: vec![Block::Text {
                        text: "I will <b>edit</b>".into(),
                    }],
                    stop_reason: StopReason::ToolUse,
                    usage: Usage {
                        input_tokens: Some(100),
                        output_tokens: Some(20),
                        cache_creation_input_tokens: 0,
                        cache_read_input_tokens: 0,
                        estimated: false,
                    },
                    cost_usd: Some(0.0012),
                    cache_hit: false,
                },
            ),
            rec(
                2,
                Event::ToolCall {
                    call_id: "c1".into(),
                    tool: "shell".into(),
                    input: serde_json::json!({"command": "cat notes.txt"}),
                },
            ),
            rec(
                3,
                Event::ToolResult {
                    call_id: "c1".into(),
                    tool: "shell".into(),
                    ok: true,
                    exit_code: Some(0),
                    output_hash: String::new(),
                    output: output.into(),
                    truncated: false,
                    duration_ms: 5,
                },
            ),
            rec(
                4,
                Event::ToolCall {
                    call_id: "c2".into(),
                    tool: "write_file".into(),
                    input: serde_json::json!({"path": "migrations/002.sql", "content": "x"}),
                },
            ),
            rec(
                5,
                Event::PermissionDenied {
                    call_id: "c2".into(),
                    tool: "write_file".into(),
                    rule: "protect".into(),
                    message: "write to migrations/002.sql denied: protected by permissions.protect"
                        .into(),
                },
            ),
            rec(
                6,
                Event::CheckResult {
                    round: 0,
                    name: "tests".into(),
                    passed: false,
                    exit_code: Some(4),
                    timed_out: false,
                    output_hash: String::new(),
                    output_tail: "assertion failed: <x> & y".into(),
                    truncated: false,
                    duration_ms: 10,
                },
            ),
            rec(
                7,
                Event::RepairRequested {
                    round: 1,
                    failed: vec!["tests".into()],
                },
            ),
            rec(
                8,
                Event::Checkpoint {
                    name: CheckpointName::Apply,
                    state: CheckpointState::Approved,
                    by: Some("ann@example.com".into()),
                    via: Some("--yes".into()),
                    comment: None,
                    commit: false,
                    at: Some("2024-01-01T00:01:00Z".into()),
                    step: None,
                    diff_sha256: None,
                },
            ),
            rec(
                9,
                Event::RunFinished {
                    status: RunStatus::Succeeded,
                    reason: None,
                    diff_hash: None,
                    files_changed: vec!["a<b>.rs".into()],
                    totals: Totals::default(),
                },
            ),
        ];
        RunReport {
            id: "20240101-000000-000-abcd".into(),
            records,
            live: false,
            patch: Some(
                "diff --git a/a<b>.rs b/a<b>.rs\n--- a/a<b>.rs\n+++ b/a<b>.rs\n@@ -1 +1 @@\n-old\n+new <script>\n"
                    .into(),
            ),
            verified: Ok(()),
            torn_tail: false,
            task: Err("the task file changed since the run".into()),
            patch_path: ".wf/runs/x/diff.patch".into(),
        }
    }

    #[test]
    fn outside_text_is_escaped_never_markup() {
        let page = run(
            &sample("<script>alert(1)</script>\x1b[2K"),
            &Secrets::none(),
        );
        assert!(!page.contains("<script"), "a script tag got through");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[2K"));
        assert!(page.contains("I will &lt;b&gt;edit&lt;/b&gt;"));
        assert!(page.contains("assertion failed: &lt;x&gt; &amp; y"));
        assert!(page.contains("<span class=\"add\">+new &lt;script&gt;</span>"));
        assert!(page.contains("<code>a&lt;b&gt;.rs</code>"));
        assert!(page.contains("default-src 'none'"));
    }

    #[test]
    fn the_page_shows_denials_checks_checkpoints_and_the_chart() {
        let page = run(&sample("ok"), &Secrets::none());
        assert!(page.contains("class=\"call denied\""), "{page}");
        assert!(page.contains("protected by permissions.protect"));
        assert!(page.contains("<details class=\"check fail\" id=\"check-0-tests\" open>"));
        assert!(page.contains("Repair round 1: the model was asked to fix <code>tests</code>"));
        assert!(page.contains("<td>ann@example.com</td><td>--yes</td>"));
        assert!(page.contains("<svg class=\"chart\" id=\"tokens-chart\""));
        assert!(page.contains("<title>turn 1: 100 input tokens</title>"));
        assert!(page.contains("<title>turn 1: $0.0012 USD</title>"));
        assert!(page.contains("class=\"verify ok\""));
        assert!(page.contains("the task file changed since the run"));
        // The result is folded into its call, not shown again.
        assert_eq!(
            page.matches("cat notes.txt").count(),
            2,
            "summary and input"
        );
    }

    #[test]
    fn a_failed_checks_output_and_a_long_answer_are_blocks_outside_the_link() {
        let mut report = sample("ok");
        if let Event::CheckResult { output_tail, .. } = &mut report.records[6].event {
            *output_tail = "line one\nline two\nassert failed".into();
        }
        report.records[1].event = Event::ModelResponse {
            turn: 1,
            content: vec![Block::Text {
                text: "Plan:\n1. read\n2. write".into(),
            }],
            stop_reason: StopReason::EndTurn,
            usage: Usage::default(),
            cost_usd: None,
            cache_hit: false,
        };
        let page = run(&report, &Secrets::none());
        let timeline = &page[page.find("<section id=\"timeline\">").unwrap()..];
        let link = timeline.find("<a href=\"#check-0-tests\">").unwrap();
        let closed = link + timeline[link..].find("</a>").unwrap();
        let anchor = &timeline[link..closed];
        assert!(anchor.contains("FAILED"), "{anchor}");
        assert!(
            !anchor.contains("line one"),
            "output inside the link: {anchor}"
        );
        assert!(
            timeline[closed..].starts_with("</a><pre>line one\nline two\nassert failed</pre>"),
            "{}",
            &timeline[closed..closed + 120]
        );
        // No terminal indent anywhere in the timeline, and the answer's
        // summary is its headline only (the text is in the block below it).
        assert!(!timeline.contains("          "), "{timeline}");
        let summary = &timeline[timeline.find("<summary>").unwrap()..];
        let summary = &summary[..summary.find("</summary>").unwrap()];
        assert!(!summary.contains("1. read"), "{summary}");
        assert!(
            timeline.contains("<pre>Plan:\n1. read\n2. write</pre>"),
            "{timeline}"
        );
    }

    #[test]
    fn secrets_are_redacted_everywhere() {
        let secrets = Secrets::from_vars([("OPENAI_API_KEY", "super-secret-value-42")]);
        let mut report = sample("key=super-secret-value-42 and sk-abcdefghijklmnop0123456789");
        report.patch = Some(
            "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -0,0 +1 @@\n+super-secret-value-42\n".into(),
        );
        let page = run(&report, &secrets);
        assert!(!page.contains("super-secret-value-42"));
        assert!(!page.contains("sk-abcdefghijklmnop0123456789"));
        assert!(page.contains("key=[redacted] and sk-[redacted]"));
        assert!(page.contains("<span class=\"add\">+[redacted]</span>"));
    }

    #[test]
    fn a_trace_that_fails_verification_says_so() {
        let mut report = sample("ok");
        report.verified = Err("line 3: hash mismatch".into());
        let page = run(&report, &Secrets::none());
        assert!(page.contains("class=\"verify bad\""));
        assert!(page.contains("FAILS verification: line 3: hash mismatch"));
    }

    #[test]
    fn a_long_diff_is_cut_with_a_pointer_to_the_patch() {
        let mut report = sample("ok");
        let mut patch =
            String::from("diff --git a/big b/big\n--- a/big\n+++ b/big\n@@ -0,0 +1,30000 @@\n");
        for i in 0..30_000 {
            patch.push_str(&format!("+line {i}\n"));
        }
        report.patch = Some(patch);
        let page = run(&report, &Secrets::none());
        assert!(page.contains("+line 19995"));
        assert!(!page.contains("+line 19996"));
        assert!(page.contains(
            "[… 10004 more lines; the whole patch is in <code>.wf/runs/x/diff.patch</code>]"
        ));
    }

    #[test]
    fn the_index_links_every_run_with_status_cost_and_files() {
        let mut ok = crate::record::summary::from_records(&sample("ok").records);
        ok.totals.cost_usd = Some(0.5);
        ok.files_changed = vec!["a.rs".into(), "b.rs".into()];
        let mut failed = ok.clone();
        failed.status = "checks_failed".into();
        failed.totals.cost_usd = None;
        failed.spec.name = "<evil>".into();
        let entries = vec![
            IndexEntry {
                id: "r2".into(),
                summary: failed,
                problem: Some("fails verification at line 2".into()),
                link: "r2/report.html".into(),
            },
            IndexEntry {
                id: "r1".into(),
                summary: ok,
                problem: None,
                link: "r1/report.html".into(),
            },
        ];
        let page = index("wf runs in .wf/runs", &entries, &Secrets::none());
        assert!(page.contains("<a href=\"r1/report.html\">r1</a>"));
        assert!(page.contains("<a href=\"r2/report.html\">r2</a>"));
        assert!(page.contains("2 runs"));
        assert!(page.contains("total cost $0.5000 (1 unknown)"));
        assert!(page.contains("<span class=\"badge bad\">checks_failed</span>"));
        assert!(page.contains("<summary>2</summary>"));
        assert!(page.contains("&lt;evil&gt;") && !page.contains("<evil>"));
        assert!(page.contains("trace invalid"));
    }

    #[test]
    fn hrefs_are_percent_encoded() {
        assert_eq!(href("a b/#c?.html"), "a%20b/%23c%3F.html");
    }
}
