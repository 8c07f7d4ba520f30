//! Client-side budgets: token buckets per throttling scope, shared by every clone of a
//! [`crate::GraphClient`], that keep Perch below Microsoft's Teams limits, and the pauses a 429
//! (or any answer with `Retry-After`) puts on every scope its request belongs to.
//!
//! Scopes and what they stand for (FACTS.md, "Throttling"; the emulator's `throttle.rs`):
//! - `channel:{team}/{channel}`: one channel (Microsoft: 1 rps burst, 83 % sustained, per
//!   channel). Channel message reads and every write to the channel take a token.
//! - `tenant-get`: this client's share of the per-app-per-tenant GET limits, which every copy
//!   of Perch in the tenant shares. Costs are weighted by the category's tenant limit relative
//!   to channel-message reads (20 rps): a channel-message read costs 1, joined teams and other
//!   GETs (30 rps) 2/3, channel lists (60 rps) 1/3.
//! - `user-post`: the signed-in user's writes (Microsoft: 1 rps per user).
//! - `team-channels:{team}`: channel lists of one team (Microsoft: 4 rps per team).
//! - `other`: the user's other GETs (members, hosted contents, `/me`; Microsoft: 1 rps per user).
//!
//! Every bucket holds one token (burst 1), so sends within one scope are at least `1/rate`
//! apart: on any link faster than that, a 429 is back before the next request of its scope
//! leaves, and the sustained limit (83 % over 10 s) holds from the start because the rates are
//! at most 80 % of the burst limits. A request takes all its scopes' tokens at once, under one
//! lock, at the moment it is about to be sent, or none (no partial holding, no lock order to
//! get wrong). A cost above one token (a `$batch` of many inner requests) waits for a full
//! bucket and leaves it in debt, so the average rate still holds.
//!
//! After a 429 or a `Retry-After`, each scope of the request is paused until then; nothing of
//! that scope is sent before it passes (checked at send time, so clones and requests already
//! queued obey too). The bucket keeps at most one token, refills only after the pause, and the
//! scope "probes": one request at a time until one succeeds. Its rate is halved (down to an
//! eighth) and recovers by 5 % of the configured rate per success, so a server whose limits
//! are lower than ours (another app sharing the tenant, a scaled-down test) is met rather than
//! hammered.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// Request rates (per second) Perch allows itself, per scope (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Budgets {
    /// Per channel: message reads and writes (Microsoft: 1 rps).
    pub per_channel_rps: f64,
    /// This client's share of the tenant's GETs (Microsoft: 20 rps for channel messages,
    /// shared by every Perch in the tenant).
    pub tenant_get_rps: f64,
    /// The user's writes (Microsoft: 1 rps per user).
    pub user_post_rps: f64,
    /// Channel lists per team (Microsoft: 4 rps per team).
    pub team_channels_rps: f64,
    /// The user's other GETs (Microsoft: 1 rps per user).
    pub other_rps: f64,
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            per_channel_rps: 0.8,
            tenant_get_rps: 2.0,
            user_post_rps: 0.8,
            team_channels_rps: 3.0,
            other_rps: 0.8,
        }
    }
}

/// The lowest a scope's rate factor goes after repeated 429s.
const MIN_FACTOR: f64 = 0.125;
/// What one success gives back of the configured rate.
const RECOVERY_PER_SUCCESS: f64 = 0.05;
/// Tokens within this much of what is needed count (floating-point slack).
const EPSILON: f64 = 1e-9;
/// Waiting for a probe to finish re-checks at least this often (a lost wake-up costs no more).
const PROBE_RECHECK: Duration = Duration::from_millis(250);

/// A throttling scope (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// One channel: `channel:{team}/{channel}`.
    Channel {
        /// Team id, lower-case.
        team: String,
        /// Channel id, percent-decoded.
        channel: String,
    },
    /// `tenant-get`.
    TenantGet,
    /// `user-post`.
    UserPost,
    /// `team-channels:{team}`.
    TeamChannels {
        /// Team id, lower-case.
        team: String,
    },
    /// `other`.
    Other,
}

impl Scope {
    /// The channel scope (team ids are GUIDs, matched case-insensitively as Graph does).
    pub fn channel(team: &str, channel: &str) -> Scope {
        Scope::Channel {
            team: team.to_ascii_lowercase(),
            channel: channel.to_owned(),
        }
    }

