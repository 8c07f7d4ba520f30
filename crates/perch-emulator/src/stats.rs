//! Counters for `GET /_emulator/stats`: what the emulator served and how clients behaved.
//!
//! Two vantage points feed it. The throttle layer sits inside the Graph router after the
//! bearer check, so it sees every authenticated Graph request, `$batch` inner requests
//! included: it counts them per endpoint category, per throttling scope and per status, and
//! records every 429 it serves and every Retry-After violation (a call in a blocked scope
//! before its Retry-After has passed). The fault layer sits outside every router and counts the
//! outer Graph and Entra requests (not the admin API's) per status, and the faults it injected
//! per kind.
//!
//! This module only counts; it decides nothing and never fails. The counters live behind one
//! mutex, held for a few map updates per request.

use std::collections::BTreeMap;

use parking_lot::Mutex;
use serde::Serialize;
use uuid::Uuid;

/// How many violations are kept with their details (the counts keep growing past it).
pub const MAX_VIOLATION_DETAILS: usize = 1000;

/// Request counters; see the module docs.
#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<StatsSnapshot>,
}

/// Everything `GET /_emulator/stats` returns.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatsSnapshot {
    /// Authenticated Graph requests seen by the throttle layer (outer and `$batch` inner).
    pub graph: GraphCounters,
    /// Outer Graph and Entra requests seen by the fault layer, by status.
    pub http: HttpCounters,
    /// Faults injected, by kind (`status503`, `reset`, `truncatedJson`, `latency`, …).
    pub faults: BTreeMap<String, u64>,
    /// Retry-After violations: calls in a blocked scope before its Retry-After had passed.
    pub violations: ViolationCounters,
}

/// Counters of authenticated Graph requests.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GraphCounters {
    /// All of them.
    pub requests: u64,
    /// By endpoint category (`channelMessagesRead`, `messagePost`, …).
    pub by_category: BTreeMap<String, u64>,
    /// By HTTP status of the answer (`"200"`, `"429"`, …).
    pub by_status: BTreeMap<String, u64>,
    /// By throttling scope (`perChannel:channelMessagesRead:{team}/{channel}`, …).
    pub by_scope: BTreeMap<String, ScopeCounters>,
    /// 429s the throttle served (first refusals and violations alike).
    pub throttled: u64,
}

/// Counters of one throttling scope.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScopeCounters {
    /// Requests that fell into this scope.
    pub requests: u64,
    /// 429s served because of this scope.
    pub throttled: u64,
    /// Retry-After violations in this scope.
    pub violations: u64,
}

/// Counters of outer HTTP requests.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HttpCounters {
    /// All of them.
    pub requests: u64,
    /// By HTTP status (`"200"`, `"503"`, …); dropped connections count as `"dropped"`.
    pub by_status: BTreeMap<String, u64>,
}

/// Retry-After violations, counted and (the first [`MAX_VIOLATION_DETAILS`]) in detail.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ViolationCounters {
    /// All of them.
    pub total: u64,
    /// By scope.
    pub by_scope: BTreeMap<String, u64>,
    /// By client (app) id.
    pub by_client: BTreeMap<String, u64>,
    /// By user id.
    pub by_user: BTreeMap<String, u64>,
    /// Each violation, oldest first.
    pub details: Vec<Violation>,
}

/// One Retry-After violation.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    /// When it happened (wall clock, RFC 3339).
    pub at: String,
    /// The blocked scope(s) the request fell into.
    pub scopes: Vec<String>,
    /// The client (app) id of the token.
    pub client_id: Uuid,
    /// The user of the token.
    pub user_id: Uuid,
    /// `METHOD /path` of the request.
    pub request: String,
    /// How much earlier than allowed the request came, in seconds.
    pub early_by_secs: f64,
}

/// What the throttle layer reports about one Graph request.
#[derive(Debug, Clone)]
pub struct GraphRequestRecord<'a> {
    /// Endpoint category name.
    pub category: &'a str,
    /// Every scope the request fell into.
    pub scopes: &'a [String],
    /// Status of the answer.
    pub status: u16,
    /// The scopes that refused it (empty unless throttled).
    pub throttled_scopes: &'a [String],
    /// Set when the request came before a Retry-After had passed.
    pub violation: Option<ViolationInput<'a>>,
}

/// The details of a Retry-After violation, as the throttle layer knows them.
#[derive(Debug, Clone)]
pub struct ViolationInput<'a> {
    /// The client (app) id of the token.
    pub client_id: Uuid,
    /// The user of the token.
    pub user_id: Uuid,
    /// `METHOD /path`.
    pub request: &'a str,
    /// How much earlier than allowed, in seconds.
    pub early_by_secs: f64,
}

