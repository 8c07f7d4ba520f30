//! Fault injection: the ways a real Graph or Entra endpoint misbehaves, switched on at start
//! ([`FaultsConfig`] in `EmulatorConfig.faults`) or at run time through the admin API
//! (`/_emulator/faults`, `/_emulator/pause`, …), so that tests catch a client that does not cope.
//!
//! [`layer`] wraps the whole application, outside the routers. It never touches the admin API
//! (`/_emulator/…`). Each rule targets Graph (`/v1.0/…`, the default), Entra (paths with
//! `/oauth2/`) or both; other paths are never faulted. For each request, in this order:
//! 1. **Offline**: [`Offline::Paused`] holds the request, unanswered, until the mode changes;
//!    [`Offline::Refused`] drops the connection without an answer.
//! 2. **Latency**: the first matching [`LatencyRule`] sleeps (`tokio::time::sleep`, so paused
//!    test time drives it) for `ms` ± a normal spread plus a uniform jitter.
//! 3. **Errors**: the first matching [`FaultRule`] whose probability roll succeeds fires:
//!    - `status`: answers that status (429, 500, 502, 503, 504, …) with Graph's error shape (the
//!      OAuth error shape on Entra paths) and a `Retry-After` when given (429 always has one);
//!    - `reset`: drops the connection before the request reaches a handler;
//!    - `truncatedJson`: runs the handler and cuts a 2xx JSON body in half, with a matching
//!      `Content-Length` (so the client sees a complete response that is not valid JSON);
//!    - `malformedJson`: answers 200 `application/json` with bytes that are not JSON, without
//!      running the handler;
//!    - `htmlError`: answers 200 `application/json` with a proxy's HTML error page, without
//!      running the handler;
//!    - `acceptThenDrop`: for POST, PATCH, PUT and DELETE only, runs the handler (the write
//!      commits) and then drops the connection instead of answering;
//!    - `acceptThenHang`: the same writes only, runs the handler and then never answers (the
//!      client times out, or is killed, without knowing that the write committed).
//!
//! A rule with `count` fires that many more times and is then removed; without one it stays.
//! Every random choice comes from one `ChaCha8Rng` seeded from `config.seed`, so a test that
//! sends the same requests sees the same faults. The rest of the switches the admin API offers
//! (delta-token expiry, refresh-token revocation, user sign-in switches) live with the state
//! they change, not here.
//!
//! A dropped connection is real: the layer asks the server's [`ConnectionControl`] to close the
//! socket and then waits, so the accept loop drops the connection before anything is written.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::config::EmulatorConfig;
use crate::error::GraphError;
use crate::server::ConnectionControl;
use crate::state::AppState;

/// The longest latency a rule may ask for (10 minutes): longer is a pause, not latency.
pub const MAX_LATENCY_MS: u64 = 600_000;

/// The largest body `truncatedJson` reads to cut (larger bodies pass unchanged).
const MAX_TRUNCATE_BODY: usize = 64 << 20;

/// Faults chosen at start, and the faults in force as `GET /_emulator/faults` shows them.
///
/// ```json
/// {
///   "rules": [
///     {"kind": "status", "status": 503, "retryAfter": 2.5, "probability": 0.1},
///     {"kind": "reset", "path": "/messages/delta", "count": 1}
///   ],
///   "latency": [{"ms": 200, "jitterMs": 100}],
///   "offline": "none"
/// }
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultsConfig {
    /// Error rules, tried in order; the first that matches and wins its roll fires.
    pub rules: Vec<FaultRule>,
    /// Latency rules, tried in order; the first that matches and wins its roll applies.
    pub latency: Vec<LatencyRule>,
    /// Whether the emulator looks offline or stalled.
    pub offline: Offline,
    /// Which paths `offline` applies to (Graph by default).
    pub offline_target: Target,
}

/// Which requests a rule applies to.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Target {
    /// Graph: paths under `/v1.0/`.
    #[default]
    Graph,
    /// Entra: paths containing `/oauth2/`.
    Entra,
    /// Both.
    All,
}

impl Target {
    fn covers(self, class: PathClass) -> bool {
        matches!(
            (self, class),
            (Self::All, _) | (Self::Graph, PathClass::Graph) | (Self::Entra, PathClass::Entra)
        )
    }
}

