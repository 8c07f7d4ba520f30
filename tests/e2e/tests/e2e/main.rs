//! End-to-end scenarios against the real Perch window (one test binary; one module per area).
//! Each test calls [`perch_e2e::scenario`] (demo mode) or [`perch_e2e::org_scenario`] (the
//! run's emulator as a real organisation), which skip unless `PERCH_E2E_APP` names the app
//! binary: run them with `bash scripts/test-e2e.sh`.

mod app_window;
mod org;
mod perf;
mod support;
