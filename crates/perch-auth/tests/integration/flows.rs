//! The happy paths: sign-in, refresh, rotation, revocation, re-sign-in, several accounts,
//! concurrency, sign-out.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use perch_auth::{oauth, AuthError, InteractiveOptions, MemoryStore, Secret, SecretStore};
use perch_store::{AccountState, Store};

use crate::support::{self, Choice, ScriptedOpener};

#[tokio::test]
async fn sign_in_refresh_rotate_revoke_and_sign_in_again() {
    let env = support::auto_env().await;
    let secrets = support::mock_keyring();
    let manager = support::manager(Store::open_in_memory().unwrap(), secrets.clone());
    let opener = ScriptedOpener::new(Choice::Accept(None));

    let account = manager
        .sign_in(&env.org, &opener, &InteractiveOptions::default())
        .await
        .expect("sign-in");
    let (first_oid, first_upn) = env.users[0].clone();
    assert_eq!(account.id.user_id, first_oid);
    assert_eq!(account.upn, first_upn);
    assert_eq!(account.state, AccountState::SignedIn);
    assert_eq!(account.hosts, env.org.hosts);
    let url = opener.urls.lock()[0].clone();
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    assert!(
        url.contains("redirect_uri=http%3A%2F%2Flocalhost%3A"),
        "{url}"
    );
    assert!(url.contains("state="), "{url}");

    // The access token is cached: no refresh.
    let token = manager.access_token(&account.id).await.unwrap();
    assert_eq!(manager.refresh_count(), 0);
    let rt1 = secrets
        .get(&account.id)
        .unwrap()
        .expect("refresh token in the keyring");

    // A forced refresh rotates the refresh token.
    let fresh = manager
        .force_refresh(&account.id, &token.secret)
        .await
        .unwrap();
    assert_eq!(manager.refresh_count(), 1);
    assert!(!fresh.secret.same_as(&token.secret));
    let rt2 = secrets.get(&account.id).unwrap().unwrap();
    assert!(!rt2.same_as(&rt1), "refresh token rotated");
    // The token that was already replaced does not cause another refresh.
    let again = manager
        .force_refresh(&account.id, &token.secret)
        .await
        .unwrap();
    assert!(again.secret.same_as(&fresh.secret));
    assert_eq!(manager.refresh_count(), 1);

    // The emulator refuses the rotated-away token.
    let reuse = oauth::refresh(&perch_auth::HttpClient::new().unwrap(), &env.org, &rt1).await;
    assert!(
        matches!(reuse, Err(oauth::Failure::NeedsInteraction { ref error, .. }) if error == "invalid_grant"),
        "{reuse:?}"
    );

    // Revocation: the next refresh puts the account in NeedsSignIn and forgets the token.
    env.emulator.state().entra.revoke_user(first_oid);
    let err = manager
        .force_refresh(&account.id, &fresh.secret)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "needs_sign_in", "{err}");
    assert!(matches!(&err, AuthError::NeedsSignIn { upn, .. } if *upn == first_upn));
    assert_eq!(
        manager.account(&account.id).unwrap().state,
        AccountState::NeedsSignIn
    );
    assert!(secrets.get(&account.id).unwrap().is_none());
    // Asking again does not hit the token endpoint.
    let err = manager.access_token(&account.id).await.unwrap_err();
    assert_eq!(err.code(), "needs_sign_in");
    assert_eq!(manager.refresh_count(), 2);

    // Sign in again, with the account's UPN as login_hint.
    let opener = ScriptedOpener::new(Choice::Accept(None));
    let back = manager
        .sign_in_again(&account.id, &opener, &InteractiveOptions::default())
        .await
        .unwrap();
    assert_eq!(back.id, account.id);
    assert_eq!(back.state, AccountState::SignedIn);
    assert_eq!(back.added_at, account.added_at);
    let url = opener.urls.lock()[0].clone();
    let hint: String = url::form_urlencoded::byte_serialize(first_upn.as_bytes()).collect();
    assert!(url.contains(&format!("login_hint={hint}")), "{url}");
    manager.access_token(&account.id).await.unwrap();
}