/// The emulator's reachability.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Offline {
    /// Requests are answered.
    #[default]
    None,
    /// Requests are held, unanswered, until the mode changes (a stalled server).
    Paused,
    /// Every request's connection is dropped without an answer (an unreachable server).
    Refused,
}

/// What a [`FaultRule`] does.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum FaultKind {
    /// Answer `status` (with `retryAfter`, if given).
    Status,
    /// Drop the connection before the handler runs.
    Reset,
    /// Run the handler and cut its 2xx JSON body in half.
    TruncatedJson,
    /// Answer 200 `application/json` with bytes that are not JSON.
    MalformedJson,
    /// Answer 200 `application/json` with an HTML error page.
    HtmlError,
    /// Run the handler of a write, then drop the connection instead of answering.
    AcceptThenDrop,
    /// Run the handler of a write, then never answer (a server that committed and stalled:
    /// the client times out, or is killed, not knowing).
    AcceptThenHang,
}

impl FaultKind {
    fn stat_name(self, status: Option<u16>) -> String {
        match self {
            Self::Status => format!("status{}", status.unwrap_or(500)),
            Self::Reset => "reset".into(),
            Self::TruncatedJson => "truncatedJson".into(),
            Self::MalformedJson => "malformedJson".into(),
            Self::HtmlError => "htmlError".into(),
            Self::AcceptThenDrop => "acceptThenDrop".into(),
            Self::AcceptThenHang => "acceptThenHang".into(),
        }
    }
}

fn always() -> f64 {
    1.0
}

/// One error rule: `{"kind":"status","status":503,"retryAfter":1.5,"probability":0.2,
/// "path":"/messages","method":"GET","target":"graph","count":3}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// What the rule does.
    pub kind: FaultKind,
    /// For `status`: the status to answer, 400–599.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// For `status`: a `Retry-After` in seconds (fractional allowed). 429 defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<f64>,
    /// The chance (0–1) that a matching request is hit. Default 1.
    #[serde(default = "always")]
    pub probability: f64,
    /// Only paths containing this substring (e.g. `/messages/delta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Only this method (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Graph (default), Entra or both.
    #[serde(default)]
    pub target: Target,
    /// Fire this many more times, then disappear; without it the rule stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// One latency rule: `{"ms":300,"sdMs":50,"jitterMs":100,"path":"/messages"}` sleeps
/// `max(0, normal(300, 50))` (clamped to 300 + 4·50) plus a uniform 0–100 ms.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LatencyRule {
    /// The base (mean) delay in milliseconds.
    #[serde(default)]
    pub ms: u64,
    /// A normal spread around `ms` (standard deviation, milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sd_ms: Option<f64>,
    /// A uniform extra delay between 0 and this many milliseconds.
    #[serde(default)]
    pub jitter_ms: u64,
    /// The chance (0–1) that a matching request is delayed. Default 1.
    #[serde(default = "always")]
    pub probability: f64,
    /// Only paths containing this substring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Only this method (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Graph (default), Entra or both.
    #[serde(default)]
    pub target: Target,
    /// Apply this many more times, then disappear; without it the rule stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// A fault configuration that makes no sense.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultsError {
    /// An error rule is invalid.
    #[error("rules[{index}]: {reason}")]
    Rule {
        /// Its position.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A latency rule is invalid.
    #[error("latency[{index}]: {reason}")]
    Latency {
        /// Its position.
        index: usize,
        /// What is wrong.
        reason: String,
    },
}

fn check_probability(p: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(format!("probability must be between 0 and 1, got {p}"))
    }
}

fn check_method(method: Option<&str>) -> Result<(), String> {
    match method {
        Some(m) if Method::from_bytes(m.as_bytes()).is_err() => {
            Err(format!("method {m:?} is not an HTTP method"))
        }
        _ => Ok(()),
    }
}

