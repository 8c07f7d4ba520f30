//! Every Entra (AADSTS) error the emulator gives, in one table ([`Aadsts`]), and the shapes they
//! take on the wire: the token endpoint's JSON body, the `error=…&error_description=…` query of
//! an authorize redirect, and the text of an error page.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The AADSTS errors the emulator answers with. Each has its number, its OAuth `error` value
/// and its standard message; see [`Aadsts::code`], [`Aadsts::error`], [`Aadsts::message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aadsts {
    /// 90002: the tenant in the path is not this tenant, its domain, `organizations` or `common`.
    TenantNotFound,
    /// 900144: a required parameter is missing.
    MissingParameter,
    /// 700016: no app registration with this client id.
    AppNotFound,
    /// 50011: the redirect URI is not a loopback `http://localhost` / `http://127.0.0.1` URI.
    RedirectUriNotAllowed,
    /// 70005: `response_type` is not `code`.
    UnsupportedResponseType,
    /// 70011: a scope that Graph does not have, or a malformed one.
    InvalidScope,
    /// 9002325: a public client must send a PKCE `code_challenge`.
    PkceRequired,
    /// 501491: only `code_challenge_method=S256` is accepted.
    PkceMethodNotSupported,
    /// 65004: the user declined to consent (Cancel on the sign-in page).
    UserDeclined,
    /// 65001: the user or an admin has not consented to the app.
    ConsentRequired,
    /// 53003: Conditional Access blocked the sign-in.
    ConditionalAccessBlocked,
    /// 53003 at the token endpoint (`invalid_grant`): Conditional Access blocked the grant.
    ConditionalAccessBlockedGrant,
    /// 9002313 with `bad_verification_code`: a device code the emulator never issued.
    BadVerificationCode,
    /// 50076: multi-factor authentication is required.
    MfaRequired,
    /// 50058: `prompt=none` but no signed-in user is known.
    LoginRequired,
    /// 54005: the authorization code was already redeemed.
    CodeAlreadyRedeemed,
    /// 70008: the code or refresh token has expired.
    GrantExpired,
    /// 50148: the token request has no `code_verifier`.
    CodeVerifierMissing,
    /// 501481: the `code_verifier` does not match the `code_challenge`.
    CodeVerifierMismatch,
    /// 50011 at the token endpoint: `redirect_uri` differs from the one used at authorize.
    RedirectUriMismatch,
    /// 700005: the code or refresh token was issued to another client.
    GrantClientMismatch,
    /// 700025: a public client sent a client secret or assertion.
    PublicClientWithSecret,
    /// 7000218: a confidential client sent no secret.
    ConfidentialClientWithoutSecret,
    /// 7000215: the secret is wrong (the emulator knows no secrets).
    InvalidClientSecret,
    /// 50173: the grant was revoked (sessions revoked, password changed).
    GrantRevoked,
    /// 70000: the grant is invalid (a rotated refresh token used again).
    GrantInvalid,
    /// 9002313: the code, refresh token or device code is not one the emulator issued.
    MalformedGrant,
    /// 70003: an unknown `grant_type`.
    UnsupportedGrantType,
    /// 70016: device flow, the user has not finished yet.
    AuthorizationPending,
    /// 70016 with `slow_down`: polled faster than the interval.
    SlowDown,
    /// 70020: the device code expired.
    DeviceCodeExpired,
    /// 65004 with `authorization_declined`: the user declined on the device-login page.
    DeviceAuthorizationDeclined,
    /// 50034: the user is not in the directory (any more).
    UserNotFound,
    /// 90014: the request is malformed (e.g. not form-encoded).
    MalformedRequest,
}

impl Aadsts {
    /// The AADSTS number.
    pub fn code(self) -> u32 {
        match self {
            Self::TenantNotFound => 90002,
            Self::MissingParameter => 900144,
            Self::AppNotFound => 700016,
            Self::RedirectUriNotAllowed | Self::RedirectUriMismatch => 50011,
            Self::UnsupportedResponseType => 70005,
            Self::InvalidScope => 70011,
            Self::PkceRequired => 9002325,
            Self::PkceMethodNotSupported => 501491,
            Self::UserDeclined | Self::DeviceAuthorizationDeclined => 65004,
            Self::ConsentRequired => 65001,
            Self::ConditionalAccessBlocked | Self::ConditionalAccessBlockedGrant => 53003,
            Self::BadVerificationCode => 9002313,
            Self::MfaRequired => 50076,
            Self::LoginRequired => 50058,
            Self::CodeAlreadyRedeemed => 54005,
            Self::GrantExpired => 70008,
            Self::CodeVerifierMissing => 50148,
            Self::CodeVerifierMismatch => 501481,
            Self::GrantClientMismatch => 700005,
            Self::PublicClientWithSecret => 700025,
            Self::ConfidentialClientWithoutSecret => 7000218,
            Self::InvalidClientSecret => 7000215,
            Self::GrantRevoked => 50173,
            Self::GrantInvalid => 70000,
            Self::MalformedGrant => 9002313,
            Self::UnsupportedGrantType => 70003,
            Self::AuthorizationPending | Self::SlowDown => 70016,
            Self::DeviceCodeExpired => 70020,
            Self::UserNotFound => 50034,
            Self::MalformedRequest => 90014,
        }
    }

