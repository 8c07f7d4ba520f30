//! What refresh failures do to an account: transient errors are retried (bounded), MFA turns
//! the account to NeedsSignIn, Conditional Access and missing consent are reported once, with
//! no retry loop and the refresh token kept.

use perch_auth::{AuthError, InteractiveOptions};
use perch_emulator::faults::{FaultKind, FaultRule, Target};
use perch_store::{AccountState, Store};

use crate::support::{self, Choice, ScriptedOpener};

fn token_503(count: u64) -> FaultRule {
    FaultRule {
        kind: FaultKind::Status,
        status: Some(503),
        retry_after: None,
        probability: 1.0,
        path: Some("/oauth2/v2.0/token".into()),
        method: None,
        target: Target::Entra,
        count: Some(count),
    }
}

#[tokio::test]
async fn transient_failures_are_retried_then_reported() {
    let env = support::auto_env().await;
    let secrets = support::mock_keyring();
    let manager = support::manager(Store::open_in_memory().unwrap(), secrets.clone());
    let account = manager
        .sign_in(
            &env.org,
            &ScriptedOpener::new(Choice::Accept(None)),
            &InteractiveOptions::default(),
        )
        .await
        .unwrap();
    let token = manager.access_token(&account.id).await.unwrap();

    // Two 503s, then success: the retry policy (3 attempts) gets through.
    env.emulator.state().faults.add_rule(token_503(2)).unwrap();
    let fresh = manager
        .force_refresh(&account.id, &token.secret)
        .await
        .unwrap();
    assert!(!fresh.secret.same_as(&token.secret));

    // More 503s than attempts: a transient error, the account untouched.
    env.emulator.state().faults.add_rule(token_503(10)).unwrap();
    let err = manager
        .force_refresh(&account.id, &fresh.secret)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "service_unavailable", "{err}");
    assert!(err.is_transient());
    assert_eq!(
        manager.account(&account.id).unwrap().state,
        AccountState::SignedIn
    );
    assert!(secrets.get(&account.id).unwrap().is_some());
    env.emulator.state().faults.clear();
    manager
        .access_token(&account.id)
        .await
        .expect("works again");
}

#[tokio::test]
async fn mfa_on_refresh_needs_sign_in() {
    // Signed in through the form without MFA (auto-approve counts as MFA done), then the
    // tenant starts requiring it.
    let env = support::start(perch_emulator::EmulatorConfig::default()).await;
    let secrets = support::mock_keyring();
    let manager = support::manager(Store::open_in_memory().unwrap(), secrets.clone());
    let account = manager
        .sign_in(
            &env.org,
            &ScriptedOpener::new(Choice::Accept(None)),
            &InteractiveOptions::default(),
        )
        .await
        .unwrap();
    let token = manager.access_token(&account.id).await.unwrap();
    env.emulator.state().tenant.write().users[0]
        .auth
        .mfa_required = true;
    let err = manager
        .force_refresh(&account.id, &token.secret)
        .await
        .unwrap_err();
    let AuthError::NeedsSignIn { reason, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.starts_with("interaction_required"), "{reason}");
    let record = manager.account(&account.id).unwrap();
    assert_eq!(record.state, AccountState::NeedsSignIn);
    assert_eq!(record.state_reason.as_deref(), Some("interaction_required"));
    assert!(secrets.get(&account.id).unwrap().is_none());
}

#[tokio::test]
async fn conditional_access_and_consent_on_refresh_are_not_retried() {
    let env = support::auto_env().await;
    let secrets = support::mock_keyring();
    let manager = support::manager(Store::open_in_memory().unwrap(), secrets.clone());
    let account = manager
        .sign_in(
            &env.org,
            &ScriptedOpener::new(Choice::Accept(None)),
            &InteractiveOptions::default(),
        )
        .await
        .unwrap();
    let token = manager.access_token(&account.id).await.unwrap();

    env.emulator.state().tenant.write().users[0].auth.ca_blocked = true;
    let before = manager.refresh_count();
    let err = manager
        .force_refresh(&account.id, &token.secret)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "conditional_access", "{err}");
    assert_eq!(manager.refresh_count(), before + 1);
    assert_eq!(
        manager.account(&account.id).unwrap().state,
        AccountState::SignedIn
    );
    assert!(
        secrets.get(&account.id).unwrap().is_some(),
        "the refresh token is kept"
    );

    {
        let mut tenant = env.emulator.state().tenant.write();
        tenant.users[0].auth.ca_blocked = false;
        tenant.users[0].auth.consent_missing = true;
    }
    let err = manager.access_token(&account.id).await.unwrap_err();
    assert_eq!(err.code(), "consent_required", "{err}");
    let AuthError::ConsentRequired {
        admin_consent_url, ..
    } = &err
    else {
        unreachable!()
    };
    assert!(admin_consent_url.ends_with(&format!("/adminconsent?client_id={}", env.org.client_id)));

    env.emulator.state().tenant.write().users[0]
        .auth
        .consent_missing = false;
    manager
        .access_token(&account.id)
        .await
        .expect("works once consent is granted");
}
