//! Writes to the tenant, shared by Graph's POST/PATCH handlers, the admin API's "act as another
//! user" and the live colleagues. Pure functions over `&mut Tenant`: no HTTP, no locks, no
//! clock (the caller passes `now`), so that every writer keeps the same invariants and answers
//! with the same Graph error codes.
//!
//! What every function here guarantees:
//! - **Visibility.** The acting user must be able to see the channel
//!   ([`Channel::visible_to`]); otherwise 403 `Forbidden`. An unknown team, channel, message or
//!   reply is 404 `NotFound`; an unknown acting user is 403.
//! - **Ids.** New messages get Teams-style ids: the creation time in milliseconds since the
//!   epoch, as a string, unique within the channel (bumped by 1 ms on a collision, and never
//!   older than the newest message of the list it joins so that `roots` and `replies` stay in
//!   creation order). `createdDateTime` equals the id's time.
//! - **Change tracking.** Every change sets `lastModifiedDateTime` (strictly later than before,
//!   so the `etag` always changes) and calls [`MessageLog::touch`] on the root, so delta returns
//!   the whole chain in its next round. A call that changes nothing (setting a reaction the user
//!   already gave, deleting a deleted message) touches nothing.
//! - **Validation, like Teams.** An empty body (no text and no attachment) is 400; a body over
//!   [`MAX_BODY_BYTES`] is 413 `RequestEntityTooLarge` ("Message size exceeds…"); every
//!   `<at id="N">` in the body must have a `mentions[]` entry with that id and vice versa (400);
//!   mentioned users must exist; every attachment must be referenced by an
//!   `<attachment id="…">` element in the body (400).
//! - **Who may change what.** Only the sender may edit a message (others 403, system events
//!   403). Soft delete and undo are allowed to the sender and to channel owners (Teams lets
//!   owners delete others' posts); others get 403. Reactions are per user and per reaction
//!   type; any user who sees the channel may react.
//! - **Hosted contents.** [`NewMessage::hosted_contents`] carry *temporary* ids (Graph's
//!   `@microsoft.graph.temporaryId`). The body refers to them as `../hostedContents/{tmp}/$value`;
//!   the new message gets stable ids and the body canonical URLs
//!   (`https://graph.microsoft.com/v1.0/teams/…/hostedContents/{id}/$value`), which the Graph
//!   renderer rewrites to the emulator's own origin.

use base64::Engine as _;
use chrono::{DateTime, Duration, TimeZone as _, Utc};
use uuid::Uuid;

use crate::error::GraphError;
use crate::model::{
    Attachment, Channel, ContentType, HostedContent, Importance, Mention, MentionTarget, Message,
    MessageLog, MessageType, Reaction, Sender, Team, Tenant,
};

/// The largest body Teams accepts (about 28 KB of HTML).
pub const MAX_BODY_BYTES: usize = 28 * 1024;

/// The canonical Graph root that message bodies store; the renderer swaps in the emulator's.
pub const CANONICAL_GRAPH_ROOT: &str = "https://graph.microsoft.com/v1.0";

/// A new root post or reply, as a client (or a simulated colleague) writes it.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// `body.contentType`.
    pub content_type: ContentType,
    /// `body.content`.
    pub content: String,
    /// Subject line (root posts; ignored on replies as Teams does).
    pub subject: Option<String>,
    /// Importance.
    pub importance: Importance,
    /// Mentions; ids must match the body's `<at id="N">` elements.
    pub mentions: Vec<Mention>,
    /// Attachments; each must be referenced by `<attachment id="…">` in the body.
    pub attachments: Vec<Attachment>,
    /// Inline images under their temporary ids (see the module docs).
    pub hosted_contents: Vec<HostedContent>,
}

impl NewMessage {
    /// An HTML message with nothing but a body.
    pub fn html(content: impl Into<String>) -> Self {
        Self {
            content_type: ContentType::Html,
            content: content.into(),
            subject: None,
            importance: Importance::Normal,
            mentions: Vec::new(),
            attachments: Vec::new(),
            hosted_contents: Vec::new(),
        }
    }
}

/// What a PATCH may change. `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct MessagePatch {
    /// New body content type.
    pub content_type: Option<ContentType>,
    /// New body content (sets `lastEditedDateTime`).
    pub content: Option<String>,
    /// New subject (`Some(None)` clears it).
    pub subject: Option<Option<String>>,
    /// New importance.
    pub importance: Option<Importance>,
    /// New mentions (checked against the resulting body).
    pub mentions: Option<Vec<Mention>>,
}

