//! kill -9 during sync, repeated: `perch-engine-crashtest` syncs an emulator's tenant into a
//! database with small pages (many commits) and slow answers, and is killed with SIGKILL at
//! random moments. After each kill the database passes `PRAGMA integrity_check` and every
//! channel's sync state is consistent with its rows; at the end an engine in this process
//! finishes the sync from wherever the last kill left it and converges to exactly the
//! emulator's state.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{assert_converged, World};
use perch_emulator::{Emulator, EmulatorConfig, Profile, TenantSize};
use perch_engine::EngineConfig;
use perch_store::{CacheStore, Store};
use rand::Rng;

const CRASHTEST: &str = env!("CARGO_BIN_EXE_perch-engine-crashtest");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_points_always_converges() {
    let config = EmulatorConfig {
        profile: Profile::Custom(TenantSize {
            users: 5,
            teams: 2,
            channels_per_team: 2,
            posts_per_channel: 60,
            replies_per_post: 2,
            history_days: 40,
        }),
        seed: 21,
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("perch.db");
    // The account row, written the way the app would before the first sync.
    let w = World::with(
        emulator,
        dir,
        db.clone(),
        EngineConfig {
            first_sync: chrono::Duration::days(400),
            ..EngineConfig::default()
        },
        |_| {},
    );
    let token = w.tokens.token_for_tests();
    // Slow answers so that kills land mid-round.
    w.admin(
        reqwest::Method::PUT,
        "/faults",
        Some(serde_json::json!({
            "rules": [], "latency": [{"ms": 15, "jitterMs": 40}],
        })),
    )
    .await;
    let mut rng = rand::thread_rng();
    let mut mid_round = 0;
    for attempt in 0..10 {
        let mut child = Command::new(CRASHTEST)
            .env("PERCH_CRASHTEST_BASE", w.base())
            .env("PERCH_CRASHTEST_DB", &db)
            .env("PERCH_CRASHTEST_TENANT", w.account.tenant_id.to_string())
            .env("PERCH_CRASHTEST_USER", w.account.user_id.to_string())
            .env("PERCH_CRASHTEST_TOKEN", &token)
            .env("PERCH_CRASHTEST_PAGE", "5")
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(w.dir.path().join("child.log"))
                    .unwrap(),
            )
            .spawn()
            .expect("crashtest starts");
        tokio::time::sleep(Duration::from_millis(rng.gen_range(400..1600))).await;
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        mid_round += check_after_kill(&db, &w, attempt);
        // A colleague writes between runs, so that later rounds have changes to pick up.
        if let Some(channel) = channel_ids(&db, &w).into_iter().nth(attempt % 4) {
            let (team, _) = common::names(&w, &channel).await;
            w.admin(reqwest::Method::POST, "/act", Some(serde_json::json!({
                "as": common::other_user(&w, &channel), "kind": "post", "team": team, "channel": channel,
                "body": format!("between kills {attempt}"),
            })))
            .await;
        }
    }
    assert!(
        mid_round > 0,
        "no kill landed mid-round; the test proves nothing"
    );
    // Latency off; one engine finishes from the saved state and converges.
    w.admin(
        reqwest::Method::PUT,
        "/faults",
        Some(serde_json::json!({"rules": [], "latency": []})),
    )
    .await;
    let channels = channel_ids(&db, &w);
    assert!(
        !channels.is_empty(),
        "the children got at least the structure in"
    );
    let reports = w.engine.sync_followed(|_| {}).await.unwrap();
    assert!(reports.iter().all(|(_, r)| r.is_ok()), "{reports:?}");
    // A round resumed from a saved nextLink ends at the deltaLink of the range it started
    // with; the posts made after it started come in the next round.
    let reports = w.engine.sync_followed(|_| {}).await.unwrap();
    assert!(reports.iter().all(|(_, r)| r.is_ok()), "{reports:?}");
    assert_converged(
        &db,
        &w.emulator,
        &w.account,
        &channels,
        chrono::Utc::now() - chrono::Duration::days(400),
    );
    assert_eq!(w.violations().await, 0);
}

fn channel_ids(db: &std::path::Path, w: &World) -> Vec<String> {
    let store = Store::open(db).unwrap();
    store
        .channels(&w.account)
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect()
}

/// Sound after a kill, and the sync state never runs ahead of the rows. Returns how many
/// channels were caught mid-round.
fn check_after_kill(db: &std::path::Path, w: &World, attempt: usize) -> usize {
    let store = Store::open(db).unwrap();
    assert_eq!(
        store.integrity_check().unwrap(),
        vec!["ok".to_owned()],
        "after kill {attempt}"
    );
    let mut mid_round = 0;
    for channel in store.channels(&w.account).unwrap() {
        let state = store.sync_state(&w.account, &channel.id).unwrap();
        if state.next_link.is_some() {
            mid_round += 1;
        }
        // The watermark moves only with a completed round (which also stamps
        // last_synced_at): a watermark taken mid-round could skip changes on a restart.
        if state.watermark.is_some() {
            assert!(
                state.last_synced_at.is_some(),
                "a watermark before any round completed: {state:?}"
            );
            let rows = store.message_count(&w.account, Some(&channel.id)).unwrap();
            assert!(rows > 0, "a watermark without rows in {}", channel.id);
        }
    }
    mid_round
}
