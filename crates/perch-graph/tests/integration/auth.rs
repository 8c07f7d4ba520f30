//! Tokens: a 401 refreshes once and retries once; a token Graph keeps refusing ends as
//! `Unauthorized` after exactly one refresh; a failing token source is passed through; and
//! `AccountTokens` over a real `TokenManager` signed in to the emulator.

use std::sync::Arc;

use perch_auth::{AuthError, InteractiveOptions, MemoryStore, Secret, SecretStore, TokenManager};
use perch_emulator::graph::fixture::Spec;
use perch_graph::{AccountTokens, ClientConfig, GraphClient, GraphError, TokenSource};

use crate::support::{bed, fast_budgets, fast_retry, Limits, TestTokens};

#[tokio::test]
async fn a_rejected_token_is_refreshed_once_and_the_call_retried() {
    let b = bed(Spec::default(), Limits::Off).await;
    let tokens = Arc::new(TestTokens::garbage_first(b.token()));
    let client = b.client_with(tokens.clone(), fast_budgets(), fast_retry());
    let me = client.me().await.unwrap();
    assert_eq!(me.id, b.fx.users[0].to_string());
    assert_eq!(tokens.rejections(), 1);
    let stats = client.stats();
    assert_eq!((stats.requests, stats.refreshes, stats.retries), (2, 1, 0));
    // The new token sticks: no more refreshes.
    client.joined_teams().await.unwrap();
    assert_eq!(tokens.rejections(), 1);

    // The same through $batch: the envelope's 401 refreshes once.
    let tokens = Arc::new(TestTokens::garbage_first(b.token()));
    let client = b.client_with(tokens.clone(), fast_budgets(), fast_retry());
    let results = client.channels_of(&[b.team(0), b.team(1)]).await;
    assert!(results.iter().all(|(_, r)| r.is_ok()), "{results:?}");
    assert_eq!(tokens.rejections(), 1);
}

#[tokio::test]
async fn a_token_graph_keeps_refusing_is_unauthorized_after_one_refresh() {
    let b = bed(Spec::default(), Limits::Off).await;
    let tokens = Arc::new(TestTokens::always_garbage());
    let client = b.client_with(tokens.clone(), fast_budgets(), fast_retry());
    let e = client.me().await.unwrap_err();
    assert!(matches!(e, GraphError::Unauthorized), "{e:?}");
    assert!(e.needs_sign_in());
    assert_eq!(tokens.rejections(), 1);
    assert_eq!(client.stats().requests, 2);
}

struct Failing;

#[async_trait::async_trait]
impl TokenSource for Failing {
    async fn token(&self) -> Result<Secret, AuthError> {
        Err(AuthError::NeedsSignIn {
            account: perch_core::AccountId::new(uuid::Uuid::nil(), uuid::Uuid::nil()),
            upn: "adele@contoso.example".into(),
            reason: "invalid_grant: AADSTS70008".into(),
        })
    }

    async fn rejected(&self, _: &Secret) -> Result<Secret, AuthError> {
        self.token().await
    }
}

#[tokio::test]
async fn a_failing_token_source_is_passed_through_without_a_request() {
    let b = bed(Spec::default(), Limits::Off).await;
    let client = b.client_with(Arc::new(Failing), fast_budgets(), fast_retry());
    let e = client.me().await.unwrap_err();
    assert_eq!(e.code(), "needs_sign_in");
    assert!(e.needs_sign_in());
    assert!(!e.is_transient());
    assert_eq!(client.stats().requests, 0);
    let results = client.channels_of(&[b.team(0)]).await;
    assert_eq!(results[0].1.as_ref().unwrap_err().code(), "needs_sign_in");
}

#[tokio::test]
async fn account_tokens_over_a_signed_in_token_manager() {
    let emulator = perch_emulator::Emulator::start(perch_emulator::EmulatorConfig {
        auto_approve: true,
        profile: perch_emulator::Profile::Small,
        ..Default::default()
    })
    .await
    .unwrap();
    let base = emulator.base_url().to_owned();
    let (tenant, client_id, first_user) = {
        let t = emulator.state().tenant.read();
        (t.id, t.apps[0].client_id, t.users[0].id)
    };
    let org = perch_core::Organisation {
        tenant: perch_core::Tenant::Id(tenant),
        client_id,
        cloud: perch_core::Cloud::Global,
        hosts: perch_core::Hosts {
            login: base.clone(),
            graph: base.clone(),
        },
        scopes: perch_core::Scopes::default(),
    };
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let manager = TokenManager::new(
        perch_auth::HttpClient::new().unwrap(),
        perch_store::Store::open_in_memory().unwrap(),
        secrets,
        Default::default(),
    );
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let opener = move |url: &str| {
        let browser = browser.clone();
        let url = url.to_owned();
        tokio::spawn(async move {
            let r = browser.get(&url).send().await.unwrap();
            let location = r.headers()["location"].to_str().unwrap().to_owned();
            browser.get(&location).send().await.unwrap();
        });
        Ok(())
    };
    let account = manager
        .sign_in(&org, &opener, &InteractiveOptions::default())
        .await
        .unwrap();
    let tokens = AccountTokens {
        manager: manager.clone(),
        account: account.id,
    };
    // Debug output never shows a token.
    let debug = format!("{tokens:?}");
    let token = tokens.token().await.unwrap();
    assert!(!debug.contains(token.expose()));
    let client = GraphClient::new(ClientConfig::new(&base), Arc::new(tokens.clone())).unwrap();
    assert!(!format!("{client:?}").contains(token.expose()));
    let me = client.me().await.unwrap();
    assert_eq!(me.id, first_user.to_string());
    assert_eq!(me.id, account.id.user_id.to_string());
    assert!(!client.joined_teams().await.unwrap().is_empty());
    // `rejected` goes through force_refresh: a real refresh at the emulator.
    let before = manager.refresh_count();
    let renewed = tokens.rejected(&token).await.unwrap();
    assert!(!renewed.same_as(&token));
    assert_eq!(manager.refresh_count(), before + 1);
    emulator.shutdown().await.unwrap();
}
