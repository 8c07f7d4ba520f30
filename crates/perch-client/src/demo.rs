//! Demo mode: with no organisation configured, Perch runs against its built-in Graph emulator.
//! This module starts the emulator in-process (the demo tenant, simulated colleagues, Microsoft's
//! limits, sign-in auto-approved), keeps its state under the data folder so the demo tenant, its
//! grants and the cache agree across restarts, and supplies the "browser" that completes the
//! real PKCE sign-in against it: an HTTP client that opens the authorize URL and follows the
//! emulator's redirect to Perch's loopback listener, exactly as a browser would.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use perch_auth::BrowserOpener;
use perch_core::{RawSettings, SettingsLayer, SettingsSource};
use perch_emulator::{Emulator, EmulatorConfig, LiveConfig, Profile};

use crate::error::AppError;

/// A running demo tenant.
#[derive(Debug)]
pub struct Demo {
    emulator: Emulator,
    tenant_id: uuid::Uuid,
    client_id: uuid::Uuid,
}

/// The file the demo tenant is saved to (and its port beside it).
fn state_file(dir: &Path) -> PathBuf {
    dir.join("demo-tenant.json")
}

fn port_file(dir: &Path) -> PathBuf {
    dir.join("demo-port")
}

fn identity_file(dir: &Path) -> PathBuf {
    dir.join("identity.json")
}

/// What Perch needs to know about the demo tenant before it runs (its ids and port), kept
/// beside it so that a restart can paint the cache while the emulator starts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DemoIdentity {
    /// The tenant.
    pub tenant_id: uuid::Uuid,
    /// The demo app registration.
    pub client_id: uuid::Uuid,
    /// The loopback port it listened on.
    pub port: u16,
}

impl DemoIdentity {
    /// The identity saved by the last start, if it can be read and the state file is there.
    pub fn load(dir: &Path) -> Option<DemoIdentity> {
        if !state_file(dir).exists() {
            return None;
        }
        let text = std::fs::read_to_string(identity_file(dir)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The settings layer that points Perch at the demo tenant.
    pub fn settings_layer(&self) -> SettingsLayer {
        SettingsLayer::new(
            SettingsSource::Named("the demo tenant".into()),
            RawSettings {
                tenant: Some(self.tenant_id.to_string()),
                client_id: Some(self.client_id.to_string()),
                login_host: Some(self.base_url()),
                graph_host: Some(self.base_url()),
                ..RawSettings::default()
            },
        )
    }
}

impl Demo {
    /// Starts the demo tenant with its state in `dir` (created if needed). It listens on the
    /// loopback port it had last time when that port is free, so that stored links and the
    /// account's hosts stay valid; the second value is false when the port changed (the demo
    /// account's cache must then be dropped).
    pub async fn start(dir: &Path, live: bool) -> Result<(Demo, bool, Option<String>), AppError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            AppError::new(
                "data_dir_unwritable",
                format!("could not create {}: {e}", dir.display()),
            )
        })?;
        let previous: Option<u16> = std::fs::read_to_string(port_file(dir))
            .ok()
            .and_then(|s| s.trim().parse().ok());
        let config = |port: u16| EmulatorConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            profile: Profile::Demo,
            live: LiveConfig {
                enabled: live,
                ..LiveConfig::default()
            },
            auto_approve: true,
            state_file: Some(state_file(dir)),
            ..EmulatorConfig::default()
        };
        let mut problem = None;
        let first = Emulator::start(config(previous.unwrap_or(0))).await;
        let (emulator, same_port) = match first {
            Ok(e) => (e, previous.is_some()),
            Err(perch_emulator::Error::Bind { .. }) => {
                tracing::warn!(port = ?previous, "the demo tenant's port is taken; using another");
                (start(config(0)).await?, false)
            }
            Err(perch_emulator::Error::State { .. })
            | Err(perch_emulator::Error::Config { .. }) => {
                // A damaged or older saved tenant: keep it aside and start a fresh one.
                let aside = state_file(dir).with_extension(format!(
                    "json.damaged-{}",
                    chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
                ));
                let _ = std::fs::rename(state_file(dir), &aside);
                problem = Some(format!(
                    "The saved demo organisation could not be read; it was moved to {} and a fresh one started.",
                    aside.display()
                ));
                (start(config(0)).await?, false)
            }
        };
        let port = emulator
            .base_url()
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        if let Err(error) = std::fs::write(port_file(dir), port) {
            tracing::warn!(%error, "could not record the demo tenant's port");
        }
        let (tenant_id, client_id) = {
            let tenant = emulator.state().tenant.read();
            let client = tenant
                .apps
                .first()
                .map(|a| a.client_id)
                .ok_or_else(|| AppError::internal("the demo tenant has no app registration"))?;
            (tenant.id, client)
        };
        let demo = Demo {
            emulator,
            tenant_id,
            client_id,
        };
        let identity = serde_json::to_string(&demo.identity()).unwrap_or_default();
        if let Err(error) = std::fs::write(identity_file(dir), identity) {
            tracing::warn!(%error, "could not record the demo tenant's identity");
        }
        Ok((demo, same_port, problem))
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.base_url()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        self.emulator.base_url()
    }

    /// The emulator (tests inspect its state).
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// Its ids and port.
    pub fn identity(&self) -> DemoIdentity {
        DemoIdentity {
            tenant_id: self.tenant_id,
            client_id: self.client_id,
            port: self.port(),
        }
    }

    /// The settings layer that points Perch at the demo tenant.
    pub fn settings_layer(&self) -> SettingsLayer {
        self.identity().settings_layer()
    }

    /// Stops the emulator and saves the demo tenant.
    pub async fn shutdown(self) {
        if let Err(error) = self.emulator.shutdown().await {
            tracing::warn!(%error, "could not save the demo tenant");
        }
    }
}

