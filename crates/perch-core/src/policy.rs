//! The managed policy an organisation's IT deploys: the typed keys it may set, and the report of
//! a policy that was read (its source, the keys that were accepted, and the keys that were
//! refused with the reason). A refused key falls back to the safe default (as if it were not
//! set) and is always reported, never silently ignored.
//!
//! This module holds the types every consumer shares (settings resolution, the engine, the
//! shell, the updater, logging and `doctor`), the validation of every key ([`parse_json`],
//! [`parse_map`]: pure), and the readers of the operating system's policy locations
//! ([`read_system`], [`read_file`]): `/etc/perch/policy.json` on Linux;
//! `/Library/Application Support/Perch/policy.json` and then the managed preferences
//! (`/Library/Managed Preferences/app.perch.desktop.plist`, which win) on macOS;
//! `HKLM\SOFTWARE\Policies\Perch` and then `HKCU\SOFTWARE\Policies\Perch` (HKLM wins) on
//! Windows. Reading a policy never fails: whatever is wrong is a [`PolicyProblem`] in the report.
//!
//! In debug builds only, `PERCH_POLICY_FILE` replaces the system location (for tests); a release
//! build ignores it, so a person cannot swap out the policy their IT deployed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::config::{Cloud, Hosts, Organisation, Scopes, Tenant};
use crate::settings::{RawSettings, SettingsLayer, SettingsSource};

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
/// Windows registry are the field names (snake_case). `Debug` hides a password in `proxy`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Tenant ids (GUIDs) an account may belong to; a sign-in whose token names any other tenant
    /// (`tid`) is refused and no token is kept. Domains are refused: the token carries only the
    /// tenant id.
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
    /// An `http`, `https`, `socks5` or `socks5h` proxy URL for every connection Perch makes.
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

/// The lowest in-view polling interval Perch allows anyone to set, seconds.
pub const MIN_VIEW_INTERVAL_SECS: u32 = 15;
/// The lowest followed-channels polling interval Perch allows, seconds.
pub const MIN_FOLLOWED_INTERVAL_SECS: u32 = 60;
/// The highest polling interval of either kind (a day), seconds.
pub const MAX_INTERVAL_SECS: u32 = 86_400;
/// The longest cache retention a policy may set (about a hundred years: anything above is a
/// typo, not a retention).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// The macOS bundle identifier, which names the managed preferences domain.
pub const BUNDLE_ID: &str = "app.perch.desktop";

/// The debug-only environment variable that replaces the system policy location.
pub const POLICY_FILE_ENV: &str = "PERCH_POLICY_FILE";

/// Every key a policy may set, in the order of [`Policy`]'s fields (the JSON Schema's properties
/// must be exactly these; a test checks it).
pub const KEYS: [&str; 18] = [
    "tenant",
    "client_id",
    "cloud",
    "login_host",
    "graph_host",
    "allowed_tenants",
    "extra_scopes",
    "min_view_interval_secs",
    "min_followed_interval_secs",
    "background_polling",
    "notification_previews",
    "demo_mode",
    "updater",
    "updater_endpoint",
    "proxy",
    "log_level",
    "log_message_content",
    "cache_retention_days",
];

/// Keys whose value is a boolean (the Windows reader turns their `REG_DWORD` 0/1 into one).
pub const BOOL_KEYS: [&str; 5] = [
    "background_polling",
    "notification_previews",
    "demo_mode",
    "updater",
    "log_message_content",
];

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("cloud", &self.cloud)
            .field("login_host", &self.login_host)
            .field("graph_host", &self.graph_host)
            .field("allowed_tenants", &self.allowed_tenants)
            .field("extra_scopes", &self.extra_scopes)
            .field("min_view_interval_secs", &self.min_view_interval_secs)
            .field(
                "min_followed_interval_secs",
                &self.min_followed_interval_secs,
            )
            .field("background_polling", &self.background_polling)
            .field("notification_previews", &self.notification_previews)
            .field("demo_mode", &self.demo_mode)
            .field("updater", &self.updater)
            .field("updater_endpoint", &self.updater_endpoint)
            .field("proxy", &self.proxy.as_deref().map(redact_userinfo))
            .field("log_level", &self.log_level)
            .field("log_message_content", &self.log_message_content)
            .field("cache_retention_days", &self.cache_retention_days)
            .finish()
    }
}

impl Policy {
    /// Whether the policy sets no key at all.
    pub fn is_empty(&self) -> bool {
        self == &Policy::default()
    }

    /// The settings layer of the sign-in keys (tenant, client id, cloud, hosts), if the policy
    /// sets any of them; it is the highest layer.
    pub fn settings_layer(&self, source: &str) -> Option<SettingsLayer> {
        let values = RawSettings {
            tenant: self.tenant.clone(),
            client_id: self.client_id.clone(),
            cloud: self.cloud.clone(),
            login_host: self.login_host.clone(),
            graph_host: self.graph_host.clone(),
            scopes: None,
        };
        (values != RawSettings::default())
            .then(|| SettingsLayer::new(SettingsSource::Policy(PathBuf::from(source)), values))
    }

