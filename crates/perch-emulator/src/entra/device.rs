//! The device-code flow: `POST /{tenant}/oauth2/v2.0/devicecode` hands out a device code and a
//! user code, and `/devicelogin` is the page where a person types the user code, picks a demo
//! user (with the MFA step for users who need it) and approves or declines. Polling is answered
//! by the token endpoint (`token::device_code`).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::model::User;
use crate::state::AppState;

use super::errors::{Aadsts, EntraError};
use super::pages::{self, esc};
use super::store::{new_user_code, DeviceGrant, DeviceStatus};
use super::{now_f64, scopes};

/// Device codes live 15 minutes, as Entra's do.
const DEVICE_CODE_LIFETIME_SECS: u64 = 900;
/// Seconds between polls.
const POLL_INTERVAL_SECS: u64 = 5;

/// Starts a device-code sign-in.
pub(super) async fn start(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match device_authorization(&state, &tenant, &body) {
        Ok(body) => axum::Json(body).into_response(),
        Err(error) => error.json(
            &state.base_url,
            super::client_request_id(&headers).as_deref(),
        ),
    }
}

fn device_authorization(
    state: &AppState,
    tenant: &str,
    body: &[u8],
) -> Result<serde_json::Value, EntraError> {
    let form = super::parse_form(body);
    let client_id = super::check_client(state, tenant, form.get("client_id").map(String::as_str))?;
    let granted = scopes::parse(form.get("scope").map(String::as_str).unwrap_or_default())
        .map_err(|e| match e {
            scopes::ScopeError::Missing => Aadsts::MissingParameter.with(e.to_string()),
            scopes::ScopeError::Unknown(_) => Aadsts::InvalidScope.with(e.to_string()),
        })?;
    let status = if state.config.auto_approve {
        match state.tenant.read().users.first() {
            Some(user) => DeviceStatus::Approved {
                user_id: user.id,
                mfa: true,
            },
            None => DeviceStatus::Pending,
        }
    } else {
        DeviceStatus::Pending
    };
    let user_code = new_user_code();
    let device_code = state.entra.store.lock().add_device(DeviceGrant {
        user_code: user_code.clone(),
        client_id,
        scopes: scopes::with_default_resource(granted),
        expires_at: now_f64() + DEVICE_CODE_LIFETIME_SECS as f64,
        interval: POLL_INTERVAL_SECS,
        last_poll: None,
        status,
    });
    let verification_uri = format!("{}/devicelogin", state.base_url);
    Ok(json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verification_uri,
        "expires_in": DEVICE_CODE_LIFETIME_SECS,
        "interval": POLL_INTERVAL_SECS,
        "message": format!("To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate."),
    }))
}

/// The device-login page; `?otc=CODE` fills the code in.
pub(super) async fn show(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let params = super::parse_form(query.unwrap_or_default().as_bytes());
    let code = params.get("otc").map(String::as_str).unwrap_or_default();
    device_page(&state, code, None, None)
}

fn device_page(
    state: &AppState,
    user_code: &str,
    mfa_user: Option<&User>,
    notice: Option<&str>,
) -> Response {
    let tenant = state.tenant.read();
    let notice = notice
        .map(|n| format!("<div class=\"error\" id=\"notice\">{}</div>", esc(n)))
        .unwrap_or_default();
    let middle = match mfa_user {
        Some(user) => format!(
            "<h1>Approve sign-in request</h1>{notice}\
             <input type=\"hidden\" id=\"user_code\" name=\"user_code\" value=\"{}\">{}",
            esc(user_code),
            pages::mfa_step(user)
        ),
        None => format!(
            "<h1>Enter code</h1>{notice}<p>Enter the code displayed on your app or device \
             to sign in to {org}.</p><input type=\"text\" id=\"user_code\" name=\"user_code\" \
             value=\"{code}\" placeholder=\"Code\" autocomplete=\"off\" maxlength=\"16\" \
             required><p class=\"muted\">Then pick the account to sign in with:</p>{users}",
            org = esc(&tenant.display_name),
            code = esc(user_code),
            users = pages::user_list(&tenant.users, (!tenant.users.is_empty()).then_some(0)),
        ),
    };
    let body = format!(
        "<form id=\"devicelogin\" method=\"post\" action=\"/devicelogin\">{middle}{}</form>",
        pages::buttons(if mfa_user.is_some() { "Verify" } else { "Next" })
    );
    pages::page(StatusCode::OK, "Enter code", &body)
}

/// The device-login form: approve (maybe after the MFA step) or decline.
pub(super) async fn submit(State(state): State<AppState>, body: Bytes) -> Response {
    let form = super::parse_form(&body);
    let user_code = form
        .get("user_code")
        .map(String::as_str)
        .unwrap_or_default();
    let app_for_code = {
        let mut store = state.entra.store.lock();
        store
            .pending_device_by_user_code(user_code)
            .map(|grant| grant.client_id)
    };
    let Some(client_id) = app_for_code else {
        return device_page(
            &state,
            user_code,
            None,
            Some("That code didn't work. Check the code and try again."),
        );
    };
    let app_name = state
        .tenant
        .read()
        .app(client_id)
        .map(|a| a.display_name.clone())
        .unwrap_or_default();
    let decision = match form.get("action").map(String::as_str) {
        Some("cancel") => DeviceStatus::Declined,
        Some("accept") => {
            let chosen = form
                .get("user")
                .and_then(|upn| state.tenant.read().user_by_hint(upn).cloned());
            let Some(user) = chosen else {
                return device_page(
                    &state,
                    user_code,
                    None,
                    Some("Pick an account to continue."),
                );
            };
            if user.auth.mfa_required && form.get("mfa_approved").map(String::as_str) != Some("on")
            {
                let notice = form
                    .contains_key("mfa_step")
                    .then_some("Tick “Approve sign-in request” to continue.");
                return device_page(&state, user_code, Some(&user), notice);
            }
            DeviceStatus::Approved {
                user_id: user.id,
                mfa: user.auth.mfa_required,
            }
        }
        _ => return device_page(&state, user_code, None, None),
    };
    let applied = {
        let mut store = state.entra.store.lock();
        match store.pending_device_by_user_code(user_code) {
            Some(grant) => {
                grant.status = decision;
                true
            }
            None => false,
        }
    };
    match (applied, decision) {
        (false, _) => device_page(
            &state,
            "",
            None,
            Some("That code has expired or was already used. Start again on your device."),
        ),
        (true, DeviceStatus::Declined) => pages::message_page(
            "You declined",
            &format!("You declined to sign in to {app_name} on your device. You may now close this window."),
        ),
        (true, _) => pages::message_page(
            "You're signed in",
            &format!("You have signed in to the {app_name} application on your device. You may now close this window."),
        ),
    }
}
