//! Attacks on wf's confinement, one file per route (issue 21); the table of
//! routes, tests and the properties they prove is `README.md` here.

mod mcp_escapes;
mod registry_tokens;
