//! The send queue: every write the person makes goes through the persisted outbox
//! (perch-store's [`OutboxStore`]) and leaves from here, exactly once.
//!
//! # Writing
//!
//! [`Engine::post`], [`Engine::reply`], [`Engine::edit`], [`Engine::delete`],
//! [`Engine::undelete`], [`Engine::react`] and [`Engine::unreact`] check the write (an empty or
//! oversized body, an unknown channel or message, someone else's message, a mention of someone
//! who is not a channel member are refused with an [`EngineError`] that says why), build the
//! body as safe HTML from the composer's structure ([`perch_core::compose`]), queue it and
//! return at once; every open timeline shows it as a local echo ([`crate::echo`]) in the same
//! moment. A write on a message that is itself still unsent names that message's item as its
//! dependency and gets the server's id when it is sent; editing a still-queued post rewrites
//! it, deleting one cancels it.
//!
//! # Sending
//!
//! One sender task per engine ([`sender`]) takes the head of every channel that is due
//! (perch-store keeps the per-channel order and the dependencies), several channels at a time,
//! each under the channel's lock so that a delta round never runs beside a send in the same
//! channel. The Graph client's budgets (0.8 rps per user for writes, per channel, Retry-After)
//! pace the requests; on top of that:
//!
//! - a recoverable failure (network, 429, 5xx, an unreadable answer) is Failed with a retry time
//!   that backs off from [`EngineConfig::outbox_retry_min`] to
//!   [`EngineConfig::outbox_retry_max`] (or the server's Retry-After, if longer);
//! - a permanent one (403, the message is gone, the body was refused) wedges the item with the
//!   reason, and it waits for the person to resend or cancel it;
//! - a sign-in that is no longer valid pauses the queue until [`Engine::signed_in_again`];
//! - an item unsent for [`EngineConfig::outbox_expiry`] (24 hours, as Teams does) expires and
//!   waits for the person: resend ([`Engine::retry`]) or discard ([`Engine::cancel`]).
//!
//! # Exactly once
//!
//! Graph has no idempotency key, so a post or reply whose answer did not arrive (the
//! connection dropped, a 5xx after the request went out, Perch killed in between) may or may not
//! exist. Such an item is *in doubt*: left Sending by a crash, or Failed with
//! `write_unconfirmed`. Before it is ever sent again it is reconciled ([`reconcile`]): the
//! newest messages of the channel (or replies of the thread) are fetched and searched for one by
//! the signed-in user, created after the attempt began (less [`EngineConfig::clock_skew`]),
//! with the same words, that no other item has adopted. If found it is adopted (the item is
//! Sent with that id); only if not is the write sent again. Every page any sync ingests is
//! searched the same way, so that a delta round that brings the message first adopts it too.
//! Edits, deletes and reactions are idempotent and are simply sent again.
//!
//! When a post or reply is answered, the server's message is stored *before* the item is marked
//! Sent, and one change announces both, so a view swaps the echo for the message without a gap
//! or a double; after an edit, delete or reaction the message is read back from Graph (one GET)
//! and stored before the item is marked Sent, for the same reason.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use perch_core::compose::{self, ComposeError, Draft};
use perch_graph::{
    ChatMessage, GraphError, HostedContentRef, Identity, IdentitySet, Importance, Mention,
    NewMessage, PageRequest,
};
use perch_store::{
    CacheStore, ChannelRow, MemberRow, MessageKey, MessageRow, NewOutboxItem, OutboxItem,
    OutboxKind, OutboxState, OutboxStore, Store,
};
use tokio::time::Instant;

use crate::echo::{self, Payload, PayloadMention};
use crate::engine::{channel_row, Inner};
use crate::status::Failure;
use crate::views::Change;
use crate::{Engine, EngineError};

/// The error code an unconfirmed post or reply is Failed with: it must be reconciled before
/// it is sent again.
pub const UNCONFIRMED: &str = "write_unconfirmed";

/// A new root post.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewPost {
    /// The body, as the composer built it.
    pub draft: Draft,
    /// The subject line.
    pub subject: Option<String>,
    /// `normal` (default), `high` or `urgent`.
    pub importance: Option<String>,
}

/// What [`Engine::drain_outbox`] left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DrainReport {
    /// Items sent (or found already sent) while draining.
    pub sent: usize,
    /// Items still waiting (failed with a later retry, wedged, expired, in doubt, or behind one
    /// of those).
    pub waiting: usize,
}

impl Engine {
    /// Queues a new post in a channel. Refused before queueing: an unknown channel, an empty or
    /// oversized body, a bad subject or importance, a mention of a non-member.
    pub async fn post(&self, channel_id: &str, post: NewPost) -> Result<OutboxItem, EngineError> {
        let channel = channel_row(&self.inner, channel_id).await?;
        let mut payload = self.body(&channel, &post.draft, &|_| None).await?;
        payload.subject = compose::check_subject(post.subject.as_deref())?;
        payload.importance = importance(post.importance.as_deref())?;
        self.enqueue(&channel, OutboxKind::Post, None, None, None, payload)
            .await
    }

    /// Queues a reply to the root post `root_id` (a server id, or a local echo's id for a post
    /// that is still unsent).
    pub async fn reply(
        &self,
        channel_id: &str,
        root_id: &str,
        draft: &Draft,
    ) -> Result<OutboxItem, EngineError> {
        let channel = channel_row(&self.inner, channel_id).await?;
        let payload = self.body(&channel, draft, &|_| None).await?;
        match self.target(&channel, root_id).await? {
            Target::Local(item) if item.kind == OutboxKind::Post => {
                self.enqueue(
                    &channel,
                    OutboxKind::Reply,
                    None,
                    None,
                    Some(item.id),
                    payload,
                )
                .await
            }
            Target::Server(row) if row.reply_to_id.is_none() => {
                if row.deleted_at.is_some() {
                    return Err(EngineError::MessageDeleted(root_id.to_owned()));
                }
                self.enqueue(
                    &channel,
                    OutboxKind::Reply,
                    Some(row.id.clone()),
                    None,
                    None,
                    payload,
                )
                .await
            }
            _ => Err(EngineError::NotARootPost(root_id.to_owned())),
        }
    }

