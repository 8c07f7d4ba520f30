//! The persisted outbox: every write the person makes (post, reply, edit, delete, undelete,
//! react, unreact) as a row with an explicit [`OutboxState`], behind the object-safe
//! [`OutboxStore`] trait that [`Store`] implements. This module owns the rows, their state
//! machine, the per-channel order and the dependency placeholders; it does not send anything,
//! time anything or decide retries (the engine does, and tells the store what happened), and it
//! broadcasts nothing (the engine turns each call into a diff).
//!
//! # States
//!
//! ```text
//! enqueue                                         → Queued
//! begin_attempt      Queued | Failed | Sending    → Sending   (attempts + 1)
//! complete           any unfinished state         → Sent      (fills dependents' placeholders)
//! fail               Sending                      → Failed    (retry from next_attempt_at)
//! wedge              Queued | Sending | Failed    → Wedged
//! expire_older_than  Queued | Failed              → Expired
//! resend             Wedged | Expired             → Queued    (enqueued now, error cleared)
//! cancel             Queued | Failed | Wedged | Expired → Cancelled (with its dependents)
//! ```
//!
//! - **Queued**: waiting its turn. **Sending**: an attempt began and was committed *before*
//!   the request left, so after a crash the item is still Sending: in doubt ([`in_doubt`]),
//!   to be reconciled against the server before it is sent again (Graph has no idempotency
//!   key). **Failed**: a recoverable error; sendable again from `next_attempt_at`.
//!   **Wedged**: a permanent error (403, message gone, body rejected); it waits for the person
//!   to resend or cancel it. **Expired**: unsent too long (Teams asks after 24 hours); same.
//!   **Sent** and **Cancelled** are finished and stay as history.
//! - A transition from a state not listed is refused with [`Error::OutboxTransition`] (an engine
//!   race or bug, never silently applied); an unknown id is [`Error::UnknownOutboxItem`].
//!   `cancel`, `rewrite_payload` and `resend` answer `false` instead, since the person may
//!   simply be too late.
//!
//! # Order
//!
//! Per channel, writes leave in the order they were queued: only the channel's *head* (its
//! oldest unfinished item, by id) can be sent, so a Sending, Wedged or Expired head holds its
//! channel until it is sent, resent or cancelled. Channels do not wait for each other.
//!
//! # Dependencies and placeholders
//!
//! A write that acts on a still-unsent message names that message's outbox item in
//! `depends_on` and leaves the id it does not know yet (`target_id` or `thread_root`) NULL.
//! It is not sendable until the item it depends on is Sent, and when that item is completed
//! with the server's id, the placeholders of its unfinished dependents are filled (the same rule
//! applies at enqueue if the dependency is already Sent; see [`fill_placeholders`]):
//! - only an item that creates a message (a post or a reply) completed with a server id fills
//!   anything;
//! - an edit, delete, undelete, react or unreact gets `target_id` = that server id if its
//!   `target_id` is NULL, and, when the message was a reply, also `thread_root` = the reply's
//!   thread root if its own is NULL (a reply is addressed as `/messages/{root}/replies/{id}`);
//! - a reply gets `thread_root` = the post's server id (or, depending on a reply, that reply's
//!   thread root) if its `thread_root` is NULL;
//! - a post has nothing to fill; values already set are never overwritten.
//!
//! Dependencies always point to older items of the same account (enforced at enqueue), so
//! they cannot form a cycle. Cancelling an item cancels everything that depends on it,
//! recursively: a dependent of a cancelled write could never be sent. A dependent of a Wedged
//! or Expired item waits with it (resend or cancel the item and it follows).
//!
//! # Also
//!
//! Rows live in `outbox` (`0002_cache.sql`; the partial index of unfinished rows that the
//! sender's and the UI's queries use is `0003_outbox.sql`). They hang off the account (deleting
//! it deletes them), not off the cached channel: a write survives its channel dropping out of
//! a listing (sending it then fails and wedges), and [`recovery`](crate::recovery) salvages
//! them, ids and dependencies included, from a damaged database. Times are unix microseconds
//! like the rest of the store; `enqueued_at` and `updated_at` are the wall clock, attempt and
//! retry times are the caller's. Sent and Cancelled rows are kept (pruning them is for later).
//!
//! [`in_doubt`]: OutboxStore::in_doubt

use chrono::{DateTime, Utc};
use perch_core::AccountId;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::cache::{acct, channel_ref, opt_time, time, us};
use crate::{Error, Store};

