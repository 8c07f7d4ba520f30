//! The seeded tenant: deterministic, internally consistent, and covering every kind of content
//! a Teams client must handle.

use std::collections::HashSet;
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use perch_emulator::model::{
    Importance, MembershipType, MentionTarget, Message, MessageType, Sender, Tenant,
};
use perch_emulator::{seed, EmulatorConfig, Profile, TenantSize};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0)
        .single()
        .expect("valid date")
}

fn config(profile: Profile, seed: u64) -> EmulatorConfig {
    EmulatorConfig {
        profile,
        seed,
        ..EmulatorConfig::default()
    }
}

/// Every message of the tenant with its channel's id: roots and replies.
fn all_messages(tenant: &Tenant) -> impl Iterator<Item = (&str, &Message)> {
    tenant.teams.iter().flat_map(|team| {
        team.channels.iter().flat_map(|channel| {
            channel.messages.roots.iter().flat_map(move |root| {
                std::iter::once((channel.id.as_str(), root))
                    .chain(root.replies.iter().map(move |r| (channel.id.as_str(), r)))
            })
        })
    })
}

#[test]
fn same_seed_and_now_give_the_same_tenant_byte_for_byte() {
    let a = seed::generate_at(&config(Profile::Demo, 7), now());
    let b = seed::generate_at(&config(Profile::Demo, 7), now());
    let c = seed::generate_at(&config(Profile::Demo, 8), now());
    let a = serde_json::to_string(&a).expect("serialises");
    let b = serde_json::to_string(&b).expect("serialises");
    let c = serde_json::to_string(&c).expect("serialises");
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn the_directory_has_the_demo_user_and_both_app_registrations() {
    let tenant = seed::generate_at(&config(Profile::Demo, 42), now());
    let demo = seed::demo_user(&tenant);
    assert_eq!(demo.display_name, "Adele Vance");
    assert_eq!(demo.upn, "adele.vance@contoso.example");
    assert_eq!(tenant.domain, "contoso.example");
    assert!(tenant.teams.iter().all(|t| t.members.contains(&demo.id)));
    assert!(tenant.apps[0].public_client);
    assert_eq!(tenant.apps[0].client_id, seed::demo_client_id(42));
    assert!(tenant.apps.iter().any(|a| !a.public_client));
    let upns: HashSet<&str> = tenant.users.iter().map(|u| u.upn.as_str()).collect();
    assert_eq!(upns.len(), tenant.users.len());
    assert!(tenant
        .users
        .iter()
        .all(|u| u.upn.is_ascii() && u.job_title.is_some()));
    assert!(tenant.users.iter().any(|u| !u.display_name.is_ascii()));
}

#[test]
fn channels_have_teams_style_ids_and_consistent_membership() {
    let tenant = seed::generate_at(&config(Profile::Demo, 42), now());
    let demo = seed::demo_user(&tenant).id;
    let mut kinds = HashSet::new();
    let mut hidden_from_demo = 0;
    for team in &tenant.teams {
        assert_eq!(team.channels[0].display_name, "General");
        assert!(team.description.is_some());
        for channel in &team.channels {
            let hex = channel
                .id
                .strip_prefix("19:")
                .and_then(|s| s.strip_suffix("@thread.tacv2"))
                .expect("19:…@thread.tacv2");
            assert_eq!(hex.len(), 32);
            assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
            assert!(channel.created >= team.created);
            kinds.insert(format!("{:?}", channel.membership_type));
            match channel.membership_type {
                MembershipType::Standard => {
                    let ids: Vec<_> = channel.members.iter().map(|m| m.user_id).collect();
                    assert_eq!(ids, team.members);
                }
                _ => {
                    assert!(channel
                        .members
                        .iter()
                        .any(|m| m.roles.iter().any(|r| r == "owner")));
                    if !channel.visible_to(team, demo) {
                        hidden_from_demo += 1;
                    }
                }
            }
        }
    }
    assert_eq!(
        kinds.len(),
        3,
        "standard, private and shared channels: {kinds:?}"
    );
    assert_eq!(
        hidden_from_demo, 1,
        "one private channel the demo user cannot see"
    );
}

#[test]
fn messages_keep_the_model_invariants() {
    let at = now();
    let tenant = seed::generate_at(&config(Profile::Demo, 42), at);
    for team in &tenant.teams {
        for channel in &team.channels {
            let log = &channel.messages;
            let mut ids = HashSet::new();
            let mut previous: Option<DateTime<Utc>> = None;
            for (i, root) in log.roots.iter().enumerate() {
                assert_eq!(log.root_index(&root.id), Some(i));
                assert!(root.reply_to_id.is_none());
                if let Some(p) = previous {
                    assert!(root.created > p, "roots oldest first");
                }
                previous = Some(root.created);
                let mut reply_previous = root.created;
                for message in std::iter::once(root).chain(root.replies.iter()) {
                    assert!(ids.insert(message.id.clone()), "unique id {}", message.id);
                    assert_eq!(message.id, message.created.timestamp_millis().to_string());
                    assert!(message.created <= at && message.last_modified <= at);
                    assert!(message.last_modified >= message.created);
                    if let Some(edited) = message.last_edited {
                        assert!(edited >= message.created && edited <= message.last_modified);
                    }
                    if let Some(deleted) = message.deleted {
                        assert!(deleted >= message.created && deleted <= message.last_modified);
                    }
                    for reaction in &message.reactions {
                        assert!(reaction.created >= message.created);
                        assert!(reaction.created <= message.last_modified);
                    }
                    assert!(
                        perch_emulator::ops::mentions_match(&message.content, &message.mentions),
                        "mentions match the body: {}",
                        message.content
                    );
                    for attachment in &message.attachments {
                        assert!(message.content.contains(&format!(
                            "<attachment id=\"{}\"></attachment>",
                            attachment.id
                        )));
                    }
                }
                for reply in &root.replies {
                    assert_eq!(reply.reply_to_id.as_deref(), Some(root.id.as_str()));
                    assert!(
                        reply.created > reply_previous,
                        "replies after the root, in order"
                    );
                    reply_previous = reply.created;
                    assert!(reply.replies.is_empty() && reply.subject.is_none());
                }
            }
            // Change sequences are unique and `seq` is the largest.
            let seqs: HashSet<u64> = log.roots.iter().map(|r| r.chain_seq).collect();
            assert_eq!(seqs.len(), log.roots.len());
            assert_eq!(log.by_seq.len(), log.roots.len());
            assert_eq!(Some(log.seq), seqs.iter().max().copied());
        }
    }
}

#[test]
fn demo_content_covers_everything_a_client_must_render() {
    let at = now();
    let tenant = seed::generate_at(&config(Profile::Demo, 42), at);
    let demo = seed::demo_user(&tenant).id;
    let total = all_messages(&tenant).count();
    println!("demo tenant: {total} messages");
    assert!(
        (2_000..20_000).contains(&total),
        "a few thousand messages: {total}"
    );

    let count = |f: &dyn Fn(&Message) -> bool| all_messages(&tenant).filter(|(_, m)| f(m)).count();
    let has = |tag: &str| count(&|m: &Message| m.content.contains(tag));
    for tag in [
        "<p>",
        "<b>",
        "<strong>",
        "<i>",
        "<ul><li>",
        "<ol>",
        "<code>",
        "<pre>",
        "<blockquote>",
        "<a href=\"https://",
        "<emoji ",
        "🎉",
        "👍",
    ] {
        assert!(has(tag) > 0, "some message contains {tag}");
    }

    // Mentions: of the demo user (regularly), of other users and of the channel.
    let demo_mentions = count(&|m: &Message| {
        m.mentions
            .iter()
            .any(|x| matches!(&x.mentioned, MentionTarget::User { id, .. } if *id == demo))
    });
    assert!(
        demo_mentions >= 50,
        "the demo user is mentioned regularly: {demo_mentions}"
    );
    assert!(count(&|m: &Message| m.mentions.len() > 1) > 0);
    assert!(
        count(&|m: &Message| {
            m
        .mentions
        .iter()
        .any(|x| matches!(&x.mentioned, MentionTarget::Conversation { kind, .. } if kind == "channel"))
        }) > 0
    );

    // Reactions, named and emoji.
    let reactions: HashSet<&str> = all_messages(&tenant)
        .flat_map(|(_, m)| m.reactions.iter().map(|r| r.reaction_type.as_str()))
        .collect();
    for kind in [
        "like",
        "heart",
        "laugh",
        "surprised",
        "sad",
        "angry",
        "👍",
        "🎉",
    ] {
        assert!(reactions.contains(kind), "reaction {kind}");
    }

    assert!(count(&|m: &Message| m.last_edited.is_some()) > 0, "edits");
    assert!(
        count(&|m: &Message| m.deleted.is_some()) > 0,
        "soft deletions"
    );
    assert!(count(&|m: &Message| m.subject.is_some()) > 0, "subjects");
    assert!(count(&|m: &Message| m.importance == Importance::High) > 0);
    assert!(count(&|m: &Message| m.importance == Importance::Urgent) > 0);
    assert!(count(&|m: &Message| matches!(m.from, Some(Sender::Application { .. }))) > 0);

    // System events: no sender, the marker body, typed event details.
    let events: Vec<&Message> = all_messages(&tenant)
        .map(|(_, m)| m)
        .filter(|m| m.message_type == MessageType::SystemEventMessage)
        .collect();
    assert!(events
        .iter()
        .all(|m| m.from.is_none() && m.content == "<systemEventMessage/>"));
    let types: HashSet<&str> = events
        .iter()
        .filter_map(|m| m.event_detail.as_ref()?.get("@odata.type")?.as_str())
        .collect();
    for kind in [
        "#microsoft.graph.membersAddedEventMessageDetail",
        "#microsoft.graph.channelAddedEventMessageDetail",
        "#microsoft.graph.teamCreatedEventMessageDetail",
    ] {
        assert!(types.contains(kind), "event {kind}");
    }

    // Inline images: a hosted content per <img>, real PNG bytes, the canonical Graph URL.
    let mut images = 0;
    for team in &tenant.teams {
        for channel in &team.channels {
            let roots = channel.messages.roots.iter();
            for m in roots.flat_map(|r| std::iter::once(r).chain(r.replies.iter())) {
                for hosted in &m.hosted_contents {
                    images += 1;
                    assert!(hosted.bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
                    assert_eq!(hosted.content_type, "image/png");
                    let src = format!("hostedContents/{}/$value", hosted.id);
                    assert!(m.content.contains(&src));
                    assert!(m.content.contains(&format!(
                        "<img src=\"https://graph.microsoft.com/v1.0/teams/{}/channels/{}/messages/",
                        team.id, channel.id
                    )));
                    assert!(hosted
                        .id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
                }
            }
        }
    }
    assert!(images > 10, "inline images: {images}");

    // File references and adaptive cards.
    let files = count(&|m: &Message| {
        m.attachments.iter().any(|a| {
            a.content_type == "reference"
                && a.name.is_some()
                && a.content_url.as_deref().is_some_and(|u| {
                    u.starts_with("https://contoso.sharepoint.com/sites/")
                        && u.contains("/Shared%20Documents/")
                })
        })
    });
    assert!(files > 0, "file references");
    let cards = count(&|m: &Message| {
        m.attachments.iter().any(|a| {
            a.content_type == "application/vnd.microsoft.card.adaptive"
                && a.content
                    .as_deref()
                    .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
                    .is_some_and(|v| v["type"] == "AdaptiveCard")
        })
    });
    assert!(cards > 0, "adaptive cards");

    // Long threads, one beyond 1,000 replies, and history older than delta's window.
    let roots = tenant
        .teams
        .iter()
        .flat_map(|t| t.channels.iter())
        .flat_map(|c| c.messages.roots.iter());
    let long: Vec<usize> = roots.map(|r| r.replies.len()).filter(|&n| n > 50).collect();
    assert!(
        long.len() >= 3,
        "several threads with more than 50 replies: {long:?}"
    );
    assert!(
        long.iter().any(|&n| n > 1_000),
        "one thread with more than 1,000 replies"
    );
    let oldest = all_messages(&tenant)
        .map(|(_, m)| m.created)
        .min()
        .expect("messages");
    assert!(
        oldest < at - Duration::days(245),
        "history older than eight months"
    );
}

#[test]
fn small_profile_is_small() {
    let tenant = seed::generate_at(&config(Profile::Small, 1), now());
    assert_eq!(tenant.teams.len(), 2);
    assert!(tenant.teams.iter().all(|t| t.channels.len() == 3));
    let total = all_messages(&tenant).count();
    assert!((20..200).contains(&total), "tens of messages: {total}");
}

#[test]
fn custom_profile_follows_the_sizes() {
    let size = TenantSize {
        users: 60,
        teams: 7,
        channels_per_team: 3,
        posts_per_channel: 10,
        replies_per_post: 1,
        history_days: 20,
    };
    let tenant = seed::generate_at(&config(Profile::Custom(size), 3), now());
    assert_eq!(tenant.users.len(), 60);
    assert_eq!(tenant.teams.len(), 7);
    let upns: HashSet<&str> = tenant.users.iter().map(|u| u.upn.as_str()).collect();
    assert_eq!(upns.len(), 60);
    for team in &tenant.teams {
        assert_eq!(team.channels.len(), 3);
        let names: HashSet<&str> = team
            .channels
            .iter()
            .map(|c| c.display_name.as_str())
            .collect();
        assert_eq!(names.len(), 3, "channel names unique within a team");
        for channel in &team.channels {
            let posts = channel
                .messages
                .roots
                .iter()
                .filter(|m| m.message_type == MessageType::Message)
                .count();
            assert!((9..=10).contains(&posts), "posts per channel: {posts}");
        }
    }
}

#[test]
fn degenerate_custom_sizes_still_give_a_servable_tenant() {
    for (users, teams, channels, posts, replies) in [
        (1, 6, 5, 3, 2),
        (2, 1, 1, 0, 0),
        (1, 0, 0, 0, 0),
        (3, 25, 2, 1, 9),
    ] {
        let size = TenantSize {
            users,
            teams,
            channels_per_team: channels,
            posts_per_channel: posts,
            replies_per_post: replies,
            history_days: 0,
        };
        let tenant = seed::generate_at(&config(Profile::Custom(size), 1), now());
        assert_eq!(tenant.users.len(), users);
        assert_eq!(tenant.teams.len(), teams);
        for team in &tenant.teams {
            assert!(!team.channels.is_empty(), "every team has General");
            assert!(team.channels.iter().all(|c| !c.members.is_empty()));
        }
    }
}

#[test]
fn large_profile_has_the_benchmark_sizes() {
    let started = Instant::now();
    let tenant = seed::generate_at(&config(Profile::Large, 42), now());
    let elapsed = started.elapsed();
    let channels: usize = tenant.teams.iter().map(|t| t.channels.len()).sum();
    let messages = all_messages(&tenant).count();
    println!("large tenant: {channels} channels, {messages} messages, generated in {elapsed:?}");
    assert!(channels >= 100, "channels: {channels}");
    assert!(messages >= 200_000, "messages: {messages}");
    assert!(tenant
        .teams
        .iter()
        .flat_map(|t| t.channels.iter())
        .flat_map(|c| c.messages.roots.iter())
        .any(|r| r.replies.len() > 1_000));
}

/// Times a whole `Emulator::start` with the Large profile. Ignored by default (slow in debug
/// builds); measure with `cargo test --release -p perch-emulator --test seed -- --ignored
/// --nocapture`.
#[tokio::test]
#[ignore = "timing; run in release"]
async fn large_emulator_start_time() {
    let started = Instant::now();
    let emulator = perch_emulator::Emulator::start(config(Profile::Large, 42))
        .await
        .expect("starts");
    let elapsed = started.elapsed();
    println!("Emulator::start with Profile::Large took {elapsed:?}");
    emulator.shutdown().await.expect("shuts down");
}
