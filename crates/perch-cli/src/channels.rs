//! The commands over the sync engine: `teams`, `channels`, `follow`/`unfollow`, `sync
//! [--watch]`, `read` and `search`. Each builds a perch-engine [`Engine`] for one account (the
//! same database and settings as the app, the account's tokens through perch-auth's token
//! manager) and prints from the local cache; only `sync`, `channels --refresh`, `read
//! --thread` (which fetches the thread) and `read --older` talk to Graph.
//!
//! CHANNEL is a channel id (`19:…@thread.tacv2`), `Team/Channel` by display names, or a
//! channel name that is unique across teams (case-insensitive).

use std::sync::Arc;

use perch_engine::{Engine, EngineConfig, EngineParts, Progress, Status, SyncStatus, TimelineDiff};
use perch_graph::{AccountTokens, ClientConfig, GraphClient};
use perch_store::{ChannelRow, SearchQuery, TeamRow, TimelineItem};
use serde_json::json;

use crate::cli::{ChannelsArgs, FollowArgs, ReadArgs, SearchArgs, SyncArgs};
use crate::commands::pick_account;
use crate::context::Context;
use crate::error::{CliError, ExitCode};
use crate::output::{print_json, print_table};

/// An engine for the chosen account, and what it was built from.
pub(crate) struct Session {
    /// The engine (no background task runs unless a command starts it).
    pub(crate) engine: Engine,
    /// The configuration it was built with.
    pub(crate) config: EngineConfig,
    /// Keeps the token manager (and its store connection) alive.
    _manager: perch_auth::TokenManager,
}

pub(crate) async fn session(ctx: &Context, account: Option<&str>) -> Result<Session, CliError> {
    let secrets = ctx.secrets(false)?;
    let manager = ctx.manager(secrets)?;
    let records = manager.accounts()?;
    let record = pick_account(&records, account)?;
    let tokens = Arc::new(AccountTokens {
        manager: manager.clone(),
        account: record.id,
    });
    let graph_base = record.hosts.graph.trim_end_matches('/').to_owned();
    let graph = GraphClient::new(
        ClientConfig {
            proxy: ctx.policy.policy.proxy.clone(),
            ..ClientConfig::new(graph_base.clone())
        },
        tokens,
    )?;
    let store = ctx.store()?;
    let config =
        EngineConfig::default().with_retention_days(ctx.policy.policy.cache_retention_days);
    let engine = Engine::new(EngineParts {
        account: record.id,
        graph,
        graph_base,
        store,
        config: config.clone(),
    });
    Ok(Session {
        engine,
        config,
        _manager: manager,
    })
}

/// Finds a channel by id, `Team/Channel` or unique name.
fn find_channel(
    teams: &[TeamRow],
    channels: &[ChannelRow],
    wanted: &str,
) -> Result<ChannelRow, CliError> {
    if let Some(c) = channels.iter().find(|c| c.id == wanted) {
        return Ok(c.clone());
    }
    let team_name = |id: &str| {
        teams
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.display_name.clone())
            .unwrap_or_default()
    };
    let matches: Vec<&ChannelRow> = match wanted.split_once('/') {
        Some((team, channel)) => channels
            .iter()
            .filter(|c| {
                team_name(&c.team_id).eq_ignore_ascii_case(team.trim())
                    && c.display_name.eq_ignore_ascii_case(channel.trim())
            })
            .collect(),
        None => channels
            .iter()
            .filter(|c| c.display_name.eq_ignore_ascii_case(wanted.trim()))
            .collect(),
    };
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(CliError::Usage(format!(
            "no channel matches `{wanted}`; see `perch-cli channels` (or `perch-cli channels --refresh`)"
        ))),
        _ => Err(CliError::Usage(format!(
            "`{wanted}` matches several channels; name it as Team/Channel or by its id"
        ))),
    }
}

