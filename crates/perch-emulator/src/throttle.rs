//! Throttling as Microsoft documents it for Teams (FACTS.md, "Throttling"): every Graph request
//! is put in an endpoint [`Category`], and each category has a burst limit (requests per
//! second) in up to four dimensions: per app across all tenants, per app per tenant, per
//! channel (per team for channel lists) and per user. A `–` in Microsoft's table means no limit
//! in that dimension, so no bucket.
//!
//! | category | per app | per app per tenant | per channel | per user |
//! |---|---|---|---|---|
//! | [`Category::ChannelMessagesRead`] (list, replies, delta) | 200 | 20 | 1 | – |
//! | [`Category::MessagePost`] (post, reply) | 500 | 50 | 1 | 1 |
//! | [`Category::JoinedTeams`] | 300 | 30 | – | – |
//! | [`Category::Channels`] (list or get channels) | 1200 | 60 | 4 per team | – |
//! | [`Category::OtherGet`] (single message, members, hosted content, team, …) | 1500 | 30 | 1 | 1 |
//! | [`Category::OtherWrite`] (edit, softDelete, reactions, …) | 300 | 30 | 1 | 1 |
//!
//! `/me`, `/users/…` (profiles and photos) and other non-Teams resources are
//! [`Category::Directory`]: Graph's global limits for them are far above anything a desktop
//! client does, so they are counted but not throttled. The `$batch` envelope
//! ([`Category::Batch`]) is not throttled either; its inner requests pass through this layer one
//! by one and are throttled on their own.
//!
//! Each scope (dimension + category + key) is a pair of token buckets, and a request needs a
//! token in both:
//! - the burst bucket holds `limit × scale` tokens (at least one) and refills at
//!   `limit × scale` per second, so a full second's worth can come at once;
//! - the sustained bucket refills at 83 % of that rate and holds [`SUSTAINED_WINDOW`] (10 s)
//!   worth of it, so a client that keeps going at the full burst rate runs it dry after about
//!   49 s (0.83 / 0.17 windows) and is then held to the sustained rate.
//!
//! When a bucket is empty the request gets 429 with a fractional `Retry-After`: the time until
//! every bucket it needs has a token again, rounded up to the millisecond. Each refusing scope is
//! then blocked until its own token is due; a request that falls into a blocked scope before
//! then is refused again (with the remaining time) and counted as a Retry-After violation.
//! Refused requests take no tokens. Other scopes are unaffected.
//!
//! [`Throttle::check`] is the pure core: it takes the time as an argument, so tests drive it with
//! tables of instants, and it uses [`tokio::time::Instant`] so `tokio::time::pause`/`advance`
//! work through the middleware too. Its parameters (enabled, scale) change at run time through
//! the admin API; a change empties every bucket and lifts every block.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use percent_encoding::percent_decode_str;
use tokio::time::Instant;
use uuid::Uuid;

use crate::config::{EmulatorConfig, LimitsConfig};
use crate::entra::Principal;
use crate::error::GraphError;
use crate::state::AppState;
use crate::stats::{GraphRequestRecord, ViolationInput};

/// How long the sustained bucket's capacity lasts at the sustained rate.
pub const SUSTAINED_WINDOW: Duration = Duration::from_secs(10);

/// The sustained limit as a share of the burst limit ("about 83 %").
pub const SUSTAINED_SHARE: f64 = 0.83;

/// Tokens within this much of a whole token count as one (floating-point slack, so a client
/// that waits exactly the Retry-After it was given always gets through).
const EPSILON: f64 = 1e-9;

/// Endpoint categories of Microsoft's Teams limits table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// `GET …/messages`, `…/messages/delta`, `…/messages/{m}/replies`.
    ChannelMessagesRead,
    /// `POST …/messages`, `POST …/messages/{m}/replies`.
    MessagePost,
    /// `GET /me/joinedTeams`.
    JoinedTeams,
    /// `GET /teams/{t}/channels`, `…/allChannels`, `…/channels/{c}`.
    Channels,
    /// Any other GET of a Teams resource (single message, members, hosted content, team).
    OtherGet,
    /// Any other write of a Teams resource (edit, softDelete, undoSoftDelete, reactions).
    OtherWrite,
    /// `/me`, `/users/…` and other non-Teams resources: counted, never throttled.
    Directory,
    /// The `POST /$batch` envelope: never throttled (its inner requests are).
    Batch,
}

