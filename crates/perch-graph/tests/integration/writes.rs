//! Every write, checked against the emulator's state: post (subject, importance, a mention),
//! reply, edit of a root and of a reply, reactions on a reply, soft delete and undo.

use perch_emulator::graph::fixture::Spec;
use perch_emulator::model::{Importance as EmuImportance, Message};
use perch_graph::{Importance, Mention, NewMessage};

use crate::support::{bed, Bed, Limits};

/// The root `root_id` of the general channel (and, with `reply`, that reply), from the state.
fn stored(b: &Bed, root_id: &str, reply: Option<&str>) -> Message {
    let tenant = b.emulator.state().tenant.read();
    let channel = tenant
        .team(b.fx.teams[0])
        .unwrap()
        .channel(&b.fx.general)
        .unwrap();
    let root = channel
        .messages
        .roots
        .iter()
        .find(|m| m.id == root_id)
        .expect("root stored")
        .clone();
    match reply {
        None => root,
        Some(r) => root
            .replies
            .iter()
            .find(|m| m.id == r)
            .expect("reply stored")
            .clone(),
    }
}

#[tokio::test]
async fn every_write_lands_in_the_emulator() {
    let b = bed(Spec::default(), Limits::Off).await;
    let (team, channel) = (b.team(0), b.fx.general.clone());
    let megan = b.fx.users[1].to_string();

    let posted = b
        .client
        .post_message(
            &team,
            &channel,
            &NewMessage {
                html: "<p>Hello <at id=\"0\">Megan Bowen</at></p>".into(),
                subject: Some("Plans".into()),
                importance: Some(Importance::High),
                mentions: vec![Mention {
                    id: 0,
                    mention_text: "Megan Bowen".into(),
                    mentioned: Some(perch_graph::IdentitySet::user(&megan, "Megan Bowen")),
                }],
            },
        )
        .await
        .unwrap();
    assert_eq!(posted.subject.as_deref(), Some("Plans"));
    assert_eq!(posted.importance, Importance::High);
    assert_eq!(
        posted.mentions[0]
            .mentioned
            .as_ref()
            .unwrap()
            .user
            .as_ref()
            .unwrap()
            .id,
        megan
    );
    let me = b.fx.users[0].to_string();
    assert_eq!(posted.from.as_ref().unwrap().principal().unwrap().1.id, me);
    let s = stored(&b, &posted.id, None);
    assert_eq!(s.content, "<p>Hello <at id=\"0\">Megan Bowen</at></p>");
    assert_eq!(s.subject.as_deref(), Some("Plans"));
    assert_eq!(s.importance, EmuImportance::High);
    assert_eq!(s.mentions.len(), 1);

    let reply = b
        .client
        .post_reply(
            &team,
            &channel,
            &posted.id,
            &NewMessage {
                html: "<p>A reply</p>".into(),
                ..NewMessage::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(reply.reply_to_id.as_deref(), Some(posted.id.as_str()));
    assert_eq!(
        stored(&b, &posted.id, Some(&reply.id)).content,
        "<p>A reply</p>"
    );

    // Edits: the root (mentions dropped with the new body) and the reply.
    b.client
        .edit_message(
            &team,
            &channel,
            None,
            &posted.id,
            &NewMessage {
                html: "<p>Hello everyone</p>".into(),
                subject: Some("New plans".into()),
                ..NewMessage::default()
            },
        )
        .await
        .unwrap();
    let s = stored(&b, &posted.id, None);
    assert_eq!(s.content, "<p>Hello everyone</p>");
    assert_eq!(s.subject.as_deref(), Some("New plans"));
    assert!(s.mentions.is_empty());
    assert!(s.last_edited.is_some());
    b.client
        .edit_message(
            &team,
            &channel,
            Some(&posted.id),
            &reply.id,
            &NewMessage {
                html: "<p>An edited reply</p>".into(),
                ..NewMessage::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        stored(&b, &posted.id, Some(&reply.id)).content,
        "<p>An edited reply</p>"
    );

    // Reactions on the reply (twice is fine: idempotent, as retries need).
    for _ in 0..2 {
        b.client
            .set_reaction(&team, &channel, Some(&posted.id), &reply.id, "👍")
            .await
            .unwrap();
    }
    let r = stored(&b, &posted.id, Some(&reply.id));
    assert_eq!(r.reactions.len(), 1);
    assert_eq!(r.reactions[0].reaction_type, "👍");
    assert_eq!(r.reactions[0].user_id, b.fx.users[0]);
    b.client
        .unset_reaction(&team, &channel, Some(&posted.id), &reply.id, "👍")
        .await
        .unwrap();
    assert!(stored(&b, &posted.id, Some(&reply.id)).reactions.is_empty());

    // Soft delete and undo, on the root; `Some(root)` equal to the id means the root too.
    b.client
        .soft_delete(&team, &channel, Some(&posted.id), &posted.id)
        .await
        .unwrap();
    assert!(stored(&b, &posted.id, None).deleted.is_some());
    b.client
        .undo_soft_delete(&team, &channel, None, &posted.id)
        .await
        .unwrap();
    assert!(stored(&b, &posted.id, None).deleted.is_none());
    // And a reply.
    b.client
        .soft_delete(&team, &channel, Some(&posted.id), &reply.id)
        .await
        .unwrap();
    assert!(stored(&b, &posted.id, Some(&reply.id)).deleted.is_some());

    // Someone else's message cannot be edited: 403, not retried.
    let theirs = {
        let tenant = b.emulator.state().tenant.read();
        let channel = tenant
            .team(b.fx.teams[0])
            .unwrap()
            .channel(&b.fx.general)
            .unwrap();
        channel
            .messages
            .roots
            .iter()
            .find(|m| matches!(&m.from, Some(perch_emulator::model::Sender::User { id, .. }) if *id == b.fx.users[1]))
            .unwrap()
            .id
            .clone()
    };
    let e = b
        .client
        .edit_message(
            &team,
            &channel,
            None,
            &theirs,
            &NewMessage {
                html: "x".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "forbidden", "{e}");
    assert_eq!(b.client.stats().retries, 0);
}

/// Adds one fault rule through the admin API.
async fn fault(b: &Bed, rule: serde_json::Value) {
    let status = reqwest::Client::new()
        .post(format!("{}/_emulator/faults/rules", b.base()))
        .json(&rule)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 201);
}

fn roots_containing(b: &Bed, marker: &str) -> usize {
    let tenant = b.emulator.state().tenant.read();
    let channel = tenant
        .team(b.fx.teams[0])
        .unwrap()
        .channel(&b.fx.general)
        .unwrap();
    channel
        .messages
        .roots
        .iter()
        .filter(|m| m.content.contains(marker))
        .count()
}

#[tokio::test]
async fn unclear_post_outcomes_are_reported_not_repeated() {
    let b = bed(Spec::default(), Limits::Off).await;
    let (team, channel) = (b.team(0), b.fx.general.clone());
    let body = |marker: &str| NewMessage {
        html: format!("<p>{marker}</p>"),
        ..NewMessage::default()
    };

    // The post commits, then the connection drops: unconfirmed, and not sent twice.
    fault(&b, serde_json::json!({"kind": "acceptThenDrop", "method": "POST", "path": "/messages", "count": 1})).await;
    let e = b
        .client
        .post_message(&team, &channel, &body("dropped-after-commit"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, perch_graph::GraphError::WriteUnconfirmed { .. }),
        "{e:?}"
    );
    assert!(!e.is_transient());
    assert_eq!(roots_containing(&b, "dropped-after-commit"), 1);

    // A 201 whose body is cut off: committed, unreadable, unconfirmed.
    fault(
        &b,
        serde_json::json!({"kind": "truncatedJson", "method": "POST", "count": 1}),
    )
    .await;
    let e = b
        .client
        .post_message(&team, &channel, &body("cut-off"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "write_unconfirmed");
    assert_eq!(roots_containing(&b, "cut-off"), 1);

    // 429 and 503 mean Graph did not take it: retried, posted once.
    fault(&b, serde_json::json!({"kind": "status", "status": 429, "retryAfter": 0.2, "method": "POST", "count": 1})).await;
    fault(
        &b,
        serde_json::json!({"kind": "status", "status": 503, "method": "POST", "count": 1}),
    )
    .await;
    let started = std::time::Instant::now();
    b.client
        .post_message(&team, &channel, &body("retried"))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(200),
        "the Retry-After was honoured"
    );
    assert_eq!(roots_containing(&b, "retried"), 1);

    // Idempotent writes are retried through resets and drops.
    let root = b
        .client
        .post_message(&team, &channel, &body("to-edit"))
        .await
        .unwrap();
    fault(
        &b,
        serde_json::json!({"kind": "reset", "method": "PATCH", "count": 1}),
    )
    .await;
    fault(
        &b,
        serde_json::json!({"kind": "acceptThenDrop", "method": "PATCH", "count": 1}),
    )
    .await;
    fault(
        &b,
        serde_json::json!({"kind": "malformedJson", "method": "PATCH", "count": 1}),
    )
    .await;
    b.client
        .edit_message(&team, &channel, None, &root.id, &body("edited"))
        .await
        .unwrap();
    assert_eq!(stored(&b, &root.id, None).content, "<p>edited</p>");
    assert_eq!(b.client.stats().retries, 2 + 3);
}

#[tokio::test]
async fn a_retry_after_beyond_the_budget_gives_up_and_keeps_the_pause() {
    let b = bed(Spec::default(), Limits::Off).await;
    let (team, channel) = (b.team(0), b.fx.general.clone());
    fault(&b, serde_json::json!({"kind": "status", "status": 429, "retryAfter": 100, "path": "/messages", "count": 1})).await;
    let started = std::time::Instant::now();
    let e = b
        .client
        .messages_page(
            &team,
            &channel,
            &perch_graph::PageRequest::First {
                top: 5,
                expand_replies: false,
            },
        )
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "gave up at once"
    );
    match e {
        perch_graph::GraphError::Throttled { retry_after } => {
            assert_eq!(retry_after, Some(std::time::Duration::from_secs(100)))
        }
        other => panic!("{other:?}"),
    }
    let until = b.client.throttled_until().expect("paused");
    let left = until.duration_since(std::time::SystemTime::now()).unwrap();
    assert!(left > std::time::Duration::from_secs(95), "{left:?}");
    assert_eq!(*b.client.throttle_watch().borrow(), Some(until));
    // Other scopes go on: `/me` is not in the paused channel or tenant-GET scopes.
    b.client.me().await.unwrap();
    let stats = b.client.stats();
    assert_eq!(stats.throttled, 1);
    let scope = format!("channel:{}/{}", team.to_ascii_lowercase(), channel);
    assert!(stats.scopes[&scope].paused_until.is_some());
    assert!(stats.scopes["tenant-get"].paused_until.is_some());
    assert!(stats.scopes["other"].paused_until.is_none());

    // A call into the paused scope waits (it does not go early) until the client shuts down.
    let client = b.client.clone();
    let (team2, channel2) = (team.clone(), channel.clone());
    let waiting = tokio::spawn(async move {
        let req = perch_graph::PageRequest::First {
            top: 5,
            expand_replies: false,
        };
        client.messages_page(&team2, &channel2, &req).await
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!waiting.is_finished());
    let sent = b.client.stats().requests;
    b.client.shutdown();
    let result = tokio::time::timeout(std::time::Duration::from_secs(2), waiting)
        .await
        .expect("cancelled promptly")
        .unwrap();
    assert!(
        matches!(result, Err(perch_graph::GraphError::Cancelled)),
        "{result:?}"
    );
    assert_eq!(b.client.stats().requests, sent, "nothing went out early");
    assert!(matches!(
        b.client.me().await,
        Err(perch_graph::GraphError::Cancelled)
    ));
}
