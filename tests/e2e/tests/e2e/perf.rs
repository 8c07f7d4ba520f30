//! The desktop app's performance figures, measured in the real window (not asserted: the
//! machine is small and noisy; the figures are printed for the README). Runs only with
//! `PERCH_E2E_BENCH=1` (`scripts/bench-ui.sh`):
//!
//! 1. a first run signs in to the demo tenant; then 100,000 generated root posts are written
//!    into the cache of the channel the window opens first;
//! 2. each of `PERCH_E2E_BENCH_STARTS` (default 5) starts measures the time from the page's
//!    navigation start (the web view is created with the window) to the first painted
//!    timeline batch (`perch:timeline-painted`, see ui/src/lib/perf.ts), and since process start;
//! 3. in the last start, colleagues post in the channel in view (through the emulator's admin
//!    API) and each post's delta-to-screen is its paint time minus its store commit time;
//! 4. the timeline is scrolled to the top until all 100,000 posts are loaded: the DOM holds
//!    only the visible rows; frame times of a fast programmatic scroll; total RSS of the app's
//!    processes (the app and its WebKit children). `PERCH_E2E_BENCH_SCROLL=0` skips this.

use std::path::Path;
use std::time::{Duration, Instant};

use perch_core::AccountId;
use perch_e2e::{scenario, Error, Session};
use perch_store::{CacheStore, Store};
use serde_json::{json, Value};

const FRAME: &str = r#"[data-testid="app-frame"]"#;
const CHANNEL: &str = r#"[data-testid="channel"]"#;
const MESSAGE: &str = r#"[data-testid="message"]"#;
const POSTS: usize = 100_000;

const INVOKE: &str = r#"
const [cmd, args, done] = arguments;
window.__TAURI_INTERNALS__.invoke(cmd, args).then(
  (value) => done({ ok: true, value }),
  (error) => done({ ok: false, error: JSON.stringify(error) }),
);
"#;

/// The painted marks so far: `[{startTime, detail}]`.
const MARKS: &str = r#"
const done = arguments[0];
done(performance.getEntriesByName("perch:timeline-painted").map((m) => ({ startTime: m.startTime, detail: m.detail })));
"#;

/// Where the time to the first painted timeline went: the page's own load steps and the
/// `perch:*` start marks (ui/src/lib/perf.ts), in ms since navigation start.
const STEPS: &str = r#"
const done = arguments[0];
const nav = performance.getEntriesByType("navigation")[0];
const out = {};
if (nav) {
  out.response = Math.round(nav.responseEnd);
  out.domInteractive = Math.round(nav.domInteractive);
  out.domContentLoaded = Math.round(nav.domContentLoadedEventEnd);
}
for (const m of performance.getEntriesByType("mark")) {
  if (m.name.startsWith("perch:") && m.name !== "perch:timeline-painted") out[m.name.slice(6)] = Math.round(m.startTime);
}
const paint = performance.getEntriesByType("paint").find((p) => p.name === "first-paint");
if (paint) out.firstPaint = Math.round(paint.startTime);
done(out);
"#;

fn steps(session: &Session) -> Result<String, Error> {
    let steps = session.execute_async(STEPS, Vec::new())?;
    let mut pairs: Vec<(String, f64)> = steps
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), v)))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(pairs
        .iter()
        .map(|(k, v)| format!("{k} {v:.0}"))
        .collect::<Vec<_>>()
        .join(", "))
}

fn enabled() -> bool {
    std::env::var("PERCH_E2E_BENCH").is_ok_and(|v| v == "1")
}

fn marks(session: &Session) -> Result<Vec<Value>, Error> {
    Ok(session
        .execute_async(MARKS, Vec::new())?
        .as_array()
        .cloned()
        .unwrap_or_default())
}

