//! Opening a database that may be damaged ([`Store::open_checked`]): a file that is not a
//! database, is truncated, or has damaged pages is moved aside (never deleted: the bytes stay
//! for a bug report or a manual rescue), a fresh database takes its place, and what cannot be
//! fetched again from Graph is copied over when it can still be read: accounts, follows,
//! drafts, outbox rows, plus read markers and settings. Cached teams, channels and messages are
//! not salvaged; sync fetches them again.

use std::path::{Path, PathBuf};

use rusqlite::config::DbConfig;
use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::{Error, Store};

/// What [`Store::open_checked`] did with a damaged database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Where the damaged file went (`{name}.corrupt-{UTC timestamp}`, with its `-wal`/`-shm`
    /// beside it as `{moved}-wal`, `{moved}-shm`).
    pub moved_to: PathBuf,
    /// Why it was judged damaged (SQLite's error or quick_check's first lines).
    pub reason: String,
    /// Accounts copied to the new database.
    pub salvaged_accounts: usize,
    /// Outbox rows copied.
    pub salvaged_outbox: usize,
    /// Followed channels copied.
    pub salvaged_follows: usize,
    /// Drafts copied.
    pub salvaged_drafts: usize,
}

/// Tables copied on recovery, parents first, with the columns copied.
const SALVAGE: &[(&str, &str)] = &[
    (
        "accounts",
        "tenant_id, user_id, display_name, upn, client_id, cloud, login_host, graph_host, state, \
         state_reason, added_at, updated_at",
    ),
    ("follows", "tenant_id, user_id, channel_id, followed_at"),
    (
        "drafts",
        "tenant_id, user_id, channel_id, thread_root, body, updated_at",
    ),
    (
        "outbox",
        "id, tenant_id, user_id, team_id, channel_id, thread_root, target_id, depends_on, kind, \
         payload, state, attempts, enqueued_at, attempt_started_at, next_attempt_at, \
         last_error_code, last_error_message, server_id, updated_at",
    ),
    (
        "read_markers",
        "tenant_id, user_id, channel_id, read_up_to, updated_at",
    ),
    ("settings", "key, value, updated_at"),
];

fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
    )
}

/// Opens the file without changing it: no migrations, no checkpoint on close.
fn open_raw(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    conn.execute_batch("PRAGMA query_only = ON;")?;
    Ok(conn)
}

/// None when the database is sound, else why not.
/// The setting that records when `quick_check` last passed (unix seconds).
const CHECKED_KEY: &str = "store.quick_check_at";
/// Files up to this size are checked at every open: it takes milliseconds. (A 137 MB cache
/// with 100,000 posts took 450 ms on the project's machine, which a start cannot afford.)
const ALWAYS_CHECK_BYTES: u64 = 8 * 1024 * 1024;
/// Bigger files are checked in the background ([`Store::check_in_background`]) at most this
/// often, and at open only when such a check found damage; damage met in between surfaces as
/// `store_damaged` errors from the queries that read it.
const CHECK_EVERY_SECS: i64 = 24 * 60 * 60;

/// Whether `quick_check` should run at this open: a small file, or damage found by a
/// background check.
fn check_due_at_open(path: &Path) -> bool {
    damage_marker(path).exists()
        || std::fs::metadata(path).map_or(true, |m| m.len() <= ALWAYS_CHECK_BYTES)
}

/// `{name}.damaged` beside the database: written by a background check that found damage (with
/// the reason), so that the next open repairs it.
fn damage_marker(path: &Path) -> PathBuf {
    sidecar(path, ".damaged")
}

/// Opens the database and records that `quick_check` passed just now.
fn open_recording_a_pass(path: &Path) -> Result<Store, Error> {
    let mut store = Store::open(path)?;
    let now = serde_json::Value::from(chrono::Utc::now().timestamp());
    crate::CacheStore::set_setting(&mut store, CHECKED_KEY, &now)?;
    Ok(store)
}

/// Whether the last passed check is older than [`CHECK_EVERY_SECS`] (or unknown).
fn check_due(conn: &Connection) -> bool {
    let last: Option<i64> = conn
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [CHECKED_KEY],
            |r| r.get::<_, String>(0),
        )
        .ok()
        .and_then(|v| v.parse().ok());
    last.is_none_or(|at| chrono::Utc::now().timestamp() - at >= CHECK_EVERY_SECS)
}

