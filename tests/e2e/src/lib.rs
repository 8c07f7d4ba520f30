//! The end-to-end harness: it drives the real Perch window, the binary a release ships, over
//! W3C WebDriver. `tauri-driver` sits in front of `WebKitWebDriver`, which launches the app;
//! this crate starts and stops that chain, speaks WebDriver to it over plain HTTP on loopback,
//! and keeps screenshots and logs under `tests/artifacts/` for when a scenario fails.
//!
//! It does not build the app and does not start a display: `scripts/test-e2e.sh` builds the
//! binary with `--features custom-protocol` (the bundled UI, not the dev server), runs the
//! tests under `xvfb-run -a` and names the binary in `PERCH_E2E_APP`. Without that variable
//! every scenario reports itself skipped and passes, so `cargo test --workspace` needs no
//! display.
//!
//! The organisation scenarios ([`org_scenario`]) run the app against the run's emulator
//! ([`emulator`], in this process on a free port) as a real organisation, sign in through
//! `$BROWSER`, and check desktop notifications on the session bus ([`notifications`]).
//!
//! Every wait is bounded, every failure names the step that failed, and every process the
//! harness starts is stopped again, on failure too.

pub mod artifacts;
pub mod config;
pub mod driver;
pub mod emulator;
pub mod error;
pub mod harness;
pub mod notifications;
pub mod wait;
pub mod webdriver;

pub use config::Config;
pub use error::Error;
pub use harness::{org_scenario, scenario, App};
pub use webdriver::{Element, Session};
