//! A git patch, read once, the way `git apply` reads it: the files it
//! changes, each with its path, what happens to it and its line counts.
//!
//! Everything that shows a patch to a person (the diffstat at the apply
//! checkpoint, the call-outs, `wf report`) and the check before applying it
//! (which files the user changed meanwhile) take the files from here, so
//! what is counted and listed is what is applied. The reading follows the
//! format, not the look of a line:
//!
//! - a path is taken from the `+++`/`---` lines (the `---` one for a
//!   deletion), else from `rename to`/`copy to`, else from the `diff --git`
//!   header (whose two sides are the same with renames off, so it splits in
//!   the middle, spaces or not); a path git quotes (`"a/x\"y\tz"`: quotes,
//!   backslashes, control characters, newlines) is unquoted, so a name is
//!   never lost or split;
//! - a hunk's lines are counted by its `@@ -a,b +c,d @@` header, so an added
//!   line that looks like a header (`+++ x`, `diff --git …`) is a line of
//!   content, and a content line can never start a file of its own.

/// One file of a patch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilePatch {
    /// The file's path after the change (before it, for a deletion),
    /// unquoted; bytes that are not UTF-8 are replaced.
    pub path: String,
    /// The file is created.
    pub added: bool,
    /// The file is deleted.
    pub deleted: bool,
    /// The mode it has after the change, when the patch sets one.
    pub new_mode: Option<String>,
    /// The blob id it had before (`index <base>..<new>`), when given.
    pub base: Option<String>,
    /// Lines added.
    pub additions: usize,
    /// Lines removed.
    pub deletions: usize,
    /// A binary patch (`GIT binary patch`, or `Binary files … differ`).
    pub binary: bool,
    /// The first added line (a symbolic link's target).
    pub first_added: Option<String>,
}

/// Where the reader is in a file's part of the patch.
enum State {
    /// Extended header lines, or between hunks.
    Header,
    /// In a hunk, with this many old and new lines left.
    Hunk(usize, usize),
    /// In binary data, up to the next file.
    Binary,
}

/// The files of `patch`, in order (git writes them sorted by path).
pub fn files(patch: &str) -> Vec<FilePatch> {
    let mut out: Vec<FilePatch> = Vec::new();
    // The paths of the current file's `---` and `+++` lines, and of
    // `rename to`/`copy to`.
    let mut minus: Option<String> = None;
    let mut plus: Option<String> = None;
    let mut moved: Option<String> = None;
    let mut state = State::Header;
    let lines = patch
        .split_inclusive('\n')
        .map(|l| l.strip_suffix('\n').unwrap_or(l));
    for line in lines {
        if let State::Hunk(old, new) = &mut state {
            let file = out.last_mut();
            let consumed = match line.as_bytes().first() {
                Some(b'+') if *new > 0 => {
                    *new -= 1;
                    if let Some(file) = file {
                        file.additions += 1;
                        if file.first_added.is_none() {
                            file.first_added = Some(line[1..].to_string());
                        }
                    }
                    true
                }
                Some(b'-') if *old > 0 => {
                    *old -= 1;
                    if let Some(file) = file {
                        file.deletions += 1;
                    }
                    true
                }
                // A context line (an empty one: some tools strip the space).
                Some(b' ') | None if *old > 0 && *new > 0 => {
                    *old -= 1;
                    *new -= 1;
                    true
                }
                // "\ No newline at end of file"
                Some(b'\\') => true,
                _ => false,
            };
            if consumed {
                if let State::Hunk(0, 0) = state {
                    state = State::Header;
                }
                continue;
            }
            // A hunk shorter than its header says: read on as a header.
            state = State::Header;
        }
        if let Some(rest) = line.strip_prefix("diff --git ") {
            finish(out.last_mut(), &mut minus, &mut plus, &mut moved);
            out.push(FilePatch {
                path: header_path(rest),
                ..FilePatch::default()
            });
            state = State::Header;
            continue;
        }
        let Some(file) = out.last_mut() else {
            continue;
        };
        if matches!(state, State::Binary) {
            continue;
        }
        if let Some(counts) = line.strip_prefix("@@ ") {
            state = hunk(counts).map_or(State::Header, |(old, new)| State::Hunk(old, new));
        } else if line == "GIT binary patch" {
            file.binary = true;
            state = State::Binary;
        } else if line.starts_with("Binary files ") && line.ends_with(" differ") {
            file.binary = true;
        } else if let Some(mode) = line.strip_prefix("new file mode ") {
            file.added = true;
            file.new_mode = Some(mode.trim().to_string());
        } else if line.starts_with("deleted file mode ") {
            file.deleted = true;
        } else if let Some(mode) = line.strip_prefix("new mode ") {
            file.new_mode = Some(mode.trim().to_string());
        } else if let Some(ids) = line.strip_prefix("index ") {
            file.base = ids.split("..").next().map(str::to_string);
        } else if let Some(to) = line
            .strip_prefix("rename to ")
            .or_else(|| line.strip_prefix("copy to "))
        {
            moved = Some(unquote(to));
        } else if let Some(p) = line.strip_prefix("--- ") {
            minus = side_path(p, "a/");
        } else if let Some(p) = line.strip_prefix("+++ ") {
            plus = side_path(p, "b/");
        }
    }
    finish(out.last_mut(), &mut minus, &mut plus, &mut moved);
    out
}

