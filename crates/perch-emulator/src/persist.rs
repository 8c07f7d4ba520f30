//! The state file (`config.state_file`, the binary's `--state FILE`): the tenant, with every
//! message and change sequence, and the identity platform's lasting grants (refresh tokens and
//! the signing key), kept across restarts so a client's sign-in and delta links stay valid.
//!
//! The file is JSON with a format version:
//! `{"format": "perch-emulator-state", "version": 1, "savedAt": …, "seed": …, "tenant": {…},
//! "entra": {…}}`. It is written atomically (a temporary file beside it, flushed to disk, then
//! renamed over the old one), so a crash mid-save leaves the previous state intact. A missing
//! file means "seed a fresh tenant"; a file that cannot be read or understood is an error that
//! says what is wrong and how to recover, never a silent re-seed that would lose the user's
//! data. This module does no network I/O and takes the tenant lock only to serialise it.

use std::fs::{self, File};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::config::EmulatorConfig;
use crate::model::Tenant;
use crate::state::Shared;
use crate::Error;

/// The state file format this emulator writes and reads.
pub const STATE_VERSION: u32 = 1;

/// The `format` marker of a state file.
const FORMAT: &str = "perch-emulator-state";

/// What a state file holds.
#[derive(Debug)]
pub struct Saved {
    /// The tenant, reindexed and ready to serve.
    pub tenant: Tenant,
    /// The identity platform's snapshot ([`crate::entra::EntraState::snapshot`]), if saved.
    pub entra: Option<serde_json::Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileOut<'a> {
    format: &'static str,
    version: u32,
    saved_at: String,
    seed: u64,
    tenant: &'a Tenant,
    entra: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    format: Option<String>,
    version: Option<u32>,
}

#[derive(Deserialize)]
struct FileIn {
    tenant: Tenant,
    #[serde(default)]
    entra: Option<serde_json::Value>,
}

/// Loads the tenant from the state file, if one is configured and present.
pub fn load(config: &EmulatorConfig) -> Result<Option<Tenant>, Error> {
    Ok(load_saved(config)?.map(|saved| saved.tenant))
}

/// Loads the tenant and the identity platform's snapshot from the state file, if one is
/// configured and present. A missing file is `Ok(None)`; an unreadable, corrupt or
/// incompatible one is [`Error::State`] with a reason that says how to recover.
pub fn load_saved(config: &EmulatorConfig) -> Result<Option<Saved>, Error> {
    let Some(path) = &config.state_file else {
        return Ok(None);
    };
    let text = match fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(state_error(
                path,
                format!(
                    "cannot be read ({e}); check its permissions, or move it away to start from a freshly seeded tenant"
                ),
            ))
        }
    };
    let header: Header = serde_json::from_slice(&text).map_err(|e| corrupt(path, &e))?;
    if header.format.as_deref() != Some(FORMAT) {
        return Err(state_error(
            path,
            format!(
                "is not a Perch emulator state file (no \"format\": \"{FORMAT}\"); point --state at another file, or delete or move this one to start from a freshly seeded tenant"
            ),
        ));
    }
    match header.version {
        Some(STATE_VERSION) => {}
        other => {
            let found = other.map_or_else(|| "none".to_owned(), |v| v.to_string());
            return Err(state_error(
                path,
                format!(
                    "has state format version {found}, but this emulator reads version {STATE_VERSION}; delete or move the file to start from a freshly seeded tenant"
                ),
            ));
        }
    }
    let file: FileIn = serde_json::from_slice(&text).map_err(|e| corrupt(path, &e))?;
    let mut tenant = file.tenant;
    if tenant.users.is_empty() || tenant.apps.is_empty() {
        return Err(state_error(
            path,
            "holds a tenant without users or app registrations, which the emulator cannot serve; delete or move the file to start from a freshly seeded tenant".to_owned(),
        ));
    }
    tenant.reindex();
    tracing::info!(path = %path.display(), "loaded the emulator state");
    Ok(Some(Saved {
        tenant,
        entra: file.entra.filter(|v| !v.is_null()),
    }))
}

/// Saves the tenant and the identity platform's grants to the state file, if one is
/// configured. Atomic: readers see the old file or the new one, never half of one.
pub fn save(shared: &Shared) -> Result<(), Error> {
    let Some(path) = &shared.config.state_file else {
        return Ok(());
    };
    let entra = shared.entra.snapshot();
    let tenant = shared.tenant.read();
    let out = FileOut {
        format: FORMAT,
        version: STATE_VERSION,
        saved_at: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        seed: shared.config.seed,
        tenant: &tenant,
        entra,
    };
    write_atomically(path, &out)?;
    drop(tenant);
    tracing::info!(path = %path.display(), "saved the emulator state");
    Ok(())
}

fn write_atomically(path: &Path, out: &FileOut<'_>) -> Result<(), Error> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        state_error(
            path,
            format!(
                "cannot be written ({what}: {e}); check that its folder exists and is writable"
            ),
        )
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "state".into(), |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let file = File::create(&temp).map_err(|e| fail("create a temporary file", &e))?;
        let mut writer = BufWriter::with_capacity(1 << 20, file);
        serde_json::to_writer(&mut writer, out).map_err(|e| fail("serialise", &e))?;
        writer.flush().map_err(|e| fail("write", &e))?;
        let file = writer
            .into_inner()
            .map_err(|e| fail("write", &e.into_error()))?;
        file.sync_all().map_err(|e| fail("flush to disk", &e))?;
        fs::rename(&temp, path).map_err(|e| fail("replace the old file", &e))?;
        // Make the rename itself durable where the platform allows opening a directory.
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

fn corrupt(path: &Path, e: &serde_json::Error) -> Error {
    let what = match e.classify() {
        serde_json::error::Category::Io => "could not be read completely",
        serde_json::error::Category::Syntax => "is not valid JSON",
        serde_json::error::Category::Eof => "ends too early (a truncated write?)",
        serde_json::error::Category::Data => "does not have the expected shape",
    };
    state_error(
        path,
        format!("{what}: {e}; delete or move the file to start from a freshly seeded tenant"),
    )
}

fn state_error(path: &Path, reason: String) -> Error {
    Error::State {
        path: PathBuf::from(path),
        reason,
    }
}
