//! What commands print. Results go to stdout: short aligned lines for people, or with `--json`
//! exactly one JSON document (errors included, as `{"error": {code, message, exit_code}}`).
//! Progress and prompts ("Opening your browser…", the device code) go to stderr, so stdout
//! stays parseable. Nothing here ever receives a token.

use perch_store::{AccountRecord, AccountState};
use serde::Serialize;

use crate::error::CliError;

/// An account as printed.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    /// `{tenant id}.{user id}`.
    pub id: String,
    /// The person's name.
    pub display_name: String,
    /// The user principal name.
    pub upn: String,
    /// The tenant id.
    pub tenant_id: String,
    /// `signed_in`, `needs_sign_in` or `signed_out`, as this process sees it (see
    /// [`AccountView::effective`]).
    pub state: &'static str,
    /// Why, when not signed in.
    pub state_reason: Option<String>,
}

impl AccountView {
    /// The stored view of an account.
    pub fn of(record: &AccountRecord) -> AccountView {
        AccountView {
            id: record.id.key(),
            display_name: record.display_name.clone(),
            upn: record.upn.clone(),
            tenant_id: record.id.tenant_id.to_string(),
            state: record.state.as_str(),
            state_reason: record.state_reason.clone(),
        }
    }

    /// The view with the state corrected for the refresh token: an account stored as signed
    /// in whose token is not in the custody (a `--session-only` sign-in by an earlier process,
    /// a keyring entry deleted by hand) needs to sign in.
    pub fn effective(record: &AccountRecord, has_refresh_token: Option<bool>) -> AccountView {
        let mut view = AccountView::of(record);
        if record.state == AccountState::SignedIn && has_refresh_token == Some(false) {
            view.state = AccountState::NeedsSignIn.as_str();
            view.state_reason = Some(
                "no refresh token stored here (a --session-only sign-in ends with its command)"
                    .into(),
            );
        }
        view
    }
}

/// The human word for a state.
pub fn state_words(state: &str) -> &'static str {
    match state {
        "signed_in" => "signed in",
        "needs_sign_in" => "needs sign-in",
        "signed_out" => "signed out",
        _ => "unknown",
    }
}

/// Prints `value` as the command's JSON document.
pub fn print_json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("perch-cli: could not format the output: {e}"),
    }
}

/// Prints a table: left-aligned columns separated by two spaces.
pub fn print_table(rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 2));
            }
        }
        println!("{}", line.trim_end());
    }
}

/// Prints one account as `key: value` lines.
pub fn print_account(view: &AccountView) {
    let mut rows = vec![
        vec!["name:".to_owned(), view.display_name.clone()],
        vec!["upn:".to_owned(), view.upn.clone()],
        vec!["tenant:".to_owned(), view.tenant_id.clone()],
        vec!["state:".to_owned(), state_words(view.state).to_owned()],
    ];
    if let Some(reason) = &view.state_reason {
        rows.push(vec!["reason:".to_owned(), reason.clone()]);
    }
    print_table(&rows);
}

/// Prints an error: the JSON document on stdout with `--json`, else a line on stderr.
pub fn print_error(error: &CliError, json: bool) {
    let exit_code = error.exit_code().as_i32();
    if json {
        print_json(&serde_json::json!({
            "error": {
                "code": error.code(),
                "message": error.to_string(),
                "hint": error.hint(),
                "exit_code": exit_code,
            }
        }));
    } else {
        eprintln!("perch-cli: {error}");
        if let Some(hint) = error.hint() {
            eprintln!("  {hint}");
        }
    }
}
