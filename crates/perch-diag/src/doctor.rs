//! `doctor`: the checks a person (or IT) runs when Perch misbehaves. Each check yields
//! [`Finding`]s that say pass, warn or fail, what was found and what to do. Checks are
//! independent and time-bounded: each runs in its own task under a timeout, and one that fails,
//! hangs or panics becomes a finding of its own while the others go on.
//!
//! The checks: configuration and policy, the keyring, the login and Graph hosts (HTTPS, through
//! the proxy), the proxy, clock skew (the login host's `Date`), granted versus required scopes
//! per signed-in account (never printing a token), the database (`PRAGMA quick_check` on a
//! read-only connection: doctor never changes or moves the file), free disk space in the data
//! folder, the log folder, and versions.
//!
//! The database check runs first: the scopes check reads accounts from the database, and is
//! skipped (with a warning saying why) when the file is damaged, because opening a damaged
//! database through the store would move it aside.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use perch_auth::{AuthError, KeyringStore, TokenManager};
use perch_core::policy::PolicyReport;
use perch_core::{Hosts, Organisation, Tenant};
use perch_store::AccountState;
use serde::{Deserialize, Serialize};

use crate::redact::Redactor;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Fine.
    Pass,
    /// Works, but something is worth attention.
    Warn,
    /// Broken: Perch will not work (fully) until this is fixed.
    Fail,
}

impl Status {
    /// `pass`, `warn` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// A stable id (`keyring`, `reach.login`, `policy.proxy`…), for scripts and support.
    pub id: String,
    /// What was checked, for people.
    pub title: String,
    /// The outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do, when there is something to do.
    pub action: Option<String>,
}

impl Finding {
    fn new(id: impl Into<String>, title: impl Into<String>, status: Status) -> Finding {
        Finding {
            id: id.into(),
            title: title.into(),
            status,
            detail: String::new(),
            action: None,
        }
    }

    fn detail(mut self, detail: impl Into<String>) -> Finding {
        self.detail = detail.into();
        self
    }

    fn action(mut self, action: impl Into<String>) -> Finding {
        self.action = Some(action.into());
        self
    }
}

/// Every finding of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// When the checks ran.
    pub generated_at: DateTime<Utc>,
    /// In the order of the checks.
    pub findings: Vec<Finding>,
}

impl Report {
    /// The worst status (`Pass` for no findings).
    pub fn worst(&self) -> Status {
        self.findings
            .iter()
            .map(|f| f.status)
            .max()
            .unwrap_or(Status::Pass)
    }

    /// Whether any check failed.
    pub fn has_failures(&self) -> bool {
        self.worst() == Status::Fail
    }

    /// The findings as text, one block per finding.
    pub fn to_text(&self) -> String {
        let mut out = format!("Perch diagnostics, {}\n\n", self.generated_at.to_rfc3339());
        for f in &self.findings {
            out.push_str(&format!(
                "[{}] {}\n      {}\n",
                f.status.as_str(),
                f.title,
                f.detail
            ));
            if let Some(action) = &f.action {
                out.push_str(&format!("      -> {action}\n"));
            }
        }
        let count = |s| self.findings.iter().filter(|f| f.status == s).count();
        out.push_str(&format!(
            "\n{} passed, {} warnings, {} failed\n",
            count(Status::Pass),
            count(Status::Warn),
            count(Status::Fail)
        ));
        out
    }
}

/// The configuration as the caller resolved it.
#[derive(Debug, Clone)]
pub enum ConfigState {
    /// The organisation's settings resolved.
    Organisation(Organisation),
    /// No organisation is configured; the app runs its demo tenant (organisation given).
    Demo(Organisation),
    /// A required setting is missing (the message names it).
    Missing(String),
    /// A setting is invalid (the message names it and its source).
    Invalid(String),
}

impl ConfigState {
    fn organisation(&self) -> Option<&Organisation> {
        match self {
            ConfigState::Organisation(o) | ConfigState::Demo(o) => Some(o),
            _ => None,
        }
    }
}

