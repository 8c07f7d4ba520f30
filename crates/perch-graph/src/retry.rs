//! The retry policy as a type: [`classify`] turns one attempt's outcome into a [`Verdict`]
//! (success, transient with an optional Retry-After, permanent), [`RetryPolicy`] bounds how
//! often and how long we try (attempts, per-delay cap, total cap) and computes exponential
//! backoff with full jitter, and [`parse_retry_after`] reads Graph's `Retry-After` (fractional
//! seconds such as `2.128`, or an HTTP date). Pure functions, no I/O and no clock of its own.

use std::time::{Duration, SystemTime};

use rand::Rng;

/// How many attempts, and how long, a call may take.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first backoff's upper bound; it doubles with every attempt.
    pub base_delay: Duration,
    /// No backoff is longer than this (a longer `Retry-After` is still honoured exactly).
    pub max_delay: Duration,
    /// A call gives up when the next wait would end later than this after it started.
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_total: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The backoff after failed attempt number `attempt` (1-based), without a Retry-After:
    /// uniformly random in `[0, min(max_delay, base_delay × 2^(attempt-1))]` ("full jitter").
    pub fn backoff(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let cap = self.backoff_cap(attempt);
        if cap.is_zero() {
            return Duration::ZERO;
        }
        let nanos = rng.gen_range(0..=cap.as_nanos().min(u64::MAX as u128) as u64);
        Duration::from_nanos(nanos)
    }

    /// The upper bound of [`RetryPolicy::backoff`] for `attempt`.
    pub fn backoff_cap(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(30);
        self.base_delay
            .checked_mul(1u32 << shift)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// The wait before the next attempt, or `None` to give up: after `attempt` attempts,
    /// `elapsed` since the call started, with the server's `retry_after` (honoured exactly;
    /// without one, [`RetryPolicy::backoff`]).
    pub fn next_delay(
        &self,
        attempt: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let delay = retry_after.unwrap_or_else(|| self.backoff(attempt, rng));
        (elapsed.saturating_add(delay) <= self.max_total).then_some(delay)
    }
}

/// What one attempt ended with, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// An HTTP answer.
    Status {
        /// The status.
        status: u16,
        /// Its `Retry-After`, parsed.
        retry_after: Option<Duration>,
    },
    /// No answer: connect failure, timeout, reset, dropped connection.
    Network,
    /// A 2xx answer whose body could not be read (truncated or malformed JSON).
    Malformed,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Done.
    Success,
    /// Try again (after `retry_after` when the server gave one).
    Transient {
        /// The server's wait.
        retry_after: Option<Duration>,
    },
    /// Do not try again (401 is handled before this: one refresh, one retry).
    Permanent,
}

/// The retry classification: 2xx succeed; 408, 429, 500, 502, 503, 504, network failures and
/// unreadable 2xx bodies are transient; everything else is permanent.
pub fn classify(attempt: Attempt) -> Verdict {
    match attempt {
        Attempt::Status { status, .. } if (200..300).contains(&status) => Verdict::Success,
        Attempt::Status {
            status: 408 | 429 | 500 | 502 | 503 | 504,
            retry_after,
        } => Verdict::Transient { retry_after },
        Attempt::Status { .. } => Verdict::Permanent,
        Attempt::Network | Attempt::Malformed => Verdict::Transient { retry_after: None },
    }
}

/// The longest Retry-After taken at face value; longer ones are clamped (a broken proxy must
/// not park a scope for a week).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// Parses a `Retry-After` value: non-negative seconds, fractional allowed (`2.128`), or an
/// HTTP date (a date in the past is zero). Garbage is `None`. Rounded up to whole
/// microseconds, so that the wait is never shorter than the server asked.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return parse_decimal_seconds(value).map(|d| d.min(MAX_RETRY_AFTER));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

