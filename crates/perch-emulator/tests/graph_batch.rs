//! `$batch`: up to 20 inner requests through the Graph router, each authenticated and
//! throttled on its own, `dependsOn` with 424 for dependents of failures, and 400 for
//! malformed batches.

mod graph_common;

use graph_common::{error_code, start, start_with, Bed};
use perch_emulator::graph::fixture::Spec;
use serde_json::{json, Value};

async fn batch(bed: &Bed, token: Option<&str>, body: Value) -> graph_common::Answer {
    bed.request(reqwest::Method::POST, "/$batch", token, Some(body))
        .await
}

fn by_id<'a>(answer: &'a Value, id: &str) -> &'a Value {
    answer["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no response {id}: {answer}"))
}

#[tokio::test]
async fn inner_requests_run_through_the_router() {
    let bed = start(Spec::default()).await;
    let msgs = bed.general_messages();
    let a = batch(
        &bed,
        Some(&bed.token),
        json!({"requests": [
            {"id": "1", "method": "GET", "url": "/me"},
            {"id": "2", "method": "GET", "url": format!("{}?$top=2", msgs.trim_start_matches('/'))},
            {"id": "3", "method": "POST", "url": msgs, "headers": {"Content-Type": "application/json"}, "body": {"body": {"content": "from batch"}}},
            {"id": "4", "method": "GET", "url": "/me/photo/$value"},
            {"id": "5", "method": "GET", "url": "/nowhere"},
        ]}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.bytes));
    assert_eq!(a.json["responses"].as_array().unwrap().len(), 5);
    assert_eq!(by_id(&a.json, "1")["status"], 200);
    assert_eq!(
        by_id(&a.json, "1")["body"]["id"],
        bed.fx.users[0].to_string()
    );
    assert_eq!(
        by_id(&a.json, "2")["body"]["value"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(by_id(&a.json, "3")["status"], 201);
    assert_eq!(by_id(&a.json, "3")["body"]["body"]["content"], "from batch");
    let photo = by_id(&a.json, "4");
    assert_eq!(photo["headers"]["Content-Type"], "image/png");
    assert!(
        photo["body"].as_str().unwrap().starts_with("iVBOR"),
        "base64 PNG"
    );
    assert_eq!(by_id(&a.json, "5")["status"], 400);
    assert_eq!(by_id(&a.json, "5")["body"]["error"]["code"], "BadRequest");
}

#[tokio::test]
async fn dependents_of_failures_get_424() {
    let bed = start(Spec::default()).await;
    let a = batch(
        &bed,
        Some(&bed.token),
        json!({"requests": [
            {"id": "a", "method": "GET", "url": "/teams/not-a-guid"},
            {"id": "b", "method": "GET", "url": "/me", "dependsOn": ["a"]},
            {"id": "c", "method": "GET", "url": "/me", "dependsOn": ["b"]},
            {"id": "d", "method": "GET", "url": "/me"},
            {"id": "e", "method": "GET", "url": "/me/joinedTeams", "dependsOn": ["d"]},
        ]}),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(by_id(&a.json, "a")["status"], 400);
    assert_eq!(by_id(&a.json, "b")["status"], 424);
    assert_eq!(by_id(&a.json, "c")["status"], 424);
    assert_eq!(by_id(&a.json, "d")["status"], 200);
    assert_eq!(by_id(&a.json, "e")["status"], 200);
}

#[tokio::test]
async fn malformed_batches_and_auth() {
    let bed = start(Spec::default()).await;
    let one = json!({"id": "1", "method": "GET", "url": "/me"});
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/me"}))
        .collect();
    for body in [
        json!({"requests": many}),
        json!({"requests": []}),
        json!({"nope": 1}),
        json!({"requests": [one.clone(), one.clone()]}),
        json!({"requests": [{"id": "1", "method": "GET", "url": "/me", "dependsOn": ["9"]}]}),
        json!({"requests": [{"id": "1", "method": "GET", "url": "/me", "dependsOn": ["2"]}, {"id": "2", "method": "GET", "url": "/me", "dependsOn": ["1"]}]}),
        json!({"requests": [{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/me"}]}),
        json!({"requests": [{"id": "1", "method": "POST", "url": "/me", "body": {}}]}),
        json!({"requests": [{"id": "1", "method": "BREW", "url": "/me"}]}),
    ] {
        let a = batch(&bed, Some(&bed.token), body.clone()).await;
        assert_eq!(a.status, 400, "{body}");
        error_code(&a);
    }
    let twenty: Vec<Value> = (0..20)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/me"}))
        .collect();
    assert_eq!(
        batch(&bed, Some(&bed.token), json!({"requests": twenty}))
            .await
            .status,
        200
    );

    let a = batch(&bed, None, json!({"requests": [one.clone()]})).await;
    assert_eq!(a.status, 401);
    assert_eq!(error_code(&a), "InvalidAuthenticationToken");

    // Inner permission checks apply per request.
    let weak = bed.token_for(bed.fx.users[0], &["User.Read"]);
    let a = batch(
        &bed,
        Some(&weak),
        json!({"requests": [one, {"id": "2", "method": "GET", "url": "/me/joinedTeams"}]}),
    )
    .await;
    assert_eq!(by_id(&a.json, "1")["status"], 200);
    assert_eq!(by_id(&a.json, "2")["status"], 403);
}

#[tokio::test]
async fn inner_requests_are_throttled_on_their_own() {
    let bed = start_with(Spec::default(), true).await;
    let msgs = bed.general_messages();
    let requests: Vec<Value> = (0..10)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": format!("{msgs}?$top=1")}))
        .collect();
    let a = batch(&bed, Some(&bed.token), json!({"requests": requests})).await;
    assert_eq!(a.status, 200);
    let responses = a.json["responses"].as_array().unwrap();
    let ok = responses.iter().filter(|r| r["status"] == 200).count();
    let throttled: Vec<&Value> = responses.iter().filter(|r| r["status"] == 429).collect();
    assert!(ok >= 1, "{}", a.json);
    assert!(
        !throttled.is_empty(),
        "one channel allows a burst of a few reads: {}",
        a.json
    );
    for r in throttled {
        let retry: f64 = r["headers"]["Retry-After"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry > 0.0);
        assert_eq!(r["body"]["error"]["code"], "TooManyRequests");
    }
}
