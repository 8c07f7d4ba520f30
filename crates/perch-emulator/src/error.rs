//! Graph's error shape (`{"error":{"code","message","innerError":{…}}}`) and the crate's own
//! error type. Every handler answers failures through [`GraphError`], so no request can get a
//! body of another shape or a panic.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A Graph error answer: status, `code`, `message`, optional `Retry-After`.
#[derive(Debug, Clone)]
pub struct GraphError {
    /// HTTP status.
    pub status: StatusCode,
    /// Graph's `error.code`, e.g. `InvalidAuthenticationToken`.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after: Option<f64>,
}

impl GraphError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 `BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// 404 `NotFound`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", message)
    }

    /// 403 `Forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", message)
    }

    /// 401 `InvalidAuthenticationToken`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
    }

    /// 429 `TooManyRequests` with a fractional `Retry-After`.
    pub fn throttled(retry_after: f64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests. Retry after the time in the Retry-After header.",
            )
        }
    }

    /// The JSON body, with `innerError` carrying date and request ids.
    pub fn body(&self, request_id: &str, client_request_id: Option<&str>) -> serde_json::Value {
        json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    "request-id": request_id,
                    "client-request-id": client_request_id.unwrap_or(request_id),
                }
            }
        })
    }
}

/// Request ids, put into request extensions by the header layer so error bodies can carry them.
#[derive(Debug, Clone)]
pub struct RequestIds {
    /// The emulator's `request-id` for this request.
    pub request_id: String,
    /// The client's `client-request-id`, if it sent one.
    pub client_request_id: Option<String>,
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        // The header layer fills the ids in (it rewrites `innerError` of error bodies that
        // carry the placeholder); handlers do not have them at hand.
        let body = self.body(PLACEHOLDER_REQUEST_ID, None);
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(value) = HeaderValue::from_str(&format_retry_after(secs)) {
                response.headers_mut().insert("retry-after", value);
            }
        }
        response.extensions_mut().insert(ErrorMarker);
        response
    }
}

/// Marks responses built from a [`GraphError`], so the header layer can fill in request ids.
#[derive(Debug, Clone, Copy)]
pub struct ErrorMarker;

/// Stand-in for the request id in error bodies, replaced by the header layer.
pub const PLACEHOLDER_REQUEST_ID: &str = "00000000-0000-0000-0000-000000000000";

/// Formats seconds the way Teams does: up to three decimals, no trailing zeros (`2.128`, `1`).
pub fn format_retry_after(secs: f64) -> String {
    let text = format!("{:.3}", secs.max(0.0));
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// Errors starting or running the emulator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A config file could not be read or parsed.
    #[error("bad emulator config {}: {reason}", path.display())]
    Config {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The state file could not be read, parsed or written.
    #[error("emulator state file {}: {reason}", path.display())]
    State {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::format_retry_after;

    #[test]
    fn retry_after_is_fractional_seconds_without_trailing_zeros() {
        assert_eq!(format_retry_after(2.128), "2.128");
        assert_eq!(format_retry_after(1.0), "1");
        assert_eq!(format_retry_after(0.5), "0.5");
        assert_eq!(format_retry_after(-1.0), "0");
    }
}
