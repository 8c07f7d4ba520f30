//! [`GraphError`]: every way a Graph call can end badly, each with a stable [`GraphError::code`]
//! the UI branches on and a message a person can act on. It owns the mapping from Graph's
//! status and `error.code` to a variant; it never holds a token (Graph's own error messages and
//! our texts only) and never a URL's query (paging and delta tokens stay out of messages).

use std::time::Duration;

use perch_auth::AuthError;

/// What went wrong with a Graph call (after the client's own retries, where it retries).
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// Graph could not be reached, or the connection failed, on every attempt.
    #[error("could not reach Microsoft Graph ({detail}); check the network connection or proxy settings")]
    Network {
        /// What the last attempt saw (connect failure, timeout, dropped connection).
        detail: String,
    },
    /// Graph kept answering 429 until the retry budget ran out.
    #[error("Microsoft Graph asked Perch to slow down{}; Perch pauses and tries again later", retry_hint(.retry_after))]
    Throttled {
        /// The last `Retry-After`, if Graph sent one.
        retry_after: Option<Duration>,
    },
    /// The delta token is expired or unknown (410, 400 `syncStateNotFound` / `resyncRequired`,
    /// or a 400 on a continuation link): start again with a date filter.
    #[error("the saved sync position for this channel is no longer valid; Perch reads recent messages again")]
    DeltaExpired,
    /// 404: the team, channel or message does not exist (any more).
    #[error("not found in Microsoft Teams: it may have been deleted, or you were removed from it")]
    NotFound,
    /// 403: not a member, or a permission is missing.
    #[error("Microsoft Graph refused access ({code}: {message}); you may not be a member, or your administrator has not granted Perch this permission")]
    Forbidden {
        /// Graph's `error.code`.
        code: String,
        /// Graph's `error.message`.
        message: String,
    },
    /// 401 even after one token refresh.
    #[error("Microsoft Graph did not accept the sign-in, even after renewing it; sign in again")]
    Unauthorized,
    /// The token source failed (needs sign-in, keyring locked, …).
    #[error(transparent)]
    Auth(AuthError),
    /// 400 (other than an expired delta token).
    #[error("Microsoft Graph refused the request as invalid ({code}: {message})")]
    BadRequest {
        /// Graph's `error.code`.
        code: String,
        /// Graph's `error.message`.
        message: String,
    },
    /// 409.
    #[error("the change conflicts with the current state in Teams; reload and try again")]
    Conflict,
    /// 5xx on every attempt.
    #[error("Microsoft Graph had a problem (HTTP {status} {code}); Perch tries again later")]
    Server {
        /// The HTTP status.
        status: u16,
        /// Graph's `error.code` (empty when the body had none).
        code: String,
    },
    /// The answer could not be read (truncated or malformed JSON, a proxy's HTML page, a link
    /// to another host) on every attempt.
    #[error("Microsoft Graph sent an answer Perch could not read ({detail})")]
    Malformed {
        /// What was wrong.
        detail: String,
    },
    /// A message or reply was sent, but the answer never arrived intact (the connection dropped
    /// after the request went out, a 500/502/504, an unreadable 201). It may have been posted:
    /// the caller must look (delta) before posting it again, so it is not retried here.
    #[error("the message may or may not have been posted ({detail}); Perch checks before sending it again")]
    WriteUnconfirmed {
        /// What the attempt saw.
        detail: String,
    },
    /// Another HTTP status Perch has no special meaning for (405, 412, 413, 424, 3xx, …).
    #[error("Microsoft Graph answered HTTP {status} ({code}: {message})")]
    Other {
        /// The HTTP status.
        status: u16,
        /// Graph's `error.code`.
        code: String,
        /// Graph's `error.message`.
        message: String,
    },
    /// The client's configuration is unusable (a bad `graph_base`).
    #[error("the Microsoft Graph address is not usable: {detail}")]
    Config {
        /// What is wrong.
        detail: String,
    },
    /// The call was abandoned because the client was shut down.
    #[error("the request was cancelled")]
    Cancelled,
}

