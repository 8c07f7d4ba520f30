//! The admin API under `/_emulator/` (not Graph): what tests and the demo use to look inside
//! the emulator and to change it while it runs. JSON in and out, camelCase. It is never faulted
//! or throttled and needs no token. Malformed input answers 400 with a message saying what is
//! wrong; unknown users, teams, channels or messages answer 404; errors have Graph's shape
//! (`{"error":{"code","message",…}}`).
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | GET | `/_emulator/health` | – | 200 `{"status":"ok"}` |
//! | GET | `/_emulator/tenant` | – | 200 [`TenantView`]: ids, the demo app, users, teams with channels |
//! | GET | `/_emulator/faults` | – | 200 [`FaultsConfig`] in force (with remaining counts) |
//! | PUT | `/_emulator/faults` | [`FaultsConfig`] | 200 the new config (replaces everything, offline mode too) |
//! | DELETE | `/_emulator/faults` | – | 204; no faults, online again |
//! | POST | `/_emulator/faults/rules` | [`FaultRule`] | 201 the whole config |
//! | POST | `/_emulator/faults/latency` | [`LatencyRule`] | 201 the whole config |
//! | GET | `/_emulator/limits` | – | 200 `{"enabled","scale"}` |
//! | PUT | `/_emulator/limits` | `{"enabled"?: bool, "scale"?: number > 0}` | 200 the limits in force (buckets start full) |
//! | POST | `/_emulator/pause` | optional `{"target": "graph"\|"entra"\|"all"}` | 204; requests are held unanswered |
//! | POST | `/_emulator/refuse` | optional `{"target": …}` | 204; connections are dropped unanswered |
//! | POST | `/_emulator/resume` | – | 204; held requests go on |
//! | PATCH | `/_emulator/users/{id or upn}` | `{"mfaRequired"?, "consentMissing"?, "caBlocked"?}` | 200 [`UserView`] |
//! | POST | `/_emulator/users/{id or upn}/revoke` | – | 204; the user's refresh tokens are revoked |
//! | POST | `/_emulator/revoke` | – | 204; every refresh token is revoked |
//! | POST | `/_emulator/delta/expire` | `{"mode": "gone"\|"syncStateNotFound"}` | 204; every delta token issued so far is dead |
//! | POST | `/_emulator/act` | [`ActRequest`] | 201 (post, reply) or 200 with the message as Graph renders it |
//! | GET | `/_emulator/stats` | – | 200 [`StatsSnapshot`] |
//! | POST | `/_emulator/stats/reset` | – | 204 |
//!
//! `POST /_emulator/act` writes as another user through [`crate::ops`], the same code Graph's
//! handlers use, so the client sees the change through delta like any colleague's:
//!
//! ```json
//! {"as": "adele@contoso.example", "kind": "post", "team": "Mark 8 Project Team",
//!  "channel": "General", "body": "<p>Hello</p>", "subject": "Hi", "importance": "high",
//!  "mentions": ["megan@contoso.example"]}
//! ```
//!
//! `kind` is `post`, `reply`, `edit`, `delete`, `undelete`, `react` or `unreact`; `team` and
//! `channel` are ids or display names; `message` is the root post id (all kinds but `post`),
//! `reply` a reply id (to edit, delete or react to a reply); `body` is HTML (`contentType`
//! `text` for plain text); `reaction` is a reaction type (`like`, `👍`). Each user in
//! `mentions` (UPN or id) is mention number `i` in list order: write `<at id="i">…</at>` in the
//! body, or the admin API puts `<at id="i">Display Name</at>` in front of the body for you. An
//! edit with a `body` replaces the body and the mentions (with `mentions`, or none).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::config::LimitsConfig;
use crate::error::GraphError;
use crate::faults::{FaultRule, FaultsConfig, LatencyRule, Offline, Target};
use crate::graph::DeltaExpiry;
use crate::model::{ContentType, Importance, MembershipType, Mention, MentionTarget, Tenant};
use crate::ops::{self, MessagePatch, NewMessage};
use crate::state::AppState;
use crate::stats::StatsSnapshot;

