//! The outbox against the real emulator over loopback HTTP and a real SQLite file: every kind
//! of write with its local echo and the echo's replacement, writes on unsent messages,
//! refusals, an accepted-then-dropped post reconciled instead of duplicated, offline and
//! back, a revoked sign-in, expiry and resend, 429s with Retry-After honoured.

mod common;

use std::time::Duration;

use common::{names, other_user, World};
use perch_core::compose::{Block, Draft, Inline};
use perch_emulator::{EmulatorConfig, Profile, TenantSize};
use perch_engine::{EngineConfig, NewPost, TimelineDiff};
use perch_store::{OutboxKind, OutboxState};
use serde_json::json;

fn small() -> EmulatorConfig {
    EmulatorConfig {
        profile: Profile::Custom(TenantSize {
            users: 6,
            teams: 2,
            channels_per_team: 2,
            posts_per_channel: 8,
            replies_per_post: 1,
            history_days: 5,
        }),
        seed: 5,
        ..EmulatorConfig::default()
    }
}

fn fast() -> EngineConfig {
    EngineConfig {
        outbox_retry_min: Duration::from_millis(100),
        outbox_retry_max: Duration::from_millis(800),
        reconcile_settle: Duration::from_millis(0),
        ..EngineConfig::default()
    }
}

fn text(s: &str) -> Draft {
    common::text_draft(s)
}

fn post(s: &str) -> NewPost {
    NewPost {
        draft: text(s),
        subject: None,
        importance: None,
    }
}

/// A synced world and one of its channels.
async fn world(config: EngineConfig) -> (World, String) {
    let w = World::start(small(), config).await;
    let channels = w.follow_all().await;
    let channel = channels[0].clone();
    w.engine.sync_channel(&channel).await.expect("first sync");
    (w, channel)
}

/// The emulator's messages (roots and replies) in a channel whose content contains `needle`,
/// as (id, reply_to, deleted, reactions, content).
fn on_server(
    w: &World,
    channel_id: &str,
    needle: &str,
) -> Vec<(String, Option<String>, bool, usize, String)> {
    let tenant = w.emulator.state().tenant.read();
    let mut out = Vec::new();
    for team in &tenant.teams {
        for channel in team.channels.iter().filter(|c| c.id == channel_id) {
            for root in &channel.messages.roots {
                for m in std::iter::once(root).chain(root.replies.iter()) {
                    if m.content.contains(needle) {
                        out.push((
                            m.id.clone(),
                            m.reply_to_id.clone(),
                            m.deleted.is_some(),
                            m.reactions.len(),
                            m.content.clone(),
                        ));
                    }
                }
            }
        }
    }
    out
}

