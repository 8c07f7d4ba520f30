//! The data the UI sees: every type that crosses the IPC boundary, with its TypeScript
//! declaration derived by ts-rs (see [`crate::bindings`], which writes `ui/src/lib/bindings.ts`
//! and whose test fails when the checked-in file drifts). Names end in `Dto`; fields are
//! camelCase on the wire; timestamps are RFC 3339 strings in UTC; optional values are `null`.
//!
//! The conversions from engine and store rows live here too, so that what the UI may see is
//! decided in one place: message HTML only as perch-html sanitised it, links only http(s).

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use perch_core::compose::Draft;
use perch_engine::{SidebarChannel, SidebarDiff, SidebarTeam, Status, SyncStatus, TimelineDiff};
use perch_store::{
    AccountRecord, AccountState, AttachmentRow, MessageKey, OutboxKind, OutboxState, PendingWrite,
    ReactionRow, SearchHit, TimelineItem,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// RFC 3339 with milliseconds, `Z`.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A message's identity: root posts have `rootId === id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MessageKeyDto {
    /// The channel.
    pub channel_id: String,
    /// The thread's root post.
    pub root_id: String,
    /// The message.
    pub id: String,
}

impl From<&MessageKey> for MessageKeyDto {
    fn from(k: &MessageKey) -> Self {
        MessageKeyDto {
            channel_id: k.channel_id.clone(),
            root_id: k.root_id.clone(),
            id: k.id.clone(),
        }
    }
}

/// Where a queued write stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStateDto {
    /// Waiting its turn.
    Queued,
    /// Being sent.
    Sending,
    /// Sent.
    Sent,
    /// Failed; will retry.
    Failed,
    /// Refused for good: waits for the person.
    Wedged,
    /// Unsent too long: waits for the person.
    Expired,
    /// Discarded.
    Cancelled,
}

impl From<OutboxState> for OutboxStateDto {
    fn from(s: OutboxState) -> Self {
        match s {
            OutboxState::Queued => OutboxStateDto::Queued,
            OutboxState::Sending => OutboxStateDto::Sending,
            OutboxState::Sent => OutboxStateDto::Sent,
            OutboxState::Failed => OutboxStateDto::Failed,
            OutboxState::Wedged => OutboxStateDto::Wedged,
            OutboxState::Expired => OutboxStateDto::Expired,
            OutboxState::Cancelled => OutboxStateDto::Cancelled,
        }
    }
}

/// What a queued write does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum OutboxKindDto {
    /// A new post.
    Post,
    /// A reply.
    Reply,
    /// An edit.
    Edit,
    /// A delete.
    Delete,
    /// An undelete.
    Undelete,
    /// A reaction set.
    React,
    /// A reaction removed.
    Unreact,
}

impl From<OutboxKind> for OutboxKindDto {
    fn from(k: OutboxKind) -> Self {
        match k {
            OutboxKind::Post => OutboxKindDto::Post,
            OutboxKind::Reply => OutboxKindDto::Reply,
            OutboxKind::Edit => OutboxKindDto::Edit,
            OutboxKind::Delete => OutboxKindDto::Delete,
            OutboxKind::Undelete => OutboxKindDto::Undelete,
            OutboxKind::React => OutboxKindDto::React,
            OutboxKind::Unreact => OutboxKindDto::Unreact,
        }
    }
}

/// An unsent write laid over a message (or the write that creates a local echo).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PendingDto {
    /// The outbox item (what retry and discard name).
    #[ts(type = "number")]
    pub outbox_id: i64,
    /// What it does.
    pub kind: OutboxKindDto,
    /// Where it stands.
    pub state: OutboxStateDto,
    /// Attempts so far.
    pub attempts: u32,
    /// Why the latest attempt failed (code).
    pub error_code: Option<String>,
    /// Why, for a person.
    pub error_message: Option<String>,
    /// When a failed write is tried again.
    pub next_attempt_at: Option<String>,
}

