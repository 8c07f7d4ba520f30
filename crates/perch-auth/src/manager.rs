//! [`TokenManager`]: the accounts Perch is signed in to and their tokens.
//!
//! - Access tokens live only in memory, per account, and are refreshed when less than
//!   [`ManagerOptions::refresh_margin`] (5 minutes) of their life is left.
//! - One refresh at a time per account: each account's tokens sit behind a tokio mutex, so
//!   concurrent callers wait for the refresh in flight and then share its result.
//! - [`TokenManager::force_refresh`] is the primitive for Graph's 401
//!   `InvalidAuthenticationToken`: it refreshes only if the rejected token is still the
//!   current one, so many requests failing at once cause one refresh.
//! - Refresh tokens live in the [`SecretStore`] (the OS keyring, or memory in session-only
//!   mode) and are rotated on every refresh: the new one is written before the old one is let
//!   go, and a failed write is returned as an error (the new token is kept in memory meanwhile
//!   so the account keeps working).
//! - `invalid_grant` / `interaction_required` put the account in NeedsSignIn and delete its
//!   refresh token, keeping its cache; consent and Conditional Access errors are reported
//!   without retry; 5xx and `temporarily_unavailable` are retried with bounded backoff.
//! - Non-secret account metadata lives in the SQLite store (`perch-store`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use perch_core::{AccountId, Organisation, Scopes, Tenant};
use perch_store::{AccountRecord, AccountState, Store};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::custody::{Custody, SecretStore};
use crate::device_code::{self, DeviceCodeNotice};
use crate::error::AuthError;
use crate::interactive::{self, InteractiveOptions, Prompt};
use crate::oauth::{self, Failure, HttpClient, RetryPolicy, TokenSet};
use crate::opener::BrowserOpener;
use crate::secret::Secret;

/// A usable access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The bearer token.
    pub secret: Secret,
    /// When it expires.
    pub expires_at: Instant,
}

/// Tuning.
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// Refresh when less than this is left of an access token's life.
    pub refresh_margin: Duration,
    /// Retries of transient token-endpoint failures.
    pub retry: RetryPolicy,
    /// Scopes for accounts loaded from the store (their sign-in used the organisation's).
    pub scopes: Scopes,
    /// The managed policy's `allowed_tenants`: a sign-in whose id token names another tenant is
    /// refused before its refresh token is stored. `None`: every tenant.
    pub allowed_tenants: Option<Vec<uuid::Uuid>>,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            refresh_margin: Duration::from_secs(5 * 60),
            retry: RetryPolicy::default(),
            scopes: Scopes::default(),
            allowed_tenants: None,
        }
    }
}

/// Called when an account is signed out with its cache purged, before its row is deleted, so
/// that other parts of the app (the sync engine) drop their state for it.
pub trait SignOutHook: Send + Sync {
    /// The account is going away.
    fn purge(&self, account: &AccountId);
}

impl<F: Fn(&AccountId) + Send + Sync> SignOutHook for F {
    fn purge(&self, account: &AccountId) {
        self(account)
    }
}

#[derive(Debug, Default)]
struct Tokens {
    access: Option<AccessToken>,
    /// A rotated refresh token the secret store refused to take; used (and written again)
    /// on the next refresh.
    unsaved_refresh: Option<Secret>,
    /// The scopes Entra listed with the last token response (not secret: `doctor` compares
    /// them with the ones Perch needs).
    granted: Vec<String>,
}

#[derive(Debug)]
struct Session {
    id: AccountId,
    org: Organisation,
    tokens: tokio::sync::Mutex<Tokens>,
}

/// See the module docs.
#[derive(Clone)]
pub struct TokenManager {
    inner: Arc<Inner>,
}