fn damage(conn: &Connection) -> Result<Option<String>, Error> {
    let lines: rusqlite::Result<Vec<String>> = conn
        .prepare("PRAGMA quick_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect());
    match lines {
        Ok(lines) if lines.len() == 1 && lines[0] == "ok" => Ok(None),
        Ok(lines) => Ok(Some(format!(
            "quick_check: {}",
            lines.iter().take(5).cloned().collect::<Vec<_>>().join("; ")
        ))),
        Err(e) if is_damage(&e) => Ok(Some(e.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// Rows of `table` that can still be read (stops at the first unreadable one).
fn read_rows(conn: &Connection, table: &str, cols: &str) -> Vec<Vec<Value>> {
    let n = cols.split(',').count();
    let mut out = Vec::new();
    let Ok(mut stmt) = conn.prepare(&format!("SELECT {cols} FROM {table}")) else {
        return out;
    };
    let Ok(mut rows) = stmt.query([]) else {
        return out;
    };
    while let Ok(Some(row)) = rows.next() {
        let vals: rusqlite::Result<Vec<Value>> = (0..n).map(|i| row.get(i)).collect();
        match vals {
            Ok(v) => out.push(v),
            Err(_) => break,
        }
    }
    out
}

/// `{name}.corrupt-{timestamp}` beside `path`, not yet taken.
fn aside_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "perch.sqlite3".into());
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut candidate = path.with_file_name(format!("{name}.corrupt-{stamp}"));
    let mut n = 2;
    while candidate.exists() {
        candidate = path.with_file_name(format!("{name}.corrupt-{stamp}-{n}"));
        n += 1;
    }
    candidate
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

impl Store {
    /// Opens like [`Store::open`], but first checks the file (`PRAGMA quick_check`, and "file is
    /// not a database"); a corrupt file (plus its -wal/-shm) is renamed
    /// `{name}.corrupt-{UTC timestamp}` beside it, a fresh database is created, and what can
    /// still be read from the old one (accounts, followed channels, drafts, outbox rows; also
    /// read markers and settings) is copied over. Returns what happened.
    ///
    /// quick_check reads every page: about a second per few hundred MB on a warm disk. So at
    /// open it runs only for files up to 8 MB, or when [`Store::check_in_background`] found
    /// damage since; bigger files are checked in the background, at most once a day (the time
    /// it last passed is kept in `settings`). A page damaged in between is met by the query
    /// that reads it, as a `store_damaged` error.
    pub fn open_checked(path: &Path) -> Result<(Store, Option<Recovery>), Error> {
        if !path.exists() {
            return Ok((Store::open(path)?, None));
        }
        let (reason, salvage) = match open_raw(path) {
            Err(e) if is_damage(&e) => (e.to_string(), Vec::new()),
            Err(e) => return Err(e.into()),
            Ok(conn) if !check_due_at_open(path) => {
                drop(conn);
                return Ok((Store::open(path)?, None));
            }
            Ok(conn) => match damage(&conn)? {
                None => {
                    drop(conn);
                    let _ = std::fs::remove_file(damage_marker(path));
                    return Ok((open_recording_a_pass(path)?, None));
                }
                Some(reason) => {
                    // SQLite refuses a file shorter than its header says unless the schema is
                    // "writable"; nothing is written (the connection is query-only).
                    let _ = conn.execute_batch("PRAGMA writable_schema = ON;");
                    let rows = SALVAGE
                        .iter()
                        .map(|(table, cols)| (*table, *cols, read_rows(&conn, table, cols)))
                        .collect::<Vec<_>>();
                    (reason, rows)
                }
            },
        };
        tracing::warn!(path = %path.display(), %reason, "local database is damaged; starting a fresh one");
        let moved_to = aside_name(path);
        let move_err = |source| Error::MoveAside {
            path: path.to_owned(),
            source,
        };
        std::fs::rename(path, &moved_to).map_err(move_err)?;
        let _ = std::fs::remove_file(damage_marker(path));
        for suffix in ["-wal", "-shm", "-journal"] {
            let from = sidecar(path, suffix);
            if from.exists() {
                std::fs::rename(&from, sidecar(&moved_to, suffix)).map_err(move_err)?;
            }
        }
        let mut store = Store::open(path)?;
        let mut counts = std::collections::HashMap::new();
        let tx = store.conn.transaction()?;
        for (table, cols, rows) in salvage {
            let marks = vec!["?"; cols.split(',').count()].join(", ");
            let mut stmt = tx.prepare(&format!(
                "INSERT OR IGNORE INTO {table} ({cols}) VALUES ({marks})"
            ))?;
            let mut copied = 0;
            for row in rows {
                // A row whose parent was not readable fails its foreign key: skip it.
                match stmt.execute(rusqlite::params_from_iter(row)) {
                    Ok(n) => copied += n,
                    Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            counts.insert(table, copied);
        }
        tx.commit()?;
        let count = |t: &str| counts.get(t).copied().unwrap_or(0);
        let recovery = Recovery {
            moved_to,
            reason,
            salvaged_accounts: count("accounts"),
            salvaged_outbox: count("outbox"),
            salvaged_follows: count("follows"),
            salvaged_drafts: count("drafts"),
        };
        tracing::warn!(?recovery, "recovered the local database");
        Ok((store, Some(recovery)))
    }
}

/// What [`Store::check_in_background`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Checked less than a day ago (or the file is small and checked at every open).
    NotDue,
    /// `quick_check` passed; the time is recorded.
    Sound,
    /// Damage was found; the next [`Store::open_checked`] repairs it (a marker beside the file
    /// says so). The reason is SQLite's.
    Damaged(String),
}

impl Store {
    /// The full check of a big database, kept off the start: runs `quick_check` on its own
    /// read-only connection when the last passed check is more than a day old, while the app
    /// goes on using the file. Damage is recorded beside the file (`{name}.damaged`), so the
    /// next [`Store::open_checked`] checks again and repairs it; the caller tells the person to
    /// restart. Small files are checked at every open and are not checked here.
    pub fn check_in_background(path: &Path) -> Result<Check, Error> {
        if std::fs::metadata(path).map_or(true, |m| m.len() <= ALWAYS_CHECK_BYTES) {
            return Ok(Check::NotDue);
        }
        let reason = match open_raw(path) {
            Err(e) if is_damage(&e) => Some(e.to_string()),
            Err(e) => return Err(e.into()),
            Ok(conn) if !check_due(&conn) => return Ok(Check::NotDue),
            Ok(conn) => damage(&conn)?,
        };
        match reason {
            None => {
                open_recording_a_pass(path)?;
                Ok(Check::Sound)
            }
            Some(reason) => {
                tracing::warn!(path = %path.display(), %reason, "the local database is damaged; it is repaired at the next start");
                std::fs::write(damage_marker(path), &reason).map_err(|source| {
                    Error::MarkDamaged {
                        path: damage_marker(path),
                        source,
                    }
                })?;
                Ok(Check::Damaged(reason))
            }
        }
    }
}
