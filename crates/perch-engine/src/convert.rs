//! Graph's `chatMessage` (perch-graph's DTO) → the store's [`MessageRow`]: the body sanitised
//! by perch-html (hosted-content images rewritten to the shell's media URLs), plain text for
//! search, "mentions me" from `mentions[]`, reactions, mentions and attachments flattened, and
//! inline `replies` (from `$expand=replies`) turned into rows of their own.
//!
//! A message without any timestamp cannot be ordered or compared, so it is skipped with a
//! warning (and counted) instead of being stored with an invented time.

use chrono::{DateTime, Utc};
use perch_graph::ChatMessage;
use perch_html::MediaRewrite;
use perch_store::{AttachmentRow, MentionRow, MessageRow, ReactionRow};

/// Bodies longer than this are stored as escaped text instead of being parsed as HTML.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// What [`to_rows`] needs to know about where the messages came from.
#[derive(Debug, Clone)]
pub struct Origin<'a> {
    /// The team.
    pub team_id: &'a str,
    /// The channel.
    pub channel_id: &'a str,
    /// The signed-in user's object id (lower-case GUID), for "mentions me".
    pub me: &'a str,
    /// How to rewrite images.
    pub media: &'a MediaRewrite,
}

/// Rows of one page, and the newest `lastModifiedDateTime` seen in it.
#[derive(Debug, Default)]
pub struct Converted {
    /// Roots and replies.
    pub rows: Vec<MessageRow>,
    /// The newest `lastModifiedDateTime` among them.
    pub newest: Option<DateTime<Utc>>,
    /// Messages skipped because they had no timestamp at all.
    pub skipped: usize,
}

/// Converts a page of root posts (with their inline replies) or of replies.
pub fn to_rows(messages: &[ChatMessage], origin: &Origin<'_>) -> Converted {
    let mut out = Converted::default();
    for message in messages {
        push(message, None, origin, &mut out);
        for reply in &message.replies {
            push(reply, Some(&message.id), origin, &mut out);
        }
    }
    out
}

fn push(message: &ChatMessage, root: Option<&String>, origin: &Origin<'_>, out: &mut Converted) {
    match row(message, root, origin) {
        Some(row) => {
            out.newest = Some(
                out.newest
                    .map_or(row.last_modified_at, |n| n.max(row.last_modified_at)),
            );
            out.rows.push(row);
        }
        None => {
            tracing::warn!(id = %message.id, "skipping a message without timestamps");
            out.skipped += 1;
        }
    }
}

/// One message as a row (`root`: the root's id when this is an inline reply).
pub fn row(
    message: &ChatMessage,
    root: Option<&String>,
    origin: &Origin<'_>,
) -> Option<MessageRow> {
    if message.id.is_empty() {
        return None;
    }
    let created_at = message
        .created_date_time
        .or(message.last_modified_date_time)?;
    let last_modified_at = message
        .last_modified_date_time
        .unwrap_or(created_at)
        .max(message.deleted_date_time.unwrap_or(created_at));
    let reply_to_id = message
        .reply_to_id
        .clone()
        .filter(|r| !r.is_empty() && *r != message.id)
        .or_else(|| root.cloned());
    let sanitized = if message.body.content.len() > MAX_BODY_BYTES {
        // Far beyond Teams' ~28 KB limit: not a real message. Parsing deeply nested HTML of
        // this size can take seconds, so keep it as escaped text (cut on a char boundary).
        let mut cut = MAX_BODY_BYTES;
        while !message.body.content.is_char_boundary(cut) {
            cut -= 1;
        }
        perch_html::sanitize(&message.body.content[..cut], "text", origin.media)
    } else {
        perch_html::sanitize(
            &message.body.content,
            message.body.content_type.as_str(),
            origin.media,
        )
    };
    let (from_kind, from_id, from_name) = match message.from.as_ref().and_then(|f| f.principal()) {
        Some((kind, identity)) => (
            Some(kind.to_owned()),
            Some(identity.id.clone()).filter(|id| !id.is_empty()),
            identity.display_name.clone(),
        ),
        None => (None, None, None),
    };
    let mentions: Vec<MentionRow> = message
        .mentions
        .iter()
        .map(|m| {
            let who = m
                .mentioned
                .as_ref()
                .and_then(|s| s.principal())
                .map(|(_, i)| i);
            MentionRow {
                mention_id: m.id,
                text: m.mention_text.clone(),
                user_id: who.map(|i| i.id.clone()).filter(|id| !id.is_empty()),
                display_name: who.and_then(|i| i.display_name.clone()),
            }
        })
        .collect();
    let mentions_me = !origin.me.is_empty()
        && mentions.iter().any(|m| {
            m.user_id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(origin.me))
        });
    let reactions = message
        .reactions
        .iter()
        .map(|r| {
            let who = r.user.as_ref().and_then(|s| s.principal()).map(|(_, i)| i);
            ReactionRow {
                reaction_type: r.reaction_type.clone(),
                user_id: who.map(|i| i.id.clone()).filter(|id| !id.is_empty()),
                display_name: r
                    .display_name
                    .clone()
                    .or_else(|| who.and_then(|i| i.display_name.clone())),
                created_at: r.created_date_time,
            }
        })
        .collect();
    let attachments = message
        .attachments
        .iter()
        .map(|a| AttachmentRow {
            id: a.id.clone(),
            content_type: a.content_type.clone(),
            name: a.name.clone(),
            content_url: a.content_url.clone().filter(|u| is_web_url(u)),
            content: a.content.clone(),
            thumbnail_url: a.thumbnail_url.clone().filter(|u| is_web_url(u)),
        })
        .collect();
    Some(MessageRow {
        team_id: origin.team_id.to_owned(),
        channel_id: origin.channel_id.to_owned(),
        id: message.id.clone(),
        reply_to_id,
        message_type: message.message_type.as_str().to_owned(),
        created_at,
        last_modified_at,
        last_edited_at: message.last_edited_date_time,
        deleted_at: message.deleted_date_time,
        subject: message.subject.clone().filter(|s| !s.is_empty()),
        summary: message.summary.clone().filter(|s| !s.is_empty()),
        importance: message.importance.as_str().to_owned(),
        from_id,
        from_name,
        from_kind,
        body_html: sanitized.html,
        body_text: sanitized.text,
        web_url: message.web_url.clone().filter(|u| is_web_url(u)),
        etag: message.etag.clone(),
        mentions_me,
        reactions,
        mentions,
        attachments,
        hosted: sanitized
            .hosted
            .into_iter()
            .map(|h| h.hosted_content_id)
            .collect(),
    })
}

