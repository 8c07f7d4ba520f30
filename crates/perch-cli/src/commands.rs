//! The commands. Each resolves its [`Context`], calls perch-auth's [`TokenManager`] (or, for
//! `whoami`, Graph once), prints its result through [`crate::output`] and returns the exit
//! code. They are thin on purpose: sign-in, custody, refresh and NeedsSignIn are perch-auth's.
//!
//! `--session-only` and later commands: the refresh token lives in this process's memory only,
//! so the next command finds the account's row (stored as signed in) but no token. `accounts`
//! shows such an account as needing sign-in, `status` reports `needs_sign_in` (exit 3, and
//! records the state), and a plain `login` signs it in again with its name pre-filled.

use std::sync::Arc;
use std::time::Duration;

use perch_auth::{
    AuthError, BrowserOpener, Custody, DeviceCodeNotice, InteractiveOptions, SecretStore,
    SystemOpener, TokenManager,
};
use perch_store::{AccountRecord, AccountState};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::cli::{AccountArg, Cli, Command, LoginArgs, LogoutArgs};
use crate::context::Context;
use crate::error::{CliError, ExitCode};
use crate::output::{self, print_json, print_table, state_words, AccountView};

/// What `main` set up for diagnostics: the managed policy and the log folder.
#[derive(Debug, Clone, Default)]
pub struct Diag {
    /// The managed policy as read.
    pub policy: perch_core::policy::PolicyReport,
    /// Where the log files are.
    pub log_dir: Option<std::path::PathBuf>,
}

/// Runs the parsed command line.
pub async fn run(cli: &Cli, diag: &Diag) -> Result<ExitCode, CliError> {
    // `doctor` must work when the settings do not: it reports their error as a finding.
    if let Command::Doctor(args) = &cli.command {
        return crate::doctor::run(cli, args, diag).await;
    }
    let ctx = Context::load(cli.data_dir.clone(), cli.session_only, &diag.policy)?;
    match &cli.command {
        Command::Login(args) => login(&ctx, args, cli.json).await,
        Command::Logout(args) => logout(&ctx, args, cli.json).await,
        Command::Accounts => accounts(&ctx, cli.json).await,
        Command::Status => status(&ctx, cli.json).await,
        Command::Whoami(args) => crate::whoami::run(&ctx, args, cli.json).await,
        Command::Teams(args) => crate::channels::teams(&ctx, args, cli.json).await,
        Command::Channels(args) => crate::channels::channels(&ctx, args, cli.json).await,
        Command::Follow(args) => crate::channels::follow(&ctx, args, true, cli.json).await,
        Command::Unfollow(args) => crate::channels::follow(&ctx, args, false, cli.json).await,
        Command::Sync(args) => crate::channels::sync(&ctx, args, cli.json).await,
        Command::Read(args) => crate::channels::read(&ctx, args, cli.json).await,
        Command::Search(args) => crate::channels::search(&ctx, args, cli.json).await,
        Command::Post(args) => crate::writes::post(&ctx, args, cli.json).await,
        Command::Reply(args) => crate::writes::reply(&ctx, args, cli.json).await,
        Command::Edit(args) => crate::writes::edit(&ctx, args, cli.json).await,
        Command::Delete(args) => crate::writes::delete(&ctx, args, false, cli.json).await,
        Command::Undelete(args) => crate::writes::delete(&ctx, args, true, cli.json).await,
        Command::React(args) => crate::writes::react(&ctx, args, true, cli.json).await,
        Command::Unreact(args) => crate::writes::react(&ctx, args, false, cli.json).await,
        Command::Outbox(args) => crate::writes::outbox(&ctx, args, cli.json).await,
        Command::Doctor(args) => crate::doctor::run(cli, args, diag).await,
    }
}

fn custody_name(custody: Custody) -> &'static str {
    match custody {
        Custody::Keyring => "keyring",
        Custody::SessionOnly => "session_only",
    }
}

/// Finds the account an ACCOUNT argument names (UPN, case-insensitive, or `{tid}.{oid}`), or
/// the only account when there is no argument.
pub fn pick_account(
    records: &[AccountRecord],
    wanted: Option<&str>,
) -> Result<AccountRecord, CliError> {
    match wanted {
        Some(wanted) => {
            let by_id = wanted.parse::<perch_core::AccountId>().ok();
            let found: Vec<&AccountRecord> = records
                .iter()
                .filter(|r| Some(r.id) == by_id || r.upn.eq_ignore_ascii_case(wanted))
                .collect();
            match found.as_slice() {
                [one] => Ok((*one).clone()),
                [] => Err(CliError::Usage(format!(
                    "no account matches `{wanted}`; see `perch-cli accounts`"
                ))),
                _ => Err(CliError::Usage(format!(
                    "`{wanted}` matches several accounts (one per tenant); name it as {{tenant id}}.{{user id}}"
                ))),
            }
        }
        None => match records {
            [one] => Ok(one.clone()),
            [] => Err(CliError::Usage(
                "there are no accounts; run `perch-cli login`".into(),
            )),
            _ => Err(CliError::Usage(
                "there are several accounts; name one (UPN or {tenant id}.{user id}), see `perch-cli accounts`".into(),
            )),
        },
    }
}

