//! Throttling as Microsoft documents it for Teams: token buckets per app, per app per tenant,
//! per channel (per team for channel lists) and per user.

use crate::config::EmulatorConfig;

/// Buckets and blocks.
#[derive(Debug)]
pub struct Throttle {}

impl Throttle {
    /// From the start configuration.
    pub fn new(_config: &EmulatorConfig) -> Self {
        Self {}
    }
}
