//! The admin API under `/_emulator/` (not Graph): tenant description, faults, switches,
//! posting as other users, stats.

use axum::Router;

use crate::state::AppState;

/// The admin routes, to be nested under `/_emulator`.
pub fn routes(state: AppState) -> Router {
    Router::new().with_state(state)
}
