//! `POST /{tenant}/oauth2/v2.0/token`: the authorization-code grant (single-use codes, PKCE
//! S256, redirect URI and client binding), the refresh-token grant (rotation, revocation,
//! expiry, scope subsets) and the device-code grant (pending, slow down, declined, expired),
//! the public-client rules (no secrets), the users' sign-in switches, and the token response.
//! Errors are Entra's JSON ([`super::errors`]).

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::state::AppState;

use super::errors::{Aadsts, EntraError};
use super::store::{DeviceStatus, RefreshGrant, RefreshStatus};
use super::{hash_secret, now_f64, pairwise_sub, scopes};

/// The device-code grant type.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The token endpoint.
pub(super) async fn handle(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = super::parse_form(&body);
    match token(&state, &tenant, &form) {
        Ok(body) => {
            let mut response = axum::Json(body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                axum::http::header::CACHE_CONTROL,
                HeaderValue::from_static("no-store, no-cache"),
            );
            headers.insert("pragma", HeaderValue::from_static("no-cache"));
            response
        }
        Err(error) => error.json(
            &state.base_url,
            super::client_request_id(&headers).as_deref(),
        ),
    }
}

/// Checks the client, then runs the grant.
fn token(
    state: &AppState,
    tenant: &str,
    form: &HashMap<String, String>,
) -> Result<Value, EntraError> {
    let client_id = super::check_client(state, tenant, form.get("client_id").map(String::as_str))?;
    let public = state
        .tenant
        .read()
        .app(client_id)
        .is_some_and(|a| a.public_client);
    let sends_secret = ["client_secret", "client_assertion"]
        .iter()
        .any(|k| form.get(*k).is_some_and(|v| !v.is_empty()));
    match (public, sends_secret) {
        (true, true) => return Err(Aadsts::PublicClientWithSecret.into()),
        (false, false) => return Err(Aadsts::ConfidentialClientWithoutSecret.into()),
        // The emulator holds no client secrets, so every secret is wrong.
        (false, true) => return Err(Aadsts::InvalidClientSecret.into()),
        (true, false) => {}
    }
    let grant_type = required(form, "grant_type")?;
    match grant_type {
        "authorization_code" => authorization_code(state, client_id, form),
        "refresh_token" => refresh_token(state, client_id, form),
        DEVICE_CODE_GRANT | "device_code" => device_code(state, client_id, form),
        other => Err(Aadsts::UnsupportedGrantType.with(format!(
            "The provided value for the 'grant_type' is not valid: '{other}'. Supported: authorization_code, refresh_token, {DEVICE_CODE_GRANT}."
        ))),
    }
}

/// A non-empty form field, or AADSTS900144 naming it.
fn required<'a>(form: &'a HashMap<String, String>, name: &str) -> Result<&'a str, EntraError> {
    form.get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            Aadsts::MissingParameter.with(format!(
                "The request body must contain the following parameter: '{name}'."
            ))
        })
}

/// base64url(SHA-256(verifier)), the S256 challenge.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn authorization_code(
    state: &AppState,
    client_id: Uuid,
    form: &HashMap<String, String>,
) -> Result<Value, EntraError> {
    let code = required(form, "code")?;
    // The scope parameter must be well formed, but the code's consent decides what is granted.
    if let Some(raw) = form.get("scope").filter(|s| !s.trim().is_empty()) {
        scopes::parse(raw).map_err(|e| Aadsts::InvalidScope.with(e.to_string()))?;
    }
    let grant = {
        let mut store = state.entra.store.lock();
        let grant = store
            .codes
            .get_mut(&hash_secret(code))
            .ok_or(Aadsts::MalformedGrant)?;
        if grant.redeemed {
            return Err(Aadsts::CodeAlreadyRedeemed.into());
        }
        if grant.expires_at <= now_f64() {
            return Err(Aadsts::GrantExpired.with(
                "The provided authorization code has expired. Send a new interactive authorization request for this user and resource.",
            ));
        }
        if grant.client_id != client_id {
            return Err(Aadsts::GrantClientMismatch.into());
        }
        let redirect = required(form, "redirect_uri")?;
        if super::authorize::normalise_redirect(redirect).as_deref()
            != Some(grant.redirect_uri.as_str())
        {
            return Err(Aadsts::RedirectUriMismatch.with(format!(
                "The redirect URI '{redirect}' specified in the request does not match the redirect URI used in the authorization request."
            )));
        }
        let verifier = form
            .get("code_verifier")
            .filter(|v| !v.is_empty())
            .ok_or(Aadsts::CodeVerifierMissing)?;
        if s256(verifier) != grant.challenge {
            return Err(Aadsts::CodeVerifierMismatch.into());
        }
        grant.redeemed = true;
        grant.clone()
    };
    issue(
        state,
        Issue {
            user_id: grant.user_id,
            client_id,
            response_scopes: grant.scopes.clone(),
            grant_scopes: grant.scopes,
            nonce: grant.nonce,
            mfa: grant.mfa,
            rotate: None,
        },
    )
}

