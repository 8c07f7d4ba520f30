//! Entra ID v2 for public clients: `/{tenant}/oauth2/v2.0/authorize` (with a sign-in and
//! consent page), `/token` (authorization code + PKCE, refresh with rotation, device code),
//! `/devicecode`, and the access tokens that Graph checks.

use axum::http::HeaderMap;
use axum::Router;

use crate::config::EmulatorConfig;
use crate::error::GraphError;
use crate::state::AppState;

/// Codes, grants and the signing key.
#[derive(Debug)]
pub struct EntraState {}

impl EntraState {
    /// Fresh state for a new emulator.
    pub fn new(_config: &EmulatorConfig) -> Self {
        Self {}
    }
}

/// Who a valid Graph bearer token belongs to, and what it may do.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user's object id.
    pub user_id: uuid::Uuid,
    /// The client (app) id the token was issued to.
    pub client_id: uuid::Uuid,
    /// Granted delegated permissions, short form (`ChannelMessage.Read.All`).
    pub scopes: Vec<String>,
}

/// Checks `Authorization: Bearer …` and returns the principal, or Graph's 401.
pub fn authenticate(_state: &AppState, _headers: &HeaderMap) -> Result<Principal, GraphError> {
    Err(GraphError::unauthorized("not implemented yet"))
}

/// The Entra routes.
pub fn routes(state: AppState) -> Router {
    Router::new().with_state(state)
}
