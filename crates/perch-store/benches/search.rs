//! Search benchmark: builds a database of generated messages (default 1,000,000; set
//! `PERCH_BENCH_MESSAGES` or pass a number, e.g. `cargo bench -p perch-store --bench search --
//! 100000`), then runs a mix of searches and prints p50/p95 per kind and overall, the build
//! time, the database size, and ingest rates for ordinary 50-message pages beside a bare
//! rusqlite insert of the same rows.

use std::time::{Duration, Instant};

use perch_store::bench::{bare_insert, setup_account, Generator};
use perch_store::{CacheStore, SearchQuery, Store};

fn count() -> usize {
    std::env::args()
        .skip(1)
        .find_map(|a| a.replace('_', "").parse().ok())
        .or_else(|| {
            std::env::var("PERCH_BENCH_MESSAGES")
                .ok()
                .and_then(|v| v.replace('_', "").parse().ok())
        })
        .unwrap_or(1_000_000)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn main() {
    let n = count();
    // PERCH_BENCH_DIR keeps the database for a look afterwards (it must be empty).
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir_path = std::env::var_os("PERCH_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_owned());
    let path = dir_path.join("bench.sqlite3");
    let mut store = Store::open(&path).expect("open");
    let (account, channels) = setup_account(&mut store, 5, 8).expect("setup");
    let mut g = Generator::new(42, 20_000);

    // Ingest of ordinary pages: 50 messages, one channel, one transaction each.
    let pages = 400.min(n / 50);
    let page_rows: Vec<Vec<_>> = (0..pages)
        .map(|p| {
            let (team, ch) = &channels[p % channels.len()];
            (0..50).map(|_| g.message(team, ch)).collect()
        })
        .collect();
    let t = Instant::now();
    for (p, rows) in page_rows.iter().enumerate() {
        let (_, ch) = &channels[p % channels.len()];
        store.ingest(&account, ch, rows, None).expect("ingest");
    }
    let ingest = t.elapsed();
    let ingested = pages * 50;
    let t = Instant::now();
    for (p, rows) in page_rows.iter().enumerate() {
        let (_, ch) = &channels[p % channels.len()];
        let out = store.ingest(&account, ch, rows, None).expect("ingest");
        assert_eq!(out.unchanged, rows.len());
    }
    let reingest = t.elapsed();
    let all: Vec<_> = page_rows.concat();
    let mut bare = rusqlite::Connection::open(dir_path.join("bare.sqlite3")).expect("bare");
    bare.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .expect("bare pragmas");
    let t = Instant::now();
    for rows in page_rows.chunks(1) {
        bare_insert(&mut bare, &rows[0]).expect("bare insert");
    }
    let bare_t = t.elapsed();
    drop(bare);
    println!("ingest, 50-message pages: {ingested} new rows in {:.0} ms = {:.0} rows/s; unchanged re-ingest {:.0} rows/s; bare rusqlite insert (same pages, plain table) {:.0} rows/s",
        ms(ingest), ingested as f64 / ingest.as_secs_f64(), ingested as f64 / reingest.as_secs_f64(),
        all.len() as f64 / bare_t.as_secs_f64());
    drop(all);
    drop(page_rows);
    if std::env::var_os("PERCH_BENCH_INGEST_ONLY").is_some() {
        return;
    }

    // The rest of the database, fast: 5,000 rows per transaction.
    let t = Instant::now();
    let mut done = ingested;
    while done < n {
        let batch = 5_000.min(n - done);
        let mut by_channel: Vec<Vec<_>> = vec![Vec::new(); channels.len()];
        for _ in 0..batch {
            // Skewed: low channel numbers are busier.
            let c = (g.rng().unit().powi(2) * channels.len() as f64) as usize;
            let (team, ch) = &channels[c];
            by_channel[c].push(g.message(team, ch));
        }
        for (c, rows) in by_channel.iter().enumerate() {
            if !rows.is_empty() {
                store
                    .ingest(&account, &channels[c].1, rows, None)
                    .expect("bulk ingest");
            }
        }
        done += batch;
    }
    let build = t.elapsed();
    // What the engine does when rounds go quiet: merge the index in small steps.
    // PERCH_BENCH_NO_MAINTENANCE measures the searches without it.
    if std::env::var_os("PERCH_BENCH_NO_MAINTENANCE").is_none() {
        let t = Instant::now();
        let mut steps = 0;
        let mut longest = std::time::Duration::ZERO;
        loop {
            let s = Instant::now();
            let more = store.maintain_search(256).expect("maintenance");
            longest = longest.max(s.elapsed());
            if !more {
                break;
            }
            steps += 1;
        }
        println!(
            "search index maintenance: {steps} steps in {:.1} s (longest step {:.0} ms)",
            t.elapsed().as_secs_f64(),
            ms(longest)
        );
    }
    store
        .connection()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("checkpoint");
    println!(
        "built {n} messages ({} in bulk) in {:.1} s ({:.0} rows/s); database {:.0} MB",
        n - ingested,
        build.as_secs_f64(),
        (n - ingested) as f64 / build.as_secs_f64(),
        dir_size(&dir_path) as f64 / 1e6
    );

    let vocab: Vec<String> = g.vocab().to_vec();
    let authors: Vec<String> = g.authors.iter().map(|a| a.0.clone()).collect();
    let rng = g.rng();
    type Make<'a> = Box<dyn FnMut(&mut perch_store::bench::Rng) -> SearchQuery + 'a>;
    let pick = |rng: &mut perch_store::bench::Rng, lo: usize, hi: usize| {
        vocab[lo + rng.below((hi - lo) as u64) as usize].clone()
    };
    let mut kinds: Vec<(&str, Make)> = vec![
        (
            "rare word",
            Box::new(|r| SearchQuery::new(format!("{} ", pick(r, 5_000, 20_000)))),
        ),
        (
            "common word",
            Box::new(|r| SearchQuery::new(format!("{} ", pick(r, 20, 80)))),
        ),
        (
            "two words",
            Box::new(|r| {
                SearchQuery::new(format!("{} {} ", pick(r, 20, 200), pick(r, 100, 2_000)))
            }),
        ),
        (
            "prefix",
            Box::new(|r| {
                let w = pick(r, 50, 1_000);
                let cut: String = w.chars().take(3.max(w.chars().count() - 2)).collect();
                SearchQuery::new(cut)
            }),
        ),
        (
            "channel filter",
            Box::new(|r| {
                let mut q = SearchQuery::new(format!("{} ", pick(r, 20, 200)));
                q.channel_id = Some(channels[r.below(channels.len() as u64) as usize].1.clone());
                q
            }),
        ),
        (
            "author filter",
            Box::new(|r| {
                let mut q = SearchQuery::new(format!("{} ", pick(r, 20, 200)));
                q.from_id = Some(authors[r.below(authors.len() as u64) as usize].clone());
                q
            }),
        ),
        (
            "stop word",
            Box::new(|r| SearchQuery::new(format!("{} ", pick(r, 0, 5)))),
        ),
    ];
    // Warm the page cache a little, as a running app would have.
    for (_, make) in kinds.iter_mut() {
        for _ in 0..3 {
            let _ = store.search(&account, &make(rng)).expect("search");
        }
    }
    let per_kind = 100;
    let mut overall = Vec::new();
    println!("search over {n} messages, {per_kind} queries per kind:");
    for (name, make) in kinds.iter_mut() {
        let mut times = Vec::with_capacity(per_kind);
        let mut hits = 0;
        for _ in 0..per_kind {
            let q = make(rng);
            let t = Instant::now();
            let r = store.search(&account, &q).expect("search");
            times.push(t.elapsed());
            hits += r.len();
        }
        times.sort();
        overall.extend_from_slice(&times);
        println!(
            "  {name:<15} p50 {:>6.2} ms  p95 {:>6.2} ms  max {:>6.2} ms  (avg {:.1} hits)",
            ms(pct(&times, 0.5)),
            ms(pct(&times, 0.95)),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
            hits as f64 / per_kind as f64
        );
    }
    overall.sort();
    println!(
        "  {:<15} p50 {:>6.2} ms  p95 {:>6.2} ms  ({} queries)",
        "overall",
        ms(pct(&overall, 0.5)),
        ms(pct(&overall, 0.95)),
        overall.len()
    );

    // Other reads at this size.
    let t = Instant::now();
    let tl = store
        .timeline(&account, &channels[0].1, None, 50)
        .expect("timeline");
    println!(
        "timeline (50 roots, busiest channel): {:.2} ms",
        ms(t.elapsed())
    );
    let before = tl.last().map(|i| perch_store::MessageKey {
        channel_id: channels[0].1.clone(),
        root_id: i.row.id.clone(),
        id: i.row.id.clone(),
    });
    let t = Instant::now();
    store
        .timeline(&account, &channels[0].1, before.as_ref(), 50)
        .expect("timeline page 2");
    println!("timeline page 2: {:.2} ms", ms(t.elapsed()));
    let t = Instant::now();
    store.counts(&account).expect("counts");
    println!(
        "counts (no read markers, every message unread): {:.1} ms",
        ms(t.elapsed())
    );
    drop(store);
    let t = Instant::now();
    let (_store, rec) = Store::open_checked(&path).expect("open_checked");
    assert!(rec.is_none());
    println!(
        "open_checked (quick_check) at this size: {:.0} ms",
        ms(t.elapsed())
    );
}
