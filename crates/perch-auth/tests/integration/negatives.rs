//! What must fail, and how: state mismatch, code reuse, wrong verifier, refusal, timeout,
//! cancellation, a taken port, the wrong callback path, foreign hosts, Conditional Access,
//! missing consent.

use std::time::Duration;

use perch_auth::{oauth, AuthError, HttpClient, InteractiveOptions, PendingSignIn, Secret};
use perch_emulator::EmulatorConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{self, Browser, Choice};

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

/// Sends a raw request to the listener and returns the status line.
async fn raw(port: u16, request: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    out.lines().next().unwrap_or_default().to_owned()
}

fn port_of(pending: &PendingSignIn) -> u16 {
    url::Url::parse(pending.redirect_uri())
        .unwrap()
        .port()
        .unwrap()
}

#[tokio::test]
async fn a_wrong_state_fails_without_a_token_request() {
    let env = support::auto_env().await;
    let http = HttpClient::new().unwrap();
    let pending = PendingSignIn::start(&env.org, &InteractiveOptions::default())
        .await
        .unwrap();
    let browser = Browser::default();
    let location = browser
        .authorize(pending.authorize_url(), &Choice::Accept(None))
        .await
        .unwrap();
    let forged = with_param(&location, "state", "forged");
    let delivered = tokio::spawn(async move { browser.deliver(&forged).await.unwrap() });
    let err = pending.finish(&http).await.unwrap_err();
    assert_eq!(err.code(), "state_mismatch");
    let (status, page) = delivered.await.unwrap();
    assert_eq!(status, 400);
    assert!(page.contains("does not belong"), "{page}");
}

#[tokio::test]
async fn codes_are_single_use_and_bound_to_the_verifier() {
    let env = support::auto_env().await;
    let http = HttpClient::new().unwrap();
    let browser = Browser::default();
    let redirect = "http://localhost:1/";
    let get_code = |challenge: oauth2::PkceCodeChallenge| {
        let client = oauth::client(&env.org)
            .unwrap()
            .set_redirect_uri(oauth2::RedirectUrl::new(redirect.into()).unwrap());
        let (url, _state) = client
            .authorize_url(oauth2::CsrfToken::new_random)
            .set_pkce_challenge(challenge)
            .add_scopes(oauth::scopes(&env.org))
            .url();
        let browser = browser.clone();
        async move {
            let location = browser
                .authorize(url.as_str(), &Choice::Accept(None))
                .await
                .unwrap();
            Secret::new(query_param(&location, "code").expect("a code"))
        }
    };

    let (challenge, verifier) = oauth2::PkceCodeChallenge::new_random_sha256();
    let verifier = Secret::new(verifier.secret().clone());
    let code = get_code(challenge).await;
    oauth::exchange_code(&http, &env.org, &code, redirect, &verifier)
        .await
        .expect("first redemption");
    let reused = oauth::exchange_code(&http, &env.org, &code, redirect, &verifier).await;
    match reused {
        Err(f) => assert_eq!(f.into_error(&env.org).code(), "token_error"),
        Ok(_) => panic!("a code was redeemed twice"),
    }

    let (challenge, _right) = oauth2::PkceCodeChallenge::new_random_sha256();
    let code = get_code(challenge).await;
    let (_, wrong) = oauth2::PkceCodeChallenge::new_random_sha256();
    let wrong = Secret::new(wrong.secret().clone());
    let result = oauth::exchange_code(&http, &env.org, &code, redirect, &wrong).await;
    assert!(
        matches!(result, Err(oauth::Failure::NeedsInteraction { ref error, .. }) if error == "invalid_grant"),
        "{result:?}"
    );
}

#[tokio::test]
async fn the_person_declining_is_a_typed_error() {
    let env = support::start(EmulatorConfig::default()).await;
    let http = HttpClient::new().unwrap();
    let pending = PendingSignIn::start(&env.org, &InteractiveOptions::default())
        .await
        .unwrap();
    let url = pending.authorize_url().to_owned();
    let browser = tokio::spawn(async move {
        Browser::default()
            .complete(&url, &Choice::Cancel)
            .await
            .unwrap()
    });
    let err = pending.finish(&http).await.unwrap_err();
    assert_eq!(err.code(), "access_denied", "{err}");
    let (status, page) = browser.await.unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("close this tab"), "{page}");
}