    /// Queues an edit of one's own message (the subject only applies to root posts). A post or
    /// reply that is still queued is rewritten in place instead.
    pub async fn edit(
        &self,
        channel_id: &str,
        message_id: &str,
        post: NewPost,
    ) -> Result<OutboxItem, EngineError> {
        let channel = channel_row(&self.inner, channel_id).await?;
        let target = self.target(&channel, message_id).await?;
        // The message's own inline images may stay, at the address Graph has them under; a
        // queued post has none (Perch sends no images).
        let own_images = |hosted_id: &str| match &target {
            Target::Server(row) if row.hosted.iter().any(|h| h == hosted_id) => {
                let (root, id) = address(row);
                let at = HostedContentRef {
                    team_id: channel.team_id.clone(),
                    channel_id: channel.id.clone(),
                    message_id: root.clone().unwrap_or_else(|| id.clone()),
                    reply_id: root.is_some().then_some(id),
                    hosted_content_id: hosted_id.to_owned(),
                };
                self.inner
                    .graph
                    .hosted_content_url(&at)
                    .ok()
                    .map(String::from)
            }
            _ => None,
        };
        let mut payload = self.body(&channel, &post.draft, &own_images).await?;
        payload.importance = importance(post.importance.as_deref())?;
        match target {
            Target::Local(item) => {
                if item.kind == OutboxKind::Post {
                    payload.subject = compose::check_subject(post.subject.as_deref())?;
                }
                let account = self.inner.account;
                let id = item.id;
                let value = payload.to_value();
                let rewritten = self
                    .inner
                    .db(move |s| s.rewrite_payload(&account, id, &value))
                    .await?;
                if rewritten {
                    self.inner.outbox_changed(&channel.id, vec![id]).await;
                    return self.item(id).await;
                }
                // Already on its way: edit it once it is there.
                self.enqueue(&channel, OutboxKind::Edit, None, None, Some(id), payload)
                    .await
            }
            Target::Server(row) => {
                if row.from_id.as_deref() != Some(self.inner.me.as_str()) {
                    return Err(EngineError::NotYours(message_id.to_owned()));
                }
                if row.deleted_at.is_some() {
                    return Err(EngineError::MessageDeleted(message_id.to_owned()));
                }
                if row.reply_to_id.is_none() {
                    payload.subject = compose::check_subject(post.subject.as_deref())?;
                }
                let (root, target) = address(&row);
                self.enqueue(
                    &channel,
                    OutboxKind::Edit,
                    root,
                    Some(target),
                    None,
                    payload,
                )
                .await
            }
        }
    }

    /// Queues a soft delete of a message (one's own, or any as a channel owner). A post or reply
    /// that is still queued is cancelled instead (the returned item is then Cancelled).
    pub async fn delete(
        &self,
        channel_id: &str,
        message_id: &str,
    ) -> Result<OutboxItem, EngineError> {
        let channel = channel_row(&self.inner, channel_id).await?;
        if let Target::Local(item) = self.target(&channel, message_id).await? {
            if self.cancel(item.id).await? {
                return self.item(item.id).await;
            }
        }
        self.on_message(
            &channel,
            message_id,
            OutboxKind::Delete,
            Payload::default(),
            false,
        )
        .await
    }

    /// Queues an undelete of a soft-deleted message. Undoing the delete of a post or reply that
    /// never left (its item was cancelled) queues it again as a new item.
    pub async fn undelete(
        &self,
        channel_id: &str,
        message_id: &str,
    ) -> Result<OutboxItem, EngineError> {
        let channel = channel_row(&self.inner, channel_id).await?;
        if let Some(n) = echo::parse_local_id(message_id) {
            let item = self.item(n).await?;
            if item.state == OutboxState::Cancelled
                && item.kind.creates_message()
                && item.channel_id == channel.id
            {
                return self
                    .enqueue(
                        &channel,
                        item.kind,
                        item.thread_root.clone(),
                        None,
                        item.depends_on,
                        Payload::of(&item),
                    )
                    .await;
            }
        }
        self.on_message(
            &channel,
            message_id,
            OutboxKind::Undelete,
            Payload::default(),
            false,
        )
        .await
    }

    /// Queues `kind` on a message: behind its item when it is still unsent, else on the cached
    /// message. Deletes and undeletes are for its sender or a channel owner; reactions
    /// (`reaction`: true) for anyone, but not on a deleted message.
    async fn on_message(
        &self,
        channel: &ChannelRow,
        message_id: &str,
        kind: OutboxKind,
        payload: Payload,
        reaction: bool,
    ) -> Result<OutboxItem, EngineError> {
        match self.target(channel, message_id).await? {
            Target::Local(item) => {
                self.enqueue(channel, kind, None, None, Some(item.id), payload)
                    .await
            }
            Target::Server(row) => {
                if reaction && row.deleted_at.is_some() {
                    return Err(EngineError::MessageDeleted(message_id.to_owned()));
                }
                if !reaction
                    && row.from_id.as_deref() != Some(self.inner.me.as_str())
                    && !self.am_owner(channel).await?
                {
                    return Err(EngineError::NotYours(message_id.to_owned()));
                }
                let (root, target) = address(&row);
                self.enqueue(channel, kind, root, Some(target), None, payload)
                    .await
            }
        }
    }

    /// Queues the person's reaction (`like`, `heart`, `laugh`, `surprised`, `sad`, `angry`, or
    /// any emoji) on a message.
    pub async fn react(
        &self,
        channel_id: &str,
        message_id: &str,
        reaction: &str,
    ) -> Result<OutboxItem, EngineError> {
        self.reaction(channel_id, message_id, reaction, OutboxKind::React)
            .await
    }