#[tokio::test]
async fn concurrent_callers_share_one_refresh() {
    let env = support::auto_env().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("perch.sqlite3");
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let first = support::manager(Store::open(&db).unwrap(), secrets.clone());
    let account = first
        .sign_in(
            &env.org,
            &ScriptedOpener::new(Choice::Accept(None)),
            &InteractiveOptions::default(),
        )
        .await
        .unwrap();
    drop(first);

    // A restart: the access token is gone, the refresh token is in custody.
    let manager = support::manager(Store::open(&db).unwrap(), secrets);
    let calls = (0..64).map(|_| {
        let manager = manager.clone();
        let id = account.id;
        tokio::spawn(async move { manager.access_token(&id).await })
    });
    let tokens: Vec<_> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(manager.refresh_count(), 1, "exactly one refresh");
    assert!(tokens.iter().all(|t| t.secret.same_as(&tokens[0].secret)));

    // Many requests rejected with the same token: one forced refresh.
    let rejected = tokens[0].secret.clone();
    let calls = (0..64).map(|_| {
        let manager = manager.clone();
        let id = account.id;
        let rejected = rejected.clone();
        tokio::spawn(async move { manager.force_refresh(&id, &rejected).await })
    });
    let retried: Vec<_> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(manager.refresh_count(), 2);
    assert!(retried.iter().all(|t| t.secret.same_as(&retried[0].secret)));
    assert!(!retried[0].secret.same_as(&rejected));
}

#[tokio::test]
async fn short_lived_tokens_are_refreshed_before_expiry() {
    // Tokens that live 10 s are always inside the 5-minute margin: every call refreshes.
    let env = support::start(perch_emulator::EmulatorConfig {
        auto_approve: true,
        access_token_lifetime_secs: 10,
        ..Default::default()
    })
    .await;
    let secrets = support::mock_keyring();
    let manager = support::manager(Store::open_in_memory().unwrap(), secrets);
    let account = manager
        .sign_in(
            &env.org,
            &ScriptedOpener::new(Choice::Accept(None)),
            &InteractiveOptions::default(),
        )
        .await
        .unwrap();
    let a = manager.access_token(&account.id).await.unwrap();
    let b = manager.access_token(&account.id).await.unwrap();
    assert_eq!(manager.refresh_count(), 2);
    assert!(!a.secret.same_as(&b.secret));
}

#[tokio::test]
async fn several_accounts_and_sign_out() {
    let env = support::auto_env().await;
    let secrets = support::mock_keyring();
    let manager = support::manager(Store::open_in_memory().unwrap(), secrets.clone());
    let purged = Arc::new(AtomicUsize::new(0));
    let counter = purged.clone();
    manager.add_sign_out_hook(Arc::new(move |_: &perch_core::AccountId| {
        counter.fetch_add(1, Ordering::SeqCst);
    }));

    let a = manager
        .sign_in(
            &env.org,
            &ScriptedOpener::new(Choice::Accept(None)),
            &InteractiveOptions::default(),
        )
        .await
        .unwrap();
    // Adding an account shows the account picker (prompt=select_account) even with auto-approve.
    let second_upn = env.users[1].1.clone();
    let opener = ScriptedOpener::new(Choice::Accept(Some(second_upn.clone())));
    let b = manager
        .add_account(&env.org, &opener, &InteractiveOptions::default())
        .await
        .unwrap();
    assert!(opener.urls.lock()[0].contains("prompt=select_account"));
    assert_eq!(b.upn, second_upn);
    assert_ne!(a.id, b.id);
    assert_eq!(manager.accounts().unwrap().len(), 2);
    let ta = manager.access_token(&a.id).await.unwrap();
    let tb = manager.access_token(&b.id).await.unwrap();
    assert!(!ta.secret.same_as(&tb.secret));

    // Sign-out keeping the cache.
    manager.sign_out(&a.id, false).await.unwrap();
    assert!(secrets.get(&a.id).unwrap().is_none());
    assert_eq!(
        manager.account(&a.id).unwrap().state,
        AccountState::SignedOut
    );
    assert_eq!(
        manager.access_token(&a.id).await.unwrap_err().code(),
        "needs_sign_in"
    );
    // b is untouched.
    manager.force_refresh(&b.id, &tb.secret).await.unwrap();

    // Sign-out purging the cache.
    manager.sign_out(&b.id, true).await.unwrap();
    assert_eq!(purged.load(Ordering::SeqCst), 1);
    assert!(secrets.get(&b.id).unwrap().is_none());
    assert_eq!(
        manager.account(&b.id).unwrap_err().code(),
        "unknown_account"
    );
    assert_eq!(manager.accounts().unwrap().len(), 1);
}

