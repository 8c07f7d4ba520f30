//! Small pieces every Graph handler uses: Graph's JSON content type, path and body extraction
//! that fails with Graph's 400 shape (never axum's plain-text rejections), permission checks,
//! id validation and the team/channel lookups with their membership rules.

use axum::body::Body;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::entra::Principal;
use crate::error::{ErrorMarker, GraphError};
use crate::model::{Channel, Team, Tenant};

/// The `Content-Type` Graph answers JSON with.
pub const GRAPH_JSON_CONTENT_TYPE: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// A JSON answer with Graph's content type.
pub(crate) fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(GRAPH_JSON_CONTENT_TYPE),
    );
    response
}

/// A JSON value answer with Graph's content type.
pub(crate) fn json_value(status: StatusCode, value: &serde_json::Value) -> Response {
    json_bytes(status, serde_json::to_vec(value).unwrap_or_default())
}

/// 204 No Content.
pub(crate) fn no_content() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// Raw bytes with a content type (photos, hosted contents).
pub(crate) fn bytes_response(content_type: &str, bytes: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(bytes));
    let value = HeaderValue::from_str(content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    response.headers_mut().insert(header::CONTENT_TYPE, value);
    response
}

/// 405 in Graph's error shape.
pub(crate) async fn method_not_allowed() -> GraphError {
    GraphError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "BadRequest",
        "The HTTP method is not allowed on this resource.",
    )
}

/// 400 for a path Graph does not know, naming its first segment as Graph does.
pub(crate) async fn unknown_segment(uri: axum::http::Uri) -> GraphError {
    let segment = uri
        .path()
        .trim_start_matches('/')
        .rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .to_owned();
    GraphError::bad_request(format!("Resource not found for the segment '{segment}'."))
}

/// The path parameters in order, percent-decoded; a path that cannot be decoded is a 400.
pub(crate) struct Segs(pub Vec<String>);

impl<S: Send + Sync> FromRequestParts<S> for Segs {
    type Rejection = GraphError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<Vec<String>>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| Segs(v))
            .map_err(|_| {
                GraphError::bad_request("Invalid request: the URL path could not be decoded.")
            })
    }
}

impl Segs {
    /// The `n`th parameter, or "" (routes guarantee the count).
    pub(crate) fn at(&self, n: usize) -> &str {
        self.0.get(n).map(String::as_str).unwrap_or("")
    }
}

/// 403 unless the token carries one of `any_of` (case-insensitive short scope names).
pub(crate) fn require(principal: &Principal, any_of: &[&str]) -> Result<(), GraphError> {
    let ok = principal
        .scopes
        .iter()
        .any(|s| any_of.iter().any(|need| s.eq_ignore_ascii_case(need)));
    if ok {
        Ok(())
    } else {
        Err(GraphError::forbidden(format!(
            "Missing scope permissions on the request. API requires one of '{}'. Scopes on the request '{}'.",
            any_of.join(", "),
            principal.scopes.join(", ")
        )))
    }
}

/// Scopes that allow reading channel messages.
pub(crate) const READ_MESSAGES: &[&str] =
    &["ChannelMessage.Read.All", "ChannelMessage.ReadWrite.All"];
/// Scopes that allow posting, replying and reacting.
pub(crate) const SEND_MESSAGES: &[&str] = &["ChannelMessage.Send", "Group.ReadWrite.All"];
/// Scopes that allow editing and (un)deleting own messages.
pub(crate) const WRITE_MESSAGES: &[&str] =
    &["ChannelMessage.ReadWrite", "ChannelMessage.ReadWrite.All"];
