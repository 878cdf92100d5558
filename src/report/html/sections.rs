//! The sections of a run's page other than the summary and the timeline:
//! the sandbox and permissions, tokens and cost per turn (an inline SVG
//! chart), checks and repairs, checkpoints, and the diff. Each renders the
//! facts of [`super::super::model`]; none reads an event.

use super::{MAX_DIFF_LINES, block, esc, href, plural, seconds};
use crate::report::describe;
use crate::report::model::{CheckItem, Checkpoint, Model, Turn};
use crate::report::run::Redacted;
use std::fmt::Write;

pub(super) fn sandbox_section(o: &mut String, r: &Redacted, m: &Model) {
    o.push_str("<section id=\"sandbox\"><h2>Sandbox and permissions</h2>");
    if let Some((setting, dry_run)) = m.asked {
        let _ = write!(
            o,
            "<p>Asked for: sandbox <b>{}</b>, network <b>{}</b>{}{}{}</p>",
            esc(&setting.mode),
            esc(&describe::network_words(setting.network, &setting.hosts)),
            list_suffix("extra read roots", &setting.read),
            list_suffix("extra write roots", &setting.write),
            if dry_run { "; <b>--dry-run</b>" } else { "" }
        );
    }
    match &m.sandbox {
        Some(s) if s.off => o.push_str(
            "<p class=\"denied\"><b>Sandbox OFF</b>: commands ran unconfined, as the user.</p>",
        ),
        Some(s) => {
            let _ = write!(
                o,
                "<p>In effect: commands <b>confined</b>{}, network <b>{}</b>.</p>\
                 <table><tr><th>may write</th><td>{}</td></tr>\
                 <tr><th>read-only inside those</th><td>{}</td></tr>\
                 <tr><th>may read and execute</th><td>{}</td></tr></table>",
                s.level
                    .map_or(String::new(), |l| format!(" ({} level)", esc(l))),
                esc(&s.network),
                codes(s.write),
                codes(s.read_only),
                codes(s.read)
            );
        }
        None => {}
    }
    if !m.connections.is_empty() {
        o.push_str("<h3>Connections through wf's proxy</h3><ul>");
        for (line, bad) in &m.connections {
            let class = if *bad { " class=\"denied\"" } else { "" };
            let _ = write!(o, "<li{class}>{}</li>", esc(line));
        }
        o.push_str("</ul>");
    }
    if m.sandbox.is_none() {
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

pub(super) fn codes(items: &[String]) -> String {
    if items.is_empty() {
        return "<span class=\"muted\">none</span>".to_string();
    }
    items
        .iter()
        .map(|i| format!("<code>{}</code>", esc(i)))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn usage_section(o: &mut String, turns: &[Turn]) {
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
    for t in turns {
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

pub(super) fn checks_section(o: &mut String, items: &[CheckItem]) {
    o.push_str("<section id=\"checks\"><h2>Checks and repairs</h2>");
    let mut any = false;
    let mut round: Option<u32> = None;
    for item in items {
        match item {
            CheckItem::Step(id) => {
                round = None;
                let _ = write!(o, "<h3>Step <code>{}</code></h3>", esc(id));
            }
            CheckItem::Repair(n, failed) => {
                let _ = write!(
                    o,
                    "<p class=\"repair\">Repair round {n}: the model was asked to fix {}.</p>",
                    codes(failed)
                );
            }
            CheckItem::Check(c) => {
                any = true;
                let n = c.round;
                if round != Some(n) {
                    round = Some(n);
                    let _ = write!(
                        o,
                        "<h3>{}</h3>",
                        if n == 0 {
                            "First round".to_string()
                        } else {
                            format!("After repair round {n}")
                        }
                    );
                }
                let verdict = if c.passed {
                    "passed".to_string()
                } else if c.timed_out {
                    "TIMED OUT".to_string()
                } else {
                    format!(
                        "FAILED, exit {}",
                        c.exit_code.map_or("-".to_string(), |c| c.to_string())
                    )
                };
                let _ = write!(
                    o,
                    "<details class=\"check {}\" id=\"{}\"{}><summary><span class=\"kind\">check</span>\
                     <code>{}</code> {verdict} ({})</summary>{}{}</details>",
                    if c.passed { "pass" } else { "fail" },
                    check_anchor(n, c.name),
                    if c.passed { "" } else { " open" },
                    esc(c.name),
                    seconds(c.duration_ms),
                    if c.tail.is_empty() {
                        "<p class=\"muted\">no output</p>".to_string()
                    } else {
                        block(c.tail)
                    },
                    if c.truncated {
                        "<p class=\"muted\">(the output's tail; the start was cut)</p>"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    if !any {
        o.push_str("<p class=\"muted\">No check ran.</p>");
    }
    o.push_str("</section>");
}

/// The id of a check result's entry in the checks section.
pub(super) fn check_anchor(round: u32, name: &str) -> String {
    esc(&format!("check-{round}-{}", href(name)))
}

pub(super) fn checkpoints_section(o: &mut String, checkpoints: &[Checkpoint]) {
    o.push_str("<section id=\"checkpoints\"><h2>Checkpoints</h2>");
    if checkpoints.is_empty() {
        o.push_str("<p class=\"muted\">No checkpoint was reached.</p></section>");
        return;
    }
    o.push_str(
        "<table><tr><th>checkpoint</th><th>state</th><th>by</th><th>via</th><th>when</th>\
         <th>comment</th><th>diff approved</th></tr>",
    );
    for c in checkpoints {
        let cell = |v: Option<&str>| esc(v.unwrap_or(""));
        let state = c.state;
        let _ = write!(
            o,
            "<tr class=\"{state}\"><td>{}{}</td><td><b>{state}</b>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
            esc(c.name),
            c.step
                .map(|s| format!(" after <code>{}</code>", esc(s)))
                .unwrap_or_default(),
            if c.commit { ", commit asked" } else { "" },
            cell(c.by),
            cell(c.via),
            cell(c.at),
            cell(c.comment),
            esc(&c
                .diff_sha256
                .map(crate::recipes::lock::short)
                .unwrap_or_default()),
        );
    }
    o.push_str("</table></section>");
}

pub(super) fn diff_section(o: &mut String, r: &Redacted) {
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
