//! `GET /{tenant}/oauth2/v2.0/authorize` and the form it posts back: request checks (tenant,
//! client, loopback redirect URI, response type, scopes, S256 PKCE), `prompt=none`,
//! auto-approve, the sign-in and consent page with its MFA step, and the redirect carrying a
//! code or an error. Errors about the tenant, the client or the redirect URI are pages, never
//! redirects (the redirect URI cannot be trusted yet); everything after is a redirect.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use url::{Host, Url};
use uuid::Uuid;

use crate::model::User;
use crate::state::AppState;

use super::errors::{Aadsts, EntraError};
use super::pages::{self, esc};
use super::store::{AuthCode, PendingAuth};
use super::{now_f64, scopes};

/// The normalised form of a loopback redirect URI (`http://localhost` or `http://127.0.0.1`,
/// any port, optional path; a bare origin gets its `/`), or `None` for anything else
/// (https, other hosts, `[::1]`, user info, fragments).
pub fn normalise_redirect(raw: &str) -> Option<String> {
    let url = Url::parse(raw).ok()?;
    if url.scheme() != "http"
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    match url.host() {
        Some(Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {}
        Some(Host::Ipv4(ip)) if ip == Ipv4Addr::LOCALHOST => {}
        _ => return None,
    }
    Some(url.to_string())
}

/// The authorize request.
pub(super) async fn show(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = super::parse_form(query.unwrap_or_default().as_bytes());
    let client_id =
        match super::check_client(&state, &tenant, params.get("client_id").map(String::as_str)) {
            Ok(id) => id,
            Err(error) => return pages::error_page(&error),
        };
    let raw_redirect = params
        .get("redirect_uri")
        .map(String::as_str)
        .unwrap_or_default();
    let Some(redirect_uri) = normalise_redirect(raw_redirect) else {
        return pages::error_page(&Aadsts::RedirectUriNotAllowed.with(format!(
            "The redirect URI '{raw_redirect}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Only loopback URIs (http://localhost or http://127.0.0.1, any port) are registered."
        )));
    };
    let state_param = params.get("state").cloned();
    let fail =
        |error: EntraError| error_redirect(&state, &redirect_uri, &error, state_param.as_deref());
    let pending = match check_request(&params) {
        Ok((scopes, challenge)) => PendingAuth {
            tenant_path: tenant,
            client_id,
            redirect_uri: redirect_uri.clone(),
            scopes,
            state: state_param.clone(),
            challenge,
            nonce: params.get("nonce").cloned(),
            login_hint: params.get("login_hint").cloned().filter(|h| !h.is_empty()),
            created: now_f64(),
        },
        Err(error) => return fail(error),
    };
    let prompt = params.get("prompt").map(String::as_str).unwrap_or_default();
    if prompt == "none" {
        return silent(&state, pending);
    }
    let interactive_prompt = matches!(prompt, "login" | "select_account" | "consent");
    if state.config.auto_approve && !interactive_prompt {
        let user = {
            let tenant = state.tenant.read();
            pending
                .login_hint
                .as_deref()
                .and_then(|h| tenant.user_by_hint(h))
                .or_else(|| tenant.users.first())
                .map(|u| u.id)
        };
        return match user {
            Some(user_id) => complete(&state, pending, user_id, true),
            None => fail(Aadsts::UserNotFound.into()),
        };
    }
    let id = state.entra.store.lock().add_pending(pending.clone());
    sign_in_page(&state, &id, &pending, None, None)
}

/// Response type, scopes and PKCE; returns the canonical scopes and the challenge.
fn check_request(params: &HashMap<String, String>) -> Result<(Vec<String>, String), EntraError> {
    match params.get("response_type").map(String::as_str) {
        Some("code") => {}
        None | Some("") => {
            return Err(Aadsts::MissingParameter
                .with("The request body must contain the following parameter: 'response_type'."))
        }
        Some(other) => {
            return Err(Aadsts::UnsupportedResponseType.with(format!(
                "The provided response_type '{other}' is not supported for this application. Use response_type=code."
            )))
        }
    }
    let granted = scopes::parse(params.get("scope").map(String::as_str).unwrap_or_default())
        .map_err(|e| match e {
            scopes::ScopeError::Missing => Aadsts::MissingParameter.with(e.to_string()),
            scopes::ScopeError::Unknown(_) => Aadsts::InvalidScope.with(e.to_string()),
        })?;
    let challenge = params
        .get("code_challenge")
        .filter(|c| !c.is_empty())
        .ok_or(Aadsts::PkceRequired)?;
    // Without a method RFC 7636 means `plain`, which Entra's public clients may not use.
    match params.get("code_challenge_method").map(String::as_str) {
        Some("S256") => {}
        Some(other) => {
            return Err(Aadsts::PkceMethodNotSupported.with(format!(
                "Invalid code_challenge_method '{other}'. Only 'S256' is supported."
            )))
        }
        None => return Err(Aadsts::PkceMethodNotSupported.with(
            "The code_challenge_method is missing (which means 'plain'). Only 'S256' is supported.",
        )),
    }
    let well_formed = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(Aadsts::PkceMethodNotSupported
            .with("Invalid size of Code_Challenge parameter: an S256 challenge is 43 base64url characters."));
    }
    Ok((scopes::with_default_resource(granted), challenge.clone()))
}

