//! End-to-end scenarios against the real Perch window (one test binary; one module per area).
//! Each test calls [`perch_e2e::scenario`], which skips unless `PERCH_E2E_APP` names the app
//! binary: run them with `bash scripts/test-e2e.sh`.

mod app_window;
mod perf;
