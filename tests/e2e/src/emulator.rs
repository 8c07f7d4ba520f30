//! The Graph emulator the organisation scenarios sign in to: one per test run, inside the test
//! process, on a free loopback port. It is perch-emulator's own server (the one every other
//! test uses), started with live colleagues off, so only what a scenario injects happens, and
//! with access tokens that live 330 s, so the app refreshes them every half minute.
//!
//! Scenarios change it the way a script would, through the admin API over HTTP
//! (`/_emulator/act`, `/pause`, `/refuse`, `/resume`, `/revoke`), and confirm what the app did
//! by reading the emulator's state directly: a post the UI shows as sent must be in there,
//! exactly once.

use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use perch_emulator::model::{MembershipType, Message, Tenant};
use perch_emulator::{AppState, Emulator, EmulatorConfig, LiveConfig, Profile};
use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::Value;

use crate::Error;

/// A user of the emulated tenant.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// Entra object id.
    pub id: String,
    /// Sign-in name.
    pub upn: String,
    /// Display name.
    pub display_name: String,
}

/// The running emulator and what the scenarios need to know about its tenant.
#[derive(Debug)]
pub struct TestEmulator {
    base: String,
    tenant_id: String,
    client_id: String,
    users: Vec<TestUser>,
    state: AppState,
    http: Client,
}

static EMULATOR: OnceLock<Result<TestEmulator, String>> = OnceLock::new();

/// The run's emulator, started on first use.
pub fn shared() -> Result<&'static TestEmulator, Error> {
    EMULATOR
        .get_or_init(|| TestEmulator::start().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::Setup(format!("start the emulator: {e}")))
}

