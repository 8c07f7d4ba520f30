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
use crate::{Error, Session};

/// Lines of the log printed when a scenario fails.
const LOG_TAIL_LINES: usize = 80;

/// Held while a scenario runs.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A running Perch window under WebDriver.
#[derive(Debug)]
pub struct App {
    config: Config,
    /// Declared before `driver`: fields drop in order, and the session must end (closing the
    /// app) before `tauri-driver` goes.
    session: Session,
    driver: TauriDriver,
}

impl App {
    /// Starts `tauri-driver` and opens a session on the app binary.
    fn launch(config: &Config, name: &str, watchdog: &Watchdog) -> Result<App, Error> {
        artifacts::ensure_dir(&config.artifacts)?;
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            // A new session launches the app; everything else is quick.
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|source| Error::Http {
                step: "build the HTTP client".to_owned(),
                source,
            })?;
        let log = config.artifacts.join(format!("{name}.tauri-driver.log"));
        let driver = TauriDriver::start(&config.tauri_driver, &log, &client, |pgid| {
            watchdog.guard(pgid)
        })?;
        let session = Session::launch(&client, &driver.url(), &config.app)?;
        Ok(App {
            config: config.clone(),
            session,
            driver,
        })
    }

    /// The WebDriver session on the app window.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The configuration the scenario runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The log of `tauri-driver`, `WebKitWebDriver` and the app.
    pub fn log(&self) -> &Path {
        self.driver.log()
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

/// Runs one end-to-end scenario against the real app, or reports it skipped when
/// `PERCH_E2E_APP` is unset. Panics (fails the test) with the failing step, the screenshot
/// and the log tail when anything goes wrong.
pub fn scenario(name: &str, body: impl FnOnce(&App) -> Result<(), Error>) {
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
    let log = config.artifacts.join(format!("{name}.tauri-driver.log"));
    let watchdog = Watchdog::arm(name, config.scenario_timeout, log.clone());

    let app = match App::launch(&config, name, &watchdog) {
        Ok(app) => app,
        // Whatever did start was stopped when `launch` dropped it.
        Err(error) => panic!(
            "e2e `{name}` could not start the app after {:.1?}:\n  {error}\n{}",
            started.elapsed(),
            log_report(&log)
        ),
    };

    let outcome = catch_unwind(AssertUnwindSafe(|| body(&app)));
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error.to_string()),
        Err(panic) => Some(panic_message(panic.as_ref())),
    };
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

    fn guard(&self, pgid: u32) {
        *self.pgid.lock().unwrap_or_else(PoisonError::into_inner) = Some(pgid);
    }
}
