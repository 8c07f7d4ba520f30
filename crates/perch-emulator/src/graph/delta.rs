//! Channel-message delta (`…/messages/delta` and `…/messages/microsoft.graph.delta()`) and
//! the server-side sync states behind its tokens.
//!
//! A *sync state* is made by a first request (no token) and holds its options: `$top`
//! (≤ 50, default 20), `$expand=replies`, and `$filter=lastModifiedDateTime gt {ISO}` (the only
//! filter; it applies to the first round only). Options are refused once a token is given.
//!
//! Exactness under concurrent writes comes from the channel's change sequence
//! ([`crate::model::MessageLog`]): every write moves its root to a new, larger sequence number.
//! A round snapshots the upper bound `high = log.seq` when it starts; its pages walk the
//! sequence range `(low, high]` in order, each `@odata.nextLink` carrying the position reached
//! and `high`; the last page's `@odata.deltaLink` carries `high` as the next round's `low`. A
//! chain changed after the snapshot has a sequence number above `high`, so it shows in a later
//! round even if this round already returned it (changes can be replayed: upsert by id) or had
//! not reached it yet. Nothing is lost or skipped across nextLink/deltaLink.
//!
//! Only roots created in the last 8 months are returned, with whole reply chains when
//! `$expand=replies`. Each page examines at most ten times `$top` sequence entries, so a page
//! whose range holds only roots outside the window (or before the filter time) is an empty
//! `value` with a nextLink, as Graph's pages can be.
//!
//! Tokens are opaque: base64url of the cursor and the sync-state id with a keyed checksum. A
//! garbled or unknown token answers 400 `syncStateNotFound`; after
//! [`super::GraphState::expire_delta_tokens`] older tokens answer 410 `resyncRequired` or 400
//! `syncStateNotFound` as chosen.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use chrono::{DateTime, Months, TimeZone as _, Utc};
use parking_lot::Mutex;
use uuid::Uuid;

use super::messages::{messages_url, root_items};
use super::query::Options;
use super::render::{self, Ctx};
use super::support::{json_bytes, require, visible_channel, Segs, READ_MESSAGES};
use super::DeltaExpiry;
use crate::entra::Principal;
use crate::error::GraphError;
use crate::model::Message;
use crate::state::AppState;

/// Sync states kept at most; the oldest are forgotten first (their tokens answer 400).
const MAX_SYNC_STATES: usize = 100_000;
/// Default page size.
const DEFAULT_TOP: usize = 20;
/// Largest `$top`.
const MAX_TOP: usize = 50;
/// Sequence entries examined per page, as a multiple of `$top`.
const SCAN_FACTOR: usize = 10;

#[derive(Debug, Clone)]
struct Sync {
    team: Uuid,
    channel: String,
    top: usize,
    expand: bool,
    filter: Option<DateTime<Utc>>,
    /// The client used `microsoft.graph.delta()`; links echo that form.
    fn_form: bool,
}

#[derive(Debug)]
struct Inner {
    next_id: u64,
    expired_below: u64,
    expiry: DeltaExpiry,
    states: BTreeMap<u64, Sync>,
}

/// Every sync state issued by this emulator.
#[derive(Debug)]
pub(crate) struct SyncStates {
    inner: Mutex<Inner>,
}

impl Default for SyncStates {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                next_id: 1,
                expired_below: 0,
                expiry: DeltaExpiry::SyncStateNotFound,
                states: BTreeMap::new(),
            }),
        }
    }
}

fn not_found() -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "syncStateNotFound",
        "The sync state was not found: the delta or skip token is unknown or no longer valid. Start again without a token.",
    )
}

fn expired(how: DeltaExpiry) -> GraphError {
    match how {
        DeltaExpiry::Gone => GraphError::new(
            StatusCode::GONE,
            "resyncRequired",
            "The delta token has expired. Replace any locally cached data and start a new sync without a token.",
        ),
        DeltaExpiry::SyncStateNotFound => not_found(),
    }
}

impl SyncStates {
    /// Expires every sync state issued so far.
    pub(crate) fn expire_all(&self, how: DeltaExpiry) {
        let mut inner = self.inner.lock();
        inner.expired_below = inner.next_id;
        inner.expiry = how;
        inner.states.clear();
    }

    fn create(&self, sync: Sync) -> u64 {
        let mut inner = self.inner.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.states.insert(id, sync);
        while inner.states.len() > MAX_SYNC_STATES {
            inner.states.pop_first();
        }
        id
    }

    fn get(&self, id: u64) -> Result<Sync, GraphError> {
        let inner = self.inner.lock();
        if id < inner.expired_below {
            return Err(expired(inner.expiry));
        }
        inner.states.get(&id).cloned().ok_or_else(not_found)
    }
}

