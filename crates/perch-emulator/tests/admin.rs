//! The admin API under `/_emulator`: describing the tenant, replacing and adding faults,
//! user switches, acting as other users, and clear 400/404 answers to bad input.

use perch_emulator::{Emulator, EmulatorConfig, LimitsConfig, Profile};
use reqwest::Method;
use serde_json::{json, Value};

struct Bed {
    emulator: Emulator,
    http: reqwest::Client,
}

impl Bed {
    async fn start() -> Self {
        let emulator = Emulator::start(EmulatorConfig {
            profile: Profile::Small,
            limits: LimitsConfig {
                enabled: false,
                scale: 1.0,
            },
            ..EmulatorConfig::default()
        })
        .await
        .expect("emulator starts");
        Self {
            emulator,
            http: reqwest::Client::new(),
        }
    }

    /// Sends a raw body; returns status and parsed JSON (or `Null`).
    async fn call(&self, method: Method, path: &str, body: Option<&str>) -> (u16, Value) {
        let mut request = self.http.request(
            method,
            format!("{}/_emulator{path}", self.emulator.base_url()),
        );
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let response = request.send().await.expect("answer");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    async fn json(&self, method: Method, path: &str, body: Value) -> (u16, Value) {
        self.call(method, path, Some(&body.to_string())).await
    }
}

fn message_of(error: &Value) -> String {
    error["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn health_and_tenant() {
    let bed = Bed::start().await;
    assert_eq!(bed.call(Method::GET, "/health", None).await.0, 200);
    let (status, tenant) = bed.call(Method::GET, "/tenant", None).await;
    assert_eq!(status, 200);
    let state = bed.emulator.state().tenant.read();
    assert_eq!(tenant["id"], state.id.to_string());
    assert_eq!(tenant["domain"], state.domain);
    assert_eq!(tenant["demoClientId"], state.apps[0].client_id.to_string());
    assert_eq!(tenant["apps"].as_array().unwrap().len(), state.apps.len());
    assert_eq!(tenant["users"][0]["upn"], state.users[0].upn);
    assert_eq!(
        tenant["users"][0]["displayName"],
        state.users[0].display_name
    );
    let channel = &tenant["teams"][0]["channels"][0];
    assert_eq!(channel["id"], state.teams[0].channels[0].id);
    assert!(channel["membershipType"].is_string());
}

#[tokio::test]
async fn bad_input_gets_clear_errors() {
    let bed = Bed::start().await;
    let cases: &[(Method, &str, Option<&str>, u16, &str)] = &[
        (
            Method::PUT,
            "/faults",
            Some("{not json"),
            400,
            "Invalid JSON body",
        ),
        (Method::PUT, "/faults", None, 400, "needs a JSON body"),
        (
            Method::PUT,
            "/faults",
            Some(r#"{"rulez":[]}"#),
            400,
            "unknown field",
        ),
        (
            Method::PUT,
            "/faults",
            Some(r#"{"rules":[{"kind":"status","status":200}]}"#),
            400,
            "rules[0]",
        ),
        (
            Method::POST,
            "/faults/rules",
            Some(r#"{"kind":"explode"}"#),
            400,
            "unknown variant",
        ),
        (Method::PUT, "/limits", Some(r#"{"scale":0}"#), 400, "scale"),
        (
            Method::POST,
            "/delta/expire",
            Some(r#"{"mode":"later"}"#),
            400,
            "unknown variant",
        ),
        (
            Method::PATCH,
            "/users/nobody@nowhere",
            Some("{}"),
            404,
            "nobody@nowhere",
        ),
        (Method::POST, "/users/nobody/revoke", None, 404, "nobody"),
        (
            Method::POST,
            "/pause",
            Some(r#"{"target":"moon"}"#),
            400,
            "unknown variant",
        ),
        (
            Method::GET,
            "/no/such/route",
            None,
            404,
            "No such admin route",
        ),
        (
            Method::POST,
            "/act",
            Some(r#"{"as":"nobody","kind":"post","team":"x","channel":"y","body":"hi"}"#),
            404,
            "nobody",
        ),
    ];
    for (method, path, body, status, needle) in cases {
        let (got, error) = bed.call(method.clone(), path, *body).await;
        assert_eq!(got, *status, "{method} {path}: {error}");
        assert!(
            message_of(&error).contains(needle),
            "{method} {path}: {error}"
        );
    }
    // Nothing changed.
    assert_eq!(bed.emulator.state().faults.config(), Default::default());
}

#[tokio::test]
async fn faults_round_trip() {
    let bed = Bed::start().await;
    let config = json!({
        "rules": [{"kind": "status", "status": 503, "retryAfter": 2.5, "probability": 0.5,
                   "path": "/messages", "method": "GET", "count": 3}],
        "latency": [{"ms": 20, "jitterMs": 5}],
        "offline": "none",
    });
    let (status, answer) = bed.json(Method::PUT, "/faults", config).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["rules"][0]["count"], 3);
    assert_eq!(answer["rules"][0]["target"], "graph");
    let (status, answer) = bed
        .json(
            Method::POST,
            "/faults/rules",
            json!({"kind": "reset", "count": 1}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(answer["rules"].as_array().unwrap().len(), 2);
    let (_, got) = bed.call(Method::GET, "/faults", None).await;
    assert_eq!(got, answer);
    assert_eq!(bed.call(Method::DELETE, "/faults", None).await.0, 204);
    let (_, got) = bed.call(Method::GET, "/faults", None).await;
    assert_eq!(got["rules"], json!([]));
    assert_eq!(got["latency"], json!([]));
    let (_, limits) = bed.call(Method::GET, "/limits", None).await;
    assert_eq!(limits, json!({"enabled": false, "scale": 1.0}));
}

#[tokio::test]
async fn user_switches_are_set_by_id_or_upn() {
    let bed = Bed::start().await;
    let (id, upn) = {
        let tenant = bed.emulator.state().tenant.read();
        (tenant.users[1].id, tenant.users[1].upn.clone())
    };
    let (status, user) = bed
        .json(
            Method::PATCH,
            &format!("/users/{upn}"),
            json!({"mfaRequired": true}),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["mfaRequired"], true);
    assert_eq!(user["consentMissing"], false);
    let (status, _) = bed
        .json(
            Method::PATCH,
            &format!("/users/{id}"),
            json!({"consentMissing": true, "caBlocked": true}),
        )
        .await;
    assert_eq!(status, 200);
    let tenant = bed.emulator.state().tenant.read();
    let auth = &tenant.users[1].auth;
    assert!(auth.mfa_required && auth.consent_missing && auth.ca_blocked);
}

#[tokio::test]
async fn acting_as_another_user_writes_through_ops() {
    let bed = Bed::start().await;
    let (colleague, mentioned, mentioned_name, team, channel) = {
        let tenant = bed.emulator.state().tenant.read();
        let team = &tenant.teams[0];
        let channel = &team.channels[0];
        let colleague = tenant
            .users
            .iter()
            .skip(1)
            .find(|u| channel.visible_to(team, u.id))
            .expect("a colleague in General");
        (
            colleague.upn.clone(),
            tenant.users[0].upn.clone(),
            tenant.users[0].display_name.clone(),
            team.display_name.clone(),
            channel.display_name.clone(),
        )
    };
    let act = |body: Value| bed.json(Method::POST, "/act", body);

    let (status, post) = act(json!({
        "as": colleague, "kind": "post", "team": team, "channel": channel,
        "body": "<p>Release is out</p>", "subject": "Release", "importance": "high",
        "mentions": [mentioned],
    }))
    .await;
    assert_eq!(status, 201, "{post}");
    let id = post["id"].as_str().expect("message id").to_owned();
    assert_eq!(post["subject"], "Release");
    assert_eq!(post["importance"], "high");
    assert!(
        post.to_string()
            .contains(&format!("<at id=\\\"0\\\">{mentioned_name}</at>")),
        "{post}"
    );

    let (status, reply) = act(json!({
        "as": mentioned, "kind": "reply", "team": team, "channel": channel,
        "message": id, "body": "<p>Thanks!</p>",
    }))
    .await;
    assert_eq!(status, 201, "{reply}");
    let reply_id = reply["id"].as_str().expect("reply id").to_owned();

    let (status, reacted) = act(json!({
        "as": mentioned, "kind": "react", "team": team, "channel": channel,
        "message": id, "reaction": "like",
    }))
    .await;
    assert_eq!(status, 200, "{reacted}");
    assert_eq!(
        reacted["reactions"].as_array().map(Vec::len),
        Some(1),
        "{reacted}"
    );

    let (status, _) = act(json!({
        "as": mentioned, "kind": "unreact", "team": team, "channel": channel,
        "message": id, "reaction": "like",
    }))
    .await;
    assert_eq!(status, 200);

    let (status, edited) = act(json!({
        "as": colleague, "kind": "edit", "team": team, "channel": channel,
        "message": id, "body": "<p>Release is out (v2)</p>",
    }))
    .await;
    assert_eq!(status, 200, "{edited}");
    assert!(edited.to_string().contains("(v2)"));

    // Only the sender may edit: ops' 403 comes through.
    let (status, error) = act(json!({
        "as": mentioned, "kind": "edit", "team": team, "channel": channel,
        "message": id, "body": "<p>hijack</p>",
    }))
    .await;
    assert_eq!(status, 403, "{error}");

    let (status, deleted) = act(json!({
        "as": mentioned, "kind": "delete", "team": team, "channel": channel,
        "message": id, "reply": reply_id,
    }))
    .await;
    assert_eq!(status, 200, "{deleted}");
    assert!(deleted["deletedDateTime"].is_string(), "{deleted}");
    let (status, restored) = act(json!({
        "as": mentioned, "kind": "undelete", "team": team, "channel": channel,
        "message": id, "reply": reply_id,
    }))
    .await;
    assert_eq!(status, 200);
    assert!(restored["deletedDateTime"].is_null(), "{restored}");

    // Missing fields and unknown targets.
    let (status, error) = act(json!({
        "as": colleague, "kind": "reply", "team": team, "channel": channel, "body": "x",
    }))
    .await;
    assert_eq!(status, 400);
    assert!(message_of(&error).contains("\"message\""), "{error}");
    let (status, _) = act(json!({
        "as": colleague, "kind": "react", "team": team, "channel": "No such channel",
        "message": id, "reaction": "like",
    }))
    .await;
    assert_eq!(status, 404);
    let (status, _) = act(json!({
        "as": colleague, "kind": "react", "team": team, "channel": channel,
        "message": "999", "reaction": "like",
    }))
    .await;
    assert_eq!(status, 404);

    // The tenant holds the thread.
    {
        let tenant = bed.emulator.state().tenant.read();
        let root = tenant.teams[0].channels[0].messages.roots.last().unwrap();
        assert_eq!(root.id, id);
        assert_eq!(root.replies.len(), 1);
    }
    // Writes through the admin API are not Graph requests: no Graph stats.
    let (_, stats) = bed.call(Method::GET, "/stats", None).await;
    assert_eq!(stats["graph"]["requests"], 0);
}
