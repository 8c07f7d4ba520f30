//! [`GraphClient::channels_of`]: the channels of many teams through `POST /$batch`, up to 20
//! inner `GET /teams/{t}/allChannels` per envelope.
//!
//! Budgets: Graph throttles every inner request on its own, so an envelope takes, before it is
//! sent, the tokens of all its inner requests (each team's `team-channels` token and a third of
//! a `tenant-get` token each) plus a third of a `tenant-get` token for the envelope itself.
//! Inner answers are handled one by one: a success ends that team (its nextLinks are followed
//! with ordinary GETs); an inner 429/5xx pauses that inner request's scopes for its own
//! `Retry-After` and puts the team into the next envelope, with its own attempt count against
//! the retry policy; a 401 refreshes the token once; other statuses end the team with its error.
//! If the envelope itself cannot be used (a 4xx on `$batch`, a token-source failure), the
//! remaining teams fall back to ordinary [`GraphClient::channels`] calls.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use perch_auth::Secret;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::budget::{cost, Scope};
use crate::client::{describe, Answer, Call, Counters, GraphClient, Safety};
use crate::dto::{Channel, RawPage};
use crate::error::{for_status, ErrorBody, ErrorContext, GraphError};
use crate::retry::{classify, parse_retry_after, Attempt, Verdict};
use crate::urls::seg;

/// Graph's limit of requests per `$batch`.
pub const MAX_BATCH: usize = 20;

/// The result of one team.
type TeamResult = Result<Vec<Channel>, GraphError>;

/// Where one team stands.
struct Pending {
    team: String,
    attempts: u32,
    last: Option<GraphError>,
}

/// A copy of the errors that can be copied (a batch-wide failure becomes every team's).
fn replicate(e: &GraphError) -> Option<GraphError> {
    Some(match e {
        GraphError::Network { detail } => GraphError::Network {
            detail: detail.clone(),
        },
        GraphError::Throttled { retry_after } => GraphError::Throttled {
            retry_after: *retry_after,
        },
        GraphError::Server { status, code } => GraphError::Server {
            status: *status,
            code: code.clone(),
        },
        GraphError::Malformed { detail } => GraphError::Malformed {
            detail: detail.clone(),
        },
        GraphError::Unauthorized => GraphError::Unauthorized,
        GraphError::Cancelled => GraphError::Cancelled,
        _ => return None,
    })
}

/// What one envelope round ended with.
enum Round {
    /// Inner answers came back (some teams may be pending again).
    Answered,
    /// The envelope failed transiently; retry it after the delay (or give up with the error).
    Transient(GraphError, Option<Duration>),
    /// The envelope cannot be used: fall back to ordinary calls.
    Fallback,
}

impl GraphClient {
    /// Channels of many teams using `$batch` (≤ 20 per batch), each inner result retried on
    /// its own. One entry per distinct team id, in the order given.
    pub async fn channels_of(
        &self,
        team_ids: &[String],
    ) -> Vec<(String, Result<Vec<Channel>, GraphError>)> {
        let mut teams: Vec<String> = Vec::with_capacity(team_ids.len());
        for t in team_ids {
            if !teams.contains(t) {
                teams.push(t.clone());
            }
        }
        let mut done: HashMap<String, TeamResult> = HashMap::new();
        for chunk in teams.chunks(MAX_BATCH) {
            let work = self.batch_chunk(chunk, &mut done);
            tokio::select! {
                biased;
                _ = self.inner.cancel.cancelled() => break,
                _ = work => {}
            }
        }
        teams
            .into_iter()
            .map(|t| {
                let result = done.remove(&t).unwrap_or(Err(GraphError::Cancelled));
                (t, result)
            })
            .collect()
    }

