-- What composing and sending need (issue 5).
--
-- Channel members: who a mention in a channel can resolve to, cached from Graph's
-- members endpoint. Keyed by the channel id rather than the cached channel row, like follows
-- and the outbox, so the list survives channel-list refreshes; `channel_members_fetched` says
-- when a channel's list was last replaced (the engine refetches it when it is a day old).

CREATE TABLE channel_members (
    tenant_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    channel_id   TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    display_name TEXT NOT NULL,
    email        TEXT,
    -- Comma-separated roles ("owner", "guest"); empty for ordinary members.
    roles        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, user_id, channel_id, member_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES accounts (tenant_id, user_id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE channel_members_fetched (
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id, channel_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES accounts (tenant_id, user_id) ON DELETE CASCADE
) WITHOUT ROWID;

-- The outbox adopts a message found on the server for a write whose answer was lost; a message
-- already adopted by one item (its server_id) must never be adopted by another. Graph's message
-- ids are unique per channel only (they are timestamps), hence the channel.
CREATE INDEX outbox_server_id ON outbox (tenant_id, user_id, channel_id, server_id)
    WHERE server_id IS NOT NULL;
