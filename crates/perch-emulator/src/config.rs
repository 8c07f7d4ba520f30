//! Emulator configuration: what a test, the demo or the `perch-emulator` binary chooses at
//! start (seed, tenant size, live activity, limits, faults, token lifetimes, state file).
//! Loadable from a JSON file; every field has a default so a config names only what it changes.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::faults::FaultsConfig;

/// Everything the emulator is started with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmulatorConfig {
    /// Where to listen. Port 0 picks a free port.
    pub addr: SocketAddr,
    /// Seed for the demo tenant and every random choice (faults, live activity).
    pub seed: u64,
    /// How big the tenant is.
    pub profile: Profile,
    /// Simulated colleagues.
    pub live: LiveConfig,
    /// Throttling.
    pub limits: LimitsConfig,
    /// Faults active from the start (the admin API changes them at run time).
    pub faults: FaultsConfig,
    /// `authorize` redirects at once for the `login_hint` user (or the first demo user).
    pub auto_approve: bool,
    /// Access-token lifetime in seconds (Entra: 60–90 minutes; tests use seconds).
    pub access_token_lifetime_secs: u64,
    /// Refresh-token lifetime in seconds (Entra: 90 days for native apps).
    pub refresh_token_lifetime_secs: u64,
    /// Authorization-code lifetime in seconds (Entra: about 10 minutes).
    pub auth_code_lifetime_secs: u64,
    /// Whether a refresh token that has been rotated may be used again. Entra tolerates it for
    /// a while; the default (false) is stricter so a client that forgets to store the rotated
    /// token fails in tests.
    pub allow_refresh_token_reuse: bool,
    /// Keep state across restarts in this file (JSON), loaded at start and saved on shutdown.
    pub state_file: Option<PathBuf>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 42,
            profile: Profile::Demo,
            live: LiveConfig::default(),
            limits: LimitsConfig::default(),
            faults: FaultsConfig::default(),
            auto_approve: false,
            access_token_lifetime_secs: 3600,
            refresh_token_lifetime_secs: 90 * 24 * 3600,
            auth_code_lifetime_secs: 600,
            allow_refresh_token_reuse: false,
            state_file: None,
        }
    }
}

/// Tenant size.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub enum Profile {
    /// A handful of teams, a few thousand messages over months: the demo and most tests.
    Demo,
    /// A tiny tenant for fast tests: two teams, a few channels, tens of messages.
    Small,
    /// For benchmarks: at least 100 channels and 200,000 messages; starts in under 2 s.
    Large,
    /// Explicit sizes.
    Custom(TenantSize),
}

/// Explicit tenant sizes for [`Profile::Custom`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct TenantSize {
    /// Number of demo users.
    pub users: usize,
    /// Number of teams.
    pub teams: usize,
    /// Channels per team (including General).
    pub channels_per_team: usize,
    /// Root posts per channel.
    pub posts_per_channel: usize,
    /// Average replies per post.
    pub replies_per_post: usize,
    /// How far back history goes, in days.
    pub history_days: u32,
}

impl Default for TenantSize {
    fn default() -> Self {
        Self {
            users: 12,
            teams: 4,
            channels_per_team: 4,
            posts_per_channel: 120,
            replies_per_post: 3,
            history_days: 180,
        }
    }
}

/// Simulated colleagues' activity.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LiveConfig {
    /// Whether colleagues act at all.
    pub enabled: bool,
    /// Actions (post, reply, react, edit, mention) per minute across the tenant.
    pub actions_per_minute: f64,
    /// Share of new messages that mention the signed-in (first demo) user.
    pub mention_share: f64,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            actions_per_minute: 6.0,
            mention_share: 0.15,
        }
    }
}

/// Throttling settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LimitsConfig {
    /// Throttle at all.
    pub enabled: bool,
    /// Multiplies every documented limit (tests and benchmarks scale them; 1.0 = Microsoft's).
    pub scale: f64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            scale: 1.0,
        }
    }
}

impl EmulatorConfig {
    /// Reads a JSON config file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, crate::Error> {
        let text = std::fs::read_to_string(path).map_err(|source| crate::Error::Config {
            path: path.to_owned(),
            reason: source.to_string(),
        })?;
        serde_json::from_str(&text).map_err(|e| crate::Error::Config {
            path: path.to_owned(),
            reason: e.to_string(),
        })
    }
}
