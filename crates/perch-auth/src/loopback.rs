//! The RFC 8252 loopback redirect listener. It binds `127.0.0.1` (never `0.0.0.0`, never
//! `[::1]`, which Entra does not support) on an ephemeral port, serves exactly one path (`/`,
//! since we send `http://localhost:{port}/`), and ends at the first redirect that carries a
//! `code` or an `error`: the browser gets a small page saying the tab can be closed (or what
//! went wrong), and the port is freed when [`LoopbackListener::wait`] returns. Anything else
//! (other paths, `favicon.ico`, other methods, a foreign `Host` header, a peer that is not
//! loopback) is answered with an error status and ignored.
//!
//! The listener checks `state` itself, so a mismatched redirect never reaches the token
//! endpoint.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::AuthError;
use crate::secret::Secret;

/// Longest request head we read.
const MAX_REQUEST: usize = 16 * 1024;
/// How long one connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A bound redirect listener.
#[derive(Debug)]
pub struct LoopbackListener {
    listener: TcpListener,
    port: u16,
}

impl LoopbackListener {
    /// Binds `127.0.0.1:port` (0 picks a free port).
    pub async fn bind(port: u16) -> Result<LoopbackListener, AuthError> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| AuthError::Listener {
                addr: addr.to_string(),
                source,
            })?;
        let port = listener
            .local_addr()
            .map_err(|source| AuthError::Listener {
                addr: addr.to_string(),
                source,
            })?
            .port();
        Ok(LoopbackListener { listener, port })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://localhost:{port}/`, the redirect URI to send (Entra ignores the port when
    /// matching loopback URIs).
    pub fn redirect_uri(&self) -> String {
        format!("http://localhost:{}/", self.port)
    }

    /// Waits for the redirect and returns the authorization code; fails on `error=…`, a state
    /// mismatch, the timeout, or cancellation. Consumes the listener, so the port is freed.
    pub async fn wait(
        self,
        expected_state: &Secret,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<Secret, AuthError> {
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let (tx, mut rx) = mpsc::channel::<Result<Secret, AuthError>>(4);
        let port = self.port;
        loop {
            tokio::select! {
                _ = &mut deadline => {
                    return Err(AuthError::Timeout { seconds: timeout.as_secs() });
                }
                _ = cancel.cancelled() => return Err(AuthError::Cancelled),
                Some(outcome) = rx.recv() => return outcome,
                accepted = self.listener.accept() => {
                    let Ok((stream, peer)) = accepted else { continue };
                    if !peer.ip().is_loopback() {
                        tracing::warn!(%peer, "refused a non-loopback connection to the redirect listener");
                        continue;
                    }
                    let tx = tx.clone();
                    let state = expected_state.clone();
                    tokio::spawn(async move {
                        if let Some(outcome) = serve(stream, port, &state).await {
                            let _ = tx.send(outcome).await;
                        }
                    });
                }
            }
        }
    }
}

/// Handles one connection; `Some` when it was the redirect.
async fn serve(
    mut stream: TcpStream,
    port: u16,
    expected_state: &Secret,
) -> Option<Result<Secret, AuthError>> {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Some(head)) => head,
        _ => return None,
    };
    let (status, page, outcome) = route(&head, port, expected_state);
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{page}",
        page.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
    outcome
}

async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.truncate(end);
            return String::from_utf8(buf).ok();
        }
        if buf.len() > MAX_REQUEST {
            return None;
        }
    }
}