/// Resolves CHANNEL (see the module docs) to the cached team and channel, fetching teams and
/// channels once when none are cached.
pub(crate) async fn resolve_channel(
    engine: &Engine,
    wanted: &str,
) -> Result<(TeamRow, ChannelRow), CliError> {
    let list = |sidebar: Vec<perch_engine::SidebarTeam>| {
        let mut teams: Vec<TeamRow> = Vec::new();
        let mut channels: Vec<ChannelRow> = Vec::new();
        for entry in sidebar {
            channels.extend(entry.channels.into_iter().map(|c| c.channel));
            teams.push(entry.team);
        }
        (teams, channels)
    };
    let (mut teams, mut channels) = list(engine.sidebar_snapshot().await?);
    if channels.is_empty() {
        // Nothing cached yet: fetch once (an account in no team stays empty).
        engine.refresh_structure().await?;
        (teams, channels) = list(engine.sidebar_snapshot().await?);
    }
    let channel = find_channel(&teams, &channels, wanted)?;
    let team = teams
        .into_iter()
        .find(|t| t.id == channel.team_id)
        .ok_or_else(|| CliError::Usage(format!("the team of `{wanted}` is no longer listed")))?;
    Ok((team, channel))
}

/// Teams and channels from the cache, fetched first with `refresh` or when none are cached.
async fn listed(
    engine: &Engine,
    refresh: bool,
) -> Result<Vec<perch_engine::SidebarTeam>, CliError> {
    let sidebar = engine.sidebar_snapshot().await?;
    if !refresh && !sidebar.is_empty() {
        return Ok(sidebar);
    }
    engine.refresh_structure().await?;
    Ok(engine.sidebar_snapshot().await?)
}

/// `teams`.
pub async fn teams(ctx: &Context, args: &ChannelsArgs, json: bool) -> Result<ExitCode, CliError> {
    let s = session(ctx, args.account.as_deref()).await?;
    let sidebar = listed(&s.engine, args.refresh).await?;
    if json {
        let teams: Vec<_> = sidebar
            .iter()
            .map(|t| {
                json!({
                    "id": t.team.id, "displayName": t.team.display_name,
                    "description": t.team.description, "channels": t.channels.len(),
                })
            })
            .collect();
        print_json(&json!({ "teams": teams }));
    } else {
        let mut rows = vec![vec![
            "TEAM".to_owned(),
            "CHANNELS".to_owned(),
            "ID".to_owned(),
        ]];
        for t in &sidebar {
            rows.push(vec![
                t.team.display_name.clone(),
                t.channels.len().to_string(),
                t.team.id.clone(),
            ]);
        }
        print_table(&rows);
    }
    Ok(ExitCode::Ok)
}

/// `channels`.
pub async fn channels(
    ctx: &Context,
    args: &ChannelsArgs,
    json: bool,
) -> Result<ExitCode, CliError> {
    let s = session(ctx, args.account.as_deref()).await?;
    let mut sidebar = listed(&s.engine, args.refresh).await?;
    if let Some(team) = &args.team {
        sidebar.retain(|t| t.team.id == *team || t.team.display_name.eq_ignore_ascii_case(team));
        if sidebar.is_empty() {
            return Err(CliError::Usage(format!(
                "no team matches `{team}`; see `perch-cli teams`"
            )));
        }
    }
    if json {
        let channels: Vec<_> = sidebar
            .iter()
            .flat_map(|t| {
                t.channels.iter().map(move |c| {
                    json!({
                        "teamId": t.team.id, "team": t.team.display_name,
                        "id": c.channel.id, "displayName": c.channel.display_name,
                        "membershipType": c.channel.membership_type,
                        "followed": c.channel.followed, "unread": c.unread, "mentions": c.mentions,
                        "lastActivity": c.last_activity,
                    })
                })
            })
            .collect();
        print_json(&json!({ "channels": channels }));
    } else {
        let mut rows = vec![vec![
            "TEAM/CHANNEL".to_owned(),
            "FOLLOWED".to_owned(),
            "UNREAD".to_owned(),
            "@".to_owned(),
            "ID".to_owned(),
        ]];
        for t in &sidebar {
            for c in &t.channels {
                rows.push(vec![
                    format!("{}/{}", t.team.display_name, c.channel.display_name),
                    if c.channel.followed { "yes" } else { "-" }.to_owned(),
                    c.unread.to_string(),
                    c.mentions.to_string(),
                    c.channel.id.clone(),
                ]);
            }
        }
        print_table(&rows);
    }
    Ok(ExitCode::Ok)
}

