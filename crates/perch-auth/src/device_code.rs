//! Device-code sign-in (RFC 8628), the CLI's fallback on machines without a browser: ask for a
//! code, tell the person the code and where to enter it, and poll the token endpoint at the
//! server's `interval` (slower after `slow_down`) until they finish, decline, or the code
//! expires.

use std::time::Duration;

use oauth2::{DeviceAuthorizationResponse, ExtraDeviceAuthorizationFields};
use perch_core::Organisation;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::error::AuthError;
use crate::oauth::{self, Failure, HttpClient, TokenSet};

/// Entra's extra field: a ready-made sentence for the person.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntraDeviceFields {
    /// "To sign in, use a web browser to open … and enter the code …".
    #[serde(default)]
    pub message: Option<String>,
}

impl ExtraDeviceAuthorizationFields for EntraDeviceFields {}

/// What to show the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCodeNotice {
    /// The code to type in (short-lived and single use; not a token).
    pub user_code: String,
    /// Where to type it.
    pub verification_uri: String,
    /// Entra's sentence, when it sent one.
    pub message: Option<String>,
    /// How long the code is valid.
    pub expires_in: Duration,
}

/// Runs the device-code flow. `notify` is called once with the code to show.
pub async fn sign_in(
    http: &HttpClient,
    org: &Organisation,
    notify: &(dyn Fn(&DeviceCodeNotice) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<TokenSet, AuthError> {
    let client = oauth::client(org)?;
    let details: DeviceAuthorizationResponse<EntraDeviceFields> = client
        .exchange_device_code()
        .add_scopes(oauth::scopes(org))
        .request_async(http)
        .await
        .map_err(|e| oauth::entra_failure(e).into_error(org))?;
    notify(&DeviceCodeNotice {
        user_code: details.user_code().secret().clone(),
        verification_uri: details.verification_uri().to_string(),
        message: details.extra_fields().message.clone(),
        expires_in: details.expires_in(),
    });
    let poll =
        client
            .exchange_device_access_token(&details)
            .request_async(http, tokio::time::sleep, None);
    let result = tokio::select! {
        result = poll => result,
        _ = cancel.cancelled() => return Err(AuthError::Cancelled),
    };
    match result {
        Ok(response) => Ok(TokenSet::from_device(response)),
        Err(err) => Err(match oauth::device_failure(err) {
            Failure::Other { error, description } if error == "expired_token" => {
                let _ = description;
                AuthError::DeviceCodeExpired
            }
            Failure::Other { error, description }
                if error == "access_denied" || error == "authorization_declined" =>
            {
                AuthError::AccessDenied { description }
            }
            Failure::Other { error, description } if error == "bad_verification_code" => {
                AuthError::TokenEndpoint { error, description }
            }
            other => other.into_error(org),
        }),
    }
}