/// How to check the keyring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyringMode {
    /// Probe the platform keyring (write and delete one entry); failure is a fail.
    Probe,
    /// The caller keeps sign-ins in memory on purpose (`--session-only`): probe, but failure
    /// is only a warning.
    SessionOnly,
}

/// Gives the token manager for the scopes check (called only when the database is sound).
pub type ManagerSource = Arc<dyn Fn() -> Result<Option<TokenManager>, String> + Send + Sync>;

/// What the checks look at.
#[derive(Clone)]
pub struct Inputs {
    /// Perch's version.
    pub version: String,
    /// The data folder (database, settings).
    pub data_dir: PathBuf,
    /// The configuration.
    pub config: ConfigState,
    /// The managed policy as read.
    pub policy: PolicyReport,
    /// The keyring check.
    pub keyring: KeyringMode,
    /// The accounts' token manager (`None` from the source: no accounts to check).
    pub manager: Option<ManagerSource>,
    /// The log folder.
    pub log_dir: Option<PathBuf>,
    /// The process environment (proxy variables).
    pub env: Vec<(String, String)>,
    /// How long a network request may take.
    pub request_timeout: Duration,
    /// How long any one check may take.
    pub check_timeout: Duration,
}

impl std::fmt::Debug for Inputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inputs")
            .field("data_dir", &self.data_dir)
            .field("config", &self.config)
            .field("log_dir", &self.log_dir)
            .finish_non_exhaustive()
    }
}

impl Inputs {
    /// Inputs with the default timeouts (5 s per request, 20 s per check).
    pub fn new(version: &str, data_dir: PathBuf, config: ConfigState) -> Inputs {
        Inputs {
            version: version.to_owned(),
            data_dir,
            config,
            policy: PolicyReport::default(),
            keyring: KeyringMode::Probe,
            manager: None,
            log_dir: None,
            env: std::env::vars().collect(),
            request_timeout: Duration::from_secs(5),
            check_timeout: Duration::from_secs(20),
        }
    }
}

/// Clock skew above this warns.
pub const SKEW_WARN: Duration = Duration::from_secs(2 * 60);
/// Clock skew above this fails (Entra refuses tokens; Perch's own checks misjudge expiry).
pub const SKEW_FAIL: Duration = Duration::from_secs(5 * 60);
/// Free space under this warns.
pub const DISK_WARN_BYTES: u64 = 500 * 1024 * 1024;
/// Free space under this fails.
pub const DISK_FAIL_BYTES: u64 = 50 * 1024 * 1024;

/// Runs every check and returns the findings, in a fixed order.
pub async fn run(inputs: Inputs) -> Report {
    let inputs = Arc::new(inputs);
    let t = inputs.check_timeout;
    let mut findings = config_and_policy(&inputs);

    let db = {
        let i = inputs.clone();
        bounded("database", "Database", t, async move {
            let path = perch_core::DataDir::at(&i.data_dir).database();
            blocking(move || vec![database(&path)]).await
        })
        .await
    };
    let db_sound = db.iter().all(|f| f.status != Status::Fail);

    let keyring = {
        let mode = inputs.keyring;
        bounded("keyring", "Keyring", t, async move {
            blocking(move || vec![keyring(mode)]).await
        })
    };
    let network = {
        let i = inputs.clone();
        bounded("reach", "Network", t, async move { network(&i).await })
    };
    let scopes = {
        let i = inputs.clone();
        bounded("scopes", "Permissions", t, async move {
            scopes(&i, db_sound).await
        })
    };
    let disk = {
        let dir = inputs.data_dir.clone();
        bounded("disk", "Disk space", t, async move {
            blocking(move || vec![disk(&dir)]).await
        })
    };
    let rest = {
        let i = inputs.clone();
        bounded("versions", "Versions", t, async move {
            let i2 = i.clone();
            blocking(move || vec![logs(i2.log_dir.as_deref()), versions(&i2.version)]).await
        })
    };
    let (keyring, network, scopes, disk, rest) = tokio::join!(keyring, network, scopes, disk, rest);
    findings.push(proxy(&inputs));
    findings.extend(keyring);
    findings.extend(network);
    findings.extend(scopes);
    findings.extend(db);
    findings.extend(disk);
    findings.extend(rest);
    Report {
        generated_at: Utc::now(),
        findings,
    }
}