/// Posts a new root message to a channel as `sender`. Returns the stored message.
pub fn post_message(
    tenant: &mut Tenant,
    team: Uuid,
    channel: &str,
    sender: Uuid,
    new: NewMessage,
    now: DateTime<Utc>,
) -> Result<Message, GraphError> {
    let from = user_sender(tenant, sender)?;
    check_new(tenant, &new)?;
    let channel_ref = channel_mut(tenant, team, channel, sender)?;
    let log = &mut channel_ref.messages;
    let floor = log.roots.last().map(|m| m.created);
    let created = fresh_time(log, floor, now);
    let id = created.timestamp_millis().to_string();
    let base = format!(
        "{CANONICAL_GRAPH_ROOT}/teams/{team}/channels/{}/messages/{id}",
        channel_ref.id
    );
    let message = build_message(id, None, created, Some(from), new, &base);
    let idx = channel_ref.messages.push_root(message);
    Ok(channel_ref.messages.roots[idx].clone())
}

/// Posts a reply to the root post `root_id` as `sender`. Returns the stored reply.
pub fn post_reply(
    tenant: &mut Tenant,
    team: Uuid,
    channel: &str,
    root_id: &str,
    sender: Uuid,
    new: NewMessage,
    now: DateTime<Utc>,
) -> Result<Message, GraphError> {
    let from = user_sender(tenant, sender)?;
    check_new(tenant, &new)?;
    let channel_ref = channel_mut(tenant, team, channel, sender)?;
    let idx = root_idx(&channel_ref.messages, root_id)?;
    let log = &mut channel_ref.messages;
    let root = &log.roots[idx];
    if root.deleted.is_some() {
        return Err(GraphError::bad_request(
            "Cannot reply to a message that has been deleted.",
        ));
    }
    let floor = root
        .replies
        .last()
        .map(|r| r.created)
        .or(Some(root.created));
    let created = fresh_time(log, floor, now);
    let id = created.timestamp_millis().to_string();
    let base = format!(
        "{CANONICAL_GRAPH_ROOT}/teams/{team}/channels/{}/messages/{root_id}/replies/{id}",
        channel_ref.id
    );
    let mut new = new;
    new.subject = None;
    let reply = build_message(
        id,
        Some(root_id.to_owned()),
        created,
        Some(from),
        new,
        &base,
    );
    let log = &mut channel_ref.messages;
    log.roots[idx].replies.push(reply.clone());
    log.touch(idx);
    Ok(reply)
}

