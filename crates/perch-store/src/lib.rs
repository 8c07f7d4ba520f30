//! `perch-store`: Perch's local SQLite database and message cache. It owns the connection
//! settings (WAL, foreign keys, busy timeout, statement cache), the migration runner
//! ([`migrate`]), the accounts table ([`accounts`]), the message cache behind the
//! [`CacheStore`] trait ([`cache`], row types in [`types`]), full-text search ([`search`]),
//! the persisted outbox of pending writes behind the [`OutboxStore`] trait ([`outbox`]: states,
//! per-channel order, dependencies), the hosted-content file index ([`hosted`]) and opening a
//! damaged database safely ([`recovery`]: move it aside, salvage what matters, start fresh), and
//! the managed policy's cache retention ([`retention`]).
//!
//! Invariants: the store does no network I/O, and no token is ever written to it (access tokens
//! live in memory, refresh tokens in the OS keyring). Every cache table hangs off an account
//! with `ON DELETE CASCADE`, so deleting an account deletes everything it owns. A sync page and
//! the sync state it advances are written in one transaction, and so is every outbox change
//! (an attempt is recorded as begun before its request leaves). A full disk is
//! [`Error::DiskFull`], never a half-written page.

pub mod accounts;
#[doc(hidden)]
pub mod bench;
pub mod cache;
pub mod hosted;
pub mod migrate;
pub mod outbox;
pub mod recovery;
pub mod retention;
pub mod search;
pub mod types;

use std::path::Path;

use rusqlite::{Connection, ErrorCode};

pub use accounts::{AccountRecord, AccountState};
pub use cache::CacheStore;
pub use hosted::HostedEntry;
pub use migrate::{Migration, MIGRATIONS};
pub use outbox::{NewOutboxItem, OutboxCounts, OutboxItem, OutboxKind, OutboxState, OutboxStore};
pub use recovery::{Check, Recovery};
pub use types::*;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite refused an operation.
    #[error("local database error: {0}")]
    Sqlite(rusqlite::Error),
    /// The disk (or the database's size limit) is full. The write was rolled back whole.
    #[error("the disk is full: free some space. Sync is paused and nothing was lost; it goes on once there is room")]
    DiskFull,
    /// The channel is not in the cache (never listed, or removed since).
    #[error("channel {channel_id} is not in the local cache; refresh the channel list")]
    UnknownChannel {
        /// The channel id.
        channel_id: String,
    },
    /// The team is not in the cache (never listed, or removed since).
    #[error("team {team_id} is not in the local cache; refresh the team list")]
    UnknownTeam {
        /// The team id.
        team_id: String,
    },
    /// No outbox item has this id for the account.
    #[error("outbox item {id} does not exist (sent and cleared, or never queued)")]
    UnknownOutboxItem {
        /// The id.
        id: i64,
    },
    /// An outbox item is not in a state the operation applies to (an engine race or bug: the
    /// store refuses rather than guess).
    #[error("outbox item {id} is {state} and cannot be {action}")]
    OutboxTransition {
        /// The item.
        id: i64,
        /// Its state.
        state: OutboxState,
        /// What was asked ("sent", "completed", "failed", "wedged", "depended on").
        action: &'static str,
    },
    /// A damaged database could not be moved aside.
    #[error("the local database {path} is damaged and could not be moved aside: {source}; move or delete it by hand")]
    MoveAside {
        /// The database file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A background check found damage, but the note that repairs it at the next start could
    /// not be written.
    #[error("the local database {path} is damaged, and Perch could not note it for repair: {source}; quit Perch and move the file aside by hand")]
    MarkDamaged {
        /// The note's path (`{database}.damaged`).
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The database folder could not be created.
    #[error("could not create the database folder {path}: {source}")]
    CreateDir {
        /// The folder.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The database was written by a newer Perch.
    #[error("the local database is at schema version {found}, newer than this Perch knows ({known}); update Perch")]
    TooNew {
        /// The database's version.
        found: i64,
        /// The newest migration this build has.
        known: i64,
    },
    /// A migration failed; nothing of it was applied.
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        /// Its number.
        version: i64,
        /// Its file name.
        name: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A stored row holds a value this build cannot read.
    #[error("the local database holds an invalid value in {column}: {value}")]
    Corrupt {
        /// Which column.
        column: &'static str,
        /// The value.
        value: String,
    },
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => Error::DiskFull,
            _ => Error::Sqlite(e),
        }
    }
}