impl Category {
    /// The name used in stats (`channelMessagesRead`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::ChannelMessagesRead => "channelMessagesRead",
            Self::MessagePost => "messagePost",
            Self::JoinedTeams => "joinedTeams",
            Self::Channels => "channels",
            Self::OtherGet => "otherGet",
            Self::OtherWrite => "otherWrite",
            Self::Directory => "directory",
            Self::Batch => "batch",
        }
    }

    /// Microsoft's burst limits (requests per second) for this category, unscaled.
    pub fn limits(self) -> CategoryLimits {
        let limits = |per_app, per_app_per_tenant, per_channel, per_user| CategoryLimits {
            per_app: Some(per_app),
            per_app_per_tenant: Some(per_app_per_tenant),
            per_channel,
            per_user,
        };
        match self {
            Self::ChannelMessagesRead => limits(200.0, 20.0, Some(1.0), None),
            Self::MessagePost => limits(500.0, 50.0, Some(1.0), Some(1.0)),
            Self::JoinedTeams => limits(300.0, 30.0, None, None),
            // "4 per team": the channel dimension is keyed by team for channel lists.
            Self::Channels => limits(1200.0, 60.0, Some(4.0), None),
            Self::OtherGet => limits(1500.0, 30.0, Some(1.0), Some(1.0)),
            Self::OtherWrite => limits(300.0, 30.0, Some(1.0), Some(1.0)),
            Self::Directory | Self::Batch => CategoryLimits::default(),
        }
    }
}

/// Burst limits in requests per second per dimension; `None` is Microsoft's `–`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CategoryLimits {
    /// Per app, across all tenants.
    pub per_app: Option<f64>,
    /// Per app per tenant (shared by every copy of the app in the tenant).
    pub per_app_per_tenant: Option<f64>,
    /// Per channel (per team for [`Category::Channels`]).
    pub per_channel: Option<f64>,
    /// Per user.
    pub per_user: Option<f64>,
}

/// What a request is, for throttling: its category and the team and channel it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The category.
    pub category: Category,
    /// The team id from the path, if any.
    pub team: Option<String>,
    /// The channel id from the path (percent-decoded), if any.
    pub channel: Option<String>,
}

/// Classifies a Graph request by method and path. The path may carry the `/v1.0` prefix and a
/// query; segments are matched case-insensitively, as Graph does.
pub fn classify(method: &Method, path: &str) -> Endpoint {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let path = path.strip_prefix("/v1.0").unwrap_or(path);
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let seg = |i: usize| segments.get(i).map(String::as_str);
    let is = |i: usize, name: &str| seg(i).is_some_and(|s| s.eq_ignore_ascii_case(name));
    let read = *method == Method::GET || *method == Method::HEAD;
    let endpoint = |category, team: Option<&str>, channel: Option<&str>| Endpoint {
        category,
        team: team.map(str::to_owned),
        channel: channel.map(str::to_owned),
    };
    let other = if read {
        Category::OtherGet
    } else {
        Category::OtherWrite
    };

    if is(0, "$batch") && segments.len() == 1 {
        return endpoint(Category::Batch, None, None);
    }
    // `/me/joinedTeams` and `/users/{id}/joinedTeams`.
    let joined = (is(0, "me") && is(1, "joinedTeams") && segments.len() == 2)
        || (is(0, "users") && is(2, "joinedTeams") && segments.len() == 3);
    if joined {
        return endpoint(
            if read {
                Category::JoinedTeams
            } else {
                Category::OtherWrite
            },
            None,
            None,
        );
    }
    let teams_resource = ["teams", "chats", "teamwork", "appCatalogs"]
        .iter()
        .any(|name| is(0, name))
        || (is(0, "me") && is(1, "chats"));
    if !teams_resource {
        return endpoint(Category::Directory, None, None);
    }
    if !is(0, "teams") || segments.len() < 2 {
        return endpoint(other, None, None);
    }
    // Team ids are GUIDs, which Graph matches case-insensitively: one team, one scope.
    let team_key = seg(1).map(str::to_ascii_lowercase);
    let team = team_key.as_deref();
    let channels = is(2, "channels") || is(2, "allChannels");
    if !channels {
        return endpoint(other, team, None);
    }
    // `/teams/{t}/channels` and `/teams/{t}/channels/{c}`: channel reads.
    if segments.len() <= 4 {
        let category = if read { Category::Channels } else { other };
        let channel = if read { None } else { seg(3) };
        return endpoint(category, team, channel);
    }
    let channel = seg(3);
    if !is(4, "messages") {
        return endpoint(other, team, channel);
    }
    let rest = &segments[5..];
    let name = |i: usize, n: &str| rest.get(i).is_some_and(|s| s.eq_ignore_ascii_case(n));
    let category = match rest.len() {
        // `…/messages`
        0 if read => Category::ChannelMessagesRead,
        0 if *method == Method::POST => Category::MessagePost,
        // `…/messages/delta`
        1 if read && (name(0, "delta") || name(0, "microsoft.graph.delta()")) => {
            Category::ChannelMessagesRead
        }
        // `…/messages/{m}/replies` (and its delta)
        2 | 3 if name(1, "replies") && (rest.len() == 2 || name(2, "delta")) && read => {
            Category::ChannelMessagesRead
        }
        2 if name(1, "replies") && *method == Method::POST => Category::MessagePost,
        _ => other,
    };
    endpoint(category, team, channel)
}

