//! `POST /$batch`: up to 20 requests with relative URLs, each sent through the authenticated,
//! throttled Graph router on its own (so an inner request can be 401, 403 or 429 with its own
//! `Retry-After`), `dependsOn` honoured (a request whose dependency did not succeed answers
//! 424 Failed Dependency without running), answers in a deterministic but shuffled order.
//!
//! The outer request needs a valid bearer token (401 otherwise); its `Authorization` header is
//! used for every inner request. A malformed batch (not JSON, no `requests`, more than 20,
//! duplicate or unknown ids, cycles, a body without a `Content-Type` header, an absolute URL)
//! answers 400 as a whole.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::{json, Map, Value};
use tower::ServiceExt as _;

use super::support::{json_body, json_value};
use super::token::bind;
use crate::error::{ErrorMarker, GraphError, RequestIds, PLACEHOLDER_REQUEST_ID};
use crate::state::AppState;

/// The most requests one batch may hold.
pub const MAX_BATCH: usize = 20;
/// Inner response bodies larger than this are cut off (none of ours come close).
const MAX_INNER_BODY: usize = 32 << 20;

/// Characters that may appear in a batch URL as written but not in an HTTP request target.
const NOT_IN_URI: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

struct Step {
    id: String,
    method: Method,
    url: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<Vec<u8>>,
    depends_on: Vec<usize>,
}

fn bad(message: impl Into<String>) -> GraphError {
    GraphError::bad_request(message)
}

fn parse(value: Value) -> Result<Vec<Step>, GraphError> {
    let requests = value
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("Invalid batch payload: a 'requests' array is required."))?;
    if requests.is_empty() {
        return Err(bad("Invalid batch payload: 'requests' is empty."));
    }
    if requests.len() > MAX_BATCH {
        return Err(bad(format!(
            "Number of batch request steps exceeds the maximum of {MAX_BATCH}."
        )));
    }
    let mut ids: Vec<String> = Vec::with_capacity(requests.len());
    for r in requests {
        let id = match r.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(bad("Invalid batch payload: every request needs an 'id'.")),
        };
        if ids.contains(&id) {
            return Err(bad(format!(
                "Invalid batch payload: duplicate request id '{id}'."
            )));
        }
        ids.push(id);
    }
    let mut steps = Vec::with_capacity(requests.len());
    for (r, id) in requests.iter().zip(&ids) {
        let method = r
            .get("method")
            .and_then(Value::as_str)
            .map(str::to_ascii_uppercase)
            .ok_or_else(|| bad(format!("Request '{id}' needs a 'method'.")))?;
        let method = match method.as_str() {
            "GET" => Method::GET,
            "POST" => Method::POST,
            "PATCH" => Method::PATCH,
            "PUT" => Method::PUT,
            "DELETE" => Method::DELETE,
            other => {
                return Err(bad(format!(
                    "Request '{id}' has an unsupported method '{other}'."
                )))
            }
        };
        let url = r
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("Request '{id}' needs a 'url'.")))?;
        if url.contains("://") {
            return Err(bad(format!(
                "Request '{id}': batch URLs must be relative to the version root, e.g. '/me'."
            )));
        }
        // Graph takes URLs as written in the JSON (its own examples carry spaces in
        // `$filter`), so characters a URI cannot hold are percent-encoded here.
        let url = utf8_percent_encode(url, NOT_IN_URI).to_string();
        let url = if url.starts_with('/') {
            url
        } else {
            format!("/{url}")
        };
        let mut headers = Vec::new();
        let mut has_content_type = false;
        if let Some(h) = r.get("headers") {
            let h = h
                .as_object()
                .ok_or_else(|| bad(format!("Request '{id}': 'headers' must be an object.")))?;
            for (name, value) in h {
                let value = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| bad(format!("Request '{id}': invalid header name '{name}'.")))?;
                if name == header::AUTHORIZATION || name == header::HOST {
                    continue;
                }
                if name == header::CONTENT_TYPE {
                    has_content_type = true;
                }
                let value = HeaderValue::from_str(&value).map_err(|_| {
                    bad(format!(
                        "Request '{id}': invalid value for header '{name}'."
                    ))
                })?;
                headers.push((name, value));
            }
        }
        let body = match r.get("body") {
            None | Some(Value::Null) => None,
            Some(b) => {
                if !has_content_type {
                    return Err(bad(format!(
                        "Request '{id}': a Content-Type header is required when a body is given."
                    )));
                }
                Some(match b {
                    Value::String(s) => s.clone().into_bytes(),
                    other => serde_json::to_vec(other).unwrap_or_default(),
                })
            }
        };
        let mut depends_on = Vec::new();
        if let Some(d) = r.get("dependsOn") {
            let d = d
                .as_array()
                .ok_or_else(|| bad(format!("Request '{id}': 'dependsOn' must be an array.")))?;
            for dep in d {
                let dep = match dep {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return Err(bad(format!("Request '{id}': bad 'dependsOn' entry."))),
                };
                let idx = ids
                    .iter()
                    .position(|i| *i == dep)
                    .filter(|i| ids[*i] != *id)
                    .ok_or_else(|| {
                        bad(format!(
                            "Request '{id}' depends on unknown request '{dep}'."
                        ))
                    })?;
                depends_on.push(idx);
            }
        }
        steps.push(Step {
            id: id.clone(),
            method,
            url,
            headers,
            body,
            depends_on,
        });
    }
    Ok(steps)
}

/// An inner response as the batch answer carries it.
struct Answer {
    status: StatusCode,
    json: Value,
}

