//! Scenarios: one running app per scenario, with the failure handling every scenario wants.
//! [`scenario`] skips when `PERCH_E2E_APP` is unset; otherwise it launches the app through
//! `tauri-driver`, runs the scenario body, and on any failure (an error or a panic) saves a
//! screenshot and prints the driver and app log before stopping everything. A watchdog bounds
//! the whole scenario, so a wedged driver fails the run instead of hanging it.
//!
//! Scenarios run one at a time even when the test binary runs tests in parallel: one window
//! at a time keeps a 2-core machine responsive and the timings predictable.

use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::artifacts::{self, PngSummary};
use crate::config::{Config, APP_VAR};
use crate::driver::{self, TauriDriver};
use crate::{emulator, notifications};
use crate::{Error, Session};

/// Lines of the log printed when a scenario fails.
const LOG_TAIL_LINES: usize = 80;

/// Held while a scenario runs.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A running Perch window under WebDriver.
#[derive(Debug)]
pub struct App {
    config: Config,
    /// The scenario's name (names the logs and screenshots).
    name: String,
    /// Added to the app's environment at every launch.
    env: Vec<(String, String)>,
    /// How many times the app was launched in this scenario.
    launches: u32,
    /// Where the watchdog learns the process group to stop.
    guard: Arc<Mutex<Option<u32>>>,
    /// Declared before `driver`: fields drop in order, and the session must end (closing the
    /// app) before `tauri-driver` goes.
    session: Session,
    driver: TauriDriver,
    /// The log of the current launch.
    log: PathBuf,
}

impl App {
    /// Starts `tauri-driver` and opens a session on the app binary.
    fn launch(
        config: &Config,
        name: &str,
        env: Vec<(String, String)>,
        guard: Arc<Mutex<Option<u32>>>,
    ) -> Result<App, Error> {
        artifacts::ensure_dir(&config.artifacts)?;
        let log = config.artifacts.join(format!("{name}.tauri-driver.log"));
        let (session, driver) = Self::start_app(config, &log, &env, &guard)?;
        Ok(App {
            config: config.clone(),
            name: name.to_owned(),
            env,
            launches: 1,
            guard,
            session,
            driver,
            log,
        })
    }