fn retry_hint(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(" for {:.1} s", d.as_secs_f64()),
        None => String::new(),
    }
}

impl GraphError {
    /// A stable code for the UI. Token-source failures pass the [`AuthError::code`] through
    /// (`needs_sign_in`, `keyring_locked`, …).
    pub fn code(&self) -> &'static str {
        match self {
            GraphError::Network { .. } => "network",
            GraphError::Throttled { .. } => "throttled",
            GraphError::DeltaExpired => "delta_expired",
            GraphError::NotFound => "not_found",
            GraphError::Forbidden { .. } => "forbidden",
            GraphError::Unauthorized => "unauthorized",
            GraphError::Auth(e) => e.code(),
            GraphError::BadRequest { .. } => "bad_request",
            GraphError::Conflict => "conflict",
            GraphError::Server { .. } => "server_error",
            GraphError::Malformed { .. } => "malformed_response",
            GraphError::WriteUnconfirmed { .. } => "write_unconfirmed",
            GraphError::Other { .. } => "graph_error",
            GraphError::Config { .. } => "graph_config",
            GraphError::Cancelled => "cancelled",
        }
    }

    /// Whether the same call may succeed later without anything changing on our side
    /// (network, throttling, 5xx, unreadable answers, transient token-source failures).
    /// [`GraphError::WriteUnconfirmed`] is not: repeating it blindly may post twice.
    pub fn is_transient(&self) -> bool {
        match self {
            GraphError::Network { .. }
            | GraphError::Throttled { .. }
            | GraphError::Server { .. }
            | GraphError::Malformed { .. } => true,
            GraphError::Auth(e) => e.is_transient(),
            _ => false,
        }
    }

    /// Whether the person has to sign in again: the token source says so, or Graph refused
    /// even a freshly refreshed token.
    pub fn needs_sign_in(&self) -> bool {
        matches!(
            self,
            GraphError::Auth(AuthError::NeedsSignIn { .. }) | GraphError::Unauthorized
        )
    }
}

impl From<AuthError> for GraphError {
    fn from(e: AuthError) -> Self {
        GraphError::Auth(e)
    }
}

/// Graph's error body, read leniently: `{"error":{"code","message"}}`.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ErrorBody {
    pub code: String,
    pub message: String,
}

impl ErrorBody {
    /// From a JSON value (an inner `$batch` body) or nothing.
    pub(crate) fn from_value(value: Option<&serde_json::Value>) -> ErrorBody {
        let error = value.and_then(|v| v.get("error"));
        let text = |name: &str| {
            error
                .and_then(|e| e.get(name))
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .chars()
                .take(500)
                .collect::<String>()
        };
        ErrorBody {
            code: text("code"),
            message: text("message"),
        }
    }

    /// From raw bytes.
    pub(crate) fn parse(bytes: &[u8]) -> ErrorBody {
        let value: Option<serde_json::Value> = serde_json::from_slice(bytes).ok();
        ErrorBody::from_value(value.as_ref())
    }
}

/// What kind of request an error answered, for the few statuses whose meaning depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorContext {
    /// Anything but delta.
    Plain,
    /// The first delta request (with the date filter).
    DeltaStart,
    /// A delta nextLink or deltaLink.
    DeltaLink,
}

