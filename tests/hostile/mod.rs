//! Attacks on wf's confinement, one file per route (issue 21); the table in
//! `README.md` says what each proves.

mod symlink_race;
