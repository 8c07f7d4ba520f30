//! The cache's row types: plain data the engine builds from Graph responses and gets back from
//! [`CacheStore`](crate::CacheStore). No behaviour beyond defaults; how rows are stored lives in
//! [`cache`](crate::cache) and [`search`](crate::search).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A team the account has joined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamRow {
    /// Graph's team id (the group id).
    pub id: String,
    /// The team's name.
    pub display_name: String,
    /// The team's description.
    pub description: Option<String>,
}

/// A channel of a team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelRow {
    /// The team the channel belongs to (for a shared channel: the first team it was listed in).
    pub team_id: String,
    /// Graph's channel id (`19:…@thread.tacv2`), unique per account.
    pub id: String,
    /// The channel's name.
    pub display_name: String,
    /// The channel's description.
    pub description: Option<String>,
    /// Graph's membershipType: "standard", "private", "shared" or what Graph sends.
    pub membership_type: String,
    /// Link to the channel in Teams.
    pub web_url: Option<String>,
    /// Whether the person follows it (synced in the background). Preserved across
    /// `replace_channels`; new channels default to false. Ignored on write by
    /// `replace_channels` (use `set_followed`).
    pub followed: bool,
}

/// Identifies a message: root posts have `root_id == id`; replies have `root_id` = the root's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessageKey {
    /// The channel.
    pub channel_id: String,
    /// The thread's root post.
    pub root_id: String,
    /// The message itself.
    pub id: String,
}

/// One message (root post or reply) as cached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRow {
    /// The channel's team. On read this is the team of the stored channel.
    pub team_id: String,
    /// The channel.
    pub channel_id: String,
    /// Graph's message id.
    pub id: String,
    /// The root post's id for a reply; None for a root post.
    pub reply_to_id: Option<String>,
    /// Graph's messageType, raw ("message", "systemEventMessage", …).
    pub message_type: String,
    /// createdDateTime.
    pub created_at: DateTime<Utc>,
    /// lastModifiedDateTime: an update older than or equal to the stored one is ignored.
    pub last_modified_at: DateTime<Utc>,
    /// lastEditedDateTime.
    pub last_edited_at: Option<DateTime<Utc>>,
    /// deletedDateTime: set on tombstones (kept, not removed; not searchable).
    pub deleted_at: Option<DateTime<Utc>>,
    /// The post's subject line.
    pub subject: Option<String>,
    /// Graph's summary.
    pub summary: Option<String>,
    /// "normal", "high", "urgent" or what Graph sends.
    pub importance: String,
    /// Sender's id (user, app or device id).
    pub from_id: Option<String>,
    /// Sender's display name.
    pub from_name: Option<String>,
    /// "user", "application" or "device".
    pub from_kind: Option<String>,
    /// Sanitised HTML for the web view.
    pub body_html: String,
    /// Plain text, indexed for search with `subject` and `from_name`.
    pub body_text: String,
    /// Link to the message in Teams.
    pub web_url: Option<String>,
    /// Graph's etag.
    pub etag: Option<String>,
    /// Whether the message @-mentions the account's user.
    pub mentions_me: bool,
    /// Reactions, in Graph's order.
    pub reactions: Vec<ReactionRow>,
    /// Mentions, in Graph's order.
    pub mentions: Vec<MentionRow>,
    /// Attachments, in Graph's order.
    pub attachments: Vec<AttachmentRow>,
    /// Hosted content ids referenced by the body.
    pub hosted: Vec<String>,
}

/// One reaction on a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReactionRow {
    /// "like", "heart", an emoji, … as Graph sends it.
    pub reaction_type: String,
    /// Who reacted.
    pub user_id: Option<String>,
    /// Their name, when Graph gives it.
    pub display_name: Option<String>,
    /// When.
    pub created_at: Option<DateTime<Utc>>,
}

/// One @-mention in a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MentionRow {
    /// The `<at id="N">` number.
    pub mention_id: i64,
    /// The mention's text.
    pub text: String,
    /// The mentioned user's id, when a user.
    pub user_id: Option<String>,
    /// Their name.
    pub display_name: Option<String>,
}

/// One attachment of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachmentRow {
    /// Graph's attachment id.
    pub id: Option<String>,
    /// Its contentType (a MIME type, "reference", "application/vnd.microsoft.card.adaptive", …).
    pub content_type: String,
    /// Its name.
    pub name: Option<String>,
    /// Where it lives.
    pub content_url: Option<String>,
    /// Inline content (cards), raw.
    pub content: Option<String>,
    /// Thumbnail.
    pub thumbnail_url: Option<String>,
}

