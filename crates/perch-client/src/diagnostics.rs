//! The Diagnostics page: perch-diag's checks over the running app (its data folder,
//! organisation or demo tenant, token manager and the policy the shell read), and the redacted
//! bundle saved where the person can find it (the Downloads folder, else the data folder).
//!
//! The shell owns the [`Diagnostics`] context (the policy it read at start and the log folder
//! it logs to) and passes it in; nothing here reads the policy or installs logging.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use perch_core::policy::PolicyReport;
use perch_diag::doctor::{self, ConfigState, Inputs, KeyringMode, ManagerSource};
use perch_diag::Report;

use crate::dto::{ts, BundleDto, DiagnosticsDto, FindingDto, ModeDto};
use crate::error::AppError;
use crate::App;

/// What the shell set up for diagnostics.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    /// The managed policy the app started with.
    pub policy: PolicyReport,
    /// Where the app's log files go.
    pub log_dir: Option<PathBuf>,
}

impl App {
    async fn run_checks(&self, diag: &Diagnostics) -> Report {
        let (data_dir, mode, org, problems, manager) = self.diagnostics_parts();
        let config = match (mode, org) {
            (ModeDto::Demo, Some(org)) => ConfigState::Demo(org),
            (_, Some(org)) => ConfigState::Organisation(org),
            (_, None) => ConfigState::Missing(if problems.is_empty() {
                "no organisation is configured".to_owned()
            } else {
                problems.join("; ")
            }),
        };
        let source: ManagerSource = Arc::new(move || Ok(Some(manager.clone())));
        let mut inputs = Inputs::new(
            env!("CARGO_PKG_VERSION"),
            data_dir.path().to_owned(),
            config,
        );
        inputs.policy = diag.policy.clone();
        inputs.keyring = KeyringMode::Probe;
        inputs.manager = Some(source);
        inputs.log_dir = diag.log_dir.clone();
        doctor::run(inputs).await
    }

    /// Runs every diagnostics check (each bounded in time; none stops the others).
    pub async fn diagnostics(&self, diag: &Diagnostics) -> Result<DiagnosticsDto, AppError> {
        let report = self.run_checks(diag).await;
        Ok(DiagnosticsDto {
            generated_at: ts(report.generated_at),
            worst: report.worst().into(),
            findings: report.findings.iter().map(FindingDto::from).collect(),
            log_dir: diag.log_dir.as_ref().map(|d| d.display().to_string()),
        })
    }

    /// Runs the checks and writes the redacted bundle (findings and logs) into `folder`, else
    /// the Downloads folder, else the data folder; returns where it went.
    pub async fn save_diagnostics_bundle(
        &self,
        diag: &Diagnostics,
        folder: Option<PathBuf>,
    ) -> Result<BundleDto, AppError> {
        let report = self.run_checks(diag).await;
        let (data_dir, ..) = self.diagnostics_parts();
        let folder = folder
            .or_else(|| downloads_dir(std::env::vars()))
            .unwrap_or_else(|| data_dir.path().to_owned());
        let path = folder.join(perch_diag::bundle::default_name());
        let log_dir = diag.log_dir.clone();
        let bundle = tokio::task::spawn_blocking(move || {
            perch_diag::bundle::write(&path, &report, log_dir.as_deref())
        })
        .await
        .map_err(|e| AppError::internal(e.to_string()))?
        .map_err(|e| AppError::new("bundle_failed", e.to_string()))?;
        tracing::info!(path = %bundle.path.display(), "diagnostics bundle written");
        Ok(BundleDto {
            path: bundle.path.display().to_string(),
        })
    }
}

/// The person's Downloads folder when it exists (`XDG_DOWNLOAD_DIR`, else `Downloads` in the
/// home folder).
pub fn downloads_dir<I, K, V>(vars: I) -> Option<PathBuf>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    let env: std::collections::HashMap<String, String> = vars
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let candidates = [
        env.get("XDG_DOWNLOAD_DIR").map(PathBuf::from),
        env.get("HOME").map(|h| Path::new(h).join("Downloads")),
        env.get("USERPROFILE")
            .map(|h| Path::new(h).join("Downloads")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_dir())
}