fn wait_mark(
    session: &Session,
    what: &str,
    timeout: Duration,
    f: impl Fn(&Value) -> bool,
) -> Result<Value, Error> {
    let start = Instant::now();
    loop {
        if let Some(m) = marks(session)?.into_iter().find(|m| f(m)) {
            return Ok(m);
        }
        if start.elapsed() > timeout {
            return Err(Error::check(
                format!("wait for {what}"),
                "no such paint mark",
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

fn p95(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() as f64 * 0.95).ceil() as usize)
        .saturating_sub(1)
        .min(v.len() - 1)]
}

/// The number after `name` in a `/proc` file of `Name: value [kB]` lines.
fn proc_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
}

/// Memory of the processes running `app` and all their descendants: the sum of their RSS and
/// of their PSS (proportional: shared pages such as WebKitGTK's libraries, mapped by the app
/// and its web process alike, counted once), in kB, and how many processes.
fn memory_kb(app: &Path) -> (u64, u64, usize) {
    let mut procs: Vec<(u32, u32, u64, bool)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let ppid = proc_field(&status, "PPid:").unwrap_or(0) as u32;
            let rss = proc_field(&status, "VmRSS:").unwrap_or(0);
            let is_app = std::fs::read_link(format!("/proc/{pid}/exe"))
                .map(|p| p == app)
                .unwrap_or(false);
            procs.push((pid, ppid, rss, is_app));
        }
    }
    let mut chosen: Vec<u32> = procs.iter().filter(|p| p.3).map(|p| p.0).collect();
    let mut i = 0;
    while i < chosen.len() {
        let parent = chosen[i];
        for p in &procs {
            if p.1 == parent && !chosen.contains(&p.0) {
                chosen.push(p.0);
            }
        }
        i += 1;
    }
    let total = procs
        .iter()
        .filter(|p| chosen.contains(&p.0))
        .map(|p| p.2)
        .sum();
    let pss = chosen
        .iter()
        .map(|pid| {
            let rollup =
                std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
            let field = |name: &str| proc_field(&rollup, name).unwrap_or(0);
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            println!(
                "  memory of {}: PSS {} MB (anonymous {} MB, files {} MB)",
                comm.trim(),
                field("Pss:") / 1024,
                field("Pss_Anon:") / 1024,
                field("Pss_File:") / 1024
            );
            field("Pss:")
        })
        .sum();
    (total, pss, chosen.len())
}

/// Seconds since this process's start, from /proc (the app's start, for "launch to paint").
fn process_age_ms(app: &Path) -> Option<f64> {
    let ticks = 100.0; // USER_HZ on Linux
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.parse::<u32>().is_err() {
            continue;
        }
        if std::fs::read_link(format!("/proc/{name}/exe"))
            .ok()
            .as_deref()
            != Some(app)
        {
            continue;
        }
        let stat = std::fs::read_to_string(format!("/proc/{name}/stat")).ok()?;
        let after = stat.rsplit_once(')')?.1;
        let start: f64 = after.split_whitespace().nth(19)?.parse().ok()?;
        return Some((uptime - start / ticks) * 1000.0);
    }
    None
}

