//! The accounts table: who is signed in, to which tenant and hosts, and whether the account
//! works or needs an interactive sign-in. Non-secret metadata only; the refresh token lives in
//! the OS keyring under the same [`AccountId`].

use chrono::{DateTime, Utc};
use perch_core::{AccountId, Cloud, Hosts};
use rusqlite::{params, Row};
use uuid::Uuid;

use crate::{Error, Store};

/// Whether an account can get tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountState {
    /// Tokens can be refreshed silently.
    SignedIn,
    /// The refresh token is gone or refused (expired, revoked, MFA or consent needed): the
    /// account's cached data and pending writes are kept, and an interactive sign-in with the
    /// account's `login_hint` brings it back.
    NeedsSignIn,
    /// The person signed out but kept the account's cache.
    SignedOut,
}

impl AccountState {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::SignedIn => "signed_in",
            AccountState::NeedsSignIn => "needs_sign_in",
            AccountState::SignedOut => "signed_out",
        }
    }

    fn parse(value: &str) -> Option<AccountState> {
        match value {
            "signed_in" => Some(AccountState::SignedIn),
            "needs_sign_in" => Some(AccountState::NeedsSignIn),
            "signed_out" => Some(AccountState::SignedOut),
            _ => None,
        }
    }
}

/// One account's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    /// Tenant id and user object id.
    pub id: AccountId,
    /// The person's name, for the account switcher.
    pub display_name: String,
    /// The user principal name: shown, and sent as `login_hint` on re-sign-in.
    pub upn: String,
    /// The app registration the account signed in with.
    pub client_id: Uuid,
    /// The cloud.
    pub cloud: Cloud,
    /// The login and Graph hosts the account's tokens are for.
    pub hosts: Hosts,
    /// Whether tokens can be had silently.
    pub state: AccountState,
    /// The error code that put the account in [`AccountState::NeedsSignIn`].
    pub state_reason: Option<String>,
    /// First sign-in.
    pub added_at: DateTime<Utc>,
    /// Last change to the row.
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "tenant_id, user_id, display_name, upn, client_id, cloud, login_host, \
                       graph_host, state, state_reason, added_at, updated_at";

fn uuid_col(row: &Row<'_>, idx: usize, column: &'static str) -> Result<Uuid, Error> {
    let text: String = row.get(idx)?;
    Uuid::parse_str(&text).map_err(|_| Error::Corrupt {
        column,
        value: text,
    })
}

fn time_col(row: &Row<'_>, idx: usize, column: &'static str) -> Result<DateTime<Utc>, Error> {
    let text: String = row.get(idx)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| Error::Corrupt {
            column,
            value: text,
        })
}

fn from_row(row: &Row<'_>) -> Result<AccountRecord, Error> {
    let cloud: String = row.get(5)?;
    let state: String = row.get(8)?;
    Ok(AccountRecord {
        id: AccountId::new(
            uuid_col(row, 0, "accounts.tenant_id")?,
            uuid_col(row, 1, "accounts.user_id")?,
        ),
        display_name: row.get(2)?,
        upn: row.get(3)?,
        client_id: uuid_col(row, 4, "accounts.client_id")?,
        cloud: Cloud::parse(&cloud).ok_or(Error::Corrupt {
            column: "accounts.cloud",
            value: cloud,
        })?,
        hosts: Hosts {
            login: row.get(6)?,
            graph: row.get(7)?,
        },
        state: AccountState::parse(&state).ok_or(Error::Corrupt {
            column: "accounts.state",
            value: state,
        })?,
        state_reason: row.get(9)?,
        added_at: time_col(row, 10, "accounts.added_at")?,
        updated_at: time_col(row, 11, "accounts.updated_at")?,
    })
}

