//! About a fifth of all requests fail (429, 503, 502, resets, truncated and malformed JSON, a
//! proxy's HTML page, accept-then-drop on writes) with latency on top, under Microsoft's real
//! limits: a long sequence of reads from four tasks and a run of writes all succeed in the
//! end, and the emulator counts no Retry-After violation.

use std::time::{Duration, Instant};

use chrono::{Duration as Span, Utc};
use perch_emulator::graph::fixture::Spec;
use perch_graph::{
    Budgets, DeltaNext, DeltaRequest, GraphClient, GraphError, NewMessage, PageRequest, RetryPolicy,
};
use serde_json::json;

use crate::support::{bed_with, Bed, Limits};

const FAULTS: &str = r#"{
  "rules": [
    {"kind": "status", "status": 429, "retryAfter": 0.3, "probability": 0.05},
    {"kind": "status", "status": 503, "probability": 0.04},
    {"kind": "status", "status": 502, "probability": 0.02},
    {"kind": "reset", "probability": 0.05},
    {"kind": "truncatedJson", "probability": 0.04},
    {"kind": "malformedJson", "probability": 0.03},
    {"kind": "htmlError", "probability": 0.02},
    {"kind": "acceptThenDrop", "probability": 0.06}
  ],
  "latency": [{"ms": 15, "jitterMs": 30}]
}"#;

/// Posts a root message for sure, as the outbox will: an unconfirmed post is looked up
/// (here in the emulator's state; the outbox will use delta) before it is sent again.
async fn post_surely(
    b: &Bed,
    client: &GraphClient,
    team: &str,
    channel: &str,
    root: Option<&str>,
    marker: &str,
) -> (String, u32) {
    let body = NewMessage {
        html: format!("<p>{marker}</p>"),
        ..NewMessage::default()
    };
    let mut unconfirmed = 0;
    loop {
        let result = match root {
            None => client.post_message(team, channel, &body).await,
            Some(r) => client.post_reply(team, channel, r, &body).await,
        };
        match result {
            Ok(m) => return (m.id, unconfirmed),
            Err(GraphError::WriteUnconfirmed { .. }) => {
                unconfirmed += 1;
                if let Some(id) = find(b, channel, root, marker) {
                    return (id, unconfirmed);
                }
            }
            Err(e) if e.is_transient() => {}
            Err(e) => panic!("post failed for good: {e}"),
        }
    }
}

fn find(b: &Bed, channel: &str, root: Option<&str>, marker: &str) -> Option<String> {
    let tenant = b.emulator.state().tenant.read();
    let team = tenant.teams.iter().find(|t| t.channel(channel).is_some())?;
    let roots = &team.channel(channel)?.messages.roots;
    let list: Vec<&perch_emulator::model::Message> = match root {
        None => roots.iter().collect(),
        Some(r) => roots.iter().find(|m| m.id == r)?.replies.iter().collect(),
    };
    list.iter()
        .find(|m| m.content.contains(marker))
        .map(|m| m.id.clone())
}

