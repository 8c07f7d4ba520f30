//! Writes through Graph: post and reply (201 with the message), edit own messages (204) and
//! 403 on others', soft delete and undo, reactions that bump `lastModifiedDateTime` and are
//! idempotent, and the validation Teams applies to bodies and mentions.

mod graph_common;

use graph_common::{error_code, start, Bed};
use perch_emulator::graph::fixture::{Spec, ALL_SCOPES};
use perch_emulator::ops::{self, NewMessage};
use serde_json::{json, Value};

async fn fetch(bed: &Bed, path: &str) -> Value {
    let a = bed.get(path).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.bytes));
    a.json
}

#[tokio::test]
async fn post_reply_edit_delete_undo() {
    let bed = start(Spec::default()).await;
    let msgs = bed.general_messages();
    let posted = bed
        .post(
            &msgs,
            json!({
                "body": {"contentType": "html", "content": "<p>Hello <at id=\"0\">Megan Bowen</at></p>"},
                "subject": "Hi",
                "importance": "high",
                "mentions": [{"id": 0, "mentionText": "Megan Bowen", "mentioned": {"user": {"id": bed.fx.users[1].to_string(), "displayName": "Megan Bowen", "userIdentityType": "aadUser"}}}]
            }),
        )
        .await;
    assert_eq!(
        posted.status,
        201,
        "{}",
        String::from_utf8_lossy(&posted.bytes)
    );
    let m = &posted.json;
    let id = m["id"].as_str().unwrap().to_owned();
    assert!(id.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(m["subject"], "Hi");
    assert_eq!(m["importance"], "high");
    assert_eq!(m["from"]["user"]["id"], bed.fx.users[0].to_string());
    assert_eq!(
        m["mentions"][0]["mentioned"]["user"]["displayName"],
        "Megan Bowen"
    );
    assert_eq!(
        m["etag"], m["id"],
        "a new message's etag is its creation time"
    );
    assert!(posted.headers["location"].to_str().unwrap().ends_with(&id));
    let newest = fetch(&bed, &format!("{msgs}?$top=1")).await;
    assert_eq!(newest["value"][0]["id"], id.as_str());

    let reply = bed
        .post(
            &format!("{msgs}/{id}/replies"),
            json!({"body": {"content": "a reply"}}),
        )
        .await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.json["replyToId"], id.as_str());
    let reply_id = reply.json["id"].as_str().unwrap().to_owned();

    let edited = bed
        .patch(
            &format!("{msgs}/{id}"),
            json!({"body": {"contentType": "html", "content": "<p>edited</p>"}}),
        )
        .await;
    assert_eq!(
        edited.status,
        204,
        "{}",
        String::from_utf8_lossy(&edited.bytes)
    );
    let after = fetch(&bed, &format!("{msgs}/{id}")).await;
    assert_eq!(after["body"]["content"], "<p>edited</p>");
    assert!(after["lastEditedDateTime"].is_string());
    assert!(after["lastModifiedDateTime"].as_str() > m["lastModifiedDateTime"].as_str());
    let edited_reply = bed
        .patch(
            &format!("{msgs}/{id}/replies/{reply_id}"),
            json!({"body": {"content": "fixed"}}),
        )
        .await;
    assert_eq!(edited_reply.status, 204);

    // Someone else's message: 403 for edit and for delete.
    let colleague = bed.token_for(bed.fx.users[1], ALL_SCOPES);
    for (method, path, body) in [
        (
            reqwest::Method::PATCH,
            format!("{msgs}/{id}"),
            json!({"body": {"content": "x"}}),
        ),
        (
            reqwest::Method::POST,
            format!("{msgs}/{id}/softDelete"),
            json!({}),
        ),
    ] {
        let a = bed
            .request(method, &path, Some(&colleague), Some(body))
            .await;
        assert_eq!(a.status, 403, "{path}");
        assert_eq!(error_code(&a), "Forbidden");
    }

    for prefix in ["", "microsoft.graph."] {
        let del = bed
            .post(&format!("{msgs}/{id}/{prefix}softDelete"), json!({}))
            .await;
        assert_eq!(del.status, 204);
        let gone = fetch(&bed, &format!("{msgs}/{id}")).await;
        assert!(gone["deletedDateTime"].is_string());
        assert_eq!(gone["body"]["content"], "");
        assert_eq!(gone["id"], id.as_str());
        let undo = bed
            .post(&format!("{msgs}/{id}/{prefix}undoSoftDelete"), json!({}))
            .await;
        assert_eq!(undo.status, 204);
        let back = fetch(&bed, &format!("{msgs}/{id}")).await;
        assert!(back["deletedDateTime"].is_null());
        assert_eq!(back["body"]["content"], "<p>edited</p>");
    }
    let del_reply = bed
        .post(
            &format!("{msgs}/{id}/replies/{reply_id}/softDelete"),
            json!({}),
        )
        .await;
    assert_eq!(del_reply.status, 204);
    let r = fetch(&bed, &format!("{msgs}/{id}/replies/{reply_id}")).await;
    assert!(r["deletedDateTime"].is_string());
}