/// What a queued write does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxKind {
    /// A new root post in a channel.
    Post,
    /// A reply in a thread (`thread_root`).
    Reply,
    /// An edit of a message (`target_id`; `thread_root` when it is a reply).
    Edit,
    /// A soft delete of a message.
    Delete,
    /// An undelete of a soft-deleted message.
    Undelete,
    /// Setting a reaction on a message.
    React,
    /// Removing a reaction from a message.
    Unreact,
}

impl OutboxKind {
    /// Every kind.
    pub const ALL: [OutboxKind; 7] = [
        OutboxKind::Post,
        OutboxKind::Reply,
        OutboxKind::Edit,
        OutboxKind::Delete,
        OutboxKind::Undelete,
        OutboxKind::React,
        OutboxKind::Unreact,
    ];

    /// The stored text ("post", "reply", …).
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Post => "post",
            OutboxKind::Reply => "reply",
            OutboxKind::Edit => "edit",
            OutboxKind::Delete => "delete",
            OutboxKind::Undelete => "undelete",
            OutboxKind::React => "react",
            OutboxKind::Unreact => "unreact",
        }
    }

    /// The kind of a stored text; None for anything else.
    pub fn parse(value: &str) -> Option<OutboxKind> {
        OutboxKind::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// Whether the write creates a message (and so gets a server id others may wait for).
    pub fn creates_message(self) -> bool {
        matches!(self, OutboxKind::Post | OutboxKind::Reply)
    }

    /// Whether the write acts on an existing message named by `target_id`.
    pub fn targets_message(self) -> bool {
        !self.creates_message()
    }
}

impl std::fmt::Display for OutboxKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a queued write stands (see the module docs for the transitions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting its turn.
    Queued,
    /// An attempt began; after a restart this means in doubt.
    Sending,
    /// Sent; `server_id` holds the server's id for a post or reply.
    Sent,
    /// A recoverable error; sendable again from `next_attempt_at`.
    Failed,
    /// A permanent error: waits for the person to resend or cancel.
    Wedged,
    /// Unsent for too long: waits for the person to resend or cancel.
    Expired,
    /// Cancelled by the person (or with the write it depended on).
    Cancelled,
}

impl OutboxState {
    /// Every state.
    pub const ALL: [OutboxState; 7] = [
        OutboxState::Queued,
        OutboxState::Sending,
        OutboxState::Sent,
        OutboxState::Failed,
        OutboxState::Wedged,
        OutboxState::Expired,
        OutboxState::Cancelled,
    ];

    /// The stored text ("queued", "sending", …).
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Queued => "queued",
            OutboxState::Sending => "sending",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
            OutboxState::Wedged => "wedged",
            OutboxState::Expired => "expired",
            OutboxState::Cancelled => "cancelled",
        }
    }

    /// The state of a stored text; None for anything else.
    pub fn parse(value: &str) -> Option<OutboxState> {
        OutboxState::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Sent or Cancelled: nothing more will happen to the item.
    pub fn is_finished(self) -> bool {
        matches!(self, OutboxState::Sent | OutboxState::Cancelled)
    }
}

impl std::fmt::Display for OutboxState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A write to queue (validated by the caller: body, size, authorship).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOutboxItem {
    /// The team the request goes through.
    pub team_id: String,
    /// The channel; it must be in the cache.
    pub channel_id: String,
    /// The thread's root post for a reply, or for a write on a reply; None for a new post or a
    /// write on a root post, or while the root is itself unsent (a placeholder, see
    /// `depends_on`).
    pub thread_root: Option<String>,
    /// The message an edit, delete, undelete or reaction acts on; None for posts and replies,
    /// or while that message is unsent (a placeholder).
    pub target_id: Option<String>,
    /// The outbox item that must be Sent first, whose server id fills the placeholders.
    pub depends_on: Option<i64>,
    /// What the write does.
    pub kind: OutboxKind,
    /// The request's content (body HTML, subject, importance, mentions, reaction type, …) as
    /// the engine builds it; the store keeps it opaque.
    pub payload: serde_json::Value,
}

