//! Entra ID v2 against the real emulator over loopback: an HTTP client plays both the desktop
//! app and the person at the browser (it reads the sign-in page and posts its form), and every
//! failure is checked for its exact `error` and AADSTS number.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use perch_emulator::model::{AppRegistration, User, UserAuthSwitches};
use perch_emulator::{Emulator, EmulatorConfig, Profile};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K9_sZ2gJm5qY1UH3dHZbPhYzBbWxAoT4Ei9lYq8eFk";
const REDIRECT: &str = "http://localhost:53117";
const SCOPES: &str = "openid profile offline_access https://graph.microsoft.com/User.Read https://graph.microsoft.com/ChannelMessage.Read.All https://graph.microsoft.com/ChannelMessage.Send";

/// A running emulator with a known app and users.
struct Env {
    emulator: Emulator,
    http: reqwest::Client,
    client_id: Uuid,
    confidential_id: Uuid,
    tenant_id: Uuid,
    users: Vec<(Uuid, String)>,
}

async fn start(tweak: impl FnOnce(&mut EmulatorConfig)) -> Env {
    let mut config = EmulatorConfig {
        addr: ([127, 0, 0, 1], 0).into(),
        profile: Profile::Small,
        ..Default::default()
    };
    config.live.enabled = false;
    config.limits.enabled = false;
    tweak(&mut config);
    let emulator = Emulator::start(config).await.expect("emulator starts");
    let confidential_id = Uuid::new_v4();
    let (client_id, tenant_id, users) = {
        let mut tenant = emulator.state().tenant.write();
        if !tenant.apps.iter().any(|a| a.public_client) {
            tenant.apps.push(AppRegistration {
                client_id: Uuid::new_v4(),
                display_name: "Perch".into(),
                public_client: true,
            });
        }
        tenant.apps.push(AppRegistration {
            client_id: confidential_id,
            display_name: "Some web app".into(),
            public_client: false,
        });
        while tenant.users.len() < 3 {
            let n = tenant.users.len();
            let domain = tenant.domain.clone();
            tenant.users.push(User {
                id: Uuid::new_v4(),
                upn: format!("test{n}@{domain}"),
                display_name: format!("Test <User> {n}"),
                mail: format!("test{n}@{domain}"),
                job_title: None,
                photo_rgb: [10, 20, 30],
                auth: UserAuthSwitches::default(),
            });
        }
        for user in &mut tenant.users {
            user.auth = UserAuthSwitches::default();
        }
        let client_id = tenant
            .apps
            .iter()
            .find(|a| a.public_client)
            .map(|a| a.client_id)
            .expect("a public app");
        let users = tenant.users.iter().map(|u| (u.id, u.upn.clone())).collect();
        (client_id, tenant.id, users)
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Env {
        emulator,
        http,
        client_id,
        confidential_id,
        tenant_id,
        users,
    }
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Query pairs of a URL.
fn query_of(url: &str) -> HashMap<String, String> {
    let url = url::Url::parse(url).expect("absolute URL");
    url.query_pairs().into_owned().collect()
}

/// The value of `name="…" value="…"` in a page.
fn field(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

impl Env {
    fn base(&self) -> &str {
        self.emulator.base_url()
    }

    fn authorize_url(&self, tenant: &str, extra: &[(&str, &str)]) -> String {
        let challenge = challenge(VERIFIER);
        let client_id = self.client_id.to_string();
        let mut params: Vec<(&str, &str)> = vec![
            ("client_id", &client_id),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", SCOPES),
            ("state", "st-123"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ];
        for (k, v) in extra {
            params.retain(|(key, _)| key != k);
            if !v.is_empty() {
                params.push((k, v));
            }
        }
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        format!("{}/{tenant}/oauth2/v2.0/authorize?{query}", self.base())
    }

    /// GET authorize; returns (status, Location, body).
    async fn authorize(&self, extra: &[(&str, &str)]) -> (u16, Option<String>, String) {
        let url = self.authorize_url(&self.tenant_id.to_string(), extra);
        self.get(&url).await
    }

    async fn get(&self, url: &str) -> (u16, Option<String>, String) {
        let response = self.http.get(url).send().await.expect("GET");
        split(response).await
    }

    async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> (u16, Option<String>, String) {
        let response = self
            .http
            .post(format!("{}{path}", self.base()))
            .form(form)
            .send()
            .await
            .expect("POST");
        split(response).await
    }

    /// Plays the person: opens the page, picks `upn`, accepts (ticking MFA when asked).
    async fn sign_in_as(&self, upn: &str, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let (status, location, page) = self.authorize(extra).await;
        assert_eq!(status, 200, "sign-in page expected, got {location:?}");
        let request = field(&page, "request").expect("pending request id");
        let action = format!("/{}/oauth2/v2.0/authorize", self.tenant_id);
        let (status, location, body) = self
            .post_form(
                &action,
                &[("request", &request), ("user", upn), ("action", "accept")],
            )
            .await;
        let location = if status == 200 && body.contains("id=\"mfa_approved\"") {
            let (status, location, _) = self
                .post_form(
                    &action,
                    &[
                        ("request", &request),
                        ("user", upn),
                        ("mfa_step", "1"),
                        ("mfa_approved", "on"),
                        ("action", "accept"),
                    ],
                )
                .await;
            assert_eq!(status, 302);
            location
        } else {
            assert_eq!(status, 302, "redirect expected: {body}");
            location
        };
        let location = location.expect("Location");
        assert!(
            location.starts_with("http://localhost:53117/?"),
            "{location}"
        );
        query_of(&location)
    }

    async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/organizations/oauth2/v2.0/token", self.base()))
            .form(form)
            .send()
            .await
            .expect("POST token");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    async fn redeem(&self, code: &str) -> (u16, Value) {
        let client_id = self.client_id.to_string();
        self.token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("scope", SCOPES),
        ])
        .await
    }

    async fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        let client_id = self.client_id.to_string();
        self.token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("refresh_token", refresh_token),
            ("scope", SCOPES),
        ])
        .await
    }

    /// A full interactive sign-in and code redemption.
    async fn tokens_for(&self, upn: &str) -> Value {
        let query = self.sign_in_as(upn, &[]).await;
        let (status, body) = self.redeem(&query["code"]).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    fn authenticate(&self, access_token: &str) -> Result<perch_emulator::entra::Principal, String> {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {access_token}")).expect("header"),
        );
        perch_emulator::entra::authenticate(self.emulator.state(), &headers).map_err(|e| e.message)
    }
}

