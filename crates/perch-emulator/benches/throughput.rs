//! `perch-emulator-bench`: Graph throughput of the emulator over loopback.
//!
//! Starts an emulator in-process with a large fixture tenant and throttling off, then runs
//! concurrent keep-alive HTTP/1.1 clients for a fixed time doing (a) message list pages of 50
//! following nextLinks, and (b) full delta rounds (`$top=50&$expand=replies`, nextLinks to the
//! deltaLink). Prints pages per second for each repetition and the median, with the machine's
//! parallelism. Clients read every byte of every page but only look for the link (the
//! benchmark measures the server, not a JSON parser). The client is a minimal HTTP/1.1
//! keep-alive client over `tokio::net::TcpStream` (one connection per client task): a binary
//! target cannot use the crate's dev-dependencies (reqwest), and a light client leaves more of
//! the two shared cores to the server being measured.
//!
//! `cargo run --release -p perch-emulator --bin perch-emulator-bench -- [--secs 3] [--clients 8] [--reps 5]`

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use perch_emulator::graph::fixture::{self, Spec, ALL_SCOPES};
use perch_emulator::{Emulator, EmulatorConfig, LimitsConfig, Profile};

struct Args {
    secs: f64,
    clients: usize,
    reps: usize,
}

fn args() -> Args {
    let mut out = Args {
        secs: 3.0,
        clients: 8,
        reps: 5,
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i + 1 < raw.len() {
        let value = &raw[i + 1];
        match raw[i].as_str() {
            "--secs" => out.secs = value.parse().unwrap_or(out.secs),
            "--clients" => out.clients = value.parse().unwrap_or(out.clients),
            "--reps" => out.reps = value.parse().unwrap_or(out.reps),
            _ => {}
        }
        i += 2;
    }
    out
}

/// The link after `"@odata.nextLink":"` or `"@odata.deltaLink":"`, if any.
fn link(body: &[u8], name: &str) -> Option<String> {
    let needle = format!("\"{name}\":\"");
    let at = memfind(body, needle.as_bytes())? + needle.len();
    let end = body[at..].iter().position(|&b| b == b'"')? + at;
    Some(String::from_utf8_lossy(&body[at..end]).into_owned())
}

fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[derive(Clone, Copy)]
enum Mode {
    List,
    Delta,
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn connect(addr: &str) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(1 << 17),
        })
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 65536];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// GET `path`; returns the status and the body.
    async fn get(
        &mut self,
        host: &str,
        path: &str,
        token: &str,
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n");
        self.stream.write_all(request.as_bytes()).await?;
        let head_end = loop {
            if let Some(at) = memfind(&self.buf, b"\r\n\r\n") {
                break at + 4;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = None;
        let mut chunked = false;
        for line in head.lines().skip(1) {
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding")
                    && value.contains("chunked")
                {
                    chunked = true;
                }
            }
        }
        self.buf.drain(..head_end);
        let mut body = Vec::new();
        if chunked {
            loop {
                let line_end = loop {
                    if let Some(at) = memfind(&self.buf, b"\r\n") {
                        break at;
                    }
                    self.fill().await?;
                };
                let size_text = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
                let size =
                    usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
                        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidData))?;
                while self.buf.len() < line_end + 2 + size + 2 {
                    self.fill().await?;
                }
                body.extend_from_slice(&self.buf[line_end + 2..line_end + 2 + size]);
                self.buf.drain(..line_end + 2 + size + 2);
                if size == 0 {
                    break;
                }
            }
        } else {
            let length = length.unwrap_or(0);
            while self.buf.len() < length {
                self.fill().await?;
            }
            body.extend_from_slice(&self.buf[..length]);
            self.buf.drain(..length);
        }
        Ok((status, body))
    }
}

