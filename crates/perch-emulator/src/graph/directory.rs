//! The directory side of Graph that Perch reads: `/me`, `/users/{id}`, profile photos,
//! `/me/joinedTeams`, `/teams/{t}`, `/teams/{t}/channels` and `/allChannels` (with `$select`
//! and `$filter=membershipType eq '…'`), one channel, and channel members. These types are not
//! in the chatMessage OpenAPI subset; their fields follow Graph's v1.0 `user`, `team`,
//! `channel` and `aadUserConversationMember` resources.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use base64::Engine as _;
use serde_json::{json, Value};
use uuid::Uuid;

use super::query::{not_allowed, Options};
use super::render::{date, encode_channel};
use super::support::{
    bytes_response, json_value, member_team, require, team_id, visible_channel, Segs,
    READ_CHANNELS, READ_MEMBERS, READ_TEAMS, READ_USERS,
};
use crate::entra::Principal;
use crate::error::GraphError;
use crate::model::{Channel, MembershipType, Team, Tenant, User};
use crate::state::AppState;

fn user_json(root: &str, user: &User, entity: bool) -> Value {
    let (given, surname) = match user.display_name.split_once(' ') {
        Some((g, s)) => (Some(g), Some(s)),
        None => (Some(user.display_name.as_str()), None),
    };
    let mut v = json!({
        "businessPhones": [],
        "displayName": user.display_name,
        "givenName": given,
        "jobTitle": user.job_title,
        "mail": user.mail,
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": "en-US",
        "surname": surname,
        "userPrincipalName": user.upn,
        "id": user.id.to_string(),
    });
    if entity {
        v["@odata.context"] = json!(format!("{root}/$metadata#users/$entity"));
    }
    v
}

fn find_user<'a>(tenant: &'a Tenant, raw: &str) -> Result<&'a User, GraphError> {
    let found = match Uuid::parse_str(raw) {
        Ok(id) => tenant.user(id),
        Err(_) => tenant
            .users
            .iter()
            .find(|u| u.upn.eq_ignore_ascii_case(raw) || u.mail.eq_ignore_ascii_case(raw)),
    };
    found.ok_or_else(|| {
        GraphError::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("Resource '{raw}' does not exist or one of its queried reference-property objects are not present."),
        )
    })
}

