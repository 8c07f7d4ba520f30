//! The Graph resources Perch reads and writes, as tolerant serde types: unknown fields are
//! ignored, `null` and an absent field mean the same (the default), unknown enum values become
//! an `Unknown(String)` variant that keeps the wire text, and an unparsable date is `None`
//! rather than an error. It also owns the request types ([`DeltaRequest`], [`PageRequest`],
//! [`NewMessage`], [`HostedContentRef`]) and the page shapes the client returns. No I/O here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `null` → the default, like an absent field.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// A Graph date-time, or `None` for null, absent or unparsable.
fn lenient_date<'de, D>(d: D) -> Result<Option<DateTime<Utc>>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match raw {
        Some(serde_json::Value::String(s)) => parse_date(&s),
        _ => None,
    })
}

/// RFC 3339, or Graph's occasional form without an offset (taken as UTC).
pub(crate) fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident, default $default:ident, { $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of Perch does not know (the wire text, as sent).
            Unknown(String),
        }

        impl $name {
            /// Graph's wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unknown(s) => s,
                }
            }

            /// From Graph's wire value (case-insensitive); unknown values are kept.
            pub fn from_wire(s: &str) -> $name {
                $( if s.eq_ignore_ascii_case($wire) { return $name::$variant; } )+
                $name::Unknown(s.to_owned())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::$default
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok(match Option::<String>::deserialize(d)? {
                    Some(s) => $name::from_wire(&s),
                    None => $name::default(),
                })
            }
        }
    };
}

wire_enum!(
    /// `chatMessage.messageType`.
    MessageType, default Message, {
        /// An ordinary message.
        Message = "message",
        /// A chat event.
        ChatEvent = "chatEvent",
        /// A typing indicator.
        Typing = "typing",
        /// A system event (members added, channel renamed, …); see `eventDetail`.
        SystemEventMessage = "systemEventMessage",
        /// Graph's sentinel for values newer than the client asked for.
        UnknownFutureValue = "unknownFutureValue",
    }
);

wire_enum!(
    /// `chatMessage.importance`.
    Importance, default Normal, {
        /// Normal.
        Normal = "normal",
        /// High.
        High = "high",
        /// Urgent.
        Urgent = "urgent",
    }
);

wire_enum!(
    /// `itemBody.contentType`.
    BodyType, default Text, {
        /// Plain text.
        Text = "text",
        /// HTML.
        Html = "html",
    }
);

wire_enum!(
    /// `channel.membershipType`.
    MembershipType, default Standard, {
        /// Everyone in the team.
        Standard = "standard",
        /// A subset of the team.
        Private = "private",
        /// Shared with people outside the team.
        Shared = "shared",
        /// Graph's sentinel for values newer than the client asked for.
        UnknownFutureValue = "unknownFutureValue",
    }
);

/// `GET /me`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct User {
    /// Object id.
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    /// Display name.
    pub display_name: Option<String>,
    /// Mail address.
    pub mail: Option<String>,
    /// UPN (sign-in name).
    pub user_principal_name: Option<String>,
}

/// One of `GET /me/joinedTeams`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Team {
    /// Team (group) id.
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    /// Display name.
    #[serde(deserialize_with = "nullable")]
    pub display_name: String,
    /// Description.
    pub description: Option<String>,
}

/// One of `GET /teams/{t}/allChannels`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Channel {
    /// Channel id (`19:…@thread.tacv2`).
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    /// Display name.
    #[serde(deserialize_with = "nullable")]
    pub display_name: String,
    /// Description.
    pub description: Option<String>,
    /// Standard, private or shared.
    pub membership_type: MembershipType,
    /// Link to the channel in Teams.
    pub web_url: Option<String>,
    /// The channel's mail address (often empty).
    pub email: Option<String>,
}

/// One of `GET /teams/{t}/channels/{c}/members` (`aadUserConversationMember`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Member {
    /// Membership id (opaque).
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    /// The user's object id.
    pub user_id: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Mail address.
    pub email: Option<String>,
    /// `owner`, `guest`, … (empty for ordinary members).
    #[serde(deserialize_with = "nullable")]
    pub roles: Vec<String>,
}