/// The permanent error for a status that is not retried (or no longer retried).
pub(crate) fn for_status(
    status: u16,
    body: ErrorBody,
    retry_after: Option<Duration>,
    context: ErrorContext,
) -> GraphError {
    let delta = context != ErrorContext::Plain;
    let expired_code = body.code.eq_ignore_ascii_case("syncStateNotFound")
        || body.code.eq_ignore_ascii_case("resyncRequired");
    match status {
        410 if delta => GraphError::DeltaExpired,
        400 if delta && (expired_code || context == ErrorContext::DeltaLink) => {
            GraphError::DeltaExpired
        }
        400 => GraphError::BadRequest {
            code: body.code,
            message: body.message,
        },
        401 => GraphError::Unauthorized,
        403 => GraphError::Forbidden {
            code: body.code,
            message: body.message,
        },
        404 => GraphError::NotFound,
        409 => GraphError::Conflict,
        429 => GraphError::Throttled { retry_after },
        500..=599 => GraphError::Server {
            status,
            code: body.code,
        },
        _ => GraphError::Other {
            status,
            code: body.code,
            message: body.message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str) -> ErrorBody {
        ErrorBody {
            code: code.into(),
            message: "m".into(),
        }
    }

    #[test]
    fn statuses_map_to_variants() {
        use ErrorContext::*;
        let cases: Vec<(u16, &str, ErrorContext, &str)> = vec![
            (410, "resyncRequired", DeltaLink, "delta_expired"),
            (410, "", DeltaStart, "delta_expired"),
            (400, "syncStateNotFound", DeltaLink, "delta_expired"),
            (400, "SyncStateNotFound", DeltaStart, "delta_expired"),
            (400, "BadRequest", DeltaLink, "delta_expired"),
            (400, "BadRequest", DeltaStart, "bad_request"),
            (400, "syncStateNotFound", Plain, "bad_request"),
            (410, "", Plain, "graph_error"),
            (401, "InvalidAuthenticationToken", Plain, "unauthorized"),
            (403, "Forbidden", Plain, "forbidden"),
            (404, "NotFound", Plain, "not_found"),
            (409, "Conflict", Plain, "conflict"),
            (429, "TooManyRequests", Plain, "throttled"),
            (503, "ServiceUnavailable", Plain, "server_error"),
            (412, "PreconditionFailed", Plain, "graph_error"),
        ];
        for (status, code, context, expected) in cases {
            let e = for_status(status, body(code), None, context);
            assert_eq!(e.code(), expected, "{status} {code} {context:?}");
        }
    }

    #[test]
    fn transient_and_sign_in() {
        assert!(GraphError::Network { detail: "x".into() }.is_transient());
        assert!(GraphError::Malformed { detail: "x".into() }.is_transient());
        assert!(GraphError::Throttled { retry_after: None }.is_transient());
        assert!(!GraphError::WriteUnconfirmed { detail: "x".into() }.is_transient());
        assert!(!GraphError::NotFound.is_transient());
        assert!(GraphError::Unauthorized.needs_sign_in());
        let needs = GraphError::Auth(AuthError::NeedsSignIn {
            account: perch_core::AccountId::new(uuid::Uuid::nil(), uuid::Uuid::nil()),
            upn: "a@b".into(),
            reason: "invalid_grant".into(),
        });
        assert!(needs.needs_sign_in());
        assert_eq!(needs.code(), "needs_sign_in");
        assert!(!GraphError::Auth(AuthError::Network("x".into())).needs_sign_in());
        assert!(GraphError::Auth(AuthError::Network("x".into())).is_transient());
    }

    #[test]
    fn error_bodies_are_read_leniently() {
        let b =
            ErrorBody::parse(br#"{"error":{"code":"Forbidden","message":"no","innerError":{}}}"#);
        assert_eq!(b, body_with("Forbidden", "no"));
        assert_eq!(ErrorBody::parse(b"<html>"), ErrorBody::default());
        assert_eq!(ErrorBody::parse(br#"{"error":"x"}"#), ErrorBody::default());
    }

    fn body_with(code: &str, message: &str) -> ErrorBody {
        ErrorBody {
            code: code.into(),
            message: message.into(),
        }
    }

    #[test]
    fn messages_are_actionable() {
        let e = GraphError::Throttled {
            retry_after: Some(Duration::from_millis(2128)),
        };
        assert!(e.to_string().contains("2.1 s"), "{e}");
    }
}