/// `follow` / `unfollow`.
pub async fn follow(
    ctx: &Context,
    args: &FollowArgs,
    followed: bool,
    json: bool,
) -> Result<ExitCode, CliError> {
    let s = session(ctx, args.account.as_deref()).await?;
    let mut done = Vec::new();
    for wanted in &args.channels {
        let (team, channel) = resolve_channel(&s.engine, wanted).await?;
        s.engine.set_followed(&channel.id, followed).await?;
        done.push((team, channel));
    }
    if json {
        let list: Vec<_> = done
            .iter()
            .map(|(t, c)| json!({"teamId": t.id, "id": c.id, "name": format!("{}/{}", t.display_name, c.display_name), "followed": followed}))
            .collect();
        print_json(&json!({ "channels": list }));
    } else {
        for (t, c) in &done {
            println!(
                "{} {}/{}",
                if followed {
                    "following"
                } else {
                    "no longer following"
                },
                t.display_name,
                c.display_name
            );
        }
    }
    Ok(ExitCode::Ok)
}

fn status_line(status: &Status) -> String {
    match &status.sync {
        SyncStatus::Idle { last_synced_at } => match last_synced_at {
            Some(at) => format!("synced ({})", at.format("%Y-%m-%d %H:%M:%S UTC")),
            None => "idle".to_owned(),
        },
        SyncStatus::Syncing { done, total, pages } => {
            format!("syncing: {done}/{total} channels, {pages} pages")
        }
        SyncStatus::Offline { reason, .. } => format!("offline: {reason}"),
        SyncStatus::Throttled { until } => {
            format!(
                "throttled by Microsoft Graph until {}",
                until.format("%H:%M:%S UTC")
            )
        }
        SyncStatus::NeedsSignIn { reason } => {
            format!("needs sign-in ({reason}): run `perch-cli login`")
        }
        SyncStatus::DiskFull { message } => format!("paused: {message}"),
        SyncStatus::Error { code, message } => format!("error {code}: {message}"),
    }
}

