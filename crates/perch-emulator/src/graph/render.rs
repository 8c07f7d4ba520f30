//! Graph's JSON for chat messages, and the cache that makes list pages cheap: each message's
//! rendering (without replies) is kept as bytes keyed by team, channel, id and
//! `lastModifiedDateTime`, and pages are assembled from these fragments. Every writer bumps
//! `lastModifiedDateTime` (see `ops`), so a stale fragment is never served.
//!
//! Every chatMessage field is present, nulls included, in the shape of
//! `example-channel-messages-page.json`. Deleted messages keep their id and dates but lose
//! their body content, subject, mentions, attachments and reactions, as Teams shows them.
//! Absolute Graph URLs stored in bodies (`https://graph.microsoft.com/v1.0/…`) are rewritten to
//! the emulator's own Graph root.

use std::collections::HashMap;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use parking_lot::RwLock;
use serde::Serialize;
use uuid::Uuid;

use crate::model::{
    Attachment, ContentType, Importance, Mention, MentionTarget, Message, MessageType, Reaction,
    Sender,
};
use crate::ops::CANONICAL_GRAPH_ROOT;

/// Above this many cached fragments the cache starts over (bounds memory on huge tenants).
const CACHE_LIMIT: usize = 400_000;

/// Inline replies under `$expand=replies`, as Graph documents.
pub(crate) const INLINE_REPLIES: usize = 1000;

/// What a rendering needs besides the message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    /// `{base_url}/v1.0`.
    pub root: &'a str,
    /// The tenant id (`tenantId` in identities, webUrl).
    pub tenant: Uuid,
    /// Team id.
    pub team: Uuid,
    /// Channel id.
    pub channel: &'a str,
}

#[derive(Debug)]
struct Entry {
    modified: DateTime<Utc>,
    json: Bytes,
}

#[derive(Debug, Default)]
struct Map {
    teams: HashMap<Uuid, HashMap<String, HashMap<String, Entry>>>,
    len: usize,
}

/// The rendered-fragment cache.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    inner: RwLock<Map>,
}

impl Cache {
    /// Forgets everything.
    pub(crate) fn clear(&self) {
        *self.inner.write() = Map::default();
    }

    /// The fragments of `messages` (each without replies), rendering and caching misses.
    pub(crate) fn fragments(&self, ctx: &Ctx<'_>, messages: &[&Message]) -> Vec<Bytes> {
        let mut out: Vec<Option<Bytes>> = Vec::with_capacity(messages.len());
        let mut misses = 0usize;
        {
            let map = self.inner.read();
            let channel = map.teams.get(&ctx.team).and_then(|t| t.get(ctx.channel));
            for m in messages {
                let hit = channel
                    .and_then(|c| c.get(&m.id))
                    .filter(|e| e.modified == m.last_modified)
                    .map(|e| e.json.clone());
                if hit.is_none() {
                    misses += 1;
                }
                out.push(hit);
            }
        }
        if misses > 0 {
            let mut fresh = Vec::with_capacity(misses);
            for (slot, m) in out.iter_mut().zip(messages) {
                if slot.is_none() {
                    let json = Bytes::from(message_json(ctx, m));
                    *slot = Some(json.clone());
                    fresh.push((m.id.clone(), m.last_modified, json));
                }
            }
            let mut map = self.inner.write();
            if map.len + fresh.len() > CACHE_LIMIT {
                *map = Map::default();
            }
            let mut added = 0;
            let channel = map
                .teams
                .entry(ctx.team)
                .or_default()
                .entry(ctx.channel.to_owned())
                .or_default();
            for (id, modified, json) in fresh {
                if channel.insert(id, Entry { modified, json }).is_none() {
                    added += 1;
                }
            }
            map.len += added;
        }
        out.into_iter().map(Option::unwrap_or_default).collect()
    }

    /// One message's fragment.
    pub(crate) fn fragment(&self, ctx: &Ctx<'_>, message: &Message) -> Bytes {
        self.fragments(ctx, &[message]).pop().unwrap_or_default()
    }
}

/// `{root}/$metadata#teams('{t}')/channels('{c}')`.
pub(crate) fn channel_context(ctx: &Ctx<'_>) -> String {
    format!(
        "{}/$metadata#teams('{}')/channels('{}')",
        ctx.root,
        ctx.team,
        encode_channel(ctx.channel)
    )
}