impl FaultRule {
    fn validate(&self) -> Result<(), String> {
        check_probability(self.probability)?;
        check_method(self.method.as_deref())?;
        if let Some(secs) = self.retry_after {
            if !(secs.is_finite() && secs >= 0.0) {
                return Err(format!(
                    "retryAfter must be a non-negative number, got {secs}"
                ));
            }
        }
        match (self.kind, self.status) {
            (FaultKind::Status, None) => Err("kind \"status\" needs a \"status\"".into()),
            (FaultKind::Status, Some(s)) if !(400..=599).contains(&s) => {
                Err(format!("status must be 400–599, got {s}"))
            }
            (FaultKind::Status, Some(_)) => Ok(()),
            (_, Some(_)) => Err("\"status\" only goes with kind \"status\"".into()),
            (_, None) if self.retry_after.is_some() => {
                Err("\"retryAfter\" only goes with kind \"status\"".into())
            }
            _ => Ok(()),
        }
    }

    fn matches(&self, class: PathClass, method: &Method, path: &str) -> bool {
        let write = [Method::POST, Method::PATCH, Method::PUT, Method::DELETE].contains(method);
        self.target.covers(class)
            && filter_matches(self.path.as_deref(), self.method.as_deref(), method, path)
            && (!matches!(
                self.kind,
                FaultKind::AcceptThenDrop | FaultKind::AcceptThenHang
            ) || write)
    }
}

impl LatencyRule {
    fn validate(&self) -> Result<(), String> {
        check_probability(self.probability)?;
        check_method(self.method.as_deref())?;
        if let Some(sd) = self.sd_ms {
            if !(sd.is_finite() && sd >= 0.0) {
                return Err(format!("sdMs must be a non-negative number, got {sd}"));
            }
        }
        let worst = self.ms as f64 + 4.0 * self.sd_ms.unwrap_or(0.0) + self.jitter_ms as f64;
        if worst > MAX_LATENCY_MS as f64 {
            return Err(format!(
                "the delay may reach {worst} ms; at most {MAX_LATENCY_MS} ms (use pause instead)"
            ));
        }
        Ok(())
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> Duration {
        let mut ms = self.ms as f64;
        if let Some(sd) = self.sd_ms.filter(|sd| *sd > 0.0) {
            // Box–Muller: one standard normal from two uniforms.
            let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
            let u2: f64 = rng.gen();
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            ms = (ms + z * sd).clamp(0.0, ms + 4.0 * sd);
        }
        if self.jitter_ms > 0 {
            ms += rng.gen_range(0..=self.jitter_ms) as f64;
        }
        Duration::from_micros((ms * 1000.0) as u64)
    }

    fn matches(&self, class: PathClass, method: &Method, path: &str) -> bool {
        self.target.covers(class)
            && filter_matches(self.path.as_deref(), self.method.as_deref(), method, path)
    }
}

fn filter_matches(
    path_filter: Option<&str>,
    method_filter: Option<&str>,
    method: &Method,
    path: &str,
) -> bool {
    path_filter.is_none_or(|p| path.contains(p))
        && method_filter.is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
}

impl FaultsConfig {
    /// Checks every rule; the admin API answers 400 with the message.
    pub fn validate(&self) -> Result<(), FaultsError> {
        for (index, rule) in self.rules.iter().enumerate() {
            rule.validate()
                .map_err(|reason| FaultsError::Rule { index, reason })?;
        }
        for (index, rule) in self.latency.iter().enumerate() {
            rule.validate()
                .map_err(|reason| FaultsError::Latency { index, reason })?;
        }
        Ok(())
    }
}

/// Which part of the emulator a path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathClass {
    /// `/v1.0/…`.
    Graph,
    /// A path with `/oauth2/`.
    Entra,
}

impl PathClass {
    /// The class of a path, or `None` for paths faults never touch (admin, static, unknown).
    pub fn of(path: &str) -> Option<Self> {
        if path.starts_with("/_emulator") {
            None
        } else if path == "/v1.0" || path.starts_with("/v1.0/") {
            Some(Self::Graph)
        } else if path.contains("/oauth2/") {
            Some(Self::Entra)
        } else {
            None
        }
    }
}

/// What the layer decided to do to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Picked {
    /// The fault.
    pub kind: FaultKind,
    /// For `status`.
    pub status: Option<u16>,
    /// For `status`.
    pub retry_after: Option<f64>,
}

