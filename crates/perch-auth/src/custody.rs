//! Refresh-token custody. [`SecretStore`] is where refresh tokens live between runs:
//! [`KeyringStore`] is the OS keyring through keyring-core (Secret Service on Linux, Keychain
//! on macOS, Credential Manager on Windows), one entry per account under service `perch` and
//! user `{tenant id}.{user object id}`; [`MemoryStore`] is the explicit "this session only"
//! mode (and unit tests), which forgets everything when Perch exits.
//!
//! There is no plaintext fallback: when the keyring is unavailable or locked the error says so
//! and what to do, and the caller may choose session-only mode instead. A missing entry is
//! `Ok(None)`. Error texts are built here from the platform's message, never from the
//! secret (keyring-core's `BadEncoding` carries the secret's bytes, so it is never formatted).
//!
//! The calls block (D-Bus round trips); async callers run them on a blocking thread.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};
use parking_lot::Mutex;
use perch_core::AccountId;

use crate::error::AuthError;
use crate::secret::Secret;

/// The keyring service name Perch's entries are filed under.
pub const SERVICE: &str = "perch";

/// Where refresh tokens are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Custody {
    /// The OS keyring: tokens survive restarts.
    Keyring,
    /// Memory only: tokens are gone when Perch exits.
    SessionOnly,
}

/// A place for refresh tokens, one per account.
pub trait SecretStore: Send + Sync + fmt::Debug {
    /// Which kind of custody this is.
    fn custody(&self) -> Custody;
    /// The account's refresh token; `Ok(None)` when there is none.
    fn get(&self, account: &AccountId) -> Result<Option<Secret>, AuthError>;
    /// Stores (replaces) the account's refresh token.
    fn set(&self, account: &AccountId, secret: &Secret) -> Result<(), AuthError>;
    /// Deletes the account's refresh token; succeeds when there was none.
    fn delete(&self, account: &AccountId) -> Result<(), AuthError>;
}

/// The OS keyring.
pub struct KeyringStore {
    store: Arc<CredentialStore>,
    service: String,
}

impl fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyringStore")
            .field("vendor", &self.store.vendor())
            .field("service", &self.service)
            .finish()
    }
}

impl KeyringStore {
    /// Connects to the platform's store and makes it keyring-core's default store.
    pub fn platform() -> Result<KeyringStore, AuthError> {
        let store = platform_store().map_err(|e| AuthError::KeyringUnavailable {
            detail: describe(&e),
        })?;
        keyring_core::set_default_store(store.clone());
        Ok(KeyringStore::with_store(store))
    }

    /// Uses a given keyring-core store (e.g. `keyring_core::mock::Store` in tests).
    pub fn with_store(store: Arc<CredentialStore>) -> KeyringStore {
        KeyringStore {
            store,
            service: SERVICE.to_owned(),
        }
    }

    /// Files entries under another service name (tests keep out of the real `perch` entries).
    pub fn with_service(mut self, service: impl Into<String>) -> KeyringStore {
        self.service = service.into();
        self
    }

    /// Checks that the keyring can be written: writes and deletes a probe entry. A locked
    /// keyring passes reads of missing entries, so reading alone would not tell.
    pub fn probe(&self) -> Result<(), AuthError> {
        let entry =
            Entry::new_in_store(&self.store, &self.service, "probe").map_err(|e| map_error(&e))?;
        entry.set_password("probe").map_err(|e| map_error(&e))?;
        match entry.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_error(&e)),
        }
    }

    fn entry(&self, account: &AccountId) -> Result<Entry, AuthError> {
        Entry::new_in_store(&self.store, &self.service, &account.key()).map_err(|e| map_error(&e))
    }
}

impl SecretStore for KeyringStore {
    fn custody(&self) -> Custody {
        Custody::Keyring
    }

    fn get(&self, account: &AccountId) -> Result<Option<Secret>, AuthError> {
        match self.entry(account)?.get_password() {
            Ok(value) => Ok(Some(Secret::new(value))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_error(&e)),
        }
    }

    fn set(&self, account: &AccountId, secret: &Secret) -> Result<(), AuthError> {
        self.entry(account)?
            .set_password(secret.expose())
            .map_err(|e| map_error(&e))
    }

