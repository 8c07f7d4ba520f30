//! The crate's one integration-test binary: the client against the real emulator, in process
//! on port 0 (see `support`).

mod auth;
mod batch;
mod delta;
mod faults;
mod politeness;
mod reads;
mod support;
mod writes;
