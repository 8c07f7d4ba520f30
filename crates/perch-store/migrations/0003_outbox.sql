-- The outbox's API (issue 5; the table itself is in 0002_cache.sql).
--
-- Vocabulary (outbox.rs is the only writer):
-- - kind:  'post', 'reply', 'edit', 'delete', 'undelete', 'react', 'unreact'.
-- - state: 'queued', 'sending', 'failed', 'wedged', 'expired' (unfinished) and 'sent',
--          'cancelled' (finished).
--
-- Sent and cancelled rows stay as history, so over months they far outnumber the pending ones.
-- The sender asks for the oldest unfinished row of every channel (the channel's head) each time
-- it looks for work, and the UI lists a channel's pending rows: this partial index holds only
-- the unfinished rows, in channel and queue order, so both stay proportional to what is
-- pending. Queries must spell the condition exactly as here for SQLite to use it.
CREATE INDEX outbox_unfinished ON outbox (tenant_id, user_id, channel_id, id)
    WHERE state NOT IN ('sent', 'cancelled');
