//! The in-app updater, over tauri-plugin-updater, driven from Rust only: the web view gets none
//! of the plugin's commands, just the shell's `update_status` and `install_update` and the
//! `update-status` event.
//!
//! Whether it runs at all is [`updater_decision`], a pure function of the managed policy, how
//! Perch was installed and the configured endpoints: it is off when the system's package
//! manager owns the installation (`.deb`, `.rpm`: the package manager updates Perch, and the
//! files under `/usr` are not the user's to replace), when the policy says `updater: false`, and
//! in development builds; the policy's `updater_endpoint` replaces the configured endpoints.
//! When it runs, it checks a while after start and then every few hours, downloads a newer
//! version in the background (the plugin verifies its minisign signature against the public key
//! in `tauri.conf.json`) and then says so; the person restarts when they choose, and only then
//! is it installed.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use perch_client::dto::UpdateStatusDto;
use perch_client::AppError;
use perch_core::policy::Policy;
use tauri::utils::config::BundleType;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use url::Url;

/// The event that carries an [`UpdateStatusDto`] whenever it changes.
pub const EVENT: &str = "update-status";

/// The first check waits this long after start, so it never competes with painting the cache.
const FIRST_CHECK: Duration = Duration::from_secs(30);
/// Then one check this often (also after a failure).
const INTERVAL: Duration = Duration::from_secs(6 * 60 * 60);

/// Why the updater does not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffReason {
    /// The managed policy says `updater: false`.
    Policy,
    /// Installed from a system package (`.deb`, `.rpm`): the package manager updates Perch.
    SystemPackage,
    /// The policy's `updater_endpoint` is not an https URL (refused rather than falling back to
    /// the public endpoint the organisation meant to replace).
    InvalidPolicyEndpoint(String),
    /// No endpoint is configured.
    NoEndpoint,
    /// A development build (the dev profile): nothing to update to.
    DevelopmentBuild,
}

impl OffReason {
    /// For people (the notice and the logs).
    pub fn message(&self) -> String {
        match self {
            OffReason::Policy => "Your organisation manages updates of Perch.".to_owned(),
            OffReason::SystemPackage => {
                "Perch was installed with the system's package manager, which updates it."
                    .to_owned()
            }
            OffReason::InvalidPolicyEndpoint(endpoint) => format!(
                "The update address your organisation set (`{endpoint}`) is not an https address."
            ),
            OffReason::NoEndpoint => "No update address is configured.".to_owned(),
            OffReason::DevelopmentBuild => "This is a development build.".to_owned(),
        }
    }
}

/// Whether the updater runs, and against which endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdaterDecision {
    /// It does not run.
    Off(OffReason),
    /// It checks these endpoints (in order, the first that answers wins).
    On {
        /// The update JSON's URLs (with Tauri's `{{target}}`, `{{arch}}`, `{{current_version}}`).
        endpoints: Vec<Url>,
    },
}

/// Decides whether the updater runs: off when the policy says `updater: false` or when Perch
/// was installed from a system package (`packaged`; even when a policy says `updater: true`, as
/// the package manager owns those files); otherwise on, against the policy's `updater_endpoint`
/// when it sets one (which must be https) or else the configured endpoints.
pub fn updater_decision(policy: &Policy, packaged: bool, configured: &[Url]) -> UpdaterDecision {
    if policy.updater == Some(false) {
        return UpdaterDecision::Off(OffReason::Policy);
    }
    if packaged {
        return UpdaterDecision::Off(OffReason::SystemPackage);
    }
    let endpoints = match &policy.updater_endpoint {
        Some(endpoint) => match Url::parse(endpoint) {
            Ok(url) if url.scheme() == "https" => vec![url],
            _ => {
                return UpdaterDecision::Off(OffReason::InvalidPolicyEndpoint(endpoint.clone()));
            }
        },
        None => configured.to_vec(),
    };
    if endpoints.is_empty() {
        return UpdaterDecision::Off(OffReason::NoEndpoint);
    }
    UpdaterDecision::On { endpoints }
}