impl From<&PendingWrite> for PendingDto {
    fn from(p: &PendingWrite) -> Self {
        PendingDto {
            outbox_id: p.outbox_id,
            kind: p.kind.into(),
            state: p.state.into(),
            attempts: p.attempts,
            error_code: p.error_code.clone(),
            error_message: p.error_message.clone(),
            next_attempt_at: p.next_attempt_at.map(ts),
        }
    }
}

/// One reaction type on a message, grouped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReactionDto {
    /// Graph's reactionType ("like", "heart", … or an emoji).
    pub reaction: String,
    /// The emoji shown for it.
    pub emoji: String,
    /// How many reacted so.
    pub count: u32,
    /// Whether the signed-in user did.
    pub mine: bool,
    /// Who, as known.
    pub names: Vec<String>,
}

/// The emoji for one of Graph's named reactions (any other value is already an emoji).
pub fn reaction_emoji(reaction: &str) -> String {
    match reaction {
        "like" => "👍",
        "heart" => "❤️",
        "laugh" => "😆",
        "surprised" => "😮",
        "sad" => "😢",
        "angry" => "😡",
        other => other,
    }
    .to_owned()
}

/// Groups reactions by type, in order of first appearance.
pub fn group_reactions(rows: &[ReactionRow], me: &str) -> Vec<ReactionDto> {
    let mut out: Vec<ReactionDto> = Vec::new();
    for r in rows {
        let at = match out.iter().position(|d| d.reaction == r.reaction_type) {
            Some(i) => i,
            None => {
                out.push(ReactionDto {
                    reaction: r.reaction_type.clone(),
                    emoji: reaction_emoji(&r.reaction_type),
                    count: 0,
                    mine: false,
                    names: Vec::new(),
                });
                out.len() - 1
            }
        };
        let d = &mut out[at];
        d.count += 1;
        d.mine |= r.user_id.as_deref() == Some(me);
        if let Some(name) = &r.display_name {
            d.names.push(name.clone());
        }
    }
    out
}

/// What an attachment is, for its chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKindDto {
    /// A reference to a document.
    File,
    /// An adaptive card or similar.
    Card,
    /// Anything else.
    Other,
}

/// A file or card attached to a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentDto {
    /// Graph's id.
    pub id: Option<String>,
    /// Its name.
    pub name: Option<String>,
    /// What it is.
    pub kind: AttachmentKindDto,
    /// Its content type.
    pub content_type: String,
    /// An http(s) link to open in the system browser.
    pub url: Option<String>,
}

/// A link the UI may open: perch-html's http(s) rule, and a URL that parses.
fn http_url(url: Option<&str>) -> Option<String> {
    let url = url?;
    (perch_html::policy::is_http_src(url) && url::Url::parse(url.trim()).is_ok())
        .then(|| url.trim().to_owned())
}

impl From<&AttachmentRow> for AttachmentDto {
    fn from(a: &AttachmentRow) -> Self {
        let kind = if a.content_type == "reference" {
            AttachmentKindDto::File
        } else if a.content_type.starts_with("application/vnd.microsoft.card") {
            AttachmentKindDto::Card
        } else {
            AttachmentKindDto::Other
        };
        AttachmentDto {
            id: a.id.clone(),
            name: a.name.clone(),
            kind,
            content_type: a.content_type.clone(),
            url: http_url(a.content_url.as_deref()),
        }
    }
}

/// People's messages or system events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MessageKindDto {
    /// A person's message.
    Message,
    /// A system event (shown small).
    System,
}

