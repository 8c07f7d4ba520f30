//! The engine's benchmarks; each prints its figures (medians over repetitions where it repeats).
//!
//! - `ingest`: channel-message pages fetched once from an emulator (throttling off) as raw
//!   bytes, then timed through the engine's pipeline: JSON parsed into perch-graph's DTOs,
//!   sanitised (perch-html), upserted and indexed (perch-store), one transaction per page. Beside
//!   it, in the same run, a bare rusqlite insert of the same rows into a plain table.
//! - `sync100`: the first sync of 100 followed channels under the emulator's default
//!   (Microsoft's) limits: wall time, requests issued ÷ what the client's tenant budget allows
//!   in that time, and 429s received.
//! - `rss`: the engine's resident memory with 1,000,000 cached messages (a sidebar with counts,
//!   five open timelines, searches).
//!
//! `cargo bench -p perch-engine --bench engine -- ingest|sync100|rss|all [--reps N] [--messages N]`

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use perch_auth::{AuthError, Secret};
use perch_core::AccountId;
use perch_emulator::{Emulator, EmulatorConfig, LimitsConfig, Profile, TenantSize};
use perch_engine::convert::{self, Origin};
use perch_engine::{Engine, EngineConfig, EngineParts};
use perch_graph::{ChatMessage, ClientConfig, GraphClient, TokenSource};
use perch_html::MediaRewrite;
use perch_store::{CacheStore, Store};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[derive(serde::Deserialize)]
struct RawPage {
    value: Vec<ChatMessage>,
}

