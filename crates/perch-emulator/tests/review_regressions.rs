//! Regressions found in review: answers that left Graph's error shape or broke on input Graph
//! accepts.

mod graph_common;

use graph_common::{answer, error_code, start};
use perch_emulator::graph::fixture::Spec;
use serde_json::{json, Value};

fn by_id<'a>(answer: &'a Value, id: &str) -> &'a Value {
    answer["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no response {id}: {answer}"))
}

/// A body over the size limit used to answer axum's plain-text 413.
#[tokio::test]
async fn oversized_bodies_get_graph_error_shape() {
    let bed = start(Spec::default()).await;
    let big = json!({"body": {"content": "x".repeat(3 << 20)}});
    for path in [bed.general_messages(), "/$batch".to_owned()] {
        let resp = bed
            .http
            .post(bed.url(&path))
            .bearer_auth(&bed.token)
            .header("client-request-id", "big-1")
            .json(&big)
            .send()
            .await
            .unwrap();
        let a = answer(resp).await;
        assert_eq!(a.status, 413, "{path}");
        assert_eq!(error_code(&a), "RequestEntityTooLarge");
        let inner = &a.json["error"]["innerError"];
        assert_eq!(inner["client-request-id"], "big-1");
        assert_eq!(
            inner["request-id"].as_str(),
            a.headers["request-id"].to_str().ok()
        );
    }
    // A method the $batch route does not have: Graph's shape too, not an empty 405.
    let a = bed.get("/$batch").await;
    assert_eq!(a.status, 405);
    error_code(&a);
}

/// A `client-request-id` with a quote or backslash turned inner error bodies into strings.
#[tokio::test]
async fn batch_inner_errors_escape_the_client_request_id() {
    let bed = start(Spec::default()).await;
    let crid = r#"ab"c\d"#;
    let resp = bed
        .http
        .post(bed.url("/$batch"))
        .bearer_auth(&bed.token)
        .header("client-request-id", crid)
        .json(&json!({"requests": [
            {"id": "1", "method": "GET", "url": "/nowhere"},
            {"id": "2", "method": "GET", "url": "/me", "dependsOn": ["1"]},
        ]}))
        .send()
        .await
        .unwrap();
    let a = answer(resp).await;
    assert_eq!(a.status, 200);
    let request_id = a.headers["request-id"].to_str().unwrap().to_owned();
    for (id, status, code) in [("1", 400, "BadRequest"), ("2", 424, "FailedDependency")] {
        let r = by_id(&a.json, id);
        assert_eq!(r["status"], status);
        let error = &r["body"]["error"];
        assert_eq!(error["code"], code, "{r}");
        assert_eq!(error["innerError"]["client-request-id"], crid, "{r}");
        assert_eq!(
            error["innerError"]["request-id"],
            request_id.as_str(),
            "{r}"
        );
        assert!(error["innerError"]["date"].is_string(), "{r}");
    }
}

/// Graph's own batch examples write `$filter` with spaces; the emulator refused them as
/// invalid URLs.
#[tokio::test]
async fn batch_urls_may_hold_spaces() {
    let bed = start(Spec::default()).await;
    let url = format!(
        "{}/delta?$filter=lastModifiedDateTime gt 2020-01-01T00:00:00Z&$top=5",
        bed.general_messages()
    );
    let a = bed
        .post(
            "/$batch",
            json!({"requests": [
                {"id": "1", "method": "GET", "url": url},
                {"id": "2", "method": "GET", "url": "me?$select=id, displayName"},
            ]}),
        )
        .await;
    assert_eq!(a.status, 200);
    let delta = by_id(&a.json, "1");
    assert_eq!(delta["status"], 200, "{delta}");
    assert!(delta["body"]["value"].is_array(), "{delta}");
    let me = by_id(&a.json, "2");
    assert_eq!(me["status"], 200, "{me}");
}

/// The token and device-code endpoints answered axum's plain text for a tenant segment that is
/// not UTF-8 or a body over the size limit; clients parse Entra's JSON error.
#[tokio::test]
async fn entra_json_endpoints_never_answer_plain_text() {
    let bed = start(Spec::default()).await;
    let base = bed.emulator.base_url().to_owned();
    let cases = [
        (
            format!("{base}/%FF/oauth2/v2.0/token"),
            "grant_type=x".to_owned(),
            400,
        ),
        (
            format!("{base}/%FF/oauth2/v2.0/devicecode"),
            "client_id=x".to_owned(),
            400,
        ),
        (
            format!("{base}/organizations/oauth2/v2.0/token"),
            format!(
                "grant_type=refresh_token&refresh_token={}",
                "x".repeat(3 << 20)
            ),
            413,
        ),
    ];
    for (url, body, status) in cases {
        let resp = bed
            .http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("client-request-id", "7f0c4c8e-1111-4222-8333-944455556666")
            .body(body)
            .send()
            .await
            .unwrap();
        let a = answer(resp).await;
        assert_eq!(a.status, status, "{url}");
        assert_eq!(a.json["error"], "invalid_request", "{url}: {:?}", a.json);
        assert_eq!(a.json["error_codes"][0], 90014, "{url}");
        assert!(a.json["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS90014"));
        assert_eq!(
            a.json["correlation_id"],
            "7f0c4c8e-1111-4222-8333-944455556666"
        );
    }
}

/// An upper-case team GUID named the same channel but got a throttling scope of its own, so
/// a client could dodge (or a test could miss) the per-channel limit.
#[tokio::test]
async fn team_id_case_does_not_split_the_channel_scope() {
    let bed = graph_common::start_with(Spec::default(), true).await;
    let lower = format!("{}?$top=1", bed.general_messages());
    let upper = lower.replacen(
        &bed.team().to_string(),
        &bed.team().to_string().to_uppercase(),
        1,
    );
    assert_eq!(bed.get(&lower).await.status, 200);
    let a = bed.get(&upper).await;
    assert_eq!(a.status, 429, "{}", String::from_utf8_lossy(&a.bytes));
    assert!(a.headers.contains_key("retry-after"));
}

/// The batch answer replaced the request-id placeholder (the all-zero GUID) everywhere in
/// every inner JSON body, so message content holding that GUID came back altered.
#[tokio::test]
async fn batch_leaves_success_bodies_alone() {
    let bed = start(Spec::default()).await;
    let content = "nil id 00000000-0000-0000-0000-000000000000 here";
    let a = bed
        .post(
            "/$batch",
            json!({"requests": [{
                "id": "1", "method": "POST", "url": bed.general_messages(),
                "headers": {"Content-Type": "application/json"},
                "body": {"body": {"contentType": "text", "content": content}},
            }]}),
        )
        .await;
    let r = by_id(&a.json, "1");
    assert_eq!(r["status"], 201, "{r}");
    assert_eq!(r["body"]["body"]["content"], content);
}
