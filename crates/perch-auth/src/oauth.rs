//! The token endpoint, through the `oauth2` crate: our HTTP client for it (over reqwest with
//! rustls, redirects off), Entra's error shape (with `error_codes`), the token set a grant
//! returns, the id-token claims that name the account, the classification of Entra's errors
//! into what the app does next, and the bounded retry of transient failures.
//!
//! Nothing here stores anything; [`crate::manager`] decides what to keep where.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use base64::Engine as _;
use oauth2::basic::{
    BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, DeviceAuthorizationUrl,
    EndpointNotSet, EndpointSet, ExtraTokenFields, HttpRequest, HttpResponse, PkceCodeVerifier,
    RedirectUrl, RefreshToken, RequestTokenError, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenResponse as _, TokenUrl,
};
use perch_core::Organisation;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use uuid::Uuid;

use crate::error::AuthError;
use crate::secret::Secret;

/// The HTTP client every sign-in request goes through: reqwest with rustls, no redirects
/// (a token endpoint never redirects; following one could leak a grant), a request timeout.
#[derive(Debug, Clone)]
pub struct HttpClient(reqwest::Client);

impl HttpClient {
    /// A client with Perch's settings.
    pub fn new() -> Result<HttpClient, AuthError> {
        HttpClient::with_proxy(None)
    }

    /// A client with Perch's settings through the managed policy's `proxy` (see [`proxied`]).
    pub fn with_proxy(proxy: Option<&str>) -> Result<HttpClient, AuthError> {
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("Perch/", env!("CARGO_PKG_VERSION")));
        proxied(builder, proxy)
            .and_then(|b| b.build())
            .map(HttpClient)
            .map_err(|e| AuthError::Network(e.without_url().to_string()))
    }

    /// Wraps a client the caller configured (it should not follow redirects).
    pub fn from_reqwest(client: reqwest::Client) -> HttpClient {
        HttpClient(client)
    }
}

/// Sends every request of `builder`'s client through `proxy` (an `http`, `https`, `socks5` or
/// `socks5h` URL, as the managed policy validated it), except to loopback addresses (the demo
/// tenant and the sign-in redirect never leave the machine). `None`: reqwest's defaults (the
/// `HTTPS_PROXY`/`NO_PROXY` environment). perch-graph builds its client through this too, so
/// every connection Perch makes to Microsoft uses the same proxy.
pub fn proxied(
    builder: reqwest::ClientBuilder,
    proxy: Option<&str>,
) -> Result<reqwest::ClientBuilder, reqwest::Error> {
    let Some(url) = proxy else {
        return Ok(builder);
    };
    let proxy = reqwest::Proxy::all(url)?
        .no_proxy(reqwest::NoProxy::from_string("localhost,127.0.0.0/8,::1"));
    Ok(builder.proxy(proxy))
}

/// Why a request to the login service got no usable answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// Connection, TLS or timeout failure.
    #[error("{0}")]
    Network(String),
    /// A 5xx answer that is not an OAuth error body.
    #[error("HTTP {0}")]
    Server(u16),
}

impl<'c> AsyncHttpClient<'c> for HttpClient {
    type Error = TransportError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let response = self
                .0
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(|e| TransportError::Network(e.without_url().to_string()))?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response
                .bytes()
                .await
                .map_err(|e| TransportError::Network(e.without_url().to_string()))?;
            if status.is_server_error()
                && serde_json::from_slice::<EntraErrorResponse>(&body).is_err()
            {
                return Err(TransportError::Server(status.as_u16()));
            }
            let mut out = http::Response::builder().status(status);
            if let Some(h) = out.headers_mut() {
                *h = headers;
            }
            out.body(body.to_vec())
                .map_err(|e| TransportError::Network(e.to_string()))
        })
    }
}

/// Entra's token-endpoint error body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntraErrorResponse {
    /// `invalid_grant`, `interaction_required`, …
    pub error: String,
    /// `AADSTS…: …`.
    #[serde(default)]
    pub error_description: Option<String>,
    /// The AADSTS numbers.
    #[serde(default)]
    pub error_codes: Vec<u64>,
    /// Entra's finer reason (`consent_required`, `bad_token`, …).
    #[serde(default)]
    pub suberror: Option<String>,
}

