//! The attention-driven schedule, as pure functions over [`Attention`] and the clock: which
//! channels are polled, how often, and when each is next due. The engine's scheduler task
//! ([`crate::engine`]) asks [`Schedule::due`] what to run and sleeps until
//! [`Schedule::next_wake`]; nothing here does I/O, so the rules are unit-tested exactly.
//!
//! Rules (issue 4, FACTS.md's polling rule): the channel in view every 15 s, followed channels
//! every 5 min, both ×4 slower when the window is hidden, nothing after 30 min without user
//! input (resumed at once on input), never a channel that is neither in view nor followed, and
//! nothing while hidden when the managed policy turns background polling off.
//! After a failed round a channel waits [`EngineConfig::offline_retry`], doubling up to its
//! normal interval; a round in flight is never started twice.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::EngineConfig;

/// What the person is doing, as the shell reports it.
#[derive(Debug, Clone)]
pub struct Attention {
    /// The channel on screen, if any.
    pub in_view: Option<String>,
    /// Whether the window is visible (not minimised or hidden).
    pub visible: bool,
    /// The last keyboard or pointer input.
    pub last_input: Instant,
}

impl Attention {
    /// A visible window with input just now and no channel in view.
    pub fn new(now: Instant) -> Attention {
        Attention {
            in_view: None,
            visible: true,
            last_input: now,
        }
    }
}

/// Per-channel bookkeeping.
#[derive(Debug, Clone, Default)]
struct ChannelClock {
    /// When the last round (successful or not) finished.
    last_finished: Option<Instant>,
    /// Consecutive failed rounds.
    failures: u32,
    /// A round is in flight.
    running: bool,
}

/// See the module docs.
#[derive(Debug)]
pub struct Schedule {
    config: EngineConfig,
    clocks: HashMap<String, ChannelClock>,
}

impl Schedule {
    /// A schedule with nothing run yet.
    pub fn new(config: EngineConfig) -> Schedule {
        Schedule {
            config,
            clocks: HashMap::new(),
        }
    }

    /// Replaces the in-view and followed intervals (already clamped by the caller).
    pub fn set_intervals(&mut self, in_view: Duration, followed: Duration) {
        self.config.in_view_interval = in_view;
        self.config.followed_interval = followed;
    }

    /// Whether polling is paused because the person has been away.
    pub fn idle(&self, attention: &Attention, now: Instant) -> bool {
        now.saturating_duration_since(attention.last_input) >= self.config.idle_after
    }

    /// The polling interval of a channel, or `None` when it is not polled at all.
    pub fn interval(
        &self,
        attention: &Attention,
        channel: &str,
        followed: bool,
        now: Instant,
    ) -> Option<Duration> {
        if self.idle(attention, now) {
            return None;
        }
        let base = if attention.in_view.as_deref() == Some(channel) {
            self.config.in_view_interval
        } else if followed {
            self.config.followed_interval
        } else {
            return None;
        };
        Some(if attention.visible {
            base
        } else if self.config.poll_hidden {
            base * self.config.hidden_factor
        } else {
            return None;
        })
    }

    /// When a channel is next due (`None`: not polled, or running).
    pub fn due_at(
        &self,
        attention: &Attention,
        channel: &str,
        followed: bool,
        now: Instant,
    ) -> Option<Instant> {
        let interval = self.interval(attention, channel, followed, now)?;
        let clock = self.clocks.get(channel).cloned().unwrap_or_default();
        if clock.running {
            return None;
        }
        let Some(last) = clock.last_finished else {
            return Some(now);
        };
        let wait = if clock.failures > 0 {
            let doubled = self
                .config
                .offline_retry
                .saturating_mul(1u32 << clock.failures.saturating_sub(1).min(16));
            doubled.min(interval)
        } else {
            interval
        };
        Some(last + wait)
    }

    /// The channels due now, among `followed` plus the one in view.
    pub fn due(
        &self,
        attention: &Attention,
        followed: &HashSet<String>,
        now: Instant,
    ) -> Vec<String> {
        let mut out: Vec<String> = self
            .candidates(attention, followed)
            .filter(|(c, f)| {
                self.due_at(attention, c, *f, now)
                    .is_some_and(|at| at <= now)
            })
            .map(|(c, _)| c.to_owned())
            .collect();
        // The channel in view first.
        out.sort_by_key(|c| attention.in_view.as_deref() != Some(c.as_str()));
        out
    }

