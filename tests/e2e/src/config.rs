//! Where the harness finds what it drives, read once from the environment. It only reads and
//! checks; it never builds the app or installs a driver (`scripts/test-e2e.sh` does both).
//!
//! - `PERCH_E2E_APP`: absolute path of the `perch` binary to drive (built with
//!   `--features custom-protocol`). Unset or empty: every scenario is skipped.
//! - `PERCH_E2E_TAURI_DRIVER`: the `tauri-driver` binary (default: from `PATH`, then
//!   `~/.cargo/bin`).
//! - `PERCH_E2E_ARTIFACTS`: where screenshots and logs go (default: `tests/artifacts/`).
//! - `PERCH_E2E_TIMEOUT_SECS`: the whole-scenario watchdog (default: 180).
//! - `PERCH_E2E_BROWSER`: the test browser (`perch-test-browser`) the organisation scenarios
//!   put in `$BROWSER`.
//! - `PERCH_E2E_SCRATCH`: where scenarios keep their data folders (default: a folder under the
//!   system's temporary folder).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Error;

/// The environment variable naming the app binary.
pub const APP_VAR: &str = "PERCH_E2E_APP";

/// Everything a scenario needs to know about its surroundings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `perch` binary under test (absolute: WebKitWebDriver resolves it from its own cwd).
    pub app: PathBuf,
    /// The `tauri-driver` binary.
    pub tauri_driver: PathBuf,
    /// Folder for screenshots and logs, created on demand.
    pub artifacts: PathBuf,
    /// Upper bound for one scenario, start-up and shutdown included; past it the watchdog
    /// stops every process and fails the test run instead of letting it hang.
    pub scenario_timeout: Duration,
    /// The test browser for `$BROWSER`, if the run has one.
    pub browser: Option<PathBuf>,
    /// Scenarios' data folders go under here.
    pub scratch: PathBuf,
}

impl Config {
    /// Reads the configuration, `Ok(None)` when `PERCH_E2E_APP` is unset (skip), and an error
    /// naming what is missing when it is set but the rest is not in place.
    pub fn from_env() -> Result<Option<Config>, Error> {
        let Some(app) = std::env::var_os(APP_VAR).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let app = PathBuf::from(app);
        if !app.is_file() {
            return Err(Error::Setup(format!(
                "{APP_VAR}={} is not a file: build it with `cargo build -p perch --features custom-protocol`",
                app.display()
            )));
        }
        let app = app.canonicalize().map_err(|source| Error::Io {
            step: "resolve the app path",
            path: app.display().to_string(),
            source,
        })?;

        if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
            return Err(Error::Setup(
                "no DISPLAY: run the end-to-end tests under `xvfb-run -a` (scripts/test-e2e.sh does)"
                    .to_owned(),
            ));
        }

        let tauri_driver = match std::env::var_os("PERCH_E2E_TAURI_DRIVER") {
            Some(path) => PathBuf::from(path),
            None => find_program("tauri-driver")
                .or_else(|| {
                    let home = std::env::var_os("HOME")?;
                    let path = Path::new(&home).join(".cargo/bin/tauri-driver");
                    path.is_file().then_some(path)
                })
                .ok_or_else(|| {
                    Error::Setup(
                        "tauri-driver not found: `cargo install tauri-driver --version 2.1.0 --locked`"
                            .to_owned(),
                    )
                })?,
        };
        if find_program("WebKitWebDriver").is_none() {
            return Err(Error::Setup(
                "WebKitWebDriver not on PATH: install the Debian package `webkit2gtk-driver`"
                    .to_owned(),
            ));
        }

        let artifacts = std::env::var_os("PERCH_E2E_ARTIFACTS")
            .map(PathBuf::from)
            .unwrap_or_else(default_artifacts_dir);

        let scenario_timeout = match std::env::var("PERCH_E2E_TIMEOUT_SECS") {
            Ok(secs) => Duration::from_secs(secs.parse().map_err(|_| {
                Error::Setup(format!("PERCH_E2E_TIMEOUT_SECS={secs} is not a number"))
            })?),
            Err(_) => Duration::from_secs(180),
        };

        let browser = std::env::var_os("PERCH_E2E_BROWSER")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        if let Some(browser) = &browser {
            if !browser.is_file() {
                return Err(Error::Setup(format!(
                    "PERCH_E2E_BROWSER={} is not a file: `cargo build -p perch-cli --bin perch-test-browser`",
                    browser.display()
                )));
            }
        }
        let scratch = std::env::var_os("PERCH_E2E_SCRATCH")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                std::env::temp_dir().join(format!("perch-e2e-{}", std::process::id()))
            });

        Ok(Some(Config {
            app,
            tauri_driver,
            artifacts,
            scenario_timeout,
            browser,
            scratch,
        }))
    }
}

/// `tests/artifacts/` in the workspace (this crate lives in `tests/e2e/`).
pub fn default_artifacts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|tests| tests.join("artifacts"))
        .unwrap_or_else(|| PathBuf::from("artifacts"))
}

/// The first executable file called `name` on `PATH`.
fn find_program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}