/// A queued write as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// The row id: queue order within the account.
    pub id: i64,
    /// The team the request goes through.
    pub team_id: String,
    /// The channel.
    pub channel_id: String,
    /// The thread root (see [`NewOutboxItem::thread_root`]); filled on completion of the
    /// item depended on when it was a placeholder.
    pub thread_root: Option<String>,
    /// The target message (see [`NewOutboxItem::target_id`]); filled like `thread_root`.
    pub target_id: Option<String>,
    /// The item that must be Sent first.
    pub depends_on: Option<i64>,
    /// What the write does.
    pub kind: OutboxKind,
    /// The request's content.
    pub payload: serde_json::Value,
    /// Where it stands.
    pub state: OutboxState,
    /// Attempts begun so far (kept across resend, for diagnostics and back-off).
    pub attempts: u32,
    /// When it was queued (or resent): what expiry counts from.
    pub enqueued_at: DateTime<Utc>,
    /// When the latest attempt began: an in-doubt item is looked for on the server among
    /// messages created after this.
    pub attempt_started_at: Option<DateTime<Utc>>,
    /// When a Failed item may be tried again.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The latest error's code (kept after success, as history).
    pub last_error_code: Option<String>,
    /// The latest error's message.
    pub last_error_message: Option<String>,
    /// The server's id of the message a post or reply created, once Sent.
    pub server_id: Option<String>,
    /// The row's last change.
    pub updated_at: DateTime<Utc>,
}

/// Unfinished items by state, for the status line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxCounts {
    /// Waiting their turn.
    pub queued: u32,
    /// Being sent (or in doubt after a restart).
    pub sending: u32,
    /// Waiting to retry.
    pub failed: u32,
    /// Waiting for the person: permanent error.
    pub wedged: u32,
    /// Waiting for the person: too old.
    pub expired: u32,
}