type Routed = (&'static str, String, Option<Result<Secret, AuthError>>);

fn route(head: &str, port: u16, expected_state: &Secret) -> Routed {
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let host_ok = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.trim().to_ascii_lowercase())
        .is_some_and(|host| {
            host == format!("localhost:{port}") || host == format!("127.0.0.1:{port}")
        });
    if !host_ok {
        // A page on another origin resolving its name to 127.0.0.1 (DNS rebinding), or a
        // malformed request.
        return (
            "400 Bad Request",
            page("Bad request", "This address only serves Perch's sign-in."),
            None,
        );
    }
    if method != "GET" {
        return (
            "405 Method Not Allowed",
            page("Not allowed", "This address only serves Perch's sign-in."),
            None,
        );
    }
    let Ok(url) = url::Url::parse(&format!("http://localhost:{port}{target}")) else {
        return (
            "400 Bad Request",
            page("Bad request", "Malformed address."),
            None,
        );
    };
    if url.path() != "/" {
        return (
            "404 Not Found",
            page("Not found", "This address only serves Perch's sign-in."),
            None,
        );
    }
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let state_ok = param("state").is_some_and(|s| Secret::new(s).same_as(expected_state));
    if let Some(error) = param("error") {
        let description = param("error_description").unwrap_or_default();
        if !state_ok {
            return mismatch();
        }
        let shown = format!("{error}: {description}");
        // Classified by the flow, which knows the organisation (for the admin-consent URL).
        let err = AuthError::Authorize { error, description };
        return (
            "200 OK",
            page(
                "Sign-in did not complete",
                &format!("{shown}. You can close this tab and return to Perch."),
            ),
            Some(Err(err)),
        );
    }
    let Some(code) = param("code") else {
        return (
            "400 Bad Request",
            page("Bad request", "The sign-in response has no code."),
            None,
        );
    };
    if !state_ok {
        return mismatch();
    }
    (
        "200 OK",
        page(
            "Signed in",
            "You are signed in to Perch. You can close this tab.",
        ),
        Some(Ok(Secret::new(code))),
    )
}

fn mismatch() -> Routed {
    (
        "400 Bad Request",
        page(
            "Sign-in failed",
            "This sign-in response does not belong to the sign-in Perch started. Close this tab and try again from Perch.",
        ),
        Some(Err(AuthError::StateMismatch)),
    )
}

fn page(title: &str, text: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Perch: {t}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{t}</h1><p>{x}</p></body></html>",
        t = escape(title),
        x = escape(text)
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> Secret {
        Secret::new("s1")
    }

    #[test]
    fn routing() {
        let get = |target: &str| format!("GET {target} HTTP/1.1\r\nHost: localhost:5000");
        let (s, _, o) = route(&get("/?code=abc&state=s1"), 5000, &state());
        assert_eq!(s, "200 OK");
        assert_eq!(o.unwrap().unwrap().expose(), "abc");
        let (_, _, o) = route(&get("/?code=abc&state=evil"), 5000, &state());
        assert!(matches!(o, Some(Err(AuthError::StateMismatch))));
        let (_, _, o) = route(&get("/?code=abc"), 5000, &state());
        assert!(matches!(o, Some(Err(AuthError::StateMismatch))));
        let (_, _, o) = route(
            &get("/?error=access_denied&error_description=no&state=s1"),
            5000,
            &state(),
        );
        assert!(matches!(o, Some(Err(AuthError::Authorize { .. }))));
        let (s, _, o) = route(&get("/favicon.ico"), 5000, &state());
        assert_eq!((s, o.is_none()), ("404 Not Found", true));
        let (s, _, o) = route(&get("/callback?code=abc&state=s1"), 5000, &state());
        assert_eq!((s, o.is_none()), ("404 Not Found", true));
        let (s, _, o) = route(
            "GET /?code=a&state=s1 HTTP/1.1\r\nHost: evil.example:5000",
            5000,
            &state(),
        );
        assert_eq!((s, o.is_none()), ("400 Bad Request", true));
        let (s, _, o) = route(
            "POST /?code=a&state=s1 HTTP/1.1\r\nHost: 127.0.0.1:5000",
            5000,
            &state(),
        );
        assert_eq!((s, o.is_none()), ("405 Method Not Allowed", true));
        let (_, p, _) = route(
            &get("/?error=x&error_description=%3Cscript%3E&state=s1"),
            5000,
            &state(),
        );
        assert!(!p.contains("<script>"));
    }
}
