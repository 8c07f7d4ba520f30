//! The hosted-content file index: which downloaded images (Graph hostedContents) are on disk,
//! where, how big, and when they were last shown, so the media cache can be bounded by
//! evicting the least recently used. The store keeps only the index; the engine owns the files.

use chrono::{DateTime, Utc};
use perch_core::AccountId;
use rusqlite::{params, OptionalExtension};

use crate::cache::{acct, time, us};
use crate::{Error, Store};

/// One cached file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedEntry {
    /// The media key (the path part of the `perch-media://` URL after the account).
    pub key: String,
    /// Where the bytes are.
    pub path: String,
    /// Their size.
    pub bytes: i64,
    /// When they were downloaded.
    pub fetched_at: DateTime<Utc>,
    /// When they were last served.
    pub last_used_at: DateTime<Utc>,
}

impl Store {
    /// Records a downloaded file (replacing an older entry for the key).
    pub fn put_hosted(
        &self,
        account: &AccountId,
        key: &str,
        path: &str,
        bytes: i64,
    ) -> Result<(), Error> {
        let (t, u) = acct(account);
        let now = us(Utc::now());
        self.conn
            .prepare_cached(
                "INSERT INTO hosted_cache (tenant_id, user_id, key, path, bytes, fetched_at, last_used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
                 ON CONFLICT (tenant_id, user_id, key) DO UPDATE SET path = excluded.path,
                   bytes = excluded.bytes, fetched_at = excluded.fetched_at,
                   last_used_at = excluded.last_used_at",
            )?
            .execute(params![t, u, key, path, bytes, now])?;
        Ok(())
    }

    /// The entry for a key, marking it used now.
    pub fn hosted(&self, account: &AccountId, key: &str) -> Result<Option<HostedEntry>, Error> {
        let (t, u) = acct(account);
        let now = us(Utc::now());
        let row: Option<(String, i64, i64)> = self
            .conn
            .prepare_cached(
                "UPDATE hosted_cache SET last_used_at = ?4
                 WHERE tenant_id = ?1 AND user_id = ?2 AND key = ?3
                 RETURNING path, bytes, fetched_at",
            )?
            .query_row(params![t, u, key, now], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        row.map(|(path, bytes, fetched)| {
            Ok(HostedEntry {
                key: key.to_owned(),
                path,
                bytes,
                fetched_at: time(fetched, "hosted_cache.fetched_at")?,
                last_used_at: time(now, "hosted_cache.last_used_at")?,
            })
        })
        .transpose()
    }

    /// Every indexed file's path, all accounts (to find files nothing indexes).
    pub fn hosted_paths(&self) -> Result<Vec<String>, Error> {
        Ok(self
            .conn
            .prepare_cached("SELECT path FROM hosted_cache")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }

    /// Total bytes indexed, all accounts.
    pub fn hosted_bytes(&self) -> Result<i64, Error> {
        Ok(self
            .conn
            .query_row("SELECT ifnull(sum(bytes), 0) FROM hosted_cache", [], |r| {
                r.get(0)
            })?)
    }

    /// Removes least-recently-used entries (all accounts) until at most `keep_bytes` remain, and
    /// returns the removed files' paths for the caller to delete.
    pub fn evict_hosted(&self, keep_bytes: i64) -> Result<Vec<String>, Error> {
        let mut total = self.hosted_bytes()?;
        let mut removed = Vec::new();
        if total <= keep_bytes {
            return Ok(removed);
        }
        let victims: Vec<(String, String, String, String, i64)> = self
            .conn
            .prepare_cached(
                "SELECT tenant_id, user_id, key, path, bytes FROM hosted_cache ORDER BY last_used_at",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
            .collect::<Result<_, _>>()?;
        let mut delete = self.conn.prepare_cached(
            "DELETE FROM hosted_cache WHERE tenant_id = ?1 AND user_id = ?2 AND key = ?3",
        )?;
        for (t, u, key, path, bytes) in victims {
            if total <= keep_bytes {
                break;
            }
            delete.execute(params![t, u, key])?;
            total -= bytes;
            removed.push(path);
        }
        Ok(removed)
    }
}