/// Whether the custody holds a refresh token for the account (`None`: could not tell).
async fn has_refresh_token(secrets: &Arc<dyn SecretStore>, record: &AccountRecord) -> Option<bool> {
    let secrets = secrets.clone();
    let id = record.id;
    tokio::task::spawn_blocking(move || secrets.get(&id).map(|t| t.is_some()))
        .await
        .ok()?
        .map_err(|e| tracing::warn!(account = %id, code = e.code(), error = %e, "could not read the keyring"))
        .ok()
}

/// The CLI's browser opener: says what it does on stderr, honours `--no-browser`, and otherwise
/// uses perch-auth's [`SystemOpener`] (`$BROWSER`, then the platform's opener).
struct CliOpener {
    no_browser: bool,
}

impl BrowserOpener for CliOpener {
    fn open(&self, url: &str) -> Result<(), String> {
        if self.no_browser {
            return Err("--no-browser".into());
        }
        eprintln!("Opening your browser to sign in…");
        SystemOpener.open(url)
    }

    fn show_url(&self, url: &str, reason: &str) {
        if self.no_browser {
            eprintln!("Open this address in a browser to sign in:\n\n  {url}\n");
        } else {
            eprintln!(
                "Could not open a browser ({reason}). Open this address to sign in:\n\n  {url}\n"
            );
        }
        eprintln!("Waiting for the sign-in to finish…");
    }
}

/// Cancels `token` on Ctrl-C, so that a waiting sign-in ends as "cancelled".
fn cancel_on_ctrl_c() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            trigger.cancel();
        }
    });
    token
}

async fn login(ctx: &Context, args: &LoginArgs, json: bool) -> Result<ExitCode, CliError> {
    let org = ctx.organisation()?.clone();
    let secrets = ctx.secrets(true)?;
    let manager = ctx.manager(secrets.clone())?;
    let records = manager.accounts()?;

    // Which known account this sign-in is for, if any: the one named, else the only one that
    // needs to sign in again (unless adding another account).
    let again = match &args.account {
        Some(wanted) => Some(pick_account(&records, Some(wanted))?),
        None if args.add => None,
        None => {
            let mut needing = Vec::new();
            for record in &records {
                let needs = match record.state {
                    AccountState::NeedsSignIn => true,
                    AccountState::SignedIn => {
                        has_refresh_token(&secrets, record).await == Some(false)
                    }
                    AccountState::SignedOut => false,
                };
                if needs {
                    needing.push(record.clone());
                }
            }
            (needing.len() == 1).then(|| needing.remove(0))
        }
    };

    let cancel = cancel_on_ctrl_c();
    let record = if args.device_code {
        if let Some(record) = &again {
            eprintln!("Sign in as {}.", record.upn);
        }
        let notify = |notice: &DeviceCodeNotice| {
            match &notice.message {
                Some(message) => eprintln!("{message}"),
                None => eprintln!(
                    "To sign in, open {} and enter the code {}",
                    notice.verification_uri, notice.user_code
                ),
            }
            eprintln!("Waiting for the sign-in to finish…");
        };
        manager
            .sign_in_with_device_code(&org, &notify, &cancel)
            .await?
    } else {
        let opener = CliOpener {
            no_browser: args.no_browser,
        };
        let options = InteractiveOptions {
            cancel: cancel.clone(),
            ..InteractiveOptions::default()
        };
        match &again {
            Some(record) => manager.sign_in_again(&record.id, &opener, &options).await?,
            None if args.add => manager.add_account(&org, &opener, &options).await?,
            None => manager.sign_in(&org, &opener, &options).await?,
        }
    };

    let view = AccountView::of(&record);
    let custody = custody_name(manager.custody());
    if json {
        print_json(&json!({ "account": view, "custody": custody }));
    } else {
        println!("Signed in.");
        output::print_account(&view);
        if manager.custody() == Custody::SessionOnly {
            println!("(--session-only: the sign-in ends with this command; nothing was stored in the keyring)");
        }
    }
    Ok(ExitCode::Ok)
}

async fn logout(ctx: &Context, args: &LogoutArgs, json: bool) -> Result<ExitCode, CliError> {
    let secrets = ctx.secrets(false)?;
    let manager = ctx.manager(secrets)?;
    let record = pick_account(&manager.accounts()?, args.account.as_deref())?;
    manager.sign_out(&record.id, args.purge).await?;
    let mut view = AccountView::of(&record);
    view.state = AccountState::SignedOut.as_str();
    view.state_reason = None;
    if json {
        print_json(&json!({ "signed_out": view, "purged": args.purge }));
    } else if args.purge {
        println!("Signed out {} and deleted its cached data.", record.upn);
    } else {
        println!("Signed out {}.", record.upn);
    }
    Ok(ExitCode::Ok)
}