    async fn batch_chunk(&self, chunk: &[String], done: &mut HashMap<String, TeamResult>) {
        let inner = &self.inner;
        let started = Instant::now();
        let mut pending: Vec<Pending> = chunk
            .iter()
            .map(|t| Pending {
                team: t.clone(),
                attempts: 0,
                last: None,
            })
            .collect();
        let mut envelope_attempts = 0u32;
        let mut refreshed = false;
        let mut fresh_token: Option<Secret> = None;
        while !pending.is_empty() {
            let mut bearer = match fresh_token.take() {
                Some(t) => t,
                None => match inner.tokens.token().await {
                    Ok(t) => t,
                    Err(_) => {
                        // Each team gets its own token-source error from an ordinary call.
                        self.fall_back(&mut pending, done).await;
                        return;
                    }
                },
            };
            let mut needs: Vec<(Scope, f64)> = vec![(
                Scope::TenantGet,
                cost::CHANNELS * (pending.len() + 1) as f64,
            )];
            needs.extend(pending.iter().map(|p| (Scope::team_channels(&p.team), 1.0)));
            let (round, wants_refresh, inner_wait) = self
                .round(&mut bearer, &needs, &mut pending, done, refreshed)
                .await;
            pending.retain(|p| !done.contains_key(&p.team));
            let delay = match round {
                Round::Fallback => {
                    self.fall_back(&mut pending, done).await;
                    return;
                }
                Round::Transient(error, retry_after) => {
                    envelope_attempts += 1;
                    let delay = {
                        let mut rng = rand::thread_rng();
                        inner.retry.next_delay(
                            envelope_attempts,
                            started.elapsed(),
                            retry_after,
                            &mut rng,
                        )
                    };
                    match delay {
                        Some(d) => d,
                        None => {
                            for p in pending.drain(..) {
                                let e = replicate(&error).unwrap_or(GraphError::Network {
                                    detail: error.to_string(),
                                });
                                done.insert(p.team, Err(e));
                            }
                            return;
                        }
                    }
                }
                Round::Answered => {
                    if wants_refresh {
                        refreshed = true;
                        Counters::add(&inner.counters.refreshes, 1);
                        match inner.tokens.rejected(&bearer).await {
                            Ok(t) => fresh_token = Some(t),
                            Err(_) => {
                                self.fall_back(&mut pending, done).await;
                                return;
                            }
                        }
                        continue;
                    }
                    // Teams out of attempts or time end with their last error.
                    let mut rng = rand::thread_rng();
                    let mut delay = Duration::ZERO;
                    let mut keep = Vec::new();
                    for mut p in pending.drain(..) {
                        let next = inner.retry.next_delay(
                            p.attempts,
                            started.elapsed(),
                            inner_wait.get(&p.team).copied(),
                            &mut rng,
                        );
                        match next {
                            Some(d) => {
                                delay = delay.max(d);
                                keep.push(p);
                            }
                            None => {
                                let e = p.last.take().unwrap_or(GraphError::Malformed {
                                    detail: "no answer for this team in the batch".into(),
                                });
                                done.insert(p.team, Err(e));
                            }
                        }
                    }
                    pending = keep;
                    if pending.is_empty() {
                        return;
                    }
                    Counters::add(&inner.counters.retries, pending.len() as u64);
                    delay
                }
            };
            tokio::time::sleep(delay).await;
        }
    }

