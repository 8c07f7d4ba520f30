//! [`EngineError`]: what an engine call can fail with, each with a stable [`EngineError::code`]
//! for the UI and the CLI. The texts come from the store and the Graph client, which already
//! say what a person can do; no variant holds a token.

use perch_graph::GraphError;

/// See the module docs.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The local database failed.
    #[error("{0}")]
    Store(#[from] perch_store::Error),
    /// Microsoft Graph failed (after the client's retries).
    #[error("{0}")]
    Graph(#[from] GraphError),
    /// No such channel in the cache (refresh teams and channels first).
    #[error("no channel `{0}` is known for this account; refresh the channel list (`perch-cli channels --refresh`)")]
    UnknownChannel(String),
    /// No such message in the cache.
    #[error("no message `{0}` is cached in this channel")]
    UnknownMessage(String),
    /// The engine was shut down.
    #[error("the sync engine has stopped")]
    Stopped,
    /// A background task panicked (a bug).
    #[error("internal error in the sync engine: {0}")]
    Internal(String),
}

impl EngineError {
    /// A stable code for the UI and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Store(e) => e.code(),
            EngineError::Graph(e) => e.code(),
            EngineError::UnknownChannel(_) => "unknown_channel",
            EngineError::UnknownMessage(_) => "unknown_message",
            EngineError::Stopped => "engine_stopped",
            EngineError::Internal(_) => "internal_error",
        }
    }

    /// Whether the account must sign in again before anything else works.
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, EngineError::Graph(e) if e.needs_sign_in())
    }

    /// Whether the local disk is full.
    pub fn disk_full(&self) -> bool {
        matches!(self, EngineError::Store(e) if e.code() == "disk_full")
    }
}

impl From<tokio::task::JoinError> for EngineError {
    fn from(e: tokio::task::JoinError) -> Self {
        EngineError::Internal(e.to_string())
    }
}
