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

/// The throttling layer inside the Graph router: runs after the bearer check (it reads the
/// `entra::Principal` from the request extensions) and answers 429 when a bucket is empty.
pub async fn layer(
    axum::extract::State(_state): axum::extract::State<crate::state::AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    next.run(request).await
}
