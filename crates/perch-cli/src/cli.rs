//! The command line, as clap derive types. Parsing only: what each command does is in
//! [`crate::commands`].

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The text after `--help`: exit codes and the environment.
const AFTER_HELP: &str = "\
Exit codes:
   0  ok
   1  other failure (sign-in declined or timed out, database error, ...)
   2  usage: bad arguments, ACCOUNT matches no account or several, or CHANNEL, MESSAGE or
      an outbox ID names nothing (or several)
   3  an account needs to sign in again (run `perch-cli login`)
   4  an administrator must act (consent for the app, Conditional Access)
   5  doctor: at least one check failed (each finding says what to do)
  65  a write was refused as written (empty, too long, a bad link or mention, someone
      else's message, a deleted one), nothing queued; or Teams refused it for good when sent,
      or it expired unsent (it waits: `outbox retry ID` or `outbox cancel ID`); or an outbox
      item cannot be retried or cancelled in its state
  69  the sign-in service or Microsoft Graph is unavailable or unreachable
  77  the system keyring is unavailable or locked (see --session-only)
  78  invalid settings (the message names the setting and where it came from)

A write (post, reply, edit, delete, undelete, react, unreact) that is queued but could not be
sent yet (offline, throttled) exits 0 and says so; `outbox send` or the app sends it later.

Settings, lowest to highest: built-in defaults, {data dir}/settings.json, environment
(PERCH_TENANT, PERCH_CLIENT_ID, PERCH_CLOUD, PERCH_LOGIN_HOST, PERCH_GRAPH_HOST, PERCH_SCOPES).
Logs go to stderr at `warn`; PERCH_LOG (e.g. `info`, `perch_auth=debug`) changes that.
They also go, redacted, to perch-cli.YYYY-MM-DD.log in PERCH_LOG_DIR, else the OS log folder
(~/.local/state/perch/logs, ~/Library/Logs/Perch, %LOCALAPPDATA%\\Perch\\logs).
No token is ever printed or logged.";

/// Perch's headless client for Microsoft Teams channels.
#[derive(Debug, Parser)]
#[command(name = "perch-cli", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Print one JSON document on stdout (results and errors), for scripts.
    #[arg(long, global = true)]
    pub json: bool,

    /// Where Perch keeps its database and settings.json [default: $PERCH_DATA_DIR, else the
    /// platform's data folder].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Keep refresh tokens in memory only, never in the system keyring: for machines without
    /// a keyring (Secret Service, Keychain, Credential Manager). The sign-in then lasts only
    /// for this one command; later commands see the account as needing sign-in.
    #[arg(long, global = true)]
    pub session_only: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in through the system browser ($BROWSER first), or with a device code.
    ///
    /// Without --add, an account that needs to sign in again is signed in with its name
    /// pre-filled (when it is the only one, or the one named by --account).
    Login(LoginArgs),
    /// Sign an account out: delete its refresh token from the keyring.
    Logout(LogoutArgs),
    /// List the accounts and whether they are signed in.
    Accounts,
    /// For each account: its state, whether a token can be had right now, and what the cache
    /// holds (followed channels, unread, last sync).
    Status,
    /// Ask Microsoft Graph who the account is (GET /me): checks the token end to end.
    Whoami(AccountArg),
    /// List the teams (from the cache; fetched when there are none, or with --refresh).
    Teams(ChannelsArgs),
    /// List the channels with followed, unread and mention counts.
    Channels(ChannelsArgs),
    /// Follow channels: they are kept in sync in the background (`sync`, the app).
    Follow(FollowArgs),
    /// Stop following channels.
    Unfollow(FollowArgs),
    /// Sync followed channels (or the ones named) from Graph into the cache, through delta.
    ///
    /// With --watch, keep them in sync at the followed-channel interval (5 minutes) and print
    /// new messages until Ctrl+C.
    Sync(SyncArgs),
    /// Print a channel's newest posts from the cache, or a thread (fetched first).
    Read(ReadArgs),
    /// Search the cached messages (offline).
    Search(SearchArgs),
    /// Post a new message in a channel.
    ///
    /// The message goes through the outbox: it is queued, then sent at once (unless
    /// --queue-only). Offline, it stays queued (exit 0) as `local-N` (a message id the other
    /// write commands accept) until `perch-cli outbox send` or the app sends it.
    ///
    /// TEXT is plain text with a little markup: **bold**, *italic*, ~~strike~~, `code`, a
    /// fenced ``` block, lines starting with "- " (bullets), "1. " (numbered) or "> " (quote),
    /// [text](https://…) and bare http(s) links. @[Full Name] mentions the channel member of
    /// that display name (refused if there is none); @word mentions the one member whose first
    /// name or e-mail name is `word` (otherwise it stays text). HTML in TEXT is never
    /// interpreted. Without TEXT, or with `-`, the message is read from stdin.
    Post(PostArgs),
    /// Reply in a thread: MESSAGE is the thread's first post.
    ///
    /// TEXT as for `post`.
    Reply(ReplyArgs),
    /// Edit one of your messages (its text, and for a post its subject and importance).
    ///
    /// TEXT as for `post`: it replaces the whole message. A post still in the outbox is
    /// rewritten there instead.
    Edit(EditArgs),
    /// Delete a message: yours, or anyone's as a channel owner (`undelete` brings it back).
    ///
    /// A post still in the outbox is cancelled instead.
    Delete(MessageArgs),
    /// Undo the delete of a message.
    Undelete(MessageArgs),
    /// Add your reaction to a message.
    React(ReactArgs),
    /// Remove your reaction from a message.
    Unreact(ReactArgs),
    /// The writes waiting to be sent: list them (default), send them, retry or cancel one.
    ///
    /// A write whose answer from Teams was lost is looked for in the channel before it is
    /// ever sent again, so nothing is posted twice.
    Outbox(OutboxArgs),
    /// Check what Perch depends on and say what to do: settings and policy, the keyring, the
    /// sign-in and Graph hosts, the proxy, the clock, granted permissions, the database, disk
    /// space, logs and versions.
    ///
    /// Each finding is pass, warn or fail with what was found and what to do. Exits 0 when
    /// nothing fails, 5 when a check fails. With --bundle, also writes a zip of the findings
    /// and the recent logs, with tokens, e-mail addresses and message text removed, to send to
    /// IT.
    Doctor(DoctorArgs),
}

