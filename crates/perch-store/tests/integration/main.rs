//! The crate's integration tests, one binary: the shared cache and outbox suites over a file
//! and an in-memory database, damaged-file recovery, disk full, and kill -9 crash safety.

// First, so that its `backends!` macro is in scope in the modules below.
#[macro_use]
mod support;

mod crash;
mod disk_full;
mod outbox;
mod recovery;
mod retention;
mod suite;
