//! Entra ID v2 for public clients: `/{tenant}/oauth2/v2.0/authorize` (with a sign-in and
//! consent page), `/token` (authorization code + PKCE, refresh with rotation, device code),
//! `/devicecode` with its `/devicelogin` page, discovery and admin consent, and the access
//! tokens that Graph checks ([`authenticate`]).
//!
//! It owns every grant the identity platform hands out (pending sign-ins, authorization codes,
//! device codes, refresh tokens) and the token-signing key, all inside [`EntraState`]. It reads
//! the tenant (users, app registrations, the users' sign-in switches) and never writes it,
//! except that an accepted admin consent clears `consent_missing`.
//!
//! # Tokens
//! Access tokens are HS256 JWTs shaped like Graph v1 tokens (`aud`
//! `https://graph.microsoft.com`, `iss` `https://sts.windows.net/{tid}/`, `scp` with short
//! permission names, `ver` `1.0`). `exp` is `ceil(now + lifetime)`, so a token lives at least
//! its lifetime and at most one second longer; it is refused from the second `exp` on. Refresh
//! tokens are opaque random strings (`0.A…`, about 180 characters); only their SHA-256 is kept.
//!
//! # Pages a test program can drive
//! The sign-in page (`GET …/authorize`) is one `<form id="signin" method="post">` posting to
//! `/{tenant}/oauth2/v2.0/authorize` with:
//! - `request` (hidden): the server-side pending-request id; everything else about the request
//!   (client, redirect URI, scopes, PKCE, state) stays on the server;
//! - `user`: one radio per demo user, `id="user-{n}"`, `value="{upn}"` (the `login_hint` user,
//!   else the first, is checked);
//! - `action`: submit buttons `id="accept" value="accept"` and `id="cancel" value="cancel"`.
//!
//! When the chosen user has `mfa_required`, accepting shows a second step, the same form with a
//! hidden `user` and a checkbox `id="mfa_approved" name="mfa_approved" value="on"` ("Approve
//! sign-in request"); accepting with it ticked completes the sign-in, without it the step is
//! shown again.
//!
//! The device-login page (`GET /devicelogin`) is `<form id="devicelogin" method="post"
//! action="/devicelogin">` with a text input `id="user_code" name="user_code"`, the same `user`
//! radios, the same `mfa_approved` checkbox (shown on the second step) and the same `action`
//! buttons. The admin-consent page (`GET /{tenant}/adminconsent?client_id=…`) is
//! `<form id="adminconsent" method="post">` with the same `action` buttons; accepting clears
//! `consent_missing` for every user of the tenant and redirects to `redirect_uri` (if it is a
//! loopback URI) with `admin_consent=True&tenant=…`, else shows a confirmation page.

mod authorize;
mod device;
mod discovery;
pub mod errors;
pub mod jwt;
mod pages;
pub mod scopes;
mod store;
mod token;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use parking_lot::{Mutex, RwLock};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::EmulatorConfig;
use crate::error::GraphError;
use crate::model::Tenant;
use crate::state::AppState;

pub use errors::{Aadsts, EntraError};

/// The audiences a Graph access token may carry.
pub const GRAPH_AUDIENCES: [&str; 2] = [
    "https://graph.microsoft.com",
    "00000003-0000-0000-c000-000000000000",
];

/// Codes, grants and the signing key of one emulator. Locks are `parking_lot` and are never
/// held across an `.await` (no method here is async).
#[derive(Debug)]
pub struct EntraState {
    /// The HS256 secret and its key id. A lock only because [`EntraState::restore`] may bring
    /// back the key of a previous run, so that its access tokens stay valid.
    key: RwLock<SigningKey>,
    /// Pending sign-ins, codes, device codes and refresh tokens.
    store: Mutex<store::Store>,
}

/// The token-signing secret.
#[derive(Debug, Clone)]
struct SigningKey {
    secret: [u8; 32],
    kid: String,
}

impl SigningKey {
    fn random() -> Self {
        let secret: [u8; 32] = rand::random();
        Self::from_secret(secret)
    }

    fn from_secret(secret: [u8; 32]) -> Self {
        let digest = Sha256::digest(secret);
        Self {
            secret,
            kid: URL_SAFE_NO_PAD.encode(&digest[..12]),
        }
    }
}

impl EntraState {
    /// Fresh state for a new emulator: a random signing key and no grants.
    pub fn new(_config: &EmulatorConfig) -> Self {
        Self {
            key: RwLock::new(SigningKey::random()),
            store: Mutex::new(store::Store::default()),
        }
    }