/// Runs a check in its own task under a timeout; a panic or a timeout is a finding.
async fn bounded<F>(id: &str, title: &str, limit: Duration, check: F) -> Vec<Finding>
where
    F: std::future::Future<Output = Vec<Finding>> + Send + 'static,
{
    match tokio::time::timeout(limit, tokio::spawn(check)).await {
        Ok(Ok(findings)) => findings,
        Ok(Err(e)) => vec![Finding::new(id, title, Status::Fail)
            .detail(format!("the check stopped unexpectedly: {e}"))
            .action("Send the diagnostics bundle to IT; this is a bug in Perch.")],
        Err(_) => vec![Finding::new(id, title, Status::Warn)
            .detail(format!(
                "the check did not finish within {} s",
                limit.as_secs()
            ))
            .action("Run the checks again; if it keeps happening, send the bundle to IT.")],
    }
}

async fn blocking<F>(f: F) -> Vec<Finding>
where
    F: FnOnce() -> Vec<Finding> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(findings) => findings,
        Err(e) => vec![Finding::new("check", "Check", Status::Fail)
            .detail(format!("the check stopped unexpectedly: {e}"))],
    }
}

fn config_and_policy(i: &Inputs) -> Vec<Finding> {
    let title = "Configuration";
    let mut out = vec![match &i.config {
        ConfigState::Organisation(org) => {
            Finding::new("config", title, Status::Pass).detail(format!(
                "organisation: tenant {}, client id {}, cloud {}, login {}, Graph {}",
                org.tenant.as_path(),
                org.client_id,
                org.cloud.as_str(),
                org.hosts.login,
                org.hosts.graph
            ))
        }
        ConfigState::Demo(org) => Finding::new("config", title, Status::Warn)
            .detail(format!(
                "no organisation is configured: Perch runs its demo tenant (at {})",
                org.hosts.login
            ))
            .action(
                "To use your organisation, set its tenant and client id (PERCH_TENANT and \
                 PERCH_CLIENT_ID, settings.json in the data folder, or the managed policy).",
            ),
        ConfigState::Missing(e) => Finding::new("config", title, Status::Warn)
            .detail(e.clone())
            .action(
                "Set the tenant and client id (PERCH_TENANT and PERCH_CLIENT_ID, settings.json \
                 in the data folder, or the managed policy); your IT department has them.",
            ),
        ConfigState::Invalid(e) => Finding::new("config", title, Status::Fail)
            .detail(e.clone())
            .action("Fix or remove the setting named above, where the message says it was set."),
    }];
    let report = &i.policy;
    let source = report.source.as_deref().unwrap_or("none");
    out.push(match (&report.source, report.problems.is_empty()) {
        (None, _) => Finding::new("policy", "Managed policy", Status::Pass)
            .detail("no managed policy is installed"),
        (Some(_), true) => Finding::new("policy", "Managed policy", Status::Pass)
            .detail(format!("read from {source}; every key was accepted")),
        (Some(_), false) => Finding::new("policy", "Managed policy", Status::Warn).detail(format!(
            "read from {source}; {} key(s) refused (listed below)",
            report.problems.len()
        )),
    });
    for problem in &report.problems {
        out.push(
            Finding::new(
                format!("policy.{}", problem.key),
                format!("Policy key `{}`", problem.key),
                Status::Warn,
            )
            .detail(problem.reason.clone())
            .action(format!(
                "Ask IT to correct `{}` in the policy ({source}).",
                problem.key
            )),
        );
    }
    out
}

fn keyring(mode: KeyringMode) -> Finding {
    let result = KeyringStore::platform().and_then(|k| k.probe());
    let title = "Keyring";
    match (result, mode) {
        (Ok(()), _) => Finding::new("keyring", title, Status::Pass)
            .detail("the system keyring can store and delete a secret"),
        (Err(e), KeyringMode::SessionOnly) => Finding::new("keyring", title, Status::Warn)
            .detail(format!(
                "{e} (--session-only: sign-ins are kept in memory and end with the command)"
            ))
            .action(keyring_action(&e)),
        (Err(e), KeyringMode::Probe) => Finding::new("keyring", title, Status::Fail)
            .detail(format!(
                "{e}: sign-ins last only until Perch closes ({})",
                e.code()
            ))
            .action(keyring_action(&e)),
    }
}

