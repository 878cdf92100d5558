//! What a reviewer must not miss in a patch: changes that alter how git,
//! CI or the system treat files, called out one line each at the apply
//! checkpoint, whatever the size of the diff around them.

use super::text::escape_line;

use crate::patch::{Callout, Happened, Why};

/// Every sensitive change in `patch` (a unified `git diff --binary` patch,
/// see [`crate::patch::callouts`]), one line each naming the path (control
/// characters escaped), what happened to it and why it matters.
pub fn callouts(patch: &str) -> Vec<String> {
    lines(&crate::patch::callouts(patch))
}

/// Each call-out as a line: the path (escaped), what happened to it, why
/// it matters.
pub fn lines(callouts: &[Callout]) -> Vec<String> {
    callouts
        .iter()
        .map(|c| {
            let path = escape_line(&c.path);
            let what = match c.happened {
                Happened::Added => "added",
                Happened::Deleted => "deleted",
                Happened::Edited => "edited",
            };
            let git = |detail: &str| {
                format!("{path} ({what}): changes how git treats files ({detail})")
            };
            match &c.why {
                Why::GitAttributes => git("diff, merge, filters and line endings"),
                Why::GitIgnore => git("which files git ignores"),
                Why::GitModules => git("where submodules come from"),
                Why::Ci => format!(
                    "{path} ({what}): CI workflow or repository automation (`.github/`), run by the forge with the repository's secrets"
                ),
                Why::Executable => format!("{path} ({what}): becomes executable"),
                Why::Link(target) => {
                    let target = target
                        .as_deref()
                        .map(|t| format!(" to `{}`", escape_line(t)))
                        .unwrap_or_default();
                    format!("{path} ({what}): is a symbolic link{target}")
                }
                Why::Submodule => format!(
                    "{path} ({what}): is a submodule (a commit of another repository)"
                ),
            }
        })
        .collect()
}

/// The callouts of `patch` as a block to print above a diff ("Look
/// closely:" and one `!` line each), or nothing when there are none.
pub fn callout_block(patch: &str) -> String {
    block(&crate::patch::callouts(patch))
}

