//! OpenID Connect discovery (`/{tenant}/v2.0/.well-known/openid-configuration` and the key set)
//! and the admin-consent page (`/{tenant}/adminconsent`), whose Accept clears the
//! `consent_missing` switch of every user, as an administrator granting tenant-wide consent
//! would.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

use super::errors::{Aadsts, EntraError};
use super::pages::{self, esc};
use super::scopes;

/// The discovery document.
pub(super) async fn openid_configuration(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (matches, tid) = {
        let t = state.tenant.read();
        (t.matches_authority(&tenant), t.id)
    };
    if !matches {
        return EntraError::from(Aadsts::TenantNotFound).json(
            &state.base_url,
            super::client_request_id(&headers).as_deref(),
        );
    }
    let base = &state.base_url;
    // Multi-tenant authorities publish a templated issuer, as Entra does.
    let issuer_tenant =
        if tenant.eq_ignore_ascii_case("organizations") || tenant.eq_ignore_ascii_case("common") {
            "{tenantid}".to_owned()
        } else {
            tid.to_string()
        };
    let mut scopes_supported: Vec<&str> = scopes::OIDC_SCOPES.to_vec();
    scopes_supported.extend(scopes::GRAPH_SCOPES.iter().map(|(n, _, _)| *n));
    axum::Json(json!({
        "issuer": format!("{base}/{issuer_tenant}/v2.0"),
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", super::token::DEVICE_CODE_GRANT],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["HS256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": scopes_supported,
        "claims_supported": ["aud", "iss", "iat", "nbf", "exp", "name", "nonce", "oid", "preferred_username", "sub", "tid", "ver", "email"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "perch-emulator",
    }))
    .into_response()
}

/// The key set. Tokens are HS256 with a secret key, so no key is published: clients must not
/// validate Graph access tokens themselves (Microsoft says the same of real ones).
pub(super) async fn keys() -> Response {
    axum::Json(json!({"keys": []})).into_response()
}

/// The admin-consent page.
pub(super) async fn admin_consent_show(
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
    let (app, org) = {
        let t = state.tenant.read();
        (
            t.app(client_id)
                .map(|a| a.display_name.clone())
                .unwrap_or_default(),
            t.display_name.clone(),
        )
    };
    let hidden = |name: &str| {
        params
            .get(name)
            .map(|v| {
                format!(
                    "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                    esc(v)
                )
            })
            .unwrap_or_default()
    };
    let granted: Vec<String> = scopes::DEFAULT_GRANT
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let body = format!(
        "<form id=\"adminconsent\" method=\"post\" action=\"/{tenant}/adminconsent\">\
         <h1>Permissions requested</h1><p class=\"muted\">Accept for your organization</p>\
         <p><b>{app}</b> needs permission to:</p>{perms}<p class=\"muted\">An administrator of \
         {org} would grant consent here. Accepting lets every user of the organization sign in \
         without being asked (the emulator clears every user's <code>consent_missing</code> \
         switch).</p><input type=\"hidden\" name=\"client_id\" value=\"{client_id}\">\
         {redirect}{state}{buttons}</form>",
        tenant = esc(&tenant),
        app = esc(&app),
        org = esc(&org),
        perms = pages::permission_list(&granted),
        redirect = hidden("redirect_uri"),
        state = hidden("state"),
        buttons = pages::buttons("Accept"),
    );
    pages::page(StatusCode::OK, "Permissions requested", &body)
}

/// Accept or cancel on the admin-consent page.
pub(super) async fn admin_consent_submit(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let form = super::parse_form(&body);
    if let Err(error) =
        super::check_client(&state, &tenant, form.get("client_id").map(String::as_str))
    {
        return pages::error_page(&error);
    }
    let redirect = form
        .get("redirect_uri")
        .and_then(|r| super::authorize::normalise_redirect(r));
    let accepted = form.get("action").map(String::as_str) == Some("accept");
    let tid = {
        let mut t = state.tenant.write();
        if accepted {
            for user in &mut t.users {
                user.auth.consent_missing = false;
            }
        }
        t.id
    };
    let mut pairs: Vec<(&str, String)> = if accepted {
        vec![
            ("admin_consent", "True".to_owned()),
            ("tenant", tid.to_string()),
        ]
    } else {
        EntraError::from(Aadsts::UserDeclined).redirect_pairs(&state.base_url)
    };
    if let Some(s) = form.get("state") {
        pairs.push(("state", s.clone()));
    }
    match redirect {
        Some(uri) => super::authorize::redirect(&uri, &pairs),
        None if accepted => pages::message_page(
            "Permissions granted",
            "Consent was granted for the whole organization. Users can now sign in to the app.",
        ),
        None => pages::message_page("Permissions not granted", "No consent was granted."),
    }
}
