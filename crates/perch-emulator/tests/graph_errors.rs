//! Failures in Graph's shape: 401 for missing, garbage and expired tokens, 403 for missing
//! permissions and non-members, 404 for unknown things, 400 for bad ids, options and bodies,
//! never a panic; and the headers every answer carries.

mod graph_common;

use graph_common::{error_code, start};
use perch_emulator::graph::fixture::Spec;
use std::time::Duration;

#[tokio::test]
async fn unauthenticated_requests_get_401() {
    let bed = start(Spec::default()).await;
    let path = bed.general_messages();
    for token in [None, Some("garbage"), Some("a.b.c"), Some("")] {
        let a = bed.request(reqwest::Method::GET, &path, token, None).await;
        assert_eq!(a.status, 401, "{token:?}");
        assert_eq!(error_code(&a), "InvalidAuthenticationToken");
    }
    let expired = {
        let state = bed.emulator.state();
        let tenant = state.tenant.read();
        state.entra.issue_access_token(
            &tenant,
            bed.fx.users[0],
            bed.fx.client_id,
            &["ChannelMessage.Read.All".to_owned()],
            Duration::ZERO,
        )
    };
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let a = bed.get_as(&expired, &path).await;
    assert_eq!(a.status, 401);
}

#[tokio::test]
async fn permissions_and_membership_give_403_and_unknowns_404() {
    let bed = start(Spec::default()).await;
    let team = bed.team();
    let general = &bed.fx.general;
    let read_only = bed.token_for(bed.fx.users[0], &["ChannelMessage.Read.All"]);
    for (method, path) in [
        (reqwest::Method::GET, "/me".to_owned()),
        (reqwest::Method::GET, "/me/joinedTeams".to_owned()),
        (reqwest::Method::GET, format!("/teams/{team}/channels")),
        (
            reqwest::Method::GET,
            format!("/teams/{team}/channels/{general}/members"),
        ),
        (
            reqwest::Method::POST,
            format!("/teams/{team}/channels/{general}/messages"),
        ),
    ] {
        let a = bed
            .request(
                method,
                &path,
                Some(&read_only),
                Some(serde_json::json!({"body": {"content": "x"}})),
            )
            .await;
        assert_eq!(a.status, 403, "{path}");
        assert_eq!(error_code(&a), "Forbidden");
        assert!(a.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("requires one of"));
    }
    let outsider = bed.token_for(
        *bed.fx.users.last().unwrap(),
        perch_emulator::graph::fixture::ALL_SCOPES,
    );
    for path in [
        format!("/teams/{team}"),
        format!("/teams/{team}/channels"),
        bed.general_messages(),
    ] {
        let a = bed.get_as(&outsider, &path).await;
        assert_eq!(a.status, 403, "{path}");
    }
    let unknown_team = uuid::Uuid::from_u128(42);
    for path in [
        format!("/teams/{unknown_team}"),
        format!("/teams/{team}/channels/19:missing@thread.tacv2/messages"),
        format!("{}/1234", bed.general_messages()),
        format!("{}/1234/replies", bed.general_messages()),
        "/users/nobody@contoso.example".to_owned(),
    ] {
        let a = bed.get(&path).await;
        assert_eq!(a.status, 404, "{path}");
        error_code(&a);
    }
}

#[tokio::test]
async fn malformed_requests_get_400_never_a_panic() {
    let bed = start(Spec::default()).await;
    let team = bed.team();
    let msgs = bed.general_messages();
    for path in [
        "/teams/not-a-guid".to_owned(),
        format!("/teams/{team}/channels/general/messages"),
        format!("{msgs}/abc%20def"),
        format!("{msgs}/12;drop"),
        format!("{msgs}/{}", "9".repeat(200)),
        format!("{msgs}?$top=-1"),
        format!("{msgs}?$top=99999999999999999999999"),
        format!("{msgs}?$skiptoken=%FF%FE"),
        format!("{msgs}/delta?$deltatoken=%00"),
        format!("/teams/{team}/channels/%FF/messages"),
        "/me/nothing".to_owned(),
    ] {
        let a = bed.get(&path).await;
        assert_eq!(
            a.status,
            400,
            "{path}: {}",
            String::from_utf8_lossy(&a.bytes)
        );
        let code = error_code(&a);
        assert!(
            code == "BadRequest" || code == "syncStateNotFound",
            "{path}: {code}"
        );
    }
    let wrong_method = bed
        .request(reqwest::Method::DELETE, "/me", Some(&bed.token), None)
        .await;
    assert_eq!(wrong_method.status, 405);
    error_code(&wrong_method);
    let a = bed
        .request(
            reqwest::Method::PATCH,
            &format!("{msgs}/1"),
            Some(&bed.token),
            Some(serde_json::json!([1, 2])),
        )
        .await;
    assert_eq!(a.status, 400);
}

#[tokio::test]
async fn answers_carry_request_ids_and_date() {
    let bed = start(Spec::default()).await;
    for path in ["/me".to_owned(), "/teams/not-a-guid".to_owned()] {
        let resp = bed
            .http
            .get(bed.url(&path))
            .bearer_auth(&bed.token)
            .header("client-request-id", "abc-123")
            .send()
            .await
            .unwrap();
        let headers = resp.headers().clone();
        assert!(headers.contains_key("request-id"), "{path}");
        assert_eq!(headers["client-request-id"], "abc-123");
        assert!(headers.contains_key("date"));
        let body: serde_json::Value = resp.json().await.unwrap();
        if let Some(inner) = body.get("error") {
            assert_eq!(inner["innerError"]["client-request-id"], "abc-123");
            assert_eq!(
                inner["innerError"]["request-id"],
                headers["request-id"].to_str().unwrap()
            );
        }
    }
}