struct Inner {
    http: HttpClient,
    store: parking_lot::Mutex<Store>,
    secrets: Arc<dyn SecretStore>,
    sessions: parking_lot::Mutex<HashMap<AccountId, Arc<Session>>>,
    options: ManagerOptions,
    hooks: parking_lot::Mutex<Vec<Arc<dyn SignOutHook>>>,
    refreshes: AtomicU64,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("secrets", &self.inner.secrets)
            .field(
                "sessions",
                &self.inner.sessions.lock().keys().collect::<Vec<_>>(),
            )
            .field("refreshes", &self.inner.refreshes.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl TokenManager {
    /// A manager over the account store and the refresh-token custody.
    pub fn new(
        http: HttpClient,
        store: Store,
        secrets: Arc<dyn SecretStore>,
        options: ManagerOptions,
    ) -> TokenManager {
        TokenManager {
            inner: Arc::new(Inner {
                http,
                store: parking_lot::Mutex::new(store),
                secrets,
                sessions: parking_lot::Mutex::new(HashMap::new()),
                options,
                hooks: parking_lot::Mutex::new(Vec::new()),
                refreshes: AtomicU64::new(0),
            }),
        }
    }

    /// Where refresh tokens are kept.
    pub fn custody(&self) -> Custody {
        self.inner.secrets.custody()
    }

    /// Registers a hook run when an account's cache is purged.
    pub fn add_sign_out_hook(&self, hook: Arc<dyn SignOutHook>) {
        self.inner.hooks.lock().push(hook);
    }

    /// Refresh-token redemptions attempted so far (for diagnostics and tests).
    pub fn refresh_count(&self) -> u64 {
        self.inner.refreshes.load(Ordering::SeqCst)
    }

    /// Every known account.
    pub fn accounts(&self) -> Result<Vec<AccountRecord>, AuthError> {
        Ok(self.inner.store.lock().accounts()?)
    }

    /// One account.
    pub fn account(&self, id: &AccountId) -> Result<AccountRecord, AuthError> {
        self.inner
            .store
            .lock()
            .account(id)?
            .ok_or(AuthError::UnknownAccount(*id))
    }

    /// Interactive sign-in to `org`; returns the account (new or existing).
    pub async fn sign_in(
        &self,
        org: &Organisation,
        opener: &dyn BrowserOpener,
        options: &InteractiveOptions,
    ) -> Result<AccountRecord, AuthError> {
        let tokens = interactive::sign_in(&self.inner.http, org, opener, options).await?;
        self.adopt(org, tokens).await
    }

    /// Adds another account: like [`TokenManager::sign_in`] with `prompt=select_account`.
    pub async fn add_account(
        &self,
        org: &Organisation,
        opener: &dyn BrowserOpener,
        options: &InteractiveOptions,
    ) -> Result<AccountRecord, AuthError> {
        let options = InteractiveOptions {
            prompt: Some(Prompt::SelectAccount),
            ..options.clone()
        };
        self.sign_in(org, opener, &options).await
    }

    /// Signs a known account in again (after NeedsSignIn), with its UPN as `login_hint`.
    pub async fn sign_in_again(
        &self,
        account: &AccountId,
        opener: &dyn BrowserOpener,
        options: &InteractiveOptions,
    ) -> Result<AccountRecord, AuthError> {
        let record = self.account(account)?;
        let org = self.org_of(&record);
        let options = InteractiveOptions {
            login_hint: Some(record.upn.clone()),
            ..options.clone()
        };
        self.sign_in(&org, opener, &options).await
    }

    /// Device-code sign-in to `org`.
    pub async fn sign_in_with_device_code(
        &self,
        org: &Organisation,
        notify: &(dyn Fn(&DeviceCodeNotice) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<AccountRecord, AuthError> {
        let tokens = device_code::sign_in(&self.inner.http, org, notify, cancel).await?;
        self.adopt(org, tokens).await
    }

    /// Takes the tokens of a completed sign-in: names the account from the id token, stores the
    /// refresh token, records the account and keeps the access token.
    pub async fn adopt(
        &self,
        org: &Organisation,
        tokens: TokenSet,
    ) -> Result<AccountRecord, AuthError> {
        let claims = tokens.id_claims(&org.client_id)?;
        let id = AccountId::new(claims.tid, claims.oid);
        if let Some(allowed) = &self.inner.options.allowed_tenants {
            if !allowed.contains(&claims.tid) {
                // The tokens are dropped here: nothing reaches the keyring, the store or a
                // session.
                tracing::warn!(tenant = %claims.tid, "sign-in refused: tenant not allowed by policy");
                return Err(AuthError::TenantNotAllowed {
                    tenant: claims.tid,
                    upn: claims
                        .preferred_username
                        .clone()
                        .unwrap_or_else(|| "this account".to_owned()),
                });
            }
        }
        let refresh = tokens.refresh_token.clone().ok_or_else(|| {
            AuthError::InvalidResponse(
                "no refresh_token (is `offline_access` in the scopes?)".into(),
            )
        })?;
        self.secret_set(id, refresh).await?;
        let now = Utc::now();
        let existing = self.inner.store.lock().account(&id)?;
        let upn = claims
            .preferred_username
            .clone()
            .unwrap_or_else(|| id.user_id.to_string());
        let record = AccountRecord {
            id,
            display_name: claims.name.clone().unwrap_or_else(|| upn.clone()),
            upn,
            client_id: org.client_id,
            cloud: org.cloud,
            hosts: org.hosts.clone(),
            state: AccountState::SignedIn,
            state_reason: None,
            added_at: existing.map_or(now, |e| e.added_at),
            updated_at: now,
        };
        self.inner.store.lock().upsert_account(&record)?;
        let session = Arc::new(Session {
            id,
            org: org.for_tenant(claims.tid),
            tokens: tokio::sync::Mutex::new(Tokens {
                access: Some(AccessToken {
                    secret: tokens.access_token,
                    expires_at: tokens.expires_at,
                }),
                unsaved_refresh: None,
                granted: tokens.scopes.clone(),
            }),
        });
        self.inner.sessions.lock().insert(id, session);
        tracing::info!(account = %id, custody = ?self.custody(), "signed in");
        Ok(record)
    }

    /// A valid access token for the account, refreshing it when it is close to expiry.
    pub async fn access_token(&self, account: &AccountId) -> Result<AccessToken, AuthError> {
        let session = self.session(account)?;
        let mut tokens = session.tokens.lock().await;
        if let Some(access) = &tokens.access {
            if access.expires_at > Instant::now() + self.inner.options.refresh_margin {
                return Ok(access.clone());
            }
        }
        self.refresh_locked(&session, &mut tokens).await
    }

    /// The scopes granted to the account, as Entra listed them with its current access token
    /// (getting one first, refreshing if needed). Empty when Entra did not list them.
    pub async fn granted_scopes(&self, account: &AccountId) -> Result<Vec<String>, AuthError> {
        self.access_token(account).await?;
        let session = self.session(account)?;
        let tokens = session.tokens.lock().await;
        Ok(tokens.granted.clone())
    }

    /// Graph answered 401 `InvalidAuthenticationToken` to `rejected`: refresh, unless another
    /// caller already replaced that token, and return the token to retry with (once).
    pub async fn force_refresh(
        &self,
        account: &AccountId,
        rejected: &Secret,
    ) -> Result<AccessToken, AuthError> {
        let session = self.session(account)?;
        let mut tokens = session.tokens.lock().await;
        if let Some(access) = &tokens.access {
            if !access.secret.same_as(rejected) && access.expires_at > Instant::now() {
                return Ok(access.clone());
            }
        }
        self.refresh_locked(&session, &mut tokens).await
    }

    /// Signs the account out: deletes its refresh token and forgets its access token. With
    /// `purge_cache` the sign-out hooks run and the account's row (and, through foreign keys,
    /// its cached data) is deleted; without, the account stays listed as signed out.
    pub async fn sign_out(&self, account: &AccountId, purge_cache: bool) -> Result<(), AuthError> {
        self.secret_delete(*account).await?;
        self.inner.sessions.lock().remove(account);
        if purge_cache {
            let hooks = self.inner.hooks.lock().clone();
            for hook in hooks {
                hook.purge(account);
            }
            self.inner.store.lock().delete_account(account)?;
        } else {
            self.inner
                .store
                .lock()
                .set_account_state(account, AccountState::SignedOut, None)?;
        }
        tracing::info!(account = %account, purge_cache, "signed out");
        Ok(())
    }

    fn org_of(&self, record: &AccountRecord) -> Organisation {
        Organisation {
            tenant: Tenant::Id(record.id.tenant_id),
            client_id: record.client_id,
            cloud: record.cloud,
            hosts: record.hosts.clone(),
            scopes: self.inner.options.scopes.clone(),
        }
    }

    fn session(&self, account: &AccountId) -> Result<Arc<Session>, AuthError> {
        if let Some(session) = self.inner.sessions.lock().get(account) {
            return Ok(session.clone());
        }
        let record = self.account(account)?;
        let session = Arc::new(Session {
            id: *account,
            org: self.org_of(&record),
            tokens: tokio::sync::Mutex::new(Tokens::default()),
        });
        Ok(self
            .inner
            .sessions
            .lock()
            .entry(*account)
            .or_insert(session)
            .clone())
    }

    async fn refresh_locked(
        &self,
        session: &Session,
        tokens: &mut Tokens,
    ) -> Result<AccessToken, AuthError> {
        let id = session.id;
        let record = self.account(&id)?;
        if record.state != AccountState::SignedIn {
            return Err(AuthError::NeedsSignIn {
                account: id,
                upn: record.upn,
                reason: record
                    .state_reason
                    .unwrap_or_else(|| record.state.as_str().to_owned()),
            });
        }
        let refresh = match tokens.unsaved_refresh.clone() {
            Some(token) => Some(token),
            None => self.secret_get(id).await?,
        };
        let Some(refresh) = refresh else {
            return Err(self
                .needs_sign_in(
                    &record,
                    "no_refresh_token",
                    "no refresh token is stored for this account",
                )
                .await);
        };
        self.inner.refreshes.fetch_add(1, Ordering::SeqCst);
        let http = &self.inner.http;
        let org = &session.org;
        let result = self
            .inner
            .options
            .retry
            .run(|| oauth::refresh(http, org, &refresh))
            .await;
        match result {
            Ok(set) => {
                let access = AccessToken {
                    secret: set.access_token,
                    expires_at: set.expires_at,
                };
                tokens.access = Some(access.clone());
                if !set.scopes.is_empty() {
                    tokens.granted = set.scopes.clone();
                }
                tracing::debug!(account = %id, "refreshed access token");
                if let Some(rotated) = set.refresh_token {
                    // Until the new token is stored, keep it here: the old one no longer works.
                    tokens.unsaved_refresh = Some(rotated.clone());
                    self.secret_set(id, rotated).await?;
                    tokens.unsaved_refresh = None;
                } else if tokens.unsaved_refresh.is_some() {
                    self.secret_set(id, refresh).await?;
                    tokens.unsaved_refresh = None;
                }
                Ok(access)
            }
            Err(failure) => {
                tokens.access = None;
                Err(match failure {
                    Failure::NeedsInteraction { error, description } => {
                        tokens.unsaved_refresh = None;
                        self.needs_sign_in(&record, &error, &description).await
                    }
                    Failure::Consent { description } => AuthError::ConsentRequired {
                        admin_consent_url: org.admin_consent_url(),
                        description,
                    },
                    Failure::ConditionalAccess { description } => {
                        AuthError::ConditionalAccess { description }
                    }
                    other => other.into_error(org),
                })
            }
        }
    }

    /// Marks the account NeedsSignIn (cache kept) and deletes its refresh token.
    async fn needs_sign_in(
        &self,
        record: &AccountRecord,
        error: &str,
        description: &str,
    ) -> AuthError {
        let id = record.id;
        // A failed delete must not hide the state change; the token is refused anyway.
        if let Err(e) = self.secret_delete(id).await {
            tracing::warn!(account = %id, code = e.code(), error = %e, "could not delete the refused refresh token");
        }
        if let Err(e) =
            self.inner
                .store
                .lock()
                .set_account_state(&id, AccountState::NeedsSignIn, Some(error))
        {
            tracing::warn!(account = %id, error = %e, "could not record NeedsSignIn");
        }
        tracing::info!(account = %id, error, "account needs interactive sign-in");
        AuthError::NeedsSignIn {
            account: id,
            upn: record.upn.clone(),
            reason: format!("{error}: {description}"),
        }
    }

    async fn secret_get(&self, id: AccountId) -> Result<Option<Secret>, AuthError> {
        let secrets = self.inner.secrets.clone();
        blocking(move || secrets.get(&id)).await
    }

    async fn secret_set(&self, id: AccountId, secret: Secret) -> Result<(), AuthError> {
        let secrets = self.inner.secrets.clone();
        blocking(move || secrets.set(&id, &secret)).await
    }

    async fn secret_delete(&self, id: AccountId) -> Result<(), AuthError> {
        let secrets = self.inner.secrets.clone();
        blocking(move || secrets.delete(&id)).await
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
) -> Result<T, AuthError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(AuthError::Keyring {
            detail: format!("keyring task failed: {e}"),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// The shell runs these futures on a multi-threaded runtime (Tauri commands): they must
    /// be `Send`. Checked at compile time; never run.
    #[allow(dead_code, clippy::too_many_arguments)]
    fn futures_are_send(
        manager: &TokenManager,
        org: &Organisation,
        opener: &dyn BrowserOpener,
        options: &InteractiveOptions,
        id: &AccountId,
        secret: &Secret,
        notify: &(dyn Fn(&DeviceCodeNotice) + Send + Sync),
        cancel: &CancellationToken,
    ) {
        assert_send(&manager.sign_in(org, opener, options));
        assert_send(&manager.add_account(org, opener, options));
        assert_send(&manager.sign_in_again(id, opener, options));
        assert_send(&manager.sign_in_with_device_code(org, notify, cancel));
        assert_send(&manager.access_token(id));
        assert_send(&manager.force_refresh(id, secret));
        assert_send(&manager.sign_out(id, true));
    }

    #[test]
    fn the_manager_is_shareable() {
        fn assert_sync<T: Send + Sync + Clone + 'static>() {}
        assert_sync::<TokenManager>();
    }
}
