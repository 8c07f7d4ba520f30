//! Simulated colleagues: they act at about the configured rate, through the same operations as
//! clients, never as the signed-in user, and mention that user in the configured share.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use perch_emulator::live::{self, Action, Colleagues};
use perch_emulator::model::{MentionTarget, Tenant};
use perch_emulator::{seed, EmulatorConfig, LiveConfig, Profile, Shared};
use tokio_util::sync::CancellationToken;

fn config(actions_per_minute: f64, mention_share: f64) -> EmulatorConfig {
    EmulatorConfig {
        profile: Profile::Small,
        seed: 5,
        live: LiveConfig {
            enabled: true,
            actions_per_minute,
            mention_share,
        },
        ..EmulatorConfig::default()
    }
}

/// Everything that happened at or after `since`: new messages, reactions, edits, deletions.
/// Each colleague action does exactly one of these.
fn changes_since(tenant: &Tenant, since: DateTime<Utc>) -> usize {
    let mut n = 0;
    for team in &tenant.teams {
        for channel in &team.channels {
            for root in &channel.messages.roots {
                for m in std::iter::once(root).chain(root.replies.iter()) {
                    n += usize::from(m.created >= since);
                    n += m.reactions.iter().filter(|r| r.created >= since).count();
                    n += usize::from(m.last_edited.is_some_and(|t| t >= since));
                    n += usize::from(m.deleted.is_some_and(|t| t >= since));
                }
            }
        }
    }
    n
}

fn mentions_of_demo_since(tenant: &Tenant, since: DateTime<Utc>) -> (usize, usize) {
    let demo = seed::demo_user(tenant).id;
    let (mut new, mut mentioning) = (0, 0);
    for team in &tenant.teams {
        for channel in &team.channels {
            for root in &channel.messages.roots {
                for m in std::iter::once(root).chain(root.replies.iter()) {
                    if m.created >= since {
                        new += 1;
                        if m.mentions.iter().any(|x| {
                            matches!(&x.mentioned, MentionTarget::User { id, .. } if *id == demo)
                        }) {
                            mentioning += 1;
                        }
                    }
                }
            }
        }
    }
    (new, mentioning)
}

#[tokio::test(start_paused = true)]
async fn colleagues_act_at_the_configured_rate_in_virtual_time() {
    let started = Utc::now();
    let config = config(600.0, 0.3);
    let tenant = seed::generate_at(&config, started - chrono::Duration::minutes(1));
    let shared = Arc::new(Shared::new(config, "http://127.0.0.1:9".to_owned(), tenant));
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(live::run(shared.clone(), shutdown.clone()));
    tokio::time::sleep(Duration::from_secs(60)).await;
    shutdown.cancel();
    task.await.expect("live task ends cleanly");

    let tenant = shared.tenant.read();
    let changes = changes_since(&tenant, started);
    println!("600 actions/min for one virtual minute: {changes} changes");
    assert!(
        (450..=750).contains(&changes),
        "about 600 changes: {changes}"
    );
    let (new, mentioning) = mentions_of_demo_since(&tenant, started);
    assert!(mentioning > 0, "the demo user is mentioned");
    let share = mentioning as f64 / new as f64;
    assert!(
        (0.15..0.45).contains(&share),
        "about 30 % mention the demo user: {share}"
    );
}

#[tokio::test]
async fn a_running_emulator_has_live_colleagues() {
    let started = Utc::now();
    let emulator = perch_emulator::Emulator::start(config(600.0, 0.5))
        .await
        .expect("starts");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let changes = changes_since(&emulator.state().tenant.read(), started);
    println!("600 actions/min for 2.5 s: {changes} changes");
    assert!((6..=60).contains(&changes), "about 25 changes: {changes}");
    emulator.shutdown().await.expect("shuts down");
}

#[test]
fn colleagues_are_deterministic_and_never_act_as_the_demo_user() {
    let config = config(60.0, 0.5);
    let now = Utc::now();
    let mut a = seed::generate_at(&config, now - chrono::Duration::minutes(1));
    let mut b = a.clone();
    let demo = seed::demo_user(&a).id;
    let mut first = Colleagues::new(config.seed, &config.live);
    let mut second = Colleagues::new(config.seed, &config.live);
    let mut kinds = std::collections::HashSet::new();
    let (mut new, mut mentioning) = (0, 0);
    for step in 0..400 {
        let at = now + chrono::Duration::seconds(step);
        let x = first.step(&mut a, at).expect("an action");
        let y = second.step(&mut b, at).expect("an action");
        assert_eq!(x, y);
        let (by, mentions) = match &x {
            Action::Posted {
                by,
                mentions_demo_user,
                ..
            }
            | Action::Replied {
                by,
                mentions_demo_user,
                ..
            } => {
                new += 1;
                mentioning += usize::from(*mentions_demo_user);
                (*by, *mentions_demo_user)
            }
            Action::Reacted { by, .. } | Action::Edited { by, .. } | Action::Deleted { by, .. } => {
                (*by, false)
            }
        };
        assert_ne!(by, demo, "colleagues never act as the signed-in user");
        let _ = mentions;
        kinds.insert(std::mem::discriminant(&x));
    }
    assert_eq!(
        kinds.len(),
        5,
        "posts, replies, reactions, edits and deletions"
    );
    let share = mentioning as f64 / new as f64;
    assert!(
        (0.4..0.6).contains(&share),
        "about half mention the demo user: {share}"
    );
    assert_eq!(
        serde_json::to_string(&a).expect("serialises"),
        serde_json::to_string(&b).expect("serialises")
    );
}

#[test]
fn waits_average_the_configured_interval() {
    let mut colleagues = Colleagues::new(
        1,
        &LiveConfig {
            enabled: true,
            actions_per_minute: 120.0,
            mention_share: 0.1,
        },
    );
    let total: Duration = (0..2_000).map(|_| colleagues.next_wait()).sum();
    let mean = total.as_secs_f64() / 2_000.0;
    assert!((0.45..0.55).contains(&mean), "mean wait 0.5 s: {mean}");
}