fn refresh_token(
    state: &AppState,
    client_id: Uuid,
    form: &HashMap<String, String>,
) -> Result<Value, EntraError> {
    let token = required(form, "refresh_token")?;
    let allow_reuse = state.config.allow_refresh_token_reuse;
    let grant = state
        .entra
        .store
        .lock()
        .check_refresh(token, client_id, allow_reuse)?;
    if grant.mfa_required_now(state) {
        return Err(Aadsts::MfaRequired.into());
    }
    let response_scopes = match form.get("scope").filter(|s| !s.trim().is_empty()) {
        None => grant.scopes.clone(),
        Some(raw) => {
            let asked = scopes::parse(raw).map_err(|e| Aadsts::InvalidScope.with(e.to_string()))?;
            if let Some(missing) = asked.iter().find(|s| !grant.scopes.contains(s)) {
                return Err(Aadsts::ConsentRequired.with(format!(
                    "The user or administrator has not consented to use the application with the scope '{missing}'. Send an interactive authorization request for this user and resource."
                )));
            }
            let mut asked = asked;
            if !asked.iter().any(|s| scopes::is_graph(s)) {
                asked.extend(grant.scopes.iter().filter(|s| scopes::is_graph(s)).cloned());
            }
            if !asked.iter().any(|s| s == "offline_access") {
                asked.push("offline_access".to_owned());
            }
            asked
        }
    };
    issue(
        state,
        Issue {
            user_id: grant.user_id,
            client_id,
            response_scopes,
            grant_scopes: grant.scopes,
            nonce: None,
            mfa: grant.mfa,
            rotate: Some(hash_secret(token)),
        },
    )
}

impl RefreshGrant {
    /// Whether the user's `mfa_required` switch is on and this chain did not pass MFA.
    fn mfa_required_now(&self, state: &AppState) -> bool {
        !self.mfa
            && state
                .tenant
                .read()
                .user(self.user_id)
                .is_some_and(|u| u.auth.mfa_required)
    }
}

fn device_code(
    state: &AppState,
    client_id: Uuid,
    form: &HashMap<String, String>,
) -> Result<Value, EntraError> {
    let device_code = required(form, "device_code")?;
    let (user_id, mfa, scopes) = {
        let mut store = state.entra.store.lock();
        let grant = store
            .devices
            .get_mut(&hash_secret(device_code))
            .ok_or(Aadsts::BadVerificationCode)?;
        if grant.client_id != client_id {
            return Err(Aadsts::GrantClientMismatch.into());
        }
        let now = now_f64();
        let last_poll = grant.last_poll.replace(now);
        match grant.status {
            DeviceStatus::Redeemed => return Err(Aadsts::CodeAlreadyRedeemed.into()),
            DeviceStatus::Declined => return Err(Aadsts::DeviceAuthorizationDeclined.into()),
            _ if grant.expires_at <= now => return Err(Aadsts::DeviceCodeExpired.into()),
            DeviceStatus::Pending => {
                let too_fast = last_poll.is_some_and(|t| now - t < grant.interval as f64);
                return Err(if too_fast {
                    Aadsts::SlowDown.into()
                } else {
                    Aadsts::AuthorizationPending.into()
                });
            }
            // An approved code is answered even when polled early: slow_down only paces the
            // waiting.
            DeviceStatus::Approved { user_id, mfa } => {
                grant.status = DeviceStatus::Redeemed;
                (user_id, mfa, grant.scopes.clone())
            }
        }
    };
    issue(
        state,
        Issue {
            user_id,
            client_id,
            response_scopes: scopes.clone(),
            grant_scopes: scopes,
            nonce: None,
            mfa,
            rotate: None,
        },
    )
}

