//! Reads against the fixture tenant: me, joined teams, channels, members, root-post and reply
//! paging (a thread of more than 1,000 replies, so `replies@odata.nextLink` shows up), hosted
//! contents, and links to another host refused before anything is sent.

use std::collections::HashSet;

use perch_emulator::graph::fixture::Spec;
use perch_graph::{GraphError, HostedContentRef, MembershipType, MessageType, PageRequest};

use crate::support::{bed, Limits};

#[tokio::test]
async fn me_teams_channels_and_members() {
    crate::support::logs();
    let b = bed(Spec::default(), Limits::Off).await;
    let me = b.client.me().await.unwrap();
    assert_eq!(me.id, b.fx.users[0].to_string());
    assert_eq!(me.display_name.as_deref(), Some("Adele Vance"));
    assert_eq!(b.tokens.rejections(), 0);
    assert!(me.user_principal_name.unwrap().contains('@'));

    let teams = b.client.joined_teams().await.unwrap();
    let ids: Vec<String> = teams.iter().map(|t| t.id.clone()).collect();
    assert_eq!(ids, vec![b.team(0), b.team(1)]);
    assert_eq!(teams[0].display_name, "Team 0");

    let channels = b.client.channels(&b.team(0)).await.unwrap();
    let kinds: Vec<(&str, &MembershipType)> = channels
        .iter()
        .map(|c| (c.display_name.as_str(), &c.membership_type))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("General", &MembershipType::Standard),
            ("Channel 1", &MembershipType::Standard),
            ("Leadership", &MembershipType::Private),
            ("Partners", &MembershipType::Shared),
        ]
    );
    assert_eq!(channels[0].id, b.fx.general);
    assert!(channels[0]
        .web_url
        .as_deref()
        .unwrap()
        .starts_with("https://teams.microsoft.com/"));

    let members = b
        .client
        .channel_members(&b.team(0), &b.fx.general)
        .await
        .unwrap();
    assert_eq!(
        members.len(),
        b.fx.users.len() - 1,
        "everyone but the outsider"
    );
    let me_member = members
        .iter()
        .find(|m| m.user_id.as_deref() == Some(&me.id))
        .unwrap();
    assert_eq!(me_member.roles, vec!["owner".to_owned()]);
    assert!(me_member.email.is_some());

    // Errors keep their meaning: an unknown team, a channel of no team.
    let unknown = uuid::Uuid::from_u128(0xdead).to_string();
    assert!(matches!(
        b.client.channels(&unknown).await,
        Err(GraphError::NotFound)
    ));
    let e = b
        .client
        .channel_members(&b.team(0), "not-a-channel")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "bad_request", "{e}");
}

#[tokio::test]
async fn root_posts_and_long_threads_page_to_the_end() {
    let spec = Spec {
        teams: 1,
        channels_per_team: 1,
        posts_per_channel: 3,
        replies_per_post: 1005,
        ..Spec::default()
    };
    let b = bed(spec, Limits::Off).await;
    let (team, channel) = (b.team(0), b.fx.general.clone());

    // Root posts, one per page, newest first, each with 1,000 replies inline and a
    // replies@odata.nextLink for the rest.
    let mut roots = Vec::new();
    let mut req = PageRequest::First {
        top: 1,
        expand_replies: true,
    };
    loop {
        let page = b.client.messages_page(&team, &channel, &req).await.unwrap();
        assert_eq!(page.value.len(), 1);
        roots.extend(page.value);
        match page.next_link {
            Some(next) => req = PageRequest::Link(next),
            None => break,
        }
    }
    assert_eq!(roots.len(), 3);
    let created: Vec<_> = roots.iter().map(|m| m.created_date_time.unwrap()).collect();
    assert!(created.windows(2).all(|w| w[0] > w[1]), "newest first");
    let root = &roots[0];
    assert_eq!(root.replies.len(), 1000);
    let link = root
        .replies_next_link
        .clone()
        .expect("replies@odata.nextLink");
    let rest = b
        .client
        .replies_page(&team, &channel, &root.id, &PageRequest::Link(link))
        .await
        .unwrap();
    let mut ids: HashSet<String> = root.replies.iter().map(|r| r.id.clone()).collect();
    ids.extend(rest.value.iter().map(|r| r.id.clone()));
    assert_eq!(
        ids.len(),
        1005,
        "inline replies and the link's page cover the thread"
    );
    assert!(rest
        .value
        .iter()
        .all(|r| r.reply_to_id.as_deref() == Some(root.id.as_str())));

    // Replies on their own, 50 a page.
    let mut req = PageRequest::First {
        top: 50,
        expand_replies: true, // ignored for replies
    };
    let mut all = Vec::new();
    let mut pages = 0;
    loop {
        let page = b
            .client
            .replies_page(&team, &channel, &roots[1].id, &req)
            .await
            .unwrap();
        pages += 1;
        assert!(page.value.len() <= 50);
        all.extend(page.value);
        match page.next_link {
            Some(next) => req = PageRequest::Link(next),
            None => break,
        }
    }
    assert_eq!(pages, 21);
    let distinct: HashSet<&str> = all.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(distinct.len(), 1005);
    assert!(all
        .windows(2)
        .all(|w| w[0].created_date_time > w[1].created_date_time));
    assert!(all.iter().all(|m| m.message_type == MessageType::Message));
}

