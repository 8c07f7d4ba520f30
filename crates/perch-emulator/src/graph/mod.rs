//! Graph v1.0: the Teams endpoints Perch uses (FACTS.md's table), `$batch`, bearer-token and
//! permission checks, and Graph's JSON shapes.

use axum::Router;

use crate::config::EmulatorConfig;
use crate::state::AppState;

/// Delta sync states and caches.
#[derive(Debug)]
pub struct GraphState {}

impl GraphState {
    /// Fresh state.
    pub fn new(_config: &EmulatorConfig) -> Self {
        Self {}
    }
}

/// The Graph routes, to be nested under `/v1.0`.
pub fn routes(state: AppState) -> Router {
    Router::new().with_state(state)
}