/// A root post or a reply, ready to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MessageDto {
    /// Its identity.
    pub key: MessageKeyDto,
    /// Message or system event.
    pub kind: MessageKindDto,
    /// When it was posted.
    pub created_at: String,
    /// When it was last edited.
    pub edited_at: Option<String>,
    /// Set on tombstones.
    pub deleted_at: Option<String>,
    /// The post's subject.
    pub subject: Option<String>,
    /// "normal", "high", "urgent".
    pub importance: String,
    /// Sender's id.
    pub from_id: Option<String>,
    /// Sender's name.
    pub from_name: Option<String>,
    /// Sent by the signed-in user.
    pub mine: bool,
    /// Sanitised HTML (perch-html's allow-list): the only HTML the UI renders.
    pub html: String,
    /// Plain text of the body.
    pub text: String,
    /// Link to the message in Teams.
    pub web_url: Option<String>,
    /// Whether it mentions the signed-in user.
    pub mentions_me: bool,
    /// Reactions, grouped.
    pub reactions: Vec<ReactionDto>,
    /// Attachments.
    pub attachments: Vec<AttachmentDto>,
    /// Live replies (roots only).
    pub reply_count: u32,
    /// When the newest reply was posted.
    pub last_reply_at: Option<String>,
    /// Unread.
    pub unread: bool,
    /// Unsent writes on it, oldest first.
    pub pending: Vec<PendingDto>,
    /// A local echo of an unsent post or reply.
    pub local: bool,
}

impl MessageDto {
    /// The DTO of a timeline item, for the user `me`.
    pub fn of(item: &TimelineItem, me: &str) -> MessageDto {
        let row = &item.row;
        let local = perch_engine::echo::parse_local_id(&row.id).is_some();
        MessageDto {
            key: MessageKeyDto::from(&perch_engine::views::key_of(row)),
            kind: if row.message_type == "message" {
                MessageKindDto::Message
            } else {
                MessageKindDto::System
            },
            created_at: ts(row.created_at),
            edited_at: row.last_edited_at.map(ts),
            deleted_at: row.deleted_at.map(ts),
            subject: row.subject.clone().filter(|s| !s.is_empty()),
            importance: row.importance.clone(),
            from_id: row.from_id.clone(),
            from_name: row.from_name.clone(),
            mine: row.from_id.as_deref() == Some(me),
            html: row.body_html.clone(),
            text: row.body_text.clone(),
            web_url: http_url(row.web_url.as_deref()),
            mentions_me: row.mentions_me,
            reactions: group_reactions(&row.reactions, me),
            attachments: row.attachments.iter().map(AttachmentDto::from).collect(),
            reply_count: u32::try_from(item.reply_count.max(0)).unwrap_or(u32::MAX),
            last_reply_at: item.last_reply_at.map(ts),
            unread: item.unread,
            pending: item.pending.iter().map(PendingDto::from).collect(),
            local,
        }
    }
}

/// One change to a timeline or a thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum TimelineDiffDto {
    /// A message the view did not have.
    Insert {
        /// It.
        item: MessageDto,
    },
    /// A new version of a message the view has.
    Update {
        /// It.
        item: MessageDto,
    },
    /// A message to drop.
    Remove {
        /// Its key.
        key: MessageKeyDto,
    },
    /// A local echo (`key`) is now the server's message, in its place.
    Replace {
        /// The echo's key.
        key: MessageKeyDto,
        /// The message.
        item: MessageDto,
    },
    /// Start over.
    Reset {
        /// Every item.
        items: Vec<MessageDto>,
    },
}

impl TimelineDiffDto {
    /// The DTO of an engine diff.
    pub fn of(diff: &TimelineDiff, me: &str) -> TimelineDiffDto {
        match diff {
            TimelineDiff::Insert { item } => TimelineDiffDto::Insert {
                item: MessageDto::of(item, me),
            },
            TimelineDiff::Update { item } => TimelineDiffDto::Update {
                item: MessageDto::of(item, me),
            },
            TimelineDiff::Remove { key } => TimelineDiffDto::Remove { key: key.into() },
            TimelineDiff::Replace { key, item } => TimelineDiffDto::Replace {
                key: key.into(),
                item: MessageDto::of(item, me),
            },
            TimelineDiff::Reset { items } => TimelineDiffDto::Reset {
                items: items.iter().map(|i| MessageDto::of(i, me)).collect(),
            },
        }
    }
}