    /// The earliest future moment something becomes due (`None`: nothing is polled; wait for
    /// a change of attention).
    pub fn next_wake(
        &self,
        attention: &Attention,
        followed: &HashSet<String>,
        now: Instant,
    ) -> Option<Instant> {
        let mut wake = self
            .candidates(attention, followed)
            .filter_map(|(c, f)| self.due_at(attention, c, f, now))
            .min();
        // Going idle changes nothing by itself (the next due time is simply never reached), but
        // the scheduler must re-evaluate when the idle limit passes so that it stops.
        if !self.idle(attention, now) {
            let idle_at = attention.last_input + self.config.idle_after;
            wake = Some(wake.map_or(idle_at, |w| w.min(idle_at)));
        }
        wake
    }

    fn candidates<'a>(
        &'a self,
        attention: &'a Attention,
        followed: &'a HashSet<String>,
    ) -> impl Iterator<Item = (&'a str, bool)> + 'a {
        let in_view = attention
            .in_view
            .as_deref()
            .filter(|c| !followed.contains(*c))
            .map(|c| (c, false));
        followed.iter().map(|c| (c.as_str(), true)).chain(in_view)
    }

    /// A round of `channel` started.
    pub fn started(&mut self, channel: &str) {
        self.clocks.entry(channel.to_owned()).or_default().running = true;
    }

    /// A round of `channel` finished (`ok`: it reached the delta link).
    pub fn finished(&mut self, channel: &str, ok: bool, now: Instant) {
        let clock = self.clocks.entry(channel.to_owned()).or_default();
        clock.running = false;
        clock.last_finished = Some(now);
        clock.failures = if ok {
            0
        } else {
            clock.failures.saturating_add(1)
        };
    }

    /// Seeds a channel's clock from an earlier process (its last finished round), so that a
    /// restart does not poll everything at once again.
    pub fn seed(&mut self, channel: &str, finished_ago: Duration, now: Instant) {
        let clock = self.clocks.entry(channel.to_owned()).or_default();
        if clock.last_finished.is_none() {
            clock.last_finished = now.checked_sub(finished_ago);
        }
    }

    /// Forgets a channel's clock so that it is due at once (a refresh asked by the person).
    pub fn make_due(&mut self, channel: &str) {
        if let Some(clock) = self.clocks.get_mut(channel) {
            clock.last_finished = None;
            clock.failures = 0;
        }
    }

    /// Whether a round of `channel` is in flight.
    pub fn running(&self, channel: &str) -> bool {
        self.clocks.get(channel).is_some_and(|c| c.running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (Schedule, Attention, HashSet<String>, Instant) {
        let now = Instant::now();
        let followed: HashSet<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        (
            Schedule::new(EngineConfig::default()),
            Attention::new(now),
            followed,
            now,
        )
    }

    #[test]
    fn everything_followed_is_due_at_first() {
        let (s, att, followed, now) = setup();
        let mut due = s.due(&att, &followed, now);
        due.sort();
        assert_eq!(due, vec!["a", "b"]);
    }

    #[test]
    fn unfollowed_channels_are_never_polled() {
        let (s, att, followed, now) = setup();
        assert_eq!(s.interval(&att, "z", false, now), None);
        assert!(!s.due(&att, &followed, now).contains(&"z".to_string()));
    }

    #[test]
    fn no_polling_while_hidden_when_the_policy_says_so() {
        let (_, mut att, followed, now) = setup();
        let s = Schedule::new(EngineConfig {
            poll_hidden: false,
            ..EngineConfig::default()
        });
        att.in_view = Some("a".into());
        assert!(s.interval(&att, "a", true, now).is_some());
        att.visible = false;
        assert_eq!(s.interval(&att, "a", true, now), None);
        assert_eq!(s.interval(&att, "b", true, now), None);
        assert!(s.due(&att, &followed, now).is_empty());
        // Only the idle limit wakes the scheduler (to re-evaluate); no channel is due.
        assert_eq!(
            s.next_wake(&att, &followed, now),
            Some(now + EngineConfig::default().idle_after)
        );
        att.visible = true;
        assert!(!s.due(&att, &followed, now).is_empty());
    }

    #[test]
    fn in_view_every_15_s_followed_every_5_min_hidden_x4() {
        let (mut s, mut att, followed, now) = setup();
        att.in_view = Some("a".into());
        assert_eq!(
            s.interval(&att, "a", true, now),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            s.interval(&att, "b", true, now),
            Some(Duration::from_secs(300))
        );
        att.visible = false;
        assert_eq!(
            s.interval(&att, "a", true, now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            s.interval(&att, "b", true, now),
            Some(Duration::from_secs(1200))
        );
        att.visible = true;
        s.started("a");
        assert!(
            s.due_at(&att, "a", true, now).is_none(),
            "never twice at once"
        );
        s.finished("a", true, now);
        s.started("b");
        s.finished("b", true, now);
        assert!(s
            .due(&att, &followed, now + Duration::from_secs(14))
            .is_empty());
        assert_eq!(
            s.due(&att, &followed, now + Duration::from_secs(15)),
            vec!["a"]
        );
        assert_eq!(
            s.next_wake(&att, &followed, now),
            Some(now + Duration::from_secs(15))
        );
    }

    #[test]
    fn new_intervals_count_from_the_last_sync() {
        let (mut s, att, _, now) = setup();
        s.started("b");
        s.finished("b", true, now);
        assert_eq!(
            s.due_at(&att, "b", true, now),
            Some(now + Duration::from_secs(300))
        );
        s.set_intervals(Duration::from_secs(15), Duration::from_secs(60));
        assert_eq!(
            s.due_at(&att, "b", true, now),
            Some(now + Duration::from_secs(60))
        );
    }

    #[test]
    fn idle_after_30_min_stops_and_input_resumes() {
        let (mut s, mut att, followed, now) = setup();
        let min = |m: u64| Duration::from_secs(m * 60);
        s.finished("a", true, now + min(27));
        s.finished("b", true, now + min(27));
        // Nothing is due before the idle limit, so the limit itself is the next wake.
        assert_eq!(
            s.next_wake(&att, &followed, now + min(29)),
            Some(now + min(30))
        );
        let later = now + min(45);
        assert!(s.idle(&att, later));
        assert!(
            s.due(&att, &followed, later).is_empty(),
            "overdue, but idle"
        );
        assert_eq!(
            s.next_wake(&att, &followed, later),
            None,
            "no timer at all while idle"
        );
        att.last_input = later;
        let mut due = s.due(&att, &followed, later);
        due.sort();
        assert_eq!(
            due,
            vec!["a", "b"],
            "input makes overdue channels due at once"
        );
    }

    #[test]
    fn failures_back_off_doubling_up_to_the_interval() {
        let (mut s, att, _followed, now) = setup();
        s.finished("a", false, now);
        assert_eq!(
            s.due_at(&att, "a", true, now),
            Some(now + Duration::from_secs(15))
        );
        s.finished("a", false, now);
        assert_eq!(
            s.due_at(&att, "a", true, now),
            Some(now + Duration::from_secs(30))
        );
        for _ in 0..10 {
            s.finished("a", false, now);
        }
        assert_eq!(
            s.due_at(&att, "a", true, now),
            Some(now + Duration::from_secs(300))
        );
        s.finished("a", true, now);
        assert_eq!(
            s.due_at(&att, "a", true, now),
            Some(now + Duration::from_secs(300))
        );
    }

    #[test]
    fn in_view_channel_is_first_and_seeded_clocks_wait() {
        let (mut s, mut att, followed, now) = setup();
        att.in_view = Some("b".into());
        assert_eq!(s.due(&att, &followed, now)[0], "b");
        s.seed("a", Duration::from_secs(100), now);
        assert_eq!(
            s.due_at(&att, "a", true, now),
            Some(now + Duration::from_secs(200))
        );
        s.make_due("a");
        assert_eq!(s.due_at(&att, "a", true, now), Some(now));
    }
}