    /// Mints a Graph access token for `user_id` in `tenant`, issued to `client_id` with the
    /// delegated `scopes` (short names such as `ChannelMessage.Read.All`), valid for
    /// `lifetime`. Used by the token endpoint and by tests that need a token without signing in.
    pub fn issue_access_token(
        &self,
        tenant: &Tenant,
        user_id: Uuid,
        client_id: Uuid,
        scopes: &[String],
        lifetime: Duration,
    ) -> String {
        self.access_token(tenant, user_id, client_id, scopes, lifetime, false)
    }

    /// [`EntraState::issue_access_token`] with the `amr` claim telling whether MFA was done.
    fn access_token(
        &self,
        tenant: &Tenant,
        user_id: Uuid,
        client_id: Uuid,
        scopes: &[String],
        lifetime: Duration,
        mfa: bool,
    ) -> String {
        let now = now_f64();
        let iat = now.floor() as i64;
        let exp = (now + lifetime.as_secs_f64()).ceil() as i64;
        let user = tenant.user(user_id);
        let upn = user.map(|u| u.upn.as_str()).unwrap_or_default();
        let name = user.map(|u| u.display_name.as_str()).unwrap_or_default();
        let app_name = tenant
            .app(client_id)
            .map(|a| a.display_name.as_str())
            .unwrap_or_default();
        let amr = if mfa {
            json!(["pwd", "mfa"])
        } else {
            json!(["pwd"])
        };
        let claims = json!({
            "aud": GRAPH_AUDIENCES[0],
            "iss": format!("https://sts.windows.net/{}/", tenant.id),
            "iat": iat,
            "nbf": iat,
            "exp": exp,
            "acr": "1",
            "amr": amr,
            "app_displayname": app_name,
            "appid": client_id.to_string(),
            "appidacr": "0",
            "idtyp": "user",
            "name": name,
            "oid": user_id.to_string(),
            "scp": scopes.join(" "),
            "sub": pairwise_sub(user_id, GRAPH_AUDIENCES[1]),
            "tid": tenant.id.to_string(),
            "unique_name": upn,
            "upn": upn,
            "uti": random_b64(16),
            "ver": "1.0",
        });
        let key = self.key.read();
        jwt::sign(&key.secret, &key.kid, &claims)
    }

    /// Signs arbitrary claims with the emulator's key (ID tokens).
    fn sign(&self, claims: &serde_json::Value) -> String {
        let key = self.key.read();
        jwt::sign(&key.secret, &key.kid, claims)
    }

    /// Revokes every refresh token of `user_id` (as "Revoke sessions" in Entra does): the next
    /// refresh answers `invalid_grant` / AADSTS50173. Access tokens already issued stay valid
    /// until they expire, as in Entra.
    pub fn revoke_user(&self, user_id: Uuid) {
        self.store.lock().revoke(|grant| grant.user_id == user_id);
    }

    /// Revokes every refresh token of every user.
    pub fn revoke_all(&self) {
        self.store.lock().revoke(|_| true);
    }

    /// The grants that should survive a restart: refresh tokens (hashed, as stored) and the
    /// signing key, as JSON for the state file. Codes and pending sign-ins are short-lived and
    /// are not kept.
    pub fn snapshot(&self) -> serde_json::Value {
        let key = self.key.read();
        let store = self.store.lock();
        json!({
            "signing_key": URL_SAFE_NO_PAD.encode(key.secret),
            "refresh_tokens": store.refresh_snapshot(),
        })
    }

    /// Brings back what [`EntraState::snapshot`] saved. Parts that do not parse are ignored (a
    /// client then simply signs in again).
    pub fn restore(&self, value: &serde_json::Value) {
        if let Some(secret) = value
            .get("signing_key")
            .and_then(serde_json::Value::as_str)
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        {
            *self.key.write() = SigningKey::from_secret(secret);
        }
        if let Some(grants) = value.get("refresh_tokens") {
            self.store.lock().refresh_restore(grants);
        }
    }

