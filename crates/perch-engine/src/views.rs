//! Subscriptions: what the UI (and the CLI's `--watch`) observes. A [`Timeline`] yields a
//! channel's newest root posts, then batches of [`TimelineDiff`]s (insert, update, remove,
//! reset) keyed by message id; a [`Thread`] does the same for one post's replies; a
//! [`Sidebar`] yields teams, channels and unread/mention counts, then per-channel updates.
//!
//! They are fed by [`Change`]s that the engine broadcasts after each committed transaction,
//! and re-read the affected rows from the store, so what they show is always what is on disk.
//! A subscriber that falls behind the broadcast buffer gets a `Reset` with the current state
//! instead of a gap.

use std::collections::HashSet;
use std::sync::Arc;

use perch_store::{
    CacheStore, ChannelCounts, ChannelRow, MessageKey, MessageRow, TeamRow, TimelineItem,
};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::engine::Inner;
use crate::EngineError;

/// What a committed transaction changed.
#[derive(Debug, Clone)]
pub enum Change {
    /// Messages of a channel were inserted or updated.
    Messages {
        /// The channel.
        channel_id: String,
        /// Keys inserted.
        inserted: Vec<MessageKey>,
        /// Keys updated.
        updated: Vec<MessageKey>,
    },
    /// A channel's read marker moved.
    Read {
        /// The channel.
        channel_id: String,
    },
    /// Teams or channels (or who is followed) changed.
    Structure,
}

/// One change to a timeline or thread, keyed by message id.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum TimelineDiff {
    /// A message the view did not have.
    Insert {
        /// It.
        item: TimelineItem,
    },
    /// A new version of a message the view has.
    Update {
        /// It.
        item: TimelineItem,
    },
    /// A message to drop.
    Remove {
        /// Its key.
        key: MessageKey,
    },
    /// Start over with these items (newest first for timelines, oldest first for threads).
    Reset {
        /// All of them.
        items: Vec<TimelineItem>,
    },
}

/// A channel's timeline of root posts. See the module docs.
pub struct Timeline {
    inner: Arc<Inner>,
    channel_id: String,
    rx: broadcast::Receiver<Change>,
    /// Ids of the roots in the window.
    window: HashSet<String>,
    /// The oldest root in the window (where `load_older` continues).
    oldest: Option<(MessageKey, chrono::DateTime<chrono::Utc>)>,
    limit: usize,
}

impl std::fmt::Debug for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timeline")
            .field("channel_id", &self.channel_id)
            .field("items", &self.window.len())
            .finish_non_exhaustive()
    }
}

impl Timeline {
    pub(crate) async fn open(
        inner: Arc<Inner>,
        channel_id: &str,
        limit: usize,
    ) -> Result<(Vec<TimelineItem>, Timeline), EngineError> {
        // Subscribe before reading so that nothing committed in between is missed.
        let rx = inner.changes.subscribe();
        let limit = limit.clamp(1, 500);
        let mut timeline = Timeline {
            inner,
            channel_id: channel_id.to_owned(),
            rx,
            window: HashSet::new(),
            oldest: None,
            limit,
        };
        let items = timeline.read_window().await?;
        Ok((items, timeline))
    }

    async fn read_window(&mut self) -> Result<Vec<TimelineItem>, EngineError> {
        let account = self.inner.account;
        let channel = self.channel_id.clone();
        let limit = self.window.len().max(self.limit);
        let items = self
            .inner
            .db(move |s| s.timeline(&account, &channel, None, limit))
            .await?;
        self.window = items.iter().map(|i| i.row.id.clone()).collect();
        self.oldest = items.last().map(|i| (key_of(&i.row), i.row.created_at));
        Ok(items)
    }

    /// The channel.
    pub fn channel_id(&self) -> &str {
        &self.channel_id
    }