    /// Appends the policy's extra scopes to an organisation's (once each).
    pub fn extend_scopes(&self, org: &mut Organisation) {
        if let Some(extra) = &self.extra_scopes {
            let all = org.scopes.as_slice().iter().chain(extra.iter()).cloned();
            org.scopes = Scopes::new(all.collect::<Vec<_>>());
        }
    }

    /// The allowed tenants as ids (`None`: every tenant), for perch-auth's sign-in check.
    pub fn allowed_tenant_ids(&self) -> Option<Vec<Uuid>> {
        self.allowed_tenants.as_ref().map(|list| {
            list.iter()
                .filter_map(|t| Uuid::parse_str(t).ok())
                .collect()
        })
    }

    /// Whether an account of tenant `tid` may sign in (always, when the policy does not list
    /// allowed tenants).
    pub fn allows_tenant(&self, tid: &Uuid) -> bool {
        match &self.allowed_tenants {
            None => true,
            Some(list) => list
                .iter()
                .any(|t| Uuid::parse_str(t).is_ok_and(|id| &id == tid)),
        }
    }
}

impl PolicyReport {
    /// The settings layer of the policy's sign-in keys, if any (see [`Policy::settings_layer`]).
    pub fn settings_layer(&self) -> Option<SettingsLayer> {
        self.policy
            .settings_layer(self.source.as_deref().unwrap_or("managed policy"))
    }

    /// Lays `self` over `lower`: a key `self` sets wins; problems of both are kept (a lower
    /// source's problem about a key the higher source sets still describes that source). The
    /// sources are joined in precedence order.
    pub fn over(self, lower: PolicyReport) -> PolicyReport {
        let high = to_map(&self.policy);
        let mut merged = to_map(&lower.policy);
        for (key, value) in high {
            if !value.is_null() {
                merged.insert(key, value);
            }
        }
        let policy = serde_json::from_value(Value::Object(merged)).unwrap_or_default();
        let source = match (self.source, lower.source) {
            (Some(a), Some(b)) => Some(format!("{a}, then {b}")),
            (a, b) => a.or(b),
        };
        let mut problems = self.problems;
        problems.extend(lower.problems);
        PolicyReport {
            source,
            policy,
            problems,
        }
    }
}

fn to_map(policy: &Policy) -> Map<String, Value> {
    match serde_json::to_value(policy) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// Parses a policy file's JSON text. `source` names it in the report (a path). Each key is
/// validated on its own: a refused key is a problem (with the reason and what Perch does
/// instead) and the others still apply. Text that is not a JSON object is one problem naming
/// the source, and nothing applies.
pub fn parse_json(text: &str, source: &str) -> PolicyReport {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => parse_map(&map, source),
        Ok(other) => whole_file_problem(
            source,
            format!(
                "the policy must be a JSON object of keys and values, not {}; Perch applies none of it and uses its defaults",
                json_type(&other)
            ),
        ),
        Err(e) => whole_file_problem(
            source,
            format!("{source} is not valid JSON ({e}); Perch applies none of it and uses its defaults"),
        ),
    }
}

fn whole_file_problem(source: &str, reason: String) -> PolicyReport {
    PolicyReport {
        source: Some(source.to_owned()),
        policy: Policy::default(),
        problems: vec![PolicyProblem {
            key: source.to_owned(),
            reason,
        }],
    }
}

