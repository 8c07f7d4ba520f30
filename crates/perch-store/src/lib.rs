//! `perch-store`: Perch's local SQLite database. It owns the connection settings (WAL, foreign
//! keys, busy timeout), the migration runner ([`migrate`]) and, for now, the accounts table
//! ([`accounts`]): the non-secret metadata of each signed-in account. Later issues add their
//! tables as new numbered migrations.
//!
//! Invariants: the store does no network I/O, and no token is ever written to it (access tokens
//! live in memory, refresh tokens in the OS keyring).

pub mod accounts;
pub mod migrate;

use std::path::Path;

use rusqlite::Connection;

pub use accounts::{AccountRecord, AccountState};
pub use migrate::{Migration, MIGRATIONS};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite refused an operation.
    #[error("local database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
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

impl Error {
    /// A stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Sqlite(_) | Error::CreateDir { .. } => "store_error",
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
            conn.execute_batch("PRAGMA synchronous = NORMAL;")?;
        }
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut conn = conn;
        migrate::run(&mut conn, MIGRATIONS)?;
        Ok(Store { conn })
    }

    /// The connection, for crates that add their own tables through migrations here.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The schema version (the newest migration applied).
    pub fn schema_version(&self) -> Result<i64, Error> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }
}
