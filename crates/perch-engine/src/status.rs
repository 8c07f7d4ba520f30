//! [`Status`]: what the engine tells the person about sync, always honest: idle (with when it
//! last finished), syncing (with progress), offline, throttled until a time, needs sign-in,
//! paused because the disk is full, or an error. The engine publishes it on a
//! `tokio::sync::watch` channel; [`StatusBoard`] is the bookkeeping that derives it from
//! what the rounds report.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The engine's state, most important first when several apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SyncStatus {
    /// Nothing to do right now.
    Idle {
        /// When a round last finished.
        last_synced_at: Option<DateTime<Utc>>,
    },
    /// Rounds are running.
    Syncing {
        /// Channels whose round finished in the current burst.
        done: usize,
        /// Channels in the current burst.
        total: usize,
        /// Pages ingested so far in the burst.
        pages: u64,
    },
    /// Graph or the network cannot be reached; cached data is shown and writes wait.
    Offline {
        /// Since when.
        since: DateTime<Utc>,
        /// What failed (for the details view).
        reason: String,
    },
    /// Graph throttled Perch; nothing is sent in that scope before `until`.
    Throttled {
        /// When the pause ends.
        until: DateTime<Utc>,
    },
    /// The account's sign-in is no longer valid.
    NeedsSignIn {
        /// Why (an error code).
        reason: String,
    },
    /// The disk is full: sync is paused, nothing was lost.
    DiskFull {
        /// What the store said.
        message: String,
    },
    /// Something failed that retrying will not fix.
    Error {
        /// A stable code.
        code: String,
        /// What to do.
        message: String,
    },
}

/// The status with per-channel problems, as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// The headline.
    #[serde(flatten)]
    pub sync: SyncStatus,
    /// Channels whose last round failed permanently (no access, gone), with why.
    pub channel_errors: BTreeMap<String, String>,
    /// The person's unsent writes, by state.
    pub outbox: perch_store::OutboxCounts,
}

impl Default for Status {
    fn default() -> Self {
        Status {
            sync: SyncStatus::Idle {
                last_synced_at: None,
            },
            channel_errors: BTreeMap::new(),
            outbox: perch_store::OutboxCounts::default(),
        }
    }
}

/// The facts the status is derived from.
#[derive(Debug, Default)]
pub struct StatusBoard {
    running: BTreeSet<String>,
    burst_total: usize,
    burst_done: usize,
    pages: u64,
    offline: Option<(DateTime<Utc>, String)>,
    throttled_until: Option<SystemTime>,
    needs_sign_in: Option<String>,
    disk_full: Option<String>,
    error: Option<(String, String)>,
    last_synced_at: Option<DateTime<Utc>>,
    channel_errors: BTreeMap<String, String>,
    outbox: perch_store::OutboxCounts,
}

impl StatusBoard {
    /// A round started.
    pub fn started(&mut self, channel: &str) {
        if self.running.is_empty() {
            self.burst_total = 0;
            self.burst_done = 0;
            self.pages = 0;
        }
        if self.running.insert(channel.to_owned()) {
            self.burst_total += 1;
        }
    }

    /// A page was ingested.
    pub fn page(&mut self) {
        self.pages += 1;
        // Anything that got through means the network and the disk work.
        self.offline = None;
        self.disk_full = None;
    }

    /// A round finished without error.
    pub fn succeeded(&mut self, channel: &str) {
        self.finish(channel);
        self.channel_errors.remove(channel);
        self.offline = None;
        self.disk_full = None;
        self.needs_sign_in = None;
        self.error = None;
        self.last_synced_at = Some(Utc::now());
    }

    /// Whether any round is running.
    pub fn busy(&self) -> bool {
        !self.running.is_empty()
    }

    /// A round's caller stopped waiting for it (nothing is known of its outcome).
    pub fn abandoned(&mut self, channel: &str) {
        self.finish(channel);
    }

    /// Any Graph call succeeded (the structure refresh, say).
    pub fn reachable(&mut self) {
        self.offline = None;
        self.needs_sign_in = None;
    }

    fn finish(&mut self, channel: &str) {
        if self.running.remove(channel) {
            self.burst_done += 1;
        }
    }

    /// A round ended early.
    pub fn failed(&mut self, channel: Option<&str>, failure: Failure) {
        if let Some(channel) = channel {
            self.finish(channel);
        }
        match failure {
            Failure::Offline(reason) => {
                if self.offline.is_none() {
                    self.offline = Some((Utc::now(), reason));
                }
            }
            Failure::NeedsSignIn(reason) => self.needs_sign_in = Some(reason),
            Failure::DiskFull(message) => self.disk_full = Some(message),
            Failure::Channel(message) => match channel {
                Some(channel) => {
                    self.channel_errors.insert(channel.to_owned(), message);
                }
                // Not about one channel (the teams and channels refresh): the headline.
                None => self.error = Some(("graph_refused".to_owned(), message)),
            },
            // The client's throttle watch already says "throttled until".
            Failure::Throttled => {}
            Failure::Fatal { code, message } => self.error = Some((code, message)),
        }
    }

    /// The client's throttle state changed.
    pub fn throttled(&mut self, until: Option<SystemTime>) {
        self.throttled_until = until;
    }