/// The outbox API. Implemented by [`Store`] (file or in-memory). Object safe. Every method is
/// scoped to one account and runs in one transaction.
pub trait OutboxStore {
    /// Queues a write (Queued, enqueued now). The channel must be in the cache
    /// ([`Error::UnknownChannel`]); `depends_on` must be an item of the account
    /// ([`Error::UnknownOutboxItem`]) that is not Cancelled ([`Error::OutboxTransition`]); if it is
    /// already Sent, the placeholders are filled at once.
    fn enqueue(&mut self, account: &AccountId, new: &NewOutboxItem) -> Result<OutboxItem, Error>;
    /// The account's items (or one channel's), oldest first; Sent and Cancelled ones only when
    /// `include_finished`.
    fn outbox(
        &self,
        account: &AccountId,
        channel_id: Option<&str>,
        include_finished: bool,
    ) -> Result<Vec<OutboxItem>, Error>;
    /// One item.
    fn outbox_item(&self, account: &AccountId, id: i64) -> Result<Option<OutboxItem>, Error>;
    /// What can be sent at `now`, oldest first: of each channel, only its head (oldest
    /// unfinished item), and only if it is Queued, or Failed with `next_attempt_at` <= now
    /// (or none), and the item it depends on (if any) is Sent.
    fn next_sendable(
        &self,
        account: &AccountId,
        now: DateTime<Utc>,
    ) -> Result<Vec<OutboxItem>, Error>;
    /// Marks an attempt as begun at `at` (Sending, attempts + 1), committed before the request
    /// is sent. From Queued, Failed, or Sending (resending an in-doubt item that reconciliation
    /// did not find on the server).
    fn begin_attempt(
        &mut self,
        account: &AccountId,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<OutboxItem, Error>;
    /// Items left Sending (after a restart: in doubt), oldest first.
    fn in_doubt(&self, account: &AccountId) -> Result<Vec<OutboxItem>, Error>;
    /// Marks an item Sent with the server's id (for a post or reply), and fills the
    /// placeholders of its dependents (module docs). From any unfinished state: normally
    /// Sending, but reconciliation may adopt a message found on the server for any other.
    fn complete(
        &mut self,
        account: &AccountId,
        id: i64,
        server_id: Option<&str>,
    ) -> Result<(), Error>;
    /// Records a recoverable failure of the current attempt (Sending → Failed), to be retried
    /// from `next_attempt_at`.
    fn fail(
        &mut self,
        account: &AccountId,
        id: i64,
        code: &str,
        message: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), Error>;
    /// Records a permanent failure (Queued, Sending or Failed → Wedged).
    fn wedge(
        &mut self,
        account: &AccountId,
        id: i64,
        code: &str,
        message: &str,
    ) -> Result<(), Error>;
    /// Cancels a Queued, Failed, Wedged or Expired item and, recursively, its unfinished
    /// dependents. False (and nothing changed) if the item is unknown, Sending or finished.
    fn cancel(&mut self, account: &AccountId, id: i64) -> Result<bool, Error>;
    /// Replaces the payload of a Queued or Failed item (an edit of a still-unsent message).
    /// False (and nothing changed) otherwise.
    fn rewrite_payload(
        &mut self,
        account: &AccountId,
        id: i64,
        payload: &serde_json::Value,
    ) -> Result<bool, Error>;
    /// Expires the Queued and Failed items enqueued strictly before `cutoff`; their ids,
    /// ascending.
    fn expire_older_than(
        &mut self,
        account: &AccountId,
        cutoff: DateTime<Utc>,
    ) -> Result<Vec<i64>, Error>;
    /// Queues an Expired or Wedged item again: enqueued now, error and next attempt cleared,
    /// attempts kept. False (and nothing changed) otherwise.
    fn resend(&mut self, account: &AccountId, id: i64) -> Result<bool, Error>;
    /// Makes a Failed item sendable now (the person pressed retry): `next_attempt_at` cleared,
    /// state and error kept. False (and nothing changed) if it is not Failed.
    fn retry_now(&mut self, account: &AccountId, id: i64) -> Result<bool, Error>;
    /// The item (any state) whose post or reply became the server's message `server_id` in
    /// `channel_id` (Graph's message ids are unique per channel only: they are timestamps).
    fn outbox_by_server_id(
        &self,
        account: &AccountId,
        channel_id: &str,
        server_id: &str,
    ) -> Result<Option<OutboxItem>, Error>;
    /// Unfinished items by state.
    fn outbox_counts(&self, account: &AccountId) -> Result<OutboxCounts, Error>;
}

/// The placeholder rule (module docs): fills `dependent`'s NULL `thread_root` / `target_id`
/// from `done`, the Sent item it depends on, when `done` created a message. Returns whether
/// anything changed.
pub fn fill_placeholders(
    done_kind: OutboxKind,
    done_thread_root: Option<&str>,
    done_server_id: Option<&str>,
    dependent_kind: OutboxKind,
    thread_root: &mut Option<String>,
    target_id: &mut Option<String>,
) -> bool {
    let Some(server_id) = done_server_id else {
        return false;
    };
    if !done_kind.creates_message() {
        return false;
    }
    // The thread a message `done` created lives in: itself for a post.
    let done_thread = match done_kind {
        OutboxKind::Post => Some(server_id),
        _ => done_thread_root,
    };
    let mut changed = false;
    match dependent_kind {
        OutboxKind::Post => {}
        OutboxKind::Reply => {
            if thread_root.is_none() {
                if let Some(root) = done_thread {
                    *thread_root = Some(root.to_owned());
                    changed = true;
                }
            }
        }
        _ => {
            if target_id.is_none() {
                *target_id = Some(server_id.to_owned());
                changed = true;
                if done_kind == OutboxKind::Reply && thread_root.is_none() {
                    if let Some(root) = done_thread_root {
                        *thread_root = Some(root.to_owned());
                    }
                }
            }
        }
    }
    changed
}

const COLS: &str = "id, team_id, channel_id, thread_root, target_id, depends_on, kind, payload, \
                    state, attempts, enqueued_at, attempt_started_at, next_attempt_at, \
                    last_error_code, last_error_message, server_id, updated_at";

/// The condition the partial index `outbox_unfinished` is defined with (spelled exactly so).
const UNFINISHED: &str = "state NOT IN ('sent', 'cancelled')";

fn read_item(r: &Row<'_>) -> Result<OutboxItem, Error> {
    let kind: String = r.get(6)?;
    let payload: String = r.get(7)?;
    let state: String = r.get(8)?;
    Ok(OutboxItem {
        id: r.get(0)?,
        team_id: r.get(1)?,
        channel_id: r.get(2)?,
        thread_root: r.get(3)?,
        target_id: r.get(4)?,
        depends_on: r.get(5)?,
        kind: OutboxKind::parse(&kind).ok_or(Error::Corrupt {
            column: "outbox.kind",
            value: kind.clone(),
        })?,
        payload: serde_json::from_str(&payload).map_err(|_| Error::Corrupt {
            column: "outbox.payload",
            value: payload.clone(),
        })?,
        state: OutboxState::parse(&state).ok_or(Error::Corrupt {
            column: "outbox.state",
            value: state.clone(),
        })?,
        attempts: r.get(9)?,
        enqueued_at: time(r.get(10)?, "outbox.enqueued_at")?,
        attempt_started_at: opt_time(r.get(11)?, "outbox.attempt_started_at")?,
        next_attempt_at: opt_time(r.get(12)?, "outbox.next_attempt_at")?,
        last_error_code: r.get(13)?,
        last_error_message: r.get(14)?,
        server_id: r.get(15)?,
        updated_at: time(r.get(16)?, "outbox.updated_at")?,
    })
}

/// Items of the account matching `filter` (SQL over the `outbox` columns, with `?1`, `?2` the
/// account and further parameters from `extra`), by id.
fn select(
    conn: &Connection,
    account: &AccountId,
    filter: &str,
    extra: &[&dyn rusqlite::ToSql],
) -> Result<Vec<OutboxItem>, Error> {
    let (t, u) = acct(account);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM outbox WHERE tenant_id = ?1 AND user_id = ?2 AND ({filter})
         ORDER BY id"
    ))?;
    let mut all: Vec<&dyn rusqlite::ToSql> = vec![&t, &u];
    all.extend_from_slice(extra);
    let mut rows = stmt.query(all.as_slice())?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(read_item(row)?);
    }
    Ok(out)
}

