//! Subscriptions: what the UI (and the CLI's `--watch`) observes. A [`Timeline`] yields a
//! channel's newest root posts, then batches of [`TimelineDiff`]s (insert, update, remove,
//! reset) keyed by message id; a [`Thread`] does the same for one post's replies; a
//! [`Sidebar`] yields teams, channels and unread/mention counts, then per-channel updates.
//!
//! They are fed by [`Change`]s that the engine broadcasts after each committed transaction,
//! and re-read the affected rows from the store, so what they show is always what is on disk,
//! with the unsent outbox laid over it as local echoes ([`crate::echo`]); an echo becomes its
//! message through one [`TimelineDiff::Replace`].
//! A subscriber that falls behind the broadcast buffer gets a `Reset` with the current state
//! instead of a gap.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use perch_store::{
    CacheStore, ChannelCounts, ChannelRow, MessageKey, MessageRow, OutboxItem, OutboxKind,
    OutboxState, OutboxStore, PendingWrite, TeamRow, TimelineItem,
};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::echo;
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
        /// Outbox items (posts and replies) that these messages are, now Sent: their echoes
        /// are replaced by the messages.
        sent: Vec<(i64, MessageKey)>,
        /// When the transaction committed (for the delta-to-screen figure).
        committed_at: std::time::SystemTime,
    },
    /// Outbox items of a channel were queued or changed state (their echoes and the messages
    /// they act on change).
    Outbox {
        /// The channel.
        channel_id: String,
        /// The items.
        ids: Vec<i64>,
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
    /// The item with `key` (a local echo) is now `item` (the server's message), in its place.
    Replace {
        /// The key it had.
        key: MessageKey,
        /// What it is now.
        item: TimelineItem,
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
    /// Ids of the roots in the window (local echoes as `local-{n}`).
    window: HashSet<String>,
    /// The oldest cached root in the window (where `load_older` continues).
    oldest: Option<(MessageKey, chrono::DateTime<chrono::Utc>)>,
    limit: usize,
    /// When the change behind the latest batch committed.
    committed_at: Option<std::time::SystemTime>,
    /// The change being turned into diffs (see [`Timeline::next`]).
    carry: Option<Carry>,
}

/// What [`Timeline::next`] is working on.
#[derive(Debug, Clone)]
enum Carry {
    Change(Change),
    Reset,
}

impl std::fmt::Debug for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timeline")
            .field("channel_id", &self.channel_id)
            .field("items", &self.window.len())
            .finish_non_exhaustive()
    }
}

/// The unsent writes of a channel, as read with the rows they are laid over.
struct Pending {
    items: Vec<OutboxItem>,
}

impl Pending {
    fn by_id(&self) -> HashMap<i64, &OutboxItem> {
        echo::index(&self.items)
    }
}

fn me(inner: &Inner) -> echo::Me {
    echo::Me {
        id: inner.me.clone(),
        name: inner.me_name.clone(),
    }
}

/// Lays a channel's unsent writes over a root post as a timeline shows it.
fn decorate_root(inner: &Inner, item: &mut TimelineItem, pending: &Pending) {
    let by_id = pending.by_id();
    echo::overlay(
        &mut item.row,
        &mut item.pending,
        &pending.items,
        &by_id,
        &me(inner),
        &inner.media,
    );
    item.reply_count += echo::pending_reply_count(&item.row.id, &pending.items, &by_id);
}

/// Lays a channel's unsent writes over a reply.
fn decorate_reply(inner: &Inner, item: &mut TimelineItem, pending: &Pending) {
    let by_id = pending.by_id();
    echo::overlay(
        &mut item.row,
        &mut item.pending,
        &pending.items,
        &by_id,
        &me(inner),
        &inner.media,
    );
}

/// The echo of an unsent post or reply (with the writes on it laid over).
fn echo_item(inner: &Inner, item: &OutboxItem, pending: &Pending) -> Option<TimelineItem> {
    let by_id = pending.by_id();
    let key = echo::key_of(item, &by_id)?;
    let row = echo::echo_row(item, &key, &me(inner), &inner.media, &item.team_id);
    let mut out = TimelineItem {
        row,
        reply_count: 0,
        last_reply_at: None,
        unread: false,
        pending: vec![PendingWrite::from(item)],
    };
    if item.kind == OutboxKind::Post {
        decorate_root(inner, &mut out, pending);
    } else {
        decorate_reply(inner, &mut out, pending);
    }
    Some(out)
}