/// A batch of diffs as streamed; the first batch is a reset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TimelineBatchDto {
    /// The subscription.
    pub subscription: u32,
    /// The diffs.
    pub diffs: Vec<TimelineDiffDto>,
    /// Whether all older history is loaded.
    pub history_complete: bool,
    /// When the store commit behind this batch happened, in Unix milliseconds (null when no
    /// commit of messages caused it): the start of the delta-to-screen figure.
    #[ts(type = "number | null")]
    pub committed_at_ms: Option<f64>,
}

impl TimelineBatchDto {
    /// The batch of engine diffs `diffs` for subscription `subscription`, for the user `me`.
    pub fn of(
        subscription: u32,
        diffs: &[TimelineDiff],
        me: &str,
        history_complete: bool,
        committed_at_ms: Option<f64>,
    ) -> TimelineBatchDto {
        TimelineBatchDto {
            subscription,
            diffs: diffs.iter().map(|d| TimelineDiffDto::of(d, me)).collect(),
            history_complete,
            committed_at_ms,
        }
    }
}

/// Per-channel notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum NotifyLevelDto {
    /// Every new message (in followed channels).
    All,
    /// Only messages that mention me.
    #[default]
    Mentions,
    /// Nothing.
    Off,
}

/// A channel in the sidebar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChannelDto {
    /// Graph's id.
    pub id: String,
    /// Its team.
    pub team_id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// "standard", "private", "shared".
    pub membership_type: String,
    /// Link in Teams.
    pub web_url: Option<String>,
    /// Synced in the background.
    pub followed: bool,
    /// Unread messages.
    pub unread: u32,
    /// Unread mentions of me.
    pub mentions: u32,
    /// The newest message's time.
    pub last_activity: Option<String>,
    /// Its notification setting.
    pub notify: NotifyLevelDto,
}

fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

impl ChannelDto {
    /// The DTO of a sidebar channel.
    pub fn of(c: &SidebarChannel, notify: NotifyLevelDto) -> ChannelDto {
        ChannelDto {
            id: c.channel.id.clone(),
            team_id: c.channel.team_id.clone(),
            name: c.channel.display_name.clone(),
            description: c.channel.description.clone(),
            membership_type: c.channel.membership_type.clone(),
            web_url: http_url(c.channel.web_url.as_deref()),
            followed: c.channel.followed,
            unread: count(c.unread),
            mentions: count(c.mentions),
            last_activity: c.last_activity.map(ts),
            notify,
        }
    }
}

/// A team and its channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TeamDto {
    /// Graph's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Its channels, in Graph's order.
    pub channels: Vec<ChannelDto>,
}

impl TeamDto {
    /// The DTO of a sidebar team; `notify` gives each channel's level.
    pub fn of(t: &SidebarTeam, notify: &dyn Fn(&str) -> NotifyLevelDto) -> TeamDto {
        TeamDto {
            id: t.team.id.clone(),
            name: t.team.display_name.clone(),
            description: t.team.description.clone(),
            channels: t
                .channels
                .iter()
                .map(|c| ChannelDto::of(c, notify(&c.channel.id)))
                .collect(),
        }
    }
}

/// One change to the sidebar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SidebarDiffDto {
    /// Start over.
    Reset {
        /// Every team.
        teams: Vec<TeamDto>,
    },
    /// One channel changed.
    Channel {
        /// Its team.
        #[serde(rename = "teamId")]
        team_id: String,
        /// It.
        channel: ChannelDto,
    },
}

impl SidebarDiffDto {
    /// The DTO of a sidebar diff.
    pub fn of(d: &SidebarDiff, notify: &dyn Fn(&str) -> NotifyLevelDto) -> SidebarDiffDto {
        match d {
            SidebarDiff::Reset { teams } => SidebarDiffDto::Reset {
                teams: teams.iter().map(|t| TeamDto::of(t, notify)).collect(),
            },
            SidebarDiff::Channel { team_id, channel } => SidebarDiffDto::Channel {
                team_id: team_id.clone(),
                channel: ChannelDto::of(channel, notify(&channel.channel.id)),
            },
        }
    }
}

