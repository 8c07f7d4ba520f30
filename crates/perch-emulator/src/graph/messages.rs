//! Channel messages: the root-post list (`$top` ≤ 50, default 20, `$expand=replies`, newest
//! first, opaque `$skiptoken` paging), replies, single messages and replies, hosted contents,
//! and the writes (POST, PATCH, softDelete/undoSoftDelete, setReaction/unsetReaction, with or
//! without the `microsoft.graph.` prefix), which go through [`crate::ops`].
//!
//! Paging cursors are positions in the creation-ordered `roots` (or `replies`) list, which
//! only ever grows at the end, so a page sequence is stable while new posts arrive: they show
//! up on the next first page, never as duplicates in a running sequence.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;
use base64::Engine as _;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::query::Options;
use super::render::{self, channel_context, Ctx};
use super::support::{
    bytes_response, check_channel_id, check_message_id, json_body, json_bytes, json_value,
    no_content, require, team_id, visible_channel, Segs, READ_MESSAGES, SEND_MESSAGES,
    WRITE_MESSAGES,
};
use super::token::bind;
use crate::entra::Principal;
use crate::error::GraphError;
use crate::model::{
    Attachment, Channel, ContentType, HostedContent, Importance, Mention, MentionTarget, Message,
    Team, Tenant,
};
use crate::ops::{self, MessagePatch, NewMessage};
use crate::state::AppState;

/// Default and maximum page sizes for messages and replies.
const DEFAULT_TOP: usize = 20;
const MAX_TOP: usize = 50;

fn bad_skiptoken() -> GraphError {
    GraphError::bad_request("Invalid $skiptoken: the paging token is not valid for this request.")
}

/// `{root}/teams/{t}/channels/{c}/messages`.
pub(crate) fn messages_url(root: &str, team: Uuid, channel: &str) -> String {
    format!("{root}/teams/{team}/channels/{channel}/messages")
}

/// The nextLink of a replies page.
pub(crate) fn replies_next(
    state: &AppState,
    ctx: &Ctx<'_>,
    root_id: &str,
    upto: usize,
    top: usize,
) -> String {
    let token = state.graph.tokens.encode(
        "r",
        &[
            bind(&[&ctx.team.to_string(), ctx.channel, root_id]),
            upto as u64,
            top as u64,
        ],
    );
    format!(
        "{}/{root_id}/replies?$skiptoken={token}",
        messages_url(ctx.root, ctx.team, ctx.channel)
    )
}

/// Renders roots (with replies inline when `expand`) as page items.
pub(crate) fn root_items(
    state: &AppState,
    ctx: &Ctx<'_>,
    roots: &[&Message],
    expand: bool,
) -> Vec<Bytes> {
    let fragments = state.graph.cache.fragments(ctx, roots);
    if !expand {
        return fragments;
    }
    fragments
        .iter()
        .zip(roots)
        .map(|(f, m)| {
            Bytes::from(render::with_replies(
                &state.graph.cache,
                ctx,
                f,
                m,
                |upto| replies_next(state, ctx, &m.id, upto, MAX_TOP),
            ))
        })
        .collect()
}

fn ctx_of<'a>(root: &'a str, tenant: &Tenant, team: &Team, channel: &'a Channel) -> Ctx<'a> {
    Ctx {
        root,
        tenant: tenant.id,
        team: team.id,
        channel: &channel.id,
    }
}

/// `{"@odata.context":…,` + the fragment's members.
fn entity(context: &str, fragment: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(fragment.len() + context.len() + 24);
    out.extend_from_slice(b"{\"@odata.context\":");
    render::push_json_str(&mut out, context);
    if fragment.len() > 2 {
        out.push(b',');
        out.extend_from_slice(&fragment[1..]);
    } else {
        out.push(b'}');
    }
    out
}

