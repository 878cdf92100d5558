//! Attacks on wf's confinement, one file per route (issue 21); the table of
//! routes, tests and the property each proves is in `README.md` here.

mod hidden_file;
mod huge_file;
mod ignored_secret;
mod textconv;