/// Settles the path of a file once its part of the patch is read.
fn finish(
    file: Option<&mut FilePatch>,
    minus: &mut Option<String>,
    plus: &mut Option<String>,
    moved: &mut Option<String>,
) {
    let (minus, plus, moved) = (minus.take(), plus.take(), moved.take());
    if let Some(file) = file
        && let Some(path) = plus.or(moved).or(minus)
    {
        file.path = path;
    }
}

/// The old and new line counts of a hunk header (`-a,b +c,d @@ …`; a
/// missing count is 1).
fn hunk(counts: &str) -> Option<(usize, usize)> {
    let mut words = counts.split(' ');
    let count = |word: Option<&str>, sign: char| -> Option<usize> {
        let range = word?.strip_prefix(sign)?;
        match range.split_once(',') {
            Some((_, n)) => n.parse().ok(),
            None => range.parse::<usize>().ok().map(|_| 1),
        }
    };
    Some((count(words.next(), '-')?, count(words.next(), '+')?))
}

/// The path of a `---`/`+++` line: `None` for `/dev/null`; a name with a
/// space is followed by a tab, which is not part of it.
fn side_path(text: &str, prefix: &str) -> Option<String> {
    if text == "/dev/null" {
        return None;
    }
    let text = if text.starts_with('"') {
        text
    } else {
        text.strip_suffix('\t').unwrap_or(text)
    };
    let path = unquote(text);
    Some(path.strip_prefix(prefix).unwrap_or(&path).to_string())
}

/// The path of a `diff --git a/P b/P` header (either side quoted when P
/// has unusual characters). With renames off both sides name the same
/// file; when they do not, the new side is taken.
pub fn header_path(rest: &str) -> String {
    // Both sides the same length: `a/P b/P` splits at its middle space.
    let n = rest.len();
    let mid = n / 2;
    // (A space byte is a whole character, so the split is on a boundary.)
    if n >= 5 && !n.is_multiple_of(2) && rest.as_bytes()[mid] == b' ' {
        let (a, b) = (&rest[..mid], &rest[mid + 1..]);
        if let (Some(pa), Some(pb)) = (a.strip_prefix("a/"), b.strip_prefix("b/"))
            && pa == pb
        {
            return pa.to_string();
        }
        if let (Some(qa), Some(qb)) = (a.strip_prefix("\"a/"), b.strip_prefix("\"b/"))
            && qa == qb
        {
            return unquote(&format!("\"{qa}"));
        }
    }
    // Different sides: the text after the last ` b/` or ` "b/`.
    if let Some(i) = rest.rfind(" \"b/") {
        return unquote(&format!("\"{}", &rest[i + 4..]));
    }
    match rest.rfind(" b/") {
        Some(i) => rest[i + 3..].to_string(),
        None => rest.to_string(),
    }
}

/// A path as git writes it: as is, or in double quotes with C escapes
/// (`\t`, `\n`, `\"`, `\\`, octal bytes).
pub fn unquote(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return s.to_string();
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let mut it = inner.bytes().peekable();
    while let Some(b) = it.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match it.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(b'r') => bytes.push(b'\r'),
            Some(b'a') => bytes.push(7),
            Some(b'b') => bytes.push(8),
            Some(b'f') => bytes.push(12),
            Some(b'v') => bytes.push(11),
            Some(d @ b'0'..=b'7') => {
                let mut v = u32::from(d - b'0');
                for _ in 0..2 {
                    match it.peek() {
                        Some(&o @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(o - b'0');
                            it.next();
                        }
                        _ => break,
                    }
                }
                bytes.push(v as u8);
            }
            Some(other) => bytes.push(other),
            None => bytes.push(b'\\'),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// What happened to a file a [`Callout`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happened {
    /// It is created.
    Added,
    /// It is deleted.
    Deleted,
    /// It exists before and after.
    Edited,
}

/// Why a change must not be missed in a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// A `.gitattributes`: diff, merge, filters and line endings.
    GitAttributes,
    /// A `.gitignore`: which files git ignores.
    GitIgnore,
    /// A `.gitmodules`: where submodules come from.
    GitModules,
    /// Under a `.github/` folder: CI workflows and repository automation.
    Ci,
    /// Its mode becomes `100755`.
    Executable,
    /// Its mode becomes `120000`; the target, when the patch gives it.
    Link(Option<String>),
    /// Its mode becomes `160000`.
    Submodule,
}