    /// One envelope: send, then sort the inner answers into `done` and `pending`.
    async fn round(
        &self,
        bearer: &mut Secret,
        needs: &[(Scope, f64)],
        pending: &mut [Pending],
        done: &mut HashMap<String, TeamResult>,
        refreshed: bool,
    ) -> (Round, bool, HashMap<String, Duration>) {
        let inner = &self.inner;
        let mut waits = HashMap::new();
        let requests: Vec<Value> = pending
            .iter()
            .enumerate()
            .map(|(i, p)| {
                json!({
                    "id": (i + 1).to_string(),
                    "method": "GET",
                    "url": format!("/teams/{}/allChannels", seg(&p.team)),
                })
            })
            .collect();
        let url = match inner.base.api("/$batch") {
            Ok(u) => u,
            Err(_) => return (Round::Fallback, false, waits),
        };
        let call = Call {
            method: Method::POST,
            url,
            body: Some(Bytes::from(json!({ "requests": requests }).to_string())),
            context: ErrorContext::Plain,
            safety: Safety::Repeatable,
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let permit = match self.ready(needs, bearer).await {
            Ok(p) => p,
            Err(_) => return (Round::Fallback, false, waits),
        };
        let n = pending.len() as u64;
        Counters::add(&inner.counters.requests, 1 + n);
        Counters::add(&inner.counters.batches, 1);
        Counters::add(&inner.counters.batch_inner, n);
        let sent = Instant::now();
        let answer = self.send(&call, bearer, &request_id).await;
        let elapsed_ms = sent.elapsed().as_millis() as u64;
        let answer: Answer = match answer {
            Err(e) => {
                let detail = describe(&e);
                tracing::debug!(method = "POST", path = call.url.path(), status = "none", elapsed_ms,
                    request_id = %request_id, inner = n, error = %detail, "graph batch failed");
                return (
                    Round::Transient(GraphError::Network { detail }, None),
                    false,
                    waits,
                );
            }
            Ok(a) => a,
        };
        let status = answer.status;
        tracing::debug!(method = "POST", path = call.url.path(), status, elapsed_ms,
            request_id = %request_id, inner = n, "graph batch");
        let retry_after = answer.retry_after();
        match classify(Attempt::Status {
            status,
            retry_after,
        }) {
            Verdict::Success => {}
            Verdict::Transient { retry_after } => {
                if status == 429 {
                    Counters::add(&inner.counters.throttled, 1);
                }
                if let Some(ra) = retry_after {
                    inner.limiter.pause(permit.scopes(), ra, status == 429);
                }
                let e = for_status(
                    status,
                    ErrorBody::parse(&answer.body),
                    retry_after,
                    ErrorContext::Plain,
                );
                return (Round::Transient(e, retry_after), false, waits);
            }
            Verdict::Permanent if status == 401 && !refreshed => {
                // The same token goes with every inner request: refresh, then resend them all.
                return (Round::Answered, true, waits);
            }
            Verdict::Permanent => return (Round::Fallback, false, waits),
        }
        let responses: Vec<Value> = match serde_json::from_slice::<Value>(&answer.body) {
            Ok(Value::Object(mut map)) => match map.remove("responses") {
                Some(Value::Array(r)) => r,
                _ => Vec::new(),
            },
            _ => {
                let e = GraphError::Malformed {
                    detail: "the $batch answer is not JSON".into(),
                };
                return (Round::Transient(e, None), false, waits);
            }
        };
        let mut by_id: HashMap<String, Value> = HashMap::new();
        for r in responses {
            let id = match r.get("id") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => continue,
            };
            by_id.insert(id, r);
        }
        let mut wants_refresh = false;
        let mut follow: Vec<(String, Vec<Channel>, String)> = Vec::new();
        for (i, p) in pending.iter_mut().enumerate() {
            let inner_scopes = [Scope::team_channels(&p.team), Scope::TenantGet];
            let Some(r) = by_id.remove(&(i + 1).to_string()) else {
                p.attempts += 1;
                p.last = Some(GraphError::Malformed {
                    detail: "the $batch answer left this team out".into(),
                });
                continue;
            };
            let status = r.get("status").and_then(Value::as_u64).unwrap_or(0) as u16;
            let retry_after = inner_header(&r, "retry-after")
                .and_then(|v| parse_retry_after(&v, std::time::SystemTime::now()));
            let body = inner_body(&r);
            match classify(Attempt::Status {
                status,
                retry_after,
            }) {
                Verdict::Success => {
                    inner.limiter.succeeded(&inner_scopes);
                    match body.map(serde_json::from_value::<RawPage<Channel>>) {
                        Some(Ok(page)) => match page.next_link {
                            None => {
                                done.insert(p.team.clone(), Ok(page.value));
                            }
                            Some(next) => follow.push((p.team.clone(), page.value, next)),
                        },
                        other => {
                            p.attempts += 1;
                            p.last = Some(GraphError::Malformed {
                                detail: match other {
                                    Some(Err(e)) => format!("invalid channel list ({e})"),
                                    _ => "an inner answer without a body".into(),
                                },
                            });
                        }
                    }
                }
                Verdict::Permanent if status == 401 && !refreshed => wants_refresh = true,
                Verdict::Permanent => {
                    let e = for_status(
                        status,
                        ErrorBody::from_value(body.as_ref()),
                        retry_after,
                        ErrorContext::Plain,
                    );
                    done.insert(p.team.clone(), Err(e));
                }
                Verdict::Transient { retry_after } => {
                    if status == 429 {
                        Counters::add(&inner.counters.throttled, 1);
                    }
                    if let Some(ra) = retry_after {
                        inner.limiter.pause(&inner_scopes, ra, status == 429);
                        waits.insert(p.team.clone(), ra);
                    }
                    p.attempts += 1;
                    p.last = Some(for_status(
                        status,
                        ErrorBody::from_value(body.as_ref()),
                        retry_after,
                        ErrorContext::Plain,
                    ));
                }
            }
        }
        drop(permit);
        // Inner nextLinks: ordinary GETs (with their own budgets and retries).
        for (team, mut first, next) in follow {
            let rest = match inner.base.check_link(&next) {
                Ok(url) => self.get_all::<Channel>(url).await,
                Err(e) => Err(e),
            };
            let result = rest.map(|more| {
                first.extend(more);
                first
            });
            done.insert(team, result);
        }
        (Round::Answered, wants_refresh, waits)
    }

    /// The remaining teams, one ordinary call each.
    async fn fall_back(&self, pending: &mut Vec<Pending>, done: &mut HashMap<String, TeamResult>) {
        for p in pending.drain(..) {
            let result = self.channels(&p.team).await;
            done.insert(p.team, result);
        }
    }
}

/// An inner response's header, by case-insensitive name.
fn inner_header(r: &Value, name: &str) -> Option<String> {
    let headers = r.get("headers")?.as_object()?;
    headers.iter().find_map(|(k, v)| {
        if k.eq_ignore_ascii_case(name) {
            match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        } else {
            None
        }
    })
}

/// An inner response's body as JSON (a string holding JSON is parsed).
fn inner_body(r: &Value) -> Option<Value> {
    match r.get("body")? {
        Value::String(s) => serde_json::from_str(s).ok(),
        Value::Null => None,
        other => Some(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_answers_are_read_leniently() {
        let r = json!({"id": "1", "status": 429, "headers": {"Retry-After": "2.5"}, "body": "{\"error\":{\"code\":\"TooManyRequests\"}}"});
        assert_eq!(inner_header(&r, "retry-after").as_deref(), Some("2.5"));
        assert_eq!(
            ErrorBody::from_value(inner_body(&r).as_ref()).code,
            "TooManyRequests"
        );
        let r =
            json!({"id": "2", "status": 200, "headers": {"retry-after": 3}, "body": {"value": []}});
        assert_eq!(inner_header(&r, "Retry-After").as_deref(), Some("3"));
        assert!(inner_body(&r).unwrap()["value"].is_array());
        assert!(inner_body(&json!({"id": "3", "status": 204})).is_none());
    }
}