/// `prompt=none`: a code for the `login_hint` user when nothing needs a person, else
/// `login_required` / `interaction_required` / `consent_required` / `access_denied`.
fn silent(state: &AppState, pending: PendingAuth) -> Response {
    let user = {
        let tenant = state.tenant.read();
        pending
            .login_hint
            .as_deref()
            .and_then(|h| tenant.user_by_hint(h))
            .map(|u| (u.id, u.auth.mfa_required))
    };
    match user {
        None => error_redirect(
            state,
            &pending.redirect_uri,
            &Aadsts::LoginRequired.into(),
            pending.state.as_deref(),
        ),
        Some((_, true)) => error_redirect(
            state,
            &pending.redirect_uri,
            &EntraError {
                kind: Aadsts::MfaRequired,
                detail: None,
            },
            pending.state.as_deref(),
        ),
        Some((user_id, false)) => complete(state, pending, user_id, false),
    }
}

/// The user agreed: applies their switches and redirects with a code (or the error).
fn complete(state: &AppState, pending: PendingAuth, user_id: Uuid, mfa: bool) -> Response {
    let switches = state.tenant.read().user(user_id).map(|u| u.auth.clone());
    let blocked = match switches {
        None => Some(Aadsts::UserNotFound),
        Some(s) if s.ca_blocked => Some(Aadsts::ConditionalAccessBlocked),
        Some(s) if s.consent_missing => Some(Aadsts::ConsentRequired),
        Some(_) => None,
    };
    if let Some(kind) = blocked {
        return error_redirect(
            state,
            &pending.redirect_uri,
            &kind.into(),
            pending.state.as_deref(),
        );
    }
    let code = state.entra.store.lock().add_code(AuthCode {
        client_id: pending.client_id,
        redirect_uri: pending.redirect_uri.clone(),
        user_id,
        scopes: pending.scopes,
        challenge: pending.challenge,
        nonce: pending.nonce,
        mfa,
        expires_at: now_f64() + state.config.auth_code_lifetime_secs as f64,
        redeemed: false,
    });
    let mut pairs = vec![("code", code)];
    if let Some(s) = pending.state {
        pairs.push(("state", s));
    }
    pairs.push(("session_state", Uuid::new_v4().to_string()));
    redirect(&pending.redirect_uri, &pairs)
}

/// A 302 to `redirect_uri` with `pairs` added to its query.
pub(super) fn redirect(redirect_uri: &str, pairs: &[(&str, String)]) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return pages::error_page(&Aadsts::RedirectUriNotAllowed.into());
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
    }
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(location) = HeaderValue::from_str(url.as_str()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    response
}