/// Per-channel sync state, advanced in the same transaction as the page it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    /// The saved @odata.deltaLink (a round is done).
    pub delta_link: Option<String>,
    /// The @odata.nextLink of a round in progress.
    pub next_link: Option<String>,
    /// The newest lastModifiedDateTime ingested so far.
    pub watermark: Option<DateTime<Utc>>,
    /// When the current round started.
    pub round_started_at: Option<DateTime<Utc>>,
    /// When a round last finished.
    pub last_synced_at: Option<DateTime<Utc>>,
    /// The list-paging nextLink for older history.
    pub history_link: Option<String>,
    /// Whether all older history has been fetched.
    pub history_complete: bool,
}

/// What an ingest changed (for timeline diffs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IngestOutcome {
    /// Messages that were not stored before.
    pub inserted: Vec<MessageKey>,
    /// Messages whose stored row was older and got replaced.
    pub updated: Vec<MessageKey>,
    /// Messages whose stored row was as new or newer (left alone).
    pub unchanged: usize,
}

/// A root post as a timeline shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineItem {
    /// The post.
    pub row: MessageRow,
    /// Live (not deleted) replies stored for it.
    pub reply_count: i64,
    /// Creation time of the newest live reply.
    pub last_reply_at: Option<DateTime<Utc>>,
    /// Whether it is unread (same rule as [`ChannelCounts::unread`]).
    pub unread: bool,
    /// The person's unsent writes on this message (or, for a local echo, the write that
    /// creates it), oldest first; the engine fills this, the store's reads leave it empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingWrite>,
}

/// An unfinished outbox item as a timeline shows it: a local echo's state, or a pending change
/// to a message (its effect is already applied to the item's row by the engine).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingWrite {
    /// The outbox item (what retry and cancel name).
    pub outbox_id: i64,
    /// What it does.
    pub kind: crate::OutboxKind,
    /// Where it stands.
    pub state: crate::OutboxState,
    /// Attempts begun so far.
    pub attempts: u32,
    /// Why the latest attempt failed (code), when it did.
    pub error_code: Option<String>,
    /// Why, for a person.
    pub error_message: Option<String>,
    /// When a failed item is tried again.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl From<&crate::OutboxItem> for PendingWrite {
    fn from(item: &crate::OutboxItem) -> Self {
        PendingWrite {
            outbox_id: item.id,
            kind: item.kind,
            state: item.state,
            attempts: item.attempts,
            error_code: item.last_error_code.clone(),
            error_message: item.last_error_message.clone(),
            next_attempt_at: item.next_attempt_at,
        }
    }
}

/// A channel member, as a mention can resolve to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    /// The user's object id (what `<at>` mentions carry).
    pub user_id: String,
    /// Display name.
    pub display_name: String,
    /// Mail address.
    pub email: Option<String>,
    /// `owner`, `guest`, … (empty for ordinary members).
    pub roles: Vec<String>,
}

/// Unread figures for one channel that has cached messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelCounts {
    /// The channel's team.
    pub team_id: String,
    /// The channel.
    pub channel_id: String,
    /// Live messages (roots and replies) not sent by the account's user, created after the
    /// read marker (all of them when there is none).
    pub unread: i64,
    /// Those of them that mention the account's user.
    pub mentions: i64,
    /// Creation time of the newest live message.
    pub last_activity: Option<DateTime<Utc>>,
}

/// A full-text search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// What the person typed. Words are matched (all of them, diacritics and case ignored); the
    /// last word also matches as a prefix unless the text ends with a space. FTS5 syntax has no
    /// meaning here: every word is quoted.
    pub text: String,
    /// Only this team.
    pub team_id: Option<String>,
    /// Only this channel.
    pub channel_id: Option<String>,
    /// Only this sender.
    pub from_id: Option<String>,
    /// Only messages created at or after this time.
    pub after: Option<DateTime<Utc>>,
    /// Only messages created strictly before this time.
    pub before: Option<DateTime<Utc>>,
    /// At most this many hits: 0 means the default 20; capped at 200.
    pub limit: usize,
}

impl SearchQuery {
    /// A query for `text` with no filters and the default limit.
    pub fn new(text: impl Into<String>) -> SearchQuery {
        SearchQuery {
            text: text.into(),
            team_id: None,
            channel_id: None,
            from_id: None,
            after: None,
            before: None,
            limit: 20,
        }
    }
}

impl Default for SearchQuery {
    fn default() -> Self {
        SearchQuery::new("")
    }
}

/// A piece of a search snippet: matched words have `highlight` set. Plain text, never HTML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnippetPart {
    /// The text.
    pub text: String,
    /// Whether it is a match.
    pub highlight: bool,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The message.
    pub key: MessageKey,
    /// Its team.
    pub team_id: String,
    /// Its sender's name.
    pub from_name: Option<String>,
    /// When it was posted.
    pub created_at: DateTime<Utc>,
    /// Its subject.
    pub subject: Option<String>,
    /// A few words of the body around the matches.
    pub snippet: Vec<SnippetPart>,
    /// Relevance: a BM25 score (higher is better; comparable within one search only). Hits
    /// come best first.
    pub rank: f64,
}