/// A throttling dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// Per app, across all tenants.
    PerApp,
    /// Per app per tenant.
    PerAppPerTenant,
    /// Per channel.
    PerChannel,
    /// Per team (the channel dimension of channel lists).
    PerTeam,
    /// Per user.
    PerUser,
}

impl Dimension {
    /// The name used in scope names (`perApp`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::PerApp => "perApp",
            Self::PerAppPerTenant => "perAppPerTenant",
            Self::PerChannel => "perChannel",
            Self::PerTeam => "perTeam",
            Self::PerUser => "perUser",
        }
    }
}

/// One throttling scope: a dimension, a category and the key within the dimension (app id,
/// `app/tenant`, `team/channel`, team id or user id). Displays as `perChannel:channelMessagesRead:{team}/{channel}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The dimension.
    pub dimension: Dimension,
    /// The category.
    pub category: Category,
    /// The key within the dimension.
    pub key: String,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.dimension.name(),
            self.category.name(),
            self.key
        )
    }
}

/// Who makes a request and what it is: the input of [`Throttle::check`].
#[derive(Debug, Clone)]
pub struct ThrottleRequest {
    /// What the request is.
    pub endpoint: Endpoint,
    /// The app (client) id of the token.
    pub client_id: Uuid,
    /// The tenant.
    pub tenant_id: Uuid,
    /// The user of the token.
    pub user_id: Uuid,
}

impl ThrottleRequest {
    /// Every scope this request falls into, with its unscaled burst limit.
    pub fn scopes(&self) -> Vec<(Scope, f64)> {
        let category = self.endpoint.category;
        let limits = category.limits();
        let scope = |dimension, key: String| Scope {
            dimension,
            category,
            key,
        };
        let mut scopes = Vec::with_capacity(4);
        if let Some(limit) = limits.per_app {
            scopes.push((scope(Dimension::PerApp, self.client_id.to_string()), limit));
        }
        if let Some(limit) = limits.per_app_per_tenant {
            let key = format!("{}/{}", self.client_id, self.tenant_id);
            scopes.push((scope(Dimension::PerAppPerTenant, key), limit));
        }
        if let Some(limit) = limits.per_channel {
            match (&self.endpoint.team, &self.endpoint.channel) {
                (Some(team), _) if category == Category::Channels => {
                    scopes.push((scope(Dimension::PerTeam, team.clone()), limit));
                }
                (Some(team), Some(channel)) => {
                    let key = format!("{team}/{channel}");
                    scopes.push((scope(Dimension::PerChannel, key), limit));
                }
                // Requests that name no channel have no channel dimension.
                _ => {}
            }
        }
        if let Some(limit) = limits.per_user {
            scopes.push((scope(Dimension::PerUser, self.user_id.to_string()), limit));
        }
        scopes
    }
}

/// A request that may go ahead.
#[derive(Debug, Clone, PartialEq)]
pub struct Admitted {
    /// The scopes it fell into (each gave a token, unless throttling is off).
    pub scopes: Vec<Scope>,
}

/// A request that gets 429.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    /// Every scope it fell into.
    pub scopes: Vec<Scope>,
    /// The scopes that refused it.
    pub blocked: Vec<Scope>,
    /// The `Retry-After`: whole milliseconds, at least one.
    pub retry_after: Duration,
    /// It came while a scope was still blocked by an earlier 429 (a Retry-After violation).
    pub violation: bool,
}

