//! Checks on relative paths written by task-file authors and by the model:
//! nothing may name a place outside the repository.

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