/// `GET …/messages`.
pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    require(&p, READ_MESSAGES)?;
    let opts = Options::parse(q.as_deref());
    opts.only(&["$top", "$expand", "$skiptoken"])?;
    let root = state.graph_root();
    let body = {
        let tenant = state.tenant.read();
        let (team, channel) = visible_channel(&tenant, segs.at(0), segs.at(1), p.user_id)?;
        let ctx = ctx_of(&root, &tenant, team, channel);
        let roots = &channel.messages.roots;
        let binding = bind(&[&team.id.to_string(), &channel.id]);
        let (upto, top, expand) = match opts.get("$skiptoken") {
            Some(token) => {
                let f = state
                    .graph
                    .tokens
                    .decode("m", 4, token)
                    .ok_or_else(bad_skiptoken)?;
                if f[0] != binding || f[1] as usize > roots.len() {
                    return Err(bad_skiptoken());
                }
                let top = if opts.has("$top") {
                    opts.top(DEFAULT_TOP, MAX_TOP)?
                } else {
                    (f[2] as usize).clamp(1, MAX_TOP)
                };
                let expand = if opts.has("$expand") {
                    opts.expand_replies()?
                } else {
                    f[3] == 1
                };
                (f[1] as usize, top, expand)
            }
            None => (
                roots.len(),
                opts.top(DEFAULT_TOP, MAX_TOP)?,
                opts.expand_replies()?,
            ),
        };
        let start = upto.saturating_sub(top);
        let page: Vec<&Message> = roots[start..upto].iter().rev().collect();
        let items = root_items(&state, &ctx, &page, expand);
        let next = (start > 0).then(|| {
            let token = state
                .graph
                .tokens
                .encode("m", &[binding, start as u64, top as u64, u64::from(expand)]);
            format!(
                "{}?$skiptoken={token}",
                messages_url(&root, team.id, &channel.id)
            )
        });
        render::page(
            &format!("{}/messages", channel_context(&ctx)),
            next.as_deref(),
            None,
            &items,
        )
    };
    Ok(json_bytes(StatusCode::OK, body))
}

/// `GET …/messages/{m}/replies`.
pub(crate) async fn list_replies(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    require(&p, READ_MESSAGES)?;
    let opts = Options::parse(q.as_deref());
    opts.only(&["$top", "$skiptoken"])?;
    let message_id = segs.at(2);
    check_message_id(message_id)?;
    let root = state.graph_root();
    let body = {
        let tenant = state.tenant.read();
        let (team, channel) = visible_channel(&tenant, segs.at(0), segs.at(1), p.user_id)?;
        let ctx = ctx_of(&root, &tenant, team, channel);
        let message = root_message(channel, message_id)?;
        let replies = &message.replies;
        let (upto, top) = match opts.get("$skiptoken") {
            Some(token) => {
                let f = state
                    .graph
                    .tokens
                    .decode("r", 3, token)
                    .ok_or_else(bad_skiptoken)?;
                if f[0] != bind(&[&team.id.to_string(), &channel.id, &message.id])
                    || f[1] as usize > replies.len()
                {
                    return Err(bad_skiptoken());
                }
                let top = if opts.has("$top") {
                    opts.top(DEFAULT_TOP, MAX_TOP)?
                } else {
                    (f[2] as usize).clamp(1, MAX_TOP)
                };
                (f[1] as usize, top)
            }
            None => (replies.len(), opts.top(DEFAULT_TOP, MAX_TOP)?),
        };
        let start = upto.saturating_sub(top);
        let page: Vec<&Message> = replies[start..upto].iter().rev().collect();
        let items = state.graph.cache.fragments(&ctx, &page);
        let next = (start > 0).then(|| replies_next(&state, &ctx, &message.id, start, top));
        render::page(
            &format!(
                "{}/messages('{}')/replies",
                channel_context(&ctx),
                message.id
            ),
            next.as_deref(),
            None,
            &items,
        )
    };
    Ok(json_bytes(StatusCode::OK, body))
}

fn root_message<'a>(channel: &'a Channel, id: &str) -> Result<&'a Message, GraphError> {
    channel
        .messages
        .root_index(id)
        .and_then(|i| channel.messages.roots.get(i))
        .ok_or_else(|| GraphError::not_found(format!("Message '{id}' was not found.")))
}

fn reply_message<'a>(root: &'a Message, id: &str) -> Result<&'a Message, GraphError> {
    root.reply(id)
        .ok_or_else(|| GraphError::not_found(format!("Reply '{id}' was not found.")))
}

/// `GET …/messages/{m}` (`$expand=replies` allowed).
pub(crate) async fn get_root(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    require(&p, READ_MESSAGES)?;
    let opts = Options::parse(q.as_deref());
    opts.only(&["$expand"])?;
    let expand = opts.expand_replies()?;
    check_message_id(segs.at(2))?;
    let root = state.graph_root();
    let body = {
        let tenant = state.tenant.read();
        let (team, channel) = visible_channel(&tenant, segs.at(0), segs.at(1), p.user_id)?;
        let ctx = ctx_of(&root, &tenant, team, channel);
        let message = root_message(channel, segs.at(2))?;
        let item = root_items(&state, &ctx, &[message], expand)
            .pop()
            .unwrap_or_default();
        entity(
            &format!("{}/messages/$entity", channel_context(&ctx)),
            &item,
        )
    };
    Ok(json_bytes(StatusCode::OK, body))
}

