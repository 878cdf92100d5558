//! What every layer of wf stands on: hashing ([`hash`]), globs
//! ([`glob`]), patches and their call-outs ([`patch`]), the shapes of
//! secrets ([`secrets`]), text for people ([`text`]: escaping outside text, sizes), and the system layer ([`sys`]: processes, git,
//! files beneath a root, locks, clock, user directories). It knows nothing
//! of task files or runs; below it is only `wf-sandbox`, which the one
//! spawn path ([`sys::process`]) confines children with.

pub mod glob;
pub mod hash;
pub mod patch;
pub mod secrets;
pub mod sys;
pub mod text;

// The sandbox, under the name the code has always used.
pub(crate) use wf_sandbox as sandbox;