/// A 302 carrying `error`, `error_description`, `error_uri` and `state`.
fn error_redirect(
    state: &AppState,
    redirect_uri: &str,
    error: &EntraError,
    state_param: Option<&str>,
) -> Response {
    let mut pairs = error.redirect_pairs(&state.base_url);
    if let Some(s) = state_param {
        pairs.push(("state", s.to_owned()));
    }
    redirect(redirect_uri, &pairs)
}

/// The sign-in and consent page, or (with `mfa_user`) its "Approve sign-in request" step.
fn sign_in_page(
    state: &AppState,
    request_id: &str,
    pending: &PendingAuth,
    mfa_user: Option<&User>,
    notice: Option<&str>,
) -> Response {
    let tenant = state.tenant.read();
    let app = tenant
        .app(pending.client_id)
        .map(|a| a.display_name.clone())
        .unwrap_or_default();
    let notice = notice
        .map(|n| format!("<div class=\"error\" id=\"notice\">{}</div>", esc(n)))
        .unwrap_or_default();
    let middle = match mfa_user {
        Some(user) => format!(
            "<h1>Approve sign-in request</h1>{notice}{}",
            pages::mfa_step(user)
        ),
        None => {
            let selected = pending
                .login_hint
                .as_deref()
                .and_then(|h| tenant.user_by_hint(h))
                .and_then(|u| tenant.users.iter().position(|x| x.id == u.id))
                .or(if tenant.users.is_empty() {
                    None
                } else {
                    Some(0)
                });
            format!(
                "<h1>Pick an account</h1>{notice}<p class=\"muted\">to continue to <b>{app}</b> \
                 in {org}</p>{users}<p><b>{app}</b> is asking for permission to:</p>{perms}\
                 <p class=\"muted\">Accepting lets this app use your data as described in its \
                 terms of service and privacy statement.</p>",
                app = esc(&app),
                org = esc(&tenant.display_name),
                users = pages::user_list(&tenant.users, selected),
                perms = pages::permission_list(&pending.scopes),
            )
        }
    };
    let body = format!(
        "<form id=\"signin\" method=\"post\" action=\"/{tenant_path}/oauth2/v2.0/authorize\">\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">{middle}{buttons}</form>",
        tenant_path = esc(&pending.tenant_path),
        request = esc(request_id),
        buttons = pages::buttons(if mfa_user.is_some() {
            "Verify"
        } else {
            "Accept"
        }),
    );
    pages::page(StatusCode::OK, "Sign in to your account", &body)
}

/// The sign-in form posted back: accept (maybe after the MFA step) or cancel.
pub(super) async fn submit(
    State(state): State<AppState>,
    Path(_tenant): Path<String>,
    body: Bytes,
) -> Response {
    let form = super::parse_form(&body);
    let request_id = form.get("request").cloned().unwrap_or_default();
    let Some(pending) = state.entra.store.lock().pending.get(&request_id).cloned() else {
        return pages::error_page(&Aadsts::MalformedRequest.with(
            "The sign-in request has expired or was already completed. Start the sign-in again.",
        ));
    };
    let take = || state.entra.store.lock().pending.remove(&request_id);
    match form.get("action").map(String::as_str) {
        Some("cancel") => {
            take();
            error_redirect(
                &state,
                &pending.redirect_uri,
                &Aadsts::UserDeclined.into(),
                pending.state.as_deref(),
            )
        }
        Some("accept") => {
            let chosen = form.get("user").and_then(|upn| {
                let tenant = state.tenant.read();
                tenant.user_by_hint(upn).cloned()
            });
            let Some(user) = chosen else {
                return sign_in_page(
                    &state,
                    &request_id,
                    &pending,
                    None,
                    Some("Pick an account to continue."),
                );
            };
            if user.auth.mfa_required && form.get("mfa_approved").map(String::as_str) != Some("on")
            {
                let notice = form
                    .contains_key("mfa_step")
                    .then_some("Tick “Approve sign-in request” to continue.");
                return sign_in_page(&state, &request_id, &pending, Some(&user), notice);
            }
            take();
            complete(&state, pending, user.id, user.auth.mfa_required)
        }
        _ => sign_in_page(&state, &request_id, &pending, None, None),
    }
}