/// A channel id as Teams writes it inside URLs (`19%3A…%40thread.tacv2`).
pub(crate) fn encode_channel(channel: &str) -> String {
    percent_encoding::utf8_percent_encode(channel, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2E", ".")
        .replace("%2D", "-")
        .replace("%5F", "_")
}

/// ISO 8601 with milliseconds and `Z`, as Graph writes dates.
pub(crate) fn date(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Writes a JSON string (escaped) into `out`.
pub(crate) fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// A collection page: `{"@odata.context":…,["@odata.nextLink":…,]"value":[…]}` (or a
/// `@odata.deltaLink` after `value`, as Graph places it).
pub(crate) fn page<T: AsRef<[u8]>>(
    context: &str,
    next_link: Option<&str>,
    delta_link: Option<&str>,
    items: &[T],
) -> Vec<u8> {
    let size: usize = items.iter().map(|i| i.as_ref().len()).sum::<usize>() + 512;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(b"{\"@odata.context\":");
    push_json_str(&mut out, context);
    if let Some(next) = next_link {
        out.extend_from_slice(b",\"@odata.nextLink\":");
        push_json_str(&mut out, next);
    }
    out.extend_from_slice(b",\"value\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item.as_ref());
    }
    out.push(b']');
    if let Some(delta) = delta_link {
        out.extend_from_slice(b",\"@odata.deltaLink\":");
        push_json_str(&mut out, delta);
    }
    out.push(b'}');
    out
}

/// A fragment with extra members spliced in before its closing brace. `extra` starts with `,`.
pub(crate) fn splice(fragment: &[u8], extra: &[u8]) -> Vec<u8> {
    let body = fragment.strip_suffix(b"}").unwrap_or(fragment);
    let mut out = Vec::with_capacity(body.len() + extra.len() + 1);
    out.extend_from_slice(body);
    out.extend_from_slice(extra);
    out.push(b'}');
    out
}

/// A root with up to [`INLINE_REPLIES`] of its replies inline (newest first), and
/// `replies@odata.nextLink` when there are more.
pub(crate) fn with_replies(
    cache: &Cache,
    ctx: &Ctx<'_>,
    root_fragment: &[u8],
    root: &Message,
    next_link: impl Fn(usize) -> String,
) -> Vec<u8> {
    let replies: Vec<&Message> = root.replies.iter().rev().take(INLINE_REPLIES).collect();
    let fragments = cache.fragments(ctx, &replies);
    let size: usize = fragments.iter().map(Bytes::len).sum::<usize>() + 256;
    let mut extra = Vec::with_capacity(size);
    extra.extend_from_slice(b",\"replies@odata.context\":");
    push_json_str(
        &mut extra,
        &format!("{}/messages('{}')/replies", channel_context(ctx), root.id),
    );
    extra.extend_from_slice(b",\"replies\":[");
    for (i, f) in fragments.iter().enumerate() {
        if i > 0 {
            extra.push(b',');
        }
        extra.extend_from_slice(f);
    }
    extra.push(b']');
    if root.replies.len() > INLINE_REPLIES {
        let upto = root.replies.len() - INLINE_REPLIES;
        extra.extend_from_slice(b",\"replies@odata.nextLink\":");
        push_json_str(&mut extra, &next_link(upto));
    }
    splice(root_fragment, &extra)
}

// ---------------------------------------------------------------------------------------------
// The chatMessage shape.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageJson<'a> {
    id: &'a str,
    reply_to_id: Option<&'a str>,
    etag: String,
    message_type: &'static str,
    created_date_time: String,
    last_modified_date_time: String,
    last_edited_date_time: Option<String>,
    deleted_date_time: Option<String>,
    subject: Option<&'a str>,
    summary: Option<&'a str>,
    chat_id: Option<&'a str>,
    importance: &'static str,
    locale: &'a str,
    web_url: String,
    policy_violation: Option<&'a str>,
    event_detail: Option<&'a serde_json::Value>,
    from: Option<IdentitySet>,
    body: BodyJson,
    channel_identity: ChannelIdentity<'a>,
    attachments: Vec<AttachmentJson<'a>>,
    mentions: Vec<MentionJson<'a>>,
    reactions: Vec<ReactionJson>,
    message_history: [(); 0],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BodyJson {
    content_type: &'static str,
    content: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChannelIdentity<'a> {
    team_id: String,
    channel_id: &'a str,
}

#[derive(Serialize)]
struct IdentitySet {
    application: Option<serde_json::Value>,
    device: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conversation: Option<Option<serde_json::Value>>,
    user: Option<serde_json::Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AttachmentJson<'a> {
    id: &'a str,
    content_type: &'a str,
    content_url: Option<&'a str>,
    content: Option<&'a str>,
    name: Option<&'a str>,
    thumbnail_url: Option<&'a str>,
    teams_app_id: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MentionJson<'a> {
    id: i32,
    mention_text: &'a str,
    mentioned: IdentitySet,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReactionJson {
    reaction_type: String,
    display_name: Option<&'static str>,
    reaction_content_url: Option<&'static str>,
    created_date_time: String,
    user: IdentitySet,
}

fn user_identity(tenant: Uuid, id: Uuid, display_name: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "@odata.type": "#microsoft.graph.teamworkUserIdentity",
        "id": id.to_string(),
        "displayName": display_name,
        "userIdentityType": "aadUser",
        "tenantId": tenant.to_string(),
    })
}

fn sender_json(tenant: Uuid, sender: &Sender) -> IdentitySet {
    match sender {
        Sender::User { id, display_name } => IdentitySet {
            application: None,
            device: None,
            conversation: None,
            user: Some(user_identity(tenant, *id, Some(display_name))),
        },
        Sender::Application { id, display_name } => IdentitySet {
            application: Some(serde_json::json!({
                "@odata.type": "#microsoft.graph.teamworkApplicationIdentity",
                "id": id.to_string(),
                "displayName": display_name,
                "applicationIdentityType": "bot",
            })),
            device: None,
            conversation: None,
            user: None,
        },
    }
}

fn mention_json<'a>(tenant: Uuid, mention: &'a Mention) -> MentionJson<'a> {
    let mentioned = match &mention.mentioned {
        MentionTarget::User { id, display_name } => IdentitySet {
            application: None,
            device: None,
            conversation: Some(None),
            user: Some(user_identity(tenant, *id, Some(display_name))),
        },
        MentionTarget::Conversation {
            id,
            display_name,
            kind,
        } => IdentitySet {
            application: None,
            device: None,
            conversation: Some(Some(serde_json::json!({
                "@odata.type": "#microsoft.graph.teamworkConversationIdentity",
                "id": id,
                "displayName": display_name,
                "conversationIdentityType": kind,
            }))),
            user: None,
        },
    };
    MentionJson {
        id: mention.id,
        mention_text: &mention.mention_text,
        mentioned,
    }
}

