//! [`GraphClient`]: the typed Teams endpoints over one HTTP pool, and the one request loop
//! every call goes through: budget tokens taken right before sending, a `client-request-id`,
//! the bearer token from the [`TokenSource`] (one refresh on 401), classification of the
//! answer, pauses on `Retry-After`, backoff, and the mapping to [`GraphError`].
//!
//! Request ids: one uuid v4 per call, sent as `client-request-id` on every attempt of that call
//! (so Graph's logs tie the retries together), and logged at debug with the method, the path
//! (never the query: paging and delta tokens stay out of logs), status, attempt and time.
//!
//! Writes: edits, (un)deletes and reactions are idempotent and retried like reads. A POST of a
//! message or reply is retried only when Graph cannot have taken it (429, 503, a failed
//! connect, a 401 before the refresh); otherwise (a dropped connection after sending, 500,
//! 502, 504, an unreadable 201) the call ends with [`GraphError::WriteUnconfirmed`], because
//! posting again blindly could post twice.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use chrono::SecondsFormat;
use perch_auth::Secret;
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::budget::{Budgets, Limiter, ScopeStats};
use crate::dto::{
    Channel, ChatMessage, DeltaNext, DeltaPage, DeltaRequest, HostedContentRef, Member, NewMessage,
    Page, PageRequest, RawPage, Team, User,
};
use crate::error::{for_status, ErrorBody, ErrorContext, GraphError};
use crate::retry::{classify, parse_retry_after, Attempt, RetryPolicy, Verdict};
use crate::tokens::TokenSource;
use crate::urls::{query_value, seg, Base};

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("Perch/", env!("CARGO_PKG_VERSION"), " (perch-graph)");

/// Graph's page size limit for messages, replies and delta.
const MAX_TOP: u32 = 50;
/// After waiting this long for budget tokens, the bearer token is fetched again (the token
/// source refreshes tokens a few minutes before they expire).
const TOKEN_STALE_AFTER: Duration = Duration::from_secs(60);
/// A list that keeps handing out nextLinks beyond this many pages is broken.
const MAX_PAGES: usize = 10_000;

/// How the client is set up.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://graph.microsoft.com` (or the cloud's Graph host, or the emulator's
    /// `http://127.0.0.1:PORT`), without `/v1.0`.
    pub graph_base: String,
    /// Request rates per scope.
    pub budgets: Budgets,
    /// Retries.
    pub retry: RetryPolicy,
    /// Per attempt, connect to last body byte.
    pub timeout: Duration,
    /// The managed policy's proxy URL (loopback is never proxied); `None`: reqwest's defaults.
    pub proxy: Option<String>,
}

impl ClientConfig {
    /// Defaults for `graph_base`: [`Budgets::default`], [`RetryPolicy::default`], 30 s.
    pub fn new(graph_base: impl Into<String>) -> ClientConfig {
        ClientConfig {
            graph_base: graph_base.into(),
            budgets: Budgets::default(),
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
            proxy: None,
        }
    }
}

/// Counters for status displays and benchmarks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientStats {
    /// Requests sent: every HTTP request, plus each `$batch` inner request.
    pub requests: u64,
    /// `$batch` envelopes sent.
    pub batches: u64,
    /// Inner requests sent in them (included in `requests`).
    pub batch_inner: u64,
    /// 429s received (inner ones included).
    pub throttled: u64,
    /// Attempts beyond the first (inner re-sends included).
    pub retries: u64,
    /// Token refreshes after a 401.
    pub refreshes: u64,
    /// Per budget scope (`channel:{team}/{channel}`, `tenant-get`, …).
    pub scopes: BTreeMap<String, ScopeStats>,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub requests: AtomicU64,
    pub batches: AtomicU64,
    pub batch_inner: AtomicU64,
    pub throttled: AtomicU64,
    pub retries: AtomicU64,
    pub refreshes: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// The Microsoft Graph client of one account. Cheap to clone; clones share the HTTP pool,
/// the budgets and their pauses, and the counters.
#[derive(Clone)]
pub struct GraphClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub http: reqwest::Client,
    pub base: Base,
    pub tokens: Arc<dyn TokenSource>,
    pub limiter: Arc<Limiter>,
    pub retry: RetryPolicy,
    pub counters: Counters,
    pub cancel: CancellationToken,
}

impl fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClient")
            .field("graph_base", &self.inner.base.as_str())
            .field("limiter", &self.inner.limiter)
            .finish_non_exhaustive()
    }
}

