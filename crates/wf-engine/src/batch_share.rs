//! What the runs of one `wf batch` share across processes: the batch's
//! spending against its cap, a limit on model requests in flight at once,
//! and a back-off every run honors after any run's provider was told to
//! slow down.
//!
//! # The mechanism
//!
//! The batch starts each run as a child `wf run` process with
//! [`ENV`] (`WF_BATCH_DIR`) naming the batch folder. In that folder:
//!
//! - `shared.json` holds a [`State`]: the cap (`max_cost_usd`), what the
//!   batch's runs spent so far (`spent_usd`, over every invocation of the
//!   batch), how many requests may be in flight (`max_requests`) and the
//!   shared back-off (`back_off_until_ms`, Unix milliseconds). It is read
//!   and rewritten (to a temporary file, then renamed) only while
//!   `shared.lock` is held ([`crate::sys::lock`]), so two runs adding their
//!   costs at once both count;
//! - `slots/0` … `slots/N-1` are lock files, one per request allowed in
//!   flight: a run holds one while its request is out ([`Shared::slot`]).
//!   The kernel drops a dead process's locks, so a killed run never keeps
//!   a slot.
//!
//! A run outside a batch has no `WF_BATCH_DIR` and none of this happens.
//! Nothing here changes what a run sends or records: a run only waits (for
//! a slot, for the back-off), or ends at its cap like at its own
//! `limits.max_cost_usd`.
//!
//! # Where this lives
//!
//! It knows runs (their costs, their caps, their requests), so it is not
//! part of [`crate::sys`], which knows nothing of runs; it uses only
//! [`crate::sys::lock`]. Both its users are above it: the engine, whose
//! model turns wait for a slot and add their cost, and `wf::app::batch`,
//! which writes the cap and reads what was spent.

use crate::sys::lock::{FileLock, Taken};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable naming the batch folder, set by `wf batch` for
/// its runs.
pub const ENV: &str = "WF_BATCH_DIR";

/// How often a waiting run looks again for a free slot or the lock.
const POLL: Duration = Duration::from_millis(5);

/// The shared state of a batch (`shared.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The batch's cap on spending, in US dollars; `None`: no cap.
    pub max_cost_usd: Option<f64>,
    /// What the batch's runs spent so far (costs the provider's prices
    /// could not give are not counted).
    pub spent_usd: f64,
    /// Model requests in flight at once across the batch's runs.
    pub max_requests: usize,
    /// No run sends a request before this time (Unix milliseconds).
    pub back_off_until_ms: u64,
}

impl State {
    /// The spending and the cap, once the spending reached the cap.
    pub fn over_cap(&self) -> Option<(f64, f64)> {
        self.max_cost_usd
            .filter(|cap| self.spent_usd >= *cap)
            .map(|cap| (self.spent_usd, cap))
    }
}

/// A batch folder's shared state.
#[derive(Debug, Clone)]
pub struct Shared {
    dir: PathBuf,
}

