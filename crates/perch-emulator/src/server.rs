//! The HTTP server: our own accept loop over hyper, so that a fault can drop a connection
//! without answering (a reset, or "accept the write, then hang up"), and the router that puts
//! Entra, Graph and the admin API behind one origin. Also the layer that gives every response
//! `request-id`, the echoed `client-request-id` and `Date`.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Response};
use axum::middleware::{self, Next};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use crate::error::{ErrorMarker, RequestIds, PLACEHOLDER_REQUEST_ID};
use crate::state::AppState;
use crate::{admin, entra, faults, graph};

/// Lets a handler or layer drop the connection its request came on, without an answer.
#[derive(Debug, Clone)]
pub struct ConnectionControl(CancellationToken);

impl ConnectionControl {
    /// Closes the connection as soon as the current handler returns (or at once, if it waits).
    pub fn drop_connection(&self) {
        self.0.cancel();
    }
}

/// The whole application: Entra under `/{tenant}/oauth2/v2.0/…`, Graph under `/v1.0/…`, the
/// admin API under `/_emulator/…`, all behind the fault and header layers.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/v1.0", graph::routes(state.clone()))
        .nest("/_emulator", admin::routes(state.clone()))
        .merge(entra::routes(state.clone()))
        .fallback(|| async {
            crate::error::GraphError::bad_request(
                "Invalid request: unknown segment in the request URL.",
            )
        })
        .layer(middleware::from_fn_with_state(state.clone(), faults::layer))
        .layer(middleware::from_fn(headers_layer))
}

/// Accepts connections until `shutdown` is cancelled. Each connection gets its own
/// [`ConnectionControl`] in every request's extensions.
pub async fn serve(listener: TcpListener, app: Router, shutdown: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let kill = CancellationToken::new();
        let control = ConnectionControl(kill.clone());
        let app = app.clone();
        let service = tower::service_fn(move |mut request: Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(control.clone());
            let app = app.clone();
            async move {
                let response = app.oneshot(request.map(Body::new)).await;
                Ok::<_, Infallible>(match response {
                    Ok(response) => response,
                    Err(never) => match never {},
                })
            }
        });
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let connection =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            tokio::select! {
                _ = connection => {}
                // Dropping the connection future closes the socket without an answer.
                _ = kill.cancelled() => {}
                _ = shutdown.cancelled() => {}
            }
        });
    }
}

/// Adds `request-id`, echoes `client-request-id`, sets `Date`, and fills request ids into the
/// `innerError` of error bodies.
async fn headers_layer(mut request: Request, next: Next) -> Response<Body> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = request
        .headers()
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    request.extensions_mut().insert(RequestIds {
        request_id: request_id.clone(),
        client_request_id: client_request_id.clone(),
    });
    let mut response = next.run(request).await;
    if response.extensions().get::<ErrorMarker>().is_some() {
        response = fill_error_ids(response, &request_id, client_request_id.as_deref()).await;
    }
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("request-id", value);
    }
    if let Some(value) = client_request_id.and_then(|v| HeaderValue::from_str(&v).ok()) {
        headers.insert("client-request-id", value);
    }
    if let Ok(value) = HeaderValue::from_str(&httpdate(std::time::SystemTime::now())) {
        headers.insert(axum::http::header::DATE, value);
    }
    response
}

async fn fill_error_ids(
    response: Response<Body>,
    request_id: &str,
    client_request_id: Option<&str>,
) -> Response<Body> {
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let text = String::from_utf8_lossy(&bytes);
    let filled = text
        .replacen(
            &format!("\"client-request-id\":\"{PLACEHOLDER_REQUEST_ID}\""),
            &format!(
                "\"client-request-id\":{}",
                serde_json::to_string(client_request_id.unwrap_or(request_id)).unwrap_or_default()
            ),
            1,
        )
        .replacen(
            &format!("\"request-id\":\"{PLACEHOLDER_REQUEST_ID}\""),
            &format!("\"request-id\":\"{request_id}\""),
            1,
        );
    let mut parts = parts;
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(filled))
}

/// An RFC 7231 IMF-fixdate.
pub fn httpdate(time: std::time::SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = time.into();
    dt.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}
