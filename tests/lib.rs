//! The integration tests, as modules of one test binary.

mod providers;
