//! A small, fully known tenant for Graph tests and the throughput benchmark, independent of
//! the demo seed: users, one public-client app, teams with standard, private and shared
//! channels, and messages with replies, mentions, reactions, an inline image, a deleted post,
//! a bot post and a system event. Not part of the emulator's public contract.

use std::time::Duration;

use chrono::{DateTime, Duration as Span, TimeZone as _, Utc};
use uuid::Uuid;

use crate::model::{
    AppRegistration, Channel, ChannelMember, ContentType, HostedContent, Importance, Mention,
    MentionTarget, Message, MessageLog, MessageType, Reaction, Sender, Team, Tenant, User,
    UserAuthSwitches,
};
use crate::ops::CANONICAL_GRAPH_ROOT;
use crate::state::Shared;

/// Every delegated scope Perch asks for (short names).
pub const ALL_SCOPES: &[&str] = &[
    "User.Read",
    "Team.ReadBasic.All",
    "Channel.ReadBasic.All",
    "ChannelMessage.Read.All",
    "ChannelMessage.Send",
    "ChannelMessage.ReadWrite",
    "ChannelMember.Read.All",
];

/// How big the fixture is.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Users (at least 3: the signed-in user, a colleague, an outsider in no team).
    pub users: usize,
    /// Teams; the signed-in user and the colleague are in all of them.
    pub teams: usize,
    /// Standard channels per team (General included). Team 0 also gets one private and one
    /// shared channel.
    pub channels_per_team: usize,
    /// Root posts per channel, within the last 8 months.
    pub posts_per_channel: usize,
    /// Replies per post.
    pub replies_per_post: usize,
    /// Extra roots per channel created 9–10 months ago (outside delta's window), oldest first.
    pub old_posts_per_channel: usize,
}

impl Default for Spec {
    fn default() -> Self {
        Self {
            users: 5,
            teams: 2,
            channels_per_team: 2,
            posts_per_channel: 45,
            replies_per_post: 3,
            old_posts_per_channel: 0,
        }
    }
}

/// The built tenant and the handles tests need.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The tenant.
    pub tenant: Tenant,
    /// The app registration's client id.
    pub client_id: Uuid,
    /// User ids; `users[0]` is "me", `users[1]` a colleague, the last one is in no team.
    pub users: Vec<Uuid>,
    /// Team ids.
    pub teams: Vec<Uuid>,
    /// Team 0's General channel.
    pub general: String,
    /// Team 0's private channel (members: users 0 and 1).
    pub private: String,
    /// Team 0's shared channel (member: user 0).
    pub shared: String,
}

fn channel_id(team: usize, n: usize) -> String {
    format!(
        "19:{:032x}@thread.tacv2",
        (team as u128) << 64 | n as u128 | 0xabc0_0000
    )
}

fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(t.timestamp_millis())
        .single()
        .unwrap_or(t)
}

fn message(
    id_time: DateTime<Utc>,
    reply_to: Option<&str>,
    from: &User,
    content: String,
) -> Message {
    let t = ms(id_time);
    Message {
        id: t.timestamp_millis().to_string(),
        reply_to_id: reply_to.map(str::to_owned),
        message_type: MessageType::Message,
        created: t,
        last_modified: t,
        last_edited: None,
        deleted: None,
        subject: None,
        importance: Importance::Normal,
        locale: "en-us".into(),
        from: Some(Sender::User {
            id: from.id,
            display_name: from.display_name.clone(),
        }),
        content_type: ContentType::Html,
        content,
        attachments: Vec::new(),
        mentions: Vec::new(),
        reactions: Vec::new(),
        hosted_contents: Vec::new(),
        event_detail: None,
        replies: Vec::new(),
        chain_seq: 0,
    }
}