async fn split(response: reqwest::Response) -> (u16, Option<String>, String) {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, location, response.text().await.unwrap_or_default())
}

/// Asserts Entra's error shape with `error` and the AADSTS number.
#[track_caller]
fn assert_entra_error(body: &Value, error: &str, code: u64) {
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], serde_json::json!([code]), "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    assert!(description.contains("Trace ID: "), "{description}");
    assert!(description.contains("Correlation ID: "), "{description}");
    for key in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
        assert!(body[key].is_string(), "{key} missing in {body}");
    }
}

/// Asserts an error redirect to the loopback URI with `error`, the AADSTS number and `state`.
#[track_caller]
fn assert_error_redirect(status: u16, location: Option<&str>, error: &str, code: u32) {
    assert_eq!(status, 302);
    let location = location.expect("Location");
    assert!(
        location.starts_with("http://localhost:53117/?"),
        "{location}"
    );
    let query = query_of(location);
    assert_eq!(
        query.get("error").map(String::as_str),
        Some(error),
        "{location}"
    );
    assert!(
        query["error_description"].starts_with(&format!("AADSTS{code}: ")),
        "{location}"
    );
    assert_eq!(query.get("state").map(String::as_str), Some("st-123"));
    assert!(!query.contains_key("code"));
}

#[tokio::test]
async fn full_interactive_sign_in_refresh_rotation_and_revocation() {
    let env = start(|_| {}).await;
    let (user_id, upn) = env.users[1].clone();

    // The page lists the users (the first preselected) and the permissions, escaped.
    let (status, _, page) = env.authorize(&[]).await;
    assert_eq!(status, 200);
    for (_, upn) in &env.users {
        assert!(page.contains("name=\"user\" id=\"user-") && page.contains(upn.as_str()));
    }
    assert!(page.contains("id=\"accept\"") && page.contains("id=\"cancel\""));
    assert!(page.contains("data-scope=\"ChannelMessage.Read.All\""));
    assert!(!page.contains("<User>"), "display names must be escaped");

    let query = env.sign_in_as(&upn, &[]).await;
    assert_eq!(query["state"], "st-123");
    assert!(query.contains_key("session_state"));

    let (status, tokens) = env.redeem(&query["code"]).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["ext_expires_in"], 3600);
    let scope = tokens["scope"].as_str().unwrap_or_default();
    assert!(
        scope.contains("https://graph.microsoft.com/ChannelMessage.Read.All"),
        "{scope}"
    );
    assert!(
        scope.contains("offline_access") && scope.contains("openid"),
        "{scope}"
    );
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    assert!(
        refresh.len() >= 150 && refresh.starts_with("0.A"),
        "{refresh}"
    );

    let id_token = tokens["id_token"].as_str().expect("id token");
    let claims = perch_emulator::entra::jwt::peek_claims(id_token).expect("claims");
    assert_eq!(claims["aud"], env.client_id.to_string());
    assert_eq!(
        claims["iss"],
        format!("{}/{}/v2.0", env.base(), env.tenant_id)
    );
    assert_eq!(claims["oid"], user_id.to_string());
    assert_eq!(claims["preferred_username"], upn);
    assert_eq!(claims["ver"], "2.0");

    let access = tokens["access_token"].as_str().expect("access token");
    let principal = env.authenticate(access).expect("token accepted");
    assert_eq!(principal.user_id, user_id);
    assert_eq!(principal.client_id, env.client_id);
    assert!(principal
        .scopes
        .iter()
        .any(|s| s == "ChannelMessage.Read.All"));
    let claims = perch_emulator::entra::jwt::peek_claims(access).expect("claims");
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    assert_eq!(
        claims["iss"],
        format!("https://sts.windows.net/{}/", env.tenant_id)
    );
    assert_eq!(claims["ver"], "1.0");

    // Refresh rotates: a new refresh token, the old one dead.
    let (status, refreshed) = env.refresh(&refresh).await;
    assert_eq!(status, 200, "{refreshed}");
    let rotated = refreshed["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_owned();
    assert_ne!(rotated, refresh);
    assert!(env
        .authenticate(refreshed["access_token"].as_str().unwrap_or_default())
        .is_ok());
    let (status, body) = env.refresh(&refresh).await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "invalid_grant", 70000);

    // A subset of scopes on refresh.
    let client_id = env.client_id.to_string();
    let (status, narrow) = env
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("refresh_token", &rotated),
            (
                "scope",
                "https://graph.microsoft.com/User.Read offline_access",
            ),
        ])
        .await;
    assert_eq!(status, 200, "{narrow}");
    assert_eq!(
        narrow["scope"],
        "https://graph.microsoft.com/User.Read offline_access"
    );
    let rotated = narrow["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_owned();

    // The snapshot keeps hashes, never the token.
    let snapshot = env.emulator.state().entra.snapshot().to_string();
    assert!(!snapshot.contains(&rotated));

    env.emulator.state().entra.revoke_user(user_id);
    let (status, body) = env.refresh(&rotated).await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "invalid_grant", 50173);
}