/// [`updater_decision`] for a build: a development build never updates itself.
pub fn decision_for_build(
    policy: &Policy,
    packaged: bool,
    configured: &[Url],
    development: bool,
) -> UpdaterDecision {
    match updater_decision(policy, packaged, configured) {
        UpdaterDecision::On { .. } if development => {
            UpdaterDecision::Off(OffReason::DevelopmentBuild)
        }
        decision => decision,
    }
}

/// Whether this binary was installed by the system's package manager. Tauri's bundler stamps
/// the package type into the binary it packs (`tauri::utils::platform::bundle_type`), so a
/// `.deb` or `.rpm` we built says so; a binary under `/usr` (not `/usr/local`) that is not an
/// AppImage came from a distribution's own package and counts too.
pub fn installed_by_package_manager() -> bool {
    is_system_package(
        tauri::utils::platform::bundle_type(),
        std::env::current_exe().ok().as_deref(),
        std::env::var_os("APPIMAGE").is_some(),
    )
}

fn is_system_package(bundle: Option<BundleType>, exe: Option<&Path>, appimage: bool) -> bool {
    match bundle {
        Some(BundleType::Deb | BundleType::Rpm) => true,
        Some(_) => false,
        None => {
            !appimage
                && exe.is_some_and(|p| p.starts_with("/usr/") && !p.starts_with("/usr/local/"))
        }
    }
}

/// The endpoints in `tauri.conf.json` (`plugins.updater.endpoints`); none when the section is
/// missing or malformed (the plugin itself refuses a malformed one at start).
pub fn configured_endpoints(config: &tauri::Config) -> Vec<Url> {
    config
        .plugins
        .0
        .get("updater")
        .and_then(|section| section.get("endpoints"))
        .and_then(|list| serde_json::from_value::<Vec<Url>>(list.clone()).ok())
        .unwrap_or_default()
}

/// The updater's state, managed by the app: what the UI is told, and the downloaded update
/// waiting for a restart.
pub struct Updates {
    status: Mutex<UpdateStatusDto>,
    pending: Mutex<Option<Pending>>,
}

/// A downloaded update: the plugin's description and the verified bytes.
struct Pending {
    update: tauri_plugin_updater::Update,
    bytes: Vec<u8>,
}

impl Default for Updates {
    fn default() -> Self {
        Updates {
            status: Mutex::new(UpdateStatusDto::Off {
                reason: "The updater has not started.".to_owned(),
            }),
            pending: Mutex::new(None),
        }
    }
}

impl Updates {
    /// What the UI shows.
    pub fn status(&self) -> UpdateStatusDto {
        self.status
            .lock()
            .map(|s| s.clone())
            .unwrap_or(UpdateStatusDto::Idle)
    }

    fn set<R: Runtime>(&self, handle: &AppHandle<R>, status: UpdateStatusDto) {
        if let Ok(mut current) = self.status.lock() {
            if *current == status {
                return;
            }
            *current = status.clone();
        }
        let _ = handle.emit(EVENT, status);
    }
}

/// Starts the updater as decided: records why it is off, or checks in the background.
pub fn start<R: Runtime>(handle: &AppHandle<R>, decision: UpdaterDecision) {
    let updates = handle.state::<Updates>();
    let endpoints = match decision {
        UpdaterDecision::Off(reason) => {
            tracing::info!(reason = %reason.message(), "updater off");
            updates.set(
                handle,
                UpdateStatusDto::Off {
                    reason: reason.message(),
                },
            );
            return;
        }
        UpdaterDecision::On { endpoints } => endpoints,
    };
    updates.set(handle, UpdateStatusDto::Idle);
    let handle = handle.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(FIRST_CHECK).await;
        loop {
            match check_and_download(&handle, &endpoints).await {
                Ok(Some(pending)) => {
                    let version = pending.update.version.clone();
                    tracing::info!(%version, "update downloaded; installs on restart");
                    let updates = handle.state::<Updates>();
                    if let Ok(mut slot) = updates.pending.lock() {
                        *slot = Some(pending);
                    }
                    updates.set(&handle, UpdateStatusDto::Ready { version });
                    return;
                }
                Ok(None) => handle
                    .state::<Updates>()
                    .set(&handle, UpdateStatusDto::Idle),
                Err(error) => {
                    tracing::warn!(%error, "update check failed");
                    handle.state::<Updates>().set(
                        &handle,
                        UpdateStatusDto::Failed {
                            message: error.to_string(),
                        },
                    );
                }
            }
            tokio::time::sleep(INTERVAL).await;
        }
    });
}

