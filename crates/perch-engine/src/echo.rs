//! Local echoes: how the person's unsent writes show in timelines and threads before the
//! server has them. Pure functions over outbox items and cached rows, used by the
//! subscriptions ([`crate::views`]) on every read, so that what a view shows is always the
//! cache with the unfinished outbox laid over it:
//!
//! - an unsent post or reply is a row of its own, keyed `local-{outbox id}` ([`local_id`]),
//!   from the signed-in user, created when it was queued, with its [`PendingWrite`];
//! - an unsent edit, delete, undelete, reaction or un-reaction is applied to the row it targets
//!   (body replaced, tombstoned, restored, reaction added or removed), and its
//!   [`PendingWrite`] is listed on that row;
//! - a write on a message that is itself unsent targets that message's echo.
//!
//! When a post or reply is sent, the server's message is stored *before* the item is marked
//! Sent, and the view replaces the echo by the stored row in one diff
//! ([`TimelineDiff::Replace`](crate::TimelineDiff::Replace)), so there is never a moment
//! with both or neither.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use perch_html::MediaRewrite;
use perch_store::{MessageKey, MessageRow, OutboxItem, OutboxKind, PendingWrite, ReactionRow};
use serde::{Deserialize, Serialize};

/// The id prefix of local echoes.
pub const LOCAL_PREFIX: &str = "local-";

/// The id of the local echo of outbox item `id`.
pub fn local_id(id: i64) -> String {
    format!("{LOCAL_PREFIX}{id}")
}

/// The outbox item a local echo id names.
pub fn parse_local_id(id: &str) -> Option<i64> {
    id.strip_prefix(LOCAL_PREFIX)?
        .parse()
        .ok()
        .filter(|n| *n > 0)
}

/// What an outbox item's payload holds (the engine writes it; the store keeps it opaque).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Payload {
    /// Body HTML as sent (posts, replies, edits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Subject (posts and edits of posts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// `normal`, `high` or `urgent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub importance: Option<String>,
    /// Mentions of the body (`<at id="N">`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<PayloadMention>,
    /// The reaction of a react or unreact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reaction: Option<String>,
}

/// One mention of a payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadMention {
    /// The N of `<at id="N">`.
    pub id: i64,
    /// The person's object id.
    pub user_id: String,
    /// The text inside `<at>`.
    pub name: String,
}

impl Payload {
    /// The payload of an item (an unreadable one reads as empty: the echo shows no body).
    pub fn of(item: &OutboxItem) -> Payload {
        serde_json::from_value(item.payload.clone()).unwrap_or_default()
    }