/// The faults in force; see the module docs.
#[derive(Debug)]
pub struct Faults {
    config: Mutex<FaultsConfig>,
    rng: Mutex<ChaCha8Rng>,
    /// Bumped on every change, so paused requests wake up and look again.
    changed: watch::Sender<u64>,
}

impl Faults {
    /// From the start configuration. An invalid start configuration is logged and its bad
    /// rules are dropped, so that the emulator still starts.
    pub fn new(config: &EmulatorConfig) -> Self {
        let mut faults = config.faults.clone();
        if let Err(error) = faults.validate() {
            tracing::warn!(%error, "invalid fault rules at start; dropping the invalid ones");
            faults.rules.retain(|r| r.validate().is_ok());
            faults.latency.retain(|r| r.validate().is_ok());
        }
        Self {
            config: Mutex::new(faults),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(config.seed)),
            changed: watch::channel(0).0,
        }
    }

    /// The faults in force (rules with their remaining counts).
    pub fn config(&self) -> FaultsConfig {
        self.config.lock().clone()
    }

    /// Replaces every fault.
    pub fn set(&self, config: FaultsConfig) -> Result<(), FaultsError> {
        config.validate()?;
        *self.config.lock() = config;
        self.notify();
        Ok(())
    }

    /// Switches every fault off and puts the emulator back online.
    pub fn clear(&self) {
        *self.config.lock() = FaultsConfig::default();
        self.notify();
    }

    /// Appends an error rule.
    pub fn add_rule(&self, rule: FaultRule) -> Result<(), FaultsError> {
        let mut config = self.config.lock();
        rule.validate().map_err(|reason| FaultsError::Rule {
            index: config.rules.len(),
            reason,
        })?;
        config.rules.push(rule);
        Ok(())
    }

    /// Appends a latency rule.
    pub fn add_latency(&self, rule: LatencyRule) -> Result<(), FaultsError> {
        let mut config = self.config.lock();
        rule.validate().map_err(|reason| FaultsError::Latency {
            index: config.latency.len(),
            reason,
        })?;
        config.latency.push(rule);
        Ok(())
    }

    /// Sets the offline mode and the paths it applies to.
    pub fn set_offline(&self, offline: Offline, target: Target) {
        {
            let mut config = self.config.lock();
            config.offline = offline;
            config.offline_target = target;
        }
        self.notify();
    }

    fn notify(&self) {
        self.changed.send_modify(|generation| *generation += 1);
    }

    /// The offline mode for a request of `class`.
    pub fn offline_for(&self, class: PathClass) -> Offline {
        let config = self.config.lock();
        if config.offline_target.covers(class) {
            config.offline
        } else {
            Offline::None
        }
    }

    /// Waits until a request of `class` may proceed: `true` when it may, `false` when the
    /// emulator refuses it (the caller drops the connection).
    pub async fn wait_online(&self, class: PathClass) -> bool {
        loop {
            // Subscribe before looking, so a change in between is not missed.
            let mut changes = self.changed.subscribe();
            match self.offline_for(class) {
                Offline::None => return true,
                Offline::Refused => return false,
                Offline::Paused => {
                    if changes.changed().await.is_err() {
                        return true;
                    }
                }
            }
        }
    }

    /// The delay for a request, if a latency rule picks it (counting the rule down).
    pub fn pick_latency(&self, class: PathClass, method: &Method, path: &str) -> Option<Duration> {
        let mut config = self.config.lock();
        let mut rng = self.rng.lock();
        let index = config.latency.iter().position(|rule| {
            rule.matches(class, method, path) && roll(&mut rng, rule.probability)
        })?;
        let rule = &mut config.latency[index];
        let delay = rule.sample(&mut rng);
        if let Some(count) = &mut rule.count {
            *count = count.saturating_sub(1);
            if *count == 0 {
                config.latency.remove(index);
            }
        }
        Some(delay)
    }

    /// The fault for a request, if an error rule picks it (counting the rule down).
    pub fn pick_fault(&self, class: PathClass, method: &Method, path: &str) -> Option<Picked> {
        let mut config = self.config.lock();
        let mut rng = self.rng.lock();
        let index = config.rules.iter().position(|rule| {
            rule.matches(class, method, path) && roll(&mut rng, rule.probability)
        })?;
        let rule = &mut config.rules[index];
        let picked = Picked {
            kind: rule.kind,
            status: rule.status,
            retry_after: rule.retry_after,
        };
        if let Some(count) = &mut rule.count {
            *count = count.saturating_sub(1);
            if *count == 0 {
                config.rules.remove(index);
            }
        }
        Some(picked)
    }
}