async fn ingest(reps: usize) {
    let emulator = Emulator::start(EmulatorConfig {
        profile: Profile::Custom(TenantSize {
            users: 12,
            teams: 2,
            channels_per_team: 4,
            posts_per_channel: 1_250,
            replies_per_post: 3,
            history_days: 200,
        }),
        limits: LimitsConfig {
            enabled: false,
            scale: 1.0,
        },
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let (tokens, account) = common::emulator_tokens(&emulator);
    let base = emulator.base_url().to_owned();
    let http = reqwest::Client::new();
    let token = Secret::new(tokens.token_for_tests());
    // Fetch every channel's pages once, as raw bytes.
    let mut pages: Vec<(String, String, bytes::Bytes)> = Vec::new();
    let channels: Vec<(String, String)> = {
        let tenant = emulator.state().tenant.read();
        tenant
            .teams
            .iter()
            .flat_map(|t| {
                t.channels
                    .iter()
                    .map(move |c| (t.id.to_string(), c.id.clone()))
            })
            .collect()
    };
    for (team, channel) in &channels {
        let mut url =
            format!("{base}/v1.0/teams/{team}/channels/{channel}/messages?$top=50&$expand=replies");
        loop {
            let body = http
                .get(&url)
                .bearer_auth(token.expose())
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let next = v["@odata.nextLink"].as_str().map(str::to_owned);
            pages.push((team.clone(), channel.clone(), body));
            match next {
                Some(n) => url = n,
                None => break,
            }
        }
    }
    let bytes: usize = pages.iter().map(|p| p.2.len()).sum();
    let media = MediaRewrite {
        graph_bases: vec![base.clone()],
        media_prefix: "perch-media://localhost/".into(),
        account_key: account.key(),
    };
    let me = account.user_id.to_string();
    let mut perch_rates = Vec::new();
    let mut bare_rates = Vec::new();
    let mut parse_share = Vec::new();
    let mut messages = 0usize;
    for rep in 0..reps {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("perch.db")).unwrap();
        store
            .upsert_account(&common::account_record(account, &base))
            .unwrap();
        let mut teams: Vec<String> = channels.iter().map(|(t, _)| t.clone()).collect();
        teams.dedup();
        let team_rows: Vec<perch_store::TeamRow> = teams
            .iter()
            .map(|t| perch_store::TeamRow {
                id: t.clone(),
                display_name: t.clone(),
                description: None,
            })
            .collect();
        store.replace_teams(&account, &team_rows).unwrap();
        for t in &teams {
            let rows: Vec<perch_store::ChannelRow> = channels
                .iter()
                .filter(|(team, _)| team == t)
                .map(|(team, c)| perch_store::ChannelRow {
                    team_id: team.clone(),
                    id: c.clone(),
                    display_name: c.clone(),
                    description: None,
                    membership_type: "standard".into(),
                    web_url: None,
                    followed: true,
                })
                .collect();
            store.replace_channels(&account, t, &rows).unwrap();
        }
        // As the engine does it: channels in parallel (two workers, one per core), each page
        // converted outside the store lock and committed under it, pages of a channel in order.
        let store = std::sync::Mutex::new(store);
        let parse_nanos = std::sync::atomic::AtomicU64::new(0);
        let all_rows = std::sync::Mutex::new(Vec::new());
        let start = Instant::now();
        std::thread::scope(|scope| {
            for worker in 0..2 {
                let (store, pages, media, me, parse_nanos, all_rows, channels) = (
                    &store,
                    &pages,
                    &media,
                    &me,
                    &parse_nanos,
                    &all_rows,
                    &channels,
                );
                scope.spawn(move || {
                    for (team, channel, body) in pages.iter().filter(|(_, c, _)| {
                        channels.iter().position(|(_, x)| x == c).unwrap_or(0) % 2 == worker
                    }) {
                        let t = Instant::now();
                        let page: RawPage = serde_json::from_slice(body).unwrap();
                        let converted = convert::to_rows(
                            &page.value,
                            &Origin {
                                team_id: team,
                                channel_id: channel,
                                me,
                                media,
                            },
                        );
                        parse_nanos.fetch_add(
                            t.elapsed().as_nanos() as u64,
                            std::sync::atomic::Ordering::Relaxed,
                        );
                        store
                            .lock()
                            .unwrap()
                            .ingest(&account, channel, &converted.rows, None)
                            .unwrap();
                        all_rows.lock().unwrap().extend(converted.rows);
                    }
                });
            }
        });
        let all_rows = all_rows.into_inner().unwrap();
        messages = all_rows.len();
        let parse_time = Duration::from_nanos(parse_nanos.into_inner());
        let perch = start.elapsed().as_secs_f64();
        // The bare baseline: the same rows, one prepared INSERT into a plain table.
        let dir2 = tempfile::tempdir().unwrap();
        let mut bare = rusqlite::Connection::open(dir2.path().join("bare.db")).unwrap();
        bare.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
            .unwrap();
        let start = Instant::now();
        for chunk in all_rows.chunks(200) {
            perch_store::bench::bare_insert(&mut bare, chunk).unwrap();
        }
        let bare_secs = start.elapsed().as_secs_f64();
        perch_rates.push(messages as f64 / perch);
        bare_rates.push(messages as f64 / bare_secs);
        parse_share.push(parse_time.as_secs_f64() / perch);
        println!(
            "ingest rep {rep}: {messages} messages in {:.2} s = {:.0} msg/s (parse+sanitise CPU {:.0} % of wall); bare insert {:.0} msg/s",
            perch,
            messages as f64 / perch,
            100.0 * parse_time.as_secs_f64() / perch,
            messages as f64 / bare_secs
        );
    }
    let (p, b) = (median(perch_rates), median(bare_rates));
    println!(
        "ingest: {messages} messages from {} pages ({:.1} MB of JSON); median {:.0} msg/s end to end, bare rusqlite insert {:.0} msg/s (ratio {:.2}); parse+sanitise CPU {:.0} % of wall time",
        pages.len(),
        bytes as f64 / 1e6,
        p,
        b,
        p / b,
        100.0 * median(parse_share)
    );
}

async fn sync100() {
    let emulator = Emulator::start(EmulatorConfig {
        profile: Profile::Custom(TenantSize {
            users: 12,
            teams: 10,
            channels_per_team: 10,
            posts_per_channel: 20,
            replies_per_post: 2,
            history_days: 20,
        }),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let (tokens, account) = common::emulator_tokens(&emulator);
    let base = emulator.base_url().to_owned();
    // The demo user must be in every team for 100 followed channels: check.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("perch.db")).unwrap();
    store
        .upsert_account(&common::account_record(account, &base))
        .unwrap();
    let config = ClientConfig::new(base.clone());
    let tenant_rps = config.budgets.tenant_get_rps;
    let graph = GraphClient::new(config, tokens).unwrap();
    let engine = Engine::new(EngineParts {
        account,
        graph: graph.clone(),
        graph_base: base.clone(),
        store,
        config: EngineConfig {
            max_parallel_channels: 8,
            ..EngineConfig::default()
        },
    });
    let start = Instant::now();
    engine.refresh_structure().await.unwrap();
    let mut n = 0;
    for team in engine.sidebar_snapshot().await.unwrap() {
        for c in team.channels {
            engine.set_followed(&c.channel.id, true).await.unwrap();
            n += 1;
        }
    }
    let structure_wall = start.elapsed().as_secs_f64();
    let before = graph.stats().requests;
    let sync_start = Instant::now();
    let reports = engine.sync_followed(|_| {}).await.unwrap();
    let sync_wall = sync_start.elapsed().as_secs_f64();
    let wall = start.elapsed().as_secs_f64();
    let failed = reports.iter().filter(|(_, r)| r.is_err()).count();
    let sync_requests = graph.stats().requests - before;
    let server: serde_json::Value = reqwest::get(format!("{base}/_emulator/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let throttled = server["graph"]["byStatus"]["429"].as_u64().unwrap_or(0);
    let violations = server["violations"]["total"].as_u64().unwrap_or(u64::MAX);
    let allowed = tenant_rps * sync_wall;
    println!(
        "sync100: {n} followed channels; teams and channels in {structure_wall:.1} s, then the first delta round of every channel in {sync_wall:.1} s ({wall:.1} s in all); {sync_requests} message requests where the client's {tenant_rps} rps tenant budget allows {allowed:.0} → {:.2} of the budget; 429s received: {throttled}; Retry-After violations: {violations}; failed channels: {failed}",
        sync_requests as f64 / allowed,
    );
}

fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Builds the database, then measures a fresh process over it (`rss-measure`), so that the
/// building does not count.
async fn rss(messages: usize) {
    let dir = tempfile::tempdir().unwrap();
    // `--db PATH` keeps the built database (and reuses it when it exists).
    let path = arg("--db")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("perch.db"));
    let start = Instant::now();
    let reused = path.exists();
    let (account, channels) = if reused {
        let store = Store::open(&path).unwrap();
        let account = store.accounts().unwrap()[0].id;
        let channels: Vec<(String, String)> = store
            .channels(&account)
            .unwrap()
            .into_iter()
            .map(|c| (c.team_id, c.id))
            .collect();
        (account, channels)
    } else {
        let mut store = Store::open(&path).unwrap();
        let (account, channels) = perch_store::bench::setup_account(&mut store, 5, 8).unwrap();
        let mut g = perch_store::bench::Generator::new(7, 20_000);
        let mut done = 0;
        while done < messages {
            let batch = 5_000.min(messages - done);
            let mut by_channel: Vec<Vec<_>> = vec![Vec::new(); channels.len()];
            for i in 0..batch {
                let c = (done + i) % channels.len();
                by_channel[c].push(g.message(&channels[c].0, &channels[c].1));
            }
            for (c, rows) in by_channel.iter().enumerate() {
                store.ingest(&account, &channels[c].1, rows, None).unwrap();
            }
            done += batch;
        }
        store
            .connection()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
        (account, channels)
    };
    if !reused {
        println!(
            "rss: built {messages} messages in {:.1} s",
            start.elapsed().as_secs_f64()
        );
    }
    {
        // Read up to a week before the newest message, as a person's cache would be.
        let mut store = Store::open(&path).unwrap();
        for (_, c) in &channels {
            let newest = store.timeline(&account, c, None, 1).unwrap();
            if let Some(item) = newest.first() {
                let up_to = item.row.created_at - chrono::Duration::days(7);
                store.mark_read(&account, c, up_to).unwrap();
            }
        }
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .arg("rss-measure")
        .arg(&path)
        .arg(account.key())
        .args(channels.iter().take(5).map(|(_, c)| c.clone()))
        .output()
        .unwrap();
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
}

async fn rss_measure(args: &[String]) {
    let path = std::path::PathBuf::from(&args[0]);
    let account: AccountId = args[1].parse().expect("account key");
    let channels = &args[2..];
    let before = rss_kb();
    let store = Store::open(&path).unwrap();
    struct NoTokens;
    #[async_trait::async_trait]
    impl TokenSource for NoTokens {
        async fn token(&self) -> Result<Secret, AuthError> {
            Err(AuthError::Network("offline benchmark".into()))
        }
        async fn rejected(&self, _: &Secret) -> Result<Secret, AuthError> {
            Err(AuthError::Network("offline benchmark".into()))
        }
    }
    let base = "http://127.0.0.1:9";
    let graph = GraphClient::new(ClientConfig::new(base.to_owned()), Arc::new(NoTokens)).unwrap();
    let engine = Engine::new(EngineParts {
        account,
        graph,
        graph_base: base.into(),
        store,
        config: EngineConfig::default(),
    });
    let count = {
        let s = Store::open(&path).unwrap();
        s.message_count(&account, None).unwrap()
    };
    let t = Instant::now();
    let sidebar = engine.sidebar_snapshot().await.unwrap();
    let sidebar_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let _ = engine.sidebar_snapshot().await.unwrap();
    let sidebar_warm_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut timelines = Vec::new();
    for channel in channels {
        timelines.push(engine.timeline(channel, 100).await.unwrap());
    }
    let vocab = perch_store::bench::Generator::new(7, 20_000)
        .vocab()
        .to_vec();
    for word in vocab.iter().step_by(997).take(20) {
        let _ = engine
            .search(perch_store::SearchQuery::new(word.clone()))
            .await
            .unwrap();
    }
    let after = rss_kb();
    println!(
        "rss: {count} cached messages; sidebar of {} teams with counts in {sidebar_ms:.0} ms (again: {sidebar_warm_ms:.1} ms); {} timelines of 100 open; 20 searches: process RSS {:.1} MB (at process start {:.1} MB)",
        sidebar.len(),
        timelines.len(),
        after as f64 / 1024.0,
        before as f64 / 1024.0
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("rss-measure") {
        rss_measure(&argv[2..]).await;
        return;
    }
    // `cargo bench` passes `--bench`; skip flags when looking for the benchmark's name.
    let what = argv
        .iter()
        .skip(1)
        .find(|a| ["ingest", "rss", "sync100", "all"].contains(&a.as_str()))
        .cloned()
        .unwrap_or_else(|| "all".into());
    let reps: usize = arg("--reps").and_then(|v| v.parse().ok()).unwrap_or(3);
    let messages: usize = arg("--messages")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    println!(
        "machine: {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    if what == "ingest" || what == "all" {
        ingest(reps).await;
    }
    if what == "rss" || what == "all" {
        rss(messages).await;
    }
    if what == "sync100" || what == "all" {
        sync100().await;
    }
}