/// `GET /me`.
pub(crate) async fn me(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Response, GraphError> {
    require(&p, READ_USERS)?;
    let root = state.graph_root();
    let tenant = state.tenant.read();
    let user = find_user(&tenant, &p.user_id.to_string())?;
    Ok(json_value(StatusCode::OK, &user_json(&root, user, true)))
}

/// `GET /users/{id}` (object id or UPN).
pub(crate) async fn user(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
) -> Result<Response, GraphError> {
    require(&p, READ_USERS)?;
    let root = state.graph_root();
    let tenant = state.tenant.read();
    let user = find_user(&tenant, segs.at(0))?;
    Ok(json_value(StatusCode::OK, &user_json(&root, user, true)))
}

fn photo(state: &AppState, raw: &str) -> Result<Response, GraphError> {
    let (rgb, initials) = {
        let tenant = state.tenant.read();
        let user = find_user(&tenant, raw)?;
        let initials: String = user
            .display_name
            .split_whitespace()
            .filter_map(|w| w.chars().next())
            .take(2)
            .collect();
        (user.photo_rgb, initials)
    };
    Ok(bytes_response(
        "image/png",
        crate::images::avatar_png(rgb, &initials),
    ))
}

/// `GET /me/photo/$value`.
pub(crate) async fn my_photo(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Response, GraphError> {
    require(&p, READ_USERS)?;
    photo(&state, &p.user_id.to_string())
}

/// `GET /users/{id}/photo/$value`.
pub(crate) async fn user_photo(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
) -> Result<Response, GraphError> {
    require(&p, READ_USERS)?;
    photo(&state, segs.at(0))
}

fn team_json(tenant: &Tenant, team: &Team) -> Value {
    json!({
        "id": team.id.to_string(),
        "createdDateTime": date(team.created),
        "displayName": team.display_name,
        "description": team.description,
        "internalId": format!("19:{}@thread.tacv2", team.id.simple()),
        "classification": null,
        "specialization": "none",
        "visibility": "private",
        "webUrl": format!(
            "https://teams.microsoft.com/l/team/{}/conversations?groupId={}&tenantId={}",
            encode_channel(&format!("19:{}@thread.tacv2", team.id.simple())),
            team.id,
            tenant.id
        ),
        "isArchived": false,
        "tenantId": tenant.id.to_string(),
        "isMembershipLimitedToOwners": false,
    })
}

fn joined_teams(state: &AppState, user: Uuid, raw: Option<&str>) -> Result<Response, GraphError> {
    // Graph supports no query options here.
    if let Some(name) = Options::parse(raw).first_name() {
        return Err(not_allowed(&name));
    }
    let root = state.graph_root();
    let tenant = state.tenant.read();
    let value: Vec<Value> = tenant
        .teams
        .iter()
        .filter(|t| t.members.contains(&user))
        .map(|t| team_json(&tenant, t))
        .collect();
    Ok(json_value(
        StatusCode::OK,
        &json!({ "@odata.context": format!("{root}/$metadata#teams"), "@odata.count": value.len(), "value": value }),
    ))
}

/// `GET /me/joinedTeams`.
pub(crate) async fn my_joined_teams(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    require(&p, READ_TEAMS)?;
    joined_teams(&state, p.user_id, q.as_deref())
}

/// `GET /users/{id}/joinedTeams`: only for the signed-in user (Graph refuses others with 403
/// for delegated tokens).
pub(crate) async fn user_joined_teams(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    require(&p, READ_TEAMS)?;
    let user = {
        let tenant = state.tenant.read();
        find_user(&tenant, segs.at(0))?.id
    };
    if user != p.user_id {
        return Err(GraphError::forbidden(
            "A delegated token can only list the signed-in user's joined teams.",
        ));
    }
    joined_teams(&state, user, q.as_deref())
}

/// `GET /teams/{t}`.
pub(crate) async fn team(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    require(&p, READ_TEAMS)?;
    let opts = Options::parse(q.as_deref());
    opts.only(&["$select"])?;
    let id = team_id(segs.at(0))?;
    let root = state.graph_root();
    let tenant = state.tenant.read();
    let team = member_team(&tenant, id, p.user_id)?;
    let mut v = team_json(&tenant, team);
    if let Some(fields) = opts.select(TEAM_FIELDS, "microsoft.graph.team")? {
        v = select(v, &fields);
    }
    v["@odata.context"] = json!(format!("{root}/$metadata#teams/$entity"));
    Ok(json_value(StatusCode::OK, &v))
}

const TEAM_FIELDS: &[&str] = &[
    "id",
    "createdDateTime",
    "displayName",
    "description",
    "internalId",
    "classification",
    "specialization",
    "visibility",
    "webUrl",
    "isArchived",
    "tenantId",
    "isMembershipLimitedToOwners",
];

const CHANNEL_FIELDS: &[&str] = &[
    "id",
    "createdDateTime",
    "displayName",
    "description",
    "isFavoriteByDefault",
    "email",
    "tenantId",
    "webUrl",
    "membershipType",
];

fn membership(kind: MembershipType) -> &'static str {
    match kind {
        MembershipType::Standard => "standard",
        MembershipType::Private => "private",
        MembershipType::Shared => "shared",
    }
}

fn channel_json(tenant: &Tenant, team: &Team, channel: &Channel) -> Value {
    json!({
        "id": channel.id,
        "createdDateTime": date(channel.created),
        "displayName": channel.display_name,
        "description": channel.description,
        "isFavoriteByDefault": null,
        "email": "",
        "tenantId": tenant.id.to_string(),
        "webUrl": format!(
            "https://teams.microsoft.com/l/channel/{}/{}?groupId={}&tenantId={}",
            encode_channel(&channel.id),
            percent_encoding::utf8_percent_encode(&channel.display_name, percent_encoding::NON_ALPHANUMERIC),
            team.id,
            tenant.id
        ),
        "membershipType": membership(channel.membership_type),
    })
}

fn select(v: Value, fields: &[String]) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| fields.iter().any(|f| f == k))
                .collect(),
        ),
        other => other,
    }
}