#[test]
fn perf() {
    if !enabled() {
        eprintln!("perf skipped: set PERCH_E2E_BENCH=1 (scripts/bench-ui.sh)");
        return;
    }
    let data_dir = std::env::var("PERCH_DATA_DIR").expect("PERCH_DATA_DIR (test-e2e.sh sets it)");
    let starts: usize = std::env::var("PERCH_E2E_BENCH_STARTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);

    // 1. Sign in to the demo tenant; note the account and the channel opened first.
    let mut picked: Option<(String, String)> = None;
    scenario("perf-setup", |app| {
        let s = app.session();
        s.wait_for_count(FRAME, 1, Duration::from_secs(20))?;
        s.wait_for_count(CHANNEL, 5, Duration::from_secs(90))?;
        s.wait_for_count(MESSAGE, 1, Duration::from_secs(90))?;
        let state = s.execute_async(INVOKE, vec!["app_state".into(), json!({})])?;
        let account = state["value"]["activeAccount"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let channel = s.execute_async(
            "arguments[0](document.querySelector('[data-testid=\"channel\"]').dataset.channelId)",
            Vec::new(),
        )?;
        picked = Some((account, channel.as_str().unwrap_or_default().to_owned()));
        // Let the first syncs finish so later starts paint from the cache.
        std::thread::sleep(Duration::from_secs(10));
        Ok(())
    });
    let (account, channel) = picked.expect("setup ran");
    let account: AccountId = account.parse().expect("an account id");

    // 2. 100,000 posts into that channel's cache.
    let db = perch_core::DataDir::at(&data_dir).database();
    let mut store = Store::open(&db).expect("open the cache");
    let team = store
        .channels(&account)
        .unwrap()
        .into_iter()
        .find(|c| c.id == channel)
        .expect("the channel is cached")
        .team_id;
    let t0 = Instant::now();
    let rows = perch_store::bench::bench_rows(7, &team, &channel, POSTS);
    for chunk in rows.chunks(2_000) {
        let mut chunk = chunk.to_vec();
        for r in &mut chunk {
            r.reply_to_id = None;
            r.id = format!("bench{}", r.id);
        }
        store.ingest(&account, &channel, &chunk, None).unwrap();
    }
    store
        .mark_read(&account, &channel, chrono::Utc::now())
        .unwrap();
    drop(store);
    println!(
        "prepared: {POSTS} root posts in the first channel's cache in {:.1?}",
        t0.elapsed()
    );

    // 3. Starts: navigation start → first painted timeline batch (from the cache).
    let mut nav_to_paint = Vec::new();
    let mut launch_to_paint = Vec::new();
    let app_path = std::path::PathBuf::from(std::env::var("PERCH_E2E_APP").unwrap());
    let demo_port = std::fs::read_to_string(Path::new(&data_dir).join("demo/demo-port"))
        .expect("the demo port")
        .trim()
        .to_owned();
    for i in 0..starts {
        let last = i + 1 == starts;
        let name = format!("perf-start-{i}");
        let (channel, app_path, demo_port) = (channel.clone(), app_path.clone(), demo_port.clone());
        let (mut nav, mut launch) = (None, None);
        scenario(&name, |app| {
            let s = app.session();
            let mark = wait_mark(
                s,
                "the first painted timeline",
                Duration::from_secs(60),
                |m| {
                    m["detail"]["channelId"] == channel.as_str()
                        && m["detail"]["items"].as_u64() > Some(0)
                },
            )?;
            let at = mark["startTime"].as_f64().unwrap_or(f64::NAN);
            let painted_wall = mark["detail"]["paintedAtMs"].as_f64().unwrap_or(f64::NAN);
            let now_wall = s
                .execute_async("arguments[0](Date.now())", Vec::new())?
                .as_f64()
                .unwrap_or(f64::NAN);
            nav = Some(at);
            launch = process_age_ms(&app_path).map(|age| age - (now_wall - painted_wall));
            println!("start {i}: steps {}", steps(s)?);
            println!(
                "start {i}: navigation start → timeline painted {at:.0} ms; process start → painted {:.0} ms",
                launch.unwrap_or(f64::NAN)
            );
            if last {
                measure_live(s, &channel, &demo_port, &account)?;
                measure_scroll(s, &app_path)?;
                let (path, _) = app.screenshot("perf-100k.png")?;
                println!("screenshot {}", path.display());
            }
            Ok(())
        });
        nav_to_paint.extend(nav);
        launch_to_paint.extend(launch);
    }
    println!(
        "FIGURE start: navigation start → cached channel painted, median {:.0} ms (n={}); process start → painted, median {:.0} ms",
        median(nav_to_paint.clone()),
        nav_to_paint.len(),
        median(launch_to_paint)
    );
}

/// Colleagues post in the channel in view; each post's commit → paint.
fn measure_live(s: &Session, channel: &str, port: &str, account: &AccountId) -> Result<(), Error> {
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::new();
    let tenant: Value = client
        .get(format!("{base}/_emulator/tenant"))
        .send()
        .and_then(|r| r.json())
        .map_err(|e| Error::check("read the demo tenant", e.to_string()))?;
    let me = account.user_id.to_string();
    let colleague = tenant["users"]
        .as_array()
        .and_then(|u| u.iter().find(|u| u["id"] != me.as_str()))
        .and_then(|u| u["upn"].as_str())
        .unwrap_or_default()
        .to_owned();
    let team = tenant["teams"]
        .as_array()
        .and_then(|teams| {
            teams.iter().find(|t| {
                t["channels"]
                    .as_array()
                    .is_some_and(|cs| cs.iter().any(|c| c["id"] == channel))
            })
        })
        .and_then(|t| t["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    let mut samples = Vec::new();
    for n in 0..5 {
        let posted: Value = client
            .post(format!("{base}/_emulator/act"))
            .json(
                &json!({"as": colleague, "kind": "post", "team": team, "channel": channel,
                          "body": format!("<p>bench live post {n}</p>")}),
            )
            .send()
            .and_then(|r| r.json())
            .map_err(|e| Error::check("post as a colleague", e.to_string()))?;
        let id = posted["id"].as_str().unwrap_or_default().to_owned();
        let mark = wait_mark(
            s,
            "the colleague's post painted",
            Duration::from_secs(40),
            |m| {
                m["detail"]["ids"]
                    .as_array()
                    .is_some_and(|ids| ids.iter().any(|i| i == id.as_str()))
            },
        )?;
        let commit = mark["detail"]["committedAtMs"].as_f64();
        let paint = mark["detail"]["paintedAtMs"].as_f64();
        if let (Some(c), Some(p)) = (commit, paint) {
            println!("live post {n}: store commit → painted {:.1} ms", p - c);
            samples.push(p - c);
        }
    }
    println!(
        "FIGURE delta: store commit → on screen, median {:.1} ms, max {:.1} ms (n={})",
        median(samples.clone()),
        samples.iter().cloned().fold(f64::NAN, f64::max),
        samples.len()
    );
    Ok(())
}

/// Loads the whole channel by scrolling up, then measures DOM size, frame times and RSS.
fn measure_scroll(s: &Session, app: &Path) -> Result<(), Error> {
    let (rss, pss, procs) = memory_kb(app);
    println!(
        "FIGURE memory-open: the channel open (newest posts loaded): PSS {} MB, RSS sum {} MB, {procs} processes",
        pss / 1024,
        rss / 1024
    );
    // PERCH_E2E_BENCH_SCROLL=0 stops here (the start and memory figures only, in 4 minutes
    // less).
    if std::env::var("PERCH_E2E_BENCH_SCROLL").is_ok_and(|v| v == "0") {
        return Ok(());
    }
    let t0 = Instant::now();
    let mut items = 0;
    while t0.elapsed() < Duration::from_secs(600) {
        s.execute_async(
            "const done = arguments[0]; const f = document.querySelector('.timeline .scroller'); \
             if (f) f.scrollTop = 0; setTimeout(() => done(true), 30);",
            Vec::new(),
        )?;
        items = marks(s)?
            .iter()
            .filter_map(|m| m["detail"]["items"].as_u64())
            .max()
            .unwrap_or(0) as usize;
        if items >= POSTS {
            break;
        }
    }
    println!(
        "loaded {items} posts by scrolling up in {:.1?}",
        t0.elapsed()
    );
    let rows = s
        .execute_async(
            "arguments[0](document.querySelectorAll('[data-testid=\"message\"]').length)",
            Vec::new(),
        )?
        .as_u64()
        .unwrap_or(0);
    let frames = s.execute_async(
        r#"
const done = arguments[0];
const f = document.querySelector('.timeline .scroller');
const times = [];
let last = performance.now();
let n = 0;
function step(t) {
  times.push(t - last); last = t;
  f.scrollTop = Math.max(0, f.scrollTop + 900);
  if (++n < 240) requestAnimationFrame(step); else done(times.slice(1));
}
requestAnimationFrame(step);
"#,
        Vec::new(),
    )?;
    let frames: Vec<f64> = frames
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let (rss, pss, procs) = memory_kb(app);
    println!(
        "FIGURE virtual: {items} posts in the timeline, {rows} rows in the DOM; scrolling 900 px a frame: frame time median {:.1} ms, p95 {:.1} ms",
        median(frames.clone()),
        p95(frames)
    );
    println!(
        "FIGURE memory-loaded: all {items} posts loaded: PSS {} MB, RSS sum {} MB, {procs} processes",
        pss / 1024,
        rss / 1024
    );
    Ok(())
}