    /// Queues the removal of the person's reaction.
    pub async fn unreact(
        &self,
        channel_id: &str,
        message_id: &str,
        reaction: &str,
    ) -> Result<OutboxItem, EngineError> {
        self.reaction(channel_id, message_id, reaction, OutboxKind::Unreact)
            .await
    }

    /// The outbox (or one channel's), oldest first; finished items too when asked.
    pub async fn outbox(
        &self,
        channel_id: Option<&str>,
        include_finished: bool,
    ) -> Result<Vec<OutboxItem>, EngineError> {
        let account = self.inner.account;
        let channel = channel_id.map(str::to_owned);
        self.inner
            .db(move |s| s.outbox(&account, channel.as_deref(), include_finished))
            .await
    }

    /// One outbox item.
    pub async fn outbox_item(&self, id: i64) -> Result<Option<OutboxItem>, EngineError> {
        let account = self.inner.account;
        self.inner.db(move |s| s.outbox_item(&account, id)).await
    }

    /// The person's "retry": a wedged or expired item is queued again, a failed one is tried
    /// now. False if the item is in none of those states.
    pub async fn retry(&self, id: i64) -> Result<bool, EngineError> {
        let account = self.inner.account;
        let done = self
            .inner
            .db(move |s| Ok(s.resend(&account, id)? || s.retry_now(&account, id)?))
            .await?;
        if done {
            self.inner.reconcile_after.lock().remove(&id);
            let item = self.item(id).await?;
            self.inner.outbox_changed(&item.channel_id, vec![id]).await;
            self.inner.outbox_wake.notify_one();
        }
        Ok(done)
    }

    /// The person's "discard": cancels an item not yet sent (and what depends on it). False if
    /// it is being sent or already finished.
    pub async fn cancel(&self, id: i64) -> Result<bool, EngineError> {
        let account = self.inner.account;
        let Some(item) = self.outbox_item(id).await? else {
            return Err(EngineError::UnknownOutboxItem(id));
        };
        let before: HashSet<i64> = self
            .outbox(Some(&item.channel_id), false)
            .await?
            .iter()
            .map(|i| i.id)
            .collect();
        let done = self.inner.db(move |s| s.cancel(&account, id)).await?;
        if done {
            let after: HashSet<i64> = self
                .outbox(Some(&item.channel_id), false)
                .await?
                .iter()
                .map(|i| i.id)
                .collect();
            let ids = before.difference(&after).copied().collect();
            self.inner.outbox_changed(&item.channel_id, ids).await;
            // The channel's head may have changed.
            self.inner.outbox_wake.notify_one();
        }
        Ok(done)
    }

    /// Sends everything that can be sent now and waits until nothing more can (for the CLI,
    /// which runs no background task). Items that fail are left for a later run.
    pub async fn drain_outbox(&self) -> Result<DrainReport, EngineError> {
        let mut report = DrainReport::default();
        let mut tried: HashSet<i64> = HashSet::new();
        loop {
            let work = due(&self.inner, Utc::now()).await?;
            let work: Vec<OutboxItem> = work.into_iter().filter(|i| tried.insert(i.id)).collect();
            if work.is_empty() {
                break;
            }
            for outcome in send_all(&self.inner, work).await {
                if outcome? {
                    report.sent += 1;
                }
            }
        }
        report.waiting = self.outbox(None, false).await?.len();
        Ok(report)
    }

    /// A channel's members (for mentions), from the cache, fetched from Graph first when they
    /// are older than a day, never fetched, or `refresh` asks. Offline, the cached list is
    /// returned (empty if there is none).
    pub async fn members(
        &self,
        channel_id: &str,
        refresh: bool,
    ) -> Result<Vec<MemberRow>, EngineError> {
        let channel = channel_row(&self.inner, channel_id).await?;
        members(&self.inner, &channel, refresh).await
    }

    async fn reaction(
        &self,
        channel_id: &str,
        message_id: &str,
        reaction: &str,
        kind: OutboxKind,
    ) -> Result<OutboxItem, EngineError> {
        let channel = channel_row(&self.inner, channel_id).await?;
        let payload = Payload {
            reaction: Some(check_reaction(reaction)?),
            ..Payload::default()
        };
        self.on_message(&channel, message_id, kind, payload, true)
            .await
    }

