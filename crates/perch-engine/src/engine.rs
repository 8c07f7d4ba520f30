//! [`Engine`]: one signed-in account's sync. It owns the background scheduler task, the delta
//! rounds, history and thread fetches, the structure (teams and channels) refresh, the change
//! broadcast that feeds the subscriptions ([`crate::views`]) and the published [`Status`].
//!
//! Invariants:
//! - Messages are read from Graph only through delta (started with a date filter) for sync,
//!   and through list paging for history the person asked for by scrolling, or a thread they
//!   opened. Nothing polls in a loop: every round is started by the [`Schedule`].
//! - Every page commits in one store transaction together with the sync state it advances
//!   (`nextLink` during a round, the `deltaLink` and watermark at its end), so a crash resumes
//!   exactly where the last commit left off and can never skip a change; replays are harmless
//!   because the store upserts by id and skips rows that are not newer.
//! - One operation at a time per channel (a per-channel async lock), several channels at once
//!   within the Graph client's budgets.
//! - Database work runs on the blocking pool, never on the async workers.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use perch_core::AccountId;
use perch_graph::{ChatMessage, DeltaNext, DeltaRequest, GraphClient, GraphError, PageRequest};
use perch_html::MediaRewrite;
use perch_store::{
    CacheStore, ChannelRow, MessageKey, SearchHit, SearchQuery, Store, SyncState, TeamRow,
};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, watch, Notify, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::EngineConfig;
use crate::convert::{self, Origin};
use crate::schedule::{Attention, Schedule};
use crate::status::{Failure, Status, StatusBoard};
use crate::views::{self, Change, Sidebar, SidebarTeam, Thread, Timeline};
use crate::EngineError;

/// Where the engine's parts come from.
pub struct EngineParts {
    /// The account.
    pub account: AccountId,
    /// A Graph client whose tokens are this account's.
    pub graph: GraphClient,
    /// The Graph base URL the client talks to (for recognising hosted-content image URLs).
    pub graph_base: String,
    /// The cache (its own connection; the token manager may hold another).
    pub store: Store,
    /// Tuning.
    pub config: EngineConfig,
}

/// What one delta round (or history or thread fetch) did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoundReport {
    /// Pages fetched.
    pub pages: u64,
    /// Messages (roots and replies) new to the cache.
    pub inserted: usize,
    /// Messages that changed.
    pub updated: usize,
    /// Messages seen again unchanged.
    pub unchanged: usize,
    /// Whether the round had to start over from the watermark (expired delta token).
    pub restarted: bool,
}

impl RoundReport {
    fn add(&mut self, outcome: &perch_store::IngestOutcome) {
        self.pages += 1;
        self.inserted += outcome.inserted.len();
        self.updated += outcome.updated.len();
        self.unchanged += outcome.unchanged;
    }
}

/// What a teams-and-channels refresh found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StructureReport {
    /// Teams joined.
    pub teams: usize,
    /// Channels listed.
    pub channels: usize,
    /// Teams whose channels could not be listed this time (kept from the cache), with why.
    pub failed_teams: Vec<(String, String)>,
}

/// Progress of [`Engine::sync_followed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A channel's round finished.
    Channel {
        /// The channel.
        channel_id: String,
        /// Its name.
        name: String,
        /// Finished so far.
        done: usize,
        /// In all.
        total: usize,
        /// What it did, or why it failed (code, message).
        result: Result<RoundReport, (String, String)>,
    },
}

/// See the module docs.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("account", &self.inner.account)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) account: AccountId,
    pub(crate) me: String,
    /// The signed-in user's display name (for local echoes).
    pub(crate) me_name: Option<String>,
    pub(crate) config: EngineConfig,
    pub(crate) store: Arc<parking_lot::Mutex<Store>>,
    pub(crate) graph: GraphClient,
    pub(crate) media: MediaRewrite,
    pub(crate) changes: broadcast::Sender<Change>,
    status_tx: watch::Sender<Status>,
    pub(crate) board: parking_lot::Mutex<StatusBoard>,
    attention: parking_lot::Mutex<Attention>,
    pub(crate) schedule: parking_lot::Mutex<Schedule>,
    wake: Notify,
    /// Wakes the outbox sender (a write was queued, resent, or sign-in came back).
    pub(crate) outbox_wake: Notify,
    /// Outbox items whose request is on its way (never adopted by a sync meanwhile).
    pub(crate) in_flight: parking_lot::Mutex<HashSet<i64>>,
    /// In-doubt items that could not be looked for yet, and when to look again.
    pub(crate) reconcile_after: parking_lot::Mutex<HashMap<i64, Instant>>,
    locks: parking_lot::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    pub(crate) cancel: CancellationToken,
    pub(crate) sign_in_pause: AtomicBool,
    disk_pause_until: parking_lot::Mutex<Option<Instant>>,
    structure_refreshed: parking_lot::Mutex<Option<Instant>>,
    structure_retry_at: parking_lot::Mutex<Option<Instant>>,
    structure_failures: parking_lot::Mutex<u32>,
    /// Bounds the rounds running at once, for the scheduler and `sync_followed` alike.
    rounds: Arc<Semaphore>,
    started: AtomicBool,
    /// Passes of the scheduler loop (tests check that it sleeps).
    passes: std::sync::atomic::AtomicU64,
    /// A search-index maintenance task is running.
    maintaining: AtomicBool,
}

