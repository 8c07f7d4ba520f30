//! The `perch-emulator` binary.
fn main() {}