/// The admin routes, to be nested under `/_emulator`.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/tenant", get(tenant))
        .route(
            "/faults",
            get(faults_get).put(faults_put).delete(faults_delete),
        )
        .route("/faults/rules", post(faults_add_rule))
        .route("/faults/latency", post(faults_add_latency))
        .route("/limits", get(limits_get).put(limits_put))
        .route("/pause", post(pause))
        .route("/refuse", post(refuse))
        .route("/resume", post(resume))
        .route("/users/{user}", patch(user_patch))
        .route("/users/{user}/revoke", post(user_revoke))
        .route("/revoke", post(revoke_all))
        .route("/delta/expire", post(delta_expire))
        .route("/act", post(act))
        .route("/stats", get(stats_get))
        .route("/stats/reset", post(stats_reset))
        .fallback(|| async {
            AdminError::NotFound(
                "No such admin route; see the perch_emulator::admin docs for the list.".into(),
            )
        })
        .with_state(state)
}

/// Why an admin request failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The body or a parameter is malformed or makes no sense: 400.
    #[error("{0}")]
    BadRequest(String),
    /// A named user, team, channel or message does not exist: 404.
    #[error("{0}")]
    NotFound(String),
    /// A write through [`crate::ops`] failed; its Graph error is passed on.
    #[error("{}", .0.message)]
    Graph(GraphError),
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match self {
            Self::BadRequest(message) => GraphError::bad_request(message),
            Self::NotFound(message) => GraphError::not_found(message),
            Self::Graph(error) => error,
        }
        .into_response()
    }
}

/// Parses a JSON body, or says clearly why it cannot.
fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, AdminError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AdminError::BadRequest(
            "The request needs a JSON body.".into(),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|error| AdminError::BadRequest(format!("Invalid JSON body: {error}.")))
}

/// Parses an optional JSON body: an empty one is the default.
fn parse_or_default<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, AdminError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        parse(body)
    }
}

// --- Tenant ----------------------------------------------------------------------------------

/// `GET /_emulator/tenant`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    /// Directory (tenant) id.
    pub id: Uuid,
    /// Verified domain.
    pub domain: String,
    /// Organisation name.
    pub display_name: String,
    /// The demo app registration's client id (the first app), if the tenant has one.
    pub demo_client_id: Option<Uuid>,
    /// Every app registration.
    pub apps: Vec<AppView>,
    /// Every user.
    pub users: Vec<UserView>,
    /// Every team with its channels.
    pub teams: Vec<TeamView>,
}

/// An app registration in [`TenantView`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppView {
    /// Client id.
    pub client_id: Uuid,
    /// Display name.
    pub display_name: String,
    /// Public (desktop) client or confidential.
    pub public_client: bool,
}

/// A user in [`TenantView`] and the answer of `PATCH /_emulator/users/{user}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    /// Object id.
    pub id: Uuid,
    /// `userPrincipalName`.
    pub upn: String,
    /// Display name.
    pub display_name: String,
    /// Token requests answer `interaction_required` (MFA).
    pub mfa_required: bool,
    /// Token requests answer `consent_required`.
    pub consent_missing: bool,
    /// Conditional Access blocks the user.
    pub ca_blocked: bool,
}

/// A team in [`TenantView`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamView {
    /// Team id.
    pub id: Uuid,
    /// Display name.
    pub display_name: String,
    /// Member user ids.
    pub members: Vec<Uuid>,
    /// Channels, General first.
    pub channels: Vec<ChannelView>,
}

/// A channel in [`TeamView`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelView {
    /// `19:…@thread.tacv2`.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Standard, private or shared.
    pub membership_type: MembershipType,
    /// Number of root posts.
    pub posts: usize,
}

fn user_view(user: &crate::model::User) -> UserView {
    UserView {
        id: user.id,
        upn: user.upn.clone(),
        display_name: user.display_name.clone(),
        mfa_required: user.auth.mfa_required,
        consent_missing: user.auth.consent_missing,
        ca_blocked: user.auth.ca_blocked,
    }
}