const STRUCTURE_KEY: &str = "structure_refreshed_at";

impl Engine {
    /// An engine for one account. Nothing runs until [`Engine::start`] (the app) or an explicit
    /// call (the CLI).
    pub fn new(parts: EngineParts) -> Engine {
        let config = parts.config.clamped();
        let parallel = config.max_parallel_channels;
        let (changes, _) = broadcast::channel(1024);
        let (status_tx, _) = watch::channel(Status::default());
        let now = Instant::now();
        let media = MediaRewrite {
            graph_bases: vec![parts.graph_base.trim_end_matches('/').to_owned()],
            media_prefix: config.media_prefix.clone(),
            account_key: parts.account.key(),
        };
        let me_name = parts
            .store
            .account(&parts.account)
            .ok()
            .flatten()
            .map(|a| a.display_name)
            .filter(|n| !n.is_empty());
        Engine {
            inner: Arc::new(Inner {
                account: parts.account,
                me: parts.account.user_id.to_string(),
                me_name,
                schedule: parking_lot::Mutex::new(Schedule::new(config.clone())),
                config,
                store: Arc::new(parking_lot::Mutex::new(parts.store)),
                graph: parts.graph,
                media,
                changes,
                status_tx,
                board: parking_lot::Mutex::new(StatusBoard::default()),
                attention: parking_lot::Mutex::new(Attention::new(now)),
                wake: Notify::new(),
                outbox_wake: Notify::new(),
                in_flight: parking_lot::Mutex::new(HashSet::new()),
                reconcile_after: parking_lot::Mutex::new(HashMap::new()),
                locks: parking_lot::Mutex::new(HashMap::new()),
                cancel: CancellationToken::new(),
                sign_in_pause: AtomicBool::new(false),
                disk_pause_until: parking_lot::Mutex::new(None),
                structure_refreshed: parking_lot::Mutex::new(None),
                structure_retry_at: parking_lot::Mutex::new(None),
                structure_failures: parking_lot::Mutex::new(0),
                rounds: Arc::new(Semaphore::new(parallel)),
                started: AtomicBool::new(false),
                passes: std::sync::atomic::AtomicU64::new(0),
                maintaining: AtomicBool::new(false),
            }),
        }
    }

    /// The account.
    pub fn account(&self) -> AccountId {
        self.inner.account
    }

    /// The Graph client (shared budgets), e.g. for the outbox or the media scheme.
    pub fn graph(&self) -> &GraphClient {
        &self.inner.graph
    }

    /// Starts the background scheduler (idempotent). It refreshes teams and channels when
    /// they are older than a day (or unknown), then polls per the attention schedule until
    /// [`Engine::shutdown`].
    pub fn start(&self) {
        if self.inner.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let inner = self.inner.clone();
        tokio::spawn(async move { scheduler(inner).await });
        let inner = self.inner.clone();
        tokio::spawn(async move { forward_throttle(inner).await });
        let inner = self.inner.clone();
        tokio::spawn(async move { crate::outbox::sender(inner).await });
    }

    /// Stops the background tasks; calls in flight finish their current page.
    pub fn shutdown(&self) {
        self.inner.cancel.cancel();
    }

    /// The status, as a watch that changes whenever it does.
    pub fn status(&self) -> watch::Receiver<Status> {
        self.inner.status_tx.subscribe()
    }

    /// Every committed change, as the subscriptions see them (the CLI's `--watch`).
    pub fn changes(&self) -> broadcast::Receiver<Change> {
        self.inner.changes.subscribe()
    }

    /// Fetches teams and channels now (start, the person's refresh, the daily background).
    pub async fn refresh_structure(&self) -> Result<StructureReport, EngineError> {
        refresh_structure(&self.inner).await
    }

    /// Fetches teams and channels only when they are older than a day (or were never fetched):
    /// what a scripted `sync` should do. Returns whether it fetched.
    pub async fn ensure_structure(&self) -> Result<bool, EngineError> {
        let fresh = structure_age(&self.inner)
            .await
            .is_some_and(|age| age < self.inner.config.structure_interval);
        let account = self.inner.account;
        let known = !self.inner.db(move |s| s.teams(&account)).await?.is_empty();
        if fresh && known {
            return Ok(false);
        }
        self.refresh_structure().await?;
        Ok(true)
    }