/// `GET …/messages/{m}/replies/{r}`.
pub(crate) async fn get_reply(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    require(&p, READ_MESSAGES)?;
    Options::parse(q.as_deref()).only(&[])?;
    check_message_id(segs.at(2))?;
    check_message_id(segs.at(3))?;
    let root = state.graph_root();
    let body = {
        let tenant = state.tenant.read();
        let (team, channel) = visible_channel(&tenant, segs.at(0), segs.at(1), p.user_id)?;
        let ctx = ctx_of(&root, &tenant, team, channel);
        let message = root_message(channel, segs.at(2))?;
        let reply = reply_message(message, segs.at(3))?;
        let fragment = state.graph.cache.fragment(&ctx, reply);
        entity(
            &format!(
                "{}/messages('{}')/replies/$entity",
                channel_context(&ctx),
                message.id
            ),
            &fragment,
        )
    };
    Ok(json_bytes(StatusCode::OK, body))
}

// ---------------------------------------------------------------------------------------------
// Request bodies.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BodyIn {
    content_type: Option<String>,
    content: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageIn {
    body: Option<BodyIn>,
    subject: Option<String>,
    importance: Option<String>,
    mentions: Option<Vec<MentionIn>>,
    attachments: Option<Vec<AttachmentIn>>,
    hosted_contents: Option<Vec<HostedIn>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MentionIn {
    id: i32,
    mention_text: Option<String>,
    mentioned: MentionedIn,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MentionedIn {
    user: Option<IdentityIn>,
    conversation: Option<ConversationIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentityIn {
    id: String,
    display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConversationIn {
    id: String,
    display_name: Option<String>,
    conversation_identity_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttachmentIn {
    id: String,
    content_type: String,
    content_url: Option<String>,
    content: Option<String>,
    name: Option<String>,
    thumbnail_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HostedIn {
    #[serde(rename = "@microsoft.graph.temporaryId")]
    temporary_id: String,
    content_bytes: String,
    content_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReactionIn {
    reaction_type: Option<String>,
}

fn content_type(raw: Option<&str>) -> Result<ContentType, GraphError> {
    match raw.map(str::to_ascii_lowercase).as_deref() {
        None | Some("html") => Ok(ContentType::Html),
        Some("text") => Ok(ContentType::Text),
        Some(other) => Err(GraphError::bad_request(format!(
            "Invalid body contentType '{other}': expected 'text' or 'html'."
        ))),
    }
}

fn importance(raw: &str) -> Result<Importance, GraphError> {
    match raw.to_ascii_lowercase().as_str() {
        "normal" => Ok(Importance::Normal),
        "high" => Ok(Importance::High),
        "urgent" => Ok(Importance::Urgent),
        other => Err(GraphError::bad_request(format!(
            "Invalid importance '{other}': expected normal, high or urgent."
        ))),
    }
}

fn mentions(tenant: &Tenant, raw: Vec<MentionIn>) -> Result<Vec<Mention>, GraphError> {
    raw.into_iter()
        .map(|m| {
            let text = m.mention_text.unwrap_or_default();
            let mentioned = match (m.mentioned.user, m.mentioned.conversation) {
                (Some(user), _) => {
                    let id = Uuid::parse_str(&user.id).map_err(|_| {
                        GraphError::bad_request(format!("Invalid mentioned user id '{}'.", user.id))
                    })?;
                    let display_name = user
                        .display_name
                        .or_else(|| tenant.user(id).map(|u| u.display_name.clone()))
                        .unwrap_or_else(|| text.clone());
                    MentionTarget::User { id, display_name }
                }
                (None, Some(conv)) => MentionTarget::Conversation {
                    id: conv.id,
                    display_name: conv.display_name.unwrap_or_else(|| text.clone()),
                    kind: conv
                        .conversation_identity_type
                        .unwrap_or_else(|| "channel".to_owned()),
                },
                (None, None) => {
                    return Err(GraphError::bad_request(
                        "A mention needs mentioned.user or mentioned.conversation.",
                    ))
                }
            };
            Ok(Mention {
                id: m.id,
                mention_text: text,
                mentioned,
            })
        })
        .collect()
}

fn new_message(tenant: &Tenant, input: MessageIn) -> Result<NewMessage, GraphError> {
    let body = input
        .body
        .ok_or_else(|| GraphError::bad_request("Missing body content."))?;
    let mut new = NewMessage::html(body.content.unwrap_or_default());
    new.content_type = content_type(body.content_type.as_deref())?;
    new.subject = input.subject;
    if let Some(raw) = input.importance.as_deref() {
        new.importance = importance(raw)?;
    }
    new.mentions = mentions(tenant, input.mentions.unwrap_or_default())?;
    new.attachments = input
        .attachments
        .unwrap_or_default()
        .into_iter()
        .map(|a| Attachment {
            id: a.id,
            content_type: a.content_type,
            content_url: a.content_url,
            content: a.content,
            name: a.name,
            thumbnail_url: a.thumbnail_url,
        })
        .collect();
    new.hosted_contents = input
        .hosted_contents
        .unwrap_or_default()
        .into_iter()
        .map(|h| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(h.content_bytes.trim())
                .map_err(|_| {
                    GraphError::bad_request("hostedContents contentBytes is not base64.")
                })?;
            Ok(HostedContent {
                id: h.temporary_id,
                content_type: h.content_type,
                bytes,
            })
        })
        .collect::<Result<_, GraphError>>()?;
    Ok(new)
}

fn patch_of(tenant: &Tenant, value: Value) -> Result<MessagePatch, GraphError> {
    let Value::Object(map) = value else {
        return Err(GraphError::bad_request(
            "The request body must be a JSON object.",
        ));
    };
    let mut patch = MessagePatch::default();
    if let Some(body) = map.get("body") {
        let body: BodyIn = serde_json::from_value(body.clone())
            .map_err(|e| GraphError::bad_request(format!("Invalid body: {e}")))?;
        patch.content_type = Some(content_type(body.content_type.as_deref())?);
        patch.content = Some(body.content.unwrap_or_default());
    }
    if let Some(subject) = map.get("subject") {
        patch.subject = Some(match subject {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            _ => return Err(GraphError::bad_request("subject must be a string or null.")),
        });
    }
    if let Some(raw) = map.get("importance") {
        let raw = raw
            .as_str()
            .ok_or_else(|| GraphError::bad_request("importance must be a string."))?;
        patch.importance = Some(importance(raw)?);
    }
    if let Some(raw) = map.get("mentions") {
        let raw: Vec<MentionIn> = serde_json::from_value(raw.clone())
            .map_err(|e| GraphError::bad_request(format!("Invalid mentions: {e}")))?;
        patch.mentions = Some(mentions(tenant, raw)?);
    }
    Ok(patch)
}

/// Renders a just-written message with its `@odata.context`.
fn written(
    state: &AppState,
    team: Uuid,
    channel: &str,
    message: &Message,
    status: StatusCode,
) -> Response {
    let root = state.graph_root();
    let tenant_id = state.tenant.read().id;
    let ctx = Ctx {
        root: &root,
        tenant: tenant_id,
        team,
        channel,
    };
    let fragment = state.graph.cache.fragment(&ctx, message);
    let context = match &message.reply_to_id {
        None => format!("{}/messages/$entity", channel_context(&ctx)),
        Some(r) => format!("{}/messages('{r}')/replies/$entity", channel_context(&ctx)),
    };
    let mut response = json_bytes(status, entity(&context, &fragment));
    let location = match &message.reply_to_id {
        None => format!("{}/{}", messages_url(&root, team, channel), message.id),
        Some(r) => format!(
            "{}/{r}/replies/{}",
            messages_url(&root, team, channel),
            message.id
        ),
    };
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// `POST …/messages`: 201 with the new message.
pub(crate) async fn post_root(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    require(&p, SEND_MESSAGES)?;
    let team = team_id(segs.at(0))?;
    let channel = segs.at(1);
    check_channel_id(channel)?;
    let input: MessageIn = json_body(&headers, &body)?;
    let message = {
        let mut tenant = state.tenant.write();
        let new = new_message(&tenant, input)?;
        ops::post_message(&mut tenant, team, channel, p.user_id, new, Utc::now())?
    };
    Ok(written(
        &state,
        team,
        channel,
        &message,
        StatusCode::CREATED,
    ))
}

/// `POST …/messages/{m}/replies`: 201 with the new reply.
pub(crate) async fn post_reply(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    require(&p, SEND_MESSAGES)?;
    let team = team_id(segs.at(0))?;
    let channel = segs.at(1);
    check_channel_id(channel)?;
    check_message_id(segs.at(2))?;
    let input: MessageIn = json_body(&headers, &body)?;
    let message = {
        let mut tenant = state.tenant.write();
        let new = new_message(&tenant, input)?;
        ops::post_reply(
            &mut tenant,
            team,
            channel,
            segs.at(2),
            p.user_id,
            new,
            Utc::now(),
        )?
    };
    Ok(written(
        &state,
        team,
        channel,
        &message,
        StatusCode::CREATED,
    ))
}

fn patch(
    state: &AppState,
    p: &Principal,
    segs: &Segs,
    reply: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, GraphError> {
    require(p, WRITE_MESSAGES)?;
    let team = team_id(segs.at(0))?;
    let channel = segs.at(1);
    check_channel_id(channel)?;
    check_message_id(segs.at(2))?;
    if let Some(r) = reply {
        check_message_id(r)?;
    }
    let value: Value = json_body(headers, body)?;
    let mut tenant = state.tenant.write();
    let mut patch = patch_of(&tenant, value)?;
    // Graph keeps its own canonical URLs in bodies (an edited message's inline images refer
    // to `https://graph.microsoft.com/v1.0/…/hostedContents/…`), whatever host they came in on.
    if let Some(content) = &mut patch.content {
        let root = state.graph_root();
        if content.contains(&root) {
            *content = content.replace(&root, ops::CANONICAL_GRAPH_ROOT);
        }
    }
    ops::edit(
        &mut tenant,
        team,
        channel,
        segs.at(2),
        reply,
        p.user_id,
        patch,
        Utc::now(),
    )?;
    Ok(no_content())
}

/// `PATCH …/messages/{m}`: 204.
pub(crate) async fn patch_root(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    patch(&state, &p, &segs, None, &headers, &body)
}

/// `PATCH …/messages/{m}/replies/{r}`: 204.
pub(crate) async fn patch_reply(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let reply = segs.at(3).to_owned();
    patch(&state, &p, &segs, Some(&reply), &headers, &body)
}

#[allow(clippy::too_many_arguments)]
fn action(
    state: &AppState,
    p: &Principal,
    segs: &Segs,
    reply: Option<&str>,
    action: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, GraphError> {
    let name = action.strip_prefix("microsoft.graph.").unwrap_or(action);
    let team = team_id(segs.at(0))?;
    let channel = segs.at(1);
    check_channel_id(channel)?;
    check_message_id(segs.at(2))?;
    if let Some(r) = reply {
        check_message_id(r)?;
    }
    let message_id = segs.at(2);
    let now = Utc::now();
    match name {
        "softDelete" | "undoSoftDelete" => {
            require(p, WRITE_MESSAGES)?;
            let mut tenant = state.tenant.write();
            if name == "softDelete" {
                ops::soft_delete(
                    &mut tenant,
                    team,
                    channel,
                    message_id,
                    reply,
                    p.user_id,
                    now,
                )?;
            } else {
                ops::undo_soft_delete(
                    &mut tenant,
                    team,
                    channel,
                    message_id,
                    reply,
                    p.user_id,
                    now,
                )?;
            }
        }
        "setReaction" | "unsetReaction" => {
            require(p, SEND_MESSAGES)?;
            let input: ReactionIn = json_body(headers, body)?;
            let kind = input
                .reaction_type
                .ok_or_else(|| GraphError::bad_request("Missing reactionType."))?;
            let mut tenant = state.tenant.write();
            if name == "setReaction" {
                ops::set_reaction(
                    &mut tenant,
                    team,
                    channel,
                    message_id,
                    reply,
                    p.user_id,
                    &kind,
                    now,
                )?;
            } else {
                ops::unset_reaction(
                    &mut tenant,
                    team,
                    channel,
                    message_id,
                    reply,
                    p.user_id,
                    &kind,
                    now,
                )?;
            }
        }
        _ => {
            return Err(GraphError::bad_request(format!(
                "Resource not found for the segment '{action}'."
            )))
        }
    }
    Ok(no_content())
}

/// `POST …/messages/{m}/{softDelete|undoSoftDelete|setReaction|unsetReaction}`: 204.
pub(crate) async fn action_root(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let name = segs.at(3).to_owned();
    action(&state, &p, &segs, None, &name, &headers, &body)
}

/// `POST …/messages/{m}/replies/{r}/{action}`: 204.
pub(crate) async fn action_reply(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let reply = segs.at(3).to_owned();
    let name = segs.at(4).to_owned();
    action(&state, &p, &segs, Some(&reply), &name, &headers, &body)
}

// ---------------------------------------------------------------------------------------------
// Hosted contents.

enum Hosted {
    List,
    Get(String),
    Value(String),
}

fn hosted(
    state: &AppState,
    p: &Principal,
    segs: &Segs,
    reply: bool,
    what: Hosted,
) -> Result<Response, GraphError> {
    require(p, READ_MESSAGES)?;
    check_message_id(segs.at(2))?;
    if reply {
        check_message_id(segs.at(3))?;
    }
    let root = state.graph_root();
    let tenant = state.tenant.read();
    let (team, channel) = visible_channel(&tenant, segs.at(0), segs.at(1), p.user_id)?;
    let ctx = ctx_of(&root, &tenant, team, channel);
    let root_msg = root_message(channel, segs.at(2))?;
    let message = if reply {
        reply_message(root_msg, segs.at(3))?
    } else {
        root_msg
    };
    if message.deleted.is_some() {
        return Err(GraphError::not_found("The message has been deleted."));
    }
    let base = match &message.reply_to_id {
        None => format!(
            "{}/messages('{}')/hostedContents",
            channel_context(&ctx),
            message.id
        ),
        Some(r) => format!(
            "{}/messages('{r}')/replies('{}')/hostedContents",
            channel_context(&ctx),
            message.id
        ),
    };
    let find = |id: &str| {
        message
            .hosted_contents
            .iter()
            .find(|h| h.id == id)
            .ok_or_else(|| GraphError::not_found(format!("Hosted content '{id}' was not found.")))
    };
    match what {
        Hosted::List => {
            let value: Vec<Value> = message
                .hosted_contents
                .iter()
                .map(|h| json!({ "id": h.id, "contentBytes": null, "contentType": null }))
                .collect();
            Ok(json_value(
                StatusCode::OK,
                &json!({ "@odata.context": base, "value": value }),
            ))
        }
        Hosted::Get(id) => {
            let h = find(&id)?;
            Ok(json_value(
                StatusCode::OK,
                &json!({
                    "@odata.context": format!("{base}/$entity"),
                    "id": h.id,
                    "contentBytes": null,
                    "contentType": h.content_type,
                }),
            ))
        }
        Hosted::Value(id) => {
            let h = find(&id)?;
            Ok(bytes_response(&h.content_type, h.bytes.clone()))
        }
    }
}

/// `GET …/messages/{m}/hostedContents`.
pub(crate) async fn hosted_list_root(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
) -> Result<Response, GraphError> {
    hosted(&state, &p, &segs, false, Hosted::List)
}

/// `GET …/messages/{m}/hostedContents/{h}`.
pub(crate) async fn hosted_get_root(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
) -> Result<Response, GraphError> {
    let id = segs.at(3).to_owned();
    hosted(&state, &p, &segs, false, Hosted::Get(id))
}

/// `GET …/messages/{m}/hostedContents/{h}/$value`: the image bytes.
pub(crate) async fn hosted_value_root(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
) -> Result<Response, GraphError> {
    let id = segs.at(3).to_owned();
    hosted(&state, &p, &segs, false, Hosted::Value(id))
}

/// `GET …/replies/{r}/hostedContents`.
pub(crate) async fn hosted_list_reply(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
) -> Result<Response, GraphError> {
    hosted(&state, &p, &segs, true, Hosted::List)
}

/// `GET …/replies/{r}/hostedContents/{h}`.
pub(crate) async fn hosted_get_reply(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
) -> Result<Response, GraphError> {
    let id = segs.at(4).to_owned();
    hosted(&state, &p, &segs, true, Hosted::Get(id))
}

/// `GET …/replies/{r}/hostedContents/{h}/$value`.
pub(crate) async fn hosted_value_reply(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    segs: Segs,
) -> Result<Response, GraphError> {
    let id = segs.at(4).to_owned();
    hosted(&state, &p, &segs, true, Hosted::Value(id))
}
