//! Throttling over real HTTP: a burst at a scaled-down limit gets 429 with a fractional
//! Retry-After, calling again before it has passed is a Retry-After violation in
//! `/_emulator/stats`, and waiting it out succeeds. Limits change at run time through
//! `PUT /_emulator/limits`.

use std::time::Duration;

use perch_emulator::{Emulator, EmulatorConfig, LimitsConfig, Profile};
use serde_json::{json, Value};

const SCOPES: &[&str] = &[
    "User.Read",
    "Team.ReadBasic.All",
    "Channel.ReadBasic.All",
    "ChannelMessage.Read.All",
    "ChannelMessage.Send",
];

struct Bed {
    emulator: Emulator,
    http: reqwest::Client,
    token: String,
    client_id: String,
    user_id: String,
}

impl Bed {
    async fn start(scale: f64) -> Self {
        let emulator = Emulator::start(EmulatorConfig {
            profile: Profile::Small,
            limits: LimitsConfig {
                enabled: true,
                scale,
            },
            ..EmulatorConfig::default()
        })
        .await
        .expect("emulator starts");
        let (token, client_id, user_id) = {
            let tenant = emulator.state().tenant.read();
            let scopes: Vec<String> = SCOPES.iter().map(|s| (*s).to_owned()).collect();
            let user = tenant.users[0].id;
            let client = tenant.apps[0].client_id;
            let token = emulator.state().entra.issue_access_token(
                &tenant,
                user,
                client,
                &scopes,
                Duration::from_secs(3600),
            );
            (token, client.to_string(), user.to_string())
        };
        Self {
            emulator,
            http: reqwest::Client::new(),
            token,
            client_id,
            user_id,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.base_url())
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("answer")
    }

    async fn stats(&self) -> Value {
        self.http
            .get(self.url("/_emulator/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn retry_after(response: &reqwest::Response) -> f64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After is a number of seconds")
}

#[tokio::test]
async fn a_burst_is_throttled_and_early_retries_are_violations() {
    // joinedTeams: 30/s per app per tenant; at scale 0.02 that is 0.6/s: one token, and the
    // next one 1.667 s later.
    let bed = Bed::start(0.02).await;
    assert_eq!(bed.get("/v1.0/me/joinedTeams").await.status(), 200);
    let throttled = bed.get("/v1.0/me/joinedTeams").await;
    assert_eq!(throttled.status(), 429);
    let wait = retry_after(&throttled);
    assert!(wait > 1.0 && wait <= 1.667, "Retry-After {wait}");
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TooManyRequests");

    // Other scopes are unaffected: /me is not Teams-throttled at all.
    assert_eq!(bed.get("/v1.0/me").await.status(), 200);

    // Calling again at once: another 429 with what remains, and a violation.
    let early = bed.get("/v1.0/me/joinedTeams").await;
    assert_eq!(early.status(), 429);
    let remaining = retry_after(&early);
    assert!(remaining <= wait, "{remaining} > {wait}");
    let stats = bed.stats().await;
    let scope = format!(
        "perAppPerTenant:joinedTeams:{}/{}",
        bed.client_id,
        bed.emulator.state().tenant.read().id
    );
    assert_eq!(stats["violations"]["total"], 1, "{stats}");
    assert_eq!(stats["violations"]["byScope"][&scope], 1, "{stats}");
    assert_eq!(stats["violations"]["byClient"][&bed.client_id], 1);
    assert_eq!(stats["violations"]["byUser"][&bed.user_id], 1);
    assert_eq!(stats["graph"]["throttled"], 2);
    assert_eq!(stats["graph"]["byStatus"]["429"], 2);
    assert_eq!(stats["graph"]["byCategory"]["joinedTeams"], 3);
    assert_eq!(stats["graph"]["byScope"][&scope]["violations"], 1);

    // Waiting the Retry-After out succeeds.
    tokio::time::sleep(Duration::from_secs_f64(remaining)).await;
    assert_eq!(bed.get("/v1.0/me/joinedTeams").await.status(), 200);
    assert_eq!(bed.stats().await["violations"]["total"], 1);

    // Stats reset.
    let reset = bed
        .http
        .post(bed.url("/_emulator/stats/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 204);
    assert_eq!(bed.stats().await["violations"]["total"], 0);
}

#[tokio::test]
async fn channel_reads_are_limited_per_channel() {
    let bed = Bed::start(1.0).await;
    let (team, general, other) = {
        let tenant = bed.emulator.state().tenant.read();
        let team = &tenant.teams[0];
        (
            team.id.to_string(),
            team.channels[0].id.clone(),
            team.channels
                .iter()
                .skip(1)
                .find(|c| c.visible_to(team, tenant.users[0].id))
                .map(|c| c.id.clone()),
        )
    };
    let path = |channel: &str| format!("/v1.0/teams/{team}/channels/{channel}/messages");
    assert_eq!(bed.get(&path(&general)).await.status(), 200);
    let throttled = bed.get(&path(&general)).await;
    assert_eq!(throttled.status(), 429, "1 per second per channel");
    assert!(retry_after(&throttled) <= 1.0);
    if let Some(other) = other {
        assert_eq!(
            bed.get(&path(&other)).await.status(),
            200,
            "another channel"
        );
    }
}

#[tokio::test]
async fn limits_change_at_run_time() {
    let bed = Bed::start(0.1).await;
    let put = |body: Value| {
        let request = bed.http.put(bed.url("/_emulator/limits")).json(&body);
        async move { request.send().await.unwrap() }
    };
    let answer = put(json!({"enabled": false})).await;
    assert_eq!(answer.status(), 200);
    let limits: Value = answer.json().await.unwrap();
    assert_eq!(limits, json!({"enabled": false, "scale": 0.1}));
    for _ in 0..10 {
        assert_eq!(bed.get("/v1.0/me/joinedTeams").await.status(), 200);
    }
    // At scale 0.02 one token, the next 1.667 s later.
    assert_eq!(
        put(json!({"enabled": true, "scale": 0.02})).await.status(),
        200
    );
    assert_eq!(bed.get("/v1.0/me/joinedTeams").await.status(), 200);
    assert_eq!(bed.get("/v1.0/me/joinedTeams").await.status(), 429);
    // Bad values are refused with a reason.
    let bad = put(json!({"scale": -1})).await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("scale"));
    assert_eq!(put(json!({"scale": "x"})).await.status(), 400);
}

#[tokio::test]
async fn batch_inner_requests_are_throttled_one_by_one() {
    // One joinedTeams token at scale 0.02: one inner request goes, four get 429.
    let bed = Bed::start(0.02).await;
    let requests: Vec<Value> = (0..5)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/me/joinedTeams"}))
        .collect();
    let response = bed
        .http
        .post(bed.url("/v1.0/$batch"))
        .bearer_auth(&bed.token)
        .json(&json!({ "requests": requests }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let answers = body["responses"].as_array().expect("responses");
    let throttled: Vec<&Value> = answers.iter().filter(|r| r["status"] == 429).collect();
    assert_eq!(answers.len(), 5);
    assert_eq!(throttled.len(), 4, "{body}");
    for answer in throttled {
        let headers = &answer["headers"];
        let retry = headers
            .as_object()
            .and_then(|h| {
                h.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
            })
            .map(|(_, v)| v.clone());
        assert!(retry.is_some(), "inner Retry-After in {answer}");
    }
}
