//! perch-diag: Perch's diagnostics, shared by the app and `perch-cli`, with no window system.
//!
//! - [`logging`]: the OS log folder, daily rolling files with a retention, the level from the
//!   policy or `PERCH_LOG`, and redaction of every line.
//! - [`redact`]: what is removed from logs and bundles (tokens always; e-mail addresses and
//!   message bodies unless a policy allows them in logs).
//! - [`doctor`]: the checks, each a pass, warn or fail with what to do.
//! - [`bundle`]: the redacted zip of findings and logs a person sends to IT.
//!
//! It reads the policy it is given (`perch_core::policy::PolicyReport`); it never reads the
//! policy itself, never prints a token, and never changes the database (doctor opens it
//! read-only).

pub mod bundle;
pub mod doctor;
pub mod logging;
pub mod redact;

use std::path::PathBuf;

pub use doctor::{ConfigState, Finding, Inputs, KeyringMode, Report, Status};
pub use logging::{LogConfig, LogGuard};
pub use redact::Redactor;

/// Why logging could not start or a bundle could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DiagError {
    /// A file or folder could not be created, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The log subscriber could not be installed (one already was, or the appender failed).
    #[error("logging could not start: {0}")]
    Logging(String),
    /// The zip could not be written.
    #[error("the bundle could not be written: {0}")]
    Zip(String),
}
