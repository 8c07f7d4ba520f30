//! What every command starts from: the data folder (`--data-dir`, else `PERCH_DATA_DIR`, else
//! the platform's folder), the organisation resolved from perch-core's settings layers, the
//! SQLite store, and the refresh-token custody (the OS keyring, or memory with
//! `--session-only`).
//!
//! The settings layers are, lowest first: defaults, `{data dir}/settings.json`, the `PERCH_*`
//! environment, and the managed policy (`perch_core::policy::read_system`; in debug builds
//! `PERCH_POLICY_FILE`). An invalid value fails every command (exit 78); a *missing* client id
//! fails only the commands that need the organisation (`login`), so that `accounts` and
//! `logout` work on a machine whose settings are gone. A policy key the policy reader refused
//! does not fail anything: each is a warning on stderr naming the key and the reason, and the
//! command goes on with Perch's default for it. The policy's extra scopes, allowed tenants,
//! proxy and cache retention apply to every command.

use std::path::PathBuf;
use std::sync::Arc;

use perch_auth::{
    HttpClient, KeyringStore, ManagerOptions, MemoryStore, SecretStore, TokenManager,
};
use perch_core::{
    resolve, ConfigError, DataDir, Organisation, Platform, PolicyReport, Scopes, SettingsLayer,
    SettingsSource,
};
use perch_store::Store;

use crate::error::CliError;

/// The resolved starting point of a command.
#[derive(Debug)]
pub struct Context {
    /// Where the database and settings live.
    pub data_dir: DataDir,
    /// The organisation, or why it could not be resolved (only [`ConfigError::Missing`] is
    /// kept here; invalid values fail [`Context::load`]).
    pub org: Result<Organisation, ConfigError>,
    /// `--session-only`.
    pub session_only: bool,
    /// The managed policy as read (its problems were already printed on stderr).
    pub policy: PolicyReport,
}

/// The data folder: `--data-dir`, else `PERCH_DATA_DIR`, else the platform's.
pub fn data_dir_of(data_dir: Option<PathBuf>) -> Result<DataDir, CliError> {
    match data_dir {
        Some(path) => Ok(DataDir::at(path)),
        None => DataDir::resolve(std::env::vars(), Platform::current()).ok_or(CliError::NoDataDir),
    }
}

impl Context {
    /// Resolves the data folder and the settings from the process environment and the managed
    /// policy (read once, by `main`).
    pub fn load(
        data_dir: Option<PathBuf>,
        session_only: bool,
        policy: &PolicyReport,
    ) -> Result<Context, CliError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        let data_dir = data_dir_of(data_dir)?;
        let settings = data_dir.settings_file();
        let mut layers = vec![SettingsLayer::defaults()];
        if let Some(user) =
            SettingsLayer::read_file(&settings, SettingsSource::User(settings.clone()))?
        {
            layers.push(user);
        }
        layers.push(SettingsLayer::environment(vars));
        let policy = policy.clone();
        for problem in &policy.problems {
            eprintln!("perch-cli: warning: {problem}");
        }
        if let Some(layer) = policy.settings_layer() {
            layers.push(layer);
        }
        let org = match resolve(&layers) {
            Ok(mut org) => {
                policy.policy.extend_scopes(&mut org);
                Ok(org)
            }
            Err(missing @ ConfigError::Missing { .. }) => Err(missing),
            Err(other) => return Err(other.into()),
        };
        Ok(Context {
            data_dir,
            org,
            session_only,
            policy,
        })
    }

    /// The organisation, failing (exit 78) when a required setting is missing.
    pub fn organisation(&self) -> Result<&Organisation, CliError> {
        self.org.as_ref().map_err(|e| CliError::Config(e.clone()))
    }

    /// Opens (creating and migrating) the database. A corrupt file is moved aside and a new
    /// one started with what could be salvaged; the person is told on stderr (once: the next
    /// open finds the new, sound file).
    pub fn store(&self) -> Result<Store, CliError> {
        let (store, recovery) = Store::open_checked(&self.data_dir.database())?;
        if let Some(r) = recovery {
            eprintln!(
                "perch-cli: the local database was corrupt ({}); it was moved to {} and a new one was started. \
                 Salvaged: {} accounts, {} followed channels, {} drafts, {} unsent writes. \
                 Messages will be fetched again from Microsoft Graph.",
                r.reason,
                r.moved_to.display(),
                r.salvaged_accounts,
                r.salvaged_follows,
                r.salvaged_drafts,
                r.salvaged_outbox
            );
        }
        Ok(store)
    }

    /// The refresh-token custody: memory with `--session-only`, else the OS keyring (an
    /// unavailable keyring is an error, never a silent fallback).
    /// With `probe`, the keyring is also written to and cleaned once, so that a locked keyring
    /// is reported before a sign-in rather than after it.
    pub fn secrets(&self, probe: bool) -> Result<Arc<dyn SecretStore>, CliError> {
        if self.session_only {
            return Ok(Arc::new(MemoryStore::new()));
        }
        let keyring = KeyringStore::platform()?;
        if probe {
            keyring.probe()?;
        }
        Ok(Arc::new(keyring))
    }

    /// A token manager over the store and `secrets`.
    pub fn manager(&self, secrets: Arc<dyn SecretStore>) -> Result<TokenManager, CliError> {
        let scopes = self
            .org
            .as_ref()
            .map(|o| o.scopes.clone())
            .unwrap_or_else(|_| Scopes::default());
        Ok(TokenManager::new(
            HttpClient::with_proxy(self.policy.policy.proxy.as_deref())?,
            self.store()?,
            secrets,
            ManagerOptions {
                scopes,
                allowed_tenants: self.policy.policy.allowed_tenant_ids(),
                ..ManagerOptions::default()
            },
        ))
    }
}