/// What a successful grant hands out.
struct Issue {
    user_id: Uuid,
    client_id: Uuid,
    /// What this response (and its access token) carries.
    response_scopes: Vec<String>,
    /// What the new refresh token may later be used for.
    grant_scopes: Vec<String>,
    nonce: Option<String>,
    mfa: bool,
    /// The hash of the refresh token this response replaces.
    rotate: Option<String>,
}

/// Applies the user's switches, then mints the access, refresh and ID tokens.
fn issue(state: &AppState, issue: Issue) -> Result<Value, EntraError> {
    let lifetime = state.config.access_token_lifetime_secs;
    let (access_token, id_token) = {
        let tenant = state.tenant.read();
        let user = tenant.user(issue.user_id).ok_or(Aadsts::UserNotFound)?;
        if user.auth.ca_blocked {
            return Err(Aadsts::ConditionalAccessBlockedGrant.into());
        }
        if user.auth.consent_missing {
            return Err(Aadsts::ConsentRequired.into());
        }
        let access_token = state.entra.access_token(
            &tenant,
            issue.user_id,
            issue.client_id,
            &scopes::access_token_scopes(&issue.response_scopes),
            Duration::from_secs(lifetime),
            issue.mfa,
        );
        let id_token = issue
            .response_scopes
            .iter()
            .any(|s| s == "openid")
            .then(|| {
                let iat = now_f64().floor() as i64;
                let mut claims = json!({
                    "aud": issue.client_id.to_string(),
                    "iss": format!("{}/{}/v2.0", state.base_url, tenant.id),
                    "iat": iat,
                    "nbf": iat,
                    "exp": iat + lifetime as i64,
                    "name": user.display_name,
                    "oid": user.id.to_string(),
                    "preferred_username": user.upn,
                    "sub": pairwise_sub(user.id, &issue.client_id.to_string()),
                    "tid": tenant.id.to_string(),
                    "ver": "2.0",
                });
                if let Some(nonce) = &issue.nonce {
                    claims["nonce"] = json!(nonce);
                }
                if issue.response_scopes.iter().any(|s| s == "email") {
                    claims["email"] = json!(user.mail);
                }
                state.entra.sign(&claims)
            });
        (access_token, id_token)
    };
    let wants_refresh =
        issue.rotate.is_some() || issue.response_scopes.iter().any(|s| s == "offline_access");
    let refresh_token = if wants_refresh {
        let mut store = state.entra.store.lock();
        if let Some(old) = &issue.rotate {
            // Checked again under the lock, so two refreshes racing with one token cannot
            // both win.
            let allow_reuse = state.config.allow_refresh_token_reuse;
            match store.refresh.get_mut(old) {
                Some(g) if g.status == RefreshStatus::Active => g.status = RefreshStatus::Rotated,
                Some(g) if g.status == RefreshStatus::Rotated && allow_reuse => {}
                Some(g) if g.status == RefreshStatus::Revoked => {
                    return Err(Aadsts::GrantRevoked.into())
                }
                _ => return Err(Aadsts::GrantInvalid.into()),
            }
        }
        Some(store.add_refresh(RefreshGrant {
            user_id: issue.user_id,
            client_id: issue.client_id,
            scopes: issue.grant_scopes.clone(),
            mfa: issue.mfa,
            expires_at: now_f64() + state.config.refresh_token_lifetime_secs as f64,
            status: RefreshStatus::Active,
        }))
    } else {
        None
    };
    let mut body = json!({
        "token_type": "Bearer",
        "scope": scopes::to_wire(&issue.response_scopes),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    });
    if let Some(rt) = refresh_token {
        body["refresh_token"] = json!(rt);
    }
    if let Some(id) = id_token {
        body["id_token"] = json!(id);
    }
    Ok(body)
}