/// The sync status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SyncStateDto {
    /// Up to date.
    Idle {
        /// When a round last finished.
        #[serde(rename = "lastSyncedAt")]
        last_synced_at: Option<String>,
    },
    /// Rounds are running.
    Syncing {
        /// Channels done in this burst.
        done: u32,
        /// Channels in this burst.
        total: u32,
        /// Pages so far.
        pages: u32,
    },
    /// Graph cannot be reached.
    Offline {
        /// Since when.
        since: String,
        /// What failed.
        reason: String,
    },
    /// Throttled by Graph.
    Throttled {
        /// Until when.
        until: String,
    },
    /// The account must sign in again.
    NeedsSignIn {
        /// Why.
        reason: String,
    },
    /// The disk is full.
    DiskFull {
        /// What the store said.
        message: String,
    },
    /// Something retrying will not fix.
    Error {
        /// A stable code.
        code: String,
        /// What to do.
        message: String,
    },
    /// No account is signed in.
    SignedOut,
}

impl From<&SyncStatus> for SyncStateDto {
    fn from(s: &SyncStatus) -> Self {
        let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        match s {
            SyncStatus::Idle { last_synced_at } => SyncStateDto::Idle {
                last_synced_at: last_synced_at.map(ts),
            },
            SyncStatus::Syncing { done, total, pages } => SyncStateDto::Syncing {
                done: n(*done),
                total: n(*total),
                pages: u32::try_from(*pages).unwrap_or(u32::MAX),
            },
            SyncStatus::Offline { since, reason } => SyncStateDto::Offline {
                since: ts(*since),
                reason: reason.clone(),
            },
            SyncStatus::Throttled { until } => SyncStateDto::Throttled { until: ts(*until) },
            SyncStatus::NeedsSignIn { reason } => SyncStateDto::NeedsSignIn {
                reason: reason.clone(),
            },
            SyncStatus::DiskFull { message } => SyncStateDto::DiskFull {
                message: message.clone(),
            },
            SyncStatus::Error { code, message } => SyncStateDto::Error {
                code: code.clone(),
                message: message.clone(),
            },
        }
    }
}

/// Unsent writes by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OutboxCountsDto {
    /// Waiting their turn.
    pub queued: u32,
    /// Being sent.
    pub sending: u32,
    /// Waiting to retry.
    pub failed: u32,
    /// Refused: waiting for the person.
    pub wedged: u32,
    /// Too old: waiting for the person.
    pub expired: u32,
}

impl From<perch_store::OutboxCounts> for OutboxCountsDto {
    fn from(c: perch_store::OutboxCounts) -> Self {
        OutboxCountsDto {
            queued: c.queued,
            sending: c.sending,
            failed: c.failed,
            wedged: c.wedged,
            expired: c.expired,
        }
    }
}

/// A channel whose last round failed for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChannelErrorDto {
    /// The channel.
    pub channel_id: String,
    /// Why.
    pub message: String,
}

/// The active account's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StatusDto {
    /// Whose status (`{tenantId}.{userId}`), none when signed out.
    pub account_id: Option<String>,
    /// The headline.
    pub sync: SyncStateDto,
    /// Channels that failed for good.
    pub channel_errors: Vec<ChannelErrorDto>,
    /// Unsent writes.
    pub outbox: OutboxCountsDto,
}

impl StatusDto {
    /// The status of no account.
    pub fn signed_out() -> StatusDto {
        StatusDto {
            account_id: None,
            sync: SyncStateDto::SignedOut,
            channel_errors: Vec::new(),
            outbox: OutboxCountsDto::default(),
        }
    }

    /// The DTO of an engine status.
    pub fn of(account: &perch_core::AccountId, s: &Status) -> StatusDto {
        StatusDto {
            account_id: Some(account.to_string()),
            sync: (&s.sync).into(),
            channel_errors: errors(&s.channel_errors),
            outbox: s.outbox.into(),
        }
    }
}