    /// Runs one delta round of a channel now, to its deltaLink.
    pub async fn sync_channel(&self, channel_id: &str) -> Result<RoundReport, EngineError> {
        /// Takes the channel off "syncing" if the caller stops waiting mid-round.
        struct Abandon<'a>(&'a Inner, &'a str, bool);
        impl Drop for Abandon<'_> {
            fn drop(&mut self) {
                if !self.2 {
                    self.0.board.lock().abandoned(self.1);
                    self.0.publish();
                }
            }
        }
        self.inner.board.lock().started(channel_id);
        self.inner.publish();
        let mut guard = Abandon(&self.inner, channel_id, false);
        let result = round(&self.inner, channel_id).await;
        guard.2 = true;
        self.inner.round_done(channel_id, &result);
        result
    }

    /// Runs a round of every followed channel (several at once, within the budgets), refreshing
    /// teams and channels first when they have never been fetched. `progress` hears of each
    /// channel as it finishes. Returns the first sign-in or disk-full error, else the reports.
    pub async fn sync_followed(
        &self,
        progress: impl Fn(Progress) + Send + Sync + 'static,
    ) -> Result<Vec<(String, Result<RoundReport, EngineError>)>, EngineError> {
        let account = self.inner.account;
        if self.inner.db(move |s| s.teams(&account)).await?.is_empty() {
            self.refresh_structure().await?;
        }
        let channels: Vec<ChannelRow> = self
            .inner
            .db(move |s| s.channels(&account))
            .await?
            .into_iter()
            .filter(|c| c.followed)
            .collect();
        let total = channels.len();
        let semaphore = self.inner.rounds.clone();
        let progress = Arc::new(progress);
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for channel in channels {
            let engine = self.clone();
            let semaphore = semaphore.clone();
            let progress = progress.clone();
            let done = done.clone();
            tasks.spawn(async move {
                let _permit = semaphore.acquire_owned().await;
                let result = engine.sync_channel(&channel.id).await;
                let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                progress(Progress::Channel {
                    channel_id: channel.id.clone(),
                    name: channel.display_name.clone(),
                    done: n,
                    total,
                    result: result
                        .as_ref()
                        .map(Clone::clone)
                        .map_err(|e| (e.code().to_owned(), e.to_string())),
                });
                (channel.id, result)
            });
        }
        let mut out = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            out.push(joined?);
        }
        // A sign-in or a full disk stops everything: say so rather than listing each channel.
        if let Some(i) = out
            .iter()
            .position(|(_, r)| matches!(r, Err(e) if e.needs_sign_in() || e.disk_full()))
        {
            if let (_, Err(e)) = out.swap_remove(i) {
                return Err(e);
            }
        }
        Ok(out)
    }

    /// A channel's timeline: its newest `limit` root posts now, then diffs.
    pub async fn timeline(
        &self,
        channel_id: &str,
        limit: usize,
    ) -> Result<(Vec<perch_store::TimelineItem>, Timeline), EngineError> {
        channel_row(&self.inner, channel_id).await?;
        Timeline::open(self.inner.clone(), channel_id, limit).await
    }

    /// Fetches the next page of a channel's older history into the cache (beyond what delta
    /// brought); false when there is no more. Timelines read it with
    /// [`Timeline::older_from_cache`].
    pub async fn fetch_history_page(&self, channel_id: &str) -> Result<bool, EngineError> {
        fetch_history_page(&self.inner, channel_id).await
    }

    /// A thread: the replies of `root_id` now (oldest first), then diffs. Fetching them from
    /// Graph is [`Engine::refresh_thread`].
    pub async fn thread(
        &self,
        channel_id: &str,
        root_id: &str,
    ) -> Result<(Vec<perch_store::TimelineItem>, Thread), EngineError> {
        channel_row(&self.inner, channel_id).await?;
        Thread::open(self.inner.clone(), channel_id, root_id).await
    }

    /// Fetches every reply of a thread from Graph (the person opened it).
    pub async fn refresh_thread(
        &self,
        channel_id: &str,
        root_id: &str,
    ) -> Result<RoundReport, EngineError> {
        refresh_thread(&self.inner, channel_id, root_id).await
    }

    /// Teams, channels and counts now, then diffs.
    pub async fn sidebar(&self) -> Result<(Vec<SidebarTeam>, Sidebar), EngineError> {
        Sidebar::open(self.inner.clone()).await
    }

    /// Teams, channels and counts, once.
    pub async fn sidebar_snapshot(&self) -> Result<Vec<SidebarTeam>, EngineError> {
        views::snapshot(&self.inner).await
    }

    /// Offline search over the cache.
    pub async fn search(&self, query: SearchQuery) -> Result<Vec<SearchHit>, EngineError> {
        let account = self.inner.account;
        self.inner.db(move |s| s.search(&account, &query)).await
    }

    /// Follows or unfollows a channel (followed channels are polled in the background).
    pub async fn set_followed(&self, channel_id: &str, followed: bool) -> Result<(), EngineError> {
        let account = self.inner.account;
        let id = channel_id.to_owned();
        if !self
            .inner
            .db(move |s| s.set_followed(&account, &id, followed))
            .await?
        {
            return Err(EngineError::UnknownChannel(channel_id.to_owned()));
        }
        let _ = self.inner.changes.send(Change::Structure);
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Marks a channel read up to a message time (never moves backwards).
    pub async fn mark_read(
        &self,
        channel_id: &str,
        up_to: chrono::DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let account = self.inner.account;
        let id = channel_id.to_owned();
        self.inner
            .db(move |s| s.mark_read(&account, &id, up_to))
            .await?;
        let _ = self.inner.changes.send(Change::Read {
            channel_id: channel_id.to_owned(),
        });
        Ok(())
    }

    /// A cached message.
    pub async fn message(
        &self,
        key: MessageKey,
    ) -> Result<Option<perch_store::MessageRow>, EngineError> {
        let account = self.inner.account;
        self.inner.db(move |s| s.message(&account, &key)).await
    }

    /// The channel the person is looking at (`None`: none). Opening a channel syncs it at once.
    pub fn view_channel(&self, channel_id: Option<&str>) {
        {
            let mut attention = self.inner.attention.lock();
            attention.in_view = channel_id.map(str::to_owned);
            attention.last_input = Instant::now();
        }
        if let Some(channel) = channel_id {
            self.inner.schedule.lock().make_due(channel);
        }
        self.inner.wake.notify_one();
    }

    /// The window was shown or hidden.
    pub fn window_visible(&self, visible: bool) {
        {
            let mut attention = self.inner.attention.lock();
            attention.visible = visible;
            if visible {
                attention.last_input = Instant::now();
            }
        }
        self.inner.wake.notify_one();
    }

    /// New polling intervals chosen in the settings, in force at once: the next due time of
    /// each channel is its last sync plus the new interval. Never below the built-in minimums
    /// ([`EngineConfig::MIN_IN_VIEW`], [`EngineConfig::MIN_FOLLOWED`]); a policy's floors are
    /// the caller's to apply first.
    pub fn set_intervals(&self, in_view: Duration, followed: Duration) {
        {
            let mut schedule = self.inner.schedule.lock();
            schedule.set_intervals(
                in_view.max(EngineConfig::MIN_IN_VIEW),
                followed.max(EngineConfig::MIN_FOLLOWED),
            );
        }
        self.inner.wake.notify_one();
    }

    /// The person pressed a key or moved the pointer (resumes polling after idleness).
    pub fn user_input(&self) {
        self.inner.attention.lock().last_input = Instant::now();
        self.inner.wake.notify_one();
    }

    /// The account signed in again: resume syncing.
    pub fn signed_in_again(&self) {
        self.inner.sign_in_pause.store(false, Ordering::SeqCst);
        self.inner.board.lock().signed_in();
        self.inner.publish();
        self.inner.wake.notify_one();
        self.inner.outbox_wake.notify_one();
    }

    /// The person asked for a refresh: teams and channels, and the channel in view, now.
    pub async fn refresh(&self) -> Result<StructureReport, EngineError> {
        let report = self.refresh_structure().await?;
        let in_view = self.inner.attention.lock().in_view.clone();
        if let Some(channel) = in_view {
            self.inner.schedule.lock().make_due(&channel);
        }
        self.inner.wake.notify_one();
        Ok(report)
    }

    /// Removes cached threads older than the managed policy's retention
    /// ([`EngineConfig::cache_retention`]; nothing when it is unset). The scheduler runs it when
    /// it starts; the CLI before `sync`. Returns how many messages were removed.
    pub async fn apply_retention(&self) -> Result<usize, EngineError> {
        purge_expired(&self.inner).await
    }

    /// Merges the full-text index's segments in small steps (each holds the store lock for
    /// milliseconds), until nothing is left or `max_steps` is reached. The scheduler runs it
    /// whenever rounds go quiet; the CLI after `sync`. Returns the steps that did work.
    pub async fn maintain_search(&self, max_steps: usize) -> Result<usize, EngineError> {
        maintain_search(&self.inner, max_steps).await
    }

    /// How many times the scheduler loop has run (tests check that it sleeps).
    #[doc(hidden)]
    pub fn scheduler_passes_for_tests(&self) -> u64 {
        self.inner.passes.load(Ordering::Relaxed)
    }

    /// Caps the database file (`PRAGMA max_page_count`) so that tests can fill the "disk".
    #[doc(hidden)]
    pub async fn set_max_pages_for_tests(&self, pages: i64) {
        let _ = self
            .inner
            .db(move |s| {
                Ok(s.connection().query_row(
                    &format!("PRAGMA max_page_count = {pages}"),
                    [],
                    |r| r.get::<_, i64>(0),
                )?)
            })
            .await;
    }
}