#[tokio::test]
async fn refresh_tokens_survive_snapshot_and_restore() {
    let env = start(|_| {}).await;
    let tokens = env.tokens_for(&env.users[0].1).await;
    let snapshot = env.emulator.state().entra.snapshot();
    let other = start(|_| {}).await;
    // The state file would bring the tenant back too.
    let tenant = env.emulator.state().tenant.read().clone();
    *other.emulator.state().tenant.write() = tenant;
    other.emulator.state().entra.restore(&snapshot);
    let access = tokens["access_token"].as_str().unwrap_or_default();
    assert!(
        other.authenticate(access).is_ok(),
        "the signing key is restored"
    );
    let client_id = env.client_id.to_string();
    let (status, body) = other
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            (
                "refresh_token",
                tokens["refresh_token"].as_str().unwrap_or_default(),
            ),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn authenticate_refuses_missing_garbage_forged_and_expired_tokens() {
    let env = start(|c| c.access_token_lifetime_secs = 1).await;
    let state = env.emulator.state();
    let err = perch_emulator::entra::authenticate(state, &HeaderMap::new()).expect_err("empty");
    assert_eq!(err.status.as_u16(), 401);
    assert_eq!(err.code, "InvalidAuthenticationToken");
    assert_eq!(err.message, "Access token is empty.");
    assert!(env
        .authenticate("garbage")
        .expect_err("garbage")
        .starts_with("IDX14100"));

    let (user_id, _) = env.users[0];
    let tenant = state.tenant.read().clone();
    let scopes = vec!["User.Read".to_owned()];
    let good = state.entra.issue_access_token(
        &tenant,
        user_id,
        env.client_id,
        &scopes,
        Duration::from_secs(60),
    );
    assert!(env.authenticate(&good).is_ok());

    // Another emulator's key: bad signature.
    let other = start(|_| {}).await;
    let forged = other.emulator.state().entra.issue_access_token(
        &tenant,
        user_id,
        env.client_id,
        &scopes,
        Duration::from_secs(60),
    );
    assert!(env
        .authenticate(&forged)
        .expect_err("forged")
        .contains("Signature validation failed"));

    // A tampered payload.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut claims = perch_emulator::entra::jwt::peek_claims(&good).expect("claims");
    claims["scp"] = "ChannelMessage.ReadWrite".into();
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    assert!(env.authenticate(&parts.join(".")).is_err());

    // The token endpoint's 1 s lifetime.
    let tokens = env.tokens_for(&env.users[0].1).await;
    assert_eq!(tokens["expires_in"], 1);
    let access = tokens["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(env.authenticate(&access).is_ok());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        env.authenticate(&access).expect_err("expired"),
        "Lifetime validation failed, the token is expired."
    );
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let env = start(|_| {}).await;
    // An ID token is signed by the same key but is for the app, not Graph.
    let tokens = env.tokens_for(&env.users[0].1).await;
    let id_token = tokens["id_token"].as_str().unwrap_or_default();
    assert_eq!(
        env.authenticate(id_token).expect_err("audience"),
        "Invalid audience."
    );
}

#[tokio::test]
async fn auto_approve_redirects_at_once_for_the_login_hint_user() {
    let env = start(|c| c.auto_approve = true).await;
    let (user_id, upn) = env.users[2].clone();
    let (status, location, _) = env.authorize(&[("login_hint", &upn)]).await;
    assert_eq!(status, 302);
    let query = query_of(&location.expect("Location"));
    assert_eq!(query["state"], "st-123");
    let (status, tokens) = env.redeem(&query["code"]).await;
    assert_eq!(status, 200, "{tokens}");
    let principal = env
        .authenticate(tokens["access_token"].as_str().unwrap_or_default())
        .expect("ok");
    assert_eq!(principal.user_id, user_id);

    // Without a hint: the first user. With prompt=select_account: the page.
    let (status, location, _) = env.authorize(&[]).await;
    assert_eq!(status, 302);
    let (_, tokens) = env
        .redeem(&query_of(&location.unwrap_or_default())["code"])
        .await;
    let principal = env
        .authenticate(tokens["access_token"].as_str().unwrap_or_default())
        .expect("ok");
    assert_eq!(principal.user_id, env.users[0].0);
    let (status, _, page) = env.authorize(&[("prompt", "select_account")]).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"signin\""));
}