#[tokio::test]
async fn a_fifth_of_requests_failing_still_gets_everything_done_politely() {
    crate::support::logs();
    let spec = Spec {
        teams: 2,
        channels_per_team: 3,
        posts_per_channel: 30,
        replies_per_post: 2,
        ..Spec::default()
    };
    let budgets = Budgets {
        tenant_get_rps: 8.0,
        ..Budgets::default()
    };
    let retry = RetryPolicy {
        max_attempts: 10,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_secs(1),
        max_total: Duration::from_secs(60),
    };
    let b = bed_with(spec, Limits::Scaled(1.0), budgets, retry).await;
    let status = reqwest::Client::new()
        .put(format!("{}/_emulator/faults", b.base()))
        .header("content-type", "application/json")
        .body(FAULTS)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);

    // Team 1's last channel takes the writes; the other seven the reads.
    let mut read_channels = Vec::new();
    for t in 0..2 {
        for c in b.channels_of_team(t) {
            read_channels.push((b.team(t), c));
        }
    }
    let (write_team, write_channel) = read_channels.pop().unwrap();
    assert_eq!(read_channels.len(), 7);

    let started = Instant::now();
    let mut readers = Vec::new();
    // One task per channel: a delta round, then two history pages.
    for (team, channel) in read_channels.clone() {
        let client = b.client.clone();
        readers.push(tokio::spawn(async move {
            let mut reads = 0;
            let mut req = DeltaRequest::Start {
                since: Utc::now() - Span::days(40),
                top: 5,
                expand_replies: true,
            };
            loop {
                let page = client
                    .delta_page(&team, &channel, &req)
                    .await
                    .expect("delta page");
                reads += 1;
                match page.next {
                    DeltaNext::Next(next) => req = DeltaRequest::Link(next),
                    DeltaNext::Done(_) => break,
                }
            }
            // Three pages of history (the last has no nextLink), and one thread's replies.
            let mut req = PageRequest::First {
                top: 10,
                expand_replies: true,
            };
            let mut root = None;
            for page_no in 0..3 {
                let page = client
                    .messages_page(&team, &channel, &req)
                    .await
                    .expect("history page");
                reads += 1;
                root = root.or_else(|| page.value.first().map(|m| m.id.clone()));
                match page.next_link {
                    Some(next) => req = PageRequest::Link(next),
                    None => assert_eq!(page_no, 2, "three pages of ten"),
                }
            }
            let root = root.expect("a root post");
            let replies = client
                .replies_page(
                    &team,
                    &channel,
                    &root,
                    &PageRequest::First {
                        top: 50,
                        expand_replies: false,
                    },
                )
                .await
                .expect("replies");
            assert_eq!(replies.value.len(), 2);
            reads + 1
        }));
    }
    // And the directory, from three more tasks.
    for task in 0..3usize {
        let client = b.client.clone();
        let team = b.team(task % 2);
        let channel = read_channels[0].1.clone();
        let team0 = b.team(0);
        readers.push(tokio::spawn(async move {
            client.me().await.expect("me");
            client.joined_teams().await.expect("joined teams");
            client.channels(&team).await.expect("channels");
            client
                .channel_members(&team0, &channel)
                .await
                .expect("members");
            4
        }));
    }

    // Writes: posts and replies (made sure of), then the idempotent ones.
    let writer = {
        let client = b.client.clone();
        let write_channel = write_channel.clone();
        async move {
            let mut writes = 0;
            let mut unconfirmed = 0;
            let (root, u) = post_surely(
                &b,
                &client,
                &write_team,
                &write_channel,
                None,
                "fault-post-1",
            )
            .await;
            unconfirmed += u;
            let (reply, u) = post_surely(
                &b,
                &client,
                &write_team,
                &write_channel,
                Some(&root),
                "fault-reply",
            )
            .await;
            unconfirmed += u;
            writes += 2;
            let edit = NewMessage {
                html: "<p>fault-post-1, edited</p>".into(),
                ..NewMessage::default()
            };
            client
                .edit_message(&write_team, &write_channel, None, &root, &edit)
                .await
                .expect("edit");
            client
                .set_reaction(&write_team, &write_channel, Some(&root), &reply, "like")
                .await
                .expect("react");
            client
                .unset_reaction(&write_team, &write_channel, None, &root, "heart")
                .await
                .expect("unreact");
            client
                .soft_delete(&write_team, &write_channel, Some(&root), &reply)
                .await
                .expect("delete");
            client
                .undo_soft_delete(&write_team, &write_channel, Some(&root), &reply)
                .await
                .expect("undelete");
            writes += 5;
            (b, writes, unconfirmed, root, reply)
        }
    };
    let (b, writes, unconfirmed, root, reply) = writer.await;
    let mut reads = 0;
    for r in readers {
        reads += r.await.unwrap();
    }
    let elapsed = started.elapsed();

    // Every write is in the emulator, exactly once.
    {
        let tenant = b.emulator.state().tenant.read();
        let channel = tenant
            .team(b.fx.teams[1])
            .unwrap()
            .channel(&write_channel)
            .unwrap();
        let roots = &channel.messages.roots;
        let count = |marker: &str| roots.iter().filter(|m| m.content.contains(marker)).count();
        assert_eq!(count("fault-post-1"), 1);
        let r = roots.iter().find(|m| m.id == root).unwrap();
        assert_eq!(r.content, "<p>fault-post-1, edited</p>");
        assert!(r.reactions.is_empty());
        assert_eq!(
            r.replies
                .iter()
                .filter(|m| m.content.contains("fault-reply"))
                .count(),
            1
        );
        let rep = r.replies.iter().find(|m| m.id == reply).unwrap();
        assert_eq!(rep.reactions.len(), 1);
        assert!(rep.deleted.is_none());
    }

    let stats = b.admin_stats().await;
    let faults: u64 = stats["faults"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "latency")
        .map(|(_, v)| v.as_u64().unwrap())
        .sum();
    let client = b.client.stats();
    println!(
        "faults: {reads} reads, {writes} writes in {elapsed:?}; {faults} faults injected {}, \
         {} client retries, {unconfirmed} unconfirmed posts, {} throttle 429s, violations {}",
        stats["faults"], client.retries, stats["graph"]["throttled"], stats["violations"]["total"]
    );
    assert!(reads >= 40, "{reads} reads");
    assert!(faults >= 6, "the faults really fired: {faults}");
    assert!(client.retries >= 5);
    assert_eq!(
        stats["violations"]["total"],
        json!(0),
        "{}",
        stats["violations"]
    );
    assert!(
        stats["graph"]["throttled"].as_u64().unwrap() <= 2,
        "the real limits were (nearly) never hit: {}",
        stats["graph"]["throttled"]
    );
}