/// Validates a policy given as a map of keys to JSON values (a parsed file, the macOS managed
/// preferences, the Windows registry's values).
pub fn parse_map(map: &Map<String, Value>, source: &str) -> PolicyReport {
    let mut policy = Policy::default();
    let mut problems = Vec::new();
    for (key, value) in map {
        let mut problem = |reason: String| {
            problems.push(PolicyProblem {
                key: key.clone(),
                reason,
            })
        };
        // JSON null means "not set", as if the key were absent.
        if value.is_null() {
            continue;
        }
        match key.as_str() {
            "tenant" => {
                policy.tenant = string(value, "Perch uses the person's own settings, else `organizations`").and_then(|v| {
                    Tenant::parse(v)
                        .map(|t| t.as_path())
                        .map_err(|e| format!("{e}; Perch uses the person's own settings instead"))
                }).map_err(&mut problem).ok()
            }
            "client_id" => {
                policy.client_id = string(value, "Perch uses the person's own settings").and_then(|v| {
                    Uuid::parse_str(v.trim()).map(|u| u.to_string()).map_err(|_| {
                        format!("`{v}` is not an application (client) id: expected a GUID such as 11111111-2222-3333-4444-555555555555; Perch uses the person's own settings instead")
                    })
                }).map_err(&mut problem).ok()
            }
            "cloud" => {
                policy.cloud = string(value, "Perch uses the person's own settings, else the global cloud").and_then(|v| {
                    Cloud::parse(v).map(|c| c.as_str().to_owned()).ok_or_else(|| {
                        format!("`{v}` is not a known cloud (global, usgov, dod, china); Perch uses the person's own settings, else the global cloud")
                    })
                }).map_err(&mut problem).ok()
            }
            "login_host" | "graph_host" => {
                let host = string(value, "Perch uses the cloud's own host").and_then(|v| {
                    Hosts::parse_host(v)
                        .map_err(|e| format!("{e}; Perch uses the cloud's own host instead"))
                }).map_err(&mut problem).ok();
                if key == "login_host" {
                    policy.login_host = host;
                } else {
                    policy.graph_host = host;
                }
            }
            "allowed_tenants" => match string_list(value, "Perch allows every tenant") {
                Err(reason) => problem(reason),
                Ok(items) => {
                    let mut kept = Vec::new();
                    for item in items {
                        match Uuid::parse_str(item.trim()) {
                            Ok(id) => kept.push(id.to_string()),
                            Err(_) => problem(format!(
                                "`{item}` is not a tenant id (a GUID; a domain cannot be checked against the account's token); Perch leaves it out of the list"
                            )),
                        }
                    }
                    if kept.is_empty() {
                        problem("the list names no valid tenant id; Perch allows every tenant".to_owned());
                    } else {
                        policy.allowed_tenants = Some(kept);
                    }
                }
            },
            "extra_scopes" => match string_list(value, "Perch asks only for its own scopes") {
                Err(reason) => problem(reason),
                Ok(items) => {
                    let mut kept = Vec::new();
                    for item in items {
                        let item = item.trim();
                        if item.is_empty()
                            || item.chars().any(|c| {
                                c.is_whitespace() || c == ',' || c == '"' || c == '\\' || c.is_control()
                            })
                        {
                            problem(format!(
                                "`{item}` is not a scope (one permission name such as `Files.Read`, without spaces or commas); Perch leaves it out"
                            ));
                        } else {
                            kept.push(item.to_owned());
                        }
                    }
                    if !kept.is_empty() {
                        policy.extra_scopes = Some(kept);
                    }
                }
            },
            "min_view_interval_secs" => {
                policy.min_view_interval_secs =
                    interval(value, MIN_VIEW_INTERVAL_SECS).map_err(&mut problem).ok()
            }
            "min_followed_interval_secs" => {
                policy.min_followed_interval_secs =
                    interval(value, MIN_FOLLOWED_INTERVAL_SECS).map_err(&mut problem).ok()
            }
            "background_polling" => {
                policy.background_polling =
                    boolean(value, "Perch keeps polling, less often, while hidden").map_err(&mut problem).ok()
            }
            "notification_previews" => {
                policy.notification_previews =
                    boolean(value, "Perch uses the person's own setting").map_err(&mut problem).ok()
            }
            "demo_mode" => {
                policy.demo_mode =
                    boolean(value, "Perch starts the demo tenant only when no organisation is configured").map_err(&mut problem).ok()
            }
            "updater" => {
                policy.updater = boolean(value, "Perch keeps the updater on").map_err(&mut problem).ok()
            }
            "log_message_content" => {
                policy.log_message_content =
                    boolean(value, "Perch keeps message content out of its logs").map_err(&mut problem).ok()
            }
            "updater_endpoint" => {
                policy.updater_endpoint = string(value, "Perch uses its built-in update endpoint").and_then(|v| {
                    let fallback = "Perch uses its built-in update endpoint";
                    match url::Url::parse(v.trim()) {
                        Ok(u) if u.scheme() == "https" && u.host().is_some() => Ok(v.trim().to_owned()),
                        Ok(u) => Err(format!("`{v}` uses `{}`; the update endpoint must be an https URL; {fallback}", u.scheme())),
                        Err(e) => Err(format!("`{v}` is not a URL ({e}); {fallback}")),
                    }
                }).map_err(&mut problem).ok()
            }
            "proxy" => {
                policy.proxy = string(value, "Perch connects without a proxy").and_then(|v| {
                    let fallback = "Perch connects without a proxy";
                    match url::Url::parse(v.trim()) {
                        Ok(u) if matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h")
                            && u.host().is_some() && u.path().trim_matches('/').is_empty()
                            && u.query().is_none() => Ok(v.trim().to_owned()),
                        Ok(_) => Err(format!("`{}` is not a proxy URL (http://, https://, socks5:// or socks5h:// with a host and port, nothing after it); {fallback}", redact_userinfo(v))),
                        Err(e) => Err(format!("`{}` is not a URL ({e}); {fallback}", redact_userinfo(v))),
                    }
                }).map_err(&mut problem).ok()
            }
            "log_level" => {
                policy.log_level = string(value, "Perch logs at `info`").and_then(|v| {
                    serde_json::from_value::<LogLevel>(Value::String(v.trim().to_ascii_lowercase()))
                        .map_err(|_| format!("`{v}` is not a log level (error, warn, info, debug, trace); Perch logs at `info`"))
                }).map_err(&mut problem).ok()
            }
            "cache_retention_days" => {
                let fallback = "Perch keeps cached messages without an age limit";
                policy.cache_retention_days = integer(value, fallback).and_then(|n| {
                    if n < 1 {
                        Err(format!("`{n}` days would keep nothing; the least is 1; {fallback}"))
                    } else if n > i64::from(MAX_RETENTION_DAYS) {
                        Err(format!("`{n}` days is more than {MAX_RETENTION_DAYS}; {fallback}"))
                    } else {
                        Ok(n as u32)
                    }
                }).map_err(&mut problem).ok()
            }
            _ => problem(format!(
                "`{key}` is not a Perch policy key{}; Perch ignores it",
                suggestion(key)
                    .map(|k| format!(" (did you mean `{k}`?)"))
                    .unwrap_or_default()
            )),
        }
    }
    PolicyReport {
        source: Some(source.to_owned()),
        policy,
        problems,
    }
}