impl Store {
    /// Inserts the account or updates everything but `added_at`.
    pub fn upsert_account(&self, account: &AccountRecord) -> Result<(), Error> {
        self.conn.execute(
            &format!(
                "INSERT INTO accounts ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT (tenant_id, user_id) DO UPDATE SET
                   display_name = excluded.display_name, upn = excluded.upn,
                   client_id = excluded.client_id, cloud = excluded.cloud,
                   login_host = excluded.login_host, graph_host = excluded.graph_host,
                   state = excluded.state, state_reason = excluded.state_reason,
                   updated_at = excluded.updated_at"
            ),
            params![
                account.id.tenant_id.to_string(),
                account.id.user_id.to_string(),
                account.display_name,
                account.upn,
                account.client_id.to_string(),
                account.cloud.as_str(),
                account.hosts.login,
                account.hosts.graph,
                account.state.as_str(),
                account.state_reason,
                account.added_at.to_rfc3339(),
                account.updated_at.to_rfc3339(),
            ],
        )?;
        Ok(())
    }

    /// One account, or `None`.
    pub fn account(&self, id: &AccountId) -> Result<Option<AccountRecord>, Error> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM accounts WHERE tenant_id = ?1 AND user_id = ?2"
        ))?;
        let mut rows = stmt.query(params![id.tenant_id.to_string(), id.user_id.to_string()])?;
        match rows.next()? {
            Some(row) => Ok(Some(from_row(row)?)),
            None => Ok(None),
        }
    }

    /// Every account, in the order they were added.
    pub fn accounts(&self) -> Result<Vec<AccountRecord>, Error> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM accounts ORDER BY added_at, tenant_id, user_id"
        ))?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(from_row(row)?);
        }
        Ok(out)
    }

    /// Sets an account's state; returns false when there is no such account.
    pub fn set_account_state(
        &self,
        id: &AccountId,
        state: AccountState,
        reason: Option<&str>,
    ) -> Result<bool, Error> {
        let n = self.conn.execute(
            "UPDATE accounts SET state = ?3, state_reason = ?4, updated_at = ?5
             WHERE tenant_id = ?1 AND user_id = ?2",
            params![
                id.tenant_id.to_string(),
                id.user_id.to_string(),
                state.as_str(),
                reason,
                Utc::now().to_rfc3339()
            ],
        )?;
        Ok(n > 0)
    }

    /// Deletes an account's row (tables added later reference it with `ON DELETE CASCADE`, so
    /// this removes the account's cache too); returns false when there was none.
    pub fn delete_account(&self, id: &AccountId) -> Result<bool, Error> {
        let n = self.conn.execute(
            "DELETE FROM accounts WHERE tenant_id = ?1 AND user_id = ?2",
            params![id.tenant_id.to_string(), id.user_id.to_string()],
        )?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MIGRATIONS;

    fn record(state: AccountState) -> AccountRecord {
        let now = Utc::now();
        AccountRecord {
            id: AccountId::new(Uuid::new_v4(), Uuid::new_v4()),
            display_name: "Ada Lovelace".into(),
            upn: "ada@contoso.com".into(),
            client_id: Uuid::new_v4(),
            cloud: Cloud::Global,
            hosts: Hosts::of_cloud(Cloud::Global),
            state,
            state_reason: None,
            added_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn crud() {
        let store = Store::open_in_memory().unwrap();
        let mut a = record(AccountState::SignedIn);
        let b = record(AccountState::SignedIn);
        store.upsert_account(&a).unwrap();
        store.upsert_account(&b).unwrap();
        assert_eq!(store.accounts().unwrap().len(), 2);
        a.display_name = "Ada K. Lovelace".into();
        store.upsert_account(&a).unwrap();
        let got = store.account(&a.id).unwrap().unwrap();
        assert_eq!(got.display_name, "Ada K. Lovelace");
        assert!(store
            .set_account_state(&a.id, AccountState::NeedsSignIn, Some("invalid_grant"))
            .unwrap());
        let got = store.account(&a.id).unwrap().unwrap();
        assert_eq!(got.state, AccountState::NeedsSignIn);
        assert_eq!(got.state_reason.as_deref(), Some("invalid_grant"));
        assert!(store.delete_account(&a.id).unwrap());
        assert!(!store.delete_account(&a.id).unwrap());
        assert!(store.account(&a.id).unwrap().is_none());
        assert_eq!(store.accounts().unwrap(), vec![b]);
    }

    #[test]
    fn file_database_uses_wal_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("perch.sqlite3");
        let store = Store::open(&path).unwrap();
        let mode: String = store
            .connection()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store
            .connection()
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        drop(store);
        // Reopening does not re-run migrations.
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
    }
}