/// `sync [--watch]`.
pub async fn sync(ctx: &Context, args: &SyncArgs, json: bool) -> Result<ExitCode, CliError> {
    let s = session(ctx, args.account.as_deref()).await?;
    let engine = s.engine.clone();
    // The managed policy's cache retention, before anything new comes in.
    if let Err(e) = engine.apply_retention().await {
        eprintln!("perch-cli: the cache retention could not be applied: {e}");
    }
    // Teams and channels at most daily (Microsoft's polling rule), and a failure there does
    // not stop the channels already known from syncing.
    let structure = match engine.ensure_structure().await {
        Ok(fetched) => json!({ "refreshed": fetched }),
        Err(e) if e.needs_sign_in() => return Err(e.into()),
        Err(e) => {
            if !json {
                eprintln!("perch-cli: could not refresh teams and channels ({e}); syncing the cached ones");
            }
            json!({ "refreshed": false, "error": { "code": e.code(), "message": e.to_string() } })
        }
    };
    let mut targets: Vec<(TeamRow, ChannelRow)> = Vec::new();
    for wanted in &args.channels {
        targets.push(resolve_channel(&engine, wanted).await?);
    }
    let reports = if targets.is_empty() {
        let quiet = json;
        engine
            .sync_followed(move |p| {
                let Progress::Channel {
                    name,
                    done,
                    total,
                    result,
                    ..
                } = p;
                if quiet {
                    return;
                }
                match result {
                    Ok(r) => eprintln!(
                        "[{done}/{total}] {name}: {} new, {} changed ({} pages)",
                        r.inserted, r.updated, r.pages
                    ),
                    Err((code, message)) => {
                        eprintln!("[{done}/{total}] {name}: failed ({code}): {message}")
                    }
                }
            })
            .await?
    } else {
        let mut out = Vec::new();
        let total = targets.len();
        for (i, (team, channel)) in targets.iter().enumerate() {
            let result = engine.sync_channel(&channel.id).await;
            if !json {
                match &result {
                    Ok(r) => eprintln!(
                        "[{}/{total}] {}/{}: {} new, {} changed ({} pages)",
                        i + 1,
                        team.display_name,
                        channel.display_name,
                        r.inserted,
                        r.updated,
                        r.pages
                    ),
                    Err(e) => eprintln!(
                        "[{}/{total}] {}/{}: failed: {e}",
                        i + 1,
                        team.display_name,
                        channel.display_name
                    ),
                }
            }
            if let Err(e) = &result {
                if e.needs_sign_in() || e.disk_full() {
                    return Err(result.expect_err("an error").into());
                }
            }
            out.push((channel.id.clone(), result));
        }
        out
    };
    let failures = reports.iter().filter(|(_, r)| r.is_err()).count();
    // Merge the search index's new segments while we are here (bounded, milliseconds a step).
    if let Err(e) = engine.maintain_search(10_000).await {
        tracing::warn!(code = e.code(), error = %e, "search index maintenance failed");
    }
    if json {
        let channels: Vec<_> = reports
            .iter()
            .map(|(id, r)| match r {
                Ok(r) => json!({"id": id, "ok": true, "report": r}),
                Err(e) => json!({"id": id, "ok": false, "error": {"code": e.code(), "message": e.to_string()}}),
            })
            .collect();
        if !args.watch {
            print_json(
                &json!({ "structure": structure, "channels": channels, "status": *engine.status().borrow() }),
            );
        }
    } else if reports.is_empty() {
        eprintln!(
            "no channel is followed: `perch-cli follow CHANNEL` first, or name channels to sync"
        );
    }
    if !args.watch {
        return Ok(if failures > 0 {
            ExitCode::Failure
        } else {
            ExitCode::Ok
        });
    }
    watch(&engine, json).await
}

/// `sync --watch`: keeps the followed channels in sync at their interval, printing new
/// messages and status changes until Ctrl+C.
async fn watch(engine: &Engine, json: bool) -> Result<ExitCode, CliError> {
    let mut status = engine.status();
    let mut changes = engine.changes();
    engine.start();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    // The person asked to watch: that is attention, so the idle pause must not stop it (also
    // through a long quiet spell offline, when neither status nor messages change).
    let mut attention = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = attention.tick() => engine.user_input(),
            changed = status.changed() => {
                if changed.is_err() { break; }
                let now = status.borrow_and_update().clone();
                if json {
                    print_json(&json!({ "status": now }));
                } else {
                    eprintln!("status: {}", status_line(&now));
                }
            }
            change = changes.recv() => {
                let Ok(perch_engine::Change::Messages { inserted, .. }) = change else { continue };
                for key in inserted {
                    if let Some(row) = engine.message(key).await? {
                        if json {
                            print_json(&json!({ "message": message_json(&row) }));
                        } else {
                            println!("{}  {}: {}", row.created_at.format("%Y-%m-%d %H:%M"), row.from_name.as_deref().unwrap_or("-"), one_line(&row.body_text, 120));
                        }
                    }
                }
            }
        }
    }
    engine.shutdown();
    Ok(ExitCode::Ok)
}

/// `text` on one line, cut to `max` characters.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        let cut: String = flat.chars().take(max - 1).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