/// Posts a system event (`messageType: systemEventMessage`, no sender) as a root post, e.g.
/// "members added". `event_detail` is Graph's JSON with its `@odata.type`.
pub fn post_system_event(
    tenant: &mut Tenant,
    team: Uuid,
    channel: &str,
    event_detail: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Message, GraphError> {
    let channel_ref = tenant
        .team_mut(team)
        .ok_or_else(|| GraphError::not_found("No team found with Group Id"))?
        .channel_mut(channel)
        .ok_or_else(|| GraphError::not_found("Channel not found."))?;
    let log = &mut channel_ref.messages;
    let floor = log.roots.last().map(|m| m.created);
    let created = fresh_time(log, floor, now);
    let mut message = build_message(
        created.timestamp_millis().to_string(),
        None,
        created,
        None,
        NewMessage::html("<systemEventMessage/>"),
        "",
    );
    message.message_type = MessageType::SystemEventMessage;
    message.event_detail = Some(event_detail);
    let idx = log.push_root(message);
    Ok(log.roots[idx].clone())
}

/// Edits a root post (`reply_id: None`) or a reply. Only the sender may edit (403 otherwise);
/// a deleted message cannot be edited (400). A new body without a new mentions list keeps
/// the mentions whose `<at id>` it still contains. Returns the edited message.
#[allow(clippy::too_many_arguments)]
pub fn edit(
    tenant: &mut Tenant,
    team: Uuid,
    channel: &str,
    message_id: &str,
    reply_id: Option<&str>,
    editor: Uuid,
    patch: MessagePatch,
    now: DateTime<Utc>,
) -> Result<Message, GraphError> {
    if let Some(mentions) = &patch.mentions {
        check_mention_targets(tenant, mentions)?;
    }
    let channel_ref = channel_mut(tenant, team, channel, editor)?;
    let idx = root_idx(&channel_ref.messages, message_id)?;
    let log = &mut channel_ref.messages;
    let message = target_mut(log, idx, reply_id)?;
    if !sent_by(message, editor) {
        return Err(GraphError::forbidden(
            "Only the sender of a message can update it.",
        ));
    }
    if message.deleted.is_some() {
        return Err(GraphError::bad_request(
            "Cannot update a message that has been deleted.",
        ));
    }
    let mut patch = patch;
    if let (Some(content), None) = (&patch.content, &patch.mentions) {
        // A new body without a mentions list keeps the mentions it still refers to.
        let ids = at_ids(content);
        let kept: Vec<Mention> = message
            .mentions
            .iter()
            .filter(|m| ids.contains(&m.id))
            .cloned()
            .collect();
        if kept.len() != message.mentions.len() {
            patch.mentions = Some(kept);
        }
    }
    let content = patch.content.as_deref().unwrap_or(&message.content);
    let mentions = patch.mentions.as_deref().unwrap_or(&message.mentions);
    check_body(content, mentions, &message.attachments)?;
    if let Some(kind) = patch.content_type {
        message.content_type = kind;
    }
    let body_changed = patch.content.is_some();
    if let Some(content) = patch.content {
        message.content = content;
    }
    if let Some(subject) = patch.subject {
        if message.reply_to_id.is_none() {
            message.subject = subject;
        }
    }
    if let Some(importance) = patch.importance {
        message.importance = importance;
    }
    if let Some(mentions) = patch.mentions {
        message.mentions = mentions;
    }
    bump(message, now);
    if body_changed {
        message.last_edited = Some(message.last_modified);
    }
    let out = message.clone();
    log.touch(idx);
    Ok(out)
}

/// Soft-deletes a root post or reply: it keeps its id and gets `deletedDateTime`. Allowed to
/// the sender and to channel owners. Deleting a deleted message changes nothing.
pub fn soft_delete(
    tenant: &mut Tenant,
    team: Uuid,
    channel: &str,
    message_id: &str,
    reply_id: Option<&str>,
    actor: Uuid,
    now: DateTime<Utc>,
) -> Result<Message, GraphError> {
    set_deleted_at(
        tenant,
        team,
        channel,
        message_id,
        reply_id,
        actor,
        Some(now),
        now,
    )
}

/// Undoes a soft delete (same permission rule as [`soft_delete`]). Undeleting a message that
/// is not deleted changes nothing.
pub fn undo_soft_delete(
    tenant: &mut Tenant,
    team: Uuid,
    channel: &str,
    message_id: &str,
    reply_id: Option<&str>,
    actor: Uuid,
    now: DateTime<Utc>,
) -> Result<Message, GraphError> {
    set_deleted_at(
        tenant, team, channel, message_id, reply_id, actor, None, now,
    )
}

/// Adds `user`'s reaction of `reaction_type` (`like`, `heart`, an emoji, …). Idempotent: a
/// reaction the user already gave changes nothing.
#[allow(clippy::too_many_arguments)]
pub fn set_reaction(
    tenant: &mut Tenant,
    team: Uuid,
    channel: &str,
    message_id: &str,
    reply_id: Option<&str>,
    user: Uuid,
    reaction_type: &str,
    now: DateTime<Utc>,
) -> Result<Message, GraphError> {
    react(
        tenant,
        team,
        channel,
        message_id,
        reply_id,
        user,
        reaction_type,
        now,
        true,
    )
}

/// Removes `user`'s reaction of `reaction_type`. Idempotent: removing a reaction that is not
/// there changes nothing.
#[allow(clippy::too_many_arguments)]
pub fn unset_reaction(
    tenant: &mut Tenant,
    team: Uuid,
    channel: &str,
    message_id: &str,
    reply_id: Option<&str>,
    user: Uuid,
    reaction_type: &str,
    now: DateTime<Utc>,
) -> Result<Message, GraphError> {
    react(
        tenant,
        team,
        channel,
        message_id,
        reply_id,
        user,
        reaction_type,
        now,
        false,
    )
}

/// Whether `<at id="N">` numbers in `content` are exactly the ids of `mentions`. Exposed for
/// callers that build messages themselves (the seed).
pub fn mentions_match(content: &str, mentions: &[Mention]) -> bool {
    let mut in_body = at_ids(content);
    in_body.sort_unstable();
    in_body.dedup();
    let mut declared: Vec<i32> = mentions.iter().map(|m| m.id).collect();
    declared.sort_unstable();
    let unique = declared.len();
    declared.dedup();
    unique == declared.len() && in_body == declared
}

// ---------------------------------------------------------------------------------------------

#[allow(clippy::too_many_arguments)]
fn react(
    tenant: &mut Tenant,
    team: Uuid,
    channel: &str,
    message_id: &str,
    reply_id: Option<&str>,
    user: Uuid,
    reaction_type: &str,
    now: DateTime<Utc>,
    add: bool,
) -> Result<Message, GraphError> {
    let reaction_type = reaction_type.trim();
    if reaction_type.is_empty() || reaction_type.chars().count() > 64 {
        return Err(GraphError::bad_request(
            "Invalid reactionType: it must be a reaction name or a Unicode emoji.",
        ));
    }
    user_sender(tenant, user)?;
    let channel_ref = channel_mut(tenant, team, channel, user)?;
    let idx = root_idx(&channel_ref.messages, message_id)?;
    let log = &mut channel_ref.messages;
    let message = target_mut(log, idx, reply_id)?;
    if message.deleted.is_some() {
        return Err(GraphError::bad_request(
            "Cannot react to a message that has been deleted.",
        ));
    }
    let existing = message
        .reactions
        .iter()
        .position(|r| r.user_id == user && r.reaction_type == reaction_type);
    let changed = match (add, existing) {
        (true, None) => {
            message.reactions.push(Reaction {
                reaction_type: reaction_type.to_owned(),
                created: now,
                user_id: user,
            });
            true
        }
        (false, Some(pos)) => {
            message.reactions.remove(pos);
            true
        }
        _ => false,
    };
    if changed {
        bump(message, now);
    }
    let out = message.clone();
    if changed {
        log.touch(idx);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn set_deleted_at(
    tenant: &mut Tenant,
    team: Uuid,
    channel: &str,
    message_id: &str,
    reply_id: Option<&str>,
    actor: Uuid,
    deleted: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Message, GraphError> {
    let channel_ref = channel_mut(tenant, team, channel, actor)?;
    let owner = channel_ref
        .members
        .iter()
        .any(|m| m.user_id == actor && m.roles.iter().any(|r| r == "owner"));
    let idx = root_idx(&channel_ref.messages, message_id)?;
    let log = &mut channel_ref.messages;
    let message = target_mut(log, idx, reply_id)?;
    if !owner && !sent_by(message, actor) {
        return Err(GraphError::forbidden(
            "Only the sender or a channel owner can delete or restore this message.",
        ));
    }
    if message.deleted.is_some() == deleted.is_some() {
        return Ok(message.clone());
    }
    message.deleted = deleted;
    bump(message, now);
    let out = message.clone();
    log.touch(idx);
    Ok(out)
}

/// Moves `last_modified` to `now`, or 1 ms past its old value if `now` is not later.
fn bump(message: &mut Message, now: DateTime<Utc>) {
    let floor = message.last_modified + Duration::milliseconds(1);
    message.last_modified = truncate_ms(now).max(floor);
}

fn truncate_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(t.timestamp_millis())
        .single()
        .unwrap_or(t)
}

/// A creation time in whole milliseconds, not before `floor` + 1 ms and not used as an id.
fn fresh_time(log: &MessageLog, floor: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
    let mut ms = now.timestamp_millis();
    if let Some(floor) = floor {
        ms = ms.max(floor.timestamp_millis() + 1);
    }
    while log.contains_id(&ms.to_string()) {
        ms += 1;
    }
    Utc.timestamp_millis_opt(ms).single().unwrap_or(now)
}

fn build_message(
    id: String,
    reply_to_id: Option<String>,
    created: DateTime<Utc>,
    from: Option<Sender>,
    new: NewMessage,
    hosted_base: &str,
) -> Message {
    let mut content = new.content;
    let mut hosted = Vec::with_capacity(new.hosted_contents.len());
    for (n, item) in new.hosted_contents.into_iter().enumerate() {
        let stable = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("id=x_{id}_{n},type=1,url={}", item.id));
        let temp_ref = format!("../hostedContents/{}/$value", item.id);
        let full = format!("{hosted_base}/hostedContents/{stable}/$value");
        content = content.replace(&temp_ref, &full);
        hosted.push(HostedContent {
            id: stable,
            content_type: item.content_type,
            bytes: item.bytes,
        });
    }
    Message {
        id,
        reply_to_id,
        message_type: MessageType::Message,
        created,
        last_modified: created,
        last_edited: None,
        deleted: None,
        subject: new.subject,
        importance: new.importance,
        locale: "en-us".to_owned(),
        from,
        content_type: new.content_type,
        content,
        attachments: new.attachments,
        mentions: new.mentions,
        reactions: Vec::new(),
        hosted_contents: hosted,
        event_detail: None,
        replies: Vec::new(),
        chain_seq: 0,
    }
}

fn user_sender(tenant: &Tenant, user: Uuid) -> Result<Sender, GraphError> {
    tenant
        .user(user)
        .map(|u| Sender::User {
            id: u.id,
            display_name: u.display_name.clone(),
        })
        .ok_or_else(|| GraphError::forbidden("The user is not known in this tenant."))
}

fn sent_by(message: &Message, user: Uuid) -> bool {
    matches!(&message.from, Some(Sender::User { id, .. }) if *id == user)
}

fn check_new(tenant: &Tenant, new: &NewMessage) -> Result<(), GraphError> {
    check_mention_targets(tenant, &new.mentions)?;
    check_body(&new.content, &new.mentions, &new.attachments)?;
    for item in &new.hosted_contents {
        if item.bytes.is_empty() {
            return Err(GraphError::bad_request(
                "Hosted content must have contentBytes.",
            ));
        }
    }
    Ok(())
}

fn check_mention_targets(tenant: &Tenant, mentions: &[Mention]) -> Result<(), GraphError> {
    for mention in mentions {
        if let MentionTarget::User { id, .. } = &mention.mentioned {
            if tenant.user(*id).is_none() {
                return Err(GraphError::bad_request(format!(
                    "Mentioned user '{id}' was not found."
                )));
            }
        }
    }
    Ok(())
}

fn check_body(
    content: &str,
    mentions: &[Mention],
    attachments: &[Attachment],
) -> Result<(), GraphError> {
    if content.trim().is_empty() && attachments.is_empty() {
        return Err(GraphError::bad_request("Missing body content."));
    }
    if content.len() > MAX_BODY_BYTES {
        return Err(GraphError::new(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!(
                "Message size exceeds the limit: the body is {} bytes, the limit is {MAX_BODY_BYTES}.",
                content.len()
            ),
        ));
    }
    if !mentions_match(content, mentions) {
        return Err(GraphError::bad_request(
            "Mentions in the message body do not match the mentions collection: every <at id=\"N\"> needs one mentions entry with id N.",
        ));
    }
    for attachment in attachments {
        let reference = format!("<attachment id=\"{}\"", attachment.id);
        if !content.contains(&reference) {
            return Err(GraphError::bad_request(format!(
                "Attachment '{}' is not referenced in the message body by an <attachment id> element.",
                attachment.id
            )));
        }
    }
    Ok(())
}

/// The `N` of every `<at id="N">` (or `id='N'`) element in `content`.
fn at_ids(content: &str) -> Vec<i32> {
    let mut out = Vec::new();
    let mut rest = content;
    while let Some(pos) = rest.find("<at ") {
        rest = &rest[pos + 4..];
        let end = rest.find('>').unwrap_or(rest.len());
        let attrs = &rest[..end];
        if let Some(p) = attrs.find("id=") {
            let value = attrs[p + 3..].trim_start_matches(['"', '\'']);
            let digits: String = value
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '-')
                .collect();
            if let Ok(n) = digits.parse() {
                out.push(n);
            } else {
                out.push(i32::MIN);
            }
        }
        rest = &rest[end..];
    }
    out
}

fn channel_mut<'a>(
    tenant: &'a mut Tenant,
    team: Uuid,
    channel: &str,
    user: Uuid,
) -> Result<&'a mut Channel, GraphError> {
    let team_ref: &mut Team = tenant
        .team_mut(team)
        .ok_or_else(|| GraphError::not_found(format!("No team found with Group Id {team}")))?;
    let visible = {
        let view: &Team = team_ref;
        let ch = view
            .channel(channel)
            .ok_or_else(|| GraphError::not_found("Channel not found."))?;
        ch.visible_to(view, user)
    };
    if !visible {
        return Err(GraphError::forbidden(
            "The user is not a member of this channel.",
        ));
    }
    team_ref
        .channel_mut(channel)
        .ok_or_else(|| GraphError::not_found("Channel not found."))
}

fn root_idx(log: &MessageLog, id: &str) -> Result<usize, GraphError> {
    log.root_index(id)
        .ok_or_else(|| GraphError::not_found(format!("Message '{id}' was not found.")))
}

fn target_mut<'a>(
    log: &'a mut MessageLog,
    idx: usize,
    reply_id: Option<&str>,
) -> Result<&'a mut Message, GraphError> {
    let root = &mut log.roots[idx];
    match reply_id {
        None => Ok(root),
        Some(rid) => root
            .reply_mut(rid)
            .ok_or_else(|| GraphError::not_found(format!("Reply '{rid}' was not found."))),
    }
}