/// Scopes that allow reading users.
pub(crate) const READ_USERS: &[&str] = &["User.Read", "User.ReadBasic.All", "User.Read.All"];
/// Scopes that allow reading teams.
pub(crate) const READ_TEAMS: &[&str] = &[
    "Team.ReadBasic.All",
    "TeamSettings.Read.All",
    "Group.Read.All",
];
/// Scopes that allow reading channels.
pub(crate) const READ_CHANNELS: &[&str] = &[
    "Channel.ReadBasic.All",
    "ChannelSettings.Read.All",
    "Group.Read.All",
];
/// Scopes that allow reading channel members.
pub(crate) const READ_MEMBERS: &[&str] = &["ChannelMember.Read.All", "ChannelMember.ReadWrite.All"];

/// A team id from the path: a GUID, else 400.
pub(crate) fn team_id(raw: &str) -> Result<Uuid, GraphError> {
    Uuid::parse_str(raw).map_err(|_| {
        GraphError::bad_request(format!("Invalid team id '{raw}': a team id is a GUID."))
    })
}

/// A channel id from the path must look like `19:…`.
pub(crate) fn check_channel_id(raw: &str) -> Result<(), GraphError> {
    if raw.starts_with("19:") && raw.len() <= 256 && !raw.contains(char::is_whitespace) {
        Ok(())
    } else {
        Err(GraphError::bad_request(format!(
            "Invalid ThreadId '{raw}': channel ids look like 19:…@thread.tacv2."
        )))
    }
}

/// A message id from the path: 1–64 ASCII letters or digits.
pub(crate) fn check_message_id(raw: &str) -> Result<(), GraphError> {
    if !raw.is_empty() && raw.len() <= 64 && raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(GraphError::bad_request(format!(
            "Invalid message id '{raw}'."
        )))
    }
}

/// The team, if it exists (404) and `user` is a member (403).
pub(crate) fn member_team(tenant: &Tenant, team: Uuid, user: Uuid) -> Result<&Team, GraphError> {
    let team_ref = tenant
        .team(team)
        .ok_or_else(|| GraphError::not_found(format!("No team found with Group Id {team}")))?;
    if !team_ref.members.contains(&user) {
        return Err(GraphError::forbidden(
            "The user is not a member of this team.",
        ));
    }
    Ok(team_ref)
}

/// The team and channel named in a path, checked for existence and visibility to `user`.
pub(crate) fn visible_channel<'a>(
    tenant: &'a Tenant,
    team_raw: &str,
    channel_raw: &str,
    user: Uuid,
) -> Result<(&'a Team, &'a Channel), GraphError> {
    let team = team_id(team_raw)?;
    check_channel_id(channel_raw)?;
    let team_ref = tenant
        .team(team)
        .ok_or_else(|| GraphError::not_found(format!("No team found with Group Id {team}")))?;
    let channel = team_ref
        .channel(channel_raw)
        .ok_or_else(|| GraphError::not_found("Channel not found."))?;
    if !channel.visible_to(team_ref, user) {
        return Err(GraphError::forbidden(
            "The user is not a member of this channel.",
        ));
    }
    Ok((team_ref, channel))
}

/// Parses a JSON request body after checking the content type; 400 on anything else.
pub(crate) fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, GraphError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
    if !json {
        return Err(GraphError::bad_request(
            "The request body must be JSON: set Content-Type: application/json.",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        GraphError::bad_request(format!(
            "Invalid request body: the JSON could not be read ({e})."
        ))
    })
}

/// Turns the plain-text rejections axum produces before a handler runs (a body over the
/// size limit is 413 `Failed to buffer the request body`, a missing extension 500) into
/// Graph's error shape, so no Graph answer has another shape.
pub(crate) async fn graph_rejections(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let failed = status.is_client_error() || status.is_server_error();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if !failed || !plain || response.extensions().get::<ErrorMarker>().is_some() {
        return response;
    }
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 10)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("The request failed.")
            .to_owned()
    } else {
        text
    };
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "RequestEntityTooLarge",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "UnsupportedMediaType",
        StatusCode::METHOD_NOT_ALLOWED => "BadRequest",
        s if s.is_server_error() => "InternalServerError",
        _ => "BadRequest",
    };
    axum::response::IntoResponse::into_response(GraphError::new(status, code, message))
}
