//! `perch-emulator`: a local server that speaks Microsoft Graph v1.0 (Teams channels and
//! channel messages) and the Entra ID v2 endpoints (authorization code + PKCE, refresh, device
//! code) over one origin, with a deterministic demo tenant, live simulated colleagues,
//! Microsoft's throttling limits and switchable faults.
//!
//! It is Perch's test bed and its demo back end, and it is meant to be useful to any Graph
//! client: point the client's login host and Graph host at [`Emulator::base_url`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), perch_emulator::Error> {
//! let emulator = perch_emulator::Emulator::start(Default::default()).await?;
//! println!("Graph at {}/v1.0", emulator.base_url());
//! emulator.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! The emulator never panics on client input: malformed requests get Graph's 400 shape. It holds
//! everything in memory; [`EmulatorConfig::state_file`] keeps it across restarts.

pub mod admin;
pub mod config;
pub mod entra;
pub mod error;
pub mod faults;
pub mod graph;
pub mod images;
pub mod live;
pub mod model;
pub mod ops;
pub mod persist;
pub mod seed;
pub mod server;
pub mod state;
pub mod stats;
pub mod throttle;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{EmulatorConfig, LimitsConfig, LiveConfig, Profile, TenantSize};
pub use error::Error;
pub use state::{AppState, Shared};

/// A running emulator. Dropping it without [`Emulator::shutdown`] stops the server too, but
/// does not save the state file.
#[derive(Debug)]
pub struct Emulator {
    shared: AppState,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Emulator {
    /// Seeds (or loads) the tenant, binds `config.addr` and starts serving.
    pub async fn start(config: EmulatorConfig) -> Result<Self, Error> {
        let (tenant, entra_grants) = match persist::load_saved(&config)? {
            Some(saved) => (saved.tenant, saved.entra),
            None => (seed::generate(&config), None),
        };
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|source| Error::Bind {
                addr: config.addr,
                source,
            })?;
        let local = listener.local_addr().map_err(|source| Error::Bind {
            addr: config.addr,
            source,
        })?;
        let base_url = format!("http://{local}");
        let shared = Arc::new(Shared::new(config, base_url, tenant));
        if let Some(grants) = &entra_grants {
            shared.entra.restore(grants);
        }
        let shutdown = CancellationToken::new();
        let mut tasks = Vec::new();
        let app = server::router(shared.clone());
        tasks.push(tokio::spawn(server::serve(listener, app, shutdown.clone())));
        if shared.config.live.enabled {
            tasks.push(tokio::spawn(live::run(shared.clone(), shutdown.clone())));
        }
        Ok(Self {
            shared,
            shutdown,
            tasks,
        })
    }

    /// `http://127.0.0.1:PORT`: the login host and the Graph host (Graph is under `/v1.0`).
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The shared state, for tests that inspect or change the tenant directly.
    pub fn state(&self) -> &AppState {
        &self.shared
    }

    /// Stops serving, waits for the tasks and writes the state file if one is configured.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        self.shutdown.cancel();
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        persist::save(&self.shared)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
