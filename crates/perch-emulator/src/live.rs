//! Simulated colleagues.

use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// Runs until `shutdown`.
pub async fn run(_state: AppState, shutdown: CancellationToken) {
    shutdown.cancelled().await;
}