impl TenantView {
    /// Describes a tenant.
    pub fn of(tenant: &Tenant) -> Self {
        Self {
            id: tenant.id,
            domain: tenant.domain.clone(),
            display_name: tenant.display_name.clone(),
            demo_client_id: tenant.apps.first().map(|a| a.client_id),
            apps: tenant
                .apps
                .iter()
                .map(|a| AppView {
                    client_id: a.client_id,
                    display_name: a.display_name.clone(),
                    public_client: a.public_client,
                })
                .collect(),
            users: tenant.users.iter().map(user_view).collect(),
            teams: tenant
                .teams
                .iter()
                .map(|t| TeamView {
                    id: t.id,
                    display_name: t.display_name.clone(),
                    members: t.members.clone(),
                    channels: t
                        .channels
                        .iter()
                        .map(|c| ChannelView {
                            id: c.id.clone(),
                            display_name: c.display_name.clone(),
                            membership_type: c.membership_type,
                            posts: c.messages.roots.len(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

async fn tenant(State(state): State<AppState>) -> Json<TenantView> {
    Json(TenantView::of(&state.tenant.read()))
}

// --- Faults and limits -----------------------------------------------------------------------

async fn faults_get(State(state): State<AppState>) -> Json<FaultsConfig> {
    Json(state.faults.config())
}

async fn faults_put(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<FaultsConfig>, AdminError> {
    let config: FaultsConfig = parse(&body)?;
    state
        .faults
        .set(config)
        .map_err(|e| AdminError::BadRequest(e.to_string()))?;
    Ok(Json(state.faults.config()))
}

async fn faults_delete(State(state): State<AppState>) -> StatusCode {
    state.faults.clear();
    StatusCode::NO_CONTENT
}

async fn faults_add_rule(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<FaultsConfig>), AdminError> {
    let rule: FaultRule = parse(&body)?;
    state
        .faults
        .add_rule(rule)
        .map_err(|e| AdminError::BadRequest(e.to_string()))?;
    Ok((StatusCode::CREATED, Json(state.faults.config())))
}

async fn faults_add_latency(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<FaultsConfig>), AdminError> {
    let rule: LatencyRule = parse(&body)?;
    state
        .faults
        .add_latency(rule)
        .map_err(|e| AdminError::BadRequest(e.to_string()))?;
    Ok((StatusCode::CREATED, Json(state.faults.config())))
}

async fn limits_get(State(state): State<AppState>) -> Json<LimitsConfig> {
    Json(state.throttle.limits())
}

/// `PUT /_emulator/limits`: fields left out keep their value.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LimitsChange {
    enabled: Option<bool>,
    scale: Option<f64>,
}

async fn limits_put(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<LimitsConfig>, AdminError> {
    let change: LimitsChange = parse(&body)?;
    let current = state.throttle.limits();
    let limits = LimitsConfig {
        enabled: change.enabled.unwrap_or(current.enabled),
        scale: change.scale.unwrap_or(current.scale),
    };
    state
        .throttle
        .set_limits(limits)
        .map_err(|e| AdminError::BadRequest(e.to_string()))?;
    Ok(Json(state.throttle.limits()))
}

/// The optional body of `POST /_emulator/pause` and `/refuse`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OfflineChange {
    #[serde(default)]
    target: Target,
}

async fn pause(State(state): State<AppState>, body: Bytes) -> Result<StatusCode, AdminError> {
    let change: OfflineChange = parse_or_default(&body)?;
    state.faults.set_offline(Offline::Paused, change.target);
    Ok(StatusCode::NO_CONTENT)
}

async fn refuse(State(state): State<AppState>, body: Bytes) -> Result<StatusCode, AdminError> {
    let change: OfflineChange = parse_or_default(&body)?;
    state.faults.set_offline(Offline::Refused, change.target);
    Ok(StatusCode::NO_CONTENT)
}

async fn resume(State(state): State<AppState>) -> StatusCode {
    let target = state.faults.config().offline_target;
    state.faults.set_offline(Offline::None, target);
    StatusCode::NO_CONTENT
}

// --- Users -----------------------------------------------------------------------------------

/// `PATCH /_emulator/users/{user}`: switches left out keep their value.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SwitchesChange {
    mfa_required: Option<bool>,
    consent_missing: Option<bool>,
    ca_blocked: Option<bool>,
}

fn user_index(tenant: &Tenant, hint: &str) -> Result<usize, AdminError> {
    tenant
        .users
        .iter()
        .position(|u| {
            u.upn.eq_ignore_ascii_case(hint)
                || u.mail.eq_ignore_ascii_case(hint)
                || u.id.to_string().eq_ignore_ascii_case(hint)
        })
        .ok_or_else(|| AdminError::NotFound(format!("No user {hint:?} (give an id or a UPN).")))
}

async fn user_patch(
    State(state): State<AppState>,
    Path(user): Path<String>,
    body: Bytes,
) -> Result<Json<UserView>, AdminError> {
    let change: SwitchesChange = parse(&body)?;
    let mut tenant = state.tenant.write();
    let index = user_index(&tenant, &user)?;
    let auth = &mut tenant.users[index].auth;
    if let Some(value) = change.mfa_required {
        auth.mfa_required = value;
    }
    if let Some(value) = change.consent_missing {
        auth.consent_missing = value;
    }
    if let Some(value) = change.ca_blocked {
        auth.ca_blocked = value;
    }
    Ok(Json(user_view(&tenant.users[index])))
}

async fn user_revoke(
    State(state): State<AppState>,
    Path(user): Path<String>,
) -> Result<StatusCode, AdminError> {
    let id = {
        let tenant = state.tenant.read();
        tenant.users[user_index(&tenant, &user)?].id
    };
    state.entra.revoke_user(id);
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_all(State(state): State<AppState>) -> StatusCode {
    state.entra.revoke_all();
    StatusCode::NO_CONTENT
}

/// The body of `POST /_emulator/delta/expire`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeltaExpireRequest {
    mode: DeltaMode,
}

/// How expired delta tokens answer.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
enum DeltaMode {
    /// 410 Gone.
    Gone,
    /// 400 `syncStateNotFound`.
    SyncStateNotFound,
}

async fn delta_expire(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<StatusCode, AdminError> {
    let request: DeltaExpireRequest = parse(&body)?;
    state.graph.expire_delta_tokens(match request.mode {
        DeltaMode::Gone => DeltaExpiry::Gone,
        DeltaMode::SyncStateNotFound => DeltaExpiry::SyncStateNotFound,
    });
    Ok(StatusCode::NO_CONTENT)
}

// --- Acting as another user ------------------------------------------------------------------

/// What `POST /_emulator/act` does.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum ActKind {
    /// Post a root message.
    Post,
    /// Reply to `message`.
    Reply,
    /// Edit `message` (or `reply`).
    Edit,
    /// Soft-delete `message` (or `reply`).
    Delete,
    /// Undo a soft delete.
    Undelete,
    /// Add `reaction`.
    React,
    /// Remove `reaction`.
    Unreact,
}

/// The body of `POST /_emulator/act`; see the module docs.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActRequest {
    /// The acting user: UPN or id.
    #[serde(rename = "as")]
    pub actor: String,
    /// What to do.
    pub kind: ActKind,
    /// Team id or display name.
    pub team: String,
    /// Channel id or display name.
    pub channel: String,
    /// The root post id (every kind but `post`).
    #[serde(default)]
    pub message: Option<String>,
    /// A reply id, to edit, delete or react to a reply.
    #[serde(default)]
    pub reply: Option<String>,
    /// The body (HTML unless `contentType` is `text`), for post, reply and edit.
    #[serde(default)]
    pub body: Option<String>,
    /// `html` (default) or `text`.
    #[serde(default)]
    pub content_type: Option<ContentType>,
    /// Subject (root posts).
    #[serde(default)]
    pub subject: Option<String>,
    /// Importance.
    #[serde(default)]
    pub importance: Option<Importance>,
    /// Users to mention (UPN or id), mention number `i` in list order.
    #[serde(default)]
    pub mentions: Vec<String>,
    /// Reaction type, for react and unreact.
    #[serde(default)]
    pub reaction: Option<String>,
}

/// The team id and channel id an [`ActRequest`] names.
fn resolve_channel(
    tenant: &Tenant,
    team: &str,
    channel: &str,
) -> Result<(Uuid, String), AdminError> {
    let team_ref = tenant
        .teams
        .iter()
        .find(|t| t.id.to_string().eq_ignore_ascii_case(team))
        .or_else(|| {
            tenant
                .teams
                .iter()
                .find(|t| t.display_name.eq_ignore_ascii_case(team))
        })
        .ok_or_else(|| AdminError::NotFound(format!("No team {team:?} (give an id or a name).")))?;
    let channel_ref = team_ref
        .channels
        .iter()
        .find(|c| c.id == channel)
        .or_else(|| {
            team_ref
                .channels
                .iter()
                .find(|c| c.display_name.eq_ignore_ascii_case(channel))
        })
        .ok_or_else(|| {
            AdminError::NotFound(format!(
                "No channel {channel:?} in team {:?} (give an id or a name).",
                team_ref.display_name
            ))
        })?;
    Ok((team_ref.id, channel_ref.id.clone()))
}

/// Builds `mentions[]` for the listed users, putting `<at id="i">Name</at>` in front of the
/// body for each one it does not mention yet.
fn build_mentions(
    tenant: &Tenant,
    hints: &[String],
    body: &mut String,
) -> Result<Vec<Mention>, AdminError> {
    let mut mentions = Vec::with_capacity(hints.len());
    let mut prefix = String::new();
    for (i, hint) in hints.iter().enumerate() {
        let user = &tenant.users[user_index(tenant, hint)?];
        let id =
            i32::try_from(i).map_err(|_| AdminError::BadRequest("Too many mentions.".into()))?;
        let present =
            body.contains(&format!("<at id=\"{id}\"")) || body.contains(&format!("<at id='{id}'"));
        if !present {
            prefix.push_str(&format!(
                "<at id=\"{id}\">{}</at> ",
                html_escape(&user.display_name)
            ));
        }
        mentions.push(Mention {
            id,
            mention_text: user.display_name.clone(),
            mentioned: MentionTarget::User {
                id: user.id,
                display_name: user.display_name.clone(),
            },
        });
    }
    if !prefix.is_empty() {
        body.insert_str(0, &prefix);
    }
    Ok(mentions)
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn required<'a>(
    value: &'a Option<String>,
    name: &str,
    kind: ActKind,
) -> Result<&'a str, AdminError> {
    value
        .as_deref()
        .ok_or_else(|| AdminError::BadRequest(format!("kind {kind:?} needs \"{name}\".")))
}

async fn act(State(state): State<AppState>, body: Bytes) -> Result<Response, AdminError> {
    let request: ActRequest = parse(&body)?;
    let kind = request.kind;
    let now = chrono::Utc::now();
    let mut guard = state.tenant.write();
    let tenant: &mut Tenant = &mut guard;
    let tenant_id = tenant.id;
    let actor = tenant.users[user_index(tenant, &request.actor)?].id;
    let (team, channel) = resolve_channel(tenant, &request.team, &request.channel)?;
    let reply = request.reply.as_deref();
    let message = match kind {
        ActKind::Post | ActKind::Reply => {
            let mut content = required(&request.body, "body", kind)?.to_owned();
            let mentions = build_mentions(tenant, &request.mentions, &mut content)?;
            let new = NewMessage {
                content_type: request.content_type.unwrap_or(ContentType::Html),
                subject: request.subject.clone(),
                importance: request.importance.unwrap_or_default(),
                mentions,
                ..NewMessage::html(content)
            };
            if kind == ActKind::Post {
                ops::post_message(tenant, team, &channel, actor, new, now)
            } else {
                let root = required(&request.message, "message", kind)?;
                ops::post_reply(tenant, team, &channel, root, actor, new, now)
            }
        }
        ActKind::Edit => {
            let root = required(&request.message, "message", kind)?;
            let mut content = request.body.clone();
            // A new body comes with its own mentions (none, if the request lists none).
            let mentions = match content.as_mut() {
                Some(content) => Some(build_mentions(tenant, &request.mentions, content)?),
                None if !request.mentions.is_empty() => {
                    return Err(AdminError::BadRequest(
                        "\"mentions\" on an edit need a \"body\" to go with them.".into(),
                    ))
                }
                None => None,
            };
            let patch = MessagePatch {
                content_type: request.content_type,
                content,
                subject: request.subject.clone().map(Some),
                importance: request.importance,
                mentions,
            };
            ops::edit(tenant, team, &channel, root, reply, actor, patch, now)
        }
        ActKind::Delete | ActKind::Undelete => {
            let root = required(&request.message, "message", kind)?;
            if kind == ActKind::Delete {
                ops::soft_delete(tenant, team, &channel, root, reply, actor, now)
            } else {
                ops::undo_soft_delete(tenant, team, &channel, root, reply, actor, now)
            }
        }
        ActKind::React | ActKind::Unreact => {
            let root = required(&request.message, "message", kind)?;
            let reaction = required(&request.reaction, "reaction", kind)?;
            if kind == ActKind::React {
                ops::set_reaction(tenant, team, &channel, root, reply, actor, reaction, now)
            } else {
                ops::unset_reaction(tenant, team, &channel, root, reply, actor, reaction, now)
            }
        }
    }
    .map_err(AdminError::Graph)?;
    drop(guard);
    let status = if matches!(kind, ActKind::Post | ActKind::Reply) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let json =
        crate::graph::render_message(&state.graph_root(), tenant_id, team, &channel, &message);
    Ok((status, Json(json)).into_response())
}

// --- Stats -----------------------------------------------------------------------------------

async fn stats_get(State(state): State<AppState>) -> Json<StatsSnapshot> {
    Json(state.stats.snapshot())
}

async fn stats_reset(State(state): State<AppState>) -> StatusCode {
    state.stats.reset();
    StatusCode::NO_CONTENT
}