/// `doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Also write the diagnostics bundle (a zip) here; a folder gets a file named
    /// perch-diagnostics-TIME.zip.
    #[arg(long, value_name = "PATH")]
    pub bundle: Option<PathBuf>,
}

/// What every write command takes besides its own arguments.
#[derive(Debug, clap::Args)]
pub struct WriteOptions {
    /// Only queue the write; `perch-cli outbox send` (or the app) sends it.
    #[arg(long)]
    pub queue_only: bool,
    /// UPN or `{tenant id}.{user id}`; default: the only account.
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
}

/// `post`.
#[derive(Debug, clap::Args)]
pub struct PostArgs {
    /// The channel: id, `Team/Channel`, or a unique channel name.
    pub channel: String,
    /// The message (see above); `-` or nothing: read it from stdin.
    pub text: Option<String>,
    /// The post's subject line.
    #[arg(long, value_name = "SUBJECT")]
    pub subject: Option<String>,
    /// normal (default), high or urgent.
    #[arg(long, value_name = "IMPORTANCE", value_parser = ["normal", "high", "urgent"])]
    pub importance: Option<String>,
    /// --queue-only and --account.
    #[command(flatten)]
    pub write: WriteOptions,
}

/// `reply`.
#[derive(Debug, clap::Args)]
pub struct ReplyArgs {
    /// The channel: id, `Team/Channel`, or a unique channel name.
    pub channel: String,
    /// The thread's first post: its id (as `read` shows it) or `local-N` while it is unsent.
    pub message: String,
    /// The reply (as for `post`); `-` or nothing: read it from stdin.
    pub text: Option<String>,
    /// --queue-only and --account.
    #[command(flatten)]
    pub write: WriteOptions,
}