impl Error {
    /// A stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Sqlite(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
                ) =>
            {
                "store_damaged"
            }
            Error::CreateDir { source, .. }
            | Error::MoveAside { source, .. }
            | Error::MarkDamaged { source, .. }
                if source.kind() == std::io::ErrorKind::StorageFull =>
            {
                "disk_full"
            }
            Error::Migration { source, .. }
                if source.sqlite_error_code() == Some(ErrorCode::DiskFull) =>
            {
                "disk_full"
            }
            Error::Sqlite(_) | Error::CreateDir { .. } => "store_error",
            Error::DiskFull => "disk_full",
            Error::UnknownChannel { .. } => "store_unknown_channel",
            Error::UnknownTeam { .. } => "store_unknown_team",
            Error::UnknownOutboxItem { .. } => "store_unknown_outbox_item",
            Error::OutboxTransition { .. } => "store_outbox_transition",
            Error::MoveAside { .. } => "store_move_aside_failed",
            Error::MarkDamaged { .. } => "store_damaged",
            Error::TooNew { .. } => "store_too_new",
            Error::Migration { .. } => "store_migration_failed",
            Error::Corrupt { .. } => "store_corrupt",
        }
    }
}

/// The open database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    /// The words in `search_words`, loaded on the first ingest.
    words: search::Words,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, and migrates it.
    pub fn open(path: &Path) -> Result<Store, Error> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| Error::CreateDir {
                path: parent.to_owned(),
                source,
            })?;
        }
        let conn = Connection::open(path)?;
        Self::init(conn, true)
    }

    /// An in-memory database (tests, and "this session only" mode).
    pub fn open_in_memory() -> Result<Store, Error> {
        Self::init(Connection::open_in_memory()?, false)
    }

    fn init(conn: Connection, wal: bool) -> Result<Store, Error> {
        if wal {
            // `journal_mode` answers with the mode; read it rather than execute it.
            let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            // Checkpoint every 10,000 pages (40 MB of WAL) rather than SQLite's 1,000: pages the
            // full-text index rewrites page after page are copied back once, not each time
            // (new-row ingest +18 % measured), and the WAL file is cut back to 64 MB after.
            conn.execute_batch(
                "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 10000; \
                 PRAGMA journal_size_limit = 67108864;",
            )?;
        }
        // 32 MiB of page cache: timelines and searches over a large cache stay in memory.
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY;",
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // The cache uses a few dozen statements per ingest; keep them all prepared.
        conn.set_prepared_statement_cache_capacity(128);
        let mut conn = conn;
        migrate::run(&mut conn, MIGRATIONS)?;
        Ok(Store {
            conn,
            words: search::Words::default(),
        })
    }

    /// Caps this connection's page cache at `kib` KiB (SQLite's `cache_size`; 32 MiB by
    /// default). The desktop app keeps its connections smaller: its reads are a timeline's
    /// newest page and small lookups, and every cached page counts against its memory.
    pub fn limit_cache(&self, kib: u32) -> Result<(), Error> {
        self.conn
            .execute_batch(&format!("PRAGMA cache_size = -{kib};"))?;
        Ok(())
    }

    /// The connection, for crates that add their own tables through migrations here.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// `PRAGMA integrity_check`'s lines: `["ok"]` when the database is sound.
    pub fn integrity_check(&self) -> Result<Vec<String>, Error> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let lines = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(lines)
    }

    /// One bounded step of full-text index maintenance: merges up to about `pages` leaf pages
    /// of the index's segments towards a single one (FTS5's incremental `merge` with a negative
    /// budget, which merges across levels like `optimize` but in small steps, so the store lock
    /// is never held for long). Each ingest adds a segment, and a query seeks once per segment:
    /// over 1,000,000 messages a fully merged index halves prefix-search p95. Returns whether
    /// the step did any work (call again until it returns false).
    pub fn maintain_search(&mut self, pages: u32) -> Result<bool, Error> {
        let before = self.conn.total_changes();
        self.conn.execute(
            "INSERT INTO message_search (message_search, rank) VALUES ('merge', ?1)",
            [-i64::from(pages.max(16))],
        )?;
        Ok(self.conn.total_changes() - before >= 2)
    }

    /// The schema version (the newest migration applied).
    pub fn schema_version(&self) -> Result<i64, Error> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }
}
