//! Fault injection: error rates, latency, dropped connections, broken JSON.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::config::EmulatorConfig;
use crate::state::AppState;

/// Faults chosen at start.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FaultsConfig {}

/// The faults in force.
#[derive(Debug)]
pub struct Faults {}

impl Faults {
    /// From the start configuration.
    pub fn new(_config: &EmulatorConfig) -> Self {
        Self {}
    }
}

/// The fault layer around every route.
pub async fn layer(State(_state): State<AppState>, request: Request, next: Next) -> Response {
    next.run(request).await
}
