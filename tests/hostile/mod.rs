//! Attacks on wf's confinement, one file per route (issue 21), each done
//! the way an attacker would: a planted repository file, a malicious
//! recipe, a scripted model, an MCP server. `README.md` here is the table
//! of routes, tests and the property each proves.

mod build_cache;
mod checkout;
mod confined;
mod credentials;
mod fds;
mod git_objects;
mod hidden_file;
mod host_sockets;
mod huge_file;
mod ignored_secret;
mod keyring;
mod mcp_escapes;
mod otel_export;
mod package_cache;
mod planted_config;
mod proc_view;
mod proxy_handover;
mod recipe_mcp;
mod recipe_network;
mod registry_tokens;
mod symlink_race;
mod task_copy;
mod terminal;
mod textconv;
mod toolchain_dirs;
mod wf_state;
mod widening;