    /// The channel-list scope of a team.
    pub fn team_channels(team: &str) -> Scope {
        Scope::TeamChannels {
            team: team.to_ascii_lowercase(),
        }
    }

    fn rate(&self, budgets: &Budgets) -> f64 {
        let rate = match self {
            Scope::Channel { .. } => budgets.per_channel_rps,
            Scope::TenantGet => budgets.tenant_get_rps,
            Scope::UserPost => budgets.user_post_rps,
            Scope::TeamChannels { .. } => budgets.team_channels_rps,
            Scope::Other => budgets.other_rps,
        };
        if rate.is_nan() {
            0.8
        } else {
            rate.clamp(0.001, 1e6)
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Channel { team, channel } => write!(f, "channel:{team}/{channel}"),
            Scope::TenantGet => f.write_str("tenant-get"),
            Scope::UserPost => f.write_str("user-post"),
            Scope::TeamChannels { team } => write!(f, "team-channels:{team}"),
            Scope::Other => f.write_str("other"),
        }
    }
}

/// Costs in `tenant-get` tokens, by the category's per-tenant limit (see the module docs).
pub(crate) mod cost {
    /// Channel-message reads (list, replies, delta): 20 rps.
    pub const MESSAGES_READ: f64 = 1.0;
    /// Joined teams and other Teams GETs: 30 rps.
    pub const OTHER_GET: f64 = 2.0 / 3.0;
    /// Channel lists: 60 rps.
    pub const CHANNELS: f64 = 1.0 / 3.0;
}

/// Counters of one scope.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScopeStats {
    /// Requests that had to wait for this scope (tokens, a pause or a probe).
    pub waits: u64,
    /// Their waiting time in all.
    pub waited: Duration,
    /// 429s (or Retry-Afters) that paused this scope.
    pub throttled: u64,
    /// Until when it is paused, if it still is.
    pub paused_until: Option<SystemTime>,
    /// Its current rate factor (1.0 = the configured budget).
    pub rate_factor: f64,
}

#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
    updated: Instant,
    paused_until: Option<Instant>,
    paused_wall: Option<SystemTime>,
    probing: bool,
    in_flight: u32,
    factor: f64,
    stats: ScopeStats,
}

impl Bucket {
    fn new(rate: f64, now: Instant) -> Bucket {
        Bucket {
            rate,
            tokens: 1.0,
            updated: now,
            paused_until: None,
            paused_wall: None,
            probing: false,
            in_flight: 0,
            factor: 1.0,
            stats: ScopeStats {
                rate_factor: 1.0,
                ..ScopeStats::default()
            },
        }
    }

    fn rate_now(&self) -> f64 {
        self.rate * self.factor
    }

    fn refill(&mut self, now: Instant) {
        if now > self.updated {
            let elapsed = (now - self.updated).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.rate_now()).min(1.0);
            self.updated = now;
        }
    }

    /// How long until `cost` may be taken (zero: now); `None` while a probe is out.
    fn wait(&self, cost: f64, now: Instant) -> Option<Duration> {
        if let Some(until) = self.paused_until {
            if until > now {
                return Some(until - now);
            }
        }
        if self.probing && self.in_flight > 0 {
            return None;
        }
        let need = cost.min(1.0);
        if self.tokens + EPSILON >= need {
            Some(Duration::ZERO)
        } else {
            Some(Duration::from_secs_f64(
                (need - self.tokens) / self.rate_now(),
            ))
        }
    }
}

/// The buckets of one client (and its clones).
pub(crate) struct Limiter {
    budgets: Budgets,
    buckets: Mutex<HashMap<Scope, Bucket>>,
    changed: Notify,
    watch: watch::Sender<Option<SystemTime>>,
    myself: Weak<Limiter>,
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("budgets", &self.budgets)
            .field("scopes", &self.buckets.lock().len())
            .finish()
    }
}

/// The right to send one request: its tokens are taken; dropping it ends its flight.
#[must_use]
pub(crate) struct Permit {
    limiter: Arc<Limiter>,
    scopes: Vec<Scope>,
}

impl Permit {
    /// The scopes the request belongs to.
    pub(crate) fn scopes(&self) -> &[Scope] {
        &self.scopes
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        {
            let mut buckets = self.limiter.buckets.lock();
            for scope in &self.scopes {
                if let Some(b) = buckets.get_mut(scope) {
                    b.in_flight = b.in_flight.saturating_sub(1);
                }
            }
        }
        self.limiter.changed.notify_waiters();
    }
}