async fn accounts(ctx: &Context, json: bool) -> Result<ExitCode, CliError> {
    // Listing works without a keyring: the states are then shown as stored.
    let secrets = match ctx.secrets(false) {
        Ok(secrets) => Some(secrets),
        Err(e) => {
            tracing::warn!(code = e.code(), error = %e, "showing the stored states only");
            None
        }
    };
    let store = ctx.store()?;
    let records = store.accounts()?;
    let mut views = Vec::new();
    for record in &records {
        let has = match &secrets {
            Some(secrets) => has_refresh_token(secrets, record).await,
            None => None,
        };
        views.push(AccountView::effective(record, has));
    }
    let custody = match &secrets {
        Some(s) => custody_name(s.custody()),
        None => "unavailable",
    };
    if json {
        print_json(&json!({ "accounts": views, "custody": custody }));
    } else if views.is_empty() {
        println!("No accounts. Run `perch-cli login` to sign in.");
    } else {
        let mut rows = vec![vec![
            "NAME".into(),
            "UPN".into(),
            "TENANT".into(),
            "STATE".into(),
        ]];
        for v in &views {
            rows.push(vec![
                v.display_name.clone(),
                v.upn.clone(),
                v.tenant_id.clone(),
                state_words(v.state).into(),
            ]);
        }
        print_table(&rows);
    }
    Ok(ExitCode::Ok)
}

/// Minutes left, rounded down.
fn minutes(left: Duration) -> u64 {
    left.as_secs() / 60
}

async fn status(ctx: &Context, json: bool) -> Result<ExitCode, CliError> {
    let secrets = ctx.secrets(false)?;
    let manager = ctx.manager(secrets)?;
    let records = manager.accounts()?;
    let store = ctx.store()?;
    let mut exit = None;
    let mut any_ok = false;
    let mut entries = Vec::new();
    let mut rows = Vec::new();
    for record in &records {
        let (token_json, token_text) = if record.state == AccountState::SignedOut {
            (
                json!({ "ok": false, "code": "signed_out", "message": "signed out" }),
                "token: none (signed out)".to_owned(),
            )
        } else {
            match token_status(&manager, record).await {
                Ok(left) => {
                    any_ok = true;
                    let m = minutes(left);
                    (
                        json!({ "ok": true, "expires_in_minutes": m }),
                        format!("token: ok (expires in {m} min)"),
                    )
                }
                Err(e) => {
                    let err = CliError::Auth(e);
                    exit.get_or_insert(err.exit_code());
                    let hint = err.hint();
                    let text = match hint {
                        Some(h) => format!("token: {}: {err}; {h}", err.code()),
                        None => format!("token: {}: {err}", err.code()),
                    };
                    (
                        json!({ "ok": false, "code": err.code(), "message": err.to_string(), "hint": hint }),
                        text,
                    )
                }
            }
        };
        // The state after the attempt (a refused refresh token makes it NeedsSignIn).
        let now = manager
            .account(&record.id)
            .unwrap_or_else(|_| record.clone());
        let view = AccountView::of(&now);
        let (cache_json, cache_text) = crate::channels::cache_summary(&store, &record.id)?;
        rows.push(vec![
            view.upn.clone(),
            state_words(view.state).into(),
            token_text,
        ]);
        rows.push(vec![String::new(), String::new(), cache_text]);
        let mut entry = serde_json::to_value(&view).unwrap_or_default();
        entry["token"] = token_json;
        entry["cache"] = cache_json;
        entries.push(entry);
    }
    let exit = match exit {
        Some(code) => code,
        None if any_ok => ExitCode::Ok,
        None => ExitCode::NeedsSignIn,
    };
    if json {
        print_json(&json!({
            "accounts": entries,
            "custody": custody_name(manager.custody()),
            "policy": { "source": ctx.policy.source, "problems": ctx.policy.problems },
            "exit_code": exit.as_i32()
        }));
    } else if records.is_empty() {
        println!("No accounts. Run `perch-cli login` to sign in.");
    } else {
        print_table(&rows);
    }
    Ok(exit)
}

/// How long the account's access token (refreshed if needed) has left.
async fn token_status(
    manager: &TokenManager,
    record: &AccountRecord,
) -> Result<Duration, AuthError> {
    let token = manager.access_token(&record.id).await?;
    Ok(token
        .expires_at
        .saturating_duration_since(tokio::time::Instant::now()))
}

/// Resolves an optional ACCOUNT argument against the manager's accounts.
pub(crate) fn account_of(
    manager: &TokenManager,
    arg: &AccountArg,
) -> Result<AccountRecord, CliError> {
    pick_account(&manager.accounts()?, arg.account.as_deref())
}
