//! [`AppError`]: every failure of an app call as the UI sees it, a stable `code` to branch on
//! and a `message` a person can act on. Built from the engine's, perch-auth's, the store's and
//! the configuration's errors, whose texts already say what to do; none holds a token.

use crate::dto::CommandErrorDto;

/// See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    /// Stable, snake_case.
    pub code: String,
    /// What happened and what to do.
    pub message: String,
}

impl AppError {
    /// An error with a code and a message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> AppError {
        AppError {
            code: code.into(),
            message: message.into(),
        }
    }

    /// A value the UI sent that cannot be used.
    pub fn invalid(message: impl Into<String>) -> AppError {
        AppError::new("invalid_value", message)
    }

    /// A bug.
    pub fn internal(message: impl Into<String>) -> AppError {
        AppError::new("internal_error", message)
    }

    /// Nothing works without a signed-in account.
    pub fn not_signed_in() -> AppError {
        AppError::new(
            "not_signed_in",
            "No account is signed in. Sign in to see your teams and channels.",
        )
    }

    /// The DTO.
    pub fn dto(&self) -> CommandErrorDto {
        CommandErrorDto {
            code: self.code.clone(),
            message: self.message.clone(),
        }
    }
}

impl From<perch_engine::EngineError> for AppError {
    fn from(e: perch_engine::EngineError) -> Self {
        AppError::new(e.code(), e.to_string())
    }
}

impl From<perch_auth::AuthError> for AppError {
    fn from(e: perch_auth::AuthError) -> Self {
        AppError::new(e.code(), e.to_string())
    }
}

impl From<perch_store::Error> for AppError {
    fn from(e: perch_store::Error) -> Self {
        AppError::new(e.code(), e.to_string())
    }
}

impl From<perch_core::ConfigError> for AppError {
    fn from(e: perch_core::ConfigError) -> Self {
        AppError::new(e.code(), e.to_string())
    }
}

impl From<perch_graph::GraphError> for AppError {
    fn from(e: perch_graph::GraphError) -> Self {
        AppError::new(e.code(), e.to_string())
    }
}