impl TestEmulator {
    fn start() -> Result<TestEmulator, Error> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("emulator".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = tx.send(Err(format!("tokio runtime: {e}")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let config = EmulatorConfig {
                        profile: Profile::Small,
                        // Refreshed 5 minutes early, so about every 30 s: a revoked sign-in
                        // shows within a scenario, and every scenario refreshes for real.
                        access_token_lifetime_secs: 330,
                        live: LiveConfig {
                            enabled: false,
                            ..LiveConfig::default()
                        },
                        ..EmulatorConfig::default()
                    };
                    match Emulator::start(config).await {
                        Ok(emulator) => {
                            let _ = tx.send(Ok((
                                emulator.base_url().to_owned(),
                                emulator.state().clone(),
                            )));
                            // Serves for the rest of the test process.
                            std::future::pending::<()>().await;
                            drop(emulator);
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e.to_string()));
                        }
                    }
                });
            })
            .map_err(|source| Error::Spawn {
                step: "start the emulator thread",
                program: "perch-emulator".to_owned(),
                source,
            })?;
        let (base, state) = rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| Error::Setup("the emulator did not start within 60 s".to_owned()))?
            .map_err(Error::Setup)?;
        let (tenant_id, client_id, users) = {
            let tenant = state.tenant.read();
            let client = tenant
                .apps
                .first()
                .map(|a| a.client_id.to_string())
                .ok_or_else(|| Error::Setup("the emulated tenant has no app".to_owned()))?;
            let users = tenant
                .users
                .iter()
                .map(|u| TestUser {
                    id: u.id.to_string(),
                    upn: u.upn.clone(),
                    display_name: u.display_name.clone(),
                })
                .collect();
            (tenant.id.to_string(), client, users)
        };
        let http = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|source| Error::Http {
                step: "build the admin HTTP client".to_owned(),
                source,
            })?;
        Ok(TestEmulator {
            base,
            tenant_id,
            client_id,
            users,
            state,
            http,
        })
    }

    /// `http://127.0.0.1:PORT`: the login host and the Graph host.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The tenant id.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// The registered app's client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The tenant's users; the scenarios sign in as the first.
    pub fn users(&self) -> &[TestUser] {
        &self.users
    }

    /// The user the app signs in as.
    pub fn me(&self) -> &TestUser {
        &self.users[0]
    }

    /// Calls the admin API; answers the JSON body (`Null` for 204).
    pub fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, Error> {
        let step = format!("{method} /_emulator{path}");
        let mut request = self
            .http
            .request(method, format!("{}/_emulator{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().map_err(|source| Error::Http {
            step: step.clone(),
            source,
        })?;
        let status = response.status();
        let text = response.text().map_err(|source| Error::Http {
            step: step.clone(),
            source,
        })?;
        if !status.is_success() {
            return Err(Error::check(step, format!("{status}: {text}")));
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| Error::Protocol {
            step,
            detail: format!("not JSON ({e}): {text}"),
        })
    }

    /// Writes as a colleague (`POST /_emulator/act`); answers the message as Graph renders it.
    pub fn act(&self, body: Value) -> Result<Value, Error> {
        self.admin(Method::POST, "/act", Some(body))
    }

    /// No faults, online, throttling limits as configured: what every scenario starts from.
    pub fn reset(&self) -> Result<(), Error> {
        self.admin(Method::DELETE, "/faults", None).map(drop)
    }

    /// Holds every Graph and Entra request unanswered until [`TestEmulator::resume`].
    pub fn pause(&self) -> Result<(), Error> {
        self.admin(
            Method::POST,
            "/pause",
            Some(serde_json::json!({"target": "all"})),
        )
        .map(drop)
    }

    /// Drops every Graph and Entra connection unanswered until [`TestEmulator::resume`].
    pub fn refuse(&self) -> Result<(), Error> {
        self.admin(
            Method::POST,
            "/refuse",
            Some(serde_json::json!({"target": "all"})),
        )
        .map(drop)
    }

    /// Back online.
    pub fn resume(&self) -> Result<(), Error> {
        self.admin(Method::POST, "/resume", None).map(drop)
    }

    /// Revokes every refresh token issued so far.
    pub fn revoke_all(&self) -> Result<(), Error> {
        self.admin(Method::POST, "/revoke", None).map(drop)
    }

    /// Reads the tenant.
    pub fn with_tenant<R>(&self, f: impl FnOnce(&Tenant) -> R) -> R {
        f(&self.state.tenant.read())
    }

    /// Changes the tenant directly (setting up content no admin route makes, before the app
    /// has seen it). The closure must keep the message log's invariants (touch what it
    /// changes).
    pub fn with_tenant_mut<R>(&self, f: impl FnOnce(&mut Tenant) -> R) -> R {
        f(&mut self.state.tenant.write())
    }

    /// A channel's root posts (with their replies), by display names.
    pub fn posts(&self, team: &str, channel: &str) -> Result<Vec<Message>, Error> {
        self.with_tenant(|tenant| {
            tenant
                .teams
                .iter()
                .find(|t| t.display_name == team)
                .and_then(|t| t.channels.iter().find(|c| c.display_name == channel))
                .map(|c| c.messages.roots.clone())
        })
        .ok_or_else(|| Error::check("find a channel", format!("no channel {team} › {channel}")))
    }

    /// The first team the signed-in user belongs to with at least two standard channels, as
    /// (team, [channels]) display names.
    pub fn my_team(&self) -> Result<(String, Vec<String>), Error> {
        let me = self.me().id.clone();
        self.with_tenant(|tenant| {
            tenant
                .teams
                .iter()
                .filter(|t| t.members.iter().any(|m| m.to_string() == me))
                .map(|t| {
                    (
                        t.display_name.clone(),
                        t.channels
                            .iter()
                            .filter(|c| c.membership_type == MembershipType::Standard)
                            .map(|c| c.display_name.clone())
                            .collect::<Vec<_>>(),
                    )
                })
                .find(|(_, channels)| channels.len() >= 2)
        })
        .ok_or_else(|| Error::Setup("the signed-in user has no team with two channels".to_owned()))
    }
}