/// Parses `membershipType eq 'private'` (the one filter channel lists support).
fn membership_filter(raw: &str) -> Result<MembershipType, GraphError> {
    let bad = || {
        GraphError::bad_request(format!(
            "Invalid filter clause: '{raw}'. Only membershipType eq 'standard'|'private'|'shared' is supported."
        ))
    };
    let mut parts = raw.split_whitespace();
    let (Some(prop), Some(op), Some(value), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if !prop.eq_ignore_ascii_case("membershipType") || !op.eq_ignore_ascii_case("eq") {
        return Err(bad());
    }
    let value = value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .ok_or_else(bad)?;
    match value.to_ascii_lowercase().as_str() {
        "standard" => Ok(MembershipType::Standard),
        "private" => Ok(MembershipType::Private),
        "shared" => Ok(MembershipType::Shared),
        _ => Err(bad()),
    }
}

fn list_channels(
    state: &AppState,
    p: &Principal,
    segs: &Segs,
    raw: Option<&str>,
    include_shared: bool,
) -> Result<Response, GraphError> {
    require(p, READ_CHANNELS)?;
    let opts = Options::parse(raw);
    opts.only(&["$select", "$filter"])?;
    let filter = opts.get("$filter").map(membership_filter).transpose()?;
    let fields = opts.select(CHANNEL_FIELDS, "microsoft.graph.channel")?;
    let id = team_id(segs.at(0))?;
    let root = state.graph_root();
    let tenant = state.tenant.read();
    let team = member_team(&tenant, id, p.user_id)?;
    let value: Vec<Value> = team
        .channels
        .iter()
        .filter(|c| include_shared || c.membership_type != MembershipType::Shared)
        .filter(|c| filter.is_none_or(|f| c.membership_type == f))
        .filter(|c| c.visible_to(team, p.user_id))
        .map(|c| {
            let v = channel_json(&tenant, team, c);
            match &fields {
                Some(f) => select(v, f),
                None => v,
            }
        })
        .collect();
    let segment = if include_shared {
        "allChannels"
    } else {
        "channels"
    };
    Ok(json_value(
        StatusCode::OK,
        &json!({
            "@odata.context": format!("{root}/$metadata#teams('{}')/{segment}", team.id),
            "@odata.count": value.len(),
            "value": value,
        }),
    ))
}

/// `GET /teams/{t}/channels`: standard and private channels the user can see.
pub(crate) async fn channels(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    list_channels(&state, &p, &segs, q.as_deref(), false)
}

/// `GET /teams/{t}/allChannels`: also shared channels.
pub(crate) async fn all_channels(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    list_channels(&state, &p, &segs, q.as_deref(), true)
}

/// `GET /teams/{t}/channels/{c}`.
pub(crate) async fn channel(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    require(&p, READ_CHANNELS)?;
    let opts = Options::parse(q.as_deref());
    opts.only(&["$select"])?;
    let fields = opts.select(CHANNEL_FIELDS, "microsoft.graph.channel")?;
    let root = state.graph_root();
    let tenant = state.tenant.read();
    let (team, channel) = visible_channel(&tenant, segs.at(0), segs.at(1), p.user_id)?;
    let mut v = channel_json(&tenant, team, channel);
    if let Some(f) = fields {
        v = select(v, &f);
    }
    v["@odata.context"] = json!(format!(
        "{root}/$metadata#teams('{}')/channels/$entity",
        team.id
    ));
    Ok(json_value(StatusCode::OK, &v))
}

/// `GET /teams/{t}/channels/{c}/members`: `aadUserConversationMember`s.
pub(crate) async fn members(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    require(&p, READ_MEMBERS)?;
    let opts = Options::parse(q.as_deref());
    opts.only(&[])?;
    let root = state.graph_root();
    let tenant = state.tenant.read();
    let (team, channel) = visible_channel(&tenant, segs.at(0), segs.at(1), p.user_id)?;
    let members: Vec<(Uuid, Vec<String>)> = if channel.members.is_empty() {
        team.members.iter().map(|u| (*u, Vec::new())).collect()
    } else {
        channel
            .members
            .iter()
            .map(|m| (m.user_id, m.roles.clone()))
            .collect()
    };
    let value: Vec<Value> = members
        .into_iter()
        .map(|(user_id, roles)| {
            let user = tenant.user(user_id);
            let membership_id = base64::engine::general_purpose::STANDARD
                .encode(format!("1#{}#{}#{}", tenant.id, channel.id, user_id));
            json!({
                "@odata.type": "#microsoft.graph.aadUserConversationMember",
                "id": membership_id,
                "roles": roles,
                "displayName": user.map(|u| u.display_name.as_str()),
                "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
                "userId": user_id.to_string(),
                "email": user.map(|u| u.mail.as_str()),
                "tenantId": tenant.id.to_string(),
            })
        })
        .collect();
    Ok(json_value(
        StatusCode::OK,
        &json!({
            "@odata.context": format!(
                "{root}/$metadata#teams('{}')/channels('{}')/members",
                team.id,
                encode_channel(&channel.id)
            ),
            "@odata.count": value.len(),
            "value": value,
        }),
    ))
}
