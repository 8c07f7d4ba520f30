-- The message cache (issue 4): teams, channels, messages with their reactions, mentions,
-- attachments and hosted-content references, full-text search, per-channel sync state, read
-- markers, follows, drafts, settings, the hosted-content file index and the outbox schema.
--
-- Conventions for every table here:
-- - An account is its (tenant_id, user_id) pair, lower-case hyphenated UUID text, with a
--   foreign key to `accounts` ON DELETE CASCADE (directly, or through teams → channels →
--   messages → children), so deleting an account removes everything it owns.
-- - Times are INTEGER unix microseconds, UTC (sortable, compact; sub-microsecond digits from
--   Graph's 7-digit fractions are dropped).
-- - Graph ids are TEXT exactly as Graph sends them.

CREATE TABLE teams (
    tenant_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    id           TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description  TEXT,
    PRIMARY KEY (tenant_id, user_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES accounts (tenant_id, user_id) ON DELETE CASCADE
) WITHOUT ROWID;

-- `cid` is a compact surrogate that messages and sync state reference. A channel id is unique
-- per account; a shared channel listed under a second team keeps the team it was first seen in.
CREATE TABLE channels (
    cid             INTEGER PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    team_id         TEXT NOT NULL,
    id              TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    description     TEXT,
    membership_type TEXT NOT NULL,
    web_url         TEXT,
    UNIQUE (tenant_id, user_id, id),
    FOREIGN KEY (tenant_id, user_id, team_id) REFERENCES teams (tenant_id, user_id, id)
        ON DELETE CASCADE
);
CREATE INDEX channels_team ON channels (tenant_id, user_id, team_id);

-- Which channels the person follows: a preference keyed by channel id, kept apart from the
-- cached channel rows so that it survives channel-list refreshes, a channel briefly missing
-- from a listing, and database recovery.
CREATE TABLE follows (
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    channel_id  TEXT NOT NULL,
    followed_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id, channel_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES accounts (tenant_id, user_id) ON DELETE CASCADE
) WITHOUT ROWID;

-- Root posts and replies. `mid` is (created_at in ms << 20) | sequence, so rowid order is
-- creation order: the full-text index (whose rowid is `mid`) can return the newest matches
-- first and turn date filters into rowid ranges. `root_id` = `id` for a root post, the root's id
-- for a reply. `child_hash` is a hash of the row's reactions, mentions, attachments and hosted
-- ids (0 when it has none): an update rewrites the child rows only when it changes.
CREATE TABLE messages (
    mid              INTEGER PRIMARY KEY,
    cid              INTEGER NOT NULL REFERENCES channels (cid) ON DELETE CASCADE,
    root_id          TEXT NOT NULL,
    id               TEXT NOT NULL,
    reply_to_id      TEXT,
    message_type     TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    last_modified_at INTEGER NOT NULL,
    last_edited_at   INTEGER,
    deleted_at       INTEGER,
    subject          TEXT,
    summary          TEXT,
    importance       TEXT NOT NULL,
    from_id          TEXT,
    from_name        TEXT,
    from_kind        TEXT,
    body_html        TEXT NOT NULL,
    body_text        TEXT NOT NULL,
    web_url          TEXT,
    etag             TEXT,
    mentions_me      INTEGER NOT NULL,
    child_hash       INTEGER NOT NULL,
    UNIQUE (cid, root_id, id)
);
-- Timelines: a channel's root posts by creation time (tombstones included).
CREATE INDEX messages_roots ON messages (cid, created_at) WHERE reply_to_id IS NULL;
-- Reply counts and last reply times (covering), live replies only.
CREATE INDEX messages_replies ON messages (cid, root_id, created_at)
    WHERE reply_to_id IS NOT NULL AND deleted_at IS NULL;
-- Unread counts and last activity: live messages by creation time.
CREATE INDEX messages_live ON messages (cid, created_at) WHERE deleted_at IS NULL;

CREATE TABLE reactions (
    mid           INTEGER NOT NULL REFERENCES messages (mid) ON DELETE CASCADE,
    pos           INTEGER NOT NULL,
    reaction_type TEXT NOT NULL,
    user_id       TEXT,
    display_name  TEXT,
    created_at    INTEGER,
    PRIMARY KEY (mid, pos)
) WITHOUT ROWID;

CREATE TABLE mentions (
    mid          INTEGER NOT NULL REFERENCES messages (mid) ON DELETE CASCADE,
    pos          INTEGER NOT NULL,
    mention_id   INTEGER NOT NULL,
    text         TEXT NOT NULL,
    user_id      TEXT,
    display_name TEXT,
    PRIMARY KEY (mid, pos)
) WITHOUT ROWID;

CREATE TABLE attachments (
    mid           INTEGER NOT NULL REFERENCES messages (mid) ON DELETE CASCADE,
    pos           INTEGER NOT NULL,
    id            TEXT,
    content_type  TEXT NOT NULL,
    name          TEXT,
    content_url   TEXT,
    content       TEXT,
    thumbnail_url TEXT,
    PRIMARY KEY (mid, pos)
) WITHOUT ROWID;

-- Hosted-content ids a message references (the bytes live in files; see hosted_cache).
CREATE TABLE message_hosted (
    mid               INTEGER NOT NULL REFERENCES messages (mid) ON DELETE CASCADE,
    pos               INTEGER NOT NULL,
    hosted_content_id TEXT NOT NULL,
    PRIMARY KEY (mid, pos)
) WITHOUT ROWID;

-- Full-text search. External content: the index's rowid is messages.mid and the view below
-- yields exactly what was indexed (so `INSERT INTO message_search(message_search, rank)
-- VALUES ('integrity-check', 1)` holds): subject, sender name and plain text of live messages,
-- plus a `scope` column of filter tokens that searches match on instead of joining:
-- `a{first 8 characters of the user id}`, `c{cid}`, `u{first 12 characters of from_id without
-- hyphens}`. The short forms keep the index small and fast; a (vanishingly rare) clash only
-- costs time, since every hit is checked against the exact filters. The store maintains
-- the index itself, in the ingest transaction, only for rows whose indexed text changes.
-- columnsize = 0: no per-row size table (one B-tree write less per message); ranking is done
-- in search.rs, not by bm25().
CREATE VIEW message_search_src AS
    SELECT m.mid AS mid, m.cid AS cid, m.subject AS subject, m.from_name AS from_name,
           m.body_text AS body_text,
           'a' || substr(c.user_id, 1, 8) || ' c' || m.cid
               || ifnull(' u' || substr(replace(m.from_id, '-', ''), 1, 12), '') AS scope
    FROM messages m JOIN channels c ON c.cid = m.cid
    WHERE m.deleted_at IS NULL;
CREATE VIRTUAL TABLE message_search USING fts5 (
    subject, from_name, body_text, scope,
    content = 'message_search_src', content_rowid = 'mid', columnsize = 0,
    tokenize = 'unicode61 remove_diacritics 2'
);
-- Every distinct word ever indexed (as search.rs tokenizes), so that a prefix search can be
-- expanded into an OR of whole words, which FTS5 reads lazily newest-first, instead of FTS5's
-- own prefix query, which merges the full doclists of every expansion first.
CREATE TABLE search_words (word TEXT PRIMARY KEY) WITHOUT ROWID;
-- Exact document frequencies, for diagnostics (search.rs estimates them: see DF_PROBE).
CREATE VIRTUAL TABLE message_search_vocab USING fts5vocab (message_search, row);
-- Foreign-key cascades do not reach the index, so a channel (removed from its team, or with
-- its team or account) takes its messages' index entries with it, while they can still be
-- read through the view.
CREATE TRIGGER channels_search_cleanup BEFORE DELETE ON channels
BEGIN
    INSERT INTO message_search (message_search, rowid, subject, from_name, body_text, scope)
        SELECT 'delete', s.mid, s.subject, s.from_name, s.body_text, s.scope
        FROM message_search_src s WHERE s.cid = old.cid;
END;

-- Per-channel sync state, written in the same transaction as the page it belongs to.
CREATE TABLE sync_state (
    cid              INTEGER PRIMARY KEY REFERENCES channels (cid) ON DELETE CASCADE,
    delta_link       TEXT,
    next_link        TEXT,
    watermark        INTEGER,
    round_started_at INTEGER,
    last_synced_at   INTEGER,
    history_link     TEXT,
    history_complete INTEGER NOT NULL DEFAULT 0,
    updated_at       INTEGER NOT NULL
);

-- Read markers: the creation time of the newest message read in a channel. Never moves back.
CREATE TABLE read_markers (
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    read_up_to INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id, channel_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES accounts (tenant_id, user_id) ON DELETE CASCADE
) WITHOUT ROWID;

-- Unsent composer text. thread_root is '' for a new post.
CREATE TABLE drafts (
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    channel_id  TEXT NOT NULL,
    thread_root TEXT NOT NULL,
    body        TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id, channel_id, thread_root),
    FOREIGN KEY (tenant_id, user_id) REFERENCES accounts (tenant_id, user_id) ON DELETE CASCADE
) WITHOUT ROWID;

-- App settings: JSON values by key (not per account).
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Downloaded hosted content (images): where the file is and when it was last used, for LRU
-- eviction. `key` is the media key (team/channel/message/reply/hosted id path).
CREATE TABLE hosted_cache (
    tenant_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    key          TEXT NOT NULL,
    path         TEXT NOT NULL,
    bytes        INTEGER NOT NULL,
    fetched_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id, key),
    FOREIGN KEY (tenant_id, user_id) REFERENCES accounts (tenant_id, user_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX hosted_cache_lru ON hosted_cache (last_used_at);

-- Pending writes (schema only here; issue 5 fills it). thread_root is NULL for a new post;
-- target_id is the server id edited, deleted or reacted to; depends_on is the outbox row that
-- must be sent first (e.g. the post an edit belongs to). payload is JSON.
CREATE TABLE outbox (
    id                 INTEGER PRIMARY KEY,
    tenant_id          TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    team_id            TEXT NOT NULL,
    channel_id         TEXT NOT NULL,
    thread_root        TEXT,
    target_id          TEXT,
    depends_on         INTEGER REFERENCES outbox (id) ON DELETE CASCADE,
    kind               TEXT NOT NULL,
    payload            TEXT NOT NULL,
    state              TEXT NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    enqueued_at        INTEGER NOT NULL,
    attempt_started_at INTEGER,
    next_attempt_at    INTEGER,
    last_error_code    TEXT,
    last_error_message TEXT,
    server_id          TEXT,
    updated_at         INTEGER NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES accounts (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX outbox_account_state ON outbox (tenant_id, user_id, state, next_attempt_at);
CREATE INDEX outbox_depends_on ON outbox (depends_on) WHERE depends_on IS NOT NULL;
