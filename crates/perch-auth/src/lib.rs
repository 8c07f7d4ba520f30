//! `perch-auth`: signing people in to Microsoft Entra ID the way Microsoft's own desktop
//! libraries do, and keeping their tokens as carefully.
//!
//! - [`interactive`]: authorization code + PKCE through the system browser and an RFC 8252
//!   loopback redirect ([`loopback`]); the browser is opened by a caller-supplied
//!   [`opener::BrowserOpener`].
//! - [`device_code`]: the device-code flow for machines without a browser.
//! - [`oauth`]: the token endpoint (via the `oauth2` crate), Entra's errors and what they mean.
//! - [`custody`]: refresh tokens in the OS keyring ([`custody::KeyringStore`]) or, explicitly,
//!   in memory for this session only ([`custody::MemoryStore`]).
//! - [`manager`]: the signed-in accounts, their access tokens (memory only, refreshed before
//!   expiry, one refresh at a time), rotation, NeedsSignIn, sign-out.
//! - [`secret`]: the [`Secret`] type every token travels in.
//!
//! Invariant: no token is ever logged, put in an error, printed by `Debug`, serialised, or
//! written anywhere but the keyring.

pub mod custody;
pub mod device_code;
pub mod error;
pub mod interactive;
pub mod loopback;
pub mod manager;
pub mod oauth;
pub mod opener;
pub mod secret;

pub use custody::{Custody, KeyringStore, MemoryStore, SecretStore};
pub use device_code::DeviceCodeNotice;
pub use error::AuthError;
pub use interactive::{InteractiveOptions, PendingSignIn, Prompt};
pub use manager::{AccessToken, ManagerOptions, SignOutHook, TokenManager};
pub use oauth::{proxied, HttpClient, RetryPolicy, TokenSet};
pub use opener::{BrowserOpener, SystemOpener};
pub use secret::Secret;
