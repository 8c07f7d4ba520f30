//! The outbox's benchmarks; each prints its figures.
//!
//! - `echo`: enqueue-to-echo latency at the engine API: from calling [`Engine::post`] to the
//!   open timeline yielding the echo's insert (SQLite file, nothing sent), p50 and p95.
//! - `drain`: 1,000 queued writes (posts, replies, edits, reactions) across 10 channels drained
//!   by the background sender with the emulator's limits and the client's budgets both scaled
//!   ×50: the achieved send rate ÷ the emulator's sustained per-user write limit, and 429s.
//! - `soak`: 10,000 writes (×100 limits) with about 20 % of write requests faulted (503 before
//!   the handler, 429 with Retry-After, connection resets, accepted-then-dropped posts,
//!   latency); every post and reply checked against the emulator's state: lost and duplicated.
//!
//! `cargo bench -p perch-engine --bench outbox -- echo|drain|soak|all [--writes N]`

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use perch_core::compose::Draft;
use perch_emulator::{Emulator, EmulatorConfig, LimitsConfig, Profile, TenantSize};
use perch_engine::{Engine, EngineConfig, EngineParts, NewPost, TimelineDiff};
use perch_graph::{Budgets, ClientConfig, GraphClient};
use perch_store::{OutboxState, Store};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn draft(s: &str) -> Draft {
    common::text_draft(s)
}

fn post(s: &str) -> NewPost {
    NewPost {
        draft: draft(s),
        subject: None,
        importance: None,
    }
}