#[tokio::test]
async fn hosted_contents_and_message_shapes() {
    let b = bed(Spec::default(), Limits::Off).await;
    let (team, channel) = (b.team(0), b.fx.general.clone());
    let page = b
        .client
        .messages_page(
            &team,
            &channel,
            &PageRequest::First {
                top: 50,
                expand_replies: true,
            },
        )
        .await
        .unwrap();
    // The fixture's post 3 has an inline image, post 4 is deleted, 5 is a bot's, 6 a system event.
    let by_text = |needle: &str| {
        page.value
            .iter()
            .find(|m| m.body.content.contains(needle))
            .unwrap_or_else(|| panic!("no message with {needle:?}"))
    };
    let chart = by_text("<p>Chart</p>");
    let src = chart.body.content.split("src=\"").nth(1).unwrap();
    assert!(
        src.starts_with(&format!("{}/v1.0/teams/", b.base())),
        "{src}"
    );
    let hosted_id = src
        .split("/hostedContents/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    // A proxy's HTML page and JSON garbage first: neither is taken for the image.
    for kind in ["htmlError", "malformedJson"] {
        let rule = serde_json::json!({"kind": kind, "path": "/hostedContents/", "count": 1});
        reqwest::Client::new()
            .post(format!("{}/_emulator/faults/rules", b.base()))
            .json(&rule)
            .send()
            .await
            .unwrap();
    }
    let bytes = b
        .client
        .hosted_content(&HostedContentRef {
            team_id: team.clone(),
            channel_id: channel.clone(),
            message_id: chart.id.clone(),
            reply_id: None,
            hosted_content_id: hosted_id.to_owned(),
        })
        .await
        .unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(b.client.stats().retries, 2);
    let deleted = page
        .value
        .iter()
        .find(|m| m.deleted_date_time.is_some())
        .unwrap();
    assert_eq!(deleted.body.content, "");
    let system = page
        .value
        .iter()
        .find(|m| m.message_type == MessageType::SystemEventMessage)
        .unwrap();
    assert!(system.from.is_none());
    assert!(system.event_detail.is_some());
    let bot = page
        .value
        .iter()
        .find(|m| m.from.as_ref().and_then(|f| f.principal()).map(|p| p.0) == Some("application"))
        .unwrap();
    assert_eq!(
        bot.from
            .as_ref()
            .unwrap()
            .application
            .as_ref()
            .unwrap()
            .display_name
            .as_deref(),
        Some("Build bot")
    );
    let mention = page.value.iter().find(|m| !m.mentions.is_empty()).unwrap();
    let mentioned = mention.mentions[0]
        .mentioned
        .as_ref()
        .unwrap()
        .principal()
        .unwrap();
    assert_eq!(mentioned.0, "user");
    assert!(page.value.iter().any(|m| !m.reactions.is_empty()));
    assert!(page
        .value
        .iter()
        .all(|m| m.channel_identity.as_ref().unwrap().channel_id == channel));
    assert!(page.value.iter().any(|m| m.replies.len() == 3));
}

#[tokio::test]
async fn links_to_another_host_are_refused_before_sending() {
    let b = bed(Spec::default(), Limits::Off).await;
    let (team, channel) = (b.team(0), b.fx.general.clone());
    let other_port = {
        let port: u16 = b.base().rsplit(':').next().unwrap().parse().unwrap();
        format!("http://127.0.0.1:{}/v1.0/me", port.wrapping_add(1))
    };
    for link in [
        "https://evil.example/v1.0/teams/t/channels/c/messages/delta?$deltatoken=x".to_owned(),
        other_port,
        format!("{}/v1.0/teams", b.base().replace("http://", "https://")),
    ] {
        let e = b
            .client
            .delta_page(
                &team,
                &channel,
                &perch_graph::DeltaRequest::Link(link.clone()),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), "malformed_response", "{link}: {e}");
        assert!(e.to_string().contains("not followed"), "{e}");
        let e = b
            .client
            .messages_page(&team, &channel, &PageRequest::Link(link.clone()))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "malformed_response", "{link}");
    }
    assert_eq!(b.client.stats().requests, 0, "nothing was sent anywhere");
    assert_eq!(b.emulator.state().stats.snapshot().http.requests, 0);
}