/// Whether a request with chance `p` is hit. Certain outcomes use no randomness.
fn roll(rng: &mut ChaCha8Rng, p: f64) -> bool {
    if p >= 1.0 {
        true
    } else if p <= 0.0 {
        false
    } else {
        rng.gen::<f64>() < p
    }
}

/// The fault layer around every route; see the module docs.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let Some(class) = PathClass::of(&path) else {
        return next.run(request).await;
    };
    let method = request.method().clone();
    let control = request.extensions().get::<ConnectionControl>().cloned();
    let faults = &state.faults;

    if !faults.wait_online(class).await {
        state.stats.record_fault("refused");
        state.stats.record_http(None);
        return hang_up(control).await;
    }
    if let Some(delay) = faults.pick_latency(class, &method, &path) {
        state.stats.record_fault("latency");
        tokio::time::sleep(delay).await;
    }
    let Some(picked) = faults.pick_fault(class, &method, &path) else {
        let response = next.run(request).await;
        state.stats.record_http(Some(response.status().as_u16()));
        return response;
    };
    state
        .stats
        .record_fault(&picked.kind.stat_name(picked.status));
    let response = match picked.kind {
        FaultKind::Status => Some(status_response(class, &picked)),
        FaultKind::Reset => None,
        FaultKind::TruncatedJson => Some(truncate(next.run(request).await).await),
        FaultKind::MalformedJson => Some(json_typed(
            "{\"value\":[{\"id\":\"1\",\"body\":{\"content\":\u{1}\u{0}<<not json>>]]",
        )),
        FaultKind::HtmlError => Some(json_typed(HTML_ERROR_PAGE)),
        FaultKind::AcceptThenHang => {
            let response = next.run(request).await;
            tracing::debug!(status = %response.status(), "write accepted; never answering");
            state.stats.record_http(None);
            return std::future::pending::<Response>().await;
        }
        FaultKind::AcceptThenDrop => {
            let response = next.run(request).await;
            tracing::debug!(status = %response.status(), "write accepted; dropping the connection");
            None
        }
    };
    match response {
        Some(response) => {
            state.stats.record_http(Some(response.status().as_u16()));
            response
        }
        None => {
            state.stats.record_http(None);
            hang_up(control).await
        }
    }
}

/// Drops the connection. With a [`ConnectionControl`] this waits until the accept loop drops
/// the connection (and with it this future), so nothing is ever written; without one (a router
/// driven directly, in tests) it answers an empty 502.
async fn hang_up(control: Option<ConnectionControl>) -> Response {
    if let Some(control) = control {
        control.drop_connection();
        std::future::pending::<()>().await;
    }
    StatusCode::BAD_GATEWAY.into_response()
}

const HTML_ERROR_PAGE: &str =
    "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n\
<body><h1>Bad Gateway</h1><p>The proxy server received an invalid response from an upstream \
server.</p><hr><address>proxy.contoso.example</address></body></html>\n";