/// `edit`.
#[derive(Debug, clap::Args)]
pub struct EditArgs {
    /// The channel: id, `Team/Channel`, or a unique channel name.
    pub channel: String,
    /// The message: its id (as `read` shows it) or `local-N` while it is unsent.
    pub message: String,
    /// The new text (as for `post`); `-` or nothing: read it from stdin.
    pub text: Option<String>,
    /// The post's new subject line (root posts only).
    #[arg(long, value_name = "SUBJECT")]
    pub subject: Option<String>,
    /// normal (default), high or urgent.
    #[arg(long, value_name = "IMPORTANCE", value_parser = ["normal", "high", "urgent"])]
    pub importance: Option<String>,
    /// --queue-only and --account.
    #[command(flatten)]
    pub write: WriteOptions,
}

/// `delete` and `undelete`.
#[derive(Debug, clap::Args)]
pub struct MessageArgs {
    /// The channel: id, `Team/Channel`, or a unique channel name.
    pub channel: String,
    /// The message: its id (as `read` shows it) or `local-N` while it is unsent.
    pub message: String,
    /// --queue-only and --account.
    #[command(flatten)]
    pub write: WriteOptions,
}

/// `react` and `unreact`.
#[derive(Debug, clap::Args)]
pub struct ReactArgs {
    /// The channel: id, `Team/Channel`, or a unique channel name.
    pub channel: String,
    /// The message: its id (as `read` shows it) or `local-N` while it is unsent.
    pub message: String,
    /// like, heart, laugh, surprised, sad, angry, or an emoji.
    pub reaction: String,
    /// --queue-only and --account.
    #[command(flatten)]
    pub write: WriteOptions,
}

/// `outbox`: without a subcommand, `outbox list`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct OutboxArgs {
    /// What to do (default: list).
    #[command(subcommand)]
    pub action: Option<OutboxAction>,
    /// The options of `outbox list`, for `outbox` alone.
    #[command(flatten)]
    pub list: OutboxListArgs,
}

/// The `outbox` subcommands.
#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// List the writes not yet sent (with --all, also the sent and cancelled ones): id, state,
    /// kind, channel, target, attempts, next attempt and the last error.
    List(OutboxListArgs),
    /// Send everything that can be sent now (failed writes are tried at once), then say how
    /// many were sent and how many still wait.
    Send(OutboxSendArgs),
    /// Queue a wedged or expired write again (a failed one: try it now), then send it
    /// (unless --queue-only).
    Retry(OutboxRetryArgs),
    /// Discard a write not yet sent, and the writes that wait for it.
    Cancel(OutboxItemArgs),
}

/// `outbox list`.
#[derive(Debug, clap::Args)]
pub struct OutboxListArgs {
    /// Also the writes already sent or cancelled.
    #[arg(long)]
    pub all: bool,
    /// Only this channel (id, `Team/Channel` or unique name).
    #[arg(long, value_name = "CHANNEL")]
    pub channel: Option<String>,
    /// UPN or `{tenant id}.{user id}`; default: the only account.
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
}

/// `outbox send`.
#[derive(Debug, clap::Args)]
pub struct OutboxSendArgs {
    /// UPN or `{tenant id}.{user id}`; default: the only account.
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
}

/// `outbox retry`.
#[derive(Debug, clap::Args)]
pub struct OutboxRetryArgs {
    /// The outbox item: its number (as `outbox` lists it) or `local-N`.
    #[arg(value_name = "ID")]
    pub id: String,
    /// --queue-only and --account.
    #[command(flatten)]
    pub write: WriteOptions,
}

