//! kill -9 during sync and during a send.
//!
//! During sync, repeated: `perch-engine-crashtest` syncs an emulator's tenant into a
//! database with small pages (many commits) and slow answers, and is killed with SIGKILL at
//! random moments. After each kill the database passes `PRAGMA integrity_check` and every
//! channel's sync state is consistent with its rows; at the end an engine in this process
//! finishes the sync from wherever the last kill left it and converges to exactly the
//! emulator's state.
//!
//! During a send: the tool queues a post and sends it, and is killed before the request is
//! handled, after the server committed it but before the answer was recorded, and after the
//! answer was recorded. In every case an engine started afterwards over the same database ends
//! with exactly one copy on the server and the item Sent with that copy's id.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{assert_converged, World};
use perch_emulator::{Emulator, EmulatorConfig, Profile, TenantSize};
use perch_engine::EngineConfig;
use perch_store::{CacheStore, OutboxState, OutboxStore, Store};
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

/// Where the child is killed.
#[derive(Debug, Clone, Copy)]
enum KillPoint {
    /// The request is held by a paused server: nothing was handled.
    BeforeHandled,
    /// The server committed the post; its answer never comes.
    AfterAccepted,
    /// The answer was recorded.
    AfterRecorded,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_around_a_send_never_loses_or_doubles_a_post() {
    let config = EmulatorConfig {
        profile: Profile::Custom(TenantSize {
            users: 4,
            teams: 1,
            channels_per_team: 1,
            posts_per_channel: 5,
            replies_per_post: 1,
            history_days: 5,
        }),
        seed: 3,
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("perch.db");
    let w = World::with(
        emulator,
        dir,
        db.clone(),
        EngineConfig {
            reconcile_settle: Duration::from_millis(0),
            ..EngineConfig::default()
        },
        |_| {},
    );
    let channel = w.follow_all().await[0].clone();
    w.engine.sync_channel(&channel).await.unwrap();
    let token = w.tokens.token_for_tests();
    for point in [
        KillPoint::AfterAccepted,
        KillPoint::BeforeHandled,
        KillPoint::AfterRecorded,
    ] {
        let text = format!("kill point {point:?}");
        match point {
            KillPoint::BeforeHandled => {
                w.admin(reqwest::Method::POST, "/pause", None).await;
            }
            KillPoint::AfterAccepted => {
                w.admin(
                    reqwest::Method::PUT,
                    "/faults",
                    Some(serde_json::json!({"rules": [
                        {"kind": "acceptThenHang", "method": "POST", "path": "/messages", "count": 1}
                    ]})),
                )
                .await;
            }
            KillPoint::AfterRecorded => {}
        }
        let mut child = Command::new(CRASHTEST)
            .env("PERCH_CRASHTEST_MODE", "post")
            .env("PERCH_CRASHTEST_TEXT", &text)
            .env("PERCH_CRASHTEST_CHANNEL", &channel)
            .env("PERCH_CRASHTEST_BASE", w.base())
            .env("PERCH_CRASHTEST_DB", &db)
            .env("PERCH_CRASHTEST_TENANT", w.account.tenant_id.to_string())
            .env("PERCH_CRASHTEST_USER", w.account.user_id.to_string())
            .env("PERCH_CRASHTEST_TOKEN", &token)
            .env("PERCH_CRASHTEST_PAGE", "50")
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
        // Wait for the moment, then SIGKILL.
        let reached = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let item = item_of(&db, &w, &text);
                let here = match point {
                    KillPoint::BeforeHandled => item
                        .as_ref()
                        .is_some_and(|i| i.state == OutboxState::Sending),
                    KillPoint::AfterAccepted => on_server(&w, &text) == 1,
                    KillPoint::AfterRecorded => {
                        item.as_ref().is_some_and(|i| i.state == OutboxState::Sent)
                    }
                };
                if here {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        reached.unwrap_or_else(|_| {
            let log = std::fs::read_to_string(w.dir.path().join("child.log")).unwrap_or_default();
            panic!("{point:?} was never reached; the tool said:\n{log}")
        });
        let before = item_of(&db, &w, &text).expect("the item survived the kill");
        match point {
            KillPoint::BeforeHandled => {
                assert_eq!(on_server(&w, &text), 0, "nothing was handled yet");
                w.admin(reqwest::Method::POST, "/resume", None).await;
                // A request the dead process left behind is handled now or never.
                tokio::time::sleep(Duration::from_millis(1000)).await;
            }
            KillPoint::AfterAccepted => {
                assert_eq!(before.state, OutboxState::Sending, "in doubt");
                w.admin(
                    reqwest::Method::PUT,
                    "/faults",
                    Some(serde_json::json!({"rules": []})),
                )
                .await;
            }
            KillPoint::AfterRecorded => assert_eq!(before.state, OutboxState::Sent),
        }
        // "Restart": this process's engine over the same database.
        let report = w.engine.drain_outbox().await.unwrap();
        assert_eq!(report.waiting, 0, "{point:?}: {report:?}");
        let after = w.engine.outbox_item(before.id).await.unwrap().unwrap();
        assert_eq!(after.state, OutboxState::Sent, "{point:?}");
        assert_eq!(on_server(&w, &text), 1, "{point:?}: exactly one copy");
        let copies = server_ids(&w, &text);
        assert_eq!(after.server_id.as_deref(), Some(copies[0].as_str()));
        let (items, _) = w.engine.timeline(&channel, 50).await.unwrap();
        assert_eq!(
            items.iter().filter(|i| i.row.body_text == text).count(),
            1,
            "{point:?}: one row in the timeline"
        );
    }
    assert_eq!(w.violations().await, 0);
}

/// The outbox item whose body holds `text`.
fn item_of(db: &std::path::Path, w: &World, text: &str) -> Option<perch_store::OutboxItem> {
    let store = Store::open(db).unwrap();
    store
        .outbox(&w.account, None, true)
        .unwrap()
        .into_iter()
        .find(|i| i.payload.to_string().contains(text))
}

fn server_ids(w: &World, text: &str) -> Vec<String> {
    let tenant = w.emulator.state().tenant.read();
    tenant
        .teams
        .iter()
        .flat_map(|t| t.channels.iter())
        .flat_map(|c| c.messages.roots.iter())
        .filter(|m| m.content.contains(text))
        .map(|m| m.id.clone())
        .collect()
}

fn on_server(w: &World, text: &str) -> usize {
    server_ids(w, text).len()
}