/// Parses `lastModifiedDateTime gt {ISO time}`.
fn parse_filter(raw: &str) -> Result<DateTime<Utc>, GraphError> {
    let bad = || {
        GraphError::bad_request(format!(
            "Invalid $filter '{raw}': delta supports only 'lastModifiedDateTime gt {{ISO 8601 date-time}}'."
        ))
    };
    let mut parts = raw.split_whitespace();
    let (Some(prop), Some(op), Some(value), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if !prop.eq_ignore_ascii_case("lastModifiedDateTime") || !op.eq_ignore_ascii_case("gt") {
        return Err(bad());
    }
    let value = value.trim_matches('\'').to_ascii_uppercase();
    DateTime::parse_from_rfc3339(&value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad())
}

/// `GET …/messages/delta`.
pub(crate) async fn handle_short(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    handle(&state, &p, &segs, q.as_deref(), false)
}

/// `GET …/messages/microsoft.graph.delta()`.
pub(crate) async fn handle_fn(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    handle(&state, &p, &segs, q.as_deref(), true)
}

struct Round {
    id: u64,
    sync: Sync,
    cursor: u64,
    high: u64,
    window: i64,
    first: bool,
}

fn handle(
    state: &AppState,
    p: &Principal,
    segs: &Segs,
    raw: Option<&str>,
    fn_form: bool,
) -> Result<Response, GraphError> {
    require(p, READ_MESSAGES)?;
    let opts = Options::parse(raw);
    let skip = opts.get("$skiptoken");
    let delta = opts.get("$deltatoken");
    if skip.is_some() || delta.is_some() {
        if skip.is_some() && delta.is_some() {
            return Err(GraphError::bad_request(
                "Only one of $skiptoken and $deltatoken may be given.",
            ));
        }
        opts.only(&["$skiptoken", "$deltatoken"]).map_err(|_| {
            GraphError::bad_request(
                "Query options are not allowed with a $skiptoken or $deltatoken: they belong in the first request only.",
            )
        })?;
    } else {
        opts.only(&["$top", "$expand", "$filter"])?;
    }
    let root = state.graph_root();
    let codec = &state.graph.tokens;
    let body = {
        let tenant = state.tenant.read();
        let (team, channel) = visible_channel(&tenant, segs.at(0), segs.at(1), p.user_id)?;
        let log = &channel.messages;
        let now = Utc::now();
        let window = now
            .checked_sub_months(Months::new(8))
            .unwrap_or(now)
            .timestamp_millis();
        let round = if let Some(token) = skip {
            let f = codec.decode("ds", 5, token).ok_or_else(not_found)?;
            let sync = state.graph.delta.get(f[0])?;
            if f[1] > f[2] || f[2] > log.seq {
                return Err(not_found());
            }
            Round {
                id: f[0],
                sync,
                cursor: f[1],
                high: f[2],
                window: f[3] as i64,
                first: f[4] == 1,
            }
        } else if let Some(token) = delta {
            let f = codec.decode("dd", 2, token).ok_or_else(not_found)?;
            let sync = state.graph.delta.get(f[0])?;
            if f[1] > log.seq {
                return Err(not_found());
            }
            Round {
                id: f[0],
                sync,
                cursor: f[1],
                high: log.seq,
                window,
                first: false,
            }
        } else {
            let sync = Sync {
                team: team.id,
                channel: channel.id.clone(),
                top: opts.top(DEFAULT_TOP, MAX_TOP)?,
                expand: opts.expand_replies()?,
                filter: opts.get("$filter").map(parse_filter).transpose()?,
                fn_form,
            };
            Round {
                id: state.graph.delta.create(sync.clone()),
                sync,
                cursor: 0,
                high: log.seq,
                window,
                first: true,
            }
        };
        if round.sync.team != team.id || round.sync.channel != channel.id {
            return Err(not_found());
        }
        let window_start = Utc
            .timestamp_millis_opt(round.window)
            .single()
            .unwrap_or(now);
        let top = round.sync.top;
        let budget = top * SCAN_FACTOR;
        let filter = if round.first { round.sync.filter } else { None };
        let mut items: Vec<&Message> = Vec::with_capacity(top);
        let mut scanned = 0;
        let mut reached = round.cursor;
        let mut more = false;
        if round.cursor < round.high {
            for (&seq, &idx) in log.by_seq.range(round.cursor + 1..=round.high) {
                if scanned == budget || items.len() == top {
                    more = true;
                    break;
                }
                scanned += 1;
                reached = seq;
                let Some(m) = log.roots.get(idx) else {
                    continue;
                };
                if m.created < window_start {
                    continue;
                }
                if filter.is_some_and(|f| m.chain_last_modified() <= f) {
                    continue;
                }
                items.push(m);
            }
        }
        let ctx = Ctx {
            root: &root,
            tenant: tenant.id,
            team: team.id,
            channel: &channel.id,
        };
        let rendered = root_items(state, &ctx, &items, round.sync.expand);
        let path = if round.sync.fn_form {
            "microsoft.graph.delta()"
        } else {
            "delta"
        };
        let base = format!("{}/{path}", messages_url(&root, team.id, &channel.id));
        let (next, delta_link) = if more {
            let token = codec.encode(
                "ds",
                &[
                    round.id,
                    reached,
                    round.high,
                    round.window.max(0) as u64,
                    u64::from(round.first),
                ],
            );
            (Some(format!("{base}?$skiptoken={token}")), None)
        } else {
            let token = codec.encode("dd", &[round.id, round.high]);
            (None, Some(format!("{base}?$deltatoken={token}")))
        };
        render::page(
            &format!("{root}/$metadata#Collection(chatMessage)"),
            next.as_deref(),
            delta_link.as_deref(),
            &rendered,
        )
    };
    Ok(json_bytes(StatusCode::OK, body))
}