fn load(conn: &Connection, account: &AccountId, id: i64) -> Result<Option<OutboxItem>, Error> {
    Ok(select(conn, account, "id = ?3", &[&id])?.pop())
}

/// The item, if it is in one of `allowed` (else [`Error::OutboxTransition`]).
fn load_in(
    conn: &Connection,
    account: &AccountId,
    id: i64,
    allowed: &[OutboxState],
    action: &'static str,
) -> Result<OutboxItem, Error> {
    let item = load(conn, account, id)?.ok_or(Error::UnknownOutboxItem { id })?;
    if !allowed.contains(&item.state) {
        return Err(Error::OutboxTransition {
            id,
            state: item.state,
            action,
        });
    }
    Ok(item)
}

/// Sets the item's state and `updated_at`, plus the extra assignments in `set` (parameters
/// from `?3`).
fn update(
    conn: &Connection,
    id: i64,
    state: OutboxState,
    set: &str,
    extra: &[&dyn rusqlite::ToSql],
) -> Result<(), Error> {
    let sep = if set.is_empty() { "" } else { ", " };
    let mut stmt = conn.prepare_cached(&format!(
        "UPDATE outbox SET state = ?1, updated_at = ?2{sep}{set} WHERE id = ?{}",
        extra.len() + 3
    ))?;
    let now = us(Utc::now());
    let state = state.as_str();
    let mut all: Vec<&dyn rusqlite::ToSql> = vec![&state, &now];
    all.extend_from_slice(extra);
    all.push(&id);
    stmt.execute(all.as_slice())?;
    Ok(())
}

const UNFINISHED_STATES: &[OutboxState] = &[
    OutboxState::Queued,
    OutboxState::Sending,
    OutboxState::Failed,
    OutboxState::Wedged,
    OutboxState::Expired,
];