    fn delete(&self, account: &AccountId) -> Result<(), AuthError> {
        match self.entry(account)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_error(&e)),
        }
    }
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(zbus_secret_service_keyring_store::Store::new()?)
}

#[cfg(target_os = "macos")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(apple_native_keyring_store::keychain::Store::new()?)
}

#[cfg(target_os = "windows")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(windows_native_keyring_store::Store::new()?)
}

#[cfg(not(any(
    target_os = "macos",
    target_os = "windows",
    all(unix, not(any(target_os = "ios", target_os = "android")))
)))]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Err(keyring_core::Error::NotSupportedByStore(
        "no keyring store for this platform".to_owned(),
    ))
}

/// A text for a keyring error that never includes secret material.
fn describe(err: &keyring_core::Error) -> String {
    use keyring_core::Error as E;
    match err {
        E::PlatformFailure(e) | E::NoStorageAccess(e) => e.to_string(),
        E::NoEntry => "no entry".to_owned(),
        E::BadEncoding(_) => "the stored value is not valid text".to_owned(),
        E::BadDataFormat(_, _) => "the stored value has an unexpected format".to_owned(),
        E::BadStoreFormat(_) => "the keyring's data has an unexpected format".to_owned(),
        E::TooLong(what, max) => format!("{what} is longer than {max}"),
        E::Invalid(what, why) => format!("{what} {why}"),
        E::Ambiguous(entries) => format!("{} entries match", entries.len()),
        E::NoDefaultStore => "no keyring store is set up".to_owned(),
        E::NotSupportedByStore(what) => format!("not supported: {what}"),
        _ => "unknown keyring error".to_owned(),
    }
}

fn map_error(err: &keyring_core::Error) -> AuthError {
    let detail = describe(err);
    match err {
        keyring_core::Error::NoStorageAccess(_) => AuthError::KeyringLocked { detail },
        keyring_core::Error::NoDefaultStore => AuthError::KeyringUnavailable { detail },
        keyring_core::Error::PlatformFailure(_) if looks_unavailable(&detail) => {
            AuthError::KeyringUnavailable { detail }
        }
        _ => AuthError::Keyring { detail },
    }
}

fn looks_unavailable(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    [
        "serviceunknown",
        "not provided by any",
        "no such file",
        "connection refused",
        "address",
        "dbus",
    ]
    .iter()
    .any(|needle| d.contains(needle))
}

/// Session-only custody: tokens in memory, gone when the process ends.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<AccountId, Secret>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl SecretStore for MemoryStore {
    fn custody(&self) -> Custody {
        Custody::SessionOnly
    }

    fn get(&self, account: &AccountId) -> Result<Option<Secret>, AuthError> {
        Ok(self.entries.lock().get(account).cloned())
    }

    fn set(&self, account: &AccountId, secret: &Secret) -> Result<(), AuthError> {
        self.entries.lock().insert(*account, secret.clone());
        Ok(())
    }

    fn delete(&self, account: &AccountId) -> Result<(), AuthError> {
        self.entries.lock().remove(account);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn account() -> AccountId {
        AccountId::new(Uuid::new_v4(), Uuid::new_v4())
    }

    fn exercise(store: &dyn SecretStore) {
        let a = account();
        let b = account();
        assert!(store.get(&a).unwrap().is_none());
        store.set(&a, &Secret::new("rt-1")).unwrap();
        store.set(&b, &Secret::new("rt-b")).unwrap();
        store.set(&a, &Secret::new("rt-2")).unwrap();
        assert_eq!(store.get(&a).unwrap().unwrap().expose(), "rt-2");
        assert_eq!(store.get(&b).unwrap().unwrap().expose(), "rt-b");
        store.delete(&a).unwrap();
        store.delete(&a).unwrap();
        assert!(store.get(&a).unwrap().is_none());
        assert!(store.get(&b).unwrap().is_some());
    }

    #[test]
    fn memory_store() {
        exercise(&MemoryStore::new());
    }

    #[test]
    fn keyring_store_over_the_mock() {
        let mock: Arc<CredentialStore> = keyring_core::mock::Store::new().unwrap();
        let store = KeyringStore::with_store(mock);
        exercise(&store);
        store.probe().unwrap();
        assert!(!format!("{store:?}").contains("rt-"));
    }
}