#[allow(clippy::too_many_arguments)]
async fn client(
    addr: Arc<String>,
    token: Arc<String>,
    starts: Arc<Vec<String>>,
    offset: usize,
    mode: Mode,
    stop: Arc<AtomicBool>,
    pages: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
) {
    let origin = format!("http://{addr}");
    let mut conn = match Conn::connect(&addr).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("connect failed: {e}");
            return;
        }
    };
    let mut n = offset;
    let mut url = starts[n % starts.len()].clone();
    while !stop.load(Ordering::Relaxed) {
        let path = url.strip_prefix(&origin).unwrap_or(&url).to_owned();
        let (status, body) = match conn.get(&addr, &path, &token).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("request failed: {e}");
                return;
            }
        };
        if status != 200 {
            eprintln!(
                "status {status} for {url}: {}",
                String::from_utf8_lossy(&body)
            );
            return;
        }
        pages.fetch_add(1, Ordering::Relaxed);
        bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        // nextLink sits before `value`; a missing one means the sequence is over.
        let head = &body[..body.len().min(4096)];
        match link(head, "@odata.nextLink") {
            Some(next) => url = next,
            None => {
                if let Mode::Delta = mode {
                    assert!(
                        link(&body, "@odata.deltaLink").is_some(),
                        "a last delta page has a deltaLink"
                    );
                }
                n += 1;
                url = starts[n % starts.len()].clone();
            }
        }
    }
}

async fn run(
    args: &Args,
    addr: &Arc<String>,
    token: &Arc<String>,
    starts: Vec<String>,
    mode: Mode,
) -> Vec<f64> {
    let starts = Arc::new(starts);
    let mut rates = Vec::new();
    for _ in 0..args.reps {
        let stop = Arc::new(AtomicBool::new(false));
        let pages = Arc::new(AtomicU64::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let began = Instant::now();
        let tasks: Vec<_> = (0..args.clients)
            .map(|i| {
                tokio::spawn(client(
                    addr.clone(),
                    token.clone(),
                    starts.clone(),
                    i,
                    mode,
                    stop.clone(),
                    pages.clone(),
                    bytes.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_secs_f64(args.secs)).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        let elapsed = began.elapsed().as_secs_f64();
        let rate = pages.load(Ordering::Relaxed) as f64 / elapsed;
        let mb = bytes.load(Ordering::Relaxed) as f64 / elapsed / 1e6;
        println!("  {rate:>9.0} pages/s  ({mb:.0} MB/s)");
        rates.push(rate);
    }
    rates
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args();
    let spec = Spec {
        users: 12,
        teams: 4,
        channels_per_team: 25,
        posts_per_channel: 500,
        replies_per_post: 2,
        old_posts_per_channel: 0,
    };
    let built = Instant::now();
    let fx = fixture::build(&spec, chrono::Utc::now());
    let config = EmulatorConfig {
        profile: Profile::Small,
        limits: LimitsConfig {
            enabled: false,
            scale: 1.0,
        },
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start(config).await?;
    fx.install(emulator.state());
    let token = Arc::new(fx.token(emulator.state(), fx.users[0], ALL_SCOPES));
    let channels: Vec<(uuid::Uuid, String)> = fx
        .tenant
        .teams
        .iter()
        .flat_map(|t| {
            t.channels
                .iter()
                .filter(|c| c.visible_to(t, fx.users[0]))
                .map(move |c| (t.id, c.id.clone()))
        })
        .collect();
    let roots: usize = fx
        .tenant
        .teams
        .iter()
        .flat_map(|t| &t.channels)
        .map(|c| c.messages.roots.len() * (1 + spec.replies_per_post))
        .sum();
    let base = format!("{}/v1.0", emulator.base_url());
    let addr = Arc::new(emulator.base_url().trim_start_matches("http://").to_owned());
    let list: Vec<String> = channels
        .iter()
        .map(|(t, c)| format!("{base}/teams/{t}/channels/{c}/messages?$top=50"))
        .collect();
    let delta: Vec<String> = channels
        .iter()
        .map(|(t, c)| {
            format!("{base}/teams/{t}/channels/{c}/messages/delta?$top=50&$expand=replies")
        })
        .collect();
    println!(
        "perch-emulator-bench: {} channels, {roots} messages (built in {:.2}s); {} clients, {} s x {} reps; nproc = {}",
        channels.len(),
        built.elapsed().as_secs_f64(),
        args.clients,
        args.secs,
        args.reps,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    // One pass fills the rendering cache, as a running emulator's would be.
    let warm = Args {
        secs: 1.0,
        clients: args.clients,
        reps: 1,
    };
    println!("warm-up (list)");
    run(&warm, &addr, &token, list.clone(), Mode::List).await;
    println!("(a) message list pages of 50, following nextLinks");
    let a = median(run(&args, &addr, &token, list, Mode::List).await);
    println!("(b) delta rounds, $top=50&$expand=replies");
    let b = median(run(&args, &addr, &token, delta, Mode::Delta).await);
    println!("median: list {a:.0} pages/s, delta {b:.0} pages/s");
    emulator.shutdown().await?;
    Ok(())
}
