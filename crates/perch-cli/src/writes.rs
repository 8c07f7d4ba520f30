//! The write commands: `post`, `reply`, `edit`, `delete`, `undelete`, `react`, `unreact` and
//! `outbox [list|send|retry|cancel]`. Every write goes through perch-engine's outbox: the engine
//! checks it (and refuses it, exit 65, with its reason, before anything is queued), queues it,
//! and this process then sends what can be sent now ([`Engine::drain_outbox`]: the CLI runs no
//! background task) unless `--queue-only`. What is printed is the item's state afterwards:
//!
//! - sent: exit 0, with the server's message id for a post or reply;
//! - still queued or failed for a reason that passes (offline, throttled, the answer lost):
//!   exit 0, saying so; `outbox send` or the app sends it later, exactly once;
//! - failed because the account must sign in again: exit 3;
//! - wedged (Teams refused it for good: 403, the message is gone) or expired: exit 65, with
//!   the reason and what to run (`outbox retry ID`, `outbox cancel ID`).
//!
//! An unsent post or reply is named `local-{outbox id}` (its local echo's id) wherever a
//! MESSAGE is taken. The text syntax is perch-core's [`parse_text`]; mentions resolve against
//! the channel's members ([`resolve_mention`]).

use std::collections::HashMap;
use std::io::IsTerminal as _;

use chrono::{DateTime, Utc};
use perch_core::compose::{parse_text, ComposeError, Draft, MentionTarget};
use perch_engine::{DrainReport, Engine, EngineError, NewPost};
use perch_store::{ChannelRow, MemberRow, OutboxItem, OutboxKind, OutboxState, TeamRow};
use serde_json::{json, Value};

use crate::channels::{one_line, resolve_channel, session, Session};
use crate::cli::{
    EditArgs, MessageArgs, OutboxAction, OutboxArgs, OutboxItemArgs, OutboxListArgs,
    OutboxRetryArgs, OutboxSendArgs, PostArgs, ReactArgs, ReplyArgs, WriteOptions,
};
use crate::context::Context;
use crate::error::{CliError, ExitCode};
use crate::output::{print_json, print_table};

/// The text of a write: TEXT, or stdin when TEXT is `-`, or absent and stdin is not a terminal.
async fn message_text(arg: Option<&str>) -> Result<String, CliError> {
    match arg {
        Some("-") => read_stdin().await,
        Some(text) => Ok(text.to_owned()),
        None if std::io::stdin().is_terminal() => Err(CliError::Usage(
            "give the message as TEXT, or pipe it on stdin (TEXT `-` reads stdin too)".into(),
        )),
        None => read_stdin().await,
    }
}

async fn read_stdin() -> Result<String, CliError> {
    tokio::task::spawn_blocking(|| std::io::read_to_string(std::io::stdin()))
        .await
        .map_err(|e| CliError::Engine(EngineError::from(e)))?
        .map_err(CliError::Stdin)
}

/// The member a mention names, if exactly one does: `name` equal to a display name
/// (case-insensitive); else, for a single word, the member whose display name's first word,
/// or the local part of whose e-mail address, is `name` (case-insensitive).
pub fn resolve_mention(members: &[MemberRow], name: &str) -> Option<MentionTarget> {
    let name = name.trim();
    let target = |m: &MemberRow| MentionTarget {
        user_id: m.user_id.clone(),
        name: m.display_name.clone(),
    };
    let full: Vec<&MemberRow> = members
        .iter()
        .filter(|m| m.display_name.trim().eq_ignore_ascii_case(name))
        .collect();
    match full.as_slice() {
        [one] => return Some(target(one)),
        [] => {}
        _ => return None,
    }
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return None;
    }
    let by_word: Vec<&MemberRow> = members
        .iter()
        .filter(|m| {
            let first = m.display_name.split_whitespace().next().unwrap_or_default();
            let local = m
                .email
                .as_deref()
                .and_then(|e| e.split_once('@'))
                .map_or("", |(local, _)| local);
            first.eq_ignore_ascii_case(name) || local.eq_ignore_ascii_case(name)
        })
        .collect();
    match by_word.as_slice() {
        [one] => Some(target(one)),
        _ => None,
    }
}