impl Refused {
    /// The `Retry-After` in seconds (`2.128`).
    pub fn retry_after_secs(&self) -> f64 {
        self.retry_after.as_secs_f64()
    }
}

/// Invalid throttle parameters from the admin API.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThrottleError {
    /// The scale is zero, negative or not a number.
    #[error("scale must be a positive number, got {0}")]
    BadScale(f64),
}

/// Buckets and blocks; see the module docs.
#[derive(Debug)]
pub struct Throttle {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    limits: LimitsConfig,
    scopes: HashMap<Scope, ScopeState>,
}

/// The two buckets of one scope and its Retry-After block.
#[derive(Debug)]
struct ScopeState {
    burst: Bucket,
    sustained: Bucket,
    /// Until when a 429 told the client to wait.
    blocked_until: Option<Instant>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    /// Tokens per second.
    rate: f64,
    updated: Instant,
}

impl Bucket {
    fn full(capacity: f64, rate: f64, now: Instant) -> Self {
        Self {
            tokens: capacity,
            capacity,
            rate,
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        if now > self.updated {
            self.updated = now;
        }
    }

    /// Seconds until one token is available (0 if one is).
    fn wait(&self) -> f64 {
        if self.tokens >= 1.0 - EPSILON {
            0.0
        } else {
            (1.0 - self.tokens) / self.rate
        }
    }
}

impl ScopeState {
    fn new(limit: f64, scale: f64, now: Instant) -> Self {
        let rate = limit * scale;
        let sustained_rate = rate * SUSTAINED_SHARE;
        Self {
            burst: Bucket::full(rate.max(1.0), rate, now),
            sustained: Bucket::full(
                (sustained_rate * SUSTAINED_WINDOW.as_secs_f64()).max(1.0),
                sustained_rate,
                now,
            ),
            blocked_until: None,
        }
    }
}

/// Rounds seconds up to whole milliseconds, at least one.
fn round_up_ms(secs: f64) -> Duration {
    // The small slack keeps 2.128 from becoming 2.129 through floating-point noise.
    let ms = (secs * 1000.0 - 1e-6).ceil().max(1.0);
    Duration::from_millis(ms as u64)
}

fn sane_scale(scale: f64) -> f64 {
    if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        tracing::warn!(scale, "invalid throttle scale, using 1.0");
        1.0
    }
}

impl Throttle {
    /// From the start configuration (`config.limits`).
    pub fn new(config: &EmulatorConfig) -> Self {
        let limits = LimitsConfig {
            enabled: config.limits.enabled,
            scale: sane_scale(config.limits.scale),
        };
        Self {
            inner: Mutex::new(Inner {
                limits,
                scopes: HashMap::new(),
            }),
        }
    }

    /// The parameters in force.
    pub fn limits(&self) -> LimitsConfig {
        self.inner.lock().limits.clone()
    }

    /// Changes the parameters; every bucket starts full again and every block is lifted.
    pub fn set_limits(&self, limits: LimitsConfig) -> Result<(), ThrottleError> {
        if !(limits.scale.is_finite() && limits.scale > 0.0) {
            return Err(ThrottleError::BadScale(limits.scale));
        }
        let mut inner = self.inner.lock();
        inner.limits = limits;
        inner.scopes.clear();
        Ok(())
    }