async fn start(config: EmulatorConfig) -> Result<Emulator, AppError> {
    Emulator::start(config).await.map_err(|e| {
        AppError::new(
            "demo_unavailable",
            format!("the demo organisation could not start: {e}"),
        )
    })
}

/// The demo's "browser": opens the authorize URL with an HTTP client that follows redirects,
/// which the emulator (auto-approving) answers with a redirect to Perch's loopback listener.
/// Only loopback URLs are opened.
#[derive(Debug, Clone, Default)]
pub struct AutoApproveBrowser {
    /// The demo tenant's port: the only authorize URL opened.
    pub port: Arc<AtomicU16>,
}

impl BrowserOpener for AutoApproveBrowser {
    fn open(&self, url: &str) -> Result<(), String> {
        let parsed = url::Url::parse(url).map_err(|e| e.to_string())?;
        if parsed.host_str() != Some("127.0.0.1")
            || parsed.port() != Some(self.port.load(Ordering::SeqCst))
        {
            return Err("the demo browser opens only the local demo tenant".into());
        }
        let handle = tokio::runtime::Handle::try_current().map_err(|e| e.to_string())?;
        let url = url.to_owned();
        handle.spawn(async move {
            let client = match reqwest::Client::builder()
                // Redirects stay on this machine (the emulator sends one, to Perch's listener).
                .redirect(reqwest::redirect::Policy::custom(|attempt| {
                    let local = matches!(
                        attempt.url().host_str(),
                        Some("127.0.0.1" | "localhost" | "[::1]")
                    );
                    if attempt.previous().len() >= 5 || !local {
                        attempt.stop()
                    } else {
                        attempt.follow()
                    }
                }))
                .build()
            {
                Ok(c) => c,
                Err(error) => {
                    tracing::warn!(%error, "demo sign-in: no HTTP client");
                    return;
                }
            };
            match client.get(&url).send().await {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => tracing::warn!(status = %r.status(), "demo sign-in was not approved"),
                // Without the URL: after the redirect it carries the authorization code.
                Err(error) => tracing::warn!(error = %error.without_url(), "demo sign-in failed"),
            }
        });
        Ok(())
    }

    fn show_url(&self, _url: &str, reason: &str) {
        tracing::warn!(reason, "demo sign-in could not start");
    }
}