/// Parses TEXT into a draft, resolving mentions against the channel's members (fetched only
/// when the text has an `@`).
async fn draft(engine: &Engine, channel: &ChannelRow, text: &str) -> Result<Draft, CliError> {
    let members = if text.contains('@') {
        engine.members(&channel.id, false).await?
    } else {
        Vec::new()
    };
    match parse_text(text, &|name| resolve_mention(&members, name)) {
        Ok(draft) => Ok(draft),
        Err(ComposeError::UnknownMention { name }) if members.is_empty() => {
            Err(CliError::Network(format!(
                "the members of the channel are not cached and could not be fetched, so @[{name}] cannot be checked; try again online"
            )))
        }
        Err(e) => Err(EngineError::from(e).into()),
    }
}

/// The channel's display name, `Team/Channel`.
fn channel_name(team: &TeamRow, channel: &ChannelRow) -> String {
    format!("{}/{}", team.display_name, channel.display_name)
}

/// `local-N`: the message id of an unsent post or reply.
fn echo_id(item: &OutboxItem) -> String {
    format!("local-{}", item.id)
}

/// An outbox item as printed with `--json`.
fn item_json(item: &OutboxItem, channel: Option<&str>) -> Value {
    json!({
        "id": item.id,
        "echo_id": item.kind.creates_message().then(|| echo_id(item)),
        "kind": item.kind.as_str(),
        "state": item.state.as_str(),
        "server_id": item.server_id,
        "last_error_code": item.last_error_code,
        "last_error_message": item.last_error_message,
        "attempts": item.attempts,
        "channel_id": item.channel_id,
        "channel": channel,
        "thread_root": item.thread_root,
        "target_id": item.target_id,
        "depends_on": item.depends_on,
        "enqueued_at": item.enqueued_at,
        "next_attempt_at": item.next_attempt_at,
    })
}

/// The message an item acts on, as a person names it.
fn target_words(item: &OutboxItem) -> String {
    match (&item.target_id, item.depends_on) {
        (Some(target), _) => target.clone(),
        (None, Some(n)) => format!("local-{n}"),
        (None, None) => "?".to_owned(),
    }
}

/// What a sent item did, e.g. `1700000000000` (a post) or `edit of 1700000000000`.
fn sent_words(item: &OutboxItem) -> String {
    let reaction = item
        .payload
        .get("reaction")
        .and_then(Value::as_str)
        .unwrap_or("like")
        .to_owned();
    let target = target_words(item);
    match item.kind {
        OutboxKind::Post => item.server_id.clone().unwrap_or_else(|| echo_id(item)),
        OutboxKind::Reply => format!(
            "{}, a reply to {}",
            item.server_id.clone().unwrap_or_else(|| echo_id(item)),
            item.thread_root
                .clone()
                .or(item.depends_on.map(|n| format!("local-{n}")))
                .unwrap_or_else(|| "?".to_owned())
        ),
        OutboxKind::Edit => format!("edit of {target}"),
        OutboxKind::Delete => format!("delete of {target}"),
        OutboxKind::Undelete => format!("undelete of {target}"),
        OutboxKind::React => format!("reaction {reaction} on {target}"),
        OutboxKind::Unreact => format!("reaction {reaction} removed from {target}"),
    }
}

/// How an item is named while unsent: `local-N` for a post or reply, else `outbox item N (edit)`.
fn unsent_words(item: &OutboxItem) -> String {
    if item.kind.creates_message() {
        echo_id(item)
    } else {
        format!(
            "outbox item {} ({} of {})",
            item.id,
            item.kind,
            target_words(item)
        )
    }
}

/// Whether an error code says the account must sign in again.
fn sign_in_code(code: Option<&str>) -> bool {
    matches!(code, Some("needs_sign_in" | "unauthorized"))
}

/// An item's state as a verdict: the exit code, the line for people, and the error (code,
/// message, hint) when it is not a success.
struct Verdict {
    exit: ExitCode,
    line: String,
    error: Option<(String, String, String)>,
}