/// Whether a request may be repeated after an unclear outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Safety {
    /// Reads and idempotent writes.
    Repeatable,
    /// POST of a message or reply.
    Post,
}

/// One logical call.
pub(crate) struct Call {
    pub method: Method,
    pub url: Url,
    pub body: Option<Bytes>,
    pub context: ErrorContext,
    pub safety: Safety,
}

/// An HTTP answer.
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        self.headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()))
    }
}

/// What a reqwest failure was, without its URL (the query may hold tokens).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off"
    } else {
        "the connection failed"
    };
    let mut detail = kind.to_owned();
    let mut source = std::error::Error::source(e);
    let mut last = String::new();
    while let Some(s) = source {
        let text = s.to_string();
        if text != last && !detail.ends_with(&text) {
            detail.push_str(": ");
            detail.push_str(&text);
        }
        last = text;
        source = s.source();
    }
    detail
}

fn parse_json<T: serde::de::DeserializeOwned>(answer: &Answer) -> Result<T, String> {
    serde_json::from_slice(&answer.body).map_err(|e| {
        let looks_html = answer.body.trim_ascii_start().starts_with(b"<");
        if looks_html {
            format!("an HTML page instead of JSON (HTTP {})", answer.status)
        } else {
            format!("invalid JSON ({e})")
        }
    })
}