    /// Decides whether `request` may go ahead at `now`, taking a token from each of its scopes
    /// if it may. See the module docs for the rules.
    pub fn check(&self, now: Instant, request: &ThrottleRequest) -> Result<Admitted, Refused> {
        let scoped = request.scopes();
        let scopes: Vec<Scope> = scoped.iter().map(|(scope, _)| scope.clone()).collect();
        let mut inner = self.inner.lock();
        if !inner.limits.enabled || scoped.is_empty() {
            return Ok(Admitted { scopes });
        }
        let scale = inner.limits.scale;
        for (scope, limit) in &scoped {
            let state = inner
                .scopes
                .entry(scope.clone())
                .or_insert_with(|| ScopeState::new(*limit, scale, now));
            state.burst.refill(now);
            state.sustained.refill(now);
        }

        // A scope still inside its Retry-After refuses at once: a violation.
        let mut blocked = Vec::new();
        let mut remaining = Duration::ZERO;
        for scope in &scopes {
            if let Some(until) = inner.scopes.get(scope).and_then(|s| s.blocked_until) {
                if until > now {
                    blocked.push(scope.clone());
                    remaining = remaining.max(until - now);
                }
            }
        }
        if !blocked.is_empty() {
            return Err(Refused {
                scopes,
                blocked,
                retry_after: remaining.max(Duration::from_millis(1)),
                violation: true,
            });
        }

        // Every bucket needs a token; the slowest decides the Retry-After.
        let mut retry_after = Duration::ZERO;
        for scope in &scopes {
            if let Some(state) = inner.scopes.get_mut(scope) {
                let wait = state.burst.wait().max(state.sustained.wait());
                if wait > 0.0 {
                    let wait = round_up_ms(wait);
                    state.blocked_until = Some(now + wait);
                    blocked.push(scope.clone());
                    retry_after = retry_after.max(wait);
                } else {
                    state.blocked_until = None;
                }
            }
        }
        if !blocked.is_empty() {
            return Err(Refused {
                scopes,
                blocked,
                retry_after,
                violation: false,
            });
        }
        for scope in &scopes {
            if let Some(state) = inner.scopes.get_mut(scope) {
                state.burst.tokens -= 1.0;
                state.sustained.tokens -= 1.0;
            }
        }
        Ok(Admitted { scopes })
    }
}