fn keyring_action(e: &AuthError) -> String {
    let what = match e {
        AuthError::KeyringLocked { .. } => "Unlock the keyring (sign in to the desktop session)",
        _ if cfg!(target_os = "linux") => {
            "Install and start a Secret Service keyring (GNOME Keyring or KWallet, or KeePassXC \
             with its Secret Service integration) and unlock it"
        }
        _ => "Check that the system keyring (Keychain, Credential Manager) is available to you",
    };
    format!("{what}, then start Perch again.")
}

/// The hosts to check: the organisation's, or the global cloud's when none is configured.
fn hosts_and_tenant(config: &ConfigState) -> (Hosts, String) {
    match config.organisation() {
        Some(org) => (org.hosts.clone(), org.tenant.as_path()),
        None => (
            Hosts::of_cloud(perch_core::Cloud::Global),
            Tenant::Organizations.as_path(),
        ),
    }
}

fn http_client(i: &Inputs) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .timeout(i.request_timeout)
        .connect_timeout(i.request_timeout)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(proxy) = &i.policy.policy.proxy {
        let proxy = reqwest::Proxy::all(proxy.as_str()).map_err(|e| {
            format!(
                "the policy's proxy `{}` is unusable: {e}",
                strip_userinfo(proxy)
            )
        })?;
        builder = builder.proxy(proxy);
    }
    builder.build().map_err(|e| e.to_string())
}

/// An HTTP answer: status, `Date`, and how long it took.
struct Answer {
    status: u16,
    date: Option<std::time::SystemTime>,
    elapsed: Duration,
}

async fn probe(client: &reqwest::Client, url: &str) -> Result<Answer, String> {
    let started = Instant::now();
    let response = client.get(url).send().await.map_err(|e| describe(&e))?;
    let date = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    Ok(Answer {
        status: response.status().as_u16(),
        date,
        elapsed: started.elapsed(),
    })
}

fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    Redactor::STRICT.redact(&text).into_owned()
}

async fn network(i: &Inputs) -> Vec<Finding> {
    let (hosts, tenant) = hosts_and_tenant(&i.config);
    let client = match http_client(i) {
        Ok(c) => c,
        Err(e) => {
            return vec![Finding::new("reach", "Network", Status::Fail)
                .detail(e)
                .action("Ask IT to correct the proxy in the policy.")]
        }
    };
    let login_url = format!(
        "{}/{tenant}/v2.0/.well-known/openid-configuration",
        hosts.login
    );
    let graph_url = format!("{}/v1.0/me", hosts.graph);
    let (login, graph) = tokio::join!(probe(&client, &login_url), probe(&client, &graph_url));
    let date = login.as_ref().ok().and_then(|a| a.date);
    vec![
        reach("reach.login", "Sign-in service", &hosts.login, login),
        reach("reach.graph", "Microsoft Graph", &hosts.graph, graph),
        clock(date, std::time::SystemTime::now()),
    ]
}

fn reach(id: &str, title: &str, host: &str, answer: Result<Answer, String>) -> Finding {
    let proxy_hint = "Check the network connection; a firewall or proxy must allow HTTPS to this \
                      host (set HTTPS_PROXY, or ask IT for the policy's proxy).";
    match answer {
        Ok(a) if a.status == 407 => Finding::new(id, title, Status::Fail)
            .detail(format!("{host}: the proxy asks for authentication (HTTP 407)"))
            .action("Ask IT for a proxy Perch can use without a password, or for its credentials in the proxy URL."),
        Ok(a) if a.status >= 500 => Finding::new(id, title, Status::Warn)
            .detail(format!(
                "{host} answered HTTP {} in {} ms: the service has trouble",
                a.status,
                a.elapsed.as_millis()
            ))
            .action("Wait and try again; check the Microsoft 365 service health page."),
        Ok(a) => Finding::new(id, title, Status::Pass).detail(format!(
            "{host} answered (HTTP {}) in {} ms",
            a.status,
            a.elapsed.as_millis()
        )),
        Err(e) => Finding::new(id, title, Status::Fail)
            .detail(format!("{host}: {e}"))
            .action(proxy_hint),
    }
}

