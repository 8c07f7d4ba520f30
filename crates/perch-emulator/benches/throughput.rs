//! Throughput benchmark.
fn main() {}
