//! Ctrl-C, `kill` and a closed terminal during `wf run` and `wf resume`.
//!
//! # The design
//!
//! [`install`] is called by the command line before anything else of a run
//! happens, while the process has a single thread. It blocks `SIGINT`,
//! `SIGTERM` and `SIGHUP` in that thread (`pthread_sigmask`); every thread
//! started later inherits the mask, so no thread is ever interrupted by
//! them (children get a clean mask: the standard library resets it between
//! `fork` and `exec`). One dedicated thread takes them with `sigwait`:
//!
//! - the first signal sets the process-wide interrupted flag
//!   ([`interrupted`]), then kills every child wf started
//!   ([`crate::sys::process::kill_all`]: each child's whole process group;
//!   a confined child's group holds the sandbox helper, whose death tears
//!   its namespace down). A child started after that is killed as soon as
//!   it is registered ([`crate::sys::process::run`] checks the flag), so
//!   none outlives the run;
//! - a second `SIGINT` or `SIGTERM` ends wf at once with exit code 130,
//!   whatever it was doing (the workspace may then stay behind in
//!   `$TMPDIR`), after running what [`on_exit_at_once`] set (`wf batch`
//!   passes the signal on to its runs there, so they exit at once too);
//! - a `SIGHUP` after the first signal changes nothing: it says the
//!   terminal, or the `wf batch` that started this run, is gone, so nobody
//!   is there to ask for more, and it may come more than once (the kernel
//!   sends a batch's run its parent-death signal, `SIGHUP`, once for each
//!   thread of the batch that dies holding it, see
//!   `wf::app::batch::child`). A run ends recorded as interrupted
//!   however many come.
//!
//! Nothing else happens in the signal thread: the run notices the flag
//! itself, between events (see `wf::engine`): it records
//! `run_interrupted` and `run_finished` with status `interrupted` (exit
//! code 130), drops its workspace, and the command line prints how to go
//! on (`wf resume <id>`). A command a signal killed returns to the engine
//! as an ordinary finished command, but the engine checks the flag before
//! it records anything, so the kill is never recorded as the command's (or
//! the check's) outcome. A model request in flight is not cut short (the
//! HTTP client blocks): the flag is seen when it returns, and its answer is
//! not recorded (a resume asks again). At a checkpoint prompt the flag is
//! seen within a fraction of a second, and the run ends paused at that
//! checkpoint, as when no terminal is there (`wf approve` / `wf reject`).
//!
//! Commands other than `wf run` and `wf resume` do not install this: the
//! signals keep their default action and end them at once.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);

type Hook = Box<dyn Fn() + Send>;

/// What to do before a second signal ends wf at once.
static AT_ONCE: Mutex<Option<Hook>> = Mutex::new(None);

/// The exit code of a process ended by a second signal, and of a run
/// ended by the first one: 128 + `SIGINT`, as shells report Ctrl-C.
pub const EXIT_INTERRUPTED: i32 = 130;

const HANDLED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

fn handled_set() -> libc::sigset_t {
    // SAFETY: sigemptyset initializes the set; sigaddset only adds valid
    // signal numbers to it.
    unsafe {
        let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(set.as_mut_ptr());
        let mut set = set.assume_init();
        for sig in HANDLED {
            libc::sigaddset(&mut set, sig);
        }
        set
    }
}

/// Blocks `SIGINT`, `SIGTERM` and `SIGHUP` in the calling thread (call it
/// before any other thread is started) and starts the thread that takes
/// them. Calling it again does nothing.
pub fn install() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let set = handled_set();
        // SAFETY: a valid, initialized set; the old mask is not wanted.
        let blocked =
            unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) } == 0;
        if !blocked {
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("wf-signals".into())
            .spawn(move || {
                loop {
                    let mut sig: libc::c_int = 0;
                    // SAFETY: the set is valid and blocked in every thread.
                    if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                        continue;
                    }
                    received(sig);
                }
            });
        if spawned.is_err() {
            // Nobody would take them: let them end wf as before.
            // SAFETY: as above.
            unsafe {
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            }
        }
    });
}

/// Sets what the signal thread does just before a second signal ends wf
/// at once, after killing wf's own commands (replacing what was set
/// before). It runs in the signal thread: it must not wait for the
/// interrupted work.
pub fn on_exit_at_once(hook: impl Fn() + Send + 'static) {
    *AT_ONCE.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(hook));
}

fn received(sig: libc::c_int) {
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        if sig == libc::SIGHUP {
            say("\nwf: SIGHUP: stopping already\n");
            return;
        }
        crate::sys::process::kill_all();
        if let Some(hook) = AT_ONCE.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            hook();
        }
        say(&format!("\nwf: {}: exiting now\n", name(sig)));
        std::process::exit(EXIT_INTERRUPTED);
    }
    SIGNAL.store(sig, Ordering::SeqCst);
    crate::sys::process::kill_all();
    let again = if sig == libc::SIGHUP {
        "Ctrl-C"
    } else {
        "again"
    };
    say(&format!(
        "\nwf: {}: stopping the run ({again} to exit at once)\n",
        name(sig)
    ));
}

/// Writes to stderr without its lock, which the interrupted thread may
/// hold (a prompt).
fn say(text: &str) {
    // SAFETY: writes bytes of a live buffer to fd 2; a short or failed
    // write is of no consequence.
    unsafe {
        libc::write(2, text.as_ptr().cast(), text.len());
    }
}

/// Whether a signal asked wf to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The name of the signal that interrupted wf (`SIGINT`, `SIGTERM`,
/// `SIGHUP`), once one did.
pub fn signal() -> Option<&'static str> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(name(sig)),
    }
}

/// The number of the signal that interrupted wf, once one did: what
/// `wf batch` passes on to its runs, so each records the signal the person
/// sent (a Ctrl-C is `SIGINT` in every run's record, not `SIGTERM`).
pub fn number() -> Option<libc::c_int> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

fn name(sig: libc::c_int) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "signal",
    }
}