impl fmt::Display for EntraErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        if let Some(d) = &self.error_description {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

impl oauth2::ErrorResponse for EntraErrorResponse {}

/// Extra fields of Entra's token response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntraTokenFields {
    /// Present when `openid` was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<Secret>,
}

impl ExtraTokenFields for EntraTokenFields {}

/// Entra's token response.
pub type EntraTokenResponse = StandardTokenResponse<EntraTokenFields, BasicTokenType>;

/// The `oauth2` client for one organisation.
pub type EntraClient = oauth2::Client<
    EntraErrorResponse,
    EntraTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// Builds the `oauth2` client for `org`: a public client (the client id in the body, never a
/// secret).
pub fn client(org: &Organisation) -> Result<EntraClient, AuthError> {
    let bad = |e: url::ParseError| AuthError::InvalidResponse(format!("bad endpoint URL: {e}"));
    Ok(
        oauth2::Client::new(ClientId::new(org.client_id.to_string()))
            .set_auth_type(AuthType::RequestBody)
            .set_auth_uri(AuthUrl::new(org.hosts.authorize_url(&org.tenant)).map_err(bad)?)
            .set_device_authorization_url(
                DeviceAuthorizationUrl::new(org.hosts.device_code_url(&org.tenant)).map_err(bad)?,
            )
            .set_token_uri(TokenUrl::new(org.hosts.token_url(&org.tenant)).map_err(bad)?),
    )
}

/// The organisation's scopes as `oauth2` scopes.
pub fn scopes(org: &Organisation) -> Vec<Scope> {
    org.wire_scopes().into_iter().map(Scope::new).collect()
}

/// What a successful grant returned.
#[derive(Debug, Clone)]
pub struct TokenSet {
    /// The bearer token for Graph.
    pub access_token: Secret,
    /// When it stops working (from `expires_in`).
    pub expires_at: Instant,
    /// The (rotated) refresh token.
    pub refresh_token: Option<Secret>,
    /// The id token, when `openid` was asked for.
    pub id_token: Option<Secret>,
    /// Granted scopes as the server listed them.
    pub scopes: Vec<String>,
}

impl TokenSet {
    pub(crate) fn from_device(response: EntraTokenResponse) -> TokenSet {
        TokenSet::from_response(response)
    }

    fn from_response(response: EntraTokenResponse) -> TokenSet {
        // Entra always sends expires_in; without it assume the shortest documented lifetime.
        let lifetime = response
            .expires_in()
            .unwrap_or(Duration::from_secs(60 * 60));
        TokenSet {
            access_token: Secret::new(response.access_token().secret().clone()),
            expires_at: Instant::now() + lifetime,
            refresh_token: response
                .refresh_token()
                .map(|r| Secret::new(r.secret().clone())),
            id_token: response.extra_fields().id_token.clone(),
            scopes: response
                .scopes()
                .map(|s| s.iter().map(|s| s.to_string()).collect())
                .unwrap_or_default(),
        }
    }

    /// The id token's claims that name the account; checks that it was issued to `client_id`.
    pub fn id_claims(&self, client_id: &Uuid) -> Result<IdClaims, AuthError> {
        let token = self.id_token.as_ref().ok_or_else(|| {
            AuthError::InvalidResponse("no id_token (is `openid` in the scopes?)".into())
        })?;
        IdClaims::decode(token, client_id)
    }
}

/// The id-token claims Perch uses. The token comes straight from the token endpoint over TLS,
/// so (per OpenID Connect Core 3.1.3.7) its signature need not be checked; its audience is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdClaims {
    /// Tenant id.
    pub tid: Uuid,
    /// User object id.
    pub oid: Uuid,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Usually the UPN.
    #[serde(default)]
    pub preferred_username: Option<String>,
    /// The client id the token was issued to.
    pub aud: String,
}

impl IdClaims {
    /// Decodes a JWT's payload.
    pub fn decode(token: &Secret, client_id: &Uuid) -> Result<IdClaims, AuthError> {
        let bad = |what: &str| AuthError::InvalidResponse(format!("the id_token {what}"));
        let payload = token
            .expose()
            .split('.')
            .nth(1)
            .ok_or_else(|| bad("is not a JWT"))?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|_| bad("payload is not base64url"))?;
        let claims: IdClaims =
            serde_json::from_slice(&bytes).map_err(|_| bad("lacks tid, oid or aud"))?;
        if !claims.aud.eq_ignore_ascii_case(&client_id.to_string()) {
            return Err(bad("was issued to another application"));
        }
        Ok(claims)
    }
}

