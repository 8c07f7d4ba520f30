//! `Store::open_checked` on garbage, truncated and page-damaged files.

use std::path::{Path, PathBuf};

use perch_store::bench::Generator;
use perch_store::{CacheStore, Store};

use crate::support::*;

/// A populated database: accounts, follows, drafts, outbox rows and `messages` messages; WAL
/// checkpointed into the main file, connection closed.
fn populated(path: &Path, messages: usize) {
    let mut store = Store::open(path).unwrap();
    let a = add_account(&mut store);
    let b = add_account(&mut store);
    for acc in [&a, &b] {
        standard_layout(&mut store, acc);
        store.set_followed(acc, "c1", true).unwrap();
        store
            .set_draft(acc, "c2", None, Some("half-written post"))
            .unwrap();
        store
            .set_draft(acc, "c2", Some("r1"), Some("half-written reply"))
            .unwrap();
    }
    store.set_followed(&a, "c3", true).unwrap();
    store
        .set_setting("theme", &serde_json::json!("dark"))
        .unwrap();
    for i in 0..3 {
        store
            .connection()
            .execute(
                "INSERT INTO outbox (tenant_id, user_id, team_id, channel_id, kind, payload, state,
                                     enqueued_at, updated_at)
                 VALUES (?1, ?2, 't1', 'c1', 'post', '{\"html\":\"hi\"}', 'queued', ?3, ?3)",
                rusqlite::params![a.tenant_id.to_string(), a.user_id.to_string(), i],
            )
            .unwrap();
    }
    let mut g = Generator::new(7, 2_000);
    let rows: Vec<_> = (0..messages).map(|_| g.message("t1", "c1")).collect();
    for page in rows.chunks(500) {
        store.ingest(&a, "c1", page, None).unwrap();
    }
    store
        .connection()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
}

fn moved_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .contains(".corrupt-")
        })
        .collect();
    v.sort();
    v
}

/// Checks the recovery result and that the new database works.
fn check_recovered(path: &Path, original: &[u8]) -> perch_store::Recovery {
    let (mut store, rec) = Store::open_checked(path).unwrap();
    let rec = rec.expect("the damage is noticed");
    let name = rec
        .moved_to
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let stamp = name
        .strip_prefix("perch.sqlite3.corrupt-")
        .expect("named after the original");
    assert_eq!(stamp.len(), "20240301T090000Z".len(), "{name}");
    assert!(
        stamp.ends_with('Z') && stamp.as_bytes()[8] == b'T',
        "{name}"
    );
    assert_eq!(rec.moved_to.parent(), path.parent());
    assert_eq!(
        std::fs::read(&rec.moved_to).unwrap(),
        original,
        "the damaged bytes are kept"
    );
    assert!(!rec.reason.is_empty());
    assert_eq!(store.integrity_check().unwrap(), ["ok"]);
    // The fresh database works.
    let a = add_account(&mut store);
    standard_layout(&mut store, &a);
    store
        .ingest(
            &a,
            "c1",
            &[msg("c1", "r1", None, 1, "after recovery")],
            None,
        )
        .unwrap();
    assert_eq!(store.message_count(&a, None).unwrap(), 1);
    drop(store);
    // And it opens cleanly next time.
    let (_store, again) = Store::open_checked(path).unwrap();
    assert!(again.is_none());
    rec
}

#[test]
fn a_sound_database_opens_without_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perch.sqlite3");
    let (_s, rec) = Store::open_checked(&path).unwrap();
    assert!(rec.is_none(), "a missing file is created");
    drop(_s);
    populated(&path, 200);
    let (s, rec) = Store::open_checked(&path).unwrap();
    assert!(rec.is_none());
    assert_eq!(s.integrity_check().unwrap(), ["ok"]);
    assert_eq!(s.accounts().unwrap().len(), 2);
    assert!(moved_files(dir.path()).is_empty());
}

#[test]
fn garbage_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perch.sqlite3");
    let garbage: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &garbage).unwrap();
    let rec = check_recovered(&path, &garbage);
    assert_eq!(rec.salvaged_accounts, 0);
    assert!(rec.reason.contains("not a database"), "{}", rec.reason);
    assert_eq!(moved_files(dir.path()).len(), 1);
}

#[test]
fn truncated_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perch.sqlite3");
    populated(&path, 1_500);
    let full = std::fs::read(&path).unwrap();
    let cut = &full[..full.len() * 2 / 3 + 1234];
    std::fs::write(&path, cut).unwrap();
    let rec = check_recovered(&path, cut);
    // The small tables live in the first pages, which are intact.
    assert_eq!(rec.salvaged_accounts, 2, "{rec:?}");
    assert_eq!(rec.salvaged_follows, 3);
    assert_eq!(rec.salvaged_drafts, 4);
    assert_eq!(rec.salvaged_outbox, 3);
}

#[test]
fn damaged_pages_in_the_middle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perch.sqlite3");
    populated(&path, 1_500);
    let mut bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..16], b"SQLite format 3\0");
    let page = 4096;
    let pages = bytes.len() / page;
    for p in [pages / 2, pages / 2 + 3, pages * 3 / 4] {
        for (i, b) in bytes[p * page..(p + 1) * page].iter_mut().enumerate() {
            *b = (i * 31 + p) as u8;
        }
    }
    std::fs::write(&path, &bytes).unwrap();
    let rec = check_recovered(&path, &bytes);
    assert!(
        rec.reason.starts_with("quick_check") || rec.reason.contains("malformed"),
        "{}",
        rec.reason
    );
    assert_eq!(rec.salvaged_accounts, 2, "{rec:?}");
    assert_eq!(rec.salvaged_follows, 3);
    assert_eq!(rec.salvaged_drafts, 4);
    assert_eq!(rec.salvaged_outbox, 3);
    let (store, _) = Store::open_checked(&path).unwrap();
    // The two salvaged accounts, and the one check_recovered added.
    assert_eq!(store.accounts().unwrap().len(), 3);
    let a = store.accounts().unwrap()[0].id;
    let s: &dyn CacheStore = &store;
    assert_eq!(
        s.draft(&a, "c2", Some("r1")).unwrap().as_deref(),
        Some("half-written reply")
    );
    assert_eq!(s.setting("theme").unwrap(), Some(serde_json::json!("dark")));
    assert_eq!(
        s.message_count(&a, None).unwrap(),
        0,
        "the cache itself is fetched again"
    );
}
