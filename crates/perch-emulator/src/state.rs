//! The state one running emulator shares between its connections and background tasks: the
//! tenant's data, the identity platform's grants, the throttle buckets, the active faults and
//! the counters. Each part has its own lock so that Graph reads, sign-ins and the admin API do
//! not queue behind one another.

use std::sync::Arc;

use parking_lot::RwLock;

use crate::config::EmulatorConfig;
use crate::model::Tenant;
use crate::{entra, faults, graph, stats, throttle};

/// Shared state; handlers get it as `State<AppState>`.
pub type AppState = Arc<Shared>;

/// See the module docs.
#[derive(Debug)]
pub struct Shared {
    /// The configuration the emulator started with.
    pub config: EmulatorConfig,
    /// `http://127.0.0.1:PORT`, the origin of every link the emulator hands out.
    pub base_url: String,
    /// Users, teams, channels and messages.
    pub tenant: RwLock<Tenant>,
    /// Authorization codes, device codes, refresh tokens, the token-signing key.
    pub entra: entra::EntraState,
    /// Token buckets and Retry-After blocks per scope.
    pub throttle: throttle::Throttle,
    /// Faults switched on at start or through the admin API.
    pub faults: faults::Faults,
    /// Requests per endpoint and scope, 429s served, Retry-After violations.
    pub stats: stats::Stats,
    /// Graph-side bookkeeping (delta sync states, rendered-JSON caches).
    pub graph: graph::GraphState,
}

impl Shared {
    /// Builds the shared state around a tenant.
    pub fn new(config: EmulatorConfig, base_url: String, tenant: Tenant) -> Self {
        Self {
            entra: entra::EntraState::new(&config),
            throttle: throttle::Throttle::new(&config),
            faults: faults::Faults::new(&config),
            stats: stats::Stats::default(),
            graph: graph::GraphState::new(&config),
            tenant: RwLock::new(tenant),
            base_url,
            config,
        }
    }

    /// The Graph root every `@odata.nextLink` starts with: `{base_url}/v1.0`.
    pub fn graph_root(&self) -> String {
        format!("{}/v1.0", self.base_url)
    }
}