/// What a failed token request means for the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// `invalid_grant` or `interaction_required`: the refresh token is no good; sign in
    /// interactively.
    NeedsInteraction {
        /// Entra's `error`.
        error: String,
        /// Entra's description.
        description: String,
    },
    /// AADSTS65001, 90094, `consent_required`.
    Consent {
        /// Entra's description.
        description: String,
    },
    /// AADSTS53003, 53000: Conditional Access.
    ConditionalAccess {
        /// Entra's description.
        description: String,
    },
    /// 5xx, `temporarily_unavailable`, `server_error`: retry later.
    Transient(String),
    /// The network failed.
    Network(String),
    /// Any other refusal.
    Other {
        /// Entra's `error`.
        error: String,
        /// Entra's description.
        description: String,
    },
    /// An answer we could not read.
    Invalid(String),
}

/// Classifies an Entra error (`error`, AADSTS codes, description).
pub fn classify(error: &str, codes: &[u64], description: &str) -> Failure {
    let has = |n: u64| codes.contains(&n) || description.contains(&format!("AADSTS{n}:"));
    let description = description.to_owned();
    if has(53003) || has(53000) {
        Failure::ConditionalAccess { description }
    } else if error == "consent_required" || has(65001) || has(90094) {
        Failure::Consent { description }
    } else if error == "invalid_grant" || error == "interaction_required" {
        Failure::NeedsInteraction {
            error: error.to_owned(),
            description,
        }
    } else if error == "temporarily_unavailable" || error == "server_error" {
        Failure::Transient(format!("{error}: {description}"))
    } else {
        Failure::Other {
            error: error.to_owned(),
            description,
        }
    }
}

impl Failure {
    /// Whether a retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Failure::Transient(_) | Failure::Network(_))
    }

    /// The error for a failure that is not about a stored account (sign-in flows).
    pub fn into_error(self, org: &Organisation) -> AuthError {
        match self {
            Failure::NeedsInteraction { error, description }
            | Failure::Other { error, description } => {
                AuthError::TokenEndpoint { error, description }
            }
            Failure::Consent { description } => AuthError::ConsentRequired {
                admin_consent_url: org.admin_consent_url(),
                description,
            },
            Failure::ConditionalAccess { description } => {
                AuthError::ConditionalAccess { description }
            }
            Failure::Transient(detail) => AuthError::ServiceUnavailable { detail },
            Failure::Network(detail) => AuthError::Network(detail),
            Failure::Invalid(detail) => AuthError::InvalidResponse(detail),
        }
    }
}

fn failure<TE: oauth2::ErrorResponse + 'static>(
    err: RequestTokenError<TransportError, TE>,
    server: impl FnOnce(TE) -> Failure,
) -> Failure {
    match err {
        RequestTokenError::ServerResponse(e) => server(e),
        RequestTokenError::Request(TransportError::Network(e)) => Failure::Network(e),
        RequestTokenError::Request(TransportError::Server(status)) => {
            Failure::Transient(format!("HTTP {status}"))
        }
        // Only the path: the body may hold a token, and serde's message may quote it.
        RequestTokenError::Parse(e, _body) => {
            Failure::Invalid(format!("could not parse the answer at `{}`", e.path()))
        }
        RequestTokenError::Other(e) => Failure::Invalid(e),
    }
}

pub(crate) fn entra_failure(err: RequestTokenError<TransportError, EntraErrorResponse>) -> Failure {
    failure(err, |e| {
        classify(
            &e.error,
            &e.error_codes,
            e.error_description.as_deref().unwrap_or(""),
        )
    })
}

pub(crate) fn device_failure(
    err: RequestTokenError<TransportError, oauth2::DeviceCodeErrorResponse>,
) -> Failure {
    failure(err, |e| {
        let error = serde_json::to_value(e.error())
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "unknown_error".to_owned());
        classify(
            &error,
            &[],
            e.error_description().map(String::as_str).unwrap_or(""),
        )
    })
}

