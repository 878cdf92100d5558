//! Showing a patch: a stat, and the patch itself, colored on a terminal.

use std::fmt::Write;

/// Lines of patch shown before "answer d for the whole diff".
pub const PREVIEW_LINES: usize = 120;

/// ` path | +3 -1` per file and a total line.
pub fn stat(patch: &str) -> String {
    let files = crate::workspace::diffstat(patch);
    let width = files.iter().map(|f| f.0.len()).max().unwrap_or(0).min(60);
    let mut out = String::new();
    let (mut add, mut del) = (0, 0);
    for (path, a, d) in &files {
        let _ = writeln!(out, " {path:<width$} | +{a} -{d}");
        add += a;
        del += d;
    }
    let _ = writeln!(
        out,
        " {} file{} changed, {add} insertion{}(+), {del} deletion{}(-)",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        if add == 1 { "" } else { "s" },
        if del == 1 { "" } else { "s" }
    );
    out
}

/// The patch, at most `max_lines` lines (all when `None`), colored when `color`.
pub fn patch(patch: &str, max_lines: Option<usize>, color: bool) -> String {
    let mut out = String::new();
    let total = patch.lines().count();
    for line in patch.lines().take(max_lines.unwrap_or(usize::MAX)) {
        let painted = if !color {
            line.to_string()
        } else if line.starts_with("+++")
            || line.starts_with("---")
            || line.starts_with("diff --git")
        {
            format!("\x1b[1m{line}\x1b[0m")
        } else if line.starts_with('+') {
            format!("\x1b[32m{line}\x1b[0m")
        } else if line.starts_with('-') {
            format!("\x1b[31m{line}\x1b[0m")
        } else if line.starts_with("@@") {
            format!("\x1b[36m{line}\x1b[0m")
        } else {
            line.to_string()
        };
        let _ = writeln!(out, "{painted}");
    }
    if let Some(max) = max_lines
        && total > max
    {
        let _ = writeln!(out, "[… {} more lines]", total - max);
    }
    out
}