    /// The OAuth `error` value.
    pub fn error(self) -> &'static str {
        match self {
            Self::TenantNotFound
            | Self::MissingParameter
            | Self::RedirectUriNotAllowed
            | Self::PkceRequired
            | Self::PkceMethodNotSupported
            | Self::CodeVerifierMissing
            | Self::MalformedRequest => "invalid_request",
            Self::AppNotFound => "unauthorized_client",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::UserDeclined | Self::ConditionalAccessBlocked => "access_denied",
            Self::ConsentRequired => "consent_required",
            Self::MfaRequired => "interaction_required",
            Self::LoginRequired => "login_required",
            Self::CodeAlreadyRedeemed
            | Self::GrantExpired
            | Self::CodeVerifierMismatch
            | Self::RedirectUriMismatch
            | Self::GrantClientMismatch
            | Self::GrantRevoked
            | Self::GrantInvalid
            | Self::MalformedGrant
            | Self::ConditionalAccessBlockedGrant
            | Self::UserNotFound => "invalid_grant",
            Self::BadVerificationCode => "bad_verification_code",
            Self::PublicClientWithSecret
            | Self::ConfidentialClientWithoutSecret
            | Self::InvalidClientSecret => "invalid_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::DeviceCodeExpired => "expired_token",
            Self::DeviceAuthorizationDeclined => "authorization_declined",
        }
    }

    /// Entra's standard message (without the `AADSTSn: ` prefix).
    pub fn message(self) -> &'static str {
        match self {
            Self::TenantNotFound => "Tenant not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.",
            Self::MissingParameter => "The request body must contain the following parameter.",
            Self::AppNotFound => "Application was not found in the directory. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
            Self::RedirectUriNotAllowed => "The redirect URI specified in the request does not match the redirect URIs configured for the application. Only loopback URIs (http://localhost or http://127.0.0.1, any port) are registered.",
            Self::UnsupportedResponseType => "The provided response_type is not supported for this application. Use response_type=code.",
            Self::InvalidScope => "The provided value for the input parameter 'scope' is not valid.",
            Self::PkceRequired => "Proof Key for Code Exchange is required for public clients. Send code_challenge and code_challenge_method=S256.",
            Self::PkceMethodNotSupported => "Invalid code_challenge_method. Only 'S256' is supported.",
            Self::UserDeclined => "User declined to consent to access the app.",
            Self::ConsentRequired => "The user or administrator has not consented to use the application. Send an interactive authorization request for this user and resource, or ask an administrator to grant consent.",
            Self::ConditionalAccessBlocked | Self::ConditionalAccessBlockedGrant => "Your sign-in was successful but does not meet the criteria to access this resource. Access has been blocked by Conditional Access policies.",
            Self::MfaRequired => "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access this resource.",
            Self::LoginRequired => "A silent sign-in request was sent but no user is signed in.",
            Self::CodeAlreadyRedeemed => "The provided authorization code or refresh token has already been redeemed. Please retry with a new valid code or refresh token.",
            Self::GrantExpired => "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
            Self::CodeVerifierMissing => "The request body must contain the following parameter: 'code_verifier'.",
            Self::CodeVerifierMismatch => "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            Self::RedirectUriMismatch => "The redirect URI specified in the request does not match the redirect URI used in the authorization request.",
            Self::GrantClientMismatch => "Provided grant is intended to use against other client.",
            Self::PublicClientWithSecret => "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
            Self::ConfidentialClientWithoutSecret => "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            Self::InvalidClientSecret => "Invalid client secret provided.",
            Self::GrantRevoked => "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
            Self::GrantInvalid => "The provided grant is invalid or malformed. The refresh token was already used and has been replaced by a newer one.",
            Self::MalformedGrant => "Invalid request. Request is malformed or invalid.",
            Self::BadVerificationCode => "The provided value for the input parameter 'device_code' was not recognized.",
            Self::UnsupportedGrantType => "The provided value for the 'grant_type' is not supported.",
            Self::AuthorizationPending => "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            Self::SlowDown => "OAuth 2.0 device flow error. Polling too fast: wait the interval between requests.",
            Self::DeviceCodeExpired => "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
            Self::DeviceAuthorizationDeclined => "The user declined the authorization request.",
            Self::UserNotFound => "The user account does not exist in the directory.",
            Self::MalformedRequest => "The request is malformed or invalid.",
        }
    }

    /// HTTP status at the token endpoint: 401 for `invalid_client`, else 400.
    pub fn status(self) -> StatusCode {
        if self.error() == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        }
    }
}

