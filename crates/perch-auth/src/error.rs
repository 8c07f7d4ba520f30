//! [`AuthError`]: every way sign-in and token custody can fail, each with a stable
//! [`AuthError::code`] the UI branches on and a message a person can act on. No variant holds a
//! token: Entra's error descriptions and our own texts only.

use perch_core::AccountId;

/// What went wrong, and what the person (or the app) can do about it.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The account's refresh token is gone or was refused (`invalid_grant`: expired, revoked,
    /// inactive; `interaction_required`: MFA and the like). The account is now NeedsSignIn;
    /// sign in again with `login_hint`.
    #[error("{upn} needs to sign in again ({reason})")]
    NeedsSignIn {
        /// Which account.
        account: AccountId,
        /// The UPN, for the message and the `login_hint`.
        upn: String,
        /// Entra's error (`invalid_grant`, `interaction_required`) and description.
        reason: String,
    },
    /// The app lacks consent for a permission, and users may not grant it (AADSTS65001,
    /// AADSTS90094).
    #[error("Perch is not yet approved in your organisation: ask an administrator to grant consent at {admin_consent_url} ({description})")]
    ConsentRequired {
        /// Where an administrator grants consent for the whole tenant.
        admin_consent_url: String,
        /// Entra's description.
        description: String,
    },
    /// Conditional Access blocked the sign-in (AADSTS53003, 53000: e.g. a non-compliant
    /// device). Retrying will not help.
    #[error("your organisation's access policy blocked this sign-in; contact your IT department ({description})")]
    ConditionalAccess {
        /// Entra's description.
        description: String,
    },
    /// The person declined on the sign-in page (`error=access_denied` on the redirect).
    #[error("sign-in was cancelled on the sign-in page ({description})")]
    AccessDenied {
        /// Entra's description.
        description: String,
    },
    /// Another error came back on the redirect (`error=…`).
    #[error("sign-in failed: {error} ({description})")]
    Authorize {
        /// The `error` parameter.
        error: String,
        /// The `error_description` parameter.
        description: String,
    },
    /// The redirect's `state` did not match the one we sent: the response is not ours (or was
    /// forged). No token was requested.
    #[error("the sign-in response did not match this sign-in (state mismatch); try again")]
    StateMismatch,
    /// The sign-in was not completed in time.
    #[error("sign-in timed out after {seconds} s; try again")]
    Timeout {
        /// The timeout.
        seconds: u64,
    },
    /// The caller cancelled the sign-in.
    #[error("sign-in was cancelled")]
    Cancelled,
    /// The loopback redirect listener could not be started.
    #[error("could not listen for the sign-in redirect on {addr}: {source}")]
    Listener {
        /// The address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The device code expired before the person entered it.
    #[error("the sign-in code expired before it was used; start again")]
    DeviceCodeExpired,
    /// The login service was unavailable (5xx, `temporarily_unavailable`) after bounded retries.
    #[error("the Microsoft sign-in service is unavailable ({detail}); try again later")]
    ServiceUnavailable {
        /// What the last attempt said.
        detail: String,
    },
    /// Another error from the token endpoint.
    #[error("the sign-in service refused the request: {error} ({description})")]
    TokenEndpoint {
        /// Entra's `error`.
        error: String,
        /// Entra's description.
        description: String,
    },
    /// The sign-in service could not be reached.
    #[error("could not reach the sign-in service: {0}")]
    Network(String),
    /// The sign-in service answered something we could not use.
    #[error("the sign-in service sent an unexpected response: {0}")]
    InvalidResponse(String),
    /// No Secret Service / keychain is reachable.
    #[error("the system keyring is not available ({detail}). On Linux install gnome-keyring or KeePassXC with Secret Service enabled, and unlock it; or sign in for this session only")]
    KeyringUnavailable {
        /// The platform's message.
        detail: String,
    },
    /// The keyring is locked, or the person refused access.
    #[error("the system keyring is locked or access was denied ({detail}); unlock it (e.g. log in to gnome-keyring or KeePassXC) and try again, or sign in for this session only")]
    KeyringLocked {
        /// The platform's message.
        detail: String,
    },
    /// Reading or writing the keyring failed for another reason.
    #[error("the system keyring failed: {detail}")]
    Keyring {
        /// The platform's message (never the secret).
        detail: String,
    },
    /// The account belongs to a tenant the managed policy does not allow (`allowed_tenants`).
    /// No token was kept.
    #[error("{upn} belongs to tenant {tenant}, which your organisation's policy does not allow in Perch; sign in with an account of an allowed organisation, or ask your IT department")]
    TenantNotAllowed {
        /// The account's tenant id (`tid`).
        tenant: uuid::Uuid,
        /// Who tried, for the message.
        upn: String,
    },
    /// The account is not known here.
    #[error("no such account: {0}")]
    UnknownAccount(AccountId),
    /// The local database failed.
    #[error(transparent)]
    Store(#[from] perch_store::Error),
    /// A configuration problem.
    #[error(transparent)]
    Config(#[from] perch_core::ConfigError),
}

impl AuthError {
    /// A stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::NeedsSignIn { .. } => "needs_sign_in",
            AuthError::ConsentRequired { .. } => "consent_required",
            AuthError::ConditionalAccess { .. } => "conditional_access",
            AuthError::AccessDenied { .. } => "access_denied",
            AuthError::Authorize { .. } => "authorize_error",
            AuthError::StateMismatch => "state_mismatch",
            AuthError::Timeout { .. } => "sign_in_timeout",
            AuthError::Cancelled => "sign_in_cancelled",
            AuthError::Listener { .. } => "redirect_listener",
            AuthError::DeviceCodeExpired => "device_code_expired",
            AuthError::ServiceUnavailable { .. } => "service_unavailable",
            AuthError::TokenEndpoint { .. } => "token_error",
            AuthError::Network(_) => "network",
            AuthError::InvalidResponse(_) => "invalid_response",
            AuthError::KeyringUnavailable { .. } => "keyring_unavailable",
            AuthError::KeyringLocked { .. } => "keyring_locked",
            AuthError::Keyring { .. } => "keyring_error",
            AuthError::TenantNotAllowed { .. } => "tenant_not_allowed",
            AuthError::UnknownAccount(_) => "unknown_account",
            AuthError::Store(e) => e.code(),
            AuthError::Config(e) => e.code(),
        }
    }

    /// Whether retrying the same request later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AuthError::ServiceUnavailable { .. } | AuthError::Network(_)
        )
    }
}
