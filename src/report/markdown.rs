//! `wf report --md`: a run in Markdown for a CI job summary (GitHub's
//! `$GITHUB_STEP_SUMMARY` takes at most 1 MiB), and an index of runs.
//!
//! The whole document stays within [`MAX_BYTES`]: the summary table, the
//! checks, the failing checks' output tails (each cut to [`MAX_TAIL_BYTES`])
//! and a bounded timeline come first, and the diff gets what is left, cut
//! at a line with a note pointing to `diff.patch`.
//!
//! Outside text is redacted ([`RunReport::redacted`]) and its control
//! characters shown escaped; in table cells and prose, Markdown and HTML
//! punctuation is escaped ([`cell`]), and code blocks are fenced with more
//! backticks than they hold ([`code_block`]), so nothing a model wrote can
//! end a block or add markup (job summaries render HTML).

use super::model::{CheckItem, Model};
use super::run::{IndexEntry, Redacted, RunReport};
use super::text::{escape_controls, escape_line};
use crate::secrets::Secrets;
use std::fmt::Write;

/// The most a document may weigh: GitHub's limit for one step summary.
pub const MAX_BYTES: usize = 1024 * 1024;

/// Bytes of one failing check's output tail shown.
pub const MAX_TAIL_BYTES: usize = 8 * 1024;

/// Failing check results shown with their output.
pub const MAX_FAILED_SHOWN: usize = 20;

/// Timeline entries shown from the start, and from the end, of a long run.
pub const TIMELINE_HEAD: usize = 200;
/// See [`TIMELINE_HEAD`].
pub const TIMELINE_TAIL: usize = 100;

/// Files listed in the diffstat.
pub const MAX_STAT_FILES: usize = 200;

/// Room kept for the notes and fences around the diff.
const SLACK: usize = 1024;

/// `text` on one line, safe in a table cell or in prose: control
/// characters and newlines shown escaped, `& < >` as entities, Markdown
/// punctuation and `|` backslash-escaped.
pub fn cell(text: &str) -> String {
    let text = escape_line(text);
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '#' | '~' | '!' | '(' | ')' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// `content` in a fenced code block whose fence is longer than any run of
/// backticks in it.
pub fn code_block(lang: &str, content: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in content.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat((longest + 1).max(3));
    let nl = if content.ends_with('\n') || content.is_empty() {
        ""
    } else {
        "\n"
    };
    format!("{fence}{lang}\n{content}{nl}{fence}\n")
}

/// The first `max` bytes of `text` at most, cut at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The whole lines of `text` that fit in `budget` bytes, and how many
/// lines were left out.
fn whole_lines(text: &str, budget: usize) -> (&str, usize) {
    if text.len() <= budget {
        return (text, 0);
    }
    let end = text[..budget].rfind('\n').map_or(0, |i| i + 1);
    (&text[..end], text[end..].lines().count())
}

/// The run in Markdown, at most [`MAX_BYTES`].
pub fn run(report: &RunReport, secrets: &Secrets) -> String {
    let r = report.redacted(secrets);
    let m = super::model::build(&r.records);
    let mut head = String::new();
    summary(&mut head, &r, &m);
    checks(&mut head, &m);
    connections(&mut head, &m);
    denials(&mut head, &m);
    timeline(&mut head, &r, &m);
    let mut tail = String::new();
    let _ = writeln!(
        tail,
        "\n<sub>written by wf {}; secrets in the environment and key-shaped strings are shown as \\[redacted\\]</sub>",
        env!("CARGO_PKG_VERSION")
    );
    let head = cut(&head, MAX_BYTES / 2).to_string();
    let budget = MAX_BYTES.saturating_sub(head.len() + tail.len() + SLACK);
    let mut out = head;
    changes(&mut out, &r, budget);
    out.push_str(&tail);
    debug_assert!(out.len() <= MAX_BYTES, "{} bytes", out.len());
    out
}

fn status_mark(status: &str) -> &'static str {
    match status {
        "succeeded" => "✅",
        "dry_run" | "running" => "🔵",
        "paused" | "interrupted" => "⏸️",
        _ => "❌",
    }
}

