//! The engine against the real emulator over loopback HTTP and a real SQLite file: first sync,
//! later rounds seeing colleagues' posts, edits, deletions and reactions, delta expiry,
//! history beyond the delta window, long threads, subscriptions and their diffs, the status,
//! a full disk, a revoked sign-in, the background schedule, and convergence under 20 % faults
//! with zero Retry-After violations.

mod common;

use std::time::Duration;

use common::{assert_converged, names, other_user, World};
use perch_emulator::{EmulatorConfig, Profile, TenantSize};
use perch_engine::{EngineConfig, SyncStatus, TimelineDiff};
use serde_json::json;

fn small(history_days: u32, posts: usize) -> EmulatorConfig {
    EmulatorConfig {
        profile: Profile::Custom(TenantSize {
            users: 6,
            teams: 2,
            channels_per_team: 2,
            posts_per_channel: posts,
            replies_per_post: 2,
            history_days,
        }),
        seed: 11,
        ..EmulatorConfig::default()
    }
}

fn everything() -> EngineConfig {
    EngineConfig {
        first_sync: chrono::Duration::days(400),
        ..EngineConfig::default()
    }
}

fn long_ago() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - chrono::Duration::days(400)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sync_then_colleagues_changes_arrive_by_delta() {
    let w = World::start(small(40, 60), everything()).await;
    let channels = w.follow_all().await;
    assert!(channels.len() >= 4, "channels: {channels:?}");
    let reports = w.engine.sync_followed(|_| {}).await.expect("sync");
    assert!(reports.iter().all(|(_, r)| r.is_ok()), "{reports:?}");
    let n = assert_converged(&w.db_path, &w.emulator, &w.account, &channels, long_ago());
    assert!(n > 100, "only {n} messages compared");

    // The first sync's history is not "unread".
    let unread = |sidebar: Vec<perch_engine::SidebarTeam>, id: &str| {
        sidebar
            .into_iter()
            .flat_map(|t| t.channels)
            .find(|c| c.channel.id == id)
            .map(|c| (c.unread, c.mentions))
            .unwrap()
    };
    assert_eq!(
        unread(w.engine.sidebar_snapshot().await.unwrap(), &channels[0]),
        (0, 0)
    );

    // A timeline is open while a colleague posts, replies, edits, reacts and deletes.
    let target = channels[0].clone();
    let (items, mut timeline) = w.engine.timeline(&target, 50).await.unwrap();
    assert!(!items.is_empty());
    let (team_name, channel_name) = names(&w, &target).await;
    let colleague = other_user(&w, &target);
    let posted = w
        .admin(
            reqwest::Method::POST,
            "/act",
            Some(json!({
                "as": colleague, "kind": "post", "team": team_name, "channel": channel_name,
                "body": "<p>Fresh news about the <b>zeppelin</b></p>", "subject": "Launch",
            })),
        )
        .await;
    let post_id = posted["id"].as_str().unwrap().to_owned();
    let old_root = items.last().unwrap().row.id.clone();
    for act in [
        json!({"as": colleague, "kind": "reply", "team": team_name, "channel": channel_name, "message": post_id, "body": "first reply"}),
        json!({"as": colleague, "kind": "react", "team": team_name, "channel": channel_name, "message": old_root, "reaction": "like"}),
        json!({"as": colleague, "kind": "edit", "team": team_name, "channel": channel_name, "message": post_id, "body": "<p>Edited news about the zeppelin</p>"}),
    ] {
        w.admin(reqwest::Method::POST, "/act", Some(act)).await;
    }
    let report = w.engine.sync_channel(&target).await.unwrap();
    assert!(report.inserted >= 2, "{report:?}");
    // The colleague's post and reply are unread; none mentions the demo user.
    assert_eq!(
        unread(w.engine.sidebar_snapshot().await.unwrap(), &target),
        (2, 0)
    );
    assert_converged(&w.db_path, &w.emulator, &w.account, &channels, long_ago());

    let mut inserted = false;
    let mut updated_old = false;
    while !(inserted && updated_old) {
        let diffs = tokio::time::timeout(Duration::from_secs(5), timeline.next())
            .await
            .expect("diffs arrive")
            .expect("engine alive")
            .unwrap();
        for d in diffs {
            match d {
                TimelineDiff::Insert { item } if item.row.id == post_id => {
                    inserted = true;
                    assert_eq!(item.reply_count, 1);
                    assert!(item.row.body_text.contains("Edited news"));
                }
                TimelineDiff::Update { item } if item.row.id == old_root => updated_old = true,
                _ => {}
            }
        }
    }

    // Offline search finds the new post.
    let hits = w
        .engine
        .search(perch_store::SearchQuery {
            text: "zeppelin".into(),
            team_id: None,
            channel_id: None,
            from_id: None,
            after: None,
            before: None,
            limit: 20,
        })
        .await
        .unwrap();
    assert!(hits.iter().any(|h| h.key.id == post_id), "{hits:?}");

    // A deletion is kept as a tombstone, and an open thread sees its root post change.
    let (replies, mut thread) = w.engine.thread(&target, &post_id).await.unwrap();
    assert_eq!(replies.len(), 1, "the reply, without the root: {replies:?}");
    w.admin(reqwest::Method::POST, "/act", Some(json!({"as": colleague, "kind": "delete", "team": team_name, "channel": channel_name, "message": post_id}))).await;
    w.engine.sync_channel(&target).await.unwrap();
    let mut root_updated = false;
    while !root_updated {
        let diffs = tokio::time::timeout(Duration::from_secs(5), thread.next())
            .await
            .expect("the thread hears of its root")
            .expect("engine alive")
            .unwrap();
        for d in diffs {
            match d {
                TimelineDiff::Update { item } if item.row.id == post_id => {
                    assert!(item.row.deleted_at.is_some(), "{item:?}");
                    root_updated = true;
                }
                TimelineDiff::Insert { item } if item.row.id == post_id => {
                    panic!("the root is updated in place, never inserted: {item:?}")
                }
                _ => {}
            }
        }
    }
    let row = w
        .engine
        .message(perch_store::MessageKey {
            channel_id: target.clone(),
            root_id: post_id.clone(),
            id: post_id.clone(),
        })
        .await
        .unwrap()
        .expect("tombstone kept");
    assert!(row.deleted_at.is_some());
    assert_eq!(w.violations().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_delta_tokens_restart_from_the_watermark() {
    let w = World::start(small(20, 30), everything()).await;
    let channels = w.follow_all().await;
    w.engine.sync_followed(|_| {}).await.unwrap();
    for mode in ["gone", "syncStateNotFound"] {
        w.admin(
            reqwest::Method::POST,
            "/delta/expire",
            Some(json!({"mode": mode})),
        )
        .await;
        let (team_name, channel_name) = names(&w, &channels[1]).await;
        w.admin(reqwest::Method::POST, "/act", Some(json!({"as": other_user(&w, &channels[1]), "kind": "post", "team": team_name, "channel": channel_name, "body": format!("after {mode}")}))).await;
        let report = w.engine.sync_channel(&channels[1]).await.unwrap();
        assert!(report.restarted, "{mode}: {report:?}");
        assert!(report.inserted >= 1);
        // The restart asked only from the watermark: far fewer messages than the channel has.
        assert!(report.unchanged + report.inserted < 30, "{report:?}");
    }
    assert_converged(&w.db_path, &w.emulator, &w.account, &channels, long_ago());
    assert_eq!(w.violations().await, 0, "Retry-After violations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrolling_up_loads_history_beyond_the_first_sync_window() {
    // 300 days of history, first sync only 30 days back.
    let w = World::start(small(300, 80), EngineConfig::default()).await;
    let channels = w.follow_all().await;
    let target = channels[0].clone();
    w.engine.sync_channel(&target).await.unwrap();
    let (items, mut timeline) = w.engine.timeline(&target, 20).await.unwrap();
    let mut seen = items.len();
    let mut oldest = items.last().map(|i| i.row.created_at);
    loop {
        let diffs = timeline.load_older(20).await.unwrap();
        if diffs.is_empty() {
            break;
        }
        for d in diffs {
            let TimelineDiff::Insert { item } = d else {
                panic!("only inserts")
            };
            assert!(
                oldest.is_none_or(|o| item.row.created_at <= o),
                "older and older"
            );
            oldest = Some(item.row.created_at);
            seen += 1;
        }
    }
    let roots = {
        let tenant = w.emulator.state().tenant.read();
        tenant
            .teams
            .iter()
            .flat_map(|t| t.channels.iter())
            .find(|c| c.id == target)
            .unwrap()
            .messages
            .roots
            .len()
    };
    assert_eq!(seen, roots, "every root post, once");
    assert!(oldest.unwrap() < chrono::Utc::now() - chrono::Duration::days(200));
    assert_eq!(w.violations().await, 0, "Retry-After violations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opened_thread_is_fetched_whole() {
    let w = World::start(
        EmulatorConfig {
            profile: Profile::Custom(TenantSize {
                users: 6,
                teams: 1,
                channels_per_team: 1,
                posts_per_channel: 6,
                replies_per_post: 80,
                history_days: 20,
            }),
            seed: 3,
            ..Default::default()
        },
        everything(),
    )
    .await;
    w.follow_all().await;
    // The longest thread in the tenant.
    let (channel, root, replies) = {
        let tenant = w.emulator.state().tenant.read();
        tenant
            .teams
            .iter()
            .flat_map(|t| t.channels.iter())
            .flat_map(|c| {
                c.messages
                    .roots
                    .iter()
                    .map(move |r| (c.id.clone(), r.id.clone(), r.replies.len()))
            })
            .max_by_key(|(_, _, n)| *n)
            .unwrap()
    };
    assert!(replies > 50, "a thread longer than one page: {replies}");
    w.engine.sync_channel(&channel).await.unwrap();
    w.engine.refresh_thread(&channel, &root).await.unwrap();
    let (items, _thread) = w.engine.thread(&channel, &root).await.unwrap();
    assert_eq!(items.len(), replies);
    assert!(
        items
            .windows(2)
            .all(|p| p[0].row.created_at <= p[1].row.created_at),
        "oldest first"
    );
    assert_eq!(w.violations().await, 0, "Retry-After violations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_pauses_sync_and_loses_nothing() {
    let emulator = perch_emulator::Emulator::start(small(40, 120))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("perch.db");
    let w = World::with(emulator, dir, db, everything(), |_| {});
    let channels = w.follow_all().await;
    // Cap the database file at its current size plus a little.
    {
        let store = perch_store::Store::open(&w.db_path).unwrap();
        let pages: i64 = store
            .connection()
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        drop(store);
        w.engine.set_max_pages_for_tests(pages + 8).await;
    }
    let err = w
        .engine
        .sync_channel(&channels[0])
        .await
        .expect_err("the disk fills up");
    assert!(err.disk_full(), "{err}");
    assert!(matches!(
        w.engine.status().borrow().sync,
        SyncStatus::DiskFull { .. }
    ));
    // Nothing half-written: the store is sound and its sync state matches its rows.
    let store = perch_store::Store::open(&w.db_path).unwrap();
    assert_eq!(store.integrity_check().unwrap(), vec!["ok".to_owned()]);
    drop(store);
    // Space comes back: the same round completes and converges.
    w.engine.set_max_pages_for_tests(1 << 30).await;
    w.engine.sync_channel(&channels[0]).await.unwrap();
    assert!(matches!(
        w.engine.status().borrow().sync,
        SyncStatus::Idle { .. }
    ));
    assert_converged(
        &w.db_path,
        &w.emulator,
        &w.account,
        &channels[..1],
        long_ago(),
    );
    assert_eq!(w.violations().await, 0, "Retry-After violations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_sign_in_pauses_and_resumes() {
    let w = World::start(small(20, 20), everything()).await;
    let channels = w.follow_all().await;
    w.tokens
        .revoked
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let err = w
        .engine
        .sync_channel(&channels[0])
        .await
        .expect_err("no token");
    assert!(err.needs_sign_in(), "{err}");
    assert!(matches!(
        w.engine.status().borrow().sync,
        SyncStatus::NeedsSignIn { .. }
    ));
    w.tokens
        .revoked
        .store(false, std::sync::atomic::Ordering::SeqCst);
    w.engine.signed_in_again();
    w.engine.sync_channel(&channels[0]).await.unwrap();
    assert!(matches!(
        w.engine.status().borrow().sync,
        SyncStatus::Idle { .. }
    ));
    assert_eq!(w.violations().await, 0, "Retry-After violations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_schedule_syncs_what_is_watched_and_no_more() {
    let w = World::start(small(20, 20), everything()).await;
    let channels = w.follow_all().await;
    // Only two followed; the rest are not.
    for c in &channels[2..] {
        w.engine.set_followed(c, false).await.unwrap();
    }
    w.admin(reqwest::Method::POST, "/stats/reset", None).await;
    let mut status = w.engine.status();
    w.engine.start();
    // Wait for both rounds to finish.
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            status.changed().await.unwrap();
            if matches!(
                status.borrow().sync,
                SyncStatus::Idle {
                    last_synced_at: Some(_)
                }
            ) {
                break;
            }
        }
    })
    .await
    .expect("the followed channels sync at start");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stats = w.admin(reqwest::Method::GET, "/stats", None).await;
    let by_scope = stats["graph"]["byScope"].as_object().unwrap();
    let polled: Vec<&String> = by_scope
        .keys()
        .filter(|k| k.starts_with("perChannel:channelMessagesRead:"))
        .collect();
    assert_eq!(
        polled.len(),
        2,
        "only followed channels are read: {polled:?}"
    );
    let reads = stats["graph"]["byCategory"]["channelMessagesRead"]
        .as_u64()
        .unwrap_or(0);
    assert!(reads <= 6, "one round each, no loop: {reads} reads");
    // Viewing an unfollowed channel syncs it at once.
    w.engine.view_channel(Some(&channels[3]));
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let state = perch_store::Store::open(&w.db_path).unwrap();
            use perch_store::CacheStore;
            if state
                .sync_state(&w.account, &channels[3])
                .unwrap()
                .delta_link
                .is_some()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the channel in view syncs at once");
    w.engine.shutdown();
    assert_eq!(w.violations().await, 0, "Retry-After violations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_under_20_percent_faults_with_zero_violations() {
    let w = World::start(small(40, 60), everything()).await;
    let channels = w.follow_all().await;
    w.admin(reqwest::Method::PUT, "/faults", Some(json!({
        "rules": [
            {"kind": "status", "status": 429, "retryAfter": 0.5, "probability": 0.05, "path": "/messages"},
            {"kind": "status", "status": 503, "probability": 0.04, "path": "/messages"},
            {"kind": "status", "status": 504, "retryAfter": 0.2, "probability": 0.02, "path": "/messages"},
            {"kind": "reset", "probability": 0.03, "path": "/messages"},
            {"kind": "truncatedJson", "probability": 0.03, "path": "/messages"},
            {"kind": "malformedJson", "probability": 0.02, "path": "/messages"},
        ],
        "latency": [{"ms": 30, "jitterMs": 60, "probability": 0.2}],
    }))).await;
    // Rounds interleaved with colleagues' writes and a delta expiry.
    for i in 0..3 {
        let colleague = other_user(&w, &channels[i % channels.len()]);
        let (team_name, channel_name) = names(&w, &channels[i % channels.len()]).await;
        w.admin(reqwest::Method::POST, "/act", Some(json!({"as": colleague, "kind": "post", "team": team_name, "channel": channel_name, "body": format!("round {i}")}))).await;
        if i == 1 {
            w.admin(
                reqwest::Method::POST,
                "/delta/expire",
                Some(json!({"mode": "gone"})),
            )
            .await;
        }
        let reports = w.engine.sync_followed(|_| {}).await.unwrap();
        for (c, r) in reports {
            if let Err(e) = r {
                // A round may give up after a long streak of faults (the next one picks up),
                // but only for a transient reason: the faults are all transient.
                let transient =
                    matches!(&e, perch_engine::EngineError::Graph(g) if g.is_transient());
                assert!(
                    transient,
                    "{c}: a permanent failure from transient faults: {e}"
                );
            }
        }
    }
    // Faults off; one clean round must converge from wherever the faulty ones stopped.
    w.admin(
        reqwest::Method::PUT,
        "/faults",
        Some(json!({"rules": [], "latency": []})),
    )
    .await;
    let reports = w.engine.sync_followed(|_| {}).await.unwrap();
    assert!(reports.iter().all(|(_, r)| r.is_ok()), "{reports:?}");
    assert_converged(&w.db_path, &w.emulator, &w.account, &channels, long_ago());
    let stats = w.admin(reqwest::Method::GET, "/stats", None).await;
    assert!(
        stats["faults"].as_object().is_some_and(|f| !f.is_empty()),
        "faults were injected: {stats}"
    );
    assert_eq!(w.violations().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_pages_converge() {
    let w = World::start(
        EmulatorConfig {
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
        },
        EngineConfig {
            page_size: 5,
            ..everything()
        },
    )
    .await;
    let channels = w.follow_all().await;
    let reports = w.engine.sync_followed(|_| {}).await.unwrap();
    eprintln!("{reports:?}");
    assert_converged(&w.db_path, &w.emulator, &w.account, &channels, long_ago());
    assert_eq!(w.violations().await, 0, "Retry-After violations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_paused_for_sign_in_sleeps_instead_of_spinning() {
    let w = World::start(
        small(20, 10),
        EngineConfig {
            offline_retry: Duration::from_millis(200),
            ..everything()
        },
    )
    .await;
    w.follow_all().await;
    w.tokens
        .revoked
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut status = w.engine.status();
    w.engine.start();
    tokio::time::timeout(Duration::from_secs(10), async {
        while !matches!(
            status.borrow_and_update().sync,
            SyncStatus::NeedsSignIn { .. }
        ) {
            status.changed().await.unwrap();
        }
    })
    .await
    .expect("needs sign-in");
    // Well past the retry delay: every followed channel is overdue, yet nothing may run.
    let before = w.engine.scheduler_passes_for_tests();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let passes = w.engine.scheduler_passes_for_tests() - before;
    assert!(
        passes <= 5,
        "the paused scheduler ran {passes} times in 2 s"
    );
    // Signing in again resumes at once.
    w.tokens
        .revoked
        .store(false, std::sync::atomic::Ordering::SeqCst);
    w.engine.signed_in_again();
    tokio::time::timeout(Duration::from_secs(20), async {
        while !matches!(
            status.borrow_and_update().sync,
            SyncStatus::Idle {
                last_synced_at: Some(_)
            }
        ) {
            status.changed().await.unwrap();
        }
    })
    .await
    .expect("resumes after sign-in");
    w.engine.shutdown();
    assert_eq!(w.violations().await, 0, "Retry-After violations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_given_up_by_its_caller_does_not_stay_syncing() {
    let w = World::start(small(20, 10), everything()).await;
    let channels = w.follow_all().await;
    w.admin(
        reqwest::Method::PUT,
        "/faults",
        Some(json!({"rules": [], "latency": [{"ms": 3000, "path": "/messages"}]})),
    )
    .await;
    let gave_up = tokio::time::timeout(
        Duration::from_millis(300),
        w.engine.sync_channel(&channels[0]),
    )
    .await;
    assert!(gave_up.is_err(), "the round was still running");
    assert!(
        !matches!(w.engine.status().borrow().sync, SyncStatus::Syncing { .. }),
        "{:?}",
        w.engine.status().borrow()
    );
    assert_eq!(w.violations().await, 0, "Retry-After violations");
}