#[tokio::test]
async fn a_failed_keyring_write_is_an_error_and_the_token_is_not_lost() {
    #[derive(Debug, Default)]
    struct Flaky {
        inner: MemoryStore,
        fail_writes: std::sync::atomic::AtomicBool,
    }
    impl SecretStore for Flaky {
        fn custody(&self) -> perch_auth::Custody {
            perch_auth::Custody::Keyring
        }
        fn get(&self, a: &perch_core::AccountId) -> Result<Option<Secret>, AuthError> {
            self.inner.get(a)
        }
        fn set(&self, a: &perch_core::AccountId, s: &Secret) -> Result<(), AuthError> {
            if self.fail_writes.load(Ordering::SeqCst) {
                return Err(AuthError::KeyringLocked {
                    detail: "test: locked".into(),
                });
            }
            self.inner.set(a, s)
        }
        fn delete(&self, a: &perch_core::AccountId) -> Result<(), AuthError> {
            self.inner.delete(a)
        }
    }

    let env = support::auto_env().await;
    let flaky = Arc::new(Flaky::default());
    let manager = support::manager(Store::open_in_memory().unwrap(), flaky.clone());
    let account = manager
        .sign_in(
            &env.org,
            &ScriptedOpener::new(Choice::Accept(None)),
            &InteractiveOptions::default(),
        )
        .await
        .unwrap();
    let token = manager.access_token(&account.id).await.unwrap();
    flaky.fail_writes.store(true, Ordering::SeqCst);
    let err = manager
        .force_refresh(&account.id, &token.secret)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "keyring_locked");
    // The new access token is usable; the rotated refresh token waits in memory.
    let current = manager.access_token(&account.id).await.unwrap();
    assert!(!current.secret.same_as(&token.secret));
    flaky.fail_writes.store(false, Ordering::SeqCst);
    let next = manager
        .force_refresh(&account.id, &current.secret)
        .await
        .unwrap();
    assert!(!next.secret.same_as(&current.secret));
    assert_eq!(manager.refresh_count(), 2);
}

#[tokio::test]
async fn the_url_is_shown_when_no_browser_starts() {
    struct NoBrowser {
        shown: parking_lot::Mutex<Option<(String, String)>>,
    }
    impl perch_auth::BrowserOpener for NoBrowser {
        fn open(&self, _url: &str) -> Result<(), String> {
            Err("xdg-open: not found".into())
        }
        fn show_url(&self, url: &str, reason: &str) {
            *self.shown.lock() = Some((url.to_owned(), reason.to_owned()));
            // The person copies the address into a browser elsewhere.
            let url = url.to_owned();
            tokio::spawn(async move {
                support::Browser::default()
                    .complete(&url, &Choice::Accept(None))
                    .await
            });
        }
    }
    let env = support::auto_env().await;
    let manager = support::manager(
        Store::open_in_memory().unwrap(),
        Arc::new(MemoryStore::new()),
    );
    let opener = NoBrowser {
        shown: parking_lot::Mutex::new(None),
    };
    manager
        .sign_in(&env.org, &opener, &InteractiveOptions::default())
        .await
        .unwrap();
    let (url, reason) = opener.shown.lock().clone().unwrap();
    assert!(url.starts_with(&env.org.hosts.authorize_url(&env.org.tenant)));
    assert_eq!(reason, "xdg-open: not found");
    assert_eq!(manager.custody(), perch_auth::Custody::SessionOnly);
}