fn summary(o: &mut String, r: &Redacted, m: &Model) {
    let s = &r.summary;
    let _ = writeln!(o, "# wf run {}: {}\n", cell(&r.id), cell(&s.spec.name));
    let _ = writeln!(
        o,
        "**{} {}**{}\n",
        status_mark(&s.status),
        cell(&s.status),
        s.reason
            .as_deref()
            .map(|why| format!(": {}", cell(why)))
            .unwrap_or_default()
    );
    let t = &s.totals;
    let mut rows: Vec<(&str, String)> = vec![
        (
            "task",
            format!(
                "{}{} ({})",
                cell(&s.spec.name),
                s.spec
                    .version
                    .as_deref()
                    .map(|v| format!(" {}", cell(v)))
                    .unwrap_or_default(),
                cell(&s.spec.path)
            ),
        ),
        ("model", cell(&s.model)),
        ("started", cell(&s.started_at)),
        (
            "trace",
            match &r.verified {
                Ok(()) => format!(
                    "✅ verifies ({} events, hash chain intact){}",
                    r.records.len(),
                    if r.torn_tail {
                        "; last line cut short by a crash"
                    } else {
                        ""
                    }
                ),
                Err(why) => format!("❌ FAILS verification: {}", cell(why)),
            },
        ),
    ];
    if let Some(sandbox) = &m.sandbox {
        rows.push((
            "sandbox",
            if sandbox.off {
                "⚠️ OFF: commands ran unconfined".to_string()
            } else {
                format!("confined, network {}", cell(&sandbox.network))
            },
        ));
    }
    rows.push((
        "turns",
        format!(
            "{} ({})",
            t.turns,
            crate::report::describe::plural(t.repairs as usize, "repair round")
        ),
    ));
    rows.push((
        "tool calls",
        format!("{} ({} denied)", s.tool_calls, s.denials),
    ));
    rows.push((
        "tokens",
        match (t.input_tokens, t.output_tokens) {
            (Some(i), Some(out)) => format!(
                "{i} in, {out} out, {} cache reads",
                t.cache_read_input_tokens
            ),
            _ => "unknown".to_string(),
        },
    ));
    rows.push((
        "cost",
        t.cost_usd.map_or("unknown".to_string(), |c| {
            format!(
                "{}{}",
                crate::report::describe::usd(c),
                if t.cost_estimated { " (estimate)" } else { "" }
            )
        }),
    ));
    rows.push((
        "changed files",
        format!(
            "{}{}",
            s.files_changed.len(),
            if s.applied { " (applied)" } else { "" }
        ),
    ));
    for a in &s.approvals {
        rows.push((
            "checkpoint",
            // Who, how and when only as far as known: a pause has no one.
            format!(
                "{} {}{}{}{}{}",
                cell(&a.checkpoint),
                cell(&a.decision),
                known(" by ", a.by.as_deref()),
                known(" via ", a.via.as_deref()),
                known(" at ", a.at.as_deref()),
                a.comment
                    .as_deref()
                    .map(|c| format!(": {}", cell(c)))
                    .unwrap_or_default()
            ),
        ));
    }
    o.push_str("| | |\n|---|---|\n");
    for (k, v) in rows {
        let _ = writeln!(o, "| {k} | {v} |");
    }
    o.push('\n');
}

/// The connections through wf's proxy, one line each (as `wf run`'s
/// progress words them).
fn connections(o: &mut String, m: &Model) {
    if m.connections.is_empty() {
        return;
    }
    o.push_str("## Network\n\n");
    for (line, _) in &m.connections {
        let _ = writeln!(o, "- {}", cell(line));
    }
    o.push('\n');
}

/// `label value` as a table cell, or nothing for no value.
fn known(label: &str, value: Option<&str>) -> String {
    value.map_or(String::new(), |v| format!("{label}{}", cell(v)))
}