/// A change that alters how git, CI or the system treat files: what the
/// review calls out whatever the size of the diff around it (see
/// `report::review` for how it reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callout {
    /// The file's path, as [`FilePatch::path`] (not escaped).
    pub path: String,
    /// What happened to the file.
    pub happened: Happened,
    /// Why it matters.
    pub why: Why,
}

/// Every sensitive change in `patch`, in the patch's order, a file's in the
/// order git file, CI, mode:
///
/// - `.gitattributes`, `.gitignore`, `.gitmodules` at any depth added,
///   edited or deleted;
/// - anything under a `.github/` folder;
/// - a file (not deleted) whose mode becomes `100755`, `120000` or
///   `160000`.
pub fn callouts(patch: &str) -> Vec<Callout> {
    let mut out = Vec::new();
    for file in files(patch) {
        let happened = if file.added {
            Happened::Added
        } else if file.deleted {
            Happened::Deleted
        } else {
            Happened::Edited
        };
        let mut push = |why| {
            out.push(Callout {
                path: file.path.clone(),
                happened,
                why,
            })
        };
        let name = file.path.rsplit('/').next().unwrap_or(&file.path);
        match name {
            ".gitattributes" => push(Why::GitAttributes),
            ".gitignore" => push(Why::GitIgnore),
            ".gitmodules" => push(Why::GitModules),
            _ => {}
        }
        if file.path.split('/').rev().skip(1).any(|d| d == ".github") {
            push(Why::Ci);
        }
        if file.deleted {
            continue;
        }
        match file.new_mode.as_deref() {
            Some("100755") => push(Why::Executable),
            Some("120000") => push(Why::Link(file.first_added.clone())),
            Some("160000") => push(Why::Submodule),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `git diff --cached --binary` wrote for these names (git 2.47,
    /// `core.quotepath=false`).
    const NAMES: &str = "diff --git \"a/a\\tb\\nc.txt\" \"b/a\\tb\\nc.txt\"
new file mode 100644
index 0000000..b680253
--- /dev/null
+++ \"b/a\\tb\\nc.txt\"
@@ -0,0 +1 @@
+z
diff --git a/bin file b/bin file
new file mode 100644
index 0000000000000000000000000000000000000000..bdc955b7b2e610ad5a72302b139a2e6cb325519a
GIT binary patch
literal 2
JcmZQz1ONa700IC2

literal 0
HcmV?d00001

diff --git a/my file.txt b/my file.txt
new file mode 100644
index 0000000..587be6b
--- /dev/null
+++ b/my file.txt\t
@@ -0,0 +1 @@
+x
diff --git \"a/tests/test_\\\"ok\\\".py\" \"b/tests/test_\\\"ok\\\".py\"
new file mode 100644
index 0000000..975fbec
--- /dev/null
+++ \"b/tests/test_\\\"ok\\\".py\"
@@ -0,0 +1,2 @@
++++ b/not-a-file
+diff --git a/fake b/fake
diff --git a/ünï.txt b/ünï.txt
deleted file mode 100644
index e556b83..0000000
--- a/ünï.txt
+++ /dev/null
@@ -1,3 +0,0 @@
-w
---- a/x
-
";

    #[test]
    fn every_file_is_found_whatever_its_name() {
        let files = files(NAMES);
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "a\tb\nc.txt",
                "bin file",
                "my file.txt",
                "tests/test_\"ok\".py",
                "ünï.txt"
            ]
        );
        assert!(files[1].binary && files[1].additions == 0);
        // Content that looks like headers is content.
        assert_eq!((files[3].additions, files[3].deletions), (2, 0));
        assert_eq!(files[3].first_added.as_deref(), Some("+++ b/not-a-file"));
        assert!(files[4].deleted);
        assert_eq!((files[4].additions, files[4].deletions), (0, 3));
        assert_eq!(files[4].base.as_deref(), Some("e556b83"));
        assert!(files[0].added && files[0].new_mode.as_deref() == Some("100644"));
    }

    #[test]
    fn hunks_are_counted_by_their_headers() {
        let patch = "diff --git a/x b/x
index 1111111..2222222 100644
--- a/x
+++ b/x
@@ -1,2 +1,2 @@
 keep
-old
+new
@@ -10 +10,2 @@
 ten
+eleven
\\ No newline at end of file
diff --git a/y b/y
old mode 100644
new mode 100755
";
        let files = files(patch);
        assert_eq!(files.len(), 2, "{files:?}");
        assert_eq!((files[0].additions, files[0].deletions), (2, 1));
        assert_eq!(files[1].path, "y");
        assert_eq!(files[1].new_mode.as_deref(), Some("100755"));
        assert!(self::files("").is_empty());
    }

    #[test]
    fn quoted_headers() {
        assert_eq!(header_path("\"a/x\\033y\" \"b/x\\033y\""), "x\x1by");
        assert_eq!(header_path("a/my dir/f b/my dir/f"), "my dir/f");
        assert_eq!(unquote("\"\\303\\274\""), "ü");
    }
}
