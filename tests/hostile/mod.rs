//! Attacks on wf's confinement, one file per route (issue 21); the table in
//! `README.md` says what each proves.

mod build_cache;
mod confined;
mod credentials;
mod fds;
mod git_objects;
mod host_sockets;
mod keyring;
mod proc_view;
mod terminal;