/// One identity of an [`IdentitySet`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Identity {
    /// Object id (user, app, device or conversation).
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    /// Display name (Graph often leaves it null for reactions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `userIdentityType` (or `applicationIdentityType`, `deviceIdentityType`,
    /// `conversationIdentityType`: whichever the identity carries).
    #[serde(
        alias = "applicationIdentityType",
        alias = "deviceIdentityType",
        alias = "conversationIdentityType",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_identity_type: Option<String>,
    /// The identity's tenant, when Graph says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

/// `identitySet`: who sent, reacted or is mentioned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IdentitySet {
    /// A user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Identity>,
    /// An app or bot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application: Option<Identity>,
    /// A device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<Identity>,
    /// A channel or team (in mentions of a whole channel or team).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation: Option<Identity>,
}

impl IdentitySet {
    /// The principal and its kind (`"user"`, `"application"`, `"device"`, then
    /// `"conversation"`), the first one present.
    pub fn principal(&self) -> Option<(&'static str, &Identity)> {
        if let Some(i) = &self.user {
            Some(("user", i))
        } else if let Some(i) = &self.application {
            Some(("application", i))
        } else if let Some(i) = &self.device {
            Some(("device", i))
        } else {
            self.conversation.as_ref().map(|i| ("conversation", i))
        }
    }

    /// A user identity set (for mentions in [`NewMessage`]).
    pub fn user(id: impl Into<String>, display_name: impl Into<String>) -> IdentitySet {
        IdentitySet {
            user: Some(Identity {
                id: id.into(),
                display_name: Some(display_name.into()),
                user_identity_type: Some("aadUser".into()),
                tenant_id: None,
            }),
            ..IdentitySet::default()
        }
    }
}

/// `itemBody`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ItemBody {
    /// Text or HTML.
    pub content_type: BodyType,
    /// The body (raw; sanitise before showing).
    #[serde(deserialize_with = "nullable")]
    pub content: String,
}

/// `channelIdentity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ChannelIdentity {
    /// Team id.
    #[serde(deserialize_with = "nullable")]
    pub team_id: String,
    /// Channel id.
    #[serde(deserialize_with = "nullable")]
    pub channel_id: String,
}

/// `chatMessageAttachment`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Attachment {
    /// Attachment id.
    pub id: Option<String>,
    /// `reference` (a file link), `application/vnd.microsoft.card.adaptive`, `messageReference`, …
    #[serde(deserialize_with = "nullable")]
    pub content_type: String,
    /// The file's URL, for references.
    pub content_url: Option<String>,
    /// Card JSON (as a string), for cards.
    pub content: Option<String>,
    /// File name.
    pub name: Option<String>,
    /// Thumbnail URL.
    pub thumbnail_url: Option<String>,
}

/// `chatMessageMention`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Mention {
    /// The number in the body's `<at id="N">`.
    #[serde(deserialize_with = "nullable")]
    pub id: i64,
    /// The text inside the `<at>` element.
    #[serde(deserialize_with = "nullable")]
    pub mention_text: String,
    /// Who or what is mentioned.
    pub mentioned: Option<IdentitySet>,
}

/// `chatMessageReaction`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Reaction {
    /// `like`, `heart`, an emoji, …
    #[serde(deserialize_with = "nullable")]
    pub reaction_type: String,
    /// `Like`, … (null for custom emoji).
    pub display_name: Option<String>,
    /// When.
    #[serde(deserialize_with = "lenient_date")]
    pub created_date_time: Option<DateTime<Utc>>,
    /// Who.
    pub user: Option<IdentitySet>,
}