impl GraphClient {
    /// A client for `config.graph_base` that gets its tokens from `tokens`.
    pub fn new(
        config: ClientConfig,
        tokens: Arc<dyn TokenSource>,
    ) -> Result<GraphClient, GraphError> {
        let base = Base::parse(&config.graph_base)?;
        let builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(15)));
        let http = perch_auth::proxied(builder, config.proxy.as_deref())
            .and_then(|b| b.build())
            .map_err(|e| GraphError::Config {
                detail: format!("the HTTP client could not be built ({e})"),
            })?;
        Ok(GraphClient {
            inner: Arc::new(Inner {
                http,
                base,
                tokens,
                limiter: Limiter::new(config.budgets),
                retry: config.retry,
                counters: Counters::default(),
                cancel: CancellationToken::new(),
            }),
        })
    }

    /// The Graph base this client talks to (as configured, without a trailing `/`).
    pub fn graph_base(&self) -> &str {
        self.inner.base.as_str()
    }

    /// Stops this client and its clones: calls in progress and later calls end with
    /// [`GraphError::Cancelled`] (for sign-out and shutdown).
    pub fn shutdown(&self) {
        self.inner.cancel.cancel();
    }

    /// `GET /me`.
    pub async fn me(&self) -> Result<User, GraphError> {
        let url = self.inner.base.api("/me")?;
        self.get_json(url, ErrorContext::Plain).await
    }

    /// `GET /me/joinedTeams`, following nextLinks.
    pub async fn joined_teams(&self) -> Result<Vec<Team>, GraphError> {
        let url = self.inner.base.api("/me/joinedTeams")?;
        self.get_all(url).await
    }

    /// `GET /teams/{t}/allChannels` (standard, private and shared), following nextLinks.
    pub async fn channels(&self, team_id: &str) -> Result<Vec<Channel>, GraphError> {
        let url = self
            .inner
            .base
            .api(&format!("/teams/{}/allChannels", seg(team_id)))?;
        self.get_all(url).await
    }

    /// `GET /teams/{t}/channels/{c}/members`, following nextLinks.
    pub async fn channel_members(
        &self,
        team_id: &str,
        channel_id: &str,
    ) -> Result<Vec<Member>, GraphError> {
        let url = self.inner.base.api(&format!(
            "/teams/{}/channels/{}/members",
            seg(team_id),
            seg(channel_id)
        ))?;
        self.get_all(url).await
    }

    /// One delta page. First request: [`DeltaRequest::Start`] (`$filter=lastModifiedDateTime
    /// gt {since}`, `$top`, `$expand=replies`); then [`DeltaRequest::Link`] with the nextLink
    /// or deltaLink, verbatim. An expired or unknown token is [`GraphError::DeltaExpired`].
    pub async fn delta_page(
        &self,
        team_id: &str,
        channel_id: &str,
        req: &DeltaRequest,
    ) -> Result<DeltaPage, GraphError> {
        let (url, context) = match req {
            DeltaRequest::Start {
                since,
                top,
                expand_replies,
            } => {
                let filter = format!(
                    "lastModifiedDateTime gt {}",
                    since.to_rfc3339_opts(SecondsFormat::Millis, true)
                );
                let mut path = format!(
                    "/teams/{}/channels/{}/messages/delta?$filter={}&$top={}",
                    seg(team_id),
                    seg(channel_id),
                    query_value(&filter),
                    (*top).clamp(1, MAX_TOP)
                );
                if *expand_replies {
                    path.push_str("&$expand=replies");
                }
                (self.inner.base.api(&path)?, ErrorContext::DeltaStart)
            }
            DeltaRequest::Link(link) => {
                (self.inner.base.check_link(link)?, ErrorContext::DeltaLink)
            }
        };
        let call = Call {
            method: Method::GET,
            url,
            body: None,
            context,
            safety: Safety::Repeatable,
        };
        self.execute(&call, |answer| {
            let page: RawPage<ChatMessage> = parse_json(answer)?;
            let next = match (page.next_link, page.delta_link) {
                (Some(next), _) => DeltaNext::Next(next),
                (None, Some(delta)) => DeltaNext::Done(delta),
                (None, None) => {
                    return Err("a delta page with neither nextLink nor deltaLink".to_owned())
                }
            };
            Ok(DeltaPage {
                messages: page.value,
                next,
            })
        })
        .await
    }

    /// Root posts, newest first, for older history: [`PageRequest::First`] or
    /// [`PageRequest::Link`] (a nextLink, verbatim).
    pub async fn messages_page(
        &self,
        team_id: &str,
        channel_id: &str,
        req: &PageRequest,
    ) -> Result<Page<ChatMessage>, GraphError> {
        let url = match req {
            PageRequest::First {
                top,
                expand_replies,
            } => {
                let mut path = format!(
                    "/teams/{}/channels/{}/messages?$top={}",
                    seg(team_id),
                    seg(channel_id),
                    (*top).clamp(1, MAX_TOP)
                );
                if *expand_replies {
                    path.push_str("&$expand=replies");
                }
                self.inner.base.api(&path)?
            }
            PageRequest::Link(link) => self.inner.base.check_link(link)?,
        };
        self.get_page(url).await
    }

    /// Replies of a thread (newest first): [`PageRequest::First`] (`expand_replies` is
    /// ignored) or [`PageRequest::Link`] (a nextLink or a root's `replies@odata.nextLink`).
    pub async fn replies_page(
        &self,
        team_id: &str,
        channel_id: &str,
        message_id: &str,
        req: &PageRequest,
    ) -> Result<Page<ChatMessage>, GraphError> {
        let url = match req {
            PageRequest::First { top, .. } => self.inner.base.api(&format!(
                "/teams/{}/channels/{}/messages/{}/replies?$top={}",
                seg(team_id),
                seg(channel_id),
                seg(message_id),
                (*top).clamp(1, MAX_TOP)
            ))?,
            PageRequest::Link(link) => self.inner.base.check_link(link)?,
        };
        self.get_page(url).await
    }

    /// One root post (`root_id: None`) or reply, as it is now (a write's result, for the cache).
    pub async fn message(
        &self,
        team_id: &str,
        channel_id: &str,
        root_id: Option<&str>,
        id: &str,
    ) -> Result<ChatMessage, GraphError> {
        let url = self
            .inner
            .base
            .api(&message_path(team_id, channel_id, root_id, id))?;
        self.get_json(url, ErrorContext::Plain).await
    }

    /// The address of a hosted-content image (`…/hostedContents/{h}/$value`) on the configured
    /// Graph host: what the image's bytes are fetched from, and what a message body edited by
    /// Perch refers to the image by.
    pub fn hosted_content_url(&self, r: &HostedContentRef) -> Result<Url, GraphError> {
        let target = message_path(
            &r.team_id,
            &r.channel_id,
            Some(&r.message_id),
            r.reply_id.as_deref().unwrap_or(&r.message_id),
        );
        self.inner.base.api(&format!(
            "{target}/hostedContents/{}/$value",
            seg(&r.hosted_content_id)
        ))
    }

    /// The bytes of a hosted-content image (`…/hostedContents/{h}/$value`).
    pub async fn hosted_content(&self, r: &HostedContentRef) -> Result<Bytes, GraphError> {
        let url = self.hosted_content_url(r)?;
        let call = Call {
            method: Method::GET,
            url,
            body: None,
            context: ErrorContext::Plain,
            safety: Safety::Repeatable,
        };
        // Media bytes never come as JSON or HTML: such an answer is an error page or garbage
        // from something between us and Graph.
        self.execute(&call, |answer| {
            let kind = answer
                .headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_ascii_lowercase();
            if kind.contains("json") || kind.contains("html") {
                Err(format!("a {kind} answer instead of the image bytes"))
            } else {
                Ok(answer.body.clone())
            }
        })
        .await
    }

    /// Posts a root message; 201 with the message. See the module docs for retries.
    pub async fn post_message(
        &self,
        team_id: &str,
        channel_id: &str,
        body: &NewMessage,
    ) -> Result<ChatMessage, GraphError> {
        let url = self.inner.base.api(&format!(
            "/teams/{}/channels/{}/messages",
            seg(team_id),
            seg(channel_id)
        ))?;
        self.post_json(url, body.to_json()).await
    }

    /// Posts a reply to `root_id`; 201 with the reply. See the module docs for retries.
    pub async fn post_reply(
        &self,
        team_id: &str,
        channel_id: &str,
        root_id: &str,
        body: &NewMessage,
    ) -> Result<ChatMessage, GraphError> {
        let url = self.inner.base.api(&format!(
            "/teams/{}/channels/{}/messages/{}/replies",
            seg(team_id),
            seg(channel_id),
            seg(root_id)
        ))?;
        self.post_json(url, body.to_json()).await
    }

    /// Replaces the body (and subject, importance, mentions) of one's own root post
    /// (`root_id: None`) or reply.
    pub async fn edit_message(
        &self,
        team_id: &str,
        channel_id: &str,
        root_id: Option<&str>,
        id: &str,
        body: &NewMessage,
    ) -> Result<(), GraphError> {
        let target = message_path(team_id, channel_id, root_id, id);
        self.write(Method::PATCH, &target, Some(body.to_json()))
            .await
    }

    /// Soft-deletes a root post (`root_id: None`) or reply.
    pub async fn soft_delete(
        &self,
        team_id: &str,
        channel_id: &str,
        root_id: Option<&str>,
        id: &str,
    ) -> Result<(), GraphError> {
        let target = message_path(team_id, channel_id, root_id, id);
        self.write(Method::POST, &format!("{target}/softDelete"), None)
            .await
    }

    /// Undoes a soft delete.
    pub async fn undo_soft_delete(
        &self,
        team_id: &str,
        channel_id: &str,
        root_id: Option<&str>,
        id: &str,
    ) -> Result<(), GraphError> {
        let target = message_path(team_id, channel_id, root_id, id);
        self.write(Method::POST, &format!("{target}/undoSoftDelete"), None)
            .await
    }

    /// Adds the signed-in user's reaction (`like`, an emoji, …).
    pub async fn set_reaction(
        &self,
        team_id: &str,
        channel_id: &str,
        root_id: Option<&str>,
        id: &str,
        reaction: &str,
    ) -> Result<(), GraphError> {
        let target = message_path(team_id, channel_id, root_id, id);
        let body = serde_json::json!({ "reactionType": reaction }).to_string();
        self.write(
            Method::POST,
            &format!("{target}/setReaction"),
            Some(body.into_bytes()),
        )
        .await
    }

    /// Removes the signed-in user's reaction.
    pub async fn unset_reaction(
        &self,
        team_id: &str,
        channel_id: &str,
        root_id: Option<&str>,
        id: &str,
        reaction: &str,
    ) -> Result<(), GraphError> {
        let target = message_path(team_id, channel_id, root_id, id);
        let body = serde_json::json!({ "reactionType": reaction }).to_string();
        self.write(
            Method::POST,
            &format!("{target}/unsetReaction"),
            Some(body.into_bytes()),
        )
        .await
    }

    /// The latest pause end among budget scopes still paused by a `Retry-After`.
    pub fn throttled_until(&self) -> Option<SystemTime> {
        self.inner.limiter.throttled_until()
    }

    /// Watches [`GraphClient::throttled_until`]: `Some(until)` when a pause starts or is
    /// extended, `None` when the last one ends.
    pub fn throttle_watch(&self) -> tokio::sync::watch::Receiver<Option<SystemTime>> {
        self.inner.limiter.subscribe()
    }

    /// Counters.
    pub fn stats(&self) -> ClientStats {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ClientStats {
            requests: get(&c.requests),
            batches: get(&c.batches),
            batch_inner: get(&c.batch_inner),
            throttled: get(&c.throttled),
            retries: get(&c.retries),
            refreshes: get(&c.refreshes),
            scopes: self.inner.limiter.stats(),
        }
    }

    // -----------------------------------------------------------------------------------------

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        context: ErrorContext,
    ) -> Result<T, GraphError> {
        let call = Call {
            method: Method::GET,
            url,
            body: None,
            context,
            safety: Safety::Repeatable,
        };
        self.execute(&call, parse_json).await
    }

    async fn get_page<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<Page<T>, GraphError> {
        let page: RawPage<T> = self.get_json(url, ErrorContext::Plain).await?;
        Ok(Page {
            value: page.value,
            next_link: page.next_link,
        })
    }

    /// Every page of a list, from `url` on.
    pub(crate) async fn get_all<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<Vec<T>, GraphError> {
        let mut out = Vec::new();
        let mut url = url;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            let page: RawPage<T> = self.get_json(url, ErrorContext::Plain).await?;
            out.extend(page.value);
            match page.next_link {
                None => return Ok(out),
                Some(next) => {
                    if !seen.insert(next.clone()) {
                        return Err(GraphError::Malformed {
                            detail: "a list repeats its nextLink".into(),
                        });
                    }
                    url = self.inner.base.check_link(&next)?;
                }
            }
        }
        Err(GraphError::Malformed {
            detail: format!("a list goes on for more than {MAX_PAGES} pages"),
        })
    }

    async fn post_json(&self, url: Url, body: Vec<u8>) -> Result<ChatMessage, GraphError> {
        let call = Call {
            method: Method::POST,
            url,
            body: Some(Bytes::from(body)),
            context: ErrorContext::Plain,
            safety: Safety::Post,
        };
        self.execute(&call, parse_json).await
    }

    async fn write(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(), GraphError> {
        let call = Call {
            method,
            url: self.inner.base.api(path)?,
            body: body.map(Bytes::from),
            context: ErrorContext::Plain,
            safety: Safety::Repeatable,
        };
        // 204, or a 200 with a JSON body; anything else (a proxy's page, garbage) did not come
        // from Graph's handler, so the write is not known to have happened.
        self.execute(&call, |answer| {
            if answer.body.trim_ascii().is_empty() {
                Ok(())
            } else {
                parse_json::<serde::de::IgnoredAny>(answer).map(|_| ())
            }
        })
        .await
    }

    /// Runs one call to the end (see the module docs), unless the client is shut down.
    pub(crate) async fn execute<T>(
        &self,
        call: &Call,
        parse: impl Fn(&Answer) -> Result<T, String>,
    ) -> Result<T, GraphError> {
        tokio::select! {
            biased;
            _ = self.inner.cancel.cancelled() => Err(GraphError::Cancelled),
            result = self.run(call, parse) => result,
        }
    }

    async fn run<T>(
        &self,
        call: &Call,
        parse: impl Fn(&Answer) -> Result<T, String>,
    ) -> Result<T, GraphError> {
        let inner = &self.inner;
        let needs = inner.base.needs(&call.method, &call.url);
        let request_id = uuid::Uuid::new_v4().to_string();
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut refreshed = false;
        let mut fresh_token: Option<Secret> = None;
        loop {
            attempt += 1;
            let mut bearer = match fresh_token.take() {
                Some(token) => token,
                None => inner.tokens.token().await?,
            };
            let permit = self.ready(&needs, &mut bearer).await?;
            Counters::add(&inner.counters.requests, 1);
            let sent = Instant::now();
            let outcome = self.send(call, &bearer, &request_id).await;
            let elapsed_ms = sent.elapsed().as_millis() as u64;
            let (last, retry_after, throttled) = match outcome {
                Err(e) => {
                    let detail = describe(&e);
                    tracing::debug!(method = %call.method, path = call.url.path(), status = "none",
                        elapsed_ms, request_id = %request_id, attempt, error = %detail, "graph request failed");
                    if call.safety == Safety::Post && !e.is_connect() {
                        return Err(GraphError::WriteUnconfirmed { detail });
                    }
                    (GraphError::Network { detail }, None, false)
                }
                Ok(answer) => {
                    let status = answer.status;
                    tracing::debug!(method = %call.method, path = call.url.path(), status,
                        elapsed_ms, request_id = %request_id, attempt, "graph request");
                    let retry_after = answer.retry_after();
                    match classify(Attempt::Status {
                        status,
                        retry_after,
                    }) {
                        Verdict::Success => {
                            inner.limiter.succeeded(permit.scopes());
                            match parse(&answer) {
                                Ok(value) => return Ok(value),
                                Err(detail) => {
                                    tracing::debug!(request_id = %request_id, attempt, %detail, "unreadable answer");
                                    if call.safety == Safety::Post {
                                        return Err(GraphError::WriteUnconfirmed {
                                            detail: format!(
                                                "the answer to the post was unreadable: {detail}"
                                            ),
                                        });
                                    }
                                    (GraphError::Malformed { detail }, None, false)
                                }
                            }
                        }
                        _ if status == 401 && !refreshed => {
                            drop(permit);
                            refreshed = true;
                            Counters::add(&inner.counters.refreshes, 1);
                            fresh_token = Some(inner.tokens.rejected(&bearer).await?);
                            // The retry with the new token is not one of the attempts.
                            attempt -= 1;
                            continue;
                        }
                        Verdict::Transient { retry_after } => {
                            if status == 429 {
                                Counters::add(&inner.counters.throttled, 1);
                            }
                            if let Some(ra) = retry_after {
                                inner.limiter.pause(permit.scopes(), ra, status == 429);
                            }
                            let error = for_status(
                                status,
                                ErrorBody::parse(&answer.body),
                                retry_after,
                                call.context,
                            );
                            if call.safety == Safety::Post && !matches!(status, 429 | 503) {
                                return Err(GraphError::WriteUnconfirmed {
                                    detail: format!("HTTP {status} after the post was sent"),
                                });
                            }
                            (error, retry_after, status == 429 && retry_after.is_none())
                        }
                        Verdict::Permanent => {
                            return Err(for_status(
                                status,
                                ErrorBody::parse(&answer.body),
                                retry_after,
                                call.context,
                            ));
                        }
                    }
                }
            };
            let delay = {
                let mut rng = rand::thread_rng();
                inner
                    .retry
                    .next_delay(attempt, started.elapsed(), retry_after, &mut rng)
            };
            let Some(delay) = delay else {
                drop(permit);
                return Err(last);
            };
            if throttled {
                // A 429 without Retry-After: the scopes wait out our backoff together.
                inner.limiter.pause(permit.scopes(), delay, true);
            }
            drop(permit);
            Counters::add(&inner.counters.retries, 1);
            tracing::debug!(request_id = %request_id, attempt, delay_ms = delay.as_millis() as u64, error = last.code(), "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// Takes the budget tokens, right before sending. The bearer token was fetched before (a
    /// slow refresh must not sit between the pause check and the send); after a long wait it
    /// is fetched again, and if a pause began meanwhile the tokens are taken again after it.
    pub(crate) async fn ready(
        &self,
        needs: &[(crate::budget::Scope, f64)],
        bearer: &mut Secret,
    ) -> Result<crate::budget::Permit, GraphError> {
        loop {
            let waiting = Instant::now();
            let permit = self.inner.limiter.acquire(needs).await;
            if waiting.elapsed() < TOKEN_STALE_AFTER {
                return Ok(permit);
            }
            *bearer = self.inner.tokens.token().await?;
            if self.inner.limiter.clear(permit.scopes()) {
                return Ok(permit);
            }
        }
    }

    /// One attempt.
    pub(crate) async fn send(
        &self,
        call: &Call,
        bearer: &Secret,
        request_id: &str,
    ) -> Result<Answer, reqwest::Error> {
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), call.url.clone())
            .bearer_auth(bearer.expose())
            .header("client-request-id", request_id)
            .header(ACCEPT, "application/json");
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

/// `/teams/{t}/channels/{c}/messages/{id}` for a root (`root_id` None or equal to `id`), else
/// `/teams/{t}/channels/{c}/messages/{root}/replies/{id}`.
fn message_path(team_id: &str, channel_id: &str, root_id: Option<&str>, id: &str) -> String {
    let messages = format!(
        "/teams/{}/channels/{}/messages",
        seg(team_id),
        seg(channel_id)
    );
    match root_id.filter(|root| *root != id) {
        None => format!("{messages}/{}", seg(id)),
        Some(root) => format!("{messages}/{}/replies/{}", seg(root), seg(id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_paths() {
        assert_eq!(
            message_path("t", "19:c@thread.tacv2", None, "1"),
            "/teams/t/channels/19:c@thread.tacv2/messages/1"
        );
        assert_eq!(
            message_path("t", "c", Some("1"), "1"),
            "/teams/t/channels/c/messages/1"
        );
        assert_eq!(
            message_path("t", "c", Some("1"), "2"),
            "/teams/t/channels/c/messages/1/replies/2"
        );
    }

    #[test]
    fn the_user_agent_names_perch() {
        assert!(USER_AGENT.starts_with("Perch/"));
        assert!(USER_AGENT.ends_with(" (perch-graph)"));
    }
}
