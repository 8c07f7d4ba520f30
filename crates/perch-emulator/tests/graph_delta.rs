//! Delta: rounds that follow nextLinks to a deltaLink, the client-side replica compared with
//! the emulator's state exactly after concurrent writes, the date filter, the 8-month window
//! and its empty pages, refused options, and expired or garbled tokens.

mod graph_common;

use std::collections::BTreeMap;

use chrono::{SecondsFormat, Utc};
use graph_common::{error_code, start, Bed};
use perch_emulator::graph::fixture::Spec;
use perch_emulator::graph::DeltaExpiry;
use perch_emulator::ops::{self, MessagePatch, NewMessage};
use serde_json::Value;

/// root id → (lastModifiedDateTime, deletedDateTime, reply id → lastModifiedDateTime).
type Replica = BTreeMap<String, (String, Option<String>, BTreeMap<String, String>)>;

fn upsert(replica: &mut Replica, item: &Value) {
    let replies = item["replies"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    (
                        r["id"].as_str().unwrap().to_owned(),
                        r["lastModifiedDateTime"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    replica.insert(
        item["id"].as_str().unwrap().to_owned(),
        (
            item["lastModifiedDateTime"].as_str().unwrap().to_owned(),
            item["deletedDateTime"].as_str().map(str::to_owned),
            replies,
        ),
    );
}

/// Runs one round from `url`; returns the deltaLink, the pages seen and the empty pages.
async fn round(bed: &Bed, url: &str, replica: &mut Replica) -> (String, usize, usize) {
    let mut url = url.to_owned();
    let mut pages = 0;
    let mut empty = 0;
    loop {
        let page = bed.get(&url).await;
        assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.bytes));
        pages += 1;
        let value = page.json["value"].as_array().unwrap();
        if value.is_empty() {
            empty += 1;
        }
        for item in value {
            upsert(replica, item);
        }
        match (
            page.json["@odata.nextLink"].as_str(),
            page.json["@odata.deltaLink"].as_str(),
        ) {
            (Some(next), None) => url = next.to_owned(),
            (None, Some(delta)) => return (delta.to_owned(), pages, empty),
            other => panic!("a page needs exactly one of nextLink/deltaLink: {other:?}"),
        }
    }
}

fn truth(bed: &Bed) -> Replica {
    let tenant = bed.emulator.state().tenant.read();
    let team = tenant.team(bed.team()).unwrap();
    let channel = team.channel(&bed.fx.general).unwrap();
    let d = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    channel
        .messages
        .roots
        .iter()
        .map(|m| {
            (
                m.id.clone(),
                (
                    d(m.last_modified),
                    m.deleted.map(d),
                    m.replies
                        .iter()
                        .map(|r| (r.id.clone(), d(r.last_modified)))
                        .collect(),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn first_round_returns_every_chain_and_later_rounds_only_changes() {
    let bed = start(Spec::default()).await;
    let mut replica = Replica::new();
    let first = format!("{}/delta?$top=7&$expand=replies", bed.general_messages());
    let (delta, pages, _) = round(&bed, &first, &mut replica).await;
    assert!(pages >= 7);
    assert_eq!(replica, truth(&bed));

    // Nothing changed: one page, empty, with a deltaLink.
    let mut changes = Replica::new();
    let (delta, pages, empty) = round(&bed, &delta, &mut changes).await;
    assert_eq!((pages, empty, changes.len()), (1, 1, 0));

    // One reaction: that chain comes back, whole.
    let root = replica.keys().next().unwrap().clone();
    let react = bed
        .post(
            &format!("{}/{root}/setReaction", bed.general_messages()),
            serde_json::json!({"reactionType": "👍"}),
        )
        .await;
    assert_eq!(react.status, 204);
    let (_, _, _) = round(&bed, &delta, &mut changes).await;
    assert_eq!(changes.keys().collect::<Vec<_>>(), vec![&root]);
    assert_eq!(changes[&root].2.len(), 3, "whole chain");

    // The function form works and echoes itself.
    let f = bed
        .get(&format!(
            "{}/microsoft.graph.delta()?$top=50",
            bed.general_messages()
        ))
        .await;
    assert_eq!(f.status, 200);
    assert!(f.json["@odata.deltaLink"]
        .as_str()
        .unwrap()
        .contains("/messages/microsoft.graph.delta()?$deltatoken="));
    assert!(
        f.json["value"][0].get("replies").is_none(),
        "no expansion asked"
    );
}

#[tokio::test]
async fn replica_is_exact_under_concurrent_writes() {
    let bed = start(Spec {
        posts_per_channel: 60,
        ..Spec::default()
    })
    .await;
    let state = bed.emulator.state().clone();
    let team = bed.team();
    let channel = bed.fx.general.clone();
    let users = bed.fx.users.clone();
    let writer = tokio::spawn(async move {
        let mut mine: Vec<String> = Vec::new();
        for i in 0..300usize {
            {
                let mut tenant = state.tenant.write();
                let roots: Vec<String> = tenant
                    .team(team)
                    .unwrap()
                    .channel(&channel)
                    .unwrap()
                    .messages
                    .roots
                    .iter()
                    .map(|m| m.id.clone())
                    .collect();
                let pick = roots[(i * 7919) % roots.len()].clone();
                let now = Utc::now();
                let result = match i % 6 {
                    0 => ops::post_message(
                        &mut tenant,
                        team,
                        &channel,
                        users[1],
                        NewMessage::html(format!("<p>w{i}</p>")),
                        now,
                    )
                    .map(|m| mine.push(m.id)),
                    1 => ops::post_reply(
                        &mut tenant,
                        team,
                        &channel,
                        &pick,
                        users[1],
                        NewMessage::html("<p>r</p>"),
                        now,
                    )
                    .map(drop),
                    2 => ops::set_reaction(
                        &mut tenant,
                        team,
                        &channel,
                        &pick,
                        None,
                        users[2],
                        "heart",
                        now,
                    )
                    .map(drop),
                    3 => ops::unset_reaction(
                        &mut tenant,
                        team,
                        &channel,
                        &pick,
                        None,
                        users[2],
                        "heart",
                        now,
                    )
                    .map(drop),
                    4 if !mine.is_empty() => {
                        let id = mine[i % mine.len()].clone();
                        let patch = MessagePatch {
                            content: Some(format!("<p>edited {i}</p>")),
                            ..MessagePatch::default()
                        };
                        ops::edit(&mut tenant, team, &channel, &id, None, users[1], patch, now)
                            .map(drop)
                    }
                    _ if !mine.is_empty() => {
                        let id = mine[(i / 2) % mine.len()].clone();
                        ops::soft_delete(&mut tenant, team, &channel, &id, None, users[1], now)
                            .map(drop)
                    }
                    _ => Ok(()),
                };
                // Replies to deleted roots are refused; everything else must succeed.
                if let Err(e) = result {
                    assert_eq!(e.status, 400, "{}", e.message);
                }
            }
            tokio::time::sleep(std::time::Duration::from_micros(300)).await;
        }
    });

    let mut replica = Replica::new();
    let mut link = format!("{}/delta?$top=4&$expand=replies", bed.general_messages());
    let mut rounds = 0;
    while !writer.is_finished() {
        let (delta, _, _) = round(&bed, &link, &mut replica).await;
        link = delta;
        rounds += 1;
    }
    writer.await.unwrap();
    let (_, _, _) = round(&bed, &link, &mut replica).await;
    assert!(
        rounds >= 2,
        "the writer overlapped several rounds ({rounds})"
    );
    assert_eq!(replica, truth(&bed));
}

#[tokio::test]
async fn date_filter_window_and_empty_pages() {
    let bed = start(Spec {
        old_posts_per_channel: 120,
        ..Spec::default()
    })
    .await;
    // Roots older than 8 months never come; with $top=10 a page examines 100 entries, so the
    // first page holds only old roots and is empty.
    let mut replica = Replica::new();
    let first = format!("{}/delta?$top=10", bed.general_messages());
    let page = bed.get(&first).await;
    assert_eq!(page.json["value"].as_array().unwrap().len(), 0);
    assert!(page.json["@odata.nextLink"].is_string());
    let (_, _, empty) = round(&bed, &first, &mut replica).await;
    assert!(empty >= 1);
    assert_eq!(replica.len(), 45);

    // The date filter: only chains changed after it.
    let since = Utc::now() - chrono::Duration::days(40);
    let expected = {
        let tenant = bed.emulator.state().tenant.read();
        let channel = tenant
            .team(bed.team())
            .unwrap()
            .channel(&bed.fx.general)
            .unwrap();
        channel
            .messages
            .roots
            .iter()
            .filter(|m| m.chain_last_modified() > since)
            .count()
    };
    assert!(expected > 0 && expected < 45);
    let mut filtered = Replica::new();
    let url = format!(
        "{}/delta?$filter=lastModifiedDateTime gt {}",
        bed.general_messages(),
        since.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    round(&bed, &url, &mut filtered).await;
    assert_eq!(filtered.len(), expected);
}

#[tokio::test]
async fn refused_options_and_bad_tokens() {
    let bed = start(Spec::default()).await;
    let base = format!("{}/delta", bed.general_messages());
    for q in [
        "$filter=createdDateTime gt 2024-01-01T00:00:00Z",
        "$filter=lastModifiedDateTime lt 2024-01-01T00:00:00Z",
        "$filter=lastModifiedDateTime gt yesterday",
        "$orderby=lastModifiedDateTime",
        "$select=id",
        "$top=51",
        "$expand=nope",
    ] {
        let a = bed.get(&format!("{base}?{q}")).await;
        assert_eq!(a.status, 400, "{q}");
    }
    for token in ["garbage", "", "eyJhIjoxfQ"] {
        let a = bed.get(&format!("{base}?$deltatoken={token}")).await;
        assert_eq!(a.status, 400, "{token}");
        assert_eq!(error_code(&a), "syncStateNotFound");
    }
    let page = bed.get(&format!("{base}?$top=5")).await;
    let next = page.json["@odata.nextLink"].as_str().unwrap().to_owned();
    let with_option = bed.get(&format!("{next}&$top=3")).await;
    assert_eq!(with_option.status, 400);
    // A token from another channel is not accepted.
    let other = format!(
        "/teams/{}/channels/{}/messages/delta",
        bed.team(),
        bed.fx.private
    );
    let token = next.split("$skiptoken=").nth(1).unwrap();
    let cross = bed.get(&format!("{other}?$skiptoken={token}")).await;
    assert_eq!(cross.status, 400);

    let mut replica = Replica::new();
    let (delta, _, _) = round(&bed, &format!("{base}?$top=50"), &mut replica).await;
    bed.emulator
        .state()
        .graph
        .expire_delta_tokens(DeltaExpiry::Gone);
    let gone = bed.get(&delta).await;
    assert_eq!(gone.status, 410);
    assert_eq!(error_code(&gone), "resyncRequired");
    let stale_next = bed.get(&next).await;
    assert_eq!(stale_next.status, 410);

    let (delta, _, _) = round(&bed, &format!("{base}?$top=50"), &mut replica).await;
    bed.emulator
        .state()
        .graph
        .expire_delta_tokens(DeltaExpiry::SyncStateNotFound);
    let lost = bed.get(&delta).await;
    assert_eq!(lost.status, 400);
    assert_eq!(error_code(&lost), "syncStateNotFound");
    // New rounds work again.
    let fresh = bed.get(&format!("{base}?$top=50")).await;
    assert_eq!(fresh.status, 200);
}
