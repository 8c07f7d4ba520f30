#!/usr/bin/env bash
# Runs every check and test Perch has, after installing what they need: formatting, clippy,
# the UI's type check, build and unit tests, the Rust test suites (with a real Secret Service
# in a private D-Bus session), the end-to-end suite and the package test (the .deb installed,
# started and removed). This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
start=$(date +%s)
step() {
  log "$1 (at $(( $(date +%s) - start ))s)"
}

bash scripts/setup.sh

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export RUST_BACKTRACE=1

step "cargo fmt --check"
cargo fmt --all -- --check

step "ui: type check, unit tests, build"
(cd ui && npm run --silent check && npm run --silent test && npm run --silent build)

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (inside a D-Bus session with an unlocked gnome-keyring)"
# With the app's `custom-protocol` feature, as the end-to-end step builds it, so that step
# reuses this build instead of compiling the workspace a second time.
bash scripts/with-secret-service.sh cargo test --workspace --locked --features perch/custom-protocol

step "keyring tests against a locked gnome-keyring"
# `--workspace` with target filters reuses the build above (a `-p` build resolves features
# differently and would recompile half the dependency graph).
bash scripts/with-secret-service.sh --locked \
  cargo test --workspace --locked --features perch/custom-protocol --test secret_service --test cli

step "end to end: the real app window through tauri-driver under Xvfb"
bash scripts/test-e2e.sh

step "package: build the .deb from the end-to-end build, install, start, validate, remove"
PERCH_PACKAGE_SKIP_SETUP=1 bash scripts/test-package.sh

step "done in $(( $(date +%s) - start ))s"