/// The clock finding from the server's `Date` (none: could not be checked).
pub fn clock(server: Option<std::time::SystemTime>, local: std::time::SystemTime) -> Finding {
    let title = "Clock";
    let Some(server) = server else {
        return Finding::new("clock", title, Status::Warn)
            .detail("could not be compared: the sign-in service did not answer with a date");
    };
    let (skew, ahead) = match local.duration_since(server) {
        Ok(d) => (d, true),
        Err(e) => (e.duration(), false),
    };
    let secs = skew.as_secs();
    let words = format!(
        "this computer's clock is {} {} the sign-in service's",
        human_secs(secs),
        if ahead { "ahead of" } else { "behind" }
    );
    let fix = "Set the clock to update automatically from the network (time and date settings).";
    if skew > SKEW_FAIL {
        Finding::new("clock", title, Status::Fail)
            .detail(format!("{words}: sign-in fails beyond 5 minutes"))
            .action(fix)
    } else if skew > SKEW_WARN {
        Finding::new("clock", title, Status::Warn)
            .detail(words)
            .action(fix)
    } else {
        Finding::new("clock", title, Status::Pass)
            .detail(format!("within {}", human_secs(secs.max(1))))
    }
}

fn human_secs(secs: u64) -> String {
    if secs < 120 {
        format!("{secs} s")
    } else if secs < 2 * 3600 {
        format!("{} min", secs / 60)
    } else {
        format!("{} h", secs / 3600)
    }
}

fn strip_userinfo(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

fn proxy(i: &Inputs) -> Finding {
    let title = "Proxy";
    let env: Vec<String> = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .filter_map(|k| {
            i.env
                .iter()
                .find(|(key, v)| key == k && !v.is_empty())
                .map(|(_, v)| format!("{k}={}", strip_userinfo(v)))
        })
        .collect();
    let no_proxy = i
        .env
        .iter()
        .find(|(k, v)| (k == "NO_PROXY" || k == "no_proxy") && !v.is_empty())
        .map(|(_, v)| format!("; NO_PROXY={v}"))
        .unwrap_or_default();
    match &i.policy.policy.proxy {
        Some(p) => match url::Url::parse(p) {
            Ok(u) if matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h") => {
                let mut f = Finding::new("proxy", title, Status::Pass).detail(format!(
                    "the policy sets the proxy {}{no_proxy}",
                    strip_userinfo(p)
                ));
                if !env.is_empty() {
                    f.detail
                        .push_str(&format!(" (the policy's wins over {})", env.join(", ")));
                }
                f
            }
            _ => Finding::new("proxy", title, Status::Fail)
                .detail(format!(
                    "the policy's proxy `{}` is not an http(s) URL",
                    strip_userinfo(p)
                ))
                .action("Ask IT to correct the `proxy` key of the policy."),
        },
        None if env.is_empty() => {
            Finding::new("proxy", title, Status::Pass).detail("no proxy: connections go direct")
        }
        None => Finding::new("proxy", title, Status::Pass).detail(format!(
            "from the environment: {}{no_proxy}",
            env.join(", ")
        )),
    }
}

/// The permissions a sign-in must have been granted (OpenID scopes aside).
fn required(config: &ConfigState) -> Vec<String> {
    let scopes = config
        .organisation()
        .map(|o| o.scopes.clone())
        .unwrap_or_default();
    scopes
        .as_slice()
        .iter()
        .filter(|s| {
            !["offline_access", "openid", "profile", "email"].contains(&short_scope(s).as_str())
        })
        .map(|s| s.rsplit('/').next().unwrap_or(s).to_owned())
        .collect()
}

/// `https://graph.microsoft.com/User.Read` → `user.read`.
fn short_scope(s: &str) -> String {
    let s = if s.contains("://") {
        s.rsplit('/').next().unwrap_or(s)
    } else {
        s
    };
    s.to_ascii_lowercase()
}