    /// Builds and checks a body: the HTML and mentions from the draft, each mention a member
    /// of the channel (when the member list can be known).
    ///
    /// `image` gives the address of each inline image the draft may keep (see
    /// [`compose::compose_with`]).
    async fn body(
        &self,
        channel: &ChannelRow,
        draft: &Draft,
        image: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<Payload, EngineError> {
        let composed = compose::compose_with(draft, image)?;
        if !composed.mentions.is_empty() {
            let members = members(&self.inner, channel, false).await?;
            if !members.is_empty() {
                for m in &composed.mentions {
                    if !members.iter().any(|member| member.user_id == m.user_id) {
                        return Err(ComposeError::UnknownMention {
                            name: m.name.clone(),
                        }
                        .into());
                    }
                }
            }
        }
        Ok(Payload {
            html: Some(composed.html),
            mentions: composed
                .mentions
                .into_iter()
                .map(|m| PayloadMention {
                    id: m.id,
                    user_id: m.user_id,
                    name: m.name,
                })
                .collect(),
            ..Payload::default()
        })
    }

    /// What a message id names: a local echo (its outbox item, unless that was sent: then the
    /// server's message) or a cached message.
    async fn target(&self, channel: &ChannelRow, message_id: &str) -> Result<Target, EngineError> {
        let account = self.inner.account;
        if let Some(n) = echo::parse_local_id(message_id) {
            let item = self
                .outbox_item(n)
                .await?
                .filter(|i| i.channel_id == channel.id && i.kind.creates_message())
                .ok_or_else(|| EngineError::UnknownMessage(message_id.to_owned()))?;
            match (&item.state, &item.server_id) {
                (OutboxState::Sent, Some(server_id)) => {
                    let key = MessageKey {
                        channel_id: channel.id.clone(),
                        root_id: item
                            .thread_root
                            .clone()
                            .unwrap_or_else(|| server_id.clone()),
                        id: server_id.clone(),
                    };
                    let row = self
                        .inner
                        .db(move |s| s.message(&account, &key))
                        .await?
                        .ok_or_else(|| EngineError::UnknownMessage(message_id.to_owned()))?;
                    return Ok(Target::Server(Box::new(row)));
                }
                (OutboxState::Cancelled, _) | (OutboxState::Sent, None) => {
                    return Err(EngineError::UnknownMessage(message_id.to_owned()))
                }
                _ => return Ok(Target::Local(Box::new(item))),
            }
        }
        let channel_id = channel.id.clone();
        let id = message_id.to_owned();
        let row = self
            .inner
            .db(move |s| match s.find_message(&account, &channel_id, &id)? {
                Some(key) => s.message(&account, &key),
                None => Ok(None),
            })
            .await?
            .ok_or_else(|| EngineError::UnknownMessage(message_id.to_owned()))?;
        Ok(Target::Server(Box::new(row)))
    }

    async fn am_owner(&self, channel: &ChannelRow) -> Result<bool, EngineError> {
        let members = members(&self.inner, channel, false).await?;
        Ok(members.is_empty()
            || members
                .iter()
                .any(|m| m.user_id == self.inner.me && m.roles.iter().any(|r| r == "owner")))
    }

    async fn enqueue(
        &self,
        channel: &ChannelRow,
        kind: OutboxKind,
        thread_root: Option<String>,
        target_id: Option<String>,
        depends_on: Option<i64>,
        payload: Payload,
    ) -> Result<OutboxItem, EngineError> {
        let account = self.inner.account;
        let new = NewOutboxItem {
            team_id: channel.team_id.clone(),
            channel_id: channel.id.clone(),
            thread_root,
            target_id,
            depends_on,
            kind,
            payload: payload.to_value(),
        };
        let item = self.inner.db(move |s| s.enqueue(&account, &new)).await?;
        self.inner.outbox_changed(&channel.id, vec![item.id]).await;
        self.inner.outbox_wake.notify_one();
        Ok(item)
    }

    async fn item(&self, id: i64) -> Result<OutboxItem, EngineError> {
        self.outbox_item(id)
            .await?
            .ok_or(EngineError::UnknownOutboxItem(id))
    }
}

enum Target {
    /// An unsent post or reply (its echo).
    Local(Box<OutboxItem>),
    /// A cached message.
    Server(Box<MessageRow>),
}

/// `(thread_root, target_id)` of a write on a cached message.
fn address(row: &MessageRow) -> (Option<String>, String) {
    (row.reply_to_id.clone(), row.id.clone())
}

fn importance(value: Option<&str>) -> Result<Option<String>, EngineError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v @ ("normal" | "high" | "urgent")) => Ok(Some(v.to_owned())),
        Some(other) => Err(EngineError::Invalid(format!(
            "importance {other:?} is not one of normal, high, urgent"
        ))),
    }
}

fn check_reaction(reaction: &str) -> Result<String, EngineError> {
    let r = reaction.trim();
    if r.is_empty()
        || r.chars().count() > 64
        || r.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(EngineError::Invalid(format!(
            "{reaction:?} is not a reaction: use like, heart, laugh, surprised, sad, angry or an emoji"
        )));
    }
    Ok(r.to_owned())
}

/// A channel's members, refetched when stale (see [`Engine::members`]).
pub(crate) async fn members(
    inner: &Arc<Inner>,
    channel: &ChannelRow,
    refresh: bool,
) -> Result<Vec<MemberRow>, EngineError> {
    let account = inner.account;
    let id = channel.id.clone();
    let (cached, fetched) = inner.db(move |s| s.members(&account, &id)).await?;
    let stale = fetched.is_none_or(|at| {
        Utc::now() - at
            > chrono::Duration::from_std(inner.config.members_max_age).unwrap_or_default()
    });
    if !(refresh || stale) {
        return Ok(cached);
    }
    match inner
        .graph
        .channel_members(&channel.team_id, &channel.id)
        .await
    {
        Ok(list) => {
            let rows: Vec<MemberRow> = list
                .into_iter()
                .filter_map(|m| {
                    Some(MemberRow {
                        user_id: m.user_id?.to_ascii_lowercase(),
                        display_name: m.display_name.unwrap_or_default(),
                        email: m.email,
                        roles: m.roles,
                    })
                })
                .collect();
            let id = channel.id.clone();
            let stored = rows.clone();
            inner
                .db(move |s| s.replace_members(&account, &id, &stored, Utc::now()))
                .await?;
            Ok(rows)
        }
        Err(e) if refresh || e.needs_sign_in() => Err(e.into()),
        Err(e) => {
            tracing::info!(channel = %channel.id, code = e.code(), "channel members not refreshed; using the cached list");
            Ok(cached)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The sender.

/// The sender task: see the module docs.
pub(crate) async fn sender(inner: Arc<Inner>) {
    let _ = refresh_counts(&inner).await;
    loop {
        if inner.cancel.is_cancelled() {
            return;
        }
        let wait = if inner.sign_in_pause.load(Ordering::SeqCst) {
            None
        } else {
            match pass(&inner).await {
                Ok(Some(0)) | Ok(None) => next_wake(&inner).await.unwrap_or(None),
                Ok(Some(_)) => continue,
                Err(e) => {
                    tracing::warn!(code = e.code(), error = %e, "outbox pass failed");
                    Some(if e.disk_full() {
                        inner.config.disk_full_retry
                    } else {
                        inner.config.outbox_retry_max
                    })
                }
            }
        };
        let sleep = async {
            match wait {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = inner.cancel.cancelled() => return,
            _ = inner.outbox_wake.notified() => {}
            _ = sleep => {}
        }
    }
}

/// One pass: expire what is too old, then send what is due. Returns how many items were
/// attempted (None: nothing due).
async fn pass(inner: &Arc<Inner>) -> Result<Option<usize>, EngineError> {
    expire(inner).await?;
    let work = due(inner, Utc::now()).await?;
    if work.is_empty() {
        return Ok(None);
    }
    let n = work.len();
    for outcome in send_all(inner, work).await {
        if let Err(e) = outcome {
            if e.disk_full() || matches!(e, EngineError::Stopped) {
                return Err(e);
            }
        }
    }
    Ok(Some(n))
}

/// What is due now: every channel's sendable head, and in-doubt items whose settling time has
/// passed.
async fn due(inner: &Arc<Inner>, now: DateTime<Utc>) -> Result<Vec<OutboxItem>, EngineError> {
    let account = inner.account;
    let (mut work, doubt) = inner
        .db(move |s| Ok((s.next_sendable(&account, now)?, s.in_doubt(&account)?)))
        .await?;
    let flying = inner.in_flight.lock().clone();
    work.extend(doubt.into_iter().filter(|i| !flying.contains(&i.id)));
    let waits = inner.reconcile_after.lock().clone();
    let instant = Instant::now();
    work.retain(|i| waits.get(&i.id).is_none_or(|at| *at <= instant));
    work.sort_by_key(|i| i.id);
    work.dedup_by_key(|i| i.id);
    Ok(work)
}

/// Sends items (each the head of its channel) concurrently, within the parallelism bound.
/// Each result says whether the item ended Sent.
async fn send_all(inner: &Arc<Inner>, work: Vec<OutboxItem>) -> Vec<Result<bool, EngineError>> {
    let mut tasks = tokio::task::JoinSet::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(
        inner.config.max_parallel_channels.max(1),
    ));
    for item in work {
        let inner = inner.clone();
        let limit = limit.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            send_one(&inner, item.id).await
        });
    }
    let mut out = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        out.push(joined.map_err(EngineError::from).and_then(|r| r));
    }
    out
}

