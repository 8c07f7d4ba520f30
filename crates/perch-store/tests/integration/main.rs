//! The crate's integration tests, one binary: the shared cache suite over a file and an
//! in-memory database, damaged-file recovery, disk full, and kill -9 crash safety.

mod crash;
mod disk_full;
mod recovery;
mod suite;
mod support;
