//! [`EngineConfig`]: the engine's tuning: how far back the first sync reaches, the polling
//! intervals of the attention-driven schedule and their floors, page sizes, parallelism and
//! where hosted-content images are served from. Defaults follow the issue and Microsoft's
//! polling rule (FACTS.md); [`EngineConfig::with_policy_floor`] is how a managed policy raises
//! the floor; the policy also turns off polling while hidden ([`EngineConfig::poll_hidden`]) and
//! sets the cache's retention ([`EngineConfig::cache_retention`]).

use std::time::Duration;

/// See the module docs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The first delta round of a channel asks for messages changed in this window
    /// (`$filter=lastModifiedDateTime gt now - first_sync`).
    pub first_sync: chrono::Duration,
    /// A restarted round (expired delta token) asks from the watermark minus this overlap, so
    /// that a change stamped just before the watermark but published late is not missed.
    pub watermark_overlap: chrono::Duration,
    /// The channel in view is polled this often.
    pub in_view_interval: Duration,
    /// Followed channels are polled this often.
    pub followed_interval: Duration,
    /// Both intervals are multiplied by this while the window is hidden.
    pub hidden_factor: u32,
    /// Whether channels are polled at all while the window is hidden (the managed policy's
    /// `background_polling: false` turns it off; polling resumes when the window shows).
    pub poll_hidden: bool,
    /// Cached threads whose last activity is older than this are removed when the engine
    /// starts (the managed policy's `cache_retention_days`); `None`: kept without an age limit.
    pub cache_retention: Option<chrono::Duration>,
    /// Polling stops after this long without user input, and resumes at once on input.
    pub idle_after: Duration,
    /// Teams and channels are fetched at start and on refresh; in the background at most this
    /// often.
    pub structure_interval: Duration,
    /// `$top` for delta and list pages (Graph allows up to 50).
    pub page_size: u32,
    /// How many channels sync at the same time (they still share the client's budgets).
    pub max_parallel_channels: usize,
    /// After a round failed for lack of network, the channel is tried again after this long
    /// (doubling, capped at its normal interval).
    pub offline_retry: Duration,
    /// After the disk filled up, sync is tried again after this long.
    pub disk_full_retry: Duration,
    /// The prefix of local media URLs (hosted-content images) the shell serves.
    pub media_prefix: String,
    /// Maximum replies fetched on demand for one thread (safety bound: 10,000).
    pub max_thread_replies: usize,
    /// An outbox item unsent this long stops retrying and waits for the person (Teams: 24 h).
    pub outbox_expiry: chrono::Duration,
    /// The first retry of a failed write waits this long (then doubling, with jitter).
    pub outbox_retry_min: Duration,
    /// Retries of a failed write wait at most this long (unless Graph's Retry-After says more).
    pub outbox_retry_max: Duration,
    /// A post whose answer was lost is looked for on the server only this long after its
    /// attempt began, so that Graph has listed it.
    pub reconcile_settle: Duration,
    /// How far the server's clock may be behind ours when an unconfirmed post is looked for
    /// (messages created this long before the attempt began still count).
    pub clock_skew: chrono::Duration,
    /// Channel members (for mentions) are fetched again when older than this.
    pub members_max_age: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            first_sync: chrono::Duration::days(30),
            watermark_overlap: chrono::Duration::minutes(5),
            in_view_interval: Duration::from_secs(15),
            followed_interval: Duration::from_secs(5 * 60),
            hidden_factor: 4,
            poll_hidden: true,
            cache_retention: None,
            idle_after: Duration::from_secs(30 * 60),
            structure_interval: Duration::from_secs(24 * 60 * 60),
            page_size: 50,
            max_parallel_channels: 4,
            offline_retry: Duration::from_secs(15),
            disk_full_retry: Duration::from_secs(60),
            media_prefix: "perch-media://localhost/".to_owned(),
            max_thread_replies: 10_000,
            outbox_expiry: chrono::Duration::hours(24),
            outbox_retry_min: Duration::from_secs(2),
            outbox_retry_max: Duration::from_secs(5 * 60),
            reconcile_settle: Duration::from_secs(5),
            clock_skew: chrono::Duration::minutes(2),
            members_max_age: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl EngineConfig {
    /// The shortest interval anyone may set for the channel in view.
    pub const MIN_IN_VIEW: Duration = Duration::from_secs(15);
    /// The shortest interval anyone may set for followed channels.
    pub const MIN_FOLLOWED: Duration = Duration::from_secs(60);

    /// Raises the intervals to a policy's floors (never below the built-in minimums).
    pub fn with_policy_floor(
        mut self,
        in_view: Option<Duration>,
        followed: Option<Duration>,
    ) -> Self {
        let in_view_floor = in_view.unwrap_or(Self::MIN_IN_VIEW).max(Self::MIN_IN_VIEW);
        let followed_floor = followed
            .unwrap_or(Self::MIN_FOLLOWED)
            .max(Self::MIN_FOLLOWED);
        self.in_view_interval = self.in_view_interval.max(in_view_floor);
        self.followed_interval = self.followed_interval.max(followed_floor);
        self
    }

    /// Applies the managed policy's `cache_retention_days`: the cache keeps threads active in
    /// the last `days`, and the first sync of a channel reaches no further back than that.
    pub fn with_retention_days(mut self, days: Option<u32>) -> Self {
        if let Some(days) = days {
            let keep = chrono::Duration::days(days.into());
            self.cache_retention = Some(keep);
            self.first_sync = self.first_sync.min(keep);
        }
        self
    }

    /// Clamps user-chosen intervals to the built-in minimums.
    pub fn clamped(mut self) -> Self {
        self.in_view_interval = self.in_view_interval.max(Self::MIN_IN_VIEW);
        self.followed_interval = self.followed_interval.max(Self::MIN_FOLLOWED);
        self.hidden_factor = self.hidden_factor.max(1);
        self.page_size = self.page_size.clamp(1, 50);
        self.max_parallel_channels = self.max_parallel_channels.max(1);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_floor_only_raises() {
        let c = EngineConfig::default().with_policy_floor(Some(Duration::from_secs(60)), None);
        assert_eq!(c.in_view_interval, Duration::from_secs(60));
        assert_eq!(c.followed_interval, Duration::from_secs(300));
        let c = EngineConfig::default().with_policy_floor(Some(Duration::from_secs(1)), None);
        assert_eq!(c.in_view_interval, Duration::from_secs(15));
    }

    #[test]
    fn clamped_enforces_minimums() {
        let c = EngineConfig {
            in_view_interval: Duration::from_secs(1),
            followed_interval: Duration::from_secs(1),
            hidden_factor: 0,
            page_size: 500,
            ..EngineConfig::default()
        }
        .clamped();
        assert_eq!(c.in_view_interval, EngineConfig::MIN_IN_VIEW);
        assert_eq!(c.followed_interval, EngineConfig::MIN_FOLLOWED);
        assert_eq!(c.hidden_factor, 1);
        assert_eq!(c.page_size, 50);
    }
}