/// A request slot, held until dropped.
#[derive(Debug)]
pub struct Slot(#[allow(dead_code)] FileLock);

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Shared {
    /// The shared state in the batch folder `dir`.
    pub fn at(dir: &Path) -> Shared {
        Shared {
            dir: dir.to_path_buf(),
        }
    }

    /// The shared state of the batch this process runs in, if any.
    pub fn from_env() -> Option<Shared> {
        std::env::var_os(ENV)
            .filter(|v| !v.is_empty())
            .map(|dir| Shared::at(Path::new(&dir)))
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("shared.json")
    }

    /// The state now (a missing file is the default state).
    pub fn read(&self) -> std::io::Result<State> {
        match std::fs::read(self.state_path()) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::other(format!("shared.json: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(e),
        }
    }

    /// Reads, changes and writes the state while holding its lock.
    pub fn update<T>(&self, change: impl FnOnce(&mut State) -> T) -> std::io::Result<T> {
        let _lock = wait_for(&self.dir.join("shared.lock"), &|| false)?
            .ok_or_else(|| std::io::Error::other("shared.lock not taken"))?;
        let mut state = self.read()?;
        let out = change(&mut state);
        let tmp = self
            .dir
            .join(format!("shared.json.{}.tmp", std::process::id()));
        let mut text = serde_json::to_vec_pretty(&state).map_err(std::io::Error::other)?;
        text.push(b'\n');
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, self.state_path())?;
        Ok(out)
    }

    /// Adds `usd` to the batch's spending; the state after.
    pub fn spend(&self, usd: f64) -> std::io::Result<State> {
        self.update(|s| {
            s.spent_usd += usd;
            s.clone()
        })
    }

    /// Every run waits `wait` before its next request (a later back-off
    /// already set stays).
    pub fn back_off(&self, wait: Duration) -> std::io::Result<()> {
        let until = now_ms() + wait.as_millis() as u64;
        self.update(|s| s.back_off_until_ms = s.back_off_until_ms.max(until))
    }

    /// Waits out the shared back-off, then for a free request slot. `None`
    /// when `stop` said to stop waiting.
    pub fn slot(&self, stop: &dyn Fn() -> bool) -> std::io::Result<Option<Slot>> {
        loop {
            let until = self.read()?.back_off_until_ms;
            let now = now_ms();
            if until <= now {
                break;
            }
            if stop() {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis((until - now).min(50)));
        }
        let slots = self.read()?.max_requests.max(1);
        let dir = self.dir.join("slots");
        std::fs::create_dir_all(&dir)?;
        loop {
            for i in 0..slots {
                if let Taken::Yes(lock) = crate::sys::lock::take(&dir.join(i.to_string()))? {
                    return Ok(Some(Slot(lock)));
                }
            }
            if stop() {
                return Ok(None);
            }
            std::thread::sleep(POLL);
        }
    }
}

/// Takes the lock at `path`, waiting while another holds it; `None` when
/// `stop` said to stop waiting.
fn wait_for(path: &Path, stop: &dyn Fn() -> bool) -> std::io::Result<Option<FileLock>> {
    loop {
        if let Taken::Yes(lock) = crate::sys::lock::take(path)? {
            return Ok(Some(lock));
        }
        if stop() {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spending_adds_up_across_threads_and_reaches_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let shared = Shared::at(dir.path());
        shared
            .update(|s| {
                s.max_cost_usd = Some(1.0);
                s.max_requests = 2;
            })
            .unwrap();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..5 {
                        Shared::at(dir.path()).spend(0.05).unwrap();
                    }
                });
            }
        });
        let state = shared.read().unwrap();
        assert!((state.spent_usd - 1.0).abs() < 1e-9, "{state:?}");
        assert!(state.over_cap().is_some());
    }

    #[test]
    fn slots_limit_requests_in_flight() {
        let dir = tempfile::tempdir().unwrap();
        let shared = Shared::at(dir.path());
        shared.update(|s| s.max_requests = 2).unwrap();
        let a = shared.slot(&|| false).unwrap().unwrap();
        let _b = shared.slot(&|| false).unwrap().unwrap();
        assert!(shared.slot(&|| true).unwrap().is_none(), "a third slot");
        drop(a);
        // Released at once here: no fork holds a copy in this test, or
        // soon after when another test forks.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while shared.slot(&|| true).unwrap().is_none() {
            assert!(std::time::Instant::now() < deadline, "never released");
            std::thread::sleep(POLL);
        }
    }

    #[test]
    fn a_back_off_makes_the_next_request_wait() {
        let dir = tempfile::tempdir().unwrap();
        let shared = Shared::at(dir.path());
        shared.back_off(Duration::from_millis(150)).unwrap();
        let start = std::time::Instant::now();
        let slot = shared.slot(&|| false).unwrap();
        assert!(slot.is_some());
        assert!(start.elapsed() >= Duration::from_millis(100));
    }
}