fn message_json(row: &perch_store::MessageRow) -> serde_json::Value {
    json!({
        "id": row.id, "replyToId": row.reply_to_id, "channelId": row.channel_id, "teamId": row.team_id,
        "createdDateTime": row.created_at, "lastModifiedDateTime": row.last_modified_at,
        "deletedDateTime": row.deleted_at, "subject": row.subject, "importance": row.importance,
        "from": row.from_name, "fromId": row.from_id, "text": row.body_text, "html": row.body_html,
        "mentionsMe": row.mentions_me, "webUrl": row.web_url,
        "reactions": row.reactions.iter().map(|r| json!({"reactionType": r.reaction_type, "user": r.display_name})).collect::<Vec<_>>(),
        "attachments": row.attachments.iter().map(|a| json!({"name": a.name, "contentType": a.content_type, "url": a.content_url})).collect::<Vec<_>>(),
    })
}

fn print_item(item: &TimelineItem, indent: &str) {
    let row = &item.row;
    let who = row.from_name.as_deref().unwrap_or("(system)");
    let when = row.created_at.format("%Y-%m-%d %H:%M");
    if row.deleted_at.is_some() {
        println!("{indent}{when}  {who}: (deleted)");
        return;
    }
    if let Some(subject) = &row.subject {
        println!("{indent}{when}  {who} — {subject}");
    } else {
        println!("{indent}{when}  {who}");
    }
    for line in row.body_text.lines().filter(|l| !l.trim().is_empty()) {
        println!("{indent}    {line}");
    }
    let mut extras = Vec::new();
    if !row.reactions.is_empty() {
        extras.push(format!("{} reactions", row.reactions.len()));
    }
    match item.reply_count {
        0 => {}
        1 => extras.push("1 reply".to_owned()),
        n => extras.push(format!("{n} replies")),
    }
    for a in &row.attachments {
        if let Some(name) = &a.name {
            extras.push(format!("file: {name}"));
        }
    }
    if !extras.is_empty() {
        println!("{indent}    [{}]  id {}", extras.join(", "), row.id);
    } else {
        println!("{indent}    id {}", row.id);
    }
}

/// `read CHANNEL [--thread ID]`.
pub async fn read(ctx: &Context, args: &ReadArgs, json: bool) -> Result<ExitCode, CliError> {
    let s = session(ctx, args.account.as_deref()).await?;
    let (team, channel) = resolve_channel(&s.engine, &args.channel).await?;
    if let Some(root) = &args.thread {
        let key = perch_store::MessageKey {
            channel_id: channel.id.clone(),
            root_id: root.clone(),
            id: root.clone(),
        };
        if !args.offline {
            s.engine.refresh_thread(&channel.id, root).await?;
        }
        let root_row = s.engine.message(key).await?.ok_or_else(|| {
            CliError::Usage(format!(
                "no post `{root}` is cached in {}/{}",
                team.display_name, channel.display_name
            ))
        })?;
        let (replies, _thread) = s.engine.thread(&channel.id, root).await?;
        if json {
            print_json(&json!({
                "root": message_json(&root_row),
                "replies": replies.iter().map(|i| message_json(&i.row)).collect::<Vec<_>>(),
            }));
        } else {
            print_item(
                &TimelineItem {
                    reply_count: replies.len() as i64,
                    last_reply_at: None,
                    unread: false,
                    row: root_row,
                    pending: Vec::new(),
                },
                "",
            );
            for reply in &replies {
                print_item(reply, "    ");
            }
        }
        return Ok(ExitCode::Ok);
    }
    let (mut items, mut timeline) = s.engine.timeline(&channel.id, args.limit).await?;
    if args.older && items.len() < args.limit {
        for diff in timeline.load_older(args.limit - items.len()).await? {
            if let TimelineDiff::Insert { item } = diff {
                items.push(item);
            }
        }
    }
    if let (Some(newest), true) = (items.first(), args.mark_read) {
        s.engine
            .mark_read(&channel.id, newest.row.created_at)
            .await?;
    }
    if json {
        print_json(&json!({
            "team": team.display_name, "channel": channel.display_name, "channelId": channel.id,
            "messages": items.iter().map(|i| {
                let mut m = message_json(&i.row);
                m["replyCount"] = json!(i.reply_count);
                m["unread"] = json!(i.unread);
                m
            }).collect::<Vec<_>>(),
        }));
    } else {
        if items.is_empty() {
            eprintln!(
                "nothing cached for {}/{} yet: `perch-cli sync \"{}/{}\"` fetches it",
                team.display_name, channel.display_name, team.display_name, channel.display_name
            );
        }
        // Oldest first reads naturally in a terminal.
        for item in items.iter().rev() {
            print_item(item, "");
        }
    }
    Ok(ExitCode::Ok)
}

