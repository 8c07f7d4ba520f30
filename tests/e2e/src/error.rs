//! The harness's one error type. Each variant names the step that failed, so a failing
//! scenario reads as "what was being done" and "what came back", not as a bare I/O error.

use std::time::Duration;

/// Why a harness step failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The environment is not set up for end-to-end runs (no display, no driver, no binary).
    #[error("setup: {0}")]
    Setup(String),

    /// A process could not be started.
    #[error("{step}: could not start {program}: {source}")]
    Spawn {
        /// What the harness was doing.
        step: &'static str,
        /// The program it tried to run.
        program: String,
        /// What the OS said.
        source: std::io::Error,
    },

    /// A process the harness depends on exited on its own.
    #[error("{step}: {program} exited early ({status}); see its log")]
    Exited {
        /// What the harness was doing.
        step: &'static str,
        /// The program that exited.
        program: String,
        /// Its exit status.
        status: std::process::ExitStatus,
    },

    /// A bounded wait ran out.
    #[error("{step}: gave up after {waited:?}: {last}")]
    Timeout {
        /// What the harness was waiting for.
        step: String,
        /// How long it waited.
        waited: Duration,
        /// The last thing it saw, to tell "never appeared" from "showed something else".
        last: String,
    },

    /// The HTTP request to the WebDriver server itself failed.
    #[error("{step}: HTTP request to the WebDriver server failed: {source}")]
    Http {
        /// The WebDriver command being sent.
        step: String,
        /// What reqwest said.
        source: reqwest::Error,
    },

    /// The WebDriver server answered with a W3C error.
    #[error("{step}: WebDriver error {status} `{error}`: {message}")]
    WebDriver {
        /// The WebDriver command being sent.
        step: String,
        /// HTTP status of the answer.
        status: u16,
        /// The W3C error code, e.g. `no such element`.
        error: String,
        /// The driver's message.
        message: String,
    },

    /// The WebDriver server answered with something this harness does not understand.
    #[error("{step}: unexpected WebDriver answer: {detail}")]
    Protocol {
        /// The WebDriver command being sent.
        step: String,
        /// What was wrong with the answer.
        detail: String,
    },

    /// A scenario's expectation did not hold.
    #[error("{step}: {detail}")]
    Check {
        /// What was being checked.
        step: String,
        /// What was expected and what was found.
        detail: String,
    },

    /// Writing or reading an artifact failed.
    #[error("{step}: {path}: {source}")]
    Io {
        /// What the harness was doing.
        step: &'static str,
        /// The file involved.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
}

impl Error {
    /// A failed expectation, for scenarios.
    pub fn check(step: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Check {
            step: step.into(),
            detail: detail.into(),
        }
    }
}
