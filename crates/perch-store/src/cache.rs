//! The message cache: the [`CacheStore`] trait and its implementation on [`Store`] for teams,
//! channels, follows, messages (with their child rows and the full-text index), sync state,
//! read markers, drafts and settings. Search itself lives in [`search`](crate::search).
//!
//! Invariants kept here:
//! - `ingest` writes a page and the sync state it advances in one transaction: after a crash a
//!   page is either fully stored with its state, or absent with the old state.
//! - A stored row is only replaced by a strictly newer `last_modified_at`; child rows are only
//!   rewritten when they changed (by hash), and the full-text index only for rows whose indexed
//!   text (or tombstone state) changed.
//! - The full-text index holds exactly the live (not deleted) messages, as the
//!   `message_search_src` view yields them.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use perch_core::AccountId;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::types::*;
use crate::{Error, Store};

/// The cache API. Implemented by [`Store`] (file or in-memory). Object safe.
pub trait CacheStore {
    /// Replaces the account's teams with `teams`; teams no longer listed are removed with their
    /// channels and messages.
    fn replace_teams(&mut self, account: &AccountId, teams: &[TeamRow]) -> Result<(), Error>;
    /// The account's teams, by name.
    fn teams(&self, account: &AccountId) -> Result<Vec<TeamRow>, Error>;
    /// Replaces a team's channels; channels no longer listed are removed with their messages
    /// and sync state. Keeps `followed` (the rows' own `followed` is ignored). The team must be
    /// stored ([`Error::UnknownTeam`] otherwise).
    fn replace_channels(
        &mut self,
        account: &AccountId,
        team_id: &str,
        channels: &[ChannelRow],
    ) -> Result<(), Error>;
    /// The account's channels, by team name then channel name.
    fn channels(&self, account: &AccountId) -> Result<Vec<ChannelRow>, Error>;
    /// One channel.
    fn channel(&self, account: &AccountId, channel_id: &str) -> Result<Option<ChannelRow>, Error>;
    /// Follows or unfollows a channel; false if the channel is unknown.
    fn set_followed(
        &mut self,
        account: &AccountId,
        channel_id: &str,
        followed: bool,
    ) -> Result<bool, Error>;
    /// One page, in ONE transaction with the sync state it advances. Upsert by key; a row whose
    /// stored last_modified_at >= the incoming one is left alone (counted unchanged); deleted
    /// messages are kept as tombstones (deleted_at set, body kept as given). Replaces the
    /// row's reactions/mentions/attachments/hosted. FTS kept in sync. `state = None` leaves the
    /// sync state untouched (used by history and thread refresh). The channel must be stored
    /// ([`Error::UnknownChannel`] otherwise); rows are stored in `channel_id` whatever their
    /// own `channel_id` says.
    fn ingest(
        &mut self,
        account: &AccountId,
        channel_id: &str,
        messages: &[MessageRow],
        state: Option<&SyncState>,
    ) -> Result<IngestOutcome, Error>;
    /// The channel's sync state (the default if none).
    fn sync_state(&self, account: &AccountId, channel_id: &str) -> Result<SyncState, Error>;
    /// One message.
    fn message(&self, account: &AccountId, key: &MessageKey) -> Result<Option<MessageRow>, Error>;
    /// The key of a channel's message known only by its id (a root post or a reply).
    fn find_message(
        &self,
        account: &AccountId,
        channel_id: &str,
        id: &str,
    ) -> Result<Option<MessageKey>, Error>;
    /// Root posts of a channel, newest first by created_at, strictly older than `before` (key of
    /// the oldest item the caller has) when given; `limit` rows. Tombstones included.
    fn timeline(
        &self,
        account: &AccountId,
        channel_id: &str,
        before: Option<&MessageKey>,
        limit: usize,
    ) -> Result<Vec<TimelineItem>, Error>;
    /// Items for these keys, in the order given (for diffs); missing keys skipped.
    fn timeline_items(
        &self,
        account: &AccountId,
        keys: &[MessageKey],
    ) -> Result<Vec<TimelineItem>, Error>;
    /// Replies of a thread, oldest first (tombstones included).
    fn thread(
        &self,
        account: &AccountId,
        channel_id: &str,
        root_id: &str,
    ) -> Result<Vec<MessageRow>, Error>;
    /// Messages sent by `from_id` created at or after `since`, oldest first: root posts of the
    /// channel (`root_id` None) or replies of one thread. Tombstones included. (The outbox looks
    /// here for a write that reached the server without its answer reaching Perch.)
    fn messages_since(
        &self,
        account: &AccountId,
        channel_id: &str,
        root_id: Option<&str>,
        from_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<MessageRow>, Error>;
    /// Replaces a channel's cached members, recording when they were fetched.
    fn replace_members(
        &mut self,
        account: &AccountId,
        channel_id: &str,
        members: &[MemberRow],
        fetched_at: DateTime<Utc>,
    ) -> Result<(), Error>;
    /// A channel's cached members by name, and when they were fetched (None: never).
    fn members(
        &self,
        account: &AccountId,
        channel_id: &str,
    ) -> Result<(Vec<MemberRow>, Option<DateTime<Utc>>), Error>;
    /// Stored messages (roots, replies and tombstones) of a channel or of the whole account.
    fn message_count(&self, account: &AccountId, channel_id: Option<&str>) -> Result<i64, Error>;
    /// Read marker = time of the newest message read in the channel. Never moves backwards.
    fn mark_read(
        &mut self,
        account: &AccountId,
        channel_id: &str,
        up_to: DateTime<Utc>,
    ) -> Result<(), Error>;
    /// Unread figures for the channels that have cached messages. Unread = not mine
    /// (from_id != account.user_id), not deleted, created after the marker.
    fn counts(&self, account: &AccountId) -> Result<Vec<ChannelCounts>, Error>;
    /// Full-text search (see [`SearchQuery`]).
    fn search(&self, account: &AccountId, query: &SearchQuery) -> Result<Vec<SearchHit>, Error>;
    /// Saves a draft (`thread_root` None = a new post); `body` None deletes it.
    fn set_draft(
        &mut self,
        account: &AccountId,
        channel_id: &str,
        thread_root: Option<&str>,
        body: Option<&str>,
    ) -> Result<(), Error>;
    /// A saved draft.
    fn draft(
        &self,
        account: &AccountId,
        channel_id: &str,
        thread_root: Option<&str>,
    ) -> Result<Option<String>, Error>;
    /// Saves an app setting.
    fn set_setting(&mut self, key: &str, value: &serde_json::Value) -> Result<(), Error>;
    /// An app setting.
    fn setting(&self, key: &str) -> Result<Option<serde_json::Value>, Error>;
}

/// Unix microseconds of a time.
pub(crate) fn us(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn opt_us(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(us)
}

pub(crate) fn time(v: i64, column: &'static str) -> Result<DateTime<Utc>, Error> {
    DateTime::from_timestamp_micros(v).ok_or(Error::Corrupt {
        column,
        value: v.to_string(),
    })
}

pub(crate) fn opt_time(
    v: Option<i64>,
    column: &'static str,
) -> Result<Option<DateTime<Utc>>, Error> {
    v.map(|v| time(v, column)).transpose()
}

/// The account as its two stored columns.
pub(crate) fn acct(account: &AccountId) -> (String, String) {
    (account.tenant_id.to_string(), account.user_id.to_string())
}

/// The account's filter token in the search index's `scope` column (as the
/// `message_search_src` view computes it).
pub(crate) fn account_token(account: &AccountId) -> String {
    let user = account.user_id.to_string();
    format!("a{}", &user[..8])
}

/// The sender's filter token (as the `message_search_src` view computes it).
pub(crate) fn sender_token(from_id: &str) -> String {
    let mut s = String::from("u");
    s.extend(from_id.chars().filter(|&c| c != '-').take(12));
    s
}

/// The `scope` column value for a message; must equal what `message_search_src` yields.
fn scope(account_token: &str, cid: i64, from_id: Option<&str>) -> String {
    let mut s = format!("{account_token} c{cid}");
    if let Some(from) = from_id {
        s.push(' ');
        s.push_str(&sender_token(from));
    }
    s
}

/// Bits of `mid` below the creation millisecond.
pub(crate) const MID_SEQ_BITS: u32 = 20;
const MAX_MS: i64 = (1 << (63 - MID_SEQ_BITS)) - 1;

/// The first `mid` of the millisecond `t` falls in (clamped to 1970…2248).
pub(crate) fn mid_floor(t_us: i64) -> i64 {
    t_us.div_euclid(1000).clamp(0, MAX_MS) << MID_SEQ_BITS
}

/// A stable (FNV-1a) hash of a row's child rows; 0 when it has none.
fn child_hash(m: &MessageRow) -> i64 {
    if m.reactions.is_empty()
        && m.mentions.is_empty()
        && m.attachments.is_empty()
        && m.hosted.is_empty()
    {
        return 0;
    }
    struct Fnv(u64);
    impl Fnv {
        fn bytes(&mut self, b: &[u8]) {
            for &x in b {
                self.0 ^= u64::from(x);
                self.0 = self.0.wrapping_mul(0x100_0000_01b3);
            }
        }
        fn int(&mut self, v: i64) {
            self.bytes(&v.to_le_bytes());
        }
        fn str(&mut self, s: &str) {
            self.int(s.len() as i64);
            self.bytes(s.as_bytes());
        }
        fn opt(&mut self, s: Option<&str>) {
            match s {
                Some(s) => {
                    self.bytes(&[1]);
                    self.str(s);
                }
                None => self.bytes(&[0]),
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.int(m.reactions.len() as i64);
    for r in &m.reactions {
        h.str(&r.reaction_type);
        h.opt(r.user_id.as_deref());
        h.opt(r.display_name.as_deref());
        h.int(r.created_at.map_or(i64::MIN, us));
    }
    h.int(m.mentions.len() as i64);
    for x in &m.mentions {
        h.int(x.mention_id);
        h.str(&x.text);
        h.opt(x.user_id.as_deref());
        h.opt(x.display_name.as_deref());
    }
    h.int(m.attachments.len() as i64);
    for a in &m.attachments {
        h.opt(a.id.as_deref());
        h.str(&a.content_type);
        h.opt(a.name.as_deref());
        h.opt(a.content_url.as_deref());
        h.opt(a.content.as_deref());
        h.opt(a.thumbnail_url.as_deref());
    }
    h.int(m.hosted.len() as i64);
    for x in &m.hosted {
        h.str(x);
    }
    match h.0 as i64 {
        0 => 1,
        v => v,
    }
}

/// Message columns read by [`read_message`], for a table aliased `m`.
pub(crate) const MSG_COLS: &str = "m.mid, m.id, m.reply_to_id, m.message_type, m.created_at, \
     m.last_modified_at, m.last_edited_at, m.deleted_at, m.subject, m.summary, m.importance, \
     m.from_id, m.from_name, m.from_kind, m.body_html, m.body_text, m.web_url, m.etag, \
     m.mentions_me, m.child_hash";

/// A row of [`MSG_COLS`] (without children), its mid and its child hash.
fn read_message(
    row: &Row<'_>,
    team_id: &str,
    channel_id: &str,
) -> Result<(i64, i64, MessageRow), Error> {
    let mid: i64 = row.get(0)?;
    let m = MessageRow {
        team_id: team_id.to_owned(),
        channel_id: channel_id.to_owned(),
        id: row.get(1)?,
        reply_to_id: row.get(2)?,
        message_type: row.get(3)?,
        created_at: time(row.get(4)?, "messages.created_at")?,
        last_modified_at: time(row.get(5)?, "messages.last_modified_at")?,
        last_edited_at: opt_time(row.get(6)?, "messages.last_edited_at")?,
        deleted_at: opt_time(row.get(7)?, "messages.deleted_at")?,
        subject: row.get(8)?,
        summary: row.get(9)?,
        importance: row.get(10)?,
        from_id: row.get(11)?,
        from_name: row.get(12)?,
        from_kind: row.get(13)?,
        body_html: row.get(14)?,
        body_text: row.get(15)?,
        web_url: row.get(16)?,
        etag: row.get(17)?,
        mentions_me: row.get(18)?,
        reactions: Vec::new(),
        mentions: Vec::new(),
        attachments: Vec::new(),
        hosted: Vec::new(),
    };
    Ok((mid, row.get(19)?, m))
}

/// Fills a message's child rows.
fn load_children(conn: &Connection, mid: i64, m: &mut MessageRow) -> Result<(), Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT reaction_type, user_id, display_name, created_at FROM reactions
         WHERE mid = ?1 ORDER BY pos",
    )?;
    let mut rows = stmt.query([mid])?;
    while let Some(r) = rows.next()? {
        m.reactions.push(ReactionRow {
            reaction_type: r.get(0)?,
            user_id: r.get(1)?,
            display_name: r.get(2)?,
            created_at: opt_time(r.get(3)?, "reactions.created_at")?,
        });
    }
    let mut stmt = conn.prepare_cached(
        "SELECT mention_id, text, user_id, display_name FROM mentions WHERE mid = ?1 ORDER BY pos",
    )?;
    let mut rows = stmt.query([mid])?;
    while let Some(r) = rows.next()? {
        m.mentions.push(MentionRow {
            mention_id: r.get(0)?,
            text: r.get(1)?,
            user_id: r.get(2)?,
            display_name: r.get(3)?,
        });
    }
    let mut stmt = conn.prepare_cached(
        "SELECT id, content_type, name, content_url, content, thumbnail_url FROM attachments
         WHERE mid = ?1 ORDER BY pos",
    )?;
    let mut rows = stmt.query([mid])?;
    while let Some(r) = rows.next()? {
        m.attachments.push(AttachmentRow {
            id: r.get(0)?,
            content_type: r.get(1)?,
            name: r.get(2)?,
            content_url: r.get(3)?,
            content: r.get(4)?,
            thumbnail_url: r.get(5)?,
        });
    }
    let mut stmt = conn.prepare_cached(
        "SELECT hosted_content_id FROM message_hosted WHERE mid = ?1 ORDER BY pos",
    )?;
    let mut rows = stmt.query([mid])?;
    while let Some(r) = rows.next()? {
        m.hosted.push(r.get(0)?);
    }
    Ok(())
}

fn insert_children(conn: &Connection, mid: i64, m: &MessageRow) -> Result<(), Error> {
    if !m.reactions.is_empty() {
        let mut stmt = conn.prepare_cached(
            "INSERT INTO reactions (mid, pos, reaction_type, user_id, display_name, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (pos, r) in m.reactions.iter().enumerate() {
            stmt.execute(params![
                mid,
                pos as i64,
                r.reaction_type,
                r.user_id,
                r.display_name,
                opt_us(r.created_at)
            ])?;
        }
    }
    if !m.mentions.is_empty() {
        let mut stmt = conn.prepare_cached(
            "INSERT INTO mentions (mid, pos, mention_id, text, user_id, display_name)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (pos, x) in m.mentions.iter().enumerate() {
            stmt.execute(params![
                mid,
                pos as i64,
                x.mention_id,
                x.text,
                x.user_id,
                x.display_name
            ])?;
        }
    }
    if !m.attachments.is_empty() {
        let mut stmt = conn.prepare_cached(
            "INSERT INTO attachments (mid, pos, id, content_type, name, content_url, content,
                                      thumbnail_url)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for (pos, a) in m.attachments.iter().enumerate() {
            stmt.execute(params![
                mid,
                pos as i64,
                a.id,
                a.content_type,
                a.name,
                a.content_url,
                a.content,
                a.thumbnail_url
            ])?;
        }
    }
    if !m.hosted.is_empty() {
        let mut stmt = conn.prepare_cached(
            "INSERT INTO message_hosted (mid, pos, hosted_content_id) VALUES (?1, ?2, ?3)",
        )?;
        for (pos, h) in m.hosted.iter().enumerate() {
            stmt.execute(params![mid, pos as i64, h])?;
        }
    }
    Ok(())
}

fn delete_children(conn: &Connection, mid: i64) -> Result<(), Error> {
    for sql in [
        "DELETE FROM reactions WHERE mid = ?1",
        "DELETE FROM mentions WHERE mid = ?1",
        "DELETE FROM attachments WHERE mid = ?1",
        "DELETE FROM message_hosted WHERE mid = ?1",
    ] {
        conn.prepare_cached(sql)?.execute([mid])?;
    }
    Ok(())
}

/// What the index holds for a live row.
struct Indexed {
    subject: Option<String>,
    from_name: Option<String>,
    body_text: String,
    from_id: Option<String>,
}

fn fts_insert(conn: &Connection, mid: i64, x: &Indexed, scope: &str) -> Result<(), Error> {
    conn.prepare_cached(
        "INSERT INTO message_search (rowid, subject, from_name, body_text, scope)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![mid, x.subject, x.from_name, x.body_text, scope])?;
    Ok(())
}

fn fts_delete(conn: &Connection, mid: i64, x: &Indexed, scope: &str) -> Result<(), Error> {
    conn.prepare_cached(
        "INSERT INTO message_search (message_search, rowid, subject, from_name, body_text, scope)
         VALUES ('delete', ?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![mid, x.subject, x.from_name, x.body_text, scope])?;
    Ok(())
}

/// A stored channel's surrogate key and team.
pub(crate) fn channel_ref(
    conn: &Connection,
    account: &AccountId,
    channel_id: &str,
) -> Result<Option<(i64, String)>, Error> {
    let (t, u) = acct(account);
    Ok(conn
        .prepare_cached(
            "SELECT cid, team_id FROM channels WHERE tenant_id = ?1 AND user_id = ?2 AND id = ?3",
        )?
        .query_row(params![t, u, channel_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

fn read_marker(
    conn: &Connection,
    account: &AccountId,
    channel_id: &str,
) -> Result<Option<i64>, Error> {
    let (t, u) = acct(account);
    Ok(conn
        .prepare_cached(
            "SELECT read_up_to FROM read_markers WHERE tenant_id = ?1 AND user_id = ?2 AND channel_id = ?3",
        )?
        .query_row(params![t, u, channel_id], |r| r.get(0))
        .optional()?)
}

fn is_unread(m: &MessageRow, me: &str, marker: Option<i64>) -> bool {
    m.deleted_at.is_none()
        && m.from_id.as_deref() != Some(me)
        && marker.is_none_or(|mk| us(m.created_at) > mk)
}

fn channel_from_row(r: &Row<'_>) -> rusqlite::Result<ChannelRow> {
    Ok(ChannelRow {
        team_id: r.get(0)?,
        id: r.get(1)?,
        display_name: r.get(2)?,
        description: r.get(3)?,
        membership_type: r.get(4)?,
        web_url: r.get(5)?,
        followed: r.get(6)?,
    })
}

const CHANNEL_SELECT: &str = "SELECT c.team_id, c.id, c.display_name, c.description, \
     c.membership_type, c.web_url, f.channel_id IS NOT NULL FROM channels c \
     LEFT JOIN follows f ON f.tenant_id = c.tenant_id AND f.user_id = c.user_id \
     AND f.channel_id = c.id";

impl Store {
    /// Messages of one channel selected by `sql` (which selects `MSG_COLS`), with their child
    /// rows.
    fn rows(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        team: &str,
        channel_id: &str,
    ) -> Result<Vec<MessageRow>, Error> {
        let rows: Vec<(i64, i64, MessageRow)> = {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let mut q = stmt.query(params)?;
            let mut v = Vec::new();
            while let Some(r) = q.next()? {
                v.push(read_message(r, team, channel_id)?);
            }
            v
        };
        rows.into_iter()
            .map(|(mid, hash, mut row)| {
                if hash != 0 {
                    load_children(&self.conn, mid, &mut row)?;
                }
                Ok(row)
            })
            .collect()
    }

    fn item(
        &self,
        cid: i64,
        mid: i64,
        hash: i64,
        mut row: MessageRow,
        me: &str,
        marker: Option<i64>,
    ) -> Result<TimelineItem, Error> {
        if hash != 0 {
            load_children(&self.conn, mid, &mut row)?;
        }
        let (reply_count, last): (i64, Option<i64>) = if row.reply_to_id.is_none() {
            self.conn
                .prepare_cached(
                    "SELECT count(*), max(created_at) FROM messages
                     WHERE cid = ?1 AND root_id = ?2 AND reply_to_id IS NOT NULL
                       AND deleted_at IS NULL",
                )?
                .query_row(params![cid, row.id], |r| Ok((r.get(0)?, r.get(1)?)))?
        } else {
            (0, None)
        };
        let unread = is_unread(&row, me, marker);
        Ok(TimelineItem {
            row,
            reply_count,
            last_reply_at: opt_time(last, "messages.created_at")?,
            unread,
            pending: Vec::new(),
        })
    }

    fn ingest_tx(
        tx: &Connection,
        account: &AccountId,
        channel_id: &str,
        messages: &[MessageRow],
        state: Option<&SyncState>,
        changed: &mut Vec<usize>,
    ) -> Result<IngestOutcome, Error> {
        let (cid, _team) =
            channel_ref(tx, account, channel_id)?.ok_or_else(|| Error::UnknownChannel {
                channel_id: channel_id.to_owned(),
            })?;
        let token = account_token(account);
        let mut out = IngestOutcome::default();
        let mut find = tx.prepare_cached(
            "SELECT mid, last_modified_at FROM messages WHERE cid = ?1 AND root_id = ?2 AND id = ?3",
        )?;
        for (index, m) in messages.iter().enumerate() {
            let root_id = m.reply_to_id.as_deref().unwrap_or(&m.id);
            let existing: Option<(i64, i64)> = find
                .query_row(params![cid, root_id, m.id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let key = || MessageKey {
                channel_id: channel_id.to_owned(),
                root_id: root_id.to_owned(),
                id: m.id.clone(),
            };
            let lm = us(m.last_modified_at);
            let hash = child_hash(m);
            let new_live = m.deleted_at.is_none();
            match existing {
                Some((_, stored)) if stored >= lm => out.unchanged += 1,
                Some((mid, _)) => {
                    let (old_deleted, old, old_hash): (Option<i64>, Indexed, i64) = tx
                        .prepare_cached(
                            "SELECT deleted_at, subject, from_name, body_text, from_id, child_hash
                             FROM messages WHERE mid = ?1",
                        )?
                        .query_row([mid], |r| {
                            Ok((
                                r.get(0)?,
                                Indexed {
                                    subject: r.get(1)?,
                                    from_name: r.get(2)?,
                                    body_text: r.get(3)?,
                                    from_id: r.get(4)?,
                                },
                                r.get(5)?,
                            ))
                        })?;
                    let old_live = old_deleted.is_none();
                    let same_text = old.subject == m.subject
                        && old.from_name == m.from_name
                        && old.body_text == m.body_text
                        && old.from_id == m.from_id;
                    if old_live && !(new_live && same_text) {
                        fts_delete(tx, mid, &old, &scope(&token, cid, old.from_id.as_deref()))?;
                    }
                    tx.prepare_cached(
                        "UPDATE messages SET reply_to_id = ?2, message_type = ?3, created_at = ?4,
                           last_modified_at = ?5, last_edited_at = ?6, deleted_at = ?7,
                           subject = ?8, summary = ?9, importance = ?10, from_id = ?11,
                           from_name = ?12, from_kind = ?13, body_html = ?14, body_text = ?15,
                           web_url = ?16, etag = ?17, mentions_me = ?18, child_hash = ?19
                         WHERE mid = ?1",
                    )?
                    .execute(params![
                        mid,
                        m.reply_to_id,
                        m.message_type,
                        us(m.created_at),
                        lm,
                        opt_us(m.last_edited_at),
                        opt_us(m.deleted_at),
                        m.subject,
                        m.summary,
                        m.importance,
                        m.from_id,
                        m.from_name,
                        m.from_kind,
                        m.body_html,
                        m.body_text,
                        m.web_url,
                        m.etag,
                        m.mentions_me,
                        hash
                    ])?;
                    if new_live && !(old_live && same_text) {
                        fts_insert(
                            tx,
                            mid,
                            &indexed(m),
                            &scope(&token, cid, m.from_id.as_deref()),
                        )?;
                        changed.push(index);
                    }
                    if hash != old_hash {
                        if old_hash != 0 {
                            delete_children(tx, mid)?;
                        }
                        insert_children(tx, mid, m)?;
                    }
                    out.updated.push(key());
                }
                None => {
                    let created = us(m.created_at);
                    let lo = mid_floor(created);
                    let hi = lo + (1 << MID_SEQ_BITS);
                    let max: Option<i64> = tx
                        .prepare_cached(
                            "SELECT max(mid) FROM messages WHERE mid >= ?1 AND mid < ?2",
                        )?
                        .query_row(params![lo, hi], |r| r.get(0))?;
                    let mid = match max {
                        None => lo,
                        Some(x) if x + 1 < hi => x + 1,
                        // A million messages in one millisecond: give up on ordering.
                        Some(_) => tx
                            .prepare_cached("SELECT max(mid) + 1 FROM messages")?
                            .query_row([], |r| r.get(0))?,
                    };
                    tx.prepare_cached(
                        "INSERT INTO messages (mid, cid, root_id, id, reply_to_id, message_type,
                           created_at, last_modified_at, last_edited_at, deleted_at, subject,
                           summary, importance, from_id, from_name, from_kind, body_html,
                           body_text, web_url, etag, mentions_me, child_hash)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                                 ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
                    )?
                    .execute(params![
                        mid,
                        cid,
                        root_id,
                        m.id,
                        m.reply_to_id,
                        m.message_type,
                        created,
                        lm,
                        opt_us(m.last_edited_at),
                        opt_us(m.deleted_at),
                        m.subject,
                        m.summary,
                        m.importance,
                        m.from_id,
                        m.from_name,
                        m.from_kind,
                        m.body_html,
                        m.body_text,
                        m.web_url,
                        m.etag,
                        m.mentions_me,
                        hash
                    ])?;
                    if new_live {
                        fts_insert(
                            tx,
                            mid,
                            &indexed(m),
                            &scope(&token, cid, m.from_id.as_deref()),
                        )?;
                        changed.push(index);
                    }
                    insert_children(tx, mid, m)?;
                    out.inserted.push(key());
                }
            }
        }
        if let Some(s) = state {
            tx.prepare_cached(
                "INSERT INTO sync_state (cid, delta_link, next_link, watermark, round_started_at,
                   last_synced_at, history_link, history_complete, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (cid) DO UPDATE SET delta_link = excluded.delta_link,
                   next_link = excluded.next_link, watermark = excluded.watermark,
                   round_started_at = excluded.round_started_at,
                   last_synced_at = excluded.last_synced_at, history_link = excluded.history_link,
                   history_complete = excluded.history_complete, updated_at = excluded.updated_at",
            )?
            .execute(params![
                cid,
                s.delta_link,
                s.next_link,
                opt_us(s.watermark),
                opt_us(s.round_started_at),
                opt_us(s.last_synced_at),
                s.history_link,
                s.history_complete,
                us(Utc::now())
            ])?;
        }
        Ok(out)
    }
}

fn indexed(m: &MessageRow) -> Indexed {
    Indexed {
        subject: m.subject.clone(),
        from_name: m.from_name.clone(),
        body_text: m.body_text.clone(),
        from_id: m.from_id.clone(),
    }
}

impl CacheStore for Store {
    fn replace_teams(&mut self, account: &AccountId, teams: &[TeamRow]) -> Result<(), Error> {
        let (t, u) = acct(account);
        let tx = self.conn.transaction()?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO teams (tenant_id, user_id, id, display_name, description)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant_id, user_id, id) DO UPDATE SET
                   display_name = excluded.display_name, description = excluded.description",
            )?;
            for team in teams {
                upsert.execute(params![t, u, team.id, team.display_name, team.description])?;
            }
            let keep: HashSet<&str> = teams.iter().map(|t| t.id.as_str()).collect();
            let existing: Vec<String> = tx
                .prepare_cached("SELECT id FROM teams WHERE tenant_id = ?1 AND user_id = ?2")?
                .query_map(params![t, u], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut delete = tx.prepare_cached(
                "DELETE FROM teams WHERE tenant_id = ?1 AND user_id = ?2 AND id = ?3",
            )?;
            for id in existing.iter().filter(|id| !keep.contains(id.as_str())) {
                delete.execute(params![t, u, id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn teams(&self, account: &AccountId) -> Result<Vec<TeamRow>, Error> {
        let (t, u) = acct(account);
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, display_name, description FROM teams WHERE tenant_id = ?1 AND user_id = ?2
             ORDER BY display_name COLLATE NOCASE, id",
        )?;
        let rows = stmt
            .query_map(params![t, u], |r| {
                Ok(TeamRow {
                    id: r.get(0)?,
                    display_name: r.get(1)?,
                    description: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn replace_channels(
        &mut self,
        account: &AccountId,
        team_id: &str,
        channels: &[ChannelRow],
    ) -> Result<(), Error> {
        let (t, u) = acct(account);
        let tx = self.conn.transaction()?;
        {
            let team: Option<i64> = tx
                .prepare_cached(
                    "SELECT 1 FROM teams WHERE tenant_id = ?1 AND user_id = ?2 AND id = ?3",
                )?
                .query_row(params![t, u, team_id], |r| r.get(0))
                .optional()?;
            if team.is_none() {
                return Err(Error::UnknownTeam {
                    team_id: team_id.to_owned(),
                });
            }
            let mut upsert = tx.prepare_cached(
                "INSERT INTO channels (tenant_id, user_id, team_id, id, display_name, description,
                                       membership_type, web_url)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (tenant_id, user_id, id) DO UPDATE SET
                   display_name = excluded.display_name, description = excluded.description,
                   membership_type = excluded.membership_type, web_url = excluded.web_url",
            )?;
            for c in channels {
                upsert.execute(params![
                    t,
                    u,
                    team_id,
                    c.id,
                    c.display_name,
                    c.description,
                    c.membership_type,
                    c.web_url
                ])?;
            }
            let keep: HashSet<&str> = channels.iter().map(|c| c.id.as_str()).collect();
            let existing: Vec<String> = tx
                .prepare_cached(
                    "SELECT id FROM channels WHERE tenant_id = ?1 AND user_id = ?2 AND team_id = ?3",
                )?
                .query_map(params![t, u, team_id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut delete = tx.prepare_cached(
                "DELETE FROM channels WHERE tenant_id = ?1 AND user_id = ?2 AND id = ?3",
            )?;
            for id in existing.iter().filter(|id| !keep.contains(id.as_str())) {
                delete.execute(params![t, u, id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn channels(&self, account: &AccountId) -> Result<Vec<ChannelRow>, Error> {
        let (t, u) = acct(account);
        let mut stmt = self.conn.prepare_cached(&format!(
            "{CHANNEL_SELECT} JOIN teams tm ON tm.tenant_id = c.tenant_id AND tm.user_id = c.user_id
               AND tm.id = c.team_id
             WHERE c.tenant_id = ?1 AND c.user_id = ?2
             ORDER BY tm.display_name COLLATE NOCASE, c.team_id, c.display_name COLLATE NOCASE, c.id"
        ))?;
        let rows = stmt
            .query_map(params![t, u], channel_from_row)?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn channel(&self, account: &AccountId, channel_id: &str) -> Result<Option<ChannelRow>, Error> {
        let (t, u) = acct(account);
        Ok(self
            .conn
            .prepare_cached(&format!(
                "{CHANNEL_SELECT} WHERE c.tenant_id = ?1 AND c.user_id = ?2 AND c.id = ?3"
            ))?
            .query_row(params![t, u, channel_id], channel_from_row)
            .optional()?)
    }

    fn set_followed(
        &mut self,
        account: &AccountId,
        channel_id: &str,
        followed: bool,
    ) -> Result<bool, Error> {
        if channel_ref(&self.conn, account, channel_id)?.is_none() {
            return Ok(false);
        }
        let (t, u) = acct(account);
        if followed {
            self.conn
                .prepare_cached(
                    "INSERT INTO follows (tenant_id, user_id, channel_id, followed_at)
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                )?
                .execute(params![t, u, channel_id, us(Utc::now())])?;
        } else {
            self.conn
                .prepare_cached(
                    "DELETE FROM follows WHERE tenant_id = ?1 AND user_id = ?2 AND channel_id = ?3",
                )?
                .execute(params![t, u, channel_id])?;
        }
        Ok(true)
    }

    fn ingest(
        &mut self,
        account: &AccountId,
        channel_id: &str,
        messages: &[MessageRow],
        state: Option<&SyncState>,
    ) -> Result<IngestOutcome, Error> {
        self.words.load(&self.conn)?;
        let tx = self.conn.transaction()?;
        let mut new_words = Vec::new();
        let mut changed = Vec::new();
        let out = Self::ingest_tx(&tx, account, channel_id, messages, state, &mut changed)?;
        for &i in &changed {
            self.words.collect(&messages[i], &mut new_words);
        }
        if !new_words.is_empty() {
            let mut stmt =
                tx.prepare_cached("INSERT OR IGNORE INTO search_words (word) VALUES (?1)")?;
            for w in &new_words {
                stmt.execute([w])?;
            }
        }
        tx.commit()?;
        // Only words that are now stored are remembered.
        self.words.remember(new_words);
        Ok(out)
    }

    fn sync_state(&self, account: &AccountId, channel_id: &str) -> Result<SyncState, Error> {
        let Some((cid, _)) = channel_ref(&self.conn, account, channel_id)? else {
            return Ok(SyncState::default());
        };
        let row = self
            .conn
            .prepare_cached(
                "SELECT delta_link, next_link, watermark, round_started_at, last_synced_at,
                        history_link, history_complete
                 FROM sync_state WHERE cid = ?1",
            )?
            .query_row([cid], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, bool>(6)?,
                ))
            })
            .optional()?;
        let Some((delta_link, next_link, w, rs, ls, history_link, history_complete)) = row else {
            return Ok(SyncState::default());
        };
        Ok(SyncState {
            delta_link,
            next_link,
            watermark: opt_time(w, "sync_state.watermark")?,
            round_started_at: opt_time(rs, "sync_state.round_started_at")?,
            last_synced_at: opt_time(ls, "sync_state.last_synced_at")?,
            history_link,
            history_complete,
        })
    }

    fn find_message(
        &self,
        account: &AccountId,
        channel_id: &str,
        id: &str,
    ) -> Result<Option<MessageKey>, Error> {
        let Some((cid, _)) = channel_ref(&self.conn, account, channel_id)? else {
            return Ok(None);
        };
        // A root's key first: its id is its root id (one index probe).
        let root: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT root_id FROM messages WHERE cid = ?1 AND id = ?2
                 ORDER BY root_id = id DESC LIMIT 1",
            )?
            .query_row(params![cid, id], |r| r.get(0))
            .optional()?;
        Ok(root.map(|root_id| MessageKey {
            channel_id: channel_id.to_owned(),
            root_id,
            id: id.to_owned(),
        }))
    }

    fn message(&self, account: &AccountId, key: &MessageKey) -> Result<Option<MessageRow>, Error> {
        let Some((cid, team)) = channel_ref(&self.conn, account, &key.channel_id)? else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {MSG_COLS} FROM messages m WHERE m.cid = ?1 AND m.root_id = ?2 AND m.id = ?3"
        ))?;
        let mut rows = stmt.query(params![cid, key.root_id, key.id])?;
        let Some(r) = rows.next()? else {
            return Ok(None);
        };
        let (mid, hash, mut m) = read_message(r, &team, &key.channel_id)?;
        if hash != 0 {
            load_children(&self.conn, mid, &mut m)?;
        }
        Ok(Some(m))
    }

    fn timeline(
        &self,
        account: &AccountId,
        channel_id: &str,
        before: Option<&MessageKey>,
        limit: usize,
    ) -> Result<Vec<TimelineItem>, Error> {
        let Some((cid, team)) = channel_ref(&self.conn, account, channel_id)? else {
            return Ok(Vec::new());
        };
        let (bt, bm) = match before {
            None => (i64::MAX, i64::MAX),
            Some(k) => {
                let found: Option<(i64, i64)> = self
                    .conn
                    .prepare_cached(
                        "SELECT created_at, mid FROM messages WHERE cid = ?1 AND root_id = ?2 AND id = ?3",
                    )?
                    .query_row(params![cid, k.root_id, k.id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                match found {
                    Some(x) => x,
                    None => return Ok(Vec::new()),
                }
            }
        };
        let marker = read_marker(&self.conn, account, channel_id)?;
        let me = account.user_id.to_string();
        let rows: Vec<(i64, i64, MessageRow)> = {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {MSG_COLS} FROM messages m INDEXED BY messages_roots
                 WHERE m.cid = ?1 AND m.reply_to_id IS NULL AND m.created_at <= ?2
                   AND (m.created_at < ?2 OR m.mid < ?3)
                 ORDER BY m.created_at DESC, m.mid DESC LIMIT ?4"
            ))?;
            let mut q = stmt.query(params![cid, bt, bm, limit as i64])?;
            let mut v = Vec::new();
            while let Some(r) = q.next()? {
                v.push(read_message(r, &team, channel_id)?);
            }
            v
        };
        rows.into_iter()
            .map(|(mid, hash, row)| self.item(cid, mid, hash, row, &me, marker))
            .collect()
    }

    fn timeline_items(
        &self,
        account: &AccountId,
        keys: &[MessageKey],
    ) -> Result<Vec<TimelineItem>, Error> {
        let me = account.user_id.to_string();
        let mut out = Vec::with_capacity(keys.len());
        let mut chan: Option<(String, i64, String, Option<i64>)> = None;
        for k in keys {
            if chan.as_ref().is_none_or(|c| c.0 != k.channel_id) {
                chan = match channel_ref(&self.conn, account, &k.channel_id)? {
                    Some((cid, team)) => Some((
                        k.channel_id.clone(),
                        cid,
                        team,
                        read_marker(&self.conn, account, &k.channel_id)?,
                    )),
                    None => None,
                };
            }
            let Some((_, cid, team, marker)) = chan.as_ref() else {
                continue;
            };
            let found = {
                let mut stmt = self.conn.prepare_cached(&format!(
                    "SELECT {MSG_COLS} FROM messages m WHERE m.cid = ?1 AND m.root_id = ?2 AND m.id = ?3"
                ))?;
                let mut q = stmt.query(params![cid, k.root_id, k.id])?;
                match q.next()? {
                    Some(r) => Some(read_message(r, team, &k.channel_id)?),
                    None => None,
                }
            };
            if let Some((mid, hash, row)) = found {
                out.push(self.item(*cid, mid, hash, row, &me, *marker)?);
            }
        }
        Ok(out)
    }

    fn thread(
        &self,
        account: &AccountId,
        channel_id: &str,
        root_id: &str,
    ) -> Result<Vec<MessageRow>, Error> {
        let Some((cid, team)) = channel_ref(&self.conn, account, channel_id)? else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT {MSG_COLS} FROM messages m
             WHERE m.cid = ?1 AND m.root_id = ?2 AND m.reply_to_id IS NOT NULL
             ORDER BY m.created_at, m.mid"
        );
        self.rows(&sql, params![cid, root_id], &team, channel_id)
    }

    fn message_count(&self, account: &AccountId, channel_id: Option<&str>) -> Result<i64, Error> {
        match channel_id {
            Some(ch) => {
                let Some((cid, _)) = channel_ref(&self.conn, account, ch)? else {
                    return Ok(0);
                };
                Ok(self
                    .conn
                    .prepare_cached("SELECT count(*) FROM messages WHERE cid = ?1")?
                    .query_row([cid], |r| r.get(0))?)
            }
            None => {
                let (t, u) = acct(account);
                Ok(self
                    .conn
                    .prepare_cached(
                        "SELECT count(*) FROM channels c JOIN messages m ON m.cid = c.cid
                         WHERE c.tenant_id = ?1 AND c.user_id = ?2",
                    )?
                    .query_row(params![t, u], |r| r.get(0))?)
            }
        }
    }

    fn mark_read(
        &mut self,
        account: &AccountId,
        channel_id: &str,
        up_to: DateTime<Utc>,
    ) -> Result<(), Error> {
        let (t, u) = acct(account);
        self.conn
            .prepare_cached(
                "INSERT INTO read_markers (tenant_id, user_id, channel_id, read_up_to, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant_id, user_id, channel_id) DO UPDATE SET
                   read_up_to = max(read_up_to, excluded.read_up_to),
                   updated_at = excluded.updated_at
                 WHERE excluded.read_up_to > read_up_to",
            )?
            .execute(params![t, u, channel_id, us(up_to), us(Utc::now())])?;
        Ok(())
    }

    fn counts(&self, account: &AccountId) -> Result<Vec<ChannelCounts>, Error> {
        let (t, u) = acct(account);
        let chans: Vec<(i64, String, String, Option<i64>)> = self
            .conn
            .prepare_cached(
                "SELECT c.cid, c.team_id, c.id, rm.read_up_to FROM channels c
                 LEFT JOIN read_markers rm ON rm.tenant_id = c.tenant_id AND rm.user_id = c.user_id
                   AND rm.channel_id = c.id
                 WHERE c.tenant_id = ?1 AND c.user_id = ?2
                   AND EXISTS (SELECT 1 FROM messages m WHERE m.cid = c.cid)
                 ORDER BY c.team_id, c.id",
            )?
            .query_map(params![t, u], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        let me = account.user_id.to_string();
        let mut out = Vec::with_capacity(chans.len());
        for (cid, team_id, channel_id, marker) in chans {
            let (unread, mentions): (i64, i64) = self
                .conn
                .prepare_cached(
                    "SELECT count(*), ifnull(sum(mentions_me), 0) FROM messages INDEXED BY messages_live
                     WHERE cid = ?1 AND deleted_at IS NULL AND created_at > ?2
                       AND (from_id IS NULL OR from_id <> ?3)",
                )?
                .query_row(params![cid, marker.unwrap_or(i64::MIN), me], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            let last: Option<i64> = self
                .conn
                .prepare_cached(
                    "SELECT max(created_at) FROM messages INDEXED BY messages_live
                     WHERE cid = ?1 AND deleted_at IS NULL",
                )?
                .query_row([cid], |r| r.get(0))?;
            out.push(ChannelCounts {
                team_id,
                channel_id,
                unread,
                mentions,
                last_activity: opt_time(last, "messages.created_at")?,
            });
        }
        Ok(out)
    }

    fn search(&self, account: &AccountId, query: &SearchQuery) -> Result<Vec<SearchHit>, Error> {
        crate::search::search(&self.conn, account, query)
    }

    fn messages_since(
        &self,
        account: &AccountId,
        channel_id: &str,
        root_id: Option<&str>,
        from_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<MessageRow>, Error> {
        let Some((cid, team)) = channel_ref(&self.conn, account, channel_id)? else {
            return Ok(Vec::new());
        };
        let sql = match root_id {
            None => format!(
                "SELECT {MSG_COLS} FROM messages m
                 WHERE m.cid = ?1 AND m.reply_to_id IS NULL AND m.created_at >= ?2
                   AND m.from_id = ?3 AND ?4 IS NULL
                 ORDER BY m.created_at, m.mid"
            ),
            Some(_) => format!(
                "SELECT {MSG_COLS} FROM messages m
                 WHERE m.cid = ?1 AND m.root_id = ?4 AND m.reply_to_id IS NOT NULL
                   AND m.created_at >= ?2 AND m.from_id = ?3
                 ORDER BY m.created_at, m.mid"
            ),
        };
        self.rows(
            &sql,
            params![cid, us(since), from_id, root_id],
            &team,
            channel_id,
        )
    }

    fn replace_members(
        &mut self,
        account: &AccountId,
        channel_id: &str,
        members: &[MemberRow],
        fetched_at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let (t, u) = acct(account);
        let tx = self.conn.transaction()?;
        tx.execute(
            "DELETE FROM channel_members WHERE tenant_id = ?1 AND user_id = ?2 AND channel_id = ?3",
            params![t, u, channel_id],
        )?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO channel_members
                   (tenant_id, user_id, channel_id, member_id, display_name, email, roles)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for m in members {
                insert.execute(params![
                    t,
                    u,
                    channel_id,
                    m.user_id,
                    m.display_name,
                    m.email,
                    m.roles.join(",")
                ])?;
            }
        }
        tx.execute(
            "INSERT INTO channel_members_fetched (tenant_id, user_id, channel_id, fetched_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (tenant_id, user_id, channel_id) DO UPDATE SET fetched_at = excluded.fetched_at",
            params![t, u, channel_id, us(fetched_at)],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn members(
        &self,
        account: &AccountId,
        channel_id: &str,
    ) -> Result<(Vec<MemberRow>, Option<DateTime<Utc>>), Error> {
        let (t, u) = acct(account);
        let fetched: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT fetched_at FROM channel_members_fetched
                 WHERE tenant_id = ?1 AND user_id = ?2 AND channel_id = ?3",
            )?
            .query_row(params![t, u, channel_id], |r| r.get(0))
            .optional()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT member_id, display_name, email, roles FROM channel_members
             WHERE tenant_id = ?1 AND user_id = ?2 AND channel_id = ?3
             ORDER BY display_name COLLATE NOCASE, member_id",
        )?;
        let members = stmt
            .query_map(params![t, u, channel_id], |r| {
                let roles: String = r.get(3)?;
                Ok(MemberRow {
                    user_id: r.get(0)?,
                    display_name: r.get(1)?,
                    email: r.get(2)?,
                    roles: roles
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((
            members,
            opt_time(fetched, "channel_members_fetched.fetched_at")?,
        ))
    }

    fn set_draft(
        &mut self,
        account: &AccountId,
        channel_id: &str,
        thread_root: Option<&str>,
        body: Option<&str>,
    ) -> Result<(), Error> {
        let (t, u) = acct(account);
        let root = thread_root.unwrap_or("");
        match body {
            Some(body) => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO drafts (tenant_id, user_id, channel_id, thread_root, body, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (tenant_id, user_id, channel_id, thread_root) DO UPDATE SET
                           body = excluded.body, updated_at = excluded.updated_at",
                    )?
                    .execute(params![t, u, channel_id, root, body, us(Utc::now())])?;
            }
            None => {
                self.conn
                    .prepare_cached(
                        "DELETE FROM drafts WHERE tenant_id = ?1 AND user_id = ?2 AND channel_id = ?3
                           AND thread_root = ?4",
                    )?
                    .execute(params![t, u, channel_id, root])?;
            }
        }
        Ok(())
    }

    fn draft(
        &self,
        account: &AccountId,
        channel_id: &str,
        thread_root: Option<&str>,
    ) -> Result<Option<String>, Error> {
        let (t, u) = acct(account);
        Ok(self
            .conn
            .prepare_cached(
                "SELECT body FROM drafts WHERE tenant_id = ?1 AND user_id = ?2 AND channel_id = ?3
                   AND thread_root = ?4",
            )?
            .query_row(params![t, u, channel_id, thread_root.unwrap_or("")], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn set_setting(&mut self, key: &str, value: &serde_json::Value) -> Result<(), Error> {
        self.conn
            .prepare_cached(
                "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )?
            .execute(params![key, value.to_string(), us(Utc::now())])?;
        Ok(())
    }

    fn setting(&self, key: &str) -> Result<Option<serde_json::Value>, Error> {
        let text: Option<String> = self
            .conn
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|_| Error::Corrupt {
                column: "settings.value",
                value: t,
            })
        })
        .transpose()
    }
}
