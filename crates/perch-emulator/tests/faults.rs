//! Every fault switch over real HTTP: status rates with counts, latency, connection resets,
//! broken JSON, accept-then-drop, pause/resume, refuse, and the switches that live elsewhere
//! (delta-token expiry, refresh-token revocation, user sign-in switches).

use std::time::{Duration, Instant};

use perch_emulator::faults::{FaultsConfig, Offline};
use perch_emulator::{Emulator, EmulatorConfig, Profile};
use serde_json::{json, Value};

const SCOPES: &[&str] = &[
    "User.Read",
    "Team.ReadBasic.All",
    "Channel.ReadBasic.All",
    "ChannelMessage.Read.All",
    "ChannelMessage.Send",
    "ChannelMessage.ReadWrite",
    "ChannelMember.Read.All",
];

/// A running emulator with a token for the demo user.
struct Bed {
    emulator: Emulator,
    http: reqwest::Client,
    token: String,
}

impl Bed {
    async fn start(config: EmulatorConfig) -> Self {
        let emulator = Emulator::start(EmulatorConfig {
            profile: Profile::Small,
            ..config
        })
        .await
        .expect("emulator starts");
        let token = {
            let tenant = emulator.state().tenant.read();
            let scopes: Vec<String> = SCOPES.iter().map(|s| (*s).to_owned()).collect();
            emulator.state().entra.issue_access_token(
                &tenant,
                tenant.users[0].id,
                tenant.apps[0].client_id,
                &scopes,
                Duration::from_secs(3600),
            )
        };
        Self {
            emulator,
            // A fresh connection per request, so one dropped connection never affects the next.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .expect("client"),
            token,
        }
    }

    async fn default() -> Self {
        Self::start(EmulatorConfig {
            limits: perch_emulator::LimitsConfig {
                enabled: false,
                scale: 1.0,
            },
            ..EmulatorConfig::default()
        })
        .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.base_url())
    }

    async fn get(&self, path: &str) -> reqwest::Result<reqwest::Response> {
        self.http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, self.url(&format!("/_emulator{path}")));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("admin answers");
        let status = response.status();
        let text = response.text().await.expect("admin body");
        assert!(status.is_success(), "{path}: {status} {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("admin JSON")
        }
    }

    async fn add_rule(&self, rule: Value) {
        self.admin(reqwest::Method::POST, "/faults/rules", Some(rule))
            .await;
    }

    /// `(team id, General channel id)` of the first team.
    fn general(&self) -> (String, String) {
        let tenant = self.emulator.state().tenant.read();
        let team = &tenant.teams[0];
        (team.id.to_string(), team.channels[0].id.clone())
    }

    fn messages_path(&self) -> String {
        let (team, channel) = self.general();
        format!("/v1.0/teams/{team}/channels/{channel}/messages")
    }
}

#[tokio::test]
async fn status_faults_fire_the_given_number_of_times() {
    let bed = Bed::default().await;
    bed.add_rule(json!({"kind": "status", "status": 503, "retryAfter": 1.5, "count": 2}))
        .await;
    for _ in 0..2 {
        let response = bed.get("/v1.0/me").await.unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "1.5");
        assert!(response.headers().contains_key("request-id"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "ServiceUnavailable");
    }
    assert_eq!(bed.get("/v1.0/me").await.unwrap().status(), 200);
    // The rule counted itself out.
    let faults = bed.admin(reqwest::Method::GET, "/faults", None).await;
    assert_eq!(faults["rules"], json!([]));

    // Every status of the list, each once; a 429 always carries a Retry-After.
    for status in [429, 500, 502, 504] {
        bed.add_rule(json!({"kind": "status", "status": status, "count": 1}))
            .await;
        let response = bed.get("/v1.0/me").await.unwrap();
        assert_eq!(response.status(), status);
        assert_eq!(
            response.headers().get("retry-after").is_some(),
            status == 429,
            "{status}"
        );
    }
    let stats = bed.admin(reqwest::Method::GET, "/stats", None).await;
    assert_eq!(stats["faults"]["status503"], 2);
    assert_eq!(stats["http"]["byStatus"]["503"], 2);
}