/// The required scopes `granted` lacks (case-insensitive, resource prefixes ignored).
pub fn missing_scopes(required: &[String], granted: &[String]) -> Vec<String> {
    let granted: Vec<String> = granted.iter().map(|s| short_scope(s)).collect();
    required
        .iter()
        .filter(|r| !granted.contains(&short_scope(r)))
        .cloned()
        .collect()
}

async fn scopes(i: &Inputs, db_sound: bool) -> Vec<Finding> {
    let title = "Permissions";
    if !db_sound {
        return vec![Finding::new("scopes", title, Status::Warn)
            .detail("not checked: the database is damaged (see Database)")];
    }
    let manager = match i.manager.as_ref().map(|source| source()) {
        None | Some(Ok(None)) => {
            return vec![Finding::new("scopes", title, Status::Pass)
                .detail("no account has signed in yet: permissions are checked after sign-in")]
        }
        Some(Ok(Some(m))) => m,
        Some(Err(e)) => {
            return vec![Finding::new("scopes", title, Status::Warn)
                .detail(format!("the accounts could not be read: {e}"))]
        }
    };
    let records = match manager.accounts() {
        Ok(r) => r,
        Err(e) => {
            return vec![Finding::new("scopes", title, Status::Warn)
                .detail(format!("the accounts could not be read: {e}"))]
        }
    };
    let required = required(&i.config);
    let mut out = Vec::new();
    for record in records
        .iter()
        .filter(|r| r.state != AccountState::SignedOut)
    {
        let id = format!("scopes.{}", record.id.key());
        let title = format!("Permissions of {}", record.upn);
        let consent = record
            .hosts
            .admin_consent_url(&Tenant::Id(record.id.tenant_id), &record.client_id);
        let result =
            tokio::time::timeout(i.request_timeout * 2, manager.granted_scopes(&record.id)).await;
        out.push(match result {
            Err(_) => Finding::new(id, title, Status::Warn).detail(
                "no token could be had in time: the sign-in service is slow or unreachable",
            ),
            Ok(Ok(granted)) if granted.is_empty() => Finding::new(id, title, Status::Warn)
                .detail("the sign-in service did not list the granted permissions"),
            Ok(Ok(granted)) => {
                let missing = missing_scopes(&required, &granted);
                if missing.is_empty() {
                    Finding::new(id, title, Status::Pass).detail(format!(
                        "every permission Perch needs is granted ({})",
                        required.join(", ")
                    ))
                } else {
                    Finding::new(id, title, Status::Fail)
                        .detail(format!(
                            "not granted: {} (Perch cannot do what needs them)",
                            missing.join(", ")
                        ))
                        .action(format!(
                            "An administrator must grant consent for the tenant: {consent}"
                        ))
                }
            }
            Ok(Err(e @ AuthError::NeedsSignIn { .. })) => Finding::new(id, title, Status::Warn)
                .detail(format!("{e}: permissions are checked after sign-in"))
                .action("Sign in again (in the app, or `perch-cli login`)."),
            Ok(Err(e)) if e.code().contains("consent") => Finding::new(id, title, Status::Fail)
                .detail(e.to_string())
                .action(format!(
                    "An administrator must grant consent for the tenant: {consent}"
                )),
            Ok(Err(e)) => Finding::new(id, title, Status::Warn)
                .detail(format!("no token could be had: {e} ({})", e.code())),
        });
    }
    if out.is_empty() {
        out.push(
            Finding::new("scopes", title, Status::Pass)
                .detail("no account is signed in: permissions are checked after sign-in"),
        );
    }
    out
}