/// A known key that differs from `key` only in case, `-` for `_`, or one character.
fn suggestion(key: &str) -> Option<&'static str> {
    let norm = key.to_ascii_lowercase().replace('-', "_");
    KEYS.iter().copied().find(|k| {
        *k == norm || {
            let (a, b) = (k.as_bytes(), norm.as_bytes());
            let diff = a.len().abs_diff(b.len());
            diff <= 1 && {
                // One insertion, deletion or substitution.
                let (mut i, mut j, mut edits) = (0, 0, 0);
                while i < a.len() && j < b.len() {
                    if a[i] == b[j] {
                        i += 1;
                        j += 1;
                        continue;
                    }
                    edits += 1;
                    match a.len().cmp(&b.len()) {
                        std::cmp::Ordering::Greater => i += 1,
                        std::cmp::Ordering::Less => j += 1,
                        std::cmp::Ordering::Equal => {
                            i += 1;
                            j += 1;
                        }
                    }
                }
                edits + (a.len() - i) + (b.len() - j) <= 1
            }
        }
    })
}

/// A proxy URL as it may be quoted: a password in it is replaced by `***`.
fn redact_userinfo(v: &str) -> String {
    match url::Url::parse(v.trim()) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => v.to_owned(),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn wrong_type(value: &Value, expected: &str, fallback: &str) -> String {
    format!(
        "expected {expected}, found {} `{value}`; {fallback}",
        json_type(value)
    )
}

fn string<'a>(value: &'a Value, fallback: &str) -> Result<&'a str, String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Ok(s),
        Value::String(_) => Err(format!("the value is empty; {fallback}")),
        other => Err(wrong_type(other, "a string", fallback)),
    }
}

fn string_list<'a>(value: &'a Value, fallback: &str) -> Result<Vec<&'a str>, String> {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.as_str()),
                other => Err(format!(
                    "every entry must be a string, found {} `{other}`; {fallback}",
                    json_type(other)
                )),
            })
            .collect(),
        other => Err(wrong_type(other, "a list of strings", fallback)),
    }
}

fn boolean(value: &Value, fallback: &str) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        other => Err(wrong_type(other, "true or false", fallback)),
    }
}

fn integer(value: &Value, fallback: &str) -> Result<i64, String> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("`{n}` is not a whole number; {fallback}")),
        other => Err(wrong_type(other, "a whole number", fallback)),
    }
}

fn interval(value: &Value, built_in: u32) -> Result<u32, String> {
    let fallback = format!("Perch uses its own minimum of {built_in} seconds");
    let n = integer(value, &fallback)?;
    if n < i64::from(built_in) {
        Err(format!(
            "`{n}` seconds is below Perch's own minimum of {built_in}; {fallback}"
        ))
    } else if n > i64::from(MAX_INTERVAL_SECS) {
        Err(format!(
            "`{n}` seconds is more than a day ({MAX_INTERVAL_SECS}); {fallback}"
        ))
    } else {
        Ok(n as u32)
    }
}

/// Reads a policy file: no file is an empty report (`source` `None`); a file that cannot be
/// read or parsed is one problem naming it.
pub fn read_file(path: &Path) -> PolicyReport {
    let source = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse_json(&text, &source),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => PolicyReport::default(),
        Err(e) => whole_file_problem(
            &source,
            format!(
                "{source} could not be read ({e}); Perch applies none of it and uses its defaults"
            ),
        ),
    }
}

/// The policy file's location on this operating system (Windows has none: its policy is in
/// the registry).
pub fn system_file() -> Option<PathBuf> {
    if cfg!(target_os = "macos") {
        Some(PathBuf::from(
            "/Library/Application Support/Perch/policy.json",
        ))
    } else if cfg!(windows) {
        None
    } else {
        Some(PathBuf::from("/etc/perch/policy.json"))
    }
}

/// Reads the managed policy from where this operating system keeps it (see the module docs).
/// This is the one function the app, the CLI and `doctor` call. In debug builds,
/// `PERCH_POLICY_FILE` (when set and not empty) replaces the system locations.
pub fn read_system() -> PolicyReport {
    if cfg!(debug_assertions) {
        if let Some(path) = std::env::var_os(POLICY_FILE_ENV).filter(|p| !p.is_empty()) {
            return read_file(Path::new(&path));
        }
    }
    read_os()
}

