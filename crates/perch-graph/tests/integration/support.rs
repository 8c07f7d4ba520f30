//! The test bed: the real emulator in-process on port 0 with the fixture tenant installed, a
//! token source over tokens the emulator mints (optionally handing out a garbage token first),
//! and a client pointed at it.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use perch_auth::{AuthError, Secret};
use perch_emulator::graph::fixture::{self, Fixture, Spec, ALL_SCOPES};
use perch_emulator::{Emulator, EmulatorConfig, LimitsConfig, Profile};
use perch_graph::{Budgets, ClientConfig, GraphClient, RetryPolicy, TokenSource};

/// Tokens minted by the emulator.
pub struct TestTokens {
    good: String,
    /// Hand out garbage until the first `rejected`.
    garbage_first: AtomicBool,
    /// Never hand out a good token.
    always_garbage: bool,
    /// How often Graph's 401 made the client ask for a new token.
    pub rejected: AtomicU32,
}

impl TestTokens {
    pub fn new(good: String) -> TestTokens {
        TestTokens {
            good,
            garbage_first: AtomicBool::new(false),
            always_garbage: false,
            rejected: AtomicU32::new(0),
        }
    }

    pub fn garbage_first(good: String) -> TestTokens {
        TestTokens {
            garbage_first: AtomicBool::new(true),
            ..TestTokens::new(good)
        }
    }

    pub fn always_garbage() -> TestTokens {
        TestTokens {
            always_garbage: true,
            ..TestTokens::new(String::new())
        }
    }

    pub fn rejections(&self) -> u32 {
        self.rejected.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl TokenSource for TestTokens {
    async fn token(&self) -> Result<Secret, AuthError> {
        if self.always_garbage || self.garbage_first.load(Ordering::SeqCst) {
            Ok(Secret::new("eyJnarbage.not-a-token.at-all"))
        } else {
            Ok(Secret::new(self.good.clone()))
        }
    }

    async fn rejected(&self, _rejected: &Secret) -> Result<Secret, AuthError> {
        self.rejected.fetch_add(1, Ordering::SeqCst);
        self.garbage_first.store(false, Ordering::SeqCst);
        self.token().await
    }
}

/// Emulator throttling for a bed.
#[derive(Debug, Clone, Copy)]
pub enum Limits {
    /// Off (functional tests with fast budgets).
    Off,
    /// Microsoft's limits times this.
    Scaled(f64),
}

/// Budgets far above anything, for functional tests against an unthrottled emulator.
pub fn fast_budgets() -> Budgets {
    Budgets {
        per_channel_rps: 500.0,
        tenant_get_rps: 500.0,
        user_post_rps: 500.0,
        team_channels_rps: 500.0,
        other_rps: 500.0,
    }
}

/// Quick retries for tests.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(500),
        max_total: Duration::from_secs(30),
    }
}

pub struct Bed {
    pub emulator: Emulator,
    pub fx: Fixture,
    pub tokens: Arc<TestTokens>,
    pub client: GraphClient,
}

impl Bed {
    pub fn base(&self) -> &str {
        self.emulator.base_url()
    }

    pub fn team(&self, i: usize) -> String {
        self.fx.teams[i].to_string()
    }

    /// A token for users[0] with every scope Perch asks for.
    pub fn token(&self) -> String {
        self.fx
            .token(self.emulator.state(), self.fx.users[0], ALL_SCOPES)
    }

    /// Another client on the same emulator.
    pub fn client_with(
        &self,
        tokens: Arc<dyn TokenSource>,
        budgets: Budgets,
        retry: RetryPolicy,
    ) -> GraphClient {
        let config = ClientConfig {
            budgets,
            retry,
            ..ClientConfig::new(self.base())
        };
        GraphClient::new(config, tokens).expect("client")
    }

    /// Every channel id of team `i`, as the fixture made them.
    pub fn channels_of_team(&self, i: usize) -> Vec<String> {
        let tenant = self.emulator.state().tenant.read();
        tenant
            .team(self.fx.teams[i])
            .unwrap()
            .channels
            .iter()
            .map(|c| c.id.clone())
            .collect()
    }

    /// `GET {base}/_emulator/stats`.
    pub async fn admin_stats(&self) -> serde_json::Value {
        reqwest::get(format!("{}/_emulator/stats", self.base()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

pub async fn bed(spec: Spec, limits: Limits) -> Bed {
    bed_with(spec, limits, fast_budgets(), fast_retry()).await
}

pub async fn bed_with(spec: Spec, limits: Limits, budgets: Budgets, retry: RetryPolicy) -> Bed {
    let (enabled, scale) = match limits {
        Limits::Off => (false, 1.0),
        Limits::Scaled(scale) => (true, scale),
    };
    let emulator = Emulator::start(EmulatorConfig {
        profile: Profile::Small,
        limits: LimitsConfig { enabled, scale },
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts");
    let fx = fixture::build(&spec, chrono::Utc::now());
    fx.install(emulator.state());
    let good = fx.token(emulator.state(), fx.users[0], ALL_SCOPES);
    let tokens = Arc::new(TestTokens::new(good));
    let config = ClientConfig {
        budgets,
        retry,
        ..ClientConfig::new(emulator.base_url())
    };
    let client = GraphClient::new(config, tokens.clone()).expect("client");
    Bed {
        emulator,
        fx,
        tokens,
        client,
    }
}

/// Logs at debug when `RUST_LOG` asks (`RUST_LOG=perch_graph=debug`).
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
