//! kill -9 while ingesting: after every kill the database opens without recovery, passes
//! integrity_check, and holds whole pages only, with a sync state that matches them.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use perch_core::AccountId;
use perch_store::bench::Rng;
use perch_store::{CacheStore, Store};
use uuid::Uuid;

const CHANNEL: &str = "19:crash@thread.tacv2";

#[test]
fn killed_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perch.sqlite3");
    let account = AccountId::new(Uuid::from_u128(0x1111), Uuid::from_u128(0x2222));
    let mut rng = Rng::new(u64::from(std::process::id()));
    let started = Instant::now();
    let mut last_pages = 0;
    for round in 0..12 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_perch-store-crashtest"))
            .arg(&path)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150 + rng.below(450)));
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the crash-test child exited by itself: {status}");
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let (store, recovery) = Store::open_checked(&path).unwrap();
        assert!(recovery.is_none(), "round {round}: {recovery:?}");
        assert_eq!(store.integrity_check().unwrap(), ["ok"], "round {round}");
        let conn = store.connection();
        let mut stmt = conn
            .prepare("SELECT substr(id, 2, instr(id, '-') - 2) AS page, count(*) FROM messages GROUP BY page")
            .unwrap();
        let pages: Vec<(i64, i64)> = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?.parse().unwrap(), r.get(1)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut numbers: Vec<i64> = pages.iter().map(|p| p.0).collect();
        numbers.sort();
        assert!(
            pages.iter().all(|p| p.1 == 50),
            "round {round}: a page is whole or absent"
        );
        assert_eq!(
            numbers,
            (0..pages.len() as i64).collect::<Vec<_>>(),
            "pages are contiguous"
        );
        assert!(pages.len() >= last_pages, "nothing committed is lost");
        last_pages = pages.len();
        let state = store.sync_state(&account, CHANNEL).unwrap();
        let max_lm: Option<i64> = conn
            .query_row("SELECT max(last_modified_at) FROM messages", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(
            state.watermark.map(|w| w.timestamp_micros()),
            max_lm,
            "round {round}"
        );
        if let Some(n) = numbers.last() {
            assert_eq!(state.next_link, Some(format!("page-{n}")));
        }
        drop(stmt);
        drop(store);
    }
    assert!(last_pages > 0, "the child got some pages in");
    assert!(started.elapsed() < Duration::from_secs(30));
}