/// Links the UI may open in the system browser: http(s) only (perch-html's rule for links).
fn is_web_url(url: &str) -> bool {
    perch_html::policy::is_http_src(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media() -> MediaRewrite {
        MediaRewrite {
            graph_bases: vec!["https://graph.microsoft.com".into()],
            media_prefix: "perch-media://localhost/".into(),
            account_key: "t.u".into(),
        }
    }

    fn parse(json: serde_json::Value) -> ChatMessage {
        serde_json::from_value(json).expect("parses")
    }

    #[test]
    fn converts_a_root_with_inline_replies_and_mentions_of_me() {
        let me = "11111111-1111-1111-1111-111111111111";
        let m = parse(serde_json::json!({
            "id": "100", "messageType": "message",
            "createdDateTime": "2026-11-01T10:00:00Z", "lastModifiedDateTime": "2026-11-01T10:05:00Z",
            "subject": "", "importance": "high",
            "from": {"user": {"id": "u2", "displayName": "Jane"}},
            "body": {"contentType": "html", "content": "<p>Hi <at id=\"0\">Me</at><script>x()</script></p>"},
            "mentions": [{"id": 0, "mentionText": "Me", "mentioned": {"user": {"id": me.to_uppercase(), "displayName": "Me"}}}],
            "reactions": [{"reactionType": "like", "createdDateTime": "2026-11-01T10:04:00Z", "user": {"user": {"id": "u3"}}}],
            "attachments": [{"id": "a", "contentType": "reference", "contentUrl": "javascript:alert(1)", "name": "x.docx"}],
            "webUrl": "https://teams.microsoft.com/l/message/1",
            "replies": [{"id": "101", "replyToId": "100", "createdDateTime": "2026-11-01T10:01:00Z",
                         "body": {"contentType": "text", "content": "a <b>"}}]
        }));
        let media = media();
        let out = to_rows(
            &[m],
            &Origin {
                team_id: "t",
                channel_id: "c",
                me,
                media: &media,
            },
        );
        assert_eq!(out.rows.len(), 2);
        let root = &out.rows[0];
        assert!(root.mentions_me);
        assert_eq!(root.subject, None);
        assert_eq!(root.importance, "high");
        assert_eq!(root.from_kind.as_deref(), Some("user"));
        assert!(!root.body_html.contains("script"));
        assert!(root.body_text.contains("Hi Me"));
        assert_eq!(
            root.attachments[0].content_url, None,
            "javascript: link dropped"
        );
        assert_eq!(root.reactions[0].reaction_type, "like");
        let reply = &out.rows[1];
        assert_eq!(reply.reply_to_id.as_deref(), Some("100"));
        assert!(!reply.mentions_me);
        assert!(reply.body_html.contains("&lt;b&gt;"));
        assert_eq!(out.newest, Some(root.last_modified_at));
    }

    #[test]
    fn a_message_without_timestamps_is_skipped_not_invented() {
        let m = parse(serde_json::json!({"id": "1", "body": {"content": "x"}}));
        let media = media();
        let out = to_rows(
            &[m],
            &Origin {
                team_id: "t",
                channel_id: "c",
                me: "",
                media: &media,
            },
        );
        assert!(out.rows.is_empty());
        assert_eq!(out.skipped, 1);
    }

    #[test]
    fn a_deletion_advances_last_modified() {
        let m = parse(serde_json::json!({
            "id": "1", "createdDateTime": "2026-11-01T10:00:00Z",
            "lastModifiedDateTime": "2026-11-01T10:00:00Z",
            "deletedDateTime": "2026-11-02T10:00:00Z", "body": {"contentType": "html", "content": ""}
        }));
        let media = media();
        let out = to_rows(
            &[m],
            &Origin {
                team_id: "t",
                channel_id: "c",
                me: "",
                media: &media,
            },
        );
        assert_eq!(
            out.rows[0].last_modified_at,
            out.rows[0].deleted_at.unwrap()
        );
    }
}
