//! Delta: a first round with a date filter, through nextLinks, to a deltaLink; a message
//! posted through the client shows up in the next round (and a reply to it in the one after);
//! expired, unknown and garbled tokens are `DeltaExpired`, however the emulator says it.

use std::collections::BTreeSet;

use chrono::{Duration as Span, Utc};
use perch_emulator::graph::fixture::Spec;
use perch_emulator::graph::DeltaExpiry;
use perch_graph::{ChatMessage, DeltaNext, DeltaRequest, GraphClient, GraphError, NewMessage};

use crate::support::{bed, Bed, Limits};

/// Runs a round from `req` to its deltaLink: (roots seen, pages, deltaLink).
pub async fn round(
    client: &GraphClient,
    team: &str,
    channel: &str,
    req: DeltaRequest,
) -> Result<(Vec<ChatMessage>, usize, String), GraphError> {
    let mut req = req;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = client.delta_page(team, channel, &req).await?;
        pages += 1;
        seen.extend(page.messages);
        match page.next {
            DeltaNext::Next(next) => req = DeltaRequest::Link(next),
            DeltaNext::Done(delta) => return Ok((seen, pages, delta)),
        }
    }
}

/// Root ids of the general channel whose chain changed after `since`.
fn changed_since(b: &Bed, since: chrono::DateTime<Utc>) -> BTreeSet<String> {
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
        .filter(|m| m.chain_last_modified() > since)
        .map(|m| m.id.clone())
        .collect()
}

#[tokio::test]
async fn a_date_filtered_round_then_a_new_message_in_the_next() {
    let b = bed(Spec::default(), Limits::Off).await;
    let (team, channel) = (b.team(0), b.fx.general.clone());

    // Everything of the last 60 days, 7 roots a page.
    let since = Utc::now() - Span::days(60);
    let start = DeltaRequest::Start {
        since,
        top: 7,
        expand_replies: true,
    };
    let (seen, pages, delta) = round(&b.client, &team, &channel, start).await.unwrap();
    let ids: BTreeSet<String> = seen.iter().map(|m| m.id.clone()).collect();
    let expected = changed_since(&b, since);
    assert!(
        !expected.is_empty() && expected.len() < 45,
        "the filter matters: {}",
        expected.len()
    );
    assert_eq!(ids, expected);
    assert!(pages >= expected.len().div_ceil(7), "{pages} pages");
    assert!(seen.iter().all(|m| m.replies.len() == 3), "whole chains");
    assert!(delta.contains("$deltatoken="));

    // Nothing new: one empty page.
    let (seen, pages, delta) = round(&b.client, &team, &channel, DeltaRequest::Link(delta))
        .await
        .unwrap();
    assert_eq!((seen.len(), pages), (0, 1));

    // A message posted through the client comes back in the next round, and only it.
    let posted = b
        .client
        .post_message(
            &team,
            &channel,
            &NewMessage {
                html: "<p>Delta sees this</p>".into(),
                ..NewMessage::default()
            },
        )
        .await
        .unwrap();
    let (seen, _, delta) = round(&b.client, &team, &channel, DeltaRequest::Link(delta))
        .await
        .unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].id, posted.id);
    assert_eq!(seen[0].body.content, "<p>Delta sees this</p>");

    // A reply to it: the whole chain comes back.
    let reply = b
        .client
        .post_reply(
            &team,
            &channel,
            &posted.id,
            &NewMessage {
                html: "<p>And this</p>".into(),
                ..NewMessage::default()
            },
        )
        .await
        .unwrap();
    let (seen, _, _) = round(&b.client, &team, &channel, DeltaRequest::Link(delta))
        .await
        .unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].replies.len(), 1);
    assert_eq!(seen[0].replies[0].id, reply.id);

    // A start far in the past returns every root of the channel (all within 8 months).
    let (all, _, _) = round(
        &b.client,
        &team,
        &channel,
        DeltaRequest::Start {
            since: Utc::now() - Span::days(365),
            top: 50,
            expand_replies: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(all.len(), 46);
}

#[tokio::test]
async fn expired_unknown_and_garbled_tokens_are_delta_expired() {
    let b = bed(Spec::default(), Limits::Off).await;
    let (team, channel) = (b.team(0), b.fx.general.clone());
    let start = || DeltaRequest::Start {
        since: Utc::now() - Span::days(400),
        top: 5,
        expand_replies: false,
    };
    // A round's deltaLink and a nextLink from the middle of another round.
    let (_, _, delta) = round(&b.client, &team, &channel, start()).await.unwrap();
    let first = b
        .client
        .delta_page(&team, &channel, &start())
        .await
        .unwrap();
    let DeltaNext::Next(next) = first.next else {
        panic!("more than one page expected")
    };

    // 410 Gone.
    b.emulator
        .state()
        .graph
        .expire_delta_tokens(DeltaExpiry::Gone);
    let e = b
        .client
        .delta_page(&team, &channel, &DeltaRequest::Link(delta.clone()))
        .await
        .unwrap_err();
    assert!(matches!(e, GraphError::DeltaExpired), "{e:?}");
    assert_eq!(e.code(), "delta_expired");

    // 400 syncStateNotFound, switched through the admin API, on a nextLink.
    let (_, _, fresh) = round(&b.client, &team, &channel, start()).await.unwrap();
    let status = reqwest::Client::new()
        .post(format!("{}/_emulator/delta/expire", b.base()))
        .json(&serde_json::json!({"mode": "syncStateNotFound"}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);
    for link in [next, fresh] {
        let e = b
            .client
            .delta_page(&team, &channel, &DeltaRequest::Link(link))
            .await
            .unwrap_err();
        assert!(matches!(e, GraphError::DeltaExpired), "{e:?}");
    }

    // A garbled token on the right host.
    let garbled = format!(
        "{}/v1.0/teams/{team}/channels/{channel}/messages/delta?$deltatoken=garbage",
        b.base()
    );
    let e = b
        .client
        .delta_page(&team, &channel, &DeltaRequest::Link(garbled))
        .await
        .unwrap_err();
    assert!(matches!(e, GraphError::DeltaExpired), "{e:?}");

    // Starting again works.
    assert!(round(&b.client, &team, &channel, start()).await.is_ok());
    // DeltaExpired is permanent: no retries were spent on it.
    assert_eq!(b.client.stats().retries, 0);
}
