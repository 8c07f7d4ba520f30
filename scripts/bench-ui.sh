#!/usr/bin/env bash
# The desktop app's performance figures in the real window (README → Performance): start to
# cached channel painted, store commit to screen, a 100,000-post channel's DOM size, scroll
# frame times and RSS. Runs the end-to-end harness's `perf` scenario (tests/e2e/tests/e2e/perf.rs)
# with PERCH_E2E_BENCH=1; the figures are the lines starting with FIGURE.
set -euo pipefail
cd "$(dirname "$0")/.."
PERCH_E2E_BENCH=1 PERCH_E2E_TEST_ARGS="perf --nocapture" PERCH_E2E_RUN_TIMEOUT_SECS=1800 \
  PERCH_E2E_TIMEOUT_SECS=900 bash scripts/test-e2e.sh