/// The display name Teams gives the classic reactions.
fn reaction_name(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "like" | "👍" => "Like",
        "heart" | "❤️" | "❤" => "Heart",
        "laugh" | "😆" => "Laugh",
        "surprised" | "😮" => "Surprised",
        "sad" | "😢" => "Sad",
        "angry" | "😡" => "Angry",
        _ => return None,
    })
}

fn reaction_json(tenant: Uuid, reaction: &Reaction) -> ReactionJson {
    ReactionJson {
        reaction_type: reaction.reaction_type.clone(),
        display_name: reaction_name(&reaction.reaction_type),
        reaction_content_url: None,
        created_date_time: date(reaction.created),
        user: IdentitySet {
            application: None,
            device: None,
            conversation: None,
            user: Some(user_identity(tenant, reaction.user_id, None)),
        },
    }
}

fn attachment_json(a: &Attachment) -> AttachmentJson<'_> {
    AttachmentJson {
        id: &a.id,
        content_type: &a.content_type,
        content_url: a.content_url.as_deref(),
        content: a.content.as_deref(),
        name: a.name.as_deref(),
        thumbnail_url: a.thumbnail_url.as_deref(),
        teams_app_id: None,
    }
}

/// One message as Graph renders it, without `replies`.
pub(crate) fn message_json(ctx: &Ctx<'_>, m: &Message) -> Vec<u8> {
    let deleted = m.deleted.is_some();
    let created_ms = m.created.timestamp_millis();
    let root_id = m.reply_to_id.as_deref().unwrap_or(&m.id);
    let web_url = format!(
        "https://teams.microsoft.com/l/message/{}/{}?groupId={}&tenantId={}&createdTime={}&parentMessageId={}",
        encode_channel(ctx.channel),
        m.id,
        ctx.team,
        ctx.tenant,
        created_ms,
        root_id
    );
    let content = if deleted {
        String::new()
    } else if m.content.contains(CANONICAL_GRAPH_ROOT) {
        m.content.replace(CANONICAL_GRAPH_ROOT, ctx.root)
    } else {
        m.content.clone()
    };
    let json = MessageJson {
        id: &m.id,
        reply_to_id: m.reply_to_id.as_deref(),
        etag: m.last_modified.timestamp_millis().to_string(),
        message_type: match m.message_type {
            MessageType::Message => "message",
            MessageType::SystemEventMessage => "systemEventMessage",
            MessageType::ChatEvent => "chatEvent",
        },
        created_date_time: date(m.created),
        last_modified_date_time: date(m.last_modified),
        last_edited_date_time: m.last_edited.map(date),
        deleted_date_time: m.deleted.map(date),
        subject: if deleted { None } else { m.subject.as_deref() },
        summary: None,
        chat_id: None,
        importance: match m.importance {
            Importance::Normal => "normal",
            Importance::High => "high",
            Importance::Urgent => "urgent",
        },
        locale: &m.locale,
        web_url,
        policy_violation: None,
        event_detail: m.event_detail.as_ref(),
        from: m.from.as_ref().map(|s| sender_json(ctx.tenant, s)),
        body: BodyJson {
            content_type: match m.content_type {
                ContentType::Text => "text",
                ContentType::Html => "html",
            },
            content,
        },
        channel_identity: ChannelIdentity {
            team_id: ctx.team.to_string(),
            channel_id: ctx.channel,
        },
        attachments: if deleted {
            Vec::new()
        } else {
            m.attachments.iter().map(attachment_json).collect()
        },
        mentions: if deleted {
            Vec::new()
        } else {
            m.mentions
                .iter()
                .map(|x| mention_json(ctx.tenant, x))
                .collect()
        },
        reactions: if deleted {
            Vec::new()
        } else {
            m.reactions
                .iter()
                .map(|r| reaction_json(ctx.tenant, r))
                .collect()
        },
        message_history: [],
    };
    serde_json::to_vec(&json).unwrap_or_default()
}