#[tokio::test]
async fn reactions_are_idempotent_and_bump_last_modified() {
    let bed = start(Spec::default()).await;
    let msgs = bed.general_messages();
    let root = fetch(&bed, &format!("{msgs}?$top=1")).await["value"][0].clone();
    let id = root["id"].as_str().unwrap();
    let before = root["lastModifiedDateTime"].as_str().unwrap().to_owned();
    for prefix in ["", "microsoft.graph."] {
        let a = bed
            .post(
                &format!("{msgs}/{id}/{prefix}setReaction"),
                json!({"reactionType": "💯"}),
            )
            .await;
        assert_eq!(a.status, 204);
    }
    let after = fetch(&bed, &format!("{msgs}/{id}")).await;
    let mine: Vec<&Value> = after["reactions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["reactionType"] == "💯")
        .collect();
    assert_eq!(mine.len(), 1, "idempotent per user and type");
    assert_eq!(mine[0]["user"]["user"]["id"], bed.fx.users[0].to_string());
    let bumped = after["lastModifiedDateTime"].as_str().unwrap().to_owned();
    assert!(bumped > before);
    assert_ne!(after["etag"], root["etag"]);

    let unset = bed
        .post(
            &format!("{msgs}/{id}/unsetReaction"),
            json!({"reactionType": "💯"}),
        )
        .await;
    assert_eq!(unset.status, 204);
    let cleared = fetch(&bed, &format!("{msgs}/{id}")).await;
    assert!(cleared["reactions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["reactionType"] != "💯"));
    assert!(cleared["lastModifiedDateTime"].as_str().unwrap() > bumped.as_str());

    for body in [json!({}), json!({"reactionType": ""})] {
        let bad = bed.post(&format!("{msgs}/{id}/setReaction"), body).await;
        assert_eq!(bad.status, 400);
    }
    let unknown = bed.post(&format!("{msgs}/{id}/explode"), json!({})).await;
    assert_eq!(unknown.status, 400);
}

#[tokio::test]
async fn bodies_and_mentions_are_validated_like_teams() {
    let bed = start(Spec::default()).await;
    let msgs = bed.general_messages();
    let cases = [
        (json!({"body": {"content": ""}}), 400),
        (json!({"body": {"content": "   "}}), 400),
        (json!({}), 400),
        (
            json!({"body": {"content": "x", "contentType": "markdown"}}),
            400,
        ),
        (
            json!({"body": {"content": "x"}, "importance": "extreme"}),
            400,
        ),
        (json!({"body": {"content": "<at id=\"0\">X</at>"}}), 400),
        (
            json!({"body": {"content": "hi"}, "mentions": [{"id": 0, "mentionText": "X", "mentioned": {"user": {"id": bed.fx.users[1].to_string()}}}]}),
            400,
        ),
        (
            json!({"body": {"content": "<at id=\"0\">X</at>"}, "mentions": [{"id": 0, "mentionText": "X", "mentioned": {"user": {"id": "not-a-guid"}}}]}),
            400,
        ),
        (
            json!({"body": {"content": "<at id=\"0\">X</at>"}, "mentions": [{"id": 0, "mentionText": "X", "mentioned": {"user": {"id": uuid::Uuid::nil().to_string()}}}]}),
            400,
        ),
        (
            json!({"body": {"content": "see <attachment id=\"a1\"></attachment>"}, "attachments": [{"id": "a2", "contentType": "reference", "contentUrl": "https://x"}]}),
            400,
        ),
        (json!({"body": {"content": "x".repeat(40_000)}}), 413),
        (json!({"body": {"content": 5}}), 400),
    ];
    for (body, status) in cases {
        let a = bed.post(&msgs, body.clone()).await;
        assert_eq!(a.status, status, "{body}");
        error_code(&a);
    }
    // Not JSON, or not declared as JSON.
    let raw = bed
        .http
        .post(bed.url(&msgs))
        .bearer_auth(&bed.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let text = bed
        .http
        .post(bed.url(&msgs))
        .bearer_auth(&bed.token)
        .header("content-type", "text/plain")
        .body(r#"{"body":{"content":"x"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 400);
    // An attachment referenced in the body and a hosted content image are accepted.
    let ok = bed
        .post(
            &msgs,
            json!({
                "body": {"content": "file <attachment id=\"a1\"></attachment><img src=\"../hostedContents/1/$value\">"},
                "attachments": [{"id": "a1", "contentType": "reference", "contentUrl": "https://contoso.sharepoint.com/x.docx", "name": "x.docx"}],
                "hostedContents": [{"@microsoft.graph.temporaryId": "1", "contentBytes": "iVBORw0KGgo=", "contentType": "image/png"}]
            }),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", String::from_utf8_lossy(&ok.bytes));
    let content = ok.json["body"]["content"].as_str().unwrap();
    assert!(content.contains(&bed.url("/teams/")), "{content}");
    let src_at = content.find(&bed.url("/teams/")).unwrap();
    let src = &content[src_at..src_at + content[src_at..].find('"').unwrap()];
    let image = bed.get(src).await;
    assert_eq!(image.status, 200);
    assert_eq!(image.bytes, b"\x89PNG\r\n\x1a\n");

    // Posting where the user cannot see the channel.
    let outsider = bed.token_for(*bed.fx.users.last().unwrap(), ALL_SCOPES);
    let a = bed
        .request(
            reqwest::Method::POST,
            &msgs,
            Some(&outsider),
            Some(json!({"body": {"content": "x"}})),
        )
        .await;
    assert_eq!(a.status, 403);
    let colleague = bed.token_for(bed.fx.users[2], ALL_SCOPES);
    let private = format!("/teams/{}/channels/{}/messages", bed.team(), bed.fx.private);
    let a = bed
        .request(
            reqwest::Method::POST,
            &private,
            Some(&colleague),
            Some(json!({"body": {"content": "x"}})),
        )
        .await;
    assert_eq!(a.status, 403);
}

#[tokio::test]
async fn ops_ids_are_unique_and_ordered_under_collisions() {
    let bed = start(Spec::default()).await;
    let now = chrono::Utc::now();
    let mut tenant = bed.emulator.state().tenant.write();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let m = ops::post_message(
            &mut tenant,
            bed.team(),
            &bed.fx.general,
            bed.fx.users[0],
            NewMessage::html("same ms"),
            now,
        )
        .unwrap();
        ids.push(m.id.parse::<i64>().unwrap());
    }
    for pair in ids.windows(2) {
        assert_eq!(pair[1], pair[0] + 1);
    }
    let channel = tenant
        .team(bed.team())
        .unwrap()
        .channel(&bed.fx.general)
        .unwrap();
    let created: Vec<_> = channel.messages.roots.iter().map(|m| m.created).collect();
    let mut sorted = created.clone();
    sorted.sort();
    assert_eq!(created, sorted);
    let err = ops::post_message(
        &mut tenant,
        bed.team(),
        "19:nope@thread.tacv2",
        bed.fx.users[0],
        NewMessage::html("x"),
        now,
    )
    .unwrap_err();
    assert_eq!(err.status, 404);
}