#[cfg(target_os = "macos")]
fn read_os() -> PolicyReport {
    let file = system_file().map(|p| read_file(&p)).unwrap_or_default();
    macos::read_managed_preferences().over(file)
}

#[cfg(windows)]
fn read_os() -> PolicyReport {
    windows::read_key(windows::Hive::LocalMachine)
        .over(windows::read_key(windows::Hive::CurrentUser))
}

#[cfg(not(any(target_os = "macos", windows)))]
fn read_os() -> PolicyReport {
    system_file().map(|p| read_file(&p)).unwrap_or_default()
}

/// One value as the Windows registry holds it (pure, so its conversion is tested everywhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryValue {
    /// `REG_SZ` (or `REG_EXPAND_SZ`).
    String(String),
    /// `REG_DWORD` (or `REG_QWORD`).
    Number(u64),
    /// `REG_MULTI_SZ`.
    Strings(Vec<String>),
    /// Any other type, named for the report.
    Other(String),
}

/// Validates the values of a registry key: `REG_DWORD` 0/1 of a boolean key are `false`/`true`,
/// other types map to JSON's, then [`parse_map`].
pub fn parse_registry(values: Vec<(String, RegistryValue)>, source: &str) -> PolicyReport {
    let mut map = Map::new();
    let mut extra = Vec::new();
    for (name, value) in values {
        let json = match value {
            RegistryValue::String(s) => Value::String(s),
            RegistryValue::Number(n) if BOOL_KEYS.contains(&name.as_str()) && n <= 1 => {
                Value::Bool(n == 1)
            }
            RegistryValue::Number(n) => Value::from(n),
            RegistryValue::Strings(list) => {
                Value::Array(list.into_iter().map(Value::String).collect())
            }
            RegistryValue::Other(kind) => {
                extra.push(PolicyProblem {
                    reason: format!(
                        "the value has registry type {kind}; use REG_SZ, REG_DWORD or REG_MULTI_SZ; Perch ignores it"
                    ),
                    key: name,
                });
                continue;
            }
        };
        map.insert(name, json);
    }
    let mut report = parse_map(&map, source);
    report.problems.extend(extra);
    report
}

#[cfg(windows)]
mod windows {
    //! The Windows reader: the values of `SOFTWARE\Policies\Perch` under one hive.
    use super::{parse_registry, PolicyReport, RegistryValue};
    use winreg::enums::{RegType, HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE};
    use winreg::RegKey;

    pub(super) enum Hive {
        LocalMachine,
        CurrentUser,
    }

    pub(super) fn read_key(hive: Hive) -> PolicyReport {
        let (root, name) = match hive {
            Hive::LocalMachine => (HKEY_LOCAL_MACHINE, "HKLM"),
            Hive::CurrentUser => (HKEY_CURRENT_USER, "HKCU"),
        };
        let source = format!(r"{name}\SOFTWARE\Policies\Perch");
        let Ok(key) = RegKey::predef(root).open_subkey(r"SOFTWARE\Policies\Perch") else {
            return PolicyReport::default();
        };
        let mut values = Vec::new();
        for (value_name, raw) in key.enum_values().flatten() {
            let value = match raw.vtype {
                RegType::REG_SZ | RegType::REG_EXPAND_SZ => key
                    .get_value::<String, _>(&value_name)
                    .map(RegistryValue::String),
                RegType::REG_DWORD => key
                    .get_value::<u32, _>(&value_name)
                    .map(|n| RegistryValue::Number(n.into())),
                RegType::REG_QWORD => key
                    .get_value::<u64, _>(&value_name)
                    .map(RegistryValue::Number),
                RegType::REG_MULTI_SZ => key
                    .get_value::<Vec<String>, _>(&value_name)
                    .map(RegistryValue::Strings),
                other => Ok(RegistryValue::Other(format!("{other:?}"))),
            };
            let value = value.unwrap_or_else(|e| RegistryValue::Other(format!("unreadable ({e})")));
            values.push((value_name, value));
        }
        parse_registry(values, &source)
    }
}

#[cfg(target_os = "macos")]
mod macos {
    //! The macOS reader of the managed preferences domain an MDM profile installs.
    use super::{parse_map, whole_file_problem, PolicyReport, BUNDLE_ID};