fn checks(o: &mut String, m: &Model) {
    let results: Vec<&super::model::Check> = m
        .checks
        .iter()
        .filter_map(|item| match item {
            CheckItem::Check(c) => Some(c),
            _ => None,
        })
        .collect();
    if results.is_empty() {
        return;
    }
    o.push_str("## Checks\n\n| round | check | result | exit | time |\n|---|---|---|---|---|\n");
    for c in &results {
        let verdict = if c.passed {
            "✅ passed"
        } else if c.timed_out {
            "❌ timed out"
        } else {
            "❌ failed"
        };
        let _ = writeln!(
            o,
            "| {} | {} | {verdict} | {} | {:.1}s |",
            c.round,
            cell(c.name),
            c.exit_code.map_or("-".to_string(), |c| c.to_string()),
            c.duration_ms as f64 / 1000.0
        );
    }
    let failed: Vec<&&super::model::Check> = results.iter().filter(|c| !c.passed).collect();
    if failed.is_empty() {
        o.push('\n');
        return;
    }
    o.push_str("\n### Failing checks' output\n\n");
    for c in failed.iter().take(MAX_FAILED_SHOWN) {
        let tail = escape_controls(c.tail);
        // The end of the output says why it failed: keep the end.
        let mut start = tail.len().saturating_sub(MAX_TAIL_BYTES);
        while !tail.is_char_boundary(start) {
            start += 1;
        }
        let shown = &tail[start..];
        let _ = write!(
            o,
            "<details><summary>{} (round {}){}</summary>\n\n{}\n</details>\n\n",
            cell(c.name),
            c.round,
            if start > 0 {
                format!(", last {} bytes", shown.len())
            } else {
                String::new()
            },
            code_block("text", shown)
        );
    }
    if failed.len() > MAX_FAILED_SHOWN {
        let _ = writeln!(
            o,
            "_{} more failing results not shown; `wf show` lists them._\n",
            failed.len() - MAX_FAILED_SHOWN
        );
    }
}

fn denials(o: &mut String, m: &Model) {
    let denied: Vec<String> = m
        .denials
        .iter()
        .map(|(rule, message)| format!("- ⛔ \\[{}\\] {}", cell(rule), cell(message)))
        .collect();
    if denied.is_empty() {
        return;
    }
    let _ = writeln!(o, "## Denied calls ({})\n", denied.len());
    for d in denied.iter().take(50) {
        let _ = writeln!(o, "{d}");
    }
    if denied.len() > 50 {
        let _ = writeln!(o, "- … {} more", denied.len() - 50);
    }
    o.push('\n');
}

/// The timeline as `wf show` lays it out (time, kind in a column, text,
/// further lines under the text), from the entries both reports show.
fn timeline(o: &mut String, r: &Redacted, m: &Model) {
    let lines: Vec<String> = m
        .timeline
        .iter()
        .map(|item| {
            let e = &item.entry;
            let mut text = format!("{:<10} {}", e.kind, e.text);
            for line in e.more.iter().flat_map(|m| m.lines()) {
                let _ = write!(text, "\n{:21}{line}", "");
            }
            // A long entry (a big context list) keeps its first lines.
            let mut entry: String = text.lines().take(12).collect::<Vec<_>>().join("\n");
            if text.lines().count() > 12 {
                entry.push_str("\n           …");
            }
            let entry = cut(&entry, 600).to_string();
            format!("{:>7.1}s  {entry}", item.t_ms as f64 / 1000.0)
        })
        .collect();
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(o, "## Timeline\n");
    let mut text = String::new();
    if lines.len() > TIMELINE_HEAD + TIMELINE_TAIL {
        for l in &lines[..TIMELINE_HEAD] {
            let _ = writeln!(text, "{l}");
        }
        let _ = writeln!(
            text,
            "   …  {} events left out; `wf show {}` has them all",
            lines.len() - TIMELINE_HEAD - TIMELINE_TAIL,
            r.id
        );
        for l in &lines[lines.len() - TIMELINE_TAIL..] {
            let _ = writeln!(text, "{l}");
        }
    } else {
        for l in &lines {
            let _ = writeln!(text, "{l}");
        }
    }
    o.push_str(&code_block("text", &text));
    o.push('\n');
}

fn changes(o: &mut String, r: &Redacted, budget: usize) {
    let Some(patch) = r.patch.as_deref().filter(|p| !p.trim().is_empty()) else {
        o.push_str("## Changes\n\nNo change.\n");
        return;
    };
    o.push_str("## Changes\n\n");
    let stat = super::diff::stat(patch);
    let stat_lines: Vec<&str> = stat.lines().collect();
    let stat = if stat_lines.len() > MAX_STAT_FILES + 1 {
        let mut s: String = stat_lines[..MAX_STAT_FILES]
            .iter()
            .map(|l| format!("{l}\n"))
            .collect();
        let _ = writeln!(
            s,
            " … {} more files\n{}",
            stat_lines.len() - 1 - MAX_STAT_FILES,
            stat_lines.last().unwrap_or(&"")
        );
        s
    } else {
        stat
    };
    let stat_block = code_block("text", &stat);
    let budget = budget.saturating_sub(stat_block.len() + 200);
    o.push_str(&stat_block);
    let shown = super::diff::patch(patch, None, false);
    // The fence may need to be longer than three backticks; keep room.
    let (lines, left) = whole_lines(&shown, budget.saturating_sub(64));
    o.push_str("\n<details><summary>The diff</summary>\n\n");
    o.push_str(&code_block("diff", lines));
    o.push_str("\n</details>\n");
    if left > 0 {
        let _ = writeln!(
            o,
            "\n_The diff is cut here to keep this summary under 1 MiB: {left} more lines are in {}._",
            cell(&r.patch_path)
        );
    }
}