/// `search QUERY`.
pub async fn search(ctx: &Context, args: &SearchArgs, json: bool) -> Result<ExitCode, CliError> {
    let s = session(ctx, args.account.as_deref()).await?;
    let channel_id = match &args.channel {
        Some(c) => Some(resolve_channel(&s.engine, c).await?.1.id),
        None => None,
    };
    let parse_date = |value: &Option<String>,
                      name: &str|
     -> Result<Option<chrono::DateTime<chrono::Utc>>, CliError> {
        match value {
            None => Ok(None),
            Some(v) => chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(|d| Some(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()))
                .map_err(|_| {
                    CliError::Usage(format!("--{name} wants a date like 2026-11-30, not `{v}`"))
                }),
        }
    };
    let query = SearchQuery {
        text: args.query.join(" "),
        team_id: args.team.clone(),
        channel_id,
        from_id: args.from.clone(),
        after: parse_date(&args.after, "after")?,
        before: parse_date(&args.before, "before")?,
        limit: args.limit,
    };
    let hits = s.engine.search(query).await?;
    let names: std::collections::HashMap<String, String> = s
        .engine
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
        .collect();
    if json {
        print_json(&json!({ "hits": hits }));
    } else {
        if hits.is_empty() {
            eprintln!("no cached message matches");
        }
        for hit in &hits {
            let snippet: String = hit
                .snippet
                .iter()
                .map(|p| {
                    if p.highlight {
                        format!("[{}]", p.text)
                    } else {
                        p.text.clone()
                    }
                })
                .collect();
            println!(
                "{}  {}: {}",
                hit.created_at.format("%Y-%m-%d %H:%M"),
                hit.from_name.as_deref().unwrap_or("-"),
                one_line(&snippet, 160)
            );
            let channel = names
                .get(&hit.key.channel_id)
                .unwrap_or(&hit.key.channel_id);
            println!("    in {channel}  id {}", hit.key.id);
        }
    }
    Ok(ExitCode::Ok)
}

/// What the cache holds for an account, from the database alone (no network): for `status`.
pub fn cache_summary(
    store: &perch_store::Store,
    account: &perch_core::AccountId,
) -> Result<(serde_json::Value, String), CliError> {
    use perch_store::CacheStore;
    let channels = store.channels(account)?;
    let followed: Vec<&ChannelRow> = channels.iter().filter(|c| c.followed).collect();
    let counts = store.counts(account)?;
    let unread: i64 = counts.iter().map(|c| c.unread).sum();
    let mentions: i64 = counts.iter().map(|c| c.mentions).sum();
    let mut last_synced: Option<chrono::DateTime<chrono::Utc>> = None;
    for c in &followed {
        let state = store.sync_state(account, &c.id)?;
        last_synced = last_synced.max(state.last_synced_at);
    }
    let messages = store.message_count(account, None)?;
    let text = format!(
        "cache: {} channels ({} followed), {messages} messages, {unread} unread ({mentions} @), {}",
        channels.len(),
        followed.len(),
        match last_synced {
            Some(at) => format!("synced {}", at.format("%Y-%m-%d %H:%M UTC")),
            None => "never synced".to_owned(),
        }
    );
    let value = json!({
        "channels": channels.len(), "followed": followed.len(), "messages": messages,
        "unread": unread, "mentions": mentions, "lastSyncedAt": last_synced,
    });
    Ok((value, text))
}