/// One Entra error: its table entry and, optionally, a more precise message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("AADSTS{}: {}", .kind.code(), self.text())]
pub struct EntraError {
    /// The table entry.
    pub kind: Aadsts,
    /// Replaces the standard message when set.
    pub detail: Option<String>,
}

impl From<Aadsts> for EntraError {
    fn from(kind: Aadsts) -> Self {
        Self { kind, detail: None }
    }
}

impl Aadsts {
    /// This error with a message of its own.
    pub fn with(self, detail: impl Into<String>) -> EntraError {
        EntraError {
            kind: self,
            detail: Some(detail.into()),
        }
    }
}

/// Ids and time stamped on one error answer.
#[derive(Debug, Clone)]
pub struct ErrorStamp {
    /// A fresh trace id.
    pub trace_id: String,
    /// The client's `client-request-id`, or a fresh id.
    pub correlation_id: String,
    /// `2025-01-31 12:00:00Z`.
    pub timestamp: String,
}

impl ErrorStamp {
    /// Stamps an error, taking the correlation id from the client when it sent one.
    pub fn new(client_request_id: Option<&str>) -> Self {
        Self {
            trace_id: uuid::Uuid::new_v4().to_string(),
            correlation_id: client_request_id
                .and_then(|id| uuid::Uuid::parse_str(id).ok())
                .unwrap_or_else(uuid::Uuid::new_v4)
                .to_string(),
            timestamp: chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
        }
    }
}

impl EntraError {
    /// The message without the prefix.
    pub fn text(&self) -> &str {
        self.detail.as_deref().unwrap_or(self.kind.message())
    }

    /// `AADSTSn: message Trace ID: … Correlation ID: … Timestamp: …`.
    pub fn description(&self, stamp: &ErrorStamp) -> String {
        format!(
            "AADSTS{}: {} Trace ID: {} Correlation ID: {} Timestamp: {}",
            self.kind.code(),
            self.text(),
            stamp.trace_id,
            stamp.correlation_id,
            stamp.timestamp
        )
    }

    /// `{base_url}/error?code=n`.
    pub fn error_uri(&self, base_url: &str) -> String {
        format!("{base_url}/error?code={}", self.kind.code())
    }

    /// The token endpoint's JSON answer.
    pub fn json(&self, base_url: &str, client_request_id: Option<&str>) -> Response {
        let stamp = ErrorStamp::new(client_request_id);
        let body = json!({
            "error": self.kind.error(),
            "error_description": self.description(&stamp),
            "error_codes": [self.kind.code()],
            "timestamp": stamp.timestamp,
            "trace_id": stamp.trace_id,
            "correlation_id": stamp.correlation_id,
            "error_uri": self.error_uri(base_url),
        });
        let mut response = (self.kind.status(), axum::Json(body)).into_response();
        response.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store, no-cache"),
        );
        response
    }

    /// The query pairs of an authorize redirect carrying this error.
    pub fn redirect_pairs(&self, base_url: &str) -> Vec<(&'static str, String)> {
        let stamp = ErrorStamp::new(None);
        vec![
            ("error", self.kind.error().to_owned()),
            ("error_description", self.description(&stamp)),
            ("error_uri", self.error_uri(base_url)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_client_is_401_and_others_400() {
        assert_eq!(
            Aadsts::PublicClientWithSecret.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(Aadsts::GrantRevoked.status(), StatusCode::BAD_REQUEST);
        let stamp = ErrorStamp::new(None);
        assert!(EntraError::from(Aadsts::GrantRevoked)
            .description(&stamp)
            .starts_with("AADSTS50173: "));
    }
}
