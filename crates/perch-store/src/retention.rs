//! Cache retention: [`Store::purge_older_than`] removes an account's cached threads whose last
//! activity is older than a cutoff (the managed policy's `cache_retention_days`; the engine
//! calls it when it starts). A thread goes whole (its root post and every reply), so that no
//! reply is left without its post; its search-index entries go with it in the same transaction.
//! Accounts, follows, drafts, read markers, sync state and the outbox are kept: sync goes on from
//! where it was, and history the person scrolls back to is fetched from Graph again.

use chrono::{DateTime, Utc};
use perch_core::AccountId;
use rusqlite::params;

use crate::cache::us;
use crate::{Error, Store};

impl Store {
    /// Removes the account's cached threads (root and replies) whose newest message was created
    /// or last modified before `cutoff`, with their reactions, mentions, attachments, hosted-image
    /// references and search-index entries. Returns how many messages were removed.
    pub fn purge_older_than(
        &mut self,
        account: &AccountId,
        cutoff: DateTime<Utc>,
    ) -> Result<usize, Error> {
        let tx = self.conn.transaction()?;
        tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS purge_threads (
                 cid INTEGER NOT NULL, root_id TEXT NOT NULL, PRIMARY KEY (cid, root_id)
             ) WITHOUT ROWID;
             DELETE FROM temp.purge_threads;",
        )?;
        tx.execute(
            "INSERT INTO temp.purge_threads (cid, root_id)
             SELECT m.cid, m.root_id FROM messages m JOIN channels c ON c.cid = m.cid
             WHERE c.tenant_id = ?1 AND c.user_id = ?2
             GROUP BY m.cid, m.root_id
             HAVING max(max(m.created_at, m.last_modified_at)) < ?3",
            params![
                account.tenant_id.to_string(),
                account.user_id.to_string(),
                us(cutoff)
            ],
        )?;
        // External-content FTS5: the index entries must be deleted with the values they were
        // indexed with, read through the view while the rows still exist.
        tx.execute(
            "INSERT INTO message_search (message_search, rowid, subject, from_name, body_text, scope)
             SELECT 'delete', s.mid, s.subject, s.from_name, s.body_text, s.scope
             FROM message_search_src s JOIN messages m ON m.mid = s.mid
             WHERE (m.cid, m.root_id) IN (SELECT cid, root_id FROM temp.purge_threads)",
            [],
        )?;
        let removed = tx.execute(
            "DELETE FROM messages
             WHERE (cid, root_id) IN (SELECT cid, root_id FROM temp.purge_threads)",
            [],
        )?;
        tx.execute("DELETE FROM temp.purge_threads", [])?;
        tx.commit()?;
        Ok(removed)
    }
}