#[tokio::test]
async fn prompt_none_signs_in_silently_or_asks_for_login() {
    let env = start(|_| {}).await;
    let upn = env.users[0].1.clone();
    let (status, location, _) = env
        .authorize(&[("prompt", "none"), ("login_hint", &upn)])
        .await;
    assert_eq!(status, 302);
    let query = query_of(&location.expect("Location"));
    let (status, _) = env.redeem(&query["code"]).await;
    assert_eq!(status, 200);

    let (status, location, _) = env.authorize(&[("prompt", "none")]).await;
    assert_error_redirect(status, location.as_deref(), "login_required", 50058);

    env.emulator.state().tenant.write().users[0]
        .auth
        .mfa_required = true;
    let (status, location, _) = env
        .authorize(&[("prompt", "none"), ("login_hint", &upn)])
        .await;
    assert_error_redirect(status, location.as_deref(), "interaction_required", 50076);
}

#[tokio::test]
async fn authorize_refuses_bad_pkce_scopes_and_response_types_by_redirect() {
    let env = start(|_| {}).await;
    let (s, l, _) = env.authorize(&[("code_challenge_method", "plain")]).await;
    assert_error_redirect(s, l.as_deref(), "invalid_request", 501491);
    let (s, l, _) = env.authorize(&[("code_challenge_method", "")]).await;
    assert_error_redirect(s, l.as_deref(), "invalid_request", 501491);
    let (s, l, _) = env.authorize(&[("code_challenge", "")]).await;
    assert_error_redirect(s, l.as_deref(), "invalid_request", 9002325);
    let (s, l, _) = env
        .authorize(&[("scope", "openid https://graph.microsoft.com/Nope.Read")])
        .await;
    assert_error_redirect(s, l.as_deref(), "invalid_scope", 70011);
    let (s, l, _) = env.authorize(&[("response_type", "token")]).await;
    assert_error_redirect(s, l.as_deref(), "unsupported_response_type", 70005);
}