/// The index of a folder of runs in Markdown: one row per run, linking its
/// report, with status, cost and changed files.
pub fn index(title: &str, entries: &[IndexEntry], secrets: &Secrets) -> String {
    let red = |t: &str| cell(&secrets.redact(t));
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", red(title));
    let _ = writeln!(
        o,
        "{} run{}, total cost {}\n",
        entries.len(),
        if entries.len() == 1 { "" } else { "s" },
        super::run::total_cost(entries)
    );
    o.push_str(
        "| run | task | status | started | cost | changed files |\n|---|---|---|---|---|---|\n",
    );
    for e in entries {
        let s = &e.summary;
        let problem = e
            .problem
            .as_deref()
            .map(|p| format!(" ❌ trace invalid: {}", red(p)))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "| [{}]({}) | {} | {} {}{problem} | {} | {} | {}{} |",
            red(&e.id),
            e.link.replace(['(', ')', ' '], ""),
            red(&s.spec.name),
            status_mark(&s.status),
            red(&s.status),
            red(&s.started_at),
            s.totals
                .cost_usd
                .map_or("unknown".to_string(), crate::report::describe::usd),
            s.files_changed.len(),
            if s.applied { " (applied)" } else { "" }
        );
        if o.len() > MAX_BYTES - 4096 {
            o.push_str("\n_… more runs left out to stay under 1 MiB._\n");
            break;
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::event::{Event, Record, RunStatus, Totals};

    fn rec(seq: u64, event: Event) -> Record {
        Record {
            seq,
            t_ms: seq * 10,
            event,
            hash: String::new(),
        }
    }

    fn report(patch: String, check_output: &str) -> RunReport {
        let records = vec![
            rec(
                1,
                Event::PermissionDenied {
                    call_id: "c1".into(),
                    tool: "write_file".into(),
                    rule: "protect".into(),
                    message: "write to migrations/1.sql denied: protected | <b>".into(),
                },
            ),
            rec(
                2,
                Event::CheckResult {
                    round: 0,
                    name: "tests".into(),
                    passed: false,
                    exit_code: Some(1),
                    timed_out: false,
                    output_hash: String::new(),
                    output_tail: check_output.into(),
                    truncated: false,
                    duration_ms: 1500,
                },
            ),
            rec(
                3,
                Event::RunFinished {
                    status: RunStatus::ChecksFailed,
                    reason: Some("check `tests` still fails".into()),
                    diff_hash: None,
                    files_changed: vec!["a.rs".into()],
                    totals: Totals::default(),
                },
            ),
        ];
        RunReport {
            id: "r1".into(),
            records,
            live: false,
            patch: Some(patch),
            verified: Ok(()),
            torn_tail: false,
            task: Err("n/a".into()),
            patch_path: ".wf/runs/r1/diff.patch".into(),
        }
    }

    fn small_patch() -> String {
        "diff --git a/a.rs b/a.rs\n--- a/a.rs\n+++ b/a.rs\n@@ -1 +1 @@\n-old\n+new\n".into()
    }

    #[test]
    fn the_summary_checks_denials_and_diff_are_there() {
        let md = run(
            &report(small_patch(), "thread 'x' panicked\n```\n# not a heading"),
            &Secrets::none(),
        );
        assert!(
            md.contains("**❌ checks\\_failed**: check \\`tests\\` still fails"),
            "{md}"
        );
        assert!(md.contains("| tests | ❌ failed | 1 | 1.5s |"), "{md}");
        assert!(
            md.contains(
                "- ⛔ \\[protect\\] write to migrations/1.sql denied: protected \\| &lt;b&gt;"
            ),
            "{md}"
        );
        // The check output holds three backticks: the fence has four.
        assert!(
            md.contains("````text\nthread 'x' panicked\n```\n# not a heading\n````"),
            "{md}"
        );
        assert!(md.contains("```diff\ndiff --git a/a.rs b/a.rs\n"), "{md}");
        assert!(md.contains(" a.rs | +1 -1"), "{md}");
        assert!(md.contains("## Timeline"), "{md}");
    }

    #[test]
    fn a_pause_names_no_one_and_one_repair_round_is_singular() {
        use crate::record::event::{CheckpointName, CheckpointState};
        let mut r = report(small_patch(), "boom");
        if let Some(Event::RunFinished { totals, .. }) = r.records.last_mut().map(|r| &mut r.event)
        {
            totals.turns = 5;
            totals.repairs = 1;
        }
        r.records.insert(
            0,
            rec(
                0,
                Event::Checkpoint {
                    name: CheckpointName::Apply,
                    state: CheckpointState::Paused,
                    by: None,
                    via: None,
                    comment: None,
                    commit: false,
                    at: Some("2024-01-01T00:01:00Z".into()),
                    step: None,
                    diff_sha256: None,
                },
            ),
        );
        let md = run(&r, &Secrets::none());
        assert!(!md.contains("by ?") && !md.contains("via ?"), "{md}");
        assert!(
            md.contains("| checkpoint | apply paused at 2024-01-01T00:01:00Z |"),
            "{md}"
        );
        assert!(md.contains("| turns | 5 (1 repair round) |"), "{md}");
    }

    #[test]
    fn a_huge_diff_is_cut_to_keep_the_document_under_one_mebibyte() {
        let mut patch =
            String::from("diff --git a/big b/big\n--- a/big\n+++ b/big\n@@ -0,0 +1,400000 @@\n");
        for i in 0..400_000 {
            patch.push_str(&format!("+line {i} of a generated file\n"));
        }
        assert!(patch.len() > 8 * MAX_BYTES);
        let md = run(&report(patch, "boom"), &Secrets::none());
        assert!(md.len() <= MAX_BYTES, "{} bytes", md.len());
        assert!(
            md.len() > MAX_BYTES - 8 * 1024,
            "uses its room: {}",
            md.len()
        );
        assert!(md.contains("+line 0 of a generated file\n"));
        assert!(!md.contains("+line 399999 of"));
        assert!(
            md.contains("more lines are in .wf/runs/r1/diff.patch"),
            "{}",
            &md[md.len() - 500..]
        );
        // The code block is closed after the cut.
        let after = &md[md.rfind("```diff").unwrap()..];
        assert!(after.contains("\n```\n"), "fence closed");
    }

    #[test]
    fn a_huge_check_output_keeps_its_end() {
        let output = format!("{}\nTHE REASON", "x".repeat(100_000));
        let md = run(&report(small_patch(), &output), &Secrets::none());
        assert!(md.contains("THE REASON"));
        assert!(md.contains(&format!(", last {MAX_TAIL_BYTES} bytes")));
        assert!(md.len() < 40_000, "{}", md.len());
    }

    #[test]
    fn secrets_are_redacted() {
        let secrets = Secrets::from_vars([("MY_TOKEN", "abcdefgh12345678")]);
        let md = run(
            &report(
                small_patch().replace("+new", "+abcdefgh12345678"),
                "token abcdefgh12345678",
            ),
            &secrets,
        );
        assert!(!md.contains("abcdefgh12345678"), "{md}");
        assert!(md.contains("+[redacted]"));
    }

    #[test]
    fn cells_cannot_break_a_table_or_add_markup() {
        assert_eq!(
            cell("a|b\n<img src=x>*c*"),
            "a\\|b\\\\n&lt;img src=x&gt;\\*c\\*"
        );
    }

    #[test]
    fn the_index_has_a_row_per_run() {
        let r = report(small_patch(), "x");
        let summary = crate::record::summary::from_records(&r.records);
        let md = index(
            "wf runs",
            &[IndexEntry {
                id: "r1".into(),
                summary,
                problem: None,
                link: "r1/report.md".into(),
            }],
            &Secrets::none(),
        );
        assert!(md.contains("| [r1](r1/report.md) |"), "{md}");
        assert!(md.contains("❌ checks\\_failed"), "{md}");
        assert!(md.contains("| 1 |"), "{md}");
    }
}