    /// The next batch of diffs (waits for a change). `None` when the engine stopped.
    pub async fn next(&mut self) -> Option<Result<Vec<TimelineDiff>, EngineError>> {
        loop {
            let change = match self.rx.recv().await {
                Ok(change) => change,
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    return Some(
                        self.read_window()
                            .await
                            .map(|items| vec![TimelineDiff::Reset { items }]),
                    );
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            let (inserted, updated) = match change {
                Change::Messages {
                    channel_id,
                    inserted,
                    updated,
                } if channel_id == self.channel_id => (inserted, updated),
                Change::Read { channel_id } if channel_id == self.channel_id => {
                    // Unread flags changed: re-read the window.
                    return Some(
                        self.read_window()
                            .await
                            .map(|items| vec![TimelineDiff::Reset { items }]),
                    );
                }
                _ => continue,
            };
            let diffs = self.diffs(inserted, updated).await;
            match diffs {
                Ok(d) if d.is_empty() => continue,
                other => return Some(other),
            }
        }
    }

    async fn diffs(
        &mut self,
        inserted: Vec<MessageKey>,
        updated: Vec<MessageKey>,
    ) -> Result<Vec<TimelineDiff>, EngineError> {
        // Roots touched directly, and roots whose replies changed (their counts moved).
        let mut roots: Vec<MessageKey> = Vec::new();
        let mut seen = HashSet::new();
        for key in inserted.iter().chain(updated.iter()) {
            let root = MessageKey {
                channel_id: key.channel_id.clone(),
                root_id: key.root_id.clone(),
                id: key.root_id.clone(),
            };
            if seen.insert(root.id.clone()) {
                roots.push(root);
            }
        }
        let account = self.inner.account;
        let items = self
            .inner
            .db(move |s| s.timeline_items(&account, &roots))
            .await?;
        let mut out = Vec::new();
        let mut inserted_items = Vec::new();
        for item in items {
            if self.window.contains(&item.row.id) {
                out.push(TimelineDiff::Update { item });
            } else {
                let fits = match &self.oldest {
                    None => true,
                    Some((_, oldest)) => {
                        item.row.created_at >= *oldest || self.window.len() < self.limit
                    }
                };
                if fits {
                    self.window.insert(item.row.id.clone());
                    inserted_items.push(item);
                }
            }
        }
        inserted_items.sort_by_key(|i| std::cmp::Reverse(i.row.created_at));
        for item in inserted_items {
            if self
                .oldest
                .as_ref()
                .is_none_or(|(_, t)| item.row.created_at < *t)
            {
                self.oldest = Some((key_of(&item.row), item.row.created_at));
            }
            out.push(TimelineDiff::Insert { item });
        }
        Ok(out)
    }

    /// Older posts for the person scrolling up: from the cache first, then (when the cache
    /// has nothing older) one page of history from Graph. Returns the inserts; empty when the
    /// channel's history is complete.
    pub async fn load_older(&mut self, count: usize) -> Result<Vec<TimelineDiff>, EngineError> {
        let count = count.clamp(1, 200);
        for attempt in 0..2 {
            let account = self.inner.account;
            let channel = self.channel_id.clone();
            let before = self.oldest.as_ref().map(|(k, _)| k.clone());
            let items = self
                .inner
                .db(move |s| s.timeline(&account, &channel, before.as_ref(), count))
                .await?;
            if !items.is_empty() {
                let mut out = Vec::new();
                for item in items {
                    if self.window.insert(item.row.id.clone()) {
                        self.oldest = Some((key_of(&item.row), item.row.created_at));
                        out.push(TimelineDiff::Insert { item });
                    }
                }
                return Ok(out);
            }
            if attempt == 0
                && !crate::engine::fetch_history_page(&self.inner, &self.channel_id).await?
            {
                break;
            }
        }
        Ok(Vec::new())
    }
}

/// The key of a row.
pub fn key_of(row: &MessageRow) -> MessageKey {
    MessageKey {
        channel_id: row.channel_id.clone(),
        root_id: row.reply_to_id.clone().unwrap_or_else(|| row.id.clone()),
        id: row.id.clone(),
    }
}

/// One post's replies. See the module docs.
pub struct Thread {
    inner: Arc<Inner>,
    channel_id: String,
    root_id: String,
    rx: broadcast::Receiver<Change>,
    known: HashSet<String>,
}

impl std::fmt::Debug for Thread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Thread")
            .field("channel_id", &self.channel_id)
            .field("root_id", &self.root_id)
            .finish_non_exhaustive()
    }
}

impl Thread {
    pub(crate) async fn open(
        inner: Arc<Inner>,
        channel_id: &str,
        root_id: &str,
    ) -> Result<(Vec<TimelineItem>, Thread), EngineError> {
        let rx = inner.changes.subscribe();
        let mut thread = Thread {
            inner,
            channel_id: channel_id.to_owned(),
            root_id: root_id.to_owned(),
            rx,
            known: HashSet::new(),
        };
        let items = thread.read_all().await?;
        Ok((items, thread))
    }

    async fn read_all(&mut self) -> Result<Vec<TimelineItem>, EngineError> {
        let account = self.inner.account;
        let channel = self.channel_id.clone();
        let root = self.root_id.clone();
        let rows = self
            .inner
            .db(move |s| s.thread(&account, &channel, &root))
            .await?;
        self.known = rows.iter().map(|r| r.id.clone()).collect();
        Ok(rows.into_iter().map(reply_item).collect())
    }