/// `chatMessage`: a root post or a reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ChatMessage {
    /// Message id (unique within its channel or thread).
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    /// The root's id, for replies.
    pub reply_to_id: Option<String>,
    /// Version tag.
    pub etag: Option<String>,
    /// Message, system event, …
    pub message_type: MessageType,
    /// Created.
    #[serde(deserialize_with = "lenient_date")]
    pub created_date_time: Option<DateTime<Utc>>,
    /// Last changed (edits, reactions, deletion).
    #[serde(deserialize_with = "lenient_date")]
    pub last_modified_date_time: Option<DateTime<Utc>>,
    /// Last edited (body changes only).
    #[serde(deserialize_with = "lenient_date")]
    pub last_edited_date_time: Option<DateTime<Utc>>,
    /// Soft-deleted at.
    #[serde(deserialize_with = "lenient_date")]
    pub deleted_date_time: Option<DateTime<Utc>>,
    /// Subject (root posts).
    pub subject: Option<String>,
    /// Summary.
    pub summary: Option<String>,
    /// Importance.
    pub importance: Importance,
    /// Locale.
    pub locale: Option<String>,
    /// Link to the message in Teams.
    pub web_url: Option<String>,
    /// Sender (null for system events).
    pub from: Option<IdentitySet>,
    /// Body.
    #[serde(deserialize_with = "nullable")]
    pub body: ItemBody,
    /// Team and channel.
    pub channel_identity: Option<ChannelIdentity>,
    /// Attachments.
    #[serde(deserialize_with = "nullable")]
    pub attachments: Vec<Attachment>,
    /// Mentions.
    #[serde(deserialize_with = "nullable")]
    pub mentions: Vec<Mention>,
    /// Reactions.
    #[serde(deserialize_with = "nullable")]
    pub reactions: Vec<Reaction>,
    /// `eventDetail` of system events, as sent (polymorphic by `@odata.type`).
    pub event_detail: Option<serde_json::Value>,
    /// Replies, from `$expand=replies` (newest first, up to 1000).
    #[serde(deserialize_with = "nullable")]
    pub replies: Vec<ChatMessage>,
    /// `replies@odata.nextLink`: more replies than were inlined.
    #[serde(rename = "replies@odata.nextLink")]
    pub replies_next_link: Option<String>,
}

/// A collection page as Graph sends it.
#[derive(Debug, Deserialize)]
#[serde(default = "RawPage::empty", bound(deserialize = "T: Deserialize<'de>"))]
pub(crate) struct RawPage<T> {
    #[serde(deserialize_with = "nullable_vec")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    pub next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    pub delta_link: Option<String>,
}

fn nullable_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<Vec<T>>::deserialize(d).map(Option::unwrap_or_default)
}

impl<T> RawPage<T> {
    fn empty() -> Self {
        RawPage {
            value: Vec::new(),
            next_link: None,
            delta_link: None,
        }
    }
}

/// How to start or continue a delta round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeltaRequest {
    /// The first request: `$filter=lastModifiedDateTime gt {since}`, `$top` (clamped to
    /// 1–50), and `$expand=replies` when asked.
    Start {
        /// Only chains changed after this.
        since: DateTime<Utc>,
        /// Page size.
        top: u32,
        /// Inline replies.
        expand_replies: bool,
    },
    /// A saved `@odata.nextLink` or `@odata.deltaLink`, followed verbatim.
    Link(String),
}

/// One delta page.
#[derive(Debug, Clone, PartialEq)]
pub struct DeltaPage {
    /// Root posts changed (with their replies when expanded).
    pub messages: Vec<ChatMessage>,
    /// Where to go next.
    pub next: DeltaNext,
}

/// What follows a delta page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeltaNext {
    /// `@odata.nextLink`: the round goes on (the next page may be empty).
    Next(String),
    /// `@odata.deltaLink`: the round is done; save it for the next round.
    Done(String),
}

/// How to start or continue a list (root posts or replies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageRequest {
    /// The first page: `$top` (clamped to 1–50) and, for root posts, `$expand=replies`.
    First {
        /// Page size.
        top: u32,
        /// Inline replies (root posts only; ignored for replies).
        expand_replies: bool,
    },
    /// A saved `@odata.nextLink` (or `replies@odata.nextLink`), followed verbatim.
    Link(String),
}

/// A page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub value: Vec<T>,
    /// `@odata.nextLink`, while there is more.
    pub next_link: Option<String>,
}

