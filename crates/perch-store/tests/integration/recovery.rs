//! `Store::open_checked` on garbage, truncated and page-damaged files.

use std::path::{Path, PathBuf};

use perch_core::AccountId;
use perch_store::bench::Generator;
use perch_store::{CacheStore, Check, NewOutboxItem, OutboxItem, OutboxKind, OutboxStore, Store};

use crate::support::*;

/// A populated database: accounts, follows, drafts, outbox rows and `messages` messages; WAL
/// checkpointed into the main file, connection closed. Returns the first account and its
/// outbox.
fn populated(path: &Path, messages: usize) -> (AccountId, Vec<OutboxItem>) {
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
    // Three writes made through the outbox API: a post whose attempt began (in doubt), a reply
    // waiting for it (a placeholder), and a wedged post in another channel.
    let outbox = {
        let s: &mut dyn OutboxStore = &mut store;
        let new = |kind, ch: &str, depends_on| NewOutboxItem {
            team_id: "t1".into(),
            channel_id: ch.into(),
            thread_root: None,
            target_id: None,
            depends_on,
            kind,
            payload: serde_json::json!({ "html": "<p>hi</p>" }),
        };
        let p = s
            .enqueue(&a, &new(OutboxKind::Post, "c1", None))
            .unwrap()
            .id;
        s.enqueue(&a, &new(OutboxKind::Reply, "c1", Some(p)))
            .unwrap();
        s.begin_attempt(&a, p, chrono::Utc::now()).unwrap();
        let w = s
            .enqueue(&a, &new(OutboxKind::Post, "c2", None))
            .unwrap()
            .id;
        s.wedge(&a, w, "graph_forbidden", "403").unwrap();
        s.outbox(&a, None, true).unwrap()
    };
    let mut g = Generator::new(7, 2_000);
    let rows: Vec<_> = (0..messages).map(|_| g.message("t1", "c1")).collect();
    for page in rows.chunks(500) {
        store.ingest(&a, "c1", page, None).unwrap();
    }
    store
        .connection()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    (a, outbox)
}

/// The salvaged outbox is the one written, and still works: the in-doubt post is in doubt, and
/// completing it fills its reply's placeholder.
fn check_outbox(path: &Path, a: &AccountId, before: &[OutboxItem]) {
    let (mut store, _) = Store::open_checked(path).unwrap();
    let s: &mut dyn OutboxStore = &mut store;
    assert_eq!(s.outbox(a, None, true).unwrap(), before);
    let (p, r) = (before[0].id, before[1].id);
    assert_eq!(ids(&s.in_doubt(a).unwrap()), [p]);
    assert_eq!(s.outbox_counts(a).unwrap().wedged, 1);
    s.complete(a, p, Some("srv-p")).unwrap();
    let reply = s.outbox_item(a, r).unwrap().unwrap();
    assert_eq!(reply.thread_root.as_deref(), Some("srv-p"));
    assert_eq!(ids(&s.next_sendable(a, chrono::Utc::now()).unwrap()), [r]);
}

fn ids(items: &[OutboxItem]) -> Vec<i64> {
    items.iter().map(|i| i.id).collect()
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
    let (a, outbox) = populated(&path, 1_500);
    let full = std::fs::read(&path).unwrap();
    let cut = &full[..full.len() * 2 / 3 + 1234];
    std::fs::write(&path, cut).unwrap();
    let rec = check_recovered(&path, cut);
    // The small tables live in the first pages, which are intact.
    assert_eq!(rec.salvaged_accounts, 2, "{rec:?}");
    assert_eq!(rec.salvaged_follows, 3);
    assert_eq!(rec.salvaged_drafts, 4);
    assert_eq!(rec.salvaged_outbox, 3);
    check_outbox(&path, &a, &outbox);
}

#[test]
fn damaged_pages_in_the_middle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perch.sqlite3");
    let (first, outbox) = populated(&path, 1_500);
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
    drop(store);
    check_outbox(&path, &first, &outbox);
}

/// A database too big to check at every open is checked in the background instead; damage
/// found there is repaired at the next open, a sound file is not checked again for a day.
#[test]
fn big_databases_are_checked_in_the_background_and_repaired_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perch.sqlite3");
    let (first, outbox) = populated(&path, 8_000);
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(
        size > 8 * 1024 * 1024,
        "big enough to be checked in the background: {size}"
    );

    // Sound: checked once, then not again within the day.
    assert_eq!(Store::check_in_background(&path).unwrap(), Check::Sound);
    assert_eq!(Store::check_in_background(&path).unwrap(), Check::NotDue);

    // Damage in the middle: the open does not look (a start must not read every page) ...
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    let pages = bytes.len() / page;
    for p in [pages / 2, pages / 2 + 5] {
        for (i, b) in bytes[p * page..(p + 1) * page].iter_mut().enumerate() {
            *b = (i * 17 + p) as u8;
        }
    }
    std::fs::write(&path, &bytes).unwrap();
    let (store, rec) = Store::open_checked(&path).unwrap();
    assert!(rec.is_none(), "not checked at open");
    // ... the background check (due again: its last pass is forgotten) finds it ...
    store
        .connection()
        .execute(
            "DELETE FROM settings WHERE key = 'store.quick_check_at'",
            [],
        )
        .unwrap();
    drop(store);
    let found = Store::check_in_background(&path).unwrap();
    assert!(
        matches!(&found, Check::Damaged(reason) if !reason.is_empty()),
        "{found:?}"
    );
    assert!(dir.path().join("perch.sqlite3.damaged").exists());
    // ... and the next open repairs it, keeping what cannot be fetched again.
    let (store, rec) = Store::open_checked(&path).unwrap();
    let rec = rec.expect("repaired at the next open");
    assert_eq!(rec.salvaged_accounts, 2, "{rec:?}");
    assert_eq!(rec.salvaged_outbox, 3);
    assert!(!dir.path().join("perch.sqlite3.damaged").exists());
    assert_eq!(store.integrity_check().unwrap(), ["ok"]);
    drop(store);
    check_outbox(&path, &first, &outbox);
}