/// `outbox cancel`.
#[derive(Debug, clap::Args)]
pub struct OutboxItemArgs {
    /// The outbox item: its number (as `outbox` lists it) or `local-N`.
    #[arg(value_name = "ID")]
    pub id: String,
    /// UPN or `{tenant id}.{user id}`; default: the only account.
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
}

/// `teams` and `channels`.
#[derive(Debug, clap::Args)]
pub struct ChannelsArgs {
    /// Fetch the teams and channels from Graph first.
    #[arg(long)]
    pub refresh: bool,
    /// Only this team (id or name; `channels` only).
    #[arg(long, value_name = "TEAM")]
    pub team: Option<String>,
    /// UPN or `{tenant id}.{user id}`; default: the only account.
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
}

/// `follow` and `unfollow`.
#[derive(Debug, clap::Args)]
pub struct FollowArgs {
    /// Channel ids, `Team/Channel` names, or unique channel names.
    #[arg(required = true, value_name = "CHANNEL")]
    pub channels: Vec<String>,
    /// UPN or `{tenant id}.{user id}`; default: the only account.
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
}

/// `sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Only these channels (default: every followed channel).
    #[arg(value_name = "CHANNEL")]
    pub channels: Vec<String>,
    /// Keep syncing and print new messages until Ctrl+C.
    #[arg(long)]
    pub watch: bool,
    /// UPN or `{tenant id}.{user id}`; default: the only account.
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
}

/// `read`.
#[derive(Debug, clap::Args)]
pub struct ReadArgs {
    /// The channel: id, `Team/Channel`, or a unique channel name.
    pub channel: String,
    /// Show this post's thread (its replies are fetched from Graph first).
    #[arg(long, value_name = "POST_ID")]
    pub thread: Option<String>,
    /// How many posts.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// When the cache has fewer posts, fetch older history from Graph.
    #[arg(long)]
    pub older: bool,
    /// With --thread: do not fetch, show only what is cached.
    #[arg(long)]
    pub offline: bool,
    /// Mark the channel read up to the newest post shown.
    #[arg(long)]
    pub mark_read: bool,
    /// UPN or `{tenant id}.{user id}`; default: the only account.
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
}

/// `search`.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Words to find (the last one also matches as a prefix).
    #[arg(required = true, value_name = "QUERY")]
    pub query: Vec<String>,
    /// Only this team (id).
    #[arg(long, value_name = "TEAM_ID")]
    pub team: Option<String>,
    /// Only this channel (id, `Team/Channel` or unique name).
    #[arg(long, value_name = "CHANNEL")]
    pub channel: Option<String>,
    /// Only messages from this user id.
    #[arg(long, value_name = "USER_ID")]
    pub from: Option<String>,
    /// Only messages from this day on (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub after: Option<String>,
    /// Only messages before this day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub before: Option<String>,
    /// How many hits.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// UPN or `{tenant id}.{user id}`; default: the only account.
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
}

/// `login`.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// Sign in with a code entered on another device (no browser needed here).
    #[arg(long)]
    pub device_code: bool,
    /// Add another account: let the person pick or add an account (prompt=select_account).
    #[arg(long, conflicts_with = "account")]
    pub add: bool,
    /// Do not start a browser; print the sign-in address to open by hand.
    #[arg(long)]
    pub no_browser: bool,
    /// Sign this known account in again (UPN or `{tenant id}.{user id}`).
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
}

/// `logout`.
#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    /// UPN or `{tenant id}.{user id}`; default: the only account.
    pub account: Option<String>,
    /// Also delete the account's cached data and its row.
    #[arg(long)]
    pub purge: bool,
}

/// An optional account argument.
#[derive(Debug, clap::Args)]
pub struct AccountArg {
    /// UPN or `{tenant id}.{user id}`; default: the only account.
    pub account: Option<String>,
}