/// How long the sender may sleep: until the next retry, settling or expiry time.
async fn next_wake(inner: &Arc<Inner>) -> Result<Option<Duration>, EngineError> {
    let account = inner.account;
    let pending = inner.db(move |s| s.outbox(&account, None, false)).await?;
    let now = Utc::now();
    let expiry = inner.config.outbox_expiry;
    let mut next: Option<DateTime<Utc>> = None;
    let mut consider = |t: DateTime<Utc>| next = Some(next.map_or(t, |n| n.min(t)));
    for item in &pending {
        match item.state {
            OutboxState::Failed => {
                consider(item.next_attempt_at.unwrap_or(now));
                consider(item.enqueued_at + expiry);
            }
            OutboxState::Queued => consider(item.enqueued_at + expiry),
            _ => {}
        }
    }
    let instant = Instant::now();
    let reconcile = inner
        .reconcile_after
        .lock()
        .values()
        .map(|at| at.saturating_duration_since(instant))
        .min();
    let until = next.map(|t| (t - now).to_std().unwrap_or_default());
    Ok(match (until, reconcile) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
    .map(|d| d.max(Duration::from_millis(20))))
}

/// Expires what has waited too long.
async fn expire(inner: &Arc<Inner>) -> Result<(), EngineError> {
    let account = inner.account;
    let cutoff = Utc::now() - inner.config.outbox_expiry;
    let expired = inner
        .db(move |s| {
            let ids = s.expire_older_than(&account, cutoff)?;
            ids.into_iter()
                .map(|id| s.outbox_item(&account, id))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    let mut by_channel: HashMap<String, Vec<i64>> = HashMap::new();
    for item in expired.into_iter().flatten() {
        tracing::info!(item = item.id, kind = %item.kind, "outbox item expired unsent; it waits for resend or discard");
        by_channel.entry(item.channel_id).or_default().push(item.id);
    }
    for (channel, ids) in by_channel {
        inner.outbox_changed(&channel, ids).await;
    }
    Ok(())
}

/// Sends (or reconciles) one item under its channel's lock. Ok(true) if it ended Sent.
async fn send_one(inner: &Arc<Inner>, id: i64) -> Result<bool, EngineError> {
    let account = inner.account;
    let Some(item) = inner.db(move |s| s.outbox_item(&account, id)).await? else {
        return Ok(false);
    };
    let lock = inner.lock_for(&item.channel_id);
    let _guard = lock.lock().await;
    // Read again under the lock: it may have been cancelled, rewritten or adopted meanwhile.
    let Some(item) = inner.db(move |s| s.outbox_item(&account, id)).await? else {
        return Ok(false);
    };
    if !matches!(
        item.state,
        OutboxState::Queued | OutboxState::Failed | OutboxState::Sending
    ) {
        return Ok(item.state == OutboxState::Sent);
    }
    let channel = match channel_row(inner, &item.channel_id).await {
        Ok(c) => c,
        Err(EngineError::UnknownChannel(_)) => {
            let message = "the channel is no longer listed: it was deleted, or you left it";
            inner
                .db(move |s| s.wedge(&account, id, "unknown_channel", message))
                .await?;
            inner.outbox_changed(&item.channel_id, vec![id]).await;
            return Ok(false);
        }
        Err(e) => return Err(e),
    };
    if in_doubt(&item) {
        // Give Graph a moment to list what it accepted before concluding it did not.
        if let Some(started) = item.attempt_started_at {
            let settle =
                chrono::Duration::from_std(inner.config.reconcile_settle).unwrap_or_default();
            let wait = (started + settle - Utc::now()).to_std().unwrap_or_default();
            if !wait.is_zero() {
                inner
                    .reconcile_after
                    .lock()
                    .insert(id, Instant::now() + wait);
                return Ok(false);
            }
        }
        match reconcile(inner, &channel, &item).await {
            Ok(true) => {
                inner.reconcile_after.lock().remove(&id);
                return Ok(true);
            }
            Ok(false) => {
                inner.reconcile_after.lock().remove(&id);
            }
            Err(e) => {
                // Cannot look now: try again later, never send blindly.
                let delay = backoff(inner, item.attempts, None);
                inner
                    .reconcile_after
                    .lock()
                    .insert(id, Instant::now() + delay);
                if e.needs_sign_in() {
                    sign_in_needed(inner, &e);
                }
                tracing::info!(
                    item = id,
                    code = e.code(),
                    "could not check whether an unconfirmed write reached Teams; will look again"
                );
                return Ok(false);
            }
        }
    }
    // The attempt is committed before the request leaves.
    inner.in_flight.lock().insert(id);
    let begun = inner
        .db(move |s| s.begin_attempt(&account, id, Utc::now()))
        .await;
    let item = match begun {
        Ok(item) => item,
        Err(e) => {
            inner.in_flight.lock().remove(&id);
            return Err(e);
        }
    };
    inner.outbox_changed(&item.channel_id, vec![id]).await;
    let result = perform(inner, &item).await;
    let outcome = record(inner, &channel, &item, result).await;
    inner.in_flight.lock().remove(&id);
    outcome
}

/// Whether an item must be looked for on the server before it is sent again.
fn in_doubt(item: &OutboxItem) -> bool {
    item.kind.creates_message()
        && (item.state == OutboxState::Sending
            || (item.state == OutboxState::Failed
                && item.last_error_code.as_deref() == Some(UNCONFIRMED)))
}

/// The Graph request of an item. A post or reply answers with the server's message.
async fn perform(inner: &Inner, item: &OutboxItem) -> Result<Option<ChatMessage>, GraphError> {
    let g = &inner.graph;
    let payload = Payload::of(item);
    let (team, channel) = (item.team_id.as_str(), item.channel_id.as_str());
    let root = item.thread_root.as_deref();
    let target = || {
        item.target_id.as_deref().ok_or_else(|| GraphError::Config {
            detail: "the write has no target message".to_owned(),
        })
    };
    match item.kind {
        OutboxKind::Post => g
            .post_message(team, channel, &new_message(&payload))
            .await
            .map(Some),
        OutboxKind::Reply => {
            let root = root.ok_or_else(|| GraphError::Config {
                detail: "the reply has no thread".to_owned(),
            })?;
            g.post_reply(team, channel, root, &new_message(&payload))
                .await
                .map(Some)
        }
        OutboxKind::Edit => {
            let mut body = new_message(&payload);
            if root.is_some() {
                body.subject = None;
            }
            g.edit_message(team, channel, root, target()?, &body)
                .await
                .map(|_| None)
        }
        OutboxKind::Delete => g
            .soft_delete(team, channel, root, target()?)
            .await
            .map(|_| None),
        OutboxKind::Undelete => g
            .undo_soft_delete(team, channel, root, target()?)
            .await
            .map(|_| None),
        OutboxKind::React | OutboxKind::Unreact => {
            let reaction = payload.reaction.as_deref().unwrap_or("like");
            if item.kind == OutboxKind::React {
                g.set_reaction(team, channel, root, target()?, reaction)
                    .await
            } else {
                g.unset_reaction(team, channel, root, target()?, reaction)
                    .await
            }
            .map(|_| None)
        }
    }
}

fn new_message(payload: &Payload) -> NewMessage {
    NewMessage {
        html: payload.html.clone().unwrap_or_default(),
        subject: payload.subject.clone(),
        importance: payload.importance.as_deref().map(Importance::from_wire),
        mentions: payload
            .mentions
            .iter()
            .map(|m| Mention {
                id: m.id,
                mention_text: m.name.clone(),
                mentioned: Some(IdentitySet {
                    user: Some(Identity {
                        id: m.user_id.clone(),
                        display_name: Some(m.name.clone()),
                        user_identity_type: Some("aadUser".to_owned()),
                        ..Identity::default()
                    }),
                    ..IdentitySet::default()
                }),
            })
            .collect(),
    }
}

/// Records what an attempt did. Ok(true) if the item is Sent.
async fn record(
    inner: &Arc<Inner>,
    channel: &ChannelRow,
    item: &OutboxItem,
    result: Result<Option<ChatMessage>, GraphError>,
) -> Result<bool, EngineError> {
    let account = inner.account;
    let id = item.id;
    match result {
        Ok(Some(message)) => {
            store_sent(inner, channel, item, vec![message]).await?;
            Ok(true)
        }
        Ok(None) => {
            // Read the message back so that the cache shows the change as the echo did.
            let read_back = match item.target_id.as_deref() {
                Some(target) => {
                    match inner
                        .graph
                        .message(
                            &item.team_id,
                            &item.channel_id,
                            item.thread_root.as_deref(),
                            target,
                        )
                        .await
                    {
                        Ok(mut m) => {
                            if let Some(root) = &item.thread_root {
                                if m.reply_to_id.as_deref().is_none_or(str::is_empty) {
                                    m.reply_to_id = Some(root.clone());
                                }
                            }
                            vec![m]
                        }
                        Err(e) => {
                            tracing::info!(
                                item = id,
                                code = e.code(),
                                "could not read a changed message back; the next sync brings it"
                            );
                            inner.schedule.lock().make_due(&item.channel_id);
                            Vec::new()
                        }
                    }
                }
                None => Vec::new(),
            };
            store_sent(inner, channel, item, read_back).await?;
            Ok(true)
        }
        Err(GraphError::Cancelled) => Err(EngineError::Stopped),
        Err(e) => {
            let code = e.code();
            let message = e.to_string();
            if matches!(e, GraphError::WriteUnconfirmed { .. }) {
                let at = Utc::now()
                    + chrono::Duration::from_std(inner.config.reconcile_settle).unwrap_or_default();
                inner
                    .db(move |s| s.fail(&account, id, UNCONFIRMED, &message, at))
                    .await?;
                tracing::info!(
                    item = id,
                    "a post's answer was lost; it is looked for before any resend"
                );
            } else if e.needs_sign_in() {
                let now = Utc::now();
                inner
                    .db(move |s| s.fail(&account, id, code, &message, now))
                    .await?;
                sign_in_needed(inner, &e.into());
            } else if e.is_transient() {
                let retry_after = match &e {
                    GraphError::Throttled { retry_after } => *retry_after,
                    _ => None,
                };
                let delay = backoff(inner, item.attempts, retry_after);
                let at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                inner
                    .db(move |s| s.fail(&account, id, code, &message, at))
                    .await?;
                let failure = Failure::of(&EngineError::Graph(e));
                inner.board.lock().failed(None, failure);
                inner.publish();
            } else {
                tracing::warn!(item = id, code, "outbox item wedged: {message}");
                inner
                    .db(move |s| s.wedge(&account, id, code, &message))
                    .await?;
            }
            inner.outbox_changed(&item.channel_id, vec![id]).await;
            Ok(false)
        }
    }
}

/// Stores the server's messages for a sent item, then marks it Sent, then announces both in
/// one change (see the module docs).
async fn store_sent(
    inner: &Arc<Inner>,
    channel: &ChannelRow,
    item: &OutboxItem,
    messages: Vec<ChatMessage>,
) -> Result<(), EngineError> {
    let account = inner.account;
    let inner2 = inner.clone();
    let team_id = channel.team_id.clone();
    let channel_id = channel.id.clone();
    let item = item.clone();
    let store = inner.store.clone();
    let dependents = tokio::task::spawn_blocking(move || {
        let converted = crate::convert::to_rows(&messages, &inner2.origin(&team_id, &channel_id));
        let mut s = store.lock();
        let outcome = s.ingest(&account, &channel_id, &converted.rows, None)?;
        let server_id = item
            .kind
            .creates_message()
            .then(|| converted.rows.first().map(|r| r.id.clone()))
            .flatten();
        complete_tolerant(&mut s, &account, item.id, server_id.as_deref())?;
        let sent = match (&server_id, converted.rows.first()) {
            (Some(_), Some(row)) => vec![(item.id, crate::views::key_of(row))],
            _ => Vec::new(),
        };
        let dependents: Vec<i64> = s
            .outbox(&account, Some(&channel_id), false)?
            .into_iter()
            .filter(|i| i.depends_on == Some(item.id))
            .map(|i| i.id)
            .collect();
        drop(s);
        let _ = inner2.changes.send(Change::Messages {
            channel_id: channel_id.clone(),
            inserted: outcome.inserted,
            updated: outcome.updated,
            sent,
            committed_at: std::time::SystemTime::now(),
        });
        Ok::<_, perch_store::Error>(dependents)
    })
    .await??;
    let mut ids = vec![item.id];
    ids.extend(dependents);
    inner.outbox_changed(&channel.id, ids).await;
    inner.outbox_wake.notify_one();
    Ok(())
}

/// Marks an item Sent, unless it already is (a sync adopted it while the answer was on its
/// way).
fn complete_tolerant(
    s: &mut Store,
    account: &perch_core::AccountId,
    id: i64,
    server_id: Option<&str>,
) -> Result<(), perch_store::Error> {
    match s.outbox_item(account, id)? {
        Some(item) if item.state == OutboxState::Sent => Ok(()),
        _ => s.complete(account, id, server_id),
    }
}

/// Looks for an in-doubt post or reply on the server (see the module docs). Ok(true) if it
/// was found and adopted.
async fn reconcile(
    inner: &Arc<Inner>,
    channel: &ChannelRow,
    item: &OutboxItem,
) -> Result<bool, EngineError> {
    if item.attempt_started_at.is_none() {
        return Ok(false);
    }
    if adopt_from_cache(inner, channel, item).await? {
        return Ok(true);
    }
    let since = item.attempt_started_at.unwrap_or_else(Utc::now) - inner.config.clock_skew;
    // Newest first: page until the page reaches back before the attempt.
    let mut request = PageRequest::First {
        top: inner.config.page_size,
        expand_replies: false,
    };
    for _ in 0..20 {
        let page = match item.kind {
            OutboxKind::Post => {
                inner
                    .graph
                    .messages_page(&channel.team_id, &channel.id, &request)
                    .await?
            }
            _ => {
                let Some(root) = item.thread_root.as_deref() else {
                    return Ok(false);
                };
                let mut page = inner
                    .graph
                    .replies_page(&channel.team_id, &channel.id, root, &request)
                    .await?;
                for reply in &mut page.value {
                    if reply.reply_to_id.as_deref().is_none_or(str::is_empty) {
                        reply.reply_to_id = Some(root.to_owned());
                    }
                }
                page
            }
        };
        let reached_back = page
            .value
            .iter()
            .filter_map(|m| m.created_date_time)
            .any(|t| t < since);
        let next = page.next_link.clone();
        // Ingesting adopts a match on the way (not this item while it is ours to send: it is
        // not in flight, so it is a candidate).
        crate::engine::ingest_messages(inner, channel, page.value).await?;
        if state_of(inner, item.id).await? == Some(OutboxState::Sent) {
            return Ok(true);
        }
        match next {
            Some(link) if !reached_back => request = PageRequest::Link(link),
            _ => break,
        }
    }
    adopt_from_cache(inner, channel, item).await
}

async fn state_of(inner: &Inner, id: i64) -> Result<Option<OutboxState>, EngineError> {
    let account = inner.account;
    Ok(inner
        .db(move |s| s.outbox_item(&account, id))
        .await?
        .map(|i| i.state))
}

/// Looks in the cache for the message an in-doubt item created; adopts it if found.
async fn adopt_from_cache(
    inner: &Arc<Inner>,
    channel: &ChannelRow,
    item: &OutboxItem,
) -> Result<bool, EngineError> {
    let account = inner.account;
    let me = inner.me.clone();
    let skew = inner.config.clock_skew;
    let channel_id = channel.id.clone();
    let item2 = item.clone();
    let adopted = inner
        .db(move |s| {
            let Some(started) = item2.attempt_started_at else {
                return Ok(None);
            };
            let root = match item2.kind {
                OutboxKind::Reply => match item2.thread_root.as_deref() {
                    Some(r) => Some(r.to_owned()),
                    None => return Ok(None),
                },
                _ => None,
            };
            let rows =
                s.messages_since(&account, &channel_id, root.as_deref(), &me, started - skew)?;
            for row in rows {
                if echo::is_match(&item2, &row, skew)
                    && s.outbox_by_server_id(&account, &channel_id, &row.id)?
                        .is_none()
                {
                    s.complete(&account, item2.id, Some(&row.id))?;
                    return Ok(Some(crate::views::key_of(&row)));
                }
            }
            Ok(None)
        })
        .await?;
    match adopted {
        Some(key) => {
            tracing::info!(
                item = item.id,
                "an unconfirmed write was found in Teams and adopted"
            );
            let _ = inner.changes.send(Change::Messages {
                channel_id: channel.id.clone(),
                inserted: Vec::new(),
                updated: vec![key.clone()],
                sent: vec![(item.id, key)],
                committed_at: std::time::SystemTime::now(),
            });
            inner.outbox_changed(&channel.id, vec![item.id]).await;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Adopts, for the in-doubt items of a channel, matching messages among rows just ingested
/// (called in the ingest transaction's wake, before the change is announced). Returns the
/// adopted `(item, message)` pairs.
pub(crate) fn adopt_ingested(
    s: &mut Store,
    inner: &Inner,
    channel_id: &str,
    rows: &[MessageRow],
) -> Result<Vec<(i64, MessageKey)>, perch_store::Error> {
    let account = inner.account;
    if !rows
        .iter()
        .any(|r| r.from_id.as_deref() == Some(inner.me.as_str()))
    {
        return Ok(Vec::new());
    }
    let flying = inner.in_flight.lock().clone();
    let candidates: Vec<OutboxItem> = s
        .outbox(&account, Some(channel_id), false)?
        .into_iter()
        .filter(|i| in_doubt(i) && !flying.contains(&i.id))
        .collect();
    let mut adopted = Vec::new();
    let mut taken: HashSet<String> = HashSet::new();
    for item in candidates {
        for row in rows {
            if row.from_id.as_deref() != Some(inner.me.as_str()) || taken.contains(&row.id) {
                continue;
            }
            if echo::is_match(&item, row, inner.config.clock_skew)
                && s.outbox_by_server_id(&account, channel_id, &row.id)?
                    .is_none()
            {
                s.complete(&account, item.id, Some(&row.id))?;
                taken.insert(row.id.clone());
                adopted.push((item.id, crate::views::key_of(row)));
                tracing::info!(
                    item = item.id,
                    "an unconfirmed write arrived by sync and was adopted"
                );
                break;
            }
        }
    }
    Ok(adopted)
}

/// Full-jitter exponential back-off for attempt `attempts`, at least `retry_after`.
fn backoff(inner: &Inner, attempts: u32, retry_after: Option<Duration>) -> Duration {
    let min = inner.config.outbox_retry_min;
    let max = inner.config.outbox_retry_max;
    let exp = min.saturating_mul(1u32 << attempts.saturating_sub(1).min(16));
    let cap = exp.min(max);
    let jittered = cap.mul_f64(0.5 + rand::random::<f64>() * 0.5);
    jittered.max(retry_after.unwrap_or_default()).max(min)
}

fn sign_in_needed(inner: &Inner, e: &EngineError) {
    inner.sign_in_pause.store(true, Ordering::SeqCst);
    inner.board.lock().failed(None, Failure::of(e));
    inner.publish();
}

/// Refreshes the outbox counts in the status.
pub(crate) async fn refresh_counts(inner: &Inner) -> Result<(), EngineError> {
    let account = inner.account;
    let counts = inner.db(move |s| s.outbox_counts(&account)).await?;
    inner.board.lock().outbox(counts);
    inner.publish();
    Ok(())
}

impl Inner {
    /// Announces that outbox items of a channel changed (views re-read them) and refreshes the
    /// counts in the status.
    pub(crate) async fn outbox_changed(&self, channel_id: &str, ids: Vec<i64>) {
        let _ = self.changes.send(Change::Outbox {
            channel_id: channel_id.to_owned(),
            ids,
        });
        if let Err(e) = refresh_counts(self).await {
            tracing::warn!(code = e.code(), "could not count the outbox");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reactions_and_importance_are_checked() {
        assert_eq!(check_reaction(" like ").unwrap(), "like");
        assert_eq!(check_reaction("👍").unwrap(), "👍");
        for bad in ["", "  ", "two words", "a\nb", &"x".repeat(65)] {
            assert!(check_reaction(bad).is_err(), "{bad:?}");
        }
        assert_eq!(importance(None).unwrap(), None);
        assert_eq!(importance(Some("high")).unwrap().as_deref(), Some("high"));
        assert!(importance(Some("HIGH!")).is_err());
    }

    #[test]
    fn in_doubt_means_unconfirmed_posts_only() {
        let t = Utc::now();
        let mut item = OutboxItem {
            id: 1,
            team_id: "t".into(),
            channel_id: "c".into(),
            thread_root: None,
            target_id: None,
            depends_on: None,
            kind: OutboxKind::Post,
            payload: serde_json::json!({}),
            state: OutboxState::Sending,
            attempts: 1,
            enqueued_at: t,
            attempt_started_at: Some(t),
            next_attempt_at: None,
            last_error_code: None,
            last_error_message: None,
            server_id: None,
            updated_at: t,
        };
        assert!(in_doubt(&item));
        item.state = OutboxState::Failed;
        assert!(!in_doubt(&item), "a clear failure");
        item.last_error_code = Some(UNCONFIRMED.into());
        assert!(in_doubt(&item));
        item.kind = OutboxKind::Edit;
        assert!(!in_doubt(&item), "edits are idempotent");
        item.state = OutboxState::Sending;
        assert!(!in_doubt(&item));
    }
}
