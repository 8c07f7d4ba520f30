//! The grants Entra keeps between requests: pending interactive sign-ins, authorization codes,
//! device codes and refresh tokens, with their lifetimes and single-use rules. Plain data behind
//! the one `Mutex` in `EntraState`; no I/O, no HTTP. Refresh tokens are keyed by their SHA-256
//! (the token itself is never stored); codes are keyed by their SHA-256 too.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::errors::Aadsts;
use super::{hash_secret, now_f64, random_b64};

/// How long a sign-in page stays usable.
const PENDING_LIFETIME_SECS: f64 = 3600.0;
/// How long spent or expired codes are remembered, so reuse gets the precise error.
const REMEMBER_SECS: f64 = 3600.0;

/// Everything an authorize request asked for, kept server-side while the page is shown.
#[derive(Debug, Clone)]
pub struct PendingAuth {
    /// The tenant as written in the request path (the form posts back there).
    pub tenant_path: String,
    /// The app.
    pub client_id: Uuid,
    /// The normalised redirect URI (a bare origin gets a trailing `/`).
    pub redirect_uri: String,
    /// Canonical scopes.
    pub scopes: Vec<String>,
    /// `state`, passed back verbatim.
    pub state: Option<String>,
    /// The S256 PKCE challenge.
    pub challenge: String,
    /// `nonce`, copied into the ID token.
    pub nonce: Option<String>,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// When the page was shown.
    pub created: f64,
}

/// An issued authorization code.
#[derive(Debug, Clone)]
pub struct AuthCode {
    /// The app it was issued to.
    pub client_id: Uuid,
    /// The redirect URI it was issued for.
    pub redirect_uri: String,
    /// The user who signed in.
    pub user_id: Uuid,
    /// Canonical scopes consented to.
    pub scopes: Vec<String>,
    /// The S256 PKCE challenge.
    pub challenge: String,
    /// `nonce` for the ID token.
    pub nonce: Option<String>,
    /// Whether the user passed MFA.
    pub mfa: bool,
    /// Unix seconds.
    pub expires_at: f64,
    /// Set on redemption; a second redemption answers AADSTS54005.
    pub redeemed: bool,
}

/// Where a refresh token is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshStatus {
    /// Usable.
    Active,
    /// Replaced by a newer token on refresh.
    Rotated,
    /// Revoked by the admin API.
    Revoked,
}

/// A refresh token's grant, stored under the token's hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshGrant {
    /// The user.
    pub user_id: Uuid,
    /// The app.
    pub client_id: Uuid,
    /// Canonical scopes granted (a refresh may ask for a subset).
    pub scopes: Vec<String>,
    /// Whether the sign-in that started this chain passed MFA.
    pub mfa: bool,
    /// Unix seconds.
    pub expires_at: f64,
    /// Active, rotated or revoked.
    pub status: RefreshStatus,
}

/// What became of a device code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the user.
    Pending,
    /// Approved by a user.
    Approved {
        /// Who.
        user_id: Uuid,
        /// Whether they passed MFA.
        mfa: bool,
    },
    /// Declined on the page.
    Declined,
    /// Tokens were handed out.
    Redeemed,
}

/// An issued device code.
#[derive(Debug, Clone)]
pub struct DeviceGrant {
    /// `ABCD-EFGH`.
    pub user_code: String,
    /// The app.
    pub client_id: Uuid,
    /// Canonical scopes.
    pub scopes: Vec<String>,
    /// Unix seconds.
    pub expires_at: f64,
    /// Seconds the client must wait between polls.
    pub interval: u64,
    /// The last poll, unix seconds.
    pub last_poll: Option<f64>,
    /// Progress.
    pub status: DeviceStatus,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct Store {
    /// Pending sign-ins by request id.
    pub pending: HashMap<String, PendingAuth>,
    /// Codes by hash.
    pub codes: HashMap<String, AuthCode>,
    /// Refresh tokens by hash.
    pub refresh: HashMap<String, RefreshGrant>,
    /// Device codes by hash of the device code.
    pub devices: HashMap<String, DeviceGrant>,
}

impl Store {
    /// Stores a pending sign-in and returns its id.
    pub fn add_pending(&mut self, pending: PendingAuth) -> String {
        let now = now_f64();
        self.pending
            .retain(|_, p| now - p.created < PENDING_LIFETIME_SECS);
        let id = random_b64(24);
        self.pending.insert(id.clone(), pending);
        id
    }