impl Stats {
    /// Counts one authenticated Graph request (called by the throttle layer).
    pub fn record_graph(&self, record: &GraphRequestRecord<'_>) {
        let mut inner = self.inner.lock();
        let graph = &mut inner.graph;
        graph.requests += 1;
        *graph
            .by_category
            .entry(record.category.to_owned())
            .or_default() += 1;
        *graph
            .by_status
            .entry(record.status.to_string())
            .or_default() += 1;
        for scope in record.scopes {
            graph.by_scope.entry(scope.clone()).or_default().requests += 1;
        }
        if !record.throttled_scopes.is_empty() {
            graph.throttled += 1;
            for scope in record.throttled_scopes {
                let counters = graph.by_scope.entry(scope.clone()).or_default();
                counters.throttled += 1;
                if record.violation.is_some() {
                    counters.violations += 1;
                }
            }
        }
        if let Some(violation) = &record.violation {
            let violations = &mut inner.violations;
            violations.total += 1;
            for scope in record.throttled_scopes {
                *violations.by_scope.entry(scope.clone()).or_default() += 1;
            }
            *violations
                .by_client
                .entry(violation.client_id.to_string())
                .or_default() += 1;
            *violations
                .by_user
                .entry(violation.user_id.to_string())
                .or_default() += 1;
            if violations.details.len() < MAX_VIOLATION_DETAILS {
                violations.details.push(Violation {
                    at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    scopes: record.throttled_scopes.to_vec(),
                    client_id: violation.client_id,
                    user_id: violation.user_id,
                    request: violation.request.to_owned(),
                    early_by_secs: violation.early_by_secs,
                });
            }
        }
    }

    /// Counts one outer HTTP request by its status, or `None` for a dropped connection
    /// (called by the fault layer).
    pub fn record_http(&self, status: Option<u16>) {
        let mut inner = self.inner.lock();
        inner.http.requests += 1;
        let key = status.map_or_else(|| "dropped".to_owned(), |s| s.to_string());
        *inner.http.by_status.entry(key).or_default() += 1;
    }

    /// Counts one injected fault of `kind`.
    pub fn record_fault(&self, kind: &str) {
        *self.inner.lock().faults.entry(kind.to_owned()).or_default() += 1;
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        self.inner.lock().clone()
    }

    /// Sets every counter back to zero.
    pub fn reset(&self) {
        *self.inner.lock() = StatsSnapshot::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_are_counted_per_scope_client_and_user() {
        let stats = Stats::default();
        let client = Uuid::from_u128(1);
        let user = Uuid::from_u128(2);
        let scopes = vec!["perChannel:x".to_owned(), "perApp:y".to_owned()];
        let throttled = vec!["perChannel:x".to_owned()];
        stats.record_graph(&GraphRequestRecord {
            category: "channelMessagesRead",
            scopes: &scopes,
            status: 200,
            throttled_scopes: &[],
            violation: None,
        });
        stats.record_graph(&GraphRequestRecord {
            category: "channelMessagesRead",
            scopes: &scopes,
            status: 429,
            throttled_scopes: &throttled,
            violation: Some(ViolationInput {
                client_id: client,
                user_id: user,
                request: "GET /teams/t/channels/c/messages",
                early_by_secs: 0.5,
            }),
        });
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.graph.requests, 2);
        assert_eq!(snapshot.graph.throttled, 1);
        assert_eq!(snapshot.graph.by_status["429"], 1);
        assert_eq!(snapshot.graph.by_scope["perChannel:x"].violations, 1);
        assert_eq!(snapshot.graph.by_scope["perApp:y"].requests, 2);
        assert_eq!(snapshot.graph.by_scope["perApp:y"].throttled, 0);
        assert_eq!(snapshot.violations.total, 1);
        assert_eq!(snapshot.violations.by_client[&client.to_string()], 1);
        assert_eq!(snapshot.violations.by_user[&user.to_string()], 1);
        assert_eq!(snapshot.violations.details[0].scopes, throttled);
        stats.reset();
        assert_eq!(stats.snapshot(), StatsSnapshot::default());
    }

    #[test]
    fn http_and_fault_counters() {
        let stats = Stats::default();
        stats.record_http(Some(200));
        stats.record_http(None);
        stats.record_fault("reset");
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.http.requests, 2);
        assert_eq!(snapshot.http.by_status["dropped"], 1);
        assert_eq!(snapshot.faults["reset"], 1);
    }
}
