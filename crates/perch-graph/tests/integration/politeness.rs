//! Politeness against the emulator's real throttling: budgets hold a channel to 0.8 rps (also
//! across clones), a burst of concurrent calls under scaled-down limits meets only a handful
//! of 429s and commits no Retry-After violation, and the throttle watch reports the pause.

use std::time::{Duration, Instant};

use chrono::{Duration as Span, Utc};
use perch_emulator::graph::fixture::Spec;
use perch_graph::{Budgets, DeltaRequest, PageRequest};

use crate::support::{bed_with, fast_retry, Limits};

#[tokio::test]
async fn five_calls_to_one_channel_take_five_seconds() {
    let b = bed_with(
        Spec::default(),
        Limits::Scaled(1.0),
        Budgets::default(),
        fast_retry(),
    )
    .await;
    let (team, channel) = (b.team(0), b.fx.general.clone());
    let clone = b.client.clone();
    let started = Instant::now();
    for i in 0..5 {
        // Alternate between the client and a clone: they share the budget.
        let client = if i % 2 == 0 { &b.client } else { &clone };
        if i < 3 {
            let req = DeltaRequest::Start {
                since: Utc::now() - Span::days(3),
                top: 5,
                expand_replies: true,
            };
            client.delta_page(&team, &channel, &req).await.unwrap();
        } else {
            let req = PageRequest::First {
                top: 5,
                expand_replies: false,
            };
            client.messages_page(&team, &channel, &req).await.unwrap();
        }
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(5), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(6500), "{elapsed:?}");
    let emulator = b.emulator.state().stats.snapshot();
    assert_eq!(
        emulator.graph.throttled, 0,
        "a well-behaved client never meets a 429"
    );
    let scope = format!("channel:{}/{}", team.to_ascii_lowercase(), channel);
    assert_eq!(b.client.stats().scopes[&scope].waits, 4);
}

#[tokio::test]
async fn a_concurrent_burst_under_scaled_limits_commits_no_violation() {
    // At 5 % of Microsoft's limits the tenant allows one channel-message read a second (our
    // budget: two), and each channel one every 20 s: a burst over eight channels gets 429s.
    let spec = Spec {
        teams: 3,
        channels_per_team: 2,
        posts_per_channel: 10,
        ..Spec::default()
    };
    let b = bed_with(spec, Limits::Scaled(0.05), Budgets::default(), fast_retry()).await;
    let mut work = Vec::new();
    for t in 0..3 {
        for channel in b.channels_of_team(t) {
            work.push((b.team(t), channel));
        }
    }
    assert_eq!(work.len(), 8);
    let mut watch = b.client.throttle_watch();
    let started = Instant::now();
    let tasks: Vec<_> = work
        .into_iter()
        .map(|(team, channel)| {
            let client = b.client.clone();
            tokio::spawn(async move {
                let req = PageRequest::First {
                    top: 5,
                    expand_replies: false,
                };
                client.messages_page(&team, &channel, &req).await
            })
        })
        .collect();
    // The first 429 shows in the watch.
    tokio::time::timeout(Duration::from_secs(10), watch.changed())
        .await
        .expect("a pause")
        .unwrap();
    assert!(watch.borrow().is_some());
    for task in tasks {
        let page = task.await.unwrap().unwrap();
        assert_eq!(page.value.len(), 5);
    }
    let elapsed = started.elapsed();
    let emulator = b.emulator.state().stats.snapshot();
    let stats = b.client.stats();
    println!(
        "burst: {elapsed:?}, 429s {}, retries {}, violations {}",
        emulator.graph.throttled, stats.retries, emulator.violations.total
    );
    assert_eq!(
        emulator.violations.total, 0,
        "{:?}",
        emulator.violations.details
    );
    assert!(
        emulator.graph.throttled >= 1,
        "the limits were really lower than our budget"
    );
    assert!(
        emulator.graph.throttled <= 5,
        "a handful of 429s, not a storm: {}",
        emulator.graph.throttled
    );
    assert_eq!(stats.throttled, emulator.graph.throttled);
    assert!(
        stats.scopes["tenant-get"].rate_factor < 1.0,
        "the scope slowed down"
    );
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    // Over: nothing paused any more.
    assert!(b.client.throttled_until().is_none());
}
