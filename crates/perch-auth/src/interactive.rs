//! Interactive sign-in: authorization code with PKCE (S256) through the system browser and a
//! loopback redirect. [`sign_in`] runs the whole flow; [`PendingSignIn`] exposes its steps
//! (start, the URL to open, wait for the redirect, redeem) for callers and tests that drive the
//! browser themselves.

use std::time::Duration;

use oauth2::{CsrfToken, PkceCodeChallenge};
use perch_core::Organisation;
use tokio_util::sync::CancellationToken;

use crate::error::AuthError;
use crate::loopback::LoopbackListener;
use crate::oauth::{self, Failure, HttpClient, TokenSet};
use crate::opener::BrowserOpener;
use crate::secret::Secret;

/// Entra's `prompt` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// Let the person pick (or add) an account: "add account".
    SelectAccount,
    /// Ask for credentials even with a browser session.
    Login,
    /// Show the consent page.
    Consent,
}

impl Prompt {
    fn as_str(self) -> &'static str {
        match self {
            Prompt::SelectAccount => "select_account",
            Prompt::Login => "login",
            Prompt::Consent => "consent",
        }
    }
}

/// Options of one interactive sign-in.
#[derive(Debug, Clone)]
pub struct InteractiveOptions {
    /// Pre-fills the account (re-sign-in of a known account).
    pub login_hint: Option<String>,
    /// `prompt=…`; [`Prompt::SelectAccount`] when adding an account.
    pub prompt: Option<Prompt>,
    /// `domain_hint=…` (skips home-realm discovery).
    pub domain_hint: Option<String>,
    /// How long to wait for the redirect (default 5 minutes).
    pub timeout: Duration,
    /// Cancels the wait (the person closed the dialog).
    pub cancel: CancellationToken,
    /// The port to listen on; 0 (the default) picks a free one.
    pub port: u16,
}

impl Default for InteractiveOptions {
    fn default() -> Self {
        InteractiveOptions {
            login_hint: None,
            prompt: None,
            domain_hint: None,
            timeout: Duration::from_secs(5 * 60),
            cancel: CancellationToken::new(),
            port: 0,
        }
    }
}

/// A started sign-in: the listener is bound and the authorize URL built.
#[derive(Debug)]
pub struct PendingSignIn {
    org: Organisation,
    listener: LoopbackListener,
    redirect_uri: String,
    authorize_url: String,
    state: Secret,
    verifier: Secret,
    timeout: Duration,
    cancel: CancellationToken,
}

impl PendingSignIn {
    /// Binds the listener and builds the authorize URL (S256 challenge, random state).
    pub async fn start(
        org: &Organisation,
        options: &InteractiveOptions,
    ) -> Result<PendingSignIn, AuthError> {
        let listener = LoopbackListener::bind(options.port).await?;
        let redirect_uri = listener.redirect_uri();
        let client = oauth::client(org)?.set_redirect_uri(
            oauth2::RedirectUrl::new(redirect_uri.clone())
                .map_err(|e| AuthError::InvalidResponse(e.to_string()))?,
        );
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge)
            .add_scopes(oauth::scopes(org));
        if let Some(hint) = &options.login_hint {
            request = request.add_extra_param("login_hint", hint.clone());
        }
        if let Some(prompt) = options.prompt {
            request = request.add_extra_param("prompt", prompt.as_str());
        }
        if let Some(hint) = &options.domain_hint {
            request = request.add_extra_param("domain_hint", hint.clone());
        }
        let (url, state) = request.url();
        Ok(PendingSignIn {
            org: org.clone(),
            listener,
            redirect_uri,
            authorize_url: url.to_string(),
            state: Secret::new(state.secret().clone()),
            verifier: Secret::new(verifier.secret().clone()),
            timeout: options.timeout,
            cancel: options.cancel.clone(),
        })
    }

    /// The page to open in the browser.
    pub fn authorize_url(&self) -> &str {
        &self.authorize_url
    }

    /// The redirect URI sent (`http://localhost:{port}/`).
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits for the redirect, then redeems the code.
    pub async fn finish(self, http: &HttpClient) -> Result<TokenSet, AuthError> {
        let code = self
            .listener
            .wait(&self.state, self.timeout, &self.cancel)
            .await
            .map_err(|e| redirect_error(e, &self.org))?;
        oauth::exchange_code(http, &self.org, &code, &self.redirect_uri, &self.verifier)
            .await
            .map_err(|f| f.into_error(&self.org))
    }
}

/// Gives `error=…` on the redirect its meaning: Conditional Access, consent (with the admin
/// consent URL), the person declining, or another error.
fn redirect_error(error: AuthError, org: &Organisation) -> AuthError {
    let AuthError::Authorize { error, description } = error else {
        return error;
    };
    match oauth::classify(&error, &[], &description) {
        f @ (Failure::ConditionalAccess { .. } | Failure::Consent { .. }) => f.into_error(org),
        _ if error == "access_denied" => AuthError::AccessDenied { description },
        _ => AuthError::Authorize { error, description },
    }
}

/// Runs an interactive sign-in: opens the browser (or shows the URL), waits for the redirect
/// and redeems the code.
pub async fn sign_in(
    http: &HttpClient,
    org: &Organisation,
    opener: &dyn BrowserOpener,
    options: &InteractiveOptions,
) -> Result<TokenSet, AuthError> {
    let pending = PendingSignIn::start(org, options).await?;
    tracing::info!(port = pending.listener.port(), tenant = %org.tenant, "interactive sign-in started");
    if let Err(reason) = opener.open(pending.authorize_url()) {
        tracing::warn!(%reason, "could not open a browser; showing the sign-in address");
        opener.show_url(pending.authorize_url(), &reason);
    }
    pending.finish(http).await
}