/// `digits[.digits]` as exact microseconds, rounded up.
fn parse_decimal_seconds(value: &str) -> Option<Duration> {
    let (whole, frac) = match value.split_once('.') {
        Some((w, f)) if !f.contains('.') => (w, f),
        Some(_) => return None,
        None => (value, ""),
    };
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    // Anything this long is far beyond MAX_RETRY_AFTER anyway.
    let secs: u64 = if whole.is_empty() {
        0
    } else if whole.len() > 12 {
        u64::MAX / 2_000_000
    } else {
        whole.parse().ok()?
    };
    let mut micros: u64 = 0;
    for (i, b) in frac.bytes().enumerate() {
        let digit = u64::from(b - b'0');
        if i < 6 {
            micros = micros * 10 + digit;
        } else if digit != 0 {
            micros += 1;
            break;
        }
    }
    for _ in frac.len()..6 {
        micros *= 10;
    }
    Some(Duration::from_secs(secs) + Duration::from_micros(micros))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn retry_after_values() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let date = |secs: u64| httpdate::fmt_http_date(now + Duration::from_secs(secs));
        let cases: Vec<(String, Option<Duration>)> = vec![
            ("2".into(), Some(ms(2000))),
            ("0".into(), Some(Duration::ZERO)),
            ("2.128".into(), Some(ms(2128))),
            (" 0.75 ".into(), Some(ms(750))),
            ("0.0000001".into(), Some(Duration::from_micros(1))),
            ("1e3".into(), None),
            ("-1".into(), None),
            ("".into(), None),
            ("soon".into(), None),
            ("1.2.3".into(), None),
            (date(30), Some(Duration::from_secs(30))),
            // A date in the past: go now.
            (
                httpdate::fmt_http_date(now - Duration::from_secs(5)),
                Some(Duration::ZERO),
            ),
            ("Wed, 21 Oct 2015 07:28:00 GMT".into(), Some(Duration::ZERO)),
            ("999999999".into(), Some(MAX_RETRY_AFTER)),
        ];
        for (value, expected) in cases {
            assert_eq!(parse_retry_after(&value, now), expected, "{value:?}");
        }
    }

    #[test]
    fn fractional_retry_after_is_never_rounded_down() {
        let now = SystemTime::now();
        for text in ["2.128", "0.001", "1.333", "0.1"] {
            let parsed = parse_retry_after(text, now).unwrap();
            let exact: f64 = text.parse().unwrap();
            assert!(parsed.as_secs_f64() >= exact, "{text}: {parsed:?}");
            assert!(parsed.as_secs_f64() - exact < 2e-6, "{text}: {parsed:?}");
        }
    }

    #[test]
    fn classification_table() {
        let ra = Some(ms(1500));
        let status = |status, retry_after| Attempt::Status {
            status,
            retry_after,
        };
        let cases = [
            (status(200, None), Verdict::Success),
            (status(201, None), Verdict::Success),
            (status(204, None), Verdict::Success),
            (status(429, ra), Verdict::Transient { retry_after: ra }),
            (status(429, None), Verdict::Transient { retry_after: None }),
            (status(503, ra), Verdict::Transient { retry_after: ra }),
            (status(500, None), Verdict::Transient { retry_after: None }),
            (status(502, None), Verdict::Transient { retry_after: None }),
            (status(504, None), Verdict::Transient { retry_after: None }),
            (status(408, None), Verdict::Transient { retry_after: None }),
            (status(400, None), Verdict::Permanent),
            (status(401, None), Verdict::Permanent),
            (status(403, None), Verdict::Permanent),
            (status(404, None), Verdict::Permanent),
            (status(409, None), Verdict::Permanent),
            (status(410, None), Verdict::Permanent),
            (status(501, None), Verdict::Permanent),
            (status(302, None), Verdict::Permanent),
            (Attempt::Network, Verdict::Transient { retry_after: None }),
            (Attempt::Malformed, Verdict::Transient { retry_after: None }),
        ];
        for (attempt, verdict) in cases {
            assert_eq!(classify(attempt), verdict, "{attempt:?}");
        }
    }

    #[test]
    fn backoff_stays_within_its_bounds() {
        let policy = RetryPolicy::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        assert_eq!(policy.backoff_cap(1), ms(500));
        assert_eq!(policy.backoff_cap(2), ms(1000));
        assert_eq!(policy.backoff_cap(4), ms(4000));
        assert_eq!(policy.backoff_cap(7), Duration::from_secs(30));
        assert_eq!(policy.backoff_cap(1000), Duration::from_secs(30));
        for attempt in 1..12 {
            let cap = policy.backoff_cap(attempt);
            let mut max_seen = Duration::ZERO;
            for _ in 0..200 {
                let d = policy.backoff(attempt, &mut rng);
                assert!(d <= cap, "attempt {attempt}: {d:?} > {cap:?}");
                max_seen = max_seen.max(d);
            }
            // Full jitter really spreads over the range.
            assert!(max_seen > cap / 2, "attempt {attempt}");
        }
    }

    #[test]
    fn giving_up() {
        let policy = RetryPolicy::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        // Attempts run out.
        assert!(policy.next_delay(5, ms(0), None, &mut rng).is_some());
        assert_eq!(policy.next_delay(6, ms(0), None, &mut rng), None);
        // A Retry-After is honoured exactly, even above max_delay...
        assert_eq!(
            policy.next_delay(1, ms(0), Some(Duration::from_secs(45)), &mut rng),
            Some(Duration::from_secs(45))
        );
        // ...unless it would end past max_total.
        assert_eq!(
            policy.next_delay(
                1,
                Duration::from_secs(100),
                Some(Duration::from_secs(21)),
                &mut rng
            ),
            None
        );
        assert!(policy
            .next_delay(
                1,
                Duration::from_secs(100),
                Some(Duration::from_secs(20)),
                &mut rng
            )
            .is_some());
    }
}
