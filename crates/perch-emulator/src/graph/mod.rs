//! Graph v1.0: the Teams endpoints Perch uses (FACTS.md's table), `$batch`, bearer-token and
//! permission checks, and Graph's JSON shapes.

use axum::Router;

use crate::state::AppState;

/// The Graph routes, to be nested under `/v1.0`.
pub fn routes(state: AppState) -> Router {
    Router::new().with_state(state)
}