impl Inner {
    /// Runs store work on the blocking pool.
    pub(crate) async fn db<T, F>(&self, f: F) -> Result<T, EngineError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, perch_store::Error> + Send + 'static,
    {
        let store = self.store.clone();
        Ok(tokio::task::spawn_blocking(move || f(&mut store.lock())).await??)
    }

    pub(crate) fn lock_for(&self, channel_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .entry(channel_id.to_owned())
            .or_default()
            .clone()
    }

    pub(crate) fn publish(&self) {
        let status = self.board.lock().status();
        self.status_tx.send_if_modified(|current| {
            if *current != status {
                *current = status;
                true
            } else {
                false
            }
        });
    }

    fn round_done(&self, channel_id: &str, result: &Result<RoundReport, EngineError>) {
        match result {
            Ok(_) => {
                // A round that worked proves the tokens do: lift a sign-in pause with the flag
                // (and let the outbox go on).
                if self.sign_in_pause.swap(false, Ordering::SeqCst) {
                    self.outbox_wake.notify_one();
                }
                self.board.lock().succeeded(channel_id);
            }
            Err(e) => {
                let failure = Failure::of(e);
                match &failure {
                    Failure::NeedsSignIn(_) => self.sign_in_pause.store(true, Ordering::SeqCst),
                    Failure::DiskFull(_) => {
                        *self.disk_pause_until.lock() =
                            Some(Instant::now() + self.config.disk_full_retry)
                    }
                    _ => {}
                }
                tracing::warn!(channel = %channel_id, code = e.code(), error = %e, "sync round failed");
                self.board.lock().failed(Some(channel_id), failure);
            }
        }
        self.publish();
    }