/// The throttling layer inside the Graph router: runs after the bearer check (it reads the
/// `entra::Principal` from the request extensions) and answers 429 when a bucket is empty.
/// Requests without a principal (rejected before, or not Graph) pass untouched.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(principal) = request.extensions().get::<Principal>().cloned() else {
        return next.run(request).await;
    };
    let endpoint = classify(request.method(), request.uri().path());
    let label = format!("{} {}", request.method(), request.uri().path());
    let throttle_request = ThrottleRequest {
        endpoint,
        client_id: principal.client_id,
        tenant_id: state.tenant.read().id,
        user_id: principal.user_id,
    };
    let category = throttle_request.endpoint.category.name();
    match state.throttle.check(Instant::now(), &throttle_request) {
        Ok(admitted) => {
            let response = next.run(request).await;
            let scopes: Vec<String> = admitted.scopes.iter().map(Scope::to_string).collect();
            state.stats.record_graph(&GraphRequestRecord {
                category,
                scopes: &scopes,
                status: response.status().as_u16(),
                throttled_scopes: &[],
                violation: None,
            });
            response
        }
        Err(refused) => {
            let scopes: Vec<String> = refused.scopes.iter().map(Scope::to_string).collect();
            let blocked: Vec<String> = refused.blocked.iter().map(Scope::to_string).collect();
            state.stats.record_graph(&GraphRequestRecord {
                category,
                scopes: &scopes,
                status: 429,
                throttled_scopes: &blocked,
                violation: refused.violation.then_some(ViolationInput {
                    client_id: principal.client_id,
                    user_id: principal.user_id,
                    request: &label,
                    early_by_secs: refused.retry_after_secs(),
                }),
            });
            GraphError::throttled(refused.retry_after_secs()).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEAM: &str = "6f1c0e3a-0000-4000-8000-000000000001";
    const CHANNEL: &str = "19:general@thread.tacv2";

    fn throttle(scale: f64) -> Throttle {
        let mut config = EmulatorConfig::default();
        config.limits.scale = scale;
        Throttle::new(&config)
    }

    fn request(method: Method, path: &str, user: u128) -> ThrottleRequest {
        ThrottleRequest {
            endpoint: classify(&method, path),
            client_id: Uuid::from_u128(0xa11),
            tenant_id: Uuid::from_u128(0x7e4),
            user_id: Uuid::from_u128(user),
        }
    }

    fn messages(channel: &str) -> ThrottleRequest {
        request(
            Method::GET,
            &format!("/v1.0/teams/{TEAM}/channels/{channel}/messages"),
            1,
        )
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn classification_follows_the_limits_table() {
        use Category::*;
        let c = format!("/teams/{TEAM}/channels/19%3Ageneral%40thread.tacv2");
        let cases: Vec<(Method, String, Category, Option<&str>)> = vec![
            (
                Method::GET,
                format!("{c}/messages"),
                ChannelMessagesRead,
                Some(CHANNEL),
            ),
            (
                Method::GET,
                format!("{c}/messages?$top=50&$expand=replies"),
                ChannelMessagesRead,
                Some(CHANNEL),
            ),
            (
                Method::GET,
                format!("{c}/messages/delta"),
                ChannelMessagesRead,
                Some(CHANNEL),
            ),
            (
                Method::GET,
                format!("{c}/messages/1/replies"),
                ChannelMessagesRead,
                Some(CHANNEL),
            ),
            (
                Method::GET,
                format!("{c}/messages/1"),
                OtherGet,
                Some(CHANNEL),
            ),
            (
                Method::GET,
                format!("{c}/messages/1/replies/2"),
                OtherGet,
                Some(CHANNEL),
            ),
            (
                Method::GET,
                format!("{c}/messages/1/hostedContents/h/$value"),
                OtherGet,
                Some(CHANNEL),
            ),
            (Method::GET, format!("{c}/members"), OtherGet, Some(CHANNEL)),
            (
                Method::POST,
                format!("{c}/messages"),
                MessagePost,
                Some(CHANNEL),
            ),
            (
                Method::POST,
                format!("{c}/messages/1/replies"),
                MessagePost,
                Some(CHANNEL),
            ),
            (
                Method::PATCH,
                format!("{c}/messages/1"),
                OtherWrite,
                Some(CHANNEL),
            ),
            (
                Method::PATCH,
                format!("{c}/messages/1/replies/2"),
                OtherWrite,
                Some(CHANNEL),
            ),
            (
                Method::POST,
                format!("{c}/messages/1/softDelete"),
                OtherWrite,
                Some(CHANNEL),
            ),
            (
                Method::POST,
                format!("{c}/messages/1/setReaction"),
                OtherWrite,
                Some(CHANNEL),
            ),
            (
                Method::GET,
                "/v1.0/me/joinedTeams".into(),
                JoinedTeams,
                None,
            ),
            (Method::GET, "/me/joinedteams".into(), JoinedTeams, None),
            (
                Method::GET,
                format!("/teams/{TEAM}/channels"),
                Channels,
                None,
            ),
            (
                Method::GET,
                format!("/teams/{TEAM}/allChannels"),
                Channels,
                None,
            ),
            (
                Method::GET,
                format!("/teams/{TEAM}/channels/19:x@thread.tacv2"),
                Channels,
                None,
            ),
            (Method::GET, format!("/teams/{TEAM}"), OtherGet, None),
            (Method::GET, "/me".into(), Directory, None),
            (
                Method::GET,
                "/users/abc/photo/$value".into(),
                Directory,
                None,
            ),
            (Method::POST, "/v1.0/$batch".into(), Batch, None),
        ];
        for (method, path, category, channel) in cases {
            let endpoint = classify(&method, &path);
            assert_eq!(endpoint.category, category, "{method} {path}");
            assert_eq!(endpoint.channel.as_deref(), channel, "{method} {path}");
        }
    }

    #[test]
    fn team_ids_in_any_case_share_one_scope() {
        let lower = classify(
            &Method::GET,
            &format!("/teams/{TEAM}/channels/{CHANNEL}/messages"),
        );
        let upper = classify(
            &Method::GET,
            &format!("/teams/{}/channels/{CHANNEL}/messages", TEAM.to_uppercase()),
        );
        assert_eq!(lower, upper);
        assert_eq!(upper.team.as_deref(), Some(TEAM));
    }

    #[test]
    fn scopes_follow_the_dimensions() {
        let names = |r: &ThrottleRequest| -> Vec<String> {
            r.scopes().iter().map(|(s, _)| s.to_string()).collect()
        };
        let read = messages(CHANNEL);
        assert_eq!(
            names(&read),
            vec![
                format!("perApp:channelMessagesRead:{}", Uuid::from_u128(0xa11)),
                format!(
                    "perAppPerTenant:channelMessagesRead:{}/{}",
                    Uuid::from_u128(0xa11),
                    Uuid::from_u128(0x7e4)
                ),
                format!("perChannel:channelMessagesRead:{TEAM}/{CHANNEL}"),
            ]
        );
        let list = request(Method::GET, &format!("/teams/{TEAM}/channels"), 1);
        assert_eq!(names(&list)[2], format!("perTeam:channels:{TEAM}"));
        assert_eq!(list.scopes()[2].1, 4.0);
        let post = request(
            Method::POST,
            &format!("/teams/{TEAM}/channels/{CHANNEL}/messages"),
            1,
        );
        assert_eq!(post.scopes().len(), 4);
        assert!(names(&post)[3].starts_with("perUser:messagePost:"));
        assert!(request(Method::GET, "/me", 1).scopes().is_empty());
    }

    #[test]
    fn burst_then_refill_with_fractional_retry_after() {
        // A table of (offset from start, expected outcome) against one channel whose per-channel
        // burst limit is 1/s, so capacity 1 and one token per second.
        let throttle = throttle(1.0);
        let t0 = Instant::now();
        let read = messages(CHANNEL);
        // `Err((retry_after_ms, violation))` for a 429.
        type Expected = Result<(), (u64, bool)>;
        let cases: &[(u64, Expected)] = &[
            (0, Ok(())),
            // 1 ms later the bucket holds 0.001 tokens: 0.999 s to go.
            (1, Err((999, false))),
            // Early again: the scope is blocked until 1.000 s; 500 ms remain, and it is a violation.
            (500, Err((500, true))),
            // Exactly at the Retry-After: allowed.
            (1000, Ok(())),
            // Fractional wait: 0.128 s after a token was taken, 0.872 s remain.
            (1128, Err((872, false))),
            (2000, Ok(())),
        ];
        for (offset, expected) in cases {
            let outcome = throttle.check(t0 + ms(*offset), &read);
            match (expected, outcome) {
                (Ok(()), Ok(_)) => {}
                (Err((wait, violation)), Err(refused)) => {
                    assert_eq!(refused.retry_after, ms(*wait), "at {offset} ms");
                    assert_eq!(refused.violation, *violation, "at {offset} ms");
                    assert_eq!(refused.blocked.len(), 1);
                    assert_eq!(refused.blocked[0].dimension, Dimension::PerChannel);
                }
                (expected, outcome) => {
                    panic!("at {offset} ms: expected {expected:?}, got {outcome:?}")
                }
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_the_retry_after_with_paused_time_succeeds() {
        let throttle = throttle(1.0);
        let read = messages(CHANNEL);
        assert!(throttle.check(Instant::now(), &read).is_ok());
        tokio::time::advance(ms(250)).await;
        let refused = throttle.check(Instant::now(), &read).unwrap_err();
        assert_eq!(refused.retry_after, ms(750));
        assert_eq!(
            crate::error::format_retry_after(refused.retry_after_secs()),
            "0.75"
        );
        tokio::time::advance(refused.retry_after).await;
        assert!(throttle.check(Instant::now(), &read).is_ok());
    }

    #[test]
    fn retry_after_rounds_up_to_milliseconds() {
        assert_eq!(round_up_ms(2.128), ms(2128));
        assert_eq!(round_up_ms(2.1281), ms(2129));
        assert_eq!(round_up_ms(0.0000001), ms(1));
        assert_eq!(round_up_ms(1.0 / 3.0), ms(334));
    }

    #[test]
    fn sustained_limit_bites_after_the_burst() {
        // Per-app-per-tenant for channel message reads is 20/s. At scale 0.5: burst 10/s,
        // sustained 8.3/s with 83 tokens. Use a new channel for every request so only the app
        // dimensions count, and send 10 requests (1 ms apart) at the start of every second.
        let throttle = throttle(0.5);
        let t0 = Instant::now();
        let mut first_refusal = None;
        'outer: for second in 0..60u64 {
            for i in 0..10u64 {
                let channel = format!("19:c{}@thread.tacv2", second * 10 + i);
                let at = t0 + Duration::from_secs(second) + ms(i);
                if let Err(refused) = throttle.check(at, &messages(&channel)) {
                    first_refusal = Some((second, refused));
                    break 'outer;
                }
            }
        }
        let (second, refused) = first_refusal.expect("the sustained bucket runs dry");
        // 83 tokens, refilling 8.3/s while 10/s go out: the tenth request of second n finds
        // 83 - 1.7 n - 8.93 tokens, less than one from n = 43.
        assert_eq!(second, 43);
        assert_eq!(refused.blocked[0].dimension, Dimension::PerAppPerTenant);
        assert!(!refused.violation);
        // The sustained bucket refills at 8.3/s, so the wait is well under a second.
        assert!(refused.retry_after < ms(200), "{:?}", refused.retry_after);
    }

    #[test]
    fn scopes_are_isolated() {
        let throttle = throttle(1.0);
        let t0 = Instant::now();
        assert!(throttle.check(t0, &messages("19:a@thread.tacv2")).is_ok());
        assert!(throttle.check(t0, &messages("19:a@thread.tacv2")).is_err());
        // Another channel, the same app and user: unaffected.
        assert!(throttle.check(t0, &messages("19:b@thread.tacv2")).is_ok());
        // Another category in the same channel: unaffected.
        let post = request(
            Method::POST,
            &format!("/teams/{TEAM}/channels/19:a@thread.tacv2/messages"),
            1,
        );
        assert!(throttle.check(t0, &post).is_ok());
        // Per user: a second post by the same user in another channel is refused by perUser,
        // while another user may post there.
        let post_b = request(
            Method::POST,
            &format!("/teams/{TEAM}/channels/19:b@thread.tacv2/messages"),
            1,
        );
        let refused = throttle.check(t0, &post_b).unwrap_err();
        assert_eq!(refused.blocked.len(), 1);
        assert_eq!(refused.blocked[0].dimension, Dimension::PerUser);
        let other_user = request(
            Method::POST,
            &format!("/teams/{TEAM}/channels/19:c@thread.tacv2/messages"),
            2,
        );
        assert!(throttle.check(t0, &other_user).is_ok());
        // Directory requests are never throttled.
        for _ in 0..100 {
            assert!(throttle.check(t0, &request(Method::GET, "/me", 1)).is_ok());
        }
    }

    #[test]
    fn refused_requests_take_no_tokens() {
        let throttle = throttle(1.0);
        let t0 = Instant::now();
        let list = request(Method::GET, &format!("/teams/{TEAM}/channels"), 1);
        // Four per team: four go, the fifth waits a quarter second.
        for _ in 0..4 {
            assert!(throttle.check(t0, &list).is_ok());
        }
        let refused = throttle.check(t0, &list).unwrap_err();
        assert_eq!(refused.retry_after, ms(250));
        // The refusal took no app-level tokens: 56 more of the 60/s app-per-tenant budget
        // remain for other teams.
        for team in 0..14 {
            let other = request(Method::GET, &format!("/teams/team{team}/channels"), 1);
            for _ in 0..4 {
                assert!(throttle.check(t0, &other).is_ok(), "team {team}");
            }
        }
        let refused = throttle
            .check(t0, &request(Method::GET, "/teams/last/channels", 1))
            .unwrap_err();
        assert_eq!(refused.blocked[0].dimension, Dimension::PerAppPerTenant);
    }

    #[test]
    fn scaling_multiplies_every_limit() {
        let t0 = Instant::now();
        let cases = [
            (1.0, 1, 1000),
            (3.0, 3, 334),
            (0.5, 1, 2000),
            (0.25, 1, 4000),
        ];
        for (scale, allowed, wait_ms) in cases {
            let throttle = throttle(scale);
            for i in 0..allowed {
                assert!(
                    throttle.check(t0, &messages(CHANNEL)).is_ok(),
                    "scale {scale}, #{i}"
                );
            }
            let refused = throttle.check(t0, &messages(CHANNEL)).unwrap_err();
            assert_eq!(refused.retry_after, ms(wait_ms), "scale {scale}");
        }
    }

    #[test]
    fn disabled_never_throttles_and_changes_reset_buckets() {
        let throttle = throttle(1.0);
        let t0 = Instant::now();
        assert!(throttle.check(t0, &messages(CHANNEL)).is_ok());
        assert!(throttle.check(t0, &messages(CHANNEL)).is_err());
        throttle
            .set_limits(LimitsConfig {
                enabled: false,
                scale: 1.0,
            })
            .unwrap();
        for _ in 0..1000 {
            assert!(throttle.check(t0, &messages(CHANNEL)).is_ok());
        }
        throttle
            .set_limits(LimitsConfig {
                enabled: true,
                scale: 2.0,
            })
            .unwrap();
        assert!(throttle.check(t0, &messages(CHANNEL)).is_ok());
        assert!(throttle.check(t0, &messages(CHANNEL)).is_ok());
        assert!(throttle.check(t0, &messages(CHANNEL)).is_err());
        assert_eq!(
            throttle.set_limits(LimitsConfig {
                enabled: true,
                scale: 0.0
            }),
            Err(ThrottleError::BadScale(0.0))
        );
        assert!(throttle
            .set_limits(LimitsConfig {
                enabled: true,
                scale: f64::NAN
            })
            .is_err());
    }
}
