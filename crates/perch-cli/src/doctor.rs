//! `perch-cli doctor [--bundle PATH]`: runs perch-diag's checks over this machine's settings,
//! policy, keyring, network, accounts, database and disk, prints each finding (status, title,
//! what was found, what to do), and with `--bundle` writes the redacted zip for IT.
//!
//! It starts from less than the other commands: settings that do not resolve are a finding,
//! not an exit 78, and the database is only opened (read-only, by perch-diag) after its
//! integrity check, so a damaged file is reported rather than moved aside. Exit 0 when no check
//! fails, [`ExitCode::DoctorFailed`] (5) when one does.

use std::path::PathBuf;
use std::sync::Arc;

use perch_auth::{
    HttpClient, KeyringStore, ManagerOptions, MemoryStore, SecretStore, TokenManager,
};
use perch_core::{ConfigError, Scopes};
use perch_diag::doctor::{self, ConfigState, Inputs, KeyringMode, ManagerSource};
use perch_diag::{Report, Status};
use perch_store::Store;
use serde_json::json;

use crate::cli::{Cli, DoctorArgs};
use crate::commands::Diag;
use crate::context::{data_dir_of, Context};
use crate::error::{CliError, ExitCode};
use crate::output::print_json;

/// Runs the checks and prints them.
pub async fn run(cli: &Cli, args: &DoctorArgs, diag: &Diag) -> Result<ExitCode, CliError> {
    let (data_dir, config) =
        match Context::load(cli.data_dir.clone(), cli.session_only, &diag.policy) {
            Ok(ctx) => {
                let config = match &ctx.org {
                    Ok(org) => ConfigState::Organisation(org.clone()),
                    Err(e) => ConfigState::Missing(e.to_string()),
                };
                (ctx.data_dir, config)
            }
            Err(CliError::Config(e)) => (data_dir_of(cli.data_dir.clone())?, invalid(&e)),
            Err(e) => return Err(e),
        };
    let scopes = match &config {
        ConfigState::Organisation(org) => org.scopes.clone(),
        _ => Scopes::default(),
    };
    let database = data_dir.database();
    let session_only = cli.session_only;
    let manager: ManagerSource = Arc::new(move || {
        if !database.exists() {
            return Ok(None);
        }
        // Without a usable keyring the accounts are still listed; their tokens are not there,
        // which the finding then says.
        let secrets: Arc<dyn SecretStore> = if session_only {
            Arc::new(MemoryStore::new())
        } else {
            match KeyringStore::platform() {
                Ok(keyring) => Arc::new(keyring),
                Err(_) => Arc::new(MemoryStore::new()),
            }
        };
        let store = Store::open(&database).map_err(|e| e.to_string())?;
        let http = HttpClient::new().map_err(|e| e.to_string())?;
        Ok(Some(TokenManager::new(
            http,
            store,
            secrets,
            ManagerOptions {
                scopes: scopes.clone(),
                ..ManagerOptions::default()
            },
        )))
    });
    let mut inputs = Inputs::new(
        env!("CARGO_PKG_VERSION"),
        data_dir.path().to_owned(),
        config,
    );
    inputs.policy = diag.policy.clone();
    inputs.keyring = if session_only {
        KeyringMode::SessionOnly
    } else {
        KeyringMode::Probe
    };
    inputs.manager = Some(manager);
    inputs.log_dir = diag.log_dir.clone();
    let report = doctor::run(inputs).await;

    let bundle = match &args.bundle {
        Some(path) => Some(write_bundle(path, &report, diag)?),
        None => None,
    };
    let exit = if report.has_failures() {
        ExitCode::DoctorFailed
    } else {
        ExitCode::Ok
    };
    if cli.json {
        print_json(&json!({
            "findings": report.findings,
            "worst": report.worst(),
            "bundle": bundle.as_ref().map(|p| p.display().to_string()),
            "exit_code": exit.as_i32(),
        }));
    } else {
        print_report(&report);
        if let Some(path) = &bundle {
            println!("\nDiagnostics bundle written to {}", path.display());
            println!("It holds no tokens, e-mail addresses or message text; send it to your IT department.");
        }
    }
    Ok(exit)
}

fn invalid(e: &ConfigError) -> ConfigState {
    ConfigState::Invalid(e.to_string())
}

fn write_bundle(path: &std::path::Path, report: &Report, diag: &Diag) -> Result<PathBuf, CliError> {
    let target = if path.is_dir() {
        path.join(perch_diag::bundle::default_name())
    } else {
        path.to_owned()
    };
    perch_diag::bundle::write(&target, report, diag.log_dir.as_deref())
        .map(|b| b.path)
        .map_err(|e| CliError::Refused {
            code: "bundle_failed",
            message: e.to_string(),
        })
}

fn print_report(report: &Report) {
    for f in &report.findings {
        let mark = match f.status {
            Status::Pass => "pass",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        };
        println!("{mark}  {}: {}", f.title, f.detail);
        if let Some(action) = &f.action {
            println!("      -> {action}");
        }
    }
    let count = |s| report.findings.iter().filter(|f| f.status == s).count();
    println!(
        "\n{} passed, {} warnings, {} failed",
        count(Status::Pass),
        count(Status::Warn),
        count(Status::Fail)
    );
}
