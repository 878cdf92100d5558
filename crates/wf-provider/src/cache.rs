//! The opt-in response cache (`wf run --cache`, or `model.cache: true`).
//!
//! Answers are stored in the user's cache directory, never in the
//! repository (a committed answer would be served as the model's):
//! `~/.cache/wf/responses/<repository key>/<request hash>.json`
//! (`wf::sys::user_dirs`), keyed by the SHA-256 of the exact request
//! (the hash the trace records). A request already answered is served from the cache: re-running an
//! unchanged task on an unchanged repository costs nothing and reproduces
//! the earlier run exactly. Hits are marked in the trace (`cache_hit`).
//! Only successful answers are stored; errors are never cached.

use super::{ModelRequest, ModelResponse, Provider, ProviderError, ProviderObserver};
use std::path::PathBuf;

/// A provider that answers from the cache when it can.
pub struct Cached<'a> {
    dir: PathBuf,
    inner: &'a mut dyn Provider,
}

impl<'a> Cached<'a> {
    /// Caches `inner`'s answers in `dir`.
    pub fn new(dir: PathBuf, inner: &'a mut dyn Provider) -> Cached<'a> {
        Cached { dir, inner }
    }
}

impl Provider for Cached<'_> {
    fn complete(
        &mut self,
        request: &ModelRequest,
        observer: &mut dyn ProviderObserver,
    ) -> Result<ModelResponse, ProviderError> {
        let path = self.dir.join(format!("{}.json", request.hash()));
        if let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(response) = serde_json::from_str::<ModelResponse>(&text)
        {
            observer.cache_hit();
            return Ok(response);
        }
        let response = self.inner.complete(request, observer)?;
        // A cache that cannot be written is no reason to fail the run.
        if std::fs::create_dir_all(&self.dir).is_ok() {
            let tmp = path.with_extension("tmp");
            if std::fs::write(
                &tmp,
                serde_json::to_vec(&response).expect("responses serialize"),
            )
            .is_ok()
            {
                let _ = std::fs::rename(&tmp, &path);
            }
        }
        Ok(response)
    }
}