    fn start_app(
        config: &Config,
        log: &Path,
        env: &[(String, String)],
        guard: &Arc<Mutex<Option<u32>>>,
    ) -> Result<(Session, TauriDriver), Error> {
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            // A new session launches the app; everything else is quick.
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|source| Error::Http {
                step: "build the HTTP client".to_owned(),
                source,
            })?;
        let driver = TauriDriver::start(&config.tauri_driver, log, env, &client, |pgid| {
            *guard.lock().unwrap_or_else(PoisonError::into_inner) = Some(pgid);
        })?;
        let session = Session::launch(&client, &driver.url(), &config.app)?;
        Ok((session, driver))
    }

    /// Closes the app (ends the session and stops the driver) and launches it again with the
    /// same environment: the same data folder, the same keyring.
    pub fn restart(&mut self) -> Result<(), Error> {
        self.session.delete()?;
        if let Err(problem) = self.driver.stop() {
            return Err(Error::check("stop the app before the restart", problem));
        }
        self.launches += 1;
        self.log = self
            .config
            .artifacts
            .join(format!("{}-{}.tauri-driver.log", self.name, self.launches));
        let (session, driver) = Self::start_app(&self.config, &self.log, &self.env, &self.guard)?;
        self.session = session;
        self.driver = driver;
        Ok(())
    }

    /// The WebDriver session on the app window.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The configuration the scenario runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The value of a variable the app was launched with.
    pub fn env(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The log of `tauri-driver`, `WebKitWebDriver` and the app (the current launch).
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Takes a screenshot, saves it as `name` in the artifacts folder, and fails if it is
    /// blank (one flat colour), the usual sign of a web view that never painted.
    pub fn screenshot(&self, name: &str) -> Result<(PathBuf, PngSummary), Error> {
        self.session.settle()?;
        let png = self.session.screenshot()?;
        let path = artifacts::save(&self.config.artifacts, name, &png)?;
        let summary = PngSummary::of(&png)?;
        if summary.is_blank() {
            return Err(Error::check(
                format!("check the screenshot {} is not blank", path.display()),
                format!("{summary:?}"),
            ));
        }
        Ok((path, summary))
    }

    /// Ends the session and stops every process; reports everything that went wrong.
    fn stop(mut self) -> Result<(), String> {
        let mut problems = Vec::new();
        if let Err(error) = self.session.delete() {
            problems.push(error.to_string());
        }
        if let Err(problem) = self.driver.stop() {
            problems.push(problem);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// Runs one end-to-end scenario against the real app with the environment the test process
/// has (demo mode unless it says otherwise), or reports it skipped when `PERCH_E2E_APP` is
/// unset. Panics (fails the test) with the failing step, the screenshot and the log tail when
/// anything goes wrong.
pub fn scenario(name: &str, body: impl FnOnce(&mut App) -> Result<(), Error>) {
    run(name, |_| Ok(Vec::new()), body);
}

/// Runs a scenario with the app configured for the run's emulator as a real organisation (not
/// demo mode): its own empty data folder, the system-browser sign-in through `$BROWSER` (the
/// test browser, which completes the emulator's sign-in page like a person), the run's
/// keyring and notification recorder. The emulator is reset (online, no faults) first.
pub fn org_scenario(name: &str, body: impl FnOnce(&mut App) -> Result<(), Error>) {
    run(
        name,
        |config| {
            let emulator = emulator::shared()?;
            emulator.reset()?;
            notifications::shared()?;
            let browser = config.browser.as_ref().ok_or_else(|| {
                Error::Setup(
                    "PERCH_E2E_BROWSER is not set: build perch-test-browser \
                     (cargo build -p perch-cli --bin perch-test-browser; scripts/test-e2e.sh does)"
                        .to_owned(),
                )
            })?;
            let data = config.scratch.join(name);
            if data.exists() {
                std::fs::remove_dir_all(&data).map_err(|source| Error::Io {
                    step: "clear the scenario's data folder",
                    path: data.display().to_string(),
                    source,
                })?;
            }
            let base = emulator.base_url().to_owned();
            Ok(vec![
                ("PERCH_DEMO".to_owned(), "0".to_owned()),
                ("PERCH_TENANT".to_owned(), emulator.tenant_id().to_owned()),
                (
                    "PERCH_CLIENT_ID".to_owned(),
                    emulator.client_id().to_owned(),
                ),
                ("PERCH_LOGIN_HOST".to_owned(), base.clone()),
                ("PERCH_GRAPH_HOST".to_owned(), base),
                (
                    "PERCH_DATA_DIR".to_owned(),
                    data.join("data").display().to_string(),
                ),
                ("BROWSER".to_owned(), browser.display().to_string()),
                (
                    "PERCH_TEST_BROWSER_USER".to_owned(),
                    emulator.me().upn.clone(),
                ),
                (
                    "PERCH_TEST_BROWSER_LOG".to_owned(),
                    data.join("browser.log").display().to_string(),
                ),
            ])
        },
        body,
    );
}

fn run(
    name: &str,
    setup: impl FnOnce(&Config) -> Result<Vec<(String, String)>, Error>,
    body: impl FnOnce(&mut App) -> Result<(), Error>,
) {
    let config = match Config::from_env() {
        Ok(Some(config)) => config,
        Ok(None) => {
            // Past libtest's capture, so a plain `cargo test` shows what it did not run.
            let _ = writeln!(
                std::io::stderr().lock(),
                "e2e `{name}` skipped: set {APP_VAR} (scripts/test-e2e.sh does)"
            );
            return;
        }
        Err(error) => panic!("e2e `{name}`: {error}"),
    };
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let started = Instant::now();
    let env = match setup(&config) {
        Ok(env) => env,
        Err(error) => panic!("e2e `{name}` could not be set up: {error}"),
    };
    let log = config.artifacts.join(format!("{name}.tauri-driver.log"));
    let watchdog = Watchdog::arm(name, config.scenario_timeout, log.clone());

    let mut app = match App::launch(&config, name, env, Arc::clone(&watchdog.pgid)) {
        Ok(app) => app,
        // Whatever did start was stopped when `launch` dropped it.
        Err(error) => panic!(
            "e2e `{name}` could not start the app after {:.1?}:\n  {error}\n{}",
            started.elapsed(),
            log_report(&log)
        ),
    };

    let outcome = catch_unwind(AssertUnwindSafe(|| body(&mut app)));
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error.to_string()),
        Err(panic) => Some(panic_message(panic.as_ref())),
    };
    let log = app.log().to_owned();
    if let Some(failure) = failure {
        let shot_name = format!("{name}-failure.png");
        let shot = match app.session().screenshot() {
            Ok(png) => match artifacts::save(&config.artifacts, &shot_name, &png) {
                Ok(path) => format!("screenshot: {}", path.display()),
                Err(error) => format!("no screenshot: {error}"),
            },
            Err(error) => format!("no screenshot: {error}"),
        };
        let stopped = match app.stop() {
            Ok(()) => String::new(),
            Err(problem) => format!("\n  while stopping: {problem}"),
        };
        panic!(
            "e2e `{name}` failed after {:.1?}:\n  {failure}\n  {shot}{stopped}\n{}",
            started.elapsed(),
            log_report(&log)
        );
    }
    if let Err(problem) = app.stop() {
        panic!(
            "e2e `{name}`: the checks passed but stopping failed: {problem}\n{}",
            log_report(&log)
        );
    }
    drop(watchdog);
    println!("e2e `{name}` passed in {:.1?}", started.elapsed());
}

fn log_report(log: &Path) -> String {
    format!(
        "--- {} (last {LOG_TAIL_LINES} lines) ---\n{}\n--- end of log ---",
        log.display(),
        artifacts::tail(log, LOG_TAIL_LINES)
    )
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "panicked".to_owned())
}

/// Bounds a whole scenario. If it is still armed when the time is up, it stops the driver's
/// process group, prints the log and exits the test process: a hung WebDriver call must not
/// hang CI. Dropping it disarms it.
struct Watchdog {
    /// Dropped to disarm.
    _disarm: mpsc::Sender<()>,
    /// The process group to stop, once there is one.
    pgid: Arc<Mutex<Option<u32>>>,
}

impl Watchdog {
    fn arm(name: &str, timeout: Duration, log: PathBuf) -> Watchdog {
        let (disarm, disarmed) = mpsc::channel::<()>();
        let pgid = Arc::new(Mutex::new(None));
        let name = name.to_owned();
        let group = Arc::clone(&pgid);
        std::thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = disarmed.recv_timeout(timeout) {
                // Straight to the process's stderr: libtest's capture would swallow
                // `eprintln!`, and `exit` below never lets it print what it captured.
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "e2e `{name}` timed out after {timeout:?} (PERCH_E2E_TIMEOUT_SECS): stopping everything\n{}",
                    log_report(&log)
                );
                if let Some(pgid) = *group.lock().unwrap_or_else(PoisonError::into_inner) {
                    driver::terminate_group(pgid);
                }
                std::process::exit(124);
            }
        });
        Watchdog {
            _disarm: disarm,
            pgid,
        }
    }
}