async fn next_diffs(timeline: &mut perch_engine::Timeline) -> Vec<TimelineDiff> {
    tokio::time::timeout(Duration::from_secs(10), timeline.next())
        .await
        .expect("a diff in time")
        .expect("engine running")
        .expect("diffs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_echoes_at_once_then_is_replaced_by_the_servers_message() {
    let (w, channel) = world(fast()).await;
    let (_, mut timeline) = w.engine.timeline(&channel, 50).await.unwrap();

    // A post: queued, echoed at once, nothing sent yet.
    let item = w
        .engine
        .post(
            &channel,
            NewPost {
                draft: text("Kite festival on Friday"),
                subject: Some("Kites".into()),
                importance: Some("high".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(item.state, OutboxState::Queued);
    let diffs = next_diffs(&mut timeline).await;
    let echo = match &diffs[..] {
        [TimelineDiff::Insert { item: echo }] => echo.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(echo.row.id, format!("local-{}", item.id));
    assert_eq!(echo.row.subject.as_deref(), Some("Kites"));
    assert_eq!(echo.row.importance, "high");
    assert_eq!(echo.pending[0].state, OutboxState::Queued);
    assert!(on_server(&w, &channel, "Kite festival").is_empty());

    // Sending: the item goes Sending, then the echo is replaced in one diff.
    let report = w.engine.drain_outbox().await.unwrap();
    assert_eq!((report.sent, report.waiting), (1, 0));
    let mut replaced = None;
    for _ in 0..4 {
        for d in next_diffs(&mut timeline).await {
            if let TimelineDiff::Replace { key, item } = d {
                replaced = Some((key, item));
            }
        }
        if replaced.is_some() {
            break;
        }
    }
    let (key, server) = replaced.expect("the echo was replaced");
    assert_eq!(key.id, echo.row.id);
    assert!(server.pending.is_empty());
    let found = on_server(&w, &channel, "Kite festival");
    assert_eq!(found.len(), 1, "exactly once: {found:?}");
    assert_eq!(server.row.id, found[0].0);
    let sent = w.engine.outbox_item(item.id).await.unwrap().unwrap();
    assert_eq!(sent.state, OutboxState::Sent);
    assert_eq!(sent.server_id.as_deref(), Some(found[0].0.as_str()));
    let root = found[0].0.clone();

    // A reply in its thread, echoed in the thread view, then replaced.
    let (_, mut thread) = w.engine.thread(&channel, &root).await.unwrap();
    let reply = w
        .engine
        .reply(&channel, &root, &text("I will bring a dragon kite"))
        .await
        .unwrap();
    let d = tokio::time::timeout(Duration::from_secs(5), thread.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        matches!(&d[..], [TimelineDiff::Insert { item }] if item.row.id == format!("local-{}", reply.id)),
        "{d:?}"
    );
    w.engine.drain_outbox().await.unwrap();
    let replies = on_server(&w, &channel, "dragon kite");
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].1.as_deref(), Some(root.as_str()));
    let (now, _) = w.engine.thread(&channel, &root).await.unwrap();
    assert_eq!(
        now.iter()
            .filter(|i| i.row.body_text.contains("dragon"))
            .count(),
        1,
        "one row, the server's"
    );
    assert!(now.iter().all(|i| !i.row.id.starts_with("local-")));

    // Edit, react, unreact, delete, undelete: each shows on the row at once, then on the server.
    let edit = w
        .engine
        .edit(&channel, &root, post("Kite festival moved to Saturday"))
        .await
        .unwrap();
    assert_eq!(edit.kind, OutboxKind::Edit);
    let (items, _) = w.engine.timeline(&channel, 50).await.unwrap();
    let shown = items.iter().find(|i| i.row.id == root).unwrap();
    assert!(shown.row.body_text.contains("Saturday"), "echoed edit");
    assert_eq!(shown.pending.len(), 1);
    w.engine.react(&channel, &root, "heart").await.unwrap();
    w.engine.drain_outbox().await.unwrap();
    let after = on_server(&w, &channel, "moved to Saturday");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].3, 1, "one reaction");
    let (items, _) = w.engine.timeline(&channel, 50).await.unwrap();
    let shown = items.iter().find(|i| i.row.id == root).unwrap();
    assert!(shown.pending.is_empty());
    assert!(
        shown.row.body_text.contains("Saturday"),
        "the cache holds the edit (read back), no flicker back"
    );
    assert_eq!(shown.row.reactions.len(), 1);

    w.engine.unreact(&channel, &root, "heart").await.unwrap();
    w.engine.delete(&channel, &root).await.unwrap();
    let (items, _) = w.engine.timeline(&channel, 50).await.unwrap();
    let shown = items.iter().find(|i| i.row.id == root).unwrap();
    assert!(shown.row.deleted_at.is_some(), "echoed delete");
    assert!(shown.row.reactions.is_empty(), "echoed unreact");
    w.engine.drain_outbox().await.unwrap();
    assert!(on_server(&w, &channel, "moved to Saturday")[0].2, "deleted");
    w.engine.undelete(&channel, &root).await.unwrap();
    w.engine.drain_outbox().await.unwrap();
    let last = &on_server(&w, &channel, "moved to Saturday")[0];
    assert!(!last.2, "undeleted");
    assert_eq!(last.3, 0);
    assert_eq!(w.violations().await, 0);
    let outbox = w.engine.outbox(None, true).await.unwrap();
    assert!(
        outbox.iter().all(|i| i.state == OutboxState::Sent),
        "{outbox:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_on_unsent_messages_wait_for_them_or_rewrite_them() {
    let (w, channel) = world(fast()).await;
    let first = w.engine.post(&channel, post("Draft one")).await.unwrap();
    let local = format!("local-{}", first.id);
    // Editing a queued post rewrites it in place.
    let edited = w
        .engine
        .edit(&channel, &local, post("Draft one, improved"))
        .await
        .unwrap();
    assert_eq!(edited.id, first.id);
    // A reaction and a reply on it wait for it.
    let react = w.engine.react(&channel, &local, "like").await.unwrap();
    assert_eq!(react.depends_on, Some(first.id));
    let reply = w
        .engine
        .reply(&channel, &local, &text("Replying before it is sent"))
        .await
        .unwrap();
    assert_eq!(reply.depends_on, Some(first.id));
    // The echo shows the edit, the reaction and the pending reply.
    let (items, _) = w.engine.timeline(&channel, 50).await.unwrap();
    let echo = items.iter().find(|i| i.row.id == local).unwrap();
    assert_eq!(echo.row.body_text, "Draft one, improved");
    assert_eq!(echo.row.reactions.len(), 1);
    assert_eq!(echo.reply_count, 1);
    let (replies, _) = w.engine.thread(&channel, &local).await.unwrap();
    assert_eq!(replies.len(), 1);

    // Deleting a second queued post cancels it and what depends on it.
    let second = w.engine.post(&channel, post("Never mind")).await.unwrap();
    let on_second = w
        .engine
        .react(&channel, &format!("local-{}", second.id), "like")
        .await
        .unwrap();
    let deleted = w
        .engine
        .delete(&channel, &format!("local-{}", second.id))
        .await
        .unwrap();
    assert_eq!(deleted.state, OutboxState::Cancelled);
    assert_eq!(
        w.engine
            .outbox_item(on_second.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        OutboxState::Cancelled
    );

    let report = w.engine.drain_outbox().await.unwrap();
    assert_eq!(report.waiting, 0, "{report:?}");
    let posts = on_server(&w, &channel, "Draft one");
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(posts[0].4.contains("improved"));
    assert_eq!(posts[0].3, 1, "the reaction followed its post");
    let replies = on_server(&w, &channel, "Replying before it is sent");
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].1.as_deref(), Some(posts[0].0.as_str()));
    assert!(on_server(&w, &channel, "Never mind").is_empty());
}

/// Gives the server's message `id` (a root post in `channel_id`) an inline image, as Teams
/// stores one: an `<img>` at Graph's canonical hosted-content URL and the content itself.
fn add_inline_image(w: &World, channel_id: &str, id: &str, hosted: &str) {
    let mut tenant = w.emulator.state().tenant.write();
    for team in &mut tenant.teams {
        let team_id = team.id;
        for channel in team.channels.iter_mut().filter(|c| c.id == channel_id) {
            let idx = channel.messages.root_index(id).expect("the post");
            let message = &mut channel.messages.roots[idx];
            message.content.push_str(&format!(
                "<p><img src=\"https://graph.microsoft.com/v1.0/teams/{team_id}/channels/{channel_id}/messages/{id}/hostedContents/{hosted}/$value\" alt=\"chart\"></p>"
            ));
            message
                .hosted_contents
                .push(perch_emulator::model::HostedContent {
                    id: hosted.to_owned(),
                    content_type: "image/png".to_owned(),
                    bytes: vec![0x89, b'P', b'N', b'G'],
                });
            message.last_modified = chrono::Utc::now();
            channel.messages.touch(idx);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_keeps_the_messages_own_inline_images_and_refuses_others() {
    let (w, channel) = world(fast()).await;
    w.engine
        .post(&channel, post("Quarterly chart below"))
        .await
        .unwrap();
    w.engine.drain_outbox().await.unwrap();
    let id = on_server(&w, &channel, "Quarterly chart")[0].0.clone();
    let hosted = "aWQ9eF8wLXdldS1kMS1pbWFnZSx0eXBlPTE=";
    add_inline_image(&w, &channel, &id, hosted);
    w.engine.sync_channel(&channel).await.unwrap();
    let (items, _) = w.engine.timeline(&channel, 50).await.unwrap();
    let cached = items.iter().find(|i| i.row.id == id).unwrap();
    assert_eq!(cached.row.hosted, vec![hosted.to_owned()]);

    let with_image = |hosted_id: &str| NewPost {
        draft: Draft {
            blocks: vec![
                Block::Paragraph {
                    inlines: vec![Inline::Text {
                        text: "Quarterly chart, corrected".into(),
                        bold: false,
                        italic: false,
                        strike: false,
                        code: false,
                    }],
                },
                Block::Paragraph {
                    inlines: vec![Inline::Image {
                        hosted_id: hosted_id.into(),
                        alt: "chart".into(),
                    }],
                },
            ],
        },
        subject: None,
        importance: None,
    };
    // An image the message does not have, and any image in a new post, are refused.
    for refused in [
        w.engine
            .edit(&channel, &id, with_image("c29tZW9uZSBlbHNl"))
            .await,
        w.engine.post(&channel, with_image(hosted)).await,
    ] {
        let error = refused.unwrap_err().to_string();
        assert!(error.contains("images can only be kept"), "{error}");
    }

    // Its own image stays: the body refers to it at Graph's address, and it is still served.
    w.engine
        .edit(&channel, &id, with_image(hosted))
        .await
        .unwrap();
    let (items, _) = w.engine.timeline(&channel, 50).await.unwrap();
    let echo = items.iter().find(|i| i.row.id == id).unwrap();
    assert!(echo.row.body_text.contains("corrected"), "echoed");
    // (The sanitiser keeps an <img> only for a recognised hosted content.)
    assert!(
        echo.row.body_html.contains("<img"),
        "the echo shows the image: {}",
        echo.row.body_html
    );
    w.engine.drain_outbox().await.unwrap();
    let server = on_server(&w, &channel, "Quarterly chart, corrected");
    assert_eq!(server.len(), 1, "{server:?}");
    let content = &server[0].4;
    assert!(
        content.contains("<img src=\"https://graph.microsoft.com/v1.0/teams/")
            && content.contains(&format!("/messages/{id}/hostedContents/{hosted}/$value\"")),
        "{content}"
    );
    w.engine.sync_channel(&channel).await.unwrap();
    let (items, _) = w.engine.timeline(&channel, 50).await.unwrap();
    let after = items.iter().find(|i| i.row.id == id).unwrap();
    assert_eq!(after.row.hosted, vec![hosted.to_owned()], "read back");
    assert!(after.pending.is_empty());
    assert_eq!(w.violations().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_writes_are_refused_before_they_are_queued() {
    let (w, channel) = world(fast()).await;
    let code = |r: Result<perch_store::OutboxItem, perch_engine::EngineError>| {
        r.expect_err("refused").code()
    };
    assert_eq!(
        code(w.engine.post(&channel, post("   ")).await),
        "empty_message"
    );
    assert_eq!(
        code(w.engine.post(&channel, post(&"x".repeat(29 * 1024))).await),
        "message_too_large"
    );
    assert_eq!(
        code(w.engine.post("19:nope@thread.tacv2", post("hi")).await),
        "unknown_channel"
    );
    let subject = NewPost {
        subject: Some("a\nb".into()),
        ..post("hi")
    };
    assert_eq!(code(w.engine.post(&channel, subject).await), "bad_subject");
    let importance = NewPost {
        importance: Some("whenever".into()),
        ..post("hi")
    };
    assert_eq!(
        code(w.engine.post(&channel, importance).await),
        "invalid_value"
    );
    assert_eq!(
        code(w.engine.react(&channel, "nope", "like").await),
        "unknown_message"
    );
    // A colleague's message: no edit, no delete (not an owner here).
    let (items, _) = w.engine.timeline(&channel, 50).await.unwrap();
    let theirs = items
        .iter()
        .find(|i| i.row.from_id.as_deref() != Some(w.account.user_id.to_string().as_str()))
        .expect("a colleague's post");
    assert_eq!(
        code(
            w.engine
                .edit(&channel, &theirs.row.id, post("mine now"))
                .await
        ),
        "not_your_message"
    );
    assert_eq!(
        code(w.engine.react(&channel, &theirs.row.id, "two words").await),
        "invalid_value"
    );
    // A mention of someone who is not a member of the channel.
    let stranger = Draft {
        blocks: vec![Block::Paragraph {
            inlines: vec![Inline::Mention {
                user_id: "00000000-0000-0000-0000-000000000bad".into(),
                name: "Nobody".into(),
            }],
        }],
    };
    let mention = NewPost {
        draft: stranger,
        subject: None,
        importance: None,
    };
    assert_eq!(
        code(w.engine.post(&channel, mention).await),
        "unknown_mention"
    );
    assert!(w.engine.outbox(None, true).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_of_a_member_goes_out_as_at_and_mentions() {
    let (w, channel) = world(fast()).await;
    let members = w.engine.members(&channel, false).await.unwrap();
    let colleague = members
        .iter()
        .find(|m| m.user_id != w.account.user_id.to_string())
        .expect("a colleague");
    let draft = Draft {
        blocks: vec![Block::Paragraph {
            inlines: vec![
                Inline::Text {
                    text: "Ping ".into(),
                    bold: false,
                    italic: false,
                    strike: false,
                    code: false,
                },
                Inline::Mention {
                    user_id: colleague.user_id.clone(),
                    name: colleague.display_name.clone(),
                },
            ],
        }],
    };
    w.engine
        .post(
            &channel,
            NewPost {
                draft,
                subject: None,
                importance: None,
            },
        )
        .await
        .unwrap();
    w.engine.drain_outbox().await.unwrap();
    let found = on_server(&w, &channel, "Ping ");
    assert_eq!(found.len(), 1);
    assert!(found[0].4.contains("<at id=\"0\">"), "{}", found[0].4);
    let tenant = w.emulator.state().tenant.read();
    let m = tenant
        .teams
        .iter()
        .flat_map(|t| t.channels.iter())
        .flat_map(|c| c.messages.roots.iter())
        .find(|m| m.id == found[0].0)
        .unwrap();
    assert_eq!(m.mentions.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_then_dropped_post_is_found_not_sent_twice() {
    let (w, channel) = world(fast()).await;
    w.admin(
        reqwest::Method::PUT,
        "/faults",
        Some(json!({"rules": [
            {"kind": "acceptThenDrop", "method": "POST", "path": "/messages", "count": 1}
        ]})),
    )
    .await;
    let item = w
        .engine
        .post(&channel, post("Exactly once, please"))
        .await
        .unwrap();
    w.engine.drain_outbox().await.unwrap();
    let after = w.engine.outbox_item(item.id).await.unwrap().unwrap();
    assert_eq!(after.state, OutboxState::Failed);
    assert_eq!(after.last_error_code.as_deref(), Some("write_unconfirmed"));
    assert_eq!(
        on_server(&w, &channel, "Exactly once").len(),
        1,
        "it did land"
    );
    // The next pass looks before it sends: adopts the message.
    w.engine.drain_outbox().await.unwrap();
    let found = on_server(&w, &channel, "Exactly once");
    assert_eq!(found.len(), 1, "not sent twice: {found:?}");
    let done = w.engine.outbox_item(item.id).await.unwrap().unwrap();
    assert_eq!(done.state, OutboxState::Sent);
    assert_eq!(done.server_id.as_deref(), Some(found[0].0.as_str()));
    let (items, _) = w.engine.timeline(&channel, 50).await.unwrap();
    assert_eq!(
        items
            .iter()
            .filter(|i| i.row.body_text.contains("Exactly once"))
            .count(),
        1,
        "one row in the timeline"
    );

    // The same with a reply, and this time a delta round brings it before the sender looks.
    w.admin(
        reqwest::Method::PUT,
        "/faults",
        Some(json!({"rules": [
            {"kind": "acceptThenDrop", "method": "POST", "path": "/replies", "count": 1}
        ]})),
    )
    .await;
    let root = found[0].0.clone();
    let reply = w
        .engine
        .reply(&channel, &root, &text("Once for replies too"))
        .await
        .unwrap();
    w.engine.drain_outbox().await.unwrap();
    w.engine.refresh_thread(&channel, &root).await.unwrap();
    let done = w.engine.outbox_item(reply.id).await.unwrap().unwrap();
    assert_eq!(done.state, OutboxState::Sent, "adopted by the sync");
    w.engine.drain_outbox().await.unwrap();
    assert_eq!(on_server(&w, &channel, "Once for replies").len(), 1);
    let (replies, _) = w.engine.thread(&channel, &root).await.unwrap();
    assert_eq!(
        replies
            .iter()
            .filter(|i| i.row.body_text.contains("Once for replies"))
            .count(),
        1
    );

    // A post that really did not land (reset before the handler) is sent again.
    w.admin(
        reqwest::Method::PUT,
        "/faults",
        Some(json!({"rules": [
            {"kind": "reset", "method": "POST", "path": "/messages", "count": 1}
        ]})),
    )
    .await;
    w.engine
        .post(&channel, post("Lost on the way"))
        .await
        .unwrap();
    for _ in 0..3 {
        w.engine.drain_outbox().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(on_server(&w, &channel, "Lost on the way").len(), 1);
    assert_eq!(w.violations().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_writes_wait_then_leave_once_each_in_order() {
    let (w, channel) = world(fast()).await;
    let mut status = w.engine.status();
    w.engine.start();
    w.admin(reqwest::Method::POST, "/refuse", None).await;
    let a = w.engine.post(&channel, post("Offline one")).await.unwrap();
    let b = w.engine.post(&channel, post("Offline two")).await.unwrap();
    // The sender tries, fails for lack of network, and says so.
    let failed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let item = w.engine.outbox_item(a.id).await.unwrap().unwrap();
            if item.state == OutboxState::Failed {
                return item;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("a failed attempt");
    // A dropped connection: the post may or may not have left, so it is unconfirmed.
    assert!(
        matches!(
            failed.last_error_code.as_deref(),
            Some("network" | "write_unconfirmed")
        ),
        "{failed:?}"
    );
    assert!(failed.next_attempt_at.is_some());
    let st = status.borrow_and_update().clone();
    assert!(st.outbox.queued + st.outbox.failed >= 2, "{st:?}");
    assert_eq!(
        w.engine.outbox_item(b.id).await.unwrap().unwrap().attempts,
        0,
        "the second waits behind the first"
    );
    w.admin(reqwest::Method::POST, "/resume", None).await;
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let pending = w.engine.outbox(None, false).await.unwrap();
            if pending.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("drained after the network came back");
    let one = on_server(&w, &channel, "Offline one");
    let two = on_server(&w, &channel, "Offline two");
    assert_eq!((one.len(), two.len()), (1, 1));
    let tenant_order = {
        let tenant = w.emulator.state().tenant.read();
        let roots: Vec<String> = tenant
            .teams
            .iter()
            .flat_map(|t| t.channels.iter())
            .filter(|c| c.id == channel)
            .flat_map(|c| c.messages.roots.iter().map(|m| m.id.clone()))
            .collect();
        (
            roots.iter().position(|id| *id == one[0].0),
            roots.iter().position(|id| *id == two[0].0),
        )
    };
    assert!(
        tenant_order.0 < tenant_order.1,
        "in order: {tenant_order:?}"
    );
    w.engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_sign_in_pauses_the_queue_until_signed_in_again() {
    let (w, channel) = world(fast()).await;
    w.engine.start();
    w.tokens
        .revoked
        .store(true, std::sync::atomic::Ordering::SeqCst);
    // Any token the client still holds is refused by the emulator too.
    let (_, _) = names(&w, &channel).await;
    w.admin(reqwest::Method::POST, "/revoke", None).await;
    let item = w
        .engine
        .post(&channel, post("After sign-in"))
        .await
        .unwrap();
    let mut status = w.engine.status();
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if matches!(
                status.borrow_and_update().sync,
                perch_engine::SyncStatus::NeedsSignIn { .. }
            ) {
                return;
            }
            status.changed().await.unwrap();
        }
    })
    .await
    .expect("needs sign-in");
    let waiting = w.engine.outbox_item(item.id).await.unwrap().unwrap();
    assert_ne!(waiting.state, OutboxState::Sent);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let attempts = w
        .engine
        .outbox_item(item.id)
        .await
        .unwrap()
        .unwrap()
        .attempts;
    assert!(attempts <= 1, "paused, not retrying: {attempts}");
    w.tokens
        .revoked
        .store(false, std::sync::atomic::Ordering::SeqCst);
    w.engine.signed_in_again();
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let item = w.engine.outbox_item(item.id).await.unwrap().unwrap();
            if item.state == OutboxState::Sent {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("sent after signing in again");
    assert_eq!(on_server(&w, &channel, "After sign-in").len(), 1);
    w.engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsent_items_expire_then_resend_or_discard() {
    let config = EngineConfig {
        outbox_expiry: chrono::Duration::milliseconds(1500),
        ..fast()
    };
    let (w, channel) = world(config).await;
    let all = w.follow_all().await;
    w.admin(reqwest::Method::POST, "/refuse", None).await;
    w.engine.start();
    let keep = w.engine.post(&channel, post("Resend me")).await.unwrap();
    let drop = w.engine.post(&all[1], post("Discard me")).await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let a = w.engine.outbox_item(keep.id).await.unwrap().unwrap();
            let b = w.engine.outbox_item(drop.id).await.unwrap().unwrap();
            if a.state == OutboxState::Expired && b.state == OutboxState::Expired {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("both expired");
    assert_eq!(w.engine.status().borrow().outbox.expired, 2);
    w.admin(reqwest::Method::POST, "/resume", None).await;
    assert!(w.engine.cancel(drop.id).await.unwrap());
    assert!(w.engine.retry(keep.id).await.unwrap());
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let a = w.engine.outbox_item(keep.id).await.unwrap().unwrap();
            if a.state == OutboxState::Sent {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("resent");
    assert_eq!(on_server(&w, &channel, "Resend me").len(), 1);
    assert_eq!(on_server(&w, &all[1], "Discard me").len(), 0);
    w.engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_writes_wait_for_retry_after_and_wedge_on_permanent_errors() {
    let (w, channel) = world(fast()).await;
    w.admin(
        reqwest::Method::PUT,
        "/faults",
        Some(json!({"rules": [
            {"kind": "status", "status": 429, "retryAfter": 1, "method": "POST", "path": "/messages", "count": 3},
            {"kind": "status", "status": 403, "method": "POST", "path": "/setReaction", "count": 1}
        ]})),
    )
    .await;
    w.engine.start();
    let item = w.engine.post(&channel, post("Patience")).await.unwrap();
    let (items, _) = w.engine.timeline(&channel, 50).await.unwrap();
    let theirs = items
        .iter()
        .find(|i| !i.row.id.starts_with("local-"))
        .unwrap()
        .row
        .id
        .clone();
    let react = w.engine.react(&channel, &theirs, "like").await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let a = w.engine.outbox_item(item.id).await.unwrap().unwrap();
            let b = w.engine.outbox_item(react.id).await.unwrap().unwrap();
            if a.state == OutboxState::Sent && b.state == OutboxState::Wedged {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("sent after the 429s; the reaction wedged");
    let wedged = w.engine.outbox_item(react.id).await.unwrap().unwrap();
    assert_eq!(wedged.last_error_code.as_deref(), Some("forbidden"));
    assert_eq!(on_server(&w, &channel, "Patience").len(), 1);
    assert_eq!(w.violations().await, 0, "Retry-After honoured");
    // The person resends the wedged reaction; it goes through now.
    assert!(w.engine.retry(react.id).await.unwrap());
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let b = w.engine.outbox_item(react.id).await.unwrap().unwrap();
            if b.state == OutboxState::Sent {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("resent");
    let _ = other_user(&w, &channel);
    w.engine.shutdown();
}

/// Undo straight after a delete, while the delete's request is still on its way (the server
/// holds it): the message shows undeleted at once, and ends undeleted on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_while_the_delete_is_in_flight_shows_at_once() {
    let (w, channel) = world(fast()).await;
    w.engine.post(&channel, post("Undo me soon")).await.unwrap();
    w.engine.drain_outbox().await.unwrap();
    let root = on_server(&w, &channel, "Undo me soon")[0].0.clone();
    w.engine.delete(&channel, &root).await.unwrap();
    w.admin(reqwest::Method::POST, "/pause", None).await;
    let engine = w.engine.clone();
    let sending = tokio::spawn(async move { engine.drain_outbox().await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    w.engine.undelete(&channel, &root).await.unwrap();
    let (items, _) = w.engine.timeline(&channel, 50).await.unwrap();
    let shown = items.iter().find(|i| i.row.id == root).unwrap();
    assert!(
        shown.row.deleted_at.is_none(),
        "Undo shows at once: {:?}",
        shown.pending
    );
    w.admin(reqwest::Method::POST, "/resume", None).await;
    sending.await.unwrap().unwrap();
    w.engine.drain_outbox().await.unwrap();
    assert!(
        !on_server(&w, &channel, "Undo me soon")[0].2,
        "undeleted on the server"
    );
    let (items, _) = w.engine.timeline(&channel, 50).await.unwrap();
    let shown = items.iter().find(|i| i.row.id == root).unwrap();
    assert!(shown.row.deleted_at.is_none() && shown.pending.is_empty());
}