/// Redeems an authorization code (with its PKCE verifier and the exact redirect URI sent).
pub async fn exchange_code(
    http: &HttpClient,
    org: &Organisation,
    code: &Secret,
    redirect_uri: &str,
    verifier: &Secret,
) -> Result<TokenSet, Failure> {
    let client = client(org)
        .map_err(|e| Failure::Invalid(e.to_string()))?
        .set_redirect_uri(
            RedirectUrl::new(redirect_uri.to_owned())
                .map_err(|e| Failure::Invalid(e.to_string()))?,
        );
    client
        .exchange_code(AuthorizationCode::new(code.expose().to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_owned()))
        // Entra's code redemption takes `scope` too; `oauth2` has no typed setter for it here.
        .add_extra_param("scope", org.wire_scopes().join(" "))
        .request_async(http)
        .await
        .map(TokenSet::from_response)
        .map_err(entra_failure)
}

/// Redeems a refresh token once (no retries; see [`RetryPolicy`]).
pub async fn refresh(
    http: &HttpClient,
    org: &Organisation,
    refresh_token: &Secret,
) -> Result<TokenSet, Failure> {
    let client = client(org).map_err(|e| Failure::Invalid(e.to_string()))?;
    client
        .exchange_refresh_token(&RefreshToken::new(refresh_token.expose().to_owned()))
        .add_scopes(scopes(org))
        .request_async(http)
        .await
        .map(TokenSet::from_response)
        .map_err(entra_failure)
}

/// How often and how long to retry transient failures: exponential backoff with jitter,
/// bounded in attempts (so in total time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub attempts: u32,
    /// Delay before the second attempt; doubles each time.
    pub base_delay: Duration,
    /// Longest single delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// Runs `op` until it succeeds, fails permanently, or the attempts run out.
    pub async fn run<T, F, Fut>(&self, mut op: F) -> Result<T, Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut delay = self.base_delay;
        let mut attempt = 1;
        loop {
            match op().await {
                Err(f) if f.is_transient() && attempt < self.attempts.max(1) => {
                    let jitter = rand::random::<f64>() * 0.5 + 0.75;
                    let wait = delay.mul_f64(jitter).min(self.max_delay);
                    tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, failure = ?f, "sign-in service unavailable; retrying");
                    tokio::time::sleep(wait).await;
                    delay = (delay * 2).min(self.max_delay);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert!(matches!(
            classify("invalid_grant", &[50173], "AADSTS50173: revoked"),
            Failure::NeedsInteraction { .. }
        ));
        assert!(matches!(
            classify("interaction_required", &[50076], ""),
            Failure::NeedsInteraction { .. }
        ));
        assert!(matches!(
            classify("invalid_grant", &[65001], ""),
            Failure::Consent { .. }
        ));
        assert!(matches!(
            classify("consent_required", &[], ""),
            Failure::Consent { .. }
        ));
        assert!(matches!(
            classify(
                "interaction_required",
                &[],
                "AADSTS53003: Access has been blocked"
            ),
            Failure::ConditionalAccess { .. }
        ));
        assert!(classify("temporarily_unavailable", &[], "").is_transient());
        assert!(matches!(
            classify("invalid_client", &[], ""),
            Failure::Other { .. }
        ));
    }

    #[test]
    fn id_claims() {
        let client = Uuid::new_v4();
        let (tid, oid) = (Uuid::new_v4(), Uuid::new_v4());
        let payload = serde_json::json!({"tid": tid, "oid": oid, "aud": client.to_string(), "name": "Ada", "preferred_username": "ada@x.com"});
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.to_string());
        let token = Secret::new(format!("eyJhbGciOiJub25lIn0.{b64}.sig"));
        let claims = IdClaims::decode(&token, &client).unwrap();
        assert_eq!((claims.tid, claims.oid), (tid, oid));
        assert!(IdClaims::decode(&token, &Uuid::new_v4()).is_err());
        assert!(IdClaims::decode(&Secret::new("garbage"), &client).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn retries_are_bounded() {
        let policy = RetryPolicy::default();
        let mut calls = 0;
        let result: Result<(), Failure> = policy
            .run(|| {
                calls += 1;
                async { Err(Failure::Transient("HTTP 503".into())) }
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls, policy.attempts);
        let mut calls = 0;
        let _ = policy
            .run(|| {
                calls += 1;
                async {
                    Err::<(), _>(Failure::ConditionalAccess {
                        description: String::new(),
                    })
                }
            })
            .await;
        assert_eq!(calls, 1);
    }
}