fn verdict(item: &OutboxItem, channel: &str) -> Verdict {
    let reason = match (&item.last_error_code, &item.last_error_message) {
        (Some(code), Some(message)) => format!(" ({code}: {message})"),
        (Some(code), None) => format!(" ({code})"),
        _ => String::new(),
    };
    let n = item.id;
    match item.state {
        OutboxState::Sent => Verdict {
            exit: ExitCode::Ok,
            line: format!("sent: {} ({channel})", sent_words(item)),
            error: None,
        },
        OutboxState::Cancelled => Verdict {
            exit: ExitCode::Ok,
            line: format!(
                "cancelled: {} ({channel}) was never sent",
                unsent_words(item)
            ),
            error: None,
        },
        OutboxState::Queued | OutboxState::Failed | OutboxState::Sending
            if sign_in_code(item.last_error_code.as_deref()) =>
        {
            let message = format!(
                "queued: {}: not sent, the account must sign in again{reason}",
                unsent_words(item)
            );
            Verdict {
                exit: ExitCode::NeedsSignIn,
                line: message.clone(),
                error: Some((
                    item.last_error_code.clone().unwrap_or_default(),
                    message,
                    "run `perch-cli login`, then `perch-cli outbox send`".to_owned(),
                )),
            }
        }
        OutboxState::Queued | OutboxState::Failed | OutboxState::Sending => {
            let waits = match (item.depends_on, item.last_error_code.is_none()) {
                (Some(d), true) => format!(" (after local-{d})"),
                _ => reason,
            };
            Verdict {
                exit: ExitCode::Ok,
                line: format!(
                    "queued: {}: will be sent by `perch-cli outbox send` or the app{waits}",
                    unsent_words(item)
                ),
                error: None,
            }
        }
        OutboxState::Wedged | OutboxState::Expired => {
            let why = if item.state == OutboxState::Expired {
                "it was not sent within 24 hours".to_owned()
            } else {
                format!(
                    "Teams refused it: {}",
                    item.last_error_message
                        .as_deref()
                        .unwrap_or("no reason given")
                )
            };
            let message = format!("not sent: {} ({channel}): {why}", unsent_words(item));
            Verdict {
                exit: ExitCode::Refused,
                line: message.clone(),
                error: Some((
                    match item.state {
                        OutboxState::Expired => "expired".to_owned(),
                        _ => item
                            .last_error_code
                            .clone()
                            .unwrap_or_else(|| "wedged".to_owned()),
                    },
                    message,
                    format!("it waits in the outbox: `perch-cli outbox retry {n}` sends it again, `perch-cli outbox cancel {n}` discards it"),
                )),
            }
        }
    }
}

/// Prints an item's verdict and returns the exit code.
fn report(item: &OutboxItem, channel: &str, json: bool) -> ExitCode {
    let v = verdict(item, channel);
    if json {
        let mut doc = item_json(item, Some(channel));
        if let Some((code, message, hint)) = &v.error {
            doc["error"] = json!({
                "code": code, "message": message, "hint": hint, "exit_code": v.exit.as_i32(),
            });
        }
        print_json(&doc);
    } else if let Some((_, message, hint)) = &v.error {
        eprintln!("perch-cli: {message}");
        eprintln!("  {hint}");
    } else {
        println!("{}", v.line);
    }
    v.exit
}

/// Sends what can be sent now (unless `queue_only`), then reports `item` as it ended.
async fn finish(
    s: &Session,
    team: &TeamRow,
    channel: &ChannelRow,
    item: OutboxItem,
    write: &WriteOptions,
    json: bool,
) -> Result<ExitCode, CliError> {
    let item = if write.queue_only {
        item
    } else {
        s.engine.drain_outbox().await?;
        s.engine.outbox_item(item.id).await?.unwrap_or(item)
    };
    Ok(report(&item, &channel_name(team, channel), json))
}

/// `post`.
pub async fn post(ctx: &Context, args: &PostArgs, json: bool) -> Result<ExitCode, CliError> {
    let text = message_text(args.text.as_deref()).await?;
    let s = session(ctx, args.write.account.as_deref()).await?;
    let (team, channel) = resolve_channel(&s.engine, &args.channel).await?;
    let draft = draft(&s.engine, &channel, &text).await?;
    let item = s
        .engine
        .post(
            &channel.id,
            NewPost {
                draft,
                subject: args.subject.clone(),
                importance: args.importance.clone(),
            },
        )
        .await?;
    finish(&s, &team, &channel, item, &args.write, json).await
}

/// `reply`.
pub async fn reply(ctx: &Context, args: &ReplyArgs, json: bool) -> Result<ExitCode, CliError> {
    let text = message_text(args.text.as_deref()).await?;
    let s = session(ctx, args.write.account.as_deref()).await?;
    let (team, channel) = resolve_channel(&s.engine, &args.channel).await?;
    let draft = draft(&s.engine, &channel, &text).await?;
    let item = s.engine.reply(&channel.id, &args.message, &draft).await?;
    finish(&s, &team, &channel, item, &args.write, json).await
}

