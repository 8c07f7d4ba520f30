//! `perch-cli`: Perch's headless client. It signs people in and checks their tokens through
//! `perch-auth`, over the same settings (`perch-core`) and database (`perch-store`) as the
//! desktop app, and it prints for people or, with `--json`, for scripts.
//!
//! # Commands
//! - `login [--device-code] [--add] [--no-browser] [--account ACCOUNT]`: interactive sign-in
//!   through the system browser (`$BROWSER` first) or the device-code flow; `--add` asks Entra
//!   to let the person pick another account; an account that needs to sign in again is signed
//!   in with its UPN as `login_hint`.
//! - `logout [ACCOUNT] [--purge]`: deletes the account's refresh token (and with `--purge`
//!   its cached data and row).
//! - `accounts`: the accounts and their states.
//! - `status`: per account, its state and whether a token can be had right now (refreshing if
//!   needed); prints only how long the token has left; and what the cache holds (channels,
//!   followed, messages, unread and mentions, last sync), read from the database alone.
//! - `whoami [ACCOUNT]`: `GET /me` on Graph with the account's token.
//! - `teams`, `channels [--team T] [--refresh]`: the cached structure (fetched when empty),
//!   with followed, unread and mention counts.
//! - `follow CHANNEL…`, `unfollow CHANNEL…`: what is kept in sync in the background.
//! - `sync [CHANNEL…] [--watch]`: delta rounds of the followed (or named) channels, with
//!   progress on stderr; `--watch` keeps going at the followed interval and prints new
//!   messages.
//! - `read CHANNEL [--thread ID] [--limit N] [--older] [--mark-read]`: posts from the cache,
//!   or a thread (fetched first).
//! - `search QUERY… [--team] [--channel] [--from] [--after] [--before]`: offline search.
//! - `post CHANNEL [TEXT] [--subject S] [--importance normal|high|urgent]`, `reply CHANNEL
//!   MESSAGE [TEXT]`, `edit CHANNEL MESSAGE [TEXT] [--subject] [--importance]`, `delete` and
//!   `undelete CHANNEL MESSAGE`, `react` and `unreact CHANNEL MESSAGE REACTION`, each with
//!   `--queue-only`: writes through the outbox ([`writes`]); TEXT is plain text with a little
//!   markup and `@[Full Name]` / `@name` mentions, or stdin (`-`, or no TEXT and a pipe).
//!   MESSAGE is a message id, or `local-N` for a post or reply still unsent.
//! - `outbox [list] [--all] [--channel CHANNEL]`, `outbox send`, `outbox retry ID`, `outbox
//!   cancel ID`: the writes waiting to be sent.
//! - `doctor [--bundle PATH]`: the diagnostics checks ([`doctor`]), each pass, warn or fail
//!   with what to do; `--bundle` also writes a redacted zip of the findings and the logs for
//!   IT. It works without valid settings (their error is one of the findings).
//!
//! CHANNEL is a channel id, `Team/Channel`, or a channel name unique across teams.
//!
//! ACCOUNT is a UPN or `{tenant id}.{user id}`; without it, the only account.
//!
//! # Exit codes
//! | code | meaning |
//! |---|---|
//! | 0 | ok |
//! | 1 | other failure (declined, timed out, database error…) |
//! | 2 | usage: bad arguments (clap), ACCOUNT matches no account or several, or an unknown or ambiguous CHANNEL, MESSAGE or outbox ID |
//! | 3 | an account needs to sign in again (`status` also when there is no usable account) |
//! | 4 | an administrator must act: consent, Conditional Access |
//! | 5 | `doctor`: at least one check failed (the findings say what to do) |
//! | 65 | a write was refused as written (empty, too long, a bad link or mention, someone else's message, a deleted one…): nothing was queued; or Teams refused it for good when it was sent, or it expired unsent (it waits in the outbox for `outbox retry` or `outbox cancel`); or an outbox item cannot be retried or cancelled in its state |
//! | 69 | the sign-in service or Graph is unavailable or unreachable |
//! | 77 | the system keyring is unavailable or locked; `--session-only` avoids it |
//! | 78 | invalid or missing settings; the message names the setting and its source |
//!
//! A write that is queued but could not be sent yet (offline, throttled, its answer lost) exits
//! 0 and says so; one that waits because the account must sign in again exits 3.
//!
//! # Output
//! Results on stdout; with `--json` exactly one JSON document, errors included as
//! `{"error": {"code", "message", "hint", "exit_code"}}` (clap's usage errors excepted: text on
//! stderr, exit 2). Prompts and progress (the browser notice, the sign-in URL when no browser
//! starts, the device code) go to stderr. Logs go to stderr at `warn`; `PERCH_LOG` takes an
//! `EnvFilter` directive. They also go to a daily file `perch-cli.YYYY-MM-DD.log` in the log
//! folder (`PERCH_LOG_DIR`, else the OS's; see perch-diag), at `info` or `PERCH_LOG`, redacted.
//! No token is ever printed or logged.
//!
//! # `--session-only`
//! Refresh tokens are kept in memory (perch-auth's `MemoryStore`) instead of the keyring, for
//! machines without one. The account's row is still written, so the next command sees the
//! account, as needing sign-in: its token died with the process that signed in.
//!
//! # Test tool
//! The crate also builds `perch-test-browser`, a stand-in for `$BROWSER` used by the tests
//! against the emulator (see its source); it is not part of Perch.

pub mod channels;
pub mod cli;
pub mod commands;
pub mod context;
pub mod doctor;
pub mod error;
pub mod output;
pub mod whoami;
pub mod writes;

use clap::Parser as _;

pub use error::{CliError, ExitCode};

/// Parses the command line, runs the command and returns the process exit code.
pub fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    // The managed policy, read once: the log level and whether logs may hold message content,
    // then the settings layers, scopes and proxy (`Context::load`) and `doctor`.
    let policy = perch_core::policy::read_system();
    let logs = init_logging(&policy.policy);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("perch-cli: could not start: {e}");
            return std::process::ExitCode::from(ExitCode::Failure.as_i32() as u8);
        }
    };
    let diag = commands::Diag {
        policy,
        log_dir: logs
            .as_ref()
            .and_then(|g| g.dir.clone())
            .or_else(perch_diag::logging::current_log_dir),
    };
    let code = match runtime.block_on(commands::run(&cli, &diag)) {
        Ok(code) => code,
        Err(error) => {
            tracing::debug!(code = error.code(), "command failed");
            output::print_error(&error, cli.json);
            error.exit_code()
        }
    };
    // Do not wait for a blocked stdin reader or a Ctrl-C listener.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    // The log file's writer flushes as its guard goes.
    drop(logs);
    std::process::ExitCode::from(code.as_i32() as u8)
}

/// Logs to stderr at `warn` (or `PERCH_LOG`) as before, and to the day's redacted file in the
/// log folder (`PERCH_LOG_DIR`, else the OS's) at the policy's level, else `PERCH_LOG`, else
/// `info`.
fn init_logging(policy: &perch_core::policy::Policy) -> Option<perch_diag::LogGuard> {
    let mut config = perch_diag::LogConfig::from_env("perch-cli");
    config.stderr = Some(
        config
            .env_filter
            .clone()
            .unwrap_or_else(|| "warn".to_owned()),
    );
    config.ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    perch_diag::logging::init(&config, policy).ok()
}