    pub(super) fn read_managed_preferences() -> PolicyReport {
        let path = format!("/Library/Managed Preferences/{BUNDLE_ID}.plist");
        if !std::path::Path::new(&path).exists() {
            return PolicyReport::default();
        }
        match plist::from_file::<_, serde_json::Map<String, serde_json::Value>>(&path) {
            Ok(map) => parse_map(&map, &path),
            Err(e) => whole_file_problem(
                &path,
                format!("{path} could not be read ({e}); Perch applies none of it and uses its defaults"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "11111111-2222-3333-4444-555555555555";
    const TID: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

    fn one_problem(json: &str) -> PolicyProblem {
        let report = parse_json(json, "/etc/perch/policy.json");
        assert_eq!(report.problems.len(), 1, "{json}: {:?}", report.problems);
        assert!(report.policy.is_empty(), "{json}: {:?}", report.policy);
        report.problems.into_iter().next().unwrap()
    }

    #[test]
    fn a_sound_policy_sets_every_key() {
        let report = parse_json(
            &format!(
                r#"{{
                "tenant": "Contoso.com", "client_id": "{CLIENT}", "cloud": "usgov",
                "login_host": "https://login.example.com/", "graph_host": "https://graph.example.com",
                "allowed_tenants": ["{TID}"], "extra_scopes": ["Files.Read"],
                "min_view_interval_secs": 30, "min_followed_interval_secs": 600,
                "background_polling": false, "notification_previews": false, "demo_mode": false,
                "updater": false, "updater_endpoint": "https://updates.example.com/{{{{target}}}}",
                "proxy": "http://proxy.example.com:3128", "log_level": "DEBUG",
                "log_message_content": false, "cache_retention_days": 30
            }}"#
            ),
            "p.json",
        );
        assert_eq!(report.problems, vec![]);
        let p = report.policy;
        assert_eq!(p.tenant.as_deref(), Some("contoso.com"));
        assert_eq!(p.client_id.as_deref(), Some(CLIENT));
        assert_eq!(p.cloud.as_deref(), Some("usgov"));
        assert_eq!(p.login_host.as_deref(), Some("https://login.example.com"));
        assert_eq!(p.allowed_tenants, Some(vec![TID.to_owned()]));
        assert_eq!(p.extra_scopes, Some(vec!["Files.Read".to_owned()]));
        assert_eq!(p.min_view_interval_secs, Some(30));
        assert_eq!(p.min_followed_interval_secs, Some(600));
        assert_eq!(p.background_polling, Some(false));
        assert_eq!(p.notification_previews, Some(false));
        assert_eq!(p.demo_mode, Some(false));
        assert_eq!(p.updater, Some(false));
        assert!(p.updater_endpoint.is_some());
        assert_eq!(p.proxy.as_deref(), Some("http://proxy.example.com:3128"));
        assert_eq!(p.log_level, Some(LogLevel::Debug));
        assert_eq!(p.log_message_content, Some(false));
        assert_eq!(p.cache_retention_days, Some(30));
        assert_eq!(report.source.as_deref(), Some("p.json"));
    }

    #[test]
    fn every_key_refuses_bad_values_with_the_key_and_the_reason() {
        // (policy, key, words the reason must contain)
        let cases: &[(&str, &str, &[&str])] = &[
            (
                r#"{"tenat": "x"}"#,
                "tenat",
                &["not a Perch policy key", "did you mean `tenant`"],
            ),
            (
                r#"{"Proxy": "http://p:1"}"#,
                "Proxy",
                &["did you mean `proxy`"],
            ),
            (
                r#"{"tenant": "common"}"#,
                "tenant",
                &["`common`", "personal"],
            ),
            (
                r#"{"tenant": 5}"#,
                "tenant",
                &["expected a string", "a number `5`"],
            ),
            (
                r#"{"client_id": "not-a-guid"}"#,
                "client_id",
                &["`not-a-guid`", "GUID"],
            ),
            (r#"{"cloud": "mars"}"#, "cloud", &["`mars`", "global cloud"]),
            (
                r#"{"login_host": "http://login.example.com"}"#,
                "login_host",
                &["http", "cloud's own host"],
            ),
            (r#"{"graph_host": "ftp://g"}"#, "graph_host", &["`ftp`"]),
            (
                r#"{"allowed_tenants": "contoso.com"}"#,
                "allowed_tenants",
                &["expected a list of strings", "allows every tenant"],
            ),
            (
                r#"{"allowed_tenants": []}"#,
                "allowed_tenants",
                &["no valid tenant id", "allows every tenant"],
            ),
            (
                r#"{"allowed_tenants": [1]}"#,
                "allowed_tenants",
                &["must be a string"],
            ),
            (
                r#"{"extra_scopes": "Files.Read"}"#,
                "extra_scopes",
                &["list of strings", "its own scopes"],
            ),
            (
                r#"{"min_view_interval_secs": 5}"#,
                "min_view_interval_secs",
                &["`5`", "minimum of 15"],
            ),
            (
                r#"{"min_view_interval_secs": 999999}"#,
                "min_view_interval_secs",
                &["`999999`", "more than a day"],
            ),
            (
                r#"{"min_view_interval_secs": "60"}"#,
                "min_view_interval_secs",
                &["a whole number", "a string `\"60\"`"],
            ),
            (
                r#"{"min_followed_interval_secs": 30}"#,
                "min_followed_interval_secs",
                &["`30`", "minimum of 60"],
            ),
            (
                r#"{"min_followed_interval_secs": 60.5}"#,
                "min_followed_interval_secs",
                &["`60.5`", "not a whole number"],
            ),
            (
                r#"{"background_polling": "no"}"#,
                "background_polling",
                &["true or false", "`\"no\"`", "keeps polling"],
            ),
            (
                r#"{"notification_previews": 0}"#,
                "notification_previews",
                &["true or false"],
            ),
            (r#"{"demo_mode": "off"}"#, "demo_mode", &["true or false"]),
            (
                r#"{"updater": 1}"#,
                "updater",
                &["true or false", "keeps the updater on"],
            ),
            (
                r#"{"updater_endpoint": "http://updates.example.com"}"#,
                "updater_endpoint",
                &["`http`", "https", "built-in"],
            ),
            (
                r#"{"updater_endpoint": "updates"}"#,
                "updater_endpoint",
                &["not a URL"],
            ),
            (
                r#"{"proxy": "ftp://proxy:21"}"#,
                "proxy",
                &["`ftp://proxy:21`", "without a proxy"],
            ),
            (
                r#"{"proxy": "proxy.example.com:3128"}"#,
                "proxy",
                &["not a proxy URL"],
            ),
            (r#"{"log_level": "loud"}"#, "log_level", &["`loud`", "info"]),
            (
                r#"{"log_message_content": "yes"}"#,
                "log_message_content",
                &["true or false"],
            ),
            (
                r#"{"cache_retention_days": 0}"#,
                "cache_retention_days",
                &["`0`", "keep nothing", "without an age limit"],
            ),
            (
                r#"{"cache_retention_days": -3}"#,
                "cache_retention_days",
                &["`-3`"],
            ),
            (
                r#"{"cache_retention_days": 100000}"#,
                "cache_retention_days",
                &["`100000`"],
            ),
        ];
        for (json, key, words) in cases {
            let p = one_problem(json);
            assert_eq!(&p.key, key, "{json}");
            for word in *words {
                assert!(
                    p.reason.contains(word),
                    "{json}: `{}` lacks `{word}`",
                    p.reason
                );
            }
            assert!(p.to_string().contains(&format!("`{key}`")));
        }
    }

    #[test]
    fn a_refused_key_leaves_the_others_applied() {
        let report = parse_json(
            &format!(
                r#"{{"client_id": "{CLIENT}", "cloud": "mars", "allowed_tenants": ["contoso.com", "{TID}"], "extra_scopes": ["Files.Read", "two words"], "tenant": null}}"#
            ),
            "p",
        );
        assert_eq!(report.policy.client_id.as_deref(), Some(CLIENT));
        assert_eq!(report.policy.cloud, None);
        assert_eq!(report.policy.tenant, None);
        assert_eq!(report.policy.allowed_tenants, Some(vec![TID.to_owned()]));
        assert_eq!(
            report.policy.extra_scopes,
            Some(vec!["Files.Read".to_owned()])
        );
        let mut keys: Vec<&str> = report.problems.iter().map(|p| p.key.as_str()).collect();
        keys.sort();
        assert_eq!(keys, ["allowed_tenants", "cloud", "extra_scopes"]);
        assert!(report
            .problems
            .iter()
            .any(|p| p.reason.contains("`contoso.com`")));
    }

    #[test]
    fn a_proxy_password_is_never_quoted() {
        let p = one_problem(r#"{"proxy": "ftp://user:hunter2@proxy:21"}"#);
        assert!(!p.reason.contains("hunter2"), "{}", p.reason);
        let report = parse_json(r#"{"proxy": "http://user:hunter2@proxy:3128"}"#, "p");
        assert!(report.problems.is_empty());
        let debug = format!("{report:?}");
        assert!(
            !debug.contains("hunter2") && debug.contains("user:***@proxy"),
            "{debug}"
        );
    }

    #[test]
    fn unreadable_files_are_one_problem_naming_the_file() {
        for text in ["{not json", "[1, 2]", ""] {
            let report = parse_json(text, "/etc/perch/policy.json");
            assert_eq!(report.problems.len(), 1);
            assert_eq!(report.problems[0].key, "/etc/perch/policy.json");
            assert!(report.problems[0].reason.contains("uses its defaults"));
            assert!(report.policy.is_empty());
        }
        let dir = std::env::temp_dir().join(format!("perch-policy-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("policy.json");
        assert_eq!(read_file(&path), PolicyReport::default());
        std::fs::write(&path, r#"{"demo_mode": false}"#).unwrap();
        let report = read_file(&path);
        assert_eq!(report.policy.demo_mode, Some(false));
        assert_eq!(report.source, Some(path.display().to_string()));
        // A folder where the file should be cannot be read.
        let report = read_file(&dir);
        assert_eq!(report.problems.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_higher_source_wins_key_by_key() {
        let machine = parse_json(r#"{"demo_mode": false, "cloud": "mars"}"#, "HKLM");
        let user = parse_json(r#"{"demo_mode": true, "updater": false}"#, "HKCU");
        let merged = machine.over(user);
        assert_eq!(merged.policy.demo_mode, Some(false));
        assert_eq!(merged.policy.updater, Some(false));
        assert_eq!(merged.problems.len(), 1);
        assert_eq!(merged.source.as_deref(), Some("HKLM, then HKCU"));
        let only_user = PolicyReport::default().over(parse_json("{}", "HKCU"));
        assert_eq!(only_user.source.as_deref(), Some("HKCU"));
    }

    #[test]
    fn registry_values_convert_to_json_types() {
        let report = parse_registry(
            vec![
                ("demo_mode".into(), RegistryValue::Number(0)),
                ("cache_retention_days".into(), RegistryValue::Number(14)),
                (
                    "allowed_tenants".into(),
                    RegistryValue::Strings(vec![TID.into()]),
                ),
                ("client_id".into(), RegistryValue::String(CLIENT.into())),
                ("updater".into(), RegistryValue::Number(7)),
                ("proxy".into(), RegistryValue::Other("REG_BINARY".into())),
            ],
            r"HKLM\SOFTWARE\Policies\Perch",
        );
        assert_eq!(report.policy.demo_mode, Some(false));
        assert_eq!(report.policy.cache_retention_days, Some(14));
        assert_eq!(report.policy.allowed_tenants, Some(vec![TID.to_owned()]));
        assert_eq!(report.policy.client_id.as_deref(), Some(CLIENT));
        let keys: Vec<&str> = report.problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys.len(), 2);
        assert!(keys.contains(&"updater") && keys.contains(&"proxy"));
        assert!(report
            .problems
            .iter()
            .any(|p| p.reason.contains("REG_BINARY")));
    }

    #[test]
    fn policy_is_the_highest_settings_layer_and_adds_scopes() {
        let report = parse_json(
            &format!(
                r#"{{"client_id": "{CLIENT}", "cloud": "china", "extra_scopes": ["Files.Read", "User.Read"]}}"#
            ),
            "/etc/perch/policy.json",
        );
        let env = SettingsLayer::environment([
            ("PERCH_CLOUD", "usgov".to_owned()),
            (
                "PERCH_CLIENT_ID",
                "99999999-2222-3333-4444-555555555555".to_owned(),
            ),
            ("PERCH_TENANT", "contoso.com".to_owned()),
        ]);
        let layer = report.settings_layer().unwrap();
        assert_eq!(
            layer.source,
            SettingsSource::Policy("/etc/perch/policy.json".into())
        );
        let mut org = crate::resolve(&[SettingsLayer::defaults(), env, layer]).unwrap();
        report.policy.extend_scopes(&mut org);
        assert_eq!(org.cloud, Cloud::China);
        assert_eq!(org.client_id.to_string(), CLIENT);
        assert_eq!(org.tenant, Tenant::Domain("contoso.com".into()));
        let scopes = org.scopes.as_slice();
        assert_eq!(scopes.last().map(String::as_str), Some("Files.Read"));
        assert_eq!(scopes.len(), Scopes::default().as_slice().len() + 1);
        assert!(parse_json(r#"{"demo_mode": false}"#, "p")
            .settings_layer()
            .is_none());
    }

    #[test]
    fn allowed_tenants_match_by_id() {
        let tid = Uuid::parse_str(TID).unwrap();
        assert!(Policy::default().allows_tenant(&tid));
        let p = parse_json(
            &format!(r#"{{"allowed_tenants": ["{}"]}}"#, TID.to_uppercase()),
            "p",
        )
        .policy;
        assert!(p.allows_tenant(&tid));
        assert!(!p.allows_tenant(&Uuid::new_v4()));
    }

    #[test]
    fn the_published_schema_names_exactly_the_policy_keys() {
        let schema: Value =
            serde_json::from_str(include_str!("../../../docs/policy.schema.json")).unwrap();
        assert_eq!(schema["additionalProperties"], Value::Bool(false));
        let mut props: Vec<String> = schema["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .cloned()
            .collect();
        props.sort();
        let mut fields: Vec<String> = to_map(&Policy::default()).keys().cloned().collect();
        fields.sort();
        assert_eq!(props, fields, "docs/policy.schema.json and `Policy` differ");
        for (key, prop) in schema["properties"].as_object().unwrap() {
            assert!(prop["description"].is_string(), "{key} has no description");
        }
    }

    #[test]
    fn the_documented_example_policy_is_sound() {
        let doc = include_str!("../../../docs/policy.md");
        let start = doc.find("<!-- example-policy -->").expect("marker");
        let block = &doc[start..];
        let open = block.find("```json").expect("json block") + "```json".len();
        let close = open + block[open..].find("```").expect("end of block");
        let report = parse_json(&block[open..close], "docs/policy.md");
        assert_eq!(report.problems, vec![]);
        // Every key but the two host overrides (documented as optional) is in the example.
        let set: Vec<String> = to_map(&report.policy)
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, _)| k)
            .collect();
        assert_eq!(set.len(), KEYS.len() - 2, "{set:?}");
    }

    #[test]
    fn keys_match_the_policy_fields() {
        let fields: Vec<String> = to_map(&Policy::default()).keys().cloned().collect();
        let mut keys: Vec<String> = KEYS.iter().map(|k| k.to_string()).collect();
        let mut sorted = fields.clone();
        sorted.sort();
        keys.sort();
        assert_eq!(sorted, keys);
        for k in BOOL_KEYS {
            assert!(KEYS.contains(&k));
        }
    }
}