/// The database check on the file at `path` (read-only; never changes it).
pub fn database(path: &Path) -> Finding {
    use rusqlite::OpenFlags;
    let title = "Database";
    let Ok(meta) = std::fs::metadata(path) else {
        return Finding::new("database", title, Status::Pass).detail(format!(
            "no database yet at {} (created at first start)",
            path.display()
        ));
    };
    let size = meta.len();
    let fix = format!(
        "Quit Perch, then start it (or run any perch-cli command): the damaged file is moved \
         aside (as {}.corrupt-…) and a new one is built from Microsoft Graph, keeping accounts, \
         followed channels, drafts and unsent messages. If it happens again, check the disk.",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let checked = (|| -> rusqlite::Result<(Vec<String>, i64)> {
        let conn = rusqlite::Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let lines = conn
            .prepare("PRAGMA quick_check")?
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok((lines, version))
    })();
    match checked {
        Ok((lines, version)) if lines.len() == 1 && lines[0] == "ok" => {
            Finding::new("database", title, Status::Pass).detail(format!(
                "{} ({}, schema {version}): quick_check ok",
                path.display(),
                human_bytes(size)
            ))
        }
        Ok((lines, _)) => Finding::new("database", title, Status::Fail)
            .detail(format!(
                "{} is damaged: {}",
                path.display(),
                lines.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
            ))
            .action(fix),
        Err(e) => Finding::new("database", title, Status::Fail)
            .detail(format!("{} cannot be read: {e}", path.display()))
            .action(fix),
    }
}

fn human_bytes(n: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if n >= 1024 * MB {
        format!("{:.1} GB", n as f64 / (1024 * MB) as f64)
    } else if n >= MB {
        format!("{} MB", n / MB)
    } else {
        format!("{} KB", n.div_ceil(1024))
    }
}

/// The disk finding for `free` bytes in `dir`.
pub fn disk_finding(dir: &Path, free: u64) -> Finding {
    let title = "Disk space";
    let detail = format!("{} free for {}", human_bytes(free), dir.display());
    let action =
        "Free some disk space: Perch stops syncing (keeping what it has) when the disk is full.";
    if free < DISK_FAIL_BYTES {
        Finding::new("disk", title, Status::Fail)
            .detail(detail)
            .action(action)
    } else if free < DISK_WARN_BYTES {
        Finding::new("disk", title, Status::Warn)
            .detail(detail)
            .action(action)
    } else {
        Finding::new("disk", title, Status::Pass).detail(detail)
    }
}

fn disk(dir: &Path) -> Finding {
    // The folder may not exist yet: measure the nearest one that does.
    let existing = dir.ancestors().find(|p| p.exists()).unwrap_or(dir);
    match fs4::available_space(existing) {
        Ok(free) => disk_finding(dir, free),
        Err(e) => Finding::new("disk", "Disk space", Status::Warn)
            .detail(format!("could not be measured for {}: {e}", dir.display())),
    }
}

fn logs(dir: Option<&Path>) -> Finding {
    let title = "Logs";
    let Some(dir) = dir else {
        return Finding::new("logs", title, Status::Warn)
            .detail("no log folder (no home folder, and PERCH_LOG_DIR is not set)");
    };
    let files: Vec<u64> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
                .filter_map(|e| e.metadata().ok().map(|m| m.len()))
                .collect()
        })
        .unwrap_or_default();
    Finding::new("logs", title, Status::Pass).detail(format!(
        "{}: {} file(s), {}",
        dir.display(),
        files.len(),
        human_bytes(files.iter().sum())
    ))
}

fn versions(version: &str) -> Finding {
    Finding::new("versions", "Versions", Status::Pass).detail(format!(
        "Perch {version}; SQLite {}; {}",
        rusqlite::version(),
        os_version()
    ))
}