fn errors(map: &BTreeMap<String, String>) -> Vec<ChannelErrorDto> {
    map.iter()
        .map(|(channel_id, message)| ChannelErrorDto {
            channel_id: channel_id.clone(),
            message: message.clone(),
        })
        .collect()
}

/// An account's sign-in state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AccountStateDto {
    /// Signed in.
    SignedIn,
    /// Must sign in again.
    NeedsSignIn,
    /// Signed out (cache kept).
    SignedOut,
}

/// A known account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccountDto {
    /// `{tenantId}.{userId}`.
    pub id: String,
    /// The person's name.
    pub display_name: String,
    /// Their sign-in name.
    pub email: Option<String>,
    /// The tenant.
    pub tenant_id: String,
    /// The user's object id.
    pub user_id: String,
    /// Sign-in state.
    pub state: AccountStateDto,
    /// The account the window shows.
    pub active: bool,
}

impl AccountDto {
    /// The DTO of an account record.
    pub fn of(r: &AccountRecord, active: bool) -> AccountDto {
        AccountDto {
            id: r.id.to_string(),
            display_name: r.display_name.clone(),
            email: Some(r.upn.clone()).filter(|u| u.contains('@')),
            tenant_id: r.id.tenant_id.to_string(),
            user_id: r.id.user_id.to_string(),
            state: match r.state {
                AccountState::SignedIn => AccountStateDto::SignedIn,
                AccountState::NeedsSignIn => AccountStateDto::NeedsSignIn,
                AccountState::SignedOut => AccountStateDto::SignedOut,
            },
            active,
        }
    }
}

/// The colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ThemeDto {
    /// Follow the OS.
    #[default]
    System,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

/// Quiet hours, local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct QuietHoursDto {
    /// "HH:MM".
    pub start: String,
    /// "HH:MM".
    pub end: String,
}

/// The person's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SettingsDto {
    /// Theme.
    pub theme: ThemeDto,
    /// No notifications in this window.
    pub quiet_hours: Option<QuietHoursDto>,
    /// Seconds between syncs of the channel in view.
    pub view_interval_secs: u32,
    /// Seconds between syncs of followed channels.
    pub followed_interval_secs: u32,
    /// Whether notifications show the message's text.
    pub notification_previews: bool,
    /// Fields a policy locks.
    pub locked: Vec<String>,
    /// Interval fields whose minimum the organisation's policy raised (not locked: a longer
    /// interval may still be chosen).
    pub policy_floors: Vec<String>,
    /// Lowest allowed in-view interval.
    pub min_view_interval_secs: u32,
    /// Lowest allowed followed interval.
    pub min_followed_interval_secs: u32,
}

/// Demo tenant or a configured organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ModeDto {
    /// The built-in emulator's demo tenant.
    Demo,
    /// A configured organisation.
    Organisation,
}

/// Everything the UI needs at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppStateDto {
    /// This build's version.
    pub version: String,
    /// Demo or organisation.
    pub mode: ModeDto,
    /// Known accounts.
    pub accounts: Vec<AccountDto>,
    /// The active account.
    pub active_account: Option<String>,
    /// Its status.
    pub status: StatusDto,
    /// Settings.
    pub settings: SettingsDto,
    /// Configuration problems, for a banner.
    pub config_problems: Vec<String>,
    /// The managed policy: where it came from and the keys it refused.
    pub policy: PolicyDto,
}

/// A managed-policy key that was refused: the app runs with the safe default for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PolicyProblemDto {
    /// The key as written in the policy (or the policy file, when the whole file is unusable).
    pub key: String,
    /// What is wrong, quoting the value, and what Perch does instead.
    pub reason: String,
}

/// The managed policy as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDto {
    /// Where it was read from (a file or registry key); `null` when there is no policy.
    pub source: Option<String>,
    /// Refused keys, for a banner.
    pub problems: Vec<PolicyProblemDto>,
}