fn local_key(channel_id: &str, root_id: &str, id: &str) -> MessageKey {
    MessageKey {
        channel_id: channel_id.to_owned(),
        root_id: root_id.to_owned(),
        id: id.to_owned(),
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
            committed_at: None,
            carry: None,
        };
        let items = timeline.read_window().await?;
        Ok((items, timeline))
    }

    async fn pending(&self) -> Result<Pending, EngineError> {
        let account = self.inner.account;
        let channel = self.channel_id.clone();
        let items = self
            .inner
            .db(move |s| s.outbox(&account, Some(&channel), false))
            .await?;
        Ok(Pending { items })
    }

    async fn read_window(&mut self) -> Result<Vec<TimelineItem>, EngineError> {
        let account = self.inner.account;
        let channel = self.channel_id.clone();
        let limit = self.window.len().max(self.limit);
        let (mut items, pending) = self
            .inner
            .db(move |s| {
                Ok((
                    s.timeline(&account, &channel, None, limit)?,
                    s.outbox(&account, Some(&channel), false)?,
                ))
            })
            .await?;
        let pending = Pending { items: pending };
        self.oldest = items.last().map(|i| (key_of(&i.row), i.row.created_at));
        for item in &mut items {
            decorate_root(&self.inner, item, &pending);
        }
        for item in pending.items.iter().filter(|i| i.kind == OutboxKind::Post) {
            if let Some(echo) = echo_item(&self.inner, item, &pending) {
                items.push(echo);
            }
        }
        items.sort_by_key(|i| std::cmp::Reverse(i.row.created_at));
        self.window = items.iter().map(|i| i.row.id.clone()).collect();
        Ok(items)
    }

    /// The channel.
    pub fn channel_id(&self) -> &str {
        &self.channel_id
    }

    /// When the store transaction behind the latest batch from [`Timeline::next`] committed
    /// (None for batches that no commit of messages caused, such as a reset after a lag).
    pub fn committed_at(&self) -> Option<std::time::SystemTime> {
        self.committed_at
    }

    /// The next batch of diffs (waits for a change). `None` when the engine stopped.
    ///
    /// Cancel-safe: a change taken from the broadcast is kept until its diffs are returned, so
    /// a caller that drops this future mid-way (a `select!` that chose another branch) gets
    /// them from the next call. Re-processing is harmless: the window changes only after the
    /// last await.
    pub async fn next(&mut self) -> Option<Result<Vec<TimelineDiff>, EngineError>> {
        loop {
            let work = match self.carry.take() {
                Some(work) => work,
                None => match self.rx.recv().await {
                    Ok(change) => Carry::Change(change),
                    Err(broadcast::error::RecvError::Lagged(_)) => Carry::Reset,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            };
            self.carry = Some(work.clone());
            let diffs = match work {
                Carry::Reset => {
                    self.committed_at = None;
                    self.read_window()
                        .await
                        .map(|items| vec![TimelineDiff::Reset { items }])
                }
                Carry::Change(Change::Messages {
                    channel_id,
                    inserted,
                    updated,
                    sent,
                    committed_at,
                }) if channel_id == self.channel_id => {
                    self.committed_at = Some(committed_at);
                    self.diffs(inserted, updated, sent).await
                }
                Carry::Change(Change::Outbox { channel_id, ids })
                    if channel_id == self.channel_id =>
                {
                    self.committed_at = None;
                    self.outbox_diffs(ids).await
                }
                // Unread flags changed: re-read the window.
                Carry::Change(Change::Read { channel_id }) if channel_id == self.channel_id => {
                    self.committed_at = None;
                    self.read_window()
                        .await
                        .map(|items| vec![TimelineDiff::Reset { items }])
                }
                Carry::Change(_) => Ok(Vec::new()),
            };
            self.carry = None;
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
        sent: Vec<(i64, MessageKey)>,
    ) -> Result<Vec<TimelineDiff>, EngineError> {
        // Roots touched directly, and roots whose replies changed (their counts moved).
        let mut roots: Vec<MessageKey> = Vec::new();
        let mut seen = HashSet::new();
        for key in inserted
            .iter()
            .chain(updated.iter())
            .chain(sent.iter().map(|(_, k)| k))
        {
            let root = local_key(&key.channel_id, &key.root_id, &key.root_id);
            if seen.insert(root.id.clone()) {
                roots.push(root);
            }
        }
        // Posts that were echoes until now: server id → the echo's id.
        let replaced: HashMap<String, String> = sent
            .iter()
            .filter(|(_, k)| k.id == k.root_id)
            .map(|(n, k)| (k.id.clone(), echo::local_id(*n)))
            .collect();
        let account = self.inner.account;
        let pending = self.pending().await?;
        let mut items = self
            .inner
            .db(move |s| s.timeline_items(&account, &roots))
            .await?;
        for item in &mut items {
            decorate_root(&self.inner, item, &pending);
        }
        let mut out = Vec::new();
        let mut inserted_items = Vec::new();
        for item in items {
            let id = item.row.id.clone();
            if let Some(local) = replaced.get(&id).filter(|l| self.window.contains(*l)) {
                self.window.remove(local);
                let key = local_key(&self.channel_id, local, local);
                if self.window.insert(id) {
                    out.push(TimelineDiff::Replace { key, item });
                } else {
                    out.push(TimelineDiff::Remove { key });
                    out.push(TimelineDiff::Update { item });
                }
                continue;
            }
            if self.window.contains(&id) {
                out.push(TimelineDiff::Update { item });
            } else {
                let fits = match &self.oldest {
                    None => true,
                    Some((_, oldest)) => {
                        item.row.created_at >= *oldest || self.window.len() < self.limit
                    }
                };
                if fits {
                    self.window.insert(id);
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
        // An echo whose message did not come back with it (not stored): drop it rather than
        // leave it pending forever; the next sync brings the message.
        for local in replaced.values() {
            if self.window.remove(local) {
                out.push(TimelineDiff::Remove {
                    key: local_key(&self.channel_id, local, local),
                });
            }
        }
        Ok(out)
    }

    /// Diffs for outbox items that were queued or changed state: their echoes, and the roots
    /// they act on or reply to.
    async fn outbox_diffs(&mut self, ids: Vec<i64>) -> Result<Vec<TimelineDiff>, EngineError> {
        let account = self.inner.account;
        let wanted = ids.clone();
        let changed: Vec<OutboxItem> = self
            .inner
            .db(move |s| {
                wanted
                    .iter()
                    .filter_map(|id| s.outbox_item(&account, *id).transpose())
                    .collect()
            })
            .await?;
        let pending = self.pending().await?;
        let mut all: HashMap<i64, &OutboxItem> = pending.by_id();
        for item in &changed {
            all.entry(item.id).or_insert(item);
        }
        let mut out = Vec::new();
        let mut roots: Vec<MessageKey> = Vec::new();
        for item in &changed {
            let Some(key) = echo::key_of(item, &all) else {
                continue;
            };
            if item.kind == OutboxKind::Post {
                let id = key.id.clone();
                match item.state {
                    OutboxState::Cancelled => {
                        if self.window.remove(&id) {
                            out.push(TimelineDiff::Remove { key });
                        }
                    }
                    // Replaced by its message (Change::Messages).
                    OutboxState::Sent => {}
                    _ => {
                        if let Some(echo) = echo_item(&self.inner, item, &pending) {
                            if self.window.insert(id) {
                                out.push(TimelineDiff::Insert { item: echo });
                            } else {
                                out.push(TimelineDiff::Update { item: echo });
                            }
                        }
                    }
                }
            } else if !roots.iter().any(|r| r.id == key.root_id) {
                roots.push(local_key(&key.channel_id, &key.root_id, &key.root_id));
            }
        }
        roots.retain(|r| self.window.contains(&r.id));
        let (local, cached): (Vec<MessageKey>, Vec<MessageKey>) = roots
            .into_iter()
            .partition(|k| echo::parse_local_id(&k.id).is_some());
        for key in local {
            let n = echo::parse_local_id(&key.id);
            if let Some(item) = pending.items.iter().find(|i| Some(i.id) == n) {
                if let Some(echo) = echo_item(&self.inner, item, &pending) {
                    out.push(TimelineDiff::Update { item: echo });
                }
            }
        }
        let mut items = self
            .inner
            .db(move |s| s.timeline_items(&account, &cached))
            .await?;
        for mut item in items.drain(..) {
            decorate_root(&self.inner, &mut item, &pending);
            out.push(TimelineDiff::Update { item });
        }
        Ok(out)
    }

    /// Older posts for the person scrolling up: from the cache first, then (when the cache
    /// has nothing older) one page of history from Graph. Returns the inserts; empty when the
    /// channel's history is complete.
    pub async fn load_older(&mut self, count: usize) -> Result<Vec<TimelineDiff>, EngineError> {
        let diffs = self.older_from_cache(count).await?;
        if !diffs.is_empty()
            || !crate::engine::fetch_history_page(&self.inner, &self.channel_id).await?
        {
            return Ok(diffs);
        }
        self.older_from_cache(count).await
    }

    /// [`Timeline::load_older`] without the network: up to `count` older posts from the
    /// cache, none when the cache has nothing older (then fetch a page with
    /// [`crate::Engine::fetch_history_page`] and ask again). A subscriber that must keep
    /// delivering diffs while a page is fetched uses this pair instead of `load_older`.
    pub async fn older_from_cache(
        &mut self,
        count: usize,
    ) -> Result<Vec<TimelineDiff>, EngineError> {
        let count = count.clamp(1, 200);
        let account = self.inner.account;
        let channel = self.channel_id.clone();
        let before = self.oldest.as_ref().map(|(k, _)| k.clone());
        let items = self
            .inner
            .db(move |s| s.timeline(&account, &channel, before.as_ref(), count))
            .await?;
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let pending = self.pending().await?;
        let mut out = Vec::new();
        for mut item in items {
            self.oldest = Some((key_of(&item.row), item.row.created_at));
            if self.window.insert(item.row.id.clone()) {
                decorate_root(&self.inner, &mut item, &pending);
                out.push(TimelineDiff::Insert { item });
            }
        }
        Ok(out)
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
        let (rows, pending) = self
            .inner
            .db(move |s| {
                Ok((
                    s.thread(&account, &channel, &root)?,
                    s.outbox(&account, Some(&channel), false)?,
                ))
            })
            .await?;
        let pending = Pending { items: pending };
        let mut items: Vec<TimelineItem> = rows
            .into_iter()
            .map(|row| {
                let mut item = reply_item(row);
                decorate_reply(&self.inner, &mut item, &pending);
                item
            })
            .collect();
        items.extend(self.echoes(&pending));
        items.sort_by_key(|i| i.row.created_at);
        self.known = items.iter().map(|r| r.row.id.clone()).collect();
        // The subscriber shows the root post from the timeline's row; its later changes
        // (an edit, a reaction, a delete) come as updates.
        self.known.insert(self.root_id.clone());
        Ok(items)
    }

    /// Echoes of the unsent replies in this thread.
    fn echoes(&self, pending: &Pending) -> Vec<TimelineItem> {
        let by_id = pending.by_id();
        pending
            .items
            .iter()
            .filter(|i| i.kind == OutboxKind::Reply)
            .filter(|i| echo::key_of(i, &by_id).is_some_and(|k| k.root_id == self.root_id))
            .filter_map(|i| echo_item(&self.inner, i, pending))
            .collect()
    }

    /// The next batch of diffs to the replies, and updates of the root post. `None` when the
    /// engine stopped.
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
            let diffs = match change {
                Change::Messages {
                    channel_id,
                    inserted,
                    updated,
                    sent,
                    ..
                } if channel_id == self.channel_id => {
                    self.message_diffs(inserted, updated, sent).await
                }
                Change::Outbox { channel_id, ids } if channel_id == self.channel_id => {
                    self.outbox_diffs(ids).await
                }
                _ => continue,
            };
            match diffs {
                Ok(d) if d.is_empty() => continue,
                other => return Some(other),
            }
        }
    }

    async fn message_diffs(
        &mut self,
        inserted: Vec<MessageKey>,
        updated: Vec<MessageKey>,
        sent: Vec<(i64, MessageKey)>,
    ) -> Result<Vec<TimelineDiff>, EngineError> {
        let in_thread = |k: &MessageKey| k.root_id == self.root_id;
        let replaced: HashMap<String, String> = sent
            .iter()
            .filter(|(_, k)| in_thread(k))
            .map(|(n, k)| (k.id.clone(), echo::local_id(*n)))
            .collect();
        let mut keys: Vec<MessageKey> = inserted
            .into_iter()
            .chain(updated)
            .chain(sent.into_iter().map(|(_, k)| k))
            .filter(in_thread)
            .collect();
        let mut seen = HashSet::new();
        keys.retain(|k| seen.insert(k.id.clone()));
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let account = self.inner.account;
        let rows = self
            .inner
            .db(move |s| {
                keys.iter()
                    .filter_map(|k| s.message(&account, k).transpose())
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
        let pending = Pending {
            items: {
                let channel = self.channel_id.clone();
                self.inner
                    .db(move |s| s.outbox(&account, Some(&channel), false))
                    .await?
            },
        };
        let mut rows = rows;
        rows.sort_by_key(|r| r.created_at);
        let mut out = Vec::new();
        for row in rows {
            let id = row.id.clone();
            let mut item = reply_item(row);
            decorate_reply(&self.inner, &mut item, &pending);
            if let Some(local) = replaced.get(&id).filter(|l| self.known.contains(*l)) {
                self.known.remove(local);
                let key = local_key(&self.channel_id, &self.root_id, local);
                if self.known.insert(id) {
                    out.push(TimelineDiff::Replace { key, item });
                } else {
                    out.push(TimelineDiff::Remove { key });
                    out.push(TimelineDiff::Update { item });
                }
            } else if self.known.insert(id) {
                out.push(TimelineDiff::Insert { item });
            } else {
                out.push(TimelineDiff::Update { item });
            }
        }
        Ok(out)
    }

    async fn outbox_diffs(&mut self, ids: Vec<i64>) -> Result<Vec<TimelineDiff>, EngineError> {
        let account = self.inner.account;
        let channel = self.channel_id.clone();
        let (changed, pending) = self
            .inner
            .db(move |s| {
                let changed = ids
                    .iter()
                    .filter_map(|id| s.outbox_item(&account, *id).transpose())
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((changed, s.outbox(&account, Some(&channel), false)?))
            })
            .await?;
        let pending = Pending { items: pending };
        let mut all = pending.by_id();
        for item in &changed {
            all.entry(item.id).or_insert(item);
        }
        let mut out = Vec::new();
        let mut targets: Vec<MessageKey> = Vec::new();
        for item in &changed {
            let Some(key) = echo::key_of(item, &all) else {
                continue;
            };
            if key.root_id != self.root_id || key.id == self.root_id {
                continue;
            }
            if item.kind == OutboxKind::Reply {
                match item.state {
                    OutboxState::Cancelled => {
                        if self.known.remove(&key.id) {
                            out.push(TimelineDiff::Remove { key });
                        }
                    }
                    OutboxState::Sent => {}
                    _ => {
                        if let Some(echo) = echo_item(&self.inner, item, &pending) {
                            if self.known.insert(key.id.clone()) {
                                out.push(TimelineDiff::Insert { item: echo });
                            } else {
                                out.push(TimelineDiff::Update { item: echo });
                            }
                        }
                    }
                }
            } else if self.known.contains(&key.id) && !targets.contains(&key) {
                targets.push(key);
            }
        }
        for key in targets {
            if let Some(n) = echo::parse_local_id(&key.id) {
                if let Some(item) = pending.items.iter().find(|i| i.id == n) {
                    if let Some(echo) = echo_item(&self.inner, item, &pending) {
                        out.push(TimelineDiff::Update { item: echo });
                    }
                }
                continue;
            }
            let row = self.inner.db(move |s| s.message(&account, &key)).await?;
            if let Some(row) = row {
                let mut item = reply_item(row);
                decorate_reply(&self.inner, &mut item, &pending);
                out.push(TimelineDiff::Update { item });
            }
        }
        Ok(out)
    }
}

fn reply_item(row: MessageRow) -> TimelineItem {
    TimelineItem {
        row,
        reply_count: 0,
        last_reply_at: None,
        unread: false,
        pending: Vec::new(),
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
                Ok(Change::Outbox { .. }) => continue,
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
