//! The syntax of a `uses:` reference: `./path.yaml`, `../path.yaml`, or
//! `git+URL//PATH@REF`. Part of the task-file format, so validation can
//! report a bad reference at its line and column; finding and pinning the
//! recipe it names is `wf::recipes`' work.

/// A parsed `uses:` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A file relative to the referring file.
    Local(String),
    /// A file in a git repository.
    Git {
        /// The repository, as git accepts it.
        url: String,
        /// The file inside it.
        path: String,
        /// Tag, branch or commit id.
        reference: String,
    },
}

impl Reference {
    /// Parses a `uses:` value; `Err` says what is wrong with it.
    pub fn parse(text: &str) -> Result<Reference, String> {
        if let Some(rest) = text.strip_prefix("git+") {
            let (location, reference) = rest.rsplit_once('@').ok_or_else(|| {
                format!(
                    "`{text}` has no `@REF`; pin a tag, a branch or a commit: `…//file.yaml@v1.0.0`"
                )
            })?;
            // The `//` after the scheme's own `://` separates the repository
            // from the file.
            let search_from = location.find("://").map_or(0, |i| i + 3);
            let split = location[search_from..]
                .find("//")
                .map(|i| i + search_from)
                .ok_or_else(|| {
                    format!("`{text}` does not name a file: write `git+URL//PATH@REF`")
                })?;
            let (url, path) = (&location[..split], &location[split + 2..]);
            if url.is_empty() || url.starts_with('-') {
                return Err(format!("`{text}` has no usable repository URL"));
            }
            check_inner_path(path).map_err(|why| format!("`{text}`: the file path {why}"))?;
            if reference.is_empty()
                || reference.starts_with('-')
                || reference.contains("..")
                || reference.chars().any(|c| c.is_whitespace() || c == ':')
            {
                return Err(format!(
                    "`{text}`: `{reference}` is not a tag, branch or commit"
                ));
            }
            return Ok(Reference::Git {
                url: url.to_string(),
                path: path.to_string(),
                reference: reference.to_string(),
            });
        }
        if text.starts_with("./") || text.starts_with("../") {
            if !(text.ends_with(".yaml") || text.ends_with(".yml")) {
                return Err(format!("`{text}` is not a task file (.yaml or .yml)"));
            }
            return Ok(Reference::Local(text.to_string()));
        }
        Err(format!(
            "`{text}` is not a recipe reference: start a path with `./` or `../`, or write `git+URL//PATH@REF`"
        ))
    }
}

/// A path inside a git repository: relative, without `..`, naming a file.
fn check_inner_path(path: &str) -> Result<(), String> {
    if path.is_empty() || path.ends_with('/') {
        return Err("is empty".into());
    }
    crate::sys::paths::check_relative(path)
}