impl PolicyDto {
    /// The DTO of a report.
    pub fn of(report: &perch_core::PolicyReport) -> PolicyDto {
        PolicyDto {
            source: report.source.clone(),
            problems: report
                .problems
                .iter()
                .map(|p| PolicyProblemDto {
                    key: p.key.clone(),
                    reason: p.reason.clone(),
                })
                .collect(),
        }
    }
}

/// A channel member, for mention suggestions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MemberDto {
    /// Object id.
    pub user_id: String,
    /// Name.
    pub display_name: String,
    /// Mail.
    pub email: Option<String>,
}

/// A piece of a snippet: plain text, `highlight` on matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SnippetPartDto {
    /// The text.
    pub text: String,
    /// A match.
    pub highlight: bool,
}

/// A search hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SearchHitDto {
    /// The message.
    pub key: MessageKeyDto,
    /// Its team.
    pub team_id: String,
    /// The team's name.
    pub team_name: String,
    /// The channel's name.
    pub channel_name: String,
    /// The sender.
    pub from_name: Option<String>,
    /// When.
    pub created_at: String,
    /// Subject.
    pub subject: Option<String>,
    /// Words around the matches.
    pub snippet: Vec<SnippetPartDto>,
}

impl SearchHitDto {
    /// The DTO of a hit, with its team's and channel's names.
    pub fn of(h: &SearchHit, team_name: String, channel_name: String) -> SearchHitDto {
        SearchHitDto {
            key: (&h.key).into(),
            team_id: h.team_id.clone(),
            team_name,
            channel_name,
            from_name: h.from_name.clone(),
            created_at: ts(h.created_at),
            subject: h.subject.clone(),
            snippet: h
                .snippet
                .iter()
                .map(|p| SnippetPartDto {
                    text: p.text.clone(),
                    highlight: p.highlight,
                })
                .collect(),
        }
    }
}

/// An unfinished write, for the outbox panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OutboxItemDto {
    /// Its id.
    #[ts(type = "number")]
    pub id: i64,
    /// The channel.
    pub channel_id: String,
    /// The channel's name.
    pub channel_name: String,
    /// What it does.
    pub kind: OutboxKindDto,
    /// Where it stands.
    pub state: OutboxStateDto,
    /// A short plain-text preview.
    pub preview: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When it was queued.
    pub enqueued_at: String,
    /// When it is tried again.
    pub next_attempt_at: Option<String>,
    /// The latest error's code.
    pub error_code: Option<String>,
    /// The latest error, for a person.
    pub error_message: Option<String>,
}

/// A saved composer draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SavedDraftDto {
    /// The channel.
    pub channel_id: String,
    /// The thread, for a reply box.
    pub root_id: Option<String>,
    /// The content.
    pub draft: Draft,
    /// A new post's subject.
    pub subject: Option<String>,
    /// A new post's importance.
    pub importance: Option<String>,
}

/// How a diagnostics check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatusDto {
    /// Fine.
    Pass,
    /// Works, but worth attention.
    Warn,
    /// Broken until fixed.
    Fail,
}

impl From<perch_diag::Status> for FindingStatusDto {
    fn from(s: perch_diag::Status) -> Self {
        match s {
            perch_diag::Status::Pass => FindingStatusDto::Pass,
            perch_diag::Status::Warn => FindingStatusDto::Warn,
            perch_diag::Status::Fail => FindingStatusDto::Fail,
        }
    }
}

/// One diagnostics finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FindingDto {
    /// A stable id (`keyring`, `reach.login`, `policy.proxy`…).
    pub id: String,
    /// What was checked.
    pub title: String,
    /// The outcome.
    pub status: FindingStatusDto,
    /// What was found.
    pub detail: String,
    /// What to do, when there is something to do.
    pub action: Option<String>,
}

impl From<&perch_diag::Finding> for FindingDto {
    fn from(f: &perch_diag::Finding) -> Self {
        FindingDto {
            id: f.id.clone(),
            title: f.title.clone(),
            status: f.status.into(),
            detail: f.detail.clone(),
            action: f.action.clone(),
        }
    }
}

