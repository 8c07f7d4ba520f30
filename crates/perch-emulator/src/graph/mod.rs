//! Graph v1.0: the Teams endpoints Perch uses (FACTS.md's table), `$batch`, bearer-token and
//! permission checks, and Graph's JSON shapes. It owns the delta sync states and the cache of
//! rendered message JSON ([`GraphState`]); it changes the tenant only through [`crate::ops`].
//!
//! Layering, outermost first: the bearer check ([`auth_layer`]: `entra::authenticate`, then the
//! [`Principal`] goes into the request extensions), then `throttle::layer`, then the handlers,
//! which check the endpoint's permission (403 `Forbidden` naming the scopes it needs) and the
//! user's membership. `POST /$batch` sits outside both layers: it sends each inner request
//! through the layered router on its own, so every inner request is authenticated and
//! throttled separately.
//!
//! Choices where Graph is vague, documented once here:
//! - A team the user does not belong to answers 403 `Forbidden`; a team that does not exist
//!   404 `NotFound`; a team id that is not a GUID 400. Private and shared channels the user is
//!   not a member of answer 403.
//! - Ids that cannot be ids (a channel id not of the `19:…` form, a message id that is not a
//!   short run of digits and letters) answer 400 before any lookup.
//! - Query options an endpoint does not support answer 400 with OData's "Query option 'X' is
//!   not allowed" message. Parameters without a `$` are ignored, as OData does.
//! - Bodies of POST/PATCH must be JSON (`Content-Type: application/json`), else 400.
//! - `/users/{id}` and user photos accept `User.Read`, `User.ReadBasic.All` or `User.Read.All`
//!   (Graph itself needs `User.ReadBasic.All` for other users).

mod batch;
mod delta;
mod directory;
#[doc(hidden)]
pub mod fixture;
mod messages;
mod query;
mod render;
mod support;
mod token;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::config::EmulatorConfig;
pub use crate::entra::Principal;
use crate::state::AppState;

pub use support::GRAPH_JSON_CONTENT_TYPE;

/// How tokens answer after [`GraphState::expire_delta_tokens`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaExpiry {
    /// 410 Gone (`resyncRequired`).
    Gone,
    /// 400 `syncStateNotFound`.
    SyncStateNotFound,
}

/// Graph-side bookkeeping: delta sync states and the rendered-JSON cache.
#[derive(Debug)]
pub struct GraphState {
    /// Rendered message fragments keyed by (team, channel, id, lastModifiedDateTime).
    pub(crate) cache: render::Cache,
    /// Delta sync states.
    pub(crate) delta: delta::SyncStates,
    /// Signs the opaque paging and delta tokens.
    pub(crate) tokens: token::Codec,
}

impl GraphState {
    /// Fresh state.
    pub fn new(_config: &EmulatorConfig) -> Self {
        Self {
            cache: render::Cache::default(),
            delta: delta::SyncStates::default(),
            tokens: token::Codec::random(),
        }
    }

    /// Makes every delta token and delta skip token issued so far answer `how` (410 Gone or
    /// 400 `syncStateNotFound`). Tokens issued afterwards work as usual.
    pub fn expire_delta_tokens(&self, how: DeltaExpiry) {
        self.delta.expire_all(how);
    }

    /// Drops every cached rendering (after the tenant is replaced wholesale).
    pub fn clear_cache(&self) {
        self.cache.clear();
    }
}

/// The Graph routes, to be nested under `/v1.0`.
pub fn routes(state: AppState) -> Router {
    let inner = api_routes(state.clone());
    let for_batch = inner.clone();
    Router::new()
        .route(
            "/$batch",
            post(
                move |st: State<AppState>,
                      headers: axum::http::HeaderMap,
                      ids: Option<axum::Extension<crate::error::RequestIds>>,
                      body: axum::body::Bytes| {
                    batch::handle(st, for_batch.clone(), headers, ids, body)
                },
            ),
        )
        .with_state(state)
        .merge(inner)
        .layer(middleware::from_fn(support::graph_rejections))
}

/// The authenticated, throttled API (everything but `$batch`).
fn api_routes(state: AppState) -> Router {
    use directory as d;
    use messages as m;
    const MSG: &str = "/teams/{team}/channels/{channel}/messages";
    let r = |tail: &str| format!("{MSG}{tail}");
    Router::new()
        .route("/me", get(d::me))
        .route("/me/joinedTeams", get(d::my_joined_teams))
        .route("/me/photo/$value", get(d::my_photo))
        .route("/users/{user}", get(d::user))
        .route("/users/{user}/joinedTeams", get(d::user_joined_teams))
        .route("/users/{user}/photo/$value", get(d::user_photo))
        .route("/teams/{team}", get(d::team))
        .route("/teams/{team}/channels", get(d::channels))
        .route("/teams/{team}/allChannels", get(d::all_channels))
        .route("/teams/{team}/channels/{channel}", get(d::channel))
        .route("/teams/{team}/channels/{channel}/members", get(d::members))
        .route(MSG, get(m::list).post(m::post_root))
        .route(&r("/delta"), get(delta::handle_short))
        .route(&r("/microsoft.graph.delta()"), get(delta::handle_fn))
        .route(&r("/{message}"), get(m::get_root).patch(m::patch_root))
        .route(&r("/{message}/{action}"), post(m::action_root))
        .route(
            &r("/{message}/replies"),
            get(m::list_replies).post(m::post_reply),
        )
        .route(
            &r("/{message}/replies/{reply}"),
            get(m::get_reply).patch(m::patch_reply),
        )
        .route(
            &r("/{message}/replies/{reply}/{action}"),
            post(m::action_reply),
        )
        .route(&r("/{message}/hostedContents"), get(m::hosted_list_root))
        .route(
            &r("/{message}/hostedContents/{hosted}"),
            get(m::hosted_get_root),
        )
        .route(
            &r("/{message}/hostedContents/{hosted}/$value"),
            get(m::hosted_value_root),
        )
        .route(
            &r("/{message}/replies/{reply}/hostedContents"),
            get(m::hosted_list_reply),
        )
        .route(
            &r("/{message}/replies/{reply}/hostedContents/{hosted}"),
            get(m::hosted_get_reply),
        )
        .route(
            &r("/{message}/replies/{reply}/hostedContents/{hosted}/$value"),
            get(m::hosted_value_reply),
        )
        .method_not_allowed_fallback(support::method_not_allowed)
        .fallback(support::unknown_segment)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::throttle::layer,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), auth_layer))
        .layer(middleware::from_fn(support::graph_rejections))
        .with_state(state)
}

/// The bearer check: `entra::authenticate`, then the [`Principal`] goes into the request's
/// extensions for the throttle layer and the handlers. It checks nothing else.
pub async fn auth_layer(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    match crate::entra::authenticate(&state, request.headers()) {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

/// One message as Graph renders it (as `GET …/messages/{id}` answers, without replies), for
/// the admin API's `POST /_emulator/act` answers.
pub fn render_message(
    root: &str,
    tenant: uuid::Uuid,
    team: uuid::Uuid,
    channel: &str,
    message: &crate::model::Message,
) -> serde_json::Value {
    let ctx = render::Ctx {
        root,
        tenant,
        team,
        channel,
    };
    serde_json::from_slice(&render::message_json(&ctx, message)).unwrap_or(serde_json::Value::Null)
}
