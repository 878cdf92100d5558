//! Attacks on wf's confinement, one file per route (issue 21); the table of
//! routes, tests and the properties they prove is `README.md` here.

mod confined;
mod credentials;
mod fds;
mod host_sockets;
mod keyring;
mod mcp_escapes;
mod proc_view;
mod registry_tokens;
mod terminal;