/// An emulator with `channels` channels (limits scaled by `scale`), an engine whose client
/// budgets are scaled the same, and the channels followed and synced.
async fn setup(
    channels: usize,
    scale: f64,
    config: EngineConfig,
) -> (
    Emulator,
    Engine,
    GraphClient,
    Vec<String>,
    tempfile::TempDir,
) {
    let emulator = Emulator::start(EmulatorConfig {
        profile: Profile::Custom(TenantSize {
            users: 6,
            teams: 2,
            channels_per_team: channels.div_ceil(2),
            posts_per_channel: 5,
            replies_per_post: 1,
            history_days: 5,
        }),
        limits: LimitsConfig {
            enabled: true,
            scale,
        },
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let (tokens, account) = common::emulator_tokens(&emulator);
    let base = emulator.base_url().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("perch.db")).unwrap();
    store
        .upsert_account(&common::account_record(account, &base))
        .unwrap();
    let d = Budgets::default();
    let mut client = ClientConfig::new(base.clone());
    client.budgets = Budgets {
        per_channel_rps: d.per_channel_rps * scale,
        tenant_get_rps: d.tenant_get_rps * scale,
        user_post_rps: d.user_post_rps * scale,
        team_channels_rps: d.team_channels_rps * scale,
        other_rps: d.other_rps * scale,
    };
    let graph = GraphClient::new(client, tokens).unwrap();
    let engine = Engine::new(EngineParts {
        account,
        graph: graph.clone(),
        graph_base: base,
        store,
        config,
    });
    engine.refresh_structure().await.unwrap();
    let mut ids = Vec::new();
    for team in engine.sidebar_snapshot().await.unwrap() {
        for c in team.channels {
            engine.set_followed(&c.channel.id, true).await.unwrap();
            ids.push(c.channel.id);
        }
    }
    ids.truncate(channels);
    for id in &ids {
        engine.sync_channel(id).await.unwrap();
    }
    (emulator, engine, graph, ids, dir)
}

async fn stats(emulator: &Emulator) -> serde_json::Value {
    reqwest::get(format!("{}/_emulator/stats", emulator.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn echo() {
    let (_emulator, engine, _graph, channels, _dir) = setup(2, 1.0, EngineConfig::default()).await;
    let (_, mut timeline) = engine.timeline(&channels[0], 50).await.unwrap();
    let mut samples = Vec::new();
    for i in 0..500 {
        let start = Instant::now();
        engine
            .post(&channels[0], post(&format!("echo {i}")))
            .await
            .unwrap();
        loop {
            let diffs = timeline.next().await.unwrap().unwrap();
            if diffs.iter().any(
                |d| matches!(d, TimelineDiff::Insert { item } if item.row.id.starts_with("local-")),
            ) {
                break;
            }
        }
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    let p50 = percentile(&mut samples, 0.5);
    let p95 = percentile(&mut samples, 0.95);
    println!(
        "echo: enqueue → echo in the open timeline over {} posts: p50 {p50:.2} ms, p95 {p95:.2} ms",
        samples.len()
    );
}

/// Queues `n` writes across `channels`: mostly posts, then replies, edits and reactions on
/// posts queued earlier (they wait for them). Returns the post and reply texts.
async fn queue(engine: &Engine, channels: &[String], n: usize, tag: &str) -> Vec<String> {
    let mut texts = Vec::new();
    let mut posts: Vec<(String, i64)> = Vec::new();
    for i in 0..n {
        let channel = &channels[i % channels.len()];
        let kind = i % 10;
        let earlier = posts
            .iter()
            .rev()
            .find(|(c, _)| c == channel)
            .map(|(_, id)| format!("local-{id}"));
        match (kind, earlier) {
            (7, Some(root)) => {
                let text = format!("{tag} reply {i}");
                engine.reply(channel, &root, &draft(&text)).await.unwrap();
                texts.push(text);
            }
            (8, Some(target)) => {
                // Edits a queued post: rewritten in place, or queued behind it.
                engine
                    .edit(channel, &target, post(&format!("{tag} edited {i}")))
                    .await
                    .unwrap();
            }
            (9, Some(target)) => {
                engine.react(channel, &target, "like").await.unwrap();
            }
            _ => {
                let text = format!("{tag} post {i}");
                let item = engine.post(channel, post(&text)).await.unwrap();
                posts.push((channel.clone(), item.id));
                texts.push(text);
            }
        }
    }
    texts
}

async fn drain(writes: usize) {
    let scale = 50.0;
    let (emulator, engine, graph, channels, _dir) = setup(10, scale, EngineConfig::default()).await;
    reqwest::Client::new()
        .post(format!("{}/_emulator/stats/reset", emulator.base_url()))
        .send()
        .await
        .unwrap();
    queue(&engine, &channels, writes, "drain").await;
    let requests_before = graph.stats().requests;
    let start = Instant::now();
    engine.start();
    loop {
        if engine.outbox(None, false).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wall = start.elapsed().as_secs_f64();
    engine.shutdown();
    let items = engine.outbox(None, true).await.unwrap();
    let sent = items
        .iter()
        .filter(|i| i.state == OutboxState::Sent)
        .count();
    let writes_sent = items
        .iter()
        .filter(|i| i.state == OutboxState::Sent && i.attempts > 0)
        .count();
    let s = stats(&emulator).await;
    let throttled = s["graph"]["byStatus"]["429"].as_u64().unwrap_or(0);
    let violations = s["violations"]["total"].as_u64().unwrap_or(u64::MAX);
    // Microsoft: 1 rps burst per user for writes, about 83 % of it sustained.
    let sustained = 0.83 * scale;
    let rate = writes_sent as f64 / wall;
    println!(
        "drain: {writes} queued writes across {} channels, limits ×{scale}: {sent} sent ({writes_sent} requests; {} client requests in all, read-backs included) in {wall:.1} s = {rate:.1} writes/s; ÷ the sustained per-user write limit ({sustained:.1}/s) = {:.2}; ÷ the burst limit ({scale:.0}/s) = {:.2}; 429s: {throttled}; Retry-After violations: {violations}",
        channels.len(),
        graph.stats().requests - requests_before,
        rate / sustained,
        rate / scale,
    );
}

async fn soak(writes: usize) {
    let scale = 100.0;
    let config = EngineConfig {
        outbox_retry_min: Duration::from_millis(50),
        outbox_retry_max: Duration::from_secs(2),
        reconcile_settle: Duration::from_millis(200),
        ..EngineConfig::default()
    };
    let (emulator, engine, _graph, channels, _dir) = setup(10, scale, config).await;
    let texts = queue(&engine, &channels, writes, "soak").await;
    let faults = serde_json::json!({
        "rules": [
            {"kind": "status", "status": 503, "method": "POST", "probability": 0.05},
            {"kind": "status", "status": 429, "retryAfter": 0.3, "method": "POST", "probability": 0.04},
            {"kind": "reset", "method": "POST", "probability": 0.04},
            {"kind": "acceptThenDrop", "method": "POST", "probability": 0.05},
            {"kind": "status", "status": 504, "method": "PATCH", "probability": 0.02},
        ],
        "latency": [{"ms": 5, "jitterMs": 20, "probability": 0.3}],
    });
    let put = reqwest::Client::new()
        .put(format!("{}/_emulator/faults", emulator.base_url()))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.text().await.unwrap());
    let start = Instant::now();
    engine.start();
    loop {
        let pending = engine.outbox(None, false).await.unwrap();
        if pending.is_empty() {
            break;
        }
        if start.elapsed() > Duration::from_secs(1800) {
            panic!("not drained after 30 minutes: {} left", pending.len());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wall = start.elapsed().as_secs_f64();
    engine.shutdown();
    // Count every post and reply text on the server.
    let mut seen: HashMap<String, usize> = HashMap::new();
    {
        let tenant = emulator.state().tenant.read();
        for team in &tenant.teams {
            for channel in &team.channels {
                for root in &channel.messages.roots {
                    for m in std::iter::once(root).chain(root.replies.iter()) {
                        let text = m
                            .content
                            .trim_start_matches("<p>")
                            .trim_end_matches("</p>")
                            .to_owned();
                        *seen.entry(text).or_default() += 1;
                    }
                }
            }
        }
    }
    let items = engine.outbox(None, true).await.unwrap();
    let mut by_item_text: HashMap<String, usize> = HashMap::new();
    for item in &items {
        if item.kind.creates_message() {
            let html = item.payload["html"].as_str().unwrap_or("");
            let text = html.trim_start_matches("<p>").trim_end_matches("</p>");
            by_item_text.insert(text.to_owned(), 1);
        }
    }
    // A post edited while queued went out with its edited text.
    let expected: Vec<&String> = by_item_text.keys().collect();
    let lost = expected
        .iter()
        .filter(|t| seen.get(t.as_str()).copied().unwrap_or(0) == 0)
        .count();
    let duplicated = expected
        .iter()
        .filter(|t| seen.get(t.as_str()).copied().unwrap_or(0) > 1)
        .count();
    for item in items.iter().filter(|i| i.kind.creates_message()) {
        let html = item.payload["html"].as_str().unwrap_or("");
        let text = html.trim_start_matches("<p>").trim_end_matches("</p>");
        if seen.get(text).copied().unwrap_or(0) > 1 {
            eprintln!(
                "duplicated: item {} {} attempts {} last error {:?} server id {:?} started {:?}",
                item.id,
                item.kind,
                item.attempts,
                item.last_error_code,
                item.server_id,
                item.attempt_started_at
            );
        }
    }
    let not_sent = items
        .iter()
        .filter(|i| i.state != OutboxState::Sent && i.state != OutboxState::Cancelled)
        .count();
    let adopted = items
        .iter()
        .filter(|i| {
            i.kind.creates_message()
                && i.attempts == 1
                && i.last_error_code.as_deref() == Some("write_unconfirmed")
        })
        .count();
    let resent = items
        .iter()
        .filter(|i| {
            i.kind.creates_message()
                && i.attempts > 1
                && i.last_error_code.as_deref() == Some("write_unconfirmed")
        })
        .count();
    let s = stats(&emulator).await;
    let faults_fired: u64 = s["faults"]
        .as_object()
        .map(|m| m.values().filter_map(|v| v.as_u64()).sum())
        .unwrap_or(0);
    let violations = s["violations"]["total"].as_u64().unwrap_or(u64::MAX);
    println!(
        "soak: {writes} writes ({} posts and replies, {} texts queued) across {} channels, limits ×{scale}, faults fired {faults_fired}: drained in {wall:.1} s; lost {lost}, duplicated {duplicated}, unsent {not_sent}, posts and replies whose answer was lost: {adopted} found on the server and adopted, {resent} not found and sent again; Retry-After violations: {violations}",
        by_item_text.len(),
        texts.len(),
        channels.len(),
    );
    assert_eq!((lost, duplicated, not_sent), (0, 0, 0), "soak failed");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let what = argv
        .iter()
        .skip(1)
        .find(|a| ["echo", "drain", "soak", "all"].contains(&a.as_str()))
        .cloned()
        .unwrap_or_else(|| "all".into());
    println!(
        "machine: {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    if what == "echo" || what == "all" {
        echo().await;
    }
    if what == "drain" || what == "all" {
        drain(
            arg("--writes")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1_000),
        )
        .await;
    }
    if what == "soak" || what == "all" {
        soak(
            arg("--writes")
                .and_then(|v| v.parse().ok())
                .unwrap_or(10_000),
        )
        .await;
    }
}
