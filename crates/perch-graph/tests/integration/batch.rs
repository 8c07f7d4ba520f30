//! `channels_of` over `$batch`: the same answers as one call per team (errors included, per
//! team), one envelope per 20 teams, inner requests counted; and inner 429s under scaled-down
//! limits retried on their own, after their own Retry-After, with no violation.

use perch_emulator::graph::fixture::Spec;
use perch_graph::{GraphError, RetryPolicy};

use crate::support::{bed, bed_with, Limits};

#[tokio::test]
async fn batch_and_individual_calls_agree() {
    let spec = Spec {
        teams: 3,
        ..Spec::default()
    };
    let b = bed(spec, Limits::Off).await;
    let unknown = uuid::Uuid::from_u128(0xdead).to_string();
    let asked = vec![
        b.team(0),
        b.team(1),
        b.team(2),
        b.team(0),
        unknown.clone(),
        "not-a-guid".to_owned(),
    ];
    let results = b.client.channels_of(&asked).await;
    let stats = b.client.stats();
    assert_eq!(
        (stats.batches, stats.batch_inner),
        (1, 5),
        "duplicates asked once"
    );
    assert_eq!(
        stats.requests, 6,
        "the envelope and its five inner requests"
    );
    let order: Vec<&str> = results.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        order,
        [
            b.team(0),
            b.team(1),
            b.team(2),
            unknown.clone(),
            "not-a-guid".into()
        ]
    );
    for (team, result) in &results[..3] {
        let one = b.client.channels(team).await.unwrap();
        assert_eq!(result.as_ref().unwrap(), &one, "team {team}");
    }
    assert_eq!(results[0].1.as_ref().unwrap().len(), 4);
    assert!(matches!(results[3].1, Err(GraphError::NotFound)));
    assert_eq!(results[4].1.as_ref().unwrap_err().code(), "bad_request");

    // More than 20 teams: two envelopes.
    let many: Vec<String> = (0..25)
        .map(|i| {
            if i < 3 {
                b.team(i)
            } else {
                uuid::Uuid::from_u128(0xe000 + i as u128).to_string()
            }
        })
        .collect();
    let before = b.client.stats().batches;
    let results = b.client.channels_of(&many).await;
    assert_eq!(results.len(), 25);
    assert_eq!(b.client.stats().batches - before, 2);
    assert!(results[..3].iter().all(|(_, r)| r.is_ok()));
    assert!(results[3..]
        .iter()
        .all(|(_, r)| matches!(r, Err(GraphError::NotFound))));
    assert!(b.client.channels_of(&[]).await.is_empty());
}

#[tokio::test]
async fn inner_429s_wait_their_own_retry_after() {
    // Channel lists are 4 rps per team at Microsoft; at scale 0.25 one per second, while our
    // budget allows three: the second batch's inner requests are refused.
    let spec = Spec {
        teams: 3,
        ..Spec::default()
    };
    let retry = RetryPolicy {
        max_attempts: 6,
        base_delay: std::time::Duration::from_millis(50),
        max_delay: std::time::Duration::from_secs(2),
        max_total: std::time::Duration::from_secs(30),
    };
    let b = bed_with(
        spec,
        Limits::Scaled(0.25),
        perch_graph::Budgets::default(),
        retry,
    )
    .await;
    let teams = vec![b.team(0), b.team(1), b.team(2)];
    let started = std::time::Instant::now();
    for _ in 0..2 {
        let results = b.client.channels_of(&teams).await;
        assert!(results.iter().all(|(_, r)| r.is_ok()), "{results:?}");
    }
    let stats = b.client.stats();
    let emulator = b.emulator.state().stats.snapshot();
    assert!(
        emulator.graph.throttled >= 1,
        "the inner requests were throttled"
    );
    assert_eq!(
        stats.throttled, emulator.graph.throttled,
        "every inner 429 was seen"
    );
    assert!(stats.retries >= 1);
    assert_eq!(
        emulator.violations.total, 0,
        "{:?}",
        emulator.violations.details
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
}