    /// As stored.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// Who the signed-in user is, for echo rows.
#[derive(Debug, Clone)]
pub struct Me {
    /// Object id.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
}

/// The message an unfinished item creates (its echo) or acts on, given the channel's other
/// unfinished items (for placeholders: a write on an unsent message acts on that message's
/// echo). None when it cannot be placed (its dependency is gone).
pub fn key_of(item: &OutboxItem, by_id: &HashMap<i64, &OutboxItem>) -> Option<MessageKey> {
    let channel_id = item.channel_id.clone();
    match item.kind {
        OutboxKind::Post => {
            let id = local_id(item.id);
            Some(MessageKey {
                channel_id,
                root_id: id.clone(),
                id,
            })
        }
        OutboxKind::Reply => Some(MessageKey {
            channel_id,
            root_id: thread_of(item, by_id)?,
            id: local_id(item.id),
        }),
        _ => match &item.target_id {
            Some(target) => Some(MessageKey {
                channel_id,
                root_id: item.thread_root.clone().unwrap_or_else(|| target.clone()),
                id: target.clone(),
            }),
            None => {
                let dep = by_id.get(&item.depends_on?)?;
                key_of(dep, by_id).filter(|_| dep.kind.creates_message())
            }
        },
    }
}

/// The thread root a reply goes in: its `thread_root`, or the echo of the unsent post (or the
/// thread of the unsent reply) it depends on.
fn thread_of(item: &OutboxItem, by_id: &HashMap<i64, &OutboxItem>) -> Option<String> {
    if let Some(root) = &item.thread_root {
        return Some(root.clone());
    }
    let dep = by_id.get(&item.depends_on?)?;
    match dep.kind {
        OutboxKind::Post => Some(local_id(dep.id)),
        OutboxKind::Reply => thread_of(dep, by_id),
        _ => None,
    }
}

/// Whether an item still shows as an echo or a pending change.
pub fn shows(item: &OutboxItem) -> bool {
    !item.state.is_finished()
}

/// The echo row of an unsent post or reply.
pub fn echo_row(
    item: &OutboxItem,
    key: &MessageKey,
    me: &Me,
    media: &MediaRewrite,
    team_id: &str,
) -> MessageRow {
    let payload = Payload::of(item);
    let html = payload.html.as_deref().unwrap_or_default();
    let clean = perch_html::sanitize(html, "html", media);
    MessageRow {
        team_id: team_id.to_owned(),
        channel_id: key.channel_id.clone(),
        id: key.id.clone(),
        reply_to_id: (item.kind == OutboxKind::Reply).then(|| key.root_id.clone()),
        message_type: "message".to_owned(),
        created_at: item.enqueued_at,
        last_modified_at: item.updated_at,
        last_edited_at: None,
        deleted_at: None,
        subject: payload.subject.filter(|s| !s.is_empty()),
        summary: None,
        importance: payload.importance.unwrap_or_else(|| "normal".to_owned()),
        from_id: Some(me.id.clone()),
        from_name: me.name.clone(),
        from_kind: Some("user".to_owned()),
        body_html: clean.html,
        body_text: clean.text,
        web_url: None,
        etag: None,
        mentions_me: false,
        reactions: Vec::new(),
        mentions: payload
            .mentions
            .iter()
            .map(|m| perch_store::MentionRow {
                mention_id: m.id,
                text: m.name.clone(),
                user_id: Some(m.user_id.clone()),
                display_name: Some(m.name.clone()),
            })
            .collect(),
        attachments: Vec::new(),
        hosted: Vec::new(),
    }
}

/// Applies an unsent write to the row it targets.
pub fn apply(row: &mut MessageRow, item: &OutboxItem, me: &Me, media: &MediaRewrite) {
    let payload = Payload::of(item);
    let at: DateTime<Utc> = item.enqueued_at;
    match item.kind {
        OutboxKind::Post | OutboxKind::Reply => {}
        OutboxKind::Edit => {
            if let Some(html) = &payload.html {
                let clean = perch_html::sanitize(html, "html", media);
                row.body_html = clean.html;
                row.body_text = clean.text;
            }
            if row.reply_to_id.is_none() && payload.subject.is_some() {
                row.subject = payload.subject.clone().filter(|s| !s.is_empty());
            }
            if let Some(importance) = &payload.importance {
                row.importance = importance.clone();
            }
            row.last_edited_at = Some(at);
        }
        OutboxKind::Delete => row.deleted_at = Some(at),
        OutboxKind::Undelete => row.deleted_at = None,
        OutboxKind::React | OutboxKind::Unreact => {
            let Some(reaction) = payload.reaction else {
                return;
            };
            let mine = |r: &ReactionRow| {
                r.reaction_type == reaction && r.user_id.as_deref() == Some(me.id.as_str())
            };
            if item.kind == OutboxKind::React {
                if !row.reactions.iter().any(mine) {
                    row.reactions.push(ReactionRow {
                        reaction_type: reaction.clone(),
                        user_id: Some(me.id.clone()),
                        display_name: me.name.clone(),
                        created_at: Some(at),
                    });
                }
            } else {
                row.reactions.retain(|r| !mine(r));
            }
        }
    }
}

/// Lays the unfinished writes of `pending` that target `row` over it (oldest first), and
/// lists them on the item. Returns whether any applied.
pub fn overlay(
    row: &mut MessageRow,
    list: &mut Vec<PendingWrite>,
    pending: &[OutboxItem],
    by_id: &HashMap<i64, &OutboxItem>,
    me: &Me,
    media: &MediaRewrite,
) -> bool {
    let mut any = false;
    for item in pending {
        if item.kind.creates_message() {
            continue;
        }
        let Some(key) = key_of(item, by_id) else {
            continue;
        };
        if key.id == row.id {
            apply(row, item, me, media);
            list.push(PendingWrite::from(item));
            any = true;
        }
    }
    any
}

/// Unsent (not cancelled) replies of `root_id` among `pending`: they join its reply count.
pub fn pending_reply_count(
    root_id: &str,
    pending: &[OutboxItem],
    by_id: &HashMap<i64, &OutboxItem>,
) -> i64 {
    pending
        .iter()
        .filter(|item| {
            item.kind == OutboxKind::Reply
                && shows(item)
                && thread_of(item, by_id).as_deref() == Some(root_id)
        })
        .count() as i64
}

/// The index of a channel's unfinished items by id.
pub fn index(pending: &[OutboxItem]) -> HashMap<i64, &OutboxItem> {
    pending.iter().map(|i| (i.id, i)).collect()
}

/// Collapses runs of whitespace and trims: how bodies are compared when an unconfirmed post is
/// looked for on the server (Graph may reformat the HTML, never the words).
pub fn normalise_text(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `row` (a message by the signed-in user) is what the unconfirmed post or reply
/// `item` created: the same kind and thread, created no earlier than the attempt began
/// (less `skew` for the two clocks), and the same words (and subject, for a post).
pub fn is_match(item: &OutboxItem, row: &MessageRow, skew: chrono::Duration) -> bool {
    let Some(started) = item.attempt_started_at else {
        return false;
    };
    if row.created_at < started - skew {
        return false;
    }
    let same_place = match item.kind {
        OutboxKind::Post => row.reply_to_id.is_none(),
        OutboxKind::Reply => {
            row.reply_to_id.is_some() && row.reply_to_id.as_deref() == item.thread_root.as_deref()
        }
        _ => false,
    };
    if !same_place {
        return false;
    }
    let payload = Payload::of(item);
    if item.kind == OutboxKind::Post
        && payload.subject.as_deref().unwrap_or("").trim() != row.subject.as_deref().unwrap_or("")
    {
        return false;
    }
    let sent = perch_html::plain_text(payload.html.as_deref().unwrap_or(""), "html");
    normalise_text(&sent) == normalise_text(&row.body_text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use perch_store::OutboxState;
    use serde_json::json;

    fn item(id: i64, kind: OutboxKind, payload: serde_json::Value) -> OutboxItem {
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        OutboxItem {
            id,
            team_id: "t".into(),
            channel_id: "c".into(),
            thread_root: None,
            target_id: None,
            depends_on: None,
            kind,
            payload,
            state: OutboxState::Queued,
            attempts: 0,
            enqueued_at: t,
            attempt_started_at: None,
            next_attempt_at: None,
            last_error_code: None,
            last_error_message: None,
            server_id: None,
            updated_at: t,
        }
    }

    fn me() -> Me {
        Me {
            id: "me".into(),
            name: Some("Me Myself".into()),
        }
    }

    fn media() -> MediaRewrite {
        MediaRewrite {
            graph_bases: vec!["https://graph.microsoft.com".into()],
            media_prefix: "perch-media://localhost/".into(),
            account_key: "a".into(),
        }
    }

    #[test]
    fn local_ids_round_trip() {
        assert_eq!(local_id(7), "local-7");
        assert_eq!(parse_local_id("local-7"), Some(7));
        for bad in [
            "local-",
            "local-x",
            "local--1",
            "local-0",
            "7",
            "1700000000000",
        ] {
            assert_eq!(parse_local_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_follow_placeholders() {
        let post = item(1, OutboxKind::Post, json!({}));
        let mut reply = item(2, OutboxKind::Reply, json!({}));
        reply.depends_on = Some(1);
        let mut edit_reply = item(3, OutboxKind::Edit, json!({}));
        edit_reply.depends_on = Some(2);
        let mut react_root = item(4, OutboxKind::React, json!({}));
        react_root.target_id = Some("srv".into());
        let mut on_reply = item(5, OutboxKind::Delete, json!({}));
        on_reply.target_id = Some("r9".into());
        on_reply.thread_root = Some("p9".into());
        let all = [post, reply, edit_reply, react_root, on_reply];
        let by_id = index(&all);
        let k = |i: usize| key_of(&all[i], &by_id).map(|k| (k.root_id, k.id));
        assert_eq!(k(0), Some(("local-1".into(), "local-1".into())));
        assert_eq!(k(1), Some(("local-1".into(), "local-2".into())));
        assert_eq!(k(2), Some(("local-1".into(), "local-2".into())));
        assert_eq!(k(3), Some(("srv".into(), "srv".into())));
        assert_eq!(k(4), Some(("p9".into(), "r9".into())));
        let orphan = {
            let mut i = item(6, OutboxKind::Edit, json!({}));
            i.depends_on = Some(99);
            i
        };
        assert_eq!(key_of(&orphan, &by_id), None);
        assert_eq!(pending_reply_count("local-1", &all, &by_id), 1);
    }

    #[test]
    fn writes_apply_to_their_target() {
        let echo_src = item(
            1,
            OutboxKind::Post,
            json!({"html": "<p>Hi <at id=\"0\">Ann</at><script>x</script></p>", "subject": "S",
                   "mentions": [{"id": 0, "user_id": "u-ann", "name": "Ann"}]}),
        );
        let by_id = index(std::slice::from_ref(&echo_src));
        let key = key_of(&echo_src, &by_id).unwrap();
        let mut row = echo_row(&echo_src, &key, &me(), &media(), "t");
        assert_eq!(row.id, "local-1");
        assert_eq!(row.subject.as_deref(), Some("S"));
        assert!(!row.body_html.contains("script"), "{}", row.body_html);
        assert!(row.body_html.contains("data-mention-id"));
        assert_eq!(row.mentions.len(), 1);
        assert_eq!(row.from_id.as_deref(), Some("me"));

        let mut edit = item(2, OutboxKind::Edit, json!({"html": "<p>Changed</p>"}));
        edit.depends_on = Some(1);
        apply(&mut row, &edit, &me(), &media());
        assert_eq!(row.body_text, "Changed");
        assert!(row.last_edited_at.is_some());

        let react = item(3, OutboxKind::React, json!({"reaction": "like"}));
        apply(&mut row, &react, &me(), &media());
        apply(&mut row, &react, &me(), &media());
        assert_eq!(row.reactions.len(), 1, "once per person and kind");
        let unreact = item(4, OutboxKind::Unreact, json!({"reaction": "like"}));
        apply(&mut row, &unreact, &me(), &media());
        assert!(row.reactions.is_empty());

        apply(
            &mut row,
            &item(5, OutboxKind::Delete, json!({})),
            &me(),
            &media(),
        );
        assert!(row.deleted_at.is_some());
        apply(
            &mut row,
            &item(6, OutboxKind::Undelete, json!({})),
            &me(),
            &media(),
        );
        assert!(row.deleted_at.is_none());
    }

    #[test]
    fn matching_an_unconfirmed_post() {
        let started = DateTime::from_timestamp(1_700_000_100, 0).unwrap();
        let mut post = item(
            1,
            OutboxKind::Post,
            json!({"html": "<p>Hello   <strong>world</strong></p>", "subject": "Hi"}),
        );
        post.attempt_started_at = Some(started);
        let key = MessageKey {
            channel_id: "c".into(),
            root_id: "srv".into(),
            id: "srv".into(),
        };
        let mut row = echo_row(&post, &key, &me(), &media(), "t");
        row.id = "srv".into();
        row.body_text = "Hello world".into();
        row.created_at = started + chrono::Duration::seconds(1);
        let skew = chrono::Duration::minutes(2);
        assert!(is_match(&post, &row, skew));
        row.created_at = started - chrono::Duration::seconds(119);
        assert!(is_match(&post, &row, skew), "within the clock allowance");
        row.created_at = started - chrono::Duration::seconds(121);
        assert!(!is_match(&post, &row, skew), "before the attempt");
        row.created_at = started;
        row.subject = Some("Other".into());
        assert!(!is_match(&post, &row, skew), "another subject");
        row.subject = Some("Hi".into());
        row.body_text = "Hello world!".into();
        assert!(!is_match(&post, &row, skew), "other words");
        row.body_text = "Hello world".into();
        row.reply_to_id = Some("p".into());
        assert!(!is_match(&post, &row, skew), "a reply is not a post");
        let mut never = post.clone();
        never.attempt_started_at = None;
        row.reply_to_id = None;
        assert!(!is_match(&never, &row, skew), "never attempted");
    }
}
