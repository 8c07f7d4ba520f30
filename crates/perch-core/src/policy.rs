//! The managed policy an organisation's IT deploys: the typed keys it may set, and the report of
//! a policy that was read (its source, the keys that were accepted, and the keys that were
//! refused with the reason). A refused key falls back to the safe default (as if it were not
//! set) and is always reported, never silently ignored.
//!
//! Where a policy lives and how it is read (a JSON file on Linux and macOS, the registry on
//! Windows) is the reader's business; this module holds the types every consumer shares
//! (settings resolution, the engine, the shell, the updater, logging and `doctor`).

use serde::{Deserialize, Serialize};

/// Log verbosity a policy may impose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// The default.
    Info,
    /// Verbose.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// The `tracing` filter directive for this level.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// Every key a managed policy may set. `None` means the policy does not say (or said something
/// invalid, which is then in [`PolicyReport::problems`]). Key names in the JSON file and the
/// Windows registry are the field names (snake_case).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// `organizations`, a tenant GUID or a domain.
    pub tenant: Option<String>,
    /// The app registration's client id (a GUID).
    pub client_id: Option<String>,
    /// `global`, `usgov`, `dod` or `china`.
    pub cloud: Option<String>,
    /// An explicit login host (overrides the cloud's).
    pub login_host: Option<String>,
    /// An explicit Graph host (overrides the cloud's).
    pub graph_host: Option<String>,
    /// Tenants (GUIDs or verified domains) an account may belong to; sign-in to any other is
    /// refused.
    pub allowed_tenants: Option<Vec<String>>,
    /// Scopes requested in addition to Perch's own.
    pub extra_scopes: Option<Vec<String>>,
    /// Lowest polling interval for the channel in view, seconds.
    pub min_view_interval_secs: Option<u32>,
    /// Lowest polling interval for followed channels, seconds.
    pub min_followed_interval_secs: Option<u32>,
    /// `false`: no polling while the window is hidden or minimised.
    pub background_polling: Option<bool>,
    /// Message text in notifications on or off.
    pub notification_previews: Option<bool>,
    /// `false`: the built-in demo tenant is never started.
    pub demo_mode: Option<bool>,
    /// The in-app updater on or off.
    pub updater: Option<bool>,
    /// The updater's endpoint (an https URL).
    pub updater_endpoint: Option<String>,
    /// An http(s) proxy URL for every connection Perch makes.
    pub proxy: Option<String>,
    /// Log verbosity.
    pub log_level: Option<LogLevel>,
    /// `true`: logs may carry message bodies and e-mail addresses (tokens never).
    pub log_message_content: Option<bool>,
    /// Cached messages older than this many days are removed.
    pub cache_retention_days: Option<u32>,
}

/// A policy key that was refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyProblem {
    /// The key as written in the policy (an unknown key is named as written).
    pub key: String,
    /// What is wrong, quoting the value, and what happens instead.
    pub reason: String,
}

impl std::fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "policy key `{}`: {}", self.key, self.reason)
    }
}

/// A policy as read: where from, what it sets, and what was refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyReport {
    /// Where the policy came from (a path or a registry key); `None` when there is none.
    pub source: Option<String>,
    /// The accepted keys.
    pub policy: Policy,
    /// The refused keys (empty for a sound policy).
    pub problems: Vec<PolicyProblem>,
}