/// `edit`.
pub async fn edit(ctx: &Context, args: &EditArgs, json: bool) -> Result<ExitCode, CliError> {
    let text = message_text(args.text.as_deref()).await?;
    let s = session(ctx, args.write.account.as_deref()).await?;
    let (team, channel) = resolve_channel(&s.engine, &args.channel).await?;
    let draft = draft(&s.engine, &channel, &text).await?;
    let item = s
        .engine
        .edit(
            &channel.id,
            &args.message,
            NewPost {
                draft,
                subject: args.subject.clone(),
                importance: args.importance.clone(),
            },
        )
        .await?;
    finish(&s, &team, &channel, item, &args.write, json).await
}

/// `delete` (`undo` false) and `undelete` (`undo` true).
pub async fn delete(
    ctx: &Context,
    args: &MessageArgs,
    undo: bool,
    json: bool,
) -> Result<ExitCode, CliError> {
    let s = session(ctx, args.write.account.as_deref()).await?;
    let (team, channel) = resolve_channel(&s.engine, &args.channel).await?;
    let item = if undo {
        s.engine.undelete(&channel.id, &args.message).await?
    } else {
        s.engine.delete(&channel.id, &args.message).await?
    };
    finish(&s, &team, &channel, item, &args.write, json).await
}

/// `react` (`on` true) and `unreact` (`on` false).
pub async fn react(
    ctx: &Context,
    args: &ReactArgs,
    on: bool,
    json: bool,
) -> Result<ExitCode, CliError> {
    let s = session(ctx, args.write.account.as_deref()).await?;
    let (team, channel) = resolve_channel(&s.engine, &args.channel).await?;
    let item = if on {
        s.engine
            .react(&channel.id, &args.message, &args.reaction)
            .await?
    } else {
        s.engine
            .unreact(&channel.id, &args.message, &args.reaction)
            .await?
    };
    finish(&s, &team, &channel, item, &args.write, json).await
}

/// `outbox …`.
pub async fn outbox(ctx: &Context, args: &OutboxArgs, json: bool) -> Result<ExitCode, CliError> {
    match &args.action {
        None => list(ctx, &args.list, json).await,
        Some(OutboxAction::List(list_args)) => list(ctx, list_args, json).await,
        Some(OutboxAction::Send(send_args)) => send(ctx, send_args, json).await,
        Some(OutboxAction::Retry(retry_args)) => retry(ctx, retry_args, json).await,
        Some(OutboxAction::Cancel(cancel_args)) => cancel(ctx, cancel_args, json).await,
    }
}

/// `Team/Channel` for every cached channel id.
async fn channel_names(engine: &Engine) -> Result<HashMap<String, String>, CliError> {
    Ok(engine
        .sidebar_snapshot()
        .await?
        .into_iter()
        .flat_map(|t| {
            let team = t.team.display_name.clone();
            t.channels.into_iter().map(move |c| {
                (
                    c.channel.id.clone(),
                    format!("{team}/{}", c.channel.display_name),
                )
            })
        })
        .collect())
}

fn name_of<'a>(names: &'a HashMap<String, String>, item: &'a OutboxItem) -> &'a str {
    names
        .get(&item.channel_id)
        .map_or(item.channel_id.as_str(), String::as_str)
}

