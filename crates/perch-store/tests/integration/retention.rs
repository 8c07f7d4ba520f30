//! The managed policy's cache retention on a real SQLite file: old threads go whole, with their
//! search entries; recent threads (also old posts with a recent reply) and other accounts stay.

use perch_store::CacheStore;

use crate::support::*;

#[test]
fn old_threads_are_purged_with_their_search_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perch.sqlite3");
    let mut store = perch_store::Store::open(&path).unwrap();
    let a = add_account(&mut store);
    let b = add_account(&mut store);
    standard_layout(&mut store, &a);
    standard_layout(&mut store, &b);
    let day = 86_400;
    // An old thread (root and reply), an old post with a recent reply, a recent post.
    let page = vec![
        full_msg("c1", "old", 0),
        msg("c1", "old-r", Some("old"), 60, "zebra reply"),
        msg("c1", "revived", None, 10, "walrus post"),
        msg("c1", "revived-r", Some("revived"), 20 * day, "recent reply"),
        msg("c1", "new", None, 20 * day, "zebra news"),
    ];
    store.ingest(&a, "c1", &page, None).unwrap();
    store
        .ingest(
            &b,
            "c1",
            &[msg("c1", "other", None, 0, "zebra elsewhere")],
            None,
        )
        .unwrap();
    fts_consistent(&store);

    let removed = store.purge_older_than(&a, t(10 * day)).unwrap();
    assert_eq!(removed, 2, "the old thread, root and reply");
    fts_consistent(&store);
    drop(store);

    // Reopened from the file: the purge was committed.
    let store = perch_store::Store::open(&path).unwrap();
    let gone = |id: &str, root: &str| store.message(&a, &key("c1", root, id)).unwrap().is_none();
    assert!(gone("old", "old") && gone("old-r", "old"));
    assert!(!gone("revived", "revived") && !gone("revived-r", "revived"));
    assert!(!gone("new", "new"));
    assert!(store
        .message(&b, &key("c1", "other", "other"))
        .unwrap()
        .is_some());
    fts_consistent(&store);
}