/// The Diagnostics page: every finding of one run of the checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticsDto {
    /// When the checks ran.
    pub generated_at: String,
    /// The worst status.
    pub worst: FindingStatusDto,
    /// In the order of the checks.
    pub findings: Vec<FindingDto>,
    /// Where the log files are.
    pub log_dir: Option<String>,
}

/// A diagnostics bundle that was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BundleDto {
    /// The zip's full path.
    pub path: String,
}

/// The in-app updater's state, for the "restart to update" notice (command `update_status`,
/// event `update-status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum UpdateStatusDto {
    /// The updater does not run: the system's package manager updates Perch, a managed policy
    /// turned it off, no endpoint is configured, or this is a development build.
    Off {
        /// Why, for people.
        reason: String,
    },
    /// Nothing newer was found (or no check has finished yet).
    Idle,
    /// A newer version is downloaded and its signature verified: restarting installs it.
    Ready {
        /// The version that restarting installs.
        version: String,
    },
    /// The last check or download failed; the next check retries.
    Failed {
        /// What failed.
        message: String,
    },
}

/// Every command's error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CommandErrorDto {
    /// A stable code.
    pub code: String,
    /// For people.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reaction(kind: &str, user: &str, name: &str) -> ReactionRow {
        ReactionRow {
            reaction_type: kind.into(),
            user_id: Some(user.into()),
            display_name: Some(name.into()),
            created_at: None,
        }
    }

    #[test]
    fn reactions_group_by_type_in_first_seen_order_and_mark_mine() {
        let rows = [
            reaction("heart", "u1", "Ann"),
            reaction("like", "me", "Me"),
            reaction("heart", "me", "Me"),
            reaction("🎉", "u2", "Bo"),
        ];
        let got = group_reactions(&rows, "me");
        let summary: Vec<(&str, &str, u32, bool)> = got
            .iter()
            .map(|r| (r.reaction.as_str(), r.emoji.as_str(), r.count, r.mine))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("heart", "❤️", 2, true),
                ("like", "👍", 1, true),
                ("🎉", "🎉", 1, false)
            ]
        );
        assert_eq!(got[0].names, vec!["Ann", "Me"]);
    }

    #[test]
    fn attachment_links_are_only_http() {
        let mut a = AttachmentRow {
            id: None,
            content_type: "reference".into(),
            name: Some("plan.docx".into()),
            content_url: Some("javascript:alert(1)".into()),
            content: None,
            thumbnail_url: None,
        };
        assert_eq!(AttachmentDto::from(&a).url, None);
        assert_eq!(AttachmentDto::from(&a).kind, AttachmentKindDto::File);
        a.content_url = Some("https://contoso.sharepoint.com/plan.docx".into());
        assert_eq!(
            AttachmentDto::from(&a).url.as_deref(),
            Some("https://contoso.sharepoint.com/plan.docx")
        );
    }

    #[test]
    fn wire_shapes_are_camel_case_and_tagged() {
        let diff = SidebarDiffDto::Channel {
            team_id: "t".into(),
            channel: ChannelDto {
                id: "c".into(),
                team_id: "t".into(),
                name: "General".into(),
                description: None,
                membership_type: "standard".into(),
                web_url: None,
                followed: true,
                unread: 2,
                mentions: 1,
                last_activity: None,
                notify: NotifyLevelDto::All,
            },
        };
        let v = serde_json::to_value(&diff).unwrap();
        assert_eq!(v["op"], "channel");
        assert_eq!(v["teamId"], "t");
        assert_eq!(v["channel"]["membershipType"], "standard");
        assert_eq!(v["channel"]["notify"], "all");
        let s = serde_json::to_value(SyncStateDto::Idle {
            last_synced_at: None,
        })
        .unwrap();
        assert_eq!(
            s,
            serde_json::json!({"state": "idle", "lastSyncedAt": null})
        );
        let s = serde_json::to_value(SyncStateDto::NeedsSignIn { reason: "x".into() }).unwrap();
        assert_eq!(s["state"], "needs_sign_in");
    }
}