impl Limiter {
    pub(crate) fn new(budgets: Budgets) -> Arc<Limiter> {
        Arc::new_cyclic(|myself| Limiter {
            budgets,
            buckets: Mutex::new(HashMap::new()),
            changed: Notify::new(),
            watch: watch::channel(None).0,
            myself: myself.clone(),
        })
    }

    /// Waits until every `(scope, cost)` can be taken at once, takes them and returns the
    /// permit. Call it right before sending.
    pub(crate) async fn acquire(self: &Arc<Self>, needs: &[(Scope, f64)]) -> Permit {
        // One entry per scope, costs added up.
        let mut merged: Vec<(Scope, f64)> = Vec::with_capacity(needs.len());
        for (scope, cost) in needs {
            match merged.iter_mut().find(|(s, _)| s == scope) {
                Some((_, c)) => *c += cost,
                None => merged.push((scope.clone(), *cost)),
            }
        }
        let needs = &merged[..];
        let started = Instant::now();
        let mut blocked: Vec<usize> = Vec::new();
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wait = {
                let mut buckets = self.buckets.lock();
                let now = Instant::now();
                let mut wait = Some(Duration::ZERO);
                for (i, (scope, cost)) in needs.iter().enumerate() {
                    let bucket = buckets
                        .entry(scope.clone())
                        .or_insert_with(|| Bucket::new(scope.rate(&self.budgets), now));
                    bucket.refill(now);
                    let w = bucket.wait(*cost, now);
                    if w != Some(Duration::ZERO) && !blocked.contains(&i) {
                        blocked.push(i);
                    }
                    wait = match (wait, w) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        _ => None,
                    };
                }
                if wait == Some(Duration::ZERO) {
                    let waited = started.elapsed();
                    for (i, (scope, cost)) in needs.iter().enumerate() {
                        if let Some(b) = buckets.get_mut(scope) {
                            b.tokens -= cost;
                            b.in_flight += 1;
                            if blocked.contains(&i) {
                                b.stats.waits += 1;
                                b.stats.waited += waited;
                            }
                        }
                    }
                    let scopes: Vec<Scope> = needs.iter().map(|(s, _)| s.clone()).collect();
                    return Permit {
                        limiter: self.clone(),
                        scopes,
                    };
                }
                wait
            };
            match wait {
                Some(w) => {
                    tokio::select! {
                        _ = tokio::time::sleep(w) => {}
                        _ = &mut notified => {}
                    }
                }
                None => {
                    tokio::select! {
                        _ = tokio::time::sleep(PROBE_RECHECK) => {}
                        _ = &mut notified => {}
                    }
                }
            }
        }
    }

    /// Whether none of `scopes` is paused right now.
    pub(crate) fn clear(&self, scopes: &[Scope]) -> bool {
        let now = Instant::now();
        let buckets = self.buckets.lock();
        scopes.iter().all(|s| {
            buckets
                .get(s)
                .and_then(|b| b.paused_until)
                .is_none_or(|p| p <= now)
        })
    }

    /// The server answered with a success: probing ends, the rate recovers a little.
    pub(crate) fn succeeded(&self, scopes: &[Scope]) {
        let mut buckets = self.buckets.lock();
        let mut released = false;
        for scope in scopes {
            if let Some(b) = buckets.get_mut(scope) {
                released |= b.probing;
                b.probing = false;
                if b.factor < 1.0 {
                    let now = Instant::now();
                    b.refill(now);
                    b.factor = (b.factor + RECOVERY_PER_SUCCESS).min(1.0);
                    b.stats.rate_factor = b.factor;
                }
            }
        }
        drop(buckets);
        if released {
            self.changed.notify_waiters();
        }
    }

    /// The server said to wait `retry_after` (a 429, or a 503 with `Retry-After`): pause
    /// every scope of the request. `throttled` halves the scopes' rates (429 only).
    pub(crate) fn pause(&self, scopes: &[Scope], retry_after: Duration, throttled: bool) {
        let now = Instant::now();
        let until = now + retry_after;
        let wall = SystemTime::now() + retry_after;
        {
            let mut buckets = self.buckets.lock();
            for scope in scopes {
                let bucket = buckets
                    .entry(scope.clone())
                    .or_insert_with(|| Bucket::new(scope.rate(&self.budgets), now));
                bucket.refill(now);
                if bucket.paused_until.is_none_or(|p| p < until) {
                    bucket.paused_until = Some(until);
                    bucket.paused_wall = Some(wall);
                }
                // Exactly one request may go when the pause ends (a debt is kept).
                if bucket.tokens >= 0.0 {
                    bucket.tokens = 1.0;
                }
                bucket.updated = bucket.updated.max(until);
                bucket.probing = true;
                bucket.stats.throttled += 1;
                if throttled {
                    bucket.factor = (bucket.factor / 2.0).max(MIN_FACTOR);
                    bucket.stats.rate_factor = bucket.factor;
                }
            }
        }
        self.changed.notify_waiters();
        self.publish();
        // Publish again when the pause is over (the watch then says `None`).
        if let (Some(me), Ok(handle)) =
            (self.myself.upgrade(), tokio::runtime::Handle::try_current())
        {
            let weak = Arc::downgrade(&me);
            drop(me);
            handle.spawn(async move {
                tokio::time::sleep_until(until).await;
                if let Some(limiter) = weak.upgrade() {
                    limiter.publish();
                }
            });
        }
    }

    /// The latest pause end among scopes still paused.
    pub(crate) fn throttled_until(&self) -> Option<SystemTime> {
        let now = Instant::now();
        self.buckets
            .lock()
            .values()
            .filter(|b| b.paused_until.is_some_and(|p| p > now))
            .filter_map(|b| b.paused_wall)
            .max()
    }

    fn publish(&self) {
        let current = self.throttled_until();
        self.watch.send_if_modified(|value| {
            if *value != current {
                *value = current;
                true
            } else {
                false
            }
        });
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<Option<SystemTime>> {
        self.watch.subscribe()
    }

    /// Per-scope counters.
    pub(crate) fn stats(&self) -> BTreeMap<String, ScopeStats> {
        let now = Instant::now();
        self.buckets
            .lock()
            .iter()
            .map(|(scope, b)| {
                let mut stats = b.stats.clone();
                stats.paused_until = b.paused_until.filter(|p| *p > now).and(b.paused_wall);
                (scope.to_string(), stats)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> Scope {
        Scope::channel("T", "19:a@thread.tacv2")
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// Elapsed since `t0` in seconds, rounded to milliseconds (paused time is exact).
    fn at(t0: Instant) -> f64 {
        (t0.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
    }

    #[tokio::test(start_paused = true)]
    async fn a_channel_allows_one_then_one_every_1_25_s() {
        let limiter = Limiter::new(Budgets::default());
        let t0 = Instant::now();
        let mut times = Vec::new();
        for _ in 0..5 {
            let p = limiter
                .acquire(&[(channel(), 1.0), (Scope::TenantGet, cost::MESSAGES_READ)])
                .await;
            times.push(at(t0));
            drop(p);
        }
        assert_eq!(times, vec![0.0, 1.25, 2.5, 3.75, 5.0]);
        // Ten seconds later only one token is there again: no burst after idling.
        tokio::time::sleep(secs(10.0)).await;
        let t1 = Instant::now();
        drop(limiter.acquire(&[(channel(), 1.0)]).await);
        drop(limiter.acquire(&[(channel(), 1.0)]).await);
        assert_eq!(at(t1), 1.25);
        let stats = limiter.stats();
        assert_eq!(stats["channel:t/19:a@thread.tacv2"].waits, 5);
    }

    #[tokio::test(start_paused = true)]
    async fn the_sustained_rate_holds_in_every_ten_second_window() {
        // Microsoft: 1 rps burst, 83 % sustained over 10 s per channel. Ours: 0.8 rps.
        let limiter = Limiter::new(Budgets::default());
        let t0 = Instant::now();
        let mut times = Vec::new();
        for _ in 0..40 {
            drop(limiter.acquire(&[(channel(), 1.0)]).await);
            times.push(t0.elapsed().as_secs_f64());
        }
        for (i, start) in times.iter().enumerate() {
            let in_window = times[i..].iter().filter(|t| **t < start + 10.0).count();
            assert!(in_window <= 8, "{in_window} requests in 10 s from {start}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn tenant_costs_are_weighted_and_debts_are_paid() {
        let limiter = Limiter::new(Budgets::default());
        let t0 = Instant::now();
        // Three channel lists (1/3 each) go at once.
        for _ in 0..3 {
            drop(limiter.acquire(&[(Scope::TenantGet, cost::CHANNELS)]).await);
        }
        assert_eq!(at(t0), 0.0);
        // A batch worth 7 tokens waits for a full bucket (0.5 s at 2 rps), then leaves a debt
        // of 6: the next read waits 3.5 s more.
        drop(limiter.acquire(&[(Scope::TenantGet, 7.0)]).await);
        assert_eq!(at(t0), 0.5);
        drop(limiter.acquire(&[(Scope::TenantGet, 1.0)]).await);
        assert_eq!(at(t0), 4.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_scope_and_then_one_probe_at_a_time() {
        let limiter = Limiter::new(Budgets::default());
        let other_channel = Scope::channel("t", "19:b@thread.tacv2");
        let p = limiter
            .acquire(&[(channel(), 1.0), (Scope::TenantGet, 1.0)])
            .await;
        let t0 = Instant::now();
        limiter.pause(p.scopes(), secs(2.128), true);
        drop(p);
        assert!(limiter.throttled_until().is_some());
        let mut watch = limiter.subscribe();
        assert!(watch.borrow_and_update().is_some());
        // Another channel shares the paused tenant-get scope: it waits the Retry-After.
        let first = limiter
            .acquire(&[(other_channel.clone(), 1.0), (Scope::TenantGet, 1.0)])
            .await;
        assert_eq!(at(t0), 2.128);
        // While that probe is out, nothing else of tenant-get goes, however long.
        let limiter2 = limiter.clone();
        let second = tokio::spawn(async move {
            let p = limiter2
                .acquire(&[(Scope::TenantGet, cost::CHANNELS)])
                .await;
            drop(p);
            Instant::now()
        });
        tokio::time::sleep(secs(5.0)).await;
        assert!(!second.is_finished());
        // The probe succeeds: the next one goes (its token is due at 1 rps, the halved rate).
        limiter.succeeded(first.scopes());
        let probe_done = Instant::now();
        drop(first);
        let when = second.await.unwrap();
        assert!(when - probe_done <= secs(0.001), "{:?}", when - probe_done);
        // The pause is over, and the watch said so.
        watch.changed().await.unwrap();
        assert_eq!(*watch.borrow(), None);
        assert_eq!(limiter.throttled_until(), None);
        let stats = limiter.stats();
        assert_eq!(stats["tenant-get"].throttled, 1);
        assert!((stats["tenant-get"].rate_factor - 0.55).abs() < 1e-9);
    }

    #[tokio::test(start_paused = true)]
    async fn rates_halve_on_429_and_recover_on_success() {
        let limiter = Limiter::new(Budgets::default());
        let scope = [(channel(), 1.0)];
        let p = limiter.acquire(&scope).await;
        limiter.pause(p.scopes(), secs(1.0), true);
        drop(p);
        let t0 = Instant::now();
        let p = limiter.acquire(&scope).await;
        assert_eq!(at(t0), 1.0);
        limiter.pause(p.scopes(), secs(1.0), true);
        drop(p);
        // Factor 0.25: 0.2 rps, and the bucket keeps its one token through the pause.
        let p = limiter.acquire(&scope).await;
        assert_eq!(at(t0), 2.0);
        limiter.succeeded(p.scopes());
        drop(p);
        // One success: 0.3 of 0.8 rps.
        drop(limiter.acquire(&scope).await);
        assert!((at(t0) - (2.0 + 1.0 / 0.24)).abs() < 0.002, "{}", at(t0));
        // The minimum factor: an eighth.
        for _ in 0..10 {
            let p = limiter.acquire(&scope).await;
            limiter.pause(p.scopes(), secs(0.001), true);
        }
        assert_eq!(
            limiter.stats()["channel:t/19:a@thread.tacv2"].rate_factor,
            MIN_FACTOR
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_short_pause_does_not_shorten_a_long_one() {
        let limiter = Limiter::new(Budgets::default());
        let t0 = Instant::now();
        limiter.pause(&[Scope::UserPost], secs(3.0), true);
        limiter.pause(&[Scope::UserPost], secs(1.0), true);
        drop(limiter.acquire(&[(Scope::UserPost, 1.0)]).await);
        assert_eq!(at(t0), 3.0);
    }

    #[test]
    fn scope_names() {
        assert_eq!(channel().to_string(), "channel:t/19:a@thread.tacv2");
        assert_eq!(Scope::team_channels("ABC").to_string(), "team-channels:abc");
        assert_eq!(Scope::TenantGet.to_string(), "tenant-get");
        assert_eq!(Scope::UserPost.to_string(), "user-post");
        assert_eq!(Scope::Other.to_string(), "other");
    }
}