/// [`callout_block`] of call-outs already read.
pub fn block(callouts: &[Callout]) -> String {
    let lines = lines(callouts);
    if lines.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nLook closely:\n");
    for line in lines {
        out.push_str(&format!("  ! {line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(patch: &str) -> String {
        let c = callouts(patch);
        assert_eq!(c.len(), 1, "{c:?}");
        c[0].clone()
    }

    #[test]
    fn a_gitattributes_at_any_depth_is_called_out() {
        let patch = "diff --git a/src/.gitattributes b/src/.gitattributes
new file mode 100644
index 0000000..6313b56
--- /dev/null
+++ b/src/.gitattributes
@@ -0,0 +1 @@
+* -diff
";
        assert_eq!(
            one(patch),
            "src/.gitattributes (added): changes how git treats files (diff, merge, filters and line endings)"
        );
    }

    #[test]
    fn gitignore_edited_and_gitmodules_deleted() {
        let patch = "diff --git a/.gitignore b/.gitignore
index 1111111..2222222 100644
--- a/.gitignore
+++ b/.gitignore
@@ -1 +1,2 @@
 target/
+*.rs
diff --git a/src/lib.rs b/src/lib.rs
index 1111111..2222222 100644
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -1 +1 @@
-a
+b
diff --git a/vendor/.gitmodules b/vendor/.gitmodules
deleted file mode 100644
index 1111111..0000000
--- a/vendor/.gitmodules
+++ /dev/null
@@ -1 +0,0 @@
-[submodule \"x\"]
";
        assert_eq!(
            callouts(patch),
            [
                ".gitignore (edited): changes how git treats files (which files git ignores)",
                "vendor/.gitmodules (deleted): changes how git treats files (where submodules come from)",
            ]
        );
    }

    #[test]
    fn ci_workflows_are_called_out() {
        let patch = "diff --git a/.github/workflows/ci.yml b/.github/workflows/ci.yml
index 1111111..2222222 100644
--- a/.github/workflows/ci.yml
+++ b/.github/workflows/ci.yml
@@ -1 +1 @@
-on: push
+on: pull_request_target
";
        let c = one(patch);
        assert!(
            c.starts_with(".github/workflows/ci.yml (edited): CI workflow"),
            "{c}"
        );
        // A file merely named like the folder is not.
        assert!(callouts(&patch.replace(".github/workflows/ci.yml", "docs/.github")).is_empty());
    }

    #[test]
    fn files_that_become_executable() {
        let added = "diff --git a/tools/run.sh b/tools/run.sh
new file mode 100755
index 0000000..1111111
--- /dev/null
+++ b/tools/run.sh
@@ -0,0 +1 @@
+#!/bin/sh
";
        assert_eq!(one(added), "tools/run.sh (added): becomes executable");
        let chmod = "diff --git a/build.rs b/build.rs
old mode 100644
new mode 100755
";
        assert_eq!(one(chmod), "build.rs (edited): becomes executable");
        let not_any_more = "diff --git a/x.sh b/x.sh
old mode 100755
new mode 100644
";
        assert!(callouts(not_any_more).is_empty());
        let deleted = "diff --git a/x.sh b/x.sh
deleted file mode 100755
index 1111111..0000000
--- a/x.sh
+++ /dev/null
@@ -1 +0,0 @@
-echo
";
        assert!(callouts(deleted).is_empty());
    }

    #[test]
    fn symbolic_links_are_called_out_with_their_target() {
        let patch = "diff --git a/src/config.rs b/src/config.rs
new file mode 120000
index 0000000..1111111
--- /dev/null
+++ b/src/config.rs
@@ -0,0 +1 @@
+/home/user/.ssh/id_ed25519
\\ No newline at end of file
";
        assert_eq!(
            one(patch),
            "src/config.rs (added): is a symbolic link to `/home/user/.ssh/id_ed25519`"
        );
        let retyped = "diff --git a/a.rs b/a.rs
old mode 100644
new mode 120000
index 1111111..2222222
--- a/a.rs
+++ b/a.rs
@@ -1 +1 @@
-fn a() {}
+../../etc/passwd
";
        assert_eq!(
            one(retyped),
            "a.rs (edited): is a symbolic link to `../../etc/passwd`"
        );
    }

    #[test]
    fn several_reasons_for_one_file_and_binary_content() {
        let patch = "diff --git a/.github/hook b/.github/hook
new file mode 100755
index 0000000..1111111
GIT binary patch
literal 3
Kcmb=-00961

literal 0
HcmV?d00001

";
        let c = callouts(patch);
        assert_eq!(c.len(), 2, "{c:?}");
        assert!(c[0].contains("CI workflow"), "{c:?}");
        assert_eq!(c[1], ".github/hook (added): becomes executable");
    }

    #[test]
    fn quoted_paths_are_decoded_and_shown_escaped() {
        let patch = "diff --git \"a/x\\033[2K/.gitignore\" \"b/x\\033[2K/.gitignore\"
new file mode 100644
index 0000000..1111111
--- /dev/null
+++ \"b/x\\033[2K/.gitignore\"
@@ -0,0 +1 @@
+*
";
        let c = one(patch);
        assert!(c.starts_with("x\\x1b[2K/.gitignore (added)"), "{c}");
        let spaced = "diff --git a/my dir/.gitignore b/my dir/.gitignore
new file mode 100644
";
        assert!(one(spaced).starts_with("my dir/.gitignore (added)"));
    }

    #[test]
    fn ordinary_changes_are_not_called_out() {
        let patch = "diff --git a/src/gitignore.rs b/src/gitignore.rs
new file mode 100644
index 0000000..1111111
--- /dev/null
+++ b/src/gitignore.rs
@@ -0,0 +1 @@
+new mode 100755
";
        assert!(callouts(patch).is_empty());
        assert!(callouts("").is_empty());
    }
}