/// The operating system, as precisely as can be told without running programs.
pub fn os_version() -> String {
    let base = format!("{} {}", std::env::consts::OS, std::env::consts::ARCH);
    let pretty = if cfg!(target_os = "linux") {
        std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                    .map(|v| v.trim_matches('"').to_owned())
            })
    } else if cfg!(target_os = "macos") {
        std::fs::read_to_string("/System/Library/CoreServices/SystemVersion.plist")
            .ok()
            .and_then(|t| {
                let at = t.find("<key>ProductVersion</key>")?;
                let rest = &t[at..];
                let start = rest.find("<string>")? + "<string>".len();
                let end = rest[start..].find("</string>")?;
                Some(format!("macOS {}", &rest[start..start + end]))
            })
    } else {
        None
    };
    match pretty {
        Some(p) => format!("{base} ({p})"),
        None => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    #[test]
    fn clock_skew_thresholds() {
        let now = SystemTime::now();
        let at = |secs: i64| {
            if secs >= 0 {
                now - Duration::from_secs(secs as u64)
            } else {
                now + Duration::from_secs((-secs) as u64)
            }
        };
        assert_eq!(clock(Some(at(3)), now).status, Status::Pass);
        assert_eq!(clock(Some(at(-90)), now).status, Status::Pass);
        let warn = clock(Some(at(3 * 60)), now);
        assert_eq!(warn.status, Status::Warn);
        assert!(warn.detail.contains("3 min ahead"), "{}", warn.detail);
        let fail = clock(Some(at(-10 * 60)), now);
        assert_eq!(fail.status, Status::Fail);
        assert!(fail.detail.contains("behind"), "{}", fail.detail);
        assert!(fail.action.is_some());
        assert_eq!(clock(None, now).status, Status::Warn);
    }

    #[test]
    fn disk_thresholds() {
        let d = Path::new("/data");
        assert_eq!(disk_finding(d, 10 * 1024 * 1024).status, Status::Fail);
        assert_eq!(disk_finding(d, 100 * 1024 * 1024).status, Status::Warn);
        assert_eq!(disk_finding(d, 5 * 1024 * 1024 * 1024).status, Status::Pass);
    }

    #[test]
    fn scopes_compare_without_resource_or_case() {
        let required = vec!["User.Read".to_owned(), "ChannelMessage.Read.All".to_owned()];
        let granted = vec![
            "https://graph.microsoft.com/user.read".to_owned(),
            "openid".to_owned(),
        ];
        assert_eq!(
            missing_scopes(&required, &granted),
            vec!["ChannelMessage.Read.All".to_owned()]
        );
        let all = vec![
            "https://graph.microsoft.com/User.Read".to_owned(),
            "ChannelMessage.Read.All".to_owned(),
        ];
        assert!(missing_scopes(&required, &all).is_empty());
    }

    #[test]
    fn policy_problems_are_warnings_with_the_key() {
        let mut inputs = Inputs::new(
            "1.0.0",
            PathBuf::from("/x"),
            ConfigState::Missing("no client id".into()),
        );
        inputs.policy = PolicyReport {
            source: Some("/etc/perch/policy.json".into()),
            policy: Default::default(),
            problems: vec![perch_core::policy::PolicyProblem {
                key: "min_view_interval_secs".into(),
                reason: "`-3` is not a number of seconds; the default applies".into(),
            }],
        };
        let findings = config_and_policy(&inputs);
        let problem = findings
            .iter()
            .find(|f| f.id == "policy.min_view_interval_secs")
            .expect("the problem is a finding");
        assert_eq!(problem.status, Status::Warn);
        assert!(problem.detail.contains("-3"));
        assert_eq!(findings[0].status, Status::Warn);
    }

    #[test]
    fn the_proxy_shows_without_credentials() {
        let mut inputs = Inputs::new(
            "1",
            PathBuf::from("/x"),
            ConfigState::Missing(String::new()),
        );
        inputs.env = vec![(
            "HTTPS_PROXY".into(),
            "http://user:pw@proxy.corp:3128".into(),
        )];
        let f = proxy(&inputs);
        assert_eq!(f.status, Status::Pass);
        assert!(
            f.detail.contains("proxy.corp:3128") && !f.detail.contains("pw"),
            "{}",
            f.detail
        );
        inputs.policy.policy.proxy = Some("ftp://nope".into());
        assert_eq!(proxy(&inputs).status, Status::Fail);
    }

    #[test]
    fn the_report_text_says_status_title_detail_and_action() {
        let report = Report {
            generated_at: Utc::now(),
            findings: vec![
                Finding::new("a", "Alpha", Status::Pass).detail("fine"),
                Finding::new("b", "Beta", Status::Fail)
                    .detail("broken")
                    .action("fix it"),
            ],
        };
        let text = report.to_text();
        assert!(
            text.contains("[fail] Beta") && text.contains("-> fix it"),
            "{text}"
        );
        assert!(report.has_failures());
    }
}