async fn check_and_download<R: Runtime>(
    handle: &AppHandle<R>,
    endpoints: &[Url],
) -> Result<Option<Pending>, tauri_plugin_updater::Error> {
    use tauri_plugin_updater::UpdaterExt;
    let updater = handle
        .updater_builder()
        .endpoints(endpoints.to_vec())?
        .build()?;
    let Some(update) = updater.check().await? else {
        return Ok(None);
    };
    tracing::info!(version = %update.version, "downloading an update");
    let bytes = update.download(|_, _| {}, || {}).await?;
    // Verified now (and again by `install`), so a bad download is reported before the person
    // is asked to restart.
    update.verify(&bytes)?;
    Ok(Some(Pending { update, bytes }))
}

/// Installs the downloaded update and restarts Perch (on Windows the installer takes over and
/// the app exits). Refused when no update is ready.
pub fn install_and_restart<R: Runtime>(handle: &AppHandle<R>) -> Result<(), AppError> {
    let updates = handle.state::<Updates>();
    let pending = updates.pending.lock().ok().and_then(|mut p| p.take());
    let Some(pending) = pending else {
        return Err(AppError::new(
            "no_update",
            "There is no downloaded update to install.",
        ));
    };
    if let Err(error) = pending.update.install(&pending.bytes) {
        tracing::error!(%error, "installing the update failed");
        updates.set(
            handle,
            UpdateStatusDto::Failed {
                message: error.to_string(),
            },
        );
        return Err(AppError::new(
            "update_failed",
            format!("Perch could not install the update: {error}"),
        ));
    }
    tracing::info!(version = %pending.update.version, "update installed; restarting");
    // Like closing the window: the exit hook stops the engines and saves the demo tenant.
    handle.request_restart();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(list: &[&str]) -> Vec<Url> {
        list.iter().map(|u| u.parse().unwrap()).collect()
    }

    fn policy(updater: Option<bool>, endpoint: Option<&str>) -> Policy {
        Policy {
            updater,
            updater_endpoint: endpoint.map(str::to_owned),
            ..Policy::default()
        }
    }

    #[test]
    fn the_decision_table() {
        let configured = urls(&["https://updates.example/perch/{{target}}/{{current_version}}"]);
        let theirs = "https://updates.contoso.example/perch.json";
        let on = |list: &[&str]| UpdaterDecision::On {
            endpoints: urls(list),
        };
        let cases: Vec<(Policy, bool, Vec<Url>, UpdaterDecision)> = vec![
            // No policy: on against the configured endpoints, off when packaged.
            (
                Policy::default(),
                false,
                configured.clone(),
                UpdaterDecision::On {
                    endpoints: configured.clone(),
                },
            ),
            (
                Policy::default(),
                true,
                configured.clone(),
                UpdaterDecision::Off(OffReason::SystemPackage),
            ),
            // The policy turns it off, whatever else holds.
            (
                policy(Some(false), None),
                false,
                configured.clone(),
                UpdaterDecision::Off(OffReason::Policy),
            ),
            (
                policy(Some(false), Some(theirs)),
                true,
                configured.clone(),
                UpdaterDecision::Off(OffReason::Policy),
            ),
            // `updater: true` does not override the package manager.
            (
                policy(Some(true), None),
                true,
                configured.clone(),
                UpdaterDecision::Off(OffReason::SystemPackage),
            ),
            (
                policy(Some(true), None),
                false,
                configured.clone(),
                UpdaterDecision::On {
                    endpoints: configured.clone(),
                },
            ),
            // The policy's endpoint replaces the configured ones (also when none is configured).
            (
                policy(None, Some(theirs)),
                false,
                configured.clone(),
                on(&[theirs]),
            ),
            (
                policy(Some(true), Some(theirs)),
                false,
                vec![],
                on(&[theirs]),
            ),
            // Never a plain-http or malformed endpoint from the policy, and no fallback to ours.
            (
                policy(None, Some("http://updates.contoso.example/perch.json")),
                false,
                configured.clone(),
                UpdaterDecision::Off(OffReason::InvalidPolicyEndpoint(
                    "http://updates.contoso.example/perch.json".to_owned(),
                )),
            ),
            (
                policy(None, Some("not a url")),
                false,
                configured.clone(),
                UpdaterDecision::Off(OffReason::InvalidPolicyEndpoint("not a url".to_owned())),
            ),
            // Nothing to check.
            (
                Policy::default(),
                false,
                vec![],
                UpdaterDecision::Off(OffReason::NoEndpoint),
            ),
        ];
        for (i, (policy, packaged, configured, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                updater_decision(&policy, packaged, &configured),
                want,
                "case {i}: {policy:?}, packaged {packaged}"
            );
        }
    }

    #[test]
    fn a_development_build_never_updates_but_says_why_it_is_off_first() {
        let configured = urls(&["https://updates.example/perch.json"]);
        assert_eq!(
            decision_for_build(&Policy::default(), false, &configured, true),
            UpdaterDecision::Off(OffReason::DevelopmentBuild)
        );
        assert_eq!(
            decision_for_build(&Policy::default(), true, &configured, true),
            UpdaterDecision::Off(OffReason::SystemPackage)
        );
        assert_eq!(
            decision_for_build(&policy(Some(false), None), false, &configured, true),
            UpdaterDecision::Off(OffReason::Policy)
        );
        assert_eq!(
            decision_for_build(&Policy::default(), false, &configured, false),
            UpdaterDecision::On {
                endpoints: configured.clone()
            }
        );
    }

    #[test]
    fn a_system_package_is_told_by_the_bundle_stamp_or_the_install_location() {
        let usr = Some(Path::new("/usr/bin/perch"));
        let home = Some(Path::new("/home/me/Applications/perch"));
        assert!(is_system_package(Some(BundleType::Deb), home, false));
        assert!(is_system_package(Some(BundleType::Rpm), home, false));
        assert!(!is_system_package(Some(BundleType::AppImage), usr, true));
        assert!(!is_system_package(Some(BundleType::Msi), None, false));
        assert!(!is_system_package(Some(BundleType::Nsis), None, false));
        assert!(!is_system_package(Some(BundleType::App), usr, false));
        // Unstamped: a distribution's own package under /usr, not /usr/local or a home folder,
        // and never an AppImage (mounted wherever).
        assert!(is_system_package(None, usr, false));
        assert!(!is_system_package(None, usr, true));
        assert!(!is_system_package(
            None,
            Some(Path::new("/usr/local/bin/perch")),
            false
        ));
        assert!(!is_system_package(None, home, false));
        assert!(!is_system_package(None, None, false));
    }

    #[test]
    fn endpoints_come_from_the_plugin_section_of_the_config() {
        let config: tauri::Config = serde_json::from_value(serde_json::json!({
            "identifier": "app.perch.test",
            "plugins": {"updater": {"pubkey": "k", "endpoints": ["https://a.example/u.json"]}}
        }))
        .unwrap();
        assert_eq!(
            configured_endpoints(&config),
            urls(&["https://a.example/u.json"])
        );
        let none: tauri::Config =
            serde_json::from_value(serde_json::json!({"identifier": "app.perch.test"})).unwrap();
        assert!(configured_endpoints(&none).is_empty());
    }

    #[test]
    fn the_shipped_config_has_a_public_key_and_https_endpoints() {
        let config: serde_json::Value =
            serde_json::from_str(include_str!("../../tauri.conf.json")).unwrap();
        let updater = &config["plugins"]["updater"];
        let key = updater["pubkey"].as_str().expect("a public key");
        assert!(!key.is_empty());
        let endpoints = updater["endpoints"].as_array().expect("endpoints");
        assert!(!endpoints.is_empty());
        for e in endpoints {
            assert!(e.as_str().unwrap().starts_with("https://"), "{e}");
        }
        assert_eq!(config["bundle"]["createUpdaterArtifacts"], true);
    }
}