/// A message or reply to post, or the new content of an edit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewMessage {
    /// The HTML body (mentions as `<at id="N">Name</at>`).
    pub html: String,
    /// Subject (root posts).
    pub subject: Option<String>,
    /// Importance; Graph's default (normal) when `None`.
    pub importance: Option<Importance>,
    /// Mentions matching the body's `<at id="N">` elements.
    pub mentions: Vec<Mention>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireBody<'a> {
    content_type: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireMessage<'a> {
    body: WireBody<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    importance: Option<&'a str>,
    mentions: &'a [Mention],
}

impl NewMessage {
    /// The JSON body Graph expects for POST and PATCH.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        let wire = WireMessage {
            body: WireBody {
                content_type: "html",
                content: &self.html,
            },
            subject: self.subject.as_deref(),
            importance: self.importance.as_ref().map(Importance::as_str),
            mentions: &self.mentions,
        };
        // Serialising plain strings and numbers cannot fail.
        serde_json::to_vec(&wire).unwrap_or_default()
    }
}

/// Where a hosted-content image lives (the same fields as `perch_html::HostedRef`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HostedContentRef {
    /// Team id.
    pub team_id: String,
    /// Channel id.
    pub channel_id: String,
    /// The root post's id.
    pub message_id: String,
    /// The reply's id, when the image is in a reply.
    pub reply_id: Option<String>,
    /// The hosted content's id.
    pub hosted_content_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_shared_example_page_parses() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/graph/example-channel-messages-page.json"
        );
        let text = std::fs::read_to_string(path).expect("the shared example page");
        let page: RawPage<ChatMessage> = serde_json::from_str(&text).unwrap();
        assert_eq!(page.value.len(), 2);
        assert!(page.next_link.unwrap().contains("$skiptoken="));
        let first = &page.value[0];
        assert_eq!(first.id, "1616965872395");
        assert_eq!(first.message_type, MessageType::Message);
        assert_eq!(first.body.content_type, BodyType::Html);
        assert_eq!(first.mentions[0].id, 0);
        assert_eq!(first.mentions[0].mention_text, "Jane Smith");
        let (kind, who) = first.from.as_ref().unwrap().principal().unwrap();
        assert_eq!(
            (kind, who.display_name.as_deref()),
            ("user", Some("Robin Kline"))
        );
        assert_eq!(who.user_identity_type.as_deref(), Some("aadUser"));
        assert_eq!(first.reactions[0].reaction_type, "like");
        assert_eq!(
            first.created_date_time.unwrap().timestamp_millis(),
            1_616_965_872_395
        );
        let channel = first.channel_identity.as_ref().unwrap();
        assert_eq!(
            channel.channel_id,
            "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2"
        );
        let second = &page.value[1];
        assert_eq!(second.message_type, MessageType::UnknownFutureValue);
        assert!(second.from.is_none());
        assert!(second.event_detail.as_ref().unwrap()["@odata.type"]
            .as_str()
            .unwrap()
            .contains("teamDescriptionUpdated"));
    }

    #[test]
    fn unknown_enum_values_are_kept() {
        let m: ChatMessage = serde_json::from_value(json!({
            "id": "1", "messageType": "hologram", "importance": "critical",
            "body": {"contentType": "markdown", "content": "x"}
        }))
        .unwrap();
        assert_eq!(m.message_type, MessageType::Unknown("hologram".into()));
        assert_eq!(m.message_type.as_str(), "hologram");
        assert_eq!(m.importance, Importance::Unknown("critical".into()));
        assert_eq!(m.body.content_type, BodyType::Unknown("markdown".into()));
        let c: Channel =
            serde_json::from_value(json!({"id": "19:a", "membershipType": "galaxy"})).unwrap();
        assert_eq!(c.membership_type.as_str(), "galaxy");
        // Case-insensitive for known values; the wire text round-trips.
        assert_eq!(
            MembershipType::from_wire("Private"),
            MembershipType::Private
        );
        assert_eq!(
            serde_json::to_value(Importance::Urgent).unwrap(),
            json!("urgent")
        );
    }

    #[test]
    fn null_and_absent_are_the_same() {
        let nulls: ChatMessage = serde_json::from_value(json!({
            "id": "1", "replyToId": null, "messageType": null, "importance": null,
            "createdDateTime": null, "from": null, "body": null, "attachments": null,
            "mentions": null, "reactions": null, "replies": null, "channelIdentity": null,
            "subject": null, "eventDetail": null
        }))
        .unwrap();
        let absent: ChatMessage = serde_json::from_value(json!({"id": "1"})).unwrap();
        assert_eq!(nulls, absent);
        assert_eq!(absent.message_type, MessageType::Message);
        assert_eq!(absent.importance, Importance::Normal);
        assert!(absent.attachments.is_empty());
        let member: Member =
            serde_json::from_value(json!({"id": "m", "roles": null, "userId": "u"})).unwrap();
        assert!(member.roles.is_empty());
        let team: Team = serde_json::from_value(json!({"id": "t", "displayName": null})).unwrap();
        assert_eq!(team.display_name, "");
    }

    #[test]
    fn extra_fields_and_odd_values_are_tolerated() {
        let m: ChatMessage = serde_json::from_value(json!({
            "id": "1", "policyViolation": {"x": 1}, "messageHistory": [{"a": 1}],
            "newField2030": [1, 2, 3],
            "createdDateTime": "not a date",
            "lastModifiedDateTime": "2024-05-01T10:00:00.1234567",
            "from": {"application": {"id": "b", "displayName": "Bot",
                     "applicationIdentityType": "bot"}, "user": null, "device": null},
            "replies": [{"id": "2", "replyToId": "1", "unknown": true}],
            "replies@odata.nextLink": "https://graph.microsoft.com/v1.0/x?$skiptoken=1"
        }))
        .unwrap();
        assert_eq!(m.created_date_time, None);
        assert_eq!(
            m.last_modified_date_time.unwrap().timestamp_micros(),
            chrono::DateTime::parse_from_rfc3339("2024-05-01T10:00:00.123456Z")
                .unwrap()
                .timestamp_micros()
        );
        let (kind, bot) = m.from.as_ref().unwrap().principal().unwrap();
        assert_eq!(
            (kind, bot.user_identity_type.as_deref()),
            ("application", Some("bot"))
        );
        assert_eq!(m.replies[0].reply_to_id.as_deref(), Some("1"));
        assert!(m.replies_next_link.is_some());
        let page: RawPage<Team> =
            serde_json::from_value(json!({"@odata.count": 1, "value": [{"id": "t", "x": 1}]}))
                .unwrap();
        assert_eq!(page.value.len(), 1);
        let empty: RawPage<Team> = serde_json::from_value(json!({"value": null})).unwrap();
        assert!(empty.value.is_empty());
    }

    #[test]
    fn new_messages_serialise_as_graph_expects() {
        let m = NewMessage {
            html: "<p>Hi <at id=\"0\">Megan</at></p>".into(),
            subject: Some("S".into()),
            importance: Some(Importance::High),
            mentions: vec![Mention {
                id: 0,
                mention_text: "Megan".into(),
                mentioned: Some(IdentitySet::user("u1", "Megan")),
            }],
        };
        let v: serde_json::Value = serde_json::from_slice(&m.to_json()).unwrap();
        assert_eq!(
            v,
            json!({
                "body": {"contentType": "html", "content": "<p>Hi <at id=\"0\">Megan</at></p>"},
                "subject": "S", "importance": "high",
                "mentions": [{"id": 0, "mentionText": "Megan", "mentioned": {
                    "user": {"id": "u1", "displayName": "Megan", "userIdentityType": "aadUser"}}}]
            })
        );
        let plain: serde_json::Value = serde_json::from_slice(
            &NewMessage {
                html: "x".into(),
                ..Default::default()
            }
            .to_json(),
        )
        .unwrap();
        assert_eq!(
            plain,
            json!({"body": {"contentType": "html", "content": "x"}, "mentions": []})
        );
    }
}