#[tokio::test]
async fn filters_and_probability_choose_the_requests() {
    let bed = Bed::default().await;
    bed.add_rule(json!({"kind": "status", "status": 500, "path": "/joinedTeams"}))
        .await;
    bed.add_rule(json!({"kind": "status", "status": 502, "method": "POST"}))
        .await;
    bed.add_rule(json!({"kind": "status", "status": 504, "probability": 0}))
        .await;
    assert_eq!(bed.get("/v1.0/me").await.unwrap().status(), 200);
    assert_eq!(bed.get("/v1.0/me/joinedTeams").await.unwrap().status(), 500);
    let post = bed
        .http
        .post(bed.url("/v1.0/me"))
        .bearer_auth(&bed.token)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 502);
    // The admin API is never faulted.
    assert_eq!(
        bed.http
            .get(bed.url("/_emulator/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn entra_paths_are_faulted_only_when_targeted() {
    let bed = Bed::default().await;
    let token_url = bed.url("/organizations/oauth2/v2.0/token");
    let form = [("grant_type", "refresh_token"), ("refresh_token", "nope")];
    bed.add_rule(json!({"kind": "status", "status": 503})).await;
    let untouched = bed.http.post(&token_url).form(&form).send().await.unwrap();
    assert_ne!(untouched.status(), 503, "Graph rules leave Entra alone");
    bed.admin(reqwest::Method::DELETE, "/faults", None).await;
    bed.add_rule(json!({"kind": "status", "status": 503, "retryAfter": 2, "target": "entra"}))
        .await;
    let faulted = bed.http.post(&token_url).form(&form).send().await.unwrap();
    assert_eq!(faulted.status(), 503);
    assert_eq!(faulted.headers()["retry-after"], "2");
    let body: Value = faulted.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(bed.get("/v1.0/me").await.unwrap().status(), 200);
}

#[tokio::test]
async fn latency_delays_matching_requests() {
    let bed = Bed::default().await;
    bed.admin(
        reqwest::Method::POST,
        "/faults/latency",
        Some(json!({"ms": 1000, "jitterMs": 50, "path": "/me"})),
    )
    .await;
    let started = Instant::now();
    assert_eq!(bed.get("/v1.0/me").await.unwrap().status(), 200);
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1000), "{elapsed:?}");
    let started = Instant::now();
    let (team, _) = bed.general();
    bed.get(&format!("/v1.0/teams/{team}/channels"))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(1000));
}

#[tokio::test]
async fn reset_drops_the_connection_without_an_answer() {
    let bed = Bed::default().await;
    bed.add_rule(json!({"kind": "reset", "count": 1})).await;
    let error = bed.get("/v1.0/me").await.expect_err("connection dropped");
    assert!(!error.is_status() && !error.is_timeout(), "{error:?}");
    assert_eq!(bed.get("/v1.0/me").await.unwrap().status(), 200);
    let stats = bed.admin(reqwest::Method::GET, "/stats", None).await;
    assert_eq!(stats["faults"]["reset"], 1);
    assert_eq!(stats["http"]["byStatus"]["dropped"], 1);
}

#[tokio::test]
async fn truncated_json_is_complete_but_does_not_parse() {
    let bed = Bed::default().await;
    bed.add_rule(json!({"kind": "truncatedJson", "count": 1}))
        .await;
    let response = bed.get(&bed.messages_path()).await.unwrap();
    assert_eq!(response.status(), 200);
    let length: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = response
        .bytes()
        .await
        .expect("the whole (cut) body arrives");
    assert_eq!(bytes.len(), length);
    assert!(serde_json::from_slice::<Value>(&bytes).is_err());
    let whole: Value = bed
        .get(&bed.messages_path())
        .await
        .unwrap()
        .json()
        .await
        .expect("next response is whole");
    assert!(whole["value"].is_array());
}

#[tokio::test]
async fn malformed_json_and_html_error_pages_have_a_json_content_type() {
    let bed = Bed::default().await;
    bed.add_rule(json!({"kind": "malformedJson", "count": 1}))
        .await;
    bed.add_rule(json!({"kind": "htmlError", "count": 1})).await;
    for expected_start in ["{", "<!DOCTYPE html>"] {
        let response = bed.get("/v1.0/me").await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let text = response.text().await.unwrap();
        assert!(text.starts_with(expected_start), "{text}");
        assert!(serde_json::from_str::<Value>(&text).is_err());
    }
}

#[tokio::test]
async fn accept_then_drop_commits_the_write_but_never_answers() {
    let bed = Bed::default().await;
    bed.add_rule(json!({"kind": "acceptThenDrop", "count": 1}))
        .await;
    // Reads are not affected by this kind.
    assert_eq!(bed.get("/v1.0/me").await.unwrap().status(), 200);
    let marker = "<p>written, never acknowledged</p>";
    let error = bed
        .http
        .post(bed.url(&bed.messages_path()))
        .bearer_auth(&bed.token)
        .json(&json!({"body": {"contentType": "html", "content": marker}}))
        .send()
        .await
        .expect_err("the connection is dropped after the write");
    assert!(!error.is_status(), "{error:?}");
    let tenant = bed.emulator.state().tenant.read();
    let last = tenant.teams[0].channels[0]
        .messages
        .roots
        .last()
        .expect("a post");
    assert_eq!(last.content, marker, "the write committed");
}

