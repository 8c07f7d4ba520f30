//! The migration runner. Migrations are numbered `.sql` files in `crates/perch-store/migrations/`
//! (`0001_accounts.sql`, `0002_…`), compiled into the binary and listed in [`MIGRATIONS`] in
//! order. Each one not yet applied runs in its own transaction together with its bookkeeping
//! row in `schema_migrations` and the new `PRAGMA user_version`, so a failed migration leaves
//! the database as it was. A shipped migration is never edited: changes are new files.
//!
//! To add one: create `migrations/000N_name.sql` and append it to [`MIGRATIONS`].

use rusqlite::Connection;

use crate::Error;

/// One migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its number: 1, 2, … without gaps.
    pub version: i64,
    /// Its file name, recorded when applied.
    pub name: &'static str,
    /// The SQL.
    pub sql: &'static str,
}

/// Every migration this build knows, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_accounts.sql",
        sql: include_str!("../migrations/0001_accounts.sql"),
    },
    Migration {
        version: 2,
        name: "0002_cache.sql",
        sql: include_str!("../migrations/0002_cache.sql"),
    },
    Migration {
        version: 3,
        name: "0003_outbox.sql",
        sql: include_str!("../migrations/0003_outbox.sql"),
    },
    Migration {
        version: 4,
        name: "0004_compose.sql",
        sql: include_str!("../migrations/0004_compose.sql"),
    },
];

/// Applies the migrations in `migrations` that the database has not seen yet.
pub fn run(conn: &mut Connection, migrations: &[Migration]) -> Result<(), Error> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             name       TEXT NOT NULL,
             applied_at TEXT NOT NULL
         );",
    )?;
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = migrations.last().map_or(0, |m| m.version);
    if current > known {
        return Err(Error::TooNew {
            found: current,
            known,
        });
    }
    for (index, migration) in migrations.iter().enumerate() {
        debug_assert_eq!(
            migration.version,
            index as i64 + 1,
            "migrations must be numbered 1, 2, …"
        );
        if migration.version <= current {
            continue;
        }
        let wrap = |source| Error::Migration {
            version: migration.version,
            name: migration.name,
            source,
        };
        let tx = conn.transaction().map_err(wrap)?;
        tx.execute_batch(migration.sql).map_err(wrap)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![
                migration.version,
                migration.name,
                chrono::Utc::now().to_rfc3339()
            ],
        )
        .map_err(wrap)?;
        // PRAGMA does not take parameters; the version is an integer we control.
        tx.execute_batch(&format!("PRAGMA user_version = {}", migration.version))
            .map_err(wrap)?;
        tx.commit().map_err(wrap)?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_once_and_in_order() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn, MIGRATIONS).unwrap();
        run(&mut conn, MIGRATIONS).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, MIGRATIONS.len() as i64);
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
    }

    #[test]
    fn a_failing_migration_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn, MIGRATIONS).unwrap();
        let mut more = MIGRATIONS.to_vec();
        more.push(Migration {
            version: MIGRATIONS.len() as i64 + 1,
            name: "bad.sql",
            sql: "CREATE TABLE half (x INTEGER); THIS IS NOT SQL;",
        });
        let err = run(&mut conn, &more).unwrap_err();
        assert_eq!(err.code(), "store_migration_failed");
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'half'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0);
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
        assert!(matches!(
            run(&mut conn, MIGRATIONS),
            Err(Error::TooNew { found: 99, .. })
        ));
    }

    #[test]
    fn fts5_is_compiled_in() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE VIRTUAL TABLE t USING fts5(body);")
            .unwrap();
    }
}
