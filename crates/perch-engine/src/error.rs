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
    /// The message cannot be sent as written (empty, too long, a bad link or mention).
    #[error("{0}")]
    Compose(#[from] perch_core::compose::ComposeError),
    /// An edit (or delete) of someone else's message.
    #[error("message `{0}` was written by someone else: only its sender can change it")]
    NotYours(String),
    /// A write on a deleted message (other than undelete).
    #[error("message `{0}` is deleted: undo the delete first")]
    MessageDeleted(String),
    /// A reply to something that is not a root post.
    #[error("`{0}` is not a post in this channel: replies go to a thread's first message")]
    NotARootPost(String),
    /// A value the write cannot carry (reaction, importance).
    #[error("{0}")]
    Invalid(String),
    /// No such outbox item for this account.
    #[error("no outbox item {0}; list them with `perch-cli outbox`")]
    UnknownOutboxItem(i64),
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
            EngineError::Compose(e) => match e {
                perch_core::compose::ComposeError::Empty => "empty_message",
                perch_core::compose::ComposeError::TooLarge { .. } => "message_too_large",
                perch_core::compose::ComposeError::BadLink { .. } => "bad_link",
                perch_core::compose::ComposeError::BadMention => "bad_mention",
                perch_core::compose::ComposeError::BadSubject => "bad_subject",
                perch_core::compose::ComposeError::UnknownMention { .. } => "unknown_mention",
                perch_core::compose::ComposeError::ForeignImage { .. } => "foreign_image",
            },
            EngineError::NotYours(_) => "not_your_message",
            EngineError::MessageDeleted(_) => "message_deleted",
            EngineError::NotARootPost(_) => "not_a_root_post",
            EngineError::Invalid(_) => "invalid_value",
            EngineError::UnknownOutboxItem(_) => "unknown_outbox_item",
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