#[tokio::test]
async fn accept_then_hang_commits_the_write_and_never_answers() {
    let bed = Bed::default().await;
    bed.add_rule(json!({"kind": "acceptThenHang", "count": 1}))
        .await;
    assert_eq!(bed.get("/v1.0/me").await.unwrap().status(), 200);
    let marker = "<p>written, the answer never comes</p>";
    let pending = bed
        .http
        .post(bed.url(&bed.messages_path()))
        .bearer_auth(&bed.token)
        .json(&json!({"body": {"contentType": "html", "content": marker}}))
        .timeout(Duration::from_millis(800))
        .send()
        .await
        .expect_err("no answer before the client gives up");
    assert!(pending.is_timeout(), "{pending:?}");
    let tenant = bed.emulator.state().tenant.read();
    let last = tenant.teams[0].channels[0]
        .messages
        .roots
        .last()
        .expect("a post");
    assert_eq!(last.content, marker, "the write committed");
}

#[tokio::test]
async fn pause_holds_requests_until_resume() {
    let bed = std::sync::Arc::new(Bed::default().await);
    bed.admin(reqwest::Method::POST, "/pause", None).await;
    assert_eq!(
        bed.emulator.state().faults.config().offline,
        Offline::Paused
    );
    let held = tokio::spawn({
        let bed = bed.clone();
        async move { bed.get("/v1.0/me").await.map(|r| r.status()) }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!held.is_finished(), "the request is held");
    // The admin API still answers while Graph is paused.
    bed.admin(reqwest::Method::GET, "/health", None).await;
    bed.admin(reqwest::Method::POST, "/resume", None).await;
    let status = tokio::time::timeout(Duration::from_secs(5), held)
        .await
        .expect("answered after resume")
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn refuse_makes_graph_unreachable_until_resume() {
    let bed = Bed::default().await;
    bed.admin(
        reqwest::Method::POST,
        "/refuse",
        Some(json!({"target": "all"})),
    )
    .await;
    assert!(bed.get("/v1.0/me").await.is_err());
    let token = bed
        .http
        .post(bed.url("/organizations/oauth2/v2.0/token"))
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await;
    assert!(token.is_err(), "Entra is refused too with target all");
    bed.admin(reqwest::Method::POST, "/resume", None).await;
    assert_eq!(bed.get("/v1.0/me").await.unwrap().status(), 200);
}

#[tokio::test]
async fn faults_from_the_start_config() {
    let config: FaultsConfig = serde_json::from_value(json!({
        "rules": [{"kind": "status", "status": 500, "count": 1}]
    }))
    .unwrap();
    let bed = Bed::start(EmulatorConfig {
        faults: config,
        limits: perch_emulator::LimitsConfig {
            enabled: false,
            scale: 1.0,
        },
        ..EmulatorConfig::default()
    })
    .await;
    assert_eq!(bed.get("/v1.0/me").await.unwrap().status(), 500);
    assert_eq!(bed.get("/v1.0/me").await.unwrap().status(), 200);
}

#[tokio::test]
async fn delta_expiry_answers_gone_or_sync_state_not_found() {
    let bed = Bed::default().await;
    let first: Value = bed
        .get(&format!(
            "{}/delta?$filter=lastModifiedDateTime%20gt%202020-01-01T00:00:00Z",
            bed.messages_path()
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Follow the pages to the delta link.
    let mut page = first;
    let delta_link = loop {
        if let Some(link) = page["@odata.deltaLink"].as_str() {
            break link.to_owned();
        }
        let next = page["@odata.nextLink"]
            .as_str()
            .expect("nextLink or deltaLink")
            .to_owned();
        page = bed
            .http
            .get(next)
            .bearer_auth(&bed.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    };
    let call = |link: String| {
        let request = bed.http.get(link).bearer_auth(&bed.token);
        async move { request.send().await.unwrap() }
    };
    assert_eq!(call(delta_link.clone()).await.status(), 200);
    bed.admin(
        reqwest::Method::POST,
        "/delta/expire",
        Some(json!({"mode": "gone"})),
    )
    .await;
    assert_eq!(call(delta_link.clone()).await.status(), 410);
    bed.admin(
        reqwest::Method::POST,
        "/delta/expire",
        Some(json!({"mode": "syncStateNotFound"})),
    )
    .await;
    let response = call(delta_link).await;
    assert_eq!(response.status(), 400);
    let body = response.text().await.unwrap();
    assert!(body.contains("syncStateNotFound"), "{body}");
}

/// Signs the demo user in through the device-code flow (auto-approved) and returns
/// `(client id, refresh token)`.
async fn sign_in(bed: &Bed) -> (String, String) {
    let client_id = bed.emulator.state().tenant.read().apps[0]
        .client_id
        .to_string();
    let scope = "offline_access openid https://graph.microsoft.com/User.Read";
    let device: Value = bed
        .http
        .post(bed.url("/organizations/oauth2/v2.0/devicecode"))
        .form(&[("client_id", client_id.as_str()), ("scope", scope)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let device_code = device["device_code"].as_str().expect("device code");
    let tokens: Value = bed
        .http
        .post(bed.url("/organizations/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", client_id.as_str()),
            ("device_code", device_code),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refresh = tokens["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("refresh token in {tokens}"))
        .to_owned();
    (client_id, refresh)
}

async fn refresh(bed: &Bed, client_id: &str, refresh_token: &str) -> Value {
    bed.http
        .post(bed.url("/organizations/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
            (
                "scope",
                "offline_access https://graph.microsoft.com/User.Read",
            ),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn bed_config() -> EmulatorConfig {
    EmulatorConfig {
        auto_approve: true,
        ..EmulatorConfig::default()
    }
}

#[tokio::test]
async fn revoking_a_user_kills_their_refresh_tokens() {
    let bed = Bed::start(bed_config()).await;
    let upn = bed.emulator.state().tenant.read().users[0].upn.clone();
    let (client_id, refresh_token) = sign_in(&bed).await;
    let rotated = refresh(&bed, &client_id, &refresh_token).await;
    let rotated = rotated["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("refresh works before the revocation: {rotated}"))
        .to_owned();
    bed.admin(reqwest::Method::POST, &format!("/users/{upn}/revoke"), None)
        .await;
    let answer = refresh(&bed, &client_id, &rotated).await;
    assert_eq!(answer["error"], "invalid_grant", "{answer}");

    // `POST /_emulator/revoke` revokes everyone.
    let (_, fresh) = sign_in(&bed).await;
    bed.admin(reqwest::Method::POST, "/revoke", None).await;
    let answer = refresh(&bed, &client_id, &fresh).await;
    assert_eq!(answer["error"], "invalid_grant", "{answer}");
}

/// A silent (`prompt=none`) authorization for `upn`: the redirect's query.
async fn silent_authorize(bed: &Bed, upn: &str) -> String {
    let client_id = bed.emulator.state().tenant.read().apps[0]
        .client_id
        .to_string();
    let challenge = "a".repeat(43);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http
        .get(bed.url("/organizations/oauth2/v2.0/authorize"))
        .query(&[
            ("client_id", client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", "http://localhost:5000"),
            ("scope", "openid https://graph.microsoft.com/User.Read"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("prompt", "none"),
            ("login_hint", upn),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    response.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn user_switches_make_entra_fail_like_entra() {
    let bed = Bed::start(bed_config()).await;
    let upn = bed.emulator.state().tenant.read().users[0].upn.clone();
    let path = format!("/users/{upn}");
    let patch = |body: Value| bed.admin(reqwest::Method::PATCH, &path, Some(body));

    // MFA: a silent sign-in needs interaction.
    assert!(silent_authorize(&bed, &upn).await.contains("code="));
    let user = patch(json!({"mfaRequired": true})).await;
    assert_eq!(user["mfaRequired"], true);
    let location = silent_authorize(&bed, &upn).await;
    assert!(
        location.contains("error=interaction_required"),
        "{location}"
    );
    patch(json!({"mfaRequired": false})).await;

    // Consent and Conditional Access: even a refresh fails.
    let cases = [
        ("consentMissing", "consent_required"),
        ("caBlocked", "53003"),
    ];
    for (switch, expected) in cases {
        let (client_id, refresh_token) = sign_in(&bed).await;
        patch(json!({ switch: true })).await;
        let answer = refresh(&bed, &client_id, &refresh_token).await;
        assert!(answer.to_string().contains(expected), "{switch}: {answer}");
        patch(json!({ switch: false })).await;
    }
}
