//! Checks on relative paths written by task-file authors and by the model:
//! nothing may name a place outside the repository; and the one way to
//! say where a path is relative to another.

use std::path::{Component, Path};

/// Why a relative path is refused, or `Ok` when it stays inside the root.
///
/// Refused: absolute paths (`/x`, `\x`, `C:x`), home paths (`~`), and any
/// `..` component. This is the lexical check; the tool layer also resolves
/// symlinks before it touches a file.
pub fn check_relative(path: &str) -> Result<(), String> {
    if path.starts_with('/') || path.starts_with('\\') {
        return Err("is an absolute path".into());
    }
    if path.starts_with('~') {
        return Err("starts with `~`".into());
    }
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return Err("is an absolute path".into());
    }
    if path.split(['/', '\\']).any(|part| part == "..") {
        return Err("leaves the repository through `..`".into());
    }
    if path.contains('\0') {
        return Err("contains a NUL byte".into());
    }
    Ok(())
}

/// `path` relative to `root`, `/`-separated; `None` when not under it or not UTF-8.
///
/// Works on the raw bytes: it runs once per file of every walk, and
/// component-wise path handling dominated the walk's profile.
pub fn relative(root: &Path, path: &Path) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    let root = root.as_os_str().as_bytes();
    let path = path.as_os_str().as_bytes();
    let rest = path.strip_prefix(root)?;
    let rest = match rest.first() {
        Some(b'/') => &rest[1..],
        Some(_) if !root.ends_with(b"/") => return None,
        _ => rest,
    };
    let rest = rest.strip_prefix(b"./").unwrap_or(rest);
    if rest.is_empty() {
        return None;
    }
    std::str::from_utf8(rest).ok().map(str::to_string)
}

/// `to` relative to the directory `from`, `/`-separated, climbing with
/// `..` where needed; both absolute and normalized. `None` when they share
/// no root.
pub fn between(from: &Path, to: &Path) -> Option<String> {
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    if a.first() != b.first() {
        return None;
    }
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".to_string(); a.len() - common];
    parts.extend(
        b[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::check_relative;

    #[test]
    fn refuses_escapes() {
        for bad in [
            "/etc/passwd",
            "../x",
            "a/../../x",
            "~/x",
            "C:\\x",
            "a\\..\\b",
        ] {
            assert!(check_relative(bad).is_err(), "{bad}");
        }
        for good in ["a/b.rs", "src/**/*.rs", "..a/b", "a..b", "."] {
            assert!(check_relative(good).is_ok(), "{good}");
        }
    }
}

#[cfg(test)]
mod relative_tests {
    use super::{between, relative};
    use std::path::Path;

    #[test]
    fn relative_paths() {
        let root = Path::new("/repo");
        assert_eq!(
            relative(root, Path::new("/repo/src/a.rs")).as_deref(),
            Some("src/a.rs")
        );
        assert_eq!(relative(root, Path::new("/repo")), None);
        assert_eq!(relative(root, Path::new("/repository/x")), None);
        assert_eq!(
            relative(Path::new("/"), Path::new("/etc/x")).as_deref(),
            Some("etc/x")
        );
        assert_eq!(
            relative(Path::new("."), Path::new("./a/b")).as_deref(),
            Some("a/b")
        );
    }

    #[test]
    fn paths_between_directories() {
        assert_eq!(
            between(Path::new("/a/b"), Path::new("/a/b/c.yaml")).as_deref(),
            Some("c.yaml")
        );
        assert_eq!(
            between(Path::new("/a/b"), Path::new("/a/x/c.yaml")).as_deref(),
            Some("../x/c.yaml")
        );
        assert_eq!(
            between(Path::new("/a/b/c"), Path::new("/a")).as_deref(),
            Some("../..")
        );
    }
}