fn failed_dependency(id: &str, ids: &RequestIds) -> Answer {
    let error = GraphError::new(
        StatusCode::FAILED_DEPENDENCY,
        "FailedDependency",
        "A dependent request of this request failed, so this request was not run.",
    );
    Answer {
        status: StatusCode::FAILED_DEPENDENCY,
        json: json!({
            "id": id,
            "status": 424,
            "headers": { "Content-Type": "application/json" },
            "body": error.body(&ids.request_id, ids.client_request_id.as_deref()),
        }),
    }
}

async fn run(inner: &Router, auth: Option<&HeaderValue>, step: &Step, ids: &RequestIds) -> Answer {
    let mut builder = Request::builder()
        .method(step.method.clone())
        .uri(&step.url);
    if let Some(auth) = auth {
        builder = builder.header(header::AUTHORIZATION, auth.clone());
    }
    for (name, value) in &step.headers {
        builder = builder.header(name, value.clone());
    }
    let request = match builder.body(Body::from(step.body.clone().unwrap_or_default())) {
        Ok(r) => r,
        Err(_) => {
            let response = bad(format!("Invalid URL '{}'.", step.url)).into_response();
            return answer(&step.id, response, ids).await;
        }
    };
    let response = match inner.clone().oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    answer(&step.id, response, ids).await
}

async fn answer(id: &str, response: Response, ids: &RequestIds) -> Answer {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_INNER_BODY)
        .await
        .unwrap_or_default();
    let mut headers = Map::new();
    let mut json_content = false;
    for (name, value) in &parts.headers {
        if name == header::CONTENT_LENGTH {
            continue;
        }
        if let Ok(v) = value.to_str() {
            if name == header::CONTENT_TYPE && v.contains("json") {
                json_content = true;
            }
            let pretty = match name.as_str() {
                "content-type" => "Content-Type".to_owned(),
                "retry-after" => "Retry-After".to_owned(),
                "location" => "Location".to_owned(),
                other => other.to_owned(),
            };
            headers.insert(pretty, Value::String(v.to_owned()));
        }
    }
    let mut out = json!({ "id": id, "status": parts.status.as_u16(), "headers": headers });
    if !bytes.is_empty() {
        out["body"] = if json_content && parts.extensions.get::<ErrorMarker>().is_none() {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        } else if json_content {
            // Only error bodies carry the id placeholder; message content is left alone.
            let text = String::from_utf8_lossy(&bytes)
                .replace(
                    &format!("\"client-request-id\":\"{PLACEHOLDER_REQUEST_ID}\""),
                    &format!(
                        "\"client-request-id\":{}",
                        serde_json::to_string(
                            ids.client_request_id.as_deref().unwrap_or(&ids.request_id)
                        )
                        .unwrap_or_default()
                    ),
                )
                .replace(PLACEHOLDER_REQUEST_ID, &ids.request_id);
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        } else {
            Value::String(base64::engine::general_purpose::STANDARD.encode(&bytes))
        };
    }
    Answer {
        status: parts.status,
        json: out,
    }
}

/// `POST /$batch`.
pub(crate) async fn handle(
    State(state): State<AppState>,
    inner: Router,
    headers: HeaderMap,
    ids: Option<Extension<RequestIds>>,
    body: Bytes,
) -> Result<Response, GraphError> {
    crate::entra::authenticate(&state, &headers)?;
    let ids = ids.map(|Extension(i)| i).unwrap_or_else(|| RequestIds {
        request_id: uuid::Uuid::new_v4().to_string(),
        client_request_id: None,
    });
    let value: Value = json_body(&headers, &body)?;
    let steps = parse(value)?;
    // Kahn's algorithm: waves of steps whose dependencies are done; a cycle is a 400.
    let n = steps.len();
    let mut done: Vec<Option<Answer>> = (0..n).map(|_| None).collect();
    let auth = headers.get(header::AUTHORIZATION);
    loop {
        let ready: Vec<usize> = (0..n)
            .filter(|&i| {
                done[i].is_none() && steps[i].depends_on.iter().all(|&d| done[d].is_some())
            })
            .collect();
        if ready.is_empty() {
            break;
        }
        let mut runs = Vec::new();
        for &i in &ready {
            let dep_failed = steps[i]
                .depends_on
                .iter()
                .any(|&d| done[d].as_ref().is_some_and(|a| !a.status.is_success()));
            if dep_failed {
                done[i] = Some(failed_dependency(&steps[i].id, &ids));
            } else {
                runs.push(i);
            }
        }
        let answers =
            futures::future::join_all(runs.iter().map(|&i| run(&inner, auth, &steps[i], &ids)))
                .await;
        for (i, a) in runs.into_iter().zip(answers) {
            done[i] = Some(a);
        }
    }
    if done.iter().any(Option::is_none) {
        return Err(bad(
            "Invalid batch payload: the dependsOn chains form a cycle.",
        ));
    }
    let mut answers: Vec<(u64, Value)> = done
        .into_iter()
        .zip(&steps)
        .map(|(a, s)| (bind(&[&s.id]), a.map(|a| a.json).unwrap_or(Value::Null)))
        .collect();
    // Graph answers in any order; a fixed shuffle keeps clients honest and tests repeatable.
    answers.sort_by_key(|(k, _)| *k);
    let responses: Vec<Value> = answers.into_iter().map(|(_, v)| v).collect();
    Ok(json_value(
        StatusCode::OK,
        &json!({ "responses": responses }),
    ))
}