#[tokio::test]
async fn authorize_shows_error_pages_for_bad_tenant_client_and_redirect_uri() {
    let env = start(|_| {}).await;
    for redirect in [
        "https://localhost:5000",
        "http://evil.example:5000/cb",
        "http://[::1]:5000",
        "http://localhost.evil.example/",
        "not a url",
    ] {
        let (status, location, page) = env.authorize(&[("redirect_uri", redirect)]).await;
        assert_eq!((status, location), (400, None), "{redirect}");
        assert!(page.contains("AADSTS50011"), "{redirect}");
    }
    // Any loopback port and path is fine, 127.0.0.1 too.
    let (status, _, _) = env
        .authorize(&[("redirect_uri", "http://127.0.0.1:9/callback")])
        .await;
    assert_eq!(status, 200);

    let (status, location, page) = env
        .authorize(&[("client_id", &Uuid::new_v4().to_string())])
        .await;
    assert_eq!((status, location), (400, None));
    assert!(page.contains("AADSTS700016"));

    let url = env.authorize_url("nosuchtenant.example", &[]);
    let (status, location, page) = env.get(&url).await;
    assert_eq!((status, location), (400, None));
    assert!(page.contains("AADSTS90002"));

    // The domain and `common` are aliases of the tenant.
    let domain = env.emulator.state().tenant.read().domain.clone();
    for tenant in [domain.as_str(), "common", "organizations"] {
        let (status, _, _) = env.get(&env.authorize_url(tenant, &[])).await;
        assert_eq!(status, 200, "{tenant}");
    }
}