/// Builds the fixture tenant; message times end shortly before `now`.
pub fn build(spec: &Spec, now: DateTime<Utc>) -> Fixture {
    let names = [
        "Adele Vance",
        "Megan Bowen",
        "Lee Gu",
        "Diego Siciliani",
        "Grady Archie",
        "Nestor Wilke",
    ];
    let users: Vec<User> = (0..spec.users.max(3))
        .map(|i| {
            let name = if i < names.len() {
                names[i].to_owned()
            } else {
                format!("User {i}")
            };
            let upn = format!(
                "{}@contoso.example",
                name.split(' ').next().unwrap_or("u").to_lowercase() + &i.to_string()
            );
            User {
                id: Uuid::from_u128(0x1000 + i as u128),
                upn: upn.clone(),
                display_name: name,
                mail: upn,
                job_title: Some("Engineer".into()),
                photo_rgb: [(40 * i % 256) as u8, 120, 200],
                auth: UserAuthSwitches::default(),
            }
        })
        .collect();
    let outsider = users.len() - 1;
    let members: Vec<Uuid> = users[..outsider].iter().map(|u| u.id).collect();
    let tenant_id = Uuid::from_u128(0x7e7a_0000);
    let client_id = Uuid::from_u128(0xc11e_0000);
    let start = now - Span::days(200);
    let total = spec.posts_per_channel.max(1) as i64;
    let step = Span::days(190).num_milliseconds() / total / (spec.replies_per_post as i64 + 2);
    let mut teams = Vec::new();
    for t in 0..spec.teams.max(1) {
        let team_id = Uuid::from_u128(0x7ea0_0000 + t as u128);
        let mut channels = Vec::new();
        let mut kinds = vec![crate::model::MembershipType::Standard; spec.channels_per_team.max(1)];
        if t == 0 {
            kinds.push(crate::model::MembershipType::Private);
            kinds.push(crate::model::MembershipType::Shared);
        }
        for (c, kind) in kinds.into_iter().enumerate() {
            let channel_members: Vec<ChannelMember> = match kind {
                crate::model::MembershipType::Standard => members
                    .iter()
                    .enumerate()
                    .map(|(i, u)| ChannelMember {
                        user_id: *u,
                        roles: if i == 0 {
                            vec!["owner".into()]
                        } else {
                            Vec::new()
                        },
                    })
                    .collect(),
                crate::model::MembershipType::Private => members[..2]
                    .iter()
                    .map(|u| ChannelMember {
                        user_id: *u,
                        roles: Vec::new(),
                    })
                    .collect(),
                crate::model::MembershipType::Shared => vec![ChannelMember {
                    user_id: members[0],
                    roles: vec!["owner".into()],
                }],
            };
            let id = channel_id(t, c);
            let mut log = MessageLog::default();
            let mut clock = start;
            for o in 0..spec.old_posts_per_channel {
                let when = now - Span::days(300) + Span::minutes(o as i64);
                log.push_root(message(
                    when,
                    None,
                    &users[o % 2],
                    format!("<p>Old post {o}</p>"),
                ));
            }
            for n in 0..spec.posts_per_channel {
                clock += Span::milliseconds(step.max(2));
                let author = &users[n % outsider];
                let mut root = message(
                    clock,
                    None,
                    author,
                    format!(
                        "<p>Post {n} in {} with some text to make the body realistic.</p>",
                        id
                    ),
                );
                if n % 7 == 0 {
                    root.subject = Some(format!("Topic {n}"));
                }
                if n % 5 == 1 {
                    let other = &users[(n + 1) % outsider];
                    root.content = format!(
                        "<p>Hey <at id=\"0\">{}</at>, look at post {n}</p>",
                        other.display_name
                    );
                    root.mentions.push(Mention {
                        id: 0,
                        mention_text: other.display_name.clone(),
                        mentioned: MentionTarget::User {
                            id: other.id,
                            display_name: other.display_name.clone(),
                        },
                    });
                }
                if n % 4 == 2 {
                    root.reactions.push(Reaction {
                        reaction_type: "like".into(),
                        created: root.created + Span::seconds(30),
                        user_id: users[(n + 1) % outsider].id,
                    });
                    root.last_modified = root.created + Span::seconds(30);
                }
                if n == 3 {
                    let hosted_id = format!("aWQ9eF9{n}");
                    root.content = format!(
                        "<p>Chart</p><img src=\"{CANONICAL_GRAPH_ROOT}/teams/{team_id}/channels/{id}/messages/{}/hostedContents/{hosted_id}/$value\" width=\"200\" height=\"100\">",
                        root.id
                    );
                    root.hosted_contents.push(HostedContent {
                        id: hosted_id,
                        content_type: "image/png".into(),
                        bytes: crate::images::picture_png(n as u64, 200, 100),
                    });
                }
                if n == 4 {
                    root.deleted = Some(root.created + Span::minutes(5));
                    root.last_modified = root.created + Span::minutes(5);
                }
                if n == 5 {
                    root.from = Some(Sender::Application {
                        id: Uuid::from_u128(0xb07),
                        display_name: "Build bot".into(),
                    });
                }
                if n == 6 {
                    root.from = None;
                    root.message_type = MessageType::SystemEventMessage;
                    root.content = "<systemEventMessage/>".into();
                    root.event_detail = Some(serde_json::json!({
                        "@odata.type": "#microsoft.graph.membersAddedEventMessageDetail",
                        "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
                        "members": [{"id": users[1].id.to_string(), "displayName": null, "userIdentityType": "aadUser", "tenantId": tenant_id.to_string()}],
                        "initiator": {"application": null, "device": null, "user": {"id": users[0].id.to_string(), "displayName": null, "userIdentityType": "aadUser"}},
                    }));
                }
                let root_id = root.id.clone();
                for r in 0..spec.replies_per_post {
                    clock += Span::milliseconds(step.max(2));
                    let author = &users[(n + r + 1) % outsider];
                    root.replies.push(message(
                        clock,
                        Some(&root_id),
                        author,
                        format!("<p>Reply {r} to {n}</p>"),
                    ));
                }
                clock += Span::milliseconds(step.max(2));
                log.push_root(root);
            }
            channels.push(Channel {
                id,
                display_name: match (c, kind) {
                    (0, _) => "General".into(),
                    (_, crate::model::MembershipType::Private) => "Leadership".into(),
                    (_, crate::model::MembershipType::Shared) => "Partners".into(),
                    _ => format!("Channel {c}"),
                },
                description: Some("A fixture channel".into()),
                membership_type: kind,
                members: channel_members,
                created: start - Span::days(1),
                messages: log,
            });
        }
        teams.push(Team {
            id: team_id,
            display_name: format!("Team {t}"),
            description: Some("A fixture team".into()),
            members: members.clone(),
            channels,
            created: start - Span::days(2),
        });
    }
    let general = teams[0].channels[0].id.clone();
    let n = teams[0].channels.len();
    let private = teams[0].channels[n - 2].id.clone();
    let shared = teams[0].channels[n - 1].id.clone();
    let tenant = Tenant {
        id: tenant_id,
        domain: "contoso.example".into(),
        display_name: "Contoso".into(),
        apps: vec![AppRegistration {
            client_id,
            display_name: "Perch".into(),
            public_client: true,
        }],
        users: users.clone(),
        teams: teams.clone(),
    };
    Fixture {
        client_id,
        users: users.iter().map(|u| u.id).collect(),
        teams: teams.iter().map(|t| t.id).collect(),
        general,
        private,
        shared,
        tenant,
    }
}

impl Fixture {
    /// Replaces the emulator's tenant with this fixture (and drops cached renderings).
    pub fn install(&self, state: &Shared) {
        *state.tenant.write() = self.tenant.clone();
        state.graph.clear_cache();
    }

    /// A Graph access token for `user` with `scopes` (short names), valid for an hour.
    pub fn token(&self, state: &Shared, user: Uuid, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let tenant = state.tenant.read();
        state.entra.issue_access_token(
            &tenant,
            user,
            self.client_id,
            &scopes,
            Duration::from_secs(3600),
        )
    }
}