    /// The outbox changed.
    pub fn outbox(&mut self, counts: perch_store::OutboxCounts) {
        self.outbox = counts;
    }

    /// The person signed in again.
    pub fn signed_in(&mut self) {
        self.needs_sign_in = None;
    }

    /// The status to publish.
    pub fn status(&self) -> Status {
        let sync = if let Some(reason) = &self.needs_sign_in {
            SyncStatus::NeedsSignIn {
                reason: reason.clone(),
            }
        } else if let Some(message) = &self.disk_full {
            SyncStatus::DiskFull {
                message: message.clone(),
            }
        } else if let Some((since, reason)) = &self.offline {
            SyncStatus::Offline {
                since: *since,
                reason: reason.clone(),
            }
        } else if let Some(until) = self.throttled_until.filter(|u| *u > SystemTime::now()) {
            SyncStatus::Throttled {
                until: until.into(),
            }
        } else if let Some((code, message)) = &self.error {
            SyncStatus::Error {
                code: code.clone(),
                message: message.clone(),
            }
        } else if !self.running.is_empty() {
            SyncStatus::Syncing {
                done: self.burst_done,
                total: self.burst_total,
                pages: self.pages,
            }
        } else {
            SyncStatus::Idle {
                last_synced_at: self.last_synced_at,
            }
        };
        Status {
            sync,
            channel_errors: self.channel_errors.clone(),
            outbox: self.outbox,
        }
    }
}

/// Why a round (or a structure refresh) ended early, as the status sees it.
#[derive(Debug, Clone)]
pub enum Failure {
    /// Network or service unavailable.
    Offline(String),
    /// The account must sign in again.
    NeedsSignIn(String),
    /// The disk is full.
    DiskFull(String),
    /// This channel only (no access, gone).
    Channel(String),
    /// Graph kept throttling past the retry budget; the throttle watch shows until when.
    Throttled,
    /// Anything else that retrying will not fix.
    Fatal {
        /// A stable code.
        code: String,
        /// What to do.
        message: String,
    },
}

impl Failure {
    /// Classifies an engine error.
    pub fn of(error: &crate::EngineError) -> Failure {
        use crate::EngineError;
        if error.needs_sign_in() {
            return Failure::NeedsSignIn(error.code().to_owned());
        }
        if error.disk_full() {
            return Failure::DiskFull(error.to_string());
        }
        match error {
            EngineError::Graph(perch_graph::GraphError::Throttled { .. }) => Failure::Throttled,
            EngineError::Graph(g) if g.is_transient() => Failure::Offline(g.to_string()),
            EngineError::Graph(g) if matches!(g.code(), "not_found" | "forbidden") => {
                Failure::Channel(g.to_string())
            }
            EngineError::UnknownChannel(_) => Failure::Channel(error.to_string()),
            other => Failure::Fatal {
                code: other.code().to_owned(),
                message: other.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_outranks_offline_and_success_clears_both() {
        let mut b = StatusBoard::default();
        b.started("a");
        assert!(matches!(
            b.status().sync,
            SyncStatus::Syncing {
                done: 0,
                total: 1,
                ..
            }
        ));
        b.failed(Some("a"), Failure::Offline("reset".into()));
        assert!(matches!(b.status().sync, SyncStatus::Offline { .. }));
        b.failed(None, Failure::NeedsSignIn("invalid_grant".into()));
        assert!(matches!(b.status().sync, SyncStatus::NeedsSignIn { .. }));
        b.started("a");
        b.succeeded("a");
        assert!(matches!(
            b.status().sync,
            SyncStatus::Idle {
                last_synced_at: Some(_)
            }
        ));
    }

    #[test]
    fn channel_errors_are_listed_but_do_not_hide_progress() {
        let mut b = StatusBoard::default();
        b.started("a");
        b.started("b");
        b.failed(Some("a"), Failure::Channel("no access".into()));
        let s = b.status();
        assert!(matches!(
            s.sync,
            SyncStatus::Syncing {
                done: 1,
                total: 2,
                ..
            }
        ));
        assert_eq!(
            s.channel_errors.get("a").map(String::as_str),
            Some("no access")
        );
        b.started("a");
        b.succeeded("a");
        assert!(b.status().channel_errors.is_empty());
    }

    #[test]
    fn a_refused_structure_refresh_is_the_headline_and_throttling_is_not_offline() {
        let mut b = StatusBoard::default();
        b.failed(None, Failure::Channel("403 Forbidden".into()));
        assert!(matches!(b.status().sync, SyncStatus::Error { .. }));
        let mut b = StatusBoard::default();
        b.started("a");
        b.failed(Some("a"), Failure::Throttled);
        assert!(!matches!(b.status().sync, SyncStatus::Offline { .. }));
    }

    #[test]
    fn throttled_until_shows_only_while_in_the_future() {
        let mut b = StatusBoard::default();
        b.throttled(Some(SystemTime::now() + std::time::Duration::from_secs(30)));
        assert!(matches!(b.status().sync, SyncStatus::Throttled { .. }));
        b.throttled(Some(SystemTime::now() - std::time::Duration::from_secs(1)));
        assert!(matches!(b.status().sync, SyncStatus::Idle { .. }));
    }
}