    fn ingested(
        &self,
        channel_id: &str,
        outcome: &perch_store::IngestOutcome,
        sent: Vec<(i64, MessageKey)>,
    ) {
        self.board.lock().page();
        self.publish();
        if !outcome.inserted.is_empty() || !outcome.updated.is_empty() || !sent.is_empty() {
            let _ = self.changes.send(Change::Messages {
                channel_id: channel_id.to_owned(),
                inserted: outcome.inserted.clone(),
                updated: outcome.updated.clone(),
                sent,
                committed_at: std::time::SystemTime::now(),
            });
        }
    }

    pub(crate) fn origin<'a>(&'a self, team_id: &'a str, channel_id: &'a str) -> Origin<'a> {
        Origin {
            team_id,
            channel_id,
            me: &self.me,
            media: &self.media,
        }
    }
}

/// Converts messages on the blocking pool and commits them with `state` in one transaction.
async fn ingest(
    inner: &Arc<Inner>,
    channel: &ChannelRow,
    messages: Vec<ChatMessage>,
    state: impl FnOnce(Option<chrono::DateTime<Utc>>) -> Option<SyncState> + Send + 'static,
) -> Result<(perch_store::IngestOutcome, Option<chrono::DateTime<Utc>>), EngineError> {
    let account = inner.account;
    let team_id = channel.team_id.clone();
    let channel_id = channel.id.clone();
    let inner2 = inner.clone();
    let store = inner.store.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let converted = convert::to_rows(&messages, &inner2.origin(&team_id, &channel_id));
        let state = state(converted.newest);
        let mut s = store.lock();
        let outcome = s.ingest(&account, &channel_id, &converted.rows, state.as_ref())?;
        // A post whose answer was lost may be among these: adopt it before anyone sees the
        // page, so that its echo is replaced rather than doubled.
        let sent = crate::outbox::adopt_ingested(&mut s, &inner2, &channel_id, &converted.rows)?;
        drop(s);
        let adopted = !sent.is_empty();
        // Told here, right after the commit, so that a caller that stops waiting cannot
        // leave a committed page unannounced.
        inner2.ingested(&channel_id, &outcome, sent);
        Ok::<_, perch_store::Error>((outcome, converted.newest, adopted))
    })
    .await??;
    let (outcome, newest, adopted) = outcome;
    if adopted {
        let _ = crate::outbox::refresh_counts(inner).await;
        inner.outbox_wake.notify_one();
    }
    Ok((outcome, newest))
}

/// Stores messages fetched outside a delta round (no sync state moves), announcing them.
pub(crate) async fn ingest_messages(
    inner: &Arc<Inner>,
    channel: &ChannelRow,
    messages: Vec<ChatMessage>,
) -> Result<perch_store::IngestOutcome, EngineError> {
    Ok(ingest(inner, channel, messages, |_| None).await?.0)
}

/// Fetches the replies a page left behind `replies@odata.nextLink` (threads with more than
/// Graph inlines), so that a thread is stored whole.
async fn complete_replies(
    inner: &Inner,
    channel: &ChannelRow,
    messages: &mut [ChatMessage],
) -> Result<(), EngineError> {
    for message in messages.iter_mut() {
        let mut link = message.replies_next_link.take();
        let mut fetched = message.replies.len();
        while let Some(next) = link {
            if fetched >= inner.config.max_thread_replies {
                break;
            }
            let page = inner
                .graph
                .replies_page(
                    &channel.team_id,
                    &channel.id,
                    &message.id,
                    &PageRequest::Link(next),
                )
                .await?;
            fetched += page.value.len();
            message.replies.extend(page.value);
            link = page.next_link;
        }
    }
    Ok(())
}

pub(crate) async fn channel_row(
    inner: &Inner,
    channel_id: &str,
) -> Result<ChannelRow, EngineError> {
    let account = inner.account;
    let id = channel_id.to_owned();
    inner
        .db(move |s| s.channel(&account, &id))
        .await?
        .ok_or_else(|| EngineError::UnknownChannel(channel_id.to_owned()))
}

