//! The `perch-emulator` binary: starts the emulator and prints
//! `listening on http://127.0.0.1:PORT` as its first line on stdout, so scripts and tests can
//! read the address. Flags override the config file; SIGINT/SIGTERM stop it and save the state
//! file if one is set.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use perch_emulator::{Emulator, EmulatorConfig, Profile};

/// A local Microsoft Graph (Teams channel messages) and Entra ID v2 server with a demo tenant.
#[derive(Debug, Parser)]
#[command(name = "perch-emulator", version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// JSON config file (see `EmulatorConfig`); flags below override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Seed for the demo tenant and every random choice.
    #[arg(long)]
    seed: Option<u64>,
    /// Tenant size.
    #[arg(long, value_enum)]
    profile: Option<ProfileArg>,
    /// Simulated colleagues post, reply, react and mention you.
    #[arg(long)]
    live: bool,
    /// Colleagues' actions per minute (with --live).
    #[arg(long)]
    live_rate: Option<f64>,
    /// Turn throttling off.
    #[arg(long)]
    no_limits: bool,
    /// Multiply every throttling limit (1.0 = Microsoft's numbers).
    #[arg(long)]
    limits_scale: Option<f64>,
    /// `authorize` redirects at once for the `login_hint` user (or the first demo user).
    #[arg(long)]
    auto_approve: bool,
    /// Access-token lifetime in seconds.
    #[arg(long)]
    access_token_lifetime: Option<u64>,
    /// Keep state across restarts in this file.
    #[arg(long)]
    state: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProfileArg {
    Small,
    Demo,
    Large,
}

impl Args {
    fn into_config(self) -> anyhow::Result<EmulatorConfig> {
        let mut config = match &self.config {
            Some(path) => EmulatorConfig::from_file(path)?,
            None => EmulatorConfig::default(),
        };
        config.addr = self.addr;
        if let Some(seed) = self.seed {
            config.seed = seed;
        }
        if let Some(profile) = self.profile {
            config.profile = match profile {
                ProfileArg::Small => Profile::Small,
                ProfileArg::Demo => Profile::Demo,
                ProfileArg::Large => Profile::Large,
            };
        }
        if self.live {
            config.live.enabled = true;
        }
        if let Some(rate) = self.live_rate {
            anyhow::ensure!(
                rate.is_finite() && rate > 0.0,
                "--live-rate must be a positive number of actions per minute, got {rate}"
            );
            config.live.actions_per_minute = rate;
        }
        if self.no_limits {
            config.limits.enabled = false;
        }
        if let Some(scale) = self.limits_scale {
            anyhow::ensure!(
                scale.is_finite() && scale > 0.0,
                "--limits-scale must be a positive number, got {scale}"
            );
            config.limits.scale = scale;
        }
        if self.auto_approve {
            config.auto_approve = true;
        }
        if let Some(secs) = self.access_token_lifetime {
            anyhow::ensure!(
                secs > 0,
                "--access-token-lifetime must be at least 1 second"
            );
            config.access_token_lifetime_secs = secs;
        }
        if let Some(state) = self.state {
            config.state_file = Some(state);
        }
        Ok(config)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PERCH_EMULATOR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = Args::parse().into_config()?;
    // Listen for signals before announcing the address: a script may stop us right after
    // reading the first line.
    let stop = stop_signal()?;
    let emulator = Emulator::start(config)
        .await
        .context("the emulator could not start")?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {}", emulator.base_url())?;
        stdout.flush()?;
    }
    eprintln!(
        "Graph: {0}/v1.0  Entra: {0}/{{tenant}}/oauth2/v2.0  admin: {0}/_emulator/tenant",
        emulator.base_url()
    );
    stop.await;
    emulator
        .shutdown()
        .await
        .context("the emulator did not stop cleanly")?;
    Ok(())
}

/// A future that completes on SIGINT or SIGTERM (Ctrl-C elsewhere). The handlers are
/// installed when this returns, not when the future is first polled.
fn stop_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
