//! Globs as wf uses them everywhere (context, permissions): matched against
//! `/`-separated paths relative to the repository root; `*` and `?` stay
//! within one path component, `**` crosses components, `{a,b}` alternates.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

/// Compiles one glob with wf's rules.
pub fn compile(pattern: &str) -> Result<Glob, String> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| e.kind().to_string())
}

/// A rendered glob in its one spelling: no `.` components and no empty
/// ones (`./**/*.rs` → `**/*.rs`, `src//*.rs` → `src/*.rs`), so that a
/// glob built from a path input (`{{ inputs.path }}/**/*.rs` with `.`)
/// matches what it names. Paths wf matches never hold such components.
/// A glob that is only `.` components stays as written.
pub fn normalize(pattern: &str) -> String {
    let parts: Vec<&str> = pattern
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() {
        pattern.to_string()
    } else {
        parts.join("/")
    }
}

/// Compiles a list of globs into one matcher. On failure, the index of the
/// bad pattern and why.
pub fn compile_set(patterns: &[String]) -> Result<GlobSet, (usize, String)> {
    let mut builder = GlobSetBuilder::new();
    for (i, p) in patterns.iter().enumerate() {
        builder.add(compile(p).map_err(|e| (i, e))?);
    }
    builder.build().map_err(|e| (0, e.to_string()))
}

/// The directory a glob's matches must all live under: its leading
/// components that hold no glob syntax (`src/config/**/*.rs` → `src/config`).
/// Empty when the first component already has glob syntax. A pattern with no
/// glob syntax at all is a file path, whose base is its parent.
pub fn literal_base(pattern: &str) -> String {
    let parts: Vec<&str> = pattern.split('/').collect();
    let mut base = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let special = part.contains(['*', '?', '[', '{', '\\']);
        if special || i + 1 == parts.len() {
            break;
        }
        base.push(*part);
    }
    base.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_stays_in_a_component() {
        let set = compile_set(&["src/*.rs".into()]).unwrap();
        assert!(set.is_match("src/a.rs"));
        assert!(!set.is_match("src/x/a.rs"));
        let set = compile_set(&["src/**/*.rs".into()]).unwrap();
        assert!(set.is_match("src/a.rs") && set.is_match("src/x/y/a.rs"));
    }

    #[test]
    fn literal_bases() {
        assert_eq!(literal_base("src/config/**/*.rs"), "src/config");
        assert_eq!(literal_base("**/*.rs"), "");
        assert_eq!(literal_base("config/app.ini"), "config");
        assert_eq!(literal_base("README.md"), "");
    }

    #[test]
    fn bad_globs_are_reported() {
        assert_eq!(compile_set(&["ok".into(), "a/{b".into()]).unwrap_err().0, 1);
    }
}