#[tokio::test]
async fn the_form_can_be_completed_by_posting_it() {
    let env = support::start(EmulatorConfig::default()).await;
    let http = HttpClient::new().unwrap();
    let pending = PendingSignIn::start(&env.org, &InteractiveOptions::default())
        .await
        .unwrap();
    let url = pending.authorize_url().to_owned();
    let upn = env.users[2].1.clone();
    let browser = tokio::spawn(async move {
        Browser::default()
            .complete(&url, &Choice::Accept(Some(upn)))
            .await
            .unwrap()
    });
    let tokens = pending.finish(&http).await.unwrap();
    assert_eq!(
        tokens.id_claims(&env.org.client_id).unwrap().oid,
        env.users[2].0
    );
    let (status, page) = browser.await.unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("You can close this tab"), "{page}");
}

#[tokio::test]
async fn timeout_and_cancel_free_the_port() {
    let env = support::auto_env().await;
    let http = HttpClient::new().unwrap();
    let options = InteractiveOptions {
        timeout: Duration::from_millis(200),
        ..Default::default()
    };
    let pending = PendingSignIn::start(&env.org, &options).await.unwrap();
    let port = port_of(&pending);
    let err = pending.finish(&http).await.unwrap_err();
    assert_eq!(err.code(), "sign_in_timeout");
    // The port is free again.
    drop(std::net::TcpListener::bind(("127.0.0.1", port)).expect("port freed"));

    let options = InteractiveOptions::default();
    let cancel = options.cancel.clone();
    let pending = PendingSignIn::start(&env.org, &options).await.unwrap();
    let port = port_of(&pending);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });
    assert!(matches!(
        pending.finish(&http).await,
        Err(AuthError::Cancelled)
    ));
    drop(std::net::TcpListener::bind(("127.0.0.1", port)).expect("port freed"));
}

#[tokio::test]
async fn a_taken_port_is_a_listener_error() {
    let env = support::auto_env().await;
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let options = InteractiveOptions {
        port: taken.local_addr().unwrap().port(),
        ..Default::default()
    };
    let err = PendingSignIn::start(&env.org, &options).await.unwrap_err();
    assert_eq!(err.code(), "redirect_listener");
    assert!(err.to_string().contains("127.0.0.1"), "{err}");
}

#[tokio::test]
async fn only_the_callback_path_and_loopback_hosts_are_served() {
    let env = support::auto_env().await;
    let http = HttpClient::new().unwrap();
    let pending = PendingSignIn::start(&env.org, &InteractiveOptions::default())
        .await
        .unwrap();
    let port = port_of(&pending);
    let state = query_param(pending.authorize_url(), "state").unwrap();
    let browser = Browser::default();
    let location = browser
        .authorize(pending.authorize_url(), &Choice::Accept(None))
        .await
        .unwrap();
    let code = query_param(&location, "code").unwrap();
    let finish = tokio::spawn(async move { pending.finish(&http).await });

    let host = format!("Host: localhost:{port}");
    assert_eq!(
        raw(
            port,
            &format!("GET /callback?code={code}&state={state} HTTP/1.1\r\n{host}\r\n\r\n")
        )
        .await,
        "HTTP/1.1 404 Not Found"
    );
    assert_eq!(
        raw(
            port,
            &format!("GET /favicon.ico HTTP/1.1\r\n{host}\r\n\r\n")
        )
        .await,
        "HTTP/1.1 404 Not Found"
    );
    assert_eq!(
        raw(
            port,
            &format!(
                "GET /?code={code}&state={state} HTTP/1.1\r\nHost: evil.example:{port}\r\n\r\n"
            )
        )
        .await,
        "HTTP/1.1 400 Bad Request"
    );
    assert_eq!(
        raw(
            port,
            &format!("POST /?code={code}&state={state} HTTP/1.1\r\n{host}\r\n\r\n")
        )
        .await,
        "HTTP/1.1 405 Method Not Allowed"
    );
    // Not listening on IPv6 loopback or on other interfaces.
    assert!(tokio::net::TcpStream::connect(("::1", port)).await.is_err());
    if let Some(ip) = non_loopback_ip() {
        assert!(
            tokio::net::TcpStream::connect((ip, port)).await.is_err(),
            "reachable on {ip}"
        );
    }
    // The real redirect still completes the sign-in.
    let (status, _) = browser.deliver(&location).await.unwrap();
    assert_eq!(status, 200);
    finish.await.unwrap().expect("sign-in after the noise");
}

