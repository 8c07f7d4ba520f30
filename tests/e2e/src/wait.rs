//! Bounded polling. Nothing in the harness waits without a deadline: a wait that runs out
//! returns [`Error::Timeout`] with the last value it saw.

use std::time::{Duration, Instant};

use crate::Error;

/// How often a poll retries.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// What one attempt of a poll found.
pub enum Attempt<T> {
    /// The wait is over.
    Done(T),
    /// Not yet; the string says what was seen (reported if the wait runs out).
    NotYet(String),
}

/// Calls `attempt` every [`POLL_INTERVAL`] until it is done, fails, or `timeout` passes.
pub fn poll<T>(
    step: &str,
    timeout: Duration,
    mut attempt: impl FnMut() -> Result<Attempt<T>, Error>,
) -> Result<T, Error> {
    let start = Instant::now();
    loop {
        let last = match attempt()? {
            Attempt::Done(value) => return Ok(value),
            Attempt::NotYet(last) => last,
        };
        if start.elapsed() >= timeout {
            return Err(Error::Timeout {
                step: step.to_owned(),
                waited: start.elapsed(),
                last,
            });
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}