/// One delta round of a channel. See the module docs for the invariants.
pub(crate) async fn round(
    inner: &Arc<Inner>,
    channel_id: &str,
) -> Result<RoundReport, EngineError> {
    let lock = inner.lock_for(channel_id);
    let _guard = lock.lock().await;
    let channel = channel_row(inner, channel_id).await?;
    let account = inner.account;
    let id = channel_id.to_owned();
    let mut state = inner.db(move |s| s.sync_state(&account, &id)).await?;
    let mut report = RoundReport::default();
    let start = |state: &SyncState, inner: &Inner| DeltaRequest::Start {
        since: match state.watermark {
            Some(w) => w - inner.config.watermark_overlap,
            None => Utc::now() - inner.config.first_sync,
        },
        top: inner.config.page_size,
        expand_replies: true,
    };
    let mut request = match (&state.next_link, &state.delta_link) {
        (Some(next), _) => DeltaRequest::Link(next.clone()),
        (None, Some(delta)) => DeltaRequest::Link(delta.clone()),
        (None, None) => start(&state, inner),
    };
    if state.next_link.is_none() {
        state.round_started_at = Some(Utc::now());
    }
    // The first round of a channel brings its recent history: that is not "unread".
    let first_round = state.delta_link.is_none() && state.last_synced_at.is_none();
    // The newest change seen in this round (in this process; a resumed round starts again
    // from none, which only makes the next watermark more cautious).
    let mut round_newest: Option<chrono::DateTime<Utc>> = None;
    loop {
        if inner.cancel.is_cancelled() {
            return Err(EngineError::Stopped);
        }
        let page = match inner
            .graph
            .delta_page(&channel.team_id, &channel.id, &request)
            .await
        {
            Ok(page) => page,
            Err(GraphError::DeltaExpired) if !report.restarted => {
                tracing::info!(channel = %channel.id, "delta token expired; starting again from the watermark");
                report.restarted = true;
                state.delta_link = None;
                state.next_link = None;
                request = start(&state, inner);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let mut messages = page.messages;
        complete_replies(inner, &channel, &mut messages).await?;
        let mut next_state = state.clone();
        match &page.next {
            DeltaNext::Next(link) => {
                next_state.next_link = Some(link.clone());
                next_state.delta_link = None;
            }
            DeltaNext::Done(link) => {
                next_state.next_link = None;
                next_state.delta_link = Some(link.clone());
                next_state.last_synced_at = Some(Utc::now());
                next_state.round_started_at = None;
            }
        }
        // The watermark only moves when a round completes: pages walk Graph's change order,
        // not `lastModifiedDateTime` order, so a restart from a watermark taken mid-round could
        // skip older changes the round had not reached yet.
        let done = matches!(page.next, DeltaNext::Done(_));
        let committed = next_state.clone();
        let state_after = next_state;
        let seen = round_newest;
        let (outcome, page_newest) = ingest(inner, &channel, messages, move |newest| {
            let mut s = committed;
            if done {
                s.watermark = [s.watermark, seen, newest].into_iter().flatten().max();
            }
            Some(s)
        })
        .await?;
        report.add(&outcome);
        round_newest = round_newest.max(page_newest);
        // What was committed (mid-round the watermark does not move; the last page ends the loop).
        state = state_after;
        match page.next {
            DeltaNext::Next(link) => request = DeltaRequest::Link(link),
            DeltaNext::Done(_) => break,
        }
    }
    if let (true, Some(newest)) = (first_round, round_newest) {
        let account = inner.account;
        let id = channel.id.clone();
        inner
            .db(move |s| s.mark_read(&account, &id, newest))
            .await?;
        let _ = inner.changes.send(Change::Read {
            channel_id: channel.id.clone(),
        });
    }
    Ok(report)
}

/// Fetches older history (list paging, newest first) until something new reaches the cache
/// or the history is complete. Returns whether new root posts were stored.
pub(crate) async fn fetch_history_page(
    inner: &Arc<Inner>,
    channel_id: &str,
) -> Result<bool, EngineError> {
    let lock = inner.lock_for(channel_id);
    let _guard = lock.lock().await;
    let channel = channel_row(inner, channel_id).await?;
    for _ in 0..50 {
        let account = inner.account;
        let id = channel_id.to_owned();
        let state = inner.db(move |s| s.sync_state(&account, &id)).await?;
        if state.history_complete {
            return Ok(false);
        }
        let request = match &state.history_link {
            Some(link) => PageRequest::Link(link.clone()),
            None => PageRequest::First {
                top: inner.config.page_size,
                expand_replies: true,
            },
        };
        let page = inner
            .graph
            .messages_page(&channel.team_id, &channel.id, &request)
            .await?;
        let mut messages = page.value;
        complete_replies(inner, &channel, &mut messages).await?;
        let mut next_state = state.clone();
        next_state.history_complete = page.next_link.is_none();
        next_state.history_link = page.next_link;
        let complete = next_state.history_complete;
        let (outcome, _) = ingest(inner, &channel, messages, move |_| Some(next_state)).await?;
        let new_roots = outcome.inserted.iter().any(|k| k.id == k.root_id);
        if new_roots || complete {
            return Ok(new_roots);
        }
    }
    Ok(false)
}

async fn refresh_thread(
    inner: &Arc<Inner>,
    channel_id: &str,
    root_id: &str,
) -> Result<RoundReport, EngineError> {
    let channel = channel_row(inner, channel_id).await?;
    let mut report = RoundReport::default();
    let mut request = PageRequest::First {
        top: inner.config.page_size,
        expand_replies: false,
    };
    let mut fetched = 0usize;
    loop {
        let page = inner
            .graph
            .replies_page(&channel.team_id, &channel.id, root_id, &request)
            .await?;
        fetched += page.value.len();
        // Replies arrive without their root: give each its root id.
        let mut replies = page.value;
        for reply in &mut replies {
            if reply.reply_to_id.as_deref().is_none_or(str::is_empty) {
                reply.reply_to_id = Some(root_id.to_owned());
            }
        }
        let (outcome, _) = ingest(inner, &channel, replies, |_| None).await?;
        report.add(&outcome);
        match page.next_link {
            Some(link) if fetched < inner.config.max_thread_replies => {
                request = PageRequest::Link(link)
            }
            _ => break,
        }
    }
    Ok(report)
}

async fn refresh_structure(inner: &Arc<Inner>) -> Result<StructureReport, EngineError> {
    let result = refresh_structure_inner(inner).await;
    match &result {
        Ok(_) => {
            inner.sign_in_pause.store(false, Ordering::SeqCst);
            inner.board.lock().reachable();
            *inner.structure_refreshed.lock() = Some(Instant::now());
            *inner.structure_failures.lock() = 0;
        }
        Err(e) => {
            let failure = Failure::of(e);
            if let Failure::NeedsSignIn(_) = failure {
                inner.sign_in_pause.store(true, Ordering::SeqCst);
            }
            inner.board.lock().failed(None, failure);
        }
    }
    inner.publish();
    result
}

async fn refresh_structure_inner(inner: &Arc<Inner>) -> Result<StructureReport, EngineError> {
    let teams = inner.graph.joined_teams().await?;
    let rows: Vec<TeamRow> = teams
        .iter()
        .map(|t| TeamRow {
            id: t.id.clone(),
            display_name: t.display_name.clone(),
            description: t.description.clone(),
        })
        .collect();
    let account = inner.account;
    let team_rows = rows.clone();
    inner
        .db(move |s| s.replace_teams(&account, &team_rows))
        .await?;
    let ids: Vec<String> = rows.iter().map(|t| t.id.clone()).collect();
    let mut report = StructureReport {
        teams: rows.len(),
        ..Default::default()
    };
    for (team_id, result) in inner.graph.channels_of(&ids).await {
        match result {
            Ok(channels) => {
                let rows: Vec<ChannelRow> = channels
                    .into_iter()
                    .map(|c| ChannelRow {
                        team_id: team_id.clone(),
                        display_name: c.display_name.clone(),
                        id: c.id,
                        description: c.description,
                        membership_type: c.membership_type.as_str().to_owned(),
                        web_url: c.web_url,
                        followed: false,
                    })
                    .collect();
                report.channels += rows.len();
                let team = team_id.clone();
                inner
                    .db(move |s| s.replace_channels(&account, &team, &rows))
                    .await?;
            }
            Err(e) if e.needs_sign_in() => return Err(e.into()),
            Err(e) => {
                tracing::warn!(team = %team_id, error = %e, "could not list a team's channels; keeping the cached list");
                report.failed_teams.push((team_id, e.to_string()));
            }
        }
    }
    let now = serde_json::Value::String(Utc::now().to_rfc3339());
    let key = format!("{STRUCTURE_KEY}:{}", inner.account.key());
    inner.db(move |s| s.set_setting(&key, &now)).await?;
    let _ = inner.changes.send(Change::Structure);
    Ok(report)
}

/// How long ago teams and channels were last fetched, per the store (survives restarts).
async fn structure_age(inner: &Arc<Inner>) -> Option<Duration> {
    if let Some(at) = *inner.structure_refreshed.lock() {
        return Some(at.elapsed());
    }
    let key = format!("{STRUCTURE_KEY}:{}", inner.account.key());
    let value = inner.db(move |s| s.setting(&key)).await.ok().flatten()?;
    let at = chrono::DateTime::parse_from_rfc3339(value.as_str()?).ok()?;
    (Utc::now() - at.with_timezone(&Utc)).to_std().ok()
}

/// Removes cached threads older than the policy's retention (see
/// [`EngineConfig::cache_retention`]); returns how many messages went.
async fn purge_expired(inner: &Arc<Inner>) -> Result<usize, EngineError> {
    let Some(keep) = inner.config.cache_retention else {
        return Ok(0);
    };
    let account = inner.account;
    let cutoff = Utc::now() - keep;
    let removed = inner
        .db(move |s| s.purge_older_than(&account, cutoff))
        .await?;
    tracing::info!(removed, days = keep.num_days(), "cache retention applied");
    Ok(removed)
}

async fn apply_retention(inner: &Arc<Inner>) {
    if let Err(error) = purge_expired(inner).await {
        tracing::warn!(code = error.code(), %error, "cache retention not applied");
    }
}

async fn maintain_search(inner: &Arc<Inner>, max_steps: usize) -> Result<usize, EngineError> {
    let mut steps = 0;
    while steps < max_steps && !inner.cancel.is_cancelled() {
        if !inner.db(|s| s.maintain_search(64)).await? {
            break;
        }
        steps += 1;
        // Let the UI's reads and the next page's commit in between steps.
        tokio::task::yield_now().await;
    }
    Ok(steps)
}

/// Forwards the Graph client's throttle state into the status, and clears it when it passes.
async fn forward_throttle(inner: Arc<Inner>) {
    let mut watch = inner.graph.throttle_watch();
    loop {
        let until = *watch.borrow_and_update();
        inner.board.lock().throttled(until);
        inner.publish();
        let expiry = until.and_then(|u| u.duration_since(std::time::SystemTime::now()).ok());
        tokio::select! {
            _ = inner.cancel.cancelled() => return,
            changed = watch.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(expiry.unwrap_or(Duration::from_secs(3600))), if expiry.is_some() => {
                inner.publish();
            }
        }
    }
}

/// The background loop: structure refresh when due, then rounds per the schedule.
async fn scheduler(inner: Arc<Inner>) {
    let (done_tx, mut done_rx) =
        mpsc::unbounded_channel::<(String, Result<RoundReport, EngineError>)>();
    let semaphore = inner.rounds.clone();
    let mut seeded = false;
    apply_retention(&inner).await;
    loop {
        if inner.cancel.is_cancelled() {
            return;
        }
        inner.passes.fetch_add(1, Ordering::Relaxed);
        let signed_out = inner.sign_in_pause.load(Ordering::SeqCst);
        let disk_paused = inner
            .disk_pause_until
            .lock()
            .is_some_and(|until| until > Instant::now());
        let retry_ok = inner
            .structure_retry_at
            .lock()
            .is_none_or(|at| at <= Instant::now());
        let structure_due = retry_ok
            && structure_age(&inner)
                .await
                .is_none_or(|age| age >= inner.config.structure_interval);
        if !signed_out && structure_due {
            if let Err(e) = refresh_structure(&inner).await {
                tracing::warn!(code = e.code(), error = %e, "teams and channels refresh failed");
                let transient = matches!(&e, EngineError::Graph(g) if g.is_transient());
                let wait = if transient {
                    let mut failures = inner.structure_failures.lock();
                    *failures = failures.saturating_add(1);
                    (Duration::from_secs(60) * (1u32 << (*failures - 1).min(10)))
                        .min(inner.config.structure_interval)
                } else {
                    inner.config.structure_interval
                };
                *inner.structure_retry_at.lock() = Some(Instant::now() + wait);
            }
        }
        let account = inner.account;
        // The last finished round of each followed channel is read once, to seed the schedule.
        let with_last_sync = !seeded;
        let channels = inner
            .db(move |s| {
                let channels = s.channels(&account)?;
                let mut out = Vec::new();
                for c in channels.into_iter().filter(|c| c.followed) {
                    let last = match with_last_sync {
                        true => s.sync_state(&account, &c.id)?.last_synced_at,
                        false => None,
                    };
                    out.push((c.id, last));
                }
                Ok(out)
            })
            .await
            .unwrap_or_default();
        let followed: HashSet<String> = channels.iter().map(|(c, _)| c.clone()).collect();
        let now = Instant::now();
        let due = {
            let mut schedule = inner.schedule.lock();
            if !seeded {
                for (channel, last) in &channels {
                    if let Some(ago) = last.and_then(|l| (Utc::now() - l).to_std().ok()) {
                        schedule.seed(channel, ago, now);
                    }
                }
                seeded = true;
            }
            let attention = inner.attention.lock().clone();
            if signed_out || disk_paused {
                Vec::new()
            } else {
                let due = schedule.due(&attention, &followed, now);
                for channel in &due {
                    schedule.started(channel);
                }
                due
            }
        };
        for channel in due {
            inner.board.lock().started(&channel);
            let inner2 = inner.clone();
            let semaphore = semaphore.clone();
            let done_tx = done_tx.clone();
            tokio::spawn(async move {
                let _permit = semaphore.acquire_owned().await;
                let result = round(&inner2, &channel).await;
                let _ = done_tx.send((channel, result));
            });
        }
        inner.publish();
        let wake = {
            let now = Instant::now();
            let mut wake = if signed_out || disk_paused {
                // Paused: overdue channels stay overdue, so the schedule's wake time would be
                // in the past. Wait for the pause to end (disk) or to be lifted (sign-in).
                None
            } else {
                let schedule = inner.schedule.lock();
                let attention = inner.attention.lock().clone();
                // Never a time in the past: that would spin.
                schedule
                    .next_wake(&attention, &followed, now)
                    .map(|w| w.max(now + Duration::from_millis(50)))
            };
            {
                let mut pause = inner.disk_pause_until.lock();
                match *pause {
                    Some(until) if until > now => wake = Some(wake.map_or(until, |w| w.min(until))),
                    Some(_) => *pause = None,
                    None => {}
                }
            }
            if let Some(at) = *inner.structure_retry_at.lock() {
                if at > Instant::now() {
                    wake = Some(wake.map_or(at, |w| w.min(at)));
                }
            }
            // The daily structure refresh.
            let structure_at = Instant::now() + inner.config.structure_interval;
            Some(wake.map_or(structure_at, |w| w.min(structure_at)))
        };
        let wake = wake.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            _ = inner.cancel.cancelled() => return,
            _ = tokio::time::sleep_until(wake) => {}
            _ = inner.wake.notified() => {}
            Some((channel, result)) = done_rx.recv() => {
                inner.schedule.lock().finished(&channel, result.is_ok(), Instant::now());
                inner.round_done(&channel, &result);
                // Rounds went quiet: tidy the search index in the background (one at a time).
                let quiet = !inner.board.lock().busy();
                if quiet && !inner.maintaining.swap(true, Ordering::SeqCst) {
                    let inner2 = inner.clone();
                    tokio::spawn(async move {
                        if let Err(e) = maintain_search(&inner2, 10_000).await {
                            tracing::warn!(code = e.code(), error = %e, "search index maintenance failed");
                        }
                        inner2.maintaining.store(false, Ordering::SeqCst);
                    });
                }
            }
        }
    }
}