/// An address of this machine that is not loopback, if it has one.
fn non_loopback_ip() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test]
async fn conditional_access_and_consent_are_explained() {
    let env = support::auto_env().await;
    let http = HttpClient::new().unwrap();
    let opener = support::ScriptedOpener::new(Choice::Accept(None));

    env.emulator.state().tenant.write().users[0].auth.ca_blocked = true;
    let err =
        perch_auth::interactive::sign_in(&http, &env.org, &opener, &InteractiveOptions::default())
            .await
            .unwrap_err();
    assert_eq!(err.code(), "conditional_access", "{err}");

    {
        let mut tenant = env.emulator.state().tenant.write();
        tenant.users[0].auth.ca_blocked = false;
        tenant.users[0].auth.consent_missing = true;
    }
    let err =
        perch_auth::interactive::sign_in(&http, &env.org, &opener, &InteractiveOptions::default())
            .await
            .unwrap_err();
    assert_eq!(err.code(), "consent_required", "{err}");
    let AuthError::ConsentRequired {
        admin_consent_url, ..
    } = &err
    else {
        unreachable!()
    };
    assert_eq!(
        admin_consent_url,
        &format!(
            "{}/{}/adminconsent?client_id={}",
            env.org.hosts.login, env.org.tenant, env.org.client_id
        )
    );
}

/// The managed policy's `allowed_tenants` without the emulator's tenant: the sign-in completes at
/// Entra but is refused here with the tenant named, and nothing is kept (no refresh token in the
/// keyring, no account, no session). With the tenant listed, the same sign-in is adopted.
#[tokio::test]
async fn a_tenant_the_policy_does_not_allow_is_refused_and_nothing_is_kept() {
    let env = support::auto_env().await;
    let tid = env.emulator.state().tenant.read().id;
    let (oid, _) = env.users[0].clone();
    let secrets = support::mock_keyring();
    let options = |allowed: Vec<uuid::Uuid>| perch_auth::ManagerOptions {
        allowed_tenants: Some(allowed),
        ..Default::default()
    };
    let manager = perch_auth::TokenManager::new(
        perch_auth::HttpClient::new().unwrap(),
        perch_store::Store::open_in_memory().unwrap(),
        secrets.clone(),
        options(vec![uuid::Uuid::new_v4()]),
    );
    let opener = support::ScriptedOpener::new(support::Choice::Accept(None));
    let err = manager
        .sign_in(
            &env.org,
            &opener,
            &perch_auth::InteractiveOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "tenant_not_allowed", "{err}");
    assert!(err.to_string().contains(&tid.to_string()), "{err}");
    let id = perch_core::AccountId::new(tid, oid);
    assert!(secrets.get(&id).unwrap().is_none(), "no refresh token kept");
    assert!(
        manager.accounts().unwrap().is_empty(),
        "no account recorded"
    );
    assert!(manager.access_token(&id).await.is_err(), "no session");

    let manager = perch_auth::TokenManager::new(
        perch_auth::HttpClient::new().unwrap(),
        perch_store::Store::open_in_memory().unwrap(),
        secrets.clone(),
        options(vec![tid]),
    );
    let account = manager
        .sign_in(
            &env.org,
            &opener,
            &perch_auth::InteractiveOptions::default(),
        )
        .await
        .expect("an allowed tenant signs in");
    assert_eq!(account.id, id);
    assert!(secrets.get(&id).unwrap().is_some());
}
