//! Counters for `/_emulator/stats`.

/// Request counters.
#[derive(Debug, Default)]
pub struct Stats {}