    /// Checks a compact JWS against the emulator's key and returns its claims.
    fn verify(&self, token: &str) -> Result<serde_json::Value, jwt::JwtError> {
        let key = self.key.read();
        jwt::verify(&key.secret, token)
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

/// Checks `Authorization: Bearer …` and returns the principal, or Graph's 401
/// `InvalidAuthenticationToken` with the message Graph gives for the failure (empty, not well
/// formed, bad signature, wrong audience, expired, not yet valid). It takes no tenant lock, so
/// it may be called while holding one.
pub fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Principal, GraphError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ if value.eq_ignore_ascii_case("bearer") => "",
        // A token without a scheme is treated as a token, so the message is about the token.
        None => value,
        Some(_) => "",
    };
    if token.is_empty() {
        return Err(GraphError::unauthorized("Access token is empty."));
    }
    let claims = state
        .entra
        .verify(token)
        .map_err(|e| GraphError::unauthorized(e.to_string()))?;
    let audience_ok = claims
        .get("aud")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|aud| GRAPH_AUDIENCES.contains(&aud));
    if !audience_ok {
        return Err(GraphError::unauthorized("Invalid audience."));
    }
    let now = now_f64();
    let exp = claims.get("exp").and_then(serde_json::Value::as_f64);
    match exp {
        Some(exp) if now < exp => {}
        _ => {
            return Err(GraphError::unauthorized(
                "Lifetime validation failed, the token is expired.",
            ))
        }
    }
    // Five minutes of clock skew, as Microsoft.IdentityModel allows by default.
    let nbf = claims
        .get("nbf")
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(0.0);
    if nbf > now + 300.0 {
        return Err(GraphError::unauthorized(
            "Lifetime validation failed, the token is not yet valid.",
        ));
    }
    let uuid_claim = |name: &str| {
        claims
            .get(name)
            .and_then(serde_json::Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
    };
    let (Some(user_id), Some(client_id)) = (uuid_claim("oid"), uuid_claim("appid")) else {
        return Err(GraphError::unauthorized(
            "Access token validation failure. Invalid audience or missing claims.",
        ));
    };
    let scopes = claims
        .get("scp")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Ok(Principal {
        user_id,
        client_id,
        scopes,
    })
}

/// The Entra routes: `/{tenant}/oauth2/v2.0/{authorize,token,devicecode}`,
/// `/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/discovery/v2.0/keys`,
/// `/{tenant}/adminconsent` and `/devicelogin`.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(authorize::show).post(authorize::submit),
        )
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(token::handle).layer(axum::middleware::from_fn_with_state(
                state.clone(),
                json_rejections,
            )),
        )
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            post(device::start).layer(axum::middleware::from_fn_with_state(
                state.clone(),
                json_rejections,
            )),
        )
        .route("/devicelogin", get(device::show).post(device::submit))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::keys))
        .route(
            "/{tenant}/adminconsent",
            get(discovery::admin_consent_show).post(discovery::admin_consent_submit),
        )
        .with_state(state)
}

/// Turns axum's plain-text rejections on the JSON endpoints (a tenant segment that is not
/// UTF-8, a body over the size limit) into Entra's JSON error (AADSTS90014), so a client's
/// error parser always sees `error` / `error_description`.
async fn json_rejections(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let crid = client_request_id(request.headers());
    let response = next.run(request).await;
    let status = response.status();
    let plain = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return response;
    }
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 10)
        .await
        .unwrap_or_default();
    let detail = String::from_utf8_lossy(&bytes).trim().to_owned();
    let mut answer = Aadsts::MalformedRequest
        .with(format!("The request is malformed or invalid: {detail}"))
        .json(&state.base_url, crid.as_deref());
    *answer.status_mut() = status;
    answer
}

/// Seconds since the Unix epoch, with fractions.
fn now_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `n` random bytes as base64url.
fn random_b64(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A stable per-audience subject, the way Entra's pairwise `sub` differs from `oid`.
fn pairwise_sub(user_id: Uuid, audience: &str) -> String {
    let digest = Sha256::digest(format!("{user_id}|{audience}"));
    URL_SAFE_NO_PAD.encode(&digest[..32])
}

/// SHA-256 of a secret (refresh token), hex, as it is stored.
fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A form-encoded body (or query) as a map; the first of repeated keys wins.
fn parse_form(bytes: &[u8]) -> std::collections::HashMap<String, String> {
    let mut map = std::collections::HashMap::new();
    for (key, value) in form_urlencoded::parse(bytes) {
        map.entry(key.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    map
}

/// The client's `client-request-id`, which Entra reports as the correlation id.
fn client_request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Checks the tenant in the path and the client id: AADSTS90002, 900144 or 700016.
fn check_client(
    state: &AppState,
    tenant_path: &str,
    client_id: Option<&str>,
) -> Result<Uuid, EntraError> {
    let tenant = state.tenant.read();
    if !tenant.matches_authority(tenant_path) {
        return Err(Aadsts::TenantNotFound.with(format!(
            "Tenant '{tenant_path}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
        )));
    }
    let raw = client_id
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            Aadsts::MissingParameter
                .with("The request body must contain the following parameter: 'client_id'.")
        })?;
    Uuid::parse_str(raw)
        .ok()
        .filter(|id| tenant.app(*id).is_some())
        .ok_or_else(|| {
            Aadsts::AppNotFound.with(format!(
                "Application with identifier '{raw}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
                tenant.display_name
            ))
        })
}
