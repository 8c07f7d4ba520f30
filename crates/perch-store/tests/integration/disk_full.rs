//! A full disk (simulated with `PRAGMA max_page_count`): the page fails whole with DiskFull,
//! the sync state stays, and the same ingest succeeds once there is room.

use perch_store::bench::Generator;
use perch_store::{CacheStore, Error, SyncState};

use crate::support::*;

#[test]
fn ingest_fails_whole_and_recovers() {
    let mut ctx = file();
    let a = ctx.account;
    standard_layout(&mut ctx.store, &a);
    let before = SyncState {
        delta_link: Some("old".into()),
        ..SyncState::default()
    };
    ctx.store
        .ingest(
            &a,
            "c1",
            &[msg("c1", "r0", None, 0, "first")],
            Some(&before),
        )
        .unwrap();

    let pages: i64 = ctx
        .store
        .connection()
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    ctx.store
        .connection()
        .execute_batch(&format!("PRAGMA max_page_count = {}", pages + 20))
        .unwrap();
    let mut g = Generator::new(3, 5_000);
    let big: Vec<_> = (0..3_000).map(|_| g.message("t1", "c1")).collect();
    let after = SyncState {
        next_link: Some("new".into()),
        ..SyncState::default()
    };
    let err = ctx.store.ingest(&a, "c1", &big, Some(&after)).unwrap_err();
    assert!(matches!(err, Error::DiskFull), "{err:?}");
    assert_eq!(err.code(), "disk_full");
    let text = err.to_string();
    assert!(
        text.contains("free some space") && text.contains("nothing was lost"),
        "{text}"
    );

    let s: &mut dyn CacheStore = &mut ctx.store;
    assert_eq!(
        s.message_count(&a, None).unwrap(),
        1,
        "nothing of the page is visible"
    );
    assert_eq!(s.sync_state(&a, "c1").unwrap(), before);
    assert!(
        s.search(
            &a,
            &perch_store::SearchQuery::new(big[0].body_text.split(' ').next().unwrap())
        )
        .unwrap()
        .len()
            <= 1
    );
    // Small writes that fit still work.
    s.set_draft(&a, "c1", None, Some("x")).unwrap();

    ctx.store
        .connection()
        .execute_batch("PRAGMA max_page_count = 1073741823")
        .unwrap();
    let out = ctx.store.ingest(&a, "c1", &big, Some(&after)).unwrap();
    assert_eq!(out.inserted.len(), 3_000);
    assert_eq!(ctx.store.sync_state(&a, "c1").unwrap(), after);
    assert_eq!(ctx.store.integrity_check().unwrap(), ["ok"]);
    fts_consistent(&ctx.store);
}