#[tokio::test]
async fn cancel_on_the_page_redirects_with_access_denied() {
    let env = start(|_| {}).await;
    let (_, _, page) = env.authorize(&[]).await;
    let request = field(&page, "request").expect("request id");
    let action = format!("/{}/oauth2/v2.0/authorize", env.tenant_id);
    let (status, location, _) = env
        .post_form(&action, &[("request", &request), ("action", "cancel")])
        .await;
    assert_error_redirect(status, location.as_deref(), "access_denied", 65004);
    // The pending request is gone.
    let (status, _, page) = env
        .post_form(
            &action,
            &[
                ("request", &request),
                ("user", &env.users[0].1),
                ("action", "accept"),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("AADSTS90014"));
}

#[tokio::test]
async fn code_redemption_checks_pkce_reuse_redirect_and_client() {
    let env = start(|_| {}).await;
    let upn = env.users[0].1.clone();
    let client_id = env.client_id.to_string();
    let code = env.sign_in_as(&upn, &[]).await["code"].clone();
    let base = |verifier: Option<&str>, redirect: &str| {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("client_id", client_id.clone()),
            ("code", code.clone()),
            ("redirect_uri", redirect.to_owned()),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v.to_owned()));
        }
        form
    };
    let env_ref = &env;
    let send = |form: Vec<(&'static str, String)>| async move {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env_ref.token(&form).await
    };
    let (status, body) = send(base(None, REDIRECT)).await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "invalid_request", 50148);
    let (_, body) = send(base(
        Some("wrong-verifier-wrong-verifier-wrong-verifier-xx"),
        REDIRECT,
    ))
    .await;
    assert_entra_error(&body, "invalid_grant", 501481);
    let (_, body) = send(base(Some(VERIFIER), "http://localhost:1/")).await;
    assert_entra_error(&body, "invalid_grant", 50011);
    // A bare loopback origin and its trailing-slash form are the same URI.
    let (status, body) = send(base(Some(VERIFIER), "http://localhost:53117/")).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = send(base(Some(VERIFIER), REDIRECT)).await;
    assert_entra_error(&body, "invalid_grant", 54005);

    // Another client cannot redeem someone else's code.
    let code = env.sign_in_as(&upn, &[]).await["code"].clone();
    let other = Uuid::new_v4();
    env.emulator
        .state()
        .tenant
        .write()
        .apps
        .push(AppRegistration {
            client_id: other,
            display_name: "Other".into(),
            public_client: true,
        });
    let other = other.to_string();
    let (_, body) = env
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &other),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_entra_error(&body, "invalid_grant", 700005);
}

#[tokio::test]
async fn expired_codes_and_refresh_tokens_answer_70008() {
    let env = start(|c| {
        c.auth_code_lifetime_secs = 1;
        c.refresh_token_lifetime_secs = 1;
    })
    .await;
    let code = env.sign_in_as(&env.users[0].1, &[]).await["code"].clone();
    let tokens = env.tokens_for(&env.users[0].1).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (_, body) = env.redeem(&code).await;
    assert_entra_error(&body, "invalid_grant", 70008);
    let (_, body) = env
        .refresh(tokens["refresh_token"].as_str().unwrap_or_default())
        .await;
    assert_entra_error(&body, "invalid_grant", 70008);
}

#[tokio::test]
async fn client_secrets_unknown_clients_grant_types_and_tenants_are_refused() {
    let env = start(|_| {}).await;
    let client_id = env.client_id.to_string();
    let (status, body) = env
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("client_secret", "s3cret"),
            ("code", "x"),
        ])
        .await;
    assert_eq!(status, 401);
    assert_entra_error(&body, "invalid_client", 700025);

    let confidential = env.confidential_id.to_string();
    let (status, body) = env
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &confidential),
            ("code", "x"),
        ])
        .await;
    assert_eq!(status, 401);
    assert_entra_error(&body, "invalid_client", 7000218);

    let unknown = Uuid::new_v4().to_string();
    let (status, body) = env
        .token(&[("grant_type", "refresh_token"), ("client_id", &unknown)])
        .await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "unauthorized_client", 700016);

    let (_, body) = env
        .token(&[("grant_type", "password"), ("client_id", &client_id)])
        .await;
    assert_entra_error(&body, "unsupported_grant_type", 70003);

    let (_, body) = env
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("refresh_token", "0.Abogus"),
        ])
        .await;
    assert_entra_error(&body, "invalid_grant", 9002313);

    let response = env
        .http
        .post(format!(
            "{}/nosuchtenant.example/oauth2/v2.0/token",
            env.base()
        ))
        .header("client-request-id", "6f0c2f0e-6b1f-4a53-9d3e-2a3c1c0b9e11")
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", client_id.as_str()),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.expect("JSON");
    assert_entra_error(&body, "invalid_request", 90002);
    assert_eq!(
        body["correlation_id"],
        "6f0c2f0e-6b1f-4a53-9d3e-2a3c1c0b9e11"
    );
}

