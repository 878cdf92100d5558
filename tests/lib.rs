//! The integration tests, as modules of one test binary (it links once).

mod cli;
mod fuzz;
mod providers;
mod sandbox;