    /// Stores a code and returns it.
    pub fn add_code(&mut self, code: AuthCode) -> String {
        let now = now_f64();
        self.codes.retain(|_, c| c.expires_at + REMEMBER_SECS > now);
        let secret = format!("1.A{}", random_b64(240));
        self.codes.insert(hash_secret(&secret), code);
        secret
    }

    /// Stores a refresh grant and returns the new opaque token.
    pub fn add_refresh(&mut self, grant: RefreshGrant) -> String {
        let now = now_f64();
        self.refresh.retain(|_, g| g.expires_at > now);
        let secret = format!("0.A{}", random_b64(150));
        self.refresh.insert(hash_secret(&secret), grant);
        secret
    }

    /// Looks a refresh token up for use: checks client, status and expiry and returns its
    /// grant. Rotation happens when the new token is stored (see `token::issue`).
    pub fn check_refresh(
        &self,
        token: &str,
        client_id: Uuid,
        allow_reuse: bool,
    ) -> Result<RefreshGrant, Aadsts> {
        let grant = self
            .refresh
            .get(&hash_secret(token))
            .ok_or(Aadsts::MalformedGrant)?;
        if grant.client_id != client_id {
            return Err(Aadsts::GrantClientMismatch);
        }
        match grant.status {
            RefreshStatus::Revoked => return Err(Aadsts::GrantRevoked),
            RefreshStatus::Rotated if !allow_reuse => return Err(Aadsts::GrantInvalid),
            RefreshStatus::Rotated | RefreshStatus::Active => {}
        }
        if grant.expires_at <= now_f64() {
            return Err(Aadsts::GrantExpired);
        }
        Ok(grant.clone())
    }

    /// Marks every refresh grant that `which` selects as revoked.
    pub fn revoke(&mut self, which: impl Fn(&RefreshGrant) -> bool) {
        for grant in self.refresh.values_mut() {
            if which(grant) {
                grant.status = RefreshStatus::Revoked;
            }
        }
    }

    /// The refresh grants as JSON (hash → grant).
    pub fn refresh_snapshot(&self) -> serde_json::Value {
        serde_json::to_value(&self.refresh).unwrap_or_default()
    }

    /// Replaces the refresh grants with a snapshot's, if it parses.
    pub fn refresh_restore(&mut self, value: &serde_json::Value) {
        if let Ok(grants) = serde_json::from_value::<HashMap<String, RefreshGrant>>(value.clone()) {
            self.refresh = grants;
        }
    }

    /// Stores a device grant under its device code and returns the device code.
    pub fn add_device(&mut self, grant: DeviceGrant) -> String {
        let now = now_f64();
        self.devices
            .retain(|_, d| d.expires_at + REMEMBER_SECS > now);
        let secret = format!("DAQABIQEAAA{}", random_b64(96));
        self.devices.insert(hash_secret(&secret), grant);
        secret
    }

    /// The device grant a user code belongs to (case-insensitive, dash optional), if it is
    /// still waiting and not expired.
    pub fn pending_device_by_user_code(&mut self, user_code: &str) -> Option<&mut DeviceGrant> {
        let wanted = normalise_user_code(user_code);
        let now = now_f64();
        self.devices.values_mut().find(|d| {
            normalise_user_code(&d.user_code) == wanted
                && d.status == DeviceStatus::Pending
                && d.expires_at > now
        })
    }
}

/// `abcd efgh` / `ABCDEFGH` / `ABCD-EFGH` → `ABCDEFGH`.
fn normalise_user_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A fresh user code like `BQ7M-K2XD` (no easily confused letters or digits).
pub fn new_user_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut code = String::with_capacity(9);
    for i in 0..8 {
        if i == 4 {
            code.push('-');
        }
        let idx = usize::from(rand::random::<u8>()) % ALPHABET.len();
        code.push(char::from(ALPHABET[idx]));
    }
    code
}