#[tokio::test]
async fn user_switches_consent_ca_and_mfa() {
    let env = start(|_| {}).await;
    let state = env.emulator.state();
    let upn = env.users[0].1.clone();

    // A refresh token from before the switches are set.
    let tokens = env.tokens_for(&upn).await;
    let refresh = tokens["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    state.tenant.write().users[0].auth.consent_missing = true;
    let (status, location, page) = env.authorize(&[("login_hint", &upn)]).await;
    assert_eq!(status, 200);
    let request = field(&page, "request").expect("request id");
    let action = format!("/{}/oauth2/v2.0/authorize", env.tenant_id);
    let (status, location2, _) = env
        .post_form(
            &action,
            &[("request", &request), ("user", &upn), ("action", "accept")],
        )
        .await;
    assert_eq!(location, None);
    assert_error_redirect(status, location2.as_deref(), "consent_required", 65001);
    let (_, body) = env.refresh(&refresh).await;
    assert_entra_error(&body, "consent_required", 65001);

    // Admin consent clears the switch for everyone.
    let client_id = env.client_id.to_string();
    let (status, _, page) = env
        .get(&format!(
            "{}/{}/adminconsent?client_id={client_id}",
            env.base(),
            env.tenant_id
        ))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"adminconsent\""));
    let (status, _, _) = env
        .post_form(
            &format!("/{}/adminconsent", env.tenant_id),
            &[("client_id", &client_id), ("action", "accept")],
        )
        .await;
    assert_eq!(status, 200);
    assert!(!state.tenant.read().users[0].auth.consent_missing);
    let (status, body) = env.refresh(&refresh).await;
    assert_eq!(status, 200, "{body}");
    let refresh = body["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // Conditional Access.
    state.tenant.write().users[0].auth.ca_blocked = true;
    let (_, body) = env.refresh(&refresh).await;
    assert_entra_error(&body, "invalid_grant", 53003);
    let (status, location, _) = env
        .authorize(&[("prompt", "none"), ("login_hint", &upn)])
        .await;
    assert_error_redirect(status, location.as_deref(), "access_denied", 53003);
    state.tenant.write().users[0].auth.ca_blocked = false;

    // MFA: the old chain must go interactive; the page asks to approve, then refresh works.
    state.tenant.write().users[0].auth.mfa_required = true;
    let (_, body) = env.refresh(&refresh).await;
    assert_entra_error(&body, "interaction_required", 50076);
    let (_, _, page) = env.authorize(&[("login_hint", &upn)]).await;
    let request = field(&page, "request").expect("request id");
    let (status, _, step) = env
        .post_form(
            &action,
            &[("request", &request), ("user", &upn), ("action", "accept")],
        )
        .await;
    assert_eq!(status, 200);
    assert!(step.contains("Approve sign-in request") && step.contains("id=\"mfa_approved\""));
    // Accepting without ticking the box shows the step again.
    let (status, _, again) = env
        .post_form(
            &action,
            &[
                ("request", &request),
                ("user", &upn),
                ("mfa_step", "1"),
                ("action", "accept"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert!(again.contains("id=\"notice\""));
    let tokens = env.tokens_for(&upn).await;
    let (status, body) = env
        .refresh(tokens["refresh_token"].as_str().unwrap_or_default())
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn device_code_flow_pending_slow_down_approve_and_decline() {
    let env = start(|_| {}).await;
    let client_id = env.client_id.to_string();
    let start_device = || async {
        let (status, _, body) = env
            .post_form(
                "/organizations/oauth2/v2.0/devicecode",
                &[("client_id", &client_id), ("scope", SCOPES)],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Value>(&body).expect("JSON")
    };
    let device = start_device().await;
    assert_eq!(
        device["verification_uri"],
        format!("{}/devicelogin", env.base())
    );
    assert_eq!(device["expires_in"], 900);
    assert_eq!(device["interval"], 5);
    let user_code = device["user_code"].as_str().unwrap_or_default().to_owned();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(device["message"]
        .as_str()
        .unwrap_or_default()
        .contains(&user_code));
    let device_code = device["device_code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let poll = |code: String| {
        let client_id = client_id.clone();
        let env = &env;
        async move {
            env.token(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", &client_id),
                ("device_code", &code),
            ])
            .await
        }
    };
    let (_, body) = poll(device_code.clone()).await;
    assert_entra_error(&body, "authorization_pending", 70016);
    let (_, body) = poll(device_code.clone()).await;
    assert_eq!(body["error"], "slow_down");

    // A wrong code on the page is refused; the right one (lower case, no dash) works.
    let (status, _, page) = env.get(&format!("{}/devicelogin", env.base())).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"user_code\""));
    let upn = env.users[1].1.clone();
    let (_, _, page) = env
        .post_form(
            "/devicelogin",
            &[
                ("user_code", "ZZZZ-ZZZZ"),
                ("user", &upn),
                ("action", "accept"),
            ],
        )
        .await;
    assert!(page.contains("id=\"notice\""));
    let typed = user_code.replace('-', "").to_lowercase();
    let (status, _, page) = env
        .post_form(
            "/devicelogin",
            &[("user_code", &typed), ("user", &upn), ("action", "accept")],
        )
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"result\""), "{page}");
    let (status, tokens) = poll(device_code.clone()).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["refresh_token"].is_string());
    let principal = env
        .authenticate(tokens["access_token"].as_str().unwrap_or_default())
        .expect("ok");
    assert_eq!(principal.user_id, env.users[1].0);
    let (_, body) = poll(device_code).await;
    assert_entra_error(&body, "invalid_grant", 54005);

    // Declined.
    let device = start_device().await;
    let user_code = device["user_code"].as_str().unwrap_or_default().to_owned();
    let (status, _, _) = env
        .post_form(
            "/devicelogin",
            &[("user_code", &user_code), ("action", "cancel")],
        )
        .await;
    assert_eq!(status, 200);
    let (_, body) = poll(
        device["device_code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
    .await;
    assert_entra_error(&body, "authorization_declined", 65004);

    let (_, body) = poll("DAQABIQEAAAnope".to_owned()).await;
    assert_entra_error(&body, "bad_verification_code", 9002313);
}

#[tokio::test]
async fn device_code_is_approved_at_once_in_auto_approve_mode() {
    let env = start(|c| c.auto_approve = true).await;
    let client_id = env.client_id.to_string();
    let (_, _, body) = env
        .post_form(
            "/organizations/oauth2/v2.0/devicecode",
            &[("client_id", &client_id), ("scope", SCOPES)],
        )
        .await;
    let device: Value = serde_json::from_str(&body).expect("JSON");
    let (status, tokens) = env
        .token(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", &client_id),
            (
                "device_code",
                device["device_code"].as_str().unwrap_or_default(),
            ),
        ])
        .await;
    assert_eq!(status, 200, "{tokens}");
}

#[tokio::test]
async fn discovery_points_at_the_emulator() {
    let env = start(|_| {}).await;
    let (status, _, body) = env
        .get(&format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            env.base(),
            env.tenant_id
        ))
        .await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&body).expect("JSON");
    let tid = env.tenant_id;
    assert_eq!(doc["issuer"], format!("{}/{tid}/v2.0", env.base()));
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{}/{tid}/oauth2/v2.0/authorize", env.base())
    );
    assert_eq!(
        doc["token_endpoint"],
        format!("{}/{tid}/oauth2/v2.0/token", env.base())
    );
    assert_eq!(
        doc["device_authorization_endpoint"],
        format!("{}/{tid}/oauth2/v2.0/devicecode", env.base())
    );
}