impl OutboxStore for Store {
    fn enqueue(&mut self, account: &AccountId, new: &NewOutboxItem) -> Result<OutboxItem, Error> {
        let tx = self.conn.transaction()?;
        if channel_ref(&tx, account, &new.channel_id)?.is_none() {
            return Err(Error::UnknownChannel {
                channel_id: new.channel_id.clone(),
            });
        }
        let mut thread_root = new.thread_root.clone();
        let mut target_id = new.target_id.clone();
        if let Some(dep) = new.depends_on {
            let done = load(&tx, account, dep)?.ok_or(Error::UnknownOutboxItem { id: dep })?;
            match done.state {
                OutboxState::Cancelled => {
                    return Err(Error::OutboxTransition {
                        id: dep,
                        state: done.state,
                        action: "depended on",
                    })
                }
                OutboxState::Sent => {
                    fill_placeholders(
                        done.kind,
                        done.thread_root.as_deref(),
                        done.server_id.as_deref(),
                        new.kind,
                        &mut thread_root,
                        &mut target_id,
                    );
                }
                _ => {}
            }
        }
        let (t, u) = acct(account);
        let now = us(Utc::now());
        tx.prepare_cached(
            "INSERT INTO outbox (tenant_id, user_id, team_id, channel_id, thread_root, target_id,
                                 depends_on, kind, payload, state, enqueued_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'queued', ?10, ?10)",
        )?
        .execute(params![
            t,
            u,
            new.team_id,
            new.channel_id,
            thread_root,
            target_id,
            new.depends_on,
            new.kind.as_str(),
            new.payload.to_string(),
            now
        ])?;
        let id = tx.last_insert_rowid();
        let item = load(&tx, account, id)?.ok_or(Error::UnknownOutboxItem { id })?;
        tx.commit()?;
        Ok(item)
    }

    fn outbox(
        &self,
        account: &AccountId,
        channel_id: Option<&str>,
        include_finished: bool,
    ) -> Result<Vec<OutboxItem>, Error> {
        let states = if include_finished { "1" } else { UNFINISHED };
        match channel_id {
            Some(c) => select(
                &self.conn,
                account,
                &format!("channel_id = ?3 AND {states}"),
                &[&c],
            ),
            None => select(&self.conn, account, states, &[]),
        }
    }

    fn outbox_item(&self, account: &AccountId, id: i64) -> Result<Option<OutboxItem>, Error> {
        load(&self.conn, account, id)
    }

    fn next_sendable(
        &self,
        account: &AccountId,
        now: DateTime<Utc>,
    ) -> Result<Vec<OutboxItem>, Error> {
        select(
            &self.conn,
            account,
            &format!(
                "id IN (SELECT min(id) FROM outbox WHERE tenant_id = ?1 AND user_id = ?2
                          AND {UNFINISHED} GROUP BY channel_id)
                 AND (state = 'queued'
                      OR (state = 'failed' AND (next_attempt_at IS NULL OR next_attempt_at <= ?3)))
                 AND (depends_on IS NULL
                      OR EXISTS (SELECT 1 FROM outbox d WHERE d.id = outbox.depends_on
                                   AND d.state = 'sent'))"
            ),
            &[&us(now)],
        )
    }

    fn begin_attempt(
        &mut self,
        account: &AccountId,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<OutboxItem, Error> {
        let tx = self.conn.transaction()?;
        load_in(
            &tx,
            account,
            id,
            &[
                OutboxState::Queued,
                OutboxState::Failed,
                OutboxState::Sending,
            ],
            "sent",
        )?;
        update(
            &tx,
            id,
            OutboxState::Sending,
            "attempts = attempts + 1, attempt_started_at = ?3, next_attempt_at = NULL",
            &[&us(at)],
        )?;
        let item = load(&tx, account, id)?.ok_or(Error::UnknownOutboxItem { id })?;
        tx.commit()?;
        Ok(item)
    }

    fn in_doubt(&self, account: &AccountId) -> Result<Vec<OutboxItem>, Error> {
        select(&self.conn, account, "state = 'sending'", &[])
    }

    fn complete(
        &mut self,
        account: &AccountId,
        id: i64,
        server_id: Option<&str>,
    ) -> Result<(), Error> {
        let tx = self.conn.transaction()?;
        let done = load_in(&tx, account, id, UNFINISHED_STATES, "completed")?;
        update(
            &tx,
            id,
            OutboxState::Sent,
            "server_id = ?3, next_attempt_at = NULL",
            &[&server_id],
        )?;
        let dependents = select(
            &tx,
            account,
            &format!("depends_on = ?3 AND {UNFINISHED}"),
            &[&id],
        )?;
        for mut d in dependents {
            if fill_placeholders(
                done.kind,
                done.thread_root.as_deref(),
                server_id,
                d.kind,
                &mut d.thread_root,
                &mut d.target_id,
            ) {
                tx.prepare_cached(
                    "UPDATE outbox SET thread_root = ?1, target_id = ?2, updated_at = ?3
                     WHERE id = ?4",
                )?
                .execute(params![
                    d.thread_root,
                    d.target_id,
                    us(Utc::now()),
                    d.id
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn fail(
        &mut self,
        account: &AccountId,
        id: i64,
        code: &str,
        message: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let tx = self.conn.transaction()?;
        load_in(&tx, account, id, &[OutboxState::Sending], "failed")?;
        update(
            &tx,
            id,
            OutboxState::Failed,
            "last_error_code = ?3, last_error_message = ?4, next_attempt_at = ?5",
            &[&code, &message, &us(next_attempt_at)],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn wedge(
        &mut self,
        account: &AccountId,
        id: i64,
        code: &str,
        message: &str,
    ) -> Result<(), Error> {
        let tx = self.conn.transaction()?;
        load_in(
            &tx,
            account,
            id,
            &[
                OutboxState::Queued,
                OutboxState::Sending,
                OutboxState::Failed,
            ],
            "wedged",
        )?;
        update(
            &tx,
            id,
            OutboxState::Wedged,
            "last_error_code = ?3, last_error_message = ?4, next_attempt_at = NULL",
            &[&code, &message],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn cancel(&mut self, account: &AccountId, id: i64) -> Result<bool, Error> {
        let tx = self.conn.transaction()?;
        let cancellable = [
            OutboxState::Queued,
            OutboxState::Failed,
            OutboxState::Wedged,
            OutboxState::Expired,
        ];
        match load(&tx, account, id)? {
            Some(item) if cancellable.contains(&item.state) => {}
            _ => return Ok(false),
        }
        let (t, u) = acct(account);
        // The item and everything that depends on it, transitively. Dependents of an unsent
        // item cannot have been sent, but one being sent by mistake is left alone.
        tx.prepare_cached(
            "WITH RECURSIVE doomed (id) AS (
                 SELECT ?3
                 UNION SELECT o.id FROM outbox o JOIN doomed d ON o.depends_on = d.id
             )
             UPDATE outbox SET state = 'cancelled', next_attempt_at = NULL, updated_at = ?4
             WHERE tenant_id = ?1 AND user_id = ?2 AND id IN (SELECT id FROM doomed)
               AND state IN ('queued', 'failed', 'wedged', 'expired')",
        )?
        .execute(params![t, u, id, us(Utc::now())])?;
        tx.commit()?;
        Ok(true)
    }

    fn rewrite_payload(
        &mut self,
        account: &AccountId,
        id: i64,
        payload: &serde_json::Value,
    ) -> Result<bool, Error> {
        let (t, u) = acct(account);
        let n = self
            .conn
            .prepare_cached(
                "UPDATE outbox SET payload = ?4, updated_at = ?5
                 WHERE tenant_id = ?1 AND user_id = ?2 AND id = ?3
                   AND state IN ('queued', 'failed')",
            )?
            .execute(params![t, u, id, payload.to_string(), us(Utc::now())])?;
        Ok(n > 0)
    }

    fn expire_older_than(
        &mut self,
        account: &AccountId,
        cutoff: DateTime<Utc>,
    ) -> Result<Vec<i64>, Error> {
        let (t, u) = acct(account);
        let mut ids: Vec<i64> = self
            .conn
            .prepare_cached(
                "UPDATE outbox SET state = 'expired', next_attempt_at = NULL, updated_at = ?4
                 WHERE tenant_id = ?1 AND user_id = ?2 AND state IN ('queued', 'failed')
                   AND enqueued_at < ?3
                 RETURNING id",
            )?
            .query_map(params![t, u, us(cutoff), us(Utc::now())], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids.sort_unstable();
        Ok(ids)
    }

    fn resend(&mut self, account: &AccountId, id: i64) -> Result<bool, Error> {
        let (t, u) = acct(account);
        let now = us(Utc::now());
        let n = self
            .conn
            .prepare_cached(
                "UPDATE outbox SET state = 'queued', enqueued_at = ?4, updated_at = ?4,
                   next_attempt_at = NULL, last_error_code = NULL, last_error_message = NULL
                 WHERE tenant_id = ?1 AND user_id = ?2 AND id = ?3
                   AND state IN ('expired', 'wedged')",
            )?
            .execute(params![t, u, id, now])?;
        Ok(n > 0)
    }

    fn retry_now(&mut self, account: &AccountId, id: i64) -> Result<bool, Error> {
        let (t, u) = acct(account);
        let n = self
            .conn
            .prepare_cached(
                "UPDATE outbox SET next_attempt_at = NULL, updated_at = ?4
                 WHERE tenant_id = ?1 AND user_id = ?2 AND id = ?3 AND state = 'failed'",
            )?
            .execute(params![t, u, id, us(Utc::now())])?;
        Ok(n > 0)
    }

    fn outbox_by_server_id(
        &self,
        account: &AccountId,
        channel_id: &str,
        server_id: &str,
    ) -> Result<Option<OutboxItem>, Error> {
        let (t, u) = acct(account);
        let id: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT id FROM outbox WHERE tenant_id = ?1 AND user_id = ?2 AND server_id = ?3
                   AND channel_id = ?4
                 ORDER BY id LIMIT 1",
            )?
            .query_row(params![t, u, server_id, channel_id], |r| r.get(0))
            .optional()?;
        match id {
            Some(id) => load(&self.conn, account, id),
            None => Ok(None),
        }
    }

    fn outbox_counts(&self, account: &AccountId) -> Result<OutboxCounts, Error> {
        let (t, u) = acct(account);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT state, count(*) FROM outbox WHERE tenant_id = ?1 AND user_id = ?2
               AND {UNFINISHED} GROUP BY state"
        ))?;
        let mut rows = stmt.query(params![t, u])?;
        let mut counts = OutboxCounts::default();
        while let Some(row) = rows.next()? {
            let state: String = row.get(0)?;
            let n: u32 = row.get(1)?;
            match OutboxState::parse(&state) {
                Some(OutboxState::Queued) => counts.queued = n,
                Some(OutboxState::Sending) => counts.sending = n,
                Some(OutboxState::Failed) => counts.failed = n,
                Some(OutboxState::Wedged) => counts.wedged = n,
                Some(OutboxState::Expired) => counts.expired = n,
                Some(OutboxState::Sent | OutboxState::Cancelled) => {}
                None => {
                    return Err(Error::Corrupt {
                        column: "outbox.state",
                        value: state,
                    })
                }
            }
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_states_round_trip() {
        for k in OutboxKind::ALL {
            assert_eq!(OutboxKind::parse(k.as_str()), Some(k));
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::json!(k.as_str())
            );
        }
        for s in OutboxState::ALL {
            assert_eq!(OutboxState::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        assert_eq!(OutboxKind::parse("Post"), None);
        assert_eq!(OutboxState::parse(""), None);
    }

    /// The sender's and the UI's queries read only the unfinished rows.
    #[test]
    fn pending_queries_use_the_partial_index() {
        let store = Store::open_in_memory().unwrap();
        for sql in [
            format!(
                "SELECT min(id) FROM outbox WHERE tenant_id = ?1 AND user_id = ?2 AND {UNFINISHED}
                 GROUP BY channel_id"
            ),
            format!(
                "SELECT {COLS} FROM outbox WHERE tenant_id = ?1 AND user_id = ?2
                   AND (channel_id = ?3 AND {UNFINISHED}) ORDER BY id"
            ),
        ] {
            let plan: Vec<String> = store
                .connection()
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(
                    rusqlite::params_from_iter(["x"; 3].iter().take(if sql.contains("?3") {
                        3
                    } else {
                        2
                    })),
                    |r| r.get(3),
                )
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(
                plan.iter().any(|l| l.contains("outbox_unfinished")),
                "{sql}: {plan:?}"
            );
        }
    }

    /// The placeholder rule as a table: (done kind, done thread root, server id, dependent kind,
    /// its thread root, its target) → (thread root, target) after.
    #[test]
    fn placeholder_rule() {
        use OutboxKind::*;
        type Case = (
            OutboxKind,
            Option<&'static str>,
            Option<&'static str>,
            OutboxKind,
            Option<&'static str>,
            Option<&'static str>,
            (Option<&'static str>, Option<&'static str>),
        );
        // One case a line, as a table.
        #[rustfmt::skip]
        let cases: &[Case] = &[
            // A reply to an unsent post gets the post as its thread.
            (Post, None, Some("P"), Reply, None, None, (Some("P"), None)),
            // Writes on an unsent post get it as their target (no thread: it is a root).
            (Post, None, Some("P"), Edit, None, None, (None, Some("P"))),
            (Post, None, Some("P"), Delete, None, None, (None, Some("P"))),
            (Post, None, Some("P"), Undelete, None, None, (None, Some("P"))),
            (Post, None, Some("P"), React, None, None, (None, Some("P"))),
            (Post, None, Some("P"), Unreact, None, None, (None, Some("P"))),
            // Writes on an unsent reply also get the reply's thread.
            (Reply, Some("R"), Some("X"), Edit, None, None, (Some("R"), Some("X"))),
            (Reply, Some("R"), Some("X"), React, Some("Q"), None, (Some("Q"), Some("X"))),
            // A reply after an unsent reply joins the same thread.
            (Reply, Some("R"), Some("X"), Reply, None, None, (Some("R"), None)),
            // Set values are never overwritten.
            (Post, None, Some("P"), Reply, Some("Q"), None, (Some("Q"), None)),
            (Post, None, Some("P"), Edit, None, Some("T"), (None, Some("T"))),
            (Reply, Some("R"), Some("X"), Edit, None, Some("T"), (None, Some("T"))),
            // Nothing to fill from: no server id, or a write that creates no message.
            (Post, None, None, Edit, None, None, (None, None)),
            (Edit, None, Some("E"), Edit, None, None, (None, None)),
            // A post has no placeholders.
            (Post, None, Some("P"), Post, None, None, (None, None)),
        ];
        for &(dk, droot, sid, k, root, target, expected) in cases {
            let mut r = root.map(str::to_owned);
            let mut tg = target.map(str::to_owned);
            fill_placeholders(dk, droot, sid, k, &mut r, &mut tg);
            assert_eq!(
                (r.as_deref(), tg.as_deref()),
                expected,
                "{dk} {droot:?} {sid:?} → {k} {root:?} {target:?}"
            );
        }
    }
}