fn when(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "-".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

/// The target or thread column of the outbox table.
fn target_column(item: &OutboxItem) -> String {
    match item.kind {
        OutboxKind::Post => item
            .payload
            .get("subject")
            .and_then(Value::as_str)
            .map_or_else(
                || "-".to_owned(),
                |s| format!("subject: {}", one_line(s, 30)),
            ),
        OutboxKind::Reply => match (&item.thread_root, item.depends_on) {
            (Some(root), _) => format!("in {root}"),
            (None, Some(n)) => format!("in local-{n}"),
            _ => "-".to_owned(),
        },
        OutboxKind::React | OutboxKind::Unreact => format!(
            "{} {}",
            item.payload
                .get("reaction")
                .and_then(Value::as_str)
                .unwrap_or("like"),
            target_words(item)
        ),
        _ => target_words(item),
    }
}

/// `outbox [list]`.
async fn list(ctx: &Context, args: &OutboxListArgs, json: bool) -> Result<ExitCode, CliError> {
    let s = session(ctx, args.account.as_deref()).await?;
    let channel_id = match &args.channel {
        Some(c) => Some(resolve_channel(&s.engine, c).await?.1.id),
        None => None,
    };
    let items = s.engine.outbox(channel_id.as_deref(), args.all).await?;
    let names = channel_names(&s.engine).await?;
    if json {
        let list: Vec<Value> = items
            .iter()
            .map(|i| item_json(i, Some(name_of(&names, i))))
            .collect();
        print_json(&json!({ "items": list }));
        return Ok(ExitCode::Ok);
    }
    if items.is_empty() {
        println!(
            "{}",
            if args.all {
                "The outbox is empty."
            } else {
                "Nothing waits to be sent."
            }
        );
        return Ok(ExitCode::Ok);
    }
    let mut rows = vec![[
        "ID", "STATE", "KIND", "CHANNEL", "TARGET", "ATTEMPTS", "NEXT", "ERROR",
    ]
    .map(str::to_owned)
    .to_vec()];
    for item in &items {
        let error = match item.state {
            OutboxState::Sent | OutboxState::Cancelled => String::new(),
            _ => item
                .last_error_message
                .as_deref()
                .map(|m| one_line(m, 80))
                .unwrap_or_default(),
        };
        let next = match item.state {
            OutboxState::Failed => when(item.next_attempt_at),
            _ => "-".to_owned(),
        };
        rows.push(vec![
            item.id.to_string(),
            item.state.as_str().to_owned(),
            item.kind.as_str().to_owned(),
            name_of(&names, item).to_owned(),
            target_column(item),
            item.attempts.to_string(),
            next,
            error,
        ]);
    }
    print_table(&rows);
    Ok(ExitCode::Ok)
}

/// Drains the outbox, then once more after a short wait if a write whose answer was lost in an
/// earlier run (in doubt: it is looked for in the channel before it is sent again) was left
/// only because its settling time had not passed.
async fn drain_settled(s: &Session) -> Result<DrainReport, CliError> {
    let in_doubt = |i: &OutboxItem| {
        i.kind.creates_message()
            && i.state == OutboxState::Failed
            && i.last_error_code.as_deref() == Some(perch_engine::outbox::UNCONFIRMED)
    };
    let before: Vec<i64> = s
        .engine
        .outbox(None, false)
        .await?
        .into_iter()
        .filter(in_doubt)
        .map(|i| i.id)
        .collect();
    let mut report = s.engine.drain_outbox().await?;
    let settle = chrono::Duration::from_std(s.config.reconcile_settle).unwrap_or_default();
    let now = Utc::now();
    let wait = s
        .engine
        .outbox(None, false)
        .await?
        .into_iter()
        .filter(|i| in_doubt(i) && before.contains(&i.id))
        .filter_map(|i| i.attempt_started_at.map(|t| t + settle - now))
        .filter(|d| *d > chrono::Duration::zero() && *d <= settle)
        .max();
    if let Some(wait) = wait {
        tokio::time::sleep(
            wait.to_std().unwrap_or_default() + std::time::Duration::from_millis(100),
        )
        .await;
        let again = s.engine.drain_outbox().await?;
        report.sent += again.sent;
        report.waiting = again.waiting;
    }
    Ok(report)
}

/// `outbox send`.
async fn send(ctx: &Context, args: &OutboxSendArgs, json: bool) -> Result<ExitCode, CliError> {
    let s = session(ctx, args.account.as_deref()).await?;
    // The person asked to send now: failed writes do not wait for their next retry time.
    for item in s.engine.outbox(None, false).await? {
        if item.state == OutboxState::Failed {
            s.engine.retry(item.id).await?;
        }
    }
    let report = drain_settled(&s).await?;
    let left = s.engine.outbox(None, false).await?;
    let names = channel_names(&s.engine).await?;
    let verdicts: Vec<(Verdict, &OutboxItem)> = left
        .iter()
        .map(|i| (verdict(i, name_of(&names, i)), i))
        .collect();
    // The worst: something needing the person (65), then sign-in (3), else fine.
    let exit = [ExitCode::Refused, ExitCode::NeedsSignIn]
        .into_iter()
        .find(|code| verdicts.iter().any(|(v, _)| v.exit == *code))
        .unwrap_or(ExitCode::Ok);
    if json {
        print_json(&json!({
            "sent": report.sent,
            "waiting": report.waiting,
            "items": left.iter().map(|i| item_json(i, Some(name_of(&names, i)))).collect::<Vec<_>>(),
            "exit_code": exit.as_i32(),
        }));
    } else {
        println!("sent: {}, waiting: {}", report.sent, report.waiting);
        for (v, _) in &verdicts {
            match &v.error {
                Some((_, message, hint)) => {
                    eprintln!("perch-cli: {message}");
                    eprintln!("  {hint}");
                }
                None => println!("  {}", v.line),
            }
        }
    }
    Ok(exit)
}

/// An outbox id: `12` or `local-12`.
fn outbox_id(arg: &str) -> Result<i64, CliError> {
    let digits = arg.trim().strip_prefix("local-").unwrap_or(arg.trim());
    digits.parse::<i64>().map_err(|_| {
        CliError::Usage(format!(
            "`{arg}` is not an outbox item: give its number as `perch-cli outbox` lists it"
        ))
    })
}

/// `outbox retry ID`.
async fn retry(ctx: &Context, args: &OutboxRetryArgs, json: bool) -> Result<ExitCode, CliError> {
    let id = outbox_id(&args.id)?;
    let s = session(ctx, args.write.account.as_deref()).await?;
    let item = s
        .engine
        .outbox_item(id)
        .await?
        .ok_or(EngineError::UnknownOutboxItem(id))?;
    if !s.engine.retry(id).await? {
        return Err(CliError::Refused {
            code: "not_retryable",
            message: format!(
                "outbox item {id} is {}: only failed, wedged or expired writes can be retried",
                item.state
            ),
        });
    }
    if !args.write.queue_only {
        drain_settled(&s).await?;
    }
    let item = s.engine.outbox_item(id).await?.unwrap_or(item);
    let names = channel_names(&s.engine).await?;
    Ok(report(&item, name_of(&names, &item), json))
}

/// `outbox cancel ID`.
async fn cancel(ctx: &Context, args: &OutboxItemArgs, json: bool) -> Result<ExitCode, CliError> {
    let id = outbox_id(&args.id)?;
    let s = session(ctx, args.account.as_deref()).await?;
    if !s.engine.cancel(id).await? {
        let state = s
            .engine
            .outbox_item(id)
            .await?
            .map_or("gone".to_owned(), |i| i.state.to_string());
        return Err(CliError::Refused {
            code: "not_cancellable",
            message: format!(
                "outbox item {id} is {state}: only writes not yet sent (and not being sent) can be cancelled"
            ),
        });
    }
    let item = s
        .engine
        .outbox_item(id)
        .await?
        .ok_or(EngineError::UnknownOutboxItem(id))?;
    let names = channel_names(&s.engine).await?;
    Ok(report(&item, name_of(&names, &item), json))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, email: Option<&str>) -> MemberRow {
        MemberRow {
            user_id: name.to_lowercase().replace(' ', "-"),
            display_name: name.to_owned(),
            email: email.map(str::to_owned),
            roles: Vec::new(),
        }
    }

    #[test]
    fn mentions_resolve_to_exactly_one_member() {
        let members = vec![
            member("Adele Vance", Some("AdeleV@contoso.example")),
            member("Alex Wilber", Some("alexw@contoso.example")),
            member("Alex Smith", None),
            member("Megan Bowen", Some("meganb@contoso.example")),
        ];
        let id = |name: &str| resolve_mention(&members, name).map(|t| t.user_id);
        assert_eq!(id("adele vance").as_deref(), Some("adele-vance"));
        assert_eq!(id("Adele").as_deref(), Some("adele-vance"));
        assert_eq!(id("adelev").as_deref(), Some("adele-vance"));
        assert_eq!(id("alexw").as_deref(), Some("alex-wilber"));
        assert_eq!(id("Alex"), None, "two members are called Alex");
        assert_eq!(id("Megan Bowen").as_deref(), Some("megan-bowen"));
        assert_eq!(id("Megan B"), None);
        assert_eq!(id("nobody"), None);
        let target = resolve_mention(&members, "MEGAN").unwrap();
        assert_eq!(target.name, "Megan Bowen");
    }

    #[test]
    fn outbox_ids() {
        assert_eq!(outbox_id("12").unwrap(), 12);
        assert_eq!(outbox_id("local-7").unwrap(), 7);
        assert!(outbox_id("x").is_err());
    }
}