    /// The next batch of diffs to the replies. `None` when the engine stopped.
    pub async fn next(&mut self) -> Option<Result<Vec<TimelineDiff>, EngineError>> {
        loop {
            let change = match self.rx.recv().await {
                Ok(change) => change,
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    return Some(
                        self.read_all()
                            .await
                            .map(|items| vec![TimelineDiff::Reset { items }]),
                    );
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            let Change::Messages {
                channel_id,
                inserted,
                updated,
            } = change
            else {
                continue;
            };
            if channel_id != self.channel_id {
                continue;
            }
            let keys: Vec<MessageKey> = inserted
                .into_iter()
                .chain(updated)
                .filter(|k| k.root_id == self.root_id && k.id != self.root_id)
                .collect();
            if keys.is_empty() {
                continue;
            }
            let account = self.inner.account;
            let rows = match self
                .inner
                .db(move |s| {
                    keys.iter()
                        .filter_map(|k| s.message(&account, k).transpose())
                        .collect::<Result<Vec<_>, _>>()
                })
                .await
            {
                Ok(rows) => rows,
                Err(e) => return Some(Err(e)),
            };
            let mut rows = rows;
            rows.sort_by_key(|r| r.created_at);
            let diffs = rows
                .into_iter()
                .map(|row| {
                    if self.known.insert(row.id.clone()) {
                        TimelineDiff::Insert {
                            item: reply_item(row),
                        }
                    } else {
                        TimelineDiff::Update {
                            item: reply_item(row),
                        }
                    }
                })
                .collect();
            return Some(Ok(diffs));
        }
    }
}

fn reply_item(row: MessageRow) -> TimelineItem {
    TimelineItem {
        row,
        reply_count: 0,
        last_reply_at: None,
        unread: false,
    }
}

/// A channel in the sidebar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SidebarChannel {
    /// The channel.
    pub channel: ChannelRow,
    /// Unread posts and replies (not mine, not deleted, after the read marker).
    pub unread: i64,
    /// Unread messages that mention me.
    pub mentions: i64,
    /// The newest message's time.
    pub last_activity: Option<chrono::DateTime<chrono::Utc>>,
}

/// A team and its channels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SidebarTeam {
    /// The team.
    pub team: TeamRow,
    /// Its channels, in Graph's order.
    pub channels: Vec<SidebarChannel>,
}

/// One change to the sidebar.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SidebarDiff {
    /// Counts or details of one channel changed.
    Channel {
        /// Its team.
        team_id: String,
        /// It, as it is now.
        channel: SidebarChannel,
    },
    /// Start over.
    Reset {
        /// Every team.
        teams: Vec<SidebarTeam>,
    },
}

/// The sidebar subscription. See the module docs.
pub struct Sidebar {
    inner: Arc<Inner>,
    rx: broadcast::Receiver<Change>,
}

impl std::fmt::Debug for Sidebar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sidebar").finish_non_exhaustive()
    }
}

impl Sidebar {
    pub(crate) async fn open(
        inner: Arc<Inner>,
    ) -> Result<(Vec<SidebarTeam>, Sidebar), EngineError> {
        let rx = inner.changes.subscribe();
        let teams = snapshot(&inner).await?;
        Ok((teams, Sidebar { inner, rx }))
    }

    /// The next batch of sidebar changes. `None` when the engine stopped.
    pub async fn next(&mut self) -> Option<Result<Vec<SidebarDiff>, EngineError>> {
        loop {
            let channel_id = match self.rx.recv().await {
                Ok(Change::Messages { channel_id, .. }) | Ok(Change::Read { channel_id }) => {
                    channel_id
                }
                Ok(Change::Structure) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    return Some(
                        snapshot(&self.inner)
                            .await
                            .map(|teams| vec![SidebarDiff::Reset { teams }]),
                    );
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            let account = self.inner.account;
            let wanted = channel_id.clone();
            let found = self
                .inner
                .db(move |s| {
                    let Some(channel) = s.channel(&account, &wanted)? else {
                        return Ok(None);
                    };
                    let counts = s
                        .counts(&account)?
                        .into_iter()
                        .find(|c| c.channel_id == wanted);
                    Ok(Some((channel, counts)))
                })
                .await;
            match found {
                Ok(Some((channel, counts))) => {
                    let team_id = channel.team_id.clone();
                    return Some(Ok(vec![SidebarDiff::Channel {
                        team_id,
                        channel: sidebar_channel(channel, counts.as_ref()),
                    }]));
                }
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

fn sidebar_channel(channel: ChannelRow, counts: Option<&ChannelCounts>) -> SidebarChannel {
    SidebarChannel {
        channel,
        unread: counts.map_or(0, |c| c.unread),
        mentions: counts.map_or(0, |c| c.mentions),
        last_activity: counts.and_then(|c| c.last_activity),
    }
}

/// Every team with its channels and counts.
pub(crate) async fn snapshot(inner: &Arc<Inner>) -> Result<Vec<SidebarTeam>, EngineError> {
    let account = inner.account;
    inner
        .db(move |s| {
            let teams = s.teams(&account)?;
            let channels = s.channels(&account)?;
            let counts = s.counts(&account)?;
            Ok(teams
                .into_iter()
                .map(|team| {
                    let channels = channels
                        .iter()
                        .filter(|c| c.team_id == team.id)
                        .map(|c| {
                            let count = counts.iter().find(|k| k.channel_id == c.id);
                            sidebar_channel(c.clone(), count)
                        })
                        .collect();
                    SidebarTeam { team, channels }
                })
                .collect())
        })
        .await
}