fn json_typed(body: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn status_response(class: PathClass, picked: &Picked) -> Response {
    let status = picked
        .status
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let retry_after = picked
        .retry_after
        .or((status == StatusCode::TOO_MANY_REQUESTS).then_some(1.0));
    match class {
        PathClass::Graph => {
            let (code, message) = graph_code(status);
            GraphError {
                status,
                code,
                message: message.into(),
                retry_after,
            }
            .into_response()
        }
        PathClass::Entra => {
            let error = match status.as_u16() {
                429 | 503 | 504 => "temporarily_unavailable",
                500..=599 => "server_error",
                _ => "invalid_request",
            };
            let body = serde_json::json!({
                "error": error,
                "error_description": format!(
                    "The service answered {} (an emulated fault).",
                    status.as_u16()
                ),
            });
            let mut response = (status, axum::Json(body)).into_response();
            if let Some(value) = retry_after
                .and_then(|s| HeaderValue::from_str(&crate::error::format_retry_after(s)).ok())
            {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

fn graph_code(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        429 => (
            "TooManyRequests",
            "Too many requests. Retry after the time in the Retry-After header.",
        ),
        500 => ("InternalServerError", "An internal server error occurred."),
        502 => ("BadGateway", "The gateway received an invalid response."),
        503 => (
            "ServiceUnavailable",
            "The service is temporarily unavailable. Try again later.",
        ),
        504 => ("GatewayTimeout", "The gateway timed out."),
        400 => ("BadRequest", "The request is invalid."),
        401 => (
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        ),
        403 => ("Forbidden", "Forbidden."),
        404 => ("NotFound", "Not found."),
        409 => ("Conflict", "Conflict."),
        412 => ("PreconditionFailed", "Precondition failed."),
        s if s >= 500 => ("InternalServerError", "An internal server error occurred."),
        _ => ("BadRequest", "The request failed."),
    }
}

/// Cuts a 2xx JSON response's body in half (other responses pass unchanged).
async fn truncate(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !response.status().is_success() || !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_TRUNCATE_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    if bytes.len() < 2 {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let cut = bytes.slice(..bytes.len() / 2);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(cut.len()));
    Response::from_parts(parts, Body::from(cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(config: FaultsConfig) -> Faults {
        Faults::new(&EmulatorConfig {
            faults: config,
            ..EmulatorConfig::default()
        })
    }

    fn rule(json: &str) -> FaultRule {
        serde_json::from_str(json).expect(json)
    }

    #[test]
    fn config_parses_from_camel_case_json() {
        let config: FaultsConfig = serde_json::from_str(
            r#"{"rules":[{"kind":"status","status":503,"retryAfter":2.5,"probability":0.5,
                "path":"/messages","method":"get","count":3}],
               "latency":[{"ms":100,"jitterMs":20,"target":"all"}],
               "offline":"paused","offlineTarget":"entra"}"#,
        )
        .unwrap();
        assert_eq!(config.rules[0].retry_after, Some(2.5));
        assert_eq!(config.rules[0].target, Target::Graph);
        assert_eq!(config.latency[0].target, Target::All);
        assert_eq!(config.offline, Offline::Paused);
        assert!(config.validate().is_ok());
        assert!(serde_json::from_str::<FaultsConfig>(r#"{"rulez":[]}"#).is_err());
        assert!(serde_json::from_str::<FaultRule>(r#"{"kind":"status","probabilty":1}"#).is_err());
    }

    #[test]
    fn invalid_rules_are_refused_with_a_reason() {
        let cases = [
            (r#"{"kind":"status"}"#, "needs a \"status\""),
            (r#"{"kind":"status","status":200}"#, "400–599"),
            (r#"{"kind":"reset","status":500}"#, "only goes with"),
            (r#"{"kind":"reset","probability":2}"#, "between 0 and 1"),
            (r#"{"kind":"reset","method":"GE T"}"#, "not an HTTP method"),
            (
                r#"{"kind":"status","status":503,"retryAfter":-1}"#,
                "non-negative",
            ),
        ];
        for (json, reason) in cases {
            let error = rule(json).validate().unwrap_err();
            assert!(error.contains(reason), "{json}: {error}");
        }
        let config = FaultsConfig {
            latency: vec![LatencyRule {
                ms: MAX_LATENCY_MS + 1,
                sd_ms: None,
                jitter_ms: 0,
                probability: 1.0,
                path: None,
                method: None,
                target: Target::Graph,
                count: None,
            }],
            ..FaultsConfig::default()
        };
        assert!(matches!(
            config.validate(),
            Err(FaultsError::Latency { index: 0, .. })
        ));
    }

    #[test]
    fn rules_match_filters_targets_and_count_down() {
        let faults = faults(FaultsConfig {
            rules: vec![
                rule(r#"{"kind":"reset","path":"/delta","count":2}"#),
                rule(r#"{"kind":"acceptThenDrop"}"#),
                rule(r#"{"kind":"status","status":503,"target":"entra"}"#),
            ],
            ..FaultsConfig::default()
        });
        let get = Method::GET;
        let graph = PathClass::Graph;
        let delta = "/v1.0/teams/t/channels/c/messages/delta";
        assert_eq!(faults.pick_fault(graph, &get, "/v1.0/me"), None);
        assert_eq!(
            faults.pick_fault(graph, &get, delta).unwrap().kind,
            FaultKind::Reset
        );
        assert_eq!(
            faults.pick_fault(graph, &get, delta).unwrap().kind,
            FaultKind::Reset
        );
        assert_eq!(faults.pick_fault(graph, &get, delta), None, "count ran out");
        assert_eq!(faults.config().rules.len(), 2);
        let post = faults.pick_fault(graph, &Method::POST, "/v1.0/x").unwrap();
        assert_eq!(post.kind, FaultKind::AcceptThenDrop);
        let entra = faults
            .pick_fault(PathClass::Entra, &Method::POST, "/common/oauth2/v2.0/token")
            .unwrap();
        assert_eq!(entra.status, Some(503));
    }

    #[test]
    fn probabilities_are_deterministic_per_seed() {
        let config = FaultsConfig {
            rules: vec![rule(r#"{"kind":"status","status":500,"probability":0.3}"#)],
            ..FaultsConfig::default()
        };
        let run = || {
            let faults = faults(config.clone());
            (0..1000)
                .map(|_| {
                    faults
                        .pick_fault(PathClass::Graph, &Method::GET, "/v1.0/me")
                        .is_some()
                })
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let hits = first.iter().filter(|hit| **hit).count();
        assert!(
            (230..=370).contains(&hits),
            "{hits} hits of 1000 at p = 0.3"
        );
    }

    #[test]
    fn latency_samples_stay_in_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let rule = LatencyRule {
            ms: 100,
            sd_ms: Some(30.0),
            jitter_ms: 50,
            probability: 1.0,
            path: None,
            method: None,
            target: Target::Graph,
            count: None,
        };
        let mut total = 0.0;
        for _ in 0..2000 {
            let ms = rule.sample(&mut rng).as_secs_f64() * 1000.0;
            assert!((0.0..=270.0).contains(&ms), "{ms}");
            total += ms;
        }
        let mean = total / 2000.0;
        // Normal mean 100 plus uniform jitter mean 25.
        assert!((115.0..=135.0).contains(&mean), "mean {mean}");
    }

    #[test]
    fn path_classes() {
        assert_eq!(PathClass::of("/v1.0/me"), Some(PathClass::Graph));
        assert_eq!(PathClass::of("/v1.0"), Some(PathClass::Graph));
        assert_eq!(
            PathClass::of("/organizations/oauth2/v2.0/token"),
            Some(PathClass::Entra)
        );
        assert_eq!(PathClass::of("/_emulator/v1.0/oauth2/"), None);
        assert_eq!(PathClass::of("/v1.00"), None);
    }

    #[tokio::test]
    async fn truncation_cuts_json_and_fixes_content_length() {
        let response = axum::Json(serde_json::json!({"value": [1, 2, 3, 4]})).into_response();
        let cut = truncate(response).await;
        let length: usize = cut.headers()[header::CONTENT_LENGTH]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let bytes = axum::body::to_bytes(cut.into_body(), 1 << 20)
            .await
            .unwrap();
        assert_eq!(bytes.len(), length);
        assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_err());
    }

    #[tokio::test]
    async fn paused_requests_wait_for_resume() {
        let faults = std::sync::Arc::new(faults(FaultsConfig::default()));
        faults.set_offline(Offline::Paused, Target::Graph);
        assert!(
            faults.wait_online(PathClass::Entra).await,
            "Entra is not paused"
        );
        let waiter = tokio::spawn({
            let faults = faults.clone();
            async move { faults.wait_online(PathClass::Graph).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        faults.set_offline(Offline::Refused, Target::Graph);
        assert!(!waiter.await.unwrap(), "paused, then refused");
        faults.clear();
        assert!(faults.wait_online(PathClass::Graph).await);
    }
}
